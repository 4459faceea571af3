#include "sysfs.hpp"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>

#include "unique_fd.hpp"

namespace mcsafe_scan {
namespace {

// A sysfs attribute's text: at most a page, so anything longer is not one.
std::errc read_attribute(const std::string& path, std::string& text) {
  const unique_fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return static_cast<std::errc>(errno);
  char buf[4096];
  for (ssize_t n; (n = read(fd.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return static_cast<std::errc>(errno);
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > sizeof buf) return std::errc::file_too_large;
  }
  return std::errc{};
}

// A sysfs attribute holding one hexadecimal address ("0x1f000000").
bool read_hex_attribute(const std::string& path, std::uint64_t& v) {
  std::string text;
  if (read_attribute(path, text) != std::errc{} || text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtoull(text.c_str(), &end, 16);
  return errno == 0 && end != text.c_str() && (*end == '\n' || *end == '\0');
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

}  // namespace

std::string sysfs_name(const char* cls, dev_t dev, std::string& dir) {
  dir = "/sys/dev/" + std::string(cls) + "/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  char link[PATH_MAX] = {};
  const ssize_t n = readlink(dir.c_str(), link, sizeof link - 1);
  if (n <= 0) return {};
  const std::string path(link, static_cast<std::size_t>(n));
  return path.substr(path.rfind('/') + 1);
}

bool is_pmem(dev_t dev) { return !pmem_device(dev).disk.empty(); }

kernel_list pmem_list(dev_t dev) {
  kernel_list k;
  const pmem_location p = pmem_device(dev);
  if (p.disk.empty()) return k;
  k.source = "/sys/block/" + p.disk + "/badblocks";
  k.disk = p.disk;
  k.partition = p.partition;
  return k;
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

std::errc read_decimal_attribute(const std::string& path, std::uint64_t& v) {
  std::string text;
  if (const std::errc e = read_attribute(path, text); e != std::errc{}) return e;
  if (!text.empty() && text.back() == '\n') text.pop_back();
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, v);  // digits only: no sign, no space
  if (ec == std::errc::result_out_of_range) return std::errc::value_too_large;
  if (ec != std::errc{} || stop != end) return std::errc::invalid_argument;
  return std::errc{};
}

}  // namespace mcsafe_scan
