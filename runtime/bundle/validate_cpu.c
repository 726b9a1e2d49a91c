/* The loader's checks of a bundle's CPU code (mtbundle.proto fields 17-19), after the CPU plan's:
 * nothing libmtrt writes to a memfd, hands to dlopen or calls with pointers is used unchecked.
 *   - objects: the CPU-code section exists exactly when there are objects; each object lies inside
 *     it, 64-byte aligned, non-empty, no two sharing a byte; its target is one this library knows
 *     and is named once; its abi_version is MT_CPU_ABI_VERSION; its bytes start with an ELF
 *     header of a 64-bit little-endian shared object for its target's machine; its features and
 *     libraries are non-empty names;
 *   - groups: none, or one per Manifest.groups; each either says why it has no CPU code or lists
 *     its kernels; a kernel has a C identifier as symbol, unique in the bundle, the tenant of one
 *     of the group's nodes (or -1: several) and arguments the CPU plan's rules accept (an input
 *     only of the kernel's tenant, or of one of the group's tenants for -1).
 * Which arguments a kernel writes the format does not say, so none is refused as read-only here:
 * the writer never points a written argument at a constant or an input.
 * Errors name the file, the object or group, the kernel and the field. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/bundle/bundle.h"
#include "runtime/bundle/cpu_abi.h"
#include "runtime/bundle/cpu_targets.h"

#define MAX_ITEMS (1u << 24)
#define MAX_OBJECTS 16u
#define MAX_NAMES 256u
#define MAX_NAME 256u
#define MAX_KERNELS 4096u
#define MAX_ARGS 4096u

typedef Mtbundle__BufferRef ref_t;

/* A feature or library name: printable, no space, 1 to MAX_NAME bytes. */
static bool is_name(const char *s) {
  if (!s || !s[0] || strlen(s) > MAX_NAME) return false;
  for (size_t i = 0; s[i]; i++)
    if (s[i] <= ' ' || s[i] > '~') return false;
  return true;
}

MT_MUST_USE static mt_status *check_names(char **names, size_t n, const char *f, size_t i,
                                          const char *field) {
  if (n > MAX_NAMES)
    return MT_ERR(DATA_LOSS, "%s: CPU object %zu: %zu %s (at most %u)", f, i, n, field, MAX_NAMES);
  for (size_t k = 0; k < n; k++)
    if (!is_name(names[k]))
      return MT_ERR(DATA_LOSS, "%s: CPU object %zu: %s %zu is empty or not a printable name", f, i,
                    field, k);
  return NULL;
}

/* The ELF header of object i: a 64-bit little-endian shared object for `machine`. */
MT_MUST_USE static mt_status *check_elf(const uint8_t *p, uint64_t size, int machine, const char *f,
                                        size_t i, const char *target) {
  Elf64_Ehdr h;
  if (size < sizeof h)
    return MT_ERR(DATA_LOSS, "%s: CPU object %zu (%s): %llu bytes cannot hold an ELF header", f, i,
                  target, (unsigned long long)size);
  memcpy(&h, p, sizeof h);
  if (memcmp(h.e_ident, ELFMAG, SELFMAG) != 0)
    return MT_ERR(DATA_LOSS, "%s: CPU object %zu (%s): not an ELF file (bad magic)", f, i, target);
  if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB)
    return MT_ERR(DATA_LOSS, "%s: CPU object %zu (%s): not a 64-bit little-endian ELF file", f, i,
                  target);
  if (h.e_type != ET_DYN)
    return MT_ERR(DATA_LOSS, "%s: CPU object %zu (%s): ELF type %u is not a shared object", f, i,
                  target, (unsigned)h.e_type);
  if (h.e_machine != machine)
    return MT_ERR(DATA_LOSS, "%s: CPU object %zu (%s): ELF machine %u, the target's is %d", f, i,
                  target, (unsigned)h.e_machine, machine);
  return NULL;
}

typedef struct span {
  uint64_t offset, size;
  size_t object;
} span;

static int by_offset(const void *a, const void *b) {
  const span *x = a, *y = b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

MT_MUST_USE static mt_status *check_object(const mt_bundle *b, size_t i, const char *f) {
  const Mtbundle__Manifest *m = b->manifest;
  const Mtbundle__CpuObject *o = m->cpu_objects[i];
  const mt_cpu_target_info *ti = mt_cpu_target_find(o->target);
  if (!ti)
    return MT_ERR(DATA_LOSS, "%s: CPU object %zu: unknown target '%.32s'", f, i,
                  o->target ? o->target : "");
  for (size_t j = 0; j < i; j++)
    if (strcmp(m->cpu_objects[j]->target, o->target) == 0)
      return MT_ERR(DATA_LOSS, "%s: CPU objects %zu and %zu are both for %s", f, j, i, o->target);
  if (o->abi_version != MT_CPU_ABI_VERSION)
    return MT_ERR(UNIMPLEMENTED,
                  "%s: CPU object %zu (%s): CPU ABI version %u; this libmtrt calls %u", f, i,
                  o->target, o->abi_version, MT_CPU_ABI_VERSION);
  if (o->size == 0 || o->offset % MT_BUNDLE_ALIGN || o->offset > b->cpu_code_bytes ||
      o->size > b->cpu_code_bytes - o->offset)
    return MT_ERR(DATA_LOSS,
                  "%s: CPU object %zu (%s): [%llu, +%llu) is empty, misaligned or past the "
                  "CPU-code section (%zu bytes)",
                  f, i, o->target, (unsigned long long)o->offset, (unsigned long long)o->size,
                  b->cpu_code_bytes);
  MT_RETURN_IF_ERROR_PLAIN(
      check_names(o->required_features, o->n_required_features, f, i, "required features"));
  MT_RETURN_IF_ERROR_PLAIN(
      check_names(o->needed_libraries, o->n_needed_libraries, f, i, "needed libraries"));
  return check_elf(b->cpu_code + o->offset, o->size, ti->elf_machine, f, i, o->target);
}

MT_MUST_USE static mt_status *check_objects(const mt_bundle *b, const char *f) {
  const Mtbundle__Manifest *m = b->manifest;
  if ((b->cpu_code != NULL) != (m->n_cpu_objects > 0))
    return MT_ERR(DATA_LOSS, "%s: %s", f,
                  b->cpu_code ? "a CPU-code section but no CPU objects"
                              : "CPU objects but no CPU-code section");
  if (m->n_cpu_objects > MAX_OBJECTS)
    return MT_ERR(DATA_LOSS, "%s: %zu CPU objects (at most %u)", f, m->n_cpu_objects, MAX_OBJECTS);
  if (m->n_cpu_objects && m->cpu_unavailable && m->cpu_unavailable[0])
    return MT_ERR(DATA_LOSS, "%s: CPU objects and a reason there are none (cpu_unavailable)", f);
  span spans[MAX_OBJECTS];
  for (size_t i = 0; i < m->n_cpu_objects; i++) {
    MT_RETURN_IF_ERROR_PLAIN(check_object(b, i, f));
    spans[i] = (span){m->cpu_objects[i]->offset, m->cpu_objects[i]->size, i};
  }
  qsort(spans, m->n_cpu_objects, sizeof *spans, by_offset);
  for (size_t i = 1; i < m->n_cpu_objects; i++)
    if (spans[i].offset < spans[i - 1].offset + spans[i - 1].size)
      return MT_ERR(DATA_LOSS, "%s: CPU objects %zu and %zu overlap", f, spans[i - 1].object,
                    spans[i].object);
  return NULL;
}

/* The group being checked: group_of_tenant[t] == g when tenant t has a node in group g. */
typedef struct group_ctx {
  const Mtbundle__Manifest *m;
  int64_t g;
  const int64_t *group_of_tenant;
} group_ctx;

MT_MUST_USE static mt_status *check_kernel(const group_ctx *gc, const Mtbundle__CpuKernel *k,
                                           const char *what) {
  const Mtbundle__Manifest *m = gc->m;
  if (!mt_bundle_is_identifier(k->symbol, MAX_NAME))
    return MT_ERR(DATA_LOSS, "%s: symbol '%.64s' is not a C identifier", what,
                  k->symbol ? k->symbol : "");
  if (strcmp(k->symbol, MT_CPU_ABI_VERSION_SYMBOL) == 0)
    return MT_ERR(DATA_LOSS, "%s: symbol '%s' names the ABI version, not a kernel", what,
                  k->symbol);
  if (k->tenant < -1 || k->tenant >= (int64_t)m->n_tenants ||
      (k->tenant >= 0 && gc->group_of_tenant[k->tenant] != gc->g))
    return MT_ERR(DATA_LOSS, "%s: tenant %d has no node in the group", what, k->tenant);
  if (k->n_args == 0 || k->n_args > MAX_ARGS)
    return MT_ERR(DATA_LOSS, "%s: %zu arguments (1 to %u)", what, k->n_args, MAX_ARGS);
  char arg[300];
  for (size_t i = 0; i < k->n_args; i++) {
    const ref_t *r = k->args[i];
    snprintf(arg, sizeof arg, "%s: argument %zu", what, i);
    if (!r || r->kind == MTBUNDLE__BUFFER_REF__KIND__NONE)
      return MT_ERR(DATA_LOSS, "%s: no buffer", arg);
    int32_t tenant = k->tenant;
    if (r->kind == MTBUNDLE__BUFFER_REF__KIND__INPUT && tenant < 0) {
      /* a horizontal kernel reads the inputs of any of the group's tenants */
      if (r->tenant < 0 || (size_t)r->tenant >= m->n_tenants ||
          gc->group_of_tenant[r->tenant] != gc->g)
        return MT_ERR(DATA_LOSS, "%s: reads an input of tenant %d, which has no node in the group",
                      arg, r->tenant);
      tenant = r->tenant;
    }
    MT_RETURN_IF_ERROR_PLAIN(mt_bundle_check_ref(m, r, false, tenant, arg));
  }
  return NULL;
}

static int by_symbol(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every kernel symbol once in the whole bundle: the runtime resolves each to one function. */
MT_MUST_USE static mt_status *check_unique_symbols(const Mtbundle__Manifest *m, const char *f) {
  size_t n = 0;
  for (size_t g = 0; g < m->n_cpu_groups; g++) n += m->cpu_groups[g]->n_kernels;
  const char **syms = malloc((n + 1) * sizeof *syms);
  if (!syms) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  n = 0;
  for (size_t g = 0; g < m->n_cpu_groups; g++)
    for (size_t k = 0; k < m->cpu_groups[g]->n_kernels; k++)
      syms[n++] = m->cpu_groups[g]->kernels[k]->symbol;
  qsort(syms, n, sizeof *syms, by_symbol);
  mt_status *st = NULL;
  for (size_t i = 1; !st && i < n; i++)
    if (strcmp(syms[i], syms[i - 1]) == 0)
      st = MT_ERR(DATA_LOSS, "%s: CPU kernel symbol '%s' is used twice", f, syms[i]);
  free(syms);
  return st;
}

MT_MUST_USE static mt_status *check_group(const group_ctx *gc, const char *f) {
  size_t g = (size_t)gc->g;
  const Mtbundle__CpuGroup *cg = gc->m->cpu_groups[g];
  bool why = cg->unavailable && cg->unavailable[0];
  if (why == (cg->n_kernels > 0))
    return MT_ERR(DATA_LOSS, "%s: CPU group %zu has %s", f, g,
                  why ? "kernels and a reason it has no CPU code" : "neither kernels nor a reason");
  if (cg->n_kernels > MAX_KERNELS)
    return MT_ERR(DATA_LOSS, "%s: CPU group %zu: %zu kernels (at most %u)", f, g, cg->n_kernels,
                  MAX_KERNELS);
  if (cg->n_kernels && gc->m->n_cpu_objects == 0)
    return MT_ERR(DATA_LOSS, "%s: CPU group %zu has kernels but the bundle has no CPU objects", f,
                  g);
  char what[200];
  for (size_t k = 0; k < cg->n_kernels; k++) {
    snprintf(what, sizeof what, "%s: CPU group %zu kernel %zu", f, g, k);
    MT_RETURN_IF_ERROR_PLAIN(check_kernel(gc, cg->kernels[k], what));
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_one_group(const Mtbundle__Manifest *m, size_t g,
                                              const int64_t *group_of_tenant, const char *f) {
  group_ctx gc = {.m = m, .g = (int64_t)g, .group_of_tenant = group_of_tenant};
  return check_group(&gc, f);
}

MT_MUST_USE static mt_status *check_groups(const Mtbundle__Manifest *m, const char *f) {
  if (m->n_cpu_groups != 0 && m->n_cpu_groups != m->n_groups)
    return MT_ERR(DATA_LOSS, "%s: %zu CPU groups for %zu groups (expected none or one per group)",
                  f, m->n_cpu_groups, m->n_groups);
  MT_RETURN_IF_ERROR_PLAIN(mt_bundle_check_groups(m, m->n_cpu_groups, check_one_group, f));
  return check_unique_symbols(m, f);
}

mt_status *mt_bundle_validate_cpu(const mt_bundle *b, const char *f) {
  const Mtbundle__Manifest *m = b->manifest;
  if (m->n_cpu_groups > MAX_ITEMS)
    return MT_ERR(DATA_LOSS, "%s: %zu CPU groups is out of range", f, m->n_cpu_groups);
  MT_RETURN_IF_ERROR_PLAIN(check_objects(b, f));
  return check_groups(m, f);
}
