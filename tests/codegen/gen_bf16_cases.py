#!/usr/bin/env python3
"""Writes ONNX test cases (CASE/model.onnx, CASE/test_data_set_0/{input,output}_K.pb) whose
tensors are bfloat16: elementwise chains, reductions, Softmax, normalisations, MatMul/Gemm, for the
reference executor (bf16_conformance) and the generated CUDA under the emulation
(codegen_emulate_bf16).

ONNX Runtime's CPU provider has almost no bfloat16 kernels, and where it has them (its CUDA
provider) it computes in float32 and rounds each op's result to bfloat16. The expected outputs are
made that way: every node runs alone in ONNX Runtime (CPU) in float32 on the bfloat16 values of
its inputs, and its outputs are rounded to bfloat16 (to nearest even) before the next node reads
them. Never from mtcc.

usage: gen_bf16_cases.py --out DIR"""
import argparse
import os

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

BF16 = ml_dtypes.bfloat16



def run_node_f32(node, values, opset):
    """Runs one node in ONNX Runtime with its bfloat16 operands widened to float32 (a Cast to
    bfloat16 as a Cast to float32), and returns its outputs, the float ones rounded to bfloat16
    where the node's result is bfloat16 (a Cast's `to`, otherwise its float inputs' dtype)."""
    to = next((a.i for a in node.attribute if a.name == "to"), None)
    narrow = to == TensorProto.BFLOAT16 if node.op_type == "Cast" else any(
        values[n].dtype == BF16 for n in node.input if n)
    if node.op_type == "Cast" and narrow:
        node = helper.make_node("Cast", list(node.input), list(node.output), to=TensorProto.FLOAT)
    ins, feeds = [], {}
    for name in node.input:
        if not name or name in feeds:
            continue
        v = values[name]
        wide = v.astype(np.float32) if v.dtype == BF16 else v
        ins.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(wide.dtype), wide.shape))
        feeds[name] = wide
    outs = [helper.make_empty_tensor_value_info(o) for o in node.output]
    g = helper.make_graph([node], "one", ins, outs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return [r.astype(BF16) if narrow and r.dtype == np.float32 else r
            for r in sess.run(None, feeds)]


def write_case(root, name, nodes, inputs, outputs, opset, inits=()):
    """inputs: (name, array) pairs (bfloat16 or other); outputs: (name, dtype) pairs; inits:
    initializer arrays (name, array)."""
    values = {n: a for n, a in inputs}
    values.update({n: a for n, a in inits})
    for node in nodes:
        values.update(zip(node.output, run_node_f32(node, values, opset)))
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for n, a in inputs],
        [helper.make_tensor_value_info(n, dt, values[n].shape) for n, dt in outputs],
        initializer=[numpy_helper.from_array(a, n) for n, a in inits])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    data = os.path.join(root, name, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(root, name, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    for k, (n, a) in enumerate(inputs):
        with open(os.path.join(data, f"input_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, n).SerializeToString())
    for k, (n, _) in enumerate(outputs):
        with open(os.path.join(data, f"output_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(values[n], n).SerializeToString())


def bf(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(BF16)


BT = TensorProto.BFLOAT16
N = helper.make_node


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    root = ap.parse_args().out
    rng = np.random.default_rng(16)
    # Elementwise: a fused chain (each node's result rounded once), broadcasting, unary math,
    # comparisons feeding Where, a variadic Mean (rounded after the division).
    write_case(root, "test_bf16_chain", [
        N("Mul", ["a", "b"], ["m"]), N("Add", ["m", "c"], ["s"]), N("Sigmoid", ["s"], ["g"]),
        N("Sub", ["g", "a"], ["d"]), N("Div", ["d", "b"], ["y"])],
        [("a", bf(rng, (4, 33))), ("b", bf(rng, (33,)) + BF16(3)), ("c", bf(rng, (4, 1)))],
        [("y", BT)], 17)
    write_case(root, "test_bf16_unary", [
        N("Tanh", ["x"], ["t"]), N("Exp", ["t"], ["e"]), N("Log", ["e"], ["l"]),
        N("Relu", ["x"], ["r"]), N("Sqrt", ["r"], ["q"]), N("Erf", ["x"], ["f"]),
        N("Neg", ["f"], ["n"]), N("Abs", ["x"], ["ab"]), N("Max", ["l", "q", "n"], ["mx"]),
        N("Mean", ["mx", "ab"], ["y"])],
        [("x", bf(rng, (3, 40), 2.0))], [("y", BT)], 17)
    write_case(root, "test_bf16_where_pow", [
        N("Greater", ["a", "b"], ["c"]), N("Where", ["c", "a", "b"], ["w"]),
        N("Pow", ["w", "e"], ["y"])],
        [("a", np.abs(bf(rng, (5, 8))) + BF16(0.5)), ("b", np.abs(bf(rng, (5, 8))) + BF16(0.5)),
         ("e", np.array([1.5], dtype=BF16))], [("y", BT)], 15)
    write_case(root, "test_bf16_cast_in_out", [
        N("Cast", ["x"], ["h"], to=BT), N("Mul", ["h", "h"], ["m"]),
        N("Cast", ["m"], ["y"], to=TensorProto.FLOAT)],
        [("x", rng.standard_normal((6, 7)).astype(np.float32))], [("y", TensorProto.FLOAT)], 19)
    # Reductions and row-wise normalisations.
    axes = np.array([1], dtype=np.int64)
    write_case(root, "test_bf16_reduce_sum", [N("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
               [("x", bf(rng, (6, 50, 3)))], [("y", BT)], 18, inits=[("axes", axes)])
    write_case(root, "test_bf16_reduce_mean_max", [
        N("ReduceMean", ["x", "axes"], ["m"], keepdims=1), N("ReduceMax", ["x", "axes"], ["x2"]),
        N("Add", ["m", "x2"], ["y"])],
        [("x", bf(rng, (4, 70)))], [("y", BT)], 18, inits=[("axes", axes)])
    write_case(root, "test_bf16_softmax", [N("Softmax", ["x"], ["y"], axis=-1)],
               [("x", bf(rng, (5, 3, 37), 3.0))], [("y", BT)], 13)
    write_case(root, "test_bf16_logsoftmax", [N("LogSoftmax", ["x"], ["y"], axis=1)],
               [("x", bf(rng, (4, 19), 2.0))], [("y", BT)], 13)
    write_case(root, "test_bf16_argmax_topk", [
        N("ArgMax", ["x"], ["i"], axis=1), N("TopK", ["x", "k"], ["v", "j"], axis=-1)],
        [("x", bf(rng, (3, 17)))], [("i", TensorProto.INT64), ("v", BT), ("j", TensorProto.INT64)],
        11, inits=[("k", np.array([4], dtype=np.int64))])
    write_case(root, "test_bf16_pool", [
        N("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        N("AveragePool", ["m"], ["a"], kernel_shape=[2, 2]), N("GlobalAveragePool", ["a"], ["y"])],
        [("x", bf(rng, (2, 3, 11, 11)))], [("y", BT)], 19)
    write_case(root, "test_bf16_resize", [N("Resize", ["x", "", "scales"], ["y"], mode="linear")],
               [("x", bf(rng, (2, 3, 5, 6)))], [("y", BT)], 19,
               inits=[("scales", np.array([1, 1, 2, 1.5], dtype=np.float32))])
    write_case(root, "test_bf16_layernorm", [
        N("LayerNormalization", ["x", "s", "o"], ["y"], axis=-1)],
        [("x", bf(rng, (3, 4, 32))), ("s", bf(rng, (32,))), ("o", bf(rng, (32,)))],
        [("y", BT)], 17)
    # Computed by kernels that have no CUDA generator for bfloat16 (GEMM library calls and
    # convolutions are float32-only, BatchNormalization has none): the reason is in the codegen
    # report; on the reference executor only.
    write_case(root, "test_bf16_matmul", [N("MatMul", ["a", "b"], ["y"])],
               [("a", bf(rng, (2, 5, 24))), ("b", bf(rng, (24, 7)))], [("y", BT)], 13)
    write_case(root, "test_bf16_gemm", [N("Gemm", ["a", "b", "c"], ["y"], transB=1, alpha=0.5)],
               [("a", bf(rng, (6, 16))), ("b", bf(rng, (9, 16))), ("c", bf(rng, (9,)))],
               [("y", BT)], 13)
    write_case(root, "test_bf16_conv", [
        N("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=1)],
        [("x", bf(rng, (1, 4, 7, 7)))], [("y", BT)], 11,
        inits=[("w", bf(rng, (5, 4, 3, 3), 0.3)), ("b", bf(rng, (5,)))])
    write_case(root, "test_bf16_batchnorm", [
        N("BatchNormalization", ["x", "s", "b", "mu", "var"], ["y"])],
        [("x", bf(rng, (2, 3, 5, 6)))], [("y", BT)], 15,
        inits=[("s", bf(rng, (3,))), ("b", bf(rng, (3,))), ("mu", bf(rng, (3,))),
               ("var", np.abs(bf(rng, (3,))) + BF16(0.5))])


if __name__ == "__main__":
    main()
