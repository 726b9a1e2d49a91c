"""GPU check of mtcc's conv paths on resnet50 (kernels emitted by `mtcc compile --emit-cuda`):
split-K pairs vs the unsplit implicit-GEMM kernel (batch 1), and 1x1 convs as cuBLAS SGEMM +
generated epilogue vs the implicit-GEMM kernel (batch 8); the numbers behind docs/codegen.md's
"Which conv path" table.

usage: gpu_conv_paths.py --mtcc MTCC --models DIR --work DIR   (CTest codegen_gpu_conv_paths)
Compiles the four variants with mtcc here, then needs CuPy and torch on a CUDA GPU (exit 77 with
the reason otherwise): the generated kernels are compiled by NVRTC through CuPy and launched with
the grid, block and buffers of the report; cuBLAS runs through torch. Times are CUDA-event means over 5 launches
of a CUDA graph of 20 calls (no Python dispatch gaps), after a warm-up; outputs of each pair of paths are compared on the same inputs."""
import argparse
import json
import os
import subprocess
import sys
import zlib

import numpy as np

cp = None
D = OUT = None
NP = {"float32": np.float32, "float16": np.float16, "int64": np.int64, "int32": np.int32,
      "int8": np.int8, "uint8": np.uint8, "bool": np.bool_}
lines = []


def say(s):
    print(s, flush=True)
    lines.append(s)


def cg(variant):
    return json.load(open(f"{D}/{variant}.report.json"))["codegen"]


_mods = {}


def fn(variant, name):
    key = (variant, name)
    if key not in _mods:
        src = open(f"{D}/{variant}/{name}.cu").read()
        m = cp.RawModule(code=src, options=("-std=c++17", "--fmad=false", f"-I{D}/{variant}"))
        _mods[key] = m.get_function(name)
    return _mods[key]


_inputs = {}


def buf(variant, k, p):
    n = max(int(p["elements"]), 1)
    dt = NP[p["dtype"]]
    if p["access"] == "read":
        key = (p["value"], n, p["dtype"])
        if key not in _inputs:
            rng = np.random.default_rng(zlib.crc32(p["value"].encode()))
            a = rng.uniform(-1, 1, n).astype(dt) if dt in (np.float32, np.float16) else np.zeros(n, dt)
            _inputs[key] = cp.asarray(a)
        return _inputs[key]
    if "scratch" in p["access"]:
        key = ("scratch", variant, k["horizontal_group"])
        if key not in _inputs or _inputs[key].size < n:
            _inputs[key] = cp.zeros(n, dt)
        return _inputs[key]
    key = ("out", variant, p["value"])
    if key not in _inputs:
        _inputs[key] = cp.zeros(n, dt)
    return _inputs[key]


def launcher(variant, k):
    f = fn(variant, k["name"])
    args = tuple(buf(variant, k, p) for p in k["params"])
    return lambda: f((k["grid"],), (k["block"],), args, shared_mem=k["dynamic_smem"])


_stream = None


def bench(run, reps=20):
    try:
        return bench_graph(run, reps)
    except Exception as e:  # e.g. a library call that cannot be captured: plain launches
        say(f"  (graph capture failed: {type(e).__name__}: {str(e)[:80]}; timing plain launches)")
        try:
            _stream.end_capture()
        except Exception:
            pass
        run()
        cp.cuda.Device().synchronize()
        s, e = cp.cuda.Event(), cp.cuda.Event()
        s.record()
        for _ in range(reps):
            run()
        e.record()
        e.synchronize()
        return cp.cuda.get_elapsed_time(s, e) * 1000.0 / reps


def bench_graph(run, reps=20):
    """GPU time per call: reps calls captured in one CUDA graph (no Python dispatch gaps between
    launches), the graph launched once to warm up, then timed over 5 launches."""
    global _stream
    if _stream is None:
        _stream = cp.cuda.Stream(non_blocking=True)
    with _stream:
        run()
        _stream.synchronize()
        _stream.begin_capture()
        for _ in range(reps):
            run()
        graph = _stream.end_capture()
        graph.launch()
        _stream.synchronize()
        s, e = cp.cuda.Event(), cp.cuda.Event()
        s.record(_stream)
        for _ in range(5):
            graph.launch()
        e.record(_stream)
        e.synchronize()
    return cp.cuda.get_elapsed_time(s, e) * 1000.0 / (5 * reps)


def torch_gemm_us(W, X, Dd, reps=20):
    """cuBLAS SGEMM (FP32, no TF32) through torch, whose CUDA graphs capture cuBLAS (CuPy's do
    not, and plain CuPy calls are bound by Python dispatch): reps calls in one graph."""
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    Wt, Xt, Dt = torch.from_dlpack(W), torch.from_dlpack(X), torch.from_dlpack(Dd)
    st = torch.cuda.Stream()
    st.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(st):
        torch.matmul(Wt, Xt, out=Dt)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(reps):
            torch.matmul(Wt, Xt, out=Dt)
    g.replay()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(5):
        g.replay()
    e.record()
    e.synchronize()
    return s.elapsed_time(e) * 1000.0 / (5 * reps)


def rel_diff(a, b):
    a = a.astype(cp.float64)
    b = b.astype(cp.float64)
    return float(cp.max(cp.abs(a - b) / cp.maximum(cp.abs(b), 1.0)))


def outputs(variant, k):
    return {p["value"]: buf(variant, k, p) for p in k["params"] if p["access"] == "write"}


def split_k():
    a, u = cg("b1_auto"), cg("b1_nosplit")
    by_h = {}
    for k in u["kernels"]:
        by_h.setdefault(k["horizontal_group"], []).append(k)
    say("split-K (resnet50 batch 1, 132 SMs): hgroup | why | split us (partial + reduce) | "
        "unsplit us | max rel diff")
    tot_s = tot_u = 0.0
    for i, k in enumerate(a["kernels"]):
        if not k["name"].endswith("_splitk"):
            continue
        red = a["kernels"][i + 1]
        un = [x for x in by_h.get(k["horizontal_group"], []) if "gemm_epilogue" not in x["name"]]
        if len(un) != 1:
            say(f"h{k['horizontal_group']}: no single unsplit kernel")
            continue
        lp, lr, lu = launcher("b1_auto", k), launcher("b1_auto", red), launcher("b1_nosplit", un[0])

        def pair():
            lp()
            lr()

        ts, tu = bench(pair), bench(lu)
        pair()
        lu()
        cp.cuda.Device().synchronize()
        ou, os_ = outputs("b1_nosplit", un[0]), outputs("b1_auto", red)
        d = max(rel_diff(os_[v], ou[v]) for v in ou)
        tot_s += ts
        tot_u += tu
        say(f"h{k['horizontal_group']} | {k['why'][:60]} | {ts:.1f} | {tu:.1f} | {d:.2e}")
    say(f"split-K total: {tot_s:.1f} us split vs {tot_u:.1f} us unsplit")


def conv_gemm():
    al, nv = cg("b8_always"), cg("b8_never")
    kern = {k["name"]: k for k in al["kernels"]}
    by_h = {}
    for k in nv["kernels"]:
        by_h.setdefault(k["horizontal_group"], []).append(k)
    say("1x1 conv (resnet50 batch 8): hgroup | m n k batch | cuBLAS SGEMM (torch, graph) us + epilogue us | "
        "implicit GEMM us | max rel diff | mtcc's choice (assumed model)")
    for c in al["library_calls"]:
        if "1x1 conv" not in c["why"]:
            continue
        g = c["problems"][0]
        h = c["horizontal_group"]
        m, n, kk, b = g["m"], g["n"], g["k"], g["batch"]
        W = buf("b8_always", None, {"value": g["a"], "elements": m * kk, "dtype": "float32",
                                    "access": "read"}).reshape(m, kk)
        X = buf("b8_always", None, {"value": g["b"], "elements": b * kk * n, "dtype": "float32",
                                    "access": "read"}).reshape(b, kk, n)
        Dd = cp.zeros((b, m, n), cp.float32)

        def gemm():
            cp.matmul(W, X, out=Dd)

        tg = torch_gemm_us(W, X, Dd)
        te = 0.0
        if g["epilogue_kernel"]:
            ek = kern[g["epilogue_kernel"]]
            # the epilogue reads the library result under d's name
            dkey = (g["d"], int(b * m * n), "float32")
            _inputs[dkey] = Dd.reshape(-1)
            le = launcher("b8_always", ek)
            te = bench(le)
        ks = [x for x in by_h.get(h, []) if "gemm_epilogue" not in x["name"]]
        runs = [launcher("b8_never", x) for x in ks]

        def gen():
            for r in runs:
                r()

        ti = bench(gen)
        gemm()
        if g["epilogue_kernel"]:
            le()
        gen()
        cp.cuda.Device().synchronize()
        d = float("nan")
        if g["epilogue_kernel"] and ks:
            oa, on = outputs("b8_always", ek), outputs("b8_never", ks[-1])
            common = [v for v in oa if v in on]
            if common:
                d = max(rel_diff(oa[v], on[v]) for v in common)
        w = c["why"]
        pred = w[w.find("library "):w.find(")")] if "library " in w else "?"
        say(f"h{h} | {m} {n} {kk} {b} | {tg:.1f} + {te:.1f} = {tg + te:.1f} | {ti:.1f} | {d:.2e} | "
            f"predicted {pred}")


VARIANTS = {"b1_auto": (1, []), "b1_nosplit": (1, ["--conv-split-k=1"]),
            "b8_never": (8, ["--conv-gemm=never"]), "b8_always": (8, ["--conv-gemm=always"])}


def prepare(mtcc, models, work):
    os.makedirs(work, exist_ok=True)
    for name, (batch, opts) in VARIANTS.items():
        mf = os.path.join(work, name + ".json")
        with open(mf, "w") as f:
            json.dump({"tenants": [{"name": "r", "model": os.path.abspath(os.path.join(models, "resnet50.onnx")),
                                    "dims": {"batch": batch}}]}, f)
        subprocess.run([mtcc, "compile", mf, *opts, "--report", os.path.join(work, name + ".report.json"),
                        "--emit-cuda", os.path.join(work, name)], check=True, stdout=subprocess.DEVNULL)


def main():
    global cp, D, OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtcc")
    ap.add_argument("--models")
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    D = OUT = os.path.abspath(a.work)
    if a.mtcc:
        prepare(a.mtcc, a.models, D)
    try:
        import cupy
        cp = cupy
        cp.cuda.runtime.getDeviceCount()
        import torch  # noqa: F401  (cuBLAS timing)
    except Exception as e:
        print(f"skipped: needs CuPy and torch on a CUDA GPU ({type(e).__name__}: {e})")
        return 77
    dev = cp.cuda.Device()
    props = cp.cuda.runtime.getDeviceProperties(dev.id)
    say(f"device: {props['name'].decode()}, {props['multiProcessorCount']} SMs; CuPy {cp.__version__}")
    parts = [p for p in (split_k, conv_gemm) if p.__name__ in os.environ.get("PARTS", "split_k,conv_gemm")]
    for part in parts:
        try:
            part()
        except Exception as e:  # keep what the other part measured
            say(f"{part.__name__} failed: {type(e).__name__}: {e}")
    open(os.path.join(OUT, "gpu_conv_paths.txt"), "w").write("\n".join(lines) + "\n")
    return 1 if any("failed" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
