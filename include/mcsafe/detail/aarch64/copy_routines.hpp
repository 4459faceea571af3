// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/aarch64/copy_routines.hpp - the guarded byte-loop routine for aarch64.
//
// raw_result f(void* dst /*x0*/, const void* src /*x1*/, size_t n /*x2*/), returned in x0:x1.
// On a fault the handler writes si_addr to x0 and the packed signo/si_code/lsb to x1 and
// resumes at the fixup, which returns. Same contract as the x86-64 routines.
#pragma once
// The asm below is laid out by hand, one instruction per line: not for clang-format.
// clang-format off
#include "../routine_abi.hpp"
#include "../asm_section.hpp"

asm(MCSAFE_ROUTINE_BEGIN(mcsafe_v1_copy_generic)
    "    cbz x2, 2f\n"
    "1:  ldrb w3, [x1], #1\n"
    "    strb w3, [x0], #1\n"
    "    subs x2, x2, #1\n"
    "    b.ne 1b\n"
    "2:  mov x0, #0\n"
    "    mov x1, #0\n"
    "    ret\n"
    "mcsafe_v1_copy_generic_fixup:\n"
    "    ret\n"
    MCSAFE_ROUTINE_END(mcsafe_v1_copy_generic));

MCSAFE_DECLARE_ROUTINE(mcsafe_v1_copy_generic, void*, const void*, std::size_t);
