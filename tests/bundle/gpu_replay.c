/* gpu_replay BUNDLE [--rtol R] [--atol A]: runs a bundle's GPU plan on a real GPU, step by step
 * exactly as the manifest says, and compares every tenant output with libmtrt's CPU path on the
 * same inputs. A checker of the bundle format and the writer, not a runtime (libmtrt's GPU
 * session is that): one stream, groups in schedule order (which satisfies every wait), library
 * calls computed on the host in double precision from the device buffers the GemmProblem names.
 * Each module's image is the one mt_bundle_module_image picks for the device (cubin, else PTX),
 * and every module's PTX is also JIT-compiled once to prove it loads.
 *
 * The driver is dlopen'd (libcuda.so.1), never linked. Exit 0: all outputs within tolerance;
 * 1: a difference or a CUDA error; 2: usage or a bundle it cannot replay; 77: no driver or no
 * device (CTest's skip code), with the reason. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtrt.h"
#include "runtime/bundle/bundle.h"

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef void *CUcontext, *CUmodule, *CUfunction, *CUstream;

static struct {
  CUresult (*Init)(unsigned);
  CUresult (*DeviceGetCount)(int *);
  CUresult (*DeviceGet)(int *, int);
  CUresult (*DeviceGetAttribute)(int *, int, int);
  CUresult (*DevicePrimaryCtxRetain)(CUcontext *, int);
  CUresult (*DevicePrimaryCtxRelease)(int);
  CUresult (*CtxSetCurrent)(CUcontext);
  CUresult (*ModuleLoadData)(CUmodule *, const void *);
  CUresult (*ModuleUnload)(CUmodule);
  CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*FuncSetAttribute)(CUfunction, int, int);
  CUresult (*MemAlloc)(CUdeviceptr *, size_t);
  CUresult (*MemFree)(CUdeviceptr);
  CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*MemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                           unsigned, CUstream, void **, void **);
  CUresult (*CtxSynchronize)(void);
  CUresult (*GetErrorString)(CUresult, const char **);
} cu;

#define ATTR_CC_MAJOR 75
#define ATTR_CC_MINOR 76
#define FUNC_ATTR_MAX_DYNAMIC_SHARED 8

static const char *cu_err(CUresult r) {
  const char *s = NULL;
  if (cu.GetErrorString) cu.GetErrorString(r, &s);
  return s ? s : "unknown CUDA error";
}

#define CU(call)                                                                                   \
  do {                                                                                             \
    CUresult r_ = (call);                                                                          \
    if (r_) {                                                                                      \
      fprintf(stderr, "gpu_replay: %s failed: %d %s\n", #call, r_, cu_err(r_));                    \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static int load_driver(char *why, size_t n) {
  void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) return snprintf(why, n, "no CUDA driver: %s", dlerror()), 0;
  struct {
    void **slot;
    const char *name;
  } syms[] = {{(void **)&cu.Init, "cuInit"},
              {(void **)&cu.DeviceGetCount, "cuDeviceGetCount"},
              {(void **)&cu.DeviceGet, "cuDeviceGet"},
              {(void **)&cu.DeviceGetAttribute, "cuDeviceGetAttribute"},
              {(void **)&cu.DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
              {(void **)&cu.DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"},
              {(void **)&cu.CtxSetCurrent, "cuCtxSetCurrent"},
              {(void **)&cu.ModuleLoadData, "cuModuleLoadData"},
              {(void **)&cu.ModuleUnload, "cuModuleUnload"},
              {(void **)&cu.ModuleGetFunction, "cuModuleGetFunction"},
              {(void **)&cu.FuncSetAttribute, "cuFuncSetAttribute"},
              {(void **)&cu.MemAlloc, "cuMemAlloc_v2"},
              {(void **)&cu.MemFree, "cuMemFree_v2"},
              {(void **)&cu.MemcpyHtoD, "cuMemcpyHtoD_v2"},
              {(void **)&cu.MemcpyDtoH, "cuMemcpyDtoH_v2"},
              {(void **)&cu.MemsetD8, "cuMemsetD8_v2"},
              {(void **)&cu.LaunchKernel, "cuLaunchKernel"},
              {(void **)&cu.CtxSynchronize, "cuCtxSynchronize"},
              {(void **)&cu.GetErrorString, "cuGetErrorString"}};
  for (size_t i = 0; i < sizeof syms / sizeof *syms; i++)
    if (!(*syms[i].slot = dlsym(h, syms[i].name)))
      return snprintf(why, n, "the CUDA driver lacks %s", syms[i].name), 0;
  CUresult r = cu.Init(0);
  int count = 0;
  if (r || cu.DeviceGetCount(&count) || count == 0)
    return snprintf(why, n, "no CUDA device (cuInit: %d %s)", r, cu_err(r)), 0;
  return 1;
}

/* ---- host values ---- */

static float half_to_float(uint16_t h) {
  uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, f;
  if (e == 0)
    return (s ? -1.0f : 1.0f) * ldexpf((float)m, -24);
  else if (e == 31)
    f = s | 0x7f800000u | (m << 13);
  else
    f = s | ((e + 112) << 23) | (m << 13);
  float v;
  memcpy(&v, &f, 4);
  return v;
}

static uint16_t float_to_half(float v) { /* inputs only: values in [-1, 1], round to nearest */
  uint32_t f;
  memcpy(&f, &v, 4);
  uint16_t s = (uint16_t)((f >> 16) & 0x8000);
  int e = (int)((f >> 23) & 255) - 112;
  if (e <= 0) return s;
  uint32_t m = (f & 0x7fffff) + 0x1000;
  if (m & 0x800000) m = 0, e++;
  return (uint16_t)(s | (uint16_t)(e << 10) | (uint16_t)(m >> 13));
}

static double element(const uint8_t *p, int dtype, size_t i) {
  switch (dtype) {
  case MT_DTYPE_FLOAT32: return ((const float *)p)[i];
  case MT_DTYPE_FLOAT16: return half_to_float(((const uint16_t *)p)[i]);
  case MT_DTYPE_INT64: return (double)((const int64_t *)p)[i];
  case MT_DTYPE_INT32: return ((const int32_t *)p)[i];
  case MT_DTYPE_INT8: return ((const int8_t *)p)[i];
  default: return p[i]; /* uint8, bool */
  }
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static double next_unit(void) {
  rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
  return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0 * 2 - 1;
}

/* float inputs uniform in [-1, 1]; integer and bool inputs 0 (a valid index for gathers) */
static void fill_input(uint8_t *p, int dtype, size_t n) {
  memset(p, 0, n * mt_dtype_size((mt_dtype)dtype));
  for (size_t i = 0; i < n; i++) {
    if (dtype == MT_DTYPE_FLOAT32) ((float *)p)[i] = (float)next_unit();
    if (dtype == MT_DTYPE_FLOAT16) ((uint16_t *)p)[i] = float_to_half((float)next_unit());
  }
}

/* ---- device buffers ---- */

typedef struct replay {
  const Mtbundle__Manifest *m;
  CUdeviceptr weights, scratch, *arenas, **inputs;
} replay;

static CUdeviceptr ptr_of(const replay *rp, const Mtbundle__BufferRef *r) {
  switch (r->kind) {
  case MTBUNDLE__BUFFER_REF__KIND__CONSTANT:
    return rp->weights + rp->m->constants[r->index]->offset;
  case MTBUNDLE__BUFFER_REF__KIND__INPUT: return rp->inputs[r->tenant][r->index];
  case MTBUNDLE__BUFFER_REF__KIND__ARENA: return rp->arenas[r->partition] + r->offset;
  case MTBUNDLE__BUFFER_REF__KIND__SCRATCH: return rp->scratch + r->offset;
  default: return 0;
  }
}

static CUdeviceptr dev_alloc(size_t n) {
  CUdeviceptr p;
  CU(cu.MemAlloc(&p, n ? n : 64));
  CU(cu.MemsetD8(p, 0, n ? n : 64));
  return p;
}

static float *to_host(const replay *rp, const Mtbundle__BufferRef *r, size_t *out_n) {
  size_t bytes = mt_bundle_type_bytes(r->type);
  float *h = malloc(bytes ? bytes : 4);
  if (bytes) CU(cu.MemcpyDtoH(h, ptr_of(rp, r), bytes));
  *out_n = bytes / 4;
  return h;
}

/* One GEMM problem on the host, from and back to the device buffers it names. */
static void host_gemm(const replay *rp, const Mtbundle__GemmProblem *q) {
  size_t na, nb, nc = 0, nbias = 0, nd;
  float *a = to_host(rp, q->a, &na), *b = to_host(rp, q->b, &nb);
  float *c = q->c->kind ? to_host(rp, q->c, &nc) : NULL;
  float *bias = q->bias->kind ? to_host(rp, q->bias, &nbias) : NULL;
  float *d = to_host(rp, q->d, &nd);
  for (int64_t it = 0; it < q->batch; it++)
    for (int64_t i = 0; i < q->m; i++)
      for (int64_t j = 0; j < q->n; j++) {
        double acc = 0;
        for (int64_t k = 0; k < q->k; k++) {
          double x = q->trans_a ? a[it * q->stride_a + k * q->lda + i]
                                : a[it * q->stride_a + i * q->lda + k];
          double y = q->trans_b ? b[it * q->stride_b + j * q->ldb + k]
                                : b[it * q->stride_b + k * q->ldb + j];
          acc += x * y;
        }
        size_t at = (size_t)(it * q->stride_c + i * q->ldc + j);
        double v = q->alpha * acc + (c ? q->beta * c[at] : 0) + (bias ? bias[j] : 0);
        if (q->epilogue == MT_GPU_EPI_RELU || q->epilogue == MT_GPU_EPI_RELU_BIAS)
          v = v > 0 ? v : 0;
        if (q->epilogue == MT_GPU_EPI_GELU || q->epilogue == MT_GPU_EPI_GELU_BIAS)
          v = 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
        d[at] = (float)v;
      }
  CU(cu.MemcpyHtoD(ptr_of(rp, q->d), d, nd * 4));
  free(a), free(b), free(c), free(bias), free(d);
}

static int usage(void) {
  fprintf(stderr, "usage: gpu_replay BUNDLE [--rtol R] [--atol A]\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *path = NULL;
  double rtol = 1e-3, atol = 1e-4;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--rtol") == 0 && i + 1 < argc)
      rtol = atof(argv[++i]);
    else if (strcmp(argv[i], "--atol") == 0 && i + 1 < argc)
      atol = atof(argv[++i]);
    else if (argv[i][0] == '-' || path)
      return usage();
    else
      path = argv[i];
  }
  if (!path) return usage();
  mtrt_bundle *rb = NULL;
  mtrt_status *st = mtrt_bundle_open(path, NULL, &rb);
  if (st) {
    fprintf(stderr, "gpu_replay: %s\n", mtrt_status_message(st));
    return 2;
  }
  const mt_bundle *bd = mt_bundle_of(rb);
  const Mtbundle__Manifest *m = bd->manifest;
  if (m->n_gpu_groups == 0) {
    fprintf(stderr, "gpu_replay: %s has no GPU code: %s\n", path, m->gpu_unavailable);
    mtrt_bundle_close(rb);
    return 2;
  }
  for (size_t g = 0; g < m->n_gpu_groups; g++)
    if (m->gpu_groups[g]->n_steps == 0) {
      fprintf(stderr, "gpu_replay: group %zu has no GPU code: %s\n", g,
              m->gpu_groups[g]->unavailable);
      mtrt_bundle_close(rb);
      return 2;
    }
  char why[256];
  if (!load_driver(why, sizeof why)) {
    printf("skipped: %s\n", why);
    mtrt_bundle_close(rb);
    return 77;
  }
  int dev, major, minor;
  CUcontext ctx;
  CU(cu.DeviceGet(&dev, 0));
  CU(cu.DeviceGetAttribute(&major, ATTR_CC_MAJOR, dev));
  CU(cu.DeviceGetAttribute(&minor, ATTR_CC_MINOR, dev));
  CU(cu.DevicePrimaryCtxRetain(&ctx, dev));
  CU(cu.CtxSetCurrent(ctx));
  /* modules: the image picked for this device, and every PTX JIT-compiled once on its own */
  CUfunction *fn = calloc(m->n_gpu_modules + 1, sizeof *fn);
  CUmodule *mods = calloc(m->n_gpu_modules + 1, sizeof *mods);
  int jitted = 0, from_ptx = 0;
  for (uint32_t i = 0; i < m->n_gpu_modules; i++) {
    const Mtbundle__GpuModule *mod = m->gpu_modules[i];
    uint32_t image;
    bool ptx;
    st = (mtrt_status *)mt_bundle_module_image(bd, i, major, minor, &image, &ptx);
    if (st) {
      fprintf(stderr, "gpu_replay: %s\n", mtrt_status_message(st));
      return 1;
    }
    for (size_t k = 0; k < mod->n_images; k++) {
      const Mtbundle__CodeImage *ci = m->code_images[mod->images[k]];
      if (!ci->ptx && mod->images[k] != image) continue;
      const uint8_t *data;
      size_t n;
      if ((st = (mtrt_status *)mt_bundle_code_image(bd, mod->images[k], &data, &n))) return 1;
      uint8_t *copy = malloc(n + 1); /* PTX is stored without its NUL */
      memcpy(copy, data, n);
      copy[n] = 0;
      CUmodule cm;
      CU(cu.ModuleLoadData(&cm, copy));
      free(copy);
      CUfunction f;
      CU(cu.ModuleGetFunction(&f, cm, mod->entry));
      if (mod->images[k] == image) {
        mods[i] = cm, fn[i] = f;
        from_ptx += ptx;
      } else {
        CU(cu.ModuleUnload(cm));
      }
      jitted += ci->ptx;
    }
  }
  /* buffers: weights, arenas, scratch, inputs (the same inputs go to the CPU session) */
  replay rp = {.m = m};
  rp.weights = dev_alloc(bd->weight_bytes);
  if (bd->weight_bytes) CU(cu.MemcpyHtoD(rp.weights, bd->weights, bd->weight_bytes));
  rp.scratch = dev_alloc(m->scratch_bytes);
  rp.arenas = calloc(m->n_partitions, sizeof *rp.arenas);
  for (size_t p = 0; p < m->n_partitions; p++)
    rp.arenas[p] = dev_alloc(m->partitions[p]->arena_bytes);
  mtrt_session *s = NULL;
  if ((st = mtrt_session_create(rb, NULL, &s))) {
    fprintf(stderr, "gpu_replay: %s\n", mtrt_status_message(st));
    return 1;
  }
  rp.inputs = calloc(m->n_tenants, sizeof *rp.inputs);
  uint8_t ***cpu_out = calloc(m->n_tenants, sizeof *cpu_out);
  for (size_t t = 0; t < m->n_tenants; t++) {
    const Mtbundle__Tenant *tn = m->tenants[t];
    rp.inputs[t] = calloc(tn->n_inputs + 1, sizeof **rp.inputs);
    for (size_t i = 0; i < tn->n_inputs; i++) {
      size_t bytes = mt_bundle_type_bytes(tn->inputs[i]->type);
      size_t n = bytes / mt_dtype_size((mt_dtype)tn->inputs[i]->type->dtype);
      uint8_t *h = malloc(bytes ? bytes : 1);
      fill_input(h, tn->inputs[i]->type->dtype, n);
      rp.inputs[t][i] = dev_alloc(bytes);
      if (bytes) CU(cu.MemcpyHtoD(rp.inputs[t][i], h, bytes));
      if ((st = mtrt_session_bind_input(s, (int)t, tn->inputs[i]->name, h, bytes))) return 1;
    } /* the host copies stay alive until the session ran */
    cpu_out[t] = calloc(tn->n_outputs + 1, sizeof **cpu_out);
    for (size_t i = 0; i < tn->n_outputs; i++) {
      size_t bytes = mt_bundle_type_bytes(tn->outputs[i]->type);
      cpu_out[t][i] = malloc(bytes ? bytes : 1);
      if ((st = mtrt_session_bind_output(s, (int)t, tn->outputs[i]->name, cpu_out[t][i], bytes)))
        return 1;
    }
  }
  if ((st = mtrt_session_run(s, -1))) {
    fprintf(stderr, "gpu_replay: CPU run: %s\n", mtrt_status_message(st));
    return 1;
  }
  /* the GPU plan, in schedule order on one stream */
  int launches = 0, libcalls = 0;
  for (size_t g = 0; g < m->n_gpu_groups; g++)
    for (size_t k = 0; k < m->gpu_groups[g]->n_steps; k++) {
      const Mtbundle__GpuStep *sp = m->gpu_groups[g]->steps[k];
      if (sp->step_case == MTBUNDLE__GPU_STEP__STEP_LIBCALL) {
        CU(cu.CtxSynchronize());
        for (size_t q = 0; q < sp->libcall->n_problems; q++)
          host_gemm(&rp, sp->libcall->problems[q]);
        libcalls++;
        continue;
      }
      if (sp->step_case != MTBUNDLE__GPU_STEP__STEP_LAUNCH) {
        fprintf(stderr, "gpu_replay: group %zu step %zu is a conditional, which it cannot replay\n",
                g, k);
        return 1;
      }
      const Mtbundle__GpuLaunch *l = sp->launch;
      CUdeviceptr *args = calloc(l->n_args, sizeof *args);
      void **params = calloc(l->n_args, sizeof *params);
      for (size_t a = 0; a < l->n_args; a++)
        args[a] = ptr_of(&rp, l->args[a]), params[a] = &args[a];
      if (l->dyn_smem > 48 * 1024)
        CU(cu.FuncSetAttribute(fn[l->module], FUNC_ATTR_MAX_DYNAMIC_SHARED, (int)l->dyn_smem));
      CUresult r = cu.LaunchKernel(fn[l->module], l->grid, 1, 1, l->block, 1, 1, l->dyn_smem, NULL,
                                   params, NULL);
      if (!r) r = cu.CtxSynchronize();
      if (r) {
        fprintf(stderr, "gpu_replay: group %zu launch %s: %d %s\n", g, l->name, r, cu_err(r));
        return 1;
      }
      free(args), free(params);
      launches++;
    }
  CU(cu.CtxSynchronize());
  printf("gpu_replay %s: sm_%d%d, %zu module(s) (%d from PTX, %d PTX JIT-compiled), %zu groups, "
         "%d launches, %d library calls (on the host)\n",
         path, major, minor, m->n_gpu_modules, from_ptx, jitted, m->n_gpu_groups, launches,
         libcalls);
  int bad = 0;
  for (size_t t = 0; t < m->n_tenants; t++)
    for (size_t i = 0; i < m->tenants[t]->n_outputs; i++) {
      const Mtbundle__Port *o = m->tenants[t]->outputs[i];
      size_t bytes = mt_bundle_type_bytes(o->type), es = mt_dtype_size((mt_dtype)o->type->dtype);
      uint8_t *h = malloc(bytes ? bytes : 1);
      if (bytes) CU(cu.MemcpyDtoH(h, ptr_of(&rp, o->source), bytes));
      double worst = 0, worst_rel = 0;
      size_t off = 0;
      for (size_t e = 0; e < bytes / es; e++) {
        double x = element(h, o->type->dtype, e), y = element(cpu_out[t][i], o->type->dtype, e);
        double d = fabs(x - y);
        if (!(d <= atol + rtol * fabs(y))) off++;
        if (d > worst || d != d) worst = d, worst_rel = d / (fabs(y) > 0 ? fabs(y) : 1);
      }
      printf("  tenant '%s' output '%s': %zu elements, max abs diff %.3g (rel %.3g)%s\n",
             m->tenants[t]->name, o->name, bytes / es, worst, worst_rel,
             off ? " OUT OF TOLERANCE" : "");
      if (off) {
        printf("    %zu elements beyond atol %g + rtol %g\n", off, atol, rtol);
        bad++;
      }
      free(h);
    }
  mtrt_session_destroy(s);
  for (uint32_t i = 0; i < m->n_gpu_modules; i++) CU(cu.ModuleUnload(mods[i]));
  mtrt_bundle_close(rb);
  printf("gpu_replay: %s\n",
         bad ? "outputs differ from the CPU path" : "every output matches the CPU path");
  return bad ? 1 : 0;
}
