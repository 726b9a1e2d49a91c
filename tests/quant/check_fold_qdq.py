#!/usr/bin/env python3
"""The fold-qdq pass on small QDQ graphs: which chains fold, which do not and why.

  check_fold_qdq.py --mtcc MTCC --work DIR

Each case is a tiny model in ONNX Runtime's QDQ form, compiled with `mtcc compile --report`. The
report must list the chain under "rewrites" (folded) or under "rejected_fusions" with the expected
reason. A folded case also runs as a CPU bundle (the QLinear* kernels) and must give ONNX Runtime's
outputs (all optimizations: ORT folds the same chains) within one quantization step of the output
(its DequantizeLinear scale: ORT requantizes in float32, mtcc in double, see
check_quant_resnet.py). Exit 0 when every case holds.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class G:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, arr):
        self.n += 1
        name = "c%d" % self.n
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(self, op, ins, **attrs):
        self.n += 1
        out = "%s_%d" % (op.lower(), self.n)
        self.nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    def qdq(self, x, scale, zp):
        """Quantize then dequantize an activation (per-tensor)."""
        s, z = self.const(np.float32(scale)), self.const(zp)
        return self.node("DequantizeLinear", [self.node("QuantizeLinear", [x, s, z]), s, z])

    def dq_const(self, q, scale, zp=None, axis=None):
        ins = [self.const(q), self.const(np.asarray(scale, np.float32))]
        if zp is not None:
            ins.append(self.const(zp))
        return self.node("DequantizeLinear", ins, **({} if axis is None else {"axis": axis}))

    def model(self, x_shape, out, out_shape, extra_outputs=()):
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, out_shape)
                for o in (out,) + tuple(extra_outputs)]
        g = helper.make_graph(self.nodes, "t",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              outs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def conv_case(rng, relu_zp=None, bias="dq", group=1, extra_reader=False):
    g = G()
    cin, cout = 4, 6
    xs, xz = 0.04, np.uint8(120)
    x = g.qdq("x", xs, xz)
    wq = rng.integers(-100, 100, (cout, cin // group, 3, 3)).astype(np.int8)
    ws = rng.uniform(0.002, 0.01, cout).astype(np.float32)
    w = g.dq_const(wq, ws, np.zeros(cout, np.int8), axis=0)
    ins = [x, w]
    if bias == "dq":
        bs = (np.float32(xs) * ws).astype(np.float32)
        ins.append(g.dq_const(rng.integers(-500, 500, cout).astype(np.int32), bs, axis=0))
    elif bias == "float":
        ins.append(g.const(rng.normal(0, 0.1, cout).astype(np.float32)))
    y = g.node("Conv", ins, kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=group)
    if relu_zp is not None:
        y = g.node("Relu", [y])
    out = g.qdq(y, 0.03, np.uint8(relu_zp if relu_zp is not None else 128))
    return g.model([1, cin, 6, 6], out, [1, cout, 6, 6], [y] if extra_reader else ())


def matmul_case(rng, gemm=False):
    g = G()
    x = g.qdq("x", 0.05, np.uint8(128))
    wq = rng.integers(-120, 120, (8, 5) if not gemm else (5, 8)).astype(np.int8)
    if gemm:
        w = g.dq_const(wq, np.float32(0.01), np.int8(0))
        y = g.node("Gemm", [x, w], transB=1)
    else:
        w = g.dq_const(wq, rng.uniform(0.005, 0.02, 5).astype(np.float32), np.zeros(5, np.int8),
                       axis=1)
        y = g.node("MatMul", [x, w])
    return g.model([3, 8], g.qdq(y, 0.1, np.uint8(128)), [3, 5])


CASES = [
    # name, builder, folded (the 'how' prefix) or the refusal's reason (a substring)
    ("conv_fold", lambda r: conv_case(r), True, "QLinearConv"),
    ("conv_group_fold", lambda r: conv_case(r, group=2), True, "QLinearConv"),
    ("conv_relu_fold", lambda r: conv_case(r, relu_zp=0), True, "Relu absorbed"),
    ("conv_no_bias_fold", lambda r: conv_case(r, bias=None), True, "QLinearConv"),
    ("matmul_fold", lambda r: matmul_case(r), True, "QLinearMatMul"),
    ("conv_relu_zp", lambda r: conv_case(r, relu_zp=10), False, "a Relu before a QuantizeLinear"),
    ("conv_float_bias", lambda r: conv_case(r, bias="float"), False,
     "the bias is not a DequantizeLinear output"),
    ("conv_two_readers", lambda r: conv_case(r, extra_reader=True), False, "other readers"),
    ("gemm_transb", lambda r: matmul_case(r, gemm=True), False, "transA/transB"),
]


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print("+ " + " ".join(cmd) + "\n" + r.stdout.rstrip())
        raise SystemExit("check_fold_qdq: mtcc exited with %d" % r.returncode)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    import onnxruntime as ort

    os.makedirs(args.work, exist_ok=True)
    failures = 0
    for name, build, folds, text in CASES:
        rng = np.random.default_rng(len(name) * 7919)  # fixed per case
        path = os.path.join(args.work, name + ".onnx")
        model = build(rng)
        onnx.save(model, path)
        bundle, report = path[:-5] + ".mtbundle", path[:-5] + ".json"
        run([args.mtcc, "compile", path, "--cpu-only", "-o", bundle, "--report", report])
        with open(report) as f:
            rep = json.load(f)
        made = [r["how"] for r in rep.get("rewrites", []) if r["pass"] == "fold-qdq"]
        refused = [r["reason"] for r in rep["rejected_fusions"] if r["pass"] == "fold-qdq"]
        if folds:
            ok = len(made) == 1 and text in made[0] and not refused
        else:
            ok = not made and len(refused) == 1 and text in refused[0]
        detail = (made + refused)[0] if made + refused else "nothing reported"
        if ok and folds:
            x = rng.normal(0, 1, [d.dim_value for d in
                                  model.graph.input[0].type.tensor_type.shape.dim]).astype(np.float32)
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            out = model.graph.output[0].name
            want = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(
                [out], {"x": x})[0]
            inp, od = path[:-5] + "_x.npy", path[:-5] + "_out"
            np.save(inp, x)
            run([args.mtcc, "run", bundle, "--input", "x=" + inp, "--output-dir", od])
            got = np.load(os.path.join(od, os.listdir(od)[0], out + ".npy"))
            step = 0.1 if name.startswith("matmul") else 0.03
            steps = float(np.max(np.abs(got.astype(np.float64) - want))) / step
            differ = int(np.count_nonzero(np.abs(got - want) > 1e-6))
            detail += "; vs ORT: %d of %d differ, max %.2f step(s)" % (differ, got.size, steps)
            ok = steps <= 1 + 1e-4
        print("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail))
        failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
