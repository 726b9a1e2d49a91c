/* If nodes on the GPU path (codegen/cuda.h, mt_cuda_cond): a horizontal group holding an If
 * becomes a conditional whose then and else bodies are device steps, so a data-dependent branch
 * never returns to the host (the bundle's GpuConditional, a CUDA Graph IF node).
 *
 * Branch nodes are in no fused group of the plan, so each is lowered through a shadow plan: a
 * shallow copy of the plan whose group arrays have one more singleton group (and horizontal
 * group, on the If's partition) per branch node, handed to the same generators as any group.
 * Their kernels and library calls then get hgroup -1 (they belong to no group of the real plan).
 * Split-K is off inside branches: its scratch buffer is per horizontal group.
 *
 * A body ends with one copy kernel per If output, from the branch's result into the If's output
 * buffer: what the CPU path does after running a branch (docs/bundle.md), and it keeps the
 * branch results' buffers (outer values, constants, branch scratch) apart from the If's. Any
 * branch node no generator takes refuses the whole If with that node's reason: a body is never
 * run in part. */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"
#include "ir/op.h"

typedef struct shadow {
  mt_plan plan; /* p with room for one more group per branch node */
  mt_arena arena;
  int32_t base_groups, base_hgroups; /* branch node k is group base_groups + k (likewise) */
  int32_t partition;                 /* the If's */
  mt_cuda_options o;                 /* the caller's, split-K off */
} shadow;

/* Like the bundle writer (driver/bundle_if.c), which places the same nodes: a branch node
 * computes something only when an output is neither omitted nor a constant, and a Constant node
 * is a bundle constant. The two lists of nodes must agree. */
static bool computes(const mt_module *m, const mt_node *n) {
  if (strcmp(n->op_type, "Constant") == 0 && !*n->domain) return false;
  for (int o = 0; o < n->n_outputs; o++)
    if (n->outputs[o] != MT_NO_VALUE && mt_module_value_c(m, n->outputs[o])->constant < 0)
      return true;
  return false;
}

static bool is_if(const mt_node *n) { return strcmp(n->op_type, "If") == 0 && !*n->domain; }

bool mt_cuda_is_set_kernel(const mt_cuda_program *prog, int k) {
  for (int c = 0; c < prog->n_conds; c++)
    if (prog->conds[c].set_kernel == k) return true;
  return false;
}

MT_MUST_USE static mt_status *add_step(const mt_allocator *a, mt_cuda_body *b, mt_cuda_step s) {
  mt_cuda_step *n = mt_allocator_realloc(a, b->steps, (size_t)(b->n_steps + 1) * sizeof *n);
  if (!n) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  b->steps = n;
  b->steps[b->n_steps++] = s;
  return NULL;
}

/* A singleton fused group and horizontal group for branch node `node` in the shadow plan. */
MT_MUST_USE static mt_status *shadow_group(shadow *s, int32_t node, int32_t *out_h) {
  mt_plan *sp = &s->plan;
  const mt_node *n = mt_module_node_c(sp->module, node);
  /* slots by node id: kernel names (h<slot>_...) stay distinct across the plan's Ifs */
  int32_t gi = s->base_groups + node, h = s->base_hgroups + node;
  mt_fused_group *fg = &sp->groups[gi];
  memset(fg, 0, sizeof *fg);
  fg->tenant = n->tenant;
  fg->kind = mt_plan_node_group_kind(n);
  fg->anchor = node;
  fg->n_nodes = 1;
  fg->nodes = mt_arena_array(&s->arena, 1, sizeof(int32_t));
  fg->inputs = mt_arena_array(&s->arena, (size_t)n->n_inputs + 1, sizeof(mt_value_id));
  fg->outputs = mt_arena_array(&s->arena, (size_t)n->n_outputs + 1, sizeof(mt_value_id));
  mt_horizontal_group *hg = &sp->hgroups[h];
  memset(hg, 0, sizeof *hg);
  hg->members = mt_arena_array(&s->arena, 1, sizeof(int32_t));
  if (!fg->nodes || !fg->inputs || !fg->outputs || !hg->members)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  fg->nodes[0] = node;
  for (int i = 0; i < n->n_inputs; i++) {
    bool seen = n->inputs[i] == MT_NO_VALUE;
    for (int j = 0; !seen && j < fg->n_inputs; j++) seen = fg->inputs[j] == n->inputs[i];
    if (!seen) fg->inputs[fg->n_inputs++] = n->inputs[i];
  }
  for (int i = 0; i < n->n_outputs; i++)
    if (n->outputs[i] != MT_NO_VALUE) fg->outputs[fg->n_outputs++] = n->outputs[i];
  fg->hgroup = h;
  hg->kind = MT_HGROUP_SINGLE;
  hg->partition = s->partition;
  hg->n_members = 1;
  hg->members[0] = gi;
  hg->stream = 0;
  hg->position = -1;
  *out_h = h;
  return NULL;
}

/* Branch node `node` as steps of body b: its kernel, or its library call (epilogue included). */
MT_MUST_USE static mt_status *node_steps(shadow *s, int32_t node, mt_cuda_program *prog,
                                         mt_cuda_body *b) {
  const mt_plan *sp = &s->plan;
  const mt_allocator *a = prog->allocator;
  int32_t h = -1;
  MT_RETURN_IF_ERROR_PLAIN(shadow_group(s, node, &h));
  int nk = prog->n_kernels, nl = prog->n_libcalls;
  char why[256];
  mt_status *st;
  if (sp->groups[sp->hgroups[h].members[0]].kind == MT_GROUP_GEMM) {
    st = mt_cg_gemm_libcall(sp, &s->o, h, NULL, prog);
  } else if (mt_cg_conv_prefers_gemm(sp, &s->o, h, why, sizeof why)) {
    st = mt_cg_gemm_libcall(sp, &s->o, h, why, prog);
  } else {
    mt_cuda_kernel k;
    memset(&k, 0, sizeof k);
    st = mt_cuda_generate_hgroup(sp, &s->o, h, prog, &k);
    if (!st) st = mt_cg_add_kernel(prog, &k);
    if (st) mt_cg_kernel_free(a, &k);
  }
  /* generators name the node where it is the cause; else say which branch node it is */
  const char *label = mt_cg_node_label(sp->module, node);
  if (st) return strstr(mt_status_message(st), label) ? st : mt_status_annotate(st, "%s", label);
  for (int k = nk; k < prog->n_kernels; k++) {
    for (int i = 0; i < prog->kernels[k].n_params; i++)
      if (prog->kernels[k].params[i].is_scratch)
        return MT_ERR(UNIMPLEMENTED, "%s: its kernel needs a group scratch buffer",
                      mt_cg_node_label(sp->module, node));
    prog->kernels[k].hgroup = -1;
  }
  for (int l = nl; l < prog->n_libcalls; l++) {
    prog->libcalls[l].hgroup = -1;
    MT_RETURN_IF_ERROR_PLAIN(add_step(a, b, (mt_cuda_step){MT_CUDA_STEP_LIBCALL, l}));
  }
  if (prog->n_libcalls > nl) return NULL; /* the kernel added is the call's epilogue */
  for (int k = nk; k < prog->n_kernels; k++)
    MT_RETURN_IF_ERROR_PLAIN(add_step(a, b, (mt_cuda_step){MT_CUDA_STEP_KERNEL, k}));
  return NULL;
}

/* The kernel copying branch result `from` into If output `to` (same dtype and element count). */
MT_MUST_USE static mt_status *copy_step(shadow *s, mt_value_id from, mt_value_id to,
                                        mt_cuda_program *prog, mt_cuda_body *b) {
  const mt_module *m = s->plan.module;
  const mt_value *vf = mt_module_value_c(m, from), *vt = mt_module_value_c(m, to);
  int64_t n = mt_cg_numel(m, to);
  if (vf->dtype != vt->dtype || mt_cg_numel(m, from) != n || n < 0)
    return MT_ERR(UNIMPLEMENTED,
                  "branch result '%s' (%s, %lld elements) differs from the If's output '%s' (%s, "
                  "%lld elements): a shape that depends on the branch",
                  vf->name, mt_dtype_name(vf->dtype), (long long)mt_cg_numel(m, from), vt->name,
                  mt_dtype_name(vt->dtype), (long long)n);
  if (n == 0) return NULL;
  const char *type = mt_cg_storetype(vt->dtype);
  if (!type) return MT_ERR(UNIMPLEMENTED, "If output dtype %s", mt_dtype_name(vt->dtype));
  const mt_partition_plan *part = &s->plan.partitions[s->partition];
  int sms = s->o.sm_count_override > 0
                ? s->o.sm_count_override
                : (part->sm_count > 0 ? part->sm_count : s->plan.arch->sm_count);
  int64_t blocks = (n + 255) / 256, cap = (int64_t)sms * 8;
  if (blocks > cap) blocks = cap;
  char name[96], src[1024], why[160];
  snprintf(name, sizeof name, "mt_if_copy_%s_%lld", mt_dtype_name(vt->dtype), (long long)n);
  for (char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
      *c = '_';
  snprintf(src, sizeof src,
           "// an If branch's result copied into the If's output (codegen/cuda_branch.c)\n"
           "#include \"mt_cuda.h\"\n\n"
           "extern \"C\" __global__ void %s(MT_GLOBAL(const %s) src, MT_GLOBAL(%s) dst) {\n"
           "  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL;\n"
           "       i += (long long)gridDim.x * blockDim.x)\n"
           "    dst[i] = src[i];\n"
           "}\n",
           name, type, type, (long long)n);
  snprintf(why, sizeof why, "If result copy: grid %lld x block 256 for %lld elements (cap %d SMs)",
           (long long)blocks, (long long)n, sms);
  mt_cuda_kernel k = {.hgroup = -1, .grid = (unsigned)blocks, .block = 256, .n_params = 2};
  const mt_allocator *a = prog->allocator;
  k.params = mt_allocator_calloc(a, 3, sizeof *k.params);
  k.name = mt_cg_strdup(a, name);
  k.source = mt_cg_strdup(a, src);
  k.why = mt_cg_strdup(a, why);
  mt_status *st =
      k.params && k.name && k.source && k.why ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) {
    k.params[0] = (mt_cuda_param){.value = from, .dtype = vf->dtype, .elements = n};
    k.params[1] =
        (mt_cuda_param){.value = to, .is_output = true, .dtype = vt->dtype, .elements = n};
    st = mt_cg_add_kernel(prog, &k);
  }
  if (st) {
    mt_cg_kernel_free(a, &k);
    return st;
  }
  return add_step(a, b, (mt_cuda_step){MT_CUDA_STEP_KERNEL, prog->n_kernels - 1});
}

/* The set kernel for a condition of this dtype: one already made, else a new one. */
MT_MUST_USE static mt_status *set_kernel(mt_cuda_program *prog, mt_dtype dtype, int *out) {
  char src[1024];
  mt_cuda_kernel k;
  MT_RETURN_IF_ERROR_PLAIN(mt_cuda_if_set_kernel(dtype, src, sizeof src, &k));
  for (int i = 0; i < prog->n_kernels; i++)
    if (prog->kernels[i].hgroup < 0 && strcmp(prog->kernels[i].name, k.name) == 0) {
      *out = i;
      return NULL;
    }
  const mt_allocator *a = prog->allocator;
  k.name = mt_cg_strdup(a, k.name);
  k.source = mt_cg_strdup(a, src);
  k.why = mt_cg_strdup(a, k.why);
  mt_status *st = k.name && k.source && k.why ? mt_cg_add_kernel(prog, &k)
                                              : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (st) {
    mt_cg_kernel_free(a, &k);
    return st;
  }
  *out = prog->n_kernels - 1;
  return NULL;
}

MT_MUST_USE static mt_status *add_cond(mt_cuda_program *prog, const mt_cuda_cond *c) {
  if (prog->n_conds == prog->cap_conds) {
    int cap = prog->cap_conds ? prog->cap_conds * 2 : 8;
    mt_cuda_cond *n = mt_allocator_realloc(prog->allocator, prog->conds, (size_t)cap * sizeof *n);
    if (!n) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    prog->conds = n;
    prog->cap_conds = cap;
  }
  prog->conds[prog->n_conds++] = *c;
  return NULL;
}

static void free_bodies(const mt_allocator *a, mt_cuda_cond *c) {
  for (int k = 0; k < 2; k++)
    if (c->body[k].steps) mt_allocator_free(a, c->body[k].steps);
  memset(c->body, 0, sizeof c->body);
}

/* If node `node` (and the Ifs inside it, first) as a conditional of prog; *out its index. */
MT_MUST_USE static mt_status *gen_if(shadow *s, int32_t node, int32_t hgroup, int depth,
                                     mt_cuda_program *prog, int *out) {
  const mt_module *m = s->plan.module;
  const mt_node *n = mt_module_node_c(m, node);
  if (depth >= 16) /* MT_BUNDLE_MAX_IF_DEPTH: the loader refuses deeper nesting */
    return MT_ERR(UNIMPLEMENTED, "%s: Ifs nest more than 16 deep", mt_cg_node_label(m, node));
  if (n->n_inputs != 1 || n->inputs[0] == MT_NO_VALUE)
    return MT_ERR(UNIMPLEMENTED, "%s: an If without its condition", mt_cg_node_label(m, node));
  mt_cuda_cond c = {.hgroup = hgroup, .node = node, .condition = n->inputs[0]};
  const mt_value *cv = mt_module_value_c(m, c.condition);
  mt_status *st = mt_cg_numel(m, c.condition) == 1
                      ? set_kernel(prog, cv->dtype, &c.set_kernel)
                      : MT_ERR(UNIMPLEMENTED, "a condition of %lld elements",
                               (long long)mt_cg_numel(m, c.condition));
  static const char *const attrs[2] = {"then_branch", "else_branch"};
  for (int br = 0; !st && br < 2; br++) {
    const mt_attr *at = mt_node_attr(n, attrs[br]);
    const mt_graph *g = at && at->type == MT_ATTR_GRAPH ? at->graph : NULL;
    if (!g || g->n_outputs != n->n_outputs) {
      st = MT_ERR(UNIMPLEMENTED, "%s without %d outputs", attrs[br], n->n_outputs);
      break;
    }
    mt_cuda_body *b = &c.body[br];
    for (int k = 0; !st && k < g->n_nodes; k++) {
      const mt_node *bn = mt_module_node_c(m, g->nodes[k]);
      if (!computes(m, bn)) continue;
      if (is_if(bn)) {
        int inner;
        st = gen_if(s, g->nodes[k], -1, depth + 1, prog, &inner);
        if (!st) st = add_step(prog->allocator, b, (mt_cuda_step){MT_CUDA_STEP_COND, inner});
      } else {
        st = node_steps(s, g->nodes[k], prog, b);
      }
    }
    for (int i = 0; !st && i < n->n_outputs; i++)
      if (n->outputs[i] != MT_NO_VALUE) st = copy_step(s, g->outputs[i], n->outputs[i], prog, b);
    if (!st && b->n_steps > MT_CUDA_MAX_BODY_STEPS)
      st = MT_ERR(UNIMPLEMENTED, "%d GPU steps, a bundle body holds at most %d", b->n_steps,
                  MT_CUDA_MAX_BODY_STEPS);
    if (st) st = mt_status_annotate(st, "%s", attrs[br]);
  }
  if (!st) st = add_cond(prog, &c);
  if (st) {
    free_bodies(prog->allocator, &c);
    return mt_status_annotate(st, "%s", mt_cg_node_label(m, node));
  }
  *out = prog->n_conds - 1;
  return NULL;
}

bool mt_cg_is_if_group(const mt_plan *p, int32_t h) {
  const mt_horizontal_group *hg = &p->hgroups[h];
  if (hg->n_members != 1) return false;
  const mt_fused_group *fg = &p->groups[hg->members[0]];
  return fg->n_nodes == 1 && is_if(mt_module_node_c(p->module, fg->nodes[0]));
}

/* Undoes what a failed If added to prog (everything past the counts saved before it). */
static void roll_back(mt_cuda_program *prog, int nk, int nl, int nc) {
  const mt_allocator *a = prog->allocator;
  while (prog->n_kernels > nk) mt_cg_kernel_free(a, &prog->kernels[--prog->n_kernels]);
  while (prog->n_libcalls > nl) {
    mt_cuda_libcall *l = &prog->libcalls[--prog->n_libcalls];
    if (l->problems) mt_allocator_free(a, l->problems);
    if (l->why) mt_allocator_free(a, (void *)l->why);
  }
  while (prog->n_conds > nc) free_bodies(a, &prog->conds[--prog->n_conds]);
}

mt_status *mt_cg_if_group(const mt_plan *p, const mt_cuda_options *o, int32_t h,
                          mt_cuda_program *prog) {
  const mt_allocator *a = prog->allocator;
  int32_t extra = mt_module_node_count(p->module) + 1; /* a slot per node id */
  shadow s = {.plan = *p,
              .base_groups = p->n_groups,
              .base_hgroups = p->n_hgroups,
              .partition = p->hgroups[h].partition,
              .o = *o};
  s.o.conv_split_k = 1;
  mt_arena_init(&s.arena, a);
  s.plan.groups = mt_allocator_calloc(a, (size_t)(p->n_groups + extra), sizeof *s.plan.groups);
  s.plan.hgroups = mt_allocator_calloc(a, (size_t)(p->n_hgroups + extra), sizeof *s.plan.hgroups);
  s.plan.n_groups = s.plan.cap_groups = p->n_groups + extra;
  s.plan.n_hgroups = s.plan.cap_hgroups = p->n_hgroups + extra;
  int nk = prog->n_kernels, nl = prog->n_libcalls, nc = prog->n_conds, index;
  mt_status *st =
      s.plan.groups && s.plan.hgroups ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) {
    memcpy(s.plan.groups, p->groups, (size_t)p->n_groups * sizeof *p->groups);
    memcpy(s.plan.hgroups, p->hgroups, (size_t)p->n_hgroups * sizeof *p->hgroups);
    st = gen_if(&s, p->groups[p->hgroups[h].members[0]].nodes[0], h, 0, prog, &index);
  }
  if (st) roll_back(prog, nk, nl, nc);
  mt_arena_release(&s.arena);
  if (s.plan.groups) mt_allocator_free(a, s.plan.groups);
  if (s.plan.hgroups) mt_allocator_free(a, s.plan.hgroups);
  return st;
}

void mt_cg_conds_free(mt_cuda_program *prog) {
  for (int c = 0; c < prog->n_conds; c++) free_bodies(prog->allocator, &prog->conds[c]);
  if (prog->conds) mt_allocator_free(prog->allocator, prog->conds);
  prog->conds = NULL;
  prog->n_conds = prog->cap_conds = 0;
}
