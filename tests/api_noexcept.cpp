// What docs/api.md says about noexcept, checked by the compiler: every function it lists as
// noexcept is, and the ones it lists as not noexcept (they grow a poison_map or a string, or
// call the caller's function) are not. Compiled into mcsafe_header_alone, so a broken claim
// fails the build.
#include <csignal>
#include <cstddef>
#include <span>
#include <vector>

#include <mcsafe/cxl.hpp>
#include <mcsafe/mcsafe.hpp>

#define MCSAFE_CLAIM_NOEXCEPT(expr) static_assert(noexcept(expr), #expr ": docs/api.md says noexcept")
#define MCSAFE_CLAIM_MAY_THROW(expr) static_assert(!noexcept(expr), #expr ": docs/api.md says not noexcept")

namespace {

[[maybe_unused]] void claims(void* p, const void* q, std::size_t n, int fd, siginfo_t* si, std::span<int> ints,
                             std::span<const int> cints, std::span<std::byte> bytes, std::span<const std::byte> cbytes,
                             mcsafe::poison_map& map, const std::vector<mcsafe::sector_range>& sectors) {
  namespace m = mcsafe;
  // fault.hpp
  const m::fault f{};
  const m::copy_result cr{};
  const m::result<int> ri{1};
  MCSAFE_CLAIM_NOEXCEPT(m::to_string(m::fault_kind::none));
  MCSAFE_CLAIM_NOEXCEPT(m::to_string(m::fault_side::none));
  MCSAFE_CLAIM_NOEXCEPT(f.granule_size());
  MCSAFE_CLAIM_NOEXCEPT(f.granule_begin());
  MCSAFE_CLAIM_NOEXCEPT(f.extent_size(n));
  MCSAFE_CLAIM_NOEXCEPT(f.extent_begin(0, n));
  MCSAFE_CLAIM_NOEXCEPT(f.extent_end(0, n));
  MCSAFE_CLAIM_NOEXCEPT(f.has_fault());
  MCSAFE_CLAIM_NOEXCEPT(cr.ok());
  MCSAFE_CLAIM_NOEXCEPT(static_cast<bool>(cr));
  MCSAFE_CLAIM_NOEXCEPT(ri.has_value());
  MCSAFE_CLAIM_NOEXCEPT(ri.value());
  MCSAFE_CLAIM_NOEXCEPT(*ri);
  MCSAFE_CLAIM_NOEXCEPT(ri.value_or(0));
  MCSAFE_CLAIM_NOEXCEPT(ri.error());
  // copy.hpp
  MCSAFE_CLAIM_NOEXCEPT(m::mc_safe_copy(p, q, n));
  MCSAFE_CLAIM_NOEXCEPT(m::mc_safe_copy(ints, cints));
  MCSAFE_CLAIM_NOEXCEPT(m::mc_safe_load(static_cast<const int*>(q)));
  MCSAFE_CLAIM_NOEXCEPT(m::mc_safe_store(static_cast<int*>(p), 1));
  // guarded_range.hpp
  MCSAFE_CLAIM_NOEXCEPT(m::guarded_range<int>(ints.data(), ints.size()));
  const m::guarded_range<int> range(ints.data(), ints.size());
  MCSAFE_CLAIM_NOEXCEPT(range.load(0));
  MCSAFE_CLAIM_NOEXCEPT(range.store(0, 1));
  MCSAFE_CLAIM_NOEXCEPT(range.size());
  // guard.hpp
  MCSAFE_CLAIM_NOEXCEPT(m::install());
  MCSAFE_CLAIM_NOEXCEPT(m::installed());
  MCSAFE_CLAIM_NOEXCEPT(m::handle_signal(SIGBUS, si, p));
  MCSAFE_CLAIM_NOEXCEPT(m::on_async_poison(nullptr));
  // dispatch.hpp
  m::copy_backend b{};
  MCSAFE_CLAIM_NOEXCEPT(m::to_string(b));
  MCSAFE_CLAIM_NOEXCEPT(m::parse("vector", b));
  MCSAFE_CLAIM_NOEXCEPT(m::active_copy_backend());
  MCSAFE_CLAIM_NOEXCEPT(m::testing::force_copy(b));
  MCSAFE_CLAIM_NOEXCEPT(m::testing::reset_copy());
  MCSAFE_CLAIM_NOEXCEPT(m::testing::force_vector_rep_above(n));
  // cpu.hpp
  MCSAFE_CLAIM_NOEXCEPT(m::detect());
  // diagnose.hpp: builds a std::string.
  MCSAFE_CLAIM_MAY_THROW(m::diagnose());
  // clear.hpp
  const m::write_result wr{};
  MCSAFE_CLAIM_NOEXCEPT(m::to_string(m::store_method::portable));
  MCSAFE_CLAIM_NOEXCEPT(m::is_atomic(m::store_method::portable));
  MCSAFE_CLAIM_NOEXCEPT(m::is_no_read(m::store_method::portable));
  MCSAFE_CLAIM_NOEXCEPT(wr.ok());
  MCSAFE_CLAIM_NOEXCEPT(m::atomic_clear_write(p, q));
  MCSAFE_CLAIM_NOEXCEPT(m::clear_write(p, q, n));
  MCSAFE_CLAIM_NOEXCEPT(m::active_store_method());
  MCSAFE_CLAIM_NOEXCEPT(m::testing::force_store(m::store_method::portable));
  MCSAFE_CLAIM_NOEXCEPT(m::testing::reset_store());
  // persist.hpp
  MCSAFE_CLAIM_NOEXCEPT(m::to_string(m::flush_method::none));
  MCSAFE_CLAIM_NOEXCEPT(m::active_flush_method());
  MCSAFE_CLAIM_NOEXCEPT(m::flush(q, n));
  MCSAFE_CLAIM_NOEXCEPT(m::drain());
  MCSAFE_CLAIM_NOEXCEPT(m::persist(q, n));
#if MCSAFE_HAS_CXL
  // cxl.hpp
  MCSAFE_CLAIM_NOEXCEPT(m::cxl::to_string(m::cxl::clear_poison_error::none));
  MCSAFE_CLAIM_NOEXCEPT(m::cxl::clear_poison(fd, 0, q));
  MCSAFE_CLAIM_NOEXCEPT(m::cxl::clear_poison("/dev/cxl/mem0", 0, q));
#endif
  // poison_map.hpp: lookups never allocate; insert, erase and round_to may.
  const m::byte_range r{0, n};
  MCSAFE_CLAIM_NOEXCEPT(r.size());
  MCSAFE_CLAIM_NOEXCEPT(r.empty());
  MCSAFE_CLAIM_NOEXCEPT(map.contains(n));
  MCSAFE_CLAIM_NOEXCEPT(map.intersects(r));
  MCSAFE_CLAIM_NOEXCEPT(map.first_overlap(r));
  MCSAFE_CLAIM_NOEXCEPT(map.clear());
  MCSAFE_CLAIM_NOEXCEPT(map.begin());
  MCSAFE_CLAIM_NOEXCEPT(map.end());
  MCSAFE_CLAIM_NOEXCEPT(map.size());
  MCSAFE_CLAIM_NOEXCEPT(map.bytes());
  MCSAFE_CLAIM_NOEXCEPT(map.empty());
  MCSAFE_CLAIM_MAY_THROW(map.insert(r));
  MCSAFE_CLAIM_MAY_THROW(map.erase(r));
  MCSAFE_CLAIM_MAY_THROW(map.round_to(n));
  // span.hpp: accesses never allocate; scan and repair write to a poison_map, and
  // for_each_good_range calls the caller's function.
  const m::poison_span<int> span(ints.data(), ints.size(), &map);
  MCSAFE_CLAIM_NOEXCEPT(span.load(0));
  MCSAFE_CLAIM_NOEXCEPT(span.store(0, 1));
  MCSAFE_CLAIM_NOEXCEPT(span.read(0, ints));
  MCSAFE_CLAIM_NOEXCEPT(span.subspan(0, 1));
  MCSAFE_CLAIM_NOEXCEPT(span.size());
  MCSAFE_CLAIM_MAY_THROW(span.scan(map));
  MCSAFE_CLAIM_MAY_THROW(span.repair(0, cints, map));
  MCSAFE_CLAIM_MAY_THROW(span.for_each_good_range([](std::size_t, std::size_t) {}));
  // badblocks.hpp and file.hpp: noexcept, and they allocate their results (out of memory there
  // ends the program, as noexcept means).
  MCSAFE_CLAIM_NOEXCEPT(m::parse_badblocks("0 8\n"));
  MCSAFE_CLAIM_NOEXCEPT(m::read_block_badblocks("pmem0"));
  MCSAFE_CLAIM_NOEXCEPT(m::read_region_badblocks("region0"));
  MCSAFE_CLAIM_NOEXCEPT(m::read_partition_badblocks("pmem0", "pmem0p1"));
  MCSAFE_CLAIM_NOEXCEPT(m::file_bad_ranges(fd, sectors, map));
  MCSAFE_CLAIM_NOEXCEPT(m::salvage(fd, 0, bytes));
  MCSAFE_CLAIM_NOEXCEPT(m::repair(fd, 0, cbytes));
#if defined(__linux__)
  // mapped_file.hpp: noexcept; salvage and repair allocate like file.hpp's, and repair erases
  // from known_bad().
  m::mapped_file file;
  MCSAFE_CLAIM_NOEXCEPT(m::to_string(m::mapped_cause::none));
  MCSAFE_CLAIM_NOEXCEPT(file.open("/tmp/f", m::map_mode::read_only));
  MCSAFE_CLAIM_NOEXCEPT(file.adopt(fd, m::map_mode::read_write));
  MCSAFE_CLAIM_NOEXCEPT(file.close());
  MCSAFE_CLAIM_NOEXCEPT(file.read(0, bytes));
  MCSAFE_CLAIM_NOEXCEPT(file.write(0, cbytes));
  MCSAFE_CLAIM_NOEXCEPT(file.reserve(0, n));
  MCSAFE_CLAIM_NOEXCEPT(file.reserve(n));
  MCSAFE_CLAIM_NOEXCEPT(file.resize(n));
  MCSAFE_CLAIM_NOEXCEPT(file.known_bad());
  MCSAFE_CLAIM_NOEXCEPT(file.span());
  MCSAFE_CLAIM_NOEXCEPT(file.salvage(0, bytes));
  MCSAFE_CLAIM_NOEXCEPT(file.repair(0, cbytes));
#endif
}

}  // namespace
