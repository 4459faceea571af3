#!/usr/bin/env bash
# sanitizers.sh SOURCE_DIR WORK_DIR asan|tsan [COMPILER]
# Builds the project with -fsanitize=address,undefined (asan) or -fsanitize=thread (tsan) and
# runs its whole core test suite (ctest minus the ecosystem/system/bench/source labels), the
# many-threads-faulting test and the fresh-process death and chaining tests included.
# COMPILER defaults to g++ (its sanitizer runtimes come with GCC itself); with clang++ the
# runtime is Debian's libclang-rt-<version>-dev, installed when missing.
#
# The runtime options below, and why each is needed, are documented in
# docs/troubleshooting.md ("Sanitizers"). In short: mcsafe's handler chains to the handler
# that was there before it, so with the sanitizers' own SIGBUS/SIGSEGV handlers in place a
# fault OUTSIDE mcsafe's routines would be reported by the sanitizer (exit 1) instead of
# killing the process with SIGBUS, which the death tests check; handle_segv=0 and
# handle_sigbus=0 leave those signals to the program, as in a build without sanitizers.
source "$(dirname "$0")/lib.sh"
src=$(cd "${1:?source dir}" && pwd)
work=${2:?work dir}
kind=${3:?asan or tsan}
cxx=${4:-g++}
ECO_NAME="sanitizers $kind"
command -v cmake >/dev/null || skip "cmake not found"
command -v "$cxx" >/dev/null || skip "compiler $cxx not found"
mkdir -p "$work"

case $kind in
  asan)
    san="-fsanitize=address,undefined -fno-sanitize-recover=all"
    export ASAN_OPTIONS="${MCSAFE_ASAN_OPTIONS-handle_segv=0:handle_sigbus=0:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    ;;
  tsan)
    san="-fsanitize=thread"
    export TSAN_OPTIONS="${MCSAFE_TSAN_OPTIONS-handle_segv=0:handle_sigbus=0:halt_on_error=1:report_signal_unsafe=1:second_deadlock_stack=1}"
    ;;
  *) fail "unknown sanitizer '$kind' (asan or tsan)" ;;
esac

# Does this compiler have the runtime, and does a sanitized program start on this kernel?
printf 'int main() { return 0; }\n' >"$work/probe.cpp"
if ! "$cxx" $san -o "$work/probe" "$work/probe.cpp" >"$work/probe.log" 2>&1; then
  if [[ $cxx == clang* ]]; then
    v=$("$cxx" --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p')
    ensure_packages "libclang-rt-$v-dev" || true
  fi
  "$cxx" $san -o "$work/probe" "$work/probe.cpp" >"$work/probe.log" 2>&1 ||
    skip "$cxx cannot link $san: $(head -3 "$work/probe.log" | tr '\n' ' ')"
fi
# LeakSanitizer needs ptrace-like access to the process; some containers forbid it.
if [[ $kind == asan && $ASAN_OPTIONS == *detect_leaks=1* ]] && ! "$work/probe" >"$work/probe-run.log" 2>&1 &&
   grep -q "LeakSanitizer" "$work/probe-run.log"; then
  ASAN_OPTIONS=${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}
  say "LeakSanitizer cannot run here ($(grep -m1 LeakSanitizer "$work/probe-run.log")): detect_leaks=0"
fi
# TSan's runtime of GCC 12 / LLVM 14 refuses the high-entropy mmap layout of recent kernels
# (vm.mmap_rnd_bits = 32: "unexpected memory mapping"); run without ASLR then.
runner=()
if ! "$work/probe" >"$work/probe-run.log" 2>&1; then
  if command -v setarch >/dev/null && setarch "$(uname -m)" -R "$work/probe" >/dev/null 2>&1; then
    runner=(setarch "$(uname -m)" -R)
    say "the sanitized probe fails with ASLR on this kernel ($(head -1 "$work/probe-run.log")); tests run under setarch -R"
  else
    skip "a $kind program cannot start here: $(head -2 "$work/probe-run.log" | tr '\n' ' ')"
  fi
fi
say "compiler: $("$cxx" --version | head -1); $san; ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS }${TSAN_OPTIONS:+TSAN_OPTIONS=$TSAN_OPTIONS}"

# -g1: line tables for the reports' stack traces, without the rest of the debug information
# (a third of the compile time of the largest test unit under GCC's ASan).
flags="-O1 -g1 -fno-omit-frame-pointer $san"
# GCC documents that -fsanitize=address can give false -Wmaybe-uninitialized warnings; with
# GCC 12 they come from libstdc++'s <regex> (used by Catch2), and the tests build with -Werror.
[[ $cxx == g++* ]] && flags+=" -Wno-maybe-uninitialized"
if ((${#runner[@]})); then
  # ctest itself runs under setarch, so every test process inherits the personality.
  ctest_bin=$(type -P ctest)
  ctest() { "${runner[@]}" "$ctest_bin" "$@"; }
fi
# The system tests' guest binaries link -static, which the sanitizer runtimes refuse: subbuild
# leaves them out (MCSAFE_BUILD_SYSTEM_TESTS=OFF); they run under QEMU and Bochs in the main build.
subbuild "$src" "$work/build" "$cxx $kind" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$(c_compiler_for "$cxx")" \
  -DCMAKE_BUILD_TYPE= \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$san" -DCMAKE_SHARED_LINKER_FLAGS="$san" \
  -DCMAKE_MODULE_LINKER_FLAGS="$san"
# A sanitizer report in a test that still exited 0 (e.g. from a forked child) must not pass.
if grep -nE "ERROR: (AddressSanitizer|ThreadSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:" \
     "$work/build.ctest.log" | head -20; then
  fail "a sanitizer reported a problem (see $work/build.ctest.log)"
fi
say "PASS: the core test suite under $kind, no sanitizer report"
