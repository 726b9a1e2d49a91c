/* JSON report and human summary of a compile (see report.h). */
#include "driver/report.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/report_html.h"
#include "passes/cost_model.h"
#include "runtime/base/escape.h"

static double value_bytes(const mt_module *m, mt_value_id v) {
  const mt_value *val = mt_module_value_c(m, v);
  if (val->rank < 0) return 0;
  double n = (double)mt_dtype_bits(val->dtype) / 8; /* packed types: a fraction of a byte */
  for (int d = 0; d < val->rank; d++) n *= (double)(val->dims[d] > 0 ? val->dims[d] : 0);
  return n;
}

/* Every tenant's predicted latency alone, in one pass over the groups (asking per tenant scanned
 * them all: quadratic with 10k tenants); NULL when out of memory. */
static double *tenants_alone_us(const mt_plan *p) {
  double *alone = malloc(((size_t)mt_module_tenant_count(p->module) + 1) * sizeof *alone);
  if (alone) mt_cost_tenants_alone_us(p, alone);
  return alone;
}

static double tenant_alone_us(const mt_plan *p, const double *alone, int32_t t) {
  return alone ? alone[t] : mt_cost_tenant_latency_us(p, t, true);
}

void mt_compile_stats_compute(const mt_plan *p, int nodes_imported, double compile_seconds,
                              mt_compile_stats *s) {
  const mt_module *m = p->module;
  memset(s, 0, sizeof *s);
  s->nodes_imported = nodes_imported;
  s->fused_groups = p->n_groups;
  s->kernels_fused = p->n_hgroups;
  s->compile_seconds = compile_seconds;
  double *alone = tenants_alone_us(p);
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    s->kernels_unfused += g->n_nodes;
    for (int k = 0; k < g->n_nodes; k++) {
      const mt_node *n = mt_module_node_c(m, g->nodes[k]);
      for (int i = 0; i < n->n_outputs; i++)
        if (n->outputs[i] != MT_NO_VALUE)
          s->intermediate_bytes_unfused += value_bytes(m, n->outputs[i]);
    }
    s->sum_alone_us += tenant_alone_us(p, alone, t);
  }
  free(alone);
  for (int gi = 0; gi < p->n_groups; gi++)
    for (int i = 0; i < p->groups[gi].n_outputs; i++)
      s->intermediate_bytes_fused += value_bytes(m, p->groups[gi].outputs[i]);
  for (int h = 0; h < p->n_hgroups; h++) s->horizontal_formed += p->hgroups[h].n_members > 1;
  for (int i = 0; i < p->n_partitions; i++) {
    s->peak_arena_bytes += p->partitions[i].arena_bytes;
    s->unplanned_bytes += p->partitions[i].unplanned_bytes;
    if (p->partitions[i].predicted_makespan_us > s->makespan_us)
      s->makespan_us = p->partitions[i].predicted_makespan_us;
  }
}

static json_t *group_json(const mt_plan *p, int32_t gi) {
  const mt_module *m = p->module;
  const mt_fused_group *fg = &p->groups[gi];
  json_t *nodes = json_array();
  for (int k = 0; k < fg->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, fg->nodes[k]);
    json_array_append_new(nodes, json_pack("{s:s, s:s}", "name", n->name, "op", n->op_type));
  }
  const mt_horizontal_group *hg = &p->hgroups[fg->hgroup];
  return json_pack(
      "{s:i, s:s, s:o, s:i, s:i, s:f, s:f, s:f}", "id", gi, "kind", mt_group_kind_name(fg->kind),
      "nodes", nodes, "horizontal_group", fg->hgroup, "stream", hg->stream, "flops", fg->cost.flops,
      "bytes", fg->cost.bytes_read + fg->cost.bytes_written, "predicted_us", fg->cost.predicted_us);
}

/* The codegen section: every generated kernel with its launch and why, every horizontal group
 * that has no kernel with the reason, and NVRTC's results per arch when it ran. */
static json_t *codegen_json(const mt_plan *p, const mt_codegen_result *cg) {
  const mt_cuda_program *prog = cg->program;
  json_t *kernels = json_array(), *skipped = json_array();
  for (int i = 0; i < prog->n_kernels; i++) {
    const mt_cuda_kernel *k = &prog->kernels[i];
    json_t *params = json_array();
    for (int j = 0; j < k->n_params; j++)
      json_array_append_new(
          params, json_pack("{s:s, s:s, s:s, s:I}", "value",
                            k->params[j].is_scratch
                                ? "(scratch)"
                                : mt_module_value_c(p->module, k->params[j].value)->name,
                            "dtype", mt_dtype_name(k->params[j].dtype), "access",
                            k->params[j].is_count     ? "write-count"
                            : k->params[j].row_stride ? "write-bounded"
                            : k->params[j].is_scratch
                                ? (k->params[j].is_output ? "write-scratch" : "read-scratch")
                            : k->params[j].is_output ? "write"
                                                     : "read",
                            "elements", (json_int_t)k->params[j].elements));
    json_t *builds = json_array();
    for (int a = 0; cg->compiled && a < cg->n_archs; a++) {
      const mt_cuda_compiled *c = &cg->compiled[i * cg->n_archs + a];
      json_t *b =
          json_pack("{s:s, s:I, s:I, s:i, s:i, s:i, s:b, s:s}", "arch", c->arch, "cubin_bytes",
                    (json_int_t)c->cubin_bytes, "ptx_bytes", (json_int_t)c->ptx_bytes, "registers",
                    c->registers, "local_bytes", c->spills, "shared_bytes", c->shared_bytes,
                    "cached", c->cached, "warning", c->warning);
      json_object_set_new(b, "occupancy", json_real(c->occupancy));
      json_array_append_new(builds, b);
    }
    json_array_append_new(kernels, json_pack("{s:s, s:i, s:i, s:i, s:i, s:I, s:s, s:o, s:o}",
                                             "name", k->name, "horizontal_group", k->hgroup,
                                             "nodes", k->n_nodes, "grid", (int)k->grid, "block",
                                             (int)k->block, "dynamic_smem", (json_int_t)k->dyn_smem,
                                             "why", k->why, "params", params, "nvrtc", builds));
  }
  for (int i = 0; i < prog->n_skipped; i++)
    json_array_append_new(skipped, json_pack("{s:i, s:s, s:s}", "horizontal_group",
                                             prog->skipped[i].hgroup, "what", prog->skipped[i].what,
                                             "reason", prog->skipped[i].reason));
  json_t *libcalls = json_array();
  for (int i = 0; i < prog->n_libcalls; i++) {
    const mt_cuda_libcall *c = &prog->libcalls[i];
    json_t *problems = json_array();
    for (int j = 0; j < c->n_problems; j++) {
      const mt_cuda_gemm *g = &c->problems[j];
#define VNAME(v) ((v) == MT_NO_VALUE ? "" : mt_module_value_c(p->module, (v))->name)
      json_t *o =
          json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:b, s:b, s:I, s:I, s:I}", "group", g->group,
                    "node", mt_module_node_c(p->module, g->node)->name, "m", (json_int_t)g->m, "n",
                    (json_int_t)g->n, "k", (json_int_t)g->k, "batch", (json_int_t)g->batch,
                    "trans_a", g->trans_a, "trans_b", g->trans_b, "lda", (json_int_t)g->lda, "ldb",
                    (json_int_t)g->ldb, "ldc", (json_int_t)g->ldc);
      json_object_set_new(o, "strides",
                          json_pack("[I, I, I]", (json_int_t)g->stride_a, (json_int_t)g->stride_b,
                                    (json_int_t)g->stride_c));
      json_object_set_new(o, "alpha", json_real(g->alpha));
      json_object_set_new(o, "beta", json_real(g->beta));
      json_object_set_new(o, "a", json_string(VNAME(g->a)));
      json_object_set_new(o, "b", json_string(VNAME(g->b)));
      json_object_set_new(o, "c", json_string(VNAME(g->c)));
      json_object_set_new(o, "bias", json_string(VNAME(g->bias)));
      json_object_set_new(o, "d", json_string(VNAME(g->d)));
      json_object_set_new(o, "d_scratch", json_boolean(g->d_scratch));
      json_object_set_new(o, "epilogue", json_string(mt_cuda_epilogue_name(g->epilogue)));
      json_object_set_new(
          o, "epilogue_kernel",
          json_string(g->epilogue_kernel >= 0 ? prog->kernels[g->epilogue_kernel].name : ""));
#undef VNAME
      json_array_append_new(problems, o);
    }
    json_array_append_new(libcalls, json_pack("{s:i, s:s, s:i, s:b, s:s, s:o}", "horizontal_group",
                                              c->hgroup, "call", mt_cuda_libcall_kind_name(c->kind),
                                              "sm_count", c->sm_count, "tf32", c->tf32, "why",
                                              c->why, "problems", problems));
  }
  return json_pack("{s:s, s:o, s:o, s:o}", "nvrtc", cg->nvrtc ? cg->nvrtc : "not run", "kernels",
                   kernels, "library_calls", libcalls, "not_generated", skipped);
}

static json_t *report_json(const mt_plan *p, const mt_compile_stats *s, const int *nodes_imported,
                           const mt_codegen_result *cg) {
  const mt_module *m = p->module;
  /* per-tenant parts gathered in one pass over groups and buffers (not one pass per tenant) */
  int32_t nt = mt_module_tenant_count(m);
  json_t **tgroups = calloc((size_t)nt + 1, sizeof *tgroups);
  json_t **tstreams = calloc((size_t)nt + 1, sizeof *tstreams);
  double *tmemory = calloc((size_t)nt + 1, sizeof *tmemory);
  int *tcount = calloc((size_t)nt + 1, sizeof *tcount);
  double *alone = tenants_alone_us(p);
  json_t *tenants = NULL;
  if (!tgroups || !tstreams || !tmemory || !tcount || !alone) goto done;
  for (int32_t t = 0; t < nt; t++) {
    tgroups[t] = json_array();
    tstreams[t] = json_array();
  }
  for (int gi = 0; gi < p->n_groups; gi++) {
    int32_t t = p->groups[gi].tenant;
    tcount[t]++;
    json_array_append_new(tgroups[t], group_json(p, gi));
    int32_t stream = p->hgroups[p->groups[gi].hgroup].stream;
    bool seen = false;
    for (size_t i = 0; i < json_array_size(tstreams[t]); i++)
      seen = seen || json_integer_value(json_array_get(tstreams[t], i)) == stream;
    if (!seen) json_array_append_new(tstreams[t], json_integer(stream));
  }
  for (int b = 0; b < p->n_buffers; b++)
    tmemory[mt_module_value_c(m, p->buffers[b].value)->tenant] += (double)p->buffers[b].size;
  tenants = json_array();
  for (int32_t t = 0; t < nt; t++) {
    const mt_tenant *tn = mt_module_tenant_c(m, t);
    json_t *groups = tgroups[t], *streams = tstreams[t];
    tgroups[t] = tstreams[t] = NULL; /* the pack below takes them */
    double memory = tmemory[t];
    int n_groups = tcount[t];
    json_array_append_new(tenants,
                          json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:o, s:o, s:f, s:f}",
                                    "name", tn->name, "model", tn->model_path, "partition",
                                    tn->partition, "priority", tn->priority, "nodes_imported",
                                    nodes_imported ? nodes_imported[t] : -1, "nodes_after_cleanup",
                                    tn->graph->n_nodes, "fused_groups", n_groups, "groups", groups,
                                    "streams", streams, "predicted_latency_alone_us", alone[t],
                                    "intermediate_buffer_bytes", memory));
  }
done:
  for (int32_t t = 0; tgroups && tstreams && t < nt; t++) {
    json_decref(tgroups[t]);
    json_decref(tstreams[t]);
  }
  free(tgroups);
  free(tstreams);
  free(tmemory);
  free(tcount);
  free(alone);
  if (!tenants) return NULL;
  /* predicted start/end per horizontal group: the timeline `mtcc report` draws, from the same
   * critical path the cost model takes the makespan from */
  double *finish = calloc((size_t)p->n_hgroups + 1, sizeof *finish);
  mt_status *fst = finish ? mt_cost_hgroup_finish_us(p, finish) : NULL;
  if (!finish || fst) {
    mt_status_free(fst);
    free(finish);
    json_decref(tenants);
    return NULL;
  }
  json_t *hgroups = json_array();
  for (int h = 0; h < p->n_hgroups; h++) {
    const mt_horizontal_group *hg = &p->hgroups[h];
    json_t *members = json_array(), *waits = json_array();
    for (int k = 0; k < hg->n_members; k++)
      json_array_append_new(members,
                            json_pack("{s:s, s:i}", "tenant",
                                      mt_module_tenant_c(m, p->groups[hg->members[k]].tenant)->name,
                                      "group", hg->members[k]));
    for (int w = 0; w < hg->n_waits; w++) json_array_append_new(waits, json_integer(hg->waits[w]));
    json_array_append_new(hgroups,
                          json_pack("{s:i, s:s, s:s, s:i, s:i, s:o, s:o, s:f}", "id", h, "kind",
                                    mt_hgroup_kind_name(hg->kind), "partition",
                                    p->partitions[hg->partition].name, "stream", hg->stream,
                                    "position", hg->position, "members", members, "waits", waits,
                                    "predicted_us", hg->cost.predicted_us));
    json_t *o = json_array_get(hgroups, json_array_size(hgroups) - 1);
    json_object_set_new(o, "predicted_start_us", json_real(finish[h] - hg->cost.predicted_us));
    json_object_set_new(o, "predicted_end_us", json_real(finish[h]));
  }
  free(finish);
  json_t *partitions = json_array();
  for (int i = 0; i < p->n_partitions; i++) {
    const mt_partition_plan *pp = &p->partitions[i];
    json_array_append_new(
        partitions,
        json_pack("{s:s, s:i, s:i, s:i, s:I, s:I, s:f, s:b, s:s}", "name", pp->name, "sm_budget",
                  pp->sm_budget, "sm_count", pp->sm_count, "streams", pp->n_streams, "arena_bytes",
                  (json_int_t)pp->arena_bytes, "unplanned_bytes", (json_int_t)pp->unplanned_bytes,
                  "predicted_makespan_us", pp->predicted_makespan_us, "hard_budget_possible",
                  !pp->budget_note[0], "budget_note", pp->budget_note));
  }
  json_t *rejected = json_array();
  for (int r = 0; r < p->n_rejections; r++)
    json_array_append_new(rejected,
                          json_pack("{s:s, s:s, s:s}", "pass", p->rejections[r].pass, "what",
                                    p->rejections[r].what, "reason", p->rejections[r].reason));
  json_t *summary = json_pack(
      "{s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:I, s:I, s:f, s:f, s:f}", "nodes_imported",
      s->nodes_imported, "kernels_unfused", s->kernels_unfused, "fused_groups", s->fused_groups,
      "kernels_per_round", s->kernels_fused, "horizontal_groups_formed", s->horizontal_formed,
      "intermediate_bytes_unfused", s->intermediate_bytes_unfused, "intermediate_bytes_fused",
      s->intermediate_bytes_fused, "peak_arena_bytes", (json_int_t)s->peak_arena_bytes,
      "unplanned_bytes", (json_int_t)s->unplanned_bytes, "predicted_makespan_us", s->makespan_us,
      "sum_predicted_alone_us", s->sum_alone_us, "compile_seconds", s->compile_seconds);
  json_t *root =
      json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "mtcc_report_version", "1", "target",
                p->arch->name, "summary", summary, "partitions", partitions, "tenants", tenants,
                "horizontal_groups", hgroups, "rejected_fusions", rejected);
  if (root && cg && cg->program) json_object_set_new(root, "codegen", codegen_json(p, cg));
  json_t *notes = json_array();
  for (int r = 0; r < p->n_notes; r++)
    json_array_append_new(notes, json_pack("{s:s, s:s, s:s}", "pass", p->notes[r].pass, "what",
                                           p->notes[r].what, "how", p->notes[r].reason));
  if (root) json_object_set_new(root, "rewrites", notes);
  if (root && cg && cg->cpu) json_object_set_new(root, "cpu_code", mt_cpu_report_json(cg->cpu));
  return root;
}

mt_status *mt_compile_report_write(const char *path, const mt_plan *p, const mt_compile_stats *s,
                                   const int *nodes_per_tenant_imported,
                                   const mt_codegen_result *cg) {
  json_t *root = report_json(p, s, nodes_per_tenant_imported, cg);
  if (!root) return MT_ERR(INTERNAL, "building the report failed");
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  if (!tmp) {
    json_decref(root);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  mt_status *st = NULL;
  snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0)
    st = MT_ERR(INVALID_ARGUMENT, "%s: cannot create: %s", path, strerror(errno));
  else {
    mode_t mask = umask(0); /* mkstemp makes 0600; a report is an ordinary file */
    umask(mask);
    fchmod(fd, 0666 & ~mask);
  }
  if (!st) {
    int rc = json_dumpfd(root, fd, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (close(fd) != 0 || rc != 0 || rename(tmp, path) != 0) {
      st = MT_ERR(INVALID_ARGUMENT, "%s: write failed: %s", path, strerror(errno));
      unlink(tmp);
    }
  }
  free(tmp);
  json_decref(root);
  return st;
}

mt_status *mt_compile_report_html_write(const char *path, const mt_plan *p,
                                        const mt_compile_stats *s,
                                        const int *nodes_per_tenant_imported,
                                        const mt_codegen_result *cg) {
  /* the page is drawn from the JSON (not the plan), so it matches `mtcc report` on the file */
  json_t *root = report_json(p, s, nodes_per_tenant_imported, cg);
  if (!root) return MT_ERR(INTERNAL, "building the report failed");
  mt_status *st = mt_report_html_write(root, "compile report", path);
  json_decref(root);
  return st;
}

void mt_compile_summary_print(FILE *out, const mt_plan *p, const mt_compile_stats *s,
                              const mt_codegen_result *cg) {
  const mt_module *m = p->module;
  fprintf(out, "target %s\n", p->arch->name);
  for (int i = 0; i < p->n_partitions; i++) {
    const mt_partition_plan *pp = &p->partitions[i];
    fprintf(out, "partition '%s': %d SMs", mt_esc(pp->name), pp->sm_count);
    if (pp->sm_budget) fprintf(out, " (budget %d)", pp->sm_budget);
    fprintf(out,
            ", %d stream(s), arena %.2f MiB (unplanned %.2f MiB), predicted makespan %.1f us\n",
            pp->n_streams, (double)pp->arena_bytes / 1048576.0,
            (double)pp->unplanned_bytes / 1048576.0, pp->predicted_makespan_us);
  }
  for (int i = 0; i < p->n_partitions; i++)
    if (p->partitions[i].budget_note[0])
      fprintf(out, "warning: partition '%s': %s\n", mt_esc(p->partitions[i].name),
              p->partitions[i].budget_note);
  /* per-tenant counts in one pass over the groups (counts[2t]: groups, [2t+1]: in horizontal
   * groups); when that allocation fails, each tenant scans the groups */
  int32_t nt = mt_module_tenant_count(m);
  int *counts = calloc(2 * (size_t)nt + 2, sizeof *counts);
  double *alone = tenants_alone_us(p);
  for (int gi = 0; counts && gi < p->n_groups; gi++) {
    counts[2 * p->groups[gi].tenant]++;
    counts[2 * p->groups[gi].tenant + 1] += p->hgroups[p->groups[gi].hgroup].n_members > 1;
  }
  for (int32_t t = 0; t < nt; t++) {
    int groups = counts ? counts[2 * t] : 0, in_horizontal = counts ? counts[2 * t + 1] : 0;
    for (int gi = 0; !counts && gi < p->n_groups; gi++)
      if (p->groups[gi].tenant == t) {
        groups++;
        in_horizontal += p->hgroups[p->groups[gi].hgroup].n_members > 1;
      }
    fprintf(out,
            "tenant '%s' (%s): %d nodes -> %d fused groups, %d in horizontal groups, predicted "
            "%.1f us alone\n",
            mt_esc(mt_module_tenant_c(m, t)->name), mt_esc(mt_module_tenant_c(m, t)->partition),
            mt_module_tenant_c(m, t)->graph->n_nodes, groups, in_horizontal,
            tenant_alone_us(p, alone, t));
  }
  free(counts);
  free(alone);
  int by_kind[5] = {0};
  for (int h = 0; h < p->n_hgroups; h++)
    if (p->hgroups[h].n_members > 1) by_kind[p->hgroups[h].kind]++;
  fprintf(out,
          "horizontal groups: %d batched-gemm, %d grouped-gemm, %d grouped-conv, %d multi-body\n",
          by_kind[MT_HGROUP_BATCHED_GEMM], by_kind[MT_HGROUP_GROUPED_GEMM],
          by_kind[MT_HGROUP_GROUPED_CONV], by_kind[MT_HGROUP_MULTI_BODY]);
  fprintf(out,
          "kernels per round: %d unfused -> %d fused; intermediate bytes %.2f MiB -> %.2f MiB; "
          "peak arena %.2f MiB\n",
          s->kernels_unfused, s->kernels_fused, s->intermediate_bytes_unfused / 1048576.0,
          s->intermediate_bytes_fused / 1048576.0, (double)s->peak_arena_bytes / 1048576.0);
  fprintf(out,
          "predicted makespan %.1f us vs %.1f us for the tenants one after another; %d fusion(s) "
          "rejected (see --report)\n",
          s->makespan_us, s->sum_alone_us, p->n_rejections);
  if (cg && cg->program) {
    const mt_cuda_program *prog = cg->program;
    int covered = 0;
    for (int i = 0; i < prog->n_kernels; i++) covered += prog->kernels[i].n_nodes;
    fprintf(out,
            "codegen: %d CUDA kernel(s) covering %d node(s), %d GEMM library call(s); %d "
            "horizontal group(s) not generated (see --report); %s\n",
            prog->n_kernels, covered, prog->n_libcalls, prog->n_skipped,
            cg->nvrtc ? cg->nvrtc : "NVRTC not run");
    /* local memory and low occupancy are warnings: the kernel runs, but slower than it should */
    int warned = 0;
    for (int i = 0; cg->compiled && i < prog->n_kernels * cg->n_archs; i++) {
      const mt_cuda_compiled *c = &cg->compiled[i];
      if (!c->warning[0]) continue;
      if (warned++ < 10)
        fprintf(out, "warning: kernel %s (%s): %s\n", mt_esc(prog->kernels[c->kernel].name),
                c->arch, c->warning);
    }
    if (warned > 10) fprintf(out, "warning: %d more kernel warning(s) in --report\n", warned - 10);
  }
  fprintf(out, "compiled in %.2f s\n", s->compile_seconds);
}
