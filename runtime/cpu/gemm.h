/* Single-precision matrix multiply for the CPU reference path.
 *
 * One cache-blocked, register-tiled SGEMM written in plain C so that gcc -O3 vectorises its
 * micro-kernel for whatever vector width the build targets. Single-threaded and deterministic:
 * every element of C is summed over k in a fixed order that depends only on k, never on m, n or
 * on where the element sits in a tile, so a given shape always produces the same bits. */
#ifndef MT_CPU_GEMM_H
#define MT_CPU_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

/* C[m x n] += alpha * op(A) * op(B), all row-major.
 * op(A) is m x k: A is stored m x k (lda >= k), or k x m (lda >= m) when trans_a.
 * op(B) is k x n: B is stored k x n (ldb >= n), or n x k (ldb >= k) when trans_b.
 * C must not alias A or B. Callers pre-fill C (zeros, bias, beta * C).
 * Fails only when the packing buffers cannot be allocated. */
MT_MUST_USE mt_status *mt_cpu_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                                    float alpha, const float *a, int64_t lda, const float *b,
                                    int64_t ldb, float *c, int64_t ldc);

/* numpy.matmul shapes: 1-D operands are promoted ([K] -> [1, K] for A, [K, 1] for B) and the
 * promoted dim dropped from the result; leading (batch) dims broadcast. One definition serves
 * shape inference, where a dim may still be unknown (-1: the checks skip it, and an unknown dim
 * against a known n > 1 is n), and the kernel, where every dim is known. */
typedef struct mt_matmul_shape {
  int64_t m, n, k;
  int nb; /* broadcast batch rank */
  int64_t batch[MT_MAX_RANK], a_batch[MT_MAX_RANK],
      b_batch[MT_MAX_RANK]; /* right-aligned, 1-padded */
  int out_rank;
  int64_t out[MT_MAX_RANK];
} mt_matmul_shape;

MT_MUST_USE mt_status *mt_cpu_matmul_shape(int a_rank, const int64_t *a_dims, int b_rank,
                                           const int64_t *b_dims, mt_matmul_shape *out);

#endif
