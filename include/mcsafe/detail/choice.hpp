// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The mcsafe authors
// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.
// mcsafe/detail/choice.hpp - how copy backends, store methods and flush instructions are chosen:
// one table per job, one rule for all three.
//
// Each job has a table of rows in order of preference (dispatch.hpp, clear.hpp, persist.hpp),
// each row a method_row (below) and what the job adds, and the choice, made once per process, is: the row an MCSAFE_FORCE_* variable names when it
// runs here; else the first row whose CPUID rule picks it (the last row always does). The
// choice records why, and any variable it ignored, for diagnose(); nothing is ever printed.
// Tests feed the rule recorded CPUs and force any row with the testing:: functions.
#pragma once
#include <cstddef>
#include <cstring>
#include <string_view>

#include <atomic>

#include "../cpu.hpp"
#include "config.hpp"

namespace mcsafe {
inline namespace v1 {

// Why a choice was made, for diagnose(): the common part of copy_choice, store_choice and
// flush_choice.
struct choice_note {
  const char* reason = "";
  char ignored_env[48] = {};  // an MCSAFE_FORCE_* value that was ignored, truncated
  const char* ignored_why = "";
};

}  // namespace v1
}  // namespace mcsafe

namespace mcsafe MCSAFE_HIDDEN {
inline namespace v1 {

// Reads a name as to_string() spells it, among the values in `all`. parse() for each enum.
template <class E, std::size_t N>
constexpr bool parse_name(std::string_view s, const E (&all)[N], E& out) noexcept {
  for (E v : all)
    if (s == to_string(v)) {
      out = v;
      return true;
    }
  return false;
}

namespace detail {

// What every row of a job's table has. Fn is the code that does the job (a guarded routine, a
// flush loop); it is nullptr where the method is not built for this target.
template <class E, class Fn>
struct method_row {
  E value;           // the enumerator it stands for
  const char* name;  // as to_string(), MCSAFE_FORCE_*, diagnose() spell it
  Fn fn;
  bool (*usable)(const cpu_features&) noexcept;        // the CPU features fn needs
  const char* (*cpuid)(const cpu_features&) noexcept;  // why CPUID picks it there, or nullptr
  constexpr bool runs_on(const cpu_features& f) const noexcept { return fn != nullptr && usable(f); }
};

// The `usable` of a method that runs on every CPU.
constexpr bool any_cpu(const cpu_features&) noexcept { return true; }

// The row standing for v, or nullptr.
template <class Row, std::size_t N, class E>
constexpr const Row* row_of(const Row (&rows)[N], E v) noexcept {
  for (const Row& r : rows)
    if (r.value == v) return &r;
  return nullptr;
}

// The name of v's row: to_string() of each enum with a table.
template <class Row, std::size_t N, class E>
constexpr const char* name_in(const Row (&rows)[N], E v) noexcept {
  const Row* r = row_of(rows, v);
  return r != nullptr ? r->name : "unknown";
}

// Whether `rows` holds exactly one row for each value of `all` (checked at compile time).
template <class Row, std::size_t N, class E, std::size_t M>
constexpr bool one_row_each(const Row (&rows)[N], const E (&all)[M]) noexcept {
  if (N != M) return false;
  for (E v : all) {
    std::size_t n = 0;
    for (const Row& r : rows) n += r.value == v ? 1 : 0;
    if (n != 1) return false;
  }
  return true;
}

// The choice among `rows` for a CPU with features f, where `env` is the value of the job's
// MCSAFE_FORCE_* variable (null when unset) and `env_reason` the reason to record when it wins.
template <class Row, std::size_t N>
const Row& choose_row(const Row (&rows)[N], const cpu_features& f, const char* env, const char* env_reason,
                      choice_note& note) noexcept {
  if (env != nullptr && *env != '\0') {
    const Row* named = nullptr;
    for (const Row& r : rows)
      if (std::string_view(env) == r.name) named = &r;
    if (named == nullptr) {
      note.ignored_why = "unknown backend name";
    } else if (!named->runs_on(f)) {
      note.ignored_why = "backend not available on this CPU or build";
    } else {
      note.reason = env_reason;
      return *named;
    }
    std::strncpy(note.ignored_env, env, sizeof note.ignored_env - 1);
  }
  for (const Row& r : rows)
    if (r.runs_on(f))
      if (const char* why = r.cpuid(f)) {
        note.reason = why;
        return r;
      }
  return rows[N - 1];
}

// The one first-use rule of copies, stores and flushes: `active` holds `unset` until the first
// call; that call publishes `want` unless another thread did first, and returns what won. A
// reader's acquire load then sees everything stored before the release (rows are constants;
// the copy's other words, detail/copy_state.hpp). Stores and flushes start from nullptr and test
// for it; the copy starts from a routine that sets up, so its hot path has no test at all.
template <class T>
T publish_first(std::atomic<T>& active, T unset, T want) noexcept {
  T seen = unset;
  if (active.compare_exchange_strong(seen, want, std::memory_order_acq_rel)) return want;
  return seen;
}

}  // namespace detail
}  // namespace v1
}  // namespace mcsafe
