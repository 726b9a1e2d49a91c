/* One libmtrt session per (bundle, device), shared by every Triton model (tenant) of the bundle
 * and refcounted across their model instances; requests of several tenants that arrive together
 * are combined into one round. Uses only the public include/mtrt.h (no Triton types), so the
 * round logic is tested without a server. */
#ifndef MT_SERVING_TRITON_SHARED_SESSION_H
#define MT_SERVING_TRITON_SHARED_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "mtrt.h"

#define MT_SHARED_MUST_USE __attribute__((warn_unused_result))

typedef struct mt_shared mt_shared;

/* One request's work: a tenant, its inputs and outputs in the bundle's port order (exactly each
 * port's nbytes; the caller owns the memory). After mt_shared_run: error (NULL, or a malloc'd
 * one-line message the caller frees), the tenant's kernel time and how many tenants ran in the
 * same round. */
typedef struct mt_job {
  int tenant;
  const void **inputs;
  void **outputs;
  char *error;
  double time_us;
  int round_tenants;
  bool done;
  struct mt_job *next; /* queue link, owned by mt_shared */
} mt_job;

/* The shared session of the bundle at path (resolved with realpath, so two spellings of one file
 * share it) on device (MTRT_DEVICE_CPU/GPU/AUTO, gpu_index): opens bundle and session (with
 * cpu_threads, mtrt_session_options) on first use, otherwise takes another reference, refusing a
 * cpu_threads other than the session's. NULL on success, else a malloc'd message. */
MT_SHARED_MUST_USE char *mt_shared_acquire(const char *path, mtrt_device_kind device, int gpu_index,
                                           int cpu_threads, mt_shared **out);
/* Drops one reference; the last one destroys the session and closes the bundle. */
void mt_shared_release(mt_shared *s);
const mtrt_bundle *mt_shared_bundle(const mt_shared *s);
/* The device name of the session ("cpu"). */
const char *mt_shared_device_name(const mt_shared *s);

/* Runs jobs[0..n) and returns once each is done. Callers on several threads are combined:
 * whoever finds the session idle runs a round of the queued jobs (the oldest one per tenant),
 * all of a bundle's tenants in one mtrt_session_run(-1), fewer tenant by tenant in schedule
 * order; a lone job runs alone at once (no waiting for company). */
void mt_shared_run(mt_shared *s, mt_job **jobs, int n);

/* Rounds run so far and how many of them held more than one tenant. */
void mt_shared_stats(mt_shared *s, uint64_t *rounds, uint64_t *combined);

#endif
