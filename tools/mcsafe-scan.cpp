// mcsafe-scan: find the unreadable ranges of a file through its mapping, cross-check the
// kernel's badblocks list on pmem, salvage what can be read, repair from a good copy.
//
// Exit codes: 0 no bad range, 1 bad ranges found (or left after repair), 2 usage or missing
// file, 3 not a regular file, 4 permission denied, 5 the file shrank during the scan,
// 6 another I/O error.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <mcsafe/badblocks.hpp>
#include <mcsafe/file.hpp>
#include <mcsafe/mcsafe.hpp>

namespace {

struct options {
  const char* file = nullptr;
  const char* salvage_to = nullptr;
  const char* repair_from = nullptr;
  bool json = false;
};

void usage(std::FILE* out) {
  std::fputs(
      "usage: mcsafe-scan [--json] [--salvage OUT] [--repair-from GOOD] FILE\n"
      "  Maps FILE, reads all of it through mcsafe's fault-safe copies, and prints the byte\n"
      "  ranges that could not be read (hardware poison, DAX bad blocks, pages past the end of\n"
      "  a file that shrank). On a pmem device it also reads the kernel's badblocks list.\n"
      "  --json              machine-readable report on stdout\n"
      "  --salvage OUT       write every readable byte to OUT (holes zeroed) and list the holes\n"
      "  --repair-from GOOD  rewrite the bad pages from the same offsets of GOOD (whole pages)\n"
      "  exit: 0 clean, 1 bad ranges, 2 usage/missing, 3 not a regular file, 4 permission,\n"
      "        5 file shrank during the scan, 6 other I/O error\n",
      out);
}

int fail(int code, const std::string& msg) {
  std::fprintf(stderr, "mcsafe-scan: %s\n", msg.c_str());
  return code;
}

// The pmem device holding the file: the disk ("pmem0") and, for a partition, its name
// ("pmem0p1", whose sysfs directory sits inside the disk's). Empty when not on pmem.
struct pmem_location {
  std::string disk, partition;
};
pmem_location pmem_device(const struct stat& st) {
  char link[PATH_MAX] = {};
  const std::string sys = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  const ssize_t n = readlink(sys.c_str(), link, sizeof link - 1);
  if (n <= 0) return {};
  std::string path(link, static_cast<std::size_t>(n));
  const std::string name = path.substr(path.rfind('/') + 1);
  if (name.rfind("pmem", 0) != 0) return {};
  if (access((sys + "/partition").c_str(), F_OK) != 0) return {name, ""};
  path.resize(path.rfind('/'));
  return {path.substr(path.rfind('/') + 1), name};
}

void print_ranges(std::FILE* out, const mcsafe::poison_map& m, bool json) {
  bool first = true;
  for (const mcsafe::byte_range& r : m) {
    if (json)
      std::fprintf(out, "%s{\"offset\": %zu, \"length\": %zu}", first ? "" : ", ", r.begin, r.size());
    else
      std::fprintf(out, "  bad: offset %zu, %zu bytes\n", r.begin, r.size());
    first = false;
  }
}

int scan_file(const options& o) {
  const bool writable = o.repair_from != nullptr;
  const int fd = open(o.file, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail(2, std::string(o.file) + ": no such file");
    if (errno == EACCES || errno == EPERM) return fail(4, std::string(o.file) + ": permission denied");
    if (errno == EISDIR) return fail(3, std::string(o.file) + ": is a directory");
    return fail(6, std::string(o.file) + ": " + std::strerror(errno));
  }
  struct stat st{};
  if (fstat(fd, &st) != 0) return fail(6, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return fail(3, std::string(o.file) + ": is a directory");
  if (!S_ISREG(st.st_mode)) return fail(3, std::string(o.file) + ": not a regular file");
  const auto size = static_cast<std::size_t>(st.st_size);

  mcsafe::poison_map bad;
  if (size > 0) {
    void* m = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return fail(6, std::string("mmap: ") + std::strerror(errno));
    const mcsafe::poison_span<const unsigned char> all(static_cast<const unsigned char*>(m), size);
    const bool tty = isatty(2) != 0 && !o.json;
    constexpr std::size_t kStep = 64u << 20;
    for (std::size_t at = 0; at < size; at += kStep) {
      all.subspan(at, kStep).scan(bad);
      if (tty) std::fprintf(stderr, "\rscanned %zu / %zu MiB", (at + kStep < size ? at + kStep : size) >> 20, size >> 20);
    }
    if (tty) std::fputc('\n', stderr);
    munmap(m, size);
  }
  struct stat after{};
  if (fstat(fd, &after) == 0 && after.st_size < st.st_size)
    return fail(5, std::string(o.file) + ": the file shrank during the scan, from " + std::to_string(st.st_size) +
                       " to " + std::to_string(after.st_size) + " bytes; scan it again");

  // The kernel's view, on pmem.
  const pmem_location dev = pmem_device(st);
  mcsafe::poison_map kernel;
  std::string kernel_note = "not on a pmem device";
  if (!dev.disk.empty()) {
    const mcsafe::badblocks_list l = dev.partition.empty() ? mcsafe::read_block_badblocks(dev.disk)
                                                           : mcsafe::read_partition_badblocks(dev.disk, dev.partition);
    const std::errc e = l.ok() ? mcsafe::file_bad_ranges(fd, l.ranges, kernel) : l.error;
    kernel_note = "/sys/block/" + dev.disk + "/badblocks";
    if (!dev.partition.empty()) kernel_note += " (clipped to partition " + dev.partition + ")";
    if (e != std::errc{}) kernel_note += " unreadable: " + std::make_error_code(e).message();
  }

  std::string salvage_note;
  mcsafe::poison_map holes;
  if (o.salvage_to != nullptr) {
    std::vector<std::byte> buf(size);
    const mcsafe::salvage_result s = mcsafe::salvage(fd, 0, buf);
    holes = s.holes;
    if (s.error != std::errc{}) return fail(6, "salvage: " + std::make_error_code(s.error).message());
    const int out = open(o.salvage_to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0 || write(out, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size()) || close(out) != 0)
      return fail(6, std::string(o.salvage_to) + ": " + std::strerror(errno));
    salvage_note = std::to_string(s.read) + " bytes readable written to " + o.salvage_to;
  }

  std::string repair_note;
  if (o.repair_from != nullptr && !bad.empty()) {
    const int good = open(o.repair_from, O_RDONLY | O_CLOEXEC);
    if (good < 0) return fail(2, std::string(o.repair_from) + ": " + std::strerror(errno));
    mcsafe::poison_map pages = bad;
    pages.round_to(static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
    std::size_t fixed = 0;
    for (const mcsafe::byte_range& r : pages) {
      std::vector<std::byte> data(r.size());
      if (pread(good, data.data(), data.size(), static_cast<off_t>(r.begin)) != static_cast<ssize_t>(data.size()))
        return fail(6, std::string(o.repair_from) + ": cannot read the good copy at " + std::to_string(r.begin));
      const mcsafe::repair_result rr = mcsafe::repair(fd, static_cast<off_t>(r.begin), data);
      fixed += rr.written;
      if (!rr.ok()) repair_note += "refused at " + std::to_string(r.begin) + ": " + std::make_error_code(rr.error).message() + "; ";
    }
    close(good);
    repair_note += std::to_string(fixed) + " bytes rewritten";
    // What is still bad after the repair.
    void* m = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    bad.clear();
    if (m != MAP_FAILED) {
      mcsafe::poison_span<const unsigned char>(static_cast<const unsigned char*>(m), size).scan(bad);
      munmap(m, size);
    }
  }
  close(fd);

  if (o.json) {
    std::printf("{\"file\": \"%s\", \"size\": %zu, \"bad_bytes\": %zu, \"bad_ranges\": [", o.file, size, bad.bytes());
    print_ranges(stdout, bad, true);
    std::printf("], \"kernel_badblocks\": {\"source\": \"%s\", \"ranges\": [", kernel_note.c_str());
    print_ranges(stdout, kernel, true);
    std::printf("]}");
    if (o.salvage_to != nullptr) {
      std::printf(", \"salvage\": {\"output\": \"%s\", \"holes\": [", o.salvage_to);
      print_ranges(stdout, holes, true);
      std::printf("]}");
    }
    if (o.repair_from != nullptr) std::printf(", \"repair\": \"%s\"", repair_note.c_str());
    std::printf("}\n");
  } else {
    std::printf("%s: %zu bytes, %zu unreadable in %zu range(s)\n", o.file, size, bad.bytes(), bad.size());
    print_ranges(stdout, bad, false);
    std::printf("kernel badblocks: %s, %zu range(s) in this file\n", kernel_note.c_str(), kernel.size());
    print_ranges(stdout, kernel, false);
    if (!salvage_note.empty()) {
      std::printf("salvage: %s, %zu hole(s)\n", salvage_note.c_str(), holes.size());
      print_ranges(stdout, holes, false);
    }
    if (!repair_note.empty()) std::printf("repair: %s\n", repair_note.c_str());
  }
  return bad.empty() ? 0 : 1;
}

// With no arguments: a file truncated under its mapping by "someone else", scanned.
int builtin_example() {
  usage(stdout);
  std::printf("\nbuilt-in example: a 1 MiB file mapped, then truncated to 600 KiB under the mapping\n");
  char path[] = "/tmp/mcsafe-scan-example-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return fail(6, std::strerror(errno));
  unlink(path);
  const std::size_t size = 1u << 20, cut = 600u << 10;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) return fail(6, std::strerror(errno));
  void* m = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED || ftruncate(fd, static_cast<off_t>(cut)) != 0) return fail(6, std::strerror(errno));
  mcsafe::poison_map bad;
  mcsafe::poison_span<const unsigned char>(static_cast<const unsigned char*>(m), size).scan(bad);
  std::printf("scanned %zu bytes: %zu unreadable in %zu range(s)\n", size, bad.bytes(), bad.size());
  print_ranges(stdout, bad, false);
  munmap(m, size);
  close(fd);
  const bool ok = bad.size() == 1 && bad.begin()->begin == cut && bad.begin()->end == size;
  std::printf("%s\n", ok ? "the process is alive and the bad range is exactly the pages past the cut"
                         : "UNEXPECTED result");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 1) return builtin_example();
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      o.json = true;
    } else if ((a == "--salvage" || a == "--repair-from") && i + 1 < argc) {
      (a == "--salvage" ? o.salvage_to : o.repair_from) = argv[++i];
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      usage(stderr);
      return 2;
    } else if (o.file == nullptr) {
      o.file = argv[i];
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (o.file == nullptr) {
    usage(stderr);
    return 2;
  }
  return scan_file(o);
}
