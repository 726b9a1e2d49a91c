/* Built-in per-arch parameters for the cost model, and JSON overrides.
 * Numbers describe one reference part per arch (datasheet peaks, dense math): sm_80 A100-SXM4,
 * sm_86 A10, sm_89 L4, sm_90 H100-SXM5. Partition granularity follows the green-context rules
 * (8.x: multiples of 2 SMs; 9.0: multiples of 8); the runtime queries the real values on the
 * device, these only shape compile-time estimates. Launch and graph-node overheads are typical
 * measured values and are the first thing GPU calibration should replace. */
#include <jansson.h>
#include <string.h>

#include "passes/cost_model.h"

static const mt_arch_params builtin[] = {
    {"sm_80", 108, 2, 2, 2039.0, 19.5, 156.0, 312.0, 4.0, 1.0, 2.0, 1024, 166912, 32},
    {"sm_86", 72, 2, 2, 600.0, 31.2, 62.5, 125.0, 4.0, 1.0, 2.0, 1024, 101376, 16},
    {"sm_89", 58, 2, 2, 300.0, 30.3, 60.0, 121.0, 4.0, 1.0, 2.0, 1024, 101376, 24},
    {"sm_90", 132, 8, 8, 3350.0, 67.0, 495.0, 990.0, 4.0, 1.0, 2.0, 1024, 232448, 32},
};

const mt_arch_params *mt_arch_builtin(const char *name) {
  for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
    if (strcmp(builtin[i].name, name) == 0) return &builtin[i];
  return NULL;
}

static mt_status *read_number(json_t *obj, const char *key, double lo, double hi, double *inout) {
  json_t *v = json_object_get(obj, key);
  if (!v) return NULL;
  if (!json_is_number(v)) return MT_ERR(INVALID_ARGUMENT, "'%s' must be a number", key);
  double d = json_number_value(v);
  if (!(d >= lo && d <= hi)) return MT_ERR(INVALID_ARGUMENT, "'%s' = %g is out of range [%g, %g]", key, d, lo, hi);
  *inout = d;
  return NULL;
}

mt_status *mt_arch_load_overrides(const char *path, const mt_arch_params *base, mt_arch_params *out) {
  *out = *base;
  json_error_t err;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
  if (!root) return MT_ERR(INVALID_ARGUMENT, "%s:%d: %s", path, err.line, err.text);
  mt_status *st = NULL;
  json_t *arch = json_is_object(root) ? json_object_get(root, base->name) : NULL;
  if (!json_is_object(root)) st = MT_ERR(INVALID_ARGUMENT, "%s: expected an object keyed by arch", path);
  if (!st && arch) {
    static const char *const keys[] = {"sm_count", "sm_partition_granularity", "sm_min_partition",
                                       "mem_bandwidth_gbs", "fp32_tflops", "tf32_tflops",
                                       "fp16_tflops", "launch_overhead_us", "graph_node_overhead_us",
                                       "event_wait_us", "max_threads_per_block",
                                       "max_shared_bytes_per_block", "max_blocks_per_sm"};
    const char *key;
    json_t *val;
    json_object_foreach(arch, key, val) {
      bool known = false;
      for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) known = known || strcmp(key, keys[i]) == 0;
      if (!known) {
        st = MT_ERR(INVALID_ARGUMENT, "%s: %s: unknown key '%s'", path, base->name, key);
        break;
      }
    }
    double d;
#define MT_INT_FIELD(f, lo, hi)                                                                    \
  d = out->f;                                                                                      \
  if (!st) st = read_number(arch, #f, lo, hi, &d);                                                 \
  out->f = (int)d;
#define MT_DBL_FIELD(f, lo, hi)                                                                    \
  if (!st) st = read_number(arch, #f, lo, hi, &out->f);
    MT_INT_FIELD(sm_count, 1, 10000)
    MT_INT_FIELD(sm_partition_granularity, 1, 1000)
    MT_INT_FIELD(sm_min_partition, 1, 1000)
    MT_DBL_FIELD(mem_bandwidth_gbs, 1, 1e6)
    MT_DBL_FIELD(fp32_tflops, 0.01, 1e5)
    MT_DBL_FIELD(tf32_tflops, 0.01, 1e5)
    MT_DBL_FIELD(fp16_tflops, 0.01, 1e5)
    MT_DBL_FIELD(launch_overhead_us, 0, 1e4)
    MT_DBL_FIELD(graph_node_overhead_us, 0, 1e4)
    MT_DBL_FIELD(event_wait_us, 0, 1e4)
    MT_INT_FIELD(max_threads_per_block, 32, 4096)
    MT_INT_FIELD(max_shared_bytes_per_block, 1024, 1 << 24)
    MT_INT_FIELD(max_blocks_per_sm, 1, 1024)
#undef MT_INT_FIELD
#undef MT_DBL_FIELD
  }
  json_decref(root);
  return st ? mt_status_annotate(st, "cost model overrides") : NULL;
}
