// mcsafe-scan's exit codes. This one table gives the enum, the status names of the JSON report
// and the "exit:" paragraph of --help; README's exit table and docs/mcsafe-scan.md follow it
// (tools/scan_test.sh checks that each lists every code).
#pragma once

#include <string>

namespace mcsafe_scan {

// X(enumerator, status in the JSON report, what --help says). The value is the position.
#define MCSAFE_SCAN_EXIT_CODES(X)                                                                                      \
  X(exit_clean, "clean", "clean")                                                                                      \
  X(exit_bad, "bad_ranges",                                                                                            \
    "bad ranges (found by the scan, the kernel's list or the salvage; left after repair; a dry run)")                  \
  X(exit_usage, "usage_error",                                                                                         \
    "usage error, a path that does not name a file, or unusable OUT or GOOD (the same file as FILE or as each other)") \
  X(exit_unsupported, "unsupported_target", "not a regular file, pmem or device DAX")                                  \
  X(exit_permission, "permission_denied", "permission denied")                                                         \
  X(exit_shrank, "file_shrank", "the file shrank during the run (scan again)")                                         \
  X(exit_io, "io_error", "other I/O error")                                                                            \
  X(exit_report, "report_failed", "the report could not be written")

enum exit_code : int {
#define MCSAFE_SCAN_ENUMERATOR(name, status, help) name,
  MCSAFE_SCAN_EXIT_CODES(MCSAFE_SCAN_ENUMERATOR)
#undef MCSAFE_SCAN_ENUMERATOR
};

inline const char* status_name(int code) {
  static const char* const names[] = {
#define MCSAFE_SCAN_STATUS(name, status, help) status,
      MCSAFE_SCAN_EXIT_CODES(MCSAFE_SCAN_STATUS)
#undef MCSAFE_SCAN_STATUS
  };
  return code >= 0 && code <= exit_report ? names[code] : "unknown";
}

// "exit: 0 clean, 1 bad ranges ..." wrapped at 88 columns, continuation lines indented by six.
inline std::string exit_codes_help() {
  static const char* const helps[] = {
#define MCSAFE_SCAN_HELP(name, status, help) help,
      MCSAFE_SCAN_EXIT_CODES(MCSAFE_SCAN_HELP)
#undef MCSAFE_SCAN_HELP
  };
  constexpr std::size_t width = 88;
  std::string text = "exit:", line;
  std::string out;
  for (int code = 0; code <= exit_report; ++code)
    text += " " + std::to_string(code) + " " + helps[code] + (code < exit_report ? "," : "");
  // Greedy word wrap of `text`.
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t next = text.find(' ', at + 1);
    if (next == std::string::npos) next = text.size();
    const std::string word = text.substr(at, next - at);  // with its leading space, but the first
    if (!line.empty() && line.size() + word.size() > width) {
      out += line + "\n";
      line = "     " + word;
    } else {
      line += word;
    }
    at = next;
  }
  return out + line + "\n";
}

}  // namespace mcsafe_scan
