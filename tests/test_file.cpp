// salvage/repair on a real temporary file, with EIO injected at chosen ranges through the
// file_io seam (the real-kernel version runs in the QEMU system test).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "case_checks.hpp"
#include "catch2_any.hpp"
#include <mcsafe/file.hpp>

namespace {

mcsafe::poison_map g_bad;  // file byte ranges whose reads fail with EIO, and whose partial writes fail

ssize_t failing_pread(int fd, void* b, std::size_t n, off_t o) noexcept {
  if (g_bad.intersects({static_cast<std::size_t>(o), static_cast<std::size_t>(o) + n})) {
    errno = EIO;
    return -1;
  }
  return pread(fd, b, n, o);
}
ssize_t refusing_pwrite(int fd, const void* b, std::size_t n, off_t o) noexcept {
  if (g_bad.intersects({static_cast<std::size_t>(o), static_cast<std::size_t>(o) + n}) && o % 8192 != 0) {
    errno = EFAULT;  // as fsdax refuses writes over poison it cannot clear
    return -1;
  }
  return pwrite(fd, b, n, o);
}
ssize_t pread_passthrough(int fd, void* b, std::size_t n, off_t o) noexcept { return pread(fd, b, n, o); }
constexpr mcsafe::file_io k_faulty{failing_pread, refusing_pwrite};

struct temp_file {
  int fd;
  std::vector<std::byte> content;
  explicit temp_file(std::size_t size) : content(size) {
    char path[] = "/tmp/mcsafe-file-XXXXXX";
    fd = mkstemp(path);
    unlink(path);
    for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<std::byte>(i * 11 + 3);
    REQUIRE(pwrite(fd, content.data(), size, 0) == static_cast<ssize_t>(size));
  }
  ~temp_file() { close(fd); }
};

}  // namespace

TEST_CASE("file: salvage of a healthy file reads everything", "[file]") {
  temp_file f(20000);
  std::vector<std::byte> out(20000);
  const auto r = mcsafe::salvage(f.fd, 0, out);
  CHECK(r.ok());
  CHECK(r.read == 20000);
  CHECK(out == f.content);
}

TEST_CASE("file: salvage reads around EIO ranges down to 512-byte sectors", "[file]") {
  temp_file f(64 * 1024);
  g_bad.clear();
  g_bad.insert({5000, 5001});    // one bad byte: its sector [4608, 5120) is lost
  g_bad.insert({40960, 45056});  // a whole page
  std::vector<std::byte> out(60000, std::byte{0x77});
  const auto r = mcsafe::salvage(f.fd, 1000, out, k_faulty);  // relative offsets: file - 1000
  CHECK(r.error == std::errc{});
  CHECK_FALSE(r.short_file);
  std::vector<mcsafe::byte_range> holes(r.holes.begin(), r.holes.end());
  REQUIRE(holes.size() == 2);
  CHECK(holes[0] == mcsafe::byte_range{4608 - 1000, 5120 - 1000});
  CHECK(holes[1] == mcsafe::byte_range{40960 - 1000, 45056 - 1000});
  CHECK(r.read == 60000 - 512 - 4096);
  mcsafe_test::case_log log;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool hole = r.holes.contains(i);
    const auto want = hole ? std::byte{0} : f.content[i + 1000];
    MCSAFE_CHECK_CASE(log, std::to_integer<unsigned>(out[i]) == std::to_integer<unsigned>(want),
                      "out[" << i << "], " << (hole ? "in a hole" : "read"));
  }
  CHECK(log.failures == 0);
  g_bad.clear();
}

TEST_CASE("file: salvage reports a file shorter than asked for", "[file]") {
  temp_file f(3000);
  std::vector<std::byte> out(8192, std::byte{1});
  const auto r = mcsafe::salvage(f.fd, 0, out);
  CHECK(r.short_file);
  CHECK(r.end == 3000);
  CHECK(r.read == 3000);
  CHECK_FALSE(r.ok());
  CHECK(out[5000] == std::byte{0});
  CHECK(std::memcmp(out.data(), f.content.data(), 3000) == 0);
}

TEST_CASE("file: repair writes whole pages, refuses misaligned input, reports refused pages", "[file]") {
  temp_file f(8 * 4096);
  std::vector<std::byte> fresh(2 * 4096, std::byte{0x5A});
  auto r = mcsafe::repair(f.fd, 100, fresh);
  CHECK(r.error == std::errc::invalid_argument);
  CHECK(r.written == 0);
  r = mcsafe::repair(f.fd, 4096, fresh);
  CHECK(r.ok());
  CHECK(r.written == 8192);
  std::vector<std::byte> back(8192);
  REQUIRE(pread(f.fd, back.data(), 8192, 4096) == 8192);
  CHECK(back == fresh);
  // Through the seam: the page at 12288 is bad and its write is refused (EFAULT).
  g_bad.clear();
  g_bad.insert({12300, 12301});
  r = mcsafe::repair(f.fd, 8192, fresh, k_faulty);
  CHECK(r.error == std::errc::bad_address);
  CHECK(r.written == 4096);
  REQUIRE(r.refused.size() == 1);
  CHECK(*r.refused.begin() == mcsafe::byte_range{4096, 8192});
  g_bad.clear();
}

namespace {
off_t file_size(int fd) {
  struct stat st {};
  REQUIRE(fstat(fd, &st) == 0);
  return st.st_size;
}
std::vector<std::byte> file_bytes(int fd, std::size_t from, std::size_t n) {
  std::vector<std::byte> b(n);
  REQUIRE(pread(fd, b.data(), n, static_cast<off_t>(from)) == static_cast<ssize_t>(n));
  return b;
}
}  // namespace

TEST_CASE("file: repair never changes the file's length, and refuses a range outside it", "[file]") {
  temp_file f(10000);  // two whole pages and 1808 bytes of a third
  std::vector<std::byte> fresh(4096, std::byte{0x5A});
  // Past the end, far or by one page: refused before anything is written.
  for (const off_t at : {off_t{1} << 40, off_t{12288}, off_t{8192}}) {
    INFO("offset " << at);
    const auto r = mcsafe::repair(f.fd, at, fresh);
    CHECK(r.error == std::errc::invalid_argument);
    CHECK((r.written == 0 && r.refused.empty()));
    CHECK(file_size(f.fd) == 10000);
  }
  CHECK(file_bytes(f.fd, 0, 10000) == f.content);
  // The partial last page: written whole (padded), the size restored, the bytes exact.
  auto r = mcsafe::repair(f.fd, 8192, std::span<const std::byte>(fresh.data(), 1808));
  CHECK(r.ok());
  CHECK(r.written == 1808);
  CHECK_FALSE(r.padding_kept);
  CHECK(file_size(f.fd) == 10000);
  CHECK(file_bytes(f.fd, 8192, 1808) == std::vector<std::byte>(1808, std::byte{0x5A}));
  // A range that ends inside a page keeps the rest of that page from the file.
  r = mcsafe::repair(f.fd, 4096, std::span<const std::byte>(fresh.data(), 1000));
  CHECK((r.ok() && r.written == 1000));
  CHECK(file_bytes(f.fd, 4096, 1000) == std::vector<std::byte>(1000, std::byte{0x5A}));
  const auto rest = file_bytes(f.fd, 5096, 3096);
  CHECK(std::equal(rest.begin(), rest.end(), f.content.begin() + 5096));
  // ... unless that rest cannot be read: the page is refused, not overwritten with zeros.
  g_bad.clear();
  g_bad.insert({6000, 6001});
  r = mcsafe::repair(f.fd, 4096, std::span<const std::byte>(fresh.data(), 10), k_faulty);
  CHECK(r.error == std::errc::io_error);
  CHECK((r.written == 0 && r.refused.size() == 1 && *r.refused.begin() == mcsafe::byte_range{0, 4096}));
  g_bad.clear();
}

namespace {
// Another writer appends k_growth bytes while a repair runs: before the repair's pwrite number
// g_grow_at (counting from 1), or right after it.
constexpr std::size_t k_growth = 20000;
int g_grow_at = 0;
bool g_grow_after = false;
int g_pwrites = 0;
std::byte appended(std::size_t i) { return static_cast<std::byte>(i * 7 + 1); }
void append_growth(int fd) {
  std::vector<std::byte> more(k_growth);
  for (std::size_t i = 0; i < k_growth; ++i) more[i] = appended(i);
  const int other = open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_WRONLY | O_APPEND);
  REQUIRE(other >= 0);
  REQUIRE(write(other, more.data(), k_growth) == static_cast<ssize_t>(k_growth));
  close(other);
}
ssize_t growing_pwrite(int fd, const void* b, std::size_t n, off_t o) noexcept {
  const bool now = ++g_pwrites == g_grow_at;
  if (now && !g_grow_after) append_growth(fd);
  const ssize_t w = pwrite(fd, b, n, o);
  if (now && g_grow_after) append_growth(fd);
  return w;
}
constexpr mcsafe::file_io k_growing{pread_passthrough, growing_pwrite};
}  // namespace

TEST_CASE("file: a repair during which the file grows keeps the new bytes", "[file]") {
  std::vector<std::byte> fresh(10000, std::byte{0x42});
  for (const bool after : {false, true}) {
    temp_file f(10000);
    g_pwrites = 0;
    g_grow_after = after;
    g_grow_at = after ? 3 : 1;  // before the first page, or right after the padded third
    INFO((after ? "appended after the padded page" : "appended before the last page"));
    const auto r = mcsafe::repair(f.fd, 0, fresh, k_growing);
    CHECK((r.ok() && r.written == 10000));
    CHECK(file_bytes(f.fd, 0, 10000) == fresh);
    // Before: the last page's rest is the appended bytes themselves, and the size is theirs.
    // After: the appender wrote at the padded page's end; the zeros stay, nothing is cut.
    const std::size_t at = after ? 12288 : 10000;
    CHECK(file_size(f.fd) == static_cast<off_t>(at + k_growth));
    CHECK(r.padding_kept == after);
    const auto tail = file_bytes(f.fd, at, k_growth);
    bool same = true;
    for (std::size_t i = 0; i < k_growth; ++i) same = same && tail[i] == appended(i);
    CHECK(same);
  }
}
