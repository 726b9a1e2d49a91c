/* emu_jit_load: compile a dialect kernel source with the host C++ compiler into a shared object that
 * exports each named kernel through EMU_EXPORT_KERNEL, and load it. This is how tests run kernels that
 * the code generator writes at test time. The object's undefined emu_* symbols resolve against this
 * library, already loaded in the process. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_internal.h"

#ifndef EMU_DEFAULT_CXX
#define EMU_DEFAULT_CXX "c++"
#endif
#ifndef EMU_DEFAULT_INCLUDE_DIR
#define EMU_DEFAULT_INCLUDE_DIR "."
#endif

struct emu_module {
  void *handle;
  size_t n;
  char **names;
  emu_kernel_fn *fns;
};

/* Append s to buf in single quotes for /bin/sh. Returns -1 when buf is too small. */
static int append_quoted(char *buf, size_t cap, const char *s) {
  size_t len = strlen(buf);
  if (len + 1 >= cap) return -1;
  buf[len++] = '\'';
  for (; *s; s++) {
    const char *piece = *s == '\'' ? "'\\''" : NULL;
    size_t pl = piece ? 4 : 1;
    if (len + pl + 2 >= cap) return -1;
    if (piece)
      memcpy(buf + len, piece, pl);
    else
      buf[len] = *s;
    len += pl;
  }
  buf[len++] = '\'';
  buf[len] = '\0';
  return 0;
}

static int append(char *buf, size_t cap, const char *s) {
  size_t len = strlen(buf), sl = strlen(s);
  if (len + sl + 1 >= cap) return -1;
  memcpy(buf + len, s, sl + 1);
  return 0;
}

static int valid_identifier(const char *s) {
  if (!*s || (*s >= '0' && *s <= '9')) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return 0;
  return 1;
}

void emu_module_free(emu_module *m) {
  if (!m) return;
  if (m->handle) dlclose(m->handle);
  for (size_t i = 0; i < m->n; i++) free(m->names[i]);
  free(m->names);
  free(m->fns);
  free(m);
}

emu_kernel_fn emu_module_kernel(const emu_module *m, const char *name) {
  for (size_t i = 0; m && i < m->n; i++)
    if (strcmp(m->names[i], name) == 0) return m->fns[i];
  return NULL;
}

static void cleanup_dir(const char *dir, const char *wrap, const char *so) {
  unlink(wrap);
  unlink(so);
  rmdir(dir);
}

int emu_jit_load(const char *source_path, const char *const *kernels, size_t n_kernels,
                 const char *extra_flags, emu_module **out) {
  *out = NULL;
  char src[PATH_MAX];
  if (!realpath(source_path, src))
    return emu_set_error(EMU_ERR_ARG, "emu_jit_load: cannot open %s", source_path);
  for (size_t i = 0; i < n_kernels; i++)
    if (!valid_identifier(kernels[i]))
      return emu_set_error(EMU_ERR_ARG, "emu_jit_load: `%s` is not a kernel name", kernels[i]);
  const char *tmp = getenv("TMPDIR");
  char dir[PATH_MAX], wrap[PATH_MAX + 16], so[PATH_MAX + 16];
  snprintf(dir, sizeof dir, "%s/emu_jit_XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir))
    return emu_set_error(EMU_ERR_INTERNAL, "emu_jit_load: cannot create a folder in %s", dir);
  snprintf(wrap, sizeof wrap, "%s/wrap.cpp", dir);
  snprintf(so, sizeof so, "%s/kernels.so", dir);
  FILE *f = fopen(wrap, "w");
  if (!f) {
    cleanup_dir(dir, wrap, so);
    return emu_set_error(EMU_ERR_INTERNAL, "emu_jit_load: cannot write %s", wrap);
  }
  fprintf(f, "#include \"%s\"\n", src);
  for (size_t i = 0; i < n_kernels; i++) fprintf(f, "EMU_EXPORT_KERNEL(%s)\n", kernels[i]);
  fclose(f);

  const char *cxx = getenv("EMU_CXX");
  const char *inc = getenv("EMU_INCLUDE_DIR");
  char cmd[8192] = "";
  int bad = append_quoted(cmd, sizeof cmd, cxx && *cxx ? cxx : EMU_DEFAULT_CXX);
  bad |= append(cmd, sizeof cmd,
                " -x c++ -std=c++17 -O1 -g -fPIC -shared -Wall -Wno-unknown-pragmas -I");
  bad |= append_quoted(cmd, sizeof cmd, inc && *inc ? inc : EMU_DEFAULT_INCLUDE_DIR);
  if (extra_flags) {
    bad |= append(cmd, sizeof cmd, " ");
    bad |= append(cmd, sizeof cmd, extra_flags);
  }
  bad |= append(cmd, sizeof cmd, " -o ");
  bad |= append_quoted(cmd, sizeof cmd, so);
  bad |= append(cmd, sizeof cmd, " ");
  bad |= append_quoted(cmd, sizeof cmd, wrap);
  bad |= append(cmd, sizeof cmd, " 2>&1");
  if (bad) {
    cleanup_dir(dir, wrap, so);
    return emu_set_error(EMU_ERR_ARG, "emu_jit_load: command line too long");
  }
  FILE *pipe = popen(cmd, "r");
  if (!pipe) {
    cleanup_dir(dir, wrap, so);
    return emu_set_error(EMU_ERR_INTERNAL, "emu_jit_load: cannot run the compiler");
  }
  char log[3072];
  size_t got = fread(log, 1, sizeof log - 1, pipe);
  log[got] = '\0';
  char sink[4096];
  while (fread(sink, 1, sizeof sink, pipe) > 0) {}
  int status = pclose(pipe);
  if (status != 0) {
    cleanup_dir(dir, wrap, so);
    return emu_set_error(EMU_ERR_COMPILE, "emu_jit_load: compiling %s failed (exit %d):\n%s", src,
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
  }
  void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  cleanup_dir(dir, wrap, so); /* the mapping stays valid after the files are gone */
  if (!h) return emu_set_error(EMU_ERR_INTERNAL, "emu_jit_load: dlopen: %s", dlerror());
  emu_module *m = calloc(1, sizeof *m);
  if (m) {
    m->handle = h;
    m->names = calloc(n_kernels ? n_kernels : 1, sizeof *m->names);
    m->fns = calloc(n_kernels ? n_kernels : 1, sizeof *m->fns);
  }
  if (!m || !m->names || !m->fns) {
    if (m)
      emu_module_free(m);
    else
      dlclose(h);
    return emu_set_error(EMU_ERR_INTERNAL, "emu_jit_load: out of memory");
  }
  for (size_t i = 0; i < n_kernels; i++) {
    char sym[256];
    snprintf(sym, sizeof sym, "emu_kernel_%s", kernels[i]);
    void *fn = dlsym(h, sym);
    m->names[i] = strdup(kernels[i]);
    m->n = i + 1;
    if (!fn || !m->names[i]) {
      emu_module_free(m);
      return emu_set_error(EMU_ERR_ARG, "emu_jit_load: %s does not define kernel `%s`", src,
                           kernels[i]);
    }
    /* POSIX guarantees a data pointer from dlsym converts to a function pointer. */
    memcpy(&m->fns[i], &fn, sizeof fn);
  }
  *out = m;
  return EMU_OK;
}
