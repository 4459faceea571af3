// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/diagnose.hpp - a text report a user can paste into a bug report.
//
// Says which backends were chosen and why, what the CPU and OS offer, which handlers are
// installed and what they chain to, and whether SIGBUS is blocked in the calling thread (a
// fault while SIGBUS is blocked kills the process: the kernel forces the default action).
// Allocates (it returns a std::string): never call it from a signal handler.
#pragma once
#include <dlfcn.h>
#include <pthread.h>
#include <sys/auxv.h>

#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <string>

#include "clear.hpp"
#include "copy.hpp"
#include "cpu.hpp"
#include "detail/config.hpp"
#include "dispatch.hpp"
#include "guard.hpp"
#include "persist.hpp"

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

inline void appendf(std::string& out, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));
inline void appendf(std::string& out, const char* fmt, ...) noexcept {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  const int len = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (len > 0) out.append(buf, static_cast<std::size_t>(len) < sizeof buf ? static_cast<std::size_t>(len) : sizeof buf - 1);
}

// The calling thread's alternate signal stack against what a fault needs there: the kernel's
// frame (AT_MINSIGSTKSZ) and the handler below it (k_handler_stack_bytes).
inline void describe_altstack(std::string& out) noexcept {
  stack_t ss{};
  if (sigaltstack(nullptr, &ss) != 0 || (ss.ss_flags & SS_DISABLE) != 0) {
    out += "  alternate signal stack (this thread): none; the handler runs on the faulting code's stack\n";
    return;
  }
#if defined(AT_MINSIGSTKSZ)
  const unsigned long auxv_frame = getauxval(AT_MINSIGSTKSZ);
#else
  const unsigned long auxv_frame = 0;  // a C library too old to name it: the static minimum
#endif
  // MINSIGSTKSZ: a constant, or sysconf(_SC_MINSIGSTKSZ) (a long) with glibc 2.34's _GNU_SOURCE.
  const std::size_t frame = auxv_frame != 0 ? auxv_frame : static_cast<std::size_t>(MINSIGSTKSZ);
  appendf(out,
          "  alternate signal stack (this thread): %zu bytes; a fault needs the kernel's frame (%zu, "
          "AT_MINSIGSTKSZ) and %zu for the handler: ",
          ss.ss_size, frame, k_handler_stack_bytes);
  if (ss.ss_size < frame)
    out += "TOO SMALL for the kernel's frame: a fault on this thread kills the process with SIGSEGV\n";
  else if (ss.ss_size < frame + k_handler_stack_bytes)
#if defined(MCSAFE_ARCH_X86_64)
    out += "small: the handler runs on the faulting code's own stack instead\n";
#else
    out += "TOO SMALL for the handler: it would write below the stack\n";
#endif
  else
    out += "enough (a handler mcsafe chains to needs its own room too)\n";
}

inline void describe_action(std::string& out, const struct sigaction& sa) noexcept {
  if (sa.sa_flags & SA_SIGINFO)
    appendf(out, "SA_SIGINFO handler %p", reinterpret_cast<void*>(sa.sa_sigaction));
  else if (sa.sa_handler == SIG_DFL)
    out += "SIG_DFL";
  else if (sa.sa_handler == SIG_IGN)
    out += "SIG_IGN";
  else
    appendf(out, "plain handler %p", reinterpret_cast<void*>(sa.sa_handler));
}

// The loaded object holding `p`, as the dynamic loader names it.
inline const char* object_holding(const void* p) noexcept {
  Dl_info info{};
  if (dladdr(p, &info) == 0 || info.dli_fname == nullptr) return "no loaded object (JIT code?)";
  return info.dli_fname[0] != '\0' ? info.dli_fname : "the executable";
}

// One line per signal: this copy's state, the chain from the top down to it through any other
// copies of mcsafe (each named by its object), and whether a fault in this copy's routines is
// caught. Several copies in one process are supported: each is a link of the chain.
inline void describe_signal(std::string& out, int sig, const char* name) noexcept {
  const int slot = guard_slot(sig);
  appendf(out, "  %s: ", name);
  if (!installed(sig)) {
    out += "not installed";
    if (g_guard.install_errno[slot] != 0) appendf(out, " (install failed: errno %d)", g_guard.install_errno[slot]);
    out += "\n";
    return;
  }
  appendf(out, "installed by %s", object_holding(reinterpret_cast<const void*>(our_entry())));
  struct sigaction a {};
  sigaction(sig, nullptr, &a);
  const chain_walk w = walk_chain(sig);
  if (w.copies_above == 0 && w.end == chain_end::reaches_us) {
    out += " (on top)";
  } else {
    out += "; on top:";
    for (int i = 0; i < w.copies_above; ++i) {
      const guard_state* other = mcsafe_state_of(a);
      if (other == nullptr) break;  // changed since the walk (another thread installed)
      appendf(out, " mcsafe in %s ->", object_holding(reinterpret_cast<const void*>(a.sa_sigaction)));
      a = other->previous[slot];
    }
  }
  switch (w.end) {
    case chain_end::reaches_us:
      if (w.copies_above > 0) out += " this copy (each copy passes faults it does not own down the chain)";
      out += "; faults are caught";
      break;
    case chain_end::ends_before:
      out += " ";
      describe_action(out, w.stop);
      out += ", which never reaches this copy: REPLACED, faults will NOT be caught (install() puts it back)";
      break;
    case chain_end::foreign:
      out += " ";
      describe_action(out, w.stop);
      appendf(out,
              " in %s, not mcsafe: faults are caught only if it calls mcsafe::handle_signal or chains to "
              "what it replaced",
              object_holding((w.stop.sa_flags & SA_SIGINFO) != 0 ? reinterpret_cast<const void*>(w.stop.sa_sigaction)
                                                                 : reinterpret_cast<const void*>(w.stop.sa_handler)));
      break;
  }
  out += "; this copy chains to ";
  const struct sigaction& prev = g_guard.previous[slot];
  if (mcsafe_state_of(prev) != nullptr)
    appendf(out, "mcsafe in %s", object_holding(reinterpret_cast<const void*>(prev.sa_sigaction)));
  else
    describe_action(out, prev);
  out += "\n";
}

}  // namespace detail

inline std::string diagnose() {
  using namespace detail;
  std::string out;
  appendf(out, "mcsafe %d.%d.%d (%s)\n", MCSAFE_VERSION_MAJOR, MCSAFE_VERSION_MINOR, MCSAFE_VERSION_PATCH,
#if defined(MCSAFE_ARCH_X86_64)
          "x86-64, guarded asm routines"
#elif defined(MCSAFE_ARCH_AARCH64)
          "aarch64, guarded asm byte loop"
#else
          "no guarded routines on this architecture: faults are NOT caught"
#endif
  );
  const copy_backend active = active_copy_backend();
  const copy_choice& c = default_copy_choice();
  appendf(out, "copy backend: %s", to_string(active));
  if (active == c.backend)
    appendf(out, " (%s)\n", c.reason);
  else
    appendf(out, " (forced by mcsafe::testing::force_copy; default would be %s)\n", to_string(c.backend));
  if (c.ignored_env[0] != '\0') appendf(out, "  MCSAFE_FORCE_COPY=%s ignored: %s\n", c.ignored_env, c.ignored_why);
#if defined(MCSAFE_ARCH_X86_64)
  const rep_band band = loaded_rep_band();
  if (band.above == k_vector_rep_never)
    out += "vector backends: rep movsb never used\n";
  else if (band.upto == k_vector_rep_never)
    appendf(out, "vector backends: rep movsb above %zu bytes\n", band.above);
  else if (band.again_above == k_vector_rep_never)
    appendf(out, "vector backends: rep movsb above %zu bytes up to %zu, the loop above that\n", band.above, band.upto);
  else
    appendf(out, "vector backends: rep movsb above %zu bytes up to %zu and above %zu, the loop elsewhere\n", band.above,
            band.upto, band.again_above);
  if (band.skew_mask != 0 && band.above != k_vector_rep_never)
    appendf(out, "vector backends: rep movsb only where (destination - source) & %zu is 0, the loop elsewhere\n",
            band.skew_mask);
  if (band.ymm_above != k_vector_rep_never)
    appendf(out, "vector_avx512: copies above %zu bytes go to the ymm routine\n", band.ymm_above);
#endif
  out += "copy backends available:";
  for (copy_backend b : all_copy_backends)
    if (copy_routine(b, host_cpu()) != nullptr) appendf(out, " %s", to_string(b));
  out += "\n";
  const store_method sm = active_store_method();
  const store_choice& sc = default_store_choice();
  appendf(out, "store method: %s (%s)\n", to_string(sm),
          sm == sc.method ? sc.reason : "forced by mcsafe::testing::force_store");
  if (sc.ignored_env[0] != '\0') appendf(out, "  MCSAFE_FORCE_STORE=%s ignored: %s\n", sc.ignored_env, sc.ignored_why);
  const flush_method fm = active_flush_method();
  const flush_choice& fc = default_flush_choice();
  appendf(out, "flush method: %s (%s)\n", to_string(fm),
          fm == fc.method ? fc.reason : "forced by mcsafe::testing::force_flush");
  if (fc.ignored_env[0] != '\0') appendf(out, "  MCSAFE_FORCE_FLUSH=%s ignored: %s\n", fc.ignored_env, fc.ignored_why);

  const cpu_features& f = host_cpu();
  appendf(out, "cpu: vendor %s, family %#x, model %#x, max leaf %u, xcr0 %#llx\n", f.vendor[0] ? f.vendor : "?", f.family,
          f.model, f.max_leaf, static_cast<unsigned long long>(f.xcr0));
  out += "  features:";
  const struct {
    bool on;
    const char* name;
  } flags[] = {{f.sse2, "sse2"},
               {f.avx, "avx"},
               {f.avx2, "avx2"},
               {f.avx512f, "avx512f"},
               {f.avx512bw, "avx512bw"},
               {f.avx512vl, "avx512vl"},
               {f.erms, "erms"},
               {f.fsrm, "fsrm"},
               {f.movdir64b, "movdir64b"},
               {f.clflush, "clflush"},
               {f.clflushopt, "clflushopt"},
               {f.clwb, "clwb"}};
  for (const auto& fl : flags)
    if (fl.on) appendf(out, " %s", fl.name);
  out += "\n";
  if (f.avx_cpu_only) out += "  note: the CPU has AVX but the OS did not enable its state (XCR0)\n";
  if (f.avx512_cpu_only) out += "  note: the CPU has AVX-512 but the OS did not enable its state (XCR0)\n";

  out += "signal handlers:\n";
  if (g_guard.pin_error[0] != '\0')
    appendf(out, "  could not pin the object holding the handler (install() refused): %s\n", g_guard.pin_error);
  describe_signal(out, SIGBUS, "SIGBUS");
  describe_signal(out, SIGSEGV, "SIGSEGV");
  appendf(out, "  async poison callback: %s\n",
          g_guard.async_fn.load(std::memory_order_acquire) != nullptr ? "set" : "not set");
  sigset_t mask;
  sigemptyset(&mask);
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  appendf(out, "  SIGBUS in this thread: %s\n",
          sigismember(&mask, SIGBUS) == 1 ? "BLOCKED (a fault here kills the process)" : "not blocked");
  detail::describe_altstack(out);
  return out;
}

}  // namespace v1
}  // namespace mcsafe
