/* ONNX elementwise ops: the family's op table, plus the unary ops (activations, math, Clip, Not),
 * Cast/CastLike, Identity and Dropout. Binary, variadic and Where ops are in
 * elementwise_binary.c. Arithmetic lives in runtime/cpu/elementwise*.c and runtime/cpu/cast.c. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "ir/ops/elementwise_ops.h"
#include "runtime/cpu/elementwise.h"
#include "runtime/cpu/float8.h"

/* ---- unary ops ---- */

MT_MUST_USE static mt_status *infer_unary(mt_op_ctx *c, mt_ew_unary op) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (!x) return MT_ERR(INVALID_ARGUMENT, "expected an input");
  if (!mt_cpu_ew_unary_supports(op, x->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(x->dtype));
  if (mt_ew_unary_is_classify(op)) {
    mt_op_set_output(c, 0, MT_DTYPE_BOOL, x->rank, x->dims);
    return NULL;
  }
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *params_for(const mt_op_ctx *c, mt_ew_unary op, mt_ew_params *p) {
  memset(p, 0, sizeof *p);
  const mt_node *n = c->node;
  switch (op) {
  case MT_EW_LEAKY_RELU: p->alpha = mt_node_attr_float(n, "alpha", 0.01f); break;
  case MT_EW_HARD_SIGMOID:
    p->alpha = mt_node_attr_float(n, "alpha", 0.2f);
    p->beta = mt_node_attr_float(n, "beta", 0.5f);
    break;
  case MT_EW_ELU: p->alpha = mt_node_attr_float(n, "alpha", 1.0f); break;
  case MT_EW_SELU:
    p->alpha = mt_node_attr_float(n, "alpha", 1.67326319217681884765625f);
    p->gamma = mt_node_attr_float(n, "gamma", 1.05070102214813232421875f);
    break;
  case MT_EW_GELU: {
    const char *approx = mt_node_attr_string(n, "approximate", "none");
    if (strcmp(approx, "tanh") == 0) {
      p->approximate = 1;
    } else if (strcmp(approx, "none") != 0) {
      return MT_ERR(INVALID_ARGUMENT, "Gelu approximate '%s' is neither 'none' nor 'tanh'", approx);
    }
    break;
  }
  case MT_EW_CELU:
    p->alpha = mt_node_attr_float(n, "alpha", 1.0f);
    if (p->alpha == 0.0f) return MT_ERR(INVALID_ARGUMENT, "Celu alpha must not be 0");
    break;
  case MT_EW_THRESHOLDED_RELU:
  case MT_EW_SWISH: p->alpha = mt_node_attr_float(n, "alpha", 1.0f); break;
  case MT_EW_SHRINK:
    p->alpha = mt_node_attr_float(n, "lambd", 0.5f);
    p->beta = mt_node_attr_float(n, "bias", 0.0f);
    break;
  case MT_EW_ISINF:
    p->alpha = mt_node_attr_int(n, "detect_positive", 1) != 0 ? 1.0f : 0.0f;
    p->beta = mt_node_attr_int(n, "detect_negative", 1) != 0 ? 1.0f : 0.0f;
    break;
  default: break;
  }
  return NULL;
}

MT_MUST_USE static mt_status *lower_unary(const mt_op_ctx *c, mt_ew_unary op,
                                          mt_kernel_call *call) {
  call->kind = MT_KERNEL_UNARY;
  call->params.unary.op = op;
  return params_for(c, op, &call->params.unary.params);
}

#define UNARY_OP(fname, OP)                                                                        \
  static mt_status *infer_##fname(mt_op_ctx *c) { return infer_unary(c, OP); }                     \
  static mt_status *lower_##fname(const mt_op_ctx *c, mt_kernel_call *call) {                      \
    return lower_unary(c, OP, call);                                                               \
  }

UNARY_OP(relu, MT_EW_RELU)
UNARY_OP(leaky_relu, MT_EW_LEAKY_RELU)
UNARY_OP(sigmoid, MT_EW_SIGMOID)
UNARY_OP(tanh, MT_EW_TANH)
UNARY_OP(hard_sigmoid, MT_EW_HARD_SIGMOID)
UNARY_OP(hard_swish, MT_EW_HARD_SWISH)
UNARY_OP(elu, MT_EW_ELU)
UNARY_OP(selu, MT_EW_SELU)
UNARY_OP(softplus, MT_EW_SOFTPLUS)
UNARY_OP(gelu, MT_EW_GELU)
UNARY_OP(erf, MT_EW_ERF)
UNARY_OP(sqrt, MT_EW_SQRT)
UNARY_OP(exp, MT_EW_EXP)
UNARY_OP(log, MT_EW_LOG)
UNARY_OP(neg, MT_EW_NEG)
UNARY_OP(abs, MT_EW_ABS)
UNARY_OP(reciprocal, MT_EW_RECIPROCAL)
UNARY_OP(floor, MT_EW_FLOOR)
UNARY_OP(ceil, MT_EW_CEIL)
UNARY_OP(not, MT_EW_NOT)
UNARY_OP(sin, MT_EW_SIN)
UNARY_OP(cos, MT_EW_COS)
UNARY_OP(tan, MT_EW_TAN)
UNARY_OP(asin, MT_EW_ASIN)
UNARY_OP(acos, MT_EW_ACOS)
UNARY_OP(atan, MT_EW_ATAN)
UNARY_OP(sinh, MT_EW_SINH)
UNARY_OP(cosh, MT_EW_COSH)
UNARY_OP(asinh, MT_EW_ASINH)
UNARY_OP(acosh, MT_EW_ACOSH)
UNARY_OP(atanh, MT_EW_ATANH)
UNARY_OP(sign, MT_EW_SIGN)
UNARY_OP(round, MT_EW_ROUND)
UNARY_OP(softsign, MT_EW_SOFTSIGN)
UNARY_OP(celu, MT_EW_CELU)
UNARY_OP(thresholded_relu, MT_EW_THRESHOLDED_RELU)
UNARY_OP(mish, MT_EW_MISH)
UNARY_OP(swish, MT_EW_SWISH)
UNARY_OP(shrink, MT_EW_SHRINK)
UNARY_OP(isnan, MT_EW_ISNAN)
UNARY_OP(isinf, MT_EW_ISINF)
UNARY_OP(bitwise_not, MT_EW_BITWISE_NOT)

static const char *gelu_unsupported(const mt_node *n) {
  const char *approx = mt_node_attr_string(n, "approximate", "none");
  if (strcmp(approx, "none") != 0 && strcmp(approx, "tanh") != 0) return "Gelu approximate mode";
  return NULL;
}

/* ---- Clip: `min`/`max` attributes before opset 11, optional scalar inputs from 11 ---- */

MT_MUST_USE static mt_status *infer_clip(mt_op_ctx *c) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (!x) return MT_ERR(INVALID_ARGUMENT, "expected an input");
  for (int i = 1; i <= 2 && c->opset >= 11; i++) {
    const mt_tensor *b = mt_op_input(c, i);
    if (!b) continue;
    if (b->dtype != x->dtype)
      return MT_ERR(INVALID_ARGUMENT, "input %d is %s but input 0 is %s", i,
                    mt_dtype_name(b->dtype), mt_dtype_name(x->dtype));
    if (mt_tensor_numel(b) != 1)
      return MT_ERR(INVALID_ARGUMENT, "input %d must be a scalar, has %lld elements", i,
                    (long long)mt_tensor_numel(b));
  }
  return infer_unary(c, MT_EW_CLIP);
}

MT_MUST_USE static mt_status *lower_clip(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_UNARY;
  call->params.unary.op = MT_EW_CLIP;
  mt_ew_params p;
  memset(&p, 0, sizeof p);
  p.lo = -INFINITY;
  p.hi = INFINITY;
  p.lo_i = INT64_MIN;
  p.hi_i = INT64_MAX;
  if (c->opset < 11) {
    /* Float attributes; for integer tensors the tightest integer bounds inside them. */
    p.lo = mt_node_attr_float(c->node, "min", -FLT_MAX);
    p.hi = mt_node_attr_float(c->node, "max", FLT_MAX);
    if (p.lo > -9.2e18) p.lo_i = (int64_t)ceil(p.lo);
    if (p.hi < 9.2e18) p.hi_i = (int64_t)floor(p.hi);
  } else {
    call->params.unary.bounds_from_inputs = true; /* optional scalar inputs 1 and 2 */
  }
  call->params.unary.params = p;
  return NULL;
}

/* ---- Cast, CastLike ---- */

/* Opsets 1-5 name the target type with a string ("FLOAT"); later ones use the dtype number. */
static mt_dtype cast_target(const mt_node *n) {
  const mt_attr *to = mt_node_attr(n, "to");
  if (!to) return MT_DTYPE_UNDEFINED;
  if (to->type != MT_ATTR_STRING) return (mt_dtype)to->i;
  static const struct {
    const char *name;
    mt_dtype dt;
  } names[] = {
      {"FLOAT", MT_DTYPE_FLOAT32},   {"UINT8", MT_DTYPE_UINT8},    {"INT8", MT_DTYPE_INT8},
      {"UINT16", MT_DTYPE_UINT16},   {"INT16", MT_DTYPE_INT16},    {"INT32", MT_DTYPE_INT32},
      {"INT64", MT_DTYPE_INT64},     {"STRING", MT_DTYPE_STRING},  {"BOOL", MT_DTYPE_BOOL},
      {"FLOAT16", MT_DTYPE_FLOAT16}, {"DOUBLE", MT_DTYPE_FLOAT64}, {"UINT32", MT_DTYPE_UINT32},
      {"UINT64", MT_DTYPE_UINT64}};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(to->s, names[i].name) == 0) return names[i].dt;
  return MT_DTYPE_UNDEFINED;
}

/* A Cast to a packed type writes several elements per byte: it runs as its own kernel, a thread
 * per output byte (codegen/cuda_packed.c), never fused into an elementwise loop. */
static mt_op_pattern cast_pattern(const mt_node *n) {
  return mt_dtype_is_packed(cast_target(n)) ? MT_PATTERN_OPAQUE : MT_PATTERN_ELEMENTWISE;
}

static const char *cast_unsupported(const mt_node *n) {
  mt_dtype to = cast_target(n);
  if (to != MT_DTYPE_UNDEFINED && !mt_dtype_supported(to)) return "Cast to an unsupported dtype";
  return NULL;
}

MT_MUST_USE static mt_status *infer_cast_to(mt_op_ctx *c, mt_dtype to) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (!x) return MT_ERR(INVALID_ARGUMENT, "expected an input");
  if (!mt_dtype_supported(to))
    return MT_ERR(UNIMPLEMENTED, "cast to %s is not supported", mt_dtype_name(to));
  mt_op_set_output(c, 0, to, x->rank, x->dims);
  return NULL;
}

MT_MUST_USE static mt_status *infer_cast(mt_op_ctx *c) {
  mt_dtype to = cast_target(c->node);
  if (to == MT_DTYPE_UNDEFINED)
    return MT_ERR(INVALID_ARGUMENT, "attribute 'to' is missing or names no known type");
  return infer_cast_to(c, to);
}

MT_MUST_USE static mt_status *infer_cast_like(mt_op_ctx *c) {
  const mt_tensor *target = mt_op_input(c, 1);
  if (!target) return MT_ERR(INVALID_ARGUMENT, "expected a target_type input");
  return infer_cast_to(c, target->dtype);
}

/* saturate (opset 19+) only changes float8 targets; its default 1 is MT_KERNEL_CAST's rule.
 * round_mode (opset 24+) only changes float8e8m0 targets; its default "up" is MT_KERNEL_CAST's. */
MT_MUST_USE static mt_status *lower_cast(const mt_op_ctx *c, mt_kernel_call *call) {
  bool saturate = c->opset < 19 || mt_node_attr_int(c->node, "saturate", 1) != 0;
  const mt_tensor *like = strcmp(c->node->op_type, "CastLike") == 0 ? mt_op_input(c, 1) : NULL;
  mt_dtype to = like ? like->dtype : cast_target(c->node);
  bool float8 = mt_dtype_is_float8(to) || to == MT_DTYPE_FLOAT8E8M0;
  call->kind = !saturate && float8 ? MT_KERNEL_CAST_NO_SATURATE : MT_KERNEL_CAST;
  const char *mode = c->opset >= 24 ? mt_node_attr_string(c->node, "round_mode", "up") : "up";
  if (strcmp(mode, "up") != 0 && strcmp(mode, "down") != 0 && strcmp(mode, "nearest") != 0)
    return MT_ERR(INVALID_ARGUMENT, "round_mode '%s' is not up, down or nearest", mode);
  if (to == MT_DTYPE_FLOAT8E8M0 && strcmp(mode, "down") == 0)
    call->kind = MT_KERNEL_CAST_E8M0_DOWN; /* rounding down never overflows: saturate is moot */
  else if (to == MT_DTYPE_FLOAT8E8M0 && strcmp(mode, "nearest") == 0)
    call->kind = saturate ? MT_KERNEL_CAST_E8M0_NEAREST : MT_KERNEL_CAST_E8M0_NEAREST_NO_SATURATE;
  return NULL;
}

/* ---- Dropout (Identity itself is registered with the shape family) ---- */

/* Dropout only runs as inference (output = input). From opset 12 a training_mode input that is
 * known to be true, with a non-zero ratio, asks for random masking, which mtcc does not do. */
MT_MUST_USE static mt_status *dropout_check_mode(const mt_op_ctx *c) {
  if (c->opset < 12) return NULL;
  const mt_tensor *mode = mt_op_input(c, 2);
  if (!mode || !mode->data || mt_tensor_numel(mode) != 1 || !mt_tensor_get_i64(mode, 0))
    return NULL;
  const mt_tensor *ratio = mt_op_input(c, 1);
  double r = 0.5;
  if (ratio) {
    if (!ratio->data) return MT_ERR(UNIMPLEMENTED, "Dropout in training mode");
    r = mt_tensor_get_f64(ratio, 0);
  }
  if (r != 0.0) return MT_ERR(UNIMPLEMENTED, "Dropout in training mode");
  return NULL;
}

MT_MUST_USE static mt_status *infer_dropout(mt_op_ctx *c) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (!x) return MT_ERR(INVALID_ARGUMENT, "expected an input");
  MT_RETURN_IF_ERROR_PLAIN(dropout_check_mode(c));
  mt_op_same_as_input(c, 0, 0);
  /* The mask is bool from opset 10; before that it had X's type. */
  if (mt_op_has_output(c, 1))
    mt_op_set_output(c, 1, c->opset >= 10 ? MT_DTYPE_BOOL : x->dtype, x->rank, x->dims);
  return NULL;
}

/* Inference Dropout copies X; its optional mask output is all ones. */
MT_MUST_USE static mt_status *lower_dropout(const mt_op_ctx *c, mt_kernel_call *call) {
  MT_RETURN_IF_ERROR_PLAIN(dropout_check_mode(c));
  /* A copy is right only when training_mode is known to be false: lowered ahead of time with the
   * mode left to run time (a graph input), the call could silently skip the masking. */
  const mt_tensor *mode = mt_op_input(c, 2);
  if (c->opset >= 12 && mode && !mode->data)
    return MT_ERR(UNIMPLEMENTED, "Dropout whose training_mode is only known at run time");
  call->kind = MT_KERNEL_COPY;
  call->params.copy.fill_mask = true;
  return NULL;
}

/* ---- the table ---- */

/* A unary op: its pattern is elementwise, `traits` say whether it is float math (epilogue-able)
 * and whether it evaluates a transcendental. */
#define UNARY_DEF(name, fname, op_traits)                                                          \
  {                                                                                                \
    .op_type = name, .min_inputs = 1, .max_inputs = 1, .pattern = MT_PATTERN_ELEMENTWISE,          \
    .traits = (op_traits), .infer = infer_##fname, .lower = lower_##fname                          \
  }
#define FLOAT_MATH MT_TRAIT_FLOAT_MATH
#define TRANSCENDENTAL (MT_TRAIT_FLOAT_MATH | MT_TRAIT_TRANSCENDENTAL)

const mt_op_def mt_ops_elementwise[] = {
    UNARY_DEF("Relu", relu, FLOAT_MATH),
    UNARY_DEF("LeakyRelu", leaky_relu, FLOAT_MATH),
    UNARY_DEF("Sigmoid", sigmoid, TRANSCENDENTAL),
    UNARY_DEF("Tanh", tanh, TRANSCENDENTAL),
    UNARY_DEF("HardSigmoid", hard_sigmoid, FLOAT_MATH),
    UNARY_DEF("HardSwish", hard_swish, TRANSCENDENTAL),
    UNARY_DEF("Elu", elu, TRANSCENDENTAL),
    UNARY_DEF("Selu", selu, TRANSCENDENTAL),
    UNARY_DEF("Softplus", softplus, TRANSCENDENTAL),
    {.op_type = "Gelu",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_ELEMENTWISE,
     .traits = MT_TRAIT_FLOAT_MATH | MT_TRAIT_TRANSCENDENTAL,
     .infer = infer_gelu,
     .lower = lower_gelu,
     .unsupported_reason = gelu_unsupported},
    UNARY_DEF("Erf", erf, TRANSCENDENTAL),
    UNARY_DEF("Sqrt", sqrt, TRANSCENDENTAL),
    UNARY_DEF("Exp", exp, TRANSCENDENTAL),
    UNARY_DEF("Log", log, TRANSCENDENTAL),
    UNARY_DEF("Neg", neg, FLOAT_MATH),
    UNARY_DEF("Abs", abs, FLOAT_MATH),
    UNARY_DEF("Reciprocal", reciprocal, FLOAT_MATH),
    UNARY_DEF("Floor", floor, FLOAT_MATH),
    UNARY_DEF("Ceil", ceil, FLOAT_MATH),
    UNARY_DEF("Not", not, 0),
    UNARY_DEF("Sin", sin, TRANSCENDENTAL),
    UNARY_DEF("Cos", cos, TRANSCENDENTAL),
    UNARY_DEF("Tan", tan, TRANSCENDENTAL),
    UNARY_DEF("Asin", asin, TRANSCENDENTAL),
    UNARY_DEF("Acos", acos, TRANSCENDENTAL),
    UNARY_DEF("Atan", atan, TRANSCENDENTAL),
    UNARY_DEF("Sinh", sinh, TRANSCENDENTAL),
    UNARY_DEF("Cosh", cosh, TRANSCENDENTAL),
    UNARY_DEF("Asinh", asinh, TRANSCENDENTAL),
    UNARY_DEF("Acosh", acosh, TRANSCENDENTAL),
    UNARY_DEF("Atanh", atanh, TRANSCENDENTAL),
    UNARY_DEF("Sign", sign, FLOAT_MATH),
    UNARY_DEF("Round", round, FLOAT_MATH),
    UNARY_DEF("Softsign", softsign, FLOAT_MATH),
    UNARY_DEF("Celu", celu, TRANSCENDENTAL),
    UNARY_DEF("ThresholdedRelu", thresholded_relu, FLOAT_MATH),
    UNARY_DEF("Mish", mish, TRANSCENDENTAL),
    UNARY_DEF("Swish", swish, TRANSCENDENTAL),
    UNARY_DEF("Shrink", shrink, FLOAT_MATH),
    UNARY_DEF("IsNaN", isnan, 0),
    UNARY_DEF("IsInf", isinf, 0),
    UNARY_DEF("BitwiseNot", bitwise_not, 0),
    {.op_type = "Clip",
     .min_inputs = 1,
     .max_inputs = 3,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH,
     .infer = infer_clip,
     .lower = lower_clip},
    {.op_type = "PRelu",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH,
     .infer = mt_ew_infer_prelu,
     .lower = mt_ew_lower_prelu},
    {.op_type = "Add",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH,
     .infer = mt_ew_infer_arith,
     .lower = mt_ew_lower_add},
    {.op_type = "Sub",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH,
     .infer = mt_ew_infer_arith,
     .lower = mt_ew_lower_sub},
    {.op_type = "Mul",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH,
     .infer = mt_ew_infer_arith,
     .lower = mt_ew_lower_mul},
    {.op_type = "Div",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH,
     .infer = mt_ew_infer_arith,
     .lower = mt_ew_lower_div},
    {.op_type = "Pow",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH | MT_TRAIT_TRANSCENDENTAL,
     .infer = mt_ew_infer_pow,
     .lower = mt_ew_lower_pow},
    {.op_type = "Equal",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_compare,
     .lower = mt_ew_lower_equal},
    {.op_type = "Less",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_compare,
     .lower = mt_ew_lower_less},
    {.op_type = "LessOrEqual",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_compare,
     .lower = mt_ew_lower_less_equal},
    {.op_type = "Greater",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_compare,
     .lower = mt_ew_lower_greater},
    {.op_type = "GreaterOrEqual",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_compare,
     .lower = mt_ew_lower_greater_equal},
    {.op_type = "And",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_logical,
     .lower = mt_ew_lower_and},
    {.op_type = "Or",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_logical,
     .lower = mt_ew_lower_or},
    {.op_type = "Xor",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_logical,
     .lower = mt_ew_lower_xor},
    {.op_type = "Mod",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_mod,
     .lower = mt_ew_lower_mod},
    {.op_type = "BitShift",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_bitshift,
     .lower = mt_ew_lower_bitshift},
    {.op_type = "BitwiseAnd",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_bitwise,
     .lower = mt_ew_lower_bitwise_and},
    {.op_type = "BitwiseOr",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_bitwise,
     .lower = mt_ew_lower_bitwise_or},
    {.op_type = "BitwiseXor",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_bitwise,
     .lower = mt_ew_lower_bitwise_xor},
    {.op_type = "Sum",
     .min_inputs = 1,
     .max_inputs = -1,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH,
     .infer = mt_ew_infer_variadic,
     .lower = mt_ew_lower_sum},
    {.op_type = "Mean",
     .min_inputs = 1,
     .max_inputs = -1,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH,
     .infer = mt_ew_infer_mean,
     .lower = mt_ew_lower_mean},
    {.op_type = "Min",
     .min_inputs = 1,
     .max_inputs = -1,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH,
     .infer = mt_ew_infer_variadic,
     .lower = mt_ew_lower_min},
    {.op_type = "Max",
     .min_inputs = 1,
     .max_inputs = -1,
     .pattern = MT_PATTERN_BROADCAST,
     .traits = MT_TRAIT_FLOAT_MATH,
     .infer = mt_ew_infer_variadic,
     .lower = mt_ew_lower_max},
    {.op_type = "Where",
     .min_inputs = 3,
     .max_inputs = 3,
     .pattern = MT_PATTERN_BROADCAST,
     .infer = mt_ew_infer_where,
     .lower = mt_ew_lower_where},
    {.op_type = "Cast",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_ELEMENTWISE,
     .node_pattern = cast_pattern,
     .traits = MT_TRAIT_NO_ARITHMETIC,
     .infer = infer_cast,
     .lower = lower_cast,
     .unsupported_reason = cast_unsupported},
    {.op_type = "CastLike",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_ELEMENTWISE,
     .traits = MT_TRAIT_NO_ARITHMETIC,
     .infer = infer_cast_like,
     .lower = lower_cast},
    {.op_type = "Dropout",
     .min_inputs = 1,
     .max_inputs = 3,
     .pattern = MT_PATTERN_INJECTIVE,
     .traits = MT_TRAIT_METADATA,
     .infer = infer_dropout,
     .lower = lower_dropout},
    {0},
};
