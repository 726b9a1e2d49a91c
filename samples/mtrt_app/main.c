/* A small application on libmtrt alone (include/mtrt.h): loads a bundle, feeds every input of
 * every tenant a fixed pattern (or zeros with --zeros), runs all tenants on the CPU and prints
 * each output's shape and sum with the tenant's time.
 * usage: mtrt_app BUNDLE [--zeros] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtrt.h"

static int fail(mtrt_status *st) {
  fprintf(stderr, "mtrt_app: error: %s\n", mtrt_status_message(st));
  mtrt_status_free(st);
  return 1;
}

static double element(const void *data, int dtype, size_t i) {
  switch (dtype) {
  case 1: return ((const float *)data)[i];
  case 6: return ((const int32_t *)data)[i];
  case 7: return (double)((const int64_t *)data)[i];
  case 9:
  case 2: return ((const uint8_t *)data)[i];
  case 3: return ((const int8_t *)data)[i];
  default: return 0;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: mtrt_app BUNDLE [--zeros]\n");
    return 2;
  }
  int zeros = argc > 2 && strcmp(argv[2], "--zeros") == 0;
  if (mtrt_version_number() < MTRT_VERSION_NUMBER) {
    fprintf(stderr, "mtrt_app: error: libmtrt %d is older than the header (%d)\n",
            mtrt_version_number(), MTRT_VERSION_NUMBER);
    return 1;
  }
  mtrt_open_options oo;
  mtrt_open_options_init(&oo);
  mtrt_bundle *b = NULL;
  mtrt_status *st = mtrt_bundle_open(argv[1], &oo, &b);
  if (st) return fail(st);
  mtrt_session *s = NULL;
  if ((st = mtrt_session_create(b, NULL, &s))) return fail(st);
  int nt = mtrt_bundle_tenant_count(b);
  void **buffers = calloc(4096, sizeof *buffers);
  int nbuf = 0;
  for (int t = 0; t < nt && !st; t++) {
    for (int i = 0; i < mtrt_bundle_input_count(b, t) && !st; i++) {
      mtrt_port_info pi;
      if ((st = mtrt_bundle_input_info(b, t, i, &pi))) break;
      unsigned char *data = calloc(1, pi.nbytes + 1);
      for (size_t k = 0; !zeros && pi.dtype == 1 && k < pi.nbytes / 4; k++)
        ((float *)data)[k] = (float)((k % 7) - 3) * 0.25f;
      buffers[nbuf++] = data;
      st = mtrt_session_bind_input(s, t, pi.name, data, pi.nbytes);
    }
    for (int i = 0; i < mtrt_bundle_output_count(b, t) && !st; i++) {
      mtrt_port_info pi;
      if ((st = mtrt_bundle_output_info(b, t, i, &pi))) break;
      buffers[nbuf++] = calloc(1, pi.nbytes + 1);
      st = mtrt_session_bind_output(s, t, pi.name, buffers[nbuf - 1], pi.nbytes);
    }
  }
  if (!st) st = mtrt_session_run(s, -1);
  if (st) return fail(st);
  int at = 0;
  for (int t = 0; t < nt; t++) {
    printf("tenant %s: %.3f ms on %s\n", mtrt_bundle_tenant_name(b, t),
           mtrt_session_tenant_time_us(s, t) / 1e3, mtrt_session_device_name(s));
    at += mtrt_bundle_input_count(b, t);
    for (int i = 0; i < mtrt_bundle_output_count(b, t); i++) {
      mtrt_port_info pi;
      if ((st = mtrt_bundle_output_info(b, t, i, &pi))) return fail(st);
      size_t n = 1;
      printf("  %s: dtype %d [", pi.name, pi.dtype);
      for (int d = 0; d < pi.rank; d++) {
        printf("%s%lld", d ? ", " : "", (long long)pi.dims[d]);
        n *= (size_t)pi.dims[d];
      }
      double sum = 0;
      for (size_t k = 0; k < n; k++) sum += element(buffers[at], pi.dtype, k);
      printf("] sum %.6g\n", sum);
      at++;
    }
  }
  for (int i = 0; i < nbuf; i++) free(buffers[i]);
  free(buffers);
  mtrt_session_destroy(s);
  mtrt_bundle_close(b);
  return 0;
}
