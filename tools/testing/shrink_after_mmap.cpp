// Test shim for mcsafe-scan (LD_PRELOAD): right after the program maps a file, truncates the
// file named by MCSAFE_SHRINK_PATH to MCSAFE_SHRINK_TO bytes, once. The scan then runs over a
// mapping whose tail really raises SIGBUS, as when another process shrinks a file mid-scan,
// and the tool must say the file shrank instead of reporting the lost tail as bad media.
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

extern "C" void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  using mmap_fn = void* (*)(void*, size_t, int, int, int, off_t);
  static const auto real = reinterpret_cast<mmap_fn>(dlsym(RTLD_NEXT, "mmap"));
  static std::atomic<bool> done{false};
  void* p = real(addr, len, prot, flags, fd, off);
  const char* path = std::getenv("MCSAFE_SHRINK_PATH");
  const char* to = std::getenv("MCSAFE_SHRINK_TO");
  if (p != MAP_FAILED && fd >= 0 && path != nullptr && to != nullptr && !done.exchange(true))
    (void)truncate(path, static_cast<off_t>(std::strtoull(to, nullptr, 10)));
  return p;
}
