/* If in bundles (runtime/bundle/mtbundle.proto, IfBranches): a model with an If whose branches
 * read outer values, one holding a nested If, compiles into a bundle whose CPU path runs the
 * branch the conditions pick (outputs computed here by hand for all four combinations), and the
 * loader refuses every broken branch description with a status naming it: ranges past the branch
 * nodes or not before a nested If, a branch node claimed twice, results missing or of another
 * type, a condition of two elements, an If with a kernel kind. Runs under ASan/UBSan in the
 * sanitizer build. */
#include "test_util.h"

#include <string.h>

#include "bundle_test_util.h"

static const float W[6] = {0.5f, -1.0f, 2.0f, -0.25f, 1.5f, -3.0f};

typedef bt_fixture fixture;

/* y = If(c1, then: If(c2, then: x + w, else: x * w) - x, else: Relu(x)) + w, z = x (outer, Identity
 * after the If so the If output is an intermediate); x[2,3] */
static char *write_if_model(const char *dir) {
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 3), OB_PARAMS(NULL, NULL));
  ob_input(&b, b.graph, "c1", MT_DTYPE_BOOL, 0, NULL, NULL);
  ob_input(&b, b.graph, "c2", MT_DTYPE_BOOL, 0, NULL, NULL);
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "w", 2, OB_DIMS(2, 3), W, 6));
  Onnx__GraphProto *inner_then = ob_graph(&b, "inner_then");
  ob_node(&b, inner_then, "Add", "in_add", OB_NAMES("x", "w"), OB_NAMES("ia"));
  ob_output(&b, inner_then, "ia", MT_DTYPE_FLOAT32);
  Onnx__GraphProto *inner_else = ob_graph(&b, "inner_else");
  ob_node(&b, inner_else, "Mul", "in_mul", OB_NAMES("x", "w"), OB_NAMES("im"));
  ob_output(&b, inner_else, "im", MT_DTYPE_FLOAT32);
  Onnx__GraphProto *then_g = ob_graph(&b, "then_g");
  Onnx__NodeProto *inner = ob_node(&b, then_g, "If", "inner_if", OB_NAMES("c2"), OB_NAMES("ti"));
  ob_attr_graph(&b, inner, "then_branch", inner_then);
  ob_attr_graph(&b, inner, "else_branch", inner_else);
  ob_node(&b, then_g, "Sub", "then_sub", OB_NAMES("ti", "x"), OB_NAMES("ts"));
  ob_output(&b, then_g, "ts", MT_DTYPE_FLOAT32);
  Onnx__GraphProto *else_g = ob_graph(&b, "else_g");
  ob_node(&b, else_g, "Relu", "else_relu", OB_NAMES("x"), OB_NAMES("er"));
  ob_output(&b, else_g, "er", MT_DTYPE_FLOAT32);
  Onnx__NodeProto *outer = ob_node(&b, b.graph, "If", "outer_if", OB_NAMES("c1"), OB_NAMES("r"));
  ob_attr_graph(&b, outer, "then_branch", then_g);
  ob_attr_graph(&b, outer, "else_branch", else_g);
  ob_node(&b, b.graph, "Add", "after", OB_NAMES("r", "w"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  return bt_save_model(&b, dir, "if.onnx");
}

static int setup(void **state) {
  *state = bt_fixture_new(write_if_model, "if.mtbundle");
  return 0;
}

static void test_every_branch_matches_hand_computation(void **state) {
  fixture *f = *state;
  mtrt_bundle *b = NULL;
  assert_ok(bt_st(mtrt_bundle_open_memory(f->image, f->size, NULL, &b)));
  const mt_bundle *mb = mt_bundle_of(b);
  /* in_add, in_mul; inner_if, then_sub; else_relu */
  assert_int_equal(mb->manifest->n_branch_nodes, 5);
  for (int threads = 1; threads <= 2; threads++) {
    mtrt_session_options o;
    mtrt_session_options_init(&o);
    o.cpu_threads = threads;
    mtrt_session *s = NULL;
    assert_ok(bt_st(mtrt_session_create(b, &o, &s)));
    float x[6] = {1, -2, 3, -0.5f, 0.25f, 4}, y[6];
    for (int k = 0; k < 4; k++) {
      bool c1 = k & 1, c2 = k & 2;
      assert_ok(bt_st(mtrt_session_bind_input(s, 0, "x", x, sizeof x)));
      assert_ok(bt_st(mtrt_session_bind_input(s, 0, "c1", &c1, 1)));
      assert_ok(bt_st(mtrt_session_bind_input(s, 0, "c2", &c2, 1)));
      assert_ok(bt_st(mtrt_session_bind_output(s, 0, "y", y, sizeof y)));
      assert_ok(bt_st(mtrt_session_run(s, -1)));
      for (int i = 0; i < 6; i++) {
        float r = c1 ? (c2 ? x[i] + W[i] : x[i] * W[i]) - x[i] : (x[i] > 0 ? x[i] : 0);
        assert_float_equal(y[i], r + W[i], 1e-6);
      }
    }
    mtrt_session_destroy(s);
  }
  mtrt_bundle_close(b);
}

/* ---- corruptions of the branch description ---- */

static Mtbundle__Node *outer_if(Mtbundle__Manifest *m) {
  for (size_t i = 0; i < m->n_nodes; i++)
    if (m->nodes[i]->if_branches) return m->nodes[i];
  return NULL;
}
static Mtbundle__Node *inner_if(Mtbundle__Manifest *m) {
  for (size_t i = 0; i < m->n_branch_nodes; i++)
    if (m->branch_nodes[i]->if_branches) return m->branch_nodes[i];
  return NULL;
}
static bool range_past_end(Mtbundle__Manifest *m) {
  outer_if(m)->if_branches->then_count = 99;
  return true;
}
static bool nested_range_not_before(Mtbundle__Manifest *m) {
  Mtbundle__Node *n = inner_if(m);
  n->if_branches->else_first = (uint32_t)m->n_branch_nodes - 1;
  n->if_branches->else_count = 1;
  return true;
}
static bool claimed_twice(Mtbundle__Manifest *m) {
  Mtbundle__IfBranches *ib = outer_if(m)->if_branches;
  ib->else_first = ib->then_first;
  ib->else_count = 1;
  return true;
}
static bool result_missing(Mtbundle__Manifest *m) {
  outer_if(m)->if_branches->then_outputs[0]->kind = MTBUNDLE__BUFFER_REF__KIND__NONE;
  return true;
}
static bool result_of_another_type(Mtbundle__Manifest *m) {
  outer_if(m)->if_branches->else_outputs[0]->type->dtype = MT_DTYPE_INT32;
  return true;
}
static bool results_count(Mtbundle__Manifest *m) {
  outer_if(m)->if_branches->n_else_outputs = 0;
  return true;
}
static bool two_element_condition(Mtbundle__Manifest *m) {
  /* the condition, read as the weight [2,3]: a valid reference of six elements */
  Mtbundle__Node *n = outer_if(m);
  for (size_t i = 0; i < m->n_nodes; i++)
    for (size_t k = 0; k < m->nodes[i]->n_inputs; k++)
      if (m->nodes[i]->inputs[k]->kind == MTBUNDLE__BUFFER_REF__KIND__CONSTANT) {
        n->inputs[0] = m->nodes[i]->inputs[k];
        return true;
      }
  return false;
}
static bool if_with_kernel_kind(Mtbundle__Manifest *m) {
  outer_if(m)->kernel_kind = MT_KERNEL_UNARY;
  return true;
}
static bool branch_node_bad_kind(Mtbundle__Manifest *m) {
  m->branch_nodes[0]->kernel_kind = 999;
  return true;
}

static const bt_manifest_case CASES[] = {
    {"branch range past the branch nodes", range_past_end, "are not branch nodes before it"},
    {"nested range not before the nested If", nested_range_not_before,
     "are not branch nodes before it"},
    {"branch node in two branches", claimed_twice, "belongs to another branch"},
    {"branch result missing", result_missing, "is missing or of another type"},
    {"branch result of another type", result_of_another_type, "is missing or of another type"},
    {"too few branch results", results_count, "has 0 results for 1 outputs"},
    {"condition of six elements", two_element_condition, "one condition input of one element"},
    {"If with a kernel kind", if_with_kernel_kind, "kernel kind or parameters"},
    {"branch node kernel kind out of range", branch_node_bad_kind, "branch node 0"},
};

static void test_branch_corruptions(void **state) {
  fixture *f = *state;
  /* the fixture has the nested Ifs the cases corrupt */
  Mtbundle__Manifest *m = bt_unpack_manifest(f->image, f->size, NULL);
  assert_non_null(outer_if(m));
  assert_non_null(inner_if(m));
  mtbundle__manifest__free_unpacked(m, NULL);
  bt_expect_manifest_cases(f->image, f->size, CASES, sizeof CASES / sizeof *CASES);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_branch_matches_hand_computation),
      cmocka_unit_test(test_branch_corruptions),
  };
  return cmocka_run_group_tests(tests, setup, bt_fixture_teardown);
}
