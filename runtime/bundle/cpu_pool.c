/* The kernel-splitting pool (cpu_pool.h). A kernel's work is cut into `shares` calls
 * fn(args, share, shares) (items share, share + shares, ...: which items a call runs depends only
 * on the share, never on the thread that makes it). A job is announced by bumping the generation
 * in `ticket`; the caller and the workers then CLAIM shares from it (one fetch_add each) until
 * none is left, and the caller waits only for shares that another thread has claimed and not yet
 * finished. So a worker that is asleep, descheduled or late costs the caller nothing: it runs
 * the unclaimed shares itself (issue 14: with static shares, every kernel of EfficientNet-B0's 116
 * waited for the worker's wake-up, and the small ones, half of them, got slower at 2 threads).
 * A try-lock admits one caller at a time; the others run all their kernel's shares themselves.
 *
 * A round is tens of kernels back to back (MobileNetV2: 55), so the hand-off is on the critical
 * path: workers wait actively a short while on the generation before they block (spin_step:
 * pauses, then yields, so that on a machine with more runnable threads than cores the waiter
 * hands its core over instead of keeping the thread it waits for off it: pure pause loops
 * measured up to 10x slower than blocking there). The mutex and condition variables remain for
 * the sleeping case, and a signal costs no system call while nobody sleeps. */
#include "runtime/bundle/cpu_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/* How long a thread waits actively before it blocks: SPIN_PAUSES pause loops, then SPIN_YIELDS
 * sched_yield calls (which hand the core to a runnable thread, such as the one being waited for
 * on a machine with more threads than cores, and return at once otherwise). */
#define SPIN_PAUSES 64
#define SPIN_YIELDS 32

/* Step i of an active wait; false when it is over and the thread should block. */
static bool spin_step(int i) {
  if (i < SPIN_PAUSES) {
    CPU_RELAX();
    return true;
  }
  if (i < SPIN_PAUSES + SPIN_YIELDS) {
    sched_yield();
    return true;
  }
  return false;
}

#include "runtime/bundle/cpu_schedule.h" /* MT_CPU_THREAD_STACK */

#define MAX_THREADS 64
/* Shares per thread: more than one, so that a thread that finishes early (or a caller whose
 * worker starts late) takes over the rest instead of waiting. */
#define SHARES_PER_THREAD 2
/* ticket = generation << TICKET_BITS | next unclaimed share; at most shares + threads claims per
 * job, far below 1 << TICKET_BITS. */
#define TICKET_BITS 16

typedef struct worker_arg {
  struct mt_cpu_pool *pool;
  int index; /* 1 .. n - 1 */
} worker_arg;

struct mt_cpu_pool {
  int n;                /* threads per kernel, the caller included */
  int shares;           /* calls per kernel: n * SHARES_PER_THREAD (1 when n == 1) */
  pthread_mutex_t user; /* held by the caller whose kernel the workers run */
  pthread_mutex_t mu;   /* guards the sleeping below */
  pthread_cond_t start; /* generation changed or shutdown */
  pthread_cond_t done;  /* finished reached shares */
  /* generation and next share (TICKET_BITS); its release store by the caller publishes fn, args
   * and the reset of finished, and a job's fields stay put until all its shares have finished */
  _Atomic uint64_t ticket;
  atomic_int finished; /* shares of the current job done */
  atomic_bool shutdown;
  mt_cpu_kernel_fn fn;
  void *const *args;
  pthread_t *threads;
  worker_arg *wargs;
  int started;
};

static uint64_t generation_of(uint64_t ticket) { return ticket >> TICKET_BITS; }

/* Waits for a generation other than seen (or shutdown): spinning first, then asleep. */
static uint64_t next_generation(mt_cpu_pool *p, uint64_t seen) {
  for (int i = 0;; i++) {
    uint64_t g = generation_of(atomic_load_explicit(&p->ticket, memory_order_acquire));
    if (g != seen || atomic_load_explicit(&p->shutdown, memory_order_relaxed)) return g;
    if (!spin_step(i)) break;
  }
  pthread_mutex_lock(&p->mu);
  while (!atomic_load(&p->shutdown) && generation_of(atomic_load(&p->ticket)) == seen)
    pthread_cond_wait(&p->start, &p->mu);
  uint64_t g = generation_of(atomic_load(&p->ticket));
  pthread_mutex_unlock(&p->mu);
  return g;
}

/* Claims and runs shares of the current job until none is left; returns the generation of the
 * last claim. A claim that lands in a newer job than the one the thread woke for is still a
 * share of that job (its fields were published before its ticket), so it is simply run. */
static uint64_t run_shares(mt_cpu_pool *p) {
  for (;;) {
    uint64_t t = atomic_fetch_add_explicit(&p->ticket, 1, memory_order_acq_rel);
    int share = (int)(t & ((1u << TICKET_BITS) - 1));
    if (share >= p->shares) return generation_of(t);
    p->fn(p->args, share, p->shares);
    if (atomic_fetch_add_explicit(&p->finished, 1, memory_order_acq_rel) + 1 == p->shares) {
      /* the caller may be asleep: signal under the mutex it checks finished with */
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

static void *worker(void *arg) {
  worker_arg *wa = arg;
  mt_cpu_pool *p = wa->pool;
  uint64_t seen = 0;
  for (;;) {
    seen = next_generation(p, seen);
    if (atomic_load(&p->shutdown)) break;
    seen = run_shares(p);
  }
  return NULL;
}

mt_status *mt_cpu_pool_create(int n_threads, mt_cpu_pool **out) {
  *out = NULL;
  mt_cpu_pool *p = calloc(1, sizeof *p);
  if (!p) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  p->n = n_threads < 1 ? 1 : n_threads > MAX_THREADS ? MAX_THREADS : n_threads;
  p->shares = p->n == 1 ? 1 : p->n * SHARES_PER_THREAD;
  pthread_mutex_init(&p->user, NULL);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->start, NULL);
  pthread_cond_init(&p->done, NULL);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, MT_CPU_THREAD_STACK);
  if (p->n > 1) {
    p->threads = calloc((size_t)p->n, sizeof *p->threads);
    p->wargs = calloc((size_t)p->n, sizeof *p->wargs);
    if (!p->threads || !p->wargs) {
      pthread_attr_destroy(&attr);
      mt_cpu_pool_destroy(p);
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for %d kernel threads", p->n);
    }
    for (; p->started < p->n - 1; p->started++) {
      p->wargs[p->started] = (worker_arg){p, p->started + 1};
      if (pthread_create(&p->threads[p->started], &attr, worker, &p->wargs[p->started]) != 0) {
        pthread_attr_destroy(&attr);
        mt_cpu_pool_destroy(p);
        return MT_ERR(RESOURCE_EXHAUSTED, "cannot start CPU kernel thread %d of %d", p->started + 1,
                      p->n - 1);
      }
    }
  }
  pthread_attr_destroy(&attr);
  *out = p;
  return NULL;
}

void mt_cpu_pool_destroy(mt_cpu_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->shutdown, true);
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->start);
  pthread_mutex_destroy(&p->mu);
  pthread_mutex_destroy(&p->user);
  free(p->threads);
  free(p->wargs);
  free(p);
}

int mt_cpu_pool_threads(const mt_cpu_pool *p) { return p ? p->n : 1; }

void mt_cpu_pool_run(mt_cpu_pool *p, mt_cpu_kernel_fn fn, void *const *args) {
  int n = mt_cpu_pool_threads(p);
  if (n == 1 || pthread_mutex_trylock(&p->user) != 0) {
    int shares = p ? p->shares : 1;
    for (int t = 0; t < shares; t++) fn(args, t, shares); /* alone, or the pool is busy */
    return;
  }
  /* No share of the previous job is outstanding (the caller waited for all of them), so nobody
   * reads fn, args or finished until the new ticket is visible. */
  p->fn = fn;
  p->args = args;
  atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
  uint64_t gen = generation_of(atomic_load_explicit(&p->ticket, memory_order_relaxed)) + 1;
  pthread_mutex_lock(&p->mu); /* a worker checks the generation under it before it sleeps */
  atomic_store_explicit(&p->ticket, gen << TICKET_BITS, memory_order_release);
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  run_shares(p);
  int spins = 0;
  while (atomic_load_explicit(&p->finished, memory_order_acquire) < p->shares && spin_step(spins))
    spins++;
  if (atomic_load_explicit(&p->finished, memory_order_acquire) < p->shares) {
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->finished) < p->shares) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
  pthread_mutex_unlock(&p->user);
}
