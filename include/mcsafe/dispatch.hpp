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
// Tests switch backends with mcsafe::testing::force_copy() (testing.hpp). What a copy reads on
// every call, and the one rule for writing it: detail/copy_state.hpp. Adding a backend: its asm (detail/
// <arch>/), its range in detail/routine_table.hpp, an enumerator and a row here.
#pragma once
#include <atomic>
#include <cstdlib>
#include <string_view>

#include "cpu.hpp"
#include "detail/choice.hpp"
#include "detail/config.hpp"
#include "detail/copy_state.hpp"
#include "detail/routine_table.hpp"
#include "guard.hpp"

namespace mcsafe {
inline namespace v1 {

// The later backends are appended so that the values of the others stay what they were.
enum class copy_backend : std::uint8_t { rep_movsb, vector, fragile, generic, vector_sse2, vector_avx512 };
inline constexpr copy_backend all_copy_backends[] = {copy_backend::rep_movsb,     copy_backend::vector,
                                                     copy_backend::vector_avx512, copy_backend::vector_sse2,
                                                     copy_backend::fragile,       copy_backend::generic};

namespace detail {
// The vector routines' rep movsb bands (sizes above `above` and up to `upto`, and above
// `again_above`, use rep movsb, the others a loop of four vectors), measured with the paired
// benchmark: docs/benchmarks.md, "What the figures decided". Without ERMS rep movsb is never
// used (as glibc and the kernel do).
inline constexpr std::size_t k_vector_rep_above_intel = 2048;
inline constexpr std::size_t k_vector_rep_above_amd = 16384;  // ymm and zmm
inline constexpr std::size_t k_vector_rep_upto_amd = std::size_t{2} << 20;
inline constexpr std::size_t k_vector_rep_again_above_amd = std::size_t{16} << 20;
inline constexpr std::size_t k_vector_rep_above_sse2 = 2048;
inline constexpr std::size_t k_vector_rep_above_avx512_intel = 8192;  // glibc's default for zmm
// On AMD before Zen 5 the zmm routine hands every copy past its last size class (8 x 64 bytes)
// to the ymm routine: on the Zen 4 the ymm loop reads 1.07-1.16x memcpy at 1-16 KiB with the
// source one byte off where the zmm loop reads 0.91-1.02x, and within 0.03x of it aligned.
inline constexpr std::size_t k_vector_ymm_above_amd = 512;
// On AMD before Zen 5 rep movsb only where the source sits at the destination's offset in a
// 64-byte line: with the two skewed, the loop read 1.02-1.10x memcpy at 32 KiB-32 MiB on the
// Zen 4 where rep movsb (glibc's choice there) read 0.98-1.00x; aligned, rep movsb read
// 1.00-1.45x and the loop 0.99-1.05x.
inline constexpr std::size_t k_vector_rep_skew_mask_amd = 63;
// Zen 5 (family 0x1A) and later: neither of the two above, the same bands. There the zmm loop
// beats the ymm loop at 1-16 KiB (4 KiB: 1.84x memcpy against 1.21x), and rep movsb beats both
// loops at any skew (32 KiB with the source one byte off: 1.00x against 0.46x); the loop keeps
// 2-16 MiB, where rep movsb read 0.88-1.10x by process at 4 MiB and the loop 0.99-1.01x.
// docs/benchmarks.md has the rows.
inline constexpr std::uint32_t k_amd_family_zen5 = 0x1a;
}  // namespace detail

// What was chosen and why, for diagnose().
struct copy_choice : choice_note {
  copy_backend backend = copy_backend::generic;
  // The vector backends' rep movsb threshold for `backend`: sizes above it use rep movsb,
  // those below a loop of four vectors (testing::force_copy sets the one for its backend).
  std::size_t vector_rep_above = detail::k_vector_rep_above_intel;
  // ... and up to this size only: above it the loop again (k_vector_rep_never: no bound) ...
  std::size_t vector_rep_upto = detail::k_vector_rep_never;
  // ... up to this size, above which rep movsb again (k_vector_rep_never: the loop at any size).
  std::size_t vector_rep_again_above = detail::k_vector_rep_never;
  // vector_avx512 only: sizes above this go to the ymm routine (k_vector_rep_never: none do).
  std::size_t vector_ymm_above = detail::k_vector_rep_never;
  // rep movsb only where (dst - src) & this is 0, the loop otherwise (0: at any skew).
  std::size_t vector_rep_skew_mask = 0;
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// One copy backend: the common fields (detail/choice.hpp) and
//   forward  it moves bytes in address order, so a re-copy after a fault stops at the lowest
//            bad byte in one signal. The vector routines load their tail first: re-copying with
//            them would walk down a run of bad pages four vectors at a time (8,192 signals for
//            1 MiB past the end of a truncated file), so after a fault they hand over to
//            rep_movsb (copy.hpp, forward_copy).
//   band     the vector routines' rep movsb band on a CPU; the others have none.
struct copy_backend_row : method_row<copy_backend, raw_copy_fn> {
  bool forward;
  rep_band (*band)(const cpu_features&) noexcept;
};

inline rep_band no_rep_band(const cpu_features&) noexcept { return {}; }
// AMD (or Hygon) before Zen 5: the hand-over and the skew test apply.
inline bool amd_before_zen5(const cpu_features& f) noexcept { return amd_like(f) && f.family < k_amd_family_zen5; }
// AMD's, for the ymm and the zmm routine alike (the zmm routine's hand-over is its own row's).
inline rep_band amd_rep_band(const cpu_features& f) noexcept {
  return {k_vector_rep_above_amd, k_vector_rep_upto_amd, k_vector_rep_again_above_amd, k_vector_rep_never,
          amd_before_zen5(f) ? k_vector_rep_skew_mask_amd : 0};
}

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
     // AMD before Zen 5: above 512 bytes the ymm routine, which has the band below; Zen 5 and
     // later: that band in zmm; Intel: glibc's default. docs/benchmarks.md, "What the figures
     // decided", has the figures behind each.
     [](const cpu_features& f) noexcept -> rep_band {
       rep_band b;
       if (f.erms) b = amd_like(f) ? amd_rep_band(f) : rep_band{k_vector_rep_above_avx512_intel};
       if (amd_before_zen5(f)) b.ymm_above = k_vector_ymm_above_amd;
       return b;
     }},
    // ymm moves where the OS allows AVX state.
    {{copy_backend::vector, "vector", MCSAFE_X86_64_ROUTINE(mcsafe_v1_copy_vector),
      [](const cpu_features& f) noexcept { return f.avx2; },
      [](const cpu_features& f) noexcept -> const char* {
        return f.avx512f ? "CPUID: AVX2; AVX-512 without AVX-VNNI (zmm stores may lower the clock)"
                         : "CPUID: AVX2 with OS YMM state (XCR0)";
      }},
     false,
     // AMD: the zmm routine's band; Intel: rep movsb above 2 KiB (docs/benchmarks.md).
     [](const cpu_features& f) noexcept -> rep_band {
       if (!f.erms) return {};
       if (amd_like(f)) return amd_rep_band(f);
       return {k_vector_rep_above_intel, k_vector_rep_never};
     }},
    // The same size classes in xmm: every x86-64 CPU has SSE2. rep movsb above 2 KiB, as
    // glibc's SSE2 memcpy (docs/benchmarks.md).
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
    {{copy_backend::rep_movsb, "rep_movsb", MCSAFE_X86_64_ROUTINE(mcsafe_v1_copy_rep_movsb), &any_cpu,
      [](const cpu_features& f) noexcept -> const char* {
        if (!f.erms) return nullptr;
        return f.fsrm ? "CPUID: ERMS and FSRM (rep movsb is fast at every size)" : "CPUID: ERMS (rep movsb is fast)";
      }},
     true,
     &no_rep_band},
    // ... else the kernel's copy_mc_fragile: aligned 8-byte loads.
    {{copy_backend::fragile, "fragile", MCSAFE_X86_64_ROUTINE(mcsafe_v1_copy_fragile), &any_cpu,
      [](const cpu_features&) noexcept -> const char* { return "CPUID: no SSE2, no ERMS; 8-byte aligned loop"; }},
     true,
     &no_rep_band},
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
     true,
     &no_rep_band},
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
  c.vector_rep_again_above = band.again_above;
  c.vector_ymm_above = band.ymm_above;
  c.vector_rep_skew_mask = band.skew_mask;
  return c;
}

inline const copy_choice& default_copy_choice() noexcept {
  static const copy_choice c = choose_copy(host_cpu(), std::getenv("MCSAFE_FORCE_COPY"));
  return c;
}

// Slow path of the first copy: install the handler, pick the routine, publish it (unless
// another thread did first: then that one).
MCSAFE_COLD inline raw_copy_fn init_copy() noexcept {
#if !defined(MCSAFE_NO_AUTO_INSTALL)
  install();
#endif
  const copy_choice& c = default_copy_choice();
  return publish_copy(
      c.backend, copy_routine(c.backend, host_cpu()), c.backend == copy_backend::vector_avx512,
      {c.vector_rep_above, c.vector_rep_upto, c.vector_rep_again_above, c.vector_ymm_above, c.vector_rep_skew_mask}, true);
}

// The first copy in the process: set up, then copy with the chosen routine. Plain C++, not a
// guarded routine: a fault is caught in the routine it calls, whose result it passes on (the
// caller's slow path re-copies with the chosen routine's forward partner, copy.hpp forward_copy).
inline raw_result first_copy(void* dst, const void* src, std::size_t n) noexcept { return init_copy()(dst, src, n); }

// The chosen routine, set up on first use (never first_copy): one acquire load (a plain mov on
// x86) and a predictable branch.
MCSAFE_ALWAYS_INLINE raw_copy_fn active_copy() noexcept {
  raw_copy_fn fn = g_copy.routine.load(std::memory_order_acquire);
  if (fn != &first_copy) [[likely]]
    return fn;
  return init_copy();
}

}  // namespace detail

inline copy_backend active_copy_backend() noexcept {
  detail::active_copy();
  return detail::g_copy.backend.load(std::memory_order_relaxed);
}

}  // namespace v1
}  // namespace mcsafe
