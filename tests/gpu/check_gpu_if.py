#!/usr/bin/env python3
"""If models on libmtrt's GPU path (label gpu): the If as a CUDA Graph IF node whose bodies hold
the branches' generated kernels (and a cuBLASLt call), against ONNX Runtime.

The models of tests/codegen/check_emulate_if.py (a nested If with a Constant branch and two
outputs; a MatMul and a Softmax in the bodies) compile with `--nvrtc -o`; each runs with
`mtcc run --device gpu` for every combination of its conditions, and every output must match
ONNX Runtime within 1e-4 relative (||gpu - ort|| / ||ort||). Exits 77 (CTest's skip), printing
why, without a usable GPU (no CUDA driver or device); a refusal for any other reason (a bundle
whose If has no GPU code, bodies the session cannot prepare) is a failure.

usage: check_gpu_if.py --mtcc MTCC --work DIR
"""
import argparse
import itertools
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "codegen"))
sys.path.insert(0, os.path.join(HERE, "..", "bundle"))
import check_bundle_if  # noqa: E402
import check_emulate_if  # noqa: E402

NO_GPU = ("no CUDA driver", "no CUDA device", "driver is too old", "sees no GPU")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    rng = np.random.default_rng(11)
    failures = 0
    for name, model in (("if_nested", check_bundle_if.model()),
                        ("if_gemm", check_emulate_if.gemm_model())):
        path = os.path.join(args.work, name + ".onnx")
        onnx.save(model, path)
        bundle = os.path.join(args.work, name + ".mtbundle")
        p = subprocess.run([args.mtcc, "compile", path, "--nvrtc", "-o", bundle],
                           capture_output=True, text=True)
        if p.returncode:
            print("FAIL %s: compile: %s" % (name, p.stderr.strip()))
            return 1
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        floats = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim]
                  for i in model.graph.input if i.type.tensor_type.elem_type == 1}
        conds = [i.name for i in model.graph.input if i.name not in floats]
        for values in itertools.product((True, False), repeat=len(conds)):
            feeds = {k: rng.standard_normal(s).astype(np.float32) for k, s in floats.items()}
            feeds.update({c: np.array(v) for c, v in zip(conds, values)})
            ins = []
            for k, v in feeds.items():
                f = os.path.join(args.work, k + ".npy")
                np.save(f, v)
                ins += ["--input", "%s=%s" % (k, f)]
            out = os.path.join(args.work, "out")
            shutil.rmtree(out, ignore_errors=True)
            p = subprocess.run([args.mtcc, "run", bundle, "--device", "gpu", "--output-dir", out]
                               + ins, capture_output=True, text=True)
            tag = "%s %s" % (name, dict(zip(conds, values)))
            if p.returncode:
                text = p.stdout + p.stderr
                if any(w in text for w in NO_GPU):
                    print("skipped: " + text.strip().splitlines()[-1])
                    return 77
                print("FAIL %s: run: %s" % (tag, text.strip()))
                failures += 1
                continue
            want = sess.run(None, feeds)
            for o, w in zip(model.graph.output, want):
                got = np.load(os.path.join(out, name, o.name + ".npy"))  # tenant: the file
                err = np.linalg.norm(got - w) / max(np.linalg.norm(w), 1e-30)
                if got.shape != w.shape or not err <= 1e-4:
                    print("FAIL %s: output %s: relative error %g" % (tag, o.name, err))
                    failures += 1
            print("PASS %s" % tag)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
