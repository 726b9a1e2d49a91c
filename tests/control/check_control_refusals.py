#!/usr/bin/env python3
"""Models with Loop, Scan and sequence values: `mtcc run --reference` runs them and matches ONNX
Runtime; `mtcc compile` records the Loop/Scan node as not generated with the documented reason
(CUDA Graph conditional nodes are the GPU runtime's future job); `mtcc compile -o` writes a
bundle for Loop and Scan whose CPU path (`mtcc run BUNDLE`) matches ONNX Runtime too, and refuses
the sequence model naming the tenant and the node, never writing a file. A Loop with neither a trip count
nor a condition that turns false stops with an error naming the node instead of hanging. A
sequence goes in and out of `run --reference` as SequenceProto .pb files.

usage: check_control_refusals.py --mtcc MTCC --work DIR"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as T, helper, numpy_helper

F = T.FLOAT


def vi(name, dtype=F, shape=None):
    return helper.make_tensor_value_info(name, dtype, shape)


def loop_model():
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["x_in", "one"], ["x_out"]),
         helper.make_node("Mul", ["x_in", "two"], ["y"])],
        "body", [vi("i", T.INT64, []), vi("cond_in", T.BOOL, []), vi("x_in", F, [2])],
        [vi("cond_out", T.BOOL, []), vi("x_out", F, [2]), vi("y", F, [2])],
        [numpy_helper.from_array(np.array([1], np.float32), "one"),
         numpy_helper.from_array(np.array([2], np.float32), "two")])
    g = helper.make_graph(
        [helper.make_node("Loop", ["m", "c", "x0"], ["xf", "ys"], name="the_loop", body=body),
         helper.make_node("Relu", ["ys"], ["r"], name="after")],
        "g", [vi("x0", F, [2])], [vi("xf", F, [2]), vi("r", F, [5, 2])],
        [numpy_helper.from_array(np.array(5, np.int64), "m"),
         numpy_helper.from_array(np.array(True), "c")])
    return g, 13


def scan_model():
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "xi"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["yi"])],
        "body", [vi("s_in", F, [3]), vi("xi", F, [3])], [vi("s_out", F, [3]), vi("yi", F, [3])])
    g = helper.make_graph(
        [helper.make_node("Scan", ["s0", "xs"], ["sf", "ys"], name="the_scan", body=body,
                          num_scan_inputs=1)],
        "g", [vi("s0", F, [3]), vi("xs", F, [4, 3])], [vi("sf", F, [3]), vi("ys", F, [4, 3])])
    return g, 11


def sequence_model():
    g = helper.make_graph(
        [helper.make_node("SplitToSequence", ["x"], ["s"], name="the_split", axis=0, keepdims=0),
         helper.make_node("ConcatFromSequence", ["s"], ["y"], name="the_concat", axis=1,
                          new_axis=1)],
        "g", [vi("x", F, [4, 3])], [vi("y", F, [3, 4])])
    return g, 13


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(5)
    problems = []
    for name, make, node, op in [("loop", loop_model, "the_loop", "Loop"),
                                 ("scan", scan_model, "the_scan", "Scan"),
                                 ("seq", sequence_model, "the_concat", "ConcatFromSequence")]:
        graph, opset = make()
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        path = os.path.join(args.work, f"{name}.onnx")
        onnx.save(model, path)
        feeds, cli = {}, []
        for inp in graph.input:
            shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
            fpath = os.path.join(args.work, f"{name}_{inp.name}.npy")
            np.save(fpath, feeds[inp.name])
            cli += ["--input", f"{inp.name}={fpath}"]
        want = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"]).run(None, feeds)
        out_dir = os.path.join(args.work, f"{name}_out")
        r = subprocess.run([args.mtcc, "run", "--reference", path, *cli, "--output-dir", out_dir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"{name}: run --reference failed: {r.stderr.strip()}")
        else:
            for k, o in enumerate(graph.output):
                got = np.load(os.path.join(out_dir, name, f"{o.name}.npy"))
                if got.shape != want[k].shape or not np.allclose(got, want[k], rtol=1e-5, atol=1e-6):
                    problems.append(f"{name}: output {o.name} differs from ONNX Runtime")
        bundle = os.path.join(args.work, f"{name}.mtbundle")
        r = subprocess.run([args.mtcc, "compile", path, "-o", bundle, "--cpu-only"],
                           capture_output=True, text=True)
        want_msg = f"node '{node}' ({op})"
        if op in ("Loop", "Scan"):  # in bundles: the body runs on libmtrt's CPU path
            out_dir = os.path.join(args.work, f"{name}_bundle_out")
            if r.returncode != 0:
                problems.append(f"{name}: compile -o failed: {r.stderr.strip()}")
            else:
                r = subprocess.run([args.mtcc, "run", bundle, *cli, "--output-dir", out_dir],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    problems.append(f"{name}: run BUNDLE failed: {r.stderr.strip()}")
                for k, o in enumerate(graph.output if r.returncode == 0 else []):
                    got = np.load(os.path.join(out_dir, name, f"{o.name}.npy"))
                    if got.shape != want[k].shape or not np.allclose(got, want[k], rtol=1e-5,
                                                                     atol=1e-6):
                        problems.append(f"{name}: bundle output {o.name} differs from ONNX Runtime")
        elif r.returncode == 0 or os.path.exists(bundle):
            problems.append(f"{name}: compile -o wrote a bundle")
        elif want_msg not in r.stderr or f"tenant '{name}'" not in r.stderr:
            problems.append(f"{name}: the refusal does not name tenant and node: {r.stderr.strip()}")
        if op in ("Loop", "Scan"):
            report = os.path.join(args.work, f"{name}.json")
            r = subprocess.run([args.mtcc, "compile", path, "--report", report],
                               capture_output=True, text=True)
            if r.returncode != 0:
                problems.append(f"{name}: compile --report failed: {r.stderr.strip()}")
                continue
            with open(report) as f:
                reasons = [g["reason"] for g in json.load(f)["codegen"]["not_generated"]]
            if not any(want_msg in x and "CUDA Graph conditional WHILE" in x for x in reasons):
                problems.append(f"{name}: no not_generated record names {want_msg}: {reasons}")
    # a Loop whose condition never turns false and has no trip count stops with an error
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Identity", ["x_in"], ["x_out"])],
        "body", [vi("i", T.INT64, []), vi("c_in", T.BOOL, []), vi("x_in", F, [1])],
        [vi("c_out", T.BOOL, []), vi("x_out", F, [1])])
    g = helper.make_graph([helper.make_node("Loop", ["", "c", "x"], ["y"], name="endless",
                                            body=body)],
                          "g", [vi("x", F, [1])], [vi("y", F, [1])],
                          [numpy_helper.from_array(np.array(True), "c")])
    path = os.path.join(args.work, "endless.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    np.save(os.path.join(args.work, "x1.npy"), np.ones(1, np.float32))
    r = subprocess.run([args.mtcc, "run", "--reference", path, "--input",
                        "x=" + os.path.join(args.work, "x1.npy"), "--output-dir",
                        os.path.join(args.work, "endless_out")], capture_output=True, text=True)
    if r.returncode == 0 or "node 'endless' (Loop)" not in r.stderr or "no trip count" not in r.stderr:
        problems.append(f"endless: expected a refusal naming the node, got rc {r.returncode}: "
                        f"{r.stderr.strip()}")
    # sequence values through `run --reference`: a SequenceProto input file, a SequenceProto output
    g = helper.make_graph(
        [helper.make_node("SequenceInsert", ["s", "t", "zero"], ["s2"], name="insert")],
        "g", [helper.make_tensor_sequence_value_info("s", F, None), vi("t", F, [2])],
        [helper.make_tensor_sequence_value_info("s2", F, None)],
        [numpy_helper.from_array(np.array(0, np.int64), "zero")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(args.work, "seqio.onnx")
    onnx.save(model, path)
    seq = [rng.standard_normal((2,)).astype(np.float32) for _ in range(3)]
    t = rng.standard_normal((2,)).astype(np.float32)
    with open(os.path.join(args.work, "seqio_s.pb"), "wb") as f:
        f.write(numpy_helper.from_list(seq, "s").SerializeToString())
    np.save(os.path.join(args.work, "seqio_t.npy"), t)
    want = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, {"s": seq, "t": t})[0]
    out_dir = os.path.join(args.work, "seqio_out")
    r = subprocess.run([args.mtcc, "run", "--reference", path,
                        "--input", "s=" + os.path.join(args.work, "seqio_s.pb"),
                        "--input", "t=" + os.path.join(args.work, "seqio_t.npy"),
                        "--output-dir", out_dir, "--output-format", "pb"],
                       capture_output=True, text=True)
    got = None
    if r.returncode == 0:
        sp = onnx.SequenceProto()
        with open(os.path.join(out_dir, "seqio", "s2.pb"), "rb") as f:
            sp.ParseFromString(f.read())
        got = numpy_helper.to_list(sp)
    if got is None or len(got) != len(want) or not all(
            np.array_equal(a, b) for a, b in zip(got, want)):
        problems.append(f"seqio: run --reference sequence in/out differs from ONNX Runtime "
                        f"(rc {r.returncode}: {r.stderr.strip()})")
    for p in problems:
        print("FAIL", p)
    print(f"check_control_refusals: {5 - len({p.split(':')[0] for p in problems})}/5 models as "
          "expected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
