/* The CPU-code part of `mtcc inspect BUNDLE`: the generated CPU objects (target, size, features
 * the host needs, libraries they link), which one this host would run and why, the groups with
 * generated kernels and those without with the reason; --verbose lists every kernel. Reads a
 * bundle libmtrt has validated, so indices are in range. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/base/escape.h"
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/cpu_code.h"
#include "tools/cli.h"

void mt_cli_print_bundle_cpu(const struct mt_bundle *b, bool verbose) {
  const Mtbundle__Manifest *m = b->manifest;
  if (m->n_cpu_objects == 0) {
    printf("cpu code: none (reference kernels): %s\n", m->cpu_unavailable && m->cpu_unavailable[0]
                                                           ? mt_esc_text(m->cpu_unavailable)
                                                           : "no reason given");
    return;
  }
  printf("cpu code: %zu object(s) in %zu bytes\n", m->n_cpu_objects, b->cpu_code_bytes);
  for (size_t i = 0; i < m->n_cpu_objects; i++) {
    const Mtbundle__CpuObject *o = m->cpu_objects[i];
    printf("  object %s: %" PRIu64 " bytes, CPU ABI %u, needs", mt_esc(o->target), o->size,
           o->abi_version);
    for (size_t f = 0; f < o->n_required_features; f++)
      printf(" %s", mt_esc(o->required_features[f]));
    if (o->n_required_features == 0) printf(" nothing");
    printf(", links");
    for (size_t l = 0; l < o->n_needed_libraries; l++)
      printf(" %s", mt_esc(o->needed_libraries[l]));
    if (o->n_needed_libraries == 0) printf(" nothing");
    printf("\n");
  }
  /* what a session on this host would run (loading the object checks it the way a run does) */
  mt_cpu_code *c = NULL;
  mt_status *st = mt_cpu_code_load(b, NULL, &c);
  printf("  this host: %s\n",
         st ? mt_esc_text(mt_status_message(st)) : mt_esc(mt_cpu_code_note(c)));
  mt_status_free(st);
  mt_cpu_code_destroy(c);
  size_t with = 0, kernels = 0;
  for (size_t g = 0; g < m->n_cpu_groups; g++) {
    with += m->cpu_groups[g]->n_kernels > 0;
    kernels += m->cpu_groups[g]->n_kernels;
  }
  printf("  %zu of %zu groups run %zu generated kernel(s)\n", with, m->n_groups, kernels);
  for (size_t g = 0; g < m->n_cpu_groups; g++) {
    const Mtbundle__CpuGroup *cg = m->cpu_groups[g];
    if (cg->n_kernels == 0) {
      printf("  group %zu: reference kernels: %s\n", g, mt_esc_text(cg->unavailable));
      continue;
    }
    for (size_t k = 0; verbose && k < cg->n_kernels; k++) {
      const Mtbundle__CpuKernel *ck = cg->kernels[k];
      printf("  group %zu kernel %zu: %s (%s), tenant %d, %zu args\n", g, k, mt_esc(ck->symbol),
             mt_esc(ck->name), ck->tenant, ck->n_args);
    }
  }
}
