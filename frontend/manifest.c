/* Manifest parsing (jansson) and workload import. */
#include "frontend/manifest.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "runtime/base/file.h"

static const char *const known_targets[] = {"sm_80", "sm_86", "sm_89", "sm_90"};

void mt_manifest_free(mt_manifest *mf) {
  if (!mf) return;
  for (int i = 0; i < mf->n_targets; i++) free(mf->targets[i]);
  for (int i = 0; i < mf->n_partitions; i++) free(mf->partitions[i].name);
  for (int i = 0; i < mf->n_tenants; i++) {
    mt_tenant_spec *t = &mf->tenants[i];
    free(t->name);
    free(t->model_path);
    free(t->partition);
    for (int d = 0; d < t->n_dims; d++) free((char *)t->dims[d].name);
    for (int s = 0; s < t->n_shapes; s++) free((char *)t->shapes[s].input);
    free(t->dims);
    free(t->shapes);
  }
  free(mf->targets);
  free(mf->partitions);
  free(mf->tenants);
  free(mf->path);
  free(mf);
}

/* Rejects keys outside `allowed` so that a misspelt key is an error, not a silent default. */
MT_MUST_USE static mt_status *check_keys(json_t *obj, const char *const *allowed, size_t n,
                                         const char *where) {
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    bool ok = false;
    for (size_t i = 0; i < n; i++) ok = ok || strcmp(key, allowed[i]) == 0;
    if (!ok) return MT_ERR(INVALID_ARGUMENT, "%s: unknown key '%s'", where, key);
  }
  return NULL;
}

static char *path_relative_to(const char *manifest_path, const char *model) {
  if (model[0] == '/') return strdup(model);
  const char *slash = strrchr(manifest_path, '/');
  size_t dir = slash ? (size_t)(slash - manifest_path) + 1 : 0;
  char *p = malloc(dir + strlen(model) + 1);
  if (!p) return NULL;
  memcpy(p, manifest_path, dir);
  strcpy(p + dir, model);
  return p;
}

MT_MUST_USE static mt_status *parse_tenant(const mt_manifest *mf, json_t *jt, int index,
                                           mt_tenant_spec *t) {
  static const char *const keys[] = {"name", "model", "partition", "priority", "dims", "shapes"};
  if (!json_is_object(jt)) return MT_ERR(INVALID_ARGUMENT, "tenants[%d] is not an object", index);
  json_t *name = json_object_get(jt, "name"), *model = json_object_get(jt, "model");
  if (!json_is_string(name) || !*json_string_value(name))
    return MT_ERR(INVALID_ARGUMENT, "tenants[%d]: \"name\" must be a non-empty string", index);
  const char *tn = json_string_value(name);
  t->name = strdup(tn);
  if (!t->name) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  char where[300];
  snprintf(where, sizeof where, "tenant '%s'", tn);
  MT_RETURN_IF_ERROR_PLAIN(check_keys(jt, keys, sizeof keys / sizeof *keys, where));
  if (!json_is_string(model))
    return MT_ERR(INVALID_ARGUMENT, "%s: \"model\" must be a path string", where);
  t->model_path = path_relative_to(mf->path, json_string_value(model));
  json_t *part = json_object_get(jt, "partition");
  if (part && !json_is_string(part))
    return MT_ERR(INVALID_ARGUMENT, "%s: \"partition\" must be a string", where);
  t->partition = strdup(part ? json_string_value(part) : "default");
  if (!t->model_path || !t->partition) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  bool found = false;
  for (int p = 0; p < mf->n_partitions; p++)
    found = found || strcmp(mf->partitions[p].name, t->partition) == 0;
  if (!found) return MT_ERR(NOT_FOUND, "%s: unknown partition '%s'", where, t->partition);
  json_t *prio = json_object_get(jt, "priority");
  if (prio && (!json_is_integer(prio) || json_integer_value(prio) < INT_MIN ||
               json_integer_value(prio) > INT_MAX))
    return MT_ERR(INVALID_ARGUMENT, "%s: \"priority\" must be an integer in [%d, %d]", where,
                  INT_MIN, INT_MAX);
  t->priority = prio ? (int)json_integer_value(prio) : 0;
  json_t *dims = json_object_get(jt, "dims");
  if (dims) {
    if (!json_is_object(dims))
      return MT_ERR(INVALID_ARGUMENT, "%s: \"dims\" must be an object", where);
    t->dims = calloc(json_object_size(dims) + 1, sizeof *t->dims);
    if (!t->dims) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach(dims, key, val) {
      if (!json_is_integer(val) || json_integer_value(val) <= 0)
        return MT_ERR(INVALID_ARGUMENT, "%s: dim '%s' must be a positive integer", where, key);
      t->dims[t->n_dims].name = strdup(key);
      t->dims[t->n_dims].value = json_integer_value(val);
      if (!t->dims[t->n_dims++].name) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    }
  }
  json_t *shapes = json_object_get(jt, "shapes");
  if (shapes) {
    if (!json_is_object(shapes))
      return MT_ERR(INVALID_ARGUMENT, "%s: \"shapes\" must be an object", where);
    t->shapes = calloc(json_object_size(shapes) + 1, sizeof *t->shapes);
    if (!t->shapes) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach(shapes, key, val) {
      if (!json_is_array(val) || json_array_size(val) > MT_MAX_RANK)
        return MT_ERR(INVALID_ARGUMENT, "%s: shape of '%s' must be an array of at most %d dims",
                      where, key, MT_MAX_RANK);
      mt_shape_override *o = &t->shapes[t->n_shapes++];
      o->input = strdup(key);
      if (!o->input) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      o->rank = (int)json_array_size(val);
      for (int d = 0; d < o->rank; d++) {
        json_t *x = json_array_get(val, (size_t)d);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
          return MT_ERR(INVALID_ARGUMENT, "%s: shape of '%s' dim %d must be a non-negative integer",
                        where, key, d);
        o->dims[d] = json_integer_value(x);
      }
    }
  }
  return NULL;
}

MT_MUST_USE static mt_status *parse_manifest(json_t *root, mt_manifest *mf) {
  static const char *const keys[] = {"targets", "partitions", "tenants"};
  if (!json_is_object(root)) return MT_ERR(INVALID_ARGUMENT, "the manifest must be a JSON object");
  MT_RETURN_IF_ERROR_PLAIN(check_keys(root, keys, 3, "manifest"));
  json_t *targets = json_object_get(root, "targets");
  if (targets && !json_is_array(targets))
    return MT_ERR(INVALID_ARGUMENT, "\"targets\" must be an array");
  size_t nt = targets ? json_array_size(targets) : 0;
  mf->targets = calloc(nt + 2, sizeof *mf->targets);
  if (!mf->targets) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < nt; i++) {
    json_t *x = json_array_get(targets, i);
    const char *s = json_is_string(x) ? json_string_value(x) : "";
    bool ok = false;
    for (size_t k = 0; k < sizeof known_targets / sizeof *known_targets; k++)
      ok = ok || strcmp(s, known_targets[k]) == 0;
    if (!ok)
      return MT_ERR(INVALID_ARGUMENT,
                    "targets[%zu]: '%s' is not a supported arch (sm_80, sm_86, sm_89, sm_90)", i,
                    s);
    if (!(mf->targets[mf->n_targets++] = strdup(s)))
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!nt) {
    mf->targets[0] = strdup("sm_80");
    mf->targets[1] = strdup("sm_90");
    mf->n_targets = 2;
    mf->targets_defaulted = true;
  }
  json_t *parts = json_object_get(root, "partitions");
  if (parts && !json_is_array(parts))
    return MT_ERR(INVALID_ARGUMENT, "\"partitions\" must be an array");
  size_t np = parts ? json_array_size(parts) : 0;
  mf->partitions = calloc(np + 1, sizeof *mf->partitions);
  if (!mf->partitions) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < np; i++) {
    static const char *const pkeys[] = {"name", "sm_budget", "hard"};
    json_t *p = json_array_get(parts, i);
    if (!json_is_object(p)) return MT_ERR(INVALID_ARGUMENT, "partitions[%zu] is not an object", i);
    json_t *name = json_object_get(p, "name"), *budget = json_object_get(p, "sm_budget");
    if (!json_is_string(name) || !*json_string_value(name))
      return MT_ERR(INVALID_ARGUMENT, "partitions[%zu]: \"name\" must be a non-empty string", i);
    char where[300];
    snprintf(where, sizeof where, "partition '%s'", json_string_value(name));
    MT_RETURN_IF_ERROR_PLAIN(check_keys(p, pkeys, 3, where));
    json_t *hard = json_object_get(p, "hard");
    if (hard && !json_is_boolean(hard))
      return MT_ERR(INVALID_ARGUMENT, "%s: \"hard\" must be true or false", where);
    mf->partitions[mf->n_partitions].hard = hard && json_is_true(hard);
    if (budget && (!json_is_integer(budget) || json_integer_value(budget) <= 0 ||
                   json_integer_value(budget) > 100000))
      return MT_ERR(INVALID_ARGUMENT, "%s: \"sm_budget\" must be a positive integer", where);
    for (int k = 0; k < mf->n_partitions; k++)
      if (strcmp(mf->partitions[k].name, json_string_value(name)) == 0)
        return MT_ERR(INVALID_ARGUMENT, "%s is defined twice", where);
    mf->partitions[mf->n_partitions].name = strdup(json_string_value(name));
    mf->partitions[mf->n_partitions].sm_budget = budget ? (int)json_integer_value(budget) : 0;
    if (!mf->partitions[mf->n_partitions++].name)
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!np) {
    mf->partitions[0].name = strdup("default");
    mf->n_partitions = 1;
  }
  json_t *tenants = json_object_get(root, "tenants");
  if (!json_is_array(tenants) || json_array_size(tenants) == 0)
    return MT_ERR(INVALID_ARGUMENT, "\"tenants\" must be a non-empty array");
  size_t n = json_array_size(tenants);
  mf->tenants = calloc(n, sizeof *mf->tenants);
  if (!mf->tenants) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  /* names seen so far, open addressing (index + 1): a pairwise check was quadratic in tenants */
  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  size_t *seen = calloc(cap, sizeof *seen);
  mt_status *st = seen ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; !st && i < n; i++) {
    mf->n_tenants++;
    st = parse_tenant(mf, json_array_get(tenants, i), (int)i, &mf->tenants[i]);
    if (st) break;
    const char *name = mf->tenants[i].name;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *c = name; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ull;
    size_t slot = (size_t)h & (cap - 1);
    for (; seen[slot]; slot = (slot + 1) & (cap - 1))
      if (strcmp(mf->tenants[seen[slot] - 1].name, name) == 0) {
        st = MT_ERR(INVALID_ARGUMENT, "tenant '%s' is defined twice", name);
        break;
      }
    seen[slot] = i + 1;
  }
  free(seen);
  return st;
}

MT_MUST_USE static mt_status *manifest_from_json(const char *path, json_t *root,
                                                 mt_manifest **out_manifest) {
  mt_manifest *mf = calloc(1, sizeof *mf);
  mt_status *st = mf ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st && !(mf->path = strdup(path))) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) st = parse_manifest(root, mf);
  json_decref(root);
  if (st) {
    mt_manifest_free(mf);
    return mt_status_annotate(st, "%s", path);
  }
  *out_manifest = mf;
  return NULL;
}

mt_status *mt_manifest_load(const char *path, mt_manifest **out_manifest) {
  char *text;
  size_t len;
  /* Through the regular-file check: jansson's own fopen would block on a FIFO. */
  MT_RETURN_IF_ERROR_PLAIN(mt_file_read_all(path, "manifest", MT_TEXT_FILE_LIMIT, &text, &len));
  mt_status *st = mt_manifest_parse(path, text, len, out_manifest);
  free(text);
  return st;
}

mt_status *mt_manifest_parse(const char *path, const char *text, size_t len,
                             mt_manifest **out_manifest) {
  json_error_t err;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  if (!root)
    return MT_ERR(INVALID_ARGUMENT, "%s:%d:%d: malformed JSON: %s", path, err.line, err.column,
                  err.text);
  return manifest_from_json(path, root, out_manifest);
}

mt_status *mt_manifest_from_models(int n_paths, char *const *paths, mt_manifest **out_manifest) {
  mt_manifest *mf = calloc(1, sizeof *mf);
  if (!mf) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mf->targets = calloc(2, sizeof *mf->targets);
  mf->partitions = calloc(1, sizeof *mf->partitions);
  mf->tenants = calloc((size_t)n_paths + 1, sizeof *mf->tenants);
  mt_status *st = NULL;
  if (!mf->targets || !mf->partitions || !mf->tenants)
    st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) {
    mf->targets[0] = strdup("sm_80");
    mf->targets[1] = strdup("sm_90");
    mf->n_targets = 2;
    mf->targets_defaulted = true;
    mf->partitions[0].name = strdup("default");
    mf->n_partitions = 1;
  }
  for (int i = 0; !st && i < n_paths; i++) {
    char name[256];
    mt_tenant_name_from_path(paths[i], name, sizeof name);
    /* two files with the same stem get distinct tenant names */
    for (int k = 0, suffix = 2; k < mf->n_tenants; k++)
      if (strcmp(mf->tenants[k].name, name) == 0) {
        char base[240];
        snprintf(base, sizeof base, "%.200s", name);
        snprintf(name, sizeof name, "%s_%d", base, suffix++);
        k = -1;
      }
    mt_tenant_spec *t = &mf->tenants[mf->n_tenants++];
    t->name = strdup(name);
    t->model_path = strdup(paths[i]);
    t->partition = strdup("default");
    if (!t->name || !t->model_path || !t->partition)
      st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (st) {
    mt_manifest_free(mf);
    return st;
  }
  *out_manifest = mf;
  return NULL;
}

/* Whether some main-graph input of t has a dim called sym. */
static bool tenant_has_symbol(const mt_module *m, const mt_tenant *t, const char *sym) {
  for (int k = 0; k < t->graph->n_inputs; k++) {
    const mt_value *v = mt_module_value_c(m, t->graph->inputs[k]);
    for (int d = 0; d < v->rank; d++)
      if (v->dim_params[d] && strcmp(v->dim_params[d], sym) == 0) return true;
  }
  return false;
}

/* A "dims" entry naming a symbol the model's inputs do not have binds nothing: a typo ("btach")
 * would otherwise pass silently and leave the real symbol unbound or at a default. The error
 * lists the symbols the model has, so the fix is in the message. */
MT_MUST_USE static mt_status *check_dim_symbols(const mt_module *m, const mt_tenant *t,
                                                const mt_tenant_spec *ts) {
  for (int d = 0; d < ts->n_dims; d++) {
    if (tenant_has_symbol(m, t, ts->dims[d].name)) continue;
    char list[512] = "";
    size_t len = 0;
    int n_syms = 0;
    for (int k = 0; k < t->graph->n_inputs; k++) {
      const mt_value *v = mt_module_value_c(m, t->graph->inputs[k]);
      for (int r = 0; r < v->rank; r++) {
        const char *sym = v->dim_params[r];
        bool seen = false; /* list each symbol once, in first-seen order */
        for (int k2 = 0; sym && !seen && k2 <= k; k2++) {
          const mt_value *w = mt_module_value_c(m, t->graph->inputs[k2]);
          for (int r2 = 0; !seen && r2 < (k2 == k ? r : w->rank); r2++)
            seen = w->dim_params[r2] && strcmp(w->dim_params[r2], sym) == 0;
        }
        if (!sym || seen || len >= sizeof list - 1) continue;
        len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", n_syms++ ? ", " : "", sym);
      }
    }
    if (len >= sizeof list - 1) strcpy(list + sizeof list - 5, "...");
    return MT_ERR(INVALID_ARGUMENT,
                  "tenant '%s': \"dims\" names symbol '%s', which the model's inputs do not have "
                  "(%s%s)",
                  ts->name, ts->dims[d].name, n_syms ? "its symbols: " : "it has no symbolic dims",
                  list);
  }
  return NULL;
}

mt_status *mt_workload_import(const mt_manifest *mf, const mt_allocator *allocator,
                              size_t memory_limit, mt_module **out_module) {
  mt_module *m;
  MT_RETURN_IF_ERROR_PLAIN(mt_module_create(allocator, &m));
  if (memory_limit) mt_module_set_memory_limit(m, memory_limit);
  mt_status *st = NULL;
  for (int i = 0; i < mf->n_tenants && !st; i++) {
    const mt_tenant_spec *ts = &mf->tenants[i];
    int32_t tid;
    st = mt_onnx_import_file(m, ts->model_path, ts->name, &tid);
    if (st) break;
    mt_tenant *t = mt_module_tenant(m, tid);
    mt_arena *arena = mt_module_arena(m);
    t->partition = mt_arena_strdup(arena, ts->partition);
    t->priority = ts->priority;
    t->dim_bindings = mt_arena_array(arena, (size_t)ts->n_dims + 1, sizeof *t->dim_bindings);
    t->shape_overrides =
        mt_arena_array(arena, (size_t)ts->n_shapes + 1, sizeof *t->shape_overrides);
    if (!t->partition || !t->dim_bindings || !t->shape_overrides) {
      st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    for (int d = 0; d < ts->n_dims; d++) {
      t->dim_bindings[d] = ts->dims[d];
      t->dim_bindings[d].name = mt_arena_strdup(arena, ts->dims[d].name);
    }
    t->n_dim_bindings = ts->n_dims;
    if (!st) st = check_dim_symbols(m, t, ts);
    if (st) break;
    for (int s = 0; s < ts->n_shapes; s++) {
      t->shape_overrides[s] = ts->shapes[s];
      t->shape_overrides[s].input = mt_arena_strdup(arena, ts->shapes[s].input);
      bool found = false;
      for (int k = 0; k < t->graph->n_inputs; k++)
        found = found ||
                strcmp(mt_module_value_c(m, t->graph->inputs[k])->name, ts->shapes[s].input) == 0;
      if (!found)
        st = MT_ERR(NOT_FOUND,
                    "tenant '%s': \"shapes\" names input '%s', which the model does not have",
                    ts->name, ts->shapes[s].input);
    }
    t->n_shape_overrides = ts->n_shapes;
  }
  if (!st) st = mt_verify_module(m);
  if (st) {
    mt_module_destroy(m);
    return mf->path ? mt_status_annotate(st, "%s", mf->path) : st;
  }
  *out_module = m;
  return NULL;
}

static bool is_manifest_path(const char *p) {
  size_t n = strlen(p);
  return n > 5 && strcmp(p + n - 5, ".json") == 0;
}

mt_status *mt_workload_load(const mt_allocator *allocator, size_t memory_limit, int n_paths,
                            char *const *paths, mt_manifest **out_manifest,
                            mt_module **out_module) {
  if (n_paths <= 0) return MT_ERR(INVALID_ARGUMENT, "no model or manifest given");
  mt_manifest *mf;
  if (is_manifest_path(paths[0])) {
    if (n_paths > 1) return MT_ERR(INVALID_ARGUMENT, "give one manifest, or model paths, not both");
    MT_RETURN_IF_ERROR_PLAIN(mt_manifest_load(paths[0], &mf));
  } else {
    MT_RETURN_IF_ERROR_PLAIN(mt_manifest_from_models(n_paths, paths, &mf));
  }
  mt_status *st = mt_workload_import(mf, allocator, memory_limit, out_module);
  if (st) {
    mt_manifest_free(mf);
    return st;
  }
  *out_manifest = mf;
  return NULL;
}
