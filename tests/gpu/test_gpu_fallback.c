/* libmtrt without a usable CUDA driver: every GPU entry point answers its documented status and
 * MTRT_DEVICE_AUTO falls back to the CPU saying why, with the CPU's outputs; 8 threads doing so
 * at once agree (the TSan build of this file checks the lazy driver loading and the fallback for
 * races). The driver is chosen with MTRT_CUDA_DRIVER_PATH before the first libmtrt call (the
 * driver is loaded once per process), so each mode is its own process.
 *
 * usage: test_gpu_fallback missing|stub BUNDLE   (BUNDLE: one tenant with input x float32[2,4])
 *   missing: the driver library does not exist; stub: the toolkit's stub libcuda (dlopen'd, never
 *   linked), skipped (77) where the toolkit has none. Plain C (no cmocka): TSan builds it with
 *   libmtrt's sources only. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mtrt.h"

/* Checks st's code and that its message contains `needle`; frees st. */
static void expect(mtrt_status *st, mtrt_status_code code, const char *needle, const char *what) {
  const char *msg = mtrt_status_message(st);
  CHECK(mtrt_status_code_of(st) == code, "%s: code %d, expected %d (%s)", what,
        (int)mtrt_status_code_of(st), (int)code, msg);
  CHECK(!needle || strstr(msg, needle), "%s: message '%s' lacks '%s'", what, msg, needle);
  mtrt_status_free(st);
}

static const mtrt_bundle *bundle;
static const char *reason; /* what the driver status must say */
static float x[8] = {0.5f, -1, 2, 0.25f, 3, -0.75f, 1, 0};
static float want_y, want_s[16];

/* One AUTO session: falls back to the CPU with the reason, gives the CPU's outputs. */
static int run_auto(int rounds) {
  mtrt_session_options o;
  mtrt_session_options_init(&o);
  o.device = MTRT_DEVICE_AUTO;
  mtrt_session *s = NULL;
  mtrt_status *st = mtrt_session_create(bundle, &o, &s);
  int bad = 0;
  if (st) {
    fprintf(stderr, "auto session: %s\n", mtrt_status_message(st));
    mtrt_status_free(st);
    return 1;
  }
  bad += strcmp(mtrt_session_device_name(s), "cpu") != 0;
  bad +=
      !strstr(mtrt_session_device_note(s), "auto") || !strstr(mtrt_session_device_note(s), reason);
  float y = 0, out_s[16] = {0};
  st = mtrt_session_bind_input(s, 0, "x", x, sizeof x);
  if (!st) st = mtrt_session_bind_output(s, 0, "y", &y, sizeof y);
  if (!st) st = mtrt_session_bind_output(s, 0, "s", out_s, sizeof out_s);
  for (int r = 0; !st && r < rounds; r++) {
    st = mtrt_session_run_async(s, -1);
    if (!st) st = mtrt_session_wait(s);
    bad += y != want_y || memcmp(out_s, want_s, sizeof out_s) != 0;
  }
  if (st) fprintf(stderr, "auto run: %s\n", mtrt_status_message(st));
  bad += st != NULL;
  mtrt_status_free(st);
  mtrt_session_destroy(s);
  return bad;
}

static void *thread_main(void *arg) {
  *(int *)arg = run_auto(20);
  return NULL;
}

static void reference_outputs(void) {
  mtrt_session *s = NULL;
  mtrt_status *st = mtrt_session_create(bundle, NULL, &s);
  if (!st) st = mtrt_session_bind_input(s, 0, "x", x, sizeof x);
  if (!st) st = mtrt_session_bind_output(s, 0, "y", &want_y, sizeof want_y);
  if (!st) st = mtrt_session_bind_output(s, 0, "s", want_s, sizeof want_s);
  if (!st) st = mtrt_session_run(s, -1);
  CHECK(!st, "cpu session: %s", mtrt_status_message(st));
  CHECK(strncmp(mtrt_session_device_note(s), "cpu", 3) == 0, "note '%s'",
        mtrt_session_device_note(s));
  /* device bindings are GPU-only */
  expect(mtrt_session_bind_input_device(s, 0, "x", 0x1000, sizeof x), MTRT_INVALID_ARGUMENT,
         "only in GPU sessions", "bind_input_device on the cpu");
  expect(mtrt_session_bind_output_device(s, 0, "y", 0x1000, sizeof want_y), MTRT_INVALID_ARGUMENT,
         "only in GPU sessions", "bind_output_device on the cpu");
  mtrt_partition_info pi;
  expect(mtrt_session_partition_info(s, 0, &pi), MTRT_OK, NULL, "partition 0");
  CHECK(pi.hard == 0 && pi.granted_sms == 0, "cpu partition reports a budget");
  expect(mtrt_session_partition_info(s, mtrt_bundle_partition_count(bundle), &pi),
         MTRT_OUT_OF_RANGE, "out of range", "partition past the end");
  CHECK(mtrt_session_tenant_predicted_us(s, 0) > 0, "no predicted time");
  CHECK(mtrt_session_tenant_predicted_us(s, 99) == 0, "predicted time out of range");
  mtrt_status_free(st);
  mtrt_session_destroy(s);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_gpu_fallback missing|stub BUNDLE\n");
    return 2;
  }
  const char *stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (strcmp(argv[1], "stub") == 0) {
    if (access(stub, R_OK) != 0) {
      printf("skipped: no CUDA toolkit stub library at %s\n", stub);
      return 77;
    }
    setenv("MTRT_CUDA_DRIVER_PATH", stub, 1);
    reason = "stub library";
  } else {
    setenv("MTRT_CUDA_DRIVER_PATH", "/nonexistent/libcuda.so.1", 1);
    reason = "cannot open /nonexistent/libcuda.so.1";
  }
  mtrt_bundle *b = NULL;
  mtrt_status *st = mtrt_bundle_open(argv[2], NULL, &b);
  if (st) {
    fprintf(stderr, "%s\n", mtrt_status_message(st));
    mtrt_status_free(st);
    return 1;
  }
  bundle = b;
  reference_outputs();

  /* GPU: the driver's status, naming the device */
  mtrt_session_options o;
  mtrt_session_options_init(&o);
  o.device = MTRT_DEVICE_GPU;
  mtrt_session *s = (mtrt_session *)1;
  expect(mtrt_session_create(b, &o, &s), MTRT_UNAVAILABLE, reason, "gpu session");
  CHECK(s == NULL, "failed create left a session");
  o.gpu_index = 3;
  expect(mtrt_session_create(b, &o, &s), MTRT_UNAVAILABLE, "device gpu 3", "gpu 3 session");
  /* options the GPU path would reject are rejected for auto too, before any fallback */
  o.device = MTRT_DEVICE_AUTO;
  o.arrival = (mtrt_arrival)7;
  expect(mtrt_session_create(b, &o, &s), MTRT_INVALID_ARGUMENT, "arrival", "bad arrival");
  o.device = (mtrt_device_kind)9;
  expect(mtrt_session_create(b, &o, &s), MTRT_INVALID_ARGUMENT, "device 9", "bad device");

  /* an application built against ABI 1 still opens bundles and gets CPU sessions; ABI 3 not */
  mtrt_open_options old = {.abi_version = 1}, future = {.abi_version = MTRT_ABI_VERSION + 1};
  mtrt_bundle *b1 = NULL;
  expect(mtrt_bundle_open(argv[2], &old, &b1), MTRT_OK, NULL, "ABI 1 open");
  struct {
    mtrt_device_kind device;
    int gpu_index;
  } abi1_options = {MTRT_DEVICE_AUTO, 0}; /* the ABI-1 struct: two fields */
  expect(mtrt_session_create(b1, (const mtrt_session_options *)&abi1_options, &s), MTRT_OK, NULL,
         "ABI 1 auto session");
  CHECK(s && strcmp(mtrt_session_device_name(s), "cpu") == 0, "ABI 1 session not on the cpu");
  mtrt_session_destroy(s);
  mtrt_bundle_close(b1);
  mtrt_bundle *b3 = NULL;
  expect(mtrt_bundle_open(argv[2], &future, &b3), MTRT_UNIMPLEMENTED, "ABI", "ABI 3 open");

  /* auto: the CPU with the reason, from one thread and from 8 at once */
  CHECK(run_auto(3) == 0, "auto session from one thread");
  pthread_t threads[8];
  int results[8];
  for (int i = 0; i < 8; i++) pthread_create(&threads[i], NULL, thread_main, &results[i]);
  for (int i = 0; i < 8; i++) {
    pthread_join(threads[i], NULL);
    CHECK(results[i] == 0, "thread %d: %d mismatches", i, results[i]);
  }
  mtrt_bundle_close(b);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("no usable CUDA driver (%s): gpu sessions refused with the driver's status, auto fell "
         "back to the cpu with the reason, 8 threads agree\n",
         argv[1]);
  return 0;
}
