// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/cxl.hpp - the device path of a clear-and-write: a CXL memory device's Clear Poison
// mailbox command, sent through the Linux kernel's CXL memory-device ioctl.
//
// Clear Poison (CXL 2.0 "Media and Poison Management" command set, opcode 4302h) takes a device physical address (DPA, 64-byte
// aligned) and 64 bytes of data; the device writes the data there and clears the poison
// in one operation, the device-side equivalent of MOVDIR64B over a poisoned line
// (clear.hpp). The DPA is the device's address, not a virtual or host physical one: get it
// from the device's poison list or the kernel's cxl_poison trace events.
//
// How it is sent: CXL_MEM_QUERY_COMMANDS first, to learn whether this kernel offers the
// command to user space and whether it keeps it for itself (CXL_MEM_COMMAND_FLAG_EXCLUSIVE),
// then CXL_MEM_SEND_COMMAND with command id CLEAR_POISON and a 72-byte payload (8-byte
// little-endian DPA, then the data). Kernels that no longer offer the command by id (newer
// UAPI headers mark it deprecated; the kernel then manages poison itself, e.g. through
// debugfs .../cxl/memN/clear_poison) can be asked for the raw mailbox command instead with
// clear_poison_options::allow_raw: CXL_MEM_COMMAND_ID_RAW with opcode 0x4302, which the
// kernel accepts only when built with CONFIG_CXL_MEM_RAW_COMMANDS (and it taints/warns
// once when used). Every refusal comes back as a clear_poison_error, never as a crash.
//
// NOT RUN ON REAL CXL HARDWARE. What is tested (tests/test_cxl.cpp): the request layout against
// the kernel header's structures, and every error path, through the ioctl seam
// (clear_poison_options::ioctl); the real ioctl only against files that are not CXL devices.
// The device's own behaviour (what it returns for a DPA outside its media, whether it clears
// poison it did not report) is the device's and the kernel's.
//
// Compiled only where <linux/cxl_mem.h> exists (MCSAFE_HAS_CXL is then 1). Not included by
// mcsafe.hpp: it is an administrative path (the memdev is usually root-only).
#pragma once
#if defined(__linux__) && __has_include(<linux/cxl_mem.h>)
#define MCSAFE_HAS_CXL 1
#include <fcntl.h>
#include <linux/cxl_mem.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "detail/config.hpp"

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
    case clear_poison_error::reserved_by_kernel: return "reserved_by_kernel";
    case clear_poison_error::permission: return "permission";
    case clear_poison_error::device_error: return "device_error";
    case clear_poison_error::system_error: return "system_error";
  }
  return "unknown";
}

struct clear_poison_result {
  clear_poison_error error = clear_poison_error::none;
  int sys_errno = 0;               // errno of the open() or ioctl() that failed
  std::uint32_t device_status = 0; // the mailbox return code (0002h invalid input, 0003h
                                   // unsupported, 000Fh invalid physical address, ...)
  bool raw = false;                // sent as CXL_MEM_COMMAND_ID_RAW, opcode 0x4302
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
  alignas(cxl_mem_query_commands) unsigned char buf[sizeof(cxl_mem_query_commands) +
                                                   query_capacity * sizeof(cxl_command_info)] = {};
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
    r = detail::failed(clear_poison_error::not_supported);
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

}  // namespace cxl
}  // namespace v1
}  // namespace mcsafe
#else
#define MCSAFE_HAS_CXL 0
#endif
