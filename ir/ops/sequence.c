/* Sequences and optionals: SequenceEmpty/Construct/Insert/At/Erase/Length, SplitToSequence,
 * ConcatFromSequence, SequenceMap (opsets 11-17 and later; no version changes their semantics
 * beyond admitting more element types), Optional, OptionalHasElement and OptionalGetElement
 * (15; 18 also accepts a plain tensor or sequence, and an omitted input for HasElement; a plain
 * value is taken as a full optional in every opset, as ONNX's type rules let one flow into an
 * optional slot).
 *
 * Container values are blobs inside tensor views (runtime/cpu/container.h). Every op here runs
 * directly on the reference executor (no kernel call): a container's length and element shapes
 * are data, so there is nothing to lower ahead of time, and the bundle writer and codegen refuse
 * these nodes by name. Shape inference knows only that an output is a sequence or optional; the
 * ops that take an element out of one (SequenceAt, ConcatFromSequence, OptionalGetElement) say
 * plainly that its type is not known ahead of time unless the container's value folded. */
#include <stdlib.h>
#include <string.h>

#include "ir/ops/control_internal.h"

#define BIT(i) (1u << (i))

/* ---- reading inputs --------------------------------------------------------------------- */

MT_MUST_USE static mt_status *open_input(const mt_op_ctx *c, int i, mt_dtype kind,
                                         mt_container *out) {
  const mt_tensor *t = mt_op_input(c, i);
  if (!t || t->dtype != kind)
    return MT_ERR(INVALID_ARGUMENT, "input %d must be a %s, got %s", i, mt_dtype_name(kind),
                  t ? mt_dtype_name(t->dtype) : "nothing");
  return mt_container_open(t, out);
}

/* A position input: an integer scalar (or one-element tensor) in [-n, n + extra). */
MT_MUST_USE static mt_status *read_position(const mt_op_ctx *c, int i, int64_t n, int64_t extra,
                                            int64_t dflt, int64_t *out) {
  const mt_tensor *t = mt_op_input(c, i);
  if (!t) {
    *out = dflt;
    return NULL;
  }
  if ((t->dtype != MT_DTYPE_INT64 && t->dtype != MT_DTYPE_INT32) || mt_tensor_numel(t) != 1)
    return MT_ERR(INVALID_ARGUMENT, "input %d (position) must be one int32/int64 value", i);
  int64_t p = mt_tensor_get_i64(t, 0);
  if (p < -n || p >= n + extra)
    return MT_ERR(OUT_OF_RANGE, "input %d (position) %lld is out of range for a sequence of %lld",
                  i, (long long)p, (long long)n);
  *out = p < 0 ? p + n : p;
  return NULL;
}

static mt_status *emit(mt_op_ctx *c, int i, mt_dtype kind, mt_dtype elem_type, int64_t n,
                       const mt_tensor *elems) {
  mt_tensor t;
  MT_RETURN_IF_ERROR_PLAIN(mt_container_make(kind, elem_type, n, elems, &t));
  mt_ctl_set_output(c, i, &t);
  return NULL;
}

/* ---- inference: a container's contents are unknown until it runs ------------------------- */

MT_MUST_USE static mt_status *sequence_out_infer(mt_op_ctx *c) {
  for (int i = 0; i < c->n_outputs; i++)
    if (mt_op_has_output(c, i)) mt_container_unknown(MT_DTYPE_SEQUENCE, &c->outputs[i]);
  return NULL;
}

MT_MUST_USE static mt_status *optional_out_infer(mt_op_ctx *c) {
  mt_container_unknown(MT_DTYPE_OPTIONAL, &c->outputs[0]);
  return NULL;
}

MT_MUST_USE static mt_status *element_unknown_infer(mt_op_ctx *c) {
  return MT_ERR(UNIMPLEMENTED,
                "takes a tensor out of a %s whose contents are only known at run "
                "time, so its dtype and shape are not known ahead of time",
                mt_dtype_name(c->inputs[0]->dtype));
}

MT_MUST_USE static mt_status *scalar_infer(mt_op_ctx *c, mt_dtype dt) {
  mt_op_set_output(c, 0, dt, 0, NULL);
  return NULL;
}
MT_MUST_USE static mt_status *length_infer(mt_op_ctx *c) { return scalar_infer(c, MT_DTYPE_INT64); }
MT_MUST_USE static mt_status *has_element_infer(mt_op_ctx *c) {
  return scalar_infer(c, MT_DTYPE_BOOL);
}

/* ---- the sequence ops -------------------------------------------------------------------- */

MT_MUST_USE static mt_status *sequence_empty_run(mt_op_ctx *c) {
  mt_dtype dt = (mt_dtype)mt_node_attr_int(c->node, "dtype", MT_DTYPE_FLOAT32);
  if (!mt_dtype_supported(dt))
    return MT_ERR(UNIMPLEMENTED, "SequenceEmpty of dtype %s is not supported", mt_dtype_name(dt));
  return emit(c, 0, MT_DTYPE_SEQUENCE, dt, 0, NULL);
}

MT_MUST_USE static mt_status *sequence_construct_run(mt_op_ctx *c) {
  mt_tensor *elems = calloc((size_t)c->n_inputs + 1, sizeof *elems);
  if (!elems) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < c->n_inputs; i++) {
    const mt_tensor *t = mt_op_input(c, i);
    if (!t || mt_dtype_is_container(t->dtype) || t->dtype != c->inputs[0]->dtype) {
      free(elems);
      return MT_ERR(INVALID_ARGUMENT, "input %d must be a tensor of input 0's dtype %s", i,
                    mt_dtype_name(c->inputs[0]->dtype));
    }
    elems[i] = *t;
  }
  mt_status *st = emit(c, 0, MT_DTYPE_SEQUENCE, c->inputs[0]->dtype, c->n_inputs, elems);
  free(elems);
  return st;
}

/* Rebuilds a sequence from `seq` with element `skip` left out (-1: none) and `insert` placed at
 * position `at` (insert NULL: none). */
MT_MUST_USE static mt_status *rebuild(mt_op_ctx *c, const mt_container *seq, int64_t skip,
                                      const mt_tensor *insert, int64_t at) {
  mt_tensor *elems = calloc((size_t)seq->count + 2, sizeof *elems);
  if (!elems) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  int64_t n = 0;
  for (int64_t i = 0; i <= seq->count; i++) {
    if (insert && i == at) elems[n++] = *insert;
    if (i < seq->count && i != skip) elems[n++] = seq->elems[i];
  }
  mt_dtype et = insert ? insert->dtype : seq->elem_type;
  mt_status *st = emit(c, 0, MT_DTYPE_SEQUENCE, et, n, elems);
  free(elems);
  return st;
}

MT_MUST_USE static mt_status *sequence_insert_run(mt_op_ctx *c) {
  mt_container seq;
  MT_RETURN_IF_ERROR_PLAIN(open_input(c, 0, MT_DTYPE_SEQUENCE, &seq));
  const mt_tensor *t = mt_op_input(c, 1);
  mt_status *st = NULL;
  if (mt_dtype_is_container(t->dtype) ||
      (seq.elem_type != MT_DTYPE_UNDEFINED && t->dtype != seq.elem_type))
    st = MT_ERR(INVALID_ARGUMENT, "input 1 is %s; the sequence holds %s", mt_dtype_name(t->dtype),
                mt_dtype_name(seq.elem_type));
  int64_t at = 0;
  if (!st) st = read_position(c, 2, seq.count, 1, seq.count, &at);
  if (!st) st = rebuild(c, &seq, -1, t, at);
  mt_container_free(&seq);
  return st;
}

/* Input 0 (a non-empty sequence) and the element input 1 names (default: the last); seq is
 * opened only on success. */
MT_MUST_USE static mt_status *open_element(const mt_op_ctx *c, mt_container *seq, int64_t *at) {
  MT_RETURN_IF_ERROR_PLAIN(open_input(c, 0, MT_DTYPE_SEQUENCE, seq));
  mt_status *st = seq->count == 0 ? MT_ERR(OUT_OF_RANGE, "the sequence is empty") : NULL;
  if (!st) st = read_position(c, 1, seq->count, 0, seq->count - 1, at);
  if (st) mt_container_free(seq);
  return st;
}

MT_MUST_USE static mt_status *sequence_erase_run(mt_op_ctx *c) {
  mt_container seq;
  int64_t at;
  MT_RETURN_IF_ERROR_PLAIN(open_element(c, &seq, &at));
  mt_status *st = rebuild(c, &seq, at, NULL, 0);
  mt_container_free(&seq);
  return st;
}

MT_MUST_USE static mt_status *sequence_at_run(mt_op_ctx *c) {
  mt_container seq;
  int64_t at;
  MT_RETURN_IF_ERROR_PLAIN(open_element(c, &seq, &at));
  mt_tensor t;
  mt_status *st = mt_value_copy(&seq.elems[at], &t);
  if (!st) mt_ctl_set_output(c, 0, &t);
  mt_container_free(&seq);
  return st;
}

MT_MUST_USE static mt_status *sequence_length_run(mt_op_ctx *c) {
  mt_container seq;
  MT_RETURN_IF_ERROR_PLAIN(open_input(c, 0, MT_DTYPE_SEQUENCE, &seq));
  int64_t *v = malloc(sizeof *v);
  mt_status *st = v ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) {
    *v = seq.count;
    mt_tensor t = {.dtype = MT_DTYPE_INT64, .rank = 0, .data = v};
    mt_ctl_set_output(c, 0, &t);
  }
  mt_container_free(&seq);
  return st;
}

/* SplitToSequence: `split` omitted cuts the axis into ones (squeezed unless keepdims), a scalar
 * into chunks of that size (the last may be shorter), a 1-D tensor into those lengths. */
MT_MUST_USE static mt_status *split_to_sequence_run(mt_op_ctx *c) {
  const mt_tensor *x = mt_op_input(c, 0), *split = mt_op_input(c, 1);
  int axis;
  MT_RETURN_IF_ERROR(mt_normalize_axis(mt_node_attr_int(c->node, "axis", 0), x->rank, &axis),
                     "attribute axis");
  if (mt_dtype_is_container(x->dtype))
    return MT_ERR(INVALID_ARGUMENT, "input 0 must be a tensor, got a %s", mt_dtype_name(x->dtype));
  int64_t len = x->dims[axis], n = 0;
  int64_t *sizes = malloc(sizeof *sizes * (size_t)(len > 0 ? len : 1));
  if (!sizes) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  bool squeeze = false;
  mt_status *st = NULL;
  if (!split) {
    for (n = 0; n < len; n++) sizes[n] = 1;
    squeeze = mt_node_attr_int(c->node, "keepdims", 1) == 0;
  } else if (!mt_dtype_is_integer(split->dtype) || split->rank > 1) {
    st = MT_ERR(INVALID_ARGUMENT, "input 1 (split) must be an integer scalar or 1-D tensor");
  } else if (split->rank == 0) {
    int64_t chunk = mt_tensor_get_i64(split, 0);
    if (chunk <= 0) st = MT_ERR(INVALID_ARGUMENT, "input 1 (split) must be positive");
    for (int64_t at = 0; !st && at < len; at += chunk)
      sizes[n++] = len - at < chunk ? len - at : chunk;
  } else {
    int64_t total = 0;
    n = split->dims[0];
    int64_t *s = realloc(sizes, sizeof *s * (size_t)(n > 0 ? n : 1));
    if (!s) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    if (s) sizes = s;
    for (int64_t i = 0; !st && i < n; i++) {
      sizes[i] = mt_tensor_get_i64(split, i);
      if (sizes[i] < 0) st = MT_ERR(INVALID_ARGUMENT, "input 1 (split) has a negative length");
      total += sizes[i];
    }
    if (!st && total != len)
      st = MT_ERR(INVALID_ARGUMENT, "input 1 (split) sums to %lld, the axis has %lld",
                  (long long)total, (long long)len);
  }
  mt_tensor *parts = st ? NULL : calloc((size_t)n + 1, sizeof *parts);
  if (!st && !parts) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int64_t i = 0, at = 0; !st && i < n; at += sizes[i++])
    st = mt_ctl_slice_axis(x, axis, at, sizes[i], squeeze, &parts[i]);
  if (!st) st = emit(c, 0, MT_DTYPE_SEQUENCE, x->dtype, n, parts);
  mt_ctl_free_tensors(parts, n);
  free(sizes);
  return st;
}

MT_MUST_USE static mt_status *concat_from_sequence_run(mt_op_ctx *c) {
  mt_container seq;
  MT_RETURN_IF_ERROR_PLAIN(open_input(c, 0, MT_DTYPE_SEQUENCE, &seq));
  bool new_axis = mt_node_attr_int(c->node, "new_axis", 0) != 0;
  mt_status *st = seq.count == 0 ? MT_ERR(INVALID_ARGUMENT, "the sequence is empty") : NULL;
  if (!st && mt_dtype_is_container(seq.elems[0].dtype))
    st = MT_ERR(INVALID_ARGUMENT, "the sequence holds %ss, not tensors",
                mt_dtype_name(seq.elems[0].dtype));
  int axis = 0;
  if (!st)
    st = mt_normalize_axis(mt_node_attr_int(c->node, "axis", 0),
                           seq.elems[0].rank + (new_axis ? 1 : 0), &axis);
  mt_tensor t;
  if (!st) st = mt_ctl_concat(seq.elems, seq.count, axis, new_axis, &t);
  if (!st) mt_ctl_set_output(c, 0, &t);
  mt_container_free(&seq);
  return st;
}

/* SequenceMap: the body runs once per element of input 0; a sequence input passes its element
 * i, a tensor input passes whole; body output k collects into output sequence k. */
MT_MUST_USE static mt_status *sequence_map_run(mt_op_ctx *c) {
  const mt_graph *g;
  MT_RETURN_IF_ERROR_PLAIN(mt_ctl_body(c, "body", &g));
  if (g->n_inputs != c->n_inputs || g->n_outputs != c->n_outputs)
    return MT_ERR(INVALID_ARGUMENT, "body has %d inputs and %d outputs, the node %d and %d",
                  g->n_inputs, g->n_outputs, c->n_inputs, c->n_outputs);
  mt_container *seqs = calloc((size_t)c->n_inputs + 1, sizeof *seqs);
  mt_tensor *args = calloc((size_t)c->n_inputs + 1, sizeof *args);
  mt_tensor **results = calloc((size_t)c->n_outputs + 1, sizeof *results);
  mt_status *st = (!seqs || !args || !results) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  int64_t n = 0;
  for (int i = 0; !st && i < c->n_inputs; i++) {
    if (!c->inputs[i]) {
      st = MT_ERR(INVALID_ARGUMENT, "input %d is missing", i);
    } else if (c->inputs[i]->dtype != MT_DTYPE_SEQUENCE) {
      if (i == 0) st = MT_ERR(INVALID_ARGUMENT, "input 0 must be a sequence");
      continue;
    }
    if (st) break;
    st = mt_container_open(c->inputs[i], &seqs[i]);
    if (!st && i == 0) n = seqs[i].count;
    if (!st && seqs[i].count != n)
      st = MT_ERR(INVALID_ARGUMENT, "input %d has %lld elements, input 0 %lld", i,
                  (long long)seqs[i].count, (long long)n);
  }
  for (int k = 0; !st && k < c->n_outputs; k++) {
    results[k] = calloc((size_t)n + 1, sizeof **results);
    if (!results[k]) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int64_t it = 0; !st && it < n; it++) {
    for (int i = 0; i < c->n_inputs; i++)
      args[i] = seqs[i].elems ? seqs[i].elems[it] : *c->inputs[i];
    mt_tensor *outs;
    st = mt_ctl_run_body(c, g, args, &outs);
    for (int k = 0; !st && k < c->n_outputs; k++) results[k][it] = outs[k];
    if (!st) free(outs);
    if (st) st = mt_status_annotate(st, "iteration %lld", (long long)it);
  }
  for (int k = 0; !st && k < c->n_outputs; k++) {
    mt_dtype et = n ? results[k][0].dtype : MT_DTYPE_UNDEFINED;
    st = emit(c, k, MT_DTYPE_SEQUENCE, et, n, results[k]);
  }
  for (int k = 0; results && k < c->n_outputs; k++) mt_ctl_free_tensors(results[k], n);
  for (int i = 0; seqs && i < c->n_inputs; i++) mt_container_free(&seqs[i]);
  free(seqs);
  free(args);
  free(results);
  return st;
}

/* ---- optionals --------------------------------------------------------------------------- */

MT_MUST_USE static mt_status *optional_run(mt_op_ctx *c) {
  const mt_tensor *t = mt_op_input(c, 0);
  if (!t) {
    /* the element type lives in the `type` attribute (a TypeProto mtcc keeps by name only): an
     * empty optional's element type stays undefined, which nothing reads */
    return emit(c, 0, MT_DTYPE_OPTIONAL, MT_DTYPE_UNDEFINED, 0, NULL);
  }
  if (t->dtype == MT_DTYPE_OPTIONAL)
    return MT_ERR(INVALID_ARGUMENT, "input 0 is already an optional");
  return emit(c, 0, MT_DTYPE_OPTIONAL, t->dtype, 1, t);
}

MT_MUST_USE static mt_status *optional_has_element_run(mt_op_ctx *c) {
  const mt_tensor *t = mt_op_input(c, 0);
  bool has = t != NULL;
  if (t && t->dtype == MT_DTYPE_OPTIONAL) {
    mt_container o;
    MT_RETURN_IF_ERROR_PLAIN(mt_container_open(t, &o));
    has = o.count > 0;
    mt_container_free(&o);
  }
  /* A present tensor or sequence counts as a full optional in every opset: ONNX lets a value
   * flow into an optional-typed slot (a Loop-16 body hands its sequence back as the optional
   * loop-carried value), and opset 18 says so for this op's input outright. */
  uint8_t *v = malloc(1);
  if (!v) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  *v = has;
  mt_tensor out = {.dtype = MT_DTYPE_BOOL, .rank = 0, .data = v};
  mt_ctl_set_output(c, 0, &out);
  return NULL;
}

MT_MUST_USE static mt_status *optional_get_element_infer(mt_op_ctx *c) {
  if (c->inputs[0]->dtype == MT_DTYPE_OPTIONAL) return element_unknown_infer(c);
  mt_op_same_as_input(c, 0, 0); /* opset 18: a tensor or sequence passes through */
  return NULL;
}

MT_MUST_USE static mt_status *optional_get_element_run(mt_op_ctx *c) {
  const mt_tensor *t = mt_op_input(c, 0);
  mt_tensor out;
  if (t->dtype != MT_DTYPE_OPTIONAL) { /* a full optional, as in optional_has_element_run */
    MT_RETURN_IF_ERROR_PLAIN(mt_value_copy(t, &out));
    mt_ctl_set_output(c, 0, &out);
    return NULL;
  }
  mt_container o;
  MT_RETURN_IF_ERROR_PLAIN(mt_container_open(t, &o));
  mt_status *st = o.count == 0 ? MT_ERR(INVALID_ARGUMENT, "the optional is empty") : NULL;
  if (!st) st = mt_value_copy(&o.elems[0], &out);
  if (!st) mt_ctl_set_output(c, 0, &out);
  mt_container_free(&o);
  return st;
}

#define CONTAINER_OP(name, lo, hi, inf, fn)                                                        \
  {                                                                                                \
    .op_type = name, .min_inputs = lo, .max_inputs = hi, .flags = MT_OP_ALLOCATES_OUTPUTS,         \
    .pattern = MT_PATTERN_OPAQUE, .infer = inf, .run = fn                                          \
  }

const mt_op_def mt_ops_sequence[] = {
    CONTAINER_OP("SequenceEmpty", 0, 0, sequence_out_infer, sequence_empty_run),
    CONTAINER_OP("SequenceConstruct", 1, -1, sequence_out_infer, sequence_construct_run),
    CONTAINER_OP("SequenceInsert", 2, 3, sequence_out_infer, sequence_insert_run),
    CONTAINER_OP("SequenceErase", 1, 2, sequence_out_infer, sequence_erase_run),
    CONTAINER_OP("SequenceAt", 2, 2, element_unknown_infer, sequence_at_run),
    CONTAINER_OP("SequenceLength", 1, 1, length_infer, sequence_length_run),
    CONTAINER_OP("SplitToSequence", 1, 2, sequence_out_infer, split_to_sequence_run),
    CONTAINER_OP("ConcatFromSequence", 1, 1, element_unknown_infer, concat_from_sequence_run),
    {.op_type = "SequenceMap",
     .min_inputs = 1,
     .max_inputs = -1,
     .flags = MT_OP_ALLOCATES_OUTPUTS | MT_OP_NO_FOLD,
     .pattern = MT_PATTERN_OPAQUE,
     .traits = MT_TRAIT_CONTROL_FLOW,
     .infer = sequence_out_infer,
     .run = sequence_map_run},
    CONTAINER_OP("Optional", 0, 1, optional_out_infer, optional_run),
    CONTAINER_OP("OptionalHasElement", 0, 1, has_element_infer, optional_has_element_run),
    CONTAINER_OP("OptionalGetElement", 1, 1, optional_get_element_infer, optional_get_element_run),
    {0},
};
