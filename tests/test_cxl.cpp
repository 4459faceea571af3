// cxl::clear_poison: the request matches the kernel header's structures, and every refusal
// comes back as its error value. Through the ioctl seam: no CXL device was used.
#include <mcsafe/cxl.hpp>

#include "catch2_any.hpp"

#if MCSAFE_HAS_CXL
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using mcsafe::cxl::clear_poison_error;

namespace {

// A fake kernel: answers the query with `listed` (id, flags) entries and the send with
// `send_errno` / `retval`, and records every request it saw.
struct fake_kernel {
  std::vector<cxl_command_info> listed;
  int query_errno = 0, send_errno = 0;
  std::uint32_t retval = 0;
  std::vector<unsigned long> requests;
  std::vector<cxl_send_command> sent;
  std::vector<std::vector<unsigned char>> payloads;
};
fake_kernel g_kernel;

int fake_ioctl(int, unsigned long request, void* arg) noexcept {
  g_kernel.requests.push_back(request);
  if (request == CXL_MEM_QUERY_COMMANDS) {
    if (g_kernel.query_errno != 0) {
      errno = g_kernel.query_errno;
      return -1;
    }
    std::uint32_t asked = 0;
    std::memcpy(&asked, static_cast<unsigned char*>(arg) + offsetof(cxl_mem_query_commands, n_commands), sizeof asked);
    auto* out = static_cast<unsigned char*>(arg) + sizeof(cxl_mem_query_commands);
    for (std::size_t i = 0; i < g_kernel.listed.size() && i < asked; ++i)
      std::memcpy(out + i * sizeof(cxl_command_info), &g_kernel.listed[i], sizeof(cxl_command_info));
    return 0;
  }
  if (request == CXL_MEM_SEND_COMMAND) {
    cxl_send_command cmd;
    std::memcpy(&cmd, arg, sizeof cmd);
    g_kernel.sent.push_back(cmd);
    const auto* p = reinterpret_cast<const unsigned char*>(static_cast<std::uintptr_t>(cmd.in.payload));
    g_kernel.payloads.emplace_back(p, p + cmd.in.size);
    if (g_kernel.send_errno != 0) {
      errno = g_kernel.send_errno;
      return -1;
    }
    cmd.retval = g_kernel.retval;
    std::memcpy(arg, &cmd, sizeof cmd);
    return 0;
  }
  errno = ENOTTY;
  return -1;
}

// The kernel's table as a 6.1 kernel reports it: every id in order, flags as given.
void kernel_lists(std::uint32_t clear_poison_flags, bool with_clear_poison = true, bool with_raw = false) {
  g_kernel = {};
  for (std::uint32_t id = 1; id < CXL_MEM_COMMAND_ID_MAX; ++id) {
    cxl_command_info info{};
    if (id == mcsafe::cxl::clear_poison_command_id) {
      if (!with_clear_poison) {
        g_kernel.listed.push_back(info);  // a hole: id 0, as the kernel leaves it
        continue;
      }
      info.size_in = 0x48;
      info.flags = clear_poison_flags;
    }
    if (id == CXL_MEM_COMMAND_ID_RAW && !with_raw) {
      g_kernel.listed.push_back(info);
      continue;
    }
    info.id = id;
    g_kernel.listed.push_back(info);
  }
}

const mcsafe::cxl::clear_poison_options k_fake{.allow_raw = false, .ioctl = fake_ioctl};
const mcsafe::cxl::clear_poison_options k_fake_raw{.allow_raw = true, .ioctl = fake_ioctl};

struct line {
  unsigned char bytes[64];
  line() {
    for (int i = 0; i < 64; ++i) bytes[i] = static_cast<unsigned char>(0xC0 + i);
  }
};

// One answer of the fake kernel and what clear_poison must make of it. A row names only what
// differs from the defaults: a kernel that lists Clear Poison without flags and not RAW and
// answers every ioctl with success; a result of success with nothing sent.
struct kernel_answer {
  const char* what;
  // The kernel: Clear Poison's flags in the query, which of the two commands it lists, its
  // answer to the query and to every send, and the device's mailbox return code.
  std::uint32_t flags = 0;
  bool lists_clear_poison = true, lists_raw = false;
  int query_errno = 0, send_errno = 0;
  std::uint32_t retval = 0;
  // The result: its error value, the errno and mailbox status it carries, whether it came
  // from the raw command, and how many commands were sent.
  clear_poison_error error = clear_poison_error::none;
  int sys_errno = 0;
  std::uint32_t device_status = 0;
  bool raw = false;
  std::size_t sends = 0;
};

using enum clear_poison_error;
constexpr kernel_answer refusals[] = {
    {.what = "a file that is not a CXL memdev: ENOTTY on the query",
     .query_errno = ENOTTY,
     .error = not_a_memdev,
     .sys_errno = ENOTTY},
    {.what = "the kernel does not list the command (deprecated there), and RAW is not allowed",
     .lists_clear_poison = false,
     .lists_raw = true,
     .error = not_supported},
    {.what = "neither listed (6.4 and later without CONFIG_CXL_MEM_RAW_COMMANDS)",
     .lists_clear_poison = false,
     .error = deprecated},
    {.what = "the kernel reserves the command for itself: EXCLUSIVE in the query",
     .flags = mcsafe::cxl::command_flag_exclusive,
     .error = reserved_by_kernel},
    {.what = "the kernel reserves it at send time: EBUSY",
     .send_errno = EBUSY,
     .error = reserved_by_kernel,
     .sys_errno = EBUSY,
     .sends = 1},
    {.what = "the device does not support it: ENOTTY at send time",
     .send_errno = ENOTTY,
     .error = not_supported,
     .sys_errno = ENOTTY,
     .sends = 1},
    {.what = "permission", .send_errno = EACCES, .error = permission, .sys_errno = EACCES, .sends = 1},
    {.what = "the device refuses (Invalid Physical Address): its mailbox return code comes back",
     .retval = 0xF,
     .error = device_error,
     .device_status = 0xF,
     .sends = 1},
    {.what = "the device went away", .send_errno = ENXIO, .error = no_device, .sys_errno = ENXIO, .sends = 1},
    {.what = "other errors keep their errno", .send_errno = ENOMEM, .error = system_error, .sys_errno = ENOMEM, .sends = 1},
};
// With allow_raw: the raw mailbox command 0x4302 where the command id is not offered.
constexpr kernel_answer raw_answers[] = {
    {.what = "the command is not listed, RAW is", .lists_clear_poison = false, .lists_raw = true, .raw = true, .sends = 1},
    {.what = "listed but ENOTTY by id: RAW is tried next",
     .lists_raw = true,
     .send_errno = ENOTTY,
     .error = not_supported,
     .sys_errno = ENOTTY,
     .raw = true,
     .sends = 2},
    {.what = "a kernel without CONFIG_CXL_MEM_RAW_COMMANDS refuses RAW with EPERM",
     .lists_clear_poison = false,
     .lists_raw = true,
     .send_errno = EPERM,
     .error = permission,
     .sys_errno = EPERM,
     .raw = true,
     .sends = 1},
    {.what = "neither listed (6.4 and later without CONFIG_CXL_MEM_RAW_COMMANDS)",
     .lists_clear_poison = false,
     .error = deprecated},
};

// Runs one row against the fake kernel and checks every field of the result.
void check_answer(const kernel_answer& a, const mcsafe::cxl::clear_poison_options& options) {
  INFO(a.what);
  kernel_lists(a.flags, a.lists_clear_poison, a.lists_raw);
  g_kernel.query_errno = a.query_errno;
  g_kernel.send_errno = a.send_errno;
  g_kernel.retval = a.retval;
  const line data;
  const auto r = mcsafe::cxl::clear_poison(7, 0x40, data.bytes, options);
  CHECK(r.error == a.error);
  CHECK(r.sys_errno == a.sys_errno);
  CHECK(r.device_status == a.device_status);
  CHECK(r.raw == a.raw);
  REQUIRE(g_kernel.sent.size() == a.sends);
  if (!a.raw) return;
  // The raw command, sent last, carries the same payload as the command by id.
  const cxl_send_command& cmd = g_kernel.sent.back();
  CHECK(cmd.id == CXL_MEM_COMMAND_ID_RAW);
  CHECK(cmd.raw.opcode == 0x4302);
  CHECK(cmd.raw.rsvd == 0);
  CHECK(cmd.in.size == 72);
  CHECK(std::memcmp(g_kernel.payloads.back().data() + 8, data.bytes, 64) == 0);
}

}  // namespace

TEST_CASE("cxl: the command id and structures are those of the kernel header", "[cxl]") {
  // The id is spelled as a number because its enum name changed between header versions.
  const std::string name = cxl_command_names[mcsafe::cxl::clear_poison_command_id].name;
  CHECK((name == "Clear Poison" || name == "Deprecated Clear Poison"));
  CHECK(std::string(cxl_command_names[CXL_MEM_COMMAND_ID_RAW].name) == "Raw device command");
  CHECK(sizeof(mcsafe::cxl::clear_poison_payload) == 0x48);  // the kernel's size_in for it
}

TEST_CASE("cxl: clear_poison sends a query, then CLEAR_POISON with DPA and data", "[cxl]") {
  kernel_lists(0);
  const line data;
  const std::uint64_t dpa = 0x1234'5678'9ac0;
  const auto r = mcsafe::cxl::clear_poison(7, dpa, data.bytes, k_fake);
  CHECK(r.ok());
  CHECK_FALSE(r.raw);
  REQUIRE(g_kernel.requests.size() == 2);
  CHECK(g_kernel.requests[0] == CXL_MEM_QUERY_COMMANDS);
  CHECK(g_kernel.requests[1] == CXL_MEM_SEND_COMMAND);
  const cxl_send_command& cmd = g_kernel.sent.at(0);
  CHECK(cmd.id == mcsafe::cxl::clear_poison_command_id);
  CHECK(cmd.flags == 0);
  CHECK(cmd.rsvd == 0);
  CHECK(cmd.in.size == 72);
  CHECK(cmd.in.rsvd == 0);
  CHECK(cmd.out.size == 0);
  CHECK(cmd.out.rsvd == 0);
  CHECK(cmd.out.payload == 0);
  const auto& p = g_kernel.payloads.at(0);
  REQUIRE(p.size() == 72);
  std::uint64_t le = 0;
  for (int i = 7; i >= 0; --i) le = le << 8 | p[static_cast<std::size_t>(i)];  // little endian
  CHECK(le == dpa);
  CHECK(std::memcmp(p.data() + 8, data.bytes, 64) == 0);
}

TEST_CASE("cxl: a DPA that is not 64-byte aligned, or null data, is refused before any ioctl", "[cxl][errors]") {
  const line data;
  kernel_lists(0);
  for (std::uint64_t dpa : {1ull, 8ull, 63ull, 0x1000ull + 32}) {
    CHECK(mcsafe::cxl::clear_poison(7, dpa, data.bytes, k_fake).error == clear_poison_error::bad_alignment);
  }
  CHECK(mcsafe::cxl::clear_poison(7, 0, nullptr, k_fake).error == clear_poison_error::invalid_argument);
  CHECK(g_kernel.requests.empty());
}

TEST_CASE("cxl: each refusal has its own error value", "[cxl][errors]") {
  for (const kernel_answer& a : refusals) check_answer(a, k_fake);
}

TEST_CASE("cxl: with allow_raw, the raw mailbox command 0x4302 carries the same payload", "[cxl][raw]") {
  for (const kernel_answer& a : raw_answers) check_answer(a, k_fake_raw);
}

TEST_CASE("cxl: the real ioctl on files that are not CXL devices", "[cxl][real]") {
  const line data;
  CHECK(mcsafe::cxl::clear_poison("/nonexistent/cxl/mem0", 0, data.bytes).error == clear_poison_error::no_device);
  CHECK(mcsafe::cxl::clear_poison("/dev/null", 0, data.bytes).error == clear_poison_error::not_a_memdev);
  CHECK(mcsafe::cxl::clear_poison(-1, 0, data.bytes).error == clear_poison_error::invalid_argument);
}

// ---- The sysfs / debugfs / tracefs path (kernels 6.4 and later) ----------------------------

namespace {
// As a 6.12 kernel wrote it under QEMU's cxl-type3 device (tests/system: the guest's cxl cases),
// with two lines made up for what the emulation did not show: a record mapped in a region, and
// another memdev's.
constexpr const char* k_trace =
    "# tracer: nop\n"
    "#\n"
    "# entries-in-buffer/entries-written: 5/5   #P:1\n"
    "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
    "            init-1       [000] .....     4.864822: cxl_poison: memdev=mem0 host=0000:0d:00.0 serial=1 "
    "trace_type=Inject region= region_uuid=00000000-0000-0000-0000-000000000000 hpa=0xffffffffffffffff dpa=0x1000 "
    "dpa_length=0x40 source=Unknown flags= overflow_time=0\n"
    "            init-1       [000] .....     4.873349: cxl_poison: memdev=mem0 host=0000:0d:00.0 serial=1 "
    "trace_type=List region= region_uuid=00000000-0000-0000-0000-000000000000 hpa=0xffffffffffffffff dpa=0x2040 "
    "dpa_length=0x40 source=Injected flags= overflow_time=0\n"
    "            init-1       [000] .....     4.873394: cxl_poison: memdev=mem0 host=0000:0d:00.0 serial=1 "
    "trace_type=List region= region_uuid=00000000-0000-0000-0000-000000000000 hpa=0xffffffffffffffff dpa=0x1000 "
    "dpa_length=0x40 source=Injected flags= overflow_time=0\n"
    "            init-1       [000] .....     4.873400: cxl_poison: memdev=mem0 host=0000:0d:00.0 serial=1 "
    "trace_type=List region=region0 region_uuid=00000000-0000-0000-0000-000000000000 hpa=0x390080000 dpa=0x80000 "
    "dpa_length=0x80 source=External flags= overflow_time=0\n"
    "            init-1       [000] .....     4.873500: cxl_poison: memdev=mem1 host=0000:0e:00.0 serial=2 "
    "trace_type=List region= region_uuid=00000000-0000-0000-0000-000000000000 hpa=0xffffffffffffffff dpa=0x3000 "
    "dpa_length=0x40 source=Injected flags= overflow_time=0\n"
    "            init-1       [000] .....     4.873600: cxl_general_media: memdev=mem0 dpa=0x5000\n";
}  // namespace

TEST_CASE("cxl: the poison list is parsed from the cxl_poison trace events", "[cxl][trace]") {
  const mcsafe::cxl::poison_list l = mcsafe::cxl::parse_poison_trace(k_trace, "mem0");
  REQUIRE(l.ok());
  REQUIRE(l.records.size() == 3);  // List events of mem0 only: not Inject, not mem1, not other events
  CHECK(l.records[0].dpa == 0x2040);
  CHECK(l.records[0].length == 0x40);
  CHECK(l.records[0].source == mcsafe::cxl::poison_source::injected);
  CHECK(l.records[0].region.empty());
  CHECK(l.records[1].dpa == 0x1000);
  CHECK(l.records[2].region == "region0");
  CHECK(l.records[2].hpa == 0x390080000);
  CHECK(l.records[2].source == mcsafe::cxl::poison_source::external);
  CHECK_FALSE(l.records[2].region_offset_known);  // the region's start comes from sysfs
  const std::vector<mcsafe::byte_range> want{{0x1000, 0x1040}, {0x2040, 0x2080}, {0x80000, 0x80080}};
  CHECK(std::vector<mcsafe::byte_range>(l.dpa.begin(), l.dpa.end()) == want);
  CHECK(mcsafe::cxl::parse_poison_trace(k_trace, "mem1").records.size() == 1);
  CHECK(mcsafe::cxl::parse_poison_trace(k_trace, "mem7").records.empty());
  CHECK(mcsafe::cxl::parse_poison_trace("", "mem0").ok());
}

TEST_CASE("cxl: a malformed cxl_poison event is an error with its line, no partial list", "[cxl][trace][errors]") {
  const std::string head =
      "# tracer: nop\n"
      "  init-1 [000] ..... 1.0: cxl_poison: memdev=mem0 trace_type=List region= hpa=0xffffffffffffffff dpa=0x40 "
      "dpa_length=0x40 source=Injected\n";
  for (const char* bad : {
           "dpa=0x80 source=Injected hpa=0xffffffffffffffff",                 // no dpa_length
           "dpa=0x80 dpa_length=0x40 source=Injected",                        // no hpa
           "dpa=80 dpa_length=0x40 hpa=0xffffffffffffffff",                   // not hex
           "dpa=0x8g dpa_length=0x40 hpa=0xffffffffffffffff",                 // bad digit
           "dpa=0x10000000000000000 dpa_length=0x40 hpa=0xffffffffffffffff",  // over 64 bits
           "dpa=0x80 dpa_length=0x0 hpa=0xffffffffffffffff",                  // empty range
           "dpa=0xffffffffffffffc0 dpa_length=0x80 hpa=0xffffffffffffffff",   // wraps
       }) {
    INFO(bad);
    const std::string text =
        head + "  init-1 [000] ..... 1.1: cxl_poison: memdev=mem0 trace_type=List region= " + bad + "\n";
    const mcsafe::cxl::poison_list l = mcsafe::cxl::parse_poison_trace(text, "mem0");
    CHECK(l.error == mcsafe::cxl::poison_error::malformed);
    CHECK(l.line == 3);
    CHECK(l.records.empty());
    CHECK(l.dpa.empty());
  }
}

TEST_CASE("cxl: in_region gives the records mapped in a region as offsets from its start", "[cxl][trace]") {
  mcsafe::cxl::poison_list l;
  mcsafe::cxl::poison_record a;
  a.dpa = 0x80000;
  a.length = 0x80;
  a.region = "region0";
  a.hpa = 0x390080000;
  a.region_offset = 0x80000;
  a.region_offset_known = true;
  mcsafe::cxl::poison_record b = a;
  b.region = "region1";
  l.records = {a, b};
  const mcsafe::poison_map m = l.in_region("region0");
  REQUIRE(m.size() == 1);
  CHECK(*m.begin() == mcsafe::byte_range{0x80000, 0x80080});
  CHECK(l.in_region("region2").empty());
}

namespace {
// A copy of the kernel's files in a temporary directory: sysfs memdev with its sizes, debugfs
// inject/clear files (plain files here: what was written can be read back).
struct fake_tree {
  std::string root;
  mcsafe::cxl::kernel_paths paths;
  std::string sysfs, debugfs, tracefs;
  fake_tree() {
    char tmpl[] = "/tmp/mcsafe-cxl-XXXXXX";
    root = ::mkdtemp(tmpl);
    sysfs = root + "/sys";
    debugfs = root + "/debug";
    tracefs = root + "/tracing";
    for (const std::string& d : {sysfs, sysfs + "/mem0", sysfs + "/mem0/ram", sysfs + "/mem0/pmem", debugfs,
                                 debugfs + "/cxl", debugfs + "/cxl/mem0", tracefs})
      ::mkdir(d.c_str(), 0700);
    put(sysfs + "/mem0/ram/size", "0x10000000\n");
    put(sysfs + "/mem0/pmem/size", "0x0\n");
    put(debugfs + "/cxl/mem0/inject_poison", "");
    put(debugfs + "/cxl/mem0/clear_poison", "");
    paths = {sysfs, debugfs, tracefs};
  }
  ~fake_tree() { (void)std::system(("rm -rf " + root).c_str()); }
  static void put(const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return;
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  static std::string get(const std::string& path) {
    std::string text;
    (void)mcsafe::detail::read_text_file(path, text);
    return text;
  }
};
}  // namespace

TEST_CASE("cxl: inject and clear write the DPA to debugfs, after checking it", "[cxl][debugfs]") {
  using enum mcsafe::cxl::poison_error;
  fake_tree t;
  CHECK(mcsafe::cxl::inject_poison("mem0", 0x1000, t.paths).ok());
  CHECK(fake_tree::get(t.debugfs + "/cxl/mem0/inject_poison") == "0x1000\n");
  CHECK(mcsafe::cxl::clear_poison_debugfs("mem0", 0xfffffc0, t.paths).ok());  // the last line
  CHECK(fake_tree::get(t.debugfs + "/cxl/mem0/clear_poison") == "0xfffffc0\n");
  fake_tree::put(t.debugfs + "/cxl/mem0/clear_poison", "");
  // Refused before anything is written.
  CHECK(mcsafe::cxl::clear_poison_debugfs("mem0", 0x1001, t.paths).error == bad_alignment);
  CHECK(mcsafe::cxl::clear_poison_debugfs("mem0", 0x10000000, t.paths).error == out_of_range);
  CHECK(mcsafe::cxl::inject_poison("mem0", ~0ull << 6, t.paths).error == out_of_range);
  CHECK(mcsafe::cxl::inject_poison("mem9", 0, t.paths).error == no_device);
  CHECK(mcsafe::cxl::inject_poison("", 0, t.paths).error == invalid_argument);
  CHECK(mcsafe::cxl::inject_poison("../mem0", 0, t.paths).error == invalid_argument);
  CHECK(fake_tree::get(t.debugfs + "/cxl/mem0/clear_poison").empty());
  // A malformed size attribute is an error, not a guess.
  fake_tree::put(t.sysfs + "/mem0/ram/size", "256M\n");
  CHECK(mcsafe::cxl::inject_poison("mem0", 0, t.paths).error == malformed);
  fake_tree::put(t.sysfs + "/mem0/ram/size", "0x10000000\n");
  // debugfs not mounted (no cxl directory), and a device without the commands (no file).
  const std::string nowhere = t.root + "/nowhere";  // kernel_paths holds views: keep the string
  mcsafe::cxl::kernel_paths unmounted = t.paths;
  unmounted.debugfs = nowhere;
  CHECK(mcsafe::cxl::inject_poison("mem0", 0, unmounted).error == no_debugfs);
  ::unlink((t.debugfs + "/cxl/mem0/inject_poison").c_str());
  CHECK(mcsafe::cxl::inject_poison("mem0", 0, t.paths).error == not_supported);
}

TEST_CASE("cxl: read_poison_list says what is missing before it triggers anything", "[cxl][errors]") {
  using enum mcsafe::cxl::poison_error;
  fake_tree t;
  CHECK(mcsafe::cxl::read_poison_list("mem9", t.paths).error == no_device);
  CHECK(mcsafe::cxl::read_poison_list("mem0", t.paths).error == not_supported);  // no trigger_poison_list
  fake_tree::put(t.sysfs + "/mem0/trigger_poison_list", "");
  CHECK(mcsafe::cxl::read_poison_list("mem0", t.paths).error == no_tracefs);  // no cxl_poison event
  CHECK(fake_tree::get(t.sysfs + "/mem0/trigger_poison_list").empty());
}

TEST_CASE("cxl: describe_paths says which path this kernel offers", "[cxl][diagnose]") {
  fake_tree t;
  const std::string dev = t.root + "/dev";
  ::mkdir(dev.c_str(), 0700);
  fake_tree::put(dev + "/mem0", "");
  mcsafe::cxl::kernel_paths at = t.paths;
  at.dev = dev;
  kernel_lists(0, false, false);  // 6.4 and later without raw commands
  std::string text = mcsafe::cxl::describe_paths("mem0", at, fake_ioctl);
  INFO(text);
  CHECK(text.find("trigger_poison_list no") != std::string::npos);
  CHECK(text.find("inject_poison yes, clear_poison yes") != std::string::npos);
  CHECK(text.find("ioctl Clear Poison: deprecated") != std::string::npos);
  kernel_lists(0, false, true);
  CHECK(mcsafe::cxl::describe_paths("mem0", at, fake_ioctl).find("the raw command is listed") != std::string::npos);
  kernel_lists(0);
  CHECK(mcsafe::cxl::describe_paths("mem0", at, fake_ioctl).find("offered by id") != std::string::npos);
  const std::string nowhere = t.root + "/nowhere";
  at.debugfs = nowhere;
  text = mcsafe::cxl::describe_paths("mem9", at, fake_ioctl);
  CHECK(text.find("not a CXL memdev") != std::string::npos);
  CHECK(text.find("debugfs not mounted") != std::string::npos);
  CHECK(text.find("cannot open") != std::string::npos);
}

TEST_CASE("cxl: clear_and_rewrite refuses a null or misaligned line before clearing", "[cxl][errors]") {
  using enum mcsafe::cxl::poison_error;
  fake_tree t;
  alignas(64) unsigned char line[128] = {};
  const unsigned char data[64] = {1};
  CHECK(mcsafe::cxl::clear_and_rewrite("mem0", 0, nullptr, data, {}, t.paths).clear.error == invalid_argument);
  CHECK(mcsafe::cxl::clear_and_rewrite("mem0", 0, line + 8, data, {}, t.paths).clear.error == bad_alignment);
  CHECK(fake_tree::get(t.debugfs + "/cxl/mem0/clear_poison").empty());
  // Through the fake debugfs: cleared (written), then the line rewritten by the active store.
  const mcsafe::cxl::rewrite_result r = mcsafe::cxl::clear_and_rewrite("mem0", 0x40, line, data, {}, t.paths);
  CHECK(r.ok());
  CHECK(fake_tree::get(t.debugfs + "/cxl/mem0/clear_poison") == "0x40\n");
  CHECK(std::memcmp(line, data, 64) == 0);
  CHECK(r.write.written == 64);
}
#else
TEST_CASE("cxl: not built here", "[cxl]") { WARN("SKIP cxl: <linux/cxl_mem.h> is not available"); }
#endif
