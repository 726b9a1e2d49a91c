#!/usr/bin/env python3
"""Checks mtcc's reference executor against ONNX Runtime on one model.

  check_model.py --mtcc PATH --models DIR --name NAME [--batch N] [--seq N] --work DIR

Makes random inputs (fixed seed; BERT ids/masks as in-range int64), runs ONNX
Runtime on the CPU with graph optimizations disabled, saves the inputs as
WORK/inputs/<input>.npy, runs
  mtcc run --reference DIR/NAME.onnx --input NAME=FILE ... --output-dir WORK/out
and compares every graph output WORK/out/NAME/<output>.npy with the oracle:
relative L2 error <= --tol (default 1e-4) for floats, exact for integers and
bool, and equal shape and dtype.  Prints one line per output; exit 0 if all
pass, 1 otherwise.
"""

import argparse
import os
import sys
import time

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_util as ou  # noqa: E402


def compare(name, got, want, tol):
    """Returns (ok, message) for one output."""
    if got.shape != want.shape:
        return False, "shape %s, expected %s" % (list(got.shape), list(want.shape))
    if got.dtype != want.dtype:
        return False, "dtype %s, expected %s" % (got.dtype, want.dtype)
    if np.issubdtype(want.dtype, np.floating):
        if not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
            return False, "non-finite values"
        err = ou.rel_l2(got, want)
        return err <= tol, "rel_l2 %.3e (tol %.0e) max_abs %.3e" % (
            err, tol, float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0)
    same = np.array_equal(got, want)
    return same, "exact %s" % ("equal" if same else "MISMATCH (%d elements differ)" % int(np.sum(got != want)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mtcc", required=True, help="path of the mtcc binary")
    ap.add_argument("--models", required=True, help="folder holding NAME.onnx")
    ap.add_argument("--name", required=True, help="model name (file stem)")
    ap.add_argument("--batch", type=int, default=1, help="value of the 'batch' dim (default 1)")
    ap.add_argument("--seq", type=int, default=128, help="value of the 'seq' dim (default 128)")
    ap.add_argument("--work", required=True, help="scratch folder (inputs/, out/)")
    ap.add_argument("--tol", type=float, default=1e-4, help="max relative L2 error (default 1e-4)")
    ap.add_argument("--seed", default="check_model", help="input seed (default fixed)")
    ap.add_argument("--timeout", type=int, default=3600, help="mtcc time limit in seconds")
    args = ap.parse_args(argv)

    model_path = os.path.abspath(os.path.join(args.models, args.name + ".onnx"))
    if not os.path.exists(model_path):
        print("error: %s does not exist (run gen_models.py first)" % model_path)
        return 1
    model = onnx.load(model_path, load_external_data=False)
    dims = {"batch": args.batch, "seq": args.seq}
    feeds = ou.make_inputs(model, dims, "%s:%s" % (args.seed, args.name))
    in_dir = os.path.join(args.work, "inputs")
    out_dir = os.path.abspath(os.path.join(args.work, "out"))
    paths = ou.save_inputs(feeds, in_dir)
    for n, a in feeds.items():
        print("input  %-20s %-8s %s" % (n, a.dtype, list(a.shape)))

    t0 = time.perf_counter()
    want = ou.run_ort(model_path, feeds)
    t_ort = time.perf_counter() - t0

    t0 = time.perf_counter()
    ok = ou.run_mtcc(args.mtcc, model_path, ["%s=%s" % (n, p) for n, p in paths.items()], out_dir,
                     args.timeout)
    t_mtcc = time.perf_counter() - t0
    print("time   onnxruntime %.2f s, mtcc %.2f s" % (t_ort, t_mtcc))
    if not ok:
        print("FAIL %s: mtcc run failed" % args.name)
        return 1

    tenant = os.path.splitext(os.path.basename(model_path))[0]
    all_ok = True
    for name, w in want.items():
        got, p = ou.load_output(out_dir, tenant, name)
        if got is None:
            print("FAIL   %-24s missing %s" % (name, p))
            all_ok = False
            continue
        good, msg = compare(name, got, np.asarray(w), args.tol)
        all_ok &= good
        print("%-6s %-24s %s" % ("ok" if good else "FAIL", name, msg))
    print("%s %s (batch %d%s)" % ("PASS" if all_ok else "FAIL", args.name, args.batch,
                                  ", seq %d" % args.seq if "seq" in ou.symbolic_dims(model) else ""))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
