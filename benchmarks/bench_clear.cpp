// clear_write with every store method against raw non-temporal store loops written here (not
// the library's routines), 4 KiB .. 64 MiB, and the latency of one atomic_clear_write. The
// target: clear_write at least 0.9x the best raw non-temporal bandwidth of the same run.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>
#include <mcsafe/clear.hpp>
#include <mcsafe/testing.hpp>

namespace {

constexpr std::size_t kMaxBytes = 64u << 20;

// 64 MiB source and destination, page-aligned, touched once so no run pays for first faults.
unsigned char* region(int which) {
  static unsigned char* r[2] = {nullptr, nullptr};
  if (r[which] == nullptr) {
    r[which] = static_cast<unsigned char*>(std::aligned_alloc(4096, kMaxBytes));
    std::memset(r[which], 0x30 + which, kMaxBytes);
  }
  return r[which];
}

void bulk_sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t n = 4 << 10; n <= static_cast<std::int64_t>(kMaxBytes); n *= 4) b->Arg(n);
  b->ArgName("bytes");
}

template <class Write>
void run_bulk(benchmark::State& state, Write write) {
  const auto n = static_cast<std::size_t>(state.range(0));
  unsigned char* dst = region(1);
  const unsigned char* src = region(0);
  for (auto _ : state) {
    write(dst, src, n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void BM_clear_write(benchmark::State& state, mcsafe::store_method m) {
  if (!mcsafe::testing::force_store(m)) {
    state.SkipWithError("method not available here");
    return;
  }
  run_bulk(state, [&state](void* d, const void* s, std::size_t n) {
    if (!mcsafe::clear_write(d, s, n)) state.SkipWithError("clear_write failed");
  });
  mcsafe::testing::reset_store();
}

// One line, the same line each time: the cost of a call, the store and its sfence.
void BM_atomic_clear_write(benchmark::State& state, mcsafe::store_method m) {
  if (!mcsafe::testing::force_store(m)) {
    state.SkipWithError("method not available here");
    return;
  }
  unsigned char* dst = region(1);
  const unsigned char* src = region(0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(mcsafe::atomic_clear_write(dst, src));
    benchmark::ClobberMemory();
  }
  mcsafe::testing::reset_store();
}

#if defined(MCSAFE_ARCH_X86_64)
// The yardsticks: plain non-temporal store loops as one would write them by hand, 4 lines per
// iteration, aligned source, one sfence at the end. Not guarded, not the library's code.
void raw_nt_avx512(void* dst, const void* src, std::size_t n) {
  asm volatile(
      "1:  vmovdqa64 (%1), %%zmm0\n"
      "    vmovdqa64 64(%1), %%zmm1\n"
      "    vmovdqa64 128(%1), %%zmm2\n"
      "    vmovdqa64 192(%1), %%zmm3\n"
      "    vmovntdq %%zmm0, (%0)\n"
      "    vmovntdq %%zmm1, 64(%0)\n"
      "    vmovntdq %%zmm2, 128(%0)\n"
      "    vmovntdq %%zmm3, 192(%0)\n"
      "    addq $256, %0\n"
      "    addq $256, %1\n"
      "    subq $256, %2\n"
      "    jnz 1b\n"
      "    sfence\n"
      "    vzeroupper\n"
      : "+r"(dst), "+r"(src), "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "memory", "cc");
}

void raw_nt_sse2(void* dst, const void* src, std::size_t n) {
  asm volatile(
      "1:  movdqa (%1), %%xmm0\n"
      "    movdqa 16(%1), %%xmm1\n"
      "    movdqa 32(%1), %%xmm2\n"
      "    movdqa 48(%1), %%xmm3\n"
      "    movntdq %%xmm0, (%0)\n"
      "    movntdq %%xmm1, 16(%0)\n"
      "    movntdq %%xmm2, 32(%0)\n"
      "    movntdq %%xmm3, 48(%0)\n"
      "    addq $64, %0\n"
      "    addq $64, %1\n"
      "    subq $64, %2\n"
      "    jnz 1b\n"
      "    sfence\n"
      : "+r"(dst), "+r"(src), "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "memory", "cc");
}

void BM_raw_nt(benchmark::State& state, bool avx512) {
  if (avx512 && !mcsafe::detail::host_cpu().avx512f) {
    state.SkipWithError("no AVX-512 here");
    return;
  }
  run_bulk(state, avx512 ? raw_nt_avx512 : raw_nt_sse2);
}
#endif

// For scale: cached stores.
void BM_memcpy(benchmark::State& state) {
  run_bulk(state, [](void* d, const void* s, std::size_t n) { std::memcpy(d, s, n); });
}

[[maybe_unused]] const bool registered = [] {
  for (mcsafe::store_method m : mcsafe::all_store_methods) {
    if (!mcsafe::detail::store_usable(m, mcsafe::detail::host_cpu())) continue;  // never risk SIGILL here
    const std::string name = mcsafe::to_string(m);
    benchmark::RegisterBenchmark(("clear_write." + name).c_str(), BM_clear_write, m)->Apply(bulk_sizes);
    benchmark::RegisterBenchmark(("atomic_clear_write." + name).c_str(), BM_atomic_clear_write, m);
  }
#if defined(MCSAFE_ARCH_X86_64)
  benchmark::RegisterBenchmark("raw_nt.avx512", BM_raw_nt, true)->Apply(bulk_sizes);
  benchmark::RegisterBenchmark("raw_nt.sse2", BM_raw_nt, false)->Apply(bulk_sizes);
#endif
  benchmark::RegisterBenchmark("memcpy_cached", BM_memcpy)->Apply(bulk_sizes);
  return true;
}();

}  // namespace
