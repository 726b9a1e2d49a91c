#!/usr/bin/env python3
"""`mtcc run` / `mtcc inspect` on a bundle with generated CPU code (the fuzz seed
small_cpu.mtbundle: the tiny model of tests/unit/test_bundle_cpu.c with one x86-64-v3 object and
a kernel for its Add + Relu group): run prints which CPU object ran or why the reference kernels
did, --cpu-target forces a target or the reference kernels and gives the same outputs, an unknown
target is one error line, and inspect lists the object and the groups without CPU code.

usage: check_bundle_cpu_cli.py --mtcc MTCC --seed small_cpu.mtbundle --work DIR
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def host_has_avx2():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx2" in f.read()
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    x = os.path.join(a.work, "x.npy")
    np.save(x, np.array([[0.25, 0.5, -1.0], [1.0, -2.0, 1.0]], np.float32))

    rc, out, err = run([a.mtcc, "inspect", a.seed, "--verbose"])
    expect(rc == 0, f"inspect failed: {err}")
    expect("object x86-64-v3:" in out and "needs avx2" in out, f"inspect lacks the object:\n{out}")
    expect("group 0 kernel 0: fixture_add_relu" in out, f"inspect lacks the kernel:\n{out}")
    expect("reference kernels: the fixture object covers only Add + Relu" in out,
           f"inspect lacks the groups without CPU code:\n{out}")

    outs = {}
    for target, want in [("auto", "CPU object x86-64-v3" if host_has_avx2() else "reference"),
                         ("reference", "reference kernels (cpu_target reference)"),
                         ("x86-64", "no CPU object fits this host taken as x86-64")]:
        d = os.path.join(a.work, target)
        rc, out, err = run([a.mtcc, "run", a.seed, "--input", "x=" + x, "--output-dir", d,
                            "--cpu-threads", "2", "--cpu-target", target])
        expect(rc == 0, f"run --cpu-target {target} failed: {err}")
        expect("device: cpu; CPU code: " in out and want in out,
               f"run --cpu-target {target}: no '{want}' in:\n{out}")
        for root, _, files in os.walk(d):
            for n in files:
                rel = os.path.relpath(os.path.join(root, n), d)
                outs.setdefault(target, {})[rel] = np.load(os.path.join(root, n)).tobytes()
    ref = outs.get("reference")
    expect(ref and outs.get("auto") == ref and outs.get("x86-64") == ref,
           "outputs differ between the CPU object and the reference kernels")

    rc, out, err = run([a.mtcc, "run", a.seed, "--input", "x=" + x, "--output-dir",
                        os.path.join(a.work, "bad"), "--cpu-target", "x86-64-v9"])
    lines = err.strip().splitlines()
    expect(rc != 0 and len(lines) == 1 and "cpu_target 'x86-64-v9'" in lines[0],
           f"unknown target: rc {rc}, stderr {err!r}")
    print("ok: inspect lists the CPU object; run reports and forces targets with equal outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
