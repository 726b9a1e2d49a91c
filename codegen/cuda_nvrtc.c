/* NVRTC compilation of generated kernels: every kernel for every target arch, on a pool of
 * threads, identical sources compiled once. The dialect header is handed to NVRTC from memory,
 * so the compiler needs no file of its own at run time. Built without NVRTC (MTCC_HAVE_NVRTC
 * undefined), every entry point says so instead. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/cuda_internal.h"

#ifdef MTCC_HAVE_NVRTC
#include <nvrtc.h>

bool mt_cuda_nvrtc_available(void) { return true; }

const char *mt_cuda_nvrtc_describe(void) {
  static char buf[64];
  int major = 0, minor = 0;
  if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS) return "NVRTC (version unknown)";
  snprintf(buf, sizeof buf, "NVRTC %d.%d", major, minor);
  return buf;
}

typedef struct job {
  int kernel; /* the first kernel with this source */
  int arch;
  mt_status *status;
  size_t cubin, ptx;
} job;

typedef struct pool {
  const mt_cuda_program *prog;
  const char *const *archs;
  int n_archs;
  job *jobs;
  int n_jobs, next;
  pthread_mutex_t lock;
} pool;

/* The generated lines around the one NVRTC's log names first ("name.cu(LINE): error ..."). */
static void source_context(const char *src, const char *log, char *out, size_t n) {
  out[0] = 0;
  const char *p = strstr(log, ".cu(");
  if (!p) return;
  int line = atoi(p + 4);
  if (line <= 0) return;
  size_t len = 0;
  int cur = 1;
  const char *s = src;
  while (*s && len + 1 < n) {
    const char *e = strchr(s, '\n');
    size_t l = e ? (size_t)(e - s) : strlen(s);
    if (cur >= line - 3 && cur <= line + 3)
      len += (size_t)snprintf(out + len, n - len, "%s%5d | %.*s\n", cur == line ? ">" : " ", cur,
                              (int)(l > 200 ? 200 : l), s);
    if (!e) break;
    s = e + 1;
    cur++;
  }
}

static mt_status *compile_one(const mt_cuda_kernel *k, const char *arch, size_t *cubin,
                              size_t *ptx) {
  nvrtcProgram prog;
  const char *headers[] = {mt_cuda_dialect_header};
  const char *names[] = {"mt_cuda.h"};
  char file[200];
  snprintf(file, sizeof file, "%s.cu", k->name);
  if (nvrtcCreateProgram(&prog, k->source, file, 1, headers, names) != NVRTC_SUCCESS)
    return MT_ERR(INTERNAL, "kernel %s: nvrtcCreateProgram failed", k->name);
  char archopt[64];
  snprintf(archopt, sizeof archopt, "--gpu-architecture=%s", arch);
  const char *opts[] = {archopt, "--std=c++17", "--fmad=false", "-I/usr/local/cuda/include",
                        "-I/usr/local/cuda/include/cccl"};
  nvrtcResult r = nvrtcCompileProgram(prog, 5, opts);
  mt_status *st = NULL;
  if (r != NVRTC_SUCCESS) {
    size_t log_size = 0;
    (void)nvrtcGetProgramLogSize(prog, &log_size);
    char *log = calloc(log_size + 1, 1);
    if (log && log_size) (void)nvrtcGetProgramLog(prog, log);
    char ctx[4096];
    source_context(k->source, log ? log : "", ctx, sizeof ctx);
    char *nl = log ? strchr(log, '\n') : NULL;
    if (nl) *nl = 0;
    st = MT_ERR(INTERNAL, "kernel %s (%s): NVRTC: %s: %s\n%s", k->name, arch,
                nvrtcGetErrorString(r), log ? log : "", ctx);
    free(log);
  } else {
    *cubin = 0;
    *ptx = 0;
    (void)nvrtcGetCUBINSize(prog, cubin);
    if (nvrtcGetPTXSize(prog, ptx) != NVRTC_SUCCESS) *ptx = 0;
    if (*cubin == 0)
      st = MT_ERR(INTERNAL, "kernel %s (%s): NVRTC produced no cubin", k->name, arch);
  }
  (void)nvrtcDestroyProgram(&prog);
  return st;
}

static void *worker(void *arg) {
  pool *pl = arg;
  for (;;) {
    pthread_mutex_lock(&pl->lock);
    int i = pl->next < pl->n_jobs ? pl->next++ : -1;
    pthread_mutex_unlock(&pl->lock);
    if (i < 0) return NULL;
    job *j = &pl->jobs[i];
    j->status = compile_one(&pl->prog->kernels[j->kernel], pl->archs[j->arch], &j->cubin, &j->ptx);
  }
}

mt_status *mt_cuda_nvrtc_compile(const mt_cuda_program *prog, const char *const *archs, int n_archs,
                                 int n_threads, mt_cuda_compiled **out) {
  const mt_allocator *a = prog->allocator;
  int nk = prog->n_kernels;
  int *first = mt_allocator_calloc(a, (size_t)nk + 1, sizeof *first);
  job *jobs = mt_allocator_calloc(a, (size_t)nk * (size_t)n_archs + 1, sizeof *jobs);
  mt_cuda_compiled *res = mt_allocator_calloc(a, (size_t)nk * (size_t)n_archs + 1, sizeof *res);
  if (!first || !jobs || !res) {
    if (first) mt_allocator_free(a, first);
    if (jobs) mt_allocator_free(a, jobs);
    if (res) mt_allocator_free(a, res);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  /* Kernels with the same source (variants of one backbone) are compiled once. */
  int n_jobs = 0;
  for (int i = 0; i < nk; i++) {
    first[i] = i;
    for (int j = 0; j < i; j++)
      if (first[j] == j && strcmp(prog->kernels[j].source, prog->kernels[i].source) == 0) {
        first[i] = j;
        break;
      }
    if (first[i] == i)
      for (int ar = 0; ar < n_archs; ar++) jobs[n_jobs++] = (job){.kernel = i, .arch = ar};
  }
  if (n_threads <= 0) n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (n_threads < 1) n_threads = 1;
  if (n_threads > 64) n_threads = 64;
  pool pl = {.prog = prog, .archs = archs, .n_archs = n_archs, .jobs = jobs, .n_jobs = n_jobs};
  pthread_mutex_init(&pl.lock, NULL);
  pthread_t th[64];
  int started = 0;
  for (int t = 1; t < n_threads && t < n_jobs; t++)
    if (pthread_create(&th[started], NULL, worker, &pl) == 0) started++;
  worker(&pl);
  for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
  pthread_mutex_destroy(&pl.lock);
  mt_status *st = NULL;
  for (int j = 0; j < n_jobs; j++) {
    if (jobs[j].status && !st)
      st = jobs[j].status;
    else
      mt_status_free(jobs[j].status);
  }
  if (!st) {
    for (int i = 0; i < nk; i++)
      for (int ar = 0; ar < n_archs; ar++) {
        mt_cuda_compiled *c = &res[i * n_archs + ar];
        c->kernel = i;
        snprintf(c->arch, sizeof c->arch, "%s", archs[ar]);
        c->registers = c->spills = c->shared_bytes = -1; /* cubin not parsed yet */
        for (int j = 0; j < n_jobs; j++)
          if (jobs[j].kernel == first[i] && jobs[j].arch == ar) {
            c->cubin_bytes = jobs[j].cubin;
            c->ptx_bytes = ar == n_archs - 1 ? jobs[j].ptx : 0;
          }
      }
    *out = res;
  } else {
    mt_allocator_free(a, res);
  }
  mt_allocator_free(a, first);
  mt_allocator_free(a, jobs);
  return st;
}

#else

bool mt_cuda_nvrtc_available(void) { return false; }

const char *mt_cuda_nvrtc_describe(void) {
  return "NVRTC is off: this mtcc was built without the CUDA toolkit's NVRTC library";
}

mt_status *mt_cuda_nvrtc_compile(const mt_cuda_program *prog, const char *const *archs, int n_archs,
                                 int n_threads, mt_cuda_compiled **out) {
  (void)prog;
  (void)archs;
  (void)n_archs;
  (void)n_threads;
  (void)out;
  return MT_ERR(UNAVAILABLE, "%s", mt_cuda_nvrtc_describe());
}

#endif
