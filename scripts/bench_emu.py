#!/usr/bin/env python3
"""Benchmark of the CUDA emulator's fibers and barriers (not a test; tests/emu/, docs/emulator.md):
runs tests/emu's `emu_bench` (the x86-64 register switch) and `emu_bench_ucontext` (the portable
ucontext fallback, its peer) alternately, --runs times each, and prints the best figure of each next
to the other with their ratio (ucontext / register switch: > 1 means the register switch is faster).
Both are measured in the same run on the same machine, so the ratio holds on a loaded machine where
the absolute figures do not; the absolute figures are this machine's only.

usage: scripts/bench_emu.py [--build build] [--runs 3] [--markdown OUT.md]
"""
import argparse
import json
import os
import subprocess
import sys

ROWS = [
    ("switch_ns", "context switch", "ns"),
    ("barrier256_us", "__syncthreads(), 256 threads", "us"),
    ("barrier1024_us", "__syncthreads(), 1024 threads", "us"),
    ("reduce256_us", "256-thread smem tree reduction (10 barriers)", "us"),
    ("thread_ns", "elementwise kernel 1024x256, per thread", "ns"),
]


def measure(binary):
    r = subprocess.run([binary, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench_emu: {binary} exited {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="the CMake build folder")
    ap.add_argument("--runs", type=int, default=3, help="runs of each binary, alternating")
    ap.add_argument("--markdown", help="also write the table to this file")
    a = ap.parse_args()
    peers = {}
    for name in ("emu_bench", "emu_bench_ucontext"):
        path = os.path.join(a.build, "tests", "emu", name)
        if not os.access(path, os.X_OK):
            raise SystemExit(f"bench_emu: {path} is missing: build it "
                             f"(cmake --build {a.build} --target {name})")
        peers[name] = path
    best = {name: {} for name in peers}
    impl = {}
    for _ in range(max(1, a.runs)):
        for name, path in peers.items():
            got = measure(path)
            impl[name] = got["impl"]
            for key, _, _ in ROWS:
                best[name][key] = min(best[name].get(key, float("inf")), got[key])
    reg, uctx = best["emu_bench"], best["emu_bench_ucontext"]
    lines = [f"emu_bench ({impl['emu_bench']}) vs emu_bench_ucontext "
             f"({impl['emu_bench_ucontext']}), best of {max(1, a.runs)} runs of 5 repetitions each, same machine, same run",
             "",
             "| | register switch | ucontext | ratio (ucontext / register) |",
             "|---|---|---|---|"]
    for key, label, unit in ROWS:
        ratio = uctx[key] / reg[key] if reg[key] > 0 else float("inf")
        lines.append(f"| {label} | {reg[key]:.2f} {unit} | {uctx[key]:.2f} {unit} | {ratio:.1f}x |")
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        tmp = a.markdown + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, a.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
