/* A CPU session's generated code: the bundle's CPU object the host can run, loaded from memory
 * (memfd + dlopen) with every kernel symbol resolved, or the reference kernels and why. */
#ifndef MT_RUNTIME_BUNDLE_CPU_CODE_H
#define MT_RUNTIME_BUNDLE_CPU_CODE_H

#include <stddef.h>

#include "runtime/bundle/bundle.h"
#include "runtime/bundle/cpu_abi.h"

typedef struct mt_cpu_code mt_cpu_code;

/* Picks the object for cpu_target: NULL, "" or "auto": the widest target whose required
 * features the host has; "reference": none; a target name ("x86-64-v3"): as "auto" on a host
 * taken to have at most that target's features (simulates an older CPU). When no object fits
 * or the fitting one cannot be loaded (a needed library is missing, no memfd), *out runs the
 * reference kernels and its note says why. Errors: INVALID_ARGUMENT for an unknown cpu_target;
 * DATA_LOSS when a loaded object lacks a kernel symbol or has another mt_cpu_abi_version (the
 * bundle is corrupt). b must be validated and outlive *out. */
MT_MUST_USE mt_status *mt_cpu_code_load(const mt_bundle *b, const char *cpu_target,
                                        mt_cpu_code **out);
/* Unloads the object and frees c (NULL is fine). */
void mt_cpu_code_destroy(mt_cpu_code *c);

/* The chosen object's target, or "reference". */
const char *mt_cpu_code_target(const mt_cpu_code *c);
/* One line: the object and its features, or why the reference kernels run. */
const char *mt_cpu_code_note(const mt_cpu_code *c);
/* Kernel k of group g (Manifest.cpu_groups), or NULL when the group runs its reference nodes
 * (no object loaded, or the group has no CPU code). */
mt_cpu_kernel_fn mt_cpu_code_kernel(const mt_cpu_code *c, size_t g, size_t k);

#endif
