// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/routine_abi.hpp - the calling and fixup contract shared by every guarded asm routine.
//
// A guarded routine is a leaf written in asm: no stack frame, no calls, only caller-saved
// registers. It returns a raw_result in the two integer return registers (rax:rdx on x86-64,
// x0:x1 on aarch64):
//   - success: {0, 0}
//   - fault:   the signal handler found the interrupted PC inside [begin, end), wrote
//              {si_addr, the fault word (fault_word.hpp)} into those two registers of the interrupted
//              context and resumed at the routine's fixup label, which returns at once
//              (after vzeroupper where the routine used ymm/zmm registers).
// Because the routine is a leaf with an untouched stack pointer, "return from the fixup" is
// exactly a return to the C++ caller, and no compiler-generated code is ever resumed.
#pragma once
#include <cstddef>
#include <cstdint>

#include "config.hpp"

namespace mcsafe {
inline namespace v1 {
namespace detail {

struct raw_result {
  std::uintptr_t address;  // si_addr of the fault; 0 on success
  std::uintptr_t info;     // the fault word, pack_fault_word(signo, si_code, lsb); 0 exactly on success
};

// One guarded routine's PC range and where a fault inside it resumes.
struct routine_range {
  const char* begin;  // the entry label
  const char* end;    // just past the last instruction
  const char* fixup;  // where a fault inside [begin, end) resumes
};

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

using raw_copy_fn = raw_result (*)(void* dst, const void* src, std::size_t n) noexcept;

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe

// Declares the symbols of one routine defined in asm: the entry point, and as data labels its
// begin (same address as the entry), fixup and end. Data labels keep the range table a
// constant expression (no casts). All are hidden, so each DSO binds to its own copy.
#define MCSAFE_DECLARE_ROUTINE(name, ...)                                           \
  extern "C" MCSAFE_HIDDEN ::mcsafe::detail::raw_result name(__VA_ARGS__) noexcept; \
  extern "C" MCSAFE_HIDDEN const char name##_begin[];                               \
  extern "C" MCSAFE_HIDDEN const char name##_fixup[];                               \
  extern "C" MCSAFE_HIDDEN const char name##_end[]

#define MCSAFE_ROUTINE_RANGE(name) \
  ::mcsafe::detail::routine_range { name##_begin, name##_end, name##_fixup }
