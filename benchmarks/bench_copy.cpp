// mc_safe_copy against memcpy, rep movsb, hand-rolled sigsetjmp guards, pread and libpmem2, in
// one run: the ratios are what matters (benchmarks/report prints them against memcpy).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csetjmp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <mcsafe/mcsafe.hpp>
#if defined(MCSAFE_BENCH_HAVE_C_LIBRARY)
#include <mcsafe/mcsafe.h>
#endif
#if defined(MCSAFE_BENCH_HAVE_PMEM2)
#include <libpmem2.h>
#endif

namespace {

constexpr std::size_t kMax = 64u << 20;

// Page-aligned buffers, touched once so no benchmark pays for first faults.
unsigned char* buffer(int which) {
  static unsigned char* b[2] = {nullptr, nullptr};
  if (b[which] == nullptr) {
    b[which] = static_cast<unsigned char*>(std::aligned_alloc(4096, kMax + 4096));
    std::memset(b[which], which + 1, kMax + 4096);
  }
  return b[which];
}

// A 64 MiB file on tmpfs: the kernel's own copy path (pread) and libpmem2's source.
int shm_file() {
  static int fd = -1;
  if (fd < 0) {
    char path[] = "/dev/shm/mcsafe-bench-XXXXXX";
    fd = mkstemp(path);
    unlink(path);
    if (fd < 0 || ftruncate(fd, kMax + 4096) != 0) std::abort();
    for (std::size_t off = 0; off < kMax; off += 1u << 20)
      if (pwrite(fd, buffer(0), 1u << 20, static_cast<off_t>(off)) != (1 << 20)) std::abort();
  }
  return fd;
}

void sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t mis : {0, 1})
    for (std::int64_t n :
         {8,        16,       32,       64,        128,     256,     512,     1 << 10, 2 << 10,  4 << 10,  8 << 10,
          16 << 10, 32 << 10, 64 << 10, 256 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20, 32 << 20, 64 << 20})
      b->Args({n, mis});
  b->ArgNames({"bytes", "misalign"});
}

// Where a row's buffers sit. A load whose address matches a store still in flight in bits 0-11
// only (4K aliasing) waits for that store. A copy repeated between buffers at the same page
// offset (src + 1 loads what the last call's stores hit mod 4096), or a buffer at the page
// offset of the loop's stack slots (placed at random by the kernel per process), times that
// wait, and the wait fell on either side at random: on the AMD Zen 5 VM, 128 B src+1 read memcpy
// 1.65 ns / mc_safe_copy 3.03 ns in the benchmark and 5.49 / 4.64 ns in a standalone loop with
// the same instructions, and shifting the stack by a few hundred bytes made both 6-9 ns. So dst
// and src sit a third of a page from each other and from this frame (the loops run a few
// frames below it); `same_offset` keeps the old placement, both at page offset 0, for the
// `.same_offset` rows that show that regime (docs/benchmarks.md).
struct placed_buffers {
  unsigned char* dst;
  const unsigned char* src;
};
[[gnu::noinline]] placed_buffers place_buffers(std::int64_t misalign, bool same_offset = false) {
  unsigned char stack_probe = 0;
  benchmark::DoNotOptimize(stack_probe);
  const std::size_t stack = reinterpret_cast<std::uintptr_t>(&stack_probe) & 4095;
  const std::size_t dst_offset = same_offset ? 0 : ((stack + 1344) & 4095 & ~std::size_t{63});
  const std::size_t src_offset = same_offset ? 0 : ((stack + 2688) & 4095 & ~std::size_t{63});
  return {buffer(1) + dst_offset, buffer(0) + src_offset + misalign};
}

template <class Copy>
void run_copy(benchmark::State& state, Copy copy) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const placed_buffers at = place_buffers(state.range(1));
  unsigned char* const dst = at.dst;
  const unsigned char* const src = at.src;
  for (auto _ : state) {
    copy(dst, src, n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void BM_memcpy(benchmark::State& state) {
  run_copy(state, [](void* d, const void* s, std::size_t n) {
    benchmark::DoNotOptimize(d);
    std::memcpy(d, s, n);
  });
}

void BM_rep_movsb_raw(benchmark::State& state) {
  run_copy(state, [](void* d, const void* s, std::size_t n) {
    asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  });
}

void BM_mc_safe_copy(benchmark::State& state, mcsafe::copy_backend b) {
  if (!mcsafe::testing::force_copy(b)) {
    state.SkipWithError("backend not available on this CPU");
    return;
  }
  run_copy(state,
           [](void* d, const void* s, std::size_t n) { benchmark::DoNotOptimize(mcsafe::mc_safe_copy(d, s, n).copied); });
  mcsafe::testing::reset_copy();
}

// The common hand-rolled guard: a sigsetjmp per call that a SIGBUS handler would siglongjmp
// to. savemask=1 costs a sigprocmask system call per call; 0 does not.
template <int SaveMask>
void BM_sigsetjmp_memcpy(benchmark::State& state) {
  run_copy(state, [](void* d, const void* s, std::size_t n) {
    static thread_local sigjmp_buf env;
    if (sigsetjmp(env, SaveMask) == 0) {
      benchmark::DoNotOptimize(d);
      std::memcpy(d, s, n);
    }
  });
}

void BM_pread_tmpfs(benchmark::State& state) {
  const int fd = shm_file();
  run_copy(state, [fd](void* d, const void*, std::size_t n) { benchmark::DoNotOptimize(pread(fd, d, n, 1)); });
}

#if defined(MCSAFE_BENCH_HAVE_PMEM2)
pmem2_source* pmem2_src() {
  static pmem2_source* s = nullptr;
  if (s == nullptr && pmem2_source_from_fd(&s, shm_file()) != 0) std::abort();
  return s;
}

void BM_pmem2_pread_mcsafe(benchmark::State& state) {
  pmem2_source* s = pmem2_src();
  run_copy(state,
           [s](void* d, const void*, std::size_t n) { benchmark::DoNotOptimize(pmem2_source_pread_mcsafe(s, d, n, 1)); });
}

// libpmem2's copy into a mapping (its memcpy_fn: non-temporal for large sizes, no flush
// needed at page granularity on tmpfs).
void BM_pmem2_memcpy_fn(benchmark::State& state) {
  static pmem2_map* map = nullptr;
  if (map == nullptr) {
    pmem2_config* cfg = nullptr;
    if (pmem2_config_new(&cfg) != 0 || pmem2_config_set_required_store_granularity(cfg, PMEM2_GRANULARITY_PAGE) != 0 ||
        pmem2_map_new(&map, cfg, pmem2_src()) != 0) {
      state.SkipWithError(pmem2_errormsg());
      return;
    }
    pmem2_config_delete(&cfg);
  }
  const pmem2_memcpy_fn fn = pmem2_get_memcpy_fn(map);
  const auto n = static_cast<std::size_t>(state.range(0));
  auto* dst = static_cast<unsigned char*>(pmem2_map_get_address(map));
  const unsigned char* src = place_buffers(state.range(1)).src;
  for (auto _ : state) {
    fn(dst, src, n, PMEM2_F_MEM_NOFLUSH);  // the copy alone, as for every other row
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
#endif

// One timed side of a pair: `calls` calls of `call` in a loop of its own. Each side is its own
// function, called from both orders, so a side runs the same code whether it goes first or
// second. (When one lambda held both sides behind a flag, the compiler inlined it twice and the
// first block of every pair ran in one copy of the loop, the second in another: on the AMD Zen 5
// VM the first copy ran slower whichever side it held, 1.97 ns against 1.40 ns for the same
// 8-byte mc_safe_copy, and the median ratio flipped between two values from process to process.)
template <class Call>
[[gnu::noinline, gnu::aligned(64)]] double timed_loop(std::size_t calls, Call call) {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < calls; ++i) {
    call();
    benchmark::ClobberMemory();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The paired loop: each iteration times `calls` calls of safe (mcsafe) and of ref (the
// reference) back to back, alternating which goes first; the result is the median over
// iterations of ref time / safe time. It also sets the counters `safe_ns` and `ref_ns`: the
// median time of one of `units` (default: one call) on each side, which say which side moved
// when the ratio does.
template <class Safe, class Ref>
double paired_median(benchmark::State& state, std::size_t calls, Safe safe_call, Ref ref_call, std::size_t units = 0) {
  std::vector<double> ratios, safe, ref;
  bool safe_first = false;
  for (auto _ : state) {
    safe_first = !safe_first;
    if (safe_first) {
      safe.push_back(timed_loop(calls, safe_call));
      ref.push_back(timed_loop(calls, ref_call));
    } else {
      ref.push_back(timed_loop(calls, ref_call));
      safe.push_back(timed_loop(calls, safe_call));
    }
    ratios.push_back(ref.back() / safe.back());
  }
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  const double per = 1e9 / static_cast<double>(units != 0 ? units : calls);
  state.counters["safe_ns"] = median(safe) * per;
  state.counters["ref_ns"] = median(ref) * per;
  return median(ratios);
}

// Paired: on a shared, noisy machine two benchmarks run seconds apart see different
// neighbours, and a ratio of their medians can move 30% between runs. Here each iteration
// times one block of glibc memcpy and one block of mc_safe_copy back to back (in alternating
// order), and the counter `vs_memcpy` is the median over iterations of memcpy time / mc_safe_copy
// time: above 1 means mc_safe_copy is faster. Blocks of about 10-30 us (or one call
// above 1 MiB) keep the cost of reading the clock (20-30 ns here) below 0.3%.
// rep_above, when nonzero, overrides the vector routines' rep movsb threshold (the
// `.loop` and `.rep` rows show both sides of the CPUID choice). Buffers: place_buffers.
// safe_copy(dst, src, n) returns the bytes copied: mc_safe_copy, or the C library's mcsafe_copy.
template <class SafeCopy>
void paired_copy(benchmark::State& state, placed_buffers at, SafeCopy safe_copy) {
  const auto n = static_cast<std::size_t>(state.range(0));
  unsigned char* const dst = at.dst;
  const unsigned char* const src = at.src;
  const std::size_t calls = std::clamp<std::size_t>((1u << 20) / n, 1, 8192);
  state.counters["vs_memcpy"] = paired_median(
      state, calls, [=] { benchmark::DoNotOptimize(safe_copy(dst, src, n)); },
      [=] {
        benchmark::DoNotOptimize(dst);
        std::memcpy(dst, src, n);
      });
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * calls * 2 * n));
}

// A lambda, not a function: paired_copy inlines it as the rows measure it.
constexpr auto mc_safe_copy_count = [](void* dst, const void* src, std::size_t n) {
  return mcsafe::mc_safe_copy(dst, src, n).copied;
};

void BM_paired_vs_memcpy(benchmark::State& state, mcsafe::copy_backend b, std::size_t rep_above, bool same_offset) {
  if (!mcsafe::testing::force_copy(b)) {
    state.SkipWithError("backend not available on this CPU");
    return;
  }
  if (rep_above != 0) mcsafe::testing::force_vector_rep_above(rep_above);
  paired_copy(state, place_buffers(state.range(1), same_offset), mc_safe_copy_count);
  mcsafe::testing::reset_copy();
}

// The CPUID choice against memcpy with the two buffers at chosen page offsets, so that no
// placement hides a gap: the rows above keep one placement per alignment, and a row can move by
// more than the targets' 5% with where its buffers sit (4K aliasing between a load and a store
// in flight, lines split on either side, a store across a page). Arguments: the size, the
// destination's offset in its page (0, 1, 3841: a 512-byte copy crosses a page in its middle,
// or 4065: its first 32 bytes cross a page), and the source's offset from the destination's
// modulo a page (0: the same page offset).
void BM_paired_placement(benchmark::State& state) {
  const std::size_t dst_offset = static_cast<std::size_t>(state.range(1));
  const std::size_t src_offset = (dst_offset + static_cast<std::size_t>(state.range(2))) % 4096;
  paired_copy(state, {buffer(1) + dst_offset, buffer(0) + src_offset}, mc_safe_copy_count);
}
void placements(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {264, 300, 512, 520, 1 << 10, 4 << 10, 16 << 10, 1 << 20})
    for (std::int64_t dst : {0, 1, 3841, 4065})  // 3841, 4065: 255 and 31 bytes below a page
      for (std::int64_t delta : {0, 1, 32, 63, 64, 65, 2048, 2049, 4032, 4033, 4095}) b->Args({n, dst, delta});
  b->ArgNames({"bytes", "dst", "src_minus_dst"});
}

#if defined(MCSAFE_BENCH_HAVE_C_LIBRARY)
// The C interface: mcsafe_copy of libmcsafe.so, an external call through the PLT as a C program
// or a language binding makes it, with the library's own CPUID choice. Paired like the rows above.
void BM_paired_c_library(benchmark::State& state) {
  paired_copy(state, place_buffers(state.range(1)),
              [](void* dst, const void* src, std::size_t n) { return mcsafe_copy(dst, src, n).copied; });
}
#endif

// A copy whose length is a constant (a key, a record header): memcpy is inlined by the compiler
// into plain moves, mc_safe_copy into guarded ones (copy.hpp). Paired like the rows above.
template <std::size_t N>
void BM_paired_constant(benchmark::State& state) {
  const placed_buffers at = place_buffers(0);
  unsigned char* const dst = at.dst;
  const unsigned char* const src = at.src;
  constexpr std::size_t calls = 8192;
  state.counters["vs_memcpy"] = paired_median(
      state, calls,
      [=] {
        benchmark::DoNotOptimize(src);
        benchmark::DoNotOptimize(mcsafe::mc_safe_copy(dst, src, N).copied);
      },
      [=] {
        benchmark::DoNotOptimize(src);
        benchmark::DoNotOptimize(dst);
        std::memcpy(dst, src, N);
      });
}

// Lengths that change from call to call (variable-length keys and records), uniform in [lo, hi]
// from a fixed seed, 2^16 of them: the rows above repeat one length, so every branch on it is
// predicted; here a copy that branches between size classes mispredicts as it would in use.
// 129-512 B always calls the routine (the inline sizes end at 128 at most), and 257-512 B is one of
// the zmm routine's classes, with nothing to mispredict between classes.
// Both sides walk the same sequence, each block where the last left off. Paired like the rows
// above; `safe_ns` and `ref_ns` are per call.
void BM_paired_mixed_sizes(benchmark::State& state) {
  const auto lo = static_cast<std::size_t>(state.range(0)), hi = static_cast<std::size_t>(state.range(1));
  constexpr std::size_t k_count = std::size_t{1} << 16;
  std::vector<std::size_t> lengths(k_count);
  std::uint64_t x = 0x9e3779b97f4a7c15;  // xorshift64: the same sequence on every run and machine
  for (std::size_t& n : lengths) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    n = lo + x % (hi - lo + 1);
  }
  const placed_buffers at = place_buffers(0);
  unsigned char* const dst = at.dst;
  const unsigned char* const src = at.src;
  const std::size_t* const len = lengths.data();
  std::size_t safe_at = 0, ref_at = 0;
  state.counters["vs_memcpy"] = paired_median(
      state, 4096,
      [=, &safe_at] {
        const std::size_t n = len[safe_at++ & (k_count - 1)];
        benchmark::DoNotOptimize(mcsafe::mc_safe_copy(dst, src, n).copied);
      },
      [=, &ref_at] {
        const std::size_t n = len[ref_at++ & (k_count - 1)];
        benchmark::DoNotOptimize(dst);
        std::memcpy(dst, src, n);
      });
}

// One 8-byte load per iteration over an L1-resident array, two ways. `sum` adds each value
// to a running total (the loop-carried add is the bottleneck, and the compiler turns
// value_or(0) into a cmov on that chain); `chase` follows indices stored in the array, so each
// load waits for the one before: the load's own latency, as in a linked structure.
template <bool Safe>
void BM_load_u64_sum(benchmark::State& state) {
  const auto* words = reinterpret_cast<const std::uint64_t*>(buffer(0));
  std::size_t i = 0;
  std::uint64_t sum = 0;
  for (auto _ : state) {
    if constexpr (Safe) {
      sum += mcsafe::mc_safe_load(words + i).value_or(0);
    } else {
      sum += *static_cast<const volatile std::uint64_t*>(words + i);
    }
    i = (i + 1) & 511;
  }
  benchmark::DoNotOptimize(sum);
}

template <bool Safe>
void BM_load_u64_chase(benchmark::State& state) {
  static std::uint64_t ring[512];
  for (std::size_t k = 0; k < 512; ++k) ring[k] = (k * 167 + 1) & 511;  // from 0: a cycle of 128 indices, in L1
  std::uint64_t i = 0;
  for (auto _ : state) {
    if constexpr (Safe) {
      i = mcsafe::mc_safe_load(ring + i).value_or(0);
    } else {
      i = *static_cast<const volatile std::uint64_t*>(ring + i);
    }
  }
  benchmark::DoNotOptimize(i);
}

// The same two loops, paired, and a third, `scan`: each iteration times a block of plain loads
// and a block of guarded ones back to back (alternating order), and `vs_plain` is the median
// over iterations of guarded time / plain time. Separately run, these rows move by more than the
// difference on a shared machine. The guarded block reads either through mc_safe_load (its
// check on every load) or through a guarded_range over the 512 words (checked once per block).
// `sum` walks the words with an index that wraps at 512 and a count that runs down; `scan` is
// the loop a decoder runs, `for (i = 0; i < size; ++i) sum += word i`, whose plain form takes
// about one cycle per word, so every instruction the guarded load adds shows.
enum class load_way { plain, mc_safe_load, guarded_range };
struct no_range {
  no_range(const std::uint64_t*, std::size_t) {}
};
template <load_way Way>
struct word_reader {
  explicit word_reader(const std::uint64_t* words) : words_(words), range_(words, 512) {}
  std::uint64_t operator()(std::size_t i) const {
    if constexpr (Way == load_way::plain) return *static_cast<const volatile std::uint64_t*>(words_ + i);
    if constexpr (Way == load_way::mc_safe_load) return mcsafe::mc_safe_load(words_ + i).value_or(0);
    if constexpr (Way == load_way::guarded_range) return range_.load(i).value_or(0);
  }
  std::size_t size() const {
    if constexpr (Way == load_way::guarded_range) return range_.size();
    return 512;
  }
  const std::uint64_t* words_;
  std::conditional_t<Way == load_way::guarded_range, mcsafe::guarded_range<const std::uint64_t>, no_range> range_;
};
template <load_way Way>
std::uint64_t load_block_sum(const std::uint64_t* words, std::size_t loads) {
  const word_reader<Way> read(words);
  std::uint64_t sum = 0;
  for (std::size_t k = 0, i = 0; k < loads; ++k, i = (i + 1) & 511) sum += read(i);
  return sum;
}
template <load_way Way>
std::uint64_t load_block_scan(const std::uint64_t* words, std::size_t loads) {
  const word_reader<Way> read(words);
  std::uint64_t sum = 0;
  for (std::size_t k = 0; k < loads; k += read.size())
    for (std::size_t i = 0; i < read.size(); ++i) sum += read(i);
  return sum;
}
template <load_way Way>
std::uint64_t load_block_chase(const std::uint64_t* ring, std::size_t loads) {
  const word_reader<Way> read(ring);
  std::uint64_t i = 0;
  for (std::size_t k = 0; k < loads; ++k) i = read(i);
  return i;
}
template <std::uint64_t (*Plain)(const std::uint64_t*, std::size_t),
          std::uint64_t (*Safe)(const std::uint64_t*, std::size_t)>
void BM_paired_load(benchmark::State& state) {
  static std::uint64_t ring[512];
  for (std::size_t k = 0; k < 512; ++k) ring[k] = (k * 167 + 1) & 511;  // a cycle of 128 indices
  constexpr std::size_t loads = 8192;
  const auto* r = ring;
  state.counters["vs_plain"] =  // mc_safe_load time / plain time
      1.0 / paired_median(
                state, 1, [r] { benchmark::DoNotOptimize(Safe(r, loads)); },
                [r] { benchmark::DoNotOptimize(Plain(r, loads)); }, loads);
}

// A recovered fault, end to end: an n-byte copy (CPUID backend) that starts 32 bytes before the
// end of a truncated file. 64 B: the cost of one signal and the return. 1 MiB: the tail-first
// vector routine meets the fault 1 MiB above the first bad byte, so this also times the
// forward re-copy that finds it (copy.hpp, forward_routine).
void BM_recovered_fault(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto pg = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t len = pg + (n + pg - 1) / pg * pg;
  char path[] = "/dev/shm/mcsafe-fault-XXXXXX";
  const int fd = mkstemp(path);
  unlink(path);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(len)) != 0) std::abort();
  auto* m = static_cast<unsigned char*>(mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0));
  if (m == MAP_FAILED || ftruncate(fd, static_cast<off_t>(pg)) != 0) std::abort();
  unsigned char* dst = buffer(1);
  for (auto _ : state) {
    const auto r = mcsafe::mc_safe_copy(dst, m + pg - 32, n);
    if (r.copied != 32) state.SkipWithError("fault not recovered as expected");
  }
  munmap(m, len);
  close(fd);
}

const bool registered = [] {
  benchmark::RegisterBenchmark("memcpy", BM_memcpy)->Apply(sizes);
  benchmark::RegisterBenchmark("rep_movsb_raw", BM_rep_movsb_raw)->Apply(sizes);
  for (mcsafe::copy_backend b : mcsafe::all_copy_backends)
    benchmark::RegisterBenchmark((std::string("mc_safe_copy.") + mcsafe::to_string(b)).c_str(), BM_mc_safe_copy, b)
        ->Apply(sizes);
  // Paired rows: the CPUID choice of this machine (named in the JSON context), every backend
  // but the slow fallbacks (fragile and generic have separate rows; those this CPU lacks report
  // an error), and each vector backend with its rep movsb threshold forced both ways: `.loop`
  // never uses rep movsb, `.rep` uses it above 2 KiB; in both the zmm routine keeps every size (no
  // hand-over to the ymm routine).
  const mcsafe::copy_backend chosen = mcsafe::active_copy_backend();
  benchmark::AddCustomContext("mcsafe_cpuid_copy_backend", mcsafe::to_string(chosen));
  benchmark::RegisterBenchmark("paired_vs_memcpy.cpuid", BM_paired_vs_memcpy, chosen, 0, false)->Apply(sizes);
  benchmark::RegisterBenchmark("paired_vs_memcpy.cpuid.same_offset", BM_paired_vs_memcpy, chosen, 0, true)->Apply(sizes);
  benchmark::RegisterBenchmark("paired_placement", BM_paired_placement)->Apply(placements);
#if defined(MCSAFE_BENCH_HAVE_C_LIBRARY)
  benchmark::RegisterBenchmark("paired_vs_memcpy.c_library", BM_paired_c_library)->Apply(sizes);
#endif
  for (mcsafe::copy_backend b : mcsafe::all_copy_backends) {
    if (b == mcsafe::copy_backend::fragile || b == mcsafe::copy_backend::generic) continue;
    const std::string name = std::string("paired_vs_memcpy.") + mcsafe::to_string(b);
    benchmark::RegisterBenchmark(name.c_str(), BM_paired_vs_memcpy, b, 0, false)->Apply(sizes);
    if (b != mcsafe::copy_backend::vector && b != mcsafe::copy_backend::vector_avx512 &&
        b != mcsafe::copy_backend::vector_sse2)
      continue;
    benchmark::RegisterBenchmark((name + ".loop").c_str(), BM_paired_vs_memcpy, b, ~std::size_t{0}, false)->Apply(sizes);
    benchmark::RegisterBenchmark((name + ".rep").c_str(), BM_paired_vs_memcpy, b, std::size_t{2048}, false)->Apply(sizes);
  }
  benchmark::RegisterBenchmark("sigsetjmp0_memcpy", BM_sigsetjmp_memcpy<0>)->Apply(sizes);
  benchmark::RegisterBenchmark("sigsetjmp1_memcpy", BM_sigsetjmp_memcpy<1>)->Apply(sizes);
  benchmark::RegisterBenchmark("pread_tmpfs", BM_pread_tmpfs)->Apply(sizes);
#if defined(MCSAFE_BENCH_HAVE_PMEM2)
  benchmark::RegisterBenchmark("pmem2_pread_mcsafe", BM_pmem2_pread_mcsafe)->Apply(sizes);
  benchmark::RegisterBenchmark("pmem2_memcpy_fn", BM_pmem2_memcpy_fn)->Apply(sizes);
#endif
  benchmark::RegisterBenchmark("load_u64.sum.plain", BM_load_u64_sum<false>);
  benchmark::RegisterBenchmark("load_u64.sum.mc_safe_load", BM_load_u64_sum<true>);
  benchmark::RegisterBenchmark("load_u64.chase.plain", BM_load_u64_chase<false>);
  benchmark::RegisterBenchmark("load_u64.chase.mc_safe_load", BM_load_u64_chase<true>);
  benchmark::RegisterBenchmark("paired_constant/bytes:8", BM_paired_constant<8>);
  benchmark::RegisterBenchmark("paired_constant/bytes:12", BM_paired_constant<12>);
  benchmark::RegisterBenchmark("paired_constant/bytes:16", BM_paired_constant<16>);
  benchmark::RegisterBenchmark("paired_mixed_sizes", BM_paired_mixed_sizes)
      ->ArgNames({"from", "to"})
      ->Args({8, 64})
      ->Args({1, 128})
      ->Args({1, 512})
      ->Args({129, 512})
      ->Args({257, 512})
      ->Args({256, 4096});
  using enum load_way;
  benchmark::RegisterBenchmark("paired_load_u64.sum", BM_paired_load<load_block_sum<plain>, load_block_sum<mc_safe_load>>);
  benchmark::RegisterBenchmark("paired_load_u64.chase",
                               BM_paired_load<load_block_chase<plain>, load_block_chase<mc_safe_load>>);
  benchmark::RegisterBenchmark("paired_load_u64.scan",
                               BM_paired_load<load_block_scan<plain>, load_block_scan<mc_safe_load>>);
  benchmark::RegisterBenchmark("paired_load_u64.range_scan",
                               BM_paired_load<load_block_scan<plain>, load_block_scan<guarded_range>>);
  benchmark::RegisterBenchmark("paired_load_u64.range_sum",
                               BM_paired_load<load_block_sum<plain>, load_block_sum<guarded_range>>);
  benchmark::RegisterBenchmark("paired_load_u64.range_chase",
                               BM_paired_load<load_block_chase<plain>, load_block_chase<guarded_range>>);
  benchmark::RegisterBenchmark("recovered_fault", BM_recovered_fault)->ArgName("bytes")->Arg(64)->Arg(1 << 20);
  return true;
}();

}  // namespace
