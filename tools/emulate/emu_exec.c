/* Whole-plan execution of a generated CUDA program under the emulator: see emu_exec.h. */
#include "tools/emulate/emu_exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu_rt.h"
#include "ir/evaluator.h"
#include "runtime/cpu/gemm.h"

typedef struct exec {
  const mt_plan *p;
  const mt_module *m;
  const mt_cuda_program *prog;
  mt_eval *ev;
  int32_t n_values;
  void **addr;            /* per value: where it lives in emulator memory (NULL: not yet) */
  size_t *bytes;          /* per value: bytes available at addr */
  unsigned char *owned;   /* per value: addr is its own emu_malloc buffer (freed at the end) */
  unsigned char *by_eval; /* per value: computed by the reference executor (it knows the shape) */
  unsigned char **arenas; /* per partition: one emulator buffer of the memory plan's size */
  mt_status *place_error;
  emu_exec_stats *stats;
  emu_module *module; /* the program's kernels, compiled for the emulator */
  void **scratch;     /* per horizontal group: its scratch buffer (split-K partial sums) */
  size_t *scratch_bytes;
} exec;

static const char *jit_flags;
void emu_exec_set_jit_flags(const char *flags) { jit_flags = flags; }
static bool overlap_buffers;
void emu_exec_set_overlap_buffers(bool on) { overlap_buffers = on; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *tenant_name(const exec *x, int32_t t) {
  return t >= 0 && t < mt_module_tenant_count(x->m) ? mt_module_tenant_c(x->m, t)->name : "?";
}

/* Bytes of a value's static shape; UNIMPLEMENTED when a dim is still unknown. */
MT_MUST_USE static mt_status *static_bytes(const exec *x, mt_value_id v, size_t *out) {
  const mt_value *val = mt_module_value_c(x->m, v);
  if (val->rank < 0 || val->dtype == MT_DTYPE_UNDEFINED)
    return MT_ERR(UNIMPLEMENTED, "emulate: value '%s' of tenant '%s' has no static type", val->name,
                  tenant_name(x, val->tenant));
  size_t n = 1;
  for (int d = 0; d < val->rank; d++) {
    if (val->dims[d] < 0)
      return MT_ERR(UNIMPLEMENTED, "emulate: value '%s' of tenant '%s' has a dynamic dim %d",
                    val->name, tenant_name(x, val->tenant), d);
    n *= (size_t)val->dims[d];
  }
  *out = mt_dtype_bytes(val->dtype, (int64_t)n);
  return NULL;
}

MT_MUST_USE static mt_status *own_buffer(exec *x, mt_value_id v, size_t bytes) {
  x->addr[v] = emu_malloc(bytes ? bytes : 1);
  if (!x->addr[v]) return MT_ERR(RESOURCE_EXHAUSTED, "emulate: out of emulator memory");
  x->bytes[v] = bytes;
  x->owned[v] = 1;
  return NULL;
}

/* Where v lives: its arena slot (set up front), a constant's or input's copy (set up front), or a
 * buffer of its own, allocated on first use at its static size. */
MT_MUST_USE static mt_status *value_addr(exec *x, mt_value_id v, void **out) {
  if (!x->addr[v]) {
    size_t bytes;
    MT_RETURN_IF_ERROR_PLAIN(static_bytes(x, v, &bytes));
    MT_RETURN_IF_ERROR_PLAIN(own_buffer(x, v, bytes));
  }
  *out = x->addr[v];
  return NULL;
}

/* The evaluator's placement: fallback nodes write into emulator memory too, so that kernels after
 * them read their results where the memory plan puts them. */
static void *place(void *user, mt_value_id v, size_t size) {
  exec *x = user;
  if (!x->addr[v]) {
    mt_status *st = own_buffer(x, v, size);
    if (st) {
      if (!x->place_error)
        x->place_error = st;
      else
        mt_status_free(st);
      return NULL;
    }
  }
  if (size > x->bytes[v]) {
    if (!x->place_error)
      x->place_error = MT_ERR(INTERNAL, "emulate: value '%s' needs %zu bytes, its buffer has %zu",
                              mt_module_value_c(x->m, v)->name, size, x->bytes[v]);
    return NULL;
  }
  return x->addr[v];
}

/* A value a kernel or library call wrote: the evaluator sees it (borrowed) for later fallbacks. */
static void publish(exec *x, mt_value_id v) {
  const mt_value *val = mt_module_value_c(x->m, v);
  mt_tensor t = {.dtype = val->dtype, .rank = val->rank, .data = x->addr[v]};
  memcpy(t.dims, val->dims, sizeof t.dims);
  mt_eval_set_input(x->ev, v, &t);
  x->by_eval[v] = 0;
}

/* The horizontal group's scratch buffer, as the runtime gives it: one per group, shared by the
 * group's kernels in program order (its first user sizes it; the generator gives every scratch
 * param of a group the same size). Filled with NaN bytes, so a partial sum never written shows. */
MT_MUST_USE static mt_status *scratch_addr(exec *x, const mt_cuda_kernel *k, size_t need,
                                           void **out) {
  int32_t h = k->hgroup;
  if (!x->scratch[h]) {
    x->scratch[h] = emu_malloc(need ? need : 1);
    if (!x->scratch[h]) return MT_ERR(RESOURCE_EXHAUSTED, "emulate: scratch of %zu bytes", need);
    x->scratch_bytes[h] = need;
  }
  if (need > x->scratch_bytes[h])
    return MT_ERR(INTERNAL, "emulate: kernel %s needs %zu scratch bytes, the group has %zu",
                  k->name, need, x->scratch_bytes[h]);
  *out = x->scratch[h];
  return NULL;
}

MT_MUST_USE static mt_status *launch_kernel(exec *x, int ki) {
  const mt_cuda_kernel *k = &x->prog->kernels[ki];
  emu_kernel_fn fn = emu_module_kernel(x->module, k->name);
  if (!fn) return MT_ERR(INTERNAL, "emulate: kernel %s is not in the compiled module", k->name);
  void **ptrs = calloc((size_t)k->n_params + 1, sizeof *ptrs);
  void **args = calloc((size_t)k->n_params + 1, sizeof *args);
  mt_status *st = ptrs && args ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; !st && i < k->n_params; i++) {
    size_t need = mt_dtype_bytes(k->params[i].dtype, k->params[i].elements);
    if (k->params[i].is_scratch) {
      st = scratch_addr(x, k, need, &ptrs[i]);
      args[i] = &ptrs[i];
      continue;
    }
    st = value_addr(x, k->params[i].value, &ptrs[i]);
    if (!st && need > x->bytes[k->params[i].value])
      st = MT_ERR(INTERNAL, "emulate: kernel %s parameter %d ('%s') needs %zu bytes, %zu placed",
                  k->name, i, mt_module_value_c(x->m, k->params[i].value)->name, need,
                  x->bytes[k->params[i].value]);
    args[i] = &ptrs[i];
  }
  if (!st) {
    emu_dim3 grid = {k->grid, 1, 1}, block = {k->block, 1, 1};
    int rc = fn(grid, block, k->dyn_smem, args);
    if (rc != EMU_OK)
      st = MT_ERR(INTERNAL, "emulate: kernel %s: %s: %s", k->name, emu_error_name(rc),
                  emu_last_error());
  }
  for (int i = 0; !st && i < k->n_params; i++)
    if (k->params[i].is_output && !k->params[i].is_scratch) publish(x, k->params[i].value);
  if (!st) x->stats->kernels_launched++;
  free(ptrs);
  free(args);
  return st;
}

static float gelu_tanh(float v) {
  /* cuBLASLt's GELU epilogue is the tanh approximation */
  return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}

/* One GEMM problem on runtime/cpu's SGEMM: d = epi(alpha op(a) op(b) + beta c [+ bias]). */
MT_MUST_USE static mt_status *run_gemm(exec *x, const mt_cuda_gemm *g) {
  void *pa, *pb, *pc = NULL, *pbias = NULL, *pd;
  MT_RETURN_IF_ERROR_PLAIN(value_addr(x, g->a, &pa));
  MT_RETURN_IF_ERROR_PLAIN(value_addr(x, g->b, &pb));
  if (g->c != MT_NO_VALUE) MT_RETURN_IF_ERROR_PLAIN(value_addr(x, g->c, &pc));
  if (g->bias != MT_NO_VALUE) MT_RETURN_IF_ERROR_PLAIN(value_addr(x, g->bias, &pbias));
  MT_RETURN_IF_ERROR_PLAIN(value_addr(x, g->d, &pd));
  const float *a = pa, *b = pb, *c = pc, *bias = pbias;
  float *d = pd;
  size_t need = (size_t)((g->batch - 1) * g->stride_c + (g->m - 1) * g->ldc + g->n) * sizeof *d;
  if (need > x->bytes[g->d])
    return MT_ERR(INTERNAL, "emulate: GEMM d '%s' needs %zu bytes, %zu placed",
                  mt_module_value_c(x->m, g->d)->name, need, x->bytes[g->d]);
  bool add_bias =
      bias && (g->epilogue == MT_CUDA_EPI_BIAS || g->epilogue == MT_CUDA_EPI_RELU_BIAS ||
               g->epilogue == MT_CUDA_EPI_GELU_BIAS);
  bool relu = g->epilogue == MT_CUDA_EPI_RELU || g->epilogue == MT_CUDA_EPI_RELU_BIAS;
  bool gelu = g->epilogue == MT_CUDA_EPI_GELU || g->epilogue == MT_CUDA_EPI_GELU_BIAS;
  for (int64_t i = 0; i < g->batch; i++) {
    float *di = d + i * g->stride_c;
    for (int64_t r = 0; r < g->m; r++)
      for (int64_t j = 0; j < g->n; j++)
        di[r * g->ldc + j] = c ? g->beta * c[i * g->stride_c + r * g->ldc + j] : 0.0f;
    MT_RETURN_IF_ERROR(mt_cpu_sgemm(g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha,
                                    a + i * g->stride_a, g->lda, b + i * g->stride_b, g->ldb, di,
                                    g->ldc),
                       "emulate: reference GEMM");
    for (int64_t r = 0; r < g->m; r++)
      for (int64_t j = 0; j < g->n; j++) {
        float v = di[r * g->ldc + j];
        if (add_bias) v += bias[j];
        if (relu) v = v > 0 ? v : 0;
        if (gelu) v = gelu_tanh(v);
        di[r * g->ldc + j] = v;
      }
  }
  publish(x, g->d);
  return NULL;
}

static void note_fallback(exec *x, const char *op) {
  char *list = x->stats->fallback_ops;
  size_t n = strlen(list), len = strlen(op);
  for (const char *s = list; (s = strstr(s, op)); s += len)
    if ((s == list || s[-1] == ',') && (s[len] == ',' || s[len] == 0)) return;
  if (n + len + 2 < sizeof x->stats->fallback_ops)
    snprintf(list + n, sizeof x->stats->fallback_ops - n, "%s%s", n ? "," : "", op);
}

/* A group codegen did not generate: the reference executor, node by node, on emulator memory. */
MT_MUST_USE static mt_status *run_fallback(exec *x, const mt_horizontal_group *hg) {
  for (int k = 0; k < hg->n_members; k++) {
    const mt_fused_group *fg = &x->p->groups[hg->members[k]];
    for (int j = 0; j < fg->n_nodes; j++) {
      const mt_node *n = mt_module_node_c(x->m, fg->nodes[j]);
      note_fallback(x, n->op_type);
      MT_RETURN_IF_ERROR(mt_eval_node(x->ev, fg->nodes[j]), "emulate: reference fallback");
      if (x->place_error) {
        mt_status *st = x->place_error;
        x->place_error = NULL;
        return st;
      }
      for (int o = 0; o < n->n_outputs; o++)
        if (n->outputs[o] != MT_NO_VALUE) x->by_eval[n->outputs[o]] = 1;
    }
  }
  x->stats->fallback_groups++;
  return NULL;
}

static int cmp_order(const mt_plan *p, int32_t x, int32_t y) {
  const mt_horizontal_group *hx = &p->hgroups[x], *hy = &p->hgroups[y];
  if (hx->partition != hy->partition) return hx->partition - hy->partition;
  return hx->position != hy->position ? hx->position - hy->position : x - y;
}

/* The whole source: each kernel in its own namespace (preludes and body names repeat), the
 * dialect header once. */
MT_MUST_USE static mt_status *compile_all(const mt_cuda_program *prog, emu_module **out) {
  *out = NULL;
  if (prog->n_kernels == 0) return NULL;
  char path[] = "/tmp/mtcc_emu_exec_XXXXXX.cu";
  int fd = mkstemps(path, 3);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    if (fd >= 0) close(fd);
    return MT_ERR(UNAVAILABLE, "emulate: cannot create a temporary kernel source");
  }
  const char **names = calloc((size_t)prog->n_kernels, sizeof *names);
  fprintf(f, "#include \"mt_cuda.h\"\n");
  for (int i = 0; i < prog->n_kernels; i++) {
    fprintf(f, "namespace k%d {\n%s}\nusing k%d::%s;\n", i, prog->kernels[i].source, i,
            prog->kernels[i].name);
    if (names) names[i] = prog->kernels[i].name;
  }
  fclose(f);
  mt_status *st = names ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st && emu_jit_load(path, names, (size_t)prog->n_kernels, jit_flags, out) != EMU_OK) {
    char first[600];
    snprintf(first, sizeof first, "%s", emu_last_error());
    for (char *c = first; *c; c++)
      if (*c == '\n') *c = ' ';
    st = MT_ERR(UNAVAILABLE, "emulate: g++ could not compile the kernels: %s", first);
  }
  unlink(path);
  free(names);
  return st;
}

MT_MUST_USE static mt_status *setup(exec *x, mt_tensor *const *inputs) {
  const mt_plan *p = x->p;
  x->addr = calloc((size_t)x->n_values + 1, sizeof *x->addr);
  x->bytes = calloc((size_t)x->n_values + 1, sizeof *x->bytes);
  x->owned = calloc((size_t)x->n_values + 1, 1);
  x->by_eval = calloc((size_t)x->n_values + 1, 1);
  x->arenas = calloc((size_t)p->n_partitions + 1, sizeof *x->arenas);
  if (!x->addr || !x->bytes || !x->owned || !x->by_eval || !x->arenas)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < p->n_partitions; i++) {
    x->arenas[i] = emu_malloc(p->partitions[i].arena_bytes ? p->partitions[i].arena_bytes : 1);
    if (!x->arenas[i])
      return MT_ERR(RESOURCE_EXHAUSTED, "emulate: no %zu-byte arena", p->partitions[i].arena_bytes);
  }
  for (int b = 0; b < p->n_buffers; b++) {
    const mt_buffer *buf = &p->buffers[b];
    x->addr[buf->value] = x->arenas[buf->partition] + (overlap_buffers ? 0 : buf->offset);
    x->bytes[buf->value] = buf->size;
  }
  /* Constants: a device copy each (kernels read weights from global memory). */
  for (int32_t v = 0; v < x->n_values; v++) {
    const mt_value *val = mt_module_value_c(x->m, v);
    if (val->constant < 0 || x->addr[v]) continue;
    const mt_constant *c = mt_module_constant(x->m, val->constant);
    MT_RETURN_IF_ERROR_PLAIN(own_buffer(x, v, c->nbytes));
    if (c->nbytes) memcpy(x->addr[v], c->data, c->nbytes);
  }
  for (int32_t t = 0; t < mt_module_tenant_count(x->m); t++) {
    const mt_graph *g = mt_module_tenant_c(x->m, t)->graph;
    for (int i = 0; i < g->n_inputs; i++) {
      mt_value_id v = g->inputs[i];
      size_t bytes = mt_tensor_nbytes(&inputs[t][i]), want;
      MT_RETURN_IF_ERROR_PLAIN(static_bytes(x, v, &want));
      if (bytes != want)
        return MT_ERR(INVALID_ARGUMENT,
                      "emulate: input '%s' of tenant '%s' has %zu bytes, %zu planned",
                      mt_module_value_c(x->m, v)->name, tenant_name(x, t), bytes, want);
      if (!x->addr[v]) MT_RETURN_IF_ERROR_PLAIN(own_buffer(x, v, bytes));
      if (bytes) memcpy(x->addr[v], inputs[t][i].data, bytes);
      publish(x, v);
    }
  }
  return NULL;
}

MT_MUST_USE static mt_status *walk(exec *x) {
  const mt_plan *p = x->p;
  const mt_cuda_program *prog = x->prog;
  int32_t *order = malloc(sizeof *order * ((size_t)p->n_hgroups + 1));
  unsigned char *is_epilogue = calloc((size_t)prog->n_kernels + 1, 1);
  mt_status *st = order && is_epilogue ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; !st && i < prog->n_libcalls; i++)
    for (int j = 0; j < prog->libcalls[i].n_problems; j++)
      if (prog->libcalls[i].problems[j].epilogue_kernel >= 0)
        is_epilogue[prog->libcalls[i].problems[j].epilogue_kernel] = 1;
  for (int i = 0; !st && i < p->n_hgroups; i++) { /* insertion sort: stable, no qsort_r */
    int32_t h = i;
    int j = i - 1;
    while (j >= 0 && cmp_order(p, order[j], h) > 0) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = h;
  }
  for (int i = 0; !st && i < p->n_hgroups; i++) {
    int32_t h = order[i];
    bool done = false;
    for (int c = 0; !st && c < prog->n_libcalls; c++) {
      const mt_cuda_libcall *call = &prog->libcalls[c];
      if (call->hgroup != h) continue;
      int epi = -1;
      for (int j = 0; !st && j < call->n_problems; j++) {
        st = run_gemm(x, &call->problems[j]);
        if (call->problems[j].epilogue_kernel >= 0) epi = call->problems[j].epilogue_kernel;
      }
      if (!st) x->stats->libcalls_run++;
      if (!st && epi >= 0) st = launch_kernel(x, epi);
      done = true;
    }
    for (int k = 0; !st && k < prog->n_kernels; k++) {
      if (prog->kernels[k].hgroup != h || is_epilogue[k]) continue;
      st = launch_kernel(x, k);
      done = true;
    }
    if (!st && !done) st = run_fallback(x, &p->hgroups[h]);
  }
  free(order);
  free(is_epilogue);
  return st;
}

MT_MUST_USE static mt_status *read_outputs(exec *x, mt_tensor *const *outputs) {
  for (int32_t t = 0; t < mt_module_tenant_count(x->m); t++) {
    const mt_graph *g = mt_module_tenant_c(x->m, t)->graph;
    for (int i = 0; i < g->n_outputs; i++) {
      mt_value_id v = g->outputs[i];
      const mt_value *val = mt_module_value_c(x->m, v);
      mt_tensor view = {.dtype = val->dtype, .rank = val->rank, .data = x->addr[v]};
      memcpy(view.dims, val->dims, sizeof view.dims);
      if (x->by_eval[v]) view = *mt_eval_value(x->ev, v);
      if (!view.data)
        return MT_ERR(INTERNAL, "emulate: plan never computed output '%s' of tenant '%s'",
                      val->name, tenant_name(x, t));
      outputs[t][i] = view;
      size_t bytes = mt_tensor_nbytes(&view);
      outputs[t][i].data = malloc(bytes ? bytes : 1);
      if (!outputs[t][i].data) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      memcpy(outputs[t][i].data, view.data, bytes);
    }
  }
  return NULL;
}

mt_status *emu_exec_plan(const mt_plan *p, const mt_cuda_program *prog, mt_tensor *const *inputs,
                         mt_tensor *const *outputs, emu_exec_stats *stats) {
  memset(stats, 0, sizeof *stats);
  exec x = {.p = p, .m = p->module, .prog = prog, .stats = stats};
  x.n_values = mt_module_value_count(x.m);
  double t0 = now_s();
  MT_RETURN_IF_ERROR_PLAIN(compile_all(prog, &x.module));
  stats->jit_seconds = now_s() - t0;
  x.scratch = calloc((size_t)p->n_hgroups + 1, sizeof *x.scratch);
  x.scratch_bytes = calloc((size_t)p->n_hgroups + 1, sizeof *x.scratch_bytes);
  mt_status *st = x.scratch && x.scratch_bytes ? mt_eval_create(x.m, true, &x.ev)
                                               : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) mt_eval_set_placement(x.ev, place, &x);
  if (!st) st = setup(&x, inputs);
  if (!st) st = walk(&x);
  if (!st) st = read_outputs(&x, outputs);
  stats->run_seconds = now_s() - t0 - stats->jit_seconds;
  mt_eval_destroy(x.ev);
  mt_status_free(x.place_error);
  for (int32_t v = 0; x.owned && v < x.n_values; v++)
    if (x.owned[v]) emu_free(x.addr[v]);
  for (int i = 0; x.arenas && i < p->n_partitions; i++) emu_free(x.arenas[i]);
  for (int32_t h = 0; x.scratch && h < p->n_hgroups; h++)
    if (x.scratch[h]) emu_free(x.scratch[h]);
  free(x.scratch);
  free(x.scratch_bytes);
  free(x.addr);
  free(x.bytes);
  free(x.owned);
  free(x.by_eval);
  free(x.arenas);
  if (x.module) emu_module_free(x.module);
  return st;
}
