// libFuzzer target: poison_map insert/erase/round_to/queries against a byte-set model over a
// small universe. Any difference traps (reported as a crash with the input).
// needs: include/mcsafe/poison_map.hpp
#include <cstddef>
#include <cstdint>
#include <vector>

#include <mcsafe/poison_map.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Ranges start below 512 and are under 64 long, and granules are powers of two up to 32:
  // rounding never passes 576 (a multiple of each), so the model needs no more.
  constexpr std::size_t k_u = 576;
  mcsafe::poison_map m;
  std::vector<bool> model(k_u, false);
  for (std::size_t i = 0; i + 3 <= size; i += 3) {
    const std::size_t a = data[i + 1] * 2u, b = a + data[i + 2] % 64;
    switch (data[i] % 4) {
      case 0:
        m.insert({a, b});
        for (std::size_t k = a; k < b; ++k) model[k] = true;
        break;
      case 1:
        m.erase({a, b});
        for (std::size_t k = a; k < b; ++k) model[k] = false;
        break;
      case 2: {
        const std::size_t g = std::size_t{1} << (data[i + 2] % 6);
        m.round_to(g);
        std::vector<bool> w(k_u, false);
        for (std::size_t k = 0; k < k_u; ++k)
          if (model[k])
            for (std::size_t j = k / g * g; j < (k / g + 1) * g && j < k_u; ++j) w[j] = true;
        model = w;
        break;
      }
      default: {
        bool any = false;
        for (std::size_t k = a; k < b && k < k_u; ++k) any = any || model[k];
        if (m.intersects({a, b}) != any || m.contains(a) != (a < k_u && model[a])) __builtin_trap();
      }
    }
    std::vector<bool> seen(k_u, false);
    std::size_t prev = 0, bytes = 0;
    bool first = true;
    for (const mcsafe::byte_range& r : m) {
      if (r.empty() || r.end > k_u || (!first && r.begin <= prev)) __builtin_trap();
      for (std::size_t k = r.begin; k < r.end; ++k) seen[k] = true;
      prev = r.end;
      bytes += r.size();
      first = false;
    }
    if (seen != model || bytes != m.bytes()) __builtin_trap();
  }
  return 0;
}
