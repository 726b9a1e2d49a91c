#!/usr/bin/env python3
"""Models that are wrong but used to run (issue 8, class 6) and names that forged output (class 5).

Class 6 -- each model below is refused by `mtcc inspect`, `mtcc run --reference` and `mtcc compile`
with exit 1 and exactly one "mtcc: error:" line naming the file, the node (or output) and the fault:
  - an attribute of the wrong type, one case per attribute kind (INT, INTS, FLOAT, FLOATS, STRING,
    TENSOR, GRAPH) -- ONNX declares the type; mtcc used to read the op's default instead;
  - the default domain imported at opset 0, 29 or 99, or imported twice;
  - the same graph input listed twice; a Constant with two value attributes;
  - graph outputs whose declared dtype, rank or fixed dim contradicts what the graph computes;
  - If branches declaring different dtypes (cond known and unknown while inferring);
  - MaxPool / AveragePool pads >= kernel (ONNX Runtime refuses them);
  - a NUL byte inside a node name, a value name or an op's domain;
  - Einsum equations: numpy.einsum is the oracle -- every equation it refuses must be refused,
    every one it accepts must run (exit 0), on the same operand shapes.
Class 5 -- names holding a newline, CR or ESC (node, value, tenant/file, partition, case folder):
  - failing commands still print exactly one error line, with the bytes escaped;
  - succeeding commands (inspect --dump-ir, run, compile) print no raw CR/ESC and no line that
    starts like a forged "mtcc: error:" or "PASS";
  - `mtcc conformance` on a case folder named "x\\nPASS y" prints no "PASS y" line.
A model that should be accepted (a declared symbolic dim, a valid opset-7 model...) is checked to
run, so that the refusals are not just "everything fails".

usage: check_rejected_models.py --mtcc PATH/TO/mtcc --work DIR
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import AttributeProto, TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_bad_inputs import Case, check  # noqa: E402  (one definition of "behaved")


def save(path, nodes, inputs, outputs, inits=(), opset=13, opsets=None):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=opsets or [helper.make_opsetid("", opset)],
                              producer_name="check_rejected_models")
    model.ir_version = 8
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def vi(name, dtype=TensorProto.FLOAT, shape=(1, 3)):
    return helper.make_tensor_value_info(name, dtype, None if shape is None else list(shape))


def attr(name, kind, value):
    """An AttributeProto of exactly the given kind, whatever the op declares."""
    a = AttributeProto(name=name, type=kind)
    if kind == AttributeProto.INT:
        a.i = value
    elif kind == AttributeProto.FLOAT:
        a.f = value
    elif kind == AttributeProto.STRING:
        a.s = value
    elif kind == AttributeProto.INTS:
        a.ints.extend(value)
    elif kind == AttributeProto.FLOATS:
        a.floats.extend(value)
    elif kind == AttributeProto.TENSOR:
        a.t.CopyFrom(value)
    elif kind == AttributeProto.GRAPH:
        a.g.CopyFrom(value)
    return a


def node_with(op, inputs, outputs, name, attrs, **kw):
    n = helper.make_node(op, inputs, outputs, name=name, **kw)
    n.attribute.extend(attrs)
    return n


def branch(name, dtype):
    """A subgraph returning a constant of the given dtype (declared as such)."""
    value = numpy_helper.from_array(np.array([1], dtype=helper.tensor_dtype_to_np_dtype(dtype)))
    return helper.make_graph([helper.make_node("Constant", [], [name + "_out"], value=value)],
                             name, [], [vi(name + "_out", dtype, (1,))])


class Suite:
    def __init__(self, work):
        self.work = work
        self.fx = os.path.join(work, "fixtures")
        os.makedirs(self.fx)
        self.cases = []
        self.accepted = []  # (name, argv): must exit 0
        self.x = os.path.join(self.fx, "x.npy")
        np.save(self.x, np.array([[1.0, -2.0, 3.0]], dtype=np.float32))

    def out(self, name):
        return os.path.join(self.work, "out", name.replace("/", "_"))

    def path(self, file):
        return os.path.join(self.fx, file)

    def refused(self, name, model, needles, inputs=("x",)):
        """The model through inspect, run --reference and compile: one error line each."""
        self.cases.append(Case(name + "/inspect", ["inspect", model], needles))
        argv = ["run", "--reference", model]
        for i in inputs:
            argv += ["--input", "%s=%s" % (i, self.x)]
        self.cases.append(Case(name + "/run", argv + ["--output-dir", self.out(name + "/run")],
                               needles, self.out(name + "/run")))
        self.cases.append(Case(name + "/compile",
                               ["compile", model, "--report",
                                os.path.join(self.out(name + "/compile"), "report.json")],
                               needles, self.out(name + "/compile"), make_out_dir=True))

    def accept(self, name, model, inputs=("x",)):
        argv = ["run", "--reference", model]
        for i in inputs:
            argv += ["--input", "%s=%s" % (i, self.x)]
        self.accepted.append((name + "/run", argv + ["--output-dir", self.out(name + "/ok")]))
        self.accepted.append((name + "/compile", ["compile", model]))


def attribute_cases(s):
    x, y = vi("x"), vi("y", shape=None)
    x4 = vi("x", shape=(1, 1, 4, 4))
    w = numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "W")
    # INTS given as FLOATS: Conv strides
    m = save(s.path("conv_strides_floats.onnx"),
             [node_with("Conv", ["x", "W"], ["y"], "conv_0",
                        [attr("strides", AttributeProto.FLOATS, [2.0, 2.0])])], [x4], [y], [w])
    s.refused("attr_ints_as_floats", m, [m, "conv_0", "strides", "INTS", "FLOATS"])
    # INTS given as STRING: Transpose perm
    m = save(s.path("transpose_perm_string.onnx"),
             [node_with("Transpose", ["x"], ["y"], "tr_0", [attr("perm", AttributeProto.STRING, b"1,0")])],
             [x], [y])
    s.refused("attr_ints_as_string", m, [m, "tr_0", "perm", "INTS", "STRING"])
    # INT given as FLOAT: Softmax axis
    m = save(s.path("softmax_axis_float.onnx"),
             [node_with("Softmax", ["x"], ["y"], "sm_0", [attr("axis", AttributeProto.FLOAT, 0.0)])],
             [x], [y])
    s.refused("attr_int_as_float", m, [m, "sm_0", "axis", "INT", "FLOAT"])
    # FLOAT given as STRING: LeakyRelu alpha
    m = save(s.path("leakyrelu_alpha_string.onnx"),
             [node_with("LeakyRelu", ["x"], ["y"], "lr_0", [attr("alpha", AttributeProto.STRING, b"0.5")])],
             [x], [y])
    s.refused("attr_float_as_string", m, [m, "lr_0", "alpha", "FLOAT", "STRING"])
    # FLOAT given as INT: Elu alpha (ONNX declares FLOAT; an INT is not silently converted)
    m = save(s.path("elu_alpha_int.onnx"),
             [node_with("Elu", ["x"], ["y"], "elu_0", [attr("alpha", AttributeProto.INT, 2)])], [x], [y])
    s.refused("attr_float_as_int", m, [m, "elu_0", "alpha", "FLOAT", "INT"])
    # STRING given as INT: Conv auto_pad
    m = save(s.path("conv_autopad_int.onnx"),
             [node_with("Conv", ["x", "W"], ["y"], "conv_ap",
                        [attr("auto_pad", AttributeProto.INT, 1)])], [x4], [y], [w])
    s.refused("attr_string_as_int", m, [m, "conv_ap", "auto_pad", "STRING", "INT"])
    # FLOATS given as INTS: Constant value_floats
    m = save(s.path("constant_floats_as_ints.onnx"),
             [node_with("Constant", [], ["c"], "const_0", [attr("value_floats", AttributeProto.INTS, [1, 2, 3])]),
              helper.make_node("Add", ["x", "c"], ["y"], name="add_0")], [x], [y])
    s.refused("attr_floats_as_ints", m, [m, "const_0", "value_floats", "FLOATS", "INTS"])
    # TENSOR given as FLOATS: ConstantOfShape value
    shape = numpy_helper.from_array(np.array([1, 3], np.int64), "shape")
    m = save(s.path("cos_value_floats.onnx"),
             [node_with("ConstantOfShape", ["shape"], ["c"], "cos_0", [attr("value", AttributeProto.FLOATS, [1.0])]),
              helper.make_node("Add", ["x", "c"], ["y"], name="add_0")], [x], [y], [shape])
    s.refused("attr_tensor_as_floats", m, [m, "cos_0", "value", "TENSOR", "FLOATS"])
    # GRAPH given as INT: If then_branch
    cond = numpy_helper.from_array(np.array(True), "cond")
    m = save(s.path("if_branch_int.onnx"),
             [node_with("If", ["cond"], ["b"], "if_0", [attr("then_branch", AttributeProto.INT, 1),
                                                       attr("else_branch", AttributeProto.GRAPH,
                                                            branch("else", TensorProto.FLOAT))]),
              helper.make_node("Add", ["x", "b"], ["y"], name="add_0")], [x], [y], [cond])
    s.refused("attr_graph_as_int", m, [m, "if_0", "then_branch", "GRAPH", "INT"])
    # and the same ops with correctly typed attributes run
    m = save(s.path("softmax_axis_ok.onnx"), [helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=0)],
             [x], [y])
    s.accept("attr_int_ok", m)


def structure_cases(s):
    x, y = vi("x"), vi("y", shape=None)
    relu = [helper.make_node("Relu", ["x"], ["y"], name="relu_0")]
    for v in (0, 29, 99):
        m = save(s.path("opset_%d.onnx" % v), relu, [x], [y], opset=v)
        s.refused("opset_%d" % v, m, [m, "opset", str(v)])
    m = save(s.path("opset_twice.onnx"), relu, [x], [y],
             opsets=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx", 17)])
    s.refused("opset_twice", m, [m, "opset", "twice"])
    for v in (7, 13, 21):
        s.accept("opset_%d_ok" % v, save(s.path("opset_ok_%d.onnx" % v), relu, [x], [y], opset=v))

    m = save(s.path("duplicate_input.onnx"), [helper.make_node("Add", ["x", "x"], ["y"], name="add_0")],
             [x, vi("x")], [y])
    s.refused("duplicate_graph_input", m, [m, "'x'", "twice"])

    m = save(s.path("constant_two_values.onnx"),
             [helper.make_node("Constant", [], ["c"], name="const_2", value_float=1.0, value_int=3),
              helper.make_node("Add", ["x", "c"], ["y"], name="add_0")], [x], [y])
    s.refused("constant_two_values", m, [m, "const_2", "value"])

    # declared outputs that contradict what the graph computes
    m = save(s.path("output_dtype.onnx"), relu, [x], [vi("y", TensorProto.INT64, None)])
    s.refused("declared_output_dtype", m, [m, "'y'", "int64", "float32"])
    m = save(s.path("output_rank.onnx"), relu, [x], [vi("y", shape=(1, 3, 1))])
    s.refused("declared_output_rank", m, [m, "'y'", "rank"])
    m = save(s.path("output_dim.onnx"), relu, [x], [vi("y", shape=(1, 4))])
    s.refused("declared_output_dim", m, [m, "'y'", "dim 1", "4", "3"])
    # a symbolic declared dim is not a contradiction
    s.accept("declared_output_symbolic", save(s.path("output_symbolic.onnx"), relu, [x],
                                              [vi("y", shape=("batch", 3))]))

    # If branches declaring different dtypes: with the cond a constant (one branch evaluated while
    # inferring) and with the cond an input (both evaluated)
    for name, cond_is_input in (("if_dtypes_const_cond", False), ("if_dtypes_input_cond", True)):
        nodes = [helper.make_node("If", ["cond"], ["b"], name="if_mixed",
                                  then_branch=branch("then", TensorProto.FLOAT),
                                  else_branch=branch("else", TensorProto.INT64)),
                 helper.make_node("Add", ["x", "b"], ["y"], name="add_0")]
        if cond_is_input:
            m = save(s.path(name + ".onnx"), nodes, [x, vi("cond", TensorProto.BOOL, ())], [y])
            s.cond = os.path.join(s.fx, "cond.npy")
            np.save(s.cond, np.array(True))
            s.refused(name, m, [m, "if_mixed", "float32", "int64"], inputs=())
            # run needs the cond too: replace the run case's inputs
            run = s.cases[-2]
            run.argv[3:3] = ["--input", "x=" + s.x, "--input", "cond=" + s.cond]
        else:
            cond = numpy_helper.from_array(np.array(True), "cond")
            m = save(s.path(name + ".onnx"), nodes, [x], [y], [cond])
            s.refused(name, m, [m, "if_mixed", "float32", "int64"])
    # a branch whose computed output contradicts its own declaration
    bad_branch = helper.make_graph(
        [helper.make_node("Constant", [], ["t_out"], value=numpy_helper.from_array(np.array([1], np.int64)))],
        "then", [], [vi("t_out", TensorProto.FLOAT, (1,))])
    cond = numpy_helper.from_array(np.array(True), "cond")
    m = save(s.path("if_branch_declared.onnx"),
             [helper.make_node("If", ["cond"], ["b"], name="if_decl", then_branch=bad_branch,
                               else_branch=branch("else", TensorProto.FLOAT)),
              helper.make_node("Add", ["x", "b"], ["y"], name="add_0")], [x], [y], [cond])
    s.refused("if_branch_contradicts_declaration", m, [m, "if_decl", "then_branch", "int64"])

    # pools: pads must be smaller than the kernel
    x4 = vi("x", shape=(1, 1, 4, 4))
    s.x4 = os.path.join(s.fx, "x4.npy")
    np.save(s.x4, np.ones((1, 1, 4, 4), np.float32))
    for op in ("MaxPool", "AveragePool"):
        for pads in ([2, 0, 0, 0], [0, 0, 0, 3]):
            name = "%s_pads_%s" % (op.lower(), "".join(map(str, pads)))
            m = save(s.path(name + ".onnx"),
                     [helper.make_node(op, ["x"], ["y"], name="pool_0", kernel_shape=[2, 2], pads=pads)],
                     [x4], [y])
            s.refused(name, m, [m, "pool_0", "pads"])
            for c in s.cases[-2:-1]:
                c.argv = [a.replace(s.x, s.x4) for a in c.argv]
        m = save(s.path(op + "_ok.onnx"),
                 [helper.make_node(op, ["x"], ["y"], name="pool_ok", kernel_shape=[2, 2], pads=[1, 1, 1, 1])],
                 [x4], [y])
        s.accepted.append((op + "_pads_ok/run", ["run", "--reference", m, "--input", "x=" + s.x4,
                                                 "--output-dir", s.out(op + "_ok")]))


def nul_cases(s):
    """NUL bytes inside strings: written by patching a serialized model (onnx refuses to)."""
    x, y = vi("x"), vi("y", shape=None)
    for what, node_name, value_name in (("node_name", "relu@0", "y"), ("value_name", "relu_0", "y@z")):
        path = s.path("nul_%s.onnx" % what)
        save(path, [helper.make_node("Relu", ["x"], [value_name], name=node_name)], [x],
             [vi(value_name, shape=None)])
        data = open(path, "rb").read().replace(b"@", b"\0")
        open(path, "wb").write(data)
        s.refused("nul_in_" + what, path, [path, "NUL"])


def einsum_cases(s):
    """numpy.einsum decides: each equation on these operands is refused iff numpy refuses it."""
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    c = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    equations = [("ij,jk->ik", (a, b)), ("ij,jk", (a, b)), ("ij->ji", (a,)), ("ij->", (a,)),
                 ("ijk->ij", (a,)), ("i->i", (a,)), ("ij,jk->iz", (a, b)), ("ij->ii", (a,)),
                 ("ij,jk->ik", (a, a)), ("...i->i", (a,)), ("i...->...", (a,)), ("ij->...ij", (a,)),
                 ("iij->j", (c,)), ("ij->j,", (a,)), ("ij->i.", (a,)), ("ij-->i", (a,)),
                 ("ij,jk,kl->il", (a, b)), ("ij,jk->ik", (a, b, b)), ("...ij,...jk->...ik", (c, c)),
                 ("ij->iJ", (a,)), ("Ij->jI", (a,))]
    for k, (eq, ops) in enumerate(equations):
        try:
            np.einsum(eq, *ops)
            numpy_ok = True
        except Exception:  # numpy's reasons vary: ValueError, TypeError
            numpy_ok = False
        names = ["in%d" % i for i in range(len(ops))]
        inits = [numpy_helper.from_array(o, n) for o, n in zip(ops, names)]
        m = save(s.path("einsum_%d.onnx" % k),
                 [helper.make_node("Einsum", names, ["e"], name="einsum_%d" % k, equation=eq),
                  helper.make_node("Identity", ["e"], ["y"], name="id")],
                 [], [vi("y", shape=None)], inits, opset=12)
        label = "einsum_%d_%s" % (k, "accepted" if numpy_ok else "refused")
        if numpy_ok:
            s.accepted.append((label + "/run", ["run", "--reference", m, "--output-dir", s.out(label)]))
        else:
            s.refused(label, m, [m, "einsum_%d" % k], inputs=())


def name_cases(s):
    """Names holding newline, CR and ESC: failing commands print one error line, succeeding ones
    print no raw control byte and no forged line."""
    x = vi("x")
    forged = "\nmtcc: error: forged\rPASS forged\x1b[2J"
    # failing: the node name is in the message (MatMul of [1,3] x [1,3] does not fit)
    m = save(s.path("nl_node.onnx"), [helper.make_node("MatMul", ["x", "x"], ["y"], name="mm" + forged)],
             [x], [vi("y", shape=None)])
    s.refused("newline_in_node_name", m, [m, "mm\\nmtcc: error: forged\\rPASS forged\\x1b[2J"])
    # failing: a value name (the input is not given)
    vname = "in" + forged
    m = save(s.path("nl_value.onnx"), [helper.make_node("Relu", [vname], ["y"], name="relu_0")],
             [vi(vname)], [vi("y", shape=None)])
    s.cases.append(Case("newline_in_value_name/run",
                        ["run", "--reference", m, "--output-dir", s.out("nl_value")],
                        ["in\\nmtcc: error: forged"], s.out("nl_value")))
    # failing: the file (and so the tenant) name
    d = os.path.join(s.fx, "dir" + forged)
    os.makedirs(d)
    m = save(os.path.join(d, "model\n.onnx"), [helper.make_node("Add", ["x", "W_missing"], ["y"], name="add_1")],
             [x], [vi("y", shape=None)])
    s.refused("newline_in_file_name", m, ["W_missing", "model\\n.onnx"])
    # failing: a partition name in a manifest
    mdir = os.path.join(s.fx, "manifest")
    os.makedirs(mdir)
    save(os.path.join(mdir, "ok.onnx"), [helper.make_node("Relu", ["x"], ["y"], name="relu_0")], [x],
         [vi("y", shape=None)])
    import json
    mf = os.path.join(mdir, "bad_partition.json")
    with open(mf, "w") as f:
        json.dump({"partitions": [{"name": "p"}],
                   "tenants": [{"name": "t", "model": "ok.onnx", "partition": "nlp" + forged}]}, f)
    s.cases.append(Case("newline_in_partition_name/inspect", ["inspect", mf], ["nlp\\nmtcc: error: forged"]))
    s.cases.append(Case("newline_in_partition_name/compile", ["compile", mf], ["nlp\\nmtcc: error: forged"]))
    # failing: an unknown command or option
    s.cases.append(Case("newline_in_option/inspect", ["inspect", "--x" + forged], ["--x\\nmtcc"]))

    # succeeding commands on a model whose every name is hostile
    good = save(s.path("hostile_names.onnx"),
                [helper.make_node("Relu", [vname], ["out" + forged], name="relu" + forged),
                 helper.make_node("Neg", ["out" + forged], ["y" + forged], name="neg" + forged)],
                [vi(vname)], [vi("y" + forged, shape=None)])
    hostile_dir = os.path.join(s.fx, "hostile_manifest")
    os.makedirs(hostile_dir)
    shutil.copy(good, os.path.join(hostile_dir, "m.onnx"))
    hmf = os.path.join(hostile_dir, "m.json")
    with open(hmf, "w") as f:
        json.dump({"partitions": [{"name": "part" + forged, "sm_budget": 8}],
                   "tenants": [{"name": "ten" + forged.replace("\x1b", ""), "model": "m.onnx",
                                "partition": "part" + forged}]}, f)
    s.clean_output = [
        ("hostile/inspect_dump", ["inspect", good, "--dump-ir"]),
        ("hostile/run", ["run", "--reference", good, "--input", vname + "=" + s.x,
                         "--output-dir", s.out("hostile_run")]),
        ("hostile/compile", ["compile", good]),
        ("hostile_manifest/inspect", ["inspect", hmf, "--dump-ir"]),
        ("hostile_manifest/compile", ["compile", hmf, "--dump-ir-after=infer-shapes"]),
    ]

    # conformance: a failing case in a folder whose name forges a PASS line, and a passing one
    # whose name forges a FAIL line
    conf = os.path.join(s.work, "conformance")
    for folder, expected in (("x\nPASS y", np.array([[9.0, 9.0, 9.0]], np.float32)),
                             ("ok\nFAIL z\x1b[2J", np.array([[1.0, 0.0, 3.0]], np.float32))):
        case = os.path.join(conf, folder)
        os.makedirs(os.path.join(case, "test_data_set_0"))
        save(os.path.join(case, "model.onnx"), [helper.make_node("Relu", ["x"], ["y"], name="relu_0")],
             [x], [vi("y", shape=(1, 3))])
        for stem, arr, n in (("input_0", np.array([[1.0, -2.0, 3.0]], np.float32), "x"), ("output_0", expected, "y")):
            with open(os.path.join(case, "test_data_set_0", stem + ".pb"), "wb") as f:
                f.write(numpy_helper.from_array(arr, n).SerializeToString())
    s.conformance_dir = conf


def check_clean(mtcc, name, argv, expect_exit=0):
    """A command that succeeds: exit 0, nothing on stdout/stderr a name could have forged."""
    proc = subprocess.run([mtcc] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    problems = []
    if proc.returncode != expect_exit:
        problems.append("exit %d, expected %d: %r" % (proc.returncode, expect_exit, proc.stderr[:400]))
    for stream, data in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        if b"\r" in data or b"\x1b" in data:
            problems.append("%s holds a raw CR or ESC" % stream)
        for line in data.split(b"\n"):
            if line.startswith(b"mtcc: error: forged") or line.startswith(b"PASS forged") or \
                    line.startswith(b"PASS y") or line.startswith(b"FAIL z"):
                problems.append("%s holds a forged line: %r" % (stream, line[:120]))
    return proc, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    mtcc = os.path.abspath(args.mtcc)
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    s = Suite(work)
    attribute_cases(s)
    structure_cases(s)
    nul_cases(s)
    einsum_cases(s)
    name_cases(s)
    passed = failed = 0

    def report(name, why):
        nonlocal passed, failed
        if why:
            failed += 1
            print("FAIL %s: %s" % (name, why))
        else:
            passed += 1
            print("PASS %s" % name)
        sys.stdout.flush()

    for case in s.cases:
        report(case.name, check(mtcc, case, args.verbose))
    for name, argv in s.accepted:
        proc = subprocess.run([mtcc] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        report("accepted_" + name, None if proc.returncode == 0 else
               "exit %d: %r" % (proc.returncode, proc.stderr[:400]))
    for name, argv in s.clean_output:
        _, problems = check_clean(mtcc, name, argv)
        report(name, "; ".join(problems))
    # an unknown command is a usage error (exit 2, usage follows), still without a forged line
    _, problems = check_clean(mtcc, "command", ["in\nmtcc: error: forged\x1b[2J"], expect_exit=2)
    report("newline_in_command", "; ".join(problems))
    # conformance: one line per case, the failing case is reported FAIL, nothing forged
    proc, problems = check_clean(mtcc, "conformance", ["conformance", s.conformance_dir], expect_exit=1)
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    case_lines = [l for l in lines if l.split(" ")[0] in ("PASS", "FAIL", "UNSUPPORTED")]
    if len(case_lines) != 2:
        problems.append("expected 2 case lines, got %r" % case_lines)
    if not any(l.startswith("FAIL x\\nPASS y") for l in case_lines):
        problems.append("the failing case is not reported as 'FAIL x\\nPASS y': %r" % case_lines)
    if not any(l.startswith("PASS ok\\nFAIL z\\x1b[2J") for l in case_lines):
        problems.append("the passing case is not reported escaped: %r" % case_lines)
    if "conformance: 1 passed, 1 failed, 0 unsupported" not in lines:
        problems.append("wrong totals: %r" % lines[-1:])
    report("conformance_forged_case_names", "; ".join(problems))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
