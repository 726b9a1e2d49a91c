#!/usr/bin/env python3
"""If and NonZero in bundles: compile -> .mtbundle -> libmtrt's CPU path, against ONNX Runtime.

The model has an If whose branches compute from outer-scope values (the graph input and a
weight), a nested If inside the then-branch (on a second condition input), a branch that returns
a Constant node's tensor, and two outputs per If. Both conditions are run with every combination
(so every branch runs), on 1 and 2 CPU threads (the session's race check covers the branch nodes'
buffers), and each output must match ONNX Runtime (rtol 1e-5). The bundle's `inspect` must show
the If. Fails when mtcc refuses the model, so a regression cannot pass as a skip.

NonZero: a model whose NonZero reads a weight (with fold-constants off, so the node reaches the
bundle: its output shape is known when compiling) feeding computed nodes; the bundle's CPU path
must match ONNX Runtime.

usage: check_bundle_if.py --mtcc MTCC --work DIR
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def model():
    f = TensorProto.FLOAT
    w = numpy_helper.from_array(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), "w")
    k = numpy_helper.from_array(np.full((3, 4), 0.25, np.float32), "k")
    inner_then = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["it"])], "inner_then", [],
        [helper.make_tensor_value_info("it", f, [3, 4])])
    inner_else = helper.make_graph(
        [helper.make_node("Constant", [], ["ie"],
                          value=numpy_helper.from_array(np.full((3, 4), 7, np.float32)))],
        "inner_else", [], [helper.make_tensor_value_info("ie", f, [3, 4])])
    then_b = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["t0"]),
         helper.make_node("Relu", ["t0"], ["t1"]),
         helper.make_node("If", ["c2"], ["t2"], then_branch=inner_then, else_branch=inner_else),
         helper.make_node("Sub", ["t2", "t1"], ["t3"])],
        "then_b", [], [helper.make_tensor_value_info("t3", f, [3, 4]),
                       helper.make_tensor_value_info("t1", f, [3, 4])])
    else_b = helper.make_graph(
        [helper.make_node("Mul", ["x", "k"], ["e0"]),
         helper.make_node("Tanh", ["e0"], ["e1"]),
         helper.make_node("Identity", ["x"], ["ex"])],
        "else_b", [], [helper.make_tensor_value_info("e1", f, [3, 4]),
                       helper.make_tensor_value_info("ex", f, [3, 4])])
    g = helper.make_graph(
        [helper.make_node("Sigmoid", ["x_in"], ["x"]),
         helper.make_node("If", ["c1"], ["r0", "r1"], then_branch=then_b, else_branch=else_b),
         helper.make_node("Add", ["r0", "x"], ["y0"]),
         helper.make_node("Neg", ["r1"], ["y1"])],
        "if_model",
        [helper.make_tensor_value_info("x_in", f, [3, 4]),
         helper.make_tensor_value_info("c1", TensorProto.BOOL, []),
         helper.make_tensor_value_info("c2", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y0", f, [3, 4]),
         helper.make_tensor_value_info("y1", f, [3, 4])], [w, k])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def nonzero_model():
    c = numpy_helper.from_array(np.array([[1, 0, 3], [0, 5, 0]], np.float32), "c")
    g = helper.make_graph(
        [helper.make_node("NonZero", ["c"], ["nz"]),
         helper.make_node("Cast", ["nz"], ["nzf"], to=TensorProto.FLOAT),
         helper.make_node("Add", ["nzf", "x"], ["y"])],
        "nz_model", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [c])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def check_nonzero(mtcc, work):
    """Error lines (empty when the NonZero bundle matches ONNX Runtime)."""
    path = os.path.join(work, "nz_model.onnx")
    onnx.save(nonzero_model(), path)
    bundle = os.path.join(work, "nz.mtbundle")
    p = subprocess.run([mtcc, "compile", path, "-o", bundle, "--disable-pass=fold-constants"],
                       capture_output=True, text=True)
    if p.returncode:
        return ["NonZero: compile: " + p.stderr.strip()]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.save(os.path.join(work, "nz_x.npy"), x)
    out = os.path.join(work, "nz_out")
    p = subprocess.run([mtcc, "run", bundle, "--input", "x=" + os.path.join(work, "nz_x.npy"),
                        "--output-dir", out], capture_output=True, text=True)
    if p.returncode:
        return ["NonZero: run: " + p.stderr.strip()]
    want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got = np.load(os.path.join(out, "nz_model", "y.npy"))
    if got.shape != want.shape or not np.array_equal(got, want):
        return ["NonZero: output differs from ONNX Runtime:\n%s\n%s" % (got, want)]
    return []


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    path = os.path.join(args.work, "if_model.onnx")
    onnx.save(model(), path)
    bundle = os.path.join(args.work, "if.mtbundle")
    p = subprocess.run([args.mtcc, "compile", path, "-o", bundle], capture_output=True, text=True)
    if p.returncode:
        print("FAIL compile: " + p.stderr.strip())
        return 1
    p = subprocess.run([args.mtcc, "inspect", bundle], capture_output=True, text=True)
    if p.returncode or " if=1 (branches and bodies: 8 nodes)" not in p.stdout:
        print("FAIL inspect does not show the If and its 8 branch nodes:\n" + p.stdout + p.stderr)
        return 1
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(7).standard_normal((3, 4)).astype(np.float32)
    failures, runs = 0, 0
    for c1 in (True, False):
        for c2 in (True, False):
            feeds = {"x_in": x, "c1": np.array(c1), "c2": np.array(c2)}
            want = sess.run(None, feeds)
            ins = []
            for name, v in feeds.items():
                f = os.path.join(args.work, name + ".npy")
                np.save(f, v)
                ins += ["--input", "%s=%s" % (name, f)]
            for threads in ("1", "2"):
                out = os.path.join(args.work, "out")
                shutil.rmtree(out, ignore_errors=True)
                p = subprocess.run([args.mtcc, "run", bundle, "--cpu-threads", threads,
                                    "--output-dir", out] + ins, capture_output=True, text=True)
                tag = "c1=%d c2=%d threads=%s" % (c1, c2, threads)
                if p.returncode:
                    print("FAIL %s: run: %s" % (tag, p.stderr.strip()))
                    failures += 1
                    continue
                runs += 1
                for name, w in zip(("y0", "y1"), want):
                    got = np.load(os.path.join(out, "if_model", name + ".npy"))
                    if got.shape != w.shape or not np.allclose(got, w, rtol=1e-5, atol=1e-6):
                        print("FAIL %s: %s differs from ONNX Runtime (max diff %g)" %
                              (tag, name, float(np.max(np.abs(got - w)))))
                        failures += 1
    for e in check_nonzero(args.mtcc, args.work):
        print("FAIL " + e)
        failures += 1
    print("bundle If: %d runs, NonZero: 1 run; %d failures" % (runs, failures))
    return 1 if failures or runs != 8 else 0


if __name__ == "__main__":
    sys.exit(main())
