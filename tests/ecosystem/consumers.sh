#!/usr/bin/env bash
# consumers.sh SOURCE_DIR WORK_DIR
# Installs mcsafe into a temporary prefix and builds and runs a tiny consumer four ways:
# find_package(mcsafe), add_subdirectory, pkg-config --cflags, and a plain copy of include/
# with a bare compiler command. Each consumer copies across a truncated file's end and checks
# the exact result (consumers/consumer.cpp). Also checks the version file (SameMajorVersion).
source "$(dirname "$0")/lib.sh"
src=$(cd "${1:?source dir}" && pwd)
work=${2:?work dir}
here=$(cd "$(dirname "$0")" && pwd)
CXX=${CXX:-c++}
command -v cmake >/dev/null || skip "cmake not found"
command -v "$CXX" >/dev/null || skip "compiler $CXX not found"

rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
export CXX

# The install: a configure of mcsafe alone (nothing to build) and cmake --install.
run_logged "$work/install.log" cmake -S "$src" -B "$work/mcsafe-build" -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DMCSAFE_BUILD_TESTS=OFF -DMCSAFE_BUILD_EXAMPLES=OFF -DMCSAFE_BUILD_BENCHMARKS=OFF
run_logged "$work/install2.log" cmake --install "$work/mcsafe-build"
for f in include/mcsafe/mcsafe.hpp share/cmake/mcsafe/mcsafeConfig.cmake \
         share/cmake/mcsafe/mcsafeConfigVersion.cmake share/cmake/mcsafe/mcsafeTargets.cmake \
         share/pkgconfig/mcsafe.pc; do
  [[ -f $prefix/$f ]] || fail "the install has no $f"
done
say "installed $(find "$prefix/include" -name '*.hpp' | wc -l) headers, the CMake package and mcsafe.pc into $prefix"

passed=()
# 1. find_package against the prefix.
run_logged "$work/fp.log" cmake -S "$here/consumers/find_package" -B "$work/find_package" -DCMAKE_PREFIX_PATH="$prefix"
run_logged "$work/fp-build.log" cmake --build "$work/find_package" -j"$JOBS"
"$work/find_package/consumer" find_package || fail "find_package consumer"
passed+=(find_package)
# The version file: 0.x satisfies 0.1; a request for major 1 must be refused (SameMajorVersion).
if cmake -S "$here/consumers/find_package" -B "$work/find_package_v1" -DCMAKE_PREFIX_PATH="$prefix" \
     -DMCSAFE_WANT_VERSION=1.0 >"$work/fp-v1.log" 2>&1; then
  fail "find_package(mcsafe 1.0) accepted version $(grep -o 'found mcsafe [^ ]*' "$work/fp-v1.log")"
fi
grep -q "requested version" "$work/fp-v1.log" || { cat "$work/fp-v1.log"; fail "find_package(mcsafe 1.0) failed for another reason"; }
say "find_package(mcsafe 1.0) refused by the version file, as SameMajorVersion says"

# 2. add_subdirectory of the source tree.
run_logged "$work/as.log" cmake -S "$here/consumers/add_subdirectory" -B "$work/add_subdirectory" -DMCSAFE_SOURCE_DIR="$src"
run_logged "$work/as-build.log" cmake --build "$work/add_subdirectory" -j"$JOBS"
"$work/add_subdirectory/consumer" add_subdirectory || fail "add_subdirectory consumer"
passed+=(add_subdirectory)

# 3. pkg-config --cflags with a bare compiler command.
if command -v pkg-config >/dev/null; then
  export PKG_CONFIG_PATH=$prefix/share/pkgconfig
  version=$(pkg-config --modversion mcsafe) || fail "pkg-config does not find mcsafe.pc"
  cflags=$(pkg-config --cflags mcsafe)
  say "pkg-config: mcsafe $version, --cflags $cflags"
  # shellcheck disable=SC2086
  run_logged "$work/pc.log" "$CXX" -std=c++20 -Wall -Wextra -Werror $cflags "$here/consumers/consumer.cpp" \
    -o "$work/pc-consumer" $(pkg-config --libs mcsafe)
  "$work/pc-consumer" pkg-config || fail "pkg-config consumer"
  passed+=(pkg-config)
else
  say "pkg-config not found: that consumer is not tested"
  pc_missing=1
fi

# 4. A plain copy of include/ into another tree, and nothing but the compiler.
mkdir -p "$work/vendored/third_party"
cp -r "$src/include" "$work/vendored/third_party/"
run_logged "$work/copy.log" "$CXX" -std=c++20 -I"$work/vendored/third_party/include" \
  "$here/consumers/consumer.cpp" -o "$work/copy-consumer"
"$work/copy-consumer" plain-copy || fail "plain-copy consumer"
passed+=(plain-copy)

say "consumers built and ran: ${passed[*]}"
[[ ${pc_missing:-0} == 1 ]] && skip "pkg-config not found (the other three passed)"
say "PASS: all four consumers"
