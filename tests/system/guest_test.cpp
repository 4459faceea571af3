// Runs inside the QEMU guest (tests/system/run.sh) as PID 1's child, as root, on a real
// kernel with memory-failure support, an fsdax ext4 on /dev/pmem0 mounted at /mnt and one on
// the partition /dev/pmem1p1 mounted at /mnt2, and a raw /dev/pmem2 (mcsafe-scan's block-device
// case, then reconfigured as device DAX).
// Prints one "PASS name" / "FAIL name: why" / "SKIP name: why" line per case; exits nonzero
// when any case failed.
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <mcsafe/badblocks.hpp>
#include <mcsafe/cxl.hpp>
#include <mcsafe/file.hpp>
#include <mcsafe/mapped_file.hpp>
#include <mcsafe/mcsafe.hpp>

#if defined(MCSAFE_GUEST_SQLITE)
#include <sqlite3.h>

#include "mcsafe_sqlite_vfs.hpp"
#endif

namespace {

int g_failed = 0;
const std::size_t k_page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

void report(const char* name, bool ok, const std::string& why) {
  if (ok) {
    std::printf("PASS %s\n", name);
  } else {
    std::printf("FAIL %s: %s\n", name, why.c_str());
    ++g_failed;
  }
  std::fflush(stdout);
}
void skip(const char* name, const std::string& why) {
  std::printf("SKIP %s: %s\n", name, why.c_str());
  std::fflush(stdout);
}

std::string describe(const mcsafe::copy_result& r, std::uintptr_t base) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "copied=%zu kind=%s side=%s address=base%+ld lsb=%u si_code=%d", r.copied,
                mcsafe::to_string(r.fault.kind), mcsafe::to_string(r.fault.side), static_cast<long>(r.fault.address - base),
                r.fault.lsb, r.fault.si_code);
  return buf;
}

// Whether the kernel command line holds `word` (run.sh: mcsafe.break=1, mcsafe.only=cxl).
bool cmdline_has(const char* word) {
  char buf[512] = {};
  const int fd = open("/proc/cmdline", O_RDONLY);
  if (fd < 0) return false;
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && std::strstr(buf, word) != nullptr;
}

// The running kernel's version as major * 100 + minor (6.12: 612), for the cases whose
// expected signal depends on it.
int kernel_version() {
  utsname u{};
  int major = 0, minor = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return 0;
  return major * 100 + minor;
}

// A load from an fsdax mapping over a bad block. Up to Linux 6.4 the DAX fault handler answers
// SIGBUS BUS_ADRERR at the byte (bus_error); since 6.5 it reports the page as poison, SIGBUS
// BUS_MCEERR_AR with si_addr_lsb 12 (hw_poison, the address the page's first byte in the buffer).
bool dax_bad_block_fault(const mcsafe::fault& f, std::uintptr_t bad_page) {
  if (kernel_version() >= 605)
    return f.kind == mcsafe::fault_kind::hw_poison && f.si_code == BUS_MCEERR_AR && f.lsb == 12 && f.address == bad_page;
  return f.kind == mcsafe::fault_kind::bus_error && f.si_code == BUS_ADRERR && f.address == bad_page;
}

unsigned char* map_anon(std::size_t pages) {
  void* p = mmap(nullptr, pages * k_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* c = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < pages * k_page; ++i) c[i] = static_cast<unsigned char>(i * 7 + 3);
  return c;
}

// The page frame behind the mapped, present page at p (root reads it from /proc/self/pagemap);
// 0 when there is none.
std::uint64_t pfn_of(const void* p) {
  std::uint64_t entry = 0;
  const int pm = open("/proc/self/pagemap", O_RDONLY);
  const auto page = reinterpret_cast<std::uintptr_t>(p) / k_page;
  const bool got = pm >= 0 && pread(pm, &entry, 8, static_cast<off_t>(page * 8)) == 8;
  if (pm >= 0) close(pm);
  return got && (entry >> 63) != 0 ? entry & ((1ull << 55) - 1) : 0;
}

// Hands the page frame of the present page at p to the kernel's memory-failure path through
// hwpoison_inject (debugfs hwpoison/corrupt-pfn). With the late-kill policy the page goes
// silently and the next access is an action-required report, SIGBUS BUS_MCEERR_AR; this is
// the same on 6.1 and 6.12, where madvise(MADV_HWPOISON) is not (test_madvise_hwpoison).
// Returns "" or why it failed.
std::string inject_pfn(const void* p) {
  const std::uint64_t pfn = pfn_of(p);
  if (pfn == 0) return "no PFN for the page in /proc/self/pagemap";
  const int fd = open("/sys/kernel/debug/hwpoison/corrupt-pfn", O_WRONLY);
  const std::string text = std::to_string(pfn) + "\n";
  const bool ok = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int err = errno;
  if (fd >= 0) close(fd);
  return ok ? "" : std::string("hwpoison/corrupt-pfn: ") + std::strerror(err);
}
std::string poison_page(const void* p) {
  prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0);  // report at access (AR), not early
  return inject_pfn(p);
}

// hwpoison_inject on an anonymous page: the next access is an action-required machine-check
// report, SIGBUS BUS_MCEERR_AR with si_addr_lsb 12.
void test_hwpoison_sync(bool deliberately_wrong) {
  unsigned char* p = map_anon(3);
  const std::string poisoned = p == nullptr ? "mmap failed" : poison_page(p + k_page);
  if (!poisoned.empty()) {
    report("hwpoison.inject", false, poisoned);
    return;
  }
  const auto bad = reinterpret_cast<std::uintptr_t>(p + k_page);
  unsigned char buf[512];
  for (auto b : mcsafe::all_copy_backends) {
    const std::string name = std::string("hwpoison.copy_across.") + mcsafe::to_string(b);
    if (!mcsafe::testing::force_copy(b)) {
      skip(name.c_str(), "backend not available on this (emulated) CPU");
      continue;
    }
    const auto r = mcsafe::mc_safe_copy(buf, p + k_page - 100, 300);
    const std::uintptr_t want = deliberately_wrong ? bad + 1 : bad;
    report(name.c_str(),
           r.copied == 100 && r.fault.kind == mcsafe::fault_kind::hw_poison && r.fault.side == mcsafe::fault_side::source &&
               r.fault.address == want && r.fault.lsb == 12 && r.fault.si_code == BUS_MCEERR_AR &&
               std::memcmp(buf, p + k_page - 100, 100) == 0,
           describe(r, bad));
  }
  mcsafe::testing::reset_copy();
  // Starting inside the poisoned page: nothing of the page is readable, the address is exact.
  auto r = mcsafe::mc_safe_copy(buf, p + k_page + 200, 64);
  report("hwpoison.copy_inside_page",
         r.copied == 0 && r.fault.kind == mcsafe::fault_kind::hw_poison && r.fault.address == bad + 200 &&
             r.fault.granule_begin() == bad && r.fault.granule_size() == k_page,
         describe(r, bad));
  auto v = mcsafe::mc_safe_load(reinterpret_cast<const std::uint64_t*>(p + k_page + 8));
  report("hwpoison.load",
         !v && v.error().kind == mcsafe::fault_kind::hw_poison && v.error().lsb == 12 && v.error().address == bad + 8,
         v ? "got a value" : describe({0, v.error()}, bad));
  mcsafe::poison_map found;
  const mcsafe::poison_span<const unsigned char> span(p, 3 * k_page);
  const std::size_t bad_bytes = span.scan(found);
  report("hwpoison.span_scan_records_page",
         bad_bytes == k_page && found.size() == 1 && found.begin()->begin == k_page && found.begin()->end == 2 * k_page,
         "scan found " + std::to_string(bad_bytes) + " bytes in " + std::to_string(found.size()) + " ranges");
  r = mcsafe::mc_safe_copy(buf, p + 2 * k_page, 512);
  const bool neighbours = r.ok() && std::memcmp(buf, p + 2 * k_page, 512) == 0 && mcsafe::mc_safe_copy(buf, p, 512).ok();
  report("hwpoison.neighbours_fine", neighbours, describe(r, bad));
}

// hwpoison_inject + early kill: the kernel sends BUS_MCEERR_AO for a page the process maps
// but is not touching; mcsafe passes it to the on_async_poison callback.
std::atomic<std::uintptr_t> g_ao_addr{0};
std::atomic<unsigned> g_ao_lsb{0};
void on_ao(std::uintptr_t addr, unsigned lsb) noexcept {
  g_ao_addr.store(addr);
  g_ao_lsb.store(lsb);
}

void test_hwpoison_async() {
  if (access("/sys/kernel/debug/hwpoison/corrupt-pfn", W_OK) != 0) {
    skip("hwpoison.async", "no /sys/kernel/debug/hwpoison/corrupt-pfn (hwpoison_inject not loaded)");
    return;
  }
  if (prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0) != 0) {
    report("hwpoison.async", false, std::string("prctl(PR_MCE_KILL_EARLY): ") + std::strerror(errno));
    return;
  }
  unsigned char* p = map_anon(2);
  const auto page = reinterpret_cast<std::uintptr_t>(p);
  mcsafe::on_async_poison(on_ao);
  const std::string injected = p == nullptr ? "mmap failed" : inject_pfn(p);
  for (int i = 0; i < 100 && injected.empty() && g_ao_addr.load() == 0; ++i) usleep(10000);
  char why[160];
  std::snprintf(why, sizeof why, "%s callback address=page%+ld lsb=%u", injected.c_str(),
                static_cast<long>(g_ao_addr.load() - page), g_ao_lsb.load());
  report("hwpoison.async_callback", injected.empty() && g_ao_addr.load() == page && g_ao_lsb.load() == 12, why);
  unsigned char buf[64];
  const auto r = mcsafe::mc_safe_copy(buf, p + 16, 64);
  report("hwpoison.async_then_copy",
         r.fault.kind == mcsafe::fault_kind::hw_poison && r.copied == 0 && r.fault.address == page + 16, describe(r, page));
  mcsafe::on_async_poison(nullptr);
  prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0);
}

// What madvise(MADV_HWPOISON) does to its caller, in a child with a plain SA_SIGINFO handler.
// Since Linux 6.11 the kernel treats it as action required and signals the caller inside the
// call; before, it only poisons the page and the next access faults. Both report
// BUS_MCEERR_AR for that page with si_addr_lsb 12; where the signal arrives is what differs.
struct madvise_seen {
  volatile int stage, code, madvise_rc;
  volatile unsigned lsb;
  volatile std::uintptr_t addr, page;
};
madvise_seen* g_seen = nullptr;
void on_madvise_sigbus(int, siginfo_t* si, void*) {
  g_seen->code = si->si_code;
  g_seen->addr = reinterpret_cast<std::uintptr_t>(si->si_addr);
  g_seen->lsb = static_cast<unsigned>(si->si_addr_lsb);
  _exit(10 + g_seen->stage);  // 11: inside madvise, 12: at the access after it
}

void test_madvise_hwpoison() {
  g_seen = static_cast<madvise_seen*>(
      mmap(nullptr, sizeof(madvise_seen), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (g_seen == MAP_FAILED) {
    report("hwpoison.madvise_signal", false, std::string("mmap: ") + std::strerror(errno));
    return;
  }
  g_seen->madvise_rc = -1;  // stays -1 when madvise never returned
  const pid_t pid = fork();
  if (pid == 0) {
    unsigned char* p = map_anon(1);  // the child's own page: the parent maps nothing of it
    if (p == nullptr) _exit(4);
    g_seen->page = reinterpret_cast<std::uintptr_t>(p);
    struct sigaction sa {};
    sa.sa_sigaction = on_madvise_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, nullptr);
    g_seen->stage = 1;
    g_seen->madvise_rc = madvise(p, k_page, MADV_HWPOISON) == 0 ? 0 : errno;
    g_seen->stage = 2;
    (void)*static_cast<volatile unsigned char*>(p);
    _exit(3);  // no signal at all
  }
  int st = 0;
  waitpid(pid, &st, 0);
  const int where = WIFEXITED(st) ? WEXITSTATUS(st) : -1, want = kernel_version() >= 611 ? 11 : 12;
  char why[200];
  std::snprintf(why, sizeof why, "signal %s (exit %d; want %s), madvise rc=%d si_code=%d address=page%+ld lsb=%u",
                where == 11   ? "inside madvise"
                : where == 12 ? "at the next access"
                              : "not seen",
                where, want == 11 ? "inside madvise" : "at the next access", g_seen->madvise_rc, g_seen->code,
                static_cast<long>(g_seen->addr - g_seen->page), g_seen->lsb);
  std::printf("INFO hwpoison.madvise_signal: %s\n", why);
  report("hwpoison.madvise_signal",
         where == want && g_seen->code == BUS_MCEERR_AR && g_seen->addr == g_seen->page && g_seen->lsb == 12 &&
             (want == 11 || g_seen->madvise_rc == 0),
         why);
  munmap(g_seen, sizeof(madvise_seen));
}

// Physical byte offset on the block device of the file byte at `offset`, through FIEMAP.
bool physical_offset(int fd, std::uint64_t offset, std::uint64_t& phys) {
  alignas(fiemap) unsigned char buf[sizeof(fiemap) + sizeof(fiemap_extent)] = {};
  auto* fm = reinterpret_cast<fiemap*>(buf);
  fm->fm_start = offset;
  fm->fm_length = 1;
  fm->fm_flags = FIEMAP_FLAG_SYNC;
  fm->fm_extent_count = 1;
  if (ioctl(fd, FS_IOC_FIEMAP, fm) != 0 || fm->fm_mapped_extents != 1) return false;
  const fiemap_extent& e = fm->fm_extents[0];
  phys = e.fe_physical + (offset - e.fe_logical);
  return true;
}

// Marks `count` 512-byte sectors bad from `sector` on disk `dev` (sysfs badblocks).
bool inject_badblock(const std::string& dev, std::uint64_t sector, std::uint64_t count) {
  const int fd = open(("/sys/block/" + dev + "/badblocks").c_str(), O_WRONLY);
  const std::string line = std::to_string(sector) + " " + std::to_string(count) + "\n";
  const bool ok = fd >= 0 && write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  if (fd >= 0) close(fd);
  return ok;
}

// Checks that the kernel's list `list`, mapped through FIEMAP of fd, names exactly the page
// at file offset `off`; reports it as `name`.
void check_one_page_range(const char* name, int fd, const mcsafe::badblocks_list& list, std::size_t off,
                          const std::string& context) {
  mcsafe::poison_map in_file;
  const std::errc e = list.ok() ? mcsafe::file_bad_ranges(fd, list.ranges, in_file) : list.error;
  report(name,
         e == std::errc{} && in_file.size() == 1 && in_file.begin()->begin == off && in_file.begin()->end == off + k_page,
         context + "error=" + std::to_string(static_cast<int>(e)) + " ranges=" + std::to_string(in_file.size()) +
             (in_file.empty() ? std::string() : " first=" + std::to_string(in_file.begin()->begin)));
}

// Runs /mcsafe-scan with `args`; returns what it printed (up to 8 KiB) and its wait status. A
// JSON report is echoed as a "SCANJSON" line, which run.sh parses with Python on the host.
std::string run_scan(const std::string& args, int& status) {
  status = system(("/mcsafe-scan " + args + " > /tmp/scan.out").c_str());
  char text[8192] = {};
  const int fd = open("/tmp/scan.out", O_RDONLY);
  if (fd >= 0) {
    (void)!read(fd, text, sizeof text - 1);
    close(fd);
  }
  if (text[0] == '{') std::printf("SCANJSON %s", text);
  return text;
}

// fsdax with an injected bad block: the mapping raises SIGBUS at the block's page (how: see
// dax_bad_block_fault).
void test_dax_badblock() {
  if (access("/sys/block/pmem0/badblocks", W_OK) != 0) {
    skip("dax", "no /dev/pmem0 (memmap=64M!512M and the nvdimm modules did not give one)");
    return;
  }
  const char* path = "/mnt/data";
  const std::size_t size = 16 * k_page, bad_off = 5 * k_page;
  const int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  std::vector<unsigned char> data(size);
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<unsigned char>(i * 5 + 1);
  if (fd < 0 || pwrite(fd, data.data(), size, 0) != static_cast<ssize_t>(size) || fsync(fd) != 0) {
    report("dax.setup", false, std::string("write /mnt/data: ") + std::strerror(errno));
    return;
  }
  std::uint64_t phys = 0;
  if (!physical_offset(fd, bad_off, phys)) {
    report("dax.fiemap", false, std::string("FIEMAP: ") + std::strerror(errno));
    return;
  }
  const std::uint64_t bad_sector = phys / 512, bad_sectors = k_page / 512;  // one page
  report("dax.inject_badblock", inject_badblock("pmem0", bad_sector, bad_sectors),
         "writing to /sys/block/pmem0/badblocks failed");
  // The kernel's list, through mcsafe's parser and FIEMAP, names the same file range.
  check_one_page_range("dax.badblocks_fiemap_range", fd, mcsafe::read_block_badblocks("pmem0"), bad_off, "");
  auto* m = static_cast<unsigned char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (m == MAP_FAILED) {
    report("dax.mmap", false, std::strerror(errno));
    return;
  }
  const auto bad = reinterpret_cast<std::uintptr_t>(m + bad_off);
  std::vector<unsigned char> buf(3 * k_page);
  auto r = mcsafe::mc_safe_copy(buf.data(), m + bad_off - 1000, 2 * k_page);
  report("dax.copy_bad_block",
         r.copied == 1000 && dax_bad_block_fault(r.fault, bad) && r.fault.side == mcsafe::fault_side::source &&
             std::memcmp(buf.data(), data.data() + bad_off - 1000, 1000) == 0,
         describe(r, bad));
  ssize_t got = pread(fd, buf.data(), 512, static_cast<off_t>(bad_off));
  report("dax.pread_eio", got < 0 && errno == EIO, "pread over the bad block returned " + std::to_string(got));
  // salvage: everything but the bad page reads through pread; the page is the hole.
  std::vector<std::byte> saved(size);
  const mcsafe::salvage_result sv = mcsafe::salvage(fd, 0, saved);
  const bool holes_ok = sv.holes.size() == 1 && sv.holes.begin()->begin == bad_off &&
                        sv.holes.begin()->end == bad_off + k_page;
  report("dax.salvage_reports_hole",
         holes_ok && sv.read == size - k_page && std::memcmp(saved.data(), data.data(), bad_off) == 0 &&
             std::memcmp(saved.data() + bad_off + k_page, data.data() + bad_off + k_page, size - bad_off - k_page) == 0,
         "holes=" + std::to_string(sv.holes.size()) + " bytes=" + std::to_string(sv.holes.bytes()) +
             " read=" + std::to_string(sv.read));
  // poison_span::repair over the mapping (clear_write of the page's lines): tried, outcome reported.
  {
    mcsafe::poison_map known;
    known.insert({bad_off, bad_off + k_page});
    const mcsafe::poison_span<unsigned char> mapped(m, size);
    const mcsafe::write_result w = mapped.repair(0, std::span<const unsigned char>(data.data(), size), known);
    std::printf("INFO poison_span::repair on the fsdax mapping: %s (kind=%s, written=%zu, map now %zu bytes)\n",
                w.ok() ? "succeeded" : "failed", mcsafe::to_string(w.fault.kind), w.written, known.bytes());
  }
  // mcsafe::repair (whole-page pwrite) clears the poison in the kernel; the data then reads
  // through the mapping, and the kernel's badblocks list is empty.
  const mcsafe::repair_result rp =
      mcsafe::repair(fd, static_cast<off_t>(bad_off),
                     std::span<const std::byte>(reinterpret_cast<const std::byte*>(data.data()) + bad_off, k_page));
  r = mcsafe::mc_safe_copy(buf.data(), m + bad_off, k_page);
  char list[64] = {};
  const int bl = open("/sys/block/pmem0/badblocks", O_RDONLY);
  const ssize_t ln = bl >= 0 ? read(bl, list, sizeof list - 1) : -1;
  if (bl >= 0) close(bl);
  report("dax.repair_clears", rp.ok() && r.ok() && std::memcmp(buf.data(), data.data() + bad_off, k_page) == 0 && ln == 0,
         "repair written=" + std::to_string(rp.written) + " then " + describe(r, bad) + ", badblocks now '" + list + "'");
  munmap(m, size);

  // mcsafe-scan, as a person with a suspect file would run it: the same block poisoned again.
  if (access("/mcsafe-scan", X_OK) != 0) {
    skip("dax.mcsafe_scan", "/mcsafe-scan not in the initramfs (run.sh --scan not given)");
  } else {
    const bool again = inject_badblock("pmem0", bad_sector, bad_sectors);
    const int good = open("/tmp/good", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const bool wrote = good >= 0 && write(good, data.data(), size) == static_cast<ssize_t>(size);
    if (good >= 0) close(good);
    int found = 0;
    const std::string report_text = run_scan("--json --salvage /tmp/salvaged /mnt/data", found);
    const char* json = report_text.c_str();
    const std::string want =
        "\"bad_ranges\": [{\"offset_bytes\": " + std::to_string(bad_off) + ", \"length_bytes\": " + std::to_string(k_page);
    report(
        "dax.mcsafe_scan_finds",
        again && WIFEXITED(found) && WEXITSTATUS(found) == 1 && std::strstr(json, want.c_str()) != nullptr &&
            std::strstr(
                json,
                ("\"kernel_badblocks\": {\"source\": \"/sys/block/pmem0/badblocks\", \"partition\": null, \"error\": null, \"ranges\": [{\"offset_bytes\": " +
                 std::to_string(bad_off))
                    .c_str()) != nullptr,
        std::string("exit ") + std::to_string(WEXITSTATUS(found)) + ", report: " + json);
    int fixed = 0;
    run_scan("--repair-from /tmp/good /mnt/data", fixed);
    report("dax.mcsafe_scan_repairs", wrote && WIFEXITED(fixed) && WEXITSTATUS(fixed) == 0,
           "mcsafe-scan --repair-from exit " + std::to_string(WEXITSTATUS(fixed)));
  }
  close(fd);
}

// The same on a partition (pmem1p1, starting 1 MiB into /dev/pmem1): the kernel keeps one
// badblocks list for the disk, in disk sectors, while FIEMAP gives partition offsets.
void test_dax_partition() {
  const char* part_sys = "/sys/block/pmem1/pmem1p1/start";
  if (access(part_sys, R_OK) != 0 || access("/mnt2/.", W_OK) != 0) {
    skip("dax_partition", "no /dev/pmem1p1 mounted at /mnt2 (see the dax mount lines above)");
    return;
  }
  const std::size_t size = 16 * k_page, bad_off = 9 * k_page;
  const int fd = open("/mnt2/data", O_RDWR | O_CREAT | O_TRUNC, 0600);
  std::vector<unsigned char> data(size, 0x5c);
  std::uint64_t phys = 0, start = 0;
  const bool started = mcsafe::detail::read_u64_attribute(part_sys, start) == std::errc{};
  if (fd < 0 || pwrite(fd, data.data(), size, 0) != static_cast<ssize_t>(size) || fsync(fd) != 0 || !started ||
      !physical_offset(fd, bad_off, phys)) {
    report("dax_partition.setup", false, std::string("write, fsync, FIEMAP or start: ") + std::strerror(errno));
    return;
  }
  report("dax_partition.inject_badblock", inject_badblock("pmem1", start + phys / 512, k_page / 512),  // disk sectors
         "writing to /sys/block/pmem1/badblocks failed");
  check_one_page_range("dax_partition.badblocks_fiemap_range", fd, mcsafe::read_partition_badblocks("pmem1", "pmem1p1"),
                       bad_off, "partition start " + std::to_string(start) + ", ");
  // The disk's list read as if it were the partition's names another place (or none).
  mcsafe::poison_map naive;
  const mcsafe::badblocks_list whole = mcsafe::read_block_badblocks("pmem1");
  if (whole.ok()) (void)mcsafe::file_bad_ranges(fd, whole.ranges, naive);
  report("dax_partition.disk_list_alone_is_wrong", whole.ok() && !naive.contains(bad_off),
         "the unclipped list also named offset " + std::to_string(bad_off));
  auto* m = static_cast<unsigned char*>(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0));
  if (m == MAP_FAILED) {
    report("dax_partition.mmap", false, std::strerror(errno));
    close(fd);
    return;
  }
  std::vector<unsigned char> buf(2 * k_page);
  const auto bad = reinterpret_cast<std::uintptr_t>(m + bad_off);
  const auto r = mcsafe::mc_safe_copy(buf.data(), m + bad_off - 64, 2 * k_page);
  report("dax_partition.copy_bad_block", r.copied == 64 && dax_bad_block_fault(r.fault, bad), describe(r, bad));
  munmap(m, size);
  if (access("/mcsafe-scan", X_OK) == 0) {
    int found = 0;
    const std::string report_text = run_scan("--json /mnt2/data", found);
    const char* json = report_text.c_str();
    const std::string want =
        "\"partition\": \"pmem1p1\", \"error\": null, \"ranges\": [{\"offset_bytes\": " + std::to_string(bad_off);
    report("dax_partition.mcsafe_scan_finds",
           WIFEXITED(found) && WEXITSTATUS(found) == 1 && std::strstr(json, want.c_str()) != nullptr,
           std::string("exit ") + std::to_string(WEXITSTATUS(found)) + ", report: " + json);
  }
  close(fd);
}

// --- mcsafe-scan on real bad blocks: partial-page repair, a pmem block device, device DAX ---

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
std::string json_range(std::size_t offset, std::size_t length) {
  return "{\"offset_bytes\": " + std::to_string(offset) + ", \"length_bytes\": " + std::to_string(length) + "}";
}
bool write_file(const char* path, const unsigned char* data, std::size_t n) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const bool ok = fd >= 0 && write(fd, data, n) == static_cast<ssize_t>(n) && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  return ok;
}
// The whole file equals `want` (size included).
bool file_equals(const char* path, const std::vector<unsigned char>& want) {
  std::vector<unsigned char> got(want.size() + 1);
  const int fd = open(path, O_RDONLY);
  const ssize_t n = fd >= 0 ? pread(fd, got.data(), got.size(), 0) : -1;
  if (fd >= 0) close(fd);
  return n == static_cast<ssize_t>(want.size()) && std::memcmp(got.data(), want.data(), want.size()) == 0;
}
std::string exit_and(int status, const std::string& out) {
  return "exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ", report: " + out;
}
bool exited(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

// fsdax file whose size is not a page multiple, bad in its partial last page: a GOOD copy too
// short for that page is refused with nothing written; a dry run lists the page and writes
// nothing; a repair from a same-size GOOD, then (poisoned again) from a longer one, gives back
// exactly the file's bytes and size.
void test_scan_partial_page_repair() {
  if (access("/mcsafe-scan", X_OK) != 0 || access("/sys/block/pmem0/badblocks", W_OK) != 0) {
    skip("scan_tool.partial_page", "no /mcsafe-scan or no /dev/pmem0");
    return;
  }
  const std::size_t size = 2 * k_page + 1808, last = 2 * k_page;
  std::vector<unsigned char> data(size), longer(3 * k_page, 0xee);
  for (std::size_t i = 0; i < size; ++i) data[i] = longer[i] = static_cast<unsigned char>(i * 11 + 7);
  const char* path = "/mnt/partial";
  std::uint64_t phys = 0;
  const int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  const bool set = fd >= 0 && pwrite(fd, data.data(), size, 0) == static_cast<ssize_t>(size) && fsync(fd) == 0 &&
                   physical_offset(fd, last, phys);
  if (fd >= 0) close(fd);
  if (!set || !write_file("/tmp/good-same", data.data(), size) || !write_file("/tmp/good-short", data.data(), size - 100) ||
      !write_file("/tmp/good-long", longer.data(), longer.size()) || !inject_badblock("pmem0", phys / 512, k_page / 512)) {
    report("scan_tool.partial_page.setup", false, std::string("write, FIEMAP or badblocks: ") + std::strerror(errno));
    return;
  }
  const std::string found = "\"bad_ranges\": [" + json_range(last, size - last) + "]";
  int st = 0;
  std::string out = run_scan("--json --repair-from /tmp/good-short /mnt/partial", st);
  struct stat sb {};
  report("scan_tool.partial_page.short_good_refused",
         exited(st, 2) && has(out, found) && has(out, "nothing written") && stat(path, &sb) == 0 &&
             static_cast<std::size_t>(sb.st_size) == size,
         exit_and(st, out));
  out = run_scan("--json --dry-run --repair-from /tmp/good-same /mnt/partial", st);
  char probe[16];
  const int pf = open(path, O_RDONLY);
  const bool still_bad = pf >= 0 && pread(pf, probe, sizeof probe, static_cast<off_t>(last)) < 0 && errno == EIO;
  if (pf >= 0) close(pf);
  report("scan_tool.partial_page.dry_run_writes_nothing",
         exited(st, 1) && has(out, found) && still_bad &&
             has(out, "\"dry_run\": true, \"pages\": [" + json_range(last, k_page) + "], \"rewritten_bytes\": null"),
         exit_and(st, out) + (still_bad ? "" : " (the page reads now)"));
  out = run_scan("--json --repair-from /tmp/good-same /mnt/partial", st);
  report("scan_tool.partial_page.repair_same_size_good",
         exited(st, 0) && has(out, found) &&
             has(out, "\"rewritten_bytes\": 4096, \"refused\": [], \"bad_bytes_after\": 0") && file_equals(path, data),
         exit_and(st, out));
  // Poisoned again, repaired from a longer GOOD, text report: found first, then repaired.
  const bool again = inject_badblock("pmem0", phys / 512, k_page / 512);
  out = run_scan("--repair-from /tmp/good-long /mnt/partial", st);
  const std::size_t at_found = out.find("bad: offset " + std::to_string(last) + ", 1808 bytes");
  const std::size_t at_repaired = out.find("repaired: 4096 bytes rewritten, 0 refused by the kernel; now 0 unreadable");
  report("scan_tool.partial_page.repair_longer_good_keeps_size",
         again && exited(st, 0) && at_found != std::string::npos && at_repaired != std::string::npos &&
             at_found < at_repaired && file_equals(path, data),
         exit_and(st, out));
}

// /dev/pmem2 as a raw block device: a bad block injected in its badblocks list is found by the
// scan (through the page cache, which cannot read it) at the same offset as the kernel's list,
// salvaged around, and repaired with a whole-page write.
void test_scan_block_pmem() {
  if (access("/mcsafe-scan", X_OK) != 0 || access("/sys/block/pmem2/badblocks", W_OK) != 0) {
    skip("scan_tool.block_pmem", "no /mcsafe-scan or no /dev/pmem2 (memmap=64M!768M)");
    return;
  }
  const std::size_t bad_off = 1u << 20, n = 2u << 20;
  std::vector<unsigned char> data(n);
  for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<unsigned char>(i * 3 + 1);
  const int fd = open("/dev/pmem2", O_RDWR);
  const bool set = fd >= 0 && pwrite(fd, data.data(), n, 0) == static_cast<ssize_t>(n) && fsync(fd) == 0 &&
                   write_file("/tmp/good-dev", data.data(), n) && inject_badblock("pmem2", bad_off / 512, k_page / 512) &&
                   posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;  // the next reads go to the device
  if (fd >= 0) close(fd);
  if (!set) {
    report("scan_tool.block_pmem.setup", false, std::string("write /dev/pmem2 or badblocks: ") + std::strerror(errno));
    return;
  }
  int st = 0;
  std::string out = run_scan("--json --salvage /tmp/pmem2.img /dev/pmem2", st);
  const std::string range = "[" + json_range(bad_off, k_page) + "]";
  std::vector<unsigned char> img(n);
  const int im = open("/tmp/pmem2.img", O_RDONLY);
  const bool read_img = im >= 0 && pread(im, img.data(), n, 0) == static_cast<ssize_t>(n);
  if (im >= 0) close(im);
  report("scan_tool.block_pmem.finds_and_salvages",
         exited(st, 1) && has(out, "\"target\": \"block_pmem\"") && has(out, "\"bad_ranges\": " + range) &&
             has(out,
                 "\"source\": \"/sys/block/pmem2/badblocks\", \"partition\": null, \"error\": null, \"ranges\": " + range) &&
             has(out, "\"holes\": [{\"offset_bytes\": " + std::to_string(bad_off)) && read_img &&
             std::memcmp(img.data(), data.data(), bad_off) == 0 &&
             std::memcmp(img.data() + bad_off + k_page, data.data() + bad_off + k_page, n - bad_off - k_page) == 0,
         exit_and(st, out));
  out = run_scan("--json --repair-from /tmp/good-dev /dev/pmem2", st);
  char list[64] = {};
  const int bl = open("/sys/block/pmem2/badblocks", O_RDONLY);
  const ssize_t ln = bl >= 0 ? read(bl, list, sizeof list - 1) : -1;
  if (bl >= 0) close(bl);
  report("scan_tool.block_pmem.repairs",
         exited(st, 0) && has(out, "\"rewritten_bytes\": 4096, \"refused\": [], \"bad_bytes_after\": 0") && ln == 0,
         exit_and(st, out) + " badblocks now '" + list + "'");
  // mapped_file opens the block device at its whole size (fstat says 0 there) and reads it back.
  mcsafe::mapped_file mf;
  const std::errc oe = mf.open("/dev/pmem2", mcsafe::map_mode::read_only);
  std::uint64_t bytes = 0;
  const int bd = open("/dev/pmem2", O_RDONLY);
  const bool sized = bd >= 0 && ioctl(bd, BLKGETSIZE64, &bytes) == 0;
  if (bd >= 0) close(bd);
  std::vector<std::byte> back(n);
  const bool same = oe == std::errc{} && mf.read(0, back).ok() && std::memcmp(back.data(), data.data(), n) == 0;
  report("mapped_file.block_device", sized && oe == std::errc{} && mf.size() == bytes && same,
         "open: " + std::make_error_code(oe).message() + ", size " + std::to_string(mf.size()) + " of " +
             std::to_string(bytes));
}

bool write_sysfs(const std::string& path, const std::string& value) {
  const int fd = open(path.c_str(), O_WRONLY);
  const bool ok = fd >= 0 && write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  if (fd >= 0) close(fd);
  return ok;
}

// The namespace behind /dev/pmem2 reconfigured as device DAX through sysfs (what `ndctl
// create-namespace -m devdax` does for a legacy namespace: unbind it, point the region's dax
// seed at it, bind the seed to dax_pmem), then /dev/daxN.M scanned and salvaged.
void test_scan_device_dax() {
  char ns_path[PATH_MAX] = {};
  if (access("/mcsafe-scan", X_OK) != 0 || realpath("/sys/block/pmem2/device", ns_path) == nullptr) {
    skip("scan_tool.device_dax", "no /mcsafe-scan or no /dev/pmem2 to reconfigure");
    return;
  }
  const std::string ns_dir = ns_path, ns = ns_dir.substr(ns_dir.rfind('/') + 1),
                    region = ns_dir.substr(0, ns_dir.rfind('/'));
  std::string seed;
  const bool seeded = mcsafe::detail::read_text_file(region + "/dax_seed", seed) == std::errc{} && !seed.empty();
  if (!seed.empty() && seed.back() == '\n') seed.pop_back();
  std::string step = "dax_seed";
  bool ok = seeded;
  for (const auto& [file, value] : {std::pair<std::string, std::string>{"/sys/bus/nd/drivers/nd_pmem/unbind", ns},
                                    {region + "/" + seed + "/uuid", "6f8a3c1e-2b4d-4e5f-9a7b-1c2d3e4f5a6b"},
                                    {region + "/" + seed + "/mode", "pmem"},
                                    {region + "/" + seed + "/namespace", ns},
                                    {"/sys/bus/nd/drivers/dax_pmem/bind", seed}}) {
    if (!ok) break;
    step = file + " <- " + value;
    ok = write_sysfs(file, value);
  }
  const std::string dev = "/dev/" + seed, sys = "/sys/bus/dax/devices/" + seed;
  for (int i = 0; ok && i < 50 && access(dev.c_str(), R_OK) != 0; ++i) usleep(100000);
  std::uint64_t size = 0, align = 0;
  if (!ok || access(dev.c_str(), R_OK) != 0 || mcsafe::detail::read_u64_attribute(sys + "/size", size) != std::errc{}) {
    report("scan_tool.device_dax.setup", false,
           "namespace " + ns + ", seed '" + seed +
               "': " + (ok ? dev + " did not appear" : step + ": " + std::strerror(errno)));
    return;
  }
  (void)mcsafe::detail::read_u64_attribute(sys + "/align", align);
  std::printf("INFO %s: device DAX of %llu bytes, align %llu\n", dev.c_str(), static_cast<unsigned long long>(size),
              static_cast<unsigned long long>(align));
  // A pattern written through a mapping of the device (2 MiB-aligned, as device DAX demands).
  const std::size_t at = 4u << 20, len = 2u << 20;
  std::vector<unsigned char> data(len);
  for (std::size_t i = 0; i < len; ++i) data[i] = static_cast<unsigned char>(i * 13 + 5);
  const int fd = open(dev.c_str(), O_RDWR);
  void* m = fd >= 0 && size >= at + len ? mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(at))
                                        : MAP_FAILED;
  if (m != MAP_FAILED) {
    std::memcpy(m, data.data(), len);
    munmap(m, len);
  }
  if (fd >= 0) close(fd);
  int st = 0;
  const std::string out = run_scan("--json --salvage /tmp/dax.img " + dev, st);
  std::vector<unsigned char> img(len);
  const int im = open("/tmp/dax.img", O_RDONLY);
  struct stat sb {};
  const bool read_img = im >= 0 && pread(im, img.data(), len, static_cast<off_t>(at)) == static_cast<ssize_t>(len) &&
                        fstat(im, &sb) == 0 && static_cast<std::uint64_t>(sb.st_size) == size;
  if (im >= 0) close(im);
  report("scan_tool.device_dax.scan_and_salvage",
         m != MAP_FAILED && exited(st, 0) &&
             has(out, "\"target\": \"device_dax\", \"size_bytes\": " + std::to_string(size)) &&
             has(out, "\"bad_ranges\": []") && has(out, "\"read_bytes\": " + std::to_string(size)) && read_img &&
             has(out, "\"source\": \"/sys/bus/nd/devices/" + region.substr(region.rfind('/') + 1) +
                          "/badblocks\", \"partition\": null, \"error\": null, \"ranges\": []") &&
             img == data,
         std::string(m == MAP_FAILED ? "mmap of the device failed; " : "") + exit_and(st, out));
  // mapped_file opens device DAX at its sysfs size and reads through the mapping.
  mcsafe::mapped_file mf;
  const std::errc oe = mf.open(dev.c_str(), mcsafe::map_mode::read_only);
  std::vector<std::byte> back(len);
  const bool same = oe == std::errc{} && mf.read(at, back).ok() && std::memcmp(back.data(), data.data(), len) == 0;
  report("mapped_file.device_dax", oe == std::errc{} && mf.size() == size && same,
         "open: " + std::make_error_code(oe).message() + ", size " + std::to_string(mf.size()) + " of " +
             std::to_string(size));
  mf.close();
  const std::string refused = run_scan("--json --repair-from /tmp/good-dev " + dev, st);
  report("scan_tool.device_dax.repair_refused", exited(st, 2) && has(refused, "cannot write device DAX"),
         exit_and(st, refused));
}

// ---- mapped_file (mapped_file.hpp): the causes, from a real kernel ---------------------------

std::string describe(const mcsafe::mapped_result& r) {
  char buf[240];
  std::snprintf(buf, sizeof buf, "cause=%s done=%zu bad=[%zu,%zu) file_size=%llu errno=%d kind=%s lsb=%u si_code=%d",
                mcsafe::to_string(r.cause), r.done, r.bad.begin, r.bad.end, static_cast<unsigned long long>(r.file_size),
                r.sys_errno, mcsafe::to_string(r.fault.kind), r.fault.lsb, r.fault.si_code);
  return buf;
}

std::byte mf_pattern(std::size_t i) { return static_cast<std::byte>((i * 13 + 1) >> 1); }
bool mf_matches(const std::byte* p, std::size_t file_offset, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != mf_pattern(file_offset + i)) return false;
  return true;
}
// Writes the pattern over [0, size) of the file through the mapping.
bool mf_fill(const mcsafe::mapped_file& m, std::size_t size) {
  std::vector<std::byte> content(size);
  for (std::size_t i = 0; i < size; ++i) content[i] = mf_pattern(i);
  return m.write(0, content).ok();
}

// Attaches `image` (in the initramfs) to a free loop device; returns its path or "".
std::string attach_loop(const char* image) {
  const int ctl = open("/dev/loop-control", O_RDWR);
  const int n = ctl >= 0 ? ioctl(ctl, LOOP_CTL_GET_FREE) : -1;
  if (ctl >= 0) close(ctl);
  if (n < 0) return "";
  const std::string dev = "/dev/loop" + std::to_string(n);
  const int img = open(image, O_RDWR), loop = open(dev.c_str(), O_RDWR);
  const bool ok = img >= 0 && loop >= 0 && ioctl(loop, LOOP_SET_FD, img) == 0;
  if (img >= 0) close(img);
  if (loop >= 0) close(loop);
  return ok ? dev : "";
}

// Attaches `image` to a loop device and mounts its ext4 at `dir`; returns the loop device, or
// "" after printing a SKIP line for `name`.
std::string mount_image(const char* image, const char* dir, const char* name) {
  const std::string dev = attach_loop(image);
  mkdir(dir, 0700);
  if (dev.empty() || mount(dev.c_str(), dir, "ext4", 0, "") != 0) {
    skip(name, std::string("no loop device with ") + image + " mounted: " + std::strerror(errno));
    return "";
  }
  return dev;
}

// ext4 (page cache, no DAX) on a loop device, filled to the last block: a store through the
// mapping into a hole of a sparse file gets SIGBUS; mapped_file says no_space.
void test_mapped_file_ext4_full() {
  if (mount_image("/full.img", "/mnt-full", "mapped_file.ext4_full").empty()) return;
  mcsafe::mapped_file m;
  std::vector<std::byte> head(2 * k_page, std::byte{0x11});
  if (m.open("/mnt-full/table", mcsafe::map_mode::read_write, {.create = true}) != std::errc{} ||
      m.resize(64 * k_page) != std::errc{} || !m.write(0, head).ok() || fsync(m.fd()) != 0) {
    report("mapped_file.ext4_full.setup", false, std::strerror(errno));
    return;
  }
  const int filler = open("/mnt-full/filler", O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char> chunk(k_page, 'f');
  // Until a write fails right after an fsync: writeback gives back blocks ext4 reserved for
  // delayed allocation, which the next round takes.
  std::size_t filled = 0, round = 1;
  while (filler >= 0 && round != 0) {
    round = 0;
    while (write(filler, chunk.data(), chunk.size()) > 0) round += chunk.size();
    fsync(filler);
    filled += round;
  }
  if (filler >= 0) close(filler);
  // The last blocks: write() of a large file also needs room for its extent tree, so a small
  // file takes what is left a page at a time (seen: one block left otherwise).
  const int last = open("/mnt-full/last", O_WRONLY | O_CREAT | O_TRUNC, 0600);
  for (off_t at = 0; last >= 0 && fallocate(last, 0, at, static_cast<off_t>(k_page)) == 0; at += static_cast<off_t>(k_page))
    filled += k_page;
  if (last >= 0) close(last);
  struct statvfs vfs {};
  statvfs("/mnt-full", &vfs);
  std::printf("INFO ext4 filled with %zu bytes: f_bfree=%llu f_bavail=%llu\n", filled,
              static_cast<unsigned long long>(vfs.f_bfree), static_cast<unsigned long long>(vfs.f_bavail));
  std::vector<std::byte> rec(5 * k_page, std::byte{0x5a});
  const std::uint64_t offset = 2 * k_page - 700;
  const mcsafe::mapped_result r = m.write(offset, rec);
  std::vector<std::byte> back(700);
  const bool landed = pread(m.fd(), back.data(), 700, static_cast<off_t>(offset)) == 700 &&
                      std::memcmp(back.data(), rec.data(), 700) == 0;
  report("mapped_file.ext4_full.write_into_hole_no_space",
         r.cause == mcsafe::mapped_cause::no_space && r.done == 700 && r.sys_errno == ENOSPC && r.bad.begin == 2 * k_page &&
             r.bad.end == 3 * k_page && r.fault.kind == mcsafe::fault_kind::bus_error && landed,
         describe(r) + (landed ? "" : ", the 700 bytes before the hole did not land"));
  const std::errc e = m.reserve(64 * k_page, 16 * k_page);
  report("mapped_file.ext4_full.reserve_enospc", e == std::errc::no_space_on_device && m.size() == 64 * k_page,
         "reserve returned " + std::to_string(static_cast<int>(e)));
  m.close();
  umount2("/mnt-full", MNT_DETACH);
}

// A device-mapper device over a loop device whose table errors one page of a file: the page
// read through the mapping is io_error, the pages around it read fine (dm ioctls: no dmsetup).
bool dm_ioctl_call(int ctl, unsigned long cmd, const char* name, const void* extra, std::size_t extra_len,
                   std::uint32_t targets, dm_ioctl* reply) {
  alignas(8) unsigned char buf[16384] = {};
  auto* h = reinterpret_cast<dm_ioctl*>(buf);
  h->version[0] = DM_VERSION_MAJOR;
  h->data_size = sizeof buf;
  h->data_start = sizeof(dm_ioctl);
  h->target_count = targets;
  std::snprintf(h->name, sizeof h->name, "%s", name);
  if (extra_len > sizeof buf - sizeof(dm_ioctl)) return false;
  if (extra_len != 0) std::memcpy(buf + sizeof(dm_ioctl), extra, extra_len);
  if (ioctl(ctl, cmd, buf) != 0) return false;
  if (reply != nullptr) *reply = *h;
  return true;
}

// Creates and resumes dm device `name` from (start, length, type, params) targets; returns
// the path of a block node made for it, or "".
struct dm_target {
  std::uint64_t start, length;
  const char* type;
  std::string params;
};
std::string dm_create(const char* name, const std::vector<dm_target>& targets) {
  const int ctl = open("/dev/mapper/control", O_RDWR);
  if (ctl < 0) return "";
  std::vector<unsigned char> table;
  for (const dm_target& t : targets) {
    dm_target_spec spec{};
    spec.sector_start = t.start;
    spec.length = t.length;
    std::snprintf(spec.target_type, sizeof spec.target_type, "%s", t.type);
    const std::size_t len = (sizeof spec + t.params.size() + 1 + 7) / 8 * 8;
    spec.next = static_cast<std::uint32_t>(len);
    const std::size_t at = table.size();
    table.resize(at + len, 0);
    std::memcpy(table.data() + at, &spec, sizeof spec);
    std::memcpy(table.data() + at + sizeof spec, t.params.c_str(), t.params.size());
  }
  dm_ioctl created{};
  const bool ok = dm_ioctl_call(ctl, DM_DEV_CREATE, name, nullptr, 0, 0, &created) &&
                  dm_ioctl_call(ctl, DM_TABLE_LOAD, name, table.data(), table.size(),
                                static_cast<std::uint32_t>(targets.size()), nullptr) &&
                  dm_ioctl_call(ctl, DM_DEV_SUSPEND, name, nullptr, 0, 0, nullptr);  // flags 0: resume
  close(ctl);
  if (!ok) return "";
  const std::string node = std::string("/dev/") + name;
  const dev_t dev = static_cast<dev_t>(created.dev);
  if (mknod(node.c_str(), S_IFBLK | 0600, makedev(major(dev), minor(dev))) != 0 && errno != EEXIST) return "";
  return node;
}

void test_mapped_file_dm_error() {
  const std::string loop = mount_image("/eio.img", "/mnt-eio", "mapped_file.dm_error");
  if (loop.empty()) return;
  const std::size_t size = 16 * k_page, bad_off = 5 * k_page;
  std::uint64_t phys = 0;
  {
    mcsafe::mapped_file w;
    const bool ok = w.open("/mnt-eio/data", mcsafe::map_mode::read_write, {.create = true}) == std::errc{} &&
                    w.resize(size) == std::errc{} && mf_fill(w, size) && fsync(w.fd()) == 0 &&
                    physical_offset(w.fd(), bad_off, phys);
    if (!ok) {
      report("mapped_file.dm_error.setup", false, std::string("write, fsync or FIEMAP: ") + std::strerror(errno));
      umount2("/mnt-eio", MNT_DETACH);
      return;
    }
  }
  umount2("/mnt-eio", 0);
  struct stat st {};
  stat("/eio.img", &st);
  struct stat lst {};
  stat(loop.c_str(), &lst);
  const std::uint64_t sectors = static_cast<std::uint64_t>(st.st_size) / 512, bad = phys / 512, count = k_page / 512;
  const std::string lin = std::to_string(major(lst.st_rdev)) + ":" + std::to_string(minor(lst.st_rdev)) + " ";
  const std::string dm =
      dm_create("mcsafe-eio", {{0, bad, "linear", lin + "0"},
                               {bad, count, "error", ""},
                               {bad + count, sectors - bad - count, "linear", lin + std::to_string(bad + count)}});
  if (dm.empty() || mount(dm.c_str(), "/mnt-eio", "ext4", MS_RDONLY, "") != 0) {
    report("mapped_file.dm_error.setup", false, "dm device with an error target: " + std::string(std::strerror(errno)));
    return;
  }
  mcsafe::mapped_file m;
  if (m.open("/mnt-eio/data", mcsafe::map_mode::read_only) != std::errc{} || m.size() != size) {
    report("mapped_file.dm_error.open", false, std::strerror(errno));
    return;
  }
  std::vector<std::byte> buf(size);
  mcsafe::mapped_result r = m.read(bad_off - 1000, std::span<std::byte>(buf.data(), 2 * k_page));
  report("mapped_file.dm_error.read_io_error",
         r.cause == mcsafe::mapped_cause::io_error && r.done == 1000 && r.sys_errno == EIO && r.bad.begin == bad_off &&
             r.bad.end == bad_off + k_page && r.fault.si_code == BUS_ADRERR && mf_matches(buf.data(), bad_off - 1000, 1000),
         describe(r));
  const mcsafe::mapped_result before = m.read(0, std::span<std::byte>(buf.data(), bad_off));
  const mcsafe::mapped_result after =
      m.read(bad_off + k_page, std::span<std::byte>(buf.data() + bad_off + k_page, size - bad_off - k_page));
  report("mapped_file.dm_error.neighbours_fine",
         before.ok() && after.ok() && mf_matches(buf.data(), 0, bad_off) &&
             mf_matches(buf.data() + bad_off + k_page, bad_off + k_page, size - bad_off - k_page),
         "before: " + describe(before) + "; after: " + describe(after));
  std::vector<std::byte> saved(size);
  const mcsafe::salvage_result sv = m.salvage(0, saved);
  report("mapped_file.dm_error.salvage_hole",
         sv.holes.size() == 1 && sv.holes.begin()->begin == bad_off && sv.holes.begin()->end == bad_off + k_page &&
             sv.read == size - k_page,
         "holes=" + std::to_string(sv.holes.size()) + " bytes=" + std::to_string(sv.holes.bytes()));
  m.close();
  umount2("/mnt-eio", MNT_DETACH);
}

// A poisoned page of a tmpfs file mapped through mapped_file: hw_poison with the page, then
// refused as known_bad without another machine check.
void test_mapped_file_hwpoison() {
  mkdir("/mnt-poison", 0700);
  mcsafe::mapped_file m;
  const std::size_t size = 4 * k_page;
  if (mount("tmpfs", "/mnt-poison", "tmpfs", 0, "size=1m") != 0 ||
      m.open("/mnt-poison/file", mcsafe::map_mode::read_write, {.create = true}) != std::errc{} ||
      m.resize(size) != std::errc{} || !mf_fill(m, size)) {
    report("mapped_file.hwpoison.setup", false, std::strerror(errno));
    return;
  }
  if (const std::string why = poison_page(m.data() + k_page); !why.empty()) {
    report("mapped_file.hwpoison.inject", false, why);
    return;
  }
  std::vector<std::byte> buf(size);
  const mcsafe::mapped_result r = m.read(k_page - 100, std::span<std::byte>(buf.data(), 300));
  report("mapped_file.hwpoison.read",
         r.cause == mcsafe::mapped_cause::hw_poison && r.done == 100 && r.bad.begin == k_page && r.bad.end == 2 * k_page &&
             r.fault.lsb == 12 && r.fault.si_code == BUS_MCEERR_AR && mf_matches(buf.data(), k_page - 100, 100),
         describe(r));
  const std::vector<std::byte> rec(64, std::byte{1});
  const mcsafe::mapped_result w = m.write(k_page + 64, rec);
  report("mapped_file.hwpoison.write", w.cause == mcsafe::mapped_cause::hw_poison && w.done == 0, describe(w));
  m.known_bad().insert(r.bad);
  const mcsafe::mapped_result k = m.read(0, buf);
  report("mapped_file.hwpoison.then_known_bad",
         k.cause == mcsafe::mapped_cause::known_bad && k.done == k_page && k.fault.si_code == 0, describe(k));
  const mcsafe::mapped_result n = m.read(2 * k_page, std::span<std::byte>(buf.data(), 2 * k_page));
  report("mapped_file.hwpoison.neighbours_fine", n.ok() && mf_matches(buf.data(), 2 * k_page, 2 * k_page), describe(n));
  std::vector<std::byte> saved(size);
  const mcsafe::salvage_result sv = m.salvage(0, saved);
  std::printf("INFO mapped_file::salvage over the poisoned tmpfs page: holes=%zu bytes=%zu read=%zu\n", sv.holes.size(),
              sv.holes.bytes(), sv.read);
  m.close();
  umount2("/mnt-poison", MNT_DETACH);
}

// A 2 MiB hugetlb page poisoned in one of its 4 KiB frames: SIGBUS with si_addr_lsb 21; the whole granule
// is bad for mapped_file and for poison_span::scan, its neighbours good.
void test_mapped_file_hugetlb() {
  constexpr std::size_t huge = 2u << 20;
  const int nr = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
  const bool set = nr >= 0 && write(nr, "8\n", 2) == 2;
  if (nr >= 0) close(nr);
  const int fd = memfd_create("mcsafe-huge", MFD_HUGETLB);  // the default size: 2 MiB on x86-64
  if (!set || fd < 0 || ftruncate(fd, 3 * huge) != 0) {
    skip("mapped_file.hugetlb", std::string("no 2 MiB hugetlb pages (nr_hugepages, memfd_create): ") + std::strerror(errno));
    if (fd >= 0) close(fd);
    return;
  }
  mcsafe::mapped_file m;
  if (m.adopt(fd, mcsafe::map_mode::read_write) != std::errc{} || m.size() != 3 * huge || !mf_fill(m, 3 * huge)) {
    report("mapped_file.hugetlb.setup", false, std::strerror(errno));
    return;
  }
  if (const std::string why = poison_page(m.data() + huge + 3 * k_page); !why.empty()) {
    report("mapped_file.hugetlb.inject", false, why);
    return;
  }
  std::vector<std::byte> buf(3 * huge);
  mcsafe::mapped_result r = m.read(huge - 4096, std::span<std::byte>(buf.data(), 8192));
  report("mapped_file.hugetlb.read_granule",
         r.cause == mcsafe::mapped_cause::hw_poison && r.done == 4096 && r.fault.lsb == 21 && r.bad.begin == huge &&
             r.bad.end == 2 * huge && mf_matches(buf.data(), huge - 4096, 4096),
         describe(r));
  r = m.read(huge + huge / 2, std::span<std::byte>(buf.data(), 100));
  report("mapped_file.hugetlb.read_inside_granule",
         r.cause == mcsafe::mapped_cause::hw_poison && r.done == 0 && r.bad.begin == huge && r.bad.end == 2 * huge,
         describe(r));
  mcsafe::poison_map via_file, via_span;
  const std::size_t a = m.span().scan(via_file);
  const std::size_t b = mcsafe::poison_span<const std::byte>(m.data(), m.size()).scan(via_span);
  const auto one_granule = [&](const mcsafe::poison_map& p) {
    return p.size() == 1 && p.begin()->begin == huge && p.begin()->end == 2 * huge;
  };
  report("mapped_file.hugetlb.scan_whole_granule", a == huge && b == huge && one_granule(via_file) && one_granule(via_span),
         "mapped_file scan " + std::to_string(a) + " bytes, poison_span scan " + std::to_string(b) + " bytes");
  const mcsafe::mapped_result lo = m.read(0, std::span<std::byte>(buf.data(), huge));
  const mcsafe::mapped_result hi = m.read(2 * huge, std::span<std::byte>(buf.data() + 2 * huge, huge));
  report("mapped_file.hugetlb.neighbours_fine",
         lo.ok() && hi.ok() && mf_matches(buf.data(), 0, huge) && mf_matches(buf.data() + 2 * huge, 2 * huge, huge),
         "below: " + describe(lo) + "; above: " + describe(hi));
}

// fsdax: a bad block under a mapped_file reads as io_error (the kernel's pread of that page
// fails too), or as hw_poison since Linux 6.5; the kernel's badblocks list through FIEMAP fills known_bad(); salvage reads around
// it and repair (whole-page pwrite) clears it and takes it out of known_bad().
void test_mapped_file_fsdax() {
  if (access("/sys/block/pmem0/badblocks", W_OK) != 0 || access("/mnt/.", W_OK) != 0) {
    skip("mapped_file.fsdax", "no fsdax ext4 on /dev/pmem0 at /mnt (see the dax mount lines above)");
    return;
  }
  const std::size_t size = 8 * k_page, bad_off = 3 * k_page;
  mcsafe::mapped_file m;
  std::uint64_t phys = 0;
  if (m.open("/mnt/mapped", mcsafe::map_mode::read_write, {.create = true}) != std::errc{} ||
      m.resize(size) != std::errc{} || !mf_fill(m, size) || fsync(m.fd()) != 0 || !physical_offset(m.fd(), bad_off, phys) ||
      !inject_badblock("pmem0", phys / 512, k_page / 512)) {
    report("mapped_file.fsdax.setup", false, std::string("write, FIEMAP or badblocks: ") + std::strerror(errno));
    return;
  }
  // Pages mapped before the injection stay mapped: map the file afresh, as a reader opening it would.
  if (m.open("/mnt/mapped", mcsafe::map_mode::read_write) != std::errc{}) {
    report("mapped_file.fsdax.reopen", false, std::strerror(errno));
    return;
  }
  std::vector<std::byte> buf(size);
  const mcsafe::mapped_result r = m.read(bad_off - 64, std::span<std::byte>(buf.data(), k_page));
  // The cause follows the signal (dax_bad_block_fault): io_error from pread's EIO after
  // BUS_ADRERR, hw_poison naming the page after BUS_MCEERR_AR.
  const bool as_poison = kernel_version() >= 605;
  report("mapped_file.fsdax.read_bad_block",
         r.cause == (as_poison ? mcsafe::mapped_cause::hw_poison : mcsafe::mapped_cause::io_error) && r.done == 64 &&
             r.sys_errno == (as_poison ? 0 : EIO) && r.bad.begin == bad_off && (!as_poison || r.bad.end == bad_off + k_page),
         describe(r));
  const mcsafe::badblocks_list list = mcsafe::read_block_badblocks("pmem0");
  const std::errc e = list.ok() ? mcsafe::file_bad_ranges(m.fd(), list.ranges, m.known_bad()) : list.error;
  const mcsafe::mapped_result k = m.read(0, buf);
  report("mapped_file.fsdax.badblocks_known_bad",
         e == std::errc{} && k.cause == mcsafe::mapped_cause::known_bad && k.done == bad_off && k.fault.si_code == 0,
         describe(k));
  std::vector<std::byte> saved(size);
  const mcsafe::salvage_result sv = m.salvage(0, saved);
  report("mapped_file.fsdax.salvage_hole",
         sv.holes.size() == 1 && sv.holes.begin()->begin == bad_off && sv.holes.begin()->end == bad_off + k_page,
         "holes=" + std::to_string(sv.holes.size()) + " bytes=" + std::to_string(sv.holes.bytes()));
  std::vector<std::byte> page(k_page);
  for (std::size_t i = 0; i < k_page; ++i) page[i] = mf_pattern(bad_off + i);
  const mcsafe::repair_result rp = m.repair(bad_off, page);
  const mcsafe::mapped_result after = m.read(0, buf);
  report("mapped_file.fsdax.repair_clears",
         rp.ok() && m.known_bad().empty() && after.ok() && mf_matches(buf.data(), 0, size),
         "repair written=" + std::to_string(rp.written) + ", then " + describe(after));
}

#if defined(MCSAFE_GUEST_SQLITE)
// ---- SQLite through the mcsafe VFS (examples/sqlite), on real bad media ----------------------

constexpr int k_rows = 2000;
std::string row_blob(int a) {
  std::string b(200, '\0');
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>('a' + (static_cast<std::size_t>(a) * 7 + i) % 26);
  return b;
}

// A table of k_rows rows (integer key, 200-byte blob), written with the default VFS.
bool sqlite_create(const char* path) {
  unlink(path);
  sqlite3* db = nullptr;
  bool ok = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "unix") == SQLITE_OK &&
            sqlite3_exec(db, "create table t(a integer primary key, b blob); begin", nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_stmt* st = nullptr;
  ok = ok && sqlite3_prepare_v2(db, "insert into t values(?, ?)", -1, &st, nullptr) == SQLITE_OK;
  for (int a = 1; ok && a <= k_rows; ++a) {
    const std::string b = row_blob(a);
    ok = sqlite3_bind_int(st, 1, a) == SQLITE_OK &&
         sqlite3_bind_blob(st, 2, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT) == SQLITE_OK &&
         sqlite3_step(st) == SQLITE_DONE && sqlite3_reset(st) == SQLITE_OK;
  }
  sqlite3_finalize(st);
  ok = ok && sqlite3_exec(db, "commit", nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

// A full scan on a new connection through `vfs`: the extended result code it ended with.
int sqlite_scan(const char* path, const char* vfs, const char* pragma) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, vfs);
  if (rc == SQLITE_OK && pragma != nullptr) rc = sqlite3_exec(db, pragma, nullptr, nullptr, nullptr);
  sqlite3_extended_result_codes(db, 1);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "select count(*), sum(length(b)) from t", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc;
}

// Every row by key through the mcsafe VFS: how many came back exact, how many failed.
void sqlite_rows(const char* path, int& good, int& failed, int& wrong) {
  good = failed = wrong = 0;
  sqlite3* db = nullptr;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, "mcsafe") != SQLITE_OK ||
      sqlite3_prepare_v2(db, "select b from t where a = ?", -1, &st, nullptr) != SQLITE_OK) {
    failed = -1;
    sqlite3_close(db);
    return;
  }
  for (int a = 1; a <= k_rows; ++a) {
    sqlite3_bind_int(st, 1, a);
    if (sqlite3_step(st) == SQLITE_ROW) {
      const std::string want = row_blob(a);
      const bool same = sqlite3_column_bytes(st, 0) == static_cast<int>(want.size()) &&
                        std::memcmp(sqlite3_column_blob(st, 0), want.data(), want.size()) == 0;
      ++(same ? good : wrong);
    } else {
      ++failed;
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// The stock reader with mmap_size in a child: its wait status.
int sqlite_stock_mmap_child(const char* path) {
  const pid_t pid = fork();
  if (pid == 0) {
    signal(SIGBUS, SIG_DFL);
    _exit(sqlite_scan(path, "unix", "pragma mmap_size = 1073741824") == SQLITE_OK ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return st;
}

std::string sqlite_status(const char* what, int rc) {
  return std::string(what) + " " + std::to_string(rc) + " (" + sqlite3_errstr(rc) + ")";
}

// fsdax ext4 with a bad block under one leaf page of a database: stock SQLite with mmap_size dies
// of SIGBUS; the default VFS (pread) and the mcsafe VFS answer an error and live, the mcsafe VFS
// with SQLITE_IOERR_READ; through it every row off that page still reads exactly.
void test_sqlite_fsdax() {
  if (access("/sys/block/pmem0/badblocks", W_OK) != 0 || access("/mnt/.", W_OK) != 0) {
    skip("sqlite.fsdax", "no fsdax ext4 on /dev/pmem0 at /mnt");
    return;
  }
  const char* path = "/mnt/rows.db";
  std::uint64_t phys = 0;
  struct stat sb {};
  const bool made = sqlite_create(path) && stat(path, &sb) == 0;
  // A leaf page in the middle (page 1 is the schema, page 2 the table's root).
  const std::size_t bad_off = made ? static_cast<std::size_t>(sb.st_size) / k_page / 2 * k_page : 0;
  const int fd = open(path, O_RDONLY);
  const bool set = made && fd >= 0 && physical_offset(fd, bad_off, phys) &&
                   inject_badblock("pmem0", phys / 512, k_page / 512);
  if (fd >= 0) close(fd);
  if (!set) {
    report("sqlite.fsdax.setup", false, std::string("database, FIEMAP or badblocks: ") + std::strerror(errno));
    return;
  }
  const int st = sqlite_stock_mmap_child(path);
  report("sqlite.fsdax.stock_mmap_dies", WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "wait status " + std::to_string(st));
  // The default VFS lives too, but its pread of the page comes back short (the good sectors
  // before the bad one), which SQLite's pager turns into zeros: "malformed", not an I/O error.
  const int plain = sqlite_scan(path, "unix", nullptr);
  report("sqlite.fsdax.default_vfs_error", plain != SQLITE_OK, sqlite_status("default VFS:", plain));
  const int ours = sqlite_scan(path, "mcsafe", "pragma mmap_size = 1073741824");
  report("sqlite.fsdax.mcsafe_vfs_error", ours == SQLITE_IOERR_READ, sqlite_status("mcsafe VFS:", ours));
  int good = 0, failed = 0, wrong = 0;
  sqlite_rows(path, good, failed, wrong);
  report("sqlite.fsdax.rows_off_the_bad_page", failed > 0 && failed < 40 && wrong == 0 && good + failed == k_rows,
         std::to_string(good) + " rows exact, " + std::to_string(failed) + " failed (on the bad page), " +
             std::to_string(wrong) + " wrong");
}

// A database page in the page cache poisoned (hwpoison_inject): the mcsafe VFS answers
// SQLITE_IOERR_READ for it, and the process and its other rows live on.
void test_sqlite_hwpoison() {
  mkdir("/mnt-sqlite", 0700);
  const char* path = "/mnt-sqlite/rows.db";
  struct stat sb {};
  if (mount("tmpfs", "/mnt-sqlite", "tmpfs", 0, "size=8m") != 0 || !sqlite_create(path) || stat(path, &sb) != 0) {
    report("sqlite.hwpoison.setup", false, std::strerror(errno));
    return;
  }
  const std::size_t size = static_cast<std::size_t>(sb.st_size), bad_off = size / k_page / 2 * k_page;
  const int fd = open(path, O_RDONLY);
  void* m = fd >= 0 ? mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  const char* page = m != MAP_FAILED ? static_cast<const char*>(m) + bad_off : nullptr;
  if (page != nullptr) (void)*static_cast<const volatile char*>(page);  // mapped, so it has a PFN
  const std::string why = page != nullptr ? poison_page(page) : std::string("mmap: ") + std::strerror(errno);
  if (m != MAP_FAILED) munmap(m, size);
  if (fd >= 0) close(fd);
  if (!why.empty()) {
    report("sqlite.hwpoison.inject", false, why);
  } else {
    const int ours = sqlite_scan(path, "mcsafe", nullptr);
    int good = 0, failed = 0, wrong = 0;
    sqlite_rows(path, good, failed, wrong);
    report("sqlite.hwpoison.mcsafe_vfs_ioerr_read",
           ours == SQLITE_IOERR_READ && failed > 0 && failed < 40 && wrong == 0 && good + failed == k_rows,
           sqlite_status("scan:", ours) + "; " + std::to_string(good) + " rows exact, " + std::to_string(failed) +
               " failed, " + std::to_string(wrong) + " wrong");
  }
  umount2("/mnt-sqlite", MNT_DETACH);
}

void test_sqlite() {
  if (mcsafe_sqlite::register_vfs(false) != SQLITE_OK) {
    report("sqlite.register_vfs", false, "register_vfs failed");
    return;
  }
  test_sqlite_fsdax();
  test_sqlite_hwpoison();
}
#else
void test_sqlite() { skip("sqlite", "the guest test was built without SQLite (libsqlite3-dev not found)"); }
#endif

// ---- CXL: QEMU's emulated type-3 memory device (run.sh --cxl), through the paths 6.12 offers --

std::string describe(const mcsafe::cxl::poison_list& l) {
  std::string s =
      std::string("error=") + mcsafe::cxl::to_string(l.error) + " errno=" + std::to_string(l.sys_errno) + " records:";
  for (const auto& r : l.records) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " [0x%llx,+0x%llx source=%d region='%s']", static_cast<unsigned long long>(r.dpa),
                  static_cast<unsigned long long>(r.length), static_cast<int>(r.source), r.region.c_str());
    s += buf;
  }
  return s;
}
bool lists_exactly(const mcsafe::cxl::poison_list& l, const std::vector<mcsafe::byte_range>& want) {
  if (!l.ok() || l.records.size() != want.size()) return false;
  for (const auto& r : l.records)
    if (r.source != mcsafe::cxl::poison_source::injected) return false;
  return std::vector<mcsafe::byte_range>(l.dpa.begin(), l.dpa.end()) == want;
}
std::string status(const mcsafe::cxl::poison_status& s) {
  return std::string(mcsafe::cxl::to_string(s.error)) + "/" + std::to_string(s.sys_errno);
}

// A volatile region over the whole memdev, made through sysfs as `cxl create-region -t ram`
// would (root decoder decoder0.0, endpoint decoder decoder2.0, one way); returns the path of its
// device DAX node, or "" with why.
std::string cxl_make_region(std::string& region, std::string& why) {
  const std::string c = "/sys/bus/cxl/devices/";
  if (mcsafe::detail::read_text_file(c + "decoder0.0/create_ram_region", region) != std::errc{} || region.size() < 2) {
    why = "decoder0.0/create_ram_region unreadable";
    return "";
  }
  region.pop_back();
  const std::string size = "0x10000000";  // the device's 256 MiB
  for (const auto& [file, value] : {std::pair<std::string, std::string>{"decoder0.0/create_ram_region", region},
                                    {region + "/interleave_granularity", "256"},
                                    {region + "/interleave_ways", "1"},
                                    {"decoder2.0/mode", "ram"},
                                    {"decoder2.0/dpa_size", size},
                                    {region + "/size", size},
                                    {region + "/target0", "decoder2.0"},
                                    {region + "/commit", "1"}}) {
    if (!write_sysfs(c + file, value)) {
      why = file + " <- " + value + ": " + std::strerror(errno);
      return "";
    }
  }
  // Bound to the region driver (already bound is fine: EBUSY), which adds its DAX region with
  // one device DAX in it.
  (void)write_sysfs("/sys/bus/cxl/drivers/cxl_region/bind", region);
  const std::string dax_region = c + region + "/dax_" + region;
  for (int i = 0; i < 50; ++i) {
    if (DIR* d = opendir(dax_region.c_str())) {
      std::string dax;
      while (const dirent* e = readdir(d))
        if (std::strncmp(e->d_name, "dax", 3) == 0 && std::strchr(e->d_name, '.') != nullptr) dax = e->d_name;
      closedir(d);
      // A RAM region's device DAX is meant for kmem (system RAM) and stays unbound: bind it to
      // device_dax by name, as `daxctl reconfigure-device -m devdax` does.
      if (!dax.empty() && access(("/sys/bus/dax/devices/" + dax + "/driver").c_str(), F_OK) != 0) {
        (void)write_sysfs("/sys/bus/dax/drivers/device_dax/new_id", dax);
        (void)write_sysfs("/sys/bus/dax/drivers/device_dax/bind", dax);
      }
      if (!dax.empty() && access(("/sys/bus/dax/devices/" + dax + "/driver").c_str(), F_OK) == 0) return "/dev/" + dax;
    }
    usleep(100000);
  }
  why = "no device DAX under " + dax_region + " (" + c + region + ":";
  if (DIR* d = opendir((c + region).c_str())) {
    while (const dirent* e = readdir(d)) why += std::string(" ") + e->d_name;
    closedir(d);
  }
  why += ")";
  return "";
}

// Poison in a region: the list gives region offsets; clear_and_rewrite clears the line on the
// device and writes new data through the device DAX mapping, which then reads back.
void test_cxl_region() {
  namespace cxl = mcsafe::cxl;
  std::string why, region;
  const std::string dax = cxl_make_region(region, why);
  if (dax.empty()) {
    report("cxl.region.setup", false, why);
    return;
  }
  constexpr std::size_t len = 2u << 20;  // device DAX maps in 2 MiB units
  const int fd = open(dax.c_str(), O_RDWR);
  void* map = MAP_FAILED;
  // The node appears just before the device is live (ENXIO until then).
  for (int i = 0; fd >= 0 && map == MAP_FAILED && i < 50; ++i) {
    map = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED && errno != ENXIO) break;
    if (map == MAP_FAILED) usleep(100000);
  }
  auto* m = static_cast<unsigned char*>(map);
  if (fd >= 0) close(fd);
  if (m == MAP_FAILED) {
    report("cxl.region.mmap", false, dax + ": " + std::strerror(errno));
    return;
  }
  for (std::size_t i = 0; i < len; ++i) m[i] = static_cast<unsigned char>(i * 7 + 1);
  const bool injected = cxl::inject_poison("mem0", 0x3000).ok() && cxl::inject_poison("mem0", 0x100040).ok();
  const cxl::poison_list l = cxl::read_poison_list("mem0");
  const mcsafe::poison_map in_region = l.in_region(region);
  const std::vector<mcsafe::byte_range> want{{0x3000, 0x3040}, {0x100040, 0x100080}};
  bool hpa_ok = l.ok() && !l.records.empty();
  for (const auto& r : l.records) hpa_ok = hpa_ok && r.region == region && r.region_offset_known && r.region_offset == r.dpa;
  report("cxl.region.discover_offsets",
         injected && hpa_ok && std::vector<mcsafe::byte_range>(in_region.begin(), in_region.end()) == want,
         describe(l) + ", in " + region + ": " + std::to_string(in_region.size()) + " ranges");
  // The emulated device keeps poison as a list only: a load of the line returns data.
  unsigned char probe[64];
  const mcsafe::copy_result pr = mcsafe::mc_safe_copy(probe, m + 0x3000, 64);
  std::printf("INFO cxl: a load of an emulated poisoned line %s (QEMU keeps poison as bookkeeping, no machine check)\n",
              pr.ok() ? "returned data" : "faulted");
  alignas(64) unsigned char data[64];
  for (int i = 0; i < 64; ++i) data[i] = static_cast<unsigned char>(0xA0 + i);
  const cxl::rewrite_result w = cxl::clear_and_rewrite("mem0", 0x3000, m + 0x3000, data);
  const cxl::poison_list after = cxl::read_poison_list("mem0");
  unsigned char back[64];
  const bool reads = mcsafe::mc_safe_copy(back, m + 0x3000, 64).ok() && std::memcmp(back, data, 64) == 0;
  std::printf("INFO cxl: clear_and_rewrite stored the line with %s (atomic=%d)\n", mcsafe::to_string(w.write.method),
              w.write.atomic);
  report("cxl.region.clear_and_rewrite",
         w.ok() && reads && lists_exactly(after, {{0x100040, 0x100080}}) &&
             m[0x3000 - 1] == static_cast<unsigned char>((0x3000 - 1) * 7 + 1) &&
             m[0x3040] == static_cast<unsigned char>(0x3040 * 7 + 1),
         "clear " + status(w.clear) + ", store " + mcsafe::to_string(w.write.method) + " written " +
             std::to_string(w.write.written) + ", reads back " + std::to_string(reads) + ", list after: " + describe(after));
  munmap(m, len);
}

void test_cxl() {
  namespace cxl = mcsafe::cxl;
  using enum cxl::poison_error;
  if (access("/sys/bus/cxl/devices/mem0", F_OK) != 0) {
    skip("cxl", "no CXL memory device in this guest (system.qemu.6.12.cxl boots one: run.sh --cxl)");
    return;
  }
  // The memdev ioctl: since 6.4 the kernel no longer lists Clear Poison by id, and without
  // CONFIG_CXL_MEM_RAW_COMMANDS (Debian does not set it) it does not list the raw command either.
  const std::string paths = cxl::describe_paths("mem0");
  for (std::size_t at = 0, nl; (nl = paths.find('\n', at)) != std::string::npos; at = nl + 1)
    std::printf("INFO %s\n", paths.substr(at, nl - at).c_str());
  const unsigned char zeros[64] = {};
  const cxl::clear_poison_result typed = cxl::clear_poison("/dev/cxl/mem0", 0x1000, zeros);
  const cxl::clear_poison_result raw = cxl::clear_poison("/dev/cxl/mem0", 0x1000, zeros, {.allow_raw = true});
  report("cxl.ioctl_path_refused",
         typed.error == cxl::clear_poison_error::deprecated && raw.error == cxl::clear_poison_error::deprecated &&
             paths.find("ioctl Clear Poison: deprecated") != std::string::npos,
         std::string("by id: ") + cxl::to_string(typed.error) + "/" + std::to_string(typed.sys_errno) +
             ", raw: " + cxl::to_string(raw.error) + "/" + std::to_string(raw.sys_errno));
  // Poison injected at known DPAs is listed at exactly those lines.
  bool injected = true;
  std::string why;
  for (const std::uint64_t dpa : {0x1000ull, 0x2040ull, 0x40000ull}) {
    const cxl::poison_status st = cxl::inject_poison("mem0", dpa);
    injected = injected && st.ok();
    why += status(st) + " ";
  }
  cxl::poison_list l = cxl::read_poison_list("mem0");
  report("cxl.discover_injected", injected && lists_exactly(l, {{0x1000, 0x1040}, {0x2040, 0x2080}, {0x40000, 0x40040}}),
         "inject: " + why + describe(l));
  // Clearing one line takes it off the list; the others stay.
  const cxl::poison_status cleared = cxl::clear_poison_debugfs("mem0", 0x2040);
  l = cxl::read_poison_list("mem0");
  report("cxl.clear_removes_from_list", cleared.ok() && lists_exactly(l, {{0x1000, 0x1040}, {0x40000, 0x40040}}),
         "clear: " + status(cleared) + " " + describe(l));
  // Refused before the kernel sees them: a DPA past the device (256 MiB), a misaligned one, a
  // memdev that is not there. What the kernel itself says to the first two: INFO.
  const cxl::poison_status past = cxl::inject_poison("mem0", 256ull << 20), odd = cxl::inject_poison("mem0", 0x1001),
                           absent = cxl::inject_poison("mem9", 0);
  report("cxl.errors_before_the_kernel",
         past.error == out_of_range && odd.error == bad_alignment && absent.error == no_device,
         "past the end: " + status(past) + ", misaligned: " + status(odd) + ", mem9: " + status(absent));
  for (const char* text : {"0x10000000\n", "0x1001\n"}) {
    const int fd = open("/sys/kernel/debug/cxl/mem0/inject_poison", O_WRONLY);
    const bool took = fd >= 0 && write(fd, text, std::strlen(text)) > 0;
    std::printf("INFO cxl: the kernel's own answer to inject_poison %.*s: %s\n", static_cast<int>(std::strlen(text) - 1),
                text, took ? "accepted" : std::strerror(errno));
    if (fd >= 0) close(fd);
  }
  // Without debugfs and without tracefs mounted: said so, nothing else tried.
  const bool off = umount("/sys/kernel/debug") == 0;
  const cxl::poison_status no_dbg = cxl::clear_poison_debugfs("mem0", 0x1000);
  const bool on = mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr) == 0;
  report("cxl.no_debugfs", off && on && no_dbg.error == no_debugfs,
         "umount/mount " + std::to_string(off) + std::to_string(on) + ", " + status(no_dbg));
  const bool t_off = umount("/sys/kernel/tracing") == 0;
  const cxl::poison_list no_trace = cxl::read_poison_list("mem0");
  const bool t_on = mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0;
  report("cxl.no_tracefs", t_off && t_on && no_trace.error == no_tracefs,
         "umount/mount " + std::to_string(t_off) + std::to_string(t_on) + ", " + describe(no_trace));
  for (const std::uint64_t dpa : {0x1000ull, 0x40000ull}) (void)cxl::clear_poison_debugfs("mem0", dpa);
  test_cxl_region();
}

void test_mapped_file() {
  test_mapped_file_ext4_full();
  test_mapped_file_dm_error();
  test_mapped_file_hwpoison();
  test_mapped_file_hugetlb();
  test_mapped_file_fsdax();
}

}  // namespace

int main() {
  mcsafe::install();
  utsname u{};
  uname(&u);
  std::printf("GUEST KERNEL %s %s\n", u.release, u.version);
  const std::string d = mcsafe::diagnose();
  std::printf("INFO %s", d.substr(0, d.find('\n') + 1).c_str());
  if (cmdline_has("mcsafe.only=cxl")) {  // the CXL guest (run.sh --cxl) runs its cases alone
    test_cxl();
    std::printf("INFO %d case(s) failed\n", g_failed);
    return g_failed == 0 ? 0 : 1;
  }
  test_hwpoison_sync(cmdline_has("mcsafe.break=1"));
  test_hwpoison_async();
  test_madvise_hwpoison();
  test_dax_badblock();
  test_dax_partition();
  test_scan_partial_page_repair();
  test_scan_block_pmem();
  test_scan_device_dax();
  test_mapped_file();
  test_sqlite();
  test_cxl();
  std::printf("INFO %d case(s) failed\n", g_failed);
  return g_failed == 0 ? 0 : 1;
}
