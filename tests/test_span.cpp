// poison_map against a reference model; poison_span over real faulting memory.
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <mcsafe/poison_map.hpp>
#include <mcsafe/span.hpp>

#include "case_checks.hpp"
#include "catch2_any.hpp"
#include "support.hpp"

using mcsafe::byte_range;
using mcsafe::poison_map;

TEST_CASE("poison_map: random insert/erase/round_to against a bitmap model", "[poison_map]") {
  constexpr std::size_t k_u = 300;
  std::mt19937 rng(7);
  mcsafe_test::case_log log;
  for (int seq = 0; seq < 2000; ++seq) {
    poison_map m;
    std::vector<bool> model(k_u + 64, false);
    for (int op = 0; op < 25; ++op) {
      const std::size_t a = rng() % k_u, b = a + rng() % 40;
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 6) {
        m.insert({a, b});
        for (std::size_t i = a; i < b; ++i) model[i] = true;
      } else if (kind < 9) {
        m.erase({a, b});
        for (std::size_t i = a; i < b; ++i) model[i] = false;
      } else {
        const std::size_t g = 1 + rng() % 16;
        m.round_to(g);
        std::vector<bool> widened(model.size(), false);
        for (std::size_t i = 0; i < model.size(); ++i)
          if (model[i])
            for (std::size_t j = i / g * g; j < (i / g + 1) * g && j < widened.size(); ++j) widened[j] = true;
        model = widened;
      }
      // Invariants: sorted, disjoint, not touching, non-empty; same set as the model.
      std::vector<bool> seen(model.size(), false);
      std::size_t prev_end = 0, bytes = 0;
      bool first = true;
      const auto where = [&](const char* what) {
        return mcsafe_test::describe(
            [=](std::ostream& os) { os << "sequence " << seq << ", after operation " << op << ": " << what; });
      };
      for (byte_range r : m) {
        MCSAFE_CHECK_CASE(log, !r.empty(), where("an empty range"));
        MCSAFE_CHECK_CASE(log, (first || r.begin > prev_end), where("ranges not sorted, disjoint and apart"));
        MCSAFE_CHECK_CASE(log, r.end <= seen.size(), where("a range past the model"));
        for (std::size_t i = r.begin; i < r.end && i < seen.size(); ++i) seen[i] = true;
        prev_end = r.end;
        bytes += r.size();
        first = false;
      }
      MCSAFE_CHECK_CASE(log, seen == model, where("not the model's bytes"));
      MCSAFE_CHECK_CASE(log, bytes == m.bytes(), where("bytes()"));
      const std::size_t q = rng() % k_u, qn = 1 + rng() % 20;
      const auto query = [&](const char* what) {
        return mcsafe_test::describe([=](std::ostream& os) {
          os << "sequence " << seq << ", after operation " << op << ": " << what << " [" << q << ", " << q + qn << ")";
        });
      };
      bool any = false;
      for (std::size_t i = q; i < q + qn; ++i) any = any || model[i];
      MCSAFE_CHECK_CASE(log, m.contains(q) == model[q], query("contains the start of"));
      MCSAFE_CHECK_CASE(log, m.intersects({q, q + qn}) == any, query("intersects"));
      const auto fo = m.first_overlap({q, q + qn});
      if (any) {
        std::size_t firstbad = q;
        while (!model[firstbad]) ++firstbad;
        MCSAFE_CHECK_CASE(log, (fo != m.end() && firstbad >= fo->begin && firstbad < fo->end), query("first_overlap"));
      } else {
        MCSAFE_CHECK_CASE(log, (fo == m.end()), query("first_overlap, none expected"));
      }
    }
  }
  CHECK(log.failures == 0);
}

TEST_CASE("fault: the extent of a fault is the granule the kernel named, else the page", "[fault]") {
  mcsafe::fault f;
  f.address = 0x212345;
  CHECK(f.extent_size(4096) == 4096);  // lsb 0: one byte named, the page is gone
  CHECK(f.extent_begin(0x212345, 4096) == 0x212000);
  CHECK(f.extent_end(0x212345, 4096) == 0x213000);
  f.lsb = 21;  // a 2 MiB granule
  CHECK(f.extent_size(4096) == 0x200000);
  CHECK(f.extent_begin(0x212345, 4096) == 0x200000);
  CHECK(f.extent_end(0x212345, 4096) == 0x400000);
  CHECK(f.extent_end(0x3fffff, 4096) == 0x400000);  // the last byte of the granule
  CHECK(f.extent_end(0x400000, 4096) == 0x600000);  // the first byte of the next
  f.lsb = 64;  // wider than size_t: no kernel sends it; the page, not a division by zero
  CHECK(f.extent_size(4096) == 4096);
}

TEST_CASE("poison_span: scan of a truncated file finds exactly the pages past the cut, in one pass", "[span][fault]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(10 * pg, 3 * pg);
  mcsafe::poison_span<const unsigned char> span(file.data(), 10 * pg - 100);
  poison_map bad;
  const std::size_t found = span.scan(bad);
  CHECK(found == 7 * pg - 100);
  REQUIRE(bad.size() == 1);
  CHECK(bad.begin()->begin == 3 * pg);
  CHECK(bad.begin()->end == 10 * pg - 100);  // clipped to the span
  // Everything before the cut reads; a read across it stops at the cut.
  std::vector<unsigned char> out(4 * pg);
  auto r = span.read(0, std::span<unsigned char>(out.data(), 3 * pg));
  CHECK(r.ok());
  CHECK(std::memcmp(out.data(), file.data(), 3 * pg) == 0);
  r = span.read(pg, std::span<unsigned char>(out.data(), 3 * pg));
  CHECK(r.copied == 2 * pg);
  CHECK(r.fault.kind == mcsafe::fault_kind::bus_error);
}

TEST_CASE("poison_span: known-bad ranges are refused without touching memory", "[span]") {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(6 * pg, 2 * pg);
  poison_map bad;
  mcsafe::poison_span<const std::uint32_t> words(reinterpret_cast<const std::uint32_t*>(file.data()), 6 * pg / 4, &bad);
  words.scan(bad);
  REQUIRE(bad.bytes() == 4 * pg);
  // With the map known, the span refuses before touching: the fault is known_bad, not a SIGBUS.
  auto v = words.load(2 * pg / 4 + 3);
  REQUIRE_FALSE(v);
  CHECK(v.error().kind == mcsafe::fault_kind::known_bad);
  CHECK(v.error().address == reinterpret_cast<std::uintptr_t>(file.data() + 2 * pg + 12));  // the element
  std::vector<std::uint32_t> out(pg);
  auto r = words.read(pg / 4, std::span<std::uint32_t>(out.data(), pg / 2));
  CHECK(r.copied == pg / 4);
  CHECK(r.fault.kind == mcsafe::fault_kind::known_bad);
  // A read that starts inside a known-bad range copies nothing and names its first element
  // (the element count went negative before: found while writing fuzz/poison_span_cuts.cpp).
  const std::size_t inside = 2 * pg / 4 + 1;
  r = words.read(inside, std::span<std::uint32_t>(out.data(), 2));
  CHECK(r.copied == 0);
  CHECK(r.fault.kind == mcsafe::fault_kind::known_bad);
  CHECK(r.fault.address == reinterpret_cast<std::uintptr_t>(file.data() + inside * 4));
  // A second scan with the map known touches nothing bad and finds nothing new.
  poison_map again;
  CHECK(words.scan(again) == 0);
  std::vector<std::pair<std::size_t, std::size_t>> good;
  words.for_each_good_range([&](std::size_t f, std::size_t n) { good.emplace_back(f, n); });
  REQUIRE(good.size() == 1);
  CHECK(good[0] == std::make_pair(std::size_t{0}, 2 * pg / 4));
  // A subspan keeps the map's origin.
  auto tail = words.subspan(pg / 4);
  CHECK(tail.load(0).has_value());
  CHECK(tail.load(pg / 4).error().kind == mcsafe::fault_kind::known_bad);
}

TEST_CASE("poison_span: repair rewrites bad lines through clear_write, verifies, updates the map", "[span][repair]") {
  std::vector<std::uint64_t> mem(1024, 0xDEAD), fresh(1024);
  for (std::size_t i = 0; i < fresh.size(); ++i) fresh[i] = i * 3 + 1;
  auto* p = mem.data();
  // Use a 64-byte aligned window so line rounding stays inside it.
  while (reinterpret_cast<std::uintptr_t>(p) % 64 != 0) ++p;
  mcsafe::poison_span<std::uint64_t> span(p, 512);
  poison_map bad;
  bad.insert({100, 130});    // inside line [64, 192)
  bad.insert({1000, 1001});  // line [960, 1024)
  const auto w = span.repair(0, std::span<const std::uint64_t>(fresh.data(), 512), bad);
  CHECK(w.ok());
  CHECK(bad.empty());
  CHECK(std::memcmp(p + 8, fresh.data() + 8, 128) == 0);     // bytes 64..192 rewritten
  CHECK(std::memcmp(p + 120, fresh.data() + 120, 64) == 0);  // bytes 960..1024 rewritten
  CHECK(p[0] == 0xDEAD);                                     // good lines untouched
  CHECK(p[30] == 0xDEAD);

  // On a truncated file the store faults: the fault comes back and the map keeps the range.
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  mcsafe::poison_span<unsigned char> bytes(file.data(), 4 * pg);
  poison_map cut;
  bytes.scan(cut);
  std::vector<unsigned char> data(4 * pg, 0x42);
  const auto f = bytes.repair(0, data, cut);
  CHECK_FALSE(f.ok());
  CHECK(f.fault.kind == mcsafe::fault_kind::bus_error);
  CHECK(cut.bytes() == 2 * pg);
}

TEST_CASE("poison_span: a count whose byte size overflows, or a range that wraps, gives an empty span", "[span][args]") {
  std::uint64_t words[4] = {1, 2, 3, 4};
  // 2^61 + 2 elements of 8 bytes: the byte size wraps to 16 (it was accepted: size_bytes() 16,
  // and load(2^61) read words[0]).
  const mcsafe::poison_span<std::uint64_t> huge(words, (std::size_t{1} << 61) + 2);
  CHECK(huge.size() == 0);
  CHECK(huge.size_bytes() == 0);
  CHECK(huge.load(std::size_t{1} << 61).error().kind == mcsafe::fault_kind::invalid_argument);
  CHECK(huge.load(0).error().kind == mcsafe::fault_kind::invalid_argument);
  const mcsafe::poison_span<std::uint64_t> top(reinterpret_cast<std::uint64_t*>(UINTPTR_MAX - 15), 4);
  CHECK(top.size() == 0);
  const mcsafe::poison_span<std::uint64_t> fine(words, 4);
  CHECK(fine.size_bytes() == 32);
  CHECK(fine.load(3).value_or(0) == 4);
}

namespace {
struct record12 {
  unsigned char b[12];
};

// Every element reported exactly once, in order, exactly the elements that touch no known byte,
// for small spans and subspans with known ranges near 0 and near SIZE_MAX.
template <class T>
std::size_t good_range_mismatches() {
  static T storage[16];
  const std::size_t ends[] = {0, 1, 2, 3, 5, 8, 12, 13, 24, 40, SIZE_MAX - 1, SIZE_MAX};
  mcsafe_test::case_log log;
  for (std::size_t count = 1; count <= 8; ++count)
    for (std::size_t first = 0; first <= 3; ++first)
      for (std::size_t b : ends)
        for (std::size_t e : ends) {
          if (e <= b) continue;
          poison_map m;
          m.insert({b, e});
          const mcsafe::poison_span<T> whole(storage, count + first, &m);
          const auto s = whole.subspan(first);
          std::vector<int> seen(count, 0);
          std::size_t last_end = 0;
          const auto where = mcsafe_test::describe([&](std::ostream& os) {
            os << sizeof(T) << "-byte elements " << first << ".." << first + count << " of a span, bytes [" << b << ", " << e
               << ") known bad";
          });
          s.for_each_good_range([&](std::size_t f, std::size_t n) {
            MCSAFE_CHECK_CASE(log, (f >= last_end && n != 0 && f + n <= count),
                              where << ": reported elements [" << f << ", " << f + n << ") out of order or range");
            for (std::size_t j = f; j < f + n && j < count; ++j) ++seen[j];
            last_end = f + n;
          });
          for (std::size_t j = 0; j < count; ++j) {
            const std::size_t lo = (first + j) * sizeof(T), hi = lo + sizeof(T);
            const bool good = hi <= b || lo >= e;
            MCSAFE_CHECK_CASE(log, seen[j] == (good ? 1 : 0), where << ": element " << j << " of the subspan");
          }
        }
  return log.failures;
}
}  // namespace

TEST_CASE("poison_span: for_each_good_range reports each good element once, with known ranges up to SIZE_MAX", "[span]") {
  CHECK(good_range_mismatches<std::uint8_t>() == 0);
  CHECK(good_range_mismatches<std::uint16_t>() == 0);
  CHECK(good_range_mismatches<std::uint64_t>() == 0);
  CHECK(good_range_mismatches<record12>() == 0);
}
