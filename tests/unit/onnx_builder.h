/* In-memory ONNX model building for the unit tests, on the protobuf-c structs that the importer
 * parses (onnx/onnx.pb-c.h, generated in the build tree).
 *
 * Every allocation is tracked by the builder and freed by ob_free(), so tests build messages
 * freely without ownership bookkeeping. Helpers are static inline so that each test executable
 * compiles them itself (tests/CMakeLists.txt builds each tests/unit/test_*.c alone).
 *
 *   ob_builder b;
 *   ob_init(&b, 13);                                   // ir_version 8, default domain opset 13
 *   ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(-1, 3), OB_PARAMS("batch", NULL));
 *   ob_node(&b, b.graph, "Relu", "relu_0", OB_NAMES("x"), OB_NAMES("y"));
 *   ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
 *   size_t len; void *bytes = ob_pack(&b, &len);
 *   ...mt_onnx_import_bytes(m, bytes, len, "/tmp/x/model.onnx", "t", &tid)...
 *   ob_free(&b);
 */
#ifndef MT_TESTS_ONNX_BUILDER_H
#define MT_TESTS_ONNX_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "onnx/onnx.pb-c.h"
#include "runtime/cpu/tensor.h"

/* NULL-terminated name lists and -1-padded dim lists as compound literals. */
#define OB_NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define OB_NONE ((const char *const[]){NULL})
#define OB_DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define OB_PARAMS(...) ((const char *const[]){__VA_ARGS__})

typedef struct ob_builder {
  void **allocs;
  size_t n_allocs, cap_allocs;
  Onnx__ModelProto *model;
  Onnx__GraphProto *graph; /* the main graph */
} ob_builder;

/* Tests have no recovery from an allocation failure in their own scaffolding. */
static inline void *ob_alloc(ob_builder *b, size_t size) {
  void *p = calloc(1, size ? size : 1);
  if (!p) {
    fprintf(stderr, "onnx_builder: out of memory\n");
    abort();
  }
  if (b->n_allocs == b->cap_allocs) {
    size_t cap = b->cap_allocs ? b->cap_allocs * 2 : 64;
    void **a = realloc(b->allocs, cap * sizeof *a);
    if (!a) abort();
    b->allocs = a;
    b->cap_allocs = cap;
  }
  b->allocs[b->n_allocs++] = p;
  return p;
}

static inline char *ob_strdup(ob_builder *b, const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  char *p = ob_alloc(b, n + 1);
  memcpy(p, s, n);
  return p;
}

static inline void *ob_memdup(ob_builder *b, const void *src, size_t n) {
  void *p = ob_alloc(b, n);
  if (n) memcpy(p, src, n);
  return p;
}

/* Appends item to a repeated field of elem-sized entries (the old array stays tracked). */
static inline void ob_append(ob_builder *b, void *array_ptr, size_t *count, const void *item,
                             size_t elem) {
  void **arr = (void **)array_ptr;
  char *grown = ob_alloc(b, (*count + 1) * elem);
  if (*count) memcpy(grown, *arr, *count * elem);
  memcpy(grown + *count * elem, item, elem);
  *arr = grown;
  (*count)++;
}
#define OB_APPEND_PTR(b, arr, count, item)                                                         \
  do {                                                                                             \
    void *ob_item_ = (item);                                                                       \
    ob_append((b), &(arr), &(count), &ob_item_, sizeof ob_item_);                                  \
  } while (0)

static inline Onnx__GraphProto *ob_graph(ob_builder *b, const char *name) {
  Onnx__GraphProto *g = ob_alloc(b, sizeof *g);
  onnx__graph_proto__init(g);
  g->name = ob_strdup(b, name);
  return g;
}

static inline void ob_opset(ob_builder *b, const char *domain, int64_t version) {
  Onnx__OperatorSetIdProto *o = ob_alloc(b, sizeof *o);
  onnx__operator_set_id_proto__init(o);
  o->domain = ob_strdup(b, domain);
  o->has_version = 1;
  o->version = version;
  OB_APPEND_PTR(b, b->model->opset_import, b->model->n_opset_import, o);
}

/* A model with IR version 8, producer "onnx_builder" and the default domain at opset (none when
 * opset <= 0). */
static inline void ob_init(ob_builder *b, int64_t opset) {
  memset(b, 0, sizeof *b);
  b->model = ob_alloc(b, sizeof *b->model);
  onnx__model_proto__init(b->model);
  b->model->has_ir_version = 1;
  b->model->ir_version = 8;
  b->model->producer_name = ob_strdup(b, "onnx_builder");
  b->graph = ob_graph(b, "main");
  b->model->graph = b->graph;
  if (opset > 0) ob_opset(b, "", opset);
}

static inline void ob_free(ob_builder *b) {
  for (size_t i = 0; i < b->n_allocs; i++) free(b->allocs[i]);
  free(b->allocs);
  memset(b, 0, sizeof *b);
}

/* A tensor-typed ValueInfoProto. elem_type 0 leaves the type out entirely; rank < 0 leaves the
 * shape out. dims[i] < 0 makes dim i symbolic when params[i] is a name, unknown otherwise. */
static inline Onnx__ValueInfoProto *ob_value_info(ob_builder *b, const char *name, int elem_type,
                                                  int rank, const int64_t *dims,
                                                  const char *const *params) {
  Onnx__ValueInfoProto *vi = ob_alloc(b, sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = ob_strdup(b, name);
  if (elem_type == 0) return vi;
  Onnx__TypeProto *tp = ob_alloc(b, sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = ob_alloc(b, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = elem_type;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->type = tp;
  if (rank < 0) return vi;
  Onnx__TensorShapeProto *sh = ob_alloc(b, sizeof *sh);
  onnx__tensor_shape_proto__init(sh);
  tt->shape = sh;
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = ob_alloc(b, sizeof *d);
    onnx__tensor_shape_proto__dimension__init(d);
    if (dims[i] >= 0) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = dims[i];
    } else if (params && params[i]) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = ob_strdup(b, params[i]);
    }
    OB_APPEND_PTR(b, sh->dim, sh->n_dim, d);
  }
  return vi;
}

static inline Onnx__ValueInfoProto *ob_input(ob_builder *b, Onnx__GraphProto *g, const char *name,
                                             int elem_type, int rank, const int64_t *dims,
                                             const char *const *params) {
  Onnx__ValueInfoProto *vi = ob_value_info(b, name, elem_type, rank, dims, params);
  OB_APPEND_PTR(b, g->input, g->n_input, vi);
  return vi;
}

/* Graph outputs are declared by name and element type only: shape inference fills the shape. */
static inline Onnx__ValueInfoProto *ob_output(ob_builder *b, Onnx__GraphProto *g, const char *name,
                                              int elem_type) {
  Onnx__ValueInfoProto *vi = ob_value_info(b, name, elem_type, -1, NULL, NULL);
  OB_APPEND_PTR(b, g->output, g->n_output, vi);
  return vi;
}

/* A node in the default domain; "" in a name list is an omitted optional input/output. */
static inline Onnx__NodeProto *ob_node(ob_builder *b, Onnx__GraphProto *g, const char *op_type,
                                       const char *name, const char *const *inputs,
                                       const char *const *outputs) {
  Onnx__NodeProto *n = ob_alloc(b, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = ob_strdup(b, op_type);
  n->name = ob_strdup(b, name);
  for (size_t i = 0; inputs && inputs[i]; i++) {
    char *s = ob_strdup(b, inputs[i]);
    OB_APPEND_PTR(b, n->input, n->n_input, s);
  }
  for (size_t i = 0; outputs && outputs[i]; i++) {
    char *s = ob_strdup(b, outputs[i]);
    OB_APPEND_PTR(b, n->output, n->n_output, s);
  }
  OB_APPEND_PTR(b, g->node, g->n_node, n);
  return n;
}

static inline Onnx__AttributeProto *ob_attr(ob_builder *b, Onnx__NodeProto *n, const char *name,
                                            Onnx__AttributeProto__AttributeType type) {
  Onnx__AttributeProto *a = ob_alloc(b, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = ob_strdup(b, name);
  a->has_type = 1;
  a->type = type;
  OB_APPEND_PTR(b, n->attribute, n->n_attribute, a);
  return a;
}

static inline void ob_attr_int(ob_builder *b, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

static inline void ob_attr_float(ob_builder *b, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
}

/* Strings are bytes: len bytes of s (may hold NULs). */
static inline void ob_attr_bytes(ob_builder *b, Onnx__NodeProto *n, const char *name, const char *s,
                                 size_t len) {
  Onnx__AttributeProto *a = ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.len = len;
  a->s.data = ob_memdup(b, s, len);
}

static inline void ob_attr_string(ob_builder *b, Onnx__NodeProto *n, const char *name,
                                  const char *s) {
  ob_attr_bytes(b, n, name, s, strlen(s));
}

static inline void ob_attr_ints(ob_builder *b, Onnx__NodeProto *n, const char *name, size_t count,
                                const int64_t *v) {
  Onnx__AttributeProto *a = ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = count;
  a->ints = ob_memdup(b, v, count * sizeof *v);
}

static inline void ob_attr_floats(ob_builder *b, Onnx__NodeProto *n, const char *name, size_t count,
                                  const float *v) {
  Onnx__AttributeProto *a = ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
  a->n_floats = count;
  a->floats = ob_memdup(b, v, count * sizeof *v);
}

static inline void ob_attr_strings(ob_builder *b, Onnx__NodeProto *n, const char *name,
                                   size_t count, const char *const *v) {
  Onnx__AttributeProto *a = ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  a->n_strings = count;
  a->strings = ob_alloc(b, (count ? count : 1) * sizeof *a->strings);
  for (size_t i = 0; i < count; i++) {
    a->strings[i].len = strlen(v[i]);
    a->strings[i].data = ob_memdup(b, v[i], a->strings[i].len);
  }
}

static inline void ob_attr_tensor(ob_builder *b, Onnx__NodeProto *n, const char *name,
                                  Onnx__TensorProto *t) {
  ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = t;
}

static inline void ob_attr_tensors(ob_builder *b, Onnx__NodeProto *n, const char *name,
                                   size_t count, Onnx__TensorProto *const *ts) {
  Onnx__AttributeProto *a = ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS);
  for (size_t i = 0; i < count; i++) OB_APPEND_PTR(b, a->tensors, a->n_tensors, ts[i]);
}

static inline void ob_attr_graph(ob_builder *b, Onnx__NodeProto *n, const char *name,
                                 Onnx__GraphProto *g) {
  ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = g;
}

static inline void ob_attr_sparse(ob_builder *b, Onnx__NodeProto *n, const char *name,
                                  Onnx__SparseTensorProto *sp) {
  ob_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR)->sparse_tensor = sp;
}

/* A tensor header (name, dtype, dims) with no data yet. */
static inline Onnx__TensorProto *ob_tensor(ob_builder *b, const char *name, mt_dtype dtype,
                                           int rank, const int64_t *dims) {
  Onnx__TensorProto *t = ob_alloc(b, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = ob_strdup(b, name);
  t->has_data_type = 1;
  t->data_type = (int32_t)dtype;
  t->n_dims = (size_t)rank;
  t->dims = ob_memdup(b, dims, (size_t)rank * sizeof *dims);
  return t;
}

static inline Onnx__TensorProto *ob_tensor_raw(ob_builder *b, const char *name, mt_dtype dtype,
                                               int rank, const int64_t *dims, const void *data,
                                               size_t nbytes) {
  Onnx__TensorProto *t = ob_tensor(b, name, dtype, rank, dims);
  t->has_raw_data = 1;
  t->raw_data.len = nbytes;
  t->raw_data.data = ob_memdup(b, data, nbytes);
  return t;
}

static inline Onnx__TensorProto *ob_tensor_floats(ob_builder *b, const char *name, int rank,
                                                  const int64_t *dims, const float *v, size_t n) {
  Onnx__TensorProto *t = ob_tensor(b, name, MT_DTYPE_FLOAT32, rank, dims);
  t->n_float_data = n;
  t->float_data = ob_memdup(b, v, n * sizeof *v);
  return t;
}

static inline Onnx__TensorProto *ob_tensor_int64s(ob_builder *b, const char *name, int rank,
                                                  const int64_t *dims, const int64_t *v, size_t n) {
  Onnx__TensorProto *t = ob_tensor(b, name, MT_DTYPE_INT64, rank, dims);
  t->n_int64_data = n;
  t->int64_data = ob_memdup(b, v, n * sizeof *v);
  return t;
}

/* int32_data carries int32, int8, uint8, bool and (as bit patterns) float16. */
static inline Onnx__TensorProto *ob_tensor_int32s(ob_builder *b, const char *name, mt_dtype dtype,
                                                  int rank, const int64_t *dims, const int32_t *v,
                                                  size_t n) {
  Onnx__TensorProto *t = ob_tensor(b, name, dtype, rank, dims);
  t->n_int32_data = n;
  t->int32_data = ob_memdup(b, v, n * sizeof *v);
  return t;
}

/* A tensor whose data lives in an external file; offset/length == -1 are left out (other
 * negative values are written, to test their refusal). */
static inline Onnx__TensorProto *ob_tensor_external(ob_builder *b, const char *name, mt_dtype dtype,
                                                    int rank, const int64_t *dims,
                                                    const char *location, long long offset,
                                                    long long length) {
  Onnx__TensorProto *t = ob_tensor(b, name, dtype, rank, dims);
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  const char *keys[3] = {"location", "offset", "length"};
  char values[3][64];
  snprintf(values[0], sizeof values[0], "%s", "");
  snprintf(values[1], sizeof values[1], "%lld", offset);
  snprintf(values[2], sizeof values[2], "%lld", length);
  for (int i = 0; i < 3; i++) {
    if (i == 1 && offset == -1) continue;
    if (i == 2 && length == -1) continue;
    Onnx__StringStringEntryProto *e = ob_alloc(b, sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = ob_strdup(b, keys[i]);
    e->value = ob_strdup(b, i == 0 ? location : values[i]);
    OB_APPEND_PTR(b, t->external_data, t->n_external_data, e);
  }
  return t;
}

static inline Onnx__SparseTensorProto *ob_sparse(ob_builder *b, Onnx__TensorProto *values,
                                                 Onnx__TensorProto *indices, int rank,
                                                 const int64_t *dims) {
  Onnx__SparseTensorProto *sp = ob_alloc(b, sizeof *sp);
  onnx__sparse_tensor_proto__init(sp);
  sp->values = values;
  sp->indices = indices;
  sp->n_dims = (size_t)rank;
  sp->dims = ob_memdup(b, dims, (size_t)rank * sizeof *dims);
  return sp;
}

static inline void ob_initializer(ob_builder *b, Onnx__GraphProto *g, Onnx__TensorProto *t) {
  OB_APPEND_PTR(b, g->initializer, g->n_initializer, t);
}

/* Serialises the model; the bytes are owned by the builder. */
static inline void *ob_pack(ob_builder *b, size_t *out_len) {
  size_t len = onnx__model_proto__get_packed_size(b->model);
  uint8_t *buf = ob_alloc(b, len);
  size_t written = onnx__model_proto__pack(b->model, buf);
  if (written != len) abort();
  *out_len = len;
  return buf;
}

/* Packs and imports the model as tenant `tenant` with display path `path`. */
static inline mt_status *ob_import(ob_builder *b, mt_module *m, const char *path,
                                   const char *tenant, int32_t *out_tenant) {
  size_t len;
  void *bytes = ob_pack(b, &len);
  return mt_onnx_import_bytes(m, bytes, len, path, tenant, out_tenant);
}

/* Looks up what an import produced, by name, within one tenant (any graph). -1 when absent. */
static inline mt_value_id ob_find_value(const mt_module *m, int32_t tenant, const char *name) {
  for (mt_value_id v = 0; v < mt_module_value_count(m); v++) {
    const mt_value *val = mt_module_value_c(m, v);
    if (val->tenant == tenant && strcmp(val->name, name) == 0) return v;
  }
  return MT_NO_VALUE;
}

static inline int32_t ob_find_node(const mt_module *m, int32_t tenant, const char *name) {
  for (int32_t k = 0; k < mt_module_node_count(m); k++) {
    const mt_node *n = mt_module_node_c(m, k);
    if (n->tenant == tenant && strcmp(n->name, name) == 0) return k;
  }
  return -1;
}

#endif
