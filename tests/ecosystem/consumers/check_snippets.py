#!/usr/bin/env python3
"""check_snippets.py DOC SOURCE_DIR: every code block in DOC that follows a line
<!-- snippet: PATH --> must be what PATH (relative to SOURCE_DIR) says: each of its non-blank
lines, stripped, appears in PATH in the same order. Used by consumers.sh, so the snippets in
docs/consuming.md are the ones the consumer tests build."""
import re
import sys

doc_path, src = sys.argv[1], sys.argv[2]
lines = open(doc_path, encoding="utf-8").read().split("\n")
checked, failed = 0, 0
i = 0
while i < len(lines):
    m = re.fullmatch(r"<!-- snippet: (\S+) -->", lines[i].strip())
    i += 1
    if not m:
        continue
    while i < len(lines) and not lines[i].startswith("```"):
        i += 1
    i += 1
    block = []
    while i < len(lines) and not lines[i].startswith("```"):
        if lines[i].strip():
            block.append(lines[i].strip())
        i += 1
    target = [l.strip() for l in open(f"{src}/{m.group(1)}", encoding="utf-8").read().split("\n")]
    at = 0
    for want in block:
        try:
            at = target.index(want, at) + 1
        except ValueError:
            print(f"{doc_path}: the snippet for {m.group(1)} has a line that file lacks (in this order): {want}")
            failed += 1
            break
    checked += 1
if checked == 0:
    print(f"{doc_path}: no <!-- snippet: PATH --> blocks found")
    sys.exit(1)
name = doc_path.split("/")[-1]
if failed:
    print(f"[consumers] {failed} of {checked} snippets in {name} differ from the files the consumers build")
else:
    print(f"[consumers] the {checked} snippets in {name} match the files the consumers build")
sys.exit(1 if failed else 0)
