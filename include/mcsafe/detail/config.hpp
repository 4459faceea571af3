// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/config.hpp - visibility, version and architecture switches shared by every header.
#pragma once

// The headers use concepts, std::span and designated initializers. Without this check a C++17
// build fails with dozens of errors far from the cause ("unknown type name 'requires'").
#if (defined(__GNUC__) || defined(__clang__)) && __cplusplus < 202002L
#error "mcsafe needs C++20: compile with -std=c++20 (or -std=gnu++20) or later"
#endif

// The version; CMakeLists.txt project(VERSION), meson.build and CHANGELOG.md say the same
// (tests/metadata.sh checks).
#define MCSAFE_VERSION_MAJOR 0
#define MCSAFE_VERSION_MINOR 2
#define MCSAFE_VERSION_PATCH 0

// Every function and variable of mcsafe lives in a namespace block marked MCSAFE_HIDDEN, so
// each executable and shared object that includes these headers keeps its own copy of the
// handler state and the asm routines. With default visibility the dynamic linker merges the
// inline functions and variables of two DSOs, and the second install() would save the first
// one's handler as its own "previous" and chain to itself. Types stay in plain (default
// visibility) blocks so user structs may hold them without -Wattributes warnings.
#if defined(__GNUC__) || defined(__clang__)
#define MCSAFE_HIDDEN __attribute__((visibility("hidden")))
#else
#define MCSAFE_HIDDEN
#endif

// The copy's hot path must be inlined into the caller and its one-time slow path must not
// be: a compiler left to choose may out-line active_copy() with the first-use setup folded in,
// a second call per copy.
#if defined(__GNUC__) || defined(__clang__)
#define MCSAFE_ALWAYS_INLINE inline __attribute__((always_inline))
#define MCSAFE_COLD __attribute__((noinline, cold))
#else
#define MCSAFE_ALWAYS_INLINE inline
#define MCSAFE_COLD
#endif

// The hand-written routines exist for these architectures; everywhere else the guarded
// routines are absent and mc_safe_copy is plain memcpy (diagnose() says so).
#if defined(__x86_64__) && defined(__linux__)
#define MCSAFE_ARCH_X86_64 1
#elif defined(__aarch64__) && defined(__linux__)
#define MCSAFE_ARCH_AARCH64 1
#endif
#if defined(MCSAFE_ARCH_X86_64) || defined(MCSAFE_ARCH_AARCH64)
#define MCSAFE_HAS_GUARDED_ROUTINES 1
#endif
