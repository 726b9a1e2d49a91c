#!/usr/bin/env python3
"""Every kernel generated for the small sample models compiles with NVRTC for sm_80 and sm_90.

Runs `mtcc compile MANIFEST --nvrtc --emit-cuda DIR --report R` on one manifest holding the
models at batch 1 and checks: the compile succeeds (an NVRTC error fails it, with the generated
source around the failing line), the report lists a cubin per kernel and arch, every horizontal
group is either a kernel or a not-generated record with a reason, and DIR holds one .cu file per
kernel plus mt_cuda.h and compile_commands.json. Exits 77 (skip) when mtcc was built without NVRTC.

usage: check_nvrtc_models.py --mtcc MTCC --models DIR --work DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

MODELS = {"mobilenetv2": {"batch": 1}, "bert_tiny": {"batch": 1, "seq": 16},
          "yolo_tiny": {"batch": 1}, "resnet50": {"batch": 1}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    tenants = [{"name": n, "model": os.path.join(a.models, n + ".onnx"), "dims": d}
               for n, d in MODELS.items()]
    manifest = os.path.join(a.work, "manifest.json")
    with open(manifest, "w") as f:
        json.dump({"targets": ["sm_80", "sm_90"], "tenants": tenants}, f)
    out, report = os.path.join(a.work, "cuda"), os.path.join(a.work, "report.json")
    r = subprocess.run([a.mtcc, "compile", manifest, "--nvrtc", "--emit-cuda", out, "--report",
                        report], capture_output=True, text=True)
    if r.returncode != 0 and "NVRTC is off" in r.stderr:
        print("SKIP: " + r.stderr.strip())
        return 77
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        return 1
    rep = json.load(open(report))
    cg = rep["codegen"]
    errors = []
    names = set()
    for k in cg["kernels"]:
        names.add(k["name"])
        archs = sorted(b["arch"] for b in k["nvrtc"] if b["cubin_bytes"] > 0)
        if archs != ["sm_80", "sm_90"]:
            errors.append(f"{k['name']}: cubins for {archs}")
        if not os.path.isfile(os.path.join(out, k["name"] + ".cu")):
            errors.append(f"{k['name']}: no .cu file")
        if k["grid"] < 1 or k["block"] < 1 or "SMs" not in k["why"]:
            errors.append(f"{k['name']}: launch {k['grid']}x{k['block']} why '{k['why']}'")
    covered = {k["horizontal_group"] for k in cg["kernels"]}
    covered |= {c["horizontal_group"] for c in cg["library_calls"]}
    covered |= {c["horizontal_group"] for c in cg["conditionals"]}  # If groups
    for c in cg["library_calls"]:
        for g in c["problems"]:
            if g["epilogue_kernel"] and g["epilogue_kernel"] not in names:
                errors.append(f"library call h{c['horizontal_group']}: no epilogue kernel "
                              f"{g['epilogue_kernel']}")
            if min(g["m"], g["n"], g["k"], g["batch"]) < 1 or not g["d"]:
                errors.append(f"library call h{c['horizontal_group']}: problem {g}")
    skipped = {s["horizontal_group"] for s in cg["not_generated"] if s["reason"]}
    for h in range(len(rep["horizontal_groups"])):
        if (h in covered) == (h in skipped):
            errors.append(f"horizontal group {h}: kernel {h in covered}, not-generated {h in skipped}")
    cmds = json.load(open(os.path.join(out, "compile_commands.json")))
    if len(cmds) != 2 * len(names) or not os.path.isfile(os.path.join(out, "mt_cuda.h")):
        errors.append(f"compile_commands.json has {len(cmds)} entries for {len(names)} kernels")
    if not names:
        errors.append("no kernel generated")
    for e in errors:
        print("FAIL", e)
    print(f"{len(names)} kernels x 2 archs compiled by {cg['nvrtc']}; "
          f"{len(cg['library_calls'])} GEMM library calls; {len(skipped)} groups not generated")
    for s in cg["not_generated"]:
        print(f"  not generated: {s['what']}: {s['reason']}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
