/* mcsafe_copy, loads and stores from C: the fault matrix across a truncated file's end (real
   SIGBUS, both sides, sizes around every copy class), a PROT_NONE page with catch_segv (real
   SIGSEGV), and arguments refused before anything is touched. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>

#include "capi_test.h"

/* Bytes before the end of the good page, and bytes past it, for the matrix: the inline sizes
   (up to 128), the routines' size classes and a whole page. */
static const size_t k_before[] = {0, 1, 3, 7, 8, 15, 16, 31, 63, 64, 100, 127, 128, 1000, 4095};
static const size_t k_after[] = {1, 2, 8, 57, 64, 200, 4096};

static void check_fault(mcsafe_fault f, uint8_t kind, uint8_t side, const void *address, const char *what, size_t before,
                        size_t after) {
  CHECK(f.kind == kind, "%s, %zu bytes before the end, %zu after: kind %s", what, before, after,
        mcsafe_fault_kind_string(f.kind));
  CHECK(f.side == side, "%s, %zu before, %zu after: side %s", what, before, after, mcsafe_fault_side_string(f.side));
  CHECK(f.address == (uint64_t)(uintptr_t)address, "%s, %zu before, %zu after: address %#llx, expected %p", what, before,
        after, (unsigned long long)f.address, address);
}

static void copy_across_truncated_end(void) {
  const size_t page = page_size();
  unsigned char *m = map_truncated();
  unsigned char *buf = malloc(2 * page);
  unsigned char *pattern = malloc(2 * page);
  for (size_t i = 0; i < 2 * page; ++i) pattern[i] = (unsigned char)(i * 13 + 5);
  for (size_t b = 0; b < sizeof k_before / sizeof k_before[0]; ++b) {
    for (size_t a = 0; a < sizeof k_after / sizeof k_after[0]; ++a) {
      const size_t before = k_before[b] < page ? k_before[b] : page;
      const size_t n = before + k_after[a];
      unsigned char *at = m + page - before;
      /* Source side: the file's bytes up to its end, then the fault. */
      memset(buf, 0, n);
      mcsafe_copy_result r = mcsafe_copy(buf, at, n);
      CHECK(r.copied == before, "read, %zu before, %zu after: copied %zu", before, k_after[a], r.copied);
      check_fault(r.fault, MCSAFE_FAULT_BUS_ERROR, MCSAFE_SIDE_SOURCE, m + page, "read", before, k_after[a]);
      CHECK(r.fault.si_code == BUS_ADRERR, "read, %zu before: si_code %d", before, (int)r.fault.si_code);
      CHECK(memcmp(buf, at, r.copied) == 0, "read, %zu before, %zu after: copied bytes differ", before, k_after[a]);
      /* Destination side: exactly `before` bytes land in the file. */
      memset(at, 0, before);
      r = mcsafe_copy(at, pattern, n);
      CHECK(r.copied == before, "write, %zu before, %zu after: copied %zu", before, k_after[a], r.copied);
      check_fault(r.fault, MCSAFE_FAULT_BUS_ERROR, MCSAFE_SIDE_DESTINATION, m + page, "write", before, k_after[a]);
      CHECK(memcmp(at, pattern, before) == 0, "write, %zu before, %zu after: stored bytes differ", before, k_after[a]);
    }
  }
  free(pattern);
  free(buf);
  munmap(m, 2 * page);
}

static void loads_and_stores(void) {
  const size_t page = page_size();
  unsigned char *m = map_truncated();
  const unsigned char *end = m + page;
  /* Good memory: the bytes, at any alignment. */
  for (size_t off = 0; off < 8; ++off) {
    const unsigned char *p = m + 64 + off;
    uint8_t v8 = 0;
    uint16_t v16 = 0, e16;
    uint32_t v32 = 0, e32;
    uint64_t v64 = 0, e64;
    memcpy(&e16, p, 2);
    memcpy(&e32, p, 4);
    memcpy(&e64, p, 8);
    CHECK(mcsafe_load_u8(p, &v8).kind == MCSAFE_FAULT_NONE && v8 == *p, "load_u8 at +%zu", off);
    CHECK(mcsafe_load_u16(p, &v16).kind == MCSAFE_FAULT_NONE && v16 == e16, "load_u16 at +%zu", off);
    CHECK(mcsafe_load_u32(p, &v32).kind == MCSAFE_FAULT_NONE && v32 == e32, "load_u32 at +%zu", off);
    CHECK(mcsafe_load_u64(p, &v64).kind == MCSAFE_FAULT_NONE && v64 == e64, "load_u64 at +%zu", off);
    unsigned char *q = m + 128 + off;
    CHECK(mcsafe_store_u64(q, 0x0102030405060708ull).copied == 8, "store_u64 at +%zu", off);
    CHECK(memcmp(q, &(uint64_t){0x0102030405060708ull}, 8) == 0, "store_u64 at +%zu: bytes", off);
    CHECK(mcsafe_store_u32(q, 0xa1b2c3d4u).copied == 4 && memcmp(q, &(uint32_t){0xa1b2c3d4u}, 4) == 0, "store_u32 at +%zu",
          off);
    CHECK(mcsafe_store_u16(q, 0xbeef).copied == 2 && memcmp(q, &(uint16_t){0xbeef}, 2) == 0, "store_u16 at +%zu", off);
    CHECK(mcsafe_store_u8(q, 0x5a).copied == 1 && *q == 0x5a, "store_u8 at +%zu", off);
  }
  /* Past the end of the file: the fault, and a zero value. */
  uint64_t v = 42;
  mcsafe_fault f = mcsafe_load_u64(end, &v);
  check_fault(f, MCSAFE_FAULT_BUS_ERROR, MCSAFE_SIDE_SOURCE, end, "load_u64 past the end", 0, 8);
  CHECK(v == 0, "load_u64 past the end: value %llu", (unsigned long long)v);
  uint8_t v8 = 42;
  f = mcsafe_load_u8(end + 100, &v8);
  check_fault(f, MCSAFE_FAULT_BUS_ERROR, MCSAFE_SIDE_SOURCE, end + 100, "load_u8 past the end", 0, 1);
  /* Straddling the end: the fault names the first byte past it. */
  uint32_t v32 = 42;
  f = mcsafe_load_u32(end - 2, &v32);
  check_fault(f, MCSAFE_FAULT_BUS_ERROR, MCSAFE_SIDE_SOURCE, end, "load_u32 straddling", 2, 2);
  CHECK(v32 == 0, "load_u32 straddling: value %u", (unsigned)v32);
  /* A straddling store: the bytes before the end land, `copied` says how many. */
  mcsafe_copy_result r = mcsafe_store_u64(m + page - 3, 0x1122334455667788ull);
  CHECK(r.copied == 3, "store_u64 straddling: copied %zu", r.copied);
  check_fault(r.fault, MCSAFE_FAULT_BUS_ERROR, MCSAFE_SIDE_DESTINATION, end, "store_u64 straddling", 3, 5);
  CHECK(memcmp(m + page - 3, &(uint64_t){0x1122334455667788ull}, 3) == 0, "store_u64 straddling: the 3 bytes");
  r = mcsafe_store_u16(m + page, 7);
  CHECK(r.copied == 0 && r.fault.kind == MCSAFE_FAULT_BUS_ERROR, "store_u16 past the end: copied %zu, kind %s", r.copied,
        mcsafe_fault_kind_string(r.fault.kind));
  munmap(m, 2 * page);
}

/* Good memory at the sizes of every path (inline, routine, large): all bytes copied and every
   field of the result written, whatever the caller's result memory held before. */
static void good_memory_every_path(void) {
  static const size_t sizes[] = {0,   1,   7,   8,   15,  16,  32,  33,  57,   64,   65,   120,
                                 128, 129, 200, 256, 257, 300, 512, 513, 1000, 4096, 70000};
  unsigned char *src = malloc(70000), *dst = malloc(70000);
  for (size_t i = 0; i < 70000; ++i) src[i] = (unsigned char)(i * 7 + 1);
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) {
    const size_t n = sizes[k];
    mcsafe_copy_result r;
    memset(&r, 0xa5, sizeof r);
    memset(dst, 0, n);
    r = mcsafe_copy(dst, src, n);
    CHECK(r.copied == n && r.fault.kind == MCSAFE_FAULT_NONE && r.fault.side == MCSAFE_SIDE_NONE && r.fault.address == 0 &&
              r.fault.lsb == 0 && r.fault.si_code == 0,
          "good memory, %zu bytes: copied %zu kind %s side %s address %#llx lsb %u si_code %d", n, r.copied,
          mcsafe_fault_kind_string(r.fault.kind), mcsafe_fault_side_string(r.fault.side),
          (unsigned long long)r.fault.address, (unsigned)r.fault.lsb, (int)r.fault.si_code);
    CHECK(n == 0 || memcmp(dst, src, n) == 0, "good memory, %zu bytes: bytes differ", n);
  }
  free(dst);
  free(src);
}

static void refused_arguments(void) {
  unsigned char buf[16] = {0};
  mcsafe_copy_result r = mcsafe_copy(NULL, buf, 5);
  CHECK(r.copied == 0 && r.fault.kind == MCSAFE_FAULT_INVALID_ARGUMENT && r.fault.side == MCSAFE_SIDE_DESTINATION &&
            r.fault.si_code == 0,
        "copy to NULL: kind %s side %s", mcsafe_fault_kind_string(r.fault.kind), mcsafe_fault_side_string(r.fault.side));
  r = mcsafe_copy(buf, NULL, 5);
  CHECK(r.copied == 0 && r.fault.kind == MCSAFE_FAULT_INVALID_ARGUMENT && r.fault.side == MCSAFE_SIDE_SOURCE,
        "copy from NULL: kind %s side %s", mcsafe_fault_kind_string(r.fault.kind), mcsafe_fault_side_string(r.fault.side));
  r = mcsafe_copy(NULL, NULL, 0);
  CHECK(r.copied == 0 && r.fault.kind == MCSAFE_FAULT_NONE, "copy of 0 bytes from NULL: kind %s",
        mcsafe_fault_kind_string(r.fault.kind));
  /* A range that wraps around the top of the address space. */
  r = mcsafe_copy(buf, (const void *)(uintptr_t)(UINTPTR_MAX - 3), 16);
  CHECK(r.copied == 0 && r.fault.kind == MCSAFE_FAULT_INVALID_ARGUMENT, "wrapping source: kind %s",
        mcsafe_fault_kind_string(r.fault.kind));
  /* Wrapping within the inline sizes: the start 200 bytes below the top, 201..512 bytes. */
  static unsigned char big[512];
  for (size_t n = 201; n <= 512; n += 61) {
    r = mcsafe_copy(big, (const void *)(uintptr_t)(UINTPTR_MAX - 199), n);
    CHECK(r.copied == 0 && r.fault.kind == MCSAFE_FAULT_INVALID_ARGUMENT && r.fault.side == MCSAFE_SIDE_SOURCE,
          "source wrapping after 200 bytes, %zu bytes: kind %s", n, mcsafe_fault_kind_string(r.fault.kind));
    r = mcsafe_copy((void *)(uintptr_t)(UINTPTR_MAX - 199), big, n);
    CHECK(r.copied == 0 && r.fault.kind == MCSAFE_FAULT_INVALID_ARGUMENT && r.fault.side == MCSAFE_SIDE_DESTINATION,
          "destination wrapping after 200 bytes, %zu bytes: kind %s", n, mcsafe_fault_kind_string(r.fault.kind));
  }
  uint32_t v = 1;
  CHECK(mcsafe_load_u32(NULL, &v).kind == MCSAFE_FAULT_INVALID_ARGUMENT && v == 0, "load_u32 from NULL");
  CHECK(mcsafe_load_u32(buf, NULL).kind == MCSAFE_FAULT_INVALID_ARGUMENT, "load_u32 into NULL");
  CHECK(mcsafe_store_u32(NULL, 1).fault.kind == MCSAFE_FAULT_INVALID_ARGUMENT, "store_u32 to NULL");
}

static void segv_with_catch_segv(void) {
  const size_t page = page_size();
  unsigned char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED, "mmap");
  if (m == MAP_FAILED) return;
  memset(m, 0x33, page);
  CHECK(mprotect(m + page, page, PROT_NONE) == 0, "mprotect");
  mcsafe_install_options o = {true};
  CHECK(mcsafe_install(&o) == 0, "install with catch_segv");
  CHECK(mcsafe_installed(SIGSEGV) && mcsafe_installed(SIGBUS), "installed for both signals");
  unsigned char buf[256];
  mcsafe_copy_result r = mcsafe_copy(buf, m + page - 40, 200);
  CHECK(r.copied == 40, "SIGSEGV read: copied %zu", r.copied);
  CHECK(r.fault.kind == MCSAFE_FAULT_SEGV && r.fault.side == MCSAFE_SIDE_SOURCE &&
            r.fault.address == (uint64_t)(uintptr_t)(m + page) && r.fault.si_code == SEGV_ACCERR,
        "SIGSEGV read: kind %s side %s si_code %d", mcsafe_fault_kind_string(r.fault.kind),
        mcsafe_fault_side_string(r.fault.side), (int)r.fault.si_code);
  r = mcsafe_store_u32(m + page, 1);
  CHECK(r.copied == 0 && r.fault.kind == MCSAFE_FAULT_SEGV && r.fault.side == MCSAFE_SIDE_DESTINATION,
        "SIGSEGV store: kind %s", mcsafe_fault_kind_string(r.fault.kind));
  munmap(m, 2 * page);
}

int main(void) {
  copy_across_truncated_end(); /* first: the first copy installs the handler */
  loads_and_stores();
  good_memory_every_path();
  refused_arguments();
  segv_with_catch_segv();
  return test_summary("capi copy");
}
