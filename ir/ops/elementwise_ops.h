/* Entry points shared by the elementwise op files (ir/ops/elementwise*.c); the op table that
 * names them lives in elementwise.c. Private to the elementwise family. */
#ifndef MT_IR_OPS_ELEMENTWISE_OPS_H
#define MT_IR_OPS_ELEMENTWISE_OPS_H

#include "ir/op.h"

/* Binary ops with numpy broadcasting (and the opset < 7 `broadcast`/`axis` form). */
MT_MUST_USE mt_status *
mt_ew_infer_arith(mt_op_ctx *c); /* Add Sub Mul Div Min Max-like: output = input dtype */
MT_MUST_USE mt_status *mt_ew_infer_compare(mt_op_ctx *c); /* comparisons: bool output */
MT_MUST_USE mt_status *mt_ew_infer_logical(mt_op_ctx *c); /* And Or Xor: bool inputs and output */
MT_MUST_USE mt_status *mt_ew_infer_pow(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_infer_prelu(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_lower_add(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_sub(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_mul(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_div(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_pow(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_prelu(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_equal(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_less(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_less_equal(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_greater(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_greater_equal(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_and(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_or(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_xor(const mt_op_ctx *c, mt_kernel_call *call);

/* Mod (fmod 0/1), BitShift (direction), BitwiseAnd/Or/Xor: same-dtype operands, broadcasting. */
MT_MUST_USE mt_status *mt_ew_infer_mod(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_lower_mod(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_infer_bitshift(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_lower_bitshift(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_infer_bitwise(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_lower_bitwise_and(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_bitwise_or(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_bitwise_xor(const mt_op_ctx *c, mt_kernel_call *call);

/* Variadic Sum, Mean, Min, Max with broadcasting. */
MT_MUST_USE mt_status *mt_ew_infer_variadic(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_infer_mean(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_lower_sum(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_mean(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_min(const mt_op_ctx *c, mt_kernel_call *call);
MT_MUST_USE mt_status *mt_ew_lower_max(const mt_op_ctx *c, mt_kernel_call *call);

MT_MUST_USE mt_status *mt_ew_infer_where(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_lower_where(const mt_op_ctx *c, mt_kernel_call *call);

#endif
