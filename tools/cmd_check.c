/* mtcc check BUNDLE --inputs DIR --expected DIR [--rtol R] [--atol A] [--junit FILE]: CI
 * regression of a compiled bundle. Inputs are read from DIR/<tenant>/<input>.npy (or .pb), the
 * layout `run` writes outputs in; every output of every tenant is compared with
 * EXPECTED/<tenant>/<output>.npy (or .pb): |got - want| <= atol + rtol * |want| elementwise, dtype
 * and shape equal. Prints a table (worst difference first), optionally JUnit XML (one testcase
 * per output), and exits 0 only when everything matches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "mtrt.h"
#include "runtime/base/escape.h"
#include "runtime/base/memory_limit.h"
#include "tools/cli.h"

typedef struct result {
  const char *tenant, *output;
  char problem[200]; /* empty when it matched */
  double max_abs, max_rel;
  int64_t bad, total;
} result;

static mt_status *from_rt(mtrt_status *st) { return (mt_status *)st; }

/* DIR/<tenant>/<name>.npy, else .pb: the first that exists. */
MT_MUST_USE static mt_status *tensor_path(const char *dir, const char *tenant, const char *name,
                                          char **out) {
  char *tn = mt_cli_sanitize(tenant), *fn = mt_cli_sanitize(name), *sub = NULL;
  mt_status *st = tn && fn ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) st = mt_cli_join_path(dir, tn, "", &sub);
  if (!st) st = mt_cli_join_path(sub, fn, ".npy", out);
  if (!st && access(*out, F_OK) != 0) {
    free(*out);
    *out = NULL;
    st = mt_cli_join_path(sub, fn, ".pb", out);
  }
  free(tn);
  free(fn);
  free(sub);
  return st;
}

static void compare(const mt_tensor *got, const mt_tensor *want, double rtol, double atol,
                    result *r) {
  bool same_shape = got->dtype == want->dtype && got->rank == want->rank;
  for (int d = 0; same_shape && d < got->rank; d++) same_shape = got->dims[d] == want->dims[d];
  if (!same_shape) {
    snprintf(r->problem, sizeof r->problem, "expected %s of rank %d, got %s of rank %d",
             mt_dtype_name(want->dtype), want->rank, mt_dtype_name(got->dtype), got->rank);
    return;
  }
  r->total = mt_tensor_numel(got);
  for (int64_t i = 0; i < r->total; i++) {
    double a = mt_tensor_get_f64(got, i), b = mt_tensor_get_f64(want, i);
    double d = fabs(a - b);
    bool nan_mismatch = isnan(a) != isnan(b);
    if (isnan(a) && isnan(b)) d = 0;
    if (d > r->max_abs || nan_mismatch) r->max_abs = nan_mismatch ? INFINITY : d;
    double rel = b != 0 ? d / fabs(b) : (d > 0 ? INFINITY : 0);
    if (rel > r->max_rel) r->max_rel = rel;
    if (nan_mismatch || d > atol + rtol * fabs(b)) r->bad++;
  }
  if (r->bad)
    snprintf(r->problem, sizeof r->problem, "%lld of %lld elements differ", (long long)r->bad,
             (long long)r->total);
}

static int by_worst(const void *x, const void *y) {
  const result *a = x, *b = y;
  if (!!a->problem[0] != !!b->problem[0]) return b->problem[0] ? 1 : -1;
  return a->max_abs < b->max_abs ? 1 : (a->max_abs > b->max_abs ? -1 : 0);
}

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '<')
      fputs("&lt;", f);
    else if (c == '>')
      fputs("&gt;", f);
    else if (c == '&')
      fputs("&amp;", f);
    else if (c == '"')
      fputs("&quot;", f);
    else if (c < 0x20)
      fprintf(f, "&#%d;", c == '\n' || c == '\t' ? c : '?');
    else
      fputc(c, f);
  }
}

MT_MUST_USE static mt_status *write_junit(const char *path, const char *bundle, const result *r,
                                          int n, int failures) {
  size_t len = strlen(path) + 16;
  char *tmp = malloc(len);
  if (!tmp) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  snprintf(tmp, len, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    free(tmp);
    return MT_ERR(INVALID_ARGUMENT, "--junit %s: cannot create the file", path);
  }
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"");
  xml_text(f, bundle);
  fprintf(f, "\" tests=\"%d\" failures=\"%d\">\n", n, failures);
  for (int i = 0; i < n; i++) {
    fputs("  <testcase classname=\"", f);
    xml_text(f, r[i].tenant);
    fputs("\" name=\"", f);
    xml_text(f, r[i].output);
    fputs("\"", f);
    if (r[i].problem[0]) {
      fputs(">\n    <failure message=\"", f);
      xml_text(f, r[i].problem);
      fprintf(f, "\">max abs diff %g, max rel diff %g</failure>\n  </testcase>\n", r[i].max_abs,
              r[i].max_rel);
    } else {
      fputs("/>\n", f);
    }
  }
  fputs("</testsuite>\n</testsuites>\n", f);
  bool ok = fflush(f) == 0 && !ferror(f);
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    free(tmp);
    return MT_ERR(INVALID_ARGUMENT, "--junit %s: cannot write the file", path);
  }
  free(tmp);
  return NULL;
}

int mt_cmd_check(int argc, char **argv) {
  const char *bundle = NULL, *in_dir = NULL, *exp_dir = NULL, *junit = NULL;
  double rtol = 1e-4, atol = 1e-5;
  mt_status *st = NULL;
  for (int i = 0; !st && i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;
    if (strcmp(a, "--inputs") == 0 && v)
      in_dir = argv[++i];
    else if (strcmp(a, "--expected") == 0 && v)
      exp_dir = argv[++i];
    else if (strcmp(a, "--junit") == 0 && v)
      junit = argv[++i];
    else if ((strcmp(a, "--rtol") == 0 || strcmp(a, "--atol") == 0) && v) {
      double x = strtod(v, &end);
      if (!*v || *end || !(x >= 0) || isinf(x))
        st = MT_ERR(INVALID_ARGUMENT, "check: %s needs a non-negative number, not '%s'", a, v);
      else if (a[2] == 'r')
        rtol = x;
      else
        atol = x;
      i++;
    } else if (a[0] == '-')
      st = MT_ERR(INVALID_ARGUMENT, "check: unknown or incomplete option '%s'", a);
    else if (bundle)
      st = MT_ERR(INVALID_ARGUMENT, "check: one bundle only ('%s' and '%s')", bundle, a);
    else
      bundle = a;
  }
  if (!st && (!bundle || !in_dir || !exp_dir))
    st = MT_ERR(INVALID_ARGUMENT, "check: usage: mtcc check BUNDLE --inputs DIR --expected DIR");
  if (st) return mt_cli_fail(st);
  size_t limit = mt_memory_limit_default();
  mtrt_bundle *b = NULL;
  mtrt_session *s = NULL;
  st = from_rt(mtrt_bundle_open(bundle, NULL, &b));
  if (!st) st = from_rt(mtrt_session_create(b, NULL, &s));
  int nt = b ? mtrt_bundle_tenant_count(b) : 0, n_out = 0;
  for (int t = 0; t < nt; t++) n_out += mtrt_bundle_output_count(b, t);
  mt_tensor *ins = NULL, *outs = NULL;
  int n_in = 0;
  result *res = calloc((size_t)n_out + 1, sizeof *res);
  outs = calloc((size_t)n_out + 1, sizeof *outs);
  for (int t = 0; t < nt; t++) n_in += mtrt_bundle_input_count(b, t);
  ins = calloc((size_t)n_in + 1, sizeof *ins);
  if (!st && (!res || !outs || !ins)) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  int k_in = 0, k_out = 0;
  for (int t = 0; !st && t < nt; t++) {
    const char *tn = mtrt_bundle_tenant_name(b, t);
    for (int i = 0; !st && i < mtrt_bundle_input_count(b, t); i++) {
      mtrt_port_info pi;
      char *path = NULL;
      st = from_rt(mtrt_bundle_input_info(b, t, i, &pi));
      if (!st) st = tensor_path(in_dir, tn, pi.name, &path);
      if (!st) st = mt_tensor_file_read_limited(path, limit, &ins[k_in], NULL);
      if (!st && (mt_tensor_nbytes(&ins[k_in]) != pi.nbytes || (int)ins[k_in].dtype != pi.dtype))
        st = MT_ERR(INVALID_ARGUMENT, "%s: tenant '%s' input '%s' takes %s of %zu bytes", path, tn,
                    pi.name, mt_dtype_name((mt_dtype)pi.dtype), pi.nbytes);
      if (!st) st = from_rt(mtrt_session_bind_input(s, t, pi.name, ins[k_in].data, pi.nbytes));
      k_in++;
      free(path);
    }
    for (int i = 0; !st && i < mtrt_bundle_output_count(b, t); i++) {
      mtrt_port_info pi;
      st = from_rt(mtrt_bundle_output_info(b, t, i, &pi));
      if (st) break;
      mt_tensor *o = &outs[k_out];
      o->dtype = (mt_dtype)pi.dtype;
      o->rank = pi.rank;
      for (int d = 0; d < pi.rank; d++) o->dims[d] = pi.dims[d];
      o->data = malloc(pi.nbytes ? pi.nbytes : 1);
      if (!o->data) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      if (!st) st = from_rt(mtrt_session_bind_output(s, t, pi.name, o->data, pi.nbytes));
      res[k_out].tenant = tn;
      res[k_out].output = pi.name;
      k_out++;
    }
  }
  if (!st) st = from_rt(mtrt_session_run(s, -1));
  int failures = 0;
  for (int i = 0; !st && i < n_out; i++) {
    char *path = NULL;
    mt_tensor want = {0};
    st = tensor_path(exp_dir, res[i].tenant, res[i].output, &path);
    if (!st) st = mt_tensor_file_read_limited(path, limit, &want, NULL);
    if (!st) compare(&outs[i], &want, rtol, atol, &res[i]);
    failures += res[i].problem[0] != 0;
    free(want.data);
    free(path);
  }
  if (!st) {
    qsort(res, (size_t)n_out, sizeof *res, by_worst);
    printf("%-20s %-28s %12s %12s %s\n", "tenant", "output", "max abs", "max rel", "result");
    for (int i = 0; i < n_out; i++)
      printf("%-20s %-28s %12.4g %12.4g %s\n", mt_esc(res[i].tenant), mt_esc(res[i].output),
             res[i].max_abs, res[i].max_rel, res[i].problem[0] ? mt_esc(res[i].problem) : "ok");
    printf("%d of %d outputs match (rtol %g, atol %g)\n", n_out - failures, n_out, rtol, atol);
  }
  if (!st && junit) st = write_junit(junit, bundle, res, n_out, failures);
  if (!st && failures)
    st = MT_ERR(INVALID_ARGUMENT, "check: %d of %d outputs differ from %s", failures, n_out,
                exp_dir);
  for (int i = 0; ins && i < n_in; i++) free(ins[i].data);
  for (int i = 0; outs && i < n_out; i++) free(outs[i].data);
  free(ins);
  free(outs);
  free(res);
  mtrt_session_destroy(s);
  mtrt_bundle_close(b);
  return st ? mt_cli_fail(st) : 0;
}
