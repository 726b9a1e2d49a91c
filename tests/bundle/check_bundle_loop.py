#!/usr/bin/env python3
"""Loop and Scan in bundles: compile -> .mtbundle -> libmtrt's CPU path, against ONNX Runtime and
`mtcc run --reference`.

Models (generated here with onnx.helper):
- loop_fixed: a Loop with a constant trip count (M = 5), a loop-carried tensor, a scan output,
  reads of a graph input and a weight from outer scope, and an If inside the body on a condition
  computed from the iteration number (a nested body);
- loop_nested: a Loop in a Loop's body, a body returning an outer value as its scan slice, and a
  Loop of zero iterations (an empty scan output);
- loop_while: a Loop whose trip count is data (M and the initial condition graph inputs, the
  body's condition computed from the carried values; no scan outputs), whose body swaps two
  carried values (a, b -> b, a + b), run for several inputs so the loop stops at different
  iterations, including M = 0 and a false initial condition; loop_cond: the same without M;
- loop_endless: no M and a condition that stays true: the bundle's run must stop with an error
  naming the node (the 2^20-iteration cap), not hang;
- scan9: a Scan (opset 16) with a state, two scan inputs on different axes, one reversed, and two
  scan outputs on different axes, one reversed;
- scan8: the opset-8 Scan (batch axis, sequence_lens omitted), two batch entries.
Every output must match ONNX Runtime (rtol 1e-5, atol 1e-6) on 1 and 2 CPU threads, and
`mtcc run --reference` must agree. `mtcc inspect` must count the loop. A Loop whose scan output
length is data must be refused at compile time naming the tenant and the node. Fails when mtcc
refuses a model it should take, so a regression cannot pass as a skip.

usage: check_bundle_loop.py --mtcc MTCC --work DIR
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

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def loop_fixed():
    w = numpy_helper.from_array(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), "w")
    two = numpy_helper.from_array(np.array(2, np.int64), "two")
    zero = numpy_helper.from_array(np.array(0, np.int64), "zero")
    then_b = helper.make_graph([helper.make_node("Add", ["y_in", "w"], ["t"])], "then_b", [],
                               [vi("t", F, [2, 3])])
    else_b = helper.make_graph([helper.make_node("Mul", ["y_in", "v"], ["e"])], "else_b", [],
                               [vi("e", F, [2, 3])])
    body = helper.make_graph(
        [helper.make_node("Mod", ["i", "two"], ["r"]),
         helper.make_node("Equal", ["r", "zero"], ["even"]),
         helper.make_node("If", ["even"], ["z"], then_branch=then_b, else_branch=else_b),
         helper.make_node("Cast", ["i"], ["fi"], to=F),
         helper.make_node("Mul", ["z", "fi"], ["zi"]),
         helper.make_node("Tanh", ["zi"], ["y_out"]),
         helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Sub", ["y_out", "v"], ["s"])],
        "body", [vi("i", I64, []), vi("c_in", B, []), vi("y_in", F, [2, 3])],
        [vi("c_out", B, []), vi("y_out", F, [2, 3]), vi("s", F, [2, 3])])
    g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["x1"]),
         helper.make_node("Loop", ["M", "", "x1"], ["yf", "scan"], name="fixed_loop", body=body),
         helper.make_node("Sigmoid", ["yf"], ["out"])],
        "loop_fixed", [vi("x", F, [2, 3]), vi("v", F, [2, 3])],
        [vi("out", F, [2, 3]), vi("scan", F, [5, 2, 3])],
        [numpy_helper.from_array(np.array(5, np.int64), "M"), w, two, zero])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def loop_nested():
    """A Loop inside a Loop's body (the inner scan output reduced), a body output that is an outer
    value, and a Loop of zero iterations (an empty scan output)."""
    inner = helper.make_graph(
        [helper.make_node("Identity", ["ic_in"], ["ic_out"]),
         helper.make_node("Add", ["z_in", "y_in"], ["z_out"]),
         helper.make_node("Cast", ["j"], ["fj"], to=F),
         helper.make_node("Mul", ["z_out", "fj"], ["zs"])],
        "inner", [vi("j", I64, []), vi("ic_in", B, []), vi("z_in", F, [3])],
        [vi("ic_out", B, []), vi("z_out", F, [3]), vi("zs", F, [3])])
    outer = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Loop", ["M2", "", "y_in"], ["zf", "zsc"], body=inner,
                          name="inner_loop"),
         helper.make_node("ReduceSum", ["zsc", "ax0"], ["r"], keepdims=0),
         helper.make_node("Add", ["zf", "r"], ["y_out"]),
         helper.make_node("Identity", ["w"], ["wpass"])],
        "outer", [vi("i", I64, []), vi("c_in", B, []), vi("y_in", F, [3])],
        [vi("c_out", B, []), vi("y_out", F, [3]), vi("wpass", F, [3])])
    zero = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Neg", ["y_in"], ["y_out"]),
         helper.make_node("Identity", ["y_out"], ["s"])],
        "zero", [vi("i", I64, []), vi("c_in", B, []), vi("y_in", F, [3])],
        [vi("c_out", B, []), vi("y_out", F, [3]), vi("s", F, [3])])
    i64 = lambda v, name: numpy_helper.from_array(np.array(v, np.int64), name)
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", "", "x"], ["yf", "ws"], body=outer, name="outer_loop"),
         helper.make_node("Loop", ["M0", "", "x"], ["y0", "s0"], body=zero, name="zero_loop")],
        "loop_nested", [vi("x", F, [3]), vi("w", F, [3])],
        [vi("yf", F, [3]), vi("ws", F, [4, 3]), vi("y0", F, [3]), vi("s0", F, [0, 3])],
        [i64([0], "ax0"), i64(4, "M"), i64(2, "M2"), i64(0, "M0")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def loop_while(with_m=True):
    body = helper.make_graph(
        [helper.make_node("Identity", ["b_in"], ["a_out"]),
         helper.make_node("Add", ["a_in", "b_in"], ["b_out"]),
         helper.make_node("ReduceSum", ["b_out"], ["tot"], keepdims=0),
         helper.make_node("Less", ["tot", "limit"], ["c_out"])],
        "body", [vi("i", I64, []), vi("c_in", B, []), vi("a_in", F, [4]), vi("b_in", F, [4])],
        [vi("c_out", B, []), vi("a_out", F, [4]), vi("b_out", F, [4])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["M" if with_m else "", "c0", "a", "b"], ["af", "bf"],
                          name="while_loop", body=body)],
        "loop_while" if with_m else "loop_cond",
        ([vi("M", I64, [])] if with_m else []) +
        [vi("c0", B, []), vi("a", F, [4]), vi("b", F, [4]), vi("limit", F, [])],
        [vi("af", F, [4]), vi("bf", F, [4])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def loop_endless():
    """No M, a condition that stays true: the bundle's run stops with an error, not a hang."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Neg", ["x_in"], ["x_out"])],
        "body", [vi("i", I64, []), vi("c_in", B, []), vi("x_in", F, [1])],
        [vi("c_out", B, []), vi("x_out", F, [1])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["", "c", "x"], ["y"], name="endless", body=body)],
        "loop_endless", [vi("x", F, [1]), vi("c", B, [])], [vi("y", F, [1])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def loop_unbounded():
    """A scan output whose length is the data-dependent trip count: refused when compiling."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Add", ["y_in", "y_in"], ["y_out"]),
         helper.make_node("Identity", ["y_out"], ["s"])],
        "body", [vi("i", I64, []), vi("c_in", B, []), vi("y_in", F, [2])],
        [vi("c_out", B, []), vi("y_out", F, [2]), vi("s", F, [2])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", "", "y"], ["yf", "scan"], name="data_loop", body=body)],
        "loop_unbounded", [vi("M", I64, []), vi("y", F, [2])],
        [vi("yf", F, [2]), vi("scan", F, None)])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def scan9():
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "xa"], ["s_out"]),
         helper.make_node("Mul", ["s_out", "xb"], ["o1"]),
         helper.make_node("Sub", ["xa", "xb"], ["o2"])],
        "body", [vi("s_in", F, [3, 2]), vi("xa", F, [3, 2]), vi("xb", F, [3, 2])],
        [vi("s_out", F, [3, 2]), vi("o1", F, [3, 2]), vi("o2", F, [3, 2])])
    g = helper.make_graph(
        [helper.make_node("Scan", ["s0", "xa", "xb"], ["sf", "y1", "y2"], name="scan9",
                          body=body, num_scan_inputs=2, scan_input_axes=[1, -3],
                          scan_input_directions=[1, 0], scan_output_axes=[2, 0],
                          scan_output_directions=[0, 1])],
        "scan9", [vi("s0", F, [3, 2]), vi("xa", F, [3, 4, 2]), vi("xb", F, [4, 3, 2])],
        [vi("sf", F, [3, 2]), vi("y1", F, [3, 2, 4]), vi("y2", F, [4, 3, 2])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)])


def scan8():
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "x"], ["s_out"]),
         helper.make_node("Mul", ["s_out", "x"], ["o"])],
        "body", [vi("s_in", F, [3]), vi("x", F, [3])],
        [vi("s_out", F, [3]), vi("o", F, [3])])
    g = helper.make_graph(
        [helper.make_node("Scan", ["", "s0", "x"], ["sf", "y"], name="scan8", body=body,
                          num_scan_inputs=1, directions=[1])],
        "scan8", [vi("s0", F, [2, 3]), vi("x", F, [2, 5, 3])],
        [vi("sf", F, [2, 3]), vi("y", F, [2, 5, 3])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 8)])


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def check_model(mtcc, work, name, model, feeds_list, inspect_text):
    """Error lines for one model (empty when every run matches)."""
    path = os.path.join(work, name + ".onnx")
    onnx.save(model, path)
    bundle = os.path.join(work, name + ".mtbundle")
    p = run([mtcc, "compile", path, "-o", bundle])
    if p.returncode:
        return ["%s: compile: %s" % (name, p.stderr.strip())]
    p = run([mtcc, "inspect", bundle])
    if p.returncode or inspect_text not in p.stdout:
        return ["%s: inspect does not show %r:\n%s%s" % (name, inspect_text, p.stdout, p.stderr)]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    errors = []
    for n_feed, feeds in enumerate(feeds_list):
        want = sess.run(None, feeds)
        names = [o.name for o in sess.get_outputs()]
        ins = []
        for k, v in feeds.items():
            f = os.path.join(work, "%s_%d_%s.npy" % (name, n_feed, k))
            np.save(f, v)
            ins += ["--input", "%s=%s" % (k, f)]
        runs = [("threads=1", [mtcc, "run", bundle, "--cpu-threads", "1"]),
                ("threads=2", [mtcc, "run", bundle, "--cpu-threads", "2"]),
                ("reference", [mtcc, "run", "--reference", path])]
        for tag, cmd in runs:
            out = os.path.join(work, "out")
            shutil.rmtree(out, ignore_errors=True)
            p = run(cmd + ["--output-dir", out] + ins)
            tag = "%s feeds %d %s" % (name, n_feed, tag)
            if p.returncode:
                errors.append("%s: run: %s" % (tag, p.stderr.strip()))
                continue
            for o, w in zip(names, want):
                got = np.load(os.path.join(out, name, o + ".npy"))
                if got.shape != w.shape or not np.allclose(got, w, rtol=1e-5, atol=1e-6):
                    errors.append("%s: output %s differs from ONNX Runtime:\n%s\n%s"
                                  % (tag, o, got, w))
    print("%s: %d input set(s) x 3 runs checked" % (name, len(feeds_list)))
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    rng = np.random.default_rng(11)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
    errors = []
    errors += check_model(args.mtcc, args.work, "loop_fixed", loop_fixed(),
                          [{"x": f32(2, 3), "v": f32(2, 3)}], " loop/scan=1 ")
    errors += check_model(args.mtcc, args.work, "loop_nested", loop_nested(),
                          [{"x": f32(3), "w": f32(3)}], " loop/scan=2 ")
    whiles = []
    for m, c0, limit in ((50, True, 30.0), (3, True, 1e9), (0, True, 1.0), (50, True, -1.0),
                         (50, False, 30.0)):
        whiles.append({"M": np.array(m, np.int64), "c0": np.array(c0), "a": np.abs(f32(4)) + 0.1,
                       "b": np.abs(f32(4)) + 0.1, "limit": np.array(limit, np.float32)})
    errors += check_model(args.mtcc, args.work, "loop_while", loop_while(), whiles,
                          " loop/scan=1 ")
    conds = [{k: v for k, v in feeds.items() if k != "M"} for feeds in whiles[:2]]
    errors += check_model(args.mtcc, args.work, "loop_cond", loop_while(False), conds,
                          " loop/scan=1 ")
    errors += check_model(args.mtcc, args.work, "scan9", scan9(),
                          [{"s0": f32(3, 2), "xa": f32(3, 4, 2), "xb": f32(4, 3, 2)}],
                          " loop/scan=1 ")
    errors += check_model(args.mtcc, args.work, "scan8", scan8(),
                          [{"s0": f32(2, 3), "x": f32(2, 5, 3)}], " loop/scan=1 ")
    # no GPU code for the loop's group: inspect names the node and why (a GPU session refuses)
    p = run([args.mtcc, "inspect", os.path.join(args.work, "loop_fixed.mtbundle")])
    if "node 'fixed_loop' (Loop): Loop/Scan have no GPU code" not in p.stdout:
        errors.append("loop_fixed: inspect does not name the Loop group without GPU code:\n"
                      + p.stdout)
    path = os.path.join(args.work, "loop_endless.onnx")
    onnx.save(loop_endless(), path)
    bundle = os.path.join(args.work, "endless.mtbundle")
    p = run([args.mtcc, "compile", path, "-o", bundle, "--cpu-only"])
    x, c = os.path.join(args.work, "e_x.npy"), os.path.join(args.work, "e_c.npy")
    np.save(x, np.ones(1, np.float32))
    np.save(c, np.array(True))
    if p.returncode == 0:
        p = run([args.mtcc, "run", bundle, "--input", "x=" + x, "--input", "c=" + c,
                 "--output-dir", os.path.join(args.work, "endless_out")])
    if p.returncode == 0 or "node 'endless'" not in p.stderr or "no trip count" not in p.stderr:
        errors.append("loop_endless: expected the run to stop naming the node, got exit %d: %s"
                      % (p.returncode, p.stderr.strip()))
    else:
        print("loop_endless stopped: " + p.stderr.strip().splitlines()[-1])
    path = os.path.join(args.work, "loop_unbounded.onnx")
    onnx.save(loop_unbounded(), path)
    p = run([args.mtcc, "compile", path, "-o", os.path.join(args.work, "unbounded.mtbundle")])
    if (p.returncode == 0 or "tenant 'loop_unbounded'" not in p.stderr
            or "node 'data_loop'" not in p.stderr or "trip count" not in p.stderr):
        errors.append("loop_unbounded: expected a refusal naming tenant, node and the trip "
                      "count, got exit %d: %s" % (p.returncode, p.stderr.strip()))
    else:
        print("loop_unbounded refused: " + p.stderr.strip().splitlines()[-1])
    for e in errors:
        print("FAIL " + e)
    print("bundle_loop: %s" % ("FAILED" if errors else "ok"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
