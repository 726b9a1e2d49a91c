/* The newest opsets' ops: SwiGLU (opset 28), BitCast (26) and TensorScatter (24), lowered to
 * MT_KERNEL_SWIGLU / MT_KERNEL_BITCAST / MT_KERNEL_TENSOR_SCATTER
 * (runtime/cpu/kernel_call_newops.c). Each runs as its own kernel (pattern opaque); every shape
 * check happens here so the kernel only indexes. */
#include <string.h>

#include "ir/op.h"

/* ---------------------------------------------------------------- SwiGLU */

MT_MUST_USE static mt_status *swiglu_call(const mt_op_ctx *c, mt_kc_swiglu *p) {
  const mt_tensor *a = mt_op_input(c, 0), *b = mt_op_input(c, 1);
  if (!a || !b) return MT_ERR(INVALID_ARGUMENT, "expected A and B");
  if (!mt_dtype_is_float_any(a->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(a->dtype));
  if (b->dtype != a->dtype)
    return MT_ERR(INVALID_ARGUMENT, "A is %s but B is %s", mt_dtype_name(a->dtype),
                  mt_dtype_name(b->dtype));
  /* The spec applies no broadcasting: A and B have one shape. */
  bool same = a->rank == b->rank;
  for (int d = 0; same && d < a->rank; d++) same = a->dims[d] == b->dims[d];
  if (!same) return MT_ERR(INVALID_ARGUMENT, "A and B must have the same shape");
  memset(p, 0, sizeof *p);
  p->alpha = mt_node_attr_float(c->node, "alpha", 1.0f);
  return NULL;
}

MT_MUST_USE static mt_status *infer_swiglu(mt_op_ctx *c) {
  mt_kc_swiglu p;
  MT_RETURN_IF_ERROR_PLAIN(swiglu_call(c, &p));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_swiglu(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_SWIGLU;
  return swiglu_call(c, &call->params.swiglu);
}

/* ---------------------------------------------------------------- BitCast */

MT_MUST_USE static mt_status *bitcast_to(const mt_op_ctx *c, mt_dtype *out) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (!x) return MT_ERR(INVALID_ARGUMENT, "expected an input");
  if (!mt_node_attr(c->node, "to")) return MT_ERR(INVALID_ARGUMENT, "attribute 'to' is missing");
  mt_dtype to = (mt_dtype)mt_node_attr_int(c->node, "to", 0);
  /* Sub-byte and complex types have no element size here: refused by name. */
  if (!mt_dtype_supported(x->dtype) || mt_dtype_size(x->dtype) == 0)
    return MT_ERR(UNIMPLEMENTED, "BitCast from %s is not supported", mt_dtype_name(x->dtype));
  if (!mt_dtype_supported(to) || mt_dtype_size(to) == 0)
    return MT_ERR(UNIMPLEMENTED, "BitCast to %s is not supported", mt_dtype_name(to));
  if (mt_dtype_size(to) != mt_dtype_size(x->dtype))
    return MT_ERR(INVALID_ARGUMENT, "BitCast from %s to %s changes the bit width",
                  mt_dtype_name(x->dtype), mt_dtype_name(to));
  *out = to;
  return NULL;
}

MT_MUST_USE static mt_status *infer_bitcast(mt_op_ctx *c) {
  mt_dtype to;
  MT_RETURN_IF_ERROR_PLAIN(bitcast_to(c, &to));
  const mt_tensor *x = mt_op_input(c, 0);
  mt_op_set_output(c, 0, to, x->rank, x->dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_bitcast(const mt_op_ctx *c, mt_kernel_call *call) {
  mt_dtype to;
  MT_RETURN_IF_ERROR_PLAIN(bitcast_to(c, &to));
  call->kind = MT_KERNEL_BITCAST;
  return NULL;
}

/* ---------------------------------------------------------------- TensorScatter */

MT_MUST_USE static mt_status *tensor_scatter_call(const mt_op_ctx *c, mt_kc_tensor_scatter *p) {
  const mt_tensor *past = mt_op_input(c, 0), *upd = mt_op_input(c, 1), *idx = mt_op_input(c, 2);
  if (!past || !upd) return MT_ERR(INVALID_ARGUMENT, "expected past_cache and update");
  if (!mt_dtype_supported(past->dtype) || mt_dtype_size(past->dtype) == 0 ||
      mt_dtype_is_container(past->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(past->dtype));
  if (upd->dtype != past->dtype)
    return MT_ERR(INVALID_ARGUMENT, "update is %s but past_cache is %s", mt_dtype_name(upd->dtype),
                  mt_dtype_name(past->dtype));
  if (past->rank < 2 || upd->rank != past->rank)
    return MT_ERR(INVALID_ARGUMENT, "past_cache and update must share a rank >= 2");
  int axis;
  MT_RETURN_IF_ERROR(mt_normalize_axis(mt_node_attr_int(c->node, "axis", -2), past->rank, &axis),
                     "axis");
  if (axis == 0) return MT_ERR(INVALID_ARGUMENT, "axis must not be the batch axis 0");
  for (int d = 0; d < past->rank; d++)
    if (d != axis && upd->dims[d] != past->dims[d])
      return MT_ERR(INVALID_ARGUMENT, "update differs from past_cache in dim %d", d);
  const char *mode = mt_node_attr_string(c->node, "mode", "linear");
  bool circular = strcmp(mode, "circular") == 0;
  if (!circular && strcmp(mode, "linear") != 0)
    return MT_ERR(INVALID_ARGUMENT, "mode '%s' is neither 'linear' nor 'circular'", mode);
  memset(p, 0, sizeof *p);
  p->batch = past->dims[0];
  p->outer = mt_shape_numel(axis, past->dims);
  p->max_seq = past->dims[axis];
  p->seq = upd->dims[axis];
  p->inner = mt_shape_numel(past->rank - axis - 1, past->dims + axis + 1);
  p->circular = circular;
  p->has_indices = idx != NULL;
  if (p->seq > p->max_seq)
    return MT_ERR(INVALID_ARGUMENT, "update has %lld rows on axis %d, the cache %lld",
                  (long long)p->seq, axis, (long long)p->max_seq);
  if (circular && p->max_seq == 0)
    return MT_ERR(INVALID_ARGUMENT, "circular mode needs a non-empty sequence axis");
  if (idx && (idx->dtype != MT_DTYPE_INT64 || idx->rank != 1 || idx->dims[0] != p->batch))
    return MT_ERR(INVALID_ARGUMENT, "write_indices must be int64 [%lld]", (long long)p->batch);
  return NULL;
}

MT_MUST_USE static mt_status *infer_tensor_scatter(mt_op_ctx *c) {
  mt_kc_tensor_scatter p;
  MT_RETURN_IF_ERROR_PLAIN(tensor_scatter_call(c, &p));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_tensor_scatter(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_TENSOR_SCATTER;
  return tensor_scatter_call(c, &call->params.tensor_scatter);
}

/* ---------------------------------------------------------------- the table */

const mt_op_def mt_ops_newops[] = {
    {.op_type = "SwiGLU",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_OPAQUE,
     .traits = MT_TRAIT_TRANSCENDENTAL,
     .infer = infer_swiglu,
     .lower = lower_swiglu},
    {.op_type = "BitCast",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_bitcast,
     .lower = lower_bitcast},
    {.op_type = "TensorScatter",
     .min_inputs = 2,
     .max_inputs = 3,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_tensor_scatter,
     .lower = lower_tensor_scatter},
    {0},
};
