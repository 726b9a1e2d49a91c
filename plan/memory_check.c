/* The memory-plan checker (mt_memory_plan_check, declared in plan.h).
 *
 * Independent of the planner on purpose: it recomputes group membership, every cross-group read
 * and the happens-before relation from the plan itself (backward searches over stream-order and
 * wait edges, where the planner sweeps predecessor sets forward), then proves that every pair of
 * buffers sharing bytes can never be live together: all readers of one happen-before the writer
 * of the other. It also checks that every intermediate has exactly one buffer, sized for its
 * value, 64-byte aligned and inside its partition's arena, and that each scheduled reader is
 * ordered after the writer (the lifetimes assume it). Same semantics as plan/schedule.h: only
 * edges inside a partition count, a wait on a group issued later orders nothing, and a group with
 * no stream yet is ordered with nothing. */
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "runtime/base/checked_math.h"

typedef struct checker {
  const mt_plan *p;
  const mt_module *m;
  int32_t n_h;
  int32_t *group_of;    /* per node: fused group, recomputed from the groups */
  int32_t *read_start;  /* per value: first index into readers (CSR), n_values + 1 entries */
  int32_t *readers;     /* reader horizontal groups, deduplicated per value */
  int32_t *buffer_of;   /* per value: buffer index or -1 */
  int32_t *stream_prev; /* per hgroup: previous group issued on its stream, or -1 */
  uint64_t **ancestors; /* per hgroup, lazily: bitset of the groups that happen-before it */
  int32_t *stack;
  size_t words;
} checker;

static const char *value_name(const checker *c, mt_value_id v) {
  return mt_module_value_c(c->m, v)->name;
}
static const char *tenant_of(const checker *c, mt_value_id v) {
  return mt_module_tenant_c(c->m, mt_module_value_c(c->m, v)->tenant)->name;
}

static int64_t issue_key(const mt_plan *p, int32_t h) {
  return p->hgroups[h].position >= 0 ? p->hgroups[h].position : h;
}

/* Strict issue order within one partition: (key, index). */
static bool issued_earlier(const mt_plan *p, int32_t a, int32_t b) {
  int64_t ka = issue_key(p, a), kb = issue_key(p, b);
  return ka < kb || (ka == kb && a < b);
}

/* Reads of group gi's nodes in g (and their subgraphs): appends (value) to list when the value
 * comes from another fused group. counts[v] is incremented per read (duplicates removed later). */
static void scan_reads(const checker *c, const mt_graph *g, int32_t gi, int32_t *counts,
                       int32_t *fill) {
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(c->m, g->nodes[k]);
    for (int i = 0; i < n->n_inputs; i++) {
      mt_value_id v = n->inputs[i];
      if (v == MT_NO_VALUE) continue;
      const mt_value *val = mt_module_value_c(c->m, v);
      if (val->constant >= 0 || val->producer < 0) continue;
      int32_t pg = c->group_of[val->producer];
      if (pg < 0 || pg == gi) continue;
      if (fill)
        c->readers[fill[v]++] = c->p->groups[gi].hgroup;
      else
        counts[v]++;
    }
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        scan_reads(c, n->attrs[a].graphs[j], gi, counts, fill);
  }
}

static void scan_all(const checker *c, int32_t *counts, int32_t *fill) {
  for (int gi = 0; gi < c->p->n_groups; gi++) {
    const mt_fused_group *fg = &c->p->groups[gi];
    mt_graph one = {.n_nodes = fg->n_nodes, .nodes = fg->nodes};
    scan_reads(c, &one, gi, counts, fill);
  }
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return x < y ? -1 : x > y;
}

/* Cross-group readers of every value, as CSR arrays, each value's list sorted and deduplicated. */
MT_MUST_USE static mt_status *build_readers(checker *c) {
  int32_t nv = mt_module_value_count(c->m);
  int32_t *counts = calloc((size_t)nv + 1, sizeof *counts);
  c->read_start = calloc((size_t)nv + 2, sizeof *c->read_start);
  if (!counts || !c->read_start) {
    free(counts);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  scan_all(c, counts, NULL);
  int64_t total = 0;
  for (int32_t v = 0; v < nv; v++) {
    c->read_start[v] = (int32_t)total;
    total += counts[v];
  }
  c->read_start[nv] = (int32_t)total;
  c->readers = malloc(sizeof *c->readers * ((size_t)total + 1));
  if (!c->readers || total > INT32_MAX) {
    free(counts);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int32_t v = 0; v < nv; v++) counts[v] = c->read_start[v];
  scan_all(c, NULL, counts);
  free(counts);
  /* compact in place: each value's old range is read (read_start[v + 1] still holds the old
   * bound when value v is processed) before its start is moved down to `out` */
  int32_t out = 0;
  for (int32_t v = 0; v < nv; v++) {
    int32_t b = c->read_start[v], e = c->read_start[v + 1];
    qsort(c->readers + b, (size_t)(e - b), sizeof *c->readers, cmp_i32);
    c->read_start[v] = out;
    for (int32_t i = b; i < e; i++)
      if (i == b || c->readers[i] != c->readers[i - 1]) c->readers[out++] = c->readers[i];
  }
  c->read_start[nv] = out;
  return NULL;
}

static int32_t n_readers(const checker *c, mt_value_id v) {
  return c->read_start[v + 1] - c->read_start[v];
}

typedef struct stream_key {
  int32_t partition, stream; /* stream -1: unscheduled, ordered with nothing */
  int64_t key;
  int32_t h;
} stream_key;

static int cmp_stream_key(const void *a, const void *b) {
  const stream_key *x = a, *y = b;
  if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
  if (x->stream != y->stream) return x->stream < y->stream ? -1 : 1;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->h < y->h ? -1 : x->h > y->h;
}

/* Previous group issued on the same stream of the same partition. */
MT_MUST_USE static mt_status *build_stream_prev(checker *c) {
  const mt_plan *p = c->p;
  c->stream_prev = malloc(sizeof *c->stream_prev * ((size_t)c->n_h + 1));
  stream_key *keys = malloc(sizeof *keys * ((size_t)c->n_h + 1));
  if (!c->stream_prev || !keys) {
    free(keys);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int32_t h = 0; h < c->n_h; h++) {
    const mt_horizontal_group *hg = &p->hgroups[h];
    keys[h] = (stream_key){hg->partition, hg->stream < 0 ? -1 : hg->stream, issue_key(p, h), h};
  }
  qsort(keys, (size_t)c->n_h, sizeof *keys, cmp_stream_key);
  for (int32_t i = 0; i < c->n_h; i++) {
    bool same = i > 0 && keys[i].stream >= 0 && keys[i - 1].partition == keys[i].partition &&
                keys[i - 1].stream == keys[i].stream;
    c->stream_prev[keys[i].h] = same ? keys[i - 1].h : -1;
  }
  free(keys);
  return NULL;
}

/* Groups that happen-before h: everything reachable backwards over stream-order and wait edges. */
static const uint64_t *ancestors_of(checker *c, int32_t h) {
  if (c->ancestors[h]) return c->ancestors[h];
  uint64_t *set = calloc(c->words, sizeof *set);
  if (!set) return NULL;
  const mt_plan *p = c->p;
  int top = 0;
  c->stack[top++] = h;
  while (top > 0) {
    int32_t x = c->stack[--top];
    const mt_horizontal_group *hx = &p->hgroups[x];
    if (hx->stream < 0) continue; /* unscheduled: ordered with nothing */
    for (int k = -1; k < hx->n_waits; k++) {
      int32_t y = k < 0 ? c->stream_prev[x] : hx->waits[k];
      if (y < 0 || y >= c->n_h) continue;
      if (p->hgroups[y].partition != hx->partition || p->hgroups[y].stream < 0 ||
          !issued_earlier(p, y, x))
        continue;
      if (set[y / 64] >> (y % 64) & 1) continue;
      set[y / 64] |= (uint64_t)1 << (y % 64);
      c->stack[top++] = y; /* each group pushed at most once: the stack has n_h slots */
    }
  }
  c->ancestors[h] = set;
  return set;
}

/* a happens-before b; *oom set when the search could not allocate. */
static bool before(checker *c, int32_t a, int32_t b, bool *oom) {
  const uint64_t *set = ancestors_of(c, b);
  if (!set) {
    *oom = true;
    return false;
  }
  return set[a / 64] >> (a % 64) & 1;
}

static bool all_readers_before(checker *c, mt_value_id v, int32_t writer, bool *oom) {
  for (int32_t i = c->read_start[v]; i < c->read_start[v + 1]; i++)
    if (!before(c, c->readers[i], writer, oom)) return false;
  return true;
}

MT_MUST_USE static mt_status *check_buffer(checker *c, int b, const uint8_t *is_output) {
  const mt_plan *p = c->p;
  const mt_buffer *buf = &p->buffers[b];
  mt_value_id v = buf->value;
  if (v < 0 || v >= mt_module_value_count(c->m))
    return MT_ERR(INTERNAL, "buffer %d names value %d", b, v);
  const mt_value *val = mt_module_value_c(c->m, v);
  const char *vn = val->name, *tn = tenant_of(c, v);
  if (c->buffer_of[v] >= 0)
    return MT_ERR(INTERNAL, "value '%s' of tenant '%s' has two buffers (%d and %d)", vn, tn,
                  c->buffer_of[v], b);
  c->buffer_of[v] = b;
  int32_t wg = val->producer >= 0 ? c->group_of[val->producer] : -1;
  if (val->constant >= 0 || wg < 0 || is_output[v] || n_readers(c, v) == 0)
    return MT_ERR(
        INTERNAL,
        "value '%s' of tenant '%s' has a buffer but is not an intermediate read across groups", vn,
        tn);
  int32_t writer = p->groups[wg].hgroup;
  if (buf->partition != p->tenant_partition[val->tenant] || buf->partition < 0 ||
      buf->partition >= p->n_partitions)
    return MT_ERR(INTERNAL, "value '%s' of tenant '%s': buffer in partition %d, tenant runs in %d",
                  vn, tn, buf->partition, p->tenant_partition[val->tenant]);
  if (buf->first_hgroup != writer)
    return MT_ERR(INTERNAL,
                  "value '%s' of tenant '%s': buffer says writer %d, the plan writes it in %d", vn,
                  tn, buf->first_hgroup, writer);
  bool last_ok = false;
  for (int32_t i = c->read_start[v]; i < c->read_start[v + 1]; i++)
    last_ok = last_ok || c->readers[i] == buf->last_hgroup;
  if (!last_ok)
    return MT_ERR(INTERNAL,
                  "value '%s' of tenant '%s': buffer says last reader %d, which does not read it",
                  vn, tn, buf->last_hgroup);
  size_t bytes = (size_t)(mt_dtype_bits(val->dtype) + 7) / 8; /* overflow check; exact below */
  bool sized = val->rank >= 0 && bytes > 0;
  for (int d = 0; sized && d < val->rank; d++)
    sized = val->dims[d] >= 0 && mt_mul_size(bytes, (size_t)val->dims[d], &bytes);
  if (sized) bytes = mt_dtype_bytes(val->dtype, mt_shape_numel(val->rank, val->dims));
  if (!sized || buf->size != bytes)
    return MT_ERR(INTERNAL, "value '%s' of tenant '%s' needs %zu bytes, its buffer has %zu", vn, tn,
                  sized ? bytes : 0, buf->size);
  if (buf->offset % 64 != 0)
    return MT_ERR(INTERNAL, "value '%s' of tenant '%s': offset %zu is not 64-byte aligned", vn, tn,
                  buf->offset);
  size_t end;
  if (!mt_add_size(buf->offset, buf->size, &end) || end > p->partitions[buf->partition].arena_bytes)
    return MT_ERR(
        INTERNAL,
        "value '%s' of tenant '%s': bytes [%zu, +%zu) leave partition '%s''s %zu-byte arena", vn,
        tn, buf->offset, buf->size, p->partitions[buf->partition].name,
        p->partitions[buf->partition].arena_bytes);
  bool oom = false;
  for (int32_t i = c->read_start[v]; i < c->read_start[v + 1]; i++) {
    /* unscheduled groups are ordered with nothing: their buffers then share no bytes, and
     * ordering them is the stream pass's job, not a memory-plan error */
    if (p->hgroups[writer].stream < 0 || p->hgroups[c->readers[i]].stream < 0) continue;
    if (!before(c, writer, c->readers[i], &oom) && !oom)
      return MT_ERR(INTERNAL,
                    "value '%s' of tenant '%s': reader horizontal group %d is not ordered after "
                    "writer %d by stream "
                    "order or waits",
                    vn, tn, c->readers[i], writer);
  }
  return oom ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
}

static int cmp_offset_plan_buffers(const void *a, const void *b, const mt_plan *p) {
  const mt_buffer *x = &p->buffers[*(const int32_t *)a], *y = &p->buffers[*(const int32_t *)b];
  if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
  if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
  return *(const int32_t *)a < *(const int32_t *)b ? -1 : 1;
}

/* Stable merge sort of buffer indices by (partition, offset): qsort has no context argument. */
static void sort_by_offset(const mt_plan *p, int32_t *idx, int32_t *tmp, int n) {
  if (n < 2) return;
  int h = n / 2;
  sort_by_offset(p, idx, tmp, h);
  sort_by_offset(p, idx + h, tmp, n - h);
  int i = 0, j = h, k = 0;
  while (i < h || j < n)
    tmp[k++] = (j >= n || (i < h && cmp_offset_plan_buffers(&idx[i], &idx[j], p) <= 0)) ? idx[i++]
                                                                                        : idx[j++];
  memcpy(idx, tmp, sizeof *idx * (size_t)n);
}

/* Every pair of buffers sharing bytes: one must be dead before the other is written. */
MT_MUST_USE static mt_status *check_overlaps(checker *c) {
  const mt_plan *p = c->p;
  int n = p->n_buffers;
  int32_t *idx = malloc(sizeof *idx * ((size_t)n + 1)),
          *tmp = malloc(sizeof *tmp * ((size_t)n + 1));
  mt_status *st = (!idx || !tmp) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  for (int i = 0; !st && i < n; i++) idx[i] = i;
  if (!st) sort_by_offset(p, idx, tmp, n);
  bool oom = false;
  for (int i = 0; !st && !oom && i < n; i++) {
    const mt_buffer *a = &p->buffers[idx[i]];
    if (a->size == 0) continue;
    for (int j = i + 1; !st && !oom && j < n; j++) {
      const mt_buffer *b = &p->buffers[idx[j]];
      if (b->partition != a->partition || b->offset >= a->offset + a->size) break;
      if (b->size == 0) continue;
      if (all_readers_before(c, a->value, b->first_hgroup, &oom)) continue;
      if (all_readers_before(c, b->value, a->first_hgroup, &oom)) continue;
      if (oom) break;
      st = MT_ERR(INTERNAL,
                  "partition '%s': value '%s' of tenant '%s' (bytes [%zu, %zu), written by "
                  "horizontal group %d) and "
                  "value '%s' of tenant '%s' (bytes [%zu, %zu), written by horizontal group %d) "
                  "share bytes but may be "
                  "live at the same time: neither's readers all happen-before the other's writer",
                  p->partitions[a->partition].name, value_name(c, a->value), tenant_of(c, a->value),
                  a->offset, a->offset + a->size, a->first_hgroup, value_name(c, b->value),
                  tenant_of(c, b->value), b->offset, b->offset + b->size, b->first_hgroup);
    }
  }
  if (!st && oom) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  free(idx);
  free(tmp);
  return st;
}

MT_MUST_USE static mt_status *check_all(checker *c) {
  const mt_plan *p = c->p;
  int32_t n_nodes = mt_module_node_count(c->m), nv = mt_module_value_count(c->m);
  c->group_of = malloc(sizeof *c->group_of * ((size_t)n_nodes + 1));
  c->buffer_of = malloc(sizeof *c->buffer_of * ((size_t)nv + 1));
  c->ancestors = calloc((size_t)c->n_h + 1, sizeof *c->ancestors);
  c->stack = malloc(sizeof *c->stack * ((size_t)c->n_h + 1));
  uint8_t *is_output = calloc((size_t)nv + 1, 1);
  mt_status *st = NULL;
  if (!c->group_of || !c->buffer_of || !c->ancestors || !c->stack || !is_output) {
    free(is_output);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  c->words = ((size_t)c->n_h + 63) / 64 + 1;
  for (int32_t k = 0; k < n_nodes; k++) c->group_of[k] = -1;
  for (int gi = 0; gi < p->n_groups; gi++)
    for (int k = 0; k < p->groups[gi].n_nodes; k++) c->group_of[p->groups[gi].nodes[k]] = gi;
  for (int32_t v = 0; v < nv; v++) c->buffer_of[v] = -1;
  for (int32_t t = 0; t < mt_module_tenant_count(c->m); t++) {
    const mt_graph *g = mt_module_tenant_c(c->m, t)->graph;
    for (int i = 0; i < g->n_outputs; i++) is_output[g->outputs[i]] = 1;
  }
  st = build_readers(c);
  if (!st) st = build_stream_prev(c);
  for (int b = 0; !st && b < p->n_buffers; b++) st = check_buffer(c, b, is_output);
  /* every intermediate read across groups has a buffer */
  for (int32_t v = 0; !st && v < nv; v++) {
    if (n_readers(c, v) == 0 || is_output[v] || c->buffer_of[v] >= 0) continue;
    st = MT_ERR(INTERNAL, "value '%s' of tenant '%s' is read across fused groups but has no buffer",
                value_name(c, v), tenant_of(c, v));
  }
  if (!st) st = check_overlaps(c);
  free(is_output);
  return st;
}

mt_status *mt_memory_plan_check(const mt_plan *p) {
  checker c = {.p = p, .m = p->module, .n_h = p->n_hgroups};
  mt_status *st = check_all(&c);
  for (int32_t h = 0; c.ancestors && h < c.n_h; h++) free(c.ancestors[h]);
  free(c.ancestors);
  free(c.stack);
  free(c.group_of);
  free(c.read_start);
  free(c.readers);
  free(c.buffer_of);
  free(c.stream_prev);
  return st ? mt_status_annotate(st, "memory plan") : NULL;
}
