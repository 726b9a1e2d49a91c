/* The shared IR module: tenants, graphs, values, nodes and content-deduplicated constants. */
#include "ir/module.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/op.h"
#include "runtime/base/checked_math.h"
#include "runtime/base/escape.h"
#include "runtime/base/memory_limit.h"

struct mt_module {
  const mt_allocator *allocator; /* NULL: system; owns every array below and the arena's chunks */
  mt_arena arena;
  mt_tenant *tenants;
  int32_t n_tenants, cap_tenants;
  mt_value *values;
  int32_t n_values, cap_values;
  mt_node *nodes;
  int32_t n_nodes, cap_nodes;
  mt_constant *constants;
  int32_t n_constants, cap_constants;
  int32_t *constant_index; /* open addressing on hash: constant id + 1, 0 for empty */
  size_t index_capacity;   /* power of two */
  /* tenant names, open addressing on their hash: tenant id + 1, 0 for empty (a manifest of 10k
   * tenants checked each new name against every earlier one) */
  int32_t *tenant_index;
  size_t tenant_index_capacity; /* power of two, or 0 */
  mt_constant_stats stats;
  size_t memory_limit;        /* budget for file-controlled allocations (memory_limit.h) */
  size_t heap_constant_bytes; /* stored constant bytes that are heap copies, not mappings */
};

/* Grows a module-owned array to hold at least need elements. */
MT_MUST_USE static mt_status *grow(const mt_allocator *allocator, void **array, int32_t *capacity,
                                   int32_t need, size_t elem) {
  if (need <= *capacity) return NULL;
  int64_t cap = *capacity ? *capacity : 16;
  while (cap < need) cap *= 2;
  if (cap > INT32_MAX) return MT_ERR(RESOURCE_EXHAUSTED, "IR too large (%d elements)", need);
  size_t bytes;
  if (!mt_mul_size((size_t)cap, elem, &bytes)) return MT_ERR(RESOURCE_EXHAUSTED, "IR too large");
  void *p = mt_allocator_realloc(allocator, *array, bytes);
  if (!p) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory growing the IR");
  *array = p;
  *capacity = (int32_t)cap;
  return NULL;
}

mt_status *mt_module_create(const mt_allocator *allocator, mt_module **out_module) {
  mt_module *m = mt_allocator_calloc(allocator, 1, sizeof *m);
  if (!m) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory creating a module");
  m->allocator = allocator;
  m->memory_limit = mt_memory_limit_default();
  mt_arena_init(&m->arena, allocator);
  *out_module = m;
  return NULL;
}

void mt_module_destroy(mt_module *m) {
  if (!m) return;
  const mt_allocator *a = m->allocator;
  for (int32_t i = 0; i < m->n_constants; i++) {
    if (m->constants[i].mapping.base)
      mt_file_unmap(&m->constants[i].mapping);
    else
      mt_allocator_free_aligned(a, m->constants[i].data);
  }
  mt_allocator_free(a, m->constants);
  mt_allocator_free(a, m->constant_index);
  mt_allocator_free(a, m->tenant_index);
  mt_allocator_free(a, m->values);
  mt_allocator_free(a, m->nodes);
  mt_allocator_free(a, m->tenants);
  mt_arena_release(&m->arena);
  mt_allocator_free(a, m);
}

const mt_allocator *mt_module_allocator(const mt_module *m) { return m->allocator; }

void mt_module_set_memory_limit(mt_module *m, size_t bytes) { m->memory_limit = bytes ? bytes : 1; }
size_t mt_module_memory_limit(const mt_module *m) { return m->memory_limit; }

mt_arena *mt_module_arena(mt_module *m) { return &m->arena; }
int32_t mt_module_tenant_count(const mt_module *m) { return m->n_tenants; }
mt_tenant *mt_module_tenant(mt_module *m, int32_t t) { return &m->tenants[t]; }
const mt_tenant *mt_module_tenant_c(const mt_module *m, int32_t t) { return &m->tenants[t]; }
int32_t mt_module_value_count(const mt_module *m) { return m->n_values; }
mt_value *mt_module_value(mt_module *m, mt_value_id v) { return &m->values[v]; }
const mt_value *mt_module_value_c(const mt_module *m, mt_value_id v) { return &m->values[v]; }
int32_t mt_module_node_count(const mt_module *m) { return m->n_nodes; }
mt_node *mt_module_node(mt_module *m, int32_t n) { return &m->nodes[n]; }
const mt_node *mt_module_node_c(const mt_module *m, int32_t n) { return &m->nodes[n]; }
int32_t mt_module_constant_count(const mt_module *m) { return m->n_constants; }
const mt_constant *mt_module_constant(const mt_module *m, int32_t c) { return &m->constants[c]; }

static size_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return (size_t)h;
}

int32_t mt_module_find_tenant(const mt_module *m, const char *name) {
  size_t cap = m->tenant_index_capacity;
  if (!cap) return -1;
  for (size_t s = name_hash(name) & (cap - 1); m->tenant_index[s]; s = (s + 1) & (cap - 1))
    if (strcmp(m->tenants[m->tenant_index[s] - 1].name, name) == 0) return m->tenant_index[s] - 1;
  return -1;
}

static void tenant_index_insert(mt_module *m, int32_t id) {
  size_t cap = m->tenant_index_capacity;
  size_t s = name_hash(m->tenants[id].name) & (cap - 1);
  while (m->tenant_index[s]) s = (s + 1) & (cap - 1);
  m->tenant_index[s] = id + 1;
}

/* Keeps the tenant index at most half full with room for one more tenant. */
MT_MUST_USE static mt_status *tenant_index_reserve(mt_module *m) {
  if ((size_t)(m->n_tenants + 1) * 2 <= m->tenant_index_capacity) return NULL;
  size_t cap = m->tenant_index_capacity ? m->tenant_index_capacity * 2 : 64;
  int32_t *idx = mt_allocator_calloc(m->allocator, cap, sizeof *idx);
  if (!idx) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_allocator_free(m->allocator, m->tenant_index);
  m->tenant_index = idx;
  m->tenant_index_capacity = cap;
  for (int32_t t = 0; t < m->n_tenants; t++) tenant_index_insert(m, t);
  return NULL;
}

mt_status *mt_module_add_tenant(mt_module *m, const char *name, const char *model_path,
                                int32_t *out_tenant) {
  if (mt_module_find_tenant(m, name) >= 0)
    return MT_ERR(INVALID_ARGUMENT, "tenant '%s' is defined twice", name);
  MT_RETURN_IF_ERROR_PLAIN(tenant_index_reserve(m));
  MT_RETURN_IF_ERROR_PLAIN(grow(m->allocator, (void **)&m->tenants, &m->cap_tenants,
                                m->n_tenants + 1, sizeof *m->tenants));
  mt_tenant *t = &m->tenants[m->n_tenants];
  memset(t, 0, sizeof *t);
  t->name = mt_arena_strdup(&m->arena, name);
  t->model_path = mt_arena_strdup(&m->arena, model_path ? model_path : "");
  t->partition = "default";
  if (!t->name || !t->model_path) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  int32_t id = m->n_tenants++;
  tenant_index_insert(m, id);
  MT_RETURN_IF_ERROR_PLAIN(mt_module_add_graph(m, id, NULL, name, &t->graph));
  *out_tenant = id;
  return NULL;
}

mt_status *mt_module_add_graph(mt_module *m, int32_t tenant, mt_graph *parent, const char *name,
                               mt_graph **out_graph) {
  mt_graph *g = mt_arena_alloc(&m->arena, sizeof *g);
  if (!g) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  g->name = mt_arena_strdup(&m->arena, name ? name : "");
  g->tenant = tenant;
  g->parent = parent;
  *out_graph = g;
  return NULL;
}

mt_status *mt_module_add_value(mt_module *m, mt_graph *g, const char *name,
                               mt_value_id *out_value) {
  MT_RETURN_IF_ERROR_PLAIN(
      grow(m->allocator, (void **)&m->values, &m->cap_values, m->n_values + 1, sizeof *m->values));
  mt_value *v = &m->values[m->n_values];
  memset(v, 0, sizeof *v);
  v->name = mt_arena_strdup(&m->arena, name ? name : "");
  if (!v->name) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  v->tenant = g->tenant;
  v->graph = g;
  v->rank = -1;
  v->producer = -1;
  v->constant = -1;
  for (int i = 0; i < MT_MAX_RANK; i++) v->dims[i] = -1;
  *out_value = m->n_values++;
  return NULL;
}

int mt_module_opset_for(const mt_module *m, int32_t tenant, const char *domain) {
  const mt_tenant *t = &m->tenants[tenant];
  const char *d = domain && strcmp(domain, "ai.onnx") != 0 ? domain : "";
  for (int i = 0; i < t->n_opsets; i++) {
    const char *od = strcmp(t->opsets[i].domain, "ai.onnx") == 0 ? "" : t->opsets[i].domain;
    if (strcmp(od, d) == 0) return t->opsets[i].version;
  }
  return 0;
}

mt_status *mt_module_add_node(mt_module *m, mt_graph *g, const char *name, const char *op_type,
                              const char *domain, int n_inputs, const mt_value_id *inputs,
                              int n_outputs, const mt_value_id *outputs, int n_attrs,
                              mt_attr *attrs, int32_t *out_node) {
  MT_RETURN_IF_ERROR_PLAIN(
      grow(m->allocator, (void **)&m->nodes, &m->cap_nodes, m->n_nodes + 1, sizeof *m->nodes));
  if (g->n_nodes + 1 > g->nodes_capacity) {
    int cap = g->nodes_capacity ? g->nodes_capacity * 2 : 16;
    int32_t *p = mt_arena_array(&m->arena, (size_t)cap, sizeof *p);
    if (!p) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    if (g->n_nodes) memcpy(p, g->nodes, (size_t)g->n_nodes * sizeof *p);
    g->nodes = p;
    g->nodes_capacity = cap;
  }
  int32_t id = m->n_nodes;
  mt_node *n = &m->nodes[id];
  memset(n, 0, sizeof *n);
  n->op_type = mt_arena_strdup(&m->arena, op_type);
  n->domain = mt_arena_strdup(&m->arena, domain ? domain : "");
  if (name && *name) {
    n->name = mt_arena_strdup(&m->arena, name);
  } else {
    char buf[96];
    snprintf(buf, sizeof buf, "%.60s_%d", op_type, (int)id);
    n->name = mt_arena_strdup(&m->arena, buf);
  }
  n->tenant = g->tenant;
  n->graph = g;
  n->opset = mt_module_opset_for(m, g->tenant, n->domain);
  n->def = mt_op_lookup(n->domain, n->op_type);
  n->n_inputs = n_inputs;
  n->n_outputs = n_outputs;
  n->inputs = mt_arena_array(&m->arena, (size_t)(n_inputs ? n_inputs : 1), sizeof(mt_value_id));
  n->outputs = mt_arena_array(&m->arena, (size_t)(n_outputs ? n_outputs : 1), sizeof(mt_value_id));
  if (!n->op_type || !n->domain || !n->name || !n->inputs || !n->outputs)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (n_inputs) memcpy(n->inputs, inputs, (size_t)n_inputs * sizeof *inputs);
  if (n_outputs) memcpy(n->outputs, outputs, (size_t)n_outputs * sizeof *outputs);
  n->n_attrs = n_attrs;
  n->attrs = attrs;
  for (int i = 0; i < n_outputs; i++)
    if (outputs[i] != MT_NO_VALUE) m->values[outputs[i]].producer = id;
  g->nodes[g->n_nodes++] = id;
  m->n_nodes++;
  *out_node = id;
  return NULL;
}

/* FNV-1a over the header and bytes; collisions are resolved by full comparison. */
static uint64_t constant_hash(mt_dtype dtype, int rank, const int64_t *dims, const void *data,
                              size_t nbytes) {
  uint64_t h = 1469598103934665603ull;
  const unsigned char *p;
  uint64_t header[2 + MT_MAX_RANK] = {(uint64_t)dtype, (uint64_t)rank};
  for (int i = 0; i < rank; i++) header[2 + i] = (uint64_t)dims[i];
  p = (const unsigned char *)header;
  for (size_t i = 0; i < sizeof header; i++) h = (h ^ p[i]) * 1099511628211ull;
  p = data;
  size_t i = 0;
  for (; i + 8 <= nbytes; i += 8) { /* word at a time: weights are large */
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * 1099511628211ull;
    h ^= h >> 29;
  }
  for (; i < nbytes; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static bool constant_equals(const mt_constant *c, mt_dtype dtype, int rank, const int64_t *dims,
                            const void *data, size_t nbytes) {
  if (c->dtype != dtype || c->rank != rank || c->nbytes != nbytes) return false;
  for (int i = 0; i < rank; i++)
    if (c->dims[i] != dims[i]) return false;
  return nbytes == 0 || memcmp(c->data, data, nbytes) == 0;
}

MT_MUST_USE static mt_status *rehash(mt_module *m) {
  size_t cap = m->index_capacity ? m->index_capacity * 2 : 256;
  int32_t *idx = mt_allocator_calloc(m->allocator, cap, sizeof *idx);
  if (!idx) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int32_t c = 0; c < m->n_constants; c++) {
    size_t s = (size_t)m->constants[c].hash & (cap - 1);
    while (idx[s]) s = (s + 1) & (cap - 1);
    idx[s] = c + 1;
  }
  mt_allocator_free(m->allocator, m->constant_index);
  m->constant_index = idx;
  m->index_capacity = cap;
  return NULL;
}

/* Finds an identical constant (content dedup) or the empty slot where a new one goes. */
MT_MUST_USE static mt_status *find_constant(mt_module *m, mt_dtype dtype, int rank,
                                            const int64_t *dims, const void *data, size_t nbytes,
                                            uint64_t *out_hash, size_t *out_slot,
                                            int32_t *out_existing) {
  if (rank < 0 || rank > MT_MAX_RANK)
    return MT_ERR(UNIMPLEMENTED, "constant of rank %d (at most %d supported)", rank, MT_MAX_RANK);
  uint64_t h = constant_hash(dtype, rank, dims, data, nbytes);
  m->stats.interned++;
  m->stats.bytes_requested += nbytes;
  if ((size_t)(m->n_constants + 1) * 2 > m->index_capacity) MT_RETURN_IF_ERROR_PLAIN(rehash(m));
  size_t s = (size_t)h & (m->index_capacity - 1);
  *out_existing = -1;
  for (; m->constant_index[s]; s = (s + 1) & (m->index_capacity - 1)) {
    mt_constant *c = &m->constants[m->constant_index[s] - 1];
    if (c->hash == h && constant_equals(c, dtype, rank, dims, data, nbytes)) {
      c->uses++;
      *out_existing = m->constant_index[s] - 1;
      return NULL;
    }
  }
  *out_hash = h;
  *out_slot = s;
  return grow(m->allocator, (void **)&m->constants, &m->cap_constants, m->n_constants + 1,
              sizeof *m->constants);
}

/* Appends a constant whose storage (heap copy or mapping) is already decided. */
static int32_t add_constant(mt_module *m, mt_dtype dtype, int rank, const int64_t *dims, void *data,
                            size_t nbytes, uint64_t h, size_t slot) {
  mt_constant *c = &m->constants[m->n_constants];
  memset(c, 0, sizeof *c);
  c->dtype = dtype;
  c->rank = rank;
  for (int i = 0; i < rank; i++) c->dims[i] = dims[i];
  c->data = data;
  c->nbytes = nbytes;
  c->hash = h;
  c->uses = 1;
  m->constant_index[slot] = m->n_constants + 1;
  m->stats.stored++;
  m->stats.bytes_stored += nbytes;
  return m->n_constants++;
}

mt_status *mt_module_intern_constant(mt_module *m, mt_dtype dtype, int rank, const int64_t *dims,
                                     const void *data, size_t nbytes, int32_t *out_constant) {
  uint64_t h;
  size_t slot;
  int32_t existing;
  MT_RETURN_IF_ERROR_PLAIN(find_constant(m, dtype, rank, dims, data, nbytes, &h, &slot, &existing));
  if (existing >= 0) {
    *out_constant = existing;
    return NULL;
  }
  /* The heap copies of all constants together stay within the budget: a model of many
   * medium-sized initializers (or folding that makes them) must not add up past it. */
  size_t total;
  if (!mt_add_size(m->heap_constant_bytes, nbytes, &total) || total > m->memory_limit) {
    char need[32], have[32], lim[32];
    return MT_ERR(
        RESOURCE_EXHAUSTED,
        "a constant of %s would bring the module's constants to %s, over the memory "
        "limit of %s",
        mt_format_bytes((double)nbytes, need, sizeof need),
        mt_format_bytes((double)m->heap_constant_bytes + (double)nbytes, have, sizeof have),
        mt_format_bytes((double)m->memory_limit, lim, sizeof lim));
  }
  size_t alloc = (nbytes + 63) & ~(size_t)63;
  if (alloc < nbytes) return MT_ERR(RESOURCE_EXHAUSTED, "constant too large");
  void *copy = mt_allocator_malloc_aligned(m->allocator, alloc ? alloc : 64, 64);
  if (!copy) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory storing a %zu-byte constant", nbytes);
  if (nbytes) memcpy(copy, data, nbytes);
  m->heap_constant_bytes = total;
  *out_constant = add_constant(m, dtype, rank, dims, copy, nbytes, h, slot);
  return NULL;
}

mt_status *mt_module_intern_constant_mapped(mt_module *m, mt_dtype dtype, int rank,
                                            const int64_t *dims, mt_file_mapping *mapping,
                                            int32_t *out_constant) {
  if (!mapping->base || ((uintptr_t)mapping->data & 63) != 0) {
    /* nothing mapped (empty) or misaligned for the kernels' 64-byte assumption: copy */
    mt_status *st =
        mt_module_intern_constant(m, dtype, rank, dims, mapping->data, mapping->size, out_constant);
    mt_file_unmap(mapping);
    return st;
  }
  uint64_t h;
  size_t slot;
  int32_t existing;
  mt_status *st =
      find_constant(m, dtype, rank, dims, mapping->data, mapping->size, &h, &slot, &existing);
  if (st || existing >= 0) {
    mt_file_unmap(mapping);
    if (!st) *out_constant = existing;
    return st;
  }
  int32_t id = add_constant(m, dtype, rank, dims, (void *)mapping->data, mapping->size, h, slot);
  m->constants[id].mapping = *mapping;
  memset(mapping, 0, sizeof *mapping);
  *out_constant = id;
  return NULL;
}

void mt_module_bind_constant(mt_module *m, mt_value_id v, int32_t constant) {
  mt_value *val = &m->values[v];
  const mt_constant *c = &m->constants[constant];
  val->constant = constant;
  val->dtype = c->dtype;
  val->rank = c->rank;
  for (int i = 0; i < c->rank; i++) val->dims[i] = c->dims[i];
}

void mt_module_constant_stats(const mt_module *m, mt_constant_stats *out_stats) {
  *out_stats = m->stats;
}

void mt_constant_view(const mt_constant *c, mt_tensor *out_view) {
  memset(out_view, 0, sizeof *out_view);
  out_view->dtype = c->dtype;
  out_view->rank = c->rank;
  for (int i = 0; i < c->rank; i++) out_view->dims[i] = c->dims[i];
  out_view->data = c->data;
}

const mt_attr *mt_node_attr(const mt_node *n, const char *name) {
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

int64_t mt_node_attr_int(const mt_node *n, const char *name, int64_t dflt) {
  const mt_attr *a = mt_node_attr(n, name);
  return a && a->type == MT_ATTR_INT ? a->i : dflt;
}

float mt_node_attr_float(const mt_node *n, const char *name, float dflt) {
  const mt_attr *a = mt_node_attr(n, name);
  if (!a) return dflt;
  if (a->type == MT_ATTR_FLOAT) return a->f;
  if (a->type == MT_ATTR_INT) return (float)a->i;
  return dflt;
}

const char *mt_node_attr_string(const mt_node *n, const char *name, const char *dflt) {
  const mt_attr *a = mt_node_attr(n, name);
  return a && a->type == MT_ATTR_STRING ? a->s : dflt;
}

int64_t mt_node_attr_ints(const mt_node *n, const char *name, const int64_t **out) {
  const mt_attr *a = mt_node_attr(n, name);
  if (!a || a->type != MT_ATTR_INTS) {
    *out = NULL;
    return -1;
  }
  *out = a->ints;
  return a->count;
}

int64_t mt_node_attr_floats(const mt_node *n, const char *name, const float **out) {
  const mt_attr *a = mt_node_attr(n, name);
  if (!a || a->type != MT_ATTR_FLOATS) {
    *out = NULL;
    return -1;
  }
  *out = a->floats;
  return a->count;
}

const char *mt_node_label(const mt_module *m, const mt_node *n) {
  static _Thread_local char buf[4096];
  /* The model file leads, as in import errors ("a.onnx: tenant 'a': node ..."), so that a
   * message from any pass names the file, the tenant and the node. */
  const mt_tenant *t = &m->tenants[n->tenant];
  snprintf(buf, sizeof buf, "%s%stenant '%s': node '%s' (%s)", mt_esc(t->model_path),
           *t->model_path ? ": " : "", mt_esc(t->name), mt_esc(n->name), mt_esc(n->op_type));
  return buf;
}

static void replace_in_graph(mt_module *m, mt_graph *g, mt_value_id from, mt_value_id to) {
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == from) g->outputs[i] = to;
}

void mt_module_replace_uses(mt_module *m, mt_value_id from, mt_value_id to) {
  for (int32_t k = 0; k < m->n_nodes; k++) {
    mt_node *n = &m->nodes[k];
    if (!n->graph) continue;
    for (int i = 0; i < n->n_inputs; i++)
      if (n->inputs[i] == from) n->inputs[i] = to;
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        replace_in_graph(m, n->attrs[a].graphs[j], from, to);
  }
  for (int32_t t = 0; t < m->n_tenants; t++) replace_in_graph(m, m->tenants[t].graph, from, to);
}

void mt_graph_remove_nodes(mt_module *m, mt_graph *g, const uint8_t *remove) {
  int kept = 0;
  for (int k = 0; k < g->n_nodes; k++) {
    int32_t id = g->nodes[k];
    if (!remove[id]) {
      g->nodes[kept++] = id;
      continue;
    }
    mt_node *n = &m->nodes[id];
    for (int i = 0; i < n->n_outputs; i++)
      if (n->outputs[i] != MT_NO_VALUE && m->values[n->outputs[i]].producer == id)
        m->values[n->outputs[i]].producer = -1;
    n->graph = NULL;
  }
  g->n_nodes = kept;
}

void mt_graph_move_node_before(mt_graph *g, int32_t node, int32_t before) {
  int from = -1, to = -1;
  for (int k = 0; k < g->n_nodes; k++) {
    if (g->nodes[k] == node) from = k;
    if (g->nodes[k] == before) to = k;
  }
  if (from < 0 || to < 0 || from == to) return;
  if (from < to) {
    for (int k = from; k < to - 1; k++) g->nodes[k] = g->nodes[k + 1];
    g->nodes[to - 1] = node;
  } else {
    for (int k = from; k > to; k--) g->nodes[k] = g->nodes[k - 1];
    g->nodes[to] = node;
  }
}

mt_status *mt_module_add_constant_value(mt_module *m, mt_graph *g, const char *name,
                                        const mt_tensor *t, mt_value_id *out_value) {
  int32_t c;
  MT_RETURN_IF_ERROR_PLAIN(
      mt_module_intern_constant(m, t->dtype, t->rank, t->dims, t->data, mt_tensor_nbytes(t), &c));
  MT_RETURN_IF_ERROR_PLAIN(mt_module_add_value(m, g, name, out_value));
  mt_module_bind_constant(m, *out_value, c);
  return NULL;
}
