#!/usr/bin/env python3
"""Bad input must give one clear error line, exit code 1, and no partial output.

Builds its own fixtures with onnx.helper (truncated and random model files, unsupported ops, dangling
references, shape mismatches, broken manifests, wrong input tensors) plus those of
tests/models/make_bad_inputs.py, runs `mtcc inspect`, `mtcc run --reference ... --output-dir DIR`
and/or `mtcc compile ... --report DIR/report.json` on each (compile also with budgets that do not
fit the target, an unknown --target, bad --arch-params files, unknown pass names and report paths
that cannot be written), and checks:
  - the exit code is exactly 1 (not 0, not a signal, not a usage error),
  - stderr is exactly one line, starting "mtcc: error: " and naming the file/tenant/node at fault,
  - the output folder holds no file afterwards (no outputs, no report, no temp files).
Prints one line per case and "N passed, N failed"; exits non-zero on any failure.

usage: check_bad_inputs.py --mtcc PATH/TO/mtcc --work DIR
"""
import argparse
import contextlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def save_model(path, nodes, inputs, outputs, initializers=(), opset=OPSET):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="check_bad_inputs")
    model.ir_version = 8
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def relu_model(path, name="x"):
    """x: float32[1, 3] -> Relu -> y: the known-good model the other fixtures start from."""
    return save_model(path, [helper.make_node("Relu", [name], ["y"], name="relu_0")],
                      [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 3])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])


def write_json(path, obj_or_text):
    with open(path, "w") as f:
        f.write(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text, indent=2))
    return path


class Case:
    def __init__(self, name, argv, needles, out_dir=None, make_out_dir=False):
        self.name = name
        self.argv = argv          # arguments after `mtcc`
        self.needles = needles    # substrings the error line must contain
        self.out_dir = out_dir    # folder that must hold no file afterwards (None: not a run)
        self.make_out_dir = make_out_dir  # create out_dir first (compile writes its report there)


def build_cases(work):
    fx = os.path.join(work, "fixtures")
    os.makedirs(fx)
    cases = []
    good_x = os.path.join(fx, "x.npy")
    np.save(good_x, np.array([[1.0, -2.0, 3.0]], dtype=np.float32))

    def out(name):
        return os.path.join(work, "out", name)

    def both(name, model, needles, inputs=("x=" + good_x,)):
        """The same broken model through inspect and through run --reference."""
        cases.append(Case(name + "/inspect", ["inspect", model], needles))
        argv = ["run", "--reference", model]
        for spec in inputs:
            argv += ["--input", spec]
        cases.append(Case(name + "/run", argv + ["--output-dir", out(name)], needles, out(name)))

    # --- model files that are not ONNX models
    good = relu_model(os.path.join(fx, "good.onnx"))
    data = open(good, "rb").read()
    truncated = os.path.join(fx, "truncated.onnx")
    with open(truncated, "wb") as f:
        f.write(data[: len(data) // 2])
    both("truncated_onnx", truncated, [truncated])

    rnd = os.path.join(fx, "random_bytes.onnx")
    with open(rnd, "wb") as f:
        f.write(random.Random(1234).randbytes(4096))
    both("random_bytes", rnd, [rnd])

    empty = os.path.join(fx, "empty.onnx")
    open(empty, "wb").close()
    both("empty_file", empty, [empty])

    missing = os.path.join(fx, "does_not_exist.onnx")
    both("missing_model_file", missing, [missing])

    # --- models mtcc cannot take
    unsup = save_model(
        os.path.join(fx, "unsupported_ops.onnx"),
        [helper.make_node("Bernoulli", ["x"], ["h"], name="bern_1"),
         helper.make_node("RandomUniformLike", ["scores"], ["sel"], name="rand_0"),
         helper.make_node("Relu", ["x"], ["y"], name="relu_ok")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3]),
         helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 2, 4]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, 2])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("sel", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [])
    cases.append(Case("unsupported_ops/inspect", ["inspect", unsup],
                      ["bern_1", "rand_0", "Bernoulli", "RandomUniformLike"]))
    cases.append(Case("unsupported_ops/run",
                      ["run", "--reference", unsup, "--output-dir", out("unsupported_ops")],
                      ["bern_1", "rand_0"], out("unsupported_ops")))

    dangling = save_model(
        os.path.join(fx, "missing_initializer.onnx"),
        [helper.make_node("Add", ["x", "W_missing"], ["y"], name="add_1")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    both("missing_initializer", dangling, [dangling, "add_1", "W_missing"])

    mismatch = save_model(
        os.path.join(fx, "shape_mismatch.onnx"),
        [helper.make_node("MatMul", ["a", "B"], ["y"], name="matmul_0")],
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.ones((4, 5), np.float32), "B")])
    a_npy = os.path.join(fx, "a.npy")
    np.save(a_npy, np.ones((2, 3), np.float32))
    cases.append(Case("static_shape_mismatch/inspect", ["inspect", mismatch],
                      ["shape_mismatch", "matmul_0"]))
    cases.append(Case("static_shape_mismatch/run",
                      ["run", "--reference", mismatch, "--input", "a=" + a_npy,
                       "--output-dir", out("static_shape_mismatch")],
                      ["shape_mismatch", "matmul_0"], out("static_shape_mismatch")))

    # --- manifests
    mdir = os.path.join(fx, "manifests")
    os.makedirs(mdir)
    relu_model(os.path.join(mdir, "ok.onnx"))
    m_missing = write_json(os.path.join(mdir, "missing_model.json"),
                           {"tenants": [{"name": "ghost", "model": "nowhere/ghost.onnx"}]})
    both("manifest_missing_model", m_missing, ["missing_model.json", "nowhere/ghost.onnx"],
         inputs=("ghost:x=" + good_x,))
    m_part = write_json(os.path.join(mdir, "unknown_partition.json"),
                        {"partitions": [{"name": "vision"}],
                         "tenants": [{"name": "bert", "model": "ok.onnx", "partition": "nlp"}]})
    both("manifest_unknown_partition", m_part, ["unknown_partition.json", "bert", "nlp"],
         inputs=("bert:x=" + good_x,))
    m_bad = write_json(os.path.join(mdir, "malformed.json"),
                       '{\n  "tenants": [\n    {"name": "t" "model": "ok.onnx"}\n  ]\n}\n')
    both("manifest_malformed_json", m_bad, ["malformed.json:3"], inputs=("t:x=" + good_x,))
    m_key = write_json(os.path.join(mdir, "unknown_key.json"),
                       {"tenants": [{"name": "t", "model": "ok.onnx", "prority": 1}]})
    both("manifest_unknown_key", m_key, ["unknown_key.json", "prority"], inputs=("t:x=" + good_x,))

    # --- input tensors that do not fit the model
    wrong_dtype = os.path.join(fx, "x_int64.npy")
    np.save(wrong_dtype, np.array([[1, 2, 3]], dtype=np.int64))
    cases.append(Case("input_wrong_dtype/run",
                      ["run", "--reference", good, "--input", "x=" + wrong_dtype,
                       "--output-dir", out("input_wrong_dtype")],
                      ["'good'", "'x'", "float32", "int64"], out("input_wrong_dtype")))
    wrong_shape = os.path.join(fx, "x_1x4.npy")
    np.save(wrong_shape, np.zeros((1, 4), np.float32))
    cases.append(Case("input_wrong_shape/run",
                      ["run", "--reference", good, "--input", "x=" + wrong_shape,
                       "--output-dir", out("input_wrong_shape")],
                      ["'good'", "'x'", "4"], out("input_wrong_shape")))
    wrong_rank = os.path.join(fx, "x_3.npy")
    np.save(wrong_rank, np.zeros((3,), np.float32))
    cases.append(Case("input_wrong_rank/run",
                      ["run", "--reference", good, "--input", "x=" + wrong_rank,
                       "--output-dir", out("input_wrong_rank")],
                      ["'good'", "'x'", "rank"], out("input_wrong_rank")))
    bad_npy = os.path.join(fx, "x_truncated.npy")
    with open(good_x, "rb") as f:
        blob = f.read()
    with open(bad_npy, "wb") as f:
        f.write(blob[:-3])
    cases.append(Case("input_truncated_npy/run",
                      ["run", "--reference", good, "--input", "x=" + bad_npy,
                       "--output-dir", out("input_truncated_npy")],
                      ["x_truncated.npy"], out("input_truncated_npy")))
    no_file = os.path.join(fx, "no_such_input.npy")
    cases.append(Case("input_file_missing/run",
                      ["run", "--reference", good, "--input", "x=" + no_file,
                       "--output-dir", out("input_file_missing")],
                      ["no_such_input.npy"], out("input_file_missing")))
    cases.append(Case("input_not_given/run",
                      ["run", "--reference", good, "--output-dir", out("input_not_given")],
                      ["'good'", "'x'"], out("input_not_given")))
    # an --input naming nothing in the model must fail before anything is written
    cases.append(Case("input_unknown_name/run",
                      ["run", "--reference", good, "--input", "x=" + good_x,
                       "--input", "nosuch=" + good_x, "--output-dir", out("input_unknown_name")],
                      ["nosuch"], out("input_unknown_name")))
    # two tenants, the second one's input is wrong: the first one's outputs must not be left behind
    relu_model(os.path.join(mdir, "second.onnx"))
    m_two = write_json(os.path.join(mdir, "two_tenants.json"),
                       {"tenants": [{"name": "first", "model": "ok.onnx"},
                                    {"name": "second", "model": "second.onnx"}]})
    cases.append(Case("multi_tenant_partial_output/run",
                      ["run", "--reference", m_two, "--input", "first:x=" + good_x,
                       "--input", "second:x=" + wrong_dtype, "--output-dir", out("multi_tenant")],
                      ["'second'", "'x'", "int64"], out("multi_tenant")))
    add_compile_cases(cases, work, fx, out, {
        "truncated_onnx": (truncated, [truncated]), "random_bytes": (rnd, [rnd]), "empty_file": (empty, [empty]),
        "missing_model_file": (missing, [missing]),
        "unsupported_ops": (unsup, ["bern_1", "rand_0", "Bernoulli", "RandomUniformLike"]),
        "missing_initializer": (dangling, [dangling, "add_1", "W_missing"]),
        "static_shape_mismatch": (mismatch, ["shape_mismatch", "matmul_0"]),
        "manifest_missing_model": (m_missing, ["missing_model.json", "nowhere/ghost.onnx"]),
        "manifest_unknown_partition": (m_part, ["unknown_partition.json", "bert", "nlp"]),
        "manifest_malformed_json": (m_bad, ["malformed.json:3"]),
        "manifest_unknown_key": (m_key, ["unknown_key.json", "prority"]),
    }, good)
    return cases


def add_compile_cases(cases, work, fx, out, broken, good):
    """`mtcc compile` on the broken inputs above, on make_bad_inputs.py's fixtures, and on options and
    budgets that cannot work. Each compile asks for a report in its own (existing) folder, which
    must stay empty."""
    def compile_case(name, argv, needles, report=True):
        argv = ["compile"] + argv + (["--report", os.path.join(out(name), "report.json")] if report else [])
        cases.append(Case(name, argv, needles, out(name), make_out_dir=True))

    for name, (path, needles) in broken.items():
        compile_case(name + "/compile", [path], needles)

    # the fixtures of tests/models/make_bad_inputs.py (their "expect" lists name what the error must)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
    import make_bad_inputs
    mbi = os.path.join(fx, "make_bad_inputs")
    with contextlib.redirect_stdout(io.StringIO()):
        make_bad_inputs.main(["--out", mbi])
    with open(os.path.join(mbi, "fixtures.json")) as f:
        for entry in json.load(f):
            if entry["expect"]:  # an empty list marks the valid model
                compile_case("fixture_%s/compile" % os.path.splitext(entry["file"])[0],
                             [os.path.join(mbi, entry["file"])], entry["expect"])

    # budgets that do not fit the target
    bdir = os.path.join(fx, "budgets")
    os.makedirs(bdir)
    relu_model(os.path.join(bdir, "ok.onnx"))

    def budget_manifest(name, partitions, assign, targets=("sm_90",)):
        return write_json(os.path.join(bdir, name + ".json"), {
            "targets": list(targets), "partitions": partitions,
            "tenants": [{"name": "t%d" % i, "model": "ok.onnx", "partition": p} for i, p in enumerate(assign)]})

    # sm_90 has 132 SMs, sm_80 108 (the public specifications of H100 SXM and A100)
    compile_case("budget_sum_over_gpu/compile",
                 [budget_manifest("sum_over", [{"name": "left", "sm_budget": 100}, {"name": "right", "sm_budget": 100}],
                                  ["left", "right"])], ["'right'", "'left'", "100"])
    compile_case("budget_above_gpu/compile",
                 [budget_manifest("above", [{"name": "huge", "sm_budget": 200}], ["huge"])], ["'huge'", "200"])
    compile_case("budget_above_one_target/compile",
                 [budget_manifest("one_target", [{"name": "mid", "sm_budget": 120}], ["mid"], ("sm_80", "sm_90"))],
                 ["'mid'", "120", "sm_80"])
    compile_case("manifest_unknown_target/compile",
                 [budget_manifest("bad_target", [{"name": "p", "sm_budget": 8}], ["p"], ("sm_999",))], ["sm_999"])

    # options
    compile_case("unknown_target_option/compile", [good, "--target", "sm_999"], ["sm_999"])
    arch_bad_json = write_json(os.path.join(fx, "arch_malformed.json"), '{"sm_90": {"sm_count": 10,\n')
    compile_case("arch_params_malformed_json/compile", [good, "--arch-params", arch_bad_json], [arch_bad_json])
    arch_missing = os.path.join(fx, "arch_does_not_exist.json")
    compile_case("arch_params_missing_file/compile", [good, "--arch-params", arch_missing], [arch_missing + ": "])
    arch_range = write_json(os.path.join(fx, "arch_out_of_range.json"), {"sm_90": {"sm_count": -4}})
    compile_case("arch_params_out_of_range/compile", [good, "--arch-params", arch_range], [arch_range, "sm_count"])
    arch_key = write_json(os.path.join(fx, "arch_unknown_key.json"), {"sm_90": {"warp_size_typo": 32}})
    compile_case("arch_params_unknown_key/compile", [good, "--arch-params", arch_key], [arch_key, "warp_size_typo"])
    arch_arch = write_json(os.path.join(fx, "arch_unknown_arch.json"), {"sm_999": {}})
    compile_case("arch_params_unknown_arch/compile", [good, "--arch-params", arch_arch], [arch_arch, "sm_999"])
    compile_case("disable_unknown_pass/compile", [good, "--disable-pass=no-such-pass"], ["no-such-pass"])
    compile_case("dump_after_unknown_pass/compile", [good, "--dump-ir-after", "no-such-pass"], ["no-such-pass"])

    # report paths that cannot be written (the compile itself succeeds first)
    name = "report_missing_folder/compile"
    rep = os.path.join(out(name), "no_such_folder", "report.json")
    compile_case(name, [good, "--report", rep], [rep], report=False)
    name = "report_under_a_file/compile"
    rep = os.path.join(good, "report.json")
    compile_case(name, [good, "--report", rep], [rep], report=False)
    if os.geteuid() != 0:  # root writes anywhere
        name = "report_read_only_folder/compile"
        ro = os.path.join(work, "read_only")
        os.makedirs(ro)
        os.chmod(ro, 0o555)
        rep = os.path.join(ro, "report.json")
        compile_case(name, [good, "--report", rep], [rep], report=False)
        cases[-1].out_dir = ro


def files_under(folder):
    found = []
    if not os.path.isdir(folder):
        return found
    for root, _dirs, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, f), folder) for f in files]
    return sorted(found)


def check(mtcc, case, verbose=False):
    """Runs one case; returns None when it behaved, else the reason."""
    if case.out_dir:
        os.makedirs(case.out_dir if case.make_out_dir else os.path.dirname(case.out_dir), exist_ok=True)
    try:
        proc = subprocess.run([mtcc] + case.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=120)
    except subprocess.TimeoutExpired:
        return "timed out after 120 s"
    err = proc.stderr.decode("utf-8", "replace")
    if verbose:
        print("  $ mtcc %s\n  -> exit %d: %s" % (" ".join(case.argv), proc.returncode, err.rstrip()))
    problems = []
    if proc.returncode < 0:
        problems.append("killed by signal %d" % -proc.returncode)
    elif proc.returncode != 1:
        problems.append("exit code %d, expected 1" % proc.returncode)
    lines = err.splitlines()
    if len(lines) != 1 or not err.endswith("\n"):
        problems.append("stderr is %d lines, expected one: %r" % (len(lines), err[:600]))
    if not err.startswith("mtcc: error: "):
        problems.append("stderr does not start with 'mtcc: error: ': %r" % err[:300])
    if re.search(r":-\d+:", err):
        problems.append("error line gives a negative line number: %r" % err[:300])
    missing = [n for n in case.needles if n not in err]
    if missing:
        problems.append("error line lacks %s: %r" % (", ".join(repr(n) for n in missing), err[:600]))
    if case.out_dir:
        left = files_under(case.out_dir)
        if left:
            problems.append("files left in the output folder: %s" % ", ".join(left[:8]))
    return "; ".join(problems) if problems else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtcc", required=True, help="the mtcc executable")
    ap.add_argument("--work", required=True, help="scratch folder (recreated)")
    ap.add_argument("--only", default="", help="comma-separated case-name prefixes to run")
    ap.add_argument("--verbose", action="store_true", help="also print each case's error line")
    args = ap.parse_args()
    mtcc = os.path.abspath(args.mtcc)
    if not os.access(mtcc, os.X_OK):
        print("check_bad_inputs: %s is not executable" % mtcc)
        return 2
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cases = build_cases(work)
    if args.only:
        prefixes = args.only.split(",")
        cases = [c for c in cases if any(c.name.startswith(p) for p in prefixes)]
    passed = failed = 0
    for case in cases:
        why = check(mtcc, case, args.verbose)
        if why:
            failed += 1
            print("FAIL %s: %s" % (case.name, why))
        else:
            passed += 1
            print("PASS %s" % case.name)
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
