#!/usr/bin/env bash
# Installs what mtcc needs to build and test on a fresh Debian machine: the Debian packages
# (protobuf-c, ONNX's onnx.proto and backend test data, jansson, cmocka, cmake, ninja) and a
# Python virtual environment in .venv with onnx, onnxruntime and numpy (model generators and the
# ONNX Runtime oracle), and Chromium (the report_html_browser test renders `mtcc report`'s page
# in it headless). Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(build-essential cmake ninja-build pkg-config protobuf-c-compiler libprotobuf-c-dev
      libonnx-dev libonnx-testdata libjansson-dev libcmocka-dev python3-venv clang-format git
      chromium)
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
pins=("onnx==1.23.2" "onnxruntime==1.32.0" "numpy==2.4.6")
if [ ! -x .venv/bin/python3 ] || ! .venv/bin/python3 -c "
import onnx, onnxruntime, numpy, sys
sys.exit(0 if (onnx.__version__, onnxruntime.__version__, numpy.__version__) == ('1.23.2', '1.32.0', '2.4.6') else 1)" 2>/dev/null; then
  echo "setup: creating .venv with ${pins[*]}"
  "$py" -m venv .venv
  .venv/bin/python3 -m pip install -q --disable-pip-version-check "${pins[@]}"
fi
echo "setup: ok ($(.venv/bin/python3 -c 'import onnx, onnxruntime, numpy; print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)'))"
