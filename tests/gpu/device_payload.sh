#!/bin/bash
# Prepares one device call for libmtrt's GPU path (about 50 MB, under the tool's 64 MiB): bundles
# compiled here (the GPU machine has no protobuf-c or jansson to build mtcc with), the GPU session
# test built here, the one shared library it needs beyond glibc, and device_run.sh.
#
# usage: tests/gpu/device_payload.sh BUILD_DIR DEST
#   BUILD_DIR: a build with mtcc, tests/test_gpu_session and the generated models (ctest -R
#   models_generate); DEST: a folder of the checkout the device tool sends, ignored by git
#   (.git/info/exclude). Then: device run `bash DEST/device_run.sh` with carry [DEST].
set -euo pipefail
build=$(cd "$1" && pwd)
dest=$2
models=$build/tests/models
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dest"
mkdir -p "$dest/b" "$dest/lib"
manifest() { # NAME TARGET PARTITIONS TENANTS
  printf '{"targets":["%s"],"partitions":[%s],"tenants":[%s]}\n' "$2" "$3" "$4" > "$dest/b/$1.json"
}
tenant() { # NAME MODEL PARTITION DIMS
  printf '{"name":"%s","model":"%s/%s.onnx","partition":"%s","dims":%s}' "$1" "$models" "$2" "$3" "$4"
}
manifest yolo80 sm_80 '{"name":"default","sm_budget":32}' \
  "$(tenant yolo yolo_tiny default '{"batch":1}')"
manifest mix2 sm_90 '{"name":"vision","sm_budget":64},{"name":"detect","sm_budget":32}' \
  "$(tenant mobile mobilenetv2 vision '{"batch":2}'),$(tenant yolo yolo_tiny detect '{"batch":1}')"
for b in yolo80 mix2; do
  "$build/mtcc" compile "$dest/b/$b.json" -o "$dest/b/$b.mtbundle" | grep -E "codegen|bundle:"
  rm "$dest/b/$b.json"
done
# If bundles: conditional nodes whose bodies hold the branches' kernels (and a cuBLASLt call)
"$here/../../.venv/bin/python3" - "$dest/b" "$here" <<'PY'
import os, sys
import onnx
sys.path[:0] = [os.path.join(sys.argv[2], "..", "bundle"), os.path.join(sys.argv[2], "..", "codegen")]
import check_bundle_if, check_emulate_if
onnx.save(check_bundle_if.model(), os.path.join(sys.argv[1], "if_nested.onnx"))
onnx.save(check_emulate_if.gemm_model(), os.path.join(sys.argv[1], "if_gemm.onnx"))
PY
for b in if_nested if_gemm; do
  "$build/mtcc" compile "$dest/b/$b.onnx" -o "$dest/b/$b.mtbundle" | grep -E "codegen|bundle:"
  rm "$dest/b/$b.onnx"
done
cp "$build/tests/test_gpu_session" "$dest/"
cp -L "$(ldd "$build/tests/test_gpu_session" | awk '/libprotobuf-c/ {print $3}')" "$dest/lib/"
cp "$here/device_run.sh" "$dest/"
du -sh "$dest"
