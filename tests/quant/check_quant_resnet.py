#!/usr/bin/env python3
"""The int8 ResNet sample (gen_quant_resnet.py) through mtcc against ONNX Runtime.

  check_quant_resnet.py --mtcc MTCC --models DIR --work DIR [--inputs N]

For N inputs (fixed seed; not the calibration set) it compares two pairs:
  - `mtcc compile --cpu-only -o B.mtbundle --report R.json` + `mtcc run B.mtbundle` (libmtrt's CPU
    path over the folded module: QLinearConv kernels) against ONNX Runtime with all graph
    optimizations (its QDQ transformer makes the same QLinearConv nodes: integer math);
  - `mtcc run --reference` (the reference executor over the model as imported: float Conv between
    DequantizeLinear and QuantizeLinear) against ONNX Runtime with optimizations disabled (the same
    float chain).
Checks, per input and output:
  - block2_q (uint8): at most 1% of the elements differ from ORT, none by more than 3 steps. A
    value at a rounding tie may land one step apart: ORT requantizes with a float32 multiply where
    mtcc follows the ONNX reference in double, ORT's QLinearAdd (residuals) is integer where mtcc
    keeps DequantizeLinear -> Add -> QuantizeLinear in float, and float convolutions (reference
    pair) sum in another order. The next 3x3 convolution spreads such a step over its window
    (one to three steps each). Measured: no difference on most inputs, ~35 elements of 8192
    (0.4%) on the others;
  - logits (float, a DequantizeLinear output: multiples of its scale s): |mtcc - ORT| <= s + 1e-6
    (one step).
And on the report: the six Conv -> QuantizeLinear chains folded into QLinearConv (pass fold-qdq,
"rewrites"), the Gemm reported as not folded with its reason. Prints the largest differences in
steps and how many elements differ; exit 0 when every check holds.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print("+ " + " ".join(cmd))
        print(r.stdout.rstrip())
        raise SystemExit("check_quant_resnet: mtcc exited with %d" % r.returncode)
    return r.stdout


def dq_scale(model, output):
    inits = {t.name: t for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] == output:
            return float(onnx.numpy_helper.to_array(inits[n.input[1]]))
    raise SystemExit("check_quant_resnet: '%s' is not a DequantizeLinear output" % output)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--inputs", type=int, default=4)
    args = ap.parse_args()
    import onnxruntime as ort

    path = os.path.join(args.models, "resnet_int8.onnx")
    model = onnx.load(path)
    outs = [o.name for o in model.graph.output]
    qname = [o for o in outs if o != "logits"][0]
    step = dq_scale(model, "logits")
    os.makedirs(args.work, exist_ok=True)
    bundle, report = os.path.join(args.work, "q.mtbundle"), os.path.join(args.work, "report.json")
    run([args.mtcc, "compile", path, "--cpu-only", "-o", bundle, "--report", report])
    ok = True
    with open(report) as f:
        rep = json.load(f)
    folded = [r for r in rep.get("rewrites", []) if r["pass"] == "fold-qdq"]
    refused = [r for r in rep["rejected_fusions"] if r["pass"] == "fold-qdq"]
    for r in folded:
        print("folded  %s: %s" % (r["what"], r["how"]))
    for r in refused:
        print("refused %s: %s" % (r["what"], r["reason"]))
    if len(folded) != 6 or not all(r["how"].startswith("QLinearConv") for r in folded):
        print("FAIL: expected the 6 Conv chains folded into QLinearConv")
        ok = False
    if len(refused) != 1 or "Gemm" not in refused[0]["what"]:
        print("FAIL: expected the Gemm reported as not folded")
        ok = False

    sess = {}
    for how, level in (("bundle", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
                       ("reference", ort.GraphOptimizationLevel.ORT_DISABLE_ALL)):
        so = ort.SessionOptions()
        so.graph_optimization_level = level
        sess[how] = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    worst = {"bundle": [0, 0, 0, 0], "reference": [0, 0, 0, 0]}  # q max, q count, logit steps, n
    for k in range(args.inputs):
        x = rng.normal(0, 1, (1, 3, 32, 32)).astype(np.float32)
        inp = os.path.join(args.work, "input_%d.npy" % k)
        np.save(inp, x)
        for how in ("bundle", "reference"):
            want = dict(zip(outs, sess[how].run(outs, {"input": x})))
            od = os.path.join(args.work, "%s_%d" % (how, k))
            if how == "bundle":
                run([args.mtcc, "run", bundle, "--input", "input=" + inp, "--output-dir", od])
            else:
                run([args.mtcc, "run", "--reference", path, "--input", "input=" + inp,
                     "--output-dir", od])
            tdir = os.path.join(od, os.listdir(od)[0])
            got_q = np.load(os.path.join(tdir, qname + ".npy"))
            got_l = np.load(os.path.join(tdir, "logits.npy"))
            dq = np.abs(got_q.astype(np.int32) - want[qname].astype(np.int32))
            dl = np.abs(got_l.astype(np.float64) - want["logits"]) / step
            w = worst[how]
            w[0] = max(w[0], int(dq.max()))
            w[1] += int(np.count_nonzero(dq))
            w[2] = max(w[2], float(dl.max()))
            w[3] += dq.size
            if dq.max() > 3 or np.count_nonzero(dq) > dq.size // 100 or dl.max() > 1 + 1e-6 / step:
                print("FAIL %s input %d: %d elements differ (max %d steps), logits %.3f steps" %
                      (how, k, int(np.count_nonzero(dq)), int(dq.max()), float(dl.max())))
                ok = False
    for how, w in worst.items():
        print("%-9s %s: max |diff| %d step(s), %d of %d elements differ; logits: max %.3f step(s) "
              "(step %.4g)" % (how, qname, w[0], w[1], w[3], w[2], step))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
