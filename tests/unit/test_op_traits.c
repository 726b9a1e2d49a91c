/* Op traits in the registry: every registered op declares how it fuses, and the declarations are
 * consistent with what passes and the cost model assume of them. */
#include "test_util.h"

#include "ir/op.h"

static bool pattern_valid(mt_op_pattern p) {
  return p > MT_PATTERN_UNSET && p <= MT_PATTERN_OPAQUE;
}

/* A new op added without a pattern would silently fall through every fusion decision. */
static void test_every_op_has_a_pattern(void **state) {
  (void)state;
  assert_true(mt_op_count() > 50);
  for (int i = 0; i < mt_op_count(); i++) {
    const mt_op_def *d = mt_op_at(i);
    if (!pattern_valid(d->pattern)) fail_msg("op %s has no fusion pattern", d->op_type);
  }
}

/* Heavy ops must say how much math they do (no default exists for them) and which library
 * path they take; pointwise-only traits appear only on pointwise ops. */
static void test_traits_consistent(void **state) {
  (void)state;
  const uint32_t pointwise_only =
      MT_TRAIT_FLOAT_MATH | MT_TRAIT_TRANSCENDENTAL | MT_TRAIT_NO_ARITHMETIC;
  for (int i = 0; i < mt_op_count(); i++) {
    const mt_op_def *d = mt_op_at(i);
    bool pointwise = d->pattern == MT_PATTERN_ELEMENTWISE || d->pattern == MT_PATTERN_BROADCAST;
    if (d->pattern == MT_PATTERN_OUT_FUSABLE && !d->work)
      fail_msg("%s: out-fusable without a work hook", d->op_type);
    if (d->pattern == MT_PATTERN_OUT_FUSABLE && !(d->traits & (MT_TRAIT_GEMM | MT_TRAIT_CONV)))
      fail_msg("%s: out-fusable but neither GEMM nor conv", d->op_type);
    if ((d->traits & (MT_TRAIT_GEMM | MT_TRAIT_CONV)) && d->pattern != MT_PATTERN_OUT_FUSABLE)
      fail_msg("%s: GEMM/conv trait on a %s op", d->op_type, mt_op_pattern_name(d->pattern));
    if ((d->traits & pointwise_only) && !pointwise)
      fail_msg("%s: pointwise trait on a non-pointwise op", d->op_type);
    if ((d->traits & MT_TRAIT_WINDOWED) && d->pattern != MT_PATTERN_REDUCTION)
      fail_msg("%s: windowed but not a reduction", d->op_type);
  }
}

/* Nodes resolve their def once, when added; unknown ops stay NULL and read as opaque. */
static void test_nodes_resolve_their_def(void **state) {
  (void)state;
  mt_module *m = NULL;
  assert_ok(mt_module_create(NULL, &m));
  int32_t t;
  assert_ok(mt_module_add_tenant(m, "t", "/nonexistent/model.onnx", &t));
  mt_graph *g = mt_module_tenant(m, t)->graph;
  mt_value_id x, y, z;
  assert_ok(mt_module_add_value(m, g, "x", &x));
  assert_ok(mt_module_add_value(m, g, "y", &y));
  assert_ok(mt_module_add_value(m, g, "z", &z));
  int32_t relu, custom;
  assert_ok(mt_module_add_node(m, g, "relu", "Relu", "", 1, &x, 1, &y, 0, NULL, &relu));
  assert_ok(
      mt_module_add_node(m, g, "custom", "Relu", "com.example", 1, &y, 1, &z, 0, NULL, &custom));
  const mt_node *nr = mt_module_node_c(m, relu), *nc = mt_module_node_c(m, custom);
  assert_ptr_equal(nr->def, mt_op_lookup("", "Relu"));
  assert_int_equal(mt_node_pattern(nr), MT_PATTERN_ELEMENTWISE);
  assert_true(mt_node_has_traits(nr, MT_TRAIT_FLOAT_MATH));
  assert_null(nc->def);
  assert_int_equal(mt_node_pattern(nc), MT_PATTERN_OPAQUE);
  assert_false(mt_node_has_traits(nc, MT_TRAIT_FLOAT_MATH));
  mt_module_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_op_has_a_pattern),
      cmocka_unit_test(test_traits_consistent),
      cmocka_unit_test(test_nodes_resolve_their_def),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
