/* GEMM groups as library calls: a Gemm or MatMul group becomes a plan node the runtime executes
 * with cuBLASLt (one problem, possibly a strided batch), a batched GEMM (identical shapes across
 * tenants) or cublasGemmGroupedBatchedEx (different shapes), described in row-major terms
 * (mt_cuda_gemm). What cuBLASLt can apply itself (a bias row vector, ReLU, tanh-GELU) goes into
 * the call's epilogue; everything else the group computes after the GEMM is one generated
 * epilogue kernel (all members as bodies of one kernel) that reads the GEMM result from a scratch
 * buffer. Grouped and batched GEMM have no fused epilogues, so their bias is added there too.
 *
 * Views in front of the GEMM (a Flatten or Reshape that joined the group) are looked through: the
 * library reads the view's source bytes.
 *
 * A 1x1 stride-1 unpadded convolution (group 1, NCHW) is the same call when the cost model says
 * it wins (mt_cg_conv_prefers_gemm): per image, Y[Cout x HW] = W[Cout x Cin] * X[Cin x HW], one
 * strided batch over the images with W shared. Its bias is per output channel (a row of Y), not
 * cuBLASLt's per-column bias vector, so it goes to the epilogue kernel with the rest. */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

const char *mt_cuda_libcall_kind_name(mt_cuda_libcall_kind k) {
  switch (k) {
  case MT_CUDA_LT_MATMUL: return "cublasLtMatmul";
  case MT_CUDA_GEMM_BATCHED: return "cublasGemmBatchedEx";
  case MT_CUDA_GEMM_GROUPED: return "cublasGemmGroupedBatchedEx";
  }
  return "?";
}

const char *mt_cuda_epilogue_name(mt_cuda_epilogue e) {
  switch (e) {
  case MT_CUDA_EPI_DEFAULT: return "default";
  case MT_CUDA_EPI_BIAS: return "bias";
  case MT_CUDA_EPI_RELU: return "relu";
  case MT_CUDA_EPI_RELU_BIAS: return "relu_bias";
  case MT_CUDA_EPI_GELU: return "gelu";
  case MT_CUDA_EPI_GELU_BIAS: return "gelu_bias";
  }
  return "?";
}

#define GEMM_MAX_MEMBERS 64

/* Per member: the problem, the epilogue group (nodes after the GEMM) and what the epilogue
 * kernel must add to the library's result. */
typedef struct gemm_member {
  mt_cuda_gemm g;
  mt_fused_group epi; /* nodes, inputs and outputs owned here */
  bool bias_in_kernel;
  mt_value_id anchor_out;
  int d_index;          /* d's parameter index among epi's inputs */
  mt_value_id bias_v;   /* the bias the kernel adds: element (off / bias_div) % bias_mod */
  int64_t bias_div;     /* 1 for a GEMM's row vector, HW for a conv's per-channel bias */
  int64_t bias_mod;     /* n for a GEMM, Cout for a conv */
  mt_value_id row_bias; /* a conv's per-channel bias (MT_NO_VALUE: none) */
  int body;             /* body index in the epilogue kernel */
} gemm_member;

/* The epilogue kernel's view of the anchor's output: the library result, plus the bias when the
 * library call could not add it. */
static mt_status *anchor_special(cg_body *b, mt_value_id v, const char *off, char *var) {
  const gemm_member *gm = b->special_ctx;
  if (v != gm->anchor_out) return MT_ERR(NOT_FOUND, "not the GEMM output");
  mt_cg_tmp(b, "d", var);
  if (!gm->bias_in_kernel) {
    mt_cg_line(b, "const float %s = b%d_in%d[%s];", var, b->index, gm->d_index, off);
    return NULL;
  }
  char boff[MT_CG_NAME], bias[MT_CG_NAME];
  mt_cg_tmp(b, "bo", boff);
  mt_cg_line(b, "const long long %s = (%s) / %lldLL %% %lldLL;", boff, off, (long long)gm->bias_div,
             (long long)gm->bias_mod);
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, gm->bias_v, boff, bias));
  mt_cg_line(b, "const float %s = b%d_in%d[%s] + %s;", var, b->index, gm->d_index, off, bias);
  return NULL;
}

static bool is_view_kind(mt_kernel_kind k) { return k == MT_KERNEL_COPY; }

/* v with in-group views (Reshape, Flatten...) looked through; *out_in_group set when the source
 * is still computed inside the group. Marks the views in `skip`. */
static mt_value_id through_views(const cg_body *b, mt_value_id v, bool *skip, bool *out_in_group) {
  for (;;) {
    int k = mt_cg_producer_index(b, v);
    if (k < 0) {
      *out_in_group = false;
      return v;
    }
    if (!is_view_kind(b->calls[k].kind)) {
      *out_in_group = true;
      return v;
    }
    skip[k] = true;
    v = mt_module_node_c(b->m, b->fg->nodes[k])->inputs[0];
  }
}

static int64_t prod(const int64_t *d, int n) {
  int64_t r = 1;
  for (int i = 0; i < n; i++) r *= d[i];
  return r;
}

/* Fills gm->g's shape from the anchor (Gemm or MatMul). */
MT_MUST_USE static mt_status *problem_shape(const cg_body *b, const mt_node *n,
                                            const mt_kernel_call *c, mt_cuda_gemm *g) {
  const mt_value *A = mt_module_value_c(b->m, n->inputs[0]);
  const mt_value *B = mt_module_value_c(b->m, n->inputs[1]);
  const char *label = mt_cg_node_label(b->m, b->fg->anchor);
  if (A->dtype != MT_DTYPE_FLOAT32 || B->dtype != MT_DTYPE_FLOAT32)
    return MT_ERR(UNIMPLEMENTED, "%s: gemm operands are %s x %s (float32 only)", label,
                  mt_dtype_name(A->dtype), mt_dtype_name(B->dtype));
  g->batch = 1;
  if (c->kind == MT_KERNEL_CONV) {
    const mt_kc_conv *kc = &c->params.conv;
    if (!mt_cg_conv_is_pointwise(kc))
      return MT_ERR(UNIMPLEMENTED, "%s: not a 1x1 stride-1 unpadded conv", label);
    int64_t sp = mt_conv_geom_out_size(&kc->geom);
    g->alpha = 1.0f;
    g->m = kc->c_out;
    g->k = kc->c_in;
    g->n = sp;
    g->batch = kc->batch;
    g->lda = kc->c_in;
    g->ldb = sp;
    g->ldc = sp;
    g->stride_a = 0; /* the weights, shared by every image */
    g->stride_b = kc->c_in * sp;
    g->stride_c = kc->c_out * sp;
    return NULL;
  }
  if (c->kind == MT_KERNEL_GEMM) {
    if (A->rank != 2 || B->rank != 2)
      return MT_ERR(UNIMPLEMENTED, "%s: Gemm operands of rank %d and %d", label, A->rank, B->rank);
    g->trans_a = c->params.gemm.trans_a;
    g->trans_b = c->params.gemm.trans_b;
    g->alpha = c->params.gemm.alpha;
    g->beta = c->params.gemm.beta;
    g->m = g->trans_a ? A->dims[1] : A->dims[0];
    g->k = g->trans_a ? A->dims[0] : A->dims[1];
    g->n = g->trans_b ? B->dims[0] : B->dims[1];
    g->lda = A->dims[1];
    g->ldb = B->dims[1];
    g->ldc = g->n;
    return NULL;
  }
  if (c->kind != MT_KERNEL_MATMUL)
    return MT_ERR(UNIMPLEMENTED, "%s: GEMM group anchored on a %s kernel", label,
                  mt_kernel_kind_name(c->kind));
  g->alpha = 1.0f;
  int ab = A->rank >= 2 ? A->rank - 2 : 0, bb = B->rank >= 2 ? B->rank - 2 : 0;
  int64_t am = A->rank >= 2 ? A->dims[A->rank - 2] : 1, ak = A->dims[A->rank - 1];
  int64_t bk = B->rank >= 2 ? B->dims[B->rank - 2] : B->dims[0];
  int64_t bn = B->rank >= 2 ? B->dims[B->rank - 1] : 1;
  g->k = ak;
  g->n = bn;
  if (ak != bk)
    return MT_ERR(INTERNAL, "%s: inner dims %lld and %lld", label, (long long)ak, (long long)bk);
  if (bb == 0) { /* B shared: A's batch dims fold into m (A is contiguous) */
    g->m = prod(A->dims, ab) * am;
  } else if (ab == bb && memcmp(A->dims, B->dims, (size_t)ab * sizeof(int64_t)) == 0) {
    g->m = am;
    g->batch = prod(A->dims, ab);
    g->stride_a = am * ak;
    g->stride_b = bk * bn;
    g->stride_c = am * bn;
  } else if (ab == 0) {
    g->m = am;
    g->batch = prod(B->dims, bb);
    g->stride_b = bk * bn;
    g->stride_c = am * bn;
  } else {
    return MT_ERR(UNIMPLEMENTED,
                  "%s: MatMul batch dims broadcast both ways (not one strided batch)", label);
  }
  g->lda = ak;
  g->ldb = bn;
  g->ldc = bn;
  return NULL;
}

/* Classifies member k: problem, C/bias, fused epilogue, epilogue group. */
MT_MUST_USE static mt_status *member_plan(const mt_plan *p, const mt_fused_group *fg,
                                          bool lt_epilogues, const mt_allocator *a,
                                          gemm_member *gm) {
  const mt_module *m = p->module;
  mt_sb dummy = {.allocator = a};
  cg_body *b = mt_allocator_calloc(a, 1, sizeof *b);
  bool *skip = mt_allocator_calloc(a, (size_t)fg->n_nodes + 1, 1);
  mt_status *st = (!b || !skip) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  if (!st) st = mt_cg_body_init(b, p, fg, 0, &dummy);
  int ak = -1;
  for (int k = 0; !st && k < fg->n_nodes; k++)
    if (fg->nodes[k] == fg->anchor) ak = k;
  if (!st && ak < 0) st = MT_ERR(UNIMPLEMENTED, "gemm group without an anchor");
  const mt_node *n = st ? NULL : mt_module_node_c(m, fg->anchor);
  mt_cuda_gemm *g = &gm->g;
  memset(gm, 0, sizeof *gm);
  g->group = (int32_t)(fg - p->groups);
  g->epilogue_kernel = -1;
  g->c = g->bias = MT_NO_VALUE;
  if (!st) st = problem_shape(b, n, &b->calls[ak], g);
  bool conv = !st && b->calls[ak].kind == MT_KERNEL_CONV;
  gm->row_bias = MT_NO_VALUE;
  if (!st) {
    g->node = fg->anchor;
    skip[ak] = true;
    bool in_group = false;
    /* a conv's GEMM is W * X: its operands in the other order */
    g->a = through_views(b, n->inputs[conv ? 1 : 0], skip, &in_group);
    bool in_group_b = false;
    g->b = through_views(b, n->inputs[conv ? 0 : 1], skip, &in_group_b);
    if (in_group || in_group_b)
      st = MT_ERR(UNIMPLEMENTED, "%s: a GEMM operand is computed inside the group",
                  mt_cg_node_label(m, fg->anchor));
  }
  if (!st && conv && n->n_inputs > 2 && n->inputs[2] != MT_NO_VALUE) gm->row_bias = n->inputs[2];
  if (!st && !conv && n->n_inputs > 2 && n->inputs[2] != MT_NO_VALUE && g->beta != 0.0f) {
    const mt_value *C = mt_module_value_c(m, n->inputs[2]);
    bool row = mt_shape_numel(C->rank, C->dims) == g->n &&
               (C->rank == 1 || (C->rank == 2 && C->dims[0] == 1));
    if (C->rank == 2 && C->dims[0] == g->m && C->dims[1] == g->n) {
      g->c = n->inputs[2];
    } else if (row && g->beta == 1.0f) {
      g->bias = n->inputs[2];
    } else {
      st = MT_ERR(UNIMPLEMENTED, "%s: C of rank %d is neither a bias row nor a full matrix",
                  mt_cg_node_label(m, fg->anchor), C->rank);
    }
  }
  if (g->c == MT_NO_VALUE) g->beta = 0.0f;
  gm->anchor_out = n ? n->outputs[0] : MT_NO_VALUE;
  int n_post = 0, last = -1;
  for (int k = 0; !st && k < fg->n_nodes; k++)
    if (!skip[k]) {
      n_post++;
      last = k;
    }
  g->d = gm->anchor_out;
  g->epilogue = g->bias != MT_NO_VALUE ? MT_CUDA_EPI_BIAS : MT_CUDA_EPI_DEFAULT;
  bool fused = false;
  /* cuBLASLt cannot add a per-row bias: with one, ReLU/GELU stay in the epilogue kernel */
  if (!st && lt_epilogues && gm->row_bias == MT_NO_VALUE && n_post == 1 && fg->n_outputs == 1) {
    const mt_node *pn = mt_module_node_c(m, fg->nodes[last]);
    const mt_kernel_call *pc = &b->calls[last];
    bool relu = pc->kind == MT_KERNEL_UNARY && pc->params.unary.op == MT_EW_RELU;
    bool gelu = pc->kind == MT_KERNEL_UNARY && pc->params.unary.op == MT_EW_GELU &&
                pc->params.unary.params.approximate == 1;
    if ((relu || gelu) && pn->inputs[0] == gm->anchor_out && fg->outputs[0] == pn->outputs[0] &&
        mt_module_value_c(m, pn->outputs[0])->dtype == MT_DTYPE_FLOAT32) {
      fused = true;
      g->d = pn->outputs[0];
      bool bias = g->bias != MT_NO_VALUE;
      g->epilogue = relu ? (bias ? MT_CUDA_EPI_RELU_BIAS : MT_CUDA_EPI_RELU)
                         : (bias ? MT_CUDA_EPI_GELU_BIAS : MT_CUDA_EPI_GELU);
    }
  }
  gm->bias_in_kernel = (!lt_epilogues && g->bias != MT_NO_VALUE) || gm->row_bias != MT_NO_VALUE;
  gm->bias_v = gm->row_bias != MT_NO_VALUE ? gm->row_bias : g->bias;
  gm->bias_div = gm->row_bias != MT_NO_VALUE ? g->n : 1;
  gm->bias_mod = gm->row_bias != MT_NO_VALUE ? g->m : g->n;
  if (!lt_epilogues) g->epilogue = MT_CUDA_EPI_DEFAULT;
  bool need_kernel = !st && !fused && (n_post > 0 || gm->bias_in_kernel);
  if (need_kernel) {
    /* The epilogue group: the nodes after the GEMM, reading d (the library's result) as an
     * extra input; it writes every group output, so d always gets a scratch buffer. */
    g->d_scratch = true;
    mt_fused_group *e = &gm->epi;
    *e = *fg;
    e->kind = MT_GROUP_ELEMENTWISE;
    e->anchor = -1;
    e->nodes = mt_allocator_calloc(a, (size_t)fg->n_nodes + 1, sizeof *e->nodes);
    e->inputs = mt_allocator_calloc(a, (size_t)fg->n_inputs + 1, sizeof *e->inputs);
    if (!e->nodes || !e->inputs) {
      st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    } else {
      e->n_nodes = 0;
      for (int k = 0; k < fg->n_nodes; k++)
        if (!skip[k]) e->nodes[e->n_nodes++] = fg->nodes[k];
      memcpy(e->inputs, fg->inputs, (size_t)fg->n_inputs * sizeof *e->inputs);
      gm->d_index = fg->n_inputs;
      e->inputs[e->n_inputs++] = gm->anchor_out;
    }
  }
  mt_cg_body_free(b);
  mt_allocator_free(a, b);
  mt_allocator_free(a, skip);
  mt_sb_free(&dummy);
  return st;
}

MT_MUST_USE static mt_status *add_libcall(mt_cuda_program *prog, const mt_cuda_libcall *c) {
  if (prog->n_libcalls == prog->cap_libcalls) {
    int cap = prog->cap_libcalls ? prog->cap_libcalls * 2 : 16;
    mt_cuda_libcall *n =
        mt_allocator_realloc(prog->allocator, prog->libcalls, (size_t)cap * sizeof *n);
    if (!n) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    prog->libcalls = n;
    prog->cap_libcalls = cap;
  }
  prog->libcalls[prog->n_libcalls++] = *c;
  return NULL;
}

mt_status *mt_cg_gemm_libcall(const mt_plan *p, const mt_cuda_options *o, int32_t h,
                              const char *why_prefix, mt_cuda_program *prog) {
  const mt_horizontal_group *hg = &p->hgroups[h];
  const mt_allocator *a = prog->allocator;
  if (hg->n_members > GEMM_MAX_MEMBERS)
    return MT_ERR(UNIMPLEMENTED, "gemm: more than %d members", GEMM_MAX_MEMBERS);
  mt_cuda_libcall call = {.hgroup = h, .tf32 = o->tf32, .n_problems = hg->n_members};
  call.kind = hg->kind == MT_HGROUP_GROUPED_GEMM   ? MT_CUDA_GEMM_GROUPED
              : hg->kind == MT_HGROUP_BATCHED_GEMM ? MT_CUDA_GEMM_BATCHED
                                                   : MT_CUDA_LT_MATMUL;
  if (call.kind == MT_CUDA_LT_MATMUL && hg->n_members != 1)
    return MT_ERR(UNIMPLEMENTED, "gemm: %d GEMM groups in a %s horizontal group", hg->n_members,
                  mt_hgroup_kind_name(hg->kind));
  const mt_partition_plan *part = &p->partitions[hg->partition];
  call.sm_count = o->sm_count_override > 0
                      ? o->sm_count_override
                      : (part->sm_count > 0 ? part->sm_count : p->arch->sm_count);
  gemm_member *gms = mt_allocator_calloc(a, (size_t)hg->n_members, sizeof *gms);
  if (!gms) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  const mt_fused_group *bodies[GEMM_MAX_MEMBERS];
  void *ctx[GEMM_MAX_MEMBERS];
  int n_bodies = 0;
  for (int k = 0; !st && k < hg->n_members; k++) {
    const mt_fused_group *fg = &p->groups[hg->members[k]];
    if (fg->kind != MT_GROUP_GEMM && !(fg->kind == MT_GROUP_CONV && why_prefix)) {
      st = MT_ERR(UNIMPLEMENTED, "gemm: member %d is a %s group", k, mt_group_kind_name(fg->kind));
      break;
    }
    st = member_plan(p, fg, call.kind == MT_CUDA_LT_MATMUL, a, &gms[k]);
    if (!st && gms[k].epi.nodes) {
      gms[k].body = n_bodies;
      bodies[n_bodies] = &gms[k].epi;
      ctx[n_bodies++] = &gms[k];
    }
  }
  int kernel_index = -1;
  if (!st && n_bodies > 0) {
    mt_cuda_kernel k;
    memset(&k, 0, sizeof k);
    char full[260];
    size_t len = (size_t)snprintf(full, sizeof full, "h%d_gemm_epilogue", h);
    for (int j = 0; j < hg->n_members && len + 2 < sizeof full; j++) {
      const char *t = mt_module_tenant_c(p->module, p->groups[hg->members[j]].tenant)->name;
      len += (size_t)snprintf(full + len, sizeof full - len, "_%s", t);
    }
    for (char *c = full; *c; c++)
      if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
        *c = '_';
    st = mt_cg_bodies_kernel(p, o, h, n_bodies, bodies, anchor_special, ctx, full, prog, &k);
    if (!st) st = mt_cg_add_kernel(prog, &k);
    if (st)
      mt_cg_kernel_free(a, &k);
    else
      kernel_index = prog->n_kernels - 1;
  }
  char why[512] = "";
  if (!st) {
    call.problems = mt_allocator_calloc(a, (size_t)hg->n_members, sizeof *call.problems);
    if (!call.problems) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!st) {
    const mt_cuda_gemm *g0 = &gms[0].g;
    size_t wl = (size_t)snprintf(
        why, sizeof why,
        "%s%s, %d problem(s), first m=%lld n=%lld k=%lld batch %lld, epilogue %s%s; %s "
        "math; SM-count target %d SMs",
        why_prefix ? why_prefix : "", mt_cuda_libcall_kind_name(call.kind), hg->n_members,
        (long long)g0->m, (long long)g0->n, (long long)g0->k, (long long)g0->batch,
        mt_cuda_epilogue_name(g0->epilogue), n_bodies ? " + generated epilogue kernel" : "",
        o->tf32 ? "TF32" : "FP32", call.sm_count);
    (void)wl;
    for (int k = 0; k < hg->n_members; k++) {
      call.problems[k] = gms[k].g;
      if (gms[k].epi.nodes) call.problems[k].epilogue_kernel = kernel_index;
    }
    call.why = mt_cg_strdup(a, why);
    if (!call.why) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!st) st = add_libcall(prog, &call);
  if (st) {
    if (call.problems) mt_allocator_free(a, call.problems);
    if (call.why) mt_allocator_free(a, (void *)call.why);
    if (kernel_index >= 0) mt_cg_kernel_free(a, &prog->kernels[--prog->n_kernels]);
  }
  for (int k = 0; k < hg->n_members; k++) {
    if (gms[k].epi.nodes) mt_allocator_free(a, gms[k].epi.nodes);
    if (gms[k].epi.inputs) mt_allocator_free(a, gms[k].epi.inputs);
  }
  mt_allocator_free(a, gms);
  return st;
}
