#!/usr/bin/env python3
"""Writes (or with --check, verifies) the README's supported-op and dtype tables between the
<!-- ops:begin --> and <!-- ops:end --> markers from `mtcc ops --markdown`, and (with --ops-doc)
docs/ops.md's per-op opset versions between the same markers from `mtcc ops --markdown
--versions`, so both lists come from the op registry and cannot drift from what mtcc supports."""
import argparse
import os
import subprocess
import sys

BEGIN, END = "<!-- ops:begin -->", "<!-- ops:end -->"


def update(path, table, check):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        print(f"{path}: the {BEGIN} / {END} markers are missing", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    wanted = head + BEGIN + "\n" + table + END + tail
    if check:
        if current.strip() != table.strip():
            print(f"{path}: the op table differs from `mtcc ops`; run scripts/update_readme_ops.py "
                  "--mtcc build/mtcc --readme README.md --ops-doc docs/ops.md", file=sys.stderr)
            return 1
        print(f"{path}: op table up to date")
        return 0
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(wanted)
    os.replace(path + ".tmp", path)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--readme", required=True)
    ap.add_argument("--ops-doc", help="docs/ops.md: the per-op opset versions")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    run = lambda *args: subprocess.run([a.mtcc, "ops", *args], check=True, capture_output=True,
                                       text=True).stdout
    rc = update(a.readme, run("--markdown"), a.check)
    if a.ops_doc:
        rc |= update(a.ops_doc, run("--markdown", "--versions"), a.check)
    return rc


if __name__ == "__main__":
    sys.exit(main())
