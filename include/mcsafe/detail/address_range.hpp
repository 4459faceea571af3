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

// The larger of dst - 1 and src - 1: [dst, +n) and [src, +n) are both good exactly when this
// plus n does not carry (the larger start carries whenever either would). The inline copy
// compares it against g_word_limit instead (copy.hpp).
inline std::uintptr_t later_start_less_one(const void* dst, const void* src) noexcept {
  const std::uintptr_t d = reinterpret_cast<std::uintptr_t>(dst) - 1;
  const std::uintptr_t s = reinterpret_cast<std::uintptr_t>(src) - 1;
  return d > s ? d : s;
}
// Both ranges at once, with one branch.
inline bool bad_ranges(const void* dst, const void* src, std::size_t n) noexcept {
  return bad_range(later_start_less_one(dst, src) + 1, n);
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
