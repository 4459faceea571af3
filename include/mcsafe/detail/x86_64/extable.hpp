// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/x86_64/extable.hpp - guarded moves inlined into the caller.
//
// mc_safe_load<T> and mc_safe_store<T> of 1, 2, 4 or 8 bytes are one `mov` in the caller's
// code, mc_safe_copy of up to 64 bytes four or eight, and of 65 to 128 bytes four zmm moves
// where the chosen routine is the zmm one: a call to a routine costs more than the moves. Like
// the kernel's exception table, each such `mov` records {its address, where a fault in it
// resumes} in the section mcsafe_v1_extable, as 32-bit offsets relative to the entry (no
// dynamic relocations under -fPIC). The linker collects the section and defines
// __start_/__stop_ symbols around it in each executable or shared object; they are declared
// hidden (each DSO reads its own table) and weak (a program without guarded moves has no table).
//
// Register contract, the same as the routines': the handler writes si_addr to rax and the
// packed signo/si_code/lsb to rdx and resumes at the entry's resume label; the moves after the
// faulting one in the same statement are skipped and its other outputs are garbage. No
// compiler-generated instruction is ever re-executed or abandoned half-way. Where the resume
// label is (MCSAFE_GUARDED_ASM below):
//  - asm goto, on clang 16+ (whose asm goto outputs are valid on the label path too): a C label,
//    so the statement's normal end is the success path with no test at all;
//    rax and rdx are outputs there and the code at the label reads them;
//  - elsewhere: the end of the statement, which zeroes rdx first, so rdx != 0 afterwards means
//    a move faulted (two instructions more per guarded statement on the success path).
#pragma once
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

// Where a fault at `pc` resumes when pc is a guarded inline load, else nullptr.
// Async-signal-safe: reads the linker-built table only.
inline const void* find_extable_fixup(std::uintptr_t pc) noexcept {
  const extable_entry* e = __start_mcsafe_v1_extable;
  const extable_entry* end = __stop_mcsafe_v1_extable;
  if (e == nullptr || end == nullptr) return nullptr;
  for (; e < end; ++e) {
    // Sign-extend the 32-bit offset, then add modulo 2^64: a negative offset points backward.
    const auto insn = reinterpret_cast<std::uintptr_t>(&e->insn) +
                      static_cast<std::uintptr_t>(static_cast<std::intptr_t>(e->insn));
    if (insn == pc)
      return reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(&e->resume) +
                                           static_cast<std::uintptr_t>(static_cast<std::intptr_t>(e->resume)));
  }
  return nullptr;
}

struct guarded_load_result {
  std::uintptr_t value;    // the loaded bits, zero-extended (garbage when info != 0)
  std::uintptr_t address;  // si_addr on a fault
  std::uintptr_t info;     // 0, or the packed signo/si_code/lsb
};

// One guarded load of an unsigned integer type U (1, 2, 4 or 8 bytes).
template <class U>
MCSAFE_ALWAYS_INLINE guarded_load_result guarded_load(const void* p) noexcept {
  U v;
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((guarded_load_result{static_cast<std::uintptr_t>(v), 0, 0}),
                     ".Lmcsafe_v1_ld%=: mov (%[p]), %[v]\n" MCSAFE_EXTABLE_BEGIN(".Lmcsafe_v1_ld%=")
                         MCSAFE_EXTABLE_ENTRY(".Lmcsafe_v1_ld%=", MCSAFE_RESUME) MCSAFE_EXTABLE_END,
                     ([v] "=r"(v), "=a"(address), [info] "=&d"(info)), ([p] "r"(p)), ("memory"))
  return {static_cast<std::uintptr_t>(v), address, info};
}

// The asm of a head-and-tail copy (below): `mov` moves `head` and `tail` (operands or
// registers), the tail `back` bytes before the end (back = -width), one resume point for all.
#define MCSAFE_HEAD_TAIL_COPY(mov, head, tail, back)                                             \
  ".Lmcsafe_v1_cp%=: " mov " (%[src]), " head "\n"                                             \
  "2: " mov " " back "(%[src],%[n]), " tail "\n"                                                \
  "3: " mov " " head ", (%[dst])\n"                                                             \
  "4: " mov " " tail ", " back "(%[dst],%[n])\n" MCSAFE_EXTABLE_BEGIN(".Lmcsafe_v1_cp%=")        \
      MCSAFE_EXTABLE_ENTRY(".Lmcsafe_v1_cp%=", MCSAFE_RESUME) MCSAFE_EXTABLE_ENTRY("2b", MCSAFE_RESUME) \
          MCSAFE_EXTABLE_ENTRY("3b", MCSAFE_RESUME) MCSAFE_EXTABLE_ENTRY("4b", MCSAFE_RESUME) MCSAFE_EXTABLE_END

// A copy of n bytes, sizeof(U) <= n <= 2 * sizeof(U), inlined: the first and the last
// sizeof(U) bytes are loaded, then stored (overlapping when n < 2 * sizeof(U)), as the
// routines' small classes do. All four moves share one resume point: a fault anywhere returns
// rdx != 0 and rax = si_addr, and the caller re-copies the bytes below the fault with a
// forward routine (copy.hpp, finish_after_fault), which makes `copied` exact.
// Every access stays inside [src, src + n) and [dst, dst + n).
template <class U>
MCSAFE_ALWAYS_INLINE raw_result guarded_small_copy(void* dst, const void* src, std::size_t n) noexcept {
  U head, tail;
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((raw_result{0, 0}), MCSAFE_HEAD_TAIL_COPY("mov", "%[head]", "%[tail]", "%c[back]"),
                     ([head] "=&r"(head), [tail] "=&r"(tail), "=a"(address), [info] "=&d"(info)),
                     ([src] "r"(src), [dst] "r"(dst), [n] "r"(n), [back] "i"(-static_cast<long>(sizeof(U)))),
                     ("memory"))
  return {address, info};
}

// The same for 16 <= n <= 64 in four 16-byte moves at offsets 0, t / 2, t and n - 16, where
// t = n - 32 from 32 bytes up, else 0: no branch on n, and consecutive moves at most 16 bytes
// apart (t <= 32), so they cover [0, n). Below 32 bytes the moves at 0 repeat. A taken branch
// costs about a cycle at these sizes, and so do a few instructions: with m = max(n, 32) the
// offsets are m - 32 and m / 2 - 16, so the asm takes m and m / 2 and folds the constants into
// its addresses (five instructions as GCC 12 emits them, one a register move; the earlier
// offsets for each class took eight, docs/benchmarks.md). SSE2 is part of x86-64; code built
// with AVX gets the VEX form, so that a caller whose upper register halves are dirty pays no
// SSE/AVX transition.
#if defined(__AVX__)
#define MCSAFE_MOVDQU "vmovdqu"
#else
#define MCSAFE_MOVDQU "movdqu"
#endif
using xmm_bits = long long __attribute__((vector_size(16)));
MCSAFE_ALWAYS_INLINE raw_result guarded_copy_16_64(void* dst, const void* src, std::size_t n) noexcept {
  const std::size_t m = n > 32 ? n : 32;
  const std::size_t m_half = m / 2;
  xmm_bits v0, v1, v2, v3;
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((raw_result{0, 0}),
                     ".Lmcsafe_v1_cx%=: " MCSAFE_MOVDQU " (%[src]), %[v0]\n"
                     "2: " MCSAFE_MOVDQU " -16(%[src],%[m_half]), %[v1]\n"
                     "3: " MCSAFE_MOVDQU " -32(%[src],%[m]), %[v2]\n"
                     "4: " MCSAFE_MOVDQU " -16(%[src],%[n]), %[v3]\n"
                     "5: " MCSAFE_MOVDQU " %[v0], (%[dst])\n"
                     "6: " MCSAFE_MOVDQU " %[v1], -16(%[dst],%[m_half])\n"
                     "7: " MCSAFE_MOVDQU " %[v2], -32(%[dst],%[m])\n"
                     "8: " MCSAFE_MOVDQU " %[v3], -16(%[dst],%[n])\n" MCSAFE_EXTABLE_BEGIN(".Lmcsafe_v1_cx%=")
                         MCSAFE_EXTABLE_ENTRY(".Lmcsafe_v1_cx%=", MCSAFE_RESUME) MCSAFE_EXTABLE_ENTRY("2b", MCSAFE_RESUME)
                             MCSAFE_EXTABLE_ENTRY("3b", MCSAFE_RESUME) MCSAFE_EXTABLE_ENTRY("4b", MCSAFE_RESUME)
                                 MCSAFE_EXTABLE_ENTRY("5b", MCSAFE_RESUME) MCSAFE_EXTABLE_ENTRY("6b", MCSAFE_RESUME)
                                     MCSAFE_EXTABLE_ENTRY("7b", MCSAFE_RESUME) MCSAFE_EXTABLE_ENTRY("8b", MCSAFE_RESUME)
                                         MCSAFE_EXTABLE_END,
                     ([v0] "=&x"(v0), [v1] "=&x"(v1), [v2] "=&x"(v2), [v3] "=&x"(v3), "=a"(address), [info] "=&d"(info)),
                     ([src] "r"(src), [dst] "r"(dst), [n] "r"(n), [m_half] "r"(m_half), [m] "r"(m)), ("memory"))
  return {address, info};
}
// 16 <= n <= 32 in two 16-byte moves at 0 and n - 16: for a length the compiler knows, where
// the branchless four moves above would repeat the ones at 0 (copy.hpp).
MCSAFE_ALWAYS_INLINE raw_result guarded_copy_16_32(void* dst, const void* src, std::size_t n) noexcept {
  xmm_bits head, tail;
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((raw_result{0, 0}), MCSAFE_HEAD_TAIL_COPY(MCSAFE_MOVDQU, "%[head]", "%[tail]", "-16"),
                     ([head] "=&x"(head), [tail] "=&x"(tail), "=a"(address), [info] "=&d"(info)),
                     ([src] "r"(src), [dst] "r"(dst), [n] "r"(n)), ("memory"))
  return {address, info};
}
#undef MCSAFE_MOVDQU

// 65 <= n <= 128 in two overlapping 64-byte moves, as the zmm routine's V..2V class: only
// where the chosen routine is vector_avx512 (copy.hpp tests that at run time, dispatch.hpp
// g_inline_copy_limit), so the CPU and the OS's XCR0 allow zmm state, and code not built for
// AVX-512 can still hold it. Registers zmm16-17 through EVEX moves, as that routine: outside the
// state whose dirty upper halves slow SSE code, so no vzeroupper. A compiler that targets
// AVX-512 is told they are clobbered; one that does not never allocates them (GCC refuses
// the clobber then), and they are call-clobbered in the psABI, so no caller holds a value there.
#if defined(__AVX512F__)
#define MCSAFE_ZMM_CLOBBERS , "xmm16", "xmm17"
#else
#define MCSAFE_ZMM_CLOBBERS
#endif
MCSAFE_ALWAYS_INLINE raw_result guarded_copy_65_128_zmm(void* dst, const void* src, std::size_t n) noexcept {
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((raw_result{0, 0}), MCSAFE_HEAD_TAIL_COPY("vmovdqu64", "%%zmm16", "%%zmm17", "-64"),
                     ("=a"(address), [info] "=&d"(info)), ([src] "r"(src), [dst] "r"(dst), [n] "r"(n)),
                     ("memory" MCSAFE_ZMM_CLOBBERS))
  return {address, info};
}
#undef MCSAFE_ZMM_CLOBBERS
#undef MCSAFE_HEAD_TAIL_COPY

struct guarded_store_result {
  std::uintptr_t address;  // si_addr on a fault
  std::uintptr_t info;     // 0, or the packed signo/si_code/lsb
};

// One guarded store of an unsigned integer type U (1, 2, 4 or 8 bytes). The same contract as
// guarded_load: only the faulting `mov` is skipped. A store that faults has written nothing
// that this reports as written: the caller re-copies the bytes below the fault to make its
// count exact (copy.hpp).
template <class U>
MCSAFE_ALWAYS_INLINE guarded_store_result guarded_store(void* p, U v) noexcept {
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((guarded_store_result{0, 0}),
                     ".Lmcsafe_v1_st%=: mov %[v], (%[p])\n" MCSAFE_EXTABLE_BEGIN(".Lmcsafe_v1_st%=")
                         MCSAFE_EXTABLE_ENTRY(".Lmcsafe_v1_st%=", MCSAFE_RESUME) MCSAFE_EXTABLE_END,
                     ("=a"(address), [info] "=&d"(info)), ([p] "r"(p), [v] "r"(v)), ("memory"))
  return {address, info};
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe

#undef MCSAFE_GUARDED_ASM
#undef MCSAFE_RESUME
#undef MCSAFE_UNPAREN
#undef MCSAFE_GUARD_BY_GOTO
#undef MCSAFE_EXTABLE_BEGIN
#undef MCSAFE_EXTABLE_ENTRY
#undef MCSAFE_EXTABLE_END
