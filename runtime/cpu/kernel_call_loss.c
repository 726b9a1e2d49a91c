/* Kernel calls for the losses that inference graphs carry: NegativeLogLikelihoodLoss and
 * SoftmaxCrossEntropyLoss (a log-softmax along C, then the same loss). Sums run in double over
 * the target elements in row-major order (the order the CUDA generator repeats); each result is
 * rounded once into the input's float type. */
#include <math.h>
#include <stdlib.h>

#include "runtime/cpu/kernel_call.h"

/* log-softmax of column (n, :, d) of x [N, C, D] into lp (C values), in double. */
static void log_softmax_col(const mt_tensor *x, int64_t c_dim, int64_t d_dim, int64_t n, int64_t d,
                            double *lp) {
  double m = -INFINITY, s = 0;
  for (int64_t c = 0; c < c_dim; c++) {
    double v = mt_tensor_get_f64(x, (n * c_dim + c) * d_dim + d);
    if (v > m) m = v;
  }
  for (int64_t c = 0; c < c_dim; c++)
    s += exp(mt_tensor_get_f64(x, (n * c_dim + c) * d_dim + d) - m);
  double ls = log(s);
  for (int64_t c = 0; c < c_dim; c++)
    lp[c] = mt_tensor_get_f64(x, (n * c_dim + c) * d_dim + d) - m - ls;
}

mt_status *mt_cpu_kernel_run_loss(const mt_kernel_call *call, int n_inputs,
                                  const mt_tensor *const *inputs, int n_outputs,
                                  mt_tensor *outputs) {
  if (call->kind != MT_KERNEL_NLL_LOSS)
    return MT_ERR(INTERNAL, "kernel %s is not a loss kernel", mt_kernel_kind_name(call->kind));
  const mt_kc_nll_loss *p = &call->params.nll_loss;
  const mt_tensor *x = inputs[0], *t = n_inputs > 1 ? inputs[1] : NULL;
  const mt_tensor *w = n_inputs > 2 ? inputs[2] : NULL;
  mt_tensor *y = &outputs[0], *lp_out = n_outputs > 1 && outputs[1].data ? &outputs[1] : NULL;
  if (!mt_dtype_is_float_any(x->dtype) || y->dtype != x->dtype)
    return MT_ERR(UNIMPLEMENTED, "loss of %s", mt_dtype_name(x->dtype));
  if (!t || !mt_dtype_is_integer(t->dtype) || x->rank < 2 || t->rank != x->rank - 1)
    return MT_ERR(INVALID_ARGUMENT, "input 1: target must be integers of rank %d", x->rank - 1);
  int64_t n_dim = x->dims[0], c_dim = x->dims[1];
  int64_t d_dim = mt_shape_numel(x->rank - 2, x->dims + 2);
  if (mt_tensor_numel(t) != n_dim * d_dim)
    return MT_ERR(INVALID_ARGUMENT, "input 1: target does not match the input's shape");
  if (w && mt_tensor_numel(w) != c_dim)
    return MT_ERR(INVALID_ARGUMENT, "input 2: weight must hold %lld values", (long long)c_dim);
  double *lp = p->log_softmax ? malloc((size_t)(c_dim > 0 ? c_dim : 1) * sizeof *lp) : NULL;
  if (p->log_softmax && !lp) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  double sum = 0, wsum = 0;
  for (int64_t n = 0; n < n_dim && !st; n++)
    for (int64_t d = 0; d < d_dim && !st; d++) {
      if (p->log_softmax) {
        log_softmax_col(x, c_dim, d_dim, n, d, lp);
        if (lp_out)
          for (int64_t c = 0; c < c_dim; c++)
            mt_tensor_set_f64(lp_out, (n * c_dim + c) * d_dim + d, lp[c]);
      }
      int64_t k = mt_tensor_get_i64(t, n * d_dim + d);
      double loss = 0, wk = 0;
      if (!(p->has_ignore && k == p->ignore_index)) {
        if (k < 0 || k >= c_dim) {
          st = MT_ERR(OUT_OF_RANGE, "target %lld is outside [0, %lld)", (long long)k,
                      (long long)c_dim);
          break;
        }
        double v = p->log_softmax ? lp[k] : mt_tensor_get_f64(x, (n * c_dim + k) * d_dim + d);
        wk = w ? mt_tensor_get_f64(w, k) : 1.0;
        loss = -v * wk;
      }
      if (p->reduction == MT_LOSS_NONE) mt_tensor_set_f64(y, n * d_dim + d, loss);
      sum += loss;
      wsum += wk;
    }
  free(lp);
  if (st) return st;
  if (p->reduction == MT_LOSS_SUM) mt_tensor_set_f64(y, 0, sum);
  if (p->reduction == MT_LOSS_MEAN) mt_tensor_set_f64(y, 0, sum / wsum);
  return NULL;
}
