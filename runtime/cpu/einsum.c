/* Strided gather / reduction kernels (see einsum.h). */
#include "runtime/cpu/einsum.h"

#include <stdbool.h>

/* Advances a row-major odometer; returns false after the last position. Keeps *offset in step
 * with the strides. */
static bool step(int n, const int64_t *dims, const int64_t *strides, int64_t *pos,
                 int64_t *offset) {
  for (int d = n - 1; d >= 0; d--) {
    if (++pos[d] < dims[d]) {
      *offset += strides[d];
      return true;
    }
    *offset -= strides[d] * (dims[d] - 1);
    pos[d] = 0;
  }
  return false;
}

static int64_t numel(int n, const int64_t *dims) {
  int64_t t = 1;
  for (int d = 0; d < n; d++) t *= dims[d];
  return t;
}

/* One template for both element types: ACC is the accumulator type. */
#define MT_STRIDED_SUM_BODY(T, ACC)                                                                \
  int64_t total = numel(nkeep, keep_dims), red_total = numel(nred, red_dims);                     \
  if (total == 0) return;                                                                          \
  int64_t kpos[MT_EINSUM_MAX_DIMS] = {0}, koff = 0;                                                \
  for (int64_t i = 0; i < total; i++) {                                                            \
    ACC acc = 0;                                                                                   \
    if (red_total > 0) {                                                                           \
      int64_t rpos[MT_EINSUM_MAX_DIMS] = {0}, roff = 0;                                            \
      do {                                                                                         \
        acc += (ACC)src[koff + roff];                                                              \
      } while (step(nred, red_dims, red_strides, rpos, &roff));                                    \
    }                                                                                              \
    dst[i] = (T)acc;                                                                               \
    step(nkeep, keep_dims, keep_strides, kpos, &koff);                                             \
  }

void mt_cpu_strided_sum_f32(const float *src, int nkeep, const int64_t *keep_dims,
                            const int64_t *keep_strides, int nred, const int64_t *red_dims,
                            const int64_t *red_strides, float *dst) {
  if (nred == 0) {
    /* Pure gather (a permutation or diagonal): no accumulator round trip. */
    int64_t total = numel(nkeep, keep_dims);
    int64_t kpos[MT_EINSUM_MAX_DIMS] = {0}, koff = 0;
    for (int64_t i = 0; i < total; i++) {
      dst[i] = src[koff];
      step(nkeep, keep_dims, keep_strides, kpos, &koff);
    }
    return;
  }
  MT_STRIDED_SUM_BODY(float, double)
}

void mt_cpu_strided_sum_i64(const int64_t *src, int nkeep, const int64_t *keep_dims,
                            const int64_t *keep_strides, int nred, const int64_t *red_dims,
                            const int64_t *red_strides, int64_t *dst) {
  MT_STRIDED_SUM_BODY(int64_t, uint64_t)
}

void mt_cpu_batched_matmul_i64(int64_t batch, int64_t m, int64_t n, int64_t k, const int64_t *a,
                               const int64_t *b, int64_t *c) {
  for (int64_t bi = 0; bi < batch; bi++) {
    const int64_t *ab = a + bi * m * k, *bb = b + bi * k * n;
    int64_t *cb = c + bi * m * n;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        uint64_t acc = 0; /* unsigned: wraps instead of overflowing */
        for (int64_t p = 0; p < k; p++) acc += (uint64_t)ab[i * k + p] * (uint64_t)bb[p * n + j];
        cb[i * n + j] = (int64_t)acc;
      }
  }
}
