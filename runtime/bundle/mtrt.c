/* libmtrt's public API (include/mtrt.h) and its CPU path: a session owns one arena per partition
 * and a scratch area, and runs the bundle's groups in schedule order: a group with generated CPU
 * code (Manifest.cpu_groups, the object cpu_code.c loaded) through its kernels split over the
 * session's threads (cpu_pool.c), any other through mt_cpu_kernel_run node by node,
 * intermediates at their planned offsets. A GPU session (runtime/gpu) takes over after the
 * checks shared with the CPU path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtrt.h"
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/cpu_code.h"
#include "runtime/bundle/cpu_pool.h"
#include "runtime/bundle/cpu_schedule.h"
#include "runtime/bundle/run_loop.h"
#include "runtime/gpu/gpu_session.h"

struct mtrt_bundle {
  mt_bundle b;
  int abi; /* the application's MTRT_ABI_VERSION (which session option fields it has) */
};

typedef struct binding {
  const void *in;
  void *out;
} binding;

struct mtrt_session {
  const mtrt_bundle *bundle;
  uint8_t **arenas; /* per partition */
  uint8_t *scratch;
  binding **inputs, **outputs; /* per tenant, per port */
  double *time_us;             /* per tenant */
  mt_cpu_schedule *schedule;   /* groups in dependency order, on cpu_threads threads */
  double *node_us;             /* per node, last run (each written by the thread that ran it) */
  int run_tenant;              /* the run in progress: one tenant, or -1 for all */
  mt_cpu_code *cpu;            /* the generated CPU code, or the reference kernels and why */
  mt_cpu_pool *pool;           /* splits each generated kernel over cpu_threads threads */
  size_t *kernel_at;           /* per CPU group: its first kernel in kernel_us / kernel_args */
  double *kernel_us;           /* per generated kernel, last run (written by its group's thread) */
  void ***kernel_args;         /* per generated kernel: its argument pointers, filled per run */
  size_t *tenant_mark;         /* per tenant: scratch of add_kernel_times */
  double *kernel_total_us;     /* MTRT_CPU_KERNEL_PROFILE set: per kernel, summed over runs */
  uint64_t profiled_runs;
  double *share_us;    /* MTRT_CPU_KERNEL_PROFILE=shares, one thread: per kernel, per share */
  mt_gpu_session *gpu; /* NULL: the CPU path */
  char note[512];      /* mtrt_session_device_note */
};

const mt_bundle *mt_bundle_of(const mtrt_bundle *b) { return &b->b; }
struct mt_gpu_session *mt_session_gpu(const mtrt_session *s) {
  return s->gpu;
}

static mtrt_status *pub(mt_status *st) { return (mtrt_status *)st; }

int mtrt_version_number(void) { return MTRT_VERSION_NUMBER; }
int mtrt_abi_version(void) { return MTRT_ABI_VERSION; }
mtrt_status_code mtrt_status_code_of(const mtrt_status *st) {
  return (mtrt_status_code)mt_status_code_of((const mt_status *)st);
}
const char *mtrt_status_message(const mtrt_status *st) {
  return mt_status_message((const mt_status *)st);
}
void mtrt_status_free(mtrt_status *st) { mt_status_free((mt_status *)st); }

MT_MUST_USE static mt_status *check_abi(const mtrt_open_options *o) {
  if (o && (o->abi_version < 1 || o->abi_version > MTRT_ABI_VERSION))
    return MT_ERR(UNIMPLEMENTED,
                  "the application was built against libmtrt ABI %d; this library has ABI %d",
                  o->abi_version, MTRT_ABI_VERSION);
  return NULL;
}

MT_MUST_USE static mt_status *finish_open(mtrt_bundle *rb, const char *what,
                                          const mtrt_open_options *o, mtrt_bundle **out) {
  rb->abi = o ? o->abi_version : MTRT_ABI_VERSION;
  mt_status *st = mt_bundle_load(&rb->b, what);
  if (st) {
    mt_bundle_release(&rb->b);
    free(rb);
    return st;
  }
  *out = rb;
  return NULL;
}

mtrt_status *mtrt_bundle_open(const char *path, const mtrt_open_options *options,
                              mtrt_bundle **out_bundle) {
  *out_bundle = NULL;
  mt_status *st = check_abi(options);
  if (st) return pub(st);
  int fd;
  size_t size;
  st = mt_file_open_regular(path, "bundle", &fd, &size);
  if (st) return pub(st);
  close(fd);
  mtrt_bundle *rb = calloc(1, sizeof *rb);
  if (!rb) return pub(MT_ERR(RESOURCE_EXHAUSTED, "out of memory"));
  st = mt_file_map(path, "bundle", 0, size, &rb->b.mapping);
  if (st) {
    free(rb);
    return pub(st);
  }
  rb->b.image = rb->b.mapping.data;
  rb->b.size = rb->b.mapping.size;
  return pub(finish_open(rb, path, options, out_bundle));
}

mtrt_status *mtrt_bundle_open_memory(const void *data, size_t size,
                                     const mtrt_open_options *options, mtrt_bundle **out_bundle) {
  *out_bundle = NULL;
  mt_status *st = check_abi(options);
  if (st) return pub(st);
  mtrt_bundle *rb = calloc(1, sizeof *rb);
  /* an aligned copy, so weights keep the alignment the file gives them */
  uint8_t *copy =
      aligned_alloc(MT_BUNDLE_ALIGN, (size + MT_BUNDLE_ALIGN) / MT_BUNDLE_ALIGN * MT_BUNDLE_ALIGN);
  if (!rb || !copy) {
    free(rb);
    free(copy);
    return pub(MT_ERR(RESOURCE_EXHAUSTED, "out of memory for a %zu-byte bundle", size));
  }
  if (size) memcpy(copy, data, size);
  rb->b.owned = copy;
  rb->b.image = copy;
  rb->b.size = size;
  return pub(finish_open(rb, "bundle in memory", options, out_bundle));
}

void mtrt_bundle_close(mtrt_bundle *b) {
  if (!b) return;
  mt_bundle_release(&b->b);
  free(b);
}

static const Mtbundle__Tenant *tenant_of(const mtrt_bundle *b, int t) {
  if (!b || t < 0 || (size_t)t >= b->b.manifest->n_tenants) return NULL;
  return b->b.manifest->tenants[t];
}

int mtrt_bundle_tenant_count(const mtrt_bundle *b) { return (int)b->b.manifest->n_tenants; }
const char *mtrt_bundle_tenant_name(const mtrt_bundle *b, int t) {
  const Mtbundle__Tenant *tn = tenant_of(b, t);
  return tn ? tn->name : NULL;
}
int mtrt_bundle_tenant_index(const mtrt_bundle *b, const char *name) {
  for (size_t t = 0; t < b->b.manifest->n_tenants; t++)
    if (strcmp(b->b.manifest->tenants[t]->name, name) == 0) return (int)t;
  return -1;
}
const char *mtrt_bundle_mtcc_version(const mtrt_bundle *b) { return b->b.manifest->mtcc_version; }
int mtrt_bundle_input_count(const mtrt_bundle *b, int t) {
  const Mtbundle__Tenant *tn = tenant_of(b, t);
  return tn ? (int)tn->n_inputs : -1;
}
int mtrt_bundle_output_count(const mtrt_bundle *b, int t) {
  const Mtbundle__Tenant *tn = tenant_of(b, t);
  return tn ? (int)tn->n_outputs : -1;
}

static mtrt_status *port_info(const mtrt_bundle *b, int t, int i, bool input, mtrt_port_info *out) {
  const Mtbundle__Tenant *tn = tenant_of(b, t);
  size_t n = tn ? (input ? tn->n_inputs : tn->n_outputs) : 0;
  if (!tn || i < 0 || (size_t)i >= n)
    return pub(
        MT_ERR(OUT_OF_RANGE, "tenant %d %s %d is out of range", t, input ? "input" : "output", i));
  const Mtbundle__Port *p = input ? tn->inputs[i] : tn->outputs[i];
  out->name = p->name;
  out->dtype = p->type->dtype;
  out->rank = (int)p->type->n_dims;
  out->dims = p->type->dims;
  out->nbytes = mt_bundle_type_bytes(p->type);
  return NULL;
}
mtrt_status *mtrt_bundle_input_info(const mtrt_bundle *b, int t, int i, mtrt_port_info *out) {
  return port_info(b, t, i, true, out);
}
mtrt_status *mtrt_bundle_output_info(const mtrt_bundle *b, int t, int i, mtrt_port_info *out) {
  return port_info(b, t, i, false, out);
}

/* MTRT_CPU_KERNEL_PROFILE: each generated kernel's mean time per run, on stderr at the end of the
 * session, in plan order (issue 14: which kernels do not scale with threads). A diagnostic only:
 * the timing is the one run_generated takes anyway. With the value `shares` and one thread, each
 * kernel runs as the PROFILE_SHARES shares a 2-thread pool cuts it into, one after another and
 * timed apart (same bytes), and the profile adds what two threads claiming those shares would
 * take at best: the item structure's limit on scaling, free of the hand-off costs and of other
 * jobs on the machine. */
#define PROFILE_SHARES 4
static double two_thread_bound(const double *share) {
  double busy[2] = {0, 0};
  for (int i = 0; i < PROFILE_SHARES; i++) busy[busy[1] < busy[0]] += share[i];
  return busy[0] > busy[1] ? busy[0] : busy[1];
}

static void print_kernel_profile(const mtrt_session *s, size_t nk) {
  const Mtbundle__Manifest *m = s->bundle->b.manifest;
  double runs = s->profiled_runs ? (double)s->profiled_runs : 1.0, sum = 0, bound = 0;
  for (size_t k = 0; k < nk; k++) {
    sum += s->kernel_total_us[k];
    if (s->share_us) bound += two_thread_bound(s->share_us + k * PROFILE_SHARES);
  }
  fprintf(stderr, "mtrt: kernel profile: %zu kernels, %llu runs, %.1f us per run", nk,
          (unsigned long long)s->profiled_runs, sum / runs);
  if (s->share_us) fprintf(stderr, ", 2-thread bound %.1f us", bound / runs);
  fprintf(stderr, "\n");
  for (size_t g = 0; g < m->n_cpu_groups; g++)
    for (size_t k = 0; k < m->cpu_groups[g]->n_kernels; k++) {
      size_t i = s->kernel_at[g] + k;
      fprintf(stderr, "mtrt: kernel %zu.%zu %9.1f us", g, k, s->kernel_total_us[i] / runs);
      if (s->share_us) {
        const double *sh = s->share_us + i * PROFILE_SHARES;
        fprintf(stderr, " 2T bound %9.1f shares %.0f/%.0f/%.0f/%.0f", two_thread_bound(sh) / runs,
                sh[0] / runs, sh[1] / runs, sh[2] / runs, sh[3] / runs);
      }
      fprintf(stderr, " %s\n", m->cpu_groups[g]->kernels[k]->name);
    }
}

void mtrt_session_destroy(mtrt_session *s) {
  if (!s) return;
  mt_gpu_session_destroy(s->gpu);
  const Mtbundle__Manifest *m = s->bundle->b.manifest;
  for (size_t i = 0; s->arenas && i < m->n_partitions; i++) free(s->arenas[i]);
  for (size_t t = 0; t < m->n_tenants; t++) {
    if (s->inputs) free(s->inputs[t]);
    if (s->outputs) free(s->outputs[t]);
  }
  free(s->arenas);
  free(s->scratch);
  free(s->inputs);
  free(s->outputs);
  free(s->time_us);
  mt_cpu_schedule_destroy(s->schedule);
  free(s->node_us);
  mt_cpu_pool_destroy(s->pool);
  size_t nk = s->kernel_at ? s->kernel_at[m->n_cpu_groups] : 0;
  if (s->kernel_total_us) print_kernel_profile(s, nk);
  free(s->kernel_total_us);
  free(s->share_us);
  mt_cpu_code_destroy(s->cpu);
  for (size_t k = 0; s->kernel_args && k < nk; k++) free(s->kernel_args[k]);
  free(s->kernel_args);
  free(s->kernel_at);
  free(s->kernel_us);
  free(s->tenant_mark);
  free(s);
}

static void *alloc_area(uint64_t bytes) {
  size_t n = (size_t)((bytes + MT_BUNDLE_ALIGN) / MT_BUNDLE_ALIGN * MT_BUNDLE_ALIGN);
  return aligned_alloc(MT_BUNDLE_ALIGN, n);
}

/* The caller's options as this library's struct: an ABI-1 application's struct has only the
 * first two fields. */
static mtrt_session_options options_of(const mtrt_bundle *b, const mtrt_session_options *o) {
  mtrt_session_options r;
  mtrt_session_options_init(&r);
  if (!o) return r;
  r.device = o->device;
  r.gpu_index = o->gpu_index;
  if (b->abi >= 2) {
    r.cpu_threads = o->cpu_threads;
    r.arrival = o->arrival;
    r.window_us = o->window_us;
  }
  if (b->abi >= 3) r.cpu_target = o->cpu_target;
  return r;
}

/* The CPU path's generated code (or the reference kernels, and why), the threads that split its
 * kernels, and room for their arguments and times. */
MT_MUST_USE static mt_status *create_cpu_code(mtrt_session *s, const mtrt_session_options *o) {
  const Mtbundle__Manifest *m = s->bundle->b.manifest;
  MT_RETURN_IF_ERROR_PLAIN(mt_cpu_code_load(&s->bundle->b, o->cpu_target, &s->cpu));
  size_t len = strlen(s->note);
  snprintf(s->note + len, sizeof s->note - len, "; CPU code: %s", mt_cpu_code_note(s->cpu));
  if (strcmp(mt_cpu_code_target(s->cpu), "reference") == 0) return NULL;
  s->kernel_at = calloc(m->n_cpu_groups + 1, sizeof *s->kernel_at);
  if (!s->kernel_at) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t g = 0; g < m->n_cpu_groups; g++)
    s->kernel_at[g + 1] = s->kernel_at[g] + m->cpu_groups[g]->n_kernels;
  size_t nk = s->kernel_at[m->n_cpu_groups];
  s->kernel_us = calloc(nk + 1, sizeof *s->kernel_us);
  s->kernel_args = calloc(nk + 1, sizeof *s->kernel_args);
  s->tenant_mark = calloc(m->n_tenants + 1, sizeof *s->tenant_mark);
  if (!s->kernel_us || !s->kernel_args || !s->tenant_mark)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t g = 0; g < m->n_cpu_groups; g++)
    for (size_t k = 0; k < m->cpu_groups[g]->n_kernels; k++) {
      size_t n = m->cpu_groups[g]->kernels[k]->n_args;
      if (!(s->kernel_args[s->kernel_at[g] + k] = calloc(n + 1, sizeof(void *))))
        return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    }
  const char *profile = getenv("MTRT_CPU_KERNEL_PROFILE");
  if (profile && !(s->kernel_total_us = calloc(nk + 1, sizeof(double))))
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (profile && strcmp(profile, "shares") == 0 && o->cpu_threads <= 1 &&
      !(s->share_us = calloc(nk * PROFILE_SHARES + 1, sizeof(double))))
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  return mt_cpu_pool_create(o->cpu_threads, &s->pool);
}

/* The GPU session for device GPU or AUTO; for AUTO a failure becomes the CPU with the reason
 * in the note. */
MT_MUST_USE static mt_status *create_gpu(mtrt_session *s, const mtrt_session_options *o) {
  if (o->device != MTRT_DEVICE_GPU && o->device != MTRT_DEVICE_AUTO) {
    snprintf(s->note, sizeof s->note, "cpu");
    return NULL;
  }
  if ((unsigned)o->arrival > MTRT_ARRIVAL_BATCHED_WINDOW || o->window_us < 0)
    return MT_ERR(INVALID_ARGUMENT, "session options: arrival %d / window %d us are invalid",
                  (int)o->arrival, o->window_us);
  mt_gpu_options go = {
      .gpu_index = o->gpu_index, .arrival = (mt_gpu_arrival)o->arrival, .window_us = o->window_us};
  mt_status *st = mt_gpu_session_create(&s->bundle->b, &go, &s->gpu);
  if (!st) {
    snprintf(s->note, sizeof s->note, "%s", mt_gpu_session_note(s->gpu));
    return NULL;
  }
  if (o->device == MTRT_DEVICE_GPU) return st;
  snprintf(s->note, sizeof s->note, "cpu (auto: no GPU session: %s)", mt_status_message(st));
  mt_status_free(st);
  return NULL;
}

mtrt_status *mtrt_session_create(const mtrt_bundle *b, const mtrt_session_options *options,
                                 mtrt_session **out_session) {
  *out_session = NULL;
  mtrt_session_options o = options_of(b, options);
  if (o.device != MTRT_DEVICE_CPU && o.device != MTRT_DEVICE_GPU && o.device != MTRT_DEVICE_AUTO)
    return pub(MT_ERR(INVALID_ARGUMENT, "session options: device %d is not cpu, gpu or auto",
                      (int)o.device));
  const Mtbundle__Manifest *m = b->b.manifest;
  mtrt_session *s = calloc(1, sizeof *s);
  if (!s) return pub(MT_ERR(RESOURCE_EXHAUSTED, "out of memory"));
  s->bundle = b;
  s->arenas = calloc(m->n_partitions, sizeof *s->arenas);
  s->inputs = calloc(m->n_tenants, sizeof *s->inputs);
  s->outputs = calloc(m->n_tenants, sizeof *s->outputs);
  s->time_us = calloc(m->n_tenants, sizeof *s->time_us);
  s->scratch = alloc_area(m->scratch_bytes);
  s->node_us = calloc(m->n_nodes + 1, sizeof *s->node_us);
  bool ok = s->arenas && s->inputs && s->outputs && s->time_us && s->scratch && s->node_us;
  for (size_t i = 0; ok && i < m->n_partitions; i++)
    ok = (s->arenas[i] = alloc_area(m->partitions[i]->arena_bytes)) != NULL;
  for (size_t t = 0; ok && t < m->n_tenants; t++) {
    s->inputs[t] = calloc(m->tenants[t]->n_inputs + 1, sizeof **s->inputs);
    s->outputs[t] = calloc(m->tenants[t]->n_outputs + 1, sizeof **s->outputs);
    ok = s->inputs[t] && s->outputs[t];
  }
  if (!ok) {
    mtrt_session_destroy(s);
    return pub(MT_ERR(RESOURCE_EXHAUSTED, "out of memory for the session's arenas"));
  }
  int threads = o.cpu_threads;
  if (threads < 0) {
    mtrt_session_destroy(s);
    return pub(MT_ERR(INVALID_ARGUMENT, "cpu_threads %d is negative", threads));
  }
  mt_status *st = mt_cpu_schedule_create(m, threads, &s->schedule);
  if (!st) st = create_gpu(s, &o);
  if (!st && !s->gpu) st = create_cpu_code(s, &o);
  if (st) {
    mtrt_session_destroy(s);
    return pub(st);
  }
  *out_session = s;
  return NULL;
}

/* Binds input or output `name` of tenant t to host memory (host) or, when host is NULL, to
 * device memory (device, GPU sessions only). */
static mtrt_status *bind(mtrt_session *s, int t, const char *name, bool input, const void *host,
                         uint64_t device, size_t nbytes) {
  const Mtbundle__Tenant *tn = tenant_of(s->bundle, t);
  if (!tn) return pub(MT_ERR(OUT_OF_RANGE, "tenant index %d is out of range", t));
  const char *what = input ? "input" : "output";
  if (!host && !s->gpu)
    return pub(MT_ERR(INVALID_ARGUMENT,
                      "tenant '%s' %s '%s': device pointers bind only in GPU sessions (this "
                      "session runs on the cpu)",
                      tn->name, what, name));
  size_t n = input ? tn->n_inputs : tn->n_outputs;
  for (size_t i = 0; i < n; i++) {
    const Mtbundle__Port *p = input ? tn->inputs[i] : tn->outputs[i];
    if (strcmp(p->name, name) != 0) continue;
    size_t want = mt_bundle_type_bytes(p->type);
    if (nbytes != want)
      return pub(MT_ERR(INVALID_ARGUMENT, "tenant '%s' %s '%s' takes %zu bytes, not %zu", tn->name,
                        what, name, want, nbytes));
    size_t es = mt_dtype_size((mt_dtype)p->type->dtype);
    uintptr_t at = host ? (uintptr_t)host : (uintptr_t)device;
    if (es && at % es)
      return pub(MT_ERR(INVALID_ARGUMENT,
                        "tenant '%s' %s '%s': memory at %#jx is not aligned to its %zu-byte "
                        "elements",
                        tn->name, what, name, (uintmax_t)at, es));
    if (!host && !device && nbytes)
      return pub(MT_ERR(INVALID_ARGUMENT, "tenant '%s' %s '%s': a null device pointer", tn->name,
                        what, name));
    /* the binding table marks the port bound for both paths */
    if (input)
      s->inputs[t][i].in = host ? host : (const void *)s;
    else
      s->outputs[t][i].out = host ? (void *)host : (void *)s;
    if (s->gpu) return pub(mt_gpu_session_bind(s->gpu, t, (int)i, input, host, device));
    return NULL;
  }
  return pub(MT_ERR(INVALID_ARGUMENT, "tenant '%s' has no %s '%s'", tn->name, what, name));
}

mtrt_status *mtrt_session_bind_input(mtrt_session *s, int t, const char *name, const void *data,
                                     size_t nbytes) {
  static const int64_t empty[1]; /* aligned for every dtype */
  return bind(s, t, name, true, data ? data : empty, 0, nbytes);
}
mtrt_status *mtrt_session_bind_output(mtrt_session *s, int t, const char *name, void *data,
                                      size_t nbytes) {
  static int64_t empty[1];
  return bind(s, t, name, false, data ? data : empty, 0, nbytes);
}
mtrt_status *mtrt_session_bind_input_device(mtrt_session *s, int t, const char *name,
                                            uint64_t device_ptr, size_t nbytes) {
  return bind(s, t, name, true, NULL, device_ptr, nbytes);
}
mtrt_status *mtrt_session_bind_output_device(mtrt_session *s, int t, const char *name,
                                             uint64_t device_ptr, size_t nbytes) {
  return bind(s, t, name, false, NULL, device_ptr, nbytes);
}

/* The memory a validated reference names (NULL for NONE). */
static void *resolve(mtrt_session *s, const Mtbundle__BufferRef *r) {
  const mt_bundle *b = &s->bundle->b;
  switch (r->kind) {
  case MTBUNDLE__BUFFER_REF__KIND__CONSTANT:
    return (void *)(b->weights + b->manifest->constants[r->index]->offset);
  case MTBUNDLE__BUFFER_REF__KIND__INPUT: return (void *)s->inputs[r->tenant][r->index].in;
  case MTBUNDLE__BUFFER_REF__KIND__ARENA: return s->arenas[r->partition] + r->offset;
  case MTBUNDLE__BUFFER_REF__KIND__SCRATCH: return s->scratch + r->offset;
  default: return NULL;
  }
}

static void view(mtrt_session *s, const Mtbundle__BufferRef *r, mt_tensor *t) {
  memset(t, 0, sizeof *t);
  if (r->kind == MTBUNDLE__BUFFER_REF__KIND__NONE) return;
  t->dtype = (mt_dtype)r->type->dtype;
  t->rank = (int)r->type->n_dims;
  for (int i = 0; i < t->rank; i++) t->dims[i] = r->type->dims[i];
  t->data = resolve(s, r);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

MT_MUST_USE static mt_status *run_if(mtrt_session *s, const Mtbundle__Node *n);
MT_MUST_USE static mt_status *run_loop(mtrt_session *s, const Mtbundle__Node *n);

/* NonZero: its output size depends on the data, so the kernel allocates it; the bundle holds the
 * shape the compiler saw (its input was known then), and a different count is an error, never a
 * partial copy. */
MT_MUST_USE static mt_status *run_nonzero(mtrt_session *s, const Mtbundle__Node *n,
                                          const mt_kernel_call *call) {
  mt_tensor x, planned, y;
  view(s, n->inputs[0], &x);
  view(s, n->outputs[0], &planned);
  memset(&y, 0, sizeof y);
  const mt_tensor *in[1] = {&x};
  MT_RETURN_IF_ERROR_PLAIN(mt_cpu_kernel_run(call, 1, in, 1, &y));
  mt_status *st = NULL;
  if (y.rank != 2 || y.dims[0] != planned.dims[0] || y.dims[1] != planned.dims[1])
    st = MT_ERR(OUT_OF_RANGE,
                "NonZero found %lld nonzero element(s); the bundle was compiled for %lld",
                (long long)(y.rank == 2 ? y.dims[1] : -1), (long long)planned.dims[1]);
  else if (mt_tensor_nbytes(&y))
    memcpy(planned.data, y.data, mt_tensor_nbytes(&y));
  free(y.data);
  return st;
}

/* One node (scheduled or in a branch) with its decoded call. */
MT_MUST_USE static mt_status *run_node(mtrt_session *s, const Mtbundle__Node *n,
                                       const mt_kernel_call *call) {
  if (n->if_branches) return run_if(s, n);
  if (n->loop) return run_loop(s, n);
  if (call->kind == MT_KERNEL_NONZERO) return run_nonzero(s, n, call);
  mt_tensor *views = calloc(n->n_inputs + n->n_outputs + 1, sizeof *views);
  const mt_tensor **in = calloc(n->n_inputs + 1, sizeof *in);
  mt_status *st = views && in ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t k = 0; !st && k < n->n_inputs; k++) {
    view(s, n->inputs[k], &views[k]);
    in[k] = n->inputs[k]->kind == MTBUNDLE__BUFFER_REF__KIND__NONE ? NULL : &views[k];
  }
  for (size_t k = 0; !st && k < n->n_outputs; k++) view(s, n->outputs[k], &views[n->n_inputs + k]);
  if (!st)
    st = mt_cpu_kernel_run(call, (int)n->n_inputs, in, (int)n->n_outputs, views + n->n_inputs);
  free(views);
  free(in);
  return st;
}

/* An If (mtbundle.proto, IfBranches), as the reference executor runs it: the branch the
 * condition picks, its nodes in order, then its results copied into the node's outputs (memmove:
 * a result may be the very buffer of an output). Recursion is bounded by the loader's depth cap. */
MT_MUST_USE static mt_status *run_if(mtrt_session *s, const Mtbundle__Node *n) {
  const mt_bundle *b = &s->bundle->b;
  const Mtbundle__IfBranches *ib = n->if_branches;
  mt_tensor c;
  view(s, n->inputs[0], &c);
  bool cond = mt_tensor_get_f64(&c, 0) != 0;
  uint32_t first = cond ? ib->then_first : ib->else_first;
  uint32_t count = cond ? ib->then_count : ib->else_count;
  const char *branch = cond ? "then_branch" : "else_branch";
  for (size_t k = first; k < (size_t)first + count; k++) {
    const Mtbundle__Node *bn = b->manifest->branch_nodes[k];
    mt_status *st = run_node(s, bn, &b->branch_calls[k]);
    if (st) return mt_status_annotate(st, "%s: node '%s'", branch, bn->name);
  }
  Mtbundle__BufferRef *const *res = cond ? ib->then_outputs : ib->else_outputs;
  for (size_t i = 0; i < n->n_outputs; i++) {
    if (n->outputs[i]->kind == MTBUNDLE__BUFFER_REF__KIND__NONE) continue;
    size_t nb = mt_bundle_type_bytes(n->outputs[i]->type);
    if (nb) memmove(resolve(s, n->outputs[i]), resolve(s, res[i]), nb);
  }
  return NULL;
}

static void *loop_resolve(void *ctx, const Mtbundle__BufferRef *r) { return resolve(ctx, r); }
MT_MUST_USE static mt_status *loop_node(void *ctx, size_t k) {
  mtrt_session *s = ctx;
  const mt_bundle *b = &s->bundle->b;
  const Mtbundle__Node *bn = b->manifest->branch_nodes[k];
  mt_status *st = run_node(s, bn, &b->branch_calls[k]);
  return st ? mt_status_annotate(st, "body: node '%s'", bn->name) : NULL;
}

/* A Loop or Scan (mtbundle.proto, LoopBody): run_loop.c iterates the body through these two;
 * recursion through nested bodies is bounded by the loader's depth cap. */
MT_MUST_USE static mt_status *run_loop(mtrt_session *s, const Mtbundle__Node *n) {
  mt_bundle_loop_host h = {.ctx = s, .resolve = loop_resolve, .run_branch_node = loop_node};
  return mt_bundle_run_loop(&h, n);
}

/* Group g through its generated kernels, in order, each split over the pool's threads; false when
 * the group runs its reference nodes instead: it has no generated code, or the run is one
 * tenant's and a kernel computes several tenants at once (kernels of other tenants are skipped).
 */
static bool run_generated(mtrt_session *s, size_t g) {
  const Mtbundle__Manifest *m = s->bundle->b.manifest;
  if (!s->kernel_at || g >= m->n_cpu_groups || m->cpu_groups[g]->n_kernels == 0) return false;
  const Mtbundle__CpuGroup *cg = m->cpu_groups[g];
  for (size_t k = 0; s->run_tenant >= 0 && k < cg->n_kernels; k++)
    if (cg->kernels[k]->tenant < 0) return false;
  for (size_t k = 0; k < cg->n_kernels; k++) {
    const Mtbundle__CpuKernel *ck = cg->kernels[k];
    if (s->run_tenant >= 0 && ck->tenant != s->run_tenant) continue;
    void **args = s->kernel_args[s->kernel_at[g] + k];
    for (size_t a = 0; a < ck->n_args; a++) args[a] = resolve(s, ck->args[a]);
    double t0 = now_us();
    mt_cpu_kernel_fn fn = mt_cpu_code_kernel(s->cpu, g, k);
    if (s->share_us)
      for (int sh = 0; sh < PROFILE_SHARES; sh++) {
        double t1 = now_us();
        fn((void *const *)args, sh, PROFILE_SHARES);
        s->share_us[(s->kernel_at[g] + k) * PROFILE_SHARES + (size_t)sh] += now_us() - t1;
      }
    else
      mt_cpu_pool_run(s->pool, fn, (void *const *)args);
    double us = now_us() - t0;
    s->kernel_us[s->kernel_at[g] + k] = us;
    if (s->kernel_total_us) s->kernel_total_us[s->kernel_at[g] + k] += us;
  }
  return true;
}

/* One group of the plan (mt_cpu_group_fn): its generated kernels, or its nodes of the tenant
 * being run, in order. */
MT_MUST_USE static mt_status *run_group(void *ctx, size_t g) {
  mtrt_session *s = ctx;
  const Mtbundle__Manifest *m = s->bundle->b.manifest;
  if (run_generated(s, g)) return NULL;
  const Mtbundle__Group *gr = m->groups[g];
  for (size_t i = gr->first_node; i < (size_t)gr->first_node + gr->n_nodes; i++) {
    const Mtbundle__Node *n = m->nodes[i];
    if (s->run_tenant >= 0 && n->tenant != s->run_tenant) continue;
    double t0 = now_us();
    mt_status *st = run_node(s, n, &s->bundle->b.calls[i]);
    s->node_us[i] = now_us() - t0;
    if (st)
      return mt_status_annotate(st, "tenant '%s': node '%s'", m->tenants[n->tenant]->name, n->name);
  }
  return NULL;
}

/* Every input and output of the tenants asked for is bound. */
MT_MUST_USE static mt_status *check_bound(mtrt_session *s, int tenant) {
  const Mtbundle__Manifest *m = s->bundle->b.manifest;
  if (tenant < -1 || (tenant >= 0 && (size_t)tenant >= m->n_tenants))
    return MT_ERR(OUT_OF_RANGE, "tenant index %d is out of range", tenant);
  for (size_t t = 0; t < m->n_tenants; t++) {
    if (tenant >= 0 && (size_t)tenant != t) continue;
    const Mtbundle__Tenant *tn = m->tenants[t];
    for (size_t i = 0; i < tn->n_inputs; i++)
      if (!s->inputs[t][i].in)
        return MT_ERR(INVALID_ARGUMENT, "tenant '%s': input '%s' is not bound", tn->name,
                      tn->inputs[i]->name);
    for (size_t i = 0; i < tn->n_outputs; i++)
      if (!s->outputs[t][i].out)
        return MT_ERR(INVALID_ARGUMENT, "tenant '%s': output '%s' is not bound", tn->name,
                      tn->outputs[i]->name);
  }
  return NULL;
}

/* Adds each generated kernel's time to its tenant's; a kernel of several tenants (a horizontal
 * group) is shared evenly by the tenants with nodes in its group. */
static void add_kernel_times(mtrt_session *s) {
  const Mtbundle__Manifest *m = s->bundle->b.manifest;
  for (size_t g = 0; g < m->n_cpu_groups; g++) {
    const Mtbundle__Group *gr = m->groups[g];
    size_t first = gr->first_node, end = first + gr->n_nodes, n = 0;
    for (size_t k = 0; k < m->cpu_groups[g]->n_kernels; k++) {
      double us = s->kernel_us[s->kernel_at[g] + k];
      int32_t t = m->cpu_groups[g]->kernels[k]->tenant;
      if (t >= 0) {
        s->time_us[t] += us;
        continue;
      }
      if (n == 0) /* the group's distinct tenants, marked with the group's index */
        for (size_t i = first; i < end; i++)
          if (s->tenant_mark[m->nodes[i]->tenant] != g + 1) {
            s->tenant_mark[m->nodes[i]->tenant] = g + 1;
            n++;
          }
      for (size_t t2 = 0; t2 < m->n_tenants; t2++)
        if (s->tenant_mark[t2] == g + 1) s->time_us[t2] += us / (double)n;
    }
  }
}

/* The CPU path: the plan's groups on the session's CPU threads. */
MT_MUST_USE static mt_status *run_cpu(mtrt_session *s, int tenant) {
  const Mtbundle__Manifest *m = s->bundle->b.manifest;
  for (size_t t = 0; t < m->n_tenants; t++)
    if (tenant < 0 || (size_t)tenant == t) s->time_us[t] = 0;
  s->run_tenant = tenant;
  memset(s->node_us, 0, m->n_nodes * sizeof *s->node_us);
  if (s->kernel_us) memset(s->kernel_us, 0, s->kernel_at[m->n_cpu_groups] * sizeof *s->kernel_us);
  MT_RETURN_IF_ERROR_PLAIN(mt_cpu_schedule_run(s->schedule, run_group, s));
  for (size_t i = 0; i < m->n_nodes; i++)
    if (tenant < 0 || m->nodes[i]->tenant == tenant)
      s->time_us[m->nodes[i]->tenant] += s->node_us[i];
  if (s->kernel_us) add_kernel_times(s);
  s->profiled_runs++;
  for (size_t t = 0; t < m->n_tenants; t++) {
    if (tenant >= 0 && (size_t)tenant != t) continue;
    const Mtbundle__Tenant *tn = m->tenants[t];
    for (size_t i = 0; i < tn->n_outputs; i++) {
      size_t nb = mt_bundle_type_bytes(tn->outputs[i]->type);
      const void *src = resolve(s, tn->outputs[i]->source);
      if (nb) memmove(s->outputs[t][i].out, src, nb);
    }
  }
  return NULL;
}

mtrt_status *mtrt_session_run_async(mtrt_session *s, int tenant) {
  mt_status *st = check_bound(s, tenant);
  if (st) return pub(st);
  return pub(s->gpu ? mt_gpu_session_launch(s->gpu, tenant) : run_cpu(s, tenant));
}

mtrt_status *mtrt_session_wait(mtrt_session *s) {
  return pub(s->gpu ? mt_gpu_session_wait(s->gpu) : NULL);
}

mtrt_status *mtrt_session_run(mtrt_session *s, int tenant) {
  mtrt_status *st = mtrt_session_run_async(s, tenant);
  return st ? st : mtrt_session_wait(s);
}

const char *mtrt_session_device_name(const mtrt_session *s) {
  return s->gpu ? mt_gpu_session_device_name(s->gpu) : "cpu";
}

const char *mtrt_session_device_note(const mtrt_session *s) { return s->note; }

double mtrt_session_tenant_predicted_us(const mtrt_session *s, int t) {
  const Mtbundle__Tenant *tn = tenant_of(s->bundle, t);
  return tn ? tn->predicted_us : 0;
}

int mtrt_bundle_partition_count(const mtrt_bundle *b) { return (int)b->b.manifest->n_partitions; }

mtrt_status *mtrt_session_partition_info(const mtrt_session *s, int p, mtrt_partition_info *out) {
  const Mtbundle__Manifest *m = s->bundle->b.manifest;
  if (p < 0 || (size_t)p >= m->n_partitions)
    return pub(MT_ERR(OUT_OF_RANGE, "partition index %d is out of range (%zu partitions)", p,
                      m->n_partitions));
  memset(out, 0, sizeof *out);
  out->name = m->partitions[p]->name;
  if (s->gpu) {
    bool hard = false;
    mt_gpu_session_partition(s->gpu, p, &out->granted_sms, &out->actual_sms, &hard);
    out->hard = hard;
  }
  return NULL;
}

const char *mtrt_session_cpu_target(const mtrt_session *s) {
  return s->cpu ? mt_cpu_code_target(s->cpu) : "";
}

double mtrt_session_tenant_time_us(const mtrt_session *s, int t) {
  if (t < 0 || (size_t)t >= s->bundle->b.manifest->n_tenants) return 0;
  return s->gpu ? mt_gpu_session_tenant_time_us(s->gpu, t) : s->time_us[t];
}
