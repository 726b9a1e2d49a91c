/* Static shape inference and the reference executor on imported models: symbolic dims bound by
 * dim bindings and shape overrides, errors naming tenant/input/dim, shape arithmetic that folds at
 * compile time, If branches reading outer-scope values. */
#include "test_util.h"

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "ir/op.h"
#include "onnx_builder.h"

#define MODEL_PATH "/nonexistent/m.onnx"

/* Skips the calling test when an op it needs is not registered yet (ops come from other
 * work streams; a missing op is reported as skipped, never faked). */
#define REQUIRE_OPS(...)                                                                           \
  do {                                                                                             \
    const char *const req_[] = {__VA_ARGS__, NULL};                                                \
    for (int r_ = 0; req_[r_]; r_++)                                                               \
      if (!mt_op_lookup("", req_[r_])) {                                                           \
        print_message("skipped: op %s is not implemented yet\n", req_[r_]);                        \
        skip();                                                                                    \
      }                                                                                            \
  } while (0)

static void bind_dims(mt_module *m, int32_t tid, int n, const char *const *names,
                      const int64_t *values) {
  mt_tenant *t = mt_module_tenant(m, tid);
  mt_arena *arena = mt_module_arena(m);
  t->dim_bindings = mt_arena_array(arena, (size_t)n, sizeof *t->dim_bindings);
  assert_non_null(t->dim_bindings);
  for (int i = 0; i < n; i++) {
    t->dim_bindings[i].name = mt_arena_strdup(arena, names[i]);
    t->dim_bindings[i].value = values[i];
  }
  t->n_dim_bindings = n;
}

static void override_shape(mt_module *m, int32_t tid, const char *input, int rank,
                           const int64_t *dims) {
  mt_tenant *t = mt_module_tenant(m, tid);
  mt_arena *arena = mt_module_arena(m);
  mt_shape_override *o = mt_arena_array(arena, (size_t)t->n_shape_overrides + 1, sizeof *o);
  assert_non_null(o);
  if (t->n_shape_overrides) memcpy(o, t->shape_overrides, (size_t)t->n_shape_overrides * sizeof *o);
  o[t->n_shape_overrides].input = mt_arena_strdup(arena, input);
  o[t->n_shape_overrides].rank = rank;
  for (int d = 0; d < rank; d++) o[t->n_shape_overrides].dims[d] = dims[d];
  t->shape_overrides = o;
  t->n_shape_overrides++;
}

static void assert_value_shape(const mt_module *m, int32_t tid, const char *name, mt_dtype dtype,
                               int rank, const int64_t *dims) {
  mt_value_id v = ob_find_value(m, tid, name);
  if (v < 0) print_error("value '%s' missing\n", name);
  assert_true(v >= 0);
  const mt_value *val = mt_module_value_c(m, v);
  assert_int_equal(val->dtype, dtype);
  if (val->rank != rank) print_error("value '%s': rank %d, expected %d\n", name, val->rank, rank);
  assert_int_equal(val->rank, rank);
  for (int d = 0; d < rank; d++) {
    if (val->dims[d] != dims[d])
      print_error("value '%s' dim %d: %lld, expected %lld\n", name, d, (long long)val->dims[d],
                  (long long)dims[d]);
    assert_int_equal(val->dims[d], dims[d]);
  }
}

/* x[batch, 3] -> Relu -> Add(w[3]) -> y */
static int32_t import_batch_model(mt_module *m, const char *tenant) {
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(-1, 3), OB_PARAMS("batch", NULL));
  ob_initializer(&b, b.graph,
                 ob_tensor_floats(&b, "w", 1, OB_DIMS(3), (const float[]){1, 2, 3}, 3));
  ob_node(&b, b.graph, "Relu", "relu", OB_NAMES("x"), OB_NAMES("r"));
  ob_node(&b, b.graph, "Add", "add", OB_NAMES("r", "w"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, tenant, &tid));
  ob_free(&b);
  return tid;
}

static void test_dim_bindings(void **state) {
  (void)state;
  REQUIRE_OPS("Relu", "Add");
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t a = import_batch_model(m, "a");
  int32_t b = import_batch_model(m, "b");
  /* the same symbol means different sizes in different tenants */
  bind_dims(m, a, 1, OB_NAMES("batch"), OB_DIMS(5));
  bind_dims(m, b, 2, OB_NAMES("unused", "batch"), OB_DIMS(9, 2));
  assert_ok(mt_infer_shapes(m));
  assert_value_shape(m, a, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(5, 3));
  assert_value_shape(m, a, "r", MT_DTYPE_FLOAT32, 2, OB_DIMS(5, 3));
  assert_value_shape(m, a, "y", MT_DTYPE_FLOAT32, 2, OB_DIMS(5, 3));
  assert_value_shape(m, b, "y", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 3));
  /* the symbol stays recorded on the input */
  assert_string_equal(mt_module_value_c(m, ob_find_value(m, a, "x"))->dim_params[0], "batch");
  mt_module_destroy(m);
}

static void test_shape_overrides(void **state) {
  (void)state;
  REQUIRE_OPS("Relu");
  ob_builder bld;
  ob_init(&bld, 13);
  /* rank known, both dims unknown and unnamed */
  ob_input(&bld, bld.graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(-1, -1), NULL);
  /* no shape at all */
  ob_input(&bld, bld.graph, "z", MT_DTYPE_INT64, -1, NULL, NULL);
  ob_node(&bld, bld.graph, "Relu", "relu", OB_NAMES("x"), OB_NAMES("y"));
  ob_node(&bld, bld.graph, "Relu", "relu_z", OB_NAMES("z"), OB_NAMES("zz"));
  ob_output(&bld, bld.graph, "y", MT_DTYPE_FLOAT32);
  ob_output(&bld, bld.graph, "zz", MT_DTYPE_INT64);
  size_t len;
  void *bytes = ob_pack(&bld, &len);

  mt_module *m;
  int32_t tid;
  assert_ok(mt_module_create(NULL, &m));
  assert_ok(mt_onnx_import_bytes(m, bytes, len, MODEL_PATH, "ov", &tid));
  override_shape(m, tid, "x", 2, OB_DIMS(4, 7));
  override_shape(m, tid, "z", 3, OB_DIMS(1, 2, 3));
  assert_ok(mt_infer_shapes(m));
  assert_value_shape(m, tid, "y", MT_DTYPE_FLOAT32, 2, OB_DIMS(4, 7));
  assert_value_shape(m, tid, "zz", MT_DTYPE_INT64, 3, OB_DIMS(1, 2, 3));
  mt_module_destroy(m);

  /* an override of the wrong rank */
  assert_ok(mt_module_create(NULL, &m));
  assert_ok(mt_onnx_import_bytes(m, bytes, len, MODEL_PATH, "ov", &tid));
  override_shape(m, tid, "x", 3, OB_DIMS(4, 7, 1));
  override_shape(m, tid, "z", 1, OB_DIMS(1));
  assert_status(mt_infer_shapes(m), MT_INVALID_ARGUMENT, "tenant 'ov'", "'x'", "rank");
  mt_module_destroy(m);

  /* an input with no declared shape and no override */
  assert_ok(mt_module_create(NULL, &m));
  assert_ok(mt_onnx_import_bytes(m, bytes, len, MODEL_PATH, "ov", &tid));
  override_shape(m, tid, "x", 2, OB_DIMS(4, 7));
  assert_status(mt_infer_shapes(m), MT_INVALID_ARGUMENT, "tenant 'ov'", "'z'", "shape");
  mt_module_destroy(m);

  /* an unnamed unknown dim without override */
  assert_ok(mt_module_create(NULL, &m));
  assert_ok(mt_onnx_import_bytes(m, bytes, len, MODEL_PATH, "ov", &tid));
  override_shape(m, tid, "z", 1, OB_DIMS(1));
  assert_status(mt_infer_shapes(m), MT_INVALID_ARGUMENT, "tenant 'ov'", "input 'x'", "dim 0");
  mt_module_destroy(m);
  ob_free(&bld);
}

/* An override that contradicts a fixed dim of the model is refused. */
static void test_override_contradicts_fixed_dim(void **state) {
  (void)state;
  REQUIRE_OPS("Relu", "Add");
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid = import_batch_model(m, "fixed");
  override_shape(m, tid, "x", 2, OB_DIMS(2, 4));
  assert_status(mt_infer_shapes(m), MT_INVALID_ARGUMENT, "tenant 'fixed'", "'x'", "dim 1");
  mt_module_destroy(m);
  /* overriding the symbolic dim itself is fine and wins over no binding */
  assert_ok(mt_module_create(NULL, &m));
  tid = import_batch_model(m, "ok");
  override_shape(m, tid, "x", 2, OB_DIMS(6, 3));
  assert_ok(mt_infer_shapes(m));
  assert_value_shape(m, tid, "y", MT_DTYPE_FLOAT32, 2, OB_DIMS(6, 3));
  mt_module_destroy(m);
}

static void test_unbound_dim_error(void **state) {
  (void)state;
  REQUIRE_OPS("Relu", "Add");
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t a = import_batch_model(m, "bound");
  import_batch_model(m, "unbound_tenant");
  bind_dims(m, a, 1, OB_NAMES("batch"), OB_DIMS(1));
  assert_status(mt_infer_shapes(m), MT_INVALID_ARGUMENT, "tenant 'unbound_tenant'", "input 'x'",
                "dim 0", "'batch'");
  mt_module_destroy(m);
}

/* The classic exporter pattern: the target shape of a Reshape computed from Shape(x). */
static void build_shape_chain(ob_builder *b, int opset) {
  ob_init(b, opset);
  ob_input(b, b->graph, "x", MT_DTYPE_FLOAT32, 3, OB_DIMS(-1, 3, 4),
           OB_PARAMS("batch", NULL, NULL));
  ob_initializer(b, b->graph, ob_tensor_int64s(b, "zero", 0, NULL, OB_DIMS(0), 1));
  ob_initializer(b, b->graph, ob_tensor_int64s(b, "minus_one", 1, OB_DIMS(1), OB_DIMS(-1), 1));
  ob_node(b, b->graph, "Shape", "shape", OB_NAMES("x"), OB_NAMES("s"));
  ob_node(b, b->graph, "Gather", "gather", OB_NAMES("s", "zero"), OB_NAMES("n"));
  if (opset >= 13) {
    ob_initializer(b, b->graph, ob_tensor_int64s(b, "axes0", 1, OB_DIMS(1), OB_DIMS(0), 1));
    ob_node(b, b->graph, "Unsqueeze", "unsq", OB_NAMES("n", "axes0"), OB_NAMES("n1"));
  } else {
    Onnx__NodeProto *u = ob_node(b, b->graph, "Unsqueeze", "unsq", OB_NAMES("n"), OB_NAMES("n1"));
    ob_attr_ints(b, u, "axes", 1, OB_DIMS(0));
  }
  Onnx__NodeProto *cat =
      ob_node(b, b->graph, "Concat", "concat", OB_NAMES("n1", "minus_one"), OB_NAMES("target"));
  ob_attr_int(b, cat, "axis", 0);
  ob_node(b, b->graph, "Reshape", "reshape", OB_NAMES("x", "target"), OB_NAMES("y"));
  ob_output(b, b->graph, "y", MT_DTYPE_FLOAT32);
}

static void test_shape_chain_folds(void **state) {
  (void)state;
  REQUIRE_OPS("Shape", "Gather", "Unsqueeze", "Concat", "Reshape");
  const int opsets[2] = {11, 13};
  for (int k = 0; k < 2; k++) {
    ob_builder b;
    build_shape_chain(&b, opsets[k]);
    mt_module *m;
    assert_ok(mt_module_create(NULL, &m));
    int32_t tid;
    assert_ok(ob_import(&b, m, MODEL_PATH, "chain", &tid));
    assert_ok(mt_check_supported(m));
    bind_dims(m, tid, 1, OB_NAMES("batch"), OB_DIMS(2));
    assert_ok(mt_infer_shapes(m));
    assert_value_shape(m, tid, "s", MT_DTYPE_INT64, 1, OB_DIMS(3));
    assert_value_shape(m, tid, "n", MT_DTYPE_INT64, 0, NULL);
    assert_value_shape(m, tid, "n1", MT_DTYPE_INT64, 1, OB_DIMS(1));
    assert_value_shape(m, tid, "target", MT_DTYPE_INT64, 1, OB_DIMS(2));
    assert_value_shape(m, tid, "y", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 12)); /* folded */

    /* and the reference executor agrees on a concrete input */
    float xs[24];
    for (int i = 0; i < 24; i++) xs[i] = (float)i - 11.5f;
    mt_tensor in = {.dtype = MT_DTYPE_FLOAT32, .rank = 3, .dims = {2, 3, 4}, .data = xs};
    mt_tensor out;
    memset(&out, 0, sizeof out);
    assert_ok(mt_reference_run(m, tid, &in, &out));
    assert_int_equal(out.rank, 2);
    assert_int_equal(out.dims[0], 2);
    assert_int_equal(out.dims[1], 12);
    assert_memory_equal(out.data, xs, sizeof xs);
    free(out.data);
    mt_module_destroy(m);
    ob_free(&b);
  }
}

/* A Reshape whose target comes from a runtime input cannot be inferred: the error names it. */
static void test_data_dependent_shape_error(void **state) {
  (void)state;
  REQUIRE_OPS("Reshape");
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(6), NULL);
  ob_input(&b, b.graph, "shape_in", MT_DTYPE_INT64, 1, OB_DIMS(2), NULL);
  ob_node(&b, b.graph, "Reshape", "dyn_reshape", OB_NAMES("x", "shape_in"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "dyn", &tid));
  assert_status(mt_infer_shapes(m), MT_INVALID_ARGUMENT, "tenant 'dyn'", "'dyn_reshape'",
                "'shape_in'");
  mt_module_destroy(m);
  ob_free(&b);
}

static void test_static_shape_mismatch(void **state) {
  (void)state;
  REQUIRE_OPS("MatMul");
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "a", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 3), NULL);
  float w[20] = {0};
  ob_initializer(&b, b.graph,
                 ob_tensor_raw(&b, "w", MT_DTYPE_FLOAT32, 2, OB_DIMS(4, 5), w, sizeof w));
  ob_node(&b, b.graph, "MatMul", "mm_bad", OB_NAMES("a", "w"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "mm", &tid));
  assert_status(mt_infer_shapes(m), MT_INVALID_ARGUMENT, "tenant 'mm'", "'mm_bad'");
  mt_module_destroy(m);
  ob_free(&b);
}

/* If with both branches reading the outer x: then = x + x, else = Identity(x). */
static void test_if_reads_outer_scope(void **state) {
  (void)state;
  REQUIRE_OPS("If", "Add", "Identity");
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "cond", MT_DTYPE_BOOL, 0, NULL, NULL);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(3), NULL);
  Onnx__GraphProto *then_g = ob_graph(&b, "then");
  ob_node(&b, then_g, "Add", "then_add", OB_NAMES("x", "x"), OB_NAMES("then_y"));
  ob_output(&b, then_g, "then_y", MT_DTYPE_FLOAT32);
  Onnx__GraphProto *else_g = ob_graph(&b, "else");
  ob_node(&b, else_g, "Identity", "else_id", OB_NAMES("x"), OB_NAMES("else_y"));
  ob_output(&b, else_g, "else_y", MT_DTYPE_FLOAT32);
  Onnx__NodeProto *n = ob_node(&b, b.graph, "If", "if", OB_NAMES("cond"), OB_NAMES("y"));
  ob_attr_graph(&b, n, "then_branch", then_g);
  ob_attr_graph(&b, n, "else_branch", else_g);
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  /* a second If whose branches output outer values directly, with no nodes at all */
  Onnx__GraphProto *pass_x = ob_graph(&b, "pass_x");
  ob_output(&b, pass_x, "x", MT_DTYPE_FLOAT32);
  Onnx__GraphProto *pass_y = ob_graph(&b, "pass_y");
  ob_output(&b, pass_y, "y", MT_DTYPE_FLOAT32);
  Onnx__NodeProto *n2 =
      ob_node(&b, b.graph, "If", "if_passthrough", OB_NAMES("cond"), OB_NAMES("z"));
  ob_attr_graph(&b, n2, "then_branch", pass_x);
  ob_attr_graph(&b, n2, "else_branch", pass_y);
  ob_output(&b, b.graph, "z", MT_DTYPE_FLOAT32);

  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "iff", &tid));
  assert_ok(mt_verify_module(m));
  mt_value_id x = ob_find_value(m, tid, "x");
  const mt_node *then_add = mt_module_node_c(m, ob_find_node(m, tid, "then_add"));
  assert_int_equal(then_add->inputs[0], x);
  assert_int_equal(then_add->inputs[1], x);
  assert_ptr_not_equal(then_add->graph, mt_module_tenant_c(m, tid)->graph);
  assert_ptr_equal(then_add->graph->parent, mt_module_tenant_c(m, tid)->graph);
  assert_int_equal(mt_module_node_c(m, ob_find_node(m, tid, "else_id"))->inputs[0], x);

  assert_ok(mt_check_supported(m));
  assert_ok(mt_infer_shapes(m));
  assert_value_shape(m, tid, "y", MT_DTYPE_FLOAT32, 1, OB_DIMS(3));
  assert_value_shape(m, tid, "z", MT_DTYPE_FLOAT32, 1, OB_DIMS(3));

  float xs[3] = {1.0f, -2.0f, 0.5f};
  for (int c = 0; c < 2; c++) {
    uint8_t cond = (uint8_t)c;
    mt_tensor in[2] = {{.dtype = MT_DTYPE_BOOL, .rank = 0, .data = &cond},
                       {.dtype = MT_DTYPE_FLOAT32, .rank = 1, .dims = {3}, .data = xs}};
    mt_tensor out[2];
    memset(out, 0, sizeof out);
    assert_ok(mt_reference_run(m, tid, in, out));
    const float *y = out[0].data, *z = out[1].data;
    for (int i = 0; i < 3; i++) assert_true(y[i] == (c ? 2.0f * xs[i] : xs[i]));
    for (int i = 0; i < 3; i++) assert_true(z[i] == (c ? xs[i] : y[i])); /* then: x, else: y */
    free(out[0].data);
    free(out[1].data);
  }
  mt_module_destroy(m);
  ob_free(&b);
}

/* A branch may only read outer values defined before the If node. */
static void test_if_reads_later_value(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "cond", MT_DTYPE_BOOL, 0, NULL, NULL);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(3), NULL);
  Onnx__GraphProto *then_g = ob_graph(&b, "then");
  ob_node(&b, then_g, "Identity", "then_id", OB_NAMES("later"), OB_NAMES("then_y"));
  ob_output(&b, then_g, "then_y", MT_DTYPE_FLOAT32);
  Onnx__NodeProto *n = ob_node(&b, b.graph, "If", "if", OB_NAMES("cond"), OB_NAMES("y"));
  ob_attr_graph(&b, n, "then_branch", then_g);
  ob_attr_graph(&b, n, "else_branch", then_g);
  ob_node(&b, b.graph, "Identity", "make_later", OB_NAMES("x"), OB_NAMES("later"));
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  assert_status(ob_import(&b, m, MODEL_PATH, "late", &tid), MT_INVALID_ARGUMENT, "'then_id'",
                "'later'");
  mt_module_destroy(m);
  ob_free(&b);
}

/* The reference executor checks given inputs against the model's declarations. */
static void test_reference_input_checks(void **state) {
  (void)state;
  REQUIRE_OPS("Add");
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "p", MT_DTYPE_FLOAT32, 2, OB_DIMS(-1, 3), OB_PARAMS("n", NULL));
  ob_input(&b, b.graph, "q", MT_DTYPE_FLOAT32, 2, OB_DIMS(-1, 3), OB_PARAMS("n", NULL));
  ob_node(&b, b.graph, "Add", "add", OB_NAMES("p", "q"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "chk", &tid));
  float d[12] = {0};
  int64_t di[12] = {0};
  mt_tensor out[1];
  mt_tensor ok[2] = {{.dtype = MT_DTYPE_FLOAT32, .rank = 2, .dims = {2, 3}, .data = d},
                     {.dtype = MT_DTYPE_FLOAT32, .rank = 2, .dims = {2, 3}, .data = d}};
  memset(out, 0, sizeof out);
  assert_ok(mt_reference_run(m, tid, ok, out));
  assert_int_equal(out[0].dims[0], 2);
  free(out[0].data);

  mt_tensor in[2];
  memcpy(in, ok, sizeof in);
  in[1].dtype = MT_DTYPE_INT64;
  in[1].data = di;
  assert_status(mt_reference_run(m, tid, in, out), MT_INVALID_ARGUMENT, "tenant 'chk'", "'q'",
                "float32", "int64");
  memcpy(in, ok, sizeof in);
  in[0].rank = 1;
  assert_status(mt_reference_run(m, tid, in, out), MT_INVALID_ARGUMENT, "'p'", "rank");
  memcpy(in, ok, sizeof in);
  in[0].dims[1] = 4;
  assert_status(mt_reference_run(m, tid, in, out), MT_INVALID_ARGUMENT, "'p'", "dim 1");
  memcpy(in, ok, sizeof in);
  in[1].dims[0] = 4; /* 'n' is 2 in p but 4 in q */
  assert_status(mt_reference_run(m, tid, in, out), MT_INVALID_ARGUMENT, "'n'", "'p'", "'q'");
  memcpy(in, ok, sizeof in);
  in[1].data = NULL;
  assert_status(mt_reference_run(m, tid, in, out), MT_INVALID_ARGUMENT, "'q'");
  assert_error(mt_reference_run(m, 7, ok, out), MT_OUT_OF_RANGE);
  mt_module_destroy(m);
  ob_free(&b);
}

/* Unsupported ops are all listed in one status, each with tenant and node. */
static void test_check_supported_lists_all(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 3, OB_DIMS(1, 2, 3), NULL);
  ob_node(&b, b.graph, "Bernoulli", "bern_1", OB_NAMES("x"), OB_NAMES("h"));
  ob_node(&b, b.graph, "RandomUniformLike", "rand_0", OB_NAMES("h"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "unsup", &tid));
  assert_status(mt_check_supported(m), MT_UNIMPLEMENTED, "tenant 'unsup'", "'bern_1'", "Bernoulli",
                "'rand_0'", "RandomUniformLike");
  mt_module_destroy(m);
  ob_free(&b);

  /* a model that imports no opset for the default domain */
  ob_init(&b, 0);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_node(&b, b.graph, "Relu", "r", OB_NAMES("x"), OB_NAMES("y"));
  assert_ok(mt_module_create(NULL, &m));
  assert_ok(ob_import(&b, m, MODEL_PATH, "noopset", &tid));
  if (mt_op_lookup("", "Relu"))
    assert_status(mt_check_supported(m), MT_UNIMPLEMENTED, "'noopset'", "'r'", "opset");
  mt_module_destroy(m);
  ob_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dim_bindings),
      cmocka_unit_test(test_shape_overrides),
      cmocka_unit_test(test_override_contradicts_fixed_dim),
      cmocka_unit_test(test_unbound_dim_error),
      cmocka_unit_test(test_shape_chain_folds),
      cmocka_unit_test(test_data_dependent_shape_error),
      cmocka_unit_test(test_static_shape_mismatch),
      cmocka_unit_test(test_if_reads_outer_scope),
      cmocka_unit_test(test_if_reads_later_value),
      cmocka_unit_test(test_reference_input_checks),
      cmocka_unit_test(test_check_supported_lists_all),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
