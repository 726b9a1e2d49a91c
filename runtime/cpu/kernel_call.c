/* The kernel-call dispatcher (see kernel_call.h), with the elementwise and reduction kernel calls.
 * The nn family is in kernel_call_nn.c, data movement and shape kernels in kernel_call_data.c. */
#include "runtime/cpu/kernel_call.h"

#include <math.h>
#include <string.h>

#include "runtime/cpu/cast.h"

static const char *const kind_names[MT_KERNEL_COUNT] = {
    [MT_KERNEL_INVALID] = "invalid",
    [MT_KERNEL_UNARY] = "unary",
    [MT_KERNEL_BINARY] = "binary",
    [MT_KERNEL_VARIADIC] = "variadic",
    [MT_KERNEL_WHERE] = "where",
    [MT_KERNEL_CAST] = "cast",
    [MT_KERNEL_COPY] = "copy",
    [MT_KERNEL_TRANSPOSE] = "transpose",
    [MT_KERNEL_EXPAND] = "expand",
    [MT_KERNEL_TILE] = "tile",
    [MT_KERNEL_DEPTH_TO_SPACE] = "depth_to_space",
    [MT_KERNEL_CONCAT] = "concat",
    [MT_KERNEL_SPLIT] = "split",
    [MT_KERNEL_SLICE] = "slice",
    [MT_KERNEL_GATHER] = "gather",
    [MT_KERNEL_GATHER_ELEMENTS] = "gather_elements",
    [MT_KERNEL_PAD] = "pad",
    [MT_KERNEL_RESIZE] = "resize",
    [MT_KERNEL_SHAPE] = "shape",
    [MT_KERNEL_SIZE] = "size",
    [MT_KERNEL_CONSTANT_OF_SHAPE] = "constant_of_shape",
    [MT_KERNEL_RANGE] = "range",
    [MT_KERNEL_NONZERO] = "nonzero",
    [MT_KERNEL_GEMM] = "gemm",
    [MT_KERNEL_MATMUL] = "matmul",
    [MT_KERNEL_CONV] = "conv",
    [MT_KERNEL_CONV_TRANSPOSE] = "conv_transpose",
    [MT_KERNEL_POOL] = "pool",
    [MT_KERNEL_GLOBAL_POOL] = "global_pool",
    [MT_KERNEL_SOFTMAX] = "softmax",
    [MT_KERNEL_BATCHNORM] = "batchnorm",
    [MT_KERNEL_INSTANCENORM] = "instancenorm",
    [MT_KERNEL_LAYERNORM] = "layernorm",
    [MT_KERNEL_EINSUM] = "einsum",
    [MT_KERNEL_REDUCE] = "reduce",
    [MT_KERNEL_ARG_REDUCE] = "arg_reduce",
    [MT_KERNEL_TOPK] = "topk",
    [MT_KERNEL_CUMSUM] = "cumsum",
    [MT_KERNEL_HARDMAX] = "hardmax",
    [MT_KERNEL_GATHER_ND] = "gather_nd",
    [MT_KERNEL_SCATTER_ND] = "scatter_nd",
    [MT_KERNEL_SCATTER_ELEMENTS] = "scatter_elements",
    [MT_KERNEL_ONE_HOT] = "one_hot",
    [MT_KERNEL_TRILU] = "trilu",
    [MT_KERNEL_EYE_LIKE] = "eye_like",
    [MT_KERNEL_REVERSE_SEQUENCE] = "reverse_sequence",
    [MT_KERNEL_NORMALIZE] = "normalize",
    [MT_KERNEL_LP_POOL] = "lp_pool",
    [MT_KERNEL_COMPRESS] = "compress",
    [MT_KERNEL_NLL_LOSS] = "nll_loss",
    [MT_KERNEL_WINDOW] = "window",
    [MT_KERNEL_LRN] = "lrn",
    [MT_KERNEL_QUANTIZE] = "quantize",
    [MT_KERNEL_DEQUANTIZE] = "dequantize",
    [MT_KERNEL_DYN_QUANTIZE] = "dynamic_quantize",
    [MT_KERNEL_QMATMUL] = "qmatmul",
    [MT_KERNEL_QCONV] = "qconv",
    [MT_KERNEL_RNN] = "rnn",
    [MT_KERNEL_DFT] = "dft",
    [MT_KERNEL_STFT] = "stft",
    [MT_KERNEL_MEL_WEIGHT] = "mel_weight",
    [MT_KERNEL_NMS] = "nms",
    [MT_KERNEL_ROI_ALIGN] = "roi_align",
    [MT_KERNEL_GRID_SAMPLE] = "grid_sample",
    [MT_KERNEL_MAX_UNPOOL] = "max_unpool",
    [MT_KERNEL_DET] = "det",
    [MT_KERNEL_UNIQUE] = "unique",
    [MT_KERNEL_CUMPROD] = "cumprod",
    [MT_KERNEL_AFFINE_GRID] = "affine_grid",
    [MT_KERNEL_COL2IM] = "col2im",
    [MT_KERNEL_ROTARY] = "rotary",
    [MT_KERNEL_ATTENTION] = "attention",
    [MT_KERNEL_CAST_NO_SATURATE] = "cast_no_saturate",
    [MT_KERNEL_SWIGLU] = "swiglu",
    [MT_KERNEL_BITCAST] = "bitcast",
    [MT_KERNEL_TENSOR_SCATTER] = "tensor_scatter",
    [MT_KERNEL_DEFORM_CONV] = "deform_conv",
    [MT_KERNEL_TFIDF] = "tfidf",
    [MT_KERNEL_CAUSAL_CONV] = "causal_conv",
    [MT_KERNEL_LINEAR_ATTN] = "linear_attn",
    [MT_KERNEL_CAST_E8M0_DOWN] = "cast_e8m0_down",
    [MT_KERNEL_CAST_E8M0_NEAREST] = "cast_e8m0_nearest",
    [MT_KERNEL_CAST_E8M0_NEAREST_NO_SATURATE] = "cast_e8m0_nearest_no_saturate",
};

const char *mt_kernel_kind_name(mt_kernel_kind kind) {
  if ((int)kind < 0 || kind >= MT_KERNEL_COUNT || !kind_names[kind]) return "invalid";
  return kind_names[kind];
}

/* ---------------------------------------------------------------- elementwise */

MT_MUST_USE static mt_status *run_unary(const mt_kc_unary *p, int n_inputs,
                                        const mt_tensor *const *inputs, mt_tensor *y) {
  if (!p->bounds_from_inputs) return mt_cpu_ew_unary(p->op, &p->params, inputs[0], y);
  /* Clip from opset 11: the bounds are scalar inputs (absent means unbounded). */
  mt_ew_params params = p->params;
  const mt_tensor *lo = n_inputs > 1 ? inputs[1] : NULL, *hi = n_inputs > 2 ? inputs[2] : NULL;
  if (lo && mt_tensor_numel(lo) == 1) {
    params.lo = mt_tensor_get_f64(lo, 0);
    params.lo_i = mt_tensor_get_i64(lo, 0);
  }
  if (hi && mt_tensor_numel(hi) == 1) {
    params.hi = mt_tensor_get_f64(hi, 0);
    params.hi_i = mt_tensor_get_i64(hi, 0);
  }
  return mt_cpu_ew_unary(p->op, &params, inputs[0], y);
}

/* The operands under the shapes the call gives them (same element counts, other dims). */
MT_MUST_USE static mt_status *run_binary(const mt_kc_binary *p, const mt_tensor *a,
                                         const mt_tensor *b, mt_tensor *y) {
  mt_tensor va = *a, vb = *b;
  va.rank = p->a_rank;
  vb.rank = p->b_rank;
  memcpy(va.dims, p->a_dims, sizeof va.dims);
  memcpy(vb.dims, p->b_dims, sizeof vb.dims);
  if (va.rank < 0 || va.rank > MT_MAX_RANK || vb.rank < 0 || vb.rank > MT_MAX_RANK ||
      mt_tensor_numel(&va) != mt_tensor_numel(a) || mt_tensor_numel(&vb) != mt_tensor_numel(b))
    return MT_ERR(INVALID_ARGUMENT, "binary call views differ from the operands' sizes");
  return mt_cpu_ew_binary(p->op, &va, &vb, y);
}

/* Accumulates left to right in the output: out = in0 (broadcast), then out = op(out, in_k). */
MT_MUST_USE static mt_status *run_variadic(const mt_kc_variadic *p, int n_inputs,
                                           const mt_tensor *const *inputs, mt_tensor *out) {
  MT_RETURN_IF_ERROR(mt_cpu_ew_broadcast_copy(inputs[0], out), "input 0");
  for (int i = 1; i < n_inputs; i++)
    MT_RETURN_IF_ERROR(mt_cpu_ew_binary(p->op, out, inputs[i], out), "input %d", i);
  if (p->mean) return mt_cpu_ew_divide_by(out, n_inputs);
  return NULL;
}

/* ---------------------------------------------------------------- reductions */

static void split_at(const mt_tensor *x, int axis, int64_t *outer, int64_t *n, int64_t *inner) {
  *outer = mt_shape_numel(axis, x->dims);
  *n = x->dims[axis];
  *inner = mt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
}

MT_MUST_USE static mt_status *run_topk(const mt_kc_topk *p, const mt_tensor *x, int n_outputs,
                                       mt_tensor *outputs) {
  if (p->axis < 0 || p->axis >= x->rank) return MT_ERR(INVALID_ARGUMENT, "TopK axis out of range");
  int64_t outer, n, inner;
  split_at(x, p->axis, &outer, &n, &inner);
  if (p->k < 0 || p->k > n)
    return MT_ERR(INVALID_ARGUMENT, "k = %lld out of range for axis %d of size %lld",
                  (long long)p->k, p->axis, (long long)n);
  void *vals = outputs[0].data;
  int64_t *idx = n_outputs > 1 ? (int64_t *)outputs[1].data : NULL;
  if (!mt_cpu_topk(x->dtype, x->data, outer, n, inner, p->k, p->largest, vals, idx))
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory sorting %lld elements", (long long)n);
  return NULL;
}

/* The axis is input 1's value, read here so that lowering needs only shapes. */
MT_MUST_USE static mt_status *run_cumsum(const mt_kc_cumsum *p, int n_inputs,
                                         const mt_tensor *const *inputs, mt_tensor *y) {
  const mt_tensor *x = inputs[0], *a = n_inputs > 1 ? inputs[1] : NULL;
  if (!a || !a->data)
    return MT_ERR(INVALID_ARGUMENT, "input 1 (axis): integer list input has no known value");
  if (a->rank > 1)
    return MT_ERR(INVALID_ARGUMENT, "input 1 (axis): expected a 1-D list, got rank %d", a->rank);
  if (!mt_dtype_is_integer(a->dtype))
    return MT_ERR(INVALID_ARGUMENT, "input 1 (axis): expected an integer list, got %s",
                  mt_dtype_name(a->dtype));
  int64_t n_axis = mt_tensor_numel(a);
  if (n_axis > 1)
    return MT_ERR(OUT_OF_RANGE, "input 1 (axis): list of %lld elements exceeds 1",
                  (long long)n_axis);
  if (n_axis != 1) return MT_ERR(INVALID_ARGUMENT, "input 1 (axis): expected one value, got 0");
  if (x->rank == 0) { /* a scalar is its own running sum */
    memcpy(y->data, x->data, mt_tensor_nbytes(x));
    return NULL;
  }
  int64_t axis = mt_tensor_get_i64(a, 0);
  if (axis < -x->rank || axis >= x->rank)
    return MT_ERR(INVALID_ARGUMENT, "input 1 (axis): axis %lld out of range for rank %d",
                  (long long)axis, x->rank);
  if (axis < 0) axis += x->rank;
  int64_t outer, n, inner;
  split_at(x, (int)axis, &outer, &n, &inner);
  mt_cpu_cumsum(x->dtype, x->data, outer, n, inner, p->exclusive, p->reverse, y->data);
  return NULL;
}

/* ---------------------------------------------------------------- dispatch */

/* Inputs every kind needs: the first one (all kinds read input 0 or its shape), and outputs. */
MT_MUST_USE static mt_status *check_arity(const mt_kernel_call *call, int n_inputs,
                                          const mt_tensor *const *inputs, int n_outputs,
                                          const mt_tensor *outputs) {
  if (n_inputs < 1 || !inputs || !inputs[0])
    return MT_ERR(INVALID_ARGUMENT, "kernel %s: input 0 is missing",
                  mt_kernel_kind_name(call->kind));
  if (n_outputs < 1 || !outputs)
    return MT_ERR(INVALID_ARGUMENT, "kernel %s: no outputs", mt_kernel_kind_name(call->kind));
  /* Only NonZero allocates; only TopK, Split and the recurrent layers (Y) may have their first
   * output omitted. */
  if (call->kind != MT_KERNEL_NONZERO && call->kind != MT_KERNEL_TOPK &&
      call->kind != MT_KERNEL_SPLIT && call->kind != MT_KERNEL_RNN && !outputs[0].data)
    /* Only NonZero, NMS and Unique allocate; only TopK and Split may have their first output
   * omitted. */
    if (call->kind != MT_KERNEL_NONZERO && call->kind != MT_KERNEL_NMS &&
        call->kind != MT_KERNEL_UNIQUE && call->kind != MT_KERNEL_TOPK &&
        call->kind != MT_KERNEL_SPLIT && !outputs[0].data)
      return MT_ERR(INVALID_ARGUMENT, "kernel %s: output 0 has no storage",
                    mt_kernel_kind_name(call->kind));
  return NULL;
}

mt_status *mt_cpu_kernel_run(const mt_kernel_call *call, int n_inputs,
                             const mt_tensor *const *inputs, int n_outputs, mt_tensor *outputs) {
  if (!call) return MT_ERR(INVALID_ARGUMENT, "no kernel call");
  if ((int)call->kind <= MT_KERNEL_INVALID || call->kind >= MT_KERNEL_COUNT)
    return MT_ERR(INVALID_ARGUMENT, "unknown kernel kind %d", (int)call->kind);
  MT_RETURN_IF_ERROR_PLAIN(check_arity(call, n_inputs, inputs, n_outputs, outputs));
  const mt_tensor *x = inputs[0];
  mt_tensor *y = &outputs[0];
  switch (call->kind) {
  case MT_KERNEL_UNARY: return run_unary(&call->params.unary, n_inputs, inputs, y);
  case MT_KERNEL_BINARY:
    if (n_inputs < 2 || !inputs[1]) return MT_ERR(INVALID_ARGUMENT, "expected two inputs");
    return run_binary(&call->params.binary, x, inputs[1], y);
  case MT_KERNEL_VARIADIC: return run_variadic(&call->params.variadic, n_inputs, inputs, y);
  case MT_KERNEL_WHERE:
    if (n_inputs < 3 || !inputs[1] || !inputs[2])
      return MT_ERR(INVALID_ARGUMENT, "expected three inputs");
    return mt_cpu_ew_where(x, inputs[1], inputs[2], y);
  case MT_KERNEL_CAST: return mt_cpu_cast(x, y);
  case MT_KERNEL_CAST_NO_SATURATE: return mt_cpu_cast_sat(x, y, false);
  case MT_KERNEL_CAST_E8M0_DOWN: return mt_cpu_cast_mode(x, y, true, MT_E8M0_ROUND_DOWN);
  case MT_KERNEL_CAST_E8M0_NEAREST: return mt_cpu_cast_mode(x, y, true, MT_E8M0_ROUND_NEAREST);
  case MT_KERNEL_CAST_E8M0_NEAREST_NO_SATURATE:
    return mt_cpu_cast_mode(x, y, false, MT_E8M0_ROUND_NEAREST);
  case MT_KERNEL_REDUCE:
    mt_cpu_reduce(call->params.reduce.op, x->dtype, x->data, x->rank, x->dims,
                  call->params.reduce.axes_mask, y->data);
    return NULL;
  case MT_KERNEL_ARG_REDUCE: {
    const mt_kc_arg_reduce *p = &call->params.arg_reduce;
    if (p->axis < 0 || p->axis >= x->rank || x->dims[p->axis] == 0)
      return MT_ERR(INVALID_ARGUMENT, "arg reduce over axis %d of an empty or smaller input",
                    p->axis);
    int64_t outer, n, inner;
    split_at(x, p->axis, &outer, &n, &inner);
    mt_cpu_arg_reduce(x->dtype, x->data, outer, n, inner, p->is_min, p->select_last,
                      (int64_t *)y->data);
    return NULL;
  }
  case MT_KERNEL_TOPK: return run_topk(&call->params.topk, x, n_outputs, outputs);
  case MT_KERNEL_CUMSUM: return run_cumsum(&call->params.cumsum, n_inputs, inputs, y);
  case MT_KERNEL_GEMM:
  case MT_KERNEL_MATMUL:
  case MT_KERNEL_CONV:
  case MT_KERNEL_CONV_TRANSPOSE:
  case MT_KERNEL_POOL:
  case MT_KERNEL_GLOBAL_POOL:
  case MT_KERNEL_SOFTMAX:
  case MT_KERNEL_BATCHNORM:
  case MT_KERNEL_INSTANCENORM:
  case MT_KERNEL_LAYERNORM:
  case MT_KERNEL_EINSUM: return mt_cpu_kernel_run_nn(call, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_HARDMAX:
  case MT_KERNEL_GATHER_ND:
  case MT_KERNEL_SCATTER_ND:
  case MT_KERNEL_SCATTER_ELEMENTS:
  case MT_KERNEL_ONE_HOT:
  case MT_KERNEL_TRILU:
  case MT_KERNEL_EYE_LIKE:
  case MT_KERNEL_REVERSE_SEQUENCE:
  case MT_KERNEL_COMPRESS:
  case MT_KERNEL_WINDOW: return mt_cpu_kernel_run_index(call, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_NORMALIZE:
  case MT_KERNEL_LRN:
  case MT_KERNEL_LP_POOL: return mt_cpu_kernel_run_norm(call, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_QUANTIZE:
  case MT_KERNEL_DEQUANTIZE:
  case MT_KERNEL_DYN_QUANTIZE:
  case MT_KERNEL_QMATMUL:
  case MT_KERNEL_QCONV: return mt_cpu_kernel_run_quant(call, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_RNN: return mt_cpu_kernel_run_rnn(call, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_DFT:
  case MT_KERNEL_STFT:
  case MT_KERNEL_MEL_WEIGHT:
    return mt_cpu_kernel_run_signal(call, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_ROTARY:
  case MT_KERNEL_ATTENTION:
    return mt_cpu_kernel_run_attention(call, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_NLL_LOSS:
    return mt_cpu_kernel_run_loss(call, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_NMS:
  case MT_KERNEL_ROI_ALIGN:
  case MT_KERNEL_GRID_SAMPLE:
  case MT_KERNEL_MAX_UNPOOL:
  case MT_KERNEL_CUMPROD:
  case MT_KERNEL_AFFINE_GRID:
  case MT_KERNEL_COL2IM:
  case MT_KERNEL_DET: return mt_cpu_kernel_run_vision(call, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_UNIQUE:
    return mt_cpu_kernel_run_unique(call, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_SWIGLU:
  case MT_KERNEL_BITCAST:
  case MT_KERNEL_TENSOR_SCATTER:
  case MT_KERNEL_DEFORM_CONV:
  case MT_KERNEL_TFIDF:
  case MT_KERNEL_CAUSAL_CONV:
  case MT_KERNEL_LINEAR_ATTN:
    return mt_cpu_kernel_run_newops(call, n_inputs, inputs, n_outputs, outputs);
  default: return mt_cpu_kernel_run_data(call, n_inputs, inputs, n_outputs, outputs);
  }
}
