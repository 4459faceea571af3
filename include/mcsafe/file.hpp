// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/file.hpp - kernel-assisted salvage (pread) and repair (pwrite) of a file with bad
// blocks.
//
// On fsdax the kernel knows the bad sectors: pread over one fails with EIO (for the whole page
// that holds it: fsdax reads fail per page, good sectors included), and an aligned whole-page
// pwrite clears it (a partial write over a bad sector fails). These functions use that instead
// of touching the mapping. pread/pwrite go through a file_io seam so tests can fail chosen
// ranges.
#pragma once
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <system_error>
#include <vector>

#include "detail/config.hpp"
#include "poison_map.hpp"

namespace mcsafe {
inline namespace v1 {

struct file_io {
  ssize_t (*pread)(int fd, void* buf, std::size_t n, off_t offset) noexcept;
  ssize_t (*pwrite)(int fd, const void* buf, std::size_t n, off_t offset) noexcept;
};

struct salvage_result {
  std::size_t read = 0;  // bytes of `out` filled from the file
  poison_map holes;      // byte ranges (relative to `offset`) that returned EIO; zeroed in `out`
  std::size_t end = 0;   // where the file ended, relative to `offset`, when it is shorter than `out`
  bool short_file = false;
  std::errc error{};  // another error (not EIO) that stopped the salvage, with nothing past it read
  bool ok() const noexcept { return error == std::errc{} && holes.empty() && !short_file; }
};

struct repair_result {
  std::size_t written = 0;    // bytes of the data that the kernel accepted
  poison_map refused;         // pages (relative to `offset`) not rewritten: refused by the kernel, or
                              // a last page whose bytes past the data could not be read
  std::errc error{};          // invalid_argument for a misaligned offset or a range outside the
                              // file (nothing written), else the first refusal's errno
  bool padding_kept = false;  // the last page was padded past the file's end and the file grew
                              // meanwhile: its size was not restored, so as not to cut the new
                              // bytes; zeros lie between the old end and that page's end
  bool ok() const noexcept { return error == std::errc{} && refused.empty(); }
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {
inline ssize_t sys_pread(int fd, void* b, std::size_t n, off_t o) noexcept { return ::pread(fd, b, n, o); }
inline ssize_t sys_pwrite(int fd, const void* b, std::size_t n, off_t o) noexcept { return ::pwrite(fd, b, n, o); }

constexpr std::size_t salvage_granule = 512;  // a sector: the kernel's badblocks unit

// Reads [a, b) of out from offset + a, fully; returns 0, EIO, or another errno; sets `eof`
// (relative offset) when the file ends inside the range.
inline int read_fully(const file_io& io, int fd, off_t offset, std::byte* out, std::size_t a, std::size_t b,
                      std::size_t& eof) noexcept {
  while (a < b) {
    const ssize_t n = io.pread(fd, out + a, b - a, offset + static_cast<off_t>(a));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) {
      eof = a;
      return 0;
    }
    a += static_cast<std::size_t>(n);
  }
  return 0;
}

// Bisects [a, b) around EIO down to salvage_granule-aligned pieces (aligned in file offsets).
// Iterative, lowest range first; the stack holds at most one pending range per halving.
inline void salvage_range(const file_io& io, int fd, off_t offset, std::byte* out, std::size_t a, std::size_t b,
                          salvage_result& r) noexcept {
  std::vector<byte_range> todo{{a, b}};
  while (!todo.empty() && r.error == std::errc{}) {
    const byte_range cur = todo.back();
    todo.pop_back();
    if (cur.empty() || (r.short_file && cur.begin >= r.end)) continue;
    std::size_t eof = static_cast<std::size_t>(-1);
    const int err = read_fully(io, fd, offset, out, cur.begin, cur.end, eof);
    if (err == 0) {
      if (eof != static_cast<std::size_t>(-1) && (!r.short_file || eof < r.end)) {
        r.short_file = true;
        r.end = eof;
      }
      continue;
    }
    if (err != EIO) {
      r.error = static_cast<std::errc>(err);
      return;
    }
    const auto file_a = static_cast<std::size_t>(offset) + cur.begin;
    if (cur.size() <= salvage_granule || file_a / salvage_granule == (file_a + cur.size() - 1) / salvage_granule) {
      std::memset(out + cur.begin, 0, cur.size());
      r.holes.insert(cur);
      continue;
    }
    // Split at a sector boundary of the file near the middle.
    std::size_t mid = (file_a + cur.size() / 2) / salvage_granule * salvage_granule - static_cast<std::size_t>(offset);
    if (mid <= cur.begin) mid = (file_a / salvage_granule + 1) * salvage_granule - static_cast<std::size_t>(offset);
    todo.push_back({mid, cur.end});
    todo.push_back({cur.begin, mid});
  }
}
}  // namespace detail

inline constexpr file_io system_file_io{detail::sys_pread, detail::sys_pwrite};

// Fills `out` from the file at `offset` with pread, reading around ranges that return EIO by
// bisecting them down to 512-byte sectors; those holes are zeroed and returned. A file shorter
// than `out` is reported (short_file, end), not hidden; other errors stop the salvage.
inline salvage_result salvage(int fd, off_t offset, std::span<std::byte> out, const file_io& io = system_file_io) noexcept {
  salvage_result r;
  if (offset < 0) {
    r.error = std::errc::invalid_argument;
    return r;
  }
  detail::salvage_range(io, fd, offset, out.data(), 0, out.size(), r);
  const std::size_t limit = r.short_file ? r.end : out.size();
  r.read = limit - r.holes.bytes();
  if (r.short_file) std::memset(out.data() + r.end, 0, out.size() - r.end);
  return r;
}

namespace detail {
// The length of what `fd` names: a regular file's size, a block device's (BLKGETSIZE64, where
// fstat says 0). Anything else: no_such_device.
inline std::errc file_length(int fd, std::uint64_t& size) noexcept {
  struct stat st {};
  if (fstat(fd, &st) != 0) return static_cast<std::errc>(errno);
  if (S_ISREG(st.st_mode)) {
    size = static_cast<std::uint64_t>(st.st_size);
    return {};
  }
  if (S_ISBLK(st.st_mode)) return ioctl(fd, BLKGETSIZE64, &size) == 0 ? std::errc{} : static_cast<std::errc>(errno);
  return std::errc::no_such_device;
}

// ftruncate through EINTR: 0, or the errno.
inline std::errc set_length(int fd, std::uint64_t length) noexcept {
  int rc;
  do {
    rc = ftruncate(fd, static_cast<off_t>(length));
  } while (rc != 0 && errno == EINTR);
  return rc == 0 ? std::errc{} : static_cast<std::errc>(errno);
}

// pwrite of one whole page at file offset `at` (`rel` relative to the repair's offset); counts
// `counted` data bytes as written, or lists the page as refused.
inline void write_page(const file_io& io, int fd, const std::byte* p, std::size_t page, off_t at, std::size_t rel,
                       std::size_t counted, repair_result& r) noexcept {
  ssize_t n;
  do {
    n = io.pwrite(fd, p, page, at);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(page)) {
    r.written += counted;
    return;
  }
  if (r.error == std::errc{}) r.error = n < 0 ? static_cast<std::errc>(errno) : std::errc::io_error;
  r.refused.insert({rel, rel + page});
}

inline void refuse_page(repair_result& r, std::size_t rel, std::size_t page, std::errc e) noexcept {
  if (r.error == std::errc{}) r.error = e;
  r.refused.insert({rel, rel + page});
}

// The last page of a repair whose data ends inside it: `tail` goes to file offset `at`, the rest
// of the page is the file's own bytes up to its end (another writer's, if the file grew since
// the repair began: never overwritten) and zeros past it. When the zeros made the file longer,
// its size is set back, but only if nobody grew it further in between.
inline void repair_last_page(const file_io& io, int fd, off_t at, std::span<const std::byte> tail, std::size_t page,
                             std::size_t rel, repair_result& r) noexcept {
  const std::unique_ptr<std::byte[]> buf(new (std::nothrow) std::byte[page]);
  std::uint64_t size = 0;
  if (!buf) return refuse_page(r, rel, page, std::errc::not_enough_memory);
  if (const std::errc e = file_length(fd, size); e != std::errc{}) return refuse_page(r, rel, page, e);
  const auto start = static_cast<std::uint64_t>(at), end = start + tail.size(), page_end = start + page;
  if (size < end) return refuse_page(r, rel, page, std::errc::invalid_argument);  // shrank since
  const std::uint64_t own_end = size < page_end ? size : page_end;
  const auto own = static_cast<std::size_t>(own_end - start);
  std::memcpy(buf.get(), tail.data(), tail.size());
  std::size_t eof = static_cast<std::size_t>(-1);
  if (const int e = read_fully(io, fd, at, buf.get(), tail.size(), own, eof); e != 0 || eof != static_cast<std::size_t>(-1))
    return refuse_page(r, rel, page, e != 0 ? static_cast<std::errc>(e) : std::errc::io_error);
  std::memset(buf.get() + own, 0, page - own);
  const std::size_t refused_before = r.refused.size();
  write_page(io, fd, buf.get(), page, at, rel, tail.size(), r);
  if (own_end == page_end || r.refused.size() != refused_before) return;
  // The zeros past own_end set the size to page_end: set it back unless it moved on since.
  bool restored = false;
  if (file_length(fd, size) == std::errc{} && size == page_end) {
    const std::errc e = set_length(fd, own_end);
    restored = e == std::errc{};
    if (!restored && r.error == std::errc{}) r.error = e;
  }
  r.padding_kept = !restored;
}
}  // namespace detail

// Rewrites file bytes [offset, offset + data.size()) with pwrite, one whole page at a time (on
// fsdax a whole-page write is what clears poison in the kernel), and never changes the file's
// size. `offset` must be page-aligned and the range must lie inside the file (a regular file's
// size, a block device's): otherwise invalid_argument, nothing written. A range that ends inside a page is completed with the
// file's own bytes (a page whose rest cannot be read is refused, not overwritten) and, past the
// file's end, with zeros that are cut off again afterwards (padding_kept when the file grew in
// between and they could not be). Pages the kernel refuses (EIO, EFAULT, ...) are listed, never
// hidden.
inline repair_result repair(int fd, off_t offset, std::span<const std::byte> data,
                            const file_io& io = system_file_io) noexcept {
  repair_result r;
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::uint64_t size = 0;
  if (offset < 0 || static_cast<std::size_t>(offset) % page != 0) {
    r.error = std::errc::invalid_argument;
    return r;
  }
  if (const std::errc e = detail::file_length(fd, size); e != std::errc{}) {
    r.error = e;
    return r;
  }
  const auto start = static_cast<std::uint64_t>(offset);
  if (data.size() > size || start > size - data.size()) {
    r.error = std::errc::invalid_argument;
    return r;
  }
  const std::size_t whole = data.size() / page * page;
  for (std::size_t a = 0; a < whole; a += page)
    detail::write_page(io, fd, data.data() + a, page, offset + static_cast<off_t>(a), a, page, r);
  if (whole < data.size())
    detail::repair_last_page(io, fd, offset + static_cast<off_t>(whole), data.subspan(whole), page, whole, r);
  return r;
}

}  // namespace v1
}  // namespace mcsafe
