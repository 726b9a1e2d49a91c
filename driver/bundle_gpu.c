/* The GPU half of the .mtbundle writer: codegen's kernels and library calls and NVRTC's cubins and
 * PTX become the manifest's code images, modules and per-group GPU steps (mtbundle.proto, fields
 * 12-16) plus the code section. Buffers come from mt_bw_ref, the function that places the CPU
 * nodes' buffers, so a launch reads and writes exactly the bytes its CPU nodes would.
 *
 * Layout, all deterministic: modules in kernel order (kernels with the same source share one);
 * per module one cubin per bundle arch in Manifest.archs order, then the newest arch's PTX;
 * identical images (same arch, kind and bytes) stored once; images in the code section in
 * first-use order, each 64-byte aligned. */
#include <stdio.h>
#include <string.h>

#include "driver/bundle_writer.h"
#include "runtime/bundle/format.h"

_Static_assert((int)MT_GPU_LT_MATMUL == (int)MT_CUDA_LT_MATMUL &&
                   (int)MT_GPU_GEMM_BATCHED == (int)MT_CUDA_GEMM_BATCHED &&
                   (int)MT_GPU_GEMM_GROUPED == (int)MT_CUDA_GEMM_GROUPED,
               "library call kinds drift from runtime/bundle/format.h");
_Static_assert((int)MT_GPU_EPI_DEFAULT == (int)MT_CUDA_EPI_DEFAULT &&
                   (int)MT_GPU_EPI_BIAS == (int)MT_CUDA_EPI_BIAS &&
                   (int)MT_GPU_EPI_RELU == (int)MT_CUDA_EPI_RELU &&
                   (int)MT_GPU_EPI_RELU_BIAS == (int)MT_CUDA_EPI_RELU_BIAS &&
                   (int)MT_GPU_EPI_GELU == (int)MT_CUDA_EPI_GELU &&
                   (int)MT_GPU_EPI_GELU_BIAS == (int)MT_CUDA_EPI_GELU_BIAS,
               "GEMM epilogues drift from runtime/bundle/format.h");

/* What the runtime preallocates per library call for cuBLASLt's heuristics (NVIDIA recommends
 * 32 MiB on Hopper; less only restricts which algorithms may run). */
#define GPU_LIB_WORKSPACE_BYTES ((uint64_t)32 << 20)

typedef struct gpu_writer {
  writer *w;
  Mtbundle__Manifest *mf;
  const mt_cuda_program *prog;
  int n_archs;
  Mtbundle__CodeImage **images;
  const void **image_bytes; /* per image, the bytes behind it (owned by the compilation) */
  size_t n_images, cap_images;
  int32_t *module_of_kernel;
  int64_t *count_of_value;    /* scratch offset of a bounded value's int64 count, -1: none */
  int64_t *result_of_value;   /* scratch offset of a GEMM result of its own (library_result_ref) */
  int64_t *scratch_of_hgroup; /* scratch offset of a horizontal group's kernel scratch, -1: none */
} gpu_writer;

static const char *newest_arch_ptx(const mtcc_compilation *c, int kernel, int *out_arch) {
  for (int a = 0; a < c->n_archs; a++)
    if (c->compiled[kernel * c->n_archs + a].ptx) {
      *out_arch = a;
      return c->compiled[kernel * c->n_archs + a].ptx;
    }
  return NULL;
}

/* The index of an image with these bytes, added (and laid out) when it is new. */
MT_MUST_USE static mt_status *add_image(gpu_writer *g, const char *arch, bool ptx,
                                        const void *bytes, size_t n, uint32_t *out) {
  for (size_t i = 0; i < g->n_images; i++) {
    const Mtbundle__CodeImage *im = g->images[i];
    if (im->ptx == ptx && im->size == n && strcmp(im->arch, arch) == 0 &&
        memcmp(g->image_bytes[i], bytes, n) == 0) {
      *out = (uint32_t)i;
      return NULL;
    }
  }
  if (g->n_images == g->cap_images) {
    size_t cap = g->cap_images ? g->cap_images * 2 : 64;
    Mtbundle__CodeImage **ni;
    const void **nb;
    WARRAY(g->w, ni, cap);
    WARRAY(g->w, nb, cap);
    if (g->n_images) {
      memcpy(ni, g->images, g->n_images * sizeof *ni);
      memcpy(nb, g->image_bytes, g->n_images * sizeof *nb);
    }
    g->images = ni, g->image_bytes = nb, g->cap_images = cap;
  }
  Mtbundle__CodeImage *im;
  WNEW(g->w, im, mtbundle__code_image__init);
  im->arch = (char *)arch;
  im->ptx = ptx;
  g->w->code_bytes = mt_bw_align64(g->w->code_bytes);
  im->offset = g->w->code_bytes;
  im->size = n;
  g->w->code_bytes += n;
  g->image_bytes[g->n_images] = bytes;
  *out = (uint32_t)g->n_images;
  g->images[g->n_images++] = im;
  return NULL;
}

/* One module per distinct kernel source: its cubins, PTX and resources. */
MT_MUST_USE static mt_status *add_modules(gpu_writer *g) {
  const mtcc_compilation *c = g->w->c;
  const mt_cuda_program *prog = g->prog;
  Mtbundle__Manifest *mf = g->mf;
  WARRAY(g->w, g->module_of_kernel, prog->n_kernels);
  WARRAY(g->w, mf->gpu_modules, prog->n_kernels);
  for (int k = 0; k < prog->n_kernels; k++) {
    g->module_of_kernel[k] = -1;
    for (int j = 0; j < k; j++)
      if (strcmp(prog->kernels[j].source, prog->kernels[k].source) == 0) {
        g->module_of_kernel[k] = g->module_of_kernel[j];
        break;
      }
    if (g->module_of_kernel[k] >= 0) continue;
    Mtbundle__GpuModule *mod;
    WNEW(g->w, mod, mtbundle__gpu_module__init);
    mod->entry = (char *)prog->kernels[k].name;
    WARRAY(g->w, mod->images, g->n_archs + 1);
    for (int a = 0; a < g->n_archs; a++) {
      const mt_cuda_compiled *cc = &c->compiled[k * g->n_archs + a];
      if (!cc->cubin || cc->cubin_bytes == 0)
        return MT_ERR(INTERNAL, "bundle: kernel '%s' has no cubin for %s", mod->entry, c->archs[a]);
      MT_RETURN_IF_ERROR_PLAIN(
          add_image(g, c->archs[a], false, cc->cubin, cc->cubin_bytes, &mod->images[a]));
    }
    mod->n_images = (size_t)g->n_archs;
    int newest = 0;
    const char *ptx = newest_arch_ptx(c, k, &newest);
    const mt_cuda_compiled *nc = &c->compiled[k * g->n_archs + newest];
    if (ptx && nc->ptx_bytes > 0) {
      /* PTX names its virtual arch: sm_90 -> compute_90 */
      char *virt = mt_bw_alloc(g->w, 32);
      if (!virt) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      snprintf(virt, 32, "compute_%s", c->archs[newest] + 3);
      if (memchr(ptx, 0, nc->ptx_bytes))
        return MT_ERR(INTERNAL, "bundle: kernel '%s': PTX holds a NUL byte", mod->entry);
      MT_RETURN_IF_ERROR_PLAIN(
          add_image(g, virt, true, ptx, nc->ptx_bytes, &mod->images[mod->n_images++]));
    }
    mod->registers = nc->registers;
    mod->shared_bytes = nc->shared_bytes;
    g->module_of_kernel[k] = (int32_t)mf->n_gpu_modules;
    mf->gpu_modules[mf->n_gpu_modules++] = mod;
  }
  return NULL;
}

/* Where the library writes GEMM result d when the group's epilogue kernel reads it (d_scratch):
 * the value's own scratch bytes when the CPU plan keeps it there and the kernel does not also
 * write the value (the usual case: d lives only inside the group); else scratch bytes of its own
 * (an arena value, or a group output the kernel writes from d), so that the library's result and
 * the kernel's outputs never share a byte, as codegen assumes. */
MT_MUST_USE static mt_status *library_result_ref(gpu_writer *g, const mt_cuda_gemm *src,
                                                 Mtbundle__BufferRef **out) {
  writer *w = g->w;
  MT_RETURN_IF_ERROR_PLAIN(mt_bw_ref(w, src->d, out));
  Mtbundle__BufferRef *r = *out;
  if (r->kind != MTBUNDLE__BUFFER_REF__KIND__SCRATCH &&
      r->kind != MTBUNDLE__BUFFER_REF__KIND__ARENA)
    return MT_ERR(INTERNAL, "bundle: a GEMM result is a constant or graph input");
  bool kernel_writes = false;
  const mt_cuda_kernel *k =
      src->epilogue_kernel >= 0 ? &g->prog->kernels[src->epilogue_kernel] : NULL;
  for (int i = 0; k && i < k->n_params; i++)
    kernel_writes = kernel_writes || (k->params[i].is_output && k->params[i].value == src->d);
  if (r->kind == MTBUNDLE__BUFFER_REF__KIND__SCRATCH && !kernel_writes) return NULL;
  if (g->result_of_value[src->d] < 0) {
    w->scratch_bytes = mt_bw_align64(w->scratch_bytes);
    g->result_of_value[src->d] = (int64_t)w->scratch_bytes;
    w->scratch_bytes += r->size;
  }
  r->kind = MTBUNDLE__BUFFER_REF__KIND__SCRATCH;
  r->partition = 0;
  r->offset = (uint64_t)g->result_of_value[src->d];
  return NULL;
}

/* The 8-byte int64 scalar a kernel writes with the valid count of bounded value v. */
MT_MUST_USE static mt_status *count_ref(gpu_writer *g, mt_value_id v, Mtbundle__BufferRef **out) {
  writer *w = g->w;
  if (g->count_of_value[v] < 0) {
    w->scratch_bytes = mt_bw_align64(w->scratch_bytes);
    g->count_of_value[v] = (int64_t)w->scratch_bytes;
    w->scratch_bytes += 8;
  }
  Mtbundle__BufferRef *r;
  WNEW(w, r, mtbundle__buffer_ref__init);
  WNEW(w, r->type, mtbundle__tensor_type__init);
  r->type->dtype = MT_DTYPE_INT64; /* rank 0 */
  r->kind = MTBUNDLE__BUFFER_REF__KIND__SCRATCH;
  r->offset = (uint64_t)g->count_of_value[v];
  r->size = 8;
  *out = r;
  return NULL;
}

/* The horizontal group's scratch buffer (codegen's is_scratch parameters: split-K partial sums),
 * float32 bytes of its own in the scratch section, as large as the group's largest scratch
 * parameter and shared by the group's kernels, which run in program order. */
MT_MUST_USE static mt_status *group_scratch_ref(gpu_writer *g, const mt_cuda_kernel *kn,
                                                Mtbundle__BufferRef **out) {
  writer *w = g->w;
  int64_t elems = 0;
  for (int k = 0; k < g->prog->n_kernels; k++) {
    const mt_cuda_kernel *o = &g->prog->kernels[k];
    for (int i = 0; o->hgroup == kn->hgroup && i < o->n_params; i++)
      if (o->params[i].is_scratch && o->params[i].elements > elems) elems = o->params[i].elements;
  }
  if (g->scratch_of_hgroup[kn->hgroup] < 0) {
    w->scratch_bytes = mt_bw_align64(w->scratch_bytes);
    g->scratch_of_hgroup[kn->hgroup] = (int64_t)w->scratch_bytes;
    w->scratch_bytes += (uint64_t)elems * 4;
  }
  Mtbundle__BufferRef *r;
  WNEW(w, r, mtbundle__buffer_ref__init);
  WNEW(w, r->type, mtbundle__tensor_type__init);
  r->type->dtype = MT_DTYPE_FLOAT32;
  WARRAY(w, r->type->dims, 1);
  r->type->dims[0] = elems;
  r->type->n_dims = 1;
  r->kind = MTBUNDLE__BUFFER_REF__KIND__SCRATCH;
  r->offset = (uint64_t)g->scratch_of_hgroup[kn->hgroup];
  r->size = (uint64_t)elems * 4;
  *out = r;
  return NULL;
}

/* Kernel k as a launch; `gemm` (or NULL) is the library call whose results k reads. */
MT_MUST_USE static mt_status *launch_step(gpu_writer *g, int k, const mt_cuda_libcall *gemm,
                                          Mtbundle__GpuStep **out) {
  const mt_cuda_kernel *kn = &g->prog->kernels[k];
  Mtbundle__GpuStep *s;
  Mtbundle__GpuLaunch *l;
  WNEW(g->w, s, mtbundle__gpu_step__init);
  WNEW(g->w, l, mtbundle__gpu_launch__init);
  s->step_case = MTBUNDLE__GPU_STEP__STEP_LAUNCH;
  s->launch = l;
  l->module = (uint32_t)g->module_of_kernel[k];
  l->grid = kn->grid;
  l->block = kn->block;
  l->dyn_smem = (uint32_t)kn->dyn_smem;
  l->name = (char *)kn->name;
  l->n_args = (size_t)kn->n_params;
  WARRAY(g->w, l->args, kn->n_params);
  for (int i = 0; i < kn->n_params; i++) {
    const mt_cuda_param *pa = &kn->params[i];
    const mt_cuda_gemm *from_library = NULL; /* d of a GEMM of the group, read by its kernel */
    for (int j = 0; gemm && !pa->is_output && j < gemm->n_problems; j++)
      if (gemm->problems[j].d_scratch && gemm->problems[j].d == pa->value)
        from_library = &gemm->problems[j];
    mt_status *st = pa->is_scratch ? group_scratch_ref(g, kn, &l->args[i])
                    : pa->is_count ? count_ref(g, pa->value, &l->args[i])
                    : from_library ? library_result_ref(g, from_library, &l->args[i])
                                   : mt_bw_ref(g->w, pa->value, &l->args[i]);
    if (st) return mt_status_annotate(st, "kernel '%s' parameter %d", kn->name, i);
  }
  *out = s;
  return NULL;
}

MT_MUST_USE static mt_status *problem(gpu_writer *g, const mt_cuda_gemm *src,
                                      Mtbundle__GemmProblem **out) {
  writer *w = g->w;
  Mtbundle__GemmProblem *q;
  WNEW(w, q, mtbundle__gemm_problem__init);
  q->m = src->m, q->n = src->n, q->k = src->k, q->batch = src->batch;
  q->trans_a = src->trans_a, q->trans_b = src->trans_b;
  q->lda = src->lda, q->ldb = src->ldb, q->ldc = src->ldc;
  q->stride_a = src->stride_a, q->stride_b = src->stride_b, q->stride_c = src->stride_c;
  q->alpha = src->alpha, q->beta = src->beta;
  q->epilogue = (uint32_t)src->epilogue;
  MT_RETURN_IF_ERROR_PLAIN(mt_bw_ref(w, src->a, &q->a));
  MT_RETURN_IF_ERROR_PLAIN(mt_bw_ref(w, src->b, &q->b));
  MT_RETURN_IF_ERROR_PLAIN(mt_bw_ref(w, src->c, &q->c));
  /* the bias travels with the problem only when the library adds it (a bias epilogue); a
   * batched or grouped GEMM leaves it to the group's epilogue kernel, which names it itself */
  bool library_bias = src->epilogue == MT_CUDA_EPI_BIAS || src->epilogue == MT_CUDA_EPI_RELU_BIAS ||
                      src->epilogue == MT_CUDA_EPI_GELU_BIAS;
  MT_RETURN_IF_ERROR_PLAIN(mt_bw_ref(w, library_bias ? src->bias : MT_NO_VALUE, &q->bias));
  MT_RETURN_IF_ERROR_PLAIN(src->d_scratch ? library_result_ref(g, src, &q->d)
                                          : mt_bw_ref(w, src->d, &q->d));
  *out = q;
  return NULL;
}

/* A GEMM group: the library call, then the generated epilogue kernel when it has one, appended
 * to steps[*n_steps] (room for two). */
MT_MUST_USE static mt_status *libcall_steps(gpu_writer *g, const mt_cuda_libcall *lc,
                                            Mtbundle__GpuStep **steps, size_t *n_steps) {
  Mtbundle__GpuStep *s;
  Mtbundle__GpuLibCall *call;
  WNEW(g->w, s, mtbundle__gpu_step__init);
  WNEW(g->w, call, mtbundle__gpu_lib_call__init);
  s->step_case = MTBUNDLE__GPU_STEP__STEP_LIBCALL;
  s->libcall = call;
  call->kind = (uint32_t)lc->kind;
  call->sm_count = lc->sm_count;
  call->tf32 = lc->tf32;
  call->workspace_bytes = GPU_LIB_WORKSPACE_BYTES;
  call->n_problems = (size_t)lc->n_problems;
  WARRAY(g->w, call->problems, lc->n_problems);
  int epilogue = -1;
  for (int j = 0; j < lc->n_problems; j++) {
    MT_RETURN_IF_ERROR(problem(g, &lc->problems[j], &call->problems[j]), "GEMM problem %d", j);
    if (lc->problems[j].epilogue_kernel >= 0) epilogue = lc->problems[j].epilogue_kernel;
  }
  steps[(*n_steps)++] = s;
  if (epilogue >= 0) MT_RETURN_IF_ERROR_PLAIN(launch_step(g, epilogue, lc, &steps[(*n_steps)++]));
  return NULL;
}

/* Conditional ci (codegen's If) as a GpuConditional step: the bodies of the Ifs inside it are
 * appended to Manifest.gpu_bodies first, then its own then and else bodies, so a conditional
 * inside body b names only bodies before b (validate_gpu_cond.c). */
MT_MUST_USE static mt_status *cond_step(gpu_writer *g, int ci, Mtbundle__GpuStep **out) {
  const mt_cuda_cond *c = &g->prog->conds[ci];
  Mtbundle__GpuBody *bodies[2];
  for (int k = 0; k < 2; k++) {
    const mt_cuda_body *cb = &c->body[k];
    Mtbundle__GpuBody *b;
    WNEW(g->w, b, mtbundle__gpu_body__init);
    WARRAY(g->w, b->steps, 2 * (size_t)cb->n_steps);
    for (int i = 0; i < cb->n_steps; i++) {
      const mt_cuda_step *st = &cb->steps[i];
      if (st->kind == MT_CUDA_STEP_KERNEL)
        MT_RETURN_IF_ERROR_PLAIN(launch_step(g, st->index, NULL, &b->steps[b->n_steps++]));
      else if (st->kind == MT_CUDA_STEP_LIBCALL)
        MT_RETURN_IF_ERROR_PLAIN(
            libcall_steps(g, &g->prog->libcalls[st->index], b->steps, &b->n_steps));
      else
        MT_RETURN_IF_ERROR_PLAIN(cond_step(g, st->index, &b->steps[b->n_steps++]));
    }
    bodies[k] = b;
  }
  Mtbundle__Manifest *mf = g->mf;
  Mtbundle__GpuStep *s;
  Mtbundle__GpuConditional *gc;
  WNEW(g->w, s, mtbundle__gpu_step__init);
  WNEW(g->w, gc, mtbundle__gpu_conditional__init);
  s->step_case = MTBUNDLE__GPU_STEP__STEP_CONDITIONAL;
  s->conditional = gc;
  MT_RETURN_IF_ERROR(mt_bw_ref(g->w, c->condition, &gc->condition), "If condition");
  gc->set_module = (uint32_t)g->module_of_kernel[c->set_kernel];
  gc->set_block = g->prog->kernels[c->set_kernel].block;
  for (int k = 0; k < 2; k++) {
    (k ? &gc->else_body : &gc->then_body)[0] = (uint32_t)mf->n_gpu_bodies;
    mf->gpu_bodies[mf->n_gpu_bodies++] = bodies[k];
  }
  *out = s;
  return NULL;
}

MT_MUST_USE static mt_status *add_groups(gpu_writer *g, const int32_t *order) {
  writer *w = g->w;
  const mt_cuda_program *prog = g->prog;
  int nh = w->p->n_hgroups;
  int32_t *kernel_of, *libcall_of, *skipped_of;
  bool *epilogue;
  WARRAY(w, kernel_of, nh);
  WARRAY(w, libcall_of, nh);
  WARRAY(w, skipped_of, nh);
  WARRAY(w, epilogue, prog->n_kernels);
  int32_t *cond_of;
  WARRAY(w, cond_of, nh);
  for (int h = 0; h < nh; h++) kernel_of[h] = libcall_of[h] = skipped_of[h] = cond_of[h] = -1;
  for (int i = 0; i < prog->n_conds; i++)
    if (prog->conds[i].hgroup >= 0) cond_of[prog->conds[i].hgroup] = i;
  /* kernels and library calls of If bodies (hgroup -1) are steps of their conditional */
  for (int i = 0; i < prog->n_libcalls; i++) {
    if (prog->libcalls[i].hgroup >= 0) libcall_of[prog->libcalls[i].hgroup] = i;
    for (int j = 0; j < prog->libcalls[i].n_problems; j++)
      if (prog->libcalls[i].problems[j].epilogue_kernel >= 0)
        epilogue[prog->libcalls[i].problems[j].epilogue_kernel] = true;
  }
  /* a group's own kernels (not a library call's epilogue), launched in program order: a split-K
   * conv is a partial kernel then its reduce kernel, sharing the group's scratch */
  int32_t *n_kernels_of;
  WARRAY(w, n_kernels_of, nh);
  for (int h = 0; h < nh; h++) n_kernels_of[h] = 0;
  for (int k = prog->n_kernels - 1; k >= 0; k--)
    if (!epilogue[k] && prog->kernels[k].hgroup >= 0) {
      kernel_of[prog->kernels[k].hgroup] = k;
      n_kernels_of[prog->kernels[k].hgroup]++;
    }
  for (int i = 0; i < prog->n_skipped; i++) skipped_of[prog->skipped[i].hgroup] = i;
  Mtbundle__Manifest *mf = g->mf;
  WARRAY(w, mf->gpu_bodies, 2 * (size_t)prog->n_conds);
  mf->n_gpu_groups = mf->n_groups;
  WARRAY(w, mf->gpu_groups, mf->n_groups);
  for (size_t i = 0; i < mf->n_groups; i++) {
    int32_t h = order[i];
    Mtbundle__GpuGroup *gg;
    WNEW(w, gg, mtbundle__gpu_group__init);
    mf->gpu_groups[i] = gg;
    WARRAY(w, gg->steps, n_kernels_of[h] > 2 ? n_kernels_of[h] : 2);
    mt_status *st = NULL;
    if (skipped_of[h] >= 0)
      gg->unavailable = (char *)prog->skipped[skipped_of[h]].reason;
    else if (libcall_of[h] >= 0)
      st = libcall_steps(g, &prog->libcalls[libcall_of[h]], gg->steps, &gg->n_steps);
    else if (cond_of[h] >= 0)
      st = cond_step(g, cond_of[h], &gg->steps[gg->n_steps++]);
    else
      for (int k = kernel_of[h]; k >= 0 && !st && k < prog->n_kernels; k++)
        if (!epilogue[k] && prog->kernels[k].hgroup == h)
          st = launch_step(g, k, NULL, &gg->steps[gg->n_steps++]);
    if (!st && skipped_of[h] < 0 && libcall_of[h] < 0 && kernel_of[h] < 0 && cond_of[h] < 0)
      st = MT_ERR(INTERNAL, "codegen left no kernel, library call or reason");
    if (st) return mt_status_annotate(st, "bundle: group %zu (plan horizontal group %d)", i, h);
  }
  return NULL;
}

mt_status *mt_bw_gpu(writer *w, Mtbundle__Manifest *mf, const int32_t *order) {
  const mtcc_compilation *c = w->c;
  if (!c->compiled || !c->cuda) {
    mf->gpu_unavailable =
        (char *)(mt_cuda_nvrtc_available() ? "compiled without NVRTC (mtcc compile --cpu-only, or "
                                             "mtcc_compile_options.nvrtc = 0)"
                                           : mt_cuda_nvrtc_describe());
    return NULL;
  }
  gpu_writer g = {.w = w, .mf = mf, .prog = c->cuda, .n_archs = c->n_archs};
  int32_t nv = mt_module_value_count(w->m);
  WARRAY(w, g.count_of_value, nv);
  WARRAY(w, g.result_of_value, nv);
  for (int32_t v = 0; v < nv; v++) g.count_of_value[v] = g.result_of_value[v] = -1;
  WARRAY(w, g.scratch_of_hgroup, w->p->n_hgroups + 1);
  for (int32_t h = 0; h <= w->p->n_hgroups; h++) g.scratch_of_hgroup[h] = -1;
  MT_RETURN_IF_ERROR_PLAIN(add_modules(&g));
  MT_RETURN_IF_ERROR_PLAIN(add_groups(&g, order));
  mf->n_code_images = g.n_images;
  mf->code_images = g.images;
  mf->code_bytes = w->code_bytes;
  if (w->code_bytes) {
    w->code = mt_bw_alloc(w, (size_t)w->code_bytes);
    if (!w->code) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for the code section");
    for (size_t i = 0; i < g.n_images; i++)
      memcpy(w->code + g.images[i]->offset, g.image_bytes[i], (size_t)g.images[i]->size);
  }
  return NULL;
}
