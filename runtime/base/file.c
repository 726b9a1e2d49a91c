/* Regular-file checks, whole-file reads and read-only mappings (see file.h). */
#include "runtime/base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/memory_limit.h"

static const char *file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

mt_status *mt_file_open_regular(const char *path, const char *what, int *out_fd, size_t *out_size) {
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    return mt_status_make(e == ENOENT ? MT_NOT_FOUND : MT_INVALID_ARGUMENT,
                          "%s: cannot open %s: %s", path, what, strerror(e));
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    mt_status *st = MT_ERR(INVALID_ARGUMENT, "%s: cannot stat %s: %s", path, what, strerror(errno));
    close(fd);
    return st;
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return MT_ERR(INVALID_ARGUMENT, "%s: the %s is %s, not a regular file", path, what,
                  file_kind(sb.st_mode));
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    mt_status *st = MT_ERR(INVALID_ARGUMENT, "%s: %s: %s", path, what, strerror(errno));
    close(fd);
    return st;
  }
  if (sb.st_size < 0) {
    close(fd);
    return MT_ERR(DATA_LOSS, "%s: the %s reports a negative size", path, what);
  }
  *out_fd = fd;
  *out_size = (size_t)sb.st_size;
  return NULL;
}

mt_status *mt_file_read_all(const char *path, const char *what, size_t memory_limit,
                            char **out_bytes, size_t *out_len) {
  int fd;
  size_t size;
  MT_RETURN_IF_ERROR_PLAIN(mt_file_open_regular(path, what, &fd, &size));
  if (memory_limit && size > memory_limit) {
    char need[32], lim[32];
    close(fd);
    return MT_ERR(RESOURCE_EXHAUSTED, "%s: the %s holds %s, over the memory limit of %s", path,
                  what, mt_format_bytes(size, need, sizeof need),
                  mt_format_bytes(memory_limit, lim, sizeof lim));
  }
  char *buf = size == SIZE_MAX ? NULL : malloc(size + 1);
  if (!buf) {
    close(fd);
    return MT_ERR(RESOURCE_EXHAUSTED, "%s: out of memory reading the %s (%zu bytes)", path, what,
                  size);
  }
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break; /* the file shrank while we read it, or an I/O error */
    got += (size_t)r;
  }
  close(fd);
  if (got != size) {
    free(buf);
    return MT_ERR(DATA_LOSS, "%s: read of the %s failed after %zu of %zu bytes", path, what, got,
                  size);
  }
  buf[size] = 0;
  *out_bytes = buf;
  *out_len = size;
  return NULL;
}

mt_status *mt_file_map(const char *path, const char *what, size_t offset, size_t size,
                       mt_file_mapping *out) {
  memset(out, 0, sizeof *out);
  int fd;
  size_t file_size;
  MT_RETURN_IF_ERROR_PLAIN(mt_file_open_regular(path, what, &fd, &file_size));
  if (offset > file_size || size > file_size - offset) {
    close(fd);
    return MT_ERR(DATA_LOSS, "%s: the %s holds %zu bytes, shorter than offset %zu + %zu bytes",
                  path, what, file_size, offset, size);
  }
  if (size == 0) {
    close(fd);
    out->data = "";
    return NULL;
  }
  long page = sysconf(_SC_PAGESIZE);
  size_t align = page > 0 ? (size_t)page : 4096;
  size_t start = offset - offset % align;
  size_t length = size + (offset - start);
  void *base = mmap(NULL, length, PROT_READ, MAP_PRIVATE, fd, (off_t)start);
  int e = errno;
  close(fd); /* the mapping keeps the file alive */
  if (base == MAP_FAILED)
    return MT_ERR(RESOURCE_EXHAUSTED, "%s: cannot map %zu bytes of the %s: %s", path, size, what,
                  strerror(e));
  out->base = base;
  out->length = length;
  out->data = (const char *)base + (offset - start);
  out->size = size;
  return NULL;
}

void mt_file_unmap(mt_file_mapping *mapping) {
  if (mapping->base) munmap(mapping->base, mapping->length);
  memset(mapping, 0, sizeof *mapping);
}
