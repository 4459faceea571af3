// The sysfs badblocks parser over good and hostile input, a fake sysfs tree, and FIEMAP.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "catch2_any.hpp"
#include <mcsafe/badblocks.hpp>

using mcsafe::sector_range;

TEST_CASE("badblocks: good, empty and unterminated lists parse", "[badblocks]") {
  auto r = mcsafe::parse_badblocks("8 8\n1024 1\n");
  REQUIRE(r.ok());
  CHECK(r.ranges == std::vector<sector_range>{{8, 8}, {1024, 1}});
  CHECK(mcsafe::parse_badblocks("").ranges.empty());
  CHECK(mcsafe::parse_badblocks("").ok());
  r = mcsafe::parse_badblocks("16 8");  // no final newline
  REQUIRE(r.ok());
  CHECK(r.ranges == std::vector<sector_range>{{16, 8}});
}

TEST_CASE("badblocks: malformed, negative, overflowing and huge input is refused whole", "[badblocks]") {
  struct bad_input {
    const char* text;
    std::errc error;
    std::size_t line;
  };
  const bad_input cases[] = {
      {"8 8\nx 1\n", std::errc::invalid_argument, 2},
      {"-8 8\n", std::errc::invalid_argument, 1},
      {"8 -1\n", std::errc::invalid_argument, 1},
      {"8\n", std::errc::invalid_argument, 1},
      {"8 8 8\n", std::errc::invalid_argument, 1},
      {"8  8\n", std::errc::invalid_argument, 1},
      {" 8 8\n", std::errc::invalid_argument, 1},
      {"8 0\n", std::errc::invalid_argument, 1},
      {"\n", std::errc::invalid_argument, 1},
      {"1 1\n2 2\n\n", std::errc::invalid_argument, 3},
      {"18446744073709551616 1\n", std::errc::value_too_large, 1},
      {"1 99999999999999999999\n", std::errc::value_too_large, 1},
      {"36028797018963967 2\n", std::errc::value_too_large, 1},    // byte end past 2^64
      {"0 36028797018963968\n", std::errc::value_too_large, 1},    // count alone past 2^64 bytes
      {"1 9223372036854775808\n", std::errc::value_too_large, 1},  // count * 512 wraps
      {"0 18446744073709551615\n", std::errc::value_too_large, 1},
  };
  for (const auto& c : cases) {
    const auto r = mcsafe::parse_badblocks(c.text);
    INFO(c.text);
    CHECK(r.error == c.error);
    CHECK(r.line == c.line);
    CHECK(r.ranges.empty());  // no partial list
  }
  const std::string huge = "1 " + std::string(100, '1') + "\n";
  CHECK(mcsafe::parse_badblocks(huge).error == std::errc::invalid_argument);
  // The largest accepted range ends exactly at the last 512-byte sector below 2^64.
  const auto edge = mcsafe::parse_badblocks("0 36028797018963967\n36028797018963966 1\n");
  REQUIRE(edge.ok());
  CHECK(edge.ranges.size() == 2);
}

TEST_CASE("badblocks: read from a fake sysfs tree, block device and region", "[badblocks]") {
  char root[] = "/tmp/mcsafe-sysfs-XXXXXX";
  REQUIRE(mkdtemp(root) != nullptr);
  const std::string r = root;
  REQUIRE(system(("mkdir -p " + r + "/block/pmem0 " + r + "/bus/nd/devices/region0").c_str()) == 0);
  REQUIRE(system(("printf '40 8\\n' > " + r + "/block/pmem0/badblocks").c_str()) == 0);
  REQUIRE(system(("printf '1 2\\nbroken\\n' > " + r + "/bus/nd/devices/region0/badblocks").c_str()) == 0);
  auto b = mcsafe::read_block_badblocks("pmem0", r);
  REQUIRE(b.ok());
  CHECK(b.ranges == std::vector<sector_range>{{40, 8}});
  auto g = mcsafe::read_region_badblocks("region0", r);
  CHECK(g.error == std::errc::invalid_argument);
  CHECK(g.line == 2);
  CHECK(mcsafe::read_block_badblocks("pmem9", r).error == std::errc::no_such_file_or_directory);
  REQUIRE(system(("rm -rf " + r).c_str()) == 0);
}

TEST_CASE("badblocks: a partition gets the disk's list clipped to it and shifted by its start", "[badblocks]") {
  char root[] = "/tmp/mcsafe-sysfs-XXXXXX";
  REQUIRE(mkdtemp(root) != nullptr);
  const std::string r = root, part = r + "/block/pmem1/pmem1p1";
  REQUIRE(system(("mkdir -p " + part + " " + r + "/block/pmem1/pmem1p2").c_str()) == 0);
  // Sectors 30..33 straddle the start (32), 40..47 lie inside, 2070..2089 straddle the end
  // (32 + 2048 = 2080), 8..15 and 3000.. lie outside.
  REQUIRE(system(("printf '8 8\n30 4\n40 8\n2070 20\n3000 1\n' > " + r + "/block/pmem1/badblocks").c_str()) == 0);
  REQUIRE(system(("printf '32\n' > " + part + "/start && printf '2048\n' > " + part + "/size").c_str()) == 0);
  const auto p = mcsafe::read_partition_badblocks("pmem1", "pmem1p1", r);
  REQUIRE(p.ok());
  CHECK(p.ranges == std::vector<sector_range>{{0, 2}, {8, 8}, {2038, 10}});
  // A malformed or missing attribute is an error, never a list shifted by a guess.
  REQUIRE(system(("printf '3x\n' > " + r + "/block/pmem1/pmem1p2/start").c_str()) == 0);
  CHECK(mcsafe::read_partition_badblocks("pmem1", "pmem1p2", r).error == std::errc::invalid_argument);
  CHECK(mcsafe::read_partition_badblocks("pmem1", "pmem1p3", r).error == std::errc::no_such_file_or_directory);
  REQUIRE(system(("rm -rf " + r).c_str()) == 0);
}

namespace {
int two_extents(int, std::vector<mcsafe::file_extent>& out) {
  out = {{0, 1 << 20, 8192}, {8192, 4 << 20, 8192}};  // file [0,8K) at 1 MiB, [8K,16K) at 4 MiB
  return 0;
}
int no_fiemap(int, std::vector<mcsafe::file_extent>&) { return EOPNOTSUPP; }
}  // namespace

TEST_CASE("badblocks: device sectors map to file ranges through FIEMAP, rounded to the block", "[badblocks]") {
  char path[] = "/tmp/mcsafe-fiemap-XXXXXX";
  const int fd = mkstemp(path);
  unlink(path);
  struct stat st {};
  REQUIRE(fstat(fd, &st) == 0);
  const std::size_t blk = static_cast<std::size_t>(st.st_blksize);
  mcsafe::poison_map m;
  // Sector (4 MiB + 4608)/512 lies in the second extent, 4608 bytes in: file offset 12800.
  REQUIRE(mcsafe::file_bad_ranges(fd, {{((4u << 20) + 4608) / 512, 1}, {5, 1}}, m, two_extents) == std::errc{});
  REQUIRE(m.size() == 1);
  CHECK(m.begin()->begin == 12800 / blk * blk);
  CHECK(m.begin()->end == (12800 + 512 + blk - 1) / blk * blk);
  CHECK(mcsafe::file_bad_ranges(fd, {}, m, no_fiemap) == std::errc::operation_not_supported);

  // The real FIEMAP on a real file: either extents that cover the data, or a clear error.
  std::vector<char> data(3 * 4096, 'x');
  REQUIRE(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  std::vector<mcsafe::file_extent> ex;
  const int e = mcsafe::detail::fiemap_extents(fd, ex);
  if (e == 0) {
    REQUIRE_FALSE(ex.empty());
    CHECK(ex.front().logical == 0);
    CHECK(ex.back().logical + ex.back().length >= data.size());
  } else {
    CHECK((e == EOPNOTSUPP || e == ENOTTY));  // file systems without FIEMAP (tmpfs on old kernels)
  }
  close(fd);
}
