// The stages of a run, in order: scan, the kernel's list, salvage, repair. Each fills its part
// of the report only when it completes, and returns the exit code (exit_clean to go on).
#pragma once

#include <system_error>

#include "target.hpp"

namespace mcsafe_scan {

// Scans [0, size) through the mapping, window by window: r.bad, every unreadable range.
exit_code scan_target(const options& o, const target& t, report& r, bool show_progress);
// The kernel's badblocks list in the target's byte offsets (r.kernel), when it has one.
void read_kernel_list(const target& t, report& r);
std::errc kernel_ranges(const target& t, mcsafe::poison_map& out);
// Every readable byte into the sparse regular file OUT (r.salvage).
exit_code salvage_target(const options& o, const target& t, report& r, bool show_progress);
// The pages of every known-bad range rewritten from GOOD, then scanned again (r.repair).
exit_code repair_target(const options& o, const target& t, report& r);

}  // namespace mcsafe_scan
