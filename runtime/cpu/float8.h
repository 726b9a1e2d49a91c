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

/* float4e2m1 (the 4-bit code of a packed element): sign, 2 exponent bits (bias 1), 1 mantissa
 * bit; values +-{0, 0.5, 1, 1.5, 2, 3, 4, 6}, no infinity or NaN. The store rounds to nearest
 * even and saturates: +-inf and values beyond 6 become +-6, NaN becomes -0 (what ml_dtypes, and so
 * the ONNX reference, gives). */
float mt_fp4_to_float(uint8_t code);
uint8_t mt_float_to_fp4(float f);

/* float8e8m0: an exponent byte, 2^(e - 127); 0xff is NaN. The store takes f's float32 exponent
 * and rounds the mantissa away as round_mode says (up: any nonzero mantissa adds one; down:
 * dropped; nearest: to nearest, ties up); saturate keeps a round-up from overflowing past 0xfe.
 * NaN and infinity give 0xff; zero and values below 2^-127 give 0 (the ONNX reference's rule). */
typedef enum mt_e8m0_round {
  MT_E8M0_ROUND_UP = 0,
  MT_E8M0_ROUND_DOWN = 1,
  MT_E8M0_ROUND_NEAREST = 2,
} mt_e8m0_round;
float mt_e8m0_to_float(uint8_t e);
uint8_t mt_float_to_e8m0(float f, bool saturate, mt_e8m0_round mode);

#endif
