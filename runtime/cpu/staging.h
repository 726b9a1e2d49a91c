/* float32 staging for kernels that compute in float32 only (GEMM, convolution, pooling,
 * normalisation, Einsum): float16, bfloat16 and integer tensors are converted in and rounded back once per
 * output element. */
#ifndef MT_CPU_STAGING_H
#define MT_CPU_STAGING_H

#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

/* A float32 view of t's data: borrowed when t is float32, otherwise converted into a malloc'ed
 * buffer returned in *owned (the caller frees it). */
MT_MUST_USE mt_status *mt_cpu_stage_in_f32(const mt_tensor *t, const float **out, float **owned);
/* Where a float32 result for output t is written: t's own data when float32, otherwise a
 * temporary returned in *owned that mt_cpu_stage_finish_f32 rounds into t and frees. */
MT_MUST_USE mt_status *mt_cpu_stage_out_f32(mt_tensor *t, float **out, float **owned);
void mt_cpu_stage_finish_f32(mt_tensor *t, float *owned);

#endif
