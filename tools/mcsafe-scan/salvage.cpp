// Salvage: every readable byte of FILE into OUT, a chunk at a time, OUT kept sparse.
#include <fcntl.h>

#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include <mcsafe/copy.hpp>
#include <mcsafe/file.hpp>

#include "progress.hpp"
#include "stages.hpp"

namespace mcsafe_scan {
namespace {

// pwrite of all n bytes, through short writes and EINTR; false with errno set on failure, and
// `offset` where the write failed.
bool write_all(int fd, const std::byte* p, std::size_t n, std::size_t& offset) {
  while (n > 0) {
    const ssize_t w = pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    if (w == 0) {
      errno = EIO;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::size_t>(w);
  }
  return true;
}

bool all_zero(const std::byte* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != std::byte{0}) return false;
  return true;
}

// Writes buf[a, b) to out at base + a, skipping whole zero pages, so the copy stays sparse
// where the data is zeros (the size is set at the end with ftruncate). On failure, errno and
// `failed_at` (an offset in out) say what and where.
bool write_sparse(int out, const std::byte* buf, std::size_t a, std::size_t b, std::size_t base, std::size_t& failed_at) {
  while (a < b) {
    std::size_t run = a;
    while (run < b && all_zero(buf + run, b - run < k_page ? b - run : k_page)) run += k_page;
    if (run >= b) return true;
    std::size_t stop = run;
    while (stop < b && !all_zero(buf + stop, b - stop < k_page ? b - stop : k_page)) stop += k_page;
    if (stop > b) stop = b;
    failed_at = base + run;
    if (!write_all(out, buf + run, stop - run, failed_at)) return false;
    a = stop;
  }
  return true;
}

// Fills buf with [off, off + n) of a device-DAX target through its mapping; every granule that
// faults is zeroed and added to `holes` (target offsets).
void read_through_mapping(std::size_t off, std::byte* buf, std::size_t n, mcsafe::poison_map& holes,
                          const unsigned char* window, std::size_t window_at) {
  const unsigned char* src = window + (off - window_at);
  std::size_t pos = 0;
  while (pos < n) {
    const mcsafe::copy_result c = mcsafe::mc_safe_copy(buf + pos, src + pos, n - pos);
    if (c.ok()) return;
    pos += c.copied;
    std::size_t stop = c.fault.extent_end(off + pos, k_page) - off;
    if (stop > n) stop = n;
    std::memset(buf + pos, 0, stop - pos);
    holes.insert({off + pos, off + stop});
    pos = stop;
  }
}

// Reads [c, c + n) of FILE into buf, through the window's mapping for device DAX (which has no
// read()), else with mcsafe::salvage; `holes` gets what could not be read, in FILE's offsets.
exit_code read_chunk(const options& o, const target& t, report& r, const window_map* m, std::size_t at, std::size_t c,
                     std::span<std::byte> buf, mcsafe::poison_map& holes) {
  if (m != nullptr) {
    read_through_mapping(c, buf.data(), buf.size(), holes, m->base(), at);
    return exit_clean;
  }
  const mcsafe::salvage_result s = mcsafe::salvage(t.fd.get(), static_cast<off_t>(c), buf);
  if (s.error != std::errc{})
    return fail(r, exit_io,
                std::string(o.file) + ": read at " + std::to_string(c) + ": " + std::make_error_code(s.error).message());
  if (s.short_file)
    return fail(r, exit_shrank,
                std::string(o.file) + ": the file shrank during the salvage, at " + std::to_string(c + s.end) +
                    " bytes; scan it again");
  for (const mcsafe::byte_range& h : s.holes) holes.insert({c + h.begin, c + h.end});
  return exit_clean;
}

// Opened without O_TRUNC and checked first: OUT must not be FILE itself, nor a FIFO.
exit_code open_output(const options& o, const target& t, report& r, unique_fd& out) {
  out.reset(open(o.salvage_to, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644));
  if (!out.valid()) return output_open_error(r, o.salvage_to);
  struct stat os {
  }, is{};
  if (fstat(out.get(), &os) != 0 || fstat(t.fd.get(), &is) != 0)
    return fail_errno(r, exit_io, std::string(o.salvage_to) + ": fstat");
  if (!S_ISREG(os.st_mode))
    return fail(r, exit_usage, std::string(o.salvage_to) + ": the salvage output must be a regular file");
  if (same_file(os, is)) return fail(r, exit_usage, std::string(o.salvage_to) + ": the salvage output is FILE itself");
  if (ftruncate(out.get(), 0) != 0) return fail_errno(r, exit_io, std::string(o.salvage_to) + ": ftruncate");
  return exit_clean;
}

}  // namespace

exit_code salvage_target(const options& o, const target& t, report& r, bool show_progress) {
  unique_fd out;
  if (const exit_code e = open_output(o, t, r, out); e != exit_clean) return e;
  salvage_report done;
  std::vector<std::byte> buf(k_chunk);
  progress p(show_progress, "salvaged", t.size);
  const std::size_t window = t.window();
  for (std::size_t at = 0; at < t.size; at += window) {
    const std::size_t end = t.size - at < window ? t.size : at + window;
    std::unique_ptr<window_map> m;
    if (t.kind == target_kind::device_dax) {  // no read(): through the mapping
      m = std::make_unique<window_map>(t, at, end - at);
      if (m->base() == nullptr) return fail_errno(r, exit_io, std::string(o.file) + ": mmap at " + std::to_string(at));
    }
    exit_code code = exit_clean;
    for_each_data_segment(t, at, end, [&](std::size_t b, std::size_t e) {
      for (std::size_t c = b; c < e && code == exit_clean; c += k_chunk) {
        const std::size_t n = e - c < k_chunk ? e - c : k_chunk;
        mcsafe::poison_map holes;  // target offsets
        code = read_chunk(o, t, r, m.get(), at, c, std::span(buf.data(), n), holes);
        // Write what was read, between the holes.
        std::size_t from = 0, failed_at = 0;
        auto flush = [&](std::size_t to) {
          if (code == exit_clean && !write_sparse(out.get(), buf.data(), from, to, c, failed_at))
            code = fail_errno(r, exit_io, std::string(o.salvage_to) + ": write at " + std::to_string(failed_at));
        };
        for (const mcsafe::byte_range& h : holes) {
          flush(h.begin - c);
          from = h.end - c;
          done.holes.insert(h);
        }
        flush(n);
        done.read_bytes += n - holes.bytes();
      }
    });
    if (code != exit_clean) return code;
    p.update(end);
  }
  if (ftruncate(out.get(), static_cast<off_t>(t.size)) != 0)
    return fail_errno(r, exit_io, std::string(o.salvage_to) + ": ftruncate");
  if (fsync(out.get()) != 0) return fail_errno(r, exit_io, std::string(o.salvage_to) + ": fsync");
  if (out.close() != 0) return fail_errno(r, exit_io, std::string(o.salvage_to) + ": close");
  r.salvage = std::move(done);
  return exit_clean;
}

}  // namespace mcsafe_scan
