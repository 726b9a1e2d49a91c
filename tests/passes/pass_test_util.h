/* Checking helpers shared by the pass tests. Each tests/passes/test_*.c is built as its own
 * executable, so this is a header of static definitions rather than a library: every test gets
 * its own failure counter. */
#ifndef MT_TESTS_PASSES_PASS_TEST_UTIL_H
#define MT_TESTS_PASSES_PASS_TEST_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "runtime/base/status.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                         \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

/* True when st is OK; otherwise counts a failure and prints and frees the status (callers abort
 * the current case). */
static inline bool ok(mt_status *st, const char *what) {
  if (!st) return true;
  fprintf(stderr, "FAIL %s: %s\n", what, mt_status_message(st));
  mt_status_free(st);
  failures++;
  return false;
}

/* Checks that msg contains every needle of the NULL-terminated list (needles may be NULL). */
static inline void check_needles(const char *what, const char *msg, const char *const *needles) {
  for (int i = 0; needles && needles[i]; i++)
    CHECK(strstr(msg, needles[i]) != NULL, "%s: message lacks \"%s\": %s", what, needles[i], msg);
}

#endif
