/* Recurrent layers: RNN, GRU and LSTM (opsets 1/3, 7, 14, 22), lowered to one MT_KERNEL_RNN call
 * (runtime/cpu/kernel_call_rnn.c). What the versions change: opset 1 has `output_sequence`
 * (only whether Y may be omitted, which any version allows here), GRU-1 lacks
 * linear_before_reset (read as 0), opset 14 adds `layout` (batch-major X, Y and states), opset 22
 * only widens the types. They run as their own kernels (pattern opaque): a step needs the whole
 * previous hidden state. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ir/op.h"

static const struct {
  const char *name;
  mt_rnn_act act;
  float alpha, beta; /* defaults when activation_alpha / activation_beta run out */
  bool uses_alpha, uses_beta;
} act_table[] = {
    {"Relu", MT_RNN_ACT_RELU, 0, 0, false, false},
    {"Tanh", MT_RNN_ACT_TANH, 0, 0, false, false},
    {"Sigmoid", MT_RNN_ACT_SIGMOID, 0, 0, false, false},
    {"Affine", MT_RNN_ACT_AFFINE, 1.0f, 0.0f, true, true},
    {"LeakyRelu", MT_RNN_ACT_LEAKY_RELU, 0.01f, 0, true, false},
    {"ThresholdedRelu", MT_RNN_ACT_THRESHOLDED_RELU, 1.0f, 0, true, false},
    {"ScaledTanh", MT_RNN_ACT_SCALED_TANH, 1.0f, 1.0f, true, true},
    {"HardSigmoid", MT_RNN_ACT_HARD_SIGMOID, 0.2f, 0.5f, true, true},
    {"Elu", MT_RNN_ACT_ELU, 1.0f, 0, true, false},
    {"Softsign", MT_RNN_ACT_SOFTSIGN, 0, 0, false, false},
    {"Softplus", MT_RNN_ACT_SOFTPLUS, 0, 0, false, false},
};

static mt_rnn_cell cell_of(const mt_node *n) {
  return strcmp(n->op_type, "LSTM") == 0  ? MT_RNN_LSTM
         : strcmp(n->op_type, "GRU") == 0 ? MT_RNN_GRU
                                          : MT_RNN_SIMPLE;
}

static int gates_of(mt_rnn_cell cell) {
  return cell == MT_RNN_LSTM ? 4 : cell == MT_RNN_GRU ? 3 : 1;
}

/* The activations per direction, their alphas and betas consumed in order by the activations
 * that take them (ONNX Runtime's reading of the lists). */
MT_MUST_USE static mt_status *activations(const mt_node *n, mt_kc_rnn *p) {
  static const mt_rnn_act defaults[3][3] = {{MT_RNN_ACT_TANH},
                                            {MT_RNN_ACT_SIGMOID, MT_RNN_ACT_TANH},
                                            {MT_RNN_ACT_SIGMOID, MT_RNN_ACT_TANH, MT_RNN_ACT_TANH}};
  int per = p->cell == MT_RNN_LSTM ? 3 : p->cell == MT_RNN_GRU ? 2 : 1;
  const mt_attr *names = mt_node_attr(n, "activations");
  const float *alphas = NULL, *betas = NULL;
  int64_t n_alpha = mt_node_attr_floats(n, "activation_alpha", &alphas);
  int64_t n_beta = mt_node_attr_floats(n, "activation_beta", &betas);
  int64_t ai = 0, bi = 0;
  if (names && names->count != per && names->count != per * p->directions)
    return MT_ERR(INVALID_ARGUMENT, "activations: expected %d names, got %lld", per * p->directions,
                  (long long)names->count);
  for (int d = 0; d < p->directions; d++)
    for (int k = 0; k < per; k++) {
      if (!names) {
        p->act[d][k] = defaults[p->cell][k];
        continue;
      }
      /* one list for both directions is repeated */
      const char *s = names->strings[(d * per + k) % names->count];
      size_t t = 0;
      while (t < sizeof act_table / sizeof *act_table && strcasecmp(act_table[t].name, s) != 0) t++;
      if (t == sizeof act_table / sizeof *act_table)
        return MT_ERR(UNIMPLEMENTED, "activation '%s' is not supported", s);
      p->act[d][k] = act_table[t].act;
      p->alpha[d][k] = act_table[t].alpha;
      p->beta[d][k] = act_table[t].beta;
      if (act_table[t].uses_alpha && ai < n_alpha) p->alpha[d][k] = alphas[ai++];
      if (act_table[t].uses_beta && bi < n_beta) p->beta[d][k] = betas[bi++];
    }
  return NULL;
}

/* An optional input must be absent or have exactly the `want` dims. */
MT_MUST_USE static mt_status *want_shape(const mt_tensor *t, const char *name, mt_dtype dt,
                                         int rank, const int64_t *want) {
  if (!t) return NULL;
  if (t->dtype != dt) return MT_ERR(INVALID_ARGUMENT, "%s must be %s", name, mt_dtype_name(dt));
  bool ok = t->rank == rank;
  for (int i = 0; ok && i < rank; i++) ok = t->dims[i] == want[i];
  if (!ok) {
    char buf[96];
    int at = 0;
    for (int i = 0; i < rank && at < (int)sizeof buf - 24; i++)
      at +=
          snprintf(buf + at, sizeof buf - (size_t)at, "%s%lld", i ? ", " : "", (long long)want[i]);
    return MT_ERR(INVALID_ARGUMENT, "%s must have shape [%s]", name, buf);
  }
  return NULL;
}

MT_MUST_USE static mt_status *rnn_call(const mt_op_ctx *c, mt_kc_rnn *p) {
  const mt_node *n = c->node;
  const mt_tensor *x = mt_op_input(c, 0), *w = mt_op_input(c, 1), *r = mt_op_input(c, 2);
  memset(p, 0, sizeof *p);
  p->cell = cell_of(n);
  bool lstm = p->cell == MT_RNN_LSTM;
  if (!x || !w || !r) return MT_ERR(INVALID_ARGUMENT, "expected X, W and R");
  if (!mt_dtype_is_float_any(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(x->dtype));
  if (x->rank != 3) return MT_ERR(INVALID_ARGUMENT, "X must have rank 3, got %d", x->rank);
  const char *dir = mt_node_attr_string(n, "direction", "forward");
  if (strcmp(dir, "forward") == 0) {
    p->directions = 1;
  } else if (strcmp(dir, "reverse") == 0) {
    p->directions = 1;
    p->reverse = true;
  } else if (strcmp(dir, "bidirectional") == 0) {
    p->directions = 2;
  } else {
    return MT_ERR(INVALID_ARGUMENT, "direction '%s' is none of forward, reverse, bidirectional",
                  dir);
  }
  p->layout = c->opset >= 14 ? (int)mt_node_attr_int(n, "layout", 0) : 0;
  if (p->layout != 0 && p->layout != 1)
    return MT_ERR(INVALID_ARGUMENT, "layout must be 0 or 1, got %d", p->layout);
  const mt_attr *clip = mt_node_attr(n, "clip");
  p->has_clip = clip != NULL;
  p->clip = clip ? clip->f : 0;
  if (p->has_clip && !(p->clip >= 0)) return MT_ERR(INVALID_ARGUMENT, "clip must be non-negative");
  p->linear_before_reset = p->cell == MT_RNN_GRU && mt_node_attr_int(n, "linear_before_reset", 0);
  p->input_forget = lstm && mt_node_attr_int(n, "input_forget", 0);
  int64_t nd = p->directions, gates = gates_of(p->cell);
  int64_t seq = x->dims[p->layout ? 1 : 0], batch = x->dims[p->layout ? 0 : 1], in = x->dims[2];
  int64_t hid = mt_node_attr_int(n, "hidden_size", 0);
  if (hid <= 0 && w->rank == 3) hid = w->dims[1] / gates; /* hidden_size is optional */
  if (hid <= 0) return MT_ERR(INVALID_ARGUMENT, "hidden_size must be positive");
  if (seq < 0 || batch < 0 || in < 0) return MT_ERR(INVALID_ARGUMENT, "X has unknown dims");
  p->hidden = hid;
  int64_t ws[3] = {nd, gates * hid, in}, rs[3] = {nd, gates * hid, hid},
          bs[2] = {nd, 2 * gates * hid};
  int64_t ls[1] = {batch}, ps[2] = {nd, 3 * hid};
  int64_t hs[3] = {nd, batch, hid};
  if (p->layout) hs[0] = batch, hs[1] = nd;
  MT_RETURN_IF_ERROR_PLAIN(want_shape(w, "input 1 (W)", x->dtype, 3, ws));
  MT_RETURN_IF_ERROR_PLAIN(want_shape(r, "input 2 (R)", x->dtype, 3, rs));
  MT_RETURN_IF_ERROR_PLAIN(want_shape(mt_op_input(c, 3), "input 3 (B)", x->dtype, 2, bs));
  MT_RETURN_IF_ERROR_PLAIN(
      want_shape(mt_op_input(c, 4), "input 4 (sequence_lens)", MT_DTYPE_INT32, 1, ls));
  MT_RETURN_IF_ERROR_PLAIN(want_shape(mt_op_input(c, 5), "input 5 (initial_h)", x->dtype, 3, hs));
  if (lstm) {
    MT_RETURN_IF_ERROR_PLAIN(want_shape(mt_op_input(c, 6), "input 6 (initial_c)", x->dtype, 3, hs));
    MT_RETURN_IF_ERROR_PLAIN(want_shape(mt_op_input(c, 7), "input 7 (P)", x->dtype, 2, ps));
  }
  return activations(n, p);
}

MT_MUST_USE static mt_status *infer_rnn(mt_op_ctx *c) {
  mt_kc_rnn p;
  MT_RETURN_IF_ERROR_PLAIN(rnn_call(c, &p));
  const mt_tensor *x = mt_op_input(c, 0);
  int64_t seq = x->dims[p.layout ? 1 : 0], batch = x->dims[p.layout ? 0 : 1];
  int64_t nd = p.directions;
  int64_t y[4] = {seq, nd, batch, p.hidden}, h[3] = {nd, batch, p.hidden};
  if (p.layout) {
    y[0] = batch, y[1] = seq, y[2] = nd;
    h[0] = batch, h[1] = nd;
  }
  if (mt_op_has_output(c, 0)) mt_op_set_output(c, 0, x->dtype, 4, y);
  if (mt_op_has_output(c, 1)) mt_op_set_output(c, 1, x->dtype, 3, h);
  if (p.cell == MT_RNN_LSTM && mt_op_has_output(c, 2)) mt_op_set_output(c, 2, x->dtype, 3, h);
  return NULL;
}

MT_MUST_USE static mt_status *lower_rnn(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_RNN;
  return rnn_call(c, &call->params.rnn);
}

/* Two flops per multiply-add of the gate products, per step, row and direction. */
static void rnn_work(const mt_module *m, const mt_node *n, mt_op_work *out) {
  const mt_value *x = mt_module_value_c(m, n->inputs[0]);
  const mt_value *r = mt_module_value_c(m, n->inputs[2]);
  memset(out, 0, sizeof *out);
  if (!x || !r || x->rank != 3 || r->rank != 3) return;
  double steps = (double)x->dims[0] * (double)x->dims[1];
  double rows = (double)r->dims[0] * (double)r->dims[1];
  out->flops = 2.0 * steps * rows * (double)(x->dims[2] + r->dims[2]);
  out->transcendentals = steps * rows;
}

#define RNN_DEF(name, hi)                                                                          \
  {                                                                                                \
    .op_type = name, .min_inputs = 3, .max_inputs = hi, .pattern = MT_PATTERN_OPAQUE,              \
    .infer = infer_rnn, .lower = lower_rnn, .work = rnn_work                                       \
  }

const mt_op_def mt_ops_rnn[] = {
    RNN_DEF("RNN", 6),
    RNN_DEF("GRU", 6),
    RNN_DEF("LSTM", 8),
    {0},
};
