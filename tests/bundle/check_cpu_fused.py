#!/usr/bin/env python3
"""End-to-end check of fused CPU code (issue 14): tiny MobileNetV2 + ResNet-50 + one-layer BERT
compiled into one bundle with CPU code, run through libmtrt's CPU backend at 1 and 2 threads and
on its reference kernels (cpu_target reference, the expected outputs). The compile summary must
report fused nodes; generated outputs must agree with the reference kernels (1e-4 of the output's
largest value: GEMM summation order) and be bit-identical at 1 and 2 threads. The same workload
compiled without fusion (MTCC_CPU_FUSION=0, other kernel symbols) runs in a session open at the
same time, in the same process: each session must run its own object (libmtrt keeps each memfd
open while its object is loaded, or dlopen would hand the second session the first's library).

usage: check_cpu_fused.py --mtcc build/mtcc --work DIR
Exits 77 when the build has no CPU backend (LLVM off) or this host runs none of the objects.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    lib = os.path.join(os.path.dirname(os.path.abspath(args.mtcc)), "libmtrt.so")
    os.environ.setdefault("MTRT_LIBRARY", lib)
    sys.path.insert(0, os.path.join(ROOT, "python", "mtrt"))
    import numpy as np
    import mtrt

    models = os.path.join(args.work, "models")
    names = ["mobilenetv2", "resnet50", "bert_base"]
    if not all(os.path.exists(os.path.join(models, n + ".onnx")) for n in names):
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "models", "gen_models.py"),
                        "--out", models, "--no-check", "--image-size", "32", "--layers", "1",
                        "--only", ",".join(names)], check=True, stdout=subprocess.DEVNULL)
    tenants = [{"name": n, "model": os.path.join(models, n + ".onnx"),
                "dims": {"batch": 1, **({"seq": 16} if n.startswith("bert") else {})}}
               for n in names]
    spec = os.path.join(args.work, "fused.json")
    with open(spec, "w") as f:
        json.dump({"tenants": tenants}, f)
    bundle = os.path.join(args.work, "fused.mtbundle")
    proc = subprocess.run([args.mtcc, "compile", spec, "-o", bundle, "--cpu-only"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"check_cpu_fused: compile failed:\n{proc.stdout}")
    line = next((l for l in proc.stdout.splitlines() if l.startswith("CPU code:")), "")
    print(line)
    if line.startswith("CPU code: none"):
        print("skip: no CPU code in this build or for this host")
        sys.exit(77)
    m = re.search(r"\((\d+) elementwise nodes fused\)", line)
    if not m or int(m.group(1)) < 10:
        sys.exit(f"check_cpu_fused: expected fused nodes in the summary, got: {line}")
    unfused = os.path.join(args.work, "unfused.mtbundle")
    proc = subprocess.run([args.mtcc, "compile", spec, "-o", unfused, "--cpu-only"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "MTCC_CPU_FUSION": "0"})
    if proc.returncode != 0 or "(elementwise fusion off (MTCC_CPU_FUSION=0))" not in proc.stdout:
        sys.exit(f"check_cpu_fused: the unfused compile failed or fused:\n{proc.stdout}")

    rng = np.random.default_rng(7)
    with mtrt.Bundle(bundle) as b:
        feeds = {}
        for t in b.tenants:
            feeds[t.name] = {}
            for p in t.inputs:
                if p.dtype.name.startswith("int"):
                    feeds[t.name][p.name] = (np.ones(p.shape, p.dtype) if "mask" in p.name
                                             else rng.integers(0, 2, size=p.shape).astype(p.dtype))
                else:
                    feeds[t.name][p.name] = rng.standard_normal(p.shape).astype(p.dtype)
        with b.session("cpu", threads=1, cpu_target="reference") as s:
            want = s.run(feeds)
        got = {}
        with mtrt.Bundle(unfused) as bu:
            for threads in (1, 2):
                with b.session("cpu", threads=threads, cpu_target="auto") as s, \
                        bu.session("cpu", threads=threads, cpu_target="auto") as su:
                    if s.cpu_target in (None, "", "reference"):
                        print(f"skip: this host runs no CPU object ({s.note})")
                        sys.exit(77)
                    print(f"{threads} thread(s): {s.cpu_target}")
                    got[threads] = s.run(feeds)
                    got[f"unfused{threads}"] = su.run(feeds)
    worst = 0.0
    for t, outs in want.items():
        for name, ref in outs.items():
            g1, g2 = got[1][t][name], got[2][t][name]
            if g1.tobytes() != g2.tobytes():
                sys.exit(f"check_cpu_fused: {t}/{name}: 1 and 2 threads differ")
            for threads in (1, 2):  # fusion changes no bits where the same float ops run
                u = got[f"unfused{threads}"][t][name]
                if u.tobytes() != g1.tobytes():
                    sys.exit(f"check_cpu_fused: {t}/{name}: fused and unfused bundles differ "
                             f"at {threads} thread(s)")
            scale = max(1e-6, float(np.max(np.abs(ref))))
            err = float(np.max(np.abs(g1.astype(np.float64) - ref))) / scale
            worst = max(worst, err)
            if not err <= 1e-4:
                sys.exit(f"check_cpu_fused: {t}/{name}: max error {err:.3g} of the largest value")
    print(f"ok: every output within {worst:.2g} of the reference kernels; 1 == 2 threads; "
          "fused == unfused, both sessions open at once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
