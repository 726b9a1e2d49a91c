/* Wire-format pre-check of ONNX files (see onnx_wire.h).
 *
 * Each message is a sequence of (key varint, payload) fields; the key's low three bits give the
 * payload's framing. Only length-delimited fields that onnx.proto declares as messages able to
 * nest are entered; every other field is skipped by its framing, so each byte is read once and
 * the walk is linear in the file size. The recursion is bounded by the limits it enforces. */
#include "frontend/onnx_wire.h"

#include <stdbool.h>
#include <stdint.h>

/* The messages on a path from ModelProto to a nested graph or type; SKIP: not entered. */
typedef enum wire_kind {
  WIRE_SKIP,
  WIRE_MODEL,
  WIRE_TRAINING_INFO,
  WIRE_FUNCTION,
  WIRE_GRAPH,
  WIRE_NODE,
  WIRE_ATTRIBUTE,
  WIRE_VALUE_INFO,
  WIRE_TYPE,
  WIRE_TYPE_ELEM, /* TypeProto.Sequence and TypeProto.Optional: elem_type = 1 */
  WIRE_TYPE_MAP,  /* TypeProto.Map: value_type = 2 */
} wire_kind;

/* Field numbers from onnx.proto (the system's copy that protobuf-c is generated from). */
static wire_kind child_kind(wire_kind parent, uint64_t field) {
  switch (parent) {
  case WIRE_MODEL:
    if (field == 7) return WIRE_GRAPH;          /* graph */
    if (field == 20) return WIRE_TRAINING_INFO; /* training_info */
    if (field == 25) return WIRE_FUNCTION;      /* functions */
    return WIRE_SKIP;
  case WIRE_TRAINING_INFO: return field == 1 || field == 2 ? WIRE_GRAPH : WIRE_SKIP;
  case WIRE_FUNCTION: return field == 7 ? WIRE_NODE : WIRE_SKIP; /* node */
  case WIRE_GRAPH:
    if (field == 1) return WIRE_NODE;                       /* node */
    if (field >= 11 && field <= 13) return WIRE_VALUE_INFO; /* input, output, value_info */
    return WIRE_SKIP;
  case WIRE_NODE: return field == 5 ? WIRE_ATTRIBUTE : WIRE_SKIP; /* attribute */
  case WIRE_ATTRIBUTE:
    if (field == 6 || field == 11) return WIRE_GRAPH; /* g, graphs */
    if (field == 14 || field == 15) return WIRE_TYPE; /* tp, type_protos */
    return WIRE_SKIP;
  case WIRE_VALUE_INFO: return field == 2 ? WIRE_TYPE : WIRE_SKIP; /* type */
  case WIRE_TYPE:
    if (field == 4 || field == 9) return WIRE_TYPE_ELEM; /* sequence_type, optional_type */
    if (field == 5) return WIRE_TYPE_MAP;                /* map_type */
    return WIRE_SKIP;
  case WIRE_TYPE_ELEM: return field == 1 ? WIRE_TYPE : WIRE_SKIP;
  case WIRE_TYPE_MAP: return field == 2 ? WIRE_TYPE : WIRE_SKIP;
  case WIRE_SKIP: break;
  }
  return WIRE_SKIP;
}

typedef struct wire_reader {
  const uint8_t *base; /* start of the file, for offsets in messages */
  const char *path;
} wire_reader;

/* Reads a varint at *p (< end); false when it runs past end or over 10 bytes. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 63);
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

/* graph_depth counts GraphProtos on the path (the main graph is 1); type_depth TypeProtos. */
MT_MUST_USE static mt_status *walk(const wire_reader *r, const uint8_t *p, const uint8_t *end,
                                   wire_kind kind, int graph_depth, int type_depth) {
  while (p < end) {
    size_t at = (size_t)(p - r->base);
    uint64_t key, len;
    if (!read_varint(&p, end, &key))
      return MT_ERR(DATA_LOSS, "%s: not a valid ONNX model: truncated field key at byte %zu",
                    r->path, at);
    uint64_t field = key >> 3;
    unsigned wire_type = (unsigned)(key & 7);
    if (field == 0)
      return MT_ERR(DATA_LOSS, "%s: not a valid ONNX model: field number 0 at byte %zu", r->path,
                    at);
    switch (wire_type) {
    case 0: /* varint */
      if (!read_varint(&p, end, &len))
        return MT_ERR(DATA_LOSS,
                      "%s: not a valid ONNX model: truncated or over-long varint at byte %zu",
                      r->path, at);
      break;
    case 1: /* fixed64 */
    case 5: /* fixed32 */ {
      size_t n = wire_type == 1 ? 8 : 4;
      if ((size_t)(end - p) < n)
        return MT_ERR(DATA_LOSS,
                      "%s: not a valid ONNX model: %zu-byte field at byte %zu runs past the end "
                      "of its message",
                      r->path, n, at);
      p += n;
      break;
    }
    case 2: { /* length-delimited: bytes, string, packed array or message */
      if (!read_varint(&p, end, &len))
        return MT_ERR(DATA_LOSS, "%s: not a valid ONNX model: truncated length at byte %zu",
                      r->path, at);
      if (len > (uint64_t)(end - p))
        return MT_ERR(DATA_LOSS,
                      "%s: not a valid ONNX model: field %llu at byte %zu declares %llu bytes, "
                      "past the end of its message (%zu bytes left)",
                      r->path, (unsigned long long)field, at, (unsigned long long)len,
                      (size_t)(end - p));
      wire_kind child = child_kind(kind, field);
      int gd = graph_depth + (child == WIRE_GRAPH), td = type_depth + (child == WIRE_TYPE);
      if (gd - 1 > MT_ONNX_MAX_SUBGRAPH_DEPTH)
        return MT_ERR(INVALID_ARGUMENT,
                      "%s: subgraphs (If/Loop/Scan branches) nest more than %d levels deep (at "
                      "byte %zu); mtcc refuses deeper nesting",
                      r->path, MT_ONNX_MAX_SUBGRAPH_DEPTH, at);
      if (td > MT_ONNX_MAX_TYPE_DEPTH)
        return MT_ERR(INVALID_ARGUMENT,
                      "%s: a value type nests more than %d levels deep (sequence/map/optional, at "
                      "byte %zu); mtcc refuses deeper nesting",
                      r->path, MT_ONNX_MAX_TYPE_DEPTH, at);
      if (child != WIRE_SKIP) MT_RETURN_IF_ERROR_PLAIN(walk(r, p, p + len, child, gd, td));
      p += len;
      break;
    }
    default: /* 3, 4: groups (onnx.proto has none); 6, 7: undefined */
      return MT_ERR(DATA_LOSS, "%s: not a valid ONNX model: invalid wire type %u at byte %zu",
                    r->path, wire_type, at);
    }
  }
  return NULL;
}

mt_status *mt_onnx_wire_check(const void *bytes, size_t len, const char *display_path) {
  wire_reader r = {.base = bytes, .path = display_path};
  return walk(&r, r.base, r.base + len, WIRE_MODEL, 0, 0);
}
