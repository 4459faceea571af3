// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/x86_64/extable.hpp - the exception table: how a guarded move inlined into the
// caller's code (detail/x86_64/inline_moves.hpp) tells the signal handler where a fault in it
// resumes.
//
// Like the kernel's exception table, each guarded `mov` records {its address, where a fault in
// it resumes} in the section mcsafe_v1_extable, as 32-bit offsets relative to the entry (no
// dynamic relocations under -fPIC). The linker collects the section and defines
// __start_/__stop_ symbols around it in each executable or shared object; they are declared
// hidden (each DSO reads its own table) and weak (a program without guarded moves has no table).
//
// Register contract, the same as the routines': the handler writes si_addr to rax and the
// packed signo/si_code/lsb to rdx and resumes at the entry's resume label; the moves after the
// faulting one in the same statement are skipped and its other outputs are garbage. No
// compiler-generated instruction is ever re-executed or abandoned half-way. Where the resume
// label is (MCSAFE_GUARDED_ASM below):
//  - asm goto, where clang says its asm goto outputs are valid on the label path too
//    (__has_extension(gnu_asm_goto_with_outputs_full): clang 17 and later): a C label,
//    so the statement's normal end is the success path with no test at all;
//    rax and rdx are outputs there and the code at the label reads them;
//  - elsewhere: the end of the statement, which zeroes rdx first, so rdx != 0 afterwards means
//    a move faulted (two instructions more per guarded statement on the success path).
#pragma once
// The asm below is laid out by hand, one instruction per line: not for clang-format.
// clang-format off
#include <cstdint>

#include "../config.hpp"
#include "../routine_abi.hpp"

// The table entries of one guarded asm statement, {insn, resume} pairs of labels. `at` names a
// label in the statement's code section: the entries' section is tied to it (SHF_LINK_ORDER,
// the "o" flag), so when the linker drops that code — a duplicate of an inline function whose
// copies it merges, or unused code under --gc-sections — it drops these entries with it. Without
// that, an entry would point into a discarded COMDAT section and the link fails (seen at -O0,
// where the function holding the asm is not inlined and two units instantiate it).
#define MCSAFE_EXTABLE_BEGIN(at) ".pushsection mcsafe_v1_extable, \"ao\", @progbits, " at "\n.balign 4\n"
#define MCSAFE_EXTABLE_ENTRY(insn, resume) ".long " insn " - .\n.long " resume " - .\n"
#define MCSAFE_EXTABLE_END ".popsection\n"

// One guarded asm statement: `text` holds the moves and their table entries, which name
// MCSAFE_RESUME as where a fault resumes; its outputs include "=a"(address) and
// [info] "=&d"(info). With asm goto the statement is followed by `return ok;` and the label
// mcsafe_fault, so the code after the macro is the fault path; without, the code after it
// runs on both paths and info says which.
// Not with GCC: GCC 12.2 at -O2 -flto -fno-exceptions gave a guarded 1-, 2- or 4-byte load in a
// loop the value of the previous iteration (-flto or -fno-exceptions alone, and the other form,
// were right), so GCC builds the other form until a version is shown to be right.
#if defined(__clang__)
#if __has_extension(gnu_asm_goto_with_outputs_full)
#define MCSAFE_GUARD_BY_GOTO 1
#endif
#endif
#define MCSAFE_UNPAREN(...) __VA_ARGS__
#if defined(MCSAFE_GUARD_BY_GOTO)
#define MCSAFE_RESUME "%l[mcsafe_fault]"
#define MCSAFE_GUARDED_ASM(ok, text, outputs, inputs, clobbers)                                 \
  asm goto(text : MCSAFE_UNPAREN outputs : MCSAFE_UNPAREN inputs : MCSAFE_UNPAREN clobbers : mcsafe_fault); \
  return ok;                                                                                   \
  mcsafe_fault:
#else
#define MCSAFE_RESUME ".Lmcsafe_v1_resume%="
#define MCSAFE_GUARDED_ASM(ok, text, outputs, inputs, clobbers)                                  \
  asm volatile("xorl %k[info], %k[info]\n" text MCSAFE_RESUME ":\n"                               \
               : MCSAFE_UNPAREN outputs : MCSAFE_UNPAREN inputs : MCSAFE_UNPAREN clobbers);
#endif

namespace mcsafe {
inline namespace v1 {
namespace detail {
struct extable_entry {
  std::int32_t insn;    // the guarded instruction, relative to &insn
  std::int32_t resume;  // where a fault in it resumes, relative to &resume
};
}  // namespace detail
}  // namespace v1
}  // namespace mcsafe

extern "C" {
extern const ::mcsafe::detail::extable_entry __start_mcsafe_v1_extable[] __attribute__((weak, visibility("hidden")));
extern const ::mcsafe::detail::extable_entry __stop_mcsafe_v1_extable[] __attribute__((weak, visibility("hidden")));
}

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
