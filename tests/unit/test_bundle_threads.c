/* libmtrt's CPU path under threads, with libmtrt alone (no compiler code, so the TSan stage of
 * scripts/test.sh builds just this and the library): real bundles from the fuzz seeds (one
 * tenant per kernel family, a two-tenant, two-partition mix, and one with generated CPU code
 * whose kernel the session splits over its threads) give byte-identical outputs with
 * cpu_threads 0, 1, 2 and 4, and 8 sessions on one bundle from 8 threads at once (each with
 * 2 CPU threads) give the same bytes as one session alone; a plan missing a wait (two streams
 * then race on arena bytes) gets no multi-threaded session. MT_BUNDLE_SEEDS names the folder. */
#include "test_util.h"

#include <pthread.h>
#include <string.h>

#define BT_RUNTIME_ONLY
#include "bundle_test_util.h"
#include "mtrt.h"

static const char *const BUNDLES[] = {"two_tenants", "nn", "data", "reduce", "small_cpu"};
#define N_BUNDLES (sizeof BUNDLES / sizeof *BUNDLES)

static mtrt_bundle *open_seed(const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.mtbundle", MT_BUNDLE_SEEDS, name);
  mtrt_bundle *b = NULL;
  mtrt_open_options o;
  mtrt_open_options_init(&o);
  assert_ok(bt_st(mtrt_bundle_open(path, &o, &b)));
  return b;
}

/* Every port's memory, inputs filled with a fixed pattern, outputs with a poison byte. */
typedef struct ports {
  int n;
  void *buf[64];
  size_t bytes[64];
} ports;

static void fill_input(void *buf, const mtrt_port_info *pi) {
  for (size_t i = 0; i < pi->nbytes; i++) ((uint8_t *)buf)[i] = 0;
  size_t es = pi->dtype == 1 ? 4 : pi->dtype == 7 ? 8 : 0;
  for (size_t i = 0; es && i < pi->nbytes / es; i++) {
    if (es == 4)
      ((float *)buf)[i] = (float)((int)(i * 37 % 23) - 11) / 7.0f;
    else
      ((int64_t *)buf)[i] = (int64_t)(i % 3);
  }
}

/* Creates a session with cpu_threads threads, binds everything, runs all tenants (tenant -1) and
 * then each alone, and leaves the outputs of the last run in p. */
static int run_bundle(const mtrt_bundle *b, int cpu_threads, ports *p) {
  mtrt_session_options so = {.device = MTRT_DEVICE_CPU, .cpu_threads = cpu_threads};
  mtrt_session *s = NULL;
  mtrt_status *st = mtrt_session_create(b, &so, &s);
  memset(p, 0, sizeof *p);
  for (int t = 0; !st && t < mtrt_bundle_tenant_count(b); t++) {
    int ni = mtrt_bundle_input_count(b, t), no = mtrt_bundle_output_count(b, t);
    for (int i = 0; !st && i < ni + no && p->n < 64; i++) {
      mtrt_port_info pi;
      st = i < ni ? mtrt_bundle_input_info(b, t, i, &pi)
                  : mtrt_bundle_output_info(b, t, i - ni, &pi);
      if (st) break;
      void *buf = aligned_alloc(64, (pi.nbytes + 64) / 64 * 64);
      p->buf[p->n] = buf;
      p->bytes[p->n++] = pi.nbytes;
      if (i < ni) {
        fill_input(buf, &pi);
        st = mtrt_session_bind_input(s, t, pi.name, buf, pi.nbytes);
      } else {
        memset(buf, 0xa5, pi.nbytes);
        st = mtrt_session_bind_output(s, t, pi.name, buf, pi.nbytes);
      }
    }
  }
  if (!st) st = mtrt_session_run(s, -1);
  for (int t = 0; !st && t < mtrt_bundle_tenant_count(b); t++) st = mtrt_session_run(s, t);
  if (!st) st = mtrt_session_run(s, -1);
  int ok = st == NULL;
  if (st) fprintf(stderr, "%s\n", mtrt_status_message(st));
  mtrt_status_free(st);
  mtrt_session_destroy(s);
  return ok;
}

static void ports_free(ports *p) {
  for (int i = 0; i < p->n; i++) free(p->buf[i]);
}

static void assert_same(const ports *a, const ports *b, const char *what) {
  assert_int_equal(a->n, b->n);
  for (int i = 0; i < a->n; i++) {
    assert_int_equal(a->bytes[i], b->bytes[i]);
    if (memcmp(a->buf[i], b->buf[i], a->bytes[i]) != 0) {
      print_error("%s: port %d differs\n", what, i);
      fail();
    }
  }
}

static void test_outputs_identical_for_any_thread_count(void **state) {
  for (size_t k = 0; k < N_BUNDLES; k++) {
    mtrt_bundle *b = open_seed(BUNDLES[k]);
    ports one;
    assert_true(run_bundle(b, 0, &one));
    const int counts[] = {1, 2, 4};
    for (int c = 0; c < 3; c++) {
      ports many;
      assert_true(run_bundle(b, counts[c], &many));
      char what[64];
      snprintf(what, sizeof what, "%s with %d threads", BUNDLES[k], counts[c]);
      assert_same(&one, &many, what);
      ports_free(&many);
    }
    ports_free(&one);
    mtrt_bundle_close(b);
  }
}

static void test_negative_thread_count_refused(void **state) {
  mtrt_bundle *b = open_seed("reduce");
  mtrt_session_options so = {.device = MTRT_DEVICE_CPU, .cpu_threads = -3};
  mtrt_session *s = NULL;
  assert_status(bt_st(mtrt_session_create(b, &so, &s)), MT_INVALID_ARGUMENT, "cpu_threads -3");
  assert_null(s);
  mtrt_bundle_close(b);
}

/* 8 threads, each its own session (2 CPU threads) on one shared bundle. */
typedef struct job {
  const mtrt_bundle *b;
  ports out;
  int ok;
} job;

static void *job_run(void *arg) {
  job *j = arg;
  for (int r = 0; r < 5; r++) {
    if (r) ports_free(&j->out);
    j->ok = run_bundle(j->b, 2, &j->out);
    if (!j->ok) break;
  }
  return NULL;
}

static void test_sessions_from_8_threads(void **state) {
  mtrt_bundle *b = open_seed("two_tenants");
  ports one;
  assert_true(run_bundle(b, 0, &one));
  job jobs[8];
  pthread_t th[8];
  for (int i = 0; i < 8; i++) {
    jobs[i] = (job){.b = b};
    assert_int_equal(pthread_create(&th[i], NULL, job_run, &jobs[i]), 0);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    assert_true(jobs[i].ok);
    assert_same(&one, &jobs[i].out, "a session of 8 threads");
    ports_free(&jobs[i].out);
  }
  ports_free(&one);
  mtrt_bundle_close(b);
}

/* nn.mtbundle is one chain of groups on one stream; moving its second group to another stream
 * (with no wait added) lets it read the first group's output while that is being written: the
 * plan is refused for several threads (naming the groups), still fine on one. */
static void test_plan_with_a_missing_wait_refused(void **state) {
  char path[4096];
  snprintf(path, sizeof path, "%s/nn.mtbundle", MT_BUNDLE_SEEDS);
  size_t size = 0;
  uint8_t *image = (uint8_t *)tu_read_file(path, &size);
  Mtbundle__Manifest *m = bt_unpack_manifest(image, size, NULL);
  assert_true(m->n_groups > 2 && m->groups[1]->n_waits == 0 &&
              m->groups[0]->stream == m->groups[1]->stream);
  m->groups[1]->stream += 1;
  uint8_t *img = NULL;
  size_t img_size = 0;
  bt_repack(image, size, m, &img, &img_size);
  mtbundle__manifest__free_unpacked(m, NULL);
  mtrt_bundle *b = NULL;
  assert_ok(bt_st(mtrt_bundle_open_memory(img, img_size, NULL, &b)));
  mtrt_session_options so = {.device = MTRT_DEVICE_CPU, .cpu_threads = 2};
  mtrt_session *s = NULL;
  assert_status(bt_st(mtrt_session_create(b, &so, &s)), MT_DATA_LOSS, "groups 0 and 1");
  assert_null(s);
  so.cpu_threads = 1;
  assert_ok(bt_st(mtrt_session_create(b, &so, &s)));
  mtrt_session_destroy(s);
  mtrt_bundle_close(b);
  free(img);
  free(image);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_outputs_identical_for_any_thread_count),
      cmocka_unit_test(test_negative_thread_count_refused),
      cmocka_unit_test(test_sessions_from_8_threads),
      cmocka_unit_test(test_plan_with_a_missing_wait_refused),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
