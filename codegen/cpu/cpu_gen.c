/* The CPU backend's plan walk: every horizontal group's live nodes lowered to the same
 * mt_kernel_call the bundle's CPU nodes carry, checked against what the generator lowers, and
 * handed to the LLVM emitter once per target (cpu_llvm.c). Knows nothing about LLVM itself, so
 * the walk and its reasons are the same in a build without LLVM. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/cpu/cpu.h"
#include "ir/op.h"
#include "runtime/bundle/format.h"

/* Every target the backend knows; the default list is every one the host's architecture has. */
typedef struct cpu_target {
  const char *name;
  const char *features[14];
} cpu_target;

static const cpu_target k_targets[] = {
    /* LLVM's feature names, which libmtrt checks with cpuid */
    {"x86-64-v3", {"avx", "avx2", "fma", "bmi", "bmi2", "f16c", "lzcnt", "movbe", NULL}},
    {"x86-64-v4",
     {"avx", "avx2", "fma", "bmi", "bmi2", "f16c", "lzcnt", "movbe", "avx512f", "avx512bw",
      "avx512cd", "avx512dq", "avx512vl", NULL}},
};

void mt_cpu_options_init(mt_cpu_options *o) { memset(o, 0, sizeof *o); }

static const cpu_target *find_target(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof k_targets / sizeof k_targets[0]; i++)
    if (strlen(k_targets[i].name) == len && strncmp(k_targets[i].name, name, len) == 0)
      return &k_targets[i];
  return NULL;
}

mt_status *mt_cpu_targets_parse(const char *list, mt_cpu_options *o) {
  o->n_targets = 0;
  const char *s = list;
  while (*s) {
    size_t len = strcspn(s, ",");
    const cpu_target *t = find_target(s, len);
    if (!t)
      return MT_ERR(INVALID_ARGUMENT, "--cpu-targets: '%.*s' is not one of x86-64-v3, x86-64-v4",
                    (int)len, s);
    bool dup = false;
    for (int i = 0; i < o->n_targets; i++) dup = dup || strcmp(o->targets[i], t->name) == 0;
    if (!dup) {
      if (o->n_targets == MT_CPU_MAX_TARGETS)
        return MT_ERR(INVALID_ARGUMENT, "--cpu-targets: more than %d targets", MT_CPU_MAX_TARGETS);
      o->targets[o->n_targets++] = t->name;
    }
    s += len;
    if (*s == ',') s++;
  }
  if (o->n_targets == 0) return MT_ERR(INVALID_ARGUMENT, "--cpu-targets: the list is empty");
  return NULL;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool node_live(const mt_node *n) {
  for (int o = 0; o < n->n_outputs; o++)
    if (n->outputs[o] != MT_NO_VALUE) return true;
  return false;
}

/* Lowers node id into k exactly as the bundle writer lowers it (constant inputs as views). */
MT_MUST_USE static mt_status *lower_node(const mt_module *m, int32_t id, mt_cpu_kernel *k) {
  const mt_node *n = mt_module_node_c(m, id);
  memset(k, 0, sizeof *k);
  k->node = id;
  k->tenant = n->tenant;
  if (mt_node_has_traits(n, MT_TRAIT_CONTROL_FLOW)) /* If, Loop, Scan: bodies are no kernel */
    return MT_ERR(UNIMPLEMENTED,
                  "%s holds a body subgraph: libmtrt runs its nodes on the reference kernels "
                  "inside the bundle",
                  n->op_type);
  if (n->n_inputs + n->n_outputs > MT_CPU_MAX_KERNEL_ARGS)
    return MT_ERR(UNIMPLEMENTED, "%d inputs and outputs (at most %d)", n->n_inputs + n->n_outputs,
                  MT_CPU_MAX_KERNEL_ARGS);
  mt_tensor views[MT_CPU_MAX_KERNEL_ARGS];
  const mt_tensor *ins[MT_CPU_MAX_KERNEL_ARGS];
  for (int i = 0; i < n->n_inputs; i++) {
    ins[i] = NULL;
    k->args[k->n_args++] = n->inputs[i];
    if (n->inputs[i] == MT_NO_VALUE) continue;
    const mt_value *v = mt_module_value_c(m, n->inputs[i]);
    views[i] = (mt_tensor){.dtype = v->dtype, .rank = v->rank};
    memcpy(views[i].dims, v->dims, sizeof views[i].dims);
    if (v->constant >= 0) views[i].data = mt_module_constant(m, v->constant)->data;
    ins[i] = &views[i];
  }
  for (int i = 0; i < n->n_outputs; i++) k->args[k->n_args++] = n->outputs[i];
  MT_RETURN_IF_ERROR_PLAIN(mt_node_lower(m, n, ins, &k->call));
  snprintf(k->name, sizeof k->name, "%s:%s", mt_kernel_kind_name(k->call.kind), n->name);
  return NULL;
}

/* The reason a node of group `hg` has no kernel, into out (empty when every node has one);
 * appends the group's kernels to prog. */
MT_MUST_USE static mt_status *plan_group(const mt_plan *p, int hg, const int32_t *readers,
                                         mt_cpu_program *prog, int *cap) {
  const mt_module *m = p->module;
  const mt_horizontal_group *h = &p->hgroups[hg];
  mt_cpu_group_code *gc = &prog->groups[hg];
  gc->first_kernel = prog->n_kernels;
  for (int i = 0; i < h->n_members && !gc->unavailable[0]; i++) {
    const mt_fused_group *fg = &p->groups[h->members[i]];
    for (int j = 0; j < fg->n_nodes && !gc->unavailable[0]; j++) {
      const mt_node *n = mt_module_node_c(m, fg->nodes[j]);
      if (!node_live(n)) continue;
      if (prog->n_kernels == *cap) {
        int ncap = *cap ? *cap * 2 : 256;
        mt_cpu_kernel *nk = realloc(prog->kernels, sizeof *nk * (size_t)ncap);
        if (!nk) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
        prog->kernels = nk, *cap = ncap;
      }
      mt_cpu_kernel *k = &prog->kernels[prog->n_kernels];
      const char *tenant = mt_module_tenant_c(m, n->tenant)->name;
      mt_status *st = lower_node(m, fg->nodes[j], k);
      char buf[128];
      const char *why =
          st ? mt_status_message(st) : mt_cpu_kernel_unsupported(m, k, buf, sizeof buf);
      if (why) {
        snprintf(gc->unavailable, sizeof gc->unavailable, "tenant '%s': node '%s': %s", tenant,
                 n->name, why);
        snprintf(gc->reason, sizeof gc->reason, "%s", why);
      }
      mt_status_free(st);
      if (!why) prog->n_kernels++;
    }
  }
  if (gc->unavailable[0]) prog->n_kernels = gc->first_kernel; /* all or nothing per group */
  mt_cpu_fuse_group(m, readers, prog, gc->first_kernel, !prog->fusion_off[0]);
  for (int i = gc->first_kernel; i < prog->n_kernels; i++)
    snprintf(prog->kernels[i].symbol, sizeof prog->kernels[i].symbol, "mt_cpu_k%d", i);
  gc->n_kernels = prog->n_kernels - gc->first_kernel;
  return NULL;
}

/* One target's object, on a thread of its own: targets are independent LLVM contexts, so a
 * two-target compile takes about the time of one on two cores. */
typedef struct emit_job {
  const mt_module *m;
  const mt_cpu_program *prog;
  mt_cpu_object *obj;
  mt_status *st;
} emit_job;

static void *emit_thread(void *arg) {
  emit_job *j = arg;
  j->st = mt_cpu_llvm_emit(j->m, j->prog, j->obj->target, j->obj);
  return NULL;
}

MT_MUST_USE static mt_status *emit_objects(const mt_module *m, mt_cpu_program *prog, int n) {
  emit_job jobs[MT_CPU_MAX_TARGETS];
  pthread_t threads[MT_CPU_MAX_TARGETS];
  bool started[MT_CPU_MAX_TARGETS] = {false};
  mt_cpu_llvm_init();
  for (int i = 0; i < n; i++) {
    jobs[i] = (emit_job){m, prog, &prog->objects[i], NULL};
    /* the last target on this thread; a failed thread start runs its job here too */
    started[i] = i + 1 < n && pthread_create(&threads[i], NULL, emit_thread, &jobs[i]) == 0;
    if (!started[i]) emit_thread(&jobs[i]);
  }
  mt_status *st = NULL;
  for (int i = 0; i < n; i++) {
    if (started[i]) pthread_join(threads[i], NULL);
    if (jobs[i].st && !st)
      st = mt_status_make(mt_status_code_of(jobs[i].st), "CPU target %s: %s",
                          prog->objects[i].target, mt_status_message(jobs[i].st));
    mt_status_free(jobs[i].st);
  }
  return st;
}

/* What a kernel's code depends on: the call's fixed encoding, the node's input count, and each
 * argument's dtype and shape. Kernels with equal keys share one function (repeated layers of
 * one model, variants of one backbone): less code, and LLVM runs once per distinct kernel. */
typedef struct kernel_key {
  uint8_t *bytes;
  size_t size;
  uint64_t hash;
} kernel_key;

/* Appends `n` bytes to a growing key buffer. */
MT_MUST_USE static mt_status *key_append(kernel_key *key, const void *bytes, size_t n) {
  uint8_t *b = realloc(key->bytes, key->size + n + 1);
  if (!b) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (n) memcpy(b + key->size, bytes, n); /* bytes may be NULL for an empty part */
  key->bytes = b, key->size += n;
  return NULL;
}

MT_MUST_USE static mt_status *key_append_call(kernel_key *key, const mt_kernel_call *c) {
  uint8_t *call;
  size_t n;
  MT_RETURN_IF_ERROR_PLAIN(mt_kc_encode(c, &call, &n));
  mt_status *st = key_append(key, call, n);
  free(call);
  return st;
}

MT_MUST_USE static mt_status *make_key(const mt_module *m, const mt_cpu_kernel *k,
                                       kernel_key *out) {
  *out = (kernel_key){0};
  MT_RETURN_IF_ERROR_PLAIN(key_append_call(out, &k->call));
  int32_t head[5] = {mt_module_node_c(m, k->node)->n_inputs, k->n_args, k->n_head_args,
                     k->head_stored, k->n_steps};
  MT_RETURN_IF_ERROR_PLAIN(key_append(out, head, sizeof head));
  for (int i = 0; i < k->n_args; i++) {
    const mt_value *v = mt_module_value_c(m, k->args[i]);
    int64_t a[2 + MT_MAX_RANK] = {(int64_t)v->dtype, v->rank};
    memcpy(a + 2, v->dims, sizeof(int64_t) * (size_t)v->rank);
    MT_RETURN_IF_ERROR_PLAIN(key_append(out, a, sizeof a));
  }
  if (k->packed_gemm) { /* the code embeds the packed weights: shared only with the same ones */
    int32_t w[2] = {1, mt_module_value_c(m, mt_module_node_c(m, k->node)->inputs[1])->constant};
    MT_RETURN_IF_ERROR_PLAIN(key_append(out, w, sizeof w));
  }
  for (int i = 0; i < k->n_steps; i++) { /* a fused chain's steps and where they read/write */
    const mt_cpu_step *s = &k->steps[i];
    MT_RETURN_IF_ERROR_PLAIN(key_append_call(out, &s->call));
    int32_t where[6] = {s->chain_operand, s->extra[0], s->extra[1],
                        s->out_arg,       s->stored,   s->inside};
    MT_RETURN_IF_ERROR_PLAIN(key_append(out, where, sizeof where));
  }
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < out->size; i++) h = (h ^ out->bytes[i]) * 1099511628211ULL;
  out->hash = h;
  return NULL;
}

MT_MUST_USE static mt_status *dedup_kernels(const mt_module *m, mt_cpu_program *prog) {
  kernel_key *keys = calloc((size_t)prog->n_kernels + 1, sizeof *keys);
  if (!keys) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  for (int i = 0; i < prog->n_kernels && !st; i++) {
    prog->kernels[i].same_as = -1;
    st = make_key(m, &prog->kernels[i], &keys[i]);
    for (int j = 0; j < i && !st; j++) /* quadratic in kernels: a few hundred per workload */
      if (prog->kernels[j].same_as < 0 && keys[j].hash == keys[i].hash &&
          keys[j].size == keys[i].size && memcmp(keys[j].bytes, keys[i].bytes, keys[i].size) == 0) {
        prog->kernels[i].same_as = j;
        break;
      }
  }
  for (int i = 0; i < prog->n_kernels; i++) free(keys[i].bytes);
  free(keys);
  return st;
}

MT_MUST_USE static mt_status *generate(const mt_plan *p, const mt_cpu_options *o,
                                       mt_cpu_program *prog) {
  prog->n_groups = p->n_hgroups;
  prog->groups = calloc((size_t)p->n_hgroups + 1, sizeof *prog->groups);
  if (!prog->groups) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (o->disabled) {
    snprintf(prog->unavailable, sizeof prog->unavailable, "CPU code disabled (--no-cpu-code)");
  } else if (!mt_cpu_backend_available()) {
    snprintf(prog->unavailable, sizeof prog->unavailable, "%s", mt_cpu_backend_describe());
  }
  if (prog->unavailable[0]) {
    for (int g = 0; g < p->n_hgroups; g++) {
      snprintf(prog->groups[g].unavailable, sizeof prog->groups[g].unavailable, "%.180s",
               prog->unavailable);
      snprintf(prog->groups[g].reason, sizeof prog->groups[g].reason, "%.120s", prog->unavailable);
    }
    return NULL;
  }
  /* MTCC_CPU_FUSION=0 turns fusion off: the before/after measurement of docs/cpu-backend.md;
   * the reports say so rather than showing a bare "0 nodes fused" */
  const char *env = getenv("MTCC_CPU_FUSION");
  if (env && strcmp(env, "0") == 0)
    snprintf(prog->fusion_off, sizeof prog->fusion_off, "MTCC_CPU_FUSION=0");
  int cap = 0;
  int32_t *readers = mt_cpu_count_readers(p->module);
  if (!readers) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  for (int g = 0; g < p->n_hgroups && !st; g++) st = plan_group(p, g, readers, prog, &cap);
  free(readers);
  MT_RETURN_IF_ERROR_PLAIN(st);
  const char *targets[MT_CPU_MAX_TARGETS];
  int n_targets = o->n_targets;
  for (int i = 0; i < n_targets; i++) targets[i] = o->targets[i];
  if (n_targets == 0) {
#if defined(__x86_64__)
    targets[n_targets++] = "x86-64-v3";
    targets[n_targets++] = "x86-64-v4";
#endif
  }
  if (n_targets == 0) {
    snprintf(prog->unavailable, sizeof prog->unavailable,
             "no CPU target for this host architecture (only x86-64 targets are generated)");
    return NULL;
  }
  if (prog->n_kernels == 0) {
    snprintf(prog->unavailable, sizeof prog->unavailable, "no group has a generated CPU kernel");
    return NULL;
  }
  mt_cpu_gemm_mode_t gemm_mode;
  MT_RETURN_IF_ERROR_PLAIN(mt_cpu_gemm_mode(&gemm_mode));
  int64_t pack_budget = MT_CPU_PGEMM_BUDGET;
  for (int i = 0; i < prog->n_kernels; i++)
    mt_cpu_conv_gemm_choose(p->module, gemm_mode, &pack_budget, &prog->kernels[i]);
  MT_RETURN_IF_ERROR_PLAIN(dedup_kernels(p->module, prog));
  for (int i = 0; i < n_targets; i++) {
    const cpu_target *t = find_target(targets[i], strlen(targets[i]));
    if (!t) return MT_ERR(INVALID_ARGUMENT, "CPU target '%s' is unknown", targets[i]);
    mt_cpu_object *obj = &prog->objects[i];
    memset(obj, 0, sizeof *obj);
    obj->target = t->name;
    for (int f = 0; t->features[f]; f++) obj->features[obj->n_features++] = t->features[f];
  }
  MT_RETURN_IF_ERROR_PLAIN(emit_objects(p->module, prog, n_targets));
  prog->n_objects = n_targets;
  return NULL;
}

mt_status *mt_cpu_generate(const mt_plan *p, const mt_cpu_options *o, mt_cpu_program **out) {
  double start = now_seconds();
  mt_cpu_options none;
  if (!o) {
    mt_cpu_options_init(&none);
    o = &none;
  }
  mt_cpu_program *prog = calloc(1, sizeof *prog);
  if (!prog) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = generate(p, o, prog);
  if (st) {
    mt_cpu_program_destroy(prog);
    return st;
  }
  prog->seconds = now_seconds() - start;
  *out = prog;
  return NULL;
}

void mt_cpu_program_destroy(mt_cpu_program *prog) {
  if (!prog) return;
  for (int i = 0; i < prog->n_objects; i++) free(prog->objects[i].bytes);
  free(prog->groups);
  free(prog->kernels);
  free(prog);
}

int mt_cpu_program_groups_generated(const mt_cpu_program *prog) {
  int n = 0;
  for (int g = 0; prog && g < prog->n_groups; g++)
    n += prog->n_objects > 0 && !prog->groups[g].unavailable[0];
  return n;
}
