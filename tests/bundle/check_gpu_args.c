/* check_gpu_args BUNDLE: opens a bundle through libmtrt (which validates it) and checks that every
 * buffer its GPU steps name is one its CPU plan uses for the same group and that no argument a
 * kernel writes shares bytes with another of its arguments (tests/bundle/gpu_args.h).
 * Prints what it checked; exit 0 when all resolve, 1 otherwise, 2 when the bundle does not open
 * or has no GPU code. Used by check_bundle_gpu.py on sample models. */
#include <stdio.h>

#include "gpu_args.h"
#include "mtrt.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: check_gpu_args BUNDLE\n");
    return 2;
  }
  mtrt_bundle *rb = NULL;
  mtrt_status *st = mtrt_bundle_open(argv[1], NULL, &rb);
  if (st) {
    fprintf(stderr, "%s\n", mtrt_status_message(st));
    mtrt_status_free(st);
    return 2;
  }
  const Mtbundle__Manifest *m = mt_bundle_of(rb)->manifest;
  if (m->n_gpu_groups == 0) {
    fprintf(stderr, "%s: no GPU code: %s\n", argv[1], m->gpu_unavailable);
    mtrt_bundle_close(rb);
    return 2;
  }
  int checked = 0, bad = gpu_args_unresolved(m, &checked), shared = gpu_args_overlaps(m);
  printf("%d of %d GPU buffers resolve to their group's CPU buffers over %zu groups; %d written "
         "launch arguments share bytes with another\n",
         checked - bad, checked, m->n_gpu_groups, shared);
  bad += shared;
  mtrt_bundle_close(rb);
  return bad ? 1 : 0;
}
