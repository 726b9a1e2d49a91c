#!/usr/bin/env python3
"""Hostile files and hostile sizes: refused with one error line, never a hang or a huge allocation.

Two classes of issue 8, generated here (nothing checked in):
  - non-regular files: a directory, a FIFO and a character device where mtcc expects a file
    (model, manifest, a manifest's model, external data, --input tensor, --arch-params, a
    conformance case's files). Each must fail at once with one "mtcc: error:" line naming the
    path and what it is; every command runs under a timeout, so a blocking open() is a failure,
    not a hung CI job.
  - sizes a file controls: a 2^36-element initializer declared in a tiny file, Range of 1e12,
    Resize to 1e6 x 1e6, ConvTranspose output_shape 2^20 x 2^20, ConstantOfShape, Expand, Tile
    and Pad to terabytes. Each must fail before allocating, naming the tensor, the size and the
    memory limit. --memory-limit must be honoured (a model that fits by default fails under 1M,
    naming the tensor), and constant folding must stay within its budget: a model folding ~100 x
    64 MiB constants compiles with a bounded peak RSS (resource.getrusage of the child).
Prints one line per case and "N passed, N failed"; exits non-zero on any failure.

usage: check_files_memory.py --mtcc PATH/TO/mtcc --work DIR
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
TIMEOUT_S = 30
# Peak RSS allowed for compiling the folding model: its constants would take ~6.4 GB unfolded
# into memory twice; the fold budget (256 MiB) plus interned copies and the sanitizers' overhead
# stay well under this.
FOLD_RSS_LIMIT_MB = 1500


def save_model(path, nodes, inputs, outputs, initializers=(), opset=OPSET):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="check_files_memory")
    model.ir_version = 8
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def vi(name, dtype=TensorProto.FLOAT, shape=None):
    return helper.make_tensor_value_info(name, dtype, shape)


def i64(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


class Case:
    def __init__(self, name, argv, needles, expect_exit=1, one_line=True, rss_mb=None):
        self.name = name
        self.argv = argv
        self.needles = needles        # substrings stderr (or stdout for conformance) must hold
        self.expect_exit = expect_exit
        self.one_line = one_line      # stderr must be exactly one "mtcc: error:" line
        self.rss_mb = rss_mb          # peak RSS bound of the child, in MiB


def build_cases(work):
    fx = os.path.join(work, "fixtures")
    os.makedirs(fx)
    out = os.path.join(work, "out")
    cases = []

    good = save_model(os.path.join(fx, "good.onnx"), [helper.make_node("Relu", ["x"], ["y"])],
                      [vi("x", shape=[1, 3])], [vi("y")])
    good_x = os.path.join(fx, "x.npy")
    np.save(good_x, np.array([[1.0, -2.0, 3.0]], dtype=np.float32))

    # --- non-regular files: a directory, a FIFO, a character device
    bad_files = {}
    for kind in ("dir", "fifo"):
        for ext in (".onnx", ".json", ".npy", ".bin"):
            p = os.path.join(fx, kind + "_file" + ext)
            if kind == "dir":
                os.makedirs(p)
            else:
                os.mkfifo(p)
            bad_files[kind, ext] = p
    what = {"dir": "directory", "fifo": "FIFO"}
    for kind in ("dir", "fifo"):
        model = bad_files[kind, ".onnx"]
        cases.append(Case("%s_as_model/inspect" % kind, ["inspect", model], [model, what[kind]]))
        cases.append(Case("%s_as_model/compile" % kind, ["compile", model], [model, what[kind]]))
        cases.append(Case("%s_as_model/run" % kind,
                          ["run", "--reference", model, "--output-dir", os.path.join(out, kind)],
                          [model, what[kind]]))
        manifest = os.path.join(fx, "manifest_%s.json" % kind)
        with open(manifest, "w") as f:
            json.dump({"tenants": [{"name": "a", "model": model}]}, f)
        cases.append(Case("%s_as_manifest_model" % kind, ["inspect", manifest],
                          [model, what[kind]]))
        if kind == "fifo":  # a directory named *.json is caught the same way; a FIFO must not hang
            cases.append(Case("fifo_as_manifest", ["inspect", bad_files[kind, ".json"]],
                              [bad_files[kind, ".json"], "FIFO"]))
            cases.append(Case("fifo_as_arch_params",
                              ["compile", good, "--arch-params", bad_files[kind, ".json"]],
                              [bad_files[kind, ".json"], "FIFO"]))
        npy = bad_files[kind, ".npy"]
        cases.append(Case("%s_as_input" % kind,
                          ["run", "--reference", good, "--input", "x=" + npy, "--output-dir",
                           os.path.join(out, kind + "_in")], [npy, what[kind]]))
        # external data: the model's folder holds w.bin, which is a directory or a FIFO
        ext_dir = os.path.join(fx, "external_" + kind)
        os.makedirs(ext_dir)
        w = os.path.join(ext_dir, "w.bin")
        if kind == "dir":
            os.makedirs(w)
        else:
            os.mkfifo(w)
        cases.append(Case("%s_as_external_data" % kind,
                          ["inspect", external_model(ext_dir, [4])], ["w.bin", what[kind], "'w'"]))
    cases.append(Case("char_device_as_model", ["inspect", "/dev/zero"],
                      ["/dev/zero", "character device"]))
    cases.append(Case("char_device_as_input",
                      ["run", "--reference", good, "--input", "x=/dev/zero", "--output-dir",
                       os.path.join(out, "dev_in")], ["/dev/zero", "character device"]))
    # a conformance case whose input tensor is a FIFO: a FAIL line naming it, no hang
    case_dir = os.path.join(fx, "conformance", "test_fifo_input")
    os.makedirs(os.path.join(case_dir, "test_data_set_0"))
    shutil.copy(good, os.path.join(case_dir, "model.onnx"))
    os.mkfifo(os.path.join(case_dir, "test_data_set_0", "input_0.pb"))
    cases.append(Case("fifo_in_conformance_case", ["conformance", case_dir],
                      ["FAIL test_fifo_input", "input_0.pb", "FIFO"], one_line=False))

    # --- sizes a file controls
    huge_init = os.path.join(fx, "huge_initializer.onnx")
    w = declared_tensor("w", [1 << 36])
    save_model(huge_init, [helper.make_node("Add", ["x", "w"], ["y"], name="add")],
               [vi("x", shape=[1])], [vi("y")], [w])
    cases.append(Case("initializer_2^36_elements", ["inspect", huge_init],
                      [huge_init, "'w'", "256.0 GB", "memory limit"]))
    # the same size declared in external data that holds 16 bytes: refused by the file's size
    short_dir = os.path.join(fx, "external_short")
    os.makedirs(short_dir)
    with open(os.path.join(short_dir, "w.bin"), "wb") as f:
        f.write(b"\0" * 16)
    cases.append(Case("external_data_2^36_elements",
                      ["inspect", external_model(short_dir, [1 << 36])], ["'w'", "shorter"]))

    def size_case(name, nodes, inputs, inits, needles, run=False):
        path = save_model(os.path.join(fx, name + ".onnx"), nodes, inputs, [vi("y")], inits)
        cases.append(Case(name + "/inspect", ["inspect", path],
                          [path] + needles + ["memory limit"]))
        # compile reports pass errors by tenant (the file's stem), not by path
        cases.append(Case(name + "/compile", ["compile", path],
                          ["tenant '%s'" % name.replace("^", "_")] + needles + ["memory limit"]))

    size_case("range_1e12",
              [helper.make_node("Range", ["s", "l", "d"], ["y"], name="r")], [],
              [i64("s", 0), i64("l", 10**12), i64("d", 1)], ["node 'r' (Range)", "'y'", "TB"])
    size_case("resize_1e6x1e6",
              [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], name="rs", mode="nearest")],
              [vi("x", shape=[1, 1, 2, 2])], [i64("sizes", [1, 1, 10**6, 10**6])],
              ["node 'rs' (Resize)", "'y'", "TB"])
    size_case("convtranspose_2^20x2^20",
              [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="ct",
                                output_shape=[1 << 20, 1 << 20],
                                strides=[(1 << 20) - 1, (1 << 20) - 1])],
              [vi("x", shape=[1, 1, 2, 2])],
              [numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")],
              ["node 'ct' (ConvTranspose)", "'y'", "TB"])
    size_case("constantofshape_huge",
              [helper.make_node("ConstantOfShape", ["shape"], ["y"], name="cos")], [],
              [i64("shape", [10**6, 10**6])], ["node 'cos' (ConstantOfShape)", "'y'", "TB"])
    size_case("expand_huge",
              [helper.make_node("Expand", ["x", "shape"], ["y"], name="ex")],
              [vi("x", shape=[1])], [i64("shape", [10**6, 10**6])],
              ["node 'ex' (Expand)", "'y'", "TB"])
    size_case("tile_huge",
              [helper.make_node("Tile", ["x", "reps"], ["y"], name="ti")],
              [vi("x", shape=[2, 2])], [i64("reps", [10**6, 10**6])],
              ["node 'ti' (Tile)", "'y'", "TB"])
    size_case("pad_huge",
              [helper.make_node("Pad", ["x", "pads"], ["y"], name="pd")],
              [vi("x", shape=[2, 2])], [i64("pads", [10**6, 10**6, 10**6, 10**6])],
              ["node 'pd' (Pad)", "'y'", "TB"])

    # --- --memory-limit: fits the default, not 1M
    medium = save_model(os.path.join(fx, "medium_initializer.onnx"),
                        [helper.make_node("Add", ["x", "w_med"], ["y"], name="add")],
                        [vi("x", shape=[1])], [vi("y")],
                        [numpy_helper.from_array(np.ones(1 << 19, np.float32), "w_med")])
    cases.append(Case("memory_limit_default/inspect", ["inspect", medium], [], expect_exit=0,
                      one_line=False))
    # the 2 MB model file itself is over 1M: refused before it is read
    cases.append(Case("memory_limit_1M_model_file", ["inspect", "--memory-limit", "1M", medium],
                      [medium, "2.0 MB", "memory limit of 1.0 MB"]))
    # a tiny file whose ConstantOfShape makes 2 MB: named by node and value
    small = save_model(os.path.join(fx, "cos_2M.onnx"),
                       [helper.make_node("ConstantOfShape", ["shape"], ["c"], name="cos2m"),
                        helper.make_node("Add", ["c", "x"], ["y"], name="add")],
                       [vi("x", shape=[1])], [vi("y")], [i64("shape", [1 << 19])])
    cases.append(Case("memory_limit_default/compile", ["compile", small], [], expect_exit=0,
                      one_line=False))
    for cmd in ("inspect", "compile"):
        cases.append(Case("memory_limit_1M/" + cmd, [cmd, small, "--memory-limit=1M"],
                          ["node 'cos2m' (ConstantOfShape)", "'c'", "2.0 MB",
                           "memory limit of 1.0 MB"]))
    ranged = save_model(os.path.join(fx, "range_2M.onnx"),
                        [helper.make_node("Range", ["s", "l", "d"], ["r"], name="rng"),
                         helper.make_node("ReduceSum", ["r"], ["y"], name="sum", keepdims=0)],
                        [], [vi("y", TensorProto.INT64)], [i64("s", 0), i64("l", 1 << 18), i64("d", 1)])
    cases.append(Case("memory_limit_default/run",
                      ["run", "--reference", ranged, "--output-dir", os.path.join(out, "r0")], [],
                      expect_exit=0, one_line=False))
    cases.append(Case("memory_limit_1M/run",
                      ["run", "--reference", "--memory-limit", "1M", ranged, "--output-dir",
                       os.path.join(out, "r1")], ["node 'rng' (Range)", "'r'", "2.0 MB",
                                                  "memory limit of 1.0 MB"]))
    for bad in ("12Q", "0", "-5", "1.5G", ""):
        cases.append(Case("memory_limit_bad_value/%r" % bad,
                          ["inspect", "--memory-limit", bad, good], ["--memory-limit"]))

    # --- constant folding bounded in total bytes: 100 ConstantOfShape of 16M floats (64 MiB
    # each, each under the per-node fold limit) feeding runtime Adds
    n = 100
    nodes, outs = [], []
    for i in range(n):
        nodes.append(helper.make_node("ConstantOfShape", ["shape"], ["c%d" % i], name="cos%d" % i,
                                      value=helper.make_tensor("v", TensorProto.FLOAT, [1],
                                                               [float(i)])))
        nodes.append(helper.make_node("Add", ["c%d" % i, "x"], ["y%d" % i], name="add%d" % i))
        outs.append(vi("y%d" % i, shape=[1 << 24]))
    fold = os.path.join(fx, "fold_100x64MiB.onnx")
    graph = helper.make_graph(nodes, "g", [vi("x", shape=[1])], outs, [i64("shape", [1 << 24])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    with open(fold, "wb") as f:
        f.write(model.SerializeToString())
    cases.append(Case("fold_budget_100x64MiB/compile", ["compile", fold], [], expect_exit=0,
                      one_line=False, rss_mb=FOLD_RSS_LIMIT_MB))
    return cases


def declared_tensor(name, dims):
    """A float32 TensorProto that declares dims and holds no data (helper.make_tensor refuses)."""
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    return t


def external_model(folder, dims):
    """A model in folder whose initializer 'w' (float32, dims) lives in folder/w.bin."""
    w = declared_tensor("w", dims)
    w.data_location = TensorProto.EXTERNAL
    e = w.external_data.add()
    e.key, e.value = "location", "w.bin"
    return save_model(os.path.join(folder, "model.onnx"),
                      [helper.make_node("Add", ["x", "w"], ["y"], name="add")],
                      [vi("x", shape=[1])], [vi("y")], [w])


RUNNER = ("import resource, subprocess, sys\n"
          "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
          "sys.stdout.buffer.write(p.stdout); sys.stderr.buffer.write(p.stderr)\n"
          "print('RSS_KB %d' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
          "sys.exit(p.returncode)\n")


def check(mtcc, case, verbose=False):
    cmd = [mtcc] + case.argv
    if case.rss_mb:  # a fresh runner, so RUSAGE_CHILDREN sees only this mtcc
        cmd = [sys.executable, "-c", RUNNER] + cmd
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TIMEOUT_S * (4 if case.rss_mb else 1))
    except subprocess.TimeoutExpired:
        return "timed out (a blocking open or read, or unbounded work)"
    err = proc.stderr.decode("utf-8", "replace")
    outp = proc.stdout.decode("utf-8", "replace")
    if verbose:
        print("  $ mtcc %s\n  -> exit %d: %s" % (" ".join(case.argv), proc.returncode, err.rstrip()))
    problems = []
    if proc.returncode != case.expect_exit:
        problems.append("exit code %d, expected %d" % (proc.returncode, case.expect_exit))
    if case.one_line:
        lines = err.splitlines()
        if len(lines) != 1 or not err.startswith("mtcc: error: "):
            problems.append("stderr is not one 'mtcc: error:' line: %r" % err[:600])
    elif case.expect_exit == 0 and "mtcc: error" in err:
        problems.append("unexpected error: %r" % err[:600])
    text = err + outp
    missing = [n for n in case.needles if n not in text]
    if missing:
        problems.append("output lacks %s: %r" % (", ".join(map(repr, missing)), text[:600]))
    if case.rss_mb:
        rss = [int(l.split()[1]) for l in outp.splitlines() if l.startswith("RSS_KB ")]
        if not rss:
            problems.append("no RSS reported")
        elif rss[0] > case.rss_mb * 1024:
            problems.append("peak RSS %d MiB, over %d MiB" % (rss[0] // 1024, case.rss_mb))
        elif verbose:
            print("  peak RSS %d MiB" % (rss[0] // 1024))
    return "; ".join(problems) if problems else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True, help="scratch folder (recreated)")
    ap.add_argument("--only", default="", help="comma-separated case-name prefixes to run")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    mtcc = os.path.abspath(args.mtcc)
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cases = build_cases(work)
    if args.only:
        cases = [c for c in cases if any(c.name.startswith(p) for p in args.only.split(","))]
    passed = failed = 0
    for case in cases:
        why = check(mtcc, case, args.verbose)
        print(("FAIL %s: %s" % (case.name, why)) if why else ("PASS %s" % case.name))
        sys.stdout.flush()
        failed += bool(why)
        passed += not why
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
