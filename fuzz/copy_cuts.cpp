// libFuzzer target: mc_safe_copy, mc_safe_load and mc_safe_store over MAP_SHARED files cut
// (truncated) at fuzzer-chosen pages, with fuzzer-chosen backend (and, for the vector backends, rep movsb
// threshold), offsets and lengths, checked against the exact answer: copied = bytes before the
// first byte past a cut (the lower of the two sides when both are cut), the fault's side and
// address, and the copied bytes; and ranges that wrap the address space, which must be refused
// (invalid_argument, on the side that wraps) before anything is touched.
// Any mismatch calls __builtin_trap(), which libFuzzer reports as a crash with the input.
// needs: include/mcsafe/copy.hpp

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <mcsafe/mcsafe.hpp>

#include "cut_file.hpp"

namespace {

using namespace mcsafe_fuzz;

cut_file& file_a() {
  static cut_file f;
  return f;
}
cut_file& file_b() {
  static cut_file f;
  return f;
}

std::vector<mcsafe::copy_backend> usable_backends() {
  std::vector<mcsafe::copy_backend> v;
  for (mcsafe::copy_backend b : mcsafe::all_copy_backends)
    if (mcsafe::testing::force_copy(b)) v.push_back(b);
  mcsafe::testing::reset_copy();
  return v;
}

template <class T>
void load_case(const cut_file& f, std::size_t cut, std::size_t off, std::uint8_t seed) {
  if (off + sizeof(T) > f.size()) return;
  const auto* p = reinterpret_cast<const T*>(f.data() + off);  // may be misaligned: the routines allow it
  const mcsafe::result<T> r = mcsafe::mc_safe_load(p);
  if (off + sizeof(T) <= cut) {
    check(r.has_value());
    T want;
    std::uint8_t bytes[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i) bytes[i] = pattern(off + i, seed);
    std::memcpy(&want, bytes, sizeof(T));
    check(r.value() == want);
  } else {
    check(!r.has_value());
    check(r.error().kind == mcsafe::fault_kind::bus_error);
    check(r.error().address == reinterpret_cast<std::uintptr_t>(f.data() + (off > cut ? off : cut)));
  }
}

// Whether [p, p + n) runs past the top of the address space, in 128-bit arithmetic (the model;
// the library does it with one carry).
bool wraps(const void* p, std::size_t n) {
  return static_cast<unsigned __int128>(reinterpret_cast<std::uintptr_t>(p)) + n >
         static_cast<unsigned __int128>(UINTPTR_MAX) + 1;
}

// A copy, store or load whose range wraps is refused before anything is touched, on the side
// that wraps (the source when both do). Ranges the model says fit are not run: they would
// reach the kernel's half of the address space.
void wrap_case(input& in, cut_file& a, std::size_t off_a) {
  std::uint8_t buf[64];
  std::memset(buf, 0xEE, sizeof buf);
  const std::size_t k = in.take(3);
  auto* top = reinterpret_cast<std::uint8_t*>(UINTPTR_MAX - k % 8192);
  std::uint8_t* const good = a.data() + off_a;
  const std::uint32_t shape = in.take(1) % 4;
  // shape 0: a huge length from real buffers; 1: a source near the top; 2: a destination
  // near the top; 3: an 8-byte load or store near the top.
  std::uint8_t* dst = shape == 2 ? top : buf;
  const std::uint8_t* src = shape == 1 ? top : good;
  const std::size_t n = shape == 0 ? SIZE_MAX - k : 1 + in.take(2) % 8192;
  if (shape == 3) {
    const auto* p = reinterpret_cast<std::uint64_t*>(top);
    if (!wraps(p, 8)) return;
    const mcsafe::result<std::uint64_t> l = mcsafe::mc_safe_load(p);
    check(!l && l.error().kind == mcsafe::fault_kind::invalid_argument);
    const mcsafe::copy_result s = mcsafe::mc_safe_store(const_cast<std::uint64_t*>(p), std::uint64_t{1});
    check(s.copied == 0 && s.fault.kind == mcsafe::fault_kind::invalid_argument);
    check(s.fault.side == mcsafe::fault_side::destination);
    return;
  }
  const bool src_wraps = wraps(src, n), dst_wraps = wraps(dst, n);
  if (!src_wraps && !dst_wraps) return;
  const mcsafe::copy_result r = mcsafe::mc_safe_copy(dst, src, n);
  check(r.copied == 0 && r.fault.kind == mcsafe::fault_kind::invalid_argument);
  check(r.fault.side == (src_wraps ? mcsafe::fault_side::source : mcsafe::fault_side::destination));
  for (std::uint8_t c : buf) check(c == 0xEE);  // nothing touched
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<mcsafe::copy_backend> backends = usable_backends();
  input in{data, size};
  const std::size_t pg = cut_file::page();
  const std::uint32_t mode = in.take(1) % 6;
  const std::uint32_t pick = in.take(1);
  const mcsafe::copy_backend backend = backends[pick % backends.size()];
  const auto seed = static_cast<std::uint8_t>(in.take(1));
  cut_file& a = file_a();
  const std::size_t cut_a = a.cut(in.take(1) % k_pages, seed);
  const std::size_t off_a = in.take(3) % a.size();
  std::size_t n = in.take(3) % (4 * pg + 64);
  mcsafe::testing::reset_copy();
  if (!mcsafe::testing::force_copy(backend)) __builtin_trap();
  // The high bits of the same byte move the vector routine's rep movsb threshold, so both of
  // its paths above 256 B are fuzzed whatever the CPUID choice: 0 keeps it.
  constexpr std::size_t k_rep_above[] = {0, 256, ~std::size_t{0}};
  if (const std::size_t r = k_rep_above[(pick >> 4) % 3]; r != 0) mcsafe::testing::force_vector_rep_above(r);

  if (mode == 3) {  // mc_safe_load of each width at off_a
    load_case<std::uint8_t>(a, cut_a, off_a, seed);
    load_case<std::uint16_t>(a, cut_a, off_a, seed);
    load_case<std::uint32_t>(a, cut_a, off_a, seed);
    load_case<std::uint64_t>(a, cut_a, off_a, seed);
    return 0;
  }
  if (mode == 4) {  // mc_safe_store of 8 bytes at off_a
    if (off_a + 8 > a.size()) return 0;
    const std::uint64_t v = 0x0123456789abcdefULL ^ seed;
    const mcsafe::copy_result r = mcsafe::mc_safe_store(reinterpret_cast<std::uint64_t*>(a.data() + off_a), v);
    const std::size_t want = off_a >= cut_a ? 0 : (cut_a - off_a < 8 ? cut_a - off_a : 8);
    check(r.copied == want);
    check(r.ok() == (want == 8));
    check(std::memcmp(a.data() + off_a, &v, r.copied) == 0);
    return 0;
  }
  if (mode == 5) {  // ranges that wrap the address space
    wrap_case(in, a, off_a);
    return 0;
  }
  if (off_a + n > a.size()) n = a.size() - off_a;
  std::vector<std::uint8_t> buf(n + 1, 0xEE);
  const std::size_t limit_a = off_a >= cut_a ? 0 : cut_a - off_a;  // good bytes from off_a

  if (mode == 0) {  // source in the cut file
    const mcsafe::copy_result r = mcsafe::mc_safe_copy(buf.data(), a.data() + off_a, n);
    const std::size_t want = n < limit_a ? n : limit_a;
    check(r.copied == want);
    check(r.ok() == (want == n));
    if (!r.ok()) {
      check(r.fault.kind == mcsafe::fault_kind::bus_error && r.fault.side == mcsafe::fault_side::source);
      check(r.fault.address == reinterpret_cast<std::uintptr_t>(a.data() + off_a + want));
    }
    check(std::memcmp(buf.data(), a.data() + off_a, r.copied) == 0);
    check(buf[n] == 0xEE);  // nothing written past the end
  } else if (mode == 1) {   // destination in the cut file
    for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<std::uint8_t>(~pattern(i, seed));
    const mcsafe::copy_result r = mcsafe::mc_safe_copy(a.data() + off_a, buf.data(), n);
    const std::size_t want = n < limit_a ? n : limit_a;
    check(r.copied == want);
    check(r.ok() == (want == n));
    if (!r.ok()) {
      check(r.fault.kind == mcsafe::fault_kind::bus_error && r.fault.side == mcsafe::fault_side::destination);
      check(r.fault.address == reinterpret_cast<std::uintptr_t>(a.data() + off_a + want));
    }
    check(std::memcmp(a.data() + off_a, buf.data(), r.copied) == 0);
  } else {  // both cut: the lower offset of the two faults is the answer
    cut_file& b = file_b();
    const std::size_t cut_b = b.cut(in.take(1) % k_pages, static_cast<std::uint8_t>(seed + 1));
    std::size_t off_b = in.take(3) % b.size();
    if (off_b + n > b.size()) off_b = b.size() - n;
    const std::size_t limit_b = off_b >= cut_b ? 0 : cut_b - off_b;
    const mcsafe::copy_result r = mcsafe::mc_safe_copy(b.data() + off_b, a.data() + off_a, n);
    std::size_t want = n;
    if (limit_a < want) want = limit_a;
    if (limit_b < want) want = limit_b;
    check(r.copied == want);
    check(r.ok() == (want == n));
    if (!r.ok()) {
      check(r.fault.kind == mcsafe::fault_kind::bus_error);
      const bool src_side = r.fault.side == mcsafe::fault_side::source;
      check(src_side ? limit_a == want : (r.fault.side == mcsafe::fault_side::destination && limit_b == want));
      const std::uint8_t* at = src_side ? a.data() + off_a + want : b.data() + off_b + want;
      check(r.fault.address == reinterpret_cast<std::uintptr_t>(at));
    }
    check(std::memcmp(b.data() + off_b, a.data() + off_a, r.copied) == 0);
  }
  return 0;
}
