/* The GPU session (runtime/gpu/gpu_session.h): device and code, SM budgets (green contexts or soft),
 * device memory allocated once, graphs instantiated once and replayed, launches per arrival mode.
 * Everything here runs only against a real driver: on machines without one,
 * mt_gpu_session_create stops at the driver's status. */
#include "runtime/gpu/gpu_session.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/gpu/gemm_plan.h"
#include "runtime/gpu/gpu_internal.h"

#ifdef MTRT_HAVE_CUDA_H

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void note_add(mt_gpu_session *g, const char *text) {
  size_t len = strlen(g->note);
  snprintf(g->note + len, sizeof g->note - len, "%s%s", len ? "; " : "", text);
}

CUdeviceptr mt_gpu_resolve(void *session, const Mtbundle__BufferRef *r) {
  mt_gpu_session *g = session;
  const Mtbundle__Manifest *m = g->bundle->manifest;
  if (!r) return 0;
  switch (r->kind) {
  case MTBUNDLE__BUFFER_REF__KIND__CONSTANT: return g->weights + m->constants[r->index]->offset;
  case MTBUNDLE__BUFFER_REF__KIND__INPUT: return g->in[r->tenant][r->index].dev;
  case MTBUNDLE__BUFFER_REF__KIND__ARENA: return g->parts[r->partition].arena + r->offset;
  case MTBUNDLE__BUFFER_REF__KIND__SCRATCH: return g->scratch + r->offset;
  default: return 0;
  }
}

/* ---- code ---- */

/* One module: the image mt_bundle_module_image picks for the device (its cubin, a binary-
 * compatible cubin, else the PTX, which the driver JIT-compiles). */
MT_MUST_USE static mt_status *load_module(mt_gpu_session *g, size_t mi, bool *jit) {
  const mt_bundle *b = g->bundle;
  const Mtbundle__GpuModule *mod = b->manifest->gpu_modules[mi];
  uint32_t image;
  bool ptx = false;
  const uint8_t *bytes;
  size_t size;
  mt_status *st = mt_bundle_module_image(b, (uint32_t)mi, g->cc_major, g->cc_minor, &image, &ptx);
  if (st) {
    /* no image this device can run: a bundle feature this device lacks, not a corrupt file */
    mt_status *why = MT_ERR(UNIMPLEMENTED, "%s", mt_status_message(st));
    mt_status_free(st);
    return why;
  }
  MT_RETURN_IF_ERROR_PLAIN(mt_bundle_code_image(b, image, &bytes, &size));
  /* the driver reads PTX as a NUL-terminated string; the section stores it without the NUL */
  char *text = NULL;
  const void *code = bytes;
  if (ptx) {
    if (!(text = malloc(size + 1))) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    memcpy(text, bytes, size);
    text[size] = '\0';
    code = text;
    *jit = true;
  }
  const mt_cu_api *cu = g->cu;
  st = mt_cu_check(cu, cu->cuLibraryLoadData(&g->libs[mi], code, NULL, NULL, 0, NULL, NULL, 0),
                   "cuLibraryLoadData");
  free(text);
  if (!st)
    st = mt_cu_check(cu, cu->cuLibraryGetKernel(&g->kernels[mi], g->libs[mi], mod->entry),
                     "cuLibraryGetKernel");
  return st ? mt_status_annotate(st, "module '%s' (%s %s)", mod->entry, ptx ? "PTX" : "cubin",
                                 b->manifest->code_images[image]->arch)
            : NULL;
}

MT_MUST_USE static mt_status *load_code(mt_gpu_session *g) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  g->libs = calloc(m->n_gpu_modules + 1, sizeof *g->libs);
  g->kernels = calloc(m->n_gpu_modules + 1, sizeof *g->kernels);
  if (!g->libs || !g->kernels) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  bool jit = false;
  for (size_t i = 0; i < m->n_gpu_modules; i++) MT_RETURN_IF_ERROR_PLAIN(load_module(g, i, &jit));
  /* launches asking for more than the default 48 KiB of dynamic shared memory */
  for (size_t gi = 0; gi < m->n_gpu_groups; gi++)
    for (size_t s = 0; s < m->gpu_groups[gi]->n_steps; s++) {
      const Mtbundle__GpuStep *step = m->gpu_groups[gi]->steps[s];
      if (step->step_case != MTBUNDLE__GPU_STEP__STEP_LAUNCH || step->launch->dyn_smem <= 48 * 1024)
        continue;
      MT_CU_TRY(g->cu, cuKernelSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                            (int)step->launch->dyn_smem,
                                            g->kernels[step->launch->module], g->dev));
    }
  if (jit) {
    char line[64];
    snprintf(line, sizeof line, "PTX JIT for %s", g->arch);
    note_add(g, line);
  }
  return NULL;
}

/* ---- SM budgets ---- */

static int grant_for(const mt_gpu_session *g, const Mtbundle__Partition *p) {
  for (size_t i = 0; i < p->n_grants; i++)
    if (strcmp(p->grants[i]->arch, g->arch) == 0) return p->grants[i]->sm_count;
  return 0;
}

/* Green contexts for every partition from one split of the device's SMs, or a reason why not
 * (then every partition gets a soft budget; nothing was created). */
static const char *green_contexts(mt_gpu_session *g, char *why, size_t why_n) {
  const mt_cu_api *cu = g->cu;
  const Mtbundle__Manifest *m = g->bundle->manifest;
  size_t np = m->n_partitions;
  if (!cu->has_green_contexts) return "the driver has no green contexts";
  CUdevResource all;
  if (cu->cuDeviceGetDevResource(g->dev, &all, CU_DEV_RESOURCE_TYPE_SM) != CUDA_SUCCESS)
    return "cuDeviceGetDevResource failed";
  unsigned gran = all.sm.minSmPartitionSize;
  if (all.sm.smCoscheduledAlignment > gran) gran = all.sm.smCoscheduledAlignment;
  if (gran == 0) gran = 1;
  unsigned chunks = 0;
  for (size_t p = 0; p < np; p++) {
    unsigned want = (unsigned)g->parts[p].granted;
    if (want == 0 || want % gran) {
      snprintf(why, why_n, "partition %zu's grant of %u SMs for %s is not a multiple of %u", p,
               want, g->arch, gran);
      return why;
    }
    chunks += want / gran;
  }
  if ((unsigned long long)chunks * gran > all.sm.smCount) {
    snprintf(why, why_n, "the grants need %u SMs; the device has %u", chunks * gran,
             all.sm.smCount);
    return why;
  }
  CUdevResource *res = calloc(chunks + 1, sizeof *res);
  if (!res) return "out of memory";
  unsigned made = chunks;
  CUdevResource rest;
  const char *fail = NULL;
  /* one split for every partition: separately created green contexts may overlap */
  if (cu->cuDevSmResourceSplitByCount(res, &made, &all, &rest, 0, gran) != CUDA_SUCCESS)
    fail = "cuDevSmResourceSplitByCount failed";
  else if (made < chunks) {
    snprintf(why, why_n, "the split gave %u groups of %u SMs, %u needed", made, gran, chunks);
    fail = why;
  }
  unsigned next = 0;
  for (size_t p = 0; !fail && p < np; p++) {
    gpu_partition *part = &g->parts[p];
    unsigned n = (unsigned)part->granted / gran;
    CUdevResourceDesc desc;
    CUdevResource got;
    if (cu->cuDevResourceGenerateDesc(&desc, res + next, n) != CUDA_SUCCESS ||
        cu->cuGreenCtxCreate(&part->green, desc, g->dev, CU_GREEN_CTX_DEFAULT_STREAM) !=
            CUDA_SUCCESS ||
        cu->cuCtxFromGreenCtx(&part->ctx, part->green) != CUDA_SUCCESS ||
        cu->cuGreenCtxGetDevResource(part->green, &got, CU_DEV_RESOURCE_TYPE_SM) != CUDA_SUCCESS) {
      snprintf(why, why_n, "creating partition %zu's green context failed", p);
      fail = why;
      break;
    }
    next += n;
    part->actual = (int)got.sm.smCount;
    part->hard = true;
  }
  free(res);
  if (fail)
    for (size_t p = 0; p < np; p++) {
      if (g->parts[p].green) cu->cuGreenCtxDestroy(g->parts[p].green);
      g->parts[p].green = NULL;
      g->parts[p].hard = false;
      g->parts[p].actual = 0;
    }
  return fail;
}

MT_MUST_USE static mt_status *make_partitions(mt_gpu_session *g) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  const mt_cu_api *cu = g->cu;
  size_t np = m->n_partitions;
  if (!(g->parts = calloc(np, sizeof *g->parts)))
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  bool all_granted = true;
  for (size_t p = 0; p < np; p++) {
    g->parts[p].granted = grant_for(g, m->partitions[p]);
    all_granted = all_granted && g->parts[p].granted > 0;
  }
  char why[200];
  /* MTRT_GPU_BUDGETS=soft: soft budgets on purpose (to compare, or where green contexts
   * misbehave); the note says so */
  const char *force = getenv("MTRT_GPU_BUDGETS");
  const char *soft = force && strcmp(force, "soft") == 0 ? "MTRT_GPU_BUDGETS=soft"
                     : all_granted                       ? green_contexts(g, why, sizeof why)
                                   : "the bundle grants no SM count for this arch";
  char line[320];
  if (soft) {
    snprintf(line, sizeof line,
             "soft SM budgets (%s): kernel grids as generated, cuBLAS SM-count targets", soft);
  } else {
    int mismatch = -1;
    for (size_t p = 0; p < np; p++)
      if (g->parts[p].actual != g->parts[p].granted) mismatch = (int)p;
    if (mismatch < 0)
      snprintf(line, sizeof line, "hard SM budgets: one green context per partition");
    else
      snprintf(line, sizeof line,
               "hard SM budgets: green contexts, but partition %d holds %d SMs where the bundle "
               "grants %d",
               mismatch, g->parts[mismatch].actual, g->parts[mismatch].granted);
  }
  note_add(g, line);
  for (size_t p = 0; p < np; p++) {
    gpu_partition *part = &g->parts[p];
    if (!part->hard) part->ctx = g->primary;
    part->n_streams = m->partitions[p]->n_streams > 0 ? m->partitions[p]->n_streams : 1;
    if (!(part->streams = calloc((size_t)part->n_streams, sizeof *part->streams)))
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (int s = 0; s < part->n_streams; s++) {
      if (part->hard)
        MT_CU_TRY(
            cu, cuGreenCtxStreamCreate(&part->streams[s], part->green, CU_STREAM_NON_BLOCKING, 0));
      else
        MT_CU_TRY(cu, cuStreamCreate(&part->streams[s], CU_STREAM_NON_BLOCKING));
    }
    part->launch = part->streams[0];
  }
  return NULL;
}

/* ---- memory ---- */

MT_MUST_USE static mt_status *device_alloc(mt_gpu_session *g, CUdeviceptr *out, uint64_t bytes,
                                           const char *what) {
  *out = 0;
  if (!bytes) return NULL;
  MT_RETURN_IF_ERROR(mt_cu_check(g->cu, g->cu->cuMemAlloc(out, (size_t)bytes), "cuMemAlloc"),
                     "%s (%llu bytes)", what, (unsigned long long)bytes);
  return NULL;
}

MT_MUST_USE static mt_status *alloc_ports(mt_gpu_session *g) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  size_t nt = m->n_tenants;
  g->in = calloc(nt, sizeof *g->in);
  g->out = calloc(nt, sizeof *g->out);
  g->in_base = calloc(nt, sizeof *g->in_base);
  g->out_base = calloc(nt, sizeof *g->out_base);
  if (!g->in || !g->out || !g->in_base || !g->out_base)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t t = 0; t < nt; t++) {
    const Mtbundle__Tenant *tn = m->tenants[t];
    g->in_base[t] = g->n_in;
    g->out_base[t] = g->n_out;
    g->n_in += tn->n_inputs;
    g->n_out += tn->n_outputs;
    g->in[t] = calloc(tn->n_inputs + 1, sizeof **g->in);
    g->out[t] = calloc(tn->n_outputs + 1, sizeof **g->out);
    if (!g->in[t] || !g->out[t]) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < tn->n_inputs + tn->n_outputs; i++) {
      bool input = i < tn->n_inputs;
      gpu_port *p = input ? &g->in[t][i] : &g->out[t][i - tn->n_inputs];
      const Mtbundle__Port *port = input ? tn->inputs[i] : tn->outputs[i - tn->n_inputs];
      p->nbytes = mt_bundle_type_bytes(port->type);
      if (!p->nbytes) continue;
      if (input) MT_RETURN_IF_ERROR_PLAIN(device_alloc(g, &p->dev, p->nbytes, "tenant input"));
      MT_RETURN_IF_ERROR(
          mt_cu_check(g->cu, g->cu->cuMemAllocHost(&p->pinned, p->nbytes), "cuMemAllocHost"),
          "tenant '%s' port '%s' staging", tn->name, port->name);
    }
  }
  return NULL;
}

MT_MUST_USE static mt_status *alloc_memory(mt_gpu_session *g) {
  const mt_bundle *b = g->bundle;
  const Mtbundle__Manifest *m = b->manifest;
  /* weights once per session, straight from the mapping */
  MT_RETURN_IF_ERROR_PLAIN(device_alloc(g, &g->weights, b->weight_bytes, "weights"));
  if (b->weight_bytes) MT_CU_TRY(g->cu, cuMemcpyHtoD(g->weights, b->weights, b->weight_bytes));
  for (size_t p = 0; p < m->n_partitions; p++)
    MT_RETURN_IF_ERROR(device_alloc(g, &g->parts[p].arena, m->partitions[p]->arena_bytes, "arena"),
                       "partition '%s'", m->partitions[p]->name);
  MT_RETURN_IF_ERROR_PLAIN(device_alloc(g, &g->scratch, m->scratch_bytes, "scratch"));
  return alloc_ports(g);
}

/* What preparing a group's library calls gathers (prepare_steps). */
typedef struct libcall_tally {
  uint64_t need; /* the most workspace one call of the group needs */
  bool has;      /* the group (or a body of one of its conditionals) has a call */
  int grouped, per_problem;
  const char *why_not;
  int32_t *group_of_body; /* per GPU body: the group whose conditional runs it */
} libcall_tally;

/* Prepares the library calls among steps (of group gi, or of a body of one of its conditionals,
 * recursively: a body runs on the group's stream, so its calls share the group's workspace) into
 * *calls, allocated (one entry per step) at the first call. The bodies' structure was checked
 * when the bundle was loaded: each body belongs to one conditional, nesting is bounded. */
MT_MUST_USE static mt_status *prepare_steps(mt_gpu_session *g, size_t gi,
                                            Mtbundle__GpuStep *const *steps, size_t n_steps,
                                            mt_gpu_gemm_call ***calls, libcall_tally *t) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  for (size_t s = 0; s < n_steps; s++) {
    if (steps[s]->step_case == MTBUNDLE__GPU_STEP__STEP_CONDITIONAL) {
      uint32_t bodies[2] = {steps[s]->conditional->then_body, steps[s]->conditional->else_body};
      for (int k = 0; k < 2; k++) {
        const Mtbundle__GpuBody *b = m->gpu_bodies[bodies[k]];
        t->group_of_body[bodies[k]] = (int32_t)gi;
        MT_RETURN_IF_ERROR(prepare_steps(g, gi, b->steps, b->n_steps, &g->body_gemms[bodies[k]], t),
                           "GPU body %u", bodies[k]);
      }
      continue;
    }
    if (steps[s]->step_case != MTBUNDLE__GPU_STEP__STEP_LIBCALL) continue;
    if (!*calls && !(*calls = calloc(n_steps, sizeof **calls)))
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    t->has = true;
    MT_RETURN_IF_ERROR(
        mt_gpu_gemm_prepare(steps[s]->libcall, mt_gpu_resolve, g, g->cu, &(*calls)[s]), "step %zu",
        s);
    uint64_t n = mt_gpu_gemm_workspace_need((*calls)[s]);
    if (n > t->need) t->need = n;
    const char *how = mt_gpu_gemm_how((*calls)[s]);
    if (how && strcmp(how, "grouped") == 0)
      t->grouped++;
    else if (how)
      t->per_problem++, t->why_not = how;
  }
  return NULL;
}

/* Prepared library calls (If bodies' included), then their workspaces: one per (partition,
 * stream) with calls, sized to the most its calls' chosen algorithms need
 * (runtime/gpu/gemm_plan.h; calls on one stream run in order, so they share), allocated once and
 * bound to every call. The note says how many bytes that is and how grouped calls are issued. */
MT_MUST_USE static mt_status *prepare_libcalls(mt_gpu_session *g) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  size_t ng = m->n_groups, nb = m->n_gpu_bodies;
  g->gemms = calloc(ng + 1, sizeof *g->gemms);
  g->body_gemms = calloc(nb + 1, sizeof *g->body_gemms);
  bool *has = calloc(ng + 1, sizeof *has);
  uint64_t *need = calloc(ng + 1, sizeof *need);
  int32_t *slot = calloc(ng + 1, sizeof *slot);
  libcall_tally t = {.group_of_body = calloc(nb + 1, sizeof *t.group_of_body)};
  mt_status *st = g->gemms && g->body_gemms && has && need && slot && t.group_of_body
                      ? NULL
                      : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t gi = 0; !st && gi < ng; gi++) {
    const Mtbundle__GpuGroup *gg = m->gpu_groups[gi];
    st = mt_cu_check(g->cu, g->cu->cuCtxSetCurrent(g->parts[m->groups[gi]->partition].ctx),
                     "cuCtxSetCurrent");
    t.need = 0;
    t.has = false;
    if (!st) st = prepare_steps(g, gi, gg->steps, gg->n_steps, &g->gemms[gi], &t);
    if (st) st = mt_status_annotate(st, "group %zu", gi);
    has[gi] = t.has;
    need[gi] = t.need;
  }
  int grouped = t.grouped, per_problem = t.per_problem;
  const char *why_not = t.why_not;
  uint64_t *bytes = NULL;
  if (!st) st = mt_gemm_workspace_plan(m, has, need, slot, &bytes, &g->n_workspaces);
  if (!st && !(g->workspaces = calloc((size_t)g->n_workspaces + 1, sizeof *g->workspaces)))
    st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  uint64_t total = 0;
  for (int32_t k = 0; !st && k < g->n_workspaces; k++) {
    st = device_alloc(g, &g->workspaces[k], bytes[k], "library-call workspace");
    total += bytes[k];
  }
  for (size_t gi = 0; !st && gi < ng; gi++)
    for (size_t s = 0; g->gemms[gi] && s < m->gpu_groups[gi]->n_steps; s++)
      if (g->gemms[gi][s])
        mt_gpu_gemm_bind_workspace(g->gemms[gi][s], g->workspaces[slot[gi]], bytes[slot[gi]]);
  for (size_t b = 0; !st && b < nb; b++) {
    int32_t k = slot[t.group_of_body[b]];
    for (size_t s = 0; g->body_gemms[b] && s < m->gpu_bodies[b]->n_steps; s++)
      if (g->body_gemms[b][s])
        mt_gpu_gemm_bind_workspace(g->body_gemms[b][s], g->workspaces[k], bytes[k]);
  }
  free(t.group_of_body);
  if (!st && g->n_workspaces) {
    char line[400];
    snprintf(line, sizeof line,
             "library-call workspaces: %d (one per partition stream), %.2f MiB as the chosen "
             "algorithms need",
             g->n_workspaces, (double)total / 1048576.0);
    note_add(g, line);
  }
  if (!st && (grouped || per_problem)) {
    char line[400];
    snprintf(line, sizeof line,
             "grouped GEMM calls: %d as one cublasGemmGroupedBatchedEx each, %d problem by "
             "problem%s%s",
             grouped, per_problem, why_not ? " (" : "", why_not ? why_not : "");
    if (why_not) strncat(line, ")", sizeof line - strlen(line) - 1);
    note_add(g, line);
  }
  free(has);
  free(need);
  free(slot);
  free(bytes);
  mt_status *restore = mt_cu_check(g->cu, g->cu->cuCtxSetCurrent(g->primary), "cuCtxSetCurrent");
  if (st) {
    mt_status_free(restore);
    return st;
  }
  return restore;
}

MT_MUST_USE static mt_status *make_lanes(mt_gpu_session *g) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  size_t nt = m->n_tenants;
  g->lane = calloc(nt, sizeof *g->lane);
  g->lane_streams = calloc(nt, sizeof *g->lane_streams);
  g->tenant_execs = calloc(nt, sizeof *g->tenant_execs);
  g->flight = calloc(nt, sizeof *g->flight);
  g->pending = calloc(nt, sizeof *g->pending);
  g->time_us = calloc(nt, sizeof *g->time_us);
  if (!g->lane || !g->lane_streams || !g->tenant_execs || !g->flight || !g->pending || !g->time_us)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  MT_RETURN_IF_ERROR_PLAIN(mt_gpu_graph_lanes(m, g->lane));
  MT_CU_TRY(g->cu, cuStreamCreate(&g->round_stream, CU_STREAM_NON_BLOCKING));
  for (size_t t = 0; t < nt; t++)
    if (g->lane[t] == (int32_t)t)
      MT_CU_TRY(g->cu, cuStreamCreate(&g->lane_streams[t], CU_STREAM_NON_BLOCKING));
  return NULL;
}

MT_MUST_USE static mt_status *open_device(mt_gpu_session *g) {
  const mt_cu_api *cu = g->cu;
  if (g->options.gpu_index < 0 || g->options.gpu_index >= cu->device_count)
    return MT_ERR(UNAVAILABLE, "device gpu %d: the driver sees %d GPU(s)", g->options.gpu_index,
                  cu->device_count);
  MT_CU_TRY(cu, cuDeviceGet(&g->dev, g->options.gpu_index));
  int major = 0, minor = 0, sms = 0;
  MT_CU_TRY(cu, cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, g->dev));
  MT_CU_TRY(cu, cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, g->dev));
  MT_CU_TRY(cu, cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, g->dev));
  char dev_name[96] = "";
  MT_CU_TRY(cu, cuDeviceGetName(dev_name, (int)sizeof dev_name, g->dev));
  snprintf(g->arch, sizeof g->arch, "sm_%d%d", major, minor);
  g->cc_major = major;
  g->cc_minor = minor;
  snprintf(g->name, sizeof g->name, "gpu %d", g->options.gpu_index);
  snprintf(g->note, sizeof g->note, "gpu %d (%s, %s, %d SMs, CUDA driver %d.%d)",
           g->options.gpu_index, dev_name, g->arch, sms, cu->driver_version / 1000,
           cu->driver_version % 1000 / 10);
  MT_CU_TRY(cu, cuDevicePrimaryCtxRetain(&g->primary, g->dev));
  MT_CU_TRY(cu, cuCtxSetCurrent(g->primary));
  return NULL;
}

/* Session setup and graph instantiation are serialised process-wide. On the H200 (2026-11-30,
 * docs/gpu-facts.md) 8 threads creating sessions at once made a cublasLtMatmul issued while
 * building a graph fail now and then (status 14, internal error) while sequential sessions never
 * did; setup happens once per session (and per re-instantiation), so rounds stay concurrent. */
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;

MT_MUST_USE static mt_status *exec_create_locked(mt_gpu_session *g, const mt_gpu_graph *d,
                                                 gpu_exec **out) {
  pthread_mutex_lock(&setup_lock);
  mt_status *st = mt_gpu_exec_create(g, d, out);
  pthread_mutex_unlock(&setup_lock);
  return st;
}

MT_MUST_USE static mt_status *session_create(const mt_bundle *b, const mt_gpu_options *o,
                                             mt_gpu_session **out);

mt_status *mt_gpu_session_create(const mt_bundle *b, const mt_gpu_options *o,
                                 mt_gpu_session **out) {
  pthread_mutex_lock(&setup_lock);
  mt_status *st = session_create(b, o, out);
  pthread_mutex_unlock(&setup_lock);
  return st;
}

static mt_status *session_create(const mt_bundle *b, const mt_gpu_options *o,
                                 mt_gpu_session **out) {
  *out = NULL;
  const mt_cu_api *cu;
  MT_RETURN_IF_ERROR(mt_cu_api_get(&cu), "device gpu %d", o->gpu_index);
  /* the round graph first: a bundle without a GPU plan fails before any device memory */
  mt_gpu_graph *round = NULL;
  MT_RETURN_IF_ERROR(mt_gpu_graph_build(b->manifest, -1, &round), "device gpu %d", o->gpu_index);
  mt_gpu_session *g = calloc(1, sizeof *g);
  if (!g) {
    mt_gpu_graph_free(round);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  g->bundle = b;
  g->cu = cu;
  g->options = *o;
  g->round_desc = round;
  /* MTRT_GPU_GRAPHS=per-partition: one graph per partition from the start (the fallback path,
   * on purpose); the note says so */
  const char *graphs = getenv("MTRT_GPU_GRAPHS");
  g->split_graphs = graphs && strcmp(graphs, "per-partition") == 0 && b->manifest->n_partitions > 1;
  mt_status *st = open_device(g);
  if (!st) st = load_code(g);
  if (!st) st = make_partitions(g);
  if (!st) st = alloc_memory(g);
  if (!st) st = prepare_libcalls(g);
  if (!st) st = make_lanes(g);
  /* the round graph is instantiated now (once); per-tenant graphs on their first launch */
  if (!st) st = mt_gpu_exec_create(g, g->round_desc, &g->round);
  if (!st) {
    char line[160];
    snprintf(line, sizeof line, "round graph of %zu nodes: %s", g->round_desc->n_nodes,
             g->split_graphs ? (graphs && strcmp(graphs, "per-partition") == 0
                                    ? "one graph per partition (MTRT_GPU_GRAPHS=per-partition)"
                                    : "one graph per partition")
                             : "one graph across every partition");
    note_add(g, line);
  }
  if (st) {
    mt_gpu_session_destroy(g);
    return mt_status_annotate(st, "device gpu %d", o->gpu_index);
  }
  *out = g;
  return NULL;
}

void mt_gpu_session_destroy(mt_gpu_session *g) {
  if (!g) return;
  const mt_cu_api *cu = g->cu;
  const Mtbundle__Manifest *m = g->bundle->manifest;
  if (g->primary) cu->cuCtxSetCurrent(g->primary);
  if (g->round_stream) cu->cuStreamSynchronize(g->round_stream);
  for (size_t t = 0; g->lane_streams && t < m->n_tenants; t++)
    if (g->lane_streams[t]) {
      cu->cuStreamSynchronize(g->lane_streams[t]);
      cu->cuStreamDestroy(g->lane_streams[t]);
    }
  for (size_t p = 0; g->parts && p < m->n_partitions; p++)
    for (int s = 0; g->parts[p].streams && s < g->parts[p].n_streams; s++)
      if (g->parts[p].streams[s]) cu->cuStreamSynchronize(g->parts[p].streams[s]);
  mt_gpu_exec_destroy(g, g->round);
  for (size_t t = 0; g->tenant_execs && t < m->n_tenants; t++)
    mt_gpu_exec_destroy(g, g->tenant_execs[t]);
  if (g->round_stream) cu->cuStreamDestroy(g->round_stream);
  for (size_t gi = 0; g->gemms && gi < m->n_groups; gi++) {
    for (size_t s = 0; g->gemms[gi] && s < m->gpu_groups[gi]->n_steps; s++)
      mt_gpu_gemm_free(g->gemms[gi][s], cu);
    free(g->gemms[gi]);
  }
  for (size_t b = 0; g->body_gemms && b < m->n_gpu_bodies; b++) {
    for (size_t s = 0; g->body_gemms[b] && s < m->gpu_bodies[b]->n_steps; s++)
      mt_gpu_gemm_free(g->body_gemms[b][s], cu);
    free(g->body_gemms[b]);
  }
  for (int32_t k = 0; g->workspaces && k < g->n_workspaces; k++)
    if (g->workspaces[k]) cu->cuMemFree(g->workspaces[k]);
  for (size_t t = 0; t < m->n_tenants; t++) {
    for (size_t i = 0; g->in && g->in[t] && i < m->tenants[t]->n_inputs; i++) {
      if (g->in[t][i].dev) cu->cuMemFree(g->in[t][i].dev);
      if (g->in[t][i].pinned) cu->cuMemFreeHost(g->in[t][i].pinned);
    }
    for (size_t i = 0; g->out && g->out[t] && i < m->tenants[t]->n_outputs; i++)
      if (g->out[t][i].pinned) cu->cuMemFreeHost(g->out[t][i].pinned);
    if (g->in) free(g->in[t]);
    if (g->out) free(g->out[t]);
  }
  for (size_t p = 0; g->parts && p < m->n_partitions; p++) {
    gpu_partition *part = &g->parts[p];
    for (int s = 0; part->streams && s < part->n_streams; s++)
      if (part->streams[s]) cu->cuStreamDestroy(part->streams[s]);
    free(part->streams);
    if (part->arena) cu->cuMemFree(part->arena);
    if (part->green) cu->cuGreenCtxDestroy(part->green);
  }
  if (g->weights) cu->cuMemFree(g->weights);
  if (g->scratch) cu->cuMemFree(g->scratch);
  for (size_t i = 0; g->libs && i < m->n_gpu_modules; i++)
    if (g->libs[i]) cu->cuLibraryUnload(g->libs[i]);
  if (g->primary) cu->cuDevicePrimaryCtxRelease(g->dev);
  mt_gpu_graph_free(g->round_desc);
  free(g->libs);
  free(g->kernels);
  free(g->gemms);
  free(g->body_gemms);
  free(g->workspaces);
  free(g->in);
  free(g->out);
  free(g->in_base);
  free(g->out_base);
  free(g->parts);
  free(g->lane);
  free(g->lane_streams);
  free(g->tenant_execs);
  free(g->flight);
  free(g->pending);
  free(g->time_us);
  free(g);
}

mt_status *mt_gpu_session_bind(mt_gpu_session *g, int t, int port, bool input, const void *host,
                               uint64_t device) {
  gpu_port *p = input ? &g->in[t][port] : &g->out[t][port];
  p->bound = true;
  p->bound_dev = host ? 0 : (CUdeviceptr)device;
  if (input)
    p->host_in = host;
  else
    p->host_out = (void *)host;
  return NULL;
}

/* ---- launching ---- */

static bool launched_in(const gpu_exec *e, size_t t) { return e->ends[t] != NULL; }

/* Completes every tenant that e launched: waits for its streams, delivers host outputs, reads
 * the events. */
MT_MUST_USE static mt_status *finish(mt_gpu_session *g, gpu_exec *e, CUstream stream) {
  const mt_cu_api *cu = g->cu;
  const Mtbundle__Manifest *m = g->bundle->manifest;
  MT_CU_TRY(cu, cuCtxSetCurrent(g->primary));
  if (e->n_pieces == 1)
    MT_CU_TRY(cu, cuStreamSynchronize(stream));
  else
    for (int p = 0; p < e->n_pieces; p++) MT_CU_TRY(cu, cuStreamSynchronize(g->parts[p].launch));
  for (size_t t = 0; t < m->n_tenants; t++) {
    if (g->flight[t] != e) continue;
    g->flight[t] = NULL;
    for (size_t o = 0; o < m->tenants[t]->n_outputs; o++) {
      gpu_port *p = &g->out[t][o];
      if (!p->bound_dev && p->nbytes) memcpy(p->host_out, p->pinned, p->nbytes);
    }
    float ms = 0;
    /* timing is a report, not a result: a failure is said once in the note, the run stands */
    mt_status *timing =
        launched_in(e, t)
            ? mt_cu_check(cu, cu->cuEventElapsedTime(&ms, e->starts[e->end_piece[t]], e->ends[t]),
                          "cuEventElapsedTime")
            : NULL;
    if (timing && !strstr(g->note, "no measured times")) {
      char line[200];
      snprintf(line, sizeof line, "no measured times: %.160s", mt_status_message(timing));
      note_add(g, line);
    }
    mt_status_free(timing);
    g->time_us[t] = timing ? 0 : (double)ms * 1000.0;
  }
  return NULL;
}

static CUstream stream_of(mt_gpu_session *g, gpu_exec *e) {
  if (e == g->round) return g->round_stream;
  for (size_t t = 0; t < g->bundle->manifest->n_tenants; t++)
    if (g->tenant_execs[t] == e) return g->lane_streams[g->lane[t]];
  return g->round_stream;
}

/* Waits for whatever e would overwrite: any in-flight launch sharing a tenant or a lane. */
MT_MUST_USE static mt_status *drain_for(mt_gpu_session *g, gpu_exec *e) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  for (size_t t = 0; t < m->n_tenants; t++) {
    gpu_exec *f = g->flight[t];
    if (!f) continue;
    /* per-tenant graphs of one lane share its stream, which orders them; the round graph runs
     * on its own stream, and split graphs on the partitions' streams */
    bool overlap = f == e || e == g->round || f == g->round || g->split_graphs;
    if (overlap) MT_RETURN_IF_ERROR_PLAIN(finish(g, f, stream_of(g, f)));
  }
  return NULL;
}

/* Instantiates e again from its description with the current bindings (the driver refused to
 * update a copy node in place) and puts the new exec where e was; e was drained. */
MT_MUST_USE static mt_status *reinstantiate(mt_gpu_session *g, gpu_exec **e) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  gpu_exec **slot = &g->round;
  int32_t tenant = -1;
  for (size_t t = 0; *e != g->round && t < m->n_tenants; t++)
    if (g->tenant_execs[t] == *e) {
      slot = &g->tenant_execs[t];
      tenant = (int32_t)t;
    }
  mt_gpu_graph *d = g->round_desc;
  if (tenant >= 0) MT_RETURN_IF_ERROR_PLAIN(mt_gpu_graph_build(m, tenant, &d));
  gpu_exec *fresh = NULL;
  mt_status *st = exec_create_locked(g, d, &fresh);
  if (tenant >= 0) mt_gpu_graph_free(d);
  MT_RETURN_IF_ERROR_PLAIN(st);
  if (!strstr(g->note, "re-instantiates the graphs"))
    note_add(g, "a binding that switches between host and device memory re-instantiates the "
                "graphs that copy it (the driver refuses the copy-node update)");
  mt_gpu_exec_destroy(g, *e);
  *slot = *e = fresh;
  return NULL;
}

MT_MUST_USE static mt_status *launch_exec(mt_gpu_session *g, gpu_exec *e) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  MT_RETURN_IF_ERROR_PLAIN(drain_for(g, e));
  for (size_t t = 0; t < m->n_tenants; t++) {
    if (!launched_in(e, t)) continue;
    for (size_t i = 0; i < m->tenants[t]->n_inputs; i++) {
      gpu_port *p = &g->in[t][i];
      if (!p->bound_dev && p->nbytes) memcpy(p->pinned, p->host_in, p->nbytes);
    }
  }
  MT_CU_TRY(g->cu, cuCtxSetCurrent(g->primary));
  bool rebuild = false;
  MT_RETURN_IF_ERROR_PLAIN(mt_gpu_exec_update_copies(g, e, &rebuild));
  if (rebuild) MT_RETURN_IF_ERROR_PLAIN(reinstantiate(g, &e));
  MT_RETURN_IF_ERROR_PLAIN(mt_gpu_exec_launch(g, e, stream_of(g, e)));
  for (size_t t = 0; t < m->n_tenants; t++)
    if (launched_in(e, t)) g->flight[t] = e;
  return NULL;
}

MT_MUST_USE static mt_status *launch_tenant(mt_gpu_session *g, size_t t) {
  if (!g->tenant_execs[t]) {
    mt_gpu_graph *d = NULL;
    MT_RETURN_IF_ERROR_PLAIN(mt_gpu_graph_build(g->bundle->manifest, (int32_t)t, &d));
    mt_status *st = exec_create_locked(g, d, &g->tenant_execs[t]);
    mt_gpu_graph_free(d);
    MT_RETURN_IF_ERROR_PLAIN(st);
  }
  return launch_exec(g, g->tenant_execs[t]);
}

/* Batched window: launches what is pending (the round graph when every tenant is). */
MT_MUST_USE static mt_status *flush_pending(mt_gpu_session *g) {
  size_t nt = g->bundle->manifest->n_tenants, n = 0;
  for (size_t t = 0; t < nt; t++) n += g->pending[t];
  if (n == 0) return NULL;
  if (n == nt) {
    memset(g->pending, 0, nt * sizeof *g->pending);
    return launch_exec(g, g->round);
  }
  for (size_t t = 0; t < nt; t++)
    if (g->pending[t]) {
      g->pending[t] = false;
      MT_RETURN_IF_ERROR_PLAIN(launch_tenant(g, t));
    }
  return NULL;
}

mt_status *mt_gpu_session_launch(mt_gpu_session *g, int tenant) {
  size_t nt = g->bundle->manifest->n_tenants;
  switch (g->options.arrival) {
  case MT_GPU_ARRIVAL_ROUND:
    return tenant < 0 ? launch_exec(g, g->round) : launch_tenant(g, (size_t)tenant);
  case MT_GPU_ARRIVAL_INDEPENDENT:
    for (size_t t = 0; t < nt; t++)
      if (tenant < 0 || (size_t)tenant == t) MT_RETURN_IF_ERROR_PLAIN(launch_tenant(g, t));
    return NULL;
  case MT_GPU_ARRIVAL_BATCHED_WINDOW: {
    size_t n = 0;
    for (size_t t = 0; t < nt; t++) n += g->pending[t];
    if (n == 0) g->pending_since_us = now_us();
    for (size_t t = 0; t < nt; t++)
      if (tenant < 0 || (size_t)tenant == t) g->pending[t] = true;
    n = 0;
    for (size_t t = 0; t < nt; t++) n += g->pending[t];
    if (n == nt || now_us() - g->pending_since_us >= g->options.window_us) return flush_pending(g);
    return NULL;
  }
  }
  return MT_ERR(INVALID_ARGUMENT,
                "arrival mode %d is not one of round, independent, "
                "batched-window",
                (int)g->options.arrival);
}

mt_status *mt_gpu_session_wait(mt_gpu_session *g) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  if (g->options.arrival == MT_GPU_ARRIVAL_BATCHED_WINDOW) {
    /* a session is driven by one thread: the window closes here at the latest */
    double left = g->pending_since_us + g->options.window_us - now_us();
    bool any = false;
    for (size_t t = 0; t < m->n_tenants; t++) any = any || g->pending[t];
    if (any && left > 0) {
      struct timespec ts = {(time_t)(left / 1e6),
                            (long)((left - (double)(time_t)(left / 1e6) * 1e6) * 1e3)};
      nanosleep(&ts, NULL);
    }
    MT_RETURN_IF_ERROR_PLAIN(flush_pending(g));
  }
  for (size_t t = 0; t < m->n_tenants; t++)
    if (g->flight[t]) MT_RETURN_IF_ERROR_PLAIN(finish(g, g->flight[t], stream_of(g, g->flight[t])));
  return NULL;
}

const char *mt_gpu_session_note(const mt_gpu_session *g) { return g->note; }
const char *mt_gpu_session_device_name(const mt_gpu_session *g) { return g->name; }
double mt_gpu_session_tenant_time_us(const mt_gpu_session *g, int t) { return g->time_us[t]; }
void mt_gpu_session_partition(const mt_gpu_session *g, int p, int *granted, int *actual,
                              bool *hard) {
  *granted = g->parts[p].granted;
  *actual = g->parts[p].actual;
  *hard = g->parts[p].hard;
}
int mt_gpu_session_instantiations(const mt_gpu_session *g) { return g->instantiations; }

#else /* built without cuda.h: the GPU path is compiled out and says so */

struct mt_gpu_session {
  int unused;
};

mt_status *mt_gpu_session_create(const mt_bundle *b, const mt_gpu_options *o,
                                 mt_gpu_session **out) {
  *out = NULL;
  return MT_ERR(UNAVAILABLE, "device gpu %d: %s", o->gpu_index, mt_cu_describe());
}
void mt_gpu_session_destroy(mt_gpu_session *g) {}
mt_status *mt_gpu_session_bind(mt_gpu_session *g, int t, int port, bool input, const void *host,
                               uint64_t device) {
  return MT_ERR(INTERNAL, "no GPU session");
}
mt_status *mt_gpu_session_launch(mt_gpu_session *g, int tenant) {
  return MT_ERR(INTERNAL, "no GPU session");
}
mt_status *mt_gpu_session_wait(mt_gpu_session *g) { return MT_ERR(INTERNAL, "no GPU session"); }
const char *mt_gpu_session_note(const mt_gpu_session *g) { return ""; }
const char *mt_gpu_session_device_name(const mt_gpu_session *g) { return "gpu"; }
double mt_gpu_session_tenant_time_us(const mt_gpu_session *g, int t) { return 0; }
void mt_gpu_session_partition(const mt_gpu_session *g, int p, int *granted, int *actual,
                              bool *hard) {
  *granted = *actual = 0;
  *hard = false;
}
int mt_gpu_session_instantiations(const mt_gpu_session *g) { return 0; }

#endif
