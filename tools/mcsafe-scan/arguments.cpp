#include "arguments.hpp"

#include <getopt.h>

#include <mcsafe/mcsafe.hpp>

#include "exit_codes.hpp"

#define MCSAFE_SCAN_STR2(x) #x
#define MCSAFE_SCAN_STR(x) MCSAFE_SCAN_STR2(x)

namespace mcsafe_scan {

const char* version() {
  return MCSAFE_SCAN_STR(MCSAFE_VERSION_MAJOR) "." MCSAFE_SCAN_STR(MCSAFE_VERSION_MINOR) "." MCSAFE_SCAN_STR(
      MCSAFE_VERSION_PATCH);
}

const std::string& usage_text() {
  static const std::string text =
      "usage: mcsafe-scan [OPTION]... [--] FILE\n"
      "       mcsafe-scan --demo | --help | --version\n"
      "Maps FILE one window at a time, reads all of it through mcsafe's fault-safe copies, and\n"
      "prints the byte ranges that could not be read (hardware poison, DAX bad blocks, pages past\n"
      "the end of a file that shrank). FILE is a regular file, a pmem block device (/dev/pmemN,\n"
      "/dev/pmemNpM) or a device-DAX character device (/dev/daxX.Y). On pmem it also reads the\n"
      "kernel's badblocks list and names the same ranges in FILE.\n"
      "  -j, --json               JSON report on stdout, at every exit (schema: docs/mcsafe-scan.md)\n"
      "  -s, --salvage=OUT        copy every readable byte to the regular file OUT, sparse\n"
      "  -r, --repair-from=GOOD   rewrite the bad pages of FILE from the same offsets of GOOD\n"
      "  -n, --dry-run            with --repair-from: check GOOD and list the pages, write nothing\n"
      "  -p, --progress           progress with rate and ETA on stderr even when not a terminal\n"
      "  -q, --quiet              no text report and no progress; errors still go to stderr\n"
      "  -v, --verbose            also say on stderr what was opened, mapped and read, and how fast\n"
      "      --demo               run on a built-in example (a file truncated under its mapping)\n"
      "  -h, --help               this text\n"
      "  -V, --version            the version\n"
      "Salvage leaves holes, unreadable ranges and zero pages unwritten (zeros in OUT). Repair\n"
      "writes whole pages and never changes FILE's size (a partial last page is padded, then the\n"
      "size restored unless FILE grew meanwhile) and needs GOOD to hold every byte it supplies;\n"
      "the report lists what was found, then what was done.\n" +
      exit_codes_help();
  return text;
}

command_line parse_arguments(int argc, char** argv) {
  static const option long_options[] = {{"json", no_argument, nullptr, 'j'},
                                        {"salvage", required_argument, nullptr, 's'},
                                        {"repair-from", required_argument, nullptr, 'r'},
                                        {"dry-run", no_argument, nullptr, 'n'},
                                        {"progress", no_argument, nullptr, 'p'},
                                        {"quiet", no_argument, nullptr, 'q'},
                                        {"verbose", no_argument, nullptr, 'v'},
                                        {"demo", no_argument, nullptr, 'D'},
                                        {"help", no_argument, nullptr, 'h'},
                                        {"version", no_argument, nullptr, 'V'},
                                        {nullptr, 0, nullptr, 0}};
  command_line cl;
  options& o = cl.opts;
  bool demo_asked = false;
  opterr = 0;  // the messages are ours, with the option named
  int c;
  while ((c = getopt_long(argc, argv, ":js:r:npqvhV", long_options, nullptr)) != -1) {
    switch (c) {
      case 'j': o.json = true; break;
      case 's': o.salvage_to = optarg; break;
      case 'r': o.repair_from = optarg; break;
      case 'n': o.dry_run = true; break;
      case 'p': o.progress = true; break;
      case 'q': o.quiet = true; break;
      case 'v': o.verbose = true; break;
      case 'D': demo_asked = true; break;
      case 'h': cl.what = command_line::action::help; return cl;
      case 'V': cl.what = command_line::action::version; return cl;
      default: {
        // optind has moved past the offending word; optopt is set for a short option.
        const std::string word = argv[optind - 1];
        const std::string name = word.rfind("--", 0) == 0 ? word.substr(0, word.find('='))
                                                          : "-" + std::string(1, static_cast<char>(optopt));
        if (cl.usage_error.empty())
          cl.usage_error = c == ':' ? "option " + name + " needs a value" : "unknown option " + name;
      }
    }
  }
  if (!cl.usage_error.empty()) return cl;
  if (optind < argc) o.file = argv[optind++];
  if (optind < argc)
    cl.usage_error = "one FILE only (also got " + std::string(argv[optind]) + ")";
  else if (demo_asked && (o.file != nullptr || o.json || o.salvage_to || o.repair_from))
    cl.usage_error = "--demo takes no FILE and no other option";
  else if (!demo_asked && o.file == nullptr)
    cl.usage_error = "no FILE given";
  else if (o.dry_run && o.repair_from == nullptr)
    cl.usage_error = "--dry-run goes with --repair-from";
  if (cl.usage_error.empty() && demo_asked) cl.what = command_line::action::demo;
  return cl;
}

}  // namespace mcsafe_scan
