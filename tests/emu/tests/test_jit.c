/* The C interface: compile a kernel source at test time with emu_jit_load, launch an exported kernel
 * with a cuLaunchKernel-style argument array, and get compile errors and launch errors as statuses.
 * Usage: emu_jit_test KERNELS_DIR UNSUPPORTED_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_rt.h"

#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s (%s)\n", __FILE__, __LINE__, #c, emu_last_error()); \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s KERNELS_DIR UNSUPPORTED_DIR\n", argv[0]);
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/elementwise.cu", argv[1]);
  const char *names[] = {"axpb_grid_stride", "vec4_scale"};
  emu_module *m = NULL;
  CHECK(emu_jit_load(path, names, 2, NULL, &m) == EMU_OK);
  emu_kernel_fn k = emu_module_kernel(m, "axpb_grid_stride");
  CHECK(k != NULL && emu_module_kernel(m, "vec4_scale") != NULL &&
        emu_module_kernel(m, "nope") == NULL);

  int n = 1000;
  float *x = emu_malloc((size_t)n * sizeof(float)), *y = emu_malloc((size_t)n * sizeof(float));
  for (int i = 0; i < n; i++) x[i] = (float)i;
  float a = 2.0f, b = 1.0f;
  void *args[] = {&x, &y, &a, &b, &n};
  emu_dim3 grid = {4, 1, 1}, block = {64, 1, 1};
  CHECK(k(grid, block, 0, args) == EMU_OK);
  for (int i = 0; i < n; i++) CHECK(y[i] == 2.0f * (float)i + 1.0f);

  /* A wrong element count makes the kernel read past x: reported, not a crash. */
  int too_many = n + 1;
  void *bad_args[] = {&x, &y, &a, &b, &too_many};
  CHECK(k(grid, block, 0, bad_args) == EMU_ERR_OOB_GLOBAL);
  CHECK(strstr(emu_last_error(), "kernel `axpb_grid_stride`, block (3,0,0), thread (40,0,0)") !=
        NULL);
  printf("reported: %s\n", emu_last_error());
  emu_module_free(m);

  /* A source outside the dialect: the compiler's message reaches the caller. */
  snprintf(path, sizeof path, "%s/raw_shared.cu", argv[2]);
  const char *k2[] = {"k"};
  CHECK(emu_jit_load(path, k2, 1, NULL, &m) == EMU_ERR_COMPILE);
  CHECK(strstr(emu_last_error(), "MT_SHARED") != NULL);
  CHECK(m == NULL);
  emu_free(x);
  emu_free(y);
  printf("emu_jit_test: OK\n");
  return 0;
}
