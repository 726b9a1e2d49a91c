/* Kernel-call descriptors: a lowered node is plain data that runtime/cpu executes on its own.
 * (a) every node of a small mixed model, lowered and copied by value, replays bit for bit after
 * the module is gone; (b) every registered op lowers, except the documented ones that are no
 * kernel; (c) the dispatcher rejects kinds it does not know with a status. */
#include "test_util.h"

#include "frontend/frontend.h"
#include "ir/evaluator.h"
#include "ir/ir.h"
#include "ir/op.h"
#include "onnx_builder.h"
#include "runtime/cpu/kernel_call.h"

#define MODEL_PATH "/nonexistent/kcall.onnx"
#define MAX_NODES 32
#define MAX_IO 4

/* x[2,3,5,5] -> Conv -> Relu -> MaxPool -> Reshape -> Gemm -> Softmax, with side branches
 * through Transpose, ReduceMean, Concat, Add (broadcast), Cast, Slice, Gather, Shape and
 * TopK, so the replay covers the nn, elementwise, data, shape and reduce kernel families. */
static int32_t import_mixed_model(mt_module *m) {
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 4, OB_DIMS(2, 3, 5, 5), NULL);
  float w[4 * 3 * 3 * 3], w2[16 * 5], bias[5];
  for (int i = 0; i < 4 * 3 * 3 * 3; i++) w[i] = (float)((i * 7) % 11 - 5) * 0.125f;
  for (int i = 0; i < 16 * 5; i++) w2[i] = (float)((i * 5) % 13 - 6) * 0.0625f;
  for (int i = 0; i < 5; i++) bias[i] = (float)i * 0.5f - 1.0f;
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "w", 4, OB_DIMS(4, 3, 3, 3), w, 4 * 3 * 3 * 3));
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "w2", 2, OB_DIMS(16, 5), w2, 16 * 5));
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "bias", 1, OB_DIMS(5), bias, 5));
  ob_initializer(&b, b.graph, ob_tensor_int64s(&b, "shape", 1, OB_DIMS(2), OB_DIMS(2, 16), 2));
  ob_initializer(&b, b.graph, ob_tensor_int64s(&b, "starts", 1, OB_DIMS(1), OB_DIMS(1), 1));
  ob_initializer(&b, b.graph, ob_tensor_int64s(&b, "ends", 1, OB_DIMS(1), OB_DIMS(4), 1));
  ob_initializer(&b, b.graph, ob_tensor_int64s(&b, "axes", 1, OB_DIMS(1), OB_DIMS(1), 1));
  ob_initializer(&b, b.graph, ob_tensor_int64s(&b, "idx", 1, OB_DIMS(2), OB_DIMS(1, 0), 2));
  ob_initializer(&b, b.graph, ob_tensor_int64s(&b, "k", 1, OB_DIMS(1), OB_DIMS(2), 1));

  Onnx__NodeProto *conv = ob_node(&b, b.graph, "Conv", "conv", OB_NAMES("x", "w"), OB_NAMES("c"));
  ob_attr_ints(&b, conv, "pads", 4, OB_DIMS(1, 1, 1, 1));
  ob_node(&b, b.graph, "Relu", "relu", OB_NAMES("c"), OB_NAMES("r"));
  Onnx__NodeProto *pool = ob_node(&b, b.graph, "MaxPool", "pool", OB_NAMES("r"), OB_NAMES("p"));
  ob_attr_ints(&b, pool, "kernel_shape", 2, OB_DIMS(2, 2));
  ob_attr_ints(&b, pool, "strides", 2, OB_DIMS(2, 2));
  ob_node(&b, b.graph, "Reshape", "reshape", OB_NAMES("p", "shape"), OB_NAMES("f"));
  ob_node(&b, b.graph, "Gemm", "gemm", OB_NAMES("f", "w2", "bias"), OB_NAMES("g"));
  ob_node(&b, b.graph, "Softmax", "softmax", OB_NAMES("g"), OB_NAMES("s"));
  Onnx__NodeProto *tr =
      ob_node(&b, b.graph, "Transpose", "transpose", OB_NAMES("p"), OB_NAMES("t"));
  ob_attr_ints(&b, tr, "perm", 4, OB_DIMS(0, 2, 3, 1));
  Onnx__NodeProto *rm = ob_node(&b, b.graph, "ReduceMean", "reduce", OB_NAMES("t"), OB_NAMES("m"));
  ob_attr_ints(&b, rm, "axes", 2, OB_DIMS(1, 2));
  ob_attr_int(&b, rm, "keepdims", 0);
  Onnx__NodeProto *cat =
      ob_node(&b, b.graph, "Concat", "concat", OB_NAMES("s", "g", "m"), OB_NAMES("cc"));
  ob_attr_int(&b, cat, "axis", 1);
  ob_node(&b, b.graph, "Add", "add", OB_NAMES("cc", "bias_row"), OB_NAMES("a"));
  ob_node(&b, b.graph, "Slice", "slice", OB_NAMES("a", "starts", "ends", "axes"), OB_NAMES("sl"));
  ob_node(&b, b.graph, "Gather", "gather", OB_NAMES("sl", "idx"), OB_NAMES("ga"));
  Onnx__NodeProto *cast = ob_node(&b, b.graph, "Cast", "cast", OB_NAMES("ga"), OB_NAMES("ci"));
  ob_attr_int(&b, cast, "to", MT_DTYPE_INT64);
  ob_node(&b, b.graph, "Shape", "shape_of", OB_NAMES("ci"), OB_NAMES("sh"));
  ob_node(&b, b.graph, "TopK", "topk", OB_NAMES("a", "k"), OB_NAMES("tv", "ti"));
  ob_initializer(&b, b.graph,
                 ob_tensor_floats(&b, "bias_row", 1, OB_DIMS(14),
                                  (const float[]){1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7},
                                  14));
  ob_output(&b, b.graph, "tv", MT_DTYPE_FLOAT32);
  ob_output(&b, b.graph, "ti", MT_DTYPE_INT64);
  ob_output(&b, b.graph, "sh", MT_DTYPE_INT64);
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "kc", &tid));
  ob_free(&b);
  return tid;
}

/* A tensor that owns a copy of another's bytes. */
static mt_tensor tensor_copy(const mt_tensor *t) {
  mt_tensor c = *t;
  size_t bytes = mt_tensor_nbytes(t);
  c.data = malloc(bytes ? bytes : 1);
  assert_non_null(c.data);
  if (bytes) memcpy(c.data, t->data, bytes);
  return c;
}

typedef struct recorded_node {
  int n_inputs, n_outputs;
  mt_tensor inputs[MAX_IO]; /* owned copies; data NULL for omitted inputs */
  bool has_input[MAX_IO];
  mt_tensor outputs[MAX_IO]; /* the reference executor's results, owned copies */
} recorded_node;

static void test_calls_replay_after_module_is_gone(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid = import_mixed_model(m);
  assert_ok(mt_infer_shapes(m));
  const mt_graph *g = mt_module_tenant_c(m, tid)->graph;
  int n_nodes = g->n_nodes;
  assert_true(n_nodes > 0 && n_nodes <= MAX_NODES);

  float xv[2 * 3 * 5 * 5];
  for (int i = 0; i < 2 * 3 * 5 * 5; i++) xv[i] = (float)((i * 37) % 19 - 9) * 0.25f;
  mt_tensor x = {.dtype = MT_DTYPE_FLOAT32, .rank = 4, .dims = {2, 3, 5, 5}, .data = xv};
  mt_eval *ev;
  assert_ok(mt_eval_create(m, true, &ev));
  mt_eval_set_input(ev, ob_find_value(m, tid, "x"), &x);

  /* Lower each node from the executor's own inputs, then let the executor run it. */
  mt_kernel_call calls[MAX_NODES];
  recorded_node *rec = calloc(MAX_NODES, sizeof *rec);
  assert_non_null(rec);
  bool seen_kind[MT_KERNEL_COUNT] = {false};
  for (int k = 0; k < n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    assert_true(n->n_inputs <= MAX_IO && n->n_outputs <= MAX_IO);
    const mt_tensor *ins[MAX_IO] = {NULL};
    for (int i = 0; i < n->n_inputs; i++)
      if (n->inputs[i] != MT_NO_VALUE) ins[i] = mt_eval_value(ev, n->inputs[i]);
    assert_ok(mt_node_lower(m, n, ins, &calls[k]));
    seen_kind[calls[k].kind] = true;
    rec[k].n_inputs = n->n_inputs;
    rec[k].n_outputs = n->n_outputs;
    for (int i = 0; i < n->n_inputs; i++) {
      rec[k].has_input[i] = ins[i] != NULL;
      if (ins[i]) rec[k].inputs[i] = tensor_copy(ins[i]);
    }
    assert_ok(mt_eval_node(ev, g->nodes[k]));
    for (int i = 0; i < n->n_outputs; i++)
      rec[k].outputs[i] = tensor_copy(mt_eval_value(ev, n->outputs[i]));
  }
  /* The calls must not point into the module: copy their bytes, then free everything else. */
  mt_kernel_call *copies = malloc(sizeof calls);
  assert_non_null(copies);
  memcpy(copies, calls, sizeof calls);
  memset(calls, 0xA5, sizeof calls);
  mt_eval_destroy(ev);
  mt_module_destroy(m);

  assert_true(seen_kind[MT_KERNEL_CONV] && seen_kind[MT_KERNEL_POOL] &&
              seen_kind[MT_KERNEL_SOFTMAX]);
  assert_true(seen_kind[MT_KERNEL_GEMM] && seen_kind[MT_KERNEL_REDUCE] &&
              seen_kind[MT_KERNEL_TOPK] && seen_kind[MT_KERNEL_SHAPE] &&
              seen_kind[MT_KERNEL_BINARY] && seen_kind[MT_KERNEL_COPY]);

  for (int k = 0; k < n_nodes; k++) {
    const mt_tensor *ins[MAX_IO] = {NULL};
    for (int i = 0; i < rec[k].n_inputs; i++)
      if (rec[k].has_input[i]) ins[i] = &rec[k].inputs[i];
    mt_tensor outs[MAX_IO];
    for (int i = 0; i < rec[k].n_outputs; i++) {
      outs[i] = rec[k].outputs[i];
      outs[i].data = calloc(1, mt_tensor_nbytes(&outs[i]) + 1);
      assert_non_null(outs[i].data);
    }
    assert_ok(mt_cpu_kernel_run(&copies[k], rec[k].n_inputs, ins, rec[k].n_outputs, outs));
    for (int i = 0; i < rec[k].n_outputs; i++) {
      size_t bytes = mt_tensor_nbytes(&rec[k].outputs[i]);
      if (memcmp(outs[i].data, rec[k].outputs[i].data, bytes) != 0)
        print_error("node %d (%s) output %d differs from the reference executor's\n", k,
                    mt_kernel_kind_name(copies[k].kind), i);
      assert_memory_equal(outs[i].data, rec[k].outputs[i].data, bytes);
      free(outs[i].data);
    }
  }
  for (int k = 0; k < n_nodes; k++) {
    for (int i = 0; i < rec[k].n_inputs; i++) free(rec[k].inputs[i].data);
    for (int i = 0; i < rec[k].n_outputs; i++) free(rec[k].outputs[i].data);
  }
  free(rec);
  free(copies);
}

/* Ops that are no kernel call: If, Loop, Scan and SequenceMap evaluate subgraphs, Constant copies
 * its attribute (a tensor of any size, which the bundle stores as a constant anyway), and the
 * sequence/optional ops work on container values whose sizes are data (ir/ops/sequence.c). */
static bool is_documented_exception(const char *op_type) {
  static const char *const names[] = {"If",
                                      "Constant",
                                      "Loop",
                                      "Scan",
                                      "SequenceMap",
                                      "SequenceEmpty",
                                      "SequenceConstruct",
                                      "SequenceInsert",
                                      "SequenceErase",
                                      "SequenceAt",
                                      "SequenceLength",
                                      "SplitToSequence",
                                      "ConcatFromSequence",
                                      "Optional",
                                      "OptionalHasElement",
                                      "OptionalGetElement"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(op_type, names[i]) == 0) return true;
  return false;
}

static void test_every_op_lowers(void **state) {
  (void)state;
  assert_true(mt_op_count() > 0);
  for (int i = 0; i < mt_op_count(); i++) {
    const mt_op_def *op = mt_op_at(i);
    bool exception = is_documented_exception(op->op_type);
    if (exception ? op->lower != NULL || op->run == NULL : op->lower == NULL || op->run != NULL)
      print_error("op %s: lower %s, run %s\n", op->op_type, op->lower ? "set" : "missing",
                  op->run ? "set" : "missing");
    assert_true(exception ? op->run != NULL : op->lower != NULL);
    assert_true(exception ? op->lower == NULL : op->run == NULL);
  }
}

static void test_invalid_kind_is_a_status(void **state) {
  (void)state;
  float in_v[2] = {1, 2}, out_v[2] = {0, 0};
  mt_tensor in = {.dtype = MT_DTYPE_FLOAT32, .rank = 1, .dims = {2}, .data = in_v};
  mt_tensor out = {.dtype = MT_DTYPE_FLOAT32, .rank = 1, .dims = {2}, .data = out_v};
  const mt_tensor *ins[1] = {&in};
  mt_kernel_call call;
  memset(&call, 0, sizeof call);
  const int bad_kinds[] = {MT_KERNEL_INVALID, MT_KERNEL_COUNT, MT_KERNEL_COUNT + 7, -1};
  for (size_t i = 0; i < sizeof bad_kinds / sizeof *bad_kinds; i++) {
    call.kind = (mt_kernel_kind)bad_kinds[i];
    assert_status(mt_cpu_kernel_run(&call, 1, ins, 1, &out), MT_INVALID_ARGUMENT, "kernel");
    assert_string_equal(mt_kernel_kind_name(call.kind), "invalid");
  }
  assert_status(mt_cpu_kernel_run(NULL, 1, ins, 1, &out), MT_INVALID_ARGUMENT, "call");
  /* every real kind has a name of its own */
  for (int k = MT_KERNEL_INVALID + 1; k < MT_KERNEL_COUNT; k++)
    assert_string_not_equal(mt_kernel_kind_name((mt_kernel_kind)k), "invalid");
  /* a real kind still runs */
  call.kind = MT_KERNEL_UNARY;
  call.params.unary.op = MT_EW_NEG;
  assert_ok(mt_cpu_kernel_run(&call, 1, ins, 1, &out));
  assert_true(out_v[0] == -1.0f && out_v[1] == -2.0f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_calls_replay_after_module_is_gone),
      cmocka_unit_test(test_every_op_lowers),
      cmocka_unit_test(test_invalid_kind_is_a_status),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
