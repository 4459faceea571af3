// What is reported: filled stage by stage as the run goes, printed once at any exit. A stage
// that was not reached (or did not complete) has no value, so its keys print as null.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <variant>

#include <mcsafe/poison_map.hpp>

#include "arguments.hpp"
#include "exit_codes.hpp"

namespace mcsafe_scan {

enum class target_kind { regular_file, block_pmem, device_dax };
const char* kind_name(target_kind k);

struct opened_target {
  target_kind kind;
  std::size_t size;  // when opened
};

// The kernel's badblocks list, for a target on pmem.
struct kernel_report {
  std::string source;                                    // the sysfs file
  std::string partition;                                 // the partition it was clipped to; empty for a whole disk
  std::variant<mcsafe::poison_map, std::string> listed;  // the ranges in FILE's offsets, or why unreadable
};

struct salvage_report {
  std::size_t read_bytes = 0;
  mcsafe::poison_map holes;
};

struct repair_outcome {
  std::size_t rewritten = 0;
  mcsafe::poison_map refused, after;
};
struct repair_report {
  mcsafe::poison_map pages;            // planned, GOOD opened and checked
  std::optional<repair_outcome> done;  // written and scanned again (never for a dry run)
};

struct report {
  exit_code exit = exit_clean;
  std::string error;  // the message for exits 2-6
  std::optional<opened_target> target;
  std::optional<mcsafe::poison_map> bad;  // what the scan found, before any repair
  std::optional<kernel_report> kernel;    // none when not on pmem
  std::optional<salvage_report> salvage;
  std::optional<repair_report> repair;
};

exit_code fail(report& r, exit_code code, const std::string& msg);
// A failed system call: `what` and the errno it left (building `what` allocates, which leaves
// errno alone when it succeeds).
exit_code fail_errno(report& r, exit_code code, const std::string& what);

// Everything known bad inside the target: what the scan found, what the kernel lists, what
// salvage could not read.
mcsafe::poison_map known_bad(const report& r);

// Every key at every exit; null where a value does not apply or was not reached.
void print_json(const options& o, const report& r);
// What was found, then the kernel's view, then what salvage and repair did.
void print_text(const options& o, const report& r);
void print_ranges_text(const char* label, const mcsafe::poison_map& m);

}  // namespace mcsafe_scan
