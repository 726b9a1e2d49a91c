/* The loader's checks of a bundle's GPU plan (mtbundle.proto fields 12-16), after the CPU plan's:
 * nothing the GPU runtime indexes, maps or hands to the driver or cuBLAS is used unchecked.
 *   - code images: each inside the code section, 64-byte aligned, non-empty, no two sharing a
 *     byte (the writer stores identical images once and points both modules at one image), every
 *     one used by a module; a cubin names one of the bundle's archs, PTX its virtual arch and
 *     holds no NUL byte; the code section exists exactly when there are images;
 *   - modules: a C identifier as entry, one cubin per bundle arch, at most one PTX, last;
 *   - groups: none, or one per Manifest.groups; each either says why it has no GPU code or
 *     lists its steps; launches name a module, a 1-D grid and block the hardware takes and
 *     buffers the CPU plan's rules accept (an input only of a tenant that has nodes in the
 *     group); GEMM problems have positive dims and leading dims and strides that keep every
 *     matrix of every batch item inside its buffer, so no library call reads or writes outside.
 * Errors name the file, the group, the step and the field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/bundle/bundle.h"

#define MAX_ITEMS (1u << 24)
#define MAX_ARCHS 16u
#define MAX_STEPS 64u
#define MAX_ARGS 4096u
#define MAX_PROBLEMS 4096u
#define MAX_ENTRY 1024u
#define MAX_BLOCK 1024u
#define MAX_GRID 0x7fffffffu
#define MAX_SMEM (227u * 1024u) /* the most shared memory a block may have (sm_90) */
#define MAX_WORKSPACE ((uint64_t)1 << 32)
#define MAX_DIM ((int64_t)1 << 40)

typedef Mtbundle__BufferRef ref_t;

/* The number after "sm_" / "compute_" (2 or 3 digits, then an optional 'a' or 'f' for
 * arch-specific features); -1 when arch is not that form. */
static int arch_number(const char *arch, bool ptx) {
  const char *pre = ptx ? "compute_" : "sm_";
  size_t n = strlen(pre);
  if (!arch || strncmp(arch, pre, n) != 0) return -1;
  const char *d = arch + n;
  int v = 0, digits = 0;
  while (d[digits] >= '0' && d[digits] <= '9' && digits < 3) v = v * 10 + (d[digits++] - '0');
  if (digits < 2 || d[0] == '0') return -1;
  const char *rest = d + digits;
  if ((rest[0] == 'a' || rest[0] == 'f') && rest[1] == 0) return v;
  return rest[0] == 0 ? v : -1;
}

typedef struct span {
  uint64_t offset, size;
  size_t image;
} span;

static int by_offset(const void *a, const void *b) {
  const span *x = a, *y = b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

MT_MUST_USE static mt_status *check_archs(const Mtbundle__Manifest *m, const char *f) {
  if (m->n_archs == 0 || m->n_archs > MAX_ARCHS)
    return MT_ERR(DATA_LOSS, "%s: GPU code for %zu archs (expected 1 to %u)", f, m->n_archs,
                  MAX_ARCHS);
  for (size_t i = 0; i < m->n_archs; i++) {
    if (arch_number(m->archs[i], false) < 0)
      return MT_ERR(DATA_LOSS, "%s: arch %zu '%.32s' is not of the form sm_NN", f, i, m->archs[i]);
    for (size_t j = 0; j < i; j++)
      if (strcmp(m->archs[i], m->archs[j]) == 0)
        return MT_ERR(DATA_LOSS, "%s: arch '%s' is listed twice", f, m->archs[i]);
  }
  return NULL;
}

static int bundle_arch_index(const Mtbundle__Manifest *m, const char *arch) {
  for (size_t i = 0; i < m->n_archs; i++)
    if (strcmp(m->archs[i], arch) == 0) return (int)i;
  return -1;
}

MT_MUST_USE static mt_status *check_images(const mt_bundle *b, const char *f) {
  const Mtbundle__Manifest *m = b->manifest;
  if ((b->code != NULL) != (m->n_code_images > 0))
    return MT_ERR(DATA_LOSS, "%s: %s", f,
                  b->code ? "a code section but no code images"
                          : "code images but no code section");
  if (m->code_bytes != b->code_bytes)
    return MT_ERR(DATA_LOSS, "%s: the manifest says %llu code bytes, the code section has %zu", f,
                  (unsigned long long)m->code_bytes, b->code_bytes);
  /* disjoint, non-empty and 64-byte aligned: no more images than 64-byte slots */
  if (m->n_code_images > b->code_bytes / MT_BUNDLE_ALIGN + 1)
    return MT_ERR(DATA_LOSS, "%s: %zu code images cannot fit a %zu-byte code section", f,
                  m->n_code_images, b->code_bytes);
  span *spans = calloc(m->n_code_images + 1, sizeof *spans);
  if (!spans) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  for (size_t i = 0; !st && i < m->n_code_images; i++) {
    const Mtbundle__CodeImage *im = m->code_images[i];
    if (arch_number(im->arch, im->ptx) < 0)
      st = MT_ERR(DATA_LOSS, "%s: code image %zu: arch '%.32s' is not of the form %s", f, i,
                  im->arch, im->ptx ? "compute_NN" : "sm_NN");
    else if (!im->ptx && bundle_arch_index(m, im->arch) < 0)
      st = MT_ERR(DATA_LOSS, "%s: code image %zu: a cubin for %s, which is not a bundle arch", f, i,
                  im->arch);
    else if (im->size == 0 || im->offset % MT_BUNDLE_ALIGN || im->offset > b->code_bytes ||
             im->size > b->code_bytes - im->offset)
      st =
          MT_ERR(DATA_LOSS,
                 "%s: code image %zu: [%llu, +%llu) is empty, misaligned or past the code "
                 "section (%zu bytes)",
                 f, i, (unsigned long long)im->offset, (unsigned long long)im->size, b->code_bytes);
    else if (im->ptx && memchr(b->code + im->offset, 0, (size_t)im->size))
      st = MT_ERR(DATA_LOSS, "%s: code image %zu: PTX text holds a NUL byte", f, i);
    spans[i] = (span){im->offset, im->size, i};
  }
  if (!st && m->n_code_images > 1) {
    qsort(spans, m->n_code_images, sizeof *spans, by_offset);
    for (size_t i = 1; !st && i < m->n_code_images; i++)
      if (spans[i].offset < spans[i - 1].offset + spans[i - 1].size)
        st = MT_ERR(DATA_LOSS, "%s: code images %zu and %zu overlap", f, spans[i - 1].image,
                    spans[i].image);
  }
  free(spans);
  return st;
}

MT_MUST_USE static mt_status *check_modules(const Mtbundle__Manifest *m, const char *f) {
  bool *used = calloc(m->n_code_images + 1, 1);
  if (!used) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  for (size_t i = 0; !st && i < m->n_gpu_modules; i++) {
    const Mtbundle__GpuModule *mod = m->gpu_modules[i];
    uint32_t have = 0; /* bit per bundle arch */
    if (!mt_bundle_is_identifier(mod->entry, MAX_ENTRY)) {
      st = MT_ERR(DATA_LOSS, "%s: GPU module %zu: entry '%.64s' is not a C identifier", f, i,
                  mod->entry ? mod->entry : "");
      break;
    }
    if (mod->n_images < m->n_archs || mod->n_images > m->n_archs + 1) {
      st = MT_ERR(DATA_LOSS,
                  "%s: GPU module %zu '%.64s': %zu images for %zu archs (one cubin per arch, "
                  "then at most one PTX)",
                  f, i, mod->entry, mod->n_images, m->n_archs);
      break;
    }
    if (mod->registers < -1 || mod->registers > 255 || mod->shared_bytes < -1 ||
        mod->shared_bytes > (int32_t)MAX_SMEM) {
      st = MT_ERR(DATA_LOSS, "%s: GPU module %zu '%.64s': %d registers, %d shared bytes", f, i,
                  mod->entry, mod->registers, mod->shared_bytes);
      break;
    }
    for (size_t k = 0; !st && k < mod->n_images; k++) {
      uint32_t im = mod->images[k];
      if (im >= m->n_code_images) {
        st = MT_ERR(DATA_LOSS,
                    "%s: GPU module %zu '%.64s': image index %u out of range (%zu images)", f, i,
                    mod->entry, im, m->n_code_images);
        break;
      }
      used[im] = true;
      const Mtbundle__CodeImage *ci = m->code_images[im];
      if (ci->ptx != (k == m->n_archs)) {
        st = MT_ERR(DATA_LOSS, "%s: GPU module %zu '%.64s': image %zu is %s", f, i, mod->entry, k,
                    ci->ptx ? "PTX before the last cubin" : "a cubin where PTX belongs");
        break;
      }
      int a = ci->ptx ? -1 : bundle_arch_index(m, ci->arch);
      if (a >= 0 && (have >> a & 1u))
        st = MT_ERR(DATA_LOSS, "%s: GPU module %zu '%.64s': two cubins for %s", f, i, mod->entry,
                    ci->arch);
      if (a >= 0) have |= 1u << a;
    }
  }
  for (size_t i = 0; !st && i < m->n_code_images; i++)
    if (!used[i]) st = MT_ERR(DATA_LOSS, "%s: code image %zu is not used by any module", f, i);
  free(used);
  return st;
}

/* The group being checked: group_of_tenant[t] == g when tenant t has a node in group g. */
typedef struct group_ctx {
  const Mtbundle__Manifest *m;
  int64_t g;
  const int64_t *group_of_tenant;
} group_ctx;

/* A launch argument or GEMM operand: a real buffer (never NONE unless `optional`) that the CPU
 * plan's rules accept; an input only of one of the group's tenants. */
MT_MUST_USE static mt_status *check_arg(const group_ctx *gc, const ref_t *r, bool writes,
                                        bool optional, const char *what) {
  const Mtbundle__Manifest *m = gc->m;
  if (!r || (r->kind == MTBUNDLE__BUFFER_REF__KIND__NONE && !optional))
    return MT_ERR(DATA_LOSS, "%s: no buffer", what);
  int32_t tenant = -1; /* only an INPUT names a tenant, and it must be one of the group's */
  if (r->kind == MTBUNDLE__BUFFER_REF__KIND__INPUT) {
    if (r->tenant < 0 || (size_t)r->tenant >= m->n_tenants ||
        gc->group_of_tenant[r->tenant] != gc->g)
      return MT_ERR(DATA_LOSS, "%s: reads an input of tenant %d, which has no node in the group",
                    what, r->tenant);
    tenant = r->tenant;
  }
  return mt_bundle_check_ref(m, r, writes, tenant, what);
}

/* Elements a row-major operand of `batch` items spans: (batch-1)*stride + (rows-1)*ld + cols;
 * false on overflow. */
static bool operand_elements(int64_t batch, int64_t stride, int64_t rows, int64_t ld, int64_t cols,
                             int64_t *out) {
  int64_t a, b, s;
  return !__builtin_mul_overflow(batch - 1, stride, &a) &&
         !__builtin_mul_overflow(rows - 1, ld, &b) && !__builtin_add_overflow(a, b, &s) &&
         !__builtin_add_overflow(s, cols, out);
}

/* Does the float32 buffer r hold `elements` elements? */
MT_MUST_USE static mt_status *check_extent(const ref_t *r, int64_t elements, const char *what,
                                           const char *operand) {
  if (r->type->dtype != MT_DTYPE_FLOAT32)
    return MT_ERR(DATA_LOSS, "%s: operand %s is %s; GEMM problems are float32", what, operand,
                  mt_dtype_name((mt_dtype)r->type->dtype));
  uint64_t have = mt_bundle_type_bytes(r->type) / sizeof(float);
  if (elements < 0 || (uint64_t)elements > have)
    return MT_ERR(DATA_LOSS,
                  "%s: operand %s spans %lld elements with these dims, leading dims and strides; "
                  "its buffer holds %llu",
                  what, operand, (long long)elements, (unsigned long long)have);
  return NULL;
}

MT_MUST_USE static mt_status *check_problem(const group_ctx *gc, const Mtbundle__GemmProblem *q,
                                            const char *what) {
  if (q->m < 1 || q->n < 1 || q->k < 1 || q->batch < 1 || q->m > MAX_DIM || q->n > MAX_DIM ||
      q->k > MAX_DIM || q->batch > MAX_DIM)
    return MT_ERR(DATA_LOSS, "%s: dims m=%lld n=%lld k=%lld batch=%lld are not all positive", what,
                  (long long)q->m, (long long)q->n, (long long)q->k, (long long)q->batch);
  int64_t ar = q->trans_a ? q->k : q->m, ac = q->trans_a ? q->m : q->k;
  int64_t br = q->trans_b ? q->n : q->k, bc = q->trans_b ? q->k : q->n;
  if (q->lda < ac || q->ldb < bc || q->ldc < q->n || q->lda > MAX_DIM || q->ldb > MAX_DIM ||
      q->ldc > MAX_DIM)
    return MT_ERR(DATA_LOSS,
                  "%s: leading dims lda=%lld ldb=%lld ldc=%lld are under the rows' %lld, "
                  "%lld, %lld elements",
                  what, (long long)q->lda, (long long)q->ldb, (long long)q->ldc, (long long)ac,
                  (long long)bc, (long long)q->n);
  if (q->stride_a < 0 || q->stride_b < 0 || q->stride_c < 0)
    return MT_ERR(DATA_LOSS, "%s: a negative batch stride", what);
  int64_t item_c = 0;
  if (!operand_elements(1, 0, q->m, q->ldc, q->n, &item_c) ||
      (q->batch > 1 && q->stride_c < item_c))
    return MT_ERR(DATA_LOSS,
                  "%s: batch stride %lld of d is under one item (%lld elements): "
                  "items would overwrite each other",
                  what, (long long)q->stride_c, (long long)item_c);
  if (q->epilogue >= MT_GPU_EPILOGUE_COUNT)
    return MT_ERR(DATA_LOSS, "%s: epilogue %u out of range", what, q->epilogue);
  bool needs_bias = q->epilogue == MT_GPU_EPI_BIAS || q->epilogue == MT_GPU_EPI_RELU_BIAS ||
                    q->epilogue == MT_GPU_EPI_GELU_BIAS;
  MT_RETURN_IF_ERROR_PLAIN(check_arg(gc, q->a, false, false, what));
  MT_RETURN_IF_ERROR_PLAIN(check_arg(gc, q->b, false, false, what));
  MT_RETURN_IF_ERROR_PLAIN(check_arg(gc, q->c, false, true, what));
  MT_RETURN_IF_ERROR_PLAIN(check_arg(gc, q->bias, false, true, what));
  MT_RETURN_IF_ERROR_PLAIN(check_arg(gc, q->d, true, false, what));
  int64_t e;
  if (!operand_elements(q->batch, q->stride_a, ar, q->lda, ac, &e)) e = -1;
  MT_RETURN_IF_ERROR_PLAIN(check_extent(q->a, e, what, "a"));
  if (!operand_elements(q->batch, q->stride_b, br, q->ldb, bc, &e)) e = -1;
  MT_RETURN_IF_ERROR_PLAIN(check_extent(q->b, e, what, "b"));
  if (!operand_elements(q->batch, q->stride_c, q->m, q->ldc, q->n, &e)) e = -1;
  MT_RETURN_IF_ERROR_PLAIN(check_extent(q->d, e, what, "d"));
  if (q->c->kind != MTBUNDLE__BUFFER_REF__KIND__NONE)
    MT_RETURN_IF_ERROR_PLAIN(check_extent(q->c, e, what, "c"));
  else if (q->beta != 0.0f)
    return MT_ERR(DATA_LOSS, "%s: beta %g without a c operand", what, (double)q->beta);
  /* a bias is the library's to add, so it comes exactly with a bias epilogue */
  if ((q->bias->kind != MTBUNDLE__BUFFER_REF__KIND__NONE) != needs_bias)
    return MT_ERR(DATA_LOSS, "%s: %s", what,
                  needs_bias ? "a bias epilogue but no bias"
                             : "a bias but an epilogue that adds none");
  if (needs_bias) MT_RETURN_IF_ERROR_PLAIN(check_extent(q->bias, q->n, what, "bias"));
  return NULL;
}

MT_MUST_USE static mt_status *check_launch(const group_ctx *gc, const Mtbundle__GpuLaunch *l,
                                           const char *what) {
  const Mtbundle__Manifest *m = gc->m;
  if (l->module >= m->n_gpu_modules)
    return MT_ERR(DATA_LOSS, "%s: module index %u out of range (%zu modules)", what, l->module,
                  m->n_gpu_modules);
  const Mtbundle__GpuModule *mod = m->gpu_modules[l->module];
  if (l->grid == 0 || l->grid > MAX_GRID || l->block == 0 || l->block > MAX_BLOCK)
    return MT_ERR(DATA_LOSS, "%s: grid %u x block %u (grid 1 to %u, block 1 to %u)", what, l->grid,
                  l->block, MAX_GRID, MAX_BLOCK);
  uint64_t smem = (uint64_t)l->dyn_smem + (uint64_t)(mod->shared_bytes > 0 ? mod->shared_bytes : 0);
  if (smem > MAX_SMEM)
    return MT_ERR(DATA_LOSS, "%s: %llu bytes of shared memory per block (at most %u)", what,
                  (unsigned long long)smem, MAX_SMEM);
  if (l->n_args == 0 || l->n_args > MAX_ARGS)
    return MT_ERR(DATA_LOSS, "%s: %zu kernel arguments (1 to %u)", what, l->n_args, MAX_ARGS);
  char arg[240];
  for (size_t i = 0; i < l->n_args; i++) {
    snprintf(arg, sizeof arg, "%s: argument %zu", what, i);
    /* the kernel writes some of its arguments: which ones the format does not say, and device
     * copies are what it writes (never the file mapping), so none is refused as read-only */
    MT_RETURN_IF_ERROR_PLAIN(check_arg(gc, l->args[i], false, false, arg));
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_libcall(const group_ctx *gc, const Mtbundle__GpuLibCall *c,
                                            const char *what) {
  if (c->kind >= MT_GPU_LIBCALL_KIND_COUNT)
    return MT_ERR(DATA_LOSS, "%s: library call kind %u out of range", what, c->kind);
  if (c->n_problems == 0 || c->n_problems > MAX_PROBLEMS ||
      (c->kind == MT_GPU_LT_MATMUL && c->n_problems != 1))
    return MT_ERR(DATA_LOSS, "%s: %zu GEMM problems for a call of kind %u", what, c->n_problems,
                  c->kind);
  if (c->sm_count < 0 || c->sm_count > 4096 || c->workspace_bytes > MAX_WORKSPACE)
    return MT_ERR(DATA_LOSS, "%s: SM-count target %d or workspace of %llu bytes out of range", what,
                  c->sm_count, (unsigned long long)c->workspace_bytes);
  char p[240];
  for (size_t i = 0; i < c->n_problems; i++) {
    snprintf(p, sizeof p, "%s: GEMM problem %zu", what, i);
    MT_RETURN_IF_ERROR_PLAIN(check_problem(gc, c->problems[i], p));
  }
  return NULL;
}

/* Steps of a group or of a conditional's body (checked in the group's context: the same tenants
 * and inputs). Recursion into bodies is bounded: mt_bundle_check_gpu_bodies ran first. */
MT_MUST_USE static mt_status *check_steps(const group_ctx *gc, Mtbundle__GpuStep *const *steps,
                                          size_t n_steps, const char *where) {
  char what[200];
  if (n_steps > MAX_STEPS)
    return MT_ERR(DATA_LOSS, "%s: %zu steps (at most %u)", where, n_steps, MAX_STEPS);
  for (size_t s = 0; s < n_steps; s++) {
    const Mtbundle__GpuStep *st = steps[s];
    snprintf(what, sizeof what, "%.150s step %zu", where, s);
    if (st->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH) {
      MT_RETURN_IF_ERROR_PLAIN(check_launch(gc, st->launch, what));
    } else if (st->step_case == MTBUNDLE__GPU_STEP__STEP_LIBCALL) {
      MT_RETURN_IF_ERROR_PLAIN(check_libcall(gc, st->libcall, what));
    } else if (st->step_case == MTBUNDLE__GPU_STEP__STEP_CONDITIONAL) {
      const Mtbundle__GpuConditional *c = st->conditional;
      char sub[200];
      MT_RETURN_IF_ERROR(check_arg(gc, c->condition, false, false, what), "condition");
      snprintf(sub, sizeof sub, "%.150s then body %u", what, c->then_body);
      const Mtbundle__GpuBody *tb = gc->m->gpu_bodies[c->then_body];
      MT_RETURN_IF_ERROR_PLAIN(check_steps(gc, tb->steps, tb->n_steps, sub));
      snprintf(sub, sizeof sub, "%.150s else body %u", what, c->else_body);
      const Mtbundle__GpuBody *eb = gc->m->gpu_bodies[c->else_body];
      MT_RETURN_IF_ERROR_PLAIN(check_steps(gc, eb->steps, eb->n_steps, sub));
    } else {
      return MT_ERR(DATA_LOSS, "%s: neither a launch, a library call nor a conditional", what);
    }
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_group(const group_ctx *gc, const char *f) {
  const Mtbundle__Manifest *m = gc->m;
  size_t g = (size_t)gc->g;
  const Mtbundle__GpuGroup *gg = m->gpu_groups[g];
  char where[200];
  bool why = gg->unavailable && gg->unavailable[0];
  if (why == (gg->n_steps > 0))
    return MT_ERR(DATA_LOSS, "%s: GPU group %zu has %s", f, g,
                  why ? "steps and a reason it has no GPU code" : "neither steps nor a reason");
  snprintf(where, sizeof where, "%s: GPU group %zu", f, g);
  return check_steps(gc, gg->steps, gg->n_steps, where);
}

MT_MUST_USE static mt_status *check_one_group(const Mtbundle__Manifest *m, size_t g,
                                              const int64_t *group_of_tenant, const char *f) {
  group_ctx gc = {.m = m, .g = (int64_t)g, .group_of_tenant = group_of_tenant};
  return check_group(&gc, f);
}

mt_status *mt_bundle_validate_gpu(const mt_bundle *b, const char *f) {
  const Mtbundle__Manifest *m = b->manifest;
  if (m->n_code_images > MAX_ITEMS || m->n_gpu_modules > MAX_ITEMS || m->n_gpu_groups > MAX_ITEMS)
    return MT_ERR(DATA_LOSS,
                  "%s: GPU counts out of range (%zu code images, %zu modules, %zu groups)", f,
                  m->n_code_images, m->n_gpu_modules, m->n_gpu_groups);
  bool has_gpu = m->n_gpu_groups > 0 || m->n_gpu_modules > 0 || m->n_code_images > 0 || b->code;
  if (!has_gpu) return NULL; /* a CPU-only bundle; gpu_unavailable says why */
  if (m->gpu_unavailable && m->gpu_unavailable[0])
    return MT_ERR(DATA_LOSS, "%s: GPU code and a reason there is none (gpu_unavailable)", f);
  if (m->n_gpu_groups != m->n_groups)
    return MT_ERR(DATA_LOSS, "%s: %zu GPU groups for %zu groups (expected one per group)", f,
                  m->n_gpu_groups, m->n_groups);
  MT_RETURN_IF_ERROR_PLAIN(check_archs(m, f));
  MT_RETURN_IF_ERROR_PLAIN(check_images(b, f));
  MT_RETURN_IF_ERROR_PLAIN(check_modules(m, f));
  MT_RETURN_IF_ERROR_PLAIN(mt_bundle_check_gpu_bodies(m, f));
  return mt_bundle_check_groups(m, m->n_gpu_groups, check_one_group, f);
}

mt_status *mt_bundle_code_image(const mt_bundle *b, uint32_t image, const uint8_t **out_data,
                                size_t *out_size) {
  const Mtbundle__Manifest *m = b->manifest;
  if (image >= m->n_code_images)
    return MT_ERR(OUT_OF_RANGE, "code image %u out of range (%zu images)", image, m->n_code_images);
  *out_data = b->code + m->code_images[image]->offset;
  *out_size = (size_t)m->code_images[image]->size;
  return NULL;
}

mt_status *mt_bundle_module_image(const mt_bundle *b, uint32_t module, int major, int minor,
                                  uint32_t *out_image, bool *out_ptx) {
  const Mtbundle__Manifest *m = b->manifest;
  if (module >= m->n_gpu_modules)
    return MT_ERR(OUT_OF_RANGE, "GPU module %u out of range (%zu modules)", module,
                  m->n_gpu_modules);
  const Mtbundle__GpuModule *mod = m->gpu_modules[module];
  int device = major * 10 + minor, best = -1, best_arch = -1, ptx = -1;
  char have[160] = "";
  size_t len = 0;
  for (size_t k = 0; k < mod->n_images; k++) {
    const Mtbundle__CodeImage *ci = m->code_images[mod->images[k]];
    int a = arch_number(ci->arch, ci->ptx);
    bool specific = ci->arch[strlen(ci->arch) - 1] == 'a' || ci->arch[strlen(ci->arch) - 1] == 'f';
    if (len < sizeof have) len += (size_t)snprintf(have + len, sizeof have - len, " %s", ci->arch);
    if (ci->ptx) {
      if (a <= device) ptx = (int)k;
    } else if (a / 10 == major && (a == device || (!specific && a < device && a > best_arch))) {
      best_arch = a == device ? 1000 : a;
      best = (int)k;
    }
  }
  if (best >= 0 || ptx >= 0) {
    *out_ptx = best < 0;
    *out_image = mod->images[best >= 0 ? best : ptx];
    return NULL;
  }
  return MT_ERR(NOT_FOUND, "GPU module '%s' has no code for sm_%d (it has:%s)", mod->entry, device,
                have);
}
