/* --emit-cuda: one readable .cu file per kernel, the dialect header beside them, and a
 * compile_commands.json with the nvcc commands that build the same files outside mtcc. Every file
 * is written to a temporary name and renamed into place. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/cuda_internal.h"

MT_MUST_USE static mt_status *write_atomic(const char *path, const char *text, size_t len) {
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
    return MT_ERR(INVALID_ARGUMENT, "%s: path too long", path);
  int fd = mkstemp(tmp);
  if (fd < 0) return MT_ERR(INVALID_ARGUMENT, "%s: cannot create: %s", path, strerror(errno));
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, text + done, len - done);
    if (w <= 0) break;
    done += (size_t)w;
  }
  if (close(fd) != 0 || done != len || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return MT_ERR(INVALID_ARGUMENT, "%s: write failed: %s", path, strerror(e));
  }
  return NULL;
}

mt_status *mt_cuda_emit_dir(const mt_cuda_program *prog, const char *dir, const char *const *archs,
                            int n_archs) {
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return MT_ERR(INVALID_ARGUMENT, "%s: cannot create directory: %s", dir, strerror(errno));
  struct stat sbuf;
  if (stat(dir, &sbuf) != 0 || !S_ISDIR(sbuf.st_mode))
    return MT_ERR(INVALID_ARGUMENT, "%s: not a directory", dir);
  char path[4096];
  snprintf(path, sizeof path, "%s/mt_cuda.h", dir);
  MT_RETURN_IF_ERROR_PLAIN(
      write_atomic(path, mt_cuda_dialect_header, strlen(mt_cuda_dialect_header)));
  char *abs = realpath(dir, NULL);
  json_t *cmds = json_array();
  mt_status *st = NULL;
  for (int i = 0; !st && i < prog->n_kernels; i++) {
    const mt_cuda_kernel *k = &prog->kernels[i];
    /* kernels of one name share one source (an If's result copies): one file, one command */
    bool seen = false;
    for (int j = 0; j < i && !seen; j++) seen = strcmp(prog->kernels[j].name, k->name) == 0;
    if (seen) continue;
    if (snprintf(path, sizeof path, "%s/%s.cu", dir, k->name) >= (int)sizeof path) {
      st = MT_ERR(INVALID_ARGUMENT, "%s: path too long", dir);
      break;
    }
    st = write_atomic(path, k->source, strlen(k->source));
    for (int a = 0; !st && a < n_archs; a++) {
      char cmd[1024];
      /* --fmad=false: the kernels keep the reference executor's rounding (no FMA contraction). */
      snprintf(cmd, sizeof cmd,
               "nvcc -std=c++17 --fmad=false -I. -I/usr/local/cuda/include -arch=%s -cubin -o "
               "%s.%s.cubin %s.cu",
               archs[a], k->name, archs[a], k->name);
      char file[600];
      snprintf(file, sizeof file, "%s.cu", k->name);
      json_array_append_new(cmds, json_pack("{s:s, s:s, s:s}", "directory", abs ? abs : dir,
                                            "command", cmd, "file", file));
    }
  }
  if (!st) {
    char *text = json_dumps(cmds, JSON_INDENT(2));
    if (!text) {
      st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    } else {
      snprintf(path, sizeof path, "%s/compile_commands.json", dir);
      st = write_atomic(path, text, strlen(text));
      free(text);
    }
  }
  json_decref(cmds);
  free(abs);
  return st;
}
