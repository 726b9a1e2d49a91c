#!/usr/bin/env bash
# Installs what mtcc needs to build and test on a fresh Debian machine: the Debian packages
# (protobuf-c, ONNX's onnx.proto and backend test data, jansson, cmocka, cmake, ninja, LLVM 19 and
# OpenBLAS for the CPU backend) and a
# Python virtual environment in .venv with onnx, onnxruntime and numpy (model generators and the
# ONNX Runtime oracle), pytest, build and wheel (python/mtrt's tests and wheel), tritonclient and
# the tritonserver binary of nvidia-pytriton (the Triton backend's tests), and Chromium (the
# report_html_browser test renders `mtcc report`'s page in it headless). Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(build-essential cmake ninja-build pkg-config protobuf-c-compiler libprotobuf-c-dev
      libonnx-dev libonnx-testdata libjansson-dev libcmocka-dev python3-venv clang-format git
      chromium llvm-19-dev libopenblas-dev libdnnl-dev)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's python3 (not a pyenv shim) so the venv works the same on every machine.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
# Pinned: the conformance pins (tests/conformance/pin_wheel.txt) list the onnx wheel's own cases,
# so a new onnx release must be a deliberate change (update both together).
# tritonclient 2.41.0: the newest whose [http,grpc] extras accept numpy 2 and protobuf 7 (2.42 to
# 2.51 cap numpy below 2, later ones protobuf below 7); the KServe v2 protocol it speaks is the
# one Triton 2.51 serves.
pins=("onnx==1.23.2" "onnxruntime==1.32.0" "numpy==2.4.6" "pytest==8.3.4" "build==1.2.2.post1"
      "wheel==0.45.1" "tritonclient[http,grpc]==2.41.0")
if [ ! -x .venv/bin/python3 ] || ! .venv/bin/python3 -c "
import onnx, onnxruntime, numpy, sys
from importlib.metadata import version as v
import tritonclient.grpc, tritonclient.http
got = tuple(v(p) for p in ('onnx', 'onnxruntime', 'numpy', 'pytest', 'build', 'wheel', 'tritonclient'))
sys.exit(0 if got == ('1.23.2', '1.32.0', '2.4.6', '8.3.4', '1.2.2.post1', '0.45.1', '2.41.0') else 1)" 2>/dev/null; then
  echo "setup: installing into .venv: ${pins[*]}"
  [ -x .venv/bin/python3 ] || "$py" -m venv .venv
  .venv/bin/python3 -m pip install -q --disable-pip-version-check "${pins[@]}"
fi
# nvidia-pytriton ships tritonserver 2.51 with its libraries (pytriton/tritonserver/bin): the
# Triton backend's tests use only that binary. --no-deps: its Python side (unused here) requires
# numpy < 2, which would replace the pinned numpy.
if ! .venv/bin/python3 -c "
import sys; from importlib.metadata import version as v
sys.exit(0 if v('nvidia-pytriton') == '0.7.0' else 1)" 2>/dev/null; then
  echo "setup: installing nvidia-pytriton==0.7.0 (for its tritonserver binary; --no-deps)"
  .venv/bin/python3 -m pip install -q --disable-pip-version-check --no-deps "nvidia-pytriton==0.7.0"
fi
echo "setup: ok ($(.venv/bin/python3 -c 'import onnx, onnxruntime, numpy; print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)'))"
