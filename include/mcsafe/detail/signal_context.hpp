// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/signal_context.hpp - reading and redirecting an interrupted context.
#pragma once
#include <cstdint>
#include <ucontext.h>

#include "config.hpp"

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {
namespace detail {

#if defined(MCSAFE_ARCH_X86_64)
inline std::uintptr_t context_pc(const void* ctx) noexcept {
  return static_cast<std::uintptr_t>(static_cast<const ucontext_t*>(ctx)->uc_mcontext.gregs[REG_RIP]);
}
// Resume at `pc` with the two return registers (rax:rdx) set, as a guarded routine's fixup expects.
inline void context_resume(void* ctx, const void* pc, std::uintptr_t r0, std::uintptr_t r1) noexcept {
  auto& g = static_cast<ucontext_t*>(ctx)->uc_mcontext.gregs;
  g[REG_RAX] = static_cast<greg_t>(r0);
  g[REG_RDX] = static_cast<greg_t>(r1);
  g[REG_RIP] = reinterpret_cast<greg_t>(pc);
}
#elif defined(MCSAFE_ARCH_AARCH64)
inline std::uintptr_t context_pc(const void* ctx) noexcept {
  return static_cast<std::uintptr_t>(static_cast<const ucontext_t*>(ctx)->uc_mcontext.pc);
}
inline void context_resume(void* ctx, const void* pc, std::uintptr_t r0, std::uintptr_t r1) noexcept {
  auto& m = static_cast<ucontext_t*>(ctx)->uc_mcontext;
  m.regs[0] = r0;
  m.regs[1] = r1;
  m.pc = reinterpret_cast<std::uintptr_t>(pc);
}
#else
inline std::uintptr_t context_pc(const void*) noexcept { return 0; }
inline void context_resume(void*, const void*, std::uintptr_t, std::uintptr_t) noexcept {}
#endif

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
