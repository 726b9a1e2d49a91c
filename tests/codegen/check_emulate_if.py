#!/usr/bin/env python3
"""If models through their generated CUDA under the emulation (mtcc-emulate models): the If
groups run as conditionals (codegen/cuda_branch.c: the chosen body's kernels, library calls,
nested conditionals and result copies), never on the reference fallback, and every output matches
the reference executor (1e-4 relative; mtcc-emulate compares).

Models: tests/bundle/check_bundle_if.py's (outer-scope reads, a nested If, a Constant branch, two
outputs), and one whose branches hold a MatMul (a GEMM library call in a body) and a Softmax (a
reduction kernel). Each runs with several --seed values, so that the random bool conditions take
both branches: across the seeds every model must have run a then and an else body, and the first
model its nested If too (a run of 2 conditionals). Fails on any FAIL, any reference fallback, or
a branch never taken.

usage: check_emulate_if.py --emulate MTCC_EMULATE --work DIR
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bundle"))
import check_bundle_if  # noqa: E402

SEEDS = range(1, 9)
LINE = re.compile(r"^PASS .*: \d+ kernels, (\d+) library calls, (\d+) If conditionals "
                  r"\((\d+) then, (\d+) else\), (\d+) groups on the reference fallback")


def gemm_model():
    f = TensorProto.FLOAT
    w = numpy_helper.from_array(np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6), "w")
    then_b = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["m"]),
         helper.make_node("Relu", ["m"], ["t"])],
        "then_b", [], [helper.make_tensor_value_info("t", f, [3, 6])])
    else_b = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["m2"]),
         helper.make_node("Softmax", ["m2"], ["e"], axis=-1)],
        "else_b", [], [helper.make_tensor_value_info("e", f, [3, 6])])
    g = helper.make_graph(
        [helper.make_node("If", ["c"], ["r"], then_branch=then_b, else_branch=else_b),
         helper.make_node("Sigmoid", ["r"], ["y"])],
        "if_gemm",
        [helper.make_tensor_value_info("x", f, [3, 4]),
         helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", f, [3, 6])], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--emulate", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    failures = 0
    for name, model, want_nested, want_lib in (("if_nested", check_bundle_if.model(), True, False),
                                               ("if_gemm", gemm_model(), False, True)):
        path = os.path.join(args.work, name + ".onnx")
        onnx.save(model, path)
        then_runs = else_runs = nested = libcalls = 0
        for seed in SEEDS:
            p = subprocess.run([args.emulate, "models", "--seed", str(seed), path],
                               capture_output=True, text=True)
            out = (p.stdout + p.stderr).strip()
            if p.returncode == 77:
                print("SKIP: " + out)
                return 77
            m = LINE.match(p.stdout)
            if p.returncode or not m:
                print("FAIL %s seed %d: %s" % (name, seed, out))
                failures += 1
                continue
            lib, conds, t, e, fallback = map(int, m.groups())
            if fallback:
                print("FAIL %s seed %d: %d groups on the reference fallback: %s"
                      % (name, seed, fallback, out))
                failures += 1
            then_runs += t
            else_runs += e
            nested += conds == 2
            libcalls += lib
        print("%s: %d seeds, then bodies %d, else bodies %d, runs with the nested If %d, "
              "library calls %d" % (name, len(SEEDS), then_runs, else_runs, nested, libcalls))
        if not then_runs or not else_runs or (want_nested and not nested) or (
                want_lib and not libcalls):
            print("FAIL %s: a branch (or the nested If, or the library call) never ran" % name)
            failures += 1
    if failures:
        return 1
    print("OK: If models ran their branches as generated code under the emulation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
