// mcsafe-scan: find the unreadable ranges of a file (or of a pmem block device or a device-DAX
// character device) through windowed mappings, cross-check the kernel's badblocks list on pmem,
// salvage what can be read into a sparse copy, repair bad pages from a good copy.
//
// Bounded memory at any size: the target is mapped one window at a time, salvage and repair
// move data through fixed-size buffers. Exit codes and the JSON schema: docs/mcsafe-scan.md.
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <mcsafe/badblocks.hpp>
#include <mcsafe/file.hpp>
#include <mcsafe/mcsafe.hpp>

#define SCAN_STR2(x) #x
#define SCAN_STR(x) SCAN_STR2(x)

namespace {

constexpr const char* kVersion =
    SCAN_STR(MCSAFE_VERSION_MAJOR) "." SCAN_STR(MCSAFE_VERSION_MINOR) "." SCAN_STR(MCSAFE_VERSION_PATCH);

// The exit codes, in the order of the README's table.
enum exit_code : int {
  exit_clean = 0,        // no bad range (after repair, when repairing)
  exit_bad = 1,          // bad ranges known (scan, kernel list, salvage), left after repair, or a dry run
  exit_usage = 2,        // usage error, missing file, unusable GOOD or OUT
  exit_unsupported = 3,  // not a regular file, pmem block device or device DAX
  exit_permission = 4,   // permission denied
  exit_shrank = 5,       // the file shrank during the scan, the salvage or the repair
  exit_io = 6,           // another I/O error reading or writing FILE, OUT or GOOD
  exit_report = 7,       // the report could not be written to stdout
};
const char* status_name(int code) {
  static const char* const names[] = {"clean",       "bad_ranges",  "usage_error",   "unsupported_target",
                                      "permission_denied", "file_shrank", "io_error", "report_failed"};
  return code >= 0 && code <= exit_report ? names[code] : "unknown";
}

constexpr const char* kUsage =
    "usage: mcsafe-scan [OPTION]... [--] FILE\n"
    "       mcsafe-scan --demo | --help | --version\n"
    "Maps FILE one window at a time, reads all of it through mcsafe's fault-safe copies, and\n"
    "prints the byte ranges that could not be read (hardware poison, DAX bad blocks, pages past\n"
    "the end of a file that shrank). FILE is a regular file, a pmem block device (/dev/pmemN,\n"
    "/dev/pmemNpM) or a device-DAX character device (/dev/daxX.Y). On pmem it also reads the\n"
    "kernel's badblocks list and names the same ranges in FILE.\n"
    "  -j, --json               JSON report on stdout, at every exit (schema: docs/mcsafe-scan.md)\n"
    "  -s, --salvage=OUT        copy every readable byte to the regular file OUT, sparse\n"
    "  -r, --repair-from=GOOD   rewrite the bad pages of FILE from the same offsets of GOOD\n"
    "  -n, --dry-run            with --repair-from: check GOOD and list the pages, write nothing\n"
    "  -p, --progress           progress with rate and ETA on stderr even when not a terminal\n"
    "  -q, --quiet              no text report and no progress; errors still go to stderr\n"
    "  -v, --verbose            also say on stderr what was opened, mapped and read, and how fast\n"
    "      --demo               run on a built-in example (a file truncated under its mapping)\n"
    "  -h, --help               this text\n"
    "  -V, --version            the version\n"
    "Salvage leaves holes, unreadable ranges and zero pages unwritten (zeros in OUT). Repair\n"
    "writes whole pages and never changes FILE's size (a partial last page is padded, then the\n"
    "size restored unless FILE grew meanwhile) and needs GOOD to hold every byte it supplies;\n"
    "the report lists what was found, then what was done.\n"
    "exit: 0 clean, 1 bad ranges (found by the scan, the kernel's list or the salvage; left\n"
    "      after repair; a dry run), 2 usage error, a path that does not name a file, or\n"
    "      unusable OUT or GOOD (the same file as FILE or as each other), 3 not a regular\n"
    "      file, pmem or device DAX, 4 permission denied, 5 the file shrank during the run\n"
    "      (scan again), 6 other I/O error, 7 the report could not be written\n";

struct options {
  const char* file = nullptr;
  const char* salvage_to = nullptr;
  const char* repair_from = nullptr;
  bool json = false, dry_run = false, quiet = false, verbose = false, progress = false;
};

// --- what is reported: filled as the run goes, printed once at any exit --------------------

enum class target_kind { unknown, regular_file, block_pmem, device_dax };
const char* kind_name(target_kind k) {
  switch (k) {
    case target_kind::regular_file: return "regular_file";
    case target_kind::block_pmem: return "block_pmem";
    case target_kind::device_dax: return "device_dax";
    case target_kind::unknown: break;
  }
  return nullptr;
}

struct report {
  int exit = exit_clean;
  std::string error;  // the message for exits 2-6
  target_kind kind = target_kind::unknown;
  bool sized = false, scanned = false;
  std::size_t size = 0;
  mcsafe::poison_map bad;  // what the scan found, before any repair
  // The kernel's list: source empty when not on pmem (or not reached).
  std::string kernel_source, kernel_partition, kernel_error;
  bool kernel_read = false;
  mcsafe::poison_map kernel;
  // Salvage.
  bool salvaged = false;
  std::size_t salvage_read = 0;
  mcsafe::poison_map holes;
  // Repair.
  bool repair_planned = false, repaired = false;
  mcsafe::poison_map pages, refused, after;
  std::size_t rewritten = 0;
};

int fail(report& r, int code, const std::string& msg) {
  r.exit = code;
  r.error = msg;
  return code;
}
// A failed system call: `what` and the errno it left (building `what` allocates, which leaves
// errno alone when it succeeds).
int fail_errno(report& r, int code, const std::string& what) {
  const int e = errno;
  return fail(r, code, what + ": " + std::strerror(e));
}

// A JSON string. Valid UTF-8 passes through; each byte that is not part of valid UTF-8 becomes
// \udcXX (Python's surrogateescape), so a file name of any bytes gives valid JSON that maps back
// to the exact name (os.fsencode in Python).
std::string json_string(std::string_view s) {
  std::string out = "\"";
  char esc[8];
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      const char* named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : nullptr;
      if (named == nullptr) std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += named != nullptr ? named : esc;
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // Length and lowest value of a well-formed sequence starting with c (no overlongs, no
      // surrogates, nothing above U+10FFFF).
      const std::size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
      bool ok = n != 0 && i + n <= s.size();
      std::uint32_t cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
      for (std::size_t k = 1; ok && k < n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        ok = (cc & 0xc0) == 0x80;
        cp = cp << 6 | (cc & 0x3f);
      }
      ok = ok && !(n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) && !(n == 4 && (cp < 0x10000 || cp > 0x10ffff));
      if (ok) {
        out.append(s.substr(i, n));
        i += n;
      } else {
        std::snprintf(esc, sizeof esc, "\\udc%02x", c);
        out += esc;
        ++i;
      }
    }
  }
  return out + "\"";
}
std::string json_string_or_null(const char* s) { return s != nullptr ? json_string(s) : "null"; }
std::string json_number_or_null(bool have, std::size_t v) { return have ? std::to_string(v) : "null"; }
std::string json_ranges(const mcsafe::poison_map& m, bool have = true) {
  if (!have) return "null";
  std::string out = "[";
  for (const mcsafe::byte_range& r : m)
    out += (out.size() > 1 ? ", " : "") + std::string("{\"offset_bytes\": ") + std::to_string(r.begin) +
           ", \"length_bytes\": " + std::to_string(r.size()) + "}";
  return out + "]";
}

// Every key at every exit; null where a value does not apply or was not reached.
void print_json(const options& o, const report& r) {
  std::string j = "{\"tool\": \"mcsafe-scan\", \"version\": \"" + std::string(kVersion) + "\"";
  j += ", \"exit_code\": " + std::to_string(r.exit) + ", \"status\": \"" + status_name(r.exit) + "\"";
  j += ", \"error\": " + (r.error.empty() ? std::string("null") : json_string(r.error));
  j += ", \"file\": " + json_string_or_null(o.file);
  const char* kind = kind_name(r.kind);
  j += ", \"target\": " + (kind != nullptr ? "\"" + std::string(kind) + "\"" : std::string("null"));
  j += ", \"size_bytes\": " + json_number_or_null(r.sized, r.size);
  j += ", \"bad_bytes\": " + json_number_or_null(r.scanned, r.bad.bytes());
  j += ", \"bad_ranges\": " + json_ranges(r.bad, r.scanned);
  j += ", \"kernel_badblocks\": {\"source\": " + json_string_or_null(r.kernel_source.empty() ? nullptr : r.kernel_source.c_str());
  j += ", \"partition\": " + json_string_or_null(r.kernel_partition.empty() ? nullptr : r.kernel_partition.c_str());
  j += ", \"error\": " + json_string_or_null(r.kernel_error.empty() ? nullptr : r.kernel_error.c_str());
  j += ", \"ranges\": " + json_ranges(r.kernel, r.kernel_read) + "}";
  j += ", \"salvage\": ";
  if (o.salvage_to == nullptr) {
    j += "null";
  } else {
    j += "{\"output\": " + json_string(o.salvage_to) + ", \"read_bytes\": " + json_number_or_null(r.salvaged, r.salvage_read) +
         ", \"holes\": " + json_ranges(r.holes, r.salvaged) + "}";
  }
  j += ", \"repair\": ";
  if (o.repair_from == nullptr) {
    j += "null";
  } else {
    j += "{\"good_copy\": " + json_string(o.repair_from) + ", \"dry_run\": " + (o.dry_run ? "true" : "false") +
         ", \"pages\": " + json_ranges(r.pages, r.repair_planned) +
         ", \"rewritten_bytes\": " + json_number_or_null(r.repaired, r.rewritten) +
         ", \"refused\": " + json_ranges(r.refused, r.repaired) +
         ", \"bad_bytes_after\": " + json_number_or_null(r.repaired, r.after.bytes()) +
         ", \"bad_ranges_after\": " + json_ranges(r.after, r.repaired) + "}";
  }
  std::printf("%s}\n", j.c_str());
}

void print_ranges_text(const char* label, const mcsafe::poison_map& m) {
  for (const mcsafe::byte_range& r : m) std::printf("  %s: offset %zu, %zu bytes\n", label, r.begin, r.size());
}

// The text report: what was found, then the kernel's view, then what salvage and repair did.
void print_text(const options& o, const report& r) {
  if (!r.scanned) return;
  std::printf("%s: %zu bytes, %zu unreadable in %zu range(s)\n", o.file, r.size, r.bad.bytes(), r.bad.size());
  print_ranges_text("bad", r.bad);
  if (r.kernel_source.empty()) {
    std::printf("kernel badblocks: not on a pmem device\n");
  } else {
    std::printf("kernel badblocks: %s", r.kernel_source.c_str());
    if (!r.kernel_partition.empty()) std::printf(" (clipped to partition %s)", r.kernel_partition.c_str());
    if (r.kernel_read)
      std::printf(", %zu range(s) in this file\n", r.kernel.size());
    else
      std::printf(" unreadable: %s\n", r.kernel_error.c_str());
    print_ranges_text("kernel", r.kernel);
  }
  if (r.salvaged) {
    std::printf("salvage: %zu bytes readable written to %s, %zu unreadable range(s) left as zeros\n", r.salvage_read,
                o.salvage_to, r.holes.size());
    print_ranges_text("hole", r.holes);
  }
  if (r.repair_planned) {
    std::printf("repair from %s: %zu page range(s), %zu bytes%s\n", o.repair_from, r.pages.size(), r.pages.bytes(),
                o.dry_run ? " would be rewritten (dry run: nothing written)" : "");
    print_ranges_text(o.dry_run ? "would rewrite" : "rewrite", r.pages);
  }
  if (r.repaired) {
    std::printf("repaired: %zu bytes rewritten, %zu refused by the kernel; now %zu unreadable in %zu range(s)\n",
                r.rewritten, r.refused.bytes(), r.after.bytes(), r.after.size());
    print_ranges_text("refused", r.refused);
    print_ranges_text("still bad", r.after);
  }
}

// --- progress on stderr ------------------------------------------------------------------

class progress {
 public:
  progress(bool enabled, const char* what, std::size_t total)
      : enabled_(enabled && total > 0), tty_(isatty(2) != 0), what_(what), total_(total), start_(clock::now()),
        last_(start_) {}
  void update(std::size_t done) {
    if (!enabled_) return;
    const auto now = clock::now();
    // A terminal line is redrawn 5 times a second; a log gets a line a second.
    if (done < total_ && now - last_ < (tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(1000))) return;
    last_ = now;
    const double s = std::chrono::duration<double>(now - start_).count();
    const double rate = s > 0 ? static_cast<double>(done) / s : 0;
    char eta[32] = "?";
    if (rate > 0) std::snprintf(eta, sizeof eta, "%.0f s", static_cast<double>(total_ - done) / rate);
    constexpr double mib = 1 << 20;
    const double done_mib = static_cast<double>(done) / mib, total_mib = static_cast<double>(total_) / mib;
    std::fprintf(stderr, "%s%s %.2f / %.2f MiB (%.0f%%), %.1f MiB/s, ETA %s%s", tty_ ? "\r" : "", what_, done_mib,
                 total_mib, 100.0 * done_mib / total_mib, rate / mib, eta, tty_ ? "   " : "\n");
    if (tty_ && done >= total_) std::fputc('\n', stderr);
  }

 private:
  using clock = std::chrono::steady_clock;
  bool enabled_, tty_;
  const char* what_;
  std::size_t total_;
  clock::time_point start_, last_;
};

// --- the target: open without blocking, classify, size -------------------------------------

constexpr std::size_t kWindow = 64u << 20;  // mapped at a time (RSS bound of the scan)
constexpr std::size_t kChunk = 8u << 20;    // salvage and repair buffer
const std::size_t kPage = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

// Where the kernel keeps the badblocks list that covers a target, and how its sectors map to
// the target's offsets.
struct kernel_list {
  std::string source;           // the sysfs file; empty when there is none
  std::string disk, partition;  // a file on pmem, or a pmem block device: /sys/block/<disk>
  std::string region;           // device DAX on an nd region: /sys/bus/nd/devices/<region>
  std::uint64_t region_offset = 0;  // where the device DAX starts in its region, in bytes
  std::string error;            // why the list's place could not be worked out
};

struct target {
  int fd = -1;
  target_kind kind = target_kind::unknown;
  std::size_t size = 0;
  std::size_t map_granule = kPage;  // device DAX maps only in multiples of its alignment
  kernel_list klist;
  ~target() {
    if (fd >= 0) close(fd);
  }
};

// The sysfs name of a device ("pmem0", "pmem0p1", "dax0.0") and its sysfs directory.
std::string sysfs_name(const char* cls, dev_t dev, std::string& dir) {
  dir = "/sys/dev/" + std::string(cls) + "/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  char link[PATH_MAX] = {};
  const ssize_t n = readlink(dir.c_str(), link, sizeof link - 1);
  if (n <= 0) return {};
  const std::string path(link, static_cast<std::size_t>(n));
  return path.substr(path.rfind('/') + 1);
}

// The pmem block device behind `dev`: the disk ("pmem0") and, for a partition, its name
// ("pmem0p1", whose sysfs directory sits inside the disk's). Empty when not pmem.
struct pmem_location {
  std::string disk, partition;
};
pmem_location pmem_device(dev_t dev) {
  std::string dir;
  const std::string name = sysfs_name("block", dev, dir);
  if (name.rfind("pmem", 0) != 0) return {};
  if (access((dir + "/partition").c_str(), F_OK) != 0) return {name, ""};
  char link[PATH_MAX] = {};
  const ssize_t n = readlink(dir.c_str(), link, sizeof link - 1);
  std::string path(link, static_cast<std::size_t>(n > 0 ? n : 0));
  path.resize(path.rfind('/'));
  return {path.substr(path.rfind('/') + 1), name};
}

kernel_list pmem_list(dev_t dev) {
  kernel_list k;
  const pmem_location p = pmem_device(dev);
  if (p.disk.empty()) return k;
  k.source = "/sys/block/" + p.disk + "/badblocks";
  k.disk = p.disk;
  k.partition = p.partition;
  return k;
}

// A sysfs attribute holding one hexadecimal address ("0x1f000000").
bool read_hex_attribute(const std::string& path, std::uint64_t& v) {
  std::string text;
  if (mcsafe::detail::read_text_file(path, text) != std::errc{} || text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtoull(text.c_str(), &end, 16);
  return errno == 0 && end != text.c_str() && (*end == '\n' || *end == '\0');
}

// Device DAX made from a pmem namespace sits below its nd region in sysfs
// (.../ndbus0/region2/dax2.0/dax2.0); the region's list counts sectors from the region's start.
kernel_list region_list(const std::string& dev_dir) {
  kernel_list k;
  char real[PATH_MAX] = {};
  if (realpath(dev_dir.c_str(), real) == nullptr) return k;
  std::string path = real;
  while (path.size() > 1) {
    const std::string name = path.substr(path.rfind('/') + 1);
    if (name.rfind("region", 0) == 0 && access((path + "/badblocks").c_str(), R_OK) == 0) break;
    path.resize(path.rfind('/'));
  }
  if (path.size() <= 1) return k;  // not on an nd region (e.g. soft-reserved memory)
  k.region = path.substr(path.rfind('/') + 1);
  k.source = "/sys/bus/nd/devices/" + k.region + "/badblocks";
  std::uint64_t region_start = 0, dev_start = 0;
  if (!read_hex_attribute(path + "/resource", region_start) || !read_hex_attribute(dev_dir + "/resource", dev_start) ||
      dev_start < region_start)
    k.error = "cannot place " + dev_dir + " in " + k.region + " (resource attributes)";
  k.region_offset = dev_start - region_start;
  return k;
}

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

int open_error(report& r, const char* path) {
  const int e = errno;
  if (e == ENOENT) return fail(r, exit_usage, std::string(path) + ": no such file");
  if (path_error(e)) return fail_errno(r, exit_usage, path);
  if (e == EACCES || e == EPERM) return fail(r, exit_permission, std::string(path) + ": permission denied");
  if (e == EISDIR) return fail(r, exit_unsupported, std::string(path) + ": is a directory");
  errno = e;
  return fail_errno(r, exit_io, path);
}

// OUT or GOOD could not be opened: ENXIO is a FIFO without a reader (O_NONBLOCK) or a device.
int output_open_error(report& r, const char* path) {
  const int e = errno;
  if (e == ENXIO) return fail(r, exit_usage, std::string(path) + ": not a regular file (a FIFO or a device)");
  if (e == EACCES || e == EPERM) return fail(r, exit_permission, std::string(path) + ": permission denied");
  errno = e;
  return fail_errno(r, path_error(e) || e == EISDIR ? exit_usage : exit_io, path);
}

// Opens and classifies FILE. O_NONBLOCK: a FIFO or a terminal must be refused, not waited on.
int open_target(const options& o, target& t, report& r) {
  const bool write = o.repair_from != nullptr && !o.dry_run;
  t.fd = open(o.file, (write ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (t.fd < 0) return open_error(r, o.file);
  struct stat st{};
  if (fstat(t.fd, &st) != 0) return fail_errno(r, exit_io, std::string(o.file) + ": fstat");
  if (S_ISREG(st.st_mode)) {
    t.kind = target_kind::regular_file;
    t.size = static_cast<std::size_t>(st.st_size);
    t.klist = pmem_list(st.st_dev);
  } else if (S_ISBLK(st.st_mode) && !pmem_device(st.st_rdev).disk.empty()) {
    t.kind = target_kind::block_pmem;
    std::uint64_t bytes = 0;
    if (ioctl(t.fd, BLKGETSIZE64, &bytes) != 0) return fail_errno(r, exit_io, std::string(o.file) + ": BLKGETSIZE64");
    t.size = static_cast<std::size_t>(bytes);
    t.klist = pmem_list(st.st_rdev);
  } else if (std::string dir; S_ISCHR(st.st_mode) && sysfs_name("char", st.st_rdev, dir).rfind("dax", 0) == 0) {
    t.kind = target_kind::device_dax;
    std::uint64_t bytes = 0, align = 0;
    if (const std::errc e = mcsafe::detail::read_u64_attribute(dir + "/size", bytes); e != std::errc{})
      return fail(r, exit_io, dir + "/size: " + std::make_error_code(e).message());
    // Older kernels have no align attribute: 2 MiB is the device-DAX default.
    if (mcsafe::detail::read_u64_attribute(dir + "/align", align) != std::errc{} || align == 0) align = 2u << 20;
    t.size = static_cast<std::size_t>(bytes);
    t.map_granule = static_cast<std::size_t>(align);
    t.klist = region_list(dir);
  } else {
    return fail(r, exit_unsupported,
                std::string(o.file) + ": " + file_type_name(st.st_mode) +
                    "; mcsafe-scan reads regular files, pmem block devices and device DAX");
  }
  if (write && t.kind == target_kind::device_dax)
    return fail(r, exit_usage, std::string(o.file) + ": --repair-from cannot write device DAX (it has no write(); "
                                                      "clear its poison with ndctl clear-errors)");
  // Writing a block device: exclusively, so a mounted one is refused (EBUSY), not corrupted.
  if (write && t.kind == target_kind::block_pmem) {
    const int excl = open(o.file, O_RDWR | O_EXCL | O_CLOEXEC);
    if (excl < 0) return fail_errno(r, errno == EBUSY ? exit_usage : exit_io, std::string(o.file) + ": open for the repair");
    close(t.fd);
    t.fd = excl;
  }
  // Back to blocking I/O for the reads and writes that follow.
  const int fl = fcntl(t.fd, F_GETFL);
  if (fl < 0 || fcntl(t.fd, F_SETFL, fl & ~O_NONBLOCK) != 0) return fail_errno(r, exit_io, std::string(o.file) + ": fcntl");
  r.kind = t.kind;
  r.size = t.size;
  r.sized = true;
  return exit_clean;
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// OUT and GOOD are never FILE, nor each other, whatever names reach them (hard or symbolic
// links): checked before anything is read or written. A salvage into GOOD would replace the good
// copy with FILE's readable bytes (zeros for its bad pages), and the repair would then write
// those zeros over the bad pages and call the file clean. GOOD must exist; OUT may not exist
// yet. salvage_target and repair_target check again on the opened descriptors.
int check_distinct(const options& o, const target& t, report& r) {
  struct stat fs{}, os{}, gs{};
  if (fstat(t.fd, &fs) != 0) return fail_errno(r, exit_io, std::string(o.file) + ": fstat");
  const bool out = o.salvage_to != nullptr && stat(o.salvage_to, &os) == 0;
  const bool good = o.repair_from != nullptr && stat(o.repair_from, &gs) == 0;
  if (o.repair_from != nullptr && !good) return output_open_error(r, o.repair_from);  // before a long scan
  if (out && same_file(os, fs)) return fail(r, exit_usage, std::string(o.salvage_to) + ": the salvage output is FILE itself");
  if (good && same_file(gs, fs)) return fail(r, exit_usage, std::string(o.repair_from) + ": the good copy is FILE itself");
  if (out && good && same_file(os, gs))
    return fail(r, exit_usage, std::string(o.salvage_to) + ": the salvage output is the good copy (" + o.repair_from +
                                   "); salvaging would overwrite it; nothing written");
  return exit_clean;
}

// --- walking the target: data segments, mapped windows -----------------------------------

// Calls fn(begin, end) for each data segment of [at, end) in order: for a regular file the
// ranges SEEK_DATA/SEEK_HOLE report (a hole has no media to be bad), else the whole range.
template <class Fn>
void for_each_data_segment(const target& t, std::size_t at, std::size_t end, Fn&& fn) {
  while (at < end) {
    std::size_t b = at, e = end;
    if (t.kind == target_kind::regular_file) {
      const off_t d = lseek(t.fd, static_cast<off_t>(at), SEEK_DATA);
      if (d < 0 && errno == ENXIO) return;  // nothing but hole (or EOF) from here
      if (d >= 0) {
        b = static_cast<std::size_t>(d);
        const off_t h = lseek(t.fd, d, SEEK_HOLE);
        if (h > d && static_cast<std::size_t>(h) < end) e = static_cast<std::size_t>(h);
      }  // else: no SEEK_DATA here; treat everything as data
    }
    if (b >= end) return;
    fn(b, e);
    at = e;
  }
}

// One window of the target mapped read-only, [at, at + len) with len rounded up to the
// mapping granule (device DAX refuses other lengths).
class window_map {
 public:
  window_map(const target& t, std::size_t at, std::size_t len)
      : len_((len + t.map_granule - 1) / t.map_granule * t.map_granule) {
    void* m = mmap(nullptr, len_, PROT_READ, MAP_SHARED, t.fd, static_cast<off_t>(at));
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

// Scans [0, size) through the mapping, window by window; adds every unreadable range to `bad`.
int scan_target(const options& o, const target& t, report& r, bool show_progress) {
  const std::size_t window = (kWindow + t.map_granule - 1) / t.map_granule * t.map_granule;
  progress p(show_progress, "scanned", t.size);
  for (std::size_t at = 0; at < t.size; at += window) {
    const std::size_t end = t.size - at < window ? t.size : at + window;
    bool mapped = false;
    int map_errno = 0;
    std::unique_ptr<window_map> m;
    for_each_data_segment(t, at, end, [&](std::size_t b, std::size_t e) {
      if (!mapped) {
        mapped = true;
        m = std::make_unique<window_map>(t, at, end - at);
        if (m->base() == nullptr) map_errno = errno;
      }
      if (m->base() == nullptr) return;
      mcsafe::poison_map found;
      mcsafe::poison_span<const unsigned char>(m->base() + (b - at), e - b).scan(found);
      for (const mcsafe::byte_range& x : found) r.bad.insert({b + x.begin, b + x.end});
    });
    if (map_errno != 0) {
      errno = map_errno;
      return fail_errno(r, exit_io, std::string(o.file) + ": mmap at " + std::to_string(at));
    }
    p.update(end);
  }
  r.scanned = true;
  return exit_clean;
}

// The kernel's badblocks list for the target, in the target's byte offsets: through FIEMAP for a
// file, as is for a pmem block device, shifted and clipped to the device for device DAX.
std::errc kernel_ranges(const target& t, mcsafe::poison_map& out) {
  const kernel_list& k = t.klist;
  const mcsafe::badblocks_list l = !k.region.empty()      ? mcsafe::read_region_badblocks(k.region)
                                   : k.partition.empty() ? mcsafe::read_block_badblocks(k.disk)
                                                         : mcsafe::read_partition_badblocks(k.disk, k.partition);
  if (!l.ok()) return l.error;
  if (t.kind == target_kind::regular_file) return mcsafe::file_bad_ranges(t.fd, l.ranges, out);
  for (const mcsafe::sector_range& s : l.ranges) {
    const std::uint64_t b = s.first * mcsafe::sector_size, e = (s.first + s.count) * mcsafe::sector_size;
    const std::uint64_t lo = std::max(b, k.region_offset), hi = std::min(e, k.region_offset + t.size);
    if (lo < hi) out.insert({lo - k.region_offset, hi - k.region_offset});
  }
  return std::errc{};
}

void read_kernel_list(const target& t, report& r) {
  if (t.klist.source.empty()) return;
  r.kernel_source = t.klist.source;
  r.kernel_partition = t.klist.partition;
  r.kernel_error = t.klist.error;
  if (r.kernel_error.empty())
    if (const std::errc e = kernel_ranges(t, r.kernel); e != std::errc{}) r.kernel_error = std::make_error_code(e).message();
  r.kernel_read = r.kernel_error.empty();
  if (!r.kernel_read) r.kernel.clear();
}

// Everything known bad inside the target: what the scan found, what the kernel lists, what
// salvage could not read.
mcsafe::poison_map known_bad(const report& r) {
  mcsafe::poison_map all = r.bad;
  for (const mcsafe::byte_range& x : r.kernel) all.insert(x);
  for (const mcsafe::byte_range& x : r.holes) all.insert(x);
  all.erase({r.size, static_cast<std::size_t>(-1)});
  return all;
}

// --- salvage ------------------------------------------------------------------------------

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
    while (run < b && all_zero(buf + run, b - run < kPage ? b - run : kPage)) run += kPage;
    if (run >= b) return true;
    std::size_t stop = run;
    while (stop < b && !all_zero(buf + stop, b - stop < kPage ? b - stop : kPage)) stop += kPage;
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
    const std::size_t g = c.fault.lsb != 0 ? c.fault.granule_size() : kPage;
    std::size_t stop = ((off + pos) / g + 1) * g - off;
    if (stop > n) stop = n;
    std::memset(buf + pos, 0, stop - pos);
    holes.insert({off + pos, off + stop});
    pos = stop;
  }
}

int salvage_target(const options& o, const target& t, report& r, bool show_progress) {
  // Opened without O_TRUNC and checked first: OUT must not be FILE itself, nor a FIFO.
  const int out = open(o.salvage_to, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
  if (out < 0) return output_open_error(r, o.salvage_to);
  struct closer {
    int fd;
    ~closer() {
      if (fd >= 0) close(fd);
    }
  } out_guard{out};
  struct stat os{}, is{};
  if (fstat(out, &os) != 0 || fstat(t.fd, &is) != 0) return fail_errno(r, exit_io, std::string(o.salvage_to) + ": fstat");
  if (!S_ISREG(os.st_mode)) return fail(r, exit_usage, std::string(o.salvage_to) + ": the salvage output must be a regular file");
  if (same_file(os, is)) return fail(r, exit_usage, std::string(o.salvage_to) + ": the salvage output is FILE itself");
  if (ftruncate(out, 0) != 0) return fail_errno(r, exit_io, std::string(o.salvage_to) + ": ftruncate");

  std::vector<std::byte> buf(kChunk);
  progress p(show_progress, "salvaged", t.size);
  const std::size_t window = (kWindow + t.map_granule - 1) / t.map_granule * t.map_granule;
  for (std::size_t at = 0; at < t.size; at += window) {
    const std::size_t end = t.size - at < window ? t.size : at + window;
    std::unique_ptr<window_map> m;
    if (t.kind == target_kind::device_dax) {  // no read(): through the mapping
      m = std::make_unique<window_map>(t, at, end - at);
      if (m->base() == nullptr) return fail_errno(r, exit_io, std::string(o.file) + ": mmap at " + std::to_string(at));
    }
    int code = exit_clean;
    for_each_data_segment(t, at, end, [&](std::size_t b, std::size_t e) {
      for (std::size_t c = b; c < e && code == exit_clean; c += kChunk) {
        const std::size_t n = e - c < kChunk ? e - c : kChunk;
        mcsafe::poison_map holes;  // target offsets
        if (m != nullptr) {
          read_through_mapping(c, buf.data(), n, holes, m->base(), at);
        } else {
          const mcsafe::salvage_result s = mcsafe::salvage(t.fd, static_cast<off_t>(c), std::span(buf.data(), n));
          if (s.error != std::errc{}) {
            code = fail(r, exit_io,
                        std::string(o.file) + ": read at " + std::to_string(c) + ": " + std::make_error_code(s.error).message());
            return;
          }
          if (s.short_file) {
            code = fail(r, exit_shrank, std::string(o.file) + ": the file shrank during the salvage, at " +
                                            std::to_string(c + s.end) + " bytes; scan it again");
            return;
          }
          for (const mcsafe::byte_range& h : s.holes) holes.insert({c + h.begin, c + h.end});
        }
        // Write what was read, between the holes.
        std::size_t from = 0, failed_at = 0;
        auto flush = [&](std::size_t to) {
          if (code == exit_clean && !write_sparse(out, buf.data(), from, to, c, failed_at))
            code = fail_errno(r, exit_io, std::string(o.salvage_to) + ": write at " + std::to_string(failed_at));
        };
        for (const mcsafe::byte_range& h : holes) {
          flush(h.begin - c);
          from = h.end - c;
          r.holes.insert(h);
        }
        flush(n);
        r.salvage_read += n - holes.bytes();
      }
    });
    if (code != exit_clean) return code;
    p.update(end);
  }
  if (ftruncate(out, static_cast<off_t>(t.size)) != 0) return fail_errno(r, exit_io, std::string(o.salvage_to) + ": ftruncate");
  if (fsync(out) != 0) return fail_errno(r, exit_io, std::string(o.salvage_to) + ": fsync");
  out_guard.fd = -1;
  if (close(out) != 0) return fail_errno(r, exit_io, std::string(o.salvage_to) + ": close");
  r.salvaged = true;
  return exit_clean;
}

// --- repair -------------------------------------------------------------------------------

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

// Rewrites the pages holding the known-bad ranges (scan, kernel list, salvage) from the same
// offsets of GOOD, with mcsafe::repair: whole pages (the fsdax kernel path clears poison only for
// whole pages), FILE's size never changed (a partial last page is padded and the size restored
// only while the padding set it; if FILE grew meanwhile, the page's rest is FILE's own new
// bytes). GOOD must cover every byte it supplies: checked for all ranges before anything is
// written.
int repair_target(const options& o, const target& t, report& r) {
  const int good = open(o.repair_from, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (good < 0) return output_open_error(r, o.repair_from);
  struct closer {
    int fd;
    ~closer() { close(fd); }
  } good_guard{good};
  struct stat gs{}, ts{};
  if (fstat(good, &gs) != 0 || fstat(t.fd, &ts) != 0) return fail_errno(r, exit_io, std::string(o.repair_from) + ": fstat");
  if (!S_ISREG(gs.st_mode) && !S_ISBLK(gs.st_mode))
    return fail(r, exit_usage, std::string(o.repair_from) + ": the good copy must be a regular file or a block device");
  if (same_file(gs, ts)) return fail(r, exit_usage, std::string(o.repair_from) + ": the good copy is FILE itself");
  std::uint64_t good_size = static_cast<std::uint64_t>(gs.st_size);
  if (S_ISBLK(gs.st_mode) && ioctl(good, BLKGETSIZE64, &good_size) != 0)
    return fail_errno(r, exit_io, std::string(o.repair_from) + ": BLKGETSIZE64");

  r.pages = known_bad(r);
  r.pages.round_to(kPage);
  r.repair_planned = true;
  const std::size_t need = r.pages.empty() ? 0 : std::min(std::prev(r.pages.end())->end, t.size);
  if (good_size < need)
    return fail(r, exit_usage, std::string(o.repair_from) + ": the good copy has " + std::to_string(good_size) +
                                   " bytes, the bad pages need it up to byte " + std::to_string(need) + "; nothing written");
  std::vector<std::byte> buf(kChunk);
  for (const mcsafe::byte_range& pr : r.pages) {
    for (std::size_t a = pr.begin; a < pr.end; a += kChunk) {
      const std::size_t n = pr.end - a < kChunk ? pr.end - a : kChunk;  // whole pages
      const std::size_t data = a >= t.size ? 0 : std::min(n, t.size - a);  // bytes GOOD supplies
      if (!read_all(good, buf.data(), data, a)) {
        if (errno == 0) return fail(r, exit_usage, std::string(o.repair_from) + ": ended at " + std::to_string(a) + "; nothing more written");
        return fail_errno(r, exit_io, std::string(o.repair_from) + ": read at " + std::to_string(a));
      }
      if (o.dry_run) continue;
      const mcsafe::repair_result rr = mcsafe::repair(t.fd, static_cast<off_t>(a), std::span(buf.data(), data));
      if (rr.error == std::errc::invalid_argument && rr.written == 0 && rr.refused.empty())
        return fail(r, exit_shrank, std::string(o.file) + ": the file shrank during the repair, below " +
                                        std::to_string(a + data) + " bytes; nothing more written; scan it again");
      if (rr.error != std::errc{} && rr.written == 0 && rr.refused.empty())  // not even tried (fstat failed)
        return fail(r, exit_io, std::string(o.file) + ": repair at " + std::to_string(a) + ": " +
                                    std::make_error_code(rr.error).message());
      r.rewritten += n - rr.refused.bytes();  // whole pages, as the kernel took them
      for (const mcsafe::byte_range& x : rr.refused) r.refused.insert({a + x.begin, a + x.end});
    }
  }
  if (o.dry_run) return exit_clean;
  if (fsync(t.fd) != 0) return fail_errno(r, exit_io, std::string(o.file) + ": fsync after the repair");
  // A block device's page cache now holds the new data: drop it so the rescan reads the media.
  if (t.kind == target_kind::block_pmem) (void)posix_fadvise(t.fd, 0, 0, POSIX_FADV_DONTNEED);
  // What is still bad: the rewritten pages, scanned again.
  for (const mcsafe::byte_range& pr : r.pages) {
    const std::size_t end = std::min(pr.end, t.size);
    const std::size_t at = pr.begin / t.map_granule * t.map_granule;
    const window_map m(t, at, end - at);
    if (m.base() == nullptr) return fail_errno(r, exit_io, std::string(o.file) + ": mmap at " + std::to_string(at));
    mcsafe::poison_map found;
    mcsafe::poison_span<const unsigned char>(m.base() + (pr.begin - at), end - pr.begin).scan(found);
    for (const mcsafe::byte_range& x : found) r.after.insert({pr.begin + x.begin, pr.begin + x.end});
  }
  // And what the kernel still lists.
  mcsafe::poison_map listed;
  if (!t.klist.source.empty() && t.klist.error.empty() && kernel_ranges(t, listed) == std::errc{})
    for (const mcsafe::byte_range& x : listed)
      if (x.begin < t.size) r.after.insert({x.begin, std::min(x.end, t.size)});
  r.repaired = true;
  return exit_clean;
}

// --- the run ------------------------------------------------------------------------------

int run(const options& o, report& r) {
  target t;
  if (const int e = open_target(o, t, r); e != exit_clean) return e;
  if (const int e = check_distinct(o, t, r); e != exit_clean) return e;
  const bool show_progress = !o.quiet && (o.progress || isatty(2) != 0);
  if (o.verbose)
    std::fprintf(stderr, "mcsafe-scan: %s: %s, %zu bytes, mapped %zu MiB at a time in multiples of %zu bytes\n", o.file,
                 kind_name(t.kind), t.size, kWindow >> 20, t.map_granule);
  const auto t0 = std::chrono::steady_clock::now();
  if (const int e = scan_target(o, t, r, show_progress); e != exit_clean) return e;
  if (t.kind == target_kind::regular_file) {
    struct stat after{};
    if (fstat(t.fd, &after) == 0 && static_cast<std::size_t>(after.st_size) < t.size) {
      r.scanned = false;  // the pages past the new end are not bad media
      return fail(r, exit_shrank, std::string(o.file) + ": the file shrank during the scan, from " + std::to_string(t.size) +
                                      " to " + std::to_string(after.st_size) + " bytes; scan it again");
    }
  }
  if (o.verbose)
    std::fprintf(stderr, "mcsafe-scan: scanned in %.2f s, %zu bytes unreadable\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), r.bad.bytes());
  read_kernel_list(t, r);
  if (o.verbose && !r.kernel_source.empty())
    std::fprintf(stderr, "mcsafe-scan: kernel list %s: %s\n", r.kernel_source.c_str(),
                 r.kernel_read ? "read" : r.kernel_error.c_str());
  if (o.salvage_to != nullptr) {
    const auto t1 = std::chrono::steady_clock::now();
    if (const int e = salvage_target(o, t, r, show_progress); e != exit_clean) return e;
    if (o.verbose)
      std::fprintf(stderr, "mcsafe-scan: salvaged in %.2f s, %zu bytes read, %zu unreadable\n",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count(), r.salvage_read,
                   r.holes.bytes());
  }
  const bool bad = !known_bad(r).empty();
  if (o.repair_from != nullptr && bad) {
    if (const int e = repair_target(o, t, r); e != exit_clean) return e;
    if (!o.dry_run) return r.after.empty() && r.refused.empty() ? exit_clean : exit_bad;
  } else if (o.repair_from != nullptr) {  // nothing to rewrite, GOOD not even opened
    r.repair_planned = true;
    r.repaired = !o.dry_run;
  }
  return bad ? exit_bad : exit_clean;
}

// --demo: a file truncated under its mapping by "someone else", scanned.
int demo() {
  std::printf("built-in example: a 1 MiB file mapped, then truncated to 600 KiB under the mapping\n");
  char path[] = "/tmp/mcsafe-scan-example-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    std::fprintf(stderr, "mcsafe-scan: mkstemp: %s\n", std::strerror(errno));
    return exit_io;
  }
  unlink(path);
  const std::size_t size = 1u << 20, cut = 600u << 10;
  void* m = ftruncate(fd, static_cast<off_t>(size)) == 0 ? mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  if (m == MAP_FAILED || ftruncate(fd, static_cast<off_t>(cut)) != 0) {
    std::fprintf(stderr, "mcsafe-scan: the example file: %s\n", std::strerror(errno));
    return exit_io;
  }
  mcsafe::poison_map bad;
  mcsafe::poison_span<const unsigned char>(static_cast<const unsigned char*>(m), size).scan(bad);
  std::printf("scanned %zu bytes: %zu unreadable in %zu range(s)\n", size, bad.bytes(), bad.size());
  print_ranges_text("bad", bad);
  munmap(m, size);
  close(fd);
  const bool ok = bad.size() == 1 && bad.begin()->begin == cut && bad.begin()->end == size;
  std::printf("%s\n", ok ? "the process is alive and the bad range is exactly the pages past the cut"
                         : "UNEXPECTED result");
  return ok ? exit_clean : exit_bad;
}

// Every exit that printed to stdout goes through here: a report that did not reach its reader
// (a full disk, a closed pipe, /dev/full) is an error, never an exit a script reads as a verdict.
int delivered(int code) {
  if (std::fflush(stdout) == 0 && std::ferror(stdout) == 0) return code;
  const int e = errno;
  std::fprintf(stderr, "mcsafe-scan: the report could not be written to stdout: %s (the run's own exit would have been %d)\n",
               std::strerror(e), code);
  return exit_report;
}

}  // namespace

int main(int argc, char** argv) {
  static const option long_options[] = {
      {"json", no_argument, nullptr, 'j'},       {"salvage", required_argument, nullptr, 's'},
      {"repair-from", required_argument, nullptr, 'r'}, {"dry-run", no_argument, nullptr, 'n'},
      {"progress", no_argument, nullptr, 'p'},   {"quiet", no_argument, nullptr, 'q'},
      {"verbose", no_argument, nullptr, 'v'},    {"demo", no_argument, nullptr, 'D'},
      {"help", no_argument, nullptr, 'h'},       {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0}};
  if (argc <= 1) {
    std::fputs(kUsage, stderr);
    return exit_usage;
  }
  options o;
  report r;
  bool demo_asked = false;
  std::string usage_error;  // the first one; parsing goes on so --json is known either way
  opterr = 0;               // the messages are ours, with the option named
  int c;
  while ((c = getopt_long(argc, argv, ":js:r:npqvhV", long_options, nullptr)) != -1) {
    switch (c) {
      case 'j': o.json = true; break;
      case 's': o.salvage_to = optarg; break;
      case 'r': o.repair_from = optarg; break;
      case 'n': o.dry_run = true; break;
      case 'p': o.progress = true; break;
      case 'q': o.quiet = true; break;
      case 'v': o.verbose = true; break;
      case 'D': demo_asked = true; break;
      case 'h': std::fputs(kUsage, stdout); return delivered(exit_clean);
      case 'V': std::printf("mcsafe-scan %s (mcsafe %s)\n", kVersion, kVersion); return delivered(exit_clean);
      default: {
        // optind has moved past the offending word; optopt is set for a short option.
        const std::string word = argv[optind - 1];
        const std::string name = word.rfind("--", 0) == 0 ? word.substr(0, word.find('=')) : "-" + std::string(1, static_cast<char>(optopt));
        if (usage_error.empty())
          usage_error = c == ':' ? "option " + name + " needs a value" : "unknown option " + name;
      }
    }
  }
  if (usage_error.empty()) {
    if (optind < argc) o.file = argv[optind++];
    if (optind < argc)
      usage_error = "one FILE only (also got " + std::string(argv[optind]) + ")";
    else if (demo_asked && (o.file != nullptr || o.json || o.salvage_to || o.repair_from))
      usage_error = "--demo takes no FILE and no other option";
    else if (!demo_asked && o.file == nullptr)
      usage_error = "no FILE given";
    else if (o.dry_run && o.repair_from == nullptr)
      usage_error = "--dry-run goes with --repair-from";
  }
  if (usage_error.empty() && demo_asked) return delivered(demo());
  const int code = usage_error.empty() ? run(o, r) : fail(r, exit_usage, usage_error);
  if (!r.error.empty()) {
    std::fprintf(stderr, "mcsafe-scan: %s\n", r.error.c_str());
    if (code == exit_usage && !usage_error.empty()) std::fputs("Try 'mcsafe-scan --help'.\n", stderr);
  }
  r.exit = code;
  if (o.json)
    print_json(o, r);
  else if (!o.quiet)
    print_text(o, r);
  return delivered(code);
}
