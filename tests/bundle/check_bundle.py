#!/usr/bin/env python3
"""compile -> .mtbundle -> libmtrt's CPU path (`mtcc run BUNDLE`) against `mtcc run --reference`.

For each sample model (its own manifest) and for a two-tenant mix in two partitions:
  * compiled with `--disable-pass canonicalize` (no rewrite that changes float rounding, such as
    BatchNormalization folded into the convolution's weights) and `--no-cpu-code` (the runtime's
    reference kernels), every output of every tenant must be bit-for-bit equal to the reference
    executor's on the original model;
  * compiled with every pass and the generated CPU code (its GEMMs sum in the BLAS library's
    order), outputs must match within rtol/atol 1e-4, and two builds must give byte-identical
    bundles;
  * `mtcc check` passes (exit 0, JUnit without failures) against the reference outputs and fails
    (exit 1, one error line, the perturbed output first in the table, a JUnit <failure>) when one
    element of one expected output is moved by 1e-2;
  * `run --cpu-threads 2` and `4` give the same bytes as one thread; a run whose output folder
    cannot be written fails with one error line and leaves no file (outputs are staged);
  * `mtcc inspect BUNDLE` lists every tenant; a truncated or bit-flipped bundle is refused by
    `run` and `inspect` with exactly one `mtcc: error:` line and exit code 1.

usage: check_bundle.py --mtcc MTCC --models DIR --work DIR [--only a,b]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_INPUTS = os.path.join(HERE, "..", "..", "samples", "make_inputs.py")

DIMS = {
    "mobilenetv2": {"batch": 2},
    "yolo_tiny": {"batch": 1},
    "bert_tiny": {"batch": 1, "seq": 32},
}


def run(cmd, expect_ok=True):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if expect_ok and p.returncode != 0:
        sys.exit("FAIL: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p


def outputs(folder):
    found = {}
    for root, _, files in os.walk(folder):
        for f in files:
            if f.endswith(".npy"):
                found[os.path.relpath(os.path.join(root, f), folder)] = np.load(os.path.join(root, f))
    return found


def compare(ref_dir, got_dir, exact, what):
    ref, got = outputs(ref_dir), outputs(got_dir)
    if sorted(ref) != sorted(got) or not ref:
        sys.exit("FAIL %s: output files differ: %s vs %s" % (what, sorted(ref), sorted(got)))
    for name in sorted(ref):
        a, b = ref[name], got[name]
        if a.dtype != b.dtype or a.shape != b.shape:
            sys.exit("FAIL %s: %s: %s%s vs %s%s" % (what, name, a.dtype, a.shape, b.dtype, b.shape))
        if exact:
            ok = a.tobytes() == b.tobytes()
        else:
            ok = np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-4, atol=1e-4)
        if not ok:
            d = np.abs(a.astype(np.float64) - b.astype(np.float64))
            sys.exit("FAIL %s: %s differs (max abs diff %g, %d elements)" %
                     (what, name, d.max(), int((d > 0).sum())))
    return len(ref)


def expect_one_error_line(cmd, what):
    p = run(cmd, expect_ok=False)
    lines = p.stderr.strip().splitlines()
    if p.returncode != 1 or len(lines) != 1 or not lines[0].startswith("mtcc: error: "):
        sys.exit("FAIL %s: expected one error line and exit 1, got %d:\n%s" %
                 (what, p.returncode, p.stderr))
    return lines[0]


def check_case(args, name, tenants):
    work = os.path.join(args.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    partitions = sorted({t["partition"] for t in tenants})
    manifest = os.path.join(work, "manifest.json")
    with open(manifest, "w") as f:
        json.dump({"partitions": [{"name": p, "sm_budget": 32} for p in partitions],
                   "tenants": tenants}, f)
    inputs = run([sys.executable, MAKE_INPUTS, "--manifest", manifest,
                  "--out", os.path.join(work, "in")]).stdout.split()
    ref = os.path.join(work, "ref")
    run([args.mtcc, "run", "--reference", manifest, "--output-dir", ref] + inputs)

    exact = os.path.join(work, "exact.mtbundle")
    # the CPU path only: --cpu-only skips NVRTC (check_bundle_gpu.py covers GPU code)
    run([args.mtcc, "compile", manifest, "--disable-pass", "canonicalize", "-o", exact,
         "--cpu-only", "--no-cpu-code"])
    run([args.mtcc, "run", exact, "--output-dir", os.path.join(work, "out_exact")] + inputs)
    n = compare(ref, os.path.join(work, "out_exact"), True, name + " (bit for bit)")

    a, b = os.path.join(work, "a.mtbundle"), os.path.join(work, "b.mtbundle")
    run([args.mtcc, "compile", manifest, "-o", a, "--cpu-only"])
    run([args.mtcc, "compile", manifest, "-o", b, "--cpu-only"])
    with open(a, "rb") as fa, open(b, "rb") as fb:
        da, db = fa.read(), fb.read()
    if da != db:
        sys.exit("FAIL %s: two builds differ (%d vs %d bytes)" % (name, len(da), len(db)))
    run([args.mtcc, "run", a, "--device", "cpu", "--output-dir", os.path.join(work, "out")] + inputs)
    compare(ref, os.path.join(work, "out"), False, name + " (all passes)")
    # tenants and partitions in parallel on CPU threads: the same bytes for any thread count
    for threads in (2, 4):
        out_n = os.path.join(work, "out_threads%d" % threads)
        run([args.mtcc, "run", a, "--cpu-threads", str(threads), "--output-dir", out_n] + inputs)
        compare(os.path.join(work, "out"), out_n, True, "%s (%d CPU threads)" % (name, threads))
    # outputs are staged: a tenant folder that cannot be created fails the run before any file
    # lands, and the stage folder is gone
    blocked = os.path.join(work, "blocked")
    os.makedirs(blocked)
    with open(os.path.join(blocked, re.sub(r"[^A-Za-z0-9._-]", "_", tenants[-1]["name"])), "w"):
        pass
    # --device cpu: under ASan, an `auto` run that fails here makes LeakSanitizer's exit-time
    # tracer crash while scanning a dynamic TLS block (DTLS 9 at 0x859; not this code's memory,
    # still to be understood; docs/cpu-backend.md). Staging does not depend on the device.
    expect_one_error_line([args.mtcc, "run", a, "--device", "cpu", "--output-dir", blocked] +
                          inputs, name + " blocked output folder")
    left = sorted(os.listdir(blocked)) + [f for f in os.listdir(work) if f.startswith("blocked.")]
    if left != [re.sub(r"[^A-Za-z0-9._-]", "_", tenants[-1]["name"])]:
        sys.exit("FAIL %s: a failed run left files behind: %s" % (name, left))

    junit = os.path.join(work, "check.xml")
    run([args.mtcc, "check", exact, "--inputs", os.path.join(work, "in"), "--expected", ref,
         "--rtol", "0", "--atol", "0", "--junit", junit])
    with open(junit) as f:
        xml = f.read()
    if 'failures="0"' not in xml or "<failure" in xml:
        sys.exit("FAIL %s: check passed but the JUnit file says otherwise:\n%s" % (name, xml))
    perturbed = os.path.join(work, "perturbed")
    shutil.copytree(ref, perturbed)
    victim = sorted(outputs(ref))[0]
    arr = np.load(os.path.join(ref, victim))
    arr.reshape(-1)[0] += np.asarray(1e-2, dtype=arr.dtype)
    np.save(os.path.join(perturbed, victim), arr)
    p = run([args.mtcc, "check", exact, "--inputs", os.path.join(work, "in"), "--expected",
             perturbed, "--junit", junit], expect_ok=False)
    lines = p.stderr.strip().splitlines()
    table = p.stdout.splitlines()
    with open(junit) as f:
        xml = f.read()
    tenant, output = victim.split(os.sep)[0], os.path.splitext(victim.split(os.sep)[1])[0]
    if (p.returncode != 1 or len(lines) != 1 or "1 of" not in lines[0] or len(table) < 2 or
            not table[1].startswith(tenant) or output not in table[1] or "differ" not in table[1]
            or 'failures="1"' not in xml or "<failure" not in xml):
        sys.exit("FAIL %s: check on a perturbed %s:\nrc %d\n%s\n%s\n%s" %
                 (name, victim, p.returncode, p.stdout, p.stderr, xml))

    text = run([args.mtcc, "inspect", a]).stdout
    for t in tenants:
        if "tenant '%s'" % t["name"] not in text:
            sys.exit("FAIL %s: inspect does not list tenant %s:\n%s" % (name, t["name"], text))

    bad = os.path.join(work, "bad.mtbundle")
    with open(bad, "wb") as f:
        f.write(da[: len(da) // 2])
    expect_one_error_line([args.mtcc, "run", bad, "--output-dir", os.path.join(work, "x")] + inputs,
                          name + " truncated run")
    flipped = bytearray(da)
    flipped[len(flipped) - 1000] ^= 0x10
    with open(bad, "wb") as f:
        f.write(flipped)
    line = expect_one_error_line([args.mtcc, "inspect", bad], name + " flipped inspect")
    if "checksum" not in line:
        sys.exit("FAIL %s: the flipped byte is not reported as a checksum mismatch: %s" %
                 (name, line))
    print("bundle %-12s %d outputs bit-for-bit, rebuild byte-identical (%d bytes), corruptions "
          "refused" % (name, n, len(da)))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", default="bert_tiny,mobilenetv2,yolo_tiny,mix")
    args = ap.parse_args()
    for name in args.only.split(","):
        if name == "mix":
            tenants = [
                {"name": "mobile", "model": os.path.join(args.models, "mobilenetv2.onnx"),
                 "partition": "vision", "dims": DIMS["mobilenetv2"]},
                {"name": "encoder", "model": os.path.join(args.models, "bert_tiny.onnx"),
                 "partition": "language", "dims": DIMS["bert_tiny"]},
            ]
        else:
            tenants = [{"name": name, "model": os.path.join(args.models, name + ".onnx"),
                        "partition": "default", "dims": DIMS[name]}]
        check_case(args, name, tenants)


if __name__ == "__main__":
    main()
