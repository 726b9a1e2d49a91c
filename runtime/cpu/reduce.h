/* Reduction-style CPU kernels: Reduce* over an axis set, ArgMax/ArgMin, TopK and CumSum.
 *
 * Kernels work on densely packed row-major buffers of the supported dtypes (float32, float16,
 * int64, int32, int8, uint8, bool). Float inputs accumulate in double and are rounded once on
 * store; integer inputs accumulate in int64 with wrap-around. Everything runs in a fixed order on
 * one thread, so results are bit-identical from run to run. */
#ifndef MT_CPU_REDUCE_H
#define MT_CPU_REDUCE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/cpu/tensor.h"

typedef enum mt_reduce_op {
  MT_REDUCE_SUM,
  MT_REDUCE_MEAN,
  MT_REDUCE_MAX,
  MT_REDUCE_MIN,
  MT_REDUCE_PROD,
  MT_REDUCE_L1,
  MT_REDUCE_L2,
  MT_REDUCE_SUM_SQUARE,
  MT_REDUCE_LOG_SUM,
  MT_REDUCE_LOG_SUM_EXP,
} mt_reduce_op;

/* Reduces x (rank, dims) over the axes whose bit is set in axes_mask into y, laid out as the
 * input shape with the reduced axes removed (the keepdims layout is the same bytes). An empty
 * axis set maps each element through the op on its own (x -> x*x for SUM_SQUARE, ...). Reducing
 * zero elements yields the op's identity: 0, 1 (PROD), -inf / lowest (MAX), +inf / highest (MIN),
 * -inf (LOG_SUM, LOG_SUM_EXP), NaN (MEAN of floats). */
void mt_cpu_reduce(mt_reduce_op op, mt_dtype dt, const void *x, int rank, const int64_t *dims,
                   uint32_t axes_mask, void *y);

/* Index of the largest (or smallest, when is_min) element along the middle axis of a
 * [outer, n, inner] view, into y[outer * inner]. Ties go to the first index, or the last one when
 * select_last. NaN compares as larger than every number (and is then the max), so a NaN-free row
 * behaves as usual. n must be > 0. */
void mt_cpu_arg_reduce(mt_dtype dt, const void *x, int64_t outer, int64_t n, int64_t inner,
                       bool is_min, bool select_last, int64_t *y);

/* The k largest (or smallest) elements along the middle axis of a [outer, n, inner] view, sorted
 * (ties keep the lower index first), into values [outer, k, inner] (same dtype) and indices
 * [outer, k, inner]. Either output may be NULL. Returns false when scratch memory is exhausted. */
bool mt_cpu_topk(mt_dtype dt, const void *x, int64_t outer, int64_t n, int64_t inner, int64_t k,
                 bool largest, void *values, int64_t *indices);

/* Running sum along the middle axis of a [outer, n, inner] view; exclusive leaves out the current
 * element, reverse runs from the end. Float16 accumulates in float32 and rounds on store. */
void mt_cpu_cumsum(mt_dtype dt, const void *x, int64_t outer, int64_t n, int64_t inner,
                   bool exclusive, bool reverse, void *y);

#endif
