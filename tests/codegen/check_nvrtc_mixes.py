#!/usr/bin/env python3
"""Every kernel of the benchmark mixes (../shared/bench.md: T1, T2, T3 at batch 1 and 8) compiles
with NVRTC for sm_80, sm_86, sm_89 and sm_90.

The mixes are built from the generated models as tests/passes/check_compile_mixes.py builds them
(bert at seq 128). For each, `mtcc compile MANIFEST --nvrtc --report R` (the NVRTC cache is
$MTCC_CACHE_DIR, which CTest points into the build tree) must succeed, and the report must show:
a cubin of every kernel for each of the four archs; every horizontal group covered by exactly one
of a kernel, a GEMM library call or a not-generated record; and every not-generated record naming
an If node (the one op left to the runtime issue), nothing else. Prints per mix the kernel and
library-call counts, the cache hits and the time. Exits 77 (skip) when mtcc was built without
NVRTC.

usage: check_nvrtc_mixes.py --mtcc MTCC --models DIR --work DIR
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

MIXES = {
    "T1": ["resnet50_v0", "resnet50_v1", "resnet50_v2", "resnet50_v3"],
    "T2": ["resnet50", "mobilenetv2", "efficientnet_b0", "vgg16"],
    "T3": ["resnet50", "mobilenetv2", "bert_base", "yolo_tiny"],
}
ARCHS = ["sm_80", "sm_86", "sm_89", "sm_90"]


def manifest(path, models_dir, models, batch):
    tenants = []
    for i, m in enumerate(models):
        dims = {"batch": batch}
        if m.startswith("bert"):
            dims["seq"] = 128
        tenants.append({"name": f"t{i}_{m}", "model": os.path.join(models_dir, m + ".onnx"),
                        "dims": dims})
    with open(path, "w") as f:
        json.dump({"targets": ARCHS, "tenants": tenants}, f)


def check_report(rep, tag):
    """The report's codegen section against the rules above; returns error lines."""
    cg = rep["codegen"]
    errors = []
    names = set()
    for k in cg["kernels"]:
        names.add(k["name"])
        archs = sorted(b["arch"] for b in k["nvrtc"] if b["cubin_bytes"] > 0)
        if archs != ARCHS:
            errors.append(f"{tag}: {k['name']}: cubins for {archs}")
    covered = [k["horizontal_group"] for k in cg["kernels"]
               if "gemm_epilogue" not in k["name"]]
    libcalls = [c["horizontal_group"] for c in cg["library_calls"]]
    libcalls += [c["horizontal_group"] for c in cg["conditionals"] if c["horizontal_group"] >= 0]
    skipped = [s["horizontal_group"] for s in cg["not_generated"]]
    for s in cg["not_generated"]:
        if not re.search(r"\(If\)", s["reason"]):
            errors.append(f"{tag}: not generated, and not an If: {s['what']}: {s['reason']}")
    for h in range(len(rep["horizontal_groups"])):
        n = (h in covered) + (h in libcalls) + (h in skipped)
        if n != 1:
            errors.append(f"{tag}: horizontal group {h}: kernel {h in covered}, library call "
                          f"{h in libcalls}, not-generated {h in skipped}")
    if not names:
        errors.append(f"{tag}: no kernel generated")
    return errors, len(names), len(libcalls), len(skipped)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    errors = []
    t_all = time.monotonic()
    for mix, models in MIXES.items():
        for batch in (1, 8):
            tag = f"{mix} batch {batch}"
            man = os.path.join(a.work, f"{mix}_b{batch}.json")
            rep_path = os.path.join(a.work, f"{mix}_b{batch}.report.json")
            manifest(man, a.models, models, batch)
            t0 = time.monotonic()
            r = subprocess.run([a.mtcc, "compile", man, "--nvrtc", "--report", rep_path],
                               capture_output=True, text=True)
            dt = time.monotonic() - t0
            if r.returncode != 0 and "NVRTC is off" in r.stderr:
                print("SKIP: " + r.stderr.strip())
                return 77
            if r.returncode != 0:
                errors.append(f"{tag}: mtcc compile failed: {(r.stdout + r.stderr).strip()[-2000:]}")
                print(f"FAIL {tag}: mtcc compile exited {r.returncode}")
                continue
            with open(rep_path) as f:
                rep = json.load(f)
            errs, n_k, n_l, n_s = check_report(rep, tag)
            errors += errs
            hits = sum(1 for k in rep["codegen"]["kernels"] for b in k["nvrtc"] if b.get("cached"))
            print(f"{'FAIL' if errs else 'PASS'} {tag}: {n_k} kernels x {len(ARCHS)} archs, "
                  f"{n_l} library calls, {n_s} If groups not generated, "
                  f"{hits} cubins from the cache, {dt:.1f} s")
    for e in errors:
        print("FAIL", e)
    print(f"{'FAIL' if errors else 'OK'}: 6 mixes compiled for {', '.join(ARCHS)} in "
          f"{time.monotonic() - t_all:.1f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
