/* The command line every tests/passes/test_*.c takes, choosing which of its case groups to run:
 *
 *   test_x [--small]        the small cases: in-memory modules and tiny models, no files needed
 *                           (CTest runs these in every build, ASan/UBSan included)
 *   test_x --models DIR     the model-sized cases on the generated models in DIR (label "slow")
 *   test_x DIR              both
 */
#ifndef MT_TESTS_PASSES_TEST_GROUPS_H
#define MT_TESTS_PASSES_TEST_GROUPS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct test_groups {
  bool small;             /* run the small cases */
  const char *models_dir; /* run the model-sized cases on this folder (NULL: do not) */
} test_groups;

/* False (after printing the usage) when the command line is none of the forms above. */
static inline bool test_groups_parse(int argc, char **argv, test_groups *out) {
  *out = (test_groups){.small = true, .models_dir = NULL};
  if (argc == 1) return true;
  if (argc == 2 && strcmp(argv[1], "--small") == 0) return true;
  if (argc == 3 && strcmp(argv[1], "--models") == 0) {
    *out = (test_groups){.small = false, .models_dir = argv[2]};
    return true;
  }
  if (argc == 2 && argv[1][0] != '-') {
    out->models_dir = argv[1];
    return true;
  }
  fprintf(stderr, "usage: %s [--small | --models DIR | DIR]\n", argv[0]);
  return false;
}

#endif
