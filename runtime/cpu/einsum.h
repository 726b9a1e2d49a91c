/* Strided gather / reduction kernels behind Einsum (and usable for any permute-and-sum):
 * dst is the dense row-major array over the kept dims, each element the sum over the reduced
 * dims of src at (sum of index * stride). Strides are in elements and may be 0 (broadcast) or
 * repeat a dim (diagonals). Sums run row-major over the reduced dims, float sums accumulate in
 * double: fixed order, deterministic. */
#ifndef MT_CPU_EINSUM_H
#define MT_CPU_EINSUM_H

#include <stdint.h>

#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

#define MT_EINSUM_MAX_DIMS 32

void mt_cpu_strided_sum_f32(const float *src, int nkeep, const int64_t *keep_dims,
                            const int64_t *keep_strides, int nred, const int64_t *red_dims,
                            const int64_t *red_strides, float *dst);
void mt_cpu_strided_sum_i64(const int64_t *src, int nkeep, const int64_t *keep_dims,
                            const int64_t *keep_strides, int nred, const int64_t *red_dims,
                            const int64_t *red_strides, int64_t *dst);

/* c[b] = a[b] (m x k) * b[b] (k x n) for each of `batch` dense row-major matrices, exact int64
 * (wrapping) arithmetic; c is overwritten. */
void mt_cpu_batched_matmul_i64(int64_t batch, int64_t m, int64_t n, int64_t k, const int64_t *a,
                               const int64_t *b, int64_t *c);

/* A parsed Einsum equation over known operand shapes: plain data, so a kernel call can carry it.
 * Labels are letters (0..51, a-z then A-Z) and ellipsis dims (52 + i). */
#define MT_EINSUM_LETTERS 52
#define MT_EINSUM_MAX_LABELS (MT_EINSUM_LETTERS + MT_MAX_RANK)
#define MT_EINSUM_MAX_INPUTS 32

typedef struct mt_einsum_term {
  int n;
  int label[MT_MAX_RANK];
} mt_einsum_term;

typedef struct mt_einsum_eq {
  int n_inputs;
  mt_einsum_term in[MT_EINSUM_MAX_INPUTS];
  mt_einsum_term out;
  int64_t size[MT_EINSUM_MAX_LABELS]; /* -1 unknown / unset */
} mt_einsum_eq;

/* Evaluates eq over inputs[0..n_inputs) into y (float types in float32, integers exactly in
 * int64): operands are contracted left to right by batched GEMMs over strided gathers. */
MT_MUST_USE mt_status *mt_cpu_einsum(const mt_einsum_eq *eq, int n_inputs,
                                     const mt_tensor *const *inputs, mt_tensor *y);

#endif
