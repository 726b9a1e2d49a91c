/* Helpers shared by the sequence/optional ops (sequence.c) and the looping control flow
 * (loop.c, scan.c): data movement along one axis on malloc'ed tensors, and reading body graphs.
 * Internal to ir/ops/. */
#ifndef MT_IR_OPS_CONTROL_INTERNAL_H
#define MT_IR_OPS_CONTROL_INTERNAL_H

#include "ir/op.h"
#include "runtime/cpu/container.h"

/* out = t[..., start:start+len, ...] along axis (data malloc'ed); drop_axis removes the axis
 * (len must be 1). */
MT_MUST_USE mt_status *mt_ctl_slice_axis(const mt_tensor *t, int axis, int64_t start, int64_t len,
                                         bool drop_axis, mt_tensor *out);
/* Concatenates parts[0..n) along axis (new_axis: stacks them along a new axis at `axis`).
 * Every part must have the same dtype and, apart from the axis, the same dims. n >= 1. */
MT_MUST_USE mt_status *mt_ctl_concat(const mt_tensor *parts, int64_t n, int axis, bool new_axis,
                                     mt_tensor *out);
/* Frees the data of t[0..n) and the array itself. */
void mt_ctl_free_tensors(mt_tensor *t, int64_t n);
/* The graph attribute `name` of the node, or an error naming it. */
MT_MUST_USE mt_status *mt_ctl_body(const mt_op_ctx *c, const char *name, const mt_graph **out);
/* Runs the body once: inputs borrowed, outputs fresh (array of g->n_outputs, caller frees). */
MT_MUST_USE mt_status *mt_ctl_run_body(mt_op_ctx *c, const mt_graph *g, const mt_tensor *inputs,
                                       mt_tensor **out);
/* Output i of the node takes t (moves the data; frees it when the output is omitted). */
void mt_ctl_set_output(mt_op_ctx *c, int i, mt_tensor *t);

#endif
