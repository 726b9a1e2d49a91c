#!/usr/bin/env python3
"""The benchmark protocol of ../shared/bench.md, as scripts/gpu_proof.sh runs it.

For each configuration (tenant mix T1/T2/T3, batch, with or without SM budgets) it compiles one
bundle with `mtcc compile -o`, checks the bundle's outputs against a reference computed on the
same weights (PyTorch eager when the tenants are PyTorch exports, else ONNX Runtime), times the
bundle through libmtrt with bench/mtrt_bench (round, independent and standalone modes), times
the baselines (B0-B4 with PyTorch on a GPU; ONNX Runtime one session per tenant where no PyTorch
or no GPU is there), and rewrites OUT/results.json after every configuration, so a run stopped
by its deadline or a failure keeps everything measured so far. At the end it fits the cost
model's parameters to the measured per-tenant times (bench/calibrate.py) and writes them as an
`--arch-params` file. bench/proof_summary.py turns results.json into summary.md.

--dry-run: the same steps on the CPU with tiny shapes (images 64x64, BERT 2 layers at seq 16,
batches 1 and 2, 4 for T2's throughput point, a few rounds): numbers are CPU numbers and say so.

usage: bench_gpu.py --mtcc BIN --bench-tool BIN --out DIR --work DIR [--device cpu|gpu]
                    [--dry-run] [--quick] [--deadline EPOCH_SECONDS] [--log FILE]
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import calibrate  # noqa: E402
from bench_passes import MIXES  # noqa: E402  (the mixes of ../shared/bench.md, one definition)

# The SM-budget run of T3 (sm_90, 132 SMs): budgets in multiples of 8 summing to 128 <= 132.
T3_BUDGETS = {"resnet": 40, "mobilenet": 24, "bert": 40, "detector": 24}
TOLERANCE = 1e-4  # relative L2 of every float output against the reference
DRY_IMAGE = 64  # image side of the dry run's CNNs


def log(msg):
    print(msg, flush=True)


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class Results:
    """results.json, rewritten atomically after every change."""

    def __init__(self, path):
        self.path = path
        self.data = {"configs": [], "models": {}, "errors": []}

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=1, default=float)
        os.replace(tmp, self.path)


def run(cmd, timeout=None, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def last_error(proc):
    """The one-line error a failed tool printed (mtcc: error: ...), else its last lines."""
    text = (proc.stderr or "") + (proc.stdout or "")
    for line in text.splitlines():
        if "error:" in line:
            return line.strip()[:500]
    return text.strip()[-500:] or f"exit {proc.returncode}"


# ------------------------------------------------------------------ environment
def environment(device, dry_run, quick):
    env = {"date": now(), "host": platform.node(), "mode": "dry-run" if dry_run else
           ("quick" if quick else "full"), "device": device, "python": platform.python_version()}
    if shutil.which("nvidia-smi"):
        p = run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                 "--format=csv,noheader"])
        if p.returncode == 0 and p.stdout.strip():
            name, driver, mem = [s.strip() for s in p.stdout.splitlines()[0].split(",")]
            env.update(gpu=name, driver=driver, gpu_memory=mem)
        p = run(["nvidia-smi"])
        m = re.search(r"CUDA Version:\s*([\d.]+)", p.stdout or "")
        if m:
            env["cuda_driver_api"] = m.group(1)
    if shutil.which("nvcc"):
        m = re.search(r"release ([\d.]+)", run(["nvcc", "--version"]).stdout)
        if m:
            env["nvcc"] = m.group(1)
    if "gpu" not in env:
        env["gpu"] = "none (CPU numbers)"
    env["cpu"] = platform.processor() or platform.machine()
    env["cpu_count"] = os.cpu_count()
    return env


def try_torch(device, torch_device):
    """(torch_tenants module or None, reason). torch_device "cpu" runs the PyTorch path without
    a GPU (exports, output checks, B0) to check it before a loan."""
    if device != "gpu" and torch_device != "cpu":
        return None, "CPU run: the PyTorch baselines need a GPU"
    try:
        import torch
    except ImportError as e:
        return None, f"PyTorch is not installed ({e})"
    if torch_device != "cpu" and not torch.cuda.is_available():
        return None, "PyTorch sees no CUDA device"
    import torch_tenants
    torch_tenants.DEVICE = torch_device
    return torch_tenants, ""


# ------------------------------------------------------------------ models
def generate(models_dir, names, dry_run):
    """The project's generators (tests/models/gen_models.py), tiny for the dry run."""
    gen = [sys.executable, os.path.join(ROOT, "tests", "models", "gen_models.py"), "--out",
           models_dir, "--no-check"]
    if dry_run:
        # 64, not 32: at 32x32 the generators' calibration leaves outputs so ill-conditioned that
        # summation order alone moves EfficientNet by 2e-4 (ORT against itself: 9e-5)
        gen += ["--image-size", str(DRY_IMAGE), "--layers", "2"]
    base = sorted({n for n in names if not n.startswith("resnet50_v")})
    variants = sorted({n[len("resnet50_v"):] for n in names if n.startswith("resnet50_v")})
    for extra in (["--only", ",".join(base)] if base else None,
                  ["--variant", ",".join(variants)] if variants else None):
        if extra:
            p = run(gen + extra)
            if p.returncode != 0:
                raise RuntimeError(f"gen_models.py failed: {last_error(p)}")


def prepare_models(args, res, tt, needed):
    """Writes WORK/models/<model>.onnx for every needed model; returns the torch modules by
    model name (empty without PyTorch). Every model's source and import status is recorded."""
    models_dir = os.path.join(args.work, "models")
    os.makedirs(models_dir, exist_ok=True)
    modules, fallback = {}, []
    for name in needed:
        rec = res.data["models"].setdefault(name, {})
        if not tt:
            continue
        t0 = time.monotonic()
        try:
            seed = int(name[len("resnet50_v"):]) if name.startswith("resnet50_v") else 0
            module, ins, outs, axes = tt.build(name, seed)
            example = tt.to_torch(tt.inputs_for(name, 2, 1), ins)
            path = os.path.join(models_dir, name + ".onnx")
            rec["exporter"] = tt.export(module, ins, outs, axes, example, path)
            p = run([args.mtcc, "inspect", path])
            if p.returncode != 0:
                raise RuntimeError(f"mtcc cannot import the export: {last_error(p)}")
            modules[name] = (module, ins)
            rec.update(source="PyTorch export", seconds=time.monotonic() - t0)
            log(f"  model {name}: exported ({rec['exporter']}) in {rec['seconds']:.1f} s")
        except Exception as e:  # noqa: BLE001 - fall back to the generator, saying why
            rec.update(source="project generator (fallback)",
                       fallback_reason=f"{type(e).__name__}: {str(e)[:600]}")
            fallback.append(name)
            log(f"  model {name}: export not usable, generator instead: {rec['fallback_reason']}")
    todo = fallback if tt else list(needed)
    if todo:
        t0 = time.monotonic()
        generate(models_dir, todo, args.dry_run)
        for name in todo:
            rec = res.data["models"][name]
            rec.setdefault("source", "project generator")
            rec["seconds"] = (time.monotonic() - t0) / len(todo)
        log(f"  generated {', '.join(todo)} in {time.monotonic() - t0:.1f} s")
    res.save()
    return modules


# ------------------------------------------------------------------ configurations
def configurations(args):
    if args.dry_run:
        lat, thr = [1, 2], [4]
    else:
        lat, thr = [1, 8], [32]
    mixes = ["T2", "T3"] if args.quick else ["T1", "T2", "T3"]
    if args.quick:
        lat, thr = lat[:1] + lat[1:], []
    cfgs = [dict(mix=m, batch=lat[0], budgets=False, kind="latency") for m in mixes]
    cfgs.append(dict(mix="T3", batch=lat[0], budgets=True, kind="sm-budget"))
    cfgs += [dict(mix=m, batch=b, budgets=False, kind="latency") for b in lat[1:] for m in mixes]
    for m in ["T2"] if args.dry_run else mixes:  # the dry run proves the step on one mix
        cfgs += [dict(mix=m, batch=b, budgets=False, kind="throughput") for b in thr]
    if args.only:
        keep = set(args.only.split(","))
        cfgs = [c for c in cfgs if config_id(c) in keep]
    return cfgs


def config_id(c):
    return f"{c['mix']}_b{c['batch']}" + ("_budget" if c["budgets"] else "")


def seq_len(args):
    return 16 if args.dry_run else 128


def write_manifest(path, args, cfg, models_dir):
    tenants, parts = [], []
    for name, model in MIXES[cfg["mix"]]:
        dims = {"batch": cfg["batch"]}
        if model.startswith("bert"):
            dims["seq"] = seq_len(args)
        part = name if cfg["budgets"] else "gpu"
        tenants.append({"name": name, "model": os.path.join(models_dir, model + ".onnx"),
                        "partition": part, "dims": dims})
        if cfg["budgets"]:
            parts.append({"name": name, "sm_budget": T3_BUDGETS[name]})
    if not parts:
        parts = [{"name": "gpu"}]
    with open(path, "w") as f:
        json.dump({"targets": ["sm_90"], "partitions": parts, "tenants": tenants}, f, indent=1)


def compile_bundle(args, man, bundle, report, arch_params=None):
    cmd = [args.mtcc, "compile", man, "--report", report]
    if bundle:
        cmd += ["-o", bundle]
    if bundle:
        # GPU code in the bundle (NVRTC; refused outright where mtcc has no NVRTC) only where it
        # runs: a CPU run would spend minutes compiling kernels nothing launches
        cmd.append("--nvrtc" if args.device == "gpu" else "--cpu-only")
    if arch_params:
        cmd += ["--arch-params", arch_params]
    t0 = time.monotonic()
    p = run(cmd)
    if p.returncode != 0:
        raise RuntimeError(f"mtcc compile failed: {last_error(p)}")
    with open(report) as f:
        return json.load(f), time.monotonic() - t0


def counts_from_report(rep):
    s, cg = rep["summary"], rep["codegen"]
    return {"kernels_per_round": s["kernels_per_round"], "kernels_unfused": s["kernels_unfused"],
            # one graph node per generated kernel and library call of a round (the runtime's own
            # count replaces this where it reports one)
            "graph_nodes_per_round": len(cg["kernels"]) + len(cg["library_calls"]),
            "not_generated": len(cg["not_generated"]),
            "intermediate_bytes_fused": s["intermediate_bytes_fused"],
            "peak_arena_bytes": s["peak_arena_bytes"],
            "predicted_makespan_us": s["predicted_makespan_us"],
            "predicted_sum_alone_us": s["sum_predicted_alone_us"]}


def inspect_counts(args, bundle):
    """What `mtcc inspect BUNDLE` says a round launches: the GPU graph's nodes where the bundle
    carries GPU code (replacing the report-based count), the CPU plan's kernel calls always."""
    p = run([args.mtcc, "inspect", bundle])
    out = {}
    m = re.search(r"gpu graph: (\d+) node\(s\) per round", p.stdout or "")
    if m:
        out["graph_nodes_per_round"] = int(m.group(1))
        out["graph_nodes_source"] = "mtcc inspect"
    m = re.search(r"schedule: \d+ groups, (\d+) kernel calls", p.stdout or "")
    if m:
        out["cpu_kernel_calls_per_round"] = int(m.group(1))
    return out


def tenant_features(rep):
    """Per tenant: predicted alone, and what the calibration fits (bench/calibrate.py)."""
    out = {}
    for t in rep["tenants"]:
        out[t["name"]] = dict(calibrate.split_work(t["groups"]),
                              predicted_us=t["predicted_latency_alone_us"])
    return out


# ------------------------------------------------------------------ correctness
def rel_l2(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    d = np.linalg.norm(a - b)
    n = np.linalg.norm(b)
    return float(d / n) if n > 0 else float(d)


def make_inputs(model, batch, seq, seed, path_prefix, onnx_path, tt):
    """Inputs by name as numpy arrays (also saved as .npy next to path_prefix)."""
    if tt:
        ins = tt.inputs_for(model, batch, seed)
    else:
        import onnx
        m = onnx.load(onnx_path, load_external_data=False)
        rng = np.random.default_rng(seed)
        ins = {}
        inits = {i.name for i in m.graph.initializer}
        for i in m.graph.input:
            if i.name in inits:
                continue
            dims = [d.dim_value if d.dim_value else (batch if d.dim_param == "batch" else seq)
                    for d in i.type.tensor_type.shape.dim]
            et = i.type.tensor_type.elem_type
            if et == 1:
                ins[i.name] = rng.standard_normal(dims).astype(np.float32)
            elif i.name == "input_ids":
                ins[i.name] = rng.integers(0, 1000, size=dims).astype(np.int64)
            else:
                ins[i.name] = np.ones(dims, np.int64 if et == 7 else np.int32)
    paths = {}
    for n, a in ins.items():
        p = f"{path_prefix}_{re.sub(r'[^A-Za-z0-9._-]', '_', n)}.npy"
        np.save(p, a)
        paths[n] = p
    return ins, paths


def reference_outputs(model, ins, onnx_path, tt, modules):
    """PyTorch eager on the same weights when the tenant is a PyTorch export, else ONNX Runtime
    on the ONNX file (CPU provider, graph optimizations off)."""
    if tt and model in modules:
        import torch
        module, names = modules[model]
        with torch.inference_mode():
            return tt.outputs_numpy(module(*tt.to_torch(ins, names))), "PyTorch eager"
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    return sess.run(None, ins), "ONNX Runtime (CPU)"


def check_outputs(args, cfg, bundle, work, tt, modules):
    """mtcc run BUNDLE on the device against the reference, per tenant and output."""
    models_dir = os.path.join(args.work, "models")
    cmd = [args.mtcc, "run", bundle, "--device", args.device, "--output-dir",
           os.path.join(work, "out")]
    refs, rows = {}, []
    for name, model in MIXES[cfg["mix"]]:
        onnx_path = os.path.join(models_dir, model + ".onnx")
        ins, paths = make_inputs(model, cfg["batch"], seq_len(args), 7,
                                 os.path.join(work, name), onnx_path, tt)
        for n, p in paths.items():
            cmd += ["--input", f"{name}:{n}={p}"]
        refs[name] = reference_outputs(model, ins, onnx_path, tt, modules)
    p = run(cmd)
    if p.returncode != 0:
        raise RuntimeError(f"mtcc run failed: {last_error(p)}")
    import onnx
    for name, model in MIXES[cfg["mix"]]:
        m = onnx.load(os.path.join(models_dir, model + ".onnx"), load_external_data=False)
        outs, how = refs[name]
        for o, ref in zip(m.graph.output, outs):
            f = os.path.join(work, "out", name, re.sub(r"[^A-Za-z0-9._-]", "_", o.name) + ".npy")
            err = rel_l2(np.load(f), ref) if os.path.exists(f) else float("inf")
            rows.append({"tenant": name, "output": o.name, "reference": how, "rel_l2": err,
                         "ok": err <= TOLERANCE})
    return rows


# ------------------------------------------------------------------ timing
class GpuMemorySampler:
    """Peak device memory used while a command runs, from nvidia-smi (what any process holds)."""

    def __init__(self, enabled):
        self.enabled = enabled and shutil.which("nvidia-smi") is not None
        self.peak = self.base = None

    def _read(self):
        p = run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"])
        return int(p.stdout.split()[0]) * 1024 * 1024 if p.returncode == 0 else None

    def __enter__(self):
        if self.enabled:
            self.base = self._read()
            self.stop = threading.Event()
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()
        return self

    def _loop(self):
        while not self.stop.is_set():
            v = self._read()
            if v is not None:
                self.peak = max(self.peak or 0, v)
            self.stop.wait(0.05)

    def __exit__(self, *exc):
        if self.enabled:
            self.stop.set()
            self.thread.join()

    def delta(self):
        return (self.peak - self.base) if self.peak is not None and self.base is not None else None


def time_bundle(args, bundle, cfg_deadline, n_tenants):
    # mtrt_bench runs up to 4 modes plus one standalone loop per tenant; they share ~45% of what
    # is left of this configuration's time (the baselines get the rest)
    loops = 4 + n_tenants
    budget_s = max(1.0, min(args.mode_seconds, 0.45 * (cfg_deadline - time.time()) / loops))
    cmd = [args.bench_tool, bundle, "--device", args.device, "--rounds", str(args.rounds),
           "--warmup", str(args.warmup), "--max-seconds", f"{budget_s:.1f}"]
    # a hard stop past the share: a hung device must not eat the other configurations' time
    limit = max(60.0, cfg_deadline - time.time() + 60)
    with GpuMemorySampler(args.device == "gpu") as mem:
        p = run(cmd, timeout=limit)
    if p.returncode != 0:
        raise RuntimeError(f"mtrt_bench failed: {last_error(p)}")
    r = json.loads(p.stdout)
    if mem.delta() is not None:
        r["peak_device_bytes"] = mem.delta()
    return r


def ort_baseline(args, cfg, tt, cfg_deadline):
    """ONNX Runtime, one session per tenant, run one after another on one thread each (the CPU
    peer of the dry run; on a GPU only with its CUDA provider)."""
    import onnxruntime as ort
    providers = ort.get_available_providers()
    if args.device == "gpu" and "CUDAExecutionProvider" not in providers:
        return {"skipped": f"onnxruntime {ort.__version__} has no GPU provider here "
                           f"({', '.join(providers)})"}
    prov = ["CUDAExecutionProvider"] if args.device == "gpu" else ["CPUExecutionProvider"]
    sessions = []
    models_dir = os.path.join(args.work, "models")
    for name, model in MIXES[cfg["mix"]]:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        path = os.path.join(models_dir, model + ".onnx")
        sess = ort.InferenceSession(path, so, providers=prov)
        ins, _ = make_inputs(model, cfg["batch"], seq_len(args), 3, os.path.join(args.work, "ort"),
                             path, None)
        sessions.append((sess, ins))
    for _ in range(args.warmup):
        for s, i in sessions:
            s.run(None, i)
        if time.time() > cfg_deadline:
            break
    spans, per = [], [[] for _ in sessions]
    t_all = time.monotonic()
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for k, (s, i) in enumerate(sessions):
            a = time.perf_counter()
            s.run(None, i)
            per[k].append((time.perf_counter() - a) * 1e6)
        spans.append((time.perf_counter() - t0) * 1e6)
        if time.monotonic() - t_all > args.mode_seconds or time.time() > cfg_deadline:
            break
    wall = time.monotonic() - t_all
    return {"rounds": len(spans), "warmup": args.warmup, "makespan_us": calibrate.stats(spans),
            "tenant_us": [calibrate.stats(v) for v in per],
            "throughput_rounds_per_s": len(spans) / wall if wall else 0,
            "settings": f"onnxruntime {ort.__version__}, {prov[0]}, 1 intra-op thread, "
                        "default graph optimizations"}


def torch_baselines(args, cfg, tt, modules, cfg_deadline):
    names = [model for _, model in MIXES[cfg["mix"]]]
    missing = [n for n in names if n not in modules]
    if missing:
        return {"all": {"skipped": f"no PyTorch module for {', '.join(missing)} (export fell "
                                   "back to the generator)"}}
    tenants = []
    for name, model in MIXES[cfg["mix"]]:
        module, ins = modules[model]
        tenants.append((name, module, tt.to_torch(tt.inputs_for(model, cfg["batch"], 5), ins)))
    budgets = [T3_BUDGETS[n] for n, _ in MIXES[cfg["mix"]]] if cfg["budgets"] else None
    which = "B0,B1,B2,B4" if cfg["budgets"] else "B0,B1,B2,B3"
    if args.quick or cfg["batch"] != 1:
        which = which.replace(",B3", "")  # torch.compile costs a minute or more per mix
    n = len(which.split(","))
    per = max(1.0, min(args.mode_seconds, (cfg_deadline - time.time()) / n))
    return tt.run_baselines(tenants, args.rounds, args.warmup, cfg_deadline, budgets, which, log,
                            seconds_each=per)


# ------------------------------------------------------------------ main
def run_config(args, res, cfg, tt, modules, torch_reason, cfg_deadline):
    """Compile, check, time mtcc and the baselines for one configuration; the timing loops share
    what is left until cfg_deadline (compiling and checking are never cut)."""
    cid = config_id(cfg)
    work = os.path.join(args.work, cid)
    os.makedirs(work, exist_ok=True)
    entry = dict(cfg, id=cid, steps={})
    res.data["configs"].append(entry)
    man, bundle = os.path.join(work, "manifest.json"), os.path.join(work, cid + ".mtbundle")
    rep_path = os.path.join(work, "report.json")
    write_manifest(man, args, cfg, os.path.join(args.work, "models"))
    entry["manifest"] = man

    def step(name, fn):
        t0 = time.monotonic()
        try:
            entry[name] = fn()
            entry["steps"][name] = {"ok": True, "seconds": time.monotonic() - t0}
        except Exception as e:  # noqa: BLE001 - recorded, the next step or config goes on
            entry["steps"][name] = {"ok": False, "seconds": time.monotonic() - t0,
                                    "error": f"{type(e).__name__}: {str(e)[:800]}"}
            log(f"  {cid} {name}: FAILED: {entry['steps'][name]['error']}")
        res.save()
        return entry["steps"][name]["ok"]

    def do_compile():
        rep, secs = compile_bundle(args, man, bundle, rep_path)
        out = counts_from_report(rep)
        out.update(inspect_counts(args, bundle))
        out.update(compile_seconds=secs, bundle_bytes=os.path.getsize(bundle),
                   tenants=tenant_features(rep))
        return out

    if not step("compile", do_compile):
        return
    log(f"  {cid}: compiled in {entry['compile']['compile_seconds']:.1f} s, "
        f"{entry['compile']['kernels_per_round']} kernels/round")
    if cfg["kind"] != "throughput":
        step("check", lambda: check_outputs(args, cfg, bundle, work, tt, modules))
        if entry.get("check"):
            bad = [r for r in entry["check"] if not r["ok"]]
            log(f"  {cid}: outputs {'MISMATCH ' + str(bad[:2]) if bad else 'match'} "
                f"({len(entry['check'])} outputs, rel L2 <= {TOLERANCE})")
    n_tenants = len(MIXES[cfg["mix"]])
    if step("mtcc", lambda: time_bundle(args, bundle, cfg_deadline, n_tenants)):
        r = entry["mtcc"]["modes"].get("round", {})
        log(f"  {cid}: mtcc round makespan median {r.get('makespan_us', {}).get('median', 0):.1f} us")
    base = {}
    if tt:
        step("torch", lambda: torch_baselines(args, cfg, tt, modules, cfg_deadline))
        base.update(entry.get("torch") or {})
    else:
        base.update({k: {"skipped": torch_reason} for k in ("B0", "B1", "B2", "B3", "B4")})
    if step("ort", lambda: ort_baseline(args, cfg, tt, cfg_deadline)):
        base["ORT"] = entry["ort"]
    entry["baselines"] = base
    res.save()
    if not args.keep_bundles and os.path.exists(bundle):
        os.remove(bundle)  # 0.1-1 GB each at full size


def calibration(args, res):
    """Fits the cost model to the standalone per-tenant times, recompiles every measured mix
    with the fitted parameters and records how far the predictions moved."""
    label = "gpu" if args.device == "gpu" else ("cpu-dry-run" if args.dry_run else "cpu")
    # only a GPU's parameters get the plain name: CPU fits must never pass for a GPU's
    out_path = os.path.join(args.out, "arch-params.json" if label == "gpu"
                            else f"arch-params.{label}.json")
    cal = calibrate.fit_from_results(res.data["configs"])
    cal["label"] = label
    res.data["calibration"] = cal
    if cal.get("params"):
        calibrate.write_arch_params(out_path, "sm_90", cal["params"])
        cal["file"] = os.path.basename(out_path)
        after = {}
        for c in res.data["configs"]:
            if "compile" not in c or time.time() > args.deadline:
                continue
            rep, _ = compile_bundle(args, c["manifest"], None,
                                    os.path.join(args.work, c["id"], "report.calibrated.json"),
                                    out_path)
            after[c["id"]] = {n: v["predicted_us"] for n, v in tenant_features(rep).items()}
        cal["after"] = calibrate.errors(res.data["configs"], after)
        cal["before"] = calibrate.errors(res.data["configs"], None)
    res.save()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--bench-tool", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--device", default="gpu", choices=["cpu", "gpu"])
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--deadline", type=float, default=0, help="epoch seconds (default: 1 hour)")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--only", default="", help="comma-separated configuration ids (T2_b1, ...)")
    ap.add_argument("--keep-bundles", action="store_true")
    ap.add_argument("--torch-device", default="cuda", choices=["cuda", "cpu"],
                    help="cpu: the PyTorch tenants on the CPU (checks the PyTorch path without a "
                         "GPU; full-size models, so pick one configuration with --only)")
    args = ap.parse_args()
    if not args.deadline:
        args.deadline = time.time() + 3600
    if args.dry_run:
        args.rounds = 3 if args.rounds is None else args.rounds
        args.warmup = 1 if args.warmup is None else args.warmup
        args.mode_seconds = 20.0
    else:
        # >= 1000 rounds after warm-up (bench.md); --quick trades that for time and says so
        args.rounds = (300 if args.quick else 1000) if args.rounds is None else args.rounds
        args.warmup = 20 if args.warmup is None else args.warmup
        args.mode_seconds = 8.0 if args.quick else 15.0
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    res = Results(os.path.join(args.out, "results.json"))
    res.data["environment"] = environment(args.device, args.dry_run, args.quick)
    res.data["protocol"] = {"rounds": args.rounds, "warmup": args.warmup, "tolerance": TOLERANCE,
                            "bert_seq": seq_len(args), "image": DRY_IMAGE if args.dry_run else 224,
                            "t3_budgets": T3_BUDGETS}
    tt, reason = try_torch(args.device, args.torch_device)
    res.data["torch"] = tt.setup() if tt else {"skipped": reason}
    if not tt:
        log(f"bench: PyTorch baselines skipped: {reason}")
    res.save()
    cfgs = configurations(args)
    needed = sorted({m for c in cfgs for _, m in MIXES[c["mix"]]})
    log(f"bench: models {', '.join(needed)}")
    modules = prepare_models(args, res, tt, needed)
    for i, cfg in enumerate(cfgs):
        if time.time() > args.deadline - 20:
            res.data["errors"].append(f"time budget spent: {config_id(cfg)} and later not run")
            log(f"bench: time budget spent; skipping {config_id(cfg)} and later")
            break
        # an equal share of what is left (30 s kept for the calibration's recompiles)
        share = max(10.0, (args.deadline - 30 - time.time()) / (len(cfgs) - i))
        log(f"bench: [{i + 1}/{len(cfgs)}] {config_id(cfg)} ({cfg['kind']}, {share:.0f} s)")
        run_config(args, res, cfg, tt, modules, reason, time.time() + share)
    log("bench: calibration")
    try:
        calibration(args, res)
    except Exception as e:  # noqa: BLE001 - the measurements stay; the summary says why
        res.data["calibration"] = {"error": f"{type(e).__name__}: {str(e)[:500]}"}
        res.save()
    failed = [f"{c['id']}:{k}" for c in res.data["configs"] for k, s in c["steps"].items()
              if not s["ok"]]
    bad = [f"{c['id']}:{r['tenant']}" for c in res.data["configs"] for r in c.get("check") or []
           if not r["ok"]]
    log(f"bench: done; {len(res.data['configs'])} configuration(s), failed steps: "
        f"{', '.join(failed) or 'none'}; output mismatches: {', '.join(bad) or 'none'}")
    return 1 if failed or bad else 0


if __name__ == "__main__":
    sys.exit(main())
