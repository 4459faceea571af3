// Test helpers for copies: every copy backend, and the vector backends with their rep movsb
// threshold forced both ways, so each test covers every path whatever the CPUID choice is.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <iterator>
#include <string>

#include "catch2_any.hpp"
#include <mcsafe/dispatch.hpp>
#include <mcsafe/testing.hpp>

namespace mcsafe_test {

struct copy_variant {
  mcsafe::copy_backend backend;
  std::size_t rep_above;  // 0: the CPUID choice; else forced for the vector routines
  const char* name;
  std::size_t rep_upto = 0;                       // with rep_above: rep movsb only up to this size (0: no bound)
  std::size_t rep_again_above = ~std::size_t{0};  // with rep_upto: rep movsb again above this size
  std::size_t ymm_above = 0;                      // vector_avx512: forced hand-over to the ymm routine (0: as chosen)
  std::size_t skew_mask = 0;                      // with rep_above: rep movsb only where (dst - src) & this is 0
};

inline constexpr copy_variant all_copy_variants[] = {
    {mcsafe::copy_backend::rep_movsb, 0, "rep_movsb"},
    {mcsafe::copy_backend::vector, 0, "vector"},
    {mcsafe::copy_backend::vector, 256, "vector, rep movsb above 256 B"},
    {mcsafe::copy_backend::vector, ~std::size_t{0}, "vector, loop at every size"},
    {mcsafe::copy_backend::vector, 256,
     "vector, rep movsb above 256 B where dst - src is a multiple of 64, the loop elsewhere", 0, ~std::size_t{0}, 0, 63},
    {mcsafe::copy_backend::vector, 256, "vector, rep movsb from 256 B to 1 KiB, the loop above", 1024},
    {mcsafe::copy_backend::vector, 256, "vector, rep movsb from 256 B to 1 KiB and above 2 KiB, the loop between", 1024,
     2048},
    {mcsafe::copy_backend::vector_avx512, 0, "vector_avx512"},
    // The zmm routine tests its 513 B-1 KiB classes before the threshold: rep movsb from 1 KiB up.
    {mcsafe::copy_backend::vector_avx512, 1024, "vector_avx512, rep movsb above 1 KiB"},
    {mcsafe::copy_backend::vector_avx512, ~std::size_t{0}, "vector_avx512, loop at every size"},
    {mcsafe::copy_backend::vector_avx512, 1024,
     "vector_avx512, rep movsb above 1 KiB where dst - src is a multiple of 64, the loop elsewhere", 0, ~std::size_t{0}, 0,
     63},
    {mcsafe::copy_backend::vector_avx512, 1024, "vector_avx512, rep movsb from 1 KiB to 4 KiB, the loop above", 4096},
    {mcsafe::copy_backend::vector_avx512, 1024,
     "vector_avx512, rep movsb from 1 KiB to 4 KiB and above 8 KiB, the loop between", 4096, 8192},
    {mcsafe::copy_backend::vector_avx512, 0, "vector_avx512, the ymm routine above 512 B", 0, ~std::size_t{0}, 512},
    {mcsafe::copy_backend::vector_avx512, 256,
     "vector_avx512, the ymm routine above 512 B with rep movsb up to 1 KiB and above 2 KiB, the loop between", 1024, 2048,
     512},
    {mcsafe::copy_backend::vector_sse2, 0, "vector_sse2"},
    {mcsafe::copy_backend::vector_sse2, 256, "vector_sse2, rep movsb above 256 B"},
    {mcsafe::copy_backend::vector_sse2, ~std::size_t{0}, "vector_sse2, loop at every size"},
    {mcsafe::copy_backend::vector_sse2, 256,
     "vector_sse2, rep movsb above 256 B where dst - src is a multiple of 64, the loop elsewhere", 0, ~std::size_t{0}, 0,
     63},
    {mcsafe::copy_backend::vector_sse2, 256, "vector_sse2, rep movsb from 256 B to 1 KiB, the loop above", 1024},
    {mcsafe::copy_backend::vector_sse2, 256, "vector_sse2, rep movsb from 256 B to 1 KiB and above 2 KiB, the loop between",
     1024, 2048},
    {mcsafe::copy_backend::fragile, 0, "fragile"},
    {mcsafe::copy_backend::generic, 0, "generic"},
};

// Forces one variant for a scope and restores the CPUID choice after it, even on failure.
// A variant that cannot run here is reported in the test output, never passed silently.
// MCSAFE_TEST_ONLY_BACKEND=<name> runs only that backend's variants and fails when it cannot
// run (the AVX-512 system test sets it inside an emulator that has AVX-512).
// MCSAFE_TEST_AS_CHOSEN=1 runs each backend only as CPUID configured it, leaving out the
// variants that force a band: a test program whose compile flags change the inline copies and not
// the routines (core.copy_faults_avx2) says so when it sets it.
struct copy_variant_scope {
  explicit copy_variant_scope(const copy_variant& v) {
    const char* only = std::getenv("MCSAFE_TEST_ONLY_BACKEND");
    if (only != nullptr && std::string(only) != mcsafe::to_string(v.backend)) return;
    const char* as_chosen = std::getenv("MCSAFE_TEST_AS_CHOSEN");
    if (as_chosen != nullptr && std::string(as_chosen) == "1" && (v.rep_above != 0 || v.ymm_above != 0)) return;
    ok = mcsafe::testing::force_copy(v.backend);
    if (!ok && only != nullptr) FAIL(v.name << ": backend required by MCSAFE_TEST_ONLY_BACKEND is not available");
    if (!ok)
      WARN("SKIP " << v.name << ": backend not available on this CPU/build");
    else if (v.rep_upto != 0)
      mcsafe::testing::force_vector_rep_band(v.rep_above, v.rep_upto, v.rep_again_above);
    else if (v.rep_above != 0)
      mcsafe::testing::force_vector_rep_above(v.rep_above);
    if (ok && v.ymm_above != 0) mcsafe::testing::force_vector_ymm_above(v.ymm_above);
    if (ok && v.skew_mask != 0) mcsafe::testing::force_vector_rep_skew_mask(v.skew_mask);
  }
  ~copy_variant_scope() { mcsafe::testing::reset_copy(); }
  copy_variant_scope(const copy_variant_scope&) = delete;
  copy_variant_scope& operator=(const copy_variant_scope&) = delete;
  bool ok = false;
};

#define MCSAFE_TEST_EACH_COPY_VARIANT() \
  GENERATE(from_range(std::begin(::mcsafe_test::all_copy_variants), std::end(::mcsafe_test::all_copy_variants)))

}  // namespace mcsafe_test
