/* fuse-horizontal: launches independent fused groups of different tenants of one partition
 * together, and gives every horizontal group its position in the partition's schedule.
 *
 * List scheduling over the group DAG of each partition (all its tenants together): take the
 * ready set, split it into compatible classes, form one horizontal group per class with one
 * member per tenant (a tenant's other members of the class wait for the next round), schedule
 * them, repeat. Classes:
 *   GEMM-like with identical shapes and epilogue  -> BATCHED_GEMM
 *   GEMM-like, same epilogue structure, shapes differ -> GROUPED_GEMM
 *   convolutions with identical parameters, shapes and epilogue (weights differ) -> GROUPED_CONV
 *   elementwise and reduction groups -> MULTI_BODY (at most 16 bodies, shared memory and
 *   registers within a conservative per-body estimate)
 *   data movement and the rest -> launched alone.
 * A horizontal group is kept only when the estimate says one launch beats the members launched
 * one after another (launch overhead saved against imbalance and grouped-kernel overhead).
 * Every pairing considered and not made is recorded with mt_plan_reject. Tenants never depend on
 * each other, and rounds follow each tenant's dependencies, so the schedule stays acyclic and
 * every tenant's order is kept; results are unchanged (the same nodes run in a valid order). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/fusion_internal.h"
#include "passes/pass_manager.h"

#define PASS_NAME "fuse-horizontal"
#define MAX_MEMBERS 16
#define MAX_BODY_REGISTERS 128 /* keep a multi-body kernel at >= 50% occupancy */

typedef enum hclass {
  HCLASS_GEMM,
  HCLASS_CONV,
  HCLASS_MULTI_BODY,
  HCLASS_ALONE,
} hclass;

typedef struct hstate {
  mt_plan *p;
  const mt_module *m;
  int n;               /* fused groups */
  int32_t *n_preds;    /* per group: unscheduled predecessors */
  int32_t *succ_start; /* CSR successors */
  int32_t *succ;
  mt_cost *cost;  /* per group, alone */
  uint8_t *done;  /* per group: scheduled */
  int32_t *ready; /* current ready set */
  int n_ready;
  int32_t *round;   /* scratch: this round's ready groups */
  int32_t *cls;     /* scratch: class of each round entry */
  uint8_t *emitted; /* scratch: per round entry */
  int32_t *chosen;  /* scratch */
  int32_t *pairs;   /* scratch: pairs recorded as rejected this round */
  int n_pairs;
  mt_horizontal_group *out;
  int n_out;
  int32_t position; /* next position in the current partition */
  mt_status *err;
} hstate;

static hclass class_of(const mt_fused_group *g) {
  switch (g->kind) {
  case MT_GROUP_GEMM: return HCLASS_GEMM;
  case MT_GROUP_CONV: return HCLASS_CONV;
  case MT_GROUP_ELEMENTWISE:
  case MT_GROUP_REDUCTION: return HCLASS_MULTI_BODY;
  default: return HCLASS_ALONE;
  }
}

static const char *anchor_str(const hstate *s, int32_t gi, char *buf, size_t size) {
  const mt_fused_group *g = &s->p->groups[gi];
  return mt_fusion_node_str(s->m, g->anchor >= 0 ? g->anchor : g->nodes[0], buf, size);
}

static void reject_pair(hstate *s, int32_t a, int32_t b, const char *reason) {
  char x[320], y[320], what[700];
  snprintf(what, sizeof what, "%s + %s", anchor_str(s, a, x, sizeof x),
           anchor_str(s, b, y, sizeof y));
  if (!s->err) s->err = mt_plan_reject(s->p, PASS_NAME, what, reason);
}

/* Why groups a and b (ready together, different tenants) cannot share a launch; NULL if they can
 * as far as the kinds and shapes go. */
static const char *incompatibility(const hstate *s, int32_t a, int32_t b, char *buf, size_t size) {
  const mt_fused_group *ga = &s->p->groups[a], *gb = &s->p->groups[b];
  hclass ca = class_of(ga), cb = class_of(gb);
  if (ca != cb) {
    snprintf(buf, size, "incompatible kinds (%s vs %s)", mt_group_kind_name(ga->kind),
             mt_group_kind_name(gb->kind));
    return buf;
  }
  char diff[400];
  const char *why = NULL;
  switch (ca) {
  case HCLASS_GEMM:
    why = mt_fusion_groups_differ(s->m, ga, gb, false, diff, sizeof diff);
    if (why) snprintf(buf, size, "GEMM epilogues differ: %s", why);
    return why ? buf : NULL;
  case HCLASS_CONV:
    why = mt_fusion_groups_differ(s->m, ga, gb, true, diff, sizeof diff);
    if (why) snprintf(buf, size, "conv parameters differ: %s", why);
    return why ? buf : NULL;
  case HCLASS_MULTI_BODY: return NULL;
  case HCLASS_ALONE:
    snprintf(buf, size, "%s groups are launched alone", mt_group_kind_name(ga->kind));
    return buf;
  }
  return NULL;
}

/* --- profitability and resources --- */

static double kind_overhead(mt_hgroup_kind k) {
  switch (k) {
  case MT_HGROUP_GROUPED_GEMM: return 1.03; /* per-problem scheduling in a grouped GEMM */
  case MT_HGROUP_MULTI_BODY: return 1.02;   /* body dispatch on the block index */
  default: return 1.0;                      /* identical problems: a batch dimension */
  }
}

/* Predicted times of the members launched together and one after another. */
static void estimate(const hstate *s, mt_hgroup_kind kind, const int32_t *members, int n, int sms,
                     double *fused_us, double *separate_us, mt_cost *fused_cost) {
  const mt_arch_params *a = s->p->arch;
  memset(fused_cost, 0, sizeof *fused_cost);
  double longest = 0, separate = 0;
  for (int i = 0; i < n; i++) {
    const mt_cost *c = &s->cost[members[i]];
    mt_fusion_cost_add(fused_cost, c, a);
    separate += mt_cost_time_us(a, c, sms);
    double w = mt_fusion_work_us(a, c, sms);
    if (w > longest) longest = w;
  }
  double work = mt_fusion_work_us(a, fused_cost, sms) * kind_overhead(kind);
  /* the launch ends with its longest member, however the blocks are spread */
  *fused_us = mt_fusion_launch_us(a, sms) + (work > longest ? work : longest);
  *separate_us = separate;
  fused_cost->predicted_us = *fused_us;
}

/* Drops members (into singles) until the multi-body kernel fits the resource limits. */
static int fit_resources(hstate *s, int32_t *members, int n, int32_t *dropped, int *n_dropped) {
  const mt_arch_params *a = s->p->arch;
  int kept = 0;
  for (int i = 0; i < n; i++) {
    mt_fusion_body_resources r;
    mt_fusion_body_resources_of(s->p, &s->p->groups[members[i]], &r);
    char why[256] = "";
    if (kept >= MAX_MEMBERS)
      snprintf(why, sizeof why, "a multi-body kernel takes at most %d bodies", MAX_MEMBERS);
    else if (r.shared_bytes > a->max_shared_bytes_per_block)
      snprintf(why, sizeof why,
               "its body needs %d bytes of shared memory per block, more than the %d of %s",
               r.shared_bytes, a->max_shared_bytes_per_block, a->name);
    else if (r.registers > MAX_BODY_REGISTERS)
      snprintf(why, sizeof why, "its body needs an estimated %d registers per thread (limit %d)",
               r.registers, MAX_BODY_REGISTERS);
    if (why[0]) {
      reject_pair(s, members[i], members[0], why);
      dropped[(*n_dropped)++] = members[i];
    } else {
      members[kept++] = members[i];
    }
  }
  return kept;
}

/* --- emitting --- */

static void emit(hstate *s, mt_hgroup_kind kind, int32_t partition, const int32_t *members, int n,
                 const mt_cost *cost) {
  if (s->err) return;
  mt_horizontal_group *hg = &s->out[s->n_out];
  memset(hg, 0, sizeof *hg);
  hg->kind = n > 1 ? kind : MT_HGROUP_SINGLE;
  hg->partition = partition;
  hg->n_members = n;
  hg->members = mt_arena_array(&s->p->arena, (size_t)n, sizeof(int32_t));
  if (!hg->members) {
    s->err = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  memcpy(hg->members, members, (size_t)n * sizeof(int32_t));
  hg->stream = -1;
  hg->position = s->position++;
  hg->cost = *cost;
  for (int i = 0; i < n; i++) {
    s->p->groups[members[i]].hgroup = s->n_out;
    s->done[members[i]] = 1;
  }
  s->n_out++;
}

static void emit_single(hstate *s, int32_t partition, int32_t g) {
  mt_cost c = s->cost[g];
  c.predicted_us = mt_cost_time_us(s->p->arch, &c, s->p->partitions[partition].sm_count);
  emit(s, MT_HGROUP_SINGLE, partition, &g, 1, &c);
}

static mt_hgroup_kind hkind_for(const hstate *s, hclass c, const int32_t *members, int n) {
  if (c == HCLASS_CONV) return MT_HGROUP_GROUPED_CONV;
  if (c == HCLASS_MULTI_BODY) return MT_HGROUP_MULTI_BODY;
  char buf[256];
  for (int i = 1; i < n; i++)
    if (mt_fusion_groups_differ(s->m, &s->p->groups[members[0]], &s->p->groups[members[i]], true,
                                buf, sizeof buf))
      return MT_HGROUP_GROUPED_GEMM;
  return MT_HGROUP_BATCHED_GEMM;
}

/* Forms and emits the horizontal group of one class: `members` has one group per tenant. */
static void emit_class(hstate *s, hclass c, int32_t partition, int32_t *members, int n) {
  int32_t dropped[MAX_MEMBERS * 4 + 64];
  int n_dropped = 0;
  int32_t *extra = NULL;
  if (n > (int)(sizeof dropped / sizeof *dropped) / 2) {
    extra = malloc((size_t)n * sizeof *extra); /* more tenants than the stack buffer holds */
    if (!extra) {
      s->err = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      return;
    }
  }
  int32_t *drop = extra ? extra : dropped;
  if (c == HCLASS_MULTI_BODY)
    n = fit_resources(s, members, n, drop, &n_dropped);
  else if (n > MAX_MEMBERS) {
    for (int i = MAX_MEMBERS; i < n; i++) {
      reject_pair(s, members[i], members[0], "a grouped launch takes at most 16 members");
      drop[n_dropped++] = members[i];
    }
    n = MAX_MEMBERS;
  }
  int sms = s->p->partitions[partition].sm_count;
  mt_cost fused_cost;
  while (n >= 2) {
    mt_hgroup_kind kind = hkind_for(s, c, members, n);
    double fused, separate;
    estimate(s, kind, members, n, sms, &fused, &separate, &fused_cost);
    if (fused < separate) {
      emit(s, kind, partition, members, n, &fused_cost);
      break;
    }
    /* not profitable: the biggest member dominates; launch it alone and retry the rest */
    int big = 0;
    for (int i = 1; i < n; i++)
      if (mt_fusion_work_us(s->p->arch, &s->cost[members[i]], sms) >
          mt_fusion_work_us(s->p->arch, &s->cost[members[big]], sms))
        big = i;
    char why[256];
    snprintf(why, sizeof why,
             "not profitable: one %s launch of %d groups %.2f us vs %.2f us launched separately",
             mt_hgroup_kind_name(kind), n, fused, separate);
    reject_pair(s, members[big], members[big == 0 ? 1 : 0], why);
    drop[n_dropped++] = members[big];
    members[big] = members[--n];
  }
  if (n == 1) emit_single(s, partition, members[0]);
  for (int i = 0; i < n_dropped; i++) emit_single(s, partition, drop[i]);
  free(extra);
}

/* One list-scheduling round over the ready set of a partition. */
static void schedule_round(hstate *s, int32_t partition) {
  const mt_plan *p = s->p;
  int n = s->n_ready;
  memcpy(s->round, s->ready, (size_t)n * sizeof *s->round);
  s->n_ready = 0;
  memset(s->emitted, 0, (size_t)n);
  s->n_pairs = 0;
  /* classes: cls[i] = index of the class representative in round */
  for (int i = 0; i < n; i++) {
    s->cls[i] = i;
    hclass ci = class_of(&p->groups[s->round[i]]);
    if (ci == HCLASS_ALONE) continue;
    for (int j = 0; j < i; j++) {
      if (s->cls[j] != j || class_of(&p->groups[s->round[j]]) != ci) continue;
      char buf[512];
      if (!incompatibility(s, s->round[j], s->round[i], buf, sizeof buf)) {
        s->cls[i] = j;
        break;
      }
    }
  }
  for (int i = 0; i < n; i++) {
    if (s->cls[i] != i) continue;
    int nc = 0;
    hclass c = class_of(&p->groups[s->round[i]]);
    /* one member per tenant; a tenant's later members wait for the next round */
    for (int j = i; j < n; j++) {
      if (s->cls[j] != i) continue;
      int32_t g = s->round[j];
      bool dup = false;
      for (int k = 0; k < nc; k++)
        dup = dup || p->groups[s->chosen[k]].tenant == p->groups[g].tenant;
      if (!dup) {
        s->chosen[nc++] = g;
        s->emitted[j] = 1;
      }
    }
    if (nc >= 2 && c != HCLASS_ALONE) {
      emit_class(s, c, partition, s->chosen, nc);
    } else {
      /* a single tenant: nothing to pair with this round, so launch all of it now */
      for (int j = i; j < n; j++)
        if (s->cls[j] == i) {
          s->emitted[j] = 1;
          emit_single(s, partition, s->round[j]);
          /* record why it found no partner among the other tenants' ready groups */
          int32_t g = s->round[j], partner = -1;
          for (int k = 0; k < n; k++) {
            int32_t h = s->round[k];
            if (p->groups[h].tenant == p->groups[g].tenant) continue;
            if (partner < 0 || (class_of(&p->groups[h]) == c && class_of(&p->groups[partner]) != c))
              partner = h;
          }
          /* a copy kernel next to a different kind was never a candidate */
          if (partner >= 0 && c == HCLASS_ALONE && class_of(&p->groups[partner]) != HCLASS_ALONE)
            partner = -1;
          bool seen = false; /* a and b both alone: one record for the pair */
          for (int k = 0; k < s->n_pairs && !seen; k++)
            seen = (s->pairs[2 * k] == g && s->pairs[2 * k + 1] == partner) ||
                   (s->pairs[2 * k] == partner && s->pairs[2 * k + 1] == g);
          if (partner >= 0 && !seen) {
            s->pairs[2 * s->n_pairs] = g;
            s->pairs[2 * s->n_pairs + 1] = partner;
            s->n_pairs++;
            char buf[512];
            const char *why = incompatibility(s, g, partner, buf, sizeof buf);
            reject_pair(s, g, partner,
                        why ? why : "no compatible group of another tenant was ready");
          }
        }
    }
  }
  /* deferred members go back to the ready set; successors of what ran become ready */
  for (int i = 0; i < n; i++)
    if (!s->emitted[i]) s->ready[s->n_ready++] = s->round[i];
  for (int i = 0; i < n; i++) {
    if (!s->emitted[i]) continue;
    int32_t g = s->round[i];
    for (int32_t e = s->succ_start[g]; e < s->succ_start[g + 1]; e++)
      if (--s->n_preds[s->succ[e]] == 0) s->ready[s->n_ready++] = s->succ[e];
  }
  /* keep the ready set in group order (tenant, then position): deterministic rounds */
  for (int i = 1; i < s->n_ready; i++)
    for (int j = i; j > 0 && s->ready[j - 1] > s->ready[j]; j--) {
      int32_t t = s->ready[j];
      s->ready[j] = s->ready[j - 1];
      s->ready[j - 1] = t;
    }
}

/* --- driver --- */

MT_MUST_USE static mt_status *build_dag(hstate *s) {
  const mt_plan *p = s->p;
  int n = s->n;
  int32_t *stamp = malloc(((size_t)n + 1) * sizeof *stamp);
  s->succ_start = calloc((size_t)n + 2, sizeof *s->succ_start);
  if (!stamp || !s->succ_start) {
    free(stamp);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < n; i++) stamp[i] = -1;
    int32_t *fill = NULL;
    if (pass == 1) {
      for (int i = 0; i < n; i++) s->succ_start[i + 1] += s->succ_start[i];
      s->succ = malloc(((size_t)s->succ_start[n] + 1) * sizeof *s->succ);
      fill = malloc(((size_t)n + 1) * sizeof *fill);
      if (!s->succ || !fill) {
        free(fill);
        free(stamp);
        return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      }
      memcpy(fill, s->succ_start, (size_t)n * sizeof *fill);
    }
    for (int gi = 0; gi < n; gi++) {
      const mt_fused_group *fg = &p->groups[gi];
      for (int i = 0; i < fg->n_inputs; i++) {
        int32_t prod = mt_module_value_c(s->m, fg->inputs[i])->producer;
        int32_t pg = prod >= 0 ? p->group_of_node[prod] : -1;
        if (pg < 0 || pg == gi || stamp[pg] == gi) continue;
        stamp[pg] = gi;
        if (pass == 0) {
          s->succ_start[pg + 1]++;
          s->n_preds[gi]++;
        } else {
          s->succ[fill[pg]++] = gi;
        }
      }
    }
    free(fill);
  }
  free(stamp);
  return NULL;
}

MT_MUST_USE static mt_status *reject_partitions(hstate *s) {
  const mt_module *m = s->m;
  int32_t nt = mt_module_tenant_count(m);
  for (int32_t a = 0; a < nt; a++)
    for (int32_t b = a + 1; b < nt; b++) {
      int32_t pa = s->p->tenant_partition[a], pb = s->p->tenant_partition[b];
      if (pa == pb) continue;
      char what[512], why[512];
      snprintf(what, sizeof what, "tenant '%s' + tenant '%s'", mt_module_tenant_c(m, a)->name,
               mt_module_tenant_c(m, b)->name);
      snprintf(why, sizeof why,
               "different SM partitions ('%s' vs '%s'): their groups are never launched together",
               s->p->partitions[pa].name, s->p->partitions[pb].name);
      MT_RETURN_IF_ERROR_PLAIN(mt_plan_reject(s->p, PASS_NAME, what, why));
    }
  return NULL;
}

static void state_free(hstate *s) {
  free(s->n_preds);
  free(s->succ_start);
  free(s->succ);
  free(s->cost);
  free(s->done);
  free(s->ready);
  free(s->round);
  free(s->cls);
  free(s->emitted);
  free(s->chosen);
  free(s->pairs);
  free(s->out);
}

mt_status *mt_pass_fuse_horizontal(mt_pass_ctx *ctx) {
  mt_plan *p = ctx->plan;
  if (!p) return MT_ERR(INTERNAL, "fuse-horizontal runs on a plan");
  MT_RETURN_IF_ERROR_PLAIN(mt_plan_refresh_groups(p));
  hstate s = {.p = p, .m = p->module, .n = p->n_groups};
  size_t n1 = (size_t)s.n + 1;
  s.n_preds = calloc(n1, sizeof *s.n_preds);
  s.cost = calloc(n1, sizeof *s.cost);
  s.done = calloc(n1, 1);
  s.ready = malloc(n1 * sizeof *s.ready);
  s.round = malloc(n1 * sizeof *s.round);
  s.cls = malloc(n1 * sizeof *s.cls);
  s.emitted = malloc(n1);
  s.chosen = malloc(n1 * sizeof *s.chosen);
  s.pairs = malloc(2 * n1 * sizeof *s.pairs);
  s.out = calloc(n1, sizeof *s.out);
  mt_status *st = NULL;
  if (!s.n_preds || !s.cost || !s.done || !s.ready || !s.round || !s.cls || !s.emitted ||
      !s.chosen || !s.pairs || !s.out)
    st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) st = build_dag(&s);
  /* the shared cost model estimates every fused group alone (hgroups are still singletons) */
  if (!st) st = mt_cost_model_estimate(p);
  for (int i = 0; !st && i < s.n; i++) s.cost[i] = p->groups[i].cost;
  if (!st) st = reject_partitions(&s);
  for (int32_t part = 0; !st && part < p->n_partitions; part++) {
    s.position = 0;
    s.n_ready = 0;
    for (int i = 0; i < s.n; i++)
      if (p->tenant_partition[p->groups[i].tenant] == part && s.n_preds[i] == 0)
        s.ready[s.n_ready++] = i;
    while (s.n_ready > 0 && !s.err) schedule_round(&s, part);
    st = s.err;
  }
  for (int i = 0; !st && i < s.n; i++)
    if (!s.done[i])
      st =
          MT_ERR(INTERNAL, "fuse-horizontal: group %d was never scheduled (cyclic group graph)", i);
  if (!st) {
    if (s.n_out > p->cap_hgroups) {
      st = MT_ERR(INTERNAL, "fuse-horizontal: %d horizontal groups exceed the plan's capacity",
                  s.n_out);
    } else {
      memcpy(p->hgroups, s.out, (size_t)s.n_out * sizeof *s.out);
      for (int h = s.n_out; h < p->n_hgroups; h++) memset(&p->hgroups[h], 0, sizeof p->hgroups[h]);
      p->n_hgroups = s.n_out;
    }
  }
  state_free(&s);
  return st;
}
