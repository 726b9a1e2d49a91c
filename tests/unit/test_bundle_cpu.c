/* Generated CPU code in the .mtbundle, without the LLVM backend: the tiny model's bundle
 * (bt_compile_bundle) gets a CPU-code section holding a fixture CPU object built by the system C
 * compiler (tests/unit/cpu_fixture/fixture.c), described as the x86-64-v3 and x86-64-v4 objects
 * and as the Add + Relu group's kernel. Checks that the session loads it (memfd + dlopen) and its
 * outputs match the reference kernels' at 1 and 2 threads; that it is the kernel that ran (a
 * deliberately different kernel changes the output) and that a one-tenant run leaves a
 * several-tenant kernel to the reference nodes; the choice of object per host (the widest the
 * host runs; forced targets simulate a host without AVX-512) and the fallback to the reference
 * kernels with the reason (no object fits, a needed library missing); that the loader refuses
 * every corruption of the CPU fields with a one-line status naming it, and the session an object
 * with another ABI version or a missing kernel. */
#include "test_util.h"

#include <elf.h>
#include <string.h>

#include "bundle_test_util.h"
#include "mtcc.h"
#include "mtrt.h"
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/cpu_abi.h"

typedef struct fixture {
  bt_fixture bt;                  /* the tiny model's bundle, no CPU code */
  uint8_t *object, *object_abi99; /* the fixture CPU objects */
  size_t object_size, object_abi99_size;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  bt_fixture_init(&f->bt, bt_write_tiny_model, "tiny.mtbundle");
  f->object = (uint8_t *)tu_read_file(MT_CPU_FIXTURE, &f->object_size);
  f->object_abi99 = (uint8_t *)tu_read_file(MT_CPU_FIXTURE_ABI99, &f->object_abi99_size);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  bt_fixture_free(&f->bt);
  free(f->object);
  free(f->object_abi99);
  free(f);
  return 0;
}

/* ---- building bundles with CPU code: the manifest decoded into an arena (so edits may point
 * anywhere), CPU fields added, re-encoded, the container rebuilt with a CPU-code section ---- */

typedef struct cpu_bundle {
  bt_arena *ar;
  Mtbundle__Manifest *m;
  uint8_t code[1 << 20]; /* the CPU-code section (sanitizer builds' fixtures are larger) */
  size_t code_size;
  bool drop_code;
  size_t group; /* the Add + Relu group */
} cpu_bundle;

static void *alloc(cpu_bundle *c, size_t n) { return bt_arena_alloc(c->ar, n); }

static Mtbundle__Node *node_named(const Mtbundle__Manifest *m, const char *name, size_t *index) {
  for (size_t i = 0; i < m->n_nodes; i++)
    if (strcmp(m->nodes[i]->name, name) == 0) {
      if (index) *index = i;
      return m->nodes[i];
    }
  fail_msg("no node '%s'", name);
  return NULL;
}

/* Object i: the fixture's bytes at the next 64-byte boundary of the section. */
static void add_object(cpu_bundle *c, const char *target, const char *feature, const uint8_t *bytes,
                       size_t size) {
  Mtbundle__Manifest *m = c->m;
  Mtbundle__CpuObject *o = alloc(c, sizeof *o);
  *o = (Mtbundle__CpuObject)MTBUNDLE__CPU_OBJECT__INIT;
  o->target = (char *)target;
  o->n_required_features = 1;
  o->required_features = alloc(c, sizeof(char *));
  o->required_features[0] = (char *)feature;
  o->offset = (c->code_size + MT_BUNDLE_ALIGN - 1) / MT_BUNDLE_ALIGN * MT_BUNDLE_ALIGN;
  o->size = size;
  o->abi_version = MT_CPU_ABI_VERSION;
  assert_true(o->offset + size <= sizeof c->code);
  memcpy(c->code + o->offset, bytes, size);
  c->code_size = (size_t)(o->offset + size);
  Mtbundle__CpuObject **objs = alloc(c, (m->n_cpu_objects + 1) * sizeof *objs);
  if (m->n_cpu_objects) memcpy(objs, m->cpu_objects, m->n_cpu_objects * sizeof *objs);
  objs[m->n_cpu_objects++] = o;
  m->cpu_objects = objs;
}

/* The tiny bundle with objects for x86-64-v3 (needs avx2) and x86-64-v4 (needs avx512f) where
 * `targets` says ("v3", "v4" or "v3v4"), and one kernel `symbol` of `tenant` for the group of
 * nodes `first` .. `last`: args the inputs of `first`, then the outputs of `last`. The other
 * groups say why they have no CPU code. */
static cpu_bundle *make_for(const fixture *f, const char *targets, const char *symbol, int tenant,
                            const char *first, const char *last) {
  cpu_bundle *c = calloc(1, sizeof *c);
  c->ar = calloc(1, sizeof *c->ar);
  ProtobufCAllocator pa = bt_arena_allocator(c->ar);
  Mtbundle__Manifest *m = c->m = bt_unpack_manifest(f->bt.image, f->bt.size, &pa);
  m->cpu_unavailable = "";
  if (strstr(targets, "v3")) add_object(c, "x86-64-v3", "avx2", f->object, f->object_size);
  if (strstr(targets, "v4")) add_object(c, "x86-64-v4", "avx512f", f->object, f->object_size);
  size_t add_i, relu_i;
  Mtbundle__Node *add = node_named(m, first, &add_i), *relu = node_named(m, last, &relu_i);
  m->n_cpu_groups = m->n_groups;
  m->cpu_groups = alloc(c, m->n_groups * sizeof *m->cpu_groups);
  for (size_t g = 0; g < m->n_groups; g++) {
    Mtbundle__CpuGroup *cg = m->cpu_groups[g] = alloc(c, sizeof *cg);
    *cg = (Mtbundle__CpuGroup)MTBUNDLE__CPU_GROUP__INIT;
    const Mtbundle__Group *gr = m->groups[g];
    bool ours = add_i >= gr->first_node && add_i < gr->first_node + gr->n_nodes;
    if (!ours) {
      cg->unavailable = "the fixture object covers only Add + Relu";
      if (strcmp(first, "add") != 0) cg->unavailable = "the fixture kernel covers another group";
      continue;
    }
    assert_true(relu_i >= gr->first_node && relu_i < gr->first_node + gr->n_nodes);
    c->group = g;
    Mtbundle__CpuKernel *k = alloc(c, sizeof *k);
    *k = (Mtbundle__CpuKernel)MTBUNDLE__CPU_KERNEL__INIT;
    k->symbol = (char *)symbol;
    k->tenant = tenant;
    k->name = (char *)symbol;
    k->n_args = add->n_inputs + relu->n_outputs;
    k->args = alloc(c, k->n_args * sizeof *k->args);
    for (size_t i = 0; i < add->n_inputs; i++) k->args[i] = add->inputs[i];
    for (size_t i = 0; i < relu->n_outputs; i++) k->args[add->n_inputs + i] = relu->outputs[i];
    cg->n_kernels = 1;
    cg->kernels = alloc(c, sizeof *cg->kernels);
    cg->kernels[0] = k;
  }
  return c;
}

static cpu_bundle *make(const fixture *f, const char *targets, const char *symbol, int tenant) {
  return make_for(f, targets, symbol, tenant, "add", "relu");
}

static Mtbundle__CpuKernel *kernel0(cpu_bundle *c) {
  return c->m->cpu_groups[c->group]->kernels[0];
}

/* The bundle's bytes (the caller frees them), and c freed. */
static uint8_t *pack(const fixture *f, cpu_bundle *c, size_t *out_size) {
  uint8_t *img = NULL;
  bool with_code = c->code_size > 0 && !c->drop_code;
  bt_repack_code(f->bt.image, f->bt.size, c->m, MT_SECTION_CPU_CODE, with_code ? c->code : NULL,
                 c->code_size, &img, out_size);
  bt_arena_free(c->ar);
  free(c);
  return img;
}

/* ---- running ---- */

static const float X[6] = {0.25f, 0.5f, -1.0f, 1.0f, -2.0f, 1.0f}; /* x + w1 has negatives */

typedef struct result {
  float y[8], yt[8];
  char target[32], note[512];
  double time_us;
} result;

/* Runs the bundle's tenant (or -1: all) with cpu_target and threads; the session's status. */
static mtrt_status *run(const uint8_t *img, size_t size, const char *target, int threads,
                        int tenant, result *r) {
  memset(r, 0, sizeof *r);
  mtrt_bundle *b = NULL;
  assert_ok(bt_st(mtrt_bundle_open_memory(img, size, NULL, &b)));
  mtrt_session_options o;
  mtrt_session_options_init(&o);
  o.cpu_target = target;
  o.cpu_threads = threads;
  mtrt_session *s = NULL;
  mtrt_status *st = mtrt_session_create(b, &o, &s);
  if (!st) {
    snprintf(r->target, sizeof r->target, "%s", mtrt_session_cpu_target(s));
    snprintf(r->note, sizeof r->note, "%s", mtrt_session_device_note(s));
    assert_ok(bt_st(mtrt_session_bind_input(s, 0, "x", X, sizeof X)));
    assert_ok(bt_st(mtrt_session_bind_output(s, 0, "y", r->y, sizeof r->y)));
    assert_ok(bt_st(mtrt_session_bind_output(s, 0, "yt", r->yt, sizeof r->yt)));
    for (int rep = 0; rep < 2; rep++) assert_ok(bt_st(mtrt_session_run(s, tenant)));
    r->time_us = mtrt_session_tenant_time_us(s, 0);
  }
  mtrt_session_destroy(s);
  mtrt_bundle_close(b);
  return st;
}

static void reference(const fixture *f, result *r) {
  assert_ok(bt_st(run(f->bt.image, f->bt.size, "reference", 1, -1, r)));
  assert_string_equal(r->target, "reference");
}

static bool same(const result *a, const result *b) {
  return memcmp(a->y, b->y, sizeof a->y) == 0 && memcmp(a->yt, b->yt, sizeof a->yt) == 0;
}

/* The object auto picks on this host: the widest whose feature the host has. */
static const char *host_target(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "x86-64-v4";
  if (__builtin_cpu_supports("avx2")) return "x86-64-v3";
#endif
  return "reference";
}

static void test_matches_reference(void **state) {
  fixture *f = *state;
  result want, got;
  reference(f, &want);
  size_t size;
  uint8_t *img = pack(f, make(f, "v3v4", "fixture_add_relu", 0), &size);
  for (int threads = 1; threads <= 2; threads++) {
    assert_ok(bt_st(run(img, size, NULL, threads, -1, &got)));
    assert_string_equal(got.target, host_target());
    if (strcmp(host_target(), "reference") != 0) {
      if (!strstr(got.note, "CPU code: CPU object ")) fail_msg("note: %s", got.note);
      assert_true(got.time_us > 0);
    }
    assert_true(same(&got, &want));
    assert_ok(bt_st(run(img, size, "auto", threads, 0, &got)));
    assert_true(same(&got, &want));
  }
  free(img);
}

/* Groups before and after the one with a kernel (here the last) run their reference nodes:
 * a group without kernels must not take the next group's. */
static void test_kernel_in_a_later_group(void **state) {
  fixture *f = *state;
  result want, got;
  reference(f, &want);
  size_t size;
  uint8_t *img =
      pack(f, make_for(f, "v3v4", "fixture_transpose", 0, "transpose", "transpose"), &size);
  for (int threads = 1; threads <= 2; threads++) {
    assert_ok(bt_st(run(img, size, NULL, threads, -1, &got)));
    assert_string_equal(got.target, host_target());
    assert_true(same(&got, &want));
  }
  free(img);
}

/* A kernel that computes something else (Add without Relu) shows that the kernel, not the
 * group's reference nodes, produced the outputs; a kernel of several tenants (-1) does not run
 * in a one-tenant run, whose outputs then come from the reference nodes. */
static void test_kernel_replaces_nodes(void **state) {
  fixture *f = *state;
  if (strcmp(host_target(), "reference") == 0) skip();
  result want, got;
  reference(f, &want);
  size_t size;
  uint8_t *img = pack(f, make(f, "v3v4", "fixture_add", 0), &size);
  for (int threads = 1; threads <= 2; threads++) {
    assert_ok(bt_st(run(img, size, NULL, threads, -1, &got)));
    assert_false(same(&got, &want));
  }
  free(img);
  img = pack(f, make(f, "v3v4", "fixture_add", -1), &size);
  assert_ok(bt_st(run(img, size, NULL, 2, -1, &got)));
  assert_false(same(&got, &want));
  assert_ok(bt_st(run(img, size, NULL, 2, 0, &got)));
  assert_true(same(&got, &want));
  free(img);
}

static void expect_target(const uint8_t *img, size_t size, const char *cpu_target, const char *want,
                          const char *note_needle) {
  result got;
  assert_ok(bt_st(run(img, size, cpu_target, 1, -1, &got)));
  if (strcmp(got.target, want) != 0 || (note_needle && !strstr(got.note, note_needle)))
    fail_msg("cpu_target %s: ran %s (%s); expected %s and \"%s\"", cpu_target, got.target, got.note,
             want, note_needle ? note_needle : "");
}

static void test_target_choice(void **state) {
  fixture *f = *state;
#if !defined(__x86_64__)
  skip();
#endif
  if (strcmp(host_target(), "reference") == 0) skip();
  size_t size;
  uint8_t *both = pack(f, make(f, "v3v4", "fixture_add_relu", 0), &size);
  /* a host without AVX-512 takes the v3 object */
  expect_target(both, size, "x86-64-v3", "x86-64-v3", "CPU object x86-64-v3 (needs avx2)");
  expect_target(both, size, "reference", "reference", "reference kernels (cpu_target reference)");
  expect_target(both, size, "x86-64", "reference",
                "no CPU object fits this host taken as x86-64: x86-64-v3 needs avx2");
  expect_target(both, size, "aarch64", "reference", "x86-64-v3 needs an x86-64 CPU");
  result r;
  mtrt_status *st = run(both, size, "x86-64-v9", 1, -1, &r);
  assert_status(bt_st(st), MT_INVALID_ARGUMENT, "cpu_target 'x86-64-v9'");
  free(both);
  /* built where the CPU has no AVX-512, run where it has: the v3 object */
  uint8_t *v3 = pack(f, make(f, "v3", "fixture_add_relu", 0), &size);
  expect_target(v3, size, NULL, "x86-64-v3", NULL);
  free(v3);
  /* built with AVX-512 only, run where there is none (simulated): the reference kernels */
  uint8_t *v4 = pack(f, make(f, "v4", "fixture_add_relu", 0), &size);
  expect_target(v4, size, "x86-64-v3", "reference",
                "no CPU object fits this host taken as x86-64-v3: x86-64-v4 needs avx512f");
  free(v4);
  /* a bundle without CPU objects says why */
  expect_target(f->bt.image, f->bt.size, NULL, "reference", "the bundle has no CPU objects");
}

/* An object whose needed library is missing (its DT_NEEDED libm.so.6 renamed) does not load:
 * the session runs the reference kernels and says why. */
static void test_missing_library_falls_back(void **state) {
  fixture *f = *state;
  if (strcmp(host_target(), "reference") == 0) skip();
  cpu_bundle *c = make(f, "v3v4", "fixture_add_relu", 0);
  int renamed = 0;
  for (size_t i = 0; i + 9 <= c->code_size; i++)
    if (memcmp(c->code + i, "libm.so.6", 9) == 0) {
      c->code[i + 3] = 'q';
      renamed++;
    }
  assert_true(renamed > 0);
  size_t size;
  uint8_t *img = pack(f, c, &size);
  result want, got;
  reference(f, &want);
  assert_ok(bt_st(run(img, size, NULL, 2, -1, &got)));
  assert_string_equal(got.target, "reference");
  if (!strstr(got.note, "did not load") || !strstr(got.note, "libq.so.6"))
    fail_msg("note: %s", got.note);
  assert_true(same(&got, &want));
  free(img);
}

/* Objects that load but are corrupt: the session is refused. */
static void test_session_refuses_bad_object(void **state) {
  fixture *f = *state;
  if (strcmp(host_target(), "reference") == 0) skip();
  result r;
  size_t size;
  cpu_bundle *c = make(f, "", "fixture_add_relu", 0);
  add_object(c, "x86-64-v3", "avx2", f->object_abi99, f->object_abi99_size);
  uint8_t *img = pack(f, c, &size);
  mtrt_status *st = run(img, size, NULL, 1, -1, &r);
  assert_status(bt_st(st), MT_DATA_LOSS, "CPU ABI version 99");
  free(img);
  img = pack(f, make(f, "v3v4", "fixture_nope", 0), &size);
  st = run(img, size, NULL, 1, -1, &r);
  assert_status(bt_st(st), MT_DATA_LOSS, "lacks kernel 'fixture_nope'");
  free(img);
}

/* ---- corruptions the loader refuses ---- */

static Elf64_Ehdr *elf0(cpu_bundle *c) {
  return (Elf64_Ehdr *)(c->code + c->m->cpu_objects[0]->offset);
}

static void bad_magic(cpu_bundle *c) { elf0(c)->e_ident[1] = 'X'; }
static void bad_class(cpu_bundle *c) { elf0(c)->e_ident[EI_CLASS] = ELFCLASS32; }
static void bad_machine(cpu_bundle *c) { elf0(c)->e_machine = EM_AARCH64; }
static void not_shared(cpu_bundle *c) { elf0(c)->e_type = ET_EXEC; }
static void too_short(cpu_bundle *c) { c->m->cpu_objects[0]->size = 16; }
static void misaligned(cpu_bundle *c) { c->m->cpu_objects[0]->offset += 8; }
static void past_section(cpu_bundle *c) { c->m->cpu_objects[1]->size = (uint64_t)1 << 40; }
static void empty_object(cpu_bundle *c) { c->m->cpu_objects[0]->size = 0; }
static void overlap(cpu_bundle *c) { c->m->cpu_objects[1]->offset = c->m->cpu_objects[0]->offset; }
static void abi_version(cpu_bundle *c) { c->m->cpu_objects[0]->abi_version = 2; }
static void unknown_target(cpu_bundle *c) { c->m->cpu_objects[0]->target = "x86-64-v9"; }
static void target_twice(cpu_bundle *c) { c->m->cpu_objects[1]->target = "x86-64-v3"; }
static void empty_feature(cpu_bundle *c) { c->m->cpu_objects[0]->required_features[0] = ""; }
static void bad_library(cpu_bundle *c) {
  c->m->cpu_objects[0]->n_needed_libraries = 1;
  c->m->cpu_objects[0]->needed_libraries = alloc(c, sizeof(char *));
  c->m->cpu_objects[0]->needed_libraries[0] = "lib dnnl.so";
}
static void section_dropped(cpu_bundle *c) { c->drop_code = true; }
static void objects_dropped(cpu_bundle *c) { c->m->n_cpu_objects = 0; }
static void reason_and_objects(cpu_bundle *c) { c->m->cpu_unavailable = "no LLVM"; }
static void group_count(cpu_bundle *c) { c->m->n_cpu_groups = 1 + (c->group == 0); }
static void group_neither(cpu_bundle *c) {
  c->m->cpu_groups[(c->group + 1) % c->m->n_groups]->unavailable = "";
}
static void group_both(cpu_bundle *c) { c->m->cpu_groups[c->group]->unavailable = "why"; }
static void symbol_empty(cpu_bundle *c) { kernel0(c)->symbol = ""; }
static void symbol_abi(cpu_bundle *c) { kernel0(c)->symbol = MT_CPU_ABI_VERSION_SYMBOL; }
static void symbol_twice(cpu_bundle *c) {
  Mtbundle__CpuGroup *cg = c->m->cpu_groups[c->group];
  Mtbundle__CpuKernel **ks = alloc(c, 2 * sizeof *ks);
  ks[0] = ks[1] = cg->kernels[0];
  cg->kernels = ks;
  cg->n_kernels = 2;
}
static void kernel_tenant(cpu_bundle *c) { kernel0(c)->tenant = 5; }
static void arg_none(cpu_bundle *c) {
  Mtbundle__BufferRef *r = alloc(c, sizeof *r);
  *r = *kernel0(c)->args[0];
  r->kind = MTBUNDLE__BUFFER_REF__KIND__NONE;
  kernel0(c)->args[0] = r;
}
static void arg_constant(cpu_bundle *c) {
  Mtbundle__BufferRef *r = alloc(c, sizeof *r);
  *r = *kernel0(c)->args[1];
  r->index = 99;
  kernel0(c)->args[1] = r;
}
static void arg_past_arena(cpu_bundle *c) {
  Mtbundle__BufferRef *r = alloc(c, sizeof *r);
  *r = *kernel0(c)->args[2];
  r->offset = (uint64_t)1 << 39;
  kernel0(c)->args[2] = r;
}
static void no_args(cpu_bundle *c) { kernel0(c)->n_args = 0; }

static const struct {
  const char *name;
  void (*apply)(cpu_bundle *);
  const char *needle;
} CASES[] = {
    {"bad ELF magic", bad_magic, "CPU object 0 (x86-64-v3): not an ELF file"},
    {"32-bit ELF", bad_class, "not a 64-bit little-endian ELF file"},
    {"ELF for another machine", bad_machine, "ELF machine 183, the target's is 62"},
    {"ELF executable", not_shared, "is not a shared object"},
    {"object too short", too_short, "cannot hold an ELF header"},
    {"object misaligned", misaligned, "is empty, misaligned or past the CPU-code section"},
    {"object past section", past_section, "+1099511627776) is empty, misaligned or past"},
    {"object empty", empty_object, "is empty, misaligned"},
    {"objects overlap", overlap, "CPU objects 0 and 1 overlap"},
    {"CPU ABI version", abi_version, "CPU ABI version 2; this libmtrt calls 1"},
    {"unknown target", unknown_target, "unknown target 'x86-64-v9'"},
    {"target twice", target_twice, "CPU objects 0 and 1 are both for x86-64-v3"},
    {"empty feature", empty_feature, "required features 0 is empty"},
    {"library with a space", bad_library, "needed libraries 0 is empty or not a printable"},
    {"section dropped", section_dropped, "CPU objects but no CPU-code section"},
    {"objects dropped", objects_dropped, "a CPU-code section but no CPU objects"},
    {"reason and objects", reason_and_objects, "CPU objects and a reason there are none"},
    {"CPU group count", group_count, "CPU groups for"},
    {"group with neither", group_neither, "neither kernels nor a reason"},
    {"group with both", group_both, "kernels and a reason it has no CPU code"},
    {"empty symbol", symbol_empty, "symbol '' is not a C identifier"},
    {"symbol of the ABI version", symbol_abi, "names the ABI version"},
    {"symbol twice", symbol_twice, "symbol 'fixture_add_relu' is used twice"},
    {"kernel tenant", kernel_tenant, "tenant 5 has no node in the group"},
    {"argument NONE", arg_none, "argument 0: no buffer"},
    {"argument constant index", arg_constant, "argument 1: constant index 99 out of range"},
    {"argument past arena", arg_past_arena, "argument 2: buffer ["},
    {"no arguments", no_args, "0 arguments"},
};

static void test_corruptions_refused(void **state) {
  fixture *f = *state;
  for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
    cpu_bundle *c = make(f, "v3v4", "fixture_add_relu", 0);
    CASES[i].apply(c);
    size_t size;
    uint8_t *img = pack(f, c, &size);
    bt_expect_refused(img, size, CASES[i].name, CASES[i].needle);
    free(img);
  }
  /* kernels but no objects at all */
  cpu_bundle *c = make(f, "", "fixture_add_relu", 0);
  size_t size;
  uint8_t *img = pack(f, c, &size);
  bt_expect_refused(img, size, "kernels without objects", "has kernels but the bundle has no CPU");
  free(img);
}

/* With MT_WRITE_CPU_SEED=PATH: writes the x86-64-v3 bundle there (the fuzz seed
 * tests/fuzz/seeds/bundle/small_cpu.mtbundle comes from this). */
static void test_write_seed(void **state) {
  fixture *f = *state;
  const char *path = getenv("MT_WRITE_CPU_SEED");
  if (!path) return; /* not a skip: the test as a whole ran */
  size_t size;
  uint8_t *img = pack(f, make(f, "v3", "fixture_add_relu", 0), &size);
  tu_write_file(path, img, size);
  free(img);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_reference),
      cmocka_unit_test(test_kernel_replaces_nodes),
      cmocka_unit_test(test_kernel_in_a_later_group),
      cmocka_unit_test(test_target_choice),
      cmocka_unit_test(test_missing_library_falls_back),
      cmocka_unit_test(test_session_refuses_bad_object),
      cmocka_unit_test(test_corruptions_refused),
      cmocka_unit_test(test_write_seed),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}
