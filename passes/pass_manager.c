/* Runs the pass pipeline with the verifier after every pass. */
#include "passes/pass_manager.h"

#include <string.h>

#include "ir/ir.h"

static const mt_pass pipeline[] = {
    {"infer-shapes", "static shapes for every value", false, true, mt_pass_infer_shapes},
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

mt_status *mt_pipeline_run(mt_pass_ctx *ctx, const mt_pipeline_options *opts) {
  mt_pipeline_options none;
  if (!opts) {
    mt_pipeline_options_init(&none);
    opts = &none;
  }
  MT_RETURN_IF_ERROR_PLAIN(check_options(opts));
  FILE *dump = opts->dump_to ? opts->dump_to : stdout;
  for (size_t i = 0; i < sizeof pipeline / sizeof *pipeline; i++) {
    const mt_pass *pass = &pipeline[i];
    if (pass->on_plan && !ctx->plan)
      MT_RETURN_IF_ERROR(
          mt_plan_create(ctx->module, ctx->arch, ctx->budgets, ctx->n_budgets, &ctx->plan),
          "building the plan");
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
