// Shared test fixtures: real faulting memory, made by the kernel.
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

// Whether this build runs under ThreadSanitizer (GCC defines the macro, Clang has the feature).
#if defined(__SANITIZE_THREAD__)
#define MCSAFE_TEST_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MCSAFE_TEST_UNDER_TSAN 1
#endif
#endif
#ifndef MCSAFE_TEST_UNDER_TSAN
#define MCSAFE_TEST_UNDER_TSAN 0
#endif

namespace mcsafe_test {

inline std::size_t page_size() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

// Bytes from p up to the next 64-byte line boundary (0 when p is on one).
inline std::size_t bytes_to_line(const void* p) { return (64 - reinterpret_cast<std::uintptr_t>(p) % 64) % 64; }

// A MAP_SHARED mapping of `total` bytes of a temporary file that is then truncated to `cut`
// (page-aligned): every access at or past data() + cut raises a real SIGBUS (BUS_ADRERR)
// with si_addr = the byte accessed. Bytes below the cut hold a known pattern.
class truncated_file {
 public:
  truncated_file(std::size_t total, std::size_t cut) : total_(total), cut_(cut) {
    char path[] = "/tmp/mcsafe-test-XXXXXX";
    fd_ = mkstemp(path);
    if (fd_ < 0) std::abort();
    unlink(path);
    if (ftruncate(fd_, static_cast<off_t>(total)) != 0) std::abort();
    void* m = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (m == MAP_FAILED) std::abort();
    map_ = static_cast<unsigned char*>(m);
    for (std::size_t i = 0; i < total; ++i) map_[i] = pattern(i);
    if (ftruncate(fd_, static_cast<off_t>(cut)) != 0) std::abort();
  }
  ~truncated_file() {
    munmap(map_, total_);
    close(fd_);
  }
  truncated_file(const truncated_file&) = delete;
  truncated_file& operator=(const truncated_file&) = delete;

  static unsigned char pattern(std::size_t i) { return static_cast<unsigned char>((i * 131 + 7) >> 1); }
  unsigned char* data() const { return map_; }
  unsigned char* cut() const { return map_ + cut_; }
  std::size_t cut_offset() const { return cut_; }
  int fd() const { return fd_; }

 private:
  std::size_t total_, cut_;
  int fd_ = -1;
  unsigned char* map_ = nullptr;
};

// Anonymous memory whose page at index `bad_page` is PROT_NONE: a real SIGSEGV (SEGV_ACCERR).
class guarded_pages {
 public:
  guarded_pages(std::size_t pages, std::size_t bad_page) : size_(pages * page_size()) {
    void* m = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    map_ = static_cast<unsigned char*>(m);
    for (std::size_t i = 0; i < size_; ++i) map_[i] = static_cast<unsigned char>(i * 7 + 1);
    bad_ = map_ + bad_page * page_size();
    if (mprotect(bad_, page_size(), PROT_NONE) != 0) std::abort();
  }
  ~guarded_pages() { munmap(map_, size_); }
  guarded_pages(const guarded_pages&) = delete;
  guarded_pages& operator=(const guarded_pages&) = delete;
  unsigned char* data() const { return map_; }
  unsigned char* bad() const { return bad_; }

 private:
  std::size_t size_;
  unsigned char* map_ = nullptr;
  unsigned char* bad_ = nullptr;
};

}  // namespace mcsafe_test
