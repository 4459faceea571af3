// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/address_range.hpp - whether a byte range can be accessed at all: the check
// every entry point makes before touching memory (a null pointer, a range past the top).
#pragma once
#include <cstddef>
#include <cstdint>

#include "config.hpp"

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// True when [p, p + n) cannot be accessed: p is null and n > 0, or the range runs past the
// top of the address space. One subtraction and one add: p - 1 + n carries exactly then (a
// null p turns into ~0, which carries for any n > 0), and n == 0 never does.
constexpr bool bad_range(std::uintptr_t p, std::size_t n) noexcept {
  std::uintptr_t last;
  return __builtin_add_overflow(p - 1, n, &last);
}
inline bool bad_range(const void* p, std::size_t n) noexcept { return bad_range(reinterpret_cast<std::uintptr_t>(p), n); }

// True when `count` elements of `size` bytes from p cannot all be accessed: their byte count
// overflows, or bad_range of those bytes.
inline bool bad_elements(const void* p, std::size_t count, std::size_t size) noexcept {
  return count > SIZE_MAX / size || bad_range(p, count * size);
}

// Both ranges at once, exactly, with one branch: [dst, +n) and [src, +n) are both good when the
// larger of dst - 1 and src - 1 plus n does not carry (the larger start carries whenever either
// would).
inline bool bad_ranges(const void* dst, const void* src, std::size_t n) noexcept {
  const std::uintptr_t d = reinterpret_cast<std::uintptr_t>(dst) - 1;
  const std::uintptr_t s = reinterpret_cast<std::uintptr_t>(src) - 1;
  return bad_range((d > s ? d : s) + 1, n);
}

// (dst - 1) | (src - 1): at least the larger of the two, so below a limit L only when both
// starts are nonzero and at most L; with L = 2^64 - 128 and n <= 128 (the inline copy,
// copy.hpp) nothing wraps. One OR where the exact test takes a compare and a cmov: the hot
// paths use it as a sufficient test and send the rest (in practice only bad input) to the exact
// one.
inline std::uintptr_t starts_bound(const void* dst, const void* src) noexcept {
  return (reinterpret_cast<std::uintptr_t>(dst) - 1) | (reinterpret_cast<std::uintptr_t>(src) - 1);
}
// Whether both ranges are good, by a test that may say "no" to a few good ones: on x86-64,
// neither start is null and the starts and n are below 2^63, so nothing wraps (no user address
// has bit 63 set there, with or without LAM). Callers send a "no" to bad_ranges, which decides
// exactly. On aarch64 a tagged pointer (top-byte-ignore) may have bit 63 set, so the exact test.
inline bool copy_ranges_plain(const void* dst, const void* src, std::size_t n) noexcept {
#if defined(__x86_64__)
  return static_cast<std::intptr_t>(starts_bound(dst, src) | n) >= 0;
#else
  return !bad_ranges(dst, src, n);
#endif
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
