/* The structure of a GPU plan's conditional steps (mtbundle.proto, GpuConditional and
 * Manifest.gpu_bodies), checked before anything walks them: body indices in range, a body inside
 * body b naming only bodies before b, every body owned by exactly one conditional, nesting at
 * most MT_BUNDLE_MAX_IF_DEPTH deep, the set launch's module in range. After this check a walk
 * from a group's steps through conditionals into bodies visits each body once and recurses a
 * bounded depth. Shared by the loader (validate_gpu.c) and the graph descriptions
 * (runtime/gpu/graph_plan.c), which also take hand-built manifests. */
#include <stdlib.h>

#include "runtime/bundle/bundle.h"

#define MAX_BODIES (1u << 20)

typedef struct cond_walk {
  const Mtbundle__Manifest *m;
  uint8_t *owned, *depth;
  const char *what;
} cond_walk;

/* The conditionals among steps (those of a group: limit = every body; of body b: limit = b). */
MT_MUST_USE static mt_status *check_steps(cond_walk *w, Mtbundle__GpuStep *const *steps,
                                          size_t n_steps, size_t limit, uint8_t *out_depth,
                                          const char *scope, size_t index) {
  *out_depth = 0;
  for (size_t s = 0; s < n_steps; s++) {
    if (steps[s]->step_case != MTBUNDLE__GPU_STEP__STEP_CONDITIONAL) continue;
    const Mtbundle__GpuConditional *c = steps[s]->conditional;
    if (c->set_module >= w->m->n_gpu_modules)
      return MT_ERR(DATA_LOSS, "%s: %s %zu step %zu: set module %u out of range (%zu modules)",
                    w->what, scope, index, s, c->set_module, w->m->n_gpu_modules);
    if (c->set_block == 0 || c->set_block > 1024)
      return MT_ERR(DATA_LOSS, "%s: %s %zu step %zu: set block of %u threads (1 to 1024)", w->what,
                    scope, index, s, c->set_block);
    uint32_t bodies[2] = {c->then_body, c->else_body};
    for (int k = 0; k < 2; k++) {
      if (bodies[k] >= limit)
        return MT_ERR(DATA_LOSS,
                      "%s: %s %zu step %zu: body %u is not a GPU body before it (%zu allowed)",
                      w->what, scope, index, s, bodies[k], limit);
      if (w->owned[bodies[k]])
        return MT_ERR(DATA_LOSS, "%s: %s %zu step %zu: body %u belongs to another conditional",
                      w->what, scope, index, s, bodies[k]);
      w->owned[bodies[k]] = 1;
      if (w->depth[bodies[k]] >= *out_depth) *out_depth = (uint8_t)(w->depth[bodies[k]] + 1);
    }
    if (*out_depth > MT_BUNDLE_MAX_IF_DEPTH)
      return MT_ERR(DATA_LOSS, "%s: %s %zu step %zu: conditionals nest deeper than %d", w->what,
                    scope, index, s, MT_BUNDLE_MAX_IF_DEPTH);
  }
  return NULL;
}

mt_status *mt_bundle_check_gpu_bodies(const Mtbundle__Manifest *m, const char *what) {
  if (m->n_gpu_bodies > MAX_BODIES)
    return MT_ERR(DATA_LOSS, "%s: %zu GPU bodies (at most %u)", what, m->n_gpu_bodies, MAX_BODIES);
  if (m->n_gpu_bodies && m->n_gpu_groups != m->n_groups)
    return MT_ERR(DATA_LOSS, "%s: GPU bodies without a GPU plan", what);
  cond_walk w = {.m = m,
                 .owned = calloc(m->n_gpu_bodies + 1, 1),
                 .depth = calloc(m->n_gpu_bodies + 1, 1),
                 .what = what};
  mt_status *st = w.owned && w.depth ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t b = 0; !st && b < m->n_gpu_bodies; b++)
    st = check_steps(&w, m->gpu_bodies[b]->steps, m->gpu_bodies[b]->n_steps, b, &w.depth[b],
                     "GPU body", b);
  for (size_t g = 0; !st && g < m->n_gpu_groups; g++) {
    uint8_t d;
    st = check_steps(&w, m->gpu_groups[g]->steps, m->gpu_groups[g]->n_steps, m->n_gpu_bodies, &d,
                     "GPU group", g);
  }
  for (size_t b = 0; !st && b < m->n_gpu_bodies; b++)
    if (!w.owned[b]) st = MT_ERR(DATA_LOSS, "%s: GPU body %zu belongs to no conditional", what, b);
  free(w.owned);
  free(w.depth);
  return st;
}
