#!/usr/bin/env python3
"""Runs `mtcc conformance` over ONNX backend test folders, echoes its report, and fails unless it
exits 0 (no failed case) and at least --min-pass cases passed."""
import argparse
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--min-pass", type=int, default=1)
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    proc = subprocess.run([args.mtcc, "conformance", *args.dirs], stdout=subprocess.PIPE, text=True)
    sys.stdout.write(proc.stdout)
    m = re.search(r"^conformance: (\d+) passed, (\d+) failed, (\d+) unsupported$", proc.stdout, re.M)
    if not m:
        print(f"check_conformance: no summary line (exit code {proc.returncode})")
        return 1
    passed, failed = int(m.group(1)), int(m.group(2))
    if proc.returncode != 0 or failed:
        print(f"check_conformance: {failed} failed case(s), exit code {proc.returncode}")
        return 1
    if passed < args.min_pass:
        print(f"check_conformance: {passed} passed, at least {args.min_pass} required")
        return 1
    print(f"check_conformance: ok ({passed} passed, minimum {args.min_pass})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
