#!/usr/bin/env python3
"""Writes ONNX test cases (CASE/model.onnx, CASE/test_data_set_0/{input,output}_K.pb) for the
forms of the sequence, optional, Loop and Scan ops that the ONNX backend cases leave out:
SplitToSequence's three split forms, ConcatFromSequence with new_axis, negative positions,
SequenceErase/At/Length, a Loop that stops on its condition or has no trip count, Scan with
reversed inputs/outputs on other axes, Scan-8's batch axis, Optional with and without a value.
`mtcc conformance` then runs them on the reference executor (the control_cases CTest). Expected
outputs come from ONNX Runtime, never from mtcc.

usage: gen_control_cases.py --out DIR"""
import argparse
import os
import sys

import numpy as np
from onnx import TensorProto as T, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "codegen"))
import gen_breadth_cases  # noqa: E402  (the case writer is shared)

F = T.FLOAT
I64 = T.INT64


def write_case(root, name, nodes, inputs, outputs, feeds, opset, initializer=()):
    """A case of one graph of nodes, its outputs from ONNX Runtime."""
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializer))
    gen_breadth_cases.write_case(root, name, graph, feeds, opset)


def seq_info(name, elem=F):
    return helper.make_tensor_sequence_value_info(name, elem, None)


def tensor(name, dtype=F, shape=None):
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, arr):
    return numpy_helper.from_array(np.array(arr), name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    root = ap.parse_args().out
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)

    write_case(root, "test_ctl_split_to_sequence_ones_squeezed",
               [helper.make_node("SplitToSequence", ["x"], ["s"], axis=1, keepdims=0)],
               [tensor("x", F, [2, 5, 3])], [seq_info("s")], [x], 13)
    write_case(root, "test_ctl_split_to_sequence_scalar_chunks",
               [helper.make_node("SplitToSequence", ["x", "k"], ["s"], axis=-2)],
               [tensor("x", F, [2, 5, 3])], [seq_info("s")], [x], 13,
               [const("k", np.int64(2))])
    write_case(root, "test_ctl_split_to_sequence_lengths",
               [helper.make_node("SplitToSequence", ["x", "k"], ["s"], axis=1)],
               [tensor("x", F, [2, 5, 3])], [seq_info("s")], [x], 13,
               [const("k", np.array([1, 0, 4], np.int64))])
    write_case(root, "test_ctl_concat_from_sequence_new_axis",
               [helper.make_node("SplitToSequence", ["x"], ["s"], axis=0, keepdims=0),
                helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=-1, new_axis=1)],
               [tensor("x", F, [2, 5, 3])], [tensor("y", F, [5, 3, 2])], [x], 13)
    write_case(root, "test_ctl_concat_from_sequence_axis",
               [helper.make_node("SplitToSequence", ["x", "k"], ["s"], axis=2),
                helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=-1)],
               [tensor("x", F, [2, 5, 3])], [tensor("y", F, [2, 5, 3])], [x], 13,
               [const("k", np.array([1, 2], np.int64))])
    a, b, c = (rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3))
    write_case(root, "test_ctl_sequence_erase_at_length",
               [helper.make_node("SequenceConstruct", ["a", "b", "c"], ["s"]),
                helper.make_node("SequenceErase", ["s", "m1"], ["s2"]),
                helper.make_node("SequenceErase", ["s2"], ["s3"]),
                helper.make_node("SequenceLength", ["s2"], ["n"]),
                helper.make_node("SequenceAt", ["s2", "m2"], ["y"]),
                helper.make_node("SequenceInsert", ["s3", "c", "zero"], ["s4"])],
               [tensor("a", F, [2, 3]), tensor("b", F, [2, 3]), tensor("c", F, [2, 3])],
               [tensor("n", I64, []), tensor("y", F, [2, 3]), seq_info("s4")], [a, b, c], 13,
               [const("m1", np.int64(-1)), const("m2", np.int64(-2)), const("zero", np.int64(0))])
    write_case(root, "test_ctl_sequence_empty_insert",
               [helper.make_node("SequenceEmpty", [], ["e"], dtype=I64),
                helper.make_node("SequenceInsert", ["e", "v"], ["s"]),
                helper.make_node("SequenceInsert", ["s", "v", "zero"], ["s2"]),
                helper.make_node("SequenceLength", ["e"], ["n"])],
               [tensor("v", I64, [4])], [seq_info("s2", I64), tensor("n", I64, [])],
               [np.array([3, 1, 4, 1], np.int64)], 13, [const("zero", np.int64(0))])

    # Loop stopping on its condition (cond_out = i < 2) well before M = 10, with a scan output
    body = helper.make_graph(
        [helper.make_node("Less", ["i", "two"], ["cond_out"]),
         helper.make_node("Cast", ["i"], ["fi"], to=F),
         helper.make_node("Add", ["acc_in", "fi"], ["acc_out"]),
         helper.make_node("Mul", ["acc_out", "acc_out"], ["sq"])],
        "body", [tensor("i", I64, []), tensor("cond_in", T.BOOL, []), tensor("acc_in", F, [3])],
        [tensor("cond_out", T.BOOL, []), tensor("acc_out", F, [3]), tensor("sq", F, [3])],
        [const("two", np.int64(2))])
    write_case(root, "test_ctl_loop_stops_on_cond",
               [helper.make_node("Loop", ["m", "c", "acc"], ["final", "sqs"], body=body)],
               [tensor("acc", F, [3])], [tensor("final", F, [3]), tensor("sqs", F, [3, 3])],
               [np.array([1, 2, 3], np.float32)], 13,
               [const("m", np.int64(10)), const("c", np.array(True))])
    write_case(root, "test_ctl_loop_cond_only",
               [helper.make_node("Loop", ["", "c", "acc"], ["final", "sqs"], body=body)],
               [tensor("acc", F, [3])], [tensor("final", F, [3]), tensor("sqs", F, [3, 3])],
               [np.array([1, 2, 3], np.float32)], 11, [const("c", np.array(True))])
    write_case(root, "test_ctl_loop_zero_trips",
               [helper.make_node("Loop", ["m", "", "acc"], ["final", "sqs"], body=body)],
               [tensor("acc", F, [3])], [tensor("final", F, [3]), tensor("sqs", F, [0, 3])],
               [np.array([1, 2, 3], np.float32)], 11, [const("m", np.int64(0))])
    # Loop carrying a sequence (opset 13): appends the iteration number each time
    sbody = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Unsqueeze", ["i", "ax"], ["iv"]),
         helper.make_node("SequenceInsert", ["s_in", "iv"], ["s_out"])],
        "sbody", [tensor("i", I64, []), tensor("cond_in", T.BOOL, []), seq_info("s_in", I64)],
        [tensor("cond_out", T.BOOL, []), seq_info("s_out", I64)],
        [const("ax", np.array([0], np.int64))])
    write_case(root, "test_ctl_loop_sequence_carried",
               [helper.make_node("SequenceEmpty", [], ["e"], dtype=I64),
                helper.make_node("Loop", ["m", "", "e"], ["s"], body=sbody),
                helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)],
               [tensor("m", I64, [])], [tensor("y", I64, [4])], [np.array(4, np.int64)], 13)

    # Scan (opset 11): two states, one input scanned backwards along axis 1, one output
    # written along axis 1 in reverse
    scan_body = helper.make_graph(
        [helper.make_node("Add", ["s0_in", "xi"], ["s0_out"]),
         helper.make_node("Mul", ["s1_in", "xi"], ["s1_out"]),
         helper.make_node("Sub", ["s0_out", "s1_out"], ["yi"])],
        "scan_body", [tensor("s0_in", F, [2]), tensor("s1_in", F, [2]), tensor("xi", F, [2])],
        [tensor("s0_out", F, [2]), tensor("s1_out", F, [2]), tensor("yi", F, [2])])
    xs = rng.standard_normal((2, 4)).astype(np.float32)
    write_case(root, "test_ctl_scan_axes_directions",
               [helper.make_node("Scan", ["s0", "s1", "xs"], ["f0", "f1", "ys"], body=scan_body,
                                 num_scan_inputs=1, scan_input_axes=[1], scan_input_directions=[1],
                                 scan_output_axes=[-1], scan_output_directions=[1])],
               [tensor("s0", F, [2]), tensor("s1", F, [2]), tensor("xs", F, [2, 4])],
               [tensor("f0", F, [2]), tensor("f1", F, [2]), tensor("ys", F, [2, 4])],
               [np.zeros(2, np.float32), np.ones(2, np.float32), xs], 11)
    # Scan-8: a batch of 3, sequence_lens omitted, the input reversed
    xb = rng.standard_normal((3, 4, 2)).astype(np.float32)
    write_case(root, "test_ctl_scan8_batch",
               [helper.make_node("Scan", ["", "s0", "s1", "xb"], ["f0", "f1", "ys"], body=scan_body,
                                 num_scan_inputs=1, directions=[1])],
               [tensor("s0", F, [3, 2]), tensor("s1", F, [3, 2]), tensor("xb", F, [3, 4, 2])],
               [tensor("f0", F, [3, 2]), tensor("f1", F, [3, 2]), tensor("ys", F, [3, 4, 2])],
               [np.zeros((3, 2), np.float32), np.ones((3, 2), np.float32), xb], 8)

    # Optional with a value and without one (the type attribute names the element type)
    write_case(root, "test_ctl_optional_roundtrip",
               [helper.make_node("Optional", ["a"], ["o"]),
                helper.make_node("OptionalHasElement", ["o"], ["has"]),
                helper.make_node("OptionalGetElement", ["o"], ["y"]),
                helper.make_node("Optional", [], ["none"],
                                 type=helper.make_tensor_type_proto(F, [2, 3])),
                helper.make_node("OptionalHasElement", ["none"], ["has_none"])],
               [tensor("a", F, [2, 3])],
               [tensor("has", T.BOOL, []), tensor("y", F, [2, 3]), tensor("has_none", T.BOOL, [])],
               [a], 15)


if __name__ == "__main__":
    main()
