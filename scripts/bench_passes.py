#!/usr/bin/env python3
"""Benchmark of the multi-tenant passes (not a test): for the tenant mixes of shared/bench.md
(T1 variants, T2 vision, T3 mixed) at batch 1 and 8, compiles each mix with `mtcc compile` and
prints machine-independent counts as ratios against their unfused/one-after-another peers from
the same run, plus compile time on this machine.

usage: scripts/bench_passes.py [--mtcc build/mtcc] [--models build/bench-models] [--target sm_90]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MIXES = {
    "T1": [("resnet_a", "resnet50_v0"), ("resnet_b", "resnet50_v1"), ("resnet_c", "resnet50_v2"),
           ("resnet_d", "resnet50_v3")],
    "T2": [("resnet", "resnet50"), ("mobilenet", "mobilenetv2"), ("efficientnet", "efficientnet_b0"),
           ("vgg", "vgg16")],
    "T3": [("resnet", "resnet50"), ("mobilenet", "mobilenetv2"), ("bert", "bert_base"),
           ("detector", "yolo_tiny")],
}


def ensure_models(models_dir):
    needed = sorted({m for mix in MIXES.values() for _, m in mix})
    missing = [m for m in needed if not os.path.exists(os.path.join(models_dir, m + ".onnx"))]
    if not missing:
        return
    print(f"bench: generating models {', '.join(missing)} into {models_dir}", file=sys.stderr)
    base = [m for m in missing if not m.startswith("resnet50_v")]
    variants = [m[len("resnet50_v"):] for m in missing if m.startswith("resnet50_v")]
    gen = [sys.executable, os.path.join(ROOT, "tests", "models", "gen_models.py"), "--out", models_dir, "--no-check"]
    if base:
        subprocess.run(gen + ["--only", ",".join(base)], check=True)
    if variants:
        subprocess.run(gen + ["--variant", ",".join(variants)], check=True)


def manifest(mix, batch, models_dir):
    tenants = []
    for name, model in MIXES[mix]:
        dims = {"batch": batch}
        if model.startswith("bert"):
            dims["seq"] = 128
        tenants.append({"name": name, "model": os.path.join(models_dir, model + ".onnx"),
                        "partition": "gpu", "dims": dims})
    return {"targets": ["sm_90"], "partitions": [{"name": "gpu"}], "tenants": tenants}


def compile_mix(mtcc, mix, batch, models_dir, target, work):
    path = os.path.join(work, f"{mix}_b{batch}.json")
    with open(path, "w") as f:
        json.dump(manifest(mix, batch, models_dir), f)
    report = os.path.join(work, f"{mix}_b{batch}.report.json")
    start = time.monotonic()
    proc = subprocess.run([mtcc, "compile", path, "--target", target, "--report", report],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench: {mix} batch {batch}: {proc.stderr.strip()}")
    with open(report) as f:
        return json.load(f)["summary"], wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mtcc", default=os.path.join(ROOT, "build", "mtcc"))
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "bench-models"))
    ap.add_argument("--target", default="sm_90")
    ap.add_argument("--mixes", default="T1,T2,T3")
    ap.add_argument("--batches", default="1,8")
    args = ap.parse_args()
    os.makedirs(args.models, exist_ok=True)
    ensure_models(args.models)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for mix in args.mixes.split(","):
            for batch in (int(b) for b in args.batches.split(",")):
                s, wall = compile_mix(args.mtcc, mix, batch, args.models, args.target, work)
                rows.append((mix, batch, s, wall))
    header = ("mix", "batch", "kernels unfused", "kernels fused", "fused/unfused", "hgroups formed",
              "interm. MiB unfused", "interm. MiB fused", "fused/unfused", "peak arena MiB",
              "arena/unplanned", "makespan us", "sum alone us", "makespan/sum", "compile s")
    table = []
    for mix, batch, s, wall in rows:
        mib = 1024.0 * 1024.0
        table.append((mix, str(batch), str(s["kernels_unfused"]), str(s["kernels_per_round"]),
                      f"{s['kernels_per_round'] / max(1, s['kernels_unfused']):.3f}",
                      str(s["horizontal_groups_formed"]),
                      f"{s['intermediate_bytes_unfused'] / mib:.1f}", f"{s['intermediate_bytes_fused'] / mib:.1f}",
                      f"{s['intermediate_bytes_fused'] / max(1.0, s['intermediate_bytes_unfused']):.3f}",
                      f"{s['peak_arena_bytes'] / mib:.1f}",
                      f"{s['peak_arena_bytes'] / max(1, s['unplanned_bytes']):.3f}",
                      f"{s['predicted_makespan_us']:.0f}", f"{s['sum_predicted_alone_us']:.0f}",
                      f"{s['predicted_makespan_us'] / max(1e-9, s['sum_predicted_alone_us']):.3f}",
                      f"{s['compile_seconds']:.2f}"))
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(header)]
    print(f"mtcc pass benchmark, target {args.target} (cost-model predictions; counts are machine-independent, "
          f"compile time is this machine's)")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for r in table:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
