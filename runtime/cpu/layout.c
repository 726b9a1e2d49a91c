/* Data-movement kernels.
 *
 * Most moves here are "each output dim reads from a source offset that depends only on that dim's
 * coordinate": transpose, slice, expand, tile, pad, depth/space moves and Gather all have that
 * separable form. So one engine (offset_map) takes one table per output dim, holding the source
 * element offset each coordinate contributes (or -1 for "fill", used by constant padding), and walks
 * the output in row-major order summing table entries. Innermost rows whose table is contiguous are
 * copied with memcpy. Everything is single-threaded and order-fixed, hence deterministic. */
#include "runtime/cpu/layout.h"

#include <stdlib.h>
#include <string.h>

/* Tile views a rank-r tensor as up to 2r dims internally; keep room for that. */
#define MAP_MAX_RANK (2 * MT_MAX_RANK)

typedef struct offset_map {
  int rank;
  int64_t dims[MAP_MAX_RANK];
  int64_t *tab[MAP_MAX_RANK];
  int64_t *block;
} offset_map;

static void row_strides(int rank, const int64_t *dims, int64_t *strides) {
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
}

static bool dims_empty(int rank, const int64_t *dims) {
  for (int i = 0; i < rank; i++)
    if (dims[i] == 0) return true;
  return false;
}

/* Allocates one table per dim. Callers return early for empty outputs, so every dim is at most the
 * output's element count and the sum below cannot overflow. */
MT_MUST_USE static mt_status *map_init(offset_map *m, int rank, const int64_t *dims) {
  memset(m, 0, sizeof *m);
  if (rank > MAP_MAX_RANK) return MT_ERR(INTERNAL, "layout map rank %d too large", rank);
  m->rank = rank;
  size_t total = 0;
  for (int i = 0; i < rank; i++) {
    m->dims[i] = dims[i];
    total += (size_t)dims[i];
  }
  m->block = malloc((total ? total : 1) * sizeof(int64_t));
  if (!m->block) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for %zu index entries", total);
  size_t at = 0;
  for (int i = 0; i < rank; i++) {
    m->tab[i] = m->block + at;
    at += (size_t)dims[i];
  }
  return NULL;
}

static void map_free(offset_map *m) {
  free(m->block);
  m->block = NULL;
}

static inline void copy_elem(char *d, const char *s, size_t es) {
  switch (es) {
  case 1: *d = *s; break;
  case 2: memcpy(d, s, 2); break;
  case 4: memcpy(d, s, 4); break;
  case 8: memcpy(d, s, 8); break;
  default: memcpy(d, s, es); break;
  }
}

static void fill_elems(char *d, int64_t n, const void *fill, size_t es) {
  if (!fill) {
    memset(d, 0, (size_t)n * es);
    return;
  }
  for (int64_t k = 0; k < n; k++) copy_elem(d + (size_t)k * es, fill, es);
}

/* Walks the output row by row; the caller has returned early when the output is empty. */
static void map_run(const offset_map *m, void *dst, const void *src, size_t es, const void *fill) {
  char *d = dst;
  const char *s = src;
  if (m->rank == 0) {
    copy_elem(d, s, es);
    return;
  }
  int last = m->rank - 1;
  int64_t n = m->dims[last];
  const int64_t *lt = m->tab[last];
  bool contiguous = lt[0] >= 0;
  for (int64_t k = 1; k < n && contiguous; k++) contiguous = lt[k] == lt[0] + k;
  size_t row_bytes = (size_t)n * es;
  int64_t idx[MAP_MAX_RANK] = {0};
  for (;;) {
    int64_t base = 0;
    bool hole = false;
    for (int i = 0; i < last; i++) {
      int64_t t = m->tab[i][idx[i]];
      hole |= t < 0;
      base += t;
    }
    if (hole) {
      fill_elems(d, n, fill, es);
    } else if (contiguous) {
      memcpy(d, s + (size_t)(base + lt[0]) * es, row_bytes);
    } else {
      for (int64_t k = 0; k < n; k++) {
        int64_t t = lt[k];
        if (t < 0)
          fill_elems(d + (size_t)k * es, 1, fill, es);
        else
          copy_elem(d + (size_t)k * es, s + (size_t)(base + t) * es, es);
      }
    }
    d += row_bytes;
    int i = last - 1;
    while (i >= 0) {
      if (++idx[i] < m->dims[i]) break;
      idx[i] = 0;
      i--;
    }
    if (i < 0) break;
  }
}

mt_status *mt_layout_transpose(void *dst, const void *src, size_t esize, int rank,
                               const int64_t *in_dims, const int *perm) {
  int64_t st[MT_MAX_RANK] = {0}, out_dims[MT_MAX_RANK] = {0};
  row_strides(rank, in_dims, st);
  for (int i = 0; i < rank; i++) out_dims[i] = in_dims[perm[i]];
  if (dims_empty(rank, out_dims)) return NULL;
  offset_map m;
  MT_RETURN_IF_ERROR_PLAIN(map_init(&m, rank, out_dims));
  for (int i = 0; i < rank; i++)
    for (int64_t o = 0; o < out_dims[i]; o++) m.tab[i][o] = o * st[perm[i]];
  map_run(&m, dst, src, esize, NULL);
  map_free(&m);
  return NULL;
}

mt_status *mt_layout_slice(void *dst, const void *src, size_t esize, int rank,
                           const int64_t *in_dims, const int64_t *starts, const int64_t *steps,
                           const int64_t *out_dims) {
  if (dims_empty(rank, out_dims)) return NULL;
  int64_t st[MT_MAX_RANK];
  row_strides(rank, in_dims, st);
  offset_map m;
  MT_RETURN_IF_ERROR_PLAIN(map_init(&m, rank, out_dims));
  for (int i = 0; i < rank; i++)
    for (int64_t o = 0; o < out_dims[i]; o++) m.tab[i][o] = (starts[i] + o * steps[i]) * st[i];
  map_run(&m, dst, src, esize, NULL);
  map_free(&m);
  return NULL;
}

mt_status *mt_layout_expand(void *dst, const void *src, size_t esize, int in_rank,
                            const int64_t *in_dims, int out_rank, const int64_t *out_dims) {
  if (dims_empty(out_rank, out_dims)) return NULL;
  int64_t st[MT_MAX_RANK];
  row_strides(in_rank, in_dims, st);
  offset_map m;
  MT_RETURN_IF_ERROR_PLAIN(map_init(&m, out_rank, out_dims));
  for (int i = 0; i < out_rank; i++) {
    int j = i - (out_rank - in_rank);
    bool broadcast = j < 0 || in_dims[j] == 1;
    for (int64_t o = 0; o < out_dims[i]; o++) m.tab[i][o] = broadcast ? 0 : o * st[j];
  }
  map_run(&m, dst, src, esize, NULL);
  map_free(&m);
  return NULL;
}

mt_status *mt_layout_tile(void *dst, const void *src, size_t esize, int rank,
                          const int64_t *in_dims, const int64_t *repeats) {
  int64_t st[MT_MAX_RANK] = {0}, out_dims[MT_MAX_RANK] = {0};
  row_strides(rank, in_dims, st);
  for (int i = 0; i < rank; i++) out_dims[i] = in_dims[i] * repeats[i];
  if (dims_empty(rank, out_dims)) return NULL;
  offset_map m;
  MT_RETURN_IF_ERROR_PLAIN(map_init(&m, rank, out_dims));
  for (int i = 0; i < rank; i++)
    for (int64_t o = 0; o < out_dims[i]; o++) m.tab[i][o] = (o % in_dims[i]) * st[i];
  map_run(&m, dst, src, esize, NULL);
  map_free(&m);
  return NULL;
}

static int64_t pos_mod(int64_t a, int64_t m) {
  int64_t r = a % m;
  return r < 0 ? r + m : r;
}

mt_status *mt_layout_pad(void *dst, const void *src, size_t esize, int rank, const int64_t *in_dims,
                         const int64_t *pads, mt_pad_mode mode, const void *fill) {
  int64_t st[MT_MAX_RANK] = {0}, out_dims[MT_MAX_RANK] = {0};
  row_strides(rank, in_dims, st);
  for (int i = 0; i < rank; i++) {
    out_dims[i] = in_dims[i] + pads[i] + pads[rank + i];
    if (out_dims[i] < 0) return MT_ERR(INVALID_ARGUMENT, "pads make dim %d negative", i);
  }
  if (dims_empty(rank, out_dims)) return NULL;
  offset_map m;
  MT_RETURN_IF_ERROR_PLAIN(map_init(&m, rank, out_dims));
  for (int i = 0; i < rank; i++) {
    int64_t b = pads[i], e = pads[rank + i];
    int64_t lo = b < 0 ? -b : 0;
    int64_t len = in_dims[i] - lo - (e < 0 ? -e : 0); /* extent left after cropping */
    int64_t before = b > 0 ? b : 0;
    if (len < 0) {
      map_free(&m);
      return MT_ERR(INVALID_ARGUMENT, "pads crop more than dim %d holds", i);
    }
    if (len == 0 && mode != MT_PAD_CONSTANT) {
      map_free(&m);
      return MT_ERR(INVALID_ARGUMENT, "cannot pad empty dim %d in a non-constant mode", i);
    }
    for (int64_t o = 0; o < out_dims[i]; o++) {
      int64_t p = o - before, q;
      if (p >= 0 && p < len) {
        q = p;
      } else {
        switch (mode) {
        case MT_PAD_EDGE: q = p < 0 ? 0 : len - 1; break;
        case MT_PAD_WRAP: q = pos_mod(p, len); break;
        case MT_PAD_REFLECT:
          if (len == 1) {
            q = 0;
          } else {
            int64_t period = 2 * (len - 1);
            q = pos_mod(p, period);
            if (q >= len) q = period - q;
          }
          break;
        default: q = -1; break;
        }
      }
      m.tab[i][o] = q < 0 ? -1 : (lo + q) * st[i];
    }
  }
  map_run(&m, dst, src, esize, fill);
  map_free(&m);
  return NULL;
}

mt_status *mt_layout_depth_to_space(void *dst, const void *src, size_t esize,
                                    const int64_t *in_dims, int64_t block, bool crd) {
  int64_t c_out = in_dims[1] / (block * block);
  int64_t out_dims[4] = {in_dims[0], c_out, in_dims[2] * block, in_dims[3] * block};
  if (dims_empty(4, out_dims)) return NULL;
  int64_t st[4];
  row_strides(4, in_dims, st);
  offset_map m;
  MT_RETURN_IF_ERROR_PLAIN(map_init(&m, 4, out_dims));
  /* Source channel: DCR (i*block + j)*c_out + c; CRD c*block*block + i*block + j, where i and j are
   * the row and column offsets inside the block. */
  int64_t c_mul = crd ? block * block : 1;
  int64_t i_mul = crd ? block : block * c_out;
  int64_t j_mul = crd ? 1 : c_out;
  for (int64_t o = 0; o < out_dims[0]; o++) m.tab[0][o] = o * st[0];
  for (int64_t o = 0; o < out_dims[1]; o++) m.tab[1][o] = o * c_mul * st[1];
  for (int64_t o = 0; o < out_dims[2]; o++)
    m.tab[2][o] = (o / block) * st[2] + (o % block) * i_mul * st[1];
  for (int64_t o = 0; o < out_dims[3]; o++)
    m.tab[3][o] = (o / block) * st[3] + (o % block) * j_mul * st[1];
  map_run(&m, dst, src, esize, NULL);
  map_free(&m);
  return NULL;
}

mt_status *mt_layout_space_to_depth(void *dst, const void *src, size_t esize,
                                    const int64_t *in_dims, int64_t block, bool crd) {
  int64_t c = in_dims[1];
  int64_t out_dims[4] = {in_dims[0], c * block * block, in_dims[2] / block, in_dims[3] / block};
  if (dims_empty(4, out_dims)) return NULL;
  int64_t st[4];
  row_strides(4, in_dims, st);
  offset_map m;
  MT_RETURN_IF_ERROR_PLAIN(map_init(&m, 4, out_dims));
  /* Output channel (i*block + j)*c + ch (DCR) or ch*block*block + i*block + j (CRD) reads row
   * offset i and column offset j of the block. */
  for (int64_t o = 0; o < out_dims[0]; o++) m.tab[0][o] = o * st[0];
  for (int64_t o = 0; o < out_dims[1]; o++) {
    int64_t ij = crd ? o % (block * block) : o / c;
    int64_t ch = crd ? o / (block * block) : o % c;
    m.tab[1][o] = ch * st[1] + (ij / block) * st[2] + (ij % block) * st[3];
  }
  for (int64_t o = 0; o < out_dims[2]; o++) m.tab[2][o] = o * block * st[2];
  for (int64_t o = 0; o < out_dims[3]; o++) m.tab[3][o] = o * block * st[3];
  map_run(&m, dst, src, esize, NULL);
  map_free(&m);
  return NULL;
}

void mt_layout_concat(void *dst, int n, const void *const *srcs, const int64_t *axis_dims,
                      int64_t outer, int64_t inner, size_t esize) {
  char *d = dst;
  for (int64_t o = 0; o < outer; o++) {
    for (int k = 0; k < n; k++) {
      size_t chunk = (size_t)(axis_dims[k] * inner) * esize;
      if (!chunk) continue;
      memcpy(d, (const char *)srcs[k] + (size_t)o * chunk, chunk);
      d += chunk;
    }
  }
}

static inline int64_t read_index(const void *indices, bool i64, int64_t k) {
  return i64 ? ((const int64_t *)indices)[k] : ((const int32_t *)indices)[k];
}

mt_status *mt_layout_gather(void *dst, const void *src, size_t esize, int64_t outer,
                            int64_t axis_dim, int64_t inner, const void *indices, bool indices_i64,
                            int64_t n_indices) {
  /* Check every index even when the output is empty, so bad models fail the same way always. */
  for (int64_t k = 0; k < n_indices; k++) {
    int64_t v = read_index(indices, indices_i64, k);
    if (v < -axis_dim || v >= axis_dim)
      return MT_ERR(OUT_OF_RANGE, "index %lld out of range for a dim of %lld", (long long)v,
                    (long long)axis_dim);
  }
  int64_t out_dims[3] = {outer, n_indices, inner};
  if (dims_empty(3, out_dims)) return NULL;
  offset_map m;
  MT_RETURN_IF_ERROR_PLAIN(map_init(&m, 3, out_dims));
  for (int64_t o = 0; o < outer; o++) m.tab[0][o] = o * axis_dim * inner;
  for (int64_t k = 0; k < n_indices; k++) {
    int64_t v = read_index(indices, indices_i64, k);
    m.tab[1][k] = (v < 0 ? v + axis_dim : v) * inner;
  }
  for (int64_t i = 0; i < inner; i++) m.tab[2][i] = i;
  map_run(&m, dst, src, esize, NULL);
  map_free(&m);
  return NULL;
}

mt_status *mt_layout_gather_elements(void *dst, const void *src, size_t esize, int rank,
                                     const int64_t *in_dims, int axis, const void *indices,
                                     bool indices_i64, const int64_t *idx_dims) {
  int64_t n = mt_shape_numel(rank, idx_dims);
  int64_t st[MT_MAX_RANK], idx[MT_MAX_RANK] = {0};
  row_strides(rank, in_dims, st);
  int64_t axis_dim = in_dims[axis];
  char *d = dst;
  const char *s = src;
  for (int64_t k = 0; k < n; k++) {
    int64_t v = read_index(indices, indices_i64, k);
    if (v < -axis_dim || v >= axis_dim)
      return MT_ERR(OUT_OF_RANGE, "index %lld out of range for a dim of %lld", (long long)v,
                    (long long)axis_dim);
    if (v < 0) v += axis_dim;
    int64_t off = 0;
    for (int i = 0; i < rank; i++) off += (i == axis ? v : idx[i]) * st[i];
    copy_elem(d + (size_t)k * esize, s + (size_t)off * esize, esize);
    for (int i = rank - 1; i >= 0; i--) {
      if (++idx[i] < idx_dims[i]) break;
      idx[i] = 0;
    }
  }
  return NULL;
}

static bool elem_nonzero(const void *src, mt_dtype dtype, int64_t k) {
  switch (dtype) {
  case MT_DTYPE_FLOAT32: return ((const float *)src)[k] != 0.0f;
  case MT_DTYPE_FLOAT16: /* -0 has a bit set: test the magnitude's bits */
  case MT_DTYPE_BFLOAT16: return (((const uint16_t *)src)[k] & 0x7fffu) != 0;
  case MT_DTYPE_INT64: return ((const int64_t *)src)[k] != 0;
  case MT_DTYPE_INT32: return ((const int32_t *)src)[k] != 0;
  default: {
    size_t es = mt_dtype_size(dtype);
    const unsigned char *p = (const unsigned char *)src + (size_t)k * es;
    for (size_t b = 0; b < es; b++)
      if (p[b]) return true;
    return false;
  }
  }
}

int64_t mt_layout_count_nonzero(const void *src, mt_dtype dtype, int64_t numel) {
  int64_t nnz = 0;
  for (int64_t k = 0; k < numel; k++) nnz += elem_nonzero(src, dtype, k);
  return nnz;
}

void mt_layout_nonzero(int64_t *dst, const void *src, mt_dtype dtype, int rank, const int64_t *dims,
                       int64_t nnz) {
  int64_t numel = mt_shape_numel(rank, dims);
  int64_t idx[MT_MAX_RANK] = {0};
  int64_t w = 0;
  for (int64_t k = 0; k < numel && w < nnz; k++) {
    if (elem_nonzero(src, dtype, k)) {
      if (rank == 0) dst[w] = 0;
      for (int i = 0; i < rank; i++) dst[(int64_t)i * nnz + w] = idx[i];
      w++;
    }
    for (int i = rank - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
    }
  }
}
