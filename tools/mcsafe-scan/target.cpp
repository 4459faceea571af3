#include "target.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <system_error>

namespace mcsafe_scan {
namespace {

const char* file_type_name(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m)) return "a character device that is not device DAX";
  if (S_ISBLK(m)) return "a block device that is not pmem";
  return "not a regular file";
}

// A path that names no file (a missing one, a component that is not a directory, a name too
// long, a symbolic link loop): a usage error, never the I/O-error exit that means failing media.
bool path_error(int e) { return e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG || e == ELOOP; }

exit_code open_error(report& r, const char* path) {
  const int e = errno;
  if (e == ENOENT) return fail(r, exit_usage, std::string(path) + ": no such file");
  if (path_error(e)) return fail_errno(r, exit_usage, path);
  if (e == EACCES || e == EPERM) return fail(r, exit_permission, std::string(path) + ": permission denied");
  if (e == EISDIR) return fail(r, exit_unsupported, std::string(path) + ": is a directory");
  errno = e;
  return fail_errno(r, exit_io, path);
}

// Classifies the opened FILE and sizes it.
exit_code classify(const options& o, target& t, report& r) {
  struct stat st {};
  if (fstat(t.fd.get(), &st) != 0) return fail_errno(r, exit_io, std::string(o.file) + ": fstat");
  if (S_ISREG(st.st_mode)) {
    t.kind = target_kind::regular_file;
    t.size = static_cast<std::size_t>(st.st_size);
    t.klist = pmem_list(st.st_dev);
  } else if (S_ISBLK(st.st_mode) && is_pmem(st.st_rdev)) {
    t.kind = target_kind::block_pmem;
    std::uint64_t bytes = 0;
    if (ioctl(t.fd.get(), BLKGETSIZE64, &bytes) != 0) return fail_errno(r, exit_io, std::string(o.file) + ": BLKGETSIZE64");
    t.size = static_cast<std::size_t>(bytes);
    t.klist = pmem_list(st.st_rdev);
  } else if (std::string dir; S_ISCHR(st.st_mode) && sysfs_name("char", st.st_rdev, dir).rfind("dax", 0) == 0) {
    t.kind = target_kind::device_dax;
    std::uint64_t bytes = 0, align = 0;
    if (const std::errc e = read_decimal_attribute(dir + "/size", bytes); e != std::errc{})
      return fail(r, exit_io, dir + "/size: " + std::make_error_code(e).message());
    // Older kernels have no align attribute: 2 MiB is the device-DAX default.
    if (read_decimal_attribute(dir + "/align", align) != std::errc{} || align == 0) align = 2u << 20;
    t.size = static_cast<std::size_t>(bytes);
    t.map_granule = static_cast<std::size_t>(align);
    t.klist = region_list(dir);
  } else {
    return fail(r, exit_unsupported,
                std::string(o.file) + ": " + file_type_name(st.st_mode) +
                    "; mcsafe-scan reads regular files, pmem block devices and device DAX");
  }
  return exit_clean;
}

}  // namespace

exit_code output_open_error(report& r, const char* path) {
  const int e = errno;
  // ENXIO is a FIFO without a reader (O_NONBLOCK) or a device.
  if (e == ENXIO) return fail(r, exit_usage, std::string(path) + ": not a regular file (a FIFO or a device)");
  if (e == EACCES || e == EPERM) return fail(r, exit_permission, std::string(path) + ": permission denied");
  errno = e;
  return fail_errno(r, path_error(e) || e == EISDIR ? exit_usage : exit_io, path);
}

// O_NONBLOCK: a FIFO or a terminal must be refused, not waited on.
exit_code open_target(const options& o, target& t, report& r) {
  const bool write = o.repair_from != nullptr && !o.dry_run;
  t.fd.reset(open(o.file, (write ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!t.fd.valid()) return open_error(r, o.file);
  if (const exit_code e = classify(o, t, r); e != exit_clean) return e;
  if (write && t.kind == target_kind::device_dax)
    return fail(r, exit_usage,
                std::string(o.file) +
                    ": --repair-from cannot write device DAX (it has no write(); "
                    "clear its poison with ndctl clear-errors)");
  // Writing a block device: exclusively, so a mounted one is refused (EBUSY), not corrupted.
  if (write && t.kind == target_kind::block_pmem) {
    unique_fd excl(open(o.file, O_RDWR | O_EXCL | O_CLOEXEC));
    if (!excl.valid())
      return fail_errno(r, errno == EBUSY ? exit_usage : exit_io, std::string(o.file) + ": open for the repair");
    t.fd = std::move(excl);
  }
  // Back to blocking I/O for the reads and writes that follow.
  const int fl = fcntl(t.fd.get(), F_GETFL);
  if (fl < 0 || fcntl(t.fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0)
    return fail_errno(r, exit_io, std::string(o.file) + ": fcntl");
  r.target = opened_target{t.kind, t.size};
  return exit_clean;
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// Whatever names reach them (hard or symbolic links). A salvage into GOOD would replace the good
// copy with FILE's readable bytes (zeros for its bad pages), and the repair would then write
// those zeros over the bad pages and call the file clean. GOOD must exist; OUT may not exist
// yet. salvage_target and repair_target check again on the opened descriptors.
exit_code check_distinct(const options& o, const target& t, report& r) {
  struct stat fs {
  }, os{}, gs{};
  if (fstat(t.fd.get(), &fs) != 0) return fail_errno(r, exit_io, std::string(o.file) + ": fstat");
  const bool out = o.salvage_to != nullptr && stat(o.salvage_to, &os) == 0;
  const bool good = o.repair_from != nullptr && stat(o.repair_from, &gs) == 0;
  if (o.repair_from != nullptr && !good) return output_open_error(r, o.repair_from);  // before a long scan
  if (out && same_file(os, fs))
    return fail(r, exit_usage, std::string(o.salvage_to) + ": the salvage output is FILE itself");
  if (good && same_file(gs, fs)) return fail(r, exit_usage, std::string(o.repair_from) + ": the good copy is FILE itself");
  if (out && good && same_file(os, gs))
    return fail(r, exit_usage,
                std::string(o.salvage_to) + ": the salvage output is the good copy (" + o.repair_from +
                    "); salvaging would overwrite it; nothing written");
  return exit_clean;
}

}  // namespace mcsafe_scan
