#!/usr/bin/env python3
"""Writes ONNX test cases (CASE/model.onnx, CASE/test_data_set_0/{input,output}_K.pb) for the
detection and vision ops and TopK's wider dtypes, in forms the backend cases miss: RoiAlign at
opset 16 in 'output_half_pixel' and 'max' mode with a fixed sampling ratio, MaxUnpool fed by a
MaxPool's own indices in 1-D and 3-D, GridSample over a 3-D volume with reflection, cubic with
border and nearest with zeros, float16 GridSample, RoiAlign and Det, and TopK over uint64 values
above 2^63 and over float64.
The cases run through `mtcc conformance` and its emulation (codegen_emulate_breadth, `gen` lines).
Expected outputs come from ONNX Runtime, never from mtcc, except where ONNX Runtime has no kernel
(TopK over uint64) or departs from the ONNX specification (GridSample's cubic 'border' mode clamps
differently): there they come from the onnx wheel's reference implementation (onnx.reference), the
code that generates the ONNX backend data.

usage: gen_vision_cases.py --out DIR"""
import argparse
import os
import sys

import numpy as np
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_breadth_cases import write_case  # noqa: E402  (one writer for both case sets)


def info(name, arr_or_dtype, shape=None):
    dt = arr_or_dtype.dtype if shape is None else np.dtype(arr_or_dtype)
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(dt),
                                         arr_or_dtype.shape if shape is None else shape)


def roi_align(root, name, rng, dtype=np.float32, **attrs):
    """RoiAlign at opset 16 with rois reaching past the image (samples outside contribute 0)."""
    x = rng.standard_normal((2, 3, 6, 7)).astype(dtype)
    rois = np.array([[0.5, 0.5, 4.5, 3.0], [-2.0, 1.0, 8.5, 7.5], [1.0, 2.0, 1.2, 2.1]],
                    dtype=dtype)
    bi = np.array([1, 0, 1], dtype=np.int64)
    node = helper.make_node("RoiAlign", ["x", "rois", "bi"], ["y"], output_height=3,
                            output_width=2, **attrs)
    graph = helper.make_graph([node], name, [info("x", x), info("rois", rois), info("bi", bi)],
                              [info("y", dtype, [3, 3, 3, 2])])
    write_case(root, name, graph, [x, rois, bi], 16)


def pool_unpool(root, name, rng, shape, kernel, strides, out_shape):
    """MaxPool's values and indices straight into MaxUnpool (indices inside their planes)."""
    x = rng.standard_normal(shape).astype(np.float32)
    unpooled = list(shape[:2]) + [((d - k) // s) * s + k for d, k, s in zip(shape[2:], kernel,
                                                                              strides)]
    nodes = [helper.make_node("MaxPool", ["x"], ["v", "i"], kernel_shape=kernel, strides=strides),
             helper.make_node("MaxUnpool", ["v", "i"] + (["os"] if out_shape else []), ["y"],
                              kernel_shape=kernel, strides=strides)]
    inits = [numpy_helper.from_array(np.array(out_shape, dtype=np.int64), "os")] if out_shape else []
    graph = helper.make_graph(nodes, name, [info("x", x)],
                              [info("y", np.float32, out_shape or unpooled)],
                              initializer=inits)
    write_case(root, name, graph, [x], 11)


def grid_sample(root, name, rng, x_shape, grid_shape, oracle="ort", dtype=np.float32, **attrs):
    """GridSample (opset 20) with grid points beyond [-1, 1] so every padding mode matters."""
    x = rng.standard_normal(x_shape).astype(dtype)
    grid = rng.uniform(-1.4, 1.4, size=grid_shape).astype(dtype)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], **attrs)
    out = list(x_shape[:2]) + list(grid_shape[1:-1])
    graph = helper.make_graph([node], name, [info("x", x), info("grid", grid)],
                              [info("y", dtype, out)])
    write_case(root, name, graph, [x, grid], 20, oracle)


def top_k(root, name, x, k, largest, oracle="ort"):
    """TopK with K an initializer, both outputs."""
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=1, largest=largest)
    out = [x.shape[0], k] + list(x.shape[2:])
    graph = helper.make_graph([node], name, [info("x", x)],
                              [info("v", x.dtype, out), info("i", np.int64, out)],
                              initializer=[numpy_helper.from_array(np.array([k], np.int64), "k")])
    write_case(root, name, graph, [x], 11, oracle)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(17)
    roi_align(args.out, "test_roialign_opset16_output_half_pixel_max", rng, mode="max",
              coordinate_transformation_mode="output_half_pixel", sampling_ratio=2,
              spatial_scale=0.5)
    roi_align(args.out, "test_roialign_opset16_half_pixel_avg", rng, sampling_ratio=0)
    pool_unpool(args.out, "test_maxunpool_1d_from_maxpool", rng, (2, 3, 9), [3], [2], None)
    # (an output_shape larger than the unpooled one is left to the backend case: ONNX Runtime reads
    # the indices against output_shape, the specification against the unpooled shape)
    pool_unpool(args.out, "test_maxunpool_3d_from_maxpool", rng, (1, 2, 4, 6, 4), [2, 2, 2],
                [2, 2, 2], None)
    grid_sample(args.out, "test_gridsample_3d_linear_reflection", rng, (1, 2, 3, 4, 5),
                (1, 2, 3, 2, 3), mode="linear", padding_mode="reflection", align_corners=0)
    grid_sample(args.out, "test_gridsample_2d_cubic_border", rng, (2, 2, 5, 4), (2, 3, 6, 2), "onnx",
                mode="cubic", padding_mode="border", align_corners=1)
    grid_sample(args.out, "test_gridsample_2d_nearest_zeros", rng, (1, 3, 4, 6), (1, 5, 5, 2),
                mode="nearest", padding_mode="zeros", align_corners=0)
    grid_sample(args.out, "test_gridsample_2d_linear_float16", rng, (1, 2, 4, 5), (1, 3, 4, 2),
                dtype=np.float16, mode="linear", padding_mode="zeros", align_corners=0)
    roi_align(args.out, "test_roialign_float16", rng, dtype=np.float16, sampling_ratio=2)
    det = helper.make_graph([helper.make_node("Det", ["x"], ["y"])], "det",
                            [info("x", np.float16, [2, 3, 3])], [info("y", np.float16, [2])])
    write_case(args.out, "test_det_float16", det,
               [(rng.standard_normal((2, 3, 3)) * 2).astype(np.float16)], 22)
    big = np.array([[[3, 2**63 + 5], [2**64 - 1, 7], [2**63, 2**63 + 5], [0, 1]]], dtype=np.uint64)
    top_k(args.out, "test_top_k_uint64_above_2_63", big.reshape(1, 4, 2), 3, 1, "onnx")
    top_k(args.out, "test_top_k_float64_smallest", rng.standard_normal((2, 6, 3)), 4, 0)
    print(f"gen_vision_cases: 12 cases written to {args.out}")


if __name__ == "__main__":
    main()
