/* Kernel calls for the recurrent layers RNN, GRU and LSTM (MT_KERNEL_RNN).
 *
 * One sequence (direction d, batch row b) at a time, step by step, in double: every gate's
 * pre-activation sums the input terms in input order, then the recurrent terms in hidden order,
 * then the W bias and the R bias (and the peephole term), the order the CUDA generator
 * (codegen/cuda_rnn.c) prints, so the two agree to the last rounding of the stores. Steps at or
 * past a row's sequence length leave the state alone and write zeros to Y; a reverse direction
 * starts at the row's last valid step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/kernel_call.h"

double mt_cpu_rnn_activate(mt_rnn_act act, double alpha, double beta, double x) {
  switch (act) {
  case MT_RNN_ACT_RELU: return x > 0 ? x : 0;
  case MT_RNN_ACT_TANH: return tanh(x);
  case MT_RNN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
  case MT_RNN_ACT_AFFINE: return alpha * x + beta;
  case MT_RNN_ACT_LEAKY_RELU: return x >= 0 ? x : alpha * x;
  case MT_RNN_ACT_THRESHOLDED_RELU: return x > alpha ? x : 0;
  case MT_RNN_ACT_SCALED_TANH: return alpha * tanh(beta * x);
  case MT_RNN_ACT_HARD_SIGMOID: {
    double v = alpha * x + beta;
    return v < 0 ? 0 : (v > 1 ? 1 : v);
  }
  case MT_RNN_ACT_ELU: return x >= 0 ? x : alpha * (exp(x) - 1.0);
  case MT_RNN_ACT_SOFTSIGN: return x / (1.0 + fabs(x));
  case MT_RNN_ACT_SOFTPLUS: return log1p(exp(x));
  default: return x;
  }
}

/* Gates per cell: W holds gates*H rows. */
static int cell_gates(mt_rnn_cell cell) {
  return cell == MT_RNN_LSTM ? 4 : cell == MT_RNN_GRU ? 3 : 1;
}

typedef struct rnn_run {
  const mt_kc_rnn *p;
  const mt_tensor *x, *w, *r, *bias, *lens, *h0, *c0, *peep;
  mt_tensor *y, *yh, *yc;
  int64_t seq, batch, in, hid;
  double *h, *hn, *c, *gz, *gr; /* the state and per-step scratch, hid each */
} rnn_run;

/* sum_k x[t, b, k] * W[d, row, k] + sum_k h[k] * R[d, row, k] (either part may be skipped). */
static double dot_x(const rnn_run *s, int d, int64_t t, int64_t b, int64_t row) {
  int64_t xo = s->p->layout ? (b * s->seq + t) * s->in : (t * s->batch + b) * s->in;
  int64_t wo = ((int64_t)d * cell_gates(s->p->cell) * s->hid + row) * s->in;
  double acc = 0;
  for (int64_t k = 0; k < s->in; k++)
    acc += mt_tensor_get_f64(s->x, xo + k) * mt_tensor_get_f64(s->w, wo + k);
  return acc;
}

static double dot_h(const rnn_run *s, int d, int64_t row, const double *h, const double *scale) {
  int64_t ro = ((int64_t)d * cell_gates(s->p->cell) * s->hid + row) * s->hid;
  double acc = 0;
  for (int64_t k = 0; k < s->hid; k++)
    acc += (scale ? scale[k] * h[k] : h[k]) * mt_tensor_get_f64(s->r, ro + k);
  return acc;
}

/* B[d, which * gates * H + row] or 0 without B. */
static double bias(const rnn_run *s, int d, int which, int64_t row) {
  if (!s->bias) return 0;
  int64_t g = cell_gates(s->p->cell) * s->hid;
  return mt_tensor_get_f64(s->bias, (int64_t)d * 2 * g + which * g + row);
}

static double clip(const mt_kc_rnn *p, double v) {
  if (!p->has_clip) return v;
  return v < -p->clip ? -p->clip : (v > p->clip ? p->clip : v);
}

static double act(const mt_kc_rnn *p, int d, int which, double v) {
  return mt_cpu_rnn_activate(p->act[d][which], p->alpha[d][which], p->beta[d][which], v);
}

/* Offset of the state vector (d, b) in initial_h / Y_h / Y_c. */
static int64_t state_at(const rnn_run *s, int d, int64_t b) {
  return s->p->layout ? (b * s->p->directions + d) * s->hid : ((int64_t)d * s->batch + b) * s->hid;
}

static int64_t y_at(const rnn_run *s, int d, int64_t t, int64_t b) {
  int nd = s->p->directions;
  return s->p->layout ? ((b * s->seq + t) * nd + d) * s->hid
                      : ((t * nd + d) * s->batch + b) * s->hid;
}

/* One step of direction d, row b at time t: s->h (and s->c) advance. */
static void step(rnn_run *s, int d, int64_t t, int64_t b) {
  const mt_kc_rnn *p = s->p;
  int64_t hid = s->hid;
  if (p->cell == MT_RNN_SIMPLE) {
    for (int64_t j = 0; j < hid; j++) {
      double v =
          dot_x(s, d, t, b, j) + dot_h(s, d, j, s->h, NULL) + bias(s, d, 0, j) + bias(s, d, 1, j);
      s->hn[j] = act(p, d, 0, clip(p, v));
    }
  } else if (p->cell == MT_RNN_GRU) {
    /* gates z, r, h */
    for (int64_t j = 0; j < hid; j++) {
      double z =
          dot_x(s, d, t, b, j) + dot_h(s, d, j, s->h, NULL) + bias(s, d, 0, j) + bias(s, d, 1, j);
      double r = dot_x(s, d, t, b, hid + j) + dot_h(s, d, hid + j, s->h, NULL) +
                 bias(s, d, 0, hid + j) + bias(s, d, 1, hid + j);
      s->gz[j] = act(p, d, 0, clip(p, z));
      s->gr[j] = act(p, d, 0, clip(p, r));
    }
    for (int64_t j = 0; j < hid; j++) {
      int64_t row = 2 * hid + j;
      double v;
      if (p->linear_before_reset)
        v = dot_x(s, d, t, b, row) +
            s->gr[j] * (dot_h(s, d, row, s->h, NULL) + bias(s, d, 1, row)) + bias(s, d, 0, row);
      else
        v = dot_x(s, d, t, b, row) + dot_h(s, d, row, s->h, s->gr) + bias(s, d, 1, row) +
            bias(s, d, 0, row);
      double hh = act(p, d, 1, clip(p, v));
      s->hn[j] = (1.0 - s->gz[j]) * hh + s->gz[j] * s->h[j];
    }
  } else {
    /* gates i, o, f, c; peepholes i, o, f */
    for (int64_t j = 0; j < hid; j++) {
      double pre[4];
      for (int g = 0; g < 4; g++) {
        int64_t row = g * hid + j;
        pre[g] = dot_x(s, d, t, b, row) + dot_h(s, d, row, s->h, NULL) + bias(s, d, 0, row) +
                 bias(s, d, 1, row);
      }
      double pi = 0, po = 0, pf = 0;
      if (s->peep) {
        pi = mt_tensor_get_f64(s->peep, (int64_t)d * 3 * hid + j);
        po = mt_tensor_get_f64(s->peep, (int64_t)d * 3 * hid + hid + j);
        pf = mt_tensor_get_f64(s->peep, (int64_t)d * 3 * hid + 2 * hid + j);
      }
      double cp = s->c[j];
      double ig = act(p, d, 0, clip(p, pre[0] + pi * cp));
      double fg = p->input_forget ? 1.0 - ig : act(p, d, 0, clip(p, pre[2] + pf * cp));
      double cg = act(p, d, 1, clip(p, pre[3]));
      double cn = fg * cp + ig * cg;
      double og = act(p, d, 0, clip(p, pre[1] + po * cn));
      s->gz[j] = cn;
      s->hn[j] = og * act(p, d, 2, cn);
    }
    memcpy(s->c, s->gz, (size_t)hid * sizeof *s->c);
  }
  memcpy(s->h, s->hn, (size_t)hid * sizeof *s->h);
}

MT_MUST_USE static mt_status *run_sequence(rnn_run *s, int d, int64_t b) {
  const mt_kc_rnn *p = s->p;
  int64_t len = s->seq;
  if (s->lens) {
    len = mt_tensor_get_i64(s->lens, b);
    if (len < 0 || len > s->seq)
      return MT_ERR(OUT_OF_RANGE, "sequence_lens[%lld] = %lld is outside [0, %lld]", (long long)b,
                    (long long)len, (long long)s->seq);
  }
  for (int64_t j = 0; j < s->hid; j++) {
    s->h[j] = s->h0 ? mt_tensor_get_f64(s->h0, state_at(s, d, b) + j) : 0;
    s->c[j] = s->c0 ? mt_tensor_get_f64(s->c0, state_at(s, d, b) + j) : 0;
  }
  bool rev = p->directions == 2 ? d == 1 : p->reverse;
  for (int64_t k = 0; k < len; k++) {
    int64_t t = rev ? len - 1 - k : k;
    step(s, d, t, b);
    if (s->y)
      for (int64_t j = 0; j < s->hid; j++) mt_tensor_set_f64(s->y, y_at(s, d, t, b) + j, s->h[j]);
  }
  if (s->y)
    for (int64_t t = len; t < s->seq; t++)
      for (int64_t j = 0; j < s->hid; j++) mt_tensor_set_f64(s->y, y_at(s, d, t, b) + j, 0);
  for (int64_t j = 0; j < s->hid; j++) {
    if (s->yh) mt_tensor_set_f64(s->yh, state_at(s, d, b) + j, s->h[j]);
    if (s->yc) mt_tensor_set_f64(s->yc, state_at(s, d, b) + j, s->c[j]);
  }
  return NULL;
}

static const mt_tensor *opt_in(int n, const mt_tensor *const *in, int i) {
  return i < n ? in[i] : NULL;
}

static mt_tensor *opt_out(int n, mt_tensor *out, int i) {
  return i < n && out[i].data ? &out[i] : NULL;
}

mt_status *mt_cpu_kernel_run_rnn(const mt_kernel_call *call, int n_inputs,
                                 const mt_tensor *const *inputs, int n_outputs,
                                 mt_tensor *outputs) {
  if (call->kind != MT_KERNEL_RNN)
    return MT_ERR(INTERNAL, "kernel %s is not a recurrent kernel", mt_kernel_kind_name(call->kind));
  const mt_kc_rnn *p = &call->params.rnn;
  bool lstm = p->cell == MT_RNN_LSTM;
  rnn_run s = {.p = p,
               .x = opt_in(n_inputs, inputs, 0),
               .w = opt_in(n_inputs, inputs, 1),
               .r = opt_in(n_inputs, inputs, 2),
               .bias = opt_in(n_inputs, inputs, 3),
               .lens = opt_in(n_inputs, inputs, 4),
               .h0 = opt_in(n_inputs, inputs, 5),
               .c0 = lstm ? opt_in(n_inputs, inputs, 6) : NULL,
               .peep = lstm ? opt_in(n_inputs, inputs, 7) : NULL,
               .y = opt_out(n_outputs, outputs, 0),
               .yh = opt_out(n_outputs, outputs, 1),
               .yc = lstm ? opt_out(n_outputs, outputs, 2) : NULL};
  if (!s.x || !s.w || !s.r || s.x->rank != 3 || p->hidden < 1 || p->directions < 1 ||
      p->directions > 2)
    return MT_ERR(INVALID_ARGUMENT, "a recurrent layer takes X [3-D], W and R");
  int64_t g = cell_gates(p->cell) * p->hidden;
  s.seq = s.x->dims[p->layout ? 1 : 0];
  s.batch = s.x->dims[p->layout ? 0 : 1];
  s.in = s.x->dims[2];
  s.hid = p->hidden;
  /* the shapes the lowering checked, again: a bundle's call reaches here without it */
  if (mt_shape_numel(s.w->rank, s.w->dims) != p->directions * g * s.in ||
      mt_shape_numel(s.r->rank, s.r->dims) != p->directions * g * s.hid ||
      (s.bias && mt_shape_numel(s.bias->rank, s.bias->dims) != p->directions * 2 * g) ||
      (s.lens && mt_shape_numel(s.lens->rank, s.lens->dims) != s.batch) ||
      (s.h0 && mt_shape_numel(s.h0->rank, s.h0->dims) != p->directions * s.batch * s.hid) ||
      (s.c0 && mt_shape_numel(s.c0->rank, s.c0->dims) != p->directions * s.batch * s.hid) ||
      (s.peep && mt_shape_numel(s.peep->rank, s.peep->dims) != p->directions * 3 * s.hid))
    return MT_ERR(INVALID_ARGUMENT, "recurrent layer: W, R, B, sequence_lens, initial states or "
                                    "P do not match X and hidden_size");
  double *buf = calloc((size_t)s.hid * 5, sizeof *buf);
  if (!buf) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  s.h = buf;
  s.hn = buf + s.hid;
  s.c = buf + 2 * s.hid;
  s.gz = buf + 3 * s.hid;
  s.gr = buf + 4 * s.hid;
  mt_status *st = NULL;
  for (int d = 0; d < p->directions && !st; d++)
    for (int64_t b = 0; b < s.batch && !st; b++) st = run_sequence(&s, d, b);
  free(buf);
  return st;
}
