#!/usr/bin/env python3
"""Benchmark of the CPU path (not a test; issue 14): the tenant mixes of shared/bench.md (T1, T1-16,
T2, T3) and each sample model alone, at batch 1 and 8, at 1 and 2 threads, through

  - the bundle's CPU backend (libmtrt via python/mtrt, cpu_target auto: the generated CPU object
    the host runs, or the reference kernels when the bundle has none; the table says which),
  - the bundle's reference kernels (cpu_target reference),
  - ONNX Runtime with all graph optimisations, one session per tenant, run one after another
    (sequential) and all at once from one thread each (concurrent), intra-op threads = the
    thread count,

each in its own process (so its peak memory is its own): median round time (every tenant once)
over --rounds rounds after one warm-up, and peak resident memory. The ratio per row is ONNX
Runtime at the same thread count over the bundle (> 1: the bundle is faster), for the CPU backend
and for the reference kernels: for a lone model its better mode, for a mix the sequential one (the
concurrent mode runs `threads` threads per tenant, so it gets its own column, "ratio vs ORT conc").
Sessions of a mix run with intra-op spinning off, as ONNX Runtime advises for many sessions. Every figure is a ratio against a peer measured in the same run on the same
machine (shared/bench.md); absolute times are this machine's only.

usage: scripts/bench_cpu.py [--mtcc build/mtcc] [--mixes T1,T2,T3,resnet50,...] [--batches 1,8]
                            [--threads 1,2] [--rounds 5] [--markdown OUT.md]
       scripts/bench_cpu.py --quick   (tiny shapes: what the `bench_cpu_quick` CTest runs)
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MIXES = {
    "T1": [("resnet_%d" % i, "resnet50_v%d" % i) for i in range(4)],
    "T1-16": [("resnet_%d" % i, "resnet50_v%d" % i) for i in range(16)],
    "T2": [("resnet", "resnet50"), ("mobilenet", "mobilenetv2"),
           ("efficientnet", "efficientnet_b0"), ("vgg", "vgg16")],
    "T3": [("resnet", "resnet50"), ("mobilenet", "mobilenetv2"), ("bert", "bert_base"),
           ("detector", "yolo_tiny")],
}
SINGLES = ["resnet50", "mobilenetv2", "efficientnet_b0", "vgg16", "bert_base", "yolo_tiny"]
QUICK_MIX = [("mobilenet", "mobilenetv2"), ("bert", "bert_base")]


def tenants_of(mix):
    if mix in MIXES:
        return MIXES[mix]
    if mix in SINGLES:
        return [(mix, mix)]
    if mix == "quick":
        return QUICK_MIX
    raise SystemExit(f"bench_cpu: unknown mix or model '{mix}' (known: "
                     f"{', '.join(list(MIXES) + SINGLES)})")


def ensure_models(models_dir, names, quick):
    missing = sorted(n for n in names if not os.path.exists(os.path.join(models_dir, n + ".onnx")))
    if not missing:
        return
    print(f"bench_cpu: generating {', '.join(missing)} into {models_dir}", file=sys.stderr)
    gen = [sys.executable, os.path.join(ROOT, "tests", "models", "gen_models.py"), "--out",
           models_dir, "--no-check"]
    if quick:
        gen += ["--image-size", "32", "--layers", "1"]
    base = [m for m in missing if not m.startswith("resnet50_v")]
    variants = [m[len("resnet50_v"):] for m in missing if m.startswith("resnet50_v")]
    if base:
        subprocess.run(gen + ["--only", ",".join(base)], check=True, stdout=subprocess.DEVNULL)
    if variants:
        subprocess.run(gen + ["--variant", ",".join(variants)], check=True,
                       stdout=subprocess.DEVNULL)


def compile_bundle(args, mix, batch, models_dir, work):
    tenants = []
    for name, model in tenants_of(mix):
        dims = {"batch": batch}
        if model.startswith("bert"):
            dims["seq"] = args.seq
        tenants.append({"name": name, "model": os.path.join(models_dir, model + ".onnx"),
                        "dims": dims})
    path = os.path.join(work, f"{mix}_b{batch}.json")
    with open(path, "w") as f:
        json.dump({"tenants": tenants}, f)
    out = os.path.join(work, f"{mix}_b{batch}.mtbundle")
    start = time.monotonic()
    proc = subprocess.run([args.mtcc, "compile", path, "-o", out] + args.compile_arg,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench_cpu: {mix} batch {batch}: {proc.stderr.strip()}")
    return out, time.monotonic() - start


# ---- workers: one measurement per process ----

def feeds_for(ports, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, shape, dtype in ports:
        if dtype.startswith("int"):
            hi = 2 if "type" in name else 1 if "mask" in name else 100
            feeds[name] = (np.ones(shape, dtype) if "mask" in name
                           else rng.integers(0, hi, size=shape).astype(dtype))
        else:
            feeds[name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def peak_mib():
    """This process's peak resident memory: VmHWM belongs to the address space exec made, unlike
    ru_maxrss, which Linux carries over from the parent's at fork (the parent has the bundle
    mapped)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_rounds(fn, rounds):
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def worker_bundle(job):
    sys.path.insert(0, os.path.join(ROOT, "python", "mtrt"))
    import mtrt
    with mtrt.Bundle(job["bundle"]) as b:
        feeds = {t.name: feeds_for([(p.name, p.shape, p.dtype.name) for p in t.inputs], i)
                 for i, t in enumerate(b.tenants)}
        with b.session("cpu", threads=job["threads"], cpu_target=job["cpu_target"]) as s:
            ms = time_rounds(lambda: s.run(feeds), job["rounds"])
            return {"ms": ms, "peak_mib": peak_mib(), "target": s.cpu_target, "note": s.note}


def worker_ort(job):
    import onnxruntime as ort
    sessions = []
    for i, t in enumerate(job["tenants"]):
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = job["threads"]
        so.inter_op_num_threads = 1
        if len(job["tenants"]) > 1:
            # several sessions in one process: idle intra-op pools would spin and steal the cores
            # the next session runs on (ONNX Runtime's advice for many sessions)
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sess = ort.InferenceSession(t["model"], so, providers=["CPUExecutionProvider"])
        sessions.append((sess, feeds_for([tuple(p) for p in t["ports"]], i)))

    def sequential():
        for sess, feeds in sessions:
            sess.run(None, feeds)

    def concurrent():
        ths = [threading.Thread(target=sess.run, args=(None, feeds)) for sess, feeds in sessions]
        for th in ths:
            th.start()
        for th in ths:
            th.join()

    ms = time_rounds(sequential if job["mode"] == "sequential" else concurrent, job["rounds"])
    return {"ms": ms, "peak_mib": peak_mib()}


def run_worker(args, job):
    env = dict(os.environ)
    # numpy's own OpenBLAS (scipy_openblas) would otherwise keep threads spinning in
    # blas_thread_server that steal a core from the measurement; the generated code sets
    # oneDNN's OpenMP to one thread per call itself and libmtrt sets OpenBLAS's to one
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(job)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"bench_cpu: worker {job['kind']} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bundle_ports(bundle_path):
    sys.path.insert(0, os.path.join(ROOT, "python", "mtrt"))
    import mtrt
    with mtrt.Bundle(bundle_path) as b:
        return {t.name: [(p.name, list(p.shape), p.dtype.name) for p in t.inputs]
                for t in b.tenants}


def measure(args, mix, batch, models_dir, work):
    bundle, compile_s = compile_bundle(args, mix, batch, models_dir, work)
    ports = bundle_ports(bundle)
    tenants = [{"model": os.path.join(models_dir, model + ".onnx"), "ports": ports[name]}
               for name, model in tenants_of(mix)]
    rows = []
    for threads in args.threads:
        common = {"threads": threads, "rounds": args.rounds}
        gen = run_worker(args, dict(common, kind="bundle", bundle=bundle, cpu_target="auto"))
        ref = (None if args.no_reference else
               run_worker(args, dict(common, kind="bundle", bundle=bundle, cpu_target="reference")))
        seq = run_worker(args, dict(common, kind="ort", tenants=tenants, mode="sequential"))
        conc = run_worker(args, dict(common, kind="ort", tenants=tenants, mode="concurrent"))
        # The same thread count: ONNX Runtime's sequential mode uses `threads` threads; the
        # concurrent one uses that many per tenant, so it is the peer only for a lone model.
        best = min(seq["ms"], conc["ms"]) if len(tenants) == 1 else seq["ms"]
        rows.append({"mix": mix, "batch": batch, "threads": threads, "target": gen["target"],
                     "cpu_ms": gen["ms"], "ref_ms": ref["ms"] if ref else None, "ort_seq_ms": seq["ms"],
                     "ort_conc_ms": conc["ms"], "ratio_cpu": best / gen["ms"],
                     "ratio_ref": best / ref["ms"] if ref else None,
                     "ratio_conc": conc["ms"] / gen["ms"], "cpu_mib": gen["peak_mib"],
                     "ref_mib": ref["peak_mib"] if ref else None, "ort_mib": max(seq["peak_mib"], conc["peak_mib"]),
                     "compile_s": compile_s, "note": gen["note"]})
        print(format_row(rows[-1]), flush=True)
    return rows


HEADER = ("| mix | batch | threads | CPU code | bundle ms | reference ms | ORT seq ms | ORT conc ms "
          "| ratio CPU | ratio vs ORT conc | ratio reference | peak MiB bundle / ref / ORT "
          "| compile s |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def format_row(r):
    def num(v, fmt):  # a reference-kernel figure is absent with --no-reference
        return "-" if v is None else format(v, fmt)
    return (f"| {r['mix']} | {r['batch']} | {r['threads']} | {r['target']} | {r['cpu_ms']:.1f} | "
            f"{num(r['ref_ms'], '.1f')} | {r['ort_seq_ms']:.1f} | {r['ort_conc_ms']:.1f} | "
            f"{r['ratio_cpu']:.2f} | {r['ratio_conc']:.2f} | {num(r['ratio_ref'], '.2f')} | "
            f"{r['cpu_mib']:.0f} / {num(r['ref_mib'], '.0f')} / {r['ort_mib']:.0f} | "
            f"{r['compile_s']:.1f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mtcc", default=os.path.join(ROOT, "build", "mtcc"))
    ap.add_argument("--models", default="", help="model folder (default: build/bench-models, "
                    "build/bench-models-quick with --quick)")
    ap.add_argument("--mixes", default="T1,T1-16,T2,T3," + ",".join(SINGLES))
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seq", type=int, default=128, help="BERT sequence length")
    ap.add_argument("--compile-arg", action="append", default=None,
                    help="extra `mtcc compile` argument (default: --cpu-only)")
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the reference-kernel runs (their columns show '-'): the slow part "
                         "of a full table")
    ap.add_argument("--quick", action="store_true",
                    help="tiny shapes (32x32 images, one BERT layer, seq 16), one mix, batch 1, "
                         "2 rounds: checks the benchmark runs end to end")
    ap.add_argument("--markdown", default="", help="also write the table to this file")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        job = json.loads(args.worker)
        print(json.dumps(worker_bundle(job) if job["kind"] == "bundle" else worker_ort(job)))
        return 0
    lib = os.path.join(os.path.dirname(os.path.abspath(args.mtcc)), "libmtrt.so")
    if os.path.exists(lib):  # the build's libmtrt, for python/mtrt here and in the workers
        os.environ.setdefault("MTRT_LIBRARY", lib)
    if args.compile_arg is None:
        args.compile_arg = ["--cpu-only"]
    if args.quick:
        args.mixes, args.batches, args.rounds, args.seq = "quick", "1", 2, 16
    args.threads = [int(t) for t in args.threads.split(",") if t]
    models = args.models or os.path.join(ROOT, "build",
                                         "bench-models-quick" if args.quick else "bench-models")
    os.makedirs(models, exist_ok=True)
    mixes = [m for m in args.mixes.split(",") if m]
    ensure_models(models, {model for mix in mixes for _, model in tenants_of(mix)}, args.quick)
    print(HEADER, flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_cpu_") as work:
        for mix in mixes:
            for batch in [int(b) for b in args.batches.split(",") if b]:
                rows += measure(args, mix, batch, models, work)
    notes = sorted({r["note"] for r in rows})
    print("\nsession notes (auto):\n" + "\n".join("  " + n for n in notes))
    if args.markdown:
        with open(args.markdown + ".tmp", "w") as f:
            f.write(HEADER + "\n" + "\n".join(format_row(r) for r in rows) + "\n")
        os.replace(args.markdown + ".tmp", args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
