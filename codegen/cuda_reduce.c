/* Reduction bodies: one block per output row (grid-stride over rows), a shared-memory tree over
 * the reduced elements, the group's elementwise prologue read through the value emitter and its
 * epilogue applied to the row's result. */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

mt_status *mt_cg_reduction_body(cg_body *b, const mt_cuda_options *o, const char *fn_name,
                                int64_t *out_rows, int *out_threads) {
  (void)o;
  (void)fn_name;
  (void)out_rows;
  (void)out_threads;
  return MT_ERR(UNIMPLEMENTED, "reduction: generator not written yet (%s)",
                mt_cg_node_label(b->m, b->fg->anchor >= 0 ? b->fg->anchor : b->fg->nodes[0]));
}
