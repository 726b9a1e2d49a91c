#!/usr/bin/env python3
"""Writes ONNX test cases (CASE/model.onnx, CASE/test_data_set_0/{input,output}_K.pb) for float64
Gemm, MatMul, Softmax, LogSoftmax and MaxPool, which the reference executor computes in double
(runtime/cpu/float64.c) as ONNX Runtime does; expected outputs are ONNX Runtime's (CPU). The
conformance tolerance (rtol 1e-3) cannot tell double from float32 staging, so check_f64_nn.py
requires them within rtol 1e-12.

usage: gen_f64_nn_cases.py --out DIR"""
import argparse

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from gen_breadth_cases import write_case  # model + data set with ONNX Runtime's outputs

D = TensorProto.DOUBLE
N = helper.make_node


def vi(name, shape):
    return helper.make_tensor_value_info(name, D, shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    root = ap.parse_args().out
    rng = np.random.default_rng(64)
    # values that float32 cannot hold: a float32 staging would be off by ~1e-8 relative
    x = rng.standard_normal((3, 4, 9)) * (1 + 1e-9)
    write_case(root, "test_f64_softmax", helper.make_graph(
        [N("Softmax", ["x"], ["y"], axis=-1)], "softmax", [vi("x", x.shape)], [vi("y", x.shape)]),
        [x], 13)
    write_case(root, "test_f64_logsoftmax", helper.make_graph(
        [N("LogSoftmax", ["x"], ["y"], axis=1)], "logsoftmax", [vi("x", x.shape)],
        [vi("y", x.shape)]), [x], 13)
    a, b = rng.standard_normal((2, 5, 7)), rng.standard_normal((7, 6))
    write_case(root, "test_f64_matmul", helper.make_graph(
        [N("MatMul", ["a", "b"], ["y"])], "matmul", [vi("a", a.shape), vi("b", b.shape)],
        [vi("y", [2, 5, 6])]), [a, b], 13)
    a, b, c = rng.standard_normal((7, 5)), rng.standard_normal((6, 7)), rng.standard_normal((6,))
    write_case(root, "test_f64_gemm", helper.make_graph(
        [N("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1, alpha=0.75, beta=1.5)], "gemm",
        [vi("a", a.shape), vi("b", b.shape)], [vi("y", [5, 6])],
        initializer=[numpy_helper.from_array(c, "c")]), [a, b], 13)
    # MaxPool returns input values: exact in double, with ONNX Runtime's flat indices
    x = rng.standard_normal((2, 3, 9, 8)) * (1 + 1e-9)
    write_case(root, "test_f64_maxpool", helper.make_graph(
        [N("MaxPool", ["x"], ["y", "i"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1])],
        "maxpool", [vi("x", x.shape)],
        [vi("y", [2, 3, 5, 4]), helper.make_tensor_value_info("i", TensorProto.INT64, [2, 3, 5, 4])]),
        [x], 12)


if __name__ == "__main__":
    main()
