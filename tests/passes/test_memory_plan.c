/* plan-memory and its checker.
 *
 * Hand-built modules (always): a single chain reuses bytes (ping-pong), two tenants on two
 * concurrent streams never share bytes even when their positions interleave, a wait lets them
 * share again, a diamond read from two streams keeps its value alive until both readers are done,
 * and corrupted plans (a buffer moved onto a live one, misaligned, undersized, missing, outside
 * the arena, a reader not ordered after its writer) are rejected by mt_memory_plan_check.
 * With --models DIR: the whole pipeline on the benchmark mixes T1, T2, T3 (peak vs
 * unplanned bytes at batch 1 and 8), and at batch 1 the plan executed with intermediates at their
 * arena offsets, bit-identical to each tenant run alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/manifest.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"
#include "pass_test_util.h"
#include "test_groups.h"

/* Expects an error whose message contains every needle. */
static void expect_rejected(mt_status *st, const char *what, const char *const *needles) {
  if (!st) {
    fprintf(stderr, "FAIL %s: the checker accepted it\n", what);
    failures++;
    return;
  }
  const char *msg = mt_status_message(st);
  check_needles(what, msg, needles);
  printf("  rejected (%s): %s\n", what, msg);
  mt_status_free(st);
}

/* ---------------------------------------------------------------- hand-built modules */

#define DIM 48 /* [DIM, DIM] float32: 9216 bytes, a multiple of 64 */
#define VBYTES ((size_t)DIM * DIM * 4)

static int32_t new_tenant(mt_module *m, const char *name) {
  int32_t t;
  if (!ok(mt_module_add_tenant(m, name, "/hand/made.onnx", &t), "add tenant")) exit(1);
  mt_tenant *tn = mt_module_tenant(m, t);
  tn->opsets = mt_arena_array(mt_module_arena(m), 1, sizeof *tn->opsets);
  tn->opsets[0].domain = "";
  tn->opsets[0].version = 13;
  tn->n_opsets = 1;
  return t;
}

static mt_value_id new_value(mt_module *m, mt_graph *g, const char *name) {
  mt_value_id v;
  if (!ok(mt_module_add_value(m, g, name, &v), "add value")) exit(1);
  return v;
}

static void set_io(mt_module *m, mt_graph *g, mt_value_id in, mt_value_id out) {
  mt_value *x = mt_module_value(m, in);
  x->dtype = MT_DTYPE_FLOAT32;
  x->rank = 2;
  x->dims[0] = x->dims[1] = DIM;
  g->inputs = mt_arena_array(mt_module_arena(m), 1, sizeof(mt_value_id));
  g->inputs[0] = in;
  g->n_inputs = 1;
  g->outputs = mt_arena_array(mt_module_arena(m), 1, sizeof(mt_value_id));
  g->outputs[0] = out;
  g->n_outputs = 1;
}

static void add_node(mt_module *m, mt_graph *g, const char *name, const char *op, int n_in,
                     const mt_value_id *in, mt_value_id out) {
  int32_t id;
  if (!ok(mt_module_add_node(m, g, name, op, "", n_in, in, 1, &out, 0, NULL, &id), "add node"))
    exit(1);
}

/* Tenant `name`: x -> op1 -> v1 -> op2 -> ... -> y, n_ops unary ops, n_ops - 1 intermediates. */
static void add_chain(mt_module *m, const char *name, int n_ops) {
  static const char *const ops[] = {"Neg", "Sigmoid", "Abs", "Tanh", "Relu"};
  int32_t t = new_tenant(m, name);
  mt_graph *g = mt_module_tenant(m, t)->graph;
  mt_value_id x = new_value(m, g, "x"), prev = x;
  for (int i = 0; i < n_ops; i++) {
    char vn[32], nn[32];
    snprintf(vn, sizeof vn, i + 1 < n_ops ? "v%d" : "y", i + 1);
    snprintf(nn, sizeof nn, "op%d", i + 1);
    mt_value_id v = new_value(m, g, vn);
    add_node(m, g, nn, ops[i % 5], 1, &prev, v);
    prev = v;
  }
  set_io(m, g, x, prev);
}

/* Tenant `name`: a = Neg(x); b = Sigmoid(a); c = Abs(a); d = Add(b, c); e = Tanh(d); y = Relu(e). */
static void add_diamond(mt_module *m, const char *name) {
  int32_t t = new_tenant(m, name);
  mt_graph *g = mt_module_tenant(m, t)->graph;
  mt_value_id x = new_value(m, g, "x"), a = new_value(m, g, "a"), b = new_value(m, g, "b"),
              c = new_value(m, g, "c"), d = new_value(m, g, "d"), e = new_value(m, g, "e"),
              y = new_value(m, g, "y");
  add_node(m, g, "neg", "Neg", 1, &x, a);
  add_node(m, g, "sigmoid", "Sigmoid", 1, &a, b);
  add_node(m, g, "abs", "Abs", 1, &a, c);
  add_node(m, g, "add", "Add", 2, (mt_value_id[]){b, c}, d);
  add_node(m, g, "tanh", "Tanh", 1, &d, e);
  add_node(m, g, "relu", "Relu", 1, &e, y);
  set_io(m, g, x, y);
}

/* The horizontal group running tenant t's node number k (in graph order). */
static int32_t hgroup_of(const mt_plan *p, int32_t t, int k) {
  const mt_graph *g = mt_module_tenant_c(p->module, t)->graph;
  return p->groups[p->group_of_node[g->nodes[k]]].hgroup;
}

static void schedule(mt_plan *p, int32_t h, int32_t stream, int32_t position) {
  p->hgroups[h].stream = stream;
  p->hgroups[h].position = position;
}

static void add_wait(mt_plan *p, int32_t h, int32_t on) {
  mt_horizontal_group *hg = &p->hgroups[h];
  int32_t *w = mt_arena_array(&p->arena, (size_t)hg->n_waits + 1, sizeof *w);
  if (hg->n_waits) memcpy(w, hg->waits, sizeof *w * (size_t)hg->n_waits);
  w[hg->n_waits++] = on;
  hg->waits = w;
}

static const mt_buffer *buffer_named(const mt_plan *p, const char *tenant, const char *value) {
  for (int b = 0; b < p->n_buffers; b++) {
    const mt_value *v = mt_module_value_c(p->module, p->buffers[b].value);
    if (strcmp(v->name, value) == 0 &&
        strcmp(mt_module_tenant_c(p->module, v->tenant)->name, tenant) == 0)
      return &p->buffers[b];
  }
  return NULL;
}

static bool bytes_overlap(const mt_buffer *a, const mt_buffer *b) {
  return a->size && b->size && a->offset < b->offset + b->size && b->offset < a->offset + a->size;
}

/* ---------------------------------------------------------------- running and comparing */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng_next(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33);
}

/* Random inputs for every tenant (ints in {0, 1}: valid ids, masks and indices everywhere). */
static mt_tensor **make_inputs(const mt_module *m) {
  int32_t nt = mt_module_tenant_count(m);
  mt_tensor **in = calloc((size_t)nt, sizeof *in);
  for (int32_t t = 0; t < nt; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    in[t] = calloc((size_t)g->n_inputs + 1, sizeof **in);
    for (int i = 0; i < g->n_inputs; i++) {
      const mt_value *v = mt_module_value_c(m, g->inputs[i]);
      mt_tensor *x = &in[t][i];
      x->dtype = v->dtype;
      x->rank = v->rank;
      memcpy(x->dims, v->dims, sizeof x->dims);
      int64_t n = mt_tensor_numel(x);
      x->data = malloc(mt_tensor_nbytes(x) + 1);
      for (int64_t k = 0; k < n; k++) {
        uint32_t r = rng_next();
        switch (x->dtype) {
        case MT_DTYPE_FLOAT32: ((float *)x->data)[k] = (float)r / 2147483648.0f - 1.0f; break;
        case MT_DTYPE_INT64: ((int64_t *)x->data)[k] = r & 1; break;
        case MT_DTYPE_INT32: ((int32_t *)x->data)[k] = (int32_t)(r & 1); break;
        default:
          ((uint8_t *)x->data)[k] = (uint8_t)(r & 1);
          break; /* bool, int8, uint8; fp16 unused here */
        }
      }
    }
  }
  return in;
}

static void free_tensors(const mt_module *m, mt_tensor **ts, bool outputs) {
  for (int32_t t = 0; ts && t < mt_module_tenant_count(m); t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    int n = outputs ? g->n_outputs : g->n_inputs;
    for (int i = 0; ts[t] && i < n; i++) free(ts[t][i].data);
    free(ts[t]);
  }
  free(ts);
}

static mt_tensor **alloc_outputs(const mt_module *m) {
  int32_t nt = mt_module_tenant_count(m);
  mt_tensor **out = calloc((size_t)nt, sizeof *out);
  for (int32_t t = 0; t < nt; t++)
    out[t] = calloc((size_t)mt_module_tenant_c(m, t)->graph->n_outputs + 1, sizeof **out);
  return out;
}

/* Runs the plan with intermediates at their arena offsets and every tenant alone on the reference
 * executor; returns how many outputs differ in any bit (-1 when a run failed). */
static int plan_vs_reference(const mt_plan *p, const char *what) {
  const mt_module *m = p->module;
  mt_tensor **in = make_inputs(m), **got = alloc_outputs(m), **want = alloc_outputs(m);
  int mismatches = -1;
  if (ok(mt_plan_reference_run(p, true, (mt_tensor *const *)in, (mt_tensor *const *)got), what)) {
    mismatches = 0;
    for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
      if (!ok(mt_reference_run(m, t, in[t], want[t]), what)) {
        mismatches = -1;
        break;
      }
      const mt_graph *g = mt_module_tenant_c(m, t)->graph;
      for (int i = 0; i < g->n_outputs; i++) {
        size_t nb = mt_tensor_nbytes(&want[t][i]);
        bool same = got[t][i].dtype == want[t][i].dtype && got[t][i].rank == want[t][i].rank &&
                    mt_tensor_nbytes(&got[t][i]) == nb &&
                    memcmp(got[t][i].data, want[t][i].data, nb) == 0;
        mismatches += !same;
      }
    }
  }
  free_tensors(m, in, false);
  free_tensors(m, got, true);
  free_tensors(m, want, true);
  return mismatches;
}

static mt_status *run_memory_pass(mt_module *m, mt_plan *p) {
  mt_pass_ctx ctx = {.module = m, .plan = p, .arch = p->arch};
  MT_RETURN_IF_ERROR_PLAIN(mt_pass_plan_memory(&ctx));
  MT_RETURN_IF_ERROR_PLAIN(mt_plan_refresh_groups(p));
  return mt_plan_verify(p);
}

static mt_plan *hand_plan(mt_module *m) {
  mt_plan *p = NULL;
  if (!ok(mt_infer_shapes(m), "infer shapes")) return NULL;
  if (!ok(mt_plan_create(m, mt_arch_builtin("sm_90"), NULL, 0, &p), "plan create")) return NULL;
  return p;
}

/* ---------------------------------------------------------------- hand-built cases */

/* One tenant, one stream: intermediates ping-pong between two slots, and moving one onto the
 * value it is computed from is caught by the checker and corrupts the results. */
static void test_chain(void) {
  printf("chain: one tenant, one stream\n");
  mt_module *m;
  if (!ok(mt_module_create(NULL, &m), "module")) return;
  add_chain(m, "solo", 7);
  mt_plan *p = hand_plan(m);
  if (!p) goto out;
  for (int k = 0; k < 7; k++) schedule(p, hgroup_of(p, 0, k), 0, k);
  if (!ok(run_memory_pass(m, p), "plan-memory on a chain")) goto out;
  const mt_partition_plan *pp = &p->partitions[0];
  printf("  %d buffers, arena %zu bytes vs unplanned %zu\n", p->n_buffers, pp->arena_bytes,
         pp->unplanned_bytes);
  CHECK(p->n_buffers == 6, "chain of 7 ops: expected 6 buffers, got %d", p->n_buffers);
  CHECK(pp->unplanned_bytes == 6 * VBYTES, "unplanned %zu, expected %zu", pp->unplanned_bytes,
        6 * VBYTES);
  CHECK(pp->arena_bytes == 2 * VBYTES, "a chain needs two slots: arena %zu, expected %zu",
        pp->arena_bytes, 2 * VBYTES);
  CHECK(plan_vs_reference(p, "chain") == 0, "chain: plan run differs from the reference");
  /* v2 is computed from v1: moving it onto v1 lets op2 clobber its own input */
  mt_buffer *v1 = (mt_buffer *)buffer_named(p, "solo", "v1"),
            *v2 = (mt_buffer *)buffer_named(p, "solo", "v2");
  CHECK(v1 && v2, "chain: buffers v1, v2 missing");
  if (v1 && v2) {
    size_t saved = v2->offset;
    v2->offset = v1->offset;
    expect_rejected(mt_memory_plan_check(p), "v2 moved onto v1",
                    (const char *const[]){"'v1'", "'v2'", "'solo'", NULL});
    CHECK(plan_vs_reference(p, "chain, corrupted") > 0,
          "a clobbered input should change the results");
    v2->offset = saved;
  }
out:
  mt_plan_destroy(p);
  mt_module_destroy(m);
}

/* Two tenants of one partition on two streams, positions interleaved, no waits: their buffers
 * never share bytes (a position-only planner would let them); with a wait that orders all of
 * one tenant before the other, they do. */
static void test_two_streams(bool with_wait) {
  printf("two tenants on two streams, %s\n",
         with_wait ? "b waits for all of a" : "interleaved, no waits");
  mt_module *m;
  if (!ok(mt_module_create(NULL, &m), "module")) return;
  add_chain(m, "a", 5);
  add_chain(m, "b", 5);
  mt_plan *p = hand_plan(m);
  if (!p) goto out;
  for (int k = 0; k < 5; k++) {
    if (with_wait) { /* a entirely first, then b, which waits for a's last group */
      schedule(p, hgroup_of(p, 0, k), 0, k);
      schedule(p, hgroup_of(p, 1, k), 1, 5 + k);
    } else {
      schedule(p, hgroup_of(p, 0, k), 0, 2 * k);
      schedule(p, hgroup_of(p, 1, k), 1, 2 * k + 1);
    }
  }
  if (with_wait) add_wait(p, hgroup_of(p, 1, 0), hgroup_of(p, 0, 4));
  if (!ok(run_memory_pass(m, p), "plan-memory on two streams")) goto out;
  const mt_partition_plan *pp = &p->partitions[0];
  printf("  %d buffers, arena %zu bytes vs unplanned %zu\n", p->n_buffers, pp->arena_bytes,
         pp->unplanned_bytes);
  CHECK(p->n_buffers == 8, "expected 8 buffers, got %d", p->n_buffers);
  int shared = 0;
  for (int i = 0; i < p->n_buffers; i++)
    for (int j = 0; j < p->n_buffers; j++) {
      const mt_buffer *x = &p->buffers[i], *y = &p->buffers[j];
      if (mt_module_value_c(m, x->value)->tenant == 0 &&
          mt_module_value_c(m, y->value)->tenant == 1)
        shared += bytes_overlap(x, y);
    }
  if (with_wait) {
    CHECK(shared > 0, "ordered by a wait, the tenants should share bytes");
    CHECK(pp->arena_bytes == 2 * VBYTES, "arena %zu, expected %zu", pp->arena_bytes, 2 * VBYTES);
  } else {
    CHECK(shared == 0, "%d byte ranges shared between concurrent streams", shared);
    CHECK(pp->arena_bytes == 4 * VBYTES, "arena %zu, expected %zu", pp->arena_bytes, 4 * VBYTES);
  }
  CHECK(plan_vs_reference(p, "two streams") == 0,
        "two streams: plan run differs from the reference");
  if (!with_wait) {
    /* a's v1 is dead by position 2 and b's v2 is written at position 3: fine by position, not by
     * streams. Moving b's v2 onto a's v1 must be rejected. */
    mt_buffer *av1 = (mt_buffer *)buffer_named(p, "a", "v1"),
              *bv2 = (mt_buffer *)buffer_named(p, "b", "v2");
    if (av1 && bv2) {
      size_t saved = bv2->offset;
      bv2->offset = av1->offset;
      expect_rejected(mt_memory_plan_check(p), "b's v2 moved onto a's v1 on another stream",
                      (const char *const[]){"'v1'", "'v2'", "tenant 'a'", "tenant 'b'", NULL});
      bv2->offset = saved;
    }
  } else {
    /* dropping the wait makes the sharing unsafe */
    int32_t h = hgroup_of(p, 1, 0);
    int saved = p->hgroups[h].n_waits;
    p->hgroups[h].n_waits = 0;
    expect_rejected(mt_memory_plan_check(p), "wait removed",
                    (const char *const[]){"tenant 'a'", "tenant 'b'", NULL});
    p->hgroups[h].n_waits = saved;
  }
out:
  mt_plan_destroy(p);
  mt_module_destroy(m);
}

/* A value read on two streams stays live until both readers are done: 'a' is read by sigmoid
 * (stream 0) and abs (stream 1); add (stream 0) waits for abs. */
static void test_diamond(void) {
  printf("diamond: one value read on two streams\n");
  mt_module *m;
  if (!ok(mt_module_create(NULL, &m), "module")) return;
  add_diamond(m, "dia");
  mt_plan *p = hand_plan(m);
  if (!p) goto out;
  /* neg s0@0, sigmoid s0@1, abs s1@2 (waits neg), add s0@3 (waits abs), tanh s0@4, relu s0@5 */
  int32_t neg = hgroup_of(p, 0, 0), sig = hgroup_of(p, 0, 1), abs_ = hgroup_of(p, 0, 2),
          add = hgroup_of(p, 0, 3), tanh_ = hgroup_of(p, 0, 4), relu = hgroup_of(p, 0, 5);
  schedule(p, neg, 0, 0);
  schedule(p, sig, 0, 1);
  schedule(p, abs_, 1, 2);
  schedule(p, add, 0, 3);
  schedule(p, tanh_, 0, 4);
  schedule(p, relu, 0, 5);
  add_wait(p, abs_, neg);
  add_wait(p, add, abs_);
  if (!ok(run_memory_pass(m, p), "plan-memory on a diamond")) goto out;
  const mt_buffer *a = buffer_named(p, "dia", "a"), *b = buffer_named(p, "dia", "b"),
                  *c = buffer_named(p, "dia", "c"), *d = buffer_named(p, "dia", "d");
  printf("  %d buffers, arena %zu bytes vs unplanned %zu\n", p->n_buffers,
         p->partitions[0].arena_bytes, p->partitions[0].unplanned_bytes);
  CHECK(a && b && c && d, "diamond: buffers missing");
  if (a && b && c && d) {
    CHECK(!bytes_overlap(a, b) && !bytes_overlap(a, c) && !bytes_overlap(b, c),
          "a, b, c are live together");
    CHECK(bytes_overlap(a, d), "d should reuse a's bytes: both of a's readers happen-before add");
  }
  CHECK(plan_vs_reference(p, "diamond") == 0, "diamond: plan run differs from the reference");
  /* without add's wait on abs, add reads c unordered: the lifetimes no longer hold */
  int saved = p->hgroups[add].n_waits;
  p->hgroups[add].n_waits = 0;
  expect_rejected(mt_memory_plan_check(p), "reader not ordered after writer",
                  (const char *const[]){"'c'", "'dia'", NULL});
  p->hgroups[add].n_waits = saved;
out:
  mt_plan_destroy(p);
  mt_module_destroy(m);
}

/* Malformed buffers: each is rejected with the value and tenant named. */
static void test_malformed(void) {
  printf("malformed buffers\n");
  mt_module *m;
  if (!ok(mt_module_create(NULL, &m), "module")) return;
  add_chain(m, "solo", 4);
  mt_plan *p = hand_plan(m);
  if (!p) goto out;
  for (int k = 0; k < 4; k++) schedule(p, hgroup_of(p, 0, k), 0, k);
  if (!ok(run_memory_pass(m, p), "plan-memory")) goto out;
  mt_buffer *b = &p->buffers[0];
  mt_buffer saved = *b;
  b->offset += 4;
  expect_rejected(mt_memory_plan_check(p), "misaligned",
                  (const char *const[]){"aligned", "'solo'", NULL});
  *b = saved;
  b->size -= 4;
  expect_rejected(mt_memory_plan_check(p), "undersized",
                  (const char *const[]){"needs", "'solo'", NULL});
  *b = saved;
  b->offset = p->partitions[0].arena_bytes;
  expect_rejected(mt_memory_plan_check(p), "outside the arena",
                  (const char *const[]){"arena", "'solo'", NULL});
  *b = saved;
  b->first_hgroup = b->last_hgroup;
  expect_rejected(mt_memory_plan_check(p), "wrong writer", (const char *const[]){"writer", NULL});
  *b = saved;
  p->n_buffers--;
  mt_value_id last = p->buffers[p->n_buffers].value;
  expect_rejected(mt_memory_plan_check(p), "missing buffer",
                  (const char *const[]){mt_module_value_c(m, last)->name, "no buffer", NULL});
  p->n_buffers++;
  CHECK(ok(mt_memory_plan_check(p), "restored plan"), "the restored plan should pass");
out:
  mt_plan_destroy(p);
  mt_module_destroy(m);
}

/* ---------------------------------------------------------------- benchmark mixes */

static const char *const mixes[3][4] = {
    {"resnet50_v0", "resnet50_v1", "resnet50_v2", "resnet50_v3"},
    {"resnet50", "mobilenetv2", "efficientnet_b0", "vgg16"},
    {"resnet50", "mobilenetv2", "bert_base", "yolo_tiny"},
};

static void test_mix(const char *models_dir, int mix, int batch, bool execute) {
  char text[4096];
  int len = snprintf(text, sizeof text, "{\"tenants\": [");
  for (int i = 0; i < 4; i++)
    len +=
        snprintf(text + len, sizeof text - (size_t)len,
                 "%s{\"name\": \"t%d_%s\", \"model\": \"%s/%s.onnx\", \"dims\": {\"batch\": %d%s}}",
                 i ? ", " : "", i, mixes[mix][i], models_dir, mixes[mix][i], batch,
                 strncmp(mixes[mix][i], "bert", 4) == 0 ? ", \"seq\": 128" : "");
  len += snprintf(text + len, sizeof text - (size_t)len, "]}");
  char label[32];
  snprintf(label, sizeof label, "T%d batch %d", mix + 1, batch);
  mt_manifest *mf = NULL;
  mt_module *m = NULL;
  mt_pass_ctx ctx = {.arch = mt_arch_builtin("sm_90")};
  if (!ok(mt_manifest_parse("/tmp/memory_plan_test.json", text, (size_t)len, &mf), label)) return;
  if (!ok(mt_workload_import(mf, NULL, 0, &m), label)) goto out;
  ctx.module = m;
  if (!ok(mt_pipeline_run(&ctx, NULL), label)) goto out;
  mt_plan *p = ctx.plan;
  for (int i = 0; i < p->n_partitions; i++) {
    const mt_partition_plan *pp = &p->partitions[i];
    int nb = 0;
    for (int b = 0; b < p->n_buffers; b++) nb += p->buffers[b].partition == i;
    printf("%s: partition '%s': %d hgroups, %d streams, %d buffers, arena %.2f MiB vs unplanned "
           "%.2f MiB (%.1f%%)\n",
           label, pp->name, p->n_hgroups, pp->n_streams, nb, pp->arena_bytes / 1048576.0,
           pp->unplanned_bytes / 1048576.0,
           pp->unplanned_bytes ? 100.0 * pp->arena_bytes / pp->unplanned_bytes : 0.0);
    CHECK(pp->arena_bytes <= pp->unplanned_bytes + 64 * (size_t)nb,
          "%s: arena larger than unplanned", label);
  }
  CHECK(ok(mt_memory_plan_check(p), label), "%s: checker rejects the planned memory", label);
  /* move a buffer onto the value its writer reads: both are live in that group */
  bool corrupted = false;
  for (int b = 0; b < p->n_buffers && !corrupted; b++) {
    mt_buffer *out_buf = &p->buffers[b];
    for (int c = 0; c < p->n_buffers && !corrupted; c++) {
      mt_buffer *in_buf = &p->buffers[c];
      if (in_buf->last_hgroup != out_buf->first_hgroup || bytes_overlap(in_buf, out_buf)) continue;
      size_t saved = out_buf->offset;
      out_buf->offset = in_buf->offset;
      const mt_value *vi = mt_module_value_c(m, in_buf->value),
                     *vo = mt_module_value_c(m, out_buf->value);
      expect_rejected(
          mt_memory_plan_check(p), "output moved onto the input of its group",
          (const char *const[]){vi->name, vo->name, mt_module_tenant_c(m, vi->tenant)->name, NULL});
      out_buf->offset = saved;
      corrupted = true;
    }
  }
  CHECK(corrupted, "%s: no live pair found to corrupt", label);
  if (execute) {
    int mism = plan_vs_reference(p, label);
    CHECK(mism == 0, "%s: %d outputs differ from the per-tenant reference", label, mism);
    if (mism == 0)
      printf("%s: plan run with arena placement is bit-identical to each tenant alone\n", label);
  }
  /* The same plan serialised on one stream (positions kept, waits dropped): the most reuse any
   * schedule allows, and real models exercising it whatever the stream pass decides. */
  for (int h = 0; h < p->n_hgroups; h++) {
    if (p->hgroups[h].position < 0) p->hgroups[h].position = h;
    p->hgroups[h].stream = 0;
    p->hgroups[h].n_waits = 0;
  }
  if (!ok(run_memory_pass(m, p), label)) goto out;
  for (int i = 0; i < p->n_partitions; i++) {
    const mt_partition_plan *pp = &p->partitions[i];
    printf("%s, serialised on one stream: partition '%s': arena %.2f MiB vs unplanned %.2f MiB "
           "(%.1f%%)\n",
           label, pp->name, pp->arena_bytes / 1048576.0, pp->unplanned_bytes / 1048576.0,
           pp->unplanned_bytes ? 100.0 * pp->arena_bytes / pp->unplanned_bytes : 0.0);
  }
  if (execute) {
    int mism = plan_vs_reference(p, label);
    CHECK(mism == 0, "%s serialised: %d outputs differ from the per-tenant reference", label, mism);
    if (mism == 0)
      printf("%s, serialised: plan run with arena placement is bit-identical\n", label);
  }
out:
  mt_plan_destroy(ctx.plan);
  mt_module_destroy(m);
  mt_manifest_free(mf);
}

int main(int argc, char **argv) {
  test_groups groups;
  if (!test_groups_parse(argc, argv, &groups)) return 2;
  if (groups.small) {
    test_chain();
    test_two_streams(false);
    test_two_streams(true);
    test_diamond();
    test_malformed();
  }
  if (groups.models_dir)
    for (int mix = 0; mix < 3; mix++) {
      test_mix(groups.models_dir, mix, 1, true);
      test_mix(groups.models_dir, mix, 8, false);
    }
  printf("%s (%d failures)\n", failures ? "FAILED" : "OK", failures);
  return failures ? 1 : 0;
}
