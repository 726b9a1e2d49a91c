/* Staged output writing for both `mtcc run` paths (the reference executor in cmd_run.c, a bundle
 * through libmtrt in cmd_bundle.c): every file is written into a stage folder DIR.tmp.XXXXXX next
 * to DIR and moved into DIR only once all of them are written, so an error at any point (a failed
 * run, a full disk, an unwritable name) leaves no output file behind and DIR as it was. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "tools/cli.h"

/* Every file and folder this run created, in creation order, so that an error removes them all
 * (in reverse) and leaves nothing behind. */
typedef struct created {
  char **paths;
  int n, cap;
} created;

/* Records path (taking ownership); on failure frees it and reports out of memory. */
MT_MUST_USE static mt_status *created_add(created *c, char *path) {
  if (c->n == c->cap) {
    int cap = c->cap ? c->cap * 2 : 16;
    char **p = realloc(c->paths, (size_t)cap * sizeof *p);
    if (!p) {
      remove(path);
      free(path);
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    }
    c->paths = p;
    c->cap = cap;
  }
  c->paths[c->n++] = path;
  return NULL;
}

/* Removes what was created (remove() takes files and empty folders alike) when undo is set, and
 * frees the list either way. */
static void created_finish(created *c, bool undo) {
  for (int i = c->n; i-- > 0;) {
    if (undo) remove(c->paths[i]);
    free(c->paths[i]);
  }
  free(c->paths);
  memset(c, 0, sizeof *c);
}

/* Writes one tenant's outputs under stage_dir/<tenant>/, recording what it creates. */
MT_MUST_USE static mt_status *write_tenant(const mt_cli_tenant_outputs *t, const char *stage_dir,
                                           const char *dot_ext, created *made) {
  char *tn = mt_cli_sanitize(t->tenant), *dir = NULL;
  if (!tn) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = mt_cli_join_path(stage_dir, tn, "", &dir);
  free(tn);
  if (st) return st;
  if (mkdir(dir, 0777) != 0) {
    st = MT_ERR(INVALID_ARGUMENT, "%s: cannot create folder: %s", dir, strerror(errno));
    free(dir);
    return st;
  }
  MT_RETURN_IF_ERROR_PLAIN(created_add(made, dir));
  for (int i = 0; !st && i < t->n; i++) {
    char *fname = mt_cli_sanitize(t->names[i]), *path = NULL;
    if (!fname) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    st = mt_cli_join_path(dir, fname, dot_ext, &path);
    free(fname);
    if (!st) st = mt_tensor_file_write(path, &t->tensors[i], t->names[i]);
    if (st) {
      free(path);
    } else {
      st = created_add(made, path);
    }
  }
  return st;
}

/* Moves the staged tenant folders into out_dir: a tenant folder not there yet is renamed as a
 * whole, an existing one receives the files one by one (rename replaces a file atomically).
 * Everything that could refuse a rename (a file where a folder goes, a folder where a file goes)
 * is checked before the first rename, so an error leaves out_dir as it was. */
MT_MUST_USE static mt_status *commit_outputs(const mt_cli_tenant_outputs *tenants, int n_tenants,
                                             const char *stage_dir, const char *out_dir,
                                             const char *dot_ext, created *made) {
  for (int pass = 0; pass < 2; pass++) {
    for (int ti = 0; ti < n_tenants; ti++) {
      const mt_cli_tenant_outputs *t = &tenants[ti];
      char *tn = mt_cli_sanitize(t->tenant), *from = NULL, *to = NULL;
      if (!tn) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      mt_status *st = mt_cli_join_path(stage_dir, tn, "", &from);
      if (!st) st = mt_cli_join_path(out_dir, tn, "", &to);
      free(tn);
      struct stat s;
      bool exists = !st && lstat(to, &s) == 0;
      if (!st && exists && !S_ISDIR(s.st_mode))
        st = MT_ERR(INVALID_ARGUMENT, "%s: exists and is not a folder; tenant '%s' writes there",
                    to, t->tenant);
      if (!st && pass == 1 && !exists && rename(from, to) != 0)
        st = MT_ERR(INVALID_ARGUMENT, "%s: cannot move the outputs there: %s", to, strerror(errno));
      for (int i = 0; !st && exists && i < t->n; i++) {
        char *fname = mt_cli_sanitize(t->names[i]), *ffrom = NULL, *fto = NULL;
        if (!fname) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
        if (!st) st = mt_cli_join_path(from, fname, dot_ext, &ffrom);
        if (!st) st = mt_cli_join_path(to, fname, dot_ext, &fto);
        if (!st && pass == 0 && lstat(fto, &s) == 0 && S_ISDIR(s.st_mode))
          st = MT_ERR(INVALID_ARGUMENT, "%s: is a folder; an output of tenant '%s' goes there", fto,
                      t->tenant);
        if (!st && pass == 1 && rename(ffrom, fto) != 0)
          st = MT_ERR(INVALID_ARGUMENT, "%s: cannot move the output there: %s", fto,
                      strerror(errno));
        free(fname);
        free(ffrom);
        free(fto);
      }
      if (!st && pass == 1 && exists) rmdir(from);
      free(from);
      free(to);
      if (st) return st;
    }
  }
  /* the staged files now live under out_dir: nothing left to undo but the stage folder itself */
  for (int i = 0; i < made->n; i++) free(made->paths[i]);
  made->n = 0;
  return NULL;
}

mt_status *mt_cli_write_outputs(const char *out_dir, const char *ext,
                                const mt_cli_tenant_outputs *tenants, int n_tenants) {
  char dot_ext[8];
  snprintf(dot_ext, sizeof dot_ext, ".%s", ext); /* ext is "npy" or "pb" */
  MT_RETURN_IF_ERROR_PLAIN(mt_cli_make_dir(out_dir));
  size_t n = strlen(out_dir);
  while (n > 1 && out_dir[n - 1] == '/') n--;
  char *stage = malloc(n + 16);
  if (!stage) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  snprintf(stage, n + 16, "%.*s.tmp.XXXXXX", (int)n, out_dir);
  if (!mkdtemp(stage)) {
    mt_status *st = MT_ERR(INVALID_ARGUMENT, "%s: cannot create a folder next to it: %s", out_dir,
                           strerror(errno));
    free(stage);
    return st;
  }
  created made = {0};
  mt_status *st = NULL;
  for (int t = 0; !st && t < n_tenants; t++) st = write_tenant(&tenants[t], stage, dot_ext, &made);
  if (!st) st = commit_outputs(tenants, n_tenants, stage, out_dir, dot_ext, &made);
  created_finish(&made, st != NULL);
  rmdir(stage);
  free(stage);
  return st;
}
