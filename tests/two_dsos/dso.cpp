// Built twice, as two shared libraries, each with its own hidden copy of mcsafe's routines,
// load table and handler state. Returns 0 when a faulting copy and a faulting load both came
// back as values inside this DSO.
#include <mcsafe/mcsafe.hpp>

#ifndef DSO_ENTRY
#error "define DSO_ENTRY"
#endif

extern "C" __attribute__((visibility("default"))) int DSO_ENTRY(const unsigned char* cut) {
  unsigned char buf[256];
  const auto r = mcsafe::mc_safe_copy(buf, cut - 20, 200);
  if (r.copied != 20 || r.fault.kind != mcsafe::fault_kind::bus_error ||
      r.fault.address != reinterpret_cast<std::uintptr_t>(cut))
    return 1;
  const auto v = mcsafe::mc_safe_load(reinterpret_cast<const std::uint32_t*>(cut + 8));
  if (v || v.error().address != reinterpret_cast<std::uintptr_t>(cut + 8)) return 2;
  return 0;
}
