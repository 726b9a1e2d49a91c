/* Before a session runs groups on several threads: no two groups that the plan lets run at once
 * touch the same arena or scratch bytes with one of them writing. The memory plan reuses arena
 * bytes only between groups ordered by streams and waits, so a compiled bundle always passes; a
 * crafted one whose plan lacks a wait would otherwise race inside its arena (never outside it:
 * the loader bounds every buffer), so it is refused here instead. One-thread sessions skip this:
 * schedule order serialises everything. Must not know about the public API or the kernels. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/bundle/bundle.h"
#include "runtime/bundle/cpu_schedule.h"

/* Plans past these sizes are not checked (and so not run on several threads): the happens-before
 * bit matrix is n^2 / 8 bytes, and the overlap sweep is capped so hostile plans stay cheap. */
#define MAX_GROUPS 16384u
#define MAX_SPANS (1u << 22)
#define MAX_PAIRS ((uint64_t)1 << 26)

/* Bytes one group reads or writes: area -1 is the scratch area, else the partition's arena. */
typedef struct span {
  int32_t area;
  bool writes;
  uint64_t lo, hi;
  size_t group;
} span;

static int by_place(const void *pa, const void *pb) {
  const span *a = pa, *b = pb;
  if (a->area != b->area) return a->area < b->area ? -1 : 1;
  if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
  return a->group < b->group ? -1 : a->group > b->group;
}

static size_t add_spans(const Mtbundle__BufferRef *const *refs, size_t n, bool writes, size_t g,
                        span *out, size_t k) {
  for (size_t i = 0; i < n; i++) {
    const Mtbundle__BufferRef *r = refs[i];
    bool arena = r->kind == MTBUNDLE__BUFFER_REF__KIND__ARENA;
    uint64_t bytes = mt_bundle_type_bytes(r->type);
    if ((!arena && r->kind != MTBUNDLE__BUFFER_REF__KIND__SCRATCH) || bytes == 0) continue;
    out[k++] = (span){arena ? r->partition : -1, writes, r->offset, r->offset + bytes, g};
  }
  return k;
}

/* A node's spans, and for an If (a Loop, a Scan) those of every branch (body) node under it (each branch node belongs
 * to one If, and nesting is capped by the loader: the walk is linear and shallow). */
static size_t node_spans(const Mtbundle__Manifest *m, const Mtbundle__Node *nd, size_t g, span *out,
                         size_t k) {
  k = add_spans((const Mtbundle__BufferRef *const *)nd->inputs, nd->n_inputs, false, g, out, k);
  k = add_spans((const Mtbundle__BufferRef *const *)nd->outputs, nd->n_outputs, true, g, out, k);
  const Mtbundle__LoopBody *lb = nd->loop;
  if (lb) { /* body inputs are written every iteration, body outputs read */
    k = add_spans((const Mtbundle__BufferRef *const *)lb->body_inputs, lb->n_body_inputs, true, g,
                  out, k);
    k = add_spans((const Mtbundle__BufferRef *const *)lb->body_outputs, lb->n_body_outputs, false,
                  g, out, k);
    for (size_t i = lb->body_first; i < (size_t)lb->body_first + lb->body_count; i++)
      k = node_spans(m, m->branch_nodes[i], g, out, k);
    return k;
  }
  const Mtbundle__IfBranches *ib = nd->if_branches;
  if (!ib) return k;
  k = add_spans((const Mtbundle__BufferRef *const *)ib->then_outputs, ib->n_then_outputs, false, g,
                out, k);
  k = add_spans((const Mtbundle__BufferRef *const *)ib->else_outputs, ib->n_else_outputs, false, g,
                out, k);
  for (size_t i = ib->then_first; i < (size_t)ib->then_first + ib->then_count; i++)
    k = node_spans(m, m->branch_nodes[i], g, out, k);
  for (size_t i = ib->else_first; i < (size_t)ib->else_first + ib->else_count; i++)
    k = node_spans(m, m->branch_nodes[i], g, out, k);
  return k;
}

static size_t node_refs(const Mtbundle__Node *nd) {
  size_t n = nd->n_inputs + nd->n_outputs;
  if (nd->if_branches) n += nd->if_branches->n_then_outputs + nd->if_branches->n_else_outputs;
  if (nd->loop) n += nd->loop->n_body_inputs + nd->loop->n_body_outputs;
  return n;
}

mt_status *mt_cpu_plan_check_races(const Mtbundle__Manifest *m, const size_t *succ_at,
                                   const size_t *succ) {
  size_t n = m->n_groups, n_refs = 0;
  if (n > MAX_GROUPS)
    return MT_ERR(UNIMPLEMENTED,
                  "cpu_threads > 1: the plan has %zu groups, more than the %u this libmtrt checks "
                  "for concurrent runs; use cpu_threads 1",
                  n, MAX_GROUPS);
  for (size_t i = 0; i < m->n_nodes; i++) n_refs += node_refs(m->nodes[i]);
  for (size_t i = 0; i < m->n_branch_nodes; i++) n_refs += node_refs(m->branch_nodes[i]);
  if (n_refs > MAX_SPANS)
    return MT_ERR(UNIMPLEMENTED,
                  "cpu_threads > 1: the plan has %zu buffer references, more than the %u this "
                  "libmtrt checks for concurrent runs; use cpu_threads 1",
                  n_refs, MAX_SPANS);
  /* before[b] bit a: group a finishes before group b starts (waits and streams, transitively).
   * Successors have larger indices, so one pass in index order closes the relation. */
  size_t words = (n + 63) / 64;
  uint64_t *before = calloc(n * words + 1, sizeof *before);
  span *spans = malloc((n_refs + 1) * sizeof *spans);
  if (!before || !spans) {
    free(before);
    free(spans);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory checking the plan of %zu groups", n);
  }
  for (size_t g = 0; g < n; g++)
    for (size_t k = succ_at[g]; k < succ_at[g + 1]; k++) {
      uint64_t *t = before + succ[k] * words;
      const uint64_t *f = before + g * words;
      for (size_t w = 0; w < words; w++) t[w] |= f[w];
      t[g / 64] |= (uint64_t)1 << (g % 64);
    }
  size_t k = 0;
  for (size_t g = 0; g < n; g++) {
    const Mtbundle__Group *gr = m->groups[g];
    for (size_t i = gr->first_node; i < (size_t)gr->first_node + gr->n_nodes; i++) {
      k = node_spans(m, m->nodes[i], g, spans, k);
    }
  }
  qsort(spans, k, sizeof *spans, by_place);
  mt_status *st = NULL;
  uint64_t pairs = 0;
  for (size_t i = 0; !st && i < k; i++)
    for (size_t j = i + 1; !st && j < k; j++) {
      const span *a = &spans[i], *b = &spans[j];
      if (b->area != a->area || b->lo >= a->hi) break;
      if (++pairs > MAX_PAIRS) {
        st = MT_ERR(UNIMPLEMENTED,
                    "cpu_threads > 1: the plan's buffers overlap too often to check for "
                    "concurrent runs; use cpu_threads 1");
        break;
      }
      if (a->group == b->group || (!a->writes && !b->writes)) continue;
      size_t lo = a->group < b->group ? a->group : b->group, hi = a->group ^ b->group ^ lo;
      if (before[hi * words + lo / 64] >> (lo % 64) & 1) continue;
      char where[64];
      if (a->area < 0)
        snprintf(where, sizeof where, "the scratch area");
      else
        snprintf(where, sizeof where, "partition %d's arena", a->area);
      st = MT_ERR(DATA_LOSS,
                  "cpu_threads > 1: groups %zu and %zu may run at once but both use bytes from "
                  "%llu of %s, one writing (the plan lacks a wait between them)",
                  lo, hi, (unsigned long long)b->lo, where);
    }
  free(before);
  free(spans);
  return st;
}
