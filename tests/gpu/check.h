/* A check that counts failures and goes on (the GPU tests are plain C, not cmocka: the TSan build
 * of test_gpu_fallback compiles libmtrt's sources only). Header-only; each test is one program. */
#ifndef MT_TESTS_GPU_CHECK_H
#define MT_TESTS_GPU_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      failures++;                                                                                  \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                     \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
    }                                                                                              \
  } while (0)

#endif
