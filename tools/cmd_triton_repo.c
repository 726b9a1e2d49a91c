/* mtcc triton-repo BUNDLE DIR: a ready Triton Inference Server model repository for a bundle.
 * Every tenant becomes one model (DIR/<tenant>/config.pbtxt and an empty version folder 1/)
 * served by the "mtrt" backend (serving/triton); the bundle is copied once, to DIR/<bundle file>,
 * which Triton ignores (it loads folders only) and every config references as "../<file>". The
 * repository is built in a stage folder next to DIR and renamed into place at the end, so an
 * error leaves no half-written repository. --cpu-threads N sets every model's cpu_threads
 * parameter: the shared session's worker threads (mtrt_session_options.cpu_threads). */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtrt.h"
#include "runtime/base/escape.h"
#include "tools/cli.h"

static mt_status *from_rt(mtrt_status *st) { return (mt_status *)st; }

/* Triton's config spelling of an ONNX element type, or NULL when Triton has none for it here. */
static const char *triton_type(int onnx_dtype) {
  switch (onnx_dtype) {
  case 1: return "TYPE_FP32";
  case 2: return "TYPE_UINT8";
  case 3: return "TYPE_INT8";
  case 4: return "TYPE_UINT16";
  case 5: return "TYPE_INT16";
  case 6: return "TYPE_INT32";
  case 7: return "TYPE_INT64";
  case 9: return "TYPE_BOOL";
  case 10: return "TYPE_FP16";
  case 11: return "TYPE_FP64";
  case 12: return "TYPE_UINT32";
  case 13: return "TYPE_UINT64";
  default: return NULL;
  }
}

/* A protobuf text-format string literal: quotes, backslashes and bytes outside printable ASCII
 * escaped (octal), so any tenant or tensor name round-trips. */
static void put_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f)
      fprintf(f, "\\%03o", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

MT_MUST_USE static mt_status *write_ports(FILE *f, const mtrt_bundle *b, int t, bool out) {
  int n = out ? mtrt_bundle_output_count(b, t) : mtrt_bundle_input_count(b, t);
  fprintf(f, "%s [\n", out ? "output" : "input");
  for (int i = 0; i < n; i++) {
    mtrt_port_info pi;
    MT_RETURN_IF_ERROR_PLAIN(from_rt(out ? mtrt_bundle_output_info(b, t, i, &pi)
                                         : mtrt_bundle_input_info(b, t, i, &pi)));
    const char *type = triton_type(pi.dtype);
    if (!type)
      return MT_ERR(UNIMPLEMENTED, "tenant '%s' %s '%s': ONNX dtype %d has no Triton type here",
                    mtrt_bundle_tenant_name(b, t), out ? "output" : "input", pi.name, pi.dtype);
    fprintf(f, "  {\n    name: ");
    put_string(f, pi.name);
    fprintf(f, "\n    data_type: %s\n    dims: [ ", type);
    /* Triton wants at least one dim: a scalar is [ 1 ] reshaped to [ ] for the backend. */
    for (int d = 0; d < pi.rank; d++) fprintf(f, "%s%lld", d ? ", " : "", (long long)pi.dims[d]);
    fprintf(f, "%s ]\n%s  }%s\n", pi.rank ? "" : "1",
            pi.rank ? "" : "    reshape: { shape: [ ] }\n", i + 1 < n ? "," : "");
  }
  fprintf(f, "]\n");
  return NULL;
}

MT_MUST_USE static mt_status *write_config(const char *path, const mtrt_bundle *b, int t,
                                           const char *model, const char *bundle_file,
                                           int cpu_threads) {
  FILE *f = fopen(path, "w");
  if (!f) return MT_ERR(INVALID_ARGUMENT, "%s: cannot create: %s", path, strerror(errno));
  fprintf(f, "# Written by `mtcc triton-repo` (bundle built by mtcc %s): tenant ",
          mtrt_bundle_mtcc_version(b));
  put_string(f, mtrt_bundle_tenant_name(b, t));
  fprintf(f, ".\n# Served by libtriton_mtrt.so; every tenant of the bundle shares one libmtrt "
             "session per device.\nname: ");
  put_string(f, model);
  fprintf(f, "\nbackend: \"mtrt\"\nmax_batch_size: 0\n");
  mt_status *st = write_ports(f, b, t, false);
  if (!st) st = write_ports(f, b, t, true);
  if (!st) {
    fprintf(f, "instance_group [ { kind: KIND_CPU, count: 1 } ]\n"
               "parameters { key: \"bundle\", value: { string_value: ");
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "../%s", bundle_file);
    put_string(f, rel);
    fprintf(f, " } }\nparameters { key: \"tenant\", value: { string_value: ");
    put_string(f, mtrt_bundle_tenant_name(b, t));
    fprintf(f, " } }\n");
    if (cpu_threads)
      fprintf(f, "parameters { key: \"cpu_threads\", value: { string_value: \"%d\" } }\n",
              cpu_threads);
  }
  if (ferror(f) && !st) st = MT_ERR(INVALID_ARGUMENT, "%s: cannot write", path);
  if (fclose(f) != 0 && !st)
    st = MT_ERR(INVALID_ARGUMENT, "%s: cannot write: %s", path, strerror(errno));
  return st;
}

MT_MUST_USE static mt_status *copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb");
  if (!in) return MT_ERR(NOT_FOUND, "%s: cannot open: %s", from, strerror(errno));
  FILE *out = fopen(to, "wb");
  mt_status *st =
      out ? NULL : MT_ERR(INVALID_ARGUMENT, "%s: cannot create: %s", to, strerror(errno));
  char buf[1 << 16];
  size_t n;
  while (!st && (n = fread(buf, 1, sizeof buf, in)) > 0)
    if (fwrite(buf, 1, n, out) != n)
      st = MT_ERR(INVALID_ARGUMENT, "%s: cannot write: %s", to, strerror(errno));
  if (!st && ferror(in)) st = MT_ERR(DATA_LOSS, "%s: cannot read: %s", from, strerror(errno));
  fclose(in);
  if (out && fclose(out) != 0 && !st)
    st = MT_ERR(INVALID_ARGUMENT, "%s: cannot write: %s", to, strerror(errno));
  return st;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(path);
}

static bool empty_dir(const char *path) {
  DIR *d = opendir(path);
  if (!d) return false;
  struct dirent *e;
  bool empty = true;
  while (empty && (e = readdir(d)))
    empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  return empty;
}

/* Writes every tenant's model folder into stage. */
MT_MUST_USE static mt_status *fill_stage(const mtrt_bundle *b, const char *bundle_path,
                                         const char *stage, int cpu_threads) {
  const char *base = strrchr(bundle_path, '/');
  base = base ? base + 1 : bundle_path;
  char *bundle_file = mt_cli_sanitize(base), *dst = NULL;
  if (!bundle_file) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = mt_cli_join_path(stage, bundle_file, "", &dst);
  if (!st) st = copy_file(bundle_path, dst);
  free(dst);
  int nt = mtrt_bundle_tenant_count(b);
  for (int t = 0; !st && t < nt; t++) {
    char *model = mt_cli_sanitize(mtrt_bundle_tenant_name(b, t)), *dir = NULL, *path = NULL;
    if (!model) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (int u = 0; !st && u < t; u++) {
      char *other = mt_cli_sanitize(mtrt_bundle_tenant_name(b, u));
      if (other && strcmp(other, model) == 0)
        st = MT_ERR(INVALID_ARGUMENT,
                    "tenants '%s' and '%s' would both be Triton model '%s' (names are made "
                    "file-name safe); rename one in the manifest",
                    mtrt_bundle_tenant_name(b, u), mtrt_bundle_tenant_name(b, t), model);
      free(other);
    }
    if (!st && strcmp(model, bundle_file) == 0)
      st = MT_ERR(INVALID_ARGUMENT, "tenant '%s' has the bundle file's name '%s'",
                  mtrt_bundle_tenant_name(b, t), bundle_file);
    if (!st) st = mt_cli_join_path(stage, model, "/1", &dir);
    if (!st) st = mt_cli_make_dir(dir);
    if (!st) st = mt_cli_join_path(stage, model, "/config.pbtxt", &path);
    if (!st) st = write_config(path, b, t, model, bundle_file, cpu_threads);
    free(model);
    free(dir);
    free(path);
  }
  free(bundle_file);
  return st;
}

int mt_cmd_triton_repo(int argc, char **argv) {
  const char *bundle_path = NULL, *out_dir = NULL;
  int cpu_threads = 0;
  mt_status *st = NULL;
  for (int i = 0; !st && i < argc; i++) {
    if (strcmp(argv[i], "--cpu-threads") == 0 && i + 1 < argc) {
      char *end = NULL;
      long v = strtol(argv[++i], &end, 10);
      if (end == argv[i] || *end || v < 1 || v > 256)
        st = MT_ERR(INVALID_ARGUMENT, "--cpu-threads must be a count from 1 to 256, not '%s'",
                    argv[i]);
      cpu_threads = (int)v;
    } else if (argv[i][0] == '-')
      st = MT_ERR(INVALID_ARGUMENT, "triton-repo: unknown option '%s'", argv[i]);
    else if (!bundle_path)
      bundle_path = argv[i];
    else if (!out_dir)
      out_dir = argv[i];
    else
      st = MT_ERR(INVALID_ARGUMENT, "triton-repo: unexpected argument '%s'", argv[i]);
  }
  if (!st && (!bundle_path || !out_dir))
    st = MT_ERR(INVALID_ARGUMENT, "usage: mtcc triton-repo BUNDLE.mtbundle DIR [--cpu-threads N]");
  mtrt_bundle *b = NULL;
  if (!st) st = from_rt(mtrt_bundle_open(bundle_path, NULL, &b));
  /* DIR may be missing or an empty folder; anything else is never overwritten. */
  struct stat sb;
  bool exists = !st && stat(out_dir, &sb) == 0;
  if (exists && !S_ISDIR(sb.st_mode))
    st = MT_ERR(INVALID_ARGUMENT, "triton-repo: %s exists and is not a folder", out_dir);
  if (exists && !st && !empty_dir(out_dir))
    st = MT_ERR(INVALID_ARGUMENT,
                "triton-repo: %s exists and is not empty; remove it or pick a new folder", out_dir);
  char *stage = NULL;
  if (!st) {
    size_t n = strlen(out_dir);
    while (n > 1 && out_dir[n - 1] == '/') n--;
    if (n + 16 >= PATH_MAX) st = MT_ERR(INVALID_ARGUMENT, "triton-repo: %s is too long", out_dir);
    if (!st) {
      stage = malloc(n + 16);
      if (stage)
        snprintf(stage, n + 16, "%.*s.tmp.XXXXXX", (int)n, out_dir);
      else
        st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    }
    if (!st && !mkdtemp(stage)) {
      st = MT_ERR(INVALID_ARGUMENT, "triton-repo: cannot create a folder next to %s: %s", out_dir,
                  strerror(errno));
      free(stage);
      stage = NULL;
    }
  }
  if (!st) st = fill_stage(b, bundle_path, stage, cpu_threads);
  if (!st && chmod(stage, 0755) != 0)
    st = MT_ERR(INVALID_ARGUMENT, "%s: cannot chmod: %s", stage, strerror(errno));
  if (!st && exists && rmdir(out_dir) != 0)
    st = MT_ERR(INVALID_ARGUMENT, "triton-repo: cannot replace the empty folder %s: %s", out_dir,
                strerror(errno));
  if (!st && rename(stage, out_dir) != 0)
    st = MT_ERR(INVALID_ARGUMENT, "triton-repo: cannot move %s to %s: %s", stage, out_dir,
                strerror(errno));
  if (st && stage) nftw(stage, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (!st)
    printf("triton-repo: %d model(s) in %s (backend \"mtrt\"; start tritonserver with "
           "--model-repository %s and --backend-directory holding mtrt/libtriton_mtrt.so)\n",
           mtrt_bundle_tenant_count(b), mt_esc(out_dir), mt_esc(out_dir));
  free(stage);
  mtrt_bundle_close(b);
  return st ? mt_cli_fail(st) : 0;
}
