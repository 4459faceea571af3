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
//
// On x86-64 the trampoline also decides where the handler runs. It is installed with SA_ONSTACK,
// so the kernel delivers it on the thread's alternate signal stack when there is one, and puts
// its own frame (AT_MINSIGSTKSZ, 3-4 KiB with AVX-512 state) at the top of that stack. An
// alternate stack that holds the frame but not the handler below it would be written past its
// bottom, into whatever lies there (seen: a heap chunk). So before anything is pushed:
//   - not on the alternate stack, or at least MCSAFE_HANDLER_STACK bytes left below the frame:
//     jump to the handler (the common case: three compares);
//   - else, when the interrupted code was on its own stack and this is not a SIGSEGV within
//     256 KiB below its stack pointer (what a stack overflow looks like): run the handler on the
//     interrupted stack, past its red zone, as a handler without SA_ONSTACK would run, then come
//     back to the kernel's frame and return through it;
//   - else there is no stack to run on: restore the default action and send the signal to this
//     thread again, so the process dies of it, as it would have without a handler, instead of
//     writing below the alternate stack. Only system calls, no stack.
// Register contract at entry (the kernel's): rdi = signal, rsi = siginfo_t*, rdx = ucontext_t*,
// rsp = the frame's return address. The offsets below are the kernel's x86-64 ABI (checked
// against the C structures under the asm).
#pragma once
// The asm below is laid out by hand, one instruction per line: not for clang-format.
// clang-format off
#include <cstddef>
#include <cstdint>

#include "config.hpp"

// Stack the handler may use below the kernel's frame (guard.hpp's k_handler_stack_bytes).
#define MCSAFE_HANDLER_STACK 2048

#if defined(MCSAFE_ARCH_X86_64)
#define MCSAFE_STR2(x) #x
#define MCSAFE_STR(x) MCSAFE_STR2(x)
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
    "    mov %rsp, %rax\n"
    "    sub 16(%rdx), %rax\n"          // rsp - uc_stack.ss_sp
    "    cmp 32(%rdx), %rax\n"          // below uc_stack.ss_size: on the alternate stack
    "    jae 1f\n"
    "    cmp $" MCSAFE_STR(MCSAFE_HANDLER_STACK) ", %rax\n"
    "    jb 2f\n"
    "1:  jmp *mcsafe_v1_signal_desc(%rip)\n"
    "2:  mov 160(%rdx), %rax\n"         // the interrupted rsp (gregs[REG_RSP])
    "    mov %rax, %rcx\n"
    "    sub 16(%rdx), %rcx\n"
    "    cmp 32(%rdx), %rcx\n"          // it was on the alternate stack too
    "    jb 4f\n"
    "    cmp $11, %edi\n"               // SIGSEGV
    "    jne 3f\n"
    "    mov %rax, %rcx\n"
    "    sub 16(%rsi), %rcx\n"          // rsp - si_addr
    "    cmp $0x40000, %rcx\n"
    "    jb 4f\n"
    "3:  sub $256, %rax\n"
    "    and $-16, %rax\n"
    "    mov %rsp, %rcx\n"
    "    mov %rax, %rsp\n"
    "    push %rcx\n"
    "    sub $8, %rsp\n"
    "    call *mcsafe_v1_signal_desc(%rip)\n"
    "    mov 8(%rsp), %rsp\n"
    "    ret\n"
    "4:  mov %edi, %r8d\n"
    "    mov $13, %eax\n"               // rt_sigaction(signal, &SIG_DFL, 0, 8)
    "    lea 5f(%rip), %rsi\n"
    "    xor %edx, %edx\n"
    "    mov $8, %r10d\n"
    "    syscall\n"
    "    mov $39, %eax\n"               // getpid
    "    syscall\n"
    "    mov %eax, %r9d\n"
    "    mov $186, %eax\n"              // gettid
    "    syscall\n"
    "    mov %r9d, %edi\n"
    "    mov %eax, %esi\n"
    "    mov %r8d, %edx\n"
    "    mov $234, %eax\n"              // tgkill(pid, tid, signal): not blocked (SA_NODEFER)
    "    syscall\n"
    "    ret\n"
    "    .p2align 3\n"
    "5:  .quad 0, 0, 0, 0\n"            // the kernel's sigaction: SIG_DFL, no flags, empty mask
    ".size mcsafe_v1_signal_entry, . - mcsafe_v1_signal_entry\n"
    ".popsection\n"
    ".endif\n");
#undef MCSAFE_STR
#undef MCSAFE_STR2
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
#include <ucontext.h>

#if defined(MCSAFE_ARCH_X86_64)
// The offsets the trampoline reads.
static_assert(offsetof(ucontext_t, uc_stack.ss_sp) == 16 && offsetof(ucontext_t, uc_stack.ss_size) == 32);
static_assert(offsetof(ucontext_t, uc_mcontext.gregs) + REG_RSP * sizeof(greg_t) == 160);
static_assert(offsetof(siginfo_t, si_addr) == 16 && SIGSEGV == 11);
#endif

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
