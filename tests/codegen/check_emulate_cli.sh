#!/bin/sh
# `mtcc conformance --emulate` finds its helper both ways it can be laid out: in an installed tree
# (bin/mtcc execs libexec/mtcc/mtcc-emulate, which compiles kernels against the installed
# emulator headers) and, with no helper anywhere, fails with one clear line.
# usage: check_emulate_cli.sh BUILD_DIR CASE_DIR
set -eu
build="$1"; case_dir="$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/libexec/mtcc/mtcc-emulate"
# EMU_INCLUDE_DIR unset: the installed helper must find the installed headers, not the source's.
env -u EMU_INCLUDE_DIR "$work/prefix/bin/mtcc" conformance --emulate "$case_dir" >"$work/out" 2>&1 || {
  cat "$work/out"; echo "installed mtcc conformance --emulate failed"; exit 1; }
grep -q '^emulate: 1 passed cases ran every group as generated code' "$work/out"
grep -q '^conformance: 1 passed, 0 failed, 0 unsupported$' "$work/out"
# mtcc alone: the error names both places it looked.
mkdir "$work/alone"
cp "$build/mtcc" "$work/alone/mtcc"
if "$work/alone/mtcc" conformance --emulate "$case_dir" >"$work/out" 2>&1; then
  echo "mtcc without its helper exited 0"; exit 1
fi
test "$(wc -l <"$work/out")" -eq 1
grep -q "^mtcc: error: conformance --emulate: the emulating runner mtcc-emulate is not installed (looked for $work/alone/mtcc-emulate and $work/alone/../libexec/mtcc/mtcc-emulate)" "$work/out"
echo "installed mtcc conformance --emulate runs its helper; without it, one clear error"
