#!/usr/bin/env python3
"""The two op misclassifications that string lists in three passes once caused, checked through
`mtcc compile --report` on models exported with onnx's helper (the oracle is the ONNX spec of each
op, not mtcc's own tables):

1. a lone ReduceSumSquare formed an elementwise group with fuse-vertical and a reduction group
   after it: it must be a reduction group either way;
2. a transposing Einsum ("ij->ji") in two tenants became a batched-GEMM horizontal group: it only
   moves data, so it must be a data-movement group and never a GEMM of any kind.
"""
import argparse
import json
import os
import subprocess
import sys

import onnx
from onnx import TensorProto, helper

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def save(model, path):
    onnx.checker.check_model(model)
    onnx.save(model, path)


def reduce_sum_square_model(path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 1])
    node = helper.make_node("ReduceSumSquare", ["x"], ["y"], name="rss", axes=[1], keepdims=1)
    graph = helper.make_graph([node], "rss", [x], [y])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def einsum_transpose_model(path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 16])
    node = helper.make_node("Einsum", ["x"], ["y"], name="transpose", equation="ij->ji")
    graph = helper.make_graph([node], "einsum_t", [x], [y])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def compile_report(mtcc, work, name, paths, extra=()):
    report = os.path.join(work, name + ".json")
    cmd = [mtcc, "compile", *paths, "--report", report, *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        failures.append(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
        print(r.stdout, r.stderr)
        return None
    with open(report) as f:
        return json.load(f)


def group_kinds(report, op):
    kinds = []
    for t in report["tenants"]:
        for g in t["groups"]:
            if any(n["op"] == op for n in g["nodes"]):
                kinds.append(g["kind"])
    return kinds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)

    rss = os.path.join(a.work, "rss.onnx")
    reduce_sum_square_model(rss)
    for label, extra in (("fused", ()), ("unfused", ("--disable-pass", "fuse-vertical"))):
        rep = compile_report(a.mtcc, a.work, "rss_" + label, [rss], extra)
        if rep:
            kinds = group_kinds(rep, "ReduceSumSquare")
            check(kinds == ["reduction"], f"ReduceSumSquare ({label}): group kinds {kinds}, want ['reduction']")

    # two tenants need two distinct files (a tenant is named after its file)
    paths = []
    for i in range(2):
        p = os.path.join(a.work, f"einsum_t{i}.onnx")
        einsum_transpose_model(p)
        paths.append(p)
    rep = compile_report(a.mtcc, a.work, "einsum", paths)
    if rep:
        kinds = group_kinds(rep, "Einsum")
        check(kinds == ["data-movement", "data-movement"], f"Einsum ij->ji: group kinds {kinds}, want data-movement")
        hkinds = [h["kind"] for h in rep["horizontal_groups"]]
        check(not any("gemm" in k for k in hkinds), f"Einsum ij->ji: horizontal groups {hkinds} include a GEMM")

    print("op traits: " + ("ok" if not failures else f"{len(failures)} misclassification(s)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
