#!/usr/bin/env python3
"""GPU code in a sample model's bundle: `mtcc compile -o` with NVRTC (the default) for sm_80 and sm_90.

  * compile says the bundle carries GPU code; two builds are byte-identical;
  * `mtcc inspect` lists the archs, the modules, launches and library calls, code bytes per arch
    (a cubin per bundle arch and the newest arch's PTX), and the graph's nodes per round, which
    equal the launches plus library calls; `--verbose` lists one line per module and per step;
  * every buffer of every launch and library call is one its group's CPU nodes use, and no
    argument a kernel writes shares bytes with another (check_gpu_args, tests/bundle/check_gpu_args.c);
  * the bundle's CPU path still matches the reference executor (within 1e-4: every pass ran);
  * `--cpu-only` writes a bundle without GPU code that says why; `--cpu-only --nvrtc` is one error.

Skips (exit 77) when mtcc was built without NVRTC. NVRTC's cache is MTCC_CACHE_DIR (CTest points
it into the build tree), so reruns take about a second.

With --replay GPU_REPLAY: each --model (comma-separated) compiled into a bundle and its GPU plan
run on the GPU by gpu_replay (tests/bundle/gpu_replay.c) against libmtrt's CPU path instead.

usage: check_bundle_gpu.py --mtcc MTCC --check-args CHECK_GPU_ARGS --models DIR --work DIR
                           [--model mobilenetv2] [--replay GPU_REPLAY]
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
sys.path.insert(0, HERE)
from check_bundle import outputs, run  # noqa: E402  (the CPU bundle test's helpers)


def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)


def write_manifest(args, model):
    manifest = os.path.join(args.work, model + ".json")
    with open(manifest, "w") as f:
        json.dump({"targets": ["sm_80", "sm_90"],
                   "partitions": [{"name": "vision", "sm_budget": 64}],
                   "tenants": [{"name": model, "partition": "vision", "dims": {"batch": 1},
                                "model": os.path.join(args.models, model + ".onnx")}]}, f)
    return manifest


def replay(args):
    """Each model's bundle through gpu_replay (77 when there is no GPU: the whole test skips)."""
    for model in args.model.split(","):
        bundle = os.path.join(args.work, model + ".mtbundle")
        run([args.mtcc, "compile", write_manifest(args, model), "-o", bundle])
        p = run([args.replay, bundle], expect_ok=False)
        sys.stdout.write(p.stdout)
        if p.returncode == 77:
            return 77
        check(p.returncode == 0, "gpu_replay %s: rc %d\n%s" % (model, p.returncode, p.stderr))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--check-args", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--model", default="mobilenetv2")
    ap.add_argument("--replay", help="gpu_replay: run each --model's GPU plan on the GPU instead")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    if args.replay:
        return replay(args)
    manifest = write_manifest(args, args.model)

    a, b = os.path.join(args.work, "a.mtbundle"), os.path.join(args.work, "b.mtbundle")
    p = run([args.mtcc, "compile", manifest, "-o", a])
    if "NVRTC is off" in p.stdout:
        print("skipped: this mtcc has no NVRTC, so bundles carry no GPU code")
        return 77
    check("GPU code for every target" in p.stdout, "compile does not say the bundle has GPU code:\n"
          + p.stdout)
    run([args.mtcc, "compile", manifest, "-o", b])
    with open(a, "rb") as fa, open(b, "rb") as fb:
        da, db = fa.read(), fb.read()
    check(da == db, "two builds with GPU code differ (%d vs %d bytes)" % (len(da), len(db)))

    text = run([args.mtcc, "inspect", a]).stdout
    m = re.search(r"^gpu: archs sm_80 sm_90; (\d+) kernel module\(s\), (\d+) launch\(es\), "
                  r"(\d+) library call\(s\)", text, re.M)
    check(m is not None, "inspect lacks the GPU summary:\n" + text)
    modules, launches, libcalls = (int(x) for x in m.groups())
    check(modules > 10 and launches >= modules, "implausible GPU plan: " + m.group(0))
    code = re.search(r"^gpu code: (\d+) bytes in (\d+) image\(s\): (.*)$", text, re.M)
    check(code is not None and all(s in code.group(3) for s in ("sm_80 ", "sm_90 ", "compute_90 PTX")),
          "inspect lacks code bytes per arch:\n" + text)
    check(int(code.group(2)) == 3 * modules, "expected a cubin per arch and PTX per module: "
          + code.group(0))
    graph = re.search(r"^gpu graph: (\d+) node\(s\) per round over (\d+) group\(s\)", text, re.M)
    check(graph is not None and int(graph.group(1)) == launches + libcalls,
          "graph nodes per round are not launches + library calls:\n" + text)
    verbose = run([args.mtcc, "inspect", a, "--verbose"]).stdout
    check(len(re.findall(r"^  module \d+ ", verbose, re.M)) == modules, "--verbose module lines")
    check(len(re.findall(r"^  group \d+: launch ", verbose, re.M)) == launches, "--verbose launches")

    resolved = run([args.check_args, a]).stdout.strip()

    inputs = run([sys.executable, MAKE_INPUTS, "--manifest", manifest,
                  "--out", os.path.join(args.work, "in")]).stdout.split()
    ref, got = os.path.join(args.work, "ref"), os.path.join(args.work, "out")
    run([args.mtcc, "run", "--reference", manifest, "--output-dir", ref] + inputs)
    run([args.mtcc, "run", a, "--device", "cpu", "--output-dir", got] + inputs)
    r, g = outputs(ref), outputs(got)
    check(sorted(r) == sorted(g) and r, "output files differ: %s vs %s" % (sorted(r), sorted(g)))
    for name in r:
        check(np.allclose(r[name].astype(np.float64), g[name].astype(np.float64), rtol=1e-4,
                          atol=1e-4), "the CPU path of the GPU bundle differs on " + name)

    c = os.path.join(args.work, "cpu.mtbundle")
    p = run([args.mtcc, "compile", manifest, "-o", c, "--cpu-only"])
    check("CPU plan only: --cpu-only" in p.stdout, "compile --cpu-only says:\n" + p.stdout)
    text = run([args.mtcc, "inspect", c]).stdout
    check("gpu: none (CPU plan only): compiled without NVRTC" in text, "inspect of --cpu-only:\n"
          + text)
    check(os.path.getsize(c) < len(da), "the CPU-only bundle is not smaller")
    p = run([args.mtcc, "compile", manifest, "-o", c, "--cpu-only", "--nvrtc"], expect_ok=False)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 1 and len(lines) == 1 and "contradict" in lines[0],
          "--cpu-only --nvrtc: %d %r" % (p.returncode, p.stderr))
    print("bundle_gpu %s: %d modules, %d launches, %d library calls, %s bytes of code, %d bytes "
          "in all, rebuild byte-identical; %s" % (args.model, modules, launches, libcalls,
                                                   code.group(1), len(da), resolved))
    return 0


if __name__ == "__main__":
    sys.exit(main())
