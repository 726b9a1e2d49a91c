/* Convolution kernels for the CPU reference path: Conv and ConvTranspose over any number of
 * spatial dims, in float32, lowered to im2col / col2im around the SGEMM of gemm.h.
 *
 * Layout is NC<spatial> row-major. Weights are [C_out, C_in/group, k...] for Conv and
 * [C_in, C_out/group, k...] for ConvTranspose, as in ONNX. All loops are sequential with a fixed
 * summation order, so results are deterministic. */
#ifndef MT_CPU_CONV_H
#define MT_CPU_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

#define MT_CONV_MAX_SPATIAL (MT_MAX_RANK - 2)

/* Sliding-window geometry in the forward-convolution sense: `in` is the image that windows slide
 * over (Conv's input, ConvTranspose's output, a pool's input) and `out` the window positions
 * (Conv's output, ConvTranspose's input, a pool's output). Window tap t of output position o
 * along dim d reads image index o * stride[d] - pad_begin[d] + t * dilation[d]. */
typedef struct mt_conv_geom {
  int nsp; /* number of spatial dims, 1..MT_CONV_MAX_SPATIAL */
  int64_t in[MT_CONV_MAX_SPATIAL];
  int64_t out[MT_CONV_MAX_SPATIAL];
  int64_t kernel[MT_CONV_MAX_SPATIAL];
  int64_t stride[MT_CONV_MAX_SPATIAL];
  int64_t dilation[MT_CONV_MAX_SPATIAL];
  int64_t pad_begin[MT_CONV_MAX_SPATIAL];
  int64_t pad_end[MT_CONV_MAX_SPATIAL]; /* used by pooling's count_include_pad only */
} mt_conv_geom;

int64_t mt_conv_geom_in_size(const mt_conv_geom *g);     /* product of in[] */
int64_t mt_conv_geom_out_size(const mt_conv_geom *g);    /* product of out[] */
int64_t mt_conv_geom_kernel_size(const mt_conv_geom *g); /* product of kernel[] */

/* y[batch, c_out, out...] = conv(x[batch, c_in, in...], w[c_out, c_in/group, k...]) + bias.
 * bias may be NULL. y is fully overwritten. */
MT_MUST_USE mt_status *mt_cpu_conv_f32(const mt_conv_geom *g, int64_t batch, int64_t c_in,
                                       int64_t c_out, int64_t group, const float *x, const float *w,
                                       const float *bias, float *y);

/* y[batch, c_out, in...] = conv_transpose(x[batch, c_in, out...], w[c_in, c_out/group, k...])
 * + bias, with the geometry in the forward sense (g->in is y's spatial shape, g->out is x's).
 * bias may be NULL. y is fully overwritten. */
MT_MUST_USE mt_status *mt_cpu_conv_transpose_f32(const mt_conv_geom *g, int64_t batch, int64_t c_in,
                                                 int64_t c_out, int64_t group, const float *x,
                                                 const float *w, const float *bias, float *y);

#endif
