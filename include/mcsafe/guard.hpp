// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/guard.hpp - the SIGBUS/SIGSEGV handler that turns a fault inside a guarded routine
// into a return value.
//
// What runs inside the handler, and the invariants 1-6 that govern it, are in one file:
// detail/handler_inside.hpp. This header installs it and keeps the two invariants about
// installation:
//  7. The code and data the handler uses are never unmapped while it can run. install() pins
//     the object that holds them (the executable or a shared object): before the first
//     sigaction() it re-opens that object with RTLD_NOLOAD | RTLD_NODELETE, so a later dlclose()
//     cannot unload it. Pinning is the only rule correct in every load/unload order: another
//     library (mcsafe or not) may have saved our handler as its "previous" and will call it
//     after we are gone, and nothing we could run at unload can reach into its saved copy. The
//     price: an object that installed the handler stays mapped until exit (reloading the same
//     path reuses it). An object that never installed (MCSAFE_NO_AUTO_INSTALL, no copy made
//     yet) is not pinned and unloads normally. Where the object cannot be pinned, install()
//     fails with std::errc::not_supported and installs nothing (diagnose() says why).
//  8. The address installed is a tagged trampoline (detail/signal_entry.hpp), so one copy of
//     mcsafe can recognise another on top of it, read what that one chains to, and tell
//     whether faults in its own routines still reach it (diagnose(), install()).
#pragma once
#include <dlfcn.h>
#if defined(__GLIBC__)
#include <link.h>
#endif

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <system_error>

#include "detail/config.hpp"
#include "detail/handler_inside.hpp"
#include "detail/routine_table.hpp"
#include "detail/signal_entry.hpp"

namespace mcsafe {
inline namespace v1 {

// Stack the handler needs below the kernel's signal frame, at most (tests/guard_child.cpp,
// "altstack-usage", measures it: well under this). A thread's alternate signal stack should hold
// the kernel's frame (getauxval(AT_MINSIGSTKSZ)), this, and whatever a chained handler needs.
// With less, on x86-64 the handler runs on the interrupted thread's own stack instead, or, when
// there is none to use, the process dies of the signal (detail/signal_entry.hpp).
inline constexpr std::size_t k_handler_stack_bytes = MCSAFE_HANDLER_STACK;

struct install_options {
  bool catch_segv = false;  // also turn SIGSEGV inside a routine into fault_kind::segv
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {

// For programs that own their SIGBUS/SIGSEGV handler (runtimes, JITs): call this first; it
// returns true when the signal was a fault inside a guarded routine (the context has been
// redirected: just return from your handler) or an action-optional poison report delivered
// to the on_async_poison() callback. Async-signal-safe (detail/handler_inside.hpp).
inline bool handle_signal(int sig, siginfo_t* info, void* ctx) noexcept {
  return detail::handle_fault_signal(sig, info, ctx);
}

namespace detail {

// Binds now the library functions the handler may call (errno, the signal-mask and sigaction
// calls of chain_to_previous). The first call through a lazily bound PLT entry runs the dynamic
// linker's resolver, which saves the whole vector register state on the stack (about 3 KiB with
// AVX-512 state): on the alternate signal stack, if that is where the handler runs.
inline void bind_handler_calls() noexcept {
  const int e = errno;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGBUS);
  pthread_sigmask(SIG_BLOCK, nullptr, &set);
  struct sigaction now {};
  sigaction(SIGBUS, nullptr, &now);
  (void)raise(0);  // signal 0: checks, sends nothing
  errno = e;
}

using sa_sigaction_fn = void (*)(int, siginfo_t*, void*);

// What sigaction() is given: the tagged trampoline where there is one.
inline sa_sigaction_fn our_entry() noexcept {
#if defined(MCSAFE_HAS_SIGNAL_ENTRY)
  return &mcsafe_v1_signal_entry;
#else
  return &on_fault_signal;
#endif
}

inline bool is_our_action(const struct sigaction& sa) noexcept {
  return (sa.sa_flags & SA_SIGINFO) != 0 && sa.sa_sigaction == our_entry();
}

// The guard state of the copy of mcsafe whose trampoline `sa` installs, or nullptr when `sa`
// is not an mcsafe trampoline (of this layout). Reads the 8 tag bytes below the handler only
// after dladdr() placed them in the same loaded object as the handler, so they are mapped.
inline const guard_state* mcsafe_state_of(const struct sigaction& sa) noexcept {
#if defined(MCSAFE_HAS_SIGNAL_ENTRY)
  if ((sa.sa_flags & SA_SIGINFO) == 0 || sa.sa_sigaction == nullptr) return nullptr;
  if (sa.sa_sigaction == our_entry()) return &g_guard;
  const auto entry = reinterpret_cast<std::uintptr_t>(sa.sa_sigaction);
  Dl_info at{}, tag{};
  if (dladdr(reinterpret_cast<void*>(entry), &at) == 0 || dladdr(reinterpret_cast<void*>(entry - 8), &tag) == 0 ||
      at.dli_fbase != tag.dli_fbase)
    return nullptr;
  std::uint32_t magic = 0;
  std::int32_t offset = 0;
  std::memcpy(&magic, reinterpret_cast<const void*>(entry - 8), 4);
  std::memcpy(&offset, reinterpret_cast<const void*>(entry - 4), 4);
  if (magic != k_signal_entry_magic) return nullptr;
  // Sign-extend the 32-bit offset, then add modulo 2^64 (as extable.hpp does).
  const auto* desc = reinterpret_cast<const signal_entry_desc*>(
      entry - 4 + static_cast<std::uintptr_t>(static_cast<std::intptr_t>(offset)));
  return desc->state;  // written before that copy's sigaction(), so never null here
#else
  return sa.sa_sigaction == our_entry() && (sa.sa_flags & SA_SIGINFO) != 0 ? &g_guard : nullptr;
#endif
}

// Where a fault in one of this copy's routines goes, followed from the action on top of `sig`
// down through every copy of mcsafe it meets.
enum class chain_end : std::uint8_t {
  reaches_us,   // the chain reaches this copy's handler: its faults are caught
  ends_before,  // it ends (SIG_DFL, SIG_IGN) without reaching us: faults kill
  foreign,      // it goes through a handler that is not mcsafe: caught only if that one passes them on
};
struct chain_walk {
  chain_end end = chain_end::ends_before;
  int copies_above = 0;      // other mcsafe copies between the top and this one
  struct sigaction stop {};  // the action where the walk stopped (foreign or terminal)
};
inline chain_walk walk_chain(int sig) noexcept {
  chain_walk w;
  struct sigaction a {};
  if (sigaction(sig, nullptr, &a) != 0) return w;
  for (int hop = 0; hop < 64; ++hop) {  // bounded: a cycle of broken copies must not hang us
    if (is_our_action(a)) {
      w.end = chain_end::reaches_us;
      return w;
    }
    const guard_state* other = mcsafe_state_of(a);
    if (other == nullptr) break;
    ++w.copies_above;
    a = other->previous[guard_slot(sig)];
  }
  w.stop = a;
  const bool terminal = (a.sa_flags & SA_SIGINFO) == 0 && (a.sa_handler == SIG_DFL || a.sa_handler == SIG_IGN);
  w.end = terminal ? chain_end::ends_before : chain_end::foreign;
  return w;
}

// Makes the object that holds the handler impossible to unload (invariant 7). Returns 0 or
// an errno, with the loader's message in g_guard.pin_error. Not async-signal-safe (dlopen).
inline int pin_handler_object() noexcept {
  if (g_guard.pinned) return 0;
#if defined(__GLIBC__)
  Dl_info info{};
  struct link_map* map = nullptr;
  // No link_map (a static executable): the loader does not know the object, so dlclose()
  // cannot unload it either. "" is the executable, which is never unloaded.
  if (dladdr1(reinterpret_cast<void*>(our_entry()), &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) != 0 &&
      map != nullptr && map->l_name != nullptr && map->l_name[0] != '\0') {
    // glibc's dlopen handle is the link_map: ask which namespace it was loaded in (dlmopen).
    Lmid_t ns = LM_ID_BASE;
    if (dlinfo(map, RTLD_DI_LMID, &ns) != 0) ns = LM_ID_BASE;
    // dlmopen is looked up, not named: a static link that names it gets a warning from glibc
    // ("requires at runtime the shared libraries"), and a static executable never gets here.
    using dlmopen_fn = void* (*)(Lmid_t, const char*, int);
    const auto open_in = reinterpret_cast<dlmopen_fn>(dlsym(RTLD_DEFAULT, "dlmopen"));
    if (open_in == nullptr || open_in(ns, map->l_name, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE) == nullptr) {
      const char* why = dlerror();
      std::strncpy(g_guard.pin_error, why != nullptr ? why : "dlopen(RTLD_NOLOAD | RTLD_NODELETE) failed",
                   sizeof g_guard.pin_error - 1);
      return ENOTSUP;
    }
    // The reference dlmopen() took is deliberately kept: the object stays, whatever happens.
  }
#endif
  // Elsewhere (musl) dlclose() never unmaps an object: nothing to pin.
  g_guard.pinned = true;
  return 0;
}

// Puts our handler on top of `sig`. Caller holds install_lock.
inline int put_on_top(int sig) noexcept {
  const int slot = guard_slot(sig);
  // Record what was there before installing, so a fault in the instant after sigaction()
  // already chains correctly; then record what sigaction() really replaced.
  struct sigaction old {};
  if (sigaction(sig, nullptr, &old) != 0) return errno;
  if (!is_our_action(old)) g_guard.previous[slot] = old;
  struct sigaction sa {};
  sa.sa_sigaction = our_entry();
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, &old) != 0) return errno;
  if (!is_our_action(old)) g_guard.previous[slot] = old;
  g_guard.installed[slot].store(true, std::memory_order_release);
  return 0;
}

// Caller holds install_lock.
inline int install_one(int sig) noexcept {
  if (g_guard.installed[guard_slot(sig)].load(std::memory_order_acquire)) {
    switch (walk_chain(sig).end) {
      case chain_end::reaches_us:  // on top, or under other copies of mcsafe that pass faults on
        return 0;
      case chain_end::ends_before:  // replaced by something that never calls us: safe to go back on top
        return put_on_top(sig);
      case chain_end::foreign:  // replaced by a handler we cannot see through; going on top of it
        return EBUSY;           // could make a loop (it may chain to us): refuse, diagnose() says so
    }
  }
  if (const int err = pin_handler_object(); err != 0) return err;
#if defined(MCSAFE_HAS_SIGNAL_ENTRY)
  mcsafe_v1_signal_desc.handler = &on_fault_signal;
  mcsafe_v1_signal_desc.state = &g_guard;
#endif
  return put_on_top(sig);
}

}  // namespace detail

// Installs the handler for SIGBUS (and SIGSEGV with catch_segv). Idempotent and thread-safe;
// a later call may add SIGSEGV. The copy functions call install() with default options on
// first use unless MCSAFE_NO_AUTO_INSTALL is defined. Returns:
//  - the error of sigaction(), if any;
//  - std::errc::not_supported when the object holding the handler could not be pinned in
//    memory (guard.hpp invariant 7; diagnose() gives the loader's message); nothing installed;
//  - std::errc::device_or_resource_busy when our handler was installed and another handler
//    that is not mcsafe has since replaced it: it may chain to us (then faults are caught) or
//    not, and going back on top of it could make a loop, so install() leaves it alone.
// A handler replaced by SIG_DFL/SIG_IGN, or by copies of mcsafe whose chain no longer reaches
// this one, is put back on top. Other copies of mcsafe on top that chain to this one are fine.
inline std::errc install(install_options options = {}) noexcept {
  using detail::g_guard;
  while (g_guard.install_lock.test_and_set(std::memory_order_acquire)) {
  }
  detail::bind_handler_calls();
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
