/* MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool.
 *
 * Window attributes are parsed by nn_conv.c. Values are staged through float32, which is exact
 * for the int8 / uint8 / float16 / bfloat16 inputs MaxPool accepts, so max pooling returns input
 * values bit for bit; float64 MaxPool runs over doubles (runtime/cpu/pool.c). MaxPool's optional Indices output follows ONNX Runtime: flat indices over the
 * whole input tensor, spatially row-major, or column-major with storage_order = 1. */
#include <string.h>

#include "ir/ops/nn_internal.h"

typedef struct pool_plan {
  int64_t planes;
  mt_conv_geom g;
} pool_plan;

MT_MUST_USE static mt_status *pool_plan_make(const mt_op_ctx *ctx, bool is_max, pool_plan *p) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  if (is_max) {
    if (!mt_dtype_is_float_any(x->dtype) && x->dtype != MT_DTYPE_INT8 && x->dtype != MT_DTYPE_UINT8)
      return MT_ERR(UNIMPLEMENTED, "X: dtype %s is not supported", mt_dtype_name(x->dtype));
  } else {
    MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(x, "X"));
  }
  if (x->rank < 3) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 3, got %d", x->rank);
  mt_nn_window win;
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_window_parse(ctx->node, x->rank - 2, NULL, &win));
  /* ONNX (and ONNX Runtime) require each pad to be smaller than the kernel: a window lying wholly
   * in the padding has no element to take the max or average of. */
  for (int d = 0; d < win.nsp; d++)
    for (int side = 0; side < 2; side++)
      if (win.pads[side * win.nsp + d] >= win.kernel[d])
        return MT_ERR(INVALID_ARGUMENT,
                      "pads[%d] = %lld must be smaller than kernel_shape[%d] = %lld",
                      side * win.nsp + d, (long long)win.pads[side * win.nsp + d], d,
                      (long long)win.kernel[d]);
  if (!is_max && ctx->opset < 19) {
    for (int d = 0; d < win.nsp; d++) win.dilation[d] = 1; /* no dilations before opset 19 */
  }
  p->planes = x->dims[0] < 0 || x->dims[1] < 0 ? -1 : x->dims[0] * x->dims[1];
  return mt_nn_window_forward(&win, x->dims + 2, &p->g);
}

static void set_pool_output(mt_op_ctx *ctx, int i, mt_dtype dt, const pool_plan *p) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  int64_t dims[MT_MAX_RANK] = {x->dims[0], x->dims[1]};
  for (int d = 0; d < p->g.nsp; d++) dims[2 + d] = p->g.out[d];
  mt_op_set_output(ctx, i, dt, p->g.nsp + 2, dims);
}

mt_status *mt_nn_maxpool_infer(mt_op_ctx *ctx) {
  pool_plan p;
  MT_RETURN_IF_ERROR_PLAIN(pool_plan_make(ctx, true, &p));
  int64_t so = mt_node_attr_int(ctx->node, "storage_order", 0);
  if (so != 0 && so != 1) return MT_ERR(INVALID_ARGUMENT, "storage_order must be 0 or 1");
  set_pool_output(ctx, 0, mt_op_input(ctx, 0)->dtype, &p);
  if (mt_op_has_output(ctx, 1)) set_pool_output(ctx, 1, MT_DTYPE_INT64, &p);
  return NULL;
}

static void pool_call(const pool_plan *p, bool is_max, mt_kernel_call *call) {
  call->kind = MT_KERNEL_POOL;
  call->params.pool = (mt_kc_pool){.is_max = is_max, .planes = p->planes, .geom = p->g};
}

mt_status *mt_nn_maxpool_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  pool_plan p;
  MT_RETURN_IF_ERROR_PLAIN(pool_plan_make(ctx, true, &p));
  pool_call(&p, true, out_call);
  out_call->params.pool.col_major = mt_node_attr_int(ctx->node, "storage_order", 0) == 1;
  return NULL;
}

mt_status *mt_nn_avgpool_infer(mt_op_ctx *ctx) {
  pool_plan p;
  MT_RETURN_IF_ERROR_PLAIN(pool_plan_make(ctx, false, &p));
  set_pool_output(ctx, 0, mt_op_input(ctx, 0)->dtype, &p);
  return NULL;
}

mt_status *mt_nn_avgpool_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  pool_plan p;
  MT_RETURN_IF_ERROR_PLAIN(pool_plan_make(ctx, false, &p));
  pool_call(&p, false, out_call);
  out_call->params.pool.count_include_pad =
      mt_node_attr_int(ctx->node, "count_include_pad", 0) != 0;
  return NULL;
}

mt_status *mt_nn_global_pool_infer(mt_op_ctx *ctx) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  if (!mt_dtype_is_float(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "X: dtype %s is not supported", mt_dtype_name(x->dtype));
  if (x->rank < 2) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 2, got %d", x->rank);
  int64_t dims[MT_MAX_RANK];
  for (int d = 0; d < x->rank; d++) dims[d] = d < 2 ? x->dims[d] : 1;
  mt_op_set_output(ctx, 0, x->dtype, x->rank, dims);
  return NULL;
}

mt_status *mt_nn_global_pool_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  out_call->kind = MT_KERNEL_GLOBAL_POOL;
  out_call->params.global_pool.is_max = strcmp(ctx->node->op_type, "GlobalMaxPool") == 0;
  return NULL;
}
