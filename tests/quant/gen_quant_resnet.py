#!/usr/bin/env python3
"""Writes a small ResNet-style float model and its int8 version quantized by ONNX Runtime's own
static quantization tool (QDQ format, per-channel weights, uint8 activations, int8 weights).

  gen_quant_resnet.py --out DIR

DIR/resnet_float.onnx: [1,3,32,32] -> stem conv3x3(3->16)+Relu, a basic block (two conv3x3, the
residual Add, Relu), a downsampling block (stride 2, 16->32, 1x1 projection), global average
pool, Flatten, Gemm(32->10). Weights from a fixed seed (He-scaled), conv biases included.
DIR/resnet_int8.onnx: onnxruntime.quantization.quantize_static(QuantFormat.QDQ, per_channel=True,
activation uint8, weight int8) calibrated (MinMax) on 8 inputs from a fixed seed; its graph gets
one more output, 'block2_q', the uint8 activation after the second block (a QuantizeLinear
output), so integer results can be compared exactly. DIR/calib.npy keeps the calibration inputs.
Deterministic: same bytes on every run for a given onnxruntime version.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build_float(rng):
    nodes, inits = [], []

    def param(name, arr):
        inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
        return name

    def conv(x, name, cin, cout, k, stride=1):
        std = np.sqrt(2.0 / (cin * k * k))
        w = param(name + ".w", rng.normal(0, std, (cout, cin, k, k)))
        b = param(name + ".b", rng.normal(0, 0.05, (cout,)))
        nodes.append(helper.make_node("Conv", [x, w, b], [name], name=name, kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4))
        return name

    def relu(x, name):
        nodes.append(helper.make_node("Relu", [x], [name], name=name))
        return name

    def add(a, b, name):
        nodes.append(helper.make_node("Add", [a, b], [name], name=name))
        return name

    x = relu(conv("input", "stem", 3, 16, 3), "stem_relu")
    y = relu(conv(x, "b1_conv1", 16, 16, 3), "b1_relu1")
    y = conv(y, "b1_conv2", 16, 16, 3)
    x = relu(add(x, y, "b1_add"), "b1_out")
    y = relu(conv(x, "b2_conv1", 16, 32, 3, 2), "b2_relu1")
    y = conv(y, "b2_conv2", 32, 32, 3)
    p = conv(x, "b2_proj", 16, 32, 1, 2)
    x = relu(add(p, y, "b2_add"), "b2_out")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flat"))
    w = param("fc.w", rng.normal(0, np.sqrt(1.0 / 32), (10, 32)))
    b = param("fc.b", rng.normal(0, 0.05, (10,)))
    nodes.append(helper.make_node("Gemm", ["flat", w, b], ["logits"], name="fc", transB=1))
    g = helper.make_graph(nodes, "resnet_small",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="mtcc-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)

    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20261130)
    model = build_float(rng)
    fpath = os.path.join(args.out, "resnet_float.onnx")
    onnx.save(model, fpath)
    calib = rng.normal(0, 1, (8, 1, 3, 32, 32)).astype(np.float32)
    np.save(os.path.join(args.out, "calib.npy"), calib)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"input": c} for c in calib])

        def get_next(self):
            return next(self.items, None)

    qpath = os.path.join(args.out, "resnet_int8.onnx")
    tmp = qpath + ".tmp.onnx"
    quantize_static(fpath, tmp, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    q = onnx.load(tmp)
    os.remove(tmp)
    # the uint8 activation after block 2: the QuantizeLinear that reads b2_out
    qs = [n for n in q.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "b2_out"]
    if len(qs) != 1:
        print("gen_quant_resnet: no single QuantizeLinear after b2_out (ORT changed its output?)")
        return 1
    q.graph.output.append(helper.make_tensor_value_info(qs[0].output[0], TensorProto.UINT8,
                                                        [1, 32, 16, 16]))
    q.graph.output[-1].name = qs[0].output[0]
    onnx.checker.check_model(q)
    onnx.save(q, qpath + ".part")
    os.replace(qpath + ".part", qpath)
    ops = {}
    for n in q.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print("gen_quant_resnet: wrote %s (%s), int8 output '%s'" % (
        qpath, ", ".join("%s %d" % kv for kv in sorted(ops.items())), qs[0].output[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
