/* Fuzz target: arbitrary bytes as an .mtbundle through libmtrt's loader (mtrt_bundle_open_memory).
 * Most mutations break a section checksum, which the loader refuses first; so each input is also
 * loaded once more with its checksums recomputed, which sends the mutation on to the manifest
 * parser and the validation of every count, index, offset and kernel parameter behind it. An
 * accepted bundle is queried and gets a session (arenas allocated, nothing run). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtrt.h"
#include "runtime/bundle/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(const uint8_t *data, size_t size) {
  mtrt_bundle *b = NULL;
  mtrt_status *st = mtrt_bundle_open_memory(data, size, NULL, &b);
  mtrt_status_free(st);
  if (!b) return;
  for (int t = 0; t < mtrt_bundle_tenant_count(b); t++) {
    mtrt_port_info pi;
    for (int i = 0; i < mtrt_bundle_input_count(b, t); i++)
      mtrt_status_free(mtrt_bundle_input_info(b, t, i, &pi));
    for (int i = 0; i < mtrt_bundle_output_count(b, t); i++)
      mtrt_status_free(mtrt_bundle_output_info(b, t, i, &pi));
  }
  mtrt_session *s = NULL;
  mtrt_status_free(mtrt_session_create(b, NULL, &s));
  mtrt_session_destroy(s);
  mtrt_bundle_close(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  load(data, size);
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  if (mt_bundle_reseal(copy, size)) load(copy, size);
  free(copy);
  return 0;
}
