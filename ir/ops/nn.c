/* ONNX ops of the nn family: the table, float32 staging helpers, Gemm and MatMul.
 *
 * Convolution and pooling live in nn_conv.c / nn_pool.c, normalisation and softmax in
 * nn_norm.c, Einsum in nn_einsum.c. Arithmetic is in runtime/cpu (gemm.c, conv.c, pool.c,
 * norm.c, einsum.c). float16 tensors are staged through float32 and rounded once per output
 * element; integer MatMul / Gemm accumulate exactly in int64. */
#include <stdlib.h>
#include <string.h>

#include "ir/ops/nn_internal.h"
#include "runtime/base/checked_math.h"
#include "runtime/cpu/gemm.h"

/* ---------------------------------------------------------------- float32 staging helpers */

static mt_status *alloc_f32(int64_t n, float **out) {
  size_t bytes;
  if (n < 0 || !mt_mul_size((size_t)n, sizeof(float), &bytes))
    return MT_ERR(RESOURCE_EXHAUSTED, "tensor of %lld elements is too large", (long long)n);
  *out = malloc(bytes ? bytes : 1);
  if (!*out) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory staging %zu bytes", bytes);
  return NULL;
}

mt_status *mt_nn_as_f32(const mt_tensor *t, const float **out, float **owned) {
  *owned = NULL;
  if (t->dtype == MT_DTYPE_FLOAT32) {
    *out = t->data;
    return NULL;
  }
  int64_t n = mt_tensor_numel(t);
  float *buf;
  MT_RETURN_IF_ERROR_PLAIN(alloc_f32(n, &buf));
  if (t->dtype == MT_DTYPE_FLOAT16) {
    const uint16_t *h = t->data;
    for (int64_t i = 0; i < n; i++) buf[i] = mt_half_to_float(h[i]);
  } else {
    for (int64_t i = 0; i < n; i++) buf[i] = (float)mt_tensor_get_f64(t, i);
  }
  *out = buf;
  *owned = buf;
  return NULL;
}

mt_status *mt_nn_out_f32(mt_tensor *t, float **out, float **owned) {
  *owned = NULL;
  if (t->dtype == MT_DTYPE_FLOAT32) {
    *out = t->data;
    return NULL;
  }
  MT_RETURN_IF_ERROR_PLAIN(alloc_f32(mt_tensor_numel(t), owned));
  *out = *owned;
  return NULL;
}

void mt_nn_finish_f32(mt_tensor *t, float *owned) {
  if (!owned) return;
  int64_t n = mt_tensor_numel(t);
  if (t->dtype == MT_DTYPE_FLOAT16) {
    uint16_t *h = t->data;
    for (int64_t i = 0; i < n; i++) h[i] = mt_float_to_half(owned[i]);
  } else {
    for (int64_t i = 0; i < n; i++) mt_tensor_set_f64(t, i, owned[i]);
  }
  free(owned);
}

mt_status *mt_nn_require_float(const mt_tensor *t, const char *what) {
  if (t->dtype == MT_DTYPE_FLOAT32 || t->dtype == MT_DTYPE_FLOAT16) return NULL;
  return MT_ERR(UNIMPLEMENTED, "%s: dtype %s is not supported (float32 or float16 only)", what,
                mt_dtype_name(t->dtype));
}

static bool is_int_matmul_type(mt_dtype dt) {
  return dt == MT_DTYPE_INT32 || dt == MT_DTYPE_INT64 || dt == MT_DTYPE_INT8 ||
         dt == MT_DTYPE_UINT8;
}

static mt_status *require_matmul_types(const mt_tensor *a, const mt_tensor *b) {
  if (a->dtype != b->dtype)
    return MT_ERR(INVALID_ARGUMENT, "input dtypes differ: %s vs %s", mt_dtype_name(a->dtype),
                  mt_dtype_name(b->dtype));
  if (a->dtype == MT_DTYPE_FLOAT32 || a->dtype == MT_DTYPE_FLOAT16 || is_int_matmul_type(a->dtype))
    return NULL;
  return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(a->dtype));
}

/* ---------------------------------------------------------------- Gemm */

static mt_status *gemm_infer(mt_op_ctx *ctx) {
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

/* Integer Gemm: exact int64 products, alpha / beta applied in double. */
static void gemm_int(const mt_tensor *a, const mt_tensor *b, const mt_tensor *c, bool ta, bool tb,
                     int64_t m, int64_t n, int64_t k, double alpha, double beta, mt_tensor *y) {
  int64_t cm = c && c->rank == 2 ? c->dims[0] : 1, cn = c && c->rank >= 1 ? c->dims[c->rank - 1] : 1;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      int64_t acc = 0;
      for (int64_t p = 0; p < k; p++) {
        int64_t av = mt_tensor_get_i64(a, ta ? p * m + i : i * k + p);
        int64_t bv = mt_tensor_get_i64(b, tb ? j * k + p : p * n + j);
        acc += av * bv;
      }
      double v = alpha * (double)acc;
      if (c && beta != 0.0)
        v += beta * (double)mt_tensor_get_i64(c, (cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j));
      mt_tensor_set_f64(y, i * n + j, v);
    }
}

static mt_status *gemm_run(mt_op_ctx *ctx) {
  const mt_tensor *a = mt_op_input(ctx, 0), *b = mt_op_input(ctx, 1), *c = mt_op_input(ctx, 2);
  mt_tensor *y = &ctx->outputs[0];
  bool ta = mt_node_attr_int(ctx->node, "transA", 0) != 0;
  bool tb = mt_node_attr_int(ctx->node, "transB", 0) != 0;
  float alpha = mt_node_attr_float(ctx->node, "alpha", 1.0f);
  float beta = mt_node_attr_float(ctx->node, "beta", 1.0f);
  int64_t m = y->dims[0], n = y->dims[1], k = ta ? a->dims[0] : a->dims[1];
  if (is_int_matmul_type(a->dtype)) {
    gemm_int(a, b, c, ta, tb, m, n, k, alpha, beta, y);
    return NULL;
  }
  const float *af, *bf, *cf = NULL;
  float *a_own = NULL, *b_own = NULL, *c_own = NULL, *yf, *y_own = NULL;
  mt_status *st = mt_nn_as_f32(a, &af, &a_own);
  if (!st) st = mt_nn_as_f32(b, &bf, &b_own);
  if (!st && c && beta != 0.0f) st = mt_nn_as_f32(c, &cf, &c_own);
  if (!st) st = mt_nn_out_f32(y, &yf, &y_own);
  if (!st) {
    if (cf) {
      /* ONNX Runtime skips C entirely when beta == 0; so do we (a NaN in C stays out). */
      int64_t cm = c->rank == 2 ? c->dims[0] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
      for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
          yf[i * n + j] = beta * cf[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
    } else {
      memset(yf, 0, (size_t)(m * n) * sizeof(float));
    }
    st = mt_cpu_sgemm(ta, tb, m, n, k, alpha, af, ta ? m : k, bf, tb ? k : n, yf, n);
  }
  if (!st) mt_nn_finish_f32(y, y_own);
  else free(y_own);
  free(a_own);
  free(b_own);
  free(c_own);
  return st;
}

/* ---------------------------------------------------------------- MatMul */

/* numpy.matmul shapes: 1-D operands are promoted ([K] -> [1, K] for A, [K, 1] for B) and the
 * promoted dim dropped from the result; leading dims broadcast. */
typedef struct matmul_shape {
  int64_t m, n, k;
  int nb; /* broadcast batch rank */
  int64_t batch[MT_MAX_RANK], a_batch[MT_MAX_RANK], b_batch[MT_MAX_RANK]; /* right-aligned, 1-padded */
  int out_rank;
  int64_t out[MT_MAX_RANK];
} matmul_shape;

static mt_status *matmul_shape_of(const mt_tensor *a, const mt_tensor *b, matmul_shape *s) {
  if (a->rank < 1 || b->rank < 1)
    return MT_ERR(INVALID_ARGUMENT, "MatMul operands must have rank >= 1, got %d and %d", a->rank,
                  b->rank);
  s->m = a->rank == 1 ? 1 : a->dims[a->rank - 2];
  s->k = a->dims[a->rank - 1];
  int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  s->n = b->rank == 1 ? 1 : b->dims[b->rank - 1];
  if (s->k >= 0 && kb >= 0 && s->k != kb)
    return MT_ERR(INVALID_ARGUMENT, "inner dims differ: %lld vs %lld", (long long)s->k,
                  (long long)kb);
  int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
  MT_RETURN_IF_ERROR_PLAIN(mt_broadcast_shapes(ra, a->dims, rb, b->dims, &s->nb, s->batch));
  for (int i = 0; i < s->nb; i++) {
    s->a_batch[i] = i < s->nb - ra ? 1 : a->dims[i - (s->nb - ra)];
    s->b_batch[i] = i < s->nb - rb ? 1 : b->dims[i - (s->nb - rb)];
  }
  int r = 0;
  for (int i = 0; i < s->nb; i++) s->out[r++] = s->batch[i];
  if (a->rank > 1) s->out[r++] = s->m;
  if (b->rank > 1) s->out[r++] = s->n;
  s->out_rank = r;
  return NULL;
}

static mt_status *matmul_infer(mt_op_ctx *ctx) {
  const mt_tensor *a = mt_op_input(ctx, 0), *b = mt_op_input(ctx, 1);
  MT_RETURN_IF_ERROR_PLAIN(require_matmul_types(a, b));
  matmul_shape s;
  MT_RETURN_IF_ERROR_PLAIN(matmul_shape_of(a, b, &s));
  if (s.out_rank > MT_MAX_RANK) return MT_ERR(OUT_OF_RANGE, "result rank exceeds %d", MT_MAX_RANK);
  mt_op_set_output(ctx, 0, a->dtype, s.out_rank, s.out);
  return NULL;
}

/* Offsets of batch entry `bi` into A and B (in matrices), honouring broadcast. */
static void batch_offsets(const matmul_shape *s, int64_t bi, int64_t *a_off, int64_t *b_off) {
  int64_t ao = 0, bo = 0, am = 1, bm = 1;
  for (int d = s->nb - 1; d >= 0; d--) {
    int64_t idx = bi % s->batch[d];
    bi /= s->batch[d];
    if (s->a_batch[d] != 1) ao += idx * am;
    if (s->b_batch[d] != 1) bo += idx * bm;
    am *= s->a_batch[d];
    bm *= s->b_batch[d];
  }
  *a_off = ao;
  *b_off = bo;
}

static mt_status *matmul_run(mt_op_ctx *ctx) {
  const mt_tensor *a = mt_op_input(ctx, 0), *b = mt_op_input(ctx, 1);
  mt_tensor *y = &ctx->outputs[0];
  matmul_shape s;
  MT_RETURN_IF_ERROR_PLAIN(matmul_shape_of(a, b, &s));
  int64_t nbatch = mt_shape_numel(s.nb, s.batch), b_numel = mt_shape_numel(s.nb, s.b_batch);
  int64_t mk = s.m * s.k, kn = s.k * s.n, mn = s.m * s.n;
  if (is_int_matmul_type(a->dtype)) {
    for (int64_t bi = 0; bi < nbatch; bi++) {
      int64_t ao, bo;
      batch_offsets(&s, bi, &ao, &bo);
      for (int64_t i = 0; i < s.m; i++)
        for (int64_t j = 0; j < s.n; j++) {
          int64_t acc = 0;
          for (int64_t p = 0; p < s.k; p++)
            acc += mt_tensor_get_i64(a, ao * mk + i * s.k + p) *
                   mt_tensor_get_i64(b, bo * kn + p * s.n + j);
          mt_tensor_set_f64(y, bi * mn + i * s.n + j, (double)acc);
        }
    }
    return NULL;
  }
  const float *af, *bf;
  float *a_own = NULL, *b_own = NULL, *yf, *y_own = NULL;
  mt_status *st = mt_nn_as_f32(a, &af, &a_own);
  if (!st) st = mt_nn_as_f32(b, &bf, &b_own);
  if (!st) st = mt_nn_out_f32(y, &yf, &y_own);
  if (!st) {
    memset(yf, 0, (size_t)(nbatch * mn) * sizeof(float));
    if (b_numel == 1) {
      /* B is shared by every batch entry: one GEMM over all of A's rows. */
      st = mt_cpu_sgemm(false, false, nbatch * s.m, s.n, s.k, 1.0f, af, s.k, bf, s.n, yf, s.n);
    } else {
      for (int64_t bi = 0; bi < nbatch && !st; bi++) {
        int64_t ao, bo;
        batch_offsets(&s, bi, &ao, &bo);
        st = mt_cpu_sgemm(false, false, s.m, s.n, s.k, 1.0f, af + ao * mk, s.k, bf + bo * kn, s.n,
                          yf + bi * mn, s.n);
      }
    }
  }
  if (!st) mt_nn_finish_f32(y, y_own);
  else free(y_own);
  free(a_own);
  free(b_own);
  return st;
}

/* ---------------------------------------------------------------- table */

const mt_op_def mt_ops_nn[] = {
    {.op_type = "Gemm", .min_inputs = 2, .max_inputs = 3, .pattern = MT_PATTERN_OUT_FUSABLE,
     .traits = MT_TRAIT_GEMM, .infer = gemm_infer, .run = gemm_run,
     .work = mt_nn_gemm_work},
    {.op_type = "MatMul", .min_inputs = 2, .max_inputs = 2, .pattern = MT_PATTERN_OUT_FUSABLE,
     .traits = MT_TRAIT_GEMM, .infer = matmul_infer, .run = matmul_run,
     .work = mt_nn_gemm_work},
    {.op_type = "Einsum", .min_inputs = 1, .max_inputs = -1, .pattern = MT_PATTERN_OPAQUE,
     .infer = mt_nn_einsum_infer, .run = mt_nn_einsum_run,
     .node_pattern = mt_nn_einsum_pattern, .work = mt_nn_einsum_work},
    {.op_type = "Conv", .min_inputs = 2, .max_inputs = 3, .pattern = MT_PATTERN_OUT_FUSABLE,
     .traits = MT_TRAIT_CONV, .infer = mt_nn_conv_infer, .run = mt_nn_conv_run,
     .work = mt_nn_conv_work},
    {.op_type = "ConvTranspose", .min_inputs = 2, .max_inputs = 3,
     .pattern = MT_PATTERN_OUT_FUSABLE, .traits = MT_TRAIT_CONV,
     .infer = mt_nn_conv_transpose_infer, .run = mt_nn_conv_transpose_run,
     .work = mt_nn_conv_transpose_work},
    {.op_type = "MaxPool", .min_inputs = 1, .max_inputs = 1, .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_POOL | MT_TRAIT_WINDOWED, .infer = mt_nn_maxpool_infer, .run = mt_nn_maxpool_run,
     .work = mt_nn_pool_work},
    {.op_type = "AveragePool", .min_inputs = 1, .max_inputs = 1, .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_POOL | MT_TRAIT_WINDOWED, .infer = mt_nn_avgpool_infer, .run = mt_nn_avgpool_run,
     .work = mt_nn_pool_work},
    {.op_type = "GlobalMaxPool", .min_inputs = 1, .max_inputs = 1, .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_POOL, .infer = mt_nn_global_pool_infer, .run = mt_nn_global_maxpool_run},
    {.op_type = "GlobalAveragePool", .min_inputs = 1, .max_inputs = 1,
     .pattern = MT_PATTERN_REDUCTION, .traits = MT_TRAIT_POOL, .infer = mt_nn_global_pool_infer,
     .run = mt_nn_global_avgpool_run},
    {.op_type = "Softmax", .min_inputs = 1, .max_inputs = 1, .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_ROWWISE, .infer = mt_nn_softmax_infer, .run = mt_nn_softmax_run,
     .work = mt_nn_softmax_work},
    {.op_type = "LogSoftmax", .min_inputs = 1, .max_inputs = 1, .pattern = MT_PATTERN_REDUCTION,
     .traits = MT_TRAIT_ROWWISE, .infer = mt_nn_softmax_infer, .run = mt_nn_logsoftmax_run,
     .work = mt_nn_softmax_work},
    {.op_type = "BatchNormalization", .min_inputs = 5, .max_inputs = 5,
     .pattern = MT_PATTERN_BROADCAST, .traits = MT_TRAIT_FLOAT_MATH | MT_TRAIT_PER_CHANNEL_PARAMS,
     .infer = mt_nn_batchnorm_infer, .run = mt_nn_batchnorm_run,
     .unsupported_reason = mt_nn_batchnorm_unsupported,
     .node_pattern = mt_nn_batchnorm_pattern, .work = mt_nn_batchnorm_work},
    {.op_type = "InstanceNormalization", .min_inputs = 3, .max_inputs = 3,
     .pattern = MT_PATTERN_REDUCTION, .infer = mt_nn_instancenorm_infer,
     .run = mt_nn_instancenorm_run,
     .work = mt_nn_norm_work},
    {.op_type = "LayerNormalization", .min_inputs = 2, .max_inputs = 3,
     .pattern = MT_PATTERN_REDUCTION, .traits = MT_TRAIT_ROWWISE, .infer = mt_nn_layernorm_infer, .run = mt_nn_layernorm_run,
     .unsupported_reason = mt_nn_layernorm_unsupported,
     .work = mt_nn_norm_work},
    {0},
};
