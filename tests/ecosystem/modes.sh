#!/usr/bin/env bash
# modes.sh SOURCE_DIR WORK_DIR COMPILER [MODE...]
# Builds the whole project (tests, two-DSO test, header-alone TUs, examples) with COMPILER in
# each mode and runs its core tests: -O0, -O2, and -O2 -flto -fno-exceptions -fno-rtti (one
# build for the three properties: each changes different things, and each is still built and
# tested), all with -Wall -Wextra -Wsign-conversion -Wconversion -Wshadow -Werror (the tests add
# -Wpedantic). MODE... names a subset (O0 O2 O2-lto-noexc-nortti): the compiler of the main build
# leaves out O2, which that build already is (its -O2 warnings come from the LTO mode's compiles).
# Then compiles every public header alone with a bare compiler command and the same warnings.
# COMPILER is a C++ compiler command (g++, clang++-14, clang++-16, ...); a clang that is not
# installed is installed from Debian when apt has it, else the check is skipped with the reason.
source "$(dirname "$0")/lib.sh"
src=$(cd "${1:?source dir}" && pwd)
work=${2:?work dir}
cxx=${3:?compiler}
ECO_NAME="modes $cxx"

if ! command -v "$cxx" >/dev/null; then
  pkg=""
  case $cxx in
    clang++-*) pkg=clang-${cxx#clang++-} ;;
    g++-*) pkg=$cxx ;;
  esac
  [[ -n $pkg ]] && apt_has "$pkg" || skip "$cxx is not installed and Debian's apt has no ${pkg:-package for it}"
  ensure_packages "$pkg" || skip "$cxx is not installed and could not be installed ($pkg)"
  command -v "$cxx" >/dev/null || skip "$pkg installed but $cxx not found"
fi
command -v cmake >/dev/null || skip "cmake not found"
say "compiler: $("$cxx" --version | head -1)"
mkdir -p "$work"

declare -A modes=(
  [O0]="-O0"
  [O2]="-O2"
  [O2-lto-noexc-nortti]="-O2 -flto -fno-exceptions -fno-rtti"
)
warnings="-Wall -Wextra -Wsign-conversion -Wconversion -Wshadow -Werror"
shift 3
[[ $# -gt 0 ]] && run_modes=("$@") || run_modes=(O0 O2 O2-lto-noexc-nortti)
for m in "${run_modes[@]}"; do
  [[ -n ${modes[$m]:-} ]] || fail "unknown mode $m (O0, O2, O2-lto-noexc-nortti)"
  flags="${modes[$m]} $warnings"
  extra=()
  # LTO objects in a static archive (libmcsafe.a, src/CMakeLists.txt) need the compiler's own
  # archiver: gcc-ar for GCC, llvm-ar of the same version for clang (an older one cannot read
  # newer bitcode).
  if [[ $m == O2-lto* ]]; then
    case $cxx in
      g++*) tools=("gcc-ar${cxx#g++}" "gcc-ranlib${cxx#g++}") ;;
      clang++*) tools=("llvm-ar${cxx#clang++}" "llvm-ranlib${cxx#clang++}") ;;
      *) tools=() ;;
    esac
    if ((${#tools[@]})); then
      command -v "${tools[0]}" >/dev/null || [[ $cxx != clang++-* ]] || ensure_packages "llvm-${cxx#clang++-}" || true
      command -v "${tools[0]}" >/dev/null || fail "${tools[0]} not found: $cxx cannot archive its LTO objects"
      extra+=(-DCMAKE_AR="$(command -v "${tools[0]}")" -DCMAKE_RANLIB="$(command -v "${tools[1]}")")
    fi
  fi
  subbuild "$src" "$work/$m" "$cxx $flags" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$(c_compiler_for "$cxx")" \
    -DCMAKE_BUILD_TYPE= \
    -DCMAKE_CXX_FLAGS="$flags" "${extra[@]}"
done

# Each public header alone, twice (include guards), with a bare command and -Wpedantic.
n=0
for h in "$src"/include/mcsafe/*.hpp; do
  name=$(basename "$h")
  printf '#include <mcsafe/%s>\n#include <mcsafe/%s>\n' "$name" "$name" >"$work/alone.cpp"
  # shellcheck disable=SC2086
  if ! "$cxx" -std=c++20 -fsyntax-only $warnings -Wpedantic -I"$src/include" "$work/alone.cpp" \
       >"$work/alone.log" 2>&1; then
    sed 's/^/    /' "$work/alone.log" | head -40
    fail "mcsafe/$name does not compile alone with $cxx"
  fi
  n=$((n + 1))
done
say "each of the $n public headers compiles alone with $cxx $warnings -Wpedantic"
say "PASS: $cxx in ${#run_modes[@]} modes (${run_modes[*]})"
