// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/clear.hpp - atomic_clear_write and clear_write: replace whole 64-byte lines without
// reading them first, so a poisoned line is overwritten instead of consumed.
//
// A read-modify-write of a poisoned line consumes the poison (a machine check, SIGBUS). What
// replaces it must write the whole line without a read-for-ownership. The store methods, in
// order of preference (the table `all_store_methods`):
//   movdir64b  MOVDIR64B + sfence: one 64-byte direct store, atomic (never torn), no read
//   avx512_nt  one 64-byte vmovntdq: no read-for-ownership, not architecturally atomic
//   sse2_nt    four 16-byte movntdq filling one write-combining buffer: no read-for-ownership,
//              not atomic (an interrupt between the four stores can evict a partial buffer)
//   portable   plain stores: reads the line first; correct on good memory, never the choice
//              where another method exists
// Which one runs is decided once, on first use, and cached in one atomic pointer:
//   1. the environment: MCSAFE_FORCE_STORE=movdir64b|avx512_nt|sse2_nt|portable, read once; a
//      value that is unknown or not usable on this CPU is ignored and reported by diagnose()
//   2. CPUID (cpu.hpp): the first method of the table this CPU reports
// Tests switch methods with mcsafe::testing::force_store(), which also accepts movdir64b where
// CPUID does not report it: the instruction executes on some CPUs that do not advertise it
// (seen on AMD Zen 5), and raises SIGILL where it really is absent.
//
// A store that faults (SIGBUS past the end of a truncated file or on poison, SIGSEGV on a
// read-only page when the handler was installed with catch_segv) returns the fault, like
// mc_safe_copy: `written` counts the whole lines stored before the faulting one, and no line
// after it is touched.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <system_error>

#include "copy.hpp"
#include "cpu.hpp"
#include "detail/config.hpp"
#include "detail/routines.hpp"
#include "dispatch.hpp"
#include "fault.hpp"
#include "guard.hpp"

namespace mcsafe {
inline namespace v1 {

// The size of the unit every function here writes: one cacheline.
inline constexpr std::size_t line_size = 64;

enum class store_method : std::uint8_t { movdir64b, avx512_nt, sse2_nt, portable };
// In order of preference.
inline constexpr store_method all_store_methods[] = {store_method::movdir64b, store_method::avx512_nt,
                                                     store_method::sse2_nt, store_method::portable};

constexpr const char* to_string(store_method m) noexcept {
  switch (m) {
    case store_method::movdir64b: return "movdir64b";
    case store_method::avx512_nt: return "avx512_nt";
    case store_method::sse2_nt: return "sse2_nt";
    case store_method::portable: return "portable";
  }
  return "unknown";
}

// The guarantees of a method. atomic: the 64-byte line can never be seen half written.
// no_read: the CPU does not read the destination line before writing it.
constexpr bool is_atomic(store_method m) noexcept { return m == store_method::movdir64b; }
constexpr bool is_no_read(store_method m) noexcept { return m != store_method::portable; }

struct clear_options {
  bool require_atomic = false;  // refuse (std::errc::not_supported) rather than use a non-atomic method
};

struct write_result {
  std::size_t written = 0;  // bytes stored, whole lines, before any fault
  store_method method{};    // what ran (or would have run, when refused)
  bool atomic = false, no_read = false;
  std::errc error{};        // invalid_argument (misaligned, null, not whole lines),
                            // not_supported (require_atomic and no atomic method)
  mcsafe::fault fault;      // a store (or a load of the source) that faulted
  constexpr bool ok() const noexcept { return error == std::errc{} && fault.kind == fault_kind::none; }
  constexpr explicit operator bool() const noexcept { return ok(); }
};

// What was chosen and why, for diagnose().
struct store_choice {
  store_method method = store_method::portable;
  const char* reason = "";
  char ignored_env[48] = {};  // MCSAFE_FORCE_STORE value that was ignored, truncated
  const char* ignored_why = "";
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {

constexpr bool parse(std::string_view s, store_method& out) noexcept { return parse_name(s, all_store_methods, out); }

namespace detail {

// One method and the routine behind it on this build (nullptr: not built for this target).
// Indexed by store_method.
struct store_entry {
  store_method method;
  raw_copy_fn fn;
};
#if defined(MCSAFE_ARCH_X86_64)
inline constexpr store_entry k_stores[] = {{store_method::movdir64b, &mcsafe_v1_store_movdir64b},
                                           {store_method::avx512_nt, &mcsafe_v1_store_avx512_nt},
                                           {store_method::sse2_nt, &mcsafe_v1_store_sse2_nt},
                                           {store_method::portable, &mcsafe_v1_store_portable}};
#elif defined(MCSAFE_HAS_GUARDED_ROUTINES)
// The guarded byte loop stores whole lines too; the vector methods are x86-64 only.
inline constexpr store_entry k_stores[] = {{store_method::movdir64b, nullptr},
                                           {store_method::avx512_nt, nullptr},
                                           {store_method::sse2_nt, nullptr},
                                           {store_method::portable, &mcsafe_v1_copy_generic}};
#else
inline constexpr store_entry k_stores[] = {{store_method::movdir64b, nullptr},
                                           {store_method::avx512_nt, nullptr},
                                           {store_method::sse2_nt, nullptr},
                                           {store_method::portable, &unguarded_copy}};
#endif

constexpr bool stores_indexed_by_method() noexcept {
  for (store_method m : all_store_methods)
    if (k_stores[static_cast<int>(m)].method != m) return false;
  return true;
}
static_assert(stores_indexed_by_method(), "k_stores must list the methods in enum order");

constexpr const store_entry& store_entry_of(store_method m) noexcept { return k_stores[static_cast<int>(m)]; }

// Whether method m can run on a CPU with features f. allow_unreported lets movdir64b through
// where CPUID does not report it (testing::force_store only: it may raise SIGILL).
inline bool store_usable(store_method m, const cpu_features& f, bool allow_unreported = false) noexcept {
  if (store_entry_of(m).fn == nullptr) return false;
  switch (m) {
    case store_method::movdir64b: return f.movdir64b || allow_unreported;
    case store_method::avx512_nt: return f.avx512f;
    case store_method::sse2_nt: return f.sse2;
    case store_method::portable: return true;
  }
  return false;
}

constexpr const char* store_reason(store_method m) noexcept {
  switch (m) {
    case store_method::movdir64b: return "CPUID: MOVDIR64B (atomic 64-byte store, no read)";
    case store_method::avx512_nt: return "CPUID: AVX-512F, no MOVDIR64B (64-byte non-temporal store, not atomic)";
    case store_method::sse2_nt: return "CPUID: SSE2 only (4 x 16-byte non-temporal stores, not atomic)";
    case store_method::portable: return "no non-temporal stores here: plain stores (read the line first)";
  }
  return "";
}

// The choice for a CPU with features f and the value of MCSAFE_FORCE_STORE (may be null).
// Pure: tests feed it recorded CPUs.
inline store_choice choose_store(const cpu_features& f, const char* env) noexcept {
  store_choice c;
  if (env_override(env, all_store_methods, [&f](store_method m) { return store_usable(m, f); }, c.method,
                   c.ignored_env, c.ignored_why)) {
    c.reason = "forced by MCSAFE_FORCE_STORE";
    return c;
  }
  for (store_method m : all_store_methods)
    if (store_usable(m, f)) {
      c.method = m;
      c.reason = store_reason(m);
      return c;
    }
  return c;
}

inline const store_choice& default_store_choice() noexcept {
  static const store_choice c = choose_store(host_cpu(), std::getenv("MCSAFE_FORCE_STORE"));
  return c;
}

inline std::atomic<const store_entry*> g_store{nullptr};

// The hot path: one acquire load. The first call installs the handler and publishes the
// default choice.
inline const store_entry& active_store() noexcept {
  const store_entry* e = g_store.load(std::memory_order_acquire);
  if (e != nullptr) [[likely]]
    return *e;
#if !defined(MCSAFE_NO_AUTO_INSTALL)
  install();
#endif
  const store_entry* want = &store_entry_of(default_store_choice().method);
  if (g_store.compare_exchange_strong(e, want, std::memory_order_acq_rel)) return *want;
  return *e;
}

// A result naming method m and its guarantees, with error `why` (none: nothing written yet).
inline write_result outcome(store_method m, std::errc why) noexcept {
  write_result r;
  r.method = m;
  r.atomic = is_atomic(m);
  r.no_read = is_no_read(m);
  r.error = why;
  return r;
}

// The whole of clear_write and atomic_clear_write once the method is known: validates, runs
// the routine once over all n bytes, and on a fault reports whole lines below the faulting one.
inline write_result write_lines(const store_entry& e, void* dst, const void* src, std::size_t n,
                                clear_options options) noexcept {
  if (dst == nullptr || src == nullptr || reinterpret_cast<std::uintptr_t>(dst) % line_size != 0 ||
      n % line_size != 0 || bad_ranges(dst, src, n)) [[unlikely]]
    return outcome(e.method, std::errc::invalid_argument);
  if (options.require_atomic && !is_atomic(e.method)) [[unlikely]]
    return outcome(e.method, std::errc::not_supported);
  write_result w = outcome(e.method, std::errc{});
  const raw_result r = e.fn(dst, src, n);
  if (r.info == 0) [[likely]] {
    w.written = n;
    return w;
  }
  std::size_t below = 0;
  w.fault = decode_fault(r, dst, src, n, below);
  w.written = below - below % line_size;
  return w;
}

}  // namespace detail

// The method clear_write and atomic_clear_write use now.
inline store_method active_store_method() noexcept { return detail::active_store().method; }

// Overwrites the 64-byte line at dst (64-byte aligned) with the 64 bytes at src (any
// alignment) without reading dst first: a poisoned line is replaced, not consumed. The result
// names the method that ran and its guarantees (atomic, no_read). With
// options.require_atomic and no atomic method active, refuses with std::errc::not_supported.
// A null pointer or a misaligned dst gives std::errc::invalid_argument. Refused calls write
// nothing. A fault returns instead of killing the process: `fault` says where, written is 0.
inline write_result atomic_clear_write(void* dst64, const void* src64, clear_options options = {}) noexcept {
  return detail::write_lines(detail::active_store(), dst64, src64, line_size, options);
}

// The bulk form: n bytes (whole lines) from src (any alignment) to dst (64-byte aligned), line
// by line in address order, with one call of the active routine. Each line gets the guarantees
// the method names. n == 0 writes nothing and succeeds. A null pointer, a misaligned dst or
// an n that is not a multiple of 64, or a range that wraps around the end of the address space,
// gives std::errc::invalid_argument and writes nothing. On
// a fault, `written` is the whole lines stored below the faulting line; no line above it is
// touched.
inline write_result clear_write(void* dst, const void* src, std::size_t n) noexcept {
  if (n == 0) return detail::outcome(active_store_method(), std::errc{});
  return detail::write_lines(detail::active_store(), dst, src, n, {});
}

namespace testing {
// Switches every later clear_write/atomic_clear_write in this process to method m. Returns
// false (and changes nothing) when m is not built for this target or this CPU lacks it;
// movdir64b is accepted even where CPUID does not report it (guard the call with a SIGILL
// handler). Not for production use.
inline bool force_store(store_method m) noexcept {
  detail::active_store();  // the handler is installed and the default chosen first
  if (!detail::store_usable(m, detail::host_cpu(), true)) return false;
  detail::g_store.store(&detail::store_entry_of(m), std::memory_order_release);
  return true;
}
// Back to the choice made from CPUID and the environment.
inline void reset_store() noexcept { force_store(detail::default_store_choice().method); }
}  // namespace testing

}  // namespace v1
}  // namespace mcsafe
