/* GPU sessions on real bundles (label gpu; exits 77 with the reason where there is no usable GPU):
 * outputs equal the CPU path's within 1e-4 relative (the CPU path is checked against ONNX Runtime
 * and the reference executor elsewhere; check_gpu_models.py compares the GPU with ONNX Runtime
 * directly); partitions hold the SMs the bundle grants (read back from the green contexts); the
 * round graph is instantiated once and replayed; independent arrivals and batched windows give
 * the round's outputs; device bindings give the host bindings' outputs; 1,000 session
 * create/destroy cycles leave device and host memory where they were; 8 threads with their own
 * sessions agree.
 *
 * usage: test_gpu_session BUNDLE.mtbundle...   (bundles compiled with --nvrtc)
 *        test_gpu_session --probe               (exit 77 printing why when there is no GPU)
 *        test_gpu_session --no-cycles BUNDLE...  (without the 1,000 create/destroy cycles) */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "mtrt.h"
#include "runtime/bundle/bundle.h"
#include "runtime/gpu/cuda_driver.h"
#include "runtime/gpu/gpu_session.h"

/* Host buffers for every port of every tenant. */
typedef struct io {
  int nt;
  void ***in, ***out;
  size_t **in_n, **out_n;
} io;

static void io_make(const mtrt_bundle *b, io *x, unsigned seed) {
  x->nt = mtrt_bundle_tenant_count(b);
  x->in = calloc((size_t)x->nt, sizeof *x->in);
  x->out = calloc((size_t)x->nt, sizeof *x->out);
  x->in_n = calloc((size_t)x->nt, sizeof *x->in_n);
  x->out_n = calloc((size_t)x->nt, sizeof *x->out_n);
  for (int t = 0; t < x->nt; t++) {
    int ni = mtrt_bundle_input_count(b, t), no = mtrt_bundle_output_count(b, t);
    x->in[t] = calloc((size_t)ni + 1, sizeof **x->in);
    x->in_n[t] = calloc((size_t)ni + 1, sizeof **x->in_n);
    x->out[t] = calloc((size_t)no + 1, sizeof **x->out);
    x->out_n[t] = calloc((size_t)no + 1, sizeof **x->out_n);
    for (int i = 0; i < ni; i++) {
      mtrt_port_info pi;
      mtrt_status_free(mtrt_bundle_input_info(b, t, i, &pi));
      x->in_n[t][i] = pi.nbytes;
      x->in[t][i] = calloc(pi.nbytes + 1, 1);
      /* floats in [-1, 1); integer inputs (ids, masks) stay small and valid: zeros and ones */
      if (pi.dtype == 1)
        for (size_t k = 0; k < pi.nbytes / 4; k++)
          ((float *)x->in[t][i])[k] =
              (float)((seed = seed * 1103515245u + 12345u) >> 9) / (float)(1u << 22) - 1.0f;
      else if (pi.dtype == 7)
        for (size_t k = 0; k < pi.nbytes / 8; k++) ((int64_t *)x->in[t][i])[k] = (int64_t)(k & 1);
    }
    for (int i = 0; i < no; i++) {
      mtrt_port_info pi;
      mtrt_status_free(mtrt_bundle_output_info(b, t, i, &pi));
      x->out_n[t][i] = pi.nbytes;
      x->out[t][i] = malloc(pi.nbytes + 1);
      memset(x->out[t][i], 0xff, pi.nbytes + 1); /* poison: every byte must be written */
    }
  }
}

static void io_free(io *x) {
  for (int t = 0; t < x->nt; t++) {
    for (size_t i = 0; x->in_n[t][i] || x->in[t][i]; i++) free(x->in[t][i]);
    for (size_t i = 0; x->out_n[t][i] || x->out[t][i]; i++) free(x->out[t][i]);
    free(x->in[t]);
    free(x->out[t]);
    free(x->in_n[t]);
    free(x->out_n[t]);
  }
  free(x->in);
  free(x->out);
  free(x->in_n);
  free(x->out_n);
}

static mtrt_status *bind_all(const mtrt_bundle *b, mtrt_session *s, io *x) {
  mtrt_status *st = NULL;
  for (int t = 0; !st && t < x->nt; t++) {
    for (int i = 0; !st && i < mtrt_bundle_input_count(b, t); i++) {
      mtrt_port_info pi;
      st = mtrt_bundle_input_info(b, t, i, &pi);
      if (!st) st = mtrt_session_bind_input(s, t, pi.name, x->in[t][i], pi.nbytes);
    }
    for (int i = 0; !st && i < mtrt_bundle_output_count(b, t); i++) {
      mtrt_port_info pi;
      st = mtrt_bundle_output_info(b, t, i, &pi);
      if (!st) st = mtrt_session_bind_output(s, t, pi.name, x->out[t][i], pi.nbytes);
    }
  }
  return st;
}

/* Relative error ||a - b|| / ||b|| over every float output (other dtypes: exact). */
static double rel_error(const mtrt_bundle *b, const io *got, const io *want) {
  double worst = 0;
  for (int t = 0; t < got->nt; t++)
    for (int i = 0; i < mtrt_bundle_output_count(b, t); i++) {
      mtrt_port_info pi;
      mtrt_status_free(mtrt_bundle_output_info(b, t, i, &pi));
      if (pi.dtype != 1) {
        if (memcmp(got->out[t][i], want->out[t][i], pi.nbytes)) worst = INFINITY;
        continue;
      }
      const float *g = got->out[t][i], *w = want->out[t][i];
      double num = 0, den = 0;
      for (size_t k = 0; k < pi.nbytes / 4; k++) {
        if (isnan(g[k]) != isnan(w[k])) return INFINITY;
        if (isnan(w[k])) continue;
        num += ((double)g[k] - w[k]) * ((double)g[k] - w[k]);
        den += (double)w[k] * w[k];
      }
      double e = den > 0 ? sqrt(num / den) : sqrt(num);
      if (e > worst) worst = e;
    }
  return worst;
}

static mtrt_session *session(const mtrt_bundle *b, mtrt_device_kind dev, mtrt_arrival arrival,
                             mtrt_status **out_st) {
  mtrt_session_options o;
  mtrt_session_options_init(&o);
  o.device = dev;
  o.arrival = arrival;
  mtrt_session *s = NULL;
  *out_st = mtrt_session_create(b, &o, &s);
  return s;
}

/* Runs b's tenants with inputs `seed` on a fresh session; outputs into *x. */
static mtrt_status *run_once(const mtrt_bundle *b, mtrt_device_kind dev, mtrt_arrival arrival,
                             unsigned seed, io *x, int rounds) {
  io_make(b, x, seed);
  mtrt_status *st = NULL;
  mtrt_session *s = session(b, dev, arrival, &st);
  if (!st) st = bind_all(b, s, x);
  for (int r = 0; !st && r < rounds; r++) {
    if (arrival == MTRT_ARRIVAL_ROUND) {
      st = mtrt_session_run(s, -1);
      continue;
    }
    for (int t = 0; !st && t < x->nt; t++) st = mtrt_session_run_async(s, t);
    if (!st) st = mtrt_session_wait(s);
  }
  if (!st && dev == MTRT_DEVICE_GPU && arrival == MTRT_ARRIVAL_ROUND)
    CHECK(mt_gpu_session_instantiations(mt_session_gpu(s)) == 1,
          "the round graph was instantiated %d times for %d rounds",
          mt_gpu_session_instantiations(mt_session_gpu(s)), rounds);
  mtrt_session_destroy(s);
  return st;
}

/* Tenant 0 alone in a batched window (the others masked out: their outputs stay poisoned), and
 * with its inputs and outputs bound to device memory: the round's outputs either way. */
static void check_masked_and_device(const mtrt_bundle *b, const io *want) {
  const mt_cu_api *cu;
  mt_status *cst = mt_cu_api_get(&cu);
  io x = {0};
  io_make(b, &x, 7);
  mtrt_status *st = NULL;
  mtrt_session *s = session(b, MTRT_DEVICE_GPU, MTRT_ARRIVAL_BATCHED_WINDOW, &st);
  if (!st) st = bind_all(b, s, &x);
  if (!st) st = mtrt_session_run_async(s, 0);
  if (!st) st = mtrt_session_wait(s);
  CHECK(!st, "batched window, tenant 0: %s", mtrt_status_message(st));
  for (int i = 0; !st && i < mtrt_bundle_output_count(b, 0); i++)
    CHECK(memcmp(x.out[0][i], want->out[0][i], x.out_n[0][i]) == 0, "tenant 0 output %d differs",
          i);
  for (int t = 1; !st && t < x.nt; t++)
    for (int i = 0; i < mtrt_bundle_output_count(b, t); i++)
      CHECK(x.out_n[t][i] == 0 || ((unsigned char *)x.out[t][i])[0] == 0xff,
            "tenant %d ran though masked out", t);
  /* device bindings for tenant 0 */
  int ni = mtrt_bundle_input_count(b, 0), no = mtrt_bundle_output_count(b, 0);
  CUdeviceptr *dev = calloc((size_t)(ni + no) + 1, sizeof *dev);
  for (int k = 0; !st && !cst && k < ni + no; k++) {
    bool in = k < ni;
    mtrt_port_info pi;
    mtrt_status_free(in ? mtrt_bundle_input_info(b, 0, k, &pi)
                        : mtrt_bundle_output_info(b, 0, k - ni, &pi));
    if (!pi.nbytes) continue;
    CHECK(cu->cuMemAlloc(&dev[k], pi.nbytes) == CUDA_SUCCESS, "cuMemAlloc");
    if (in) cu->cuMemcpyHtoD(dev[k], x.in[0][k], pi.nbytes);
    st = in ? mtrt_session_bind_input_device(s, 0, pi.name, dev[k], pi.nbytes)
            : mtrt_session_bind_output_device(s, 0, pi.name, dev[k], pi.nbytes);
  }
  if (!st && !cst) st = mtrt_session_run(s, 0);
  CHECK(!st, "device bindings: %s", mtrt_status_message(st));
  for (int k = ni; !st && !cst && k < ni + no; k++) {
    size_t n = x.out_n[0][k - ni];
    unsigned char *host = malloc(n + 1);
    if (n) cu->cuMemcpyDtoH(host, dev[k], n);
    CHECK(!n || memcmp(host, want->out[0][k - ni], n) == 0,
          "output %d through device memory differs", k - ni);
    free(host);
  }
  for (int k = 0; !cst && k < ni + no; k++)
    if (dev[k]) cu->cuMemFree(dev[k]);
  free(dev);
  mt_status_free(cst);
  mtrt_status_free(st);
  mtrt_session_destroy(s);
  io_free(&x);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Per arrival mode: the median wall time of a round (every tenant once) and each tenant's
 * median measured latency next to its prediction, over 30 rounds after 5 warm-up rounds. */
static void time_arrivals(const mtrt_bundle *b) {
  enum { WARM = 5, ROUNDS = 30 };
  static const char *names[] = {"round", "independent", "batched-window"};
  int nt = mtrt_bundle_tenant_count(b);
  printf("  %-15s %12s", "arrival", "round us");
  for (int t = 0; t < nt; t++) printf("  %14.14s", mtrt_bundle_tenant_name(b, t));
  printf("\n");
  for (int a = 0; a < 3; a++) {
    io x = {0};
    io_make(b, &x, 11);
    mtrt_status *st = NULL;
    mtrt_session *s = session(b, MTRT_DEVICE_GPU, (mtrt_arrival)a, &st);
    if (!st) st = bind_all(b, s, &x);
    double wall[ROUNDS], *lat = calloc((size_t)nt * ROUNDS + 1, sizeof *lat);
    for (int r = 0; !st && r < WARM + ROUNDS; r++) {
      double t0 = now_us();
      if (a == MTRT_ARRIVAL_ROUND) {
        st = mtrt_session_run(s, -1);
      } else {
        for (int t = 0; !st && t < nt; t++) st = mtrt_session_run_async(s, t);
        if (!st) st = mtrt_session_wait(s);
      }
      if (r < WARM) continue;
      wall[r - WARM] = now_us() - t0;
      for (int t = 0; t < nt; t++) lat[t * ROUNDS + r - WARM] = mtrt_session_tenant_time_us(s, t);
    }
    if (st) {
      printf("  %-15s %s\n", names[a], mtrt_status_message(st));
      failures++;
    } else {
      qsort(wall, ROUNDS, sizeof *wall, cmp_double);
      printf("  %-15s %12.1f", names[a], wall[ROUNDS / 2]);
      for (int t = 0; t < nt; t++) {
        qsort(lat + t * ROUNDS, ROUNDS, sizeof *lat, cmp_double);
        printf("  %6.1f/%7.1f", lat[t * ROUNDS + ROUNDS / 2],
               mtrt_session_tenant_predicted_us(s, t));
      }
      printf("   (measured/predicted us, medians)\n");
    }
    free(lat);
    mtrt_status_free(st);
    mtrt_session_destroy(s);
    io_free(&x);
  }
}

typedef struct thread_job {
  const mtrt_bundle *b;
  const io *want;
  double err;
  char error[256];
} thread_job;

static void *thread_main(void *arg) {
  thread_job *j = arg;
  io x;
  mtrt_status *st = run_once(j->b, MTRT_DEVICE_GPU, MTRT_ARRIVAL_ROUND, 7, &x, 10);
  if (st) snprintf(j->error, sizeof j->error, "%s", mtrt_status_message(st));
  mtrt_status_free(st);
  j->err = st ? INFINITY : rel_error(j->b, &x, j->want);
  io_free(&x);
  return NULL;
}

static size_t device_free_bytes(void) {
  const mt_cu_api *cu;
  mt_status *st = mt_cu_api_get(&cu);
  size_t free_b = 0, total = 0;
  if (!st) cu->cuMemGetInfo(&free_b, &total);
  mt_status_free(st);
  return free_b;
}

static long rss_pages(void) {
  long size = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f && fscanf(f, "%ld %ld", &size, &rss) != 2) rss = 0;
  if (f) fclose(f);
  return rss;
}

/* Returns 77 when the GPU path is unavailable (printing why), else the number of failures. */
static int check_bundle(const char *path, bool cycles) {
  mtrt_bundle *b = NULL;
  mtrt_status *st = mtrt_bundle_open(path, NULL, &b);
  if (st) {
    fprintf(stderr, "%s: %s\n", path, mtrt_status_message(st));
    mtrt_status_free(st);
    return 1;
  }
  mtrt_session *probe = session(b, MTRT_DEVICE_GPU, MTRT_ARRIVAL_ROUND, &st);
  if (st) {
    int code = mtrt_status_code_of(st) == MTRT_UNAVAILABLE ? 77 : 1;
    printf("%s: %s: %s\n", code == 77 ? "skipped" : "FAIL", path, mtrt_status_message(st));
    mtrt_status_free(st);
    mtrt_bundle_close(b);
    return code;
  }
  printf("%s: %s\n", path, mtrt_session_device_note(probe));
  for (int p = 0; p < mtrt_bundle_partition_count(b); p++) {
    mtrt_partition_info pi;
    mtrt_status_free(mtrt_session_partition_info(probe, p, &pi));
    printf("  partition %s: granted %d SMs, holds %d (%s)\n", pi.name, pi.granted_sms,
           pi.actual_sms, pi.hard ? "hard" : "soft");
    if (pi.hard)
      CHECK(pi.actual_sms == pi.granted_sms, "partition %s holds %d SMs, granted %d", pi.name,
            pi.actual_sms, pi.granted_sms);
  }
  mtrt_session_destroy(probe);

  io cpu = {0}, gpu = {0}, indep = {0}, window = {0};
  st = run_once(b, MTRT_DEVICE_CPU, MTRT_ARRIVAL_ROUND, 7, &cpu, 1);
  if (!st) st = run_once(b, MTRT_DEVICE_GPU, MTRT_ARRIVAL_ROUND, 7, &gpu, 5);
  if (!st) st = run_once(b, MTRT_DEVICE_GPU, MTRT_ARRIVAL_INDEPENDENT, 7, &indep, 3);
  if (!st) st = run_once(b, MTRT_DEVICE_GPU, MTRT_ARRIVAL_BATCHED_WINDOW, 7, &window, 3);
  CHECK(!st, "%s", mtrt_status_message(st));
  if (!st) {
    double e = rel_error(b, &gpu, &cpu);
    printf("  gpu vs cpu: relative error %.3g\n", e);
    CHECK(e <= 1e-4, "gpu outputs differ from the cpu path's: %g", e);
    CHECK(rel_error(b, &indep, &gpu) == 0, "independent arrivals differ from rounds");
    CHECK(rel_error(b, &window, &gpu) == 0, "batched windows differ from rounds");
    check_masked_and_device(b, &gpu);
    time_arrivals(b);
    mtrt_session *last = session(b, MTRT_DEVICE_GPU, MTRT_ARRIVAL_ROUND, &st);
    if (!st) {
      io y = {0};
      io_make(b, &y, 7);
      st = bind_all(b, last, &y);
      if (!st) st = mtrt_session_run(last, -1);
      printf("  after a round: %s\n", mtrt_session_device_note(last));
      io_free(&y);
    }
    mtrt_session_destroy(last);

    /* 8 threads, each with its own GPU session */
    pthread_t th[8];
    thread_job jobs[8];
    for (int i = 0; i < 8; i++) {
      jobs[i] = (thread_job){.b = b, .want = &gpu};
      pthread_create(&th[i], NULL, thread_main, &jobs[i]);
    }
    for (int i = 0; i < 8; i++) {
      pthread_join(th[i], NULL);
      CHECK(jobs[i].err <= 1e-6, "thread %d: error %g %s", i, jobs[i].err, jobs[i].error);
    }
  }
  if (!st && cycles) {
    /* 1,000 create/destroy cycles: no growth of device or host memory. A session stays open
     * meanwhile, so the primary context is not torn down and rebuilt each cycle. */
    mtrt_session *warm = session(b, MTRT_DEVICE_GPU, MTRT_ARRIVAL_ROUND, &st);
    mtrt_session_destroy(session(b, MTRT_DEVICE_GPU, MTRT_ARRIVAL_ROUND, &st));
    size_t dev0 = device_free_bytes();
    long rss0 = rss_pages();
    for (int i = 0; !st && i < 1000; i++) mtrt_session_destroy(session(b, MTRT_DEVICE_GPU, 0, &st));
    size_t dev1 = device_free_bytes();
    long rss1 = rss_pages();
    printf("  1000 sessions: device free %zu -> %zu bytes, host rss %ld -> %ld pages\n", dev0, dev1,
           rss0, rss1);
    CHECK(!st, "create/destroy: %s", mtrt_status_message(st));
    CHECK(dev1 + (8u << 20) >= dev0, "device memory grew by %zu bytes", dev0 - dev1);
    CHECK(rss1 - rss0 < 2560, "host memory grew by %ld pages", rss1 - rss0);
    mtrt_session_destroy(warm);
  }
  mtrt_status_free(st);
  io_free(&cpu);
  io_free(&gpu);
  io_free(&indep);
  io_free(&window);
  mtrt_bundle_close(b);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive a timeout's kill */
  if (argc < 2) {
    fprintf(stderr, "usage: test_gpu_session BUNDLE.mtbundle... | --probe\n");
    return 2;
  }
  if (strcmp(argv[1], "--probe") == 0) {
    const mt_cu_api *cu;
    mt_status *st = mt_cu_api_get(&cu);
    printf("%s: %s\n", st ? "skipped" : "gpu", st ? mt_status_message(st) : mt_cu_describe());
    int code = st ? 77 : 0;
    mt_status_free(st);
    return code;
  }
  int first = 1;
  bool no_cycles = strcmp(argv[1], "--no-cycles") == 0;
  if (no_cycles) first = 2;
  /* the create/destroy cycles on the smallest bundle only: they cost device time */
  int smallest = no_cycles ? -1 : first;
  off_t least = -1;
  for (int i = first; !no_cycles && i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) == 0 && (least < 0 || sb.st_size < least)) {
      least = sb.st_size;
      smallest = i;
    }
  }
  for (int i = first; i < argc; i++) {
    int r = check_bundle(argv[i], i == smallest);
    if (r == 77) return 77;
    failures += r;
  }
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("gpu sessions: %d bundle(s) checked\n", argc - first);
  return 0;
}
