// libFuzzer target: the sysfs badblocks parser on arbitrary text. It must never crash; an
// error is a value with a line number and no partial list; every accepted range has a byte
// end that fits in 64 bits; an accepted list prints back to text that parses to the same list. A mismatch traps (reported as a crash with the input).
// needs: include/mcsafe/badblocks.hpp
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <mcsafe/badblocks.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const mcsafe::badblocks_list l = mcsafe::parse_badblocks(text);
  if (!l.ok()) {
    if (!l.ranges.empty() || l.line == 0) __builtin_trap();
    return 0;
  }
  std::string back;
  for (const mcsafe::sector_range& r : l.ranges) {
    // An accepted range's byte end must fit in 64 bits (checked here without the parser's
    // arithmetic: the overflow builtins are the reference).
    std::uint64_t end = 0, end_bytes = 0;
    if (r.count == 0 || __builtin_add_overflow(r.first, r.count, &end) ||
        __builtin_mul_overflow(end, mcsafe::sector_size, &end_bytes))
      __builtin_trap();
    back += std::to_string(r.first) + " " + std::to_string(r.count) + "\n";
  }
  const mcsafe::badblocks_list again = mcsafe::parse_badblocks(back);
  if (!again.ok() || again.ranges != l.ranges) __builtin_trap();
  return 0;
}
