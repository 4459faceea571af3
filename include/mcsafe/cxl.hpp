// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/cxl.hpp - poison on a CXL memory device: finding it, clearing it, and rewriting the
// line, through what the Linux kernel offers.
//
// Addresses: a device physical address (DPA) is the device's own; where the memory is mapped
// in a region, the kernel also reports the host physical address (HPA), and hpa - the region's
// start is the offset in a mapping of the whole region (its device DAX, say).
//
// Which path each kernel offers:
// - Linux 6.4 and later (Debian's 6.12): sysfs <memdev>/trigger_poison_list makes the kernel
//   read the device's poison list and report each range as a cxl:cxl_poison trace event (DPA,
//   length, source, and region and HPA when mapped): read_poison_list collects them into
//   poison_records and a poison_map of DPAs, and poison_list::in_region gives region offsets
//   (a poison_map to hand to poison_span, as badblocks.hpp does for pmem). debugfs
//   cxl/<memdev>/inject_poison and clear_poison take a 64-byte-aligned DPA: inject_poison (for
//   tests) and clear_poison_debugfs. The kernel's Clear Poison writes zeros, so
//   clear_and_rewrite follows it with atomic_clear_write of the new data through the caller's
//   mapping: NOT atomic with the new data (a concurrent reader can see the zeros in between;
//   after it, the whole new line where the store is MOVDIR64B, else possibly part of it).
//   Root is needed (debugfs, tracefs and the trigger are root's), debugfs and tracefs mounted;
//   a missing piece is its own error value (no_debugfs, no_tracefs, permission, ...).
// - Before 6.4 (e.g. 6.1): the memory-device ioctl's Clear Poison by command id (clear_poison
//   below), which sends the new data with the clear in one mailbox command. From 6.4 on the
//   kernel lists neither it nor, without CONFIG_CXL_MEM_RAW_COMMANDS (Debian's case), the raw
//   command: `deprecated`. With that option the raw mailbox command (opcode 0x4302) may be
//   sent (clear_poison_options::allow_raw; the kernel taints itself and warns once).
//
// Tested: every parser and error path through seams (tests/test_cxl.cpp: trace text, the ioctl,
// a copy of the sysfs/debugfs files); on Linux 6.12 against QEMU's emulated CXL type-3 device
// (tests/system, system.qemu.6.12.cxl): injected poison is listed at exactly its DPAs and region
// offsets, clearing takes it off the list, clear_and_rewrite's data reads back, the ioctl path
// is `deprecated` there. QEMU keeps poison as a list only (a load returns data, no machine
// check): the fault path from CXL memory is not proven by emulation. Not run on CXL hardware.
//
// Compiled only where <linux/cxl_mem.h> exists (MCSAFE_HAS_CXL is then 1). Not included by
// mcsafe.hpp: it is an administrative path (root).
#pragma once
#if defined(__linux__) && __has_include(<linux/cxl_mem.h>)
#define MCSAFE_HAS_CXL 1
#include <fcntl.h>
#include <linux/cxl_mem.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "badblocks.hpp"
#include "clear.hpp"
#include "detail/config.hpp"
#include "poison_map.hpp"

namespace mcsafe {
inline namespace v1 {
namespace cxl {

enum class clear_poison_error : std::uint8_t {
  none,
  bad_alignment,       // the DPA is not a multiple of 64: nothing was sent
  invalid_argument,    // null data, or a bad file descriptor
  no_device,           // the memdev path does not exist, or the device went away
  not_a_memdev,        // the file answers no CXL ioctl (ENOTTY on the query)
  not_supported,       // the kernel or the device does not offer Clear Poison to user space
  deprecated,          // the kernel lists neither Clear Poison by id nor the raw command: since
                       // Linux 6.4 it manages poison itself (clear_poison_debugfs below), and
                       // without CONFIG_CXL_MEM_RAW_COMMANDS (Debian's) it offers no raw path
  reserved_by_kernel,  // the kernel keeps the command for itself (EXCLUSIVE flag, EBUSY)
  permission,          // open or ioctl refused (EACCES/EPERM; RAW without CONFIG_CXL_MEM_RAW_COMMANDS)
  device_error,        // the kernel sent it and the device refused: see device_status
  system_error,        // any other errno: see sys_errno
};

constexpr const char* to_string(clear_poison_error e) noexcept {
  switch (e) {
    case clear_poison_error::none: return "none";
    case clear_poison_error::bad_alignment: return "bad_alignment";
    case clear_poison_error::invalid_argument: return "invalid_argument";
    case clear_poison_error::no_device: return "no_device";
    case clear_poison_error::not_a_memdev: return "not_a_memdev";
    case clear_poison_error::not_supported: return "not_supported";
    case clear_poison_error::deprecated: return "deprecated";
    case clear_poison_error::reserved_by_kernel: return "reserved_by_kernel";
    case clear_poison_error::permission: return "permission";
    case clear_poison_error::device_error: return "device_error";
    case clear_poison_error::system_error: return "system_error";
  }
  return "unknown";
}

struct clear_poison_result {
  clear_poison_error error = clear_poison_error::none;
  int sys_errno = 0;                // errno of the open() or ioctl() that failed
  std::uint32_t device_status = 0;  // the mailbox return code (0002h invalid input, 0003h
                                    // unsupported, 000Fh invalid physical address, ...)
  bool raw = false;                 // sent as CXL_MEM_COMMAND_ID_RAW, opcode 0x4302
  constexpr bool ok() const noexcept { return error == clear_poison_error::none; }
  constexpr explicit operator bool() const noexcept { return ok(); }
};

// The seam: ioctl(2) as the kernel sees it (returns -1 and sets errno on failure).
using ioctl_fn = int (*)(int fd, unsigned long request, void* arg) noexcept;

struct clear_poison_options {
  bool allow_raw = false;    // fall back to the raw mailbox command (see above)
  ioctl_fn ioctl = nullptr;  // nullptr: the real ioctl(2); tests put a fake here
};

// The input payload of Clear Poison, as the device reads it: little endian, no padding.
struct clear_poison_payload {
  std::uint64_t dpa;  // little endian; bits 5..0 zero
  unsigned char data[64];
};
static_assert(sizeof(clear_poison_payload) == 72 && offsetof(clear_poison_payload, data) == 8);

// The UAPI enum's ids are stable ABI ("new defines must be added to the end"); the name of
// this one changed (CXL_MEM_COMMAND_ID_CLEAR_POISON, later CXL_MEM_DEPRECATED_ID_CLEAR_POISON)
// so it is spelled as a number, checked against the header's name table by the tests.
inline constexpr std::uint32_t clear_poison_command_id = 17;
inline constexpr std::uint16_t clear_poison_opcode = 0x4302;
inline constexpr std::uint32_t command_flag_exclusive = 1u << 1;  // CXL_MEM_COMMAND_FLAG_EXCLUSIVE
static_assert(CXL_MEM_COMMAND_ID_RAW == 2);

// ---- Poison as kernels report it since 6.4 (read_poison_list and the debugfs path below) ----

enum class poison_error : std::uint8_t {
  none,
  invalid_argument,  // an empty memdev name or one with '/', null data or line
  bad_alignment,     // the DPA is not a multiple of 64 (or the line not 64-byte aligned): nothing done
  out_of_range,      // the DPA is at or past the device's capacity (its ram + pmem sizes): nothing done
  no_device,         // no <sysfs>/<memdev>: not a CXL memory device (or cxl_mem not loaded)
  no_debugfs,        // no <debugfs>/cxl: debugfs not mounted (mount -t debugfs none /sys/kernel/debug)
  no_tracefs,        // no tracefs, or no cxl:cxl_poison event in it (mount -t tracefs none /sys/kernel/tracing)
  not_supported,     // the kernel or device does not offer it (no inject_poison / clear_poison /
                     // trigger_poison_list file: the device lacks the poison commands)
  permission,        // EACCES/EPERM: these files are root's (debugfs, trigger_poison_list, tracefs)
  rejected,          // the kernel or the device refused the request (EINVAL, ENXIO, EIO, ...): see sys_errno
  malformed,         // the trace text is not what the kernel writes: see line
  system_error,      // any other errno: see sys_errno
};

constexpr const char* to_string(poison_error e) noexcept {
  constexpr const char* names[] = {"none",       "invalid_argument", "bad_alignment", "out_of_range",
                                   "no_device",  "no_debugfs",       "no_tracefs",    "not_supported",
                                   "permission", "rejected",         "malformed",     "system_error"};
  const auto i = static_cast<std::size_t>(e);
  return i < sizeof names / sizeof names[0] ? names[i] : "unknown";
}

// Where the kernel's files are; tests point these at a copy. Views: the strings they name must
// outlive the call.
struct kernel_paths {
  std::string_view sysfs = "/sys/bus/cxl/devices";  // memX/, regionY/
  std::string_view debugfs = "/sys/kernel/debug";   // cxl/memX/{inject,clear}_poison
  std::string_view tracefs = "/sys/kernel/tracing";
  std::string_view dev = "/dev/cxl";  // memX: the memdev for the ioctl
};

struct poison_status {
  poison_error error = poison_error::none;
  int sys_errno = 0;
  constexpr bool ok() const noexcept { return error == poison_error::none; }
  constexpr explicit operator bool() const noexcept { return ok(); }
};

// The source the device gives for a poisoned range (CXL 3.0 Get Poison List).
enum class poison_source : std::uint8_t { unknown, external, internal, injected, vendor, reserved };

// One poisoned range of a memdev as the cxl_poison trace event reports it.
struct poison_record {
  std::uint64_t dpa = 0, length = 0;  // device physical address and bytes (multiples of 64)
  poison_source source = poison_source::unknown;
  std::string region;                // the region that maps it ("region0"), empty when none
  std::uint64_t hpa = 0;             // host physical address, when region is not empty
  bool region_offset_known = false;  // the region's start was read: region_offset is valid
  std::uint64_t region_offset = 0;   // hpa - the region's start: the offset in a mapping of the
                                     // whole region (device DAX of it, or its memory block range)
};

struct poison_list {
  std::vector<poison_record> records;  // in the order the device listed them
  poison_map dpa;                      // every record's [dpa, dpa + length), merged
  poison_error error = poison_error::none;
  int sys_errno = 0;
  std::size_t line = 0;  // malformed: the 1-based line of the trace text
  bool ok() const noexcept { return error == poison_error::none; }

  // The records mapped in `region`, as offsets from the region's start: a map to hand to
  // poison_span over a mapping of the whole region.
  poison_map in_region(std::string_view region) const {
    poison_map m;
    for (const poison_record& r : records)
      if (r.region_offset_known && r.region == region)
        m.insert({static_cast<std::size_t>(r.region_offset), static_cast<std::size_t>(r.region_offset + r.length)});
    return m;
  }
};

struct rewrite_result {
  poison_status clear;  // the device's part: poison cleared, the line zeroed
  write_result write;   // the rewrite through the mapping (write.method: which store ran)
  bool ok() const noexcept { return clear.ok() && write.ok(); }
  explicit operator bool() const noexcept { return ok(); }
};

}  // namespace cxl
}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace cxl {
namespace detail {

inline int native_ioctl(int fd, unsigned long request, void* arg) noexcept { return ::ioctl(fd, request, arg); }

inline clear_poison_result failed(clear_poison_error e, int err = 0) noexcept {
  clear_poison_result r;
  r.error = e;
  r.sys_errno = err;
  return r;
}

// An errno from open() or either ioctl, as an error value.
inline clear_poison_result from_errno(int err) noexcept {
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO: return failed(clear_poison_error::no_device, err);
    case ENOTTY: return failed(clear_poison_error::not_supported, err);
    case EBUSY: return failed(clear_poison_error::reserved_by_kernel, err);
    case EPERM:
    case EACCES: return failed(clear_poison_error::permission, err);
    case EBADF: return failed(clear_poison_error::invalid_argument, err);
    default: return failed(clear_poison_error::system_error, err);
  }
}

// What CXL_MEM_QUERY_COMMANDS says about the commands this needs.
struct command_support {
  bool clear_poison = false, clear_poison_exclusive = false, raw = false;
};

// Enough room for every command the UAPI has defined so far; the kernel returns at most as
// many entries as asked for, and leaves the rest as they were (zero: id 0 is "invalid").
inline constexpr std::uint32_t query_capacity = 64;

inline int query(int fd, ioctl_fn io, command_support& out) noexcept {
  alignas(cxl_mem_query_commands) unsigned char
      buf[sizeof(cxl_mem_query_commands) + query_capacity * sizeof(cxl_command_info)] = {};
  // Filled through memcpy: a struct with a flexible array member is not a C++ object type
  // one may declare (clang: -Wzero-length-array).
  const std::uint32_t n = query_capacity;
  std::memcpy(buf + offsetof(cxl_mem_query_commands, n_commands), &n, sizeof n);
  if (io(fd, CXL_MEM_QUERY_COMMANDS, buf) != 0) return errno;
  for (std::uint32_t i = 0; i < query_capacity; ++i) {
    cxl_command_info info;
    std::memcpy(&info, buf + sizeof(cxl_mem_query_commands) + i * sizeof info, sizeof info);
    if (info.id == clear_poison_command_id) {
      out.clear_poison = true;
      out.clear_poison_exclusive = (info.flags & command_flag_exclusive) != 0;
    }
    if (info.id == CXL_MEM_COMMAND_ID_RAW) out.raw = true;
  }
  return 0;
}

inline clear_poison_result send(int fd, ioctl_fn io, const clear_poison_payload& payload, bool raw) noexcept {
  cxl_send_command cmd{};
  cmd.id = raw ? static_cast<std::uint32_t>(CXL_MEM_COMMAND_ID_RAW) : clear_poison_command_id;
  if (raw) cmd.raw.opcode = clear_poison_opcode;
  cmd.in.size = sizeof payload;
  cmd.in.payload = reinterpret_cast<std::uintptr_t>(&payload);
  if (io(fd, CXL_MEM_SEND_COMMAND, &cmd) != 0) {
    clear_poison_result r = from_errno(errno);
    r.raw = raw;
    return r;
  }
  clear_poison_result r;
  r.raw = raw;
  if (cmd.retval != 0) {
    r.error = clear_poison_error::device_error;
    r.device_status = cmd.retval;
  }
  return r;
}

}  // namespace detail

// Asks the CXL memory device open at memdev_fd (/dev/cxl/memN, opened read-write) to write
// the 64 bytes at data64 at device physical address dpa and clear its poison. dpa must be a
// multiple of 64 (else bad_alignment, nothing sent). Uses the command id when the kernel
// offers it; otherwise, with options.allow_raw, the raw mailbox command. See the error values
// above; sys_errno and device_status carry the details.
inline clear_poison_result clear_poison(int memdev_fd, std::uint64_t dpa, const void* data64,
                                        clear_poison_options options = {}) noexcept {
  if (data64 == nullptr) return detail::failed(clear_poison_error::invalid_argument);
  if (dpa % 64 != 0) return detail::failed(clear_poison_error::bad_alignment);
  const ioctl_fn io = options.ioctl != nullptr ? options.ioctl : &detail::native_ioctl;
  detail::command_support support;
  if (const int err = detail::query(memdev_fd, io, support); err != 0)
    return err == ENOTTY ? detail::failed(clear_poison_error::not_a_memdev, err) : detail::from_errno(err);
  if (support.clear_poison_exclusive) return detail::failed(clear_poison_error::reserved_by_kernel);
  clear_poison_payload payload{};
  payload.dpa = std::endian::native == std::endian::little ? dpa : __builtin_bswap64(dpa);
  std::memcpy(payload.data, data64, sizeof payload.data);
  clear_poison_result r;
  if (support.clear_poison) {
    r = detail::send(memdev_fd, io, payload, false);
    if (r.error != clear_poison_error::not_supported) return r;
  } else {
    r = detail::failed(support.raw ? clear_poison_error::not_supported : clear_poison_error::deprecated);
  }
  if (!options.allow_raw || !support.raw) return r;
  return detail::send(memdev_fd, io, payload, true);
}

// The same, opening memdev_path (e.g. "/dev/cxl/mem0") read-write for the call.
inline clear_poison_result clear_poison(const char* memdev_path, std::uint64_t dpa, const void* data64,
                                        clear_poison_options options = {}) noexcept {
  if (memdev_path == nullptr) return detail::failed(clear_poison_error::invalid_argument);
  const int fd = ::open(memdev_path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return detail::from_errno(errno);
  const clear_poison_result r = clear_poison(fd, dpa, data64, options);
  ::close(fd);
  return r;
}

// ---- The paths kernels offer since 6.4: sysfs, debugfs and the cxl_poison trace event ------

namespace detail {

inline constexpr std::uint64_t no_hpa = ~std::uint64_t{0};  // what the event prints when unmapped

// "0x" and hex digits, the whole of s. False on anything else or overflow.
inline bool parse_hex(std::string_view s, std::uint64_t& v) noexcept {
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s.size() > 18) return false;
  v = 0;
  for (char c : s.substr(2)) {
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = static_cast<unsigned>(c - 'A' + 10);
    else
      return false;
    v = v << 4 | d;
  }
  return true;
}

// The value of `key=` among the space-separated fields of an event's text ("" when absent;
// present reports whether the key was there at all).
inline std::string_view field(std::string_view text, std::string_view key, bool& present) noexcept {
  present = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view f = text.substr(pos, end - pos);
    if (f.size() > key.size() && f.substr(0, key.size()) == key && f[key.size()] == '=') {
      present = true;
      return f.substr(key.size() + 1);
    }
    pos = end + 1;
  }
  return {};
}

inline poison_source parse_source(std::string_view s) noexcept {
  if (s == "External") return poison_source::external;
  if (s == "Internal") return poison_source::internal;
  if (s == "Injected") return poison_source::injected;
  if (s == "Vendor") return poison_source::vendor;
  if (s == "Unknown") return poison_source::unknown;
  return poison_source::reserved;
}

inline poison_status status_from_errno(int err) noexcept {
  switch (err) {
    case 0: return {};
    case ENOENT:
    case EOPNOTSUPP: return {poison_error::not_supported, err};
    case EACCES:
    case EPERM: return {poison_error::permission, err};
    case EINVAL:
    case ENXIO:
    case EIO:
    case EBUSY:
    case EFAULT: return {poison_error::rejected, err};
    default: return {poison_error::system_error, err};
  }
}

inline bool exists(const std::string& path) noexcept {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Writes `text` to the file at path in one write(2), as sysfs and debugfs want it.
inline int write_attribute(const std::string& path, std::string_view text) noexcept {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n;
  do n = ::write(fd, text.data(), text.size());
  while (n < 0 && errno == EINTR);
  const int err = n < 0 ? errno : (static_cast<std::size_t>(n) == text.size() ? 0 : EIO);
  ::close(fd);
  return err;
}

inline bool valid_name(std::string_view name) noexcept {
  return !name.empty() && name.find('/') == std::string_view::npos && name != "." && name != "..";
}

// The memdev exists, and dpa is aligned and inside its capacity (ram/size + pmem/size).
inline poison_status check_dpa(std::string_view memdev, std::uint64_t dpa, const kernel_paths& at) noexcept {
  if (!valid_name(memdev)) return {poison_error::invalid_argument, 0};
  if (dpa % 64 != 0) return {poison_error::bad_alignment, 0};
  const std::string dev = std::string(at.sysfs) + "/" + std::string(memdev);
  if (!exists(dev)) return {poison_error::no_device, ENOENT};
  std::uint64_t capacity = 0;
  for (const char* part : {"/ram/size", "/pmem/size"}) {
    std::string text;
    std::uint64_t size = 0;
    if (mcsafe::detail::read_text_file(dev + part, text) != std::errc{}) continue;  // a kernel without the part
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (!parse_hex(text, size)) return {poison_error::malformed, 0};
    capacity += size;
  }
  if (dpa >= capacity) return {poison_error::out_of_range, 0};
  return {};
}

// Writes the DPA to debugfs cxl/<memdev>/<file> (inject_poison or clear_poison).
inline poison_status debugfs_write(std::string_view memdev, std::uint64_t dpa, const char* file,
                                   const kernel_paths& at) noexcept {
  if (const poison_status s = check_dpa(memdev, dpa, at); !s) return s;
  const std::string dir = std::string(at.debugfs) + "/cxl";
  if (!exists(dir)) return {errno == EACCES ? poison_error::permission : poison_error::no_debugfs, errno};
  const std::string path = dir + "/" + std::string(memdev) + "/" + file;
  char text[24];
  const int n = std::snprintf(text, sizeof text, "0x%llx\n", static_cast<unsigned long long>(dpa));
  return status_from_errno(write_attribute(path, std::string_view(text, static_cast<std::size_t>(n))));
}

}  // namespace detail

// Parses the text of a tracefs `trace` file: every "cxl_poison:" event of memdev whose
// trace_type is List becomes a record (Inject and Clear events, other memdevs and other events
// are skipped; '#' lines are the header). A cxl_poison line without a valid dpa, dpa_length or
// hpa is `malformed` with its line number, and no records are returned.
inline poison_list parse_poison_trace(std::string_view text, std::string_view memdev) {
  poison_list out;
  std::size_t line = 0, pos = 0;
  while (pos < text.size()) {
    ++line;
    const std::string_view l = mcsafe::detail::next_line(text, pos);
    const std::size_t at = l.find(" cxl_poison: ");
    if (l.empty() || l[0] == '#' || at == std::string_view::npos) continue;
    const std::string_view ev = l.substr(at + 13);
    bool has = false;
    if (detail::field(ev, "memdev", has) != memdev) continue;
    if (detail::field(ev, "trace_type", has) != "List") continue;
    poison_record r;
    std::uint64_t hpa = 0;
    bool has_len = false, has_hpa = false;
    const bool ok = detail::parse_hex(detail::field(ev, "dpa", has), r.dpa) &&
                    detail::parse_hex(detail::field(ev, "dpa_length", has_len), r.length) &&
                    detail::parse_hex(detail::field(ev, "hpa", has_hpa), hpa) && r.length != 0 &&
                    r.dpa <= UINT64_MAX - r.length;
    if (!ok) {
      poison_list bad;
      bad.error = poison_error::malformed;
      bad.line = line;
      return bad;
    }
    r.source = detail::parse_source(detail::field(ev, "source", has));
    r.region = std::string(detail::field(ev, "region", has));
    if (!r.region.empty() && hpa != detail::no_hpa)
      r.hpa = hpa;
    else
      r.region.clear();
    out.dpa.insert({static_cast<std::size_t>(r.dpa), static_cast<std::size_t>(r.dpa + r.length)});
    out.records.push_back(std::move(r));
  }
  return out;
}

// Asks the kernel for memdev's poison list and collects it: writes 1 to <sysfs>/<memdev>/
// trigger_poison_list with the cxl:cxl_poison event enabled in a private tracefs instance
// (instances/mcsafe-<pid>-<n>, removed after; other tracing is left alone), and parses what
// the device listed. Records mapped in a region get region_offset from <sysfs>/<region>/
// resource. Needs root, tracefs and a kernel with the trigger (6.4 and later).
inline poison_list read_poison_list(std::string_view memdev, const kernel_paths& at = {}) {
  const auto fail = [](poison_error e, int err) {
    poison_list bad;
    bad.error = e;
    bad.sys_errno = err;
    return bad;
  };
  if (!detail::valid_name(memdev)) return fail(poison_error::invalid_argument, 0);
  const std::string dev = std::string(at.sysfs) + "/" + std::string(memdev);
  if (!detail::exists(dev)) return fail(poison_error::no_device, ENOENT);
  if (!detail::exists(dev + "/trigger_poison_list")) return fail(poison_error::not_supported, ENOENT);
  const std::string tracefs(at.tracefs);
  if (!detail::exists(tracefs + "/events/cxl/cxl_poison"))
    return fail(errno == EACCES ? poison_error::permission : poison_error::no_tracefs, errno);
  static std::atomic<unsigned> serial{0};
  const std::string inst = tracefs + "/instances/mcsafe-" + std::to_string(::getpid()) + "-" +
                           std::to_string(serial.fetch_add(1, std::memory_order_relaxed));
  if (::mkdir(inst.c_str(), 0700) != 0) {
    const poison_status s = detail::status_from_errno(errno);
    return fail(s.error, s.sys_errno);
  }
  poison_list out;
  int err = detail::write_attribute(inst + "/events/cxl/cxl_poison/enable", "1\n");
  if (err == 0) err = detail::write_attribute(dev + "/trigger_poison_list", "1\n");
  std::string text;
  if (err == 0) err = static_cast<int>(mcsafe::detail::read_text_file(inst + "/trace", text));
  ::rmdir(inst.c_str());
  if (err != 0) {
    const poison_status s = detail::status_from_errno(err);
    return fail(s.error, s.sys_errno);
  }
  out = parse_poison_trace(text, memdev);
  for (poison_record& r : out.records) {
    if (r.region.empty() || !detail::valid_name(r.region)) continue;
    std::string start_text;
    std::uint64_t start = 0;
    if (mcsafe::detail::read_text_file(std::string(at.sysfs) + "/" + r.region + "/resource", start_text) != std::errc{})
      continue;
    while (!start_text.empty() && start_text.back() == '\n') start_text.pop_back();
    if (detail::parse_hex(start_text, start) && r.hpa >= start) {
      r.region_offset = r.hpa - start;
      r.region_offset_known = true;
    }
  }
  return out;
}

// Injects poison at dpa through debugfs cxl/<memdev>/inject_poison (for tests: the device
// marks the line poisoned; whether a read then faults is the device's). Checked first: the
// memdev, alignment (64), and the DPA inside the device's capacity.
inline poison_status inject_poison(std::string_view memdev, std::uint64_t dpa, const kernel_paths& at = {}) noexcept {
  return detail::debugfs_write(memdev, dpa, "inject_poison", at);
}

// Clears the poison of the 64-byte line at dpa through debugfs cxl/<memdev>/clear_poison: the
// kernel sends Clear Poison with zeros as the data, so the line reads zeros afterwards.
inline poison_status clear_poison_debugfs(std::string_view memdev, std::uint64_t dpa, const kernel_paths& at = {}) noexcept {
  return detail::debugfs_write(memdev, dpa, "clear_poison", at);
}

// Clears the poison of the line at dpa (clear_poison_debugfs), then writes data64 over it
// through `line`, the caller's mapping of that DPA (64-byte aligned), with atomic_clear_write.
// Not atomic with the new data: between the two steps the line holds zeros, and a concurrent
// reader can see them; after the second step it sees the new line, whole where the store is
// MOVDIR64B (write.atomic), possibly in parts with the other methods. Keep readers off the
// line (or accept zeros) until it returns. Nothing is written when the clear fails.
inline rewrite_result clear_and_rewrite(std::string_view memdev, std::uint64_t dpa, void* line, const void* data64,
                                        clear_options options = {}, const kernel_paths& at = {}) noexcept {
  rewrite_result r;
  if (line == nullptr || data64 == nullptr) {
    r.clear = {poison_error::invalid_argument, 0};
    return r;
  }
  if (reinterpret_cast<std::uintptr_t>(line) % 64 != 0) {
    r.clear = {poison_error::bad_alignment, 0};
    return r;
  }
  r.clear = clear_poison_debugfs(memdev, dpa, at);
  if (r.clear.ok()) r.write = atomic_clear_write(line, data64, options);
  return r;
}

// Which of the paths above this kernel offers for memdev, and why not where it does not: one
// line each, for a bug report (as mcsafe::diagnose() is for the copy path). Reads sysfs,
// debugfs and tracefs, and asks the memdev's ioctl which commands it lists (io: the seam, as in
// clear_poison_options). Allocates; never from a signal handler.
inline std::string describe_paths(std::string_view memdev, const kernel_paths& at = {}, ioctl_fn io = nullptr) {
  const auto yes_no = [](bool b) { return b ? "yes" : "no"; };
  const std::string name(memdev), sys = std::string(at.sysfs) + "/" + name;
  std::string out =
      "CXL " + name + ": " + (detail::exists(sys) ? sys : "no " + sys + " (not a CXL memdev, or cxl_mem not loaded)") + "\n";
  out += "  poison list: " + sys + "/trigger_poison_list " + yes_no(detail::exists(sys + "/trigger_poison_list")) +
         " (Linux 6.4+), tracefs cxl:cxl_poison " +
         yes_no(detail::exists(std::string(at.tracefs) + "/events/cxl/cxl_poison")) +
         " (mount -t tracefs none /sys/kernel/tracing; root)\n";
  const std::string dbg = std::string(at.debugfs) + "/cxl";
  out += "  debugfs " + dbg + "/" + name + ": ";
  if (!detail::exists(dbg))
    out += std::string("no (") + (errno == EACCES ? "root only" : "debugfs not mounted, or no CXL driver") + ")\n";
  else
    out += std::string("inject_poison ") + yes_no(detail::exists(dbg + "/" + name + "/inject_poison")) + ", clear_poison " +
           yes_no(detail::exists(dbg + "/" + name + "/clear_poison")) + "\n";
  out += "  ioctl Clear Poison: ";
  const std::string node = std::string(at.dev) + "/" + name;
  const int fd = ::open(node.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return out + "cannot open " + node + ": " + std::strerror(errno) + "\n";
  detail::command_support support;
  const int err = detail::query(fd, io != nullptr ? io : &detail::native_ioctl, support);
  ::close(fd);
  if (err != 0)
    out += std::string("the command query failed: ") + std::strerror(err);
  else if (support.clear_poison_exclusive)
    out += "reserved_by_kernel (the kernel keeps it for itself)";
  else if (support.clear_poison)
    out += "offered by id (clear_poison)";
  else if (support.raw)
    out += "not by id; the raw command is listed (CONFIG_CXL_MEM_RAW_COMMANDS): clear_poison with allow_raw";
  else
    out += "deprecated (neither by id nor raw, as since Linux 6.4 without raw commands): use clear_and_rewrite";
  return out + "\n";
}

}  // namespace cxl
}  // namespace v1
}  // namespace mcsafe
#else
#define MCSAFE_HAS_CXL 0
#endif
