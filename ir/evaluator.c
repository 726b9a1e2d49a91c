/* Graph evaluation for shape inference and reference execution (see evaluator.h). */
#include "ir/evaluator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/op.h"
#include "runtime/base/checked_math.h"
#include "runtime/base/memory_limit.h"

/* Largest value folded during inference: shape arithmetic is small; weights are not refolded. */
enum { MT_FOLD_LIMIT_ELEMENTS = 1 << 16 };
/* Bytes all folded values may hold together (further capped at a quarter of the module's memory
 * budget): a few kilobytes of model can chain ConstantOfShape/Tile/Add into hundreds of 64 MiB
 * results, each under the per-node limit. */
#define MT_FOLD_BUDGET_BYTES ((size_t)256 << 20)

struct mt_eval {
  const mt_module *m;
  bool executing;
  mt_tensor *env;   /* per value id */
  uint8_t *owned;   /* env[v].data was malloc'ed here */
  uint8_t *defined; /* env[v] holds a dtype/shape */
  mt_eval_placement_fn placement;
  void *placement_user;
  int64_t fold_limit;  /* inference mode: largest folded result, in elements */
  size_t fold_budget;  /* inference mode: bytes all folded values may hold together */
  size_t memory_limit; /* the module's budget: no single output and no live set beyond it */
  size_t live_bytes;   /* bytes of outputs this evaluator allocated and still holds */
  uint8_t *unfolded;   /* inference mode: folding v was skipped to stay within fold_budget */
};

void mt_eval_set_fold_limit(mt_eval *ev, int64_t elements) { ev->fold_limit = elements; }

void mt_eval_set_placement(mt_eval *ev, mt_eval_placement_fn fn, void *user) {
  ev->placement = fn;
  ev->placement_user = user;
}

mt_status *mt_eval_create(const mt_module *m, bool executing, mt_eval **out_eval) {
  mt_eval *ev = calloc(1, sizeof *ev);
  int32_t n = mt_module_value_count(m);
  if (!ev) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  ev->m = m;
  ev->executing = executing;
  ev->fold_limit = MT_FOLD_LIMIT_ELEMENTS;
  ev->memory_limit = mt_module_memory_limit(m);
  ev->fold_budget =
      ev->memory_limit / 4 < MT_FOLD_BUDGET_BYTES ? ev->memory_limit / 4 : MT_FOLD_BUDGET_BYTES;
  ev->env = calloc((size_t)n + 1, sizeof *ev->env);
  ev->owned = calloc((size_t)n + 1, 1);
  ev->defined = calloc((size_t)n + 1, 1);
  ev->unfolded = calloc((size_t)n + 1, 1);
  if (!ev->env || !ev->owned || !ev->defined || !ev->unfolded) {
    mt_eval_destroy(ev);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int32_t v = 0; v < n; v++) {
    const mt_value *val = mt_module_value_c(m, v);
    if (val->constant >= 0) {
      mt_constant_view(mt_module_constant(m, val->constant), &ev->env[v]);
      ev->defined[v] = 1;
    }
  }
  *out_eval = ev;
  return NULL;
}

static void release_value(mt_eval *ev, mt_value_id v) {
  if (ev->owned[v]) {
    size_t bytes = mt_tensor_nbytes(&ev->env[v]);
    ev->live_bytes -= bytes < ev->live_bytes ? bytes : ev->live_bytes;
    free(ev->env[v].data);
  }
  ev->owned[v] = 0;
  ev->env[v].data = NULL;
}

void mt_eval_destroy(mt_eval *ev) {
  if (!ev) return;
  if (ev->env && ev->owned)
    for (int32_t v = 0; v < mt_module_value_count(ev->m); v++) release_value(ev, v);
  free(ev->env);
  free(ev->owned);
  free(ev->defined);
  free(ev->unfolded);
  free(ev);
}

void mt_eval_release_graph(mt_eval *ev, const mt_graph *g) {
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(ev->m, g->nodes[k]);
    for (int i = 0; i < n->n_outputs; i++) {
      mt_value_id v = n->outputs[i];
      if (v == MT_NO_VALUE) continue;
      release_value(ev, v);
      ev->defined[v] = 0;
    }
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        mt_eval_release_graph(ev, n->attrs[a].graphs[j]);
  }
}

void mt_eval_set_input(mt_eval *ev, mt_value_id v, const mt_tensor *t) {
  release_value(ev, v);
  ev->env[v] = *t;
  ev->defined[v] = 1;
}

const mt_tensor *mt_eval_value(const mt_eval *ev, mt_value_id v) {
  return ev->defined[v] ? &ev->env[v] : NULL;
}

MT_MUST_USE static mt_status *eval_graph_cb(mt_op_ctx *ctx, const mt_graph *g, mt_tensor *outputs) {
  return mt_eval_graph((mt_eval *)ctx->driver, g, outputs);
}

MT_MUST_USE static mt_status *eval_body_cb(mt_op_ctx *ctx, const mt_graph *g,
                                           const mt_tensor *inputs, mt_tensor *outputs) {
  mt_eval *ev = ctx->driver;
  for (int i = 0; i < g->n_inputs; i++) mt_eval_set_input(ev, g->inputs[i], &inputs[i]);
  mt_status *st = mt_eval_graph(ev, g, outputs);
  /* the inputs were borrowed for this call only: forget them so nothing reads them later */
  for (int i = 0; i < g->n_inputs; i++) ev->env[g->inputs[i]].data = NULL;
  return st;
}

static const char *output_name(const mt_op_ctx *ctx, int i) {
  mt_value_id v = ctx->node->outputs[i];
  return v == MT_NO_VALUE ? "" : mt_module_value_c(ctx->module, v)->name;
}

/* Checks an output's dtype and shape, and that it fits the memory budget before anything is
 * allocated for it: sizes here come from the model (Range limits, Resize scales, ConstantOfShape
 * shapes...), so a tiny file can ask for terabytes. */
MT_MUST_USE static mt_status *check_output_shape(const mt_op_ctx *ctx, int i, bool executing,
                                                 size_t memory_limit) {
  const mt_tensor *o = &ctx->outputs[i];
  if (o->dtype == MT_DTYPE_UNDEFINED || o->rank < 0 || o->rank > MT_MAX_RANK)
    return MT_ERR(INTERNAL, "output %d: the op set no dtype or shape", i);
  if (!mt_dtype_supported(o->dtype) && !mt_dtype_is_container(o->dtype))
    return MT_ERR(UNIMPLEMENTED, "output %d: dtype %s is not supported", i,
                  mt_dtype_name(o->dtype));
  /* bits / 8: a packed type's share of a byte (the padding byte is noise next to a limit) */
  double bytes = (double)mt_dtype_bits(o->dtype) / 8;
  for (int d = 0; d < o->rank; d++) {
    if (o->dims[d] < 0) {
      if (executing) return MT_ERR(INTERNAL, "output %d: dim %d is negative", i, d);
      continue; /* unknown statically (data-dependent branch shapes); reported by the caller */
    }
    bytes *= (double)o->dims[d];
  }
  /* A double cannot overflow here (at most 8 dims of int64) and is exact far past any limit
   * that matters; integer products of these dims could wrap. */
  if (bytes > (double)memory_limit) {
    char need[32], lim[32];
    return MT_ERR(RESOURCE_EXHAUSTED, "output %d '%s' would need %s, over the memory limit of %s",
                  i, output_name(ctx, i), mt_format_bytes(bytes, need, sizeof need),
                  mt_format_bytes((double)memory_limit, lim, sizeof lim));
  }
  return NULL;
}

static bool output_known_dims(const mt_tensor *o) {
  for (int d = 0; d < o->rank; d++)
    if (o->dims[d] < 0) return false;
  return true;
}

/* Allocates zeroed storage for every present output from its inferred shape. */
MT_MUST_USE static mt_status *allocate_outputs(mt_eval *ev, mt_op_ctx *ctx, uint8_t *placed) {
  for (int i = 0; i < ctx->n_outputs; i++) {
    if (!mt_op_has_output(ctx, i)) continue;
    size_t bytes, live;
    if (!mt_mul_size((size_t)mt_tensor_numel(&ctx->outputs[i]),
                     (size_t)(mt_dtype_bits(ctx->outputs[i].dtype) + 7) / 8, &bytes))
      return MT_ERR(RESOURCE_EXHAUSTED, "output %d '%s' is impossibly large", i,
                    output_name(ctx, i));
    bytes = mt_tensor_nbytes(&ctx->outputs[i]); /* the product did not overflow: exact size */
    if (ev->placement) {
      void *p = ev->placement(ev->placement_user, ctx->node->outputs[i], bytes);
      if (p) {
        memset(p, 0, bytes); /* same starting state as calloc: results must not depend on it */
        ctx->outputs[i].data = p;
        placed[i] = 1;
        continue;
      }
    }
    /* Every intermediate held at once counts: a chain of outputs each under the limit must
     * not add up past it. */
    if (!mt_add_size(ev->live_bytes, bytes, &live) || live > ev->memory_limit) {
      char need[32], held[32], lim[32];
      return MT_ERR(RESOURCE_EXHAUSTED,
                    "output %d '%s' would need %s while %s are held by other values, over the "
                    "memory limit of %s",
                    i, output_name(ctx, i), mt_format_bytes((double)bytes, need, sizeof need),
                    mt_format_bytes((double)ev->live_bytes, held, sizeof held),
                    mt_format_bytes((double)ev->memory_limit, lim, sizeof lim));
    }
    ctx->outputs[i].data = calloc(1, bytes ? bytes : 1);
    if (!ctx->outputs[i].data)
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for output %d '%s' (%zu bytes)", i,
                    output_name(ctx, i), bytes);
    ev->live_bytes = live;
  }
  return NULL;
}

static void free_outputs(mt_eval *ev, mt_op_ctx *ctx, const uint8_t *placed) {
  for (int i = 0; i < ctx->n_outputs; i++) {
    if ((!placed || !placed[i]) && ctx->outputs[i].data) {
      size_t bytes = mt_tensor_nbytes(&ctx->outputs[i]);
      ev->live_bytes -= bytes < ev->live_bytes ? bytes : ev->live_bytes;
      free(ctx->outputs[i].data);
    }
    ctx->outputs[i].data = NULL;
  }
}

/* One path for every op that lowers: the node becomes a kernel call that runtime/cpu executes,
 * the same dispatch libmtrt's CPU path runs from a bundle. */
MT_MUST_USE static mt_status *lower_and_run(mt_op_ctx *ctx, const mt_op_def *op) {
  mt_kernel_call call;
  memset(&call, 0, sizeof call);
  MT_RETURN_IF_ERROR_PLAIN(op->lower(ctx, &call));
  return mt_cpu_kernel_run(&call, ctx->n_inputs, ctx->inputs, ctx->n_outputs, ctx->outputs);
}

mt_status *mt_node_lower(const mt_module *m, const mt_node *n, const mt_tensor *const *inputs,
                         mt_kernel_call *out_call) {
  const mt_op_def *op = n->def;
  if (!op || !op->lower)
    return MT_ERR(UNIMPLEMENTED, "%s: op %s does not lower to a kernel call", mt_node_label(m, n),
                  n->op_type);
  memset(out_call, 0, sizeof *out_call);
  mt_op_ctx ctx = {.module = m,
                   .node = n,
                   .opset = n->opset,
                   .n_inputs = n->n_inputs,
                   .inputs = inputs,
                   .n_outputs = n->n_outputs,
                   .outputs = NULL,
                   .executing = true,
                   .eval_graph = NULL,
                   .driver = NULL};
  mt_status *st = op->lower(&ctx, out_call);
  if (st) return mt_status_annotate(st, "%s", mt_node_label(m, n));
  return NULL;
}

/* The ops that handle packed sub-byte dtypes (int4, uint4, int2, uint2, float4e2m1): the
 * conversions, the ops that keep a tensor's bytes as they are or read only its shape, and If
 * (its branches' nodes are checked themselves). Every other kernel indexes whole-byte elements,
 * and Loop/Scan slice and the containers size by element: a packed operand is refused by name
 * rather than read as bytes. */
static bool op_takes_packed(const char *op_type) {
  static const char *const ops[] = {"Cast",      "CastLike", "QuantizeLinear", "DequantizeLinear",
                                    "Identity",  "Reshape",  "Flatten",        "Squeeze",
                                    "Unsqueeze", "Constant", "Shape",          "Size",
                                    "If"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (strcmp(op_type, ops[i]) == 0) return true;
  return false;
}

MT_MUST_USE static mt_status *check_packed(const mt_node *n, const mt_tensor *t) {
  if (!mt_dtype_is_packed(t->dtype) || op_takes_packed(n->op_type)) return NULL;
  return MT_ERR(UNIMPLEMENTED, "op %s does not support packed dtype %s", n->op_type,
                mt_dtype_name(t->dtype));
}

MT_MUST_USE static mt_status *eval_node_inner(mt_eval *ev, const mt_node *n, const mt_op_def *op,
                                              const mt_tensor **inputs, mt_tensor *outputs,
                                              uint8_t *placed) {
  const mt_module *m = ev->m;
  if (n->n_inputs < op->min_inputs || (op->max_inputs >= 0 && n->n_inputs > op->max_inputs))
    return MT_ERR(INVALID_ARGUMENT, "has %d inputs; %s takes %d to %d", n->n_inputs, n->op_type,
                  op->min_inputs, op->max_inputs);
  bool all_known = true;
  for (int i = 0; i < n->n_inputs; i++) {
    mt_value_id v = n->inputs[i];
    inputs[i] = NULL;
    if (v == MT_NO_VALUE) {
      if (i < op->min_inputs) return MT_ERR(INVALID_ARGUMENT, "required input %d is missing", i);
      continue;
    }
    if (!ev->defined[v] || ev->env[v].rank < 0)
      return MT_ERR(INVALID_ARGUMENT, "input %d '%s' has an unknown shape", i,
                    mt_module_value_c(m, v)->name);
    if (!mt_dtype_supported(ev->env[v].dtype) && !mt_dtype_is_container(ev->env[v].dtype))
      return MT_ERR(UNIMPLEMENTED, "input %d '%s': dtype %s is not supported", i,
                    mt_module_value_c(m, v)->name, mt_dtype_name(ev->env[v].dtype));
    /* a container is a blob only the sequence/optional ops and control flow (all `run` ops)
     * read; a kernel would treat its bytes as elements. Identity copies it whole. */
    if (mt_dtype_is_container(ev->env[v].dtype) && op->lower && strcmp(n->op_type, "Identity"))
      return MT_ERR(INVALID_ARGUMENT, "input %d '%s' is a %s; %s takes tensors", i,
                    mt_module_value_c(m, v)->name, mt_dtype_name(ev->env[v].dtype), n->op_type);
    MT_RETURN_IF_ERROR_PLAIN(check_packed(n, &ev->env[v]));
    inputs[i] = &ev->env[v];
    if (!ev->env[v].data) {
      all_known = false;
      if (i < 32 && (op->value_inputs >> i & 1u) && ev->unfolded[v]) {
        char lim[32];
        return MT_ERR(RESOURCE_EXHAUSTED,
                      "the output shape depends on the values of input %d '%s', which were not "
                      "computed at compile time: folding them would exceed the fold budget of %s",
                      i, mt_module_value_c(m, v)->name,
                      mt_format_bytes((double)ev->fold_budget, lim, sizeof lim));
      }
      if (i < 32 && (op->value_inputs >> i & 1u))
        return MT_ERR(INVALID_ARGUMENT,
                      "the output shape depends on the values of input %d '%s', which are not "
                      "known at compile time",
                      i, mt_module_value_c(m, v)->name);
    }
  }
  mt_op_ctx ctx = {.module = m,
                   .node = n,
                   .opset = n->opset,
                   .n_inputs = n->n_inputs,
                   .inputs = inputs,
                   .n_outputs = n->n_outputs,
                   .outputs = outputs,
                   .executing = ev->executing,
                   .eval_graph = eval_graph_cb,
                   .eval_body = eval_body_cb,
                   .driver = ev};
  bool self_alloc = (op->flags & MT_OP_ALLOCATES_OUTPUTS) != 0;
  bool run_now = ev->executing;
  if (!ev->executing && (all_known || (op->flags & MT_OP_VALUE_FROM_SHAPES)) &&
      (op->run || op->lower) && !(op->flags & MT_OP_NO_FOLD))
    run_now = true; /* fold: known inputs give known outputs */
  if (!(run_now && self_alloc)) {
    MT_RETURN_IF_ERROR_PLAIN(op->infer(&ctx));
    for (int i = 0; i < n->n_outputs; i++)
      if (mt_op_has_output(&ctx, i)) {
        MT_RETURN_IF_ERROR_PLAIN(check_output_shape(&ctx, i, ev->executing, ev->memory_limit));
        MT_RETURN_IF_ERROR_PLAIN(check_packed(n, &outputs[i]));
      }
  }
  /* A node whose every output is omitted ("" in ONNX) computes nothing anyone can read, and ops
   * write their first output unchecked: running it wrote through NULL (a Constant with output ""
   * crashed inspect and run; found by fuzz_onnx_import). */
  bool any_output = false;
  for (int i = 0; i < n->n_outputs; i++) any_output = any_output || mt_op_has_output(&ctx, i);
  if (!any_output) return NULL;
  if (run_now && !ev->executing && !self_alloc) {
    int64_t total = 0;
    double bytes = 0;
    for (int i = 0; i < n->n_outputs; i++) {
      if (!mt_op_has_output(&ctx, i)) continue;
      if (!output_known_dims(&outputs[i])) return NULL;
      total += mt_tensor_numel(&outputs[i]);
      bytes += (double)mt_tensor_nbytes(&outputs[i]);
    }
    if (total > ev->fold_limit) return NULL;
    if ((double)ev->live_bytes + bytes > (double)ev->fold_budget) {
      /* Leaving it unfolded is legal (the node runs at execution time); a later node whose
       * shape needs these values reports the budget by name. */
      for (int i = 0; i < n->n_outputs; i++)
        if (mt_op_has_output(&ctx, i)) ev->unfolded[n->outputs[i]] = 1;
      return NULL;
    }
  }
  if (!run_now) {
    /* what depends on a value left unfolded by the budget is unknown for the same reason */
    bool from_unfolded = false;
    for (int i = 0; i < n->n_inputs; i++)
      from_unfolded = from_unfolded || (n->inputs[i] != MT_NO_VALUE && ev->unfolded[n->inputs[i]]);
    for (int i = 0; from_unfolded && i < n->n_outputs; i++)
      if (n->outputs[i] != MT_NO_VALUE) ev->unfolded[n->outputs[i]] = 1;
    return NULL;
  }
  ctx.executing = true;
  if (!self_alloc) {
    mt_status *ast = allocate_outputs(ev, &ctx, placed);
    if (ast) {
      free_outputs(ev, &ctx, placed);
      return ast;
    }
  }
  mt_status *st = op->lower ? lower_and_run(&ctx, op) : op->run(&ctx);
  if (st) {
    free_outputs(ev, &ctx, placed);
    return st;
  }
  for (int i = 0; i < n->n_outputs; i++)
    if (mt_op_has_output(&ctx, i)) {
      mt_status *cst = check_output_shape(&ctx, i, true, ev->memory_limit);
      if (cst) {
        free_outputs(ev, &ctx, placed);
        return cst;
      }
    }
  return NULL;
}

MT_MUST_USE static mt_status *eval_node(mt_eval *ev, const mt_node *n) {
  const mt_op_def *op = n->def;
  if (!op)
    return MT_ERR(UNIMPLEMENTED, "%s: op %s%s%s is not supported", mt_node_label(ev->m, n),
                  *n->domain ? n->domain : "", *n->domain ? "." : "", n->op_type);
  const mt_tensor **inputs = calloc((size_t)n->n_inputs + 1, sizeof *inputs);
  mt_tensor *outputs = calloc((size_t)n->n_outputs + 1, sizeof *outputs);
  uint8_t *placed = calloc((size_t)n->n_outputs + 1, 1);
  mt_status *st =
      (!inputs || !outputs || !placed) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  if (!st) st = eval_node_inner(ev, n, op, inputs, outputs, placed);
  if (!st) {
    for (int i = 0; i < n->n_outputs; i++) {
      mt_value_id v = n->outputs[i];
      if (v == MT_NO_VALUE) {
        if (!placed[i]) free(outputs[i].data);
        continue;
      }
      release_value(ev, v);
      ev->env[v] = outputs[i];
      ev->owned[v] = outputs[i].data != NULL && !placed[i];
      ev->defined[v] = 1;
    }
  }
  free(inputs);
  free(outputs);
  free(placed);
  if (st) return mt_status_annotate(st, "%s", mt_node_label(ev->m, n));
  return NULL;
}

mt_status *mt_eval_node(mt_eval *ev, int32_t node) {
  const mt_node *n = mt_module_node_c(ev->m, node);
  for (int i = 0; i < n->n_inputs; i++) {
    mt_value_id v = n->inputs[i];
    if (v != MT_NO_VALUE && !ev->defined[v])
      return MT_ERR(INTERNAL,
                    "%s: input %d '%s' is read before it is computed (bad execution order)",
                    mt_node_label(ev->m, n), i, mt_module_value_c(ev->m, v)->name);
  }
  return eval_node(ev, n);
}

/* Records, for each value, the last position in g that reads it (directly or from a subgraph). */
static void mark_uses(const mt_module *m, const mt_graph *g, int32_t pos, int32_t *last_use) {
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    for (int i = 0; i < n->n_inputs; i++)
      if (n->inputs[i] != MT_NO_VALUE) last_use[n->inputs[i]] = pos;
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        mark_uses(m, n->attrs[a].graphs[j], pos, last_use);
  }
  for (int i = 0; i < g->n_outputs; i++) last_use[g->outputs[i]] = pos;
}

mt_status *mt_eval_graph(mt_eval *ev, const mt_graph *g, mt_tensor *outputs) {
  const mt_module *m = ev->m;
  /* In the main graph of an execution, free each intermediate after its last reader. */
  int32_t *last_use = NULL;
  if (ev->executing && !g->parent) {
    last_use = malloc(sizeof *last_use * ((size_t)mt_module_value_count(m) + 1));
    if (!last_use) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (int32_t v = 0; v < mt_module_value_count(m); v++) last_use[v] = -1;
    for (int k = 0; k < g->n_nodes; k++) {
      const mt_node *n = mt_module_node_c(m, g->nodes[k]);
      for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] != MT_NO_VALUE) last_use[n->inputs[i]] = k;
      for (int a = 0; a < n->n_attrs; a++)
        for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
          mark_uses(m, n->attrs[a].graphs[j], k, last_use);
    }
    for (int i = 0; i < g->n_outputs; i++) last_use[g->outputs[i]] = g->n_nodes;
  }
  mt_status *st = NULL;
  for (int k = 0; k < g->n_nodes && !st; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    st = eval_node(ev, n);
    if (st || !last_use) continue;
    for (int i = 0; i < n->n_inputs; i++) {
      mt_value_id v = n->inputs[i];
      if (v != MT_NO_VALUE && last_use[v] == k) release_value(ev, v);
    }
    for (int i = 0; i < n->n_outputs; i++) { /* outputs nobody reads */
      mt_value_id v = n->outputs[i];
      if (v != MT_NO_VALUE && last_use[v] < 0) release_value(ev, v);
    }
  }
  free(last_use);
  if (st) return st;
  for (int i = 0; i < g->n_outputs; i++) {
    mt_value_id v = g->outputs[i];
    const mt_tensor *t = &ev->env[v];
    if (!ev->defined[v]) {
      for (int j = 0; j < i; j++) free(outputs[j].data);
      return MT_ERR(INTERNAL, "graph output '%s' was never computed",
                    mt_module_value_c(m, v)->name);
    }
    outputs[i] = *t;
    outputs[i].data = NULL;
    if (t->data) {
      size_t bytes = mt_tensor_nbytes(t);
      outputs[i].data = malloc(bytes ? bytes : 1);
      if (!outputs[i].data) {
        for (int j = 0; j < i; j++) free(outputs[j].data);
        return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      }
      memcpy(outputs[i].data, t->data, bytes);
    }
  }
  return NULL;
}
