/* Wire-level checks on serialized ONNX models (see onnx_validate.h) and the attribute-type table
 * lookups (onnx_attr_types.h). */
#include "frontend/onnx_validate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx_attr_types.h"
#include "onnx/onnx.pb-c.h"

/* Reads a base-128 varint; false when it runs past end or over 10 bytes. */
static bool read_varint(const uint8_t *p, size_t end, size_t *pos, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70 && *pos < end; shift += 7) {
    uint8_t b = p[(*pos)++];
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

typedef struct open_message {
  const ProtobufCMessageDescriptor *desc;
  size_t end;
} open_message;

mt_status *mt_onnx_check_strings(const void *bytes, size_t len) {
  const uint8_t *p = bytes;
  size_t cap = 64, depth = 1, pos = 0;
  open_message *stack = malloc(cap * sizeof *stack);
  if (!stack) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  stack[0] = (open_message){&onnx__model_proto__descriptor, len};
  mt_status *st = NULL;
  while (depth && !st) {
    open_message *top = &stack[depth - 1];
    if (pos >= top->end) {
      depth--;
      continue;
    }
    uint64_t tag, n;
    if (!read_varint(p, top->end, &pos, &tag)) break; /* malformed: the unpacker says so */
    const ProtobufCFieldDescriptor *f =
        tag >> 3 <= UINT32_MAX
            ? protobuf_c_message_descriptor_get_field(top->desc, (unsigned)(tag >> 3))
            : NULL;
    switch (tag & 7) {
    case 0:
      if (!read_varint(p, top->end, &pos, &n)) goto done;
      continue;
    case 1: n = 8; break;
    case 5: n = 4; break;
    case 2:
      if (!read_varint(p, top->end, &pos, &n)) goto done;
      break;
    default: goto done; /* groups and unknown wire types: protobuf-c refuses them */
    }
    if (n > top->end - pos) break;
    if ((tag & 7) == 2 && f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
      if (depth == cap) {
        open_message *grown = realloc(stack, 2 * cap * sizeof *stack);
        if (!grown) {
          st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
          break;
        }
        stack = grown;
        cap *= 2;
      }
      stack[depth++] = (open_message){f->descriptor, pos + (size_t)n};
      continue; /* the submessage's fields come next */
    }
    if ((tag & 7) == 2 && f && f->type == PROTOBUF_C_TYPE_STRING) {
      const uint8_t *nul = memchr(p + pos, 0, (size_t)n);
      if (nul)
        st = MT_ERR(INVALID_ARGUMENT,
                    "a NUL byte inside %s.%s (byte %zu of the file, %zu into the string): names "
                    "and other strings must not contain NUL",
                    top->desc->short_name, f->name, (size_t)(nul - p), (size_t)(nul - (p + pos)));
    }
    pos += (size_t)n;
  }
done:
  free(stack);
  return st;
}

uint32_t mt_onnx_attr_allowed_types(const char *op_type, const char *name) {
  int lo = 0, hi = mt_onnx_attr_type_count - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    const mt_onnx_attr_type_entry *e = &mt_onnx_attr_types[mid];
    int c = strcmp(op_type, e->op_type);
    if (!c) c = strcmp(name, e->name);
    if (!c) return e->allowed;
    if (c < 0)
      hi = mid - 1;
    else
      lo = mid + 1;
  }
  return 0;
}

const char *mt_attr_type_name(mt_attr_type type) {
  static const char *const names[] = {"UNDEFINED",      "FLOAT",      "INT",        "STRING",
                                      "TENSOR",         "GRAPH",      "FLOATS",     "INTS",
                                      "STRINGS",        "TENSORS",    "GRAPHS",     "SPARSE_TENSOR",
                                      "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
  return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}
