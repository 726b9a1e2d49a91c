#!/usr/bin/env python3
"""Writes (or with --check, verifies) the README's supported-op table between the
<!-- ops:begin --> and <!-- ops:end --> markers from `mtcc ops --markdown`, so the list comes
from the op registry and cannot drift from what mtcc supports."""
import argparse
import subprocess
import sys

BEGIN, END = "<!-- ops:begin -->", "<!-- ops:end -->"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--readme", required=True)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    table = subprocess.run([a.mtcc, "ops", "--markdown"], check=True, capture_output=True, text=True).stdout
    with open(a.readme, encoding="utf-8") as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        print(f"{a.readme}: the {BEGIN} / {END} markers are missing", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    wanted = head + BEGIN + "\n" + table + END + tail
    if a.check:
        if current.strip() != table.strip():
            print(f"{a.readme}: the op table differs from `mtcc ops --markdown`; "
                  "run scripts/update_readme_ops.py --mtcc build/mtcc --readme README.md", file=sys.stderr)
            return 1
        print("readme op table: up to date")
        return 0
    with open(a.readme, "w", encoding="utf-8") as f:
        f.write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
