// Test helpers for clear.hpp: force each store method in turn, MOVDIR64B under a SIGILL guard.
#pragma once
#include <setjmp.h>

#include <csignal>
#include <string>

#include "catch2_any.hpp"
#include <mcsafe/clear.hpp>
#include <mcsafe/testing.hpp>

namespace mcsafe_test {

// Whether MOVDIR64B executes on this CPU, found by running one through the library with a
// temporary SIGILL handler that jumps back here (test code only: the library never does
// this). CPUID may not report an instruction the CPU executes (AMD Zen 5), so this is asked
// of the CPU itself, once.
inline bool movdir64b_executes() {
  static const bool executes = [] {
    static sigjmp_buf back;
    struct sigaction sa {
    }, old{};
    sa.sa_handler = [](int) { siglongjmp(back, 1); };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGILL, &sa, &old);
    bool ran = false;
    if (sigsetjmp(back, 1) == 0 && mcsafe::testing::force_store(mcsafe::store_method::movdir64b)) {
      alignas(64) static unsigned char dst[64];
      static const unsigned char src[64] = {1};
      ran = mcsafe::atomic_clear_write(dst, src).ok() && dst[0] == 1;
    }
    sigaction(SIGILL, &old, nullptr);
    mcsafe::testing::reset_store();
    return ran;
  }();
  return executes;
}

// Forces method m for one scope and restores the CPUID choice after it, even on failure.
// `skip` says why m cannot be tested here (empty when it can): the test reports it with WARN
// and returns, so a skip is always visible in the output.
struct store_scope {
  explicit store_scope(mcsafe::store_method m) {
    if (!mcsafe::detail::store_usable(m, mcsafe::detail::host_cpu(), true))
      skip = std::string("SKIP ") + mcsafe::to_string(m) + ": not available on this CPU/build";
    else if (m == mcsafe::store_method::movdir64b && !movdir64b_executes())
      skip = "SKIP movdir64b: MOVDIR64B raises SIGILL on this CPU";
    else
      mcsafe::testing::force_store(m);
  }
  ~store_scope() { mcsafe::testing::reset_store(); }
  store_scope(const store_scope&) = delete;
  store_scope& operator=(const store_scope&) = delete;
  std::string skip;
};

// Runs body(m) with each store method forced in turn, every assertion labelled with the
// method; a method that cannot run here is reported with WARN (a visible SKIP line).
template <class Body>
void for_each_store_method(Body body) {
  for (mcsafe::store_method m : mcsafe::all_store_methods) {
    store_scope scope(m);
    if (!scope.skip.empty()) {
      WARN(scope.skip);
      continue;
    }
    INFO("method " << mcsafe::to_string(m));
    body(m);
  }
}

}  // namespace mcsafe_test
