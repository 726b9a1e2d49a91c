/* The CUDA Graph descriptions of runtime/gpu/graph_plan.c, checked on manifests built by hand
 * here (and on real bundles given on the command line): node counts per kind, every dependency
 * the plan's streams, waits, inputs and outputs imply (checked as reachability, so no edge is
 * missing), topological order, one round graph holding every tenant, per-tenant graphs holding
 * exactly the groups of their tenant, the per-partition split with its cross-partition events,
 * lanes, and the statuses for bundles without GPU code. No driver is involved.
 *
 * usage: test_graph_plan [BUNDLE.mtbundle...]   (bundles: the generic checks on their plans) */
#include "test_util.h"

#include "mtrt.h"
#include "runtime/bundle/bundle.h"
#include "runtime/gpu/graph_plan.h"

/* ---- a hand-built manifest ----
 * partition 0: tenants A and B; partition 1: tenant C. Groups in schedule order:
 *   g0 p0 s0 (A): launch(in A.x -> [0,64)), launch([0,64) -> [64,128))
 *   g1 p0 s1 (B): libcall a = in B.x, b = constant 0, d = [256,320)
 *   g2 p0 s0 (A and B, waits g1): launch([64,128), [256,320) -> [128,192), [320,384))
 *   g3 p1 s0 (C): launch(in C.x -> p1 [0,32))
 *   g4 p1 s0 (C): no steps
 * outputs: A.y = p0 [128,192), B.y = p0 [320,384), C.y = p1 [0,32). */

enum { NT = 3, NG = 5, MAXREF = 32 };

typedef struct fixture {
  Mtbundle__Manifest m;
  Mtbundle__TensorType ty;
  int64_t dims[1];
  Mtbundle__Tenant tenants[NT], *tenant_ptrs[NT];
  Mtbundle__Port ins[NT], outs[NT], *in_ptrs[NT][1], *out_ptrs[NT][1];
  Mtbundle__Partition parts[2], *part_ptrs[2];
  Mtbundle__Constant constant, *constant_ptr;
  Mtbundle__Group groups[NG], *group_ptrs[NG];
  int32_t waits[NG][2];
  Mtbundle__Node nodes[6], *node_ptrs[6];
  Mtbundle__GpuGroup gpu[NG], *gpu_ptrs[NG];
  Mtbundle__GpuStep steps[6], *step_ptrs[NG][2];
  Mtbundle__GpuLaunch launches[5];
  Mtbundle__BufferRef *args[5][4];
  Mtbundle__GpuLibCall libcall;
  Mtbundle__GemmProblem gemm, *gemm_ptr;
  Mtbundle__BufferRef refs[MAXREF];
  int n_refs;
  Mtbundle__GpuModule module, *module_ptr;
} fixture;

static Mtbundle__BufferRef *ref(fixture *f, Mtbundle__BufferRef__Kind kind, int tenant,
                                int partition, uint64_t offset, uint64_t size) {
  Mtbundle__BufferRef *r = &f->refs[f->n_refs++];
  r->kind = kind;
  r->tenant = tenant;
  r->index = 0;
  r->partition = partition;
  r->offset = offset;
  r->size = size;
  r->type = &f->ty;
  return r;
}
#define ARENA(f, p, off, size) ref(f, MTBUNDLE__BUFFER_REF__KIND__ARENA, 0, p, off, size)
#define INPUT(f, t) ref(f, MTBUNDLE__BUFFER_REF__KIND__INPUT, t, 0, 0, 0)

static void group(fixture *f, int g, int partition, int stream, int first_node, int n_nodes) {
  f->groups[g].partition = partition;
  f->groups[g].stream = stream;
  f->groups[g].first_node = (uint32_t)first_node;
  f->groups[g].n_nodes = (uint32_t)n_nodes;
  f->groups[g].waits = f->waits[g];
  f->group_ptrs[g] = &f->groups[g];
  f->gpu[g].steps = f->step_ptrs[g];
  f->gpu[g].unavailable = "";
  f->gpu_ptrs[g] = &f->gpu[g];
}

static int n_steps_made;
static void launch(fixture *f, int g, int n_args, Mtbundle__BufferRef *a0, Mtbundle__BufferRef *a1,
                   Mtbundle__BufferRef *a2, Mtbundle__BufferRef *a3) {
  int k = n_steps_made++;
  Mtbundle__GpuLaunch *l = &f->launches[k];
  Mtbundle__BufferRef *all[4] = {a0, a1, a2, a3};
  for (int i = 0; i < n_args; i++) f->args[k][i] = all[i];
  l->args = f->args[k];
  l->n_args = (size_t)n_args;
  l->module = 0;
  l->name = "k";
  f->steps[k].step_case = MTBUNDLE__GPU_STEP__STEP_LAUNCH;
  f->steps[k].launch = l;
  f->step_ptrs[g][f->gpu[g].n_steps++] = &f->steps[k];
}

static fixture *make_fixture(void) {
  fixture *f = calloc(1, sizeof *f);
  n_steps_made = 0;
  f->ty.dtype = 1;
  f->dims[0] = 4;
  f->ty.dims = f->dims;
  f->ty.n_dims = 1;
  static const char *names[NT] = {"A", "B", "C"};
  for (int t = 0; t < NT; t++) {
    Mtbundle__Tenant *tn = &f->tenants[t];
    tn->name = (char *)names[t];
    tn->partition = t == 2 ? 1 : 0;
    f->ins[t].name = "x";
    f->ins[t].type = &f->ty;
    f->outs[t].name = "y";
    f->outs[t].type = &f->ty;
    f->in_ptrs[t][0] = &f->ins[t];
    f->out_ptrs[t][0] = &f->outs[t];
    tn->inputs = f->in_ptrs[t];
    tn->n_inputs = 1;
    tn->outputs = f->out_ptrs[t];
    tn->n_outputs = 1;
    f->tenant_ptrs[t] = tn;
  }
  for (int p = 0; p < 2; p++) {
    f->parts[p].name = p ? "p1" : "p0";
    f->parts[p].arena_bytes = 1024;
    f->parts[p].n_streams = 2;
    f->part_ptrs[p] = &f->parts[p];
  }
  static const int node_tenant[6] = {0, 1, 0, 1, 2, 2};
  for (int i = 0; i < 6; i++) {
    f->nodes[i].name = "n";
    f->nodes[i].tenant = node_tenant[i];
    f->node_ptrs[i] = &f->nodes[i];
  }
  group(f, 0, 0, 0, 0, 1);
  group(f, 1, 0, 1, 1, 1);
  group(f, 2, 0, 0, 2, 2);
  group(f, 3, 1, 0, 4, 1);
  group(f, 4, 1, 0, 5, 1);
  f->waits[2][0] = 1;
  f->groups[2].n_waits = 1;
  launch(f, 0, 2, INPUT(f, 0), ARENA(f, 0, 0, 64), NULL, NULL);
  launch(f, 0, 2, ARENA(f, 0, 0, 64), ARENA(f, 0, 64, 64), NULL, NULL);
  f->gemm.a = INPUT(f, 1);
  f->gemm.b = ref(f, MTBUNDLE__BUFFER_REF__KIND__CONSTANT, 0, 0, 0, 0);
  f->gemm.c = ref(f, MTBUNDLE__BUFFER_REF__KIND__NONE, 0, 0, 0, 0);
  f->gemm.bias = ref(f, MTBUNDLE__BUFFER_REF__KIND__NONE, 0, 0, 0, 0);
  f->gemm.d = ARENA(f, 0, 256, 64);
  f->gemm_ptr = &f->gemm;
  f->libcall.problems = &f->gemm_ptr;
  f->libcall.n_problems = 1;
  int k = n_steps_made++;
  f->steps[k].step_case = MTBUNDLE__GPU_STEP__STEP_LIBCALL;
  f->steps[k].libcall = &f->libcall;
  f->step_ptrs[1][f->gpu[1].n_steps++] = &f->steps[k];
  launch(f, 2, 4, ARENA(f, 0, 64, 64), ARENA(f, 0, 256, 64), ARENA(f, 0, 128, 64),
         ARENA(f, 0, 320, 64));
  launch(f, 3, 2, INPUT(f, 2), ARENA(f, 1, 0, 32), NULL, NULL);
  f->outs[0].source = ARENA(f, 0, 128, 64);
  f->outs[1].source = ARENA(f, 0, 320, 64);
  f->outs[2].source = ARENA(f, 1, 0, 32);
  f->constant.type = &f->ty;
  f->constant_ptr = &f->constant;
  f->module.entry = "k";
  f->module_ptr = &f->module;
  Mtbundle__Manifest *m = &f->m;
  m->tenants = f->tenant_ptrs;
  m->n_tenants = NT;
  m->partitions = f->part_ptrs;
  m->n_partitions = 2;
  m->constants = &f->constant_ptr;
  m->n_constants = 1;
  m->groups = f->group_ptrs;
  m->n_groups = NG;
  m->nodes = f->node_ptrs;
  m->n_nodes = 6;
  m->gpu_groups = f->gpu_ptrs;
  m->n_gpu_groups = NG;
  m->gpu_modules = &f->module_ptr;
  m->n_gpu_modules = 1;
  m->gpu_unavailable = "";
  return f;
}

/* ---- generic checks, for any manifest ---- */

static int count_kind(const mt_gpu_graph *g, mt_gpu_node_kind k) {
  int n = 0;
  for (size_t i = 0; i < g->n_nodes; i++) n += g->nodes[i].kind == k;
  return n;
}

/* Index of the first / last node of group `grp` in g, or -1. */
static int group_node(const mt_gpu_graph *g, int grp, bool last) {
  int found = -1;
  for (size_t i = 0; i < g->n_nodes; i++)
    if ((g->nodes[i].kind == MT_GPU_NODE_KERNEL || g->nodes[i].kind == MT_GPU_NODE_LIBCALL ||
         g->nodes[i].kind == MT_GPU_NODE_JOIN) &&
        g->nodes[i].group == grp) {
      if (!last) return (int)i;
      found = (int)i;
    }
  return found;
}

static int port_node(const mt_gpu_graph *g, mt_gpu_node_kind k, int t, int port) {
  for (size_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].kind == k && g->nodes[i].tenant == t && (port < 0 || g->nodes[i].port == port))
      return (int)i;
  return -1;
}

static bool has_tenant(const Mtbundle__Manifest *m, size_t grp, int t) {
  for (uint32_t i = 0; i < m->groups[grp]->n_nodes; i++)
    if (m->nodes[m->groups[grp]->first_node + i]->tenant == t) return true;
  return false;
}

static bool reads_input(const Mtbundle__GpuStep *s, int t, int i) {
  if (s->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH) {
    for (size_t a = 0; a < s->launch->n_args; a++) {
      const Mtbundle__BufferRef *r = s->launch->args[a];
      if (r->kind == MTBUNDLE__BUFFER_REF__KIND__INPUT && r->tenant == t && r->index == i)
        return true;
    }
    return false;
  }
  for (size_t p = 0; p < s->libcall->n_problems; p++) {
    const Mtbundle__GemmProblem *q = s->libcall->problems[p];
    const Mtbundle__BufferRef *rs[] = {q->a, q->b, q->c, q->bias};
    for (int k = 0; k < 4; k++)
      if (rs[k] && rs[k]->kind == MTBUNDLE__BUFFER_REF__KIND__INPUT && rs[k]->tenant == t &&
          rs[k]->index == i)
        return true;
  }
  return false;
}

/* Every structural promise of graph_plan.h on graph g of manifest m (tenant -1: round). */
static void check_graph(const Mtbundle__Manifest *m, const mt_gpu_graph *g, int tenant) {
  assert_true(g->n_nodes > 0);
  assert_int_equal(g->nodes[0].kind, MT_GPU_NODE_START);
  assert_int_equal(count_kind(g, MT_GPU_NODE_START), 1);
  for (size_t v = 0; v < g->n_nodes; v++) {
    const mt_gpu_node *n = &g->nodes[v];
    assert_true(v == 0 || n->n_deps > 0); /* only START is a root */
    for (uint32_t k = 0; k < n->n_deps; k++) assert_true(g->deps[n->first_dep + k] < v);
  }
  /* groups: a per-tenant graph holds exactly its tenant's groups, each with all its steps */
  for (size_t grp = 0; grp < m->n_groups; grp++) {
    bool want = tenant < 0 || has_tenant(m, grp, tenant);
    int steps = 0;
    for (size_t v = 0; v < g->n_nodes; v++)
      if (g->nodes[v].group == (int)grp &&
          (g->nodes[v].kind == MT_GPU_NODE_KERNEL || g->nodes[v].kind == MT_GPU_NODE_LIBCALL))
        assert_int_equal(g->nodes[v].step, steps++);
    size_t ns = m->gpu_groups[grp]->n_steps;
    assert_int_equal(steps, want ? (int)ns : 0);
    if (!want) {
      assert_int_equal(group_node(g, (int)grp, false), -1);
      continue;
    }
    int first = group_node(g, (int)grp, false), last = group_node(g, (int)grp, true);
    assert_true(first >= 0);
    /* waits (through left-out groups) and stream order */
    for (size_t w = 0; w < m->groups[grp]->n_waits; w++) {
      int lw = group_node(g, m->groups[grp]->waits[w], true);
      if (lw >= 0) assert_true(mt_gpu_graph_reaches(g, (uint32_t)lw, (uint32_t)first));
    }
    for (int prev = (int)grp - 1; prev >= 0; prev--) {
      if (m->groups[prev]->partition != m->groups[grp]->partition ||
          m->groups[prev]->stream != m->groups[grp]->stream)
        continue;
      int lp = group_node(g, prev, true);
      if (lp < 0) continue;
      assert_true(mt_gpu_graph_reaches(g, (uint32_t)lp, (uint32_t)first));
      break;
    }
    /* inputs read by a step are copied in before it */
    for (size_t s = 0; s < ns; s++)
      for (size_t t = 0; t < m->n_tenants; t++)
        for (size_t i = 0; i < m->tenants[t]->n_inputs; i++)
          if (reads_input(m->gpu_groups[grp]->steps[s], (int)t, (int)i)) {
            int ci = port_node(g, MT_GPU_NODE_COPY_IN, (int)t, (int)i);
            assert_true(ci >= 0);
            assert_true(mt_gpu_graph_reaches(g, (uint32_t)ci, (uint32_t)first + (uint32_t)s));
          }
    /* the tenants' outputs leave after every group they are in */
    for (size_t t = 0; t < m->n_tenants; t++) {
      if (!has_tenant(m, grp, (int)t) || (tenant >= 0 && (int)t != tenant)) continue;
      for (size_t o = 0; o < m->tenants[t]->n_outputs; o++) {
        int co = port_node(g, MT_GPU_NODE_COPY_OUT, (int)t, (int)o);
        assert_true(co >= 0);
        assert_true(mt_gpu_graph_reaches(g, (uint32_t)last, (uint32_t)co));
      }
    }
  }
  /* per tenant: copy-ins, copy-outs, one END after all copy-outs */
  for (size_t t = 0; t < m->n_tenants; t++) {
    bool in = tenant < 0 || (int)t == tenant;
    int end = port_node(g, MT_GPU_NODE_END, (int)t, -1);
    assert_int_equal(end >= 0, in);
    if (!in) continue;
    for (size_t o = 0; o < m->tenants[t]->n_outputs; o++) {
      int co = port_node(g, MT_GPU_NODE_COPY_OUT, (int)t, (int)o);
      assert_true(co >= 0 && mt_gpu_graph_reaches(g, (uint32_t)co, (uint32_t)end));
    }
    for (size_t i = 0; i < m->tenants[t]->n_inputs; i++)
      assert_true(port_node(g, MT_GPU_NODE_COPY_IN, (int)t, (int)i) >= 0);
  }
  int ends = count_kind(g, MT_GPU_NODE_END);
  assert_int_equal(ends, tenant < 0 ? (int)m->n_tenants : 1);
}

/* The round graph, every per-tenant graph and the split of the round graph of m. */
static void check_manifest(const Mtbundle__Manifest *m) {
  mt_gpu_graph *round = NULL;
  assert_ok(mt_gpu_graph_build(m, -1, &round));
  check_graph(m, round, -1);
  size_t steps = 0, joins = 0, ins = 0, outs = 0;
  for (size_t g = 0; g < m->n_groups; g++) {
    steps += m->gpu_groups[g]->n_steps;
    joins += m->gpu_groups[g]->n_steps == 0;
  }
  for (size_t t = 0; t < m->n_tenants; t++) {
    ins += m->tenants[t]->n_inputs;
    outs += m->tenants[t]->n_outputs;
  }
  /* one graph per round: START, the copies, every step once, an END per tenant */
  assert_int_equal(round->n_nodes, 1 + ins + steps + joins + outs + m->n_tenants);
  for (size_t t = 0; t < m->n_tenants; t++) {
    mt_gpu_graph *tg = NULL;
    assert_ok(mt_gpu_graph_build(m, (int32_t)t, &tg));
    check_graph(m, tg, (int)t);
    mt_gpu_graph_free(tg);
  }
  mt_gpu_graph **pieces = calloc(m->n_partitions, sizeof *pieces);
  assert_ok(mt_gpu_graph_split(round, (int32_t)m->n_partitions, pieces));
  size_t total = 0;
  int records = 0, waits = 0;
  for (size_t p = 0; p < m->n_partitions; p++) {
    const mt_gpu_graph *pg = pieces[p];
    assert_int_equal(pg->nodes[0].kind, MT_GPU_NODE_START);
    for (size_t v = 0; v < pg->n_nodes; v++) {
      assert_int_equal(pg->nodes[v].partition, (int)p);
      for (uint32_t k = 0; k < pg->nodes[v].n_deps; k++)
        assert_true(pg->deps[pg->nodes[v].first_dep + k] < v);
    }
    records += count_kind(pg, MT_GPU_NODE_EVENT_RECORD);
    waits += count_kind(pg, MT_GPU_NODE_EVENT_WAIT);
    total += pg->n_nodes - 1 - (size_t)count_kind(pg, MT_GPU_NODE_EVENT_RECORD) -
             (size_t)count_kind(pg, MT_GPU_NODE_EVENT_WAIT);
  }
  assert_int_equal(records, waits);
  assert_int_equal(records, pieces[0]->n_events);
  assert_int_equal(total, round->n_nodes - 1); /* every node but START, once */
  for (size_t p = 0; p < m->n_partitions; p++) mt_gpu_graph_free(pieces[p]);
  free(pieces);
  mt_gpu_graph_free(round);
}

/* ---- tests on the hand-built manifest ---- */

static void round_graph(void **state) {
  fixture *f = make_fixture();
  check_manifest(&f->m);
  mt_gpu_graph *g = NULL;
  assert_ok(mt_gpu_graph_build(&f->m, -1, &g));
  /* START, 3 copy-ins, 5 steps + 1 join, 3 copy-outs, 3 ENDs */
  assert_int_equal(g->n_nodes, 16);
  assert_int_equal(count_kind(g, MT_GPU_NODE_KERNEL), 4);
  assert_int_equal(count_kind(g, MT_GPU_NODE_LIBCALL), 1);
  assert_int_equal(count_kind(g, MT_GPU_NODE_JOIN), 1);
  /* the shared group g2 follows g0 (stream) and g1 (wait); B's output follows g1 and g2 */
  int g2 = group_node(g, 2, false), g1 = group_node(g, 1, true), g0 = group_node(g, 0, true);
  assert_true(mt_gpu_graph_reaches(g, (uint32_t)g0, (uint32_t)g2));
  assert_true(mt_gpu_graph_reaches(g, (uint32_t)g1, (uint32_t)g2));
  /* partitions stay independent: nothing of partition 1 waits for partition 0 */
  int g3 = group_node(g, 3, false);
  assert_false(mt_gpu_graph_reaches(g, (uint32_t)g0, (uint32_t)g3));
  assert_false(mt_gpu_graph_reaches(g, (uint32_t)g2, (uint32_t)g3));
  /* g0 and g1 are on different streams without a wait: they may run concurrently */
  assert_false(mt_gpu_graph_reaches(g, (uint32_t)group_node(g, 0, false), (uint32_t)g1));
  mt_gpu_graph_free(g);
  free(f);
}

static void tenant_graphs(void **state) {
  fixture *f = make_fixture();
  static const int expect_nodes[NT] = {7, 6, 6}; /* A: g0 (2) + g2; B: g1 + g2; C: g3 + join */
  for (int t = 0; t < NT; t++) {
    mt_gpu_graph *g = NULL;
    assert_ok(mt_gpu_graph_build(&f->m, t, &g));
    assert_int_equal(g->n_nodes, expect_nodes[t]);
    assert_int_equal(g->tenant, t);
    mt_gpu_graph_free(g);
  }
  /* B's graph: g2 waits on g1 directly (g0, on g2's stream, is A's only) */
  mt_gpu_graph *g = NULL;
  assert_ok(mt_gpu_graph_build(&f->m, 1, &g));
  assert_true(
      mt_gpu_graph_reaches(g, (uint32_t)group_node(g, 1, true), (uint32_t)group_node(g, 2, false)));
  mt_gpu_graph_free(g);
  mt_gpu_graph *bad = (mt_gpu_graph *)1;
  assert_status(mt_gpu_graph_build(&f->m, 3, &bad), MT_OUT_OF_RANGE, "tenant index 3");
  assert_null(bad);
  free(f);
}

/* A wait across partitions becomes an event pair when the graph is split. */
static void split_cross_partition(void **state) {
  fixture *f = make_fixture();
  f->waits[3][0] = 0; /* g3 (partition 1) waits on g0 (partition 0) */
  f->groups[3].n_waits = 1;
  check_manifest(&f->m);
  mt_gpu_graph *g = NULL, *pieces[2] = {NULL, NULL};
  assert_ok(mt_gpu_graph_build(&f->m, -1, &g));
  assert_true(
      mt_gpu_graph_reaches(g, (uint32_t)group_node(g, 0, true), (uint32_t)group_node(g, 3, false)));
  assert_ok(mt_gpu_graph_split(g, 2, pieces));
  assert_int_equal(pieces[0]->n_events, 1);
  assert_int_equal(count_kind(pieces[0], MT_GPU_NODE_EVENT_RECORD), 1);
  assert_int_equal(count_kind(pieces[1], MT_GPU_NODE_EVENT_WAIT), 1);
  /* the record follows g0's last step; g3 follows the wait */
  int rec = -1, wait = -1;
  for (size_t v = 0; v < pieces[0]->n_nodes; v++)
    if (pieces[0]->nodes[v].kind == MT_GPU_NODE_EVENT_RECORD) rec = (int)v;
  for (size_t v = 0; v < pieces[1]->n_nodes; v++)
    if (pieces[1]->nodes[v].kind == MT_GPU_NODE_EVENT_WAIT) wait = (int)v;
  assert_true(
      mt_gpu_graph_reaches(pieces[0], (uint32_t)group_node(pieces[0], 0, true), (uint32_t)rec));
  assert_true(
      mt_gpu_graph_reaches(pieces[1], (uint32_t)wait, (uint32_t)group_node(pieces[1], 3, false)));
  for (int p = 0; p < 2; p++) mt_gpu_graph_free(pieces[p]);
  mt_gpu_graph_free(g);
  free(f);
}

static void lanes(void **state) {
  fixture *f = make_fixture();
  int32_t lane[NT];
  assert_ok(mt_gpu_graph_lanes(&f->m, lane));
  /* A and B share g2; C is alone in partition 1 */
  assert_int_equal(lane[0], 0);
  assert_int_equal(lane[1], 0);
  assert_int_equal(lane[2], 2);
  /* g2 as A's alone: A still reads [256,320), which B's GEMM writes -> one lane */
  f->nodes[3].tenant = 0;
  assert_ok(mt_gpu_graph_lanes(&f->m, lane));
  assert_int_equal(lane[1], 0);
  /* ... and once g2 touches none of B's bytes, B gets its own lane */
  f->launches[3].args[1] = f->launches[3].args[0];
  f->outs[1].source = f->gemm.d;
  assert_ok(mt_gpu_graph_lanes(&f->m, lane));
  assert_int_equal(lane[0], 0);
  assert_int_equal(lane[1], 1);
  assert_int_equal(lane[2], 2);
  free(f);
}

static void refusals(void **state) {
  fixture *f = make_fixture();
  mt_gpu_graph *g = NULL;
  f->gpu[1].unavailable = "conv: implicit-GEMM generator not written yet";
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_UNAVAILABLE, "group 1",
                "implicit-GEMM generator");
  f->gpu[1].unavailable = "";
  f->steps[2].step_case = MTBUNDLE__GPU_STEP__STEP__NOT_SET;
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "group 1 step 0",
                "neither a launch");
  f->steps[2].step_case = MTBUNDLE__GPU_STEP__STEP_LIBCALL;
  f->launches[0].module = 7;
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "module 7");
  f->launches[0].module = 0;
  f->launches[1].args[1]->partition = 5;
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "group 0 step 1",
                "partition index");
  f->launches[1].args[1]->partition = 0;
  f->launches[1].args[1]->offset = 1000;
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_DATA_LOSS, "past its area");
  f->launches[1].args[1]->offset = 64;
  f->m.n_gpu_groups = 0;
  f->m.gpu_unavailable = "compiled without --nvrtc";
  assert_status(mt_gpu_graph_build(&f->m, -1, &g), MT_UNAVAILABLE, "no GPU plan",
                "without --nvrtc");
  int32_t lane[NT];
  assert_status(mt_gpu_graph_lanes(&f->m, lane), MT_UNAVAILABLE, "no GPU plan");
  assert_null(g);
  free(f);
}

/* ---- real bundles from the command line ---- */

static int n_bundles;
static char **bundle_paths;

static void real_bundles(void **state) {
  for (int i = 0; i < n_bundles; i++) {
    mtrt_bundle *b = NULL;
    assert_ok((mt_status *)mtrt_bundle_open(bundle_paths[i], NULL, &b));
    const Mtbundle__Manifest *m = mt_bundle_of(b)->manifest;
    mt_gpu_graph *g = NULL;
    mt_status *st = mt_gpu_graph_build(m, -1, &g);
    if (st && mt_status_code_of(st) == MT_UNAVAILABLE) {
      printf("%s: %s (graph checks skipped)\n", bundle_paths[i], mt_status_message(st));
      mt_status_free(st);
      mtrt_bundle_close(b);
      skip();
    }
    assert_ok(st);
    printf("%s: round graph of %zu nodes, %zu edges; lanes:", bundle_paths[i], g->n_nodes,
           g->n_deps);
    int32_t *lane = calloc(m->n_tenants, sizeof *lane);
    assert_ok(mt_gpu_graph_lanes(m, lane));
    for (size_t t = 0; t < m->n_tenants; t++) printf(" %s->%d", m->tenants[t]->name, lane[t]);
    printf("\n");
    free(lane);
    mt_gpu_graph_free(g);
    check_manifest(m);
    mtrt_bundle_close(b);
  }
}

int main(int argc, char **argv) {
  n_bundles = argc - 1;
  bundle_paths = argv + 1;
  if (n_bundles > 0) {
    const struct CMUnitTest real[] = {cmocka_unit_test(real_bundles)};
    return tu_exit_code(cmocka_run_group_tests(real, NULL, NULL));
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_graph),
      cmocka_unit_test(tenant_graphs),
      cmocka_unit_test(split_cross_partition),
      cmocka_unit_test(lanes),
      cmocka_unit_test(refusals),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
