// atomic_clear_write and clear_write: every store method writes exactly the lines given and
// nothing around them, refuses bad arguments untouched, honours require_atomic, and returns a
// real fault with the exact line.
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <mcsafe/clear.hpp>
#include <mcsafe/diagnose.hpp>
#include <mcsafe/testing.hpp>

#include "catch2_any.hpp"
#include "store_methods.hpp"
#include "case_checks.hpp"
#include "support.hpp"

using mcsafe::store_method;
using mcsafe_test::store_scope;

namespace {

constexpr std::size_t L = mcsafe::line_size;

// A 64-byte-aligned arena filled with a guard pattern, and a source of random bytes.
struct arena {
  explicit arena(std::size_t lines) : raw(lines * L + 2 * L), src(lines * L + L) {
    std::mt19937 rng(static_cast<unsigned>(lines));
    for (auto& c : src) c = static_cast<unsigned char>(rng());
    reset();
  }
  unsigned char* base() { return raw.data() + (L - reinterpret_cast<std::uintptr_t>(raw.data()) % L) % L; }
  void reset() { std::memset(raw.data(), 0xA5, raw.size()); }
  // Whether [base(), base() + size) holds what should be there after writing `n` bytes from s
  // at base() + at; else its first byte that differs.
  mcsafe_test::byte_difference matches(std::size_t at, const unsigned char* s, std::size_t n, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      const unsigned char want = i >= at && i < at + n ? s[i - at] : 0xA5;
      if (base()[i] != want) return {static_cast<std::ptrdiff_t>(i), base()[i], want};
    }
    return {};
  }
  std::vector<unsigned char> raw, src;
};

// Shaped like an AMD Zen 4 (AVX-512F, CLWB, CLFLUSHOPT, no MOVDIR64B in CPUID), and like an
// older Intel core with SSE2 only. The values are typed in, not dumped from a machine.
mcsafe::cpuid_regs zen4_like(std::uint32_t leaf, std::uint32_t) noexcept {
  switch (leaf) {
    case 0: return {0x10, 0x68747541, 0x444d4163, 0x69746e65};  // "AuthenticAMD"
    case 1: return {0, 0, (1u << 27) | (1u << 28), (1u << 19) | (1u << 26)};
    case 7: return {0, (1u << 5) | (1u << 9) | (1u << 16) | (1u << 23) | (1u << 24), 0, 0};
    default: return {};
  }
}
mcsafe::cpuid_regs sse2_only(std::uint32_t leaf, std::uint32_t) noexcept {
  switch (leaf) {
    case 0: return {0x7, 0x756e6547, 0x6c65746e, 0x49656e69};  // "GenuineIntel"
    case 1: return {0, 0, 0, (1u << 19) | (1u << 26)};
    default: return {};
  }
}
mcsafe::cpuid_regs sapphire_rapids_like(std::uint32_t leaf, std::uint32_t s) noexcept {
  mcsafe::cpuid_regs r = zen4_like(leaf, s);
  if (leaf == 7) r.ecx |= 1u << 28;  // MOVDIR64B
  return r;
}
std::uint64_t xcr0_avx512() noexcept { return 0xe7; }

// The method an x86 CPU gets on this build: elsewhere CPUID reads nothing and only portable exists.
constexpr store_method on_this_build(store_method m) {
#if defined(MCSAFE_ARCH_X86_64)
  return m;
#else
  (void)m;
  return store_method::portable;
#endif
}

}  // namespace

TEST_CASE("clear: every method writes exactly the lines given, at many lines and source offsets", "[clear]") {
  mcsafe_test::for_each_store_method([&](store_method m) {
    if (m == store_method::movdir64b && !mcsafe::detail::host_cpu().movdir64b)
      WARN("movdir64b: not reported by CPUID, but it executes here: tested");
    constexpr std::size_t lines = 40;
    arena a(lines);
    mcsafe_test::case_log log;
    for (std::size_t at = 0; at < lines; ++at) {
      for (std::size_t so = 0; so < L; so += 7) {  // unaligned sources
        a.reset();
        const auto r = mcsafe::atomic_clear_write(a.base() + at * L, a.src.data() + so);
        const auto where = mcsafe_test::describe([&](std::ostream& os) {
          os << "atomic_clear_write with " << mcsafe::to_string(m) << " at line " << at << ", source offset " << so;
        });
        MCSAFE_CHECK_CASE(log, r.ok(), where);
        MCSAFE_CHECK_CASE(log, r.written == L, where);
        MCSAFE_CHECK_CASE(log, r.method == m, where);
        MCSAFE_CHECK_CASE(log, r.atomic == mcsafe::is_atomic(m), where);
        MCSAFE_CHECK_CASE(log, r.no_read == mcsafe::is_no_read(m), where);
        MCSAFE_CHECK_CASE(log, a.matches(at * L, a.src.data() + so, L, lines * L + L), where);
      }
      for (std::size_t n = 1; at + n <= lines; n += 3) {  // 1, 4, 7, ... lines: both unrolled paths
        a.reset();
        const std::size_t so = (at * 13 + n) % L;
        const auto r = mcsafe::clear_write(a.base() + at * L, a.src.data() + so, n * L);
        const auto where = mcsafe_test::describe([&](std::ostream& os) {
          os << "clear_write with " << mcsafe::to_string(m) << " of " << n << " lines at line " << at << ", source offset "
             << so;
        });
        MCSAFE_CHECK_CASE(log, r.ok(), where);
        MCSAFE_CHECK_CASE(log, r.written == n * L, where);
        MCSAFE_CHECK_CASE(log, r.method == m, where);
        MCSAFE_CHECK_CASE(log, a.matches(at * L, a.src.data() + so, n * L, lines * L + L), where);
      }
    }
    CHECK(log.failures == 0);
  });
}

TEST_CASE("clear: misaligned, null and not-whole-line arguments are refused and write nothing", "[clear][args]") {
  arena a(4);
  const auto untouched = [&] { return static_cast<bool>(a.matches(0, nullptr, 0, 5 * L)); };
  for (std::size_t off : {1u, 8u, 16u, 32u, 63u}) {
    const auto r = mcsafe::atomic_clear_write(a.base() + off, a.src.data());
    CHECK(r.error == std::errc::invalid_argument);
    CHECK(r.written == 0);
    CHECK_FALSE(r.ok());
    CHECK(mcsafe::clear_write(a.base() + off, a.src.data(), 2 * L).error == std::errc::invalid_argument);
  }
  CHECK(mcsafe::atomic_clear_write(nullptr, a.src.data()).error == std::errc::invalid_argument);
  CHECK(mcsafe::atomic_clear_write(a.base(), nullptr).error == std::errc::invalid_argument);
  CHECK(mcsafe::clear_write(nullptr, a.src.data(), L).error == std::errc::invalid_argument);
  CHECK(mcsafe::clear_write(a.base(), nullptr, L).error == std::errc::invalid_argument);
  for (std::size_t n : {1u, 63u, 65u, 100u, 127u})
    CHECK(mcsafe::clear_write(a.base(), a.src.data(), n).error == std::errc::invalid_argument);
  // Ranges that wrap around the end of the address space (whole lines, aligned: only the wrap is wrong).
  auto* top_line = reinterpret_cast<unsigned char*>(UINTPTR_MAX - (L - 1));
  CHECK(mcsafe::clear_write(top_line, a.src.data(), 2 * L).error == std::errc::invalid_argument);
  CHECK(mcsafe::clear_write(a.base(), top_line, 2 * L).error == std::errc::invalid_argument);
  CHECK(mcsafe::clear_write(a.base(), a.src.data(), SIZE_MAX - (L - 1)).error == std::errc::invalid_argument);
  CHECK(untouched());
  const auto zero = mcsafe::clear_write(nullptr, nullptr, 0);  // like memcpy: n == 0 is a no-op
  CHECK(zero.ok());
  CHECK(zero.written == 0);
}

TEST_CASE("clear: the method is chosen from CPUID, and require_atomic refuses without MOVDIR64B", "[clear][dispatch]") {
  using mcsafe::detail::choose_store;
  const mcsafe::cpu_features zen4 = mcsafe::detect(zen4_like, xcr0_avx512);
  const mcsafe::cpu_features old = mcsafe::detect(sse2_only, xcr0_avx512);
  const mcsafe::cpu_features spr = mcsafe::detect(sapphire_rapids_like, xcr0_avx512);
  REQUIRE_FALSE(zen4.movdir64b);
  CHECK(choose_store(spr, nullptr).method == on_this_build(store_method::movdir64b));
  CHECK(choose_store(zen4, nullptr).method == on_this_build(store_method::avx512_nt));
  CHECK(choose_store(old, nullptr).method == on_this_build(store_method::sse2_nt));
  CHECK(choose_store(mcsafe::cpu_features{}, nullptr).method == store_method::portable);

  // A CPU without MOVDIR64B: the method it gets is not atomic, and require_atomic refuses it
  // without writing, while the same call without the option writes the line.
  arena a(2);
  for (const mcsafe::cpu_features* f : {&zen4, &old}) {
    const store_method m = choose_store(*f, nullptr).method;
    const auto& entry = mcsafe::detail::store_row(m);
    a.reset();
    const auto r = mcsafe::detail::write_lines(entry, a.base(), a.src.data(), L, {.require_atomic = true});
    CHECK(r.error == std::errc::not_supported);
    CHECK_FALSE(r.atomic);
    CHECK(r.written == 0);
    CHECK(a.matches(0, nullptr, 0, 3 * L));
    if (!mcsafe::detail::store_usable(m, mcsafe::detail::host_cpu())) {
      // Chosen for a described CPU that this one is not: executing it would raise SIGILL.
      WARN("SKIP writing with " << mcsafe::to_string(m) << ": not available on this CPU");
      continue;
    }
    CHECK(mcsafe::detail::write_lines(entry, a.base(), a.src.data(), L, {}).ok());
    CHECK(a.matches(0, a.src.data(), L, 3 * L));
  }

  // The public call, with a non-atomic method forced, refuses the same way.
  for (store_method m : {store_method::avx512_nt, store_method::sse2_nt, store_method::portable}) {
    store_scope scope(m);
    if (!scope.skip.empty()) {
      WARN(scope.skip);
      continue;
    }
    a.reset();
    const auto r = mcsafe::atomic_clear_write(a.base(), a.src.data(), {.require_atomic = true});
    CHECK(r.error == std::errc::not_supported);
    CHECK(r.method == m);
    CHECK(a.matches(0, nullptr, 0, 3 * L));
  }
  store_scope scope(store_method::movdir64b);
  if (!scope.skip.empty()) {
    WARN(scope.skip);
    return;
  }
  a.reset();
  const auto r = mcsafe::atomic_clear_write(a.base() + L, a.src.data() + 3, {.require_atomic = true});
  CHECK(r.ok());
  CHECK(r.atomic);
  CHECK(r.no_read);
  CHECK(a.matches(L, a.src.data() + 3, L, 3 * L));
}

TEST_CASE("clear: MCSAFE_FORCE_STORE values are parsed, and unknown or unusable ones are ignored",
          "[clear][dispatch][env]") {
  using mcsafe::detail::choose_store;
  const mcsafe::cpu_features zen4 = mcsafe::detect(zen4_like, xcr0_avx512);
  const auto forced = choose_store(zen4, "portable");
  CHECK(forced.method == store_method::portable);
  CHECK(std::string(forced.reason) == "forced by MCSAFE_FORCE_STORE");
  const auto bogus = choose_store(zen4, "turbo");
  CHECK(bogus.method == on_this_build(store_method::avx512_nt));
  CHECK(std::string(bogus.ignored_env) == "turbo");
  CHECK(std::string(bogus.ignored_why) == "unknown backend name");
  // The environment never forces an instruction CPUID does not report: it could kill the
  // process with SIGILL. Only testing::force_store may.
  const auto unreported = choose_store(zen4, "movdir64b");
  CHECK(unreported.method == on_this_build(store_method::avx512_nt));
  CHECK(std::string(unreported.ignored_why) == "backend not available on this CPU or build");
  store_method parsed{};
  CHECK(mcsafe::parse("portable", parsed));
  CHECK(parsed == store_method::portable);
  CHECK_FALSE(mcsafe::parse("movdir64", parsed));

  const std::string report = mcsafe::diagnose();
  CHECK(report.find(std::string("store method: ") + mcsafe::to_string(mcsafe::active_store_method())) != std::string::npos);
  CHECK(report.find("flush method: ") != std::string::npos);
}

TEST_CASE("clear: a destination past the end of a truncated file gives bus_error at the exact line", "[clear][fault][bus]") {
  mcsafe_test::for_each_store_method([&](store_method) {
    const std::size_t pg = mcsafe_test::page_size();
    std::vector<unsigned char> src(16 * L + L);
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<unsigned char>(i * 29 + 3);
    for (std::size_t before = 0; before <= 9; ++before) {    // whole lines below the cut
      for (std::size_t after = 1; after <= 5; after += 2) {  // lines at and past the cut
        mcsafe_test::truncated_file file(4 * pg, 2 * pg);
        unsigned char* dst = file.cut() - before * L;
        const unsigned char* s = src.data() + (before + after) % 8;  // unaligned too
        const auto r = mcsafe::clear_write(dst, s, (before + after) * L);
        INFO("lines before the cut " << before << ", at and after it " << after);
        CHECK_FALSE(r.ok());
        CHECK(r.error == std::errc{});
        CHECK(r.fault.kind == mcsafe::fault_kind::bus_error);
        CHECK(r.fault.side == mcsafe::fault_side::destination);
        CHECK(r.fault.address == reinterpret_cast<std::uintptr_t>(file.cut()));
        CHECK(r.fault.si_code == BUS_ADRERR);
        CHECK(r.written == before * L);
        // The file holds the lines below the cut, its earlier bytes are untouched, and it was
        // not extended: nothing at or past the cut was written.
        std::vector<unsigned char> back(2 * pg);
        CHECK(pread(file.fd(), back.data(), back.size(), 0) == static_cast<ssize_t>(2 * pg));
        CHECK(std::memcmp(back.data() + 2 * pg - before * L, s, before * L) == 0);
        mcsafe_test::case_log log;
        for (std::size_t i = 0; i < 2 * pg - before * L; ++i)
          MCSAFE_CHECK_CASE(log, back[i] == mcsafe_test::truncated_file::pattern(i), "file byte " << i);
        CHECK(log.failures == 0);
        struct stat st {};
        CHECK(fstat(file.fd(), &st) == 0);
        CHECK(st.st_size == static_cast<off_t>(2 * pg));
      }
    }
    const auto one = [&] {
      mcsafe_test::truncated_file file(4 * pg, 2 * pg);
      return mcsafe::atomic_clear_write(file.cut() + 3 * L, src.data());
    }();
    CHECK(one.fault.kind == mcsafe::fault_kind::bus_error);
    CHECK(one.written == 0);
  });
}

TEST_CASE("clear: a source past the end of a truncated file stops before the line that holds it", "[clear][fault][bus]") {
  mcsafe_test::for_each_store_method([&](store_method m) {
    const std::size_t pg = mcsafe_test::page_size();
    mcsafe_test::truncated_file file(4 * pg, 2 * pg);
    arena a(12);
    for (std::size_t back_bytes : {1u, 17u, 64u, 65u, 200u, 320u}) {  // source bytes below the cut
      a.reset();
      const unsigned char* s = file.cut() - back_bytes;
      const auto r = mcsafe::clear_write(a.base(), s, 10 * L);
      INFO("source starts " << back_bytes << " bytes below the cut");
      CHECK(r.fault.kind == mcsafe::fault_kind::bus_error);
      CHECK(r.fault.side == mcsafe::fault_side::source);
      CHECK(r.fault.address == reinterpret_cast<std::uintptr_t>(file.cut()));
      const std::size_t whole = back_bytes / L * L;
      CHECK(r.written == whole);
      CHECK(std::memcmp(a.base(), s, whole) == 0);
      // Lines after the faulting one are untouched; the faulting line too, except that
      // portable moves it in two halves.
      const std::size_t from = m == store_method::portable ? whole + L : whole;
      CHECK(mcsafe_test::first_byte_not(a.base() + from, 0xA5, 11 * L - from));  // offsets from `from`
    }
  });
}

TEST_CASE("clear: a read-only destination gives segv when the handler catches SIGSEGV", "[clear][fault][segv]") {
  REQUIRE(mcsafe::install({.catch_segv = true}) == std::errc{});
  mcsafe_test::for_each_store_method([&](store_method) {
    mcsafe_test::guarded_pages mem(3, 1);
    unsigned char src[3 * L];
    for (std::size_t i = 0; i < sizeof src; ++i) src[i] = static_cast<unsigned char>(i);
    const auto r = mcsafe::clear_write(mem.bad() - L, src, 3 * L);
    CHECK(r.fault.kind == mcsafe::fault_kind::segv);
    CHECK(r.fault.side == mcsafe::fault_side::destination);
    CHECK(r.fault.address == reinterpret_cast<std::uintptr_t>(mem.bad()));
    CHECK(r.written == L);
    CHECK(std::memcmp(mem.bad() - L, src, L) == 0);
  });
}
