/* Cast between the element types mtcc supports (float32, float16, float64, the integers, bool, and
 * the storage-only bfloat16 and float8 formats of runtime/cpu/float8.h).
 *
 * Conversions follow C/numpy on x86: floats to integers truncate toward zero through int64 and
 * then wrap to the narrower type (NaN gives 0, values beyond int64 saturate, where C leaves both
 * undefined); integers wrap between widths; anything to bool is "!= 0"; float16, bfloat16 and
 * float8 round to nearest even (float8 from the value as float32, as ONNX's reference does). */
#ifndef MT_CPU_CAST_H
#define MT_CPU_CAST_H

#include "runtime/base/status.h"
#include "runtime/cpu/float8.h"
#include "runtime/cpu/tensor.h"

/* Converts n elements from src (dtype from) into dst (dtype to); the buffers must not overlap
 * unless they are the same buffer and both dtypes have the same size. */
MT_MUST_USE mt_status *mt_cpu_cast_buffer(mt_dtype from, const void *src, mt_dtype to, void *dst,
                                          int64_t n);
/* The same with Cast's saturate attribute, which only float8 targets read: false turns values
 * beyond the format's range into NaN (E5M2: infinity) instead of its largest finite value. */
MT_MUST_USE mt_status *mt_cpu_cast_buffer_sat(mt_dtype from, const void *src, mt_dtype to,
                                              void *dst, int64_t n, bool saturate);
/* The same with Cast's round_mode (opset 24+), which only float8e8m0 targets read. Packed types
 * (int4, uint4, int2, uint2, float4e2m1) and float8e8m0 convert through double: integers
 * truncate toward zero and wrap, float4e2m1 rounds to nearest even and saturates (see
 * float8.h), as the ONNX reference (ml_dtypes) does. */
MT_MUST_USE mt_status *mt_cpu_cast_buffer_mode(mt_dtype from, const void *src, mt_dtype to,
                                               void *dst, int64_t n, bool saturate,
                                               mt_e8m0_round round);
/* out->dtype is the target; element counts must match. */
MT_MUST_USE mt_status *mt_cpu_cast(const mt_tensor *in, mt_tensor *out);
MT_MUST_USE mt_status *mt_cpu_cast_sat(const mt_tensor *in, mt_tensor *out, bool saturate);
MT_MUST_USE mt_status *mt_cpu_cast_mode(const mt_tensor *in, mt_tensor *out, bool saturate,
                                        mt_e8m0_round round);

#endif
