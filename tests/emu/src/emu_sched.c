/* The emulator's scheduler: launches, blocks, barriers and warp collectives.
 *
 * A launch runs its blocks one after another on the calling OS thread. Within a block every thread
 * is a fiber; a fiber runs until it reaches __syncthreads(), a warp intrinsic or the end of the
 * kernel, then hands over directly to the next runnable fiber (FIFO), so a barrier of n threads costs
 * n register-only switches. The last thread to arrive at a barrier (or the last lane of a warp
 * collective) releases the others and continues. Misuse is detected at the moment it becomes certain:
 * a thread reaching a barrier after another exited, two threads at different __syncthreads() sites,
 * a lane reaching a warp intrinsic whose named lanes diverged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"

emu_globals emu_g;
emu_launch_state emu_L;
emu_config emu_cfg = {EMU_CHECK_ALL, 48 * 1024, 128 * 1024, 0, 0};

static uint32_t g_block_serial, g_epoch;

emu_config *emu_get_config(void) { return &emu_cfg; }

emu_stats emu_last_stats(void) { return emu_L.stats; }

static const char *const k_warp_names[] = {
    "__shfl_sync",       "__shfl_up_sync",    "__shfl_down_sync",  "__shfl_xor_sync",
    "__ballot_sync",     "__any_sync",        "__all_sync",        "__syncwarp",
    "__match_any_sync",  "__match_all_sync",  "__reduce_add_sync", "__reduce_min_sync",
    "__reduce_max_sync", "__reduce_min_sync", "__reduce_max_sync", "__reduce_and_sync",
    "__reduce_or_sync",  "__reduce_xor_sync",
};
static const char *const k_bar_names[] = {"__syncthreads", "__syncthreads_count",
                                          "__syncthreads_and", "__syncthreads_or"};

static int same_site(const char *f1, int l1, const char *f2, int l2) {
  return l1 == l2 && (f1 == f2 || strcmp(f1, f2) == 0);
}

/* ---- ready queue ------------------------------------------------------------------------------ */

/* A FIFO of runnable thread ids; each thread is queued at most once, so n slots suffice. */
static void ready_push(unsigned t) {
  emu_launch_state *L = &emu_L;
  unsigned at = L->rhead + L->rcount;
  if (at >= L->nthreads) at -= L->nthreads;
  L->ready[at] = t;
  L->rcount++;
}

static unsigned ready_pop(void) {
  emu_launch_state *L = &emu_L;
  unsigned t = L->ready[L->rhead];
  if (++L->rhead == L->nthreads) L->rhead = 0;
  L->rcount--;
  return t;
}

/* The running thread cannot continue (blocked or exited): run the next runnable one. Returns when
 * the thread is resumed; does not return for an exited thread. */
static void run_next(emu_thread *me) {
  emu_launch_state *L = &emu_L;
  if (L->rcount == 0) {
    if (L->live == 0) {
      emu_fiber_switch(&L->fib[me->linear], &L->main); /* block finished */
      abort();                                         /* an exited fiber is never resumed */
    }
    emu_fail(EMU_ERR_DEADLOCK,
             "no thread of the block can run: %u threads wait at barriers or warp "
             "intrinsics that can never complete",
             L->live);
  }
  unsigned nx = ready_pop();
  emu_g.cur = &L->th[nx];
  L->stats.switches++;
  emu_fiber_switch(&L->fib[me->linear], &L->fib[nx]);
  emu_g.cur = me;
}

/* ---- thread lifecycle ------------------------------------------------------------------------- */

static int pending_naming(const emu_warp_state *w, unsigned bit) {
  for (int i = 0; i < w->npending; i++)
    if (w->pend[i].mask & bit) return i;
  return -1;
}

static void thread_exit(void) {
  emu_launch_state *L = &emu_L;
  emu_thread *me = emu_g.cur;
  emu_warp_state *w = &L->warps[me->warp];
  unsigned bit = 1u << me->lane;
  char b[48];
  if (L->bar_arrived > 0)
    emu_fail(EMU_ERR_BARRIER,
             "thread exited while %u thread(s) wait at %s() at %s:%d (first: thread %s): "
             "a barrier must be reached by every thread of the block",
             L->bar_arrived, k_bar_names[L->bar_kind], L->bar_file, L->bar_line,
             emu_fmt_tid(L->bar_first, b, sizeof b));
  int pi = pending_naming(w, bit);
  if (pi >= 0)
    emu_fail(EMU_ERR_WARP,
             "lane %u exited while lanes of its warp wait for it at %s at %s:%d (mask 0x%08x)",
             me->lane, k_warp_names[w->pend[pi].kind], w->pend[pi].file, w->pend[pi].line,
             w->pend[pi].mask);
  me->state = TS_EXITED;
  w->exited |= bit;
  if (L->exited++ == 0) L->first_exited = me->linear;
  L->live--;
  run_next(me);
  abort();
}

static void thread_entry(void) {
  emu_L.body(emu_L.ctx);
  thread_exit();
}

/* ---- barrier ---------------------------------------------------------------------------------- */

int emu_barrier(int kind, int pred, const char *file, int line) {
  emu_launch_state *L = &emu_L;
  emu_thread *me = emu_g.cur;
  emu_warp_state *w = &L->warps[me->warp];
  char b[48];
  if (L->exited > 0)
    emu_fail(EMU_ERR_BARRIER,
             "%s() at %s:%d reached after thread %s exited: a barrier must be "
             "reached by every thread of the block (divergent barrier)",
             k_bar_names[kind], file, line, emu_fmt_tid(L->first_exited, b, sizeof b));
  int pi = pending_naming(w, 1u << me->lane);
  if (pi >= 0)
    emu_fail(EMU_ERR_WARP,
             "lane %u reached %s() at %s:%d while lanes of its warp wait for it at %s at "
             "%s:%d (mask 0x%08x): the warp diverged",
             me->lane, k_bar_names[kind], file, line, k_warp_names[w->pend[pi].kind],
             w->pend[pi].file, w->pend[pi].line, w->pend[pi].mask);
  if (L->bar_arrived == 0) {
    L->bar_file = file;
    L->bar_line = line;
    L->bar_kind = kind;
    L->bar_first = me->linear;
    L->bar_acc = kind == 2 ? 1 : 0;
  } else if (kind != L->bar_kind || !same_site(file, line, L->bar_file, L->bar_line)) {
    emu_fail(EMU_ERR_BARRIER,
             "divergent barrier: this thread is at %s() at %s:%d while thread %s waits "
             "at %s() at %s:%d",
             k_bar_names[kind], file, line, emu_fmt_tid(L->bar_first, b, sizeof b),
             k_bar_names[L->bar_kind], L->bar_file, L->bar_line);
  }
  if (kind == 1)
    L->bar_acc += pred != 0;
  else if (kind == 2)
    L->bar_acc &= pred != 0;
  else if (kind == 3)
    L->bar_acc |= pred != 0;
  if (++L->bar_arrived == L->nthreads) {
    /* Everyone is here: open the next barrier interval and release the others. */
    int res = L->bar_acc;
    L->bar_arrived = 0;
    L->stats.barriers++;
    emu_g.epoch = ++g_epoch;
    for (unsigned i = 0; i < L->nwarps; i++) L->warps[i].at_bar = 0;
    for (unsigned t = 0; t < L->nthreads; t++) {
      if (t == me->linear) continue;
      L->th[t].state = TS_RUNNABLE;
      L->th[t].bar_res = res;
      ready_push(t);
    }
    return res;
  }
  me->state = TS_BAR;
  w->at_bar |= 1u << me->lane;
  run_next(me);
  return me->bar_res;
}

/* ---- warp collectives --------------------------------------------------------------------------- */

static uint64_t lane_value(const emu_wpending *p, unsigned base, unsigned mask, unsigned lane,
                           unsigned src) {
  emu_launch_state *L = &emu_L;
  if (src >= 32 || !(mask & (1u << src))) {
    unsigned exists = src < 32 && (L->warps[base / 32].existing & (1u << src));
    emu_fail(EMU_ERR_WARP,
             "%s at %s:%d: lane %u reads lane %u, which %s (mask 0x%08x); the value "
             "would be undefined on a GPU",
             k_warp_names[p->kind], p->file, p->line, lane, src,
             exists ? "is not named in the mask" : "does not exist in this block", p->umask);
  }
  return L->th[base + src].wval;
}

/* All named lanes have arrived: compute each lane's result. */
static void warp_complete(const emu_wpending *p, unsigned warp) {
  emu_launch_state *L = &emu_L;
  unsigned base = warp * 32, mask = p->mask, width = (unsigned)p->width;
  uint64_t all = 0, any = 0;
  int32_t smin = INT32_MAX, smax = INT32_MIN;
  uint32_t umin = UINT32_MAX, umax = 0, uand = UINT32_MAX, uor = 0, uxor = 0, usum = 0;
  int all_equal = 1;
  uint64_t first = 0;
  int have_first = 0;
  for (unsigned l = 0; l < 32; l++) {
    if (!(mask & (1u << l))) continue;
    uint64_t v = L->th[base + l].wval;
    uint32_t u = (uint32_t)v;
    if (v) any |= 1u << l;
    usum += u;
    uand &= u;
    uor |= u;
    uxor ^= u;
    if ((int32_t)u < smin) smin = (int32_t)u;
    if ((int32_t)u > smax) smax = (int32_t)u;
    if (u < umin) umin = u;
    if (u > umax) umax = u;
    if (!have_first) {
      first = v;
      have_first = 1;
    } else if (v != first) {
      all_equal = 0;
    }
  }
  all = any;
  for (unsigned l = 0; l < 32; l++) {
    if (!(mask & (1u << l))) continue;
    emu_thread *t = &L->th[base + l];
    unsigned seg = l & ~(width - 1u), src;
    uint64_t r = 0;
    switch (p->kind) {
    case EMU_W_SHFL:
      src = seg | ((unsigned)t->warg & (width - 1u));
      r = lane_value(p, base, mask, l, src);
      break;
    case EMU_W_SHFL_UP:
      r = (unsigned)t->warg > l - seg ? t->wval
                                      : lane_value(p, base, mask, l, l - (unsigned)t->warg);
      break;
    case EMU_W_SHFL_DOWN:
      src = l + (unsigned)t->warg;
      r = src >= seg + width ? t->wval : lane_value(p, base, mask, l, src);
      break;
    case EMU_W_SHFL_XOR:
      src = l ^ (unsigned)t->warg;
      r = src >= seg + width ? t->wval : lane_value(p, base, mask, l, src);
      break;
    case EMU_W_BALLOT: r = all; break;
    case EMU_W_ANY: r = all != 0; break;
    case EMU_W_ALL: r = all == mask; break;
    case EMU_W_SYNC: r = 0; break;
    case EMU_W_MATCH_ANY:
      for (unsigned k = 0; k < 32; k++)
        if ((mask & (1u << k)) && L->th[base + k].wval == t->wval) r |= 1u << k;
      break;
    case EMU_W_MATCH_ALL: r = all_equal ? ((uint64_t)1 << 32) | mask : 0; break;
    case EMU_W_RED_ADD: r = usum; break;
    case EMU_W_RED_MIN: r = (uint32_t)smin; break;
    case EMU_W_RED_MAX: r = (uint32_t)smax; break;
    case EMU_W_RED_UMIN: r = umin; break;
    case EMU_W_RED_UMAX: r = umax; break;
    case EMU_W_RED_AND: r = uand; break;
    case EMU_W_RED_OR: r = uor; break;
    case EMU_W_RED_XOR: r = uxor; break;
    default: break;
    }
    t->wres = r;
  }
}

int emu_warp_synced_since(unsigned warp, unsigned lane_a, unsigned lane_b, uint32_t e) {
  const emu_warp_state *w = &emu_L.warps[warp];
  unsigned both = (1u << lane_a) | (1u << lane_b);
  uint32_t now = emu_g.warp_epoch[warp];
  /* Older syncs than the ring holds count as absent: a conservative report, never a missed race. */
  uint32_t oldest = now > EMU_SYNC_RING ? now - EMU_SYNC_RING : 0;
  for (uint32_t k = now; k > e && k > oldest; k--)
    if ((w->sync_ring[k % EMU_SYNC_RING] & both) == both) return 1;
  return 0;
}

static int is_shfl(int kind) {
  return kind == EMU_W_SHFL || kind == EMU_W_SHFL_UP || kind == EMU_W_SHFL_DOWN ||
         kind == EMU_W_SHFL_XOR;
}

uint64_t emu_warp_op(int kind, unsigned mask, uint64_t value, unsigned size, int arg, int width,
                     const char *file, int line) {
  emu_launch_state *L = &emu_L;
  emu_thread *me = emu_g.cur;
  emu_warp_state *w = &L->warps[me->warp];
  unsigned bit = 1u << me->lane;
  const char *name = k_warp_names[kind];
  char b[48];
  if (!(mask & bit))
    emu_fail(EMU_ERR_WARP, "%s at %s:%d called by lane %u with mask 0x%08x, which does not name it",
             name, file, line, me->lane, mask);
  if (is_shfl(kind) && (width < 1 || width > 32 || (width & (width - 1))))
    emu_fail(EMU_ERR_WARP, "%s at %s:%d: width %d is not a power of two in [1, 32]", name, file,
             line, width);
  unsigned eff = mask & w->existing;
  if (eff & w->exited) {
    unsigned l = (unsigned)__builtin_ctz(eff & w->exited);
    emu_fail(EMU_ERR_WARP, "%s at %s:%d: mask 0x%08x names lane %u (thread %s), which has exited",
             name, file, line, mask, l, emu_fmt_tid(me->warp * 32 + l, b, sizeof b));
  }
  if (eff & w->at_bar) {
    unsigned l = (unsigned)__builtin_ctz(eff & w->at_bar);
    emu_fail(EMU_ERR_WARP,
             "%s at %s:%d: lane %u named in mask 0x%08x waits at %s() at %s:%d instead: the "
             "warp diverged",
             name, file, line, l, mask, k_bar_names[L->bar_kind], L->bar_file, L->bar_line);
  }
  emu_wpending *p = NULL;
  for (int i = 0; i < w->npending; i++) {
    emu_wpending *q = &w->pend[i];
    if (!(q->mask & eff)) continue;
    if (q->mask != eff)
      emu_fail(EMU_ERR_WARP,
               "%s at %s:%d: lane %u uses mask 0x%08x while lane %u waits at %s at %s:%d "
               "with mask 0x%08x",
               name, file, line, me->lane, mask, q->first_lane, k_warp_names[q->kind], q->file,
               q->line, q->mask);
    if (q->kind != kind || q->size != size || q->width != width ||
        !same_site(file, line, q->file, q->line))
      emu_fail(EMU_ERR_WARP,
               "lanes of mask 0x%08x reached different warp intrinsics: lane %u is at %s at "
               "%s:%d, lane %u waits at %s at %s:%d (the warp diverged)",
               eff, me->lane, name, file, line, q->first_lane, k_warp_names[q->kind], q->file,
               q->line);
    p = q;
    break;
  }
  if (!p) {
    p = &w->pend[w->npending++];
    p->mask = eff;
    p->umask = mask;
    p->arrived = 0;
    p->kind = kind;
    p->width = width;
    p->size = size;
    p->file = file;
    p->line = line;
    p->first_lane = me->lane;
  }
  me->wval = value;
  me->warg = arg;
  p->arrived |= bit;
  if (p->arrived != eff) {
    me->state = TS_WARP;
    run_next(me);
    return me->wres;
  }
  /* Last lane in: compute, retire the pending entry, release the others. */
  warp_complete(p, me->warp);
  L->stats.warp_ops++;
  if (kind == EMU_W_SYNC) {
    uint32_t k = ++emu_g.warp_epoch[me->warp];
    w->sync_ring[k % EMU_SYNC_RING] = eff;
    if (eff == w->existing) emu_g.warp_full[me->warp] = k;
  }
  *p = w->pend[--w->npending];
  unsigned base = me->warp * 32;
  for (unsigned l = 0; l < 32; l++) {
    if (!(eff & (1u << l)) || l == me->lane) continue;
    L->th[base + l].state = TS_RUNNABLE;
    ready_push(base + l);
  }
  return me->wres;
}

/* ---- launch ------------------------------------------------------------------------------------- */

static int grow_pool(unsigned n) {
  emu_launch_state *L = &emu_L;
  if (L->fiber_stack != emu_cfg.stack_bytes) {
    for (unsigned i = 0; i < L->fibers_ready; i++) emu_fiber_release(&L->fib[i]);
    L->fibers_ready = 0;
    L->fiber_stack = emu_cfg.stack_bytes;
  }
  if (n > L->cap) {
    emu_thread *th = realloc(L->th, n * sizeof *th);
    if (th) L->th = th;
    emu_fiber *fib = realloc(L->fib, n * sizeof *fib);
    if (fib) L->fib = fib;
    unsigned *rd = realloc(L->ready, n * sizeof *rd);
    if (rd) L->ready = rd;
    if (!th || !fib || !rd) return -1;
    L->cap = n;
  }
  while (L->fibers_ready < n) {
    if (emu_fiber_alloc(&L->fib[L->fibers_ready], L->fiber_stack) != 0) return -1;
    L->fibers_ready++;
  }
  return 0;
}

static int grow_arena(size_t bytes) {
  emu_launch_state *L = &emu_L;
  if (bytes <= L->arena_cap) return 0;
  free(L->arena);
  free(L->shadow);
  L->arena = aligned_alloc(64, (bytes + 63) / 64 * 64);
  L->shadow = calloc(bytes, sizeof(emu_shadow));
  L->arena_cap = L->arena && L->shadow ? bytes : 0;
  return L->arena_cap ? 0 : -1;
}

static int check_config(const char *name, emu_dim3 g, emu_dim3 b, size_t smem) {
  unsigned long long threads = (unsigned long long)b.x * b.y * b.z;
  if (!b.x || !b.y || !b.z || b.x > 1024 || b.y > 1024 || b.z > 64 || threads > 1024)
    return emu_set_error(EMU_ERR_CONFIG,
                         "kernel `%s`: invalid block (%u,%u,%u): each extent >= 1, x,y <= "
                         "1024, z <= 64, at most 1024 threads",
                         name, b.x, b.y, b.z);
  if (!g.x || !g.y || !g.z || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535)
    return emu_set_error(EMU_ERR_CONFIG,
                         "kernel `%s`: invalid grid (%u,%u,%u): x in [1, 2^31-1], y and z "
                         "in [1, 65535]",
                         name, g.x, g.y, g.z);
  if (smem > emu_cfg.smem_limit)
    return emu_set_error(EMU_ERR_SMEM_LIMIT,
                         "kernel `%s`: %zu bytes of dynamic shared memory exceed the "
                         "limit of %zu (emu_get_config()->smem_limit)",
                         name, smem, emu_cfg.smem_limit);
  return 0;
}

static void run_block(unsigned long long lin) {
  emu_launch_state *L = &emu_L;
  emu_g.block_idx.x = (unsigned)(lin % L->grid.x);
  emu_g.block_idx.y = (unsigned)(lin / L->grid.x % L->grid.y);
  emu_g.block_idx.z = (unsigned)(lin / ((unsigned long long)L->grid.x * L->grid.y));
  emu_g.block_serial = ++g_block_serial;
  emu_g.epoch = ++g_epoch;
  memset(emu_g.warp_epoch, 0, sizeof emu_g.warp_epoch);
  memset(emu_g.warp_full, 0, sizeof emu_g.warp_full);
  emu_smem_block_start();
  for (unsigned i = 0; i < L->nwarps; i++) {
    emu_warp_state *w = &L->warps[i];
    unsigned lanes = L->nthreads - i * 32 < 32 ? L->nthreads - i * 32 : 32;
    w->existing = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
    w->exited = w->at_bar = 0;
    w->npending = 0;
  }
  for (unsigned t = 0; t < L->nthreads; t++) {
    L->th[t].state = TS_RUNNABLE;
    emu_fiber_arm(&L->fib[t], thread_entry);
  }
  L->rhead = 0;
  L->rcount = 0;
  for (unsigned t = 1; t < L->nthreads; t++) ready_push(t);
  L->live = L->nthreads;
  L->exited = 0;
  L->bar_arrived = 0;
  L->stats.blocks++;
  L->stats.threads += L->nthreads;
  emu_g.cur = &L->th[0];
  emu_fiber_switch(&L->main, &L->fib[0]);
}

int emu_launch_body(const char *kernel_name, emu_dim3 grid, emu_dim3 block, size_t dyn_smem,
                    emu_body_fn body, void *ctx) {
  emu_launch_state *L = &emu_L;
  if (!kernel_name) kernel_name = "?";
  if (L->active)
    return emu_set_error(EMU_ERR_NESTED, "kernel `%s` launched while kernel `%s` runs", kernel_name,
                         L->kernel);
  int rc = check_config(kernel_name, grid, block, dyn_smem);
  if (rc) return rc;
  unsigned n = block.x * block.y * block.z;
  if (!L->main_ready && emu_fiber_init_main(&L->main) == 0) L->main_ready = 1;
  if (grow_pool(n) != 0 || grow_arena(emu_cfg.smem_limit) != 0 || !L->main_ready)
    return emu_set_error(EMU_ERR_INTERNAL, "kernel `%s`: out of memory for %u fibers", kernel_name,
                         n);
  L->kernel = kernel_name;
  L->grid = grid;
  L->block = block;
  L->dyn_smem = dyn_smem;
  L->body = body;
  L->ctx = ctx;
  L->nthreads = n;
  L->nwarps = (n + 31) / 32;
  L->error = 0;
  memset(&L->stats, 0, sizeof L->stats);
  for (unsigned t = 0; t < n; t++) {
    emu_thread *th = &L->th[t];
    memset(th, 0, sizeof *th);
    th->linear = t;
    th->tid.x = t % block.x;
    th->tid.y = t / block.x % block.y;
    th->tid.z = t / (block.x * block.y);
    th->warp = t / 32;
    th->lane = t % 32;
  }
  emu_g.block_dim = block;
  emu_g.grid_dim = grid;
  emu_g.checks = emu_cfg.checks;
  emu_g.smem = L->arena;
  emu_g.shadow = L->shadow;
  emu_g.smem_dyn = dyn_smem;
  L->active = 1;
  unsigned long long total = (unsigned long long)grid.x * grid.y * grid.z;
  for (unsigned long long b = 0; b < total && !L->error; b++)
    run_block(emu_cfg.reverse_blocks ? total - 1 - b : b);
  L->active = 0;
  emu_g.cur = NULL;
  if (L->error) return L->error;
  emu_clear_error();
  return EMU_OK;
}

EMU_NORETURN void emu_sched_abort(void) {
  emu_launch_state *L = &emu_L;
  emu_thread *me = emu_g.cur;
  emu_fiber_switch(&L->fib[me->linear], &L->main);
  abort(); /* the abandoned fiber is never resumed */
}
