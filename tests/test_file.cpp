// salvage/repair on a real temporary file, with EIO injected at chosen ranges through the
// file_io seam (the real-kernel version runs in the QEMU system test).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

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
constexpr mcsafe::file_io kFaulty{failing_pread, refusing_pwrite};

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
  const auto r = mcsafe::salvage(f.fd, 1000, out, kFaulty);  // relative offsets: file - 1000
  CHECK(r.error == std::errc{});
  CHECK_FALSE(r.short_file);
  std::vector<mcsafe::byte_range> holes(r.holes.begin(), r.holes.end());
  REQUIRE(holes.size() == 2);
  CHECK(holes[0] == mcsafe::byte_range{4608 - 1000, 5120 - 1000});
  CHECK(holes[1] == mcsafe::byte_range{40960 - 1000, 45056 - 1000});
  CHECK(r.read == 60000 - 512 - 4096);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool hole = r.holes.contains(i);
    if (hole ? out[i] != std::byte{0} : out[i] != f.content[i + 1000]) ++wrong;
  }
  CHECK(wrong == 0);
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
  r = mcsafe::repair(f.fd, 4096, std::span<const std::byte>(fresh.data(), 1000));
  CHECK(r.error == std::errc::invalid_argument);
  r = mcsafe::repair(f.fd, 4096, fresh);
  CHECK(r.ok());
  CHECK(r.written == 8192);
  std::vector<std::byte> back(8192);
  REQUIRE(pread(f.fd, back.data(), 8192, 4096) == 8192);
  CHECK(back == fresh);
  // Through the seam: the page at 12288 is bad and its write is refused (EFAULT).
  g_bad.clear();
  g_bad.insert({12300, 12301});
  r = mcsafe::repair(f.fd, 8192, fresh, kFaulty);
  CHECK(r.error == std::errc::bad_address);
  CHECK(r.written == 4096);
  REQUIRE(r.refused.size() == 1);
  CHECK(*r.refused.begin() == mcsafe::byte_range{4096, 8192});
  g_bad.clear();
}
