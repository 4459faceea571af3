// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// src/mcsafe_c.cpp - libmcsafe: the C interface of include/mcsafe/mcsafe.h, built from the C++
// headers. Each function converts its arguments, calls the C++ function and converts the result.
//
// The C++ headers keep their state hidden per object (MCSAFE_HIDDEN), so this library holds its
// own handler, routines and choices, apart from any C++ code of the program that includes them.
// Only allocation can throw here (poison_map, diagnose's string): it becomes ENOMEM, never an
// exception across the C boundary (the library is built with -fexceptions for that).
#include "mcsafe/mcsafe.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "mcsafe/mcsafe.hpp"

// The C structs must keep the C++ layouts (field offsets and sizes), so a binding may map either.
#define MCSAFE_SAME_FIELD(c_type, cxx_type, c_field, cxx_field)               \
  static_assert(offsetof(c_type, c_field) == offsetof(cxx_type, cxx_field) && \
                    sizeof(c_type::c_field) == sizeof(cxx_type::cxx_field),   \
                #c_type "::" #c_field " differs from " #cxx_type "::" #cxx_field)

MCSAFE_SAME_FIELD(mcsafe_fault, mcsafe::fault, kind, kind);
MCSAFE_SAME_FIELD(mcsafe_fault, mcsafe::fault, side, side);
MCSAFE_SAME_FIELD(mcsafe_fault, mcsafe::fault, address, address);
MCSAFE_SAME_FIELD(mcsafe_fault, mcsafe::fault, lsb, lsb);
MCSAFE_SAME_FIELD(mcsafe_fault, mcsafe::fault, si_code, si_code);
static_assert(sizeof(mcsafe_fault) == sizeof(mcsafe::fault));
MCSAFE_SAME_FIELD(mcsafe_copy_result, mcsafe::copy_result, copied, copied);
MCSAFE_SAME_FIELD(mcsafe_copy_result, mcsafe::copy_result, fault, fault);
static_assert(sizeof(mcsafe_copy_result) == sizeof(mcsafe::copy_result));
MCSAFE_SAME_FIELD(mcsafe_install_options, mcsafe::install_options, catch_segv, catch_segv);
static_assert(sizeof(mcsafe_install_options) == sizeof(mcsafe::install_options));
MCSAFE_SAME_FIELD(mcsafe_clear_options, mcsafe::clear_options, require_atomic, require_atomic);
static_assert(sizeof(mcsafe_clear_options) == sizeof(mcsafe::clear_options));
MCSAFE_SAME_FIELD(mcsafe_write_result, mcsafe::write_result, written, written);
MCSAFE_SAME_FIELD(mcsafe_write_result, mcsafe::write_result, method, method);
MCSAFE_SAME_FIELD(mcsafe_write_result, mcsafe::write_result, atomic, atomic);
MCSAFE_SAME_FIELD(mcsafe_write_result, mcsafe::write_result, no_read, no_read);
MCSAFE_SAME_FIELD(mcsafe_write_result, mcsafe::write_result, error, error);
MCSAFE_SAME_FIELD(mcsafe_write_result, mcsafe::write_result, fault, fault);
static_assert(sizeof(mcsafe_write_result) == sizeof(mcsafe::write_result));
MCSAFE_SAME_FIELD(mcsafe_byte_range, mcsafe::byte_range, begin, begin);
MCSAFE_SAME_FIELD(mcsafe_byte_range, mcsafe::byte_range, end, end);
static_assert(sizeof(mcsafe_byte_range) == sizeof(mcsafe::byte_range));
MCSAFE_SAME_FIELD(mcsafe_map_options, mcsafe::map_options, create, create);
MCSAFE_SAME_FIELD(mcsafe_map_options, mcsafe::map_options, permissions, permissions);
static_assert(sizeof(mcsafe_map_options) == sizeof(mcsafe::map_options));
MCSAFE_SAME_FIELD(mcsafe_mapped_result, mcsafe::mapped_result, done, done);
MCSAFE_SAME_FIELD(mcsafe_mapped_result, mcsafe::mapped_result, cause, cause);
MCSAFE_SAME_FIELD(mcsafe_mapped_result, mcsafe::mapped_result, fault, fault);
MCSAFE_SAME_FIELD(mcsafe_mapped_result, mcsafe::mapped_result, bad, bad);
MCSAFE_SAME_FIELD(mcsafe_mapped_result, mcsafe::mapped_result, file_size, file_size);
MCSAFE_SAME_FIELD(mcsafe_mapped_result, mcsafe::mapped_result, sys_errno, sys_errno);
static_assert(sizeof(mcsafe_mapped_result) == sizeof(mcsafe::mapped_result));
#undef MCSAFE_SAME_FIELD

// The enumerators are the C++ enumerators' values.
static_assert(MCSAFE_FAULT_NONE == int(mcsafe::fault_kind::none) &&
              MCSAFE_FAULT_HW_POISON == int(mcsafe::fault_kind::hw_poison) &&
              MCSAFE_FAULT_BUS_ERROR == int(mcsafe::fault_kind::bus_error) &&
              MCSAFE_FAULT_SEGV == int(mcsafe::fault_kind::segv) &&
              MCSAFE_FAULT_INVALID_ARGUMENT == int(mcsafe::fault_kind::invalid_argument) &&
              MCSAFE_FAULT_KNOWN_BAD == int(mcsafe::fault_kind::known_bad));
static_assert(MCSAFE_SIDE_NONE == int(mcsafe::fault_side::none) && MCSAFE_SIDE_SOURCE == int(mcsafe::fault_side::source) &&
              MCSAFE_SIDE_DESTINATION == int(mcsafe::fault_side::destination));
static_assert(MCSAFE_STORE_MOVDIR64B == int(mcsafe::store_method::movdir64b) &&
              MCSAFE_STORE_AVX512_NT == int(mcsafe::store_method::avx512_nt) &&
              MCSAFE_STORE_SSE2_NT == int(mcsafe::store_method::sse2_nt) &&
              MCSAFE_STORE_PORTABLE == int(mcsafe::store_method::portable) && MCSAFE_LINE_SIZE == mcsafe::line_size);
static_assert(MCSAFE_FLUSH_CLWB == int(mcsafe::flush_method::clwb) &&
              MCSAFE_FLUSH_CLFLUSHOPT == int(mcsafe::flush_method::clflushopt) &&
              MCSAFE_FLUSH_CLFLUSH == int(mcsafe::flush_method::clflush) &&
              MCSAFE_FLUSH_NONE == int(mcsafe::flush_method::none));
static_assert(MCSAFE_MAP_READ_ONLY == int(mcsafe::map_mode::read_only) &&
              MCSAFE_MAP_READ_WRITE == int(mcsafe::map_mode::read_write));
static_assert(MCSAFE_CAUSE_NONE == int(mcsafe::mapped_cause::none) &&
              MCSAFE_CAUSE_FILE_ENDED == int(mcsafe::mapped_cause::file_ended) &&
              MCSAFE_CAUSE_NO_SPACE == int(mcsafe::mapped_cause::no_space) &&
              MCSAFE_CAUSE_IO_ERROR == int(mcsafe::mapped_cause::io_error) &&
              MCSAFE_CAUSE_HW_POISON == int(mcsafe::mapped_cause::hw_poison) &&
              MCSAFE_CAUSE_KNOWN_BAD == int(mcsafe::mapped_cause::known_bad) &&
              MCSAFE_CAUSE_BUFFER_FAULT == int(mcsafe::mapped_cause::buffer_fault) &&
              MCSAFE_CAUSE_INVALID_ARGUMENT == int(mcsafe::mapped_cause::invalid_argument) &&
              MCSAFE_CAUSE_UNEXPLAINED == int(mcsafe::mapped_cause::unexplained));

// The handle behind the opaque C type: the C++ object itself.
struct mcsafe_mapped_file {
  mcsafe::mapped_file file;
};

namespace {

mcsafe_fault to_c(const mcsafe::fault& f) noexcept {
  return {static_cast<std::uint8_t>(f.kind), static_cast<std::uint8_t>(f.side), f.address, f.lsb, f.si_code};
}
mcsafe_copy_result to_c(const mcsafe::copy_result& r) noexcept { return {r.copied, to_c(r.fault)}; }
mcsafe_byte_range to_c(const mcsafe::byte_range& r) noexcept { return {r.begin, r.end}; }
mcsafe_write_result to_c(const mcsafe::write_result& r) noexcept {
  return {r.written, static_cast<std::uint8_t>(r.method), r.atomic,
          r.no_read, static_cast<std::int32_t>(r.error),  to_c(r.fault)};
}
mcsafe_mapped_result to_c(const mcsafe::mapped_result& r) noexcept {
  return {r.done, static_cast<std::uint8_t>(r.cause), to_c(r.fault), to_c(r.bad), r.file_size, r.sys_errno};
}
int to_c(std::errc e) noexcept { return static_cast<int>(e); }

// Runs f, which may only throw for lack of memory: 0, or ENOMEM when it threw.
template <class F>
int without_exceptions(F f) noexcept {
#if defined(__cpp_exceptions)
  try {
    f();
  } catch (...) {
    return ENOMEM;
  }
#else
  f();
#endif
  return 0;
}

template <class T>
mcsafe_fault load(const void* p, T* value) noexcept {
  if (value == nullptr) return to_c(mcsafe::detail::invalid_argument_fault(mcsafe::fault_side::destination));
  const mcsafe::result<T> r = mcsafe::mc_safe_load(static_cast<const T*>(p));
  *value = r.value_or(0);
  return to_c(r.error());
}

template <class T>
mcsafe_copy_result store(void* p, T value) noexcept {
  return to_c(mcsafe::mc_safe_store(static_cast<T*>(p), value));
}

// The C callback, called from the C++ one: a C function pointer is not a noexcept C++ one.
std::atomic<mcsafe_async_poison_fn> g_async_poison{nullptr};
void async_poison_trampoline(std::uintptr_t address, unsigned lsb) noexcept {
  const mcsafe_async_poison_fn fn = g_async_poison.load(std::memory_order_acquire);
  if (fn != nullptr) fn(address, lsb);
}

mcsafe::poison_map& map_of(mcsafe_poison_map* m) noexcept { return *reinterpret_cast<mcsafe::poison_map*>(m); }
const mcsafe::poison_map& map_of(const mcsafe_poison_map* m) noexcept {
  return *reinterpret_cast<const mcsafe::poison_map*>(m);
}

// Changes a copy and moves it in, so an allocation failure leaves the map as it was.
template <class Change>
int change_map(mcsafe_poison_map* m, Change change) noexcept {
  if (m == nullptr) return EINVAL;
  return without_exceptions([&] {
    mcsafe::poison_map copy = map_of(m);
    change(copy);
    map_of(m) = std::move(copy);
  });
}

// Allocates a handle and lets `open` map the file into it: 0 and the handle in *out, or an
// errno. When no handle can be allocated, `owned_fd` (a descriptor the call owns) is closed.
template <class Open>
int new_mapped_file(mcsafe_mapped_file** out, Open open, int owned_fd = -1) noexcept {
  *out = nullptr;
  auto* h = new (std::nothrow) mcsafe_mapped_file;
  if (h == nullptr) {
    if (owned_fd >= 0) close(owned_fd);
    return ENOMEM;
  }
  const int e = to_c(open(h->file));
  if (e != 0) {
    delete h;
    return e;
  }
  *out = h;
  return 0;
}

// The refusal of a read or write on a null handle, as the C++ object gives on a closed file.
mcsafe_mapped_result closed_file_result() noexcept { return to_c(mcsafe::mapped_file{}.read(0, {})); }

}  // namespace

const char* mcsafe_fault_kind_string(std::uint8_t kind) { return mcsafe::to_string(static_cast<mcsafe::fault_kind>(kind)); }
const char* mcsafe_fault_side_string(std::uint8_t side) { return mcsafe::to_string(static_cast<mcsafe::fault_side>(side)); }

// mcsafe_copy: mc_safe_copy, shaped for a call from outside. The C++ function is inlined into
// its callers, where the registers it needs are saved once; here every call pays for its own,
// and an entry holding the inline moves, the routine call and the fault path saves five
// registers on every path. So each path is a function of its own that writes the result
// through `out` and returns `out`, and the entry reaches them by tail calls: the inline path
// is a leaf that saves nothing.
namespace {
using mcsafe::detail::raw_result;

MCSAFE_COLD mcsafe_copy_result* copy_after_inline_fault(mcsafe_copy_result* out, void* dst, const void* src, std::size_t n,
                                                        raw_result r) noexcept {
  *out = to_c(mcsafe::detail::inline_copy_result(dst, src, n, r));
  return out;
}

// What *out holds while the routine runs: n where `copied` goes, then dst and src, one word
// each (three stores, no struct copied through the stack).
constexpr std::size_t k_in_flight_words = 3;
static_assert(offsetof(mcsafe_copy_result, copied) == 0 && k_in_flight_words * 8 <= sizeof(mcsafe_copy_result));
inline void park_arguments(mcsafe_copy_result* out, std::size_t n, void* dst, const void* src) noexcept {
  const std::uintptr_t words[k_in_flight_words] = {n, reinterpret_cast<std::uintptr_t>(dst),
                                                   reinterpret_cast<std::uintptr_t>(src)};
  for (std::size_t i = 0; i < k_in_flight_words; ++i) std::memcpy(reinterpret_cast<char*>(out) + 8 * i, &words[i], 8);
}

MCSAFE_COLD mcsafe_copy_result* copy_after_routine_fault(mcsafe_copy_result* out, raw_result r) noexcept {
  std::uintptr_t a[k_in_flight_words];
  std::memcpy(a, out, sizeof a);
  *out =
      to_c(mcsafe::detail::finish_after_fault(reinterpret_cast<void*>(a[1]), reinterpret_cast<const void*>(a[2]), a[0], r));
  return out;
}

// The routine path. Across the call it keeps one register, `out`, instead of four: the
// arguments wait in *out, which is written anyway (its first word, n, is already the
// `copied` of a copy that does not fault), and the fault path reads them back.
__attribute__((noinline)) mcsafe_copy_result* copy_by_routine(mcsafe_copy_result* out, void* dst, const void* src,
                                                              std::size_t n) noexcept {
  if (!mcsafe::detail::copy_ranges_plain(dst, src, n)) [[unlikely]] {
    *out = to_c(mcsafe::detail::unusual_range_copy(dst, src, n));
    return out;
  }
  park_arguments(out, n, dst, src);
  const raw_result r = mcsafe::detail::g_copy.routine.load(std::memory_order_acquire)(dst, src, n);  // or first_copy
  if (r.info != 0) [[unlikely]]
    return copy_after_routine_fault(out, r);
  std::memset(&out->fault, 0, sizeof out->fault);
  return out;
}
}  // namespace

#if defined(MCSAFE_ARCH_X86_64)
// Where zmm state is allowed (the copy state says so: detail/copy_state.hpp), 8 to 512 bytes
// make no call here: one head-and-tail class per size range, each as the zmm routine would
// copy it (detail/x86_64/inline_moves.hpp). A C++ call site stops at 128 bytes, since its
// classes are inlined into every caller; this is one function.
constexpr std::size_t k_c_inline_zmm_max = 512;
MCSAFE_ALWAYS_INLINE bool try_zmm_inline_copy(void* dst, const void* src, std::size_t n, raw_result& r) noexcept {
  using namespace mcsafe::detail;
  // Not both_words_ready: that test leaves room for 128 bytes below the top of the address
  // space, not 512; this one, neither start nor n at 2^63 or above, leaves room for any n.
  if (n - 8 > k_c_inline_zmm_max - 8 || !copy_ranges_plain(dst, src, n)) return false;
  if (n < 16)
    r = guarded_small_copy<std::uint64_t>(dst, src, n);
  else if (n <= 32)
    r = guarded_copy_16_32(dst, src, n);
  else if (n <= 64)
    r = guarded_copy_33_64_ymm(dst, src, n);
  else if (n <= 128)
    r = guarded_copy_65_128_zmm(dst, src, n);
  else if (n <= 256)
    r = guarded_copy_129_256_zmm(dst, src, n);
  else
    r = guarded_copy_257_512_zmm(dst, src, n);
  return true;
}
#endif

// The inline moves of mcsafe_copy: false when n or the ranges need the routine.
MCSAFE_ALWAYS_INLINE bool try_c_inline_copy(void* dst, const void* src, std::size_t n, raw_result& r) noexcept {
#if defined(MCSAFE_ARCH_X86_64)
  if (mcsafe::detail::g_copy.inline_limit.load(std::memory_order_acquire) == mcsafe::detail::k_inline_upto_128)
    return try_zmm_inline_copy(dst, src, n, r);
#endif
  return mcsafe::detail::try_inline_copy(dst, src, n, r);
}

extern "C" MCSAFE_HIDDEN mcsafe_copy_result* mcsafe_v1_copy_into(mcsafe_copy_result* out, void* dst, const void* src,
                                                                 std::size_t n) {
  raw_result r;
  if (!try_c_inline_copy(dst, src, n, r)) return copy_by_routine(out, dst, src, n);
  if (r.info != 0) [[unlikely]]
    return copy_after_inline_fault(out, dst, src, n, r);
  *out = {n, {}};
  return out;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// The x86-64 psABI returns a struct of this size in memory: the caller passes its address in
// %rdi and the callee returns it in %rax, exactly what mcsafe_v1_copy_into's signature says. So
// mcsafe_copy is that function under a second name, and its tail calls stay tail calls (a
// function returning the struct by value cannot tail-call one that does, with GCC or Clang).
static_assert(sizeof(mcsafe_copy_result) > 16);  // MEMORY class: returned through the hidden pointer
#if !defined(__clang__)  // GCC: the types differ by design; the target is found not to throw, the C declaration says nothing
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wattribute-alias"
#pragma GCC diagnostic ignored "-Wmissing-attributes"
#endif
extern "C" mcsafe_copy_result mcsafe_copy(void* dst, const void* src, std::size_t n)
    __attribute__((alias("mcsafe_v1_copy_into")));
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#else
mcsafe_copy_result mcsafe_copy(void* dst, const void* src, std::size_t n) {
  mcsafe_copy_result r;
  mcsafe_v1_copy_into(&r, dst, src, n);
  return r;
}
#endif

mcsafe_fault mcsafe_load_u8(const void* p, std::uint8_t* value) { return load(p, value); }
mcsafe_fault mcsafe_load_u16(const void* p, std::uint16_t* value) { return load(p, value); }
mcsafe_fault mcsafe_load_u32(const void* p, std::uint32_t* value) { return load(p, value); }
mcsafe_fault mcsafe_load_u64(const void* p, std::uint64_t* value) { return load(p, value); }
mcsafe_copy_result mcsafe_store_u8(void* p, std::uint8_t value) { return store(p, value); }
mcsafe_copy_result mcsafe_store_u16(void* p, std::uint16_t value) { return store(p, value); }
mcsafe_copy_result mcsafe_store_u32(void* p, std::uint32_t value) { return store(p, value); }
mcsafe_copy_result mcsafe_store_u64(void* p, std::uint64_t value) { return store(p, value); }

int mcsafe_install(const mcsafe_install_options* options) {
  mcsafe::install_options o;
  if (options != nullptr) o.catch_segv = options->catch_segv;
  return to_c(mcsafe::install(o));
}
bool mcsafe_installed(int sig) { return mcsafe::installed(sig); }
bool mcsafe_handle_signal(int sig, void* info, void* context) {
  return mcsafe::handle_signal(sig, static_cast<siginfo_t*>(info), context);
}
mcsafe_async_poison_fn mcsafe_on_async_poison(mcsafe_async_poison_fn fn) {
  const mcsafe_async_poison_fn prev = g_async_poison.exchange(fn, std::memory_order_acq_rel);
  mcsafe::on_async_poison(fn != nullptr ? &async_poison_trampoline : nullptr);
  return prev;
}

mcsafe_write_result mcsafe_atomic_clear_write(void* dst64, const void* src64, const mcsafe_clear_options* options) {
  mcsafe::clear_options o;
  if (options != nullptr) o.require_atomic = options->require_atomic;
  return to_c(mcsafe::atomic_clear_write(dst64, src64, o));
}
mcsafe_write_result mcsafe_clear_write(void* dst, const void* src, std::size_t n) {
  return to_c(mcsafe::clear_write(dst, src, n));
}
std::uint8_t mcsafe_active_store_method(void) { return static_cast<std::uint8_t>(mcsafe::active_store_method()); }
const char* mcsafe_store_method_string(std::uint8_t method) {
  if (method > MCSAFE_STORE_PORTABLE) return "unknown";
  return mcsafe::to_string(static_cast<mcsafe::store_method>(method));
}

void mcsafe_flush(const void* p, std::size_t n) { mcsafe::flush(p, n); }
void mcsafe_drain(void) { mcsafe::drain(); }
void mcsafe_persist(const void* p, std::size_t n) { mcsafe::persist(p, n); }
std::uint8_t mcsafe_active_flush_method(void) { return static_cast<std::uint8_t>(mcsafe::active_flush_method()); }
const char* mcsafe_flush_method_string(std::uint8_t method) {
  if (method > MCSAFE_FLUSH_NONE) return "unknown";
  return mcsafe::to_string(static_cast<mcsafe::flush_method>(method));
}

mcsafe_poison_map* mcsafe_poison_map_create(void) {
  return reinterpret_cast<mcsafe_poison_map*>(new (std::nothrow) mcsafe::poison_map);
}
void mcsafe_poison_map_destroy(mcsafe_poison_map* map) { delete reinterpret_cast<mcsafe::poison_map*>(map); }
int mcsafe_poison_map_insert(mcsafe_poison_map* map, std::size_t begin, std::size_t end) {
  return change_map(map, [&](mcsafe::poison_map& m) { m.insert({begin, end}); });
}
int mcsafe_poison_map_erase(mcsafe_poison_map* map, std::size_t begin, std::size_t end) {
  return change_map(map, [&](mcsafe::poison_map& m) { m.erase({begin, end}); });
}
void mcsafe_poison_map_clear(mcsafe_poison_map* map) {
  if (map != nullptr) map_of(map).clear();
}
bool mcsafe_poison_map_first_overlap(const mcsafe_poison_map* map, std::size_t begin, std::size_t end,
                                     mcsafe_byte_range* first) {
  if (map == nullptr) return false;
  const mcsafe::poison_map& m = map_of(map);
  const auto it = m.first_overlap({begin, end});
  if (it == m.end()) return false;
  if (first != nullptr) *first = to_c(*it);
  return true;
}
std::size_t mcsafe_poison_map_size(const mcsafe_poison_map* map) { return map != nullptr ? map_of(map).size() : 0; }
mcsafe_byte_range mcsafe_poison_map_at(const mcsafe_poison_map* map, std::size_t i) {
  if (i >= mcsafe_poison_map_size(map)) return {0, 0};
  return to_c(*(map_of(map).begin() + static_cast<std::ptrdiff_t>(i)));
}

int mcsafe_mapped_file_open(mcsafe_mapped_file** out, const char* path, std::uint8_t mode,
                            const mcsafe_map_options* options) {
  if (out == nullptr || mode > MCSAFE_MAP_READ_WRITE) return EINVAL;
  mcsafe::map_options o;
  if (options != nullptr) {
    o.create = options->create;
    o.permissions = static_cast<mode_t>(options->permissions);
  }
  return new_mapped_file(out, [&](mcsafe::mapped_file& f) { return f.open(path, static_cast<mcsafe::map_mode>(mode), o); });
}
int mcsafe_mapped_file_adopt(mcsafe_mapped_file** out, int fd, std::uint8_t mode) {
  if (out == nullptr || mode > MCSAFE_MAP_READ_WRITE) {
    if (fd >= 0) close(fd);  // the descriptor is ours even when refused
    return EINVAL;
  }
  return new_mapped_file(
      out, [&](mcsafe::mapped_file& f) { return f.adopt(fd, static_cast<mcsafe::map_mode>(mode)); }, fd);
}
void mcsafe_mapped_file_close(mcsafe_mapped_file* file) { delete file; }

mcsafe_mapped_result mcsafe_mapped_file_read(const mcsafe_mapped_file* file, std::uint64_t offset, void* out,
                                             std::size_t n) {
  if (file == nullptr) return closed_file_result();
  return to_c(file->file.read(offset, {static_cast<std::byte*>(out), n}));
}
mcsafe_mapped_result mcsafe_mapped_file_write(const mcsafe_mapped_file* file, std::uint64_t offset, const void* data,
                                              std::size_t n) {
  if (file == nullptr) return closed_file_result();
  return to_c(file->file.write(offset, {static_cast<const std::byte*>(data), n}));
}
int mcsafe_mapped_file_reserve(mcsafe_mapped_file* file, std::uint64_t offset, std::uint64_t length) {
  return file != nullptr ? to_c(file->file.reserve(offset, length)) : EBADF;
}
int mcsafe_mapped_file_resize(mcsafe_mapped_file* file, std::uint64_t length) {
  return file != nullptr ? to_c(file->file.resize(length)) : EBADF;
}
std::size_t mcsafe_mapped_file_size(const mcsafe_mapped_file* file) { return file != nullptr ? file->file.size() : 0; }
int mcsafe_mapped_file_fd(const mcsafe_mapped_file* file) { return file != nullptr ? file->file.fd() : -1; }
const void* mcsafe_mapped_file_data(const mcsafe_mapped_file* file) { return file != nullptr ? file->file.data() : nullptr; }
mcsafe_poison_map* mcsafe_mapped_file_known_bad(mcsafe_mapped_file* file) {
  return file != nullptr ? reinterpret_cast<mcsafe_poison_map*>(&file->file.known_bad()) : nullptr;
}
const char* mcsafe_mapped_cause_string(std::uint8_t cause) {
  return mcsafe::to_string(static_cast<mcsafe::mapped_cause>(cause));
}

std::size_t mcsafe_diagnose(char* buf, std::size_t size) {
  std::string report;
  if (without_exceptions([&] { report = mcsafe::diagnose(); }) != 0) report.clear();
  if (buf != nullptr && size > 0) {
    const std::size_t n = report.size() < size ? report.size() : size - 1;
    std::memcpy(buf, report.data(), n);
    buf[n] = '\0';
  }
  return report.size();
}

#define MCSAFE_STRING(x) #x
#define MCSAFE_VERSION_STRING(a, b, c) MCSAFE_STRING(a) "." MCSAFE_STRING(b) "." MCSAFE_STRING(c)
std::uint32_t mcsafe_version(void) {
  return MCSAFE_VERSION_MAJOR * 10000u + MCSAFE_VERSION_MINOR * 100u + MCSAFE_VERSION_PATCH;
}
const char* mcsafe_version_string(void) {
  return MCSAFE_VERSION_STRING(MCSAFE_VERSION_MAJOR, MCSAFE_VERSION_MINOR, MCSAFE_VERSION_PATCH);
}
