/* Conditional steps (If) in the CUDA Graph descriptions of runtime/gpu/graph_plan.c, on a
 * manifest built by hand: the nodes and bodies it records (COND_SET, then CONDITIONAL with a then
 * and an else body graph, nested conditionals inside bodies, an empty body as one JOIN), the
 * edges around them (the set launch follows stream order, the condition's copy-in and the copy-in
 * of every input a body reads; what follows the group follows the CONDITIONAL), which manifest
 * step each body node stands for, the split refusing graphs with bodies, and the refusals of
 * broken body structure (index out of range, a body named twice, a body naming a later one, a
 * body nobody owns, nesting past MT_BUNDLE_MAX_IF_DEPTH, the set module out of range). No driver.
 *
 * The manifest: one partition, tenant A with inputs x and c, output y.
 *   g0: launch(x -> [0,64))
 *   g1: conditional(c): then body 2 = [launch(x, [0,64) -> [128,192)),
 *                                      conditional([0,64)): then body 0, else body 1],
 *                       else body 3 = [launch([0,64) -> [128,192))]
 *       body 0 = [launch([0,64) -> [128,192))], body 1 = [] (empty)
 *   g2: launch([128,192) -> [192,256)); y = [192,256) */
#include "test_util.h"

#include "runtime/bundle/bundle.h"
#include "runtime/gpu/graph_plan.h"

enum { NB = 40 };

typedef struct fixture {
  Mtbundle__Manifest m;
  Mtbundle__TensorType ty;
  int64_t dims[1];
  Mtbundle__Tenant tenant, *tenant_ptr;
  Mtbundle__Port ins[2], out, *in_ptrs[2], *out_ptr;
  Mtbundle__Partition part, *part_ptr;
  Mtbundle__Group groups[3], *group_ptrs[3];
  Mtbundle__Node nodes[3], *node_ptrs[3];
  Mtbundle__GpuGroup gpu[3], *gpu_ptrs[3];
  Mtbundle__GpuBody bodies[NB], *body_ptrs[NB];
  Mtbundle__GpuStep steps[64], *lists[64][2];
  int n_steps, n_lists;
  Mtbundle__GpuLaunch launches[8];
  Mtbundle__BufferRef *args[8][3];
  int n_launches;
  Mtbundle__GpuConditional conds[NB];
  int n_conds;
  Mtbundle__BufferRef refs[32];
  int n_refs;
  Mtbundle__GpuModule module, *module_ptr;
} fixture;

static Mtbundle__BufferRef *ref(fixture *f, Mtbundle__BufferRef__Kind kind, int index,
                                uint64_t offset) {
  Mtbundle__BufferRef *r = &f->refs[f->n_refs++];
  r->kind = kind;
  r->index = index;
  r->offset = offset;
  r->size = 64;
  r->type = &f->ty;
  return r;
}
#define ARENA(f, off) ref(f, MTBUNDLE__BUFFER_REF__KIND__ARENA, 0, off)
#define INPUT(f, i) ref(f, MTBUNDLE__BUFFER_REF__KIND__INPUT, i, 0)

static Mtbundle__GpuStep *launch(fixture *f, Mtbundle__BufferRef *a0, Mtbundle__BufferRef *a1,
                                 Mtbundle__BufferRef *a2) {
  int k = f->n_launches++;
  Mtbundle__GpuLaunch *l = &f->launches[k];
  Mtbundle__BufferRef *all[3] = {a0, a1, a2};
  for (int i = 0; i < 3 && all[i]; i++) f->args[k][l->n_args++] = all[i];
  l->args = f->args[k];
  l->name = "k";
  Mtbundle__GpuStep *s = &f->steps[f->n_steps++];
  s->step_case = MTBUNDLE__GPU_STEP__STEP_LAUNCH;
  s->launch = l;
  return s;
}

static Mtbundle__GpuStep *conditional(fixture *f, Mtbundle__BufferRef *cond, uint32_t then_body,
                                      uint32_t else_body) {
  Mtbundle__GpuConditional *c = &f->conds[f->n_conds++];
  c->condition = cond;
  c->then_body = then_body;
  c->else_body = else_body;
  c->set_block = 32;
  Mtbundle__GpuStep *s = &f->steps[f->n_steps++];
  s->step_case = MTBUNDLE__GPU_STEP__STEP_CONDITIONAL;
  s->conditional = c;
  return s;
}

/* The step list of a group or body (up to two steps). */
static Mtbundle__GpuStep **step_list(fixture *f, Mtbundle__GpuStep *s0, Mtbundle__GpuStep *s1) {
  Mtbundle__GpuStep **out = f->lists[f->n_lists++];
  out[0] = s0;
  out[1] = s1;
  return out;
}

static void body(fixture *f, int b, int n, Mtbundle__GpuStep *s0, Mtbundle__GpuStep *s1) {
  f->bodies[b].steps = step_list(f, s0, s1);
  f->bodies[b].n_steps = (size_t)n;
  f->body_ptrs[b] = &f->bodies[b];
  if ((size_t)b + 1 > f->m.n_gpu_bodies) f->m.n_gpu_bodies = (size_t)b + 1;
}

static void group(fixture *f, int g, Mtbundle__GpuStep *s) {
  f->groups[g].first_node = (uint32_t)g;
  f->groups[g].n_nodes = 1;
  f->group_ptrs[g] = &f->groups[g];
  f->nodes[g].name = "n";
  f->node_ptrs[g] = &f->nodes[g];
  f->gpu[g].steps = step_list(f, s, NULL);
  f->gpu[g].n_steps = 1;
  f->gpu[g].unavailable = "";
  f->gpu_ptrs[g] = &f->gpu[g];
}

static fixture *make_fixture(void) {
  fixture *f = calloc(1, sizeof *f);
  f->ty.dtype = 1;
  f->dims[0] = 4;
  f->ty.dims = f->dims;
  f->ty.n_dims = 1;
  f->ins[0].name = "x";
  f->ins[1].name = "c";
  for (int i = 0; i < 2; i++) {
    f->ins[i].type = &f->ty;
    f->in_ptrs[i] = &f->ins[i];
  }
  f->out.name = "y";
  f->out.type = &f->ty;
  f->out.source = ARENA(f, 192);
  f->out_ptr = &f->out;
  f->tenant.name = "A";
  f->tenant.inputs = f->in_ptrs;
  f->tenant.n_inputs = 2;
  f->tenant.outputs = &f->out_ptr;
  f->tenant.n_outputs = 1;
  f->tenant_ptr = &f->tenant;
  f->part.name = "p0";
  f->part.arena_bytes = 1024;
  f->part.n_streams = 1;
  f->part_ptr = &f->part;
  f->module.entry = "k";
  f->module_ptr = &f->module;
  Mtbundle__Manifest *m = &f->m;
  m->gpu_bodies = f->body_ptrs;
  body(f, 0, 1, launch(f, ARENA(f, 0), ARENA(f, 128), NULL), NULL);
  body(f, 1, 0, NULL, NULL);
  body(f, 2, 2, launch(f, INPUT(f, 0), ARENA(f, 0), ARENA(f, 128)),
       conditional(f, ARENA(f, 0), 0, 1));
  body(f, 3, 1, launch(f, ARENA(f, 0), ARENA(f, 128), NULL), NULL);
  group(f, 0, launch(f, INPUT(f, 0), ARENA(f, 0), NULL));
  group(f, 1, conditional(f, INPUT(f, 1), 2, 3));
  group(f, 2, launch(f, ARENA(f, 128), ARENA(f, 192), NULL));
  m->tenants = &f->tenant_ptr;
  m->n_tenants = 1;
  m->partitions = &f->part_ptr;
  m->n_partitions = 1;
  m->groups = f->group_ptrs;
  m->n_groups = 3;
  m->nodes = f->node_ptrs;
  m->n_nodes = 3;
  m->gpu_groups = f->gpu_ptrs;
  m->n_gpu_groups = 3;
  m->gpu_modules = &f->module_ptr;
  m->n_gpu_modules = 1;
  m->gpu_unavailable = "";
  return f;
}

static int find(const mt_gpu_graph *g, mt_gpu_node_kind k, int group) {
  for (size_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].kind == k && (group < 0 || g->nodes[i].group == group)) return (int)i;
  return -1;
}

/* A body graph: its nodes chained from one root, each standing for the body's step it names. */
static void check_body(const Mtbundle__Manifest *m, const mt_gpu_graph *b, int scope,
                       size_t n_nodes) {
  assert_int_equal(b->scope, scope);
  assert_int_equal(b->n_nodes, n_nodes);
  assert_int_equal(b->nodes[0].n_deps, 0);
  for (size_t v = 1; v < b->n_nodes; v++) {
    assert_int_equal(b->nodes[v].n_deps, 1);
    assert_int_equal(b->deps[b->nodes[v].first_dep], v - 1);
  }
  for (size_t v = 0; v < b->n_nodes; v++) {
    const mt_gpu_node *n = &b->nodes[v];
    assert_int_equal(n->group, 1);
    if (n->kind == MT_GPU_NODE_JOIN) continue;
    assert_ptr_equal(mt_gpu_graph_step(m, b, n), m->gpu_bodies[scope]->steps[n->step]);
  }
}

static bool has_dep(const mt_gpu_graph *g, int v, int u) {
  for (uint32_t k = 0; k < g->nodes[v].n_deps; k++)
    if ((int)g->deps[g->nodes[v].first_dep + k] == u) return true;
  return false;
}

static void check_round(const Mtbundle__Manifest *m, const mt_gpu_graph *g) {
  /* START, 2 copy-ins, g0, set + conditional, g2, copy-out, END */
  assert_int_equal(g->n_nodes, 9);
  int k0 = find(g, MT_GPU_NODE_KERNEL, 0), set = find(g, MT_GPU_NODE_COND_SET, 1),
      cond = find(g, MT_GPU_NODE_CONDITIONAL, 1), k2 = find(g, MT_GPU_NODE_KERNEL, 2);
  int in_x = find(g, MT_GPU_NODE_COPY_IN, -1), in_c = in_x + 1,
      out = find(g, MT_GPU_NODE_COPY_OUT, -1);
  assert_true(k0 >= 0 && set >= 0 && cond == set + 1 && k2 > cond && out > k2);
  assert_int_equal(g->nodes[in_c].port, 1);
  /* the set launch: after g0 (stream order), the condition's copy-in and x's (a body reads x) */
  assert_true(has_dep(g, set, k0));
  assert_true(has_dep(g, set, in_c));
  assert_true(has_dep(g, set, in_x)); /* direct: not only through g0 */
  /* the conditional follows exactly its set launch; g2 and the output follow the conditional */
  assert_int_equal(g->nodes[cond].n_deps, 1);
  assert_int_equal(g->deps[g->nodes[cond].first_dep], set);
  assert_true(mt_gpu_graph_reaches(g, (uint32_t)cond, (uint32_t)k2));
  assert_ptr_equal(mt_gpu_graph_step(m, g, &g->nodes[set]), m->gpu_groups[1]->steps[0]);
  assert_int_equal(g->nodes[cond].body, 0);
  assert_int_equal(g->n_bodies, 2);
  /* then body 2: launch, then the nested conditional (set + IF over bodies 0 and 1) */
  const mt_gpu_graph *then_g = g->bodies[0], *else_g = g->bodies[1];
  check_body(m, then_g, 2, 3);
  assert_int_equal(then_g->nodes[0].kind, MT_GPU_NODE_KERNEL);
  assert_int_equal(then_g->nodes[1].kind, MT_GPU_NODE_COND_SET);
  assert_int_equal(then_g->nodes[2].kind, MT_GPU_NODE_CONDITIONAL);
  assert_int_equal(then_g->nodes[2].step, 1);
  assert_int_equal(then_g->n_bodies, 2);
  check_body(m, then_g->bodies[0], 0, 1);
  assert_int_equal(then_g->bodies[0]->nodes[0].kind, MT_GPU_NODE_KERNEL);
  check_body(m, then_g->bodies[1], 1, 1); /* the empty body: one JOIN */
  assert_int_equal(then_g->bodies[1]->nodes[0].kind, MT_GPU_NODE_JOIN);
  check_body(m, else_g, 3, 1);
  assert_int_equal(else_g->nodes[0].kind, MT_GPU_NODE_KERNEL);
  assert_int_equal(else_g->n_bodies, 0);
}

static void records_conditional_nodes_with_bodies(void **state) {
  fixture *f = make_fixture();
  mt_gpu_graph *g = NULL;
  assert_ok(mt_gpu_graph_build(&f->m, -1, &g));
  check_round(&f->m, g);
  mt_gpu_graph *t = NULL; /* the one tenant's graph is the round graph */
  assert_ok(mt_gpu_graph_build(&f->m, 0, &t));
  check_round(&f->m, t);
  mt_gpu_graph_free(t);
  mt_gpu_graph *pieces[1] = {NULL};
  assert_status(mt_gpu_graph_split(g, 1, pieces), MT_UNIMPLEMENTED, "conditional");
  assert_null(pieces[0]);
  int32_t lane[1];
  assert_ok(mt_gpu_graph_lanes(&f->m, lane));
  mt_gpu_graph_free(g);
  free(f);
}

static void refuses_broken_bodies(void **state) {
  mt_gpu_graph *g = NULL;
  fixture *f = make_fixture();
  f->conds[1].then_body = 9; /* g1's conditional */
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "GPU group 1",
                "body 9 is not a GPU body");
  f->conds[1].then_body = 3;
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "belongs to another conditional");
  f->conds[1].then_body = 2;
  f->conds[0].then_body = 3; /* body 2's nested conditional naming a later body */
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "GPU body 2",
                "body 3 is not a GPU body before it");
  f->conds[0].then_body = 0;
  body(f, 4, 0, NULL, NULL);
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "GPU body 4",
                "belongs to no conditional");
  f->m.n_gpu_bodies = 4;
  f->conds[1].set_module = 3;
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "set module 3");
  f->conds[1].set_module = 0;
  f->launches[0].module = 5; /* inside body 0, two levels down */
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "module 5", "body 0 step 0");
  f->launches[0].module = 0;
  f->launches[1].args[0]->index = 7; /* body 2's launch reads input 7 */
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "tenant input index");
  free(f);
}

/* Conditionals nested MT_BUNDLE_MAX_IF_DEPTH deep are described; one level more is refused. */
static void bounds_nesting(void **state) {
  assert_int_equal(MT_GPU_MAX_COND_DEPTH, MT_BUNDLE_MAX_IF_DEPTH);
  for (int depth = MT_BUNDLE_MAX_IF_DEPTH; depth <= MT_BUNDLE_MAX_IF_DEPTH + 1; depth++) {
    fixture *f = make_fixture();
    /* level i: then body 2i+1 = [conditional over level i-1's bodies], else body 2i = [] */
    f->m.n_gpu_bodies = 0;
    body(f, 0, 0, NULL, NULL);
    body(f, 1, 1, launch(f, ARENA(f, 0), ARENA(f, 128), NULL), NULL);
    for (int i = 1; i < depth; i++) {
      body(f, 2 * i, 0, NULL, NULL);
      body(f, 2 * i + 1, 1, conditional(f, ARENA(f, 0), 2 * (uint32_t)i - 1, 2 * (uint32_t)i - 2),
           NULL);
    }
    f->gpu[1].steps[0] =
        conditional(f, INPUT(f, 1), 2 * (uint32_t)depth - 1, 2 * (uint32_t)depth - 2);
    mt_gpu_graph *g = NULL;
    if (depth == MT_BUNDLE_MAX_IF_DEPTH) {
      assert_ok(mt_gpu_graph_build(&f->m, -1, &g));
      const mt_gpu_graph *b = g;
      int levels = 0;
      while (b->n_bodies) b = b->bodies[0], levels++;
      assert_int_equal(levels, depth);
      assert_int_equal(b->nodes[0].kind, MT_GPU_NODE_KERNEL);
      mt_gpu_graph_free(g);
    } else {
      assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "nest deeper than");
    }
    free(f);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(records_conditional_nodes_with_bodies),
      cmocka_unit_test(refuses_broken_bodies),
      cmocka_unit_test(bounds_nesting),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
