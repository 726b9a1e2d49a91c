/* NVRTC's results beyond "it compiled": the resources read from the cubin, the warnings they
 * give, PTX for the newest arch only, and the on-disk cache (hits, a corrupt entry recompiled and
 * rewritten, --no-cache). Two hand-written kernels: one with a 512-float local array indexed at
 * run time (it must live in local memory: a stack frame of at least 2048 bytes) and one with 100
 * floats of static shared memory and no local memory. Malformed cubins must give a status, never
 * a crash. Exit 77 (skip) when mtcc was built without NVRTC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/cuda.h"

static int failures;
#define CHECK(c, ...)                                                                              \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                         \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

static const char spill_src[] =
    "#include \"mt_cuda.h\"\n"
    "extern \"C\" __global__ void t_local(MT_GLOBAL(float) o, MT_GLOBAL(const int) ix) {\n"
    "  float a[512];\n"
    "  for (int i = 0; i < 512; i++) a[i] = o[i] * 2.0f;\n"
    "  o[threadIdx.x] = a[ix[threadIdx.x]];\n"
    "}\n";

static const char plain_src[] = "#include \"mt_cuda.h\"\n"
                                "extern \"C\" __global__ void t_plain(MT_GLOBAL(float) o) {\n"
                                "  MT_SHARED(float, s, [100]);\n"
                                "  s[threadIdx.x] = o[threadIdx.x];\n"
                                "  __syncthreads();\n"
                                "  const float v = s[99 - threadIdx.x];\n"
                                "  o[threadIdx.x] = v + 1.0f;\n"
                                "}\n";

static int count_files(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "ls %s | grep -c nvc", dir);
  FILE *p = popen(cmd, "r");
  int n = 0;
  if (p) {
    if (fscanf(p, "%d", &n) != 1) n = 0;
    pclose(p);
  }
  return n;
}

int main(void) {
  if (!mt_cuda_nvrtc_available()) {
    printf("skip: %s\n", mt_cuda_nvrtc_describe());
    return 77;
  }
  mt_cuda_kernel ks[2] = {
      {.name = "t_local", .source = spill_src, .grid = 1, .block = 128},
      {.name = "t_plain", .source = plain_src, .grid = 1, .block = 100},
  };
  mt_cuda_program prog = {.n_kernels = 2, .kernels = ks};
  const char *archs[] = {"sm_90", "sm_80"}; /* newest first: PTX goes with index 0 */
  char dir[] = "/tmp/mtcc_nvrtc_cache_XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char cache[600];
  snprintf(cache, sizeof cache, "%s/sub/dir", dir); /* created on first use */

  mt_cuda_compiled *res = NULL;
  int hits = -1;
  mt_status *st = mt_cuda_nvrtc_compile_cached(&prog, archs, 2, 2, cache, &res, &hits);
  CHECK(!st, "compile: %s", st ? mt_status_message(st) : "");
  if (st) return 1;
  CHECK(hits == 0, "cold cache: %d hits", hits);
  for (int a = 0; a < 2; a++) {
    const mt_cuda_compiled *l = &res[0 * 2 + a], *p = &res[1 * 2 + a];
    CHECK(l->spills >= 2048, "%s: local kernel has %d local bytes, expected >= 2048", l->arch,
          l->spills);
    CHECK(l->warning[0] && strstr(l->warning, "local memory"), "%s: no local-memory warning: '%s'",
          l->arch, l->warning);
    CHECK(l->registers > 0 && l->registers <= 255, "%s: %d registers", l->arch, l->registers);
    CHECK(p->spills == 0, "%s: plain kernel has %d local bytes", p->arch, p->spills);
    /* sm_90 cubins lay a kernel's shared memory out after the 1 KiB reserved per block, and the
     * section's size counts it */
    int want = strcmp(p->arch, "sm_90") == 0 ? 400 + 1024 : 400;
    CHECK(p->shared_bytes == want, "%s: plain kernel has %d shared bytes, expected %d", p->arch,
          p->shared_bytes, want);
    CHECK(p->registers > 0 && p->registers <= 64, "%s: %d registers", p->arch, p->registers);
    CHECK(p->warning[0] == 0, "%s: plain kernel warned: %s", p->arch, p->warning);
    CHECK(p->occupancy > 0.25 && p->occupancy <= 1.0, "%s: occupancy %.2f", p->arch, p->occupancy);
    CHECK((a == 0) == (p->ptx_bytes > 0 && p->ptx != NULL), "%s: PTX kept %zu bytes", p->arch,
          p->ptx_bytes);
    CHECK(p->cubin && p->cubin_bytes > 0 && !p->cached, "%s: cubin not kept", p->arch);
  }
  if (res[1 * 2].ptx) CHECK(strstr(res[1 * 2].ptx, ".target sm_90") != NULL, "PTX is not sm_90's");

  /* Malformed cubins: a status, not a crash, whatever is cut or flipped. */
  mt_cuda_resources r;
  size_t n = res[2].cubin_bytes;
  unsigned char *bad = malloc(n);
  for (size_t cut = 0; cut < n; cut += 97) {
    mt_status *s2 = mt_cuda_cubin_resources(res[2].cubin, cut, "t_plain", &r);
    mt_status_free(s2);
  }
  for (size_t i = 0; i < n; i += 13) {
    memcpy(bad, res[2].cubin, n);
    bad[i] ^= 0xff;
    mt_status_free(mt_cuda_cubin_resources(bad, n, "t_plain", &r));
  }
  free(bad);
  st = mt_cuda_cubin_resources("not an elf at all, really not one", 34, "t_plain", &r);
  CHECK(st && mt_status_code_of(st) == MT_DATA_LOSS, "garbage read as a cubin");
  mt_status_free(st);
  st = mt_cuda_cubin_resources(res[2].cubin, res[2].cubin_bytes, "t_missing", &r);
  CHECK(st && mt_status_code_of(st) == MT_NOT_FOUND, "a missing kernel was found");
  mt_status_free(st);
  mt_cuda_compiled_free(&prog, res, 4);

  /* Warm: every job from the cache, same readout. */
  CHECK(count_files(cache) == 4, "%d cache entries, expected 4", count_files(cache));
  st = mt_cuda_nvrtc_compile_cached(&prog, archs, 2, 2, cache, &res, &hits);
  CHECK(!st && hits == 4, "warm cache: %d hits", hits);
  if (!st) {
    CHECK(res[0].cached && res[0].spills >= 2048 && res[3].shared_bytes == 400 /* sm_80 */,
          "cached results differ");
    CHECK(res[2].ptx_bytes > 0, "no PTX from the cache");
    mt_cuda_compiled_free(&prog, res, 4);
  }
  mt_status_free(st);

  /* A corrupt entry (bytes flipped in the middle) is a miss, recompiled and rewritten. */
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "f=$(ls %s/*.sm_80.nvc | head -1); printf XXXXXXXX | dd of=$f bs=1 seek=200 "
           "conv=notrunc 2>/dev/null",
           cache);
  CHECK(system(cmd) == 0, "corrupting an entry failed");
  st = mt_cuda_nvrtc_compile_cached(&prog, archs, 2, 2, cache, &res, &hits);
  CHECK(!st && hits == 3, "after corrupting one entry: %d hits, expected 3", hits);
  if (!st) mt_cuda_compiled_free(&prog, res, 4);
  mt_status_free(st);
  st = mt_cuda_nvrtc_compile_cached(&prog, archs, 2, 2, cache, &res, &hits);
  CHECK(!st && hits == 4, "the corrupt entry was not rewritten: %d hits", hits);
  if (!st) mt_cuda_compiled_free(&prog, res, 4);
  mt_status_free(st);
  /* No cache: nothing read. */
  st = mt_cuda_nvrtc_compile_cached(&prog, archs, 2, 2, NULL, &res, &hits);
  CHECK(!st && hits == 0, "no cache: %d hits", hits);
  if (!st) mt_cuda_compiled_free(&prog, res, 4);
  mt_status_free(st);

  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  printf("%s: cubin readout, warnings, PTX and cache checked\n", failures ? "FAIL" : "OK");
  return failures ? 1 : 0;
}
