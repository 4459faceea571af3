// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/span.hpp - poison_span<T>: a view over memory that may hold poison.
//
// Every access goes through mc_safe_copy/mc_safe_load, and ranges a poison_map says are bad
// are refused at once (fault_kind::known_bad) without touching memory: touching known poison
// again costs a machine check, and on some platforms worse. Offsets in the map are bytes from
// the data() of the span the map was made for; a subspan keeps that origin.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "clear.hpp"
#include "copy.hpp"
#include "detail/config.hpp"
#include "fault.hpp"
#include "poison_map.hpp"

namespace mcsafe {
inline namespace v1 {

template <class T>
  requires std::is_trivially_copyable_v<T>
class poison_span {
 public:
  using value_type = std::remove_const_t<T>;

  // A null data, a count whose size in bytes overflows, or a range that wraps around the end of
  // the address space gives an empty span: every access is refused (invalid_argument).
  poison_span(T* data, std::size_t count, const poison_map* known = nullptr) noexcept
      : data_(data), count_(valid(data, count) ? count : 0), known_(known) {}

  T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return count_; }
  std::size_t size_bytes() const noexcept { return count_ * sizeof(T); }
  const poison_map* known() const noexcept { return known_; }

  // Elements [first, first + count) (clipped to the span), sharing the known map.
  poison_span subspan(std::size_t first, std::size_t count = static_cast<std::size_t>(-1)) const noexcept {
    if (first > count_) first = count_;
    poison_span s(data_ + first, count < count_ - first ? count : count_ - first, known_);
    s.origin_ = origin_ + first * sizeof(T);
    return s;
  }

  // One element, or the fault that prevented reading it.
  result<value_type> load(std::size_t i) const noexcept {
    if (i >= count_) return invalid();
    if (const fault f = known_fault(i * sizeof(T), sizeof(T)); f.has_fault()) return f;
    return mc_safe_load<value_type>(data_ + i);
  }

  // Writes one element (only for a span of non-const T).
  copy_result store(std::size_t i, const value_type& v) const noexcept requires(!std::is_const_v<T>) {
    if (i >= count_) return {0, invalid()};
    if (const fault f = known_fault(i * sizeof(T), sizeof(T)); f.has_fault()) return {0, f};
    return mc_safe_store(data_ + i, v);
  }

  // Copies elements [first, first + out.size()) into out. `copied` counts whole elements; a
  // known-bad range stops the read before it (fault_kind::known_bad), a fault stops it at
  // the element that holds the failed byte.
  copy_result read(std::size_t first, std::span<value_type> out) const noexcept {
    if (first > count_ || out.size() > count_ - first) return {0, invalid()};
    std::size_t n = out.size();
    fault refused;
    if (known_ != nullptr) {
      const std::size_t lo = origin_ + first * sizeof(T);
      const auto it = known_->first_overlap({lo, lo + n * sizeof(T)});
      if (it != known_->end()) {
        // The range may begin before `first`: then nothing is read (never a negative count).
        const std::size_t bad = (it->begin > lo ? it->begin : lo) - origin_;
        refused = known_fault_at(bad);
        n = bad / sizeof(T) - first;
      }
    }
    copy_result r = mc_safe_copy(out.data(), data_ + first, n * sizeof(T));
    r.copied /= sizeof(T);
    if (r.ok() && refused.has_fault()) r.fault = refused;
    return r;
  }

  // Calls fn(first, count) for each run of elements that touches no known-bad byte.
  template <class Fn>
  void for_each_good_range(Fn&& fn) const {
    std::size_t i = 0;
    while (i < count_) {
      std::size_t end = count_;
      std::size_t next = count_;
      if (known_ != nullptr) {
        const auto it = known_->first_overlap({origin_ + i * sizeof(T), origin_ + size_bytes()});
        if (it != known_->end()) {
          const std::size_t b = it->begin > origin_ ? it->begin - origin_ : 0;
          end = b / sizeof(T);
          const std::size_t e = it->end - origin_;
          next = e / sizeof(T) + (e % sizeof(T) != 0);  // rounded up without overflowing near SIZE_MAX
        }
      }
      if (end > i) fn(i, end - i);
      i = next > i ? next : i + 1;
    }
  }

  // Reads the whole span once and records in `out` every granule that failed (1 << lsb bytes
  // when the kernel gives it, else the page: a mapping fails a page at a time), clipped to the
  // span, as byte offsets from the origin; steps past each and goes on. Known-bad ranges are
  // not touched. Returns the bad bytes found by this scan. Not noexcept: recording a range in
  // `out` allocates (poison_map::insert), which may throw std::bad_alloc.
  std::size_t scan(poison_map& out) const {
    const auto* base = reinterpret_cast<const unsigned char*>(data_);
    const std::size_t total = size_bytes();
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    unsigned char scratch[4096];
    std::size_t pos = 0, found = 0;
    while (pos < total) {
      std::size_t len = total - pos < sizeof scratch ? total - pos : sizeof scratch;
      if (known_ != nullptr) {
        const auto it = known_->first_overlap({origin_ + pos, origin_ + pos + len});
        if (it != known_->end()) {
          const std::size_t b = it->begin > origin_ ? it->begin - origin_ : 0;
          if (b <= pos) {
            pos = it->end - origin_;
            continue;
          }
          len = b - pos;
        }
      }
      const copy_result r = mc_safe_copy(scratch, base + pos, len);
      if (r.ok()) {
        pos += len;
        continue;
      }
      if (r.fault.side != fault_side::source) {  // only an invalid argument can get here
        pos += r.copied + 1;
        continue;
      }
      // copy.hpp already reports `copied` up to the first byte of the failed granule.
      const std::size_t bad_begin = pos + r.copied;
      const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(base) + bad_begin;
      std::size_t bad_end = static_cast<std::size_t>(r.fault.extent_end(at, page) - reinterpret_cast<std::uintptr_t>(base));
      if (bad_end > total) bad_end = total;
      out.insert({origin_ + bad_begin, origin_ + bad_end});
      found += bad_end - bad_begin;
      pos = bad_end;
    }
    return found;
  }

  // Rewrites the bad ranges of `map` inside elements [first, first + data.size()) from `data`
  // with clear_write (never reading the bad lines), reads each back to verify, and erases the
  // repaired ranges from `map`. A bad range is rewritten as the whole 64-byte lines holding
  // it, so those lines must lie inside the data given; a range that does not is left in the
  // map and reported as invalid_argument. Returns the first failure, or success. Not noexcept:
  // erasing from `map` may split a range, which allocates (poison_map::erase).
  write_result repair(std::size_t first, std::span<const value_type> data, poison_map& map) const
      requires(!std::is_const_v<T>) {
    write_result result;
    if (first > count_ || data.size() > count_ - first) {
      result.error = std::errc::invalid_argument;
      return result;
    }
    auto* base = reinterpret_cast<unsigned char*>(data_);
    const auto* src = reinterpret_cast<const unsigned char*>(data.data());
    const std::size_t b0 = first * sizeof(T), b1 = (first + data.size()) * sizeof(T);
    const std::uintptr_t addr0 = reinterpret_cast<std::uintptr_t>(base);
    constexpr std::uintptr_t line_offset = line_size - 1;  // the address bits below a line
    for (;;) {
      const auto it = map.first_overlap({origin_ + b0, origin_ + b1});
      if (it == map.end()) return result;
      const std::size_t rb = std::max(it->begin - origin_, b0), re = std::min(it->end - origin_, b1);
      const std::uintptr_t lb = (addr0 + rb) & ~line_offset;
      const std::uintptr_t le = (addr0 + re + line_offset) & ~line_offset;
      if (lb < addr0 + b0 || le > addr0 + b1) {
        result.error = std::errc::invalid_argument;
        return result;
      }
      const std::size_t off = static_cast<std::size_t>(lb - addr0);
      write_result w = clear_write(base + off, src + (off - b0), static_cast<std::size_t>(le - lb));
      if (!w.ok()) return w;
      unsigned char check[line_size];
      for (std::size_t o = 0; o < le - lb; o += line_size) {
        const copy_result r = mc_safe_copy(check, base + off + o, line_size);
        if (!r.ok() || std::memcmp(check, src + (off - b0) + o, line_size) != 0) {
          w.fault = r.fault;
          w.error = r.ok() ? std::errc::io_error : std::errc{};
          return w;
        }
      }
      map.erase({origin_ + off, origin_ + off + static_cast<std::size_t>(le - lb)});
      result.written += w.written;
      result.method = w.method;
      result.atomic = w.atomic;
      result.no_read = w.no_read;
    }
  }

 private:
  static bool valid(T* data, std::size_t count) noexcept {
    return data != nullptr && !detail::bad_elements(data, count, sizeof(T));
  }
  static fault invalid() noexcept { return detail::invalid_argument_fault(fault_side::none); }
  fault known_fault_at(std::size_t byte) const noexcept {
    fault f;
    f.kind = fault_kind::known_bad;
    f.side = fault_side::source;
    f.address = reinterpret_cast<std::uintptr_t>(data_) + byte;
    return f;
  }
  // The known_bad fault for bytes [byte, byte + n) of this span, or no fault.
  fault known_fault(std::size_t byte, std::size_t n) const noexcept {
    if (known_ == nullptr) return {};
    const auto it = known_->first_overlap({origin_ + byte, origin_ + byte + n});
    if (it == known_->end()) return {};
    return known_fault_at(it->begin > origin_ + byte ? it->begin - origin_ : byte);
  }

  T* data_ = nullptr;
  std::size_t count_ = 0;
  const poison_map* known_ = nullptr;
  std::size_t origin_ = 0;  // byte offset of data() from the origin of known_'s offsets
};

}  // namespace v1
}  // namespace mcsafe
