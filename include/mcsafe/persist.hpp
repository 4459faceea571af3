// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/persist.hpp - flush / drain / persist: push written lines out of the CPU caches
// toward persistent memory (DAX pmem or CXL), in the order the program needs.
//
// flush(p, n) writes back every cacheline that holds a byte of [p, p + n), with the best
// instruction this CPU reports, chosen once by CPUID and cached:
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

#include "cpu.hpp"
#include "detail/config.hpp"
#include "dispatch.hpp"

namespace mcsafe {
inline namespace v1 {

enum class flush_method : std::uint8_t { clwb, clflushopt, clflush, none };

constexpr const char* to_string(flush_method m) noexcept {
  switch (m) {
    case flush_method::clwb: return "clwb";
    case flush_method::clflushopt: return "clflushopt";
    case flush_method::clflush: return "clflush";
    case flush_method::none: return "none";
  }
  return "unknown";
}

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// The flush a CPU with features f gets. Pure: tests feed it recorded CPUs.
inline flush_method choose_flush(const cpu_features& f) noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  if (f.clwb) return flush_method::clwb;
  if (f.clflushopt) return flush_method::clflushopt;
  if (f.clflush) return flush_method::clflush;
#else
  (void)f;
#endif
  return flush_method::none;
}

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
    else
      asm volatile("clflush %0" : : "m"(*p) : "memory");
  }
#else
  (void)line;
  (void)end;
#endif
}

}  // namespace detail

// The flush instruction this CPU uses, chosen once by CPUID.
inline flush_method active_flush_method() noexcept {
  static const flush_method m = detail::choose_flush(detail::host_cpu());
  return m;
}

// Writes back every cacheline holding a byte of [p, p + n). Weakly ordered with clwb and
// clflushopt: follow with drain() (or call persist()). n == 0 does nothing.
inline void flush(const void* p, std::size_t n) noexcept {
  if (n == 0) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{63};
  const auto end = reinterpret_cast<std::uintptr_t>(p) + n;
  switch (active_flush_method()) {
    case flush_method::clwb: detail::flush_lines<flush_method::clwb>(begin, end); break;
    case flush_method::clflushopt: detail::flush_lines<flush_method::clflushopt>(begin, end); break;
    case flush_method::clflush: detail::flush_lines<flush_method::clflush>(begin, end); break;
    case flush_method::none: break;
  }
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
