/* Normalisation kernels (see norm.h). */
#include "runtime/cpu/norm.h"

#include <math.h>

void mt_cpu_softmax_f32(const float *x, float *y, int64_t outer, int64_t n, int64_t inner,
                        bool log_softmax) {
  if (n <= 0) return;
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t in = 0; in < inner; in++) {
      const float *xr = x + o * n * inner + in;
      float *yr = y + o * n * inner + in;
      float mx = xr[0];
      for (int64_t i = 1; i < n; i++)
        if (xr[i * inner] > mx) mx = xr[i * inner];
      double sum = 0.0;
      if (log_softmax) {
        for (int64_t i = 0; i < n; i++) sum += expf(xr[i * inner] - mx);
        float lse = (float)log(sum);
        for (int64_t i = 0; i < n; i++) yr[i * inner] = xr[i * inner] - mx - lse;
      } else {
        for (int64_t i = 0; i < n; i++) {
          float e = expf(xr[i * inner] - mx);
          yr[i * inner] = e;
          sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int64_t i = 0; i < n; i++) yr[i * inner] *= inv;
      }
    }
  }
}

void mt_cpu_batchnorm_f32(const float *x, float *y, int64_t batch, int64_t channels, int64_t plane,
                          const float *scale, const float *bias, const float *mean,
                          const float *var, float eps, bool per_element) {
  for (int64_t n = 0; n < batch; n++)
    for (int64_t c = 0; c < channels; c++) {
      const float *xp = x + (n * channels + c) * plane;
      float *yp = y + (n * channels + c) * plane;
      if (per_element) {
        for (int64_t i = 0; i < plane; i++) {
          int64_t k = c * plane + i;
          float a = scale[k] / sqrtf(var[k] + eps);
          yp[i] = xp[i] * a + (bias[k] - mean[k] * a);
        }
      } else {
        float a = scale[c] / sqrtf(var[c] + eps);
        float b = bias[c] - mean[c] * a;
        for (int64_t i = 0; i < plane; i++) yp[i] = xp[i] * a + b;
      }
    }
}

void mt_cpu_channel_moments_f32(const float *x, int64_t batch, int64_t channels, int64_t plane,
                                float *mean, float *var) {
  double count = (double)(batch * plane);
  for (int64_t c = 0; c < channels; c++) {
    double sum = 0.0;
    for (int64_t n = 0; n < batch; n++) {
      const float *xp = x + (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; i++) sum += xp[i];
    }
    double mu = count > 0 ? sum / count : 0.0, sq = 0.0;
    for (int64_t n = 0; n < batch; n++) {
      const float *xp = x + (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; i++) sq += (xp[i] - mu) * (xp[i] - mu);
    }
    mean[c] = (float)mu;
    var[c] = count > 0 ? (float)(sq / count) : 0.0f;
  }
}

/* Mean and population variance of n floats. */
static void moments(const float *x, int64_t n, double *mean, double *var) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) sum += x[i];
  double mu = n > 0 ? sum / (double)n : 0.0, sq = 0.0;
  for (int64_t i = 0; i < n; i++) sq += (x[i] - mu) * (x[i] - mu);
  *mean = mu;
  *var = n > 0 ? sq / (double)n : 0.0;
}

void mt_cpu_instancenorm_f32(const float *x, float *y, int64_t batch, int64_t channels,
                             int64_t plane, const float *scale, const float *bias, float eps) {
  for (int64_t n = 0; n < batch; n++)
    for (int64_t c = 0; c < channels; c++) {
      const float *xp = x + (n * channels + c) * plane;
      float *yp = y + (n * channels + c) * plane;
      double mu, var;
      moments(xp, plane, &mu, &var);
      float a = (float)(scale[c] / sqrt(var + eps));
      float b = (float)(bias[c] - mu * a);
      for (int64_t i = 0; i < plane; i++) yp[i] = xp[i] * a + b;
    }
}

void mt_cpu_layernorm_f32(const float *x, float *y, int64_t rows, int64_t n, const float *scale,
                          const float *bias, float eps, float *mean, float *inv_std) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * n;
    float *yr = y + r * n;
    double mu, var;
    moments(xr, n, &mu, &var);
    float m = (float)mu, inv = (float)(1.0 / sqrt(var + eps));
    if (bias) {
      for (int64_t i = 0; i < n; i++) yr[i] = (xr[i] - m) * inv * scale[i] + bias[i];
    } else {
      for (int64_t i = 0; i < n; i++) yr[i] = (xr[i] - m) * inv * scale[i];
    }
    if (mean) mean[r] = m;
    if (inv_std) inv_std[r] = inv;
  }
}
