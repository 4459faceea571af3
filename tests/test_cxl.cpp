// cxl::clear_poison: the request matches the kernel header's structures, and every refusal
// comes back as its error value. Through the ioctl seam: no CXL device was used.
#include <mcsafe/cxl.hpp>

#include "catch2_any.hpp"

#if MCSAFE_HAS_CXL
#include <cerrno>
#include <cstddef>
#include <cstring>
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
    {.what = "a file that is not a CXL memdev: ENOTTY on the query", .query_errno = ENOTTY, .error = not_a_memdev,
     .sys_errno = ENOTTY},
    {.what = "the kernel does not list the command (deprecated there), and RAW is not allowed",
     .lists_clear_poison = false, .lists_raw = true, .error = not_supported},
    {.what = "the kernel reserves the command for itself: EXCLUSIVE in the query",
     .flags = mcsafe::cxl::command_flag_exclusive, .error = reserved_by_kernel},
    {.what = "the kernel reserves it at send time: EBUSY", .send_errno = EBUSY, .error = reserved_by_kernel,
     .sys_errno = EBUSY, .sends = 1},
    {.what = "the device does not support it: ENOTTY at send time", .send_errno = ENOTTY, .error = not_supported,
     .sys_errno = ENOTTY, .sends = 1},
    {.what = "permission", .send_errno = EACCES, .error = permission, .sys_errno = EACCES, .sends = 1},
    {.what = "the device refuses (Invalid Physical Address): its mailbox return code comes back", .retval = 0xF,
     .error = device_error, .device_status = 0xF, .sends = 1},
    {.what = "the device went away", .send_errno = ENXIO, .error = no_device, .sys_errno = ENXIO, .sends = 1},
    {.what = "other errors keep their errno", .send_errno = ENOMEM, .error = system_error, .sys_errno = ENOMEM,
     .sends = 1},
};
// With allow_raw: the raw mailbox command 0x4302 where the command id is not offered.
constexpr kernel_answer raw_answers[] = {
    {.what = "the command is not listed, RAW is", .lists_clear_poison = false, .lists_raw = true, .raw = true,
     .sends = 1},
    {.what = "listed but ENOTTY by id: RAW is tried next", .lists_raw = true, .send_errno = ENOTTY,
     .error = not_supported, .sys_errno = ENOTTY, .raw = true, .sends = 2},
    {.what = "a kernel without CONFIG_CXL_MEM_RAW_COMMANDS refuses RAW with EPERM", .lists_clear_poison = false,
     .lists_raw = true, .send_errno = EPERM, .error = permission, .sys_errno = EPERM, .raw = true, .sends = 1},
    {.what = "neither listed", .lists_clear_poison = false, .error = not_supported},
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
#else
TEST_CASE("cxl: not built here", "[cxl]") { WARN("SKIP cxl: <linux/cxl_mem.h> is not available"); }
#endif
