#!/usr/bin/env bash
# One command that proves mtcc on a GPU machine (CUDA + PyTorch, no package registry needed):
#   1. deps      unpack the carried Debian build dependencies (.devdeps/*.deb, made here by
#                scripts/pack_devdeps.sh) into a private prefix, never into /
#   2. build     configure and build (Release, no LLVM; the build reuses BUILD_DIR if configured)
#   3. gpu-tests ctest -L gpu (JUnit file kept)
#   4. bench     bench/bench_gpu.py: models (PyTorch exports, else the project's generators),
#                one bundle per mix, outputs checked, mtcc timed against the baselines, and the
#                cost model calibrated (docs/perf/README.md)
#   5. summary   OUT/summary.md from whatever the steps left, also after a failure
# Everything lands in OUT: summary.md, results.json, arch-params*.json, steps.tsv, progress.log
# and logs.tar.gz (the step logs), six files (a device call brings back at most eight).
# A step that fails is recorded and the later steps still run where they can; the exit status is
# 1 when any step failed. The time budget (8 minutes, --quick 4) is split over the steps and the
# benchmark stops starting configurations when its share is spent, keeping what it measured.
#
# --dry-run: the same steps on the CPU path with tiny shapes, PyTorch baselines skipped with the
# reason (the CTest gpu_proof_dry_run runs this), so the script cannot rot between GPU loans.
#
# usage: scripts/gpu_proof.sh [--quick] [--dry-run] [--out DIR] [--build-dir DIR] [--work DIR]
#                             [--budget SECONDS] [--keep-work] [--keep-logs]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0 dry=0 out="" build_dir="" work="" budget="" keep_work=0 keep_logs=0
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --dry-run) dry=1 ;;
    --out) out=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --work) work=$2; shift ;;
    --budget) budget=$2; shift ;;
    --keep-work) keep_work=1 ;;
    --keep-logs) keep_logs=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "gpu_proof: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
stamp=$(date -u +%Y%m%d-%H%M%S)
out=${out:-$root/build-proof/out-$stamp}
build_dir=${build_dir:-$root/build-proof}
if [ -z "$budget" ]; then
  if ((dry)); then budget=1800; elif ((quick)); then budget=240; else budget=480; fi
fi
mkdir -p "$out/logs" || { echo "gpu_proof: error: cannot create $out" >&2; exit 2; }
out=$(cd "$out" && pwd)
work=${work:-$(mktemp -d "${TMPDIR:-/tmp}/mtcc-proof.XXXXXX")}
mkdir -p "$work"
logs=$out/logs
start=$(date +%s)
deadline=$((start + budget))
: >"$out/steps.tsv"
failed=0

say() { printf '[%s %4ds] %s\n' "$(date -u +%H:%M:%S)" $(($(date +%s) - start)) "$*" | tee -a "$out/progress.log"; }
# record STEP STATUS SECONDS NOTE
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4//$'\t'/ }" >>"$out/steps.tsv"; }
left() { echo $((deadline - $(date +%s))); }

finish() {
  local t0
  t0=$(date +%s)
  say "summary: writing $out/summary.md"
  local junit=""
  [ -f "$logs/ctest-gpu.xml" ] && junit=$logs/ctest-gpu.xml
  if "$py" "$root/bench/proof_summary.py" "$out" --junit "$junit" >>"$logs/summary.log" 2>&1; then
    record summary ok $(($(date +%s) - t0)) ""
    "$py" "$root/bench/proof_summary.py" "$out" --junit "$junit" >/dev/null 2>&1 # with its own row
  else
    record summary failed $(($(date +%s) - t0)) "see logs/summary.log"
    failed=1
  fi
  if ((keep_logs)); then
    tar -czf "$out/logs.tar.gz" -C "$out" logs
  else
    tar -czf "$out/logs.tar.gz" -C "$out" logs && rm -rf "$logs"
  fi
  ((keep_work)) || rm -rf "$work"
  say "done in $(($(date +%s) - start)) s: $out ($( ((failed)) && echo "some steps FAILED" || echo "all steps ok"))"
}

# ---- the Python that has onnx (and, on a GPU machine, torch)
py=python3
if ((dry)) && [ -x "$root/.venv/bin/python3" ]; then py=$root/.venv/bin/python3; fi
if ! "$py" -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  [ -x "$root/.venv/bin/python3" ] && py=$root/.venv/bin/python3
fi
say "gpu_proof: $( ((dry)) && echo dry run || (((quick)) && echo quick || echo full)), budget ${budget} s, out $out, work $work"

# ---- 0. environment
{
  date -u
  uname -a
  echo "python: $py ($("$py" --version 2>&1))"
  command -v nvidia-smi >/dev/null && nvidia-smi
  command -v nvcc >/dev/null && nvcc --version
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'gpu', torch.cuda.is_available())" 2>&1
  cmake --version | head -1
  command -v ninja >/dev/null && echo "ninja $(ninja --version)"
} >"$logs/env.log" 2>&1
device=cpu
if ((!dry)); then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    device=gpu
    say "env: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)"
  else
    say "env: no GPU visible (nvidia-smi); running the CPU path instead (numbers are CPU numbers)"
  fi
fi

# ---- 1. carried build dependencies
t0=$(date +%s)
shopt -s nullglob
debs=("$root"/.devdeps/*.deb)
if ((${#debs[@]})); then
  prefix=${MTCC_DEPS_PREFIX:-/opt/mtdeps}
  if ((dry)) || ! mkdir -p "$prefix" 2>/dev/null; then prefix=$work/mtdeps; fi
  mkdir -p "$prefix"
  ok=1
  for f in "${debs[@]}"; do dpkg-deb -x "$f" "$prefix" >>"$logs/deps.log" 2>&1 || ok=0; done
  lib=$prefix/usr/lib/x86_64-linux-gnu
  dep_env() {
    env PATH="$prefix/usr/bin:$PATH" LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      PKG_CONFIG_LIBDIR="$lib/pkgconfig:$prefix/usr/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$prefix" \
      "$@"
  }
  # the carried tools must work before anything is built with them
  check=$(dep_env sh -c 'protoc-c --version 2>&1 | head -1; for m in libprotobuf-c jansson cmocka zlib; do printf "%s %s\n" $m "$(pkg-config --modversion $m 2>&1)"; done; ls '"$prefix"'/usr/include/onnx/onnx.proto' 2>&1)
  echo "$check" >>"$logs/deps.log"
  if ((ok)) && ! grep -qiE "not found|error|No such" <<<"$check"; then
    if ((!dry)); then
      export PATH="$prefix/usr/bin:$PATH" LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      export PKG_CONFIG_LIBDIR="$lib/pkgconfig:$prefix/usr/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$prefix"
      export CMAKE_PREFIX_PATH="$prefix/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
      note="${#debs[@]} packages unpacked into $prefix and used"
    else
      note="${#debs[@]} packages unpacked into $prefix; protoc-c and pkg-config work from it (the dry run builds with the system's)"
    fi
    record deps ok $(($(date +%s) - t0)) "$note"
    say "deps: $note"
  else
    record deps failed $(($(date +%s) - t0)) "carried packages do not work: see logs/deps.log"
    say "deps: FAILED (logs/deps.log)"
    failed=1
  fi
else
  record deps skipped 0 "no .devdeps/*.deb (scripts/pack_devdeps.sh makes them); using the system's packages"
  say "deps: no .devdeps; using the system's packages"
fi

# ---- 2. build
t0=$(date +%s)
say "build: $build_dir"
built=0
{
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    llvm=()
    # no LLVM on the GPU machine: turn it off where the build has such an option
    opt=$(grep -oE 'option\(MTCC_[A-Z_]*LLVM[A-Z_]*' CMakeLists.txt | head -1 | cut -d'(' -f2)
    [ -n "$opt" ] && llvm=("-D$opt=OFF")
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTCC_PYTHON="$(command -v "$py")" "${llvm[@]}"
  else
    echo "reusing the configured build in $build_dir"
  fi && cmake --build "$build_dir" -j "$(nproc)"
} >"$logs/build.log" 2>&1 && built=1
if ((built)); then
  record build ok $(($(date +%s) - t0)) "$build_dir"
  say "build: ok ($(($(date +%s) - t0)) s)"
else
  record build failed $(($(date +%s) - t0)) "$(grep -m1 -E 'error|Error' "$logs/build.log" | cut -c1-300)"
  say "build: FAILED (logs/build.log); nothing else can run"
  failed=1
  finish
  exit 1
fi
mtcc=$build_dir/mtcc
bench_tool=$build_dir/bench/mtrt_bench

# ---- 3. GPU tests
t0=$(date +%s)
# the dry run has time: its GPU tests (which generate models, then skip) must not be cut short
share=$((dry ? 600 : quick ? 90 : 180))
((share > $(left) / 3)) && share=$(($(left) / 3))
say "gpu-tests: ctest -L gpu (at most ${share} s)"
# One test at a time: GPU tests that read device memory or time themselves must not share the GPU
# with each other. ctest stops starting tests at the share's end (and still writes the JUnit
# file); timeout is the safety net for a test that hangs.
stop_at=$(date -d "@$(($(date +%s) + share))" +%H:%M:%S)
(cd "$build_dir" && timeout $((share + 60)) ctest -L gpu --output-on-failure --timeout "$share" \
  --stop-time "$stop_at" --output-junit "$logs/ctest-gpu.xml") >"$logs/gpu-tests.log" 2>&1
rc=$?
line=$(grep -E "tests passed|No tests were found" "$logs/gpu-tests.log" | tail -1)
if ((rc == 0)); then
  record gpu-tests ok $(($(date +%s) - t0)) "${line:-ok}"
  say "gpu-tests: ${line:-ok}"
else
  record gpu-tests failed $(($(date +%s) - t0)) "exit $rc: ${line}"
  say "gpu-tests: FAILED (exit $rc; logs/gpu-tests.log): $line"
  failed=1
fi

# ---- 4. benchmark
t0=$(date +%s)
say "bench: $(left) s left"
bench_args=(--mtcc "$mtcc" --bench-tool "$bench_tool" --out "$out" --work "$work/bench"
            --device "$device" --deadline $((deadline - 20)))
((dry)) && bench_args+=(--dry-run)
((quick)) && bench_args+=(--quick)
# the benchmark stops itself at its deadline; timeout is the safety net that keeps the summary's
# time (a device call that runs out of time brings back nothing written after)
limit=$(($(left) - 5))
((limit < 10)) && limit=10 # timeout 0 would mean no limit at all
PYTHONUNBUFFERED=1 timeout -k 5 "$limit" "$py" "$root/bench/bench_gpu.py" "${bench_args[@]}" 2>&1 |
  tee "$logs/bench.log" |
  sed -u 's/^/        /'
rc=${PIPESTATUS[0]}
if ((rc == 0)); then
  record bench ok $(($(date +%s) - t0)) "$(tail -1 "$logs/bench.log" | cut -c1-300)"
elif ((rc == 124 || rc == 137)); then
  record bench failed $(($(date +%s) - t0)) "stopped by the time budget's safety timeout; what it measured is kept"
  say "bench: stopped at the time budget (what it measured is kept)"
  failed=1
else
  record bench failed $(($(date +%s) - t0)) "exit $rc: $(tail -1 "$logs/bench.log" | cut -c1-300)"
  say "bench: FAILED (exit $rc; logs/bench.log)"
  failed=1
fi

# ---- 5. summary
finish
exit $failed
