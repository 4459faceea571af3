// Plugins that use mcsafe, loaded and unloaded in every order (guard.hpp, invariant 7).
// The host itself does not use mcsafe: it links one library that does (L) and dlopens three
// plugins that do: a and b (default visibility) and h (-fvisibility=hidden). Each scenario runs
// twice, each time in a fresh child: a list of steps, then a guarded copy and load in every
// object still loaded, then either a plain read past the end of a truncated file, which must
// kill the child with SIGBUS (before the fix it died with SIGSEGV: the handler on top pointed
// into an unmapped plugin), or a check that a plugin that installed the handler is still
// mapped after dlclose (pinned) and one that never did has unloaded.
// Usage: mcsafe_unload_host <plugin a> <plugin b> <plugin h>
#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "../support.hpp"

extern "C" int linked_dso_check(const unsigned char* cut);

namespace {

using check_fn = int (*)(const unsigned char*);
using diagnose_fn = const char* (*)();

struct plugin {
  char name;
  const char* path;
  void* handle = nullptr;
  bool used = false;  // its mcsafe installed the handler (a check ran in it)
};

struct scenario {
  const char* steps;  // "a+" open, "a-" close, "a?" check, "L?" check the linked library,
                      // "D" a's and b's diagnose() tell the truth about each other
  const char* what;
};

const scenario k_scenarios[] = {
    {"a+ a? b+ b? b-", "two plugins, close the later one"},
    {"a+ a? b+ b? a-", "two plugins, close the earlier one"},
    {"a+ a? b+ b? b- a-", "two plugins, close both, later first"},
    {"a+ a? b+ b? a- b-", "two plugins, close both, earlier first"},
    {"a+ a? b+ b? D b-", "two plugins, diagnose() in each"},
    {"a+ b+ b? a? a- b-", "two plugins, the later one installs first"},
    {"h+ h? h-", "a lone hidden-visibility plugin"},
    {"h+ h? a+ a? h-", "hidden plugin under a plugin, close the hidden one"},
    {"a+ a? h+ h? h- a-", "hidden plugin over a plugin, close both"},
    {"L? a+ a? a-", "a plugin over the linked library"},
    {"a+ a? L? a-", "the linked library over a plugin"},
    {"a+ a? a- a+ a?", "a plugin closed and opened again"},
    {"a+ b+ b- a?", "a plugin that never installed is closed, then another installs"},
    {"a+ a-", "a plugin that never installed"},
};

plugin* find(std::vector<plugin>& ps, char c) {
  for (plugin& p : ps)
    if (p.name == c) return &p;
  return nullptr;
}

int check(plugin& p, const unsigned char* cut) {
  auto fn = reinterpret_cast<check_fn>(dlsym(p.handle, "mcsafe_plugin_check"));
  if (fn == nullptr) return 90;
  p.used = true;
  return fn(cut);
}

const char* diagnose(plugin& p) {
  auto fn = reinterpret_cast<diagnose_fn>(dlsym(p.handle, "mcsafe_plugin_diagnose"));
  return fn != nullptr ? fn() : "";
}

// The SIGBUS line of a diagnose() report.
std::string sigbus_line(const std::string& report) {
  const std::size_t b = report.find("  SIGBUS:");
  return b == std::string::npos ? "" : report.substr(b + 1, report.find('\n', b) - b - 1);
}

bool contains(const char* hay, const char* needle) { return std::strstr(hay, needle) != nullptr; }

// Runs in the child. Returns only on a failed expectation (an exit code for the parent).
// With `fault`, ends with a plain fault that must kill; else returns 0 when every plugin that
// installed the handler is still mapped after its dlclose and every other one is gone.
int run(const scenario& s, std::vector<plugin> ps, bool fault) {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file f(4 * pg, 2 * pg);
  bool linked_used = false;
  std::vector<plugin> closed;
  for (const char* p = s.steps; *p != '\0'; ++p) {
    if (*p == ' ') continue;
    if (*p == 'D') {  // a installed first, b on top: both must say faults are caught
      const std::string da = diagnose(*find(ps, 'a')), db = diagnose(*find(ps, 'b'));
      std::printf("    a's diagnose():%s\n    b's diagnose():%s\n", sigbus_line(da).c_str(), sigbus_line(db).c_str());
      if (!contains(da.c_str(), "faults are caught") || contains(da.c_str(), "NOT") ||
          !contains(da.c_str(), find(ps, 'b')->path))
        return 30;
      if (!contains(db.c_str(), "(on top); faults are caught")) return 31;
      continue;
    }
    const char c = *p++;
    const char op = *p;
    if (c == 'L') {
      if (linked_dso_check(f.cut()) != 0) return 20;
      linked_used = true;
      continue;
    }
    plugin* pl = find(ps, c);
    if (pl == nullptr) return 91;
    if (op == '+') {
      pl->handle = dlopen(pl->path, RTLD_NOW | RTLD_LOCAL);
      if (pl->handle == nullptr) {
        std::printf("    dlopen %s: %s\n", pl->path, dlerror());
        return 92;
      }
    } else if (op == '-') {
      if (dlclose(pl->handle) != 0) return 93;
      pl->handle = nullptr;
      closed.push_back(*pl);
    } else if (op == '?') {
      if (check(*pl, f.cut()) != 0) return 21;
    }
  }
  // A guarded copy in every object still loaded.
  for (plugin& p : ps)
    if (p.handle != nullptr && check(p, f.cut()) != 0) return 22;
  if (linked_used && linked_dso_check(f.cut()) != 0) return 23;
  if (!fault) {
    for (const plugin& c : closed) {
      bool reopened = false;
      for (const plugin& p : ps) reopened = reopened || (p.name == c.name && p.handle != nullptr);
      if (reopened) continue;
      void* h = dlopen(c.path, RTLD_NOW | RTLD_NOLOAD);
      std::printf("    %c after dlclose: %s\n", c.name, h != nullptr ? "still mapped (pinned)" : "unloaded");
      if ((h != nullptr) != c.used) return 40;
    }
    return 0;
  }
  // A plain fault, outside every routine: the process must die of it with SIGBUS.
  return 50 + *reinterpret_cast<volatile const unsigned char*>(f.cut() + 5);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  std::setvbuf(stdout, nullptr, _IONBF, 0);  // the children leave with _exit
  const std::vector<plugin> plugins = {{'a', argv[1]}, {'b', argv[2]}, {'h', argv[3]}};
  int failed = 0;
  for (const scenario& s : k_scenarios) {
    std::printf("%-66s [%s]\n", s.what, s.steps);
    for (const bool fault : {true, false}) {
      const pid_t pid = fork();
      if (pid == 0) {
        const struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        _exit(run(s, plugins, fault));
      }
      int st = 0;
      waitpid(pid, &st, 0);
      const bool good = fault ? WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS : WIFEXITED(st) && WEXITSTATUS(st) == 0;
      if (WIFSIGNALED(st))
        std::printf("  %s: killed by signal %d (%s)\n", good ? "ok" : "FAIL", WTERMSIG(st), strsignal(WTERMSIG(st)));
      else
        std::printf("  %s: exit %d%s\n", good ? "ok" : "FAIL", WEXITSTATUS(st),
                    good ? "" : " (a failed expectation, see unload_host.cpp)");
      failed += !good;
    }
  }
  std::printf("%d of %zu runs failed\n", failed, 2 * std::size(k_scenarios));
  return failed == 0 ? 0 : 1;
}
