/* Fuzz target: arbitrary bytes as a .npy or TensorProto .pb tensor file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "frontend/frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mt_tensor t = {0};
  char *name = NULL;
  /* A budget well under libFuzzer's RSS limit: a file claiming more must be refused by the
   * budget check, not by the fuzzer running out of memory. */
  mt_status *st = mt_tensor_bytes_decode_limited("fuzz.bin", data, size, 256u << 20, &t, &name);
  if (!st) free(t.data);
  free(name);
  mt_status_free(st);
  return 0;
}
