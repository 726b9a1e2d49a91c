/* Opening the files a user names (models, manifests, external data, tensor files, arch
 * parameters): regular files only, opened without blocking, and read or mapped in one place.
 *
 * A directory passed as a model makes ftell report 2^63-1, and a FIFO blocks open() or read()
 * forever; both come from ordinary typos, so every path a user controls goes through here. The
 * file is opened with O_NONBLOCK and checked with fstat on the open descriptor (no stat-then-open
 * race), then switched back to blocking reads. */
#ifndef MT_BASE_FILE_H
#define MT_BASE_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/base/status.h"

/* Opens path read-only; refuses anything but a regular file with INVALID_ARGUMENT naming the
 * path, `what` it was meant to be ("model", "manifest", "external data"...) and what it is
 * ("a directory", "a FIFO", "a character device"...). A missing file is NOT_FOUND. On success
 * *out_fd is a blocking descriptor the caller closes and *out_size the file's size. */
MT_MUST_USE mt_status *mt_file_open_regular(const char *path, const char *what, int *out_fd,
                                            size_t *out_size);

/* Reads the whole regular file at path into a malloc'ed buffer (NUL-terminated one byte past
 * *out_len, so text parsers can use it directly); the caller frees it. A file larger than
 * memory_limit bytes (0: no limit) is refused with RESOURCE_EXHAUSTED before anything is
 * allocated. */
MT_MUST_USE mt_status *mt_file_read_all(const char *path, const char *what, size_t memory_limit,
                                        char **out_bytes, size_t *out_len);

/* A read-only private mapping of part of a file. base/length are what munmap needs; data points
 * at the requested offset inside it. */
typedef struct mt_file_mapping {
  void *base;
  size_t length;
  const void *data;
  size_t size;
} mt_file_mapping;

/* Maps size bytes at offset of the regular file at path (read-only, MAP_PRIVATE): the bytes cost
 * address space and page cache, not a heap copy. DATA_LOSS when the file is shorter than
 * offset + size. A size of 0 maps nothing (out->data is then a valid empty pointer). */
MT_MUST_USE mt_status *mt_file_map(const char *path, const char *what, size_t offset, size_t size,
                                   mt_file_mapping *out);
/* Releases a mapping from mt_file_map (a zeroed one is fine). */
void mt_file_unmap(mt_file_mapping *mapping);

#endif
