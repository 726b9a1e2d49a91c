/* Entry points shared by the elementwise op files (ir/ops/elementwise*.c); the op table that
 * names them lives in elementwise.c. Private to the elementwise family. */
#ifndef MT_IR_OPS_ELEMENTWISE_OPS_H
#define MT_IR_OPS_ELEMENTWISE_OPS_H

#include "ir/op.h"

/* Binary ops with numpy broadcasting (and the opset < 7 `broadcast`/`axis` form). */
MT_MUST_USE mt_status *mt_ew_infer_arith(mt_op_ctx *c);   /* Add Sub Mul Div Min Max-like: output = input dtype */
MT_MUST_USE mt_status *mt_ew_infer_compare(mt_op_ctx *c); /* comparisons: bool output */
MT_MUST_USE mt_status *mt_ew_infer_logical(mt_op_ctx *c); /* And Or Xor: bool inputs and output */
MT_MUST_USE mt_status *mt_ew_infer_pow(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_infer_prelu(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_add(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_sub(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_mul(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_div(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_pow(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_prelu(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_equal(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_less(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_less_equal(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_greater(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_greater_equal(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_and(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_or(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_xor(mt_op_ctx *c);

/* Variadic Sum, Mean, Min, Max with broadcasting. */
MT_MUST_USE mt_status *mt_ew_infer_variadic(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_infer_mean(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_sum(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_mean(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_min(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_max(mt_op_ctx *c);

MT_MUST_USE mt_status *mt_ew_infer_where(mt_op_ctx *c);
MT_MUST_USE mt_status *mt_ew_run_where(mt_op_ctx *c);

#endif
