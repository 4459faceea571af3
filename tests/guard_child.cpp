// A fresh process per scenario, for what cannot be tested inside the Catch2 process: which
// handler was there before mcsafe, and whether the process dies as it would have without it.
// Built with MCSAFE_NO_AUTO_INSTALL, so each scenario decides when mcsafe installs.
// Exit codes: 0 = scenario behaved; 40+ = a specific expectation failed; death by a signal
// is checked by the parent (tests/test_guard.cpp).
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <mcsafe/mcsafe.hpp>

#include "support.hpp"

namespace {

volatile std::uintptr_t g_expect_addr = 0;
std::atomic<int> g_count{0};
std::atomic<int> g_last_code{0};

void siginfo_handler(int, siginfo_t* si, void*) {
  if (si->si_code > 0) _exit(reinterpret_cast<std::uintptr_t>(si->si_addr) == g_expect_addr ? 42 : 50);
  g_last_code.store(si->si_code);
  g_count.fetch_add(1);
}
void plain_handler(int) { _exit(43); }

// A previous handler that itself faults: a read past the end of the truncated file.
volatile const unsigned char* g_bad_byte = nullptr;
void faulting_siginfo_handler(int, siginfo_t*, void*) { (void)*g_bad_byte; }
void faulting_plain_handler(int) { (void)*g_bad_byte; }

void set_previous(void (*info)(int, siginfo_t*, void*), void (*plain)(int)) {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  if (info != nullptr) {
    sa.sa_sigaction = info;
    sa.sa_flags = SA_SIGINFO;
  } else {
    sa.sa_handler = plain;
  }
  sigaction(SIGBUS, &sa, nullptr);
}

// A copy across the cut must be recovered by mcsafe; then a plain load past the cut (outside
// any guarded routine) is the fault that goes to whatever was there before.
int recover_then_touch(mcsafe_test::truncated_file& f) {
  unsigned char buf[256];
  const auto r = mcsafe::mc_safe_copy(buf, f.cut() - 10, 100);
  if (r.copied != 10 || r.fault.kind != mcsafe::fault_kind::bus_error) return 41;
  g_expect_addr = reinterpret_cast<std::uintptr_t>(f.cut() + 5);
  return *reinterpret_cast<volatile unsigned char*>(f.cut() + 5);  // faults outside mcsafe
}

// Sends this process SIGBUS with a chosen si_code through rt_sigqueueinfo: the kernel allows a
// process to queue any si_code to itself, and delivers it exactly like its own.
void queue_self(int code, void* addr, short lsb) {
  siginfo_t si;
  std::memset(&si, 0, sizeof si);
  si.si_signo = SIGBUS;
  si.si_code = code;
  si.si_addr = addr;
  si.si_addr_lsb = lsb;
  syscall(SYS_rt_tgsigqueueinfo, getpid(), static_cast<pid_t>(syscall(SYS_gettid)), SIGBUS, &si);
}

std::atomic<std::uintptr_t> g_async_addr{0};
std::atomic<unsigned> g_async_lsb{0};
void on_async(std::uintptr_t addr, unsigned lsb) noexcept {
  g_async_addr.store(addr);
  g_async_lsb.store(lsb);
}

// --- the handler's stack (sigaltstack) -------------------------------------------------------
// An alternate stack filled with a pattern: after a signal, the lowest byte that changed says how
// deep the kernel's frame and the handlers below it went.
constexpr std::size_t k_alt_size = 64 * 1024;
alignas(64) unsigned char g_alt[k_alt_size];
constexpr unsigned char k_paint = 0xa5;
void use_altstack(unsigned char* base, std::size_t size) {
  stack_t ss{};
  ss.ss_sp = base;
  ss.ss_size = size;
  sigaltstack(&ss, nullptr);
}
void paint() { std::memset(g_alt, k_paint, sizeof g_alt); }
std::size_t depth() {  // bytes used, counted down from the top of g_alt
  std::size_t i = 0;
  while (i < k_alt_size && g_alt[i] == k_paint) ++i;
  return k_alt_size - i;
}
// Where a handler's frame began: the kernel places the return address just below the ucontext.
std::atomic<std::uintptr_t> g_entry_sp{0}, g_prev_local{0};
void frame_probe(int, siginfo_t*, void* uc) { g_entry_sp.store(reinterpret_cast<std::uintptr_t>(uc) - 8); }
// The smallest alternate stack the kernel accepts for this process's signal frames.
std::size_t min_altstack() {
  const unsigned long v = getauxval(AT_MINSIGSTKSZ);
  return v != 0 ? v : static_cast<std::size_t>(MINSIGSTKSZ);
}
// The kernel's frame on the whole (painted) alternate stack, as a plain handler sees it.
std::size_t measure_frame() {
  use_altstack(g_alt, k_alt_size);
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sa.sa_sigaction = frame_probe;
  sigaction(SIGUSR1, &sa, nullptr);
  paint();
  raise(SIGUSR1);
  return reinterpret_cast<std::uintptr_t>(g_alt + k_alt_size) - g_entry_sp.load();
}
void prev_probe(int, siginfo_t*, void*) {
  // Its frame, not a local's address: ASan may keep locals on a heap "fake stack".
  g_prev_local.store(reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string s = argv[1];
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file f(4 * pg, 2 * pg);

  if (s == "chain-siginfo") {  // expect exit 42
    set_previous(siginfo_handler, nullptr);
    mcsafe::install();
    return recover_then_touch(f) + 100;
  }
  if (s == "chain-plain") {  // expect exit 43
    set_previous(nullptr, plain_handler);
    mcsafe::install();
    return recover_then_touch(f) + 100;
  }
  if (s == "default-dies") {  // expect death by SIGBUS
    mcsafe::install();
    return recover_then_touch(f) + 100;
  }
  if (s == "ignored-then-fault") {  // expect death by SIGBUS after surviving a sent SIGBUS
    set_previous(nullptr, SIG_IGN);
    mcsafe::install();
    kill(getpid(), SIGBUS);
    return recover_then_touch(f) + 100;
  }
  if (s == "sent-sigbus-default") {  // expect death by SIGBUS
    mcsafe::install();
    kill(getpid(), SIGBUS);
    return 44;
  }
  if (s == "sent-sigbus-during-copies") {  // expect exit 0
    // A handler before mcsafe counts sent signals; another thread keeps sending SIGBUS
    // (si_code SI_QUEUE, < 0) to this thread while it copies: no copy may report a fault.
    set_previous(siginfo_handler, nullptr);
    mcsafe::install();
    std::vector<unsigned char> a(16u << 20, 1), b(16u << 20);
    const pthread_t self = pthread_self();
    std::atomic<bool> stop{false};
    int sent = 0;
    std::thread sender([&] {
      while (!stop.load()) {
        union sigval v {};
        if (pthread_sigqueue(self, SIGBUS, v) == 0) ++sent;
        usleep(200);
      }
    });
    int wrong = 0;
    for (int i = 0; i < 200; ++i)
      if (!mcsafe::mc_safe_copy(b.data(), a.data(), a.size())) ++wrong;
    stop.store(true);
    sender.join();
    // Standard signals do not queue: a SIGBUS sent while one is pending is merged with it,
    // so the previous handler sees between 1 and `sent` of them. Let the last one land.
    usleep(20000);
    std::printf("sent %d, received %d by the previous handler, %d copies reported a fault\n", sent, g_count.load(), wrong);
    const int got = g_count.load();
    if (wrong != 0) return 45;
    if (got == 0 || got > sent) return 55;
    return g_last_code.load() == SI_QUEUE ? 0 : 56;
  }
  if (s == "async-poison-callback") {  // expect exit 0
    mcsafe::on_async_poison(on_async);
    queue_self(BUS_MCEERR_AO, f.data() + pg, 12);
    if (g_async_addr.load() != reinterpret_cast<std::uintptr_t>(f.data() + pg) || g_async_lsb.load() != 12) return 46;
    return 0;
  }
  if (s == "async-poison-no-callback") {  // expect death by SIGBUS: never lost silently
    mcsafe::install();
    queue_self(BUS_MCEERR_AO, f.data() + pg, 12);
    return 47;
  }
  if (s == "own-handler") {  // expect exit 0: a runtime that owns SIGBUS calls handle_signal first
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sa.sa_sigaction = [](int sig, siginfo_t* si, void* ctx) {
      if (mcsafe::handle_signal(sig, si, ctx)) return;
      _exit(48);
    };
    sigaction(SIGBUS, &sa, nullptr);
    unsigned char buf[64];
    const auto r = mcsafe::mc_safe_copy(buf, f.cut() - 3, 64);
    if (mcsafe::installed(SIGBUS)) return 49;  // MCSAFE_NO_AUTO_INSTALL kept it out
    return r.copied == 3 && r.fault.kind == mcsafe::fault_kind::bus_error ? 0 : 51;
  }
  if (s == "previous-faults-siginfo" || s == "previous-faults-plain") {
    // expect death by SIGBUS, at once: the previous handler runs with SIGBUS blocked, as the
    // kernel would have run it. (It recursed until the stack overflowed: death by SIGSEGV.)
    g_bad_byte = f.cut() + 1;
    if (s == "previous-faults-siginfo")
      set_previous(faulting_siginfo_handler, nullptr);
    else
      set_previous(nullptr, faulting_plain_handler);
    mcsafe::install();
    return recover_then_touch(f) + 100;
  }
  if (s == "reinstall-after-default") {  // expect exit 0
    // Someone restores SIG_DFL over mcsafe: install() must put the handler back on top (it
    // returned success and did nothing: the next guarded copy died).
    mcsafe::install();
    signal(SIGBUS, SIG_DFL);
    if (mcsafe::diagnose().find("faults will NOT be caught") == std::string::npos) return 60;
    if (mcsafe::install() != std::errc{}) return 61;
    unsigned char buf[64];
    const auto r = mcsafe::mc_safe_copy(buf, f.cut() - 3, 64);
    if (r.copied != 3) return 62;
    return mcsafe::diagnose().find("SIGBUS: installed by") != std::string::npos &&
                   mcsafe::diagnose().find("(on top); faults are caught") != std::string::npos
               ? 0
               : 63;
  }
  if (s == "install-over-foreign") {  // expect exit 0
    // A handler that is not mcsafe replaced ours: install() cannot know whether it chains to
    // us, and going on top of it could loop. It refuses and says so (it returned success).
    mcsafe::install();
    set_previous(nullptr, plain_handler);
    if (mcsafe::install() != std::errc::device_or_resource_busy) return 64;
    const std::string d = mcsafe::diagnose();
    std::fputs(d.c_str(), stdout);
    return d.find("not mcsafe: faults are caught only if it calls mcsafe::handle_signal") != std::string::npos ? 0 : 65;
  }
  if (s == "print-diagnose") {  // prints the report after one copy (env forcing is checked by the parent)
    mcsafe::install();
    unsigned char buf[64];
    const auto r = mcsafe::mc_safe_copy(buf, f.cut() - 3, 64);
    std::fputs(mcsafe::diagnose().c_str(), stdout);
    return r.copied == 3 ? 0 : 54;
  }
  if (s == "altstack-usage") {  // prints what the handler needs below the kernel's frame; exit 0
    const std::size_t frame = measure_frame();
    const std::size_t probe = depth();
    // The previous handler (for faults outside the routines) is a probe that records its depth.
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sa.sa_sigaction = prev_probe;
    sigaction(SIGBUS, &sa, nullptr);
    mcsafe::install({.catch_segv = true});
    unsigned char buf[256];
    paint();
    const bool copy_ok = mcsafe::mc_safe_copy(buf, f.cut() - 100, 200).copied == 100;
    const std::size_t copy = depth() - frame;

    paint();
    const bool load_ok = !mcsafe::mc_safe_load(reinterpret_cast<const std::uint64_t*>(f.cut())).has_value();
    const std::size_t load = depth() - frame;
    void* ro = mmap(nullptr, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    paint();
    const bool segv_ok = mcsafe::mc_safe_copy(buf, ro, 64).fault.kind == mcsafe::fault_kind::segv;
    const std::size_t segv = depth() - frame;
    paint();
    queue_self(BUS_ADRERR, f.cut(), 0);  // not in a routine: chained to the probe
    const std::size_t chain =
        static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(g_alt + k_alt_size) - frame - g_prev_local.load());
    std::printf(
        "kernel frame %zu bytes (AT_MINSIGSTKSZ %lu, a plain handler used %zu); mcsafe's handler below it: "
        "copy fault %zu, inline load %zu, SIGSEGV %zu, down to a chained handler's locals %zu; limit %zu\n",
        frame, getauxval(AT_MINSIGSTKSZ), probe, copy, load, segv, chain, mcsafe::k_handler_stack_bytes);
    const std::size_t most = std::max({copy, load, segv, chain});
    if (!copy_ok || !load_ok || !segv_ok) return 66;
    return most <= mcsafe::k_handler_stack_bytes ? 0 : 67;
  }
  if (s == "altstack-minimum") {  // expect exit 0
    // An alternate stack of exactly the kernel's minimum, in the middle of a painted buffer: every
    // kind of recovered fault returns exactly, and nothing below the stack is written.
    const std::size_t size = min_altstack();
    unsigned char* const base = g_alt + k_alt_size / 2;
    paint();
    use_altstack(base, size);
    mcsafe::install({.catch_segv = true});
    unsigned char buf[256];
    const bool copy_ok = mcsafe::mc_safe_copy(buf, f.cut() - 100, 200).copied == 100;
    const bool load_ok = !mcsafe::mc_safe_load(reinterpret_cast<const std::uint64_t*>(f.cut())).has_value();
    void* none = mmap(nullptr, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const auto seg = mcsafe::mc_safe_copy(buf, none, 64);
    std::size_t below = 0;  // bytes written below the alternate stack
    for (std::size_t i = 0; i < k_alt_size / 2; ++i)
      if (g_alt[i] != k_paint) below = std::max(below, k_alt_size / 2 - i);
    std::printf("alternate stack %zu bytes: copy %d, load %d, SIGSEGV %d; %zu bytes written below it\n", size, copy_ok,
                load_ok, seg.fault.kind == mcsafe::fault_kind::segv, below);
    if (below != 0) return 68;
    return copy_ok && load_ok && seg.fault.kind == mcsafe::fault_kind::segv ? 0 : 69;
  }
  if (s == "altstack-minimum-chain") {  // expect death by SIGBUS: chained to SIG_DFL from a small stack
    use_altstack(g_alt + k_alt_size / 2, min_altstack());
    mcsafe::install();
    return recover_then_touch(f) + 100;
  }
  if (s == "altstack-nested") {  // expect death by SIGBUS: no stack left to run the handler on
    // A handler of the program's own runs on the alternate stack and faults in a guarded copy:
    // the second frame leaves less than the handler needs below it, and the interrupted code was
    // on that same stack. The process dies of the signal instead of writing below the stack.
    const std::size_t frame = measure_frame();
    // Two frames, the first handler's own frames down to the fault (a few hundred bytes, more at
    // -O0), the red zone the kernel skips, and less than the handler needs below all that.
    use_altstack(g_alt + k_alt_size - (2 * frame + 1536), 2 * frame + 1536);
    g_bad_byte = f.cut();
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sa.sa_sigaction = [](int, siginfo_t*, void*) {
      unsigned char b[16];
      (void)mcsafe::mc_safe_copy(b, const_cast<const unsigned char*>(g_bad_byte), 16);
      _exit(70);  // recovered where there was no room to run
    };
    sigaction(SIGUSR1, &sa, nullptr);
    mcsafe::install();
    raise(SIGUSR1);
    return 71;
  }
  if (s == "altstack-diagnose") {  // prints diagnose()'s line for four alternate stacks; exit 0
    const std::size_t minimum = min_altstack();
    for (const std::size_t size : {std::size_t{0}, std::size_t{2048}, minimum, k_alt_size}) {
      if (size == 0) {
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, nullptr);
      } else {
        use_altstack(g_alt, size);
      }
      const std::string d = mcsafe::diagnose();
      const std::size_t at = d.find("alternate signal stack");
      std::printf("%zu: %s\n", size, at == std::string::npos ? "MISSING" : d.substr(at, d.find('\n', at) - at).c_str());
    }
    return 0;
  }
  if (s == "blocked") {  // expect death by SIGBUS: the kernel forces the default action
    mcsafe::install();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGBUS);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    if (mcsafe::diagnose().find("SIGBUS in this thread: BLOCKED") == std::string::npos) return 52;
    unsigned char buf[64];
    mcsafe::mc_safe_copy(buf, f.cut() - 3, 64);
    return 53;
  }
  return 2;
}
