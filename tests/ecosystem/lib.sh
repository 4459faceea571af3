# Shared by the tests/ecosystem/*.sh checks (sourced, not run).
# Each check is a CTest test: exit 0 pass, 1 fail, 77 skip (SKIP_RETURN_CODE), always with a
# line saying why. A tool that cannot be had is a SKIP with the reason, never a silent pass.
set -euo pipefail

ECO_NAME=${ECO_NAME:-$(basename "$0" .sh)}
JOBS=${MCSAFE_JOBS:-2}

say() { printf '[%s] %s\n' "$ECO_NAME" "$*"; }
skip() { say "SKIP: $*"; exit 77; }
fail() { say "FAIL: $*"; exit 1; }

# Runs a command, printing it first; its output goes to a log that is shown only on failure.
run_logged() {
  local log=$1; shift
  say "\$ $*"
  if ! "$@" >"$log" 2>&1; then
    tail -n 60 "$log" | sed 's/^/    /'
    fail "command failed (full log: $log)"
  fi
}

# apt-get install the named packages when they are missing and we may (root, apt present,
# not disabled with MCSAFE_NO_APT=1). Returns non-zero when something is still missing.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ ${MCSAFE_NO_APT:-0} == 1 ]] || ! command -v apt-get >/dev/null; then
    say "missing packages: ${missing[*]} (apt-get not available or MCSAFE_NO_APT=1)"
    return 1
  fi
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || { say "missing packages: ${missing[*]} (not root)"; return 1; }
    sudo="sudo -n"
  fi
  say "installing: ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
      { say "apt-get install ${missing[*]} failed"; return 1; }
  fi
}

# True when apt knows a package (so a newer compiler can be tried where Debian has it).
apt_has() { apt-cache show "$1" >/dev/null 2>&1; }

# c_compiler_for CXX: the C compiler of the same family and version (clang++-16 -> clang-16,
# g++-12 -> gcc-12), for the C tests of libmcsafe (tests/capi), which must link a library built
# by CXX (the same sanitizer runtime, the same LTO plugin).
c_compiler_for() {
  case $1 in
    *clang++*) echo "${1/clang++/clang}" ;;
    *g++*) echo "${1/g++/gcc}" ;;
    *) echo cc ;;
  esac
}

# subbuild SRC DIR LABEL [cmake args...]   (= subbuild_build, then subbuild_test DIR LABEL)
# Configures the project in DIR (benchmarks, install rules off), builds everything with
# -j$JOBS, and runs its own ctest minus the ecosystem/system/bench labels and the checks of the
# source tree (label source: the same in every build). Prints one line per step and the ctest
# summary; on a failure shows the log tail and fails the check.
subbuild() {
  subbuild_build "$@"
  subbuild_test "$2" "$3"
}
subbuild_build() {
  local s=$1 dir=$2 label=$3; shift 3
  local t0=$SECONDS
  rm -rf "$dir"
  # The real-kernel system tests (static binaries, QEMU, Bochs) run in the main build only.
  run_logged "$dir.configure.log" cmake -S "$s" -B "$dir" -DMCSAFE_BUILD_BENCHMARKS=OFF -DMCSAFE_INSTALL=OFF \
    -DMCSAFE_BUILD_SYSTEM_TESTS=OFF \
    -DMCSAFE_REQUIRE_TEST_DEPS="${MCSAFE_REQUIRE_TEST_DEPS:-OFF}" "$@"
  run_logged "$dir.build.log" cmake --build "$dir" -j"$JOBS"
  SUBBUILD_T1=$SECONDS
  SUBBUILD_T0=$t0
}

# subbuild_test DIR LABEL [ctest args...]: the second half of subbuild.
subbuild_test() {
  local dir=$1 label=$2; shift 2
  local t0=$SUBBUILD_T0 t1=$SUBBUILD_T1
  say "\$ ctest --test-dir $dir -LE 'ecosystem|system|bench|source' -j$JOBS $*"
  if ! ctest --test-dir "$dir" -LE 'ecosystem|system|bench|source' -j"$JOBS" --output-on-failure "$@" \
       >"$dir.ctest.log" 2>&1; then
    grep -E "^\s*[0-9]+/[0-9]+ Test|Failed|\*\*\*" "$dir.ctest.log" | grep -v " Passed " | head -40 | sed 's/^/    /'
    tail -n 80 "$dir.ctest.log" | sed 's/^/    /'
    fail "$label: tests failed (full log: $dir.ctest.log)"
  fi
  local summary
  summary=$(grep -E "tests passed|tests failed" "$dir.ctest.log" | tail -1 || true)
  grep -q "No tests were found" "$dir.ctest.log" && fail "$label: ctest found no tests"
  say "$label: ${summary} (build $((t1 - t0)) s, tests $((SECONDS - t1)) s)"
}
