#!/usr/bin/env python3
"""Writes the model seeds of the ONNX-import and compile fuzz targets (checked in; rerun only to
change them): small well-formed models that reach every pass (one node, a chain, a diamond that
fuses, a nested If, constants that fold, Conv/Gemm/Reshape/Slice, Loop, Scan and sequences
through a SequenceMap), and one model per hostile class
of issue 8 (wrong attribute types, opsets 1 and 99, duplicate graph inputs, a Constant with two
values, declared outputs contradicting inference, If branches of different dtypes, a newline and
a NUL in names, MaxPool pads >= kernel, huge Range/Resize/ConvTranspose/initializer sizes, deep
If nesting, a fold that multiplies constants). Byte-identical from run to run.

seeds/onnx/NAME.onnx      the model as is (fuzz_onnx_import)
seeds/compile/NAME.bin    one selector byte, then the model (fuzz_compile: bit 0 set = the model
                          is imported twice, as two tenants); every model once with each selector

usage: make_model_seeds.py [--out DIR]   (DIR defaults to the seeds folder next to this script)
"""
import argparse
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="seeds")
    m.ir_version = 8
    return m


def relu(opset=13):
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x", [1, 3])],
                 [vi("y", [1, 3])], opset=opset)


def chain(n):
    nodes, prev = [], "x"
    for i in range(n):
        op = ["Relu", "Neg", "Abs", "Sigmoid"][i % 4]
        nodes.append(helper.make_node(op, [prev], ["v%d" % i], name="n%d" % i))
        prev = "v%d" % i
    nodes.append(helper.make_node("Identity", [prev], ["y"], name="out"))
    return model(nodes, [vi("x", [2, 4])], [vi("y", [2, 4])])


def diamond():
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["a"], name="mm"),
             helper.make_node("Relu", ["a"], ["b"], name="r"),
             helper.make_node("Sigmoid", ["a"], ["c"], name="s"),
             helper.make_node("Add", ["b", "c"], ["y"], name="add")]
    return model(nodes, [vi("x", [2, 4])], [vi("y", [2, 4])], [w])


def nested_if(depth, else_dtype=F):
    def branch(d, tag):
        if d == 0:
            return helper.make_graph(
                [helper.make_node("Identity", ["x"], ["o_%s" % tag], name="id_%s" % tag)],
                "b_%s" % tag, [], [vi("o_%s" % tag, [2])])
        # the If sits in the then-branch only: size stays linear in the depth
        then_g, else_g = branch(d - 1, tag + "t"), branch(0, tag + "e")
        node = helper.make_node("If", ["c"], ["o_%s" % tag], name="if_%s" % tag,
                                then_branch=then_g, else_branch=else_g)
        return helper.make_graph([node], "b_%s" % tag, [], [vi("o_%s" % tag, [2])])
    top = branch(depth, "r")
    return model(list(top.node), [vi("c", [], TensorProto.BOOL), vi("x", [2])],
                 [vi("o_r", [2])])


def if_mixed_dtypes():
    then_g = helper.make_graph([helper.make_node("Identity", ["x"], ["a"])], "t", [], [vi("a", [2])])
    else_g = helper.make_graph([helper.make_node("Cast", ["x"], ["b"], to=TensorProto.INT64)],
                               "e", [], [vi("b", [2], TensorProto.INT64)])
    node = helper.make_node("If", ["c"], ["y"], name="if", then_branch=then_g, else_branch=else_g)
    return model([node], [vi("c", [], TensorProto.BOOL), vi("x", [2])], [vi("y", [2])])


def folding():
    """Constants that fold: a Shape->Gather->Reshape path and Add of two initializers."""
    a = numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(2, 4), "a")
    b = numpy_helper.from_array(np.ones((2, 4), np.float32), "b")
    idx = numpy_helper.from_array(np.array([1, 0], np.int64), "idx")
    nodes = [helper.make_node("Add", ["a", "b"], ["ab"], name="fold_add"),
             helper.make_node("Shape", ["ab"], ["s"], name="shape"),
             helper.make_node("Gather", ["s", "idx"], ["s2"], name="gather"),
             helper.make_node("Reshape", ["x", "s2"], ["xr"], name="reshape"),
             helper.make_node("Transpose", ["xr"], ["y"], name="t", perm=[1, 0])]
    return model(nodes, [vi("x", [2, 4])], [vi("y", [2, 4])], [a, b, idx])


def conv(strides_attr=None):
    w = numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w")
    attrs = {"kernel_shape": [3, 3]}
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attrs)
    if strides_attr is not None:
        node.attribute.append(strides_attr)
    return model([node], [vi("x", [1, 1, 5, 5])], [vi("y", None)], [w])


def gemm_slice():
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    st = numpy_helper.from_array(np.array([0], np.int64), "st")
    en = numpy_helper.from_array(np.array([2], np.int64), "en")
    ax = numpy_helper.from_array(np.array([1], np.int64), "ax")
    nodes = [helper.make_node("Gemm", ["x", "w"], ["g"], name="gemm"),
             helper.make_node("Slice", ["g", "st", "en", "ax"], ["y"], name="slice")]
    return model(nodes, [vi("x", [2, 4])], [vi("y", [2, 2])], [w, st, en, ax])


def single(op, ins, inits, out_shape=None, **attrs):
    node = helper.make_node(op, [n for n, _ in ins] + [i.name for i in inits], ["y"], name="n",
                            **attrs)
    return model([node], [vi(n, s) for n, s in ins], [vi("y", out_shape)], inits)


def i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def hostile():
    # class 6: attributes of the wrong type, neighbours of the examples
    yield "attr_conv_strides_floats", conv(helper.make_attribute("strides", [2.0, 2.0]))
    yield "attr_conv_strides_string", conv(helper.make_attribute("strides", "2"))
    node = helper.make_node("Transpose", ["x"], ["y"], name="t")
    node.attribute.append(helper.make_attribute("perm", "10"))
    yield "attr_transpose_perm_string", model([node], [vi("x", [2, 3])], [vi("y", None)])
    node = helper.make_node("Softmax", ["x"], ["y"], name="sm")
    node.attribute.append(helper.make_attribute("axis", 1.0))
    yield "attr_softmax_axis_float", model([node], [vi("x", [2, 3])], [vi("y", [2, 3])])
    yield "opset_1", relu(opset=1)
    yield "opset_99", relu(opset=99)
    yield "dup_graph_inputs", model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                                    [vi("x", [1, 3]), vi("x", [1, 3])], [vi("y", [1, 3])])
    c = helper.make_node("Constant", [], ["y"], name="c",
                         value=numpy_helper.from_array(np.ones(2, np.float32)), value_float=1.0)
    yield "constant_two_values", model([c], [], [vi("y", [2])])
    yield "declared_output_mismatch", model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                                            [vi("x", [1, 3])], [vi("y", [5, 7], TensorProto.INT64)])
    yield "if_mixed_dtypes", if_mixed_dtypes()
    yield "name_newline", model(
        [helper.make_node("Relu", ["x"], ["y\nmtcc: error: forged"], name="r\nPASS forged")],
        [vi("x", [1, 3])], [vi("y\nmtcc: error: forged", [1, 3])])
    yield "name_nul", model([helper.make_node("Relu", ["x"], ["y\x00z"], name="r")],
                            [vi("x", [1, 3])], [vi("y\x00z", [1, 3])])
    yield "maxpool_pads_ge_kernel", single("MaxPool", [("x", [1, 1, 4, 4])], [],
                                           kernel_shape=[2, 2], pads=[2, 2, 2, 2])
    yield "einsum_bad", single("Einsum", [("x", [2, 3])], [], equation="ij,jk->ik")
    # class 3: sizes a file controls
    yield "range_1e12", single("Range", [], [numpy_helper.from_array(np.array(0, np.int64), "s"),
                                             numpy_helper.from_array(np.array(10**12, np.int64), "l"),
                                             numpy_helper.from_array(np.array(1, np.int64), "d")])
    yield "resize_1e6", single("Resize", [("x", [1, 1, 2, 2])],
                               [numpy_helper.from_array(np.zeros(0, np.float32), "roi"),
                                numpy_helper.from_array(np.array([1, 1, 5e5, 5e5], np.float32),
                                                        "scales")])
    w = numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w")
    yield "convtranspose_huge", single("ConvTranspose", [("x", [1, 1, 3, 3])], [w],
                                       output_shape=[1 << 20, 1 << 20])
    yield "expand_huge", single("Expand", [("x", [1, 1])], [i64("shape", [1 << 20, 1 << 20])])
    yield "constantofshape_huge", single("ConstantOfShape", [], [i64("shape", [1 << 18, 1 << 18])])
    yield "tile_huge", single("Tile", [("x", [2, 2])], [i64("reps", [1 << 20, 1 << 20])])
    big = TensorProto(name="big", data_type=F, dims=[1 << 18, 1 << 18])  # 2^36 elements, no data
    yield "initializer_2e36", model([helper.make_node("Relu", ["big"], ["y"], name="r")], [],
                                    [vi("y", None)], [big])
    k = numpy_helper.from_array(np.ones((64, 64), np.float32), "k")
    nodes, prev = [], "k"
    for i in range(8):  # each MatMul of constants folds into a new constant
        nodes.append(helper.make_node("MatMul", [prev, "k"], ["f%d" % i], name="fold%d" % i))
        prev = "f%d" % i
    nodes.append(helper.make_node("Add", ["x", prev], ["y"], name="use"))
    yield "fold_many_constants", model(nodes, [vi("x", [64, 64])], [vi("y", [64, 64])], [k])
    # found by libFuzzer: a node whose only output is omitted ("") wrote through NULL
    c = helper.make_node("Constant", [], [""], name="c",
                         value=numpy_helper.from_array(np.ones((5, 5), np.float32)))
    yield "constant_output_omitted", model([c], [], [])
    # class 4: nesting (deep enough to exercise the depth checks, small enough to stay fast)
    yield "if_nested_12", nested_if(12)


def control_flow():
    """A Loop with a scan output, a Scan, and sequences through a SequenceMap (issue 13)."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Add", ["x_in", "x_in"], ["x_out"]),
         helper.make_node("Relu", ["x_in"], ["y"])],
        "body", [vi("i", [], TensorProto.INT64), vi("c_in", [], TensorProto.BOOL), vi("x_in", [2])],
        [vi("c_out", [], TensorProto.BOOL), vi("x_out", [2]), vi("y", [2])])
    yield "loop_scan_out", model(
        [helper.make_node("Loop", ["m", "", "x"], ["xf", "ys"], name="loop", body=body)],
        [vi("x", [2])], [vi("xf", [2]), vi("ys", [3, 2])],
        [numpy_helper.from_array(np.array(3, np.int64), "m")])
    sbody = helper.make_graph(
        [helper.make_node("Add", ["s_in", "xi"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["yi"])],
        "sbody", [vi("s_in", [2]), vi("xi", [2])], [vi("s_out", [2]), vi("yi", [2])])
    yield "scan", model(
        [helper.make_node("Scan", ["s0", "xs"], ["sf", "ys"], name="scan", body=sbody,
                          num_scan_inputs=1, scan_input_directions=[1])],
        [vi("s0", [2]), vi("xs", [4, 2])], [vi("sf", [2]), vi("ys", [4, 2])], opset=11)
    mbody = helper.make_graph([helper.make_node("Shape", ["e"], ["shape"])], "mbody",
                              [vi("e", None)], [vi("shape", None, TensorProto.INT64)])
    yield "sequence_map", model(
        [helper.make_node("SplitToSequence", ["x"], ["s"], axis=0),
         helper.make_node("SequenceMap", ["s"], ["shapes"], body=mbody),
         helper.make_node("ConcatFromSequence", ["shapes"], ["y"], axis=0)],
        [vi("x", [3, 2])], [vi("y", [6], TensorProto.INT64)], opset=17)


def good():
    yield from control_flow()
    yield "one_node", relu()
    yield "chain_64", chain(64)
    yield "diamond", diamond()
    yield "if_nested_3", nested_if(3)
    yield "folding", folding()
    yield "conv", conv()
    yield "gemm_slice", gemm_slice()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "seeds"))
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "compile"), exist_ok=True)
    for name, m in list(good()) + list(hostile()):
        data = m.SerializeToString()
        with open(os.path.join(args.out, "onnx", name + ".onnx"), "wb") as f:
            f.write(data)
        for sel, suffix in ((0, "1t"), (1, "2t")):
            with open(os.path.join(args.out, "compile", "%s_%s.bin" % (name, suffix)), "wb") as f:
                f.write(bytes([sel]) + data)


if __name__ == "__main__":
    main()
