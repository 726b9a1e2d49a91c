#!/usr/bin/env python3
"""Issue 8, classes 7 and 8: the conformance oracle and the `mtcc run` CLI on hostile input.

Each check builds its fixtures with onnx.helper/numpy, runs mtcc, and states what must hold:
  conformance: an expected +-inf matches only the same infinity (a finite result or the other
    infinity FAILs; NaN vs NaN and inf vs the same inf PASS); a folder, or a set of folders, holding
    no case is one error line "no test cases found under DIR" and exit 1; paths of PATH_MAX or more
    are refused, a long but valid case path runs.
  run: an error after the first tenant's outputs would be written leaves no output file and no
    stage folder; an --output-dir longer than 3,000 characters (but valid) is written exactly there,
    one of PATH_MAX or more is refused; the same --input twice is an error naming it; manifest
    "dims" naming a symbol the model lacks is an error naming tenant, symbol and the model's
    symbols; inputs contradicting "dims"/"shapes" are errors naming tenant, input and dims; tenants
    named "a:b" (next to a tenant "a") can be given inputs; an unsupported .npy dtype ('<c8', '|O',
    '<U4', a structured dtype, a descr holding a newline) is one clean line naming file and dtype.
  import: a tensor whose dims claim more data than the file holds is refused before allocating.
Every error: exit code 1, stderr exactly one line starting "mtcc: error: ".
Prints one line per check and "N passed, N failed"; exits non-zero on any failure.

usage: check_cli_hardening.py --mtcc PATH/TO/mtcc --work DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

PATH_MAX = os.pathconf("/", "PC_PATH_MAX")


def save_model(path, nodes, inputs, outputs, opset=13):
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def relu_model(path, shape=(1, 3), out="y"):
    return save_model(path, [helper.make_node("Relu", ["x"], [out], name="relu_0")],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                      [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


def files_under(folder):
    found = []
    for root, _dirs, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, f), folder) for f in files]
    return sorted(found)


class Checker:
    def __init__(self, mtcc, work):
        self.mtcc, self.work = mtcc, work
        self.passed = self.failed = 0

    def report(self, name, problems):
        if problems:
            self.failed += 1
            print("FAIL %s: %s" % (name, "; ".join(problems)))
        else:
            self.passed += 1
            print("PASS %s" % name)
        sys.stdout.flush()

    def run(self, argv):
        p = subprocess.run([self.mtcc] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def error(self, name, argv, needles, clean=()):
        """argv must fail with one error line holding every needle; folders in clean stay
        without files, and nothing named *.tmp.* appears next to them."""
        rc, _out, err = self.run(argv)
        problems = []
        if rc != 1:
            problems.append("exit code %d, expected 1" % rc)
        if len(err.splitlines()) != 1 or not err.startswith("mtcc: error: "):
            problems.append("stderr is not one 'mtcc: error:' line: %r" % err[:400])
        # a tuple needle: any one of its strings will do
        problems += ["error lacks %r: %r" % (n, err[:400]) for n in needles
                     if not any(a in err for a in (n if isinstance(n, tuple) else (n,)))]
        for folder in clean:
            if os.path.isdir(folder) and files_under(folder):
                problems.append("files left in %s: %s" % (folder, files_under(folder)[:6]))
            parent = os.path.dirname(folder.rstrip("/")) or "."
            if os.path.isdir(parent):
                stale = [e for e in os.listdir(parent) if ".tmp." in e]
                if stale:
                    problems.append("stage folders left next to it: %s" % stale)
        self.report(name, problems)

    def success(self, name, argv, expect_stdout=(), expect_files=()):
        rc, out, err = self.run(argv)
        problems = []
        if rc != 0:
            problems.append("exit code %d: %r" % (rc, err[:400]))
        problems += ["stdout lacks %r" % s for s in expect_stdout if s not in out]
        problems += ["file %s missing" % f for f in expect_files if not os.path.isfile(f)]
        self.report(name, problems)
        return out


def write_pb(path, array, name):
    t = numpy_helper.from_array(np.asarray(array), name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def conformance_case(folder, name, x, want):
    """A backend-test-style case: y = Identity(x), expected output want."""
    case = os.path.join(folder, name)
    os.makedirs(os.path.join(case, "test_data_set_0"))
    save_model(os.path.join(case, "model.onnx"), [helper.make_node("Identity", ["x"], ["y"])],
               [helper.make_tensor_value_info("x", TensorProto.FLOAT, [len(x)])],
               [helper.make_tensor_value_info("y", TensorProto.FLOAT, [len(x)])])
    write_pb(os.path.join(case, "test_data_set_0", "input_0.pb"), np.float32(x), "x")
    write_pb(os.path.join(case, "test_data_set_0", "output_0.pb"), np.float32(want), "y")
    return case


def check_conformance(c):
    fx = os.path.join(c.work, "conformance")
    inf, nan = np.inf, np.nan
    # (case, input, expected, verdict): the oracle must say verdict
    cases = [("inf_vs_finite", [1.0, 2.0], [1.0, inf], "FAIL"),
             ("neg_inf_vs_finite", [-5.0], [-inf], "FAIL"),
             ("neg_inf_vs_inf", [-inf], [inf], "FAIL"),
             ("inf_vs_neg_inf", [inf], [-inf], "FAIL"),
             ("nan_vs_inf", [nan], [inf], "FAIL"),
             ("finite_vs_inf_result", [inf], [3.0], "FAIL"),
             ("inf_vs_inf", [1.0, inf], [1.0, inf], "PASS"),
             ("neg_inf_vs_neg_inf", [-inf], [-inf], "PASS"),
             ("nan_vs_nan", [nan, 2.0], [nan, 2.0], "PASS")]
    for name, x, want, verdict in cases:
        case = conformance_case(fx, name, x, want)
        rc, out, err = c.run(["conformance", case])
        problems = []
        if not out.startswith(verdict + " " + name):
            problems.append("expected %s, got %r" % (verdict, out[:300]))
        if rc != (0 if verdict == "PASS" else 1):
            problems.append("exit code %d" % rc)
        c.report("conformance/%s" % name, problems)

    empty = os.path.join(c.work, "conf_empty")
    os.makedirs(os.path.join(empty, "not_a_case"))  # a sub-folder without model.onnx
    c.error("conformance/empty_folder", ["conformance", empty], ["no test cases found under", empty])
    empty2 = os.path.join(c.work, "conf_empty2")
    os.makedirs(empty2)
    c.error("conformance/empty_folders", ["conformance", empty2, empty],
            ["no test cases found under"])
    c.error("conformance/path_too_long", ["conformance", "/" + "d" * PATH_MAX],
            ["the limit is %d" % (PATH_MAX - 1)])
    # a case reached through a path of ~3,500 characters runs (the old code cut it at 2,000)
    deep = os.path.join(c.work, "conf_deep", *(["d" * 200] * 17))
    os.makedirs(deep)
    conformance_case(deep, "deep_case", [1.0], [1.0])
    c.success("conformance/long_path_runs", ["conformance", deep], ["PASS deep_case"])


def check_run(c):
    fx = os.path.join(c.work, "run")
    os.makedirs(fx)
    out = lambda name: os.path.join(c.work, "out", name)  # noqa: E731
    os.makedirs(os.path.join(c.work, "out"))
    x = os.path.join(fx, "x.npy")
    np.save(x, np.array([[1.0, -2.0, 3.0]], np.float32))
    good = relu_model(os.path.join(fx, "good.onnx"))

    # an error after the first tenant's outputs were written: tenant b's output file name is
    # longer than any file system allows, so writing it fails after tenant a's files exist
    long_out = relu_model(os.path.join(fx, "long_out.onnx"), out="y" * 300)
    two = write_json(os.path.join(fx, "two.json"), {"tenants": [
        {"name": "a", "model": "good.onnx"}, {"name": "b", "model": "long_out.onnx"}]})
    c.error("run/no_partial_outputs", ["run", "--reference", two, "--input", "a:x=" + x,
                                       "--input", "b:x=" + x, "--output-dir", out("partial")],
            ["y" * 40], clean=[out("partial")])
    # same, but the output folder already exists with a file where tenant b's folder goes
    os.makedirs(out("blocked"))
    two_ok = write_json(os.path.join(fx, "two_ok.json"), {"tenants": [
        {"name": "a", "model": "good.onnx"}, {"name": "b", "model": "good.onnx"}]})
    with open(os.path.join(out("blocked"), "b"), "w") as f:
        f.write("in the way\n")
    rc, _o, err = c.run(["run", "--reference", two_ok, "--input", "a:x=" + x, "--input",
                         "b:x=" + x, "--output-dir", out("blocked")])
    left = files_under(out("blocked"))
    c.report("run/blocked_tenant_folder", [] if rc == 1 and left == ["b"] and
             err.startswith("mtcc: error: ") and len(err.splitlines()) == 1
             else ["exit %d, files %s, stderr %r" % (rc, left, err[:300])])

    # --output-dir longer than 3,000 characters but valid: written exactly there
    long_dir = os.path.join(c.work, "out", *(["o" * 200] * 17))
    c.success("run/long_output_dir", ["run", "--reference", good, "--input", "x=" + x,
                                      "--output-dir", long_dir],
              expect_files=[os.path.join(long_dir, "good", "y.npy")])
    too_long = out("t" * PATH_MAX)
    c.error("run/output_dir_too_long", ["run", "--reference", good, "--input", "x=" + x,
                                        "--output-dir", too_long],
            ["--output-dir", "characters"])

    c.error("run/duplicate_input", ["run", "--reference", good, "--input", "x=" + x, "--input",
                                    "x=" + x, "--output-dir", out("dup")],
            ["'x'", "given twice"], clean=[out("dup")])
    c.error("run/duplicate_input_tenant_prefix",
            ["run", "--reference", two_ok, "--input", "a:x=" + x, "--input", "b:x=" + x,
             "--input", "b:x=" + x, "--output-dir", out("dup2")],
            ["'x'", "'b'", "given twice"], clean=[out("dup2")])

    # symbolic dims: x is [batch, 3]
    sym = save_model(os.path.join(fx, "sym.onnx"), [helper.make_node("Relu", ["x"], ["y"])],
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    typo = write_json(os.path.join(fx, "typo.json"), {"tenants": [
        {"name": "t1", "model": "sym.onnx", "dims": {"batch": 1, "btach": 4}}]})
    c.error("run/dims_unknown_symbol", ["run", "--reference", typo, "--input", "x=" + x,
                                        "--output-dir", out("typo")],
            ["tenant 't1'", "'btach'", "'batch'"], clean=[out("typo")])
    c.error("compile/dims_unknown_symbol", ["compile", typo], ["tenant 't1'", "'btach'"])
    nosym = write_json(os.path.join(fx, "nosym.json"), {"tenants": [
        {"name": "t2", "model": "good.onnx", "dims": {"batch": 1}}]})
    c.error("run/dims_symbol_model_has_none", ["run", "--reference", nosym, "--input", "x=" + x,
                                               "--output-dir", out("nosym")],
            ["tenant 't2'", "'batch'", "no symbolic dims"], clean=[out("nosym")])
    bound = write_json(os.path.join(fx, "bound.json"), {"tenants": [
        {"name": "t3", "model": "sym.onnx", "dims": {"batch": 4}}]})
    c.error("run/input_contradicts_dims", ["run", "--reference", bound, "--input", "x=" + x,
                                           "--output-dir", out("bound")],
            ["tenant 't3'", "input 'x'", "'batch'", "4", "[1, 3]"], clean=[out("bound")])
    c.success("run/input_matches_dims",
              ["run", "--reference", write_json(os.path.join(fx, "bound1.json"), {"tenants": [
                  {"name": "t3", "model": "sym.onnx", "dims": {"batch": 1}}]}),
               "--input", "x=" + x, "--output-dir", out("bound1")],
              expect_files=[os.path.join(out("bound1"), "t3", "y.npy")])
    shaped = write_json(os.path.join(fx, "shaped.json"), {"tenants": [
        {"name": "t4", "model": "sym.onnx", "shapes": {"x": [2, 3]}}]})
    c.error("run/input_contradicts_shapes", ["run", "--reference", shaped, "--input", "x=" + x,
                                             "--output-dir", out("shaped")],
            ["tenant 't4'", "input 'x'", "[2, 3]", "[1, 3]"], clean=[out("shaped")])

    # tenants "a:b" and "a": TENANT:NAME splits where a known tenant has that input
    colon = write_json(os.path.join(fx, "colon.json"), {"tenants": [
        {"name": "a:b", "model": "good.onnx"}, {"name": "a", "model": "good.onnx"}]})
    x2 = os.path.join(fx, "x2.npy")
    np.save(x2, np.array([[-1.0, 5.0, -3.0]], np.float32))
    c.success("run/tenant_name_with_colon",
              ["run", "--reference", colon, "--input", "a:b:x=" + x, "--input", "a:x=" + x2,
               "--output-dir", out("colon")],
              expect_files=[os.path.join(out("colon"), "a_b", "y.npy"),
                            os.path.join(out("colon"), "a", "y.npy")])
    problems = []
    for folder, src in (("a_b", x), ("a", x2)):
        path = os.path.join(out("colon"), folder, "y.npy")
        if os.path.isfile(path) and not np.array_equal(np.load(path), np.maximum(np.load(src), 0)):
            problems.append("%s got the other tenant's input" % folder)
    c.report("run/tenant_name_with_colon_values", problems)

    # unsupported .npy dtypes
    def npy_with_descr(path, descr):
        header = "{'descr': %s, 'fortran_order': False, 'shape': (3,), }" % descr
        header += " " * (63 - (len(header) + 10) % 64) + "\n"
        with open(path, "wb") as f:
            f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
                    + b"\0" * 24)
        return path
    for name, arr, needle in (("complex64", np.zeros((1, 3), np.complex64), "'<c8'"),
                              ("object", np.array([1, "a", None], dtype=object), "'|O'"),
                              ("unicode", np.array(["ab", "c", "d"], dtype="<U4"), "'<U4'")):
        path = os.path.join(fx, name + ".npy")
        np.save(path, arr, allow_pickle=True)
        c.error("run/npy_dtype_" + name, ["run", "--reference", good, "--input", "x=" + path,
                                          "--output-dir", out("npy_" + name)],
                [path, "dtype %s is not supported" % needle], clean=[out("npy_" + name)])
    rec = os.path.join(fx, "record.npy")
    np.save(rec, np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    c.error("run/npy_dtype_structured", ["run", "--reference", good, "--input", "x=" + rec,
                                         "--output-dir", out("npy_rec")],
            [rec, "structured"], clean=[out("npy_rec")])
    nl = npy_with_descr(os.path.join(fx, "newline.npy"), "'<f\nmtcc: error: forged'")
    c.error("run/npy_dtype_newline", ["run", "--reference", good, "--input", "x=" + nl,
                                      "--output-dir", out("npy_nl")],
            [nl, "\\x0a", "not supported"], clean=[out("npy_nl")])


def check_import_sizes(c):
    """Dims claiming more data than the file holds are refused before anything is allocated (the
    first libFuzzer run found 43 inputs making a malloc of up to 2^40 bytes here)."""
    fx = os.path.join(c.work, "sizes")
    os.makedirs(fx)
    for name, tensor, needle in (
            ("typed", TensorProto(name="big", data_type=TensorProto.FLOAT, dims=[1 << 18, 1 << 18]),
             "expected 68719476736 elements of float32, the file holds 0 values"),
            ("raw", TensorProto(name="big", data_type=TensorProto.FLOAT, dims=[1 << 18, 1 << 18],
                                raw_data=b"\0" * 8), "raw_data holds 8 bytes")):
        graph = helper.make_graph([helper.make_node("Relu", ["big"], ["y"], name="r")], "g", [],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                                  initializer=[tensor])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        path = os.path.join(fx, name + ".onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        # either this check or the memory budget (class 3), whichever runs first, refuses it
        c.error("import/claimed_size_" + name, ["inspect", path],
                [path, "'big'", (needle, "over the memory limit")])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True, help="scratch folder (recreated)")
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    c = Checker(os.path.abspath(args.mtcc), work)
    check_conformance(c)
    check_run(c)
    check_import_sizes(c)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
