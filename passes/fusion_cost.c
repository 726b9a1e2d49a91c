/* The cost estimate horizontal fusion decides with: work per fused group (flops, bytes through
 * its external inputs and outputs, thread blocks) and a launch-time model. Timing defers to the
 * shared cost model (passes/cost_model.c, mt_cost_time_us) as soon as it returns estimates; until
 * then a local roofline with wave quantisation stands in, so fusion never waits on it. */
#include <math.h>
#include <string.h>

#include "passes/fusion_internal.h"

static int64_t value_numel(const mt_module *m, mt_value_id v) {
  if (v == MT_NO_VALUE) return 0;
  const mt_value *x = mt_module_value_c(m, v);
  return x->rank >= 0 ? mt_shape_numel(x->rank, x->dims) : 0;
}

static double value_bytes(const mt_module *m, mt_value_id v) {
  if (v == MT_NO_VALUE) return 0;
  const mt_value *x = mt_module_value_c(m, v);
  return (double)value_numel(m, v) * (double)mt_dtype_size(x->dtype);
}

static int64_t ceil_div(int64_t a, int64_t b) { return b > 0 ? (a + b - 1) / b : a; }

static bool is_transcendental(const char *op) {
  static const char *const ops[] = {"Sigmoid", "Tanh", "Elu", "Selu", "Softplus", "Gelu", "Erf", "Exp",
                                    "Log", "Pow", "Sqrt", "HardSwish", NULL};
  for (const char *const *o = ops; *o; o++)
    if (strcmp(op, *o) == 0) return true;
  return false;
}

static double node_flops(const mt_module *m, const mt_node *n) {
  mt_value_id out = n->n_outputs > 0 ? n->outputs[0] : MT_NO_VALUE;
  double out_numel = (double)value_numel(m, out);
  if (mt_fusion_is_conv_op(n) && n->n_inputs >= 2 && n->inputs[1] != MT_NO_VALUE) {
    const mt_value *w = mt_module_value_c(m, n->inputs[1]);
    double per = w->rank >= 1 && w->dims[0] > 0 ? (double)value_numel(m, n->inputs[1]) / (double)w->dims[0] : 0;
    double base = strcmp(n->op_type, "ConvTranspose") == 0 ? (double)value_numel(m, n->inputs[0]) : out_numel;
    return 2.0 * base * per;
  }
  if (mt_fusion_is_gemm_op(n) && n->n_inputs >= 2) {
    const mt_value *a = mt_module_value_c(m, n->inputs[0]);
    int64_t k = 1;
    if (strcmp(n->op_type, "Gemm") == 0 && a->rank == 2) k = a->dims[mt_node_attr_int(n, "transA", 0) ? 0 : 1];
    else if (a->rank >= 1) k = a->dims[a->rank - 1];
    return 2.0 * out_numel * (double)k;
  }
  if (mt_fusion_is_reduction(n) && n->n_inputs >= 1) return 2.0 * (double)value_numel(m, n->inputs[0]);
  return out_numel * (is_transcendental(n->op_type) ? 4.0 : 1.0);
}

/* Thread blocks the group's kernel offers: 128x128 output tiles for GEMM/conv, a block per 1024
 * elements for elementwise work, a warp per row for row-wise reductions. */
static int64_t group_blocks(const mt_module *m, const mt_fused_group *g) {
  int32_t anchor = g->anchor >= 0 ? g->anchor : g->nodes[0];
  const mt_node *n = mt_module_node_c(m, anchor);
  mt_value_id out = n->n_outputs > 0 ? n->outputs[0] : MT_NO_VALUE;
  int64_t out_numel = value_numel(m, out);
  const mt_value *o = out != MT_NO_VALUE ? mt_module_value_c(m, out) : NULL;
  if (g->kind == MT_GROUP_CONV && o && o->rank >= 2 && n->n_inputs >= 2) {
    int64_t cout = o->dims[1], groups = mt_node_attr_int(n, "group", 1);
    if (groups > 1 && groups == cout) return ceil_div(out_numel, 1024); /* depthwise: elementwise-like */
    return ceil_div(out_numel / (cout > 0 ? cout : 1), 128) * ceil_div(cout, 128);
  }
  if (g->kind == MT_GROUP_GEMM && o && o->rank >= 2) {
    int64_t rows = o->dims[o->rank - 2], cols = o->dims[o->rank - 1];
    int64_t batch = out_numel / (rows * cols > 0 ? rows * cols : 1);
    return batch * ceil_div(rows, 128) * ceil_div(cols, 128);
  }
  if (g->kind == MT_GROUP_REDUCTION && n->n_inputs >= 1) {
    static const char *const rowwise[] = {"Softmax", "LogSoftmax", "LayerNormalization", NULL};
    for (const char *const *r = rowwise; *r; r++)
      if (strcmp(n->op_type, *r) == 0) {
        const mt_value *x = mt_module_value_c(m, n->inputs[0]);
        int64_t row = x->rank > 0 ? x->dims[x->rank - 1] : 1;
        return ceil_div(value_numel(m, n->inputs[0]) / (row > 0 ? row : 1), 8);
      }
    return ceil_div(out_numel, 256);
  }
  int64_t most = 0;
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *x = mt_module_node_c(m, g->nodes[k]);
    for (int i = 0; i < x->n_outputs; i++) {
      int64_t e = value_numel(m, x->outputs[i]);
      if (e > most) most = e;
    }
  }
  return ceil_div(most, 1024);
}

void mt_fusion_group_cost(const mt_plan *p, const mt_fused_group *g, mt_cost *out) {
  const mt_module *m = p->module;
  memset(out, 0, sizeof *out);
  for (int k = 0; k < g->n_nodes; k++) out->flops += node_flops(m, mt_module_node_c(m, g->nodes[k]));
  for (int i = 0; i < g->n_inputs; i++) out->bytes_read += value_bytes(m, g->inputs[i]);
  for (int i = 0; i < g->n_outputs; i++) out->bytes_written += value_bytes(m, g->outputs[i]);
  out->blocks = group_blocks(m, g);
  if (out->blocks < 1) out->blocks = 1;
}

double mt_fusion_work_us(const mt_arch_params *a, const mt_cost *c, int sms) {
  double shared = mt_cost_time_us(a, c, sms);
  if (shared > 0) return shared > a->launch_overhead_us ? shared - a->launch_overhead_us : 0;
  if (sms <= 0 || sms > a->sm_count) sms = a->sm_count;
  double frac = (double)sms / (double)a->sm_count;
  double compute_us = c->flops / (a->fp32_tflops * 1e6 * frac);
  /* a partial partition still draws more than its share of DRAM bandwidth */
  double bw_frac = frac * 1.5 < 1.0 ? frac * 1.5 : 1.0;
  double mem_us = (c->bytes_read + c->bytes_written) / (a->mem_bandwidth_gbs * 1e3 * bw_frac);
  double t = compute_us > mem_us ? compute_us : mem_us;
  double slots = (double)sms * 2.0; /* two resident blocks per SM */
  if (c->blocks > 0) {
    double waves = ceil((double)c->blocks / slots);
    t /= (double)c->blocks / (waves * slots); /* idle SMs in the last wave */
  }
  return t;
}

double mt_fusion_time_us(const mt_arch_params *a, const mt_cost *c, int sms) {
  double shared = mt_cost_time_us(a, c, sms);
  if (shared > 0) return shared;
  return a->launch_overhead_us + mt_fusion_work_us(a, c, sms);
}

void mt_fusion_body_resources_of(const mt_plan *p, const mt_fused_group *g, mt_fusion_body_resources *out) {
  const mt_module *m = p->module;
  out->shared_bytes = 0;
  out->registers = 16 + 6 * g->n_nodes;
  if (g->kind == MT_GROUP_REDUCTION) {
    out->registers += 16;
    const mt_node *n = mt_module_node_c(m, g->anchor >= 0 ? g->anchor : g->nodes[0]);
    if (strstr(n->op_type, "Pool")) {
      out->shared_bytes = 0;
    } else if (strcmp(n->op_type, "Softmax") == 0 || strcmp(n->op_type, "LogSoftmax") == 0 ||
               strcmp(n->op_type, "LayerNormalization") == 0) {
      /* the block's 8 rows are cached in shared memory when they fit in 48 KiB, else
       * block-wide partial sums */
      const mt_value *x = mt_module_value_c(m, n->inputs[0]);
      int64_t row = x->rank > 0 ? x->dims[x->rank - 1] : 1;
      out->shared_bytes = row * 4 * 8 <= 49152 ? (int)(row * 4 * 8) : 2048;
    } else {
      out->shared_bytes = 2048; /* 256 threads x 2 partial accumulators */
    }
  }
  if (out->registers > 255) out->registers = 255;
}
