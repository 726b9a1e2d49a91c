/* The cost model (see cost_model.h): a roofline estimate per fused group, per horizontal group
 * and per partition, from the static shapes and the arch parameters.
 *
 * Per fused group: flops summed over its nodes (conv 2*N*OC*OH*OW*IC/groups*KH*KW, GEMM/MatMul
 * 2*M*N*K*batch, elementwise elements x ops, reductions input elements ...); bytes read are its
 * external inputs, weights included (gathers and slices count only what they touch); bytes
 * written are its outputs; blocks follow the anchor's kernel shape (128x128 output tiles for GEMM
 * and conv-as-implicit-GEMM, 256 outputs per elementwise block, 2048 inputs per reduction block).
 * Time on a partition: the roofline on the SMs the kernel can fill, min(partition SMs, blocks),
 * plus one CUDA-graph node overhead. GEMM/conv math in fp32 runs at the FP32 rate (no TF32: the
 * plan has no precision flag yet), fp16 at the fp16 tensor rate; everything else at FP32.
 *
 * A horizontal group is one launch: members' work added (shared weight constants read once),
 * blocks summed, one overhead. A partition's makespan is max(critical path of the schedule,
 * total work at the full partition): streams overlap, but they share the partition's SMs. The
 * critical path follows data dependencies before streams exist, and stream order plus waits
 * (each costing event_wait_us) afterwards. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/op.h"
#include "passes/pass_manager.h"
#include "plan/schedule.h"

static double value_elems(const mt_module *m, mt_value_id v) { return mt_value_elems(m, v); }

static double value_bytes(const mt_module *m, mt_value_id v) {
  if (v == MT_NO_VALUE) return 0;
  return value_elems(m, v) * (double)mt_dtype_bits(mt_module_value_c(m, v)->dtype) / 8;
}

/* Flops of node n on arch a: the op's own count (ir/op.h, mt_node_work), transcendentals priced
 * at the arch's flops per evaluation. */
static double node_flops(const mt_module *m, const mt_arch_params *a, const mt_node *n) {
  mt_op_work w;
  mt_node_work(m, n, &w);
  return w.flops + w.transcendentals * a->transcendental_flops;
}

/* Bytes node n actually reads of its input i: gathers and slices touch only what they copy,
 * Shape and Size only metadata. */
static double touched_bytes(const mt_module *m, const mt_node *n, int i) {
  double full = value_bytes(m, n->inputs[i]);
  if (mt_node_has_traits(n, MT_TRAIT_SHAPE_QUERY)) return 0;
  if (i == 0 && mt_node_has_traits(n, MT_TRAIT_GATHERS) && n->n_outputs > 0 &&
      n->outputs[0] != MT_NO_VALUE) {
    double out = value_bytes(m, n->outputs[0]);
    return out < full ? out : full;
  }
  return full;
}

static int64_t ceil_div(double a, double b) { return b > 0 ? (int64_t)ceil(a / b) : 1; }

/* Thread blocks of the kernel that node n anchors. */
static int64_t node_blocks(const mt_module *m, const mt_arch_params *a, const mt_node *n) {
  const mt_value *y =
      n->n_outputs > 0 && n->outputs[0] != MT_NO_VALUE ? mt_module_value_c(m, n->outputs[0]) : NULL;
  double out = y ? value_elems(m, n->outputs[0]) : 0;
  if (y && y->rank >= 1 && out > 0) {
    mt_op_pattern pattern = mt_node_pattern(n);
    bool heavy = pattern == MT_PATTERN_OUT_FUSABLE;
    if (heavy && mt_node_has_traits(n, MT_TRAIT_CONV) && y->rank >= 3) {
      /* implicit GEMM per group: rows N*OH*OW, columns OC/groups */
      double groups = (double)mt_node_attr_int(n, "group", 1);
      if (groups < 1) groups = 1;
      double rows = out / (double)y->dims[1];
      return (int64_t)groups * ceil_div(rows, a->gemm_tile_m) *
             ceil_div((double)y->dims[1] / groups, a->gemm_tile_n);
    }
    if (heavy && mt_node_has_traits(n, MT_TRAIT_GEMM)) {
      double cols = (double)y->dims[y->rank - 1];
      double rows = y->rank >= 2 ? (double)y->dims[y->rank - 2] : 1;
      double batch = out / (rows * cols);
      return (int64_t)batch * ceil_div(rows, a->gemm_tile_m) * ceil_div(cols, a->gemm_tile_n);
    }
    /* windowed reductions (pools) are parallel over their outputs, like elementwise kernels */
    if (pattern == MT_PATTERN_REDUCTION && !mt_node_has_traits(n, MT_TRAIT_WINDOWED)) {
      double in0 = n->n_inputs > 0 ? value_elems(m, n->inputs[0]) : out;
      int64_t b = ceil_div(in0, a->reduction_block_elems);
      return b > 0 ? b : 1;
    }
  }
  int64_t b = ceil_div(out, a->elementwise_block_elems);
  return b > 0 ? b : 1;
}

/* Convolutions and GEMMs run at the tensor rate of their dtype; everything else at FP32. */
static bool is_math_heavy(const mt_node *n) { return mt_node_pattern(n) == MT_PATTERN_OUT_FUSABLE; }

/* The group's cost; predicted_us is left for the caller (it depends on the partition). */
static void group_cost(const mt_plan *p, const mt_fused_group *fg, mt_cost *c) {
  const mt_module *m = p->module;
  const mt_arch_params *a = p->arch;
  memset(c, 0, sizeof *c);
  double math_time = 0; /* flops / rate, in whole-GPU TFLOP units, to blend the rates */
  int64_t max_blocks = 1;
  for (int k = 0; k < fg->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, fg->nodes[k]);
    double f = node_flops(m, a, n);
    double rate = a->fp32_tflops;
    if (is_math_heavy(n) && n->n_outputs > 0 && n->outputs[0] != MT_NO_VALUE &&
        mt_dtype_is_float16_like(mt_module_value_c(m, n->outputs[0])->dtype))
      rate = a->fp16_tflops;
    c->flops += f;
    math_time += f / rate;
    int64_t b = node_blocks(m, a, n);
    if (fg->nodes[k] == fg->anchor) c->blocks = b;
    if (b > max_blocks) max_blocks = b;
  }
  if (c->blocks <= 0) c->blocks = max_blocks;
  c->math_tflops = math_time > 0 ? c->flops / math_time : a->fp32_tflops;
  /* external inputs: the most any reader in the group touches */
  for (int i = 0; i < fg->n_inputs; i++) {
    mt_value_id v = fg->inputs[i];
    double most = 0;
    for (int k = 0; k < fg->n_nodes; k++) {
      const mt_node *n = mt_module_node_c(m, fg->nodes[k]);
      for (int j = 0; j < n->n_inputs; j++)
        if (n->inputs[j] == v) {
          double t = touched_bytes(m, n, j);
          if (t > most) most = t;
        }
    }
    c->bytes_read += most;
  }
  for (int i = 0; i < fg->n_outputs; i++) c->bytes_written += value_bytes(m, fg->outputs[i]);
}

double mt_cost_time_us(const mt_arch_params *a, const mt_cost *c, int sms) {
  double total = a->sm_count > 0 ? a->sm_count : 1;
  double part = sms > 0 && sms < total ? sms : total;
  double blocks = c->blocks > 0 ? (double)c->blocks : 1;
  double frac = (blocks < part ? blocks : part) / total; /* a small kernel cannot fill the SMs */
  double peak = c->math_tflops > 0 ? c->math_tflops : a->fp32_tflops;
  double t_math = c->flops / (peak * 1e6 * frac); /* TFLOP/s -> flop/us */
  double t_mem =
      (c->bytes_read + c->bytes_written) / (a->mem_bandwidth_gbs * 1e3 * frac); /* GB/s -> B/us */
  return (t_math > t_mem ? t_math : t_mem) + a->graph_node_overhead_us;
}

/* The work of c on the whole partition, blocks not limiting and no launch overhead: what the
 * throughput bound adds up. */
static double work_us(const mt_arch_params *a, const mt_cost *c, int sms) {
  mt_cost big = *c;
  big.blocks = INT64_MAX / 2;
  return mt_cost_time_us(a, &big, sms) - a->graph_node_overhead_us;
}

static int partition_sms(const mt_plan *p, int32_t part) {
  int s = part >= 0 && part < p->n_partitions ? p->partitions[part].sm_count : 0;
  return s > 0 ? s : p->arch->sm_count;
}

/* Combines the members' costs into the horizontal group's (one launch). */
MT_MUST_USE static mt_status *hgroup_cost(const mt_plan *p, const mt_horizontal_group *hg,
                                          mt_cost *c) {
  const mt_module *m = p->module;
  memset(c, 0, sizeof *c);
  double math_time = 0;
  for (int i = 0; i < hg->n_members; i++) {
    const mt_cost *g = &p->groups[hg->members[i]].cost;
    c->flops += g->flops;
    math_time += g->flops / (g->math_tflops > 0 ? g->math_tflops : p->arch->fp32_tflops);
    c->bytes_read += g->bytes_read;
    c->bytes_written += g->bytes_written;
    c->blocks += g->blocks;
  }
  c->math_tflops = math_time > 0 ? c->flops / math_time : p->arch->fp32_tflops;
  /* a weight constant shared by several members (dedup across tenants) is read once */
  if (hg->n_members > 1) {
    for (int i = 1; i < hg->n_members; i++) {
      const mt_fused_group *gi = &p->groups[hg->members[i]];
      for (int x = 0; x < gi->n_inputs; x++) {
        int32_t cid = mt_module_value_c(m, gi->inputs[x])->constant;
        if (cid < 0) continue;
        bool earlier = false;
        for (int j = 0; j < i && !earlier; j++) {
          const mt_fused_group *gj = &p->groups[hg->members[j]];
          for (int y = 0; y < gj->n_inputs && !earlier; y++)
            earlier = mt_module_value_c(m, gj->inputs[y])->constant == cid;
        }
        if (earlier) c->bytes_read -= value_bytes(m, gi->inputs[x]);
      }
    }
    if (c->bytes_read < 0) c->bytes_read = 0;
  }
  c->predicted_us = mt_cost_time_us(p->arch, c, partition_sms(p, hg->partition));
  return NULL;
}

/* Earliest finish time of every horizontal group under the schedule (see the file comment).
 * When every group of a partition has a stream, stream order and waits define the start;
 * otherwise the data dependencies do (unlimited concurrency). */
MT_MUST_USE static mt_status *finish_times(const mt_plan *p, double *finish) {
  mt_hgroup_deps d;
  MT_RETURN_IF_ERROR_PLAIN(mt_schedule_deps_build(p, &d));
  int n = p->n_hgroups;
  int32_t *order = malloc(sizeof(int32_t) * ((size_t)n + 1));
  bool *streamed = calloc((size_t)p->n_partitions + 1, sizeof *streamed);
  int32_t *last = NULL;
  int32_t max_stream = 0;
  mt_status *st = (!order || !streamed) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  if (!st) st = mt_schedule_topo_order(p, &d, order);
  for (int i = 0; !st && i < p->n_partitions; i++) streamed[i] = true;
  for (int h = 0; !st && h < n; h++) {
    const mt_horizontal_group *hg = &p->hgroups[h];
    if (hg->stream < 0 || hg->position < 0) streamed[hg->partition] = false;
    if (hg->stream > max_stream) max_stream = hg->stream;
  }
  if (!st) {
    last = malloc(sizeof(int32_t) * ((size_t)p->n_partitions * ((size_t)max_stream + 1) + 1));
    if (!last) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; last && i < (size_t)p->n_partitions * ((size_t)max_stream + 1); i++)
      last[i] = -1;
  }
  /* with streams, positions order each stream; the topological order agrees with positions */
  for (int i = 0; !st && i < n; i++) {
    int32_t h = order[i];
    const mt_horizontal_group *hg = &p->hgroups[h];
    double start = 0;
    if (streamed[hg->partition]) {
      int32_t *slot = &last[(size_t)hg->partition * ((size_t)max_stream + 1) + (size_t)hg->stream];
      if (*slot >= 0) start = finish[*slot];
      *slot = h;
      for (int w = 0; w < hg->n_waits; w++) {
        double t = finish[hg->waits[w]] + p->arch->event_wait_us;
        if (t > start) start = t;
      }
    } else {
      for (int32_t e = d.start[h]; e < d.start[h + 1]; e++)
        if (finish[d.pred[e]] > start) start = finish[d.pred[e]];
    }
    finish[h] = start + hg->cost.predicted_us;
  }
  free(order);
  free(streamed);
  free(last);
  mt_schedule_deps_free(&d);
  return st;
}

mt_status *mt_cost_model_estimate(mt_plan *p) {
  for (int gi = 0; gi < p->n_groups; gi++) {
    mt_fused_group *fg = &p->groups[gi];
    group_cost(p, fg, &fg->cost);
    int32_t part = p->tenant_partition[fg->tenant];
    fg->cost.predicted_us = mt_cost_time_us(p->arch, &fg->cost, partition_sms(p, part));
  }
  for (int h = 0; h < p->n_hgroups; h++)
    MT_RETURN_IF_ERROR_PLAIN(hgroup_cost(p, &p->hgroups[h], &p->hgroups[h].cost));
  double *finish = calloc((size_t)p->n_hgroups + 1, sizeof *finish);
  if (!finish) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = finish_times(p, finish);
  for (int i = 0; !st && i < p->n_partitions; i++) {
    double path = 0, work = 0;
    int sms = partition_sms(p, i);
    for (int h = 0; h < p->n_hgroups; h++) {
      if (p->hgroups[h].partition != i) continue;
      if (finish[h] > path) path = finish[h];
      work += work_us(p->arch, &p->hgroups[h].cost, sms);
    }
    p->partitions[i].predicted_makespan_us = path > work ? path : work;
  }
  free(finish);
  return st;
}

mt_status *mt_cost_hgroup_finish_us(const mt_plan *p, double *finish) {
  for (int h = 0; h < p->n_hgroups; h++) finish[h] = 0;
  return finish_times(p, finish);
}

void mt_cost_tenants_alone_us(const mt_plan *p, double *out) {
  for (int32_t t = 0; t < mt_module_tenant_count(p->module); t++) out[t] = 0;
  /* the same sums, in the same group order, as mt_cost_tenant_latency_us */
  for (int gi = 0; gi < p->n_groups; gi++) {
    int32_t t = p->groups[gi].tenant;
    out[t] +=
        mt_cost_time_us(p->arch, &p->groups[gi].cost, partition_sms(p, p->tenant_partition[t]));
  }
}

double mt_cost_tenant_latency_us(const mt_plan *p, int32_t tenant, bool alone) {
  int32_t part = p->tenant_partition[tenant];
  int sms = partition_sms(p, part);
  if (alone) {
    /* one stream, one launch per fused group, the whole partition to itself */
    double t = 0;
    for (int gi = 0; gi < p->n_groups; gi++)
      if (p->groups[gi].tenant == tenant) t += mt_cost_time_us(p->arch, &p->groups[gi].cost, sms);
    return t;
  }
  /* among the others: when its last horizontal group finishes, and no earlier than the work
   * scheduled up to that point needs on the shared SMs */
  double *finish = calloc((size_t)p->n_hgroups + 1, sizeof *finish);
  if (!finish) return 0;
  mt_status *st = finish_times(p, finish);
  double done = 0;
  int32_t last_pos = -1;
  for (int gi = 0; !st && gi < p->n_groups; gi++) {
    if (p->groups[gi].tenant != tenant) continue;
    int32_t h = p->groups[gi].hgroup;
    if (finish[h] > done) done = finish[h];
    if (p->hgroups[h].position > last_pos) last_pos = p->hgroups[h].position;
  }
  double work = 0;
  for (int h = 0; !st && h < p->n_hgroups; h++)
    if (p->hgroups[h].partition == part && p->hgroups[h].position >= 0 &&
        p->hgroups[h].position <= last_pos)
      work += work_us(p->arch, &p->hgroups[h].cost, sms);
  mt_status_free(st);
  free(finish);
  return done > work ? done : work;
}

double mt_cost_tenant_concurrent_us(const mt_plan *p, int32_t tenant) {
  int32_t part = p->tenant_partition[tenant];
  int sms = partition_sms(p, part);
  mt_hgroup_deps d;
  mt_status *st = mt_schedule_deps_build(p, &d);
  if (st) { /* out of memory: no estimate */
    mt_status_free(st);
    return 0;
  }
  /* the horizontal groups' order is topological for the fused groups too */
  double *finish = calloc((size_t)p->n_groups + 1, sizeof *finish);
  int32_t *order = malloc(sizeof(int32_t) * ((size_t)p->n_hgroups + 1));
  double path = 0, work = 0;
  st = finish && order ? mt_schedule_topo_order(p, &d, order)
                       : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; !st && i < p->n_hgroups; i++) {
    const mt_horizontal_group *hg = &p->hgroups[order[i]];
    for (int k = 0; k < hg->n_members; k++) {
      int32_t gi = hg->members[k];
      const mt_fused_group *fg = &p->groups[gi];
      if (fg->tenant != tenant) continue;
      double start = 0;
      for (int x = 0; x < fg->n_inputs; x++) {
        int32_t prod = mt_module_value_c(p->module, fg->inputs[x])->producer;
        int32_t pg = prod >= 0 ? p->group_of_node[prod] : -1;
        if (pg >= 0 && pg != gi && finish[pg] > start) start = finish[pg];
      }
      finish[gi] = start + mt_cost_time_us(p->arch, &fg->cost, sms);
      if (finish[gi] > path) path = finish[gi];
      work += work_us(p->arch, &fg->cost, sms);
    }
  }
  mt_status_free(st);
  free(finish);
  free(order);
  mt_schedule_deps_free(&d);
  return path > work ? path : work;
}

mt_status *mt_pass_cost_model(mt_pass_ctx *ctx) { return mt_cost_model_estimate(ctx->plan); }
