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
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
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
  std::errc error{};     // another error (not EIO) that stopped the salvage, with nothing past it read
  bool ok() const noexcept { return error == std::errc{} && holes.empty() && !short_file; }
};

struct repair_result {
  std::size_t written = 0;  // bytes the kernel accepted
  poison_map refused;       // pages (relative to `offset`) the kernel refused
  std::errc error{};        // invalid_argument for misaligned input, else the first refusal's errno
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

// Rewrites whole pages with pwrite: offset and data.size() must be page multiples
// (invalid_argument otherwise, nothing written). On fsdax this clears the poison of those
// pages in the kernel. Pages the kernel refuses (EIO, EFAULT, ...) are listed, never hidden.
inline repair_result repair(int fd, off_t offset, std::span<const std::byte> data,
                            const file_io& io = system_file_io) noexcept {
  repair_result r;
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  if (offset < 0 || static_cast<std::size_t>(offset) % page != 0 || data.size() % page != 0) {
    r.error = std::errc::invalid_argument;
    return r;
  }
  for (std::size_t a = 0; a < data.size(); a += page) {
    ssize_t n;
    do {
      n = io.pwrite(fd, data.data() + a, page, offset + static_cast<off_t>(a));
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(page)) {
      r.written += page;
      continue;
    }
    if (r.error == std::errc{}) r.error = n < 0 ? static_cast<std::errc>(errno) : std::errc::io_error;
    r.refused.insert({a, a + page});
  }
  return r;
}

}  // namespace v1
}  // namespace mcsafe
