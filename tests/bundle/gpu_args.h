/* Whether every buffer a bundle's GPU steps name is one its CPU plan uses for the same group: an
 * argument or GEMM operand of GPU group g must be an input or output of one of group g's CPU
 * nodes (same kind, tenant, index, partition, offset), or the result of a library call of that
 * group that the group's epilogue kernel reads (scratch of its own when the kernel also writes
 * the value), or the group's own scratch shared by two of its launches (split-K: partial sums
 * written by one kernel, reduced by the next). That catches a writer that maps
 * codegen's groups onto the wrong bundle groups or places a value differently from the CPU
 * path, which the loader cannot see. Shared by tests/unit/test_bundle_gpu.c and
 * tests/bundle/check_gpu_args.c. */
#ifndef MT_TESTS_BUNDLE_GPU_ARGS_H
#define MT_TESTS_BUNDLE_GPU_ARGS_H

#include <stdio.h>

#include "runtime/bundle/bundle.h"

static inline int gpu_args_same(const Mtbundle__BufferRef *a, const Mtbundle__BufferRef *b) {
  if (a->kind != b->kind) return 0;
  switch (a->kind) {
  case MTBUNDLE__BUFFER_REF__KIND__CONSTANT: return a->index == b->index;
  case MTBUNDLE__BUFFER_REF__KIND__INPUT: return a->tenant == b->tenant && a->index == b->index;
  case MTBUNDLE__BUFFER_REF__KIND__ARENA:
    return a->partition == b->partition && a->offset == b->offset && a->size >= b->size;
  case MTBUNDLE__BUFFER_REF__KIND__SCRATCH: return a->offset == b->offset;
  default: return 1;
  }
}

/* Is r an argument of one of group g's launches? */
static inline int gpu_args_launch_reads(const Mtbundle__Manifest *m, size_t g,
                                        const Mtbundle__BufferRef *r) {
  const Mtbundle__GpuGroup *gg = m->gpu_groups[g];
  for (size_t s = 0; s < gg->n_steps; s++)
    if (gg->steps[s]->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH)
      for (size_t a = 0; a < gg->steps[s]->launch->n_args; a++)
        if (gpu_args_same(r, gg->steps[s]->launch->args[a])) return 1;
  return 0;
}

/* Is r (scratch) an argument of another launch of group g than step `not_step`? A group's own
 * scratch (split-K partial sums) is written by one of its kernels and read by the next: no CPU
 * node names it, and no other group may. */
static inline int gpu_args_group_scratch(const Mtbundle__Manifest *m, size_t g, size_t not_step,
                                         const Mtbundle__BufferRef *r) {
  if (r->kind != MTBUNDLE__BUFFER_REF__KIND__SCRATCH) return 0;
  const Mtbundle__GpuGroup *gg = m->gpu_groups[g];
  for (size_t s = 0; s < gg->n_steps; s++)
    if (s != not_step && gg->steps[s]->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH)
      for (size_t a = 0; a < gg->steps[s]->launch->n_args; a++)
        if (gpu_args_same(r, gg->steps[s]->launch->args[a])) return 1;
  return 0;
}

static inline int gpu_args_resolves(const Mtbundle__Manifest *m, size_t g,
                                    const Mtbundle__BufferRef *r, int allow_library_result) {
  if (r->kind == MTBUNDLE__BUFFER_REF__KIND__NONE) return 1;
  const Mtbundle__Group *gr = m->groups[g];
  for (uint32_t i = 0; i < gr->n_nodes; i++) {
    const Mtbundle__Node *n = m->nodes[gr->first_node + i];
    for (size_t k = 0; k < n->n_inputs; k++)
      if (gpu_args_same(r, n->inputs[k])) return 1;
    for (size_t k = 0; k < n->n_outputs; k++)
      if (gpu_args_same(r, n->outputs[k])) return 1;
  }
  const Mtbundle__GpuGroup *gg = m->gpu_groups[g];
  for (size_t s = 0; allow_library_result && s < gg->n_steps; s++)
    if (gg->steps[s]->step_case == MTBUNDLE__GPU_STEP__STEP_LIBCALL)
      for (size_t q = 0; q < gg->steps[s]->libcall->n_problems; q++)
        if (gpu_args_same(r, gg->steps[s]->libcall->problems[q]->d)) return 1;
  return 0;
}

/* Counts the buffers that do not resolve, printing the first few; *out_checked (may be NULL)
 * receives how many were checked. */
static inline int gpu_args_unresolved(const Mtbundle__Manifest *m, int *out_checked) {
  int bad = 0, checked = 0;
  for (size_t g = 0; g < m->n_gpu_groups; g++) {
    const Mtbundle__GpuGroup *gg = m->gpu_groups[g];
    for (size_t s = 0; s < gg->n_steps; s++) {
      const Mtbundle__GpuStep *st = gg->steps[s];
      const Mtbundle__BufferRef *refs[4096];
      size_t n = 0;
      if (st->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH) {
        for (size_t a = 0; a < st->launch->n_args && n < 4096; a++) refs[n++] = st->launch->args[a];
      } else {
        for (size_t q = 0; q < st->libcall->n_problems && n + 5 <= 4096; q++) {
          const Mtbundle__GemmProblem *p = st->libcall->problems[q];
          refs[n++] = p->a, refs[n++] = p->b, refs[n++] = p->c, refs[n++] = p->bias;
          refs[n++] = p->d;
        }
      }
      for (size_t i = 0; i < n; i++) {
        checked++;
        int launch = st->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH;
        if (gpu_args_resolves(m, g, refs[i], launch)) continue;
        /* a GEMM result in scratch of its own, which the group's epilogue kernel reads */
        if (!launch && i % 5 == 4 && refs[i]->kind == MTBUNDLE__BUFFER_REF__KIND__SCRATCH &&
            gpu_args_launch_reads(m, g, refs[i]))
          continue;
        if (launch && gpu_args_group_scratch(m, g, s, refs[i])) continue;
        if (bad++ < 5)
          fprintf(stderr,
                  "GPU group %zu step %zu buffer %zu (kind %d, offset %llu) is not one of "
                  "the group's CPU buffers\n",
                  g, s, i, (int)refs[i]->kind, (unsigned long long)refs[i]->offset);
      }
    }
  }
  if (out_checked) *out_checked = checked;
  return bad;
}

/* Is r written by group g's CPU nodes (one of their outputs)? */
static inline int gpu_args_written(const Mtbundle__Manifest *m, size_t g,
                                   const Mtbundle__BufferRef *r) {
  const Mtbundle__Group *gr = m->groups[g];
  for (uint32_t i = 0; i < gr->n_nodes; i++) {
    const Mtbundle__Node *n = m->nodes[gr->first_node + i];
    for (size_t k = 0; k < n->n_outputs; k++)
      if (gpu_args_same(r, n->outputs[k])) return 1;
  }
  return 0;
}

/* Launch arguments that share bytes with an argument the kernel writes: the CPU plan runs a
 * group's nodes one after another, so a buffer may be reused between them, but a kernel runs
 * all of its bodies at once. Counts such pairs, printing the first few. */
static inline int gpu_args_overlaps(const Mtbundle__Manifest *m) {
  int bad = 0;
  for (size_t g = 0; g < m->n_gpu_groups; g++)
    for (size_t s = 0; s < m->gpu_groups[g]->n_steps; s++) {
      const Mtbundle__GpuStep *st = m->gpu_groups[g]->steps[s];
      if (st->step_case != MTBUNDLE__GPU_STEP__STEP_LAUNCH) continue;
      const Mtbundle__GpuLaunch *l = st->launch;
      for (size_t i = 0; i < l->n_args; i++) {
        const Mtbundle__BufferRef *x = l->args[i];
        if ((x->kind != MTBUNDLE__BUFFER_REF__KIND__ARENA &&
             x->kind != MTBUNDLE__BUFFER_REF__KIND__SCRATCH) ||
            !gpu_args_written(m, g, x))
          continue;
        for (size_t j = 0; j < l->n_args; j++) {
          const Mtbundle__BufferRef *y = l->args[j];
          if (j == i || y->kind != x->kind || y->partition != x->partition) continue;
          if (x->offset < y->offset + y->size && y->offset < x->offset + x->size && bad++ < 5)
            fprintf(stderr,
                    "GPU group %zu launch %s: argument %zu (written) shares bytes with "
                    "argument %zu\n",
                    g, l->name, i, j);
        }
      }
    }
  return bad;
}

#endif
