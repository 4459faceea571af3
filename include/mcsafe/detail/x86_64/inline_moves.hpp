// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/x86_64/inline_moves.hpp - the guarded moves inlined into the caller: one `mov`
// for mc_safe_load<T> and mc_safe_store<T> of 1, 2, 4 or 8 bytes, four or eight for
// mc_safe_copy of up to 64 bytes, and four zmm moves for 65 to 128 where the chosen routine is
// the zmm one (copy.hpp decides which runs). Each is one guarded asm statement whose moves are
// listed in the exception table (extable.hpp, with the register contract they keep).
//
// Why the moves may run: copy.hpp runs them only after one compare against the copy state
// (detail/copy_state.hpp) says the handler is installed and the range neither is null nor
// wraps; the zmm moves only while inline_limit says the published routine is vector_avx512,
// which runs only where the CPU and the OS allow zmm state.
#pragma once
// The asm below is laid out by hand, one instruction per line: not for clang-format.
// clang-format off
#include <cstddef>
#include <cstdint>

#include "../config.hpp"
#include "../routine_abi.hpp"
#include "extable.hpp"

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

struct guarded_load_result {
  std::uintptr_t value;    // the loaded bits, zero-extended (garbage when info != 0)
  std::uintptr_t address;  // si_addr on a fault
  std::uintptr_t info;     // 0, or the packed signo/si_code/lsb
};

// One guarded load of an unsigned integer type U (1, 2, 4 or 8 bytes). The bytes it reads are
// an "m" operand (as a char array, which aliases any type) instead of a "memory" clobber: the
// compiler orders the load against stores to those bytes only, and keeps every other value in a
// register across it (a loop's sum, a guarded_range's pointer and size), as across a plain load.
template <class U>
MCSAFE_ALWAYS_INLINE guarded_load_result guarded_load(const void* p) noexcept {
  U v;
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((guarded_load_result{static_cast<std::uintptr_t>(v), 0, 0}),
                     ".Lmcsafe_v1_ld%=: mov (%[p]), %[v]\n" MCSAFE_EXTABLE_BEGIN(".Lmcsafe_v1_ld%=")
                         MCSAFE_EXTABLE_ENTRY(".Lmcsafe_v1_ld%=", MCSAFE_RESUME) MCSAFE_EXTABLE_END,
                     ([v] "=r"(v), "=a"(address), [info] "=&d"(info)),
                     ([p] "r"(p), "m"(*static_cast<const unsigned char(*)[sizeof(U)]>(p))), ())
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
// costs as much as the moves at these sizes, and so do a few instructions: with m = max(n, 32)
// the offsets are m - 32 and m / 2 - 16, so the asm takes m and m / 2 and folds the constants
// into its addresses (docs/benchmarks.md). SSE2 is part of x86-64; code built
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

// 65 <= n <= 128 in two overlapping 64-byte moves, as the zmm routine's V..2V class, where
// zmm state is allowed (see the top of this file), even in code not built for AVX-512.
// Registers zmm16-17 through EVEX moves, as that routine: outside the
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

// libmcsafe's mcsafe_copy goes further than a C++ call site (src/mcsafe_c.cpp): it is one
// function for every caller, so classes that would bloat each inlined mc_safe_copy cost it
// nothing, and they spare a C call the routine call. Where zmm state is allowed, as above:
// 33 <= n <= 64 in two 32-byte EVEX moves (ymm16-17, AVX512VL: no vzeroupper), 129..256 in
// four 64-byte moves and 257..512 in eight, the zmm routine's 2V..4V and 4V..8V classes (the
// first and the last 2V or 4V bytes, overlapping in the middle).
MCSAFE_ALWAYS_INLINE raw_result guarded_copy_33_64_ymm(void* dst, const void* src, std::size_t n) noexcept {
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((raw_result{0, 0}), MCSAFE_HEAD_TAIL_COPY("vmovdqu64", "%%ymm16", "%%ymm17", "-32"),
                     ("=a"(address), [info] "=&d"(info)), ([src] "r"(src), [dst] "r"(dst), [n] "r"(n)),
                     ("memory" MCSAFE_ZMM_CLOBBERS))
  return {address, info};
}
#if defined(__AVX512F__)
#define MCSAFE_ZMM_CLOBBERS_8 , "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23"
#else
#define MCSAFE_ZMM_CLOBBERS_8
#endif
#define MCSAFE_ZMM_MOVE(label, from, to) label ": vmovdqu64 " from ", " to "\n"
#define MCSAFE_ZMM_ENTRY(label) MCSAFE_EXTABLE_ENTRY(label, MCSAFE_RESUME)
MCSAFE_ALWAYS_INLINE raw_result guarded_copy_129_256_zmm(void* dst, const void* src, std::size_t n) noexcept {
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((raw_result{0, 0}),
                     MCSAFE_ZMM_MOVE(".Lmcsafe_v1_cz%=", "(%[src])", "%%zmm16")
                     MCSAFE_ZMM_MOVE("2", "64(%[src])", "%%zmm17")
                     MCSAFE_ZMM_MOVE("3", "-128(%[src],%[n])", "%%zmm18")
                     MCSAFE_ZMM_MOVE("4", "-64(%[src],%[n])", "%%zmm19")
                     MCSAFE_ZMM_MOVE("5", "%%zmm16", "(%[dst])")
                     MCSAFE_ZMM_MOVE("6", "%%zmm17", "64(%[dst])")
                     MCSAFE_ZMM_MOVE("7", "%%zmm18", "-128(%[dst],%[n])")
                     MCSAFE_ZMM_MOVE("8", "%%zmm19", "-64(%[dst],%[n])")
                     MCSAFE_EXTABLE_BEGIN(".Lmcsafe_v1_cz%=") MCSAFE_ZMM_ENTRY(".Lmcsafe_v1_cz%=")
                     MCSAFE_ZMM_ENTRY("2b") MCSAFE_ZMM_ENTRY("3b") MCSAFE_ZMM_ENTRY("4b") MCSAFE_ZMM_ENTRY("5b")
                     MCSAFE_ZMM_ENTRY("6b") MCSAFE_ZMM_ENTRY("7b") MCSAFE_ZMM_ENTRY("8b") MCSAFE_EXTABLE_END,
                     ("=a"(address), [info] "=&d"(info)), ([src] "r"(src), [dst] "r"(dst), [n] "r"(n)),
                     ("memory" MCSAFE_ZMM_CLOBBERS_8))
  return {address, info};
}
MCSAFE_ALWAYS_INLINE raw_result guarded_copy_257_512_zmm(void* dst, const void* src, std::size_t n) noexcept {
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((raw_result{0, 0}),
                     MCSAFE_ZMM_MOVE(".Lmcsafe_v1_cw%=", "(%[src])", "%%zmm16")
                     MCSAFE_ZMM_MOVE("2", "64(%[src])", "%%zmm17")
                     MCSAFE_ZMM_MOVE("3", "128(%[src])", "%%zmm18")
                     MCSAFE_ZMM_MOVE("4", "192(%[src])", "%%zmm19")
                     MCSAFE_ZMM_MOVE("5", "-256(%[src],%[n])", "%%zmm20")
                     MCSAFE_ZMM_MOVE("6", "-192(%[src],%[n])", "%%zmm21")
                     MCSAFE_ZMM_MOVE("7", "-128(%[src],%[n])", "%%zmm22")
                     MCSAFE_ZMM_MOVE("8", "-64(%[src],%[n])", "%%zmm23")
                     MCSAFE_ZMM_MOVE("9", "%%zmm16", "(%[dst])")
                     MCSAFE_ZMM_MOVE("10", "%%zmm17", "64(%[dst])")
                     MCSAFE_ZMM_MOVE("11", "%%zmm18", "128(%[dst])")
                     MCSAFE_ZMM_MOVE("12", "%%zmm19", "192(%[dst])")
                     MCSAFE_ZMM_MOVE("13", "%%zmm20", "-256(%[dst],%[n])")
                     MCSAFE_ZMM_MOVE("14", "%%zmm21", "-192(%[dst],%[n])")
                     MCSAFE_ZMM_MOVE("15", "%%zmm22", "-128(%[dst],%[n])")
                     MCSAFE_ZMM_MOVE("16", "%%zmm23", "-64(%[dst],%[n])")
                     MCSAFE_EXTABLE_BEGIN(".Lmcsafe_v1_cw%=") MCSAFE_ZMM_ENTRY(".Lmcsafe_v1_cw%=")
                     MCSAFE_ZMM_ENTRY("2b") MCSAFE_ZMM_ENTRY("3b") MCSAFE_ZMM_ENTRY("4b") MCSAFE_ZMM_ENTRY("5b")
                     MCSAFE_ZMM_ENTRY("6b") MCSAFE_ZMM_ENTRY("7b") MCSAFE_ZMM_ENTRY("8b") MCSAFE_ZMM_ENTRY("9b")
                     MCSAFE_ZMM_ENTRY("10b") MCSAFE_ZMM_ENTRY("11b") MCSAFE_ZMM_ENTRY("12b") MCSAFE_ZMM_ENTRY("13b")
                     MCSAFE_ZMM_ENTRY("14b") MCSAFE_ZMM_ENTRY("15b") MCSAFE_ZMM_ENTRY("16b") MCSAFE_EXTABLE_END,
                     ("=a"(address), [info] "=&d"(info)), ([src] "r"(src), [dst] "r"(dst), [n] "r"(n)),
                     ("memory" MCSAFE_ZMM_CLOBBERS_8))
  return {address, info};
}
#undef MCSAFE_ZMM_ENTRY
#undef MCSAFE_ZMM_MOVE
#undef MCSAFE_ZMM_CLOBBERS_8
#undef MCSAFE_ZMM_CLOBBERS
#undef MCSAFE_HEAD_TAIL_COPY

struct guarded_store_result {
  std::uintptr_t address;  // si_addr on a fault
  std::uintptr_t info;     // 0, or the packed signo/si_code/lsb
};

// One guarded store of an unsigned integer type U (1, 2, 4 or 8 bytes). The same contract as
// guarded_load: only the faulting `mov` is skipped. A store that faults has written nothing
// that this reports as written: the caller re-copies the bytes below the fault to make its
// count exact (copy.hpp). The bytes it writes are a "+m" operand, for the same reason as the
// load's "m": read and written, so no earlier store to them is dropped as overwritten (a
// faulting store writes nothing).
template <class U>
MCSAFE_ALWAYS_INLINE guarded_store_result guarded_store(void* p, U v) noexcept {
  std::uintptr_t address, info;
  MCSAFE_GUARDED_ASM((guarded_store_result{0, 0}),
                     ".Lmcsafe_v1_st%=: mov %[v], (%[p])\n" MCSAFE_EXTABLE_BEGIN(".Lmcsafe_v1_st%=")
                         MCSAFE_EXTABLE_ENTRY(".Lmcsafe_v1_st%=", MCSAFE_RESUME) MCSAFE_EXTABLE_END,
                     ("=a"(address), [info] "=&d"(info), "+m"(*static_cast<unsigned char(*)[sizeof(U)]>(p))),
                     ([p] "r"(p), [v] "r"(v)), ())
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
