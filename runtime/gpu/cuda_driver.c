/* Loading the CUDA driver at run time (runtime/gpu/cuda_driver.h): dlopen, cuGetProcAddress for
 * every entry of the table, cuInit, device count and driver version, once per process. */
#include "runtime/gpu/cuda_driver.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MTRT_HAVE_CUDA_H

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static mt_cu_api api;
static mt_status_code load_code = MT_OK; /* MT_OK: loaded */
static char load_message[320];
static char description[200];

static void fail(mt_status_code code, const char *fmt, const char *a, const char *b) {
  load_code = code;
  snprintf(load_message, sizeof load_message, fmt, a, b);
}

typedef CUresult (*get_proc_fn)(const char *, void **, int, cuuint64_t,
                                CUdriverProcAddressQueryResult *);

/* Resolves one entry point; false when the driver lacks it (or is too old for CUDA_VERSION). */
static bool resolve(get_proc_fn get_proc, const char *name, void **out) {
  CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
  *out = NULL;
  CUresult r = get_proc(name, out, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT, &found);
  return r == CUDA_SUCCESS && found == CU_GET_PROC_ADDRESS_SUCCESS && *out;
}

static void load(void) {
  char need[32]; /* "13.0": the CUDA version of the header this libmtrt was built with */
  snprintf(need, sizeof need, "%d.%d", CUDA_VERSION / 1000, CUDA_VERSION % 1000 / 10);
  const char *path = getenv("MTRT_CUDA_DRIVER_PATH");
  if (!path || !*path) path = "libcuda.so.1";
  /* RTLD_LOCAL: the driver's symbols stay out of the application's namespace. */
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    fail(MT_UNAVAILABLE, "no CUDA driver: cannot open %s (%s)", path, why ? why : "not found");
    return;
  }
  get_proc_fn get_proc = (get_proc_fn)dlsym(lib, "cuGetProcAddress_v2");
  if (!get_proc) {
    fail(MT_UNIMPLEMENTED, "the CUDA driver %s is too old: it has no cuGetProcAddress_v2%s", path,
         " (CUDA 12.0 or newer is needed)");
    return;
  }
  /* The stub library in the toolkit answers every call with CUDA_ERROR_STUB_LIBRARY: ask cuInit
   * first so that case reads as what it is. */
  void *init_fn = NULL;
  if (!resolve(get_proc, "cuInit", &init_fn)) {
    /* the stub's cuGetProcAddress fails too: tell it apart by trying cuInit from dlsym */
    CUresult (*raw_init)(unsigned) = (CUresult(*)(unsigned))dlsym(lib, "cuInit");
    if (raw_init && raw_init(0) == CUDA_ERROR_STUB_LIBRARY)
      fail(MT_UNAVAILABLE, "no CUDA driver: %s is the toolkit's stub library%s", path,
           ", not a driver (no GPU driver is installed)");
    else
      fail(MT_UNAVAILABLE, "no CUDA driver: %s does not resolve cuInit%s", path, "");
    return;
  }
#define MT_CU_RESOLVE_REQUIRED(name)                                                               \
  if (!resolve(get_proc, #name, (void **)&api.name)) {                                             \
    fail(MT_UNIMPLEMENTED, "the CUDA driver is too old for this libmtrt: it lacks %s of CUDA %s",  \
         #name, need);                                                                             \
    return;                                                                                        \
  }
  MT_CU_REQUIRED(MT_CU_RESOLVE_REQUIRED)
#undef MT_CU_RESOLVE_REQUIRED
  api.has_green_contexts = true;
#define MT_CU_RESOLVE_OPTIONAL(name)                                                               \
  if (!resolve(get_proc, #name, (void **)&api.name)) api.has_green_contexts = false;
  MT_CU_OPTIONAL(MT_CU_RESOLVE_OPTIONAL)
#undef MT_CU_RESOLVE_OPTIONAL
  api.has_conditional_nodes = true;
#define MT_CU_RESOLVE_CONDITIONAL(name)                                                            \
  if (!resolve(get_proc, #name, (void **)&api.name)) api.has_conditional_nodes = false;
  MT_CU_CONDITIONAL(MT_CU_RESOLVE_CONDITIONAL)
#undef MT_CU_RESOLVE_CONDITIONAL
  CUresult r = api.cuInit(0);
  if (r == CUDA_ERROR_STUB_LIBRARY) {
    fail(MT_UNAVAILABLE, "no CUDA driver: %s is the toolkit's stub library%s", path,
         ", not a driver (no GPU driver is installed)");
    return;
  }
  if (r == CUDA_ERROR_NO_DEVICE) {
    fail(MT_UNAVAILABLE, "no CUDA device: the driver (%s) sees no GPU%s", path, "");
    return;
  }
  if (r != CUDA_SUCCESS) {
    const char *name = NULL;
    api.cuGetErrorName(r, &name);
    fail(MT_UNAVAILABLE, "the CUDA driver did not initialise: cuInit returned %s%s",
         name ? name : "an unknown error", "");
    return;
  }
  if (api.cuDriverGetVersion(&api.driver_version) != CUDA_SUCCESS) api.driver_version = 0;
  if (api.driver_version < CUDA_VERSION) {
    char have[32];
    snprintf(have, sizeof have, "%d.%d", api.driver_version / 1000, api.driver_version % 1000 / 10);
    fail(MT_UNIMPLEMENTED, "the CUDA driver supports CUDA %s; this libmtrt needs CUDA %s or newer",
         have, need);
    return;
  }
  if (api.cuDeviceGetCount(&api.device_count) != CUDA_SUCCESS || api.device_count == 0) {
    fail(MT_UNAVAILABLE, "no CUDA device: the driver (%s) sees no GPU%s", path, "");
    return;
  }
  snprintf(description, sizeof description,
           "CUDA driver %d.%d, %d device(s), green contexts %s, conditional nodes %s",
           api.driver_version / 1000, api.driver_version % 1000 / 10, api.device_count,
           api.has_green_contexts ? "available" : "missing (soft SM budgets)",
           api.has_conditional_nodes ? "available" : "missing (If steps cannot run)");
}

mt_status *mt_cu_api_get(const mt_cu_api **out) {
  *out = NULL;
  pthread_once(&load_once, load);
  if (load_code != MT_OK) return mt_status_make(load_code, "%s", load_message);
  *out = &api;
  return NULL;
}

mt_status *mt_cu_check(const mt_cu_api *a, CUresult r, const char *call) {
  if (r == CUDA_SUCCESS) return NULL;
  const char *name = NULL, *text = NULL;
  if (a->cuGetErrorName(r, &name) != CUDA_SUCCESS) name = NULL;
  if (a->cuGetErrorString(r, &text) != CUDA_SUCCESS) text = NULL;
  mt_status_code code = MT_INTERNAL;
  if (r == CUDA_ERROR_OUT_OF_MEMORY) code = MT_RESOURCE_EXHAUSTED;
  if (r == CUDA_ERROR_UNSUPPORTED_PTX_VERSION || r == CUDA_ERROR_NO_BINARY_FOR_GPU ||
      r == CUDA_ERROR_INVALID_PTX || r == CUDA_ERROR_JIT_COMPILER_NOT_FOUND)
    code = MT_UNIMPLEMENTED;
  return mt_status_make(code, "%s: %s (%s)", call, name ? name : "unknown CUDA error",
                        text ? text : "no description");
}

const char *mt_cu_describe(void) {
  const mt_cu_api *a;
  mt_status *st = mt_cu_api_get(&a);
  bool loaded = st == NULL;
  mt_status_free(st);
  return loaded ? description : load_message;
}

#else

const char *mt_cu_describe(void) {
  return "no CUDA driver support: libmtrt was built without the CUDA driver header (cuda.h)";
}

#endif
