/* Loading a bundle's CPU object (cpu_code.h). The object's bytes go to an anonymous memory file
 * and dlopen opens it through /proc/self/fd, so nothing is written to disk and the object is
 * mapped like any shared library (its needed libraries, e.g. libopenblas.so.0, resolve through the
 * ordinary search path). RTLD_LOCAL keeps its symbols out of the process's global scope: two
 * sessions, or two bundles, may load objects with the same symbol names. */
#include "runtime/bundle/cpu_code.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/bundle/cpu_targets.h"

struct mt_cpu_code {
  void *handle;          /* dlopen handle, NULL: reference kernels */
  int fd;                /* the object's memfd while handle is open, else -1 */
  const char *target;    /* the object's target or "reference" */
  size_t *at;            /* per group: its first kernel's index in fns */
  mt_cpu_kernel_fn *fns; /* per kernel of every group */
  char note[512];
};

const char *mt_cpu_code_target(const mt_cpu_code *c) { return c->target; }
const char *mt_cpu_code_note(const mt_cpu_code *c) { return c->note; }

mt_cpu_kernel_fn mt_cpu_code_kernel(const mt_cpu_code *c, size_t g, size_t k) {
  /* at[g] + k past the group's own kernels would be the next group's first */
  if (!c->handle || k >= c->at[g + 1] - c->at[g]) return NULL;
  return c->fns[c->at[g] + k];
}

void mt_cpu_code_destroy(mt_cpu_code *c) {
  if (!c) return;
  if (c->handle) dlclose(c->handle);
  if (c->fd >= 0) close(c->fd);
  free(c->at);
  free(c->fns);
  free(c);
}

/* What the (capped) host lacks to run o: its machine or the first of its features; NULL when
 * nothing. */
static const char *missing_feature(const Mtbundle__CpuObject *o, const mt_cpu_target_info *cap) {
  int machine = mt_cpu_target_find(o->target)->elf_machine;
  if (machine != mt_cpu_host_machine() || (cap && cap->elf_machine != machine))
    return machine == EM_X86_64    ? "an x86-64 CPU"
           : machine == EM_AARCH64 ? "an AArch64 CPU"
                                   : "another CPU";
  for (size_t i = 0; i < o->n_required_features; i++)
    if (!mt_cpu_host_has(o->required_features[i], cap)) return o->required_features[i];
  return NULL;
}

/* The widest object the host runs (-1: none; why says what each object lacks). */
static int pick(const Mtbundle__Manifest *m, const mt_cpu_target_info *cap, char *why,
                size_t why_size) {
  int best = -1, best_level = -1;
  size_t len = 0;
  why[0] = 0;
  for (size_t i = 0; i < m->n_cpu_objects; i++) {
    const Mtbundle__CpuObject *o = m->cpu_objects[i];
    const char *lack = missing_feature(o, cap);
    if (lack) {
      if (len < why_size)
        len += (size_t)snprintf(why + len, why_size - len, "%s%s needs %s", len ? ", " : "",
                                o->target, lack);
      continue;
    }
    int level = mt_cpu_target_find(o->target)->level;
    if (level > best_level) {
      best = (int)i;
      best_level = level;
    }
  }
  return best;
}

/* Loads the libraries the object needs (libdnnl, libgomp, ...) with RTLD_NODELETE before the
 * object itself, so closing a session never unloads them: libgomp and oneDNN keep per-thread and
 * per-process state (libgomp allocates a thread's OpenMP settings on its first
 * omp_set_num_threads) that an unload would leave dangling, and a reload per session would pay
 * their start-up again. A name the loader cannot find is left to the object's own dlopen, which
 * then fails with the loader's message. Names with a '/' are not pinned (never emitted by mtcc). */
static void pin_needed_libraries(const Mtbundle__CpuObject *o) {
  for (size_t i = 0; i < o->n_needed_libraries; i++) {
    const char *lib = o->needed_libraries[i];
    if (!lib || strchr(lib, '/')) continue;
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (h) dlclose(h); /* NODELETE: the library stays loaded, only the reference goes */
  }
}

/* Writes object i to a memfd and dlopens it; NULL handle and *why on failure. The memfd stays
 * open (*out_fd) until the handle is closed: dlopen matches an already loaded object by its path
 * first, so a second session's object reusing a closed fd number's "/proc/self/fd/N" would get
 * the first session's library instead of its own. */
static void *open_object(const mt_bundle *b, const Mtbundle__CpuObject *o, char *why,
                         size_t why_size, int *out_fd) {
  char name[64];
  snprintf(name, sizeof name, "mtrt-cpu-%s", o->target);
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) {
    snprintf(why, why_size, "memfd_create failed: %s", strerror(errno));
    return NULL;
  }
  const uint8_t *p = b->cpu_code + o->offset;
  size_t left = (size_t)o->size;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      snprintf(why, why_size, "writing the object to a memfd failed: %s",
               w < 0 ? strerror(errno) : "no progress");
      close(fd);
      return NULL;
    }
    p += w;
    left -= (size_t)w;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  pin_needed_libraries(o);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(why, why_size, "dlopen failed: %s", e ? e : "unknown error");
  }
  if (h)
    *out_fd = fd;
  else
    close(fd);
  return h;
}

/* Resolves the ABI version and every kernel symbol of the loaded object. */
MT_MUST_USE static mt_status *resolve(mt_cpu_code *c, const Mtbundle__Manifest *m,
                                      const char *target) {
  const uint32_t *abi = dlsym(c->handle, MT_CPU_ABI_VERSION_SYMBOL);
  if (!abi)
    return MT_ERR(DATA_LOSS, "CPU object %s does not export %s", target, MT_CPU_ABI_VERSION_SYMBOL);
  if (*abi != MT_CPU_ABI_VERSION)
    return MT_ERR(DATA_LOSS, "CPU object %s has CPU ABI version %u; its manifest entry says %u",
                  target, *abi, MT_CPU_ABI_VERSION);
  size_t n = 0;
  c->at = calloc(m->n_cpu_groups + 2, sizeof *c->at);
  for (size_t g = 0; c->at && g < m->n_cpu_groups; g++) {
    c->at[g] = n;
    n += m->cpu_groups[g]->n_kernels;
  }
  if (c->at) c->at[m->n_cpu_groups] = n;
  c->fns = calloc(n + 1, sizeof *c->fns);
  if (!c->at || !c->fns) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t g = 0; g < m->n_cpu_groups; g++)
    for (size_t k = 0; k < m->cpu_groups[g]->n_kernels; k++) {
      const char *sym = m->cpu_groups[g]->kernels[k]->symbol;
      /* a function pointer from dlsym's object pointer, as POSIX allows */
      void *f = dlsym(c->handle, sym);
      if (!f)
        return MT_ERR(DATA_LOSS, "CPU object %s lacks kernel '%s' (CPU group %zu kernel %zu)",
                      target, sym, g, k);
      memcpy(&c->fns[c->at[g] + k], &f, sizeof f);
    }
  return NULL;
}

/* The session splits every kernel over its own threads (cpu_abi.h), so a library the object
 * calls must not start threads of its own on top: OpenBLAS (found through the object's
 * dependencies, RTLD_LOCAL or not) is set to one thread. This is process-wide for that copy of
 * OpenBLAS, which only generated objects and libraries linking the same soname share. (An
 * object calling oneDNN sets OpenMP's thread count itself, per calling thread: codegen/cpu.) */
static void single_threaded_libraries(void *handle) {
  void *f = dlsym(handle, "openblas_set_num_threads");
  if (!f) return;
  void (*set)(int);
  memcpy(&set, &f, sizeof set);
  set(1);
}

mt_status *mt_cpu_code_load(const mt_bundle *b, const char *cpu_target, mt_cpu_code **out) {
  *out = NULL;
  const Mtbundle__Manifest *m = b->manifest;
  bool automatic = !cpu_target || !cpu_target[0] || strcmp(cpu_target, "auto") == 0;
  bool reference = cpu_target && strcmp(cpu_target, "reference") == 0;
  const mt_cpu_target_info *cap = automatic || reference ? NULL : mt_cpu_target_find(cpu_target);
  if (!automatic && !reference && !cap)
    return MT_ERR(INVALID_ARGUMENT,
                  "cpu_target '%.40s' is not auto, reference, x86-64, x86-64-v2, x86-64-v3, "
                  "x86-64-v4 or aarch64",
                  cpu_target);
  mt_cpu_code *c = calloc(1, sizeof *c);
  if (!c) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  c->target = "reference";
  c->fd = -1;
  *out = c;
  if (reference) {
    snprintf(c->note, sizeof c->note, "reference kernels (cpu_target reference)");
    return NULL;
  }
  if (m->n_cpu_objects == 0) {
    snprintf(c->note, sizeof c->note, "reference kernels (the bundle has no CPU objects: %s)",
             m->cpu_unavailable && m->cpu_unavailable[0] ? m->cpu_unavailable : "no reason given");
    return NULL;
  }
  char why[256];
  int i = pick(m, cap, why, sizeof why);
  if (i < 0) {
    snprintf(c->note, sizeof c->note, "reference kernels (no CPU object fits this host%s%s: %s)",
             cap ? " taken as " : "", cap ? cap->name : "", why);
    return NULL;
  }
  const Mtbundle__CpuObject *o = m->cpu_objects[i];
  c->handle = open_object(b, o, why, sizeof why, &c->fd);
  if (!c->handle) {
    snprintf(c->note, sizeof c->note, "reference kernels (CPU object %s did not load: %s)",
             o->target, why);
    return NULL;
  }
  mt_status *st = resolve(c, m, o->target);
  if (st) {
    mt_cpu_code_destroy(c);
    *out = NULL;
    return st;
  }
  single_threaded_libraries(c->handle);
  c->target = o->target;
  size_t len = (size_t)snprintf(c->note, sizeof c->note, "CPU object %s", o->target);
  for (size_t f = 0; f < o->n_required_features && len < sizeof c->note; f++)
    len += (size_t)snprintf(c->note + len, sizeof c->note - len, "%s%s", f ? " " : " (needs ",
                            o->required_features[f]);
  if (o->n_required_features && len < sizeof c->note)
    snprintf(c->note + len, sizeof c->note - len, ")");
  return NULL;
}
