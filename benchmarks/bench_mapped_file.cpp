// mapped_file::read against pread and against a plain mapping with memcpy, paired: the three
// take turns block by block in one benchmark (the order rotating each iteration), and the
// counters are medians of the per-iteration ratios, as in BM_paired_vs_memcpy. Records are read
// at random record-aligned offsets of a 64 MiB file in the page cache of /tmp's file system.
// With LevelDB (libleveldb-dev), random Gets through mcsafe_leveldb::mapped_env against
// LevelDB's own Env, paired the same way over two copies of one database.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <mcsafe/mapped_file.hpp>
#if defined(MCSAFE_BENCH_HAVE_LEVELDB)
#include <filesystem>
#include <memory>

#include <leveldb/cache.h>
#include <leveldb/db.h>

#include "mapped_env.hpp"
#endif

namespace {

constexpr std::size_t kFileSize = 64u << 20;

// The file, written once and read once so every page is in the page cache. Removed at exit:
// the path lives on the heap, never destroyed, because an atexit handler registered while a
// static is being built runs after that static's destructor.
const std::string& bench_file() {
  static const std::string& path = *new std::string([] {
    std::string p = "/tmp/mcsafe-bench-mapped-XXXXXX";
    const int fd = mkstemp(p.data());
    if (fd < 0) std::abort();
    std::vector<unsigned char> chunk(1u << 20);
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<unsigned char>(i * 7 + 1);
    for (std::size_t off = 0; off < kFileSize; off += chunk.size())
      if (pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(off)) != static_cast<ssize_t>(chunk.size()))
        std::abort();
    for (std::size_t off = 0; off < kFileSize; off += chunk.size())
      if (pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(off)) != static_cast<ssize_t>(chunk.size())) std::abort();
    close(fd);
    std::atexit([] { unlink(bench_file().c_str()); });
    return p;
  }());
  return path;
}

// Per-iteration timings of N methods, block(method, iteration) each, order rotated per
// iteration. Each block reads records of its own (a method that read the same records after
// another would find them in the cache), drawn from one random pool.
template <std::size_t N>
struct paired_times {
  std::array<std::array<double, N>, N> ratio{};  // median over iterations of time[a] / time[b]
  std::array<double, N> seconds{};               // median block time of each method
};
template <std::size_t N, class Block>
paired_times<N> paired(benchmark::State& state, Block block) {
  std::vector<std::array<double, N>> times;
  std::size_t iteration = 0;
  for (auto _ : state) {
    std::array<double, N> t{};
    for (std::size_t k = 0; k < N; ++k) {
      const std::size_t m = (k + iteration) % N;
      t[m] = block(m, iteration);
    }
    ++iteration;
    times.push_back(t);
  }
  paired_times<N> out;
  std::vector<double> r(times.size());
  auto median = [&r] {
    std::nth_element(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(r.size() / 2), r.end());
    return r[r.size() / 2];
  };
  for (std::size_t a = 0; a < N; ++a) {
    for (std::size_t i = 0; i < times.size(); ++i) r[i] = times[i][a];
    out.seconds[a] = median();
    for (std::size_t b = 0; b < N; ++b) {
      for (std::size_t i = 0; i < times.size(); ++i) r[i] = times[i][a] / times[i][b];
      out.ratio[a][b] = median();
    }
  }
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Method 0: mapped_file::read; 1: pread; 2: plain memcpy from the same mapping (data()), so the
// two mapped methods share pages, page tables and TLB entries: with a second mmap of the file
// as the memcpy source, the 64 B ratio moved between 1.4x and 1.9x from run to run on the
// shared VM, and 1.27-1.33x with one mapping (docs/benchmarks.md).
void BM_paired_mapped_file(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  mcsafe::mapped_file file;
  if (file.open(bench_file().c_str(), mcsafe::map_mode::read_only) != std::errc{}) {
    state.SkipWithError("cannot open the benchmark file");
    return;
  }
  const int fd = file.fd();
  const auto* map = reinterpret_cast<const unsigned char*>(file.data());
  std::vector<std::byte> out(n);
  constexpr std::size_t kPool = 1u << 16;  // random record offsets, far more than a block reads
  std::vector<std::uint64_t> offsets(kPool);
  std::mt19937_64 rng(17);
  for (auto& o : offsets) o = rng() % (kFileSize / n) * n;
  // Touch every page of the mapping so no block pays for first faults.
  std::vector<std::byte> page(4096);
  for (std::size_t off = 0; off < kFileSize; off += 4096) benchmark::DoNotOptimize(file.read(off, page).done);
  const std::size_t calls = std::clamp<std::size_t>((1u << 20) / n, 16, 4096);
  const auto p = paired<3>(state, [&](std::size_t method, std::size_t iteration) {
    const std::size_t first = (iteration * 3 + method) * calls;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < calls; ++i) {
      const std::uint64_t off = offsets[(first + i) % kPool];
      if (method == 0) {
        benchmark::DoNotOptimize(file.read(off, out).done);
      } else if (method == 1) {
        benchmark::DoNotOptimize(pread(fd, out.data(), n, static_cast<off_t>(off)));
      } else {
        benchmark::DoNotOptimize(out.data());
        std::memcpy(out.data(), map + off, n);
      }
      benchmark::ClobberMemory();
    }
    return seconds_since(t0);
  });
  state.counters["mapped_vs_memcpy"] = p.ratio[0][2];
  state.counters["mapped_vs_pread"] = p.ratio[0][1];
  state.counters["pread_vs_memcpy"] = p.ratio[1][2];
  state.counters["mapped_ns"] = p.seconds[0] / static_cast<double>(calls) * 1e9;
  state.counters["pread_ns"] = p.seconds[1] / static_cast<double>(calls) * 1e9;
  state.counters["memcpy_ns"] = p.seconds[2] / static_cast<double>(calls) * 1e9;
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * calls * 3 * n));
}

#if defined(MCSAFE_BENCH_HAVE_LEVELDB)
constexpr int kLevelDbKeys = 200000;

std::string leveldb_key(int i) {
  char k[16];
  std::snprintf(k, sizeof k, "k%09d", i);
  return k;
}

// Two databases (200,000 keys, 100-byte values, compacted), one with snappy blocks (LevelDB's
// default) and one without, each built once and copied, so each Env opens its own copy (LevelDB
// locks its directory): <dir>/{snappy,none}/{a,b}.
const std::string& leveldb_dir() {
  static const std::string& dir = *new std::string([] {
    char tmpl[] = "/tmp/mcsafe-bench-leveldb-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    const std::string d = tmpl;
    for (const bool snappy : {true, false}) {
      const std::string base = d + (snappy ? "/snappy" : "/none");
      leveldb::Options options;
      options.create_if_missing = true;
      options.compression = snappy ? leveldb::kSnappyCompression : leveldb::kNoCompression;
      leveldb::DB* raw = nullptr;
      std::filesystem::create_directory(base);
      if (!leveldb::DB::Open(options, base + "/a", &raw).ok()) std::abort();
      std::unique_ptr<leveldb::DB> db(raw);
      for (int i = 0; i < kLevelDbKeys; ++i) db->Put({}, leveldb_key(i), std::string(100, static_cast<char>('a' + i % 26)));
      db->CompactRange(nullptr, nullptr);
      db.reset();
      std::filesystem::copy(base + "/a", base + "/b", std::filesystem::copy_options::recursive);
    }
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(leveldb_dir(), ec);
    });
    return d;
  }());
  return dir;
}

// Method 0: mapped_env; 1: LevelDB's default Env. Each block is `calls` random Gets. Argument:
// 1 for the snappy database, 0 for the uncompressed one (where the default Env parses blocks in
// place in its mapping and never caches them, and mapped_env copies each block it reads).
void BM_paired_leveldb_get(benchmark::State& state) {
  const std::string base = leveldb_dir() + (state.range(0) != 0 ? "/snappy" : "/none");
  mcsafe_leveldb::mapped_env env;
  leveldb::DB* raw[2] = {nullptr, nullptr};
  leveldb::Options options[2];
  options[0].env = &env;
  if (!leveldb::DB::Open(options[0], base + "/a", &raw[0]).ok() ||
      !leveldb::DB::Open(options[1], base + "/b", &raw[1]).ok()) {
    state.SkipWithError("cannot open the benchmark databases");
    return;
  }
  std::unique_ptr<leveldb::DB> db[2] = {std::unique_ptr<leveldb::DB>(raw[0]), std::unique_ptr<leveldb::DB>(raw[1])};
  constexpr std::size_t kPool = 1u << 16;
  std::vector<std::string> keys(kPool);
  std::mt19937 rng(23);
  for (auto& k : keys) k = leveldb_key(static_cast<int>(rng() % kLevelDbKeys));
  constexpr std::size_t calls = 1000;
  std::string value;
  for (int w = 0; w < 2; ++w)  // warm both: open every table, fill both block caches alike
    for (std::size_t i = 0; i < kPool; i += 4) benchmark::DoNotOptimize(db[w]->Get({}, keys[i], &value).ok());
  const auto p = paired<2>(state, [&](std::size_t m, std::size_t iteration) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < calls; ++i)
      benchmark::DoNotOptimize(db[m]->Get({}, keys[((iteration * 2 + m) * calls + i) % kPool], &value).ok());
    return seconds_since(t0);
  });
  state.counters["mapped_env_vs_default"] = p.ratio[0][1];
  state.counters["mapped_env_ns"] = p.seconds[0] / static_cast<double>(calls) * 1e9;
  state.counters["default_ns"] = p.seconds[1] / static_cast<double>(calls) * 1e9;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * calls * 2));
}
#endif

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("paired_mapped_file", BM_paired_mapped_file)
      ->ArgName("bytes")
      ->Arg(64)
      ->Arg(256)
      ->Arg(1 << 10)
      ->Arg(4 << 10)
      ->Arg(16 << 10)
      ->Arg(64 << 10);
#if defined(MCSAFE_BENCH_HAVE_LEVELDB)
  benchmark::RegisterBenchmark("paired_leveldb_get", BM_paired_leveldb_get)->ArgName("snappy")->Arg(1)->Arg(0);
#endif
  return true;
}();

}  // namespace
