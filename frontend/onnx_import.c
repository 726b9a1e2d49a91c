/* ONNX ModelProto -> tenant in the shared IR module.
 *
 * Parsing is protobuf-c's (sources generated from the system's onnx.proto). This file maps graphs,
 * nodes, attributes and initializers onto the IR: constants are interned (deduplicated across
 * tenants), names are resolved through nested scopes so If branches can read outer values, and
 * every reference is checked (a missing value is an error naming the node and the name). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "frontend/name_scope.h"
#include "frontend/onnx_attr_types.h"
#include "frontend/onnx_tensor.h"
#include "frontend/onnx_validate.h"
#include "frontend/onnx_wire.h"
#include "ir/op_versions.h"
#include "onnx/onnx.pb-c.h"
#include "runtime/base/file.h"

/* The versions of the default domain mtcc accepts: 1 up to the newest the onnx wheel that
 * ir/onnx_schema_table.c was generated from defines (the CTest onnx_schema_table fails when the
 * installed wheel moves). Op versions the registry does not implement are refused per node by
 * mt_check_supported (ir/op_versions.c); a version outside this range is not an ONNX model mtcc
 * can know the meaning of. */
#define MT_ONNX_OPSET_MIN 1
#define MT_ONNX_OPSET_MAX mt_onnx_opset_newest

typedef struct importer {
  mt_module *m;
  int32_t tenant;
  const char *base_dir; /* model's folder, for external data */
  mt_tenant *t;
  int64_t parameter_count;
  size_t parameter_bytes;
  int depth; /* subgraph level of the graph being imported (main graph: 0) */
} importer;

MT_MUST_USE static mt_status *import_graph(importer *im, const Onnx__GraphProto *gp, mt_graph *g,
                                           mt_name_scope *scope, bool is_main);

/* Interns a decoded tensor as a module constant and releases the decoded storage: a heap buffer
 * is freed; a file mapping (external data) passes to the module, which keeps the constant in it
 * rather than copying a large weight to the heap. */
MT_MUST_USE static mt_status *intern_tensor(importer *im, mt_tensor *t, mt_file_mapping *mapping,
                                            int32_t *out_constant) {
  mt_status *st;
  if (mapping && mapping->data) {
    st = mt_module_intern_constant_mapped(im->m, t->dtype, t->rank, t->dims, mapping, out_constant);
  } else {
    st = mt_module_intern_constant(im->m, t->dtype, t->rank, t->dims, t->data, mt_tensor_nbytes(t),
                                   out_constant);
    free(t->data);
  }
  t->data = NULL;
  return st;
}

MT_MUST_USE static mt_status *import_tensor_proto(importer *im, const Onnx__TensorProto *tp,
                                                  int32_t *out_constant) {
  mt_tensor t;
  mt_file_mapping mapping;
  MT_RETURN_IF_ERROR_PLAIN(
      mt_onnx_tensor_decode(tp, im->base_dir, mt_module_memory_limit(im->m), &mapping, &t));
  return intern_tensor(im, &t, &mapping, out_constant);
}

MT_MUST_USE static mt_status *import_attr(importer *im, const Onnx__AttributeProto *ap, mt_graph *g,
                                          mt_name_scope *scope, mt_attr *a) {
  mt_arena *arena = mt_module_arena(im->m);
  a->name = mt_arena_strdup(arena, ap->name ? ap->name : "");
  a->type = ap->has_type ? (mt_attr_type)ap->type : MT_ATTR_UNDEFINED;
  if (!a->name) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (ap->ref_attr_name && *ap->ref_attr_name)
    return MT_ERR(UNIMPLEMENTED, "attribute '%s' refers to a function attribute", a->name);
  switch (a->type) {
  case MT_ATTR_FLOAT: a->f = ap->f; break;
  case MT_ATTR_INT: a->i = ap->i; break;
  case MT_ATTR_STRING:
    a->s = mt_arena_strndup(arena, (const char *)ap->s.data, ap->s.len);
    a->s_len = ap->s.len;
    if (!a->s) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    break;
  case MT_ATTR_FLOATS:
    a->count = (int64_t)ap->n_floats;
    a->floats = mt_arena_array(arena, ap->n_floats, sizeof(float));
    if (!a->floats) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    if (ap->n_floats) memcpy(a->floats, ap->floats, ap->n_floats * sizeof(float));
    break;
  case MT_ATTR_INTS:
    a->count = (int64_t)ap->n_ints;
    a->ints = mt_arena_array(arena, ap->n_ints, sizeof(int64_t));
    if (!a->ints) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    if (ap->n_ints) memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
    break;
  case MT_ATTR_STRINGS:
    a->count = (int64_t)ap->n_strings;
    a->strings = mt_arena_array(arena, ap->n_strings, sizeof(char *));
    if (!a->strings) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < ap->n_strings; i++)
      if (!(a->strings[i] =
                mt_arena_strndup(arena, (const char *)ap->strings[i].data, ap->strings[i].len)))
        return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    break;
  case MT_ATTR_TENSOR:
    if (!ap->t) return MT_ERR(DATA_LOSS, "attribute '%s' of type TENSOR has no tensor", a->name);
    MT_RETURN_IF_ERROR(import_tensor_proto(im, ap->t, &a->constant), "attribute '%s'", a->name);
    break;
  case MT_ATTR_SPARSE_TENSOR: {
    if (!ap->sparse_tensor)
      return MT_ERR(DATA_LOSS, "attribute '%s' has no sparse tensor", a->name);
    mt_tensor t;
    MT_RETURN_IF_ERROR(mt_onnx_sparse_tensor_decode(ap->sparse_tensor, im->base_dir,
                                                    mt_module_memory_limit(im->m), &t),
                       "attribute '%s'", a->name);
    MT_RETURN_IF_ERROR_PLAIN(intern_tensor(im, &t, NULL, &a->constant));
    a->type = MT_ATTR_TENSOR; /* densified: ops see one tensor form */
    break;
  }
  case MT_ATTR_TENSORS:
    a->count = (int64_t)ap->n_tensors;
    a->constants = mt_arena_array(arena, ap->n_tensors, sizeof(int32_t));
    if (!a->constants) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < ap->n_tensors; i++)
      MT_RETURN_IF_ERROR(import_tensor_proto(im, ap->tensors[i], &a->constants[i]),
                         "attribute '%s'[%zu]", a->name, i);
    break;
  case MT_ATTR_GRAPH:
  case MT_ATTR_GRAPHS: {
    size_t n = a->type == MT_ATTR_GRAPH ? 1 : ap->n_graphs;
    Onnx__GraphProto *const *gps = a->type == MT_ATTR_GRAPH ? &ap->g : ap->graphs;
    if (a->type == MT_ATTR_GRAPH && !ap->g)
      return MT_ERR(DATA_LOSS, "attribute '%s' of type GRAPH has no graph", a->name);
    a->count = (int64_t)n;
    a->graphs = mt_arena_array(arena, n, sizeof(mt_graph *));
    if (!a->graphs) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    /* mt_onnx_wire_check bounds this before unpacking; checked again here so the importer's
     * own recursion stays bounded whatever reached it. */
    if (im->depth >= MT_ONNX_MAX_SUBGRAPH_DEPTH)
      return MT_ERR(INVALID_ARGUMENT, "attribute '%s': subgraphs nest more than %d levels deep",
                    a->name, MT_ONNX_MAX_SUBGRAPH_DEPTH);
    for (size_t i = 0; i < n; i++) {
      mt_graph *sub;
      MT_RETURN_IF_ERROR_PLAIN(mt_module_add_graph(im->m, im->tenant, g, gps[i]->name, &sub));
      mt_name_scope inner;
      mt_name_scope_init(&inner, scope);
      im->depth++;
      mt_status *st = import_graph(im, gps[i], sub, &inner, false);
      im->depth--;
      mt_name_scope_release(&inner);
      MT_RETURN_IF_ERROR(st, "subgraph '%s'", a->name);
      a->graphs[i] = sub;
    }
    a->graph = a->graphs[0];
    break;
  }
  case MT_ATTR_SPARSE_TENSORS:
  case MT_ATTR_TYPE_PROTO:
  case MT_ATTR_TYPE_PROTOS: break; /* kept by name: no supported op reads them */
  default: return MT_ERR(DATA_LOSS, "attribute '%s' has unknown type %d", a->name, (int)a->type);
  }
  return NULL;
}

/* Declared type of a graph input: dtype and shape with symbolic dims. */
MT_MUST_USE static mt_status *apply_value_info(importer *im, const Onnx__ValueInfoProto *vi,
                                               mt_value_id v) {
  mt_value *val = mt_module_value(im->m, v);
  const Onnx__TypeProto *tp = vi->type;
  if (!tp) return NULL; /* untyped inputs happen in subgraphs; inference fills them */
  if (tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ||
      tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) {
    /* a container's contents are data; its view is a rank-1 blob (runtime/cpu/container.h) */
    val->dtype = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? MT_DTYPE_SEQUENCE
                                                                         : MT_DTYPE_OPTIONAL;
    val->rank = 1;
    val->dims[0] = -1;
    val->dim_params[0] = NULL;
    return NULL;
  }
  if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    return MT_ERR(
        UNIMPLEMENTED,
        "value '%s': only tensor, sequence and optional types are supported (map and sparse are "
        "not)",
        vi->name);
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  val->dtype = tt->has_elem_type ? (mt_dtype)tt->elem_type : MT_DTYPE_UNDEFINED;
  if (!tt->shape) return NULL; /* rank unknown */
  if (tt->shape->n_dim > MT_MAX_RANK)
    return MT_ERR(UNIMPLEMENTED, "value '%s' has rank %zu (at most %d supported)", vi->name,
                  tt->shape->n_dim, MT_MAX_RANK);
  val->rank = (int)tt->shape->n_dim;
  for (size_t i = 0; i < tt->shape->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    val->dims[i] = -1;
    val->dim_params[i] = NULL;
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
        d->dim_value >= 0) {
      val->dims[i] = d->dim_value;
    } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
               d->dim_param) {
      const char *p = mt_arena_strdup(mt_module_arena(im->m), d->dim_param);
      if (!p) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      mt_module_value(im->m, v)->dim_params[i] = p;
    }
  }
  return NULL;
}

/* The type a graph output declares, kept to check inference against (mt_declared_type). */
static void declared_type_of(const Onnx__ValueInfoProto *vi, mt_declared_type *out) {
  out->dtype = MT_DTYPE_UNDEFINED;
  out->rank = -1;
  const Onnx__TypeProto *tp = vi->type;
  if (tp && (tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ||
             tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE)) {
    out->dtype = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? MT_DTYPE_SEQUENCE
                                                                         : MT_DTYPE_OPTIONAL;
    return; /* rank -1: a container's blob size is data */
  }
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) return;
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  if (tt->has_elem_type) out->dtype = (mt_dtype)tt->elem_type;
  if (!tt->shape || tt->shape->n_dim > MT_MAX_RANK) return;
  out->rank = (int)tt->shape->n_dim;
  for (size_t i = 0; i < tt->shape->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    out->dims[i] =
        d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0
            ? d->dim_value
            : -1;
  }
}

MT_MUST_USE static mt_status *define_constant_value(importer *im, mt_graph *g, mt_name_scope *scope,
                                                    const char *name, mt_tensor *t,
                                                    mt_file_mapping *mapping,
                                                    bool count_as_parameter) {
  int32_t c;
  if (count_as_parameter) {
    im->parameter_count += mt_tensor_numel(t);
    im->parameter_bytes += mt_tensor_nbytes(t);
  }
  MT_RETURN_IF_ERROR_PLAIN(intern_tensor(im, t, mapping, &c));
  mt_value_id v;
  MT_RETURN_IF_ERROR_PLAIN(mt_module_add_value(im->m, g, name, &v));
  mt_module_bind_constant(im->m, v, c);
  return mt_name_scope_define(scope, mt_module_value(im->m, v)->name, v);
}

static bool is_default_domain(const char *domain) {
  return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}

/* An attribute whose type is not the one the op's schema declares is an error: the typed lookups
 * (mt_node_attr_int...) would read the op's default instead, and the model would run with
 * different semantics (Conv strides given as FLOATS ran as stride 1). */
MT_MUST_USE static mt_status *check_attr_type(const Onnx__NodeProto *np,
                                              const Onnx__AttributeProto *ap) {
  if (!is_default_domain(np->domain) || !ap->has_type || !ap->name) return NULL;
  uint32_t allowed = mt_onnx_attr_allowed_types(np->op_type, ap->name);
  if (!allowed) return NULL;
  /* ap->type comes from the file: outside 1..31 it is no type the schema can allow (and must
   * not reach the shift) */
  bool known = ap->type > 0 && ap->type < 32;
  if (known && (allowed & MT_ATTR_BIT(ap->type))) return NULL;
  char expected[64] = "";
  for (unsigned t = 1; t < 32; t++)
    if (allowed & MT_ATTR_BIT(t)) {
      size_t len = strlen(expected);
      snprintf(expected + len, sizeof expected - len, "%s%s", len ? " or " : "",
               mt_attr_type_name((mt_attr_type)t));
    }
  return MT_ERR(INVALID_ARGUMENT,
                "attribute '%s' must be %s (the type ONNX declares for %s), got %s", ap->name,
                expected, np->op_type, mt_attr_type_name((mt_attr_type)ap->type));
}

MT_MUST_USE static mt_status *import_node(importer *im, const Onnx__NodeProto *np, size_t index,
                                          mt_graph *g, mt_name_scope *scope) {
  const char *op = np->op_type ? np->op_type : "";
  if (!*op) return MT_ERR(DATA_LOSS, "node %zu has no op_type", index);
  mt_value_id *inputs = calloc(np->n_input + 1, sizeof *inputs);
  mt_value_id *outputs = calloc(np->n_output + 1, sizeof *outputs);
  mt_attr *attrs = mt_arena_array(mt_module_arena(im->m), np->n_attribute + 1, sizeof *attrs);
  mt_status *st = NULL;
  if (!inputs || !outputs || !attrs) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; !st && i < np->n_input; i++) {
    const char *name = np->input[i];
    if (!name || !*name) {
      inputs[i] = MT_NO_VALUE;
      continue;
    }
    inputs[i] = mt_name_scope_find(scope, name);
    if (inputs[i] == MT_NO_VALUE)
      st = MT_ERR(INVALID_ARGUMENT,
                  "input %zu '%s' is not produced by any earlier node, initializer or graph input",
                  i, name);
  }
  for (size_t i = 0; !st && i < np->n_attribute; i++) {
    st = check_attr_type(np, np->attribute[i]);
    if (!st) st = import_attr(im, np->attribute[i], g, scope, &attrs[i]);
  }
  for (size_t i = 0; !st && i < np->n_output; i++) {
    const char *name = np->output[i];
    if (!name || !*name) {
      outputs[i] = MT_NO_VALUE;
      continue;
    }
    st = mt_module_add_value(im->m, g, name, &outputs[i]);
    if (!st) st = mt_name_scope_define(scope, mt_module_value(im->m, outputs[i])->name, outputs[i]);
  }
  int32_t node_id;
  if (!st)
    st = mt_module_add_node(im->m, g, np->name, op, np->domain, (int)np->n_input, inputs,
                            (int)np->n_output, outputs, (int)np->n_attribute, attrs, &node_id);
  free(inputs);
  free(outputs);
  if (st) {
    if (np->name && *np->name) return mt_status_annotate(st, "node '%s' (%s)", np->name, op);
    return mt_status_annotate(st, "node %zu (%s)", index, op);
  }
  return NULL;
}

static int input_position(const mt_graph *g, mt_value_id v) {
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] == v) return i;
  return -1;
}

MT_MUST_USE static mt_status *import_graph(importer *im, const Onnx__GraphProto *gp, mt_graph *g,
                                           mt_name_scope *scope, bool is_main) {
  mt_arena *arena = mt_module_arena(im->m);
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    const char *tname = tp->name ? tp->name : "";
    mt_tensor t;
    mt_file_mapping mapping;
    MT_RETURN_IF_ERROR(
        mt_onnx_tensor_decode(tp, im->base_dir, mt_module_memory_limit(im->m), &mapping, &t),
        "initializer '%s'", tname);
    MT_RETURN_IF_ERROR(define_constant_value(im, g, scope, tname, &t, &mapping, is_main),
                       "initializer '%s'", tname);
  }
  for (size_t i = 0; i < gp->n_sparse_initializer; i++) {
    const Onnx__SparseTensorProto *sp = gp->sparse_initializer[i];
    const char *name = sp->values && sp->values->name ? sp->values->name : "";
    mt_tensor t;
    MT_RETURN_IF_ERROR(
        mt_onnx_sparse_tensor_decode(sp, im->base_dir, mt_module_memory_limit(im->m), &t),
        "sparse initializer '%s'", name);
    MT_RETURN_IF_ERROR(define_constant_value(im, g, scope, name, &t, NULL, is_main),
                       "sparse initializer '%s'", name);
  }
  g->inputs = mt_arena_array(arena, gp->n_input + 1, sizeof(mt_value_id));
  g->outputs = mt_arena_array(arena, gp->n_output + 1, sizeof(mt_value_id));
  g->declared_outputs = mt_arena_array(arena, gp->n_output + 1, sizeof(mt_declared_type));
  if (!g->inputs || !g->outputs || !g->declared_outputs)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (!vi->name || !*vi->name) return MT_ERR(DATA_LOSS, "graph input %zu has no name", i);
    /* Before IR version 4 initializers were also listed as inputs: they stay constants. The same
     * runtime input listed twice is an error: which of the two would a caller's tensor feed? */
    mt_value_id seen = mt_name_scope_find_local(scope, vi->name);
    if (seen != MT_NO_VALUE && mt_module_value(im->m, seen)->constant < 0)
      return MT_ERR(INVALID_ARGUMENT, "graph input '%s' is listed twice (inputs %d and %zu)",
                    vi->name, input_position(g, seen), i);
    if (seen != MT_NO_VALUE) continue;
    mt_value_id v;
    MT_RETURN_IF_ERROR_PLAIN(mt_module_add_value(im->m, g, vi->name, &v));
    MT_RETURN_IF_ERROR(apply_value_info(im, vi, v), "graph input '%s'", vi->name);
    MT_RETURN_IF_ERROR_PLAIN(mt_name_scope_define(scope, mt_module_value(im->m, v)->name, v));
    g->inputs[g->n_inputs++] = v;
  }
  for (size_t i = 0; i < gp->n_node; i++)
    MT_RETURN_IF_ERROR_PLAIN(import_node(im, gp->node[i], i, g, scope));
  for (size_t i = 0; i < gp->n_output; i++) {
    const char *name = gp->output[i]->name ? gp->output[i]->name : "";
    mt_value_id v = mt_name_scope_find(scope, name);
    if (v == MT_NO_VALUE)
      return MT_ERR(INVALID_ARGUMENT,
                    "graph output '%s' is not produced by any node, initializer or input", name);
    declared_type_of(gp->output[i], &g->declared_outputs[g->n_outputs]);
    g->outputs[g->n_outputs++] = v;
  }
  return NULL;
}

MT_MUST_USE static mt_status *import_model(importer *im, const Onnx__ModelProto *mp) {
  mt_arena *arena = mt_module_arena(im->m);
  mt_tenant *t = mt_module_tenant(im->m, im->tenant);
  if (!mp->graph) return MT_ERR(DATA_LOSS, "the model has no graph");
  t->ir_version = mp->has_ir_version ? mp->ir_version : 0;
  t->producer_name = mt_arena_strdup(arena, mp->producer_name ? mp->producer_name : "");
  t->opsets = mt_arena_array(arena, mp->n_opset_import + 1, sizeof(mt_opset_import));
  if (!t->producer_name || !t->opsets) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
    const char *domain = o->domain ? o->domain : "";
    t->opsets[t->n_opsets].domain = mt_arena_strdup(arena, domain);
    t->opsets[t->n_opsets].version = o->has_version ? (int)o->version : 1;
    if (!t->opsets[t->n_opsets].domain) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    if (is_default_domain(domain)) {
      if (!o->has_version || o->version < MT_ONNX_OPSET_MIN || o->version > MT_ONNX_OPSET_MAX)
        return MT_ERR(INVALID_ARGUMENT,
                      "opset_import: version %lld of the default domain is outside the %d..%d that "
                      "mtcc knows",
                      o->has_version ? (long long)o->version : -1LL, MT_ONNX_OPSET_MIN,
                      MT_ONNX_OPSET_MAX);
      for (int k = 0; k < t->n_opsets; k++)
        if (is_default_domain(t->opsets[k].domain))
          return MT_ERR(INVALID_ARGUMENT,
                        "opset_import: the default domain is imported twice (versions %d and %lld)",
                        t->opsets[k].version, (long long)o->version);
    }
    t->n_opsets++;
  }
  mt_name_scope scope;
  mt_name_scope_init(&scope, NULL);
  mt_status *st = import_graph(im, mp->graph, t->graph, &scope, true);
  mt_name_scope_release(&scope);
  /* re-fetch: the tenant array may have moved while subgraphs were added */
  t = mt_module_tenant(im->m, im->tenant);
  t->parameter_count = im->parameter_count;
  t->parameter_bytes = im->parameter_bytes;
  return st;
}

static char *dirname_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

mt_status *mt_onnx_import_bytes(mt_module *m, const void *bytes, size_t len,
                                const char *display_path, const char *tenant_name,
                                int32_t *out_tenant) {
  /* before unpacking: protobuf-c's unpack recurses without a depth limit */
  MT_RETURN_IF_ERROR_PLAIN(mt_onnx_wire_check(bytes, len, display_path));
  MT_RETURN_IF_ERROR(mt_onnx_check_strings(bytes, len), "%s: tenant '%s'", display_path,
                     tenant_name);
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, bytes);
  if (!mp)
    return MT_ERR(DATA_LOSS,
                  "%s: not a valid ONNX model (the protobuf does not parse: truncated or corrupt)",
                  display_path);
  char *base_dir = dirname_of(display_path);
  importer im = {.m = m, .base_dir = base_dir};
  mt_status *st = base_dir ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) st = mt_module_add_tenant(m, tenant_name, display_path, &im.tenant);
  if (!st) st = import_model(&im, mp);
  free(base_dir);
  onnx__model_proto__free_unpacked(mp, NULL);
  if (st) return mt_status_annotate(st, "%s: tenant '%s'", display_path, tenant_name);
  *out_tenant = im.tenant;
  return NULL;
}

mt_status *mt_onnx_import_file(mt_module *m, const char *path, const char *tenant_name,
                               int32_t *out_tenant) {
  char *buf = NULL;
  size_t size = 0;
  MT_RETURN_IF_ERROR_PLAIN(mt_file_read_all(path, "model", mt_module_memory_limit(m), &buf, &size));
  mt_status *st = NULL;
  if (size == 0)
    st = MT_ERR(DATA_LOSS, "%s: the file is empty", path);
  else
    st = mt_onnx_import_bytes(m, buf, size, path, tenant_name, out_tenant);
  free(buf);
  return st;
}

void mt_tenant_name_from_path(const char *path, char *out, size_t cap) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  if (cap == 0) return;
  if (n >= cap) n = cap - 1;
  for (size_t i = 0; i < n; i++) {
    char c = base[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    out[i] = ok ? c : '_';
  }
  out[n] = 0;
}
