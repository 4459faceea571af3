// Repair: the pages holding the known-bad ranges (scan, kernel list, salvage) rewritten from
// the same offsets of GOOD with mcsafe::repair: whole pages (the fsdax kernel path clears poison
// only for whole pages), FILE's size never changed (a partial last page is padded and the size
// restored only while the padding set it; if FILE grew meanwhile, the page's rest is FILE's own
// new bytes). GOOD must cover every byte it supplies: checked for all ranges before anything is
// written.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <iterator>
#include <span>
#include <vector>

#include <mcsafe/file.hpp>
#include <mcsafe/span.hpp>

#include "stages.hpp"

namespace mcsafe_scan {
namespace {

// Reads [off, off + n) of GOOD fully into buf; false with errno set (0 at end of file).
bool read_all(int fd, std::byte* buf, std::size_t n, std::size_t off) {
  while (n > 0) {
    const ssize_t got = pread(fd, buf, n, static_cast<off_t>(off));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (got == 0) errno = 0;
      return false;
    }
    buf += got;
    n -= static_cast<std::size_t>(got);
    off += static_cast<std::size_t>(got);
  }
  return true;
}

// Opens GOOD and checks it is a regular file or a block device, not FILE; its size.
exit_code open_good(const options& o, const target& t, report& r, unique_fd& good, std::uint64_t& good_size) {
  good.reset(open(o.repair_from, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!good.valid()) return output_open_error(r, o.repair_from);
  struct stat gs {
  }, ts{};
  if (fstat(good.get(), &gs) != 0 || fstat(t.fd.get(), &ts) != 0)
    return fail_errno(r, exit_io, std::string(o.repair_from) + ": fstat");
  if (!S_ISREG(gs.st_mode) && !S_ISBLK(gs.st_mode))
    return fail(r, exit_usage, std::string(o.repair_from) + ": the good copy must be a regular file or a block device");
  if (same_file(gs, ts)) return fail(r, exit_usage, std::string(o.repair_from) + ": the good copy is FILE itself");
  good_size = static_cast<std::uint64_t>(gs.st_size);
  if (S_ISBLK(gs.st_mode) && ioctl(good.get(), BLKGETSIZE64, &good_size) != 0)
    return fail_errno(r, exit_io, std::string(o.repair_from) + ": BLKGETSIZE64");
  return exit_clean;
}

// What is still bad after the rewrite: the rewritten pages scanned again, and what the kernel
// still lists.
exit_code rescan(const options& o, const target& t, report& r, const mcsafe::poison_map& pages, mcsafe::poison_map& after) {
  for (const mcsafe::byte_range& pr : pages) {
    const std::size_t end = std::min(pr.end, t.size);
    const std::size_t at = round_down(pr.begin, t.map_granule);
    const window_map m(t, at, end - at);
    if (m.base() == nullptr) return fail_errno(r, exit_io, std::string(o.file) + ": mmap at " + std::to_string(at));
    mcsafe::poison_map found;
    mcsafe::poison_span<const unsigned char>(m.base() + (pr.begin - at), end - pr.begin).scan(found);
    for (const mcsafe::byte_range& x : found) after.insert({pr.begin + x.begin, pr.begin + x.end});
  }
  mcsafe::poison_map listed;
  if (!t.klist.source.empty() && t.klist.error.empty() && kernel_ranges(t, listed) == std::errc{})
    for (const mcsafe::byte_range& x : listed)
      if (x.begin < t.size) after.insert({x.begin, std::min(x.end, t.size)});
  return exit_clean;
}

}  // namespace

exit_code repair_target(const options& o, const target& t, report& r) {
  unique_fd good;
  std::uint64_t good_size = 0;
  if (const exit_code e = open_good(o, t, r, good, good_size); e != exit_clean) return e;
  mcsafe::poison_map pages = known_bad(r);
  pages.round_to(k_page);
  r.repair = repair_report{pages, std::nullopt};
  const std::size_t need = pages.empty() ? 0 : std::min(std::prev(pages.end())->end, t.size);
  if (good_size < need)
    return fail(r, exit_usage,
                std::string(o.repair_from) + ": the good copy has " + std::to_string(good_size) +
                    " bytes, the bad pages need it up to byte " + std::to_string(need) + "; nothing written");
  repair_outcome done;
  std::vector<std::byte> buf(k_chunk);
  for (const mcsafe::byte_range& pr : pages) {
    for (std::size_t a = pr.begin; a < pr.end; a += k_chunk) {
      const std::size_t n = pr.end - a < k_chunk ? pr.end - a : k_chunk;   // whole pages
      const std::size_t data = a >= t.size ? 0 : std::min(n, t.size - a);  // bytes GOOD supplies
      if (!read_all(good.get(), buf.data(), data, a)) {
        if (errno == 0)
          return fail(r, exit_usage,
                      std::string(o.repair_from) + ": ended at " + std::to_string(a) + "; nothing more written");
        return fail_errno(r, exit_io, std::string(o.repair_from) + ": read at " + std::to_string(a));
      }
      if (o.dry_run) continue;
      const mcsafe::repair_result rr = mcsafe::repair(t.fd.get(), static_cast<off_t>(a), std::span(buf.data(), data));
      if (rr.error == std::errc::invalid_argument && rr.written == 0 && rr.refused.empty())
        return fail(r, exit_shrank,
                    std::string(o.file) + ": the file shrank during the repair, below " + std::to_string(a + data) +
                        " bytes; nothing more written; scan it again");
      if (rr.error != std::errc{} && rr.written == 0 && rr.refused.empty())  // not even tried (fstat failed)
        return fail(r, exit_io,
                    std::string(o.file) + ": repair at " + std::to_string(a) + ": " +
                        std::make_error_code(rr.error).message());
      done.rewritten += n - rr.refused.bytes();  // whole pages, as the kernel took them
      for (const mcsafe::byte_range& x : rr.refused) done.refused.insert({a + x.begin, a + x.end});
    }
  }
  if (o.dry_run) return exit_clean;
  if (fsync(t.fd.get()) != 0) return fail_errno(r, exit_io, std::string(o.file) + ": fsync after the repair");
  // A block device's page cache now holds the new data: drop it so the rescan reads the media.
  if (t.kind == target_kind::block_pmem) (void)posix_fadvise(t.fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  if (const exit_code e = rescan(o, t, r, pages, done.after); e != exit_clean) return e;
  r.repair->done = std::move(done);
  return exit_clean;
}

}  // namespace mcsafe_scan
