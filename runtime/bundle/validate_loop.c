/* The loader's checks of Loop and Scan nodes (runtime/bundle/mtbundle.proto, LoopBody): the body
 * range (shared with If: each branch node claimed once, nesting bounded), body inputs writable
 * and their own, and every type the runtime's byte copies rely on (run_loop.c): carried values
 * keep their type through the body, a scan slice is its operand less the scan axis, the scan
 * outputs hold exactly max_trips (Loop) or the scan length (Scan) slices. */
#include <stdlib.h>

#include "runtime/bundle/bundle.h"

/* Iterations a bundle Loop may be compiled for (the writer's cap for an unbounded one). */
#define MAX_TRIPS ((int64_t)1 << 20)

#define KIND_NONE MTBUNDLE__BUFFER_REF__KIND__NONE

static bool is_none(const Mtbundle__BufferRef *r) { return r->kind == KIND_NONE; }

/* r is one element of dtype dt. */
static bool scalar_of(const Mtbundle__BufferRef *r, mt_dtype dt) {
  return !is_none(r) && r->type->dtype == (int32_t)dt &&
         mt_bundle_type_bytes(r->type) == mt_dtype_size(dt);
}

/* t is `base` with `len` inserted at axis (after the batch axis of `batch` when batched). */
static bool with_axis(const Mtbundle__TensorType *t, const Mtbundle__TensorType *base, size_t axis,
                      int64_t len, const Mtbundle__TensorType *batch) {
  size_t lead = batch ? 1 : 0;
  if (t->dtype != base->dtype || t->n_dims != base->n_dims + 1 + lead || axis > base->n_dims)
    return false;
  if (batch && (batch->n_dims < 1 || t->dims[0] != batch->dims[0])) return false;
  for (size_t d = 0, s = 0; d < base->n_dims + 1; d++)
    if (t->dims[lead + d] != (d == axis ? len : base->dims[s++])) return false;
  return true;
}

MT_MUST_USE static mt_status *check_body_refs(const Mtbundle__Manifest *m, const Mtbundle__Node *n,
                                              const char *what) {
  const Mtbundle__LoopBody *lb = n->loop;
  for (size_t i = 0; i < lb->n_body_inputs; i++) {
    const Mtbundle__BufferRef *r = lb->body_inputs[i];
    MT_RETURN_IF_ERROR(mt_bundle_check_ref(m, r, true, n->tenant, what), "body input %zu", i);
    if (is_none(r) || r->kind != MTBUNDLE__BUFFER_REF__KIND__SCRATCH)
      return MT_ERR(DATA_LOSS, "%s: body input %zu is not scratch bytes of its own", what, i);
    for (size_t j = 0; j < i; j++) /* each is written on its own every iteration */
      if (lb->body_inputs[j]->offset < r->offset + r->size &&
          r->offset < lb->body_inputs[j]->offset + lb->body_inputs[j]->size)
        return MT_ERR(DATA_LOSS, "%s: body inputs %zu and %zu share bytes", what, j, i);
  }
  for (size_t i = 0; i < lb->n_body_outputs; i++) {
    MT_RETURN_IF_ERROR(mt_bundle_check_ref(m, lb->body_outputs[i], false, n->tenant, what),
                       "body output %zu", i);
    if (is_none(lb->body_outputs[i]))
      return MT_ERR(DATA_LOSS, "%s: body output %zu is missing", what, i);
  }
  return NULL;
}

/* Carried value i: node input `in`, body input `bin`, body output `bout`, node output `out` of
 * one type (the node's operand with a leading batch axis when `batched`). */
MT_MUST_USE static mt_status *check_carried(const Mtbundle__Node *n, size_t in, size_t bin,
                                            size_t bout, size_t out, bool batched,
                                            const char *what) {
  const Mtbundle__LoopBody *lb = n->loop;
  const Mtbundle__TensorType *body = lb->body_inputs[bin]->type;
  const Mtbundle__BufferRef *ni = n->inputs[in], *no = n->outputs[out];
  bool ok = !is_none(ni) && mt_bundle_same_type(lb->body_outputs[bout]->type, body);
  if (ok && !batched) ok = mt_bundle_same_type(ni->type, body);
  if (ok && batched)
    ok = with_axis(ni->type, body, 0, ni->type->n_dims ? ni->type->dims[0] : -1, NULL);
  if (ok && !is_none(no)) ok = mt_bundle_same_type(no->type, ni->type);
  if (!ok)
    return MT_ERR(DATA_LOSS,
                  "%s: loop-carried value %zu changes type between the node's input, the body "
                  "and the node's output",
                  what, out);
  return NULL;
}

MT_MUST_USE static mt_status *check_loop_io(const Mtbundle__Node *n, const char *what) {
  const Mtbundle__LoopBody *lb = n->loop;
  if (n->n_inputs < 2 || lb->n_body_inputs != n->n_inputs ||
      lb->n_body_outputs != 1 + n->n_outputs || n->n_outputs < n->n_inputs - 2 || lb->batched ||
      lb->n_scan_input_axes || lb->n_scan_input_reverse || lb->n_scan_output_axes ||
      lb->n_scan_output_reverse)
    return MT_ERR(DATA_LOSS,
                  "%s: a Loop with %zu inputs, %zu outputs, %zu body inputs and %zu body outputs "
                  "(or Scan fields)",
                  what, n->n_inputs, n->n_outputs, lb->n_body_inputs, lb->n_body_outputs);
  if ((!is_none(n->inputs[0]) && !scalar_of(n->inputs[0], MT_DTYPE_INT64)) ||
      (!is_none(n->inputs[1]) && !scalar_of(n->inputs[1], MT_DTYPE_BOOL)) ||
      (is_none(n->inputs[0]) && is_none(n->inputs[1])))
    return MT_ERR(DATA_LOSS, "%s: Loop needs M (one int64) or cond (one bool), each optional",
                  what);
  if (!scalar_of(lb->body_inputs[0], MT_DTYPE_INT64) ||
      !scalar_of(lb->body_inputs[1], MT_DTYPE_BOOL) ||
      !scalar_of(lb->body_outputs[0], MT_DTYPE_BOOL))
    return MT_ERR(DATA_LOSS,
                  "%s: the body's iteration number, condition input or condition output is not "
                  "one int64, bool, bool",
                  what);
  if (lb->max_trips < 0 || lb->max_trips > MAX_TRIPS)
    return MT_ERR(DATA_LOSS, "%s: max_trips %lld is out of range [0, %lld]", what,
                  (long long)lb->max_trips, (long long)MAX_TRIPS);
  size_t n_carried = n->n_inputs - 2;
  for (size_t i = 0; i < n_carried; i++)
    MT_RETURN_IF_ERROR_PLAIN(check_carried(n, 2 + i, 2 + i, 1 + i, i, false, what));
  for (size_t k = 0; n_carried + k < n->n_outputs; k++) {
    const Mtbundle__BufferRef *no = n->outputs[n_carried + k];
    if (!is_none(no) &&
        !with_axis(no->type, lb->body_outputs[1 + n_carried + k]->type, 0, lb->max_trips, NULL))
      return MT_ERR(DATA_LOSS, "%s: scan output %zu is not max_trips (%lld) of the body's slices",
                    what, k, (long long)lb->max_trips);
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_scan_io(const Mtbundle__Node *n, const char *what) {
  const Mtbundle__LoopBody *lb = n->loop;
  size_t first = lb->batched ? 1 : 0, n_in = lb->n_scan_input_axes, n_out = lb->n_scan_output_axes;
  if (n_in < 1 || lb->n_scan_input_reverse != n_in || lb->n_scan_output_reverse != n_out ||
      n->n_inputs < first + n_in || n->n_outputs < n_out ||
      n->n_outputs - n_out != n->n_inputs - first - n_in ||
      lb->n_body_inputs != n->n_inputs - first || lb->n_body_outputs != n->n_outputs ||
      lb->max_trips != 0)
    return MT_ERR(DATA_LOSS,
                  "%s: a Scan with %zu inputs, %zu outputs, %zu body inputs, %zu body outputs, "
                  "%zu scan inputs and %zu scan outputs",
                  what, n->n_inputs, n->n_outputs, lb->n_body_inputs, lb->n_body_outputs, n_in,
                  n_out);
  size_t n_state = n->n_inputs - first - n_in;
  const Mtbundle__BufferRef *in0 = n->inputs[first + n_state];
  if (is_none(in0) || (size_t)lb->scan_input_axes[0] + first >= in0->type->n_dims ||
      lb->scan_input_axes[0] < 0 || (lb->batched && in0->type->n_dims < 1))
    return MT_ERR(DATA_LOSS, "%s: scan input 0 or its axis is invalid", what);
  const Mtbundle__TensorType *batch = lb->batched ? in0->type : NULL;
  int64_t len = in0->type->dims[lb->scan_input_axes[0] + first];
  if (lb->batched && !is_none(n->inputs[0]) &&
      (n->inputs[0]->type->dtype != MT_DTYPE_INT64 || n->inputs[0]->type->n_dims != 1 ||
       n->inputs[0]->type->dims[0] != in0->type->dims[0]))
    return MT_ERR(DATA_LOSS, "%s: sequence_lens is not one int64 per batch entry", what);
  for (size_t i = 0; i < n_state; i++)
    MT_RETURN_IF_ERROR_PLAIN(check_carried(n, first + i, i, i, i, lb->batched, what));
  for (size_t i = 0; lb->batched && i < n_state; i++)
    if (n->inputs[first + i]->type->dims[0] != in0->type->dims[0])
      return MT_ERR(DATA_LOSS, "%s: state %zu has another batch size", what, i);
  for (size_t j = 0; j < n_in; j++) {
    const Mtbundle__BufferRef *ni = n->inputs[first + n_state + j];
    int64_t axis = lb->scan_input_axes[j];
    if (is_none(ni) || axis < 0 || axis >= MT_MAX_RANK ||
        !with_axis(ni->type, lb->body_inputs[n_state + j]->type, (size_t)axis, len, batch))
      return MT_ERR(DATA_LOSS,
                    "%s: scan input %zu is not %lld slices of body input %zu along axis %lld", what,
                    j, (long long)len, n_state + j, (long long)axis);
  }
  for (size_t k = 0; k < n_out; k++) {
    const Mtbundle__BufferRef *no = n->outputs[n_state + k];
    int64_t axis = lb->scan_output_axes[k];
    if (axis < 0 || axis >= MT_MAX_RANK ||
        (!is_none(no) &&
         !with_axis(no->type, lb->body_outputs[n_state + k]->type, (size_t)axis, len, batch)))
      return MT_ERR(DATA_LOSS,
                    "%s: scan output %zu is not %lld slices of body output %zu along axis %lld",
                    what, k, (long long)len, n_state + k, (long long)axis);
  }
  return NULL;
}

mt_status *mt_bundle_check_loop(const Mtbundle__Manifest *m, const Mtbundle__Node *n, size_t limit,
                                uint8_t *owned, uint8_t *depth, uint8_t *out_depth,
                                const char *what) {
  const Mtbundle__LoopBody *lb = n->loop;
  *out_depth = 1;
  if (n->kernel_kind != 0 || n->params.len != 0 || n->if_branches)
    return MT_ERR(DATA_LOSS, "%s: a Loop/Scan node with a kernel kind, parameters or branches",
                  what);
  MT_RETURN_IF_ERROR_PLAIN(mt_bundle_check_branch_range(m, n, lb->body_first, lb->body_count, limit,
                                                        owned, depth, out_depth, "body", what));
  if (*out_depth > MT_BUNDLE_MAX_IF_DEPTH)
    return MT_ERR(DATA_LOSS, "%s: If, Loop and Scan nodes nest deeper than %d", what,
                  MT_BUNDLE_MAX_IF_DEPTH);
  MT_RETURN_IF_ERROR_PLAIN(check_body_refs(m, n, what));
  return lb->scan ? check_scan_io(n, what) : check_loop_io(n, what);
}
