#!/usr/bin/env python3
"""compile -> .mtbundle -> libmtrt's CPU path against ONNX Runtime, tenant by tenant.

Cases (models from tests/models/gen_models.py, random inputs from oracle_util.make_inputs):
  * every sample model alone (batch 1; BERT at seq 128);
  * the sample mix of samples/demo.json (its partitions, priorities and dims), run with 1, 2 and
    4 CPU threads: the three runs must give the same bytes;
  * the benchmark mixes of ../shared/bench.md at batch 1 (T1: four ResNet-50 variants; T2:
    ResNet-50, MobileNetV2, EfficientNet-B0, VGG-16; T3: ResNet-50, MobileNetV2, BERT-base,
    the small detector), built as tests/passes/check_compile_mixes.py builds them.
Each case: `mtcc compile MANIFEST -o B.mtbundle`, `mtcc run B.mtbundle --cpu-threads 2`, and
every output of every tenant against ONNX Runtime on the tenant's own model (CPU provider, graph
optimizations off) with the same inputs: float outputs within a relative L2 error of --tol
(default 1e-4), integer and bool outputs exactly. Prints per case the compile and run times.

usage: check_bundle_ort.py --mtcc MTCC --models DIR --work DIR [--only CASE,...] [--tol T]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import oracle_util as ou  # noqa: E402

SAMPLES = ["resnet50", "mobilenetv2", "efficientnet_b0", "vgg16", "bert_base", "bert_tiny",
           "yolo_tiny"]
MIXES = {
    "T1": ["resnet50_v0", "resnet50_v1", "resnet50_v2", "resnet50_v3"],
    "T2": ["resnet50", "mobilenetv2", "efficientnet_b0", "vgg16"],
    "T3": ["resnet50", "mobilenetv2", "bert_base", "yolo_tiny"],
}
DEMO = os.path.join(HERE, "..", "..", "samples", "demo.json")


def tenants_of(case, models_dir):
    """[(tenant name, model path, dims, partition or None, priority or None)] of a case."""
    def dims_of(model, batch=1):
        return {"batch": batch, "seq": 128} if model.startswith("bert") else {"batch": batch}

    if case in SAMPLES:
        return [(case, os.path.join(models_dir, case + ".onnx"), dims_of(case), None, None)]
    if case in MIXES:
        return [("t%d_%s" % (i, m), os.path.join(models_dir, m + ".onnx"), dims_of(m), None, None)
                for i, m in enumerate(MIXES[case])]
    with open(DEMO) as f:
        demo = json.load(f)
    return [(t["name"], os.path.join(models_dir, t["model"]), t["dims"], t["partition"],
             t.get("priority")) for t in demo["tenants"]]


def write_manifest(case, tenants, path):
    entries = []
    for name, model, dims, part, prio in tenants:
        e = {"name": name, "model": model, "dims": dims}
        if part:
            e["partition"] = part
        if prio is not None:
            e["priority"] = prio
        entries.append(e)
    doc = {"tenants": entries}
    if case == "demo":
        with open(DEMO) as f:
            demo = json.load(f)
        doc["targets"], doc["partitions"] = demo["targets"], demo["partitions"]
    with open(path, "w") as f:
        json.dump(doc, f)


_ort_cache = {}


def expected(model, dims, feeds_dir):
    """Inputs (saved under feeds_dir) and ONNX Runtime's outputs for a model at dims; cached, so
    a model in several cases runs once."""
    key = (model, json.dumps(dims, sort_keys=True))
    if key not in _ort_cache:
        m = onnx.load(model, load_external_data=False)
        feeds = ou.make_inputs(m, dims, os.path.basename(model) + key[1])
        paths = ou.save_inputs(feeds, os.path.join(feeds_dir, "%d" % len(_ort_cache)))
        _ort_cache[key] = (paths, ou.run_ort(model, feeds))
    return _ort_cache[key]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("FAIL: %s\n%s%s" % (" ".join(cmd[:3]), p.stdout[-2000:], p.stderr[-2000:]))
    return p


def compare(case, tenant, out_dir, want, tol):
    errors, worst = [], 0.0
    for name, w in want.items():
        got, path = ou.load_output(out_dir, tenant, name)
        w = np.asarray(w)
        if got is None:
            errors.append("%s: %s: no output file %s" % (case, tenant, path))
        elif got.dtype != w.dtype or got.shape != w.shape:
            errors.append("%s: %s: %s is %s%s, ONNX Runtime gives %s%s" %
                          (case, tenant, name, got.dtype, got.shape, w.dtype, w.shape))
        elif np.issubdtype(w.dtype, np.floating):
            err = ou.rel_l2(got, w)
            worst = max(worst, err)
            if not err <= tol:
                errors.append("%s: %s: %s: relative L2 error %.3e > %.0e" %
                              (case, tenant, name, err, tol))
        elif not np.array_equal(got, w):
            errors.append("%s: %s: %s differs" % (case, tenant, name))
    return errors, worst


def check_case(args, case):
    work = os.path.join(args.work, case)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tenants = tenants_of(case, args.models)
    manifest = os.path.join(work, "manifest.json")
    write_manifest(case, tenants, manifest)
    bundle = os.path.join(work, case + ".mtbundle")
    t0 = time.time()
    run([args.mtcc, "compile", manifest, "-o", bundle])
    t_compile = time.time() - t0
    inputs, wants = [], {}
    for name, model, dims, _, _ in tenants:
        paths, want = expected(model, dims, os.path.join(args.work, "inputs"))
        wants[name] = want
        for n, p in paths.items():
            inputs += ["--input", "%s:%s=%s" % (name, n, p)]
    threads = (1, 2, 4) if case == "demo" else (2,)
    runs = {}
    for n in threads:
        out = os.path.join(work, "out%d" % n)
        t0 = time.time()
        run([args.mtcc, "run", bundle, "--cpu-threads", str(n), "--output-dir", out] + inputs)
        runs[n] = (out, time.time() - t0)
    errors, worst = [], 0.0
    first = runs[threads[0]][0]
    for name, _, _, _, _ in tenants:
        e, w = compare(case, name, first, wants[name], args.tol)
        errors += e
        worst = max(worst, w)
        for n in threads[1:]:
            for out in wants[name]:
                a, _ = ou.load_output(first, name, out)
                b, _ = ou.load_output(runs[n][0], name, out)
                if a is None or b is None or a.tobytes() != b.tobytes():
                    errors.append("%s: %s: %s differs between 1 and %d CPU threads" %
                                  (case, name, out, n))
    size = os.path.getsize(bundle)
    shutil.rmtree(work, ignore_errors=True)  # bundles of the big mixes take hundreds of MB
    times = ", ".join("run %.1f s (%d thread%s)" % (runs[n][1], n, "s" if n > 1 else "")
                      for n in threads)
    print("%-15s %d tenant(s), worst relative L2 %.2e; compile %.1f s, %s; bundle %.0f MB" %
          (case, len(tenants), worst, t_compile, times, size / 2**20))
    sys.stdout.flush()
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", default=",".join(SAMPLES + ["demo"] + sorted(MIXES)))
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    args.models = os.path.abspath(args.models)  # manifests name models from their own folder
    errors = []
    for case in args.only.split(","):
        if case not in SAMPLES and case not in MIXES and case != "demo":
            sys.exit("unknown case %s" % case)
        errors += check_case(args, case)
    for e in errors:
        print("FAIL " + e)
    if errors:
        sys.exit(1)
    print("all outputs of every case match ONNX Runtime")


if __name__ == "__main__":
    main()
