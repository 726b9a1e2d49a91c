/* Tensor files in and out: numpy .npy and ONNX TensorProto .pb, written atomically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/container_io.h"
#include "frontend/frontend.h"
#include "frontend/onnx_tensor.h"
#include "runtime/base/checked_math.h"
#include "runtime/base/file.h"
#include "runtime/base/memory_limit.h"
#include "runtime/cpu/cast.h"

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* numpy descr strings for the supported dtypes (little-endian or byte-order-free). */
static const struct {
  const char *descr;
  mt_dtype dtype;
} npy_types[] = {
    {"<f4", MT_DTYPE_FLOAT32}, {"<f2", MT_DTYPE_FLOAT16}, {"<i8", MT_DTYPE_INT64},
    {"<i4", MT_DTYPE_INT32},   {"|i1", MT_DTYPE_INT8},    {"|u1", MT_DTYPE_UINT8},
    {"|b1", MT_DTYPE_BOOL},    {"<f8", MT_DTYPE_FLOAT64}, {"<i2", MT_DTYPE_INT16},
    {"<u2", MT_DTYPE_UINT16},  {"<u4", MT_DTYPE_UINT32},  {"<u8", MT_DTYPE_UINT64},
};

/* Finds the value text after 'key': in the header dict; returns NULL when absent. */
static const char *npy_field(const char *header, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s':", key);
  const char *p = strstr(header, pat);
  if (!p) return NULL;
  p += strlen(pat);
  while (*p == ' ') p++;
  return p;
}

/* The dtype string of a descr value ('<c8', 'O', "<U4", or a structured dtype's list) for a
 * message: up to its closing quote, at most 32 characters, anything outside printable ASCII or a
 * quote/backslash as \xNN, so the file's bytes cannot break the one-line error. */
static void descr_escape(const char *descr, char *out, size_t cap) {
  size_t o = 0;
  const char *p = descr + 1; /* past the opening quote */
  int n = 0;
  for (; *p && *p != descr[0] && o + 5 < cap; p++, n++) {
    unsigned char c = (unsigned char)*p;
    if (n == 32) break;
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
      out[o++] = (char)c;
    else
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
  }
  if (*p && *p != descr[0] && o + 4 < cap) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = 0;
}

MT_MUST_USE static mt_status *parse_npy(const char *path, const unsigned char *buf, size_t len,
                                        mt_tensor *out) {
  if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
    return MT_ERR(DATA_LOSS, "%s: not a .npy file", path);
  int major = buf[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = (size_t)buf[8] | (size_t)buf[9] << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (len < 12) return MT_ERR(DATA_LOSS, "%s: truncated .npy header", path);
    header_len =
        (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    start = 12;
  } else {
    return MT_ERR(UNIMPLEMENTED, "%s: .npy format version %d", path, major);
  }
  if (header_len > len - start) return MT_ERR(DATA_LOSS, "%s: truncated .npy header", path);
  char *header = strndup((const char *)buf + start, header_len);
  if (!header) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  const char *descr = npy_field(header, "descr");
  const char *fortran = npy_field(header, "fortran_order");
  const char *shape = npy_field(header, "shape");
  memset(out, 0, sizeof *out);
  if (descr && *descr == '[') {
    st = MT_ERR(UNIMPLEMENTED, "%s: structured numpy dtypes (record arrays) are not supported",
                path);
  } else if (!descr || !fortran || !shape || *descr != '\'' || *shape != '(') {
    st = MT_ERR(DATA_LOSS, "%s: malformed .npy header", path);
  } else if (strncmp(fortran, "False", 5) != 0) {
    st = MT_ERR(UNIMPLEMENTED, "%s: Fortran-ordered arrays are not supported", path);
  } else {
    for (size_t i = 0; i < sizeof npy_types / sizeof *npy_types; i++)
      if (strncmp(descr + 1, npy_types[i].descr, 3) == 0 && descr[4] == '\'')
        out->dtype = npy_types[i].dtype;
    if (out->dtype == MT_DTYPE_UNDEFINED && (strncmp(descr + 1, "=f4", 3) == 0))
      out->dtype = MT_DTYPE_FLOAT32;
    if (out->dtype == MT_DTYPE_UNDEFINED || !mt_dtype_supported(out->dtype)) {
      char shown[160];
      descr_escape(descr, shown, sizeof shown);
      st = MT_ERR(UNIMPLEMENTED,
                  "%s: numpy dtype '%s' is not supported (float32, float16, float64, int64, "
                  "int32, int8, uint8, bool)",
                  path, shown);
    }
  }
  size_t count = 1;
  for (const char *p = shape ? shape + 1 : ""; !st && *p && *p != ')';) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')') break;
    char *end;
    long long d = strtoll(p, &end, 10);
    if (end == p || d < 0 || out->rank >= MT_MAX_RANK || !mt_mul_size(count, (size_t)d, &count)) {
      st = MT_ERR(DATA_LOSS, "%s: bad .npy shape", path);
      break;
    }
    out->dims[out->rank++] = d;
    p = end;
  }
  free(header);
  if (st) return st;
  size_t nbytes;
  size_t data_start = start + header_len;
  if (!mt_mul_size(count, mt_dtype_size(out->dtype), &nbytes) || nbytes != len - data_start)
    return MT_ERR(DATA_LOSS, "%s: .npy data holds %zu bytes, its shape needs %zu", path,
                  len - data_start, nbytes);
  out->data = malloc(nbytes ? nbytes : 1);
  if (!out->data) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  memcpy(out->data, buf + data_start, nbytes);
  return NULL;
}

mt_status *mt_tensor_bytes_decode(const char *path, const void *bytes, size_t len, mt_tensor *out,
                                  char **out_name) {
  return mt_tensor_bytes_decode_limited(path, bytes, len, mt_memory_limit_default(), out, out_name);
}

mt_status *mt_tensor_bytes_decode_limited(const char *path, const void *bytes, size_t len,
                                          size_t memory_limit, mt_tensor *out, char **out_name) {
  const unsigned char *buf = bytes;
  if (out_name) *out_name = NULL;
  if (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0) return parse_npy(path, buf, len, out);
  if (has_suffix(path, ".npy"))
    return MT_ERR(DATA_LOSS, "%s: not a .npy file (%s)", path,
                  len ? "no numpy magic" : "the file is empty");
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
  /* an empty or foreign message parses as a TensorProto with no fields: require data_type */
  if (tp && !tp->has_data_type) {
    onnx__tensor_proto__free_unpacked(tp, NULL);
    tp = NULL;
  }
  if (!tp)
    return MT_ERR(DATA_LOSS, "%s: neither a .npy file nor an ONNX TensorProto%s", path,
                  len ? "" : " (the file is empty)");
  mt_status *st = mt_onnx_tensor_decode(tp, NULL, memory_limit, NULL, out);
  if (!st && out_name && tp->name && *tp->name) *out_name = strdup(tp->name);
  onnx__tensor_proto__free_unpacked(tp, NULL);
  return st ? mt_status_annotate(st, "%s", path) : NULL;
}

mt_status *mt_tensor_file_read(const char *path, mt_tensor *out, char **out_name) {
  return mt_tensor_file_read_limited(path, mt_memory_limit_default(), out, out_name);
}

mt_status *mt_tensor_file_read_limited(const char *path, size_t memory_limit, mt_tensor *out,
                                       char **out_name) {
  char *buf = NULL;
  size_t len = 0;
  if (out_name) *out_name = NULL;
  /* The file is read whole and the tensor decoded from it: both copies count. */
  MT_RETURN_IF_ERROR_PLAIN(mt_file_read_all(path, "tensor file", memory_limit / 2, &buf, &len));
  mt_status *st = mt_tensor_bytes_decode_limited(path, buf, len, memory_limit, out, out_name);
  free(buf);
  return st;
}

/* Writes bytes to a temporary file beside path and renames it over path: readers never see a
 * partial file, and a failure leaves nothing behind. */
MT_MUST_USE static mt_status *write_atomically(const char *path, const void *head, size_t head_len,
                                               const void *body, size_t body_len) {
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  if (!tmp) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    mt_status *st = MT_ERR(INVALID_ARGUMENT, "%s: cannot create: %s", path, strerror(errno));
    free(tmp);
    return st;
  }
  /* mkstemp creates 0600; outputs are ordinary files, so apply the umask as open(0666) would */
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);
  FILE *f = fdopen(fd, "wb");
  bool ok = f && fwrite(head, 1, head_len, f) == head_len &&
            (body_len == 0 || fwrite(body, 1, body_len, f) == body_len);
  if (f)
    ok = (fclose(f) == 0) && ok;
  else
    close(fd);
  if (!ok || rename(tmp, path) != 0) {
    mt_status *st = MT_ERR(INVALID_ARGUMENT, "%s: write failed: %s", path, strerror(errno));
    unlink(tmp);
    free(tmp);
    return st;
  }
  free(tmp);
  return NULL;
}

/* numpy has no packed sub-byte types: int4/int2 are written as int8, uint4/uint2 as uint8 and
 * float4e2m1 as float32, one element per value (the conversion is exact). .pb output keeps them
 * packed, as ONNX Runtime and the ONNX test data do. */
MT_MUST_USE static mt_status *write_npy(const char *path, const mt_tensor *t);

MT_MUST_USE static mt_status *write_npy_unpacked(const char *path, const mt_tensor *t) {
  mt_tensor w = *t;
  w.dtype = t->dtype == MT_DTYPE_INT4 || t->dtype == MT_DTYPE_INT2 ? MT_DTYPE_INT8
            : t->dtype == MT_DTYPE_FLOAT4E2M1                      ? MT_DTYPE_FLOAT32
                                                                   : MT_DTYPE_UINT8;
  size_t bytes = mt_tensor_nbytes(&w);
  w.data = malloc(bytes ? bytes : 1);
  if (!w.data) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = mt_cpu_cast(t, &w);
  if (!st) st = write_npy(path, &w);
  free(w.data);
  return st;
}

MT_MUST_USE static mt_status *write_npy(const char *path, const mt_tensor *t) {
  if (mt_dtype_is_packed(t->dtype)) return write_npy_unpacked(path, t);
  const char *descr = NULL;
  for (size_t i = 0; i < sizeof npy_types / sizeof *npy_types; i++)
    if (npy_types[i].dtype == t->dtype) descr = npy_types[i].descr;
  if (!descr)
    return MT_ERR(UNIMPLEMENTED, "%s: cannot write dtype %s as .npy", path,
                  mt_dtype_name(t->dtype));
  char dict[512];
  int len =
      snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < t->rank; i++)
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld%s", (long long)t->dims[i],
                    t->rank == 1 || i + 1 < t->rank ? ", " : "");
  len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
  /* pad with spaces so data starts on a 64-byte boundary, newline last, as numpy does */
  size_t total = 10 + (size_t)len + 1;
  size_t padded = (total + 63) & ~(size_t)63;
  unsigned char head[640];
  memcpy(head, "\x93NUMPY\x01\x00", 8);
  size_t header_len = padded - 10;
  head[8] = (unsigned char)(header_len & 0xff);
  head[9] = (unsigned char)(header_len >> 8);
  memcpy(head + 10, dict, (size_t)len);
  memset(head + 10 + len, ' ', header_len - (size_t)len - 1);
  head[padded - 1] = '\n';
  return write_atomically(path, head, padded, t->data, mt_tensor_nbytes(t));
}

MT_MUST_USE static mt_status *write_pb(const char *path, const mt_tensor *t, const char *name) {
  unsigned char *buf;
  size_t len;
  MT_RETURN_IF_ERROR_PLAIN(mt_onnx_tensor_pack(t, name, &buf, &len));
  mt_status *st = write_atomically(path, buf, len, NULL, 0);
  free(buf);
  return st;
}

mt_status *mt_tensor_file_write(const char *path, const mt_tensor *t, const char *name) {
  if (mt_dtype_is_container(t->dtype)) {
    if (!has_suffix(path, ".pb"))
      return MT_ERR(UNIMPLEMENTED,
                    "%s: a %s value has no .npy form; write .pb (--output-format pb)", path,
                    mt_dtype_name(t->dtype));
    unsigned char *buf;
    size_t len;
    MT_RETURN_IF_ERROR(mt_container_encode_pb(t, name, &buf, &len), "%s", path);
    mt_status *st = write_atomically(path, buf, len, NULL, 0);
    free(buf);
    return st;
  }
  if (has_suffix(path, ".pb")) return write_pb(path, t, name);
  return write_npy(path, t);
}
