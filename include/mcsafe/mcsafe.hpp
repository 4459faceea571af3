// mcsafe/mcsafe.hpp - the umbrella header: the only one users need.
#pragma once
#include "clear.hpp"
#include "copy.hpp"
#include "cpu.hpp"
#include "diagnose.hpp"
#include "dispatch.hpp"
#include "fault.hpp"
#include "guard.hpp"
#include "persist.hpp"
#include "poison_map.hpp"
#include "span.hpp"
#if defined(__linux__)
#include "mapped_file.hpp"  // Linux: mremap, fallocate
#endif
