#!/usr/bin/env python3
"""Scaling benchmark of `mtcc compile` (not a test): a long elementwise chain, a deeply nested If
and a manifest of many tiny tenants, each compiled at full size and at a 10x smaller size of the
same shape, so the ratio of the two times shows whether compile time grows near-linearly
(a ratio near 10 for 10x the size; 100 would be quadratic). Prints one table row per shape.

The generators are shared with tests/scale/check_scale.py (the CTest that fails on super-linear
growth at smaller sizes).

usage: scripts/bench_scale.py [--mtcc build/mtcc] [--work DIR] [--chain 200000] [--if-depth 30]
                              [--tenants 10000] [--repeat 1]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _onnx():
    from onnx import TensorProto, helper  # imported late: --help works without onnx
    return TensorProto, helper


def _save(model, path):
    model.ir_version = 8
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def chain_model(path, n):
    """X[1,8] -> n elementwise nodes (Add of a constant, Relu, Mul by a constant, Neg in turn)."""
    TensorProto, helper = _onnx()
    ops = ("Add", "Relu", "Mul", "Neg")
    nodes = []
    prev = "x"
    for i in range(n):
        op = ops[i % len(ops)]
        out = "y" if i == n - 1 else f"v{i}"
        inputs = [prev, "c"] if op in ("Add", "Mul") else [prev]
        nodes.append(helper.make_node(op, inputs, [out], name=f"n{i}"))
        prev = out
    c = helper.make_tensor("c", TensorProto.FLOAT, [8], [0.5] * 8)
    graph = helper.make_graph(nodes, "chain",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
                              initializer=[c])
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def nested_if_graph(depth, level=0):
    """The graph of one If level: its then branch holds the next level, its else branch a Neg.
    Total size is linear in depth; a pass that walks both branches of each If twice (or re-walks
    the subtree per level) is exponential in it."""
    TensorProto, helper = _onnx()
    out = f"r{level}"
    if level == depth:
        return [helper.make_node("Relu", ["x"], [out], name=f"leaf{level}")], out
    then_nodes, then_out = nested_if_graph(depth, level + 1)
    then_g = helper.make_graph(then_nodes, f"then{level}", [],
                               [helper.make_tensor_value_info(then_out, TensorProto.FLOAT, [1, 4])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], [f"e{level}"], name=f"neg{level}")],
                               f"else{level}", [],
                               [helper.make_tensor_value_info(f"e{level}", TensorProto.FLOAT, [1, 4])])
    node = helper.make_node("If", ["cond"], [out], name=f"if{level}", then_branch=then_g,
                            else_branch=else_g)
    return [node], out


def nested_if_model(path, depth):
    """cond (bool graph input) and x[1,4]; If nested `depth` deep (depth 0: one Relu)."""
    TensorProto, helper = _onnx()
    nodes, out = nested_if_graph(depth)
    nodes.append(helper.make_node("Identity", [out], ["y"], name="out"))
    graph = helper.make_graph(nodes, "nested_if",
                              [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
                               helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def tenants_manifest(path, n, model_path):
    """A manifest of n tenants of one tiny model (X -> Add -> Relu -> Mul)."""
    TensorProto, helper = _onnx()
    if not os.path.exists(model_path):
        nodes = [helper.make_node("Add", ["x", "c"], ["a"], name="add"),
                 helper.make_node("Relu", ["a"], ["r"], name="relu"),
                 helper.make_node("Mul", ["r", "c"], ["y"], name="mul")]
        c = helper.make_tensor("c", TensorProto.FLOAT, [4], [0.5] * 4)
        graph = helper.make_graph(nodes, "tiny",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                                  initializer=[c])
        _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), model_path)
    with open(path, "w") as f:
        json.dump({"tenants": [{"name": f"t{i}", "model": os.path.basename(model_path)}
                               for i in range(n)]}, f)
    return path


def make_input(shape, size, work):
    """Writes the model or manifest for `shape` at `size` under work; returns (path, node count)."""
    if shape == "chain":
        return chain_model(os.path.join(work, f"chain_{size}.onnx"), size), size
    if shape == "nested_if":
        # each level: If + Neg in its else branch; the leaf Relu and the final Identity
        return nested_if_model(os.path.join(work, f"if_{size}.onnx"), size), 2 * size + 2
    if shape == "tenants":
        model = os.path.join(work, "tiny.onnx")
        return tenants_manifest(os.path.join(work, f"tenants_{size}.json"), size, model), 3 * size
    raise ValueError(shape)


def run_compile(mtcc, path, timeout):
    """Runs `mtcc compile path`: (process, CPU seconds, wall seconds). CPU time (user + system of
    the child) is what the ratios use: unlike wall time it does not grow when other jobs share
    the machine."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([mtcc, "compile", path], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, errors="replace", timeout=timeout)
    wall = time.monotonic() - start
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return proc, cpu, wall


def compile_time(mtcc, path, timeout, repeat=1):
    """Best CPU time of `mtcc compile path` over `repeat` runs; raises on failure."""
    best = None
    for _ in range(repeat):
        proc, cpu, _ = run_compile(mtcc, path, timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"mtcc compile {path}: exit {proc.returncode}: {proc.stderr.strip()}")
        best = cpu if best is None else min(best, cpu)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mtcc", default=os.path.join(ROOT, "build", "mtcc"))
    ap.add_argument("--work", default=None, help="folder for the generated inputs (default: temp)")
    ap.add_argument("--chain", type=int, default=200000, help="nodes in the chain")
    ap.add_argument("--if-depth", type=int, default=30, help="If nesting depth")
    ap.add_argument("--tenants", type=int, default=10000, help="tenants in the manifest")
    ap.add_argument("--repeat", type=int, default=1, help="runs per input (best time counts)")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="mtcc-bench-scale-")
    os.makedirs(work, exist_ok=True)
    rows = []
    for shape, size in (("chain", args.chain), ("nested_if", args.if_depth),
                        ("tenants", args.tenants)):
        small = max(1, size // 10)
        results = []
        for s in (small, size):
            path, nodes = make_input(shape, s, work)
            results.append((s, nodes, compile_time(args.mtcc, path, args.timeout, args.repeat)))
        rows.append((shape, results))
    print(f"{'input':<10} {'size':>8} {'nodes':>8} {'cpu s':>8} {'us/node':>8} "
          f"{'nodes x':>7} {'time x':>7}")
    for shape, ((s0, n0, t0), (s1, n1, t1)) in rows:
        for s, n, t in ((s0, n0, t0), (s1, n1, t1)):
            print(f"{shape:<10} {s:>8} {n:>8} {t:>8.3f} {1e6 * t / n:>8.2f}", end="")
            if s == s1:
                print(f" {n1 / n0:>7.1f} {t1 / max(t0, 1e-6):>7.1f}")
            else:
                print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
