/* <mcsafe/mcsafe.h> alone, twice (include guard), in the language and standard this file is
   built with (C99 here; header_check.cpp builds it as C++11), and one call of each kind. */
#include <mcsafe/mcsafe.h>
#include <mcsafe/mcsafe.h>

#include <stdio.h>
#include <string.h>

int main(void) {
  char src[100], dst[100];
  memset(src, 1, sizeof src);
  const mcsafe_copy_result r = mcsafe_copy(dst, src, sizeof src);
  const mcsafe_copy_result refused = mcsafe_copy(NULL, src, 1);
  const int ok = r.copied == sizeof src && r.fault.kind == MCSAFE_FAULT_NONE && memcmp(dst, src, sizeof src) == 0 &&
                 refused.fault.kind == MCSAFE_FAULT_INVALID_ARGUMENT && mcsafe_version() / 10000 == MCSAFE_VERSION_MAJOR;
  printf("header check (%s): %s\n", mcsafe_version_string(), ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
