/* assign-streams: per partition, streams for the concurrency the horizontal groups' DAG offers,
 * and the fewest cross-stream waits that keep every data dependency ordered.
 *
 * Following Nimble (Kwon et al., NeurIPS 2020): the most logical concurrency is a minimum chain
 * cover of the DAG, which is n minus a maximum matching of the bipartite graph (u -> v when v is
 * reachable from u, i.e. on the transitive closure). Each chain becomes a stream. A link along a
 * direct edge needs no wait, so the matching is built in phases that keep direct links where the
 * cover allows (see chain_cover). Beyond max_streams_per_partition the two
 * chains with the least predicted work are merged (by position, so each stream stays in
 * topological order) until the cap holds. Then every data edge between streams needs a wait,
 * except where stream order plus the waits already chosen imply it (transitive reduction):
 * groups are visited in position order with the set of groups that happen before each, and a
 * producer's wait is added only when the producer is not yet in that set, latest producers first.
 * Last, a cost-guided refinement: maximum concurrency is not always fastest (a wait costs
 * event_wait_us, and a short side chain can gain less than its waits cost), so pairs of streams
 * are merged while that lowers the predicted critical path (then the tenants' summed completion
 * times, then the wait count). The result is a heuristic, not a proven minimum of waits.
 *
 * Positions are renumbered 0..n-1 per partition in a topological order that keeps the incoming
 * position order (fusion's) wherever it is valid. Independent tenants never share a chain (no
 * path joins them), so they land on different streams unless the cap merges them. */
#include <stdlib.h>
#include <string.h>

#include "passes/pass_manager.h"
#include "plan/schedule.h"

typedef struct part_dag {
  int n;
  size_t words;            /* 64-bit words per bitset row */
  int32_t *ids;            /* local -> hgroup id, in position order */
  int32_t *pstart, *pred;  /* local CSR: direct predecessors */
  int32_t *sstart, *succ;  /* local CSR: direct successors */
  int32_t *rstart, *rsucc; /* direct successors that no other path reaches (transitive reduction) */
  uint64_t *reach;         /* row u: locals reachable from u */
} part_dag;

static bool bit_get(const uint64_t *row, int32_t i) { return (row[i / 64] >> (i % 64)) & 1; }
static void bit_set(uint64_t *row, int32_t i) { row[i / 64] |= 1ull << (i % 64); }

static void dag_free(part_dag *g) {
  free(g->ids);
  free(g->pstart);
  free(g->pred);
  free(g->sstart);
  free(g->succ);
  free(g->rstart);
  free(g->rsucc);
  free(g->reach);
  memset(g, 0, sizeof *g);
}

/* Builds the partition's DAG over local indices (position order) and its transitive closure. */
MT_MUST_USE static mt_status *dag_build(const mt_plan *p, const mt_hgroup_deps *d,
                                        const int32_t *local, const int32_t *ids, int n,
                                        part_dag *g) {
  memset(g, 0, sizeof *g);
  g->n = n;
  g->words = ((size_t)n + 63) / 64;
  g->ids = malloc(sizeof(int32_t) * ((size_t)n + 1));
  g->pstart = calloc((size_t)n + 2, sizeof(int32_t));
  g->sstart = calloc((size_t)n + 2, sizeof(int32_t));
  if (!g->ids || !g->pstart || !g->sstart) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  size_t ne = 0;
  for (int v = 0; v < n; v++) {
    g->ids[v] = ids[v];
    for (int32_t e = d->start[ids[v]]; e < d->start[ids[v] + 1]; e++)
      if (p->hgroups[d->pred[e]].partition == p->hgroups[ids[v]].partition) ne++;
  }
  g->pred = malloc(sizeof(int32_t) * (ne + 1));
  g->succ = malloc(sizeof(int32_t) * (ne + 1));
  if (g->words && (size_t)n > SIZE_MAX / 8 / g->words)
    return MT_ERR(RESOURCE_EXHAUSTED, "partition of %d groups is too large", n);
  g->reach = calloc((size_t)n * g->words + 1, sizeof(uint64_t));
  if (!g->pred || !g->succ || !g->reach)
    return MT_ERR(RESOURCE_EXHAUSTED,
                  "out of memory for the transitive closure of %d horizontal groups", n);
  size_t k = 0;
  for (int v = 0; v < n; v++) {
    g->pstart[v] = (int32_t)k;
    for (int32_t e = d->start[ids[v]]; e < d->start[ids[v] + 1]; e++) {
      int32_t u = d->pred[e];
      if (p->hgroups[u].partition != p->hgroups[ids[v]].partition) continue;
      if (local[u] >= v)
        return MT_ERR(INTERNAL, "assign-streams: order is not topological at horizontal group %d",
                      ids[v]);
      g->pred[k++] = local[u];
      g->sstart[local[u] + 1]++;
    }
  }
  g->pstart[n] = (int32_t)k;
  for (int u = 0; u < n; u++) g->sstart[u + 1] += g->sstart[u];
  int32_t *fill = malloc(sizeof(int32_t) * ((size_t)n + 1));
  if (!fill) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int u = 0; u < n; u++) fill[u] = g->sstart[u];
  /* visiting v in increasing order leaves every successor list sorted */
  for (int v = 0; v < n; v++)
    for (int32_t e = g->pstart[v]; e < g->pstart[v + 1]; e++) g->succ[fill[g->pred[e]]++] = v;
  free(fill);
  for (int u = n - 1; u >= 0; u--) {
    uint64_t *row = g->reach + (size_t)u * g->words;
    for (int32_t e = g->sstart[u]; e < g->sstart[u + 1]; e++) {
      int32_t v = g->succ[e];
      const uint64_t *src = g->reach + (size_t)v * g->words;
      for (size_t w = (size_t)v / 64; w < g->words; w++)
        row[w] |= src[w]; /* reach[v] holds only locals > v */
      bit_set(row, v);
    }
  }
  /* u -> v is redundant when another successor of u reaches v: a chain following it would skip
   * the groups on the longer path, so only the reduced edges are worth keeping inside a chain */
  g->rstart = malloc(sizeof(int32_t) * ((size_t)n + 1));
  g->rsucc = malloc(sizeof(int32_t) * (ne + 1));
  if (!g->rstart || !g->rsucc) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  k = 0;
  for (int u = 0; u < n; u++) {
    g->rstart[u] = (int32_t)k;
    for (int32_t e = g->sstart[u]; e < g->sstart[u + 1]; e++) {
      int32_t v = g->succ[e];
      bool implied = false;
      for (int32_t f = g->sstart[u]; f < g->sstart[u + 1] && !implied; f++)
        implied = g->succ[f] != v && bit_get(g->reach + (size_t)g->succ[f] * g->words, v);
      if (!implied) g->rsucc[k++] = v;
    }
  }
  g->rstart[n] = (int32_t)k;
  return NULL;
}

/* The next right vertex >= from that u reaches and no search has visited; -1 if none. */
static int32_t next_reachable(const part_dag *g, int32_t u, int32_t from, const uint64_t *visited) {
  if (from >= g->n) return -1;
  const uint64_t *row = g->reach + (size_t)u * g->words;
  size_t w = (size_t)from / 64;
  uint64_t bits = (row[w] & ~visited[w]) & (~0ull << (from % 64));
  for (;;) {
    if (bits) return (int32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
    if (++w >= g->words) return -1;
    bits = row[w] & ~visited[w];
  }
}

/* One augmenting-path search (Kuhn) from the unmatched left vertex u0, iterative: each stack
 * level is a left vertex with a cursor, first over its reduced direct successors, then (closure
 * set) over everything it reaches. Right vertices outside `allowed` (NULL: all) are never used. */
static bool augment(const part_dag *g, int32_t u0, bool closure, const uint64_t *allowed,
                    int32_t *match_l, int32_t *match_r, uint64_t *visited, int32_t *st_u,
                    int32_t *st_cur, int32_t *st_v) {
  for (size_t w = 0; w < g->words; w++) visited[w] = allowed ? ~allowed[w] : 0;
  int top = 0;
  st_u[0] = u0;
  st_cur[0] = 0;
  while (top >= 0) {
    int32_t u = st_u[top], v = -1;
    int32_t n_direct = g->rstart[u + 1] - g->rstart[u];
    while (st_cur[top] < n_direct && v < 0) {
      int32_t c = g->rsucc[g->rstart[u] + st_cur[top]++];
      if (!bit_get(visited, c)) v = c;
    }
    if (v < 0 && closure && st_cur[top] >= n_direct) {
      int32_t from = st_cur[top] - n_direct;
      v = next_reachable(g, u, from, visited);
      if (v >= 0) st_cur[top] = n_direct + v + 1;
    }
    if (v < 0) {
      top--;
      continue;
    }
    bit_set(visited, v);
    st_v[top] = v;
    if (match_r[v] < 0) {
      for (int k = top; k >= 0; k--) {
        match_r[st_v[k]] = st_u[k];
        match_l[st_u[k]] = st_v[k];
      }
      return true;
    }
    top++;
    st_u[top] = match_r[v];
    st_cur[top] = 0;
  }
  return false;
}

/* Minimum chain cover: chain[u] for every local u; returns the number of chains (-1: no memory).
 * A chain link along a reduced direct edge needs no wait, a link through the closure usually
 * does, so the maximum matching is built in three phases that keep direct links wherever the
 * cover allows: (1) a maximum matching on reduced direct edges (a path cover of the DAG); (2) the
 * paths it leaves joined end to start through the closure, without touching phase-1 links;
 * (3) any augmentation still possible on the full closure (rerouting phase-1 links only when the
 * minimum cover needs it). In each phase a left vertex that finds no augmenting path never
 * finds one later in that phase (Kuhn), so one pass per phase suffices. */
static int chain_cover(const part_dag *g, int32_t *chain) {
  int n = g->n;
  int32_t *match_l = malloc(sizeof(int32_t) * ((size_t)n + 1)),
          *match_r = malloc(sizeof(int32_t) * ((size_t)n + 1));
  int32_t *st_u = malloc(sizeof(int32_t) * ((size_t)n + 1)),
          *st_cur = malloc(sizeof(int32_t) * ((size_t)n + 1));
  int32_t *st_v = malloc(sizeof(int32_t) * ((size_t)n + 1));
  uint64_t *visited = malloc(sizeof(uint64_t) * (g->words + 1)),
           *free_r = calloc(g->words + 1, sizeof(uint64_t));
  int chains = -1;
  if (match_l && match_r && st_u && st_cur && st_v && visited && free_r) {
    for (int u = 0; u < n; u++) match_l[u] = match_r[u] = -1;
    for (int u = 0; u < n; u++) /* greedy start along reduced direct edges */
      for (int32_t e = g->rstart[u]; e < g->rstart[u + 1] && match_l[u] < 0; e++)
        if (match_r[g->rsucc[e]] < 0) {
          match_l[u] = g->rsucc[e];
          match_r[g->rsucc[e]] = u;
        }
    for (int u = 0; u < n; u++)
      if (match_l[u] < 0) augment(g, u, false, NULL, match_l, match_r, visited, st_u, st_cur, st_v);
    for (int v = 0; v < n; v++)
      if (match_r[v] < 0) bit_set(free_r, v);
    for (int u = 0; u < n; u++)
      if (match_l[u] < 0)
        augment(g, u, true, free_r, match_l, match_r, visited, st_u, st_cur, st_v);
    for (int u = 0; u < n; u++)
      if (match_l[u] < 0) augment(g, u, true, NULL, match_l, match_r, visited, st_u, st_cur, st_v);
    chains = 0;
    for (int u = 0; u < n; u++) chain[u] = -1;
    for (int u = 0; u < n; u++) {
      if (match_r[u] >= 0) continue; /* not a chain head */
      for (int32_t x = u; x >= 0; x = match_l[x]) chain[x] = chains;
      chains++;
    }
  }
  free(match_l);
  free(match_r);
  free(st_u);
  free(st_cur);
  free(st_v);
  free(visited);
  free(free_r);
  return chains;
}

/* Merges the two chains with the least predicted work until at most cap remain, then numbers
 * the survivors by their first group (stream 0 starts first). Returns the stream count. */
static int cap_and_number(const mt_plan *p, const part_dag *g, int32_t *chain, int chains,
                          int cap) {
  double *work = calloc((size_t)chains + 1, sizeof *work);
  int32_t *size = calloc((size_t)chains + 1, sizeof *size),
          *renum = malloc(sizeof(int32_t) * ((size_t)chains + 1));
  if (!work || !size || !renum) {
    free(work);
    free(size);
    free(renum);
    return -1;
  }
  for (int u = 0; u < g->n; u++) {
    work[chain[u]] += p->hgroups[g->ids[u]].cost.predicted_us;
    size[chain[u]]++;
  }
  int alive = chains;
  while (alive > cap) {
    int a = -1, b = -1; /* the two smallest live chains, a <= b by (work, size, id) */
    for (int c = 0; c < chains; c++) {
      if (size[c] == 0) continue;
#define MT_SMALLER(x, y)                                                                           \
  (work[x] < work[y] ||                                                                            \
   (work[x] == work[y] && (size[x] < size[y] || (size[x] == size[y] && x < y))))
      if (a < 0 || MT_SMALLER(c, a)) {
        b = a;
        a = c;
      } else if (b < 0 || MT_SMALLER(c, b)) {
        b = c;
      }
#undef MT_SMALLER
    }
    int keep = a < b ? a : b, gone = a < b ? b : a;
    for (int u = 0; u < g->n; u++)
      if (chain[u] == gone) chain[u] = keep;
    work[keep] += work[gone];
    size[keep] += size[gone];
    size[gone] = 0;
    alive--;
  }
  for (int c = 0; c < chains; c++) renum[c] = -1;
  int streams = 0;
  for (int u = 0; u < g->n; u++) {
    if (renum[chain[u]] < 0) renum[chain[u]] = streams++;
    chain[u] = renum[chain[u]];
  }
  free(work);
  free(size);
  free(renum);
  return streams;
}

static int cmp_desc(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x < y) - (x > y);
}

/* Scratch space for evaluating one stream assignment of a partition. */
typedef struct wait_ws {
  uint64_t *hb;    /* row v: locals that happen before v */
  int32_t *last;   /* per stream: latest local so far */
  int32_t *wstart; /* n + 1: waits of v are wlist[wstart[v] .. wstart[v + 1]) */
  int32_t *wlist;  /* as many as there are edges */
  double *finish;
  double *tenant_done; /* per tenant: finish of its last group */
} wait_ws;

static void ws_free(wait_ws *ws) {
  free(ws->hb);
  free(ws->last);
  free(ws->wstart);
  free(ws->wlist);
  free(ws->finish);
  free(ws->tenant_done);
}

static bool ws_init(wait_ws *ws, const mt_plan *p, const part_dag *g) {
  int n = g->n;
  ws->tenant_done = calloc((size_t)mt_module_tenant_count(p->module) + 1, sizeof(double));
  ws->hb = malloc(sizeof(uint64_t) * ((size_t)n * g->words + 1));
  ws->last = malloc(sizeof(int32_t) * ((size_t)n + 1));
  ws->wstart = malloc(sizeof(int32_t) * ((size_t)n + 2));
  ws->wlist = malloc(sizeof(int32_t) * ((size_t)g->pstart[n] + 1));
  ws->finish = malloc(sizeof(double) * ((size_t)n + 1));
  return ws->hb && ws->last && ws->wstart && ws->wlist && ws->finish && ws->tenant_done;
}

/* Chooses the waits for stream[] (see the file comment) and returns the schedule's predicted
 * critical path (the same model as the cost model's makespan: a group starts when its stream
 * predecessor is done and each group it waits for is done plus event_wait_us). *n_waits gets the
 * total, *tenant_sum the sum over the partition's tenants of when each finishes. */
static double choose_waits(const mt_plan *p, const part_dag *g, const int32_t *stream, int streams,
                           wait_ws *ws, int *n_waits, double *tenant_sum) {
  int n = g->n;
  double path = 0;
  int total = 0;
  int32_t nt = mt_module_tenant_count(p->module);
  for (int32_t t = 0; t < nt; t++) ws->tenant_done[t] = 0;
  for (int s = 0; s < streams; s++) ws->last[s] = -1;
  for (int v = 0; v < n; v++) {
    uint64_t *row = ws->hb + (size_t)v * g->words;
    memset(row, 0, sizeof(uint64_t) * ((size_t)v / 64 + 1)); /* only locals < v can be set */
    int32_t prev = ws->last[stream[v]];
    double start = 0;
    if (prev >= 0) {
      const uint64_t *src = ws->hb + (size_t)prev * g->words;
      for (size_t w = 0; w <= (size_t)prev / 64; w++) row[w] |= src[w];
      bit_set(row, prev);
      start = ws->finish[prev];
    }
    ws->last[stream[v]] = v;
    int32_t *cand = ws->wlist + total;
    int nc = 0;
    for (int32_t e = g->pstart[v]; e < g->pstart[v + 1]; e++)
      if (stream[g->pred[e]] != stream[v]) cand[nc++] = g->pred[e];
    qsort(cand, (size_t)nc, sizeof *cand,
          cmp_desc); /* a later producer can imply an earlier one, never the reverse */
    int nw = 0;
    for (int i = 0; i < nc; i++) {
      int32_t u = cand[i];
      if (bit_get(row, u)) continue;
      const uint64_t *src = ws->hb + (size_t)u * g->words;
      for (size_t w = 0; w <= (size_t)u / 64; w++) row[w] |= src[w];
      bit_set(row, u);
      cand[nw++] = u;
      double t = ws->finish[u] + p->arch->event_wait_us;
      if (t > start) start = t;
    }
    ws->wstart[v] = total;
    total += nw;
    const mt_horizontal_group *hg = &p->hgroups[g->ids[v]];
    ws->finish[v] = start + hg->cost.predicted_us;
    if (ws->finish[v] > path) path = ws->finish[v];
    for (int k = 0; k < hg->n_members; k++) {
      double *done = &ws->tenant_done[p->groups[hg->members[k]].tenant];
      if (ws->finish[v] > *done) *done = ws->finish[v];
    }
  }
  ws->wstart[n] = total;
  *n_waits = total;
  *tenant_sum = 0;
  for (int32_t t = 0; t < nt; t++) *tenant_sum += ws->tenant_done[t];
  return path;
}

/* Renumbers streams by first appearance in position order; returns the count. */
static int renumber(int32_t *stream, int n, int32_t *map, int max_streams) {
  for (int s = 0; s < max_streams; s++) map[s] = -1;
  int k = 0;
  for (int u = 0; u < n; u++) {
    if (map[stream[u]] < 0) map[stream[u]] = k++;
    stream[u] = map[stream[u]];
  }
  return k;
}

/* Cost-guided refinement: the chain cover maximises concurrency, but a wait costs event_wait_us
 * and a short side chain may gain less than its waits cost. Repeatedly apply the merge of two
 * streams that improves the schedule most, compared by the predicted critical path, then the sum
 * of the tenants' completion times (a merge that delays a tenant off the critical path still
 * costs that tenant), then the number of waits; stop when no merge improves it. At most cap
 * streams, so a round tries at most cap*(cap-1)/2 merges. */
typedef struct sched_score {
  double path, tenants;
  int waits;
} sched_score;

static bool score_better(const sched_score *x, const sched_score *y) {
  double tol = 1e-9 * (y->path > 1 ? y->path : 1);
  if (x->path < y->path - tol) return true;
  if (x->path > y->path + tol) return false;
  tol = 1e-9 * (y->tenants > 1 ? y->tenants : 1);
  if (x->tenants < y->tenants - tol) return true;
  if (x->tenants > y->tenants + tol) return false;
  return x->waits < y->waits;
}

static void refine(const mt_plan *p, const part_dag *g, int32_t *stream, int *streams, wait_ws *ws,
                   int32_t *trial, int32_t *map) {
  int n = g->n;
  sched_score best;
  best.path = choose_waits(p, g, stream, *streams, ws, &best.waits, &best.tenants);
  while (*streams > 1) {
    int ba = -1, bb = -1;
    for (int a = 0; a < *streams; a++)
      for (int b = a + 1; b < *streams; b++) {
        for (int u = 0; u < n; u++) trial[u] = stream[u] == b ? a : stream[u];
        sched_score sc;
        sc.path = choose_waits(p, g, trial, *streams, ws, &sc.waits, &sc.tenants);
        if (score_better(&sc, &best)) {
          best = sc;
          ba = a;
          bb = b;
        }
      }
    if (ba < 0) break;
    for (int u = 0; u < n; u++)
      if (stream[u] == bb) stream[u] = ba;
    *streams = renumber(stream, n, map, *streams);
  }
}

MT_MUST_USE static mt_status *assign_partition(mt_plan *p, const mt_hgroup_deps *d,
                                               const int32_t *local, const int32_t *ids, int n,
                                               int32_t part) {
  mt_partition_plan *pp = &p->partitions[part];
  pp->n_streams = 0;
  if (n == 0) return NULL;
  part_dag g;
  wait_ws ws = {0};
  mt_status *st = dag_build(p, d, local, ids, n, &g);
  int32_t *stream = malloc(sizeof(int32_t) * ((size_t)n + 1)),
          *trial = malloc(sizeof(int32_t) * ((size_t)n + 1));
  int32_t *map = malloc(sizeof(int32_t) * ((size_t)n + 1));
  if (!st && (!stream || !trial || !map || !ws_init(&ws, p, &g)))
    st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory for the schedule of %d horizontal groups", n);
  int chains = st ? -1 : chain_cover(&g, stream);
  if (!st && chains < 0) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  int cap = p->arch->max_streams_per_partition > 0 ? p->arch->max_streams_per_partition : 1;
  int streams = st ? -1 : cap_and_number(p, &g, stream, chains, cap);
  if (!st && streams < 0) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) {
    refine(p, &g, stream, &streams, &ws, trial, map);
    int nw;
    double tenants;
    choose_waits(p, &g, stream, streams, &ws, &nw, &tenants);
    for (int u = 0; !st && u < n; u++) {
      mt_horizontal_group *hg = &p->hgroups[ids[u]];
      hg->stream = stream[u];
      int k = ws.wstart[u + 1] - ws.wstart[u];
      hg->n_waits = k;
      hg->waits = k ? mt_arena_array(&p->arena, (size_t)k, sizeof(int32_t)) : NULL;
      if (k && !hg->waits) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      for (int i = 0; hg->waits && i < k; i++)
        hg->waits[i] = ids[ws.wlist[ws.wstart[u + 1] - 1 - i]]; /* ascending position */
    }
    pp->n_streams = streams;
  }
  free(stream);
  free(trial);
  free(map);
  ws_free(&ws);
  dag_free(&g);
  return st ? mt_status_annotate(st, "partition '%s'", pp->name) : NULL;
}

mt_status *mt_pass_assign_streams(mt_pass_ctx *ctx) {
  mt_plan *p = ctx->plan;
  int n = p->n_hgroups;
  mt_hgroup_deps d;
  MT_RETURN_IF_ERROR_PLAIN(mt_schedule_deps_build(p, &d));
  int32_t *order = malloc(sizeof(int32_t) * ((size_t)n + 1)),
          *local = malloc(sizeof(int32_t) * ((size_t)n + 1));
  mt_status *st = (!order || !local) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  if (!st) st = mt_schedule_topo_order(p, &d, order);
  /* order is grouped by partition: renumber positions per partition, then schedule each */
  int begin = 0;
  while (!st && begin < n) {
    int32_t part = p->hgroups[order[begin]].partition;
    if (p->partitions[part].n_streams < 0) {
      st = MT_ERR(INTERNAL, "assign-streams: partition '%s' depends on another partition",
                  p->partitions[part].name);
      break;
    }
    p->partitions[part].n_streams = -1; /* marks it visited until assign_partition sets it */
    int end = begin;
    while (end < n && p->hgroups[order[end]].partition == part) {
      local[order[end]] = end - begin;
      p->hgroups[order[end]].position = end - begin;
      end++;
    }
    st = assign_partition(p, &d, local, order + begin, end - begin, part);
    begin = end;
  }
  for (int i = 0; !st && i < p->n_partitions; i++) {
    bool any = false;
    for (int h = 0; h < n && !any; h++) any = p->hgroups[h].partition == i;
    if (!any) p->partitions[i].n_streams = 0;
  }
  free(order);
  free(local);
  mt_schedule_deps_free(&d);
  /* makespans now follow the streams and waits; then check that every dependency is ordered */
  if (!st) st = mt_cost_model_estimate(p);
  if (!st) st = mt_schedule_check(p);
  return st;
}
