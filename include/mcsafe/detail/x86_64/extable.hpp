// mcsafe/detail/x86_64/extable.hpp - single guarded loads inlined into the caller.
//
// mc_safe_load<T> of 1, 2, 4 or 8 bytes is one `mov` in the caller's code, not a call: a call
// to a routine costs more than the load itself. Like the kernel's exception table, each such
// `mov` records {its address, the address just after it} in the section mcsafe_v1_extable, as
// 32-bit offsets relative to the entry (no dynamic relocations under -fPIC). The linker
// collects the section and defines __start_/__stop_ symbols around it in each executable or
// shared object; they are declared hidden (each DSO reads its own table) and weak (a program
// that never uses mc_safe_load has no table).
//
// Register contract, the same as the routines': the handler writes si_addr to rax and the
// packed signo/si_code/lsb to rdx and resumes just after the `mov`. The asm zeroes rdx before
// the load, so rdx != 0 afterwards means the load faulted and its destination is garbage.
// Only the faulting `mov` is skipped; no compiler-generated instruction is ever re-executed
// or abandoned half-way.
#pragma once
#include <cstdint>

#include "../config.hpp"
#include "../routine.hpp"

namespace mcsafe {
inline namespace v1 {
namespace detail {
struct extable_entry {
  std::int32_t insn;    // the guarded instruction, relative to &insn
  std::int32_t resume;  // where a fault in it resumes, relative to &resume
};
}  // namespace detail
}  // namespace v1
}  // namespace mcsafe

extern "C" {
extern const ::mcsafe::detail::extable_entry __start_mcsafe_v1_extable[] __attribute__((weak, visibility("hidden")));
extern const ::mcsafe::detail::extable_entry __stop_mcsafe_v1_extable[] __attribute__((weak, visibility("hidden")));
}

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

// Where a fault at `pc` resumes when pc is a guarded inline load, else nullptr.
// Async-signal-safe: reads the linker-built table only.
inline const void* find_extable_fixup(std::uintptr_t pc) noexcept {
  const extable_entry* e = __start_mcsafe_v1_extable;
  const extable_entry* end = __stop_mcsafe_v1_extable;
  if (e == nullptr || end == nullptr) return nullptr;
  for (; e < end; ++e) {
    const auto insn = reinterpret_cast<std::uintptr_t>(&e->insn) + static_cast<std::intptr_t>(e->insn);
    if (insn == pc)
      return reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(&e->resume) +
                                           static_cast<std::intptr_t>(e->resume));
  }
  return nullptr;
}

struct guarded_load_result {
  std::uintptr_t value;    // the loaded bits, zero-extended (garbage when info != 0)
  std::uintptr_t address;  // si_addr on a fault
  std::uintptr_t info;     // 0, or the packed signo/si_code/lsb
};

// One guarded load of an unsigned integer type U (1, 2, 4 or 8 bytes).
template <class U>
inline guarded_load_result guarded_load(const void* p) noexcept {
  U v;
  std::uintptr_t address, info;
  asm volatile(
      "xorl %k[info], %k[info]\n"
      "1: mov (%[p]), %[v]\n"
      "2:\n"
      ".pushsection mcsafe_v1_extable, \"a\"\n"
      ".balign 4\n"
      ".long 1b - .\n"
      ".long 2b - .\n"
      ".popsection\n"
      : [v] "=r"(v), "=a"(address), [info] "=&d"(info)
      : [p] "r"(p)
      : "memory");
  return {static_cast<std::uintptr_t>(v), address, info};
}

// A copy of n bytes, sizeof(U) <= n <= 2 * sizeof(U), inlined: the first and the last
// sizeof(U) bytes are loaded, then stored (overlapping when n < 2 * sizeof(U)), as the
// routines' small classes do. All four moves share one resume point, after the last store: a
// fault anywhere leaves rdx != 0 and rax = si_addr, and the caller re-copies the bytes below
// the fault with a forward routine (copy.hpp, finish_after_fault), which makes `copied` exact.
// Every access stays inside [src, src + n) and [dst, dst + n).
template <class U>
inline raw_result guarded_small_copy(void* dst, const void* src, std::size_t n) noexcept {
  U head, tail;
  std::uintptr_t address, info;
  asm volatile(
      "xorl %k[info], %k[info]\n"
      "1: mov (%[src]), %[head]\n"
      "2: mov %c[back](%[src],%[n]), %[tail]\n"
      "3: mov %[head], (%[dst])\n"
      "4: mov %[tail], %c[back](%[dst],%[n])\n"
      "5:\n"
      ".pushsection mcsafe_v1_extable, \"a\"\n"
      ".balign 4\n"
      ".long 1b - .\n.long 5b - .\n"
      ".long 2b - .\n.long 5b - .\n"
      ".long 3b - .\n.long 5b - .\n"
      ".long 4b - .\n.long 5b - .\n"
      ".popsection\n"
      : [head] "=&r"(head), [tail] "=&r"(tail), "=a"(address), [info] "=&d"(info)
      : [src] "r"(src), [dst] "r"(dst), [n] "r"(n), [back] "i"(-static_cast<long>(sizeof(U)))
      : "memory");
  return {address, info};
}

struct guarded_store_result {
  std::uintptr_t address;  // si_addr on a fault
  std::uintptr_t info;     // 0, or the packed signo/si_code/lsb
};

// One guarded store of an unsigned integer type U (1, 2, 4 or 8 bytes). The same contract as
// guarded_load: only the faulting `mov` is skipped. A store that faults has written nothing
// that this reports as written: the caller re-copies the bytes below the fault to make its
// count exact (copy.hpp).
template <class U>
inline guarded_store_result guarded_store(void* p, U v) noexcept {
  std::uintptr_t address, info;
  asm volatile(
      "xorl %k[info], %k[info]\n"
      "1: mov %[v], (%[p])\n"
      "2:\n"
      ".pushsection mcsafe_v1_extable, \"a\"\n"
      ".balign 4\n"
      ".long 1b - .\n"
      ".long 2b - .\n"
      ".popsection\n"
      : "=a"(address), [info] "=&d"(info)
      : [p] "r"(p), [v] "r"(v)
      : "memory");
  return {address, info};
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
