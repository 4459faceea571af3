#!/usr/bin/env bash
# tidy.sh SOURCE_DIR WORK_DIR
# clang-tidy with the checked-in .clang-tidy over a translation unit that includes every
# public header (mcsafe.hpp and each header by name); any warning fails the check.
source "$(dirname "$0")/lib.sh"
src=$(cd "${1:?source dir}" && pwd)
work=${2:?work dir}
tidy=""
for t in clang-tidy clang-tidy-16 clang-tidy-15 clang-tidy-14; do
  command -v "$t" >/dev/null && { tidy=$t; break; }
done
if [[ -z $tidy ]]; then
  ensure_packages clang-tidy || skip "clang-tidy not installed and could not be installed (Debian clang-tidy)"
  tidy=clang-tidy
fi
[[ -f $src/.clang-tidy ]] || fail "no .clang-tidy in $src"
mkdir -p "$work"
{
  echo "#include <mcsafe/mcsafe.hpp>"
  for h in "$src"/include/mcsafe/*.hpp "$src"/include/mcsafe/*.h; do echo "#include <mcsafe/$(basename "$h")>"; done
} >"$work/tidy_tu.cpp"
say "$($tidy --version | grep -i version | head -1 | sed 's/^ *//') over $(grep -c include "$work/tidy_tu.cpp") includes"
# The config is found from the TU's directory upwards, so name it explicitly.
if ! "$tidy" --config-file="$src/.clang-tidy" "$work/tidy_tu.cpp" -- -std=c++20 -I"$src/include" \
     >"$work/tidy.log" 2>&1; then
  grep -E "warning:|error:" "$work/tidy.log" | head -40 | sed 's/^/    /'
  fail "clang-tidy reported $(grep -cE 'warning:|error:' "$work/tidy.log") problems (full log: $work/tidy.log)"
fi
if grep -qE "warning:|error:" "$work/tidy.log"; then
  grep -E "warning:|error:" "$work/tidy.log" | head -40 | sed 's/^/    /'
  fail "clang-tidy printed warnings"
fi
say "PASS: clang-tidy clean over every public header"
