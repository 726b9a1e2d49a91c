/* float64 GEMM and softmax (see float64.h). */
#include "runtime/cpu/float64.h"

#include <math.h>

void mt_cpu_dgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                  const double *a, int64_t lda, const double *b, int64_t ldb, double *c,
                  int64_t ldc) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double acc = 0.0;
      for (int64_t p = 0; p < k; p++)
        acc += (trans_a ? a[p * lda + i] : a[i * lda + p]) *
               (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] += alpha * acc;
    }
}

void mt_cpu_softmax_f64(const double *x, double *y, int64_t outer, int64_t n, int64_t inner,
                        bool log_softmax) {
  if (n <= 0) return;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      const double *xr = x + o * n * inner + in;
      double *yr = y + o * n * inner + in;
      double mx = xr[0], sum = 0.0;
      for (int64_t i = 1; i < n; i++)
        if (xr[i * inner] > mx) mx = xr[i * inner];
      if (log_softmax) {
        for (int64_t i = 0; i < n; i++) sum += exp(xr[i * inner] - mx);
        double lse = log(sum);
        for (int64_t i = 0; i < n; i++) yr[i * inner] = xr[i * inner] - mx - lse;
      } else {
        for (int64_t i = 0; i < n; i++) {
          yr[i * inner] = exp(xr[i * inner] - mx);
          sum += yr[i * inner];
        }
        for (int64_t i = 0; i < n; i++) yr[i * inner] /= sum;
      }
    }
}
