// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/guarded_range.hpp - guarded_range<T>: element loads and stores over a range whose
// preconditions were checked once, for loops that read or write memory word by word.
//
// mc_safe_load checks, on every call, that the handler is installed and that the address is
// neither null nor at the top of the address space: one compare and one branch. In a loop that
// does little else per word (summing, decoding records) that branch is a third of the loop's
// branches, and it cannot be hoisted: it depends on the address. guarded_range makes the check
// once, at construction, for the whole range (the kernel's user_access_begin() before a run of
// unsafe_get_user()); load(i) and store(i, v) are then the index test against size(), which a
// loop bounded by size() lets the compiler drop, and the same guarded access as mc_safe_load and
// mc_safe_store, with the same results on a fault.
//
// Make it where it is used: the check covers the handler of the shared object that ran the
// constructor (each DSO that includes mcsafe carries its own handler and fault table, DESIGN.md),
// so a guarded_range built in one shared object and used by the inlined code of another could
// let that code's faults through. A local in the loop's function, as in the example, is right.
//
//   mcsafe::guarded_range<const std::uint64_t> words(p, n);
//   for (std::size_t i = 0; i < words.size(); ++i)
//     if (auto v = words.load(i)) sum += *v; else return v.error();
#pragma once
#include <cstddef>
#include <span>
#include <type_traits>

#include "copy.hpp"
#include "detail/address_range.hpp"
#include "detail/config.hpp"
#include "fault.hpp"

namespace mcsafe {
inline namespace v1 {

template <class T>
  requires std::is_trivially_copyable_v<T>
class guarded_range {
 public:
  using value_type = std::remove_const_t<T>;

  // Checks [data, data + count) once and installs the handler if it is not yet. A null data, a
  // count whose size in bytes overflows, or a range that wraps around the end of the address
  // space gives an empty range: every access is refused (invalid_argument), nothing is touched.
  guarded_range(T* data, std::size_t count) noexcept : data_(data), count_(ready(data, count) ? count : 0) {}
  template <std::size_t E>
  explicit guarded_range(std::span<T, E> s) noexcept : guarded_range(s.data(), s.size()) {}

  T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return count_; }
  std::size_t size_bytes() const noexcept { return count_ * sizeof(T); }
  bool empty() const noexcept { return count_ == 0; }

  // Element i, or the fault that prevented reading it: mc_safe_load(data() + i) without its
  // per-call check. An i at or past size() is refused (invalid_argument).
  result<value_type> load(std::size_t i) const noexcept {
    if (i >= count_) [[unlikely]]
      return invalid();
    return detail::load_when_ready<value_type>(data_ + i);
  }

  // Writes element i (only for a range of non-const T): mc_safe_store(data() + i, v) without
  // its per-call check; on a fault `copied` says how many of its bytes reached memory.
  copy_result store(std::size_t i, const value_type& v) const noexcept requires(!std::is_const_v<T>) {
    if (i >= count_) [[unlikely]]
      return {0, invalid()};
    return detail::store_when_ready<value_type>(data_ + i, v);
  }

 private:
  // The range is good, and (for a T accessed inline) the handler is installed: word_access_ready
  // at data sets it up on first use, and what it found holds for every element, since the
  // range neither is null nor wraps.
  static bool ready(T* data, std::size_t count) noexcept {
    if (data == nullptr || detail::bad_elements(data, count, sizeof(T))) return false;
    if constexpr (detail::word_sized<value_type>) return detail::word_access_ready(data, 1);
    return true;
  }
  static fault invalid() noexcept { return detail::invalid_argument_fault(fault_side::none); }

  T* data_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace v1
}  // namespace mcsafe
