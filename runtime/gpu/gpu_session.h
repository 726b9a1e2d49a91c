/* libmtrt's GPU path: a session that runs a bundle's plan on one CUDA device as CUDA Graphs under
 * per-partition SM budgets (docs/gpu-runtime.md). include/mtrt.h's session functions call into
 * this when the session's device is the GPU; the checks they share with the CPU path (tenant and
 * port names, byte counts) happen before, in runtime/bundle/mtrt.c.
 *
 * A session is used by one thread at a time; several sessions (on one device or several) may run
 * on different threads at once. */
#ifndef MT_RUNTIME_GPU_GPU_SESSION_H
#define MT_RUNTIME_GPU_GPU_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/bundle/bundle.h"

typedef struct mt_gpu_session mt_gpu_session;

typedef enum mt_gpu_arrival {
  MT_GPU_ARRIVAL_ROUND = 0,          /* run(-1) launches the round graph */
  MT_GPU_ARRIVAL_INDEPENDENT = 1,    /* each tenant's graph launches as its request comes */
  MT_GPU_ARRIVAL_BATCHED_WINDOW = 2, /* pending tenants launch together after window_us */
} mt_gpu_arrival;

typedef struct mt_gpu_options {
  int gpu_index;
  mt_gpu_arrival arrival;
  int window_us;
} mt_gpu_options;

/* Creates a GPU session for b (which outlives it). UNAVAILABLE: no driver, no such device, no GPU
 * plan in the bundle, a group without GPU code (named); UNIMPLEMENTED: driver too old, no cubin
 * for the device and no PTX the driver accepts; RESOURCE_EXHAUSTED: device memory. */
MT_MUST_USE mt_status *mt_gpu_session_create(const mt_bundle *b, const mt_gpu_options *o,
                                             mt_gpu_session **out);
void mt_gpu_session_destroy(mt_gpu_session *g);

/* Binds tenant t's input or output `port` to host memory (host != NULL) or to device memory
 * (device, a CUdeviceptr). Sizes were checked by the caller. */
MT_MUST_USE mt_status *mt_gpu_session_bind(mt_gpu_session *g, int t, int port, bool input,
                                           const void *host, uint64_t device);

/* Starts tenant (-1: every tenant) per the arrival mode; returns once the work is enqueued (or
 * pending in a batched window). */
MT_MUST_USE mt_status *mt_gpu_session_launch(mt_gpu_session *g, int tenant);
/* Completes everything launched or pending: host outputs are written and times measured. */
MT_MUST_USE mt_status *mt_gpu_session_wait(mt_gpu_session *g);

/* One line: device, arch, budgets hard or soft and why, PTX JIT, graph form. */
const char *mt_gpu_session_note(const mt_gpu_session *g);
/* "gpu N" */
const char *mt_gpu_session_device_name(const mt_gpu_session *g);
/* Measured latency of tenant t in the last completed launch (START to END_t events), 0 if none. */
double mt_gpu_session_tenant_time_us(const mt_gpu_session *g, int t);
/* Partition p's SM budget: the bundle's grant for this device's arch, what the green context
 * holds (read back; 0 when soft) and whether the budget is enforced. */
void mt_gpu_session_partition(const mt_gpu_session *g, int p, int *granted, int *actual,
                              bool *hard);
/* Graph instantiations so far (tests: the round graph is instantiated once). */
int mt_gpu_session_instantiations(const mt_gpu_session *g);

#endif
