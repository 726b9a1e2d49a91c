/* plan-memory: arena offsets for the intermediates of each partition, by liveness.
 *
 * An intermediate is a value written by one fused group and read by another; graph inputs,
 * constants and tenant graph outputs have storage of their own, and values that stay inside a
 * fused group are never materialised. Each intermediate lives from its writer horizontal group to
 * its readers. Two may share bytes only when every reader of one happens-before the writer of
 * the other through stream order and waits (schedule.h): issue positions alone prove nothing
 * once streams run concurrently. Placement is greedy: largest first (ties by value id, for
 * determinism), each at the lowest 64-byte-aligned offset clear of every placed buffer it may be
 * live with. mt_memory_plan_check (memory_check.c) re-proves the result independently. */
#include <stdlib.h>

#include "passes/pass_manager.h"
#include "plan/schedule.h"
#include "runtime/base/checked_math.h"

#define MT_MEMORY_ALIGN 64

typedef struct read_pair {
  mt_value_id value;
  int32_t hgroup;
} read_pair;

typedef struct reads {
  int n, cap;
  read_pair *pairs;
  bool oom;
} reads;

typedef struct candidate {
  mt_value_id value;
  int32_t partition;
  int32_t writer;   /* horizontal group */
  int first_reader; /* index into the deduplicated read pairs */
  int n_readers;
  size_t size;
  size_t offset;
} candidate;

typedef struct interval {
  size_t begin, end;
} interval;

static void reads_add(reads *r, mt_value_id v, int32_t hgroup) {
  if (r->n == r->cap) {
    int cap = r->cap ? r->cap * 2 : 1024;
    read_pair *np = realloc(r->pairs, sizeof *np * (size_t)cap);
    if (!np) {
      r->oom = true;
      return;
    }
    r->pairs = np;
    r->cap = cap;
  }
  r->pairs[r->n++] = (read_pair){v, hgroup};
}

/* Records every cross-group read of group gi's nodes in g (subgraph reads included: an If's
 * branches read outer values on the If's group's behalf). */
static void collect_reads(const mt_plan *p, const mt_graph *g, int32_t gi, const uint8_t *is_output,
                          reads *r) {
  const mt_module *m = p->module;
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    for (int i = 0; i < n->n_inputs; i++) {
      mt_value_id v = n->inputs[i];
      if (v == MT_NO_VALUE || is_output[v]) continue;
      const mt_value *val = mt_module_value_c(m, v);
      if (val->constant >= 0 || val->producer < 0) continue;
      int32_t pg = p->group_of_node[val->producer];
      if (pg < 0 || pg == gi) continue; /* inside a subgraph, or inside this fused group */
      reads_add(r, v, p->groups[gi].hgroup);
    }
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        collect_reads(p, n->attrs[a].graphs[j], gi, is_output, r);
  }
}

static int cmp_pair(const void *a, const void *b) {
  const read_pair *x = a, *y = b;
  if (x->value != y->value) return x->value < y->value ? -1 : 1;
  return x->hgroup < y->hgroup ? -1 : x->hgroup > y->hgroup;
}

/* Bytes of a value with a static shape; errors name the value and its tenant. */
MT_MUST_USE static mt_status *value_bytes(const mt_module *m, mt_value_id v, size_t *out) {
  const mt_value *val = mt_module_value_c(m, v);
  const char *tenant = mt_module_tenant_c(m, val->tenant)->name;
  /* whole bytes per element, rounded up for the packed types: the product is the overflow check,
   * mt_dtype_bytes the exact size */
  size_t elem = val->dtype == MT_DTYPE_UNDEFINED ? 0 : (size_t)(mt_dtype_bits(val->dtype) + 7) / 8;
  if (elem == 0)
    return MT_ERR(INTERNAL, "value '%s' of tenant '%s' has no known dtype: cannot size its buffer",
                  val->name, tenant);
  if (val->rank < 0)
    return MT_ERR(INTERNAL, "value '%s' of tenant '%s' has no static rank: cannot size its buffer",
                  val->name, tenant);
  size_t bytes = elem;
  for (int d = 0; d < val->rank; d++) {
    if (val->dims[d] < 0)
      return MT_ERR(INTERNAL,
                    "value '%s' of tenant '%s': dim %d is not static, cannot size its buffer",
                    val->name, tenant, d);
    if (!mt_mul_size(bytes, (size_t)val->dims[d], &bytes))
      return MT_ERR(RESOURCE_EXHAUSTED, "value '%s' of tenant '%s' is impossibly large", val->name,
                    tenant);
  }
  *out = mt_dtype_bytes(val->dtype, mt_shape_numel(val->rank, val->dims));
  return NULL;
}

static int cmp_by_size(const void *a, const void *b) {
  const candidate *x = *(const candidate *const *)a, *y = *(const candidate *const *)b;
  if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
  if (x->size != y->size) return x->size > y->size ? -1 : 1;
  return x->value < y->value ? -1 : x->value > y->value;
}

static int cmp_interval(const void *a, const void *b) {
  const interval *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* Issue order among a partition's groups, for picking the last reader. */
static int64_t issue_key(const mt_plan *p, int32_t h) {
  return p->hgroups[h].position >= 0 ? p->hgroups[h].position : h;
}

static size_t align_up(size_t x) {
  return (x + MT_MEMORY_ALIGN - 1) / MT_MEMORY_ALIGN * MT_MEMORY_ALIGN;
}

/* True when every reader of a happens-before b's writer: a is dead before b is born. */
static bool dead_before(const mt_schedule_order *o, const read_pair *pairs, const candidate *a,
                        const candidate *b) {
  for (int i = 0; i < a->n_readers; i++)
    if (!mt_schedule_order_before(o, pairs[a->first_reader + i].hgroup, b->writer)) return false;
  return true;
}

static bool may_be_live_together(const mt_schedule_order *o, const read_pair *pairs,
                                 const candidate *a, const candidate *b) {
  return !dead_before(o, pairs, a, b) && !dead_before(o, pairs, b, a);
}

/* Lowest aligned offset where `size` bytes fit between the (sorted) occupied intervals. */
MT_MUST_USE static mt_status *lowest_fit(interval *busy, int n_busy, size_t size, size_t *out) {
  if (n_busy > 1) qsort(busy, (size_t)n_busy, sizeof *busy, cmp_interval);
  size_t at = 0;
  for (int i = 0; i < n_busy; i++) {
    size_t end;
    if (!mt_add_size(at, size, &end)) return MT_ERR(RESOURCE_EXHAUSTED, "arena offset overflows");
    if (end <= busy[i].begin) break;
    if (busy[i].end > at) {
      at = align_up(busy[i].end);
      if (at < busy[i].end) return MT_ERR(RESOURCE_EXHAUSTED, "arena offset overflows");
    }
  }
  *out = at;
  return NULL;
}

/* Places the candidates (sorted by partition, then size descending). */
MT_MUST_USE static mt_status *place_all(const mt_plan *p, const mt_schedule_order *o,
                                        const read_pair *pairs, candidate **sorted, int n) {
  interval *busy = malloc(sizeof *busy * ((size_t)n + 1));
  if (!busy) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  for (int i = 0, part_start = 0; !st && i < n; i++) {
    candidate *c = sorted[i];
    if (i > 0 && sorted[i - 1]->partition != c->partition) part_start = i;
    if (c->size == 0) { /* holds no bytes: overlaps nothing */
      c->offset = 0;
      continue;
    }
    int n_busy = 0;
    for (int j = part_start; j < i; j++) {
      const candidate *d = sorted[j];
      if (d->size == 0 || !may_be_live_together(o, pairs, c, d)) continue;
      busy[n_busy++] = (interval){d->offset, d->offset + d->size};
    }
    st = lowest_fit(busy, n_busy, c->size, &c->offset);
    if (st) {
      const mt_value *val = mt_module_value_c(p->module, c->value);
      const char *tenant = mt_module_tenant_c(p->module, val->tenant)->name;
      st = mt_status_annotate(st, "placing '%s' of tenant '%s'", val->name, tenant);
    }
  }
  free(busy);
  return st;
}

/* Gathers the intermediates with their writers, readers and sizes. */
MT_MUST_USE static mt_status *find_intermediates(const mt_plan *p, reads *r, candidate **out,
                                                 int *out_n) {
  const mt_module *m = p->module;
  int32_t n_values = mt_module_value_count(m);
  uint8_t *is_output = calloc((size_t)n_values + 1, 1);
  if (!is_output) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int i = 0; i < g->n_outputs; i++) is_output[g->outputs[i]] = 1;
  }
  for (int gi = 0; gi < p->n_groups; gi++) {
    const mt_fused_group *fg = &p->groups[gi];
    /* a graph-shaped view of the group's node list, so collect_reads walks it like a subgraph */
    mt_graph view = {.n_nodes = fg->n_nodes, .nodes = fg->nodes};
    collect_reads(p, &view, gi, is_output, r);
  }
  free(is_output);
  if (r->oom) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (r->n > 1)
    qsort(r->pairs, (size_t)r->n, sizeof *r->pairs, cmp_pair); /* pairs is NULL when n is 0 */
  int n_unique = 0;
  for (int i = 0; i < r->n; i++)
    if (i == 0 || cmp_pair(&r->pairs[i - 1], &r->pairs[i]) != 0) r->pairs[n_unique++] = r->pairs[i];
  r->n = n_unique;
  int n_cand = 0;
  for (int i = 0; i < r->n; i++) n_cand += (i == 0 || r->pairs[i - 1].value != r->pairs[i].value);
  candidate *c = calloc((size_t)n_cand + 1, sizeof *c);
  if (!c) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  int k = -1;
  for (int i = 0; i < r->n; i++) {
    mt_value_id v = r->pairs[i].value;
    if (k < 0 || c[k].value != v) {
      const mt_value *val = mt_module_value_c(m, v);
      k++;
      c[k].value = v;
      c[k].writer = p->groups[p->group_of_node[val->producer]].hgroup;
      c[k].partition = p->hgroups[c[k].writer].partition;
      c[k].first_reader = i;
      mt_status *st = value_bytes(m, v, &c[k].size);
      if (st) {
        free(c);
        return st;
      }
    }
    c[k].n_readers++;
  }
  *out = c;
  *out_n = n_cand;
  return NULL;
}

mt_status *mt_pass_plan_memory(mt_pass_ctx *ctx) {
  mt_plan *p = ctx->plan;
  reads r = {0};
  candidate *cands = NULL;
  candidate **sorted = NULL;
  mt_schedule_order *order = NULL;
  int n = 0;
  mt_status *st = find_intermediates(p, &r, &cands, &n);
  if (!st) st = mt_schedule_order_build(p, &order);
  if (!st) {
    sorted = malloc(sizeof *sorted * ((size_t)n + 1));
    if (!sorted) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!st) {
    for (int i = 0; i < n; i++) sorted[i] = &cands[i];
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_by_size);
    st = place_all(p, order, r.pairs, sorted, n);
  }
  mt_buffer *buffers = NULL;
  if (!st) {
    buffers = mt_arena_array(&p->arena, (size_t)n + 1, sizeof *buffers);
    if (!buffers) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!st) {
    for (int i = 0; i < p->n_partitions; i++)
      p->partitions[i].arena_bytes = p->partitions[i].unplanned_bytes = 0;
    for (int i = 0; i < n; i++) { /* value-id order: a stable, readable listing */
      const candidate *c = &cands[i];
      mt_partition_plan *pp = &p->partitions[c->partition];
      int32_t last = r.pairs[c->first_reader].hgroup;
      for (int j = 1; j < c->n_readers; j++) {
        int32_t h = r.pairs[c->first_reader + j].hgroup;
        if (issue_key(p, h) > issue_key(p, last)) last = h;
      }
      buffers[i] = (mt_buffer){.value = c->value,
                               .partition = c->partition,
                               .offset = c->offset,
                               .size = c->size,
                               .first_hgroup = c->writer,
                               .last_hgroup = last};
      size_t end = align_up(c->offset + c->size);
      if (end > pp->arena_bytes) pp->arena_bytes = end;
      pp->unplanned_bytes += c->size;
    }
    p->buffers = buffers;
    p->n_buffers = n;
  }
  mt_schedule_order_free(order);
  free(sorted);
  free(cands);
  free(r.pairs);
  return st;
}
