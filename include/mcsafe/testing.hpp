// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/testing.hpp - every forcing hook, for tests and benchmarks: switch the copy backend
// (and the vector routines' rep movsb band), the clear-and-write store method and the flush
// instruction of the whole process, and back to the CPUID choice. Not for production use: the
// environment (MCSAFE_FORCE_COPY, MCSAFE_FORCE_STORE, MCSAFE_FORCE_FLUSH) and the
// MCSAFE_FORCE_* macros are the supported ways to pin a choice (dispatch.hpp).
#pragma once
#include <cstddef>

#include "clear.hpp"
#include "dispatch.hpp"
#include "persist.hpp"

namespace mcsafe {
inline namespace v1 {
namespace testing {

// Switches every later mc_safe_copy in this process to backend b, with the rep movsb band this
// CPU would get with it (force_vector_rep_above moves that afterwards). Returns false (and
// changes nothing) when b cannot run on this CPU or build. A copy running in another thread at
// the same moment keeps the routine it started with.
inline bool force_copy(copy_backend b) noexcept {
  detail::active_copy();  // the handler is installed and the default chosen first
  const detail::raw_copy_fn fn = detail::copy_routine(b, detail::host_cpu());
  if (fn == nullptr) return false;
  detail::publish_copy(b, fn, b == copy_backend::vector_avx512, detail::copy_row(b).band(detail::host_cpu()), false);
  return true;
}
// Back to the choice made from CPUID and the environment.
inline void reset_copy() noexcept {
  force_copy(detail::default_copy_choice().backend);  // with its band
}
// The vector backends use rep movsb above n bytes from now on, at every size above (no upper
// bound: tests cover both of their paths near a fault; benchmarks compare thresholds) that is
// above the routine's own size classes (8 vectors; 1 KiB in vector_avx512), and the
// zmm routine keeps every size (no hand-over to the ymm routine), at any skew between source
// and destination (skew mask 0). Returns the previous value;
// reset_copy() restores the CPUID choice.
inline std::size_t force_vector_rep_above(std::size_t n) noexcept {
  detail::active_copy();
  const std::size_t before = detail::loaded_rep_band().above;
  detail::store_rep_band({n, detail::k_vector_rep_never});
  return before;
}
// The vector backends use rep movsb above `above` bytes up to `upto`, the loop above that up
// to `again_above`, and rep movsb again above it; the zmm routine keeps every size, at any skew.
inline void force_vector_rep_band(std::size_t above, std::size_t upto,
                                  std::size_t again_above = detail::k_vector_rep_never) noexcept {
  detail::active_copy();
  detail::store_rep_band({above, upto, again_above});
}
// The zmm routine hands copies above n bytes to the ymm routine from now on (n is at least
// 512: smaller ones are its own size classes; k_vector_rep_never: none), the band unchanged.
inline void force_vector_ymm_above(std::size_t n) noexcept {
  detail::active_copy();
  detail::rep_band b = detail::loaded_rep_band();
  b.ymm_above = n;
  detail::store_rep_band(b);
}
// The vector backends take rep movsb (where the band has it) only where (dst - src) & mask is 0
// from now on, the loop otherwise (0: at any skew), the band unchanged. The band forcings above
// reset it to 0.
inline void force_vector_rep_skew_mask(std::size_t mask) noexcept {
  detail::active_copy();
  detail::rep_band b = detail::loaded_rep_band();
  b.skew_mask = mask;
  detail::store_rep_band(b);
}

// Switches every later clear_write/atomic_clear_write in this process to method m. Returns
// false (and changes nothing) when m is not built for this target or this CPU lacks it;
// movdir64b is accepted even where CPUID does not report it (guard the call with a SIGILL
// handler).
inline bool force_store(store_method m) noexcept {
  detail::active_store();  // the handler is installed and the default chosen first
  if (!detail::store_usable(m, detail::host_cpu(), true)) return false;
  detail::g_store.store(&detail::store_row(m), std::memory_order_release);
  return true;
}
// Back to the choice made from CPUID and the environment.
inline void reset_store() noexcept { force_store(detail::default_store_choice().method); }

// Switches every later flush() in this process to method m. Returns false (and changes nothing)
// when this CPU lacks it.
inline bool force_flush(flush_method m) noexcept {
  detail::active_flush();
  if (!detail::flush_row(m).runs_on(detail::host_cpu())) return false;
  detail::g_flush.store(&detail::flush_row(m), std::memory_order_release);
  return true;
}
// Back to the choice made from CPUID and the environment.
inline void reset_flush() noexcept { force_flush(detail::default_flush_choice().method); }

}  // namespace testing
}  // namespace v1
}  // namespace mcsafe
