/* Tests of the cleanup passes: fold-constants, canonicalize, dce.
 *
 * Small modules built with the mt_module_* API check each rewrite happens where legal and is not
 * made where illegal. With --models DIR each real model is run on the reference
 * executor before and after the passes: fold + canonicalize + dce must stay within 1e-5 relative
 * L2 (BN folding refolds arithmetic), fold + dce alone must be bit-identical, and node counts
 * must drop (printed per model and per op). */
#include "tests/unit/test_util.h"
#include "test_groups.h"

#include <math.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"

static const char *models_dir;

/* ------------------------------------------------------------------ hand-built modules */

typedef struct hb {
  mt_module *m;
  int32_t t;
  mt_graph *g;
} hb;

static hb hb_new(int opset) {
  hb b;
  assert_ok(mt_module_create(NULL, &b.m));
  assert_ok(mt_module_add_tenant(b.m, "t", "", &b.t));
  mt_tenant *t = mt_module_tenant(b.m, b.t);
  t->opsets = mt_arena_array(mt_module_arena(b.m), 1, sizeof *t->opsets);
  assert_non_null(t->opsets);
  t->opsets[0] = (mt_opset_import){"", opset};
  t->n_opsets = 1;
  b.g = t->graph;
  return b;
}

static mt_value_id *grow_ids(hb *b, const mt_value_id *old, int n, mt_value_id add) {
  mt_value_id *p = mt_arena_array(mt_module_arena(b->m), (size_t)n + 1, sizeof *p);
  assert_non_null(p);
  if (n) memcpy(p, old, (size_t)n * sizeof *p);
  p[n] = add;
  return p;
}

static mt_value_id hb_input(hb *b, const char *name, mt_dtype dt, int rank, const int64_t *dims) {
  mt_value_id v;
  assert_ok(mt_module_add_value(b->m, b->g, name, &v));
  mt_value *val = mt_module_value(b->m, v);
  val->dtype = dt;
  val->rank = rank;
  for (int d = 0; d < rank; d++) val->dims[d] = dims[d];
  b->g->inputs = grow_ids(b, b->g->inputs, b->g->n_inputs, v);
  b->g->n_inputs++;
  return v;
}

static void hb_output(hb *b, mt_value_id v) {
  b->g->outputs = grow_ids(b, b->g->outputs, b->g->n_outputs, v);
  b->g->n_outputs++;
}

static mt_value_id hb_const(hb *b, const char *name, mt_dtype dt, int rank, const int64_t *dims,
                            const void *data) {
  mt_tensor t = {.dtype = dt, .rank = rank, .data = (void *)data};
  for (int d = 0; d < rank; d++) t.dims[d] = dims[d];
  mt_value_id v;
  assert_ok(mt_module_add_constant_value(b->m, b->g, name, &t, &v));
  return v;
}

/* Deterministic pseudo-random floats in [lo, hi). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double rng_next(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(rng_state >> 11) / 9007199254740992.0;
}

static mt_value_id hb_const_rand(hb *b, const char *name, int rank, const int64_t *dims, double lo,
                                 double hi) {
  int64_t n = mt_shape_numel(rank, dims);
  float *p = malloc(sizeof *p * (size_t)(n ? n : 1));
  assert_non_null(p);
  for (int64_t i = 0; i < n; i++) p[i] = (float)(lo + (hi - lo) * rng_next());
  mt_value_id v = hb_const(b, name, MT_DTYPE_FLOAT32, rank, dims, p);
  free(p);
  return v;
}

static mt_attr *hb_attrs(hb *b, int n) {
  mt_attr *a = mt_arena_array(mt_module_arena(b->m), (size_t)(n ? n : 1), sizeof *a);
  assert_non_null(a);
  return a;
}

static mt_attr attr_int(const char *name, int64_t v) {
  return (mt_attr){.name = name, .type = MT_ATTR_INT, .i = v};
}
static mt_attr attr_float(const char *name, float v) {
  return (mt_attr){.name = name, .type = MT_ATTR_FLOAT, .f = v};
}
static mt_attr attr_ints(hb *b, const char *name, int n, const int64_t *v) {
  int64_t *p = mt_arena_array(mt_module_arena(b->m), (size_t)n, sizeof *p);
  assert_non_null(p);
  memcpy(p, v, (size_t)n * sizeof *p);
  return (mt_attr){.name = name, .type = MT_ATTR_INTS, .count = n, .ints = p};
}

/* Adds node op(ins) -> one new output value named out_name; attrs copied into the arena. */
static mt_value_id hb_node_g(hb *b, mt_graph *g, const char *op, int n_in, const mt_value_id *ins,
                             const char *out_name, int n_attrs, const mt_attr *attrs) {
  mt_value_id out;
  assert_ok(mt_module_add_value(b->m, g, out_name, &out));
  mt_attr *a = hb_attrs(b, n_attrs);
  for (int i = 0; i < n_attrs; i++) a[i] = attrs[i];
  int32_t id;
  assert_ok(mt_module_add_node(b->m, g, out_name, op, "", n_in, ins, 1, &out, n_attrs, a, &id));
  return out;
}
static mt_value_id hb_node(hb *b, const char *op, int n_in, const mt_value_id *ins,
                           const char *out_name, int n_attrs, const mt_attr *attrs) {
  return hb_node_g(b, b->g, op, n_in, ins, out_name, n_attrs, attrs);
}
#define IDS(...) ((const mt_value_id[]){__VA_ARGS__})
#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define ATTRS(...) ((const mt_attr[]){__VA_ARGS__})

/* Live nodes of op type `op` (NULL: all) in tenant 0's main graph. */
static int count_ops(const mt_module *m, const char *op) {
  const mt_graph *g = mt_module_tenant_c(m, 0)->graph;
  int n = 0;
  for (int k = 0; k < g->n_nodes; k++)
    if (!op || strcmp(mt_module_node_c(m, g->nodes[k])->op_type, op) == 0) n++;
  return n;
}

static const mt_node *first_op(const mt_module *m, const char *op) {
  const mt_graph *g = mt_module_tenant_c(m, 0)->graph;
  for (int k = 0; k < g->n_nodes; k++)
    if (strcmp(mt_module_node_c(m, g->nodes[k])->op_type, op) == 0)
      return mt_module_node_c(m, g->nodes[k]);
  return NULL;
}

/* Random inputs for every graph input of tenant t (fixed seed): floats in [-1, 1), integers and
 * bools in {0, 1} (valid token ids / masks for the models used here). */
static mt_tensor *make_inputs(const mt_module *m, int32_t t, uint64_t seed) {
  const mt_graph *g = mt_module_tenant_c(m, t)->graph;
  mt_tensor *in = calloc((size_t)g->n_inputs + 1, sizeof *in);
  assert_non_null(in);
  rng_state = seed;
  for (int i = 0; i < g->n_inputs; i++) {
    const mt_value *v = mt_module_value_c(m, g->inputs[i]);
    in[i].dtype = v->dtype;
    in[i].rank = v->rank;
    for (int d = 0; d < v->rank; d++) in[i].dims[d] = v->dims[d];
    int64_t n = mt_tensor_numel(&in[i]);
    in[i].data = calloc(1, mt_tensor_nbytes(&in[i]) + 1);
    assert_non_null(in[i].data);
    for (int64_t j = 0; j < n; j++) {
      double r = rng_next();
      mt_tensor_set_f64(&in[i], j,
                        mt_dtype_is_float(v->dtype) ? 2.0 * r - 1.0 : (double)(r < 0.5 ? 0 : 1));
    }
  }
  return in;
}

static void free_tensors(mt_tensor *t, int n) {
  for (int i = 0; t && i < n; i++) free(t[i].data);
  free(t);
}

static mt_tensor *run_ref(const mt_module *m, int32_t t, const mt_tensor *in) {
  int n = mt_module_tenant_c(m, t)->graph->n_outputs;
  mt_tensor *out = calloc((size_t)n + 1, sizeof *out);
  assert_non_null(out);
  assert_ok(mt_reference_run(m, t, in, out));
  return out;
}

/* Largest relative L2 error over the outputs; integer outputs must match exactly. */
static double rel_l2(const mt_tensor *a, const mt_tensor *b, int n) {
  double worst = 0.0;
  for (int i = 0; i < n; i++) {
    assert_int_equal(a[i].dtype, b[i].dtype);
    assert_int_equal(a[i].rank, b[i].rank);
    for (int d = 0; d < a[i].rank; d++) assert_int_equal(a[i].dims[d], b[i].dims[d]);
    double num = 0.0, den = 0.0;
    for (int64_t j = 0; j < mt_tensor_numel(&a[i]); j++) {
      double x = mt_tensor_get_f64(&a[i], j), y = mt_tensor_get_f64(&b[i], j);
      if (!mt_dtype_is_float(a[i].dtype)) assert_true(x == y);
      num += (x - y) * (x - y);
      den += x * x;
    }
    double e = den > 0 ? sqrt(num / den) : sqrt(num);
    if (e > worst) worst = e;
  }
  return worst;
}

static bool bit_identical(const mt_tensor *a, const mt_tensor *b, int n) {
  for (int i = 0; i < n; i++) {
    if (a[i].dtype != b[i].dtype || a[i].rank != b[i].rank) return false;
    if (mt_tensor_nbytes(&a[i]) != mt_tensor_nbytes(&b[i])) return false;
    if (memcmp(a[i].data, b[i].data, mt_tensor_nbytes(&a[i])) != 0) return false;
  }
  return true;
}

enum { PASS_FOLD = 1, PASS_CANON = 2, PASS_DCE = 4, PASS_ALL = 7 };

static void run_passes(mt_module *m, int which) {
  mt_pass_ctx ctx = {.module = m};
  if (which & PASS_FOLD) {
    assert_ok(mt_pass_fold_constants(&ctx));
    assert_ok(mt_verify_module(m));
  }
  if (which & PASS_CANON) {
    assert_ok(mt_pass_canonicalize(&ctx));
    assert_ok(mt_verify_module(m));
  }
  if (which & PASS_DCE) {
    assert_ok(mt_pass_dce(&ctx));
    assert_ok(mt_verify_module(m));
  }
}

/* Infers shapes, runs, applies `which`, runs again; returns the relative error (and checks
 * bit-identity when `exact`). */
static double check_passes(hb *b, int which, bool exact) {
  assert_ok(mt_verify_module(b->m));
  assert_ok(mt_infer_shapes(b->m));
  int n_out = b->g->n_outputs;
  mt_tensor *in = make_inputs(b->m, b->t, 1234);
  mt_tensor *before = run_ref(b->m, b->t, in);
  run_passes(b->m, which);
  mt_tensor *after = run_ref(b->m, b->t, in);
  double e = rel_l2(before, after, n_out);
  if (exact) assert_true(bit_identical(before, after, n_out));
  free_tensors(in, b->g->n_inputs);
  free_tensors(before, n_out);
  free_tensors(after, n_out);
  return e;
}

/* Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds to one Reshape; a Constant node that
 * is a graph output becomes a constant under the same name. */
static void test_fold_shape_chain(void **state) {
  (void)state;
  hb b = hb_new(13);
  mt_value_id x = hb_input(&b, "x", MT_DTYPE_FLOAT32, 3, DIMS(2, 3, 4));
  int64_t zero = 0, axes0 = 0, minus1 = -1;
  mt_value_id i0 = hb_const(&b, "i0", MT_DTYPE_INT64, 0, NULL, &zero);
  mt_value_id ax = hb_const(&b, "axes", MT_DTYPE_INT64, 1, DIMS(1), &axes0);
  mt_value_id m1 = hb_const(&b, "m1", MT_DTYPE_INT64, 1, DIMS(1), &minus1);
  mt_value_id s = hb_node(&b, "Shape", 1, IDS(x), "s", 0, NULL);
  mt_value_id d0 = hb_node(&b, "Gather", 2, IDS(s, i0), "d0", 1, ATTRS(attr_int("axis", 0)));
  mt_value_id u = hb_node(&b, "Unsqueeze", 2, IDS(d0, ax), "u", 0, NULL);
  mt_value_id shp = hb_node(&b, "Concat", 2, IDS(u, m1), "shp", 1, ATTRS(attr_int("axis", 0)));
  mt_value_id y = hb_node(&b, "Reshape", 2, IDS(x, shp), "y", 0, NULL);
  hb_output(&b, y);
  float cv[2] = {1.5f, -2.0f};
  int64_t cdims[1] = {2};
  int32_t cid;
  assert_ok(mt_module_intern_constant(b.m, MT_DTYPE_FLOAT32, 1, cdims, cv, sizeof cv, &cid));
  mt_attr value = {.name = "value", .type = MT_ATTR_TENSOR, .constant = cid};
  mt_value_id c = hb_node(&b, "Constant", 0, NULL, "c_out", 1, &value);
  hb_output(&b, c);
  check_passes(&b, PASS_FOLD | PASS_DCE, true);
  assert_int_equal(count_ops(b.m, NULL), 1);
  assert_int_equal(count_ops(b.m, "Reshape"), 1);
  const mt_value *cval = mt_module_value_c(b.m, b.g->outputs[1]);
  assert_true(cval->constant >= 0);
  assert_string_equal(cval->name, "c_out");
  mt_module_destroy(b.m);
}

/* A ConstantOfShape whose result exceeds the fold cap stays a node. */
static void test_fold_cap(void **state) {
  (void)state;
  hb b = hb_new(13);
  /* 16 GB: over the fold cap whatever the machine; the budget (machine-dependent by default)
   * is raised so that this checks the cap, not the memory limit */
  mt_module_set_memory_limit(b.m, (size_t)1 << 40);
  mt_value_id x = hb_input(&b, "x", MT_DTYPE_FLOAT32, 1, DIMS(2));
  int64_t big[2] = {65536, 65536}, small[1] = {2};
  mt_value_id sb = hb_const(&b, "big", MT_DTYPE_INT64, 1, DIMS(2), big);
  mt_value_id ss = hb_const(&b, "small", MT_DTYPE_INT64, 1, DIMS(1), small);
  mt_value_id huge = hb_node(&b, "ConstantOfShape", 1, IDS(sb), "huge", 0, NULL);
  mt_value_id tiny = hb_node(&b, "ConstantOfShape", 1, IDS(ss), "tiny", 0, NULL);
  mt_value_id y = hb_node(&b, "Add", 2, IDS(x, tiny), "y", 0, NULL);
  hb_output(&b, y);
  hb_output(&b, huge);
  assert_ok(mt_infer_shapes(b.m));
  run_passes(b.m, PASS_FOLD | PASS_DCE);
  assert_int_equal(count_ops(b.m, "ConstantOfShape"), 1); /* the huge one */
  assert_int_equal(count_ops(b.m, "Add"), 1);
  assert_true(mt_module_value_c(b.m, tiny)->constant >= 0);
  mt_module_destroy(b.m);
}

/* Conv -> BN: BN folds; with a second reader of the conv output it must not. */
static void build_conv_bn(hb *b, bool second_reader, bool with_bias) {
  mt_value_id x = hb_input(b, "x", MT_DTYPE_FLOAT32, 4, DIMS(1, 2, 5, 5));
  mt_value_id w = hb_const_rand(b, "w", 4, DIMS(3, 2, 3, 3), -1, 1);
  mt_value_id cb = hb_const_rand(b, "cb", 1, DIMS(3), -1, 1);
  mt_attr pads = attr_ints(b, "pads", 4, DIMS(1, 1, 1, 1));
  mt_value_id y = with_bias ? hb_node(b, "Conv", 3, IDS(x, w, cb), "y", 1, &pads)
                            : hb_node(b, "Conv", 2, IDS(x, w), "y", 1, &pads);
  mt_value_id g = hb_const_rand(b, "gamma", 1, DIMS(3), 0.5, 1.5);
  mt_value_id be = hb_const_rand(b, "beta", 1, DIMS(3), -1, 1);
  mt_value_id mu = hb_const_rand(b, "mean", 1, DIMS(3), -1, 1);
  mt_value_id var = hb_const_rand(b, "var", 1, DIMS(3), 0.1, 2);
  mt_value_id z = hb_node(b, "BatchNormalization", 5, IDS(y, g, be, mu, var), "z", 1,
                          ATTRS(attr_float("epsilon", 1e-3f)));
  hb_output(b, z);
  if (second_reader) hb_output(b, hb_node(b, "Relu", 1, IDS(y), "r", 0, NULL));
}

static void test_bn_into_conv(void **state) {
  (void)state;
  for (int bias = 0; bias < 2; bias++) {
    hb b = hb_new(15);
    build_conv_bn(&b, false, bias != 0);
    double e = check_passes(&b, PASS_ALL, false);
    assert_true(e <= 1e-5);
    assert_int_equal(count_ops(b.m, "BatchNormalization"), 0);
    assert_int_equal(count_ops(b.m, NULL), 1);
    const mt_node *conv = first_op(b.m, "Conv");
    assert_non_null(conv);
    assert_int_equal(conv->n_inputs, 3);
    assert_string_equal(mt_module_value_c(b.m, conv->outputs[0])->name, "z");
    mt_module_destroy(b.m);
  }
}

static void test_bn_conv_two_readers(void **state) {
  (void)state;
  hb b = hb_new(15);
  build_conv_bn(&b, true, true);
  check_passes(&b, PASS_ALL, true);
  assert_int_equal(count_ops(b.m, "BatchNormalization"), 1);
  assert_int_equal(count_ops(b.m, "Conv"), 1);
  mt_module_destroy(b.m);
}

/* Gemm(alpha, beta, transB, C) -> BN folds into the Gemm; a standalone BN stays. */
static void test_bn_into_gemm(void **state) {
  (void)state;
  hb b = hb_new(13);
  mt_value_id a = hb_input(&b, "a", MT_DTYPE_FLOAT32, 2, DIMS(4, 6));
  mt_value_id w = hb_const_rand(&b, "w", 2, DIMS(5, 6), -1, 1);
  mt_value_id c = hb_const_rand(&b, "c", 1, DIMS(5), -1, 1);
  mt_value_id y =
      hb_node(&b, "Gemm", 3, IDS(a, w, c), "y", 3,
              ATTRS(attr_int("transB", 1), attr_float("alpha", 0.5f), attr_float("beta", 2.0f)));
  mt_value_id p[4];
  p[0] = hb_const_rand(&b, "gamma", 1, DIMS(5), 0.5, 1.5);
  p[1] = hb_const_rand(&b, "beta", 1, DIMS(5), -1, 1);
  p[2] = hb_const_rand(&b, "mean", 1, DIMS(5), -1, 1);
  p[3] = hb_const_rand(&b, "var", 1, DIMS(5), 0.1, 2);
  mt_value_id z =
      hb_node(&b, "BatchNormalization", 5, IDS(y, p[0], p[1], p[2], p[3]), "z", 0, NULL);
  mt_value_id r = hb_node(&b, "Relu", 1, IDS(z), "r", 0, NULL);
  mt_value_id z2 =
      hb_node(&b, "BatchNormalization", 5, IDS(r, p[0], p[1], p[2], p[3]), "z2", 0, NULL);
  hb_output(&b, z2);
  double e = check_passes(&b, PASS_ALL, false);
  assert_true(e <= 1e-5);
  assert_int_equal(count_ops(b.m, "BatchNormalization"), 1); /* after Relu: standalone */
  assert_int_equal(count_ops(b.m, "Gemm"), 1);
  assert_int_equal(count_ops(b.m, NULL), 3);
  mt_module_destroy(b.m);
}

/* 2-D MatMul + bias Add -> Gemm; an N-d MatMul + Add is kept. */
static void test_matmul_add(void **state) {
  (void)state;
  hb b = hb_new(13);
  mt_value_id a = hb_input(&b, "a", MT_DTYPE_FLOAT32, 2, DIMS(4, 6));
  mt_value_id a3 = hb_input(&b, "a3", MT_DTYPE_FLOAT32, 3, DIMS(2, 4, 6));
  mt_value_id w = hb_const_rand(&b, "w", 2, DIMS(6, 5), -1, 1);
  mt_value_id bias = hb_const_rand(&b, "bias", 1, DIMS(5), -1, 1);
  mt_value_id mm = hb_node(&b, "MatMul", 2, IDS(a, w), "mm", 0, NULL);
  hb_output(&b, hb_node(&b, "Add", 2, IDS(bias, mm), "y", 0, NULL));
  mt_value_id mm3 = hb_node(&b, "MatMul", 2, IDS(a3, w), "mm3", 0, NULL);
  hb_output(&b, hb_node(&b, "Add", 2, IDS(mm3, bias), "y3", 0, NULL));
  double e = check_passes(&b, PASS_ALL, false);
  assert_true(e <= 1e-5);
  assert_int_equal(count_ops(b.m, "Gemm"), 1);
  assert_int_equal(count_ops(b.m, "MatMul"), 1);
  assert_int_equal(count_ops(b.m, "Add"), 1);
  assert_string_equal(mt_module_value_c(b.m, first_op(b.m, "Gemm")->outputs[0])->name, "y");
  mt_module_destroy(b.m);
}

/* Identity, Dropout, same-dtype Cast, same-shape Expand and Reshape, identity Transpose go. */
static void test_noops(void **state) {
  (void)state;
  hb b = hb_new(13);
  mt_value_id x = hb_input(&b, "x", MT_DTYPE_FLOAT32, 3, DIMS(2, 3, 4));
  int64_t shape[3] = {2, 3, 4};
  mt_value_id sv = hb_const(&b, "shape", MT_DTYPE_INT64, 1, DIMS(3), shape);
  mt_value_id v = hb_node(&b, "Identity", 1, IDS(x), "v1", 0, NULL);
  v = hb_node(&b, "Dropout", 1, IDS(v), "v2", 0, NULL);
  v = hb_node(&b, "Cast", 1, IDS(v), "v3", 1, ATTRS(attr_int("to", MT_DTYPE_FLOAT32)));
  v = hb_node(&b, "Expand", 2, IDS(v, sv), "v4", 0, NULL);
  v = hb_node(&b, "Reshape", 2, IDS(v, sv), "v5", 0, NULL);
  v = hb_node(&b, "Transpose", 1, IDS(v), "v6", 1, ATTRS(attr_ints(&b, "perm", 3, DIMS(0, 1, 2))));
  v = hb_node(&b, "Relu", 1, IDS(v), "v7", 0, NULL);
  v = hb_node(&b, "Identity", 1, IDS(v), "out", 0, NULL); /* a graph output: kept for its name */
  hb_output(&b, v);
  check_passes(&b, PASS_CANON | PASS_DCE, true);
  assert_int_equal(count_ops(b.m, NULL), 2);
  assert_int_equal(count_ops(b.m, "Relu"), 1);
  assert_string_equal(mt_module_value_c(b.m, b.g->outputs[0])->name, "out");
  /* A Cast that changes the dtype stays. */
  hb c = hb_new(13);
  x = hb_input(&c, "x", MT_DTYPE_FLOAT32, 1, DIMS(4));
  v = hb_node(&c, "Cast", 1, IDS(x), "h", 1, ATTRS(attr_int("to", MT_DTYPE_FLOAT16)));
  hb_output(&c, hb_node(&c, "Cast", 1, IDS(v), "f", 1, ATTRS(attr_int("to", MT_DTYPE_FLOAT32))));
  check_passes(&c, PASS_ALL, true);
  assert_int_equal(count_ops(c.m, "Cast"), 2);
  /* Expand that broadcasts, and a Dropout whose mask is read, stay. */
  hb d = hb_new(13);
  x = hb_input(&d, "x", MT_DTYPE_FLOAT32, 2, DIMS(1, 4));
  int64_t to[2] = {3, 4};
  mt_value_id tv = hb_const(&d, "to", MT_DTYPE_INT64, 1, DIMS(2), to);
  hb_output(&d, hb_node(&d, "Expand", 2, IDS(x, tv), "e", 0, NULL));
  mt_value_id dout[2];
  assert_ok(mt_module_add_value(d.m, d.g, "dy", &dout[0]));
  assert_ok(mt_module_add_value(d.m, d.g, "dmask", &dout[1]));
  int32_t did;
  assert_ok(mt_module_add_node(d.m, d.g, "drop", "Dropout", "", 1, IDS(x), 2, dout, 0, NULL, &did));
  hb_output(&d, hb_node(&d, "Relu", 1, IDS(dout[0]), "r", 0, NULL));
  hb_output(&d, dout[1]);
  check_passes(&d, PASS_ALL, true);
  assert_int_equal(count_ops(d.m, "Expand"), 1);
  assert_int_equal(count_ops(d.m, "Dropout"), 1);
  mt_module_destroy(b.m);
  mt_module_destroy(c.m);
  mt_module_destroy(d.m);
}

/* Transposes composing to identity cancel; others compose into one. */
static void test_transpose_pairs(void **state) {
  (void)state;
  hb b = hb_new(13);
  mt_value_id x = hb_input(&b, "x", MT_DTYPE_FLOAT32, 3, DIMS(2, 3, 4));
  mt_value_id t1 =
      hb_node(&b, "Transpose", 1, IDS(x), "t1", 1, ATTRS(attr_ints(&b, "perm", 3, DIMS(1, 2, 0))));
  mt_value_id t2 =
      hb_node(&b, "Transpose", 1, IDS(t1), "t2", 1, ATTRS(attr_ints(&b, "perm", 3, DIMS(2, 0, 1))));
  hb_output(&b, hb_node(&b, "Relu", 1, IDS(t2), "y", 0, NULL));
  check_passes(&b, PASS_ALL, true);
  assert_int_equal(count_ops(b.m, "Transpose"), 0);
  assert_int_equal(count_ops(b.m, NULL), 1);
  mt_module_destroy(b.m);

  hb c = hb_new(13);
  x = hb_input(&c, "x", MT_DTYPE_FLOAT32, 3, DIMS(2, 3, 4));
  t1 = hb_node(&c, "Transpose", 1, IDS(x), "t1", 1, ATTRS(attr_ints(&c, "perm", 3, DIMS(1, 0, 2))));
  t2 =
      hb_node(&c, "Transpose", 1, IDS(t1), "t2", 1, ATTRS(attr_ints(&c, "perm", 3, DIMS(0, 2, 1))));
  hb_output(&c, hb_node(&c, "Relu", 1, IDS(t2), "y", 0, NULL));
  check_passes(&c, PASS_ALL, true);
  assert_int_equal(count_ops(c.m, "Transpose"), 1); /* not identity: one composed Transpose */
  const int64_t *perm;
  assert_int_equal(mt_node_attr_ints(first_op(c.m, "Transpose"), "perm", &perm), 3);
  assert_int_equal(perm[0], 1);
  assert_int_equal(perm[1], 2);
  assert_int_equal(perm[2], 0);
  assert_int_equal(first_op(c.m, "Transpose")->inputs[0], x);
  mt_module_destroy(c.m);
}

/* Reshape of Reshape -> one Reshape of the original data. */
static void test_reshape_chain(void **state) {
  (void)state;
  hb b = hb_new(13);
  mt_value_id x = hb_input(&b, "x", MT_DTYPE_FLOAT32, 3, DIMS(2, 3, 4));
  int64_t s1[2] = {6, -1}, s2[3] = {3, 0, -1};
  mt_value_id v1 = hb_const(&b, "s1", MT_DTYPE_INT64, 1, DIMS(2), s1);
  mt_value_id v2 = hb_const(&b, "s2", MT_DTYPE_INT64, 1, DIMS(3), s2);
  mt_value_id r1 = hb_node(&b, "Reshape", 2, IDS(x, v1), "r1", 0, NULL);
  mt_value_id r2 = hb_node(&b, "Reshape", 2, IDS(r1, v2), "r2", 0, NULL); /* 0 copies dim 1 */
  hb_output(&b, hb_node(&b, "Relu", 1, IDS(r2), "y", 0, NULL));
  check_passes(&b, PASS_ALL, true);
  assert_int_equal(count_ops(b.m, "Reshape"), 1);
  assert_int_equal(first_op(b.m, "Reshape")->inputs[0], x);
  const mt_value *out = mt_module_value_c(b.m, first_op(b.m, "Reshape")->outputs[0]);
  assert_int_equal(out->rank, 3);
  assert_int_equal(out->dims[0], 3);
  assert_int_equal(out->dims[1], 4);
  assert_int_equal(out->dims[2], 2);
  mt_module_destroy(b.m);
}

/* DCE: dead chains go (also inside If branches); values read only by a branch stay alive. */
static void test_dce(void **state) {
  (void)state;
  hb b = hb_new(13);
  mt_value_id x = hb_input(&b, "x", MT_DTYPE_FLOAT32, 1, DIMS(4));
  mt_value_id cond = hb_input(&b, "cond", MT_DTYPE_BOOL, 0, NULL);
  mt_value_id dead = hb_node(&b, "Relu", 1, IDS(x), "dead1", 0, NULL);
  hb_node(&b, "Sigmoid", 1, IDS(dead), "dead2", 0, NULL);
  mt_value_id only_in_branch = hb_node(&b, "Neg", 1, IDS(x), "neg", 0, NULL);
  mt_graph *then_g, *else_g;
  assert_ok(mt_module_add_graph(b.m, b.t, b.g, "then", &then_g));
  assert_ok(mt_module_add_graph(b.m, b.t, b.g, "else", &else_g));
  mt_value_id to = hb_node_g(&b, then_g, "Identity", 1, IDS(only_in_branch), "then_out", 0, NULL);
  then_g->outputs = grow_ids(&b, NULL, 0, to);
  then_g->n_outputs = 1;
  hb_node_g(&b, else_g, "Sigmoid", 1, IDS(x), "else_dead", 0, NULL);
  mt_value_id eo = hb_node_g(&b, else_g, "Abs", 1, IDS(x), "else_out", 0, NULL);
  else_g->outputs = grow_ids(&b, NULL, 0, eo);
  else_g->n_outputs = 1;
  mt_graph **gt = mt_arena_array(mt_module_arena(b.m), 1, sizeof *gt);
  mt_graph **ge = mt_arena_array(mt_module_arena(b.m), 1, sizeof *ge);
  gt[0] = then_g;
  ge[0] = else_g;
  mt_attr branches[2] = {
      {.name = "then_branch", .type = MT_ATTR_GRAPH, .count = 1, .graph = then_g, .graphs = gt},
      {.name = "else_branch", .type = MT_ATTR_GRAPH, .count = 1, .graph = else_g, .graphs = ge}};
  hb_output(&b, hb_node(&b, "If", 1, IDS(cond), "y", 2, branches));
  check_passes(&b, PASS_DCE, true);
  assert_int_equal(count_ops(b.m, "Relu"), 0);
  assert_int_equal(count_ops(b.m, "Sigmoid"), 0);
  assert_int_equal(count_ops(b.m, "Neg"), 1);
  assert_int_equal(count_ops(b.m, "If"), 1);
  assert_int_equal(else_g->n_nodes, 1);
  assert_int_equal(then_g->n_nodes, 1);
  mt_module_destroy(b.m);
}

/* ------------------------------------------------------------------ real models */

typedef struct op_count {
  const char *op;
  int before, after;
} op_count;

static void tally(const mt_module *m, op_count *tab, int *n_tab, bool after) {
  const mt_graph *g = mt_module_tenant_c(m, 0)->graph;
  for (int k = 0; k < g->n_nodes; k++) {
    const char *op = mt_module_node_c(m, g->nodes[k])->op_type;
    int i = 0;
    while (i < *n_tab && strcmp(tab[i].op, op) != 0) i++;
    if (i == *n_tab) {
      if (*n_tab == 64) continue;
      tab[(*n_tab)++] = (op_count){op, 0, 0};
    }
    if (after)
      tab[i].after++;
    else
      tab[i].before++;
  }
}

static int tally_get(const op_count *tab, int n, const char *op, bool after) {
  for (int i = 0; i < n; i++)
    if (strcmp(tab[i].op, op) == 0) return after ? tab[i].after : tab[i].before;
  return 0;
}

static mt_module *load_model(const char *path) {
  mt_module *m;
  int32_t t;
  assert_ok(mt_module_create(NULL, &m));
  assert_ok(mt_onnx_import_file(m, path, "model", &t));
  mt_tenant *ten = mt_module_tenant(m, t);
  ten->dim_bindings = mt_arena_array(mt_module_arena(m), 2, sizeof *ten->dim_bindings);
  assert_non_null(ten->dim_bindings);
  ten->dim_bindings[0] = (mt_dim_binding){"batch", 1};
  ten->dim_bindings[1] = (mt_dim_binding){"seq", 16};
  ten->n_dim_bindings = 2;
  assert_ok(mt_infer_shapes(m));
  return m;
}

static void check_model(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.onnx", models_dir, name);
  if (access(path, R_OK) != 0) {
    /* the model group was asked for: a missing model is a broken fixture, not a skip */
    print_error("%s: %s not found\n", name, path);
    fail();
  }
  mt_module *m = load_model(path);
  const mt_graph *g = mt_module_tenant_c(m, 0)->graph;
  int n_in = g->n_inputs, n_out = g->n_outputs;
  mt_tensor *in = make_inputs(m, 0, 42);
  mt_tensor *ref = run_ref(m, 0, in);
  op_count tab[64];
  int n_tab = 0;
  tally(m, tab, &n_tab, false);
  int before = g->n_nodes;
  run_passes(m, PASS_ALL);
  tally(m, tab, &n_tab, true);
  int after = mt_module_tenant_c(m, 0)->graph->n_nodes;
  mt_tensor *out = run_ref(m, 0, in);
  double e = rel_l2(ref, out, n_out);
  print_message("%s: nodes %d -> %d, relative L2 error %.3g (fold+canonicalize+dce)\n", name,
                before, after, e);
  for (int i = 0; i < n_tab; i++)
    print_message("    %-20s %4d -> %4d\n", tab[i].op, tab[i].before, tab[i].after);
  /* mobilenetv2 was exported with BN already folded and no shape arithmetic: nothing to clean. */
  if (strcmp(name, "mobilenetv2") != 0)
    assert_true(after < before);
  else
    assert_true(after <= before);
  assert_true(e <= 1e-5);
  /* Shape arithmetic and Constant nodes fold away everywhere (remaining Gather / Unsqueeze in
   * bert_tiny read input_ids / attention_mask, which are runtime data); every BN here follows a
   * conv with no other reader, so none is left. */
  static const char *const gone[] = {"Shape", "Size", "Constant", "ConstantOfShape",
                                     "BatchNormalization"};
  for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
    assert_int_equal(tally_get(tab, n_tab, gone[i], true), 0);
  if (strcmp(name, "bert_tiny") == 0) {
    assert_int_equal(tally_get(tab, n_tab, "Concat", true), 0);
    assert_int_equal(tally_get(tab, n_tab, "Slice", true), 0);
  }
  free_tensors(out, n_out);
  mt_module_destroy(m);

  /* Folding and DCE alone change no arithmetic: bit-identical. */
  m = load_model(path);
  run_passes(m, PASS_FOLD | PASS_DCE);
  int after_fd = mt_module_tenant_c(m, 0)->graph->n_nodes;
  out = run_ref(m, 0, in);
  bool same = bit_identical(ref, out, n_out);
  print_message("%s: fold+dce only: nodes %d -> %d, outputs %s\n", name, before, after_fd,
                same ? "bit-identical" : "DIFFER");
  assert_true(same);
  free_tensors(out, n_out);
  mt_module_destroy(m);
  free_tensors(ref, n_out);
  free_tensors(in, n_in);
}

static void test_resnet50(void **state) {
  (void)state;
  check_model("resnet50");
}
static void test_mobilenetv2(void **state) {
  (void)state;
  check_model("mobilenetv2");
}
static void test_bert_tiny(void **state) {
  (void)state;
  check_model("bert_tiny");
}
static void test_yolo_tiny(void **state) {
  (void)state;
  check_model("yolo_tiny");
}
static void test_efficientnet_b0(void **state) {
  (void)state;
  check_model("efficientnet_b0");
}

int main(int argc, char **argv) {
  test_groups groups;
  if (!test_groups_parse(argc, argv, &groups)) return 2;
  models_dir = groups.models_dir;
  const struct CMUnitTest small[] = {
      cmocka_unit_test(test_fold_shape_chain),
      cmocka_unit_test(test_fold_cap),
      cmocka_unit_test(test_bn_into_conv),
      cmocka_unit_test(test_bn_conv_two_readers),
      cmocka_unit_test(test_bn_into_gemm),
      cmocka_unit_test(test_matmul_add),
      cmocka_unit_test(test_noops),
      cmocka_unit_test(test_transpose_pairs),
      cmocka_unit_test(test_reshape_chain),
      cmocka_unit_test(test_dce),
  };
  const struct CMUnitTest models[] = {
      cmocka_unit_test(test_resnet50),        cmocka_unit_test(test_mobilenetv2),
      cmocka_unit_test(test_bert_tiny),       cmocka_unit_test(test_yolo_tiny),
      cmocka_unit_test(test_efficientnet_b0),
  };
  int failed = 0;
  if (groups.small)
    failed += cmocka_run_group_tests_name("cleanup (small graphs)", small, NULL, NULL);
  if (models_dir)
    failed += cmocka_run_group_tests_name("cleanup (generated models)", models, NULL, NULL);
  return tu_exit_code(failed);
}
