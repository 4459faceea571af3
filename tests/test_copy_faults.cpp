// The fault matrix: every backend, real SIGBUS from a truncated MAP_SHARED file and real SIGSEGV
// from a PROT_NONE page, every start offset near the cut, short and long lengths, both sides.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <iterator>
#include <vector>

#include <mcsafe/copy.hpp>
#include <mcsafe/dispatch.hpp>

#include "catch2_any.hpp"
#include "case_checks.hpp"
#include "copy_variants.hpp"
#include "support.hpp"

using mcsafe::fault_kind;
using mcsafe::fault_side;
using mcsafe_test::page_size;
using mcsafe_test::truncated_file;

namespace {

std::vector<std::size_t> lengths_across_cut() {
  std::vector<std::size_t> v;
  for (std::size_t n = 1; n <= 300; ++n) v.push_back(n);
  // 301..1024: the classes of sixteen moves (8V+1..16V: xmm 129..256, ymm 257..512, zmm
  // 513..1024) and of two times sixteen (16V+1..32V: xmm 257..512, ymm 513..1024) where the
  // destination is V-byte aligned.
  for (std::size_t n : {320u, 449u, 511u, 512u, 513u, 576u, 577u, 1000u, 1024u}) v.push_back(n);
  for (std::size_t n : {4096u, 4097u, 4095u + 130u, 8192u, 65536u + 13u, 262144u, 1048576u}) v.push_back(n);
  return v;
}

// The checks every copy that starts `off` bytes before a cut on `side` must pass (`where` names
// the case). Returns 1 when the copy had to fault (n > off), else 0.
template <class Where>
std::size_t check_across_cut(mcsafe_test::case_log& log, const Where& where, const mcsafe::copy_result& r, std::size_t off,
                             std::size_t n, fault_side side, const unsigned char* cut) {
  if (n <= off) {
    MCSAFE_CHECK_CASE(log, r.ok(), where);
    MCSAFE_CHECK_CASE(log, r.copied == n, where);
    return 0;
  }
  MCSAFE_CHECK_CASE(log, !r.ok(), where);
  MCSAFE_CHECK_CASE(log, r.copied == off, where);
  MCSAFE_CHECK_CASE(log, r.fault.kind == fault_kind::bus_error, where);
  MCSAFE_CHECK_CASE(log, r.fault.side == side, where);
  MCSAFE_CHECK_CASE(log, r.fault.address == reinterpret_cast<std::uintptr_t>(cut), where);
  MCSAFE_CHECK_CASE(log, r.fault.si_code == BUS_ADRERR, where);
  return 1;
}

// The two rows of the sweep below: which end of the copy starts `off` bytes before the cut.
struct sweep_side {
  fault_side side;
  const char* name;
};
constexpr sweep_side sweep_sides[] = {{fault_side::source, "source"}, {fault_side::destination, "destination"}};

// Sets dst[0, n) to the complement of src[0, n): a byte the copy did not write cannot match.
void fill_complement(unsigned char* dst, const unsigned char* src, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<unsigned char>(~src[i]);
}

}  // namespace

TEST_CASE("copy faults: source or destination past the end of a truncated file, every backend", "[copy][fault][bus]") {
  const mcsafe_test::copy_variant v = MCSAFE_TEST_EACH_COPY_VARIANT();
  const sweep_side s = GENERATE(from_range(std::begin(sweep_sides), std::end(sweep_sides)));
  mcsafe_test::copy_variant_scope scope(v);
  if (!scope.ok) return;
  DYNAMIC_SECTION("backend " << v.name << ", " << s.name << " past the cut") {
    const std::size_t pg = page_size();
    truncated_file file(4 * pg + (1u << 20), 2 * pg);
    const auto lengths = lengths_across_cut();
    std::vector<unsigned char> buf((1u << 20) + 128);  // the other side: ordinary memory
    for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<unsigned char>(i * 13 + 5);
    // ... 64-byte aligned at even offsets (one byte above where the cut side is on a line too),
    // 16 bytes above that at offsets 1 mod 4, and at 3 mod 4 at the cut side's offset in a line
    // (the routines' loops then load and store aligned).
    unsigned char* const line = buf.data() + mcsafe_test::bytes_to_line(buf.data());
    mcsafe_test::case_log log;
    std::size_t faults = 0, routine_faults = 0;
    for (std::size_t off = 0; off <= 130; ++off) {
      unsigned char* const near_cut = file.cut() - off;
      const std::size_t other_off = off % 64 == 0 ? 1 : off % 2 == 0 ? 0 : off % 4 == 1 ? 16 : 64 - off % 64;
      unsigned char* const other = line + other_off;
      unsigned char* const dst = s.side == fault_side::source ? other : near_cut;
      const unsigned char* const src = s.side == fault_side::source ? near_cut : other;
      // One copy of n bytes by `copy`, checked; returns 1 when it had to fault.
      auto checked = [&](auto copy, std::size_t n, const char* how) {
        fill_complement(dst, src, std::min(n, off));
        const mcsafe::copy_result r = copy(dst, src, n);
        const auto where = mcsafe_test::describe([&](std::ostream& os) {
          os << "backend " << v.name << ", " << how << " of " << n << " bytes, the " << s.name << " starting " << off
             << " bytes before the cut";
        });
        MCSAFE_CHECK_CASE(log, mcsafe_test::first_difference(dst, src, std::min(r.copied, off)), where);
        return check_across_cut(log, where, r, off, n, s.side, file.cut());
      };
      // mc_safe_copy moves 8-64 bytes inline on x86-64 (and 65-128 with vector_avx512), not
      // with the backend: the backend's own small classes are driven through the routine path too.
      auto public_copy = [](void* d, const void* p, std::size_t k) { return mcsafe::mc_safe_copy(d, p, k); };
      auto routine_copy = [](void* d, const void* p, std::size_t k) { return mcsafe::detail::routine_copy(d, p, k); };
      for (std::size_t n : lengths) {
        faults += checked(public_copy, n, "mc_safe_copy");
        if (n <= 136) routine_faults += checked(routine_copy, n, "the routine");
      }
    }
    CHECK(faults == 32881);         // every (offset, length) pair with length > offset
    CHECK(routine_faults == 9301);  // the same for lengths up to 136
    CHECK(log.failures == 0);
  }
}

TEST_CASE("copy faults: both sides fail, the lower offset wins", "[copy][fault][bus]") {
  const mcsafe_test::copy_variant v = MCSAFE_TEST_EACH_COPY_VARIANT();
  mcsafe_test::copy_variant_scope scope(v);
  if (!scope.ok) return;
  DYNAMIC_SECTION("backend " << v.name) {
    const std::size_t pg = page_size();
    truncated_file a(4 * pg, 2 * pg), d(4 * pg, 2 * pg);
    mcsafe_test::case_log log;
    for (std::size_t src_off : {1u, 7u, 64u, 100u, 300u}) {
      for (std::size_t dst_off : {0u, 3u, 64u, 99u, 250u}) {
        const auto r = mcsafe::mc_safe_copy(d.cut() - dst_off, a.cut() - src_off, 1000);
        const std::size_t want = std::min(src_off, dst_off);
        const auto where = mcsafe_test::describe([&](std::ostream& os) {
          os << "backend " << v.name << ", 1000 bytes, source " << src_off << " and destination " << dst_off
             << " bytes before their cuts; reported side " << mcsafe::to_string(r.fault.side);
        });
        // On a tie either side may be the one reported.
        const bool side_ok = (src_off <= dst_off && r.fault.side == fault_side::source) ||
                             (dst_off <= src_off && r.fault.side == fault_side::destination);
        MCSAFE_CHECK_CASE(log, r.copied == want, where);
        MCSAFE_CHECK_CASE(log, side_ok, where);
        MCSAFE_CHECK_CASE(log, mcsafe_test::first_difference(d.cut() - dst_off, a.cut() - src_off, want), where);
      }
    }
    CHECK(log.failures == 0);
  }
}

TEST_CASE("copy faults: SIGSEGV on a PROT_NONE page with catch_segv, every backend", "[copy][fault][segv]") {
  REQUIRE(mcsafe::install({.catch_segv = true}) == std::errc{});
  const mcsafe_test::copy_variant v = MCSAFE_TEST_EACH_COPY_VARIANT();
  mcsafe_test::copy_variant_scope scope(v);
  if (!scope.ok) return;
  DYNAMIC_SECTION("backend " << v.name) {
    mcsafe_test::guarded_pages pages(4, 2);
    std::vector<unsigned char> buf(9000);
    for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<unsigned char>(i * 13 + 5);
    mcsafe_test::case_log log;
    for (const sweep_side& s : sweep_sides) {
      for (std::size_t off = 0; off <= 130; ++off) {
        unsigned char* const below = pages.bad() - off;
        unsigned char* const dst = s.side == fault_side::source ? buf.data() : below;
        const unsigned char* const src = s.side == fault_side::source ? below : buf.data();
        for (std::size_t n : {off + 1, off + 64, off + 4096}) {
          fill_complement(dst, src, off);
          const auto r = mcsafe::mc_safe_copy(dst, src, n);
          const auto where = mcsafe_test::describe([&](std::ostream& os) {
            os << "backend " << v.name << ", " << n << " bytes, the " << s.name << " starting " << off
               << " bytes before the PROT_NONE page";
          });
          MCSAFE_CHECK_CASE(log, r.copied == off, where);
          MCSAFE_CHECK_CASE(log, r.fault.kind == fault_kind::segv, where);
          MCSAFE_CHECK_CASE(log, r.fault.side == s.side, where);
          MCSAFE_CHECK_CASE(log, r.fault.address == reinterpret_cast<std::uintptr_t>(pages.bad()), where);
          MCSAFE_CHECK_CASE(log, r.fault.si_code == SEGV_ACCERR, where);
          MCSAFE_CHECK_CASE(log, mcsafe_test::first_difference(dst, src, off), where);
        }
      }
    }
    CHECK(log.failures == 0);
  }
}

#if defined(__x86_64__)
// The two kinds a non-canonical access can give (see the test below).
inline bool no_address_fault(fault_kind k) { return k == fault_kind::segv || k == fault_kind::bus_error; }

TEST_CASE("copy faults: a non-canonical address gives side none and address 0 (segv, or bus_error via rbp)",
          "[copy][fault][segv]") {
  // Bit 63 set and bits 62..47 clear: not canonical with 4- or 5-level paging. The CPU raises
  // a general-protection fault (SIGSEGV), or a stack-segment fault (SIGBUS) when the address is
  // formed from rbp or rsp, which the compiler may choose for an inlined guarded move (clang 14
  // -O2 does here); the kernel sends either with si_code SI_KERNEL and si_addr 0.
  REQUIRE(mcsafe::install({.catch_segv = true}) == std::errc{});
  auto* odd = reinterpret_cast<unsigned char*>(std::uintptr_t{1} << 63);
  const auto l = mcsafe::mc_safe_load(reinterpret_cast<const std::uint64_t*>(odd));
  REQUIRE_FALSE(l.has_value());
  CHECK(no_address_fault(l.error().kind));
  CHECK(l.error().si_code == SI_KERNEL);
  CHECK(l.error().side == fault_side::none);  // was `destination`: a load has none
  CHECK(l.error().address == 0);
  const mcsafe_test::copy_variant v = MCSAFE_TEST_EACH_COPY_VARIANT();
  mcsafe_test::copy_variant_scope scope(v);
  if (!scope.ok) return;
  DYNAMIC_SECTION("backend " << v.name) {
    unsigned char buf[512];
    for (const sweep_side& s : sweep_sides) {
      unsigned char* const dst = s.side == fault_side::source ? buf : odd;
      const unsigned char* const src = s.side == fault_side::source ? odd : buf;
      for (std::size_t n : {1u, 8u, 64u, 300u}) {
        INFO(s.name << " non-canonical, n = " << n);
        const auto r = mcsafe::mc_safe_copy(dst, src, n);
        CHECK(r.copied == 0);
        CHECK(no_address_fault(r.fault.kind));
        CHECK(r.fault.side == fault_side::none);
        CHECK(r.fault.address == 0);
      }
    }
  }
}
#endif
