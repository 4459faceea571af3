// The second unit: the same instantiations, then faults through whichever copy the linker kept.
// Exit 0 when the moves below a truncated file's end work and those across it return faults.
#include <cstdio>

#include "../support.hpp"
#include "records.hpp"

int main() {
  const std::size_t pg = mcsafe_test::page_size();
  mcsafe_test::truncated_file file(4 * pg, 2 * pg);
  unsigned char* good = file.cut() - 64;
  if (inline_units::first_unit(good) != 0 || inline_units::touch<std::uint32_t>(good) != 0) {
    std::puts("FAIL: moves below the cut faulted");
    return 1;
  }
  // 2 bytes below the cut: the 4-byte load faults in either unit's call; the 12-byte copy from
  // 8 bytes below moves exactly 8.
  const int a = inline_units::first_unit(file.cut() - 2), b = inline_units::touch<std::uint32_t>(file.cut() - 2);
  const int c = inline_units::touch<std::uint64_t>(file.cut() - 8);
  if (a != 2 || b != 1 || c != 9) {
    std::printf("FAIL: across the cut got %d %d %d, expected 2 1 9\n", a, b, c);
    return 1;
  }
  std::puts("inline units: loads, stores and constant copies in a twice-instantiated inline function work");
  return 0;
}
