#!/usr/bin/env bash
# Configures and builds mtcc. usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Warnings are errors here (as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMTCC_WERROR=ON \
      -DMTCC_PYTHON="$PWD/.venv/bin/python3" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
