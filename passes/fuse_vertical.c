/* fuse-vertical: merges chains inside one tenant into fused groups (one kernel each).
 *
 * Four phases over each tenant's topological order, each growing groups one node at a time:
 *  1. GEMM/conv epilogues: a Conv/Gemm/MatMul absorbs the pointwise float ops that consume it
 *     (bias, BatchNormalization, activations, GELU's Erf pieces, a residual Add of an earlier
 *     tensor), as long as the epilogue's domain stays the GEMM output's shape.
 *  2. Reductions (Reduce*, Softmax, LayerNorm, pooling): producer-side pointwise ops whose only
 *     reader is the reduction, then consumer-side pointwise ops that read only the group's own
 *     values and constants.
 *  3. Chains of pointwise ops into elementwise kernels (extra writes allowed: the kernel then
 *     stores an intermediate that other groups also read, and the group's outputs list it).
 *  4. Metadata-only ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity) join the group of their
 *     producer, or of their single consumer.
 * Legality for every merge: no cycle between groups (reachability over the group DAG), and for
 * GEMM/conv/reduction groups no intermediate escapes: a growth that leaves one escaping is rolled
 * back to the last clean point. Every merge considered and not made is recorded with
 * mt_plan_reject. Finally groups are renumbered densely, each its own SINGLE horizontal group. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/op.h"
#include "passes/fusion_internal.h"
#include "passes/pass_manager.h"
#include "plan/id_heap.h"

#define PASS_NAME "fuse-vertical"

typedef struct vgroup {
  int n, cap;
  int32_t *nodes; /* ascending position: always a valid execution order */
  int32_t anchor;
  mt_group_kind kind;
  int32_t tenant;
  int32_t minpos, maxpos;
  bool alive;
} vgroup;

typedef enum grow_mode {
  GROW_EPILOGUE,  /* consumers of a GEMM/conv */
  GROW_REDUCTION, /* consumers of a reduction: its values and constants only */
  GROW_CHAIN,     /* consumers of an elementwise chain */
} grow_mode;

typedef struct vstate {
  mt_plan *p;
  const mt_module *m;
  mt_fusion_index ix;
  int n_groups;
  vgroup *g;
  int32_t *gid;  /* per node: working group */
  int32_t *mark; /* per group: DFS visit stamp */
  int32_t stamp;
  int32_t *stack;
  int32_t *tried; /* per node: growth stamp when it was last considered */
  int32_t grow_stamp;
  int32_t *log;      /* nodes added by the current growth, in order */
  int32_t *log_from; /* the singleton group each came from */
  int n_log;
  /* The group grown by grow_consumers, kept incrementally so that each step costs what the new
   * node touches, not the group's size (a 40k-node chain is one group: rescanning it per step
   * was quadratic). Per-node and per-value fields are valid where their stamp is grow_stamp. */
  int32_t growing; /* group id, or -1 */
  int32_t *queued; /* per node: stamp when queued as a consumer candidate */
  int32_t *cand;   /* min-heap by position of queued candidates not yet popped */
  int n_cand;
  int32_t *succ; /* every queued node: the group's readers (stale ones are skipped) */
  int n_succ;
  int32_t *val_stamp; /* per value */
  int32_t *outside;   /* per value written by the group: readers outside it */
  int32_t *ext_refs;  /* per value read by the group from outside: group nodes reading it */
  int n_escapes;      /* values written by the group read outside it or graph outputs */
  int n_external;     /* distinct non-constant values read from outside (epilogue: the
                          * anchor's operands excluded) */
  bool skip_anchor;
  bool oom;
} vstate;

/* --- group editing --- */

static void bounds_refresh(vstate *s, int32_t a) {
  vgroup *g = &s->g[a];
  g->minpos = g->n ? s->ix.pos[g->nodes[0]] : 0;
  g->maxpos = g->n ? s->ix.pos[g->nodes[g->n - 1]] : 0;
}

/* Moves `node` (alone in its group) into group a, keeping a's nodes in position order. */
static bool group_add(vstate *s, int32_t a, int32_t node) {
  vgroup *g = &s->g[a];
  if (g->n == g->cap) {
    int cap = g->cap ? g->cap * 2 : 8;
    int32_t *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
    if (!nodes) {
      s->oom = true;
      return false;
    }
    g->nodes = nodes;
    g->cap = cap;
  }
  int32_t pos = s->ix.pos[node];
  int k = g->n;
  while (k > 0 && s->ix.pos[g->nodes[k - 1]] > pos) {
    g->nodes[k] = g->nodes[k - 1];
    k--;
  }
  g->nodes[k] = node;
  g->n++;
  int32_t b = s->gid[node];
  s->g[b].alive = false;
  s->g[b].n = 0;
  s->gid[node] = a;
  bounds_refresh(s, a);
  return true;
}

/* Undoes group_add: `node` goes back to its own group b. */
static void group_remove(vstate *s, int32_t a, int32_t node, int32_t b) {
  vgroup *g = &s->g[a];
  int k = g->n - 1; /* rolled-back nodes are the latest added, mostly at the end */
  while (k > 0 && g->nodes[k] != node) k--;
  for (; k + 1 < g->n; k++) g->nodes[k] = g->nodes[k + 1];
  g->n--;
  bounds_refresh(s, a);
  s->g[b].nodes[0] = node; /* b kept its array, capacity >= 1 */
  s->g[b].n = 1;
  s->g[b].alive = true;
  s->gid[node] = b;
  bounds_refresh(s, b);
}

static bool singleton(const vstate *s, int32_t node) { return s->g[s->gid[node]].n == 1; }

/* --- legality --- */

/* Calls visit(s, reader, arg) for every positioned reader node of every value group `from`
 * writes (repeats included), in node, output, reader order; stops and returns true as soon as
 * visit does. The cycle check, the topological sort and the consumer search all walk edges
 * through this, so they see the same graph. */
typedef bool (*reader_fn)(vstate *s, int32_t reader, void *arg);

static bool each_reader(vstate *s, int32_t from, reader_fn visit, void *arg) {
  if (from == s->growing) { /* the same readers, from the list kept while growing */
    int keep = 0;
    bool stop = false;
    for (int i = 0; i < s->n_succ; i++) {
      int32_t reader = s->succ[i];
      if (s->gid[reader] == from) continue; /* joined the group since: an internal edge */
      s->succ[keep++] = reader;
      if (!stop && visit(s, reader, arg)) stop = true;
    }
    s->n_succ = keep; /* readers inside the group are skipped: every visitor ignores them */
    return stop;
  }
  const vgroup *g = &s->g[from];
  for (int k = 0; k < g->n; k++) {
    const mt_node *n = mt_module_node_c(s->m, g->nodes[k]);
    for (int o = 0; o < n->n_outputs; o++) {
      mt_value_id v = n->outputs[o];
      if (v == MT_NO_VALUE) continue;
      for (int32_t r = s->ix.rd_start[v]; r < s->ix.rd_start[v + 1]; r++) {
        int32_t reader = s->ix.rd_nodes[r];
        if (s->ix.pos[reader] < 0) continue;
        if (visit(s, reader, arg)) return true;
      }
    }
  }
  return false;
}

typedef struct dfs_step {
  int32_t dst;
  bool seed;
  int *sp;
} dfs_step;

static bool dfs_push(vstate *s, int32_t reader, void *arg) {
  const dfs_step *d = arg;
  int32_t y = s->gid[reader];
  if (y == d->dst) return !d->seed;
  if (s->mark[y] == s->stamp) return false;
  s->mark[y] = s->stamp;
  /* edges go forward in position order: a group starting after dst ends cannot reach it */
  if (s->g[y].minpos > s->g[d->dst].maxpos) return false;
  s->stack[(*d->sp)++] = y;
  return false;
}

/* Pushes the unvisited successor groups of `from`; true when `dst` is among them (not counted
 * when `seed`: the direct edge src -> dst is the merge itself). */
static bool push_successors(vstate *s, int32_t from, int32_t dst, bool seed, int *sp) {
  dfs_step d = {dst, seed, sp};
  return each_reader(s, from, dfs_push, &d);
}

/* True when some path leaves group `src` and reaches group `dst` through at least one other
 * group: merging src and dst would then put that group both before and after the merged one. */
static bool path_through_other(vstate *s, int32_t src, int32_t dst) {
  int sp = 0;
  s->stamp++;
  s->mark[src] = s->mark[dst] = s->stamp;
  push_successors(s, src, dst, true, &sp);
  while (sp > 0)
    if (push_successors(s, s->stack[--sp], dst, false, &sp)) return true;
  return false;
}

static bool would_cycle(vstate *s, int32_t a, int32_t b) {
  return path_through_other(s, a, b) || path_through_other(s, b, a);
}

/* Values written by group a that someone outside a reads (or that are graph outputs). The first
 * one other than `except` is described into why. */
static int escape_count(vstate *s, int32_t a, mt_value_id except, char *why, size_t size) {
  const mt_module *m = s->m;
  const vgroup *g = &s->g[a];
  int count = 0;
  bool described = false;
  for (int k = 0; k < g->n; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    for (int o = 0; o < n->n_outputs; o++) {
      mt_value_id v = n->outputs[o];
      if (v == MT_NO_VALUE) continue;
      int outside = 0;
      for (int32_t r = s->ix.rd_start[v]; r < s->ix.rd_start[v + 1]; r++)
        outside += s->gid[s->ix.rd_nodes[r]] != a;
      if (!outside && !s->ix.is_output[v]) continue;
      count++;
      if (!described && v != except && why) {
        described = true;
        if (s->ix.is_output[v])
          snprintf(why, size, "the %s output '%s' is a graph output, so it would be an extra write",
                   n->op_type, mt_module_value_c(m, v)->name);
        else
          snprintf(why, size,
                   "the %s output '%s' has %d reader(s) outside the group, so it would be an extra "
                   "write",
                   n->op_type, mt_module_value_c(m, v)->name, outside);
      }
    }
  }
  return count;
}

static void reject(vstate *s, int32_t node, int32_t a, const char *reason) {
  char x[320], y[320], what[700];
  int32_t anchor = s->g[a].anchor >= 0 ? s->g[a].anchor : s->g[a].nodes[0];
  snprintf(what, sizeof what, "%s into the group of %s",
           mt_fusion_node_str(s->m, node, x, sizeof x),
           mt_fusion_node_str(s->m, anchor, y, sizeof y));
  mt_status *st = mt_plan_reject(s->p, PASS_NAME, what, reason);
  if (st) {
    mt_status_free(st);
    s->oom = true; /* the pass stops and reports RESOURCE_EXHAUSTED */
  }
}

static bool produced_in(const vstate *s, mt_value_id v, int32_t a) {
  int32_t prod = mt_module_value_c(s->m, v)->producer;
  return prod >= 0 && s->ix.pos[prod] >= 0 && s->gid[prod] == a;
}

/* --- the growing group's counters (see vstate) --- */

static void touch_value(vstate *s, mt_value_id v) {
  if (s->val_stamp[v] == s->grow_stamp) return;
  s->val_stamp[v] = s->grow_stamp;
  s->outside[v] = 0;
  s->ext_refs[v] = 0;
}

static bool escapes(const vstate *s, mt_value_id v) {
  return s->outside[v] > 0 || s->ix.is_output[v];
}

/* True when input i of n repeats an earlier input (each distinct value counts once). */
static bool repeated_input(const mt_node *n, int i) {
  for (int j = 0; j < i; j++)
    if (n->inputs[j] == n->inputs[i]) return true;
  return false;
}

static bool external_input(const vstate *s, int32_t a, mt_value_id v) {
  return v != MT_NO_VALUE && !produced_in(s, v, a) && mt_module_value_c(s->m, v)->constant < 0;
}

static bool pos_less(const void *ctx, int32_t x, int32_t y) {
  const vstate *s = ctx;
  return s->ix.pos[x] < s->ix.pos[y];
}

/* Queues the readers of node's outputs as consumer candidates and successors of the group. */
static void queue_readers(vstate *s, const mt_node *n) {
  for (int o = 0; o < n->n_outputs; o++) {
    mt_value_id v = n->outputs[o];
    if (v == MT_NO_VALUE) continue;
    for (int32_t r = s->ix.rd_start[v]; r < s->ix.rd_start[v + 1]; r++) {
      int32_t reader = s->ix.rd_nodes[r];
      if (s->ix.pos[reader] < 0 || s->queued[reader] == s->grow_stamp) continue;
      s->queued[reader] = s->grow_stamp;
      mt_id_heap_push(s->cand, &s->n_cand, reader, pos_less, s);
      s->succ[s->n_succ++] = reader;
    }
  }
}

/* Accounts for node id, now in the growing group a: the values it writes, and those it reads
 * from the group (one reader fewer outside) or from outside. Consumers are pointwise ops, which
 * read values only through their inputs (no subgraphs). */
static void account_node(vstate *s, int32_t a, int32_t id, bool reads_from_group) {
  const mt_node *n = mt_module_node_c(s->m, id);
  for (int o = 0; o < n->n_outputs; o++) {
    mt_value_id v = n->outputs[o];
    if (v == MT_NO_VALUE) continue;
    touch_value(s, v);
    if (s->ext_refs[v] > 0) s->n_external--; /* read by the group, now produced in it */
    s->outside[v] = 0;
    for (int32_t r = s->ix.rd_start[v]; r < s->ix.rd_start[v + 1]; r++)
      s->outside[v] += s->gid[s->ix.rd_nodes[r]] != a;
    s->n_escapes += escapes(s, v);
  }
  for (int i = 0; i < n->n_inputs; i++) {
    mt_value_id v = n->inputs[i];
    if (v == MT_NO_VALUE || repeated_input(n, i)) continue;
    if (produced_in(s, v, a)) {
      if (!reads_from_group) continue;
      touch_value(s, v);
      bool was = escapes(s, v);
      s->outside[v]--;
      s->n_escapes -= was && !escapes(s, v);
    } else if (external_input(s, a, v) && !(s->skip_anchor && id == s->g[a].anchor)) {
      touch_value(s, v);
      s->n_external += s->ext_refs[v]++ == 0;
    }
  }
  queue_readers(s, n);
}

/* Distinct values group a would read from outside with node r added (not constants). */
static int external_tensors_with(vstate *s, int32_t a, int32_t r) {
  const mt_node *n = mt_module_node_c(s->m, r);
  int count = s->n_external;
  for (int i = 0; i < n->n_inputs; i++) {
    mt_value_id v = n->inputs[i];
    if (!external_input(s, a, v) || repeated_input(n, i)) continue;
    count += s->val_stamp[v] != s->grow_stamp || s->ext_refs[v] == 0;
  }
  return count;
}

static const char *kind_word(mt_group_kind k) {
  return k == MT_GROUP_CONV        ? "conv"
         : k == MT_GROUP_GEMM      ? "GEMM"
         : k == MT_GROUP_REDUCTION ? "reduction"
                                   : "elementwise";
}

/* Why consumer r may not join group a (NULL: it may). *report says whether the refusal is worth
 * a rejection record (a Conv reading a Conv's output was never a candidate). */
static const char *consumer_reason(vstate *s, int32_t a, int32_t r, grow_mode mode,
                                   const mt_value *dom, char *buf, size_t size, bool *report) {
  const mt_module *m = s->m;
  const mt_node *n = mt_module_node_c(m, r);
  const vgroup *g = &s->g[a];
  *report = true;
  if (mode == GROW_EPILOGUE) {
    if (!mt_fusion_is_epilogue_op(n)) {
      /* heavy ops, views, control flow and shape queries were never candidates */
      *report = mt_node_pattern(n) != MT_PATTERN_OUT_FUSABLE && !mt_fusion_is_metadata(n) &&
                !mt_node_has_traits(n, MT_TRAIT_CONTROL_FLOW) &&
                !mt_node_has_traits(n, MT_TRAIT_SHAPE_QUERY);
      snprintf(buf, size, "ops of kind %s do not fuse into a %s epilogue", n->op_type,
               kind_word(g->kind));
      return buf;
    }
  } else if (!mt_fusion_is_pointwise(n)) {
    *report = false;
    return "not a pointwise op";
  }
  if (!singleton(s, r)) {
    char x[320];
    const vgroup *other = &s->g[s->gid[r]];
    snprintf(
        buf, size, "it already belongs to the group of %s",
        mt_fusion_node_str(m, other->anchor >= 0 ? other->anchor : other->nodes[0], x, sizeof x));
    return buf;
  }
  const mt_value *out = mt_module_value_c(m, n->outputs[0]);
  if (out->rank != dom->rank ||
      memcmp(out->dims, dom->dims, sizeof(int64_t) * (size_t)dom->rank) != 0) {
    char sa[96], sb[96];
    snprintf(buf, size, "its output shape %s differs from the group's domain %s",
             mt_fusion_shape_str(out->rank, out->dims, sa, sizeof sa),
             mt_fusion_shape_str(dom->rank, dom->dims, sb, sizeof sb));
    return buf;
  }
  if (mode != GROW_CHAIN && out->dtype != dom->dtype)
    return "it changes the dtype of the group's result";
  bool per_channel = mt_node_has_traits(n, MT_TRAIT_PER_CHANNEL_PARAMS);
  for (int i = 0; i < n->n_inputs; i++) {
    mt_value_id v = n->inputs[i];
    if (v == MT_NO_VALUE || produced_in(s, v, a)) continue;
    const mt_value *x = mt_module_value_c(m, v);
    if (per_channel && i > 0) {
      if (x->constant >= 0) continue; /* per-channel parameters, not numpy-broadcast */
    } else if (!mt_fusion_broadcasts_to(x->rank, x->dims, dom->rank, dom->dims)) {
      char sa[96];
      snprintf(buf, size, "input %d of shape %s does not broadcast to the group's domain", i,
               mt_fusion_shape_str(x->rank, x->dims, sa, sizeof sa));
      return buf;
    }
    if (x->constant >= 0) continue;
    if (mode == GROW_REDUCTION) {
      snprintf(buf, size,
               "it reads '%s' from outside (consumer-side ops of a reduction read only its result "
               "and constants)",
               x->name);
      return buf;
    }
  }
  int limit = mode == GROW_EPILOGUE ? 2 : 4;
  int ext = external_tensors_with(s, a, r);
  if (ext > limit) {
    snprintf(buf, size, "the group would read %d tensors besides its operands (limit %d)", ext,
             limit);
    return buf;
  }
  return NULL;
}

/* The next consumer to consider: the earliest untried reader of a value of group a. */
static int32_t next_consumer(vstate *s, int32_t a) {
  while (s->n_cand > 0) {
    int32_t r = mt_id_heap_pop(s->cand, &s->n_cand, pos_less, s);
    if (s->gid[r] != a) return r;
  }
  return -1;
}

/* Grows group a by consumers; GEMM/conv/reduction groups roll back to the last state in which
 * nothing but their result escapes. */
static void grow_consumers(vstate *s, int32_t a, grow_mode mode) {
  const mt_module *m = s->m;
  int32_t anchor = s->g[a].anchor;
  const mt_node *an = mt_module_node_c(m, anchor);
  if (an->n_outputs < 1 || an->outputs[0] == MT_NO_VALUE || mt_fusion_live_outputs(an) != 1) return;
  const mt_value *dom = mt_module_value_c(m, an->outputs[0]);
  int max_escapes = mode == GROW_CHAIN ? 4 : 1;
  s->grow_stamp++;
  s->n_log = 0;
  s->growing = a;
  s->n_cand = s->n_succ = 0;
  s->n_escapes = s->n_external = 0;
  s->skip_anchor = mode == GROW_EPILOGUE; /* the GEMM's A/B are its operands, not epilogue inputs */
  for (int k = 0; k < s->g[a].n; k++) account_node(s, a, s->g[a].nodes[k], false);
  int clean_at = 0;
  for (;;) {
    int32_t r = next_consumer(s, a);
    if (r < 0) break;
    s->tried[r] = s->grow_stamp;
    char buf[512];
    bool report;
    const char *why = consumer_reason(s, a, r, mode, dom, buf, sizeof buf, &report);
    if (!why && would_cycle(s, a, s->gid[r]))
      why = "it would create a cycle: another group lies on a path between the group and this op";
    if (why) {
      if (report) reject(s, r, a, why);
      continue;
    }
    int32_t b = s->gid[r];
    if (!group_add(s, a, r)) break;
    s->log_from[s->n_log] = b;
    s->log[s->n_log++] = r;
    account_node(s, a, r, true);
    if (s->n_escapes <= max_escapes) clean_at = s->n_log;
  }
  s->growing = -1;
  if (s->oom || clean_at == s->n_log) return;
  /* Roll back to the state right after the first add past the last clean point: its first
   * escaping value (other than that add's own result) says why the growth stopped there. */
  for (int i = s->n_log - 1; i > clean_at; i--) group_remove(s, a, s->log[i], s->log_from[i]);
  char why[512] = "";
  escape_count(s, a, mt_module_node_c(m, s->log[clean_at])->outputs[0], why, sizeof why);
  reject(s, s->log[clean_at], a, why[0] ? why : "an intermediate would escape the group");
  group_remove(s, a, s->log[clean_at], s->log_from[clean_at]);
}

/* Producer-side ops of a reduction: pointwise singletons whose result only the group reads. */
static void grow_producers(vstate *s, int32_t a) {
  const mt_module *m = s->m;
  bool changed = true;
  s->grow_stamp++;
  while (changed && !s->oom) {
    changed = false;
    const vgroup *g = &s->g[a];
    for (int k = 0; k < g->n && !changed; k++) {
      const mt_node *n = mt_module_node_c(m, g->nodes[k]);
      for (int i = 0; i < n->n_inputs && !changed; i++) {
        mt_value_id v = n->inputs[i];
        if (v == MT_NO_VALUE) continue;
        int32_t prod = mt_module_value_c(m, v)->producer;
        if (prod < 0 || s->ix.pos[prod] < 0 || s->gid[prod] == a || s->tried[prod] == s->grow_stamp)
          continue;
        s->tried[prod] = s->grow_stamp;
        const mt_node *pn = mt_module_node_c(m, prod);
        if (!mt_fusion_is_pointwise(pn) || !singleton(s, prod)) continue;
        char why[512] = "";
        int outside = 0;
        for (int32_t r = s->ix.rd_start[v]; r < s->ix.rd_start[v + 1]; r++)
          outside += s->gid[s->ix.rd_nodes[r]] != a;
        if (s->ix.is_output[v])
          snprintf(why, sizeof why, "the %s output '%s' is a graph output", pn->op_type,
                   mt_module_value_c(m, v)->name);
        else if (outside)
          snprintf(why, sizeof why, "the %s output '%s' has %d reader(s) besides the reduction",
                   pn->op_type, mt_module_value_c(m, v)->name, outside);
        else if (would_cycle(s, a, s->gid[prod]))
          snprintf(why, sizeof why, "it would create a cycle between groups");
        if (why[0]) {
          reject(s, prod, a, why);
          continue;
        }
        if (!group_add(s, a, prod)) return;
        changed = true;
      }
    }
  }
}

/* Phase 4: a view joins its producer's group, or its single consumer's. */
static void absorb_metadata(vstate *s, int32_t node) {
  const mt_module *m = s->m;
  const mt_node *n = mt_module_node_c(m, node);
  int32_t b = s->gid[node];
  mt_value_id in = n->n_inputs > 0 ? n->inputs[0] : MT_NO_VALUE, out = n->outputs[0];
  char why[512] = "";
  int in_readers = in != MT_NO_VALUE ? mt_fusion_reader_count(&s->ix, in) : 0;
  int out_readers = mt_fusion_reader_count(&s->ix, out);
  int32_t prod = in != MT_NO_VALUE ? mt_module_value_c(m, in)->producer : -1;
  if (prod >= 0 && s->ix.pos[prod] >= 0 && s->g[s->gid[prod]].kind != MT_GROUP_OTHER &&
      in_readers == 1 && !s->ix.is_output[in]) {
    int32_t a = s->gid[prod];
    if (!would_cycle(s, a, b)) {
      group_add(s, a, node);
      return;
    }
    snprintf(why, sizeof why, "joining its producer's group would create a cycle");
  }
  if (out_readers == 1 && !s->ix.is_output[out]) {
    int32_t reader = s->ix.rd_nodes[s->ix.rd_start[out]];
    int32_t a = s->gid[reader];
    if (s->ix.pos[reader] >= 0 && s->g[a].kind != MT_GROUP_OTHER && !would_cycle(s, a, b)) {
      group_add(s, a, node);
      return;
    }
  }
  if (!why[0]) {
    if (prod < 0 || s->ix.pos[prod] < 0)
      snprintf(why, sizeof why,
               "its input is not computed by a group and its output has %d reader(s)%s",
               out_readers, s->ix.is_output[out] ? " and is a graph output" : "");
    else
      snprintf(why, sizeof why, "its input has %d reader(s)%s and its output %d reader(s)%s",
               in_readers, s->ix.is_output[in] ? " and is a graph output" : "", out_readers,
               s->ix.is_output[out] ? " and is a graph output" : "");
  }
  int32_t target = prod >= 0 && s->ix.pos[prod] >= 0 ? s->gid[prod] : b;
  reject(s, node, target, why);
}

/* --- driver --- */

/* Ready groups leave the heap ordered by (tenant, first position); ctx is the vstate. */
static int64_t heap_key(const vstate *s, int32_t g) {
  return ((int64_t)s->g[g].tenant << 32) | (int64_t)s->g[g].minpos;
}
static bool heap_less(const void *ctx, int32_t a, int32_t b) {
  return heap_key(ctx, a) < heap_key(ctx, b);
}

typedef struct group_list {
  int32_t *ids;
  int n;
} group_list;

static bool collect_new(vstate *s, int32_t reader, void *arg) {
  group_list *l = arg;
  int32_t y = s->gid[reader];
  if (s->mark[y] == s->stamp) return false;
  s->mark[y] = s->stamp;
  l->ids[l->n++] = y;
  return false;
}

/* The distinct successor groups of group x, into out (uses the DFS stamps). */
static int successors(vstate *s, int32_t x, int32_t *out) {
  group_list l = {out, 0};
  s->stamp++;
  s->mark[x] = s->stamp;
  each_reader(s, x, collect_new, &l);
  return l.n;
}

/* The surviving groups in a topological order of the group DAG (plan order is an execution order
 * before any scheduling), earliest first position first among the ready ones. */
MT_MUST_USE static mt_status *topo_order(vstate *s, int32_t *order, int alive) {
  int32_t *indeg = calloc((size_t)s->n_groups + 1, sizeof *indeg);
  int32_t *heap = malloc(((size_t)s->n_groups + 1) * sizeof *heap);
  int32_t *succ = malloc(((size_t)s->n_groups + 1) * sizeof *succ);
  mt_status *st = (!indeg || !heap || !succ) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  int n_heap = 0, c = 0;
  for (int x = 0; !st && x < s->n_groups; x++) {
    if (!s->g[x].alive || s->g[x].n == 0) continue;
    int ns = successors(s, x, succ);
    for (int k = 0; k < ns; k++) indeg[succ[k]]++;
  }
  for (int x = 0; !st && x < s->n_groups; x++)
    if (s->g[x].alive && s->g[x].n > 0 && indeg[x] == 0)
      mt_id_heap_push(heap, &n_heap, x, heap_less, s);
  while (!st && n_heap > 0) {
    int32_t x = mt_id_heap_pop(heap, &n_heap, heap_less, s);
    order[c++] = x;
    int ns = successors(s, x, succ);
    for (int k = 0; k < ns; k++)
      if (--indeg[succ[k]] == 0) mt_id_heap_push(heap, &n_heap, succ[k], heap_less, s);
  }
  if (!st && c != alive)
    st = MT_ERR(INTERNAL, "fuse-vertical: the fused groups form a cycle (%d of %d ordered)", c,
                alive);
  free(indeg);
  free(heap);
  free(succ);
  return st;
}

/* Writes the surviving groups back into the plan, densely, in a topological order. */
MT_MUST_USE static mt_status *rebuild_plan(vstate *s) {
  mt_plan *p = s->p;
  int alive = 0;
  for (int i = 0; i < s->n_groups; i++) alive += s->g[i].alive && s->g[i].n > 0;
  int32_t *order = malloc(((size_t)alive + 1) * sizeof *order);
  if (!order) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = topo_order(s, order, alive);
  for (int j = 0; j < alive && !st; j++) {
    const vgroup *g = &s->g[order[j]];
    mt_fused_group *fg = &p->groups[j];
    memset(fg, 0, sizeof *fg);
    fg->tenant = g->tenant;
    fg->kind = g->kind;
    fg->anchor = g->anchor >= 0 ? g->anchor : g->nodes[0];
    fg->n_nodes = g->n;
    fg->nodes = mt_arena_array(&p->arena, (size_t)g->n, sizeof(int32_t));
    if (!fg->nodes) {
      st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    memcpy(fg->nodes, g->nodes, (size_t)g->n * sizeof(int32_t));
    fg->hgroup = j;
    mt_horizontal_group *hg = &p->hgroups[j];
    memset(hg, 0, sizeof *hg);
    hg->kind = MT_HGROUP_SINGLE;
    hg->partition = p->tenant_partition[g->tenant];
    hg->n_members = 1;
    hg->members = mt_arena_array(&p->arena, 1, sizeof(int32_t));
    if (!hg->members) {
      st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    hg->members[0] = j;
    hg->stream = -1;
    hg->position = -1;
  }
  free(order);
  if (st) return st;
  for (int j = alive; j < p->n_groups; j++) memset(&p->groups[j], 0, sizeof p->groups[j]);
  for (int j = alive; j < p->n_hgroups; j++) memset(&p->hgroups[j], 0, sizeof p->hgroups[j]);
  p->n_groups = alive;
  p->n_hgroups = alive;
  return mt_plan_refresh_groups(p);
}

MT_MUST_USE static mt_status *state_init(vstate *s, mt_plan *p) {
  memset(s, 0, sizeof *s);
  s->p = p;
  s->m = p->module;
  MT_RETURN_IF_ERROR_PLAIN(mt_fusion_index_build(s->m, &s->ix));
  int32_t n_nodes = mt_module_node_count(s->m);
  s->n_groups = p->n_groups;
  s->g = calloc((size_t)s->n_groups + 1, sizeof *s->g);
  s->gid = malloc(((size_t)n_nodes + 1) * sizeof *s->gid);
  s->mark = calloc((size_t)s->n_groups + 1, sizeof *s->mark);
  s->stack = malloc(((size_t)s->n_groups + 1) * sizeof *s->stack);
  s->tried = calloc((size_t)n_nodes + 1, sizeof *s->tried);
  s->log = malloc(((size_t)n_nodes + 1) * sizeof *s->log);
  s->log_from = malloc(((size_t)n_nodes + 1) * sizeof *s->log_from);
  int32_t n_values = mt_module_value_count(s->m);
  s->growing = -1;
  s->queued = calloc((size_t)n_nodes + 1, sizeof *s->queued);
  s->cand = malloc(((size_t)n_nodes + 1) * sizeof *s->cand);
  s->succ = malloc(((size_t)n_nodes + 1) * sizeof *s->succ);
  s->val_stamp = calloc((size_t)n_values + 1, sizeof *s->val_stamp);
  s->outside = malloc(((size_t)n_values + 1) * sizeof *s->outside);
  s->ext_refs = malloc(((size_t)n_values + 1) * sizeof *s->ext_refs);
  if (!s->g || !s->gid || !s->mark || !s->stack || !s->tried || !s->log || !s->log_from ||
      !s->queued || !s->cand || !s->succ || !s->val_stamp || !s->outside || !s->ext_refs)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int32_t k = 0; k < n_nodes; k++) s->gid[k] = p->group_of_node[k];
  for (int i = 0; i < s->n_groups; i++) {
    const mt_fused_group *fg = &p->groups[i];
    vgroup *g = &s->g[i];
    g->cap = fg->n_nodes > 0 ? fg->n_nodes : 1;
    g->nodes = malloc((size_t)g->cap * sizeof *g->nodes);
    if (!g->nodes) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    g->n = fg->n_nodes;
    memcpy(g->nodes, fg->nodes, (size_t)fg->n_nodes * sizeof *g->nodes);
    for (int k = 1; k < g->n; k++) /* keep position order even if the plan came in another */
      for (int j = k; j > 0 && s->ix.pos[g->nodes[j - 1]] > s->ix.pos[g->nodes[j]]; j--) {
        int32_t t = g->nodes[j];
        g->nodes[j] = g->nodes[j - 1];
        g->nodes[j - 1] = t;
      }
    g->anchor = fg->anchor;
    g->kind = fg->kind;
    g->tenant = fg->tenant;
    g->alive = g->n > 0;
    bounds_refresh(s, i);
  }
  return NULL;
}

static void state_free(vstate *s) {
  for (int i = 0; s->g && i < s->n_groups; i++) free(s->g[i].nodes);
  free(s->g);
  free(s->gid);
  free(s->mark);
  free(s->stack);
  free(s->tried);
  free(s->log);
  free(s->log_from);
  free(s->queued);
  free(s->cand);
  free(s->succ);
  free(s->val_stamp);
  free(s->outside);
  free(s->ext_refs);
  mt_fusion_index_free(&s->ix);
}

static void run_phases(vstate *s) {
  const mt_module *m = s->m;
  for (int phase = 1; phase <= 4 && !s->oom; phase++) {
    for (int32_t t = 0; t < mt_module_tenant_count(m) && !s->oom; t++) {
      const mt_graph *gr = mt_module_tenant_c(m, t)->graph;
      for (int k = 0; k < gr->n_nodes && !s->oom; k++) {
        int32_t id = gr->nodes[k];
        const mt_node *n = mt_module_node_c(m, id);
        if (!singleton(s, id)) continue;
        int32_t a = s->gid[id];
        if (phase == 1 && (mt_fusion_is_conv_op(n) || mt_fusion_is_gemm_op(n))) {
          s->g[a].anchor = id;
          s->g[a].kind = mt_fusion_is_conv_op(n) ? MT_GROUP_CONV : MT_GROUP_GEMM;
          grow_consumers(s, a, GROW_EPILOGUE);
        } else if (phase == 2 && mt_fusion_is_reduction(n)) {
          s->g[a].anchor = id;
          s->g[a].kind = MT_GROUP_REDUCTION;
          grow_producers(s, a);
          grow_consumers(s, a, GROW_REDUCTION);
        } else if (phase == 3 && mt_fusion_is_pointwise(n)) {
          s->g[a].anchor = id;
          s->g[a].kind = MT_GROUP_ELEMENTWISE;
          grow_consumers(s, a, GROW_CHAIN);
        } else if (phase == 4 && mt_fusion_is_metadata(n)) {
          absorb_metadata(s, id);
        }
      }
    }
  }
}

mt_status *mt_pass_fuse_vertical(mt_pass_ctx *ctx) {
  mt_plan *p = ctx->plan;
  if (!p) return MT_ERR(INTERNAL, "fuse-vertical runs on a plan");
  vstate s;
  mt_status *st = state_init(&s, p);
  if (!st) {
    run_phases(&s);
    if (s.oom) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!st) st = rebuild_plan(&s);
  state_free(&s);
  return st;
}
