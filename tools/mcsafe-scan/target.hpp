// The target: FILE opened without blocking, classified, sized; walked in data segments and in
// mapped windows.
#pragma once

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "report.hpp"
#include "sysfs.hpp"
#include "unique_fd.hpp"

namespace mcsafe_scan {

constexpr std::size_t k_window = 64u << 20;  // mapped at a time (RSS bound of the scan)
constexpr std::size_t k_chunk = 8u << 20;    // salvage and repair buffer
inline const std::size_t k_page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

constexpr std::size_t round_down(std::size_t n, std::size_t granule) { return n / granule * granule; }
constexpr std::size_t round_up(std::size_t n, std::size_t granule) { return round_down(n + granule - 1, granule); }

struct target {
  unique_fd fd;
  target_kind kind = target_kind::regular_file;
  std::size_t size = 0;
  std::size_t map_granule = k_page;  // device DAX maps only in multiples of its alignment
  kernel_list klist;
  // What one window of the scan and the salvage covers: k_window rounded up to the granule.
  std::size_t window() const { return round_up(k_window, map_granule); }
};

// Opens and classifies FILE, opened for writing when it is to be repaired.
exit_code open_target(const options& o, target& t, report& r);
// OUT and GOOD are never FILE, nor each other: checked before anything is read or written.
exit_code check_distinct(const options& o, const target& t, report& r);
// OUT or GOOD could not be opened (errno says why).
exit_code output_open_error(report& r, const char* path);
bool same_file(const struct stat& a, const struct stat& b);

// Calls fn(begin, end) for each data segment of [at, end) in order: for a regular file the
// ranges SEEK_DATA/SEEK_HOLE report (a hole has no media to be bad), else the whole range.
template <class Fn>
void for_each_data_segment(const target& t, std::size_t at, std::size_t end, Fn&& fn) {
  while (at < end) {
    std::size_t b = at, e = end;
    if (t.kind == target_kind::regular_file) {
      const off_t d = lseek(t.fd.get(), static_cast<off_t>(at), SEEK_DATA);
      if (d < 0 && errno == ENXIO) return;  // nothing but hole (or EOF) from here
      if (d >= 0) {
        b = static_cast<std::size_t>(d);
        const off_t h = lseek(t.fd.get(), d, SEEK_HOLE);
        if (h > d && static_cast<std::size_t>(h) < end) e = static_cast<std::size_t>(h);
      }  // else: no SEEK_DATA here; treat everything as data
    }
    if (b >= end) return;
    fn(b, e);
    at = e;
  }
}

// One window of the target mapped read-only, [at, at + len) with len rounded up to the
// mapping granule (device DAX refuses other lengths). base() is null when mmap failed (errno).
class window_map {
 public:
  window_map(const target& t, std::size_t at, std::size_t len) : len_(round_up(len, t.map_granule)) {
    void* m = mmap(nullptr, len_, PROT_READ, MAP_SHARED, t.fd.get(), static_cast<off_t>(at));
    base_ = m == MAP_FAILED ? nullptr : static_cast<const unsigned char*>(m);
  }
  ~window_map() {
    if (base_ != nullptr) munmap(const_cast<unsigned char*>(base_), len_);
  }
  window_map(const window_map&) = delete;
  window_map& operator=(const window_map&) = delete;
  const unsigned char* base() const { return base_; }

 private:
  std::size_t len_;
  const unsigned char* base_;
};

}  // namespace mcsafe_scan
