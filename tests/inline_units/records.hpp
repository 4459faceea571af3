// An inline function template with every kind of guarded inline move (extable.hpp), which both
// units of mcsafe_inline_units instantiate with the same types.
#pragma once
#include <cstdint>

#include <mcsafe/copy.hpp>

namespace inline_units {

// 0 when every move at p worked; else 1 + the number of bytes the faulting copy moved.
template <class Word>
int touch(unsigned char* p) {
  const auto v = mcsafe::mc_safe_load(reinterpret_cast<const Word*>(p));
  if (!v) return 1;
  const auto s = mcsafe::mc_safe_store(reinterpret_cast<Word*>(p), *v);
  if (!s) return 1 + static_cast<int>(s.copied);
  unsigned char out[12];
  const auto c = mcsafe::mc_safe_copy(out, p, sizeof out);  // a constant length: inline moves
  return c ? 0 : 1 + static_cast<int>(c.copied);
}

int first_unit(unsigned char* p);

}  // namespace inline_units
