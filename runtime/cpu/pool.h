/* Pooling kernels for the CPU reference path: max and average pooling over any number of spatial
 * dims in float32 (other element types are converted by the caller; max is exact for them).
 * The window geometry is the mt_conv_geom of conv.h. Planes are the N*C leading slices. */
#ifndef MT_CPU_POOL_H
#define MT_CPU_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/cpu/conv.h"

/* y[p, out...] = max over the window taps inside the image (padding never wins).
 * When indices is non-NULL it receives, per output, the flat index of the first maximum over
 * the whole input tensor: p * in_size + spatial offset, the spatial offset row-major, or
 * column-major (first dim fastest) when col_major. A window with no tap inside the image yields
 * -FLT_MAX and index -1. */
void mt_cpu_maxpool_f32(const mt_conv_geom *g, int64_t planes, const float *x, float *y,
                        int64_t *indices, bool col_major);
/* The same over float64 (MaxPool of a double tensor keeps its values exactly). */
void mt_cpu_maxpool_f64(const mt_conv_geom *g, int64_t planes, const double *x, double *y,
                        int64_t *indices, bool col_major);

/* y[p, out...] = mean of the window taps. The divisor counts taps inside the image, or with
 * count_include_pad also taps in the explicit padding (never taps beyond pad_end, which ceil
 * mode can produce). Windows with a zero divisor yield 0. */
void mt_cpu_avgpool_f32(const mt_conv_geom *g, int64_t planes, const float *x, float *y,
                        bool count_include_pad);

/* Global pooling: y[p] = max / mean of x[p, 0..plane). */
void mt_cpu_global_maxpool_f32(int64_t planes, int64_t plane, const float *x, float *y);
void mt_cpu_global_avgpool_f32(int64_t planes, int64_t plane, const float *x, float *y);

#endif
