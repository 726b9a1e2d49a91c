/* The loader's kernel-call checks (runtime/bundle/validate_calls.c): a model with one node of many
 * kernel kinds is compiled into a bundle, which loads and runs; then each case below changes one
 * node's parameters or one buffer's type so that the call no longer fits its buffers (a shape the
 * parameters do not imply, a dtype the kernel does not take, a missing input, an axis, step or
 * size past a dim) and the loader must refuse it with a one-line status naming the problem. Run
 * under ASan/UBSan in the sanitizer build. */
#include "test_util.h"

#include <string.h>

#include "bundle_test_util.h"
#include "onnx_builder.h"

/* x[1,2,4,4] -> Conv(3x3, pad 1) -> MaxPool(2) -> Transpose -> Reshape[1,12] -> Gemm -> Softmax
 * -> Concat(s, s) -> Slice(step 2) -> Split(2) -> ReduceSum, Gather of the concat; Mul of the
 * split halves. */
static char *write_model(const char *dir) {
  ob_builder b;
  ob_init(&b, 13);
  float w[54], wg[60], bias[5] = {0.1f, -0.2f, 0.3f, 0, 0.5f}, bc[3] = {0.5f, -0.5f, 0.25f};
  for (int i = 0; i < 54; i++) w[i] = (float)((i * 7) % 11 - 5) / 8.0f;
  for (int i = 0; i < 60; i++) wg[i] = (float)((i * 5) % 13 - 6) / 10.0f;
  Onnx__GraphProto *g = b.graph;
  ob_input(&b, g, "x", MT_DTYPE_FLOAT32, 4, OB_DIMS(1, 2, 4, 4), OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_initializer(&b, g, ob_tensor_floats(&b, "w", 4, OB_DIMS(3, 2, 3, 3), w, 54));
  ob_initializer(&b, g, ob_tensor_floats(&b, "bc", 1, OB_DIMS(3), bc, 3));
  ob_initializer(&b, g, ob_tensor_floats(&b, "wg", 2, OB_DIMS(12, 5), wg, 60));
  ob_initializer(&b, g, ob_tensor_floats(&b, "bg", 1, OB_DIMS(5), bias, 5));
  ob_initializer(&b, g, ob_tensor_int64s(&b, "shape", 1, OB_DIMS(2), (int64_t[]){1, 12}, 2));
  ob_initializer(&b, g, ob_tensor_int64s(&b, "starts", 1, OB_DIMS(2), (int64_t[]){0, 1}, 2));
  ob_initializer(&b, g, ob_tensor_int64s(&b, "ends", 1, OB_DIMS(2), (int64_t[]){1, 9}, 2));
  ob_initializer(&b, g, ob_tensor_int64s(&b, "axes", 1, OB_DIMS(2), (int64_t[]){0, 1}, 2));
  ob_initializer(&b, g, ob_tensor_int64s(&b, "steps", 1, OB_DIMS(2), (int64_t[]){1, 2}, 2));
  ob_initializer(&b, g, ob_tensor_int64s(&b, "idx", 1, OB_DIMS(3), (int64_t[]){9, 0, 4}, 3));
  Onnx__NodeProto *n = ob_node(&b, g, "Conv", "conv", OB_NAMES("x", "w", "bc"), OB_NAMES("c"));
  ob_attr_ints(&b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
  n = ob_node(&b, g, "MaxPool", "pool", OB_NAMES("c"), OB_NAMES("p"));
  ob_attr_ints(&b, n, "kernel_shape", 2, (int64_t[]){2, 2});
  ob_attr_ints(&b, n, "strides", 2, (int64_t[]){2, 2});
  n = ob_node(&b, g, "Transpose", "transpose", OB_NAMES("p"), OB_NAMES("t"));
  ob_attr_ints(&b, n, "perm", 4, (int64_t[]){0, 2, 3, 1});
  ob_node(&b, g, "Reshape", "reshape", OB_NAMES("t", "shape"), OB_NAMES("r"));
  ob_node(&b, g, "Gemm", "gemm", OB_NAMES("r", "wg", "bg"), OB_NAMES("gm"));
  ob_node(&b, g, "Softmax", "softmax", OB_NAMES("gm"), OB_NAMES("s"));
  n = ob_node(&b, g, "Concat", "concat", OB_NAMES("s", "gm"), OB_NAMES("cat"));
  ob_attr_int(&b, n, "axis", 1);
  ob_node(&b, g, "Slice", "slice", OB_NAMES("cat", "starts", "ends", "axes", "steps"),
          OB_NAMES("sl"));
  n = ob_node(&b, g, "Split", "split", OB_NAMES("sl"), OB_NAMES("h0", "h1"));
  ob_attr_int(&b, n, "axis", 1);
  ob_node(&b, g, "Mul", "mul", OB_NAMES("h0", "h1"), OB_NAMES("m"));
  n = ob_node(&b, g, "ReduceSum", "reduce", OB_NAMES("m"), OB_NAMES("rs"));
  ob_attr_int(&b, n, "keepdims", 0);
  n = ob_node(&b, g, "Gather", "gather", OB_NAMES("cat", "idx"), OB_NAMES("ga"));
  ob_attr_int(&b, n, "axis", 1);
  ob_output(&b, g, "rs", MT_DTYPE_FLOAT32);
  ob_output(&b, g, "ga", MT_DTYPE_FLOAT32);
  return bt_save_model(&b, dir, "kinds.onnx");
}

typedef bt_fixture fixture;

static int setup(void **state) {
  *state = bt_fixture_new(write_model, "kinds.mtbundle");
  return 0;
}

static void test_bundle_loads_and_runs(void **state) {
  fixture *f = *state;
  mtrt_bundle *b = NULL;
  assert_ok(bt_st(mtrt_bundle_open_memory(f->image, f->size, NULL, &b)));
  mtrt_session *s = NULL;
  assert_ok(bt_st(mtrt_session_create(b, NULL, &s)));
  float x[32], rs[1] = {0}, ga[3] = {0};
  for (int i = 0; i < 32; i++) x[i] = (float)(i % 9) / 4.0f - 1.0f;
  assert_ok(bt_st(mtrt_session_bind_input(s, 0, "x", x, sizeof x)));
  assert_ok(bt_st(mtrt_session_bind_output(s, 0, "rs", rs, sizeof rs)));
  assert_ok(bt_st(mtrt_session_bind_output(s, 0, "ga", ga, sizeof ga)));
  assert_ok(bt_st(mtrt_session_run(s, -1)));
  /* ga[1] is softmax element 0 and ga[2] gemm element 4 is no probability; rs sums products of
   * probabilities and raw logits: all finite */
  assert_true(ga[1] > 0 && ga[1] < 1);
  assert_true(rs[0] == rs[0] && ga[0] == ga[0] && ga[2] == ga[2]);
  mtrt_session_destroy(s);
  mtrt_bundle_close(b);
}

/* ---- corruptions ---- */

static void put_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes an n-byte little-endian value at byte `at` of kind's parameters. */
static bool set_param(Mtbundle__Manifest *m, mt_kernel_kind kind, size_t at, uint64_t v, int n) {
  Mtbundle__Node *node = bt_find_node(m, kind);
  if (!node || node->params.len < at + (size_t)n) return false;
  put_le(node->params.data + at, v, n);
  return true;
}

static Mtbundle__TensorType *out_type(Mtbundle__Manifest *m, mt_kernel_kind kind, size_t i) {
  Mtbundle__Node *n = bt_find_node(m, kind);
  return n && i < n->n_outputs ? n->outputs[i]->type : NULL;
}

static bool conv_output_shape(Mtbundle__Manifest *m) {
  Mtbundle__TensorType *t = out_type(m, MT_KERNEL_CONV, 0);
  if (!t || t->n_dims != 4) return false;
  t->dims[3] = 2; /* smaller than the buffer: passes the buffer check, not the call check */
  return true;
}
static bool transpose_output_dtype(Mtbundle__Manifest *m) {
  Mtbundle__TensorType *t = out_type(m, MT_KERNEL_TRANSPOSE, 0);
  if (!t) return false;
  t->dtype = MT_DTYPE_INT32; /* same size as float32 */
  return true;
}
static bool gemm_too_few_inputs(Mtbundle__Manifest *m) {
  Mtbundle__Node *n = bt_find_node(m, MT_KERNEL_GEMM);
  if (!n) return false;
  n->n_inputs = 1;
  return true;
}
static bool gemm_output_shape(Mtbundle__Manifest *m) {
  Mtbundle__TensorType *t = out_type(m, MT_KERNEL_GEMM, 0);
  if (!t || t->n_dims != 2) return false;
  t->dims[1] = 4;
  return true;
}
static bool slice_start_past_dim(Mtbundle__Manifest *m) {
  return set_param(m, MT_KERNEL_SLICE, 8, 100, 8); /* starts[1] */
}
static bool slice_step_zero(Mtbundle__Manifest *m) {
  return set_param(m, MT_KERNEL_SLICE, 64 + 8, 0, 8); /* steps[1] */
}
static bool transpose_not_a_permutation(Mtbundle__Manifest *m) {
  return set_param(m, MT_KERNEL_TRANSPOSE, 4, 0, 4); /* perm[1] = perm[0] */
}
static bool gather_axis_past_rank(Mtbundle__Manifest *m) {
  return set_param(m, MT_KERNEL_GATHER, 0, 5, 4);
}
static bool split_sizes_past_dim(Mtbundle__Manifest *m) {
  return set_param(m, MT_KERNEL_SPLIT, 8, 1000, 8); /* sizes[0] */
}
static bool softmax_view(Mtbundle__Manifest *m) {
  return set_param(m, MT_KERNEL_SOFTMAX, 1, 7, 8); /* outer */
}
static bool reduce_axes_past_rank(Mtbundle__Manifest *m) {
  return set_param(m, MT_KERNEL_REDUCE, 4, 0x80, 4); /* axes mask bit 7 */
}
static bool conv_groups(Mtbundle__Manifest *m) {
  return set_param(m, MT_KERNEL_CONV, 24, 2, 8); /* group = 2 for 2 -> 3 channels */
}
static bool conv_output_missing(Mtbundle__Manifest *m) {
  Mtbundle__Node *n = bt_find_node(m, MT_KERNEL_CONV);
  if (!n) return false;
  n->outputs[0]->kind = MTBUNDLE__BUFFER_REF__KIND__NONE;
  return true;
}
static bool concat_input_shape(Mtbundle__Manifest *m) {
  Mtbundle__Node *n = bt_find_node(m, MT_KERNEL_CONCAT);
  if (!n || n->n_inputs < 2 || n->inputs[1]->type->n_dims != 2) return false;
  n->inputs[1]->type->dims[0] = 0; /* a [0, 5] view of its buffer */
  return true;
}
static bool binary_view(Mtbundle__Manifest *m) {
  return set_param(m, MT_KERNEL_BINARY, 12 + 8, 3, 8); /* a_dims[1] */
}
static bool pool_geometry(Mtbundle__Manifest *m) {
  /* is_max, col_major, count_include_pad, planes (8), nsp (4), in[6], out[6], kernel[6],
   * stride[0] */
  return set_param(m, MT_KERNEL_POOL, 3 + 8 + 4 + 3 * 48, 0, 8);
}
static bool gemm_input_dtype(Mtbundle__Manifest *m) {
  Mtbundle__Node *n = bt_find_node(m, MT_KERNEL_GEMM);
  if (!n || n->inputs[0]->kind == MTBUNDLE__BUFFER_REF__KIND__CONSTANT) return false;
  n->inputs[0]->type->dtype = MT_DTYPE_INT32;
  return true;
}

static bool misaligned_buffer(Mtbundle__Manifest *m) {
  Mtbundle__Node *n = bt_find_node(m, MT_KERNEL_CONV);
  if (!n || n->outputs[0]->kind == MTBUNDLE__BUFFER_REF__KIND__CONSTANT) return false;
  n->outputs[0]->offset += 2; /* the buffer has room (64-byte granules), but float32 at +2 */
  n->outputs[0]->type->dims[3] = 3;
  return true;
}

static const bt_manifest_case CASES[] = {
    {"conv output of another shape", conv_output_shape, "conv call: output 0 has shape"},
    {"transpose output of another dtype", transpose_output_dtype, "is int32, the kernel expects"},
    {"gemm with one input", gemm_too_few_inputs, "input 1 is missing"},
    {"gemm output of another shape", gemm_output_shape, "gemm call: output 0 has shape"},
    {"slice start past the dim", slice_start_past_dim, "dim 1 reads"},
    {"slice step 0", slice_step_zero, "step 0"},
    {"transpose perm repeats a dim", transpose_not_a_permutation, "not a permutation"},
    {"gather axis past the rank", gather_axis_past_rank, "axis 5 is out of range"},
    {"split sizes past the dim", split_sizes_past_dim, "sizes run past"},
    {"softmax view of other elements", softmax_view, "does not view"},
    {"reduce axes past the rank", reduce_axes_past_rank, "axes mask"},
    {"conv groups do not divide", conv_groups, "do not divide"},
    {"conv without an output", conv_output_missing, "output 0 is missing"},
    {"concat input of another shape", concat_input_shape, "an input has shape"},
    {"binary operand view", binary_view, "operand views"},
    {"pool stride 0", pool_geometry, "window geometry"},
    {"misaligned buffer", misaligned_buffer, "not a multiple of its 4-byte elements"},
    {"gemm input of another dtype", gemm_input_dtype,
     "input 1 is float32, the kernel expects int32"},
};

static void test_call_corruptions(void **state) {
  fixture *f = *state;
  bt_expect_manifest_cases(f->image, f->size, CASES, sizeof CASES / sizeof *CASES);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bundle_loads_and_runs),
      cmocka_unit_test(test_call_corruptions),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, setup, bt_fixture_teardown));
}
