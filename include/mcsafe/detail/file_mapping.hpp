// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/file_mapping.hpp - the lifetime part of mapped_file (mapped_file.hpp): an open
// file and its MAP_SHARED mapping from offset 0, opened, grown, shrunk and closed, every error
// leaving both at their old size. It knows nothing of faults or poison.
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "../badblocks.hpp"
#include "../file.hpp"
#include "config.hpp"

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// How many bytes of the open file `fd` can be mapped: a regular file's size, a block device's
// (BLKGETSIZE64), a device DAX's (its sysfs size). Anything else cannot be mapped as a file:
// a FIFO, a socket, a terminal or another character device (no_such_device, what mmap says
// of them; /dev/zero would map as a 0-byte file), a directory (is_a_directory).
inline std::errc mappable_size(int fd, std::uint64_t& size) noexcept {
  struct stat st {};
  if (fstat(fd, &st) != 0) return static_cast<std::errc>(errno);
  if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) return file_length(fd, size);
  if (S_ISDIR(st.st_mode)) return std::errc::is_a_directory;
  if (!S_ISCHR(st.st_mode)) return std::errc::no_such_device;
  const std::string dir = "/sys/dev/char/" + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  char link[512] = {};
  const ssize_t n = readlink(dir.c_str(), link, sizeof link - 1);
  const std::string_view name = n > 0 ? std::string_view(link, static_cast<std::size_t>(n)) : std::string_view();
  if (name.substr(name.rfind('/') + 1).rfind("dax", 0) != 0) return std::errc::no_such_device;
  return read_u64_attribute(dir + "/size", size);
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe

// Not hidden like the rest of detail: mapped_file, a public type, holds one (and it holds no
// state of its own object, unlike the handler and the copy state).
namespace mcsafe {
inline namespace v1 {
namespace detail {

class file_mapping {
 public:
  file_mapping() noexcept = default;
  ~file_mapping() { close(); }
  file_mapping(file_mapping&& o) noexcept { swap(o); }
  file_mapping& operator=(file_mapping&& o) noexcept {
    if (this != &o) {
      close();
      swap(o);
    }
    return *this;
  }
  file_mapping(const file_mapping&) = delete;
  file_mapping& operator=(const file_mapping&) = delete;

  // mapped_file::open: without blocking on what cannot be mapped (a FIFO would wait for a
  // writer), then blocking again for the pread/pwrite/fallocate that follow.
  std::errc open(const char* path, bool writable, bool create, mode_t permissions) noexcept {
    close();
    if (path == nullptr) return std::errc::invalid_argument;
    int flags = writable ? O_RDWR : O_RDONLY;
    if (create && writable) flags |= O_CREAT;
    int fd;
    do {
      fd = ::open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, permissions);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return static_cast<std::errc>(errno);
    const int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
      const int e = errno;
      ::close(fd);
      return static_cast<std::errc>(e);
    }
    return adopt(fd, writable);
  }

  // mapped_file::adopt: fd is ours from here on, closed even on failure.
  std::errc adopt(int fd, bool writable) noexcept {
    close();
    if (fd < 0) return std::errc::bad_file_descriptor;
    fd_ = fd;
    writable_ = writable;
    std::uint64_t size = 0;
    if (const std::errc e = mappable_size(fd_, size); e != std::errc{}) return fail(e);
    if (const std::errc e = remap(size); e != std::errc{}) return fail(e);
    return {};
  }

  void close() noexcept {
    if (base_ != nullptr) munmap(base_, size_);
    if (fd_ >= 0) ::close(fd_);
    base_ = nullptr;
    size_ = 0;
    fd_ = -1;
  }

  // mapped_file::reserve.
  std::errc reserve(std::uint64_t offset, std::uint64_t length) noexcept {
    if (!is_open() || !writable_) return std::errc::bad_file_descriptor;
    if (length == 0) return {};
    if (offset > static_cast<std::uint64_t>(PTRDIFF_MAX) || length > static_cast<std::uint64_t>(PTRDIFF_MAX) - offset)
      return std::errc::file_too_large;
    const std::uint64_t old = size_;
    int e;
    do {
      e = posix_fallocate(fd_, static_cast<off_t>(offset), static_cast<off_t>(length));
    } while (e == EINTR);
    if (e != 0) return static_cast<std::errc>(e);
    if (offset + length <= old) return {};
    const std::errc m = remap(offset + length);
    if (m != std::errc{}) (void)set_length(fd_, old);
    return m;
  }

  // mapped_file::resize.
  std::errc resize(std::uint64_t length) noexcept {
    if (!is_open() || !writable_) return std::errc::bad_file_descriptor;
    if (length > static_cast<std::uint64_t>(PTRDIFF_MAX)) return std::errc::file_too_large;
    const std::uint64_t old = size_;
    if (length < old)
      if (const std::errc e = remap(length); e != std::errc{}) return e;
    if (const std::errc e = set_length(fd_, length); e != std::errc{}) {
      (void)remap(old);
      return e;
    }
    if (length <= old) return {};
    const std::errc m = remap(length);
    if (m != std::errc{}) (void)set_length(fd_, old);
    return m;
  }

  bool is_open() const noexcept { return fd_ >= 0; }
  bool writable() const noexcept { return writable_; }
  int fd() const noexcept { return fd_; }
  std::byte* base() const noexcept { return base_; }
  std::size_t size() const noexcept { return size_; }
  bool inside(std::uint64_t offset, std::size_t n) const noexcept { return offset <= size_ && n <= size_ - offset; }

 private:
  void swap(file_mapping& o) noexcept {
    std::swap(fd_, o.fd_);
    std::swap(writable_, o.writable_);
    std::swap(base_, o.base_);
    std::swap(size_, o.size_);
  }
  std::errc fail(std::errc e) noexcept {
    close();
    return e;
  }

  // Maps [0, length) of the file, moving or replacing the current mapping.
  std::errc remap(std::uint64_t length) noexcept {
    if (length > static_cast<std::uint64_t>(PTRDIFF_MAX)) return std::errc::file_too_large;
    const auto n = static_cast<std::size_t>(length);
    if (n == size_) return {};
    void* m;
    if (n == 0) {
      munmap(base_, size_);
      m = nullptr;
    } else if (base_ == nullptr) {
      m = mmap(nullptr, n, writable_ ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd_, 0);
    } else {
      m = mremap(base_, size_, n, MREMAP_MAYMOVE);
    }
    if (m == MAP_FAILED) return static_cast<std::errc>(errno);
    base_ = static_cast<std::byte*>(m);
    size_ = n;
    return {};
  }

  int fd_ = -1;
  bool writable_ = false;
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
