/* Built-in per-arch parameters for the cost model, and JSON overrides.
 * Numbers describe one reference part per arch (datasheet peaks, dense math): sm_80 A100-SXM4,
 * sm_86 A10, sm_89 L4, sm_90 H100-SXM5. Partition granularity follows the green-context rules
 * (8.x: multiples of 2 SMs; 9.0: multiples of 8), and what one split can hand out (9.0: 120 of
 * 132 SMs, measured on an H200; the other archs are not measured); the runtime queries the real
 * values on the device, these shape compile-time grants and warnings. Launch and graph-node overheads are typical
 * measured values and are the first thing GPU calibration should replace. */
#include <jansson.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "plan/target.h"
#include "runtime/base/file.h"

/* Shared by every arch: kernel shape assumptions of the cost model and the stream cap. A block
 * computes a 128x128 GEMM tile or 256 elementwise outputs; a reduction block consumes 2048 inputs;
 * a transcendental (exp, erf, tanh ...) counts as 8 flops; at most 8 streams per partition (beyond
 * that, concurrent kernels mostly contend for the same SMs). */
#define MT_COMMON_KERNEL_SHAPES                                                                    \
  .gemm_tile_m = 128, .gemm_tile_n = 128, .elementwise_block_elems = 256,                          \
  .reduction_block_elems = 2048, .transcendental_flops = 8.0, .max_streams_per_partition = 8

static const mt_arch_params builtin[] = {
    {.name = "sm_80",
     .sm_count = 108,
     .sm_partition_granularity = 2,
     .sm_min_partition = 2,
     .mem_bandwidth_gbs = 2039.0,
     .fp32_tflops = 19.5,
     .tf32_tflops = 156.0,
     .fp16_tflops = 312.0,
     .launch_overhead_us = 4.0,
     .graph_node_overhead_us = 1.0,
     .event_wait_us = 2.0,
     .max_threads_per_block = 1024,
     .max_shared_bytes_per_block = 166912,
     .max_blocks_per_sm = 32,
     MT_COMMON_KERNEL_SHAPES},
    {.name = "sm_86",
     .sm_count = 72,
     .sm_partition_granularity = 2,
     .sm_min_partition = 2,
     .mem_bandwidth_gbs = 600.0,
     .fp32_tflops = 31.2,
     .tf32_tflops = 62.5,
     .fp16_tflops = 125.0,
     .launch_overhead_us = 4.0,
     .graph_node_overhead_us = 1.0,
     .event_wait_us = 2.0,
     .max_threads_per_block = 1024,
     .max_shared_bytes_per_block = 101376,
     .max_blocks_per_sm = 16,
     MT_COMMON_KERNEL_SHAPES},
    {.name = "sm_89",
     .sm_count = 58,
     .sm_partition_granularity = 2,
     .sm_min_partition = 2,
     .mem_bandwidth_gbs = 300.0,
     .fp32_tflops = 30.3,
     .tf32_tflops = 60.0,
     .fp16_tflops = 121.0,
     .launch_overhead_us = 4.0,
     .graph_node_overhead_us = 1.0,
     .event_wait_us = 2.0,
     .max_threads_per_block = 1024,
     .max_shared_bytes_per_block = 101376,
     .max_blocks_per_sm = 24,
     MT_COMMON_KERNEL_SHAPES},
    {.name = "sm_90",
     .sm_count = 132,
     .sm_partition_granularity = 8,
     .sm_min_partition = 8,
     .green_ctx_sms = 120, /* measured: 15 groups of 8 SMs on an H200 (docs/gpu-facts.md) */
     .mem_bandwidth_gbs = 3350.0,
     .fp32_tflops = 67.0,
     .tf32_tflops = 495.0,
     .fp16_tflops = 990.0,
     .launch_overhead_us = 4.0,
     .graph_node_overhead_us = 1.0,
     .event_wait_us = 2.0,
     .max_threads_per_block = 1024,
     .max_shared_bytes_per_block = 232448,
     .max_blocks_per_sm = 32,
     MT_COMMON_KERNEL_SHAPES},
};

const mt_arch_params *mt_arch_builtin(const char *name) {
  for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
    if (strcmp(builtin[i].name, name) == 0) return &builtin[i];
  return NULL;
}

MT_MUST_USE static mt_status *read_number(json_t *obj, const char *key, double lo, double hi,
                                          double *inout) {
  json_t *v = json_object_get(obj, key);
  if (!v) return NULL;
  if (!json_is_number(v)) return MT_ERR(INVALID_ARGUMENT, "'%s' must be a number", key);
  double d = json_number_value(v);
  if (!(d >= lo && d <= hi))
    return MT_ERR(INVALID_ARGUMENT, "'%s' = %g is out of range [%g, %g]", key, d, lo, hi);
  *inout = d;
  return NULL;
}

mt_status *mt_arch_load_overrides(const char *path, const mt_arch_params *base,
                                  mt_arch_params *out) {
  *out = *base;
  json_error_t err;
  char *text;
  size_t len;
  /* Not json_load_file: a FIFO or directory given by mistake must fail, not hang. 64 MiB is far
   * beyond any parameters file. */
  MT_RETURN_IF_ERROR_PLAIN(
      mt_file_read_all(path, "arch parameters file", (size_t)64 << 20, &text, &len));
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  free(text);
  if (!root) return MT_ERR(INVALID_ARGUMENT, "%s:%d: %s", path, err.line, err.text);
  mt_status *st = NULL;
  json_t *arch = json_is_object(root) ? json_object_get(root, base->name) : NULL;
  if (!json_is_object(root)) st = MT_ERR(INVALID_ARGUMENT, "expected an object keyed by arch");
  /* other archs' sections may share the file; anything else is a typo that must not pass */
  const char *top;
  json_t *section;
  if (!st) json_object_foreach(root, top, section) {
      if (!mt_arch_builtin(top)) {
        st = MT_ERR(INVALID_ARGUMENT, "unknown arch '%s' (expected sm_80, sm_86, sm_89 or sm_90)",
                    top);
        break;
      }
      if (!json_is_object(section)) {
        st = MT_ERR(INVALID_ARGUMENT, "'%s' must be an object of parameters", top);
        break;
      }
    }
  if (!st && arch) {
    static const char *const keys[] = {"sm_count",
                                       "sm_partition_granularity",
                                       "sm_min_partition",
                                       "green_ctx_sms",
                                       "mem_bandwidth_gbs",
                                       "fp32_tflops",
                                       "tf32_tflops",
                                       "fp16_tflops",
                                       "launch_overhead_us",
                                       "graph_node_overhead_us",
                                       "event_wait_us",
                                       "max_threads_per_block",
                                       "max_shared_bytes_per_block",
                                       "max_blocks_per_sm",
                                       "gemm_tile_m",
                                       "gemm_tile_n",
                                       "elementwise_block_elems",
                                       "reduction_block_elems",
                                       "transcendental_flops",
                                       "max_streams_per_partition"};
    const char *key;
    json_t *val;
    json_object_foreach(arch, key, val) {
      bool known = false;
      for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        known = known || strcmp(key, keys[i]) == 0;
      if (!known) {
        st = MT_ERR(INVALID_ARGUMENT, "%s: unknown key '%s'", base->name, key);
        break;
      }
    }
    double d;
#define MT_INT_FIELD(f, lo, hi)                                                                    \
  d = out->f;                                                                                      \
  if (!st) st = read_number(arch, #f, lo, hi, &d);                                                 \
  if (!st && d != (double)(int)d) st = MT_ERR(INVALID_ARGUMENT, "'%s' must be an integer", #f);    \
  out->f = (int)d;
#define MT_DBL_FIELD(f, lo, hi)                                                                    \
  if (!st) st = read_number(arch, #f, lo, hi, &out->f);
    MT_INT_FIELD(sm_count, 1, 10000)
    MT_INT_FIELD(sm_partition_granularity, 1, 1000)
    MT_INT_FIELD(sm_min_partition, 1, 1000)
    MT_INT_FIELD(green_ctx_sms, 0, 10000)
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
    MT_INT_FIELD(gemm_tile_m, 1, 4096)
    MT_INT_FIELD(gemm_tile_n, 1, 4096)
    MT_INT_FIELD(elementwise_block_elems, 1, 1 << 20)
    MT_INT_FIELD(reduction_block_elems, 1, 1 << 24)
    MT_DBL_FIELD(transcendental_flops, 0, 1000)
    MT_INT_FIELD(max_streams_per_partition, 1, 1024)
#undef MT_INT_FIELD
#undef MT_DBL_FIELD
    if (!st &&
        (out->sm_min_partition > out->sm_count || out->sm_partition_granularity > out->sm_count))
      st = MT_ERR(
          INVALID_ARGUMENT,
          "sm_min_partition (%d) and sm_partition_granularity (%d) must not exceed sm_count (%d)",
          out->sm_min_partition, out->sm_partition_granularity, out->sm_count);
    if (!st && out->green_ctx_sms > out->sm_count)
      st = MT_ERR(INVALID_ARGUMENT, "green_ctx_sms (%d) must not exceed sm_count (%d)",
                  out->green_ctx_sms, out->sm_count);
  }
  json_decref(root);
  return st ? mt_status_annotate(st, "cost model overrides %s", path) : NULL;
}
