/* The ONNX backend-case runner behind `mtcc conformance` and the emulating helper `mtcc-emulate`
 * (tools/emulate/): walking case folders, reading data sets, comparing outputs (rtol 1e-3,
 * atol 1e-7, as ONNX's backend runner), one line per case and the summary line. Only how a data
 * set is run differs, so that is the one thing a backend supplies: both commands then print the
 * same lines for the same outcome. */
#ifndef MT_TOOLS_CONFORMANCE_H
#define MT_TOOLS_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/ir.h"

typedef struct mt_conformance_backend {
  void *self;
  /* Runs one data set of the case whose model is at model_path. m is that model imported,
   * verified and checked for support (read-only: a backend that compiles imports its own copy).
   * inputs[i] is graph input i of tenant 0; got[i] receives a malloc'ed output i. A note (e.g.
   * which ops ran on a fallback) may be written to note (cap bytes) and ends the case's PASS
   * line. Status: NULL passes on to the comparison; UNIMPLEMENTED makes the case UNSUPPORTED;
   * UNAVAILABLE means the backend cannot run at all (stops the run: exit 77, "skipped: ...");
   * anything else FAILs the case. */
  mt_status *(*run_set)(void *self, const char *model_path, const mt_module *m, mt_tensor *inputs,
                        mt_tensor *got, char *note, size_t cap);
  /* Optional: printed before the summary line, given passed cases and how many had a note. */
  void (*finish)(void *self, int passed, int passed_with_note);
} mt_conformance_backend;

/* Whether got matches want: same dtype and shape, integers equal, floats within atol + rtol *
 * |want| (NaN matches NaN, an infinity only the same infinity). On a mismatch why (cap bytes)
 * says where; max_rel (NULL: not tracked) receives the largest relative error seen. */
bool mt_conformance_values_close(const mt_tensor *got, const mt_tensor *want, double rtol,
                                 double atol, char *why, size_t cap, double *max_rel);

/* `conformance DIR... [--memory-limit SIZE]` through backend b (cmd names the command in
 * errors). Returns the exit code: 0 when no case failed, 1 otherwise or on bad arguments, 77
 * when the backend was unavailable. Arguments equal to skip_flag (NULL: none) are ignored. */
int mt_conformance_main(int argc, char **argv, const char *skip_flag,
                        const mt_conformance_backend *b);

#endif
