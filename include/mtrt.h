/* libmtrt: load an .mtbundle written by `mtcc compile -o` and run its tenants.
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
#define MTRT_VERSION_NUMBER 1000
/* Bumped whenever a struct or function of this header changes incompatibly: an application built
 * against a newer header than the library it runs with gets UNIMPLEMENTED from
 * mtrt_bundle_open instead of undefined behaviour. */
#define MTRT_ABI_VERSION 2

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
  MTRT_DEVICE_GPU = 1,  /* not in this library yet: UNAVAILABLE */
  MTRT_DEVICE_AUTO = 2, /* the GPU when one works, else the CPU */
} mtrt_device_kind;
typedef struct mtrt_session_options {
  mtrt_device_kind device;
  int gpu_index;
  /* CPU path: threads running groups the plan lets run at once (other tenants, partitions or
   * streams), the caller's included; 0 or 1: the calling thread alone. The bytes of every
   * output are the same for any count (each kernel runs on one thread, in a fixed order). */
  int cpu_threads;
} mtrt_session_options;

typedef struct mtrt_session mtrt_session;
/* Creates a session on b (which must outlive it) with its own arenas; options NULL means CPU.
 * With cpu_threads > 1 it starts its worker threads (joined by mtrt_session_destroy) after
 * checking that no two groups the plan lets run at once touch the same bytes (DATA_LOSS for a
 * plan missing a wait). Any thread; several sessions on one bundle may run concurrently. */
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

/* Runs one tenant (tenant >= 0) or every tenant (-1) through the plan: groups in schedule order,
 * or on cpu_threads threads in any order the plan's streams and waits allow; every input and
 * output of the tenants run must be bound. Errors name the tenant and node (with several
 * threads: the failing group that comes first in the schedule among those that ran). */
MTRT_API MTRT_MUST_USE mtrt_status *mtrt_session_run(mtrt_session *s, int tenant);

/* "cpu" (the device the last run used). */
MTRT_API const char *mtrt_session_device_name(const mtrt_session *s);
/* Wall time in microseconds of tenant's kernels in the last run (0 when it did not run). */
MTRT_API double mtrt_session_tenant_time_us(const mtrt_session *s, int tenant);

#ifdef __cplusplus
}
#endif

#endif
