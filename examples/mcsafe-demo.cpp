// mcsafe-demo: a file shrinks under its mapping, and a copy across the cut returns a result
// instead of killing the process with SIGBUS.
//
//   mcsafe-demo            runs on a temporary file
//   mcsafe-demo PATH       uses (and overwrites) PATH instead
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <mcsafe/mcsafe.hpp>

int main(int argc, char** argv) {
  const long page = sysconf(_SC_PAGESIZE);
  char tmpl[] = "/tmp/mcsafe-demo-XXXXXX";
  const bool temp = argc < 2;
  const int fd = temp ? mkstemp(tmpl) : open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    std::perror("mcsafe-demo: open");
    return 1;
  }
  if (temp) unlink(tmpl);
  const std::size_t size = 4 * static_cast<std::size_t>(page);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    std::perror("mcsafe-demo: ftruncate");
    return 1;
  }
  auto* map = static_cast<unsigned char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (map == MAP_FAILED) {
    std::perror("mcsafe-demo: mmap");
    return 1;
  }
  for (std::size_t i = 0; i < size; ++i) map[i] = static_cast<unsigned char>('a' + i % 26);

  // Someone else truncates the file to two pages: the mapping's last two pages now raise
  // SIGBUS on access, exactly as a DAX page with a bad block or hardware poison would.
  const std::size_t cut = 2 * static_cast<std::size_t>(page);
  if (ftruncate(fd, static_cast<off_t>(cut)) != 0) {
    std::perror("mcsafe-demo: ftruncate");
    return 1;
  }
  std::printf("mapped %zu bytes at %p, file truncated to %zu bytes (cut at %p)\n", size, static_cast<void*>(map), cut,
              static_cast<void*>(map + cut));

  std::vector<unsigned char> buf(8192);
  const std::size_t from = cut - 1000;
  std::printf("mc_safe_copy(buf, map + %zu, %zu) ...\n", from, buf.size());
  const mcsafe::copy_result r = mcsafe::mc_safe_copy(buf.data(), map + from, buf.size());
  std::printf("  copied  = %zu bytes (the bytes before the cut)\n", r.copied);
  std::printf("  fault   = %s on the %s side at %p (%s)\n", mcsafe::to_string(r.fault.kind), mcsafe::to_string(r.fault.side),
              reinterpret_cast<void*>(r.fault.address),
              r.fault.address == reinterpret_cast<std::uintptr_t>(map + cut) ? "the first byte past the cut"
                                                                             : "UNEXPECTED address");
  const bool data_ok = std::memcmp(buf.data(), map + from, r.copied) == 0;
  std::printf("  data    = %s\n", data_ok ? "the copied bytes equal the source" : "MISMATCH");

  auto v = mcsafe::mc_safe_load(reinterpret_cast<const std::uint64_t*>(map + cut + 64));
  std::printf("mc_safe_load<uint64_t>(map + %zu): %s\n", cut + 64,
              v ? "a value (unexpected)" : mcsafe::to_string(v.error().kind));

  std::printf("\n%s", mcsafe::diagnose().c_str());
  munmap(map, size);
  close(fd);
  const bool ok = !r && r.copied == 1000 && data_ok && !v;
  std::printf("\n%s\n", ok ? "the process is still alive: the fault came back as a value" : "demo FAILED");
  return ok ? 0 : 1;
}
