// mcsafe_sqlite_vfs.hpp - an SQLite VFS named "mcsafe" that reads the main database file through
// mcsafe::mapped_file, so a database truncated, damaged or poisoned under a reader answers an
// SQLite error instead of a SIGBUS that kills the process.
//
// Use from C++ (the program links SQLite): call mcsafe_sqlite::register_vfs() once, before
// opening connections; it becomes the default VFS. The loadable extension (mcsafe_sqlite.so,
// built from mcsafe_sqlite_ext.cpp, which includes this file) does the same when loaded:
//   sqlite3 shell:  .load /path/to/mcsafe_sqlite.so   then  .open app.db
//   Python:         con.enable_load_extension(True); con.load_extension("/path/to/mcsafe_sqlite.so")
// Connections opened afterwards use it.
//
// It wraps the default VFS found at registration (sqlite3_vfs_find(0), "unix" on Linux).
// Only xRead of the main database file is served from this VFS's own read-only MAP_SHARED
// mapping, always by copying into SQLite's buffer (mapped_file::read, one mc_safe_copy); SQLite
// never gets a pointer into it. Writes, locks, sync, journals, WAL and -shm go to the wrapped
// VFS; on Linux the page cache is shared, so the mapping sees this process's pwrite at once.
// xFetch answers "no page" and SQLITE_FCNTL_MMAP_SIZE is answered here with 0 (and 0 is sent to
// the wrapped file at open): the unix VFS would otherwise map the file itself and copy from
// that mapping inside its own xRead, unguarded. PRAGMA mmap_size is then harmless at any value.
//
// Faults: a read past the end of a file that shrank is a short read, zero-filled
// (SQLITE_IOERR_SHORT_READ, as pread gives); hardware poison, an I/O error, a known-bad range
// or a fault the checks cannot explain is SQLITE_IOERR_READ, never a short read (the pager
// would turn that into a page of zeros). The process and the connection live on.
//
// Why file descriptors are retired, not closed: closing any descriptor of a file drops every
// POSIX lock this process holds on it (the unix VFS's locks included). A mapping that has to
// move (the file grew past it) or belongs to a closed connection is therefore kept, with its
// descriptor, until no connection of this VFS in the process holds a lock on that file (the
// unix VFS keeps its own descriptors the same way). In WAL mode every connection keeps a SHARED
// lock while open, so retired mappings live until the last connection to the file unlocks.
#pragma once
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <span>
#include <utility>

#include <mcsafe/mapped_file.hpp>

namespace mcsafe_sqlite {

inline constexpr const char* vfs_name = "mcsafe";

namespace detail {

// Mappings of one file (by device and inode) shared by every connection of this VFS in the
// process: how many are open, how many hold a lock, and the mappings waiting to be closed.
struct retired_map {
  mcsafe::mapped_file map;
  retired_map* next = nullptr;
};
struct inode_entry {
  dev_t dev = 0;
  ino_t ino = 0;
  unsigned open = 0;
  unsigned locked = 0;
  retired_map* retired = nullptr;
  inode_entry* next = nullptr;
};
struct registry {
  std::mutex mutex;
  inode_entry* head = nullptr;
};
inline registry* files() noexcept {
  static registry* r = new (std::nothrow) registry;  // never destroyed: files may close at exit
  return r;
}

// Closes the retired mappings of `e`; the caller holds the registry mutex and e->locked == 0.
inline void drain(inode_entry* e) noexcept {
  while (retired_map* r = e->retired) {
    e->retired = r->next;
    delete r;
  }
}

// Keeps `m` (and its descriptor) until drain; closes it now only when no memory is left.
inline void retire(inode_entry* e, mcsafe::mapped_file& m) noexcept {
  retired_map* r = new (std::nothrow) retired_map;
  if (r == nullptr) {
    m.close();
    return;
  }
  r->map = std::move(m);
  r->next = e->retired;
  e->retired = r;
}

// The sqlite3_file this VFS hands SQLite; the wrapped VFS's file follows it in the same block.
struct file {
  sqlite3_file base{};
  sqlite3_file* real = nullptr;
  mcsafe::mapped_file map;       // open only for a main database file
  inode_entry* inode = nullptr;  // null: every call goes to the wrapped file
  int lock = SQLITE_LOCK_NONE;   // the lock level this file holds, as the wrapped VFS granted it
};
inline constexpr std::size_t real_offset = (sizeof(file) + 15) / 16 * 16;

inline file* self(sqlite3_file* f) noexcept { return reinterpret_cast<file*>(f); }

// The lock count of this file's inode goes up before the wrapped VFS takes the lock and down
// after it released it, so a drain never runs while one of our connections holds a lock.
inline void count_lock(file* p, bool up) noexcept {
  std::lock_guard<std::mutex> g(files()->mutex);
  if (up) {
    ++p->inode->locked;
  } else if (--p->inode->locked == 0) {
    drain(p->inode);
  }
}

// Maps the file again at its current size when a read ends past the mapping and the file now
// holds the range; false when it does not (the caller reads through the wrapped VFS instead).
inline bool refresh(file* p, std::uint64_t end) noexcept {
  struct stat st {};
  if (fstat(p->map.fd(), &st) != 0) return false;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < end || size <= p->map.size()) return false;
  const int fd = fcntl(p->map.fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return false;
  mcsafe::mapped_file fresh;
  if (fresh.adopt(fd, mcsafe::map_mode::read_only) != std::errc{}) return false;
  std::lock_guard<std::mutex> g(files()->mutex);
  retire(p->inode, p->map);
  p->map = std::move(fresh);
  if (p->inode->locked == 0) drain(p->inode);
  return true;
}

inline int x_read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 offset) {
  file* p = self(f);
  if (p->inode == nullptr || amt < 0 || offset < 0) return p->real->pMethods->xRead(p->real, buf, amt, offset);
  const auto off = static_cast<std::uint64_t>(offset);
  const auto n = static_cast<std::size_t>(amt);
  if (off + n > p->map.size() && !refresh(p, off + n)) return p->real->pMethods->xRead(p->real, buf, amt, offset);
  const mcsafe::mapped_result r = p->map.read(off, std::span<std::byte>(static_cast<std::byte*>(buf), n));
  if (r.ok()) [[likely]]
    return SQLITE_OK;
  if (r.cause == mcsafe::mapped_cause::file_ended) {
    std::memset(static_cast<std::byte*>(buf) + r.done, 0, n - r.done);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_IOERR_READ;
}

// Takes the file out of its inode's entry (after the wrapped file released its locks), its
// mapping retired; the entry goes when no file of this VFS has the inode open.
inline void leave(file* p) noexcept {
  inode_entry* e = p->inode;
  if (e == nullptr) return;
  std::lock_guard<std::mutex> g(files()->mutex);
  if (p->lock != SQLITE_LOCK_NONE) --e->locked;
  p->lock = SQLITE_LOCK_NONE;
  p->inode = nullptr;
  retire(e, p->map);
  --e->open;
  if (e->locked == 0) drain(e);
  if (e->open == 0) {
    for (inode_entry** at = &files()->head; *at != nullptr; at = &(*at)->next)
      if (*at == e) {
        *at = e->next;
        break;
      }
    delete e;
  }
}

inline int x_close(sqlite3_file* f) {
  file* p = self(f);
  const int rc = p->real->pMethods != nullptr ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
  leave(p);
  p->~file();
  return rc;
}

inline int x_lock(sqlite3_file* f, int level) {
  file* p = self(f);
  const bool first = p->inode != nullptr && p->lock == SQLITE_LOCK_NONE && level != SQLITE_LOCK_NONE;
  if (first) count_lock(p, true);
  const int rc = p->real->pMethods->xLock(p->real, level);
  if (rc == SQLITE_OK)
    p->lock = level;
  else if (first)
    count_lock(p, false);  // a failed lock from NONE leaves the file unlocked
  return rc;
}

inline int x_unlock(sqlite3_file* f, int level) {
  file* p = self(f);
  const int rc = p->real->pMethods->xUnlock(p->real, level);
  const bool last = p->inode != nullptr && p->lock != SQLITE_LOCK_NONE && level == SQLITE_LOCK_NONE;
  if (level < p->lock) p->lock = level;
  if (last) count_lock(p, false);
  return rc;
}

inline int x_file_control(sqlite3_file* f, int op, void* arg) {
  file* p = self(f);
  if (op == SQLITE_FCNTL_MMAP_SIZE) {  // SQLite maps nothing of this file itself
    *static_cast<sqlite3_int64*>(arg) = 0;
    return SQLITE_OK;
  }
  const int rc = p->real->pMethods->xFileControl(p->real, op, arg);
  if (op == SQLITE_FCNTL_VFSNAME && rc == SQLITE_OK) {  // "mcsafe/unix", as other shims name themselves
    char** name = static_cast<char**>(arg);
    char* both = sqlite3_mprintf("%s/%z", vfs_name, *name);
    if (both != nullptr) *name = both;
  }
  return rc;
}

inline int x_fetch(sqlite3_file*, sqlite3_int64, int, void** pp) {
  *pp = nullptr;
  return SQLITE_OK;
}
inline int x_unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

// The rest goes to the wrapped file unchanged.
inline sqlite3_file* real(sqlite3_file* f) noexcept { return self(f)->real; }
inline int x_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  return real(f)->pMethods->xWrite(real(f), b, n, o);
}
inline int x_truncate(sqlite3_file* f, sqlite3_int64 n) { return real(f)->pMethods->xTruncate(real(f), n); }
inline int x_sync(sqlite3_file* f, int flags) { return real(f)->pMethods->xSync(real(f), flags); }
inline int x_file_size(sqlite3_file* f, sqlite3_int64* n) { return real(f)->pMethods->xFileSize(real(f), n); }
inline int x_check_reserved_lock(sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); }
inline int x_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
inline int x_device_characteristics(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
inline int x_shm_map(sqlite3_file* f, int i, int sz, int extend, void volatile** pp) {
  sqlite3_file* r = real(f);
  return r->pMethods->iVersion >= 2 ? r->pMethods->xShmMap(r, i, sz, extend, pp) : SQLITE_IOERR_SHMMAP;
}
inline int x_shm_lock(sqlite3_file* f, int o, int n, int flags) {
  sqlite3_file* r = real(f);
  return r->pMethods->iVersion >= 2 ? r->pMethods->xShmLock(r, o, n, flags) : SQLITE_IOERR_SHMLOCK;
}
inline void x_shm_barrier(sqlite3_file* f) {
  sqlite3_file* r = real(f);
  if (r->pMethods->iVersion >= 2) r->pMethods->xShmBarrier(r);
}
inline int x_shm_unmap(sqlite3_file* f, int del) {
  sqlite3_file* r = real(f);
  return r->pMethods->iVersion >= 2 ? r->pMethods->xShmUnmap(r, del) : SQLITE_OK;
}

inline constexpr sqlite3_io_methods io_methods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

// Opens the mapping of a main database file the wrapped VFS has just opened, and joins its
// inode's entry. Any failure leaves the file served by the wrapped VFS alone.
inline void map_main_db(file* p, const char* path) noexcept {
  inode_entry* spare = new (std::nothrow) inode_entry;
  if (spare == nullptr) return;
  struct stat st {};
  if (p->map.open(path, mcsafe::map_mode::read_only) != std::errc{} || fstat(p->map.fd(), &st) != 0) {
    delete spare;
    p->map.close();
    return;
  }
  std::lock_guard<std::mutex> g(files()->mutex);
  inode_entry* e = files()->head;
  while (e != nullptr && !(e->dev == st.st_dev && e->ino == st.st_ino)) e = e->next;
  if (e == nullptr) {
    e = spare;
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->next = files()->head;
    files()->head = e;
  } else {
    delete spare;
  }
  ++e->open;
  p->inode = e;
}

// True when the mapping is of the file the wrapped VFS has open: the path still names the inode
// mapped, and the wrapped VFS says the path still names its own (SQLITE_FCNTL_HAS_MOVED). A
// file renamed over the path between the two opens fails this; the wrapped VFS then serves it.
inline bool same_file(file* p, const char* path) noexcept {
  struct stat mapped {
  }, named{};
  int moved = 0;
  if (fstat(p->map.fd(), &mapped) != 0 || stat(path, &named) != 0 || mapped.st_dev != named.st_dev ||
      mapped.st_ino != named.st_ino)
    return false;
  const int rc = p->real->pMethods->xFileControl(p->real, SQLITE_FCNTL_HAS_MOVED, &moved);
  return rc == SQLITE_NOTFOUND || (rc == SQLITE_OK && moved == 0);
}

inline int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  sqlite3_vfs* base = static_cast<sqlite3_vfs*>(vfs->pAppData);
  file* p = new (f) file;
  p->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + real_offset);
  const int rc = base->xOpen(base, name, p->real, flags, out_flags);
  if (p->real->pMethods == nullptr) {
    p->~file();
    f->pMethods = nullptr;
    return rc;
  }
  p->base.pMethods = &io_methods;  // SQLite calls xClose even when the open failed
  if (rc != SQLITE_OK) return rc;
  // No file is mapped by the wrapped VFS (its build-time default may be nonzero, and a size
  // hint maps a file once it has a limit): journals and the WAL are read with pread too.
  sqlite3_int64 no_mmap = 0;
  p->real->pMethods->xFileControl(p->real, SQLITE_FCNTL_MMAP_SIZE, &no_mmap);
  if ((flags & SQLITE_OPEN_MAIN_DB) == 0 || name == nullptr) return rc;
  map_main_db(p, name);
  if (p->inode != nullptr && !same_file(p, name)) leave(p);
  return rc;
}

// The VFS methods that do not touch an open file: the wrapped VFS's.
inline sqlite3_vfs* base(sqlite3_vfs* v) noexcept { return static_cast<sqlite3_vfs*>(v->pAppData); }
inline int x_delete(sqlite3_vfs* v, const char* n, int sync) { return base(v)->xDelete(base(v), n, sync); }
inline int x_access(sqlite3_vfs* v, const char* n, int flags, int* out) { return base(v)->xAccess(base(v), n, flags, out); }
inline int x_full_pathname(sqlite3_vfs* v, const char* n, int size, char* out) {
  return base(v)->xFullPathname(base(v), n, size, out);
}
inline void* x_dl_open(sqlite3_vfs* v, const char* n) { return base(v)->xDlOpen(base(v), n); }
inline void x_dl_error(sqlite3_vfs* v, int n, char* msg) { base(v)->xDlError(base(v), n, msg); }
inline void (*x_dl_sym(sqlite3_vfs* v, void* h, const char* s))(void) { return base(v)->xDlSym(base(v), h, s); }
inline void x_dl_close(sqlite3_vfs* v, void* h) { base(v)->xDlClose(base(v), h); }
inline int x_randomness(sqlite3_vfs* v, int n, char* out) { return base(v)->xRandomness(base(v), n, out); }
inline int x_sleep(sqlite3_vfs* v, int us) { return base(v)->xSleep(base(v), us); }
inline int x_current_time(sqlite3_vfs* v, double* t) { return base(v)->xCurrentTime(base(v), t); }
inline int x_get_last_error(sqlite3_vfs* v, int n, char* msg) { return base(v)->xGetLastError(base(v), n, msg); }
inline int x_current_time_int64(sqlite3_vfs* v, sqlite3_int64* t) { return base(v)->xCurrentTimeInt64(base(v), t); }
inline int x_set_system_call(sqlite3_vfs* v, const char* n, sqlite3_syscall_ptr p) {
  return base(v)->xSetSystemCall(base(v), n, p);
}
inline sqlite3_syscall_ptr x_get_system_call(sqlite3_vfs* v, const char* n) { return base(v)->xGetSystemCall(base(v), n); }
inline const char* x_next_system_call(sqlite3_vfs* v, const char* n) { return base(v)->xNextSystemCall(base(v), n); }

// Registers the VFS (not as the default) over the default VFS of this moment. Once per process.
inline int register_once() noexcept {
  static sqlite3_vfs vfs{};
  if (sqlite3_vfs_find(vfs_name) != nullptr) return SQLITE_OK;  // another copy of this header did
  sqlite3_vfs* under = sqlite3_vfs_find(nullptr);
  if (under == nullptr || under->iVersion < 3) return SQLITE_ERROR;
  if (files() == nullptr) return SQLITE_NOMEM;
  vfs.iVersion = 3;
  vfs.szOsFile = static_cast<int>(detail::real_offset) + under->szOsFile;
  vfs.mxPathname = under->mxPathname;
  vfs.zName = vfs_name;
  vfs.pAppData = under;
  vfs.xOpen = detail::x_open;
  vfs.xDelete = detail::x_delete;
  vfs.xAccess = detail::x_access;
  vfs.xFullPathname = detail::x_full_pathname;
  vfs.xDlOpen = detail::x_dl_open;
  vfs.xDlError = detail::x_dl_error;
  vfs.xDlSym = detail::x_dl_sym;
  vfs.xDlClose = detail::x_dl_close;
  vfs.xRandomness = detail::x_randomness;
  vfs.xSleep = detail::x_sleep;
  vfs.xCurrentTime = detail::x_current_time;
  vfs.xGetLastError = detail::x_get_last_error;
  vfs.xCurrentTimeInt64 = detail::x_current_time_int64;
  vfs.xSetSystemCall = detail::x_set_system_call;
  vfs.xGetSystemCall = detail::x_get_system_call;
  vfs.xNextSystemCall = detail::x_next_system_call;
  return sqlite3_vfs_register(&vfs, 0);
}

}  // namespace detail

// Registers the "mcsafe" VFS over the current default VFS, once per process (thread-safe), and
// makes it the default unless make_default is false. Returns an SQLite result code.
inline int register_vfs(bool make_default = true) noexcept {
  static const int registered = detail::register_once();
  if (registered != SQLITE_OK || !make_default) return registered;
  return sqlite3_vfs_register(sqlite3_vfs_find(vfs_name), 1);
}

}  // namespace mcsafe_sqlite
