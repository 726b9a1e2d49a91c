"""Shared helpers of the model oracle scripts: input synthesis, ONNX Runtime runs, mtcc runs.

The ONNX Runtime session runs on the CPU provider with every graph optimization
disabled, so it evaluates the graph node by node as written: a faithful oracle,
not a fused approximation.
"""

import os
import re
import subprocess
import sys
import zlib

import numpy as np
import onnx

_NP_OF_ONNX = {
    onnx.TensorProto.FLOAT: np.float32,
    onnx.TensorProto.FLOAT16: np.float16,
    onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.INT64: np.int64,
    onnx.TensorProto.INT32: np.int32,
    onnx.TensorProto.INT8: np.int8,
    onnx.TensorProto.UINT8: np.uint8,
    onnx.TensorProto.BOOL: np.bool_,
}


def sanitize(name):
    """The CLI's file name for a value: every char outside [A-Za-z0-9._-] becomes '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def graph_inputs(model):
    """Real graph inputs (not initializers), as (name, elem_type, [dim_value or dim_param])."""
    inits = {t.name for t in model.graph.initializer}
    out = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        dims = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in tt.shape.dim]
        out.append((vi.name, tt.elem_type, dims))
    return out


def symbolic_dims(model):
    """Names of the symbolic dims on the graph inputs."""
    return sorted({d for _, _, dims in graph_inputs(model) for d in dims if isinstance(d, str)})


def _gather_table_rows(model, input_name):
    """Rows of the embedding table an ids input indexes (Gather data initializer), if any."""
    inits = {t.name: t for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Gather" and len(n.input) > 1 and n.input[1] == input_name and n.input[0] in inits:
            return inits[n.input[0]].dims[0]
    return None


def make_inputs(model, dims, seed):
    """Random inputs for every graph input; 'dims' binds symbolic dim names (e.g. batch, seq).

    Float inputs are N(0, 1).  int64 inputs are shaped for BERT-style models:
    '*mask*' is 1 with trailing padding (0) on every row but the first,
    '*type*' is segment A (0) then B (1), ids are uniform over the embedding
    table they index (Gather), or over [0, 100) when no table is found."""
    rng = np.random.default_rng(_seed_of(seed))
    feeds = {}
    for name, et, shape in graph_inputs(model):
        try:
            shape = [dims[d] if isinstance(d, str) else d for d in shape]
        except KeyError as e:
            raise SystemExit("input %s: symbolic dim %s has no value (use --batch/--seq)" % (name, e))
        if et not in _NP_OF_ONNX:
            raise SystemExit("input %s: unsupported element type %d" % (name, et))
        dt = _NP_OF_ONNX[et]
        lname = name.lower()
        if np.issubdtype(dt, np.floating):
            a = rng.standard_normal(shape).astype(dt)
        elif dt == np.bool_:
            a = rng.random(shape) < 0.5
        elif "mask" in lname and len(shape) == 2:
            a = np.ones(shape, dt)
            for r in range(1, shape[0]):
                keep = int(rng.integers(max(1, shape[1] // 2), shape[1] + 1))
                a[r, keep:] = 0
        elif "type" in lname and len(shape) == 2:
            a = np.zeros(shape, dt)
            for r in range(shape[0]):
                a[r, int(rng.integers(1, shape[1] + 1)):] = 1
        else:
            hi = _gather_table_rows(model, name) or 100
            a = rng.integers(0, hi, size=shape).astype(dt)
        feeds[name] = a
    return feeds


def _seed_of(seed):
    return zlib.crc32(seed.encode()) if isinstance(seed, str) else int(seed)


def run_ort(model_path, feeds):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def save_inputs(feeds, folder):
    """Writes each input as FOLDER/<sanitized name>.npy; returns {name: path}."""
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for name, a in feeds.items():
        p = os.path.join(folder, sanitize(name) + ".npy")
        np.save(p, a)
        paths[name] = os.path.abspath(p)
    return paths


def run_mtcc(mtcc, reference, input_args, out_dir, timeout):
    """Runs `mtcc run --reference REF --input ... --output-dir OUT`; returns True on exit 0."""
    os.makedirs(os.path.dirname(os.path.abspath(out_dir)), exist_ok=True)
    cmd = [mtcc, "run", "--reference", reference]
    for a in input_args:
        cmd += ["--input", a]
    cmd += ["--output-dir", out_dir]
    print("+ " + " ".join(cmd))
    sys.stdout.flush()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except FileNotFoundError:
        print("error: cannot execute %s" % mtcc)
        return False
    except subprocess.TimeoutExpired:
        print("error: mtcc timed out after %d s" % timeout)
        return False
    text = r.stdout.decode(errors="replace")
    if text.strip():
        print(text.rstrip())
    if r.returncode != 0:
        print("error: mtcc exited with status %d" % r.returncode)
    return r.returncode == 0


def load_output(out_dir, tenant, name):
    p = os.path.join(out_dir, tenant, sanitize(name) + ".npy")
    if not os.path.exists(p):
        return None, p
    return np.load(p), p


def rel_l2(got, want):
    """||got - want|| / ||want|| in float64 (absolute when want is all zeros)."""
    g = np.asarray(got, np.float64).ravel()
    w = np.asarray(want, np.float64).ravel()
    num = np.linalg.norm(g - w)
    den = np.linalg.norm(w)
    return float(num / den) if den > 0 else float(num)
