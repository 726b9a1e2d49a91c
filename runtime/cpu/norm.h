/* Normalisation kernels for the CPU reference path, in float32: softmax / log-softmax,
 * batch, instance and layer normalisation. Statistics are accumulated in double in a fixed
 * order, so results are deterministic and close to exact. */
#ifndef MT_CPU_NORM_H
#define MT_CPU_NORM_H

#include <stdbool.h>
#include <stdint.h>

/* x viewed as [outer, n, inner]: y = softmax (or log-softmax) along the middle dim. */
void mt_cpu_softmax_f32(const float *x, float *y, int64_t outer, int64_t n, int64_t inner,
                        bool log_softmax);

/* x viewed as [batch, channels, plane]; per channel c (or, with per_element, per (c, i) for the
 * params laid out as [channels, plane]): y = (x - mean) / sqrt(var + eps) * scale + bias,
 * computed as x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a. */
void mt_cpu_batchnorm_f32(const float *x, float *y, int64_t batch, int64_t channels, int64_t plane,
                          const float *scale, const float *bias, const float *mean,
                          const float *var, float eps, bool per_element);

/* Per-channel mean and (population) variance of x [batch, channels, plane]. */
void mt_cpu_channel_moments_f32(const float *x, int64_t batch, int64_t channels, int64_t plane,
                                float *mean, float *var);

/* x viewed as [batch, channels, plane]: each (n, c) slice normalised over its plane with
 * scale[c], bias[c]. */
void mt_cpu_instancenorm_f32(const float *x, float *y, int64_t batch, int64_t channels,
                             int64_t plane, const float *scale, const float *bias, float eps);

/* x viewed as [rows, n]: each row normalised over n, then * scale[i] + bias[i] (bias may be
 * NULL). mean / inv_std (may be NULL) receive one value per row. */
void mt_cpu_layernorm_f32(const float *x, float *y, int64_t rows, int64_t n, const float *scale,
                          const float *bias, float eps, float *mean, float *inv_std);

#endif
