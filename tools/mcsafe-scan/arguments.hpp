// The command line: options, the usage text, parsing.
#pragma once

#include <string>

namespace mcsafe_scan {

struct options {
  const char* file = nullptr;
  const char* salvage_to = nullptr;
  const char* repair_from = nullptr;
  bool json = false, dry_run = false, quiet = false, verbose = false, progress = false;
};

struct command_line {
  enum class action { run, demo, help, version };
  action what = action::run;
  options opts;
  std::string usage_error;  // the first one; empty when the command line is usable
};

// --help's text: the options, then the exit codes' paragraph from their table.
const std::string& usage_text();

// --help and --version win as soon as they are seen; otherwise parsing goes on past a usage
// error so that --json is known either way.
command_line parse_arguments(int argc, char** argv);

const char* version();

}  // namespace mcsafe_scan
