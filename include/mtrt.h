/* libmtrt: load an .mtbundle written by `mtcc compile -o` and run its tenants, on the CPU or on
 * an NVIDIA GPU (CUDA Graphs under per-partition SM budgets; docs/gpu-runtime.md).
 *
 * Handles are opaque. A bundle is immutable once open and may be shared by any number of threads
 * and sessions; a session is used by one thread at a time (create one per thread). Every call
 * that can fail returns NULL on success or a status the caller frees with mtrt_status_free; no
 * call aborts or exits on bad input. libmtrt contains runtime code only (no compiler, no NVRTC,
 * no LLVM). */
#ifndef MTRT_H
#define MTRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MTRT_API __attribute__((visibility("default")))
#define MTRT_MUST_USE __attribute__((warn_unused_result))
#else
#define MTRT_API
#define MTRT_MUST_USE
#endif

/* major * 1000000 + minor * 1000 + patch of this header. */
#define MTRT_VERSION_NUMBER 3000
/* Bumped whenever a struct or function of this header changes incompatibly: an application built
 * against a newer header than the library it runs with gets UNIMPLEMENTED from
 * mtrt_bundle_open instead of undefined behaviour. An application built against ABI 1 still
 * works: its bundles' sessions read only the ABI-1 fields of mtrt_session_options.
 * ABI 2: mtrt_session_options grew (arrival, window_us, cpu_threads) and the
 * functions of symbol version MTRT_2 were added.
 * ABI 3: mtrt_session_options grew cpu_target, and mtrt_session_cpu_target was added (MTRT_3). */
#define MTRT_ABI_VERSION 3

/* The library's MTRT_VERSION_NUMBER and MTRT_ABI_VERSION. Any thread, any time. */
MTRT_API int mtrt_version_number(void);
MTRT_API int mtrt_abi_version(void);

typedef struct mtrt_status mtrt_status;
typedef enum mtrt_status_code {
  MTRT_OK = 0,
  MTRT_INVALID_ARGUMENT,   /* a wrong argument: unknown tenant or name, wrong size */
  MTRT_OUT_OF_RANGE,       /* an index outside what is allowed */
  MTRT_DATA_LOSS,          /* the bundle is truncated or corrupt */
  MTRT_NOT_FOUND,          /* a file that does not exist */
  MTRT_UNAVAILABLE,        /* a device that is not there */
  MTRT_RESOURCE_EXHAUSTED, /* out of memory */
  MTRT_UNIMPLEMENTED,      /* a bundle feature (format version, kernel) this library lacks */
  MTRT_INTERNAL,           /* a bug */
} mtrt_status_code;
/* Code and message of st (MTRT_OK and "OK" for NULL); the message lives as long as st. */
MTRT_API mtrt_status_code mtrt_status_code_of(const mtrt_status *st);
MTRT_API const char *mtrt_status_message(const mtrt_status *st);
/* Frees st (NULL is fine). The caller owns every status a call returns. */
MTRT_API void mtrt_status_free(mtrt_status *st);

/* ---- bundles ---- */

typedef struct mtrt_bundle mtrt_bundle;
typedef struct mtrt_open_options {
  int abi_version; /* MTRT_ABI_VERSION of the caller's header: set by mtrt_open_options_init */
} mtrt_open_options;
static inline void mtrt_open_options_init(mtrt_open_options *o) {
  o->abi_version = MTRT_ABI_VERSION;
}

/* Maps the bundle at path read-only and validates all of it (container, checksums, manifest,
 * every index, offset and kernel parameter) before anything else may use it. options may be
 * NULL (the header's ABI is assumed). On success *out_bundle owns the mapping until
 * mtrt_bundle_close. Any thread. */
MTRT_API MTRT_MUST_USE mtrt_status *
mtrt_bundle_open(const char *path, const mtrt_open_options *options, mtrt_bundle **out_bundle);
/* Same from bytes in memory, which are copied (the caller keeps data). */
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_bundle_open_memory(const void *data, size_t size,
                                                            const mtrt_open_options *options,
                                                            mtrt_bundle **out_bundle);
/* Releases b (NULL is fine). Every session of b must have been destroyed first. */
MTRT_API void mtrt_bundle_close(mtrt_bundle *b);

/* Read-only queries on an open bundle, any thread; strings live until mtrt_bundle_close. */
MTRT_API int mtrt_bundle_tenant_count(const mtrt_bundle *b);
/* Tenant name, or NULL for an index out of range. */
MTRT_API const char *mtrt_bundle_tenant_name(const mtrt_bundle *b, int tenant);
/* Index of the tenant called name, or -1. */
MTRT_API int mtrt_bundle_tenant_index(const mtrt_bundle *b, const char *name);
/* The mtcc version that wrote the bundle. */
MTRT_API const char *mtrt_bundle_mtcc_version(const mtrt_bundle *b);

/* One graph input or output of a tenant. dims point into the bundle. */
typedef struct mtrt_port_info {
  const char *name;
  int dtype; /* ONNX TensorProto element type (1 float32, 7 int64, ...) */
  int rank;
  const int64_t *dims;
  size_t nbytes;
} mtrt_port_info;
/* Number of inputs / outputs of a tenant (-1 for a tenant out of range) and each one's info
 * (OUT_OF_RANGE for bad indices). */
MTRT_API int mtrt_bundle_input_count(const mtrt_bundle *b, int tenant);
MTRT_API int mtrt_bundle_output_count(const mtrt_bundle *b, int tenant);
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_bundle_input_info(const mtrt_bundle *b, int tenant,
                                                           int index, mtrt_port_info *out);
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_bundle_output_info(const mtrt_bundle *b, int tenant,
                                                            int index, mtrt_port_info *out);

/* ---- sessions ---- */

typedef enum mtrt_device_kind {
  MTRT_DEVICE_CPU = 0,
  /* CUDA GPU gpu_index. UNAVAILABLE when there is no driver (libcuda.so.1 cannot be opened, or
   * is the toolkit's stub), no such device, the bundle has no GPU plan, or one of its groups has
   * no GPU code (the message names the group and the bundle's reason); UNIMPLEMENTED when the
   * driver is too old or the bundle has neither a cubin for the device nor PTX it accepts. */
  MTRT_DEVICE_GPU = 1,
  /* The GPU when a GPU session can be created, else the CPU; mtrt_session_device_note says
   * which and why. */
  MTRT_DEVICE_AUTO = 2,
} mtrt_device_kind;

/* When the tenants of a GPU session run (docs/gpu-runtime.md has the trade-offs). The CPU path
 * runs what it is asked to, at once, whatever the mode. */
typedef enum mtrt_arrival {
  /* mtrt_session_run(s, -1) launches the round graph holding every tenant; run(s, t) launches
   * tenant t's own graph. */
  MTRT_ARRIVAL_ROUND = 0,
  /* Each tenant's graph launches as soon as its run is asked for; tenants whose graphs touch the
   * same device memory (a shared horizontal group or arena bytes) are serialised. */
  MTRT_ARRIVAL_INDEPENDENT = 1,
  /* Runs asked for within window_us of the first pending one launch together: the round graph
   * when every tenant is pending, else the pending tenants' graphs (the others are masked out by
   * not launching their graphs). The window closes at the latest in mtrt_session_wait. */
  MTRT_ARRIVAL_BATCHED_WINDOW = 2,
} mtrt_arrival;

typedef struct mtrt_session_options {
  mtrt_device_kind device;
  int gpu_index;
  /* CPU path: threads running groups the plan lets run at once (other tenants, partitions or
   * streams), the caller's included; 0 or 1: the calling thread alone. The bytes of every
   * output are the same for any count (each kernel runs on one thread, in a fixed order). */
  int cpu_threads;
  /* GPU path: when tenants run (mtrt_arrival) and the batched window in microseconds */
  mtrt_arrival arrival;
  int window_us;
  /* ABI 3. CPU path: which of the bundle's generated CPU objects runs. NULL, "" or "auto": the
   * widest target the host's CPU runs (x86-64-v4 over x86-64-v3); "reference": the reference
   * kernels; a target name ("x86-64-v3", "x86-64-v4", "aarch64", ...): as auto on a host taken
   * to have no more than that target's features (simulates an older CPU). When no object fits
   * or it cannot be loaded the session runs the reference kernels and mtrt_session_device_note
   * says why; an unknown name is INVALID_ARGUMENT. A generated kernel is split over cpu_threads
   * threads; the bytes of every output are the same for any count. */
  const char *cpu_target;
} mtrt_session_options;
/* Defaults: CPU, gpu 0, round arrivals, a 200 us window, one CPU thread, CPU target auto. */
static inline void mtrt_session_options_init(mtrt_session_options *o) {
  o->device = MTRT_DEVICE_CPU;
  o->gpu_index = 0;
  o->arrival = MTRT_ARRIVAL_ROUND;
  o->window_us = 200;
  o->cpu_threads = 0;
  o->cpu_target = NULL;
}

typedef struct mtrt_session mtrt_session;
/* Creates a session on b (which must outlive it) with its own arenas (on the GPU: device memory,
 * weights uploaded once, graphs instantiated once); options NULL means CPU. On the CPU with
 * cpu_threads > 1 it starts its worker threads (joined by mtrt_session_destroy) after checking
 * that no two groups the plan lets run at once touch the same bytes (DATA_LOSS for a plan
 * missing a wait). Any thread; several sessions on one bundle, or on one GPU, may run
 * concurrently from different threads. */
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_session_create(const mtrt_bundle *b,
                                                        const mtrt_session_options *options,
                                                        mtrt_session **out_session);
/* Releases s (NULL is fine). */
MTRT_API void mtrt_session_destroy(mtrt_session *s);

/* Binds a tenant's input (read during runs) or output (written by runs) by name to caller
 * memory of exactly the port's nbytes, laid out row-major in the port's dtype and aligned to its
 * element size (INVALID_ARGUMENT otherwise). The memory stays the caller's and must stay valid
 * until rebound or the session is destroyed. One thread per session. */
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_session_bind_input(mtrt_session *s, int tenant,
                                                            const char *name, const void *data,
                                                            size_t nbytes);
MTRT_API MTRT_MUST_USE mtrt_status *
mtrt_session_bind_output(mtrt_session *s, int tenant, const char *name, void *data, size_t nbytes);

/* Runs one tenant (tenant >= 0) or every tenant (-1) through the plan: on the CPU groups in
 * schedule order, or on cpu_threads threads in any order the plan's streams and waits allow; on
 * the GPU as CUDA Graphs per the arrival mode. Every input and output of the tenants run must be
 * bound. Errors name the tenant and node (with several CPU threads: the failing group that comes
 * first in the schedule among those that ran). Returns when the outputs are written
 * (mtrt_session_run_async + mtrt_session_wait). */
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_session_run(mtrt_session *s, int tenant);

/* "cpu" or "gpu N": the device the session runs on. The string lives as long as s. */
MTRT_API const char *mtrt_session_device_name(const mtrt_session *s);
/* Measured time in microseconds of tenant in the last completed run (0 when it did not run): on
 * the CPU the wall time of its kernels; on the GPU its latency from the round's start event to
 * the event after its last output copy. */
MTRT_API double mtrt_session_tenant_time_us(const mtrt_session *s, int tenant);

/* ---- ABI 2 (symbol version MTRT_2) ---- */

/* Binds a tenant's input or output to device memory (a CUdeviceptr on the session's GPU, of
 * exactly the port's nbytes) instead of host memory: the graph copies from / to it on the device
 * and the host is not involved. GPU sessions only (INVALID_ARGUMENT on the CPU). The memory stays
 * the caller's and must stay valid until rebound or the session is destroyed. One thread per
 * session. */
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_session_bind_input_device(mtrt_session *s, int tenant,
                                                                   const char *name,
                                                                   uint64_t device_ptr,
                                                                   size_t nbytes);
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_session_bind_output_device(mtrt_session *s, int tenant,
                                                                    const char *name,
                                                                    uint64_t device_ptr,
                                                                    size_t nbytes);

/* Starts tenant (or -1: every tenant) and returns once the work is enqueued on the GPU. Host
 * inputs are read (staged) before it returns, so they may change afterwards, except with
 * MTRT_ARRIVAL_BATCHED_WINDOW, where a pending tenant's inputs are read when its window closes
 * (at the latest in mtrt_session_wait). Outputs are written only by mtrt_session_wait. A tenant
 * started again before a wait first completes its previous run. The CPU path runs synchronously
 * here. One thread per session. */
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_session_run_async(mtrt_session *s, int tenant);
/* Completes everything started: host outputs written, times measured. A failed launch or device
 * error is returned here, naming the driver call; the session should then be destroyed. One
 * thread per session; returns at once on the CPU. */
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_session_wait(mtrt_session *s);

/* One line on how the session runs: the device, arch, hard or soft SM budgets and why, PTX JIT,
 * one graph or one per partition; for MTRT_DEVICE_AUTO on the CPU, why the GPU was not used; on
 * the CPU (ABI 3), after "; CPU code: ", which generated CPU object runs or why the reference
 * kernels do ("cpu; CPU code: CPU object x86-64-v4 (needs ...)"). Lives as long as s; fixed at creation, so any thread may read it. */
MTRT_API const char *mtrt_session_device_note(const mtrt_session *s);
/* The bundle's predicted time of tenant (the cost model's, in microseconds; 0 out of range).
 * Any thread. */
MTRT_API double mtrt_session_tenant_predicted_us(const mtrt_session *s, int tenant);

/* A partition's SM budget in this session. */
typedef struct mtrt_partition_info {
  const char *name; /* lives as long as the bundle */
  int granted_sms;  /* the bundle's grant for this device's arch (0 on the CPU) */
  int actual_sms;   /* read back from the partition's green context (0 when soft) */
  int hard;         /* 1: a green context enforces the budget; 0: soft (see the device note) */
} mtrt_partition_info;
/* Number of partitions of b. Any thread. */
MTRT_API int mtrt_bundle_partition_count(const mtrt_bundle *b);
/* Fills *out for partition (OUT_OF_RANGE for a bad index). The budget is fixed at creation, so
 * any thread may ask. */
MTRT_API MTRT_MUST_USE mtrt_status *
mtrt_session_partition_info(const mtrt_session *s, int partition, mtrt_partition_info *out);

/* ---- ABI 3 (symbol version MTRT_3) ---- */

/* The target of the generated CPU object a CPU session runs ("x86-64-v4", ...), "reference"
 * when it runs the reference kernels (mtrt_session_device_note says why), "" for a GPU session.
 * Lives as long as s; any thread. */
MTRT_API const char *mtrt_session_cpu_target(const mtrt_session *s);

#ifdef __cplusplus
}
#endif

#endif
