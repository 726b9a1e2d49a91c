#!/usr/bin/env python3
"""Writes ONNX test cases (CASE/model.onnx, CASE/test_data_set_0/{input,output}_K.pb) for the
recurrent layers' forms the backend cases leave out: clip, activations with alpha/beta, per
direction activation lists, sequence_lens with reverse and bidirectional runs, GRU's
linear_before_reset, LSTM's input_forget, layout 1. Weights are initializers (as in a real model);
X, sequence_lens and the initial states are inputs. Expected outputs come from ONNX Runtime,
never from mtcc. Run by codegen_rnn_cases (the breadth_cases fixture); the reference executor and
the generated CUDA under the emulation both check them (codegen_emulate_breadth).

usage: gen_rnn_cases.py --out DIR"""
import argparse
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from gen_breadth_cases import write_case

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def recurrent(root, name, op, rng, seq, batch, inp, hid, direction="forward", layout=0,
              lens=None, initial=False, peephole=False, opset=14, **attrs):
    nd = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    f32 = np.float32
    inits = [numpy_helper.from_array((rng.standard_normal((nd, g * hid, inp)) * 0.4).astype(f32), "W"),
             numpy_helper.from_array((rng.standard_normal((nd, g * hid, hid)) * 0.4).astype(f32), "R"),
             numpy_helper.from_array((rng.standard_normal((nd, 2 * g * hid)) * 0.2).astype(f32), "B")]
    x_shape = (batch, seq, inp) if layout else (seq, batch, inp)
    s_shape = (batch, nd, hid) if layout else (nd, batch, hid)
    feeds = [("X", rng.standard_normal(x_shape).astype(f32))]
    names = ["X", "W", "R", "B", "", ""]
    if lens is not None:
        feeds.append(("sequence_lens", np.array(lens, dtype=np.int32)))
        names[4] = "sequence_lens"
    if initial:
        feeds.append(("initial_h", rng.standard_normal(s_shape).astype(f32)))
        names[5] = "initial_h"
        if op == "LSTM":
            feeds.append(("initial_c", rng.standard_normal(s_shape).astype(f32)))
            names.append("initial_c")
    if peephole:
        inits.append(numpy_helper.from_array((rng.standard_normal((nd, 3 * hid)) * 0.3).astype(f32), "P"))
        if len(names) == 6:
            names.append("")
        names.append("P")
    while names and names[-1] == "":
        names.pop()
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    if opset >= 14:
        attrs["layout"] = layout
    node = helper.make_node(op, names, outs, hidden_size=hid, direction=direction, **attrs)
    y_shape = [batch, seq, nd, hid] if layout else [seq, nd, batch, hid]
    vi = {n: helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
          for n, v in feeds}
    graph = helper.make_graph(
        [node], name, [vi[n] for n, _ in feeds],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, y_shape)] +
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, list(s_shape)) for o in outs[1:]],
        initializer=inits)
    write_case(root, name, graph, [v for _, v in feeds], opset)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(31)
    recurrent(args.out, "test_lstm_bidirectional_clip_activations_seq_lens", "LSTM", rng, 5, 3, 4, 6,
              direction="bidirectional", lens=[5, 2, 3], initial=True, peephole=True, clip=1.5,
              activations=["HardSigmoid", "LeakyRelu", "Softsign", "Sigmoid", "Tanh", "ScaledTanh"],
              activation_alpha=[0.3, 0.05, 0.9], activation_beta=[0.4, 1.1])
    recurrent(args.out, "test_lstm_reverse_input_forget", "LSTM", rng, 4, 2, 3, 5,
              direction="reverse", input_forget=1, initial=True)
    recurrent(args.out, "test_gru_reverse_linear_before_reset_seq_lens", "GRU", rng, 6, 3, 4, 5,
              direction="reverse", lens=[6, 1, 4], initial=True, linear_before_reset=1)
    recurrent(args.out, "test_gru_bidirectional_activations_clip", "GRU", rng, 4, 2, 3, 4,
              direction="bidirectional", clip=2.0,
              activations=["Sigmoid", "Elu", "HardSigmoid", "Softplus"],
              activation_alpha=[0.7, 0.25], activation_beta=[0.45])
    recurrent(args.out, "test_gru_opset7_lbr_seq_lens", "GRU", rng, 5, 2, 3, 4, opset=7,
              lens=[3, 5], linear_before_reset=1)
    recurrent(args.out, "test_rnn_bidirectional_relu_affine_seq_lens", "RNN", rng, 5, 3, 4, 6,
              direction="bidirectional", lens=[1, 5, 4], initial=True,
              activations=["Relu", "Affine"], activation_alpha=[0.8], activation_beta=[0.1])
    recurrent(args.out, "test_rnn_reverse_thresholdedrelu", "RNN", rng, 4, 2, 3, 4,
              direction="reverse", activations=["ThresholdedRelu"], activation_alpha=[0.2])
    print("gen_rnn_cases: 7 cases written to", args.out)


if __name__ == "__main__":
    main()
