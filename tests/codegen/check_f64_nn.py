#!/usr/bin/env python3
"""Runs each float64 case that gen_f64_nn_cases.py wrote through `mtcc run --reference` and
requires every output within rtol 1e-12 of ONNX Runtime's: tight enough to fail if the kernel
staged through float32 (~1e-8 off), which the conformance tolerance (1e-3) would let pass.

usage: check_f64_nn.py --mtcc MTCC DIR"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, numpy_helper.to_array(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("dir")
    args = ap.parse_args()
    cases = sorted(glob.glob(os.path.join(args.dir, "test_f64_*")))
    bad = 0
    for case in cases:
        data = os.path.join(case, "test_data_set_0")
        cmd = [args.mtcc, "run", "--reference", os.path.join(case, "model.onnx")]
        for p in sorted(glob.glob(os.path.join(data, "input_*.pb"))):
            cmd += ["--input", f"{load_pb(p)[0]}={p}"]
        with tempfile.TemporaryDirectory() as out:
            proc = subprocess.run(cmd + ["--output-dir", out, "--output-format", "npy"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if proc.returncode != 0:
                print(f"FAIL {os.path.basename(case)}: {proc.stdout.strip()}")
                bad += 1
                continue
            for p in sorted(glob.glob(os.path.join(data, "output_*.pb"))):
                name, want = load_pb(p)
                got = np.load(os.path.join(out, "model", f"{name}.npy"))  # DIR/<tenant>/
                if want.dtype != np.float64:  # MaxPool's indices: exactly
                    ok, rel = got.dtype == want.dtype and np.array_equal(got, want), 0.0
                else:
                    err = np.abs(got.astype(np.float64) - want)
                    rel = float(np.max(err / np.maximum(np.abs(want), 1e-300)))
                    ok = got.dtype == np.float64 and bool(np.all(err <= 1e-12 * np.abs(want) + 1e-15))
                print(f"{'PASS' if ok else 'FAIL'} {os.path.basename(case)} {name}: "
                      f"{got.dtype}, max relative error {rel:.3g}")
                bad += not ok
    print(f"check_f64_nn: {len(cases)} cases, {bad} failed")
    return 1 if bad or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
