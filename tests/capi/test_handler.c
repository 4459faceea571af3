/* A C program that owns its SIGBUS handler: mcsafe_handle_signal, called first, takes the real
   faults inside mcsafe's routines and leaves the rest (a signal sent with raise) to the program;
   mcsafe_install then refuses to go on top of the foreign handler (EBUSY). Also the async-poison
   callback's bookkeeping: set, returned as the previous one, and the handler installed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>

#include "capi_test.h"

static volatile sig_atomic_t g_calls, g_handled;

static void own_handler(int sig, siginfo_t *info, void *context) {
  ++g_calls;
  if (mcsafe_handle_signal(sig, info, context)) ++g_handled;
  /* Not a fault in mcsafe: a real program would do its own thing here; the test's raise() returns. */
}

static void on_poison(uint64_t address, uint32_t lsb) {
  (void)address;
  (void)lsb;
}

int main(void) {
  CHECK(mcsafe_install(NULL) == 0, "install");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = own_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGBUS, &sa, NULL) == 0, "sigaction");

  const size_t page = page_size();
  unsigned char *m = map_truncated();
  unsigned char buf[512];
  mcsafe_copy_result r = mcsafe_copy(buf, m + page - 100, 300);
  CHECK(r.copied == 100 && r.fault.kind == MCSAFE_FAULT_BUS_ERROR && r.fault.address == (uint64_t)(uintptr_t)(m + page),
        "copy through the program's handler: copied %zu, kind %s", r.copied, mcsafe_fault_kind_string(r.fault.kind));
  /* One signal or two: a vector routine may fault first on the range's last bytes (its tail is
     loaded first), and the forward re-copy that finds the lowest bad byte faults again. */
  const int calls = g_calls;
  CHECK(calls >= 1 && calls <= 2 && g_handled == calls, "the fault went through the program's handler: %d calls, %d handled",
        calls, (int)g_handled);
  raise(SIGBUS);
  CHECK(g_calls == calls + 1 && g_handled == calls, "a sent SIGBUS is not mcsafe's: %d calls, %d handled", (int)g_calls,
        (int)g_handled);
  CHECK(mcsafe_install(NULL) == EBUSY, "install on top of a foreign handler is refused");
  CHECK(!mcsafe_handle_signal(SIGBUS, NULL, NULL), "handle_signal without siginfo");

  CHECK(mcsafe_on_async_poison(on_poison) == NULL, "no callback before");
  CHECK(mcsafe_on_async_poison(NULL) == on_poison, "the previous callback is returned");
  CHECK(mcsafe_on_async_poison(NULL) == NULL, "cleared");
  munmap(m, 2 * page);
  return test_summary("capi handler");
}
