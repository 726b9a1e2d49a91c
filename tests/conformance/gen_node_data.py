#!/usr/bin/env python3
"""Writes the ONNX backend *node* test cases of the installed onnx wheel to a folder, in the
layout of ONNX's test data (CASE/model.onnx, CASE/test_data_set_N/{input,output}_K.pb).

The wheel ships only the pytorch/simple/light cases as files; its node cases exist as Python
generators (onnx.backend.test.case.node), newer than Debian's 1.12 copy. Only tensor-typed cases
are written: sequence/map/optional inputs cannot be stored as TensorProto files and mtcc does not
support those types anyway (they count as unsupported in Debian's copy).

The cases are written into a fresh folder next to --out that then replaces it, so a case the
wheel (or NOISY_EXPECTED) no longer has disappears on regeneration instead of lingering, and an
interrupted run leaves the previous folder whole."""
import argparse
import os
import shutil
import sys
import tempfile
import warnings

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from onnx.backend.test.case import node


def write_tensor(path, value, name):
    tensor = value if isinstance(value, TensorProto) else numpy_helper.from_array(np.asarray(value), name)
    with open(path, "wb") as f:
        f.write(tensor.SerializeToString())


# Cases whose expected outputs no implementation meets under the runner's tolerance (rtol 1e-3,
# atol 1e-7): the wheel's generator computes them with numpy's float32 FFT, so values that are 0
# in exact arithmetic come out as float32 noise (1.9e-7 where the exact inverse gives 3e-15);
# ONNX Runtime misses them by 1.9e-5. Debian's test_dft_inverse (float64 FFT) stays in the run.
NOISY_EXPECTED = {"test_dft_inverse", "test_dft_inverse_opset19"}


def is_tensor_case(case):
    graph = case.model.graph
    return all(v.type.HasField("tensor_type") for v in list(graph.input) + list(graph.output))


def write_cases(cases, root):
    """Writes the tensor cases into root; returns (written, skipped, noisy)."""
    written = skipped = noisy = 0
    for case in cases:
        if not case.model or not case.data_sets or not is_tensor_case(case):
            skipped += 1
            continue
        if case.name in NOISY_EXPECTED:
            noisy += 1
            continue
        case_dir = os.path.join(root, case.name)
        os.makedirs(case_dir, exist_ok=True)
        with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            set_dir = os.path.join(case_dir, f"test_data_set_{i}")
            os.makedirs(set_dir, exist_ok=True)
            for j, value in enumerate(inputs):
                write_tensor(os.path.join(set_dir, f"input_{j}.pb"), value, case.model.graph.input[j].name)
            for j, value in enumerate(outputs):
                write_tensor(os.path.join(set_dir, f"output_{j}.pb"), value, case.model.graph.output[j].name)
        written += 1
    return written, skipped, noisy


def replace_dir(fresh, out):
    """Puts the folder fresh where out is (out may not exist): out moves aside first and is
    removed after, so out is at every moment either the old folder or the new one."""
    old = None
    if os.path.lexists(out):
        old = tempfile.mkdtemp(prefix=os.path.basename(out) + ".old-", dir=os.path.dirname(out))
        os.rmdir(old)
        os.rename(out, old)
    os.rename(fresh, out)
    if old:
        shutil.rmtree(old)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    warnings.simplefilter("ignore")
    with np.errstate(all="ignore"):
        cases = node.collect_testcases(None)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fresh = tempfile.mkdtemp(prefix=os.path.basename(out) + ".tmp-", dir=os.path.dirname(out))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(fresh, 0o777 & ~umask)  # mkdtemp's 0700 would not be what makedirs gave before
    try:
        written, skipped, noisy = write_cases(cases, fresh)
        replace_dir(fresh, out)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    print(f"gen_node_data: onnx {onnx.__version__}: {written} cases written, {skipped} non-tensor cases skipped, "
          f"{noisy} with float32-noise expected outputs skipped (NOISY_EXPECTED)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
