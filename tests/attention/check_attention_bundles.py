#!/usr/bin/env python3
"""RotaryEmbedding and Attention through bundles: each ONNX backend case (the onnx wheel's node
cases) is compiled to a CPU-only .mtbundle and run by libmtrt (`mtcc check`), so the kernel-call
codec and libmtrt's call validator see every form (3-D/4-D, GQA, masks, past/present, nonpad,
windows, the QK output). Expected outputs are the backend's. One perturbed expected output per
run must make `mtcc check` fail, so the comparison itself is checked.

usage: check_attention_bundles.py --mtcc MTCC --cases WHEEL_NODE_DIR --work DIR [--label L] [CASE...]
Other families (tests/newops/) pass their own case names; the last one's output is perturbed.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

CASES = [
    "test_rotary_embedding",
    "test_rotary_embedding_3d_input",
    "test_rotary_embedding_no_position_ids_rotary_dim",
    "test_attention_3d_gqa_with_past_and_present",
    "test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask_causal",
    "test_attention_4d_attn_mask_bool",
    "test_attention_4d_gqa_causal_nonpad_decode_fp16",
    "test_attention_local_window_with_past",
    "test_attention_4d_with_qk_matmul_softmax",
]


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def stage(case_dir, work):
    """Writes the case's inputs and expected outputs as DIR/model/<name>.npy; returns the dirs."""
    m = onnx.load(os.path.join(case_dir, "model.onnx"))
    ins, exp = os.path.join(work, "in"), os.path.join(work, "expected")
    os.makedirs(os.path.join(ins, "model"), exist_ok=True)
    os.makedirs(os.path.join(exp, "model"), exist_ok=True)
    data = os.path.join(case_dir, "test_data_set_0")
    for i, vi in enumerate(m.graph.input):
        np.save(os.path.join(ins, "model", vi.name + ".npy"), read_pb(f"{data}/input_{i}.pb"))
    for i, vi in enumerate(m.graph.output):
        np.save(os.path.join(exp, "model", vi.name + ".npy"), read_pb(f"{data}/output_{i}.pb"))
    return ins, exp, m.graph.output[0].name


def check(mtcc, bundle, ins, exp):
    r = subprocess.run([mtcc, "check", bundle, "--inputs", ins, "--expected", exp, "--rtol", "1e-3",
                        "--atol", "1e-4"], capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--label", default="attention")
    ap.add_argument("case", nargs="*", help="case names (default: the attention family's)")
    a = ap.parse_args()
    cases = a.case or CASES
    failed = 0
    for case in cases:
        work = os.path.join(a.work, case)
        os.makedirs(work, exist_ok=True)
        ins, exp, y = stage(os.path.join(a.cases, case), work)
        bundle = os.path.join(work, "model.mtbundle")
        r = subprocess.run([a.mtcc, "compile", os.path.join(a.cases, case, "model.onnx"), "--cpu-only",
                            "-o", bundle], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {case}: compile: {r.stderr.strip()}")
            failed += 1
            continue
        rc, out = check(a.mtcc, bundle, ins, exp)
        print(f"{'PASS' if rc == 0 else 'FAIL'} {case}: {out.splitlines()[-1] if out else ''}")
        failed += rc != 0
        if case == cases[-1]:
            # the comparison must be able to fail: shift Y by 1 and expect a mismatch
            path = os.path.join(exp, "model", y + ".npy")
            np.save(path, np.load(path) + 1)
            rc, out = check(a.mtcc, bundle, ins, exp)
            if rc == 0:
                print(f"FAIL {case}: a perturbed expected output still matched")
                failed += 1
    print(f"{a.label} bundles: {len(cases) - failed} of {len(cases)} cases match")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
