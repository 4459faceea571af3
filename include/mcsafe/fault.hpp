// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/fault.hpp - what a failed access reports: fault_kind, fault, copy_result, result<T>.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "detail/config.hpp"

namespace mcsafe {
inline namespace v1 {

enum class fault_kind : std::uint8_t {
  none,              // no fault
  hw_poison,         // SIGBUS BUS_MCEERR_AR / BUS_MCEERR_AO: memory the hardware reported bad
  bus_error,         // other SIGBUS: past the end of a file, a DAX bad block (BUS_ADRERR), ...
  segv,              // SIGSEGV, only when the handler was installed with catch_segv
  invalid_argument,  // refused before touching memory: a null pointer with a nonzero length
  known_bad,         // refused before touching memory: a poison_map says the range is bad
};

enum class fault_side : std::uint8_t { none, source, destination };

constexpr const char* to_string(fault_kind k) noexcept {
  switch (k) {
    case fault_kind::none: return "none";
    case fault_kind::hw_poison: return "hw_poison";
    case fault_kind::bus_error: return "bus_error";
    case fault_kind::segv: return "segv";
    case fault_kind::invalid_argument: return "invalid_argument";
    case fault_kind::known_bad: return "known_bad";
  }
  return "unknown";
}

constexpr const char* to_string(fault_side s) noexcept {
  switch (s) {
    case fault_side::none: return "none";
    case fault_side::source: return "source";
    case fault_side::destination: return "destination";
  }
  return "unknown";
}

struct fault {
  fault_kind kind = fault_kind::none;
  fault_side side = fault_side::none;
  // The first bad byte: the byte the kernel reported (si_addr); when the kernel reported a
  // granule (lsb > 0, e.g. a poisoned page), the first byte of that granule inside the buffer.
  // A fault the kernel reports with no address has side none and address 0, and a copy reports
  // copied 0: which byte failed is not known. On x86-64 an access to a non-canonical address
  // raises a general-protection fault (SIGSEGV: kind segv, only with catch_segv) or, when the
  // address is formed from rsp or rbp, a stack-segment fault (SIGBUS: kind bus_error); both
  // with si_code SI_KERNEL and si_addr 0. Which one depends on the register the compiler chose
  // for an inlined load, store or constant-length copy.
  std::uintptr_t address = 0;
  unsigned lsb = 0;  // si_addr_lsb: log2 of the failed granule, 0 when unknown
  int si_code = 0;   // the kernel's si_code, for diagnostics (0 when refused early)

  // The failed granule: [granule_begin(), granule_begin() + granule_size()). With lsb == 0
  // the kernel named one byte.
  constexpr std::size_t granule_size() const noexcept { return lsb < sizeof(std::size_t) * 8 ? std::size_t{1} << lsb : 0; }
  constexpr std::uintptr_t granule_begin() const noexcept {
    return address & ~(static_cast<std::uintptr_t>(granule_size()) - 1);
  }
  // What went bad with the fault, as a unit to skip: the granule when the kernel named one,
  // else `page` (a truncated file or a protection change takes whole pages; no kernel reports
  // an lsb too wide for size_t, which also gives the page). extent_begin/extent_end: the extent
  // that holds x, an address or a file offset mapped at a page-aligned address.
  constexpr std::size_t extent_size(std::size_t page) const noexcept {
    return lsb != 0 && granule_size() != 0 ? granule_size() : page;
  }
  constexpr std::uintptr_t extent_begin(std::uintptr_t x, std::size_t page) const noexcept {
    return x / extent_size(page) * extent_size(page);
  }
  constexpr std::uintptr_t extent_end(std::uintptr_t x, std::size_t page) const noexcept {
    return extent_begin(x, page) + extent_size(page);
  }
  constexpr bool has_fault() const noexcept { return kind != fault_kind::none; }
  friend constexpr bool operator==(const fault&, const fault&) = default;
};

// The outcome of a copy: dst[0, copied) equals src[0, copied); nothing past it is promised.
// fault.kind == none exactly when every byte asked for was copied.
struct copy_result {
  std::size_t copied = 0;
  mcsafe::fault fault;
  constexpr bool ok() const noexcept { return fault.kind == fault_kind::none; }
  constexpr explicit operator bool() const noexcept { return ok(); }
};

// A value or the fault that prevented reading it. No exceptions and no abort: value() and *
// on a fault return a value-initialized T (never the bytes that faulted); check has_value()
// first, or use value_or().
template <class T>
class result {
 public:
  constexpr result(const T& v) noexcept(std::is_nothrow_copy_constructible_v<T>)  // NOLINT
      : value_(v), has_(true) {}
  constexpr result(mcsafe::fault f) noexcept : error_(f), has_(false) {}  // NOLINT

  constexpr bool has_value() const noexcept { return has_; }
  constexpr explicit operator bool() const noexcept { return has_; }
  constexpr const T& value() const& noexcept { return value_; }
  constexpr const T& operator*() const& noexcept { return value_; }
  constexpr T value_or(const T& alt) const noexcept { return has_ ? value_ : alt; }
  constexpr const mcsafe::fault& error() const noexcept { return error_; }

 private:
  T value_{};
  mcsafe::fault error_{};
  bool has_ = false;
};

}  // namespace v1
}  // namespace mcsafe
