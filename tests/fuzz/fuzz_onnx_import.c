/* Fuzz target: arbitrary bytes as an ONNX model through import, verifier, support check and
 * static shape inference. Whatever the bytes, the result is a status, never a crash or a leak. */
#include <stddef.h>
#include <stdint.h>

#include "frontend/frontend.h"
#include "ir/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mt_module *m;
  if (mt_module_create(NULL, &m)) return 0;
  /* well under libFuzzer's RSS limit, so the budget check refuses big claims first */
  mt_module_set_memory_limit(m, 256u << 20);
  int32_t tenant;
  /* a folder that does not exist: external data paths must fail cleanly */
  mt_status *st =
      mt_onnx_import_bytes(m, data, size, "/nonexistent-fuzz-dir/model.onnx", "fuzz", &tenant);
  if (!st) st = mt_verify_module(m);
  if (!st) st = mt_check_supported(m);
  if (!st) st = mt_infer_shapes(m);
  mt_status_free(st);
  mt_module_destroy(m);
  return 0;
}
