// Shared by the fuzz targets that read mappings with cuts: a MAP_SHARED file truncated at a
// chosen page (every byte past it raises a real SIGBUS), a byte pattern to check copies
// against, and a reader of the fuzzer's input.
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace mcsafe_fuzz {

constexpr std::size_t k_pages = 8;

struct input {
  const std::uint8_t* p;
  std::size_t n;
  std::uint32_t take(std::uint32_t bytes = 2) {
    std::uint32_t v = 0;
    for (std::uint32_t i = 0; i < bytes && n > 0; ++i, ++p, --n) v = (v << 8) | *p;
    return v;
  }
};

inline std::uint8_t pattern(std::size_t i, std::uint8_t seed) {
  return static_cast<std::uint8_t>((i * 131 + seed) ^ (i >> 7));
}

inline void check(bool ok) {
  if (!ok) __builtin_trap();
}

// A file mapped with room for k_pages pages; cut(c) refills it and truncates it to c pages.
class cut_file {
 public:
  cut_file() {
    char path[] = "/tmp/mcsafe-fuzz-XXXXXX";
    fd_ = mkstemp(path);
    if (fd_ < 0) std::abort();
    unlink(path);
    size_ = k_pages * page();
    if (ftruncate(fd_, static_cast<off_t>(size_)) != 0) std::abort();
    void* m = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (m == MAP_FAILED) std::abort();
    map_ = static_cast<std::uint8_t*>(m);
  }
  static std::size_t page() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }
  // Returns the cut in bytes. Only the pages below the cut are filled: the rest fault.
  std::size_t cut(std::size_t pages, std::uint8_t seed) {
    if (ftruncate(fd_, 0) != 0 || ftruncate(fd_, static_cast<off_t>(pages * page())) != 0) std::abort();
    for (std::size_t i = 0; i < pages * page(); ++i) map_[i] = pattern(i, seed);
    return pages * page();
  }
  std::uint8_t* data() const { return map_; }
  std::size_t size() const { return size_; }

 private:
  int fd_ = -1;
  std::uint8_t* map_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace mcsafe_fuzz
