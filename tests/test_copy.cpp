// Copies that do not fault behave exactly like memcpy; bad arguments are refused untouched.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include <mcsafe/copy.hpp>
#include <mcsafe/dispatch.hpp>
#include <mcsafe/guarded_range.hpp>
#include <mcsafe/testing.hpp>

#include "case_checks.hpp"
#include "catch2_any.hpp"
#include "copy_variants.hpp"
#include "support.hpp"

using mcsafe::copy_backend;
using mcsafe::fault_kind;

namespace {
// One good copy checked against memcpy: n bytes from src to window + at, where the window and
// the reference (both `size` bytes) start as 0x5A. The result must be whole, and no byte of the
// window outside [at, at + n) may change.
template <class Where>
void check_like_memcpy(mcsafe_test::case_log& log, unsigned char* window, unsigned char* ref, std::size_t size,
                       std::size_t at, const unsigned char* src, std::size_t n, const Where& where) {
  std::memset(window, 0x5A, size);
  std::memset(ref, 0x5A, size);
  const auto r = mcsafe::mc_safe_copy(window + at, src, n);
  std::memcpy(ref + at, src, n);
  MCSAFE_CHECK_CASE(log, r.ok(), where);
  MCSAFE_CHECK_CASE(log, r.copied == n, where);
  MCSAFE_CHECK_CASE(log, mcsafe_test::first_difference(window, ref, size), where);
}
}  // namespace

TEST_CASE("copy: equals memcpy for every size 0..4096 at random offsets, every backend", "[copy]") {
  const mcsafe_test::copy_variant v = MCSAFE_TEST_EACH_COPY_VARIANT();
  mcsafe_test::copy_variant_scope scope(v);
  if (!scope.ok) return;
  DYNAMIC_SECTION("backend " << v.name) {
    std::mt19937 rng(12345);
    std::vector<unsigned char> src(4096 + 256), dst(4096 + 256), ref(4096 + 256);
    for (auto& c : src) c = static_cast<unsigned char>(rng());
    mcsafe_test::case_log log;
    // Each size also to a 64-byte-aligned destination, and from a 64-byte-aligned source to a
    // destination off a line, which some classes take apart.
    const std::size_t line_off = mcsafe_test::bytes_to_line(dst.data());
    const std::size_t src_line_off = mcsafe_test::bytes_to_line(src.data());
    for (std::size_t n = 0; n <= 4096; ++n) {
      const std::size_t random_so = rng() % 128;
      for (const auto& at : {std::pair{random_so, static_cast<std::size_t>(rng() % 128)}, std::pair{random_so, line_off},
                             std::pair{src_line_off, line_off + 1 + n % 63}}) {
        const std::size_t so = at.first, d_off = at.second;
        // The whole buffers: nothing written around the range either.
        check_like_memcpy(
            log, dst.data(), ref.data(), dst.size(), d_off, src.data() + so, n, mcsafe_test::describe([&](std::ostream& os) {
              os << "backend " << v.name << ", size " << n << ", source offset " << so << ", destination offset " << d_off;
            }));
      }
    }
    CHECK(log.failures == 0);
  }
}

TEST_CASE("copy: rep movsb's sizes with the destination 0..128 bytes above the source modulo a page, every backend",
          "[copy]") {
  // The vector routines take the loop instead of rep movsb where (dst - src) mod 4096 is 1..127
  // (copy_vector.hpp): both sides of that test, in one page-aligned allocation.
  const mcsafe_test::copy_variant v = MCSAFE_TEST_EACH_COPY_VARIANT();
  mcsafe_test::copy_variant_scope scope(v);
  if (!scope.ok) return;
  DYNAMIC_SECTION("backend " << v.name) {
    constexpr std::size_t k_page = 4096;
    auto* base = static_cast<unsigned char*>(std::aligned_alloc(k_page, 6 * k_page));
    REQUIRE(base != nullptr);
    unsigned char* const src = base + 64;
    std::mt19937 rng(7);
    for (std::size_t i = 0; i < 2 * k_page; ++i) src[i] = static_cast<unsigned char>(rng());
    std::vector<unsigned char> ref(2 * k_page + 256);
    mcsafe_test::case_log log;
    for (std::size_t above = 0; above <= 128; ++above)
      for (const std::size_t n : {std::size_t{3000}, std::size_t{8000}}) {
        unsigned char* const window = src + 3 * k_page + above - 128;  // 128 bytes below the copy
        check_like_memcpy(log, window, ref.data(), n + 256, 128, src, n, mcsafe_test::describe([&](std::ostream& os) {
                            os << "backend " << v.name << ", size " << n << ", destination " << above
                               << " bytes above the source mod 4096";
                          }));
      }
    CHECK(log.failures == 0);
    std::free(base);
  }
}

TEST_CASE("copy: the first or last bytes of the destination just across a page boundary, every backend", "[copy]") {
  // The vector routines' loop moves the head or the end in smaller pieces where its one vector
  // store there would cross a page (copy_vector.hpp): destinations starting 0..65 bytes below a
  // page boundary (and on it), ending 0..65 bytes past one.
  const mcsafe_test::copy_variant v = MCSAFE_TEST_EACH_COPY_VARIANT();
  mcsafe_test::copy_variant_scope scope(v);
  if (!scope.ok) return;
  DYNAMIC_SECTION("backend " << v.name) {
    constexpr std::size_t k_page = 4096, k_window = 3 * k_page;
    auto* base = static_cast<unsigned char*>(std::aligned_alloc(k_page, 2 * k_window));
    REQUIRE(base != nullptr);
    unsigned char* const window = base;
    unsigned char* const src = base + k_window;
    std::mt19937 rng(11);
    for (std::size_t i = 0; i < k_window; ++i) src[i] = static_cast<unsigned char>(rng());
    std::vector<unsigned char> ref(k_window);
    mcsafe_test::case_log log;
    for (std::size_t at = k_page - 65; at <= k_page; ++at) {
      // 385..512 crosses the page in its middle too (zmm's eight moves give way to the loop).
      std::vector<std::size_t> sizes{257, 385, 449, 512, 520, 1000};
      for (const std::size_t past : {0u, 1u, 2u, 3u, 4u, 7u, 8u, 15u, 16u, 17u, 31u, 32u, 33u, 47u, 63u, 64u, 65u})
        sizes.push_back(2 * k_page + past - at);
      for (const std::size_t n : sizes)
        // The source one byte off, at the destination's offset in a line, and on a line.
        for (const std::size_t src_off : {std::size_t{1}, at % 64, std::size_t{0}})
          check_like_memcpy(log, window, ref.data(), k_window, at, src + src_off, n,
                            mcsafe_test::describe([&](std::ostream& os) {
                              os << "backend " << v.name << ", size " << n << ", source offset " << src_off
                                 << ", destination at page offset " << at % k_page << ", ending " << (at + n) % k_page
                                 << " bytes past a page";
                            }));
    }
    CHECK(log.failures == 0);
    std::free(base);
  }
}

namespace {

// Where one end of a refused copy points: into a real buffer, at null, or so near the top of
// the address space that the range runs past it.
enum class at { buffer, null, last_8, last_16 };  // last_N: the last N bytes below the top

struct bad_copy {
  at dst, src;
  std::size_t n;
  mcsafe::fault_side side;  // the side named in the fault
};
using enum mcsafe::fault_side;
// A range that runs past the top is bad input, like a null pointer: the check must not wrap
// into "fine" (SIZE_MAX from a length computed as a - b with b > a).
constexpr bad_copy bad_copies[] = {
    {at::null, at::buffer, 4, destination},     {at::buffer, at::null, 4, source},
    {at::buffer, at::buffer, SIZE_MAX, source},  // both wrap: the source is named first
    {at::buffer, at::last_8, 16, source},       {at::last_8, at::buffer, 9, destination},
    {at::buffer, at::last_16, 64, source},      {at::last_16, at::buffer, 64, destination},
};

const char* to_string(at where) {
  switch (where) {
    case at::buffer: return "a buffer";
    case at::null: return "null";
    case at::last_8: return "the last 8 bytes";
    case at::last_16: return "the last 16 bytes";
  }
  return "?";
}

unsigned char* point(at where, std::vector<unsigned char>& buffer) {
  switch (where) {
    case at::buffer: return buffer.data() + 64;
    case at::null: return nullptr;
    case at::last_8: return reinterpret_cast<unsigned char*>(UINTPTR_MAX - 7);
    case at::last_16: return reinterpret_cast<unsigned char*>(UINTPTR_MAX - 15);
  }
  return nullptr;
}

}  // namespace

TEST_CASE("copy: null pointers and ranges that wrap the address space are refused untouched, every backend",
          "[copy][args]") {
  const mcsafe_test::copy_variant v = MCSAFE_TEST_EACH_COPY_VARIANT();
  mcsafe_test::copy_variant_scope scope(v);
  if (!scope.ok) return;
  DYNAMIC_SECTION("backend " << v.name) {
    for (const bad_copy& c : bad_copies) {
      INFO("dst " << to_string(c.dst) << ", src " << to_string(c.src) << ", n " << c.n);
      // Real buffers with guard bytes around: before the check, SIZE_MAX ran (the tail-first
      // routines wrote below dst) and a range near the top faulted with the wrong side.
      std::vector<unsigned char> src(256, 0xA5), dst(256, 0x5A);
      const std::vector<unsigned char> src_before = src, dst_before = dst;
      const auto r = mcsafe::mc_safe_copy(point(c.dst, dst), point(c.src, src), c.n);
      CHECK(r.copied == 0);
      CHECK(r.fault.kind == fault_kind::invalid_argument);
      CHECK(r.fault.side == c.side);
      CHECK(dst == dst_before);
      CHECK(src == src_before);
    }
    const auto r = mcsafe::mc_safe_store(reinterpret_cast<std::uint64_t*>(UINTPTR_MAX - 3), std::uint64_t{1});
    CHECK(r.fault.kind == fault_kind::invalid_argument);
    CHECK(r.fault.side == mcsafe::fault_side::destination);
    CHECK(mcsafe::mc_safe_copy(nullptr, nullptr, 0).ok());  // zero length: nothing to refuse
  }
}

TEST_CASE("copy: a range that wraps the address space is refused by the loads and the span form", "[copy][args]") {
  auto* top = reinterpret_cast<unsigned char*>(~std::uintptr_t{0} - 7);                  // the last 8 bytes
  const auto v = mcsafe::mc_safe_load(reinterpret_cast<const std::uint64_t*>(top + 1));  // 7 bytes left
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().kind == fault_kind::invalid_argument);
  // The last bytes below the top are a valid range (nothing is mapped there: not touched here).
  CHECK_FALSE(mcsafe::detail::bad_range(top, 8));
  CHECK(mcsafe::detail::bad_range(top, 9));
  CHECK(mcsafe::detail::bad_range(nullptr, 1));
  CHECK_FALSE(mcsafe::detail::bad_range(nullptr, 0));
  const auto l = mcsafe::mc_safe_load(reinterpret_cast<const std::uint64_t*>(UINTPTR_MAX - 3));
  REQUIRE_FALSE(l.has_value());
  CHECK(l.error().kind == fault_kind::invalid_argument);
  CHECK(l.error().side == mcsafe::fault_side::source);
  const auto l12 = mcsafe::mc_safe_load(reinterpret_cast<const std::array<char, 12>*>(UINTPTR_MAX - 7));
  CHECK(l12.error().kind == fault_kind::invalid_argument);
  // The span form: a byte count that overflows size_t (SIZE_MAX / 4 + 1 elements of 4 bytes).
  std::uint32_t out[4] = {7, 7, 7, 7};
  const auto* in = reinterpret_cast<const std::uint32_t*>(out);
  const auto sr = mcsafe::mc_safe_copy(std::span<std::uint32_t>(out, SIZE_MAX / 4 + 1),
                                       std::span<const std::uint32_t>(in, SIZE_MAX / 4 + 1));
  CHECK(sr.fault.kind == fault_kind::invalid_argument);
  CHECK(out[0] == 7);
}

TEST_CASE("copy: span form counts whole elements and refuses a short destination", "[copy][span]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  // 10 uint32 elements starting 18 bytes before the cut: 4 whole elements, half of the 5th.
  const auto* src = reinterpret_cast<const std::uint32_t*>(file.cut() - 18);
  std::uint32_t out[10] = {};
  auto r = mcsafe::mc_safe_copy(std::span<std::uint32_t>(out), std::span<const std::uint32_t>(src, 10));
  CHECK(r.copied == 4);
  CHECK(r.fault.kind == fault_kind::bus_error);
  CHECK(std::memcmp(out, src, 16) == 0);
  std::uint32_t small[3];
  r = mcsafe::mc_safe_copy(std::span<std::uint32_t>(small), std::span<const std::uint32_t>(out, 10));
  CHECK(r.fault.kind == fault_kind::invalid_argument);
  CHECK(r.copied == 0);
}

// CTest runs each case in a process of its own, so here the faulting load is the process's
// first use of mcsafe: its slow path (g_load_limit still 0) must install the handler first.
TEST_CASE("copy: a faulting mc_safe_load as the first call installs the handler and returns", "[copy][load]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  const auto v = mcsafe::mc_safe_load(reinterpret_cast<const std::uint32_t*>(file.cut()));
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().kind == fault_kind::bus_error);
  CHECK(v.error().address == reinterpret_cast<std::uintptr_t>(file.cut()));
  CHECK(mcsafe::installed());
}

// The same for mc_safe_copy, whose routine pointer starts as the first-use trampoline
// (dispatch.hpp, first_copy): it sets up, copies with the chosen routine, and the fault's slow
// path re-copies with that routine's forward partner, never with the trampoline.
TEST_CASE("copy: a faulting mc_safe_copy as the first call installs the handler and is exact", "[copy]") {
  namespace d = mcsafe::detail;
  // Under CTest this case has a process of its own, so nothing has copied yet; run inside the
  // whole binary, an earlier case has set the pointer up and the rest still holds.
  const bool fresh = d::g_copy.routine.load() == &d::first_copy;
  if (!fresh) WARN("not the process's first copy: the trampoline itself is not exercised");
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  std::vector<unsigned char> out(300, 0);
  const unsigned char* src = file.cut() - 100;  // 300 bytes: a vector class that loads its tail first
  const auto r = mcsafe::mc_safe_copy(out.data(), src, out.size());
  CHECK(r.copied == 100);
  CHECK(r.fault.kind == fault_kind::bus_error);
  CHECK(r.fault.side == mcsafe::fault_side::source);
  CHECK(r.fault.address == reinterpret_cast<std::uintptr_t>(file.cut()));
  CHECK(std::memcmp(out.data(), src, 100) == 0);
  CHECK(mcsafe::installed());
  const d::raw_copy_fn chosen = d::g_copy.routine.load();
  CHECK(chosen != &d::first_copy);
  CHECK(chosen == d::active_copy());
  const d::raw_copy_fn forward = d::forward_copy();  // the re-copy's routine: chosen, or rep_movsb
  CHECK((forward == chosen || forward == d::copy_row(copy_backend::rep_movsb).fn));
}

// The same for a copy of a constant 16 bytes, which runs inline once the handler is installed
// (copy.hpp, inline_copy_fits: the inline limit is 0 until then, and a constant length tests
// only that). Before, it must take the call, whose trampoline installs the handler.
TEST_CASE("copy: a faulting constant-length inline mc_safe_copy as the first call installs the handler", "[copy]") {
  namespace d = mcsafe::detail;
  const bool fresh = d::g_copy.routine.load() == &d::first_copy;
  if (!fresh) WARN("not the process's first copy: the path before installation is not exercised");
  if (fresh) CHECK(d::g_copy.inline_limit.load() == d::k_inline_none);
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  unsigned char out[16] = {};
  const unsigned char* src = file.cut() - 8;
  const auto r = mcsafe::mc_safe_copy(out, src, 16);
  CHECK(r.copied == 8);
  CHECK(r.fault.kind == fault_kind::bus_error);
  CHECK(r.fault.address == reinterpret_cast<std::uintptr_t>(file.cut()));
  CHECK(std::memcmp(out, src, 8) == 0);
  CHECK(mcsafe::installed());
  CHECK(d::g_copy.inline_limit.load() != d::k_inline_none);
}

TEST_CASE("copy: mc_safe_load and mc_safe_store on good and bad memory", "[copy][load]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  const auto* good = reinterpret_cast<const std::uint64_t*>(file.cut() - 8);
  std::uint64_t expect;
  std::memcpy(&expect, good, 8);
  auto v = mcsafe::mc_safe_load(good);
  REQUIRE(v.has_value());
  CHECK(*v == expect);
  auto straddle = mcsafe::mc_safe_load(reinterpret_cast<const std::uint64_t*>(file.cut() - 4));
  REQUIRE_FALSE(straddle.has_value());
  CHECK(straddle.error().kind == fault_kind::bus_error);
  CHECK(straddle.error().address == reinterpret_cast<std::uintptr_t>(file.cut()));
  CHECK(straddle.value_or(7) == 7);
  CHECK(straddle.value() == 0);  // on a fault: a value-initialized T (fault.hpp), no abort
  CHECK(*straddle == 0);

  auto s = mcsafe::mc_safe_store(reinterpret_cast<std::uint64_t*>(file.cut() - 16), std::uint64_t{0x1122334455667788});
  CHECK(s.ok());
  s = mcsafe::mc_safe_store(reinterpret_cast<std::uint64_t*>(file.cut() - 3), std::uint64_t{0x1122334455667788});
  CHECK_FALSE(s.ok());
  CHECK(s.copied == 3);
  CHECK(s.fault.side == mcsafe::fault_side::destination);
}

// How check_words_across_cut reaches a word: mc_safe_load and mc_safe_store, each with its own
// check, or element k of a guarded_range that starts k words lower (checked once).
struct per_call_access {
  static constexpr const char* name = "mc_safe_load/store";
  template <class T>
  static mcsafe::result<T> load(const T* p) {
    return mcsafe::mc_safe_load(p);
  }
  template <class T>
  static mcsafe::copy_result store(T* p, const T& v) {
    return mcsafe::mc_safe_store(p, v);
  }
};
struct range_access {
  static constexpr const char* name = "guarded_range";
  static constexpr std::size_t k = 3;
  template <class T>
  static mcsafe::result<T> load(const T* p) {
    return mcsafe::guarded_range<const T>(p - k, k + 1).load(k);
  }
  template <class T>
  static mcsafe::copy_result store(T* p, const T& v) {
    return mcsafe::guarded_range<T>(p - k, k + 1).store(k, v);
  }
};

// The inlined word loads and stores at every offset across a truncated file's end, each width:
// a word below the cut works; one that reaches past it returns bus_error at the cut, with
// `copied` (stores) the bytes below the cut, which are then in the file; nothing else changes.
template <class T, class Access = per_call_access>
void check_words_across_cut(unsigned char* cut, mcsafe_test::case_log& log) {
  const auto cut_address = reinterpret_cast<std::uintptr_t>(cut);
  for (std::size_t below = 0; below <= 2 * sizeof(T); ++below) {
    unsigned char* at = cut - below;
    const bool fits = below >= sizeof(T);
    const auto where = [&](const char* what) {
      return mcsafe_test::describe([=](std::ostream& os) {
        os << Access::name << ": " << what << " of a " << sizeof(T) << "-byte word starting " << below
           << " bytes below the cut";
      });
    };
    T expect;
    std::memcpy(&expect, at - 64, sizeof(T));  // the load's reference: readable bytes below
    const auto ld = Access::load(reinterpret_cast<const T*>(at - 64));
    MCSAFE_CHECK_CASE(log, ld.has_value(), where("load 64 bytes lower"));
    MCSAFE_CHECK_CASE(log, ld.value_or(T{}) == expect, where("load 64 bytes lower"));
    const auto v = Access::load(reinterpret_cast<const T*>(at));
    MCSAFE_CHECK_CASE(log, v.has_value() == fits, where("load"));
    if (!fits) {
      MCSAFE_CHECK_CASE(log, v.error().kind == fault_kind::bus_error, where("load"));
      MCSAFE_CHECK_CASE(log, v.error().side == mcsafe::fault_side::source, where("load"));
      MCSAFE_CHECK_CASE(log, v.error().address == cut_address, where("load"));
    }
    std::memset(cut - 16, 0x5A, 16);
    T value;
    std::memset(&value, 0xC3, sizeof value);
    const auto s = Access::store(reinterpret_cast<T*>(at), value);
    const std::size_t landed = fits ? sizeof(T) : below;
    MCSAFE_CHECK_CASE(log, s.ok() == fits, where("store"));
    MCSAFE_CHECK_CASE(log, s.copied == landed, where("store"));
    if (!fits) {
      MCSAFE_CHECK_CASE(log, s.fault.kind == fault_kind::bus_error, where("store"));
      MCSAFE_CHECK_CASE(log, s.fault.side == mcsafe::fault_side::destination, where("store"));
      MCSAFE_CHECK_CASE(log, s.fault.address == cut_address, where("store"));
    }
    unsigned char want[16];  // the value's bytes that landed, 0x5A elsewhere
    for (std::size_t i = 0; i < 16; ++i) want[i] = cut - 16 + i >= at && cut - 16 + i < at + landed ? 0xC3 : 0x5A;
    MCSAFE_CHECK_CASE(log, mcsafe_test::first_difference(cut - 16, want, 16), where("store (the 16 bytes below the cut)"));
  }
}

TEST_CASE("copy: inlined word loads and stores at every offset across a cut, every width", "[copy][load][fault]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  mcsafe_test::case_log log;
  check_words_across_cut<std::uint8_t>(file.cut(), log);
  check_words_across_cut<std::uint16_t>(file.cut(), log);
  check_words_across_cut<std::uint32_t>(file.cut(), log);
  check_words_across_cut<std::uint64_t>(file.cut(), log);
  check_words_across_cut<double>(file.cut(), log);
  CHECK(log.failures == 0);
  // Bad arguments: refused, nothing written.
  const auto n = mcsafe::mc_safe_store(static_cast<std::uint64_t*>(nullptr), std::uint64_t{1});
  CHECK(n.fault.kind == fault_kind::invalid_argument);
  CHECK(n.fault.side == mcsafe::fault_side::destination);
  const auto top = mcsafe::mc_safe_store(reinterpret_cast<std::uint32_t*>(~std::uintptr_t{0} - 2), std::uint32_t{1});
  CHECK(top.fault.kind == fault_kind::invalid_argument);
}

// Element types a guarded_range reaches through mc_safe_copy (not 1, 2, 4 or 8 bytes).
struct three_bytes {
  unsigned char b[3];
  bool operator==(const three_bytes&) const = default;
};
struct sixteen_bytes {
  std::uint64_t lo, hi;
  bool operator==(const sixteen_bytes&) const = default;
};

TEST_CASE("guarded_range: loads and stores at every offset across a cut, every width and two copied sizes",
          "[copy][load][fault][guarded_range]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  mcsafe_test::case_log log;
  check_words_across_cut<std::uint8_t, range_access>(file.cut(), log);
  check_words_across_cut<std::uint16_t, range_access>(file.cut(), log);
  check_words_across_cut<std::uint32_t, range_access>(file.cut(), log);
  check_words_across_cut<std::uint64_t, range_access>(file.cut(), log);
  check_words_across_cut<double, range_access>(file.cut(), log);
  check_words_across_cut<three_bytes, range_access>(file.cut(), log);
  check_words_across_cut<sixteen_bytes, range_access>(file.cut(), log);
  CHECK(log.failures == 0);
}

// CTest runs each case in a process of its own: here the range is the process's first use of
// mcsafe, and its constructor, not its first access, installs the handler.
TEST_CASE("guarded_range: construction installs the handler, and a loop stops at the first bad word",
          "[copy][load][guarded_range]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  const bool fresh = !mcsafe::installed();
  if (!fresh) WARN("not the process's first use of mcsafe: installation by the constructor is not exercised");
  const mcsafe::guarded_range<const std::uint64_t> words(reinterpret_cast<const std::uint64_t*>(file.data()), 4 * pg / 8);
  CHECK(mcsafe::installed());
  REQUIRE(words.size() == 4 * pg / 8);
  std::uint64_t sum = 0, want = 0;
  std::size_t i = 0;
  mcsafe::fault stopped;
  for (; i < words.size(); ++i) {
    const auto v = words.load(i);
    if (!v) {
      stopped = v.error();
      break;
    }
    sum += *v;
  }
  for (std::size_t k = 0; k < 2 * pg / 8; ++k) {
    std::uint64_t w;
    std::memcpy(&w, file.data() + 8 * k, 8);
    want += w;
  }
  CHECK(i == 2 * pg / 8);
  CHECK(sum == want);
  CHECK(stopped.kind == fault_kind::bus_error);
  CHECK(stopped.side == mcsafe::fault_side::source);
  CHECK(stopped.address == reinterpret_cast<std::uintptr_t>(file.cut()));
  // The range's stores: the last good word takes one, the first bad one reports it, copied 0.
  const mcsafe::guarded_range<std::uint64_t> out(reinterpret_cast<std::uint64_t*>(file.data()), 4 * pg / 8);
  CHECK(out.store(2 * pg / 8 - 1, std::uint64_t{0x0123456789abcdef}).ok());
  std::uint64_t back;
  std::memcpy(&back, file.cut() - 8, 8);
  CHECK(back == 0x0123456789abcdef);
  const auto bad = out.store(2 * pg / 8, std::uint64_t{1});
  CHECK(bad.copied == 0);
  CHECK(bad.fault.kind == fault_kind::bus_error);
  CHECK(bad.fault.side == mcsafe::fault_side::destination);
}

TEST_CASE("guarded_range: a null, overflowing or wrapping range is empty, and an index past the end is refused untouched",
          "[copy][args][guarded_range]") {
  std::uint64_t words[4] = {1, 2, 3, 4};
  const auto refused = [](const mcsafe::fault& f) { return f.kind == fault_kind::invalid_argument; };
  const mcsafe::guarded_range<std::uint64_t> null_data(nullptr, 4);
  CHECK(null_data.empty());
  CHECK(refused(null_data.load(0).error()));
  CHECK(refused(null_data.store(0, 9).fault));
  CHECK(mcsafe::guarded_range<std::uint64_t>(nullptr, 0).empty());
  CHECK(mcsafe::guarded_range<std::uint64_t>(words, SIZE_MAX / 4).empty());           // SIZE_MAX / 4 * 8 overflows
  const auto* top = reinterpret_cast<const std::uint32_t*>(~std::uintptr_t{0} - 15);  // 16 bytes to the top
  CHECK(mcsafe::guarded_range<const std::uint32_t>(top, 5).empty());
  CHECK(mcsafe::guarded_range<const std::uint32_t>(top, 4).size() == 4);  // ends at the top exactly: not wrapped
  CHECK(mcsafe::guarded_range<const sixteen_bytes>(reinterpret_cast<const sixteen_bytes*>(top), 2).empty());

  const mcsafe::guarded_range<std::uint64_t> r{std::span<std::uint64_t, 4>(words)};
  REQUIRE(r.size() == 4);
  CHECK(r.size_bytes() == 32);
  CHECK(r.load(3).value() == 4);
  const auto past = r.load(4);
  REQUIRE_FALSE(past.has_value());
  CHECK(refused(past.error()));
  const auto s = r.store(4, 99);
  CHECK(s.copied == 0);
  CHECK(refused(s.fault));
  CHECK(r.store(SIZE_MAX, 99).copied == 0);
  CHECK(r.store(0, 7).ok());
  CHECK(words[0] == 7);
  CHECK(words[1] == 2);
  CHECK(words[2] == 3);
  CHECK(words[3] == 4);
}

TEST_CASE("copy: inlined word loads and stores on a PROT_NONE page give segv with catch_segv", "[copy][load][segv]") {
  REQUIRE(mcsafe::install({.catch_segv = true}) == std::errc{});
  mcsafe_test::guarded_pages pages(4, 2);
  const auto v = mcsafe::mc_safe_load(reinterpret_cast<const std::uint64_t*>(pages.bad() - 4));
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().kind == fault_kind::segv);
  CHECK(v.error().si_code == SEGV_ACCERR);
  const auto s = mcsafe::mc_safe_store(reinterpret_cast<std::uint64_t*>(pages.bad() - 4), ~std::uint64_t{0});
  CHECK(s.copied == 4);
  CHECK(s.fault.kind == fault_kind::segv);
  CHECK(s.fault.side == mcsafe::fault_side::destination);
  CHECK(s.fault.address == reinterpret_cast<std::uintptr_t>(pages.bad()));
  CHECK(std::memcmp(pages.bad() - 4, "\xff\xff\xff\xff", 4) == 0);
}

// The hot paths test the ranges with ORs (detail/address_range.hpp): a test that may send a good
// range to the exact one but must never pass a bad range. Every pair of boundary values.
TEST_CASE("copy: the hot paths' range tests never pass a bad range, and what they pass over is copied", "[copy][args]") {
  namespace d = mcsafe::detail;
  constexpr std::uintptr_t top_half = std::uintptr_t{1} << 63;
  const std::uintptr_t points[] = {0,
                                   1,
                                   4096,
                                   0x7fff'ffff'f000,
                                   top_half - 65,
                                   top_half - 1,
                                   top_half,
                                   top_half + 1,
                                   UINTPTR_MAX - 64,
                                   UINTPTR_MAX - 7,
                                   UINTPTR_MAX};
  const std::size_t lengths[] = {0, 1, 8, 64, 65, 4096, top_half / 2, top_half - 1, top_half, SIZE_MAX};
  int plain = 0, inline_ok = 0;
  for (const std::uintptr_t a : points)
    for (const std::uintptr_t b : points) {
      const auto* dst = reinterpret_cast<const void*>(a);
      const auto* src = reinterpret_cast<const void*>(b);
      for (const std::size_t n : lengths) {
        INFO("dst " << a << " src " << b << " n " << n);
        if (d::copy_ranges_plain(dst, src, n)) {
          ++plain;
          CHECK_FALSE(d::bad_ranges(dst, src, n));
        }
      }
      // The inline copy's test, for every length it takes (1..128: 65..128 with zmm).
      if (d::both_words_ready(dst, src)) {
        ++inline_ok;
        for (std::size_t n = 1; n <= 128; ++n) CHECK_FALSE(d::bad_ranges(dst, src, n));
      }
    }
  CHECK(plain > 0);
  CHECK(inline_ok > 0);
#if defined(__x86_64__)
  // A kernel-half address is no bad input (nothing wraps): at 200 bytes it fails the OR test
  // before the call and takes the exact one out of line; at 16 it passes the inline copy's test,
  // at 100 the zmm one where vector_avx512 is chosen, else the OR test's way. Every way the copy
  // runs and returns the real SIGSEGV, as for any unmapped address.
  REQUIRE(mcsafe::install({.catch_segv = true}) == std::errc{});
  const auto* kernel = reinterpret_cast<const unsigned char*>(0xffff'8000'0000'0000);
  std::vector<unsigned char> out(256, 0x5A);
  for (const std::size_t n : {std::size_t{16}, std::size_t{100}, std::size_t{200}}) {
    INFO("n " << n);
    const auto r = mcsafe::mc_safe_copy(out.data(), kernel, n);
    CHECK(r.copied == 0);
    CHECK(r.fault.kind == fault_kind::segv);
    CHECK(r.fault.side == mcsafe::fault_side::source);
    CHECK(std::count(out.begin(), out.end(), 0x5A) == 256);
  }
#endif
}

// Constant lengths of 1..64 bytes are copied inline (four or eight guarded moves, copy.hpp), and
// 65..128 where vector_avx512 is chosen (four zmm moves); at -O2 the N below is a constant in
// mc_safe_copy. Every N, every position of the cut relative to the
// range, both sides: `copied` and the bytes that landed are exact, as for the routines.
//
// Only the copies depend on N (check_constant_copy_across_cut); the checks of one case are
// these functions, compiled once for all 129 lengths: once per length, they take minutes to
// compile under the sanitizers.
namespace {
struct constant_copy_case {
  std::size_t n, below;  // the copy's length; where its range starts below the cut
  unsigned char* cut;
  mcsafe_test::case_log& log;
  bool fits() const { return below >= n; }
  std::size_t expect() const { return fits() ? n : below; }
  auto where(const char* side) const {
    return mcsafe_test::describe([n = n, below = below, side](std::ostream& os) {
      os << "constant size " << n << ", " << side << " starting " << below << " bytes below the cut";
    });
  }
};
constexpr std::size_t constant_copy_around = 160;  // bytes checked below the cut: more than N + 1

// The source side: the copy read cut - below into buf + 8 (buf: 256 bytes of 0x5A before it).
[[gnu::noinline]] void check_constant_copy_from_cut(const constant_copy_case& c, const unsigned char* buf,
                                                    const mcsafe::copy_result& r) {
  auto& log = c.log;
  MCSAFE_CHECK_CASE(log, r.ok() == c.fits(), c.where("source"));
  MCSAFE_CHECK_CASE(log, r.copied == c.expect(), c.where("source"));
  MCSAFE_CHECK_CASE(log, mcsafe_test::first_difference(buf + 8, c.cut - c.below, c.expect()), c.where("source"));
  if (!c.fits()) {
    MCSAFE_CHECK_CASE(log, r.fault.kind == fault_kind::bus_error, c.where("source"));
    MCSAFE_CHECK_CASE(log, r.fault.side == mcsafe::fault_side::source, c.where("source"));
    MCSAFE_CHECK_CASE(log, r.fault.address == reinterpret_cast<std::uintptr_t>(c.cut), c.where("source"));
  }
  MCSAFE_CHECK_CASE(log, mcsafe_test::first_byte_not(buf, 0x5A, 8), c.where("source (the 8 bytes below the destination)"));
}

// Fills buf with the bytes the destination side copies and the bytes below the cut with 0x5A.
[[gnu::noinline]] void prepare_constant_copy_to_cut(const constant_copy_case& c, unsigned char* buf) {
  std::memset(c.cut - constant_copy_around, 0x5A, constant_copy_around);
  for (std::size_t i = 0; i < c.n; ++i) buf[i] = static_cast<unsigned char>(0xC0 + i);
}

// The destination side: the copy wrote buf to cut - below.
[[gnu::noinline]] void check_constant_copy_to_cut(const constant_copy_case& c, const unsigned char* buf,
                                                  const mcsafe::copy_result& r) {
  auto& log = c.log;
  MCSAFE_CHECK_CASE(log, r.ok() == c.fits(), c.where("destination"));
  MCSAFE_CHECK_CASE(log, r.copied == c.expect(), c.where("destination"));
  if (!c.fits()) {
    MCSAFE_CHECK_CASE(log, r.fault.side == mcsafe::fault_side::destination, c.where("destination"));
    MCSAFE_CHECK_CASE(log, r.fault.address == reinterpret_cast<std::uintptr_t>(c.cut), c.where("destination"));
  }
  constexpr std::size_t around = constant_copy_around;
  unsigned char want[around];  // buf's first `expect` bytes at cut - below, 0x5A elsewhere
  std::memset(want, 0x5A, around);
  std::memcpy(want + around - c.below, buf, c.expect());
  MCSAFE_CHECK_CASE(log, mcsafe_test::first_difference(c.cut - around, want, around),
                    c.where("destination (the 160 bytes below the cut)"));
}

template <std::size_t N>
void check_constant_copy_across_cut(unsigned char* cut, mcsafe_test::case_log& log) {
  static_assert(N + 1 < constant_copy_around);
  unsigned char buf[256];
  for (std::size_t below = 0; below <= N + 1; ++below) {
    const constant_copy_case c{N, below, cut, log};
    std::memset(buf, 0x5A, sizeof buf);
    check_constant_copy_from_cut(c, buf, mcsafe::mc_safe_copy(buf + 8, cut - below, N));
    prepare_constant_copy_to_cut(c, buf);
    check_constant_copy_to_cut(c, buf, mcsafe::mc_safe_copy(cut - below, buf, N));
  }
}

template <std::size_t... N>
void check_constant_copies(unsigned char* cut, mcsafe_test::case_log& log, std::index_sequence<N...>) {
  (check_constant_copy_across_cut<N + 1>(cut, log), ...);
}
}  // namespace

TEST_CASE("copy: constant lengths of 1..128 bytes, inline, at every position across a cut", "[copy][fault]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  mcsafe_test::case_log log;
  // 1..129: 65..128 inline with vector_avx512, else and at 129 the call.
  check_constant_copies(file.cut(), log, std::make_index_sequence<129>{});
  CHECK(log.failures == 0);
  unsigned char src[144], dst[144];
  for (std::size_t i = 0; i < 144; ++i) src[i] = static_cast<unsigned char>(i + 1);
#if defined(MCSAFE_ARCH_X86_64)
  // The same asm driven directly, whatever the optimizer did with the constant; the zmm moves
  // only where the CPU has them (vector_avx512 can be forced).
  const bool zmm = mcsafe::testing::force_copy(copy_backend::vector_avx512);
  mcsafe::testing::reset_copy();
  if (!zmm) WARN("SKIP the direct zmm moves: no vector_avx512 on this CPU (the constant lengths above took the call)");
  for (std::size_t n = 1; n <= (zmm ? 128 : 64); ++n) {
    INFO("n " << n);
    std::memset(dst, 0, sizeof dst);
    const auto r = n <= 64 ? mcsafe::detail::inline_small_copy(dst + 3, src + 5, n)
                           : mcsafe::detail::guarded_copy_65_128_zmm(dst + 3, src + 5, n);
    CHECK(r.info == 0);
    CHECK(std::memcmp(dst + 3, src + 5, n) == 0);
    CHECK(dst[3 + n] == 0);
    CHECK(dst[2] == 0);
    if (n < 16 || n > 32) continue;
    std::memset(dst, 0, sizeof dst);  // the two-move form of a constant 16..32
    CHECK(mcsafe::detail::guarded_copy_16_32(dst + 3, src + 5, n).info == 0);
    CHECK(std::memcmp(dst + 3, src + 5, n) == 0);
    CHECK(dst[3 + n] == 0);
    CHECK(dst[2] == 0);
  }
#endif
  // A bad constant-length range is refused as before.
  CHECK(mcsafe::mc_safe_copy(nullptr, src, 8).fault.kind == fault_kind::invalid_argument);
  CHECK(mcsafe::mc_safe_copy(dst, reinterpret_cast<const void*>(~std::uintptr_t{0} - 3), 8).fault.side ==
        mcsafe::fault_side::source);
}

TEST_CASE("copy: a faulting mc_safe_store as the first call installs the handler and returns", "[copy][load]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  const auto s = mcsafe::mc_safe_store(reinterpret_cast<std::uint16_t*>(file.cut()), std::uint16_t{7});
  CHECK(s.copied == 0);
  CHECK(s.fault.kind == fault_kind::bus_error);
  CHECK(s.fault.side == mcsafe::fault_side::destination);
}
