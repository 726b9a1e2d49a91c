/* The CPU session's group scheduler (see cpu_schedule.h): a dependency count per group, a FIFO of
 * ready groups and one mutex + condition variable shared by the caller and the workers. Groups
 * are coarse (whole kernels), so one lock is no bottleneck at the handful of threads a session
 * uses. */
#include "runtime/bundle/cpu_schedule.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Most worker threads a session starts, whatever it asks for. */
#define MAX_THREADS 64

struct mt_cpu_schedule {
  size_t n_groups;
  int *n_deps;     /* per group: how many groups it waits for */
  size_t *succ_at; /* successors of g: succ[succ_at[g] .. succ_at[g + 1]) */
  size_t *succ;

  pthread_mutex_t mu;
  pthread_cond_t changed; /* any change of the run's state below */
  pthread_t *threads;
  int n_threads; /* workers started (the caller is not counted) */
  bool shutdown;

  /* the run in progress */
  bool active;
  mt_cpu_group_fn fn;
  void *ctx;
  int *remaining;
  size_t *queue, q_head, q_tail;
  int in_flight;
  mt_status *err;
  size_t err_group;
};

/* With the lock held: takes the next ready group, runs it unlocked, then releases the groups
 * that waited for it. Returns with the lock held. */
static void run_one(mt_cpu_schedule *s) {
  size_t g = s->queue[s->q_head++];
  s->in_flight++;
  pthread_mutex_unlock(&s->mu);
  mt_status *st = s->fn(s->ctx, g);
  pthread_mutex_lock(&s->mu);
  s->in_flight--;
  if (st) {
    if (!s->err || g < s->err_group) {
      mt_status_free(s->err);
      s->err = st;
      s->err_group = g;
    } else {
      mt_status_free(st);
    }
    s->q_head = s->q_tail; /* start nothing more */
  } else if (!s->err) {
    for (size_t k = s->succ_at[g]; k < s->succ_at[g + 1]; k++)
      if (--s->remaining[s->succ[k]] == 0) s->queue[s->q_tail++] = s->succ[k];
  }
  if (s->q_head == s->q_tail && s->in_flight == 0) s->active = false;
  /* This thread takes the next ready group itself; wake the others only for a second one, or
   * for the run's end (the caller waits for it). Waking them for every group of a chain (one
   * model: every group) cost a futex call per group and woke a thread that took a core from the
   * kernel pool's worker only to sleep again (issue 14). */
  if (!s->active || s->q_tail - s->q_head > 1) pthread_cond_broadcast(&s->changed);
}

static void *worker(void *arg) {
  mt_cpu_schedule *s = arg;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (!s->shutdown && !(s->active && s->q_head < s->q_tail))
      pthread_cond_wait(&s->changed, &s->mu);
    if (s->shutdown) break;
    run_one(s);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

/* A group's place in its stream: groups of one (partition, stream) sort together, by index. */
typedef struct stream_key {
  int32_t partition, stream;
  size_t group;
} stream_key;

static int by_stream(const void *pa, const void *pb) {
  const stream_key *a = pa, *b = pb;
  if (a->partition != b->partition) return a->partition < b->partition ? -1 : 1;
  if (a->stream != b->stream) return a->stream < b->stream ? -1 : 1;
  return a->group < b->group ? -1 : a->group > b->group;
}

/* prev[g]: the group before g on the same partition and stream, or SIZE_MAX. Sorting keeps this
 * O(n log n) for hostile group counts. */
static bool stream_predecessors(const Mtbundle__Manifest *m, size_t *prev) {
  size_t n = m->n_groups;
  stream_key *keys = malloc((n + 1) * sizeof *keys);
  if (!keys) return false;
  for (size_t g = 0; g < n; g++)
    keys[g] = (stream_key){m->groups[g]->partition, m->groups[g]->stream, g};
  qsort(keys, n, sizeof *keys, by_stream);
  for (size_t i = 0; i < n; i++) {
    bool same =
        i && keys[i - 1].partition == keys[i].partition && keys[i - 1].stream == keys[i].stream;
    prev[keys[i].group] = same ? keys[i - 1].group : SIZE_MAX;
  }
  free(keys);
  return true;
}

/* Calls add(g, dep) for every dependency of every group. A dependency named twice (a repeated
 * wait, or a wait on the stream predecessor) is simply counted twice and released twice. */
static void for_each_dep(const Mtbundle__Manifest *m, const size_t *prev,
                         void (*add)(mt_cpu_schedule *, size_t, size_t), mt_cpu_schedule *s) {
  for (size_t g = 0; g < m->n_groups; g++) {
    if (prev[g] != SIZE_MAX) add(s, g, prev[g]);
    for (size_t w = 0; w < m->groups[g]->n_waits; w++) add(s, g, (size_t)m->groups[g]->waits[w]);
  }
}

static void count_dep(mt_cpu_schedule *s, size_t g, size_t dep) {
  s->n_deps[g]++;
  s->succ_at[dep + 1]++;
}

static void place_dep(mt_cpu_schedule *s, size_t g, size_t dep) {
  s->succ[s->succ_at[dep] + (size_t)s->remaining[dep]++] = g;
}

mt_status *mt_cpu_schedule_create(const Mtbundle__Manifest *m, int n_threads,
                                  mt_cpu_schedule **out) {
  *out = NULL;
  mt_cpu_schedule *s = calloc(1, sizeof *s);
  if (!s) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  size_t n = m->n_groups;
  s->n_groups = n;
  s->n_deps = calloc(n + 1, sizeof *s->n_deps);
  s->remaining = calloc(n + 1, sizeof *s->remaining);
  s->succ_at = calloc(n + 2, sizeof *s->succ_at);
  s->queue = calloc(n + 1, sizeof *s->queue);
  size_t *prev = calloc(n + 1, sizeof *prev);
  if (!s->n_deps || !s->remaining || !s->succ_at || !s->queue || !prev ||
      !stream_predecessors(m, prev)) {
    free(prev);
    mt_cpu_schedule_destroy(s);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for the schedule of %zu groups", n);
  }
  for_each_dep(m, prev, count_dep, s);
  for (size_t g = 0; g < n; g++) s->succ_at[g + 1] += s->succ_at[g];
  s->succ = calloc(s->succ_at[n] + 1, sizeof *s->succ);
  if (!s->succ) {
    free(prev);
    mt_cpu_schedule_destroy(s);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for the schedule of %zu groups", n);
  }
  for_each_dep(m, prev, place_dep, s); /* remaining[] counts placed successors, reset per run */
  free(prev);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->changed, NULL);
  int workers = n_threads > MAX_THREADS ? MAX_THREADS - 1 : n_threads - 1;
  mt_status *st = workers > 0 ? mt_cpu_plan_check_races(m, s->succ_at, s->succ) : NULL;
  if (st) {
    mt_cpu_schedule_destroy(s);
    return st;
  }
  if (workers > 0) {
    s->threads = calloc((size_t)workers, sizeof *s->threads);
    if (!s->threads) {
      mt_cpu_schedule_destroy(s);
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for %d threads", workers);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, MT_CPU_THREAD_STACK);
    for (; s->n_threads < workers; s->n_threads++)
      if (pthread_create(&s->threads[s->n_threads], &attr, worker, s) != 0) {
        pthread_attr_destroy(&attr);
        mt_cpu_schedule_destroy(s);
        return MT_ERR(RESOURCE_EXHAUSTED, "cannot start CPU worker thread %d of %d",
                      s->n_threads + 1, workers);
      }
    pthread_attr_destroy(&attr);
  }
  *out = s;
  return NULL;
}

void mt_cpu_schedule_destroy(mt_cpu_schedule *s) {
  if (!s) return;
  if (s->threads) {
    pthread_mutex_lock(&s->mu);
    s->shutdown = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_threads; i++) pthread_join(s->threads[i], NULL);
  }
  if (s->succ) { /* the lock exists once the dependencies were placed */
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->mu);
  }
  free(s->threads);
  free(s->n_deps);
  free(s->remaining);
  free(s->succ_at);
  free(s->succ);
  free(s->queue);
  free(s);
}

mt_status *mt_cpu_schedule_run(mt_cpu_schedule *s, mt_cpu_group_fn fn, void *ctx) {
  if (s->n_threads == 0) { /* schedule order is a dependency order */
    for (size_t g = 0; g < s->n_groups; g++) MT_RETURN_IF_ERROR_PLAIN(fn(ctx, g));
    return NULL;
  }
  pthread_mutex_lock(&s->mu);
  s->fn = fn;
  s->ctx = ctx;
  s->err = NULL;
  s->q_head = s->q_tail = 0;
  s->in_flight = 0;
  for (size_t g = 0; g < s->n_groups; g++) {
    s->remaining[g] = s->n_deps[g];
    if (s->n_deps[g] == 0) s->queue[s->q_tail++] = g;
  }
  s->active = s->q_tail > 0;
  pthread_cond_broadcast(&s->changed);
  while (s->active) {
    if (s->q_head < s->q_tail)
      run_one(s);
    else
      pthread_cond_wait(&s->changed, &s->mu);
  }
  mt_status *st = s->err;
  s->err = NULL;
  pthread_mutex_unlock(&s->mu);
  return st;
}
