#!/usr/bin/env bash
# consumers.sh SOURCE_DIR WORK_DIR
# Builds and runs a tiny consumer (consumers/consumer.cpp: it copies across a truncated file's
# end and checks the exact result) every way docs/consuming.md documents:
#   - tools/release makes the release archive from the checkout's HEAD (in a clone) and prints
#     its SHA-256; run twice, the same bytes;
#   - cmake --install on a machine without Catch2 and Google Benchmark (both disabled here);
#   - find_package(mcsafe) against that install (and the version file refuses major 1);
#   - add_subdirectory, with an exported target of the consumer's own that links mcsafe, then a
#     downstream find_package(consumer) against the consumer's install;
#   - pkg-config --cflags with a bare compiler command; a plain copy of include/, and -std=c++17
#     refused with mcsafe's #error;
#   - the C interface (consumers/consumer.c, C11): find_package(mcsafe-c) linking mcsafe::c and
#     mcsafe::c_static from a C-only project; pkg-config mcsafe-c, shared and --static, with each
#     C compiler here (cc, gcc, clang); mcsafe_c_dep from the Meson subproject below;
#   - FetchContent and CPM (CPMAddPackage) pinned to the archive by URL_HASH (a wrong hash must
#     be refused); a Meson subproject from a wrap pinned to the archive.
# CPM.cmake is not in Debian or npm and cannot be downloaded here: the CPM consumer runs when a
# CPM.cmake is at $MCSAFE_CPM_CMAKE or in $CPM_SOURCE_CACHE/cpm/, else it says "not tested".
# Finally each snippet in docs/consuming.md must be the one its consumer builds.
source "$(dirname "$0")/lib.sh"
src=$(cd "${1:?source dir}" && pwd)
work=${2:?work dir}
here=$(cd "$(dirname "$0")" && pwd)
CXX=${CXX:-c++}
command -v cmake >/dev/null || skip "cmake not found"
command -v "$CXX" >/dev/null || skip "compiler $CXX not found"

rm -rf "$work" && mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix
export CXX
passed=()
not_tested=()
# A tool a consumer needs is missing: fatal when the tests' dependencies are required (CI).
missing_tool() {
  [[ ${MCSAFE_REQUIRE_TEST_DEPS:-OFF} == ON ]] && fail "$1 (MCSAFE_REQUIRE_TEST_DEPS=ON)"
  say "not tested: $1"
  not_tested+=("$1")
}
# run_consumer NAME BINARY: the consumer must print OK and exit 0.
run_consumer() {
  "$2" "$1" || fail "$1 consumer"
  passed+=("$1")
}
version=$(sed -nE 's/^project\(mcsafe VERSION ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' "$src/CMakeLists.txt")

# The release archive: tools/release in a clone of HEAD (the source tree is left alone).
archive="" sha=""
if head=$(git -C "$src" rev-parse HEAD 2>/dev/null); then
  run_logged "$work/clone.log" git clone -q --no-checkout "$src" "$work/release-src"
  run_logged "$work/checkout.log" git -C "$work/release-src" checkout -q "$head"
  (cd "$work/release-src" && tools/release) >"$work/release.log" 2>&1 || { sed 's/^/    /' "$work/release.log"; fail "tools/release"; }
  archive=$work/release-src/$(sed -n 's/^archive: //p' "$work/release.log")
  sha=$(sed -n 's/^sha256: //p' "$work/release.log")
  [[ $(basename "$archive") == "mcsafe-$version.tar.gz" && -f $archive ]] || fail "tools/release made no mcsafe-$version.tar.gz"
  [[ $(sha256sum "$archive" | cut -d' ' -f1) == "$sha" ]] || fail "tools/release printed a SHA-256 that is not the archive's"
  (cd "$work/release-src" && tools/release) >"$work/release2.log" 2>&1 || fail "tools/release, second run"
  grep -qx "sha256: $sha" "$work/release2.log" || fail "tools/release is not reproducible: $(grep sha256 "$work/release2.log")"
  tar -tzf "$archive" >"$work/archive.list"
  for f in CMakeLists.txt meson.build LICENSE CHANGELOG.md cmake/mcsafeConfig.cmake.in include/mcsafe/mcsafe.hpp; do
    grep -qx "mcsafe-$version/$f" "$work/archive.list" || fail "the archive has no mcsafe-$version/$f"
  done
  say "tools/release: $(basename "$archive") of ${head:0:12}, sha256 $sha (the same on a second run)"
else
  say "$src is not a git checkout: no release archive, so FetchContent, CPM and Meson are not tested"
  not_tested+=("fetchcontent cpm meson (not a git checkout)")
fi

# The install, as docs/consuming.md shows it, on a machine without Catch2 or Google Benchmark: the
# tests and benchmarks are left out with a message, the install needs nothing else.
run_logged "$work/install.log" cmake -S "$src" -B "$work/mcsafe-build" -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON
grep -q "unit tests (mcsafe_tests) left out: Catch2" "$work/install.log" || fail "no message that the unit tests were left out"
grep -q "benchmarks (mcsafe_bench, bench.smoke) left out" "$work/install.log" || fail "no message that the benchmarks were left out"
run_logged "$work/install-build.log" cmake --build "$work/mcsafe-build" -j"$JOBS"  # bin/mcsafe-scan
run_logged "$work/install2.log" cmake --install "$work/mcsafe-build"
for f in include/mcsafe/mcsafe.hpp include/mcsafe/mcsafe.h share/cmake/mcsafe/mcsafeConfig.cmake \
         share/cmake/mcsafe/mcsafeConfigVersion.cmake share/cmake/mcsafe/mcsafeTargets.cmake \
         share/pkgconfig/mcsafe.pc bin/mcsafe-scan; do
  [[ -f $prefix/$f ]] || fail "the install has no $f"
done
say "installed without Catch2 and Google Benchmark: $(find "$prefix/include" -name '*.hpp' | wc -l) headers, the CMake package, mcsafe.pc and bin/mcsafe-scan"

# find_package against the prefix.
run_logged "$work/fp.log" cmake -S "$here/consumers/find_package" -B "$work/find_package" -DCMAKE_PREFIX_PATH="$prefix"
run_logged "$work/fp-build.log" cmake --build "$work/find_package" -j"$JOBS"
run_consumer find_package "$work/find_package/consumer"
# The version file: 0.x satisfies 0.1; a request for major 1 must be refused (SameMajorVersion).
mkdir -p "$work/find_package_v1"
printf 'cmake_minimum_required(VERSION 3.20)\nproject(v1 LANGUAGES CXX)\nfind_package(mcsafe 1.0 REQUIRED)\n' \
  >"$work/find_package_v1/CMakeLists.txt"
if cmake -S "$work/find_package_v1" -B "$work/find_package_v1/build" -DCMAKE_PREFIX_PATH="$prefix" \
     >"$work/fp-v1.log" 2>&1; then
  fail "find_package(mcsafe 1.0) accepted version $(grep -o 'found mcsafe [^ ]*' "$work/fp-v1.log")"
fi
grep -q "requested version" "$work/fp-v1.log" || { cat "$work/fp-v1.log"; fail "find_package(mcsafe 1.0) failed for another reason"; }
say "find_package(mcsafe 1.0) refused by the version file, as SameMajorVersion says"

# add_subdirectory, exporting a target that links mcsafe; then a project that uses that export.
run_logged "$work/as.log" cmake -S "$here/consumers/add_subdirectory" -B "$work/add_subdirectory" \
  -DMCSAFE_SOURCE_DIR="$src" -DCMAKE_INSTALL_PREFIX="$work/as-prefix"
run_logged "$work/as-build.log" cmake --build "$work/add_subdirectory" -j"$JOBS"
run_consumer add_subdirectory "$work/add_subdirectory/consumer"
run_logged "$work/as-install.log" cmake --install "$work/add_subdirectory"
run_logged "$work/asd.log" cmake -S "$here/consumers/add_subdirectory_downstream" -B "$work/as-downstream" \
  -DCMAKE_PREFIX_PATH="$work/as-prefix"
run_logged "$work/asd-build.log" cmake --build "$work/as-downstream" -j"$JOBS"
run_consumer add_subdirectory+export "$work/as-downstream/consumer"

# pkg-config --cflags with a bare compiler command.
if command -v pkg-config >/dev/null; then
  pc_version=$(PKG_CONFIG_PATH=$prefix/share/pkgconfig pkg-config --modversion mcsafe) || fail "pkg-config does not find mcsafe.pc"
  [[ $pc_version == "$version" ]] || fail "mcsafe.pc says $pc_version, CMakeLists.txt $version"
  cflags=$(PKG_CONFIG_PATH=$prefix/share/pkgconfig pkg-config --cflags mcsafe)
  say "pkg-config: mcsafe $pc_version, --cflags $cflags"
  # shellcheck disable=SC2086
  run_logged "$work/pc.log" "$CXX" -std=c++20 -Wall -Wextra -Werror $cflags "$here/consumers/consumer.cpp" \
    -o "$work/pc-consumer" $(PKG_CONFIG_PATH=$prefix/share/pkgconfig pkg-config --libs mcsafe)
  run_consumer pkg-config "$work/pc-consumer"
else
  missing_tool "pkg-config (pkg-config not found)"
fi

# The C interface: libmcsafe found with find_package(mcsafe-c) from a C-only project, and with
# pkg-config mcsafe-c by bare C compiler commands, linked shared and static.
run_logged "$work/fpc.log" cmake -S "$here/consumers/find_package_c" -B "$work/find_package_c" -DCMAKE_PREFIX_PATH="$prefix"
run_logged "$work/fpc-build.log" cmake --build "$work/find_package_c" -j"$JOBS"
run_consumer find_package-c "$work/find_package_c/consumer"
run_consumer find_package-c-static "$work/find_package_c/consumer_static"
if command -v pkg-config >/dev/null; then
  pc_c=$(find "$prefix" -name mcsafe-c.pc | head -1)
  [[ -n $pc_c ]] || fail "the install has no mcsafe-c.pc"
  export PKG_CONFIG_PATH=${pc_c%/*}
  libdir=$(pkg-config --variable=libdir mcsafe-c)
  [[ -f $libdir/libmcsafe.a && -L $libdir/libmcsafe.so.0 ]] || fail "mcsafe-c.pc's libdir $libdir has no libmcsafe.a and libmcsafe.so.0"
  compilers=()
  for cc in ${CC:-cc} gcc clang; do
    command -v "$cc" >/dev/null && [[ " ${compilers[*]} " != *" $cc "* ]] && compilers+=("$cc")
  done
  for cc in "${compilers[@]}"; do
    # shellcheck disable=SC2046
    run_logged "$work/pc-c-$cc.log" "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $(pkg-config --cflags mcsafe-c) \
      "$here/consumers/consumer.c" -o "$work/pc-c-$cc" $(pkg-config --libs mcsafe-c) -Wl,-rpath,"$libdir"
    run_consumer "pkg-config-c-$cc" "$work/pc-c-$cc"
    # The archive by name: -lmcsafe would take the shared object, which is beside it.
    # shellcheck disable=SC2046
    run_logged "$work/pc-c-static-$cc.log" "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $(pkg-config --cflags mcsafe-c) \
      "$here/consumers/consumer.c" -o "$work/pc-c-static-$cc" $(pkg-config --static --libs mcsafe-c | sed 's/-lmcsafe\b/-l:libmcsafe.a/')
    if command -v readelf >/dev/null && readelf -d "$work/pc-c-static-$cc" | grep -q 'libmcsafe\.so'; then
      fail "the static C consumer ($cc) needs libmcsafe.so"
    fi
    run_consumer "pkg-config-c-static-$cc" "$work/pc-c-static-$cc"
  done
  unset PKG_CONFIG_PATH
  say "C interface: find_package(mcsafe-c) shared and static; pkg-config mcsafe-c shared and static with ${compilers[*]}"
else
  missing_tool "pkg-config mcsafe-c (pkg-config not found)"
fi

# A plain copy of include/, and nothing but the compiler; below C++20, mcsafe's own #error.
mkdir -p "$work/vendored/third_party"
cp -r "$src/include" "$work/vendored/third_party/"
run_logged "$work/copy.log" "$CXX" -std=c++20 -I"$work/vendored/third_party/include" \
  "$here/consumers/consumer.cpp" -o "$work/copy-consumer"
run_consumer plain-copy "$work/copy-consumer"
if "$CXX" -std=c++17 -fsyntax-only -I"$work/vendored/third_party/include" "$here/consumers/consumer.cpp" \
     >"$work/cxx17.log" 2>&1; then
  fail "-std=c++17 compiled"
fi
first=$(grep -m1 "error" "$work/cxx17.log")
[[ $first == *"mcsafe needs C++20: compile with -std=c++20"* ]] || fail "-std=c++17: the first error is not mcsafe's: $first"
say "-std=c++17 refused, first error: ${first#*error: }"

if [[ -n $archive ]]; then
  # FetchContent pinned by URL_HASH; a wrong hash must stop the configure.
  run_logged "$work/fc.log" cmake -S "$here/consumers/fetchcontent" -B "$work/fetchcontent" \
    -DMCSAFE_ARCHIVE="$archive" -DMCSAFE_SHA256="$sha"
  run_logged "$work/fc-build.log" cmake --build "$work/fetchcontent" -j"$JOBS"
  run_consumer fetchcontent "$work/fetchcontent/consumer"
  wrong=$(printf '%s' "$sha" | tr '0-9a-f' '1-9a-f0')
  if cmake -S "$here/consumers/fetchcontent" -B "$work/fetchcontent-wrong" -DMCSAFE_ARCHIVE="$archive" \
       -DMCSAFE_SHA256="$wrong" >"$work/fc-wrong.log" 2>&1; then
    fail "FetchContent accepted the archive with a wrong SHA256"
  fi
  grep -qi "hash" "$work/fc-wrong.log" || { tail -20 "$work/fc-wrong.log"; fail "FetchContent with a wrong hash failed for another reason"; }
  say "FetchContent refused the archive with a wrong URL_HASH"

  # CPM, when a CPM.cmake is here.
  cpm=${MCSAFE_CPM_CMAKE:-}
  if [[ -z $cpm && -n ${CPM_SOURCE_CACHE:-} ]]; then
    cpm=$(find "$CPM_SOURCE_CACHE/cpm" -name 'CPM*.cmake' 2>/dev/null | sort | tail -1)
  fi
  if [[ -n $cpm && -f $cpm ]]; then
    run_logged "$work/cpm.log" env CPM_SOURCE_CACHE="$work/cpm-cache" cmake -S "$here/consumers/cpm" -B "$work/cpm" \
      -DCPM_CMAKE="$cpm" -DMCSAFE_ARCHIVE="$archive" -DMCSAFE_SHA256="$sha"
    compgen -G "$work/cpm-cache/mcsafe/*/CMakeLists.txt" >/dev/null || fail "CPM did not put mcsafe in CPM_SOURCE_CACHE"
    run_logged "$work/cpm-build.log" cmake --build "$work/cpm" -j"$JOBS"
    run_consumer cpm "$work/cpm/consumer"
    say "$(grep -m1 -o "CPM: Adding package mcsafe[^ ]*" "$work/cpm.log" || true) with $cpm"
  else
    say "not tested: cpm (no CPM.cmake: Debian and npm do not ship it and it cannot be downloaded here;" \
        "set MCSAFE_CPM_CMAKE=<path to CPM.cmake> to run it). CPMAddPackage with URL and URL_HASH hands both" \
        "to FetchContent, tested above."
    not_tested+=("cpm (no CPM.cmake)")
  fi

  # A Meson subproject from a wrap pinned to the archive. The archive sits in the package cache
  # (subprojects/packagecache/), where Meson takes it after checking source_hash: no download.
  if ! command -v meson >/dev/null || ! command -v ninja >/dev/null; then ensure_packages meson ninja-build || true; fi
  if command -v meson >/dev/null && command -v ninja >/dev/null; then
    m=$work/meson-consumer
    mkdir -p "$m/subprojects/packagecache"
    cp "$here/consumers/meson/meson.build" "$here/consumers/consumer.cpp" "$here/consumers/consumer.c" "$m/"
    cp "$archive" "$m/subprojects/packagecache/"
    sed -e "s|@VERSION@|$version|g" -e "s|@SHA256@|$sha|" -e "s|@URL@|file://$archive|" \
      "$here/consumers/meson/subprojects/mcsafe.wrap.in" >"$m/subprojects/mcsafe.wrap"
    run_logged "$work/meson.log" meson setup "$m/build" "$m"
    grep -q "Executing subproject mcsafe" "$work/meson.log" || fail "meson did not use the mcsafe subproject"
    run_logged "$work/meson-build.log" meson compile -C "$m/build"
    run_consumer meson-subproject "$m/build/consumer"
    run_consumer meson-subproject-c "$m/build/c_consumer"
    say "meson $(meson --version): subproject mcsafe $(sed -nE 's/.*Project version: ([0-9.]+).*/\1/p' "$work/meson.log" | tail -1) from the wrap"
  else
    missing_tool "meson subproject (meson or ninja not found)"
  fi
fi

# The snippets in docs/consuming.md are the consumers built above.
command -v python3 >/dev/null || skip "python3 not found: the docs' snippets were not compared (all consumers passed)"
python3 "$here/consumers/check_snippets.py" "$src/docs/consuming.md" "$src" || fail "docs/consuming.md differs from what is built"

say "consumers built and ran: ${passed[*]}"
((${#not_tested[@]} == 0)) || say "not tested: ${not_tested[*]}"
say "PASS: ${#passed[@]} consumers"
