// libFuzzer target: poison_span reads over a MAP_SHARED file cut (truncated) at a fuzzer-chosen
// page, with fuzzer-chosen element size, subspan, known-bad ranges and operations, checked
// against a model of which bytes are bad: every byte at or past the cut is (the kernel raises
// SIGBUS there), and a known-bad range is refused before memory is touched.
//   load(i)       the element, or known_bad (address: the element or the range start inside
//                 it), or bus_error at the first byte past the cut
//   read(f, out)  whole elements up to the first refused or faulting one, the lower of the two
//   scan(map)     records every byte past the cut that no known range covers, never a byte
//                 before the cut, and returns the number of bytes it recorded
//   for_each_good_range  each element once, exactly those touching no known byte (known
//                 ranges may run to SIZE_MAX)
//   a count near SIZE_MAX / sizeof(T): empty when its byte size overflows or its range wraps
// Any mismatch calls __builtin_trap(), which libFuzzer reports as a crash with the input.
// needs: include/mcsafe/span.hpp
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include <mcsafe/span.hpp>

#include "cut_file.hpp"

namespace {

using namespace mcsafe_fuzz;

template <std::size_t N>
struct record {
  std::uint8_t bytes[N];
};

// The model, in byte offsets from the subspan's first byte (may be negative for the map).
struct model {
  const std::uint8_t* data;  // the subspan's first byte
  std::size_t good;          // bytes before the cut, counted from data
  const mcsafe::poison_map* known;
  std::size_t origin;  // offset of data from the known map's origin
  std::uint8_t seed;
  std::size_t base;  // offset of data in the file (for the pattern)

  // The first byte of [b, e) inside a known range, or e.
  std::size_t first_known(std::size_t b, std::size_t e) const {
    const auto it = known->first_overlap({origin + b, origin + e});
    if (it == known->end()) return e;
    return std::max(it->begin, origin + b) - origin;
  }
  bool same_bytes(const void* out, std::size_t at, std::size_t n) const {
    const auto* o = static_cast<const std::uint8_t*>(out);
    for (std::size_t i = 0; i < n; ++i)
      if (o[i] != pattern(base + at + i, seed)) return false;
    return true;
  }
};

template <class T>
void load_case(const mcsafe::poison_span<const T>& s, const model& m, std::size_t i) {
  const mcsafe::result<T> r = s.load(i);
  if (i >= s.size()) {
    check(!r && r.error().kind == mcsafe::fault_kind::invalid_argument);
    return;
  }
  const std::size_t b = i * sizeof(T), e = b + sizeof(T);
  const std::size_t k = m.first_known(b, e);
  if (k < e) {
    check(!r && r.error().kind == mcsafe::fault_kind::known_bad);
    check(r.error().address == reinterpret_cast<std::uintptr_t>(m.data + k));
  } else if (e > m.good) {
    check(!r && r.error().kind == mcsafe::fault_kind::bus_error);
    check(r.error().address == reinterpret_cast<std::uintptr_t>(m.data + std::max(b, m.good)));
  } else {
    check(r.has_value() && m.same_bytes(&r.value(), b, sizeof(T)));
  }
}

template <class T>
void read_case(const mcsafe::poison_span<const T>& s, const model& m, std::size_t first, std::size_t count) {
  std::vector<T> out(count + 1);
  std::memset(out.data(), 0xEE, out.size() * sizeof(T));
  const mcsafe::copy_result r = s.read(first, std::span<T>(out.data(), count));
  if (first > s.size() || count > s.size() - first) {
    check(r.copied == 0 && r.fault.kind == mcsafe::fault_kind::invalid_argument);
    return;
  }
  const std::size_t b = first * sizeof(T), e = b + count * sizeof(T);
  const std::size_t k = m.first_known(b, e);               // first refused byte
  const std::size_t c = std::max(b, std::min(m.good, e));  // first faulting byte
  const std::size_t k_el = k / sizeof(T), c_el = c < e ? c / sizeof(T) : first + count;
  if (k < e && k_el <= c_el) {  // refused first: nothing at or past that element is touched
    check(r.copied == k_el - first && r.fault.kind == mcsafe::fault_kind::known_bad);
    check(r.fault.address == reinterpret_cast<std::uintptr_t>(m.data + k));
  } else if (c < e) {
    check(r.copied == c_el - first && r.fault.kind == mcsafe::fault_kind::bus_error);
    check(r.fault.side == mcsafe::fault_side::source);
    check(r.fault.address == reinterpret_cast<std::uintptr_t>(m.data + c));
  } else {
    check(r.ok() && r.copied == count);
  }
  check(m.same_bytes(out.data(), b, r.copied * sizeof(T)));
  const auto* tail = reinterpret_cast<const std::uint8_t*>(out.data() + count);
  for (std::size_t i = 0; i < sizeof(T); ++i) check(tail[i] == 0xEE);  // nothing past the output
}

template <class T>
void scan_case(const mcsafe::poison_span<const T>& s, const model& m) {
  mcsafe::poison_map found;
  const std::size_t got = s.scan(found);
  check(got == found.bytes());
  const std::size_t total = s.size_bytes();
  // Never a good byte; every bad byte that no known range covers (a page recorded after a
  // fault may run into a known range: that part was bad anyway, and is allowed).
  for (const mcsafe::byte_range& r : found)
    check(r.begin >= m.origin + std::min(m.good, total) && r.end <= m.origin + total);
  for (std::size_t at = std::min(m.good, total); at < total; ++at)
    if (m.first_known(at, at + 1) == at + 1) check(found.contains(m.origin + at));
}

// Each element reported exactly once, in order, exactly when it touches no known byte (known
// ranges may end at SIZE_MAX: rounding such an end up to an element used to overflow).
template <class T>
void good_ranges_case(const mcsafe::poison_span<const T>& s, const model& m) {
  std::vector<std::uint8_t> seen(s.size(), 0);
  std::size_t last_end = 0;
  s.for_each_good_range([&](std::size_t f, std::size_t n) {
    check(n > 0 && f >= last_end && f + n <= s.size());
    for (std::size_t j = f; j < f + n; ++j) ++seen[j];
    last_end = f + n;
  });
  for (std::size_t j = 0; j < s.size(); ++j) {
    const std::size_t b = j * sizeof(T), e = b + sizeof(T);
    check(seen[j] == (m.first_known(b, e) == e ? 1 : 0));
  }
}

// A count whose byte size overflows, or whose range wraps, gives an empty span; any other
// count is kept. Checked in 128-bit arithmetic.
template <class T>
void count_case(const T* data, std::size_t count) {
  const mcsafe::poison_span<const T> s(data, count);
  const unsigned __int128 bytes = static_cast<unsigned __int128>(count) * sizeof(T);
  const bool fits = bytes <= SIZE_MAX &&
                    reinterpret_cast<std::uintptr_t>(data) + bytes <= static_cast<unsigned __int128>(UINTPTR_MAX) + 1;
  check(s.size() == (fits ? count : 0));
  check(s.size_bytes() == (fits ? static_cast<std::size_t>(bytes) : 0));
  if (!fits) check(s.load(count / 2).error().kind == mcsafe::fault_kind::invalid_argument);
}

template <class T>
void run(input& in, cut_file& f, std::size_t cut, std::uint8_t seed, std::uint32_t ops) {
  const std::size_t count_all = f.size() / sizeof(T);
  const mcsafe::poison_span<const T> all(reinterpret_cast<const T*>(f.data()), count_all);
  // Known-bad ranges, in bytes from the whole span's start (the map's origin).
  mcsafe::poison_map known;
  for (std::uint32_t i = in.take(1) % 3; i > 0; --i) {
    const std::size_t b = in.take(3) % f.size();
    const std::size_t len = in.take(2);
    // A length of 0 stands for a range that runs to the top of size_t.
    known.insert({b, len == 0 ? SIZE_MAX : b + 1 + len % (2 * cut_file::page())});
  }
  const mcsafe::poison_span<const T> whole(all.data(), all.size(), &known);
  const std::size_t first = in.take(3) % (count_all + 1);
  const mcsafe::poison_span<const T> s = whole.subspan(first, in.take(3));
  const std::size_t origin = first * sizeof(T);
  const model m{f.data() + origin, cut > origin ? cut - origin : 0, &known, origin, seed, origin};
  for (std::uint32_t op = 0; op < ops; ++op) {
    switch (in.take(1) % 5) {
      case 0: load_case(s, m, in.take(3) % (s.size() + 2)); break;
      case 1: {
        const std::size_t at = in.take(3) % (s.size() + 2);
        read_case(s, m, at, in.take(2) % (2 * cut_file::page() / sizeof(T) + 2));
        break;
      }
      case 2: good_ranges_case(s, m); break;
      case 3: count_case(s.data(), SIZE_MAX / sizeof(T) - 4 + in.take(1) % 8 + (std::size_t{in.take(1)} << 40)); break;
      default: scan_case(s, m); break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in{data, size};
  const std::uint32_t type = in.take(1) % 4;
  const auto seed = static_cast<std::uint8_t>(in.take(1));
  static cut_file f;
  const std::size_t cut = f.cut(in.take(1) % (k_pages + 1), seed);
  const std::uint32_t ops = 1 + in.take(1) % 8;
  switch (type) {
    case 0: run<std::uint8_t>(in, f, cut, seed, ops); break;
    case 1: run<std::uint32_t>(in, f, cut, seed, ops); break;
    case 2: run<std::uint64_t>(in, f, cut, seed, ops); break;
    default: run<record<12>>(in, f, cut, seed, ops); break;
  }
  return 0;
}
