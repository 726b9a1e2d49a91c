/* The GPU part of `mtcc inspect BUNDLE`: archs, code bytes per arch, modules, launches and
 * library calls, the graph a round replays (nodes per round), and every group without GPU code
 * with the reason; --verbose lists every module and every step. Reads a bundle libmtrt has
 * validated, so indices are in range. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/base/escape.h"
#include "runtime/bundle/bundle.h"
#include "tools/cli.h"

static const char *libcall_name(uint32_t kind) {
  switch (kind) {
  case MT_GPU_LT_MATMUL: return "cublasLt matmul";
  case MT_GPU_GEMM_BATCHED: return "strided-batched GEMM";
  case MT_GPU_GEMM_GROUPED: return "grouped GEMM";
  default: return "?";
  }
}

static const char *epilogue_name(uint32_t e) {
  static const char *const names[] = {"none", "bias", "relu", "relu+bias", "gelu", "gelu+bias"};
  return e < sizeof names / sizeof *names ? names[e] : "?";
}

/* Code bytes per image arch (cubins per sm_NN, PTX per compute_NN), in first-seen order. */
static void print_code_bytes(const Mtbundle__Manifest *m) {
  printf("gpu code: %" PRIu64 " bytes in %zu image(s):", m->code_bytes, m->n_code_images);
  /* per arch; a module shares an image with another only when their bytes are identical */
  for (size_t i = 0; i < m->n_code_images; i++) {
    const Mtbundle__CodeImage *im = m->code_images[i];
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = m->code_images[j]->ptx == im->ptx && strcmp(m->code_images[j]->arch, im->arch) == 0;
    if (seen) continue;
    uint64_t bytes = 0;
    size_t n = 0;
    for (size_t j = i; j < m->n_code_images; j++)
      if (m->code_images[j]->ptx == im->ptx && strcmp(m->code_images[j]->arch, im->arch) == 0)
        bytes += m->code_images[j]->size, n++;
    printf(" %s%s %" PRIu64 " bytes (%zu images)", mt_esc(im->arch), im->ptx ? " PTX" : "", bytes,
           n);
  }
  printf("\n");
}

/* One step of a group or of an If body (scope "group" or "body"). */
static void print_step(const Mtbundle__Manifest *m, const char *scope, size_t g,
                       const Mtbundle__GpuStep *s) {
  if (s->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH) {
    const Mtbundle__GpuLaunch *l = s->launch;
    printf("  %s %zu: launch %s (module %u '%s'): grid %u x block %u, %u dynamic shared "
           "bytes, %zu buffer(s)\n",
           scope, g, mt_esc(l->name), l->module, mt_esc(m->gpu_modules[l->module]->entry), l->grid,
           l->block, l->dyn_smem, l->n_args);
    return;
  }
  if (s->step_case == MTBUNDLE__GPU_STEP__STEP_CONDITIONAL) {
    const Mtbundle__GpuConditional *c = s->conditional;
    printf("  %s %zu: conditional (If): set module %u, then body %u (%zu step(s)), else body "
           "%u (%zu step(s))\n",
           scope, g, c->set_module, c->then_body, m->gpu_bodies[c->then_body]->n_steps,
           c->else_body, m->gpu_bodies[c->else_body]->n_steps);
    return;
  }
  const Mtbundle__GpuLibCall *c = s->libcall;
  const Mtbundle__GemmProblem *q = c->problems[0];
  printf("  %s %zu: %s, %zu problem(s), first m=%" PRId64 " n=%" PRId64 " k=%" PRId64
         " batch %" PRId64 ", epilogue %s, %s, SM-count target %d, workspace %" PRIu64 " bytes\n",
         scope, g, libcall_name(c->kind), c->n_problems, q->m, q->n, q->k, q->batch,
         epilogue_name(q->epilogue), c->tf32 ? "TF32" : "FP32", c->sm_count, c->workspace_bytes);
}

void mt_cli_print_bundle_gpu(const mt_bundle *b, bool verbose) {
  const Mtbundle__Manifest *m = b->manifest;
  if (m->n_gpu_groups == 0) {
    printf("gpu: none (CPU plan only): %s\n", m->gpu_unavailable && m->gpu_unavailable[0]
                                                  ? mt_esc_text(m->gpu_unavailable)
                                                  : "the bundle does not say why");
    return;
  }
  size_t launches = 0, libcalls = 0, problems = 0, missing = 0, conditionals = 0;
  for (size_t g = 0; g < m->n_gpu_groups; g++) {
    const Mtbundle__GpuGroup *gg = m->gpu_groups[g];
    missing += gg->n_steps == 0;
    for (size_t s = 0; s < gg->n_steps; s++) {
      const Mtbundle__GpuStep *st = gg->steps[s];
      launches += st->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH;
      conditionals += st->step_case == MTBUNDLE__GPU_STEP__STEP_CONDITIONAL;
      if (st->step_case == MTBUNDLE__GPU_STEP__STEP_LIBCALL)
        libcalls++, problems += st->libcall->n_problems;
    }
  }
  printf("gpu: archs");
  for (size_t i = 0; i < m->n_archs; i++) printf(" %s", mt_esc(m->archs[i]));
  printf("; %zu kernel module(s), %zu launch(es), %zu library call(s) (%zu GEMM problem(s))\n",
         m->n_gpu_modules, launches, libcalls, problems);
  print_code_bytes(m);
  /* The round graph: one node per launch and library call; a partition's streams join at the
   * group waits (event edges, not nodes). */
  printf("gpu graph: %zu node(s) per round over %zu group(s)%s\n",
         launches + libcalls + 2 * conditionals, m->n_groups,
         missing ? "; incomplete, see below" : "");
  if (conditionals)
    printf("gpu: %zu conditional step(s) (If as CUDA Graph IF nodes), %zu body step list(s)\n",
           conditionals, m->n_gpu_bodies);
  if (missing)
    printf("gpu: %zu group(s) without GPU code (a GPU session refuses the bundle):\n", missing);
  for (size_t g = 0; g < m->n_gpu_groups; g++) {
    const Mtbundle__GpuGroup *gg = m->gpu_groups[g];
    const Mtbundle__Group *gr = m->groups[g];
    if (gg->n_steps == 0)
      printf("  group %zu (%s, partition '%s'): %s\n", g, mt_esc(gr->kind),
             mt_esc(m->partitions[gr->partition]->name), mt_esc_text(gg->unavailable));
  }
  size_t by_kind[MT_GPU_LIBCALL_KIND_COUNT] = {0};
  for (size_t g = 0; g < m->n_gpu_groups; g++)
    for (size_t s = 0; s < m->gpu_groups[g]->n_steps; s++)
      if (m->gpu_groups[g]->steps[s]->step_case == MTBUNDLE__GPU_STEP__STEP_LIBCALL)
        by_kind[m->gpu_groups[g]->steps[s]->libcall->kind]++;
  if (libcalls) {
    printf("gpu library calls:");
    for (int k = 0; k < MT_GPU_LIBCALL_KIND_COUNT; k++)
      if (by_kind[k]) printf(" %s %zu", libcall_name((uint32_t)k), by_kind[k]);
    printf("\n");
  }
  if (!verbose) return;
  for (size_t i = 0; i < m->n_gpu_modules; i++) {
    const Mtbundle__GpuModule *mod = m->gpu_modules[i];
    printf("  module %zu %s: %d registers, %d static shared bytes, images:", i, mt_esc(mod->entry),
           mod->registers, mod->shared_bytes);
    for (size_t k = 0; k < mod->n_images; k++) {
      const Mtbundle__CodeImage *im = m->code_images[mod->images[k]];
      printf(" %s%s %" PRIu64, mt_esc(im->arch), im->ptx ? " PTX" : "", im->size);
    }
    printf("\n");
  }
  for (size_t g = 0; g < m->n_gpu_groups; g++)
    for (size_t s = 0; s < m->gpu_groups[g]->n_steps; s++)
      print_step(m, "group", g, m->gpu_groups[g]->steps[s]);
  for (size_t bi = 0; bi < m->n_gpu_bodies; bi++)
    for (size_t s = 0; s < m->gpu_bodies[bi]->n_steps; s++)
      print_step(m, "body", bi, m->gpu_bodies[bi]->steps[s]);
}
