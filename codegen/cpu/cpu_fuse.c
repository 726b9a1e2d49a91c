/* Fusion of a group's elementwise chains (issue 14): a unary or binary node that reads the value
 * of the kernel right before it becomes a step of that kernel, so the chain runs as one loop nest
 * (an elementwise head) or as the epilogue of a GEMM/conv tile, and the values in between stay
 * in registers unless something outside the chain reads them.
 *
 * Only the next kernel of the group is fused: its other inputs are then produced before the
 * head runs (by an earlier group or an earlier kernel), and since buffers of one group never
 * share bytes (plan/memory_check.c), writing its output earlier overwrites nothing still read.
 * Each step computes the same float operations as its reference node, in the same order, so a
 * fused chain gives the same bits as the unfused kernels. Knows nothing about LLVM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cpu.h"

int32_t *mt_cpu_count_readers(const mt_module *m) {
  int32_t nv = mt_module_value_count(m);
  int32_t *readers = calloc((size_t)nv + 1, sizeof *readers);
  if (!readers) return NULL;
  bool subgraphs = false;
  for (int32_t i = 0; i < mt_module_node_count(m); i++) {
    const mt_node *n = mt_module_node_c(m, i);
    if (!n->graph) continue; /* removed by a pass */
    for (int j = 0; j < n->n_inputs; j++)
      if (n->inputs[j] != MT_NO_VALUE) readers[n->inputs[j]]++;
    for (int a = 0; a < n->n_attrs; a++)
      subgraphs = subgraphs || n->attrs[a].graph || n->attrs[a].graphs;
  }
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int j = 0; g && j < g->n_outputs; j++)
      if (g->outputs[j] != MT_NO_VALUE) readers[g->outputs[j]]++;
  }
  /* a branch's outputs may name any outer value: every value counts as read elsewhere */
  if (subgraphs)
    for (int32_t v = 0; v < nv; v++) readers[v] += 2;
  return readers;
}

static bool is_f32_value(const mt_module *m, mt_value_id v) {
  return v != MT_NO_VALUE && mt_module_value_c(m, v)->dtype == MT_DTYPE_FLOAT32;
}

/* Whether kernel k can take steps: an elementwise (not variadic) head, a GEMM or a conv (each
 * runs the epilogue on a tile it has just written, depthwise ones too: cpu_dwconv.c). */
static bool head_fusable(const mt_module *m, const mt_cpu_kernel *k) {
  const mt_node *n = mt_module_node_c(m, k->node);
  if (n->n_outputs != 1 || !is_f32_value(m, n->outputs[0])) return false;
  switch (k->call.kind) {
  case MT_KERNEL_UNARY:
  case MT_KERNEL_BINARY:
  case MT_KERNEL_GEMM:
  case MT_KERNEL_CONV: return true;
  default: return false;
  }
}

static mt_value_id chain_value(const mt_module *m, const mt_cpu_kernel *k) {
  int32_t node = k->n_steps ? k->steps[k->n_steps - 1].node : k->node;
  return mt_module_node_c(m, node)->outputs[0];
}

/* Which value of the chain v is: 0 the head's output, s + 1 step s's; -1 none. */
static int chain_stage(const mt_module *m, const mt_cpu_kernel *k, mt_value_id v) {
  int32_t p = mt_module_value_c(m, v)->producer;
  if (p == k->node) return 0;
  for (int s = 0; s < k->n_steps; s++)
    if (k->steps[s].node == p) return s + 1;
  return -1;
}

/* Whether q can become the next step of k: it reads k's chain value once, as a full-shape
 * operand, and its output has that value's shape. A binary step's other operand may be an
 * earlier value of the chain (swish: x * Sigmoid(x)), which has that shape too and is read from
 * its register. */
static bool step_fusable(const mt_module *m, const mt_cpu_kernel *k, const mt_cpu_kernel *q,
                         int *chain_operand) {
  if (k->n_steps == MT_CPU_MAX_STEPS || q->n_steps || q->tenant != k->tenant) return false;
  if (q->call.kind != MT_KERNEL_UNARY && q->call.kind != MT_KERNEL_BINARY) return false;
  const mt_node *qn = mt_module_node_c(m, q->node);
  if (qn->n_outputs != 1 || !is_f32_value(m, qn->outputs[0])) return false;
  if (k->n_args + qn->n_inputs > MT_CPU_MAX_KERNEL_ARGS) return false;
  mt_value_id v = chain_value(m, k);
  int uses = 0, at = -1;
  for (int i = 0; i < qn->n_inputs; i++)
    if (qn->inputs[i] == v) uses++, at = i;
  if (uses != 1 || (q->call.kind == MT_KERNEL_UNARY && at != 0) || at > 1) return false;
  for (int i = 0; i < qn->n_inputs; i++)
    if (i != at && (qn->inputs[i] == MT_NO_VALUE ||
                    (chain_stage(m, k, qn->inputs[i]) >= 0 && q->call.kind != MT_KERNEL_BINARY)))
      return false;
  const mt_value *vv = mt_module_value_c(m, v), *out = mt_module_value_c(m, qn->outputs[0]);
  if (vv->rank != out->rank || memcmp(vv->dims, out->dims, sizeof(int64_t) * (size_t)vv->rank))
    return false;
  *chain_operand = at;
  return true;
}

static void add_step(const mt_module *m, const int32_t *readers, mt_cpu_kernel *k,
                     const mt_cpu_kernel *q, int chain_operand) {
  const mt_node *qn = mt_module_node_c(m, q->node);
  mt_value_id v = chain_value(m, k);
  bool v_outside = readers[v] > 1; /* q is one reader */
  if (k->n_steps == 0)
    k->head_stored = v_outside || k->call.kind == MT_KERNEL_GEMM || k->call.kind == MT_KERNEL_CONV;
  else
    k->steps[k->n_steps - 1].stored = v_outside;
  mt_cpu_step *s = &k->steps[k->n_steps++];
  memset(s, 0, sizeof *s);
  s->node = q->node;
  s->call = q->call;
  s->chain_operand = chain_operand;
  s->extra[0] = s->extra[1] = -1;
  s->inside = -1;
  int n_extra = 0;
  for (int i = 0; i < qn->n_inputs; i++) {
    if (i == chain_operand) continue;
    if (q->call.kind == MT_KERNEL_BINARY) s->inside = chain_stage(m, k, qn->inputs[i]);
    s->extra[n_extra++] = k->n_args;
    k->args[k->n_args++] = qn->inputs[i];
  }
  s->out_arg = k->n_args;
  k->args[k->n_args++] = qn->outputs[0];
  s->stored = true; /* the chain's last value: read by whatever comes after */
  size_t len = strlen(k->name);
  snprintf(k->name + len, sizeof k->name - len, "+%s", qn->name);
}

void mt_cpu_fuse_group(const mt_module *m, const int32_t *readers, mt_cpu_program *prog, int first,
                       bool fuse) {
  int n = prog->n_kernels;
  for (int i = first; i < n; i++) {
    mt_cpu_kernel *k = &prog->kernels[i];
    if (k->n_steps == 0) {
      k->n_head_args = k->n_args;
      k->head_stored = true;
    }
    if (!fuse || !head_fusable(m, k)) continue;
    int at;
    while (i + 1 < n && step_fusable(m, k, &prog->kernels[i + 1], &at)) {
      add_step(m, readers, k, &prog->kernels[i + 1], at);
      memmove(&prog->kernels[i + 1], &prog->kernels[i + 2],
              sizeof *prog->kernels * (size_t)(n - i - 2));
      n--;
      prog->n_fused++;
    }
  }
  prog->n_kernels = n;
}
