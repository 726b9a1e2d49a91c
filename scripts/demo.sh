#!/usr/bin/env bash
# The main job on its built-in default: generate the sample models, import them together as one
# multi-tenant module (samples/demo.json), inspect it, compile it through the multi-tenant passes
# (report in build/demo/report.json), and run every tenant on the reference executor with random
# inputs, printing a per-tenant summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
work=build/demo
mkdir -p "$work"
cp samples/demo.json "$work/demo.json"
echo "== generating sample models into $work"
.venv/bin/python3 tests/models/gen_models.py --out "$work" --only mobilenetv2,yolo_tiny,bert_tiny,resnet50
echo "== mtcc inspect"
build/mtcc inspect "$work/demo.json"
echo "== mtcc compile"
build/mtcc compile "$work/demo.json" --report "$work/report.json"
echo "== random inputs"
mapfile -t inputs < <(.venv/bin/python3 samples/make_inputs.py --manifest "$work/demo.json" --out "$work/inputs")
echo "== mtcc run --reference"
build/mtcc run --reference "$work/demo.json" "${inputs[@]}" --output-dir "$work/out"
