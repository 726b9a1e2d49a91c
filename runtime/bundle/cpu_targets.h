/* The CPU targets a bundle's CPU objects are compiled for, and the host's CPU features: what
 * the loader checks an object's ELF header against and what the session uses to pick the object
 * the host can run (cpu_code.c). Feature names are LLVM's (`avx2`, `avx512f`, `fma`, ...), the
 * names the compiler writes into CpuObject.required_features. */
#ifndef MT_RUNTIME_BUNDLE_CPU_TARGETS_H
#define MT_RUNTIME_BUNDLE_CPU_TARGETS_H

#include <stdbool.h>

typedef struct mt_cpu_target_info {
  const char *name; /* "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "aarch64" */
  int elf_machine;  /* EM_X86_64, EM_AARCH64 */
  int level;        /* wider targets have higher levels within one machine */
} mt_cpu_target_info;

/* The target called name, or NULL when this library does not know it. */
const mt_cpu_target_info *mt_cpu_target_find(const char *name);

/* Whether the host runs code needing `feature`, when the host is taken to be at most `cap` (NULL:
 * the host as it is). A cap simulates an older CPU: a feature beyond the cap's level, or any
 * feature of another machine, is missing. Unknown features are missing. Any thread. */
bool mt_cpu_host_has(const char *feature, const mt_cpu_target_info *cap);

/* The ELF machine of the host (EM_X86_64, EM_AARCH64, or 0 for others). */
int mt_cpu_host_machine(void);

#endif
