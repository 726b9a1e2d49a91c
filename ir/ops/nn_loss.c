/* Losses that inference graphs carry: NegativeLogLikelihoodLoss (opsets 12, 13, 22) and
 * SoftmaxCrossEntropyLoss (12, 13), both lowered to MT_KERNEL_NLL_LOSS
 * (runtime/cpu/kernel_call_loss.c). The versions differ only in the types they admit. The output
 * is the per-element loss (reduction 'none', the target's shape) or a scalar ('sum', 'mean');
 * SoftmaxCrossEntropyLoss's optional second output is the log-softmax of the scores along C.
 * They run as their own kernels (pattern opaque). */
#include <string.h>

#include "ir/op.h"

MT_MUST_USE static mt_status *loss_call(const mt_op_ctx *c, mt_kc_nll_loss *p) {
  const mt_tensor *x = mt_op_input(c, 0), *t = mt_op_input(c, 1), *w = mt_op_input(c, 2);
  if (!x || !t) return MT_ERR(INVALID_ARGUMENT, "expected the input and the target");
  if (!mt_dtype_is_float_any(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(x->dtype));
  if (x->rank < 2) return MT_ERR(INVALID_ARGUMENT, "input must have rank >= 2, got %d", x->rank);
  if (!mt_dtype_is_integer(t->dtype) || t->rank != x->rank - 1)
    return MT_ERR(INVALID_ARGUMENT, "input 1: target must be integers of rank %d", x->rank - 1);
  for (int d = 0; d < t->rank; d++)
    if (t->dims[d] != x->dims[d == 0 ? 0 : d + 1])
      return MT_ERR(INVALID_ARGUMENT, "input 1: target dim %d is %lld, expected %lld", d,
                    (long long)t->dims[d], (long long)x->dims[d == 0 ? 0 : d + 1]);
  if (w && (w->dtype != x->dtype || w->rank != 1 || w->dims[0] != x->dims[1]))
    return MT_ERR(INVALID_ARGUMENT, "input 2: weight must be %lld values of %s",
                  (long long)x->dims[1], mt_dtype_name(x->dtype));
  memset(p, 0, sizeof *p);
  const char *r = mt_node_attr_string(c->node, "reduction", "mean");
  if (strcmp(r, "none") == 0) {
    p->reduction = MT_LOSS_NONE;
  } else if (strcmp(r, "sum") == 0) {
    p->reduction = MT_LOSS_SUM;
  } else if (strcmp(r, "mean") == 0) {
    p->reduction = MT_LOSS_MEAN;
  } else {
    return MT_ERR(INVALID_ARGUMENT, "reduction '%s' is none of 'none', 'sum', 'mean'", r);
  }
  const mt_attr *ig = mt_node_attr(c->node, "ignore_index");
  p->has_ignore = ig != NULL;
  p->ignore_index = ig ? ig->i : 0;
  p->log_softmax = strcmp(c->node->op_type, "SoftmaxCrossEntropyLoss") == 0;
  return NULL;
}

MT_MUST_USE static mt_status *infer_loss(mt_op_ctx *c) {
  mt_kc_nll_loss p;
  MT_RETURN_IF_ERROR_PLAIN(loss_call(c, &p));
  const mt_tensor *x = mt_op_input(c, 0), *t = mt_op_input(c, 1);
  if (p.reduction == MT_LOSS_NONE)
    mt_op_set_output(c, 0, x->dtype, t->rank, t->dims);
  else
    mt_op_set_output(c, 0, x->dtype, 0, NULL);
  if (p.log_softmax && mt_op_has_output(c, 1)) mt_op_same_as_input(c, 1, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_loss(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_NLL_LOSS;
  return loss_call(c, &call->params.nll_loss);
}

const mt_op_def mt_ops_loss[] = {
    {.op_type = "NegativeLogLikelihoodLoss",
     .min_inputs = 2,
     .max_inputs = 3,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_loss,
     .lower = lower_loss},
    {.op_type = "SoftmaxCrossEntropyLoss",
     .min_inputs = 2,
     .max_inputs = 3,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_loss,
     .lower = lower_loss},
    {0},
};
