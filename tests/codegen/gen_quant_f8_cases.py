#!/usr/bin/env python3
"""Writes QuantizeLinear / DequantizeLinear cases with float8 types that the backend cases leave
out: saturate=0 (out-of-range quotients become NaN / infinity), each of the four formats, per-axis
and blocked scales, a float16 input, NaN and infinities. CASE/model.onnx and
CASE/test_data_set_0/{input,output}_K.pb; the expected outputs come from ONNX Runtime where it
has the kernel, else from the onnx wheel's reference implementation (named per case below).

usage: gen_quant_f8_cases.py --out DIR"""
import argparse
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

F8 = {
    "e4m3fn": TensorProto.FLOAT8E4M3FN,
    "e4m3fnuz": TensorProto.FLOAT8E4M3FNUZ,
    "e5m2": TensorProto.FLOAT8E5M2,
    "e5m2fnuz": TensorProto.FLOAT8E5M2FNUZ,
}


def write_case(root, name, model, inputs):
    onnx.checker.check_model(model)
    feeds = {i.name: v for i, v in zip(model.graph.input, inputs)}
    try:
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        outputs = sess.run(None, feeds)
    except Exception:  # no ONNX Runtime kernel for this type / attribute: the spec's reference
        outputs = ReferenceEvaluator(model).run(None, feeds)
    case = os.path.join(root, name)
    data = os.path.join(case, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(case, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    for k, v in enumerate(inputs):
        with open(os.path.join(data, f"input_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(v, model.graph.input[k].name).SerializeToString())
    for k, v in enumerate(outputs):
        out = model.graph.output[k]
        want = out.type.tensor_type.elem_type
        if want in F8.values() and v.dtype == np.uint8:  # ONNX Runtime hands float8 back as bits
            t = helper.make_tensor(out.name, want, v.shape, v.tobytes(), raw=True)
        else:
            t = numpy_helper.from_array(v, out.name)
        with open(os.path.join(data, f"output_{k}.pb"), "wb") as f:
            f.write(t.SerializeToString())


def model_of(node, inputs, outputs, inits, opset):
    graph = helper.make_graph([node], node.op_type, inputs, outputs, initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9
    return m


def quantize(root, fmt, saturate, x, scale, axis=1, block=0):
    """x a graph input, the scale and a zero zero point initializers; output in format fmt."""
    dt = F8[fmt]
    xdt = helper.np_dtype_to_tensor_dtype(x.dtype)
    attrs = {"axis": axis, "saturate": saturate}
    if block:
        attrs["block_size"] = block
    node = helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["y"], **attrs)
    zp = helper.make_tensor("zp", dt, scale.shape, np.zeros(scale.size, np.float32).tolist())
    inits = [numpy_helper.from_array(scale.astype(x.dtype), "s"), zp]
    m = model_of(node, [helper.make_tensor_value_info("x", xdt, x.shape)],
                 [helper.make_tensor_value_info("y", dt, x.shape)], inits, 21 if block else 19)
    kind = "blocked" if block else ("axis" if scale.size > 1 else "tensor")
    name = f"test_quantizelinear_{fmt}_{kind}_sat{saturate}_{x.dtype.name}"
    write_case(root, name, m, [x])


def dequantize(root, fmt, bits, scale, axis=1):
    """x (float8 bits given as uint8) a graph input, the scale an initializer; float output."""
    dt = F8[fmt]
    node = helper.make_node("DequantizeLinear", ["x", "s"], ["y"], axis=axis)
    m = model_of(node, [helper.make_tensor_value_info("x", dt, bits.shape)],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, bits.shape)],
                 [numpy_helper.from_array(scale, "s")], 19)
    x = numpy_helper.to_array(helper.make_tensor("x", dt, bits.shape, bits.tobytes(), raw=True))
    write_case(root, f"test_dequantizelinear_{fmt}_axis", m, [x])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    root = ap.parse_args().out
    rng = np.random.default_rng(13)
    # quotients from tiny to far out of every format's range, with NaN and both infinities
    x = np.concatenate([rng.standard_normal(10) * 4.0, [1e5, -1e5, 7e4, 500.0, -470.0, 0.0, -0.0,
                                                        np.inf, -np.inf, np.nan, 1e-6, 3e-3]])
    x = x.astype(np.float32).reshape(2, 11)
    for fmt in F8:
        for sat in (1, 0):
            quantize(root, fmt, sat, x, np.array(0.5, np.float32))
    quantize(root, "e4m3fn", 1, x.reshape(2, 11), np.array([0.25, 3.0], np.float32), axis=0)
    quantize(root, "e5m2", 0, x.reshape(2, 11)[:, :10].copy(), np.array(
        [[0.5, 2.0], [1.5, 0.125]], np.float32), axis=1, block=5)
    quantize(root, "e4m3fnuz", 1, x.astype(np.float16), np.array(2.0, np.float16))
    bits = np.arange(0, 256, 1, dtype=np.uint8).reshape(4, 64)
    for fmt in F8:
        dequantize(root, fmt, bits, np.array([1.0, 0.5, 3.0, 2.0 ** -4], np.float32), axis=0)


if __name__ == "__main__":
    main()
