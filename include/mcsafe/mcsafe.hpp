// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/mcsafe.hpp - the umbrella header: every public header but cxl.hpp.
//
// cxl.hpp is left out on purpose: it is an administrative path (a CXL memory device's Clear
// Poison command, for root, on CXL hardware) that pulls in the kernel's CXL uapi header where
// one exists. Include <mcsafe/cxl.hpp> by name to use it. tests/metadata.sh checks this list.
#pragma once
#include "badblocks.hpp"
#include "clear.hpp"
#include "copy.hpp"
#include "cpu.hpp"
#include "diagnose.hpp"
#include "dispatch.hpp"
#include "fault.hpp"
#include "file.hpp"
#include "guard.hpp"
#include "guarded_range.hpp"
#include "persist.hpp"
#include "poison_map.hpp"
#include "span.hpp"
#include "testing.hpp"
#if defined(__linux__)
#include "mapped_file.hpp"  // Linux: mremap, fallocate
#endif
