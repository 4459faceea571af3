/* consumer.cpp's program in C11, through the C interface only: it includes <mcsafe/mcsafe.h>,
   links libmcsafe (shared or static), maps a file, truncates it under the mapping and copies
   across the cut. Built by tests/ecosystem/consumers.sh with find_package(mcsafe-c) (mcsafe::c
   and mcsafe::c_static) and with pkg-config mcsafe-c (--libs and --static --libs). Exit 0 only
   when the copy returned the exact prefix and the fault. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mcsafe/mcsafe.h>

int main(int argc, char **argv) {
  const char *how = argc > 1 ? argv[1] : "c-consumer";
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char path[] = "/tmp/mcsafe-c-consumer-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0 || unlink(path) != 0 || ftruncate(fd, (off_t)(2 * page)) != 0) return 2;
  unsigned char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return 2;
  for (size_t i = 0; i < 2 * page; ++i) map[i] = (unsigned char)(i * 7 + 3);
  if (ftruncate(fd, (off_t)page) != 0) return 2; /* the second page now faults */

  unsigned char buf[300] = {0};
  const unsigned char *src = map + page - 100;
  const mcsafe_copy_result r = mcsafe_copy(buf, src, sizeof buf);
  const int ok = r.copied == 100 && r.fault.kind == MCSAFE_FAULT_BUS_ERROR && r.fault.side == MCSAFE_SIDE_SOURCE &&
                 r.fault.address == (uint64_t)(uintptr_t)(map + page) && memcmp(buf, src, 100) == 0;
  printf("%s: libmcsafe %s, copied %zu of %zu, fault %s on %s at page+%lld: %s\n", how, mcsafe_version_string(), r.copied,
         sizeof buf, mcsafe_fault_kind_string(r.fault.kind), mcsafe_fault_side_string(r.fault.side),
         (long long)(r.fault.address - (uint64_t)(uintptr_t)(map + page)), ok ? "OK" : "FAILED");
  munmap(map, 2 * page);
  close(fd);
  return ok ? 0 : 1;
}
