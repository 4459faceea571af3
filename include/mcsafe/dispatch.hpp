// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/dispatch.hpp - which copy routine runs: one table of backends, chosen once, forceable.
//
// k_copy_backends below lists every backend in order of preference, one row each: its name,
// its routine, the CPU features it needs, the CPUID rule that picks it, whether it copies in
// address order, and its rep movsb band. The choice (detail/choice.hpp, the same rule as store
// and flush methods), made once on first use and cached in one atomic pointer:
//   1. compile time: -DMCSAFE_FORCE_COPY_BACKEND=<name> (e.g. fragile)
//   2. the environment: MCSAFE_FORCE_COPY=rep_movsb|vector|vector_avx512|vector_sse2|fragile|generic,
//      read once; a value that is unknown or not usable here is ignored and reported by
//      diagnose(), never printed
//   3. CPUID (cpu.hpp): the first row whose rule picks it
// Tests switch backends with mcsafe::testing::force_copy(). Adding a backend: its asm (detail/
// <arch>/), its range in detail/routine_table.hpp, an enumerator and a row here.
#pragma once
#include <atomic>
#include <cstdlib>
#include <string_view>

#include "cpu.hpp"
#include "detail/choice.hpp"
#include "detail/config.hpp"
#include "detail/routine_table.hpp"
#include "guard.hpp"

namespace mcsafe {
inline namespace v1 {

// The later backends are appended so that the values of the others stay what they were.
enum class copy_backend : std::uint8_t { rep_movsb, vector, fragile, generic, vector_sse2, vector_avx512 };
inline constexpr copy_backend all_copy_backends[] = {
    copy_backend::rep_movsb,   copy_backend::vector,  copy_backend::vector_avx512,
    copy_backend::vector_sse2, copy_backend::fragile, copy_backend::generic};

namespace detail {
// The vector routines' rep movsb bands (sizes above `above` and up to `upto` use rep movsb, the
// others a loop of four vectors), measured with the paired benchmark: docs/benchmarks.md, "rep
// movsb threshold". Without ERMS rep movsb is never used (as glibc and the kernel do).
inline constexpr std::size_t k_vector_rep_above_intel = 2048;
inline constexpr std::size_t k_vector_rep_above_amd = 16384;  // ymm and zmm
inline constexpr std::size_t k_vector_rep_upto_amd = std::size_t{2} << 20;
inline constexpr std::size_t k_vector_rep_above_sse2 = 2048;
inline constexpr std::size_t k_vector_rep_above_avx512_intel = 8192;  // glibc's default for zmm
inline constexpr std::size_t k_vector_rep_never = ~std::size_t{0};
}  // namespace detail

// What was chosen and why, for diagnose().
struct copy_choice : choice_note {
  copy_backend backend = copy_backend::generic;
  // The vector backends' rep movsb threshold for `backend`: sizes above it use rep movsb,
  // those below a loop of four vectors (testing::force_copy sets the one for its backend).
  std::size_t vector_rep_above = detail::k_vector_rep_above_intel;
  // ... and up to this size only: above it the loop again (k_vector_rep_never: no bound).
  std::size_t vector_rep_upto = detail::k_vector_rep_never;
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// A vector routine's rep movsb band: rep movsb for sizes in (above, upto], the loop elsewhere.
struct rep_band {
  std::size_t above = k_vector_rep_never;
  std::size_t upto = k_vector_rep_never;
};

// One copy backend: the common fields (detail/choice.hpp) and
//   forward  it moves bytes in address order, so a re-copy after a fault stops at the lowest
//            bad byte in one signal. The vector routines load their tail first: re-copying with
//            them would walk down a run of bad pages four vectors at a time (8,192 signals for
//            1 MiB past the end of a truncated file), so after a fault they hand over to
//            rep_movsb (copy.hpp, forward_routine).
//   band     the vector routines' rep movsb band on a CPU; the others have none.
struct copy_backend_row : method_row<copy_backend, raw_copy_fn> {
  bool forward;
  rep_band (*band)(const cpu_features&) noexcept;
};

inline rep_band no_rep_band(const cpu_features&) noexcept { return {}; }

// In order of preference: the first row whose CPUID rule picks it is the default.
inline constexpr copy_backend_row k_copy_backends[] = {
    // zmm moves where the OS allows AVX-512 state and zmm stores do not lower the clock (AMD;
    // Intel with AVX-VNNI: glibc's rule for its own zmm memcpy). Only EVEX moves in registers
    // 16-31, so no vzeroupper: needs AVX512VL.
    {{copy_backend::vector_avx512, "vector_avx512", MCSAFE_X86_64_ROUTINE(mcsafe_v1_copy_vector_avx512),
     [](const cpu_features& f) noexcept { return f.avx512f && f.avx512vl; },
     [](const cpu_features& f) noexcept -> const char* {
       if (amd_like(f)) return "CPUID: AVX-512F with OS ZMM state (XCR0), AMD";
       if (f.avx_vnni) return "CPUID: AVX-512F with OS ZMM state (XCR0), and AVX-VNNI (zmm stores keep the clock)";
       return nullptr;
     }},
     false,
     // AMD Zen 5: the zmm loop beat glibc (which uses rep movsb) up to 16 KiB, rep movsb was
     // faster from 32 KiB to 2 MiB, the loop again at 4-8 MiB (by 1.3-1.5x in time), rep movsb
     // from 16 MiB (one band: the loop above 2 MiB). Intel: glibc's default, not measured.
     [](const cpu_features& f) noexcept -> rep_band {
       if (!f.erms) return {};
       if (amd_like(f)) return {k_vector_rep_above_amd, k_vector_rep_upto_amd};
       return {k_vector_rep_above_avx512_intel, k_vector_rep_never};
     }},
    // ymm moves where the OS allows AVX state.
    {{copy_backend::vector, "vector", MCSAFE_X86_64_ROUTINE(mcsafe_v1_copy_vector),
     [](const cpu_features& f) noexcept { return f.avx2; },
     [](const cpu_features& f) noexcept -> const char* {
       return f.avx512f ? "CPUID: AVX2; AVX-512 without AVX-VNNI (zmm stores may lower the clock)"
                        : "CPUID: AVX2 with OS YMM state (XCR0)";
     }},
     false,
     // AMD Zen 5 (glibc's AVX2 memcpy): the ymm loop won up to 16 KiB and lost from 32 KiB (0.6x)
     // where rep movsb tied; the same band as the zmm routine's. Intel Xeon: rep movsb matched
     // glibc from 4 KiB while the loop lagged.
     [](const cpu_features& f) noexcept -> rep_band {
       if (!f.erms) return {};
       if (amd_like(f)) return {k_vector_rep_above_amd, k_vector_rep_upto_amd};
       return {k_vector_rep_above_intel, k_vector_rep_never};
     }},
    // The same size classes in xmm: every x86-64 CPU has SSE2. Its 16-byte loop lost to rep
    // movsb from 4 KiB on AMD too.
    {{copy_backend::vector_sse2, "vector_sse2", MCSAFE_X86_64_ROUTINE(mcsafe_v1_copy_vector_sse2),
     [](const cpu_features& f) noexcept { return f.sse2; },
     [](const cpu_features&) noexcept -> const char* {
       return "CPUID: no AVX2 or no OS YMM state: SSE2 size classes (16-byte)";
     }},
     false,
     [](const cpu_features& f) noexcept -> rep_band {
       if (!f.erms) return {};
       return {k_vector_rep_above_sse2, k_vector_rep_never};
     }},
    // The kernel's copy_mc rule for a (typed-in) CPU without SSE2: rep movsb with ERMS. Correct
    // without ERMS, only slower; the re-copy after a vector routine's fault.
    {{copy_backend::rep_movsb, "rep_movsb", MCSAFE_X86_64_ROUTINE(mcsafe_v1_copy_rep_movsb),
     &any_cpu,
     [](const cpu_features& f) noexcept -> const char* {
       if (!f.erms) return nullptr;
       return f.fsrm ? "CPUID: ERMS and FSRM (rep movsb is fast at every size)" : "CPUID: ERMS (rep movsb is fast)";
     }},
     true, &no_rep_band},
    // ... else the kernel's copy_mc_fragile: aligned 8-byte loads.
    {{copy_backend::fragile, "fragile", MCSAFE_X86_64_ROUTINE(mcsafe_v1_copy_fragile),
     &any_cpu,
     [](const cpu_features&) noexcept -> const char* { return "CPUID: no SSE2, no ERMS; 8-byte aligned loop"; }},
     true, &no_rep_band},
    // The guarded byte loop of architectures other than x86-64; elsewhere plain memcpy.
    {{copy_backend::generic, "generic", k_generic_copy, &any_cpu,
     [](const cpu_features&) noexcept -> const char* {
#if defined(MCSAFE_ARCH_X86_64)
       return nullptr;  // fragile is always there
#elif defined(MCSAFE_HAS_GUARDED_ROUTINES)
       return "not x86-64: the portable byte loop";
#else
       return "no guarded routines for this architecture: plain memcpy, faults are NOT caught";
#endif
     }},
     true, &no_rep_band},
};
static_assert(one_row_each(k_copy_backends, all_copy_backends), "one row per copy_backend");

constexpr const copy_backend_row& copy_row(copy_backend b) noexcept { return *row_of(k_copy_backends, b); }

}  // namespace detail

constexpr const char* to_string(copy_backend b) noexcept { return detail::name_in(detail::k_copy_backends, b); }

constexpr bool parse(std::string_view s, copy_backend& out) noexcept { return parse_name(s, all_copy_backends, out); }

namespace detail {

// The routine behind a backend on this build and CPU, or nullptr when it cannot run here.
inline raw_copy_fn copy_routine(copy_backend b, const cpu_features& f) noexcept {
  const copy_backend_row& r = copy_row(b);
  return r.runs_on(f) ? r.fn : nullptr;
}

// Sets one of the vector routines' two thresholds (one pair, read by all three): word 0, R,
// rep movsb above it; word 1, U, the loop again above it. Relaxed: they are written before the
// routine is published (release) and read only by copies that acquired it; a later testing::
// change may race with a copy in flight, which then takes either path, both correct.
inline std::size_t set_vector_rep_word(int word, std::size_t n) noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  return __atomic_exchange_n(&mcsafe_v1_copy_vector_rep_above[word], n, __ATOMIC_RELAXED);
#else
  (void)word;
  (void)n;
  return 0;
#endif
}
inline std::size_t vector_rep_word(int word) noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  return __atomic_load_n(&mcsafe_v1_copy_vector_rep_above[word], __ATOMIC_RELAXED);
#else
  (void)word;
  return 0;
#endif
}
inline void set_vector_rep_band(rep_band b) noexcept {
  set_vector_rep_word(0, b.above);
  set_vector_rep_word(1, b.upto);
}
// The band in use (0 where there is no vector routine).
inline std::size_t vector_rep_above() noexcept { return vector_rep_word(0); }
inline std::size_t vector_rep_upto() noexcept { return vector_rep_word(1); }

// The band backend b gets on a CPU with features f (none for the routines without one).
inline std::size_t vector_rep_above_for(const cpu_features& f, copy_backend b) noexcept {
  return copy_row(b).band(f).above;
}
inline std::size_t vector_rep_upto_for(const cpu_features& f, copy_backend b) noexcept {
  return copy_row(b).band(f).upto;
}

// The choice for a CPU with features f and the value of MCSAFE_FORCE_COPY (may be null): the
// backend and its band. Pure: tests feed it recorded CPUs.
inline copy_choice choose_copy(const cpu_features& f, const char* env) noexcept {
  copy_choice c;
  const copy_backend_row* row = nullptr;
#if defined(MCSAFE_FORCE_COPY_BACKEND)
#define MCSAFE_STR2(x) #x
#define MCSAFE_STR(x) MCSAFE_STR2(x)
  copy_backend forced{};
  if (parse(MCSAFE_STR(MCSAFE_FORCE_COPY_BACKEND), forced) && copy_row(forced).runs_on(f)) {
    row = &copy_row(forced);
    c.reason = "forced at compile time (MCSAFE_FORCE_COPY_BACKEND)";
  }
#undef MCSAFE_STR
#undef MCSAFE_STR2
#endif
  if (row == nullptr) row = &choose_row(k_copy_backends, f, env, "forced by MCSAFE_FORCE_COPY", c);
  c.backend = row->value;
  const rep_band band = row->band(f);
  c.vector_rep_above = band.above;
  c.vector_rep_upto = band.upto;
  return c;
}

inline const copy_choice& default_copy_choice() noexcept {
  static const copy_choice c = choose_copy(host_cpu(), std::getenv("MCSAFE_FORCE_COPY"));
  return c;
}

// The routine every mc_safe_copy calls. It starts as first_copy, so the hot path is a load and
// a call with no test for "not set up yet".
inline raw_result first_copy(void* dst, const void* src, std::size_t n) noexcept;
inline std::atomic<raw_copy_fn> g_copy_fn{&first_copy};
inline std::atomic<copy_backend> g_copy_backend{copy_backend::generic};
// 0 until init_copy() has run (the handler is installed), then 2^64 - 128: the inlined word
// loads and stores compare p - 1 against it, one test for "installed", "not null" and
// "p + 128 does not wrap" (copy.hpp, word_access_ready). The inline copies test "installed" on
// g_inline_copy_limit instead and the rest against the constant k_word_limit_ready.
inline constexpr std::uintptr_t k_word_limit_ready = ~std::uintptr_t{0} - 127;
inline std::atomic<std::uintptr_t> g_word_limit{0};
// Which lengths mc_safe_copy runs inline (copy.hpp): n - 8 below this. 0 until init_copy() has
// run (the handler is installed), so no inline copy runs before; then 64 - 7 while the published
// routine is not vector_avx512, and 128 - 7 while it is, so that its 65..128 class, two zmm
// moves, runs in the caller. The larger value is stored only where that routine runs (the CPU
// and the OS allow zmm state), so a copy that reads it may use zmm whatever it reads after.
// Set before the routine is published (init_copy) and when a test forces another.
inline constexpr std::size_t k_inline_copy_max = 64;       // the 16-byte and word moves
inline constexpr std::size_t k_inline_zmm_copy_max = 128;  // the zmm moves
inline constexpr std::size_t k_inline_copy_limit = k_inline_copy_max - 7;
inline constexpr std::size_t k_inline_zmm_copy_limit = k_inline_zmm_copy_max - 7;
inline std::atomic<std::size_t> g_inline_copy_limit{0};

// What copies read besides the routine, for backend b (which must run here: the zmm limit is
// stored only then): its rep movsb band, its name for diagnose(), the inline limit. Stored
// after the handler is installed and before the routine is published, by init_copy and
// testing::force_copy.
inline void prepare_copy_backend(copy_backend b, rep_band band) noexcept {
  set_vector_rep_band(band);
  g_copy_backend.store(b, std::memory_order_relaxed);
  g_inline_copy_limit.store(b == copy_backend::vector_avx512 ? k_inline_zmm_copy_limit : k_inline_copy_limit,
                            std::memory_order_release);
}

// Slow path of the first copy: install the handler, pick the routine, publish it.
MCSAFE_COLD inline raw_copy_fn init_copy() noexcept {
#if !defined(MCSAFE_NO_AUTO_INSTALL)
  install();
#endif
  const copy_choice& c = default_copy_choice();
  raw_copy_fn fn = copy_routine(c.backend, host_cpu());
  raw_copy_fn expected = &first_copy;
  prepare_copy_backend(c.backend, {c.vector_rep_above, c.vector_rep_upto});
  g_word_limit.store(k_word_limit_ready, std::memory_order_release);
  if (!g_copy_fn.compare_exchange_strong(expected, fn, std::memory_order_acq_rel)) return expected;
  return fn;
}

// The first copy in the process: set up, then copy with the chosen routine. Plain C++, not a
// guarded routine: a fault is caught in the routine it calls, whose result it passes on (the
// caller's slow path maps first_copy to the chosen routine, copy.hpp forward_routine).
inline raw_result first_copy(void* dst, const void* src, std::size_t n) noexcept {
  return init_copy()(dst, src, n);
}

// The chosen routine, set up on first use (never first_copy): one acquire load (a plain mov on
// x86) and a predictable branch.
MCSAFE_ALWAYS_INLINE raw_copy_fn active_copy() noexcept {
  raw_copy_fn fn = g_copy_fn.load(std::memory_order_acquire);
  if (fn != &first_copy) [[likely]]
    return fn;
  return init_copy();
}

}  // namespace detail

inline copy_backend active_copy_backend() noexcept {
  detail::active_copy();
  return detail::g_copy_backend.load(std::memory_order_relaxed);
}

namespace testing {
// Switch every later mc_safe_copy in this process to backend b, with the rep movsb threshold
// this CPU would get with it (force_vector_rep_above moves that afterwards). Returns false (and
// changes nothing) when b cannot run on this CPU or build. Not for production use: a copy running in
// another thread at the same moment keeps the routine it started with.
inline bool force_copy(copy_backend b) noexcept {
  detail::active_copy();  // the handler is installed and the default chosen first
  detail::raw_copy_fn fn = detail::copy_routine(b, detail::host_cpu());
  if (fn == nullptr) return false;
  detail::prepare_copy_backend(b, detail::copy_row(b).band(detail::host_cpu()));
  detail::g_copy_fn.store(fn, std::memory_order_release);
  return true;
}
// Back to the choice made from CPUID and the environment.
inline void reset_copy() noexcept {
  force_copy(detail::default_copy_choice().backend);  // with its threshold
}
// The vector backends use rep movsb above n bytes from now on, at every size above (no upper
// bound: tests cover both of their paths near a fault; benchmarks compare thresholds). Returns
// the previous value; reset_copy() restores the CPUID choice.
inline std::size_t force_vector_rep_above(std::size_t n) noexcept {
  detail::active_copy();
  detail::set_vector_rep_word(1, detail::k_vector_rep_never);
  return detail::set_vector_rep_word(0, n);
}
// The vector backends use rep movsb above `above` bytes up to `upto`, the loop above that.
inline void force_vector_rep_band(std::size_t above, std::size_t upto) noexcept {
  force_vector_rep_above(above);
  detail::set_vector_rep_word(1, upto);
}
}  // namespace testing

}  // namespace v1
}  // namespace mcsafe
