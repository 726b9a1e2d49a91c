/* Op versions: the registry's implemented versions against the onnx wheel's schema table, the
 * version a model's opset selects, and the refusals (an opset newer than the table, an op before
 * its first version, a removed op, a version the registry does not implement). */
#include "test_util.h"

#include <string.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "ir/op.h"
#include "ir/op_versions.h"
#include "onnx_builder.h"

#define MODEL_PATH "/nonexistent/m.onnx"

static bool has_version(const mt_onnx_schema_versions *v, int version) {
  for (int i = 0; i < MT_ONNX_MAX_VERSIONS && v->since[i]; i++)
    if (v->since[i] == version) return true;
  return false;
}

/* Every registered op has a version list; every listed version is one of the wheel's schemas;
 * every schema version of the op from its first implemented one on (short of a removal) is
 * listed, so a version a newer wheel adds fails here until someone reviews it. */
static void test_registry_covers_schemas(void **state) {
  (void)state;
  for (int i = 0; i < mt_op_count(); i++) {
    const char *op = mt_op_at(i)->op_type;
    const mt_onnx_schema_versions *impl = mt_op_versions_find(op);
    const mt_onnx_schema_versions *schema = mt_onnx_schema_find(op);
    if (!impl || !schema) fail_msg("op %s: no %s entry", op, !impl ? "implemented" : "schema");
    if (!impl->since[0]) fail_msg("op %s: implements no version", op);
    for (int k = 0; k < MT_ONNX_MAX_VERSIONS && impl->since[k]; k++)
      if (!has_version(schema, impl->since[k]))
        fail_msg("op %s: implements version %d, which %s does not define", op, impl->since[k],
                 mt_onnx_schema_source);
    for (int k = 0; k < MT_ONNX_MAX_VERSIONS && schema->since[k]; k++) {
      int v = schema->since[k];
      bool removed = schema->deprecated && v >= schema->deprecated;
      if (v > impl->since[0] && !removed && !has_version(impl, v))
        fail_msg("op %s: %s defines version %d, not reviewed in ir/op_versions.c", op,
                 mt_onnx_schema_source, v);
    }
  }
  /* the implemented table is sorted for bsearch and holds only registered ops */
  for (int i = 0; i < mt_op_versions_count(); i++) {
    const mt_onnx_schema_versions *v = mt_op_versions_at(i);
    if (!mt_op_lookup("", v->op_type)) fail_msg("op %s: listed but not registered", v->op_type);
    if (i && strcmp(mt_op_versions_at(i - 1)->op_type, v->op_type) >= 0)
      fail_msg("ir/op_versions.c: %s out of order", v->op_type);
  }
}

static void test_selection(void **state) {
  (void)state;
  int v;
  assert_ok(mt_op_version_check("Relu", 13, &v));
  assert_int_equal(v, 13);
  assert_ok(mt_op_version_check("Relu", 12, &v));
  assert_int_equal(v, 6);
  assert_ok(mt_op_version_check("Upsample", 9, &v));
  assert_int_equal(v, 9);
  assert_ok(mt_op_version_check("Relu", mt_onnx_opset_newest, &v));
  assert_status(mt_op_version_check("Relu", mt_onnx_opset_newest + 1, &v), MT_UNIMPLEMENTED, "Relu",
                "newer than the newest");
  assert_status(mt_op_version_check("Gelu", 13, &v), MT_INVALID_ARGUMENT, "Gelu",
                "does not exist at opset 13", "first appears in opset 20");
  assert_status(mt_op_version_check("Upsample", 10, &v), MT_INVALID_ARGUMENT, "Upsample",
                "deprecated from opset 10");
  assert_status(mt_op_version_check("StringSplit", 22, &v), MT_UNIMPLEMENTED, "StringSplit",
                "no version table");
}

/* A model importing an opset past the table is refused at import (the frontend's range is the
 * table's); a node whose selected version is removed is refused by check_supported, by name. */
static void test_model_opsets(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, mt_onnx_opset_newest + 1);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(2), NULL);
  ob_node(&b, b.graph, "Relu", "r", OB_NAMES("x"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  mt_module *m;
  int32_t tid;
  assert_ok(mt_module_create(NULL, &m));
  assert_status(ob_import(&b, m, MODEL_PATH, "future", &tid), MT_INVALID_ARGUMENT, "opset_import",
                "outside the");
  mt_module_destroy(m);
  ob_free(&b);

  ob_init(&b, 10);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 4, OB_DIMS(1, 1, 2, 2), NULL);
  ob_input(&b, b.graph, "s", MT_DTYPE_FLOAT32, 1, OB_DIMS(4), NULL);
  ob_node(&b, b.graph, "Upsample", "up", OB_NAMES("x", "s"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  assert_ok(mt_module_create(NULL, &m));
  assert_ok(ob_import(&b, m, MODEL_PATH, "old", &tid));
  assert_status(mt_check_supported(m), MT_UNIMPLEMENTED, "tenant 'old'", "'up'", "Upsample",
                "deprecated from opset 10");
  mt_module_destroy(m);
  ob_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registry_covers_schemas),
      cmocka_unit_test(test_selection),
      cmocka_unit_test(test_model_opsets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
