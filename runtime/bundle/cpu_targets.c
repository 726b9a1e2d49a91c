/* Host CPU features (cpuid + xgetbv on x86-64, getauxval on aarch64) and the table of CPU
 * targets (cpu_targets.h). The x86-64 levels are the psABI's microarchitecture levels, each
 * adding features to the one below. */
#include "runtime/bundle/cpu_targets.h"

#include <elf.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

static const mt_cpu_target_info TARGETS[] = {
    {"x86-64", EM_X86_64, 1},    {"x86-64-v2", EM_X86_64, 2}, {"x86-64-v3", EM_X86_64, 3},
    {"x86-64-v4", EM_X86_64, 4}, {"aarch64", EM_AARCH64, 1},
};

const mt_cpu_target_info *mt_cpu_target_find(const char *name) {
  for (size_t i = 0; name && i < sizeof TARGETS / sizeof *TARGETS; i++)
    if (strcmp(TARGETS[i].name, name) == 0) return &TARGETS[i];
  return NULL;
}

int mt_cpu_host_machine(void) {
#if defined(__x86_64__)
  return EM_X86_64;
#elif defined(__aarch64__)
  return EM_AARCH64;
#else
  return 0;
#endif
}

/* A feature, the lowest level that has it (0: no level; only a real host has it) and whether
 * the host has it. */
typedef struct feature {
  const char *name;
  int level;
  bool have;
} feature;

#if defined(__x86_64__)
static uint64_t xcr0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t)hi << 32 | lo;
}

/* Fills f (at most cap entries) with the host's x86-64 features; returns the count. */
static size_t host_features(feature *f, size_t cap) {
  unsigned a = 0, b1 = 0, c1 = 0, d1 = 0, b7 = 0, c7 = 0, d7 = 0, ce = 0, de = 0;
  __get_cpuid(1, &a, &b1, &c1, &d1);
  __get_cpuid_count(7, 0, &a, &b7, &c7, &d7);
  __get_cpuid(0x80000001u, &a, &b1, &ce, &de);
  uint64_t x = (c1 >> 27 & 1) ? xcr0() : 0; /* OSXSAVE: the OS saves the vector registers */
  bool ymm = (x & 6) == 6, zmm = ymm && (x & 0xe0) == 0xe0;
  const feature all[] = {
      {"cmov", 1, d1 >> 15 & 1},
      {"cx8", 1, d1 >> 8 & 1},
      {"fxsr", 1, d1 >> 24 & 1},
      {"mmx", 1, d1 >> 23 & 1},
      {"sse", 1, d1 >> 25 & 1},
      {"sse2", 1, d1 >> 26 & 1},
      {"cx16", 2, c1 >> 13 & 1},
      {"sahf", 2, ce & 1},
      {"popcnt", 2, c1 >> 23 & 1},
      {"sse3", 2, c1 & 1},
      {"ssse3", 2, c1 >> 9 & 1},
      {"sse4.1", 2, c1 >> 19 & 1},
      {"sse4.2", 2, c1 >> 20 & 1},
      {"crc32", 2, c1 >> 20 & 1},
      {"avx", 3, ymm && (c1 >> 28 & 1)},
      {"avx2", 3, ymm && (b7 >> 5 & 1)},
      {"bmi", 3, b7 >> 3 & 1},
      {"bmi2", 3, b7 >> 8 & 1},
      {"f16c", 3, ymm && (c1 >> 29 & 1)},
      {"fma", 3, ymm && (c1 >> 12 & 1)},
      {"lzcnt", 3, ce >> 5 & 1},
      {"movbe", 3, c1 >> 22 & 1},
      {"xsave", 3, c1 >> 26 & 1},
      {"avx512f", 4, zmm && (b7 >> 16 & 1)},
      {"avx512dq", 4, zmm && (b7 >> 17 & 1)},
      {"avx512cd", 4, zmm && (b7 >> 28 & 1)},
      {"avx512bw", 4, zmm && (b7 >> 30 & 1)},
      {"avx512vl", 4, zmm && (b7 >> 31 & 1)},
      {"avx512vnni", 0, zmm && (c7 >> 11 & 1)},
      {"avx512vbmi", 0, zmm && (c7 >> 1 & 1)},
      {"aes", 0, c1 >> 25 & 1},
      {"pclmul", 0, c1 >> 1 & 1},
  };
  size_t n = sizeof all / sizeof *all < cap ? sizeof all / sizeof *all : cap;
  memcpy(f, all, n * sizeof *f);
  return n;
}
#elif defined(__aarch64__)
static size_t host_features(feature *f, size_t cap) {
  unsigned long hw = getauxval(AT_HWCAP);
  const feature all[] = {{"neon", 1, hw & HWCAP_ASIMD}, {"fp-armv8", 1, hw & HWCAP_FP}};
  size_t n = sizeof all / sizeof *all < cap ? sizeof all / sizeof *all : cap;
  memcpy(f, all, n * sizeof *f);
  return n;
}
#else
static size_t host_features(feature *f, size_t cap) {
  (void)f;
  (void)cap;
  return 0;
}
#endif

bool mt_cpu_host_has(const char *feature_name, const mt_cpu_target_info *cap) {
  if (cap && cap->elf_machine != mt_cpu_host_machine()) return false;
  feature f[64];
  size_t n = host_features(f, sizeof f / sizeof *f);
  for (size_t i = 0; i < n; i++)
    if (strcmp(f[i].name, feature_name) == 0)
      return f[i].have && (!cap || (f[i].level > 0 && f[i].level <= cap->level));
  return false;
}
