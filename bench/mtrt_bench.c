/* mtrt_bench: times one .mtbundle through libmtrt as an application would (include/mtrt.h and
 * libmtrt only; no compiler code), for scripts/bench_gpu.py and scripts/gpu_proof.sh.
 *
 * usage: mtrt_bench BUNDLE [--device cpu|gpu|auto] [--modes round,independent,window,standalone]
 *                   [--warmup N] [--rounds N] [--max-seconds S] [--cpu-threads N]
 *
 * Loads the bundle (timed), creates a session (timed), binds every input to deterministic data
 * (floats in [-1, 1), integers 1: a valid token id, segment and mask for BERT-like tenants) and
 * every output to host memory, then per mode warms up and runs rounds:
 *   round        every tenant at once (mtrt_session_run(s, -1), arrival ROUND where the library
 *                has arrival modes): round makespan, per-tenant times inside the round;
 *   independent  each tenant as its own request (arrival INDEPENDENT; all started, then waited
 *                for, where the library has asynchronous runs);
 *   window       the same requests under arrival BATCHED_WINDOW (libraries with arrival modes);
 *   standalone   each tenant alone, all its rounds before the next tenant's (the "alone"
 *                latency concurrency efficiency and isolation ratios divide by).
 * Prints one JSON object on stdout: load and create times, per mode the makespan median/p99/mean
 * over the rounds, throughput, per-tenant p50/p99 (the library's per-tenant times) and the
 * process's peak resident memory. A mode stops early once --max-seconds of its rounds have
 * passed (the JSON says how many rounds ran), and so does its warm-up, so a slow device cannot
 * blow a time budget.
 * Errors: one line `mtrt_bench: error: ...` on stderr, exit 1. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mtrt.h"

/* The GPU runtime's additions to include/mtrt.h (arrival modes, asynchronous runs, the device
 * note, SM budgets read back, predicted times) came with header version 2.0.0; cpu_threads with
 * ABI 2 alone. Older headers build the CPU-only subset. */
#define MTRT_BENCH_GPU_API (MTRT_VERSION_NUMBER >= 2000)

typedef struct bench_args {
  const char *bundle;
  const char *device;
  const char *modes;
  int warmup, rounds, cpu_threads;
  double max_seconds;
} bench_args;

typedef struct bench {
  mtrt_bundle *b;
  mtrt_session *s;
  int n_tenants;
  void **buffers; /* every bound input and output, freed at the end */
  int n_buffers;
} bench;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int fail(const char *what, mtrt_status *st) {
  fprintf(stderr, "mtrt_bench: error: %s: %s\n", what, st ? mtrt_status_message(st) : "failed");
  mtrt_status_free(st);
  return 1;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of n sorted values, nearest rank. */
static double quantile(const double *sorted, int n, double q) {
  if (n <= 0) return 0;
  int i = (int)ceil(q * n) - 1;
  if (i < 0) i = 0;
  if (i >= n) i = n - 1;
  return sorted[i];
}

/* Writes {"median":..,"p99":..,"mean":..,"min":..,"max":..} of v[0..n) (sorted in place). */
static void print_stats(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  double sum = 0;
  for (int i = 0; i < n; i++) sum += v[i];
  printf("{\"median\": %.3f, \"p50\": %.3f, \"p99\": %.3f, \"mean\": %.3f, \"min\": %.3f, "
         "\"max\": %.3f}",
         quantile(v, n, 0.5), quantile(v, n, 0.5), quantile(v, n, 0.99), n ? sum / n : 0,
         n ? v[0] : 0, n ? v[n - 1] : 0);
}

/* Deterministic data of a port's dtype: floats spread over [-1, 1), integers and bools 1. */
static void fill(void *data, const mtrt_port_info *pi, uint32_t seed) {
  size_t n = pi->nbytes;
  switch (pi->dtype) {
  case 1: { /* float32 */
    float *f = data;
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n / 4; i++) {
      x = x * 1664525u + 1013904223u;
      f[i] = (float)((double)(x >> 8) / (double)(1u << 23) - 1.0);
    }
    break;
  }
  case 7: /* int64 */
    for (size_t i = 0; i < n / 8; i++) ((int64_t *)data)[i] = 1;
    break;
  case 6: /* int32 */
    for (size_t i = 0; i < n / 4; i++) ((int32_t *)data)[i] = 1;
    break;
  case 9: /* bool */
  case 2: /* uint8 */
  case 3: /* int8 */ memset(data, 1, n); break;
  default: /* float16 and anything else: zeros are valid in every dtype */ memset(data, 0, n);
  }
}

static mtrt_status *bind_all(bench *bn) {
  int total = 0;
  for (int t = 0; t < bn->n_tenants; t++)
    total += mtrt_bundle_input_count(bn->b, t) + mtrt_bundle_output_count(bn->b, t);
  bn->buffers = calloc((size_t)total + 1, sizeof *bn->buffers);
  if (!bn->buffers) return NULL; /* reported by the caller as out of memory */
  for (int t = 0; t < bn->n_tenants; t++) {
    for (int pass = 0; pass < 2; pass++) {
      int n = pass ? mtrt_bundle_output_count(bn->b, t) : mtrt_bundle_input_count(bn->b, t);
      for (int i = 0; i < n; i++) {
        mtrt_port_info pi;
        mtrt_status *st = pass ? mtrt_bundle_output_info(bn->b, t, i, &pi)
                               : mtrt_bundle_input_info(bn->b, t, i, &pi);
        if (st) return st;
        void *data = calloc(1, pi.nbytes ? pi.nbytes : 1);
        if (!data) return NULL;
        bn->buffers[bn->n_buffers++] = data;
        if (pass) {
          st = mtrt_session_bind_output(bn->s, t, pi.name, data, pi.nbytes);
        } else {
          fill(data, &pi, (uint32_t)(t * 131 + i));
          st = mtrt_session_bind_input(bn->s, t, pi.name, data, pi.nbytes);
        }
        if (st) return st;
      }
    }
  }
  return NULL;
}

/* One request: every tenant (round), each tenant as its own request (independent, window), or
 * tenant `only`. Where the library has asynchronous runs, the independent requests are all
 * started before any is waited for, as requests arriving together would be. */
static mtrt_status *run_once(bench *bn, const char *mode, int only) {
  if (only >= 0) return mtrt_session_run(bn->s, only);
  if (strcmp(mode, "round") == 0) return mtrt_session_run(bn->s, -1);
  for (int t = 0; t < bn->n_tenants; t++) {
#if MTRT_BENCH_GPU_API
    mtrt_status *st = mtrt_session_run_async(bn->s, t);
#else
    mtrt_status *st = mtrt_session_run(bn->s, t);
#endif
    if (st) return st;
  }
#if MTRT_BENCH_GPU_API
  return mtrt_session_wait(bn->s);
#else
  return NULL;
#endif
}

/* The session's own account of how it runs (device note, SM budgets granted and read back). */
static void print_session_info(bench *bn) {
#if MTRT_BENCH_GPU_API
  printf(", \"note\": \"");
  for (const char *c = mtrt_session_device_note(bn->s); c && *c; c++)
    if (*c == '"' || *c == '\\')
      printf("\\%c", *c);
    else if ((unsigned char)*c >= 0x20)
      putchar(*c);
  printf("\", \"partitions\": [");
  for (int p = 0; p < mtrt_bundle_partition_count(bn->b); p++) {
    mtrt_partition_info pi;
    mtrt_status *st = mtrt_session_partition_info(bn->s, p, &pi);
    if (st) {
      mtrt_status_free(st);
      continue;
    }
    printf("%s{\"granted_sms\": %d, \"actual_sms\": %d, \"hard\": %d}", p ? ", " : "",
           pi.granted_sms, pi.actual_sms, pi.hard);
  }
  printf("]");
#else
  (void)bn;
#endif
}

/* Warm-up and timed rounds of one mode (only >= 0: that tenant alone). Fills makespans[] and
 * per-tenant times tenant_us[t * rounds + r]; returns the rounds that ran in *out_n. */
static mtrt_status *measure(bench *bn, const bench_args *a, const char *mode, int only,
                            double *makespans, double *tenant_us, int *out_n) {
  *out_n = 0;
  /* warm-up has its own --max-seconds too: on a slow device it would otherwise outlast the
   * budget before a single timed round */
  double warm_start = now_us();
  for (int i = 0; i < a->warmup; i++) {
    mtrt_status *st = run_once(bn, mode, only);
    if (st) return st;
    if (a->max_seconds > 0 && now_us() - warm_start > a->max_seconds * 1e6) break;
  }
  double start = now_us();
  for (int r = 0; r < a->rounds; r++) {
    double t0 = now_us();
    mtrt_status *st = run_once(bn, mode, only);
    if (st) return st;
    makespans[r] = now_us() - t0;
    for (int t = 0; t < bn->n_tenants; t++)
      tenant_us[(size_t)t * (size_t)a->rounds + (size_t)r] = mtrt_session_tenant_time_us(bn->s, t);
    *out_n = r + 1;
    if (a->max_seconds > 0 && now_us() - start > a->max_seconds * 1e6) break;
  }
  return NULL;
}

static void print_tenant_stats(bench *bn, const bench_args *a, double *tenant_us, int n, int only) {
  printf("\"tenants\": [");
  bool first = true;
  for (int t = 0; t < bn->n_tenants; t++) {
    if (only >= 0 && t != only) continue;
    printf("%s{\"name\": \"", first ? "" : ", ");
    first = false;
    for (const char *c = mtrt_bundle_tenant_name(bn->b, t); *c; c++)
      if (*c == '"' || *c == '\\')
        printf("\\%c", *c);
      else if ((unsigned char)*c >= 0x20)
        putchar(*c);
    printf("\", \"index\": %d, ", t);
#if MTRT_BENCH_GPU_API
    printf("\"predicted_us\": %.3f, ", mtrt_session_tenant_predicted_us(bn->s, t));
#endif
    printf("\"time_us\": ");
    print_stats(tenant_us + (size_t)t * (size_t)a->rounds, n);
    printf("}");
  }
  printf("]");
}

static mtrt_status *run_mode(bench *bn, const bench_args *a, const char *mode, bool *first) {
  double *makespans = calloc((size_t)a->rounds + 1, sizeof *makespans);
  double *tenant_us = calloc((size_t)a->rounds * (size_t)bn->n_tenants + 1, sizeof *tenant_us);
  mtrt_status *st = NULL;
  if (!makespans || !tenant_us) {
    free(makespans);
    free(tenant_us);
    fprintf(stderr, "mtrt_bench: error: out of memory\n");
    exit(1);
  }
  bool standalone = strcmp(mode, "standalone") == 0;
  printf("%s\"%s\": ", *first ? "" : ",\n  ", mode);
  *first = false;
  if (!standalone) {
    int n = 0;
    double t0 = now_us();
    st = measure(bn, a, mode, -1, makespans, tenant_us, &n);
    double wall = now_us() - t0;
    if (!st) {
      printf("{\"rounds\": %d, \"warmup\": %d, \"throughput_rounds_per_s\": %.3f, ", n, a->warmup,
             n && wall > 0 ? n / (wall / 1e6) : 0);
      printf("\"makespan_us\": ");
      print_stats(makespans, n);
      printf(", ");
      print_tenant_stats(bn, a, tenant_us, n, -1);
      printf("}");
    }
  } else {
    printf("{\"tenants\": [");
    for (int t = 0; !st && t < bn->n_tenants; t++) {
      int n = 0;
      st = measure(bn, a, mode, t, makespans, tenant_us, &n);
      if (st) break;
      printf("%s{\"index\": %d, \"rounds\": %d, \"wall_us\": ", t ? ", " : "", t, n);
      print_stats(makespans, n);
      printf(", \"time_us\": ");
      print_stats(tenant_us + (size_t)t * (size_t)a->rounds, n);
      printf("}");
    }
    printf("]}");
  }
  free(makespans);
  free(tenant_us);
  return st;
}

static bool parse_int(const char *s, int lo, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < lo || v > 100000000) return false;
  *out = (int)v;
  return true;
}

static int usage(const char *why) {
  fprintf(
      stderr,
      "mtrt_bench: error: %s\nusage: mtrt_bench BUNDLE [--device cpu|gpu|auto] "
      "[--modes round,independent,window,standalone] [--warmup N] [--rounds N] [--max-seconds S] "
      "[--cpu-threads N]\n",
      why);
  return 1;
}

int main(int argc, char **argv) {
  bench_args a = {
      .device = "cpu", .modes = "round,independent,standalone", .warmup = 10, .rounds = 100};
#if MTRT_BENCH_GPU_API
  a.modes = "round,independent,window,standalone";
#endif
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--device") == 0 && v)
      a.device = argv[++i];
    else if (strcmp(argv[i], "--modes") == 0 && v)
      a.modes = argv[++i];
    else if (strcmp(argv[i], "--warmup") == 0 && v) {
      if (!parse_int(argv[++i], 0, &a.warmup)) return usage("--warmup needs an integer >= 0");
    } else if (strcmp(argv[i], "--rounds") == 0 && v) {
      if (!parse_int(argv[++i], 1, &a.rounds)) return usage("--rounds needs an integer >= 1");
    } else if (strcmp(argv[i], "--cpu-threads") == 0 && v) {
      if (!parse_int(argv[++i], 0, &a.cpu_threads)) return usage("--cpu-threads needs >= 0");
    } else if (strcmp(argv[i], "--max-seconds") == 0 && v) {
      char *end;
      a.max_seconds = strtod(argv[++i], &end);
      if (*end || !(a.max_seconds >= 0)) return usage("--max-seconds needs a number >= 0");
    } else if (argv[i][0] == '-')
      return usage("unknown or incomplete option");
    else
      a.bundle = argv[i];
  }
  if (!a.bundle) return usage("no bundle given");
  mtrt_session_options so;
#if MTRT_BENCH_GPU_API
  mtrt_session_options_init(&so);
#else
  memset(&so, 0, sizeof so);
#endif
#if MTRT_ABI_VERSION >= 2
  so.cpu_threads = a.cpu_threads;
#else
  if (a.cpu_threads > 1)
    fprintf(stderr, "mtrt_bench: this libmtrt has no cpu_threads option; running 1 thread\n");
#endif
  if (strcmp(a.device, "cpu") == 0)
    so.device = MTRT_DEVICE_CPU;
  else if (strcmp(a.device, "gpu") == 0)
    so.device = MTRT_DEVICE_GPU;
  else if (strcmp(a.device, "auto") == 0)
    so.device = MTRT_DEVICE_AUTO;
  else
    return usage("--device must be cpu, gpu or auto");

  bench bn = {0};
  mtrt_open_options oo;
  mtrt_open_options_init(&oo);
  double t0 = now_us();
  mtrt_status *st = mtrt_bundle_open(a.bundle, &oo, &bn.b);
  if (st) return fail(a.bundle, st);
  double load_us = now_us() - t0;
  bn.n_tenants = mtrt_bundle_tenant_count(bn.b);
  int rc = 0;
  printf("{\"bundle\": \"%s\", \"abi\": %d, \"tenants\": %d, \"bundle_load_ms\": %.3f",
         strchr(a.bundle, '"') ? "?" : a.bundle, mtrt_abi_version(), bn.n_tenants, load_us / 1e3);
  /* One session per mode: each mode gets its arrival option where the library has them. */
  char *modes = strdup(a.modes);
  bool first = true;
  printf(", \"modes\": {");
  for (char *save = NULL, *mode = modes ? strtok_r(modes, ",", &save) : NULL; mode && !rc;
       mode = strtok_r(NULL, ",", &save)) {
    bool known = !strcmp(mode, "round") || !strcmp(mode, "independent") ||
                 !strcmp(mode, "standalone") || (MTRT_BENCH_GPU_API && !strcmp(mode, "window"));
    if (!known) {
      fflush(stdout);
      rc = usage("--modes lists round, independent, standalone (and window where the library "
                 "has arrival modes)");
      break;
    }
#if MTRT_BENCH_GPU_API
    so.arrival = !strcmp(mode, "round")    ? MTRT_ARRIVAL_ROUND
                 : !strcmp(mode, "window") ? MTRT_ARRIVAL_BATCHED_WINDOW
                                           : MTRT_ARRIVAL_INDEPENDENT;
#endif
    double c0 = now_us();
    st = mtrt_session_create(bn.b, &so, &bn.s);
    double create_us = now_us() - c0;
    if (!st) st = bind_all(&bn);
    if (!st && !bn.buffers) {
      fprintf(stderr, "mtrt_bench: error: out of memory\n");
      rc = 1;
    }
    if (!st && !rc) {
      /* the first run is timed apart: lazy set-up (graph instantiation) lands there */
      double f0 = now_us();
      st = run_once(&bn, mode, -1);
      double first_us = now_us() - f0;
      if (!st) {
        st = run_mode(&bn, &a, mode, &first);
        if (!st) {
          printf(",\n  \"%s_setup\": {\"session_create_ms\": %.3f, \"first_run_ms\": %.3f, "
                 "\"device\": \"%s\"",
                 mode, create_us / 1e3, first_us / 1e3, mtrt_session_device_name(bn.s));
          print_session_info(&bn);
          printf("}");
        }
      }
    }
    if (st) {
      fflush(stdout);
      rc = fail(mode, st);
    }
    mtrt_session_destroy(bn.s);
    bn.s = NULL;
    for (int i = 0; i < bn.n_buffers; i++) free(bn.buffers[i]);
    free(bn.buffers);
    bn.buffers = NULL;
    bn.n_buffers = 0;
  }
  free(modes);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("}, \"peak_rss_bytes\": %ld}\n", (long)ru.ru_maxrss * 1024L);
  mtrt_bundle_close(bn.b);
  return rc;
}
