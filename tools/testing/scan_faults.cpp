// Test shim for mcsafe-scan (LD_PRELOAD): real faults in the file the tool scans, named by
// MCSAFE_FAULT_PATH, so the tool's answers can be checked on a host without bad media.
//  - MCSAFE_SHRINK_TO=N: right after the tool first maps the file, truncate it to N bytes, as
//    another process shrinking the file mid-scan would. The tail then really raises SIGBUS.
//  - MCSAFE_BAD_PAGE=O (a page-aligned file offset): every mapping of the file that covers O
//    gets, at O, a page of an empty memfd instead, so a load there raises a real SIGBUS
//    (BUS_ADRERR) the way a bad page does, while pread still reads the file. Until a pwrite
//    covers O: then the page counts as repaired and later mappings are whole again.
//  - MCSAFE_GROW_BY=N with MCSAFE_GROW_ON_READ_OF=GOOD: when the tool first reads GOOD (the
//    repair reads each chunk from GOOD just before it writes it), another descriptor appends N
//    bytes to the file (byte i is (i * 7 + 1) & 0xff), as a writer appending during a repair.
// The mapping is made with the raw system call: no dlsym, no allocation, nothing a sanitizer
// runtime that is still initialising (GCC's libtsan calls mmap that early) could trip over.
// Built without sanitizers for the same reason (tools/CMakeLists.txt).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

namespace {

bool is_file(int fd, const char* path) {
  struct stat a {
  }, b{};
  return path != nullptr && fd >= 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
         a.st_dev == b.st_dev;
}
bool is_target(int fd) { return is_file(fd, std::getenv("MCSAFE_FAULT_PATH")); }

long env_number(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtol(v, nullptr, 10) : -1;
}

bool g_shrunk = false, g_repaired = false, g_grown = false;

void grow() {
  const long n = env_number("MCSAFE_GROW_BY");
  if (g_grown || n <= 0) return;
  g_grown = true;
  const int fd = open(std::getenv("MCSAFE_FAULT_PATH"), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return;
  unsigned char chunk[4096];
  for (long at = 0; at < n;) {
    const long k = n - at < static_cast<long>(sizeof chunk) ? n - at : static_cast<long>(sizeof chunk);
    for (long i = 0; i < k; ++i) chunk[i] = static_cast<unsigned char>((at + i) * 7 + 1);
    if (write(fd, chunk, static_cast<size_t>(k)) != k) break;
    at += k;
  }
  close(fd);
}

void note_write(int fd, size_t n, off_t off) {
  if (!is_target(fd)) return;
  const long bad = env_number("MCSAFE_BAD_PAGE");
  if (bad >= 0 && off <= bad && bad < off + static_cast<off_t>(n)) g_repaired = true;
}

}  // namespace

extern "C" ssize_t pread(int fd, void* buf, size_t n, off_t off) {
  if (is_file(fd, std::getenv("MCSAFE_GROW_ON_READ_OF"))) grow();
  return syscall(SYS_pread64, fd, buf, n, off);
}
extern "C" ssize_t pread64(int fd, void* buf, size_t n, off_t off) { return pread(fd, buf, n, off); }

extern "C" void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  void* p = reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
  if (p == MAP_FAILED || !is_target(fd)) return p;
  const long to = env_number("MCSAFE_SHRINK_TO");
  if (to >= 0 && !g_shrunk) {
    g_shrunk = true;
    (void)truncate(std::getenv("MCSAFE_FAULT_PATH"), static_cast<off_t>(to));
  }
  const long bad = env_number("MCSAFE_BAD_PAGE");
  if (bad >= 0 && !g_repaired && off <= bad && bad < off + static_cast<off_t>(len)) {
    const int empty = static_cast<int>(syscall(SYS_memfd_create, "mcsafe-bad-page", MFD_CLOEXEC));
    if (empty >= 0) {
      (void)syscall(SYS_mmap, static_cast<char*>(p) + (bad - off), sysconf(_SC_PAGESIZE), prot, MAP_SHARED | MAP_FIXED,
                    empty, 0);
      close(empty);
    }
  }
  return p;
}

extern "C" ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  note_write(fd, n, off);
  return syscall(SYS_pwrite64, fd, buf, n, off);
}
extern "C" ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) { return pwrite(fd, buf, n, off); }
