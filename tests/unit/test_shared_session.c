/* The Triton backend's shared sessions (serving/triton/shared_session.c) without a server: one
 * session per (bundle, device) however the path is spelled, refcounted; a lone job runs alone;
 * jobs of several tenants queued together run as one round (every tenant: one run of the whole
 * plan); two jobs of one tenant take two rounds; bad tenants fail alone; many threads at once get
 * their own results back. Outputs are computed here by hand. */
#include "test_util.h"

#include <pthread.h>
#include <string.h>

#include "bundle_test_util.h"
#include "serving/triton/shared_session.h"

/* Tenant "neg": y = Neg(x); tenant "relu": y = Relu(x); x and y float32[2, 3]. */
static char *write_model(const char *dir, const char *file, const char *op) {
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 3), OB_PARAMS(NULL, NULL));
  ob_node(&b, b.graph, op, "op", OB_NAMES("x"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  size_t len;
  void *bytes = ob_pack(&b, &len);
  char *p = tu_join(dir, file);
  tu_write_file(p, bytes, len);
  ob_free(&b);
  return p;
}

typedef struct fixture {
  char *dir, *bundle;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = tu_mkdtemp();
  char *m1 = write_model(f->dir, "neg.onnx", "Neg"), *m2 = write_model(f->dir, "relu.onnx", "Relu");
  static const char manifest[] = "{\"tenants\": [{\"name\": \"neg\", \"model\": \"neg.onnx\"}, "
                                 "{\"name\": \"relu\", \"model\": \"relu.onnx\"}]}";
  char *mpath = tu_join(f->dir, "two.json");
  tu_write_file(mpath, manifest, sizeof manifest - 1);
  size_t size;
  free(bt_compile_bundle(mpath, f->dir, "two.mtbundle", false, &size));
  f->bundle = tu_join(f->dir, "two.mtbundle");
  free(m1);
  free(m2);
  free(mpath);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  tu_rmtree(f->dir);
  free(f->dir);
  free(f->bundle);
  free(f);
  return 0;
}

typedef struct work {
  mt_job job;
  float x[6], y[6];
  const void *in[1];
  void *out[1];
} work;

static void make(work *w, int tenant, float base) {
  memset(w, 0, sizeof *w);
  for (int i = 0; i < 6; i++) w->x[i] = base + (float)i - 2.5f;
  w->in[0] = w->x;
  w->out[0] = w->y;
  w->job.tenant = tenant;
  w->job.inputs = w->in;
  w->job.outputs = w->out;
}

static void expect(const work *w, const mtrt_bundle *b) {
  assert_null(w->job.error);
  bool neg = strcmp(mtrt_bundle_tenant_name(b, w->job.tenant), "neg") == 0;
  for (int i = 0; i < 6; i++) {
    float want = neg ? -w->x[i] : (w->x[i] > 0 ? w->x[i] : 0);
    assert_true(w->y[i] == want);
  }
}

static void test_one_session_per_bundle_and_device(void **state) {
  fixture *f = *state;
  mt_shared *a = NULL, *b = NULL, *c = NULL;
  assert_null(mt_shared_acquire(f->bundle, MTRT_DEVICE_CPU, 0, 0, &a));
  char *other = tu_join(f->dir, "./two.mtbundle");
  assert_null(mt_shared_acquire(other, MTRT_DEVICE_CPU, 0, 0, &b));
  assert_ptr_equal(a, b);
  /* one session, one thread count: a model asking for another is refused, naming both */
  char *mismatch = mt_shared_acquire(f->bundle, MTRT_DEVICE_CPU, 0, 3, &c);
  assert_non_null(mismatch);
  assert_non_null(strstr(mismatch, "cpu_threads 3"));
  assert_null(c);
  free(mismatch);
  assert_int_equal(mtrt_bundle_tenant_count(mt_shared_bundle(a)), 2);
  assert_string_equal(mt_shared_device_name(a), "cpu");
  mt_shared_release(b);
  /* still alive after one release: the other reference runs a job */
  work w;
  make(&w, 0, 1);
  mt_job *jobs[] = {&w.job};
  mt_shared_run(a, jobs, 1);
  expect(&w, mt_shared_bundle(a));
  /* the GPU is another device: its own session, which this libmtrt cannot create */
  char *err = mt_shared_acquire(f->bundle, MTRT_DEVICE_GPU, 0, 0, &c);
  assert_non_null(err);
  assert_non_null(strstr(err, "gpu"));
  assert_null(c);
  free(err);
  mt_shared_release(a);
  err = mt_shared_acquire("/nonexistent/x.mtbundle", MTRT_DEVICE_CPU, 0, 0, &c);
  assert_non_null(err);
  assert_non_null(strstr(err, "/nonexistent/x.mtbundle"));
  free(err);
  free(other);
}

static void test_rounds(void **state) {
  fixture *f = *state;
  mt_shared *s = NULL;
  assert_null(mt_shared_acquire(f->bundle, MTRT_DEVICE_CPU, 0, 0, &s));
  const mtrt_bundle *b = mt_shared_bundle(s);
  work w[4];
  uint64_t rounds, combined;
  /* a lone job runs alone */
  make(&w[0], 1, 0);
  mt_job *one[] = {&w[0].job};
  mt_shared_run(s, one, 1);
  expect(&w[0], b);
  assert_int_equal(w[0].job.round_tenants, 1);
  mt_shared_stats(s, &rounds, &combined);
  assert_int_equal(rounds, 1);
  assert_int_equal(combined, 0);
  /* both tenants queued together: one round of the whole plan */
  make(&w[0], 0, 1);
  make(&w[1], 1, 2);
  mt_job *two[] = {&w[0].job, &w[1].job};
  mt_shared_run(s, two, 2);
  expect(&w[0], b);
  expect(&w[1], b);
  assert_int_equal(w[0].job.round_tenants, 2);
  assert_int_equal(w[1].job.round_tenants, 2);
  /* two jobs of one tenant cannot share a round; a bad tenant fails alone */
  make(&w[0], 0, 3);
  make(&w[1], 0, 4);
  make(&w[2], 7, 0);
  make(&w[3], 1, 5);
  mt_job *four[] = {&w[0].job, &w[1].job, &w[2].job, &w[3].job};
  mt_shared_run(s, four, 4);
  expect(&w[0], b);
  expect(&w[1], b);
  expect(&w[3], b);
  assert_non_null(w[2].job.error);
  assert_non_null(strstr(w[2].job.error, "tenant index 7"));
  free(w[2].job.error);
  mt_shared_stats(s, &rounds, &combined);
  assert_int_equal(rounds, 4);
  assert_int_equal(combined, 2);
  mt_shared_release(s);
}

typedef struct thread_arg {
  mt_shared *s;
  int tenant, failures;
} thread_arg;

static void *client(void *p) {
  thread_arg *a = p;
  const mtrt_bundle *b = mt_shared_bundle(a->s);
  for (int i = 0; i < 300; i++) {
    work w;
    make(&w, a->tenant, (float)(i % 7));
    mt_job *jobs[] = {&w.job};
    mt_shared_run(a->s, jobs, 1);
    bool neg = strcmp(mtrt_bundle_tenant_name(b, a->tenant), "neg") == 0;
    for (int k = 0; k < 6; k++)
      a->failures += w.y[k] != (neg ? -w.x[k] : (w.x[k] > 0 ? w.x[k] : 0));
    a->failures += w.job.error != NULL;
    free(w.job.error);
  }
  return NULL;
}

static void test_threads(void **state) {
  fixture *f = *state;
  enum { N = 6 };
  pthread_t th[N];
  thread_arg args[N];
  for (int i = 0; i < N; i++) {
    args[i] = (thread_arg){.tenant = i % 2};
    /* worker threads in the session too: rounds of both tenants run them at once */
    assert_null(mt_shared_acquire(f->bundle, MTRT_DEVICE_CPU, 0, 2, &args[i].s));
    assert_int_equal(pthread_create(&th[i], NULL, client, &args[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].failures, 0);
  }
  uint64_t rounds, combined;
  mt_shared_stats(args[0].s, &rounds, &combined);
  printf("%d threads, %d jobs: %llu rounds, %llu with both tenants\n", N, N * 300,
         (unsigned long long)rounds, (unsigned long long)combined);
  /* every round holds one job of a tenant, at most one per tenant */
  assert_true(rounds <= N * 300 && rounds >= N * 300 / 2);
  for (int i = 0; i < N; i++) mt_shared_release(args[i].s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_session_per_bundle_and_device),
      cmocka_unit_test(test_rounds),
      cmocka_unit_test(test_threads),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}
