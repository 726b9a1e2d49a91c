#!/usr/bin/env python3
"""Runs `mtcc conformance` over ONNX backend test folders, echoes its report, and fails unless it
exits 0 with no failed case, at least --min-pass cases passed, and -- with --pin FILE -- every case
has the status the pin file records for it.

The pin file (checked in, one "pass NAME" or "unsupported NAME" line per case, sorted by name)
makes a case that slips from passed to unsupported fail the test by name, instead of hiding inside
a total that still clears --min-pass. A case that improves (unsupported -> pass), appears or
disappears fails too, with a message saying to update the pin: rerun with --update-pin, which
rewrites FILE from this run (review its diff before committing).

usage: check_conformance.py --mtcc MTCC [--min-pass N] [--pin FILE [--update-pin]] DIR...
"""
import argparse
import re
import subprocess
import sys

STATUS_RE = re.compile(r"^(PASS|UNSUPPORTED|FAIL) (\S+?)(?::| \(|$)")  # a PASS may end "(note)"


def read_pin(path):
    pinned = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2 or parts[0] not in ("pass", "unsupported"):
                raise SystemExit(f"check_conformance: {path}:{lineno}: expected 'pass NAME' or 'unsupported NAME'")
            pinned[parts[1]] = parts[0]
    return pinned


def write_pin(path, statuses):
    with open(path, "w") as f:
        f.write("# Status of every ONNX backend test case under `mtcc conformance` (see check_conformance.py).\n"
                "# Regenerate with --update-pin and review the diff: a 'pass' turning into 'unsupported' is a\n"
                "# regression.\n")
        for name in sorted(statuses):
            f.write(f"{statuses[name]} {name}\n")


def compare(pinned, statuses, reasons):
    """Lines describing every difference; empty when the run matches the pin."""
    problems = []
    slipped = sorted(n for n, s in pinned.items() if s == "pass" and statuses.get(n) != "pass")
    improved = sorted(n for n, s in statuses.items() if s == "pass" and pinned.get(n) == "unsupported")
    new = sorted(n for n in statuses if n not in pinned)
    gone = sorted(n for n, s in pinned.items() if n not in statuses and s != "pass")
    for n in slipped:
        now = statuses.get(n, "missing from the run")
        problems.append(f"REGRESSION {n}: pinned pass, now {now}{': ' + reasons[n] if n in reasons else ''}")
    for n in improved:
        problems.append(f"IMPROVED {n}: pinned unsupported, now passes: update the pin (--update-pin)")
    for n in new:
        problems.append(f"NEW {n}: {statuses[n]}, not in the pin: update the pin (--update-pin)")
    for n in gone:
        problems.append(f"GONE {n}: pinned {pinned[n]}, not in this run: update the pin (--update-pin)")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--min-pass", type=int, default=1)
    ap.add_argument("--pin", help="file recording each case's expected status")
    ap.add_argument("--update-pin", action="store_true", help="rewrite --pin from this run and succeed")
    ap.add_argument("--backend", default="reference", help="mtcc conformance --backend (reference, cpu)")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    proc = subprocess.run([args.mtcc, "conformance", "--backend", args.backend, *args.dirs],
                          stdout=subprocess.PIPE, text=True)
    sys.stdout.write(proc.stdout)
    m = re.search(r"^conformance: (\d+) passed, (\d+) failed, (\d+) unsupported$", proc.stdout, re.M)
    if not m:
        print(f"check_conformance: no summary line (exit code {proc.returncode})")
        return 1
    passed, failed, unsupported = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if proc.returncode != 0 or failed:
        print(f"check_conformance: {failed} failed case(s), exit code {proc.returncode}")
        return 1
    if passed < args.min_pass:
        print(f"check_conformance: {passed} passed, at least {args.min_pass} required")
        return 1
    if not args.pin:
        print(f"check_conformance: ok ({passed} passed, minimum {args.min_pass})")
        return 0
    statuses, reasons = {}, {}
    for line in proc.stdout.splitlines():
        s = STATUS_RE.match(line)
        if s:
            statuses[s.group(2)] = s.group(1).lower()
            if s.group(1) != "PASS":
                reasons[s.group(2)] = line.split(": ", 1)[1] if ": " in line else ""
    if len(statuses) != passed + unsupported or sum(v == "pass" for v in statuses.values()) != passed:
        print(f"check_conformance: read {len(statuses)} case lines, the summary says {passed + unsupported}")
        return 1
    if args.update_pin:
        write_pin(args.pin, statuses)
        print(f"check_conformance: wrote {args.pin} ({passed} pass, {unsupported} unsupported)")
        return 0
    pinned = read_pin(args.pin)
    problems = compare(pinned, statuses, reasons)
    pin_passed = sum(v == "pass" for v in pinned.values())
    pin_unsup = len(pinned) - pin_passed
    for p in problems:
        print(p)
    if problems:
        print(f"check_conformance: {passed} passed, {unsupported} unsupported; the pin {args.pin} says "
              f"{pin_passed} and {pin_unsup}: {len(problems)} difference(s) listed above")
        return 1
    print(f"check_conformance: ok ({passed} passed, {unsupported} unsupported, as pinned in {args.pin})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
