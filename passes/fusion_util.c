/* Fusion helpers: the reader index, op classes, shape strings and the structural comparison of
 * fused groups that horizontal fusion uses to decide what can share one launch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/op.h"
#include "passes/fusion_internal.h"

/* --- reader index --- */

typedef struct index_builder {
  mt_fusion_index *ix;
  int32_t *last_reader; /* per value: the node that last recorded it (dedup) */
  int32_t *fill;        /* per value: next free slot (second pass) */
  bool filling;
} index_builder;

static void record_read(index_builder *b, mt_value_id v, int32_t reader) {
  if (v == MT_NO_VALUE || v < 0 || v >= b->ix->n_values || b->last_reader[v] == reader) return;
  b->last_reader[v] = reader;
  if (b->filling)
    b->ix->rd_nodes[b->fill[v]++] = reader;
  else
    b->ix->rd_start[v + 1]++;
}

/* Every value read anywhere inside `g` (an If branch) counts as read by the main-graph node
 * `reader` that owns the branch: that node cannot run before those values exist. */
static void record_subgraph_reads(index_builder *b, const mt_graph *g, int32_t reader) {
  const mt_module *m = b->ix->m;
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    for (int i = 0; i < n->n_inputs; i++) record_read(b, n->inputs[i], reader);
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        record_subgraph_reads(b, n->attrs[a].graphs[j], reader);
  }
  for (int i = 0; i < g->n_outputs; i++) record_read(b, g->outputs[i], reader);
}

static void record_node_reads(index_builder *b, int32_t id) {
  const mt_node *n = mt_module_node_c(b->ix->m, id);
  for (int i = 0; i < n->n_inputs; i++) record_read(b, n->inputs[i], id);
  /* `graphs` alone: a GRAPH attribute's `graph` is graphs[0], so walking both visited every
   * branch twice per level, 2^depth walks for nested Ifs. */
  for (int a = 0; a < n->n_attrs; a++)
    for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
      record_subgraph_reads(b, n->attrs[a].graphs[j], id);
}

static void index_pass(index_builder *b) {
  const mt_module *m = b->ix->m;
  for (int32_t v = 0; v < b->ix->n_values; v++) b->last_reader[v] = -1;
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int k = 0; k < g->n_nodes; k++) record_node_reads(b, g->nodes[k]);
  }
}

void mt_fusion_index_free(mt_fusion_index *ix) {
  free(ix->pos);
  free(ix->rd_start);
  free(ix->rd_nodes);
  free(ix->is_output);
  memset(ix, 0, sizeof *ix);
}

mt_status *mt_fusion_index_build(const mt_module *m, mt_fusion_index *ix) {
  memset(ix, 0, sizeof *ix);
  ix->m = m;
  ix->n_nodes = mt_module_node_count(m);
  ix->n_values = mt_module_value_count(m);
  size_t nn = (size_t)ix->n_nodes + 1, nv = (size_t)ix->n_values + 1;
  ix->pos = malloc(nn * sizeof *ix->pos);
  ix->rd_start = calloc(nv + 1, sizeof *ix->rd_start);
  ix->is_output = calloc(nv, 1);
  index_builder b = {
      .ix = ix, .last_reader = malloc(nv * sizeof(int32_t)), .fill = malloc(nv * sizeof(int32_t))};
  mt_status *st = NULL;
  if (!ix->pos || !ix->rd_start || !ix->is_output || !b.last_reader || !b.fill)
    st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) {
    for (int32_t k = 0; k < ix->n_nodes; k++) ix->pos[k] = -1;
    for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
      const mt_graph *g = mt_module_tenant_c(m, t)->graph;
      for (int k = 0; k < g->n_nodes; k++) ix->pos[g->nodes[k]] = k;
      for (int i = 0; i < g->n_outputs; i++) ix->is_output[g->outputs[i]] = 1;
    }
    index_pass(&b);
    for (int32_t v = 0; v < ix->n_values; v++) ix->rd_start[v + 1] += ix->rd_start[v];
    ix->rd_nodes = malloc(((size_t)ix->rd_start[ix->n_values] + 1) * sizeof *ix->rd_nodes);
    if (!ix->rd_nodes) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!st) {
    memcpy(b.fill, ix->rd_start, (size_t)ix->n_values * sizeof(int32_t));
    b.filling = true;
    index_pass(&b);
  }
  free(b.last_reader);
  free(b.fill);
  if (st) mt_fusion_index_free(ix);
  return st;
}

/* --- op classes: read from the ops' patterns and traits (ir/op.h) --- */

int mt_fusion_live_outputs(const mt_node *n) { return mt_node_live_outputs(n); }

bool mt_fusion_is_gemm_op(const mt_node *n) {
  return mt_node_pattern(n) == MT_PATTERN_OUT_FUSABLE && mt_node_has_traits(n, MT_TRAIT_GEMM);
}

bool mt_fusion_is_conv_op(const mt_node *n) {
  return mt_node_pattern(n) == MT_PATTERN_OUT_FUSABLE && mt_node_has_traits(n, MT_TRAIT_CONV);
}

bool mt_fusion_is_pointwise(const mt_node *n) {
  mt_op_pattern p = mt_node_pattern(n);
  if (p != MT_PATTERN_ELEMENTWISE && p != MT_PATTERN_BROADCAST) return false;
  return mt_node_live_outputs(n) == 1 && n->n_outputs >= 1 && n->outputs[0] != MT_NO_VALUE;
}

/* Pointwise float math that keeps the dtype: an epilogue runs on the GEMM's accumulator. */
bool mt_fusion_is_epilogue_op(const mt_node *n) {
  return mt_fusion_is_pointwise(n) && mt_node_has_traits(n, MT_TRAIT_FLOAT_MATH);
}

/* A view with one live output (inference Dropout without its mask output is one too). */
bool mt_fusion_is_metadata(const mt_node *n) {
  if (n->n_outputs < 1 || n->outputs[0] == MT_NO_VALUE) return false;
  return mt_node_has_traits(n, MT_TRAIT_METADATA) && mt_node_live_outputs(n) == 1;
}

bool mt_fusion_is_reduction(const mt_node *n) { return mt_node_pattern(n) == MT_PATTERN_REDUCTION; }

/* --- shapes and labels --- */

bool mt_fusion_broadcasts_to(int rb, const int64_t *b, int ra, const int64_t *a) {
  if (rb > ra) return false;
  for (int i = 0; i < rb; i++) {
    int64_t db = b[rb - 1 - i], da = a[ra - 1 - i];
    if (db != da && db != 1) return false;
  }
  return true;
}

const char *mt_fusion_shape_str(int rank, const int64_t *dims, char *buf, size_t size) {
  size_t len = 0;
  if (size == 0) return buf;
  buf[0] = 0;
  len += (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < rank && len < size; i++)
    len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "", (long long)dims[i]);
  if (len < size) snprintf(buf + len, size - len, "]");
  return buf;
}

const char *mt_fusion_node_str(const mt_module *m, int32_t node, char *buf, size_t size) {
  const mt_node *n = mt_module_node_c(m, node);
  snprintf(buf, size, "tenant '%s': %s '%s'", mt_module_tenant_c(m, n->tenant)->name, n->op_type,
           n->name);
  return buf;
}

/* --- group signatures --- */

static bool attr_equal(const mt_attr *x, const mt_attr *y) {
  if (strcmp(x->name, y->name) != 0 || x->type != y->type) return false;
  switch (x->type) {
  case MT_ATTR_INT: return x->i == y->i;
  case MT_ATTR_FLOAT: return memcmp(&x->f, &y->f, sizeof x->f) == 0;
  case MT_ATTR_STRING: return x->s_len == y->s_len && memcmp(x->s, y->s, x->s_len) == 0;
  case MT_ATTR_INTS:
    return x->count == y->count &&
           (x->count == 0 || memcmp(x->ints, y->ints, (size_t)x->count * sizeof *x->ints) == 0);
  case MT_ATTR_FLOATS:
    return x->count == y->count &&
           (x->count == 0 ||
            memcmp(x->floats, y->floats, (size_t)x->count * sizeof *x->floats) == 0);
  case MT_ATTR_STRINGS:
    if (x->count != y->count) return false;
    for (int64_t i = 0; i < x->count; i++)
      if (strcmp(x->strings[i], y->strings[i]) != 0) return false;
    return true;
  case MT_ATTR_TENSOR: return x->constant == y->constant;
  default: return false; /* graphs and the rest: never treated as equal */
  }
}

static const mt_attr *find_attr(const mt_node *n, const char *name) {
  for (int a = 0; a < n->n_attrs; a++)
    if (strcmp(n->attrs[a].name, name) == 0) return &n->attrs[a];
  return NULL;
}

/* Index of the node inside the group that produces v, or -1 when v comes from outside. */
static int producer_in_group(const mt_module *m, const mt_fused_group *g, mt_value_id v,
                             int *out_idx) {
  int32_t prod = mt_module_value_c(m, v)->producer;
  if (prod < 0) return -1;
  for (int k = 0; k < g->n_nodes; k++)
    if (g->nodes[k] == prod) {
      const mt_node *n = mt_module_node_c(m, prod);
      for (int i = 0; i < n->n_outputs; i++)
        if (n->outputs[i] == v) *out_idx = i;
      return k;
    }
  return -1;
}

static bool same_shape(const mt_value *x, const mt_value *y) {
  return x->rank == y->rank &&
         memcmp(x->dims, y->dims, sizeof(int64_t) * (size_t)(x->rank > 0 ? x->rank : 0)) == 0;
}

/* A scalar float constant is an immediate of the generated code; anything else is a pointer. */
static bool is_immediate(const mt_module *m, const mt_value *v) {
  if (v->constant < 0) return false;
  const mt_constant *c = mt_module_constant(m, v->constant);
  return (c->dtype == MT_DTYPE_FLOAT32 || c->dtype == MT_DTYPE_FLOAT16) &&
         mt_shape_numel(c->rank, c->dims) == 1;
}

static const char *input_differs(const mt_module *m, const mt_fused_group *a,
                                 const mt_fused_group *b, mt_value_id va, mt_value_id vb,
                                 bool with_shapes, char *buf, size_t size, const mt_node *na,
                                 int i) {
  if ((va == MT_NO_VALUE) != (vb == MT_NO_VALUE)) return "optional inputs differ";
  if (va == MT_NO_VALUE) return NULL;
  int oa = 0, ob = 0;
  int ka = producer_in_group(m, a, va, &oa), kb = producer_in_group(m, b, vb, &ob);
  if (ka != kb || oa != ob) return "the ops are wired differently";
  const mt_value *xa = mt_module_value_c(m, va), *xb = mt_module_value_c(m, vb);
  if (xa->dtype != xb->dtype) return "dtypes differ";
  if (ka >= 0) return NULL; /* internal edge: shapes follow from the producer */
  bool ia = is_immediate(m, xa), ib = is_immediate(m, xb);
  if (ia != ib) return "a constant operand differs";
  if (ia) {
    const mt_constant *ca = mt_module_constant(m, xa->constant),
                      *cb = mt_module_constant(m, xb->constant);
    if (ca->nbytes != cb->nbytes || memcmp(ca->data, cb->data, ca->nbytes) != 0 ||
        !same_shape(xa, xb)) {
      snprintf(buf, size, "%s input %d: constant operands differ", na->op_type, i);
      return buf;
    }
    return NULL;
  }
  if (with_shapes && !same_shape(xa, xb)) {
    char sa[96], sb[96];
    snprintf(buf, size, "%s input %d: shape %s vs %s", na->op_type, i,
             mt_fusion_shape_str(xa->rank, xa->dims, sa, sizeof sa),
             mt_fusion_shape_str(xb->rank, xb->dims, sb, sizeof sb));
    return buf;
  }
  return NULL;
}

const char *mt_fusion_groups_differ(const mt_module *m, const mt_fused_group *a,
                                    const mt_fused_group *b, bool with_shapes, char *buf,
                                    size_t size) {
  if (a->kind != b->kind) return "kinds differ";
  if (a->n_nodes != b->n_nodes) {
    snprintf(buf, size, "epilogues differ (%d vs %d ops)", a->n_nodes, b->n_nodes);
    return buf;
  }
  for (int k = 0; k < a->n_nodes; k++) {
    const mt_node *na = mt_module_node_c(m, a->nodes[k]), *nb = mt_module_node_c(m, b->nodes[k]);
    if (strcmp(na->op_type, nb->op_type) != 0) {
      snprintf(buf, size, "ops differ (%s vs %s)", na->op_type, nb->op_type);
      return buf;
    }
    if (na->opset != nb->opset) return "opset versions differ";
    if (na->n_inputs != nb->n_inputs || na->n_outputs != nb->n_outputs)
      return "input counts differ";
    for (int x = 0; x < na->n_attrs; x++) {
      const mt_attr *ya = &na->attrs[x], *yb = find_attr(nb, ya->name);
      if (!yb || !attr_equal(ya, yb)) {
        snprintf(buf, size, "%s attribute '%s' differs", na->op_type, ya->name);
        return buf;
      }
    }
    for (int x = 0; x < nb->n_attrs; x++)
      if (!find_attr(na, nb->attrs[x].name)) {
        snprintf(buf, size, "%s attribute '%s' differs", nb->op_type, nb->attrs[x].name);
        return buf;
      }
    for (int i = 0; i < na->n_inputs; i++) {
      const char *why =
          input_differs(m, a, b, na->inputs[i], nb->inputs[i], with_shapes, buf, size, na, i);
      if (why) return why;
    }
    for (int i = 0; i < na->n_outputs; i++) {
      mt_value_id va = na->outputs[i], vb = nb->outputs[i];
      if ((va == MT_NO_VALUE) != (vb == MT_NO_VALUE)) return "optional outputs differ";
      if (va == MT_NO_VALUE) continue;
      const mt_value *xa = mt_module_value_c(m, va), *xb = mt_module_value_c(m, vb);
      if (xa->dtype != xb->dtype) return "output dtypes differ";
      if (with_shapes && !same_shape(xa, xb)) {
        char sa[96], sb[96];
        snprintf(buf, size, "%s output shape %s vs %s", na->op_type,
                 mt_fusion_shape_str(xa->rank, xa->dims, sa, sizeof sa),
                 mt_fusion_shape_str(xb->rank, xb->dims, sb, sizeof sb));
        return buf;
      }
    }
  }
  /* the same values must leave the group (an extra write is part of the kernel's signature) */
  if (a->n_outputs != b->n_outputs) return "the groups write different numbers of outputs";
  for (int i = 0; i < a->n_outputs; i++) {
    int oa = 0, ob = 0;
    if (producer_in_group(m, a, a->outputs[i], &oa) !=
            producer_in_group(m, b, b->outputs[i], &ob) ||
        oa != ob)
      return "the groups write different outputs";
  }
  return NULL;
}
