/* Fuzz target: arbitrary bytes as an .mtbundle through libmtrt's loader (mtrt_bundle_open_memory).
 * Most mutations break a section checksum, which the loader refuses first; so each input is also
 * loaded once more with its checksums recomputed, which sends the mutation on to the manifest
 * parser and the validation of every count, index, offset and kernel parameter behind it. An
 * accepted bundle is queried, gets a session (two CPU threads), and every tenant runs on
 * zero-filled inputs, one tenant at a time and then all together: whatever the loader accepted
 * must execute without a read or write outside its buffers (ASan/UBSan in CI). Generated CPU
 * code (small_cpu.mtbundle) is validated but never run: it is the reference kernels that run. Bundles whose
 * tensors are too large to run quickly are only loaded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtrt.h"
#include "runtime/bundle/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs are for checking memory safety, not for speed: keep every tensor and area small enough
 * that the slowest kernel (a convolution or GEMM over tensors of this size) stays in
 * milliseconds. */
#define RUN_MAX_ELEMS 4096
#define RUN_MAX_AREA (1u << 20)

static bool small_ref(const Mtbundle__BufferRef *r) {
  if (r->kind == MTBUNDLE__BUFFER_REF__KIND__NONE) return true;
  uint64_t n = 1;
  for (size_t i = 0; i < r->type->n_dims; i++) n *= (uint64_t)r->type->dims[i];
  return n <= RUN_MAX_ELEMS;
}

static bool small_enough_to_run(const mtrt_bundle *rb) {
  const Mtbundle__Manifest *m = mt_bundle_of(rb)->manifest;
  if (m->scratch_bytes > RUN_MAX_AREA) return false;
  for (size_t i = 0; i < m->n_partitions; i++)
    if (m->partitions[i]->arena_bytes > RUN_MAX_AREA) return false;
  for (size_t i = 0; i < m->n_nodes; i++) {
    const Mtbundle__Node *n = m->nodes[i];
    for (size_t k = 0; k < n->n_inputs; k++)
      if (!small_ref(n->inputs[k])) return false;
    for (size_t k = 0; k < n->n_outputs; k++)
      if (!small_ref(n->outputs[k])) return false;
  }
  return true;
}

/* Binds zero-filled buffers to every port and runs each
 * tenant, then all of them. Statuses (bad index values, say) are fine; crashes are not. */
static void run_all(mtrt_bundle *b, mtrt_session *s) {
  int nt = mtrt_bundle_tenant_count(b), nbufs = 0;
  void **bufs = NULL;
  for (int t = 0; t < nt; t++) {
    int ni = mtrt_bundle_input_count(b, t), no = mtrt_bundle_output_count(b, t);
    void **more = realloc(bufs, (size_t)(nbufs + ni + no + 1) * sizeof *bufs);
    if (!more) break;
    bufs = more;
    for (int i = 0; i < ni + no; i++) {
      mtrt_port_info pi;
      mtrt_status *st = i < ni ? mtrt_bundle_input_info(b, t, i, &pi)
                               : mtrt_bundle_output_info(b, t, i - ni, &pi);
      if (st) {
        mtrt_status_free(st);
        continue;
      }
      void *buf = calloc(1, pi.nbytes ? pi.nbytes : 1);
      if (!buf) continue;
      bufs[nbufs++] = buf;
      st = i < ni ? mtrt_session_bind_input(s, t, pi.name, buf, pi.nbytes)
                  : mtrt_session_bind_output(s, t, pi.name, buf, pi.nbytes);
      mtrt_status_free(st);
    }
  }
  for (int t = 0; t < nt; t++) mtrt_status_free(mtrt_session_run(s, t));
  mtrt_status_free(mtrt_session_run(s, -1));
  for (int i = 0; i < nbufs; i++) free(bufs[i]);
  free(bufs);
}

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
  /* two CPU threads: the group scheduler also sees hostile streams, waits and partitions */
  /* generated CPU objects are native code, trusted like any shared library once their container
   * fields check out: a mutated object is never loaded here, only validated */
  mtrt_session_options so = {
      .device = MTRT_DEVICE_CPU, .cpu_threads = 2, .cpu_target = "reference"};
  mtrt_status_free(mtrt_session_create(b, &so, &s));
  if (s && small_enough_to_run(b)) run_all(b, s);
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
