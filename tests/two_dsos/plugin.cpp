// A plugin (or a linked library) that uses mcsafe, for the unload tests (unload_host.cpp).
// Built several times: as two ordinary plugins, as a -fvisibility=hidden plugin and as a
// library the host links. PLUGIN_PREFIX names its two entry points.
#include <string>

#include <mcsafe/mcsafe.hpp>

#ifndef PLUGIN_PREFIX
#error "define PLUGIN_PREFIX"
#endif
#define PLUGIN_CAT2(a, b) a##b
#define PLUGIN_CAT(a, b) PLUGIN_CAT2(a, b)

// 0 when a faulting copy and a faulting load in this object both came back as values.
extern "C" __attribute__((visibility("default"))) int PLUGIN_CAT(PLUGIN_PREFIX, _check)(const unsigned char* cut) {
  unsigned char buf[256];
  const auto r = mcsafe::mc_safe_copy(buf, cut - 20, 200);
  if (r.copied != 20 || r.fault.kind != mcsafe::fault_kind::bus_error ||
      r.fault.address != reinterpret_cast<std::uintptr_t>(cut))
    return 1;
  const auto v = mcsafe::mc_safe_load(reinterpret_cast<const std::uint32_t*>(cut + 8));
  if (v || v.error().address != reinterpret_cast<std::uintptr_t>(cut + 8)) return 2;
  return 0;
}

// This copy's diagnose() report (valid until the next call).
extern "C" __attribute__((visibility("default"))) const char* PLUGIN_CAT(PLUGIN_PREFIX, _diagnose)() {
  static std::string report;
  report = mcsafe::diagnose();
  return report.c_str();
}
