/* Links the CPU backend's ELF object into the shared object a bundle carries: the system C
 * compiler driver as linker (`cc -shared -nostdlib`), run through posix_spawn in a private
 * temporary folder. Deterministic: no build id, fixed file names, a fixed soname, and the same
 * libraries in the same order, so the same object gives the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/cpu/cpu.h"

extern char **environ;

MT_MUST_USE static mt_status *write_file(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return MT_ERR(UNAVAILABLE, "CPU link: cannot create %s: %s", path, strerror(errno));
  size_t done = fwrite(data, 1, size, f);
  int bad = fclose(f) != 0 || done != size;
  if (bad) return MT_ERR(UNAVAILABLE, "CPU link: cannot write %s", path);
  return NULL;
}

MT_MUST_USE static mt_status *read_file(const char *path, uint8_t **out, size_t *out_size) {
  FILE *f = fopen(path, "rb");
  if (!f) return MT_ERR(INTERNAL, "CPU link: the linker wrote no %s", path);
  struct stat stt;
  if (fstat(fileno(f), &stt) != 0 || stt.st_size <= 0) {
    fclose(f);
    return MT_ERR(INTERNAL, "CPU link: %s is empty", path);
  }
  size_t n = (size_t)stt.st_size;
  uint8_t *buf = malloc(n);
  if (!buf) {
    fclose(f);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  size_t got = fread(buf, 1, n, f);
  fclose(f);
  if (got != n) {
    free(buf);
    return MT_ERR(INTERNAL, "CPU link: short read of %s", path);
  }
  *out = buf;
  *out_size = n;
  return NULL;
}

/* Runs argv, its output to log; a status naming the linker when it fails. */
MT_MUST_USE static mt_status *run(char *const *argv, const char *log) {
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa) != 0) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return MT_ERR(UNAVAILABLE, "CPU link: cannot run '%s': %s (set MTCC_CPU_LINKER)", argv[0],
                  strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return MT_ERR(INTERNAL, "CPU link: waitpid: %s", strerror(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return NULL;
  char msg[300] = "";
  FILE *f = fopen(log, "r");
  if (f) {
    size_t n = fread(msg, 1, sizeof msg - 1, f);
    msg[n] = 0;
    fclose(f);
    for (char *p = msg; *p; p++)
      if (*p == '\n') *p = ' ';
  }
  return MT_ERR(INTERNAL, "CPU link: '%s' failed: %s", argv[0], msg);
}

mt_status *mt_cpu_link_shared(const uint8_t *object, size_t size, bool blas, uint8_t **out,
                              size_t *out_size) {
  const char *tmpdir = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/mtcc-cpu-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(dir))
    return MT_ERR(UNAVAILABLE, "CPU link: cannot create a folder in %s: %s",
                  tmpdir && *tmpdir ? tmpdir : "/tmp", strerror(errno));
  char obj[4200], so[4200], log[4200];
  snprintf(obj, sizeof obj, "%s/kernels.o", dir);
  snprintf(so, sizeof so, "%s/kernels.so", dir);
  snprintf(log, sizeof log, "%s/link.log", dir);
  mt_status *st = write_file(obj, object, size);
  if (!st) {
    const char *linker = getenv("MTCC_CPU_LINKER");
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)(linker && *linker ? linker : "cc");
    argv[n++] = "-shared";
    argv[n++] = "-nostdlib";
    argv[n++] = "-Wl,--build-id=none";
    argv[n++] = "-Wl,-soname,mtcc_cpu_kernels.so";
    argv[n++] = "-Wl,-z,noexecstack";
    argv[n++] = "-o";
    argv[n++] = so;
    argv[n++] = obj;
#if defined(MTCC_DNNL_LIBRARY)
    if (blas) argv[n++] = MTCC_DNNL_LIBRARY;
    if (blas) argv[n++] = MTCC_GOMP_LIBRARY; /* omp_set_num_threads (cpu_llvm.c) */
#elif defined(MTCC_OPENBLAS_LIBRARY)
    if (blas) argv[n++] = MTCC_OPENBLAS_LIBRARY;
#else
    (void)blas;
#endif
    argv[n++] = "-lm";
    argv[n++] = "-lc";
    argv[n] = NULL;
    st = run(argv, log);
  }
  if (!st) st = read_file(so, out, out_size);
  unlink(obj);
  unlink(so);
  unlink(log);
  rmdir(dir);
  return st;
}
