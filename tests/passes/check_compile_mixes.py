#!/usr/bin/env python3
"""End-to-end `mtcc compile` of the benchmark mixes (T1, T2, T3 at batch 1 and 8) and of budgets
that cannot fit. Asserts on the report: T1's kernels per round drop below a third of the unfused
count; every partition has streams and an arena no larger than the unplanned sum; every tenant
appears; rejected fusions carry reasons. Prints one line per check and 'N passed, N failed'."""
import argparse
import json
import os
import subprocess
import sys

MIXES = {
    "T1": ["resnet50_v0", "resnet50_v1", "resnet50_v2", "resnet50_v3"],
    "T2": ["resnet50", "mobilenetv2", "efficientnet_b0", "vgg16"],
    "T3": ["resnet50", "mobilenetv2", "bert_base", "yolo_tiny"],
}

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")


def write_manifest(path, models_dir, models, batch, partitions=None, assign=None):
    tenants = []
    for i, m in enumerate(models):
        dims = {"batch": batch}
        if m.startswith("bert"):
            dims["seq"] = 128
        t = {"name": f"t{i}_{m}", "model": os.path.join(models_dir, m + ".onnx"), "dims": dims}
        if assign:
            t["partition"] = assign[i]
        tenants.append(t)
    doc = {"targets": ["sm_80", "sm_90"], "tenants": tenants}
    if partitions:
        doc["partitions"] = partitions
    with open(path, "w") as f:
        json.dump(doc, f)


def compile_(mtcc, manifest, report=None, extra=()):
    cmd = [mtcc, "compile", manifest, *extra] + (["--report", report] if report else [])
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    for mix, models in MIXES.items():
        for batch in (1, 8):
            tag = f"{mix} batch {batch}"
            man = os.path.join(args.work, f"{mix}_b{batch}.json")
            rep = os.path.join(args.work, f"{mix}_b{batch}.report.json")
            write_manifest(man, args.models, models, batch)
            proc = compile_(args.mtcc, man, rep)
            check(f"{tag}: compiles", proc.returncode == 0, proc.stderr.strip())
            if proc.returncode != 0:
                continue
            with open(rep) as f:
                r = json.load(f)
            s = r["summary"]
            check(f"{tag}: every tenant reported", len(r["tenants"]) == len(models))
            check(f"{tag}: fusion reduces kernels", s["kernels_per_round"] < s["kernels_unfused"],
                  f"{s['kernels_unfused']} -> {s['kernels_per_round']}")
            if mix == "T1":
                check(f"{tag}: kernels per round below a third of unfused",
                      3 * s["kernels_per_round"] < s["kernels_unfused"],
                      f"{s['kernels_unfused']} -> {s['kernels_per_round']}")
            check(f"{tag}: arena no larger than the unplanned sum",
                  0 < s["peak_arena_bytes"] <= s["unplanned_bytes"],
                  f"{s['peak_arena_bytes']} vs {s['unplanned_bytes']}")
            check(f"{tag}: partitions have streams", all(p["streams"] >= 1 for p in r["partitions"]))
            check(f"{tag}: predicted makespan positive and at most the serial sum",
                  0 < s["predicted_makespan_us"] <= s["sum_predicted_alone_us"] * 1.0001,
                  f"{s['predicted_makespan_us']:.1f} vs {s['sum_predicted_alone_us']:.1f}")
            check(f"{tag}: rejected fusions carry reasons",
                  all(x["reason"] and x["what"] for x in r["rejected_fusions"]))
    # the sample mix the demo compiles (two partitions with budgets), as shipped in samples/
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "demo.json")
    with open(sample) as f:
        doc = json.load(f)
    for t in doc["tenants"]:
        t["model"] = os.path.join(args.models, t["model"])
    man = os.path.join(args.work, "demo.json")
    with open(man, "w") as f:
        json.dump(doc, f)
    proc = compile_(args.mtcc, man, os.path.join(args.work, "demo.report.json"))
    check("samples/demo.json compiles (memory-plan checker included)", proc.returncode == 0, proc.stderr.strip())
    # budgets that cannot fit: each must fail with one line naming the partition
    models = MIXES["T3"]
    cases = [
        ("two partitions of 100 SMs", [{"name": "left", "sm_budget": 100}, {"name": "right", "sm_budget": 100}],
         ["left", "right", "left", "right"], "SMs"),
        ("a budget above the GPU", [{"name": "huge", "sm_budget": 200}], ["huge"] * 4, "huge"),
    ]
    for label, partitions, assign, expect in cases:
        man = os.path.join(args.work, "budget.json")
        write_manifest(man, args.models, models, 1, partitions, assign)
        proc = compile_(args.mtcc, man)
        lines = proc.stderr.strip().splitlines()
        check(f"budget {label}: rejected", proc.returncode == 1 and len(lines) == 1 and expect in lines[0]
              and lines[0].startswith("mtcc: error: "), proc.stderr.strip())
    # pass options: dump and disable
    man = os.path.join(args.work, "T1_b1.json")
    proc = compile_(args.mtcc, man, extra=["--dump-ir-after=fuse-horizontal"])
    check("--dump-ir-after prints the plan", proc.returncode == 0 and "IR after fuse-horizontal" in proc.stdout)
    # a disabled pass leaves no trace in the report: no horizontal group of several members without
    # fuse-horizontal, no fused group of several nodes without fuse-vertical (T1 has both otherwise,
    # as the kernel-count check above shows)
    rep = os.path.join(args.work, "disabled.report.json")
    for pass_, key, what in (("fuse-horizontal", "members", "horizontal group"), ("fuse-vertical", "nodes", "fused group")):
        proc = compile_(args.mtcc, man, rep, extra=[f"--disable-pass={pass_}"])
        check(f"--disable-pass={pass_} compiles", proc.returncode == 0, proc.stderr.strip())
        if proc.returncode != 0:
            continue
        with open(rep) as f:
            r = json.load(f)
        if key == "members":
            sizes = [len(h["members"]) for h in r["horizontal_groups"]]
        else:
            sizes = [len(g["nodes"]) for t in r["tenants"] for g in t["groups"]]
        check(f"--disable-pass={pass_}: every {what} has one {key[:-1]}", sizes and max(sizes) == 1,
              f"largest {max(sizes) if sizes else None}")
    proc = compile_(args.mtcc, man, extra=["--disable-pass=no-such-pass"])
    check("--disable-pass of an unknown pass is an error", proc.returncode == 1 and "no-such-pass" in proc.stderr)
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
