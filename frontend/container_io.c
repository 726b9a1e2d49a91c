/* Sequence and optional values from ONNX's SequenceProto / OptionalProto files (the backend
 * test data of sequence and optional models) into container values (runtime/cpu/container.h).
 *
 * Those two messages live in onnx-data.proto, which the system's ONNX package does not install
 * (only onnx.proto, from which protobuf-c generates the model reader), so this file walks their
 * few fields on the wire and hands each embedded TensorProto to the generated reader. Both
 * messages use: 1 name, 2 elem_type (0 undefined, 1 tensor, 2 sparse, 3 sequence, 4 map,
 * 5 optional), 3 tensor(s), 4 sparse tensor(s), 5 sequence(s), 6 map(s), 7 optional(s). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "frontend/container_io.h"
#include "frontend/onnx_tensor.h"
#include "runtime/base/file.h"
#include "runtime/cpu/container.h"

enum { MAX_DEPTH = 16 };

typedef struct reader {
  const unsigned char *p, *end;
} reader;

static bool read_varint(reader *r, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
    unsigned char b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

typedef struct elem_list {
  mt_tensor *items;
  int64_t n, cap;
} elem_list;

static bool list_push(elem_list *l, const mt_tensor *t) {
  if (l->n == l->cap) {
    int64_t cap = l->cap ? l->cap * 2 : 8;
    mt_tensor *grown = realloc(l->items, sizeof *grown * (size_t)cap);
    if (!grown) return false;
    l->items = grown;
    l->cap = cap;
  }
  l->items[l->n++] = *t;
  return true;
}

MT_MUST_USE static mt_status *decode(const char *path, const unsigned char *bytes, size_t len,
                                     size_t memory_limit, bool optional, int depth, mt_tensor *out,
                                     char **out_name) {
  if (depth > MAX_DEPTH) return MT_ERR(INVALID_ARGUMENT, "%s: containers nest too deep", path);
  reader r = {bytes, bytes + len};
  elem_list elems = {0};
  mt_dtype elem_type = MT_DTYPE_UNDEFINED;
  mt_status *st = NULL;
  while (!st && r.p < r.end) {
    uint64_t key, v = 0;
    if (!read_varint(&r, &key)) {
      st = MT_ERR(DATA_LOSS, "%s: truncated field key", path);
      break;
    }
    unsigned field = (unsigned)(key >> 3), wire = (unsigned)(key & 7);
    if (wire == 0) {
      if (!read_varint(&r, &v)) st = MT_ERR(DATA_LOSS, "%s: truncated varint", path);
      continue;
    }
    if (wire != 2) {
      st = MT_ERR(DATA_LOSS, "%s: unexpected wire type %u in field %u", path, wire, field);
      break;
    }
    if (!read_varint(&r, &v) || v > (uint64_t)(r.end - r.p)) {
      st = MT_ERR(DATA_LOSS, "%s: field %u runs past the end", path, field);
      break;
    }
    const unsigned char *body = r.p;
    r.p += v;
    mt_tensor t;
    memset(&t, 0, sizeof t);
    if (field == 1) {
      if (out_name && !*out_name) {
        *out_name = strndup((const char *)body, (size_t)v);
        if (!*out_name) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      }
      continue;
    } else if (field == 3) {
      char where[64];
      snprintf(where, sizeof where, "element %lld.pb", (long long)elems.n);
      st = mt_tensor_bytes_decode_limited(where, body, (size_t)v, memory_limit, &t, NULL);
    } else if (field == 5 || field == 7) {
      st = decode(path, body, (size_t)v, memory_limit, field == 7, depth + 1, &t, NULL);
    } else {
      st = MT_ERR(UNIMPLEMENTED, "%s: sparse tensors and maps in containers are not supported",
                  path);
    }
    if (st) break;
    if (elems.n == 0) elem_type = t.dtype;
    if (t.dtype != elem_type) {
      free(t.data);
      st = MT_ERR(INVALID_ARGUMENT, "%s: element %lld is %s, element 0 %s", path,
                  (long long)elems.n, mt_dtype_name(t.dtype), mt_dtype_name(elem_type));
    } else if (!list_push(&elems, &t)) {
      free(t.data);
      st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    }
  }
  if (!st && optional && elems.n > 1)
    st = MT_ERR(INVALID_ARGUMENT, "%s: an optional holds %lld values", path, (long long)elems.n);
  if (!st)
    st = mt_container_make(optional ? MT_DTYPE_OPTIONAL : MT_DTYPE_SEQUENCE, elem_type, elems.n,
                           elems.items, out);
  for (int64_t i = 0; i < elems.n; i++) free(elems.items[i].data);
  free(elems.items);
  return st;
}

mt_status *mt_value_file_read_limited(const char *path, size_t memory_limit, mt_dtype kind,
                                      mt_tensor *out, char **out_name) {
  if (!mt_dtype_is_container(kind))
    return mt_tensor_file_read_limited(path, memory_limit, out, out_name);
  char *buf = NULL;
  size_t len = 0;
  if (out_name) *out_name = NULL;
  MT_RETURN_IF_ERROR_PLAIN(mt_file_read_all(path, "value file", memory_limit / 2, &buf, &len));
  mt_status *st = decode(path, (const unsigned char *)buf, len, memory_limit,
                         kind == MT_DTYPE_OPTIONAL, 0, out, out_name);
  free(buf);
  if (st && out_name) {
    free(*out_name);
    *out_name = NULL;
  }
  return st;
}

/* ---- writing ------------------------------------------------------------------------------- */

typedef struct out_buf {
  unsigned char *p;
  size_t len, cap;
  bool failed;
} out_buf;

static void put(out_buf *b, const void *bytes, size_t n) {
  if (b->failed) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n) cap *= 2;
    unsigned char *grown = realloc(b->p, cap);
    if (!grown) {
      b->failed = true;
      return;
    }
    b->p = grown;
    b->cap = cap;
  }
  memcpy(b->p + b->len, bytes, n);
  b->len += n;
}

static void put_varint(out_buf *b, uint64_t v) {
  unsigned char tmp[10];
  size_t n = 0;
  do {
    tmp[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  put(b, tmp, n);
}

static void put_field(out_buf *b, unsigned field, const void *bytes, size_t n) {
  put_varint(b, (uint64_t)field << 3 | 2);
  put_varint(b, n);
  put(b, bytes, n);
}

/* SequenceProto/OptionalProto.ElemType of a value of dtype dt. */
static uint64_t elem_type_of(mt_dtype dt) {
  if (dt == MT_DTYPE_SEQUENCE) return 3;
  if (dt == MT_DTYPE_OPTIONAL) return 5;
  return dt == MT_DTYPE_UNDEFINED ? 0 : 1;
}

MT_MUST_USE static mt_status *encode(const mt_tensor *t, const char *name, int depth, out_buf *b) {
  if (depth > MAX_DEPTH) return MT_ERR(INVALID_ARGUMENT, "containers nest too deep");
  mt_container c;
  MT_RETURN_IF_ERROR_PLAIN(mt_container_open(t, &c));
  if (name && *name) put_field(b, 1, name, strlen(name));
  put_varint(b, 2 << 3 | 0);
  put_varint(b, elem_type_of(c.elem_type));
  mt_status *st = NULL;
  for (int64_t i = 0; !st && i < c.count; i++) {
    const mt_tensor *e = &c.elems[i];
    if (mt_dtype_is_container(e->dtype)) {
      out_buf inner = {0};
      st = encode(e, NULL, depth + 1, &inner);
      if (!st && inner.failed) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      if (!st) put_field(b, e->dtype == MT_DTYPE_SEQUENCE ? 5 : 7, inner.p, inner.len);
      free(inner.p);
      continue;
    }
    unsigned char *packed;
    size_t len;
    st = mt_onnx_tensor_pack(e, NULL, &packed, &len);
    if (st) break;
    put_field(b, 3, packed, len);
    free(packed);
  }
  mt_container_free(&c);
  if (!st && b->failed) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  return st;
}

mt_status *mt_container_encode_pb(const mt_tensor *t, const char *name, unsigned char **out,
                                  size_t *out_len) {
  out_buf b = {0};
  mt_status *st = encode(t, name, 0, &b);
  if (st) {
    free(b.p);
    return st;
  }
  *out = b.p;
  *out_len = b.len;
  return NULL;
}
