/* libmcsafe.so loaded with dlopen, as a language binding loads it: unloaded by dlclose while it
   never installed the handler; pinned once it has (guard.hpp invariant 7), so a dlclose leaves
   the handler's code mapped and its faults still caught. argv[1]: the library's path. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>

#include "capi_test.h"

typedef int (*install_fn)(const mcsafe_install_options *);
typedef mcsafe_copy_result (*copy_fn)(void *, const void *, size_t);

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *path = argv[1];
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  CHECK(h != NULL, "dlopen %s: %s", path, dlerror());
  if (h == NULL) return test_summary("capi unload");
  dlclose(h);
  CHECK(dlopen(path, RTLD_NOW | RTLD_NOLOAD) == NULL, "a library that never installed unloads");

  h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  install_fn install = (install_fn)(uintptr_t)dlsym(h, "mcsafe_install");
  copy_fn copy = (copy_fn)(uintptr_t)dlsym(h, "mcsafe_copy");
  CHECK(install != NULL && copy != NULL, "dlsym");
  if (install == NULL || copy == NULL) return test_summary("capi unload");
  CHECK(install(NULL) == 0, "install");
  dlclose(h);
  CHECK(dlopen(path, RTLD_NOW | RTLD_NOLOAD) != NULL, "once installed, the library stays after dlclose");

  /* The handler that was installed is still there and still catches a real fault. */
  const size_t page = page_size();
  unsigned char *m = map_truncated();
  unsigned char buf[64];
  mcsafe_copy_result r = copy(buf, m + page - 10, sizeof buf);
  CHECK(r.copied == 10 && r.fault.kind == MCSAFE_FAULT_BUS_ERROR, "copy after dlclose: copied %zu, kind %u", r.copied,
        (unsigned)r.fault.kind);
  munmap(m, 2 * page);
  return test_summary("capi unload");
}
