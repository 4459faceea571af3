// Test shim for mcsafe-scan (LD_PRELOAD): when the program maps the file named by
// MCSAFE_SHRINK_PATH, truncates that file to MCSAFE_SHRINK_TO bytes right after, once. The
// scan then runs over a mapping whose tail really raises SIGBUS, as when another process
// shrinks a file mid-scan, and the tool must say the file shrank instead of reporting the lost
// tail as bad media.
// The mapping itself is made with the raw system call: no dlsym, no allocation, nothing a
// sanitizer runtime that is still initialising (GCC's libtsan calls mmap that early) could
// trip over. Built without sanitizers for the same reason (tools/CMakeLists.txt).
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

extern "C" void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  static bool done = false;  // mcsafe-scan maps from one thread
  void* p = reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
  const char* path = std::getenv("MCSAFE_SHRINK_PATH");
  const char* to = std::getenv("MCSAFE_SHRINK_TO");
  struct stat mapped{}, named{};
  if (p != MAP_FAILED && !done && path != nullptr && to != nullptr && fd >= 0 && fstat(fd, &mapped) == 0 &&
      stat(path, &named) == 0 && mapped.st_ino == named.st_ino && mapped.st_dev == named.st_dev) {
    done = true;
    (void)truncate(path, static_cast<off_t>(std::strtoull(to, nullptr, 10)));
  }
  return p;
}
