// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/signal_entry.hpp - the address installed with sigaction(), which another copy
// of mcsafe in the same process can recognise.
//
// Each executable or shared object that includes mcsafe has its own hidden handler state. To
// tell the truth about several copies in one process (diagnose(), and install() after another
// handler went on top), one copy must be able to look at the handler on top of SIGBUS and ask
// "is this mcsafe, and what does it chain to?" without any shared symbol. So the handler
// installed is a three-instruction trampoline preceded by a tag: 8 bytes just below the entry,
// { k_signal_entry_magic, 32-bit offset from that word to the object's signal_entry_desc }. The
// descriptor (writable data, filled by install() before the trampoline is installed) holds the
// C++ handler the trampoline jumps to and the object's guard state. The magic encodes the
// layout of guard_state: change that struct and the magic changes with it, so copies with
// different layouts see each other as foreign handlers, never misread each other.
#pragma once
#include <cstdint>

#include "config.hpp"

#if defined(MCSAFE_ARCH_X86_64)
asm(".ifndef mcsafe_v1_signal_entry\n"
    ".pushsection .data.mcsafe_v1_signal_desc,\"awG\",@progbits,mcsafe_v1_signal_desc,comdat\n"
    ".p2align 3\n"
    ".weak mcsafe_v1_signal_desc\n.hidden mcsafe_v1_signal_desc\n"
    "mcsafe_v1_signal_desc:\n"
    "    .quad 0, 0\n"
    ".popsection\n"
    ".pushsection .text.mcsafe_v1_signal_entry,\"axG\",@progbits,mcsafe_v1_signal_entry,comdat\n"
    ".p2align 4\n"
    "    .skip 8, 0xcc\n"
    "    .long 0x3173636d\n"  // "mcs1", see k_signal_entry_magic
    "    .long mcsafe_v1_signal_desc - .\n"
    ".weak mcsafe_v1_signal_entry\n.hidden mcsafe_v1_signal_entry\n"
    ".type mcsafe_v1_signal_entry,@function\n"
    "mcsafe_v1_signal_entry:\n"
    "    jmp *mcsafe_v1_signal_desc(%rip)\n"
    ".size mcsafe_v1_signal_entry, . - mcsafe_v1_signal_entry\n"
    ".popsection\n"
    ".endif\n");
#define MCSAFE_HAS_SIGNAL_ENTRY 1
#elif defined(MCSAFE_ARCH_AARCH64)
asm(".ifndef mcsafe_v1_signal_entry\n"
    ".pushsection .data.mcsafe_v1_signal_desc,\"awG\",%progbits,mcsafe_v1_signal_desc,comdat\n"
    ".p2align 3\n"
    ".weak mcsafe_v1_signal_desc\n.hidden mcsafe_v1_signal_desc\n"
    "mcsafe_v1_signal_desc:\n"
    "    .quad 0, 0\n"
    ".popsection\n"
    ".pushsection .text.mcsafe_v1_signal_entry,\"axG\",%progbits,mcsafe_v1_signal_entry,comdat\n"
    ".p2align 4\n"
    "    .skip 8, 0\n"
    "    .long 0x3173636d\n"
    "    .long mcsafe_v1_signal_desc - .\n"
    ".weak mcsafe_v1_signal_entry\n.hidden mcsafe_v1_signal_entry\n"
    ".type mcsafe_v1_signal_entry,%function\n"
    "mcsafe_v1_signal_entry:\n"
    "    hint 34\n"  // bti c: a valid indirect-call target where BTI is enforced, a nop elsewhere
    "    adrp x16, mcsafe_v1_signal_desc\n"
    "    ldr x16, [x16, :lo12:mcsafe_v1_signal_desc]\n"
    "    br x16\n"
    ".size mcsafe_v1_signal_entry, . - mcsafe_v1_signal_entry\n"
    ".popsection\n"
    ".endif\n");
#define MCSAFE_HAS_SIGNAL_ENTRY 1
#endif

#if defined(MCSAFE_HAS_SIGNAL_ENTRY)
#include <csignal>

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {
struct guard_state;
struct signal_entry_desc {
  void (*handler)(int, siginfo_t*, void*) noexcept;  // where the trampoline jumps
  guard_state* state;                                 // the installing object's guard state
};
// "mcs1" little-endian. Bump the digit whenever guard_state's layout changes.
inline constexpr std::uint32_t k_signal_entry_magic = 0x3173636d;
}  // namespace detail
}  // namespace v1
}  // namespace mcsafe

extern "C" {
MCSAFE_HIDDEN void mcsafe_v1_signal_entry(int, siginfo_t*, void*) noexcept;
MCSAFE_HIDDEN extern ::mcsafe::detail::signal_entry_desc mcsafe_v1_signal_desc;
}
#endif
