/* Cost helpers for horizontal fusion: launch overhead and work under the shared cost model
 * (passes/cost_model.c, which fills every group's cost), and conservative per-body resource
 * estimates for multi-body kernels. */
#include <string.h>

#include "ir/op.h"
#include "passes/fusion_internal.h"

double mt_fusion_launch_us(const mt_arch_params *a, int sms) {
  mt_cost none;
  memset(&none, 0, sizeof none);
  none.blocks = 1;
  return mt_cost_time_us(a, &none, sms);
}

double mt_fusion_work_us(const mt_arch_params *a, const mt_cost *c, int sms) {
  double t = mt_cost_time_us(a, c, sms) - mt_fusion_launch_us(a, sms);
  return t > 0 ? t : 0;
}

void mt_fusion_cost_add(mt_cost *sum, const mt_cost *c, const mt_arch_params *a) {
  /* math rate of the sum: total flops over total math time */
  double rate_sum = sum->math_tflops > 0 ? sum->math_tflops : a->fp32_tflops;
  double rate_c = c->math_tflops > 0 ? c->math_tflops : a->fp32_tflops;
  double math_time = sum->flops / rate_sum + c->flops / rate_c;
  sum->flops += c->flops;
  sum->bytes_read += c->bytes_read;
  sum->bytes_written += c->bytes_written;
  sum->blocks += c->blocks;
  sum->math_tflops = math_time > 0 ? sum->flops / math_time : 0;
}

void mt_fusion_body_resources_of(const mt_plan *p, const mt_fused_group *g,
                                 mt_fusion_body_resources *out) {
  const mt_module *m = p->module;
  out->shared_bytes = 0;
  out->registers = 16 + 6 * g->n_nodes;
  if (g->kind == MT_GROUP_REDUCTION) {
    out->registers += 16;
    const mt_node *n = mt_module_node_c(m, g->anchor >= 0 ? g->anchor : g->nodes[0]);
    if (mt_node_has_traits(n, MT_TRAIT_POOL)) {
      out->shared_bytes = 0;
    } else if (mt_node_has_traits(n, MT_TRAIT_ROWWISE)) {
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
