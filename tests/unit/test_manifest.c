/* The tenants manifest: parsing (targets, partitions, priorities, dims, shapes), rejection of
 * unknown keys, unknown partitions, duplicate tenants and malformed JSON, and workload import
 * applying it to the module. */
#include "test_util.h"

#include <sys/stat.h>

#include "frontend/frontend.h"
#include "frontend/manifest.h"
#include "ir/ir.h"
#include "onnx_builder.h"

static int setup(void **state) {
  char *dir = tu_mkdtemp();
  char *models = tu_join(dir, "models");
  if (mkdir(models, 0777) != 0) return -1;
  /* x[batch, 3] -> Relu -> y */
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(-1, 3), OB_PARAMS("batch", NULL));
  ob_node(&b, b.graph, "Relu", "relu", OB_NAMES("x"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  size_t len;
  void *bytes = ob_pack(&b, &len);
  char *p = tu_join(models, "a.onnx");
  tu_write_file(p, bytes, len);
  free(p);
  p = tu_join(dir, "b.onnx");
  tu_write_file(p, bytes, len);
  free(p);
  ob_free(&b);
  free(models);
  *state = dir;
  return 0;
}

static int teardown(void **state) {
  tu_rmtree(*state);
  free(*state);
  return 0;
}

/* Writes text as <dir>/<name> and returns the path (malloc'ed). */
static char *write_manifest(const char *dir, const char *name, const char *text) {
  char *p = tu_join(dir, name);
  tu_write_file(p, text, strlen(text));
  return p;
}

static const char kValid[] =
    "{\n"
    "  \"targets\": [\"sm_80\", \"sm_90\"],\n"
    "  \"partitions\": [{\"name\": \"vision\", \"sm_budget\": 66}, {\"name\": \"nlp\"}],\n"
    "  \"tenants\": [\n"
    "    {\"name\": \"resnet\", \"model\": \"models/a.onnx\", \"partition\": \"vision\",\n"
    "     \"priority\": 2, \"dims\": {\"batch\": 8}, \"shapes\": {\"x\": [8, 3]}},\n"
    "    {\"name\": \"bert\", \"model\": \"b.onnx\", \"partition\": \"nlp\", \"dims\": {\"batch\": "
    "2}}\n"
    "  ]\n"
    "}\n";

static void test_valid_manifest(void **state) {
  const char *dir = *state;
  char *path = write_manifest(dir, "ok.json", kValid);
  mt_manifest *mf = NULL;
  assert_ok(mt_manifest_load(path, &mf));
  assert_string_equal(mf->path, path);
  assert_int_equal(mf->n_targets, 2);
  assert_string_equal(mf->targets[0], "sm_80");
  assert_string_equal(mf->targets[1], "sm_90");
  assert_int_equal(mf->n_partitions, 2);
  assert_string_equal(mf->partitions[0].name, "vision");
  assert_int_equal(mf->partitions[0].sm_budget, 66);
  assert_string_equal(mf->partitions[1].name, "nlp");
  assert_int_equal(mf->partitions[1].sm_budget, 0);
  assert_int_equal(mf->n_tenants, 2);
  const mt_tenant_spec *r = &mf->tenants[0], *bt = &mf->tenants[1];
  assert_string_equal(r->name, "resnet");
  char *expect = tu_join(dir, "models/a.onnx");
  assert_string_equal(r->model_path, expect);
  free(expect);
  assert_string_equal(r->partition, "vision");
  assert_int_equal(r->priority, 2);
  assert_int_equal(r->n_dims, 1);
  assert_string_equal(r->dims[0].name, "batch");
  assert_int_equal(r->dims[0].value, 8);
  assert_int_equal(r->n_shapes, 1);
  assert_string_equal(r->shapes[0].input, "x");
  assert_int_equal(r->shapes[0].rank, 2);
  assert_int_equal(r->shapes[0].dims[0], 8);
  assert_int_equal(r->shapes[0].dims[1], 3);
  assert_string_equal(bt->partition, "nlp");
  assert_int_equal(bt->priority, 0);
  assert_int_equal(bt->n_shapes, 0);

  /* the workload carries all of it into the module */
  mt_module *m = NULL;
  assert_ok(mt_workload_import(mf, NULL, 0, &m));
  assert_int_equal(mt_module_tenant_count(m), 2);
  int32_t ri = mt_module_find_tenant(m, "resnet"), bi = mt_module_find_tenant(m, "bert");
  assert_true(ri >= 0 && bi >= 0);
  const mt_tenant *rt = mt_module_tenant_c(m, ri), *btt = mt_module_tenant_c(m, bi);
  assert_string_equal(rt->partition, "vision");
  assert_int_equal(rt->priority, 2);
  assert_int_equal(rt->n_dim_bindings, 1);
  assert_int_equal(rt->n_shape_overrides, 1);
  assert_string_equal(btt->partition, "nlp");
  assert_ok(mt_infer_shapes(m));
  const mt_value *ry = mt_module_value_c(m, rt->graph->outputs[0]);
  const mt_value *by = mt_module_value_c(m, btt->graph->outputs[0]);
  assert_int_equal(ry->dims[0], 8);
  assert_int_equal(by->dims[0], 2);
  mt_module_destroy(m);
  mt_manifest_free(mf);
  free(path);
}

/* Defaults: no targets -> sm_80 + sm_90; no partitions -> "default"; no partition -> "default". */
static void test_minimal_manifest(void **state) {
  char *path = write_manifest(*state, "min.json",
                              "{\"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\"}]}");
  mt_manifest *mf = NULL;
  assert_ok(mt_manifest_load(path, &mf));
  assert_int_equal(mf->n_targets, 2);
  assert_int_equal(mf->n_partitions, 1);
  assert_string_equal(mf->partitions[0].name, "default");
  assert_string_equal(mf->tenants[0].partition, "default");
  mt_manifest_free(mf);
  free(path);
}

/* Loads text as a manifest and expects an error of code containing the needles (and the path). */
static void expect_rejected(const char *dir, const char *text, mt_status_code code, const char *n1,
                            const char *n2) {
  char *path = write_manifest(dir, "bad.json", text);
  mt_manifest *mf = NULL;
  mt_status *st = mt_manifest_load(path, &mf);
  if (!st) {
    print_error("accepted: %s\n", text);
    mt_manifest_free(mf);
  }
  assert_status(st, code, path, n1, n2);
  free(path);
}

static void test_unknown_keys(void **state) {
  const char *dir = *state;
  expect_rejected(dir, "{\"tenant\": [{\"name\": \"t\", \"model\": \"b.onnx\"}]}",
                  MT_INVALID_ARGUMENT, "unknown key", "'tenant'");
  expect_rejected(dir, "{\"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\", \"prority\": 1}]}",
                  MT_INVALID_ARGUMENT, "tenant 't'", "'prority'");
  expect_rejected(dir,
                  "{\"partitions\": [{\"name\": \"p\", \"sms\": 3}],"
                  " \"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\", \"partition\": \"p\"}]}",
                  MT_INVALID_ARGUMENT, "partition 'p'", "'sms'");
}

static void test_unknown_partition(void **state) {
  expect_rejected(
      *state,
      "{\"partitions\": [{\"name\": \"vision\"}],"
      " \"tenants\": [{\"name\": \"bert\", \"model\": \"b.onnx\", \"partition\": \"nlp\"}]}",
      MT_NOT_FOUND, "tenant 'bert'", "'nlp'");
  /* without a partitions list only "default" exists */
  expect_rejected(
      *state, "{\"tenants\": [{\"name\": \"bert\", \"model\": \"b.onnx\", \"partition\": \"x\"}]}",
      MT_NOT_FOUND, "tenant 'bert'", "'x'");
}

static void test_duplicates(void **state) {
  const char *dir = *state;
  expect_rejected(dir,
                  "{\"tenants\": [{\"name\": \"twin\", \"model\": \"b.onnx\"},"
                  " {\"name\": \"twin\", \"model\": \"models/a.onnx\"}]}",
                  MT_INVALID_ARGUMENT, "tenant 'twin'", "twice");
  expect_rejected(dir,
                  "{\"partitions\": [{\"name\": \"p\"}, {\"name\": \"p\"}],"
                  " \"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\", \"partition\": \"p\"}]}",
                  MT_INVALID_ARGUMENT, "partition 'p'", "twice");
  /* a key given twice in one object is malformed JSON */
  expect_rejected(dir, "{\"tenants\": [{\"name\": \"t\", \"name\": \"u\", \"model\": \"b.onnx\"}]}",
                  MT_INVALID_ARGUMENT, "malformed JSON", "name");
}

static void test_malformed_json(void **state) {
  const char *dir = *state;
  char *path =
      write_manifest(dir, "broken.json",
                     "{\n"
                     "  \"tenants\": [\n"
                     "    {\"name\": \"t\" \"model\": \"b.onnx\"}\n" /* missing comma, line 3 */
                     "  ]\n"
                     "}\n");
  mt_manifest *mf = NULL;
  char where[4200];
  snprintf(where, sizeof where, "%s:3:", path);
  assert_status(mt_manifest_load(path, &mf), MT_INVALID_ARGUMENT, where, "malformed JSON");
  free(path);
  path = write_manifest(dir, "empty.json", "");
  assert_status(mt_manifest_load(path, &mf), MT_INVALID_ARGUMENT, path);
  free(path);
  path = write_manifest(dir, "array.json", "[1, 2]\n");
  assert_status(mt_manifest_load(path, &mf), MT_INVALID_ARGUMENT, path, "object");
  free(path);
  char *missing = tu_join(dir, "missing.json");
  assert_status(mt_manifest_load(missing, &mf), MT_NOT_FOUND, missing);
  free(missing);
}

static void test_bad_values(void **state) {
  const char *dir = *state;
  expect_rejected(dir, "{\"tenants\": []}", MT_INVALID_ARGUMENT, "tenants", "non-empty");
  expect_rejected(
      dir, "{\"targets\": [\"sm_70\"], \"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\"}]}",
      MT_INVALID_ARGUMENT, "'sm_70'", "targets");
  expect_rejected(
      dir, "{\"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\", \"priority\": \"high\"}]}",
      MT_INVALID_ARGUMENT, "tenant 't'", "priority");
  /* an integer that does not fit the field must not wrap around silently */
  expect_rejected(
      dir, "{\"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\", \"priority\": 4294967297}]}",
      MT_INVALID_ARGUMENT, "tenant 't'", "priority");
  expect_rejected(
      dir, "{\"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\", \"dims\": {\"batch\": 0}}]}",
      MT_INVALID_ARGUMENT, "tenant 't'", "'batch'");
  expect_rejected(
      dir,
      "{\"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\", \"shapes\": {\"x\": [1, -2]}}]}",
      MT_INVALID_ARGUMENT, "tenant 't'", "'x'");
  expect_rejected(dir,
                  "{\"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\", \"shapes\": {\"x\": "
                  "[1,1,1,1,1,1,1,1,1]}}]}",
                  MT_INVALID_ARGUMENT, "tenant 't'", "'x'");
  expect_rejected(dir,
                  "{\"partitions\": [{\"name\": \"p\", \"sm_budget\": 0}],"
                  " \"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\", \"partition\": \"p\"}]}",
                  MT_INVALID_ARGUMENT, "partition 'p'", "sm_budget");
  expect_rejected(dir, "{\"tenants\": [{\"name\": \"\", \"model\": \"b.onnx\"}]}",
                  MT_INVALID_ARGUMENT, "tenants[0]", "name");
  expect_rejected(dir, "{\"tenants\": [{\"name\": \"t\", \"model\": 3}]}", MT_INVALID_ARGUMENT,
                  "tenant 't'", "model");
}

/* Workload import: errors name the manifest and the model file or input at fault. */
static void test_workload_errors(void **state) {
  const char *dir = *state;
  char *path =
      write_manifest(dir, "missing_model.json",
                     "{\"tenants\": [{\"name\": \"t\", \"model\": \"models/nope.onnx\"}]}");
  mt_manifest *mf = NULL;
  mt_module *m = NULL;
  assert_ok(mt_manifest_load(path, &mf));
  assert_status(mt_workload_import(mf, NULL, 0, &m), MT_NOT_FOUND, path, "models/nope.onnx");
  mt_manifest_free(mf);
  /* the same through mt_workload_load */
  mf = NULL;
  assert_status(mt_workload_load(NULL, 0, 1, &path, &mf, &m), MT_NOT_FOUND, path,
                "models/nope.onnx");
  assert_null(mf);
  free(path);

  path = write_manifest(
      dir, "bad_shape.json",
      "{\"tenants\": [{\"name\": \"t\", \"model\": \"b.onnx\", \"shapes\": {\"q\": [1, 3]}}]}");
  assert_ok(mt_manifest_load(path, &mf));
  assert_status(mt_workload_import(mf, NULL, 0, &m), MT_NOT_FOUND, path, "tenant 't'", "'q'");
  mt_manifest_free(mf);
  free(path);

  /* a manifest plus model paths is ambiguous */
  char *args[2] = {tu_join(dir, "x.json"), tu_join(dir, "b.onnx")};
  assert_error(mt_workload_load(NULL, 0, 2, args, &mf, &m), MT_INVALID_ARGUMENT);
  assert_error(mt_workload_load(NULL, 0, 0, args, &mf, &m), MT_INVALID_ARGUMENT);
  free(args[0]);
  free(args[1]);
}

/* Bare model paths: tenants named after the files, clashes suffixed, one "default" partition. */
static void test_from_models(void **state) {
  const char *dir = *state;
  char *paths[3] = {tu_join(dir, "b.onnx"), tu_join(dir, "models/a.onnx"), tu_join(dir, "b.onnx")};
  mt_manifest *mf = NULL;
  mt_module *m = NULL;
  assert_ok(mt_workload_load(NULL, 0, 3, paths, &mf, &m));
  assert_null(mf->path);
  assert_int_equal(mf->n_tenants, 3);
  assert_string_equal(mf->tenants[0].name, "b");
  assert_string_equal(mf->tenants[1].name, "a");
  assert_string_equal(mf->tenants[2].name, "b_2");
  assert_int_equal(mf->n_partitions, 1);
  assert_string_equal(mf->partitions[0].name, "default");
  assert_int_equal(mt_module_tenant_count(m), 3);
  assert_string_equal(mt_module_tenant_c(m, 2)->partition, "default");
  /* the three tenants import the same weights-free model: the verifier passed */
  mt_module_destroy(m);
  mt_manifest_free(mf);
  for (int i = 0; i < 3; i++) free(paths[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_manifest), cmocka_unit_test(test_minimal_manifest),
      cmocka_unit_test(test_unknown_keys),   cmocka_unit_test(test_unknown_partition),
      cmocka_unit_test(test_duplicates),     cmocka_unit_test(test_malformed_json),
      cmocka_unit_test(test_bad_values),     cmocka_unit_test(test_workload_errors),
      cmocka_unit_test(test_from_models),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}
