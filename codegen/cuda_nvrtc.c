/* NVRTC compilation of generated kernels: every kernel for every target arch, on a pool of
 * threads, identical sources compiled once, results kept in an on-disk cache. The dialect header is handed to NVRTC from memory,
 * so the compiler needs no file of its own at run time. Built without NVRTC (MTCC_HAVE_NVRTC
 * undefined), every entry point says so instead. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/cuda_internal.h"

#include <sys/stat.h>

void mt_cuda_cache_dir_default(char *out, size_t n) {
  const char *d = getenv("MTCC_CACHE_DIR");
  if (d && d[0]) {
    snprintf(out, n, "%s", d);
    return;
  }
  const char *x = getenv("XDG_CACHE_HOME");
  if (x && x[0]) {
    snprintf(out, n, "%s/mtcc", x);
    return;
  }
  const char *h = getenv("HOME");
  if (h && h[0])
    snprintf(out, n, "%s/.cache/mtcc", h);
  else if (n)
    out[0] = 0;
}

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

/* ---- the on-disk cache ------------------------------------------------------------------- */

/* Entry: "MTCCNV01", u64 cubin bytes, u64 PTX bytes, u64 FNV-1a of both, cubin, PTX. A short,
 * mismatched or unreadable entry is a miss (and is rewritten). */
static const char cache_magic[8] = {'M', 'T', 'C', 'C', 'N', 'V', '0', '1'};

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
  return h;
}

static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static const char *const nvrtc_opts_fixed[] = {
    "--std=c++17", "--fmad=false", "-I/usr/local/cuda/include", "-I/usr/local/cuda/include/cccl"};

/* DIR/<key>.<arch>.nvc, the key two FNV-1a hashes over source, dialect header, options, arch and
 * NVRTC version (a collision would need both to collide). */
static void cache_path(const char *dir, const char *src, const char *arch, char *out, size_t n) {
  int major = 0, minor = 0;
  (void)nvrtcVersion(&major, &minor);
  char ver[32];
  snprintf(ver, sizeof ver, "nvrtc %d.%d", major, minor);
  uint64_t h[2] = {14695981039346656037ull, 0x84222325cbf29ce4ull};
  for (int k = 0; k < 2; k++) {
    h[k] = fnv(h[k], src, strlen(src) + 1);
    h[k] = fnv(h[k], mt_cuda_dialect_header, strlen(mt_cuda_dialect_header) + 1);
    for (size_t i = 0; i < sizeof nvrtc_opts_fixed / sizeof *nvrtc_opts_fixed; i++)
      h[k] = fnv(h[k], nvrtc_opts_fixed[i], strlen(nvrtc_opts_fixed[i]) + 1);
    h[k] = fnv(h[k], arch, strlen(arch) + 1);
    h[k] = fnv(h[k], ver, strlen(ver) + 1);
    h[k] = fnv(h[k], &k, sizeof k);
  }
  snprintf(out, n, "%s/%016llx%016llx.%s.nvc", dir, (unsigned long long)h[0],
           (unsigned long long)h[1], arch);
}

static bool cache_load(const char *path, unsigned char **cubin, size_t *ncubin, char **ptx,
                       size_t *nptx) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  unsigned char hdr[32];
  bool ok = fread(hdr, 1, 32, f) == 32 && memcmp(hdr, cache_magic, 8) == 0;
  uint64_t nc = ok ? get64(hdr + 8) : 0, np = ok ? get64(hdr + 16) : 0;
  ok = ok && nc > 0 && nc < (1ull << 31) && np < (1ull << 31);
  unsigned char *c = ok ? malloc((size_t)nc) : NULL;
  char *p = ok ? malloc((size_t)np + 1) : NULL;
  ok = ok && c && p && fread(c, 1, (size_t)nc, f) == nc && fread(p, 1, (size_t)np, f) == np &&
       fgetc(f) == EOF;
  if (ok) ok = fnv(fnv(14695981039346656037ull, c, (size_t)nc), p, (size_t)np) == get64(hdr + 24);
  fclose(f);
  if (!ok) {
    free(c);
    free(p);
    return false;
  }
  p[np] = 0;
  *cubin = c;
  *ncubin = (size_t)nc;
  *ptx = p;
  *nptx = (size_t)np;
  return true;
}

/* mkdir -p */
static void make_dirs(const char *dir) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *c = tmp + 1; *c; c++)
    if (*c == '/') {
      *c = 0;
      (void)mkdir(tmp, 0777);
      *c = '/';
    }
  (void)mkdir(tmp, 0777);
}

/* Best effort: a cache that cannot be written only costs the next compile its time. Written to a
 * temporary name and renamed, so a reader never sees half an entry. */
static void cache_store(const char *path, const unsigned char *cubin, size_t nc, const char *ptx,
                        size_t np) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) return;
  unsigned char hdr[32];
  memcpy(hdr, cache_magic, 8);
  put64(hdr + 8, nc);
  put64(hdr + 16, np);
  put64(hdr + 24, fnv(fnv(14695981039346656037ull, cubin, nc), ptx, np));
  FILE *f = fdopen(fd, "wb");
  bool ok = f && fwrite(hdr, 1, 32, f) == 32 && fwrite(cubin, 1, nc, f) == nc &&
            fwrite(ptx, 1, np, f) == np;
  if (f) ok = fclose(f) == 0 && ok;
  if (!f) close(fd);
  if (!ok || rename(tmp, path) != 0) unlink(tmp);
}

/* ---- compiling ----------------------------------------------------------------------------- */

typedef struct job {
  int kernel; /* the first kernel with this source */
  int arch;
  mt_status *status;
  unsigned char *cubin;
  size_t ncubin;
  char *ptx;
  size_t nptx;
  bool cached;
} job;

typedef struct pool {
  const mt_cuda_program *prog;
  const char *const *archs;
  int n_archs;
  const char *cache_dir;
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

static mt_status *compile_one(const mt_cuda_kernel *k, const char *arch, job *j) {
  nvrtcProgram prog;
  const char *headers[] = {mt_cuda_dialect_header};
  const char *names[] = {"mt_cuda.h"};
  char file[200];
  snprintf(file, sizeof file, "%s.cu", k->name);
  if (nvrtcCreateProgram(&prog, k->source, file, 1, headers, names) != NVRTC_SUCCESS)
    return MT_ERR(INTERNAL, "kernel %s: nvrtcCreateProgram failed", k->name);
  char archopt[64];
  snprintf(archopt, sizeof archopt, "--gpu-architecture=%s", arch);
  const char *opts[5] = {archopt};
  for (int i = 0; i < 4; i++) opts[i + 1] = nvrtc_opts_fixed[i];
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
    size_t nc = 0, np = 0;
    (void)nvrtcGetCUBINSize(prog, &nc);
    if (nvrtcGetPTXSize(prog, &np) != NVRTC_SUCCESS) np = 0;
    j->cubin = nc ? malloc(nc) : NULL;
    j->ptx = malloc(np + 1);
    if (nc == 0) {
      st = MT_ERR(INTERNAL, "kernel %s (%s): NVRTC produced no cubin", k->name, arch);
    } else if (!j->cubin || !j->ptx) {
      st = MT_ERR(RESOURCE_EXHAUSTED, "kernel %s (%s): out of memory", k->name, arch);
    } else {
      (void)nvrtcGetCUBIN(prog, (char *)j->cubin);
      if (np && nvrtcGetPTX(prog, j->ptx) != NVRTC_SUCCESS) np = 0;
      j->ptx[np] = 0;
      while (np > 0 && j->ptx[np - 1] == 0) np--; /* NVRTC counts the NUL */
      j->ncubin = nc;
      j->nptx = np;
    }
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
    const mt_cuda_kernel *k = &pl->prog->kernels[j->kernel];
    const char *arch = pl->archs[j->arch];
    char path[4300] = "";
    if (pl->cache_dir && pl->cache_dir[0]) {
      cache_path(pl->cache_dir, k->source, arch, path, sizeof path);
      if (cache_load(path, &j->cubin, &j->ncubin, &j->ptx, &j->nptx)) {
        j->cached = true;
        continue;
      }
    }
    j->status = compile_one(k, arch, j);
    if (!j->status && path[0]) cache_store(path, j->cubin, j->ncubin, j->ptx, j->nptx);
  }
}

static int arch_number(const char *a) { return strncmp(a, "sm_", 3) == 0 ? atoi(a + 3) : 0; }

void mt_cuda_compiled_free(const mt_cuda_program *prog, mt_cuda_compiled *res, int n) {
  if (!res) return;
  for (int i = 0; i < n; i++) {
    if (res[i].cubin) mt_allocator_free(prog->allocator, res[i].cubin);
    if (res[i].ptx) mt_allocator_free(prog->allocator, res[i].ptx);
  }
  mt_allocator_free(prog->allocator, res);
}

/* Fills one result from its job: a copy of the cubin (and the PTX for the newest arch), the
 * resources read from the cubin and the warnings they give. */
MT_MUST_USE static mt_status *fill_result(const mt_cuda_program *prog, const job *j, bool want_ptx,
                                          mt_cuda_compiled *c) {
  const mt_allocator *a = prog->allocator;
  const mt_cuda_kernel *k = &prog->kernels[c->kernel];
  c->cubin_bytes = j->ncubin;
  c->cached = j->cached;
  c->cubin = mt_allocator_malloc(a, j->ncubin ? j->ncubin : 1);
  if (!c->cubin) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  memcpy(c->cubin, j->cubin, j->ncubin);
  if (want_ptx) {
    c->ptx = mt_allocator_malloc(a, j->nptx + 1);
    if (!c->ptx) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    memcpy(c->ptx, j->ptx, j->nptx);
    c->ptx[j->nptx] = 0;
    c->ptx_bytes = j->nptx;
  }
  mt_cuda_resources r;
  mt_status *st = mt_cuda_cubin_resources(j->cubin, j->ncubin, k->name, &r);
  if (st) { /* a cubin we cannot read is reported, not fatal: the kernel itself is fine */
    snprintf(c->warning, sizeof c->warning, "resources not read: %s", mt_status_message(st));
    mt_status_free(st);
  }
  c->registers = r.registers;
  c->spills = r.local_bytes;
  c->shared_bytes = r.shared_bytes;
  c->occupancy = mt_cuda_occupancy_estimate(c->arch, &r, k->block, k->dyn_smem);
  if (!c->warning[0] && r.local_bytes > 0)
    snprintf(c->warning, sizeof c->warning,
             "%d bytes of local memory per thread (register spills or a local array)",
             r.local_bytes);
  else if (!c->warning[0] && c->occupancy >= 0 && c->occupancy < MT_CUDA_OCCUPANCY_WARN)
    snprintf(c->warning, sizeof c->warning,
             "estimated occupancy %.0f%% < %.0f%% (%d registers, %d bytes shared, %u threads)",
             c->occupancy * 100, MT_CUDA_OCCUPANCY_WARN * 100, r.registers, r.shared_bytes,
             k->block);
  return NULL;
}

mt_status *mt_cuda_nvrtc_compile_cached(const mt_cuda_program *prog, const char *const *archs,
                                        int n_archs, int n_threads, const char *cache_dir,
                                        mt_cuda_compiled **out, int *out_hits) {
  const mt_allocator *a = prog->allocator;
  int nk = prog->n_kernels;
  if (out_hits) *out_hits = 0;
  int *first = mt_allocator_calloc(a, (size_t)nk + 1, sizeof *first);
  job *jobs = mt_allocator_calloc(a, (size_t)nk * (size_t)n_archs + 1, sizeof *jobs);
  mt_cuda_compiled *res = mt_allocator_calloc(a, (size_t)nk * (size_t)n_archs + 1, sizeof *res);
  if (!first || !jobs || !res) {
    if (first) mt_allocator_free(a, first);
    if (jobs) mt_allocator_free(a, jobs);
    if (res) mt_allocator_free(a, res);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (cache_dir && cache_dir[0]) make_dirs(cache_dir);
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
  int newest = 0;
  for (int ar = 1; ar < n_archs; ar++)
    if (arch_number(archs[ar]) > arch_number(archs[newest])) newest = ar;
  if (n_threads <= 0) n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (n_threads < 1) n_threads = 1;
  if (n_threads > 64) n_threads = 64;
  pool pl = {.prog = prog,
             .archs = archs,
             .n_archs = n_archs,
             .cache_dir = cache_dir,
             .jobs = jobs,
             .n_jobs = n_jobs};
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
    if (out_hits && jobs[j].cached) (*out_hits)++;
  }
  for (int i = 0; !st && i < nk; i++)
    for (int ar = 0; !st && ar < n_archs; ar++) {
      mt_cuda_compiled *c = &res[i * n_archs + ar];
      c->kernel = i;
      snprintf(c->arch, sizeof c->arch, "%s", archs[ar]);
      c->registers = c->spills = c->shared_bytes = -1;
      c->occupancy = -1;
      for (int j = 0; !st && j < n_jobs; j++)
        if (jobs[j].kernel == first[i] && jobs[j].arch == ar)
          st = fill_result(prog, &jobs[j], ar == newest, c);
    }
  if (!st) {
    *out = res;
  } else {
    mt_cuda_compiled_free(prog, res, nk * n_archs);
  }
  for (int j = 0; j < n_jobs; j++) {
    free(jobs[j].cubin);
    free(jobs[j].ptx);
  }
  mt_allocator_free(a, first);
  mt_allocator_free(a, jobs);
  return st;
}

mt_status *mt_cuda_nvrtc_compile(const mt_cuda_program *prog, const char *const *archs, int n_archs,
                                 int n_threads, mt_cuda_compiled **out) {
  return mt_cuda_nvrtc_compile_cached(prog, archs, n_archs, n_threads, NULL, out, NULL);
}

#else

bool mt_cuda_nvrtc_available(void) { return false; }

const char *mt_cuda_nvrtc_describe(void) {
  return "NVRTC is off: this mtcc was built without the CUDA toolkit's NVRTC library";
}

mt_status *mt_cuda_nvrtc_compile_cached(const mt_cuda_program *prog, const char *const *archs,
                                        int n_archs, int n_threads, const char *cache_dir,
                                        mt_cuda_compiled **out, int *out_hits) {
  (void)prog;
  (void)archs;
  (void)n_archs;
  (void)n_threads;
  (void)cache_dir;
  (void)out;
  if (out_hits) *out_hits = 0;
  return MT_ERR(UNAVAILABLE, "%s", mt_cuda_nvrtc_describe());
}

mt_status *mt_cuda_nvrtc_compile(const mt_cuda_program *prog, const char *const *archs, int n_archs,
                                 int n_threads, mt_cuda_compiled **out) {
  return mt_cuda_nvrtc_compile_cached(prog, archs, n_archs, n_threads, NULL, out, NULL);
}

void mt_cuda_compiled_free(const mt_cuda_program *prog, mt_cuda_compiled *res, int n) {
  (void)n;
  if (res) mt_allocator_free(prog->allocator, res);
}

#endif
