#!/usr/bin/env python3
"""scripts/gpu_proof.sh --dry-run end to end (issue 12): every step of the GPU proof on the CPU
path with tiny shapes, into WORK/out, then checks what a GPU call would bring back:

- the script exits 0 and OUT holds only plain files, at most 8 (a device call returns no more):
  summary.md, results.json, arch-params.cpu-dry-run.json, steps.tsv, progress.log, logs.tar.gz;
- summary.md has every table bench/proof_summary.py promises (TABLES), labelled as a dry run;
- every dry-run configuration (T1/T2/T3 at batch 1 and 2, the T3 SM-budget run, T2's
  throughput point) compiled, matched its ONNX Runtime reference and has CPU times in the mtcc
  table, the ORT ratio and the per-tenant rows; the PyTorch baselines are rows saying why they
  were skipped; the calibration wrote parameters that `mtcc compile --arch-params` accepted
  (the script recompiled every mix with them) and moved the predictions towards the measured
  times.

usage: check_proof_dry_run.py --root SRC --build BUILD --work DIR
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

CONFIGS = ["T1_b1", "T2_b1", "T3_b1", "T3_b1_budget", "T1_b2", "T2_b2", "T3_b2", "T2_b4"]


def section(md, title):
    """The text of the '## title' section (up to the next '## ')."""
    m = re.search(r"^## " + re.escape(title) + r".*?$(.*?)(?=^## |\Z)", md, re.S | re.M)
    return m.group(1) if m else None


def rows(text):
    return [[c.strip() for c in l.strip().strip("|").split("|")] for l in text.splitlines()
            if l.startswith("|") and not l.startswith("|---")][1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    out = os.path.join(a.work, "out")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    p = subprocess.run([os.path.join(a.root, "scripts", "gpu_proof.sh"), "--dry-run", "--out", out,
                        "--build-dir", a.build, "--work", os.path.join(a.work, "scratch")],
                       capture_output=True, text=True)
    print(p.stdout[-6000:])
    errors = []
    if p.returncode != 0:
        errors.append(f"gpu_proof.sh --dry-run exited {p.returncode}: {p.stderr[-2000:]}")
    names = sorted(os.listdir(out)) if os.path.isdir(out) else []
    want = ["arch-params.cpu-dry-run.json", "logs.tar.gz", "progress.log", "results.json",
            "steps.tsv", "summary.md"]
    if names != want:
        errors.append(f"OUT holds {names}, expected {want}")
    if any(os.path.isdir(os.path.join(out, n)) for n in names) or len(names) > 8:
        errors.append("OUT must hold at most 8 plain files (what a device call brings back)")
    md = open(os.path.join(out, "summary.md")).read() if "summary.md" in names else ""
    sys.path.insert(0, os.path.join(a.root, "bench"))
    from proof_summary import TABLES
    if "dry run" not in md.splitlines()[0] if md else True:
        errors.append("summary.md does not say it is a dry run in its title")
    for t in TABLES:
        s = section(md, t)
        if s is None:
            errors.append(f"summary.md has no '{t}' table")
        elif not rows(s) or rows(s)[0][0] == "(none)":
            errors.append(f"summary.md's '{t}' table is empty")
    steps = {r[0]: r[1] for r in rows(section(md, "Steps") or "")}
    for st in ("deps", "build", "gpu-tests", "bench", "summary"):
        if steps.get(st) not in ("ok", "skipped"):
            errors.append(f"step {st}: {steps.get(st, 'missing')}")
    mt = {r[0]: r for r in rows(section(md, "mtcc per configuration") or "")}
    for c in CONFIGS:
        r = mt.get(c)
        if not r or not re.match(r"^[\d,]+\.\d$", r[2]) or r[-1]:
            errors.append(f"mtcc table: configuration {c}: {r}")
    check = rows(section(md, "Output check") or "")
    bad = [r for r in check if r[-1] != "ok"]
    if bad or not check:
        errors.append(f"output check: {bad or 'no rows'}")
    for r in rows(section(md, "Baselines") or ""):
        if r[1] in ("B0", "B1", "B2", "B3", "B4") and not r[-1].startswith("skipped: "):
            errors.append(f"baseline {r[0]} {r[1]} without PyTorch is not a skip row: {r}")
    ratios = rows(section(md, "Ratios mtcc / baseline") or "")
    # round and independent per configuration (and batched-window where libmtrt has arrivals)
    if len(ratios) < 2 * len(CONFIGS) or any(not re.match(r"^\d+\.\d+$", r[-1]) for r in ratios):
        errors.append(f"ratio table: expected >= {2 * len(CONFIGS)} rows with an ORT ratio: "
                      f"{ratios[:3]}")
    res = json.load(open(os.path.join(out, "results.json"))) if "results.json" in names else {}
    cal = res.get("calibration", {})
    b, af = (cal.get("before") or {}).get("median_factor"), (cal.get("after") or {}).get("median_factor")
    if not (b and af and af < b):
        errors.append(f"calibration did not move the predictions towards the measurements: "
                      f"{cal.get('error', '')} before {b} after {af}")
    for e in errors:
        print("FAIL", e)
    print("FAIL" if errors else "OK: the dry run produced every table with CPU numbers")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
