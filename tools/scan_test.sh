#!/usr/bin/env bash
# mcsafe-scan end to end on the host: the command line, every exit code the host can produce
# (1 needs bad media: the QEMU guest checks it), the JSON report parsed at each of those exits,
# streaming salvage of a 3 GiB sparse file in bounded memory, progress, the demo.
set -u
# "$@" is the scanner command: the binary, preceded by the cross emulator when there is one.
scan=("$@")
[ -e "${scan[-1]}" ] && scan[-1]=$(realpath "${scan[-1]}")  # the binary, usable from another directory
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
fails=0
bad() { echo "FAIL $*"; fails=$((fails+1)); }
expect() {  # expect CODE DESCRIPTION -- command...
  local want=$1 what=$2; shift 3
  "$@" >"$t/out" 2>"$t/err"; local got=$?
  if [ "$got" = "$want" ]; then echo "PASS $what (exit $got)"; else bad "$what: exit $got, wanted $want"; cat "$t/err"; fi
}
# json_check CODE [PYTHON]: $t/out is one JSON report that check_scan_report.py accepts (the
# schema of docs/mcsafe-scan.md) with exit_code CODE; PYTHON, if given, asserts more about it (r).
json_check() {
  python3 "$here/check_scan_report.py" --exit "$1" --expect "${2:-True}" "$t/out" || bad "JSON report at exit $1"
}

head -c 1000000 /dev/urandom >"$t/data"
# The checker itself refuses what the old tool printed: no unit in the keys, a raw quote.
for broken in '{"file": "a"b", "size": 1}' '{"tool": "mcsafe-scan", "version": "0.1.0", "exit_code": 0}'; do
  printf '%s\n' "$broken" | python3 "$here/check_scan_report.py" >/dev/null && bad "the JSON checker accepted $broken"
done

# --- the command line ---------------------------------------------------------------------
expect 2 "no arguments: usage on stderr" -- "${scan[@]}"
grep -q "^usage: mcsafe-scan" "$t/err" && [ ! -s "$t/out" ] || bad "no arguments: usage not on stderr alone"
expect 0 "--help" -- "${scan[@]}" --help
grep -q "^usage: mcsafe-scan" "$t/out" || bad "--help: no usage on stdout"
# The README's tool section shows the option lines --help prints, the same lines both ways, and
# a row for each exit code --help lists.
sed -n '/^mcsafe-scan \[OPTION\]/,/^```/p' "$here/../README.md" | grep -E '^  (-[a-zA-Z],|    --)' | sort >"$t/readme-options"
grep -E '^  (-[a-zA-Z],|    --)' "$t/out" | sort >"$t/help-options"
[ -s "$t/help-options" ] && diff "$t/readme-options" "$t/help-options" >/dev/null ||
  bad "README's option lines differ from --help: $(diff "$t/readme-options" "$t/help-options" | head -5)"
for code in 0 1 2 3 4 5 6 7; do
  sed -n '/^exit:/,$p' "$t/out" | grep -q " $code [a-z]" || bad "--help lists no exit $code"
  grep -q "^| $code | " "$here/../README.md" || bad "README's exit table has no row $code"
done
# The exit-code table names every status; the schema page and the report checker list each one
# (the checker all but report_failed, exit 7, which has no report).
for status in $(sed -n 's/^  X(exit_[a-z]*, "\([a-z_]*\)".*/\1/p' "$here/mcsafe-scan/exit_codes.hpp"); do
  grep -q "\`$status\`" "$here/../docs/mcsafe-scan.md" || bad "docs/mcsafe-scan.md does not name the status $status"
  [ "$status" = report_failed ] || grep -q "\"$status\"" "$here/check_scan_report.py" || bad "check_scan_report.py lacks $status"
done
expect 0 "--version" -- "${scan[@]}" --version
v=$(sed -n 's/^#define MCSAFE_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' "$here/../include/mcsafe/detail/config.hpp" | paste -sd.)
grep -qx "mcsafe-scan $v (mcsafe $v)" "$t/out" || bad "--version says '$(cat "$t/out")', config.hpp says $v"
expect 0 "--demo" -- "${scan[@]}" --demo
grep -q "exactly the pages past the cut" "$t/out" || bad "--demo output"
expect 2 "unknown option" -- "${scan[@]}" --frobnicate "$t/data"
grep -q "unknown option --frobnicate" "$t/err" || bad "unknown option not named: $(cat "$t/err")"
expect 2 "unknown short option" -- "${scan[@]}" -x "$t/data"
grep -q "unknown option -x" "$t/err" || bad "unknown short option not named: $(cat "$t/err")"
expect 2 "unknown option, --json" -- "${scan[@]}" --frobnicate=1 --json "$t/data"
json_check 2 '"--frobnicate" in r["error"]'
expect 2 "option without its value" -- "${scan[@]}" "$t/data" --salvage
grep -q "option --salvage needs a value" "$t/err" || bad "missing value: $(cat "$t/err")"
expect 2 "two files" -- "${scan[@]}" "$t/data" "$t/data"
expect 2 "--dry-run alone" -- "${scan[@]}" --dry-run "$t/data"
cp "$t/data" "$t/-dash"
expect 0 "-- before a file named like an option" -- sh -c 'cd "$1" && shift && "$@" -- -dash' sh "$t" "${scan[@]}"

# --- clean files, --opt=value, -q, -v, --progress ----------------------------------------
expect 0 "healthy file" -- "${scan[@]}" "$t/data"
grep -q "1000000 bytes, 0 unreadable" "$t/out" || bad "healthy file report: $(cat "$t/out")"
[ ! -s "$t/err" ] || bad "stderr not a terminal, no --progress, yet: $(cat "$t/err")"
expect 0 "healthy file, json" -- "${scan[@]}" --json "$t/data"
json_check 0 'r["size_bytes"] == 1000000 and r["bad_bytes"] == 0 and r["bad_ranges"] == [] and r["target"] == "regular_file" and r["kernel_badblocks"]["source"] is None'
expect 0 "-q" -- "${scan[@]}" -q "$t/data"
[ ! -s "$t/out" ] && [ ! -s "$t/err" ] || bad "-q printed something"
expect 0 "-v" -- "${scan[@]}" -v --salvage "$t/copy-v" "$t/data"
grep -q "regular_file, 1000000 bytes" "$t/err" && grep -q "scanned in [0-9.]* s, 0 bytes unreadable" "$t/err" &&
  grep -q "salvaged in [0-9.]* s, 1000000 bytes read, 0 unreadable" "$t/err" || bad "-v: $(cat "$t/err")"
expect 0 "--progress to a file" -- "${scan[@]}" --progress "$t/data"
grep -q "scanned 0.95 / 0.95 MiB (100%), [0-9.]* MiB/s, ETA [0-9]* s" "$t/err" || bad "--progress: $(cat "$t/err")"
if command -v script >/dev/null; then  # on a terminal, progress without asking, redrawn with \r
  script -qec "$(printf '%q ' "${scan[@]}" "$t/data")" /dev/null >"$t/tty" 2>&1
  grep -qa $'\rscanned 0.95 / 0.95 MiB (100%)' "$t/tty" && echo "PASS progress on a terminal" ||
    bad "no progress on a terminal: $(head -c 300 "$t/tty")"
else
  echo "NOTE terminal progress case not run: no script(1)"
fi
expect 0 "salvage (--salvage=OUT)" -- "${scan[@]}" --json --salvage="$t/copy" "$t/data"
json_check 0 'r["salvage"]["read_bytes"] == 1000000 and r["salvage"]["holes"] == []'
cmp -s "$t/data" "$t/copy" && echo "PASS salvage copy equals the file" || bad "salvage copy differs"
expect 0 "repair from a good copy of a clean file: nothing to do" -- "${scan[@]}" --json -r "$t/copy" "$t/data"
json_check 0 'r["repair"]["pages"] == [] and r["repair"]["rewritten_bytes"] == 0 and r["repair"]["dry_run"] is False'

# --- JSON strings: a file name with a quote, a backslash, a tab, a newline and a non-UTF-8 byte
name=$(printf 'we"ird\\ na\tme\nx\xff\xc3\xa9')
cp "$t/data" "$t/$name"
expect 0 "odd file name, json" -- "${scan[@]}" --json "$t/$name"
ODD_NAME="$t/$name" json_check 0 'os.fsencode(r["file"]) == os.fsencode(os.environ["ODD_NAME"])'

# --- refused targets and errors, each with its JSON ---------------------------------------
expect 2 "missing file" -- "${scan[@]}" --json "$t/nope"
json_check 2 '"no such file" in r["error"] and r["target"] is None and r["bad_ranges"] is None'
expect 3 "directory" -- "${scan[@]}" --json "$t"
json_check 3 '"directory" in r["error"]'
mkfifo "$t/fifo"
expect 3 "FIFO, refused without blocking" -- timeout 20 "${scan[@]}" --json "$t/fifo"
json_check 3 '"FIFO" in r["error"]'
expect 3 "character device that is not device DAX" -- "${scan[@]}" --json /dev/null
json_check 3 '"character device" in r["error"]'
expect 2 "salvage onto the file itself" -- "${scan[@]}" --json --salvage "$t/data" "$t/data"
json_check 2 '"FILE itself" in r["error"]'
cmp -s "$t/data" "$t/copy" || bad "salvage onto itself changed the file"
expect 2 "salvage into a FIFO, refused without blocking" -- timeout 20 "${scan[@]}" --salvage "$t/fifo" "$t/data"
if [ -r /sys/kernel/uevent_seqnum ]; then  # sysfs attributes have a size and refuse mmap (ENODEV)
  expect 6 "a file that cannot be mapped" -- "${scan[@]}" --json /sys/kernel/uevent_seqnum
  json_check 6 'r["error"].endswith("mmap at 0: No such device")'
else
  echo "NOTE unmappable-file case not run: no /sys/kernel/uevent_seqnum"
fi
# A write error while salvaging, with its own errno: the file size limit (SIGXFSZ ignored). The
# first pwrite is cut short at the limit (the write loop goes on), the next fails with EFBIG.
expect 6 "salvage write error" -- bash -c 'trap "" XFSZ; ulimit -f 100; exec "$@"' sh "${scan[@]}" --json --salvage "$t/big-copy" "$t/data"
json_check 6 'r["error"].endswith("write at 102400: File too large") and r["salvage"]["read_bytes"] is None and r["bad_bytes"] == 0'

native=$([ ${#scan[@]} = 1 ] && echo yes || echo no)  # no emulator in front of the binary
if [ "$(id -u)" != 0 ]; then
  chmod 000 "$t/data"; expect 4 "no permission" -- "${scan[@]}" --json "$t/data"; chmod 600 "$t/data"
  json_check 4
elif [ "$native" = yes ] && command -v setpriv >/dev/null; then
  # Root reads any file: drop to an unprivileged uid, with a copy of the binary it can run.
  chmod 755 "$t"; cp "${scan[0]}" "$t/scan-copy"; chmod 755 "$t/scan-copy"; chmod 000 "$t/data"
  expect 4 "no permission (as uid 65534)" -- setpriv --reuid=65534 --regid=65534 --clear-groups "$t/scan-copy" --json "$t/data"
  json_check 4 '"permission denied" in r["error"]'
  chmod 600 "$t/data"
else
  echo "NOTE no-permission case not checkable here: root, and no setpriv or not a native binary"
fi
# --- real faults through the shim (tools/testing/scan_faults.cpp): a file that shrinks while
# it is scanned, a page that raises SIGBUS like a bad one, a writer appending during a repair.
if [ "$native" = yes ] && [ -n "${MCSAFE_SCAN_FAULTS_SHIM:-}" ]; then
  faulty() {  # faulty FILE VAR=VALUE... -- scanner arguments...: the scanner with the shim on FILE
    local file=$1; shift; local vars=(); while [ "$1" != -- ]; do vars+=("$1"); shift; done; shift
    env MCSAFE_FAULT_PATH="$file" "${vars[@]}" LD_PRELOAD="$MCSAFE_SCAN_FAULTS_SHIM" \
      ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "${scan[@]}" "$@"
  }
  # Truncated right after mcsafe-scan maps it: the scan runs into real SIGBUS past the new end,
  # and the tool must say the file shrank, not report bad media.
  head -c 1000000 /dev/urandom >"$t/shrinks"
  expect 5 "file shrank during the scan" -- faulty "$t/shrinks" MCSAFE_SHRINK_TO=300000 -- --json "$t/shrinks"
  grep -q "shrank during the scan, from 1000000 to 300000 bytes" "$t/err" || bad "shrink message: $(cat "$t/err")"
  json_check 5 'r["bad_ranges"] is None and "shrank" in r["error"]'

  # A bad page (real SIGBUS at 8192) in the partial last page of a 10,000-byte file: found, and
  # repaired from GOOD while another writer appends 20,000 bytes. The file keeps GOOD's bytes
  # and every appended byte: the repair never cuts what it did not write.
  head -c 10000 /dev/urandom >"$t/good10k"; cp "$t/good10k" "$t/bad10k"
  expect 1 "a bad page is found" -- faulty "$t/bad10k" MCSAFE_BAD_PAGE=8192 -- --json "$t/bad10k"
  json_check 1 'r["bad_ranges"] == [{"offset_bytes": 8192, "length_bytes": 1808}]'
  expect 0 "repair while the file grows" -- faulty "$t/bad10k" MCSAFE_BAD_PAGE=8192 MCSAFE_GROW_BY=20000 \
    MCSAFE_GROW_ON_READ_OF="$t/good10k" -- \
    --json --repair-from "$t/good10k" "$t/bad10k"
  json_check 0 'r["repair"]["pages"] == [{"offset_bytes": 8192, "length_bytes": 4096}] and r["repair"]["bad_bytes_after"] == 0'
  python3 - "$t/bad10k" "$t/good10k" <<'PY' || bad "repair while the file grows: the appended bytes were not kept"
import sys
data, good = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
grown = bytes((i * 7 + 1) & 0xff for i in range(20000))
assert len(data) == 30000 and data[:10000] == good and data[10000:] == grown, len(data)
print("PASS repair while the file grows: 30000 bytes, GOOD's 10000 then the 20000 appended")
PY
  # Without a writer: the padded last page leaves the size exactly as it was.
  cp "$t/good10k" "$t/bad10k"; head -c 1808 /dev/urandom | dd of="$t/bad10k" bs=1 seek=8192 conv=notrunc status=none
  expect 0 "repair of a partial last page" -- faulty "$t/bad10k" MCSAFE_BAD_PAGE=8192 -- --repair-from "$t/good10k" "$t/bad10k"
  cmp -s "$t/bad10k" "$t/good10k" && echo "PASS the partial last page repaired, the size kept" || bad "partial last page: $(stat -c %s "$t/bad10k") bytes"

  # OUT and GOOD are the same file (also through a hard link, also with a clean FILE): refused
  # before anything is written, GOOD untouched.
  cp "$t/good10k" "$t/keep"; ln "$t/keep" "$t/keep-link"; ln -s "$t/keep" "$t/keep-sym"
  for pair in "keep keep" "keep-link keep" "keep-sym keep"; do
    set -- $pair
    expect 2 "--salvage=$1 --repair-from=$2, bad FILE" -- faulty "$t/bad10k" MCSAFE_BAD_PAGE=8192 -- \
      --json --salvage="$t/$1" --repair-from="$t/$2" "$t/bad10k"
    json_check 2 '"is the good copy" in r["error"] and r["bad_ranges"] is None'
    cmp -s "$t/keep" "$t/good10k" || bad "--salvage=$1 --repair-from=$2 changed GOOD"
  done
  expect 2 "--salvage=GOOD --repair-from=GOOD, clean FILE" -- "${scan[@]}" --salvage="$t/keep" --repair-from="$t/keep-link" "$t/data"
  cmp -s "$t/keep" "$t/good10k" && echo "PASS GOOD untouched" || bad "a clean FILE's salvage overwrote GOOD"
  expect 2 "GOOD is FILE through a symbolic link" -- "${scan[@]}" --repair-from="$t/keep-sym" "$t/keep"
else
  echo "NOTE shim cases (shrink, bad page, growth during repair) not run: need the LD_PRELOAD shim and a native binary"
fi

# --- path errors are usage errors (exit 2), never the I/O-error exit ------------------------
expect 2 "a path through a file (ENOTDIR)" -- "${scan[@]}" --json "$t/data/x"
json_check 2 '"Not a directory" in r["error"]'
expect 2 "a name too long (ENAMETOOLONG)" -- "${scan[@]}" "$t/$(printf 'n%.0s' $(seq 300))"
ln -s "$t/loop-b" "$t/loop-a"; ln -s "$t/loop-a" "$t/loop-b"
expect 2 "a symbolic link loop (ELOOP)" -- "${scan[@]}" "$t/loop-a"
expect 2 "OUT through a file (ENOTDIR)" -- "${scan[@]}" --salvage "$t/data/out" "$t/data"
expect 2 "GOOD a symbolic link loop" -- "${scan[@]}" --repair-from "$t/loop-a" "$t/data"

# --- a report that cannot be written is an error exit, at every kind of exit ---------------
if [ -w /dev/full ]; then
  expect 7 "report to a full device" -- sh -c '"$@" >/dev/full' sh "${scan[@]}" --json "$t/data"
  grep -q "could not be written to stdout: No space left on device (the run's own exit would have been 0)" "$t/err" ||
    bad "full device message: $(cat "$t/err")"
  expect 7 "text report to a full device" -- sh -c '"$@" >/dev/full' sh "${scan[@]}" "$t/data"
  expect 7 "usage error's JSON to a full device" -- sh -c '"$@" >/dev/full' sh "${scan[@]}" --json --frobnicate "$t/data"
  expect 7 "--help to a full device" -- sh -c '"$@" >/dev/full' sh "${scan[@]}" --help
  expect 0 "-q to a full device: nothing to write" -- sh -c '"$@" >/dev/full' sh "${scan[@]}" -q "$t/data"
else
  echo "NOTE full-device cases not run: no writable /dev/full"
fi

# --- streaming salvage: a 3 GiB sparse file, bounded memory, sparse and exact output -------
# Data at the start, in the middle (with a zero run inside it), and a partial last page.
truncate -s 3G "$t/sparse"
head -c 1048576 /dev/urandom | dd of="$t/sparse" bs=1M seek=0 conv=notrunc status=none
{ head -c 65536 /dev/urandom; head -c 131072 /dev/zero; head -c 65536 /dev/urandom; } |
  dd of="$t/sparse" bs=1M seek=1536 conv=notrunc status=none
printf 'the end' | dd of="$t/sparse" bs=1 seek=$((3 * 1024 * 1024 * 1024 - 7)) conv=notrunc status=none
python3 - "$t/sparse" "$t/sparse-copy" "${scan[@]}" --json --salvage "$t/sparse-copy" "$t/sparse" <<'PY' || bad "3 GiB sparse salvage"
import json, os, resource, subprocess, sys
src, out, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
p = subprocess.run(cmd, stdout=subprocess.PIPE)
rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
r = json.loads(p.stdout)
assert p.returncode == 0 and r["salvage"]["holes"] == [], (p.returncode, r)
def data_segments(path):  # (begin, end) of every data range, through SEEK_DATA/SEEK_HOLE
    fd, segs, at = os.open(path, os.O_RDONLY), [], 0
    size = os.fstat(fd).st_size
    while at < size:
        try:
            b = os.lseek(fd, at, os.SEEK_DATA)
        except OSError:
            break
        e = os.lseek(fd, b, os.SEEK_HOLE)
        segs.append((b, e))
        at = e
    os.close(fd)
    return segs
# Exact: same size; the copy has data only where the source has (elsewhere both read zeros);
# and the bytes of every source data range are equal.
assert os.path.getsize(out) == os.path.getsize(src) == 3 << 30
src_segs, out_segs = data_segments(src), data_segments(out)
assert all(any(b <= ob and oe <= e for b, e in src_segs) for ob, oe in out_segs), (src_segs, out_segs)
with open(src, "rb") as a, open(out, "rb") as b:
    for s, e in src_segs:
        a.seek(s); b.seek(s)
        assert a.read(e - s) == b.read(e - s), "bytes differ in [%d, %d)" % (s, e)
blocks_kib = os.stat(out).st_blocks / 2
assert rss_mib < 512, "max RSS %.0f MiB" % rss_mib
assert blocks_kib < 8 * 1024, "output not sparse: %d KiB allocated" % blocks_kib
print("PASS 3 GiB sparse file salvaged exactly: max RSS %.1f MiB, output %d KiB allocated, %d data range(s) in, %d out"
      % (rss_mib, blocks_kib, len(src_segs), len(out_segs)))
PY

echo "$fails failure(s)"
[ "$fails" = 0 ]
