/* Loop and Scan nodes on libmtrt's CPU path (run_loop.c): the session supplies how a buffer
 * reference resolves and how one branch node runs, so this file knows no session internals. */
#ifndef MT_RUNTIME_BUNDLE_RUN_LOOP_H
#define MT_RUNTIME_BUNDLE_RUN_LOOP_H

#include "runtime/bundle/bundle.h"

typedef struct mt_bundle_loop_host {
  void *ctx;
  void *(*resolve)(void *ctx, const Mtbundle__BufferRef *r); /* a validated, non-NONE reference */
  mt_status *(*run_branch_node)(void *ctx, size_t k);        /* Manifest.branch_nodes[k] */
} mt_bundle_loop_host;

/* Runs validated node n (n->loop set): every iteration of its body, then its outputs. */
MT_MUST_USE mt_status *mt_bundle_run_loop(const mt_bundle_loop_host *h, const Mtbundle__Node *n);

#endif
