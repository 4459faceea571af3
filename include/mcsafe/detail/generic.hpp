// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/generic.hpp - the fallback for architectures without guarded routines.
//
// x86-64 and aarch64 have a guarded asm byte loop (the `generic` backend). Elsewhere the
// library still builds and copies, with memcpy, but a fault is NOT caught: diagnose() says so.
#pragma once
#include <cstring>

#include "routine_abi.hpp"

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

inline raw_result unguarded_copy(void* dst, const void* src, std::size_t n) noexcept {
  std::memcpy(dst, src, n);
  return {0, 0};
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
