#!/usr/bin/env python3
"""Writes ONNX test cases (CASE/model.onnx, CASE/test_data_set_0/{input,output}_K.pb) for the
signal ops' forms the backend cases leave out: DFT with dft_length padding and truncation,
complex input, inverse, float64, opset 17's axis attribute and opset 20's axis input (negative);
STFT of a complex signal with a window and two-sided output; MelWeightMatrix into float64.
Lengths, steps and axes are initializers (constants, as an ahead-of-time compile needs); signals
are inputs. Expected outputs come from ONNX Runtime, never from mtcc. Run by codegen_signal_cases
(the breadth_cases fixture) for codegen_emulate_breadth.

usage: gen_signal_cases.py --out DIR"""
import argparse

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from gen_breadth_cases import write_case


def case(root, name, op, x, consts, opset, out_shape, **attrs):
    """op over input x and the named constants (None leaves an optional input out)."""
    inits, names = [], ["x"]
    for cname, value in consts:
        if value is None:
            names.append("")
        else:
            inits.append(numpy_helper.from_array(value, cname))
            names.append(cname)
    node = helper.make_node(op, names, ["y"], **attrs)
    dt = helper.np_dtype_to_tensor_dtype(x.dtype)
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", dt, x.shape)],
                              [helper.make_tensor_value_info("y", dt, out_shape)],
                              initializer=inits)
    write_case(root, name, graph, [x], opset)


def mel(root, name, bins, dft, rate, lo, hi, dtype):
    consts = [numpy_helper.from_array(np.array(v, dtype=t), n) for n, v, t in
              [("num_mel_bins", bins, np.int64), ("dft_length", dft, np.int64),
               ("sample_rate", rate, np.int64), ("lower_edge_hertz", lo, np.float32),
               ("upper_edge_hertz", hi, np.float32)]]
    node = helper.make_node("MelWeightMatrix", [c.name for c in consts], ["y"],
                            output_datatype=dtype)
    # one real input so the case has a graph input: y + 0 * x
    x = np.zeros((1,), dtype=helper.tensor_dtype_to_np_dtype(dtype))
    add = helper.make_node("Mul", ["y", "x"], ["z"])
    graph = helper.make_graph([node, add], name,
                              [helper.make_tensor_value_info("x", dtype, [1])],
                              [helper.make_tensor_value_info("z", dtype, [dft // 2 + 1, bins])],
                              initializer=consts)
    write_case(root, name, graph, [x], 17)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(17)
    i64 = lambda v: np.array(v, dtype=np.int64)
    real = rng.standard_normal((2, 12, 3, 1)).astype(np.float32)
    cplx = rng.standard_normal((2, 5, 7, 2)).astype(np.float32)
    # float32 real input: ONNX Runtime's DC imaginary parts are float32 noise (1.6e-6 for an
    # exact 0, past atol 1e-7), so the padded case is complex; real one-sided runs in float64
    case(args.out, "test_dft17_padded_complex", "DFT",
         np.concatenate([real, real[..., ::-1] * 0.5], axis=-1), [("dft_length", i64(16))], 17,
         [2, 16, 3, 2], axis=1)
    case(args.out, "test_dft17_truncated_complex_axis2", "DFT", cplx, [("dft_length", i64(5))], 17,
         [2, 5, 5, 2], axis=2)
    case(args.out, "test_dft20_inverse_complex_neg_axis", "DFT", cplx,
         [("dft_length", None), ("axis", i64(-3))], 20, [2, 5, 7, 2], inverse=1)
    case(args.out, "test_dft20_float64_rfft_padded", "DFT",
         rng.standard_normal((3, 9, 1)).astype(np.float64), [("dft_length", i64(10)), ("axis", i64(1))],
         20, [3, 6, 2], onesided=1)
    sig = rng.standard_normal((2, 40, 2)).astype(np.float32)
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(10) / 10)).astype(np.float32)
    case(args.out, "test_stft_complex_window_twosided", "STFT", sig,
         [("frame_step", i64(6)), ("window", win)], 17, [2, 6, 10, 2], onesided=0)
    case(args.out, "test_stft_complex_frame_length", "STFT",
         rng.standard_normal((1, 50, 2)).astype(np.float32),
         [("frame_step", i64(8)), ("window", None), ("frame_length", i64(12))], 17,
         [1, 5, 12, 2], onesided=0)
    mel(args.out, "test_melweightmatrix_float64_wide", 12, 64, 16000, 20.0, 7600.0,
        TensorProto.DOUBLE)
    print("gen_signal_cases: 7 cases written to", args.out)


if __name__ == "__main__":
    main()
