#!/bin/bash
# On a lent GPU machine: libmtrt's GPU sessions on the bundles tests/gpu/device_payload.sh made.
# yolo80 (sm_80 only: PTX JIT, soft budgets, 1,000 create/destroy cycles), mix2 (two partitions:
# green contexts, cubins, cuBLASLt), then mix2 with per-partition graphs and with soft budgets
# forced, then the If bundles (conditional nodes; the random conditions take one branch each).
# Logs go to $OUT (they come back); the tails print last. Results: docs/gpu-facts.md.
cd "$(dirname "$0")"
export LD_LIBRARY_PATH=$PWD/lib:/usr/local/cuda/lib64:$LD_LIBRARY_PATH
OUT=${OUT:-/tmp/mtrt-gpu-out}
mkdir -p "$OUT"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv; } \
  > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
timeout 20 ./test_gpu_session --probe || exit 0
step() {
  local name=$1 t=$2
  shift 2
  echo "=== $name"
  timeout "$t" "$@" > "$OUT/$name.log" 2>&1
  echo "rc=$?" >> "$OUT/$name.log"
}
step yolo80 100 ./test_gpu_session b/yolo80.mtbundle
step mix2 90 ./test_gpu_session --no-cycles b/mix2.mtbundle
step mix2_split 40 env MTRT_GPU_GRAPHS=per-partition ./test_gpu_session --no-cycles b/mix2.mtbundle
step mix2_soft 40 env MTRT_GPU_BUDGETS=soft ./test_gpu_session --no-cycles b/mix2.mtbundle
step if 40 ./test_gpu_session --no-cycles b/if_nested.mtbundle b/if_gemm.mtbundle
for f in yolo80 mix2 mix2_split mix2_soft if; do echo "=== $f"; tail -c 2500 "$OUT/$f.log"; done
