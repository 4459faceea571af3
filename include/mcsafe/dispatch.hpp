// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/dispatch.hpp - which copy routine runs, chosen once, forceable.
//
// The table of backends (name, routine, when it is usable) is below. The choice: the zmm
// `vector_avx512` routine where the OS allows AVX-512 state and zmm stores do not lower the
// clock (AMD; Intel with AVX-VNNI: glibc's rule for its own zmm memcpy), else the AVX2 `vector`
// routine where the OS allows ymm state, else the same size classes in SSE2 (`vector_sse2`:
// every x86-64 CPU has SSE2). Only a typed-in CPU without SSE2 falls back to the kernel's
// copy_mc rule: rep movsb with ERMS, else the 8-byte "fragile" loop.
// Order of precedence, decided once on first use and cached in one atomic pointer:
//   1. compile time: -DMCSAFE_FORCE_COPY_BACKEND=<name> (e.g. fragile)
//   2. the environment: MCSAFE_FORCE_COPY=rep_movsb|vector|vector_avx512|vector_sse2|fragile|generic,
//      read once; a value that is unknown or not usable here is ignored and reported by
//      diagnose(), never printed
//   3. CPUID (cpu.hpp)
// Tests switch backends with mcsafe::testing::force_copy().
#pragma once
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "cpu.hpp"
#include "detail/config.hpp"
#include "detail/generic.hpp"
#include "detail/routines.hpp"
#include "guard.hpp"

namespace mcsafe {
inline namespace v1 {

// The later backends are appended so that the values of the others stay what they were.
enum class copy_backend : std::uint8_t { rep_movsb, vector, fragile, generic, vector_sse2, vector_avx512 };
inline constexpr copy_backend all_copy_backends[] = {
    copy_backend::rep_movsb,   copy_backend::vector,  copy_backend::vector_avx512,
    copy_backend::vector_sse2, copy_backend::fragile, copy_backend::generic};

constexpr const char* to_string(copy_backend b) noexcept {
  switch (b) {
    case copy_backend::rep_movsb: return "rep_movsb";
    case copy_backend::vector: return "vector";
    case copy_backend::vector_sse2: return "vector_sse2";
    case copy_backend::vector_avx512: return "vector_avx512";
    case copy_backend::fragile: return "fragile";
    case copy_backend::generic: return "generic";
  }
  return "unknown";
}

namespace detail {
// The vector backends' rep movsb thresholds (measured: see vector_rep_above_for), and for
// CPUs without ERMS, where rep movsb is not used at all (as glibc and the kernel do).
inline constexpr std::size_t k_vector_rep_above_intel = 2048;
inline constexpr std::size_t k_vector_rep_above_amd = std::size_t{4} << 20;
inline constexpr std::size_t k_vector_rep_above_sse2 = 2048;
inline constexpr std::size_t k_vector_rep_above_avx512_intel = 8192;  // glibc's default for zmm
inline constexpr std::size_t k_vector_rep_above_avx512_amd = 16384;
inline constexpr std::size_t k_vector_rep_upto_avx512_amd = std::size_t{2} << 20;
inline constexpr std::size_t k_vector_rep_never = ~std::size_t{0};
}  // namespace detail

// What was chosen and why, for diagnose().
struct copy_choice {
  copy_backend backend = copy_backend::generic;
  const char* reason = "";
  // The vector backends' rep movsb threshold for `backend`: sizes above it use rep movsb,
  // those below a loop of four vectors (testing::force_copy sets the one for its backend).
  std::size_t vector_rep_above = detail::k_vector_rep_above_intel;
  // ... and up to this size only: above it the loop again (k_vector_rep_never: no bound).
  std::size_t vector_rep_upto = detail::k_vector_rep_never;
  char ignored_env[48] = {};  // MCSAFE_FORCE_COPY value that was ignored, truncated
  const char* ignored_why = "";
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {

// Reads a name as to_string() spells it, among the values in `all`. Shared by every
// MCSAFE_FORCE_* variable (copy backends here, store methods in clear.hpp).
template <class E, std::size_t N>
constexpr bool parse_name(std::string_view s, const E (&all)[N], E& out) noexcept {
  for (E v : all)
    if (s == to_string(v)) {
      out = v;
      return true;
    }
  return false;
}

constexpr bool parse(std::string_view s, copy_backend& out) noexcept { return parse_name(s, all_copy_backends, out); }

namespace detail {

// Applies an MCSAFE_FORCE_* value read from the environment: true, with `out` set, when it
// names a choice that `usable` accepts here; otherwise records the value and why it was
// ignored (for diagnose()) and returns false. Never prints.
template <class E, std::size_t N, class Usable>
bool env_override(const char* env, const E (&all)[N], Usable usable, E& out, char (&ignored)[48],
                  const char*& why) noexcept {
  if (env == nullptr || *env == '\0') return false;
  E v{};
  if (!parse_name(env, all, v)) {
    why = "unknown backend name";
  } else if (!usable(v)) {
    why = "backend not available on this CPU or build";
  } else {
    out = v;
    return true;
  }
  std::strncpy(ignored, env, sizeof ignored - 1);
  return false;
}

// The routine behind a backend on this build and CPU, or nullptr when it cannot run here.
inline raw_copy_fn copy_routine(copy_backend b, const cpu_features& f) noexcept {
  (void)f;
  switch (b) {
#if defined(MCSAFE_ARCH_X86_64)
    case copy_backend::rep_movsb: return &mcsafe_v1_copy_rep_movsb;  // correct without ERMS, only slower
    case copy_backend::fragile: return &mcsafe_v1_copy_fragile;
    case copy_backend::vector: return f.avx2 ? &mcsafe_v1_copy_vector : nullptr;  // AVX2 + OS YMM state
    case copy_backend::vector_sse2: return f.sse2 ? &mcsafe_v1_copy_vector_sse2 : nullptr;
    case copy_backend::vector_avx512:  // + OS ZMM state; VL for its xmm/ymm moves in registers 16-31
      return f.avx512f && f.avx512vl ? &mcsafe_v1_copy_vector_avx512 : nullptr;
#endif
#if defined(MCSAFE_HAS_GUARDED_ROUTINES)
    case copy_backend::generic: return &mcsafe_v1_copy_generic;
#else
    case copy_backend::generic: return &unguarded_copy;
#endif
    default: return nullptr;
  }
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
inline std::size_t set_vector_rep_above(std::size_t n) noexcept { return set_vector_rep_word(0, n); }
// The thresholds in use (0 where there is no vector routine).
inline std::size_t vector_rep_above() noexcept { return vector_rep_word(0); }
inline std::size_t vector_rep_upto() noexcept { return vector_rep_word(1); }

// The rep movsb threshold of a vector backend on this CPU. Measured with the paired benchmark
// (docs/benchmarks.md, "rep movsb threshold"): on an Intel Xeon rep movsb matched glibc from
// 4 KiB while the ymm loop lagged; on an AMD EPYC (Zen 5) the ymm loop beat rep movsb by up to
// 1.66x from 4 KiB to 256 KiB, the two tied from 1 MiB to 16 MiB, and rep movsb won from
// 32 MiB (1.35-1.45x glibc at 64 MiB, the loop 1.0x). The 16-byte loop of vector_sse2 lost to
// rep movsb from 4 KiB on that AMD machine too (0.74-0.93x glibc's SSE2 memcpy, which uses rep
// movsb above 2 KiB), so it switches at 2 KiB everywhere. vector_avx512 on an AMD EPYC (Zen 5)
// VM with AVX-512: the zmm loop ran 1.4-1.8x glibc (which uses rep movsb there) from 4 KiB to
// 16 KiB, but 0.50-0.75x from 32 KiB to 256 KiB, where rep movsb matched glibc
// (docs/benchmarks.md): 16 KiB, with an upper end (vector_rep_upto_for). (The ymm loop
// lost the same way from 32 KiB on that VM; the 4 MiB above was measured on another AMD VM,
// without AVX-512, where rep movsb was slow in that band.) Intel takes glibc's default for
// 64-byte vectors (8 KiB), not measured here. Without ERMS: never, as glibc.
inline bool amd_like(const cpu_features& f) noexcept {
  return std::strcmp(f.vendor, "AuthenticAMD") == 0 || std::strcmp(f.vendor, "HygonGenuine") == 0;
}
inline std::size_t vector_rep_above_for(const cpu_features& f, copy_backend b) noexcept {
  if (!f.erms) return k_vector_rep_never;
  if (b == copy_backend::vector_sse2) return k_vector_rep_above_sse2;
  if (b == copy_backend::vector_avx512) return amd_like(f) ? k_vector_rep_above_avx512_amd : k_vector_rep_above_avx512_intel;
  return amd_like(f) ? k_vector_rep_above_amd : k_vector_rep_above_intel;
}

// Where rep movsb stops again for a vector backend on this CPU: vector_avx512 on AMD, measured
// on Zen 5 (docs/benchmarks.md): rep movsb 1.05-1.31x glibc at 1-2 MiB but 0.77-0.83x at 4 MiB
// in three of four runs, where the zmm loop held 0.97-1.02x; from 8 MiB the loop is level with
// glibc (0.98-1.05x) and rep movsb ahead, which this bound gives up to keep 4 MiB. Elsewhere none.
inline std::size_t vector_rep_upto_for(const cpu_features& f, copy_backend b) noexcept {
  if (b == copy_backend::vector_avx512 && f.erms && amd_like(f)) return k_vector_rep_upto_avx512_amd;
  return k_vector_rep_never;
}

// The backend: forced at compile time, by the environment, or from CPUID.
inline copy_choice choose_copy_backend(const cpu_features& f, const char* env) noexcept {
  copy_choice c;
#if defined(MCSAFE_FORCE_COPY_BACKEND)
#define MCSAFE_STR2(x) #x
#define MCSAFE_STR(x) MCSAFE_STR2(x)
  if (parse(MCSAFE_STR(MCSAFE_FORCE_COPY_BACKEND), c.backend) && copy_routine(c.backend, f)) {
    c.reason = "forced at compile time (MCSAFE_FORCE_COPY_BACKEND)";
    return c;
  }
#endif
  if (env_override(env, all_copy_backends, [&f](copy_backend b) { return copy_routine(b, f) != nullptr; }, c.backend,
                   c.ignored_env, c.ignored_why)) {
    c.reason = "forced by MCSAFE_FORCE_COPY";
    return c;
  }
#if defined(MCSAFE_ARCH_X86_64)
  if (f.avx512f && f.avx512vl && (amd_like(f) || f.avx_vnni)) {
    c.backend = copy_backend::vector_avx512;
    c.reason = amd_like(f) ? "CPUID: AVX-512F with OS ZMM state (XCR0), AMD"
                           : "CPUID: AVX-512F with OS ZMM state (XCR0), and AVX-VNNI (zmm stores keep the clock)";
  } else if (f.avx2) {
    c.backend = copy_backend::vector;
    c.reason = f.avx512f ? "CPUID: AVX2; AVX-512 without AVX-VNNI (zmm stores may lower the clock)"
                         : "CPUID: AVX2 with OS YMM state (XCR0)";
  } else if (f.sse2) {
    c.backend = copy_backend::vector_sse2;
    c.reason = "CPUID: no AVX2 or no OS YMM state: SSE2 size classes (16-byte)";
  } else if (f.erms) {
    c.backend = copy_backend::rep_movsb;
    c.reason = f.fsrm ? "CPUID: ERMS and FSRM (rep movsb is fast at every size)"
                      : "CPUID: ERMS (rep movsb is fast)";
  } else {
    c.backend = copy_backend::fragile;
    c.reason = "CPUID: no SSE2, no ERMS; 8-byte aligned loop";
  }
#elif defined(MCSAFE_HAS_GUARDED_ROUTINES)
  c.backend = copy_backend::generic;
  c.reason = "not x86-64: the portable byte loop";
#else
  c.backend = copy_backend::generic;
  c.reason = "no guarded routines for this architecture: plain memcpy, faults are NOT caught";
#endif
  return c;
}

// The choice the process makes once: the backend and its rep movsb threshold.
inline copy_choice choose_copy(const cpu_features& f, const char* env) noexcept {
  copy_choice c = choose_copy_backend(f, env);
  c.vector_rep_above = vector_rep_above_for(f, c.backend);
  c.vector_rep_upto = vector_rep_upto_for(f, c.backend);
  return c;
}

// Computed once (thread-safe static initialization), never changed afterwards.
inline const cpu_features& host_cpu() noexcept {
  static const cpu_features f = detect();
  return f;
}
inline const copy_choice& default_copy_choice() noexcept {
  static const copy_choice c = choose_copy(host_cpu(), std::getenv("MCSAFE_FORCE_COPY"));
  return c;
}

inline std::atomic<raw_copy_fn> g_copy_fn{nullptr};
inline std::atomic<copy_backend> g_copy_backend{copy_backend::generic};
// 0 until init_copy() has run (the handler is installed), then 2^64 - 16: the inlined word
// loads, stores and small copies compare p - 1 against it, one test for "installed", "not
// null" and "p + 16 does not wrap" (copy.hpp, word_access_ready).
inline constexpr std::uintptr_t k_word_limit_ready = ~std::uintptr_t{0} - 15;
inline std::atomic<std::uintptr_t> g_word_limit{0};

// Slow path of the first copy: install the handler, pick the routine, publish it.
MCSAFE_COLD inline raw_copy_fn init_copy() noexcept {
#if !defined(MCSAFE_NO_AUTO_INSTALL)
  install();
#endif
  const copy_choice& c = default_copy_choice();
  raw_copy_fn fn = copy_routine(c.backend, host_cpu());
  raw_copy_fn expected = nullptr;
  set_vector_rep_above(c.vector_rep_above);
  set_vector_rep_word(1, c.vector_rep_upto);
  g_copy_backend.store(c.backend, std::memory_order_relaxed);
  g_word_limit.store(k_word_limit_ready, std::memory_order_release);
  if (!g_copy_fn.compare_exchange_strong(expected, fn, std::memory_order_acq_rel)) return expected;
  return fn;
}

// The hot path: one acquire load (a plain mov on x86) and a predictable branch.
MCSAFE_ALWAYS_INLINE raw_copy_fn active_copy() noexcept {
  raw_copy_fn fn = g_copy_fn.load(std::memory_order_acquire);
  if (fn != nullptr) [[likely]]
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
  detail::set_vector_rep_above(detail::vector_rep_above_for(detail::host_cpu(), b));
  detail::set_vector_rep_word(1, detail::vector_rep_upto_for(detail::host_cpu(), b));
  detail::g_copy_backend.store(b, std::memory_order_relaxed);
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
  return detail::set_vector_rep_above(n);
}
// The vector backends use rep movsb above `above` bytes up to `upto`, the loop above that.
inline void force_vector_rep_band(std::size_t above, std::size_t upto) noexcept {
  force_vector_rep_above(above);
  detail::set_vector_rep_word(1, upto);
}
}  // namespace testing

}  // namespace v1
}  // namespace mcsafe
