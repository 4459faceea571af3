#!/usr/bin/env bash
# metadata.sh SOURCE_DIR - what a release and a vendored copy rely on, checked from the files:
#  - one version: CMakeLists.txt project(VERSION) = meson.build version = MCSAFE_VERSION_* in
#    include/mcsafe/detail/config.hpp and in the C header include/mcsafe/mcsafe.h = the top
#    "## X.Y.Z" entry of CHANGELOG.md
#    (the pkg-config file and the CMake version file are generated from project(VERSION));
#  - every header under include/ starts with the SPDX licence line, the copyright line and the
#    library's purpose, then its own "// mcsafe/<path> - ..." line;
#  - mcsafe.hpp includes every public header except cxl.hpp (docs/api.md says why).
# Also run by tools/release before it makes an archive.
set -euo pipefail
cd "${1:?source dir}"
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

cmake_v=$(sed -nE 's/^project\(mcsafe VERSION ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' CMakeLists.txt)
meson_v=$(sed -nE "s/^  version: '([^']*)',?$/\1/p" meson.build)
# header_version FILE: its MCSAFE_VERSION_MAJOR.MINOR.PATCH.
header_version() {
  for part in MAJOR MINOR PATCH; do
    sed -nE "s/^#define MCSAFE_VERSION_$part ([0-9]+)$/\1/p" "$1"
  done | paste -sd.
}
hdr_v=$(header_version include/mcsafe/detail/config.hpp)
c_v=$(header_version include/mcsafe/mcsafe.h)
log_v=$(sed -nE 's/^## ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' CHANGELOG.md | head -1)
[[ -n $cmake_v ]] || bad "no project(mcsafe VERSION x.y.z) in CMakeLists.txt"
for pair in "meson.build:$meson_v" "detail/config.hpp:$hdr_v" "mcsafe.h:$c_v" "CHANGELOG.md:$log_v"; do
  [[ ${pair#*:} == "$cmake_v" ]] || bad "${pair%%:*} says version '${pair#*:}', CMakeLists.txt says '$cmake_v'"
done
((fails)) || echo "version $cmake_v in CMakeLists.txt, meson.build, detail/config.hpp, mcsafe.h and CHANGELOG.md"

f0=$fails n=0
while IFS= read -r h; do
  rel=${h#include/}
  expected=$'// SPDX-License-Identifier: MIT\n// SPDX-FileCopyrightText: 2026 The mcsafe authors\n// mcsafe: machine-check-safe memory access for C++20 - copies that return on SIGBUS/SIGSEGV.'
  [[ $(head -3 "$h") == "$expected" ]] || bad "$h does not start with the SPDX, copyright and purpose lines"
  [[ $(sed -n 4p "$h") == "// $rel - "* ]] || bad "$h: line 4 is not its own '// $rel - ...' line"
  n=$((n + 1))
done < <(find include -name '*.hpp' -o -name '*.h' | sort)
((fails > f0)) || echo "$n headers start with the SPDX licence line, the copyright, the purpose and their own line"

f0=$fails
for h in include/mcsafe/*.hpp; do
  name=$(basename "$h")
  [[ $name == mcsafe.hpp || $name == cxl.hpp ]] && continue
  grep -qE "^#include \"$name\"( *//.*)?$" include/mcsafe/mcsafe.hpp || bad "mcsafe.hpp does not include $name"
done
grep -q '#include "cxl.hpp"' include/mcsafe/mcsafe.hpp && bad "mcsafe.hpp includes cxl.hpp; docs/api.md says it does not"
((fails > f0)) || echo "mcsafe.hpp includes every public header but cxl.hpp"

((fails == 0)) || { echo "$fails metadata check(s) failed"; exit 1; }
echo "PASS"
