#!/usr/bin/env python3
"""gen_node_data.py's regeneration, on two stand-in cases instead of the wheel's ~1,850 (so it
takes a second): a case folder left from an earlier run (a case the wheel no longer has) is gone
after regenerating, the new cases are there with their data, the folder keeps the permissions
os.makedirs gives, and a run that fails half-way leaves the previous folder whole and no scratch
folder behind. Prints PASS/FAIL lines; exits 1 on any failure.

usage: check_gen_node_data.py --work DIR"""
import argparse
import os
import shutil
import sys
import types

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_node_data  # noqa: E402

results = []


def check(name, ok):
    print(f"{'PASS' if ok else 'FAIL'} {name}")
    results.append(bool(ok))


def case(name):
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], name,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    x = np.array([-1, 2], np.float32)
    return types.SimpleNamespace(name=name, model=helper.make_model(g),
                                 data_sets=[([x], [np.maximum(x, 0)])])


def run(out, cases):
    gen_node_data.node.collect_testcases = lambda _: cases
    sys.argv = ["gen_node_data.py", "--out", out]
    gen_node_data.main()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True)
    work = ap.parse_args().work
    shutil.rmtree(work, ignore_errors=True)
    out = os.path.join(work, "node")
    os.makedirs(os.path.join(out, "test_removed_case", "test_data_set_0"))
    run(out, [case("test_a"), case("test_b")])
    check("a case of an earlier run is gone",
          not os.path.exists(os.path.join(out, "test_removed_case")))
    check("the new cases are written", sorted(os.listdir(out)) == ["test_a", "test_b"] and all(
        os.path.isfile(os.path.join(out, c, "test_data_set_0", f))
        for c in ("test_a", "test_b") for f in ("input_0.pb", "output_0.pb")))
    umask = os.umask(0)
    os.umask(umask)
    check("the folder has makedirs' permissions", os.stat(out).st_mode & 0o777 == 0o777 & ~umask)

    def broken(*_):
        raise RuntimeError("disk full (simulated)")
    gen_node_data.write_tensor, saved = broken, gen_node_data.write_tensor
    raised = False
    try:
        run(out, [case("test_c")])
    except RuntimeError:
        raised = True
    finally:
        gen_node_data.write_tensor = saved
    check("a failing run raises", raised)
    check("a failed run leaves the previous folder whole",
          sorted(os.listdir(out)) == ["test_a", "test_b"])
    check("a failed run leaves no scratch folder", os.listdir(work) == ["node"])
    shutil.rmtree(work, ignore_errors=True)
    ok = all(results)
    print(f"{'OK' if ok else 'FAIL'}: {sum(results)} of {len(results)} checks passed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
