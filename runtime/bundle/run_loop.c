/* Loop and Scan nodes of a bundle on libmtrt's CPU path (mtbundle.proto, LoopBody), as the
 * reference executor runs them (ir/ops/loop.c), on the static buffers the writer placed: before
 * each iteration the body's inputs are written (iteration number, condition, carried values,
 * scan slices), the body's nodes run in order, then the carried results are staged back into the
 * body's inputs and the scan slices copied into the node's outputs. Everything indexed here was
 * checked by the loader (validate_loop.c): types match, slices fit, the trip count of a Loop with
 * scan outputs is checked against the buffers every iteration. */
#include <stdlib.h>
#include <string.h>

#include "runtime/bundle/run_loop.h"

typedef struct loop_run {
  const mt_bundle_loop_host *h;
  const Mtbundle__Node *n;
  const Mtbundle__LoopBody *lb;
  uint8_t *stage; /* carried results between iterations (a result may be another's input) */
} loop_run;

static void *at(const loop_run *r, const Mtbundle__BufferRef *ref) {
  return r->h->resolve(r->h->ctx, ref);
}
static size_t bytes(const Mtbundle__BufferRef *ref) {
  return ref->kind == MTBUNDLE__BUFFER_REF__KIND__NONE ? 0 : mt_bundle_type_bytes(ref->type);
}

MT_MUST_USE static mt_status *run_body(const loop_run *r, int64_t iter) {
  for (size_t k = r->lb->body_first; k < (size_t)r->lb->body_first + r->lb->body_count; k++) {
    mt_status *st = r->h->run_branch_node(r->h->ctx, k);
    if (st) return mt_status_annotate(st, "iteration %lld", (long long)iter);
  }
  return NULL;
}

/* Body outputs [first, first + n) become body inputs [to, to + n), through the stage buffer. */
static void carry(const loop_run *r, size_t first, size_t to, size_t n) {
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    size_t nb = bytes(r->lb->body_outputs[first + i]);
    if (nb) memcpy(r->stage + off, at(r, r->lb->body_outputs[first + i]), nb);
    off += nb;
  }
  off = 0;
  for (size_t i = 0; i < n; i++) {
    size_t nb = bytes(r->lb->body_inputs[to + i]);
    if (nb) memcpy(at(r, r->lb->body_inputs[to + i]), r->stage + off, nb);
    off += nb;
  }
}

/* One slice of a tensor along `axis` (dims without the batch axis; base already at the batch
 * entry): copied out of the tensor into dst (gather) or from src into it (scatter). */
static void slice_copy(uint8_t *base, const int64_t *dims, int rank, int axis, int64_t index,
                       size_t elem, uint8_t *flat, bool gather) {
  size_t outer = 1, inner = elem;
  for (int d = 0; d < axis; d++) outer *= (size_t)dims[d];
  for (int d = axis + 1; d < rank; d++) inner *= (size_t)dims[d];
  for (size_t o = 0; o < outer; o++) {
    uint8_t *t = base + (o * (size_t)dims[axis] + (size_t)index) * inner;
    if (gather)
      memcpy(flat + o * inner, t, inner);
    else
      memcpy(t, flat + o * inner, inner);
  }
}

MT_MUST_USE static mt_status *run_loop(loop_run *r) {
  const Mtbundle__Node *n = r->n;
  const Mtbundle__LoopBody *lb = r->lb;
  size_t n_carried = n->n_inputs - 2, n_scan = n->n_outputs - n_carried;
  bool has_m = n->inputs[0]->kind != MTBUNDLE__BUFFER_REF__KIND__NONE;
  int64_t m = 0;
  if (has_m) memcpy(&m, at(r, n->inputs[0]), sizeof m);
  bool cond = true;
  if (n->inputs[1]->kind != MTBUNDLE__BUFFER_REF__KIND__NONE)
    cond = *(const uint8_t *)at(r, n->inputs[1]) != 0;
  for (size_t i = 0; i < n_carried; i++) {
    size_t nb = bytes(lb->body_inputs[2 + i]);
    if (nb) memmove(at(r, lb->body_inputs[2 + i]), at(r, n->inputs[2 + i]), nb);
  }
  int64_t iter = 0;
  for (; cond && (!has_m || iter < m); iter++) {
    if (iter >= lb->max_trips)
      return n_scan ? MT_ERR(OUT_OF_RANGE,
                             "the loop runs more than the %lld iterations its scan outputs were "
                             "compiled for",
                             (long long)lb->max_trips)
                    : MT_ERR(RESOURCE_EXHAUSTED,
                             "the condition is still true after %lld iterations and no trip "
                             "count (M) bounds the loop: stopped rather than run on",
                             (long long)iter);
    memcpy(at(r, lb->body_inputs[0]), &iter, sizeof iter);
    *(uint8_t *)at(r, lb->body_inputs[1]) = 1; /* the body runs only while cond is true */
    MT_RETURN_IF_ERROR_PLAIN(run_body(r, iter));
    cond = *(const uint8_t *)at(r, lb->body_outputs[0]) != 0;
    carry(r, 1, 2, n_carried);
    for (size_t k = 0; k < n_scan; k++) {
      const Mtbundle__BufferRef *out = n->outputs[n_carried + k];
      size_t nb = bytes(lb->body_outputs[1 + n_carried + k]);
      if (out->kind != MTBUNDLE__BUFFER_REF__KIND__NONE && nb)
        memcpy((uint8_t *)at(r, out) + (size_t)iter * nb,
               at(r, lb->body_outputs[1 + n_carried + k]), nb);
    }
  }
  if (n_scan && iter != lb->max_trips)
    return MT_ERR(OUT_OF_RANGE,
                  "the loop ran %lld iterations; its scan outputs were compiled for %lld",
                  (long long)iter, (long long)lb->max_trips);
  for (size_t i = 0; i < n_carried; i++) {
    size_t nb = bytes(n->outputs[i]);
    if (nb) memmove(at(r, n->outputs[i]), at(r, lb->body_inputs[2 + i]), nb);
  }
  return NULL;
}

/* Per-batch-entry view of operand ref: its bytes and dims without the batch axis. */
static uint8_t *entry(const loop_run *r, const Mtbundle__BufferRef *ref, int64_t b,
                      const int64_t **dims, int *rank) {
  int batched = r->lb->batched ? 1 : 0;
  *dims = ref->type->dims + batched;
  *rank = (int)ref->type->n_dims - batched;
  size_t per = batched ? bytes(ref) / (size_t)ref->type->dims[0] : 0;
  return (uint8_t *)at(r, ref) + (size_t)b * per;
}

MT_MUST_USE static mt_status *run_scan(loop_run *r) {
  const Mtbundle__Node *n = r->n;
  const Mtbundle__LoopBody *lb = r->lb;
  size_t first = lb->batched ? 1 : 0, n_in = lb->n_scan_input_axes;
  size_t n_state = n->n_inputs - first - n_in, n_out = lb->n_scan_output_axes;
  const Mtbundle__BufferRef *in0 = n->inputs[first + n_state];
  int64_t batch = lb->batched ? in0->type->dims[0] : 1;
  int64_t len = in0->type->dims[lb->scan_input_axes[0] + first];
  if (lb->batched && n->inputs[0]->kind != MTBUNDLE__BUFFER_REF__KIND__NONE) {
    const Mtbundle__BufferRef *lens = n->inputs[0];
    const uint8_t *p = at(r, lens);
    for (int64_t b = 0; b < lens->type->dims[0]; b++) {
      int64_t v;
      memcpy(&v, p + (size_t)b * sizeof v, sizeof v);
      if (v != len)
        return MT_ERR(UNIMPLEMENTED,
                      "sequence_lens[%lld] is %lld: lengths shorter than the scan axis (%lld) "
                      "are not supported",
                      (long long)b, (long long)v, (long long)len);
    }
  }
  const int64_t *dims;
  int rank;
  for (int64_t b = 0; b < batch; b++) {
    for (size_t i = 0; i < n_state; i++) {
      size_t nb = bytes(lb->body_inputs[i]);
      if (nb)
        memmove(at(r, lb->body_inputs[i]), entry(r, n->inputs[first + i], b, &dims, &rank), nb);
    }
    for (int64_t t = 0; t < len; t++) {
      for (size_t j = 0; j < n_in; j++) {
        uint8_t *src = entry(r, n->inputs[first + n_state + j], b, &dims, &rank);
        int64_t idx = lb->scan_input_reverse[j] ? len - 1 - t : t;
        slice_copy(src, dims, rank, (int)lb->scan_input_axes[j], idx,
                   mt_dtype_size((mt_dtype)n->inputs[first + n_state + j]->type->dtype),
                   at(r, lb->body_inputs[n_state + j]), true);
      }
      MT_RETURN_IF_ERROR_PLAIN(run_body(r, t));
      carry(r, 0, 0, n_state);
      for (size_t k = 0; k < n_out; k++) {
        const Mtbundle__BufferRef *out = n->outputs[n_state + k];
        if (out->kind == MTBUNDLE__BUFFER_REF__KIND__NONE) continue;
        uint8_t *dst = entry(r, out, b, &dims, &rank);
        int64_t idx = lb->scan_output_reverse[k] ? len - 1 - t : t;
        slice_copy(dst, dims, rank, (int)lb->scan_output_axes[k], idx,
                   mt_dtype_size((mt_dtype)out->type->dtype), at(r, lb->body_outputs[n_state + k]),
                   false);
      }
    }
    for (size_t i = 0; i < n_state; i++) {
      const Mtbundle__BufferRef *out = n->outputs[i];
      size_t nb = bytes(lb->body_inputs[i]);
      if (out->kind != MTBUNDLE__BUFFER_REF__KIND__NONE && nb)
        memmove(entry(r, out, b, &dims, &rank), at(r, lb->body_inputs[i]), nb);
    }
  }
  return NULL;
}

mt_status *mt_bundle_run_loop(const mt_bundle_loop_host *h, const Mtbundle__Node *n) {
  loop_run r = {.h = h, .n = n, .lb = n->loop};
  size_t stage = 0;
  for (size_t i = 0; i < r.lb->n_body_outputs; i++) stage += bytes(r.lb->body_outputs[i]);
  r.stage = malloc(stage + 1);
  if (!r.stage) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = r.lb->scan ? run_scan(&r) : run_loop(&r);
  free(r.stage);
  return st;
}
