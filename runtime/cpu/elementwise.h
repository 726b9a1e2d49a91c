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
} mt_ew_binary;

/* Whether the kernel implements op for elements of dtype dt (for Pow: the base's dtype). */
bool mt_cpu_ew_unary_supports(mt_ew_unary op, mt_dtype dt);
bool mt_cpu_ew_binary_supports(mt_ew_binary op, mt_dtype dt);
static inline bool mt_ew_binary_is_compare(mt_ew_binary op) {
  return op >= MT_EW_EQUAL && op <= MT_EW_GREATER_EQUAL;
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
