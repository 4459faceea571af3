// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/cpu.hpp - what the CPU and the OS let us use, read through a replaceable CPUID seam.
//
// detect() checks the maximum basic leaf before reading leaf 7, and reads XCR0 (XGETBV) before
// trusting any AVX bit: a CPU may support AVX-512 while the OS has not enabled its state, and
// then using a zmm register raises #UD. No allocation, no global state: thread-safe. Tests feed
// the recorded CPUID leaves of real CPUs through the cpuid_fn/xgetbv_fn parameters.
#pragma once
#include <cstdint>
#include <cstring>

#include "detail/config.hpp"

namespace mcsafe {
inline namespace v1 {

struct cpuid_regs {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// The seam: leaf/subleaf -> registers, and XCR0. Replace both to simulate another machine.
using cpuid_fn = cpuid_regs (*)(std::uint32_t leaf, std::uint32_t subleaf) noexcept;
using xgetbv_fn = std::uint64_t (*)() noexcept;

struct cpu_features {
  char vendor[13] = {};
  std::uint32_t max_leaf = 0;
  std::uint32_t family = 0;  // CPUID.1:EAX: the base family, plus the extended family where base is 0xF
  std::uint32_t model = 0;   // CPUID.1:EAX: the base model, plus the extended model x 16 where base family is 6 or 0xF
  bool sse2 = false;
  bool osxsave = false;  // CPUID.1:ECX[27]: XGETBV usable
  bool avx = false;      // CPU bit and XCR0 has SSE+AVX state
  bool avx2 = false;     // CPU bit and XCR0 has SSE+AVX state
  bool avx512f = false;  // CPU bit and XCR0 has opmask+ZMM state
  bool avx512bw = false;
  bool avx512vl = false;         // EVEX encodings of xmm/ymm and registers 16-31 at those widths
  bool avx_vnni = false;         // CPUID.(7,1):EAX[4]; glibc takes it as "zmm stores do not lower the clock"
  bool erms = false;             // CPUID.7.0:EBX[9] enhanced rep movsb
  bool fsrm = false;             // CPUID.7.0:EDX[4] fast short rep movsb
  bool movdir64b = false;        // CPUID.7.0:ECX[28]
  bool clflush = false;          // CPUID.1:EDX[19]
  bool clflushopt = false;       // CPUID.7.0:EBX[23]
  bool clwb = false;             // CPUID.7.0:EBX[24]
  bool avx_cpu_only = false;     // the CPU has AVX but the OS did not enable its state
  bool avx512_cpu_only = false;  // likewise for AVX-512
  std::uint64_t xcr0 = 0;
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {

#if defined(__x86_64__) || defined(__i386__)
inline cpuid_regs native_cpuid(std::uint32_t leaf, std::uint32_t subleaf) noexcept {
  cpuid_regs r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}
// Only called when CPUID.1:ECX.OSXSAVE is set, as the SDM requires.
inline std::uint64_t native_xgetbv() noexcept {
  std::uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}
#else
inline cpuid_regs native_cpuid(std::uint32_t, std::uint32_t) noexcept { return {}; }
inline std::uint64_t native_xgetbv() noexcept { return 0; }
#endif

inline cpu_features detect(cpuid_fn cpuid = native_cpuid, xgetbv_fn xgetbv = native_xgetbv) noexcept {
  cpu_features f;
#if defined(__x86_64__) || defined(__i386__)
  auto bit = [](std::uint32_t v, unsigned b) { return ((v >> b) & 1u) != 0; };
  const cpuid_regs l0 = cpuid(0, 0);
  f.max_leaf = l0.eax;
  const std::uint32_t parts[3] = {l0.ebx, l0.edx, l0.ecx};
  for (int i = 0; i < 12; ++i) f.vendor[i] = static_cast<char>((parts[i / 4] >> (8 * (i % 4))) & 0xff);
  if (f.max_leaf < 1) return f;
  const cpuid_regs l1 = cpuid(1, 0);
  const std::uint32_t base_family = (l1.eax >> 8) & 0xf;
  f.family = base_family == 0xf ? base_family + ((l1.eax >> 20) & 0xff) : base_family;
  f.model = (l1.eax >> 4) & 0xf;
  if (base_family == 0x6 || base_family == 0xf) f.model |= ((l1.eax >> 16) & 0xf) << 4;
  f.sse2 = bit(l1.edx, 26);
  f.clflush = bit(l1.edx, 19);
  f.osxsave = bit(l1.ecx, 27);
  const bool cpu_avx = bit(l1.ecx, 28);
  cpuid_regs l7;
  if (f.max_leaf >= 7) l7 = cpuid(7, 0);
  const bool cpu_avx2 = bit(l7.ebx, 5);
  const bool cpu_avx512f = bit(l7.ebx, 16);
  f.erms = bit(l7.ebx, 9);
  f.clflushopt = bit(l7.ebx, 23);
  f.clwb = bit(l7.ebx, 24);
  f.movdir64b = bit(l7.ecx, 28);
  f.fsrm = bit(l7.edx, 4);
  cpuid_regs l7_1;
  if (f.max_leaf >= 7 && l7.eax >= 1) l7_1 = cpuid(7, 1);  // l7.eax: the highest subleaf
  if (f.osxsave) f.xcr0 = xgetbv();
  const bool os_avx = (f.xcr0 & 0x6) == 0x6;                 // XMM | YMM state
  const bool os_avx512 = os_avx && (f.xcr0 & 0xe0) == 0xe0;  // opmask | ZMM_Hi256 | Hi16_ZMM
  f.avx = cpu_avx && os_avx;
  f.avx2 = cpu_avx2 && os_avx;
  f.avx512f = cpu_avx512f && os_avx512;
  f.avx512bw = f.avx512f && bit(l7.ebx, 30);
  f.avx512vl = f.avx512f && bit(l7.ebx, 31);
  f.avx_vnni = f.avx && bit(l7_1.eax, 4);
  f.avx_cpu_only = cpu_avx && !os_avx;
  f.avx512_cpu_only = cpu_avx512f && !os_avx512;
#else
  (void)cpuid;
  (void)xgetbv;
#endif
  return f;
}

namespace detail {
// This machine, read once (thread-safe static initialization) and never changed afterwards.
inline const cpu_features& host_cpu() noexcept {
  static const cpu_features f = detect();
  return f;
}
// AMD and Hygon: the vendors whose measured copy thresholds differ from Intel's (dispatch.hpp).
inline bool amd_like(const cpu_features& f) noexcept {
  return std::strcmp(f.vendor, "AuthenticAMD") == 0 || std::strcmp(f.vendor, "HygonGenuine") == 0;
}
}  // namespace detail

}  // namespace v1
}  // namespace mcsafe
