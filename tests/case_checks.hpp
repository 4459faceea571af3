// Loops over many cases in one test case, where a failure must name its case (backend, size,
// offset, side) without a rerun. MCSAFE_CHECK_CASE(log, expr, where) checks expr once per case
// and only on failure makes a CHECK, with `where` as its INFO and Catch's expansion of expr: a
// passing loop adds no assertion per case (millions of them would dominate the run), and a
// broken routine names its first few failing cases, then only counts, so the log stays short.
// The loop ends with CHECK(log.failures == 0): the total.
#pragma once
#include <cstddef>
#include <cstring>
#include <ostream>
#include <string>

#include <mcsafe/fault.hpp>

#include "catch2_any.hpp"

namespace mcsafe_test {

struct case_log {
  static constexpr std::size_t named = 10;  // failing cases reported in full; the rest counted
  std::size_t failures = 0;
  bool name_next() { return ++failures <= named; }
};

// A case's description, written only when a failure prints it:
// describe([&](std::ostream& os) { os << "size " << n; }).
template <class Fn>
struct description {
  Fn write;
  friend std::ostream& operator<<(std::ostream& os, const description& d) {
    d.write(os);
    return os;
  }
};
template <class Fn>
description<Fn> describe(Fn fn) {
  return {fn};
}

// Where two byte ranges first differ, as a check's operand: true when they do not, printed as
// the offset and both bytes.
struct byte_difference {
  std::ptrdiff_t at = -1;
  unsigned got = 0, want = 0;
  explicit operator bool() const { return at < 0; }
  friend std::ostream& operator<<(std::ostream& os, const byte_difference& d) {
    if (d.at < 0) return os << "the same bytes";
    return os << "first difference at byte " << d.at << ": 0x" << std::hex << d.got << ", want 0x" << d.want << std::dec;
  }
};
inline byte_difference first_difference(const void* got, const void* want, std::size_t n) {
  if (std::memcmp(got, want, n) == 0) return {};
  const auto* g = static_cast<const unsigned char*>(got);
  const auto* w = static_cast<const unsigned char*>(want);
  std::size_t i = 0;
  while (g[i] == w[i]) ++i;
  return {static_cast<std::ptrdiff_t>(i), g[i], w[i]};
}
// The first of n bytes at p that is not `value` (a guard pattern that must be intact).
inline byte_difference first_byte_not(const void* p, unsigned char value, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != value) return {static_cast<std::ptrdiff_t>(i), b[i], value};
  return {};
}

}  // namespace mcsafe_test

// Catch prints a fault's kind and side by name, not as numbers.
template <>
struct Catch::StringMaker<mcsafe::fault_kind> {
  static std::string convert(mcsafe::fault_kind k) { return mcsafe::to_string(k); }
};
template <>
struct Catch::StringMaker<mcsafe::fault_side> {
  static std::string convert(mcsafe::fault_side s) { return mcsafe::to_string(s); }
};

#define MCSAFE_CHECK_CASE(log, expr, where) \
  do {                                      \
    if (!(expr) && (log).name_next()) {     \
      INFO(where);                          \
      CHECK(expr);                          \
    }                                       \
  } while (false)
