/* libtriton_mtrt.so: a Triton Inference Server backend (TRITONBACKEND API) serving the tenants
 * of an .mtbundle through libmtrt. Each tenant is one Triton model (config.pbtxt written by
 * `mtcc triton-repo`); the model instances of all tenants of a bundle share one libmtrt session
 * per device (shared_session.c), so requests for several tenants that arrive together run as one
 * round of the bundle's plan, and a lone request runs alone. Only the CPU path of libmtrt exists
 * today: KIND_GPU instances ask libmtrt for the GPU and fail to load with its message until it
 * has one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtrt.h"
#include "serving/triton/message.h"
#include "serving/triton/model_config.h"
#include "serving/triton/shared_session.h"
#include "serving/triton/triton_api.h"

typedef struct model_state {
  char *name;
  mt_model_config config;
} model_state;

typedef struct instance_state {
  model_state *model;
  mt_shared *shared;
  int tenant;
} instance_state;

static void model_state_free(model_state *ms) {
  if (!ms) return;
  mt_model_config_free(&ms->config);
  free(ms->name);
  free(ms);
}

static void instance_state_free(instance_state *is) {
  if (!is) return;
  mt_shared_release(is->shared);
  free(is);
}

/* An error from a malloc'd message (freed here). */
static TRITONSERVER_Error *fail_owned(TRITONSERVER_Error_Code code, char *text) {
  TRITONSERVER_Error *e = TRITONSERVER_ErrorNew(code, text ? text : "mtrt: out of memory");
  free(text);
  return e;
}

__attribute__((format(printf, 2, 3))) static TRITONSERVER_Error *fail(TRITONSERVER_Error_Code code,
                                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *text = mt_serving_vmsg(fmt, ap);
  va_end(ap);
  return fail_owned(code, text);
}

/* Logs through the server at level (when enabled) with the caller's line. */
__attribute__((format(printf, 3, 4))) static void log_at(TRITONSERVER_LogLevel level, int line,
                                                         const char *fmt, ...) {
  if (!TRITONSERVER_LogIsEnabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  char *text = mt_serving_vmsg(fmt, ap);
  va_end(ap);
  TRITONSERVER_Error *e = TRITONSERVER_LogMessage(level, __FILE__, line, text ? text : fmt);
  if (e) TRITONSERVER_ErrorDelete(e);
  free(text);
}
#define log_msg(level, ...) log_at(level, __LINE__, __VA_ARGS__)

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

TRITONSERVER_Error *TRITONBACKEND_Initialize(TRITONBACKEND_Backend *backend) {
  uint32_t major = 0, minor = 0;
  TRITONSERVER_Error *e = TRITONBACKEND_ApiVersion(&major, &minor);
  if (e) return e;
  if (major != MT_TRITONBACKEND_API_MAJOR || minor < MT_TRITONBACKEND_API_MINOR)
    return fail(TRITONSERVER_ERROR_UNSUPPORTED,
                "mtrt: the server's TRITONBACKEND API is %u.%u; this backend needs %d.%d or a "
                "later %d.x",
                major, minor, MT_TRITONBACKEND_API_MAJOR, MT_TRITONBACKEND_API_MINOR,
                MT_TRITONBACKEND_API_MAJOR);
  log_msg(TRITONSERVER_LOG_INFO,
          "mtrt backend: libmtrt version %d, ABI %d (TRITONBACKEND API %u.%u)",
          mtrt_version_number(), mtrt_abi_version(), major, minor);
  return NULL;
}

/* The model's config as JSON; the caller deletes *msg. */
static TRITONSERVER_Error *config_json(TRITONBACKEND_Model *model, TRITONSERVER_Message **msg,
                                       const char **json, size_t *size) {
  TRITONSERVER_Error *e = TRITONBACKEND_ModelConfig(model, 1, msg);
  if (!e) e = TRITONSERVER_MessageSerializeToJson(*msg, json, size);
  return e;
}

TRITONSERVER_Error *TRITONBACKEND_ModelInitialize(TRITONBACKEND_Model *model) {
  const char *name = NULL, *dir = NULL, *json = NULL;
  size_t size = 0;
  TRITONBACKEND_ArtifactType kind;
  TRITONSERVER_Message *cfg = NULL;
  TRITONSERVER_Error *e = TRITONBACKEND_ModelName(model, &name);
  if (!e) e = TRITONBACKEND_ModelRepository(model, &kind, &dir);
  if (!e && kind != TRITONBACKEND_ARTIFACT_FILESYSTEM)
    e = fail(TRITONSERVER_ERROR_UNSUPPORTED,
             "mtrt: model '%s': only a file-system repository is supported", name);
  if (!e) e = config_json(model, &cfg, &json, &size);
  model_state *ms = e ? NULL : calloc(1, sizeof *ms);
  if (!e && !ms) e = fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: out of memory");
  if (!e && !(ms->name = strdup(name)))
    e = fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: out of memory");
  if (!e) {
    char *err = mt_model_config_parse(name, dir, json, size, &ms->config);
    if (err) e = fail_owned(TRITONSERVER_ERROR_INVALID_ARG, err);
  }
  /* Check the config against the bundle once, at load, with the bundle alone (no session). */
  mtrt_bundle *b = NULL;
  if (!e) {
    mtrt_open_options oo;
    mtrt_open_options_init(&oo);
    mtrt_status *st = mtrt_bundle_open(ms->config.bundle_path, &oo, &b);
    if (st) {
      e = fail(TRITONSERVER_ERROR_INVALID_ARG, "mtrt: model '%s': %s", name,
               mtrt_status_message(st));
      mtrt_status_free(st);
    }
  }
  if (!e && mtrt_bundle_tenant_index(b, ms->config.tenant) < 0)
    e = fail(TRITONSERVER_ERROR_INVALID_ARG, "mtrt: model '%s': bundle %s has no tenant '%s'", name,
             ms->config.bundle_path, ms->config.tenant);
  if (!e) {
    char *err =
        mt_model_config_check(name, json, size, b, mtrt_bundle_tenant_index(b, ms->config.tenant));
    if (err) e = fail_owned(TRITONSERVER_ERROR_INVALID_ARG, err);
  }
  mtrt_bundle_close(b);
  if (cfg) TRITONSERVER_MessageDelete(cfg);
  if (!e) e = TRITONBACKEND_ModelSetState(model, ms);
  if (e) model_state_free(ms);
  return e;
}

TRITONSERVER_Error *TRITONBACKEND_ModelFinalize(TRITONBACKEND_Model *model) {
  void *p = NULL;
  TRITONSERVER_Error *e = TRITONBACKEND_ModelState(model, &p);
  model_state_free(p);
  return e;
}

TRITONSERVER_Error *TRITONBACKEND_ModelInstanceInitialize(TRITONBACKEND_ModelInstance *instance) {
  TRITONBACKEND_Model *model = NULL;
  void *p = NULL;
  TRITONSERVER_InstanceGroupKind kind = TRITONSERVER_INSTANCEGROUPKIND_CPU;
  int32_t device = 0;
  TRITONSERVER_Error *e = TRITONBACKEND_ModelInstanceModel(instance, &model);
  if (!e) e = TRITONBACKEND_ModelState(model, &p);
  if (!e) e = TRITONBACKEND_ModelInstanceKind(instance, &kind);
  if (!e) e = TRITONBACKEND_ModelInstanceDeviceId(instance, &device);
  if (e) return e;
  model_state *ms = p;
  instance_state *is = calloc(1, sizeof *is);
  if (!is) return fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: out of memory");
  is->model = ms;
  mtrt_device_kind dk =
      kind == TRITONSERVER_INSTANCEGROUPKIND_GPU ? MTRT_DEVICE_GPU : MTRT_DEVICE_CPU;
  char *err = mt_shared_acquire(ms->config.bundle_path, dk, dk == MTRT_DEVICE_GPU ? device : 0,
                                ms->config.cpu_threads, &is->shared);
  if (err) {
    free(is);
    e = fail(TRITONSERVER_ERROR_UNAVAILABLE, "mtrt: model '%s': %s", ms->name, err);
    free(err);
    return e;
  }
  is->tenant = mtrt_bundle_tenant_index(mt_shared_bundle(is->shared), ms->config.tenant);
  log_msg(TRITONSERVER_LOG_INFO, "mtrt: model '%s' serves tenant '%s' of %s on %s", ms->name,
          ms->config.tenant, ms->config.bundle_path, mt_shared_device_name(is->shared));
  e = TRITONBACKEND_ModelInstanceSetState(instance, is);
  if (e) instance_state_free(is);
  return e;
}

TRITONSERVER_Error *TRITONBACKEND_ModelInstanceFinalize(TRITONBACKEND_ModelInstance *instance) {
  void *p = NULL;
  TRITONSERVER_Error *e = TRITONBACKEND_ModelInstanceState(instance, &p);
  instance_state_free(p);
  return e;
}

/* One request in flight: its response, the job for the shared session and the job's buffers. */
typedef struct pending {
  TRITONBACKEND_Request *request;
  TRITONBACKEND_Response *response;
  mt_job job;
  int n_in, n_out;
} pending;

static void free_buffers(pending *p) {
  for (int i = 0; p->job.inputs && i < p->n_in; i++) free((void *)p->job.inputs[i]);
  for (int i = 0; p->job.outputs && i < p->n_out; i++) free(p->job.outputs[i]);
  free(p->job.inputs);
  free(p->job.outputs);
  free(p->job.error);
}

static void shape_text(char *buf, size_t cap, const int64_t *dims, uint32_t rank) {
  size_t at = (size_t)snprintf(buf, cap, "[");
  for (uint32_t d = 0; d < rank && at < cap; d++)
    at += (size_t)snprintf(buf + at, cap - at, "%s%lld", d ? ", " : "", (long long)dims[d]);
  if (at < cap) snprintf(buf + at, cap - at, "]");
}

/* Copies one input of the request into a buffer of exactly the port's bytes. */
static TRITONSERVER_Error *read_input(instance_state *is, pending *p, int i) {
  const mtrt_bundle *b = mt_shared_bundle(is->shared);
  const char *mn = is->model->name;
  mtrt_port_info pi;
  mtrt_status *st = mtrt_bundle_input_info(b, is->tenant, i, &pi);
  if (st) {
    TRITONSERVER_Error *e =
        fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: model '%s': %s", mn, mtrt_status_message(st));
    mtrt_status_free(st);
    return e;
  }
  TRITONBACKEND_Input *in = NULL;
  TRITONSERVER_Error *e = TRITONBACKEND_RequestInput(p->request, pi.name, &in);
  if (e || !in) {
    if (e) TRITONSERVER_ErrorDelete(e);
    return fail(TRITONSERVER_ERROR_INVALID_ARG, "mtrt: model '%s': missing input '%s'", mn,
                pi.name);
  }
  TRITONSERVER_DataType dt;
  const int64_t *shape;
  uint32_t rank, nbuf;
  uint64_t bytes;
  e = TRITONBACKEND_InputProperties(in, NULL, &dt, &shape, &rank, &bytes, &nbuf);
  if (e) return e;
  bool same = dt == mt_triton_dtype(pi.dtype) && rank == (uint32_t)pi.rank && bytes == pi.nbytes;
  for (int d = 0; same && d < pi.rank; d++) same = shape[d] == pi.dims[d];
  if (!same) {
    char got[256], want[256];
    shape_text(got, sizeof got, shape, rank);
    shape_text(want, sizeof want, pi.dims, (uint32_t)pi.rank);
    return fail(TRITONSERVER_ERROR_INVALID_ARG,
                "mtrt: model '%s': input '%s' must be type %d shape %s (%zu bytes), got type %d "
                "shape %s (%llu bytes)",
                mn, pi.name, (int)mt_triton_dtype(pi.dtype), want, pi.nbytes, (int)dt, got,
                (unsigned long long)bytes);
  }
  uint8_t *dst = malloc(pi.nbytes ? pi.nbytes : 1);
  if (!dst) return fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: out of memory for input '%s'", pi.name);
  p->job.inputs[i] = dst;
  uint64_t at = 0;
  for (uint32_t k = 0; k < nbuf; k++) {
    const void *src;
    uint64_t n;
    TRITONSERVER_MemoryType mt = TRITONSERVER_MEMORY_CPU;
    int64_t mid = 0;
    e = TRITONBACKEND_InputBuffer(in, k, &src, &n, &mt, &mid);
    if (e) return e;
    if (mt == TRITONSERVER_MEMORY_GPU)
      return fail(TRITONSERVER_ERROR_UNSUPPORTED,
                  "mtrt: model '%s': input '%s' arrived in GPU memory; this libmtrt runs on the "
                  "CPU",
                  mn, pi.name);
    if (n > pi.nbytes - at)
      return fail(TRITONSERVER_ERROR_INVALID_ARG,
                  "mtrt: model '%s': input '%s' has more than %zu "
                  "bytes",
                  mn, pi.name, pi.nbytes);
    memcpy(dst + at, src, n);
    at += n;
  }
  if (at != pi.nbytes)
    return fail(TRITONSERVER_ERROR_INVALID_ARG,
                "mtrt: model '%s': input '%s' has %llu bytes, "
                "not %zu",
                mn, pi.name, (unsigned long long)at, pi.nbytes);
  return NULL;
}

/* Allocates a request's job: every input read, every output buffer ready. */
static TRITONSERVER_Error *prepare(instance_state *is, pending *p) {
  const mtrt_bundle *b = mt_shared_bundle(is->shared);
  p->n_in = mtrt_bundle_input_count(b, is->tenant);
  p->n_out = mtrt_bundle_output_count(b, is->tenant);
  p->job.tenant = is->tenant;
  p->job.inputs = calloc((size_t)p->n_in + 1, sizeof *p->job.inputs);
  p->job.outputs = calloc((size_t)p->n_out + 1, sizeof *p->job.outputs);
  if (!p->job.inputs || !p->job.outputs)
    return fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: out of memory");
  for (int i = 0; i < p->n_in; i++) {
    TRITONSERVER_Error *e = read_input(is, p, i);
    if (e) return e;
  }
  for (int i = 0; i < p->n_out; i++) {
    mtrt_port_info pi;
    mtrt_status *st = mtrt_bundle_output_info(b, is->tenant, i, &pi);
    if (st) {
      mtrt_status_free(st);
      return fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: output %d is out of range", i);
    }
    if (!(p->job.outputs[i] = malloc(pi.nbytes ? pi.nbytes : 1)))
      return fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: out of memory for output '%s'", pi.name);
  }
  return NULL;
}

/* Whether the client asked for output name (asking for none means all). */
static bool requested(TRITONBACKEND_Request *r, const char *name) {
  uint32_t n = 0;
  TRITONSERVER_Error *e = TRITONBACKEND_RequestOutputCount(r, &n);
  if (e) {
    TRITONSERVER_ErrorDelete(e);
    return true;
  }
  bool found = n == 0;
  for (uint32_t i = 0; i < n && !found; i++) {
    const char *o = NULL;
    e = TRITONBACKEND_RequestOutputName(r, i, &o);
    if (e) TRITONSERVER_ErrorDelete(e);
    found = !e && o && strcmp(o, name) == 0;
  }
  return found;
}

/* Puts the job's outputs (those the client asked for) into the response. */
static TRITONSERVER_Error *write_outputs(instance_state *is, pending *p) {
  const mtrt_bundle *b = mt_shared_bundle(is->shared);
  for (int i = 0; i < p->n_out; i++) {
    mtrt_port_info pi;
    mtrt_status *st = mtrt_bundle_output_info(b, is->tenant, i, &pi);
    if (st) {
      mtrt_status_free(st);
      return fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: output %d is out of range", i);
    }
    if (!requested(p->request, pi.name)) continue;
    TRITONBACKEND_Output *out = NULL;
    void *dst = NULL;
    TRITONSERVER_MemoryType mt = TRITONSERVER_MEMORY_CPU;
    int64_t mid = 0;
    TRITONSERVER_Error *e = TRITONBACKEND_ResponseOutput(
        p->response, &out, pi.name, mt_triton_dtype(pi.dtype), pi.dims, (uint32_t)pi.rank);
    if (!e) e = TRITONBACKEND_OutputBuffer(out, &dst, pi.nbytes, &mt, &mid);
    if (!e && mt == TRITONSERVER_MEMORY_GPU)
      e = fail(TRITONSERVER_ERROR_UNSUPPORTED, "mtrt: output '%s' was given GPU memory", pi.name);
    if (e) return e;
    if (pi.nbytes) memcpy(dst, p->job.outputs[i], pi.nbytes);
  }
  return NULL;
}

/* Sends the final response (an error when e is not NULL; e is deleted here), reports the
 * request's statistics and releases the request. */
static void finish(TRITONBACKEND_ModelInstance *instance, instance_state *is, pending *p,
                   TRITONSERVER_Error *e, const uint64_t ns[4]) {
  if (p->response) {
    TRITONSERVER_Error *se =
        TRITONBACKEND_ResponseSend(p->response, TRITONSERVER_RESPONSE_COMPLETE_FINAL, e);
    if (se) {
      log_msg(TRITONSERVER_LOG_ERROR, "mtrt: model '%s': cannot send a response: %s",
              is->model->name, TRITONSERVER_ErrorMessage(se));
      TRITONSERVER_ErrorDelete(se);
    }
  }
  TRITONSERVER_Error *re = TRITONBACKEND_ModelInstanceReportStatistics(
      instance, p->request, e == NULL, ns[0], ns[1], ns[2], ns[3]);
  if (re) TRITONSERVER_ErrorDelete(re);
  if (e) {
    log_msg(TRITONSERVER_LOG_VERBOSE, "mtrt: model '%s': request failed: %s", is->model->name,
            TRITONSERVER_ErrorMessage(e));
    TRITONSERVER_ErrorDelete(e);
  }
  re = TRITONBACKEND_RequestRelease(p->request, TRITONSERVER_REQUEST_RELEASE_ALL);
  if (re) TRITONSERVER_ErrorDelete(re);
}

TRITONSERVER_Error *TRITONBACKEND_ModelInstanceExecute(TRITONBACKEND_ModelInstance *instance,
                                                       TRITONBACKEND_Request **requests,
                                                       const uint32_t request_count) {
  void *state = NULL;
  TRITONSERVER_Error *e = TRITONBACKEND_ModelInstanceState(instance, &state);
  if (e) return e; /* Triton keeps ownership of the requests when execute fails */
  instance_state *is = state;
  uint64_t t0 = now_ns();
  pending *ps = calloc((size_t)request_count + 1, sizeof *ps);
  mt_job **jobs = calloc((size_t)request_count + 1, sizeof *jobs);
  if (!ps || !jobs) {
    free(ps);
    free(jobs);
    return fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: out of memory for %u requests", request_count);
  }
  /* Read every request; a malformed one is answered at once and the others still run. */
  int n_jobs = 0;
  uint64_t ns_bad[4] = {t0, t0, t0, t0};
  for (uint32_t r = 0; r < request_count; r++) {
    pending *p = &ps[r];
    p->request = requests[r];
    e = TRITONBACKEND_ResponseNew(&p->response, p->request);
    if (!e) e = prepare(is, p);
    if (e) {
      finish(instance, is, p, e, ns_bad);
      free_buffers(p);
      p->request = NULL;
      continue;
    }
    jobs[n_jobs++] = &p->job;
  }
  uint64_t c0 = now_ns();
  if (n_jobs) mt_shared_run(is->shared, jobs, n_jobs);
  uint64_t c1 = now_ns();
  for (uint32_t r = 0; r < request_count; r++) {
    pending *p = &ps[r];
    if (!p->request) continue;
    if (p->job.error)
      e = fail(TRITONSERVER_ERROR_INTERNAL, "mtrt: model '%s': %s", is->model->name, p->job.error);
    else
      e = write_outputs(is, p);
    log_msg(TRITONSERVER_LOG_VERBOSE,
            "mtrt: model '%s' (tenant '%s') ran in a round of %d tenant(s), %.0f us of kernels",
            is->model->name, is->model->config.tenant, p->job.round_tenants, p->job.time_us);
    uint64_t ns[4] = {t0, c0, c1, now_ns()};
    finish(instance, is, p, e, ns);
    free_buffers(p);
  }
  free(ps);
  free(jobs);
  return NULL;
}
