/* ONNX import: attribute kinds, initializer encodings, opsets, arbitrary names, corrupt bytes and
 * dangling references. Models are built in memory with protobuf-c (onnx_builder.h). */
#include "test_util.h"

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "onnx_builder.h"

#define MODEL_PATH "/nonexistent/models/m.onnx"

static mt_module *new_module(void) {
  mt_module *m = NULL;
  assert_ok(mt_module_create(NULL, &m));
  return m;
}

static const mt_constant *value_constant(const mt_module *m, mt_value_id v) {
  assert_true(v >= 0);
  const mt_value *val = mt_module_value_c(m, v);
  assert_true(val->constant >= 0);
  return mt_module_constant(m, val->constant);
}

static const mt_attr *node_attr(const mt_module *m, int32_t node, const char *name) {
  const mt_attr *a = mt_node_attr(mt_module_node_c(m, node), name);
  if (!a) print_error("attribute '%s' missing\n", name);
  assert_non_null(a);
  return a;
}

/* ---- every attribute kind ---- */

static void test_attribute_kinds(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  Onnx__NodeProto *n = ob_node(&b, b.graph, "AllAttrs", "all", OB_NAMES("x"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);

  ob_attr_float(&b, n, "f", 1.5f);
  ob_attr_int(&b, n, "i", -7);
  ob_attr_bytes(&b, n, "s", "hello\0world", 11);
  const float tdata[2] = {3.0f, -4.0f};
  ob_attr_tensor(&b, n, "t",
                 ob_tensor_raw(&b, "t_val", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), tdata, sizeof tdata));
  /* a graph that reads the outer-scope x */
  Onnx__GraphProto *sub = ob_graph(&b, "body");
  ob_node(&b, sub, "Identity", "inner_id", OB_NAMES("x"), OB_NAMES("inner_y"));
  ob_output(&b, sub, "inner_y", MT_DTYPE_FLOAT32);
  ob_attr_graph(&b, n, "g", sub);
  const float fl[3] = {0.5f, -1.0f, 1e30f};
  ob_attr_floats(&b, n, "floats", 3, fl);
  const int64_t in[4] = {INT64_MIN, -1, 0, INT64_MAX};
  ob_attr_ints(&b, n, "ints", 4, in);
  ob_attr_strings(&b, n, "strings", 3, OB_NAMES("a", "", "c/d e"));
  Onnx__TensorProto *ts[2] = {
      ob_tensor_int64s(&b, "ts0", 1, OB_DIMS(2), OB_DIMS(10, 20), 2),
      ob_tensor_int32s(&b, "ts1", MT_DTYPE_INT32, 0, NULL, (const int32_t[]){42}, 1),
  };
  ob_attr_tensors(&b, n, "tensors", 2, ts);
  /* sparse, linear indices: values {1,2,3} at flat positions {0,4,5} of a [2,3] tensor */
  ob_attr_sparse(
      &b, n, "sparse_lin",
      ob_sparse(&b, ob_tensor_floats(&b, "sv", 1, OB_DIMS(3), (const float[]){1, 2, 3}, 3),
                ob_tensor_int64s(&b, "si", 1, OB_DIMS(3), OB_DIMS(0, 4, 5), 3), 2, OB_DIMS(2, 3)));
  /* sparse, coordinate indices: values {7,9} at (0,2) and (1,1) */
  ob_attr_sparse(&b, n, "sparse_coo",
                 ob_sparse(&b, ob_tensor_int64s(&b, "cv", 1, OB_DIMS(2), OB_DIMS(7, 9), 2),
                           ob_tensor_int64s(&b, "ci", 2, OB_DIMS(2, 2), OB_DIMS(0, 2, 1, 1), 4), 2,
                           OB_DIMS(2, 3)));

  mt_module *m = new_module();
  int32_t tid = -1;
  assert_ok(ob_import(&b, m, MODEL_PATH, "attrs", &tid));
  assert_int_equal(tid, 0);
  int32_t node = ob_find_node(m, tid, "all");
  assert_true(node >= 0);
  const mt_node *nd = mt_module_node_c(m, node);
  assert_int_equal(nd->n_attrs, 11);

  const mt_attr *a = node_attr(m, node, "f");
  assert_int_equal(a->type, MT_ATTR_FLOAT);
  assert_true(a->f == 1.5f);
  assert_true(mt_node_attr_float(nd, "f", 0.0f) == 1.5f);

  a = node_attr(m, node, "i");
  assert_int_equal(a->type, MT_ATTR_INT);
  assert_int_equal(mt_node_attr_int(nd, "i", 0), -7);

  a = node_attr(m, node, "s");
  assert_int_equal(a->type, MT_ATTR_STRING);
  assert_int_equal(a->s_len, 11);
  assert_memory_equal(a->s, "hello\0world", 12); /* NUL kept, terminated */
  assert_string_equal(mt_node_attr_string(nd, "s", "?"), "hello");

  a = node_attr(m, node, "t");
  assert_int_equal(a->type, MT_ATTR_TENSOR);
  const mt_constant *c = mt_module_constant(m, a->constant);
  assert_int_equal(c->dtype, MT_DTYPE_FLOAT32);
  assert_int_equal(c->rank, 1);
  assert_int_equal(c->dims[0], 2);
  assert_memory_equal(c->data, tdata, sizeof tdata);

  a = node_attr(m, node, "g");
  assert_int_equal(a->type, MT_ATTR_GRAPH);
  assert_non_null(a->graph);
  assert_int_equal(a->count, 1);
  assert_ptr_equal(a->graphs[0], a->graph);
  assert_string_equal(a->graph->name, "body");
  assert_ptr_equal(a->graph->parent, mt_module_tenant_c(m, tid)->graph);
  assert_int_equal(a->graph->n_nodes, 1);
  const mt_node *inner = mt_module_node_c(m, a->graph->nodes[0]);
  assert_ptr_equal(inner->graph, a->graph);
  assert_int_equal(inner->inputs[0], ob_find_value(m, tid, "x")); /* outer value, by id */
  assert_int_equal(a->graph->n_outputs, 1);
  assert_int_equal(a->graph->outputs[0], inner->outputs[0]);

  const float *fv;
  assert_int_equal(mt_node_attr_floats(nd, "floats", &fv), 3);
  assert_memory_equal(fv, fl, sizeof fl);
  const int64_t *iv;
  assert_int_equal(mt_node_attr_ints(nd, "ints", &iv), 4);
  assert_memory_equal(iv, in, sizeof in);
  assert_int_equal(mt_node_attr_ints(nd, "floats", &iv), -1); /* wrong kind reads as absent */
  assert_null(iv);

  a = node_attr(m, node, "strings");
  assert_int_equal(a->type, MT_ATTR_STRINGS);
  assert_int_equal(a->count, 3);
  assert_string_equal(a->strings[0], "a");
  assert_string_equal(a->strings[1], "");
  assert_string_equal(a->strings[2], "c/d e");

  a = node_attr(m, node, "tensors");
  assert_int_equal(a->type, MT_ATTR_TENSORS);
  assert_int_equal(a->count, 2);
  c = mt_module_constant(m, a->constants[0]);
  assert_int_equal(c->dtype, MT_DTYPE_INT64);
  assert_memory_equal(c->data, ((const int64_t[]){10, 20}), 16);
  c = mt_module_constant(m, a->constants[1]);
  assert_int_equal(c->dtype, MT_DTYPE_INT32);
  assert_int_equal(c->rank, 0);
  assert_int_equal(*(const int32_t *)c->data, 42);

  a = node_attr(m, node, "sparse_lin");
  assert_int_equal(a->type, MT_ATTR_TENSOR); /* densified */
  c = mt_module_constant(m, a->constant);
  assert_int_equal(c->dtype, MT_DTYPE_FLOAT32);
  assert_int_equal(c->rank, 2);
  assert_int_equal(c->dims[0], 2);
  assert_int_equal(c->dims[1], 3);
  assert_memory_equal(c->data, ((const float[]){1, 0, 0, 0, 2, 3}), 6 * sizeof(float));

  a = node_attr(m, node, "sparse_coo");
  assert_int_equal(a->type, MT_ATTR_TENSOR);
  c = mt_module_constant(m, a->constant);
  assert_int_equal(c->dtype, MT_DTYPE_INT64);
  assert_memory_equal(c->data, ((const int64_t[]){0, 0, 7, 0, 9, 0}), 6 * sizeof(int64_t));

  assert_ok(mt_verify_module(m));
  mt_module_destroy(m);
  ob_free(&b);
}

/* A sparse index outside the dense shape is corrupt data, not a write out of bounds. */
static void test_sparse_index_out_of_range(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 13);
  Onnx__NodeProto *n = ob_node(&b, b.graph, "Constant", "c", OB_NONE, OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  ob_attr_sparse(&b, n, "sparse_value",
                 ob_sparse(&b, ob_tensor_floats(&b, "sv", 1, OB_DIMS(1), (const float[]){1}, 1),
                           ob_tensor_int64s(&b, "si", 1, OB_DIMS(1), OB_DIMS(6), 1), 2,
                           OB_DIMS(2, 3)));
  mt_module *m = new_module();
  int32_t tid;
  assert_status(ob_import(&b, m, MODEL_PATH, "sp", &tid), MT_DATA_LOSS, MODEL_PATH, "sparse",
                "'c'");
  mt_module_destroy(m);
  ob_free(&b);
}

/* ---- initializers in raw_data and typed fields ---- */

typedef struct init_case {
  const char *name;
  mt_dtype dtype;
  int rank;
  int64_t dims[2];
  const void *expect; /* packed little-endian bytes after import */
  size_t nbytes;
} init_case;

static void test_initializer_encodings(void **state) {
  (void)state;
  const float f32[4] = {1.5f, -2.0f, 3.25f, 0.0f};
  const uint16_t f16[3] = {0x3C00, 0xC000, 0x7BFF}; /* 1.0, -2.0, 65504 */
  const int64_t i64[3] = {INT64_MIN, -1, INT64_MAX};
  const int32_t i32[3] = {INT32_MIN, 7, INT32_MAX};
  const int8_t i8[3] = {-128, -1, 127};
  const uint8_t u8[3] = {0, 200, 255};
  const uint8_t bl[3] = {0, 1, 1};
  const init_case cases[] = {
      {"f32", MT_DTYPE_FLOAT32, 2, {2, 2}, f32, sizeof f32},
      {"f16", MT_DTYPE_FLOAT16, 1, {3}, f16, sizeof f16},
      {"i64", MT_DTYPE_INT64, 1, {3}, i64, sizeof i64},
      {"i32", MT_DTYPE_INT32, 1, {3}, i32, sizeof i32},
      {"i8", MT_DTYPE_INT8, 1, {3}, i8, sizeof i8},
      {"u8", MT_DTYPE_UINT8, 1, {3}, u8, sizeof u8},
      {"bool", MT_DTYPE_BOOL, 1, {3}, bl, sizeof bl},
  };
  const size_t n_cases = sizeof cases / sizeof *cases;
  ob_builder b;
  ob_init(&b, 13);
  int64_t expect_params = 0;
  size_t expect_bytes = 0;
  for (size_t k = 0; k < n_cases; k++) {
    const init_case *c = &cases[k];
    char name[64];
    snprintf(name, sizeof name, "%s_raw", c->name);
    ob_initializer(&b, b.graph,
                   ob_tensor_raw(&b, name, c->dtype, c->rank, c->dims, c->expect, c->nbytes));
    snprintf(name, sizeof name, "%s_typed", c->name);
    size_t count = (size_t)mt_shape_numel(c->rank, c->dims);
    Onnx__TensorProto *t;
    if (c->dtype == MT_DTYPE_FLOAT32) {
      t = ob_tensor_floats(&b, name, c->rank, c->dims, c->expect, count);
    } else if (c->dtype == MT_DTYPE_INT64) {
      t = ob_tensor_int64s(&b, name, c->rank, c->dims, c->expect, count);
    } else { /* int32_data holds int32, int8, uint8, bool and float16 bits */
      int32_t words[4];
      for (size_t i = 0; i < count; i++) {
        switch (c->dtype) {
        case MT_DTYPE_INT32: words[i] = ((const int32_t *)c->expect)[i]; break;
        case MT_DTYPE_INT8: words[i] = ((const int8_t *)c->expect)[i]; break;
        case MT_DTYPE_FLOAT16: words[i] = ((const uint16_t *)c->expect)[i]; break;
        default: words[i] = ((const uint8_t *)c->expect)[i]; break;
        }
      }
      t = ob_tensor_int32s(&b, name, c->dtype, c->rank, c->dims, words, count);
    }
    ob_initializer(&b, b.graph, t);
    expect_params += 2 * (int64_t)count;
    expect_bytes += 2 * c->nbytes;
  }
  /* scalars: rank 0, one element */
  ob_initializer(&b, b.graph,
                 ob_tensor_floats(&b, "scalar_typed", 0, NULL, (const float[]){2.5f}, 1));
  ob_initializer(&b, b.graph,
                 ob_tensor_raw(&b, "scalar_raw", MT_DTYPE_INT64, 0, NULL, OB_DIMS(-3), 8));
  /* empty tensor: a zero dim, no data at all */
  ob_initializer(&b, b.graph, ob_tensor(&b, "empty", MT_DTYPE_FLOAT32, 2, OB_DIMS(0, 4)));
  /* bool bytes other than 0/1 are normalised */
  ob_initializer(&b, b.graph,
                 ob_tensor_raw(&b, "bool_wide", MT_DTYPE_BOOL, 1, OB_DIMS(3), "\x00\x02\xff", 3));
  ob_output(&b, b.graph, "f32_raw", MT_DTYPE_FLOAT32);

  mt_module *m = new_module();
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "inits", &tid));
  for (size_t k = 0; k < n_cases; k++) {
    const init_case *c = &cases[k];
    for (int typed = 0; typed < 2; typed++) {
      char name[64];
      snprintf(name, sizeof name, "%s_%s", c->name, typed ? "typed" : "raw");
      mt_value_id v = ob_find_value(m, tid, name);
      if (v < 0) print_error("value %s missing\n", name);
      const mt_value *val = mt_module_value_c(m, v);
      const mt_constant *con = value_constant(m, v);
      assert_int_equal(val->dtype, c->dtype);
      assert_int_equal(val->rank, c->rank);
      assert_int_equal(con->dtype, c->dtype);
      assert_int_equal(con->nbytes, c->nbytes);
      for (int d = 0; d < c->rank; d++) assert_int_equal(val->dims[d], c->dims[d]);
      if (memcmp(con->data, c->expect, c->nbytes) != 0) print_error("%s: bytes differ\n", name);
      assert_memory_equal(con->data, c->expect, c->nbytes);
    }
    /* raw and typed encodings of the same content are one constant */
    char raw[64], typed[64];
    snprintf(raw, sizeof raw, "%s_raw", c->name);
    snprintf(typed, sizeof typed, "%s_typed", c->name);
    assert_int_equal(mt_module_value_c(m, ob_find_value(m, tid, raw))->constant,
                     mt_module_value_c(m, ob_find_value(m, tid, typed))->constant);
  }
  const mt_constant *con = value_constant(m, ob_find_value(m, tid, "scalar_typed"));
  assert_int_equal(con->rank, 0);
  assert_true(*(const float *)con->data == 2.5f);
  con = value_constant(m, ob_find_value(m, tid, "scalar_raw"));
  assert_int_equal(*(const int64_t *)con->data, -3);
  con = value_constant(m, ob_find_value(m, tid, "empty"));
  assert_int_equal(con->nbytes, 0);
  assert_int_equal(con->dims[0], 0);
  assert_non_null(con->data);
  con = value_constant(m, ob_find_value(m, tid, "bool_wide"));
  assert_memory_equal(con->data, "\x00\x01\x01", 3);

  const mt_tenant *t = mt_module_tenant_c(m, tid);
  assert_int_equal(t->parameter_count, expect_params + 1 + 1 + 0 + 3);
  assert_int_equal(t->parameter_bytes, expect_bytes + 4 + 8 + 0 + 3);
  assert_int_equal(t->graph->n_inputs, 0);
  assert_int_equal(t->graph->n_outputs, 1);
  assert_ok(mt_verify_module(m));
  mt_module_destroy(m);
  ob_free(&b);
}

static void import_one_initializer_expect(Onnx__TensorProto *(*make)(ob_builder *),
                                          mt_status_code code, const char *needle) {
  ob_builder b;
  ob_init(&b, 13);
  ob_initializer(&b, b.graph, make(&b));
  mt_module *m = new_module();
  int32_t tid;
  assert_status(ob_import(&b, m, MODEL_PATH, "bad", &tid), code, MODEL_PATH, "'bad'", "'w_bad'",
                needle);
  mt_module_destroy(m);
  ob_free(&b);
}

static Onnx__TensorProto *raw_too_short(ob_builder *b) {
  return ob_tensor_raw(b, "w_bad", MT_DTYPE_FLOAT32, 1, OB_DIMS(4), "\0\0\0\0\0\0\0\0", 8);
}
static Onnx__TensorProto *typed_count_mismatch(ob_builder *b) {
  return ob_tensor_floats(b, "w_bad", 2, OB_DIMS(2, 2), (const float[]){1, 2, 3}, 3);
}
static Onnx__TensorProto *no_data(ob_builder *b) {
  return ob_tensor(b, "w_bad", MT_DTYPE_INT64, 1, OB_DIMS(2));
}
static Onnx__TensorProto *negative_dim(ob_builder *b) {
  return ob_tensor_raw(b, "w_bad", MT_DTYPE_UINT8, 1, OB_DIMS(-1), "", 0);
}
static Onnx__TensorProto *huge_dims(ob_builder *b) {
  return ob_tensor_raw(b, "w_bad", MT_DTYPE_FLOAT32, 3, OB_DIMS(1 << 30, 1 << 30, 1 << 30), "", 0);
}
/* complex64 (two floats per element): a dtype mtcc does not compute with */
static Onnx__TensorProto *complex_dtype(ob_builder *b) {
  Onnx__TensorProto *t = ob_tensor(b, "w_bad", MT_DTYPE_COMPLEX64, 1, OB_DIMS(1));
  static float re_im[2] = {1.0f, 0.0f};
  t->n_float_data = 2;
  t->float_data = re_im;
  return t;
}

/* A tensor without a name still gets a readable message (no "(null)" from printf). */
static void test_unnamed_tensor_message(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 13);
  Onnx__TensorProto *t = ob_tensor_raw(&b, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(4), "\0\0\0\0", 4);
  t->name = NULL;
  Onnx__NodeProto *n = ob_node(&b, b.graph, "Constant", "konst", OB_NONE, OB_NAMES("y"));
  ob_attr_tensor(&b, n, "value", t);
  mt_module *m = new_module();
  int32_t tid;
  mt_status *st = ob_import(&b, m, MODEL_PATH, "anon", &tid);
  assert_non_null(st);
  if (strstr(mt_status_message(st), "(null)"))
    print_error("message prints a NULL name: %s\n", mt_status_message(st));
  assert_null(strstr(mt_status_message(st), "(null)"));
  assert_non_null(strstr(mt_status_message(st), "'konst'"));
  mt_status_free(st);
  mt_module_destroy(m);
  ob_free(&b);
}

static void test_initializer_errors(void **state) {
  (void)state;
  import_one_initializer_expect(raw_too_short, MT_DATA_LOSS, "raw_data");
  import_one_initializer_expect(typed_count_mismatch, MT_DATA_LOSS, "expected 4 elements");
  import_one_initializer_expect(no_data, MT_DATA_LOSS, "int64");
  import_one_initializer_expect(negative_dim, MT_DATA_LOSS, "negative dim");
  import_one_initializer_expect(huge_dims, MT_DATA_LOSS, "large");
  import_one_initializer_expect(complex_dtype, MT_UNIMPLEMENTED, "complex64");
}

/* ---- opset imports ---- */

static void test_opsets_per_tenant(void **state) {
  (void)state;
  mt_module *m = new_module();
  int32_t tids[2];
  const int versions[2] = {13, 9};
  for (int k = 0; k < 2; k++) {
    ob_builder b;
    ob_init(&b, versions[k]);
    ob_opset(&b, "ai.onnx.ml", 3);
    ob_opset(&b, "com.microsoft", 1);
    ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(4), NULL);
    ob_node(&b, b.graph, "Relu", "default_domain", OB_NAMES("x"), OB_NAMES("a"));
    ob_node(&b, b.graph, "Relu", "explicit_ai_onnx", OB_NAMES("a"), OB_NAMES("b"))->domain =
        ob_strdup(&b, "ai.onnx");
    ob_node(&b, b.graph, "FusedGemm", "ms", OB_NAMES("b"), OB_NAMES("c"))->domain =
        ob_strdup(&b, "com.microsoft");
    ob_node(&b, b.graph, "Scaler", "ml", OB_NAMES("c"), OB_NAMES("d"))->domain =
        ob_strdup(&b, "ai.onnx.ml");
    ob_node(&b, b.graph, "Thing", "unknown_domain", OB_NAMES("d"), OB_NAMES("e"))->domain =
        ob_strdup(&b, "org.example");
    ob_output(&b, b.graph, "e", MT_DTYPE_FLOAT32);
    assert_ok(ob_import(&b, m, MODEL_PATH, k ? "old" : "new", &tids[k]));
    ob_free(&b);
  }
  for (int k = 0; k < 2; k++) {
    const mt_tenant *t = mt_module_tenant_c(m, tids[k]);
    assert_int_equal(t->n_opsets, 3);
    assert_string_equal(t->opsets[0].domain, "");
    assert_int_equal(t->opsets[0].version, versions[k]);
    assert_string_equal(t->opsets[1].domain, "ai.onnx.ml");
    assert_int_equal(t->opsets[1].version, 3);
    assert_string_equal(t->opsets[2].domain, "com.microsoft");
    assert_int_equal(t->opsets[2].version, 1);
    assert_int_equal(t->ir_version, 8);
    assert_string_equal(t->producer_name, "onnx_builder");
    assert_int_equal(mt_module_node_c(m, ob_find_node(m, tids[k], "default_domain"))->opset,
                     versions[k]);
    assert_int_equal(mt_module_node_c(m, ob_find_node(m, tids[k], "explicit_ai_onnx"))->opset,
                     versions[k]);
    assert_int_equal(mt_module_node_c(m, ob_find_node(m, tids[k], "ms"))->opset, 1);
    assert_int_equal(mt_module_node_c(m, ob_find_node(m, tids[k], "ml"))->opset, 3);
    assert_int_equal(mt_module_node_c(m, ob_find_node(m, tids[k], "unknown_domain"))->opset, 0);
    assert_int_equal(mt_module_opset_for(m, tids[k], "ai.onnx"), versions[k]);
    assert_int_equal(mt_module_opset_for(m, tids[k], "org.example"), 0);
  }
  assert_ok(mt_verify_module(m));
  mt_module_destroy(m);
}

/* An opset import spelled "ai.onnx" serves nodes in the default domain. */
static void test_opset_spelled_ai_onnx(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 0);
  ob_opset(&b, "ai.onnx", 17);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(4), NULL);
  ob_node(&b, b.graph, "Relu", "r", OB_NAMES("x"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  mt_module *m = new_module();
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "t", &tid));
  assert_int_equal(mt_module_node_c(m, ob_find_node(m, tid, "r"))->opset, 17);
  mt_module_destroy(m);
  ob_free(&b);
}

/* ---- names are arbitrary strings ---- */

static void test_arbitrary_names(void **state) {
  (void)state;
  const char *in_name = "input/0:x y";
  const char *w_name = "w/eight s.\xc3\xbc"; /* "w/eight s.ü" */
  const char *node_name = "conv/weights \xc3\xbcnic\xc3\xb8"
                          "de \xe2\x9c\x93"; /* "... ✓" */
  const char *out_name = "out put/\xe2\x9c\x93";
  const char *tenant = "tenant with spaces/\xc3\xbc";
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, in_name, MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_initializer(&b, b.graph,
                 ob_tensor_floats(&b, w_name, 1, OB_DIMS(2), (const float[]){1, 2}, 2));
  ob_node(&b, b.graph, "Add", node_name, OB_NAMES(in_name, w_name), OB_NAMES(out_name));
  ob_output(&b, b.graph, out_name, MT_DTYPE_FLOAT32);
  mt_module *m = new_module();
  int32_t tid;
  assert_ok(ob_import(&b, m, "/some dir/\xc3\xbc/model v1.onnx", tenant, &tid));
  assert_int_equal(mt_module_find_tenant(m, tenant), tid);
  assert_string_equal(mt_module_tenant_c(m, tid)->name, tenant);
  assert_string_equal(mt_module_tenant_c(m, tid)->model_path, "/some dir/\xc3\xbc/model v1.onnx");
  int32_t node = ob_find_node(m, tid, node_name);
  assert_true(node >= 0);
  const mt_node *n = mt_module_node_c(m, node);
  assert_string_equal(mt_module_value_c(m, n->inputs[0])->name, in_name);
  assert_string_equal(mt_module_value_c(m, n->inputs[1])->name, w_name);
  assert_string_equal(mt_module_value_c(m, n->outputs[0])->name, out_name);
  const mt_graph *g = mt_module_tenant_c(m, tid)->graph;
  assert_int_equal(g->n_inputs, 1);
  assert_int_equal(g->inputs[0], n->inputs[0]);
  assert_int_equal(g->outputs[0], n->outputs[0]);
  /* the label used in messages carries the names unchanged */
  assert_non_null(strstr(mt_node_label(m, n), node_name));
  assert_non_null(strstr(mt_node_label(m, n), tenant));
  assert_ok(mt_verify_module(m));
  mt_module_destroy(m);
  ob_free(&b);
}

/* Nodes without names get "<op>_<id>" names; a model without a graph is refused. */
static void test_unnamed_nodes_and_no_graph(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_node(&b, b.graph, "Relu", NULL, OB_NAMES("x"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  mt_module *m = new_module();
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "t", &tid));
  assert_string_equal(mt_module_node_c(m, 0)->name, "Relu_0");
  b.model->graph = NULL;
  assert_status(ob_import(&b, m, MODEL_PATH, "t2", &tid), MT_DATA_LOSS, MODEL_PATH, "'t2'",
                "no graph");
  mt_module_destroy(m);
  ob_free(&b);
}

/* ---- truncated and corrupt bytes ---- */

static void build_small_model(ob_builder *b) {
  ob_init(b, 13);
  ob_input(b, b->graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(-1, 3), OB_PARAMS("batch", NULL));
  float w[3] = {1, 2, 3};
  ob_initializer(b, b->graph, ob_tensor_raw(b, "w", MT_DTYPE_FLOAT32, 1, OB_DIMS(3), w, sizeof w));
  Onnx__NodeProto *n = ob_node(b, b->graph, "Add", "add_0", OB_NAMES("x", "w"), OB_NAMES("y"));
  ob_attr_string(b, n, "note", "padding so the model has some length");
  ob_output(b, b->graph, "y", MT_DTYPE_FLOAT32);
}

static void test_truncated_bytes(void **state) {
  (void)state;
  ob_builder b;
  build_small_model(&b);
  size_t len;
  const uint8_t *bytes = ob_pack(&b, &len);
  assert_true(len > 64);
  mt_module *m = new_module();
  int32_t tid;
  assert_status(mt_onnx_import_bytes(m, bytes, len / 2, "/data/cut.onnx", "cut", &tid),
                MT_DATA_LOSS, "/data/cut.onnx");
  mt_module_destroy(m);
  /* every cut must fail cleanly or (at a field boundary) import what is there: never crash */
  int failures = 0;
  for (size_t cut = 0; cut < len; cut++) {
    m = new_module();
    mt_status *st = mt_onnx_import_bytes(m, bytes, cut, "/data/cut.onnx", "cut", &tid);
    if (st) {
      failures++;
      assert_non_null(strstr(mt_status_message(st), "/data/cut.onnx"));
      mt_status_free(st);
    }
    mt_module_destroy(m);
  }
  assert_true(failures > (int)len / 2);
  ob_free(&b);
}

static void test_corrupt_bytes(void **state) {
  (void)state;
  uint8_t junk[4096];
  uint64_t s = 0x9E3779B97F4A7C15ull;
  int refused = 0;
  for (int round = 0; round < 64; round++) {
    for (size_t i = 0; i < sizeof junk; i++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      junk[i] = (uint8_t)s;
    }
    mt_module *m = new_module();
    int32_t tid;
    mt_status *st =
        mt_onnx_import_bytes(m, junk, (size_t)(64 + round * 61), "/data/junk.onnx", "junk", &tid);
    if (st) {
      refused++;
      assert_int_equal(mt_status_code_of(st), MT_DATA_LOSS);
      assert_non_null(strstr(mt_status_message(st), "/data/junk.onnx"));
      mt_status_free(st);
    }
    mt_module_destroy(m);
  }
  assert_int_equal(refused, 64);
  /* no bytes at all: an empty message has no graph */
  mt_module *m = new_module();
  int32_t tid;
  assert_status(mt_onnx_import_bytes(m, "", 0, "/data/empty.onnx", "e", &tid), MT_DATA_LOSS,
                "/data/empty.onnx");
  mt_module_destroy(m);
}

static void test_import_file_errors(void **state) {
  (void)state;
  char *dir = tu_mkdtemp();
  char *missing = tu_join(dir, "missing.onnx");
  char *empty = tu_join(dir, "empty.onnx");
  char *good = tu_join(dir, "good.onnx");
  tu_write_file(empty, "", 0);
  ob_builder b;
  build_small_model(&b);
  size_t len;
  void *bytes = ob_pack(&b, &len);
  tu_write_file(good, bytes, len);
  mt_module *m = new_module();
  int32_t tid;
  assert_status(mt_onnx_import_file(m, missing, "t", &tid), MT_NOT_FOUND, missing);
  assert_status(mt_onnx_import_file(m, empty, "t", &tid), MT_DATA_LOSS, empty, "empty");
  assert_ok(mt_onnx_import_file(m, good, "good", &tid));
  assert_string_equal(mt_module_tenant_c(m, tid)->model_path, good);
  /* a second tenant of the same name is refused */
  assert_status(mt_onnx_import_file(m, good, "good", &tid), MT_INVALID_ARGUMENT, "good", "twice");
  mt_module_destroy(m);
  char name[64];
  mt_tenant_name_from_path("/a/b/my model.v2.onnx", name, sizeof name);
  assert_string_equal(name, "my_model.v2");
  mt_tenant_name_from_path("noext", name, sizeof name);
  assert_string_equal(name, "noext");
  mt_tenant_name_from_path("/x/\xc3\xbc.onnx", name, sizeof name);
  assert_string_equal(name, "__");
  mt_tenant_name_from_path("/x/abcdefgh.onnx", name, 4);
  assert_string_equal(name, "abc");
  tu_rmtree(dir);
  free(missing);
  free(empty);
  free(good);
  free(dir);
  ob_free(&b);
}

/* ---- references to values that do not exist ---- */

static void test_missing_value(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_node(&b, b.graph, "Relu", "relu_0", OB_NAMES("x"), OB_NAMES("r"));
  ob_node(&b, b.graph, "Add", "add_1", OB_NAMES("r", "W_missing"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  mt_module *m = new_module();
  int32_t tid;
  assert_status(ob_import(&b, m, MODEL_PATH, "miss", &tid), MT_INVALID_ARGUMENT, MODEL_PATH,
                "tenant 'miss'", "node 'add_1'", "'W_missing'");
  mt_module_destroy(m);
  ob_free(&b);

  /* an unnamed node is named by its index */
  ob_init(&b, 13);
  ob_node(&b, b.graph, "Relu", NULL, OB_NAMES("ghost"), OB_NAMES("y"));
  m = new_module();
  assert_status(ob_import(&b, m, MODEL_PATH, "miss", &tid), MT_INVALID_ARGUMENT, "node 0 (Relu)",
                "'ghost'");
  mt_module_destroy(m);
  ob_free(&b);

  /* a value used before the node that produces it */
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_node(&b, b.graph, "Relu", "early", OB_NAMES("late"), OB_NAMES("y"));
  ob_node(&b, b.graph, "Relu", "producer", OB_NAMES("x"), OB_NAMES("late"));
  m = new_module();
  assert_status(ob_import(&b, m, MODEL_PATH, "order", &tid), MT_INVALID_ARGUMENT, "'early'",
                "'late'");
  mt_module_destroy(m);
  ob_free(&b);

  /* a graph output nobody produces */
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_output(&b, b.graph, "nowhere", MT_DTYPE_FLOAT32);
  m = new_module();
  assert_status(ob_import(&b, m, MODEL_PATH, "out", &tid), MT_INVALID_ARGUMENT, MODEL_PATH,
                "'nowhere'");
  mt_module_destroy(m);
  ob_free(&b);

  /* a name produced twice */
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_node(&b, b.graph, "Relu", "first", OB_NAMES("x"), OB_NAMES("y"));
  ob_node(&b, b.graph, "Relu", "second", OB_NAMES("x"), OB_NAMES("y"));
  m = new_module();
  assert_status(ob_import(&b, m, MODEL_PATH, "dup", &tid), MT_INVALID_ARGUMENT, "'second'", "'y'",
                "twice");
  mt_module_destroy(m);
  ob_free(&b);
}

/* Optional inputs and outputs left empty map to MT_NO_VALUE. */
static void test_omitted_optionals(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_node(&b, b.graph, "Clip", "clip", OB_NAMES("x", "", "hi"), OB_NAMES("y"));
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "hi", 0, NULL, (const float[]){1}, 1));
  ob_node(&b, b.graph, "Dropout", "drop", OB_NAMES("y"), OB_NAMES("z", ""));
  ob_output(&b, b.graph, "z", MT_DTYPE_FLOAT32);
  mt_module *m = new_module();
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "opt", &tid));
  const mt_node *clip = mt_module_node_c(m, ob_find_node(m, tid, "clip"));
  assert_int_equal(clip->n_inputs, 3);
  assert_int_equal(clip->inputs[1], MT_NO_VALUE);
  assert_int_equal(clip->inputs[2], ob_find_value(m, tid, "hi"));
  const mt_node *drop = mt_module_node_c(m, ob_find_node(m, tid, "drop"));
  assert_int_equal(drop->n_outputs, 2);
  assert_int_equal(drop->outputs[1], MT_NO_VALUE);
  assert_ok(mt_verify_module(m));
  mt_module_destroy(m);
  ob_free(&b);
}

/* IR version 3 models list initializers among the inputs: they stay constants. */
static void test_initializers_listed_as_inputs(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 9);
  b.model->ir_version = 3;
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_input(&b, b.graph, "w", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "w", 1, OB_DIMS(2), (const float[]){1, 2}, 2));
  ob_node(&b, b.graph, "Add", "add", OB_NAMES("x", "w"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  mt_module *m = new_module();
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "old", &tid));
  const mt_graph *g = mt_module_tenant_c(m, tid)->graph;
  assert_int_equal(g->n_inputs, 1);
  assert_string_equal(mt_module_value_c(m, g->inputs[0])->name, "x");
  assert_true(mt_module_value_c(m, ob_find_value(m, tid, "w"))->constant >= 0);
  mt_module_destroy(m);
  ob_free(&b);
}

/* Declared input shapes: fixed dims, symbolic dims, unknown dims, no shape. */
static void test_input_declarations(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "a", MT_DTYPE_FLOAT16, 3, OB_DIMS(-1, 3, -1),
           OB_PARAMS("batch", NULL, NULL));
  ob_input(&b, b.graph, "b", MT_DTYPE_INT64, -1, NULL, NULL);
  ob_input(&b, b.graph, "c", MT_DTYPE_BOOL, 0, NULL, NULL);
  mt_module *m = new_module();
  int32_t tid;
  assert_ok(ob_import(&b, m, MODEL_PATH, "decl", &tid));
  const mt_value *a = mt_module_value_c(m, ob_find_value(m, tid, "a"));
  assert_int_equal(a->dtype, MT_DTYPE_FLOAT16);
  assert_int_equal(a->rank, 3);
  assert_int_equal(a->dims[0], -1);
  assert_string_equal(a->dim_params[0], "batch");
  assert_int_equal(a->dims[1], 3);
  assert_null(a->dim_params[1]);
  assert_int_equal(a->dims[2], -1);
  assert_null(a->dim_params[2]);
  const mt_value *bv = mt_module_value_c(m, ob_find_value(m, tid, "b"));
  assert_int_equal(bv->dtype, MT_DTYPE_INT64);
  assert_int_equal(bv->rank, -1);
  const mt_value *c = mt_module_value_c(m, ob_find_value(m, tid, "c"));
  assert_int_equal(c->rank, 0);
  mt_module_destroy(m);
  ob_free(&b);

  /* rank above MT_MAX_RANK is refused with the input's name */
  ob_init(&b, 13);
  ob_input(&b, b.graph, "deep", MT_DTYPE_FLOAT32, 9, OB_DIMS(1, 1, 1, 1, 1, 1, 1, 1, 1), NULL);
  m = new_module();
  assert_status(ob_import(&b, m, MODEL_PATH, "deep", &tid), MT_UNIMPLEMENTED, "'deep'", "rank 9");
  mt_module_destroy(m);
  ob_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_attribute_kinds),
      cmocka_unit_test(test_sparse_index_out_of_range),
      cmocka_unit_test(test_initializer_encodings),
      cmocka_unit_test(test_initializer_errors),
      cmocka_unit_test(test_unnamed_tensor_message),
      cmocka_unit_test(test_opsets_per_tenant),
      cmocka_unit_test(test_opset_spelled_ai_onnx),
      cmocka_unit_test(test_arbitrary_names),
      cmocka_unit_test(test_unnamed_nodes_and_no_graph),
      cmocka_unit_test(test_truncated_bytes),
      cmocka_unit_test(test_corrupt_bytes),
      cmocka_unit_test(test_import_file_errors),
      cmocka_unit_test(test_missing_value),
      cmocka_unit_test(test_omitted_optionals),
      cmocka_unit_test(test_initializers_listed_as_inputs),
      cmocka_unit_test(test_input_declarations),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
