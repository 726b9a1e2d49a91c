/* The generator's driver: one kernel per horizontal group (a singleton or a multi-body group of
 * elementwise, data-movement and reduction bodies), its parameters and launch configuration, and a
 * "not generated" record with the reason for every other group. */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

void mt_cuda_options_init(mt_cuda_options *o) { memset(o, 0, sizeof *o); }

/* The most nodes one body of a generated kernel may hold (see the check below). */
#define MT_CG_MAX_GROUP_NODES 128

static int opt_or(int v, int dflt) { return v > 0 ? v : dflt; }

/* Why a group of this kind has no generator yet (NULL: it has one). */
static const char *kind_not_generated(mt_group_kind k) {
  switch (k) {
  case MT_GROUP_GEMM: return "gemm: a library call, not a kernel body";
  case MT_GROUP_CONV: return "conv: a conv group cannot share a multi-body kernel";
  case MT_GROUP_OTHER: return NULL; /* decided per op below */
  default: return NULL;
  }
}

static void sanitize(char *s) {
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
      *s = '_';
}

void mt_cg_kernel_name(const mt_plan *p, int32_t h, char *out, size_t n) {
  const mt_horizontal_group *hg = &p->hgroups[h];
  const mt_fused_group *fg0 = &p->groups[hg->members[0]];
  size_t len = (size_t)snprintf(out, n, "h%d_%s", h,
                                hg->kind == MT_HGROUP_MULTI_BODY ? "multibody"
                                : hg->n_members > 1              ? mt_hgroup_kind_name(hg->kind)
                                                                 : mt_group_kind_name(fg0->kind));
  for (int k = 0; k < hg->n_members && len + 2 < n; k++) {
    char t[64];
    snprintf(t, sizeof t, "%s",
             mt_module_tenant_c(p->module, p->groups[hg->members[k]].tenant)->name);
    sanitize(t);
    len += (size_t)snprintf(out + len, n - len, "_%s", t);
  }
  for (char *c = out; *c; c++)
    if (*c == '-') *c = '_';
  if (len >= n) out[n - 1] = 0;
}

static void what_of(const mt_plan *p, int32_t h, char *out, size_t n) {
  const mt_horizontal_group *hg = &p->hgroups[h];
  size_t len = (size_t)snprintf(out, n, "h%d %s", h, mt_hgroup_kind_name(hg->kind));
  for (int k = 0; k < hg->n_members && len < n; k++) {
    const mt_fused_group *fg = &p->groups[hg->members[k]];
    len += (size_t)snprintf(out + len, n - len, "%s %s '%s'", k ? "," : ":",
                            mt_group_kind_name(fg->kind),
                            mt_module_tenant_c(p->module, fg->tenant)->name);
  }
}

/* Comment lines naming every ONNX node a kernel covers (newlines in names flattened). */
void mt_cg_node_comments(const mt_plan *p, const mt_fused_group *fg, int body, mt_sb *sb) {
  mt_sb_printf(sb, "// body %d: tenant '%s', %s group of %d node(s):\n", body,
               mt_module_tenant_c(p->module, fg->tenant)->name, mt_group_kind_name(fg->kind),
               fg->n_nodes);
  for (int k = 0; k < fg->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(p->module, fg->nodes[k]);
    char name[256];
    snprintf(name, sizeof name, "%s", n->name);
    for (char *c = name; *c; c++)
      if (*c == '\n' || *c == '\r') *c = ' ';
    mt_sb_printf(sb, "//   %s (%s)\n", name, n->op_type);
  }
}

/* The elementwise / data-movement body: one grid-stride loop per distinct output size. */
MT_MUST_USE static mt_status *elementwise_body(cg_body *b, int64_t *out_work) {
  const mt_fused_group *fg = b->fg;
  const mt_module *m = b->m;
  int64_t biggest = 0;
  for (int i = 0; i < fg->n_outputs; i++) {
    int64_t ne = mt_cg_numel(m, fg->outputs[i]);
    if (ne > biggest) biggest = ne;
  }
  *out_work = biggest;
  bool *done = mt_allocator_calloc(mt_module_allocator(m), (size_t)fg->n_outputs + 1, 1);
  if (!done) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  for (int i = 0; !st && i < fg->n_outputs; i++) {
    if (done[i]) continue;
    int64_t ne = mt_cg_numel(m, fg->outputs[i]);
    if (ne == 0) continue;
    char L[MT_CG_NAME];
    snprintf(L, sizeof L, "b%d_L", b->index);
    mt_cg_line(b, "for (long long %s = block * (long long)blockDim.x + threadIdx.x; %s < %lldLL;",
               L, L, (long long)ne);
    mt_cg_line(b, "     %s += nblocks * (long long)blockDim.x) {", L);
    b->indent++;
    b->depth++;
    for (int j = i; !st && j < fg->n_outputs; j++) {
      if (done[j] || mt_cg_numel(m, fg->outputs[j]) != ne) continue;
      done[j] = true;
      char var[MT_CG_NAME], ptr[MT_CG_NAME];
      st = mt_cg_emit_value(b, fg->outputs[j], L, var);
      if (st) break;
      snprintf(ptr, sizeof ptr, "b%d_out%d", b->index, j);
      mt_cg_store(b, mt_module_value_c(m, fg->outputs[j])->dtype, ptr, L, var);
    }
    mt_cg_forget(b, b->depth);
    b->depth--;
    b->indent--;
    mt_cg_line(b, "}");
  }
  mt_allocator_free(mt_module_allocator(m), done);
  return st;
}

void mt_cg_param_list(const mt_plan *p, const mt_fused_group *fg, int body, mt_sb *sb,
                      bool declare) {
  mt_cg_param_list_inputs(p, fg, body, sb, declare);
  for (int i = 0; i < fg->n_outputs; i++) {
    const mt_value *v = mt_module_value_c(p->module, fg->outputs[i]);
    if (declare)
      mt_sb_printf(sb, ",\n    MT_GLOBAL(%s) b%d_out%d", mt_cg_storetype(v->dtype), body, i);
    else
      mt_sb_printf(sb, ", b%d_out%d", body, i);
  }
}

void mt_cg_param_list_inputs(const mt_plan *p, const mt_fused_group *fg, int body, mt_sb *sb,
                             bool declare) {
  for (int i = 0; i < fg->n_inputs; i++) {
    const mt_value *v = mt_module_value_c(p->module, fg->inputs[i]);
    if (declare)
      mt_sb_printf(sb, ",\n    MT_GLOBAL(const %s) b%d_in%d", mt_cg_storetype(v->dtype), body, i);
    else
      mt_sb_printf(sb, ", b%d_in%d", body, i);
  }
}

/* Checks every value the group touches has a CUDA type; names the first that does not. */
mt_status *mt_cg_check_dtypes(const mt_plan *p, const mt_fused_group *fg) {
  for (int k = 0; k < fg->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(p->module, fg->nodes[k]);
    for (int i = 0; i < n->n_outputs; i++) {
      if (n->outputs[i] == MT_NO_VALUE) continue;
      const mt_value *v = mt_module_value_c(p->module, n->outputs[i]);
      if (!mt_cg_ctype(v->dtype))
        return MT_ERR(UNIMPLEMENTED, "%s: output dtype %s",
                      mt_cg_node_label(p->module, fg->nodes[k]), mt_dtype_name(v->dtype));
      /* a thread per element would share bytes with its neighbours: only the byte-wise kernels
       * of cuda_packed.c (a lone Cast to the type, QuantizeLinear) write packed values */
      if (mt_dtype_is_packed(v->dtype))
        return MT_ERR(UNIMPLEMENTED,
                      "%s: output dtype %s is packed; only Cast (its own kernel) and "
                      "QuantizeLinear write it in generated code",
                      mt_cg_node_label(p->module, fg->nodes[k]), mt_dtype_name(v->dtype));
    }
  }
  return NULL;
}

typedef struct body_plan {
  int64_t work;    /* elements (elementwise) or rows (reduction) */
  int threads;     /* block size the body was written for */
  unsigned blocks; /* blocks granted */
  bool reduction;
} body_plan;

mt_status *mt_cuda_generate_hgroup(const mt_plan *p, const mt_cuda_options *o, int32_t h,
                                   mt_cuda_program *prog, mt_cuda_kernel *out) {
  const mt_horizontal_group *hg = &p->hgroups[h];
  const mt_module *m = p->module;
  switch (hg->kind) {
  case MT_HGROUP_BATCHED_GEMM:
  case MT_HGROUP_GROUPED_GEMM:
    return MT_ERR(UNIMPLEMENTED, "gemm: a library call, not a kernel (mt_cuda_generate)");
  case MT_HGROUP_GROUPED_CONV: return mt_cg_conv_kernel(p, o, h, prog, out);
  default: break;
  }
  if (hg->n_members > 64) return MT_ERR(UNIMPLEMENTED, "more than 64 bodies in one kernel");
  const mt_fused_group *fgs[64];
  for (int k = 0; k < hg->n_members; k++) {
    const mt_fused_group *fg = &p->groups[hg->members[k]];
    fgs[k] = fg;
    if (fg->kind == MT_GROUP_CONV && hg->n_members == 1)
      return mt_cg_conv_kernel(p, o, h, prog, out);
    const char *why = kind_not_generated(fg->kind);
    if (why) return MT_ERR(UNIMPLEMENTED, "%s", why);
    if (fg->kind == MT_GROUP_OTHER && hg->n_members == 1)
      return mt_cg_other_kernel(p, o, h, prog, out);
    /* a lone CastLike to a packed type (Cast's pattern already makes it its own group; CastLike's
     * target is an input, which a pattern cannot see) takes the byte-wise kernel too */
    if (hg->n_members == 1 && fg->n_nodes == 1 && fg->n_outputs == 1 &&
        mt_dtype_is_packed(mt_module_value_c(m, fg->outputs[0])->dtype))
      return mt_cg_other_kernel(p, o, h, prog, out);
    if (fg->kind == MT_GROUP_OTHER) {
      const mt_node *n = mt_module_node_c(m, fg->anchor >= 0 ? fg->anchor : fg->nodes[0]);
      return MT_ERR(UNIMPLEMENTED,
                    "%s: op '%s' runs on its own (data-dependent output size or control flow); "
                    "no generator yet",
                    mt_cg_node_label(m, fg->anchor >= 0 ? fg->anchor : fg->nodes[0]), n->op_type);
    }
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_check_dtypes(p, fg));
  }
  char name[160];
  mt_cg_kernel_name(p, h, name, sizeof name);
  return mt_cg_bodies_kernel(p, o, h, hg->n_members, fgs, NULL, NULL, name, prog, out);
}

mt_status *mt_cg_bodies_kernel(const mt_plan *p, const mt_cuda_options *o, int32_t h, int n_bodies,
                               const mt_fused_group *const *fgs, cg_special_fn special,
                               void *const *special_ctx, const char *name, mt_cuda_program *prog,
                               mt_cuda_kernel *out) {
  const mt_horizontal_group *hg = &p->hgroups[h];
  const mt_allocator *a = prog->allocator;
  const mt_partition_plan *part = &p->partitions[hg->partition];
  int sms = o->sm_count_override > 0 ? o->sm_count_override
                                     : (part->sm_count > 0 ? part->sm_count : p->arch->sm_count);
  int threads = opt_or(o->block_threads, 256), bps = opt_or(o->blocks_per_sm, 8);
  int64_t cap = (int64_t)sms * bps;

  char why[512] = "";
  mt_sb src = {.allocator = a}, bodies = {.allocator = a};
  body_plan plans[64] = {{0}};
  if (n_bodies > 64) return MT_ERR(UNIMPLEMENTED, "more than 64 bodies in one kernel");
  mt_status *st = NULL;
  for (int k = 0; !st && k < n_bodies; k++) {
    const mt_fused_group *fg = fgs[k];
    cg_body *b = mt_allocator_calloc(a, 1, sizeof *b);
    if (!b) {
      st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    st = mt_cg_body_init(b, p, fg, k, &bodies);
    if (special) {
      b->special = special;
      b->special_ctx = special_ctx[k];
    }
    if (!st) {
      mt_sb_printf(&bodies, "\nstatic __device__ void b%d_body(long long block, long long nblocks",
                   k);
      mt_cg_param_list(p, fg, k, &bodies, true);
      mt_sb_printf(&bodies, ") {\n");
      b->indent = 1;
      plans[k] = (body_plan){.threads = threads};
      if (fg->kind == MT_GROUP_REDUCTION) {
        bool per_thread = false;
        st = mt_cg_reduction_body(b, o, &plans[k].work, &plans[k].threads, &per_thread);
        plans[k].reduction = !per_thread;
      } else {
        st = elementwise_body(b, &plans[k].work);
      }
      mt_sb_printf(&bodies, "}\n");
    }
    mt_cg_body_free(b);
    mt_allocator_free(a, b);
  }
  /* Reductions and elementwise bodies must agree on the block size when they share a kernel. */
  for (int k = 1; !st && k < n_bodies; k++)
    if (plans[k].threads != plans[0].threads)
      st = MT_ERR(UNIMPLEMENTED, "bodies want different block sizes (%d and %d threads)",
                  plans[0].threads, plans[k].threads);
  if (!st) {
    threads = plans[0].threads;
    int64_t total = 0;
    for (int k = 0; k < n_bodies; k++) {
      int64_t want = plans[k].reduction ? plans[k].work : (plans[k].work + threads - 1) / threads;
      if (want < 1) want = 1;
      if (want > cap) want = cap;
      plans[k].blocks = (unsigned)want;
      total += want;
    }
    /* Several bodies share the partition's resident blocks in proportion to their work. */
    if (total > cap && n_bodies > 1) {
      int64_t t2 = 0;
      for (int k = 0; k < n_bodies; k++) {
        int64_t share = (int64_t)plans[k].blocks * cap / total;
        plans[k].blocks = (unsigned)(share < 1 ? 1 : share);
        t2 += plans[k].blocks;
      }
      total = t2;
    }
    out->grid = (unsigned)total;
    out->block = (unsigned)threads;
    out->dyn_smem = 0;
    out->hgroup = h;
    /* what was chosen (grid, block, items per thread) and from what (the partition's SMs) */
    size_t wl = (size_t)snprintf(why, sizeof why,
                                 "grid %lld x block %d for a %d-SM partition (cap %d SMs x %d "
                                 "blocks/SM = %lld blocks);",
                                 (long long)total, threads, sms, sms, bps, (long long)cap);
    for (int k = 0; k < n_bodies && wl < sizeof why; k++) {
      int64_t per = plans[k].reduction ? (plans[k].work + plans[k].blocks - 1) / plans[k].blocks
                                       : (plans[k].work + (int64_t)plans[k].blocks * threads - 1) /
                                             ((int64_t)plans[k].blocks * threads);
      wl += (size_t)snprintf(why + wl, sizeof why - wl, " body %d: %lld %s -> %u blocks, %lld %s;",
                             k, (long long)plans[k].work, plans[k].reduction ? "rows" : "elements",
                             plans[k].blocks, (long long)per,
                             plans[k].reduction ? "row(s) per block" : "item(s) per thread");
    }
    if (wl > 0 && wl < sizeof why) why[wl - 1] = 0;

    mt_sb_printf(&src, "// mtcc generated kernel %s (horizontal group %d, %s)\n", name, h,
                 mt_hgroup_kind_name(hg->kind));
    mt_sb_printf(&src, "// launch: grid %u, block %u, dynamic shared 0 bytes (%s)\n", out->grid,
                 out->block, why);
    out->n_nodes = 0;
    for (int k = 0; k < n_bodies; k++) {
      mt_cg_node_comments(p, fgs[k], k, &src);
      out->n_nodes += fgs[k]->n_nodes;
    }
    mt_sb_printf(&src, "#include \"mt_cuda.h\"\n\n%s%s", mt_cg_prelude,
                 mt_cg_prelude_narrow_for(p, fgs, n_bodies));
    mt_sb_printf(&src, "%s", bodies.data ? bodies.data : "");
    mt_sb_printf(&src, "\nextern \"C\" __global__ void %s(", name);
    mt_sb src_params = {.allocator = a};
    for (int k = 0; k < n_bodies; k++) mt_cg_param_list(p, fgs[k], k, &src_params, true);
    /* drop the leading ",\n    " of the first parameter */
    mt_sb_printf(&src, "%s) {\n", src_params.data ? src_params.data + 6 : "");
    mt_sb_free(&src_params);
    if (n_bodies == 1) {
      mt_sb_printf(&src, "  // grid-stride: any grid computes the same result\n");
      mt_sb_printf(&src, "  b0_body((long long)blockIdx.x, (long long)gridDim.x");
      mt_cg_param_list(p, fgs[0], 0, &src, false);
      mt_sb_printf(&src, ");\n}\n");
    } else {
      mt_sb_printf(&src, "  // block-range dispatch: each body owns a fixed range of blocks\n");
      mt_sb_printf(&src, "  const long long blk = (long long)blockIdx.x;\n");
      unsigned start = 0;
      for (int k = 0; k < n_bodies; k++) {
        mt_sb_printf(&src, "  if (blk < %uLL) {\n    b%d_body(blk - %uLL, %uLL",
                     start + plans[k].blocks, k, start, plans[k].blocks);
        mt_cg_param_list(p, fgs[k], k, &src, false);
        mt_sb_printf(&src, ");\n    return;\n  }\n");
        start += plans[k].blocks;
      }
      mt_sb_printf(&src, "}\n");
    }
    if (src.oom || bodies.oom) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!st) st = mt_cg_kernel_finish(p, n_bodies, fgs, a, name, src.data, why, out);
  mt_sb_free(&src);
  mt_sb_free(&bodies);
  return st;
}

mt_status *mt_cg_kernel_finish(const mt_plan *p, int n_bodies, const mt_fused_group *const *fgs,
                               const mt_allocator *a, const char *name, const char *source,
                               const char *why, mt_cuda_kernel *out) {
  return mt_cg_kernel_finish_io(p, n_bodies, fgs, a, name, source, why, true, 0, false, out);
}

mt_status *mt_cg_kernel_finish_io(const mt_plan *p, int n_bodies, const mt_fused_group *const *fgs,
                                  const mt_allocator *a, const char *name, const char *source,
                                  const char *why, bool outputs, int64_t scratch_elems,
                                  bool scratch_written, mt_cuda_kernel *out) {
  const mt_module *m = p->module;
  int n_params = 0;
  for (int k = 0; k < n_bodies; k++) n_params += fgs[k]->n_inputs + fgs[k]->n_outputs;
  out->params = mt_allocator_calloc(a, (size_t)n_params + 2, sizeof *out->params);
  out->name = mt_cg_strdup(a, name);
  out->source = mt_cg_strdup(a, source ? source : "");
  out->why = mt_cg_strdup(a, why);
  if (!out->params || !out->name || !out->source || !out->why)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  out->n_params = 0;
  for (int k = 0; k < n_bodies; k++) {
    const mt_fused_group *fg = fgs[k];
    int n = fg->n_inputs + (outputs ? fg->n_outputs : 0);
    for (int i = 0; i < n; i++) {
      bool is_out = i >= fg->n_inputs;
      mt_value_id v = is_out ? fg->outputs[i - fg->n_inputs] : fg->inputs[i];
      out->params[out->n_params++] = (mt_cuda_param){.value = v,
                                                     .is_output = is_out,
                                                     .dtype = mt_module_value_c(m, v)->dtype,
                                                     .elements = mt_cg_numel(m, v)};
    }
  }
  if (scratch_elems > 0)
    out->params[out->n_params++] = (mt_cuda_param){.value = MT_NO_VALUE,
                                                   .is_output = scratch_written,
                                                   .dtype = MT_DTYPE_FLOAT32,
                                                   .elements = scratch_elems,
                                                   .is_scratch = true};
  return NULL;
}

MT_MUST_USE static mt_status *add_skipped(mt_cuda_program *prog, int32_t h, const char *what,
                                          const char *reason) {
  if (prog->n_skipped == prog->cap_skipped) {
    int cap = prog->cap_skipped ? prog->cap_skipped * 2 : 32;
    mt_cuda_skipped *s =
        mt_allocator_realloc(prog->allocator, prog->skipped, (size_t)cap * sizeof *s);
    if (!s) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    prog->skipped = s;
    prog->cap_skipped = cap;
  }
  mt_cuda_skipped *s = &prog->skipped[prog->n_skipped];
  s->hgroup = h;
  s->what = mt_cg_strdup(prog->allocator, what);
  s->reason = mt_cg_strdup(prog->allocator, reason);
  if (!s->what || !s->reason) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  prog->n_skipped++;
  return NULL;
}

mt_status *mt_cg_add_kernel(mt_cuda_program *prog, const mt_cuda_kernel *k) {
  if (prog->n_kernels == prog->cap_kernels) {
    int cap = prog->cap_kernels ? prog->cap_kernels * 2 : 32;
    mt_cuda_kernel *n =
        mt_allocator_realloc(prog->allocator, prog->kernels, (size_t)cap * sizeof *n);
    if (!n) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    prog->kernels = n;
    prog->cap_kernels = cap;
  }
  prog->kernels[prog->n_kernels++] = *k;
  return NULL;
}

void mt_cg_kernel_free(const mt_allocator *a, mt_cuda_kernel *k) {
  if (k->name) mt_allocator_free(a, (void *)k->name);
  if (k->source) mt_allocator_free(a, (void *)k->source);
  if (k->why) mt_allocator_free(a, (void *)k->why);
  if (k->params) mt_allocator_free(a, k->params);
  memset(k, 0, sizeof *k);
}

/* Expressions (kernel bodies, conv and GEMM epilogues) are built by recursing back through a
 * group's nodes, a few KB of stack per level, and a kernel that long would spill anyway: a group
 * over the limit is reported, not lowered. */
MT_MUST_USE static mt_status *check_body_sizes(const mt_plan *p, const mt_horizontal_group *hg) {
  for (int k = 0; k < hg->n_members; k++) {
    const mt_fused_group *fg = &p->groups[hg->members[k]];
    if (fg->n_nodes > MT_CG_MAX_GROUP_NODES)
      return MT_ERR(UNIMPLEMENTED,
                    "a fused group of %d nodes is over the generator's limit of %d nodes per body",
                    fg->n_nodes, MT_CG_MAX_GROUP_NODES);
  }
  return NULL;
}

mt_status *mt_cuda_generate(const mt_plan *p, const mt_cuda_options *o, mt_cuda_program **out) {
  mt_cuda_options dflt;
  mt_cuda_options_init(&dflt);
  if (!o) o = &dflt;
  const mt_allocator *a = mt_module_allocator(p->module);
  mt_cuda_program *prog = mt_allocator_calloc(a, 1, sizeof *prog);
  if (!prog) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  prog->allocator = a;
  mt_status *st = NULL;
  for (int32_t h = 0; !st && h < p->n_hgroups; h++) {
    char why[256];
    mt_cuda_kernel k;
    memset(&k, 0, sizeof k);
    const mt_horizontal_group *hg = &p->hgroups[h];
    mt_status *gst;
    if ((gst = check_body_sizes(p, hg))) {
      /* reported below like any group the generators do not take */
    } else if (p->groups[hg->members[0]].kind == MT_GROUP_GEMM) {
      gst = mt_cg_gemm_libcall(p, o, h, NULL, prog);
    } else if (mt_cg_conv_prefers_gemm(p, o, h, why, sizeof why)) {
      gst = mt_cg_gemm_libcall(p, o, h, why, prog);
    } else {
      gst = mt_cuda_generate_hgroup(p, o, h, prog, &k);
      if (!gst) {
        st = mt_cg_add_kernel(prog, &k);
        if (st) mt_cg_kernel_free(a, &k);
        continue;
      }
    }
    if (!gst) continue;
    mt_cg_kernel_free(a, &k);
    if (mt_status_code_of(gst) != MT_UNIMPLEMENTED) {
      st = gst;
      break;
    }
    char what[512];
    what_of(p, h, what, sizeof what);
    st = add_skipped(prog, h, what, mt_status_message(gst));
    mt_status_free(gst);
  }
  if (st) {
    mt_cuda_program_destroy(prog);
    return st;
  }
  *out = prog;
  return NULL;
}

void mt_cuda_program_destroy(mt_cuda_program *prog) {
  if (!prog) return;
  const mt_allocator *a = prog->allocator;
  for (int i = 0; i < prog->n_kernels; i++) mt_cg_kernel_free(a, &prog->kernels[i]);
  for (int i = 0; i < prog->n_skipped; i++) {
    if (prog->skipped[i].what) mt_allocator_free(a, (void *)prog->skipped[i].what);
    if (prog->skipped[i].reason) mt_allocator_free(a, (void *)prog->skipped[i].reason);
  }
  for (int i = 0; i < prog->n_libcalls; i++) {
    if (prog->libcalls[i].problems) mt_allocator_free(a, prog->libcalls[i].problems);
    if (prog->libcalls[i].why) mt_allocator_free(a, (void *)prog->libcalls[i].why);
  }
  if (prog->libcalls) mt_allocator_free(a, prog->libcalls);
  if (prog->kernels) mt_allocator_free(a, prog->kernels);
  if (prog->skipped) mt_allocator_free(a, prog->skipped);
  mt_allocator_free(a, prog);
}
