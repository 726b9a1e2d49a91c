/* Elementwise CPU kernels: unary maps, broadcasting binary ops, comparisons, Where.
 *
 * Kernels work on mt_tensor views whose shapes the caller has already inferred; they still check
 * that the shapes broadcast (a cheap guard, errors instead of out-of-bounds reads). float16 values
 * are computed in float32 and rounded back per element, like ONNX Runtime's reference kernels.
 * Integer arithmetic wraps (two's complement) instead of invoking C's signed-overflow UB, and
 * integer division by zero yields 0 instead of trapping. Everything is single-threaded with a
 * fixed evaluation order, so results are bit-identical from run to run. */
#ifndef MT_CPU_ELEMENTWISE_H
#define MT_CPU_ELEMENTWISE_H

#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

typedef enum mt_ew_unary {
  MT_EW_RELU,
  MT_EW_LEAKY_RELU, /* alpha */
  MT_EW_SIGMOID,
  MT_EW_TANH,
  MT_EW_HARD_SIGMOID, /* alpha, beta */
  MT_EW_HARD_SWISH,
  MT_EW_ELU,  /* alpha */
  MT_EW_SELU, /* alpha, gamma */
  MT_EW_SOFTPLUS,
  MT_EW_GELU, /* approximate: 0 = erf form, 1 = tanh form */
  MT_EW_ERF,
  MT_EW_SQRT,
  MT_EW_EXP,
  MT_EW_LOG,
  MT_EW_NEG,
  MT_EW_ABS,
  MT_EW_RECIPROCAL,
  MT_EW_FLOOR,
  MT_EW_CEIL,
  MT_EW_CLIP, /* lo, hi (in the tensor's own dtype domain) */
  MT_EW_NOT,
  /* Appended (values are stored in bundles): trigonometric and hyperbolic functions (float) */
  MT_EW_SIN,
  MT_EW_COS,
  MT_EW_TAN,
  MT_EW_ASIN,
  MT_EW_ACOS,
  MT_EW_ATAN,
  MT_EW_SINH,
  MT_EW_COSH,
  MT_EW_ASINH,
  MT_EW_ACOSH,
  MT_EW_ATANH,
  MT_EW_SIGN,  /* any numeric dtype; NaN stays NaN */
  MT_EW_ROUND, /* half to even */
  MT_EW_SOFTSIGN,
  MT_EW_CELU,             /* alpha */
  MT_EW_THRESHOLDED_RELU, /* alpha */
  MT_EW_MISH,
  MT_EW_SHRINK,      /* alpha = lambd, beta = bias */
  MT_EW_ISNAN,       /* bool output */
  MT_EW_ISINF,       /* bool output; alpha != 0: detect +inf, beta != 0: detect -inf */
  MT_EW_BITWISE_NOT, /* integers */
  MT_EW_SWISH,       /* x * sigmoid(alpha * x) */
  MT_EW_UNARY_LAST = MT_EW_SWISH,
} mt_ew_unary;

typedef struct mt_ew_params {
  float alpha, beta, gamma;
  int approximate;
  double lo, hi;      /* Clip bounds for float tensors */
  int64_t lo_i, hi_i; /* Clip bounds for integer tensors (any integer dtype) */
} mt_ew_params;

typedef enum mt_ew_binary {
  MT_EW_ADD,
  MT_EW_SUB,
  MT_EW_MUL,
  MT_EW_DIV,
  MT_EW_POW, /* base and exponent may differ in dtype; output takes the base's */
  MT_EW_MIN,
  MT_EW_MAX,
  MT_EW_PRELU, /* a = x, b = slope */
  MT_EW_EQUAL, /* comparisons: output bool */
  MT_EW_LESS,
  MT_EW_LESS_EQUAL,
  MT_EW_GREATER,
  MT_EW_GREATER_EQUAL,
  MT_EW_AND, /* logical: bool inputs and output */
  MT_EW_OR,
  MT_EW_XOR,
  /* Appended (values are stored in bundles) */
  MT_EW_MOD,         /* integer Mod (fmod 0): the result takes the divisor's sign; x % 0 = 0 */
  MT_EW_FMOD,        /* C fmod: the result takes the dividend's sign (floats, or fmod 1) */
  MT_EW_SHIFT_LEFT,  /* BitShift on unsigned integers; shifts >= the width give 0 */
  MT_EW_SHIFT_RIGHT, /* logical */
  MT_EW_BITWISE_AND, /* integers */
  MT_EW_BITWISE_OR,
  MT_EW_BITWISE_XOR,
  MT_EW_BINARY_LAST = MT_EW_BITWISE_XOR,
} mt_ew_binary;

/* Whether the kernel implements op for elements of dtype dt (for Pow: the base's dtype). */
bool mt_cpu_ew_unary_supports(mt_ew_unary op, mt_dtype dt);
bool mt_cpu_ew_binary_supports(mt_ew_binary op, mt_dtype dt);
static inline bool mt_ew_binary_is_compare(mt_ew_binary op) {
  return op >= MT_EW_EQUAL && op <= MT_EW_GREATER_EQUAL;
}
/* IsNaN and IsInf map any float to bool; every other unary op keeps its input's dtype. */
static inline bool mt_ew_unary_is_classify(mt_ew_unary op) {
  return op == MT_EW_ISNAN || op == MT_EW_ISINF;
}

/* out = op(in), same dtype and element count (out may alias in). */
MT_MUST_USE mt_status *mt_cpu_ew_unary(mt_ew_unary op, const mt_ew_params *p, const mt_tensor *in,
                                       mt_tensor *out);
/* out = op(a, b) with numpy broadcasting to out's shape. a and b share a dtype except for Pow;
 * out is bool for comparisons and logical ops. out may alias a or b when that operand already
 * has out's shape (the running accumulator of Sum/Max/...). */
MT_MUST_USE mt_status *mt_cpu_ew_binary(mt_ew_binary op, const mt_tensor *a, const mt_tensor *b,
                                        mt_tensor *out);
/* out = cond ? x : y with three-way broadcasting; cond is bool. */
MT_MUST_USE mt_status *mt_cpu_ew_where(const mt_tensor *cond, const mt_tensor *x,
                                       const mt_tensor *y, mt_tensor *out);
/* Copies in into out, broadcasting in's shape to out's (numpy rules; same dtype). */
MT_MUST_USE mt_status *mt_cpu_ew_broadcast_copy(const mt_tensor *in, mt_tensor *out);
/* Mean's final step, in place: out[i] = out[i] / n (float types only). */
MT_MUST_USE mt_status *mt_cpu_ew_divide_by(mt_tensor *out, int64_t n);

#endif
