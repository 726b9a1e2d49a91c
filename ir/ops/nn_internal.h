/* Declarations shared by the nn op family's files (nn.c, nn_conv.c, nn_pool.c, nn_norm.c,
 * nn_einsum.c); not part of any public interface. */
#ifndef MT_IR_OPS_NN_INTERNAL_H
#define MT_IR_OPS_NN_INTERNAL_H

#include "ir/op.h"
#include "runtime/cpu/conv.h"

/* Sliding-window attributes shared by Conv, ConvTranspose, MaxPool and AveragePool. */
typedef enum mt_nn_auto_pad {
  MT_NN_PAD_NOTSET,
  MT_NN_PAD_SAME_UPPER,
  MT_NN_PAD_SAME_LOWER,
  MT_NN_PAD_VALID,
} mt_nn_auto_pad;

typedef struct mt_nn_window {
  int nsp;
  int64_t kernel[MT_CONV_MAX_SPATIAL];
  int64_t stride[MT_CONV_MAX_SPATIAL];
  int64_t dilation[MT_CONV_MAX_SPATIAL];
  int64_t pads[2 * MT_CONV_MAX_SPATIAL]; /* begins then ends, as in ONNX */
  mt_nn_auto_pad auto_pad;
  bool ceil_mode;
} mt_nn_window;

/* Reads kernel_shape (falling back to `kernel`, e.g. from the weights, when the attribute is
 * absent; kernel may be NULL for pools, which require the attribute), strides, dilations, pads,
 * auto_pad and ceil_mode for nsp spatial dims. */
MT_MUST_USE mt_status *mt_nn_window_parse(const mt_node *n, int nsp, const int64_t *kernel,
                                          mt_nn_window *w);
/* Forward geometry (Conv, pools) for image sizes `in`: output sizes and effective pads. Unknown
 * (-1) input sizes give unknown output sizes. Errors when a window does not fit. */
MT_MUST_USE mt_status *mt_nn_window_forward(const mt_nn_window *w, const int64_t *in,
                                            mt_conv_geom *g);

/* Error unless t's dtype is float32 or float16. */
MT_MUST_USE mt_status *mt_nn_require_float(const mt_tensor *t, const char *what);

/* Per-family op implementations referenced from the table in nn.c. */
MT_MUST_USE mt_status *mt_nn_conv_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_nn_conv_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_nn_conv_transpose_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_nn_conv_transpose_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);

MT_MUST_USE mt_status *mt_nn_maxpool_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_nn_maxpool_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_nn_avgpool_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_nn_avgpool_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_nn_global_pool_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_nn_global_pool_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);

/* The [outer, n, inner] view of input 0 that Softmax, LogSoftmax and Hardmax normalise along n:
 * before opset 13 the input flattened to 2-D at `axis` (default 1), from 13 the one dim `axis`
 * (default -1). */
MT_MUST_USE mt_status *mt_nn_softmax_layout(const mt_op_ctx *ctx, int64_t *outer, int64_t *n,
                                            int64_t *inner);
MT_MUST_USE mt_status *mt_nn_softmax_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_nn_softmax_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_nn_batchnorm_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_nn_batchnorm_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
const char *mt_nn_batchnorm_unsupported(const mt_node *node);
MT_MUST_USE mt_status *mt_nn_instancenorm_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_nn_instancenorm_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_nn_layernorm_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_nn_layernorm_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
const char *mt_nn_layernorm_unsupported(const mt_node *node);

MT_MUST_USE mt_status *mt_nn_einsum_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_nn_einsum_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
mt_op_pattern mt_nn_einsum_pattern(const mt_node *n);
void mt_nn_einsum_work(const mt_module *m, const mt_node *n, mt_op_work *w);

/* Arithmetic for the cost model (nn_work.c). */
void mt_nn_gemm_work(const mt_module *m, const mt_node *n, mt_op_work *w);
void mt_nn_conv_work(const mt_module *m, const mt_node *n, mt_op_work *w);
void mt_nn_conv_transpose_work(const mt_module *m, const mt_node *n, mt_op_work *w);
void mt_nn_pool_work(const mt_module *m, const mt_node *n, mt_op_work *w);
void mt_nn_softmax_work(const mt_module *m, const mt_node *n, mt_op_work *w);
void mt_nn_norm_work(const mt_module *m, const mt_node *n, mt_op_work *w);
void mt_nn_batchnorm_work(const mt_module *m, const mt_node *n, mt_op_work *w);
mt_op_pattern mt_nn_batchnorm_pattern(const mt_node *n);

#endif
