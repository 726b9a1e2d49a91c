/* Schedule queries (see schedule.h): horizontal-group dependencies, a topological order, and the
 * happens-before relation of streams plus waits. */
#include "plan/schedule.h"
#include "plan/id_heap.h"

#include <stdlib.h>
#include <string.h>

/* ---- data dependencies ---- */

typedef struct dep_builder {
  const mt_plan *p;
  int32_t *stamp; /* per hgroup: the consumer that last recorded it as a predecessor */
  int32_t *pred;
  size_t n, cap;
  bool oom;
} dep_builder;

static void dep_add(dep_builder *b, int32_t consumer, int32_t producer) {
  if (producer < 0 || producer == consumer || b->stamp[producer] == consumer) return;
  b->stamp[producer] = consumer;
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    int32_t *np = realloc(b->pred, cap * sizeof *np);
    if (!np) {
      b->oom = true;
      return;
    }
    b->pred = np;
    b->cap = cap;
  }
  b->pred[b->n++] = producer;
}

static int32_t hgroup_of_producer(const mt_plan *p, mt_value_id v) {
  int32_t prod = mt_module_value_c(p->module, v)->producer;
  if (prod < 0) return -1;
  int32_t g =
      p->group_of_node[prod]; /* -1 for nodes inside subgraphs: not scheduled on their own */
  return g < 0 ? -1 : p->groups[g].hgroup;
}

/* Records the producers of everything node n reads, subgraph bodies included (a branch may read
 * any value of the enclosing graphs). */
static void dep_node(dep_builder *b, int32_t consumer, const mt_node *n, int depth) {
  for (int i = 0; i < n->n_inputs; i++)
    if (n->inputs[i] != MT_NO_VALUE) dep_add(b, consumer, hgroup_of_producer(b->p, n->inputs[i]));
  if (depth > 64)
    return; /* nesting that deep does not occur in real models; the verifier limits it */
  for (int a = 0; a < n->n_attrs; a++) {
    const mt_attr *at = &n->attrs[a];
    const mt_graph *sub[1] = {at->graph};
    int64_t count = at->graphs ? at->count : (at->graph ? 1 : 0);
    for (int64_t j = 0; j < count; j++) {
      const mt_graph *g = at->graphs ? at->graphs[j] : sub[0];
      if (!g) continue;
      for (int k = 0; k < g->n_nodes; k++)
        dep_node(b, consumer, mt_module_node_c(b->p->module, g->nodes[k]), depth + 1);
    }
  }
}

mt_status *mt_schedule_deps_build(const mt_plan *p, mt_hgroup_deps *out) {
  memset(out, 0, sizeof *out);
  dep_builder b = {.p = p};
  int n = p->n_hgroups;
  b.stamp = malloc(sizeof(int32_t) * ((size_t)n + 1));
  out->start = malloc(sizeof(int32_t) * ((size_t)n + 1));
  if (!b.stamp || !out->start) {
    free(b.stamp);
    free(out->start);
    out->start = NULL;
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int h = 0; h < n; h++) b.stamp[h] = -1;
  for (int h = 0; h < n && !b.oom; h++) {
    out->start[h] = (int32_t)b.n;
    const mt_horizontal_group *hg = &p->hgroups[h];
    for (int i = 0; i < hg->n_members; i++) {
      const mt_fused_group *fg = &p->groups[hg->members[i]];
      for (int k = 0; k < fg->n_nodes; k++)
        dep_node(&b, h, mt_module_node_c(p->module, fg->nodes[k]), 0);
    }
  }
  out->start[n] = (int32_t)b.n;
  free(b.stamp);
  if (b.oom) {
    free(b.pred);
    free(out->start);
    out->start = NULL;
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  out->n = n;
  out->pred = b.pred;
  return NULL;
}

void mt_schedule_deps_free(mt_hgroup_deps *d) {
  free(d->start);
  free(d->pred);
  memset(d, 0, sizeof *d);
}

/* ---- topological order ---- */

typedef struct topo_key {
  int32_t partition, position, level, id;
} topo_key;

static bool key_less(const topo_key *x, const topo_key *y) {
  if (x->partition != y->partition) return x->partition < y->partition;
  if (x->position != y->position) return x->position < y->position;
  if (x->level != y->level) return x->level < y->level;
  return x->id < y->id;
}

/* Heap order for mt_id_heap: ctx is the keys array. */
static bool id_less(const void *ctx, int32_t a, int32_t b) {
  const topo_key *keys = ctx;
  return key_less(&keys[a], &keys[b]);
}

mt_status *mt_schedule_topo_order(const mt_plan *p, const mt_hgroup_deps *d, int32_t *order) {
  int n = p->n_hgroups;
  if (d->n != n)
    return MT_ERR(INTERNAL,
                  "schedule: dependencies were built for %d horizontal groups, the plan has %d",
                  d->n, n);
  size_t ne = n ? (size_t)d->start[n] : 0;
  int32_t *indeg = calloc((size_t)n + 1, sizeof *indeg),
          *sstart = calloc((size_t)n + 2, sizeof *sstart);
  int32_t *succ = malloc(sizeof(int32_t) * (ne + 1)),
          *heap = malloc(sizeof(int32_t) * ((size_t)n + 1));
  topo_key *keys = calloc((size_t)n + 1, sizeof *keys);
  mt_status *st = NULL;
  if (!indeg || !sstart || !succ || !heap || !keys)
    st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) {
    /* successor lists (CSR) from the predecessor lists */
    for (size_t e = 0; e < ne; e++) sstart[d->pred[e] + 1]++;
    for (int h = 0; h < n; h++) sstart[h + 1] += sstart[h];
    int32_t *fill = indeg; /* borrowed as a cursor, reset below */
    for (int h = 0; h < n; h++) fill[h] = sstart[h];
    for (int h = 0; h < n; h++)
      for (int32_t e = d->start[h]; e < d->start[h + 1]; e++) succ[fill[d->pred[e]]++] = h;
    /* dependency levels (longest path from a source) by a FIFO Kahn pass */
    for (int h = 0; h < n; h++) indeg[h] = d->start[h + 1] - d->start[h];
    int head = 0, tail = 0;
    for (int h = 0; h < n; h++)
      if (!indeg[h]) heap[tail++] = h;
    while (head < tail) {
      int32_t h = heap[head++];
      for (int32_t e = sstart[h]; e < sstart[h + 1]; e++) {
        int32_t s = succ[e];
        if (keys[s].level < keys[h].level + 1) keys[s].level = keys[h].level + 1;
        if (--indeg[s] == 0) heap[tail++] = s;
      }
    }
    if (tail < n) {
      for (int h = 0; h < n; h++)
        if (indeg[h]) {
          st = MT_ERR(INTERNAL, "schedule: horizontal group %d is on a dependency cycle", h);
          break;
        }
    }
  }
  if (!st) {
    for (int h = 0; h < n; h++) {
      keys[h].partition = p->hgroups[h].partition;
      keys[h].position = p->hgroups[h].position >= 0 ? p->hgroups[h].position : INT32_MAX;
      keys[h].id = h;
      indeg[h] = d->start[h + 1] - d->start[h];
    }
    int size = 0, emitted = 0;
    for (int h = 0; h < n; h++)
      if (!indeg[h]) mt_id_heap_push(heap, &size, h, id_less, keys);
    while (size > 0) {
      int32_t h = mt_id_heap_pop(heap, &size, id_less, keys);
      order[emitted++] = h;
      for (int32_t e = sstart[h]; e < sstart[h + 1]; e++)
        if (--indeg[succ[e]] == 0) mt_id_heap_push(heap, &size, succ[e], id_less, keys);
    }
  }
  free(indeg);
  free(sstart);
  free(succ);
  free(heap);
  free(keys);
  return st;
}

/* ---- happens-before ---- */

typedef struct pos_id {
  int32_t position, id;
} pos_id;

static int cmp_pos_id(const void *a, const void *b) {
  const pos_id *x = a, *y = b;
  if (x->position != y->position) return x->position < y->position ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

static bool scheduled(const mt_horizontal_group *hg) {
  return hg->stream >= 0 && hg->position >= 0;
}

/* The scheduled groups of partition `part` sorted by position; returns the count (-1: no memory). */
static int partition_sorted(const mt_plan *p, int32_t part, pos_id **out) {
  int n = 0;
  for (int h = 0; h < p->n_hgroups; h++)
    n += p->hgroups[h].partition == part && scheduled(&p->hgroups[h]);
  pos_id *v = malloc(sizeof *v * ((size_t)n + 1));
  if (!v) return -1;
  n = 0;
  for (int h = 0; h < p->n_hgroups; h++)
    if (p->hgroups[h].partition == part && scheduled(&p->hgroups[h]))
      v[n++] = (pos_id){p->hgroups[h].position, h};
  qsort(v, (size_t)n, sizeof *v, cmp_pos_id);
  *out = v;
  return n;
}

static int32_t max_stream(const mt_plan *p, int32_t part) {
  int32_t s = -1;
  for (int h = 0; h < p->n_hgroups; h++)
    if (p->hgroups[h].partition == part && p->hgroups[h].stream > s) s = p->hgroups[h].stream;
  return s;
}

bool mt_schedule_happens_before(const mt_plan *p, int32_t a, int32_t b) {
  if (a < 0 || b < 0 || a >= p->n_hgroups || b >= p->n_hgroups || a == b) return false;
  const mt_horizontal_group *ha = &p->hgroups[a], *hb = &p->hgroups[b];
  if (ha->partition != hb->partition || !scheduled(ha) || !scheduled(hb) ||
      ha->position >= hb->position)
    return false;
  pos_id *sorted = NULL;
  int n = partition_sorted(p, ha->partition, &sorted);
  int32_t ns = max_stream(p, ha->partition) + 1;
  int32_t *prev = malloc(sizeof(int32_t) * ((size_t)p->n_hgroups + 1));
  int32_t *last = malloc(sizeof(int32_t) * ((size_t)ns + 1));
  int32_t *stack = malloc(sizeof(int32_t) * ((size_t)p->n_hgroups + 1));
  uint8_t *seen = calloc((size_t)p->n_hgroups + 1, 1);
  bool found = false;
  if (n >= 0 && prev && last && stack && seen) {
    for (int32_t s = 0; s < ns; s++) last[s] = -1;
    for (int i = 0; i < n; i++) {
      int32_t h = sorted[i].id, s = p->hgroups[h].stream;
      prev[h] = last[s];
      last[s] = h;
    }
    /* walk backwards from b; every edge goes to an earlier position, so anything placed before a
     * cannot lead to it */
    int top = 0;
    stack[top++] = b;
    seen[b] = 1;
    while (top > 0 && !found) {
      const mt_horizontal_group *x = &p->hgroups[stack[--top]];
      int32_t xs = (int32_t)(x - p->hgroups);
      for (int w = -1; w < x->n_waits && !found; w++) {
        int32_t y = w < 0 ? prev[xs] : x->waits[w];
        if (y < 0 || y >= p->n_hgroups || seen[y]) continue;
        const mt_horizontal_group *hy = &p->hgroups[y];
        if (hy->partition != ha->partition || !scheduled(hy) || hy->position < ha->position)
          continue;
        if (y == a) found = true;
        seen[y] = 1;
        stack[top++] = y;
      }
    }
  }
  free(sorted);
  free(prev);
  free(last);
  free(stack);
  free(seen);
  return found;
}

struct mt_schedule_order {
  int n_hgroups, n_partitions;
  int32_t *local;  /* per hgroup: rank in its partition's position order, -1 unscheduled */
  int32_t *part;   /* per hgroup: partition */
  size_t *words;   /* per partition: 64-bit words per row */
  uint64_t **rows; /* per partition: one row per scheduled group, bit j = local j happens before */
};

void mt_schedule_order_free(mt_schedule_order *o) {
  if (!o) return;
  for (int i = 0; o->rows && i < o->n_partitions; i++) free(o->rows[i]);
  free(o->rows);
  free(o->words);
  free(o->local);
  free(o->part);
  free(o);
}

static const char *hgroup_label(const mt_plan *p, int32_t h) {
  const mt_horizontal_group *hg = &p->hgroups[h];
  const mt_fused_group *fg = &p->groups[hg->members[0]];
  return mt_node_label(p->module, mt_module_node_c(p->module, fg->nodes[0]));
}

MT_MUST_USE static mt_status *build_partition(const mt_plan *p, mt_schedule_order *o,
                                              int32_t part) {
  pos_id *sorted = NULL;
  int n = partition_sorted(p, part, &sorted);
  if (n < 0) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  int32_t ns = max_stream(p, part) + 1;
  size_t words = ((size_t)n + 63) / 64;
  o->words[part] = words;
  o->rows[part] = calloc((size_t)n * words + 1, sizeof(uint64_t));
  int32_t *last = malloc(sizeof(int32_t) * ((size_t)ns + 1));
  mt_status *st = (!o->rows[part] || !last) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  for (int32_t s = 0; !st && s < ns; s++) last[s] = -1;
  for (int i = 0; !st && i < n; i++) {
    if (i > 0 && sorted[i].position == sorted[i - 1].position)
      st = MT_ERR(INTERNAL,
                  "schedule: horizontal groups %d and %d share position %d in partition '%s'",
                  sorted[i - 1].id, sorted[i].id, sorted[i].position, p->partitions[part].name);
    o->local[sorted[i].id] = i;
  }
  for (int i = 0; !st && i < n; i++) {
    int32_t h = sorted[i].id;
    const mt_horizontal_group *hg = &p->hgroups[h];
    uint64_t *row = o->rows[part] + (size_t)i * words;
    for (int w = -1; w < hg->n_waits; w++) {
      int32_t y = w < 0 ? last[hg->stream] : hg->waits[w];
      if (w < 0 && y < 0) continue;
      if (y < 0 || y >= p->n_hgroups || p->hgroups[y].partition != part || o->local[y] < 0 ||
          o->local[y] >= i) {
        st = MT_ERR(INTERNAL,
                    "schedule: horizontal group %d (%s) waits for %d, which is not an earlier "
                    "scheduled group of partition '%s'",
                    h, hgroup_label(p, h), y, p->partitions[part].name);
        break;
      }
      const uint64_t *src = o->rows[part] + (size_t)o->local[y] * words;
      for (size_t k = 0; k < words; k++) row[k] |= src[k];
      row[o->local[y] / 64] |= 1ull << (o->local[y] % 64);
    }
    last[hg->stream] = h;
  }
  free(sorted);
  free(last);
  return st;
}

mt_status *mt_schedule_order_build(const mt_plan *p, mt_schedule_order **out) {
  *out = NULL;
  mt_schedule_order *o = calloc(1, sizeof *o);
  if (!o) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  o->n_hgroups = p->n_hgroups;
  o->n_partitions = p->n_partitions;
  o->local = malloc(sizeof(int32_t) * ((size_t)p->n_hgroups + 1));
  o->part = malloc(sizeof(int32_t) * ((size_t)p->n_hgroups + 1));
  o->words = calloc((size_t)p->n_partitions + 1, sizeof *o->words);
  o->rows = calloc((size_t)p->n_partitions + 1, sizeof *o->rows);
  mt_status *st = (!o->local || !o->part || !o->words || !o->rows)
                      ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory")
                      : NULL;
  for (int h = 0; !st && h < p->n_hgroups; h++) {
    const mt_horizontal_group *hg = &p->hgroups[h];
    o->local[h] = -1;
    o->part[h] = hg->partition;
    if (hg->partition < 0 || hg->partition >= p->n_partitions)
      st = MT_ERR(INTERNAL, "schedule: horizontal group %d has partition %d", h, hg->partition);
  }
  for (int32_t part = 0; !st && part < p->n_partitions; part++) st = build_partition(p, o, part);
  if (st) {
    mt_schedule_order_free(o);
    return st;
  }
  *out = o;
  return NULL;
}

bool mt_schedule_order_before(const mt_schedule_order *o, int32_t a, int32_t b) {
  if (a < 0 || b < 0 || a >= o->n_hgroups || b >= o->n_hgroups) return false;
  int32_t la = o->local[a], lb = o->local[b], part = o->part[b];
  if (la < 0 || lb < 0 || la >= lb || o->part[a] != part) return false;
  return (o->rows[part][(size_t)lb * o->words[part] + (size_t)la / 64] >> (la % 64)) & 1;
}

mt_status *mt_schedule_check(const mt_plan *p) {
  mt_hgroup_deps d;
  MT_RETURN_IF_ERROR_PLAIN(mt_schedule_deps_build(p, &d));
  mt_schedule_order *o = NULL;
  mt_status *st = mt_schedule_order_build(p, &o);
  for (int h = 0; !st && h < p->n_hgroups; h++) {
    const mt_horizontal_group *hg = &p->hgroups[h];
    for (int32_t e = d.start[h]; !st && e < d.start[h + 1]; e++) {
      int32_t y = d.pred[e];
      const mt_horizontal_group *hy = &p->hgroups[y];
      if (hy->partition != hg->partition)
        st = MT_ERR(INTERNAL,
                    "schedule: horizontal group %d (%s) reads from group %d of another partition",
                    h, hgroup_label(p, h), y);
      else if (!scheduled(hg) || !scheduled(hy))
        st = MT_ERR(INTERNAL, "schedule: horizontal group %d (%s) or its producer %d has no stream",
                    h, hgroup_label(p, h), y);
      else if (!mt_schedule_order_before(o, y, h))
        st = MT_ERR(INTERNAL,
                    "schedule: horizontal group %d (%s, stream %d, position %d) reads from %d "
                    "(stream %d, position %d) with no wait ordering them",
                    h, hgroup_label(p, h), hg->stream, hg->position, y, hy->stream, hy->position);
    }
  }
  mt_schedule_order_free(o);
  mt_schedule_deps_free(&d);
  return st;
}
