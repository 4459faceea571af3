// leveldb-truncated-table: a table file is truncated under a running LevelDB database.
// With mcsafe_leveldb::mapped_env the reads of that table answer Status::IOError and the
// other table keeps serving; with LevelDB's own Env (--stock) the process dies of SIGBUS.
//
//   leveldb-truncated-table [--stock] [DIR]     (DIR: a new directory; default: a temporary one)
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mapped_env.hpp"
#include "truncated_table.hpp"

int main(int argc, char** argv) {
  bool stock = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--stock") == 0)
      stock = true;
    else
      dir = argv[i];
  }
  if (dir.empty()) {
    char tmpl[] = "/tmp/mcsafe-leveldb-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return 2;
    }
    dir = tmpl;
  }
  const leveldb::Status built = mcsafe_leveldb::build_two_tables(dir);
  if (!built.ok()) {
    std::printf("building the database in %s failed: %s\n", dir.c_str(), built.ToString().c_str());
    return 2;
  }
  mcsafe_leveldb::mapped_env mapped;
  std::printf("database in %s; reading with %s after truncating its older table file...\n", dir.c_str(),
              stock ? "LevelDB's default Env" : "mcsafe_leveldb::mapped_env");
  std::fflush(stdout);
  const auto o = mcsafe_leveldb::read_after_truncation(dir, stock ? leveldb::Env::Default() : &mapped);
  if (!o.open.ok()) {
    std::printf("setup failed: %s\n", o.open.ToString().c_str());
    return 2;
  }
  std::printf("truncated table: %d ok, %d IOError, %d other; first: %s\n", o.a_ok, o.a_io_error, o.a_other,
              o.first_error.c_str());
  std::printf("intact table:    %d of %d keys read back correctly\n", o.b_ok, mcsafe_leveldb::keys_per_table);
  std::printf("iteration:       %d keys, then %s\n", o.iterated, o.iteration.ToString().c_str());
  const bool as_expected = o.a_io_error == mcsafe_leveldb::keys_per_table && o.b_ok == mcsafe_leveldb::keys_per_table;
  return as_expected ? 0 : 1;
}
