#!/usr/bin/env python3
"""Writes the bad-input fixtures that mtcc must reject with a clear error (not a crash).

  make_bad_inputs.py --out DIR

Writes DIR/<fixture> files plus DIR/fixtures.json, a list of
{"file", "what", "expect"} where "expect" are substrings the error message
should contain (file name, node names, value names).  Also prints that list.
Which exact message mtcc gives is checked by the main test suite, not here.
The fixtures are byte-identical from run to run.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def make_model(nodes, inputs, outputs, inits=(), name="fixture"):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mtcc-fixtures")
    m.ir_version = 8
    return m


def tiny_valid():
    """A small valid CNN (Conv, Relu, GlobalAveragePool, Flatten, Gemm) with a symbolic batch."""
    rng = np.random.default_rng(7)
    w = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.2, "conv.weight")
    b = numpy_helper.from_array(np.zeros(8, np.float32), "conv.bias")
    fw = numpy_helper.from_array(rng.standard_normal((4, 8)).astype(np.float32) * 0.3, "fc.weight")
    fb = numpy_helper.from_array(np.zeros(4, np.float32), "fc.bias")
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="/relu/Relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="/pool/GlobalAveragePool"),
        helper.make_node("Flatten", ["p"], ["f"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["output"], name="/fc/Gemm", transB=1),
    ]
    return make_model(nodes,
                      [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 16, 16])],
                      [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4])],
                      [w, b, fw, fb], "tiny_valid")


def unsupported_ops():
    """Two op types the project does not implement, both out of scope (random numbers): Bernoulli
    'bern_1' and RandomUniformLike 'rand_0'."""
    feat = 8
    inits = []
    nodes = [
        helper.make_node("Bernoulli", ["sequence"], ["bern_y"], name="bern_1"),
        helper.make_node("RandomUniformLike", ["scores"], ["selected"], name="rand_0"),
    ]
    return make_model(
        nodes,
        [helper.make_tensor_value_info("sequence", TensorProto.FLOAT, [4, 1, feat]),
         helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 10, 4]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, 10])],
        [helper.make_tensor_value_info("bern_y", TensorProto.FLOAT, [4, 1, feat]),
         helper.make_tensor_value_info("selected", TensorProto.FLOAT, [1, 1, 10])],
        inits, "unsupported_ops")


def missing_value():
    """Node 'matmul_0' reads 'fc.weight_missing', which no initializer, input or node provides."""
    nodes = [
        helper.make_node("MatMul", ["x", "fc.weight_missing"], ["y0"], name="matmul_0"),
        helper.make_node("Relu", ["y0"], ["y"], name="relu_0"),
    ]
    return make_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])], [], "missing_value")


def shape_mismatch():
    """MatMul 'matmul_bad' of static [2,3] by [4,5]: inner dims 3 and 4 differ."""
    w = numpy_helper.from_array(np.ones((4, 5), np.float32), "w")
    nodes = [helper.make_node("MatMul", ["a", "w"], ["y"], name="matmul_bad")]
    return make_model(nodes, [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])], [w], "shape_mismatch")


def manifest(tenants, partitions=({"name": "vision", "sm_budget": 66},)):
    return json.dumps({"targets": ["sm_90"], "partitions": list(partitions), "tenants": tenants}, indent=2) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    valid = tiny_valid().SerializeToString()
    files = []  # (file, bytes or str, what, expected substrings)
    files.append(("tiny_valid.onnx", valid, "valid model the manifests refer to (must load and run)", []))
    files.append(("truncated.onnx", valid[: len(valid) // 2], "valid model cut in half",
                  ["truncated.onnx"]))
    # 0x0F is field 1 with wire type 7, which protobuf does not define: no parser can accept it.
    junk = b"\x0f\xff\xfe\xfd" + np.random.default_rng(9).integers(0, 256, 4092, dtype=np.uint8).tobytes()
    files.append(("corrupt.onnx", junk, "random bytes, invalid protobuf wire type", ["corrupt.onnx"]))
    files.append(("empty.onnx", b"", "zero-byte file (parses as an empty ModelProto: no graph)",
                  ["empty.onnx"]))
    files.append(("unsupported_op.onnx", unsupported_ops().SerializeToString(),
                  "Bernoulli and RandomUniformLike nodes (both should be reported)",
                  ["Bernoulli", "bern_1", "RandomUniformLike", "rand_0"]))
    files.append(("missing_value.onnx", missing_value().SerializeToString(),
                  "node input that nothing defines", ["matmul_0", "fc.weight_missing"]))
    files.append(("shape_mismatch.onnx", shape_mismatch().SerializeToString(),
                  "MatMul [2,3] x [4,5]", ["matmul_bad"]))
    files.append(("manifest_missing_model.json",
                  manifest([{"name": "ghost", "model": "does_not_exist.onnx", "partition": "vision",
                             "priority": 1, "dims": {"batch": 1}}]),
                  "tenant model file does not exist", ["does_not_exist.onnx"]))
    files.append(("manifest_unknown_partition.json",
                  manifest([{"name": "lost", "model": "tiny_valid.onnx", "partition": "gpu_pool_9",
                             "priority": 1, "dims": {"batch": 1}}]),
                  "tenant names a partition the manifest does not define", ["lost", "gpu_pool_9"]))
    files.append(("manifest_malformed.json",
                  '{"targets": ["sm_90"], "partitions": [{"name": "vision", "sm_budget": 66}],\n'
                  ' "tenants": [{"name": "resnet", "model": "tiny_valid.onnx", "partition": \n',
                  "JSON cut off mid-object", ["manifest_malformed.json"]))

    index = []
    for name, data, what, expect in files:
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(os.path.join(args.out, name), mode) as f:
            f.write(data)
        index.append({"file": name, "what": what, "expect": expect})
    with open(os.path.join(args.out, "fixtures.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    for e in index:
        print("%-32s expect %-50s (%s)" % (e["file"], ", ".join(repr(s) for s in e["expect"]) or "success",
                                           e["what"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
