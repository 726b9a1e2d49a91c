/* The container blob codec (see container.h). Blobs come from files (sequence .pb inputs) as well
 * as from ops, so opening one checks every size against the bytes it has. */
#include "runtime/cpu/container.h"

#include <stdlib.h>
#include <string.h>

#define CONTAINER_MAGIC 0x5643544du /* "MTCV" */

typedef struct blob_header {
  uint32_t magic;
  int32_t kind;
  int32_t elem_type;
  uint32_t reserved;
  int64_t count;
} blob_header;

typedef struct blob_elem {
  int32_t dtype;
  int32_t rank;
  int64_t dims[MT_MAX_RANK];
  uint64_t nbytes;
} blob_elem;

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

void mt_container_unknown(mt_dtype kind, mt_tensor *out) {
  memset(out, 0, sizeof *out);
  out->dtype = kind;
  out->rank = 1;
  out->dims[0] = -1;
}

mt_status *mt_container_open(const mt_tensor *t, mt_container *out) {
  memset(out, 0, sizeof *out);
  if (!mt_dtype_is_container(t->dtype) || t->rank != 1 || !t->data)
    return MT_ERR(INVALID_ARGUMENT, "expected a sequence or optional value, got %s",
                  mt_dtype_name(t->dtype));
  const unsigned char *p = t->data;
  size_t len = (size_t)t->dims[0], off = sizeof(blob_header);
  blob_header h;
  if (t->dims[0] < (int64_t)sizeof h) return MT_ERR(DATA_LOSS, "container value is truncated");
  memcpy(&h, p, sizeof h);
  if (h.magic != CONTAINER_MAGIC || h.kind != (int32_t)t->dtype || h.count < 0 ||
      (h.kind == MT_DTYPE_OPTIONAL && h.count > 1) || (uint64_t)h.count > len / sizeof(blob_elem))
    return MT_ERR(DATA_LOSS, "container value is malformed");
  out->kind = t->dtype;
  out->elem_type = (mt_dtype)h.elem_type;
  out->count = h.count;
  out->elems = calloc((size_t)h.count + 1, sizeof *out->elems);
  if (!out->elems) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int64_t i = 0; i < h.count; i++) {
    blob_elem e;
    if (len - off < sizeof e) goto bad;
    memcpy(&e, p + off, sizeof e);
    off += sizeof e;
    if (e.rank < 0 || e.rank > MT_MAX_RANK || e.nbytes > len - off) goto bad;
    mt_tensor *v = &out->elems[i];
    v->dtype = (mt_dtype)e.dtype;
    v->rank = e.rank;
    double want = (double)mt_dtype_size(v->dtype);
    for (int d = 0; d < e.rank; d++) {
      if (e.dims[d] < 0) goto bad;
      v->dims[d] = e.dims[d];
      want *= (double)e.dims[d];
    }
    if (mt_dtype_is_container(v->dtype)
            ? (e.rank != 1 || (uint64_t)e.dims[0] != e.nbytes)
            : (mt_dtype_size(v->dtype) == 0 || want != (double)e.nbytes))
      goto bad;
    v->data = (void *)(p + off);
    off += pad8((size_t)e.nbytes) < len - off ? pad8((size_t)e.nbytes) : len - off;
  }
  return NULL;
bad:
  mt_container_free(out);
  return MT_ERR(DATA_LOSS, "container value is malformed");
}

void mt_container_free(mt_container *c) {
  free(c->elems);
  c->elems = NULL;
  c->count = 0;
}

mt_status *mt_container_make(mt_dtype kind, mt_dtype elem_type, int64_t count,
                             const mt_tensor *elems, mt_tensor *out) {
  size_t len = sizeof(blob_header);
  for (int64_t i = 0; i < count; i++) len += sizeof(blob_elem) + pad8(mt_tensor_nbytes(&elems[i]));
  unsigned char *p = calloc(1, len);
  if (!p)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for a %s of %lld elements",
                  mt_dtype_name(kind), (long long)count);
  blob_header h = {CONTAINER_MAGIC, (int32_t)kind, (int32_t)elem_type, 0, count};
  memcpy(p, &h, sizeof h);
  size_t off = sizeof h;
  for (int64_t i = 0; i < count; i++) {
    const mt_tensor *v = &elems[i];
    blob_elem e;
    memset(&e, 0, sizeof e);
    e.dtype = (int32_t)v->dtype;
    e.rank = v->rank;
    for (int d = 0; d < v->rank; d++) e.dims[d] = v->dims[d];
    e.nbytes = mt_tensor_nbytes(v);
    memcpy(p + off, &e, sizeof e);
    off += sizeof e;
    if (e.nbytes) memcpy(p + off, v->data, (size_t)e.nbytes);
    off += pad8((size_t)e.nbytes);
  }
  memset(out, 0, sizeof *out);
  out->dtype = kind;
  out->rank = 1;
  out->dims[0] = (int64_t)len;
  out->data = p;
  return NULL;
}

mt_status *mt_value_copy(const mt_tensor *t, mt_tensor *out) {
  *out = *t;
  out->data = NULL;
  if (!t->data) return NULL;
  size_t bytes = mt_tensor_nbytes(t);
  out->data = malloc(bytes ? bytes : 1);
  if (!out->data) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (bytes) memcpy(out->data, t->data, bytes);
  return NULL;
}
