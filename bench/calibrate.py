"""Cost-model calibration from measured per-tenant times (bench_gpu.py calls it).

The cost model (passes/cost_model.c) predicts a fused group's time as
max(flops / fp32 rate, bytes / bandwidth) / (SM fraction its grid fills) + graph_node_overhead_us.
Each group is math-bound or memory-bound under the built-in parameters; a tenant's measured
standalone time is fitted as
    a * (its math-bound groups' predicted work) + b * (memory-bound work) + groups * overhead
over every tenant of every measured mix (linear, non-negative least squares), so the rate
becomes R / a and the bandwidth BW / b. A group whose bound flips under the new numbers is where
this approximation errs; the "after" errors say how much that costs. The fitted rate,
bandwidth and overhead become an `--arch-params` file ({"sm_90": {...}}, plan/target.h); every
mix is recompiled with it and the per-tenant prediction errors before and after are recorded.
Values outside what the loader accepts are clamped, and the result says which.
"""
import itertools
import json
import math
import os

import numpy as np

# plan/target.c's built-in sm_90 numbers the bundles were predicted with (keep in sync; the fit
# scales them). Only these three move.
SM90_BASE = {"fp32_tflops": 67.0, "mem_bandwidth_gbs": 3350.0, "graph_node_overhead_us": 1.0}
# the loader's bounds (plan/target.c)
BOUNDS = {"fp32_tflops": (0.01, 1e5), "mem_bandwidth_gbs": (1.0, 1e6),
          "graph_node_overhead_us": (0.0, 1e4)}


def stats(v):
    v = sorted(v)
    if not v:
        return {}
    q = lambda p: v[min(len(v) - 1, max(0, int(math.ceil(p * len(v))) - 1))]  # noqa: E731
    return {"median": q(0.5), "p50": q(0.5), "p99": q(0.99), "mean": float(np.mean(v)),
            "min": v[0], "max": v[-1]}


def measured_alone(cfg):
    """{tenant: standalone median us} of one configuration's mtcc run (empty when missing)."""
    m = cfg.get("mtcc") or {}
    alone = (m.get("modes") or {}).get("standalone") or {}
    feats = (cfg.get("compile") or {}).get("tenants") or {}
    names = list(feats)
    out = {}
    for t in alone.get("tenants", []):
        i = t["index"]
        if i < len(names) and t.get("time_us", {}).get("median"):
            out[names[i]] = t["time_us"]["median"]
    return out


def _nnls3(X, y):
    """Non-negative least squares for 3 unknowns by trying every support (7 subsets)."""
    best, best_err = np.zeros(X.shape[1]), float("inf")
    for k in range(1, X.shape[1] + 1):
        for cols in itertools.combinations(range(X.shape[1]), k):
            sol, *_ = np.linalg.lstsq(X[:, cols], y, rcond=None)
            if (sol < 0).any():
                continue
            full = np.zeros(X.shape[1])
            full[list(cols)] = sol
            err = float(np.sum((X @ full - y) ** 2))
            if err < best_err:
                best, best_err = full, err
    return best


def split_work(groups, base=None):
    """A tenant's predicted work (group time less the per-node overhead) split into the part
    of math-bound groups and of memory-bound groups under the base parameters. The SM fraction a
    small grid leaves idle divides both terms of a group alike, so which one wins does not
    depend on it."""
    b = base or SM90_BASE
    math_us = mem_us = 0.0
    for g in groups:
        work = max(0.0, g["predicted_us"] - b["graph_node_overhead_us"])
        t_math = g.get("flops", 0) / (b["fp32_tflops"] * 1e6)
        t_mem = g.get("bytes", 0) / (b["mem_bandwidth_gbs"] * 1e3)
        if t_math >= t_mem:
            math_us += work
        else:
            mem_us += work
    return {"work_math_us": math_us, "work_mem_us": mem_us, "groups": len(groups)}


def fit_from_results(configs, base=None):
    """Scales the base rate and bandwidth and sets the per-node overhead so that the predicted
    standalone times match the measured ones (least squares on the relative error)."""
    b = base or SM90_BASE
    rows, y = [], []
    for c in configs:
        if c.get("budgets"):
            continue  # budgets change the SM fraction: fit on whole-GPU runs only
        feats = (c.get("compile") or {}).get("tenants") or {}
        for name, t_us in measured_alone(c).items():
            f = feats[name]
            # every tenant counts the same whatever its size
            rows.append([f["work_math_us"] / t_us, f["work_mem_us"] / t_us, f["groups"] / t_us])
            y.append(1.0)
    if len(rows) < 3:
        return {"error": f"{len(rows)} measured tenant(s); the fit needs at least 3"}
    X, y = np.array(rows), np.array(y)
    scale = X.max(axis=0)
    scale[scale == 0] = 1
    alpha, beta, overhead = _nnls3(X / scale, y) / scale
    params, notes = {}, []
    if alpha > 0:
        params["fp32_tflops"] = b["fp32_tflops"] / alpha
    else:
        notes.append("math-bound groups carry no weight in the fit: fp32_tflops kept")
    if beta > 0:
        params["mem_bandwidth_gbs"] = b["mem_bandwidth_gbs"] / beta
    else:
        notes.append("memory-bound groups carry no weight in the fit: mem_bandwidth_gbs kept")
    params["graph_node_overhead_us"] = float(overhead)
    for k, (lo, hi) in BOUNDS.items():
        if k in params and not lo <= params[k] <= hi:
            notes.append(f"{k} {params[k]:.4g} clamped to [{lo:g}, {hi:g}]")
            params[k] = min(max(params[k], lo), hi)
    resid = X @ np.array([alpha, beta, overhead]) - y
    return {"params": params, "points": len(rows), "notes": notes, "base": b,
            "scale_math": float(alpha), "scale_memory": float(beta),
            "fit_rms_relative_error": float(np.sqrt(np.mean(resid ** 2))),
            "model": "t = a * math-bound work + b * memory-bound work + groups * overhead "
                     "(work: the bundle's own group predictions); least squares on relative error"}


def write_arch_params(path, arch, params):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({arch: params}, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def errors(configs, after):
    """Per tenant prediction/measurement; after: {config id: {tenant: predicted}} or None for
    the bundle's own (uncalibrated) predictions. Summary: median |log ratio| as a factor."""
    rows = []
    for c in configs:
        if c.get("budgets"):
            continue
        feats = (c.get("compile") or {}).get("tenants") or {}
        preds = (after or {}).get(c["id"]) if after is not None else \
            {n: f["predicted_us"] for n, f in feats.items()}
        for name, t_us in measured_alone(c).items():
            if preds and name in preds and preds[name] > 0:
                rows.append({"config": c["id"], "tenant": name, "measured_us": t_us,
                             "predicted_us": preds[name], "ratio": preds[name] / t_us})
    if not rows:
        return {"rows": [], "median_factor": None}
    logs = sorted(abs(math.log(r["ratio"])) for r in rows)
    return {"rows": rows, "median_factor": math.exp(logs[len(logs) // 2]),
            "worst_factor": math.exp(logs[-1])}
