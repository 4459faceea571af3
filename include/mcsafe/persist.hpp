// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/persist.hpp - flush / drain / persist: push written lines out of the CPU caches
// toward persistent memory (DAX pmem or CXL), in the order the program needs.
//
// flush(p, n) writes back every cacheline that holds a byte of [p, p + n), with the best
// instruction this CPU reports (the table k_flush_methods below), chosen once and cached by the
// rule every choice follows (detail/choice.hpp): MCSAFE_FORCE_FLUSH=clwb|clflushopt|clflush|none
// when this CPU has it, else CPUID:
//   clwb        writes the line back and may keep it cached (the cheapest for data re-read soon)
//   clflushopt  writes back and invalidates; weakly ordered like clwb
//   clflush     writes back and invalidates; ordered with other stores, slowest
// drain() is sfence: it waits until the flushes and non-temporal stores before it are done
// (globally visible, and on a platform with ADR/eADR in the persistence domain).
// persist(p, n) is flush then drain.
//
// The non-temporal methods of clear.hpp already bypass the caches and end with sfence, so a
// clear_write needs no flush; it is the plain stores (portable, or the program's own) that do.
//
// Not guarded: flushing memory that faults (a page past the end of a file, a poisoned page)
// raises the signal like any access. Persist what was written successfully.
//
// Elsewhere than x86-64 there is no cacheline flush from user space that this library uses:
// flush_method is `none`, flush() does nothing and drain() is a full fence. On such targets use
// msync() on the mapping (or the platform's pmem library) for durability.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "cpu.hpp"
#include "detail/choice.hpp"
#include "detail/config.hpp"

namespace mcsafe {
inline namespace v1 {

enum class flush_method : std::uint8_t { clwb, clflushopt, clflush, none };

inline constexpr flush_method all_flush_methods[] = {flush_method::clwb, flush_method::clflushopt, flush_method::clflush,
                                                     flush_method::none};

// What was chosen and why, for diagnose().
struct flush_choice : choice_note {
  flush_method method = flush_method::none;
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// One loop per instruction: the choice is made once per call, not once per line.
template <flush_method M>
inline void flush_lines(std::uintptr_t line, std::uintptr_t end) noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  for (; line < end; line += 64) {
    // The "memory" clobber keeps the compiler from moving the program's stores past a flush.
    const auto* p = reinterpret_cast<const char*>(line);
    if constexpr (M == flush_method::clwb)
      asm volatile("clwb %0" : : "m"(*p) : "memory");
    else if constexpr (M == flush_method::clflushopt)
      asm volatile("clflushopt %0" : : "m"(*p) : "memory");
    else if constexpr (M == flush_method::clflush)
      asm volatile("clflush %0" : : "m"(*p) : "memory");
  }
#else
  (void)line;
  (void)end;
#endif
}

// One flush instruction: the common fields (detail/choice.hpp); fn flushes the lines in
// [line, end) one by one.
using flush_method_row = method_row<flush_method, void (*)(std::uintptr_t line, std::uintptr_t end) noexcept>;

#if defined(MCSAFE_ARCH_X86_64)
inline constexpr bool k_has_flush = true;
#else
inline constexpr bool k_has_flush = false;  // no cacheline flush from user space that we use
#endif

// In order of preference.
inline constexpr flush_method_row k_flush_methods[] = {
    {flush_method::clwb, "clwb", &flush_lines<flush_method::clwb>,
     [](const cpu_features& f) noexcept { return k_has_flush && f.clwb; },
     [](const cpu_features&) noexcept -> const char* { return "CPUID: CLWB (write back, may keep the line)"; }},
    {flush_method::clflushopt, "clflushopt", &flush_lines<flush_method::clflushopt>,
     [](const cpu_features& f) noexcept { return k_has_flush && f.clflushopt; },
     [](const cpu_features&) noexcept -> const char* { return "CPUID: CLFLUSHOPT, no CLWB (write back and evict)"; }},
    {flush_method::clflush, "clflush", &flush_lines<flush_method::clflush>,
     [](const cpu_features& f) noexcept { return k_has_flush && f.clflush; },
     [](const cpu_features&) noexcept -> const char* { return "CPUID: CLFLUSH only (ordered, slowest)"; }},
    {flush_method::none, "none", &flush_lines<flush_method::none>, &any_cpu,
     [](const cpu_features&) noexcept -> const char* {
       return k_has_flush ? "CPUID: no cacheline flush instruction"
                          : "not x86-64: no user-space cacheline flush (use msync)";
     }},
};
static_assert(one_row_each(k_flush_methods, all_flush_methods), "one row per flush_method");

constexpr const flush_method_row& flush_row(flush_method m) noexcept { return *row_of(k_flush_methods, m); }

// The choice for a CPU with features f and the value of MCSAFE_FORCE_FLUSH (may be null).
// Pure: tests feed it recorded CPUs.
inline flush_choice choose_flush(const cpu_features& f, const char* env) noexcept {
  flush_choice c;
  c.method = choose_row(k_flush_methods, f, env, "forced by MCSAFE_FORCE_FLUSH", c).value;
  return c;
}
// The method alone, from CPUID.
inline flush_method choose_flush(const cpu_features& f) noexcept { return choose_flush(f, nullptr).method; }

inline const flush_choice& default_flush_choice() noexcept {
  static const flush_choice c = choose_flush(host_cpu(), std::getenv("MCSAFE_FORCE_FLUSH"));
  return c;
}

inline std::atomic<const flush_method_row*> g_flush{nullptr};

// The hot path: one acquire load; the first call publishes the default choice.
inline const flush_method_row& active_flush() noexcept {
  const flush_method_row* r = g_flush.load(std::memory_order_acquire);
  if (r != nullptr) [[likely]]
    return *r;
  return *publish_first<const flush_method_row*>(g_flush, nullptr, &flush_row(default_flush_choice().method));
}

}  // namespace detail

constexpr const char* to_string(flush_method m) noexcept { return detail::name_in(detail::k_flush_methods, m); }
constexpr bool parse(std::string_view s, flush_method& out) noexcept { return parse_name(s, all_flush_methods, out); }

// The flush instruction flush() uses, chosen once.
inline flush_method active_flush_method() noexcept { return detail::active_flush().value; }

// Writes back every cacheline holding a byte of [p, p + n). Weakly ordered with clwb and
// clflushopt: follow with drain() (or call persist()). n == 0 does nothing.
inline void flush(const void* p, std::size_t n) noexcept {
  if (n == 0) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{63};
  detail::active_flush().fn(begin, reinterpret_cast<std::uintptr_t>(p) + n);
}

// Waits until every flush and non-temporal store issued before it by this thread is complete.
inline void drain() noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  asm volatile("sfence" ::: "memory");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// flush(p, n) then drain(): when it returns, [p, p + n) has left the CPU caches.
inline void persist(const void* p, std::size_t n) noexcept {
  flush(p, n);
  drain();
}

}  // namespace v1
}  // namespace mcsafe
