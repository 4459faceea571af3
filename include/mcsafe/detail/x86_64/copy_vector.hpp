// mcsafe/detail/x86_64/copy_vector.hpp - the `vector` backend: AVX2 size classes + rep movsb.
//
// raw_result mcsafe_v1_copy_vector(void* dst /*rdi*/, const void* src /*rsi*/, size_t n /*rdx*/)
// Same contract as detail/routine.hpp. Size classes, as in glibc's memmove-vec-unaligned-erms:
//   0..15     two overlapping scalar moves (8+8, 4+4, 2+2) or one byte; no vector state touched
//   16..32    two overlapping 16-byte moves
//   33..64    two overlapping 32-byte moves
//   65..128   four overlapping 32-byte moves
//   129..256  eight overlapping 32-byte moves (the four of 65..128 plus four more)
//   257..R    the last 128 bytes and the first 32 are loaded first, then a loop of 4x32 bytes
//             with 32-byte aligned stores, then the saved head and tail are stored
//   > R       rep movsb
// R is the 64-bit variable mcsafe_v1_copy_vector_rep_above, set once from CPUID before the
// routine is first published (dispatch.hpp, set_vector_rep_above()): rep movsb overtook the
// loop from 4 KiB on the Intel machine we measured and only from 32 MiB on the AMD one.
// All loads happen before the stores of the same class, so the routine may report a fault at
// the end of the range before anything is stored: copy.hpp re-copies [0, fault offset) to make
// `copied` exact. Every access stays inside [src, src+n) and [dst, dst+n).
// The fixup runs vzeroupper (ymm registers may be live) and returns.
#pragma once
#include "../routine.hpp"
#include "asm_section.hpp"

asm(MCSAFE_X86_ROUTINE_BEGIN(mcsafe_v1_copy_vector)
    "    cmpq $32, %rdx\n"
    "    ja .Lmcv_over32\n"
    "    cmpq $16, %rdx\n"
    "    jae .Lmcv_16_32\n"
    "    cmpq $8, %rdx\n"
    "    jae .Lmcv_8_15\n"
    "    cmpq $4, %rdx\n"
    "    jae .Lmcv_4_7\n"
    "    cmpq $1, %rdx\n"
    "    ja .Lmcv_2_3\n"
    "    jb .Lmcv_done_scalar\n"
    "    movzbl (%rsi), %ecx\n"
    "    movb %cl, (%rdi)\n"
    "    jmp .Lmcv_done_scalar\n"
    ".Lmcv_2_3:\n"
    "    movzwl (%rsi), %ecx\n"
    "    movzwl -2(%rsi,%rdx), %r8d\n"
    "    movw %cx, (%rdi)\n"
    "    movw %r8w, -2(%rdi,%rdx)\n"
    "    jmp .Lmcv_done_scalar\n"
    ".Lmcv_4_7:\n"
    "    movl (%rsi), %ecx\n"
    "    movl -4(%rsi,%rdx), %r8d\n"
    "    movl %ecx, (%rdi)\n"
    "    movl %r8d, -4(%rdi,%rdx)\n"
    "    jmp .Lmcv_done_scalar\n"
    ".Lmcv_8_15:\n"
    "    movq (%rsi), %rcx\n"
    "    movq -8(%rsi,%rdx), %r8\n"
    "    movq %rcx, (%rdi)\n"
    "    movq %r8, -8(%rdi,%rdx)\n"
    ".Lmcv_done_scalar:\n"
    "    xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    ".Lmcv_16_32:\n"
    "    vmovdqu (%rsi), %xmm0\n"
    "    vmovdqu -16(%rsi,%rdx), %xmm1\n"
    "    vmovdqu %xmm0, (%rdi)\n"
    "    vmovdqu %xmm1, -16(%rdi,%rdx)\n"
    "    jmp .Lmcv_done\n"
    // Each class up to 256 B ends in its own return: a jump to a shared one was the only
    // taken branch left on the 129..256 path, which lagged glibc by 7% at 256 B.
    ".Lmcv_over32:\n"
    "    cmpq $64, %rdx\n"
    "    ja .Lmcv_over64\n"
    "    vmovdqu (%rsi), %ymm0\n"
    "    vmovdqu -32(%rsi,%rdx), %ymm1\n"
    "    vmovdqu %ymm0, (%rdi)\n"
    "    vmovdqu %ymm1, -32(%rdi,%rdx)\n"
    "    vzeroupper\n"
    "    xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    ".Lmcv_over64:\n"
    "    cmpq $256, %rdx\n"
    "    ja .Lmcv_over256\n"
    "    vmovdqu (%rsi), %ymm0\n"
    "    vmovdqu 32(%rsi), %ymm1\n"
    "    vmovdqu -64(%rsi,%rdx), %ymm2\n"
    "    vmovdqu -32(%rsi,%rdx), %ymm3\n"
    "    cmpq $128, %rdx\n"
    "    jbe .Lmcv_store4\n"
    "    vmovdqu 64(%rsi), %ymm4\n"
    "    vmovdqu 96(%rsi), %ymm5\n"
    "    vmovdqu -128(%rsi,%rdx), %ymm6\n"
    "    vmovdqu -96(%rsi,%rdx), %ymm7\n"
    "    vmovdqu %ymm4, 64(%rdi)\n"
    "    vmovdqu %ymm5, 96(%rdi)\n"
    "    vmovdqu %ymm6, -128(%rdi,%rdx)\n"
    "    vmovdqu %ymm7, -96(%rdi,%rdx)\n"
    ".Lmcv_store4:\n"
    "    vmovdqu %ymm0, (%rdi)\n"
    "    vmovdqu %ymm1, 32(%rdi)\n"
    "    vmovdqu %ymm2, -64(%rdi,%rdx)\n"
    "    vmovdqu %ymm3, -32(%rdi,%rdx)\n"
    "    vzeroupper\n"
    "    xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    ".Lmcv_over256:\n"
    "    cmpq mcsafe_v1_copy_vector_rep_above(%rip), %rdx\n"
    "    ja .Lmcv_rep\n"
    "    vmovdqu (%rsi), %ymm0\n"               // head: stored last, covers the alignment skip
    "    vmovdqu -128(%rsi,%rdx), %ymm4\n"      // tail: the last 128 bytes
    "    vmovdqu -96(%rsi,%rdx), %ymm5\n"
    "    vmovdqu -64(%rsi,%rdx), %ymm6\n"
    "    vmovdqu -32(%rsi,%rdx), %ymm7\n"
    "    movq %rdi, %r11\n"                     // r11 = dst
    "    leaq -128(%rdi,%rdx), %r9\n"           // r9 = where the tail is stored
    "    movl %edi, %ecx\n"
    "    andl $31, %ecx\n"
    "    negq %rcx\n"
    "    addq $32, %rcx\n"                      // rcx = 32 - dst % 32, in 1..32
    "    addq %rcx, %rdi\n"
    "    addq %rcx, %rsi\n"
    ".Lmcv_loop:\n"                             // 128 bytes per turn, aligned stores
    "    vmovdqu (%rsi), %ymm1\n"
    "    vmovdqu 32(%rsi), %ymm2\n"
    "    vmovdqu 64(%rsi), %ymm3\n"
    "    vmovdqu 96(%rsi), %ymm8\n"
    "    vmovdqa %ymm1, (%rdi)\n"
    "    vmovdqa %ymm2, 32(%rdi)\n"
    "    vmovdqa %ymm3, 64(%rdi)\n"
    "    vmovdqa %ymm8, 96(%rdi)\n"
    "    subq $-128, %rsi\n"
    "    subq $-128, %rdi\n"
    "    cmpq %r9, %rdi\n"
    "    jb .Lmcv_loop\n"
    "    vmovdqu %ymm4, (%r9)\n"
    "    vmovdqu %ymm5, 32(%r9)\n"
    "    vmovdqu %ymm6, 64(%r9)\n"
    "    vmovdqu %ymm7, 96(%r9)\n"
    "    vmovdqu %ymm0, (%r11)\n"
    ".Lmcv_done:\n"
    "    vzeroupper\n"
    "    xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    ".Lmcv_rep:\n"
    "    movq %rdx, %rcx\n"
    "    rep movsb\n"
    "    xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    "mcsafe_v1_copy_vector_fixup:\n"
    "    vzeroupper\n"
    "    ret\n"
    MCSAFE_X86_ROUTINE_END(mcsafe_v1_copy_vector)
    // The threshold, with the routine's once-per-input guard: hidden and weak in a COMDAT
    // data section, so each executable or DSO has exactly one, next to its own routine.
    ".ifndef mcsafe_v1_copy_vector_rep_above\n"
    ".pushsection .data.mcsafe_v1_copy_vector_rep_above,\"awG\",@progbits,mcsafe_v1_copy_vector_rep_above,comdat\n"
    ".p2align 3\n"
    ".weak mcsafe_v1_copy_vector_rep_above\n.hidden mcsafe_v1_copy_vector_rep_above\n"
    ".type mcsafe_v1_copy_vector_rep_above,@object\n.size mcsafe_v1_copy_vector_rep_above,8\n"
    "mcsafe_v1_copy_vector_rep_above:\n"
    "    .quad 2048\n"
    ".popsection\n"
    ".endif\n");

MCSAFE_DECLARE_ROUTINE(mcsafe_v1_copy_vector, void*, const void*, std::size_t);
// Written only by set_vector_rep_above() (dispatch.hpp); read by the routine above.
extern "C" MCSAFE_HIDDEN std::size_t mcsafe_v1_copy_vector_rep_above;
