/* The ONNX backend-case runner (conformance.h): runs test cases (folders with model.onnx and
 * test_data_set_*) through a backend and compares with the expected outputs, as ONNX's backend
 * runner does (rtol 1e-3, atol 1e-7; float16 outputs one float16 unit more, bfloat16 outputs rtol
 * 2^-6 as ONNX's runner). A case is UNSUPPORTED only when it uses an op, dtype or attribute form outside what mtcc supports; anything else that goes wrong is a FAIL. */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "runtime/base/escape.h"
#include "runtime/cpu/float8.h"
#include "tools/cli.h"
#include "tools/conformance.h"
#include "runtime/cpu/container.h"

enum { CASE_PASS, CASE_FAIL, CASE_UNSUPPORTED, CASE_UNAVAILABLE };

/* Room for every path built here: an argument (refused at PATH_MAX or more), a case folder and a
 * data-set folder (each a directory entry, at most NAME_MAX), and a file name within it. The
 * paths are never cut: a cut path would run (or report) another case than the one named. */
enum { CASE_PATH_CAP = PATH_MAX + 3 * NAME_MAX + 64 };

typedef struct tally {
  int passed, failed, unsupported, passed_with_note;
  char unavailable[512]; /* why the backend cannot run at all (stops the run) */
  char **reasons;        /* distinct unsupported reasons, with counts */
  int *reason_counts;
  int n_reasons, cap_reasons;
} tally;

static bool is_dir(const char *path) {
  struct stat s;
  return stat(path, &s) == 0 && S_ISDIR(s.st_mode);
}

/* Any kind of file: a FIFO or directory where a case file belongs is then refused by the reader
 * with a message that names it, instead of being skipped as if absent. */
static bool file_exists(const char *path) {
  struct stat s;
  return stat(path, &s) == 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of dir whose names start with prefix; caller frees each and the array. */
static int list_dir(const char *dir, const char *prefix, char ***out) {
  DIR *d = opendir(dir);
  *out = NULL;
  if (!d) return 0;
  int n = 0, cap = 0;
  char **names = NULL;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **t = realloc(names, (size_t)cap * sizeof *names);
      if (!t) break;
      names = t;
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (names) qsort(names, (size_t)n, sizeof *names, cmp_str);
  *out = names;
  return n;
}

static void free_list(char **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* The reason without file, tenant and node names, so similar cases group in the summary. */
static void add_reason(tally *t, const char *msg) {
  char key[160];
  const char *src = msg;
  if (strstr(msg, "only tensor types")) src = "non-tensor types (sequence, map, optional)";
  const char *p = strstr(src, "unsupported: ");
  if (p) src = p + strlen("unsupported: ");
  size_t n = strcspn(src, ";");
  for (const char *q = src; (q = strstr(q, "': ")) && q < src + n; q += 3) { /* past names */
    n -= (size_t)(q + 3 - src);
    src = q + 3;
  }
  if (n >= sizeof key) n = sizeof key - 1;
  memcpy(key, src, n);
  key[n] = 0;
  for (int i = 0; i < t->n_reasons; i++)
    if (strcmp(t->reasons[i], key) == 0) {
      t->reason_counts[i]++;
      return;
    }
  if (t->n_reasons == t->cap_reasons) {
    int cap = t->cap_reasons ? t->cap_reasons * 2 : 32;
    char **r = realloc(t->reasons, (size_t)cap * sizeof *r);
    if (r) t->reasons = r;
    int *c = realloc(t->reason_counts, (size_t)cap * sizeof *c);
    if (c) t->reason_counts = c;
    if (!r || !c) return;
    t->cap_reasons = cap;
  }
  t->reasons[t->n_reasons] = strdup(key);
  t->reason_counts[t->n_reasons++] = 1;
}

/* One unit in the last place of w as a float16, 0 for other dtypes. Float16 outputs get this
 * much more slack than rtol 1e-3 (itself one or two float16 units): the backend's expected values
 * are computed by numpy, which rounds every float16 multiply-add of a MatMul, while mtcc (and ONNX
 * Runtime) accumulate in float32 and round once, so a long float16 chain (an expanded Attention)
 * can land one unit further off than 1e-3 allows. */
static double f16_ulp(mt_dtype dt, double w) {
  if (dt != MT_DTYPE_FLOAT16 || w == 0 || !isfinite(w)) return 0;
  int e;
  frexp(fabs(w), &e); /* |w| in [2^(e-1), 2^e) */
  return ldexp(1.0, (e - 1 < -14 ? -14 : e - 1) - 10);
}

/* Sequences and optionals: the same count of elements, each close as a value. */
static bool containers_close(const mt_tensor *got, const mt_tensor *want, double rtol, double atol,
                             char *why, size_t cap, double *max_rel) {
  mt_container a, b;
  mt_status *st = mt_container_open(got, &a);
  if (st) {
    snprintf(why, cap, "%s", mt_status_message(st));
    mt_status_free(st);
    return false;
  }
  st = mt_container_open(want, &b);
  if (st) {
    snprintf(why, cap, "expected value: %s", mt_status_message(st));
    mt_status_free(st);
    mt_container_free(&a);
    return false;
  }
  bool ok = a.count == b.count;
  if (!ok)
    snprintf(why, cap, "%s of %lld elements, expected %lld", mt_dtype_name(got->dtype),
             (long long)a.count, (long long)b.count);
  for (int64_t i = 0; ok && i < a.count; i++) {
    char inner[200];
    ok = mt_conformance_values_close(&a.elems[i], &b.elems[i], rtol, atol, inner, sizeof inner,
                                     max_rel);
    if (!ok) snprintf(why, cap, "element %lld: %s", (long long)i, inner);
  }
  mt_container_free(&a);
  mt_container_free(&b);
  return ok;
}

bool mt_conformance_values_close(const mt_tensor *got, const mt_tensor *want, double rtol,
                                 double atol, char *why, size_t cap, double *max_rel) {
  if (got->dtype == want->dtype && mt_dtype_is_container(got->dtype))
    return containers_close(got, want, rtol, atol, why, cap, max_rel);
  if (got->dtype != want->dtype) {
    snprintf(why, cap, "dtype %s, expected %s", mt_dtype_name(got->dtype),
             mt_dtype_name(want->dtype));
    return false;
  }
  if (got->rank != want->rank) {
    snprintf(why, cap, "rank %d, expected %d", got->rank, want->rank);
    return false;
  }
  for (int d = 0; d < got->rank; d++)
    if (got->dims[d] != want->dims[d]) {
      snprintf(why, cap, "dim %d is %lld, expected %lld", d, (long long)got->dims[d],
               (long long)want->dims[d]);
      return false;
    }
  int64_t n = mt_tensor_numel(want);
  bool is_float = mt_dtype_is_float_any(want->dtype) || mt_dtype_is_float8(want->dtype);
  /* bfloat16 outputs: ONNX's backend runner compares them with rtol max(rtol, 2^-6), two
   * bfloat16 units (onnx/backend/test/runner), since its expected values round every step */
  if (want->dtype == MT_DTYPE_BFLOAT16 && rtol < 0x1p-6) rtol = 0x1p-6;
  for (int64_t i = 0; i < n; i++) {
    if (is_float) {
      double g = mt_tensor_get_f64(got, i), w = mt_tensor_get_f64(want, i);
      if (isnan(w) && isnan(g)) continue;
      /* an infinity matches only the same infinity: the tolerance below is itself infinite
       * when w is, and would accept any finite result or the other infinity */
      if (isinf(w) && g == w) continue;
      double err = fabs(g - w);
      if (max_rel && w != 0 && err / fabs(w) > *max_rel) *max_rel = err / fabs(w);
      if (isinf(w) || !(err <= atol + rtol * fabs(w) + f16_ulp(want->dtype, w))) {
        snprintf(why, cap, "element %lld is %.9g, expected %.9g", (long long)i, g, w);
        return false;
      }
    } else if (mt_tensor_get_i64(got, i) != mt_tensor_get_i64(want, i)) {
      snprintf(why, cap, "element %lld is %lld, expected %lld", (long long)i,
               (long long)mt_tensor_get_i64(got, i), (long long)mt_tensor_get_i64(want, i));
      return false;
    }
  }
  return true;
}

/* Reads input_*.pb / output_*.pb of one data set, sorted by index. */
MT_MUST_USE static mt_status *read_set(const char *set_dir, const char *prefix, size_t memory_limit,
                                       const mt_dtype *kinds, int n_kinds, mt_tensor **out,
                                       char ***out_names, int *out_n) {
  char **files;
  int n = list_dir(set_dir, prefix, &files);
  *out = calloc((size_t)n + 1, sizeof **out);
  *out_names = calloc((size_t)n + 1, sizeof **out_names);
  *out_n = 0;
  mt_status *st = (!*out || !*out_names) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  /* input_10.pb sorts before input_2.pb as text: order by the number instead */
  for (int k = 0; !st && k < n; k++) {
    char want[64], path[CASE_PATH_CAP];
    snprintf(want, sizeof want, "%s%d.pb", prefix, k);
    snprintf(path, sizeof path, "%s/%s", set_dir, want);
    if (!file_exists(path)) break;
    /* a sequence or optional value is a SequenceProto/OptionalProto file, told apart only by
     * the type the model declares at that position */
    mt_dtype kind = k < n_kinds ? kinds[k] : MT_DTYPE_UNDEFINED;
    st = mt_value_file_read_limited(path, memory_limit, kind, &(*out)[k], &(*out_names)[k]);
    if (!st) (*out_n)++;
  }
  free_list(files, n);
  return st;
}

static void free_set(mt_tensor *t, char **names, int n) {
  for (int i = 0; i < n; i++) {
    free(t[i].data);
    free(names[i]);
  }
  free(t);
  free(names);
}

/* What a backend's status makes of the case. */
static int classify(mt_status *st, char *why, size_t cap) {
  int r = CASE_FAIL;
  if (mt_status_code_of(st) == MT_UNIMPLEMENTED) r = CASE_UNSUPPORTED;
  if (mt_status_code_of(st) == MT_UNAVAILABLE) r = CASE_UNAVAILABLE;
  snprintf(why, cap, "%s", mt_status_message(st));
  mt_status_free(st);
  return r;
}

typedef struct case_run {
  const mt_conformance_backend *b;
  const char *model_path;
  const mt_module *m;
  char note[256]; /* the backend's last note for this case */
} case_run;

/* ONNX's backend data before onnx 1.14 (Debian's) stores bfloat16 tensors as uint16 holding the
 * bits, and it was made by a reference that truncated float -> bfloat16 (the spec rounds to
 * nearest even) and gave CastLike a target of the wrong shape: such a data set cannot check
 * bfloat16, so the case is unsupported with this reason (the wheel's cases check bfloat16). */
static mt_status *legacy_bf16_data(mt_dtype declared, const mt_tensor *t) {
  if (declared == MT_DTYPE_BFLOAT16 && t->dtype == MT_DTYPE_UINT16)
    return MT_ERR(UNIMPLEMENTED, "legacy bfloat16 test data (uint16 bits from onnx < 1.14, "
                                 "which truncated casts to bfloat16)");
  return NULL;
}

static int run_data_set(case_run *c, const char *set_dir, char *why, size_t cap) {
  const mt_module *m = c->m;
  mt_tensor *ins = NULL, *want = NULL;
  char **in_names = NULL, **out_names = NULL;
  int n_in = 0, n_out = 0, result = CASE_PASS;
  const mt_graph *g = mt_module_tenant_c(m, 0)->graph;
  mt_dtype *in_kinds = calloc((size_t)g->n_inputs + 1, sizeof *in_kinds);
  mt_dtype *out_kinds = calloc((size_t)g->n_outputs + 1, sizeof *out_kinds);
  for (int i = 0; in_kinds && i < g->n_inputs; i++)
    in_kinds[i] = mt_module_value_c(m, g->inputs[i])->dtype;
  for (int i = 0; out_kinds && g->declared_outputs && i < g->n_outputs; i++)
    out_kinds[i] = g->declared_outputs[i].dtype;
  mt_status *st = !in_kinds || !out_kinds ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  if (!st)
    st = read_set(set_dir, "input_", mt_module_memory_limit(m), in_kinds, g->n_inputs, &ins,
                  &in_names, &n_in);
  if (!st)
    st = read_set(set_dir, "output_", mt_module_memory_limit(m), out_kinds, g->n_outputs, &want,
                  &out_names, &n_out);
  free(in_kinds);
  free(out_kinds);
  mt_tensor *inputs = calloc((size_t)g->n_inputs + 1, sizeof *inputs);
  mt_tensor *got = calloc((size_t)g->n_outputs + 1, sizeof *got);
  if (!st && (!inputs || !got)) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st && n_in != g->n_inputs)
    st = MT_ERR(INVALID_ARGUMENT, "data set has %d inputs, the model %d", n_in, g->n_inputs);
  if (!st && n_out != g->n_outputs)
    st = MT_ERR(INVALID_ARGUMENT, "data set has %d outputs, the model %d", n_out, g->n_outputs);
  for (int i = 0; !st && i < g->n_inputs; i++) {
    /* by name when the .pb names it, else by position */
    const char *name = mt_module_value_c(m, g->inputs[i])->name;
    inputs[i] = ins[i];
    for (int k = 0; k < n_in; k++)
      if (in_names[k] && strcmp(in_names[k], name) == 0) inputs[i] = ins[k];
    st = legacy_bf16_data(mt_module_value_c(m, g->inputs[i])->dtype, &inputs[i]);
  }
  char note[sizeof c->note] = "";
  if (!st) st = c->b->run_set(c->b->self, c->model_path, m, inputs, got, note, sizeof note);
  if (note[0]) snprintf(c->note, sizeof c->note, "%s", note);
  if (st) {
    result = classify(st, why, cap);
  } else {
    for (int i = 0; i < g->n_outputs && result == CASE_PASS; i++) {
      char detail[256];
      mt_status *legacy = legacy_bf16_data(got[i].dtype, &want[i]); /* typed once inferred */
      if (legacy) {
        result = classify(legacy, why, cap);
        break;
      }
      if (!mt_conformance_values_close(&got[i], &want[i], 1e-3, 1e-7, detail, sizeof detail,
                                       NULL)) {
        snprintf(why, cap, "output %d '%s': %s", i, mt_module_value_c(m, g->outputs[i])->name,
                 detail);
        result = CASE_FAIL;
      }
    }
  }
  for (int i = 0; got && i < g->n_outputs; i++) free(got[i].data);
  free(inputs);
  free(got);
  free_set(ins, in_names, n_in);
  free_set(want, out_names, n_out);
  return result;
}

static int run_case(const mt_conformance_backend *b, const char *case_dir, size_t memory_limit,
                    char *why, size_t cap, char *note, size_t note_cap) {
  char path[CASE_PATH_CAP];
  snprintf(path, sizeof path, "%s/model.onnx", case_dir);
  mt_module *m;
  mt_status *st = mt_module_create(NULL, &m);
  if (!st && memory_limit) mt_module_set_memory_limit(m, memory_limit);
  int32_t tenant;
  if (!st) st = mt_onnx_import_file(m, path, "model", &tenant);
  if (!st) st = mt_verify_module(m);
  if (!st) st = mt_check_supported(m);
  if (st) {
    mt_module_destroy(m);
    return classify(st, why, cap);
  }
  case_run c = {.b = b, .model_path = path, .m = m};
  char **sets;
  int n_sets = list_dir(case_dir, "test_data_set_", &sets);
  int result = n_sets ? CASE_PASS : CASE_FAIL;
  if (!n_sets) snprintf(why, cap, "no test_data_set_* folder");
  for (int s = 0; s < n_sets && result == CASE_PASS; s++) {
    char set_dir[CASE_PATH_CAP];
    snprintf(set_dir, sizeof set_dir, "%s/%s", case_dir, sets[s]);
    result = run_data_set(&c, set_dir, why, cap);
    if (result != CASE_PASS && result != CASE_UNAVAILABLE) {
      size_t len = strlen(why);
      snprintf(why + len, cap - len, " [%s]", sets[s]);
    }
  }
  snprintf(note, note_cap, "%s", c.note);
  free_list(sets, n_sets);
  mt_module_destroy(m);
  return result;
}

static void run_one(const mt_conformance_backend *b, const char *dir, const char *name,
                    size_t memory_limit, tally *t) {
  if (t->unavailable[0]) return;
  char raw[2048] = "", why[2048], raw_note[256] = "", note[1024];
  int r = run_case(b, dir, memory_limit, raw, sizeof raw, raw_note, sizeof raw_note);
  if (r == CASE_UNAVAILABLE) {
    snprintf(t->unavailable, sizeof t->unavailable, "%s", raw);
    return;
  }
  /* One case is one line: a newline in the folder name or in a name inside the model must not
   * forge a second (PASS) line, so both are printed escaped. */
  mt_escape_into(raw, false, why, sizeof why);
  mt_escape_into(raw_note, false, note, sizeof note);
  name = mt_esc(name);
  /* keep lines readable: the first 300 characters of a reason are enough to act on */
  if (strlen(why) > 300) strcpy(why + 297, "...");
  if (r == CASE_PASS) {
    t->passed++;
    t->passed_with_note += note[0] != 0;
    printf("PASS %s%s%s%s\n", name, note[0] ? " (" : "", note, note[0] ? ")" : "");
  } else if (r == CASE_FAIL) {
    t->failed++;
    printf("FAIL %s: %s\n", name, why);
  } else {
    t->unsupported++;
    add_reason(t, why);
    printf("UNSUPPORTED %s: %s\n", name, why);
  }
  fflush(stdout);
}

int mt_conformance_main(int argc, char **argv, const char *skip_flag,
                        const mt_conformance_backend *b) {
  int n_dirs = 0;
  for (int i = 0; i < argc; i++) n_dirs += !(skip_flag && strcmp(argv[i], skip_flag) == 0);
  if (n_dirs < 1)
    return mt_cli_fail(MT_ERR(INVALID_ARGUMENT, "conformance: give one or more test case folders"));
  /* A folder with no case in it would report "0 passed, 0 failed" and exit 0: a run in which
   * nothing ran must not read as a pass (a wrong path, an unpacked archive one level deeper). */
  for (int i = 0; i < argc; i++)
    if (strlen(argv[i]) >= PATH_MAX)
      return mt_cli_fail(MT_ERR(INVALID_ARGUMENT,
                                "conformance: path '%.60s...' is %zu characters; the limit is %d",
                                argv[i], strlen(argv[i]), PATH_MAX - 1));
  for (int i = 0; i < argc; i++) {
    char path[CASE_PATH_CAP];
    snprintf(path, sizeof path, "%s/model.onnx", argv[i]);
    if (file_exists(path) || !is_dir(argv[i])) continue;
    char **cases;
    int n = list_dir(argv[i], "", &cases), found = 0;
    for (int k = 0; k < n && !found; k++) {
      snprintf(path, sizeof path, "%s/%s/model.onnx", argv[i], cases[k]);
      found = file_exists(path);
    }
    free_list(cases, n);
    if (!found)
      return mt_cli_fail(MT_ERR(INVALID_ARGUMENT,
                                "conformance: no test cases found under %s (a case is a folder "
                                "holding model.onnx and test_data_set_*)",
                                argv[i]));
  }
  tally t = {0};
  size_t memory_limit = 0; /* 0: each case's module keeps the machine's default */
  double start = mt_cli_now(), last_progress = start;
  for (int i = 0; i < argc && !t.unavailable[0]; i++) {
    mt_status *lst = NULL;
    if (mt_cli_memory_limit_arg("conformance", argc, argv, &i, &memory_limit, &lst)) {
      if (lst) return mt_cli_fail(lst);
      continue;
    }
    if (skip_flag && strcmp(argv[i], skip_flag) == 0) continue;
    char path[CASE_PATH_CAP];
    snprintf(path, sizeof path, "%s/model.onnx", argv[i]);
    if (file_exists(path)) {
      const char *base = strrchr(argv[i], '/');
      run_one(b, argv[i], base && base[1] ? base + 1 : argv[i], memory_limit, &t);
      continue;
    }
    if (!is_dir(argv[i])) {
      printf("FAIL %s: not a test case folder\n", mt_esc(argv[i]));
      t.failed++;
      continue;
    }
    char **cases;
    int n = list_dir(argv[i], "", &cases);
    for (int k = 0; k < n; k++) {
      char dir[CASE_PATH_CAP];
      snprintf(dir, sizeof dir, "%s/%s", argv[i], cases[k]);
      snprintf(path, sizeof path, "%s/%s/model.onnx", argv[i], cases[k]);
      if (file_exists(path)) run_one(b, dir, cases[k], memory_limit, &t);
      if (mt_cli_now() - last_progress > 2.0) {
        last_progress = mt_cli_now();
        fprintf(stderr, "mtcc: conformance: %d/%d cases in %s (%.0f s)\n", k + 1, n,
                mt_esc(argv[i]), last_progress - start);
      }
    }
    free_list(cases, n);
  }
  if (t.n_reasons && !t.unavailable[0]) {
    printf("unsupported because:");
    for (int i = 0; i < t.n_reasons; i++)
      printf("%s %s (%d)", i ? "," : "", t.reasons[i], t.reason_counts[i]);
    printf("\n");
  }
  for (int i = 0; i < t.n_reasons; i++) free(t.reasons[i]);
  free(t.reasons);
  free(t.reason_counts);
  if (t.unavailable[0]) {
    printf("skipped: %s\n", mt_esc(t.unavailable));
    return 77;
  }
  if (b->finish) b->finish(b->self, t.passed, t.passed_with_note);
  printf("conformance: %d passed, %d failed, %d unsupported\n", t.passed, t.failed, t.unsupported);
  return t.failed > 0 ? 1 : 0;
}
