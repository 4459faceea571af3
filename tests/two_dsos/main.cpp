// Two shared libraries that both include mcsafe, one linked and one dlopen'ed, plus the
// executable itself: all three recover from faults in one process, whichever installed first.
#include <dlfcn.h>

#include <cstdio>

#include <mcsafe/mcsafe.hpp>

#include "../support.hpp"

extern "C" int linked_dso_check(const unsigned char* cut);

int main(int, char** argv) {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file f(4 * pg, 2 * pg);
  const int linked = linked_dso_check(f.cut());  // the linked DSO installs first
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    std::printf("dlopen: %s\n", dlerror());
    return 3;
  }
  auto fn = reinterpret_cast<int (*)(const unsigned char*)>(dlsym(h, "mcsafe_plugin_check"));
  const int opened = fn != nullptr ? fn(f.cut()) : 4;
  unsigned char buf[64];
  const auto r = mcsafe::mc_safe_copy(buf, f.cut() - 1, 64);  // and the executable's own copy
  const int again = linked_dso_check(f.cut());
  std::printf("linked DSO: %d, dlopened DSO: %d, executable: copied %zu, linked DSO again: %d\n", linked, opened, r.copied,
              again);
  return linked == 0 && opened == 0 && r.copied == 1 && again == 0 ? 0 : 1;
}
