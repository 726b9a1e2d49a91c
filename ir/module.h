/* The shared multi-tenant IR: one module holding every tenant's graph.
 *
 * Values and nodes live in module-wide arrays and are named by index (mt_value_id, node id), so
 * subgraphs (If branches) refer to outer-scope values directly. Every value and node carries its
 * tenant. Constants are stored once per distinct content (dtype, shape, bytes) across all tenants.
 * Arrays grow, so never keep a pointer to a value or node across an add; graphs are stable.
 * Strings and per-node arrays live in the module's arena and die with it.
 * This header knows nothing of ONNX protobufs, manifests or passes. */
#ifndef MT_IR_MODULE_H
#define MT_IR_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/arena.h"
#include "runtime/base/file.h"
#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

typedef int32_t mt_value_id;
#define MT_NO_VALUE ((mt_value_id)-1)

/* Values follow ONNX AttributeProto.AttributeType. */
typedef enum mt_attr_type {
  MT_ATTR_UNDEFINED = 0,
  MT_ATTR_FLOAT = 1,
  MT_ATTR_INT = 2,
  MT_ATTR_STRING = 3,
  MT_ATTR_TENSOR = 4,
  MT_ATTR_GRAPH = 5,
  MT_ATTR_FLOATS = 6,
  MT_ATTR_INTS = 7,
  MT_ATTR_STRINGS = 8,
  MT_ATTR_TENSORS = 9,
  MT_ATTR_GRAPHS = 10,
  MT_ATTR_SPARSE_TENSOR = 11,  /* imported densified, as MT_ATTR_TENSOR */
  MT_ATTR_SPARSE_TENSORS = 12, /* kept by name only */
  MT_ATTR_TYPE_PROTO = 13,     /* kept by name only */
  MT_ATTR_TYPE_PROTOS = 14,    /* kept by name only */
} mt_attr_type;

struct mt_graph;
struct mt_op_def;

typedef struct mt_attr {
  const char *name;
  mt_attr_type type;
  int64_t i;
  float f;
  const char *s; /* NUL-terminated copy; s_len bytes (may hold NULs) */
  size_t s_len;
  int64_t count; /* elements of the list kinds */
  int64_t *ints;
  float *floats;
  const char **strings;
  int32_t constant;   /* MT_ATTR_TENSOR: constant id */
  int32_t *constants; /* MT_ATTR_TENSORS */
  /* GRAPH and GRAPHS: graphs[0..count); for GRAPH, `graph` is graphs[0] as a shorthand, so a
   * walk over subgraphs follows `graphs` only (following both visits each branch twice). */
  struct mt_graph *graph;
  struct mt_graph **graphs;
} mt_attr;

typedef struct mt_node {
  const char *name; /* the model's node name, or "<op_type>_<n>" when it had none */
  const char *op_type;
  const char *domain; /* "" for the default ONNX domain */
  int opset;          /* the version of `domain` that the node's tenant imports */
  /* The op's definition (ir/op.h), resolved once when the node is added; NULL when mtcc does
   * not support the op. Passes read its pattern and traits instead of matching op names. */
  const struct mt_op_def *def;
  int32_t tenant;
  struct mt_graph *graph; /* graph the node belongs to */
  int n_inputs;
  mt_value_id *inputs; /* MT_NO_VALUE for an omitted optional input */
  int n_outputs;
  mt_value_id *outputs; /* MT_NO_VALUE for an omitted optional output */
  int n_attrs;
  mt_attr *attrs;
} mt_node;

typedef struct mt_value {
  const char *name;
  int32_t tenant;
  mt_dtype dtype;                      /* MT_DTYPE_UNDEFINED until known */
  int rank;                            /* -1 until known */
  int64_t dims[MT_MAX_RANK];           /* -1 where unknown */
  const char *dim_params[MT_MAX_RANK]; /* symbolic name of a dim from the model, or NULL */
  int32_t producer;                    /* node id, or -1 */
  int32_t constant;                    /* constant id, or -1 */
  struct mt_graph *graph;              /* graph in whose scope the value is defined */
} mt_value;

typedef struct mt_constant {
  mt_dtype dtype;
  int rank;
  int64_t dims[MT_MAX_RANK];
  void *data; /* owned by the module, 64-byte aligned */
  size_t nbytes;
  uint64_t hash;
  int32_t uses; /* how many times it was interned: >1 means bytes were shared */
  /* Set when data points into a read-only file mapping the module owns (external weights kept
   * mapped instead of copied); zeroed when data is the module's own heap copy. Never written. */
  mt_file_mapping mapping;
} mt_constant;

/* The type a model declares for a graph output (ValueInfoProto), kept to check inference against:
 * dtype MT_DTYPE_UNDEFINED and rank -1 when not declared; a dim is -1 when symbolic or absent. */
typedef struct mt_declared_type {
  mt_dtype dtype;
  int rank;
  int64_t dims[MT_MAX_RANK];
} mt_declared_type;

typedef struct mt_graph {
  const char *name;
  int32_t tenant;
  struct mt_graph *parent; /* NULL for a tenant's main graph */
  int n_nodes;
  int32_t *nodes; /* node ids in topological order */
  int n_inputs;
  mt_value_id *inputs; /* runtime inputs (initializers excluded) */
  int n_outputs;
  mt_value_id *outputs;
  mt_declared_type *declared_outputs; /* n_outputs entries, or NULL (graphs built by passes) */
  int nodes_capacity;
} mt_graph;

typedef struct mt_opset_import {
  const char *domain;
  int version;
} mt_opset_import;

/* Binds a symbolic dim name ("batch") to a size for one tenant. */
typedef struct mt_dim_binding {
  const char *name;
  int64_t value;
} mt_dim_binding;

/* Overrides a whole input shape for one tenant. */
typedef struct mt_shape_override {
  const char *input;
  int rank;
  int64_t dims[MT_MAX_RANK];
} mt_shape_override;

typedef struct mt_tenant {
  const char *name;
  const char *model_path;
  const char *partition; /* partition name from the manifest, "default" otherwise */
  int priority;
  mt_graph *graph;
  int n_opsets;
  mt_opset_import *opsets;
  int64_t ir_version;
  const char *producer_name;
  int64_t parameter_count; /* elements in this tenant's initializers, before dedup */
  size_t parameter_bytes;
  /* From the manifest (or the inputs given to `run`): applied by shape inference. Arena memory. */
  int n_dim_bindings;
  mt_dim_binding *dim_bindings;
  int n_shape_overrides;
  mt_shape_override *shape_overrides;
} mt_tenant;

typedef struct mt_module mt_module;

/* Creates an empty module whose memory comes from `allocator` (NULL: the system allocator),
 * which must outlive it. The caller owns the module and frees it with mt_module_destroy. */
MT_MUST_USE mt_status *mt_module_create(const mt_allocator *allocator, mt_module **out_module);
void mt_module_destroy(mt_module *m);

mt_arena *mt_module_arena(mt_module *m);
/* The allocator the module was created with (NULL: system); objects built over the module
 * (plans) allocate from it too. */
const mt_allocator *mt_module_allocator(const mt_module *m);
int32_t mt_module_tenant_count(const mt_module *m);
mt_tenant *mt_module_tenant(mt_module *m, int32_t t);
const mt_tenant *mt_module_tenant_c(const mt_module *m, int32_t t);
/* Returns the tenant index with that name, or -1. */
int32_t mt_module_find_tenant(const mt_module *m, const char *name);
int32_t mt_module_value_count(const mt_module *m);
mt_value *mt_module_value(mt_module *m, mt_value_id v);
const mt_value *mt_module_value_c(const mt_module *m, mt_value_id v);
int32_t mt_module_node_count(const mt_module *m);
mt_node *mt_module_node(mt_module *m, int32_t n);
const mt_node *mt_module_node_c(const mt_module *m, int32_t n);
int32_t mt_module_constant_count(const mt_module *m);
const mt_constant *mt_module_constant(const mt_module *m, int32_t c);

/* Adds a tenant with an empty main graph; strings are copied. */
MT_MUST_USE mt_status *mt_module_add_tenant(mt_module *m, const char *name, const char *model_path,
                                            int32_t *out_tenant);
/* Creates a graph (a tenant's main graph when parent is NULL, or a subgraph). */
MT_MUST_USE mt_status *mt_module_add_graph(mt_module *m, int32_t tenant, mt_graph *parent,
                                           const char *name, mt_graph **out_graph);
MT_MUST_USE mt_status *mt_module_add_value(mt_module *m, mt_graph *g, const char *name,
                                           mt_value_id *out_value);
/* Adds a node at the end of g's node list. inputs/outputs are copied; attrs are adopted (they
 * must live in the module's arena). The node's opset is taken from its tenant's imports. */
MT_MUST_USE mt_status *mt_module_add_node(mt_module *m, mt_graph *g, const char *name,
                                          const char *op_type, const char *domain, int n_inputs,
                                          const mt_value_id *inputs, int n_outputs,
                                          const mt_value_id *outputs, int n_attrs, mt_attr *attrs,
                                          int32_t *out_node);
/* Interns constant bytes: returns the id of an identical constant when one exists (content
 * dedup across tenants), otherwise copies the bytes into a new one. */
MT_MUST_USE mt_status *mt_module_intern_constant(mt_module *m, mt_dtype dtype, int rank,
                                                 const int64_t *dims, const void *data,
                                                 size_t nbytes, int32_t *out_constant);
/* Same, for bytes in a file mapping: the module takes the mapping (also on error) and keeps the
 * constant's data in it when it is 64-byte aligned, so a large external weight is never copied
 * to the heap; otherwise (or when identical bytes are already interned) it copies or reuses and
 * releases the mapping. */
MT_MUST_USE mt_status *mt_module_intern_constant_mapped(mt_module *m, mt_dtype dtype, int rank,
                                                        const int64_t *dims,
                                                        mt_file_mapping *mapping,
                                                        int32_t *out_constant);
/* The memory budget (runtime/base/memory_limit.h): the most bytes a file may make this module's
 * users allocate at once, for one tensor or for all heap constants together. A new module starts
 * with mt_memory_limit_default(). */
void mt_module_set_memory_limit(mt_module *m, size_t bytes);
size_t mt_module_memory_limit(const mt_module *m);
/* Sets a value's dtype/shape from a constant and links them. */
void mt_module_bind_constant(mt_module *m, mt_value_id v, int32_t constant);
int mt_module_opset_for(const mt_module *m, int32_t tenant, const char *domain);

typedef struct mt_constant_stats {
  int64_t interned;       /* constants as the models hold them */
  int64_t stored;         /* distinct constants kept */
  size_t bytes_requested; /* bytes the models hold */
  size_t bytes_stored;    /* bytes kept after dedup */
} mt_constant_stats;
void mt_module_constant_stats(const mt_module *m, mt_constant_stats *out_stats);

/* --- mutation, for passes --- */
/* Makes every reader of `from` (node inputs in every graph, graph outputs) read `to` instead. */
void mt_module_replace_uses(mt_module *m, mt_value_id from, mt_value_id to);
/* Drops the nodes whose ids have remove[id] != 0 from g's node list (order of the rest kept).
 * Removed nodes stay in the module's array, detached (graph NULL); their outputs lose their
 * producer. */
void mt_graph_remove_nodes(mt_module *m, mt_graph *g, const uint8_t *remove);
/* Moves node (already in g) to just before `before` in g's order. */
void mt_graph_move_node_before(mt_graph *g, int32_t node, int32_t before);
/* Interns t's bytes and returns a new value in g bound to that constant. */
MT_MUST_USE mt_status *mt_module_add_constant_value(mt_module *m, mt_graph *g, const char *name,
                                                    const mt_tensor *t, mt_value_id *out_value);
/* True when n is still part of a graph (not removed by a pass). */
static inline bool mt_node_is_live(const mt_node *n) { return n->graph != NULL; }

/* A tensor view of a constant (data borrowed from the module). */
void mt_constant_view(const mt_constant *c, mt_tensor *out_view);

/* Attribute lookups on a node; "default" is returned when the attribute is absent. */
const mt_attr *mt_node_attr(const mt_node *n, const char *name);
int64_t mt_node_attr_int(const mt_node *n, const char *name, int64_t dflt);
float mt_node_attr_float(const mt_node *n, const char *name, float dflt);
const char *mt_node_attr_string(const mt_node *n, const char *name, const char *dflt);
/* Returns the element count and sets *out (NULL when absent: then returns -1). */
int64_t mt_node_attr_ints(const mt_node *n, const char *name, const int64_t **out);
int64_t mt_node_attr_floats(const mt_node *n, const char *name, const float **out);

/* Human-readable "model.onnx: tenant 't': node 'n' (Op)" prefix for messages, names escaped
 * (runtime/base/escape.h); thread-local buffer. */
const char *mt_node_label(const mt_module *m, const mt_node *n);

#endif
