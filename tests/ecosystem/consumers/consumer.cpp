// A tiny program that uses mcsafe the way a consumer would: it includes only the umbrella
// header, maps a file, truncates it under the mapping, and copies across the cut. Built four
// ways by tests/ecosystem/consumers.sh (find_package, add_subdirectory, pkg-config, a plain
// copy of include/). Exit 0 only when the copy returned the exact prefix and the fault.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <mcsafe/mcsafe.hpp>

int main(int argc, char** argv) {
  const char* how = argc > 1 ? argv[1] : "consumer";
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  char path[] = "/tmp/mcsafe-consumer-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0 || unlink(path) != 0 || ftruncate(fd, static_cast<off_t>(2 * page)) != 0) return 2;
  void* m = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return 2;
  auto* map = static_cast<unsigned char*>(m);
  for (std::size_t i = 0; i < 2 * page; ++i) map[i] = static_cast<unsigned char>(i * 7 + 3);
  if (ftruncate(fd, static_cast<off_t>(page)) != 0) return 2;  // the second page now faults

  unsigned char buf[300] = {};
  const unsigned char* src = map + page - 100;
  const mcsafe::copy_result r = mcsafe::mc_safe_copy(buf, src, sizeof buf);
  const bool ok = !r.ok() && r.copied == 100 && r.fault.kind == mcsafe::fault_kind::bus_error &&
                  r.fault.side == mcsafe::fault_side::source &&
                  r.fault.address == reinterpret_cast<std::uintptr_t>(map + page) && std::memcmp(buf, src, 100) == 0;
  std::printf("%s: mcsafe %d.%d.%d, copied %zu of %zu, fault %s on %s at page+%td: %s\n", how, MCSAFE_VERSION_MAJOR,
              MCSAFE_VERSION_MINOR, MCSAFE_VERSION_PATCH, r.copied, sizeof buf, mcsafe::to_string(r.fault.kind),
              mcsafe::to_string(r.fault.side), reinterpret_cast<unsigned char*>(r.fault.address) - (map + page),
              ok ? "OK" : "FAILED");
  munmap(m, 2 * page);
  close(fd);
  return ok ? 0 : 1;
}
