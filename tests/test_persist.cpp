// persist.hpp: the flush instruction follows CPUID, and data written with clear_write (non-
// temporal) or with plain stores reaches the file after persist.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <mcsafe/clear.hpp>
#include <mcsafe/persist.hpp>
#include <mcsafe/testing.hpp>

#include "case_checks.hpp"
#include "catch2_any.hpp"
#include "support.hpp"

using mcsafe::flush_method;

namespace {

// CPUID leaf 1 EDX[19] = CLFLUSH; leaf 7 EBX[23] = CLFLUSHOPT, EBX[24] = CLWB.
template <std::uint32_t L1Edx, std::uint32_t L7Ebx>
mcsafe::cpuid_regs cpu_with(std::uint32_t leaf, std::uint32_t) noexcept {
  if (leaf == 0) return {7, 0, 0, 0};
  if (leaf == 1) return {0, 0, 0, L1Edx | (1u << 26)};
  if (leaf == 7) return {0, L7Ebx, 0, 0};
  return {};
}
std::uint64_t no_xcr0() noexcept { return 0; }

// A MAP_SHARED file mapping that is not cut (cut == size), read back with pread, not through
// the mapping.
std::vector<unsigned char> read_back(const mcsafe_test::truncated_file& file, std::size_t n) {
  std::vector<unsigned char> v(n);
  if (pread(file.fd(), v.data(), n, 0) != static_cast<ssize_t>(n)) v.clear();
  return v;
}

}  // namespace

TEST_CASE("persist: CLWB is preferred to CLFLUSHOPT, then CLFLUSH", "[persist]") {
  using mcsafe::detail::choose_flush;
  const auto all = mcsafe::detect(cpu_with<1u << 19, (1u << 23) | (1u << 24)>, no_xcr0);
  const auto opt = mcsafe::detect(cpu_with<1u << 19, 1u << 23>, no_xcr0);
  const auto old = mcsafe::detect(cpu_with<1u << 19, 0>, no_xcr0);
#if defined(MCSAFE_ARCH_X86_64)
  CHECK(choose_flush(all) == flush_method::clwb);
  CHECK(choose_flush(opt) == flush_method::clflushopt);
  CHECK(choose_flush(old) == flush_method::clflush);
  CHECK(choose_flush(mcsafe::cpu_features{}) == flush_method::none);
  CHECK(mcsafe::active_flush_method() == choose_flush(mcsafe::detail::host_cpu()));
  CHECK(mcsafe::active_flush_method() != flush_method::none);  // every x86-64 has CLFLUSH
#else
  for (const auto& f : {all, opt, old}) CHECK(choose_flush(f) == flush_method::none);
  CHECK(mcsafe::active_flush_method() == flush_method::none);
#endif
}

TEST_CASE("persist: MCSAFE_FORCE_FLUSH and testing::force_flush pick any method this CPU has", "[persist]") {
  using mcsafe::detail::choose_flush;
  const auto all = mcsafe::detect(cpu_with<1u << 19, (1u << 23) | (1u << 24)>, no_xcr0);
  const auto old = mcsafe::detect(cpu_with<1u << 19, 0>, no_xcr0);
  const mcsafe::flush_choice unknown = choose_flush(all, "clwbX");
  CHECK(std::string(unknown.ignored_env) == "clwbX");
  CHECK(std::string(unknown.ignored_why) == "unknown backend name");
  CHECK(unknown.method == choose_flush(all));
  const mcsafe::flush_choice lacking = choose_flush(old, "clwb");  // named, but this CPU lacks it
  CHECK(std::string(lacking.ignored_why) == "backend not available on this CPU or build");
  CHECK(lacking.method == choose_flush(old));
  const mcsafe::flush_choice none = choose_flush(all, "none");  // always available: flush nothing
  CHECK(none.method == flush_method::none);
  CHECK(std::string(none.reason) == "forced by MCSAFE_FORCE_FLUSH");
  CHECK(none.ignored_env[0] == '\0');
#if defined(MCSAFE_ARCH_X86_64)
  const mcsafe::flush_choice forced = choose_flush(all, "clflush");
  CHECK(forced.method == flush_method::clflush);
  CHECK(std::string(forced.reason) == "forced by MCSAFE_FORCE_FLUSH");
#endif

  // Forced in this process: each method the host has runs (persist executes it on a real
  // mapping); one it lacks is refused and changes nothing.
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(pg, pg);
  const auto& host = mcsafe::detail::host_cpu();
  for (flush_method m : mcsafe::all_flush_methods) {
    const flush_method before = mcsafe::active_flush_method();
    const bool has = mcsafe::detail::flush_row(m).runs_on(host);
    CHECK(mcsafe::testing::force_flush(m) == has);
    CHECK(mcsafe::active_flush_method() == (has ? m : before));
    std::memset(file.data() + 3, 0x5a, 100);
    mcsafe::persist(file.data() + 3, 100);
    CHECK(read_back(file, pg)[102] == 0x5a);
  }
  mcsafe::testing::reset_flush();
  CHECK(mcsafe::active_flush_method() == mcsafe::detail::default_flush_choice().method);
  CHECK(mcsafe::active_flush_method() == choose_flush(host));  // no MCSAFE_FORCE_FLUSH in the tests' environment
}

TEST_CASE("persist: clear_write to a file mapping, then persist, shows the data through pread", "[persist][clear]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 4 * pg);
  std::vector<unsigned char> src(4 * pg + 64);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<unsigned char>(i * 7 + 11);
  const auto r = mcsafe::clear_write(file.data() + pg, src.data() + 5, 2 * pg);
  REQUIRE(r.ok());
  mcsafe::persist(file.data() + pg, 2 * pg);
  const auto back = read_back(file, 4 * pg);
  REQUIRE(back.size() == 4 * pg);
  CHECK(std::memcmp(back.data() + pg, src.data() + 5, 2 * pg) == 0);
  mcsafe_test::case_log log;  // the pages around it keep the file's pattern
  for (std::size_t i : {std::size_t{0}, 3 * pg})
    for (std::size_t j = i; j < i + pg; ++j)
      MCSAFE_CHECK_CASE(log, back[j] == mcsafe_test::truncated_file::pattern(j), "file byte " << j);
  CHECK(log.failures == 0);
  // And msync writes it to the file itself, not only to the page cache pread reads.
  CHECK(msync(file.data(), 4 * pg, MS_SYNC) == 0);
}

TEST_CASE("persist: plain stores at odd offsets and lengths, then persist", "[persist]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(pg, pg);
  for (std::size_t off : {0u, 1u, 63u, 64u, 100u}) {
    for (std::size_t n : {0u, 1u, 64u, 65u, 130u}) {
      std::memset(file.data() + off, static_cast<int>(off + n + 1), n);
      mcsafe::persist(file.data() + off, n);
      const auto back = read_back(file, pg);
      CHECK(std::count(back.begin() + static_cast<std::ptrdiff_t>(off), back.begin() + static_cast<std::ptrdiff_t>(off + n),
                       static_cast<unsigned char>(off + n + 1)) == static_cast<std::ptrdiff_t>(n));
    }
  }
  mcsafe::flush(file.data(), pg);
  mcsafe::drain();
}
