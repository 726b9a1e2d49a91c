#!/usr/bin/env python3
"""Random inputs for every tenant of a manifest (fixed seed), saved as .npy; prints the
`--input TENANT:NAME=FILE` arguments for `mtcc run`, one per line."""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import helper


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    base = os.path.dirname(os.path.abspath(args.manifest))
    with open(args.manifest) as f:
        manifest = json.load(f)
    for tenant in manifest["tenants"]:
        model = onnx.load(os.path.join(base, tenant["model"]), load_external_data=False)
        dims = tenant.get("dims", {})
        shapes = tenant.get("shapes", {})
        initializers = {i.name for i in model.graph.initializer}
        os.makedirs(os.path.join(args.out, tenant["name"]), exist_ok=True)
        for inp in model.graph.input:
            if inp.name in initializers:
                continue
            tt = inp.type.tensor_type
            shape = shapes.get(inp.name) or [
                d.dim_value if d.HasField("dim_value") else dims.get(d.dim_param, 1) for d in tt.shape.dim]
            dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type)
            if np.issubdtype(dtype, np.floating):
                value = rng.standard_normal(shape).astype(dtype)
            elif dtype == np.bool_:
                value = rng.integers(0, 2, shape).astype(np.bool_)
            else:  # ids, masks and indices: small non-negative values are valid for all of them
                value = rng.integers(0, 2, shape).astype(dtype)
            path = os.path.join(args.out, tenant["name"], inp.name.replace("/", "_") + ".npy")
            np.save(path, value)
            print("--input")
            print(f"{tenant['name']}:{inp.name}={path}")


if __name__ == "__main__":
    main()
