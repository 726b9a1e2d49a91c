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
  /* Cost-model and scheduling constants (assumptions, not datasheet numbers): */
  int gemm_tile_m, gemm_tile_n;  /* output tile one block computes in GEMM / conv-as-GEMM */
  int elementwise_block_elems;   /* output elements per block of elementwise and copy kernels */
  int reduction_block_elems;     /* input elements per block of reduction kernels */
  double transcendental_flops;   /* flops counted per element of exp/log/tanh/erf/sigmoid/... */
  int max_streams_per_partition; /* assign-streams merges chains beyond this */
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
  double math_tflops;   /* whole-GPU peak its flops run at (fp32, or fp16 tensor cores for fp16
                         * GEMM/conv); 0 means fp32_tflops */
} mt_cost;

struct mt_plan;
/* Estimates every fused and horizontal group of the plan under its partition's SM count, and the
 * partitions' makespans (max of the critical path and the total work on the partition's SMs; the
 * critical path follows stream order and waits once every group of the partition has a stream,
 * data dependencies before). Filled into the plan; assign-streams calls it again at its end. */
mt_status *mt_cost_model_estimate(struct mt_plan *p);
/* A tenant's predicted latency on its partition: alone (the only tenant running, its fused groups
 * one after another on one stream, one launch overhead each: the single-model baseline) or, when
 * alone is false, as scheduled among the others (when its last horizontal group finishes, and no
 * earlier than the partition's work up to that position allows). */
double mt_cost_tenant_latency_us(const struct mt_plan *p, int32_t tenant, bool alone);
/* Roofline time of work on `sms` SMs, plus one launch. */
double mt_cost_time_us(const mt_arch_params *a, const mt_cost *c, int sms);
/* A tenant alone on its partition with the concurrency its own DAG offers (unlimited streams):
 * max(critical path, total work / partition throughput). mt_cost_tenant_latency_us(.., true) is
 * the same tenant run serially on one stream. */
double mt_cost_tenant_concurrent_us(const struct mt_plan *p, int32_t tenant);

#endif
