/* The mapped file from C: a file truncated by another process reads as file_ended with the exact
   count, resize and reserve grow it back, known-bad ranges refuse, refusals name the reason; and
   the poison map handle on its own. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>

#include "capi_test.h"

static unsigned char expected_byte(size_t i) { return (unsigned char)(i * 7 + 1); }

static void truncated_by_another_process(void) {
  const size_t page = page_size();
  char path[64];
  close(make_file(path, 3 * page));
  mcsafe_mapped_file *f = NULL;
  mcsafe_map_options o = {false, 0600};
  CHECK(mcsafe_mapped_file_open(&f, path, MCSAFE_MAP_READ_WRITE, &o) == 0 && f != NULL, "open %s", path);
  if (f == NULL) return;
  CHECK(mcsafe_mapped_file_size(f) == 3 * page && mcsafe_mapped_file_fd(f) >= 0, "size %zu", mcsafe_mapped_file_size(f));
  unsigned char *buf = malloc(4 * page);
  mcsafe_mapped_result r = mcsafe_mapped_file_read(f, 0, buf, 3 * page);
  CHECK(r.cause == MCSAFE_CAUSE_NONE && r.done == 3 * page, "whole read: cause %s", mcsafe_mapped_cause_string(r.cause));
  int same = 1;
  for (size_t i = 0; i < 3 * page; ++i) same &= buf[i] == expected_byte(i);
  CHECK(same, "whole read: the file's bytes");

  /* Cut to a page and a half: the bytes up to the new size are done, the cause is the file's end. */
  const size_t cut = page + page / 2;
  truncate_from_child(path, (off_t)cut);
  r = mcsafe_mapped_file_read(f, 0, buf, 3 * page);
  CHECK(r.cause == MCSAFE_CAUSE_FILE_ENDED && r.done == cut && r.file_size == cut,
        "read after the cut: cause %s done %zu file_size %llu", mcsafe_mapped_cause_string(r.cause), r.done,
        (unsigned long long)r.file_size);
  CHECK(r.fault.kind == MCSAFE_FAULT_BUS_ERROR && r.fault.side == MCSAFE_SIDE_SOURCE, "read after the cut: fault %s",
        mcsafe_fault_kind_string(r.fault.kind));
  r = mcsafe_mapped_file_read(f, page / 2, buf, page);
  CHECK(r.cause == MCSAFE_CAUSE_NONE && r.done == page, "read inside what is left: cause %s",
        mcsafe_mapped_cause_string(r.cause));
  r = mcsafe_mapped_file_write(f, 2 * page + 10, buf, 100);
  CHECK(r.cause == MCSAFE_CAUSE_FILE_ENDED && r.done == 0, "write past the end: cause %s done %zu",
        mcsafe_mapped_cause_string(r.cause), r.done);
  r = mcsafe_mapped_file_read(f, 3 * page, buf, 1);
  CHECK(r.cause == MCSAFE_CAUSE_INVALID_ARGUMENT && r.fault.kind == MCSAFE_FAULT_INVALID_ARGUMENT,
        "read outside the mapping: cause %s", mcsafe_mapped_cause_string(r.cause));

  /* Grown back: the mapping is whole again. */
  CHECK(mcsafe_mapped_file_resize(f, 3 * page) == 0, "resize");
  r = mcsafe_mapped_file_read(f, 0, buf, 3 * page);
  CHECK(r.cause == MCSAFE_CAUSE_NONE && r.done == 3 * page, "read after resize: cause %s",
        mcsafe_mapped_cause_string(r.cause));
  CHECK(mcsafe_mapped_file_reserve(f, 0, 4 * page) == 0 && mcsafe_mapped_file_size(f) == 4 * page,
        "reserve grows the file: size %zu", mcsafe_mapped_file_size(f));
  memset(buf, 0xab, 64);
  r = mcsafe_mapped_file_write(f, 4 * page - 64, buf, 64);
  CHECK(r.cause == MCSAFE_CAUSE_NONE && r.done == 64, "write into the reserved part: cause %s",
        mcsafe_mapped_cause_string(r.cause));
  CHECK(mcsafe_mapped_file_data(f) != NULL && ((const unsigned char *)mcsafe_mapped_file_data(f))[4 * page - 1] == 0xab,
        "the mapping holds the write");

  /* Known-bad ranges stop a read before them, untouched. */
  mcsafe_poison_map *bad = mcsafe_mapped_file_known_bad(f);
  CHECK(mcsafe_poison_map_insert(bad, 100, 200) == 0, "insert");
  r = mcsafe_mapped_file_read(f, 0, buf, 300);
  CHECK(r.cause == MCSAFE_CAUSE_KNOWN_BAD && r.done == 100 && r.bad.begin == 100 && r.bad.end == 200 &&
            r.fault.kind == MCSAFE_FAULT_KNOWN_BAD,
        "read over a known-bad range: cause %s done %zu bad [%zu, %zu)", mcsafe_mapped_cause_string(r.cause), r.done,
        r.bad.begin, r.bad.end);
  CHECK(mcsafe_poison_map_erase(bad, 0, 1000) == 0 && mcsafe_poison_map_size(bad) == 0, "erase");
  r = mcsafe_mapped_file_read(f, 0, buf, 300);
  CHECK(r.cause == MCSAFE_CAUSE_NONE && r.done == 300, "read after erase: cause %s", mcsafe_mapped_cause_string(r.cause));
  mcsafe_mapped_file_close(f);

  /* Read-only: writes refused; a descriptor adopted. */
  int fd = open(path, O_RDONLY);
  CHECK(mcsafe_mapped_file_adopt(&f, fd, MCSAFE_MAP_READ_ONLY) == 0 && f != NULL, "adopt");
  if (f != NULL) {
    r = mcsafe_mapped_file_write(f, 0, buf, 1);
    CHECK(r.cause == MCSAFE_CAUSE_INVALID_ARGUMENT && r.done == 0, "write to a read-only file: cause %s",
          mcsafe_mapped_cause_string(r.cause));
    CHECK(mcsafe_mapped_file_resize(f, page) == EBADF, "resize of a read-only file");
    mcsafe_mapped_file_close(f);
  }
  free(buf);
  unlink(path);
}

static void refusals(void) {
  mcsafe_mapped_file *f = (mcsafe_mapped_file *)&f;
  CHECK(mcsafe_mapped_file_open(&f, "/nonexistent/mcsafe-capi", MCSAFE_MAP_READ_ONLY, NULL) == ENOENT && f == NULL,
        "open of a missing file");
  CHECK(mcsafe_mapped_file_open(&f, "/dev/null", 7, NULL) == EINVAL, "an unknown mode");
  char c;
  mcsafe_mapped_result r = mcsafe_mapped_file_read(NULL, 0, &c, 1);
  CHECK(r.cause == MCSAFE_CAUSE_INVALID_ARGUMENT && r.done == 0, "read from a NULL handle: cause %s",
        mcsafe_mapped_cause_string(r.cause));
  CHECK(mcsafe_mapped_file_reserve(NULL, 0, 1) == EBADF && mcsafe_mapped_file_size(NULL) == 0, "NULL handle");
  mcsafe_mapped_file_close(NULL);
}

static void poison_map_alone(void) {
  mcsafe_poison_map *m = mcsafe_poison_map_create();
  CHECK(m != NULL, "create");
  if (m == NULL) return;
  CHECK(mcsafe_poison_map_insert(m, 0, 10) == 0 && mcsafe_poison_map_insert(m, 20, 30) == 0, "insert two");
  CHECK(mcsafe_poison_map_size(m) == 2, "two ranges: %zu", mcsafe_poison_map_size(m));
  CHECK(mcsafe_poison_map_insert(m, 10, 20) == 0 && mcsafe_poison_map_size(m) == 1, "touching ranges merge");
  mcsafe_byte_range r = mcsafe_poison_map_at(m, 0);
  CHECK(r.begin == 0 && r.end == 30, "merged [%zu, %zu)", r.begin, r.end);
  CHECK(mcsafe_poison_map_erase(m, 5, 25) == 0 && mcsafe_poison_map_size(m) == 2, "erase splits");
  CHECK(mcsafe_poison_map_first_overlap(m, 3, 26, &r) && r.begin == 0 && r.end == 5, "first overlap [%zu, %zu)", r.begin,
        r.end);
  r = mcsafe_poison_map_at(m, 1);
  CHECK(r.begin == 25 && r.end == 30, "second range [%zu, %zu)", r.begin, r.end);
  r = mcsafe_poison_map_at(m, 2);
  CHECK(r.begin == 0 && r.end == 0, "out of range: [%zu, %zu)", r.begin, r.end);
  CHECK(!mcsafe_poison_map_first_overlap(m, 5, 25, NULL), "no overlap in the hole");
  mcsafe_poison_map_clear(m);
  CHECK(mcsafe_poison_map_size(m) == 0, "clear");
  mcsafe_poison_map_destroy(m);
  mcsafe_poison_map_destroy(NULL);
}

int main(void) {
  truncated_by_another_process();
  refusals();
  poison_map_alone();
  return test_summary("capi mapped_file");
}
