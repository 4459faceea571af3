// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/x86_64/copy_vector.hpp - the `vector` backends: size classes + rep movsb, in
// AVX2 (ymm, `vector`), AVX-512 (zmm, `vector_avx512`) and SSE2 (xmm, `vector_sse2`) from one body.
//
// raw_result <routine>(void* dst /*rdi*/, const void* src /*rsi*/, size_t n /*rdx*/)
// Same contract as detail/routine_abi.hpp. One GAS macro writes the three routines; V is the vector
// width (32 for AVX2, 64 for AVX-512, 16 for SSE2). Size classes, as in glibc's
// memmove-vec-unaligned-erms, in the order they are tested:
//   2V+1..4V                four overlapping V-byte moves: falls through from the entry's two
//                           compares, no taken branch. mc_safe_copy runs up to 64 bytes inline
//                           (128 where this is the zmm routine), so a call is mostly for more
//                           than 2V, and these are its smallest sizes
//   V..2V                   two overlapping V-byte moves, after one taken branch
//   0..15 (0..V-1 for SSE2) two overlapping scalar moves (8+8, 4+4, 2+2) or one byte
//   16..32, below V (V > 16) two overlapping 16-byte moves
//   33..63 (V = 64)         two overlapping 32-byte moves
//   4V+1..8V                eight overlapping V-byte moves, four from each end, after one taken
//                           branch; in zmm, above 6V to a destination off a line, the loop
//                           below instead where the source sits at the destination's offset in
//                           a line or the range crosses a page (on the Zen 5 1.08-1.17x and
//                           1.5-2.7x memcpy there, the eight moves 0.95-0.97x and 0.94-1.23x)
//   8V+1..16V, up to R (in zmm: whatever R, tested before it), to a V-aligned destination:
//                           overlapping moves, half from each end: ten up to 10V, twelve up
//                           to 12V, sixteen above (zmm16-31, ymm0-15, xmm0-15; each store
//                           costs, and sixteen of them at 8V+8 read 0.50-0.61x memcpy on the
//                           Zen 5 in zmm, ten 0.75-0.90x; on the Zen 5 the loop below
//                           read 0.91x memcpy at 1 KiB in zmm, 0.84x at 512 B in ymm, these
//                           1.02-1.06x and 0.97x; to a destination off a line, sixteen split
//                           stores lose to the loop's aligned ones: docs/benchmarks.md). In
//                           zmm also to a destination off a line from a 64-byte-aligned source,
//                           where the range crosses no page: there the loop's loads split lines
//                           and the moves' do not (on the Zen 5 0.90x -> 1.05-1.09x)
//   28V+1..32V (V < 64), up to R, to a V-aligned destination: the same sixteen moves over
//                           the first 16V bytes, then over the last 16V (on the Zen 5 the ymm
//                           loop read 0.83-0.87x at 1 KiB, these 0.95-0.97x; in zmm, 2 KiB
//                           gained less than lengths mixed over 256 B-4 KiB lost: not there).
//                           Not from 16V+1: thirty-two stores for 16V+8 bytes read 0.52-0.65x
//                           memcpy on the Zen 3 at 520 B in ymm, the loop 0.92-1.05x, and the
//                           loop led up to 28V (docs/benchmarks.md)
//   8V+1..R                 the first V bytes, the last V and the 3V below the last V-aligned
//                           destination address short of the end are loaded first (so tail and
//                           end are four distinct vectors), then a loop of 4xV bytes
//                           with V-aligned stores, then the saved 3V (aligned), head and end
//                           are stored; where the head or the end store would cross a page
//                           (tens of cycles on the Zen 4), the bytes on its near side of the
//                           page are moved in pieces that stay in one page instead
//   R+1..U                  rep movsb, but the loop where (dst - src) & K is not 0, and where
//                           (dst - src) mod 4096 is 1..127 (in the ymm and xmm routines a loop
//                           that loads each 4V block before storing the one below it)
//   U+1..A                  the loop again (the same order where (dst - src) mod 4096 is 1..127)
//   > A                     rep movsb again, as from R+1
// The zmm routine first hands sizes above Y (and above 8V) to the ymm routine, whose classes
// from 8V+1 on are the same with 32-byte moves: on AMD before Zen 5 its 64-byte loads, each of
// which splits a line when the source is not 64-byte aligned relative to the destination, lose
// to 32-byte ones (docs/benchmarks.md).
// R, U, A, Y and K are the five words of mcsafe_v1_copy_vector_rep_band, shared by the routines and
// set for the chosen one before it is published (detail/copy_state.hpp; each backend's rule is
// in dispatch.hpp); U is ~0 (no upper bound) except where the loop beats rep movsb above some
// size, A is ~0 except where rep movsb wins again above a larger one; Y is 512 and K 63 on AMD
// before Zen 5, ~0 and 0 elsewhere (no hand-over; rep movsb at any skew between source and
// destination).
// Up to 16V every load of a class happens before its stores, and the loop loads the end of
// the range before its first store, so a routine may report a fault far into the range before
// the bytes below it are stored: copy.hpp re-copies [0, fault offset) with a forward routine to
// make `copied` exact. Every access stays inside [src, src+n) and [dst, dst+n).
// Registers: the AVX2 routine uses ymm0-15 (the SSE2 one xmm0-15) and runs vzeroupper before
// every return that follows a ymm move (and in its fixup). The AVX-512 routine uses only zmm/ymm/xmm16-31 through EVEX
// encodings (vmovdqu64/vmovdqa64; AVX512F + AVX512VL), as glibc's avx512 memmove does: the
// registers 16-31 are outside the state that makes SSE code pay for dirty upper halves, so it
// needs no vzeroupper at all. Every class up to 8V returns on its own and has at most one taken
// branch before it (no jump to a shared return): at these sizes a taken branch costs as much
// as the moves (docs/benchmarks.md). Macro arguments: smov is the 16/32-byte
// move, vzu whether returns run vzeroupper, hi the register bank ("" or "2" for 20-28), handoff
// the routine that takes sizes above Y (none but for the zmm routine).
#pragma once
// The asm below is laid out by hand, one instruction per line: not for clang-format.
// clang-format off
#include "../routine_abi.hpp"
#include "../asm_section.hpp"

// The macros are defined and purged within this one asm() so that a unit holding it twice
// (-flto pastes every unit's top-level asm together) never redefines them.
asm(".macro mcsafe_v1_vector_ret vzu\n"  // success: rax = rdx = 0; with vzu, upper halves cleared
    ".if \\vzu\n"
    "    vzeroupper\n"
    ".endif\n"
    "    xorl %eax, %eax\n"
    "    xorl %edx, %edx\n"
    "    ret\n"
    ".endm\n"
    ".macro mcsafe_v1_vector_loop_setup vec, movu, reg, hi\n"  // loads and registers both loops start from
    "    \\movu (%rsi), %\\reg\\hi\\()0\n"                 // head: stored last, covers the alignment skip
    "    \\movu -\\vec(%rsi,%rdx), %\\reg\\hi\\()7\n"    // end: the last V bytes
    "    leaq -1(%rdi,%rdx), %r9\n"
    "    andq $-\\vec, %r9\n"
    "    subq %rdi, %r9\n"                                  // r9 = A - dst, A = (dst end - 1) rounded down to V
    "    \\movu -3*\\vec(%rsi,%r9), %\\reg\\hi\\()4\n"   // tail: the 3V bytes below A
    "    \\movu -2*\\vec(%rsi,%r9), %\\reg\\hi\\()5\n"
    "    \\movu -\\vec(%rsi,%r9), %\\reg\\hi\\()6\n"
    "    movq %rdi, %r11\n"                                 // r11 = dst
    "    leaq -3*\\vec(%rdi,%r9), %r9\n"                  // r9 = A - 3V: the loop stops there
    "    movl %edi, %ecx\n"
    "    andl $\\vec-1, %ecx\n"
    "    negq %rcx\n"
    "    addq $\\vec, %rcx\n"                              // rcx = V - dst % V, in 1..V
    "    addq %rcx, %rdi\n"
    "    addq %rcx, %rsi\n"
    ".endm\n"
    // One block of 4V: loaded from off(%rsi) into four registers, stored aligned to (%rdi).
    ".macro mcsafe_v1_vector_block_load movu, vec, reg, hi, off, a, b, c, d\n"
    "    \\movu \\off(%rsi), %\\reg\\hi\\()\\a\n"
    "    \\movu \\off+\\vec(%rsi), %\\reg\\hi\\()\\b\n"
    "    \\movu \\off+2*\\vec(%rsi), %\\reg\\hi\\()\\c\n"
    "    \\movu \\off+3*\\vec(%rsi), %\\reg\\hi\\()\\d\n"
    ".endm\n"
    ".macro mcsafe_v1_vector_block_store mova, vec, reg, hi, a, b, c, d\n"
    "    \\mova %\\reg\\hi\\()\\a, (%rdi)\n"
    "    \\mova %\\reg\\hi\\()\\b, \\vec(%rdi)\n"
    "    \\mova %\\reg\\hi\\()\\c, 2*\\vec(%rdi)\n"
    "    \\mova %\\reg\\hi\\()\\d, 3*\\vec(%rdi)\n"
    ".endm\n"
    // Every size class: overlapping moves of w bytes from both ends of [0, size). The first n
    // registers in regs (all of them where n is 0; an even number) are all loaded, then stored:
    // the first half at w-byte steps from the start (stored with first_store, an aligned move
    // where the destination is known to be), the second half ending at size. src, size and dst
    // name the registers that hold them. Its two counters are .set symbols, which any later
    // expansion (or a second copy of this asm in one unit) may set again. mcsafe_v1_vector_ends
    // takes all of regs.
    ".macro mcsafe_v1_vector_ends_of n, load, first_store, store, w, src, size, dst, regs:vararg\n"
    ".set .Lmcsafe_v1_ends_count, 0\n"
    ".irp r, \\regs\n"
    ".set .Lmcsafe_v1_ends_count, .Lmcsafe_v1_ends_count + 1\n"
    ".endr\n"
    ".if \\n\n"
    ".set .Lmcsafe_v1_ends_count, \\n\n"
    ".endif\n"
    ".set .Lmcsafe_v1_ends_i, 0\n"
    ".irp r, \\regs\n"
    ".if .Lmcsafe_v1_ends_i < .Lmcsafe_v1_ends_count / 2\n"
    "    \\load .Lmcsafe_v1_ends_i*\\w(\\src), \\r\n"
    ".elseif .Lmcsafe_v1_ends_i < .Lmcsafe_v1_ends_count\n"
    "    \\load (.Lmcsafe_v1_ends_i-.Lmcsafe_v1_ends_count)*\\w(\\src,\\size), \\r\n"
    ".endif\n"
    ".set .Lmcsafe_v1_ends_i, .Lmcsafe_v1_ends_i + 1\n"
    ".endr\n"
    ".set .Lmcsafe_v1_ends_i, 0\n"
    ".irp r, \\regs\n"
    ".if .Lmcsafe_v1_ends_i < .Lmcsafe_v1_ends_count / 2\n"
    "    \\first_store \\r, .Lmcsafe_v1_ends_i*\\w(\\dst)\n"
    ".elseif .Lmcsafe_v1_ends_i < .Lmcsafe_v1_ends_count\n"
    "    \\store \\r, (.Lmcsafe_v1_ends_i-.Lmcsafe_v1_ends_count)*\\w(\\dst,\\size)\n"
    ".endif\n"
    ".set .Lmcsafe_v1_ends_i, .Lmcsafe_v1_ends_i + 1\n"
    ".endr\n"
    ".endm\n"
    ".macro mcsafe_v1_vector_ends load, first_store, store, w, src, size, dst, regs:vararg\n"
    "    mcsafe_v1_vector_ends_of 0, \\load, \\first_store, \\store, \\w, \\src, \\size, \\dst, \\regs\n"
    ".endm\n"
    // count (10, 12 or 16) moves of V bytes, half from each end, in the first count registers of
    // the bank each routine has sixteen of (zmm16-31; ymm0-15, xmm0-15).
    ".macro mcsafe_v1_vector_bank_moves count, vec, movu, first_store, reg\n"
    ".if \\vec == 64\n"
    "    mcsafe_v1_vector_ends_of \\count, \\movu, \\first_store, \\movu, \\vec, %rsi, %rdx, %rdi,"
    " %\\reg\\()16, %\\reg\\()17, %\\reg\\()18, %\\reg\\()19, %\\reg\\()20, %\\reg\\()21, %\\reg\\()22, %\\reg\\()23,"
    " %\\reg\\()24, %\\reg\\()25, %\\reg\\()26, %\\reg\\()27, %\\reg\\()28, %\\reg\\()29, %\\reg\\()30, %\\reg\\()31\n"
    ".else\n"
    "    mcsafe_v1_vector_ends_of \\count, \\movu, \\first_store, \\movu, \\vec, %rsi, %rdx, %rdi,"
    " %\\reg\\()0, %\\reg\\()1, %\\reg\\()2, %\\reg\\()3, %\\reg\\()4, %\\reg\\()5, %\\reg\\()6, %\\reg\\()7,"
    " %\\reg\\()8, %\\reg\\()9, %\\reg\\()10, %\\reg\\()11, %\\reg\\()12, %\\reg\\()13, %\\reg\\()14, %\\reg\\()15\n"
    ".endif\n"
    ".endm\n"
    // 8V+1..16V (the size known to be in it): sixteen moves above 12V, else ten or twelve, out of
    // line so the sixteen keep the fall-through; label names the smaller classes.
    ".macro mcsafe_v1_vector_upto_16v label, vec, movu, first_store, reg, vzu\n"
    "    cmpq $12*\\vec, %rdx\n"
    "    jbe \\label\n"
    "    mcsafe_v1_vector_bank_moves 16, \\vec, \\movu, \\first_store, \\reg\n"
    "    mcsafe_v1_vector_ret \\vzu\n"
    "\\label\\():\n"
    "    cmpq $10*\\vec, %rdx\n"
    "    ja \\label\\()_twelve\n"
    "    mcsafe_v1_vector_bank_moves 10, \\vec, \\movu, \\first_store, \\reg\n"
    "    mcsafe_v1_vector_ret \\vzu\n"
    "\\label\\()_twelve:\n"
    "    mcsafe_v1_vector_bank_moves 12, \\vec, \\movu, \\first_store, \\reg\n"
    "    mcsafe_v1_vector_ret \\vzu\n"
    ".endm\n"
    // Jumps to target where [dst, dst + size) crosses a page (size at most a page).
    ".macro mcsafe_v1_vector_crosses_page target\n"
    "    movl %edi, %ecx\n"
    "    andl $4095, %ecx\n"
    "    addl %edx, %ecx\n"
    "    cmpl $4096, %ecx\n"
    "    ja \\target\n"
    ".endm\n"
    // The classes for 8V+1..16V (and 28V+1..32V where V < 64) once the size is known to be in
    // them: to a V-aligned destination, and in zmm from a line-aligned source where the range
    // crosses no page; else the loop.
    ".macro mcsafe_v1_vector_aligned_classes name, vec, movu, mova, reg, vzu\n"
    "    testl $\\vec-1, %edi\n"
".if \\vec < 64\n"
    "    jnz .L\\name\\()_loop_setup\n"
    "    cmpq $16*\\vec, %rdx\n"
    "    ja .L\\name\\()_upto_32v\n"
".else\n"
    "    jnz .L\\name\\()_16v_off_line\n"
".endif\n"
    "    mcsafe_v1_vector_upto_16v .L\\name\\()_upto_12v, \\vec, \\movu, \\mova, \\reg, \\vzu\n"
".if \\vec < 64\n"
    ".L\\name\\()_upto_32v:\n"
    "    cmpq $28*\\vec, %rdx\n"
    "    jbe .L\\name\\()_loop_setup\n"
    "    leaq -16*\\vec(%rdx), %rcx\n"                   // rcx = n - 16V, where the second half starts
    "    movl $16*\\vec, %edx\n"
    "    mcsafe_v1_vector_bank_moves 16, \\vec, \\movu, \\mova, \\reg\n"
    "    addq %rcx, %rsi\n"
    "    addq %rcx, %rdi\n"
    "    mcsafe_v1_vector_bank_moves 16, \\vec, \\movu, \\movu, \\reg\n"
    "    mcsafe_v1_vector_ret \\vzu\n"
".else\n"
    ".L\\name\\()_16v_off_line:\n"
    "    testl $\\vec-1, %esi\n"
    "    jnz .L\\name\\()_loop_setup\n"
    "    mcsafe_v1_vector_crosses_page .L\\name\\()_loop_setup\n"
    "    mcsafe_v1_vector_upto_16v .L\\name\\()_upto_12v_off_line, \\vec, \\movu, \\movu, \\reg, \\vzu\n"
".endif\n"
    ".endm\n"
    ".macro mcsafe_v1_vector_copy name, vec, movu, mova, reg, smov, vzu, hi=, handoff=\n"
    "    cmpq $2*\\vec, %rdx\n"
    "    jbe .L\\name\\()_upto_2v\n"
    "    cmpq $4*\\vec, %rdx\n"
    "    ja .L\\name\\()_over_4v\n"
    "    mcsafe_v1_vector_ends \\movu, \\movu, \\movu, \\vec, %rsi, %rdx, %rdi, %\\reg\\hi\\()0, %\\reg\\hi\\()1, %\\reg\\hi\\()2, %\\reg\\hi\\()3\n"
    "    mcsafe_v1_vector_ret \\vzu\n"
    ".L\\name\\()_upto_2v:\n"
    "    cmpq $\\vec, %rdx\n"
    "    jb .L\\name\\()_below_1v\n"
    "    mcsafe_v1_vector_ends \\movu, \\movu, \\movu, \\vec, %rsi, %rdx, %rdi, %\\reg\\hi\\()0, %\\reg\\hi\\()1\n"
    "    mcsafe_v1_vector_ret \\vzu\n"
    ".L\\name\\()_below_1v:\n"
    ".if \\vec > 32\n"
    "    cmpq $32, %rdx\n"
    "    ja .L\\name\\()_33_64\n"
    ".endif\n"
    ".if \\vec > 16\n"
    "    cmpq $16, %rdx\n"
    "    jae .L\\name\\()_16_32\n"
    ".endif\n"
    "    cmpq $8, %rdx\n"
    "    jae .L\\name\\()_8_15\n"
    "    cmpq $4, %rdx\n"
    "    jae .L\\name\\()_4_7\n"
    "    cmpq $1, %rdx\n"
    "    ja .L\\name\\()_2_3\n"
    "    jb .L\\name\\()_done_scalar\n"  // n == 0
    "    movzbl (%rsi), %ecx\n"
    "    movb %cl, (%rdi)\n"
    "    mcsafe_v1_vector_ret 0\n"
    ".L\\name\\()_2_3:\n"
    "    movzwl (%rsi), %ecx\n"
    "    movzwl -2(%rsi,%rdx), %r8d\n"
    "    movw %cx, (%rdi)\n"
    "    movw %r8w, -2(%rdi,%rdx)\n"
    "    mcsafe_v1_vector_ret 0\n"
    ".L\\name\\()_4_7:\n"
    "    mcsafe_v1_vector_ends movl, movl, movl, 4, %rsi, %rdx, %rdi, %ecx, %r8d\n"
    "    mcsafe_v1_vector_ret 0\n"
    ".L\\name\\()_8_15:\n"
    "    mcsafe_v1_vector_ends movq, movq, movq, 8, %rsi, %rdx, %rdi, %rcx, %r8\n"
    ".L\\name\\()_done_scalar:\n"
    "    mcsafe_v1_vector_ret 0\n"  // no vector register touched
    ".if \\vec > 16\n"  // VEX or EVEX xmm moves clear the upper bits: no vzeroupper
    ".L\\name\\()_16_32:\n"
    "    mcsafe_v1_vector_ends \\smov, \\smov, \\smov, 16, %rsi, %rdx, %rdi, %xmm\\hi\\()0, %xmm\\hi\\()1\n"
    "    mcsafe_v1_vector_ret 0\n"
    ".endif\n"
    ".if \\vec > 32\n"
    ".L\\name\\()_33_64:\n"
    "    mcsafe_v1_vector_ends \\smov, \\smov, \\smov, 32, %rsi, %rdx, %rdi, %ymm\\hi\\()0, %ymm\\hi\\()1\n"
    "    mcsafe_v1_vector_ret \\vzu\n"
    ".endif\n"
    ".L\\name\\()_over_4v:\n"
    "    cmpq $8*\\vec, %rdx\n"
    "    ja .L\\name\\()_over_8v\n"
".if \\vec == 64\n"
    "    testl $\\vec-1, %edi\n"
    "    jnz .L\\name\\()_8v_off_line\n"
".endif\n"
    ".L\\name\\()_8v:\n"
    "    mcsafe_v1_vector_ends \\movu, \\movu, \\movu, \\vec, %rsi, %rdx, %rdi, %\\reg\\hi\\()0, %\\reg\\hi\\()1, %\\reg\\hi\\()2, %\\reg\\hi\\()3,"
    " %\\reg\\hi\\()4, %\\reg\\hi\\()5, %\\reg\\hi\\()6, %\\reg\\hi\\()7\n"
    "    mcsafe_v1_vector_ret \\vzu\n"
    ".L\\name\\()_over_8v:\n"
    ".ifnb \\handoff\n"  // nothing loaded or stored yet: the other routine's result is this one's
    "    cmpq mcsafe_v1_copy_vector_rep_band+24(%rip), %rdx\n"
    "    ja \\handoff\n"
    ".endif\n"
    // 8V+1..32V to a V-aligned destination: sixteen overlapping moves, eight from each end, in
    // the registers each routine has sixteen of; above 28V, sixteen over [0, 16V), then sixteen
    // over [n - 16V, n) (the 8V+1..16V and 28V+1..32V classes in the table above). Not the
    // second class in the zmm routine: with lengths mixed over 256 B-4 KiB its extra size test
    // cost more than it won at 1-2 KiB. The zmm routine tests the size first and keeps the
    // classes out of line: its loop then starts after one compare fewer (up to 16V) or with no
    // taken branch (above), 1.5-3% at 1 KiB with the destination off a line on the Zen 5; the
    // ymm routine lost 4-7% at 512 B-1 KiB that way, so there they follow the rep movsb
    // compare and fall through (docs/benchmarks.md).
".if \\vec == 64\n"
    "    cmpq $16*\\vec, %rdx\n"
    "    jbe .L\\name\\()_aligned_classes\n"
".endif\n"
    "    cmpq mcsafe_v1_copy_vector_rep_band(%rip), %rdx\n"
    "    ja .L\\name\\()_rep\n"
".if \\vec < 64\n"
    "    cmpq $32*\\vec, %rdx\n"
    "    ja .L\\name\\()_loop_setup\n"
    "    mcsafe_v1_vector_aligned_classes \\name, \\vec, \\movu, \\mova, \\reg, \\vzu\n"
".endif\n"
    ".L\\name\\()_loop_setup:\n"
    "    mcsafe_v1_vector_loop_setup \\vec, \\movu, \\reg, \\hi\n"
    ".L\\name\\()_loop:\n"                              // 4V bytes per turn, aligned stores
    "    mcsafe_v1_vector_block_load \\movu, \\vec, \\reg, \\hi, 0, 1, 2, 3, 8\n"
    "    mcsafe_v1_vector_block_store \\mova, \\vec, \\reg, \\hi, 1, 2, 3, 8\n"
    "    subq $-4*\\vec, %rsi\n"
    "    subq $-4*\\vec, %rdi\n"
    "    cmpq %r9, %rdi\n"
    "    jb .L\\name\\()_loop\n"
    ".L\\name\\()_loop_done:\n"
    "    \\mova %\\reg\\hi\\()4, (%r9)\n"
    "    \\mova %\\reg\\hi\\()5, \\vec(%r9)\n"
    "    \\mova %\\reg\\hi\\()6, 2*\\vec(%r9)\n"
    "    subq %rdi, %rsi\n"                                 // rsi = src - dst from here on
    "    movl %r11d, %ecx\n"
    "    andl $4095, %ecx\n"
    "    cmpl $4096-\\vec, %ecx\n"
    "    ja .L\\name\\()_head_in_page\n"                     // the head store would split a page
    "    \\movu %\\reg\\hi\\()0, (%r11)\n"
    ".L\\name\\()_head_stored:\n"
    "    leaq (%r11,%rdx), %r8\n"                           // r8 = dst end
    "    leal -1(%r8), %ecx\n"
    "    andl $4095, %ecx\n"
    "    cmpl $\\vec-1, %ecx\n"
    "    jb .L\\name\\()_end_in_page\n"                      // the end store would split a page
    "    \\movu %\\reg\\hi\\()7, -\\vec(%r8)\n"
    "    mcsafe_v1_vector_ret \\vzu\n"
".if \\vec == 64\n"
    // 6V+1..8V to a destination off a line: the loop, whose stores are aligned, where the source
    // sits at the destination's offset in a line (the loop's loads are then aligned too) or the
    // range crosses a page (one of the eight stores would split it; the loop splits none); else
    // the eight moves, whose split stores beat the loop's split loads. Above 6V the aligned part
    // of the destination holds the loop's first 4V block and the 3V stored after it.
    ".L\\name\\()_8v_off_line:\n"
    "    cmpq $6*\\vec, %rdx\n"
    "    jbe .L\\name\\()_8v\n"
    "    movl %edi, %ecx\n"
    "    subl %esi, %ecx\n"
    "    testl $\\vec-1, %ecx\n"
    "    jz .L\\name\\()_loop_setup\n"
    "    mcsafe_v1_vector_crosses_page .L\\name\\()_loop_setup\n"
    "    jmp .L\\name\\()_8v\n"
    ".L\\name\\()_aligned_classes:\n"
    "    mcsafe_v1_vector_aligned_classes \\name, \\vec, \\movu, \\mova, \\reg, \\vzu\n"
".endif\n"
    // A store across a page costs tens of cycles on the Zen 4 (docs/benchmarks.md, "Placements"):
    // where the head or the end store would make one, the bytes on its near side of the page
    // (1..V-1, loaded again: the loads before the loop proved them readable) are moved in
    // pieces that each stay in one page.
    // The end: the page starts at A; [A, end) goes through the small classes above.
    ".L\\name\\()_end_in_page:\n"
    ".if \\vzu\n"
    "    vzeroupper\n"                                      // the small classes return without it
    ".endif\n"
    "    leaq 3*\\vec(%r9), %rdi\n"
    "    addq %rdi, %rsi\n"
    "    movq %r8, %rdx\n"
    "    subq %rdi, %rdx\n"
    "    jmp .L\\name\\()_below_1v\n"
    // The head: [dst, P), P the page (and the loop's first store) above dst, as two overlapping
    // moves of the widest size that fits, or one byte.
    ".L\\name\\()_head_in_page:\n"
    "    movl %r11d, %ecx\n"
    "    negl %ecx\n"
    "    andl $\\vec-1, %ecx\n"                             // rcx = P - dst, in 1..V-1
    "    leaq (%r11,%rsi), %rdi\n"                          // rdi = src
    ".if \\vec > 32\n"
    "    cmpl $32, %ecx\n"
    "    jae .L\\name\\()_head_32\n"
    ".endif\n"
    ".if \\vec > 16\n"
    "    cmpl $16, %ecx\n"
    "    jae .L\\name\\()_head_16\n"
    ".endif\n"
    "    cmpl $8, %ecx\n"
    "    jae .L\\name\\()_head_8\n"
    "    cmpl $4, %ecx\n"
    "    jae .L\\name\\()_head_4\n"
    "    cmpl $2, %ecx\n"
    "    jae .L\\name\\()_head_2\n"
    "    movzbl (%rdi), %eax\n"
    "    movb %al, (%r11)\n"
    "    jmp .L\\name\\()_head_stored\n"
    ".L\\name\\()_head_2:\n"
    "    movzwl (%rdi), %eax\n"
    "    movzwl -2(%rdi,%rcx), %r10d\n"
    "    movw %ax, (%r11)\n"
    "    movw %r10w, -2(%r11,%rcx)\n"
    "    jmp .L\\name\\()_head_stored\n"
    ".L\\name\\()_head_4:\n"
    "    mcsafe_v1_vector_ends movl, movl, movl, 4, %rdi, %rcx, %r11, %eax, %r10d\n"
    "    jmp .L\\name\\()_head_stored\n"
    ".L\\name\\()_head_8:\n"
    "    mcsafe_v1_vector_ends movq, movq, movq, 8, %rdi, %rcx, %r11, %rax, %r10\n"
    "    jmp .L\\name\\()_head_stored\n"
    ".if \\vec > 16\n"
    ".L\\name\\()_head_16:\n"
    "    mcsafe_v1_vector_ends \\smov, \\smov, \\smov, 16, %rdi, %rcx, %r11, %xmm\\hi\\()1, %xmm\\hi\\()2\n"
    "    jmp .L\\name\\()_head_stored\n"
    ".endif\n"
    ".if \\vec > 32\n"
    ".L\\name\\()_head_32:\n"
    "    mcsafe_v1_vector_ends \\smov, \\smov, \\smov, 32, %rdi, %rcx, %r11, %ymm\\hi\\()1, %ymm\\hi\\()2\n"
    "    jmp .L\\name\\()_head_stored\n"
    ".endif\n"
    // Where the destination sits 1 to 127 bytes above the source modulo a page, rep movsb's
    // loads wait on its own 4K-aliased stores (on the Zen 4 10-20x slower at 64 KiB-32 MiB a
    // few bytes apart, up to 1.2x further out): the loop instead, which loses far less
    // (docs/benchmarks.md, "Placements"), in the order that loses nothing where there are
    // registers for it.
    ".L\\name\\()_rep:\n"                               // above R:
    "    leal -1(%rdi), %ecx\n"
    "    subl %esi, %ecx\n"
    "    andl $4095, %ecx\n"
    "    cmpl $127, %ecx\n"
".if \\vec < 64\n"
    "    jb .L\\name\\()_close\n"
".else\n"
    "    jb .L\\name\\()_loop_setup\n"
".endif\n"
    "    cmpq mcsafe_v1_copy_vector_rep_band+8(%rip), %rdx\n"
    "    jbe .L\\name\\()_movsb\n"                        // up to U rep movsb,
    "    cmpq mcsafe_v1_copy_vector_rep_band+16(%rip), %rdx\n"
    "    jbe .L\\name\\()_loop_setup\n"                   // up to A the loop, above A rep movsb
    ".L\\name\\()_movsb:\n"
    // Where the band says so (AMD), rep movsb only where the source is at the destination's
    // offset in a line: with the two skewed, the loop read 1.02-1.10x memcpy at 32 KiB-32 MiB
    // on the Zen 4 where rep movsb read 0.98-1.00x (docs/benchmarks.md).
    "    movl %edi, %ecx\n"
    "    subl %esi, %ecx\n"
    "    testl mcsafe_v1_copy_vector_rep_band+32(%rip), %ecx\n"
    "    jnz .L\\name\\()_loop_setup\n"
    "    movq %rdx, %rcx\n"
    "    rep movsb\n"
    "    mcsafe_v1_vector_ret 0\n"  // rep movsb leaves the vector registers alone
".if \\vec < 64\n"
    // The loop for those placements: each block of 4V is loaded before the one below it is
    // stored, so a load never meets the block of stores just before it in bits 0-11 (the
    // plain loop's loads do, once per turn, when the destination sits 1-127 bytes above). The
    // same bytes, setup and epilogue as the plain loop; only the order of loads and stores
    // differs. Not in the zmm routine: it has no second bank of four registers (20-28 used).
    ".L\\name\\()_close:\n"
    "    mcsafe_v1_vector_loop_setup \\vec, \\movu, \\reg, \\hi\n"  // then block A at rdi < r9
    "    mcsafe_v1_vector_block_load \\movu, \\vec, \\reg, \\hi, 0, 1, 2, 3, 8\n"
    ".L\\name\\()_pipe_a:\n"
    "    leaq 4*\\vec(%rdi), %rax\n"
    "    cmpq %r9, %rax\n"
    "    jae .L\\name\\()_pipe_last_a\n"
    "    mcsafe_v1_vector_block_load \\movu, \\vec, \\reg, \\hi, 4*\\vec, 9, 10, 11, 12\n"  // block B, then A stored
    "    mcsafe_v1_vector_block_store \\mova, \\vec, \\reg, \\hi, 1, 2, 3, 8\n"
    "    subq $-4*\\vec, %rsi\n"
    "    subq $-4*\\vec, %rdi\n"
    "    leaq 4*\\vec(%rdi), %rax\n"
    "    cmpq %r9, %rax\n"
    "    jae .L\\name\\()_pipe_last_b\n"
    "    mcsafe_v1_vector_block_load \\movu, \\vec, \\reg, \\hi, 4*\\vec, 1, 2, 3, 8\n"  // block A, then B stored
    "    mcsafe_v1_vector_block_store \\mova, \\vec, \\reg, \\hi, 9, 10, 11, 12\n"
    "    subq $-4*\\vec, %rsi\n"
    "    subq $-4*\\vec, %rdi\n"
    "    jmp .L\\name\\()_pipe_a\n"
    ".L\\name\\()_pipe_last_a:\n"
    "    mcsafe_v1_vector_block_store \\mova, \\vec, \\reg, \\hi, 1, 2, 3, 8\n"
    "    jmp .L\\name\\()_pipe_end\n"
    ".L\\name\\()_pipe_last_b:\n"
    "    mcsafe_v1_vector_block_store \\mova, \\vec, \\reg, \\hi, 9, 10, 11, 12\n"
    ".L\\name\\()_pipe_end:\n"
    "    subq $-4*\\vec, %rsi\n"
    "    subq $-4*\\vec, %rdi\n"
    "    jmp .L\\name\\()_loop_done\n"
".endif\n"
    "\\name\\()_fixup:\n"
    ".if \\vzu\n"
    "    vzeroupper\n"
    ".endif\n"
    "    ret\n"
    ".endm\n"
    MCSAFE_ROUTINE_BEGIN(mcsafe_v1_copy_vector)
    "    mcsafe_v1_vector_copy mcsafe_v1_copy_vector, 32, vmovdqu, vmovdqa, ymm, vmovdqu, 1\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_copy_vector)
    MCSAFE_ROUTINE_BEGIN(mcsafe_v1_copy_vector_avx512)
    "    mcsafe_v1_vector_copy mcsafe_v1_copy_vector_avx512, 64, vmovdqu64, vmovdqa64, zmm, vmovdqu64, 0, 2, "
    "mcsafe_v1_copy_vector\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_copy_vector_avx512)
    MCSAFE_ROUTINE_BEGIN(mcsafe_v1_copy_vector_sse2)
    "    mcsafe_v1_vector_copy mcsafe_v1_copy_vector_sse2, 16, movups, movaps, xmm, movups, 0\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_copy_vector_sse2)
    ".purgem mcsafe_v1_vector_copy\n"
    ".purgem mcsafe_v1_vector_loop_setup\n"
    ".purgem mcsafe_v1_vector_block_load\n"
    ".purgem mcsafe_v1_vector_block_store\n"
    ".purgem mcsafe_v1_vector_aligned_classes\n"
    ".purgem mcsafe_v1_vector_upto_16v\n"
    ".purgem mcsafe_v1_vector_bank_moves\n"
    ".purgem mcsafe_v1_vector_crosses_page\n"
    ".purgem mcsafe_v1_vector_ends\n"
    ".purgem mcsafe_v1_vector_ends_of\n"
    ".purgem mcsafe_v1_vector_ret\n"
    // The words {R, U, A, Y, K}, with the routine's once-per-input guard: hidden and weak in a
    // COMDAT data section, so each executable or DSO has exactly one set, next to its routine.
    ".ifndef mcsafe_v1_copy_vector_rep_band\n"
    ".pushsection .data.mcsafe_v1_copy_vector_rep_band,\"awG\",@progbits,mcsafe_v1_copy_vector_rep_band,comdat\n"
    ".p2align 3\n"
    ".weak mcsafe_v1_copy_vector_rep_band\n.hidden mcsafe_v1_copy_vector_rep_band\n"
    ".type mcsafe_v1_copy_vector_rep_band,@object\n.size mcsafe_v1_copy_vector_rep_band,40\n"
    "mcsafe_v1_copy_vector_rep_band:\n"
    "    .quad 2048\n"
    "    .quad -1\n"
    "    .quad -1\n"
    "    .quad -1\n"
    "    .quad 0\n"
    ".popsection\n"
    ".endif\n");

MCSAFE_DECLARE_ROUTINE(mcsafe_v1_copy_vector, void*, const void*, std::size_t);
MCSAFE_DECLARE_ROUTINE(mcsafe_v1_copy_vector_sse2, void*, const void*, std::size_t);
MCSAFE_DECLARE_ROUTINE(mcsafe_v1_copy_vector_avx512, void*, const void*, std::size_t);
// {R, U, A, Y, K}: written only by detail/copy_state.hpp's publish_copy and the testing:: overrides;
// read by the routines above (`above` at offset 0, `upto` at 8, `again_above` at 16, `ymm_above`
// at 24, `skew_mask` at 32).
struct mcsafe_v1_rep_band_words {
  std::size_t above;        // R
  std::size_t upto;         // U
  std::size_t again_above;  // A
  std::size_t ymm_above;    // Y
  std::size_t skew_mask;    // K
};
static_assert(offsetof(mcsafe_v1_rep_band_words, upto) == 8 && offsetof(mcsafe_v1_rep_band_words, again_above) == 16 &&
              offsetof(mcsafe_v1_rep_band_words, ymm_above) == 24 && offsetof(mcsafe_v1_rep_band_words, skew_mask) == 32 &&
              sizeof(mcsafe_v1_rep_band_words) == 40);
extern "C" MCSAFE_HIDDEN mcsafe_v1_rep_band_words mcsafe_v1_copy_vector_rep_band;
