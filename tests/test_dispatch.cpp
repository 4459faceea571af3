// How the copy backend is chosen, forced and published: the choice rule, the testing:: hooks,
// and the copy state they leave (detail/copy_state.hpp), checked through one test.
#include <cstring>
#include <ostream>
#include <string>

#include <mcsafe/copy.hpp>
#include <mcsafe/dispatch.hpp>
#include <mcsafe/testing.hpp>

#include "case_checks.hpp"
#include "catch2_any.hpp"

using mcsafe::copy_backend;

TEST_CASE("dispatch: forcing an unknown or unavailable backend changes nothing", "[dispatch]") {
  const copy_backend before = mcsafe::active_copy_backend();
  mcsafe::copy_backend parsed{};
  CHECK_FALSE(mcsafe::parse("bogus", parsed));
  CHECK(mcsafe::parse("fragile", parsed));
  CHECK(parsed == copy_backend::fragile);
  const mcsafe::cpu_features none{};  // a CPU with nothing: the choice must still be usable
  const auto c = mcsafe::detail::choose_copy(none, "rep_movsbX");
  CHECK(std::string(c.ignored_env) == "rep_movsbX");
  CHECK(std::string(c.ignored_why) == "unknown backend name");
  CHECK(mcsafe::detail::copy_routine(c.backend, none) != nullptr);
  CHECK(mcsafe::active_copy_backend() == before);
}

#if defined(__x86_64__)
namespace counted {
std::size_t calls = 0;
mcsafe::detail::raw_copy_fn routine = nullptr;
mcsafe::detail::raw_result copy(void* dst, const void* src, std::size_t n) noexcept {
  ++calls;
  return routine(dst, src, n);
}
}  // namespace counted

// The one test that reads the copy state (detail/copy_state.hpp) directly: what publish_copy
// stores for each backend, and what the inline limit means for the calls that reach the routine.
TEST_CASE("dispatch: the copy state each backend publishes, and 65..128 bytes inline only with vector_avx512",
          "[dispatch]") {
  namespace d = mcsafe::detail;
  const mcsafe::cpu_features& cpu = d::host_cpu();
  for (const copy_backend b : mcsafe::all_copy_backends) {
    if (!mcsafe::testing::force_copy(b)) continue;
    INFO("backend " << mcsafe::to_string(b));
    const bool zmm = b == copy_backend::vector_avx512;
    CHECK(d::g_copy.routine.load() == d::copy_routine(b, cpu));
    CHECK(d::g_copy.backend.load() == b);
    CHECK(d::g_copy.inline_limit.load() == (zmm ? d::k_inline_upto_128 : d::k_inline_upto_64));
    CHECK(d::g_copy.word_limit.load() == d::k_words_ready);
    const d::rep_band band = d::copy_row(b).band(cpu);  // none for the routines without one
    CHECK(d::loaded_rep_band().above == band.above);
    CHECK(d::loaded_rep_band().upto == band.upto);
    CHECK(d::loaded_rep_band().again_above == band.again_above);
    CHECK(d::loaded_rep_band().ymm_above == band.ymm_above);
    CHECK(d::loaded_rep_band().skew_mask == band.skew_mask);
    // Count the calls that reach the routine: with zmm, 65..128 bytes make none.
    counted::routine = d::g_copy.routine.load();
    counted::calls = 0;
    d::g_copy.routine.store(&counted::copy);
    unsigned char src[300], dst[300];
    for (std::size_t i = 0; i < sizeof src; ++i) src[i] = static_cast<unsigned char>(i * 7 + 1);
    mcsafe_test::case_log log;
    for (std::size_t n = 1; n <= 129; ++n) {
      std::memset(dst, 0, sizeof dst);
      const auto r = mcsafe::mc_safe_copy(dst + 1, src + 2, n);
      const auto where = mcsafe_test::describe([&](std::ostream& os) { os << "size " << n; });
      MCSAFE_CHECK_CASE(log, r.copied == n, where);
      MCSAFE_CHECK_CASE(log, mcsafe_test::first_difference(dst + 1, src + 2, n), where);
      MCSAFE_CHECK_CASE(log, (dst[0] == 0 && dst[n + 1] == 0), where);  // nothing outside
    }
    d::g_copy.routine.store(counted::routine);
    CHECK(log.failures == 0);
    CHECK(counted::calls == (zmm ? 1u + 7 : 1u + 7 + 64));  // 129, 1..7, and 65..128 unless zmm
  }
  mcsafe::testing::reset_copy();
  CHECK(d::g_copy.inline_limit.load() ==
        (d::default_copy_choice().backend == copy_backend::vector_avx512 ? d::k_inline_upto_128 : d::k_inline_upto_64));
}

TEST_CASE("dispatch: each vector backend gets its own rep movsb threshold, forced or chosen", "[dispatch]") {
  const mcsafe::cpu_features& cpu = mcsafe::detail::host_cpu();
  REQUIRE(mcsafe::testing::force_copy(copy_backend::vector_sse2));
  CHECK(mcsafe::detail::loaded_rep_band().above == mcsafe::detail::copy_row(copy_backend::vector_sse2).band(cpu).above);
  mcsafe::testing::force_vector_rep_above(300);
  CHECK(mcsafe::detail::loaded_rep_band().above == 300);
  mcsafe::testing::reset_copy();
  CHECK(mcsafe::detail::loaded_rep_band().above == mcsafe::detail::default_copy_choice().vector_rep_above);
  // Chosen through the environment: the threshold follows the backend, not the CPUID choice.
  mcsafe::cpu_features amd{};
  std::strcpy(amd.vendor, "AuthenticAMD");
  amd.sse2 = amd.avx2 = amd.erms = true;
  CHECK(mcsafe::detail::choose_copy(amd, nullptr).vector_rep_above == mcsafe::detail::k_vector_rep_above_amd);
  CHECK(mcsafe::detail::choose_copy(amd, "vector_sse2").vector_rep_above == mcsafe::detail::k_vector_rep_above_sse2);
  amd.erms = false;
  CHECK(mcsafe::detail::choose_copy(amd, "vector_sse2").vector_rep_above == mcsafe::detail::k_vector_rep_never);
}
#endif
