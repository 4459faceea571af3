// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/fault_word.hpp - the fault word: what the signal handler packs into a guarded
// routine's second return register, and how a caller turns it back into a `fault`.
//
// The handler (guard.hpp) has only the signal's number, si_code and si_addr_lsb, and one
// register to put them in; the caller knows which buffers it passed and decodes the word into
// a fault with a side and the first bad byte. Both halves live here so that they cannot drift.
#pragma once
#include <csignal>
#include <cstddef>
#include <cstdint>

#include "../fault.hpp"
#include "config.hpp"
#include "routine_abi.hpp"

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// signo in bits 0..7, si_code in 8..15, si_addr_lsb in 16..23. signo is never 0, so a fault
// always packs to a nonzero word and 0 means success.
constexpr std::uintptr_t pack_fault_word(int signo, int si_code, unsigned lsb) noexcept {
  return (static_cast<std::uintptr_t>(signo) & 0xff) | ((static_cast<std::uintptr_t>(si_code) & 0xff) << 8) |
         ((static_cast<std::uintptr_t>(lsb) & 0xff) << 16);
}
constexpr int fault_word_signo(std::uintptr_t w) noexcept { return static_cast<int>(w & 0xff); }
constexpr int fault_word_code(std::uintptr_t w) noexcept { return static_cast<int>((w >> 8) & 0xff); }
constexpr unsigned fault_word_lsb(std::uintptr_t w) noexcept { return static_cast<unsigned>((w >> 16) & 0xff); }

inline fault_kind kind_of(int signo, int si_code) noexcept {
  if (signo == SIGSEGV) return fault_kind::segv;
  if (si_code == BUS_MCEERR_AR || si_code == BUS_MCEERR_AO) return fault_kind::hw_poison;
  return fault_kind::bus_error;
}

// Which side a reported fault belongs to, and how many bytes of that side lie before the
// failed granule (si_addr rounded down to 1 << lsb: with hardware poison the whole granule,
// usually the page, is gone, including the bytes of it below si_addr).
inline fault decode_fault(raw_result r, const void* dst, const void* src, std::size_t n, std::size_t& below) noexcept {
  fault f;
  f.kind = kind_of(fault_word_signo(r.info), fault_word_code(r.info));
  f.si_code = fault_word_code(r.info);
  f.lsb = fault_word_lsb(r.info);
  f.address = r.address;
  const std::uintptr_t g0 = f.granule_begin();
  const std::uintptr_t g1 = g0 + f.granule_size() - 1;  // last byte of the granule
  // A side that is absent (mc_safe_load has no destination) never matches, so a fault the
  // kernel gave no address for (si_addr 0: a non-canonical address) has side none.
  auto overlaps = [&](const void* p) {
    const auto b = reinterpret_cast<std::uintptr_t>(p);
    return p != nullptr && (g0 - b < n || (g0 < b && g1 >= b));  // granule starts inside, or covers the start
  };
  const void* base = nullptr;
  if (overlaps(src)) {
    f.side = fault_side::source;
    base = src;
  } else if (overlaps(dst)) {
    f.side = fault_side::destination;
    base = dst;
  }
  below = 0;
  if (base != nullptr) {
    const auto b = reinterpret_cast<std::uintptr_t>(base);
    below = g0 > b ? static_cast<std::size_t>(g0 - b) : 0;
    if (below > n) below = n;
    // The first byte of this side known to be bad: the byte the kernel named, or for a granule
    // report the granule's first byte inside the buffer. A routine that loads its tail first
    // faults high in a poisoned page; the answer must not depend on the routine.
    f.address = b + below;
  }
  return f;
}

// The fault of a call refused before touching memory (a null pointer with a nonzero length,
// a range that wraps, a destination too short), naming the side that was wrong.
constexpr fault invalid_argument_fault(fault_side side) noexcept {
  fault f;
  f.kind = fault_kind::invalid_argument;
  f.side = side;
  return f;
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
