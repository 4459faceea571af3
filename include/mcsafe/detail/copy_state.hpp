// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/copy_state.hpp - what mc_safe_copy, mc_safe_load and mc_safe_store read on
// every call: one object, g_copy, with one writer, publish_copy().
//
//   routine       the guarded routine mc_safe_copy calls above the inline sizes. It starts as
//                 first_copy (dispatch.hpp), which sets everything up on the first call, so the
//                 hot path never tests "set up yet".
//   inline_limit  which lengths mc_safe_copy moves in the caller (copy.hpp): n runs inline
//                 exactly when runs_inline(n, inline_limit). One of three values:
//                   k_inline_none      nothing (not set up: the handler may not be installed)
//                   k_inline_upto_64   8..64 bytes, 16-byte and word moves
//                   k_inline_upto_128  8..128 bytes: 65..128 in two zmm moves. Stored only while
//                                      the published routine is vector_avx512, which runs only
//                                      where the CPU and the OS allow zmm state: a copy that
//                                      reads this value may use zmm registers.
//   word_limit    whether a guarded access of up to 128 bytes at p may run inline (the word
//                 loads and stores, and the inline copies' "not null, no wrap" test):
//                 words_ready(p, word_limit). k_words_none until set up, then k_words_ready.
//   backend       the published routine's backend, for active_copy_backend() and diagnose().
//   rep_band      the vector routines' rep movsb bands, three words the asm reads
//                 (detail/x86_64/copy_vector.hpp): rep movsb for sizes in (above, upto]
//                 and above again_above.
//
// The rule (publish_copy): the handler is installed before any word leaves its initial value,
// and every other word is stored before `routine` is released, so a copy that acquired a
// routine sees the band and limits chosen with it. A reader of inline_limit or word_limit needs
// nothing else: a nonzero value alone says the handler is installed. A later testing:: switch
// may race with a copy in flight, which then takes either the old or the new path, both correct.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "address_range.hpp"
#include "choice.hpp"
#include "config.hpp"
#include "routine_table.hpp"

namespace mcsafe {
inline namespace v1 {
enum class copy_backend : std::uint8_t;  // dispatch.hpp
}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

inline raw_result first_copy(void* dst, const void* src, std::size_t n) noexcept;  // dispatch.hpp

// The largest inline copy with 16-byte and word moves, and with two zmm moves.
inline constexpr std::size_t k_inline_words_max = 64;
inline constexpr std::size_t k_inline_zmm_max = 128;

// inline_limit's encoding: one unsigned compare, n - 8 < limit, says 8 <= n <= max (below 8,
// n - 8 wraps above every limit) and, with limit 0, "nothing".
constexpr bool runs_inline(std::size_t n, std::size_t limit) noexcept { return n - 8 < limit; }
constexpr std::size_t inline_limit_upto(std::size_t max) noexcept { return max - 7; }
inline constexpr std::size_t k_inline_none = 0;
inline constexpr std::size_t k_inline_upto_64 = inline_limit_upto(k_inline_words_max);
inline constexpr std::size_t k_inline_upto_128 = inline_limit_upto(k_inline_zmm_max);
static_assert(!runs_inline(7, k_inline_upto_128) && runs_inline(8, k_inline_upto_64) &&
              runs_inline(k_inline_words_max, k_inline_upto_64) && !runs_inline(k_inline_words_max + 1, k_inline_upto_64) &&
              runs_inline(k_inline_zmm_max, k_inline_upto_128) && !runs_inline(k_inline_zmm_max + 1, k_inline_upto_128) &&
              !runs_inline(8, k_inline_none) && !runs_inline(0, k_inline_upto_128));

// word_limit's encoding: one unsigned compare, p - 1 < limit, says "set up", "p is not null"
// and "[p, p + 128) does not wrap" (p - 1 of a null p wraps to ~0). The few addresses it turns away needlessly
// (the top 128 bytes) are checked exactly on the slow path.
constexpr bool words_ready(std::uintptr_t p, std::uintptr_t limit) noexcept { return p - 1 < limit; }
inline constexpr std::uintptr_t k_words_none = 0;
inline constexpr std::uintptr_t k_words_ready = ~std::uintptr_t{0} - 127;
static_assert(!words_ready(0, k_words_ready) && words_ready(1, k_words_ready) &&
              words_ready(~std::uintptr_t{0} - 127, k_words_ready) &&
              !words_ready(~std::uintptr_t{0} - 126, k_words_ready) && !words_ready(4096, k_words_none));
// words_ready against k_words_ready for two starts in one compare: their p - 1 ORed
// (address_range.hpp) is below the limit only when each is.
inline bool both_words_ready(const void* a, const void* b) noexcept { return starts_bound(a, b) < k_words_ready; }

// The vector routines' rep movsb bands: rep movsb for sizes in (above, upto] and above
// again_above, the loop elsewhere; the size above which the zmm routine hands a copy to the
// ymm routine; and which bits of dst - src must be 0 for rep movsb (the loop otherwise)
// (detail/x86_64/copy_vector.hpp).
inline constexpr std::size_t k_vector_rep_never = ~std::size_t{0};
struct rep_band {
  std::size_t above = k_vector_rep_never;
  std::size_t upto = k_vector_rep_never;
  std::size_t again_above = k_vector_rep_never;
  std::size_t ymm_above = k_vector_rep_never;
  std::size_t skew_mask = 0;
};

struct copy_state {
  std::atomic<raw_copy_fn> routine{&first_copy};
  std::atomic<std::size_t> inline_limit{k_inline_none};
  std::atomic<std::uintptr_t> word_limit{k_words_none};
  std::atomic<copy_backend> backend{};  // meaningful once `routine` is not first_copy
};
// Constant-initialized: readable before any constructor ran.
inline constinit copy_state g_copy{};

// The band words live beside the routines that read them; relaxed, they are ordered by the
// release of `routine` (the rule above).
inline void store_rep_band(rep_band b) noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  __atomic_store_n(&mcsafe_v1_copy_vector_rep_band.above, b.above, __ATOMIC_RELAXED);
  __atomic_store_n(&mcsafe_v1_copy_vector_rep_band.upto, b.upto, __ATOMIC_RELAXED);
  __atomic_store_n(&mcsafe_v1_copy_vector_rep_band.again_above, b.again_above, __ATOMIC_RELAXED);
  __atomic_store_n(&mcsafe_v1_copy_vector_rep_band.ymm_above, b.ymm_above, __ATOMIC_RELAXED);
  __atomic_store_n(&mcsafe_v1_copy_vector_rep_band.skew_mask, b.skew_mask, __ATOMIC_RELAXED);
#else
  (void)b;
#endif
}
// The band in use ({0, 0, 0, 0, 0} where there is no vector routine).
inline rep_band loaded_rep_band() noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  return {__atomic_load_n(&mcsafe_v1_copy_vector_rep_band.above, __ATOMIC_RELAXED),
          __atomic_load_n(&mcsafe_v1_copy_vector_rep_band.upto, __ATOMIC_RELAXED),
          __atomic_load_n(&mcsafe_v1_copy_vector_rep_band.again_above, __ATOMIC_RELAXED),
          __atomic_load_n(&mcsafe_v1_copy_vector_rep_band.ymm_above, __ATOMIC_RELAXED),
          __atomic_load_n(&mcsafe_v1_copy_vector_rep_band.skew_mask, __ATOMIC_RELAXED)};
#else
  return {0, 0, 0, 0, 0};
#endif
}

// The one writer. Publishes `fn`, the routine of backend b (which must run on this CPU: the zmm
// limit is stored only then), with its band. The handler must be installed. With `first`, only
// if no routine was published yet: returns the routine that is published when it returns.
inline raw_copy_fn publish_copy(copy_backend b, raw_copy_fn fn, bool zmm, rep_band band, bool first) noexcept {
  store_rep_band(band);
  g_copy.backend.store(b, std::memory_order_relaxed);
  g_copy.inline_limit.store(zmm ? k_inline_upto_128 : k_inline_upto_64, std::memory_order_release);
  g_copy.word_limit.store(k_words_ready, std::memory_order_release);
  if (first) return publish_first(g_copy.routine, &first_copy, fn);
  g_copy.routine.store(fn, std::memory_order_release);
  return fn;
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
