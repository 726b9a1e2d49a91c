/* Narrow float formats that mtcc stores but never computes in: bfloat16 and the four float8
 * formats of ONNX (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ). Kernels widen them to float, compute, and
 * narrow the result with these conversions (round to nearest even, the Cast spec's saturation).
 * Plain C with no state, so the reference executor, libmtrt's CPU path and the generated CUDA
 * (codegen/mt_cuda.h repeats the same bit arithmetic) agree bit for bit. */
#ifndef MT_CPU_FLOAT8_H
#define MT_CPU_FLOAT8_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/cpu/tensor.h"

/* bfloat16: the top half of a float32; NaN stays a (quiet) NaN. */
float mt_bf16_to_float(uint16_t h);
uint16_t mt_float_to_bf16(float f);

/* True for the four float8 dtypes. */
bool mt_dtype_is_float8(mt_dtype dt);
/* The float8 byte b of dtype dt as a float (NaN for the format's NaN codes, +-inf for E5M2's). */
float mt_f8_to_float(mt_dtype dt, uint8_t b);
/* f rounded to the nearest even float8 of dtype dt. saturate (Cast's default): out-of-range
 * values and infinities become the largest finite value of their sign; otherwise they become
 * NaN (E5M2: infinity). dt must be a float8 dtype. */
uint8_t mt_float_to_f8(mt_dtype dt, float f, bool saturate);

#endif
