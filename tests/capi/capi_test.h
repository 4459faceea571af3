/* capi_test.h - what the C tests of libmcsafe share: CHECK, and files that end under a mapping.
   Each test program includes it once (the helpers are static). Faults are real: a page past the
   end of a truncated MAP_SHARED file raises SIGBUS BUS_ADRERR, a PROT_NONE page SIGSEGV. */
#ifndef MCSAFE_CAPI_TEST_H
#define MCSAFE_CAPI_TEST_H

#include <mcsafe/mcsafe.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_failures;
static int g_checks;

/* A failed check names the case (the format arguments) so that no rerun is needed. */
#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    ++g_checks;                                                              \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: FAIL: %s; case: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                          \
      fputc('\n', stderr);                                                   \
      ++g_failures;                                                          \
    }                                                                        \
  } while (0)

/* The exit status of a test program: 0 when every check passed and there was at least one. */
static inline int test_summary(const char *name) {
  printf("%s: %d checks, %d failed\n", name, g_checks, g_failures);
  return g_failures == 0 && g_checks > 0 ? 0 : 1;
}

static inline size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* A new file of `size` bytes, byte i = (unsigned char)(i * 7 + 1); its path in `path`. */
static inline int make_file(char path[64], size_t size) {
  const char *dir = getenv("TMPDIR");
  snprintf(path, 64, "%s/mcsafe-capi-XXXXXX", dir != NULL && strlen(dir) < 40 ? dir : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) {
    perror("mkstemp");
    exit(2);
  }
  unsigned char *buf = malloc(size);
  for (size_t i = 0; i < size; ++i) buf[i] = (unsigned char)(i * 7 + 1);
  if (write(fd, buf, size) != (ssize_t)size) {
    perror("write");
    exit(2);
  }
  free(buf);
  return fd;
}

/* Truncates `path` to `size` from another process, as a concurrent writer would. */
static inline void truncate_from_child(const char *path, off_t size) {
  pid_t pid = fork();
  if (pid == 0) _exit(truncate(path, size) == 0 ? 0 : 1);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "truncate_from_child failed\n");
    exit(2);
  }
}

/* Two pages of a file mapped MAP_SHARED (read and write), then the file cut to one page: the
   second page raises SIGBUS on any access. */
static inline unsigned char *map_truncated(void) {
  const size_t page = page_size();
  char path[64];
  int fd = make_file(path, 2 * page);
  unsigned char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    perror("mmap");
    exit(2);
  }
  truncate_from_child(path, (off_t)page);
  close(fd);
  unlink(path);
  return m;
}

#endif
