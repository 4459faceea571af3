// A shared object that uses mcsafe, built several times, each with its own hidden copy of
// mcsafe's routines, load table and handler state: the linked and dlopen'ed objects of
// main.cpp, and the plugins (two ordinary, one -fvisibility=hidden) and linked library of
// unload_host.cpp. PLUGIN_PREFIX names its two entry points.
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
