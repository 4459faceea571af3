// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/mapped_file.hpp - a MAP_SHARED file mapping whose reads and writes return why they
// failed (Linux): the file ended, no space, an I/O error, hardware poison, a known-bad range.
//
// Every access goes through mc_safe_copy, so a fault returns instead of killing the process.
// The signal alone does not say why: a page past the end of the file, a store into a hole the
// file system could not allocate, and a page the device could not read all arrive as SIGBUS
// BUS_ADRERR with the address and nothing else. After such a fault (never on the fast path),
// the cause is decided from the file, in this order, at the file offset `o` of the failed byte:
//   1. the file's length (fstat; BLKGETSIZE64 for a block device): o >= it -> file_ended
//      (device DAX has neither a length that changes nor pread: unexplained)
//   2. a store only: fallocate(FALLOC_FL_KEEP_SIZE) of o's page fails with ENOSPC or EDQUOT
//      -> no_space (the store could not get a block). Where fallocate is not supported
//      (EOPNOTSUPP), statvfs f_bavail == 0 -> no_space with sys_errno ENOSPC (inferred).
//      A successful fallocate leaves the page allocated: that is what the store wanted anyway.
//   3. pread of o's page fails (EIO, ...)                       -> io_error, sys_errno = errno
//   4. a load of a hole (SEEK_DATA) while statvfs f_bavail == 0 -> no_space (tmpfs allocates a
//      page on a read fault of a hole, and fails that with SIGBUS when it is full)
//   5. otherwise                                                -> unexplained
// SIGBUS BUS_MCEERR_AR/AO is hw_poison without any check (the kernel named the granule).
// What the library cannot know: the checks run after the fault, so a condition that went away
// in between (space freed, the file grown back, a flaky device that reads now) shows up as
// unexplained, and one that appeared in between can be blamed instead (a file truncated after
// an I/O error reads as file_ended). A shrink that does not cross a page boundary is invisible:
// the kernel maps the whole last page, so bytes between the new size and the end of that page
// read as zeros without a fault (the check would cost an fstat per read). A fault with the file
// gone from a network file system, or a cause the kernel does not report (FUSE, quota on the
// read path), is unexplained; sys_errno says what the checks saw.
#pragma once
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "badblocks.hpp"
#include "copy.hpp"
#include "detail/config.hpp"
#include "detail/file_mapping.hpp"
#include "fault.hpp"
#include "file.hpp"
#include "poison_map.hpp"
#include "span.hpp"

namespace mcsafe {
inline namespace v1 {

enum class map_mode : std::uint8_t { read_only, read_write };

// Why a read or write of a mapped_file stopped (see the top of this header for how it is decided).
enum class mapped_cause : std::uint8_t {
  none,              // everything asked for was done
  file_ended,        // the file is shorter than the offset of the failed byte (fstat after the fault)
  no_space,          // a store (or a tmpfs read fault) into a hole the file system could not allocate
  io_error,          // the page could not be read from the device (pread of it failed)
  hw_poison,         // memory the hardware reported bad; `bad` is the whole granule
  known_bad,         // refused before touching memory: known_bad() names the range
  buffer_fault,      // the fault was in the caller's buffer, not in the file
  invalid_argument,  // refused: outside the mapping, a write to a read-only mapping, not open
  unexplained,       // a fault none of the checks explains (transient, or unknown to the library)
};

constexpr const char* to_string(mapped_cause c) noexcept {
  switch (c) {
    case mapped_cause::none: return "none";
    case mapped_cause::file_ended: return "file_ended";
    case mapped_cause::no_space: return "no_space";
    case mapped_cause::io_error: return "io_error";
    case mapped_cause::hw_poison: return "hw_poison";
    case mapped_cause::known_bad: return "known_bad";
    case mapped_cause::buffer_fault: return "buffer_fault";
    case mapped_cause::invalid_argument: return "invalid_argument";
    case mapped_cause::unexplained: return "unexplained";
  }
  return "unknown";
}

// The outcome of mapped_file::read or write: bytes [offset, offset + done) of the file were
// copied; nothing past them is promised.
struct mapped_result {
  std::size_t done = 0;
  mapped_cause cause = mapped_cause::none;
  mcsafe::fault fault;          // the raw fault (kind known_bad / invalid_argument when refused)
  byte_range bad;               // file offsets that failed: the granule (hw_poison), the page
                                // (no_space, io_error), the known range (known_bad); else empty
  std::uint64_t file_size = 0;  // the size fstat saw after a SIGBUS (0 when no check ran)
  int sys_errno = 0;            // errno of the check that decided: ENOSPC, EDQUOT, EIO, ...
  constexpr bool ok() const noexcept { return cause == mapped_cause::none; }
  constexpr explicit operator bool() const noexcept { return ok(); }
};

struct map_options {
  bool create = false;  // O_CREAT (read_write only)
  mode_t permissions = 0600;
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

inline std::size_t mapped_page() noexcept { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

inline bool file_system_full(int fd) noexcept {
  struct statvfs vfs {};
  return fstatvfs(fd, &vfs) == 0 && vfs.f_bavail == 0;
}

// The decision procedure at the top of this header, for a SIGBUS other than hardware poison at
// file offset `o`. Fills r.cause, r.file_size, r.sys_errno and r.bad.
MCSAFE_COLD inline void explain_bus_error(int fd, std::uint64_t o, bool store, mapped_result& r) noexcept {
  std::uint64_t size = 0;
  if (const std::errc e = file_length(fd, size); e != std::errc{}) {  // device DAX: no length, no pread to ask
    r.sys_errno = static_cast<int>(e);
    r.cause = mapped_cause::unexplained;
    return;
  }
  r.file_size = size;
  if (o >= size) {
    r.cause = mapped_cause::file_ended;
    return;
  }
  const std::uint64_t page = mapped_page();
  const std::uint64_t first = o / page * page;
  const std::uint64_t len = size - first < page ? size - first : page;
  r.bad = {static_cast<std::size_t>(first), static_cast<std::size_t>(first + page)};
  if (store) {
    int e = 0;
    while (fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(first), static_cast<off_t>(len)) != 0) {
      e = errno;
      if (e != EINTR) break;
      e = 0;
    }
    if (e == ENOSPC || e == EDQUOT || (e == EOPNOTSUPP && file_system_full(fd))) {
      r.cause = mapped_cause::no_space;
      r.sys_errno = e == EOPNOTSUPP ? ENOSPC : e;
      return;
    }
  }
  unsigned char scratch[4096];
  for (std::uint64_t at = first; at < first + len;) {
    const std::size_t want = first + len - at < sizeof scratch ? static_cast<std::size_t>(first + len - at) : sizeof scratch;
    const ssize_t n = pread(fd, scratch, want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.cause = mapped_cause::io_error;
      r.sys_errno = errno;
      return;
    }
    if (n == 0) {  // shrank since the fstat above
      r.cause = mapped_cause::file_ended;
      r.file_size = at;
      r.bad = {};
      return;
    }
    at += static_cast<std::uint64_t>(n);
  }
  const off_t data = lseek(fd, static_cast<off_t>(first), SEEK_DATA);
  const bool hole = (data < 0 && errno == ENXIO) || (data >= 0 && static_cast<std::uint64_t>(data) > first);
  if (!store && hole && file_system_full(fd)) {
    r.cause = mapped_cause::no_space;
    r.sys_errno = ENOSPC;
    return;
  }
  r.cause = mapped_cause::unexplained;
  r.bad = {};
}

// Turns the outcome of a copy between a caller's buffer and file bytes from `offset` of the
// mapping [base, base + size) into r: a clean copy leaves r as it is (a refusal after it stays);
// a fault on the caller's side is buffer_fault, hardware poison takes its granule from the
// signal, a plain SIGBUS is explained by looking at the file (the top of this header).
MCSAFE_COLD inline void classify_copy(int fd, const std::byte* base, std::size_t size, std::uint64_t offset,
                                      const copy_result& c, bool store, mapped_result& r) noexcept {
  r.done = c.copied;
  if (c.ok()) return;
  r.fault = c.fault;
  r.bad = {};
  const fault_side file_side = store ? fault_side::destination : fault_side::source;
  if (c.fault.side != file_side) {
    r.cause = mapped_cause::buffer_fault;
    return;
  }
  const auto b = reinterpret_cast<std::uintptr_t>(base);
  if (c.fault.kind == fault_kind::hw_poison) {
    // The whole granule is gone (fault::extent_begin/extent_end).
    r.cause = mapped_cause::hw_poison;
    const std::uintptr_t g0 = c.fault.extent_begin(c.fault.address, mapped_page());
    const std::uintptr_t g1 = c.fault.extent_end(c.fault.address, mapped_page()) - b;
    r.bad = {g0 > b ? static_cast<std::size_t>(g0 - b) : 0, g1 < size ? static_cast<std::size_t>(g1) : size};
    return;
  }
  if (c.fault.kind != fault_kind::bus_error) {
    r.cause = mapped_cause::unexplained;  // SIGSEGV inside the copy: the mapping's protection changed
    return;
  }
  explain_bus_error(fd, c.fault.address - b, store, r);
  // The kernel maps the whole last page: bytes past the new size read as zeros until the
  // next page faults. They are not file data, so they are not counted as done.
  if (r.cause == mapped_cause::file_ended && offset + r.done > r.file_size)
    r.done = r.file_size > offset ? static_cast<std::size_t>(r.file_size - offset) : 0;
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe

namespace mcsafe {
inline namespace v1 {

// A file mapped MAP_SHARED from offset 0 over its whole size, read and written through
// mc_safe_copy. Errors are values (std::errc or mapped_result): nothing throws, prints or aborts.
//
// Threads: read and write may run concurrently with each other (they change nothing in the
// object). open, close, reserve, resize, repair and changes to known_bad() change the mapping
// or the map: the caller keeps them apart from reads and writes (e.g. under its writer lock).
class mapped_file {
 public:
  mapped_file() noexcept = default;

  // Opens `path` and maps the whole file: a regular file, a block device or device DAX. On
  // failure the object stays closed and the errno is returned (an empty file opens with nothing
  // mapped: size() == 0, grow it with resize/reserve). What cannot be mapped is refused without
  // blocking: a FIFO (which a plain open would wait on for a writer), a socket, another
  // character device (no_such_device), a directory (is_a_directory).
  std::errc open(const char* path, map_mode mode, map_options options = {}) noexcept {
    known_.clear();
    return map_.open(path, mode == map_mode::read_write, options.create, options.permissions);
  }
  // Takes ownership of an open descriptor (closed here even on failure) and maps the whole file;
  // refuses what open() refuses.
  std::errc adopt(int fd, map_mode mode) noexcept {
    known_.clear();
    return map_.adopt(fd, mode == map_mode::read_write);
  }
  void close() noexcept {
    map_.close();
    known_.clear();
  }

  bool is_open() const noexcept { return map_.is_open(); }
  int fd() const noexcept { return map_.fd(); }
  map_mode mode() const noexcept { return map_.writable() ? map_mode::read_write : map_mode::read_only; }
  std::size_t size() const noexcept { return map_.size(); }  // bytes mapped: the file's size when mapped
  // The mapping itself, for callers that guard their own accesses; plain loads from it can die.
  const std::byte* data() const noexcept { return map_.base(); }

  // Copies file bytes [offset, offset + out.size()) into out. The range must lie inside the
  // mapping (invalid_argument otherwise, nothing read). A known-bad range stops the read before
  // it (known_bad, done = the bytes before it); a fault stops it at the failed byte, or at the
  // first byte of a poisoned granule, and the cause says why.
  // The common case (open, inside, no known-bad ranges) is inlined into the caller: a check
  // and one mc_safe_copy; refusals, known-bad ranges and faults go out of line.
  MCSAFE_ALWAYS_INLINE mapped_result read(std::uint64_t offset, std::span<std::byte> out) const noexcept {
    if (!map_.is_open() || !map_.inside(offset, out.size()) || !known_.empty()) [[unlikely]]
      return checked_copy(offset, out.data(), out.size(), false);
    const copy_result c = mc_safe_copy(out.data(), map_.base() + offset, out.size());
    if (c.ok()) [[likely]]
      return done(c.copied);
    return after_fault(offset, c, false);
  }

  // Copies data into file bytes [offset, offset + data.size()) through the mapping (read_write
  // only). Bytes before a failed store have landed (in the page cache; msync or fsync to make
  // them durable); the cause says why the rest did not.
  MCSAFE_ALWAYS_INLINE mapped_result write(std::uint64_t offset, std::span<const std::byte> data) const noexcept {
    if (!map_.is_open() || !map_.writable() || !map_.inside(offset, data.size()) || !known_.empty()) [[unlikely]]
      return checked_copy(offset, data.data(), data.size(), true);
    const copy_result c = mc_safe_copy(map_.base() + offset, data.data(), data.size());
    if (c.ok()) [[likely]]
      return done(c.copied);
    return after_fault(offset, c, true);
  }

  // Allocates file blocks for [offset, offset + length) with posix_fallocate, growing the file
  // (and the mapping) when the range ends past it, so later stores there cannot fail for lack
  // of space: a full file system answers ENOSPC here, before any store. read_write only. On any
  // error the file and the mapping keep their size (a grown file is cut back to it).
  std::errc reserve(std::uint64_t offset, std::uint64_t length) noexcept { return map_.reserve(offset, length); }
  std::errc reserve(std::uint64_t length) noexcept { return reserve(0, length); }

  // Sets the file's size to `length` and maps all of it. Growing: ftruncate first, then the
  // mapping; shrinking: the mapping first, so no access through this object can reach the cut
  // part. The mapping may move (mremap): pointers from data() are stale afterwards. On error
  // the file and the mapping are back at their old size: a grown file is cut back when the
  // mapping cannot follow, a shrunk mapping grows back when the file cannot be cut. The one
  // state it cannot undo is reported as such: when the mapping cannot grow back either, size()
  // says how much is mapped (the file keeps its old size).
  std::errc resize(std::uint64_t length) noexcept { return map_.resize(length); }

  // Ranges (file offsets) that read and write refuse without touching memory: fill it from the
  // kernel's badblocks (file_bad_ranges(fd(), list.ranges, known_bad())), from a scan, or from
  // a hw_poison result's `bad`. Touching known poison again costs another machine check.
  poison_map& known_bad() noexcept { return known_; }
  const poison_map& known_bad() const noexcept { return known_; }

  // The mapping as a poison_span sharing known_bad() (offsets = file offsets): scan() walks it
  // and records every failed granule.
  poison_span<const std::byte> span() const noexcept { return {map_.base(), map_.size(), &known_}; }

  // The fsdax paths of file.hpp on this file: salvage reads around EIO with pread; repair
  // rewrites whole pages with pwrite (clearing the poison in the kernel) and removes the range
  // it rewrote from known_bad(). Neither changes the file's length: repair refuses a range
  // outside the file before writing anything, and a partial last page is padded, then the size
  // restored (file.hpp's repair).
  salvage_result salvage(std::uint64_t offset, std::span<std::byte> out) const noexcept {
    return mcsafe::salvage(map_.fd(), static_cast<off_t>(offset), out);
  }
  repair_result repair(std::uint64_t offset, std::span<const std::byte> data) noexcept {
    // An offset past off_t's range turns negative here, which repair refuses like any other.
    repair_result r = mcsafe::repair(map_.fd(), static_cast<off_t>(offset), data);
    if (r.error == std::errc::invalid_argument && r.written == 0 && r.refused.empty()) return r;
    known_.erase({static_cast<std::size_t>(offset), static_cast<std::size_t>(offset + data.size())});
    for (const byte_range& b : r.refused) known_.insert({b.begin + offset, b.end + offset});
    return r;
  }

 private:
  static mapped_result done(std::size_t n) noexcept {
    mapped_result r;
    r.done = n;
    return r;
  }
  MCSAFE_COLD mapped_result after_fault(std::uint64_t offset, const copy_result& c, bool store) const noexcept {
    mapped_result r;
    detail::classify_copy(map_.fd(), map_.base(), map_.size(), offset, c, store, r);
    return r;
  }
  // read (store false: buffer is the caller's out, which read got non-const) and write (store
  // true: buffer is the data) with every check: refusals, and a known-bad range stopping the
  // copy before it. The mapping's address is formed only once the range is known to be inside.
  MCSAFE_COLD mapped_result checked_copy(std::uint64_t offset, const std::byte* buffer, std::size_t n,
                                         bool store) const noexcept {
    mapped_result r;
    if (!map_.is_open() || (store && !map_.writable()) || !map_.inside(offset, n))
      return refuse(r, fault_kind::invalid_argument);
    const std::size_t before = before_known_bad(offset, n, r);
    if (before == 0 && r.fault.has_fault()) return r;
    std::byte* const file = map_.base() + offset;
    const copy_result c = store ? mc_safe_copy(file, buffer, before)
                                : mc_safe_copy(const_cast<std::byte*>(buffer), file, before);
    detail::classify_copy(map_.fd(), map_.base(), map_.size(), offset, c, store, r);
    return r;
  }

  static mapped_result& refuse(mapped_result& r, fault_kind k) noexcept {
    r.fault.kind = k;
    r.cause = k == fault_kind::known_bad ? mapped_cause::known_bad : mapped_cause::invalid_argument;
    return r;
  }

  // How many bytes from `offset` lie before the first known-bad range; when one is inside the
  // request, r holds the known_bad refusal for it.
  std::size_t before_known_bad(std::uint64_t offset, std::size_t n, mapped_result& r) const noexcept {
    if (known_.empty()) return n;
    const auto lo = static_cast<std::size_t>(offset);
    const auto it = known_.first_overlap({lo, lo + n});
    if (it == known_.end()) return n;
    refuse(r, fault_kind::known_bad);
    r.bad = *it;
    r.fault.side = fault_side::source;
    const std::size_t at = it->begin > lo ? it->begin : lo;
    r.fault.address = reinterpret_cast<std::uintptr_t>(map_.base()) + at;
    return at - lo;
  }

  detail::file_mapping map_;  // the file and its mapping: their lifetime (detail/file_mapping.hpp)
  poison_map known_;          // what read and write refuse to touch
};

}  // namespace v1
}  // namespace mcsafe
