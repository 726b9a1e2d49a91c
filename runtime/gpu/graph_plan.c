/* Deriving the CUDA Graph descriptions of a bundle (runtime/gpu/graph_plan.h): nodes and edges
 * from the manifest only, no driver. */
#include "runtime/gpu/graph_plan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/bundle/bundle.h"

#define NO_NODE UINT32_MAX

const char *mt_gpu_node_kind_name(mt_gpu_node_kind k) {
  switch (k) {
  case MT_GPU_NODE_START: return "start";
  case MT_GPU_NODE_COPY_IN: return "copy-in";
  case MT_GPU_NODE_KERNEL: return "kernel";
  case MT_GPU_NODE_LIBCALL: return "library-call";
  case MT_GPU_NODE_JOIN: return "join";
  case MT_GPU_NODE_COPY_OUT: return "copy-out";
  case MT_GPU_NODE_END: return "end";
  case MT_GPU_NODE_EVENT_RECORD: return "event-record";
  case MT_GPU_NODE_EVENT_WAIT: return "event-wait";
  case MT_GPU_NODE_COND_SET: return "conditional-set";
  case MT_GPU_NODE_CONDITIONAL: return "conditional";
  }
  return "?";
}

void mt_gpu_graph_free(mt_gpu_graph *g) {
  if (!g) return;
  for (size_t i = 0; i < g->n_bodies; i++) mt_gpu_graph_free(g->bodies[i]);
  free(g->bodies);
  free(g->nodes);
  free(g->deps);
  free(g);
}

/* ---- a growing graph ---- */

typedef struct builder {
  mt_gpu_graph *g;
  size_t cap_nodes, cap_deps;
  uint32_t *pending; /* dependencies of the node being built */
  size_t n_pending, cap_pending;
} builder;

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return true;
  size_t n = *cap ? *cap * 2 : 16;
  while (n < need) n *= 2;
  void *q = realloc(*p, n * elem);
  if (!q) return false;
  *p = q;
  *cap = n;
  return true;
}

/* Adds a dependency of the next node (duplicates dropped; NO_NODE ignored). */
static bool dep(builder *b, uint32_t node) {
  if (node == NO_NODE) return true;
  for (size_t i = 0; i < b->n_pending; i++)
    if (b->pending[i] == node) return true;
  if (!grow((void **)&b->pending, &b->cap_pending, b->n_pending + 1, sizeof *b->pending))
    return false;
  b->pending[b->n_pending++] = node;
  return true;
}

/* Appends node with the pending dependencies (START, node 0, when there are none and this is
 * not START itself); returns its index or NO_NODE when out of memory. */
static uint32_t emit(builder *b, mt_gpu_node node) {
  mt_gpu_graph *g = b->g;
  if (b->n_pending == 0 && g->n_nodes > 0 && !dep(b, 0)) return NO_NODE;
  if (!grow((void **)&g->nodes, &b->cap_nodes, g->n_nodes + 1, sizeof *g->nodes) ||
      !grow((void **)&g->deps, &b->cap_deps, g->n_deps + b->n_pending, sizeof *g->deps))
    return NO_NODE;
  node.first_dep = (uint32_t)g->n_deps;
  node.n_deps = (uint32_t)b->n_pending;
  if (b->n_pending) memcpy(g->deps + g->n_deps, b->pending, b->n_pending * sizeof *b->pending);
  g->n_deps += b->n_pending;
  b->n_pending = 0;
  g->nodes[g->n_nodes] = node;
  return (uint32_t)g->n_nodes++;
}

static mt_gpu_node blank(mt_gpu_node_kind kind) {
  return (mt_gpu_node){.kind = kind,
                       .tenant = -1,
                       .port = -1,
                       .group = -1,
                       .step = -1,
                       .partition = -1,
                       .stream = -1,
                       .event = -1,
                       .body = -1};
}

static bool builder_init(builder *b, int32_t tenant, int32_t partition) {
  memset(b, 0, sizeof *b);
  b->g = calloc(1, sizeof *b->g);
  if (!b->g) return false;
  b->g->tenant = tenant;
  b->g->partition = partition;
  b->g->scope = -1;
  return true;
}

static void builder_abandon(builder *b) {
  mt_gpu_graph_free(b->g);
  free(b->pending);
}

/* ---- manifest queries ---- */

static bool group_has_tenant(const Mtbundle__Manifest *m, size_t g, int32_t t) {
  const Mtbundle__Group *gr = m->groups[g];
  for (uint32_t i = 0; i < gr->n_nodes; i++)
    if (m->nodes[gr->first_node + i]->tenant == t) return true;
  return false;
}

/* Calls fn on every buffer a step reads or writes (written: may write it). */
typedef bool (*ref_fn)(void *ctx, const Mtbundle__BufferRef *r, bool written);

/* A conditional's refs are its condition's and, recursively, those of both bodies' steps (the
 * depth is bounded: check_gpu_plan checks the bodies' structure first). */
static bool for_each_ref(const Mtbundle__Manifest *m, const Mtbundle__GpuStep *s, ref_fn fn,
                         void *ctx) {
  if (s->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH) {
    /* a launch does not say which parameters it writes: every buffer it may write counts */
    for (size_t a = 0; a < s->launch->n_args; a++)
      if (!fn(ctx, s->launch->args[a], true)) return false;
  } else if (s->step_case == MTBUNDLE__GPU_STEP__STEP_LIBCALL) {
    for (size_t p = 0; p < s->libcall->n_problems; p++) {
      const Mtbundle__GemmProblem *q = s->libcall->problems[p];
      if (!fn(ctx, q->a, false) || !fn(ctx, q->b, false) || !fn(ctx, q->c, false) ||
          !fn(ctx, q->bias, false) || !fn(ctx, q->d, true))
        return false;
    }
  } else if (s->step_case == MTBUNDLE__GPU_STEP__STEP_CONDITIONAL) {
    const Mtbundle__GpuConditional *c = s->conditional;
    if (!fn(ctx, c->condition, false)) return false;
    uint32_t bodies[2] = {c->then_body, c->else_body};
    for (int k = 0; k < 2; k++)
      for (size_t i = 0; i < m->gpu_bodies[bodies[k]]->n_steps; i++)
        if (!for_each_ref(m, m->gpu_bodies[bodies[k]]->steps[i], fn, ctx)) return false;
  }
  return true;
}

const Mtbundle__GpuStep *mt_gpu_graph_step(const Mtbundle__Manifest *m, const mt_gpu_graph *g,
                                           const mt_gpu_node *n) {
  if (n->step < 0) return NULL;
  if (g->scope >= 0) return m->gpu_bodies[g->scope]->steps[n->step];
  return m->gpu_groups[n->group]->steps[n->step];
}

/* A GPU step's buffer reference indexes only what the manifest has (the loader checks the CPU
 * plan's references; the GPU steps' are used to address arrays here and in the session). */
typedef struct ref_check {
  const Mtbundle__Manifest *m;
  const char *bad; /* what is wrong with the first bad reference */
} ref_check;

static bool check_ref(void *ctx, const Mtbundle__BufferRef *r, bool written) {
  ref_check *rc = ctx;
  const Mtbundle__Manifest *m = rc->m;
  if (!r || r->kind == MTBUNDLE__BUFFER_REF__KIND__NONE) return true;
  uint64_t limit = m->scratch_bytes;
  switch (r->kind) {
  case MTBUNDLE__BUFFER_REF__KIND__CONSTANT:
    if (r->index < 0 || (size_t)r->index >= m->n_constants) rc->bad = "constant index";
    return !rc->bad;
  case MTBUNDLE__BUFFER_REF__KIND__INPUT:
    if (r->tenant < 0 || (size_t)r->tenant >= m->n_tenants || r->index < 0 ||
        (size_t)r->index >= m->tenants[r->tenant]->n_inputs)
      rc->bad = "tenant input index";
    return !rc->bad;
  case MTBUNDLE__BUFFER_REF__KIND__ARENA:
    if (r->partition < 0 || (size_t)r->partition >= m->n_partitions) {
      rc->bad = "partition index";
      return false;
    }
    limit = m->partitions[r->partition]->arena_bytes;
    /* fall through */
  case MTBUNDLE__BUFFER_REF__KIND__SCRATCH:
    if (r->offset > limit || r->size > limit - r->offset) rc->bad = "buffer past its area";
    return !rc->bad;
  default: rc->bad = "buffer kind"; return false;
  }
}

/* Launch modules of a step and of the steps of its bodies, recursively. */
MT_MUST_USE static mt_status *check_modules(const Mtbundle__Manifest *m,
                                            const Mtbundle__GpuStep *st) {
  if (st->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH) {
    if (st->launch->module >= m->n_gpu_modules)
      return MT_ERR(DATA_LOSS, "module %u out of range (%zu modules)", st->launch->module,
                    m->n_gpu_modules);
    return NULL;
  }
  if (st->step_case == MTBUNDLE__GPU_STEP__STEP_LIBCALL) return NULL;
  if (st->step_case != MTBUNDLE__GPU_STEP__STEP_CONDITIONAL)
    return MT_ERR(DATA_LOSS, "a step that is neither a launch, a library call nor a conditional");
  const Mtbundle__GpuConditional *c = st->conditional;
  uint32_t bodies[2] = {c->then_body, c->else_body};
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < m->gpu_bodies[bodies[k]]->n_steps; i++)
      MT_RETURN_IF_ERROR(check_modules(m, m->gpu_bodies[bodies[k]]->steps[i]), "body %u step %zu",
                         bodies[k], i);
  return NULL;
}

/* The GPU fields the graph reads, checked against the manifest. */
MT_MUST_USE static mt_status *check_gpu_plan(const Mtbundle__Manifest *m) {
  if (m->n_gpu_groups == 0)
    return MT_ERR(UNAVAILABLE, "the bundle has no GPU plan: %s",
                  m->gpu_unavailable && *m->gpu_unavailable ? m->gpu_unavailable
                                                            : "it was compiled without GPU code");
  if (m->n_gpu_groups != m->n_groups)
    return MT_ERR(DATA_LOSS, "the bundle has %zu GPU groups for %zu groups", m->n_gpu_groups,
                  m->n_groups);
  MT_RETURN_IF_ERROR_PLAIN(mt_bundle_check_gpu_bodies(m, "the GPU plan"));
  for (size_t g = 0; g < m->n_groups; g++) {
    const Mtbundle__GpuGroup *gg = m->gpu_groups[g];
    const Mtbundle__Group *gr = m->groups[g];
    if (gg->unavailable && *gg->unavailable)
      return MT_ERR(UNAVAILABLE, "group %zu (%s, partition %d) has no GPU code: %s", g,
                    gr->kind && *gr->kind ? gr->kind : "group", gr->partition, gg->unavailable);
    for (size_t s = 0; s < gg->n_steps; s++) {
      const Mtbundle__GpuStep *st = gg->steps[s];
      ref_check rc = {.m = m};
      if (!for_each_ref(m, st, check_ref, &rc))
        return MT_ERR(DATA_LOSS, "group %zu step %zu: a buffer reference is out of range (%s)", g,
                      s, rc.bad);
      MT_RETURN_IF_ERROR(check_modules(m, st), "group %zu step %zu", g, s);
    }
  }
  return NULL;
}

/* ---- building ---- */

typedef struct stream_tail {
  int32_t tenant; /* -1: any tenant (stream order) */
  int32_t partition, stream;
  uint32_t node;
} stream_tail;

typedef struct build_state {
  builder b;
  const Mtbundle__Manifest *m;
  int32_t tenant;
  bool *included;       /* per group */
  uint32_t *last;       /* per group: its last node, NO_NODE when left out */
  uint32_t **copy_in;   /* per tenant, per input: the copy-in node or NO_NODE */
  uint32_t *visit_mark; /* per group: the wait walk's generation */
  uint32_t generation;
  stream_tail *tails;
  size_t n_tails, cap_tails;
} build_state;

static uint32_t *tail_of(build_state *s, int32_t tenant, int32_t partition, int32_t stream,
                         bool create) {
  for (size_t i = 0; i < s->n_tails; i++)
    if (s->tails[i].tenant == tenant && s->tails[i].partition == partition &&
        s->tails[i].stream == stream)
      return &s->tails[i].node;
  if (!create || !grow((void **)&s->tails, &s->cap_tails, s->n_tails + 1, sizeof *s->tails))
    return NULL;
  s->tails[s->n_tails] =
      (stream_tail){.tenant = tenant, .partition = partition, .stream = stream, .node = NO_NODE};
  return &s->tails[s->n_tails++].node;
}

/* Marks the copy-in an input reference needs. */
static bool need_input(void *ctx, const Mtbundle__BufferRef *r, bool written) {
  build_state *s = ctx;
  if (r && r->kind == MTBUNDLE__BUFFER_REF__KIND__INPUT) s->copy_in[r->tenant][r->index] = 0;
  return true;
}

static bool dep_input(void *ctx, const Mtbundle__BufferRef *r, bool written) {
  build_state *s = ctx;
  if (r && r->kind == MTBUNDLE__BUFFER_REF__KIND__INPUT)
    return dep(&s->b, s->copy_in[r->tenant][r->index]);
  return true;
}

/* Depends on waited group w: its last node, or (left out of this graph) what it waited for. */
static bool dep_wait(build_state *s, int32_t w) {
  if (s->visit_mark[w] == s->generation) return true;
  s->visit_mark[w] = s->generation;
  if (s->included[w]) return dep(&s->b, s->last[w]);
  const Mtbundle__Group *gr = s->m->groups[w];
  for (size_t i = 0; i < gr->n_waits; i++)
    if (!dep_wait(s, gr->waits[i])) return false;
  return true;
}

static uint32_t emit_step(const Mtbundle__Manifest *m, builder *b, const Mtbundle__GpuStep *st,
                          size_t k, mt_gpu_node where);

/* The graph of body `body` (steps chained in order; an empty body is one JOIN), NULL when out of
 * memory. `where` gives the group, partition and stream its nodes run in. */
static mt_gpu_graph *build_body(const Mtbundle__Manifest *m, int32_t tenant, uint32_t body,
                                mt_gpu_node where) {
  builder b;
  if (!builder_init(&b, tenant, -1)) return NULL;
  b.g->scope = (int32_t)body;
  const Mtbundle__GpuBody *gb = m->gpu_bodies[body];
  uint32_t prev = NO_NODE;
  bool ok = true;
  if (gb->n_steps == 0) ok = emit(&b, where) != NO_NODE; /* `where` is a JOIN */
  for (size_t k = 0; ok && k < gb->n_steps; k++)
    ok = dep(&b, prev) && (prev = emit_step(m, &b, gb->steps[k], k, where)) != NO_NODE;
  free(b.pending);
  b.pending = NULL;
  if (ok) return b.g;
  builder_abandon(&b);
  return NULL;
}

/* Appends step k (of the builder's scope) with the pending dependencies; returns its last node
 * (a conditional's: the CONDITIONAL node, after its COND_SET), NO_NODE when out of memory. */
static uint32_t emit_step(const Mtbundle__Manifest *m, builder *b, const Mtbundle__GpuStep *st,
                          size_t k, mt_gpu_node where) {
  mt_gpu_node n = where;
  n.step = (int32_t)k;
  if (st->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH) {
    n.kind = MT_GPU_NODE_KERNEL;
    return emit(b, n);
  }
  if (st->step_case == MTBUNDLE__GPU_STEP__STEP_LIBCALL) {
    n.kind = MT_GPU_NODE_LIBCALL;
    return emit(b, n);
  }
  n.kind = MT_GPU_NODE_COND_SET;
  uint32_t set = emit(b, n);
  if (set == NO_NODE || !dep(b, set)) return NO_NODE;
  mt_gpu_graph *g = b->g;
  mt_gpu_graph **nb = realloc(g->bodies, (g->n_bodies + 2) * sizeof *nb);
  if (!nb) return NO_NODE;
  g->bodies = nb;
  mt_gpu_node join = where;
  join.kind = MT_GPU_NODE_JOIN;
  g->bodies[g->n_bodies] = build_body(m, g->tenant, st->conditional->then_body, join);
  if (!g->bodies[g->n_bodies]) return NO_NODE;
  g->n_bodies++;
  g->bodies[g->n_bodies] = build_body(m, g->tenant, st->conditional->else_body, join);
  if (!g->bodies[g->n_bodies]) return NO_NODE;
  g->n_bodies++;
  n.kind = MT_GPU_NODE_CONDITIONAL;
  n.body = (int32_t)g->n_bodies - 2;
  return emit(b, n);
}

static bool emit_group(build_state *s, size_t g) {
  const Mtbundle__Manifest *m = s->m;
  const Mtbundle__Group *gr = m->groups[g];
  const Mtbundle__GpuGroup *gg = m->gpu_groups[g];
  uint32_t *tail = tail_of(s, -1, gr->partition, gr->stream, true);
  if (!tail) return false;
  uint32_t prev = NO_NODE;
  size_t n_steps = gg->n_steps ? gg->n_steps : 1; /* JOIN for a group without steps */
  for (size_t k = 0; k < n_steps; k++) {
    if (k == 0) {
      if (!dep(&s->b, *tail)) return false;
      s->generation++;
      for (size_t i = 0; i < gr->n_waits; i++)
        if (!dep_wait(s, gr->waits[i])) return false;
    } else if (!dep(&s->b, prev)) {
      return false;
    }
    mt_gpu_node n = blank(MT_GPU_NODE_JOIN);
    n.group = (int32_t)g;
    n.partition = gr->partition;
    n.stream = gr->stream;
    if (gg->n_steps) {
      if (!for_each_ref(m, gg->steps[k], dep_input, s)) return false;
      prev = emit_step(m, &s->b, gg->steps[k], k, n);
    } else {
      prev = emit(&s->b, n);
    }
    if (prev == NO_NODE) return false;
  }
  *tail = s->last[g] = prev;
  /* the tenants of this group: their copy-outs follow it (the latest group per stream) */
  for (uint32_t i = 0; i < gr->n_nodes; i++) {
    int32_t t = m->nodes[gr->first_node + i]->tenant;
    if (s->tenant >= 0 && t != s->tenant) continue;
    uint32_t *tt = tail_of(s, t, gr->partition, gr->stream, true);
    if (!tt) return false;
    *tt = prev;
  }
  return true;
}

static bool tenant_in(const build_state *s, size_t t) {
  return s->tenant < 0 || (size_t)s->tenant == t;
}

/* The tenant's outputs and its END. */
static bool emit_tenant_end(build_state *s, size_t t) {
  const Mtbundle__Tenant *tn = s->m->tenants[t];
  uint32_t first_out = (uint32_t)s->b.g->n_nodes;
  for (size_t o = 0; o < tn->n_outputs; o++) {
    const Mtbundle__BufferRef *src = tn->outputs[o]->source;
    if (src->kind == MTBUNDLE__BUFFER_REF__KIND__INPUT) {
      if (!dep(&s->b, s->copy_in[src->tenant][src->index])) return false;
    } else if (src->kind != MTBUNDLE__BUFFER_REF__KIND__CONSTANT) {
      for (size_t i = 0; i < s->n_tails; i++)
        if (s->tails[i].tenant == (int32_t)t && !dep(&s->b, s->tails[i].node)) return false;
    }
    mt_gpu_node n = blank(MT_GPU_NODE_COPY_OUT);
    n.tenant = (int32_t)t;
    n.port = (int32_t)o;
    n.partition = tn->partition;
    if (emit(&s->b, n) == NO_NODE) return false;
  }
  for (uint32_t i = first_out; i < s->b.g->n_nodes; i++)
    if (!dep(&s->b, i)) return false;
  if (tn->n_outputs == 0)
    for (size_t i = 0; i < s->n_tails; i++)
      if (s->tails[i].tenant == (int32_t)t && !dep(&s->b, s->tails[i].node)) return false;
  mt_gpu_node end = blank(MT_GPU_NODE_END);
  end.tenant = (int32_t)t;
  end.partition = tn->partition;
  return emit(&s->b, end) != NO_NODE;
}

static void state_free(build_state *s) {
  if (s->copy_in)
    for (size_t t = 0; t < s->m->n_tenants; t++) free(s->copy_in[t]);
  free(s->copy_in);
  free(s->included);
  free(s->last);
  free(s->visit_mark);
  free(s->tails);
}

static bool build(build_state *s) {
  const Mtbundle__Manifest *m = s->m;
  size_t ng = m->n_groups, nt = m->n_tenants;
  s->included = calloc(ng + 1, sizeof *s->included);
  s->last = calloc(ng + 1, sizeof *s->last);
  s->visit_mark = calloc(ng + 1, sizeof *s->visit_mark);
  s->copy_in = calloc(nt, sizeof *s->copy_in);
  if (!s->included || !s->last || !s->visit_mark || !s->copy_in) return false;
  for (size_t t = 0; t < nt; t++) {
    size_t ni = m->tenants[t]->n_inputs;
    if (!(s->copy_in[t] = malloc((ni + 1) * sizeof **s->copy_in))) return false;
    for (size_t i = 0; i < ni; i++) s->copy_in[t][i] = tenant_in(s, t) ? 0 : NO_NODE;
  }
  /* which groups and which inputs this graph needs */
  for (size_t g = 0; g < ng; g++) {
    s->last[g] = NO_NODE;
    s->included[g] = s->tenant < 0 || group_has_tenant(m, g, s->tenant);
    for (size_t k = 0; s->included[g] && k < m->gpu_groups[g]->n_steps; k++)
      for_each_ref(m, m->gpu_groups[g]->steps[k], need_input, s);
  }
  for (size_t t = 0; t < nt; t++)
    for (size_t o = 0; tenant_in(s, t) && o < m->tenants[t]->n_outputs; o++)
      need_input(s, m->tenants[t]->outputs[o]->source, false);
  if (emit(&s->b, blank(MT_GPU_NODE_START)) == NO_NODE) return false;
  for (size_t t = 0; t < nt; t++)
    for (size_t i = 0; i < m->tenants[t]->n_inputs; i++) {
      if (s->copy_in[t][i] == NO_NODE) continue;
      mt_gpu_node n = blank(MT_GPU_NODE_COPY_IN);
      n.tenant = (int32_t)t;
      n.port = (int32_t)i;
      n.partition = m->tenants[t]->partition;
      if ((s->copy_in[t][i] = emit(&s->b, n)) == NO_NODE) return false;
    }
  for (size_t g = 0; g < ng; g++)
    if (s->included[g] && !emit_group(s, g)) return false;
  for (size_t t = 0; t < nt; t++)
    if (tenant_in(s, t) && !emit_tenant_end(s, t)) return false;
  return true;
}

mt_status *mt_gpu_graph_build(const Mtbundle__Manifest *m, int32_t tenant, mt_gpu_graph **out) {
  *out = NULL;
  if (tenant < -1 || (tenant >= 0 && (size_t)tenant >= m->n_tenants))
    return MT_ERR(OUT_OF_RANGE, "tenant index %d is out of range", tenant);
  MT_RETURN_IF_ERROR_PLAIN(check_gpu_plan(m));
  build_state s = {.m = m, .tenant = tenant};
  bool ok = builder_init(&s.b, tenant, -1) && build(&s);
  state_free(&s);
  free(s.b.pending);
  if (!ok) {
    mt_gpu_graph_free(s.b.g);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory building the CUDA Graph description");
  }
  *out = s.b.g;
  return NULL;
}

/* ---- splitting a graph by partition ---- */

typedef struct split_state {
  builder *pieces; /* per partition */
  uint32_t *index; /* per original node: its index in its piece */
  int32_t n_events;
} split_state;

static bool split_node(split_state *sp, const mt_gpu_graph *g, uint32_t v) {
  const mt_gpu_node *n = &g->nodes[v];
  builder *piece = &sp->pieces[n->partition];
  uint32_t *deps = NULL;
  size_t n_deps = 0, cap = 0;
  bool ok = true;
  /* cross edges first: each becomes a record after u in u's piece and a wait in v's */
  for (uint32_t k = 0; ok && k < n->n_deps; k++) {
    uint32_t u = g->deps[n->first_dep + k];
    int32_t pu = g->nodes[u].partition;
    uint32_t mapped;
    if (g->nodes[u].kind == MT_GPU_NODE_START) {
      mapped = 0;
    } else if (pu == n->partition) {
      mapped = sp->index[u];
    } else {
      mt_gpu_node rec = blank(MT_GPU_NODE_EVENT_RECORD), wait = blank(MT_GPU_NODE_EVENT_WAIT);
      rec.event = wait.event = sp->n_events++;
      rec.partition = pu;
      wait.partition = n->partition;
      ok = dep(&sp->pieces[pu], sp->index[u]) && emit(&sp->pieces[pu], rec) != NO_NODE &&
           (mapped = emit(piece, wait)) != NO_NODE;
    }
    ok = ok && grow((void **)&deps, &cap, n_deps + 1, sizeof *deps);
    if (ok) deps[n_deps++] = mapped;
  }
  for (size_t k = 0; ok && k < n_deps; k++) ok = dep(piece, deps[k]);
  free(deps);
  if (!ok) return false;
  mt_gpu_node copy = *n;
  return (sp->index[v] = emit(piece, copy)) != NO_NODE;
}

mt_status *mt_gpu_graph_split(const mt_gpu_graph *g, int32_t n_partitions, mt_gpu_graph **out) {
  for (int32_t p = 0; p < n_partitions; p++) out[p] = NULL;
  if (g->n_bodies)
    return MT_ERR(UNIMPLEMENTED,
                  "the graph has %zu conditional node(s); per-partition graphs "
                  "with conditional nodes are not built (their bodies are not split)",
                  g->n_bodies / 2);
  for (size_t v = 0; v < g->n_nodes; v++)
    if (g->nodes[v].kind != MT_GPU_NODE_START &&
        (g->nodes[v].partition < 0 || g->nodes[v].partition >= n_partitions))
      return MT_ERR(INTERNAL, "graph node %zu (%s) has partition %d of %d", v,
                    mt_gpu_node_kind_name(g->nodes[v].kind), g->nodes[v].partition, n_partitions);
  split_state sp = {.pieces = calloc((size_t)n_partitions + 1, sizeof *sp.pieces),
                    .index = calloc(g->n_nodes + 1, sizeof *sp.index)};
  bool ok = sp.pieces && sp.index;
  int32_t made = 0;
  for (; ok && made < n_partitions; made++) {
    ok = builder_init(&sp.pieces[made], g->tenant, made);
    mt_gpu_node start = blank(MT_GPU_NODE_START);
    start.partition = made;
    ok = ok && emit(&sp.pieces[made], start) != NO_NODE;
  }
  for (size_t v = 0; ok && v < g->n_nodes; v++)
    if (g->nodes[v].kind != MT_GPU_NODE_START) ok = split_node(&sp, g, (uint32_t)v);
  for (int32_t p = 0; p < made; p++) {
    if (ok) {
      sp.pieces[p].g->n_events = sp.n_events;
      out[p] = sp.pieces[p].g;
      free(sp.pieces[p].pending);
    } else {
      builder_abandon(&sp.pieces[p]);
    }
  }
  free(sp.pieces);
  free(sp.index);
  return ok ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory splitting the CUDA Graph");
}

/* ---- reachability ---- */

int mt_gpu_graph_reaches(const mt_gpu_graph *g, uint32_t a, uint32_t b) {
  if (a == b) return 1;
  if (a > b || b >= g->n_nodes) return 0; /* deps point backwards: a must come first */
  char *seen = calloc(g->n_nodes, 1);
  uint32_t *stack = malloc(g->n_nodes * sizeof *stack);
  int found = 0;
  size_t top = 0;
  if (!seen || !stack) goto done;
  stack[top++] = b;
  seen[b] = 1;
  while (top && !found) {
    uint32_t v = stack[--top];
    const mt_gpu_node *n = &g->nodes[v];
    for (uint32_t k = 0; k < n->n_deps; k++) {
      uint32_t u = g->deps[n->first_dep + k];
      if (u == a) found = 1;
      if (u > a && !seen[u]) {
        seen[u] = 1;
        stack[top++] = u;
      }
    }
  }
done:
  free(seen);
  free(stack);
  return found;
}

/* ---- lanes ---- */

typedef struct byte_range {
  int32_t space; /* -1 scratch, else the partition's arena */
  uint64_t begin, end;
  int32_t tenant;
  bool written;
} byte_range;

typedef struct lane_state {
  byte_range *ranges;
  size_t n, cap;
  int32_t tenant;
} lane_state;

static bool add_range(void *ctx, const Mtbundle__BufferRef *r, bool written) {
  lane_state *ls = ctx;
  if (!r ||
      (r->kind != MTBUNDLE__BUFFER_REF__KIND__ARENA &&
       r->kind != MTBUNDLE__BUFFER_REF__KIND__SCRATCH) ||
      r->size == 0)
    return true;
  if (!grow((void **)&ls->ranges, &ls->cap, ls->n + 1, sizeof *ls->ranges)) return false;
  ls->ranges[ls->n++] =
      (byte_range){.space = r->kind == MTBUNDLE__BUFFER_REF__KIND__SCRATCH ? -1 : r->partition,
                   .begin = r->offset,
                   .end = r->offset + r->size,
                   .tenant = ls->tenant,
                   .written = written};
  return true;
}

static int range_cmp(const void *a, const void *b) {
  const byte_range *x = a, *y = b;
  if (x->space != y->space) return x->space < y->space ? -1 : 1;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int32_t lane_find(int32_t *lane, int32_t t) {
  while (lane[t] != t) t = lane[t] = lane[lane[t]];
  return t;
}

static void lane_union(int32_t *lane, int32_t a, int32_t b) {
  a = lane_find(lane, a);
  b = lane_find(lane, b);
  if (a < b) lane[b] = a;
  if (b < a) lane[a] = b;
}

mt_status *mt_gpu_graph_lanes(const Mtbundle__Manifest *m, int32_t *out_lane) {
  MT_RETURN_IF_ERROR_PLAIN(check_gpu_plan(m));
  size_t nt = m->n_tenants;
  for (size_t t = 0; t < nt; t++) out_lane[t] = (int32_t)t;
  lane_state ls = {0};
  bool ok = true;
  for (size_t g = 0; ok && g < m->n_groups; g++) {
    const Mtbundle__Group *gr = m->groups[g];
    int32_t first = -1;
    for (uint32_t i = 0; i < gr->n_nodes; i++) {
      int32_t t = m->nodes[gr->first_node + i]->tenant;
      if (first < 0) first = t;
      lane_union(out_lane, first, t); /* a shared group runs whole in each member's graph */
    }
    for (size_t k = 0; ok && first >= 0 && k < m->gpu_groups[g]->n_steps; k++) {
      ls.tenant = first;
      ok = for_each_ref(m, m->gpu_groups[g]->steps[k], add_range, &ls);
    }
  }
  for (size_t t = 0; ok && t < nt; t++) {
    const Mtbundle__Tenant *tn = m->tenants[t];
    ls.tenant = (int32_t)t;
    for (size_t o = 0; ok && o < tn->n_outputs; o++) ok = add_range(&ls, tn->outputs[o]->source, 0);
  }
  if (ok) {
    qsort(ls.ranges, ls.n, sizeof *ls.ranges, range_cmp);
    /* sweep: each range against the later ones that start before it ends */
    for (size_t i = 0; i < ls.n; i++)
      for (size_t j = i + 1; j < ls.n && ls.ranges[j].space == ls.ranges[i].space &&
                             ls.ranges[j].begin < ls.ranges[i].end;
           j++)
        if (ls.ranges[i].written || ls.ranges[j].written)
          lane_union(out_lane, ls.ranges[i].tenant, ls.ranges[j].tenant);
    for (size_t t = 0; t < nt; t++) out_lane[t] = lane_find(out_lane, (int32_t)t);
  }
  free(ls.ranges);
  return ok ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory computing per-tenant graph lanes");
}
