#!/usr/bin/env bash
# mcsafe-scan end to end: exit codes, the JSON report, salvage, the built-in example.
set -u
# "$@" is the scanner command: the binary, preceded by the cross emulator when there is one.
scan=("$@")
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
fails=0
expect() {  # expect CODE DESCRIPTION -- command...
  local want=$1 what=$2; shift 3
  "$@" >"$t/out" 2>"$t/err"; local got=$?
  if [ "$got" = "$want" ]; then echo "PASS $what (exit $got)"; else echo "FAIL $what: exit $got, wanted $want"; cat "$t/err"; fails=$((fails+1)); fi
}
head -c 1000000 /dev/urandom >"$t/data"
expect 0 "built-in example" -- "${scan[@]}"
grep -q "exactly the pages past the cut" "$t/out" || { echo "FAIL built-in example output"; fails=$((fails+1)); }
expect 0 "healthy file" -- "${scan[@]}" "$t/data"
expect 0 "healthy file, json" -- "${scan[@]}" --json "$t/data"
python3 - "$t/out" <<'PY' || fails=$((fails+1))
import json, sys
r = json.load(open(sys.argv[1]))
assert r["size"] == 1000000 and r["bad_bytes"] == 0 and r["bad_ranges"] == [], r
assert r["kernel_badblocks"]["ranges"] == []
print("PASS json report parsed and checked")
PY
expect 0 "salvage" -- "${scan[@]}" --json --salvage "$t/copy" "$t/data"
cmp -s "$t/data" "$t/copy" && echo "PASS salvage copy equals the file" || { echo "FAIL salvage copy differs"; fails=$((fails+1)); }
expect 2 "missing file" -- "${scan[@]}" "$t/nope"
expect 3 "directory" -- "${scan[@]}" "$t"
expect 2 "bad option" -- "${scan[@]}" --frobnicate "$t/data"
if [ "$(id -u)" != 0 ]; then
  chmod 000 "$t/data"; expect 4 "no permission" -- "${scan[@]}" "$t/data"; chmod 600 "$t/data"
else
  echo "NOTE no-permission case not checkable as root (root reads any file)"
fi
echo "$fails failure(s)"
[ "$fails" = 0 ]
