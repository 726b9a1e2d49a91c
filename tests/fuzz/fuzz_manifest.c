/* Fuzz target: arbitrary bytes as a tenants manifest. */
#include <stddef.h>
#include <stdint.h>

#include "frontend/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mt_manifest *mf = NULL;
  mt_status *st = mt_manifest_parse("fuzz.json", (const char *)data, size, &mf);
  mt_status_free(st);
  mt_manifest_free(mf);
  return 0;
}
