/* From C: clear_write and atomic_clear_write (whole lines, refusals, a fault past a file's end),
   persist, diagnose into a caller's buffer (snprintf's contract), the version, the names. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>

#include "capi_test.h"

static void clear_writes(void) {
  unsigned char *dst = aligned_alloc(64, 256);
  unsigned char src[256 + 1];
  for (size_t i = 0; i < sizeof src; ++i) src[i] = (unsigned char)(i ^ 0x5c);
  const uint8_t method = mcsafe_active_store_method();
  CHECK(strcmp(mcsafe_store_method_string(method), "unknown") != 0, "active store method %u", (unsigned)method);
  /* A misaligned source is fine; the destination must be whole aligned lines. */
  mcsafe_write_result w = mcsafe_clear_write(dst, src + 1, 256);
  CHECK(w.error == 0 && w.written == 256 && w.fault.kind == MCSAFE_FAULT_NONE && w.method == method,
        "clear_write 256: error %d written %zu", (int)w.error, w.written);
  CHECK(memcmp(dst, src + 1, 256) == 0, "clear_write 256: bytes");
  CHECK(w.atomic == (method == MCSAFE_STORE_MOVDIR64B) && w.no_read == (method != MCSAFE_STORE_PORTABLE),
        "clear_write: guarantees of %s", mcsafe_store_method_string(method));
  w = mcsafe_clear_write(dst + 1, src, 64);
  CHECK(w.error == EINVAL && w.written == 0, "misaligned destination: error %d", (int)w.error);
  w = mcsafe_clear_write(dst, src, 100);
  CHECK(w.error == EINVAL && w.written == 0, "not whole lines: error %d", (int)w.error);
  w = mcsafe_clear_write(NULL, src, 64);
  CHECK(w.error == EINVAL, "null destination: error %d", (int)w.error);

  /* require_atomic: runs exactly when the method is atomic; a refusal writes nothing. */
  memset(dst, 0, 64);
  mcsafe_clear_options o = {true};
  w = mcsafe_atomic_clear_write(dst, src, &o);
  if (w.atomic) {
    CHECK(w.error == 0 && w.written == 64 && memcmp(dst, src, 64) == 0, "atomic_clear_write, atomic method");
  } else {
    CHECK(w.error == ENOTSUP && w.written == 0 && dst[0] == 0 && dst[63] == 0, "require_atomic refused: error %d",
          (int)w.error);
  }
  w = mcsafe_atomic_clear_write(dst, src, NULL);
  CHECK(w.error == 0 && w.written == 64 && memcmp(dst, src, 64) == 0, "atomic_clear_write with defaults");
  free(dst);

  /* Past the end of a truncated file: the lines before the end are written, then the fault. */
  const size_t page = page_size();
  unsigned char *m = map_truncated();
  w = mcsafe_clear_write(m + page - 128, src, 256);
  CHECK(w.written == 128 && w.fault.kind == MCSAFE_FAULT_BUS_ERROR && w.fault.side == MCSAFE_SIDE_DESTINATION &&
            w.fault.address == (uint64_t)(uintptr_t)(m + page),
        "clear_write across the end: written %zu, kind %s", w.written, mcsafe_fault_kind_string(w.fault.kind));
  CHECK(memcmp(m + page - 128, src, 128) == 0, "clear_write across the end: the lines before it");
  munmap(m, 2 * page);
}

static void persists(void) {
  unsigned char buf[4096];
  memset(buf, 0x77, sizeof buf);
  mcsafe_persist(buf + 3, sizeof buf - 3);
  mcsafe_flush(buf, 0);
  mcsafe_drain();
  const uint8_t method = mcsafe_active_flush_method();
  CHECK(method <= MCSAFE_FLUSH_NONE && strcmp(mcsafe_flush_method_string(method), "unknown") != 0, "flush method %u",
        (unsigned)method);
  CHECK(buf[0] == 0x77 && buf[4095] == 0x77, "persist leaves the bytes");
}

static void diagnoses(void) {
  const size_t need = mcsafe_diagnose(NULL, 0);
  CHECK(need > 0, "diagnose(NULL, 0) = %zu", need);
  char small[16];
  memset(small, 'x', sizeof small);
  CHECK(mcsafe_diagnose(small, sizeof small) == need, "a small buffer still gets the full length");
  CHECK(strlen(small) == sizeof small - 1, "truncated to size - 1 plus NUL: %zu", strlen(small));
  char *full = malloc(need + 1);
  CHECK(mcsafe_diagnose(full, need + 1) == need && strlen(full) == need, "the whole report: %zu", strlen(full));
  CHECK(strncmp(full, small, sizeof small - 1) == 0, "the truncated report is its beginning");
  char head[64];
  snprintf(head, sizeof head, "mcsafe %s (", mcsafe_version_string());
  CHECK(strncmp(full, head, strlen(head)) == 0, "the report starts with '%s': %.40s", head, full);
  CHECK(strstr(full, "SIGBUS: installed") != NULL, "the report says the handler is installed");
  free(full);
}

static void versions_and_names(void) {
  CHECK(mcsafe_version() == MCSAFE_VERSION_MAJOR * 10000u + MCSAFE_VERSION_MINOR * 100u + MCSAFE_VERSION_PATCH,
        "library version %u and header version differ", (unsigned)mcsafe_version());
  char v[32];
  snprintf(v, sizeof v, "%d.%d.%d", MCSAFE_VERSION_MAJOR, MCSAFE_VERSION_MINOR, MCSAFE_VERSION_PATCH);
  CHECK(strcmp(mcsafe_version_string(), v) == 0, "version string %s", mcsafe_version_string());
  CHECK(strcmp(mcsafe_fault_kind_string(MCSAFE_FAULT_HW_POISON), "hw_poison") == 0, "fault kind name");
  CHECK(strcmp(mcsafe_fault_kind_string(200), "unknown") == 0, "fault kind out of range");
  CHECK(strcmp(mcsafe_fault_side_string(MCSAFE_SIDE_DESTINATION), "destination") == 0, "side name");
  CHECK(strcmp(mcsafe_mapped_cause_string(MCSAFE_CAUSE_FILE_ENDED), "file_ended") == 0, "cause name");
  CHECK(strcmp(mcsafe_store_method_string(MCSAFE_STORE_SSE2_NT), "sse2_nt") == 0, "store method name");
  CHECK(strcmp(mcsafe_store_method_string(9), "unknown") == 0, "store method out of range");
  CHECK(strcmp(mcsafe_flush_method_string(MCSAFE_FLUSH_CLWB), "clwb") == 0, "flush method name");
}

int main(void) {
  clear_writes();
  persists();
  diagnoses();
  versions_and_names();
  return test_summary("capi misc");
}
