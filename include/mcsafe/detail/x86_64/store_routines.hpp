// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/x86_64/store_routines.hpp - the guarded whole-line store routines for x86-64.
//
// Signature of each: raw_result f(void* dst /*rdi*/, const void* src /*rsi*/, size_t n /*rdx*/),
// where dst is 64-byte aligned and n is a multiple of 64 (the low six bits are ignored); src
// may have any alignment (unaligned loads). Contract (see detail/routine_abi.hpp): {0,0} when all
// n bytes were stored; on a fault the handler resumes at <name>_fixup with rax = si_addr and
// rdx = packed signo/si_code/lsb, and the routine returns that pair.
//
// Every routine moves one line at a time, in order: it loads line i, stores line i, then goes
// on to line i+1. So when a fault hits at address p of either buffer, every whole line below
// the line holding p has been stored, and no line above it has been touched. A destination
// fault always hits the first store of a line (a 64-byte-aligned line never spans two pages).
// A source fault leaves the line in flight unstored, except with portable, which moves it in
// two halves. The non-temporal routines end with sfence, on the fixup path too, so the lines
// that were stored are globally visible, in order, when the routine returns.
#pragma once
// The asm below is laid out by hand, one instruction per line: not for clang-format.
// clang-format off
#include "../routine_abi.hpp"
#include "../asm_section.hpp"

// movdir64b: MOVDIR64B (66 0F 38 F8 /r: reg = destination address, r/m = 64-byte source) is
// one 64-byte direct store with guaranteed 64-byte write atomicity that never reads the
// destination line (no read-for-ownership), so a poisoned line is replaced, not consumed.
// Encoded as bytes with ModRM 0x02: destination address in rax, source in [rdx]. Weakly
// ordered like a non-temporal store, hence the sfence.
asm(MCSAFE_ROUTINE_BEGIN(mcsafe_v1_store_movdir64b)
    "    movq %rdx, %rcx\n"
    "    shrq $6, %rcx\n"                    // rcx = lines
    "    jz 2f\n"
    "    movq %rdi, %rax\n"
    "    movq %rsi, %rdx\n"
    "1:  .byte 0x66,0x0f,0x38,0xf8,0x02\n"  // movdir64b (%rdx), %rax
    "    addq $64, %rax\n"
    "    addq $64, %rdx\n"
    "    decq %rcx\n"
    "    jnz 1b\n"
    "2:  sfence\n"
    "    xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    "mcsafe_v1_store_movdir64b_fixup:\n"
    "    sfence\n"
    "    ret\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_store_movdir64b));

// avx512_nt: one 64-byte non-temporal store (vmovntdq zmm) per line: no read-for-ownership,
// not architecturally atomic. Four lines per iteration while at least four remain, each
// loaded and stored before the next one is loaded.
asm(MCSAFE_ROUTINE_BEGIN(mcsafe_v1_store_avx512_nt)
    "    movq %rdx, %rcx\n"
    "    shrq $8, %rcx\n"                    // rcx = groups of four lines
    "    andl $0xc0, %edx\n"                 // rdx = bytes in the last 0..3 lines
    "    testq %rcx, %rcx\n"
    "    jz 3f\n"
    "1:  vmovdqu64 (%rsi), %zmm0\n"
    "    vmovntdq %zmm0, (%rdi)\n"
    "    vmovdqu64 64(%rsi), %zmm1\n"
    "    vmovntdq %zmm1, 64(%rdi)\n"
    "    vmovdqu64 128(%rsi), %zmm2\n"
    "    vmovntdq %zmm2, 128(%rdi)\n"
    "    vmovdqu64 192(%rsi), %zmm3\n"
    "    vmovntdq %zmm3, 192(%rdi)\n"
    "    addq $256, %rsi\n"
    "    addq $256, %rdi\n"
    "    decq %rcx\n"
    "    jnz 1b\n"
    "3:  testl %edx, %edx\n"
    "    jz 5f\n"
    "4:  vmovdqu64 (%rsi), %zmm0\n"
    "    vmovntdq %zmm0, (%rdi)\n"
    "    addq $64, %rsi\n"
    "    addq $64, %rdi\n"
    "    subl $64, %edx\n"
    "    jnz 4b\n"
    "5:  sfence\n"
    "    vzeroupper\n"
    "    xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    "mcsafe_v1_store_avx512_nt_fixup:\n"
    "    sfence\n"
    "    vzeroupper\n"
    "    ret\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_store_avx512_nt));

// sse2_nt: four 16-byte non-temporal stores (movntdq) per line, after loading all four parts.
// The four stores fill one write-combining buffer, which then goes out as a full line.
asm(MCSAFE_ROUTINE_BEGIN(mcsafe_v1_store_sse2_nt)
    "    shrq $6, %rdx\n"                    // rdx = lines
    "    jz 2f\n"
    "1:  movdqu (%rsi), %xmm0\n"
    "    movdqu 16(%rsi), %xmm1\n"
    "    movdqu 32(%rsi), %xmm2\n"
    "    movdqu 48(%rsi), %xmm3\n"
    "    movntdq %xmm0, (%rdi)\n"
    "    movntdq %xmm1, 16(%rdi)\n"
    "    movntdq %xmm2, 32(%rdi)\n"
    "    movntdq %xmm3, 48(%rdi)\n"
    "    addq $64, %rsi\n"
    "    addq $64, %rdi\n"
    "    decq %rdx\n"
    "    jnz 1b\n"
    "2:  sfence\n"
    "    xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    "mcsafe_v1_store_sse2_nt_fixup:\n"
    "    sfence\n"
    "    ret\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_store_sse2_nt));

// portable: plain 8-byte stores, two halves of four per line. Reads the destination line into
// the cache first (read-for-ownership), so it does not replace a poisoned line: the fallback
// for correctness and for comparison, never the choice where a vector method exists.
asm(MCSAFE_ROUTINE_BEGIN(mcsafe_v1_store_portable)
    "    shrq $6, %rdx\n"                    // rdx = lines
    "    jz 2f\n"
    "1:  movq (%rsi), %rax\n"
    "    movq 8(%rsi), %rcx\n"
    "    movq 16(%rsi), %r8\n"
    "    movq 24(%rsi), %r9\n"
    "    movq %rax, (%rdi)\n"
    "    movq %rcx, 8(%rdi)\n"
    "    movq %r8, 16(%rdi)\n"
    "    movq %r9, 24(%rdi)\n"
    "    movq 32(%rsi), %rax\n"
    "    movq 40(%rsi), %rcx\n"
    "    movq 48(%rsi), %r8\n"
    "    movq 56(%rsi), %r9\n"
    "    movq %rax, 32(%rdi)\n"
    "    movq %rcx, 40(%rdi)\n"
    "    movq %r8, 48(%rdi)\n"
    "    movq %r9, 56(%rdi)\n"
    "    addq $64, %rsi\n"
    "    addq $64, %rdi\n"
    "    decq %rdx\n"
    "    jnz 1b\n"
    "2:  xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    "mcsafe_v1_store_portable_fixup:\n"
    "    ret\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_store_portable));

MCSAFE_DECLARE_ROUTINE(mcsafe_v1_store_movdir64b, void*, const void*, std::size_t);
MCSAFE_DECLARE_ROUTINE(mcsafe_v1_store_avx512_nt, void*, const void*, std::size_t);
MCSAFE_DECLARE_ROUTINE(mcsafe_v1_store_sse2_nt, void*, const void*, std::size_t);
MCSAFE_DECLARE_ROUTINE(mcsafe_v1_store_portable, void*, const void*, std::size_t);
