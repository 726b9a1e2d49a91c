#!/usr/bin/env python3
"""Writes models that exercise the packed sub-byte dtypes' and float8e8m0's generated kernels
beyond the ONNX backend cases: Cast to float8e8m0 with round_mode down / nearest and saturate 0
(the backend cases only round up), Cast chains through int4/uint2/float4e2m1 after arithmetic (a
fused producer, then the byte-wise kernel), per-axis QuantizeLinear to int4 with an odd element
count, and blocked DequantizeLinear from uint4. `mtcc-emulate models` runs each as generated code
and on the reference executor and compares them (tests/codegen/CMakeLists.txt).

usage: gen_packed_models.py --out DIR
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh


def save(model, out, name):
    model.ir_version = 10
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, name + ".onnx"))


def e8m0_modes():
    nodes, outs = [h.make_node("Mul", ["x", "k"], ["xs"])], []
    for i, (mode, sat) in enumerate([("down", 1), ("nearest", 1), ("nearest", 0), ("up", 0)]):
        nodes.append(h.make_node("Cast", ["xs"], [f"e{i}"], to=T.FLOAT8E8M0, round_mode=mode,
                                 saturate=sat))
        nodes.append(h.make_node("Cast", [f"e{i}"], [f"y{i}"], to=T.FLOAT))
        outs.append(h.make_tensor_value_info(f"y{i}", T.FLOAT, [5, 7]))
    g = h.make_graph(nodes, "e8m0_modes", [h.make_tensor_value_info("x", T.FLOAT, [5, 7])], outs,
                     [nh.from_array(np.array(3.0e38, np.float32), "k")])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 25)])


def packed_chain():
    nodes = [h.make_node("Mul", ["x", "k"], ["xs"])]
    outs = []
    for i, dt in enumerate([T.INT4, T.UINT4, T.INT2, T.UINT2, T.FLOAT4E2M1]):
        nodes.append(h.make_node("Cast", ["xs"], [f"p{i}"], to=dt))
        nodes.append(h.make_node("Cast", [f"p{i}"], [f"c{i}"], to=T.FLOAT))
        nodes.append(h.make_node("Add", [f"c{i}", "x"], [f"y{i}"]))  # a fused reader of the cast
        outs.append(h.make_tensor_value_info(f"y{i}", T.FLOAT, [3, 11]))
    g = h.make_graph(nodes, "packed_chain", [h.make_tensor_value_info("x", T.FLOAT, [3, 11])], outs,
                     [nh.from_array(np.array(9.5, np.float32), "k")])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 25)])


def packed_qdq():
    scale = nh.from_array(np.array([0.1, 0.25, 0.05], np.float32), "s")
    zp = h.make_tensor("zp", T.INT4, [3], [1, -2, 0])
    bscale = nh.from_array(np.array([[0.2, 0.1], [0.3, 0.15], [0.05, 0.5]], np.float32), "bs")
    bzp = h.make_tensor("bzp", T.UINT4, [3, 2], [8, 7, 1, 15, 0, 3])
    nodes = [
        h.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], axis=0),
        h.make_node("DequantizeLinear", ["q", "s", "zp"], ["y0"], axis=0),
        h.make_node("QuantizeLinear", ["x", "bs", "bzp"], ["bq"], axis=1, block_size=3),
        h.make_node("DequantizeLinear", ["bq", "bs", "bzp"], ["y1"], axis=1, block_size=3),
    ]
    outs = [h.make_tensor_value_info("y0", T.FLOAT, [3, 5]),
            h.make_tensor_value_info("y1", T.FLOAT, [3, 5])]
    g = h.make_graph(nodes, "packed_qdq", [h.make_tensor_value_info("x", T.FLOAT, [3, 5])], outs,
                     [scale, zp, bscale, bzp])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 25)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    save(e8m0_modes(), args.out, "packed_e8m0_modes")
    save(packed_chain(), args.out, "packed_chain")
    save(packed_qdq(), args.out, "packed_qdq")


if __name__ == "__main__":
    main()
