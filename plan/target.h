/* The target description: per-arch parameters (SM counts, partition granularity, bandwidth,
 * peaks, launch overheads and the kernel-shape assumptions the cost model and schedulers use).
 * Data-driven: every number lives in mt_arch_params, which a JSON file can override, so GPU
 * measurements can recalibrate the compiler without code changes. Part of the plan layer, so the
 * passes and a backend read the same description; knows nothing about the plan itself. */
#ifndef MT_PLAN_TARGET_H
#define MT_PLAN_TARGET_H

#include "runtime/base/status.h"

typedef struct mt_arch_params {
  char name[16];                /* "sm_90" */
  int sm_count;                 /* SMs on the reference part of that arch (e.g. H100 SXM: 132) */
  int sm_partition_granularity; /* SM partitions come in multiples of this (green contexts) */
  int sm_min_partition;         /* smallest partition */
  /* SMs that green contexts can split into partitions (one cuDevSmResourceSplitByCount into
   * granularity-sized groups): on an H200 (sm_90, 132 SMs) 15 groups of 8 = 120, the other 12
   * stay out of every group (docs/gpu-facts.md). Budgets summing past it run as soft budgets.
   * 0: not measured, taken as sm_count. */
  int green_ctx_sms;
  double mem_bandwidth_gbs; /* DRAM bandwidth, GB/s */
  double fp32_tflops, tf32_tflops, fp16_tflops;
  double launch_overhead_us;     /* per kernel launched from a stream */
  double graph_node_overhead_us; /* per kernel node inside a CUDA graph */
  double event_wait_us;          /* cost of a cross-stream dependency */
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
MT_MUST_USE mt_status *mt_arch_load_overrides(const char *path, const mt_arch_params *base,
                                              mt_arch_params *out);

#endif
