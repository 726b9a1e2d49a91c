#!/usr/bin/env python3
"""A float8 zero point must be 0 (the spec; the reference implementation ignores it): mtcc refuses
a nonzero one by name instead of dropping it, for QuantizeLinear and DequantizeLinear, whether constant (at compile
time) or fed at run time (by the reference kernel), and still runs a -0 one (the same value). Each case runs through `mtcc conformance`; the expected outputs
are ONNX Runtime's (QuantizeLinear) or the onnx reference's (DequantizeLinear: ONNX Runtime
takes no float8 feed) for -0, zeros for the cases that must be refused.

  check_f8_zero_point.py --mtcc MTCC --work DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

F8 = TensorProto.FLOAT8E4M3FN


def case(root, name, quantize, zp_bits, zp_input):
    """zp_input: the zero point is a graph input (checked by the kernel at run time), else an
    initializer (refused at compile time)."""
    x_dt = TensorProto.FLOAT if quantize else F8
    y_dt = F8 if quantize else TensorProto.FLOAT
    zp = helper.make_tensor("zp", F8, [1], bytes([zp_bits]), raw=True)
    s = numpy_helper.from_array(np.array([0.5], np.float32), "s")
    node = helper.make_node("QuantizeLinear" if quantize else "DequantizeLinear",
                            ["x", "s", "zp"], ["y"], axis=0)
    ins = [helper.make_tensor_value_info("x", x_dt, [4])]
    if zp_input:
        ins.append(helper.make_tensor_value_info("zp", F8, [1]))
    graph = helper.make_graph([node], name, ins, [helper.make_tensor_value_info("y", y_dt, [4])],
                              [s] if zp_input else [s, zp])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    xb = np.array([0x38, 0x40, 0xb8, 0x00], np.uint8)  # e4m3fn 1, 2, -1, 0
    x = (helper.make_tensor("x", F8, [4], xb.tobytes(), raw=True) if not quantize else
         numpy_helper.from_array(np.array([1.0, -3.0, 0.25, 600.0], np.float32), "x"))
    y = np.zeros(4, np.uint8 if quantize else np.float32)
    if zp_bits & 0x7F == 0 and not zp_input:  # ONNX Runtime takes no float8 feed: the spec's reference there
        if quantize:
            sess = ort.InferenceSession(model.SerializeToString(),
                                        providers=["CPUExecutionProvider"])
            y = sess.run(None, {"x": numpy_helper.to_array(x)})[0]
        else:
            y = ReferenceEvaluator(model).run(None, {"x": numpy_helper.to_array(x)})[0]
    yt = (helper.make_tensor("y", F8, [4], y.tobytes(), raw=True) if quantize else
          numpy_helper.from_array(y, "y"))
    d = os.path.join(root, name, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    onnx.save(model, os.path.join(root, name, "model.onnx"))
    with open(os.path.join(d, "input_0.pb"), "wb") as f:
        f.write(x.SerializeToString())
    if zp_input:
        with open(os.path.join(d, "input_1.pb"), "wb") as f:
            f.write(zp.SerializeToString())
    with open(os.path.join(d, "output_0.pb"), "wb") as f:
        f.write(yt.SerializeToString())
    return os.path.join(root, name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    bad = 0
    for quantize in (True, False):
        op = "quantize" if quantize else "dequantize"
        for zp_bits, zp_input, want in ((0x38, False, "FAIL"), (0x80, False, "PASS"),
                                        (0xb8, True, "FAIL")):
            how = "input" if zp_input else "const"
            d = case(a.work, f"{op}_zp_{how}_{zp_bits:02x}", quantize, zp_bits, zp_input)
            r = subprocess.run([a.mtcc, "conformance", d], capture_output=True, text=True)
            line = next((l for l in r.stdout.splitlines() if l.startswith(("PASS", "FAIL",
                                                                          "UNSUPPORTED"))), "")
            ok = line.startswith(want) and (want == "PASS" or "zero point must be 0" in line)
            print(("ok   " if ok else "BAD  ") + line)
            bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
