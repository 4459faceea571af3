#!/usr/bin/env bash
# fuzz.sh SOURCE_DIR WORK_DIR TARGET [SECONDS]
# Builds fuzz/TARGET.cpp with clang -fsanitize=fuzzer,address,undefined and runs it for a
# bounded time (SECONDS, default 60, or MCSAFE_FUZZ_SECONDS) starting from the seed corpus in
# fuzz/corpus/TARGET/. Fails on any crash, leak, timeout or sanitizer report, printing the
# input that did it and the command that reproduces it; prints the number of executions.
# A target whose `// needs: <file>` lines name a file not in the tree yet is skipped.
source "$(dirname "$0")/lib.sh"
src=$(cd "${1:?source dir}" && pwd)
work=${2:?work dir}
target=${3:?target}
seconds=${MCSAFE_FUZZ_SECONDS:-${4:-60}}
ECO_NAME="fuzz $target"
fsrc=$src/fuzz/$target.cpp
[[ -f $fsrc ]] || fail "no fuzz target $fsrc"
while read -r need; do
  [[ -e $src/$need ]] || skip "$target needs $need, which is not in this tree"
done < <(sed -n 's|^// needs: *||p' "$fsrc")

cxx=""
for c in clang++ clang++-16 clang++-15 clang++-14; do
  command -v "$c" >/dev/null && { cxx=$c; break; }
done
[[ -n $cxx ]] || skip "no clang++ (libFuzzer needs clang)"
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$work/probe.cpp"
if ! "$cxx" $san "$work/probe.cpp" -o "$work/probe" >"$work/probe.log" 2>&1; then
  v=$("$cxx" --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p')
  ensure_packages "libclang-rt-$v-dev" || true
  "$cxx" $san "$work/probe.cpp" -o "$work/probe" >"$work/probe.log" 2>&1 ||
    skip "$cxx cannot link libFuzzer: $(head -2 "$work/probe.log" | tr '\n' ' ')"
fi
run_logged "$work/build.log" "$cxx" -std=c++20 -g -O1 $san -Wall -Wextra -Werror -I"$src/include" "$fsrc" -o "$work/$target"
seeds=$src/fuzz/corpus/$target
[[ -d $seeds ]] || fail "no seed corpus $seeds"
say "$("$cxx" --version | head -1): $target for $seconds s from $(find "$seeds" -type f | wc -l) seeds"
# The new inputs go to $work/corpus; the checked-in seeds are only read.
set +e
"$work/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" >"$work/run.log" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/run.log" | tail -1)
persec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/run.log" | tail -1)
if ((rc != 0)); then
  grep -E "ERROR|SUMMARY|runtime error|deadly|Test unit written|Base64" "$work/run.log" | head -20 | sed 's/^/    /'
  art=$(ls "$work/artifacts" 2>/dev/null | head -1)
  [[ -n $art ]] && say "reproduce: $work/$target $work/artifacts/$art"
  fail "$target crashed or failed after ${execs:-?} executions (exit $rc; log: $work/run.log)"
fi
[[ -n $execs && $execs -gt 0 ]] || fail "no executions recorded (log: $work/run.log)"
say "PASS: $target ran $seconds s, $execs executions ($persec/s), no crash; corpus now $(find "$work/corpus" -type f | wc -l) new inputs"
