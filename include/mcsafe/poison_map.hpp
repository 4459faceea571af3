// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/poison_map.hpp - a sorted set of known-bad byte ranges.
//
// Disjoint, merged, half-open [begin, end) ranges of offsets relative to a base the owner
// chooses (a mapping's start, a file offset). Lookups are binary searches over a sorted
// vector: O(log n), no allocation. insert/erase may allocate (std::vector growth; under
// -fno-exceptions an out-of-memory there terminates, like any container).
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

#include "detail/config.hpp"

namespace mcsafe {
inline namespace v1 {

struct byte_range {
  std::size_t begin = 0, end = 0;
  constexpr std::size_t size() const noexcept { return end > begin ? end - begin : 0; }
  constexpr bool empty() const noexcept { return end <= begin; }
  friend constexpr bool operator==(const byte_range&, const byte_range&) = default;
};

class poison_map {
 public:
  using const_iterator = std::vector<byte_range>::const_iterator;

  // Adds [r.begin, r.end), merging with ranges it overlaps or touches. Empty ranges: no-op.
  void insert(byte_range r) {
    if (r.empty()) return;
    auto first = std::lower_bound(ranges_.begin(), ranges_.end(), r.begin,
                                  [](const byte_range& x, std::size_t b) { return x.end < b; });
    auto last = first;
    while (last != ranges_.end() && last->begin <= r.end) {
      r.begin = std::min(r.begin, last->begin);
      r.end = std::max(r.end, last->end);
      ++last;
    }
    first = ranges_.erase(first, last);
    ranges_.insert(first, r);
  }

  // Removes [r.begin, r.end), splitting a range that covers it.
  void erase(byte_range r) {
    if (r.empty()) return;
    std::vector<byte_range> keep;
    auto first = std::lower_bound(ranges_.begin(), ranges_.end(), r.begin,
                                  [](const byte_range& x, std::size_t b) { return x.end <= b; });
    auto last = first;
    while (last != ranges_.end() && last->begin < r.end) {
      if (last->begin < r.begin) keep.push_back({last->begin, r.begin});
      if (last->end > r.end) keep.push_back({r.end, last->end});
      ++last;
    }
    first = ranges_.erase(first, last);
    ranges_.insert(first, keep.begin(), keep.end());
  }

  bool contains(std::size_t offset) const noexcept { return intersects({offset, offset + 1}); }
  bool intersects(byte_range r) const noexcept { return first_overlap(r) != ranges_.end(); }

  // The first known-bad range overlapping r, or end().
  const_iterator first_overlap(byte_range r) const noexcept {
    if (r.empty()) return ranges_.end();
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), r.begin,
                               [](std::size_t b, const byte_range& x) { return b < x.end; });
    return it != ranges_.end() && it->begin < r.end ? it : ranges_.end();
  }

  // Widens every range outward to multiples of `granule` (a power of two or not) and re-merges:
  // a poisoned page is unreachable as a whole.
  void round_to(std::size_t granule) {
    if (granule <= 1) return;
    std::vector<byte_range> old;
    old.swap(ranges_);
    for (byte_range r : old) {
      const std::size_t b = r.begin / granule * granule;
      const std::size_t e = r.end % granule == 0 ? r.end : (r.end / granule + 1) * granule;
      insert({b, e < r.end ? r.end : e});  // at the top of size_t, keep what fits
    }
  }

  void clear() noexcept { ranges_.clear(); }
  const_iterator begin() const noexcept { return ranges_.begin(); }
  const_iterator end() const noexcept { return ranges_.end(); }
  std::size_t size() const noexcept { return ranges_.size(); }
  bool empty() const noexcept { return ranges_.empty(); }
  std::size_t bytes() const noexcept {
    std::size_t n = 0;
    for (const byte_range& r : ranges_) n += r.size();
    return n;
  }

 private:
  std::vector<byte_range> ranges_;  // sorted by begin, disjoint, never touching
};

}  // namespace v1
}  // namespace mcsafe
