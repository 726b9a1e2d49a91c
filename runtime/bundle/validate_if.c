/* The loader's checks of If nodes (runtime/bundle/mtbundle.proto, IfBranches): ranges inside
 * Manifest.branch_nodes, every branch node in at most one range and of the If's tenant, ranges of
 * a branch If ending at or before it (so nesting is finite and shallow), a one-element condition
 * and branch results of the node's output types. After these, executors walk branches
 * recursively without checks: each branch node is reached from one If only. */
#include <stdlib.h>

#include "runtime/bundle/bundle.h"

MT_MUST_USE static mt_status *check_outputs(const Mtbundle__Manifest *m, const Mtbundle__Node *n,
                                            Mtbundle__BufferRef *const *refs, size_t n_refs,
                                            const char *branch, const char *what) {
  if (n_refs != n->n_outputs)
    return MT_ERR(DATA_LOSS, "%s: %s has %zu results for %zu outputs", what, branch, n_refs,
                  n->n_outputs);
  for (size_t i = 0; i < n_refs; i++) {
    MT_RETURN_IF_ERROR(mt_bundle_check_ref(m, refs[i], false, n->tenant, what), "%s result %zu",
                       branch, i);
    if (n->outputs[i]->kind == MTBUNDLE__BUFFER_REF__KIND__NONE) continue;
    if (refs[i]->kind == MTBUNDLE__BUFFER_REF__KIND__NONE ||
        !mt_bundle_same_type(refs[i]->type, n->outputs[i]->type))
      return MT_ERR(DATA_LOSS, "%s: %s result %zu is missing or of another type than output %zu",
                    what, branch, i, i);
  }
  return NULL;
}

mt_status *mt_bundle_check_branch_range(const Mtbundle__Manifest *m, const Mtbundle__Node *n,
                                        uint32_t first, uint32_t count, size_t limit,
                                        uint8_t *owned, const uint8_t *depth, uint8_t *out_depth,
                                        const char *branch, const char *what) {
  if (first > limit || count > limit - first)
    return MT_ERR(DATA_LOSS, "%s: %s nodes [%u, +%u) are not branch nodes before it (%zu)", what,
                  branch, first, count, limit);
  for (size_t k = first; k < (size_t)first + count; k++) {
    if (owned[k])
      return MT_ERR(DATA_LOSS, "%s: %s: branch node %zu belongs to another branch too", what,
                    branch, k);
    owned[k] = 1;
    if (m->branch_nodes[k]->tenant != n->tenant)
      return MT_ERR(DATA_LOSS, "%s: %s: branch node %zu is of another tenant", what, branch, k);
    if (depth[k] >= *out_depth) *out_depth = (uint8_t)(depth[k] + 1);
  }
  return NULL;
}

mt_status *mt_bundle_check_if(const Mtbundle__Manifest *m, const Mtbundle__Node *n, size_t limit,
                              uint8_t *owned, uint8_t *depth, uint8_t *out_depth,
                              const char *what) {
  const Mtbundle__IfBranches *ib = n->if_branches;
  *out_depth = 1;
  if (n->kernel_kind != 0 || n->params.len != 0 || n->loop)
    return MT_ERR(DATA_LOSS, "%s: an If node with a kernel kind or parameters (or a loop body)",
                  what);
  if (n->n_inputs != 1 || n->inputs[0]->kind == MTBUNDLE__BUFFER_REF__KIND__NONE ||
      mt_bundle_type_bytes(n->inputs[0]->type) !=
          mt_dtype_size((mt_dtype)n->inputs[0]->type->dtype))
    return MT_ERR(DATA_LOSS, "%s: an If node needs one condition input of one element", what);
  MT_RETURN_IF_ERROR_PLAIN(mt_bundle_check_branch_range(
      m, n, ib->then_first, ib->then_count, limit, owned, depth, out_depth, "then_branch", what));
  MT_RETURN_IF_ERROR_PLAIN(mt_bundle_check_branch_range(
      m, n, ib->else_first, ib->else_count, limit, owned, depth, out_depth, "else_branch", what));
  if (*out_depth > MT_BUNDLE_MAX_IF_DEPTH)
    return MT_ERR(DATA_LOSS, "%s: If nodes nest deeper than %d", what, MT_BUNDLE_MAX_IF_DEPTH);
  MT_RETURN_IF_ERROR_PLAIN(
      check_outputs(m, n, ib->then_outputs, ib->n_then_outputs, "then_branch", what));
  return check_outputs(m, n, ib->else_outputs, ib->n_else_outputs, "else_branch", what);
}
