/* codegen/cpu built without LLVM, as `-DMTCC_LLVM=OFF` (or a machine without llvm-19-dev) builds
 * it: the library compiles, says the backend is off and why, and a generated program carries no
 * objects but that reason for every group, which the bundle then stores as cpu_unavailable.
 * (A second configure of the whole tree with MTCC_LLVM=OFF is too slow for CI; this builds the
 * same sources without MTCC_HAVE_LLVM instead.) */
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cpu.h"

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                                   \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

int main(void) {
  CHECK(!mt_cpu_backend_available());
  CHECK(strstr(mt_cpu_backend_describe(), "without LLVM") != NULL);
  /* a plan with groups but no nodes is enough: the off reason is decided before any lowering */
  mt_horizontal_group hgroups[3];
  memset(hgroups, 0, sizeof hgroups);
  mt_plan p;
  memset(&p, 0, sizeof p);
  p.hgroups = hgroups;
  p.n_hgroups = 3;
  mt_cpu_options o;
  mt_cpu_options_init(&o);
  mt_cpu_program *prog = NULL;
  mt_status *st = mt_cpu_generate(&p, &o, &prog);
  CHECK(st == NULL);
  CHECK(prog->n_objects == 0);
  CHECK(strstr(prog->unavailable, "CPU backend is off") != NULL);
  for (int g = 0; g < 3; g++) CHECK(strcmp(prog->groups[g].unavailable, prog->unavailable) == 0);
  CHECK(mt_cpu_program_groups_generated(prog) == 0);
  mt_cpu_program_destroy(prog);
  /* --no-cpu-code wins over the missing backend, with its own reason */
  o.disabled = true;
  CHECK(mt_cpu_generate(&p, &o, &prog) == NULL);
  CHECK(strstr(prog->unavailable, "--no-cpu-code") != NULL);
  mt_cpu_program_destroy(prog);
  printf("CPU backend without LLVM: %s\n", mt_cpu_backend_describe());
  return 0;
}
