/* Model config parsing and checking for the Triton backend (model_config.h). */
#include "serving/triton/model_config.h"

#include "serving/triton/message.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TRITONSERVER_DataType mt_triton_dtype(int onnx_dtype) {
  switch (onnx_dtype) {
  case 1: return TRITONSERVER_TYPE_FP32;
  case 2: return TRITONSERVER_TYPE_UINT8;
  case 3: return TRITONSERVER_TYPE_INT8;
  case 4: return TRITONSERVER_TYPE_UINT16;
  case 5: return TRITONSERVER_TYPE_INT16;
  case 6: return TRITONSERVER_TYPE_INT32;
  case 7: return TRITONSERVER_TYPE_INT64;
  case 9: return TRITONSERVER_TYPE_BOOL;
  case 10: return TRITONSERVER_TYPE_FP16;
  case 11: return TRITONSERVER_TYPE_FP64;
  case 12: return TRITONSERVER_TYPE_UINT32;
  case 13: return TRITONSERVER_TYPE_UINT64;
  default: return TRITONSERVER_TYPE_INVALID;
  }
}

/* The config's spelling of a Triton data type ("TYPE_FP32"). */
static const char *config_dtype(TRITONSERVER_DataType t) {
  static const char *names[] = {
      [TRITONSERVER_TYPE_BOOL] = "TYPE_BOOL",     [TRITONSERVER_TYPE_UINT8] = "TYPE_UINT8",
      [TRITONSERVER_TYPE_UINT16] = "TYPE_UINT16", [TRITONSERVER_TYPE_UINT32] = "TYPE_UINT32",
      [TRITONSERVER_TYPE_UINT64] = "TYPE_UINT64", [TRITONSERVER_TYPE_INT8] = "TYPE_INT8",
      [TRITONSERVER_TYPE_INT16] = "TYPE_INT16",   [TRITONSERVER_TYPE_INT32] = "TYPE_INT32",
      [TRITONSERVER_TYPE_INT64] = "TYPE_INT64",   [TRITONSERVER_TYPE_FP16] = "TYPE_FP16",
      [TRITONSERVER_TYPE_FP32] = "TYPE_FP32",     [TRITONSERVER_TYPE_FP64] = "TYPE_FP64"};
  return (size_t)t < sizeof names / sizeof *names && names[t] ? names[t] : "TYPE_INVALID";
}

static const char *param(json_t *root, const char *key) {
  json_t *v =
      json_object_get(json_object_get(json_object_get(root, "parameters"), key), "string_value");
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *load(const char *name, const char *json, size_t size, char **err) {
  json_error_t je;
  json_t *root = json_loadb(json, size, 0, &je);
  *err = root ? NULL : mt_serving_msg("model '%s': unreadable config JSON: %s", name, je.text);
  return root;
}

char *mt_model_config_parse(const char *name, const char *model_dir, const char *config_json,
                            size_t size, mt_model_config *out) {
  memset(out, 0, sizeof *out);
  char *err;
  json_t *root = load(name, config_json, size, &err);
  if (!root) return err;
  const char *bundle = param(root, "bundle"), *tenant = param(root, "tenant");
  json_t *mbs = json_object_get(root, "max_batch_size");
  if (!bundle)
    err =
        mt_serving_msg("model '%s': config.pbtxt has no parameter \"bundle\" (the .mtbundle path, "
                       "relative to the model folder); `mtcc triton-repo` writes it",
                       name);
  else if (mbs && json_integer_value(mbs) != 0)
    err = mt_serving_msg(
        "model '%s': max_batch_size must be 0 (the bundle was compiled for fixed shapes)", name);
  else if (bundle[0] == '/')
    out->bundle_path = strdup(bundle);
  else if (asprintf(&out->bundle_path, "%s/%s", model_dir, bundle) < 0)
    out->bundle_path = NULL;
  const char *threads = param(root, "cpu_threads");
  if (!err && threads) {
    char *end = NULL;
    long v = strtol(threads, &end, 10);
    if (end == threads || *end || v < 0 || v > 256)
      err = mt_serving_msg("model '%s': parameter cpu_threads must be a count from 0 to 256, not "
                           "'%s'",
                           name, threads);
    out->cpu_threads = (int)v;
  }
  if (!err) out->tenant = strdup(tenant ? tenant : name);
  if (!err && (!out->bundle_path || !out->tenant)) err = mt_serving_msg("out of memory");
  json_decref(root);
  if (err) mt_model_config_free(out);
  return err;
}

void mt_model_config_free(mt_model_config *c) {
  free(c->bundle_path);
  free(c->tenant);
  memset(c, 0, sizeof *c);
}

static int64_t dim_value(json_t *d) {
  if (json_is_integer(d)) return (int64_t)json_integer_value(d);
  if (json_is_string(d)) return strtoll(json_string_value(d), NULL, 10);
  return INT64_MIN;
}

/* One config tensor list ("input" or "output") against the tenant's ports. */
static char *check_list(const char *name, json_t *root, const char *key, const mtrt_bundle *b,
                        int tenant) {
  bool out = strcmp(key, "output") == 0;
  int n = out ? mtrt_bundle_output_count(b, tenant) : mtrt_bundle_input_count(b, tenant);
  json_t *list = json_object_get(root, key);
  size_t given = json_is_array(list) ? json_array_size(list) : 0;
  if (given != (size_t)n)
    return mt_serving_msg("model '%s': the config lists %zu %s(s), tenant '%s' has %d", name, given,
                          key, mtrt_bundle_tenant_name(b, tenant), n);
  for (size_t k = 0; k < given; k++) {
    json_t *e = json_array_get(list, k);
    const char *pname = json_string_value(json_object_get(e, "name"));
    const char *dt = json_string_value(json_object_get(e, "data_type"));
    /* A reshape is the shape the backend sees (a scalar travels as [ 1 ] reshaped to [ ]). */
    json_t *reshape = json_object_get(json_object_get(e, "reshape"), "shape");
    json_t *dims = reshape ? reshape : json_object_get(e, "dims");
    mtrt_port_info pi = {0};
    bool found = false;
    for (int i = 0; pname && i < n && !found; i++) {
      mtrt_status *st = out ? mtrt_bundle_output_info(b, tenant, i, &pi)
                            : mtrt_bundle_input_info(b, tenant, i, &pi);
      if (st) {
        char *m = mt_serving_msg("model '%s': %s", name, mtrt_status_message(st));
        mtrt_status_free(st);
        return m;
      }
      found = strcmp(pi.name, pname) == 0;
    }
    if (!found)
      return mt_serving_msg("model '%s': config %s '%s' is not a %s of tenant '%s'", name, key,
                            pname ? pname : "(unnamed)", key, mtrt_bundle_tenant_name(b, tenant));
    const char *want = config_dtype(mt_triton_dtype(pi.dtype));
    bool same = dt && strcmp(dt, want) == 0 && json_is_array(dims) &&
                json_array_size(dims) == (size_t)pi.rank;
    for (int d = 0; same && d < pi.rank; d++)
      same = dim_value(json_array_get(dims, (size_t)d)) == pi.dims[d];
    if (!same)
      return mt_serving_msg(
          "model '%s': config %s '%s' differs from the bundle (%s, rank %d); regenerate "
          "the repository with `mtcc triton-repo`",
          name, key, pname, want, pi.rank);
  }
  return NULL;
}

char *mt_model_config_check(const char *name, const char *config_json, size_t size,
                            const mtrt_bundle *b, int tenant) {
  char *err;
  json_t *root = load(name, config_json, size, &err);
  if (!root) return err;
  err = check_list(name, root, "input", b, tenant);
  if (!err) err = check_list(name, root, "output", b, tenant);
  json_decref(root);
  return err;
}
