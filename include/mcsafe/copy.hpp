// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/copy.hpp - mc_safe_copy, mc_safe_load, mc_safe_store: memcpy that returns on a fault.
//
// How mc_safe_copy runs, top to bottom (the public functions are at the end):
//   1. try_inline_copy: one compare against g_copy.inline_limit says whether n is an inline size
//      and the handler is installed; one more that neither start is null nor wraps. Then the
//      guarded moves run in the caller (detail/x86_64/inline_moves.hpp).
//   2. routine_copy otherwise: the exact range check, then one indirect call to g_copy.routine,
//      the routine chosen once from CPUID (dispatch.hpp). It starts as first_copy, which installs
//      the handler and publishes the choice on the first call.
//   3. finish_after_fault, out of line, only after a fault: decodes it and re-copies the bytes
//      below it with a forward routine, so `copied` is exact.
// g_copy is the state every copy, load and store reads: detail/copy_state.hpp names its words,
// their encodings and the one rule for writing them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "detail/address_range.hpp"
#include "detail/config.hpp"
#include "detail/fault_word.hpp"
#include "dispatch.hpp"
#if defined(MCSAFE_ARCH_X86_64)
#include "detail/x86_64/inline_moves.hpp"
#endif
#include "fault.hpp"

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// The routine that re-copies after a fault: the chosen backend's own when it moves bytes in
// address order, else rep_movsb (dispatch.hpp, copy_backend_row::forward).
inline raw_copy_fn forward_copy() noexcept {
  const raw_copy_fn fn = active_copy();
  for (const copy_backend_row& r : k_copy_backends)
    if (r.fn == fn && !r.forward) return copy_row(copy_backend::rep_movsb).fn;
  return fn;
}

// The slow path after a fault. A wide or overlapping routine may have left bytes below the
// fault unwritten, so copy [0, below) again with a forward routine: if that range holds a
// lower fault (on either side), that fault becomes the answer and the range shrinks again.
// Terminates because `below` strictly decreases. The routine is read here, not passed in by
// the faulting path: a caller then holds nothing for this path across its own call, and any
// routine that copies forward makes `copied` exact, so one published in between does as well.
MCSAFE_COLD inline copy_result finish_after_fault(void* dst, const void* src, std::size_t n, raw_result r) noexcept {
  const raw_copy_fn fn = forward_copy();
  for (;;) {
    std::size_t below = 0;
    const fault f = decode_fault(r, dst, src, n, below);
    if (below == 0) return {0, f};
    const raw_result again = fn(dst, src, below);
    if (again.info == 0) return {below, f};
    r = again;
    n = below;
  }
}

#if defined(MCSAFE_ARCH_X86_64)
// Copies of 8 to 64 bytes run inline in the caller, four 16-byte or two word moves (detail/
// x86_64/inline_moves.hpp), as the kernel's small user copies: at these sizes a call and return
// cost more than the moves (docs/benchmarks.md, "inline sizes"). So does a length the compiler
// knows, 1 to 64. An unknown length below 8 calls the routine, which keeps each caller's inline
// code to three size classes. Where the published routine is vector_avx512, 65 to 128 bytes run
// inline too: its V..2V class, two zmm moves. All of it is one compare against the state's
// inline_limit (detail/copy_state.hpp), which also says "the handler is installed".
MCSAFE_ALWAYS_INLINE bool inline_copy_fits(std::size_t n) noexcept {
  const std::size_t limit = g_copy.inline_limit.load(std::memory_order_acquire);
  // It is one of three values: the compiler then knows 8 <= n <= 128 in the inline path and
  // drops the classes below 8 bytes there.
  if (limit > k_inline_upto_128) __builtin_unreachable();
  if (__builtin_constant_p(n) && n - 1 < k_inline_words_max) return limit != k_inline_none;
  return runs_inline(n, limit);
}
// The moves for 1 <= n <= 64: four 16-byte moves from 16 bytes up (two for a constant up to
// 32), else the widest word that fits twice (as the routines' small classes).
MCSAFE_ALWAYS_INLINE raw_result inline_small_copy(void* dst, const void* src, std::size_t n) noexcept {
  if (n >= 16) {
    if (__builtin_constant_p(n) && n <= 32) return guarded_copy_16_32(dst, src, n);
    return guarded_copy_16_64(dst, src, n);
  }
  if (n >= 8) return guarded_small_copy<std::uint64_t>(dst, src, n);
  if (n >= 4) return guarded_small_copy<std::uint32_t>(dst, src, n);
  if (n >= 2) return guarded_small_copy<std::uint16_t>(dst, src, n);
  return guarded_small_copy<std::uint8_t>(dst, src, n);
}
// The inline part of mc_safe_copy: false when n or the ranges need the routine; else the moves
// ran and r says whether they faulted. (libmcsafe's mcsafe_copy is built on it too.)
MCSAFE_ALWAYS_INLINE bool try_inline_copy(void* dst, const void* src, std::size_t n, raw_result& r) noexcept {
  if (!inline_copy_fits(n)) [[unlikely]]
    return false;
  if (!both_words_ready(dst, src)) [[unlikely]]  // null, or a wrap
    return false;
  r = n <= k_inline_words_max ? inline_small_copy(dst, src, n) : guarded_copy_65_128_zmm(dst, src, n);
  return true;
}
// The result of an inline copy: a fault goes to the slow path, which re-copies with a forward routine.
MCSAFE_ALWAYS_INLINE copy_result inline_copy_result(void* dst, const void* src, std::size_t n, raw_result r) noexcept {
  if (r.info == 0) [[likely]]
    return {n, {}};
  return finish_after_fault(dst, src, n, r);
}
#else
MCSAFE_ALWAYS_INLINE bool try_inline_copy(void*, const void*, std::size_t, raw_result&) noexcept { return false; }
MCSAFE_ALWAYS_INLINE copy_result inline_copy_result(void*, const void*, std::size_t n, raw_result) noexcept {
  return {n, {}};
}
#endif

// The refusal of a copy whose range is bad: the source is named when its range is bad,
// else the destination.
MCSAFE_COLD inline copy_result invalid_copy(const void* src, std::size_t n) noexcept {
  return {0, invalid_argument_fault(bad_range(src, n) ? fault_side::source : fault_side::destination)};
}

// One indirect call to the chosen routine, after the ranges were found good. Nothing but the
// arguments is held across it for the fault path (finish_after_fault reads the routine
// again): a value held there is one a caller short of registers spills to its stack and
// reloads after every copy (docs/benchmarks.md, "Without AVX-512").
MCSAFE_ALWAYS_INLINE copy_result call_routine(void* dst, const void* src, std::size_t n) noexcept {
  const raw_result r = g_copy.routine.load(std::memory_order_acquire)(dst, src, n);  // or first_copy
  if (r.info == 0) [[likely]]
    return {n, {}};
  return finish_after_fault(dst, src, n, r);
}

// The ranges that copy_ranges_plain does not pass: bad input, refused, or (on x86-64) a good
// range with an address or length of 2^63 or more, copied.
MCSAFE_COLD inline copy_result unusual_range_copy(void* dst, const void* src, std::size_t n) noexcept {
  if (bad_ranges(dst, src, n)) return invalid_copy(src, n);
  return call_routine(dst, src, n);
}

// mc_safe_copy by the chosen routine, at any length: the range check, then one indirect call.
// mc_safe_copy takes it above the inline sizes; tests take it at every size, so each
// backend's own small classes stay covered by the fault matrix.
MCSAFE_ALWAYS_INLINE copy_result routine_copy(void* dst, const void* src, std::size_t n) noexcept {
  if (!copy_ranges_plain(dst, src, n)) [[unlikely]]
    return unusual_range_copy(dst, src, n);
  return call_routine(dst, src, n);
}

}  // namespace detail

// Copies n bytes like memcpy (buffers must not overlap). If a load from src or a store to dst
// faults, returns instead of dying: `copied` is the number of bytes before the failed byte (or
// granule) on the failing side, and exactly those bytes are copied; `fault` says what failed,
// on which side and at which address. A null pointer with n > 0 is refused with
// fault_kind::invalid_argument before anything is touched, and so is a range that runs past
// the top of the address space. Costs nothing beyond the copy when nothing faults: one
// branch for the arguments, one indirect call, no setjmp, no thread-local state. On x86-64 a
// copy of 8 to 64 bytes, or of a constant 1 to 64 (a record header, a key, a span of fixed
// extent), makes no call at all: four or eight guarded moves inline, as the kernel's small user
// copies; so does one of 65 to 128 bytes where the chosen routine is vector_avx512 (four zmm
// moves).
MCSAFE_ALWAYS_INLINE copy_result mc_safe_copy(void* dst, const void* src, std::size_t n) noexcept {
  detail::raw_result r;
  if (detail::try_inline_copy(dst, src, n, r)) [[likely]]
    return detail::inline_copy_result(dst, src, n, r);
  return detail::routine_copy(dst, src, n);
}

// Copies whole elements from src into dst (dst must be at least as long). `copied` counts
// whole elements: a fault in the middle of an element leaves that element uncounted.
template <class T, std::size_t E1, std::size_t E2>
  requires std::is_trivially_copyable_v<T> copy_result mc_safe_copy(std::span<T, E1> dst, std::span<const T, E2> src)
noexcept {
  if (dst.size() < src.size() || src.size() > SIZE_MAX / sizeof(T))  // short, or a byte count that overflows
    return {0, detail::invalid_argument_fault(dst.size() < src.size() ? fault_side::destination : fault_side::source)};
  copy_result r = mc_safe_copy(dst.data(), src.data(), src.size_bytes());
  r.copied /= sizeof(T);
  return r;
}

namespace detail {
// The fault of a guarded load, out of line: a call the compiler cannot turn into a cmov, so a
// caller's `sum += mc_safe_load(p).value_or(0)` stays one add on its loop-carried chain
// (inlined, GCC if-converted it into add + cmov, twice the latency of a plain load's loop).
MCSAFE_COLD inline fault load_fault(raw_result r, const void* p, std::size_t size) noexcept {
  std::size_t below = 0;
  return decode_fault(r, nullptr, p, size, below);
}

// The slow side of word_access_ready: refuses a bad range, else installs the handler on
// first use.
MCSAFE_COLD inline bool prepare_word_access(const void* p, std::size_t size) noexcept {
  if (bad_range(p, size)) return false;
  active_copy();
  return true;
}

// Whether a guarded load or store of `size` <= 8 bytes at p may run: the handler is installed
// and [p, p + size) neither is null nor wraps, in one compare against the state's word_limit
// (detail/copy_state.hpp).
MCSAFE_ALWAYS_INLINE bool word_access_ready(const void* p, std::size_t size) noexcept {
  if (words_ready(reinterpret_cast<std::uintptr_t>(p), g_copy.word_limit.load(std::memory_order_acquire))) [[likely]]
    return true;
  return prepare_word_access(p, size);
}

template <std::size_t N>
struct load_word {};
template <>
struct load_word<1> {
  using type = std::uint8_t;
};
template <>
struct load_word<2> {
  using type = std::uint16_t;
};
template <>
struct load_word<4> {
  using type = std::uint32_t;
};
template <>
struct load_word<8> {
  using type = std::uint64_t;
};

// Whether a T is loaded and stored inline (one guarded mov) rather than through mc_safe_copy.
template <class T>
inline constexpr bool word_sized = sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8;

// mc_safe_load's and mc_safe_store's access, for a p at which word_access_ready holds (checked
// by the caller, or once for a whole guarded_range). On x86-64 a T of 1, 2, 4 or 8 bytes is one
// inlined guarded `mov` (detail/x86_64/inline_moves.hpp) and a test of its fault word; other
// sizes go through mc_safe_copy, which checks its arguments itself.
template <class T>
MCSAFE_ALWAYS_INLINE result<T> load_when_ready(const T* p) noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  if constexpr (word_sized<T>) {
    using word = typename load_word<sizeof(T)>::type;
    const guarded_load_result r = guarded_load<word>(p);
    if (r.info != 0) [[unlikely]]
      return load_fault({r.address, r.info}, p, sizeof(T));
    const word w = static_cast<word>(r.value);
    T v;
    std::memcpy(&v, &w, sizeof(T));
    return v;
  }
#endif
  T v{};
  const copy_result r = mc_safe_copy(&v, p, sizeof(T));
  if (!r) return r.fault;
  return v;
}

// A fault goes to mc_safe_copy's slow path, which makes `copied` exact for a store that
// straddles into a bad page.
template <class T>
MCSAFE_ALWAYS_INLINE copy_result store_when_ready(T* p, const T& v) noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  if constexpr (word_sized<T>) {
    using word = typename load_word<sizeof(T)>::type;
    word w;
    std::memcpy(&w, &v, sizeof(T));
    const guarded_store_result r = guarded_store<word>(p, w);
    if (r.info != 0) [[unlikely]]
      return finish_after_fault(p, &v, sizeof(T), {r.address, r.info});
    return {sizeof(T), {}};
  }
#endif
  return mc_safe_copy(p, &v, sizeof(T));
}
}  // namespace detail

// Reads one T. A fault anywhere in its bytes gives the fault instead of a value. On x86-64 a
// T of 1, 2, 4 or 8 bytes is one inlined guarded `mov` after one compare (the handler is
// installed and p is neither null nor near the top: detail/copy_state.hpp); other sizes go
// through mc_safe_copy. In a loop over many words, guarded_range (guarded_range.hpp) makes
// that check once for the whole range.
template <class T>
  requires std::is_trivially_copyable_v<T> MCSAFE_ALWAYS_INLINE result<T> mc_safe_load(const T* p)
noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  if constexpr (detail::word_sized<T>) {
    if (!detail::word_access_ready(p, sizeof(T))) [[unlikely]]
      return detail::invalid_copy(p, sizeof(T)).fault;
  }
#endif
  return detail::load_when_ready(p);
}

// Writes one T. On a fault, `copied` says how many of its bytes reached memory. On x86-64 a T
// of 1, 2, 4 or 8 bytes is one inlined guarded `mov` (the same one-compare precondition as
// mc_safe_load); other sizes go through mc_safe_copy.
template <class T>
  requires std::is_trivially_copyable_v<T> MCSAFE_ALWAYS_INLINE copy_result mc_safe_store(T* p, const T& v)
noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  if constexpr (detail::word_sized<T>) {
    if (!detail::word_access_ready(p, sizeof(T))) [[unlikely]]
      return detail::invalid_copy(&v, sizeof(T));
  }
#endif
  return detail::store_when_ready(p, v);
}

}  // namespace v1
}  // namespace mcsafe
