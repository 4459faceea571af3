// mcsafe/guard.hpp - the SIGBUS/SIGSEGV handler that turns a fault inside a guarded routine
// into a return value.
//
// Invariants of the handler (on_fault_signal / handle_signal), kept small enough to audit:
//  1. Async-signal-safe only: no allocation, no locks, no thread-local storage (TLS access is
//     not async-signal-safe in a dlopen'ed object), no stdio. It reads constants
//     (k_routines), one atomic pointer (the async-poison callback) and the saved previous
//     actions, which are written before our handler is installed.
//  2. It acts only on signals the kernel generated for a memory access (si_code > 0). kill(),
//     sigqueue() and tgkill() give si_code <= 0 and are never taken for a fault.
//  3. A synchronous fault (SIGBUS other than BUS_MCEERR_AO, or SIGSEGV) is handled only when
//     the interrupted PC lies inside a guarded routine: it writes si_addr and the packed
//     signo/si_code/si_addr_lsb into the routine's return registers and resumes at the
//     routine's fixup. Returning from the handler restores the signal mask (unlike longjmp).
//  4. BUS_MCEERR_AO (action optional: the kernel found poison in a page we map, not at an
//     access) goes to the on_async_poison() callback when one is set, wherever the PC is.
//  5. Everything else chains to the action that was installed before ours: an SA_SIGINFO
//     handler gets (sig, info, context); a plain handler gets (sig); SIG_IGN ignores a sent
//     signal; SIG_DFL (and SIG_IGN for a real fault) restores the default action, and the
//     process dies as it would have without mcsafe: a synchronous fault re-executes and
//     faults again, any other signal is re-raised.
#pragma once
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <system_error>

#include "detail/config.hpp"
#include "detail/routines.hpp"
#include "detail/signal_context.hpp"

namespace mcsafe {
inline namespace v1 {

struct install_options {
  bool catch_segv = false;  // also turn SIGSEGV inside a routine into fault_kind::segv
};

// Called for BUS_MCEERR_AO outside any routine. Runs inside the signal handler: it must be
// async-signal-safe (no malloc, no locks, no stdio).
using async_poison_fn = void (*)(std::uintptr_t address, unsigned lsb) noexcept;

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

struct guard_state {
  struct sigaction previous[2];        // [0] SIGBUS, [1] SIGSEGV: what we chain to
  std::atomic<bool> installed[2];      // our handler is in place for that signal
  std::atomic<async_poison_fn> async_fn;
  std::atomic_flag install_lock = ATOMIC_FLAG_INIT;
  int install_errno[2];                // errno of the last failed sigaction, for diagnose()
};
// Zero-initialized at load time: safe to read from a handler before anything ran.
inline guard_state g_guard{};

constexpr int guard_slot(int sig) noexcept { return sig == SIGSEGV ? 1 : 0; }

inline void chain_to_previous(int sig, siginfo_t* info, void* ctx) noexcept {
  const struct sigaction& prev = g_guard.previous[guard_slot(sig)];
  if ((prev.sa_flags & SA_SIGINFO) != 0 && prev.sa_sigaction != nullptr) {
    prev.sa_sigaction(sig, info, ctx);
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
  prev.sa_handler(sig);
}

}  // namespace detail

// For programs that own their SIGBUS/SIGSEGV handler (runtimes, JITs): call this first; it
// returns true when the signal was a fault inside a guarded routine (the context has been
// redirected: just return from your handler) or an action-optional poison report delivered
// to the on_async_poison() callback. Async-signal-safe.
inline bool handle_signal(int sig, siginfo_t* info, void* ctx) noexcept {
  if (info == nullptr || ctx == nullptr || info->si_code <= 0) return false;
  if (sig == SIGBUS && info->si_code == BUS_MCEERR_AO) {
    async_poison_fn fn = detail::g_guard.async_fn.load(std::memory_order_acquire);
    if (fn == nullptr) return false;
    fn(reinterpret_cast<std::uintptr_t>(info->si_addr), static_cast<unsigned>(info->si_addr_lsb));
    return true;
  }
  if (sig != SIGBUS && sig != SIGSEGV) return false;
  const void* fixup = detail::find_fixup(detail::context_pc(ctx));
  if (fixup == nullptr) return false;
  const unsigned lsb = sig == SIGBUS ? static_cast<unsigned>(info->si_addr_lsb) : 0u;
  detail::context_resume(ctx, fixup, reinterpret_cast<std::uintptr_t>(info->si_addr),
                         detail::pack_fault_info(sig, info->si_code, lsb));
  return true;
}

namespace detail {

inline void on_fault_signal(int sig, siginfo_t* info, void* ctx) noexcept {
  const int saved_errno = errno;
  if (!handle_signal(sig, info, ctx)) chain_to_previous(sig, info, ctx);
  errno = saved_errno;
}

inline bool is_our_action(const struct sigaction& sa) noexcept {
  return (sa.sa_flags & SA_SIGINFO) != 0 && sa.sa_sigaction == &on_fault_signal;
}

// Caller holds install_lock.
inline int install_one(int sig) noexcept {
  const int slot = guard_slot(sig);
  if (g_guard.installed[slot].load(std::memory_order_acquire)) return 0;
  // Record what was there before installing, so a fault in the instant after sigaction()
  // already chains correctly; then record what sigaction() really replaced.
  struct sigaction old {};
  if (sigaction(sig, nullptr, &old) != 0) return errno;
  if (!is_our_action(old)) g_guard.previous[slot] = old;
  struct sigaction sa {};
  sa.sa_sigaction = &on_fault_signal;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, &old) != 0) return errno;
  if (!is_our_action(old)) g_guard.previous[slot] = old;
  g_guard.installed[slot].store(true, std::memory_order_release);
  return 0;
}

}  // namespace detail

// Installs the handler for SIGBUS (and SIGSEGV with catch_segv). Idempotent and thread-safe;
// a later call may add SIGSEGV. The copy functions call install() with default options on
// first use unless MCSAFE_NO_AUTO_INSTALL is defined. Returns the error of sigaction(), if any.
inline std::errc install(install_options options = {}) noexcept {
  using detail::g_guard;
  while (g_guard.install_lock.test_and_set(std::memory_order_acquire)) {
  }
  int err = detail::install_one(SIGBUS);
  g_guard.install_errno[0] = err;
  if (err == 0 && options.catch_segv) {
    err = detail::install_one(SIGSEGV);
    g_guard.install_errno[1] = err;
  }
  g_guard.install_lock.clear(std::memory_order_release);
  return static_cast<std::errc>(err);
}

inline bool installed(int sig = SIGBUS) noexcept {
  return detail::g_guard.installed[detail::guard_slot(sig)].load(std::memory_order_acquire);
}

// Sets the callback for action-optional poison reports (BUS_MCEERR_AO, sent early to
// processes with PR_MCE_KILL_EARLY or vm.memory_failure_early_kill) and installs the handler
// if needed. Returns the previous callback. nullptr restores chaining of such reports.
inline async_poison_fn on_async_poison(async_poison_fn fn) noexcept {
  async_poison_fn prev = detail::g_guard.async_fn.exchange(fn, std::memory_order_acq_rel);
  install();
  return prev;
}

}  // namespace v1
}  // namespace mcsafe
