#!/usr/bin/env python3
"""A Python reader of a database truncated under its open read transaction.

  truncated_reader.py stock DIR       stock SQLite with mmap_size: the reader must die of SIGBUS
  truncated_reader.py mcsafe DIR EXT  the same reader after load_extension(EXT) by path alone:
                                      an SQLite error, the process and the connection live on

Each case builds its databases in DIR and runs the reader as a child process, so the parent can
tell a signal from an exit code. Exit 0: as expected; 1: not; 77: cannot run here (reason printed).
"""
import os
import signal
import sqlite3
import subprocess
import sys

ROWS = 20000


def build(path):
    con = sqlite3.connect(path)
    con.execute("create table t(a integer primary key, b blob)")
    con.execute("with recursive c(x) as (select 1 union all select x + 1 from c where x < ?) "
                "insert into t select x, randomblob(200) from c", (ROWS,))
    con.commit()
    con.close()


def reader(db, other, ext):
    if ext:
        loader = sqlite3.connect(":memory:")
        loader.enable_load_extension(True)
        loader.load_extension(ext)  # by path alone: no entry point named
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("pragma mmap_size = 1073741824")
    con.execute("pragma cache_size = 10")  # pages come from the file, not SQLite's cache
    con.execute("begin")
    print("before:", con.execute("select count(*), sum(length(b)) from t").fetchone(), flush=True)
    os.truncate(db, os.path.getsize(db) // 2)
    try:
        print("after:", con.execute("select count(*), sum(length(b)) from t").fetchone(), flush=True)
    except sqlite3.DatabaseError as e:
        print("sqlite error after the truncation:", e, flush=True)
        con.execute("rollback")
        print("the connection still answers:", con.execute("select 6 * 7").fetchone()[0], flush=True)
        n = sqlite3.connect(other).execute("select count(*) from t").fetchone()[0]
        print("the other database still serves:", n, "rows", flush=True)
        sys.exit(0 if n == ROWS else 1)
    print("no error from a database cut in half", flush=True)
    sys.exit(1)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "child":
        reader(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    mode, d = sys.argv[1], sys.argv[2]
    ext = sys.argv[3] if mode == "mcsafe" else None
    if ext and not hasattr(sqlite3.Connection, "enable_load_extension"):
        print(f"SKIP: {sys.executable}'s sqlite3 module was built without extension loading")
        sys.exit(77)
    os.makedirs(d, exist_ok=True)
    db, other = os.path.join(d, f"{mode}.db"), os.path.join(d, f"{mode}-other.db")
    for p in (db, other):
        for suffix in ("", "-journal", "-wal", "-shm"):
            if os.path.exists(p + suffix):
                os.remove(p + suffix)
        build(p)
    args = [sys.executable, __file__, "child", db, other] + ([ext] if ext else [])
    rc = subprocess.run(args, timeout=60).returncode
    print(f"{mode}: the reader's exit status is {rc}" + (f" (signal {-rc})" if rc < 0 else ""))
    if mode == "stock":
        sys.exit(0 if rc == -signal.SIGBUS else 1)
    sys.exit(0 if rc == 0 else 1)


if __name__ == "__main__":
    main()
