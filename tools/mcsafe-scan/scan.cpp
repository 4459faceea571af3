#include <algorithm>
#include <memory>

#include <mcsafe/badblocks.hpp>
#include <mcsafe/span.hpp>

#include "progress.hpp"
#include "stages.hpp"

namespace mcsafe_scan {

exit_code scan_target(const options& o, const target& t, report& r, bool show_progress) {
  const std::size_t window = t.window();
  progress p(show_progress, "scanned", t.size);
  mcsafe::poison_map bad;
  for (std::size_t at = 0; at < t.size; at += window) {
    const std::size_t end = t.size - at < window ? t.size : at + window;
    bool mapped = false;
    int map_errno = 0;
    std::unique_ptr<window_map> m;  // mapped at the window's first data segment, if it has one
    for_each_data_segment(t, at, end, [&](std::size_t b, std::size_t e) {
      if (!mapped) {
        mapped = true;
        m = std::make_unique<window_map>(t, at, end - at);
        if (m->base() == nullptr) map_errno = errno;
      }
      if (m->base() == nullptr) return;
      mcsafe::poison_map found;
      mcsafe::poison_span<const unsigned char>(m->base() + (b - at), e - b).scan(found);
      for (const mcsafe::byte_range& x : found) bad.insert({b + x.begin, b + x.end});
    });
    if (map_errno != 0) {
      errno = map_errno;
      return fail_errno(r, exit_io, std::string(o.file) + ": mmap at " + std::to_string(at));
    }
    p.update(end);
  }
  r.bad = std::move(bad);
  return exit_clean;
}

// Through FIEMAP for a file, as is for a pmem block device, shifted and clipped to the device
// for device DAX.
std::errc kernel_ranges(const target& t, mcsafe::poison_map& out) {
  const kernel_list& k = t.klist;
  const mcsafe::badblocks_list l = !k.region.empty()     ? mcsafe::read_region_badblocks(k.region)
                                   : k.partition.empty() ? mcsafe::read_block_badblocks(k.disk)
                                                         : mcsafe::read_partition_badblocks(k.disk, k.partition);
  if (!l.ok()) return l.error;
  if (t.kind == target_kind::regular_file) return mcsafe::file_bad_ranges(t.fd.get(), l.ranges, out);
  for (const mcsafe::sector_range& s : l.ranges) {
    const std::uint64_t b = s.first * mcsafe::sector_size, e = (s.first + s.count) * mcsafe::sector_size;
    const std::uint64_t lo = std::max(b, k.region_offset), hi = std::min(e, k.region_offset + t.size);
    if (lo < hi) out.insert({lo - k.region_offset, hi - k.region_offset});
  }
  return std::errc{};
}

void read_kernel_list(const target& t, report& r) {
  if (t.klist.source.empty()) return;
  kernel_report k{t.klist.source, t.klist.partition, t.klist.error};
  if (t.klist.error.empty()) {
    mcsafe::poison_map listed;
    if (const std::errc e = kernel_ranges(t, listed); e != std::errc{})
      k.listed = std::make_error_code(e).message();
    else
      k.listed = std::move(listed);
  }
  r.kernel = std::move(k);
}

}  // namespace mcsafe_scan
