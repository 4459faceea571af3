// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/x86_64/copy_routines.hpp - the scalar guarded copy routines for x86-64.
//
// Signature of each: raw_result f(void* dst /*rdi*/, const void* src /*rsi*/, size_t n /*rdx*/).
// Contract (see detail/routine_abi.hpp): {0,0} when all n bytes were copied; on a fault the handler
// resumes at <name>_fixup with rax = si_addr and rdx = packed signo/si_code/lsb, and the routine
// returns that pair. What is known to be copied when a fault hits at address p on one side:
// every byte below p on that side, minus the bytes of the access in flight (up to 8 bytes for
// fragile, 1 for generic, and for rep movsb whatever the microcode had buffered). The C++ side
// (copy.hpp) therefore re-copies [0, offset of p) before it reports `copied`.
#pragma once
// The asm below is laid out by hand, one instruction per line: not for clang-format.
// clang-format off
#include "../routine_abi.hpp"
#include "../asm_section.hpp"

// rep_movsb: the kernel's copy_mc_enhanced_fast_string. Fast with ERMS/FSRM; one instruction,
// so a fault leaves rcx = bytes not moved, which we do not need: si_addr is exact.
asm(MCSAFE_ROUTINE_BEGIN(mcsafe_v1_copy_rep_movsb)
    "    movq %rdx, %rcx\n"
    "    rep movsb\n"
    "    xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    "mcsafe_v1_copy_rep_movsb_fixup:\n"
    "    ret\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_copy_rep_movsb));

// fragile: like the kernel's copy_mc_fragile. Byte moves until the source is 8-byte aligned,
// then aligned 8-byte loads (a load never spans two cachelines, so a poisoned line is touched
// by exactly one load), then a byte tail.
asm(MCSAFE_ROUTINE_BEGIN(mcsafe_v1_copy_fragile)
    "    cmpq $8, %rdx\n"
    "    jb 3f\n"                       // short: bytes only
    "    movl %esi, %ecx\n"
    "    negl %ecx\n"
    "    andl $7, %ecx\n"               // ecx = bytes until src is 8-aligned
    "    jz 2f\n"
    "    subq %rcx, %rdx\n"
    "1:  movb (%rsi), %al\n"
    "    movb %al, (%rdi)\n"
    "    incq %rsi\n"
    "    incq %rdi\n"
    "    decl %ecx\n"
    "    jnz 1b\n"
    "2:  movq %rdx, %rcx\n"
    "    shrq $3, %rcx\n"               // rcx = whole words
    "    andl $7, %edx\n"               // rdx = tail bytes
    "    testq %rcx, %rcx\n"
    "    jz 3f\n"
    "4:  movq (%rsi), %r8\n"
    "    movq %r8, (%rdi)\n"
    "    addq $8, %rsi\n"
    "    addq $8, %rdi\n"
    "    decq %rcx\n"
    "    jnz 4b\n"
    "3:  testq %rdx, %rdx\n"
    "    jz 6f\n"
    "5:  movb (%rsi), %al\n"
    "    movb %al, (%rdi)\n"
    "    incq %rsi\n"
    "    incq %rdi\n"
    "    decq %rdx\n"
    "    jnz 5b\n"
    "6:  xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    "mcsafe_v1_copy_fragile_fixup:\n"
    "    ret\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_copy_fragile));

// generic: one byte at a time, forward. The reference routine: simplest to audit, and its
// "copied" needs no correction at all.
asm(MCSAFE_ROUTINE_BEGIN(mcsafe_v1_copy_generic)
    "    testq %rdx, %rdx\n"
    "    jz 2f\n"
    "1:  movb (%rsi), %al\n"
    "    movb %al, (%rdi)\n"
    "    incq %rsi\n"
    "    incq %rdi\n"
    "    decq %rdx\n"
    "    jnz 1b\n"
    "2:  xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    "mcsafe_v1_copy_generic_fixup:\n"
    "    ret\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_copy_generic));

MCSAFE_DECLARE_ROUTINE(mcsafe_v1_copy_rep_movsb, void*, const void*, std::size_t);
MCSAFE_DECLARE_ROUTINE(mcsafe_v1_copy_fragile, void*, const void*, std::size_t);
MCSAFE_DECLARE_ROUTINE(mcsafe_v1_copy_generic, void*, const void*, std::size_t);
