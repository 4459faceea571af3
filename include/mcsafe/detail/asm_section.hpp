// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/asm_section.hpp - how one guarded routine is emitted from a header, on every
// architecture.
//
// Each routine is a top-level asm() block placed in its own COMDAT section, wrapped in
// .ifndef so that it is emitted once per assembler input even when several headers or (with
// -flto) several translation units paste the same block into one unit. The entry, fixup and
// end labels are .weak and .hidden: the linker keeps one copy per executable or shared object
// and never binds one DSO's PC range to another's. Works with -O0..-O3, -flto, -fPIC and
// --gc-sections under GCC and Clang. The section and symbol types are written %progbits and
// %function, which GNU as and Clang accept on x86-64 and aarch64 alike (on aarch64 `@` starts
// a comment).
//
//   asm(MCSAFE_ROUTINE_BEGIN(name) "...body, with a label name_fixup..." MCSAFE_ROUTINE_END(name));
#pragma once
// The asm below is laid out by hand, one instruction per line: not for clang-format.
// clang-format off

// The entry's alignment, as log2 of bytes: a cache line on x86-64, so that a routine's entry
// and its first size class (52 bytes for the zmm routine's 65-128 B class) are fetched as one
// line wherever the linker puts the section (glibc aligns its memmove the same way): with less,
// its speed depends on where the link places it (docs/benchmarks.md). 16 elsewhere.
#if defined(__x86_64__)
#define MCSAFE_ROUTINE_P2ALIGN "6"
#else
#define MCSAFE_ROUTINE_P2ALIGN "4"
#endif

#define MCSAFE_ROUTINE_BEGIN(name)                                                \
  ".ifndef " #name "\n"                                                           \
  ".pushsection .text." #name ",\"axG\",%progbits," #name ",comdat\n"             \
  ".p2align " MCSAFE_ROUTINE_P2ALIGN "\n"                                         \
  ".weak " #name "\n.hidden " #name "\n.type " #name ",%function\n"               \
  ".weak " #name "_fixup\n.hidden " #name "_fixup\n"                              \
  ".weak " #name "_begin\n.hidden " #name "_begin\n"                              \
  ".weak " #name "_end\n.hidden " #name "_end\n" #name ":\n" #name "_begin:\n"

#define MCSAFE_ROUTINE_END(name)                                                  \
  #name "_end:\n"                                                                 \
  ".size " #name ", " #name "_end - " #name "\n"                                  \
  ".popsection\n"                                                                 \
  ".endif\n"
