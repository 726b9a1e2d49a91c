/* The attribute types the ONNX schemas declare for the ops of the default domain (generated table,
 * onnx_attr_types.c), for the importer's check that every attribute has its op's declared type. */
#ifndef MT_FRONTEND_ONNX_ATTR_TYPES_H
#define MT_FRONTEND_ONNX_ATTR_TYPES_H

#include <stdint.h>

#include "ir/module.h"

#define MT_ATTR_BIT(type) (1u << (unsigned)(type))

typedef struct mt_onnx_attr_type_entry {
  const char *op_type;
  const char *name;
  uint32_t allowed; /* MT_ATTR_BIT of each type some version of the op declares */
} mt_onnx_attr_type_entry;

extern const mt_onnx_attr_type_entry mt_onnx_attr_types[];
extern const int mt_onnx_attr_type_count;

/* The allowed types of attribute `name` of default-domain op `op_type`, or 0 when the schemas do
 * not declare it (an op or attribute ONNX does not know: not checked here). */
uint32_t mt_onnx_attr_allowed_types(const char *op_type, const char *name);

/* "INTS", "FLOAT", ... for messages. */
const char *mt_attr_type_name(mt_attr_type type);

#endif
