/* The shared sessions of the Triton backend (shared_session.h): a process-wide registry of
 * (bundle, device) -> session, and flat combining of concurrent requests into rounds. */
#include "serving/triton/shared_session.h"

#include "serving/triton/message.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mt_shared {
  char *path; /* realpath of the bundle */
  mtrt_device_kind device;
  int gpu_index;
  int cpu_threads;
  int refs;
  mtrt_bundle *bundle;
  mtrt_session *session;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool busy;           /* a round is running */
  mt_job *head, *tail; /* queued jobs, oldest first */
  uint64_t rounds, combined;
  struct mt_shared *next; /* registry link */
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static mt_shared *registry;

/* A message from an mtrt status (freed here). */
static char *from_status(mtrt_status *st, const char *what) {
  char *m = mt_serving_msg("%s: %s", what, mtrt_status_message(st));
  mtrt_status_free(st);
  return m;
}

static void destroy(mt_shared *s) {
  mtrt_session_destroy(s->session);
  mtrt_bundle_close(s->bundle);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s->path);
  free(s);
}

char *mt_shared_acquire(const char *path, mtrt_device_kind device, int gpu_index, int cpu_threads,
                        mt_shared **out) {
  *out = NULL;
  char *real = realpath(path, NULL);
  if (!real) return mt_serving_msg("bundle %s: cannot resolve the path: %m", path);
  pthread_mutex_lock(&registry_mu);
  for (mt_shared *s = registry; s; s = s->next)
    if (strcmp(s->path, real) == 0 && s->device == device && s->gpu_index == gpu_index) {
      char *err = s->cpu_threads == cpu_threads
                      ? NULL
                      : mt_serving_msg("bundle %s: cpu_threads %d, but its shared session on %s "
                                       "runs %d (give every model of the bundle the same value)",
                                       real, cpu_threads, mtrt_session_device_name(s->session),
                                       s->cpu_threads);
      s->refs += !err;
      pthread_mutex_unlock(&registry_mu);
      free(real);
      *out = err ? NULL : s;
      return err;
    }
  char *err = NULL;
  mt_shared *s = calloc(1, sizeof *s);
  if (!s) err = mt_serving_msg("out of memory");
  if (!err) {
    s->path = real;
    real = NULL;
    s->device = device;
    s->gpu_index = gpu_index;
    s->cpu_threads = cpu_threads;
    s->refs = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    mtrt_open_options oo;
    mtrt_open_options_init(&oo);
    mtrt_status *st = mtrt_bundle_open(s->path, &oo, &s->bundle);
    if (st) err = from_status(st, "cannot open the bundle");
  }
  if (!err) {
    mtrt_session_options so = {
        .device = device, .gpu_index = gpu_index, .cpu_threads = cpu_threads};
    mtrt_status *st = mtrt_session_create(s->bundle, &so, &s->session);
    if (st) err = from_status(st, "cannot create a session");
  }
  if (err) {
    if (s) destroy(s);
    free(real);
  } else {
    s->next = registry;
    registry = s;
    *out = s;
  }
  pthread_mutex_unlock(&registry_mu);
  return err;
}

void mt_shared_release(mt_shared *s) {
  if (!s) return;
  pthread_mutex_lock(&registry_mu);
  bool last = --s->refs == 0;
  if (last)
    for (mt_shared **p = &registry; *p; p = &(*p)->next)
      if (*p == s) {
        *p = s->next;
        break;
      }
  pthread_mutex_unlock(&registry_mu);
  if (last) destroy(s);
}

const mtrt_bundle *mt_shared_bundle(const mt_shared *s) { return s->bundle; }
const char *mt_shared_device_name(const mt_shared *s) {
  return mtrt_session_device_name(s->session);
}

void mt_shared_stats(mt_shared *s, uint64_t *rounds, uint64_t *combined) {
  pthread_mutex_lock(&s->mu);
  *rounds = s->rounds;
  *combined = s->combined;
  pthread_mutex_unlock(&s->mu);
}

/* Binds a job's buffers; NULL or the job's error. */
static char *bind_job(mt_shared *s, mt_job *j) {
  const char *tn = mtrt_bundle_tenant_name(s->bundle, j->tenant);
  if (!tn) return mt_serving_msg("tenant index %d is out of range", j->tenant);
  for (int out = 0; out < 2; out++) {
    int n = out ? mtrt_bundle_output_count(s->bundle, j->tenant)
                : mtrt_bundle_input_count(s->bundle, j->tenant);
    for (int i = 0; i < n; i++) {
      mtrt_port_info pi;
      mtrt_status *st = out ? mtrt_bundle_output_info(s->bundle, j->tenant, i, &pi)
                            : mtrt_bundle_input_info(s->bundle, j->tenant, i, &pi);
      if (!st)
        st =
            out ? mtrt_session_bind_output(s->session, j->tenant, pi.name, j->outputs[i], pi.nbytes)
                : mtrt_session_bind_input(s->session, j->tenant, pi.name, j->inputs[i], pi.nbytes);
      if (st) return from_status(st, tn);
    }
  }
  return NULL;
}

static int by_tenant(const void *a, const void *b) {
  return (*(mt_job *const *)a)->tenant - (*(mt_job *const *)b)->tenant;
}

/* Runs one round (distinct tenants); called by the leader without the lock held. Returns how
 * many tenants ran (jobs that failed to bind do not count). */
static int run_round(mt_shared *s, mt_job **round, int n) {
  int ok = 0;
  for (int i = 0; i < n; i++) {
    round[i]->error = bind_job(s, round[i]);
    if (!round[i]->error) round[ok++] = round[i];
  }
  qsort(round, (size_t)ok, sizeof *round, by_tenant);
  if (ok && ok == mtrt_bundle_tenant_count(s->bundle)) {
    mtrt_status *st = mtrt_session_run(s->session, -1);
    if (st) {
      const char *m = mtrt_status_message(st);
      for (int i = 0; i < ok; i++) round[i]->error = mt_serving_msg("%s", m);
      mtrt_status_free(st);
    }
  } else {
    for (int i = 0; i < ok; i++) {
      mtrt_status *st = mtrt_session_run(s->session, round[i]->tenant);
      if (st) round[i]->error = from_status(st, "run");
    }
  }
  for (int i = 0; i < ok; i++) {
    round[i]->time_us = mtrt_session_tenant_time_us(s->session, round[i]->tenant);
    round[i]->round_tenants = ok;
  }
  return ok;
}

void mt_shared_run(mt_shared *s, mt_job **jobs, int n) {
  int nt = mtrt_bundle_tenant_count(s->bundle);
  mt_job **round = calloc((size_t)nt + 1, sizeof *round);
  uint8_t *taken = calloc((size_t)nt + 1, 1);
  if (!taken) {
    free(round);
    round = NULL;
  }
  pthread_mutex_lock(&s->mu);
  for (int i = 0; i < n; i++) {
    jobs[i]->done = false;
    jobs[i]->error = NULL;
    jobs[i]->next = NULL;
    if (!round || jobs[i]->tenant < 0 || jobs[i]->tenant >= nt) { /* fails alone, never queued */
      jobs[i]->error = round ? mt_serving_msg("tenant index %d is out of range", jobs[i]->tenant)
                             : mt_serving_msg("out of memory");
      jobs[i]->done = true;
      continue;
    }
    if (s->tail)
      s->tail->next = jobs[i];
    else
      s->head = jobs[i];
    s->tail = jobs[i];
  }
  for (;;) {
    bool all = true;
    for (int i = 0; i < n; i++) all = all && jobs[i]->done;
    if (all) break;
    if (s->busy) {
      pthread_cond_wait(&s->cv, &s->mu);
      continue;
    }
    /* Lead a round: the oldest queued job of each tenant. */
    int k = 0;
    memset(taken, 0, (size_t)nt + 1);
    for (mt_job **p = &s->head; *p;) {
      mt_job *j = *p;
      if (taken[j->tenant]) {
        p = &j->next;
        continue;
      }
      *p = j->next;
      round[k++] = j;
      taken[j->tenant] = 1;
      if (k == nt) break;
    }
    s->tail = NULL;
    for (mt_job *j = s->head; j; j = j->next) s->tail = j;
    s->busy = true;
    pthread_mutex_unlock(&s->mu);
    int ran = run_round(s, round, k);
    pthread_mutex_lock(&s->mu);
    s->rounds++;
    s->combined += ran > 1;
    for (int i = 0; i < k; i++) round[i]->done = true;
    s->busy = false;
    pthread_cond_broadcast(&s->cv);
  }
  pthread_mutex_unlock(&s->mu);
  free(round);
  free(taken);
}
