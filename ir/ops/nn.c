/* ONNX ops of the nn family: the table, dtype checks, Gemm and MatMul.
 *
 * Convolution and pooling live in nn_conv.c / nn_pool.c, normalisation and softmax in
 * nn_norm.c, Einsum in nn_einsum.c. Ops lower to kernel calls that runtime/cpu/kernel_call_nn.c
 * executes (on gemm.c, conv.c, pool.c, norm.c, einsum.c); float16 and bfloat16 tensors are staged through
 * float32 and rounded once per output element; integer MatMul / Gemm accumulate exactly in int64. */
#include "ir/ops/nn_internal.h"
#include "runtime/cpu/gemm.h"

mt_status *mt_nn_require_float(const mt_tensor *t, const char *what) {
  if (mt_dtype_is_float(t->dtype)) return NULL;
  return MT_ERR(UNIMPLEMENTED, "%s: dtype %s is not supported (float32, float16 or bfloat16 only)",
                what, mt_dtype_name(t->dtype));
}

static bool is_int_matmul_type(mt_dtype dt) {
  return dt == MT_DTYPE_INT32 || dt == MT_DTYPE_INT64 || dt == MT_DTYPE_INT8 ||
         dt == MT_DTYPE_UINT8;
}

MT_MUST_USE static mt_status *require_matmul_types(const mt_tensor *a, const mt_tensor *b) {
  if (a->dtype != b->dtype)
    return MT_ERR(INVALID_ARGUMENT, "input dtypes differ: %s vs %s", mt_dtype_name(a->dtype),
                  mt_dtype_name(b->dtype));
  /* float64 in double throughout (runtime/cpu/float64.c), as ONNX Runtime computes it */
  if (mt_dtype_is_float_any(a->dtype) || is_int_matmul_type(a->dtype)) return NULL;
  return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(a->dtype));
}

/* ---------------------------------------------------------------- Gemm */

MT_MUST_USE static mt_status *gemm_infer(mt_op_ctx *ctx) {
  const mt_tensor *a = mt_op_input(ctx, 0), *b = mt_op_input(ctx, 1), *c = mt_op_input(ctx, 2);
  MT_RETURN_IF_ERROR_PLAIN(require_matmul_types(a, b));
  if (a->rank != 2 || b->rank != 2)
    return MT_ERR(INVALID_ARGUMENT, "A and B must be 2-D, got ranks %d and %d", a->rank, b->rank);
  bool ta = mt_node_attr_int(ctx->node, "transA", 0) != 0;
  bool tb = mt_node_attr_int(ctx->node, "transB", 0) != 0;
  int64_t m = ta ? a->dims[1] : a->dims[0], ka = ta ? a->dims[0] : a->dims[1];
  int64_t kb = tb ? b->dims[1] : b->dims[0], n = tb ? b->dims[0] : b->dims[1];
  if (ka >= 0 && kb >= 0 && ka != kb)
    return MT_ERR(INVALID_ARGUMENT, "inner dims differ: A gives K=%lld, B gives K=%lld",
                  (long long)ka, (long long)kb);
  if (c) {
    if (c->rank > 2) return MT_ERR(INVALID_ARGUMENT, "C must have rank <= 2, got %d", c->rank);
    int64_t cm = c->rank == 2 ? c->dims[0] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    if ((cm != 1 && m >= 0 && cm >= 0 && cm != m) || (cn != 1 && n >= 0 && cn >= 0 && cn != n))
      return MT_ERR(INVALID_ARGUMENT, "C of shape [%lld, %lld] does not broadcast to [%lld, %lld]",
                    (long long)cm, (long long)cn, (long long)m, (long long)n);
  }
  int64_t dims[2] = {m, n};
  mt_op_set_output(ctx, 0, a->dtype, 2, dims);
  return NULL;
}

MT_MUST_USE static mt_status *gemm_lower(const mt_op_ctx *ctx, mt_kernel_call *call) {
  call->kind = MT_KERNEL_GEMM;
  mt_kc_gemm *p = &call->params.gemm;
  p->trans_a = mt_node_attr_int(ctx->node, "transA", 0) != 0;
  p->trans_b = mt_node_attr_int(ctx->node, "transB", 0) != 0;
  p->alpha = mt_node_attr_float(ctx->node, "alpha", 1.0f);
  p->beta = mt_node_attr_float(ctx->node, "beta", 1.0f);
  return NULL;
}

/* ---------------------------------------------------------------- MatMul */

MT_MUST_USE static mt_status *matmul_infer(mt_op_ctx *ctx) {
  const mt_tensor *a = mt_op_input(ctx, 0), *b = mt_op_input(ctx, 1);
  MT_RETURN_IF_ERROR_PLAIN(require_matmul_types(a, b));
  mt_matmul_shape s;
  MT_RETURN_IF_ERROR_PLAIN(mt_cpu_matmul_shape(a->rank, a->dims, b->rank, b->dims, &s));
  mt_op_set_output(ctx, 0, a->dtype, s.out_rank, s.out);
  return NULL;
}

MT_MUST_USE static mt_status *matmul_lower(const mt_op_ctx *ctx, mt_kernel_call *call) {
  const mt_tensor *a = mt_op_input(ctx, 0), *b = mt_op_input(ctx, 1);
  mt_matmul_shape s;
  MT_RETURN_IF_ERROR_PLAIN(mt_cpu_matmul_shape(a->rank, a->dims, b->rank, b->dims, &s));
  call->kind = MT_KERNEL_MATMUL;
  return NULL;
}

/* ---------------------------------------------------------------- table */

const mt_op_def mt_ops_nn[] = {
    {.op_type = "Gemm",
     .min_inputs = 2,
     .max_inputs = 3,
     .pattern = MT_PATTERN_OUT_FUSABLE,
     .traits = MT_TRAIT_GEMM,
     .infer = gemm_infer,
     .lower = gemm_lower,
     .work = mt_nn_gemm_work},
    {.op_type = "MatMul",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_OUT_FUSABLE,
     .traits = MT_TRAIT_GEMM,
     .infer = matmul_infer,
     .lower = matmul_lower,
     .work = mt_nn_gemm_work},
    {.op_type = "Einsum",
     .min_inputs = 1,
     .max_inputs = -1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = mt_nn_einsum_infer,
     .lower = mt_nn_einsum_lower,
     .node_pattern = mt_nn_einsum_pattern,
     .work = mt_nn_einsum_work},
    {.op_type = "Conv",
     .min_inputs = 2,
     .max_inputs = 3,
     .pattern = MT_PATTERN_OUT_FUSABLE,
     .traits = MT_TRAIT_CONV,
     .infer = mt_nn_conv_infer,
     .lower = mt_nn_conv_lower,
     .work = mt_nn_conv_work},
    {.op_type = "ConvTranspose",
     .min_inputs = 2,
     .max_inputs = 3,
     .pattern = MT_PATTERN_OUT_FUSABLE,
     .traits = MT_TRAIT_CONV,
     .infer = mt_nn_conv_transpose_infer,
     .lower = mt_nn_conv_transpose_lower,
     .work = mt_nn_conv_transpose_work},
    {.op_type = "MaxPool",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_POOL | MT_TRAIT_WINDOWED,
     .infer = mt_nn_maxpool_infer,
     .lower = mt_nn_maxpool_lower,
     .work = mt_nn_pool_work},
    {.op_type = "AveragePool",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_POOL | MT_TRAIT_WINDOWED,
     .infer = mt_nn_avgpool_infer,
     .lower = mt_nn_avgpool_lower,
     .work = mt_nn_pool_work},
    {.op_type = "GlobalMaxPool",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_POOL,
     .infer = mt_nn_global_pool_infer,
     .lower = mt_nn_global_pool_lower},
    {.op_type = "GlobalAveragePool",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_POOL,
     .infer = mt_nn_global_pool_infer,
     .lower = mt_nn_global_pool_lower},
    {.op_type = "Softmax",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_ROWWISE,
     .infer = mt_nn_softmax_infer,
     .lower = mt_nn_softmax_lower,
     .work = mt_nn_softmax_work},
    {.op_type = "LogSoftmax",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_ROWWISE,
     .infer = mt_nn_softmax_infer,
     .lower = mt_nn_softmax_lower,
     .work = mt_nn_softmax_work},
    {.op_type = "BatchNormalization",
     .min_inputs = 5,
     .max_inputs = 5,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH | MT_TRAIT_PER_CHANNEL_PARAMS,
     .infer = mt_nn_batchnorm_infer,
     .lower = mt_nn_batchnorm_lower,
     .unsupported_reason = mt_nn_batchnorm_unsupported,
     .node_pattern = mt_nn_batchnorm_pattern,
     .work = mt_nn_batchnorm_work},
    {.op_type = "InstanceNormalization",
     .min_inputs = 3,
     .max_inputs = 3,
     .pattern = MT_PATTERN_REDUCTION,
     .infer = mt_nn_instancenorm_infer,
     .lower = mt_nn_instancenorm_lower,
     .work = mt_nn_norm_work},
    {.op_type = "LayerNormalization",
     .min_inputs = 2,
     .max_inputs = 3,
     .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_ROWWISE,
     .infer = mt_nn_layernorm_infer,
     .lower = mt_nn_layernorm_lower,
     .unsupported_reason = mt_nn_layernorm_unsupported,
     .work = mt_nn_norm_work},
    {0},
};
