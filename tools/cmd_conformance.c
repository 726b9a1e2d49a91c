/* mtcc conformance: ONNX backend test cases on the reference executor (tools/conformance.c
 * walks the cases, compares and prints). `--emulate` runs them as generated CUDA code under the
 * CPU emulation of CUDA instead, which the helper executable mtcc-emulate does: the CLI never
 * links the emulator (it JIT-compiles kernels with the host C++ compiler), so it execs the
 * helper with the same arguments. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/conformance.h"
#include "tools/conformance_cpu.h"

static mt_status *run_reference(void *self, const char *model_path, const mt_module *m,
                                mt_tensor *inputs, mt_tensor *got, char *note, size_t cap) {
  return mt_reference_run(m, 0, inputs, got);
}

/* The helper next to the running mtcc (a build tree), else in ../libexec/mtcc (an install). */
static int exec_emulate(int argc, char **argv) {
  char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0)
    return mt_cli_fail(MT_ERR(UNAVAILABLE, "conformance --emulate: cannot find the running mtcc "
                                           "(/proc/self/exe is unreadable)"));
  self[len] = 0;
  char *slash = strrchr(self, '/');
  if (slash) *slash = 0;
  static const char *const where[] = {"%s/mtcc-emulate", "%s/../libexec/mtcc/mtcc-emulate"};
  char path[2][PATH_MAX + 64];
  for (int k = 0; k < 2; k++) {
    snprintf(path[k], sizeof path[k], where[k], self);
    if (access(path[k], X_OK) != 0) continue;
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args) return mt_cli_fail(MT_ERR(RESOURCE_EXHAUSTED, "out of memory"));
    args[0] = path[k];
    args[1] = "conformance";
    memcpy(args + 2, argv, (size_t)argc * sizeof *args);
    fflush(stdout);
    execv(path[k], args);
    free(args);
    return mt_cli_fail(MT_ERR(UNAVAILABLE, "conformance --emulate: cannot run %s", path[k]));
  }
  return mt_cli_fail(MT_ERR(UNAVAILABLE,
                            "conformance --emulate: the emulating runner mtcc-emulate is not "
                            "installed (looked for %s and %s); it is built with the test suite "
                            "(MTCC_BUILD_TESTS=ON), which builds the CUDA emulator",
                            path[0], path[1]));
}

int mt_cmd_conformance(int argc, char **argv) {
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], "--emulate") == 0) return exec_emulate(argc, argv);
  /* --backend reference (the default) | cpu: the pair is taken out of the arguments */
  const char *backend = "reference";
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  if (!rest) return mt_cli_fail(MT_ERR(RESOURCE_EXHAUSTED, "out of memory"));
  int n = 0;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--backend") != 0) {
      rest[n++] = argv[i];
      continue;
    }
    if (i + 1 == argc) {
      free(rest);
      return mt_cli_fail(MT_ERR(INVALID_ARGUMENT, "conformance: --backend needs reference or cpu"));
    }
    backend = argv[++i];
  }
  int rc;
  if (strcmp(backend, "cpu") == 0) {
    rc = mt_conformance_cpu_main(n, rest);
  } else if (strcmp(backend, "reference") == 0) {
    mt_conformance_backend b = {.run_set = run_reference};
    rc = mt_conformance_main(n, rest, NULL, &b);
  } else {
    rc = mt_cli_fail(MT_ERR(INVALID_ARGUMENT,
                            "conformance: --backend '%s' is not one of reference, cpu", backend));
  }
  free(rest);
  return rc;
}
