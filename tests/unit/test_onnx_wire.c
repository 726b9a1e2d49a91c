/* The wire-format pre-check (frontend/onnx_wire.h): nesting limits on graphs and types, framing
 * errors, and that only the schema's nesting fields are entered. Byte strings are written here
 * field by field; the nested Ifs at the limit also go through protobuf-c and the importer. */
#include "test_util.h"

#include "frontend/frontend.h"
#include "frontend/onnx_wire.h"
#include "ir/ir.h"
#include "onnx_builder.h"

#define PATH "/models/deep.onnx"

/* A growing byte string. */
typedef struct bytes_buf {
  uint8_t *data;
  size_t len;
} bytes_buf;

static void put_varint(uint8_t *out, size_t *n, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out[(*n)++] = (uint8_t)(b | (v ? 0x80 : 0));
  } while (v);
}

/* buf = key(field, length-delimited) + varint(len) + buf: wraps buf as a message field. */
static void wrap(bytes_buf *buf, uint32_t field) {
  uint8_t head[20];
  size_t n = 0;
  put_varint(head, &n, (uint64_t)field << 3 | 2);
  put_varint(head, &n, buf->len);
  uint8_t *grown = malloc(buf->len + n);
  assert_non_null(grown);
  memcpy(grown, head, n);
  if (buf->len) memcpy(grown + n, buf->data, buf->len);
  free(buf->data);
  buf->data = grown;
  buf->len += n;
}

static void append(bytes_buf *buf, const void *bytes, size_t n) {
  buf->data = realloc(buf->data, buf->len + n);
  assert_non_null(buf->data);
  memcpy(buf->data + buf->len, bytes, n);
  buf->len += n;
}

/* Model{graph{node{attribute{g{node{attribute{g ... }}}}}}}: `levels` subgraphs below the main
 * graph, the shape (not the content) of an If nested that deep. */
static bytes_buf nested_graphs(int levels) {
  bytes_buf b = {0};
  for (int i = 0; i < levels; i++) {
    wrap(&b, 6); /* AttributeProto.g */
    wrap(&b, 5); /* NodeProto.attribute */
    wrap(&b, 1); /* GraphProto.node */
  }
  wrap(&b, 7); /* ModelProto.graph */
  return b;
}

static void test_graph_depth_limit(void **state) {
  (void)state;
  bytes_buf ok = nested_graphs(MT_ONNX_MAX_SUBGRAPH_DEPTH);
  assert_ok(mt_onnx_wire_check(ok.data, ok.len, PATH));
  bytes_buf over = nested_graphs(MT_ONNX_MAX_SUBGRAPH_DEPTH + 1);
  assert_status(mt_onnx_wire_check(over.data, over.len, PATH), MT_INVALID_ARGUMENT, PATH,
                "more than 64 levels");
  /* thousands deep: refused by the check, well before protobuf-c would recurse */
  bytes_buf deep = nested_graphs(4000);
  mt_module *m = NULL;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  assert_status(mt_onnx_import_bytes(m, deep.data, deep.len, PATH, "deep", &tid),
                MT_INVALID_ARGUMENT, PATH, "more than 64 levels");
  mt_module_destroy(m);
  free(ok.data);
  free(over.data);
  free(deep.data);
}

/* The other ways a graph nests: AttributeProto.graphs (11), and graphs in training_info (20) and
 * in functions (25, through FunctionProto.node 7). */
static void test_graph_depth_other_paths(void **state) {
  (void)state;
  bytes_buf b = {0};
  for (int i = 0; i <= MT_ONNX_MAX_SUBGRAPH_DEPTH; i++) {
    wrap(&b, 11); /* AttributeProto.graphs */
    wrap(&b, 5);
    wrap(&b, 1);
  }
  bytes_buf training = {0}, function = {0};
  append(&training, b.data, b.len);
  append(&function, b.data, b.len);
  wrap(&b, 7);
  assert_status(mt_onnx_wire_check(b.data, b.len, PATH), MT_INVALID_ARGUMENT, "more than 64");
  wrap(&training, 2);  /* TrainingInfoProto.algorithm */
  wrap(&training, 20); /* ModelProto.training_info */
  assert_status(mt_onnx_wire_check(training.data, training.len, PATH), MT_INVALID_ARGUMENT,
                "more than 64");
  /* a function's nodes are at the level of a main graph's */
  wrap(&function, 6);
  wrap(&function, 5);
  wrap(&function, 7);  /* FunctionProto.node */
  wrap(&function, 25); /* ModelProto.functions */
  assert_status(mt_onnx_wire_check(function.data, function.len, PATH), MT_INVALID_ARGUMENT,
                "more than 64");
  free(b.data);
  free(training.data);
  free(function.data);
}

/* ValueInfoProto{type{sequence_type{elem_type{sequence_type{...}}}}} as a graph input. */
static bytes_buf nested_types(int levels) {
  bytes_buf b = {0};
  for (int i = 0; i < levels - 1; i++) {
    wrap(&b, 1);                  /* Sequence.elem_type */
    wrap(&b, i % 3 == 0 ? 4 : 9); /* TypeProto.sequence_type, .optional_type */
  }
  wrap(&b, 2);  /* ValueInfoProto.type */
  wrap(&b, 11); /* GraphProto.input */
  wrap(&b, 7);
  return b;
}

static void test_type_depth_limit(void **state) {
  (void)state;
  bytes_buf ok = nested_types(MT_ONNX_MAX_TYPE_DEPTH);
  assert_ok(mt_onnx_wire_check(ok.data, ok.len, PATH));
  bytes_buf over = nested_types(MT_ONNX_MAX_TYPE_DEPTH + 1);
  assert_status(mt_onnx_wire_check(over.data, over.len, PATH), MT_INVALID_ARGUMENT,
                "value type nests more than 32");
  bytes_buf deep = nested_types(5000);
  assert_status(mt_onnx_wire_check(deep.data, deep.len, PATH), MT_INVALID_ARGUMENT, "more than 32");
  free(ok.data);
  free(over.data);
  free(deep.data);
}

/* Bytes that would nest deeply if read as messages, in fields that are strings or tensors: not
 * entered, so not refused (protobuf-c does not recurse into them either). */
static void test_only_schema_fields_entered(void **state) {
  (void)state;
  bytes_buf doc = nested_graphs(200);
  wrap(&doc, 10); /* GraphProto.doc_string */
  wrap(&doc, 7);
  assert_ok(mt_onnx_wire_check(doc.data, doc.len, PATH));
  bytes_buf raw = nested_graphs(200);
  wrap(&raw, 9); /* TensorProto.raw_data */
  wrap(&raw, 5); /* GraphProto.initializer */
  wrap(&raw, 7);
  assert_ok(mt_onnx_wire_check(raw.data, raw.len, PATH));
  free(doc.data);
  free(raw.data);
}

static void test_framing_errors(void **state) {
  (void)state;
  static const struct {
    const char *label;
    uint8_t bytes[16];
    size_t len;
    mt_status_code code;
    const char *words;
  } cases[] = {
      {"key cut off", {0x80}, 1, MT_DATA_LOSS, "truncated field key at byte 0"},
      {"varint value cut off", {0x08, 0xff}, 2, MT_DATA_LOSS, "over-long varint at byte 0"},
      {"varint over 10 bytes",
       {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
       12,
       MT_DATA_LOSS,
       "truncated or over-long varint at byte 0"},
      {"length past the end",
       {0x08, 0x01, 0x3a, 0x05, 0x00},
       5,
       MT_DATA_LOSS,
       "field 7 at byte 2 declares 5 bytes, past the end"},
      {"length cut off", {0x3a}, 1, MT_DATA_LOSS, "truncated length at byte 0"},
      {"nested length past its parent",
       {0x3a, 0x02, 0x0a, 0x05, 0x00, 0x00, 0x00},
       7,
       MT_DATA_LOSS,
       "at byte 2 declares 5 bytes"},
      {"fixed32 cut off", {0x15, 0x00, 0x00}, 3, MT_DATA_LOSS, "4-byte field at byte 0"},
      {"fixed64 cut off", {0x11, 0x00}, 2, MT_DATA_LOSS, "8-byte field at byte 0"},
      {"group wire type", {0x0b, 0x0c}, 2, MT_DATA_LOSS, "invalid wire type 3 at byte 0"},
      {"wire type 7", {0x0f}, 1, MT_DATA_LOSS, "invalid wire type 7"},
      {"field number 0", {0x00, 0x00}, 2, MT_DATA_LOSS, "field number 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    mt_status *st = mt_onnx_wire_check(cases[i].bytes, cases[i].len, PATH);
    if (!tu_status_matches(st, cases[i].code, (const char *[]){PATH, cases[i].words, NULL}))
      fail_msg("case '%s' (printed above)", cases[i].label); /* st freed by the match */
  }
  /* well-framed scalars of every wire type, and the empty file, pass */
  static const uint8_t fine[] = {0x08, 0x96, 0x01, 0x15, 1, 2, 3, 4, 0x11, 1, 2, 3, 4, 5, 6, 7, 8};
  assert_ok(mt_onnx_wire_check(fine, sizeof fine, PATH));
  assert_ok(mt_onnx_wire_check(fine, 0, PATH));
}

/* An If nested exactly to the limit imports through protobuf-c; one level more is refused with
 * the file named. */
static void import_nested_if(int levels, bool expect_ok) {
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "cond", MT_DTYPE_BOOL, 0, NULL, NULL);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 1, OB_DIMS(4), NULL);
  Onnx__GraphProto *g = b.graph;
  for (int i = 0; i < levels; i++) {
    char out[32], name[32];
    snprintf(out, sizeof out, "r%d", i);
    snprintf(name, sizeof name, "if%d", i);
    Onnx__NodeProto *n = ob_node(&b, g, "If", name, OB_NAMES("cond"), OB_NAMES(out));
    ob_output(&b, g, out, MT_DTYPE_FLOAT32);
    Onnx__GraphProto *then_g = ob_graph(&b, "then"), *else_g = ob_graph(&b, "else");
    char e[32];
    snprintf(e, sizeof e, "e%d", i);
    ob_node(&b, else_g, "Neg", "neg", OB_NAMES("x"), OB_NAMES(e));
    ob_output(&b, else_g, e, MT_DTYPE_FLOAT32);
    ob_attr_graph(&b, n, "then_branch", then_g);
    ob_attr_graph(&b, n, "else_branch", else_g);
    g = then_g;
  }
  char leaf[32];
  snprintf(leaf, sizeof leaf, "r%d", levels);
  ob_node(&b, g, "Relu", "leaf", OB_NAMES("x"), OB_NAMES(leaf));
  ob_output(&b, g, leaf, MT_DTYPE_FLOAT32);
  mt_module *m = NULL;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  if (expect_ok)
    assert_ok(ob_import(&b, m, PATH, "deep", &tid));
  else
    assert_status(ob_import(&b, m, PATH, "deep", &tid), MT_INVALID_ARGUMENT, PATH,
                  "more than 64 levels");
  mt_module_destroy(m);
  ob_free(&b);
}

static void test_nested_if_import(void **state) {
  (void)state;
  import_nested_if(MT_ONNX_MAX_SUBGRAPH_DEPTH, true);
  import_nested_if(MT_ONNX_MAX_SUBGRAPH_DEPTH + 1, false);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_graph_depth_limit), cmocka_unit_test(test_graph_depth_other_paths),
      cmocka_unit_test(test_type_depth_limit),  cmocka_unit_test(test_only_schema_fields_entered),
      cmocka_unit_test(test_framing_errors),    cmocka_unit_test(test_nested_if_import),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
