#!/usr/bin/env python3
"""Checks, without a GPU, the PyTorch half of the GPU proof before a loan spends time on it: every
tenant bench/torch_tenants.py builds (torchvision/transformers configurations, random weights) is
exported to ONNX as bench_gpu.py exports it, imported by mtcc, and run on mtcc's reference
executor against PyTorch eager on the CPU (relative L2 <= 1e-4 per output). Prints one line per
model: the exporter, and either the error or the largest error; exits 1 when any model fails,
77 when PyTorch is not installed (CI has none: this is a tool for a machine that has it).

usage: check_exports.py --mtcc BIN --work DIR [--models resnet50,mobilenetv2,...] [--batch N]
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ALL = ["resnet50", "mobilenetv2", "efficientnet_b0", "vgg16", "bert_base", "yolo_tiny"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default=",".join(ALL))
    ap.add_argument("--batch", type=int, default=1)
    a = ap.parse_args()
    try:
        import torch
        import torch_tenants as tt
    except ImportError as e:
        print(f"SKIP: PyTorch is not installed ({e})")
        return 77
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    os.makedirs(a.work, exist_ok=True)
    failed = 0
    for name in a.models.split(","):
        t0 = time.monotonic()
        path = os.path.join(a.work, name + ".onnx")
        try:
            module, ins, outs, axes = tt.build(name, 0, device="cpu")
            how = tt.export(module, ins, outs, axes, tt.to_torch(tt.inputs_for(name, 2, 1), ins, "cpu"),
                            path)
            inputs = tt.inputs_for(name, a.batch, 7)
            with torch.inference_mode():
                ref = tt.outputs_numpy(module(*tt.to_torch(inputs, ins, "cpu")))
            cmd = [a.mtcc, "run", "--reference", path, "--output-dir", os.path.join(a.work, name + ".out")]
            for n, x in inputs.items():
                f = os.path.join(a.work, f"{name}.{n}.npy")
                np.save(f, x)
                cmd += ["--input", f"{n}={f}"]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError((p.stderr or p.stdout).strip().splitlines()[-1])
            worst = 0.0
            for o, r in zip(outs, ref):
                got = np.load(os.path.join(a.work, name + ".out", name, o + ".npy")).astype(np.float64)
                err = np.linalg.norm(got - r) / max(np.linalg.norm(r), 1e-30)
                worst = max(worst, float(err))
            ok = worst <= 1e-4
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'} {name}: {how}; rel L2 {worst:.2e} against PyTorch "
                  f"eager; {time.monotonic() - t0:.1f} s", flush=True)
        except Exception as e:  # noqa: BLE001 - one line per model, the next one goes on
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {str(e)[:600]}", flush=True)
    print(f"{'FAIL' if failed else 'OK'}: {failed} model(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
