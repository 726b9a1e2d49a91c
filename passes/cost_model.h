/* The cost model: per-arch parameters and a roofline estimate per fused/horizontal group.
 * Data-driven: every number lives in mt_arch_params, which a JSON file can override, so GPU
 * measurements can recalibrate it without code changes. */
#ifndef MT_PASSES_COST_MODEL_H
#define MT_PASSES_COST_MODEL_H

#include "ir/module.h"

typedef struct mt_arch_params {
  char name[16];            /* "sm_90" */
  int sm_count;             /* SMs on the reference part of that arch (e.g. H100 SXM: 132) */
  int sm_partition_granularity; /* SM partitions come in multiples of this (green contexts) */
  int sm_min_partition;     /* smallest partition */
  double mem_bandwidth_gbs; /* DRAM bandwidth, GB/s */
  double fp32_tflops, tf32_tflops, fp16_tflops;
  double launch_overhead_us;   /* per kernel launched from a stream */
  double graph_node_overhead_us; /* per kernel node inside a CUDA graph */
  double event_wait_us;        /* cost of a cross-stream dependency */
  int max_threads_per_block;
  int max_shared_bytes_per_block;
  int max_blocks_per_sm;
} mt_arch_params;

/* Built-in parameters for "sm_80", "sm_86", "sm_89", "sm_90"; NULL for anything else. */
const mt_arch_params *mt_arch_builtin(const char *name);
/* Loads overrides from a JSON file over a copy of base ({"sm_90": {"sm_count": 114, ...}}). */
mt_status *mt_arch_load_overrides(const char *path, const mt_arch_params *base, mt_arch_params *out);

typedef struct mt_cost {
  double flops;
  double bytes_read, bytes_written;
  int64_t blocks;       /* independent work units (thread blocks) the group offers */
  double predicted_us;  /* on the SM count it was estimated for */
} mt_cost;

struct mt_plan;
/* Estimates every fused and horizontal group of the plan under its partition's SM count, and the
 * partitions' makespans. Filled into the plan. */
mt_status *mt_cost_model_estimate(struct mt_plan *p);
/* Roofline time of work on `sms` SMs, plus one launch. */
double mt_cost_time_us(const mt_arch_params *a, const mt_cost *c, int sms);

#endif
