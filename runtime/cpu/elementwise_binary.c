/* Broadcasting binary kernels (arithmetic, Min/Max, PRelu, Pow, comparisons, logic), Where, and
 * broadcast copies.
 *
 * Each (op, dtype) pair has a row kernel specialised on the two inputs' inner strides (both
 * contiguous, one a scalar), which covers same-shape, scalar and bias broadcasts with plain
 * vectorisable loops. float16 rows are converted to float32 in chunks and run through the float32
 * row kernel. Pow with mixed base/exponent dtypes uses a slower per-element path in double. */
#include <math.h>
#include <string.h>

#include "runtime/cpu/elementwise.h"
#include "runtime/cpu/elementwise_bcast.h"

#define CHUNK 256

/* A row kernel for `o = EXPR(x, y)` with x from a, y from b; strides are 0 or 1. */
#define DEFINE_ROW(name, TA, TO, EXPR)                                                             \
  static void name(const void *ctx, const void *const *in, const int64_t *st, void *out_,          \
                   int64_t n) {                                                                    \
    (void)ctx;                                                                                     \
    const TA *a = in[0], *b = in[1];                                                               \
    TO *o = out_;                                                                                  \
    if (st[0] && st[1]) {                                                                          \
      for (int64_t i = 0; i < n; i++) {                                                            \
        const TA x = a[i], y = b[i];                                                               \
        o[i] = (EXPR);                                                                             \
      }                                                                                            \
    } else if (st[0]) {                                                                            \
      const TA y = b[0];                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                            \
        const TA x = a[i];                                                                         \
        o[i] = (EXPR);                                                                             \
      }                                                                                            \
    } else if (st[1]) {                                                                            \
      const TA x = a[0];                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                            \
        const TA y = b[i];                                                                         \
        o[i] = (EXPR);                                                                             \
      }                                                                                            \
    } else {                                                                                       \
      const TA x = a[0], y = b[0];                                                                 \
      const TO v = (EXPR);                                                                         \
      for (int64_t i = 0; i < n; i++) o[i] = v;                                                    \
    }                                                                                              \
  }

/* Min/Max propagate NaN from either side, like numpy's minimum/maximum. */
#define MIN_EXPR ((y < x || y != y) ? y : x)
#define MAX_EXPR ((y > x || y != y) ? y : x)

DEFINE_ROW(add_f32, float, float, x + y)
DEFINE_ROW(sub_f32, float, float, x - y)
DEFINE_ROW(mul_f32, float, float, x *y)
DEFINE_ROW(div_f32, float, float, x / y)
DEFINE_ROW(min_f32, float, float, MIN_EXPR)
DEFINE_ROW(max_f32, float, float, MAX_EXPR)
DEFINE_ROW(prelu_f32, float, float, x < 0.0f ? x * y : x)
DEFINE_ROW(pow_f32, float, float, powf(x, y))
DEFINE_ROW(add_f64, double, double, x + y)
DEFINE_ROW(sub_f64, double, double, x - y)
DEFINE_ROW(mul_f64, double, double, x *y)
DEFINE_ROW(div_f64, double, double, x / y)
DEFINE_ROW(min_f64, double, double, MIN_EXPR)
DEFINE_ROW(max_f64, double, double, MAX_EXPR)
DEFINE_ROW(prelu_f64, double, double, x < 0.0 ? x * y : x)
DEFINE_ROW(pow_f64, double, double, pow(x, y))

/* Integer rows: arithmetic in the unsigned twin U so overflow wraps instead of being UB; division
 * by zero gives 0 and INT_MIN / -1 wraps, where C would trap. Division truncates toward zero. */
#define DEFINE_INT_ROWS(sfx, T, U, DIV_EXPR, IS_NEG)                                               \
  DEFINE_ROW(add_##sfx, T, T, (T)(U)((U)x + (U)y))                                                 \
  DEFINE_ROW(sub_##sfx, T, T, (T)(U)((U)x - (U)y))                                                 \
  DEFINE_ROW(mul_##sfx, T, T, (T)(U)((U)x * (U)y))                                                 \
  DEFINE_ROW(div_##sfx, T, T, DIV_EXPR)                                                            \
  DEFINE_ROW(min_##sfx, T, T, y < x ? y : x)                                                       \
  DEFINE_ROW(max_##sfx, T, T, y > x ? y : x)                                                       \
  DEFINE_ROW(prelu_##sfx, T, T, IS_NEG ? (T)(U)((U)x * (U)y) : x)

#define DIV_SIGNED(T, U) (y == 0 ? (T)0 : (y == -1 ? (T)(U)((U)0 - (U)x) : (T)(x / y)))
#define DIV_UNSIGNED(T) (y == 0 ? (T)0 : (T)(x / y))
DEFINE_INT_ROWS(i64, int64_t, uint64_t, DIV_SIGNED(int64_t, uint64_t), x < 0)
DEFINE_INT_ROWS(i32, int32_t, uint32_t, DIV_SIGNED(int32_t, uint32_t), x < 0)
DEFINE_INT_ROWS(i8, int8_t, uint8_t, DIV_SIGNED(int8_t, uint8_t), x < 0)
DEFINE_INT_ROWS(u8, uint8_t, uint8_t, DIV_UNSIGNED(uint8_t), false) /* PRelu: never negative */
/* 16-bit types wrap through uint32_t: a uint16_t product would be promoted to int and overflow */
DEFINE_INT_ROWS(i16, int16_t, uint32_t, DIV_SIGNED(int16_t, uint32_t), x < 0)
DEFINE_INT_ROWS(u16, uint16_t, uint32_t, DIV_UNSIGNED(uint16_t), false)
DEFINE_INT_ROWS(u32, uint32_t, uint32_t, DIV_UNSIGNED(uint32_t), false)
DEFINE_INT_ROWS(u64, uint64_t, uint64_t, DIV_UNSIGNED(uint64_t), false)

/* Mod (the divisor's sign, as Python's %), fmod (the dividend's, as C's %) and the bitwise ops.
 * x % 0 gives 0 and INT_MIN % -1 gives 0, where C would trap. Unsigned shifts by the width or
 * more give 0, where C is undefined. */
#define MOD_SIGNED(T)                                                                              \
  (y == 0 || y == -1 ? (T)0                                                                        \
                     : ((x % y != 0 && ((x % y < 0) != (y < 0))) ? (T)(x % y + y) : (T)(x % y)))
#define FMOD_SIGNED(T) (y == 0 || y == -1 ? (T)0 : (T)(x % y))
#define MOD_UNSIGNED(T) (y == 0 ? (T)0 : (T)(x % y))
#define DEFINE_BIT_ROWS(sfx, T, MOD_EXPR, FMOD_EXPR)                                               \
  DEFINE_ROW(mod_##sfx, T, T, MOD_EXPR)                                                            \
  DEFINE_ROW(fmod_##sfx, T, T, FMOD_EXPR)                                                          \
  DEFINE_ROW(band_##sfx, T, T, (T)(x & y))                                                         \
  DEFINE_ROW(bor_##sfx, T, T, (T)(x | y))                                                          \
  DEFINE_ROW(bxor_##sfx, T, T, (T)(x ^ y))
#define DEFINE_SHIFT_ROWS(sfx, T)                                                                  \
  DEFINE_ROW(shl_##sfx, T, T, (T)(y >= 8 * sizeof(T) ? 0 : (T)(x << y)))                           \
  DEFINE_ROW(shr_##sfx, T, T, (T)(y >= 8 * sizeof(T) ? 0 : (T)(x >> y)))
/* Signed BitShift (opset 28): left shifts wrap in the unsigned twin U, right shifts are
 * arithmetic; a negative count or one of the width or more gives 0 (left) or the sign fill
 * (right). */
#define SHIFT_OUT(T) (y < 0 || (uint64_t)y >= 8 * sizeof(T))
#define DEFINE_SSHIFT_ROWS(sfx, T, U)                                                              \
  DEFINE_ROW(shl_##sfx, T, T, SHIFT_OUT(T) ? (T)0 : (T)(U)((U)x << y))                             \
  DEFINE_ROW(shr_##sfx, T, T,                                                                      \
             SHIFT_OUT(T) ? (T)(x < 0 ? -1 : 0) : (x < 0 ? (T) ~(T)(~x >> y) : (T)(x >> y)))
DEFINE_BIT_ROWS(i64, int64_t, MOD_SIGNED(int64_t), FMOD_SIGNED(int64_t))
DEFINE_BIT_ROWS(i32, int32_t, MOD_SIGNED(int32_t), FMOD_SIGNED(int32_t))
DEFINE_BIT_ROWS(i8, int8_t, MOD_SIGNED(int8_t), FMOD_SIGNED(int8_t))
DEFINE_BIT_ROWS(u8, uint8_t, MOD_UNSIGNED(uint8_t), MOD_UNSIGNED(uint8_t))
DEFINE_BIT_ROWS(i16, int16_t, MOD_SIGNED(int16_t), FMOD_SIGNED(int16_t))
DEFINE_BIT_ROWS(u16, uint16_t, MOD_UNSIGNED(uint16_t), MOD_UNSIGNED(uint16_t))
DEFINE_BIT_ROWS(u32, uint32_t, MOD_UNSIGNED(uint32_t), MOD_UNSIGNED(uint32_t))
DEFINE_BIT_ROWS(u64, uint64_t, MOD_UNSIGNED(uint64_t), MOD_UNSIGNED(uint64_t))
DEFINE_SHIFT_ROWS(u8, uint8_t)
DEFINE_SHIFT_ROWS(u16, uint16_t)
DEFINE_SHIFT_ROWS(u32, uint32_t)
DEFINE_SHIFT_ROWS(u64, uint64_t)
DEFINE_SSHIFT_ROWS(i16, int16_t, uint32_t)
DEFINE_SSHIFT_ROWS(i64, int64_t, uint64_t)
DEFINE_SSHIFT_ROWS(i32, int32_t, uint32_t)
DEFINE_SSHIFT_ROWS(i8, int8_t, uint8_t)
DEFINE_ROW(fmod_f32, float, float, fmodf(x, y))

/* Float Mod with fmod 0 (opset 28): the divisor's sign, as numpy.mod; a zero result takes the
 * divisor's sign too, and x mod +-inf is x when the signs agree, else the infinity. */
static float mod_f32_elem(float x, float y) {
  float r = fmodf(x, y);
  if (r == 0.0f) return copysignf(0.0f, y);
  return (r < 0.0f) != (y < 0.0f) ? r + y : r;
}
DEFINE_ROW(mod_f32, float, float, mod_f32_elem(x, y))
static double mod_f64_elem(double x, double y) {
  double r = fmod(x, y);
  if (r == 0.0) return copysign(0.0, y);
  return (r < 0.0) != (y < 0.0) ? r + y : r;
}
DEFINE_ROW(mod_f64, double, double, mod_f64_elem(x, y))
DEFINE_ROW(fmod_f64, double, double, fmod(x, y))

#define DEFINE_CMP_ROWS(sfx, T)                                                                    \
  DEFINE_ROW(eq_##sfx, T, uint8_t, x == y)                                                         \
  DEFINE_ROW(lt_##sfx, T, uint8_t, x < y)                                                          \
  DEFINE_ROW(le_##sfx, T, uint8_t, x <= y)                                                         \
  DEFINE_ROW(gt_##sfx, T, uint8_t, x > y)                                                          \
  DEFINE_ROW(ge_##sfx, T, uint8_t, x >= y)
DEFINE_CMP_ROWS(f32, float)
DEFINE_CMP_ROWS(f64, double)
DEFINE_CMP_ROWS(i64, int64_t)
DEFINE_CMP_ROWS(i32, int32_t)
DEFINE_CMP_ROWS(i8, int8_t)
DEFINE_CMP_ROWS(u8, uint8_t)
DEFINE_CMP_ROWS(i16, int16_t)
DEFINE_CMP_ROWS(u16, uint16_t)
DEFINE_CMP_ROWS(u32, uint32_t)
DEFINE_CMP_ROWS(u64, uint64_t)

/* Bool bytes are normalised so a stray non-0/1 byte still acts as true. */
DEFINE_ROW(eq_bool, uint8_t, uint8_t, (x != 0) == (y != 0))
DEFINE_ROW(lt_bool, uint8_t, uint8_t, (x != 0) < (y != 0))
DEFINE_ROW(le_bool, uint8_t, uint8_t, (x != 0) <= (y != 0))
DEFINE_ROW(gt_bool, uint8_t, uint8_t, (x != 0) > (y != 0))
DEFINE_ROW(ge_bool, uint8_t, uint8_t, (x != 0) >= (y != 0))
DEFINE_ROW(and_bool, uint8_t, uint8_t, (x != 0) & (y != 0))
DEFINE_ROW(or_bool, uint8_t, uint8_t, (x != 0) | (y != 0))
DEFINE_ROW(xor_bool, uint8_t, uint8_t, (x != 0) ^ (y != 0))

#define PICK(op_, sfx)                                                                             \
  switch (op_) {                                                                                   \
  case MT_EW_ADD: return add_##sfx;                                                                \
  case MT_EW_SUB: return sub_##sfx;                                                                \
  case MT_EW_MUL: return mul_##sfx;                                                                \
  case MT_EW_DIV: return div_##sfx;                                                                \
  case MT_EW_MIN: return min_##sfx;                                                                \
  case MT_EW_MAX: return max_##sfx;                                                                \
  case MT_EW_PRELU: return prelu_##sfx;                                                            \
  case MT_EW_EQUAL: return eq_##sfx;                                                               \
  case MT_EW_LESS: return lt_##sfx;                                                                \
  case MT_EW_LESS_EQUAL: return le_##sfx;                                                          \
  case MT_EW_GREATER: return gt_##sfx;                                                             \
  case MT_EW_GREATER_EQUAL: return ge_##sfx;                                                       \
  default: break;                                                                                  \
  }
#define PICK_INT(op_, sfx)                                                                         \
  switch (op_) {                                                                                   \
  case MT_EW_MOD: return mod_##sfx;                                                                \
  case MT_EW_FMOD: return fmod_##sfx;                                                              \
  case MT_EW_BITWISE_AND: return band_##sfx;                                                       \
  case MT_EW_BITWISE_OR: return bor_##sfx;                                                         \
  case MT_EW_BITWISE_XOR: return bxor_##sfx;                                                       \
  default: return NULL;                                                                            \
  }
/* PICK_INT with the shifts (every integer type since BitShift opset 28); always returns. */
#define PICK_BITS(op_, sfx)                                                                        \
  if (op_ == MT_EW_SHIFT_LEFT) return shl_##sfx;                                                   \
  if (op_ == MT_EW_SHIFT_RIGHT) return shr_##sfx;                                                  \
  PICK_INT(op_, sfx)

/* The row kernel for op over same-typed inputs of dtype dt (float16 excluded), or NULL. */
static mt_bcast_row_fn pick_row(mt_ew_binary op, mt_dtype dt) {
  switch (dt) {
  case MT_DTYPE_FLOAT32:
    if (op == MT_EW_POW) return pow_f32;
    if (op == MT_EW_FMOD) return fmod_f32;
    if (op == MT_EW_MOD) return mod_f32;
    PICK(op, f32);
    return NULL;
  case MT_DTYPE_FLOAT64:
    if (op == MT_EW_POW) return pow_f64;
    if (op == MT_EW_FMOD) return fmod_f64;
    if (op == MT_EW_MOD) return mod_f64;
    PICK(op, f64);
    return NULL;
  case MT_DTYPE_INT64: PICK(op, i64); PICK_BITS(op, i64);
  case MT_DTYPE_INT32: PICK(op, i32); PICK_BITS(op, i32);
  case MT_DTYPE_INT8: PICK(op, i8); PICK_BITS(op, i8);
  case MT_DTYPE_UINT8: PICK(op, u8); PICK_BITS(op, u8);
  case MT_DTYPE_INT16: PICK(op, i16); PICK_BITS(op, i16);
  case MT_DTYPE_UINT16: PICK(op, u16); PICK_BITS(op, u16);
  case MT_DTYPE_UINT32: PICK(op, u32); PICK_BITS(op, u32);
  case MT_DTYPE_UINT64: PICK(op, u64); PICK_BITS(op, u64);
  case MT_DTYPE_BOOL:
    switch (op) {
    case MT_EW_AND: return and_bool;
    case MT_EW_OR: return or_bool;
    case MT_EW_XOR: return xor_bool;
    case MT_EW_EQUAL: return eq_bool;
    case MT_EW_LESS: return lt_bool;
    case MT_EW_LESS_EQUAL: return le_bool;
    case MT_EW_GREATER: return gt_bool;
    case MT_EW_GREATER_EQUAL: return ge_bool;
    default: return NULL;
    }
  default: return NULL;
  }
}

bool mt_cpu_ew_binary_supports(mt_ew_binary op, mt_dtype dt) {
  if (op == MT_EW_POW) return mt_dtype_is_float_any(dt) || mt_dtype_is_integer(dt);
  return pick_row(op, mt_dtype_is_float16_like(dt) ? MT_DTYPE_FLOAT32 : dt) != NULL;
}

/* float16 and bfloat16 rows: convert chunks to float32, run the float32 row, round results back
 * (or keep the bool bytes of a comparison as they are). */
typedef struct f16_ctx {
  mt_bcast_row_fn f32_row;
  bool out_bool;
  mt_dtype dt; /* float16 or bfloat16 */
} f16_ctx;

static void row_f16(const void *ctx_, const void *const *in, const int64_t *st, void *out_,
                    int64_t n) {
  const f16_ctx *ctx = ctx_;
  const uint16_t *a = in[0], *b = in[1];
  float abuf[CHUNK], bbuf[CHUNK], obuf[CHUNK];
  const void *fin[2] = {abuf, bbuf};
  if (!st[0]) abuf[0] = mt_f16like_to_float(ctx->dt, a[0]);
  if (!st[1]) bbuf[0] = mt_f16like_to_float(ctx->dt, b[0]);
  for (int64_t base = 0; base < n; base += CHUNK) {
    int64_t m = n - base < CHUNK ? n - base : CHUNK;
    if (st[0])
      for (int64_t i = 0; i < m; i++) abuf[i] = mt_f16like_to_float(ctx->dt, a[base + i]);
    if (st[1])
      for (int64_t i = 0; i < m; i++) bbuf[i] = mt_f16like_to_float(ctx->dt, b[base + i]);
    if (ctx->out_bool) {
      ctx->f32_row(NULL, fin, st, (uint8_t *)out_ + base, m);
    } else {
      ctx->f32_row(NULL, fin, st, obuf, m);
      uint16_t *o = (uint16_t *)out_ + base;
      for (int64_t i = 0; i < m; i++) o[i] = mt_float_to_f16like(ctx->dt, obuf[i]);
    }
  }
}

/* Pow over any base/exponent dtype pair, element by element. */
typedef struct pow_ctx {
  mt_dtype base, exp, out;
} pow_ctx;

static double load_f64(mt_dtype dt, const void *p, int64_t i) {
  switch (dt) {
  case MT_DTYPE_FLOAT32: return ((const float *)p)[i];
  case MT_DTYPE_FLOAT16:
  case MT_DTYPE_BFLOAT16: return mt_f16like_to_float(dt, ((const uint16_t *)p)[i]);
  case MT_DTYPE_FLOAT64: return ((const double *)p)[i];
  case MT_DTYPE_INT64: return (double)((const int64_t *)p)[i];
  case MT_DTYPE_INT32: return ((const int32_t *)p)[i];
  case MT_DTYPE_INT8: return ((const int8_t *)p)[i];
  case MT_DTYPE_INT16: return ((const int16_t *)p)[i];
  case MT_DTYPE_UINT16: return ((const uint16_t *)p)[i];
  case MT_DTYPE_UINT32: return ((const uint32_t *)p)[i];
  case MT_DTYPE_UINT64: return (double)((const uint64_t *)p)[i];
  case MT_DTYPE_UINT8:
  case MT_DTYPE_BOOL: return ((const uint8_t *)p)[i];
  default: return 0;
  }
}

static int64_t load_i64(mt_dtype dt, const void *p, int64_t i) {
  switch (dt) {
  case MT_DTYPE_INT64: return ((const int64_t *)p)[i];
  case MT_DTYPE_INT32: return ((const int32_t *)p)[i];
  case MT_DTYPE_INT8: return ((const int8_t *)p)[i];
  case MT_DTYPE_UINT8:
  case MT_DTYPE_BOOL: return ((const uint8_t *)p)[i];
  default: return 0;
  }
}

/* x^e in wrapping 64-bit integer arithmetic; negative exponents truncate 1/x^|e| toward zero. */
static int64_t ipow(int64_t x, int64_t e) {
  if (e < 0) {
    if (x == 1) return 1;
    if (x == -1) return (e & 1) ? -1 : 1;
    return 0;
  }
  uint64_t result = 1, base = (uint64_t)x;
  while (e) {
    if (e & 1) result *= base;
    base *= base;
    e >>= 1;
  }
  return (int64_t)result;
}

/* double -> integer as a cast does: truncate, NaN -> 0, saturate at the int64 range. */
static int64_t f64_to_i64(double v) {
  if (!(v == v)) return 0;
  if (v >= 9223372036854775807.0) return INT64_MAX;
  if (v <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)v;
}

static void store_i64(mt_dtype dt, void *p, int64_t i, int64_t v) {
  switch (dt) {
  case MT_DTYPE_INT64: ((int64_t *)p)[i] = v; break;
  case MT_DTYPE_INT32: ((int32_t *)p)[i] = (int32_t)(uint32_t)(uint64_t)v; break;
  case MT_DTYPE_INT8: ((int8_t *)p)[i] = (int8_t)(uint8_t)(uint64_t)v; break;
  case MT_DTYPE_UINT8: ((uint8_t *)p)[i] = (uint8_t)(uint64_t)v; break;
  default: break;
  }
}

static void row_pow_mixed(const void *ctx_, const void *const *in, const int64_t *st, void *out,
                          int64_t n) {
  const pow_ctx *c = ctx_;
  bool int_base = mt_dtype_is_integer(c->base);
  bool int_exp = mt_dtype_is_integer(c->exp);
  for (int64_t i = 0; i < n; i++) {
    int64_t ia = i * st[0], ib = i * st[1];
    if (int_base && int_exp) {
      store_i64(c->out, out, i, ipow(load_i64(c->base, in[0], ia), load_i64(c->exp, in[1], ib)));
      continue;
    }
    double v = pow(load_f64(c->base, in[0], ia), load_f64(c->exp, in[1], ib));
    if (c->out == MT_DTYPE_FLOAT32)
      ((float *)out)[i] = (float)v;
    else if (mt_dtype_is_float16_like(c->out))
      ((uint16_t *)out)[i] = mt_float_to_f16like(c->out, (float)v);
    else if (c->out == MT_DTYPE_FLOAT64)
      ((double *)out)[i] = v;
    else
      store_i64(c->out, out, i, f64_to_i64(v));
  }
}

mt_status *mt_cpu_ew_binary(mt_ew_binary op, const mt_tensor *a, const mt_tensor *b,
                            mt_tensor *out) {
  bool logical = op == MT_EW_AND || op == MT_EW_OR || op == MT_EW_XOR;
  bool bool_out = logical || mt_ew_binary_is_compare(op);
  if (op != MT_EW_POW && a->dtype != b->dtype)
    return MT_ERR(INVALID_ARGUMENT, "inputs differ in dtype: %s vs %s", mt_dtype_name(a->dtype),
                  mt_dtype_name(b->dtype));
  mt_dtype want_out = bool_out ? MT_DTYPE_BOOL : a->dtype;
  if (out->dtype != want_out)
    return MT_ERR(INTERNAL, "binary kernel: output is %s, expected %s", mt_dtype_name(out->dtype),
                  mt_dtype_name(want_out));
  if (!mt_cpu_ew_binary_supports(op, a->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported by this op", mt_dtype_name(a->dtype));
  /* an exponent of the wider integer types goes through double (they are not `int_exp`) */
  if (op == MT_EW_POW && !(mt_dtype_is_float_any(b->dtype) || mt_dtype_is_integer_any(b->dtype)))
    return MT_ERR(UNIMPLEMENTED, "exponent dtype %s is not supported", mt_dtype_name(b->dtype));

  mt_bcast_plan plan;
  const mt_tensor *ins[2] = {a, b};
  MT_RETURN_IF_ERROR_PLAIN(mt_bcast_plan_init(&plan, 2, ins, out->rank, out->dims));
  const void *data[2] = {a->data, b->data};
  size_t esize[2] = {mt_dtype_size(a->dtype), mt_dtype_size(b->dtype)};
  size_t oesize = mt_dtype_size(out->dtype);

  if (op == MT_EW_POW && !(a->dtype == MT_DTYPE_FLOAT32 && b->dtype == MT_DTYPE_FLOAT32) &&
      !(a->dtype == MT_DTYPE_FLOAT64 && b->dtype == MT_DTYPE_FLOAT64)) {
    pow_ctx ctx = {a->dtype, b->dtype, out->dtype};
    mt_bcast_plan_run(&plan, data, esize, out->data, oesize, row_pow_mixed, &ctx);
    return NULL;
  }
  if (mt_dtype_is_float16_like(a->dtype)) {
    f16_ctx ctx = {pick_row(op, MT_DTYPE_FLOAT32), bool_out, a->dtype};
    mt_bcast_plan_run(&plan, data, esize, out->data, oesize, row_f16, &ctx);
    return NULL;
  }
  mt_bcast_plan_run(&plan, data, esize, out->data, oesize, pick_row(op, a->dtype), NULL);
  return NULL;
}

/* Where rows by element size; the condition is a bool byte. */
#define DEFINE_WHERE_ROW(name, T)                                                                  \
  static void name(const void *ctx, const void *const *in, const int64_t *st, void *out_,          \
                   int64_t n) {                                                                    \
    (void)ctx;                                                                                     \
    const uint8_t *c = in[0];                                                                      \
    const T *x = in[1], *y = in[2];                                                                \
    T *o = out_;                                                                                   \
    const int64_t sc = st[0], sx = st[1], sy = st[2];                                              \
    for (int64_t i = 0; i < n; i++) o[i] = c[i * sc] ? x[i * sx] : y[i * sy];                      \
  }
DEFINE_WHERE_ROW(where_1, uint8_t)
DEFINE_WHERE_ROW(where_2, uint16_t)
DEFINE_WHERE_ROW(where_4, uint32_t)
DEFINE_WHERE_ROW(where_8, uint64_t)

static mt_bcast_row_fn where_row(size_t esize) {
  switch (esize) {
  case 1: return where_1;
  case 2: return where_2;
  case 4: return where_4;
  case 8: return where_8;
  default: return NULL;
  }
}

mt_status *mt_cpu_ew_where(const mt_tensor *cond, const mt_tensor *x, const mt_tensor *y,
                           mt_tensor *out) {
  if (cond->dtype != MT_DTYPE_BOOL)
    return MT_ERR(INVALID_ARGUMENT, "condition must be bool, got %s", mt_dtype_name(cond->dtype));
  if (x->dtype != y->dtype || out->dtype != x->dtype)
    return MT_ERR(INVALID_ARGUMENT, "X and Y differ in dtype: %s vs %s", mt_dtype_name(x->dtype),
                  mt_dtype_name(y->dtype));
  size_t es = mt_dtype_size(x->dtype);
  mt_bcast_row_fn fn = where_row(es);
  if (!fn) return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(x->dtype));
  mt_bcast_plan plan;
  const mt_tensor *ins[3] = {cond, x, y};
  MT_RETURN_IF_ERROR_PLAIN(mt_bcast_plan_init(&plan, 3, ins, out->rank, out->dims));
  const void *data[3] = {cond->data, x->data, y->data};
  size_t esize[3] = {1, es, es};
  mt_bcast_plan_run(&plan, data, esize, out->data, es, fn, NULL);
  return NULL;
}

static void copy_row(const void *ctx, const void *const *in, const int64_t *st, void *out,
                     int64_t n) {
  size_t es = *(const size_t *)ctx;
  if (st[0]) {
    memmove(out, in[0], (size_t)n * es);
    return;
  }
  for (int64_t i = 0; i < n; i++) memcpy((char *)out + (size_t)i * es, in[0], es);
}

mt_status *mt_cpu_ew_broadcast_copy(const mt_tensor *in, mt_tensor *out) {
  if (in->dtype != out->dtype)
    return MT_ERR(INVALID_ARGUMENT, "broadcast copy from %s to %s", mt_dtype_name(in->dtype),
                  mt_dtype_name(out->dtype));
  size_t es = mt_dtype_size(in->dtype);
  if (es == 0) return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(in->dtype));
  mt_bcast_plan plan;
  const mt_tensor *ins[1] = {in};
  MT_RETURN_IF_ERROR_PLAIN(mt_bcast_plan_init(&plan, 1, ins, out->rank, out->dims));
  const void *data[1] = {in->data};
  mt_bcast_plan_run(&plan, data, &es, out->data, es, copy_row, &es);
  return NULL;
}

mt_status *mt_cpu_ew_divide_by(mt_tensor *out, int64_t n) {
  int64_t count = mt_tensor_numel(out);
  if (out->dtype == MT_DTYPE_FLOAT32) {
    float *o = out->data;
    const float d = (float)n;
    for (int64_t i = 0; i < count; i++) o[i] = o[i] / d;
  } else if (out->dtype == MT_DTYPE_FLOAT64) {
    double *o = out->data;
    for (int64_t i = 0; i < count; i++) o[i] = o[i] / (double)n;
  } else if (mt_dtype_is_float16_like(out->dtype)) {
    uint16_t *o = out->data;
    const float d = (float)n;
    mt_dtype dt = out->dtype;
    for (int64_t i = 0; i < count; i++)
      o[i] = mt_float_to_f16like(dt, mt_f16like_to_float(dt, o[i]) / d);
  } else {
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(out->dtype));
  }
  return NULL;
}
