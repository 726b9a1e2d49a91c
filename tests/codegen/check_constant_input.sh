#!/bin/sh
# mtcc compile --constant-input: a backend case whose Reshape shape is a graph input does not
# compile ahead of time as is, compiles to one kernel with the shape bound from its data set, and
# a wrong name, a value of the wrong dtype or a malformed spec is one clear line.
# usage: check_constant_input.sh MTCC CASE_DIR (test_reshape_reduced_dims)
set -u
mtcc="$1"; case_dir="$2"; fail=0
out=$("$mtcc" compile "$case_dir/model.onnx" 2>&1) && { echo "compiled without the shape: $out"; fail=1; }
echo "$out" | grep -q "which are not known at compile time" || { echo "unbound: $out"; fail=1; }
out=$("$mtcc" compile "$case_dir/model.onnx" --constant-input "shape=$case_dir/test_data_set_0/input_1.pb" 2>&1) ||
  { echo "bound shape failed: $out"; fail=1; }
echo "$out" | grep -q "^codegen: 1 CUDA kernel(s) covering 1 node(s)" || { echo "bound: $out"; fail=1; }
for bad in "nope=$case_dir/test_data_set_0/input_1.pb|has no graph input 'nope'" \
           "shape=$case_dir/test_data_set_0/input_0.pb|the model declares int64 rank 1" \
           "shape|expected \[TENANT:\]NAME=FILE"; do
  spec=${bad%%|*}; want=${bad#*|}
  out=$("$mtcc" compile "$case_dir/model.onnx" --constant-input "$spec" 2>&1) && { echo "accepted $spec"; fail=1; }
  [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q "^mtcc: error: --constant-input .*$want" ||
    { echo "$spec: $out"; fail=1; }
done
[ $fail -eq 0 ] && echo "--constant-input binds a shape operand; bad specs are one-line errors"
exit $fail
