/* Emulator bookkeeping: the error status, the registry of device buffers that pointer arguments are
 * bound to, and the per-block shared-memory arena (static arrays, poisoning, names for messages). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"

static char g_err[4096];

static const char *const k_error_names[] = {
    "EMU_OK",
    "EMU_ERR_CONFIG",
    "EMU_ERR_ARG",
    "EMU_ERR_OOB_GLOBAL",
    "EMU_ERR_OOB_SHARED",
    "EMU_ERR_MISALIGNED",
    "EMU_ERR_UNINIT_SHARED",
    "EMU_ERR_RACE",
    "EMU_ERR_BARRIER",
    "EMU_ERR_WARP",
    "EMU_ERR_SMEM_LIMIT",
    "EMU_ERR_TRAP",
    "EMU_ERR_DEADLOCK",
    "EMU_ERR_NESTED",
    "EMU_ERR_COMPILE",
    "EMU_ERR_INTERNAL",
};

const char *emu_error_name(int code) {
  if (code < 0 || (size_t)code >= sizeof k_error_names / sizeof k_error_names[0])
    return "EMU_ERR_?";
  return k_error_names[code];
}

const char *emu_last_error(void) { return g_err; }

void emu_clear_error(void) { g_err[0] = '\0'; }

void emu_record_error(int code, const char *msg) {
  snprintf(g_err, sizeof g_err, "%s", msg);
  emu_L.error = code;
  if (emu_cfg.verbose) fprintf(stderr, "emu: %s: %s\n", emu_error_name(code), g_err);
}

int emu_set_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_err, sizeof g_err, fmt, ap);
  va_end(ap);
  if (emu_cfg.verbose) fprintf(stderr, "emu: %s: %s\n", emu_error_name(code), g_err);
  return code;
}

const char *emu_fmt_tid(unsigned linear, char *buf, size_t n) {
  emu_dim3 b = emu_L.block;
  snprintf(buf, n, "(%u,%u,%u)", linear % b.x, linear / b.x % b.y, linear / (b.x * b.y));
  return buf;
}

/* ---- failing inside a kernel ------------------------------------------------------------------- */

static EMU_NORETURN void fail_detail(int code, const char *detail) {
  emu_launch_state *L = &emu_L;
  if (!L->active || !emu_g.cur) {
    fprintf(stderr, "emu: %s outside a launch (kernels run only through emu launches): %s\n",
            emu_error_name(code), detail);
    abort();
  }
  char msg[sizeof g_err], tb[48];
  snprintf(msg, sizeof msg, "kernel `%s`, block (%u,%u,%u), thread %s: %s", L->kernel,
           emu_g.block_idx.x, emu_g.block_idx.y, emu_g.block_idx.z,
           emu_fmt_tid(emu_g.cur->linear, tb, sizeof tb), detail);
  emu_record_error(code, msg);
  emu_sched_abort();
}

void emu_fail(int code, const char *fmt, ...) {
  char detail[3072];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  fail_detail(code, detail);
}

void emu_fail_global(int argi, uintptr_t lo, uintptr_t hi, uintptr_t addr, size_t size,
                     int misaligned) {
  char arg[64];
  if (argi >= 0)
    snprintf(arg, sizeof arg, "pointer argument %d", argi);
  else
    snprintf(arg, sizeof arg, "a pointer");
  if (lo == 0 && hi == 0)
    emu_fail(EMU_ERR_OOB_GLOBAL, "global access through %s, which is null", arg);
  long long off = (long long)(addr - lo);
  if (misaligned && addr >= lo && addr + size <= hi)
    emu_fail(EMU_ERR_MISALIGNED,
             "misaligned %zu-byte global access at byte offset %lld of the buffer of %s "
             "(must be a multiple of %zu)",
             size, off, arg, size);
  emu_fail(EMU_ERR_OOB_GLOBAL,
           "out-of-bounds global access: %zu bytes at byte offset %lld (element %lld) of "
           "the buffer of %s, which holds %zu bytes",
           size, off, off / (long long)size, arg, (size_t)(hi - lo));
}

/* ---- shared-memory arena ----------------------------------------------------------------------- */

static const emu_smem_record *find_record(size_t off) {
  emu_launch_state *L = &emu_L;
  for (unsigned i = 0; i < L->nrec; i++)
    if (off >= L->rec[i].off && off < L->rec[i].off + L->rec[i].bytes) return &L->rec[i];
  return NULL;
}

static void describe(size_t off, char *buf, size_t n) {
  const emu_smem_record *r = find_record(off);
  if (!r)
    snprintf(buf, n, "shared memory byte %zu", off);
  else if (r->off == 0 && r == &emu_L.rec[0])
    snprintf(buf, n, "byte %zu of dynamic shared memory (%zu bytes)", off, r->bytes);
  else
    snprintf(buf, n, "byte %zu of shared array `%s` (%zu bytes)", off - r->off, r->name, r->bytes);
}

const char *emu_smem_name(const void *p) {
  static char buf[160];
  size_t off = (size_t)((const char *)p - emu_g.smem);
  const emu_smem_record *r = find_record(off);
  if (!r)
    snprintf(buf, sizeof buf, "shared memory at byte %zu", off);
  else if (r == &emu_L.rec[0])
    snprintf(buf, sizeof buf, "dynamic shared memory (%zu bytes)", r->bytes);
  else
    snprintf(buf, sizeof buf, "shared array `%s` (%zu bytes)", r->name, r->bytes);
  return buf;
}

void emu_fail_shared_oob(const void *base, long long index, long long extent, size_t elem_size) {
  emu_fail(EMU_ERR_OOB_SHARED,
           "out-of-bounds shared-memory access: index %lld outside [0, %lld) of %s "
           "(%zu-byte elements)",
           index, extent, emu_smem_name(base), elem_size);
}

void emu_fail_shared(int code, size_t offset, unsigned other_tid, int other_write, int write,
                     int atomic) {
  char where[256], tb[48];
  describe(offset, where, sizeof where);
  if (code == EMU_ERR_UNINIT_SHARED)
    emu_fail(
        code,
        "%s of uninitialized shared memory: %s was not written by any thread of this block before "
        "(shared memory is undefined at block start)",
        atomic ? "atomic update" : "read", where);
  const char *mine = !write ? "reads" : atomic ? "atomically updates" : "writes";
  const char *theirs = other_write == 3   ? "and at least one other thread read"
                       : other_write == 2 ? "atomically updated"
                       : other_write      ? "wrote"
                                          : "read";
  emu_fail(code,
           "shared-memory data race on %s: this thread %s it after thread %s %s it, with no "
           "__syncthreads() in between (nor a __syncwarp() for two lanes of one warp)",
           where, mine, emu_fmt_tid(other_tid, tb, sizeof tb), theirs);
}

void emu_smem_block_start(void) {
  emu_launch_state *L = &emu_L;
  /* Poison: undefined shared memory reads as NaN / -1 even when the checks are off. */
  memset(L->arena, 0xFF, L->dyn_smem);
  L->rec[0].name = "dynamic";
  L->rec[0].off = 0;
  L->rec[0].bytes = L->dyn_smem;
  L->nrec = 1;
  L->smem_used = L->dyn_smem;
}

char *emu_smem_static(emu_smem_slot *slot, size_t bytes, size_t align, const char *name) {
  emu_launch_state *L = &emu_L;
  if (!L->active || !emu_g.cur) {
    fprintf(stderr, "emu: shared array `%s` declared outside a launch\n", name);
    abort();
  }
  if (slot->block_serial == emu_g.block_serial) return slot->ptr;
  size_t a = align < 16 ? 16 : align;
  size_t off = (L->smem_used + a - 1) / a * a;
  if (off + bytes > emu_cfg.smem_limit)
    emu_fail(EMU_ERR_SMEM_LIMIT,
             "shared array `%s` (%zu bytes) does not fit: %zu bytes of shared memory "
             "already in use (dynamic + static), limit %zu",
             name, bytes, L->smem_used, emu_cfg.smem_limit);
  memset(L->arena + off, 0xFF, bytes);
  if (L->nrec < EMU_MAX_SMEM_RECORDS) {
    emu_smem_record *r = &L->rec[L->nrec++];
    r->name = name;
    r->off = off;
    r->bytes = bytes;
  }
  L->smem_used = off + bytes;
  slot->block_serial = emu_g.block_serial;
  slot->ptr = L->arena + off;
  return slot->ptr;
}

/* ---- device buffers ---------------------------------------------------------------------------- */

typedef struct buf_rec {
  uintptr_t base;
  size_t bytes;
} buf_rec;

static buf_rec *g_bufs;
static size_t g_nbufs, g_capbufs;

/* Index of the last buffer whose base is <= p, or -1. */
static long find_le(uintptr_t p) {
  long lo = 0, hi = (long)g_nbufs - 1, ans = -1;
  while (lo <= hi) {
    long mid = (lo + hi) / 2;
    if (g_bufs[mid].base <= p) {
      ans = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return ans;
}

int emu_register(void *p, size_t bytes) {
  uintptr_t b = (uintptr_t)p;
  if (!p) return emu_set_error(EMU_ERR_ARG, "emu_register: null pointer");
  size_t len = bytes ? bytes : 1;
  long i = find_le(b + len - 1);
  if (i >= 0 && (g_bufs[i].base == b || g_bufs[i].base + g_bufs[i].bytes > b))
    return emu_set_error(EMU_ERR_ARG, "emu_register: [%p, +%zu) overlaps a registered buffer", p,
                         bytes);
  if (g_nbufs == g_capbufs) {
    size_t cap = g_capbufs ? g_capbufs * 2 : 64;
    buf_rec *nb = realloc(g_bufs, cap * sizeof *nb);
    if (!nb) return emu_set_error(EMU_ERR_INTERNAL, "emu_register: out of memory");
    g_bufs = nb;
    g_capbufs = cap;
  }
  size_t at = (size_t)(find_le(b) + 1);
  memmove(&g_bufs[at + 1], &g_bufs[at], (g_nbufs - at) * sizeof *g_bufs);
  g_bufs[at].base = b;
  g_bufs[at].bytes = bytes;
  g_nbufs++;
  return EMU_OK;
}

int emu_unregister(void *p) {
  long i = find_le((uintptr_t)p);
  if (i < 0 || g_bufs[i].base != (uintptr_t)p)
    return emu_set_error(EMU_ERR_ARG, "emu_unregister: %p is not the start of a registered buffer",
                         p);
  memmove(&g_bufs[i], &g_bufs[i + 1], (g_nbufs - (size_t)i - 1) * sizeof *g_bufs);
  g_nbufs--;
  return EMU_OK;
}

void *emu_malloc(size_t bytes) {
  /* 256-byte alignment, as cudaMalloc guarantees (vector loads from a buffer's start are aligned). */
  size_t rounded = (bytes + 255) / 256 * 256;
  void *p = aligned_alloc(256, rounded ? rounded : 256);
  if (!p) return NULL;
  memset(p, 0xFF, rounded ? rounded : 256);
  if (emu_register(p, bytes) != EMU_OK) {
    free(p);
    return NULL;
  }
  return p;
}

void emu_free(void *p) {
  if (!p) return;
  if (emu_unregister(p) == EMU_OK) free(p);
}

int emu_buffer_lookup(const char *kernel, const void *p, int argi, uintptr_t *lo, uintptr_t *hi) {
  uintptr_t a = (uintptr_t)p;
  *lo = *hi = 0;
  if (!p) return EMU_OK;
  long i = find_le(a);
  if (i >= 0 && a <= g_bufs[i].base + g_bufs[i].bytes) {
    *lo = g_bufs[i].base;
    *hi = g_bufs[i].base + g_bufs[i].bytes;
    return EMU_OK;
  }
  return emu_set_error(EMU_ERR_ARG,
                       "kernel `%s`: pointer argument %d (%p) is not inside a buffer from "
                       "emu_malloc or emu_register",
                       kernel ? kernel : "?", argi, p);
}
