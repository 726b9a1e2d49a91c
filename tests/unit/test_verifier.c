/* The structural verifier on IR built by hand with mt_module_* calls: each broken invariant is
 * rejected with a message naming the node (and tenant) at fault. */
#include "test_util.h"

#include "ir/ir.h"

typedef struct hand {
  mt_module *m;
  int32_t tenant;
  mt_graph *g;
} hand;

static hand new_tenant(mt_module *m, const char *name) {
  hand h = {.m = m};
  assert_ok(mt_module_add_tenant(m, name, "/hand/made.onnx", &h.tenant));
  h.g = mt_module_tenant(m, h.tenant)->graph;
  /* every tenant imports opset 13 for the default domain */
  mt_tenant *t = mt_module_tenant(m, h.tenant);
  t->opsets = mt_arena_array(mt_module_arena(m), 1, sizeof *t->opsets);
  t->opsets[0].domain = "";
  t->opsets[0].version = 13;
  t->n_opsets = 1;
  return h;
}

static mt_value_id value(hand *h, mt_graph *g, const char *name) {
  mt_value_id v;
  assert_ok(mt_module_add_value(h->m, g, name, &v));
  return v;
}

static void add_input(hand *h, mt_value_id v) {
  mt_arena *a = mt_module_arena(h->m);
  mt_value_id *in = mt_arena_array(a, (size_t)h->g->n_inputs + 1, sizeof *in);
  if (h->g->n_inputs) memcpy(in, h->g->inputs, (size_t)h->g->n_inputs * sizeof *in);
  in[h->g->n_inputs++] = v;
  h->g->inputs = in;
}

static void set_output(hand *h, mt_value_id v) {
  h->g->outputs = mt_arena_array(mt_module_arena(h->m), 1, sizeof(mt_value_id));
  h->g->outputs[0] = v;
  h->g->n_outputs = 1;
}

static int32_t node(hand *h, mt_graph *g, const char *name, const char *op, int n_in,
                    const mt_value_id *in, int n_out, const mt_value_id *out) {
  int32_t id;
  assert_ok(mt_module_add_node(h->m, g, name, op, "", n_in, in, n_out, out, 0, NULL, &id));
  return id;
}

static void test_valid_hand_built_module(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  hand h = new_tenant(m, "ok");
  mt_value_id x = value(&h, h.g, "x"), w = value(&h, h.g, "w"), a = value(&h, h.g, "a"),
              y = value(&h, h.g, "y");
  add_input(&h, x);
  int32_t c;
  float wv[2] = {1, 2};
  assert_ok(
      mt_module_intern_constant(m, MT_DTYPE_FLOAT32, 1, (const int64_t[]){2}, wv, sizeof wv, &c));
  mt_module_bind_constant(m, w, c);
  assert_int_equal(mt_module_value_c(m, w)->dtype, MT_DTYPE_FLOAT32);
  assert_int_equal(mt_module_value_c(m, w)->dims[0], 2);
  int32_t n0 = node(&h, h.g, "add", "Add", 2, (mt_value_id[]){x, w}, 1, (mt_value_id[]){a});
  node(&h, h.g, "relu", "Relu", 1, (mt_value_id[]){a}, 1, (mt_value_id[]){y});
  set_output(&h, y);
  assert_int_equal(mt_module_node_c(m, n0)->opset, 13);
  assert_int_equal(mt_module_value_c(m, a)->producer, n0);
  assert_ok(mt_verify_module(m));
  /* an unnamed node gets "<op>_<id>" */
  mt_value_id z = value(&h, h.g, "z");
  int32_t n2 = node(&h, h.g, NULL, "Neg", 1, (mt_value_id[]){y}, 1, (mt_value_id[]){z});
  char expect[32];
  snprintf(expect, sizeof expect, "Neg_%d", n2);
  assert_string_equal(mt_module_node_c(m, n2)->name, expect);
  assert_ok(mt_verify_module(m));
  mt_module_destroy(m);
}

static void test_use_before_definition(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  hand h = new_tenant(m, "order");
  mt_value_id x = value(&h, h.g, "x"), a = value(&h, h.g, "a"), y = value(&h, h.g, "y");
  add_input(&h, x);
  /* "consumer" reads a before "producer" defines it */
  node(&h, h.g, "consumer", "Relu", 1, (mt_value_id[]){a}, 1, (mt_value_id[]){y});
  node(&h, h.g, "producer", "Relu", 1, (mt_value_id[]){x}, 1, (mt_value_id[]){a});
  set_output(&h, y);
  assert_status(mt_verify_module(m), MT_INTERNAL, "verifier", "tenant 'order'", "node 'consumer'",
                "'a'", "before");
  mt_module_destroy(m);
}

static void test_value_defined_twice(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  hand h = new_tenant(m, "twice");
  mt_value_id x = value(&h, h.g, "x"), y = value(&h, h.g, "y");
  add_input(&h, x);
  /* a node that writes over a graph input */
  node(&h, h.g, "clobber", "Relu", 1, (mt_value_id[]){x}, 1, (mt_value_id[]){x});
  set_output(&h, x);
  assert_status(mt_verify_module(m), MT_INTERNAL, "tenant 'twice'", "node 'clobber'", "'x'",
                "twice");
  mt_module_destroy(m);

  /* two nodes that both produce y */
  assert_ok(mt_module_create(NULL, &m));
  h = new_tenant(m, "twice");
  x = value(&h, h.g, "x");
  y = value(&h, h.g, "y");
  add_input(&h, x);
  node(&h, h.g, "first", "Relu", 1, (mt_value_id[]){x}, 1, (mt_value_id[]){y});
  node(&h, h.g, "second", "Neg", 1, (mt_value_id[]){x}, 1, (mt_value_id[]){y});
  set_output(&h, y);
  mt_status *st = mt_verify_module(m);
  assert_non_null(st);
  /* whichever of the two is reported, it is named with the value */
  const char *msg = mt_status_message(st);
  assert_true(strstr(msg, "node 'first'") || strstr(msg, "node 'second'"));
  assert_non_null(strstr(msg, "'y'"));
  mt_status_free(st);
  mt_module_destroy(m);

  /* a node output that is also a constant */
  assert_ok(mt_module_create(NULL, &m));
  h = new_tenant(m, "const_out");
  x = value(&h, h.g, "x");
  mt_value_id k = value(&h, h.g, "k");
  add_input(&h, x);
  int32_t c;
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_INT64, 0, NULL, (const int64_t[]){4}, 8, &c));
  mt_module_bind_constant(m, k, c);
  node(&h, h.g, "writes_const", "Relu", 1, (mt_value_id[]){x}, 1, (mt_value_id[]){k});
  assert_status(mt_verify_module(m), MT_INTERNAL, "node 'writes_const'", "'k'", "twice");
  mt_module_destroy(m);
}

static void test_cross_tenant_input(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  hand a = new_tenant(m, "alpha");
  hand b = new_tenant(m, "beta");
  mt_value_id ax = value(&a, a.g, "x"), ay = value(&a, a.g, "y");
  add_input(&a, ax);
  node(&a, a.g, "a_relu", "Relu", 1, (mt_value_id[]){ax}, 1, (mt_value_id[]){ay});
  set_output(&a, ay);
  mt_value_id bx = value(&b, b.g, "x"), by = value(&b, b.g, "y");
  add_input(&b, bx);
  /* beta's node reads alpha's y */
  node(&b, b.g, "b_add", "Add", 2, (mt_value_id[]){bx, ay}, 1, (mt_value_id[]){by});
  set_output(&b, by);
  assert_status(mt_verify_module(m), MT_INTERNAL, "tenant 'beta'", "node 'b_add'", "'y'",
                "another tenant");
  mt_module_destroy(m);
}

static void test_structural_corruption(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  hand h = new_tenant(m, "bad");
  mt_value_id x = value(&h, h.g, "x"), y = value(&h, h.g, "y");
  add_input(&h, x);
  int32_t n = node(&h, h.g, "n", "Relu", 1, (mt_value_id[]){x}, 1, (mt_value_id[]){y});
  set_output(&h, y);
  assert_ok(mt_verify_module(m));

  mt_node *nd = mt_module_node(m, n);
  nd->inputs[0] = 12345; /* out of range */
  assert_status(mt_verify_module(m), MT_INTERNAL, "node 'n'", "input 0", "range");
  nd->inputs[0] = x;
  hand other = new_tenant(m, "other");
  nd->tenant = other.tenant; /* node says another tenant than its graph */
  assert_status(mt_verify_module(m), MT_INTERNAL, "node 'n'", "tenant");
  nd->tenant = h.tenant;
  mt_module_value(m, y)->producer = -1; /* value does not point back at its producer */
  assert_status(mt_verify_module(m), MT_INTERNAL, "node 'n'", "'y'", "producer");
  mt_module_value(m, y)->producer = n;
  h.g->outputs[0] = 999; /* output out of range */
  assert_status(mt_verify_module(m), MT_INTERNAL, "output 0", "range");
  h.g->outputs[0] = y;
  assert_ok(mt_verify_module(m));
  mt_module_destroy(m);
}

/* A pass bug can leave a node's tenant index out of range: the verifier must report it, not read
 * past the tenant array while building its message. */
static void test_node_tenant_out_of_range(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  hand h = new_tenant(m, "bad");
  mt_value_id x = value(&h, h.g, "x"), y = value(&h, h.g, "y");
  add_input(&h, x);
  int32_t n = node(&h, h.g, "n", "Relu", 1, (mt_value_id[]){x}, 1, (mt_value_id[]){y});
  set_output(&h, y);
  mt_module_node(m, n)->tenant = 1000;
  assert_status(mt_verify_module(m), MT_INTERNAL, "'n'", "tenant");
  mt_module_destroy(m);
}

/* A subgraph node may read its parent's values; its graph must name the node's graph as parent. */
static void test_subgraph_scoping(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  hand h = new_tenant(m, "sub");
  mt_value_id cond = value(&h, h.g, "cond"), x = value(&h, h.g, "x"), y = value(&h, h.g, "y");
  add_input(&h, cond);
  add_input(&h, x);
  mt_graph *body;
  assert_ok(mt_module_add_graph(m, h.tenant, h.g, "then", &body));
  mt_value_id inner = value(&h, body, "inner");
  node(&h, body, "inner_relu", "Relu", 1, (mt_value_id[]){x}, 1, (mt_value_id[]){inner});
  body->outputs = mt_arena_array(mt_module_arena(m), 1, sizeof(mt_value_id));
  body->outputs[0] = inner;
  body->n_outputs = 1;
  mt_attr *attrs = mt_arena_array(mt_module_arena(m), 2, sizeof *attrs);
  mt_graph **g1 = mt_arena_array(mt_module_arena(m), 1, sizeof *g1);
  g1[0] = body;
  attrs[0] = (mt_attr){
      .name = "then_branch", .type = MT_ATTR_GRAPH, .count = 1, .graph = body, .graphs = g1};
  attrs[1] = (mt_attr){
      .name = "else_branch", .type = MT_ATTR_GRAPH, .count = 1, .graph = body, .graphs = g1};
  int32_t if_id;
  assert_ok(mt_module_add_node(m, h.g, "if", "If", "", 1, (mt_value_id[]){cond}, 1,
                               (mt_value_id[]){y}, 1, attrs, &if_id));
  set_output(&h, y);
  assert_ok(mt_verify_module(m));
  /* a main-graph node may not read a value that lives inside the branch */
  mt_value_id z = value(&h, h.g, "z");
  node(&h, h.g, "peeks_inside", "Relu", 1, (mt_value_id[]){inner}, 1, (mt_value_id[]){z});
  set_output(&h, z);
  assert_status(mt_verify_module(m), MT_INTERNAL, "node 'peeks_inside'", "'inner'");
  h.g->n_nodes--; /* drop it again */
  set_output(&h, y);
  assert_ok(mt_verify_module(m));
  /* a subgraph that claims another parent */
  body->parent = NULL;
  assert_status(mt_verify_module(m), MT_INTERNAL, "node 'if'", "parent");
  mt_module_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_hand_built_module),
      cmocka_unit_test(test_use_before_definition),
      cmocka_unit_test(test_value_defined_twice),
      cmocka_unit_test(test_cross_tenant_input),
      cmocka_unit_test(test_structural_corruption),
      cmocka_unit_test(test_node_tenant_out_of_range),
      cmocka_unit_test(test_subgraph_scoping),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
