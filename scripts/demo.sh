#!/usr/bin/env bash
# The main job on its built-in default: generate the sample models, import them together as one
# multi-tenant module (samples/demo.json), inspect it, compile it through the multi-tenant passes
# and CUDA codegen into one bundle with the GPU code NVRTC made for every target and the CPU plan
# (build/demo/demo.mtbundle; JSON report, HTML schedule and the generated CUDA C beside it;
# NVRTC's results are cached in ~/.cache/mtcc, so a second run compiles in seconds), run the bundle through libmtrt's CPU path, run the same inputs on
# the reference executor, and check with `mtcc check` that both agree.
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
echo "== mtcc compile -o $work/demo.mtbundle"
rm -rf "$work/cuda"
build/mtcc compile "$work/demo.json" --report "$work/report.json" --report-html "$work/report.html" \
  --emit-cuda "$work/cuda" -o "$work/demo.mtbundle"
echo "== mtcc inspect $work/demo.mtbundle"
build/mtcc inspect "$work/demo.mtbundle"
echo "== random inputs"
mapfile -t inputs < <(.venv/bin/python3 samples/make_inputs.py --manifest "$work/demo.json" --out "$work/inputs")
echo "== mtcc run (the bundle, through libmtrt on the CPU)"
rm -rf "$work/out" "$work/out_reference"
build/mtcc run "$work/demo.mtbundle" "${inputs[@]}" --output-dir "$work/out" --device auto
echo "== mtcc run --reference (the same inputs on the reference executor)"
build/mtcc run --reference "$work/demo.json" "${inputs[@]}" --output-dir "$work/out_reference"
echo "== mtcc check: the bundle's outputs against the reference executor's"
build/mtcc check "$work/demo.mtbundle" --inputs "$work/inputs" --expected "$work/out_reference" \
  --rtol 1e-4 --atol 1e-5
