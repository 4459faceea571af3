// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/routine_table.hpp - the one list of guarded code the signal handler knows.
//
// A fault resumes only inside a range listed here or at a guarded inline move (extable.hpp).
// Adding a routine means: write it in detail/<arch>/, include it here and add its
// MCSAFE_ROUTINE_RANGE to k_routines (a test checks that every copy backend's and store
// method's routine is listed). The handler reads it (handler_inside.hpp, find_fixup); it
// knows nothing of how a routine is chosen (dispatch.hpp, clear.hpp): the handler reads only
// constants.
#pragma once
#include "config.hpp"
#include "generic.hpp"
#include "routine_abi.hpp"

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
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_rep_movsb),   MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_vector),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_vector_sse2), MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_vector_avx512),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_fragile),     MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_generic),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_store_movdir64b),  MCSAFE_ROUTINE_RANGE(mcsafe_v1_store_avx512_nt),
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_store_sse2_nt),    MCSAFE_ROUTINE_RANGE(mcsafe_v1_store_portable),
};
#elif defined(MCSAFE_ARCH_AARCH64)
inline constexpr routine_range k_routines[] = {
    MCSAFE_ROUTINE_RANGE(mcsafe_v1_copy_generic),
};
#else
inline constexpr routine_range k_routines[] = {{nullptr, nullptr, nullptr}};
#endif

// The byte loop every architecture with guarded routines has; elsewhere plain memcpy.
#if defined(MCSAFE_HAS_GUARDED_ROUTINES)
inline constexpr raw_copy_fn k_generic_copy = &mcsafe_v1_copy_generic;
#else
inline constexpr raw_copy_fn k_generic_copy = &unguarded_copy;
#endif

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe

// The address of an x86-64 routine in a table of methods (dispatch.hpp, clear.hpp); nullptr on
// other architectures, where it is not built.
#if defined(MCSAFE_ARCH_X86_64)
#define MCSAFE_X86_64_ROUTINE(name) &name
#else
#define MCSAFE_X86_64_ROUTINE(name) nullptr
#endif
