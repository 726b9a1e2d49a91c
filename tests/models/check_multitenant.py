#!/usr/bin/env python3
"""Checks that a multi-tenant run gives every tenant exactly its single-model outputs.

  check_multitenant.py --mtcc PATH --models DIR --work DIR [--mix NAME | --tenant SPEC ...]
                       [--batch N] [--seq N] [--no-ort]

Writes WORK/manifest.json naming several models (paths relative to the
manifest's folder), makes different random inputs per tenant, runs
  mtcc run --reference WORK/manifest.json --input TENANT:NAME=FILE ... --output-dir WORK/multi
then runs each model alone (mtcc run --reference DIR/MODEL.onnx ...) and
asserts each tenant's outputs are byte-identical to its single-model run
(np.array_equal and equal dtype/shape).  Unless --no-ort, it also checks the
single-model outputs against ONNX Runtime (rel L2 <= --tol).  Exit 0/1.

Tenant spec: NAME=MODEL[:PARTITION[:PRIORITY]], MODEL a file stem in --models.
The partition defaults to 'nlp' for models with a 'seq' dim, else 'vision'.
Mixes:  default  resnet50, mobilenetv2 (vision) + bert_tiny (nlp)
        t1       four fine-tuned ResNet-50 variants resnet50_v0..v3 (gen_models.py --variant 0,1,2,3)
        all      resnet50, mobilenetv2, efficientnet_b0, yolo_tiny (vision) + bert_tiny (nlp)
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_util as ou  # noqa: E402

MIXES = {
    "default": ["resnet=resnet50", "mobilenet=mobilenetv2", "bert=bert_tiny"],
    "t1": ["ft0=resnet50_v0", "ft1=resnet50_v1", "ft2=resnet50_v2", "ft3=resnet50_v3"],
    "all": ["resnet=resnet50", "mobilenet=mobilenetv2", "effnet=efficientnet_b0", "yolo=yolo_tiny",
            "bert=bert_tiny"],
}


def parse_tenant(spec, models_dir, priority):
    if "=" not in spec:
        raise SystemExit("bad tenant spec %r (want NAME=MODEL[:PARTITION[:PRIORITY]])" % spec)
    name, rest = spec.split("=", 1)
    parts = rest.split(":")
    model_file = os.path.abspath(os.path.join(models_dir, parts[0] + ".onnx"))
    if not os.path.exists(model_file):
        raise SystemExit("error: %s does not exist (run gen_models.py first)" % model_file)
    model = onnx.load(model_file, load_external_data=False)
    sym = ou.symbolic_dims(model)
    part = parts[1] if len(parts) > 1 and parts[1] else ("nlp" if "seq" in sym else "vision")
    prio = int(parts[2]) if len(parts) > 2 else priority
    return {"name": name, "stem": parts[0], "file": model_file, "model": model, "partition": part,
            "priority": prio, "sym": sym}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mtcc", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--mix", default="default", choices=sorted(MIXES))
    ap.add_argument("--tenant", action="append", default=[], help="NAME=MODEL[:PARTITION[:PRIORITY]]")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--target", default="sm_90")
    ap.add_argument("--sm-budget", type=int, default=66, help="SMs per partition (default 66)")
    ap.add_argument("--no-ort", action="store_true", help="skip the ONNX Runtime check")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--timeout", type=int, default=3600)
    args = ap.parse_args(argv)

    specs = args.tenant or MIXES[args.mix]
    tenants = [parse_tenant(s, args.models, i + 1) for i, s in enumerate(specs)]
    names = [t["name"] for t in tenants]
    if len(set(names)) != len(names):
        raise SystemExit("error: duplicate tenant names")

    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    manifest_path = os.path.join(work, "manifest.json")
    partitions = []
    for t in tenants:
        if t["partition"] not in [p["name"] for p in partitions]:
            partitions.append({"name": t["partition"], "sm_budget": args.sm_budget})
    manifest = {"targets": [args.target], "partitions": partitions, "tenants": []}
    for t in tenants:
        dims = {"batch": args.batch}
        if "seq" in t["sym"]:
            dims["seq"] = args.seq
        t["dims"] = dims
        manifest["tenants"].append({"name": t["name"], "model": os.path.relpath(t["file"], work),
                                    "partition": t["partition"], "priority": t["priority"], "dims": dims})
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("manifest %s:\n%s" % (manifest_path, json.dumps(manifest, indent=2)))

    # Inputs differ per tenant (seeded by tenant name), so misrouted inputs show up.
    multi_args = []
    for t in tenants:
        t["feeds"] = ou.make_inputs(t["model"], t["dims"], "multitenant:" + t["name"])
        t["paths"] = ou.save_inputs(t["feeds"], os.path.join(work, "inputs", t["name"]))
        multi_args += ["%s:%s=%s" % (t["name"], n, p) for n, p in t["paths"].items()]

    multi_out = os.path.join(work, "multi")
    if not ou.run_mtcc(args.mtcc, manifest_path, multi_args, multi_out, args.timeout):
        print("FAIL: multi-tenant run failed")
        return 1

    all_ok = True
    for t in tenants:
        single_out = os.path.join(work, "single", t["name"])
        if not ou.run_mtcc(args.mtcc, t["file"], ["%s=%s" % (n, p) for n, p in t["paths"].items()],
                           single_out, args.timeout):
            print("FAIL %s: single-model run failed" % t["name"])
            all_ok = False
            continue
        want = ou.run_ort(t["file"], t["feeds"]) if not args.no_ort else None
        for o in t["model"].graph.output:
            m, mp = ou.load_output(multi_out, t["name"], o.name)
            s, sp = ou.load_output(single_out, t["stem"], o.name)
            if m is None or s is None:
                print("FAIL   %-10s %-20s missing %s" % (t["name"], o.name, mp if m is None else sp))
                all_ok = False
                continue
            same = m.dtype == s.dtype and m.shape == s.shape and np.array_equal(m, s)
            msg = "identical" if same else "DIFFERENT (dtype %s/%s shape %s/%s)" % (
                m.dtype, s.dtype, list(m.shape), list(s.shape))
            ok = same
            if want is not None:
                w = np.asarray(want[o.name])
                if np.issubdtype(w.dtype, np.floating):
                    err = ou.rel_l2(s, w) if s.shape == w.shape else float("inf")
                    ok &= err <= args.tol
                    msg += ", vs onnxruntime rel_l2 %.3e" % err
                else:
                    eq = s.shape == w.shape and np.array_equal(s, w)
                    ok &= eq
                    msg += ", vs onnxruntime %s" % ("equal" if eq else "MISMATCH")
            all_ok &= ok
            print("%-6s %-10s %-20s %s" % ("ok" if ok else "FAIL", t["name"], o.name, msg))
    print("%s multi-tenant %s" % ("PASS" if all_ok else "FAIL", ",".join(names)))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
