/* Pass: canonicalization. Rewrites each tenant's main graph into the forms later passes expect:
 *  - BatchNormalization folded into the Conv or Gemm right before it (canonicalize_fold.c);
 *  - 2-D MatMul + constant bias Add -> one Gemm (canonicalize_fold.c);
 *  - no-ops removed: Identity, Dropout (inference, mask unread), Cast/CastLike to the same dtype,
 *    Expand to the same shape, Reshape to the same shape, Transpose with the identity perm;
 *  - Transpose of Transpose composed into one (or cancelled when the composition is identity);
 *  - Reshape of Reshape merged into one Reshape of the original data.
 * Rules run to a fixed point; the use index is rebuilt after every rewrite, so legality checks
 * ("read by nothing else") always see the current graph. Every rewrite keeps the recorded
 * dtype/shape of the values it leaves in place and binds new constants with theirs.
 *
 * A no-op whose output is a graph output stays: removing it would rename (or alias an input to)
 * the output that callers look up by name. Subgraph (If branch) bodies are left alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/canonicalize_internal.h"

/* --- no-op removal */

static bool same_type_and_shape(const mt_module *m, mt_value_id a, mt_value_id b) {
  const mt_value *x = mt_module_value_c(m, a), *y = mt_module_value_c(m, b);
  if (x->dtype != y->dtype || x->dtype == MT_DTYPE_UNDEFINED || x->rank != y->rank || x->rank < 0)
    return false;
  for (int d = 0; d < x->rank; d++)
    if (x->dims[d] != y->dims[d] || x->dims[d] < 0) return false;
  return true;
}

/* True when output i of node n is absent or read by nobody. */
static bool output_unused(const mt_canon *c, const mt_node *n, int i) {
  return i >= n->n_outputs || n->outputs[i] == MT_NO_VALUE ||
         (mt_use_count(&c->uses, n->outputs[i]) == 0 &&
          !mt_use_is_graph_output(&c->uses, n->outputs[i]));
}

/* Makes the readers of node id's output 0 read `in` instead and drops the node. */
MT_MUST_USE static mt_status *bypass(mt_canon *c, int32_t id, bool *changed) {
  const mt_node *n = mt_module_node_c(c->m, id);
  if (n->n_inputs < 1 || n->n_outputs < 1 || n->inputs[0] == MT_NO_VALUE ||
      n->outputs[0] == MT_NO_VALUE)
    return NULL;
  mt_value_id in = n->inputs[0], out = n->outputs[0];
  if (mt_use_is_graph_output(&c->uses, out)) return NULL; /* keeps output names (see top) */
  for (int i = 1; i < n->n_outputs; i++)
    if (!output_unused(c, n, i)) return NULL;
  if (!same_type_and_shape(c->m, in, out)) return NULL;
  mt_module_replace_uses(c->m, out, in);
  MT_RETURN_IF_ERROR_PLAIN(mt_canon_remove_node(c, id));
  *changed = true;
  return NULL;
}

MT_MUST_USE static mt_status *rule_identity(mt_canon *c, int32_t id, bool *changed) {
  return bypass(c, id, changed);
}

/* Inference Dropout is the identity unless a training_mode input might be true (opset 12+). */
MT_MUST_USE static mt_status *rule_dropout(mt_canon *c, int32_t id, bool *changed) {
  const mt_node *n = mt_module_node_c(c->m, id);
  if (n->opset >= 12 && n->n_inputs > 2 && n->inputs[2] != MT_NO_VALUE) {
    mt_tensor mode;
    if (!mt_canon_constant(c, n->inputs[2], &mode) || mt_tensor_numel(&mode) != 1) return NULL;
    if (mt_tensor_get_i64(&mode, 0) != 0) return NULL;
  }
  return bypass(c, id, changed);
}

/* Cast / CastLike to the dtype the input already has, Expand to the shape it already has. */
MT_MUST_USE static mt_status *rule_same_shape(mt_canon *c, int32_t id, bool *changed) {
  return bypass(c, id, changed); /* bypass checks dtype and shape equality */
}

static void node_perm(const mt_node *n, int rank, int *perm, bool *ok) {
  const int64_t *p;
  int64_t cnt = mt_node_attr_ints(n, "perm", &p);
  *ok = true;
  if (cnt < 0) {
    for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
    return;
  }
  if (cnt != rank) {
    *ok = false;
    return;
  }
  for (int i = 0; i < rank; i++) {
    if (p[i] < 0 || p[i] >= rank) *ok = false;
    perm[i] = (int)(p[i] < 0 || p[i] >= rank ? 0 : p[i]);
  }
}

static bool perm_is_identity(const int *perm, int rank) {
  for (int i = 0; i < rank; i++)
    if (perm[i] != i) return false;
  return true;
}

/* Transpose(perm = identity) goes; Transpose(p2) of Transpose(p1) of x becomes Transpose(c) of x
 * with c[i] = p1[p2[i]] (output dim i of the outer one is input dim p2[i], which is dim
 * p1[p2[i]] of x), or just x when c is the identity. The inner Transpose stays for any other
 * readers (DCE drops it otherwise). */
MT_MUST_USE static mt_status *rule_transpose(mt_canon *c, int32_t id, bool *changed) {
  const mt_node *n = mt_module_node_c(c->m, id);
  if (n->n_inputs != 1 || n->n_outputs != 1 || n->outputs[0] == MT_NO_VALUE) return NULL;
  int rank = mt_module_value_c(c->m, n->inputs[0])->rank;
  if (rank < 0 || rank > MT_MAX_RANK) return NULL;
  int p2[MT_MAX_RANK];
  bool ok;
  node_perm(n, rank, p2, &ok);
  if (!ok) return NULL;
  if (perm_is_identity(p2, rank)) return bypass(c, id, changed);
  int32_t inner = mt_canon_producer(c, n->inputs[0], "Transpose");
  if (inner < 0) return NULL;
  const mt_node *t1 = mt_module_node_c(c->m, inner);
  if (t1->n_inputs != 1 || t1->inputs[0] == MT_NO_VALUE) return NULL;
  int p1[MT_MAX_RANK], comp[MT_MAX_RANK];
  node_perm(t1, rank, p1, &ok);
  if (!ok) return NULL;
  for (int i = 0; i < rank; i++) comp[i] = p1[p2[i]];
  mt_value_id x = t1->inputs[0];
  if (perm_is_identity(comp, rank)) {
    mt_value_id out = n->outputs[0];
    if (mt_use_is_graph_output(&c->uses, out) || !same_type_and_shape(c->m, x, out)) return NULL;
    mt_module_replace_uses(c->m, out, x);
    MT_RETURN_IF_ERROR_PLAIN(mt_canon_remove_node(c, id));
    *changed = true;
    return NULL;
  }
  int64_t ints[MT_MAX_RANK];
  for (int i = 0; i < rank; i++) ints[i] = comp[i];
  mt_attr perm = {.name = "perm", .type = MT_ATTR_INTS, .count = rank, .ints = ints};
  MT_RETURN_IF_ERROR_PLAIN(mt_canon_set_attr(c, id, &perm));
  mt_module_node(c->m, id)->inputs[0] = x;
  *changed = true;
  return NULL;
}

/* Reshape to the input's own shape goes; Reshape of Reshape reads the inner one's data with the
 * outer one's (static) output shape written out as a constant. */
MT_MUST_USE static mt_status *rule_reshape(mt_canon *c, int32_t id, bool *changed) {
  const mt_node *n = mt_module_node_c(c->m, id);
  if (n->n_inputs < 1 || n->n_outputs != 1 || n->outputs[0] == MT_NO_VALUE) return NULL;
  if (same_type_and_shape(c->m, n->inputs[0], n->outputs[0])) return bypass(c, id, changed);
  if (n->n_inputs != 2) return NULL; /* Reshape-1 kept its shape in an attribute */
  int32_t inner = mt_canon_producer(c, n->inputs[0], "Reshape");
  if (inner < 0) return NULL;
  mt_value_id x = mt_module_node_c(c->m, inner)->inputs[0];
  const mt_value *out = mt_module_value_c(c->m, n->outputs[0]);
  if (x == MT_NO_VALUE || out->rank < 0) return NULL;
  int64_t dims[MT_MAX_RANK];
  int64_t rank = out->rank;
  for (int d = 0; d < out->rank; d++) {
    if (out->dims[d] <= 0) return NULL; /* 0 would mean "copy" (allowzero = 0); keep as is */
    dims[d] = out->dims[d];
  }
  char name[512];
  snprintf(name, sizeof name, "%s/merged_shape", n->name);
  mt_tensor shape = {.dtype = MT_DTYPE_INT64, .rank = 1, .dims = {rank}, .data = dims};
  mt_value_id sv;
  MT_RETURN_IF_ERROR_PLAIN(mt_module_add_constant_value(c->m, n->graph, name, &shape, &sv));
  mt_node *w = mt_module_node(c->m, id);
  w->inputs[0] = x;
  w->inputs[1] = sv;
  *changed = true;
  return NULL;
}

MT_MUST_USE static mt_status *rule_batchnorm(mt_canon *c, int32_t id, bool *changed) {
  return mt_canon_fold_batchnorm(c, id, changed);
}

MT_MUST_USE static mt_status *rule_add(mt_canon *c, int32_t id, bool *changed) {
  return mt_canon_matmul_add_to_gemm(c, id, changed);
}

static const struct {
  const char *op_type;
  mt_canon_rule rule;
} rules[] = {
    {"BatchNormalization", rule_batchnorm},
    {"Add", rule_add},
    {"Identity", rule_identity},
    {"Dropout", rule_dropout},
    {"Cast", rule_same_shape},
    {"CastLike", rule_same_shape},
    {"Expand", rule_same_shape},
    {"Reshape", rule_reshape},
    {"Transpose", rule_transpose},
};

static mt_canon_rule rule_for(const mt_node *n) {
  if (*n->domain && strcmp(n->domain, "ai.onnx") != 0) return NULL;
  for (size_t r = 0; r < sizeof rules / sizeof *rules; r++)
    if (strcmp(rules[r].op_type, n->op_type) == 0) return rules[r].rule;
  return NULL;
}

mt_status *mt_pass_canonicalize(mt_pass_ctx *ctx) {
  mt_canon c = {.m = ctx->module};
  MT_RETURN_IF_ERROR_PLAIN(mt_use_index_build(c.m, &c.uses));
  mt_status *st = NULL;
  /* Each rewrite removes a node or shortens a chain, so rounds terminate; the cap guards bugs. */
  for (int round = 0; round < 1000 && !st; round++) {
    bool any = false;
    for (int32_t t = 0; t < mt_module_tenant_count(c.m) && !st; t++) {
      mt_graph *g = mt_module_tenant(c.m, t)->graph;
      for (int k = 0; k < g->n_nodes && !st; k++) {
        int32_t id = g->nodes[k];
        mt_canon_rule rule = rule_for(mt_module_node_c(c.m, id));
        bool changed = false;
        if (rule) st = rule(&c, id, &changed);
        if (st || !changed) continue;
        any = true;
        mt_use_index_free(&c.uses);
        st = mt_use_index_build(c.m, &c.uses);
      }
    }
    if (!any) break;
  }
  mt_use_index_free(&c.uses);
  return st;
}
