/* float64 kernels for the ops whose float32 kernels stage through float32 (GEMM, MatMul,
 * Softmax/LogSoftmax): ONNX Runtime computes these in double, so a float64 model must not lose
 * its precision to the float32 staging. Plain loops, single-threaded, summed over k (or the
 * softmax axis) in index order, so a shape always gives the same bits. */
#ifndef MT_CPU_FLOAT64_H
#define MT_CPU_FLOAT64_H

#include <stdbool.h>
#include <stdint.h>

/* C[m x n] += alpha * op(A) * op(B), row-major, with mt_cpu_sgemm's layout rules (gemm.h). */
void mt_cpu_dgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                  const double *a, int64_t lda, const double *b, int64_t ldb, double *c,
                  int64_t ldc);
/* x viewed as [outer, n, inner]: y = softmax (or log-softmax) along the middle dim. */
void mt_cpu_softmax_f64(const double *x, double *y, int64_t outer, int64_t n, int64_t inner,
                        bool log_softmax);

#endif
