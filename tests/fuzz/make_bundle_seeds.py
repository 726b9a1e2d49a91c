#!/usr/bin/env python3
"""Writes the .mtbundle seeds of the loader fuzz target (checked in; rerun only to change them):
small models that together use nearly every CPU kernel kind, compiled by `mtcc compile -o`, so
the fuzzer's mutations start from real manifests and reach every kind's parameter check in the
loader and its kernel when the mutated bundle is accepted and run. Tensors stay tiny (the fuzz
target runs whatever loads). `mtcc compile` is deterministic, so the bytes only change when the
compiler's output does.

seeds/bundle/nn.mtbundle      Conv, ConvTranspose, pools, BatchNorm, InstanceNorm, LayerNorm,
                              Gemm, MatMul, Softmax, Einsum
seeds/bundle/data.mtbundle    Transpose, Expand, Tile, DepthToSpace, SpaceToDepth, Concat,
                              Split, Slice, Gather, GatherElements, Pad, Resize, Shape, Size,
                              ConstantOfShape, Range, Where, Cast, Clip
seeds/bundle/reduce.mtbundle  Reduce*, ArgMax, TopK, CumSum, variadic Sum and Max, comparisons
seeds/bundle/two_tenants.mtbundle  two tenants in two partitions (nn and reduce models)
seeds/bundle/if.mtbundle      an If whose then-branch holds a nested If (branch nodes, a Constant
                              branch, results copied out); CPU plan only (--cpu-only)
seeds/bundle/loop.mtbundle    a Loop (constant trip count, a carried value, a scan output) and a
                              Scan (a state, a reversed scan input); CPU plan only (--cpu-only)

usage: make_bundle_seeds.py --mtcc MTCC [--out DIR]
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

F, I64 = TensorProto.FLOAT, TensorProto.INT64


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, values, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def weights(name, shape, seed):
    rng = np.random.default_rng(seed)
    return numpy_helper.from_array(rng.uniform(-1, 1, shape).astype(np.float32), name)


def model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="seeds")
    m.ir_version = 8
    return m


def n(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, name=outs[0], **attrs)


def nn_model():
    inits = [weights("w", [4, 2, 3, 3], 1), weights("b", [4], 2), weights("wt", [4, 2, 2, 2], 3),
             weights("scale", [4], 4), weights("bias", [4], 5), const("mean", [0.1, 0, -0.1, 0.2]),
             const("var", [1, 0.5, 2, 1]), weights("wg", [16, 3], 6), weights("bg", [3], 7),
             weights("ln_s", [2], 8), weights("wm", [2, 2], 9), const("shape", [2, 16], np.int64)]
    nodes = [
        n("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        n("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["bn"]),
        n("Relu", ["bn"], ["r"]),
        n("MaxPool", ["r"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),
        n("AveragePool", ["r"], ["ap"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
          count_include_pad=1, strides=[2, 2]),
        n("Add", ["mp", "ap"], ["pa"]),
        n("InstanceNormalization", ["pa", "scale", "bias"], ["inn"]),
        n("ConvTranspose", ["inn", "wt"], ["ct"], strides=[2, 2]),
        n("GlobalAveragePool", ["ct"], ["gp"]),
        n("Reshape", ["inn", "shape"], ["flat"]),
        n("Gemm", ["flat", "wg", "bg"], ["gm"]),
        n("Softmax", ["gm"], ["sm"], axis=1),
        n("LayerNormalization", ["gp_t", "ln_s"], ["ln"], axis=-1),
        n("Transpose", ["gp"], ["gp_t"], perm=[0, 2, 3, 1]),
        n("MatMul", ["ln", "wm"], ["mm"]),
        n("Einsum", ["mm", "mm"], ["es"], equation="abcd,abcd->ab"),
    ]
    nodes = [nodes[i] for i in (0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 9, 10, 11, 12, 14, 15)]
    return model(nodes, [vi("x", [2, 2, 4, 4])], [vi("sm", [2, 3]), vi("es", [2, 1])], inits)


def data_model():
    inits = [const("reps", [1, 2], np.int64), const("eshape", [3, 2, 4], np.int64),
             const("starts", [0, 1], np.int64), const("ends", [3, 4], np.int64),
             const("steps", [2, 2], np.int64), const("idx", [[2, 0], [1, 1]], np.int64),
             const("gidx", [[0, 1, 0, 1], [1, 0, 1, 0]], np.int64),
             const("pads", [0, 1, 1, 0], np.int64), const("scales", [1, 1, 2, 1.5]),
             const("lo", -0.5), const("hi", 0.5), const("cshape", [2, 2], np.int64),
             const("start", 1, np.int64), const("limit", 7, np.int64),
             const("delta", 2, np.int64), const("zero", 0.0)]
    nodes = [
        n("Transpose", ["x"], ["t"], perm=[1, 0]),
        n("Tile", ["t", "reps"], ["tl"]),
        n("Expand", ["x", "eshape"], ["ex"]),
        n("Concat", ["x", "x"], ["cat"], axis=0),
        n("Split", ["cat"], ["s0", "s1"], axis=1, num_outputs=2),
        n("Slice", ["cat", "starts", "ends", "starts", "steps"], ["sl"]),
        n("Gather", ["x", "idx"], ["ga"], axis=1),
        n("GatherElements", ["x", "gidx"], ["ge"], axis=1),
        n("Pad", ["x", "pads"], ["pd"], mode="reflect"),
        n("Reshape", ["ex", "cshape4"], ["ex4"]),
        n("Resize", ["ex4", "", "scales"], ["rs"], mode="linear"),
        n("DepthToSpace", ["ex4"], ["d2s"], blocksize=2),
        n("SpaceToDepth", ["d2s"], ["s2d"], blocksize=2),
        n("Shape", ["ge"], ["shp"]),
        n("Size", ["pd"], ["sz"]),
        n("ConstantOfShape", ["cshape"], ["cs"]),
        n("Range", ["start", "limit", "delta"], ["rg"]),
        n("Greater", ["x", "zero"], ["gt"]),
        n("Where", ["gt", "x", "zero"], ["wh"]),
        n("Cast", ["wh"], ["ci"], to=I64),
        n("Clip", ["pd", "lo", "hi"], ["cl"]),
    ]
    inits.append(const("cshape4", [1, 4, 3, 2], np.int64))
    outs = [vi("tl", None), vi("ge", None), vi("s1", None), vi("sl", None), vi("ga", None), vi("rs", None),
            vi("s2d", None), vi("shp", None, I64), vi("sz", None, I64), vi("cs", None),
            vi("rg", None, I64), vi("ci", None, I64), vi("cl", None)]
    return model(nodes, [vi("x", [2, 4])], outs, inits)


def reduce_model():
    inits = [const("axes", [1], np.int64), const("k", [2], np.int64), const("ax", 1, np.int64)]
    nodes = [
        n("ReduceSum", ["x", "axes"], ["rsum"], keepdims=0),
        n("ReduceMax", ["x"], ["rmax"], axes=[0], keepdims=1),
        n("ReduceLogSumExp", ["x"], ["rlse"], axes=[1]),
        n("ArgMax", ["x"], ["am"], axis=1, keepdims=0),
        n("TopK", ["x", "k"], ["tv", "ti"], axis=1),
        n("CumSum", ["x", "ax"], ["cu"], exclusive=1),
        n("Sum", ["x", "cu", "x"], ["vs"]),
        n("Max", ["vs", "x"], ["vm"]),
        n("Less", ["vm", "cu"], ["lt"]),
    ]
    outs = [vi("rsum", None), vi("rmax", None), vi("rlse", None), vi("am", None, I64),
            vi("tv", None), vi("ti", None, I64), vi("lt", None, TensorProto.BOOL)]
    return model(nodes, [vi("x", [3, 5])], outs, inits, opset=13)


def if_model():
    inner_then = helper.make_graph([n("Mul", ["x", "w"], ["it"])], "inner_then", [],
                                   [vi("it", [3, 4])])
    inner_else = helper.make_graph([n("Constant", [], ["ie"], value=const("v", np.full((3, 4), 7)))],
                                   "inner_else", [], [vi("ie", [3, 4])])
    then_b = helper.make_graph([n("Add", ["x", "w"], ["t0"]),
                                n("If", ["c2"], ["t1"], then_branch=inner_then,
                                  else_branch=inner_else),
                                n("Sub", ["t1", "t0"], ["t2"])], "then_b", [], [vi("t2", [3, 4])])
    else_b = helper.make_graph([n("Tanh", ["x"], ["e0"])], "else_b", [], [vi("e0", [3, 4])])
    nodes = [n("If", ["c1"], ["r"], then_branch=then_b, else_branch=else_b),
             n("Relu", ["r"], ["y"])]
    inputs = [vi("x", [3, 4]), vi("c1", [], TensorProto.BOOL), vi("c2", [], TensorProto.BOOL)]
    return model(nodes, inputs, [vi("y", None)], [weights("w", [3, 4], 5)], opset=13)


def loop_model():
    body = helper.make_graph([n("Identity", ["c_in"], ["c_out"]),
                              n("Mul", ["y_in", "w"], ["y_out"]),
                              n("Tanh", ["y_out"], ["s"])], "loop_body",
                             [vi("i", [], I64), vi("c_in", [], TensorProto.BOOL), vi("y_in", [3, 4])],
                             [vi("c_out", [], TensorProto.BOOL), vi("y_out", [3, 4]),
                              vi("s", [3, 4])])
    sbody = helper.make_graph([n("Add", ["a_in", "row"], ["a_out"]),
                               n("Neg", ["a_out"], ["o"])], "scan_body",
                              [vi("a_in", [4]), vi("row", [4])], [vi("a_out", [4]), vi("o", [4])])
    nodes = [n("Loop", ["m", "", "x"], ["yf", "ys"], body=body),
             n("Scan", ["a0", "x"], ["af", "os"], body=sbody, num_scan_inputs=1,
               scan_input_directions=[1])]
    outputs = [vi("yf", None), vi("ys", None), vi("af", None), vi("os", None)]
    inits = [weights("w", [3, 4], 7), const("a0", np.zeros(4)),
             numpy_helper.from_array(np.array(3, np.int64), "m")]
    return model(nodes, [vi("x", [3, 4])], outputs, inits, opset=16)


def compile_bundle(mtcc, inputs, out, *extra):
    subprocess.run([mtcc, "compile"] + inputs + ["-o", out] + list(extra), check=True,
                   stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "seeds", "bundle"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, make in (("nn", nn_model), ("data", data_model), ("reduce", reduce_model)):
            paths[name] = os.path.join(tmp, name + ".onnx")
            save(make(), paths[name])
            compile_bundle(args.mtcc, [paths[name]], os.path.join(args.out, name + ".mtbundle"))
        manifest = os.path.join(tmp, "two.json")
        with open(manifest, "w") as f:
            json.dump({"partitions": [{"name": "p0", "sm_budget": 32},
                                      {"name": "p1", "sm_budget": 32}],
                       "tenants": [{"name": "nn", "model": paths["nn"], "partition": "p0"},
                                   {"name": "reduce", "model": paths["reduce"],
                                    "partition": "p1"}]}, f)
        compile_bundle(args.mtcc, [manifest], os.path.join(args.out, "two_tenants.mtbundle"))
        paths["if"] = os.path.join(tmp, "if.onnx")
        save(if_model(), paths["if"])
        compile_bundle(args.mtcc, [paths["if"]], os.path.join(args.out, "if.mtbundle"), "--cpu-only")
        paths["loop"] = os.path.join(tmp, "loop.onnx")
        save(loop_model(), paths["loop"])
        compile_bundle(args.mtcc, [paths["loop"]], os.path.join(args.out, "loop.mtbundle"),
                       "--cpu-only")


if __name__ == "__main__":
    main()
