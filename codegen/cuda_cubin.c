/* Per-kernel resources read from a cubin (an ELF64 file) without a GPU or the CUDA driver, and an
 * occupancy estimate from them. The format relied on (NVIDIA does not document it; it is what
 * nvcc/NVRTC 11-13 write and what cuobjdump -res-usage prints):
 *   - section `.text.<kernel>`: sh_info bits 24..31 hold the registers per thread, bits 0..23
 *     the kernel's symbol index;
 *   - section `.nv.info`: a list of attribute records {u8 format, u8 attribute, payload}; format
 *     0x04 (EIFMT_SVAL) has a u16 size then that many bytes, 0x03 (HVAL) and 0x01 (NVAL) a u16,
 *     0x02 (BVAL) a u8. EIATTR_REGCOUNT (0x2f) and EIATTR_FRAME_SIZE (0x11) are SVAL {u32 symbol
 *     index, u32 value}: registers and the per-thread stack frame (local memory: register spills
 *     and local arrays; the cubin does not separate the two, ptxas -v does);
 *   - section `.nv.shared.<kernel>` (NOBITS): its size is the kernel's static shared memory;
 *     sm_90 cubins lay it out after the 1 KiB the system reserves per block and count that too
 *     (ptxas -v says 400 bytes where the section holds 1424), so sm_90 figures are 1 KiB higher.
 * Every offset is bounds-checked: a cache entry on disk is untrusted bytes. */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

static uint64_t rd(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

typedef struct elf_sec {
  uint32_t name, type, info;
  uint64_t off, size;
} elf_sec;

static bool sec_at(const unsigned char *d, size_t n, uint64_t shoff, uint64_t entsz, uint64_t i,
                   elf_sec *s) {
  uint64_t o = shoff + i * entsz;
  if (entsz < 64 || o > n || n - o < 64) return false;
  s->name = (uint32_t)rd(d + o, 4);
  s->type = (uint32_t)rd(d + o + 4, 4);
  s->off = rd(d + o + 24, 8);
  s->size = rd(d + o + 32, 8);
  s->info = (uint32_t)rd(d + o + 44, 4);
  return true;
}

mt_status *mt_cuda_cubin_resources(const void *cubin, size_t n, const char *kernel,
                                   mt_cuda_resources *out) {
  const unsigned char *d = cubin;
  *out = (mt_cuda_resources){.registers = -1, .local_bytes = -1, .shared_bytes = -1};
  if (n < 64 || memcmp(d, "\177ELF", 4) != 0 || d[4] != 2 || d[5] != 1)
    return MT_ERR(DATA_LOSS, "kernel %s: not a little-endian ELF64 cubin", kernel);
  uint64_t shoff = rd(d + 0x28, 8), entsz = rd(d + 0x3a, 2), shnum = rd(d + 0x3c, 2),
           shstrndx = rd(d + 0x3e, 2);
  elf_sec strs;
  if (shstrndx >= shnum || !sec_at(d, n, shoff, entsz, shstrndx, &strs) || strs.off > n ||
      strs.size > n - strs.off)
    return MT_ERR(DATA_LOSS, "kernel %s: cubin section names out of range", kernel);
  char text[256], shared[256];
  snprintf(text, sizeof text, ".text.%s", kernel);
  snprintf(shared, sizeof shared, ".nv.shared.%s", kernel);
  int64_t sym = -1;
  uint64_t info_off = 0, info_size = 0;
  out->shared_bytes = 0;
  for (uint64_t i = 0; i < shnum; i++) {
    elf_sec s;
    if (!sec_at(d, n, shoff, entsz, i, &s))
      return MT_ERR(DATA_LOSS, "kernel %s: cubin section %llu out of range", kernel,
                    (unsigned long long)i);
    if (s.name >= strs.size) continue;
    const char *nm = (const char *)d + strs.off + s.name;
    size_t maxlen = (size_t)(strs.size - s.name);
    if (strnlen(nm, maxlen) == maxlen) continue;
    if (strcmp(nm, text) == 0) {
      sym = s.info & 0xffffff;
      out->registers = (int)(s.info >> 24);
    } else if (strcmp(nm, shared) == 0) {
      out->shared_bytes = s.size > (1u << 30) ? (1 << 30) : (int)s.size;
    } else if (strcmp(nm, ".nv.info") == 0 && s.off <= n && s.size <= n - s.off) {
      info_off = s.off;
      info_size = s.size;
    }
  }
  if (sym < 0) return MT_ERR(NOT_FOUND, "kernel %s: no .text section in the cubin", kernel);
  /* .nv.info: per-symbol registers (overrides sh_info when present) and frame size */
  out->local_bytes = 0;
  for (uint64_t p = info_off; p + 2 <= info_off + info_size;) {
    unsigned fmt = d[p], attr = d[p + 1];
    if (fmt == 0x04) {
      if (p + 4 > info_off + info_size) break;
      uint64_t sz = rd(d + p + 2, 2);
      if (p + 4 + sz > info_off + info_size) break;
      if (sz >= 8 && (int64_t)rd(d + p + 4, 4) == sym) {
        uint64_t v = rd(d + p + 8, 4);
        if (attr == 0x2f) out->registers = (int)(v > 65535 ? 65535 : v);
        if (attr == 0x11) out->local_bytes = (int)(v > (1u << 30) ? (1u << 30) : v);
      }
      p += 4 + sz;
    } else if (fmt == 0x01 || fmt == 0x03) {
      p += 4;
    } else if (fmt == 0x02) {
      p += 3;
    } else {
      break; /* padding or an unknown record: nothing after it can be trusted */
    }
  }
  return NULL;
}

/* Per-SM limits of the default targets (CUDA C Programming Guide, compute capabilities table). */
typedef struct sm_limits {
  const char *arch;
  int max_threads, max_blocks, shared_bytes;
} sm_limits;

static const sm_limits limits[] = {
    {"sm_80", 2048, 32, 164 * 1024},
    {"sm_86", 1536, 16, 100 * 1024},
    {"sm_89", 1536, 24, 100 * 1024},
    {"sm_90", 2048, 32, 228 * 1024},
};

double mt_cuda_occupancy_estimate(const char *arch, const mt_cuda_resources *r, unsigned block,
                                  size_t dyn_smem) {
  const sm_limits *l = &limits[3];
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
    if (strcmp(limits[i].arch, arch) == 0) l = &limits[i];
  if (block == 0 || r->registers < 0) return -1;
  int warps = (int)((block + 31) / 32);
  int blocks = l->max_threads / (warps * 32);
  if (blocks > l->max_blocks) blocks = l->max_blocks;
  /* registers: 64K per SM, allocated per warp in units of 256 */
  int warp_regs = ((r->registers > 0 ? r->registers : 1) * 32 + 255) / 256 * 256;
  int by_regs = 65536 / (warp_regs * warps);
  if (by_regs < blocks) blocks = by_regs;
  size_t smem = (size_t)(r->shared_bytes > 0 ? r->shared_bytes : 0) + dyn_smem;
  if (smem > 0) {
    /* 1 KiB reserved per block (already inside sm_90's section size) */
    size_t reserved = strcmp(l->arch, "sm_90") == 0 ? 0 : 1024;
    int by_smem = (int)((size_t)l->shared_bytes / (smem + reserved));
    if (by_smem < blocks) blocks = by_smem;
  }
  if (blocks < 0) blocks = 0;
  return (double)(blocks * warps * 32) / (double)l->max_threads;
}
