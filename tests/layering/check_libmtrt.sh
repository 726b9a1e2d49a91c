#!/bin/sh
# libmtrt.so exports only the include/mtrt.h API, every symbol versioned MTRT_1 or (functions ABI 2
# added) MTRT_2 or (ABI 3) MTRT_3, and links no compiler code (ir/, plan/, passes/, frontend/,
# codegen/, driver/),
# NVRTC, LLVM or the CUDA driver (the GPU path opens libcuda.so.1 with dlopen at run time).
# usage: check_libmtrt.sh LIBMTRT.so
set -eu
lib="$1"
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDB]/ {print $3}')
bad=$(printf '%s\n' "$exported" | grep -v '^mtrt_' | grep -v -E '^MTRT_[123]$' || true)
if [ -n "$bad" ]; then
  echo "libmtrt exports symbols outside the mtrt_ API:"; echo "$bad"; exit 1
fi
printf '%s\n' "$exported" | grep -q '^mtrt_bundle_open@@MTRT_1$' || {
  echo "mtrt_bundle_open is not versioned MTRT_1:"; nm -D --defined-only "$lib" | grep mtrt_bundle_open; exit 1; }
printf '%s\n' "$exported" | grep -q '^mtrt_session_run_async@@MTRT_2$' || {
  echo "mtrt_session_run_async is not versioned MTRT_2"; exit 1; }
printf '%s\n' "$exported" | grep -q '^mtrt_session_cpu_target@@MTRT_3$' || {
  echo "mtrt_session_cpu_target is not versioned MTRT_3"; exit 1; }
unversioned=$(printf '%s\n' "$exported" | grep -v -E '@@MTRT_[123]$' || true)
if [ -n "$unversioned" ]; then
  echo "libmtrt exports symbols without version MTRT_1, MTRT_2 or MTRT_3:"; echo "$unversioned"; exit 1
fi
# compiler layers: any of their functions pulled in would show up among the local symbols
if nm "$lib" | grep -E ' (mt_node_lower|mt_plan_|mt_module_|mt_pass_|mt_onnx_|mt_cuda_|mtcc_)' ; then
  echo "libmtrt contains compiler code"; exit 1
fi
if ldd "$lib" | grep -Ei 'nvrtc|llvm|libcuda|cublas'; then
  echo "libmtrt links NVRTC, LLVM, the CUDA driver or cuBLAS"; exit 1
fi
echo "libmtrt: $(printf '%s\n' "$exported" | wc -l) exported symbols, all mtrt_*@MTRT_1/MTRT_2/MTRT_3, no compiler code"
