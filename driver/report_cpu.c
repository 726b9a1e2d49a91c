/* The CPU backend's lines of the compile summary (driver/report.h): what was generated for which
 * targets, and why the other groups run on the reference kernels, so a fallback is never silent.
 * Reads the codegen/cpu program only. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "driver/report.h"

/* Which GEMM each conv took (cpu_pgemm.c), one line per distinct reason with its count. */
static void conv_gemm_print(FILE *out, const mt_cpu_program *cpu) {
  for (int i = 0; i < cpu->n_kernels; i++) {
    const char *why = cpu->kernels[i].gemm_why;
    bool seen = !why[0];
    for (int j = 0; j < i && !seen; j++) seen = strcmp(cpu->kernels[j].gemm_why, why) == 0;
    if (seen) continue;
    int n = 0;
    for (int j = i; j < cpu->n_kernels; j++) n += strcmp(cpu->kernels[j].gemm_why, why) == 0;
    fprintf(out, "  conv GEMM, %d kernel(s): %s\n", n, why);
  }
}

void mt_cpu_summary_print(FILE *out, const mt_cpu_program *cpu) {
  if (!cpu) return;
  int generated = mt_cpu_program_groups_generated(cpu);
  if (cpu->n_objects == 0) {
    fprintf(out, "CPU code: none (%s)\n", cpu->unavailable);
    return;
  }
  fprintf(out, "CPU code: %d of %d groups, %d kernels (", generated, cpu->n_groups, cpu->n_kernels);
  if (cpu->fusion_off[0])
    fprintf(out, "elementwise fusion off (%s)", cpu->fusion_off);
  else
    fprintf(out, "%d elementwise nodes fused", cpu->n_fused);
  fprintf(out, "), for");
  for (int i = 0; i < cpu->n_objects; i++)
    fprintf(out, "%s %s (%zu bytes)", i ? "," : "", cpu->objects[i].target, cpu->objects[i].size);
  fprintf(out, "; %.2f s\n", cpu->seconds);
  conv_gemm_print(out, cpu);
  /* reasons by frequency, ties in first-seen order: a quadratic count, groups are few hundred */
  bool *done = calloc((size_t)cpu->n_groups + 1, sizeof *done);
  if (!done) return;
  for (int shown = 0; shown < 8; shown++) {
    int best = -1, best_n = 0;
    for (int g = 0; g < cpu->n_groups; g++) {
      if (done[g] || !cpu->groups[g].unavailable[0]) continue;
      int n = 0;
      for (int h = g; h < cpu->n_groups; h++)
        n += !done[h] && strcmp(cpu->groups[h].reason, cpu->groups[g].reason) == 0;
      if (n > best_n) best = g, best_n = n;
    }
    if (best < 0) break;
    fprintf(out, "  reference kernels for %d group(s): %s (e.g. %s)\n", best_n,
            cpu->groups[best].reason, cpu->groups[best].unavailable);
    for (int h = best; h < cpu->n_groups; h++)
      if (strcmp(cpu->groups[h].reason, cpu->groups[best].reason) == 0) done[h] = true;
  }
  free(done);
}

json_t *mt_cpu_report_json(const mt_cpu_program *cpu) {
  json_t *targets = json_array(), *groups = json_array();
  for (int i = 0; i < cpu->n_objects; i++)
    json_array_append_new(targets, json_pack("{s:s, s:I}", "target", cpu->objects[i].target,
                                             "bytes", (json_int_t)cpu->objects[i].size));
  for (int g = 0; g < cpu->n_groups; g++) {
    const mt_cpu_group_code *gc = &cpu->groups[g];
    if (gc->unavailable[0]) {
      json_array_append_new(groups,
                            json_pack("{s:i, s:s}", "hgroup", g, "unavailable", gc->unavailable));
      continue;
    }
    /* a fused kernel's name lists its nodes ("conv:c1+add+relu"); fused_nodes counts the steps */
    json_t *kernels = json_array();
    int fused = 0;
    for (int k = 0; k < gc->n_kernels; k++) {
      json_array_append_new(kernels, json_string(cpu->kernels[gc->first_kernel + k].name));
      fused += cpu->kernels[gc->first_kernel + k].n_steps;
    }
    json_array_append_new(groups, json_pack("{s:i, s:o, s:i}", "hgroup", g, "kernels", kernels,
                                            "fused_nodes", fused));
  }
  /* per conv kernel: the GEMM it runs (generated on packed weights, or the library) and why */
  json_t *gemms = json_array();
  for (int i = 0; i < cpu->n_kernels; i++)
    if (cpu->kernels[i].gemm_why[0])
      json_array_append_new(gemms, json_pack("{s:s, s:b, s:s}", "kernel", cpu->kernels[i].name,
                                             "generated", cpu->kernels[i].packed_gemm, "why",
                                             cpu->kernels[i].gemm_why));
  /* fusion_off: "" when elementwise fusion ran, else why it did not (nodes_fused is then 0) */
  return json_pack("{s:o, s:s, s:i, s:i, s:i, s:s, s:f, s:o, s:o}", "objects", targets,
                   "unavailable", cpu->unavailable, "groups_generated",
                   mt_cpu_program_groups_generated(cpu), "kernels", cpu->n_kernels, "nodes_fused",
                   cpu->n_fused, "fusion_off", cpu->fusion_off, "seconds", cpu->seconds, "groups",
                   groups, "conv_gemm", gemms);
}
