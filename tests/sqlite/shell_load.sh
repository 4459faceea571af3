#!/usr/bin/env bash
# shell_load.sh SQLITE3 EXTENSION DIR - the stock sqlite3 shell, a database cut in half under an
# open read transaction with mmap_size set:
#   without the extension the shell dies of SIGBUS (exit status 128 + 7);
#   after `.load EXTENSION` (the path alone) the same commands print an SQLite error and the
#   shell goes on to the end; `.vfsname` names the mcsafe VFS.
# Exit 0: as expected; 1: not; 77: cannot run here (reason printed).
set -u
sqlite3=$1 ext=$2 dir=$3
command -v "$sqlite3" >/dev/null || { echo "SKIP: no sqlite3 shell ($sqlite3)"; exit 77; }
mkdir -p "$dir"
fails=0

build() {
  rm -f "$1" "$1-journal"
  "$sqlite3" "$1" "create table t(a integer primary key, b blob);
    with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000)
    insert into t select x, randomblob(200) from c;" || exit 1
}

# The commands a user would type; $1 is an optional first line (the .load).
script() {
  cat <<SQL
$1
.open $2
.vfsname
pragma mmap_size = 1073741824;
pragma cache_size = 10;
begin;
select 'before', count(*), sum(length(b)) from t;
.shell truncate -s $(( $(stat -c %s "$2") / 2 )) $2
select 'after', count(*), sum(length(b)) from t;
rollback;
select 'still answering', 6 * 7;
SQL
}

db=$dir/stock.db
build "$db"
script "" "$db" >"$dir/stock.sql"
"$sqlite3" <"$dir/stock.sql" >"$dir/stock.out" 2>&1
rc=$?
sed 's/^/stock: /' "$dir/stock.out"
echo "stock: the shell's exit status is $rc"
[[ $rc -eq $((128 + 7)) ]] || { echo "FAIL: the stock shell did not die of SIGBUS"; fails=$((fails + 1)); }

db=$dir/mcsafe.db
build "$db"
script ".load $ext" "$db" | "$sqlite3" >"$dir/mcsafe.out" 2>&1
rc=$?
sed 's/^/mcsafe: /' "$dir/mcsafe.out"
echo "mcsafe: the shell's exit status is $rc"
((rc < 128)) || { echo "FAIL: the shell with the extension died of a signal"; fails=$((fails + 1)); }
grep -qx 'mcsafe/unix' "$dir/mcsafe.out" || { echo "FAIL: .vfsname does not name mcsafe/unix"; fails=$((fails + 1)); }
grep -q 'error.*\(malformed\|disk I/O error\)' "$dir/mcsafe.out" || { echo "FAIL: no SQLite error after the truncation"; fails=$((fails + 1)); }
grep -qx 'still answering|42' "$dir/mcsafe.out" || { echo "FAIL: the shell did not go on after the error"; fails=$((fails + 1)); }
((fails == 0)) && echo "PASS: stock dies of SIGBUS; with .load the shell gets an SQLite error and goes on"
exit $((fails > 0))
