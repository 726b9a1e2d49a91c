/* If on the GPU path, from a real compile (not a hand-built manifest): a model with an If whose
 * then branch holds a nested If and whose else branch holds a MatMul compiles with NVRTC into a
 * bundle whose If group is a GpuConditional with gpu_bodies (codegen/cuda_branch.c,
 * driver/bundle_gpu.c); the loader accepts it, and mt_gpu_graph_build records COND_SET then
 * CONDITIONAL with each body's nodes in the order of its steps (kernels, the library call, the
 * nested conditional, the copies into the If's outputs last), chained. Then the loader refuses
 * the writer's form broken: a conditional naming a missing body, a body naming a later body, a
 * body step's module out of range, a body step's buffer past the arena. Needs NVRTC (skips
 * otherwise). No driver.
 *
 * y = If(c1, then: If(c2, then: a * w, else: Constant 7) - a  with a = x + w,
 *            else: MatMul(x, w2)) + w;  x, w [2,3], w2 [3,3] */
#include "test_util.h"

#include <string.h>

#include "bundle_test_util.h"
#include "codegen/cuda.h"
#include "runtime/gpu/graph_plan.h"

static const float W[6] = {0.5f, -1.0f, 2.0f, -0.25f, 1.5f, -3.0f};
static const float W2[9] = {1, 2, 3, 4, -1, 0.5f, 0.25f, 2, 0};
static const float SEVEN[6] = {7, 7, 7, 7, 7, 7};

typedef bt_fixture fixture;

static char *write_model(const char *dir) {
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 3), OB_PARAMS(NULL, NULL));
  ob_input(&b, b.graph, "c1", MT_DTYPE_BOOL, 0, NULL, NULL);
  ob_input(&b, b.graph, "c2", MT_DTYPE_BOOL, 0, NULL, NULL);
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "w", 2, OB_DIMS(2, 3), W, 6));
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "w2", 2, OB_DIMS(3, 3), W2, 9));
  Onnx__GraphProto *inner_then = ob_graph(&b, "inner_then");
  ob_node(&b, inner_then, "Mul", "in_mul", OB_NAMES("a", "w"), OB_NAMES("im"));
  ob_output(&b, inner_then, "im", MT_DTYPE_FLOAT32);
  Onnx__GraphProto *inner_else = ob_graph(&b, "inner_else");
  Onnx__NodeProto *k = ob_node(&b, inner_else, "Constant", "in_seven", NULL, OB_NAMES("ie"));
  ob_attr_tensor(&b, k, "value", ob_tensor_floats(&b, "seven", 2, OB_DIMS(2, 3), SEVEN, 6));
  ob_output(&b, inner_else, "ie", MT_DTYPE_FLOAT32);
  Onnx__GraphProto *then_g = ob_graph(&b, "then_g");
  ob_node(&b, then_g, "Add", "then_add", OB_NAMES("x", "w"), OB_NAMES("a"));
  Onnx__NodeProto *inner = ob_node(&b, then_g, "If", "inner_if", OB_NAMES("c2"), OB_NAMES("ti"));
  ob_attr_graph(&b, inner, "then_branch", inner_then);
  ob_attr_graph(&b, inner, "else_branch", inner_else);
  ob_node(&b, then_g, "Sub", "then_sub", OB_NAMES("ti", "a"), OB_NAMES("ts"));
  ob_output(&b, then_g, "ts", MT_DTYPE_FLOAT32);
  Onnx__GraphProto *else_g = ob_graph(&b, "else_g");
  ob_node(&b, else_g, "MatMul", "else_mm", OB_NAMES("x", "w2"), OB_NAMES("em"));
  ob_output(&b, else_g, "em", MT_DTYPE_FLOAT32);
  Onnx__NodeProto *outer = ob_node(&b, b.graph, "If", "outer_if", OB_NAMES("c1"), OB_NAMES("r"));
  ob_attr_graph(&b, outer, "then_branch", then_g);
  ob_attr_graph(&b, outer, "else_branch", else_g);
  ob_node(&b, b.graph, "Add", "after", OB_NAMES("r", "w"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  size_t len;
  void *bytes = ob_pack(&b, &len);
  char *p = tu_join(dir, "if_gpu.onnx");
  tu_write_file(p, bytes, len);
  ob_free(&b);
  return p;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = tu_mkdtemp();
  char *model = write_model(f->dir);
  f->image = bt_compile_bundle(model, f->dir, "if_gpu.mtbundle", true, &f->size);
  free(model);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  bt_fixture_free(*state);
  free(*state);
  return 0;
}

/* The kinds of g's nodes, one letter each (K kernel, L library call, S set, C conditional, J join),
 * skipping START, copies and END; with each kernel's manifest entry name in names. */
static void kinds_of(const Mtbundle__Manifest *m, const mt_gpu_graph *g, char *out,
                     const char **names) {
  size_t n = 0;
  for (size_t v = 0; v < g->n_nodes; v++) {
    const mt_gpu_node *nd = &g->nodes[v];
    char c = nd->kind == MT_GPU_NODE_KERNEL        ? 'K'
             : nd->kind == MT_GPU_NODE_LIBCALL     ? 'L'
             : nd->kind == MT_GPU_NODE_COND_SET    ? 'S'
             : nd->kind == MT_GPU_NODE_CONDITIONAL ? 'C'
             : nd->kind == MT_GPU_NODE_JOIN        ? 'J'
                                                   : 0;
    if (!c) continue;
    if (names) names[n] = c == 'K' ? mt_gpu_graph_step(m, g, nd)->launch->name : "";
    out[n++] = c;
  }
  out[n] = 0;
}

/* Body graphs: their nodes in one chain (each follows the one before it). */
static void check_chain(const mt_gpu_graph *g) {
  for (size_t v = 1; v < g->n_nodes; v++) assert_true(mt_gpu_graph_reaches(g, v - 1, v));
  for (size_t i = 0; i < g->n_bodies; i++) check_chain(g->bodies[i]);
}

static void test_compiled_conditional_graph(void **state) {
  fixture *f = *state;
  mtrt_bundle *b = NULL;
  assert_ok(bt_st(mtrt_bundle_open_memory(f->image, f->size, NULL, &b)));
  const Mtbundle__Manifest *m = mt_bundle_of(b)->manifest;
  assert_int_equal(m->n_gpu_bodies, 4); /* the nested If's two, then the outer's */
  mt_gpu_graph *g = NULL;
  assert_ok(mt_gpu_graph_build(m, -1, &g));
  char k[64];
  const char *names[64];
  kinds_of(m, g, k, NULL);
  assert_string_equal(k, "SCK"); /* the If group, then `after` */
  size_t set = 0, cond = 0;
  for (size_t v = 0; v < g->n_nodes; v++) {
    if (g->nodes[v].kind == MT_GPU_NODE_COND_SET) set = v;
    if (g->nodes[v].kind == MT_GPU_NODE_CONDITIONAL) cond = v;
  }
  assert_true(mt_gpu_graph_reaches(g, (uint32_t)set, (uint32_t)cond));
  const mt_gpu_node *c = &g->nodes[cond];
  assert_int_equal(g->n_bodies, 2);
  const mt_gpu_graph *then_g = g->bodies[c->body], *else_g = g->bodies[c->body + 1];
  /* then: then_add, the nested If, then_sub, the copy into r */
  kinds_of(m, then_g, k, names);
  assert_string_equal(k, "KSCKK");
  assert_non_null(strstr(names[0], "elementwise"));
  assert_string_equal(names[4], "mt_if_copy_float32_6");
  /* else: the MatMul as a library call, then the copy */
  kinds_of(m, else_g, k, names);
  assert_string_equal(k, "LK");
  assert_string_equal(names[1], "mt_if_copy_float32_6");
  /* the nested If: then in_mul and its copy; else only the copy of the Constant's tensor */
  const mt_gpu_node *inner = NULL;
  for (size_t v = 0; v < then_g->n_nodes; v++)
    if (then_g->nodes[v].kind == MT_GPU_NODE_CONDITIONAL) inner = &then_g->nodes[v];
  assert_non_null(inner);
  kinds_of(m, then_g->bodies[inner->body], k, names);
  assert_string_equal(k, "KK");
  kinds_of(m, then_g->bodies[inner->body + 1], k, names);
  assert_string_equal(k, "K");
  assert_string_equal(names[0], "mt_if_copy_float32_6");
  check_chain(then_g);
  check_chain(else_g);
  mt_gpu_graph_free(g);
  /* the tenant's own graph (independent arrivals) holds the same conditional */
  assert_ok(mt_gpu_graph_build(m, 0, &g));
  kinds_of(m, g, k, NULL);
  assert_string_equal(k, "SCK");
  assert_int_equal(g->n_bodies, 2);
  mt_gpu_graph_free(g);
  mtrt_bundle_close(b);
}

/* ---- the writer's form, broken ---- */

typedef struct corrupt {
  Mtbundle__Manifest *m;
  char needle[160];
} corrupt;

static Mtbundle__GpuConditional *outer_cond(Mtbundle__Manifest *m) {
  for (size_t g = 0; g < m->n_gpu_groups; g++)
    for (size_t s = 0; s < m->gpu_groups[g]->n_steps; s++)
      if (m->gpu_groups[g]->steps[s]->step_case == MTBUNDLE__GPU_STEP__STEP_CONDITIONAL)
        return m->gpu_groups[g]->steps[s]->conditional;
  fail_msg("no conditional step");
  return NULL;
}
static void missing_body(corrupt *c) {
  outer_cond(c->m)->else_body = 99;
  snprintf(c->needle, sizeof c->needle, "body 99 is not a GPU body before it");
}
static void body_names_later_body(corrupt *c) {
  /* the nested conditional (in the outer's then body) pointed at the outer's else body */
  Mtbundle__GpuBody *tb = c->m->gpu_bodies[outer_cond(c->m)->then_body];
  for (size_t s = 0; s < tb->n_steps; s++)
    if (tb->steps[s]->step_case == MTBUNDLE__GPU_STEP__STEP_CONDITIONAL)
      tb->steps[s]->conditional->then_body = outer_cond(c->m)->else_body;
  snprintf(c->needle, sizeof c->needle, "is not a GPU body before it");
}
static void body_step_module(corrupt *c) {
  uint32_t b = outer_cond(c->m)->else_body;
  Mtbundle__GpuBody *eb = c->m->gpu_bodies[b];
  eb->steps[eb->n_steps - 1]->launch->module = 999;
  snprintf(c->needle, sizeof c->needle, "else body %u step %zu: module index 999", b,
           eb->n_steps - 1);
}
static void body_step_buffer(corrupt *c) {
  uint32_t b = outer_cond(c->m)->then_body;
  Mtbundle__GpuBody *tb = c->m->gpu_bodies[b];
  Mtbundle__GpuLaunch *l = tb->steps[0]->launch; /* then_add: its result, scratch bytes */
  l->args[l->n_args - 1]->offset = (uint64_t)1 << 40;
  snprintf(c->needle, sizeof c->needle, "then body %u step 0: argument %zu", b, l->n_args - 1);
}
static void bodies_dropped(corrupt *c) {
  c->m->n_gpu_bodies = 2;
  snprintf(c->needle, sizeof c->needle, "is not a GPU body before it");
}

static void test_broken_bodies_refused(void **state) {
  fixture *f = *state;
  void (*const cases[])(corrupt *) = {missing_body, body_names_later_body, body_step_module,
                                      body_step_buffer, bodies_dropped};
  mt_bundle_section secs[MT_SECTION_KIND_COUNT];
  assert_ok(mt_bundle_parse_container(f->image, f->size, "test", secs));
  const mt_bundle_section *ws = &secs[MT_SECTION_WEIGHTS], *cs = &secs[MT_SECTION_CODE];
  assert_true(cs->kind == MT_SECTION_CODE && cs->size > 0);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    bt_arena *ar = calloc(1, sizeof *ar);
    ProtobufCAllocator pa = bt_arena_allocator(ar);
    corrupt c = {.m = bt_unpack_manifest(f->image, f->size, &pa)};
    cases[i](&c);
    size_t n = mtbundle__manifest__get_packed_size(c.m);
    uint8_t *packed = malloc(n + 1), *img = NULL;
    size_t img_size = 0;
    mtbundle__manifest__pack(c.m, packed);
    mt_bundle_section out[3] = {{.kind = MT_SECTION_MANIFEST, .size = n},
                                {.kind = MT_SECTION_WEIGHTS, .size = ws->size},
                                {.kind = MT_SECTION_CODE, .size = cs->size}};
    const void *data[3] = {packed, f->image + ws->offset, f->image + cs->offset};
    assert_ok(mt_bundle_build_image(out, data, 3, &img, &img_size));
    bt_expect_refused(img, img_size, c.needle, c.needle);
    free(img);
    free(packed);
    bt_arena_free(ar);
  }
}

int main(void) {
  if (!mt_cuda_nvrtc_available()) {
    printf("skipped: GPU code in bundles needs NVRTC: %s\n", mt_cuda_nvrtc_describe());
    return TU_SKIP_RETURN_CODE;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_compiled_conditional_graph),
      cmocka_unit_test(test_broken_bodies_refused),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}
