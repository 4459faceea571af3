// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/badblocks.hpp - the kernel's list of bad sectors (sysfs), mapped to file offsets.
//
// Linux keeps a badblocks list per pmem namespace (/sys/block/pmemX/badblocks) and per nd
// region (/sys/bus/nd/devices/regionN/badblocks): one "first_sector count" line per range,
// 512-byte sectors, relative to the device. FIEMAP maps a file's extents to device offsets, so
// the two together say which byte ranges of a file are bad before anything touches them.
// Input is parsed strictly: a malformed, negative, overflowing or over-long line gives an
// error with its line number and no partial list.
#pragma once
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

#include "detail/config.hpp"
#include "poison_map.hpp"

namespace mcsafe {
inline namespace v1 {

inline constexpr std::uint64_t sector_size = 512;

struct sector_range {
  std::uint64_t first = 0, count = 0;  // in 512-byte sectors
  friend constexpr bool operator==(const sector_range&, const sector_range&) = default;
};

struct badblocks_list {
  std::vector<sector_range> ranges;
  std::errc error{};     // invalid_argument (malformed), value_too_large (overflow), or an errno
  std::size_t line = 0;  // 1-based line of the first problem, 0 when not a parse error
  bool ok() const noexcept { return error == std::errc{}; }
};

// One extent of a file: [logical, logical + length) of the file at device byte `physical`.
struct file_extent {
  std::uint64_t logical = 0, physical = 0, length = 0;
};
// The seam for FIEMAP: fills `out` with every extent of fd; returns 0 or an errno.
using extents_fn = int (*)(int fd, std::vector<file_extent>& out);

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {

namespace detail {
constexpr std::size_t badblocks_max_line = 64;  // two 20-digit numbers, a space, slack

// Parses a decimal u64 at s[i..], advancing i. False on no digits or overflow.
inline bool parse_u64(std::string_view s, std::size_t& i, std::uint64_t& v, bool& overflow) noexcept {
  const std::size_t start = i;
  v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      overflow = true;
      return false;
    }
    v = v * 10 + d;
  }
  return i > start;
}

// The line of text starting at pos, without its '\n'; pos moves past it.
inline std::string_view next_line(std::string_view text, std::size_t& pos) noexcept {
  std::size_t nl = text.find('\n', pos);
  if (nl == std::string_view::npos) nl = text.size();
  const std::string_view l = text.substr(pos, nl - pos);
  pos = nl + 1;
  return l;
}
}  // namespace detail

// Parses badblocks text: lines "first_sector count" (decimal, one space), each ending in '\n'
// except possibly the last. Empty text is an empty list.
inline badblocks_list parse_badblocks(std::string_view text) noexcept {
  badblocks_list out;
  std::size_t line = 0, pos = 0;
  while (pos < text.size()) {
    ++line;
    const std::string_view l = detail::next_line(text, pos);
    auto fail = [&](std::errc e) {
      badblocks_list bad;
      bad.error = e;
      bad.line = line;
      return bad;
    };
    if (l.size() > detail::badblocks_max_line) return fail(std::errc::invalid_argument);
    std::size_t i = 0;
    bool overflow = false;
    sector_range r;
    if (!detail::parse_u64(l, i, r.first, overflow) || i >= l.size() || l[i] != ' ')
      return fail(overflow ? std::errc::value_too_large : std::errc::invalid_argument);
    ++i;
    if (!detail::parse_u64(l, i, r.count, overflow) || i != l.size())
      return fail(overflow ? std::errc::value_too_large : std::errc::invalid_argument);
    if (r.count == 0) return fail(std::errc::invalid_argument);
    // The byte end, (first + count) * 512, must fit: count alone can exceed the limit, so it
    // is checked before the subtraction (which would otherwise wrap and accept it).
    constexpr std::uint64_t max_sectors = UINT64_MAX / sector_size;
    if (r.count > max_sectors || r.first > max_sectors - r.count) return fail(std::errc::value_too_large);
    out.ranges.push_back(r);
  }
  return out;
}

namespace detail {
// Reads a small text file whole (sysfs attributes are at most a page; anything over 64 MiB is
// refused as not one). Returns an errno-style error.
inline std::errc read_text_file(const std::string& path, std::string& text) noexcept {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return static_cast<std::errc>(errno);
  char buf[4096];
  std::errc e{};
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      e = static_cast<std::errc>(errno);
      break;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > (64u << 20)) {
      e = std::errc::file_too_large;
      break;
    }
  }
  ::close(fd);
  return e;
}

inline badblocks_list read_badblocks_file(const std::string& path) noexcept {
  badblocks_list out;
  std::string text;
  if (const std::errc e = read_text_file(path, text); e != std::errc{}) {
    out.error = e;
    return out;
  }
  return parse_badblocks(text);
}

// A sysfs attribute holding one decimal number and a newline (a partition's start or size).
inline std::errc read_u64_attribute(const std::string& path, std::uint64_t& v) noexcept {
  std::string text;
  if (const std::errc e = read_text_file(path, text); e != std::errc{}) return e;
  if (!text.empty() && text.back() == '\n') text.pop_back();
  std::size_t i = 0;
  bool overflow = false;
  if (!parse_u64(text, i, v, overflow) || i != text.size())
    return overflow ? std::errc::value_too_large : std::errc::invalid_argument;
  return std::errc{};
}
}  // namespace detail

// <sysfs_root>/block/<dev>/badblocks, e.g. dev = "pmem0".
inline badblocks_list read_block_badblocks(std::string_view dev, std::string_view sysfs_root = "/sys") noexcept {
  return detail::read_badblocks_file(std::string(sysfs_root) + "/block/" + std::string(dev) + "/badblocks");
}
// <sysfs_root>/bus/nd/devices/<region>/badblocks, e.g. region = "region0".
inline badblocks_list read_region_badblocks(std::string_view region, std::string_view sysfs_root = "/sys") noexcept {
  return detail::read_badblocks_file(std::string(sysfs_root) + "/bus/nd/devices/" + std::string(region) + "/badblocks");
}

// The bad sectors of partition <part> of <disk> (e.g. "pmem0", "pmem0p1"), relative to the
// partition, which is what FIEMAP reports for a file system on it. The kernel keeps the list
// for the whole disk only; this clips it to the partition ([start, start + size) from
// <sysfs_root>/block/<disk>/<part>/{start,size}) and shifts it by start.
inline badblocks_list read_partition_badblocks(std::string_view disk, std::string_view part,
                                               std::string_view sysfs_root = "/sys") noexcept {
  badblocks_list whole = read_block_badblocks(disk, sysfs_root);
  if (!whole.ok()) return whole;
  const std::string dir = std::string(sysfs_root) + "/block/" + std::string(disk) + "/" + std::string(part);
  std::uint64_t start = 0, size = 0;
  badblocks_list out;
  if (std::errc e = detail::read_u64_attribute(dir + "/start", start); e != std::errc{}) {
    out.error = e;
    return out;
  }
  if (std::errc e = detail::read_u64_attribute(dir + "/size", size); e != std::errc{}) {
    out.error = e;
    return out;
  }
  if (start > UINT64_MAX - size) {
    out.error = std::errc::value_too_large;
    return out;
  }
  for (const sector_range& r : whole.ranges) {
    const std::uint64_t lo = r.first > start ? r.first : start;
    const std::uint64_t hi = r.first + r.count < start + size ? r.first + r.count : start + size;
    if (lo < hi) out.ranges.push_back({lo - start, hi - lo});
  }
  return out;
}

namespace detail {
// FIEMAP through the kernel, 64 extents per call.
inline int fiemap_extents(int fd, std::vector<file_extent>& out) noexcept {
  constexpr unsigned kBatch = 64;
  alignas(fiemap) unsigned char buf[sizeof(fiemap) + kBatch * sizeof(fiemap_extent)];
  std::uint64_t start = 0;
  for (;;) {
    std::memset(buf, 0, sizeof buf);
    auto* fm = reinterpret_cast<fiemap*>(buf);
    fm->fm_start = start;
    fm->fm_length = FIEMAP_MAX_OFFSET - start;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = kBatch;
    if (::ioctl(fd, FS_IOC_FIEMAP, fm) != 0) return errno;
    if (fm->fm_mapped_extents == 0) return 0;
    bool last = false;
    for (unsigned i = 0; i < fm->fm_mapped_extents; ++i) {
      const fiemap_extent& e = fm->fm_extents[i];
      out.push_back({e.fe_logical, e.fe_physical, e.fe_length});
      start = e.fe_logical + e.fe_length;
      last = last || (e.fe_flags & FIEMAP_EXTENT_LAST) != 0;
    }
    if (last) return 0;
  }
}
}  // namespace detail

// The file byte ranges of fd that lie on bad sectors of its device, rounded out to the file
// system block (st_blksize). Device offsets are those FIEMAP reports: relative to the block
// device holding the file system, so for a file system on a partition pass the list from
// read_partition_badblocks. Returns an errno-style error on failure, no partial map.
inline std::errc file_bad_ranges(int fd, const std::vector<sector_range>& bad, poison_map& out,
                                 extents_fn extents = detail::fiemap_extents) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return static_cast<std::errc>(errno);
  std::vector<file_extent> ex;
  if (const int e = extents(fd, ex); e != 0) return static_cast<std::errc>(e);
  poison_map found;
  for (const sector_range& s : bad) {
    const std::uint64_t b0 = s.first * sector_size, b1 = b0 + s.count * sector_size;
    for (const file_extent& x : ex) {
      const std::uint64_t lo = b0 > x.physical ? b0 : x.physical;
      const std::uint64_t hi = b1 < x.physical + x.length ? b1 : x.physical + x.length;
      if (lo < hi) found.insert({x.logical + (lo - x.physical), x.logical + (hi - x.physical)});
    }
  }
  found.round_to(st.st_blksize > 0 ? static_cast<std::size_t>(st.st_blksize) : 4096);
  out = found;
  return std::errc{};
}

}  // namespace v1
}  // namespace mcsafe
