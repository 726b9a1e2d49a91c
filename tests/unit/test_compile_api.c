/* The public compiler API (include/mtcc.h): compile two tiny models through mtcc_compile, read
 * the compilation back through its accessors, write the report, and check that bad options come
 * back as statuses with a code and a message, never as a crash. */
#include "test_util.h"

#include <string.h>

#include "mtcc.h"
#include "onnx_builder.h"

typedef struct fixture {
  char *dir, *model_a, *model_b;
} fixture;

/* x[2, 3] -> Relu -> Sigmoid -> y: two nodes per tenant, static shapes. */
static char *write_model(const char *dir, const char *name) {
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 3), OB_PARAMS(NULL, NULL));
  ob_node(&b, b.graph, "Relu", "relu", OB_NAMES("x"), OB_NAMES("r"));
  ob_node(&b, b.graph, "Sigmoid", "sigmoid", OB_NAMES("r"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  size_t len;
  void *bytes = ob_pack(&b, &len);
  char *p = tu_join(dir, name);
  tu_write_file(p, bytes, len);
  ob_free(&b);
  return p;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = tu_mkdtemp();
  f->model_a = write_model(f->dir, "a.onnx");
  f->model_b = write_model(f->dir, "b.onnx");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  tu_rmtree(f->dir);
  free(f->dir);
  free(f->model_a);
  free(f->model_b);
  free(f);
  return 0;
}

static void test_version(void **state) {
  (void)state;
  assert_int_equal(mtcc_version_number(), MTCC_VERSION_NUMBER);
}

static void test_compile_and_report(void **state) {
  fixture *f = *state;
  const char *inputs[] = {f->model_a, f->model_b};
  mtcc_compile_options o;
  mtcc_compile_options_init(&o);
  o.inputs = inputs;
  o.n_inputs = 2;
  o.target = "sm_80";
  mtcc_compilation *c = NULL;
  mtcc_status *st = mtcc_compile(&o, &c);
  assert_null(st);
  assert_non_null(c);
  assert_string_equal(mtcc_compilation_target(c), "sm_80");
  assert_int_equal(mtcc_compilation_tenant_count(c), 2);
  assert_string_equal(mtcc_compilation_tenant_name(c, 0), "a");
  assert_string_equal(mtcc_compilation_tenant_name(c, 1), "b");
  assert_null(mtcc_compilation_tenant_name(c, 2));
  const mtcc_compile_stats *s = mtcc_compilation_stats(c);
  assert_int_equal(s->nodes_imported, 4);
  assert_true(s->kernels_fused >= 1 && s->kernels_fused <= s->kernels_unfused);

  char *report = tu_join(f->dir, "report.json");
  assert_null(mtcc_compilation_write_report(c, report));
  size_t len = 0;
  char *text = tu_read_file(report, &len);
  assert_non_null(strstr(text, "\"mtcc_report_version\""));
  assert_non_null(strstr(text, "\"sm_80\""));
  free(text);
  free(report);

  char *summary = NULL;
  size_t summary_len = 0;
  FILE *out = open_memstream(&summary, &summary_len);
  mtcc_compilation_print_summary(c, out);
  fclose(out);
  assert_true(strncmp(summary, "target sm_80\n", 13) == 0);
  free(summary);
  mtcc_compilation_destroy(c);
}

static void test_errors_are_statuses(void **state) {
  fixture *f = *state;
  const char *inputs[] = {f->model_a};
  mtcc_compile_options o;
  mtcc_compile_options_init(&o);
  o.inputs = inputs;
  o.n_inputs = 1;
  o.target = "sm_70";
  mtcc_compilation *c = NULL;
  mtcc_status *st = mtcc_compile(&o, &c);
  assert_non_null(st);
  assert_null(c);
  assert_int_equal(mtcc_status_code_of(st), MTCC_INVALID_ARGUMENT);
  assert_non_null(strstr(mtcc_status_message(st), "sm_70"));
  mtcc_status_free(st);

  o.target = NULL;
  const char *disabled[] = {"no-such-pass"};
  o.disabled_passes = disabled;
  o.n_disabled_passes = 1;
  st = mtcc_compile(&o, &c);
  assert_non_null(st);
  assert_non_null(strstr(mtcc_status_message(st), "no-such-pass"));
  mtcc_status_free(st);

  const char *missing[] = {"/nonexistent/model.onnx"};
  mtcc_compile_options_init(&o);
  o.inputs = missing;
  o.n_inputs = 1;
  st = mtcc_compile(&o, &c);
  assert_non_null(st);
  assert_true(mtcc_status_code_of(st) != MTCC_OK);
  mtcc_status_free(st);

  assert_int_equal(mtcc_status_code_of(NULL), MTCC_OK);
  assert_string_equal(mtcc_status_message(NULL), "OK");
  mtcc_status_free(NULL);
  mtcc_compilation_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test_setup_teardown(test_compile_and_report, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors_are_statuses, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
