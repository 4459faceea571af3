// The mcsafe SQLite VFS (examples/sqlite/mcsafe_sqlite_vfs.hpp) in a program that links SQLite:
// the truncation that kills stock SQLite with mmap_size, how each fault is answered at the
// xRead level, results equal to the default VFS's, several processes writing and reading in
// both journal modes, a writer killed mid-transaction, and the POSIX locks other connections
// hold surviving a close.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../catch2_any.hpp"
#include "mcsafe_sqlite_vfs.hpp"

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/mcsafe-sqlite-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

void registered() { REQUIRE(mcsafe_sqlite::register_vfs(false) == SQLITE_OK); }

// A connection; open() and exec() report SQLite's message when they fail.
struct db {
  sqlite3* h = nullptr;
  db(const std::string& path, const char* vfs, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    const int rc = sqlite3_open_v2(path.c_str(), &h, flags, vfs);
    INFO(path << " vfs " << vfs << ": " << (h ? sqlite3_errmsg(h) : "no handle"));
    REQUIRE(rc == SQLITE_OK);
    sqlite3_busy_timeout(h, 20000);
    sqlite3_extended_result_codes(h, 1);
  }
  ~db() { sqlite3_close(h); }
  db(const db&) = delete;
  db& operator=(const db&) = delete;
  int try_exec(const std::string& sql) { return sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr); }
  void exec(const std::string& sql) {
    const int rc = try_exec(sql);
    INFO(sql << ": " << sqlite3_errmsg(h));
    REQUIRE(rc == SQLITE_OK);
  }
  // Every row of `sql`, each column typed and in full (blobs in hex), one line per row.
  std::string rows(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    INFO(sql << ": " << sqlite3_errmsg(h));
    REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const int t = sqlite3_column_type(st, c);
        out += std::to_string(t) + ':';
        if (t == SQLITE_BLOB) {
          const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(st, c));
          for (int i = 0; i < sqlite3_column_bytes(st, c); ++i) {
            char hex[3];
            std::snprintf(hex, sizeof hex, "%02x", p[i]);
            out += hex;
          }
        } else if (t != SQLITE_NULL) {
          out += reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        }
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(st);
    INFO(sql << ": " << sqlite3_errmsg(h));
    REQUIRE(rc == SQLITE_DONE);
    return out;
  }
  sqlite3_int64 number(const std::string& sql) { return std::stoll(rows(sql).substr(2)); }
};

// A table of `n` rows with an index, text and blobs of varied length; deterministic content.
void fill(const std::string& path, int n) {
  db d(path, "unix");
  d.exec(
      "create table t(a integer primary key, k integer, s text, b blob);"
      "create index t_k on t(k);"
      "with recursive c(x) as (select 1 union all select x + 1 from c where x < " +
      std::to_string(n) +
      ") "
      "insert into t select x, (x * 7919) % 10007, printf('row %d %.*c', x, x % 300, 'x'), "
      "zeroblob(x % 500) from c;"
      "update t set b = cast(printf('%.*c', length(b), char(65 + a % 26)) as blob);");
}

// The registered VFS and a temporary database of `rows` rows (fill).
struct database_file {
  temp_dir dir;
  std::string path;
  explicit database_file(int rows) : path(dir.path + "/t.db") {
    registered();
    fill(path, rows);
  }
};

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return static_cast<std::uint64_t>(st.st_size);
}

// Runs `child` in a forked process; returns its wait status.
template <class F>
int in_child(F child) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int rc = child();
    std::fflush(nullptr);
    _exit(rc);
  }
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  return st;
}

// The reader of the issue: mmap_size set, a read transaction open, the file cut short by
// someone else, the table read again. Before that, this connection grew the file (SQLite sends
// SQLITE_FCNTL_SIZE_HINT, on which the unix VFS maps the file if it was ever told an mmap_size)
// and kept the new table's pages in its cache, so the first pages read after the cut lie past the
// mcsafe VFS's mapping: they go through the wrapped VFS's xRead, which must not copy from a
// mapping of its own. Returns 0 when SQLite answered an error and the connection then still
// works, 1 when the reads succeeded, 2 on a setup failure.
int truncated_reader(const std::string& path, const char* vfs) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READWRITE, vfs) != SQLITE_OK) return 2;
  if (sqlite3_exec(h,
                   "pragma mmap_size = 1073741824; pragma cache_size = 100000;"
                   "create table u as select * from t where a % 4 = 0;"
                   "pragma cache_size = 10; begin; select count(*) from t where a < 50;",
                   nullptr, nullptr, nullptr) != SQLITE_OK ||
      truncate(path.c_str(), 64 * 1024) != 0)
    return 2;
  const int rc = sqlite3_exec(h, "select count(*), sum(length(b)) from u", nullptr, nullptr, nullptr);
  std::printf("%s: the new table after the truncation: %s\n", vfs, sqlite3_errmsg(h));
  const int rc2 = sqlite3_exec(h, "select count(*), sum(length(b)), sum(length(s)) from t", nullptr, nullptr, nullptr);
  std::printf("%s: all rows after the truncation: %s\n", vfs, sqlite3_errmsg(h));
  if (rc == SQLITE_OK || rc2 == SQLITE_OK) return 1;
  sqlite3_exec(h, "rollback", nullptr, nullptr, nullptr);
  const bool alive = sqlite3_exec(h, "select 1", nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(h);
  return alive ? 0 : 1;
}

// The sqlite3_file SQLite holds for the main database of `d`.
sqlite3_file* main_file(db& d) {
  sqlite3_file* f = nullptr;
  REQUIRE(sqlite3_file_control(d.h, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK);
  REQUIRE(f != nullptr);
  return f;
}

}  // namespace

TEST_CASE("sqlite: stock SQLite with mmap_size dies of SIGBUS when the database is truncated under a read", "[sqlite]") {
  const database_file file(20000);
  const std::string& path = file.path;
  const int st = in_child([&] { return truncated_reader(path, "unix"); });
  INFO("wait status " << st);
  REQUIRE(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGBUS);
}

TEST_CASE("sqlite: through the mcsafe VFS the same reader gets an SQLite error and lives", "[sqlite]") {
  const database_file file(20000);
  const std::string& path = file.path;
  const int st = in_child([&] { return truncated_reader(path, mcsafe_sqlite::vfs_name); });
  INFO("wait status " << st);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
}

TEST_CASE("sqlite: the same with a nonzero mmap size built in (SQLITE_CONFIG_MMAP_SIZE)", "[sqlite]") {
  // Every file the unix VFS opens then starts with that limit, before any PRAGMA: the VFS
  // must set it to 0 at open, or the unix VFS maps the file on the first size hint.
  const database_file file(20000);
  const int st = in_child([&] {
    const auto limit = static_cast<sqlite3_int64>(1) << 30;
    if (sqlite3_shutdown() != SQLITE_OK || sqlite3_config(SQLITE_CONFIG_MMAP_SIZE, limit, limit) != SQLITE_OK ||
        sqlite3_initialize() != SQLITE_OK || sqlite3_vfs_find(mcsafe_sqlite::vfs_name) == nullptr)
      return 2;
    return truncated_reader(file.path, mcsafe_sqlite::vfs_name);
  });
  INFO("wait status " << st);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
}

TEST_CASE("sqlite: xRead answers a short read past a new end, SQLITE_IOERR_READ for a known-bad range", "[sqlite]") {
  const database_file file(5000);
  const std::string& path = file.path;
  const std::uint64_t size = file_size(path);
  REQUIRE(size >= 16 * 4096);
  db d(path, mcsafe_sqlite::vfs_name);
  CHECK(d.rows("select count(*) from t") == "1:5000|\n");
  sqlite3_file* f = main_file(d);
  std::vector<unsigned char> want(4096), got(4096);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(pread(fd, want.data(), want.size(), 8192) == 4096);
  REQUIRE(f->pMethods->xRead(f, got.data(), 4096, 8192) == SQLITE_OK);
  CHECK(got == want);

  SECTION("a range the mapping's poison_map knows is bad: SQLITE_IOERR_READ, not a short read") {
    mcsafe_sqlite::detail::self(f)->map.known_bad().insert({8192 + 100, 8192 + 200});
    CHECK(f->pMethods->xRead(f, got.data(), 4096, 8192) == SQLITE_IOERR_READ);
    CHECK(f->pMethods->xRead(f, got.data(), 4096, 4096) == SQLITE_OK);  // the page before it still reads
    mcsafe_sqlite::detail::self(f)->map.known_bad().erase({0, size});
  }
  SECTION("a file cut to 3 pages by someone else: the pages past the end read as zeros, SHORT_READ") {
    REQUIRE(truncate(path.c_str(), 3 * 4096 + 1000) == 0);
    std::fill(got.begin(), got.end(), 0xee);
    CHECK(f->pMethods->xRead(f, got.data(), 4096, 5 * 4096) == SQLITE_IOERR_SHORT_READ);
    CHECK(std::count(got.begin(), got.end(), 0) == 4096);
    // The page holding the new end: its bytes up to the end are the file's.
    REQUIRE(pread(fd, want.data(), 1000, 3 * 4096) == 1000);
    const int rc = f->pMethods->xRead(f, got.data(), 4096, 3 * 4096);
    CHECK((rc == SQLITE_OK || rc == SQLITE_IOERR_SHORT_READ));
    CHECK(std::memcmp(got.data(), want.data(), 1000) == 0);
    CHECK(std::count(got.begin() + 1000, got.end(), 0) == 4096 - 1000);
    // The process lives and the connection answers.
    CHECK(d.rows("select 6 * 7") == "1:42|\n");
  }
  close(fd);
}

TEST_CASE("sqlite: the file grown by another process after the mapping is read whole, not short", "[sqlite]") {
  const database_file file(100);
  const std::string& path = file.path;
  db reader(path, mcsafe_sqlite::vfs_name);
  reader.exec("pragma cache_size = 10");
  CHECK(reader.rows("select count(*) from t") == "1:100|\n");  // mapped at the small size
  const std::uint64_t before = file_size(path);
  const int st = in_child([&] {
    sqlite3* h = nullptr;
    sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READWRITE, "unix");
    const int rc =
        sqlite3_exec(h,
                     "insert into t select a + 100, k, s, b from t; insert into t select a + 200, k, s, b from t;"
                     "insert into t select a + 400, k, s, b from t; insert into t select a + 800, k, s, b from t;",
                     nullptr, nullptr, nullptr);
    sqlite3_close(h);
    return rc;
  });
  REQUIRE(st == 0);
  CHECK(file_size(path) > 4 * before);
  CHECK(reader.rows("select count(*), count(distinct a) from t") == "1:1600|1:1600|\n");
  CHECK(mcsafe_sqlite::detail::self(main_file(reader))->map.size() == file_size(path));  // mapped again, not read around
  CHECK(reader.rows("pragma integrity_check") == "3:ok|\n");
  db plain(path, "unix");
  CHECK(reader.rows("select * from t order by a") == plain.rows("select * from t order by a"));
}

TEST_CASE("sqlite: a read-only workload answers byte for byte what the default VFS answers", "[sqlite]") {
  const database_file file(30000);
  const std::string& path = file.path;
  REQUIRE(file_size(path) > 8 * 1024 * 1024);
  auto workload = [&](const char* vfs, bool mmap) {
    db d(path, vfs, SQLITE_OPEN_READONLY);
    d.exec("pragma cache_size = 50");
    if (mmap) d.exec("pragma mmap_size = 1073741824");
    std::string out = d.rows("select * from t");
    out += d.rows("select a, k, s from t order by k, a");
    for (int i = 1; i <= 30000; i += 997) out += d.rows("select * from t where a = " + std::to_string(i));
    for (int k = 0; k < 10007; k += 1500)
      out += d.rows("select a, length(b), s from t where k between " + std::to_string(k) + " and " + std::to_string(k + 40));
    out += d.rows("select count(*), sum(length(b)), sum(k), max(s) from t");
    out += d.rows("pragma integrity_check");
    return out;
  };
  const std::string plain = workload("unix", false);
  CHECK(plain.size() > 20 * 1024 * 1024);
  CHECK(plain.ends_with("3:ok|\n"));
  CHECK(workload("unix", true) == plain);
  CHECK(workload(mcsafe_sqlite::vfs_name, false) == plain);
  CHECK(workload(mcsafe_sqlite::vfs_name, true) == plain);
}

namespace {

// A writer's transactions: each inserts one row, rewrites an older row of its own and adds 1
// to the counter, so the final database does not depend on the interleaving and every
// committed state has count(*) == the counter.
int writer(const std::string& path, const char* vfs, int w, int txns) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READWRITE, vfs) != SQLITE_OK) return 2;
  sqlite3_busy_timeout(h, 20000);
  sqlite3_exec(h, "pragma synchronous = off; pragma cache_size = 20", nullptr, nullptr, nullptr);
  for (int i = 0; i < txns; ++i) {
    const std::string id = std::to_string(w * 100000 + i);
    const std::string sql = "begin immediate; insert into t values (" + id + ", " + std::to_string(w) + ", printf('%.*c', " +
                            std::to_string(50 + (i * 37) % 900) +
                            ", 'w'), 0);"
                            "update t set v = v + 1 where id = " +
                            std::to_string(w * 100000 + i / 2) +
                            ";"
                            "update counter set n = n + 1; commit;";
    if (const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr); rc != SQLITE_OK) {
      std::printf("writer %d (%s) txn %d: %s\n", w, vfs, i, sqlite3_errmsg(h));
      return 3;
    }
  }
  sqlite3_close(h);
  return 0;
}

// Reads until `stop` exists: every read transaction must see count(*) equal to the counter,
// and sometimes a clean integrity_check.
int reader(const std::string& path, const char* vfs, const std::string& stop) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READONLY, vfs) != SQLITE_OK) return 2;
  sqlite3_busy_timeout(h, 20000);
  sqlite3_exec(h, "pragma cache_size = 20", nullptr, nullptr, nullptr);
  for (int round = 0; access(stop.c_str(), F_OK) != 0 || round < 2; ++round) {
    sqlite3_stmt* st = nullptr;
    const char* sql =
        round % 8 == 7
            ? "select (select count(*) from t) - (select n from counter), (select integrity_check from pragma_integrity_check)"
            : "select (select count(*) from t) - (select n from counter), (select total(length(s)) >= 0 from t)";
    if (sqlite3_prepare_v2(h, sql, -1, &st, nullptr) != SQLITE_OK) {
      std::printf("reader (%s): %s\n", vfs, sqlite3_errmsg(h));
      return 3;
    }
    const int rc = sqlite3_step(st);
    const auto* check = rc == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(st, 1)) : nullptr;
    const std::string verdict = check != nullptr ? check : "(null)";
    if (rc != SQLITE_ROW || sqlite3_column_int(st, 0) != 0 || (verdict != "ok" && verdict != "1")) {
      std::printf("reader (%s) round %d: rc %d, %s, difference %d, %s\n", vfs, round, rc, sqlite3_errmsg(h),
                  rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1, verdict.c_str());
      sqlite3_finalize(st);
      return 4;
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return 0;
}

// Three writers and two readers in their own processes; returns the final database's rows.
std::string mixed_workload(const std::string& dir, const char* vfs, const char* journal) {
  const std::string path = dir + "/" + vfs + "-" + journal + ".db";
  const std::string stop = path + ".stop";
  {
    db d(path, "unix");
    d.exec(std::string("pragma journal_mode = ") + journal);
    d.exec(
        "create table t(id integer primary key, w integer, s text, v integer);"
        "create table counter(n integer); insert into counter values (0);");
  }
  std::fflush(nullptr);
  std::vector<pid_t> pids;
  for (int i = 0; i < 5; ++i) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) _exit(i < 2 ? reader(path, vfs, stop) : writer(path, vfs, i, 150));
    pids.push_back(pid);
  }
  for (int i = 4; i >= 0; --i) {
    if (i == 1) {  // the writers are done: let the readers finish
      const int fd = open(stop.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
      REQUIRE(fd >= 0);
      close(fd);
    }
    int st = 0;
    REQUIRE(waitpid(pids[static_cast<std::size_t>(i)], &st, 0) == pids[static_cast<std::size_t>(i)]);
    INFO(vfs << ", journal_mode " << journal << ", " << (i < 2 ? "reader " : "writer ") << i << ": wait status " << st);
    CHECK(st == 0);
  }
  db d(path, "unix");
  CHECK(d.rows("pragma integrity_check") == "3:ok|\n");
  CHECK(d.rows("select count(*), (select n from counter) from t") == "1:450|1:450|\n");
  return d.rows("select * from t order by id") + d.rows("select * from counter");
}

}  // namespace

TEST_CASE("sqlite: writers and readers in several processes leave the same database as with the default VFS", "[sqlite]") {
  registered();
  temp_dir dir;
  for (const char* journal : {"delete", "wal"}) {
    INFO("journal_mode " << journal);
    const std::string plain = mixed_workload(dir.path, "unix", journal);
    CHECK(mixed_workload(dir.path, mcsafe_sqlite::vfs_name, journal) == plain);
  }
}

TEST_CASE("sqlite: integrity_check passes after a writer is killed with SIGKILL mid-transaction", "[sqlite]") {
  registered();
  temp_dir dir;
  for (const char* journal : {"delete", "wal"}) {
    INFO("journal_mode " << journal);
    const std::string path = dir.path + "/" + journal + ".db";
    fill(path, 3000);
    {
      db d(path, "unix");
      d.exec(std::string("pragma journal_mode = ") + journal);
    }
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    std::fflush(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      sqlite3* h = nullptr;
      sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READWRITE, mcsafe_sqlite::vfs_name);
      // A small cache spills the transaction's pages into the database (or the WAL) before it
      // commits: the next opener finds a hot journal to roll back, or uncommitted WAL frames.
      sqlite3_exec(h,
                   "pragma cache_size = 10; begin immediate; update t set s = s || 'changed', b = zeroblob(700);"
                   "insert into t select a + 100000, k, s, b from t;",
                   nullptr, nullptr, nullptr);
      const char c = 1;
      if (write(ready[1], &c, 1) != 1) _exit(2);
      pause();
      _exit(3);
    }
    close(ready[1]);
    char c = 0;
    REQUIRE(read(ready[0], &c, 1) == 1);
    close(ready[0]);
    if (std::strcmp(journal, "delete") == 0) CHECK(std::filesystem::exists(path + "-journal"));
    REQUIRE(kill(pid, SIGKILL) == 0);
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    REQUIRE((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
    db d(path, mcsafe_sqlite::vfs_name);
    CHECK(d.rows("pragma integrity_check") == "3:ok|\n");
    CHECK(d.rows("select count(*), sum(length(s) > 0), max(a) from t") == "1:3000|1:3000|1:3000|\n");
    CHECK(d.number("select count(*) from t where s like '%changed'") == 0);
  }
}

TEST_CASE("sqlite: closing a connection keeps the locks another connection of the process holds", "[sqlite]") {
  // Closing any descriptor of a file drops every POSIX lock the process holds on it: the VFS
  // keeps a closed connection's mapping and descriptor until no connection of it holds a lock.
  const database_file file(2000);
  const std::string& path = file.path;
  db a(path, mcsafe_sqlite::vfs_name);
  a.exec("begin");
  CHECK(a.rows("select count(*) from t") == "1:2000|\n");  // a holds a SHARED lock
  {
    db b(path, mcsafe_sqlite::vfs_name);
    CHECK(b.rows("select count(*) from t") == "1:2000|\n");
  }  // b closes here
  // Another process asks whether a write lock on SQLite's shared-lock bytes would conflict
  // (fcntl F_GETLK; a forked child's SQLite would consult the parent's copied lock table instead).
  auto writer_gets_busy = [&] {
    return in_child([&] {
      const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
      struct flock fl {};
      fl.l_type = F_WRLCK;
      fl.l_whence = SEEK_SET;
      fl.l_start = 0x40000000 + 2;  // SQLite's PENDING_BYTE + 2: SHARED_FIRST
      fl.l_len = 510;               // SHARED_SIZE
      if (fd < 0 || fcntl(fd, F_GETLK, &fl) != 0) return 2;
      return fl.l_type == F_UNLCK ? 1 : 0;
    });
  };
  CHECK(writer_gets_busy() == 0);  // a's SHARED lock still keeps the writer out
  a.exec("commit");
  CHECK(writer_gets_busy() != 0);  // and without it the writer gets in
}

TEST_CASE("sqlite: a database replaced by rename under open connections reads as through the default VFS", "[sqlite]") {
  // Both VFSes keep reading the file they opened (the mapping is of that inode); writes are
  // refused alike (SQLITE_READONLY_DBMOVED); a connection opened afterwards reads the new file.
  registered();
  temp_dir dir;
  const std::string path = dir.path + "/t.db", other = dir.path + "/other.db";
  fill(path, 4000);
  fill(other, 1500);
  db ours(path, mcsafe_sqlite::vfs_name), plain(path, "unix");
  for (db* d : {&ours, &plain}) {
    d->exec("pragma cache_size = 10");
    CHECK(d->rows("select count(*) from t") == "1:4000|\n");
  }
  REQUIRE(std::rename(other.c_str(), path.c_str()) == 0);
  const std::string q = "select count(*), sum(length(b)), max(s) from t";
  CHECK(ours.rows(q) == plain.rows(q));
  CHECK(ours.rows("select * from t order by a") == plain.rows("select * from t order by a"));
  const int rc_ours = ours.try_exec("insert into t values (100000, 1, 'x', x'00')");
  const int rc_plain = plain.try_exec("insert into t values (100000, 1, 'x', x'00')");
  CHECK(rc_ours == rc_plain);
  CHECK(rc_ours == SQLITE_READONLY_DBMOVED);
  db after(path, mcsafe_sqlite::vfs_name);
  CHECK(after.rows("select count(*) from t") == "1:1500|\n");
}

namespace {

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Another process appends `rows` rows to t (the default VFS), growing the file.
void grow_in_child(const std::string& path, int rows) {
  const int st = in_child([&] {
    sqlite3* h = nullptr;
    sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READWRITE, "unix");
    sqlite3_busy_timeout(h, 20000);
    const std::string sql = "insert into t select a + (select max(a) from t), k, s, b from t limit " + std::to_string(rows);
    const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(h);
    return rc;
  });
  REQUIRE(st == 0);
}

}  // namespace

TEST_CASE("sqlite: no descriptor or mapping is left once the last connection to a file closes", "[sqlite]") {
  // WAL mode: every connection keeps a SHARED lock, so outgrown mappings are retired until the
  // last connection goes; they must go with it.
  const database_file file(500);
  const std::string& path = file.path;
  {
    db d(path, "unix");
    d.exec("pragma journal_mode = wal");
  }
  const std::size_t before = open_descriptors();
  {
    db a(path, mcsafe_sqlite::vfs_name), b(path, mcsafe_sqlite::vfs_name);
    for (int i = 0; i < 3; ++i) {
      grow_in_child(path, 500);
      for (db* d : {&a, &b}) {
        d->exec("pragma wal_checkpoint(truncate)");  // the rows into the database file
        d->exec("pragma cache_size = 10");
        CHECK(d->number("select count(*) from t") == 500 * (i + 2));
      }
    }
    {
      std::lock_guard<std::mutex> g(mcsafe_sqlite::detail::files()->mutex);
      REQUIRE(mcsafe_sqlite::detail::files()->head != nullptr);
      CHECK(mcsafe_sqlite::detail::files()->head->open == 2);
    }
    CHECK(open_descriptors() > before);
  }
  CHECK(open_descriptors() == before);
  std::lock_guard<std::mutex> g(mcsafe_sqlite::detail::files()->mutex);
  CHECK(mcsafe_sqlite::detail::files()->head == nullptr);
}

TEST_CASE("sqlite: threads opening, reading and closing connections while another process writes", "[sqlite]") {
  const database_file file(1000);
  const std::string& path = file.path;
  // The writer is forked before any thread starts (a child forked from a process with threads
  // could inherit a lock one of them held) and appends a copy of the first 1000 rows each time
  // it reads a byte from the pipe.
  int go[2], done[2];
  REQUIRE(pipe(go) == 0);
  REQUIRE(pipe(done) == 0);
  std::fflush(nullptr);
  const pid_t writer = fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    close(go[1]);
    close(done[0]);
    sqlite3* h = nullptr;
    sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READWRITE, "unix");
    sqlite3_busy_timeout(h, 20000);
    char c;
    while (read(go[0], &c, 1) == 1) {
      c = static_cast<char>(sqlite3_exec(
          h, "insert into t select a + (select max(a) from t), k, s, b from t where a <= 1000", nullptr, nullptr, nullptr));
      if (write(done[1], &c, 1) != 1) _exit(2);
    }
    sqlite3_close(h);
    _exit(0);
  }
  close(go[0]);
  close(done[1]);
  std::atomic<bool> stop{false}, writing{false};
  std::atomic<int> bad{0}, reads{0};
  std::pair<int, int> first_bad{};  // (extended error code, count % 1000) of the first bad read
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&, t] {
      while (!stop.load()) {
        // Half the readers open no new connection while a write is under way. The unix VFS gives
        // a connection a SHARED lock its process already holds without looking at the writer's
        // PENDING lock, so four readers that never pause keep the writer from committing for
        // seconds at a time; the other two keep opening and reading through every write.
        while (t % 2 == 0 && writing.load() && !stop.load()) usleep(200);
        sqlite3* h = nullptr;
        if (sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READONLY, mcsafe_sqlite::vfs_name) != SQLITE_OK) {
          ++bad;
          sqlite3_close(h);
          return;
        }
        sqlite3_busy_timeout(h, 20000);
        sqlite3_stmt* st = nullptr;
        // Every committed state holds whole copies of the first 1000 rows: count(*) is a
        // multiple of 1000.
        sqlite3_prepare_v2(
            h, t % 2 ? "select count(*) % 1000, sum(length(s)) from t" : "select count(*) % 1000 from t where a > 0", -1,
            &st, nullptr);
        const int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW || sqlite3_column_int(st, 0) != 0) {
          if (bad++ == 0) first_bad = {sqlite3_extended_errcode(h), sqlite3_column_int(st, 0)};
        }
        sqlite3_finalize(st);
        sqlite3_close(h);
        ++reads;
      }
    });
  for (int i = 0; i < 8; ++i) {
    // Let the readers get through a few connections between two writes.
    for (const int seen = reads.load(); reads.load() < seen + 4 && bad.load() == 0;) usleep(1000);
    char c = 0;
    writing = true;
    REQUIRE(write(go[1], &c, 1) == 1);
    REQUIRE(read(done[0], &c, 1) == 1);
    writing = false;
    CHECK(c == SQLITE_OK);
  }
  close(go[1]);
  close(done[0]);
  stop = true;
  for (std::thread& t : readers) t.join();
  int st = 0;
  REQUIRE(waitpid(writer, &st, 0) == writer);
  CHECK(st == 0);
  INFO(reads.load() << " reads; the first bad one: code " << first_bad.first << ", count % 1000 = " << first_bad.second);
  CHECK(reads.load() > 0);
  CHECK(bad.load() == 0);
  db d(path, mcsafe_sqlite::vfs_name);
  CHECK(d.rows("select count(*) from t") == "1:9000|\n");
  CHECK(d.rows("pragma integrity_check") == "3:ok|\n");
}
