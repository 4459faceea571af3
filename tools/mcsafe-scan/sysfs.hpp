// Where the kernel describes a target in sysfs: the pmem disk under a file or a block device,
// the nd region under device DAX, and the attributes read there.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <system_error>

namespace mcsafe_scan {

// Where the kernel keeps the badblocks list that covers a target, and how its sectors map to
// the target's offsets.
struct kernel_list {
  std::string source;               // the sysfs file; empty when there is none
  std::string disk, partition;      // a file on pmem, or a pmem block device: /sys/block/<disk>
  std::string region;               // device DAX on an nd region: /sys/bus/nd/devices/<region>
  std::uint64_t region_offset = 0;  // where the device DAX starts in its region, in bytes
  std::string error;                // why the list's place could not be worked out
};

// The sysfs name of a device ("pmem0", "pmem0p1", "dax0.0") of class `cls` ("block", "char"),
// and its sysfs directory in `dir`.
std::string sysfs_name(const char* cls, dev_t dev, std::string& dir);
// True when `dev` is a pmem block device (a disk or one of its partitions).
bool is_pmem(dev_t dev);
// The list for a file on the block device `dev`, or for that device itself; no source when `dev`
// is not pmem.
kernel_list pmem_list(dev_t dev);
// The list for device DAX whose sysfs directory is `dev_dir`; no source when it is not on an nd
// region.
kernel_list region_list(const std::string& dev_dir);
// A sysfs attribute holding one decimal number and a newline (a device's size or alignment).
std::errc read_decimal_attribute(const std::string& path, std::uint64_t& v);

}  // namespace mcsafe_scan
