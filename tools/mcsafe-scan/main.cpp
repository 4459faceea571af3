// mcsafe-scan: find the unreadable ranges of a file (or of a pmem block device or a device-DAX
// character device) through windowed mappings, cross-check the kernel's badblocks list on pmem,
// salvage what can be read into a sparse copy, repair bad pages from a good copy.
//
// Bounded memory at any size: the target is mapped one window at a time, salvage and repair
// move data through fixed-size buffers. Exit codes and the JSON schema: docs/mcsafe-scan.md.
#include <sys/mman.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <mcsafe/span.hpp>

#include "stages.hpp"

namespace mcsafe_scan {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

exit_code run(const options& o, report& r) {
  target t;
  if (const exit_code e = open_target(o, t, r); e != exit_clean) return e;
  if (const exit_code e = check_distinct(o, t, r); e != exit_clean) return e;
  const bool show_progress = !o.quiet && (o.progress || isatty(2) != 0);
  if (o.verbose)
    std::fprintf(stderr, "mcsafe-scan: %s: %s, %zu bytes, mapped %zu MiB at a time in multiples of %zu bytes\n", o.file,
                 kind_name(t.kind), t.size, k_window >> 20, t.map_granule);
  const auto t0 = std::chrono::steady_clock::now();
  if (const exit_code e = scan_target(o, t, r, show_progress); e != exit_clean) return e;
  if (t.kind == target_kind::regular_file) {
    struct stat after {};
    if (fstat(t.fd.get(), &after) == 0 && static_cast<std::size_t>(after.st_size) < t.size) {
      r.bad.reset();  // the pages past the new end are not bad media
      return fail(r, exit_shrank,
                  std::string(o.file) + ": the file shrank during the scan, from " + std::to_string(t.size) + " to " +
                      std::to_string(after.st_size) + " bytes; scan it again");
    }
  }
  if (o.verbose)
    std::fprintf(stderr, "mcsafe-scan: scanned in %.2f s, %zu bytes unreadable\n", seconds_since(t0), r.bad->bytes());
  read_kernel_list(t, r);
  if (o.verbose && r.kernel) {
    const auto* error = std::get_if<std::string>(&r.kernel->listed);
    std::fprintf(stderr, "mcsafe-scan: kernel list %s: %s\n", r.kernel->source.c_str(),
                 error == nullptr ? "read" : error->c_str());
  }
  if (o.salvage_to != nullptr) {
    const auto t1 = std::chrono::steady_clock::now();
    if (const exit_code e = salvage_target(o, t, r, show_progress); e != exit_clean) return e;
    if (o.verbose)
      std::fprintf(stderr, "mcsafe-scan: salvaged in %.2f s, %zu bytes read, %zu unreadable\n", seconds_since(t1),
                   r.salvage->read_bytes, r.salvage->holes.bytes());
  }
  const bool bad = !known_bad(r).empty();
  if (o.repair_from != nullptr && bad) {
    if (const exit_code e = repair_target(o, t, r); e != exit_clean) return e;
    if (!o.dry_run) return r.repair->done->after.empty() && r.repair->done->refused.empty() ? exit_clean : exit_bad;
  } else if (o.repair_from != nullptr) {  // nothing to rewrite, GOOD not even opened
    r.repair = repair_report{{}, o.dry_run ? std::nullopt : std::optional<repair_outcome>(repair_outcome{})};
  }
  return bad ? exit_bad : exit_clean;
}

// --demo: a file truncated under its mapping by "someone else", scanned.
exit_code demo() {
  std::printf("built-in example: a 1 MiB file mapped, then truncated to 600 KiB under the mapping\n");
  char path[] = "/tmp/mcsafe-scan-example-XXXXXX";
  const unique_fd fd(mkstemp(path));
  if (!fd.valid()) {
    std::fprintf(stderr, "mcsafe-scan: mkstemp: %s\n", std::strerror(errno));
    return exit_io;
  }
  unlink(path);
  const std::size_t size = 1u << 20, cut = 600u << 10;
  void* m = ftruncate(fd.get(), static_cast<off_t>(size)) == 0 ? mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0)
                                                               : MAP_FAILED;
  if (m == MAP_FAILED || ftruncate(fd.get(), static_cast<off_t>(cut)) != 0) {
    std::fprintf(stderr, "mcsafe-scan: the example file: %s\n", std::strerror(errno));
    return exit_io;
  }
  mcsafe::poison_map bad;
  mcsafe::poison_span<const unsigned char>(static_cast<const unsigned char*>(m), size).scan(bad);
  std::printf("scanned %zu bytes: %zu unreadable in %zu range(s)\n", size, bad.bytes(), bad.size());
  print_ranges_text("bad", bad);
  munmap(m, size);
  const bool ok = bad.size() == 1 && bad.begin()->begin == cut && bad.begin()->end == size;
  std::printf("%s\n", ok ? "the process is alive and the bad range is exactly the pages past the cut" : "UNEXPECTED result");
  return ok ? exit_clean : exit_bad;
}

// Every exit that printed to stdout goes through here: a report that did not reach its reader
// (a full disk, a closed pipe, /dev/full) is an error, never an exit a script reads as a verdict.
int delivered(exit_code code) {
  if (std::fflush(stdout) == 0 && std::ferror(stdout) == 0) return code;
  const int e = errno;
  std::fprintf(stderr,
               "mcsafe-scan: the report could not be written to stdout: %s (the run's own exit would have been %d)\n",
               std::strerror(e), code);
  return exit_report;
}

}  // namespace
}  // namespace mcsafe_scan

int main(int argc, char** argv) {
  using namespace mcsafe_scan;
  if (argc <= 1) {
    std::fputs(usage_text().c_str(), stderr);
    return exit_usage;
  }
  const command_line cl = parse_arguments(argc, argv);
  switch (cl.what) {
    case command_line::action::help: std::fputs(usage_text().c_str(), stdout); return delivered(exit_clean);
    case command_line::action::version:
      std::printf("mcsafe-scan %s (mcsafe %s)\n", version(), version());
      return delivered(exit_clean);
    case command_line::action::demo: return delivered(demo());
    case command_line::action::run: break;
  }
  const options& o = cl.opts;
  report r;
  const exit_code code = cl.usage_error.empty() ? run(o, r) : fail(r, exit_usage, cl.usage_error);
  if (!r.error.empty()) {
    std::fprintf(stderr, "mcsafe-scan: %s\n", r.error.c_str());
    if (code == exit_usage && !cl.usage_error.empty()) std::fputs("Try 'mcsafe-scan --help'.\n", stderr);
  }
  r.exit = code;
  if (o.json)
    print_json(o, r);
  else if (!o.quiet)
    print_text(o, r);
  return delivered(code);
}
