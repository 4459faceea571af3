// A real client: LevelDB with a table file truncated under the open database. LevelDB's default
// Env dies of SIGBUS (run in a child process); mcsafe_leveldb::mapped_env answers IOError for
// that table and keeps serving the other one.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <string>

#include "../catch2_any.hpp"
#include "mapped_env.hpp"
#include "truncated_table.hpp"

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/mcsafe-leveldb-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// Runs the example binary in a fresh process; returns its wait status.
int run_example(bool stock, const std::string& dir) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1);
    if (stock)
      execl(MCSAFE_LEVELDB_EXAMPLE, MCSAFE_LEVELDB_EXAMPLE, "--stock", dir.c_str(), static_cast<char*>(nullptr));
    else
      execl(MCSAFE_LEVELDB_EXAMPLE, MCSAFE_LEVELDB_EXAMPLE, dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  return st;
}

}  // namespace

TEST_CASE("leveldb: the default Env dies of SIGBUS when a table file is truncated under it", "[leveldb]") {
  temp_dir dir;
  const int st = run_example(true, dir.path + "/db");
  INFO("wait status " << st);
  REQUIRE(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGBUS);
}

TEST_CASE("leveldb: mapped_env answers IOError for the truncated table and keeps serving the other", "[leveldb]") {
  temp_dir dir;
  const std::string db = dir.path + "/db";
  REQUIRE(mcsafe_leveldb::build_two_tables(db).ok());
  mcsafe_leveldb::mapped_env env;
  const mcsafe_leveldb::outcome o = mcsafe_leveldb::read_after_truncation(db, &env);
  INFO("open: " << o.open.ToString() << "; first error: " << o.first_error << "; iteration: " << o.iteration.ToString());
  REQUIRE(o.open.ok());
  CHECK(o.a_io_error == mcsafe_leveldb::keys_per_table);
  CHECK(o.a_ok == 0);
  CHECK(o.a_other == 0);
  CHECK(o.first_error.find("mcsafe: file_ended at offset") != std::string::npos);
  CHECK(o.first_error.find("(file size 0,") != std::string::npos);
  CHECK(o.b_ok == mcsafe_leveldb::keys_per_table);
  CHECK(o.b_wrong == 0);
  CHECK(o.iteration.IsIOError());
  CHECK(o.iterated <= mcsafe_leveldb::keys_per_table);

  // The example binary, in a fresh process, reports the same and exits 0.
  const int st = run_example(false, dir.path + "/db2");
  CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
}
