/* The arithmetic of the nn family's ops, for the cost model (mt_op_def.work), and the node-level
 * pattern of BatchNormalization. Counts follow what a direct kernel does: 2 flops per
 * multiply-add; transcendentals (exp, rsqrt) counted apart so the target can price them. */
#include "ir/ops/nn_internal.h"

static const mt_value *shaped_input(const mt_module *m, const mt_node *n, int i) {
  if (i >= n->n_inputs || n->inputs[i] == MT_NO_VALUE) return NULL;
  const mt_value *v = mt_module_value_c(m, n->inputs[i]);
  return v->rank >= 0 ? v : NULL;
}

static bool has_input(const mt_node *n, int i) {
  return i < n->n_inputs && n->inputs[i] != MT_NO_VALUE;
}

static double output_elems(const mt_module *m, const mt_node *n) {
  return n->n_outputs > 0 ? mt_value_elems(m, n->outputs[0]) : 0;
}

/* Gemm and MatMul: 2 * outputs * K, plus the bias (alpha/beta scaling included). */
void mt_nn_gemm_work(const mt_module *m, const mt_node *n, mt_op_work *w) {
  const mt_value *a = shaped_input(m, n, 0);
  double out = output_elems(m, n), k = 0;
  if (a && a->rank >= 1) {
    bool trans_a = a->rank == 2 && mt_node_attr_int(n, "transA", 0) != 0;
    k = (double)a->dims[trans_a ? 0 : a->rank - 1];
  }
  w->flops = 2 * out * k + (has_input(n, 2) ? 2 * out : 0);
}

/* Conv: 2 * outputs * (IC/groups * prod(K)), W being [OC, IC/groups, K...]; plus the bias. */
void mt_nn_conv_work(const mt_module *m, const mt_node *n, mt_op_work *w) {
  const mt_value *wt = shaped_input(m, n, 1);
  double out = output_elems(m, n);
  double per_out = (wt && wt->rank >= 1 && wt->dims[0] > 0)
                       ? mt_value_elems(m, n->inputs[1]) / (double)wt->dims[0]
                       : 0;
  w->flops = 2 * out * per_out + (has_input(n, 2) ? out : 0);
}

/* ConvTranspose: every input element scatters into OC/groups * prod(K) outputs, W being
 * [IC, OC/groups, K...]; plus the bias. */
void mt_nn_conv_transpose_work(const mt_module *m, const mt_node *n, mt_op_work *w) {
  const mt_value *x = shaped_input(m, n, 0), *wt = shaped_input(m, n, 1);
  double in = x ? mt_value_elems(m, n->inputs[0]) : 0;
  double per_in = (wt && wt->rank >= 1 && wt->dims[0] > 0)
                      ? mt_value_elems(m, n->inputs[1]) / (double)wt->dims[0]
                      : 0;
  w->flops = 2 * in * per_in + (has_input(n, 2) ? output_elems(m, n) : 0);
}

/* MaxPool, AveragePool: one op per window element per output. */
void mt_nn_pool_work(const mt_module *m, const mt_node *n, mt_op_work *w) {
  const int64_t *ks;
  int64_t nk = mt_node_attr_ints(n, "kernel_shape", &ks);
  double window = 1;
  for (int64_t i = 0; i < nk; i++) window *= (double)ks[i];
  w->flops = output_elems(m, n) * window;
}

/* Softmax, LogSoftmax: max, subtract, sum, scale per element, and one exp. */
void mt_nn_softmax_work(const mt_module *m, const mt_node *n, mt_op_work *w) {
  double in = has_input(n, 0) ? mt_value_elems(m, n->inputs[0]) : 0;
  w->flops = 4 * in;
  w->transcendentals = in;
}

/* LayerNormalization, InstanceNormalization: mean, variance, scale and shift per element, and
 * one rsqrt per element as a direct kernel counts it. */
void mt_nn_norm_work(const mt_module *m, const mt_node *n, mt_op_work *w) {
  double in = has_input(n, 0) ? mt_value_elems(m, n->inputs[0]) : 0;
  w->flops = 8 * in;
  w->transcendentals = in;
}

/* Inference BatchNormalization folds to a scale and a shift per element. */
void mt_nn_batchnorm_work(const mt_module *m, const mt_node *n, mt_op_work *w) {
  w->flops = 2 * output_elems(m, n);
}

/* Training mode (running statistics as extra outputs) is no per-element map of the input. */
mt_op_pattern mt_nn_batchnorm_pattern(const mt_node *n) {
  if (mt_node_attr_int(n, "training_mode", 0) != 0 || mt_node_live_outputs(n) != 1)
    return MT_PATTERN_OPAQUE;
  return MT_PATTERN_BROADCAST;
}
