#!/usr/bin/env python3
"""`mtcc compile` on tiny models built here (no generated models needed, so it runs in every build,
ASan/UBSan included): a one-node model, the same model as two tenants, and a Conv+Relu model as two
tenants, compiled as is and with --disable-pass of each fusion. What is expected follows from the
models' structure: a Relu is one kernel; Conv+Relu is one vertical group (Relu as the epilogue);
two identical convs in two tenants are one horizontal group. With fuse-vertical disabled every
fused group holds one node; with fuse-horizontal disabled every horizontal group holds one member.
Prints one line per check and 'N passed, N failed'; exits 1 on any failure.

usage: check_compile_small.py --mtcc PATH/TO/mtcc --work DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")
    sys.stdout.flush()


def save_model(path, nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def write_manifest(path, model, names):
    with open(path, "w") as f:
        json.dump({"tenants": [{"name": n, "model": model} for n in names]}, f)
    return path


def compile_(mtcc, inputs, report, extra=()):
    if os.path.exists(report):
        os.unlink(report)
    proc = subprocess.run([mtcc, "compile", *inputs, "--report", report, *extra],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    rep = None
    if proc.returncode == 0 and os.path.exists(report):
        with open(report) as f:
            rep = json.load(f)
    return proc, rep


def group_sizes(rep):
    """Node names of every fused group, tenant by tenant."""
    return {t["name"]: [[n["name"] for n in g["nodes"]] for g in t["groups"]] for t in rep["tenants"]}


def compiles(label, proc, rep):
    ok = proc.returncode == 0 and rep is not None and proc.stderr == ""
    check(f"{label}: compiles, report written, nothing on stderr", ok,
          f"exit {proc.returncode}: {proc.stderr.strip()[:600]}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    mtcc = os.path.abspath(args.mtcc)
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    report = os.path.join(work, "report.json")

    relu = save_model(os.path.join(work, "relu.onnx"), [helper.make_node("Relu", ["x"], ["y"], name="relu_0")],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    rng = np.random.default_rng(1)
    conv = save_model(
        os.path.join(work, "conv_relu.onnx"),
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv_0", pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["y"], name="relu_0")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(rng.standard_normal((8, 4, 3, 3)).astype(np.float32), "w"),
         numpy_helper.from_array(np.zeros(8, np.float32), "b")])

    # one node, one tenant
    proc, rep = compile_(mtcc, [relu], report)
    if compiles("one-node model", proc, rep):
        check("one-node model: one tenant, one group holding relu_0",
              list(group_sizes(rep).values()) == [[["relu_0"]]], json.dumps(group_sizes(rep)))
        check("one-node model: one kernel unfused and fused",
              rep["summary"]["kernels_unfused"] == 1 and rep["summary"]["kernels_per_round"] == 1,
              json.dumps(rep["summary"]))
        check("one-node model: one partition with a stream", len(rep["partitions"]) == 1
              and rep["partitions"][0]["streams"] >= 1, json.dumps(rep["partitions"]))

    # the same one-node model twice, as two tenants
    two = write_manifest(os.path.join(work, "relu_twice.json"), "relu.onnx", ["first", "second"])
    proc, rep = compile_(mtcc, [two], report)
    if compiles("one-node model as two tenants", proc, rep):
        check("two tenants: both reported with relu_0",
              group_sizes(rep) == {"first": [["relu_0"]], "second": [["relu_0"]]}, json.dumps(group_sizes(rep)))
        check("two tenants: two kernels unfused", rep["summary"]["kernels_unfused"] == 2, json.dumps(rep["summary"]))

    # Conv+Relu as two tenants: vertical and horizontal fusion both have something to do
    conv2 = write_manifest(os.path.join(work, "conv_twice.json"), "conv_relu.onnx", ["left", "right"])
    runs = {}
    for label, extra in (("all passes", ()), ("fuse-vertical disabled", ("--disable-pass=fuse-vertical",)),
                         ("fuse-horizontal disabled", ("--disable-pass", "fuse-horizontal")),
                         ("both fusions disabled", ("--disable-pass=fuse-vertical", "--disable-pass=fuse-horizontal"))):
        proc, rep = compile_(mtcc, [conv2], report, extra)
        if compiles(f"conv+relu twice, {label}", proc, rep):
            runs[label] = rep
    nodes = ["conv_0", "relu_0"]

    def fused_vertically(rep):
        return all(g == [nodes] for g in group_sizes(rep).values())

    def unfused_vertically(rep):
        return all(sorted(g) == [[n] for n in nodes] for g in group_sizes(rep).values())

    def members(rep):
        return sorted(len(h["members"]) for h in rep["horizontal_groups"])

    if "all passes" in runs:
        r = runs["all passes"]
        check("all passes: Relu fused into the conv (one group of two nodes per tenant)", fused_vertically(r),
              json.dumps(group_sizes(r)))
        check("all passes: the two tenants' convs form one horizontal group", members(r) == [2], str(members(r)))
    if "fuse-vertical disabled" in runs:
        r = runs["fuse-vertical disabled"]
        check("--disable-pass=fuse-vertical: every fused group holds one node", unfused_vertically(r),
              json.dumps(group_sizes(r)))
    if "fuse-horizontal disabled" in runs:
        r = runs["fuse-horizontal disabled"]
        check("--disable-pass fuse-horizontal: every horizontal group holds one member",
              members(r) == [1, 1], str(members(r)))
        check("--disable-pass fuse-horizontal: vertical fusion still ran", fused_vertically(r),
              json.dumps(group_sizes(r)))
    if "both fusions disabled" in runs:
        r = runs["both fusions disabled"]
        check("both fusions disabled: one kernel per node", unfused_vertically(r) and members(r) == [1] * 4
              and r["summary"]["kernels_per_round"] == 4, json.dumps(r["summary"]))

    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
