/* Parameters of the quantization kernel calls (kernel_call_quant.c): QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, MatMulInteger / QLinearMatMul and ConvInteger /
 * QLinearConv. Plain data, like every kernel call; included by kernel_call.h only.
 *
 * Arithmetic follows the ONNX reference implementation, which produced the backend test data:
 * quantizing divides in the input's float type and rounds half to even (rint) before adding the
 * zero point and saturating; dequantizing subtracts in float32 and multiplies by the scale; the
 * integer products accumulate exactly in int32 (wrapping like the reference's int32 arrays) and
 * requantize as double(acc) * float(a_scale * b_scale / y_scale) + y_zero_point, rounded half to
 * even and saturated. */
#ifndef MT_CPU_QUANT_H
#define MT_CPU_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/cpu/conv.h"

/* How scale and zero point map onto x's elements. */
typedef enum mt_quant_mode {
  MT_QUANT_PER_TENSOR = 0, /* one scale (and zero point) */
  MT_QUANT_PER_AXIS = 1,   /* one per index along the axis: 1-D of axis_dim values */
  MT_QUANT_BLOCKED = 2,    /* x's shape with the axis cut into ceil(axis_dim / block) blocks */
  MT_QUANT_MODE_COUNT
} mt_quant_mode;

/* QuantizeLinear / DequantizeLinear over x viewed as [outer, axis_dim, inner]. */
typedef struct mt_kc_quant {
  mt_quant_mode mode;
  int64_t axis_dim, inner;
  int64_t block; /* MT_QUANT_BLOCKED only */
  /* QuantizeLinear to float8 only (false otherwise): out-of-range quotients become the largest
   * finite value of their sign; when false they become NaN (E5M2: infinity), as Cast's rule */
  bool saturate;
} mt_kc_quant;

/* Input slots of an integer matmul / conv call: the node's input index of each operand, -1 when
 * absent. MatMulInteger and ConvInteger give an int32 accumulator (requantize false); QLinear*
 * requantize into y_zp's dtype (a's when y_zp is absent). */
enum {
  MT_QIN_A = 0, /* A / X */
  MT_QIN_B,     /* B / W */
  MT_QIN_A_ZP,
  MT_QIN_B_ZP, /* scalar, or one per output column (matmul) / output channel (conv) */
  MT_QIN_A_SCALE,
  MT_QIN_B_SCALE, /* scalar, or one per output column / channel */
  MT_QIN_Y_SCALE,
  MT_QIN_Y_ZP,
  MT_QIN_BIAS, /* int32, one per output channel (QLinearConv) */
  MT_QIN_COUNT
};

typedef struct mt_kc_qlinear {
  bool requantize;
  int8_t in[MT_QIN_COUNT]; /* node input index per MT_QIN_* slot, -1 when absent */
  /* MT_KERNEL_QCONV only: mt_kc_conv's fields */
  int64_t batch, c_in, c_out, group;
  mt_conv_geom geom;
} mt_kc_qlinear;

/* The saturation range of an integer quantized type; false for any other type (the float8
 * types, mt_dtype_is_float8, and float4e2m1 round to the format instead: the zero point must be
 * 0). The packed int4/uint4/int2/uint2 are here too: callers that index bytes must refuse them
 * (mt_dtype_is_packed). */
static inline bool mt_quant_range(mt_dtype dt, double *lo, double *hi) {
  switch (dt) {
  case MT_DTYPE_UINT8: *lo = 0, *hi = 255; return true;
  case MT_DTYPE_INT8: *lo = -128, *hi = 127; return true;
  case MT_DTYPE_UINT16: *lo = 0, *hi = 65535; return true;
  case MT_DTYPE_INT16: *lo = -32768, *hi = 32767; return true;
  case MT_DTYPE_UINT4: *lo = 0, *hi = 15; return true; /* packed (mt_dtype_is_packed) */
  case MT_DTYPE_INT4: *lo = -8, *hi = 7; return true;
  case MT_DTYPE_UINT2: *lo = 0, *hi = 3; return true;
  case MT_DTYPE_INT2: *lo = -2, *hi = 1; return true;
  default: return false;
  }
}

/* The scale / zero-point index of element i of x under p. */
static inline int64_t mt_quant_param_index(const mt_kc_quant *p, int64_t i) {
  switch (p->mode) {
  case MT_QUANT_PER_AXIS: return i / p->inner % p->axis_dim;
  case MT_QUANT_BLOCKED: {
    int64_t blocks = (p->axis_dim + p->block - 1) / p->block;
    int64_t outer = i / (p->inner * p->axis_dim), a = i / p->inner % p->axis_dim;
    return (outer * blocks + a / p->block) * p->inner + i % p->inner;
  }
  default: return 0;
  }
}

#endif
