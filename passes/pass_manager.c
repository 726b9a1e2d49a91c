/* Runs the pass pipeline with the verifier after every pass. */
#include "passes/pass_manager.h"

#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static const mt_pass pipeline[] = {
    {"infer-shapes", "static shapes for every value", false, true, mt_pass_infer_shapes},
    {"fold-qdq",
     "DequantizeLinear -> Conv/MatMul/Gemm -> QuantizeLinear into QLinearConv/QLinearMatMul "
     "(int8 math)",
     false, false, mt_pass_fold_qdq},
    {"fold-constants", "evaluate nodes whose inputs are all constants", false, false,
     mt_pass_fold_constants},
    {"canonicalize", "BN into conv/gemm, MatMul+Add into Gemm, drop no-op reshapes and transposes",
     false, false, mt_pass_canonicalize},
    {"dce", "remove nodes whose results nobody reads", false, false, mt_pass_dce},
    {"fuse-vertical", "fuse chains inside a tenant into fused groups", true, false,
     mt_pass_fuse_vertical},
    {"fuse-horizontal", "launch independent groups of different tenants together", true, false,
     mt_pass_fuse_horizontal},
    {"cost-model", "roofline estimates per group and partition", true, true, mt_pass_cost_model},
    {"assign-streams", "streams and cross-stream waits per partition", true, true,
     mt_pass_assign_streams},
    {"plan-memory", "arena offsets for intermediates by liveness", true, true, mt_pass_plan_memory},
};

void mt_pipeline_options_init(mt_pipeline_options *o) { memset(o, 0, sizeof *o); }

const mt_pass *mt_pipeline_passes(int *out_count) {
  *out_count = (int)(sizeof pipeline / sizeof *pipeline);
  return pipeline;
}

static const mt_pass *find_pass(const char *name) {
  for (size_t i = 0; i < sizeof pipeline / sizeof *pipeline; i++)
    if (strcmp(pipeline[i].name, name) == 0) return &pipeline[i];
  return NULL;
}

MT_MUST_USE static mt_status *check_options(const mt_pipeline_options *o) {
  for (int i = 0; i < o->n_disabled; i++) {
    const mt_pass *p = find_pass(o->disabled[i]);
    if (!p) return MT_ERR(INVALID_ARGUMENT, "--disable-pass: no pass named '%s'", o->disabled[i]);
    if (p->required)
      return MT_ERR(INVALID_ARGUMENT, "--disable-pass: '%s' is required by later passes",
                    o->disabled[i]);
  }
  if (o->dump_after && !find_pass(o->dump_after))
    return MT_ERR(INVALID_ARGUMENT, "--dump-ir-after: no pass named '%s'", o->dump_after);
  return NULL;
}

static bool is_disabled(const mt_pipeline_options *o, const char *name) {
  for (int i = 0; i < o->n_disabled; i++)
    if (strcmp(o->disabled[i], name) == 0) return true;
  return false;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

mt_status *mt_pass_note_add(mt_pass_ctx *ctx, const char *pass, bool made, const char *what,
                            const char *reason) {
  if (ctx->n_notes == ctx->cap_notes) {
    int cap = ctx->cap_notes ? ctx->cap_notes * 2 : 16;
    mt_pass_note *n = realloc(ctx->notes, (size_t)cap * sizeof *n);
    if (!n) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory recording a report line");
    ctx->notes = n;
    ctx->cap_notes = cap;
  }
  mt_pass_note *n = &ctx->notes[ctx->n_notes];
  *n = (mt_pass_note){
      .pass = dup_str(pass), .what = dup_str(what), .reason = dup_str(reason), .made = made};
  ctx->n_notes++; /* counted before the check so that the free below sees it */
  if (!n->pass || !n->what || !n->reason)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory recording a report line");
  return NULL;
}

static void free_notes(mt_pass_ctx *ctx) {
  for (int i = 0; i < ctx->n_notes; i++) {
    free(ctx->notes[i].pass);
    free(ctx->notes[i].what);
    free(ctx->notes[i].reason);
  }
  free(ctx->notes);
  ctx->notes = NULL;
  ctx->n_notes = ctx->cap_notes = 0;
}

/* Moves the graph passes' lines into the freshly built plan. */
MT_MUST_USE static mt_status *notes_to_plan(mt_pass_ctx *ctx) {
  mt_status *st = NULL;
  for (int i = 0; i < ctx->n_notes && !st; i++) {
    const mt_pass_note *n = &ctx->notes[i];
    st = n->made ? mt_plan_note(ctx->plan, n->pass, n->what, n->reason)
                 : mt_plan_reject(ctx->plan, n->pass, n->what, n->reason);
  }
  free_notes(ctx);
  return st;
}

MT_MUST_USE static mt_status *run_pipeline(mt_pass_ctx *ctx, const mt_pipeline_options *opts);

mt_status *mt_pipeline_run(mt_pass_ctx *ctx, const mt_pipeline_options *opts) {
  mt_status *st = run_pipeline(ctx, opts);
  free_notes(ctx);
  return st;
}

static mt_status *run_pipeline(mt_pass_ctx *ctx, const mt_pipeline_options *opts) {
  mt_pipeline_options none;
  if (!opts) {
    mt_pipeline_options_init(&none);
    opts = &none;
  }
  MT_RETURN_IF_ERROR_PLAIN(check_options(opts));
  FILE *dump = opts->dump_to ? opts->dump_to : stdout;
  for (size_t i = 0; i < sizeof pipeline / sizeof *pipeline; i++) {
    const mt_pass *pass = &pipeline[i];
    if (pass->on_plan && !ctx->plan) {
      MT_RETURN_IF_ERROR(
          mt_plan_create(ctx->module, ctx->arch, ctx->budgets, ctx->n_budgets, &ctx->plan),
          "building the plan");
      MT_RETURN_IF_ERROR_PLAIN(notes_to_plan(ctx));
    }
    if (!is_disabled(opts, pass->name)) {
      MT_RETURN_IF_ERROR(pass->run(ctx), "pass '%s'", pass->name);
      if (!pass->on_plan) {
        MT_RETURN_IF_ERROR(mt_verify_module(ctx->module), "after pass '%s'", pass->name);
      } else {
        MT_RETURN_IF_ERROR(mt_plan_refresh_groups(ctx->plan), "after pass '%s'", pass->name);
        MT_RETURN_IF_ERROR(mt_plan_verify(ctx->plan), "after pass '%s'", pass->name);
      }
    }
    if (opts->dump_after && strcmp(opts->dump_after, pass->name) == 0) {
      fprintf(dump, "// IR after %s%s\n", pass->name,
              is_disabled(opts, pass->name) ? " (disabled)" : "");
      if (pass->on_plan)
        mt_plan_dump(ctx->plan, dump);
      else
        mt_dump_module(ctx->module, dump);
    }
  }
  return NULL;
}
