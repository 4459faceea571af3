// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/routines.hpp - the one list of guarded routines the signal handler knows.
//
// A fault resumes only inside a range listed here. Adding a routine means: write it in
// detail/<arch>/, include it here and add its MCSAFE_ROUTINE_RANGE to k_routines.
#pragma once
#include "config.hpp"
#include "routine.hpp"

#if defined(MCSAFE_ARCH_X86_64)
#include "x86_64/copy_routines.hpp"
#include "x86_64/copy_vector.hpp"
#include "x86_64/extable.hpp"
#include "x86_64/store_routines.hpp"
#elif defined(MCSAFE_ARCH_AARCH64)
#include "aarch64/copy_routines.hpp"
#endif

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

#if defined(MCSAFE_ARCH_X86_64)
// Constant (addresses of hidden labels): readable from a signal handler at any time.
inline constexpr routine_range k_routines[] = {
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_rep_movsb),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_vector),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_vector_sse2),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_vector_avx512),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_fragile),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_generic),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_store_movdir64b),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_store_avx512_nt),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_store_sse2_nt),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_store_portable),
};
#elif defined(MCSAFE_ARCH_AARCH64)
inline constexpr routine_range k_routines[] = {
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_generic),
};
#else
inline constexpr routine_range k_routines[] = {{nullptr, nullptr, nullptr, "none"}};
#endif

// The fixup for a PC inside a guarded routine or at a guarded inline load, or nullptr.
// Async-signal-safe: reads constants and the linker-built load table.
inline const void* find_fixup(std::uintptr_t pc) noexcept {
  for (const routine_range& r : k_routines) {
    if (pc >= reinterpret_cast<std::uintptr_t>(r.begin) && pc < reinterpret_cast<std::uintptr_t>(r.end))
      return r.fixup;
  }
#if defined(MCSAFE_ARCH_X86_64)
  return find_extable_fixup(pc);
#else
  return nullptr;
#endif
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
