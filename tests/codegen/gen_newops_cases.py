#!/usr/bin/env python3
"""Writes ONNX test cases for forms of the newest opsets' ops that the backend cases leave out:
TfIdfVectorizer in IDF and TFIDF modes with weights, trigrams, skips and two n-grams sharing an
output column (the backend cases are all TF without weights). Expected outputs come from ONNX
Runtime, never from mtcc. The cases join gen_breadth_cases.py's folder (codegen_emulate_breadth).

usage: gen_newops_cases.py --out DIR"""
import argparse

import numpy as np
from onnx import TensorProto, helper

from gen_breadth_cases import write_case  # model + data set with ONNX Runtime's outputs


def tfidf(root, name, mode, weights, x):
    attrs = dict(mode=mode, min_gram_length=1, max_gram_length=3, max_skip_count=2,
                 ngram_counts=[0, 4, 8], ngram_indexes=[0, 1, 2, 3, 4, 5, 6, 7, 2],
                 pool_int64s=[2, 3, 5, 4, 5, 6, 7, 8, 2, 3, 5])
    if weights is not None:
        attrs["weights"] = weights  # ONNX Runtime wants one per ngram_indexes entry
    node = helper.make_node("TfIdfVectorizer", ["X"], ["Y"], **attrs)
    graph = helper.make_graph(
        [node], name, [helper.make_tensor_value_info("X", TensorProto.INT32, list(x.shape))],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [x.shape[0], 8])])
    write_case(root, name, graph, [x], 9)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    w = [0.5, 1.5, 2.0, 0.25, 3.0, 1.0, 0.75, 2.5, 4.0]
    tfidf(args.out, "test_tfidf_idf_weights", "IDF", w, rng.integers(2, 9, (3, 10)).astype(np.int32))
    tfidf(args.out, "test_tfidf_tfidf_weights", "TFIDF", w,
          rng.integers(2, 9, (3, 10)).astype(np.int32))
    tfidf(args.out, "test_tfidf_idf_trigrams", "IDF", None,
          rng.integers(2, 9, (2, 12)).astype(np.int32))
    print(f"gen_newops_cases: 3 cases written to {args.out}")


if __name__ == "__main__":
    main()
