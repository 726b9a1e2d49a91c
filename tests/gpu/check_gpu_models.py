#!/usr/bin/env python3
"""Sample models through libmtrt's GPU path against ONNX Runtime (label gpu).

For every sample model (its own manifest) and a two-tenant mix in two partitions: compile with
`--nvrtc -o`, run `mtcc run BUNDLE --device gpu --profile` (round arrivals) and with
`--arrival independent`, and compare every output of every tenant with ONNX Runtime on the
original model: relative error ||gpu - ort|| / ||ort|| <= 1e-4 per output; independent arrivals
must equal the round's outputs bit for bit. Then test_gpu_session checks the bundles' sessions
(SM counts read back, one instantiation per round graph, 8 threads, 1,000 create/destroy cycles).

Exits 77 (CTest's skip) printing the reason when there is no usable GPU: no CUDA driver, no
device, or bundles without GPU code (NVRTC off, groups not generated yet).

With --graphs-only GRAPH_TEST (no GPU needed, label models): the bundles are compiled and
test_graph_plan checks their CUDA Graph descriptions (every edge the plan implies, per-tenant
graphs, the per-partition split); exits 77 while the compiler writes no GPU plan.

usage: check_gpu_models.py --mtcc MTCC --session-test BIN --models DIR --work DIR [--only a,b]
       check_gpu_models.py --mtcc MTCC --graphs-only GRAPH_TEST --models DIR --work DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_INPUTS = os.path.join(HERE, "..", "..", "samples", "make_inputs.py")
SKIP = 77
DIMS = {
    "resnet50": {"batch": 1},
    "mobilenetv2": {"batch": 2},
    "efficientnet_b0": {"batch": 1},
    "yolo_tiny": {"batch": 1},
    "bert_tiny": {"batch": 1, "seq": 32},
}
UNAVAILABLE = ("no CUDA driver", "no CUDA device", "no GPU plan", "has no GPU code",
               "NVRTC is off", "driver is too old", "sees no GPU")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        text = p.stdout + p.stderr
        for why in UNAVAILABLE:
            if why in text:
                print("skipped: %s" % text.strip().splitlines()[-1])
                sys.exit(SKIP)
        sys.exit("FAIL: %s\n%s" % (" ".join(cmd), text))
    return p


def ort_outputs(tenants, inputs):
    import onnxruntime as ort
    feeds = {}
    for i in range(0, len(inputs), 2):
        spec = inputs[i + 1]
        left, path = spec.split("=", 1)
        tenant, name = left.split(":", 1)
        feeds.setdefault(tenant, {})[name] = np.load(path)
    result = {}
    for t in tenants:
        sess = ort.InferenceSession(t["model"], providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        for name, value in zip(names, sess.run(names, feeds[t["name"]])):
            result[(t["name"], name)] = value
    return result


def sanitize(name):
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def write_case(args, name, tenants):
    """The case's manifest, inputs and bundle; returns (bundle, input arguments)."""
    work = os.path.join(args.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    manifest = os.path.join(work, "manifest.json")
    partitions = sorted({t["partition"] for t in tenants})
    with open(manifest, "w") as f:
        json.dump({"partitions": [{"name": p, "sm_budget": 32} for p in partitions],
                   "tenants": tenants}, f)
    inputs = run([sys.executable, MAKE_INPUTS, "--manifest", manifest,
                  "--out", os.path.join(work, "in")]).stdout.split()
    bundle = os.path.join(work, name + ".mtbundle")
    run([args.mtcc, "compile", manifest, "--nvrtc", "-o", bundle])
    return bundle, inputs


def check_case(args, name, tenants):
    bundle, inputs = write_case(args, name, tenants)
    work = os.path.join(args.work, name)
    want = ort_outputs(tenants, inputs)
    outs = {}
    for arrival in ("round", "independent"):
        out = os.path.join(work, "out_" + arrival)
        p = run([args.mtcc, "run", bundle, "--device", "gpu", "--arrival", arrival, "--profile",
                 "--output-dir", out] + inputs)
        if arrival == "round":
            print(p.stdout.rstrip())
        outs[arrival] = out
    worst = 0.0
    for (tenant, output), ref in sorted(want.items()):
        rel = os.path.join(sanitize(tenant), sanitize(output) + ".npy")
        got = np.load(os.path.join(outs["round"], rel))
        indep = np.load(os.path.join(outs["independent"], rel))
        if got.shape != ref.shape:
            sys.exit("FAIL %s: %s shape %s, ONNX Runtime %s" % (name, rel, got.shape, ref.shape))
        if got.tobytes() != indep.tobytes():
            sys.exit("FAIL %s: %s: independent arrivals differ from the round" % (name, rel))
        if np.issubdtype(ref.dtype, np.floating):
            den = np.linalg.norm(ref.astype(np.float64))
            err = np.linalg.norm(got.astype(np.float64) - ref.astype(np.float64)) / max(den, 1e-30)
        else:
            err = 0.0 if np.array_equal(got, ref) else float("inf")
        worst = max(worst, err)
        if not err <= 1e-4:
            sys.exit("FAIL %s: %s relative error %g against ONNX Runtime" % (name, rel, err))
    print("gpu %-12s %d outputs within %.2g of ONNX Runtime; independent == round" %
          (name, len(want), worst))
    return bundle


def case_tenants(args, name):
    """One sample model in its own partition, or "mix": three models in two partitions."""
    if name != "mix":
        return [{"name": name, "model": os.path.join(args.models, name + ".onnx"),
                 "partition": "default", "dims": DIMS[name]}]
    return [{"name": "mobile", "model": os.path.join(args.models, "mobilenetv2.onnx"),
             "partition": "vision", "dims": DIMS["mobilenetv2"]},
            {"name": "yolo", "model": os.path.join(args.models, "yolo_tiny.onnx"),
             "partition": "vision", "dims": DIMS["yolo_tiny"]},
            {"name": "encoder", "model": os.path.join(args.models, "bert_tiny.onnx"),
             "partition": "language", "dims": DIMS["bert_tiny"]}]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--session-test")
    ap.add_argument("--graphs-only", metavar="GRAPH_TEST")
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", default="resnet50,mobilenetv2,efficientnet_b0,bert_tiny,yolo_tiny,mix")
    args = ap.parse_args()
    args.models = os.path.abspath(args.models)
    if args.graphs_only:
        bundles = [write_case(args, name, case_tenants(args, name))[0]
                   for name in args.only.split(",")]
        sys.exit(subprocess.run([args.graphs_only] + bundles).returncode)
    # no driver or no device: skip before compiling anything
    probe = subprocess.run([args.session_test, "--probe"], capture_output=True, text=True)
    print(probe.stdout.strip())
    if probe.returncode != 0:
        sys.exit(probe.returncode)
    bundles = []
    for name in args.only.split(","):
        bundles.append(check_case(args, name, case_tenants(args, name)))
    p = subprocess.run([args.session_test] + bundles, text=True)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
