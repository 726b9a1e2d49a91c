#!/usr/bin/env python3
"""Depth and scale of `mtcc compile` (issue 8, class 4), machine-independent:

- growth: each input shape of scripts/bench_scale.py (an elementwise chain, a nested If, a manifest
  of many tiny tenants) is compiled at a base size and at 10x that size in the same run; the time
  ratio must stay under --max-ratio (25 by default: near-linear growth gives ~10, quadratic ~100,
  and the nested If's exponential walk gave millions). The base size is kept large enough that
  process start-up does not dominate it.
- depth: an If nested 4,000 deep (written byte by byte: the Python protobuf library itself refuses
  to build messages that deep) must be a one-line error naming the file and the nesting limit,
  not a stack overflow inside protobuf-c; 64 levels (the documented limit) still compile and 65
  are refused; a model whose bytes end inside a nested message, or whose varint is cut off, is
  a one-line "not a valid ONNX model" error.

Prints one line per check and 'N passed, N failed'; exits 1 on any failure.

usage: check_scale.py --mtcc PATH/TO/mtcc --work DIR [--max-ratio 25] [--checks depth,growth]
"""
import argparse
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts"))
import bench_scale  # noqa: E402  (the generators are the benchmark's)

results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")
    sys.stdout.flush()


# --- a minimal protobuf writer, for models deeper than the Python protobuf library builds


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(number, payload):
    """A length-delimited field (wire type 2): string, bytes or embedded message."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def value_info(name, elem_type, dims):
    """ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1, shape=2}}}."""
    shape = b"".join(field_bytes(1, field_varint(1, d)) for d in dims)  # Dimension.dim_value=1
    tensor = field_varint(1, elem_type) + field_bytes(2, shape)
    return field_bytes(1, name.encode()) + field_bytes(2, field_bytes(1, tensor))


def node(op, inputs, outputs, name, attrs=b""):
    """NodeProto{input=1, output=2, name=3, op_type=4, attribute=5}."""
    return (b"".join(field_bytes(1, i.encode()) for i in inputs) +
            b"".join(field_bytes(2, o.encode()) for o in outputs) + field_bytes(3, name.encode()) +
            field_bytes(4, op.encode()) + attrs)


def graph_attr(name, graph):
    """AttributeProto{name=1, g=6, type=20: GRAPH (5)}."""
    return field_bytes(5, field_bytes(1, name.encode()) + field_bytes(6, graph) + field_varint(20, 5))


FLOAT, BOOL = 1, 9


def nested_if_bytes(depth):
    """The same model as bench_scale.nested_if_model(depth), serialised by hand (inside out, so
    building it is linear in its size)."""
    out = f"r{depth}"
    body = field_bytes(1, node("Relu", ["x"], [out], f"leaf{depth}"))
    for level in range(depth - 1, -1, -1):
        then_g = body + field_bytes(2, f"then{level}".encode()) + \
            field_bytes(12, value_info(out, FLOAT, [1, 4]))
        else_g = field_bytes(1, node("Neg", ["x"], [f"e{level}"], f"neg{level}")) + \
            field_bytes(2, f"else{level}".encode()) + field_bytes(12, value_info(f"e{level}", FLOAT, [1, 4]))
        new_out = f"r{level}"
        attrs = graph_attr("else_branch", else_g) + graph_attr("then_branch", then_g)  # helper sorts
        body = field_bytes(1, node("If", ["cond"], [new_out], f"if{level}", attrs))
        out = new_out
    main = (body + field_bytes(1, node("Identity", [out], ["y"], "out")) + field_bytes(2, b"nested_if") +
            field_bytes(11, value_info("cond", BOOL, [])) + field_bytes(11, value_info("x", FLOAT, [1, 4])) +
            field_bytes(12, value_info("y", FLOAT, [1, 4])))
    opset = field_bytes(1, b"") + field_varint(2, 13)  # OperatorSetIdProto{domain=1, version=2}
    # ModelProto{ir_version=1, opset_import=8, graph=7}
    return field_varint(1, 8) + field_bytes(8, opset) + field_bytes(7, main)


def run_compile(mtcc, path, timeout=120):
    """(process, CPU seconds of the child: immune to other jobs sharing the machine)."""
    proc, cpu, _ = bench_scale.run_compile(mtcc, path, timeout)
    return proc, cpu


def one_line_error(proc, must_contain):
    lines = proc.stderr.splitlines()
    return (proc.returncode == 1 and len(lines) == 1 and lines[0].startswith("mtcc: error: ") and
            all(s in lines[0] for s in must_contain))


def check_depth(mtcc, work):
    path = os.path.join(work, "if_deep_4000.onnx")
    with open(path, "wb") as f:
        f.write(nested_if_bytes(4000))
    proc, _ = run_compile(mtcc, path)
    check("If nested 4000 deep: one-line error naming the file and the limit of 64",
          one_line_error(proc, [path, "more than 64 levels"]),
          f"exit {proc.returncode}: {proc.stderr.strip()[-600:]}")

    # the writer agrees with the onnx library on a depth it can build, and the limit is exact
    ref = os.path.join(work, "if_ref.onnx")
    bench_scale.nested_if_model(ref, 3)
    import onnx
    a, b = onnx.load(ref), onnx.ModelProto.FromString(nested_if_bytes(3))
    a.ClearField("producer_name")
    check("hand-written nested If equals onnx.helper's at depth 3",
          a.graph == b.graph)
    for depth, ok in ((64, True), (65, False)):
        path = os.path.join(work, f"if_{depth}.onnx")
        with open(path, "wb") as f:
            f.write(nested_if_bytes(depth))
        proc, _ = run_compile(mtcc, path)
        if ok:
            check(f"If nested {depth} deep (the limit) compiles", proc.returncode == 0,
                  f"exit {proc.returncode}: {proc.stderr.strip()[-600:]}")
        else:
            check(f"If nested {depth} deep is refused", one_line_error(proc, [path, "more than 64"]),
                  f"exit {proc.returncode}: {proc.stderr.strip()[-600:]}")

    # framing: cut inside a nested message (a length past the end) and inside a varint
    whole = nested_if_bytes(5)
    for label, data, words in (("cut inside a nested message", whole[:len(whole) // 2], ["past the end"]),
                               ("cut inside a varint", whole[:1] + b"\x80", ["truncated"])):
        path = os.path.join(work, f"cut_{len(data)}.onnx")
        with open(path, "wb") as f:
            f.write(data)
        proc, _ = run_compile(mtcc, path)
        check(f"model {label}: one-line 'not a valid ONNX model' error",
              one_line_error(proc, [path, "not a valid ONNX model"] + words),
              f"exit {proc.returncode}: {proc.stderr.strip()[-600:]}")


def check_growth(mtcc, work, shapes, max_ratio):
    for shape, base in shapes:
        times = []
        for size in (base, 10 * base):
            path, _ = bench_scale.make_input(shape, size, work)
            # best of three for the small size (noise matters most there), one for the large
            best = None
            for _ in range(3 if size == base else 1):
                proc, t = run_compile(mtcc, path, timeout=600)
                if proc.returncode != 0:
                    check(f"{shape} of size {size} compiles", False, proc.stderr.strip()[-600:])
                    return
                best = t if best is None else min(best, t)
            times.append(best)
        ratio = times[1] / max(times[0], 2e-3)  # a floor: the base size costs a few ms
        check(f"{shape}: 10x the size ({base} -> {10 * base}) takes {ratio:.1f}x the CPU time "
              f"({times[0]:.3f}s -> {times[1]:.3f}s), under {max_ratio}x", ratio < max_ratio)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--max-ratio", type=float, default=25.0)
    ap.add_argument("--checks", default="depth,growth",
                    help="comma-separated: depth, growth (timing; meaningless under sanitizers)")
    args = ap.parse_args()
    mtcc = os.path.abspath(args.mtcc)
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    checks = set(args.checks.split(","))
    if "depth" in checks:
        check_depth(mtcc, work)
    if "growth" in checks:
        # nested If: depth 3 -> 30 (the exponential walk made 30 take a minute); chain 2k -> 20k
        # nodes; tenants 200 -> 2,000
        check_growth(mtcc, work, (("nested_if", 3), ("chain", 2000), ("tenants", 200)), args.max_ratio)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
