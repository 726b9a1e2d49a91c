/* Cast between the element types mtcc computes with (float32, float16, int64, int32, int8, uint8,
 * bool).
 *
 * Conversions follow C/numpy on x86: floats to integers truncate toward zero through int64 and
 * then wrap to the narrower type (NaN gives 0, values beyond int64 saturate, where C leaves both
 * undefined); integers wrap between widths; anything to bool is "!= 0"; float16 rounds to nearest
 * even. */
#ifndef MT_CPU_CAST_H
#define MT_CPU_CAST_H

#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

/* Converts n elements from src (dtype from) into dst (dtype to); the buffers must not overlap
 * unless they are the same buffer and both dtypes have the same size. */
MT_MUST_USE mt_status *mt_cpu_cast_buffer(mt_dtype from, const void *src, mt_dtype to, void *dst,
                                          int64_t n);
/* out->dtype is the target; element counts must match. */
MT_MUST_USE mt_status *mt_cpu_cast(const mt_tensor *in, mt_tensor *out);

#endif
