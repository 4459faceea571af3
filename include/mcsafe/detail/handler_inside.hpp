// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/handler_inside.hpp - everything that runs inside the SIGBUS/SIGSEGV handler.
//
// READ BEFORE CHANGING. This file is the handler: the code the kernel enters on a fault, with
// the state it reads. Besides what is here it runs only the tagged trampoline in front of it
// (detail/signal_entry.hpp, asm), the register accessors of detail/signal_context.hpp and
// pack_fault_word (detail/fault_word.hpp), which are a few loads and stores each. Installing,
// pinning and walking other handlers never run here: guard.hpp.
//
// Invariants of the handler (on_fault_signal, handle_fault_signal), kept small enough to audit
// (7 and 8, about installing it, are in guard.hpp):
//  1. Async-signal-safe only: no allocation, no locks, no thread-local storage (TLS access is
//     not async-signal-safe in a dlopen'ed object), no stdio. It reads constants
//     (k_routines), one atomic pointer (the async-poison callback) and the saved previous
//     actions, which are written before our handler is installed.
//  2. It acts only on signals the kernel generated for a memory access (si_code > 0). kill(),
//     sigqueue() and tgkill() give si_code <= 0 and are never taken for a fault.
//  3. A synchronous fault (SIGBUS other than BUS_MCEERR_AO, or SIGSEGV) is handled only when
//     the interrupted PC lies inside a guarded routine or is a guarded inline move listed in
//     this object's exception table (detail/x86_64/extable.hpp): it writes si_addr and the
//     packed signo/si_code/si_addr_lsb into the return registers (rax:rdx on x86-64, x0:x1 on
//     aarch64) and resumes at the routine's fixup or the entry's resume label. Returning from
//     the handler restores the signal mask (unlike longjmp).
//  4. BUS_MCEERR_AO (action optional: the kernel found poison in a page we map, not at an
//     access) goes to the on_async_poison() callback when one is set, wherever the PC is.
//  5. Everything else chains to the action that was installed before ours: an SA_SIGINFO
//     handler gets (sig, info, context); a plain handler gets (sig); SIG_IGN ignores a sent
//     signal; SIG_DFL (and SIG_IGN for a real fault) restores the default action, and the
//     process dies as it would have without mcsafe: a synchronous fault re-executes and
//     faults again, any other signal is re-raised.
//  6. A previous handler runs with the signal mask the kernel would have given it: its own
//     sa_mask, plus the signal unless it asked for SA_NODEFER. We install with SA_NODEFER (so a
//     fault inside a routine called from a handler is still caught); without this, a previous
//     handler that itself faults would re-enter us and recurse until the stack overflows.
//     With it, such a fault hits a blocked synchronous signal and the kernel kills the process
//     with that signal, exactly as without mcsafe.
#pragma once
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>

#include "config.hpp"
#include "fault_word.hpp"
#include "routine_table.hpp"
#include "signal_context.hpp"

namespace mcsafe {
inline namespace v1 {
// Called for BUS_MCEERR_AO outside any routine. Runs inside the signal handler: it must be
// async-signal-safe (no malloc, no locks, no stdio).
using async_poison_fn = void (*)(std::uintptr_t address, unsigned lsb) noexcept;
}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// Layout read by other copies of mcsafe through the tagged trampoline (detail/signal_entry.hpp):
// change it and change k_signal_entry_magic too.
struct guard_state {
  struct sigaction previous[2];    // [0] SIGBUS, [1] SIGSEGV: what we chain to
  std::atomic<bool> installed[2];  // our handler is in place for that signal
  std::atomic<async_poison_fn> async_fn;
  std::atomic_flag install_lock = ATOMIC_FLAG_INIT;
  int install_errno[2];  // errno of the last failed install, for diagnose()
  bool pinned;           // the object holding the handler can no longer unload
  char pin_error[128];   // why it could not be pinned (dlerror), for diagnose()
};
// Zero-initialized at load time: safe to read from a handler before anything ran.
inline guard_state g_guard{};

constexpr int guard_slot(int sig) noexcept { return sig == SIGSEGV ? 1 : 0; }

// Runs a previous handler with the mask the kernel would have given it (invariant 6).
template <class Call>
inline void call_with_its_mask(int sig, const struct sigaction& prev, Call call) noexcept {
  sigset_t block = prev.sa_mask, old;
  if ((prev.sa_flags & SA_NODEFER) == 0) sigaddset(&block, sig);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  call();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// Invariant 5.
inline void chain_to_previous(int sig, siginfo_t* info, void* ctx) noexcept {
  const struct sigaction& prev = g_guard.previous[guard_slot(sig)];
  if ((prev.sa_flags & SA_SIGINFO) != 0 && prev.sa_sigaction != nullptr) {
    call_with_its_mask(sig, prev, [&] { prev.sa_sigaction(sig, info, ctx); });
    return;
  }
  const bool sent = info == nullptr || info->si_code <= 0;
  const bool synchronous = !sent && !(sig == SIGBUS && info->si_code == BUS_MCEERR_AO);
  if (prev.sa_handler == SIG_IGN && !synchronous) return;  // ignored before us: still ignored
  if (prev.sa_handler == SIG_DFL || prev.sa_handler == SIG_IGN) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    if (!synchronous) raise(sig);  // SA_NODEFER: delivered now, with the default action
    return;                        // a real fault re-executes, faults, and kills as it would have
  }
  call_with_its_mask(sig, prev, [&] { prev.sa_handler(sig); });
}

#if defined(MCSAFE_ARCH_X86_64)
// Where a fault at `pc` resumes when pc is a guarded inline load, else nullptr.
// Async-signal-safe: reads the linker-built table only.
inline const void* find_extable_fixup(std::uintptr_t pc) noexcept {
  const extable_entry* e = __start_mcsafe_v1_extable;
  const extable_entry* end = __stop_mcsafe_v1_extable;
  if (e == nullptr || end == nullptr) return nullptr;
  for (; e < end; ++e) {
    // Sign-extend the 32-bit offset, then add modulo 2^64: a negative offset points backward.
    const auto insn =
        reinterpret_cast<std::uintptr_t>(&e->insn) + static_cast<std::uintptr_t>(static_cast<std::intptr_t>(e->insn));
    if (insn == pc)
      return reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(&e->resume) +
                                           static_cast<std::uintptr_t>(static_cast<std::intptr_t>(e->resume)));
  }
  return nullptr;
}
#endif

// The fixup for a PC inside a guarded routine or at a guarded inline load, or nullptr.
// Async-signal-safe: reads constants and the linker-built load table.
inline const void* find_fixup(std::uintptr_t pc) noexcept {
  for (const routine_range& r : k_routines) {
    if (pc >= reinterpret_cast<std::uintptr_t>(r.begin) && pc < reinterpret_cast<std::uintptr_t>(r.end)) return r.fixup;
  }
#if defined(MCSAFE_ARCH_X86_64)
  return find_extable_fixup(pc);
#else
  return nullptr;
#endif
}

// mcsafe::handle_signal (guard.hpp): invariants 2, 3 and 4.
inline bool handle_fault_signal(int sig, siginfo_t* info, void* ctx) noexcept {
  if (info == nullptr || ctx == nullptr || info->si_code <= 0) return false;
  if (sig == SIGBUS && info->si_code == BUS_MCEERR_AO) {
    async_poison_fn fn = g_guard.async_fn.load(std::memory_order_acquire);
    if (fn == nullptr) return false;
    fn(reinterpret_cast<std::uintptr_t>(info->si_addr), static_cast<unsigned>(info->si_addr_lsb));
    return true;
  }
  if (sig != SIGBUS && sig != SIGSEGV) return false;
  const void* fixup = find_fixup(context_pc(ctx));
  if (fixup == nullptr) return false;
  const unsigned lsb = sig == SIGBUS ? static_cast<unsigned>(info->si_addr_lsb) : 0u;
  context_resume(ctx, fixup, reinterpret_cast<std::uintptr_t>(info->si_addr), pack_fault_word(sig, info->si_code, lsb));
  return true;
}

// The handler installed (behind the trampoline): invariant 5 for what handle_signal leaves.
inline void on_fault_signal(int sig, siginfo_t* info, void* ctx) noexcept {
  if (handle_fault_signal(sig, info, ctx)) return;  // touches no library function and no errno
  const int saved_errno = errno;
  chain_to_previous(sig, info, ctx);
  errno = saved_errno;
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
