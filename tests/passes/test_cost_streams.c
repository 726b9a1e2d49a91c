/* The cost model, SM partitions and assign-streams.
 *
 * Hand-built modules (always): exact flops/bytes/blocks of a Conv and a MatMul, the roofline
 * arithmetic, JSON overrides changing the estimates and unknown keys/archs rejected; partition
 * budgets that cannot fit rejected naming the partition; streams and waits for a diamond, two
 * independent chains, a fork-join inside one tenant, a horizontal group joining two tenants, and
 * more parallel tenants than the stream cap. For every schedule: each data edge between
 * horizontal groups on different streams is ordered by happens-before through the waits, no wait
 * is redundant (dropping any one breaks that), the single-query happens-before agrees with the
 * prebuilt relation on every pair, and the plan run in schedule order is bit-identical to each
 * tenant run alone.
 * With --models DIR: T1, T2, T3 at batch 1 through the whole pipeline (and with
 * fusion disabled): streams, waits, predicted makespan vs. the sum of single-tenant latencies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/manifest.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"
#include "plan/schedule.h"
#include "pass_test_util.h"
#include "test_groups.h"

/* Expects an error whose one-line message contains every needle. */
static void expect_error(mt_status *st, const char *what, const char *const *needles) {
  if (!st) {
    fprintf(stderr, "FAIL %s: expected an error, got OK\n", what);
    failures++;
    return;
  }
  const char *msg = mt_status_message(st);
  check_needles(what, msg, needles);
  CHECK(!strchr(msg, '\n'), "%s: message spans lines: %s", what, msg);
  printf("%s: rejected: %s\n", what, msg);
  mt_status_free(st);
}

/* ---- hand-built modules ---- */

static mt_graph *tenant(mt_module *m, const char *name) {
  int32_t t;
  if (!ok(mt_module_add_tenant(m, name, "/hand/made.onnx", &t), "add tenant")) abort();
  mt_tenant *tn = mt_module_tenant(m, t);
  tn->opsets = mt_arena_array(mt_module_arena(m), 1, sizeof *tn->opsets);
  tn->opsets[0].domain = "";
  tn->opsets[0].version = 13;
  tn->n_opsets = 1;
  return tn->graph;
}

static mt_value_id value(mt_module *m, mt_graph *g, const char *name) {
  mt_value_id v;
  if (!ok(mt_module_add_value(m, g, name, &v), "add value")) abort();
  return v;
}

static mt_value_id input(mt_module *m, mt_graph *g, const char *name, int rank,
                         const int64_t *dims) {
  mt_value_id v = value(m, g, name);
  mt_value *val = mt_module_value(m, v);
  val->dtype = MT_DTYPE_FLOAT32;
  val->rank = rank;
  for (int i = 0; i < rank; i++) val->dims[i] = dims[i];
  mt_value_id *in = mt_arena_array(mt_module_arena(m), (size_t)g->n_inputs + 1, sizeof *in);
  if (g->n_inputs) memcpy(in, g->inputs, (size_t)g->n_inputs * sizeof *in);
  in[g->n_inputs++] = v;
  g->inputs = in;
  return v;
}

static mt_value_id weight(mt_module *m, mt_graph *g, const char *name, int rank,
                          const int64_t *dims) {
  int64_t n = mt_shape_numel(rank, dims);
  float *data = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) data[i] = (float)((i * 7919) % 13) / 13.0f - 0.5f;
  int32_t c;
  if (!ok(mt_module_intern_constant(m, MT_DTYPE_FLOAT32, rank, dims, data,
                                    sizeof(float) * (size_t)n, &c),
          "constant"))
    abort();
  free(data);
  mt_value_id v = value(m, g, name);
  mt_module_bind_constant(m, v, c);
  return v;
}

static mt_value_id op(mt_module *m, mt_graph *g, const char *name, const char *op_type, int n_in,
                      const mt_value_id *in) {
  mt_value_id out = value(m, g, name);
  int32_t id;
  if (!ok(mt_module_add_node(m, g, name, op_type, "", n_in, in, 1, &out, 0, NULL, &id), "add node"))
    abort();
  return out;
}

static void output(mt_module *m, mt_graph *g, mt_value_id v) {
  mt_value_id *o = mt_arena_array(mt_module_arena(m), (size_t)g->n_outputs + 1, sizeof *o);
  if (g->n_outputs) memcpy(o, g->outputs, (size_t)g->n_outputs * sizeof *o);
  o[g->n_outputs++] = v;
  g->outputs = o;
}

static const int64_t vec[2] = {4, 1024};

static void build_diamond(mt_module *m) {
  mt_graph *g = tenant(m, "diamond");
  mt_value_id x = input(m, g, "x", 2, vec);
  mt_value_id a = op(m, g, "a", "Relu", 1, &x);
  mt_value_id b = op(m, g, "b", "Sigmoid", 1, &a);
  mt_value_id c = op(m, g, "c", "Tanh", 1, &a);
  output(m, g, op(m, g, "d", "Add", 2, (mt_value_id[]){b, c}));
}

/* k tenants, each a chain of `len` elementwise ops. */
static void build_chains(mt_module *m, int k, int len) {
  static const char *const ops[] = {"Relu", "Neg", "Exp", "Abs"};
  for (int t = 0; t < k; t++) {
    char name[32];
    snprintf(name, sizeof name, "chain%d", t);
    mt_graph *g = tenant(m, name);
    mt_value_id v = input(m, g, "x", 2, vec);
    for (int i = 0; i < len; i++) {
      snprintf(name, sizeof name, "c%d_%d", t, i);
      v = op(m, g, name, ops[i % 4], 1, &v);
    }
    output(m, g, v);
  }
}

static void build_fork_join(mt_module *m) {
  mt_graph *g = tenant(m, "forkjoin");
  mt_value_id x = input(m, g, "x", 2, vec);
  mt_value_id a = op(m, g, "a", "Relu", 1, &x), ends[3];
  for (int i = 0; i < 3; i++) {
    char nb[8], nc[8];
    snprintf(nb, sizeof nb, "b%d", i);
    snprintf(nc, sizeof nc, "c%d", i);
    mt_value_id b = op(m, g, nb, "Exp", 1, &a);
    ends[i] = op(m, g, nc, "Neg", 1, &b);
  }
  output(m, g, op(m, g, "s", "Sum", 3, ends));
}

/* Moves the fused group of hgroup `drop` into hgroup `keep` (a multi-body launch) and compacts
 * the hgroup array, as horizontal fusion would. */
static void merge_hgroups(mt_plan *p, int32_t keep, int32_t drop) {
  mt_horizontal_group *hk = &p->hgroups[keep], *hd = &p->hgroups[drop];
  int32_t *members =
      mt_arena_array(&p->arena, (size_t)(hk->n_members + hd->n_members), sizeof(int32_t));
  memcpy(members, hk->members, sizeof(int32_t) * (size_t)hk->n_members);
  memcpy(members + hk->n_members, hd->members, sizeof(int32_t) * (size_t)hd->n_members);
  for (int i = 0; i < hd->n_members; i++) p->groups[hd->members[i]].hgroup = keep;
  hk->members = members;
  hk->n_members += hd->n_members;
  hk->kind = MT_HGROUP_MULTI_BODY;
  int32_t last = p->n_hgroups - 1;
  if (drop != last) {
    p->hgroups[drop] = p->hgroups[last];
    for (int i = 0; i < p->hgroups[drop].n_members; i++)
      p->groups[p->hgroups[drop].members[i]].hgroup = drop;
  }
  p->n_hgroups--;
}

static int32_t hgroup_of(const mt_plan *p, const char *node_name) {
  for (int gi = 0; gi < p->n_groups; gi++)
    for (int k = 0; k < p->groups[gi].n_nodes; k++)
      if (strcmp(mt_module_node_c(p->module, p->groups[gi].nodes[k])->name, node_name) == 0)
        return p->groups[gi].hgroup;
  return -1;
}

static int total_waits(const mt_plan *p) {
  int w = 0;
  for (int h = 0; h < p->n_hgroups; h++) w += p->hgroups[h].n_waits;
  return w;
}

/* Every property of a finished schedule the stream pass promises (see the file comment). */
static void check_schedule(mt_plan *p, const char *label, bool all_pairs) {
  CHECK(ok(mt_plan_verify(p), label), "%s: plan verifier", label);
  CHECK(ok(mt_schedule_check(p), label), "%s: a data dependency is not ordered", label);
  /* each edge explicitly: producer on another stream happens before the consumer */
  mt_hgroup_deps d;
  mt_schedule_order *o = NULL;
  if (!ok(mt_schedule_deps_build(p, &d), label)) return;
  if (!ok(mt_schedule_order_build(p, &o), label)) {
    mt_schedule_deps_free(&d);
    return;
  }
  int cross = 0;
  for (int h = 0; h < p->n_hgroups; h++)
    for (int32_t e = d.start[h]; e < d.start[h + 1]; e++) {
      int32_t u = d.pred[e];
      if (p->hgroups[u].stream == p->hgroups[h].stream) continue;
      cross++;
      CHECK(mt_schedule_order_before(o, u, h), "%s: edge %d -> %d across streams %d/%d not ordered",
            label, u, h, p->hgroups[u].stream, p->hgroups[h].stream);
    }
  /* no wait is redundant: dropping any one leaves some dependency unordered */
  int redundant = 0;
  for (int h = 0; h < p->n_hgroups; h++) {
    mt_horizontal_group *hg = &p->hgroups[h];
    int nw = hg->n_waits;
    int32_t saved[64];
    if (nw > 64) continue; /* never in practice: a group waits on a few streams at most */
    if (nw) memcpy(saved, hg->waits, sizeof(int32_t) * (size_t)nw); /* waits is NULL when nw is 0 */
    for (int w = 0; w < nw; w++) {
      hg->waits[w] = saved[nw - 1];
      hg->n_waits = nw - 1;
      mt_status *st = mt_schedule_check(p);
      if (!st) redundant++;
      mt_status_free(st);
      memcpy(hg->waits, saved, sizeof(int32_t) * (size_t)nw);
      hg->n_waits = nw;
    }
  }
  CHECK(redundant == 0, "%s: %d waits are implied by the others", label, redundant);
  /* the one-off query agrees with the relation */
  int disagree = 0, checked = 0;
  for (int a = 0; a < p->n_hgroups; a++)
    for (int b = 0; b < p->n_hgroups; b++) {
      if (!all_pairs && (a * 7 + b * 13) % 97 != 0) continue; /* a sample on big plans */
      checked++;
      disagree += mt_schedule_happens_before(p, a, b) != mt_schedule_order_before(o, a, b);
    }
  CHECK(disagree == 0, "%s: happens_before disagrees with the relation on %d of %d pairs", label,
        disagree, checked);
  /* streams in range; positions dense per partition */
  for (int h = 0; h < p->n_hgroups; h++) {
    const mt_horizontal_group *hg = &p->hgroups[h];
    CHECK(hg->stream >= 0 && hg->stream < p->partitions[hg->partition].n_streams,
          "%s: hgroup %d stream %d of %d", label, h, hg->stream,
          p->partitions[hg->partition].n_streams);
    CHECK(hg->position >= 0, "%s: hgroup %d has no position", label, h);
  }
  printf("%s: %d hgroups, %d cross-stream edges, %d waits\n", label, p->n_hgroups, cross,
         total_waits(p));
  mt_schedule_order_free(o);
  mt_schedule_deps_free(&d);
}

/* Runs the plan in schedule order and each tenant alone; outputs must match bit for bit. */
static void check_outputs(const mt_plan *p, const char *label) {
  const mt_module *m = p->module;
  int32_t nt = mt_module_tenant_count(m);
  mt_tensor **in = calloc((size_t)nt, sizeof *in), **out = calloc((size_t)nt, sizeof *out);
  for (int32_t t = 0; t < nt; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    in[t] = calloc((size_t)g->n_inputs + 1, sizeof **in);
    out[t] = calloc((size_t)g->n_outputs + 1, sizeof **out);
    for (int i = 0; i < g->n_inputs; i++) {
      const mt_value *v = mt_module_value_c(m, g->inputs[i]);
      in[t][i].dtype = v->dtype;
      in[t][i].rank = v->rank;
      memcpy(in[t][i].dims, v->dims, sizeof v->dims);
      int64_t n = mt_shape_numel(v->rank, v->dims);
      float *data = malloc(sizeof(float) * (size_t)n);
      for (int64_t k = 0; k < n; k++)
        data[k] = (float)(((k + 31 * t) * 2654435761u) % 1000) / 250.0f - 2.0f;
      in[t][i].data = data;
    }
  }
  if (ok(mt_plan_reference_run(p, false, in, out), label)) {
    for (int32_t t = 0; t < nt; t++) {
      const mt_graph *g = mt_module_tenant_c(m, t)->graph;
      mt_tensor *alone = calloc((size_t)g->n_outputs + 1, sizeof *alone);
      if (ok(mt_reference_run(m, t, in[t], alone), label))
        for (int i = 0; i < g->n_outputs; i++) {
          CHECK(mt_tensor_nbytes(&alone[i]) == mt_tensor_nbytes(&out[t][i]) &&
                    memcmp(alone[i].data, out[t][i].data, mt_tensor_nbytes(&alone[i])) == 0,
                "%s: tenant %d output %d differs from the tenant run alone", label, t, i);
          free(alone[i].data);
        }
      free(alone);
    }
  }
  for (int32_t t = 0; t < nt; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int i = 0; i < g->n_inputs; i++) free(in[t][i].data);
    for (int i = 0; i < g->n_outputs; i++) free(out[t][i].data);
    free(in[t]);
    free(out[t]);
  }
  free(in);
  free(out);
}

static void print_latencies(const mt_plan *p, const char *label) {
  for (int32_t t = 0; t < mt_module_tenant_count(p->module); t++) {
    double alone = mt_cost_tenant_latency_us(p, t, true),
           shared = mt_cost_tenant_latency_us(p, t, false);
    double conc = mt_cost_tenant_concurrent_us(p, t);
    printf("%s:   tenant '%s': alone serial %.1f us, alone concurrent %.1f us, in the shared "
           "schedule %.1f us\n",
           label, mt_module_tenant_c(p->module, t)->name, alone, conc, shared);
    CHECK(alone > 0 && conc > 0 && conc <= alone * 1.0001, "%s: tenant %d latencies %.3f / %.3f",
          label, t, alone, conc);
  }
  for (int i = 0; i < p->n_partitions; i++) {
    const mt_partition_plan *pp = &p->partitions[i];
    double sum_alone = 0, sum_conc = 0;
    for (int32_t t = 0; t < mt_module_tenant_count(p->module); t++)
      if (p->tenant_partition[t] == i) {
        sum_alone += mt_cost_tenant_latency_us(p, t, true);
        sum_conc += mt_cost_tenant_concurrent_us(p, t);
      }
    int waits = 0;
    for (int h = 0; h < p->n_hgroups; h++)
      if (p->hgroups[h].partition == i) waits += p->hgroups[h].n_waits;
    printf("%s: partition '%s' (%d SMs): %d streams, %d waits, predicted makespan %.1f us vs. sum "
           "of single-tenant latencies %.1f us serial / %.1f us concurrent\n",
           label, pp->name, pp->sm_count, pp->n_streams, waits, pp->predicted_makespan_us,
           sum_alone, sum_conc);
    CHECK(pp->predicted_makespan_us > 0 && pp->predicted_makespan_us <= sum_alone * 1.0001,
          "%s: makespan %.2f above the serial sum %.2f", label, pp->predicted_makespan_us,
          sum_alone);
  }
}

/* Shape inference and the plan for a hand-built module, then the cost model (and streams). */
static mt_plan *plan_for(mt_module *m, const mt_arch_params *arch, const char *label) {
  if (!ok(mt_verify_module(m), label) || !ok(mt_infer_shapes(m), label)) return NULL;
  mt_plan *p = NULL;
  if (!ok(mt_plan_create(m, arch, NULL, 0, &p), label)) return NULL;
  return p;
}

static bool schedule(mt_plan *p, mt_module *m, const mt_arch_params *arch, const char *label) {
  mt_pass_ctx ctx = {.module = m, .plan = p, .arch = arch};
  return ok(mt_pass_cost_model(&ctx), label) && ok(mt_plan_verify(p), label) &&
         ok(mt_pass_assign_streams(&ctx), label);
}

/* free_waits: event_wait_us = 0, so the most concurrency is also the fastest and the refinement
 * keeps the minimum chain cover as it is. */
static void test_dag(const char *label, void (*build)(mt_module *), bool free_waits,
                     int want_streams, int want_waits) {
  mt_module *m;
  if (!ok(mt_module_create(NULL, &m), label)) return;
  build(m);
  mt_arch_params params = *mt_arch_builtin("sm_90");
  if (free_waits) params.event_wait_us = 0;
  const mt_arch_params *arch = &params;
  mt_plan *p = plan_for(m, arch, label);
  if (p && schedule(p, m, arch, label)) {
    CHECK(p->partitions[0].n_streams == want_streams, "%s: %d streams, want %d", label,
          p->partitions[0].n_streams, want_streams);
    CHECK(total_waits(p) == want_waits, "%s: %d waits, want %d", label, total_waits(p), want_waits);
    check_schedule(p, label, true);
    check_outputs(p, label);
    print_latencies(p, label);
  }
  mt_plan_destroy(p);
  mt_module_destroy(m);
}

static void build_two_chains(mt_module *m) { build_chains(m, 2, 3); }

static void test_hand_dags(void) {
  test_dag("diamond", build_diamond, true, 2, 2);
  test_dag("two independent chains", build_two_chains, true, 2, 0);
  test_dag("fork-join", build_fork_join, true, 3, 4);
  /* with the default 2 us per wait, side branches of ~1 us kernels are not worth their waits */
  test_dag("diamond, 2 us waits", build_diamond, false, 1, 0);
  test_dag("two independent chains, 2 us waits", build_two_chains, false, 2, 0);
  test_dag("fork-join, 2 us waits", build_fork_join, false, 2, 2);
}

/* Two tenants whose first ops are one multi-body launch: both chains hang off it, one on its
 * stream and one waiting for it. */
static void test_horizontal_group(void) {
  const char *label = "horizontal group";
  mt_module *m;
  if (!ok(mt_module_create(NULL, &m), label)) return;
  build_chains(m, 2, 3);
  const mt_arch_params *arch = mt_arch_builtin("sm_90");
  mt_plan *p = plan_for(m, arch, label);
  if (p) {
    merge_hgroups(p, hgroup_of(p, "c0_0"), hgroup_of(p, "c1_0"));
    if (ok(mt_plan_refresh_groups(p), label) && ok(mt_plan_verify(p), label) &&
        schedule(p, m, arch, label)) {
      CHECK(p->partitions[0].n_streams == 2, "%s: %d streams", label, p->partitions[0].n_streams);
      CHECK(total_waits(p) == 1, "%s: %d waits", label, total_waits(p));
      const mt_horizontal_group *h = &p->hgroups[hgroup_of(p, "c0_0")];
      CHECK(h->n_members == 2 && h->cost.blocks == 2 * p->groups[h->members[0]].cost.blocks,
            "%s: blocks of the launch are the members' sum", label);
      CHECK(fabs(h->cost.flops - 2 * p->groups[h->members[0]].cost.flops) < 1e-9,
            "%s: flops summed", label);
      check_schedule(p, label, true);
      check_outputs(p, label);
      print_latencies(p, label);
    }
  }
  mt_plan_destroy(p);
  mt_module_destroy(m);
}

/* More independent tenants than the cap: the smallest chains merge until the cap holds; a cap of
 * one serialises everything without a single wait. */
static void test_stream_cap(void) {
  for (int cap = 8; cap >= 1; cap -= 7) {
    char label[48];
    snprintf(label, sizeof label, "10 tenants, cap %d", cap);
    mt_module *m;
    if (!ok(mt_module_create(NULL, &m), label)) return;
    build_chains(m, 10, 2);
    mt_arch_params arch = *mt_arch_builtin("sm_90");
    arch.max_streams_per_partition = cap;
    mt_plan *p = plan_for(m, &arch, label);
    if (p && schedule(p, m, &arch, label)) {
      CHECK(p->partitions[0].n_streams == cap, "%s: %d streams", label, p->partitions[0].n_streams);
      CHECK(total_waits(p) == 0, "%s: %d waits", label, total_waits(p));
      check_schedule(p, label, true);
      check_outputs(p, label);
      print_latencies(p, label);
    }
    mt_plan_destroy(p);
    mt_module_destroy(m);
  }
}

/* Two partitions: streams, positions and waits are per partition, nothing orders groups of
 * different partitions, and each partition's estimates use its own SMs. */
static void test_two_partitions(void) {
  const char *label = "two partitions";
  mt_module *m;
  if (!ok(mt_module_create(NULL, &m), label)) return;
  static const int64_t big[2] = {64,
                                 4096}; /* 1024 elementwise blocks: more than either partition */
  for (int t = 0; t < 2; t++) {
    mt_graph *g = tenant(m, t ? "right" : "left");
    mt_module_tenant(m, t)->partition = t ? "p1" : "p0";
    mt_value_id x = input(m, g, "x", 2, big);
    mt_value_id a = op(m, g, t ? "r_a" : "l_a", "Relu", 1, &x);
    mt_value_id b = op(m, g, t ? "r_b" : "l_b", "Sigmoid", 1, &a);
    mt_value_id c = op(m, g, t ? "r_c" : "l_c", "Tanh", 1, &a);
    output(m, g, op(m, g, t ? "r_d" : "l_d", "Add", 2, (mt_value_id[]){b, c}));
  }
  mt_arch_params arch = *mt_arch_builtin("sm_90");
  arch.event_wait_us = 0;
  mt_partition_budget budgets[] = {{"p0", 90, false}, {"p1", 32, false}}; /* 90 rounds to 96 */
  mt_plan *p = NULL;
  if (ok(mt_verify_module(m), label) && ok(mt_infer_shapes(m), label) &&
      ok(mt_plan_create(m, &arch, budgets, 2, &p), label) && schedule(p, m, &arch, label)) {
    CHECK(p->n_partitions == 2 && p->partitions[0].sm_count == 96 &&
              p->partitions[1].sm_count == 32,
          "%s: SMs %d / %d", label, p->partitions[0].sm_count, p->partitions[1].sm_count);
    for (int i = 0; i < 2; i++)
      CHECK(p->partitions[i].n_streams == 2, "%s: partition %d has %d streams", label, i,
            p->partitions[i].n_streams);
    int32_t la = hgroup_of(p, "l_a"), ra = hgroup_of(p, "r_a"), ld = hgroup_of(p, "l_d"),
            rd = hgroup_of(p, "r_d");
    CHECK(p->hgroups[la].position == 0 && p->hgroups[ra].position == 0,
          "%s: positions restart per partition", label);
    CHECK(mt_schedule_happens_before(p, la, ld) && !mt_schedule_happens_before(p, la, rd) &&
              !mt_schedule_happens_before(p, ra, ld),
          "%s: happens-before crosses partitions", label);
    double tl = p->hgroups[la].cost.predicted_us - arch.graph_node_overhead_us;
    double tr = p->hgroups[ra].cost.predicted_us - arch.graph_node_overhead_us;
    CHECK(fabs(tr - 3 * tl) < 1e-9 * tr,
          "%s: the same kernel on 32 SMs (%.3f us) should take 3x its time on 96 (%.3f us)", label,
          tr, tl);
    check_schedule(p, label, true);
    check_outputs(p, label);
    print_latencies(p, label);
  }
  mt_plan_destroy(p);
  mt_module_destroy(m);
}

/* ---- cost model ---- */

static void test_costs(void) {
  const char *label = "cost model";
  mt_module *m;
  if (!ok(mt_module_create(NULL, &m), label)) return;
  mt_graph *g = tenant(m, "nets");
  mt_value_id x = input(m, g, "x", 4, (const int64_t[]){1, 8, 16, 16});
  mt_value_id w = weight(m, g, "w", 4, (const int64_t[]){16, 8, 3, 3});
  mt_value_id y = op(m, g, "conv", "Conv", 2, (mt_value_id[]){x, w});
  mt_value_id a = input(m, g, "a", 2, (const int64_t[]){300, 32});
  mt_value_id b = weight(m, g, "b", 2, (const int64_t[]){32, 200});
  mt_value_id z = op(m, g, "mm", "MatMul", 2, (mt_value_id[]){a, b});
  mt_value_id e = op(m, g, "ex", "Exp", 1, &z);
  mt_value_id l = input(m, g, "l", 3, (const int64_t[]){2, 3, 4});
  mt_value_id r = input(m, g, "r", 3, (const int64_t[]){2, 4, 5});
  mt_arena *arena = mt_module_arena(m);
  mt_attr *eq = mt_arena_array(arena, 1, sizeof *eq);
  eq->name = mt_arena_strdup(arena, "equation");
  eq->type = MT_ATTR_STRING;
  eq->s = mt_arena_strdup(arena, "bij,bjk->bik");
  eq->s_len = strlen(eq->s);
  mt_value_id es = value(m, g, "es");
  int32_t es_node;
  if (!ok(mt_module_add_node(m, g, "es", "Einsum", "", 2, (mt_value_id[]){l, r}, 1, &es, 1, eq,
                             &es_node),
          label))
    abort();
  output(m, g, y);
  output(m, g, e);
  output(m, g, es);
  const mt_arch_params *arch = mt_arch_builtin("sm_90");
  mt_plan *p = plan_for(m, arch, label);
  if (!p || !ok(mt_cost_model_estimate(p), label)) goto out;
  const mt_cost *cc = &p->groups[p->hgroups[hgroup_of(p, "conv")].members[0]].cost;
  const mt_cost *mc = &p->groups[p->hgroups[hgroup_of(p, "mm")].members[0]].cost;
  const mt_cost *ec = &p->groups[p->hgroups[hgroup_of(p, "ex")].members[0]].cost;
  /* conv: 2 * N*OC*OH*OW * IC*KH*KW = 2 * (1*16*14*14) * (8*3*3); blocks: ceil(196/128) x ceil(16/128) */
  CHECK(cc->flops == 2.0 * 16 * 14 * 14 * 8 * 9, "conv flops %.0f", cc->flops);
  CHECK(cc->bytes_read == 4.0 * (8 * 16 * 16 + 16 * 8 * 9) &&
            cc->bytes_written == 4.0 * 16 * 14 * 14,
        "conv bytes %.0f / %.0f", cc->bytes_read, cc->bytes_written);
  CHECK(cc->blocks == 2, "conv blocks %lld", (long long)cc->blocks);
  /* matmul: 2*M*N*K; blocks ceil(300/128) x ceil(200/128) */
  CHECK(mc->flops == 2.0 * 300 * 200 * 32 && mc->blocks == 3 * 2, "matmul flops %.0f blocks %lld",
        mc->flops, (long long)mc->blocks);
  /* exp: elements x transcendental_flops, 256 outputs per block */
  CHECK(ec->flops == 300.0 * 200 * arch->transcendental_flops &&
            ec->blocks == (300 * 200 + 255) / 256,
        "exp flops %.0f blocks %lld", ec->flops, (long long)ec->blocks);
  /* einsum: 2 * every index's extent (b*i*j*k); an opaque op (no GEMM lowering takes it), so its
   * own kernel has 256 outputs per block: 2*3*5 outputs, one block */
  const mt_cost *sc = &p->groups[p->hgroups[hgroup_of(p, "es")].members[0]].cost;
  CHECK(sc->flops == 2.0 * 2 * 3 * 4 * 5 && sc->blocks == 1, "einsum flops %.0f blocks %lld",
        sc->flops, (long long)sc->blocks);
  /* roofline arithmetic on sm_90: 3.35 MB in 1 us at 3350 GB/s on the whole GPU, plus one node */
  mt_cost c = {.flops = 0, .bytes_read = 3.35e6, .bytes_written = 0, .blocks = 1000};
  CHECK(fabs(mt_cost_time_us(arch, &c, 132) - 2.0) < 1e-9, "roofline %.4f",
        mt_cost_time_us(arch, &c, 132));
  CHECK(fabs(mt_cost_time_us(arch, &c, 66) - 3.0) < 1e-9, "half the SMs %.4f",
        mt_cost_time_us(arch, &c, 66));
  c.blocks = 33; /* a kernel of 33 blocks fills a quarter of the GPU whatever the partition */
  CHECK(fabs(mt_cost_time_us(arch, &c, 132) - 5.0) < 1e-9, "33 blocks %.4f",
        mt_cost_time_us(arch, &c, 132));
  c = (mt_cost){.flops = 67e6, .blocks = 1000}; /* 67 MFLOP at 67 TFLOP/s: 1 us */
  CHECK(fabs(mt_cost_time_us(arch, &c, 132) - 2.0) < 1e-9, "math roofline %.4f",
        mt_cost_time_us(arch, &c, 132));

  /* overrides: halve the bandwidth and the fp32 rate, double the node overhead */
  char path[] = "/tmp/mt_cost_overrides_XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (f) {
    fputs("{\"sm_90\": {\"mem_bandwidth_gbs\": 1675, \"fp32_tflops\": 33.5, "
          "\"graph_node_overhead_us\": 2,"
          " \"elementwise_block_elems\": 512},\n \"sm_80\": {\"sm_count\": 100}}\n",
          f);
    fclose(f);
    mt_arch_params over;
    if (ok(mt_arch_load_overrides(path, arch, &over), "overrides")) {
      CHECK(over.mem_bandwidth_gbs == 1675 && over.sm_count == 132 &&
                over.elementwise_block_elems == 512,
            "overrides applied to sm_90 only");
      c = (mt_cost){.bytes_read = 3.35e6, .blocks = 1000};
      CHECK(fabs(mt_cost_time_us(&over, &c, 132) - 4.0) < 1e-9, "overridden roofline %.4f",
            mt_cost_time_us(&over, &c, 132));
      double before_conv = cc->predicted_us, before_mm = mc->predicted_us,
             before_makespan = p->partitions[0].predicted_makespan_us;
      p->arch = &over;
      if (ok(mt_cost_model_estimate(p), "estimate with overrides")) {
        printf("overrides: conv %.3f -> %.3f us, matmul %.3f -> %.3f us, exp blocks %lld, makespan "
               "%.3f -> %.3f us\n",
               before_conv, cc->predicted_us, before_mm, mc->predicted_us, (long long)ec->blocks,
               before_makespan, p->partitions[0].predicted_makespan_us);
        CHECK(cc->predicted_us > before_conv && mc->predicted_us > before_mm &&
                  p->partitions[0].predicted_makespan_us > before_makespan,
              "overrides did not slow the estimates");
        CHECK(ec->blocks == (300 * 200 + 511) / 512, "exp blocks follow elementwise_block_elems");
      }
      p->arch = arch;
    }
    static const struct {
      const char *text, *what, *needle;
    } bad[] = {
        {"{\"sm_90\": {\"sm_cuont\": 100}}", "unknown key", "sm_cuont"},
        {"{\"sm_99\": {\"sm_count\": 100}}", "unknown arch", "sm_99"},
        {"{\"sm_90\": {\"sm_count\": 100.5}}", "non-integer count", "sm_count"},
        {"{\"sm_90\": {\"fp32_tflops\": -1}}", "negative rate", "fp32_tflops"},
        {"{\"sm_90\": {\"max_streams_per_partition\": \"8\"}}", "string for a number",
         "max_streams_per_partition"},
        {"{\"sm_90\": 5}", "section not an object", "sm_90"},
        {"{\"sm_90\": {\"sm_count\": 4}}", "minimum partition above the SM count",
         "sm_min_partition"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
      f = fopen(path, "w");
      fputs(bad[i].text, f);
      fclose(f);
      mt_arch_params tmp;
      char what[64];
      snprintf(what, sizeof what, "overrides: %s", bad[i].what);
      expect_error(mt_arch_load_overrides(path, arch, &tmp), what,
                   (const char *const[]){bad[i].needle, path, NULL});
    }
    unlink(path);
  }
out:
  mt_plan_destroy(p);
  mt_module_destroy(m);
}

/* ---- partitions ---- */

static void test_partitions(void) {
  const mt_arch_params *h100 = mt_arch_builtin("sm_90"), *a100 = mt_arch_builtin("sm_80");
  mt_partition_plan two100[] = {{.name = "left", .sm_budget = 100},
                                {.name = "right", .sm_budget = 100}};
  expect_error(mt_partitions_assign(two100, 2, h100), "two partitions of 100 SMs on sm_90",
               (const char *const[]){"'right'", "132", "'left' 104", NULL});
  mt_partition_plan twelve[] = {{.name = "small", .sm_budget = 12}};
  if (ok(mt_partitions_assign(twelve, 1, h100), "12 SMs"))
    CHECK(twelve[0].sm_count == 16, "12 SMs on sm_90 round to %d, want 16", twelve[0].sm_count);
  mt_partition_plan rounded[] = {{.name = "small", .sm_budget = 12},
                                 {.name = "big", .sm_budget = 120}};
  expect_error(mt_partitions_assign(rounded, 2, h100), "12 (rounded to 16) + 120 SMs on sm_90",
               (const char *const[]){"'big'", "'small' 16", NULL});
  mt_partition_plan huge[] = {{.name = "huge", .sm_budget = 200}};
  expect_error(mt_partitions_assign(huge, 1, h100), "a budget above the GPU",
               (const char *const[]){"'huge'", "200", NULL});
  mt_partition_plan rest[] = {{.name = "vision", .sm_budget = 60},
                              {.name = "rest", .sm_budget = 0}};
  /* the rest comes from the 120 SMs green contexts split sm_90 into, so both stay hard */
  if (ok(mt_partitions_assign(rest, 2, h100), "budget plus the rest"))
    CHECK(rest[0].sm_count == 64 && rest[1].sm_count == 56 && !rest[0].budget_note[0] &&
              !rest[1].budget_note[0],
          "vision %d, rest %d (want 64, 56, no notes)", rest[0].sm_count, rest[1].sm_count);
  /* 64 + 64 fits the 132 SMs but not the 120 green contexts split into: the second is noted */
  mt_partition_plan two64[] = {{.name = "mobile", .sm_budget = 64},
                               {.name = "bert", .sm_budget = 64}};
  if (ok(mt_partitions_assign(two64, 2, h100), "64 + 64 SMs on sm_90"))
    CHECK(!two64[0].budget_note[0] && strstr(two64[1].budget_note, "128") &&
              strstr(two64[1].budget_note, "120") && strstr(two64[1].budget_note, "soft"),
          "64 + 64: notes '%s' / '%s'", two64[0].budget_note, two64[1].budget_note);
  two64[1].hard = true;
  expect_error(mt_partitions_assign(two64, 2, h100), "a hard 64 + 64 on sm_90",
               (const char *const[]){"'bert'", "hard", "120", NULL});
  /* the same on sm_80, whose split is not measured: nothing to note (108 SMs) */
  mt_partition_plan a64[] = {{.name = "x", .sm_budget = 52, .hard = true},
                             {.name = "y", .sm_budget = 56, .hard = true}};
  if (ok(mt_partitions_assign(a64, 2, a100), "52 + 56 SMs on sm_80"))
    CHECK(!a64[0].budget_note[0] && !a64[1].budget_note[0], "sm_80 notes '%s' / '%s'",
          a64[0].budget_note, a64[1].budget_note);
  /* 120 + the rest: green contexts leave nothing, so the rest takes the other 8 SMs, soft */
  mt_partition_plan tight[] = {{.name = "big", .sm_budget = 120}, {.name = "rest"}};
  if (ok(mt_partitions_assign(tight, 2, h100), "120 + the rest on sm_90"))
    CHECK(tight[1].sm_count == 8 && !tight[0].budget_note[0] && tight[1].budget_note[0],
          "120 + rest: rest %d, notes '%s' / '%s'", tight[1].sm_count, tight[0].budget_note,
          tight[1].budget_note);
  mt_partition_plan full[] = {{.name = "vision", .sm_budget = 128},
                              {.name = "rest", .sm_budget = 0}};
  expect_error(mt_partitions_assign(full, 2, h100), "nothing left for an unbudgeted partition",
               (const char *const[]){"'rest'", NULL});
  mt_partition_plan odd[] = {{.name = "a", .sm_budget = 3}, {.name = "b", .sm_budget = 0}};
  if (ok(mt_partitions_assign(odd, 2, a100), "sm_80 granularity"))
    CHECK(odd[0].sm_count == 4 && odd[1].sm_count == 104, "sm_80: a %d b %d", odd[0].sm_count,
          odd[1].sm_count);
  mt_partition_plan none[] = {{.name = "default", .sm_budget = 0}};
  if (ok(mt_partitions_assign(none, 1, h100), "no budget"))
    CHECK(none[0].sm_count == 132, "no budget: %d SMs", none[0].sm_count);
}

/* ---- benchmark mixes ---- */

static const char *const mixes[3][4] = {
    {"resnet50_v0", "resnet50_v1", "resnet50_v2", "resnet50_v3"},
    {"resnet50", "mobilenetv2", "efficientnet_b0", "vgg16"},
    {"resnet50", "mobilenetv2", "bert_base", "yolo_tiny"},
};

static void test_mix(const char *dir, int mix, bool fused) {
  char text[4096];
  int len = snprintf(text, sizeof text, "{\"tenants\": [");
  for (int i = 0; i < 4; i++)
    len += snprintf(text + len, sizeof text - (size_t)len,
                    "%s{\"name\": \"%s\", \"model\": \"%s/%s.onnx\", \"dims\": {\"batch\": 1%s}}",
                    i ? ", " : "", mixes[mix][i], dir, mixes[mix][i],
                    strncmp(mixes[mix][i], "bert", 4) == 0 ? ", \"seq\": 128" : "");
  len += snprintf(text + len, sizeof text - (size_t)len, "]}");
  char label[48];
  snprintf(label, sizeof label, "T%d batch 1%s", mix + 1, fused ? "" : " unfused");
  mt_manifest *mf = NULL;
  mt_module *m = NULL;
  mt_pass_ctx ctx = {.arch = mt_arch_builtin("sm_90")};
  static const char *const no_fusion[] = {"fuse-vertical", "fuse-horizontal"};
  mt_pipeline_options opts;
  mt_pipeline_options_init(&opts);
  if (!fused) {
    opts.disabled = no_fusion;
    opts.n_disabled = 2;
  }
  if (!ok(mt_manifest_parse("/tmp/cost_streams_test.json", text, (size_t)len, &mf), label)) return;
  if (!ok(mt_workload_import(mf, NULL, 0, &m), label)) goto out;
  ctx.module = m;
  if (!ok(mt_pipeline_run(&ctx, &opts), label)) goto out;
  check_schedule(ctx.plan, label, false);
  print_latencies(ctx.plan, label);
out:
  mt_plan_destroy(ctx.plan);
  mt_module_destroy(m);
  mt_manifest_free(mf);
}

int main(int argc, char **argv) {
  test_groups groups;
  if (!test_groups_parse(argc, argv, &groups)) return 2;
  if (groups.small) {
    test_costs();
    test_partitions();
    test_hand_dags();
    test_horizontal_group();
    test_stream_cap();
    test_two_partitions();
  }
  if (groups.models_dir)
    for (int mix = 0; mix < 3; mix++) {
      test_mix(groups.models_dir, mix, true);
      test_mix(groups.models_dir, mix, false);
    }
  printf("%s (%d failures)\n", failures ? "FAILED" : "OK", failures);
  return failures ? 1 : 0;
}
