/* Operator versions: which schema version of an ONNX op a model's opset selects (from the onnx
 * wheel's schemas, ir/onnx_schema_table.c, generated), and which versions mtcc's registry
 * implements (ir/op_versions.c, reviewed by hand). A node whose selected version the registry
 * does not implement, or a model importing an opset newer than the table knows, is refused with
 * a message naming the op and the versions, never run under another version's semantics. */
#ifndef MT_IR_OP_VERSIONS_H
#define MT_IR_OP_VERSIONS_H

#include <stddef.h>

#include "runtime/base/status.h"

#define MT_ONNX_MAX_VERSIONS 24

typedef struct mt_onnx_schema_versions {
  const char *op_type;
  int since[MT_ONNX_MAX_VERSIONS]; /* ascending, 0-terminated */
  int deprecated;                  /* the version that removes the op (its newest schema is a
                                    * deprecation); 0: none */
} mt_onnx_schema_versions;

extern const char mt_onnx_schema_source[]; /* "onnx 1.23.2": the wheel the table came from */
extern const int mt_onnx_opset_newest;     /* the newest default-domain opset it defines */
extern const mt_onnx_schema_versions mt_onnx_schemas[];
extern const int mt_onnx_schema_count;

/* The wheel's schema versions of op_type (NULL when the default domain has no such op). */
const mt_onnx_schema_versions *mt_onnx_schema_find(const char *op_type);
/* The versions the registry implements for op_type (NULL for an op it does not register). */
const mt_onnx_schema_versions *mt_op_versions_find(const char *op_type);
/* Every entry of the implemented table, for listings and tests. */
int mt_op_versions_count(void);
const mt_onnx_schema_versions *mt_op_versions_at(int i);

/* The schema version opset `opset` of the default domain selects for op_type, checked against
 * what the registry implements: *out_version is that since_version. Errors (UNIMPLEMENTED) name
 * the op, the opset and the versions mtcc implements. */
MT_MUST_USE mt_status *mt_op_version_check(const char *op_type, int opset, int *out_version);
/* Writes "1, 6, 13" (the versions in v) into out. */
void mt_op_versions_format(const mt_onnx_schema_versions *v, char *out, size_t cap);

#endif
