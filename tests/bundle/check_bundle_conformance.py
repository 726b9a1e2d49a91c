#!/usr/bin/env python3
"""ONNX backend node cases through compile -> .mtbundle -> libmtrt on two CPU threads.

Every case folder (model.onnx + test_data_set_0) is compiled twice when it can be: as it is, and
with every graph input but the first made an initializer holding its test value (so shape inputs
such as Resize scales, Pad pads or TopK's k are known when compiling, which reaches the kernel
kinds whose output shapes depend on them). Each bundle that compiles must load (the loader checks
every kernel call against its buffers), run with --cpu-threads 2 (the session's race check on the
plan) and give the case's expected outputs (rtol 1e-3, atol 1e-5, NaN matching NaN, as
`mtcc conformance`). A case mtcc does not compile is skipped (conformance_* tests pin those), and
so is one whose data stores a bfloat16 value as uint16 bits (onnx < 1.14's legacy data, which
`mtcc conformance` reports unsupported for the same reason);
--min-run fails the test when fewer bundles ran, so a regression that stops compiling cannot pass
silently.

usage: check_bundle_conformance.py --mtcc MTCC --work DIR [--min-run N] CASES_DIR...
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


def variants(case, work):
    """(tag, model path, [(input name, test data index)]) for the case as is and frozen."""
    m = onnx.load(os.path.join(case, "model.onnx"), load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    inputs = [i.name for i in m.graph.input if i.name not in inits]
    out = [("", os.path.join(case, "model.onnx"), [(n, k) for k, n in enumerate(inputs)])]
    data = os.path.join(case, "test_data_set_0")
    extra = [(k, n) for k, n in enumerate(inputs) if k > 0 and
             os.path.exists(os.path.join(data, "input_%d.pb" % k))]
    if extra:
        for k, n in extra:
            t = load_pb(os.path.join(data, "input_%d.pb" % k))
            t.name = n
            m.graph.initializer.append(t)
        keep = [i for i in m.graph.input if i.name not in {n for _, n in extra}]
        del m.graph.input[:]
        m.graph.input.extend(keep)
        path = os.path.join(work, "frozen.onnx")
        onnx.save(m, path)
        out.append((" (frozen)", path, [(inputs[0], 0)]))
    return out


def legacy_bf16_data(case):
    """True when a bfloat16 graph input or output's test data is uint16 (pre-1.14 backend data,
    made by a reference that truncated casts to bfloat16)."""
    m = onnx.load(os.path.join(case, "model.onnx"), load_external_data=False)
    data = os.path.join(case, "test_data_set_0")
    for prefix, values in (("input", m.graph.input), ("output", m.graph.output)):
        for k, v in enumerate(values):
            f = os.path.join(data, "%s_%d.pb" % (prefix, k))
            if v.type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16 and os.path.exists(f) \
                    and load_pb(f).data_type == onnx.TensorProto.UINT16:
                return True
    return False


def check(mtcc, case, tag, model, inputs, work):
    """None when the bundle does not compile (or the data is legacy bfloat16), else a list of
    error lines."""
    if legacy_bf16_data(case):
        return None
    bundle = os.path.join(work, "case.mtbundle")
    if subprocess.run([mtcc, "compile", model, "-o", bundle], capture_output=True).returncode:
        return None
    data = os.path.join(case, "test_data_set_0")
    args = []
    for name, k in inputs:
        args += ["--input", "%s=%s" % (name, os.path.join(data, "input_%d.pb" % k))]
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.run([mtcc, "run", bundle, "--cpu-threads", "2", "--output-dir", out] + args,
                       capture_output=True, text=True)
    name = os.path.basename(case.rstrip("/")) + tag
    if p.returncode:
        return ["%s: run failed: %s" % (name, p.stderr.strip())]
    tenant = os.listdir(out)[0]
    errors = []
    m = onnx.load(model, load_external_data=False)
    for k, o in enumerate(m.graph.output):
        want = numpy_helper.to_array(load_pb(os.path.join(data, "output_%d.pb" % k)))
        f = os.path.join(out, tenant, re.sub(r"[^A-Za-z0-9._-]", "_", o.name) + ".npy")
        if not os.path.exists(f):
            errors.append("%s: output %s missing" % (name, o.name))
            continue
        got = np.load(f)
        if got.shape != want.shape or not np.allclose(
                got.astype(np.float64), want.astype(np.float64), rtol=1e-3, atol=1e-5,
                equal_nan=True):
            errors.append("%s: output %s differs from the expected data" % (name, o.name))
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--min-run", type=int, default=0)
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    ran, errors = 0, []
    for d in args.dirs:
        for case in sorted(glob.glob(os.path.join(d, "*", ""))):
            if not os.path.exists(os.path.join(case, "model.onnx")) or \
                    not os.path.isdir(os.path.join(case, "test_data_set_0")):
                continue
            for tag, model, inputs in variants(case, args.work):
                e = check(args.mtcc, case, tag, model, inputs, args.work)
                if e is not None:
                    ran += 1
                    errors += e
    for e in errors:
        print("FAIL " + e)
    print("bundle conformance: %d bundles ran on 2 CPU threads, %d failures" % (ran, len(errors)))
    if ran < args.min_run:
        print("FAIL only %d bundles ran, expected at least %d" % (ran, args.min_run))
        sys.exit(1)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
