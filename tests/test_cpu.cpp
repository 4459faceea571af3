// The CPUID seam: recorded leaves of real CPUs give the expected features and choices.
//
// Sources of the records (register values only):
//  - xeon_spr_vm: this project's development machine, an "Intel(R) Xeon(R) Processor" guest
//    (family 6, signature 0x000A0671) read with CPUID on 2026-11-24, XCR0 0x600E7.
//  - amd_zen5_vm: this project's development machine, an "AMD EPYC" guest (family 0x1A,
//    model 2: Zen 5, signature 0x00B00F21) read with CPUID on 2026-12-07, XCR0 0xE7, leaf 7
//    subleaf 1 included.
//  - skylake_client: Intel signature 0x000406E3 (Core i7, Skylake-U), from google/cpu_features
//    test/cpuinfo_x86_test.cc (test HSWCache), which records it from InstLatx64.
//  - amd_stoney_ridge: AMD A9-9410 (Excavator, signature 0x00670F00), same file
//    (AMD_K15_EXCAVATOR_STONEY_RIDGE).
//  - amd_interlagos: AMD Opteron 6238 (Bulldozer, 0x00600F12), same file
//    (AMD_K15_BULLDOZER_INTERLAGOS).
//  - amd_griffin: AMD K11 Griffin (0x00200F30), max basic leaf 1, same file (AMD_K11_GRIFFIN).
// cpu_features does not record XCR0 for them; an OS with SSE+AVX state enabled (0x7) is assumed,
// and the "OS disabled AVX" case replays a record with XCR0 = 0x3 (x87 + SSE only).
#include "catch2_any.hpp"
#include <mcsafe/clear.hpp>
#include <mcsafe/cpu.hpp>
#include <mcsafe/dispatch.hpp>
#include <mcsafe/persist.hpp>

namespace {

struct record {
  const char* name;
  mcsafe::cpuid_regs leaf0, leaf1, leaf7;
  std::uint64_t xcr0;
  mcsafe::cpuid_regs leaf7_1{};  // subleaf 1 of leaf 7; not in the recordings (zero) unless typed in
};

const record* g_cpu = nullptr;  // the record the seam replays

mcsafe::cpuid_regs replay(std::uint32_t leaf, std::uint32_t subleaf) noexcept {
  // Out-of-range leaves are replayed too (Intel CPUs answer them with the data of the highest
  // leaf): detect() must check the maximum leaf itself.
  switch (leaf) {
    case 0: return g_cpu->leaf0;
    case 1: return g_cpu->leaf1;
    case 7: return subleaf == 1 ? g_cpu->leaf7_1 : g_cpu->leaf7;
    default: return {};
  }
}
std::uint64_t replay_xcr0() noexcept { return g_cpu->xcr0; }

mcsafe::cpu_features detect_recorded(const record& r) {
  g_cpu = &r;
  return mcsafe::detect(replay, replay_xcr0);
}

constexpr mcsafe::cpuid_regs k_intel_0x24{0x00000024, 0x756e6547, 0x6c65746e, 0x49656e69};
const record xeon_spr_vm{"xeon_spr_vm",
                         k_intel_0x24,
                         {0x000a0671, 0x01020800, 0xfffa3203, 0x1f8bfbff},
                         {0x00000002, 0xf1bf2ffb, 0x1a415f46, 0x23c14010},
                         0x600e7};
const record amd_zen5_vm{"amd_zen5_vm",
                         {0x0000000d, 0x68747541, 0x444d4163, 0x69746e65},
                         {0x00b00f21, 0xa1fe0800, 0xfed83203, 0x178bfbff},
                         {0x00000001, 0xf1bb03a9, 0x18005f42, 0x00000110},
                         0xe7,
                         {0x00000030, 0x00000000, 0x00000000, 0x00000000}};
const record skylake_client{"skylake_client",
                            {0x00000016, 0x756E6547, 0x6C65746E, 0x49656E69},
                            {0x000406E3, 0x00100800, 0x7FFAFBBF, 0xBFEBFBFF},
                            {0x00000000, 0x029C67AF, 0x00000000, 0x00000000},
                            0x7};
const record amd_stoney_ridge{"amd_stoney_ridge",
                              {0x0000000D, 0x68747541, 0x444D4163, 0x69746E65},
                              {0x00670F00, 0x00020800, 0x7ED8320B, 0x178BFBFF},
                              {0x00000000, 0x000001A9, 0x00000000, 0x00000000},
                              0x7};
const record amd_interlagos{"amd_interlagos",
                            {0x0000000D, 0x68747541, 0x444D4163, 0x69746E65},
                            {0x00600F12, 0x000C0800, 0x1E98220B, 0x178BFBFF},
                            {0x00000000, 0x00000000, 0x00000000, 0x00000000},
                            0x7};
const record amd_griffin{"amd_griffin",
                         {0x00000001, 0x68747541, 0x444D4163, 0x69746E65},
                         {0x00200F30, 0x00020800, 0x00002001, 0x178BFBFF},
                         {0x7fffffff, 0xffffffff, 0xffffffff, 0xffffffff},  // must never be read
                         0};

// What each recorded CPU gets: the copy backend and its rep movsb threshold, the store method
// for clear_write, the flush instruction.
struct expected_choices {
  const record* cpu;
  mcsafe::copy_backend copy;
  std::size_t rep_above;
  mcsafe::store_method store;
  mcsafe::flush_method flush;
};
using mcsafe::copy_backend, mcsafe::store_method, mcsafe::flush_method;
constexpr std::size_t k_rep_intel = mcsafe::detail::k_vector_rep_above_intel;
constexpr std::size_t k_rep_never = mcsafe::detail::k_vector_rep_never;  // no ERMS: the loop at every size
const expected_choices recorded_choices[] = {
    {&xeon_spr_vm, copy_backend::vector, k_rep_intel, store_method::movdir64b, flush_method::clwb},
    {&amd_zen5_vm, copy_backend::vector_avx512, mcsafe::detail::k_vector_rep_above_amd, store_method::movdir64b,
     flush_method::clwb},
    {&skylake_client, copy_backend::vector, k_rep_intel, store_method::sse2_nt, flush_method::clflushopt},
    {&amd_stoney_ridge, copy_backend::vector, k_rep_never, store_method::sse2_nt, flush_method::clflush},
    {&amd_interlagos, copy_backend::vector_sse2, k_rep_never, store_method::sse2_nt, flush_method::clflush},
    {&amd_griffin, copy_backend::vector_sse2, k_rep_never, store_method::sse2_nt, flush_method::clflush},
};

}  // namespace

// [x86_64]: recorded x86 CPUID leaves; detect() ignores the seam on other architectures,
// so tests/ecosystem/aarch64.sh leaves these out.
TEST_CASE("cpu: what each recorded CPU gets: copy backend and threshold, store method, flush", "[cpu][x86_64]") {
  for (const expected_choices& e : recorded_choices) {
    INFO(e.cpu->name);
    const auto f = detect_recorded(*e.cpu);
    const auto copy = mcsafe::detail::choose_copy(f, nullptr);
    CHECK(copy.backend == e.copy);
    CHECK(copy.vector_rep_above == e.rep_above);
    CHECK(mcsafe::detail::choose_store(f, nullptr).method == e.store);
    CHECK(mcsafe::detail::choose_flush(f) == e.flush);
  }
}

TEST_CASE("cpu: a recent Xeon with AVX-512, ERMS, FSRM and MOVDIR64B", "[cpu][x86_64]") {
  const auto f = detect_recorded(xeon_spr_vm);
  CHECK(std::string(f.vendor) == "GenuineIntel");
  CHECK(f.max_leaf == 0x24);
  CHECK((f.sse2 && f.avx && f.avx2 && f.avx512f && f.avx512bw));
  CHECK((f.erms && f.fsrm && f.movdir64b && f.clwb && f.clflushopt && f.clflush));
  // Leaf 7 subleaf 1 was not recorded: without AVX-VNNI the zmm routine is not chosen on Intel.
  CHECK_FALSE(f.avx_vnni);
  CHECK(mcsafe::detail::copy_routine(mcsafe::copy_backend::vector_avx512, f) != nullptr);
}

TEST_CASE("cpu: typed in: that Xeon with AVX-VNNI (CPUID.(7,1):EAX[4]), and an AMD with AVX-512", "[cpu][x86_64]") {
  record r = xeon_spr_vm;
  r.leaf7_1.eax = 1u << 4;
  const auto f = detect_recorded(r);
  CHECK(f.avx_vnni);
  CHECK(mcsafe::detail::choose_copy(f, nullptr).backend == mcsafe::copy_backend::vector_avx512);
  CHECK(mcsafe::detail::choose_copy(f, nullptr).vector_rep_above == mcsafe::detail::k_vector_rep_above_avx512_intel);
  r.leaf7.eax = 0;  // subleaf 1 does not exist: it must not be read
  CHECK_FALSE(detect_recorded(r).avx_vnni);
  r.leaf7.eax = 2;
  r.xcr0 = 0x7;  // no AVX-512 state: AVX2
  CHECK(mcsafe::detail::choose_copy(detect_recorded(r), nullptr).backend == mcsafe::copy_backend::vector);
  record amd = r;
  amd.xcr0 = 0xe7;
  amd.leaf0 = {0x00000010, 0x68747541, 0x444D4163, 0x69746E65};  // "AuthenticAMD"
  amd.leaf1.eax = 0x00a10f11;                                    // family 0x19, model 0x11: Zen 4 (Genoa)
  amd.leaf7_1 = {};
  const auto g = detect_recorded(amd);
  CHECK(g.avx512f);
  CHECK((g.family == 0x19 && g.model == 0x11));
  CHECK(mcsafe::detail::choose_copy(g, nullptr).backend == mcsafe::copy_backend::vector_avx512);
  // AMD before Zen 5: rep movsb above 16 KiB and up to 2 MiB, and above 16 MiB, with either
  // vector width (docs/benchmarks.md).
  CHECK(mcsafe::detail::choose_copy(g, nullptr).vector_rep_above == 16384);
  CHECK(mcsafe::detail::choose_copy(g, nullptr).vector_rep_upto == std::size_t{2} << 20);
  CHECK(mcsafe::detail::choose_copy(g, "vector").vector_rep_above == 16384);
  CHECK(mcsafe::detail::choose_copy(g, "vector").vector_rep_upto == std::size_t{2} << 20);
  CHECK(mcsafe::detail::choose_copy(g, nullptr).vector_rep_again_above == std::size_t{16} << 20);
  CHECK(mcsafe::detail::choose_copy(g, "vector").vector_rep_again_above == std::size_t{16} << 20);
  CHECK(mcsafe::detail::choose_copy(f, nullptr).vector_rep_again_above == mcsafe::detail::k_vector_rep_never);  // Intel
  // The zmm routine hands copies above 512 B to the ymm routine on AMD only.
  CHECK(mcsafe::detail::choose_copy(g, nullptr).vector_ymm_above == 512);
  CHECK(mcsafe::detail::choose_copy(g, "vector").vector_ymm_above == mcsafe::detail::k_vector_rep_never);
  CHECK(mcsafe::detail::choose_copy(f, nullptr).vector_ymm_above == mcsafe::detail::k_vector_rep_never);
  // rep movsb only where source and destination share their offset in a line: AMD only.
  CHECK(mcsafe::detail::choose_copy(g, nullptr).vector_rep_skew_mask == 63);
  CHECK(mcsafe::detail::choose_copy(g, "vector").vector_rep_skew_mask == 63);
  CHECK(mcsafe::detail::choose_copy(g, "vector_sse2").vector_rep_skew_mask == 0);
  CHECK(mcsafe::detail::choose_copy(f, nullptr).vector_rep_skew_mask == 0);
  CHECK(mcsafe::detail::choose_copy(f, "vector").vector_rep_skew_mask == 0);
  CHECK(mcsafe::detail::choose_copy(f, nullptr).vector_rep_upto == mcsafe::detail::k_vector_rep_never);  // Intel
  CHECK(g.avx512vl);
  // AVX-512F without VL (Knights Landing has such a set): the zmm routine's EVEX xmm/ymm moves
  // would raise #UD, so it is neither chosen nor forceable; AVX2 is chosen.
  record no_vl = amd;
  no_vl.leaf7.ebx &= ~(1u << 31);
  const auto h = detect_recorded(no_vl);
  CHECK((h.avx512f && !h.avx512vl));
  CHECK(mcsafe::detail::copy_routine(mcsafe::copy_backend::vector_avx512, h) == nullptr);
  CHECK(mcsafe::detail::choose_copy(h, nullptr).backend == mcsafe::copy_backend::vector);
}

TEST_CASE("cpu: the same Xeon under an OS that did not enable AVX state (XCR0 = 0x3)", "[cpu][x86_64]") {
  record r = xeon_spr_vm;
  r.xcr0 = 0x3;
  const auto f = detect_recorded(r);
  CHECK_FALSE(f.avx);
  CHECK_FALSE(f.avx2);
  CHECK_FALSE(f.avx512f);
  CHECK(f.avx_cpu_only);
  CHECK(f.avx512_cpu_only);
  CHECK(mcsafe::detail::copy_routine(mcsafe::copy_backend::vector, f) == nullptr);  // would #UD
  CHECK(mcsafe::detail::choose_copy(f, nullptr).backend == mcsafe::copy_backend::vector_sse2);
  CHECK(mcsafe::detail::choose_copy(f, nullptr).vector_rep_above == mcsafe::detail::k_vector_rep_above_sse2);
  CHECK(mcsafe::detail::choose_store(f, nullptr).method == mcsafe::store_method::movdir64b);
  // Typed in without SSE2 as well (no real x86-64 CPU): ERMS makes it rep movsb.
  record no_sse2 = r;
  no_sse2.leaf1.edx &= ~(1u << 26);
  CHECK(mcsafe::detail::choose_copy(detect_recorded(no_sse2), nullptr).backend == mcsafe::copy_backend::rep_movsb);
  // AVX state but not the AVX-512 state components: AVX2 yes, AVX-512 no.
  r.xcr0 = 0x7;
  const auto g = detect_recorded(r);
  CHECK(g.avx2);
  CHECK_FALSE(g.avx512f);
  CHECK(mcsafe::detail::choose_store(g, "avx512_nt").method == mcsafe::store_method::movdir64b);
}

TEST_CASE("cpu: AMD Zen 5: the zmm routine at every size, AMD's rep movsb band at any skew", "[cpu][x86_64]") {
  const auto f = detect_recorded(amd_zen5_vm);
  CHECK(std::string(f.vendor) == "AuthenticAMD");
  CHECK((f.family == 0x1a && f.model == 0x02));
  CHECK((f.avx512f && f.avx512vl && f.erms && f.fsrm && f.movdir64b && f.clwb));
  const auto zmm = mcsafe::detail::choose_copy(f, nullptr);
  CHECK(zmm.backend == mcsafe::copy_backend::vector_avx512);
  CHECK(zmm.vector_rep_above == 16384);
  CHECK(zmm.vector_rep_upto == std::size_t{2} << 20);
  CHECK(zmm.vector_rep_again_above == std::size_t{16} << 20);
  CHECK(zmm.vector_ymm_above == mcsafe::detail::k_vector_rep_never);  // no hand-over to the ymm routine
  CHECK(zmm.vector_rep_skew_mask == 0);
  const auto ymm = mcsafe::detail::choose_copy(f, "vector");
  CHECK(ymm.vector_rep_above == 16384);
  CHECK(ymm.vector_rep_upto == std::size_t{2} << 20);
  CHECK(ymm.vector_rep_skew_mask == 0);
  // A later family keeps Zen 5's rule; Zen 4's signature gets its own (the test above).
  record later = amd_zen5_vm;
  later.leaf1.eax = 0x00c00f00;  // family 0x1B
  CHECK(detect_recorded(later).family == 0x1b);
  CHECK(mcsafe::detail::choose_copy(detect_recorded(later), nullptr).vector_ymm_above == mcsafe::detail::k_vector_rep_never);
  record zen4 = amd_zen5_vm;
  zen4.leaf1.eax = 0x00a10f11;
  CHECK(mcsafe::detail::choose_copy(detect_recorded(zen4), nullptr).vector_ymm_above == 512);
  CHECK(mcsafe::detail::choose_copy(detect_recorded(zen4), nullptr).vector_rep_skew_mask == 63);
  // Intel's display family and model: base family 6 takes the extended model.
  CHECK((detect_recorded(xeon_spr_vm).family == 6 && detect_recorded(xeon_spr_vm).model == 0xa7));
}

TEST_CASE("cpu: Skylake client: ERMS and AVX2, no AVX-512, no MOVDIR64B, no CLWB", "[cpu][x86_64]") {
  const auto f = detect_recorded(skylake_client);
  CHECK((f.avx2 && f.erms && f.clflushopt));
  CHECK_FALSE(f.avx512f);
  CHECK_FALSE(f.movdir64b);
  CHECK_FALSE(f.fsrm);
  CHECK_FALSE(f.clwb);
}

TEST_CASE("cpu: AMD Excavator: AVX2 without ERMS", "[cpu][x86_64]") {
  const auto f = detect_recorded(amd_stoney_ridge);
  CHECK(std::string(f.vendor) == "AuthenticAMD");
  CHECK(f.avx2);
  CHECK_FALSE(f.erms);  // so the loop at every size, as glibc does there
  record r = amd_stoney_ridge;
  r.xcr0 = 0x3;  // no AVX state: the SSE2 size classes
  CHECK(mcsafe::detail::choose_copy(detect_recorded(r), nullptr).backend == mcsafe::copy_backend::vector_sse2);
}

TEST_CASE("cpu: AMD Bulldozer: AVX but no leaf-7 features", "[cpu][x86_64]") {
  const auto f = detect_recorded(amd_interlagos);
  CHECK(f.avx);
  CHECK_FALSE(f.avx2);
  CHECK_FALSE(f.erms);
}

TEST_CASE("cpu: AMD K11 with max basic leaf 1: leaf 7 is never trusted", "[cpu][x86_64]") {
  const auto f = detect_recorded(amd_griffin);
  CHECK(f.max_leaf == 1);
  CHECK(f.sse2);
  CHECK_FALSE(f.osxsave);
  CHECK(f.xcr0 == 0);  // XGETBV is not executed without OSXSAVE
  CHECK_FALSE(f.erms);
  CHECK_FALSE(f.avx2);
  CHECK_FALSE(f.movdir64b);
  // A described CPU without SSE2 (no x86-64 CPU is one) gets the kernel's copy_mc rule.
  record r = amd_griffin;
  r.leaf1.edx &= ~(1u << 26);
  const auto g = detect_recorded(r);
  CHECK_FALSE(g.sse2);
  CHECK(mcsafe::detail::copy_routine(mcsafe::copy_backend::vector_sse2, g) == nullptr);
  CHECK(mcsafe::detail::choose_copy(g, nullptr).backend == mcsafe::copy_backend::fragile);
}

TEST_CASE("cpu: the native CPUID agrees with itself and the live choice is usable", "[cpu]") {
  const auto a = mcsafe::detect();
  const auto b = mcsafe::detect();
  CHECK(std::string(a.vendor) == std::string(b.vendor));
  CHECK(a.xcr0 == b.xcr0);
  CHECK(mcsafe::detail::copy_routine(mcsafe::detail::choose_copy(a, nullptr).backend, a) != nullptr);
}
