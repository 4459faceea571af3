// mapped_file on real files: a second process truncates the file (real SIGBUS BUS_ADRERR), a
// 1 MiB tmpfs mounted for the test is filled (a store into a hole gets a real SIGBUS from the
// kernel's failed allocation), known-bad ranges are refused without a signal.
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <mcsafe/mapped_file.hpp>

#include "catch2_any.hpp"
#include "support.hpp"

using mcsafe::map_mode;
using mcsafe::mapped_cause;
using mcsafe::mapped_file;

namespace {

const std::size_t k_page = mcsafe_test::page_size();

std::byte pattern(std::size_t i) { return static_cast<std::byte>((i * 29 + 5) >> 2); }

// A temporary file of `size` pattern bytes (in `dir`), removed at the end.
struct pattern_file {
  std::string path;
  explicit pattern_file(std::size_t size, const char* dir = "/tmp") : path(dir) {
    // Appended, not `std::string(dir) + "..."`: GCC 12 with -O2 -flto reports a false
    // -Wstringop-overread in that operator+ for the default directory.
    path += "/mcsafe-mapped-XXXXXX";
    const int fd = mkstemp(path.data());
    REQUIRE(fd >= 0);
    std::vector<std::byte> content(size);
    for (std::size_t i = 0; i < size; ++i) content[i] = pattern(i);
    REQUIRE(pwrite(fd, content.data(), size, 0) == static_cast<ssize_t>(size));
    close(fd);
  }
  ~pattern_file() { unlink(path.c_str()); }
};

// Truncates `path` to `size` from a second process, as another program would.
void truncate_from_another_process(const std::string& path, off_t size) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) _exit(truncate(path.c_str(), size) == 0 ? 0 : 1);
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  REQUIRE((WIFEXITED(st) && WEXITSTATUS(st) == 0));
}

bool matches_pattern(const std::vector<std::byte>& buf, std::size_t file_offset, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (buf[i] != pattern(file_offset + i)) return false;
  return true;
}

// A 1 MiB tmpfs mounted for one test in a private mount namespace (nothing leaks to the host's
// mounts). `skip` says why it could not be had (not root, no unshare, no mount).
struct small_tmpfs {
  std::string dir, skip;
  small_tmpfs() {
    if (geteuid() != 0) {
      skip = "SKIP tmpfs cases: not root (mounting a 1 MiB tmpfs needs CAP_SYS_ADMIN)";
      return;
    }
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      skip = std::string("SKIP tmpfs cases: no private mount namespace: ") + std::strerror(errno);
      return;
    }
    char tmpl[] = "/tmp/mcsafe-tmpfs-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      skip = std::string("SKIP tmpfs cases: mkdtemp: ") + std::strerror(errno);
      return;
    }
    if (mount("tmpfs", tmpl, "tmpfs", 0, "size=1m") != 0) {
      skip = std::string("SKIP tmpfs cases: mount -t tmpfs -o size=1m: ") + std::strerror(errno);
      rmdir(tmpl);
      return;
    }
    dir = tmpl;
  }
  ~small_tmpfs() {
    if (dir.empty()) return;
    umount2(dir.c_str(), MNT_DETACH);
    rmdir(dir.c_str());
  }
  // True when mounted; otherwise prints the SKIP line.
  bool ready() const {
    if (!skip.empty()) WARN(skip);
    return skip.empty();
  }
  // A new, empty file on it, mapped read_write.
  mapped_file create(const char* name) const {
    mapped_file m;
    REQUIRE(m.open((dir + "/" + name).c_str(), map_mode::read_write, {.create = true}) == std::errc{});
    return m;
  }
  // Writes a file until the file system is full; returns the bytes written.
  std::size_t fill() const {
    const int fd = open((dir + "/filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    std::vector<char> chunk(k_page, 'f');
    std::size_t total = 0;
    for (;;) {
      const ssize_t n = write(fd, chunk.data(), chunk.size());
      if (n <= 0) break;
      total += static_cast<std::size_t>(n);
    }
    close(fd);
    return total;
  }
};

}  // namespace

TEST_CASE("mapped_file: read and write a whole file, refusals", "[mapped_file]") {
  pattern_file f(5 * k_page + 100);
  mapped_file m;
  REQUIRE(m.open(f.path.c_str(), map_mode::read_write) == std::errc{});
  REQUIRE(m.size() == 5 * k_page + 100);
  std::vector<std::byte> buf(m.size());
  auto r = m.read(0, buf);
  CHECK(r.ok());
  CHECK(r.done == m.size());
  CHECK(matches_pattern(buf, 0, m.size()));
  std::vector<std::byte> rec(300, std::byte{0x42});
  r = m.write(k_page - 100, rec);
  CHECK((r.ok() && r.done == 300));
  std::vector<std::byte> back(300);
  CHECK(pread(m.fd(), back.data(), 300, static_cast<off_t>(k_page - 100)) == 300);
  CHECK(back == rec);
  // Outside the mapping, or writing through a read-only one: refused, nothing touched.
  r = m.read(m.size() - 10, std::span<std::byte>(buf.data(), 11));
  CHECK((r.cause == mapped_cause::invalid_argument && r.done == 0 && r.fault.si_code == 0));
  mapped_file ro;
  REQUIRE(ro.open(f.path.c_str(), map_mode::read_only) == std::errc{});
  r = ro.write(0, rec);
  CHECK(r.cause == mapped_cause::invalid_argument);
  CHECK(ro.read(k_page - 100, back).ok());
  CHECK(back == rec);
  CHECK(ro.resize(0) == std::errc::bad_file_descriptor);
  mapped_file missing;
  CHECK(missing.open("/nonexistent/mcsafe", map_mode::read_only) == std::errc::no_such_file_or_directory);
  CHECK(!missing.is_open());
  CHECK(missing.read(0, {}).cause == mapped_cause::invalid_argument);
}

TEST_CASE("mapped_file: a file truncated by another process reads as file_ended at the exact offset", "[mapped_file]") {
  pattern_file f(64 * k_page);
  mapped_file m;
  REQUIRE(m.open(f.path.c_str(), map_mode::read_only) == std::errc{});
  std::vector<std::byte> buf(8 * k_page);
  REQUIRE(m.read(10 * k_page, buf).ok());  // the pages are in the page cache and mapped

  // Page-aligned cut inside the read: done is exactly up to the new end.
  truncate_from_another_process(f.path, static_cast<off_t>(13 * k_page));
  const std::uint64_t offset = 10 * k_page + 123;
  auto r = m.read(offset, buf);
  CHECK(r.cause == mapped_cause::file_ended);
  CHECK(r.done == 13 * k_page - offset);
  CHECK(r.file_size == 13 * k_page);
  CHECK(r.fault.kind == mcsafe::fault_kind::bus_error);
  CHECK(r.fault.si_code == BUS_ADRERR);
  CHECK(matches_pattern(buf, offset, r.done));

  // A cut inside a page: the rest of that page maps as zeros, and is not counted as file data.
  truncate_from_another_process(f.path, static_cast<off_t>(11 * k_page + 1000));
  r = m.read(offset, buf);
  CHECK(r.cause == mapped_cause::file_ended);
  CHECK(r.done == 11 * k_page + 1000 - offset);
  CHECK(r.file_size == 11 * k_page + 1000);
  CHECK(matches_pattern(buf, offset, r.done));

  // Wholly past the end: nothing done.
  r = m.read(40 * k_page, std::span<std::byte>(buf.data(), 100));
  CHECK((r.cause == mapped_cause::file_ended && r.done == 0));

  // A write past the end fails the same way.
  mapped_file w;
  REQUIRE(w.open(f.path.c_str(), map_mode::read_write) == std::errc{});
  REQUIRE(w.resize(20 * k_page) == std::errc{});
  truncate_from_another_process(f.path, static_cast<off_t>(16 * k_page));
  std::vector<std::byte> rec(3 * k_page, std::byte{7});
  r = w.write(15 * k_page, rec);
  CHECK((r.cause == mapped_cause::file_ended && r.done == k_page && r.file_size == 16 * k_page));
}

TEST_CASE("mapped_file: truncation racing with reads: every read is whole or ends exactly at the cut", "[mapped_file]") {
  const std::size_t size = 1024 * k_page, cut = 517 * k_page;  // 4 MiB with 4 KiB pages
  pattern_file f(size);
  mapped_file m;
  REQUIRE(m.open(f.path.c_str(), map_mode::read_only) == std::errc{});
  std::vector<std::byte> buf(size);
  REQUIRE(m.read(0, buf).ok());
  int go[2];
  REQUIRE(pipe(go) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    char c;
    _exit(read(go[0], &c, 1) == 1 && usleep(20000) == 0 && truncate(f.path.c_str(), static_cast<off_t>(cut)) == 0 ? 0 : 1);
  }
  REQUIRE(write(go[1], "x", 1) == 1);
  std::size_t whole = 0;
  mcsafe::mapped_result r;
  for (;;) {
    r = m.read(0, buf);
    if (!r.ok()) break;
    ++whole;
  }
  int st = 0;
  waitpid(pid, &st, 0);
  close(go[0]);
  close(go[1]);
  INFO("whole reads before the cut: " << whole << ", last: " << mcsafe::to_string(r.cause) << " done=" << r.done);
  CHECK(r.cause == mapped_cause::file_ended);
  CHECK(r.done == cut);
  CHECK(matches_pattern(buf, 0, r.done));
  CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
}

TEST_CASE("mapped_file: known-bad ranges are refused without touching memory", "[mapped_file]") {
  pattern_file f(16 * k_page);
  mapped_file m;
  REQUIRE(m.open(f.path.c_str(), map_mode::read_write) == std::errc{});
  // The known-bad range lies past a cut: touching it would raise SIGBUS, refusing it raises nothing.
  truncate_from_another_process(f.path, static_cast<off_t>(8 * k_page));
  m.known_bad().insert({8 * k_page, 16 * k_page});
  std::vector<std::byte> buf(4 * k_page);
  auto r = m.read(6 * k_page, buf);
  CHECK(r.cause == mapped_cause::known_bad);
  CHECK(r.fault.kind == mcsafe::fault_kind::known_bad);
  CHECK(r.fault.si_code == 0);
  CHECK(r.done == 2 * k_page);
  CHECK((r.bad == mcsafe::byte_range{8 * k_page, 16 * k_page}));
  CHECK(matches_pattern(buf, 6 * k_page, r.done));
  r = m.write(9 * k_page, std::span<const std::byte>(buf.data(), 10));
  CHECK((r.cause == mapped_cause::known_bad && r.done == 0 && r.fault.si_code == 0));
  // span() shares the map: its scan skips the known range and finds nothing new.
  mcsafe::poison_map found;
  CHECK(m.span().scan(found) == 0);
  // repair (whole-page pwrite) takes the pages it rewrote out of the map.
  REQUIRE(m.resize(16 * k_page) == std::errc{});
  std::vector<std::byte> fresh(2 * k_page, std::byte{0x33});
  const mcsafe::repair_result rp = m.repair(8 * k_page, fresh);
  CHECK(rp.ok());
  CHECK((m.known_bad().size() == 1 && *m.known_bad().begin() == mcsafe::byte_range{10 * k_page, 16 * k_page}));
  r = m.read(8 * k_page, std::span<std::byte>(buf.data(), 2 * k_page));
  CHECK((r.ok() && std::memcmp(buf.data(), fresh.data(), 2 * k_page) == 0));
  std::vector<std::byte> saved(8 * k_page);
  const mcsafe::salvage_result sv = m.salvage(0, saved);
  CHECK((sv.ok() && sv.read == saved.size()));
}

TEST_CASE("mapped_file: a fault in the caller's buffer is not blamed on the file", "[mapped_file]") {
  pattern_file f(4 * k_page);
  mapped_file m;
  REQUIRE(m.open(f.path.c_str(), map_mode::read_only) == std::errc{});
  const mcsafe_test::truncated_file out(4 * k_page, k_page);  // its pages past the first fault
  const auto r = m.read(0, std::span<std::byte>(reinterpret_cast<std::byte*>(out.data()), 3 * k_page));
  CHECK(r.cause == mapped_cause::buffer_fault);
  CHECK(r.fault.side == mcsafe::fault_side::destination);
  CHECK(r.done == k_page);
}

TEST_CASE("mapped_file: resize grows and shrinks the file and the mapping", "[mapped_file]") {
  pattern_file f(k_page);
  mapped_file m;
  REQUIRE(m.open(f.path.c_str(), map_mode::read_write) == std::errc{});
  REQUIRE(m.resize(300 * k_page) == std::errc{});
  CHECK(m.size() == 300 * k_page);
  std::vector<std::byte> rec(100, std::byte{9}), back(100);
  CHECK(m.write(299 * k_page, rec).ok());
  CHECK((m.read(299 * k_page, back).ok() && back == rec));
  REQUIRE(m.resize(2 * k_page + 5) == std::errc{});
  CHECK(m.size() == 2 * k_page + 5);
  struct stat st {};
  REQUIRE(fstat(m.fd(), &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(2 * k_page + 5));
  CHECK(m.read(299 * k_page, back).cause == mapped_cause::invalid_argument);  // no longer mapped
  std::vector<std::byte> first(k_page);
  CHECK((m.read(0, first).ok() && matches_pattern(first, 0, k_page)));
  REQUIRE(m.resize(0) == std::errc{});
  CHECK((m.size() == 0 && m.data() == nullptr));
  REQUIRE(m.reserve(3 * k_page) == std::errc{});
  CHECK(m.size() == 3 * k_page);
}

TEST_CASE("mapped_file: on a full tmpfs a store into a hole is no_space, the bytes before it landed",
          "[mapped_file][tmpfs]") {
  small_tmpfs fs;
  if (!fs.ready()) return;
  // A sparse file: its first two pages written (allocated), the rest a hole.
  mapped_file m = fs.create("table");
  REQUIRE(m.resize(64 * k_page) == std::errc{});
  std::vector<std::byte> head(2 * k_page, std::byte{0x11});
  REQUIRE(m.write(0, head).ok());
  const std::size_t filled = fs.fill();
  INFO("filler wrote " << filled << " bytes");
  REQUIRE(filled > 0);

  std::vector<std::byte> rec(5 * k_page, std::byte{0x5a});
  const std::uint64_t offset = 2 * k_page - 700;
  const auto r = m.write(offset, rec);
  CHECK(r.cause == mapped_cause::no_space);
  CHECK(r.sys_errno == ENOSPC);
  CHECK(r.done == 700);
  CHECK((r.bad == mcsafe::byte_range{2 * k_page, 3 * k_page}));
  CHECK(r.fault.kind == mcsafe::fault_kind::bus_error);
  CHECK(r.fault.side == mcsafe::fault_side::destination);
  std::vector<std::byte> back(700);
  REQUIRE(pread(m.fd(), back.data(), 700, static_cast<off_t>(offset)) == 700);
  CHECK(std::memcmp(back.data(), rec.data(), 700) == 0);

  // A read of a hole: tmpfs allocates a page on a read fault too (seen on Linux 6.x), so on a
  // full tmpfs the load faults while pread of the hole succeeds: decided by rule 4 (SEEK_DATA
  // says hole, statvfs says full).
  std::vector<std::byte> buf(k_page);
  const auto rr = m.read(10 * k_page, buf);
  CHECK(rr.cause == mapped_cause::no_space);
  CHECK(rr.done == 0);
  CHECK(rr.fault.side == mcsafe::fault_side::source);
}

TEST_CASE("mapped_file: reserve answers ENOSPC up front, and reserved pages take stores when full", "[mapped_file][tmpfs]") {
  small_tmpfs fs;
  if (!fs.ready()) return;
  mapped_file m = fs.create("log");
  REQUIRE(m.reserve(16 * k_page) == std::errc{});
  CHECK(m.size() == 16 * k_page);
  fs.fill();
  // More than the file system has: refused before any store, and the file keeps its size.
  CHECK(m.reserve(16 * k_page, 64 * k_page) == std::errc::no_space_on_device);
  CHECK(m.size() == 16 * k_page);
  struct stat st {};
  REQUIRE(fstat(m.fd(), &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(16 * k_page));
  // The reserved pages were allocated before the file system filled: stores into them succeed.
  std::vector<std::byte> rec(16 * k_page, std::byte{0x77}), back(16 * k_page);
  const auto r = m.write(0, rec);
  CHECK((r.ok() && r.done == rec.size()));
  CHECK((m.read(0, back).ok() && back == rec));
}

TEST_CASE("mapped_file: repair keeps the file's length and refuses a range outside it", "[mapped_file]") {
  pattern_file f(10000);  // two pages and 1808 bytes of a third
  mapped_file m;
  REQUIRE(m.open(f.path.c_str(), map_mode::read_write) == std::errc{});
  const std::vector<std::byte> fresh(k_page, std::byte{0x3c});
  struct stat st {};
  for (const std::uint64_t at :
       {std::uint64_t{1} << 40, std::uint64_t{3} * k_page, std::uint64_t{2} * k_page, ~std::uint64_t{0} - k_page + 1}) {
    INFO("offset " << at);
    const auto r = m.repair(at, fresh);
    CHECK(r.error == std::errc::invalid_argument);
    CHECK(r.written == 0);
    REQUIRE(fstat(m.fd(), &st) == 0);
    CHECK(st.st_size == 10000);
  }
  // The partial last page: the file keeps its 10,000 bytes, no zeros appended.
  const auto r = m.repair(2 * k_page, std::span<const std::byte>(fresh.data(), 10000 - 2 * k_page));
  CHECK((r.ok() && r.written == 10000 - 2 * k_page));
  REQUIRE(fstat(m.fd(), &st) == 0);
  CHECK(st.st_size == 10000);
  CHECK(m.size() == 10000);
  std::vector<std::byte> back(10000 - 2 * k_page);
  CHECK((m.read(2 * k_page, back).ok() && std::memcmp(back.data(), fresh.data(), back.size()) == 0));
}

TEST_CASE("mapped_file: a resize that fails leaves the file and the mapping as they were", "[mapped_file]") {
  // tmpfs (a memfd) accepts a 2^62-byte size; no mapping of that size can be made.
  const int fd = memfd_create("mcsafe-resize", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  mapped_file m;
  REQUIRE(m.adopt(fd, map_mode::read_write) == std::errc{});
  REQUIRE(m.resize(4 * k_page) == std::errc{});
  const std::vector<std::byte> rec(100, std::byte{0x61});
  REQUIRE(m.write(k_page, rec).ok());
  const std::errc e = m.resize(std::uint64_t{1} << 62);
  CHECK(e != std::errc{});
  struct stat st {};
  REQUIRE(fstat(m.fd(), &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(4 * k_page));
  CHECK(m.size() == 4 * k_page);
  std::vector<std::byte> back(100);
  CHECK((m.read(k_page, back).ok() && back == rec));
  // Past what a mapping can ever address: refused before the file is touched.
  CHECK(m.resize(std::uint64_t{1} << 63) == std::errc::file_too_large);
  REQUIRE(fstat(m.fd(), &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(4 * k_page));
}

TEST_CASE("mapped_file: open refuses what it cannot map, without blocking", "[mapped_file]") {
  char dir[] = "/tmp/mcsafe-open-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string fifo = std::string(dir) + "/fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  // In a child with an alarm: a plain open() of a FIFO with no writer would wait forever.
  for (const map_mode mode : {map_mode::read_only, map_mode::read_write}) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      alarm(10);
      mapped_file m;
      _exit(m.open(fifo.c_str(), mode) == std::errc::no_such_device && !m.is_open() ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    INFO("FIFO opened " << (mode == map_mode::read_only ? "read-only" : "read-write") << ": wait status " << status);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  mapped_file m;
  CHECK(m.open("/dev/zero", map_mode::read_only) == std::errc::no_such_device);
  CHECK(m.open("/dev/null", map_mode::read_write) == std::errc::no_such_device);
  CHECK(m.open(dir, map_mode::read_only) == std::errc::is_a_directory);
  CHECK_FALSE(m.is_open());
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(m.adopt(sv[0], map_mode::read_only) == std::errc::no_such_device);
  close(sv[1]);
  unlink(fifo.c_str());
  rmdir(dir);
}
