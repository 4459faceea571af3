#!/usr/bin/env python3
"""Checks mcsafe-scan JSON reports against the schema in docs/mcsafe-scan.md.

usage: check_scan_report.py [--exit CODE] [--expect PYTHON] [FILE]

Each line of FILE (stdin without one) is one report: valid JSON, every key of the schema in
order, each value of its type (null where allowed), ranges sorted and disjoint, status naming
exit_code, error null exactly for exits 0 and 1. --exit: the exit code every report must carry.
--expect: a Python expression over the report `r` (and `os`) that must be true. Prints one line
per report checked; exits 1 with the reason on the first that fails.
"""
import argparse
import json
import os
import sys

STATUS = ["clean", "bad_ranges", "usage_error", "unsupported_target", "permission_denied", "file_shrank", "io_error"]
TOP = ["tool", "version", "exit_code", "status", "error", "file", "target", "size_bytes", "bad_bytes",
       "bad_ranges", "kernel_badblocks", "salvage", "repair"]
KERNEL = ["source", "partition", "error", "ranges"]
SALVAGE = ["output", "read_bytes", "holes"]
REPAIR = ["good_copy", "dry_run", "pages", "rewritten_bytes", "refused", "bad_bytes_after", "bad_ranges_after"]


def check_keys(obj, keys, where):
    assert isinstance(obj, dict) and list(obj) == keys, "%s: keys %s, want %s" % (where, list(obj), keys)


def check_count(v, where, nullable=True):
    assert (v is None and nullable) or (isinstance(v, int) and not isinstance(v, bool) and v >= 0), \
        "%s: %r is not a byte count%s" % (where, v, " or null" if nullable else "")


def check_text(v, where):
    assert v is None or isinstance(v, str), "%s: %r is not a string or null" % (where, v)


def check_ranges(v, where):
    if v is None:
        return
    assert isinstance(v, list), "%s: %r is not a list" % (where, v)
    end = -1
    for x in v:
        check_keys(x, ["offset_bytes", "length_bytes"], where)
        check_count(x["offset_bytes"], where, False)
        check_count(x["length_bytes"], where, False)
        assert x["length_bytes"] > 0 and x["offset_bytes"] > end, "%s: ranges not sorted and disjoint: %r" % (where, v)
        end = x["offset_bytes"] + x["length_bytes"]


def check(r):
    check_keys(r, TOP, "report")
    assert r["tool"] == "mcsafe-scan" and isinstance(r["version"], str), (r["tool"], r["version"])
    code = r["exit_code"]
    assert code in range(len(STATUS)) and r["status"] == STATUS[code], (code, r["status"])
    assert (r["error"] is None) == (code < 2), "error %r at exit %d" % (r["error"], code)
    check_text(r["error"], "error")
    check_text(r["file"], "file")
    assert r["target"] in (None, "regular_file", "block_pmem", "device_dax"), r["target"]
    check_count(r["size_bytes"], "size_bytes")
    check_count(r["bad_bytes"], "bad_bytes")
    check_ranges(r["bad_ranges"], "bad_ranges")
    assert (r["bad_bytes"] is None) == (r["bad_ranges"] is None), "bad_bytes and bad_ranges"
    if r["bad_ranges"] is not None:
        assert r["bad_bytes"] == sum(x["length_bytes"] for x in r["bad_ranges"]), "bad_bytes is not the ranges' sum"
    k = r["kernel_badblocks"]
    check_keys(k, KERNEL, "kernel_badblocks")
    for key in ("source", "partition", "error"):
        check_text(k[key], "kernel_badblocks." + key)
    check_ranges(k["ranges"], "kernel_badblocks.ranges")
    if r["salvage"] is not None:
        s = r["salvage"]
        check_keys(s, SALVAGE, "salvage")
        check_text(s["output"], "salvage.output")
        check_count(s["read_bytes"], "salvage.read_bytes")
        check_ranges(s["holes"], "salvage.holes")
    if r["repair"] is not None:
        p = r["repair"]
        check_keys(p, REPAIR, "repair")
        check_text(p["good_copy"], "repair.good_copy")
        assert isinstance(p["dry_run"], bool), p["dry_run"]
        for key in ("pages", "refused", "bad_ranges_after"):
            check_ranges(p[key], "repair." + key)
        for key in ("rewritten_bytes", "bad_bytes_after"):
            check_count(p[key], "repair." + key)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exit", type=int)
    ap.add_argument("--expect", default="True")
    ap.add_argument("file", nargs="?")
    a = ap.parse_args()
    data = open(a.file, "rb").read() if a.file else sys.stdin.buffer.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        print("FAIL no report")
        return 1
    for n, line in enumerate(lines, 1):
        try:
            r = json.loads(line)
            check(r)
            assert a.exit is None or r["exit_code"] == a.exit, "exit_code %r, want %d" % (r["exit_code"], a.exit)
            assert eval(a.expect, {"r": r, "os": os}), "not true: " + a.expect
        except Exception as e:  # any failure, the JSON parser's included, is a failed check
            print("FAIL report %d: %s: %s" % (n, e.__class__.__name__, e))
            print("  %s" % line[:600].decode("utf-8", "backslashreplace"))
            return 1
        print("PASS JSON report at exit %d parsed and checked against the schema" % r["exit_code"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
