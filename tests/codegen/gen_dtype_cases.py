#!/usr/bin/env python3
"""Writes ONNX test cases (CASE/model.onnx, CASE/test_data_set_0/{input,output}_K.pb) for the
dtypes work of issue 13: float64 reductions and CumSum with their operands as initializers (the
backend's CumSum cases feed the axis as a graph input, which an ahead-of-time compile cannot
accept), so their generated CUDA runs under the emulation (codegen_emulate_dtypes) and the
reference executor (dtype_conformance). Expected outputs come from ONNX Runtime, never from mtcc.

usage: gen_dtype_cases.py --out DIR"""
import argparse

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from gen_breadth_cases import write_case  # model + data set with ONNX Runtime's outputs


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def cumsum_f64(root, name, axis, exclusive, reverse, rng):
    x = rng.standard_normal((3, 4, 5))
    axis_t = numpy_helper.from_array(np.array(axis, dtype=np.int64), "axis")
    node = helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)
    graph = helper.make_graph([node], name, [vi("x", TensorProto.DOUBLE, x.shape)],
                              [vi("y", TensorProto.DOUBLE, x.shape)], initializer=[axis_t])
    write_case(root, name, graph, [x], 14)


def reduce_f64(root, name, op, axes, keepdims, rng, opset=18):
    x = rng.standard_normal((3, 4, 5)) * 3
    axes_t = numpy_helper.from_array(np.array(axes, dtype=np.int64), "axes")
    node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keepdims)
    out = [d if i not in [a % 3 for a in axes] else 1 for i, d in enumerate(x.shape)]
    if not keepdims:
        out = [d for i, d in enumerate(x.shape) if i not in [a % 3 for a in axes]]
    graph = helper.make_graph([node], name, [vi("x", TensorProto.DOUBLE, x.shape)],
                              [vi("y", TensorProto.DOUBLE, out)], initializer=[axes_t])
    write_case(root, name, graph, [x], opset)


def argmax_f64(root, name, rng):
    x = rng.standard_normal((3, 4, 5))
    node = helper.make_node("ArgMax", ["x"], ["y"], axis=1, keepdims=0)
    graph = helper.make_graph([node], name, [vi("x", TensorProto.DOUBLE, x.shape)],
                              [vi("y", TensorProto.INT64, [3, 5])])
    write_case(root, name, graph, [x], 13)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(13)
    n = 0
    for axis, exclusive, reverse in [(0, 0, 0), (1, 1, 0), (-1, 1, 1), (2, 0, 1)]:
        cumsum_f64(args.out, f"test_cumsum_f64_axis{axis}_ex{exclusive}_rev{reverse}".replace(
            "-", "m"), axis, exclusive, reverse, rng)
        n += 1
    for op, axes, keep in [("ReduceLogSumExp", [1], 1), ("ReduceLogSumExp", [0, 2], 0),
                           ("ReduceMean", [2], 1), ("ReduceMax", [0], 0), ("ReduceL2", [1, 2], 1),
                           ("ReduceProd", [1], 0)]:
        reduce_f64(args.out, f"test_{op.lower()}_f64_{'_'.join(map(str, axes))}_k{keep}", op, axes,
                   keep, rng)
        n += 1
    argmax_f64(args.out, "test_argmax_f64", rng)
    n += 1
    print(f"gen_dtype_cases: {n} cases written to {args.out}")


if __name__ == "__main__":
    main()
