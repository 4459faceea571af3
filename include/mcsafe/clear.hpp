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
// Which one runs is decided once, on first use, and cached in one atomic pointer, by the rule
// every choice follows (detail/choice.hpp) over the table k_store_methods below:
//   1. the environment: MCSAFE_FORCE_STORE=movdir64b|avx512_nt|sse2_nt|portable, read once; a
//      value that is unknown or not usable on this CPU is ignored and reported by diagnose()
//   2. CPUID (cpu.hpp): the first method of the table this CPU reports
// Tests switch methods with mcsafe::testing::force_store(), which also accepts movdir64b where
// CPUID does not report it: the instruction executes on some CPUs that do not advertise it,
// and raises SIGILL where it really is absent.
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

#include "cpu.hpp"
#include "detail/address_range.hpp"
#include "detail/choice.hpp"
#include "detail/config.hpp"
#include "detail/fault_word.hpp"
#include "detail/routine_table.hpp"
#include "fault.hpp"
#include "guard.hpp"

namespace mcsafe {
inline namespace v1 {

// The size of the unit every function here writes: one cacheline.
inline constexpr std::size_t line_size = 64;

enum class store_method : std::uint8_t { movdir64b, avx512_nt, sse2_nt, portable };
// In order of preference.
inline constexpr store_method all_store_methods[] = {store_method::movdir64b, store_method::avx512_nt, store_method::sse2_nt,
                                                     store_method::portable};

struct clear_options {
  bool require_atomic = false;  // refuse (std::errc::not_supported) rather than use a non-atomic method
};

struct write_result {
  std::size_t written = 0;  // bytes stored, whole lines, before any fault
  store_method method{};    // what ran (or would have run, when refused)
  bool atomic = false, no_read = false;
  std::errc error{};    // invalid_argument (misaligned, null, not whole lines),
                        // not_supported (require_atomic and no atomic method)
  mcsafe::fault fault;  // a store (or a load of the source) that faulted
  constexpr bool ok() const noexcept { return error == std::errc{} && fault.kind == fault_kind::none; }
  constexpr explicit operator bool() const noexcept { return ok(); }
};

// What was chosen and why, for diagnose().
struct store_choice : choice_note {
  store_method method = store_method::portable;
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// One store method: the common fields (detail/choice.hpp) and its guarantees,
//   atomic   the 64-byte line can never be seen half written
//   no_read  the CPU does not read the destination line before writing it
struct store_method_row : method_row<store_method, raw_copy_fn> {
  bool atomic;
  bool no_read;
};

// Off x86-64 the guarded byte loop, which stores whole lines too (or memcpy, unguarded).
#if defined(MCSAFE_ARCH_X86_64)
inline constexpr raw_copy_fn k_portable_store = &mcsafe_v1_store_portable;
#else
inline constexpr raw_copy_fn k_portable_store = k_generic_copy;
#endif

// In order of preference.
inline constexpr store_method_row k_store_methods[] = {
    {{store_method::movdir64b, "movdir64b", MCSAFE_X86_64_ROUTINE(mcsafe_v1_store_movdir64b),
      [](const cpu_features& f) noexcept { return f.movdir64b; },
      [](const cpu_features&) noexcept -> const char* { return "CPUID: MOVDIR64B (atomic 64-byte store, no read)"; }},
     true,
     true},
    {{store_method::avx512_nt, "avx512_nt", MCSAFE_X86_64_ROUTINE(mcsafe_v1_store_avx512_nt),
      [](const cpu_features& f) noexcept { return f.avx512f; },
      [](const cpu_features&) noexcept -> const char* {
        return "CPUID: AVX-512F, no MOVDIR64B (64-byte non-temporal store, not atomic)";
      }},
     false,
     true},
    {{store_method::sse2_nt, "sse2_nt", MCSAFE_X86_64_ROUTINE(mcsafe_v1_store_sse2_nt),
      [](const cpu_features& f) noexcept { return f.sse2; },
      [](const cpu_features&) noexcept -> const char* {
        return "CPUID: SSE2 only (4 x 16-byte non-temporal stores, not atomic)";
      }},
     false,
     true},
    {{store_method::portable, "portable", k_portable_store, &any_cpu,
      [](const cpu_features&) noexcept -> const char* {
        return "no non-temporal stores here: plain stores (read the line first)";
      }},
     false,
     false},
};
static_assert(one_row_each(k_store_methods, all_store_methods), "one row per store_method");

constexpr const store_method_row& store_row(store_method m) noexcept { return *row_of(k_store_methods, m); }

}  // namespace detail

constexpr const char* to_string(store_method m) noexcept { return detail::name_in(detail::k_store_methods, m); }
// The guarantees of a method. atomic: the 64-byte line can never be seen half written.
// no_read: the CPU does not read the destination line before writing it.
constexpr bool is_atomic(store_method m) noexcept { return detail::store_row(m).atomic; }
constexpr bool is_no_read(store_method m) noexcept { return detail::store_row(m).no_read; }

constexpr bool parse(std::string_view s, store_method& out) noexcept { return parse_name(s, all_store_methods, out); }

namespace detail {

// Whether method m can run on a CPU with features f. allow_unreported lets movdir64b through
// where CPUID does not report it (testing::force_store only: it may raise SIGILL).
inline bool store_usable(store_method m, const cpu_features& f, bool allow_unreported = false) noexcept {
  const store_method_row& r = store_row(m);
  return r.runs_on(f) || (allow_unreported && m == store_method::movdir64b && r.fn != nullptr);
}

// The choice for a CPU with features f and the value of MCSAFE_FORCE_STORE (may be null).
// Pure: tests feed it recorded CPUs.
inline store_choice choose_store(const cpu_features& f, const char* env) noexcept {
  store_choice c;
  c.method = choose_row(k_store_methods, f, env, "forced by MCSAFE_FORCE_STORE", c).value;
  return c;
}

inline const store_choice& default_store_choice() noexcept {
  static const store_choice c = choose_store(host_cpu(), std::getenv("MCSAFE_FORCE_STORE"));
  return c;
}

inline std::atomic<const store_method_row*> g_store{nullptr};

// The hot path: one acquire load. The first call installs the handler and publishes the
// default choice.
inline const store_method_row& active_store() noexcept {
  const store_method_row* e = g_store.load(std::memory_order_acquire);
  if (e != nullptr) [[likely]]
    return *e;
#if !defined(MCSAFE_NO_AUTO_INSTALL)
  install();
#endif
  return *publish_first<const store_method_row*>(g_store, nullptr, &store_row(default_store_choice().method));
}

// A result naming method m and its guarantees, with error `why` (none: nothing written yet).
inline write_result outcome(const store_method_row& m, std::errc why) noexcept {
  write_result r;
  r.method = m.value;
  r.atomic = m.atomic;
  r.no_read = m.no_read;
  r.error = why;
  return r;
}

// The whole of clear_write and atomic_clear_write once the method is known: validates, runs
// the routine once over all n bytes, and on a fault reports whole lines below the faulting one.
inline write_result write_lines(const store_method_row& e, void* dst, const void* src, std::size_t n,
                                clear_options options) noexcept {
  if (dst == nullptr || src == nullptr || reinterpret_cast<std::uintptr_t>(dst) % line_size != 0 || n % line_size != 0 ||
      bad_ranges(dst, src, n)) [[unlikely]]
    return outcome(e, std::errc::invalid_argument);
  if (options.require_atomic && !e.atomic) [[unlikely]]
    return outcome(e, std::errc::not_supported);
  write_result w = outcome(e, std::errc{});
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
inline store_method active_store_method() noexcept { return detail::active_store().value; }

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
  if (n == 0) return detail::outcome(detail::active_store(), std::errc{});
  return detail::write_lines(detail::active_store(), dst, src, n, {});
}

}  // namespace v1
}  // namespace mcsafe
