/* dtype facts and element accessors shared by CPU kernels. */
#include "runtime/cpu/tensor.h"

#include <math.h>
#include <stdio.h>

#include "runtime/cpu/float8.h"

bool mt_dtype_supported(mt_dtype dt) {
  switch (dt) {
  case MT_DTYPE_FLOAT32:
  case MT_DTYPE_FLOAT16:
  case MT_DTYPE_INT64:
  case MT_DTYPE_INT32:
  case MT_DTYPE_INT8:
  case MT_DTYPE_UINT8:
  case MT_DTYPE_INT16:
  case MT_DTYPE_UINT16:
  case MT_DTYPE_UINT32:
  case MT_DTYPE_UINT64:
  case MT_DTYPE_FLOAT64:
  case MT_DTYPE_BFLOAT16:
  case MT_DTYPE_FLOAT8E4M3FN:
  case MT_DTYPE_FLOAT8E4M3FNUZ:
  case MT_DTYPE_FLOAT8E5M2:
  case MT_DTYPE_FLOAT8E5M2FNUZ:
  case MT_DTYPE_FLOAT8E8M0:
  case MT_DTYPE_BOOL: return true;
  default: return mt_dtype_is_packed(dt);
  }
}

bool mt_dtype_is_packed(mt_dtype dt) {
  return dt == MT_DTYPE_INT4 || dt == MT_DTYPE_UINT4 || dt == MT_DTYPE_FLOAT4E2M1 ||
         dt == MT_DTYPE_INT2 || dt == MT_DTYPE_UINT2;
}

int mt_dtype_bits(mt_dtype dt) {
  if (dt == MT_DTYPE_INT2 || dt == MT_DTYPE_UINT2) return 2;
  if (mt_dtype_is_packed(dt)) return 4;
  return 8 * (int)mt_dtype_size(dt);
}

/* The value of a packed code: int4/int2 sign-extended, float4e2m1 decoded. */
double mt_packed_value(mt_dtype dt, uint8_t code) {
  switch (dt) {
  case MT_DTYPE_INT4: return (double)(code >= 8 ? (int)code - 16 : (int)code);
  case MT_DTYPE_INT2: return (double)(code >= 2 ? (int)code - 4 : (int)code);
  case MT_DTYPE_FLOAT4E2M1: return mt_fp4_to_float(code);
  default: return (double)code;
  }
}

/* The packed code of v: integers truncate toward zero and keep their low bits (as the wider
 * integer casts wrap), float4e2m1 rounds to nearest even and saturates. */
uint8_t mt_packed_code_of(mt_dtype dt, double v) {
  if (dt == MT_DTYPE_FLOAT4E2M1) return mt_float_to_fp4((float)v);
  int64_t i = 0;
  if (v == v) i = v >= 9.2e18 ? INT64_MAX : (v <= -9.2e18 ? INT64_MIN : (int64_t)v);
  return (uint8_t)((uint64_t)i & ((1u << mt_dtype_bits(dt)) - 1));
}

size_t mt_dtype_size(mt_dtype dt) {
  switch (dt) {
  case MT_DTYPE_FLOAT32:
  case MT_DTYPE_INT32:
  case MT_DTYPE_UINT32: return 4;
  case MT_DTYPE_UINT8:
  case MT_DTYPE_INT8:
  case MT_DTYPE_FLOAT8E4M3FN:
  case MT_DTYPE_FLOAT8E4M3FNUZ:
  case MT_DTYPE_FLOAT8E5M2:
  case MT_DTYPE_FLOAT8E5M2FNUZ:
  case MT_DTYPE_FLOAT8E8M0:
  case MT_DTYPE_BOOL:
  case MT_DTYPE_SEQUENCE:
  case MT_DTYPE_OPTIONAL: return 1;
  case MT_DTYPE_UINT16:
  case MT_DTYPE_INT16:
  case MT_DTYPE_FLOAT16:
  case MT_DTYPE_BFLOAT16: return 2;
  case MT_DTYPE_INT64:
  case MT_DTYPE_FLOAT64:
  case MT_DTYPE_UINT64:
  case MT_DTYPE_COMPLEX64: return 8;
  case MT_DTYPE_COMPLEX128: return 16;
  default: return 0;
  }
}

const char *mt_dtype_name(mt_dtype dt) {
  switch (dt) {
  case MT_DTYPE_FLOAT32: return "float32";
  case MT_DTYPE_UINT8: return "uint8";
  case MT_DTYPE_INT8: return "int8";
  case MT_DTYPE_UINT16: return "uint16";
  case MT_DTYPE_INT16: return "int16";
  case MT_DTYPE_INT32: return "int32";
  case MT_DTYPE_INT64: return "int64";
  case MT_DTYPE_STRING: return "string";
  case MT_DTYPE_BOOL: return "bool";
  case MT_DTYPE_FLOAT16: return "float16";
  case MT_DTYPE_FLOAT64: return "float64";
  case MT_DTYPE_UINT32: return "uint32";
  case MT_DTYPE_UINT64: return "uint64";
  case MT_DTYPE_COMPLEX64: return "complex64";
  case MT_DTYPE_COMPLEX128: return "complex128";
  case MT_DTYPE_BFLOAT16: return "bfloat16";
  case MT_DTYPE_SEQUENCE: return "sequence";
  case MT_DTYPE_OPTIONAL: return "optional";
  case MT_DTYPE_FLOAT8E4M3FN: return "float8e4m3fn";
  case MT_DTYPE_FLOAT8E4M3FNUZ: return "float8e4m3fnuz";
  case MT_DTYPE_FLOAT8E5M2: return "float8e5m2";
  case MT_DTYPE_FLOAT8E5M2FNUZ: return "float8e5m2fnuz";
  case MT_DTYPE_UINT4: return "uint4";
  case MT_DTYPE_INT4: return "int4";
  case MT_DTYPE_FLOAT4E2M1: return "float4e2m1";
  case MT_DTYPE_FLOAT8E8M0: return "float8e8m0";
  case MT_DTYPE_UINT2: return "uint2";
  case MT_DTYPE_INT2: return "int2";
  case MT_DTYPE_UNDEFINED: return "undefined";
  }
  static _Thread_local char buf[32];
  snprintf(buf, sizeof buf, "dtype(%d)", (int)dt);
  return buf;
}

bool mt_dtype_is_container(mt_dtype dt) {
  return dt == MT_DTYPE_SEQUENCE || dt == MT_DTYPE_OPTIONAL;
}

bool mt_dtype_is_float(mt_dtype dt) {
  return dt == MT_DTYPE_FLOAT32 || dt == MT_DTYPE_FLOAT16 || dt == MT_DTYPE_BFLOAT16;
}

bool mt_dtype_is_float16_like(mt_dtype dt) {
  return dt == MT_DTYPE_FLOAT16 || dt == MT_DTYPE_BFLOAT16;
}

float mt_f16like_to_float(mt_dtype dt, uint16_t bits) {
  return dt == MT_DTYPE_BFLOAT16 ? mt_bf16_to_float(bits) : mt_half_to_float(bits);
}

uint16_t mt_float_to_f16like(mt_dtype dt, float f) {
  return dt == MT_DTYPE_BFLOAT16 ? mt_float_to_bf16(f) : mt_float_to_half(f);
}

bool mt_dtype_is_integer(mt_dtype dt) {
  return dt == MT_DTYPE_INT64 || dt == MT_DTYPE_INT32 || dt == MT_DTYPE_INT8 ||
         dt == MT_DTYPE_UINT8;
}

bool mt_dtype_is_float_any(mt_dtype dt) { return mt_dtype_is_float(dt) || dt == MT_DTYPE_FLOAT64; }

bool mt_dtype_is_integer_any(mt_dtype dt) {
  return mt_dtype_is_integer(dt) || dt == MT_DTYPE_INT16 || dt == MT_DTYPE_UINT16 ||
         dt == MT_DTYPE_UINT32 || dt == MT_DTYPE_UINT64;
}

float mt_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { /* subnormal: normalise */
      int e = -1;
      do {
        e++;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      bits = sign | (uint32_t)(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t mt_float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000) /* inf or nan */
    return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000 ? 0x200 | ((absx >> 13) & 0x3ff) : 0));
  if (absx >= 0x477ff000) return (uint16_t)(sign | 0x7c00); /* rounds past the largest half */
  if (absx < 0x38800000) {                                  /* result is subnormal or zero */
    if (absx < 0x33000000) return (uint16_t)sign;
    uint32_t e = absx >> 23;
    uint32_t m = (absx & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t half_m = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_m & 1))) half_m++;
    return (uint16_t)(sign | half_m);
  }
  uint32_t h = ((absx >> 13) - ((127 - 15) << 10));
  uint32_t rem = absx & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

double mt_tensor_get_f64(const mt_tensor *t, int64_t i) {
  switch (t->dtype) {
  case MT_DTYPE_FLOAT32: return ((const float *)t->data)[i];
  case MT_DTYPE_FLOAT16: return mt_half_to_float(((const uint16_t *)t->data)[i]);
  case MT_DTYPE_FLOAT64: return ((const double *)t->data)[i];
  case MT_DTYPE_INT64: return (double)((const int64_t *)t->data)[i];
  case MT_DTYPE_INT32: return ((const int32_t *)t->data)[i];
  case MT_DTYPE_INT8: return ((const int8_t *)t->data)[i];
  case MT_DTYPE_UINT8: return ((const uint8_t *)t->data)[i];
  case MT_DTYPE_INT16: return ((const int16_t *)t->data)[i];
  case MT_DTYPE_UINT16: return ((const uint16_t *)t->data)[i];
  case MT_DTYPE_UINT32: return ((const uint32_t *)t->data)[i];
  case MT_DTYPE_UINT64: return (double)((const uint64_t *)t->data)[i];
  case MT_DTYPE_BOOL: return ((const uint8_t *)t->data)[i] != 0;
  case MT_DTYPE_BFLOAT16: return mt_bf16_to_float(((const uint16_t *)t->data)[i]);
  case MT_DTYPE_FLOAT8E4M3FN:
  case MT_DTYPE_FLOAT8E4M3FNUZ:
  case MT_DTYPE_FLOAT8E5M2:
  case MT_DTYPE_FLOAT8E5M2FNUZ: return mt_f8_to_float(t->dtype, ((const uint8_t *)t->data)[i]);
  case MT_DTYPE_FLOAT8E8M0: return mt_e8m0_to_float(((const uint8_t *)t->data)[i]);
  default:
    if (mt_dtype_is_packed(t->dtype))
      return mt_packed_value(t->dtype, mt_packed_code(t->data, t->dtype, i));
    return NAN;
  }
}

int64_t mt_tensor_get_i64(const mt_tensor *t, int64_t i) {
  switch (t->dtype) {
  case MT_DTYPE_INT64: return ((const int64_t *)t->data)[i];
  case MT_DTYPE_INT32: return ((const int32_t *)t->data)[i];
  case MT_DTYPE_INT8: return ((const int8_t *)t->data)[i];
  case MT_DTYPE_UINT8: return ((const uint8_t *)t->data)[i];
  case MT_DTYPE_INT16: return ((const int16_t *)t->data)[i];
  case MT_DTYPE_UINT16: return ((const uint16_t *)t->data)[i];
  case MT_DTYPE_UINT32: return ((const uint32_t *)t->data)[i];
  case MT_DTYPE_UINT64: return (int64_t)((const uint64_t *)t->data)[i]; /* wraps past INT64_MAX */
  case MT_DTYPE_BOOL: return ((const uint8_t *)t->data)[i] != 0;
  default: {
    double d = mt_tensor_get_f64(t, i);
    if (!(d == d)) return 0;
    if (d >= 9.2e18) return INT64_MAX;
    if (d <= -9.2e18) return INT64_MIN;
    return (int64_t)d;
  }
  }
}

void mt_tensor_set_f64(mt_tensor *t, int64_t i, double v) {
  switch (t->dtype) {
  case MT_DTYPE_FLOAT32: ((float *)t->data)[i] = (float)v; break;
  case MT_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = mt_float_to_half((float)v); break;
  case MT_DTYPE_FLOAT64: ((double *)t->data)[i] = v; break;
  case MT_DTYPE_INT64: ((int64_t *)t->data)[i] = (int64_t)v; break;
  case MT_DTYPE_INT32: ((int32_t *)t->data)[i] = (int32_t)(int64_t)v; break;
  case MT_DTYPE_INT8: ((int8_t *)t->data)[i] = (int8_t)(int64_t)v; break;
  case MT_DTYPE_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)(int64_t)v; break;
  case MT_DTYPE_INT16: ((int16_t *)t->data)[i] = (int16_t)(int64_t)v; break;
  case MT_DTYPE_UINT16: ((uint16_t *)t->data)[i] = (uint16_t)(int64_t)v; break;
  case MT_DTYPE_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)(int64_t)v; break;
  case MT_DTYPE_UINT64:
    ((uint64_t *)t->data)[i] = v >= 0 ? (uint64_t)v : (uint64_t)(int64_t)v;
    break;
  case MT_DTYPE_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
  case MT_DTYPE_BFLOAT16: ((uint16_t *)t->data)[i] = mt_float_to_bf16((float)v); break;
  case MT_DTYPE_FLOAT8E4M3FN:
  case MT_DTYPE_FLOAT8E4M3FNUZ:
  case MT_DTYPE_FLOAT8E5M2:
  case MT_DTYPE_FLOAT8E5M2FNUZ:
    ((uint8_t *)t->data)[i] = mt_float_to_f8(t->dtype, (float)v, true);
    break;
  case MT_DTYPE_FLOAT8E8M0:
    ((uint8_t *)t->data)[i] = mt_float_to_e8m0((float)v, true, MT_E8M0_ROUND_UP);
    break;
  default:
    if (mt_dtype_is_packed(t->dtype))
      mt_packed_set_code(t->data, t->dtype, i, mt_packed_code_of(t->dtype, v));
    break;
  }
}
