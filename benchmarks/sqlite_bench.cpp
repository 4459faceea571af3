// mcsafe_sqlite_bench - random point SELECTs and range scans through three arms in one process:
// the default VFS reading with pread, the default VFS with mmap_size, and the mcsafe VFS
// (examples/sqlite). The database is several times larger than SQLite's page cache (the
// default 2 MB) but inside the OS page cache, so each arm measures how a page SQLite misses
// reaches it: a system call, a pointer into SQLite's own mapping, or a guarded copy from ours.
//
//   mcsafe_sqlite_bench [--dir DIR] [--rows N] [--rounds R] [--seconds S] [--only pread|mmap|mcsafe]
//
// --only runs one arm (for a profiler; no ratios then).
// Rounds alternate: in each, every arm runs the same key sequence for S seconds, the arm that
// goes first rotating from round to round, so drift in the machine's state falls on all three.
// Reported: each arm's median queries per second over the rounds, and the ratios of the mcsafe
// arm to the other two (the median of the per-round ratios).
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mcsafe_sqlite_vfs.hpp"

namespace {

struct options {
  std::string dir = "/tmp";
  long rows = 400000;
  int rounds = 9;
  double seconds = 0.5;
  std::string only;
};

[[noreturn]] void die(const char* what, sqlite3* h) {
  std::fprintf(stderr, "mcsafe_sqlite_bench: %s: %s\n", what, h != nullptr ? sqlite3_errmsg(h) : "");
  std::exit(1);
}

void exec(sqlite3* h, const std::string& sql) {
  if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) die(sql.c_str(), h);
}

// The table: integer keys 1..rows, a 200-byte blob each (about 90 MB for 400000 rows).
std::string make_database(const options& o) {
  const std::string path = o.dir + "/mcsafe-sqlite-bench-" + std::to_string(o.rows) + ".db";
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) return path;
  const std::string tmp = path + ".tmp";
  std::remove(tmp.c_str());
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(tmp.c_str(), &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "unix") != SQLITE_OK) die(tmp.c_str(), h);
  exec(h,
       "pragma journal_mode = off; pragma synchronous = off; create table t(a integer primary key, b blob);"
       "with recursive c(x) as (select 1 union all select x + 1 from c where x < " +
           std::to_string(o.rows) +
           ") "
           "insert into t select x, randomblob(200) from c;");
  sqlite3_close(h);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) die("rename", nullptr);
  return path;
}

struct arm {
  arm(const char* n, const char* v, bool m) : name(n), vfs(v), mmap(m) {}
  const char* name;
  const char* vfs;
  bool mmap;
  sqlite3* h = nullptr;
  sqlite3_stmt* point = nullptr;
  sqlite3_stmt* range = nullptr;
  std::vector<double> qps[2];
};

// Runs queries with keys from `seed` for `seconds`; returns queries per second.
double run(arm& a, int workload, std::uint64_t seed, long rows, double seconds) {
  sqlite3_stmt* st = workload == 0 ? a.point : a.range;
  std::mt19937_64 keys(seed);
  std::uniform_int_distribution<long> pick(1, rows - 100);
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  long n = 0;
  std::int64_t check = 0;
  auto now = start;
  do {
    for (int i = 0; i < 64; ++i, ++n) {
      sqlite3_bind_int64(st, 1, pick(keys));
      int rc;
      while ((rc = sqlite3_step(st)) == SQLITE_ROW) check += sqlite3_column_bytes(st, 0) + sqlite3_column_int64(st, 0);
      if (rc != SQLITE_DONE) die(a.name, a.h);
      sqlite3_reset(st);
    }
    now = std::chrono::steady_clock::now();
  } while (now < until);
  if (check == 0) die("no rows read", a.h);
  return static_cast<double>(n) / std::chrono::duration<double>(now - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--dir") == 0)
      o.dir = argv[i + 1];
    else if (std::strcmp(argv[i], "--rows") == 0)
      o.rows = std::atol(argv[i + 1]);
    else if (std::strcmp(argv[i], "--rounds") == 0)
      o.rounds = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--seconds") == 0)
      o.seconds = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--only") == 0)
      o.only = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--dir DIR] [--rows N] [--rounds R] [--seconds S] [--only pread|mmap|mcsafe]\n",
                   argv[0]);
      return 2;
    }
  }
  if (o.rows < 200 || o.rounds < 1) return 2;
  if (mcsafe_sqlite::register_vfs(false) != SQLITE_OK) die("register_vfs", nullptr);
  const std::string path = make_database(o);
  arm arms[] = {{"pread (default VFS)", "unix", false},
                {"mmap_size (default VFS)", "unix", true},
                {"mcsafe VFS", mcsafe_sqlite::vfs_name, false}};
  const char* keys[] = {"pread", "mmap", "mcsafe"};
  int only = -1;
  for (int i = 0; i < 3; ++i)
    if (o.only == keys[i]) only = i;
  if (!o.only.empty() && only < 0) return 2;
  for (arm& a : arms) {
    if (sqlite3_open_v2(path.c_str(), &a.h, SQLITE_OPEN_READONLY, a.vfs) != SQLITE_OK) die(path.c_str(), a.h);
    exec(a.h, "pragma cache_size = -2000");  // SQLite's default page cache, 2 MB
    if (a.mmap) exec(a.h, "pragma mmap_size = 1073741824");
    if (sqlite3_prepare_v2(a.h, "select b from t where a = ?1", -1, &a.point, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(a.h, "select sum(length(b)) from t where a between ?1 and ?1 + 99", -1, &a.range, nullptr) !=
            SQLITE_OK)
      die("prepare", a.h);
    exec(a.h, "select sum(length(b)) from t");  // the file into the OS page cache, the mappings faulted in
  }
  const char* names[] = {"point SELECT", "range scan (100 rows)"};
  std::vector<double> vs_pread[2], vs_mmap[2];
  for (int w = 0; w < 2; ++w)
    for (int r = 0; r < o.rounds; ++r) {
      double q[3] = {1, 1, 1};
      for (int k = 0; k < 3; ++k) {
        const int i = (r + k) % 3;
        if (only >= 0 && i != only) continue;
        q[i] = run(arms[i], w, 1000003u * static_cast<unsigned>(r + 1) + static_cast<unsigned>(w), o.rows, o.seconds);
        arms[i].qps[w].push_back(q[i]);
      }
      vs_pread[w].push_back(q[2] / q[0]);
      vs_mmap[w].push_back(q[2] / q[1]);
    }
  struct stat st {};
  stat(path.c_str(), &st);
  std::printf("database %s: %ld rows, %.1f MB; SQLite page cache 2 MB; %d rounds of %.2f s per arm; SQLite %s\n",
              path.c_str(), o.rows, static_cast<double>(st.st_size) / 1e6, o.rounds, o.seconds, sqlite3_libversion());
  for (int w = 0; w < 2; ++w) {
    std::printf("%s, queries per second (median, min-max over rounds):\n", names[w]);
    for (arm& a : arms)
      if (!a.qps[w].empty())
        std::printf("  %-24s %10.0f  (%.0f-%.0f)\n", a.name, median(a.qps[w]),
                    *std::min_element(a.qps[w].begin(), a.qps[w].end()),
                    *std::max_element(a.qps[w].begin(), a.qps[w].end()));
    if (only >= 0) continue;
    std::printf("  mcsafe / pread     %.2fx (per-round %.2f-%.2f)\n", median(vs_pread[w]),
                *std::min_element(vs_pread[w].begin(), vs_pread[w].end()),
                *std::max_element(vs_pread[w].begin(), vs_pread[w].end()));
    std::printf("  mcsafe / mmap_size %.2fx (per-round %.2f-%.2f)\n", median(vs_mmap[w]),
                *std::min_element(vs_mmap[w].begin(), vs_mmap[w].end()),
                *std::max_element(vs_mmap[w].begin(), vs_mmap[w].end()));
  }
  for (arm& a : arms) {
    sqlite3_finalize(a.point);
    sqlite3_finalize(a.range);
    sqlite3_close(a.h);
  }
  return 0;
}
