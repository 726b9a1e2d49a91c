/* Pass: static shape inference (the first pass; every later pass relies on static shapes). */
#include "ir/ir.h"
#include "passes/pass_manager.h"

mt_status *mt_pass_infer_shapes(mt_pass_ctx *ctx) { return mt_infer_shapes(ctx->module); }
