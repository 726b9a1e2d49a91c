#!/usr/bin/env python3
"""Writes ONNX test cases (CASE/model.onnx, CASE/test_data_set_0/{input,output}_K.pb) for the
breadth ops whose backend cases feed a shape-determining operand as a graph input (OneHot's
depth, Compress's condition, a window's size), which an ahead-of-time compile cannot accept: here that operand is
an initializer, so the op compiles and
its generated CUDA runs under the emulation (codegen_emulate_breadth). Expected outputs come from
ONNX Runtime, never from mtcc.

usage: gen_breadth_cases.py --out DIR"""
import argparse
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator


def proto_of(value, name):
    """A TensorProto, or a SequenceProto for a list (a sequence input or output)."""
    if isinstance(value, list):
        return numpy_helper.from_list(value, name)
    return numpy_helper.from_array(value, name)


def write_case(root, name, graph, inputs, opset, oracle="ort"):
    """CASE/model.onnx of graph and CASE/test_data_set_0 of inputs (arrays, or lists of arrays for
    sequences) and the oracle's outputs: "ort" ONNX Runtime; "onnx" the onnx wheel's reference
    implementation, for cases ONNX Runtime has no kernel for or computes differently from the
    specification (say why at the call). Also gen_control_cases.py's (tests/control)."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    case = os.path.join(root, name)
    data = os.path.join(case, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(case, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    feeds = {i.name: v for i, v in zip(graph.input, inputs)}
    if oracle == "onnx":
        outputs = ReferenceEvaluator(model).run(None, feeds)
    else:
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        outputs = sess.run(None, feeds)
    for k, v in enumerate(inputs):
        with open(os.path.join(data, f"input_{k}.pb"), "wb") as f:
            f.write(proto_of(v, graph.input[k].name).SerializeToString())
    for k, v in enumerate(outputs):
        with open(os.path.join(data, f"output_{k}.pb"), "wb") as f:
            f.write(proto_of(v, graph.output[k].name).SerializeToString())


def one_hot(root, name, axis, indices, depth, depth_dtype, values_dtype):
    """OneHot with depth and values as initializers; indices (negative, out of range) as input.
    The dtype triples are ones ONNX Runtime implements."""
    depth_t = numpy_helper.from_array(np.array([depth], dtype=depth_dtype), "depth")
    values_t = numpy_helper.from_array(np.array([2, 7], dtype=values_dtype), "values")
    out_dtype = helper.np_dtype_to_tensor_dtype(np.dtype(values_dtype))
    node = helper.make_node("OneHot", ["indices", "depth", "values"], ["y"], axis=axis)
    out_shape = list(indices.shape)
    out_shape.insert(axis if axis >= 0 else len(out_shape) + 1 + axis, depth)
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("indices", helper.np_dtype_to_tensor_dtype(indices.dtype),
                                       indices.shape)],
        [helper.make_tensor_value_info("y", out_dtype, out_shape)],
        initializer=[depth_t, values_t])
    write_case(root, name, graph, [indices], 11)


def compress(root, name, axis, x, cond):
    """Compress with the condition as an initializer (a static output size)."""
    cond_t = numpy_helper.from_array(cond, "condition")
    attrs = {} if axis is None else {"axis": axis}
    node = helper.make_node("Compress", ["x", "condition"], ["y"], **attrs)
    kept = int(cond.sum())
    if axis is None:
        out_shape = [kept]
    else:
        out_shape = list(x.shape)
        out_shape[axis] = kept
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("x", helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)],
        [helper.make_tensor_value_info("y", helper.np_dtype_to_tensor_dtype(x.dtype), out_shape)],
        initializer=[cond_t])
    write_case(root, name, graph, [x], 11)


def float64_chain(root, name, rng):
    """A float64 elementwise chain (the kernels' double math, not float math widened)."""
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]),
             helper.make_node("Add", ["s", "y"], ["a"]),
             helper.make_node("Sin", ["a"], ["b"]),
             helper.make_node("Tanh", ["x"], ["t"]),
             helper.make_node("Mul", ["b", "t"], ["m"]),
             helper.make_node("Abs", ["m"], ["ab"]),
             helper.make_node("Sqrt", ["ab"], ["z"])]
    info = lambda n: helper.make_tensor_value_info(n, TensorProto.DOUBLE, [4, 5])
    graph = helper.make_graph(nodes, name, [info("x"), info("y")], [info("z")])
    write_case(root, name, graph, [rng.standard_normal((4, 5)), rng.standard_normal((4, 5))], 13)


def window(root, name, op, size, periodic, dtype):
    """A window function of a constant size, scaled by an input so the graph has one."""
    size_t = numpy_helper.from_array(np.array(size, dtype=np.int64), "size")
    to = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    nodes = [helper.make_node(op, ["size"], ["w"], periodic=periodic, output_datatype=to),
             helper.make_node("Mul", ["w", "x"], ["y"])]
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", to, [size])],
        [helper.make_tensor_value_info("y", to, [size])], initializer=[size_t])
    write_case(root, name, graph, [np.linspace(1, 2, size).astype(dtype)], 17)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(13)
    idx = rng.integers(-6, 8, size=(3, 4)).astype(np.int64)  # negative and out-of-range ones
    one_hot(args.out, "test_onehot_const_depth_axis_last", -1, idx, 6, np.int64, np.float32)
    one_hot(args.out, "test_onehot_const_depth_axis_0", 0, idx, 5, np.int64, np.int64)
    one_hot(args.out, "test_onehot_const_depth_float_indices", 1,
            rng.integers(-3, 5, size=(2, 3)).astype(np.float32), 4, np.float32, np.float32)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    compress(args.out, "test_compress_const_axis_1", 1, x, np.array([1, 0, 1, 1], dtype=bool))
    compress(args.out, "test_compress_const_axis_neg1_short", -1, x.astype(np.float16),
             np.array([0, 1, 1], dtype=bool))  # shorter than the axis: the rest is dropped
    compress(args.out, "test_compress_const_flatten", None,
             rng.integers(-9, 9, size=(2, 3)).astype(np.int64),
             np.array([1, 0, 0, 1, 1, 0], dtype=bool))
    float64_chain(args.out, "test_float64_chain", rng)
    window(args.out, "test_hannwindow_const_size", "HannWindow", 10, 1, np.float32)
    window(args.out, "test_blackmanwindow_const_size_symmetric", "BlackmanWindow", 9, 0, np.float64)
    window(args.out, "test_hammingwindow_const_size", "HammingWindow", 8, 1, np.float32)
    print(f"gen_breadth_cases: 10 cases written to {args.out}")


if __name__ == "__main__":
    main()
