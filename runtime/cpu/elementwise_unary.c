/* Unary elementwise kernels: activations, math functions, Clip, Not.
 *
 * float32 loops are written per op so the compiler can vectorise the simple ones; float16 runs the
 * float32 loop over small converted chunks, rounding each result once. Integer variants exist only
 * where ONNX defines them (Relu, Neg, Abs, Clip, Erf, Sign, BitwiseNot). IsNaN and IsInf write
 * bool. */
#include <math.h>

#include "runtime/cpu/elementwise.h"

#define CHUNK 256

static bool is_float_only(mt_ew_unary op) {
  switch (op) {
  case MT_EW_RELU:
  case MT_EW_NEG:
  case MT_EW_ABS:
  case MT_EW_CLIP:
  case MT_EW_ERF:
  case MT_EW_SIGN:
  case MT_EW_NOT:
  case MT_EW_BITWISE_NOT: return false;
  default: return true;
  }
}

bool mt_cpu_ew_unary_supports(mt_ew_unary op, mt_dtype dt) {
  if (op == MT_EW_NOT) return dt == MT_DTYPE_BOOL;
  if (op == MT_EW_BITWISE_NOT) return mt_dtype_is_integer_any(dt);
  if (mt_dtype_is_float_any(dt)) return true;
  if (op == MT_EW_ERF) return mt_dtype_is_integer(dt); /* not defined for the other ints */
  return mt_dtype_is_integer_any(dt) && !is_float_only(op);
}

/* The float kernels, once per float type T: M(f) names the math function for T (expf / exp),
 * L(c) a literal of T (1.0f / 1.0), so float32 keeps its exact float expressions and float64
 * computes in double throughout. */
#define DEFINE_UNARY_FLOAT(sfx, T, M, L)                                                           \
  /* Split on the sign so exp never overflows into inf/inf. */                                     \
  static T sigmoid_##sfx(T x) {                                                                    \
    if (x >= 0) return L(1.0) / (L(1.0) + M(exp)(-x));                                             \
    T e = M(exp)(x);                                                                               \
    return e / (L(1.0) + e);                                                                       \
  }                                                                                                \
  /* log(1 + e^x) without overflow: x + log1p(e^-x) for positive x. */                             \
  static T softplus_##sfx(T x) { return x > 0 ? x + M(log1p)(M(exp)(-x)) : M(log1p)(M(exp)(x)); }  \
  static T gelu_##sfx(T x, int approximate) {                                                      \
    if (approximate) {                                                                             \
      const T k = L(0.7978845608028654); /* sqrt(2/pi) */                                          \
      return L(0.5) * x * (L(1.0) + M(tanh)(k * (x + L(0.044715) * x * x * x)));                   \
    }                                                                                              \
    return L(0.5) * x * (L(1.0) + M(erf)(x * L(0.70710678118654752)));                             \
  }                                                                                                \
  static T mish_##sfx(T x) { return x * M(tanh)(softplus_##sfx(x)); }                              \
  /* NaN keeps NaN (numpy.sign); zero of either sign gives +0. */                                  \
  static T sign_##sfx(T x) {                                                                       \
    return x > L(0.0) ? L(1.0) : (x < L(0.0) ? L(-1.0) : (x == x ? L(0.0) : x));                   \
  }                                                                                                \
  static void unary_##sfx(mt_ew_unary op, const mt_ew_params *p, const T *in, T *out, int64_t n) { \
    const T alpha = p->alpha, beta = p->beta, gamma = p->gamma;                                    \
    const T lo = (T)p->lo, hi = (T)p->hi;                                                          \
    switch (op) {                                                                                  \
    case MT_EW_RELU: MAP(x < L(0.0) ? L(0.0) : x);                                                 \
    case MT_EW_LEAKY_RELU: MAP(x < L(0.0) ? alpha * x : x);                                        \
    case MT_EW_SIGMOID: MAP(sigmoid_##sfx(x));                                                     \
    case MT_EW_TANH: MAP(M(tanh)(x));                                                              \
    case MT_EW_HARD_SIGMOID: MAP(M(fmax)(L(0.0), M(fmin)(L(1.0), alpha * x + beta)));              \
    case MT_EW_HARD_SWISH:                                                                         \
        MAP(x *M(fmax)(L(0.0), M(fmin)(L(1.0), x * (L(1.0) / L(6.0)) + L(0.5))));                  \
    case MT_EW_ELU: MAP(x < L(0.0) ? alpha * M(expm1)(x) : x);                                     \
    case MT_EW_SELU: MAP(x <= L(0.0) ? gamma * (alpha * M(exp)(x) - alpha) : gamma * x);           \
    case MT_EW_SOFTPLUS: MAP(softplus_##sfx(x));                                                   \
    case MT_EW_GELU: MAP(gelu_##sfx(x, p->approximate));                                           \
    case MT_EW_ERF: MAP(M(erf)(x));                                                                \
    case MT_EW_SQRT: MAP(M(sqrt)(x));                                                              \
    case MT_EW_EXP: MAP(M(exp)(x));                                                                \
    case MT_EW_LOG: MAP(M(log)(x));                                                                \
    case MT_EW_NEG: MAP(-x);                                                                       \
    case MT_EW_ABS: MAP(M(fabs)(x));                                                               \
    case MT_EW_RECIPROCAL: MAP(L(1.0) / x);                                                        \
    case MT_EW_FLOOR: MAP(M(floor)(x));                                                            \
    case MT_EW_CEIL: MAP(M(ceil)(x));                                                              \
    /* max then min, as numpy.clip: hi wins when lo > hi; NaN fails both and passes through. */    \
    case MT_EW_CLIP: MAP((x < lo ? lo : x) > hi ? hi : (x < lo ? lo : x));                         \
    case MT_EW_SIN: MAP(M(sin)(x));                                                                \
    case MT_EW_COS: MAP(M(cos)(x));                                                                \
    case MT_EW_TAN: MAP(M(tan)(x));                                                                \
    case MT_EW_ASIN: MAP(M(asin)(x));                                                              \
    case MT_EW_ACOS: MAP(M(acos)(x));                                                              \
    case MT_EW_ATAN: MAP(M(atan)(x));                                                              \
    case MT_EW_SINH: MAP(M(sinh)(x));                                                              \
    case MT_EW_COSH: MAP(M(cosh)(x));                                                              \
    case MT_EW_ASINH: MAP(M(asinh)(x));                                                            \
    case MT_EW_ACOSH: MAP(M(acosh)(x));                                                            \
    case MT_EW_ATANH: MAP(M(atanh)(x));                                                            \
    case MT_EW_SIGN: MAP(sign_##sfx(x));                                                           \
    case MT_EW_ROUND: MAP(M(nearbyint)(x)); /* the default rounding mode: half to even */          \
    case MT_EW_SOFTSIGN: MAP(x / (L(1.0) + M(fabs)(x)));                                           \
    case MT_EW_CELU: MAP(M(fmax)(L(0.0), x) + M(fmin)(L(0.0), alpha * M(expm1)(x / alpha)));       \
    case MT_EW_THRESHOLDED_RELU: MAP(x > alpha ? x : L(0.0));                                      \
    case MT_EW_MISH: MAP(mish_##sfx(x));                                                           \
    case MT_EW_SWISH: MAP(x *sigmoid_##sfx(alpha *x));                                             \
    case MT_EW_SHRINK: MAP(x < -alpha ? x + beta : (x > alpha ? x - beta : L(0.0)));               \
    case MT_EW_NOT:                                                                                \
    case MT_EW_ISNAN:                                                                              \
    case MT_EW_ISINF:                                                                              \
    case MT_EW_BITWISE_NOT: break;                                                                 \
    }                                                                                              \
  }

#define MAP(expr)                                                                                  \
  for (int64_t i = 0; i < n; i++) {                                                                \
    const __typeof__(in[0]) x = in[i];                                                             \
    out[i] = (expr);                                                                               \
  }                                                                                                \
  break
#define M32(fn) fn##f
#define L32(c) c##f
#define M64(fn) fn
#define L64(c) c
DEFINE_UNARY_FLOAT(f32, float, M32, L32)
DEFINE_UNARY_FLOAT(f64, double, M64, L64)
#undef MAP

/* float16 and bfloat16 (dt): widened to float32 in chunks, rounded back once per element. */
static void unary_f16(mt_dtype dt, mt_ew_unary op, const mt_ew_params *p, const uint16_t *in,
                      uint16_t *out, int64_t n) {
  float buf[CHUNK];
  for (int64_t base = 0; base < n; base += CHUNK) {
    int64_t m = n - base < CHUNK ? n - base : CHUNK;
    for (int64_t i = 0; i < m; i++) buf[i] = mt_f16like_to_float(dt, in[base + i]);
    unary_f32(op, p, buf, buf, m);
    for (int64_t i = 0; i < m; i++) out[base + i] = mt_float_to_f16like(dt, buf[i]);
  }
}

/* Integer kernels. U is the unsigned twin of T so negation wraps without UB. NEG(v) is v < 0
 * written so that it draws no always-false warning for the unsigned types. */
#define NEG(v) ((v) < 1 && (v) != 0)
#define DEFINE_UNARY_INT(name, T, U, TMIN, TMAX)                                                   \
  static void name(mt_ew_unary op, const mt_ew_params *p, const T *in, T *out, int64_t n) {        \
    switch (op) {                                                                                  \
    case MT_EW_RELU:                                                                               \
      for (int64_t i = 0; i < n; i++) out[i] = NEG(in[i]) ? (T)0 : in[i];                          \
      break;                                                                                       \
    case MT_EW_NEG:                                                                                \
      for (int64_t i = 0; i < n; i++) out[i] = (T)(U)((U)0 - (U)in[i]);                            \
      break;                                                                                       \
    case MT_EW_ABS:                                                                                \
      for (int64_t i = 0; i < n; i++) out[i] = NEG(in[i]) ? (T)(U)((U)0 - (U)in[i]) : in[i];       \
      break;                                                                                       \
    case MT_EW_CLIP: {                                                                             \
      int64_t lo64 = p->lo_i < (int64_t)(TMIN) ? (int64_t)(TMIN) : p->lo_i;                        \
      int64_t hi64 = p->hi_i > (int64_t)(TMAX) ? (int64_t)(TMAX) : p->hi_i;                        \
      T lo = (T)lo64, hi = (T)hi64;                                                                \
      for (int64_t i = 0; i < n; i++) {                                                            \
        T v = in[i] < lo ? lo : in[i];                                                             \
        out[i] = v > hi ? hi : v;                                                                  \
      }                                                                                            \
      break;                                                                                       \
    }                                                                                              \
    case MT_EW_ERF:                                                                                \
      /* erf of an integer lies in (-1, 1) or is exactly +-1; truncation as for a cast. */         \
      for (int64_t i = 0; i < n; i++) out[i] = (T)erf((double)in[i]);                              \
      break;                                                                                       \
    case MT_EW_SIGN:                                                                               \
      for (int64_t i = 0; i < n; i++) out[i] = (T)(in[i] > 0 ? 1 : (NEG(in[i]) ? -1 : 0));         \
      break;                                                                                       \
    case MT_EW_BITWISE_NOT:                                                                        \
      for (int64_t i = 0; i < n; i++) out[i] = (T)(U)(~(U)in[i]);                                  \
      break;                                                                                       \
    default: break;                                                                                \
    }                                                                                              \
  }

DEFINE_UNARY_INT(unary_i64, int64_t, uint64_t, INT64_MIN, INT64_MAX)
DEFINE_UNARY_INT(unary_i32, int32_t, uint32_t, INT32_MIN, INT32_MAX)
DEFINE_UNARY_INT(unary_i8, int8_t, uint8_t, INT8_MIN, INT8_MAX)
DEFINE_UNARY_INT(unary_u8, uint8_t, uint8_t, 0, UINT8_MAX)
DEFINE_UNARY_INT(unary_i16, int16_t, uint16_t, INT16_MIN, INT16_MAX)
DEFINE_UNARY_INT(unary_u16, uint16_t, uint16_t, 0, UINT16_MAX)
DEFINE_UNARY_INT(unary_u32, uint32_t, uint32_t, 0, UINT32_MAX)
DEFINE_UNARY_INT(unary_u64, uint64_t, uint64_t, 0, INT64_MAX)

/* IsNaN / IsInf: float (any width) in, bool bytes out. */
static bool classify(mt_ew_unary op, const mt_ew_params *p, double x) {
  if (op == MT_EW_ISNAN) return x != x;
  return (x == INFINITY && p->alpha != 0.0f) || (x == -INFINITY && p->beta != 0.0f);
}

MT_MUST_USE static mt_status *unary_classify(mt_ew_unary op, const mt_ew_params *p,
                                             const mt_tensor *in, mt_tensor *out) {
  if (out->dtype != MT_DTYPE_BOOL)
    return MT_ERR(INVALID_ARGUMENT, "unary kernel: output %s, expected bool",
                  mt_dtype_name(out->dtype));
  int64_t n = mt_tensor_numel(in);
  if (n != mt_tensor_numel(out))
    return MT_ERR(INTERNAL, "unary kernel: %lld input elements but %lld outputs", (long long)n,
                  (long long)mt_tensor_numel(out));
  uint8_t *o = out->data;
  for (int64_t i = 0; i < n; i++) o[i] = classify(op, p, mt_tensor_get_f64(in, i));
  return NULL;
}

mt_status *mt_cpu_ew_unary(mt_ew_unary op, const mt_ew_params *p, const mt_tensor *in,
                           mt_tensor *out) {
  static const mt_ew_params no_params = {0};
  if (!p) p = &no_params;
  if (mt_ew_unary_is_classify(op)) {
    if (!mt_cpu_ew_unary_supports(op, in->dtype))
      return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported by this op",
                    mt_dtype_name(in->dtype));
    return unary_classify(op, p, in, out);
  }
  if (in->dtype != out->dtype)
    return MT_ERR(INVALID_ARGUMENT, "unary kernel: input %s but output %s",
                  mt_dtype_name(in->dtype), mt_dtype_name(out->dtype));
  if (!mt_cpu_ew_unary_supports(op, in->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported by this op", mt_dtype_name(in->dtype));
  int64_t n = mt_tensor_numel(in);
  if (n != mt_tensor_numel(out))
    return MT_ERR(INTERNAL, "unary kernel: %lld input elements but %lld outputs", (long long)n,
                  (long long)mt_tensor_numel(out));
  switch (in->dtype) {
  case MT_DTYPE_FLOAT32: unary_f32(op, p, in->data, out->data, n); break;
  case MT_DTYPE_FLOAT16:
  case MT_DTYPE_BFLOAT16: unary_f16(in->dtype, op, p, in->data, out->data, n); break;
  case MT_DTYPE_FLOAT64: unary_f64(op, p, in->data, out->data, n); break;
  case MT_DTYPE_INT64: unary_i64(op, p, in->data, out->data, n); break;
  case MT_DTYPE_INT32: unary_i32(op, p, in->data, out->data, n); break;
  case MT_DTYPE_INT8: unary_i8(op, p, in->data, out->data, n); break;
  case MT_DTYPE_UINT8: unary_u8(op, p, in->data, out->data, n); break;
  case MT_DTYPE_INT16: unary_i16(op, p, in->data, out->data, n); break;
  case MT_DTYPE_UINT16: unary_u16(op, p, in->data, out->data, n); break;
  case MT_DTYPE_UINT32: unary_u32(op, p, in->data, out->data, n); break;
  case MT_DTYPE_UINT64: unary_u64(op, p, in->data, out->data, n); break;
  case MT_DTYPE_BOOL: {
    const uint8_t *a = in->data;
    uint8_t *o = out->data;
    for (int64_t i = 0; i < n; i++) o[i] = !a[i];
    break;
  }
  default: break;
  }
  return NULL;
}
