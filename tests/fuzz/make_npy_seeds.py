#!/usr/bin/env python3
"""Writes the .npy seeds of the tensor-file fuzz target into tests/fuzz/seeds/ (checked in; rerun
only to change them). Several dtypes, a scalar and an empty array, Fortran order (rejected by the
reader: a seed for that error path), big-endian data, and format versions 1.0, 2.0 and 3.0
(4-byte header length; UTF-8 header). Byte-identical from run to run.

usage: make_npy_seeds.py [--out DIR]
"""
import argparse
import os

import numpy as np
from numpy.lib import format as npy_format


def seeds():
    yield "f32_2x3_v1.npy", np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5, (1, 0)
    yield "f16_4_v1.npy", np.array([0.5, -1.0, 65504.0, np.inf], dtype=np.float16), (1, 0)
    yield "f64_0x3_v1.npy", np.zeros((0, 3), dtype=np.float64), (1, 0)
    yield "i64_scalar_v1.npy", np.array(-7, dtype=np.int64), (1, 0)
    yield "i32_2x3_fortran_v1.npy", np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)), (1, 0)
    yield "bool_5_v1.npy", np.array([True, False, True, True, False]), (1, 0)
    yield "f32_bigendian_3_v1.npy", np.array([1.0, 2.0, -3.0], dtype=">f4"), (1, 0)
    yield "u8_3x1x2_v2.npy", np.arange(6, dtype=np.uint8).reshape(3, 1, 2), (2, 0)
    yield "i8_4_v3.npy", np.array([-128, -1, 0, 127], dtype=np.int8), (3, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, array, version in seeds():
        with open(os.path.join(args.out, name), "wb") as f:
            npy_format.write_array(f, array, version=version, allow_pickle=False)
        print(name)


if __name__ == "__main__":
    main()
