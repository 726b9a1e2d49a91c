/* Fuzz target: arbitrary bytes as an ONNX model through everything `mtcc compile` does after
 * reading the file: import, verifier, support check, then the whole pass pipeline (shape
 * inference, folding, canonicalisation, DCE, plan, fusion, cost model, streams, memory plan).
 *
 * The first byte picks the workload shape so one corpus covers both: bit 0 set imports the model
 * twice as tenants "a" and "b" of the same partition (the multi-tenant paths: horizontal fusion,
 * stream assignment across tenants); clear, one tenant. The model is the remaining bytes; seeds
 * are made by make_compile_seeds.py. Whatever the bytes, the result is a status, never a crash,
 * a hang or a leak. */
#include <stddef.h>
#include <stdint.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"
#include "plan/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int n_tenants = (data[0] & 1) ? 2 : 1;
  data++;
  size--;
  mt_module *m;
  if (mt_module_create(NULL, &m)) return 0;
  /* well under libFuzzer's RSS limit, so the budget check refuses big claims first */
  mt_module_set_memory_limit(m, 256u << 20);
  mt_status *st = NULL;
  static const char *const names[] = {"a", "b"};
  for (int t = 0; !st && t < n_tenants; t++) {
    int32_t tenant;
    /* a folder that does not exist: external data paths must fail cleanly */
    st = mt_onnx_import_bytes(m, data, size, "/nonexistent-fuzz-dir/model.onnx", names[t], &tenant);
  }
  if (!st) st = mt_verify_module(m);
  if (!st) st = mt_check_supported(m);
  mt_pass_ctx ctx = {.module = m, .arch = mt_arch_builtin("sm_90")};
  if (!st) {
    mt_pipeline_options opts;
    mt_pipeline_options_init(&opts);
    st = mt_pipeline_run(&ctx, &opts);
  }
  if (ctx.plan) mt_plan_destroy(ctx.plan);
  mt_status_free(st);
  mt_module_destroy(m);
  return 0;
}
