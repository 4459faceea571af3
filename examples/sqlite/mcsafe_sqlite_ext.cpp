// mcsafe_sqlite.so - the "mcsafe" SQLite VFS (mcsafe_sqlite_vfs.hpp) as a loadable extension.
// Loading it registers the VFS, makes it the default for connections opened afterwards and
// keeps the library loaded (SQLITE_OK_LOAD_PERMANENTLY):
//   sqlite3 shell:  .load /path/to/mcsafe_sqlite.so      then  .open app.db
//   Python 3:       con.enable_load_extension(True); con.load_extension("/path/to/mcsafe_sqlite.so")
// SQLite derives the entry point from the file name (sqlite3_mcsafesqlite_init for
// mcsafe_sqlite.so or libmcsafe_sqlite.so) and falls back to sqlite3_extension_init: both are
// exported, so the file loads by path alone under either name.
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "mcsafe_sqlite_vfs.hpp"

namespace {
int init(const sqlite3_api_routines* api) noexcept {
  SQLITE_EXTENSION_INIT2(api);
  const int rc = mcsafe_sqlite::register_vfs(true);
  return rc == SQLITE_OK ? SQLITE_OK_LOAD_PERMANENTLY : rc;
}
}  // namespace

extern "C" {
__attribute__((visibility("default"))) int sqlite3_mcsafesqlite_init(sqlite3*, char**, const sqlite3_api_routines* api) {
  return init(api);
}
__attribute__((visibility("default"))) int sqlite3_extension_init(sqlite3*, char**, const sqlite3_api_routines* api) {
  return init(api);
}
}
