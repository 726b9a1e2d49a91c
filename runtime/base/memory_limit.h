/* The memory budget: how many bytes mtcc lets a file make it allocate.
 *
 * Sizes in models, manifests and tensor files are chosen by whoever wrote the file; a tiny model
 * can declare a 2^36-element initializer or a Range of 1e12 elements. Every allocation whose size
 * a file controls is checked against the budget first, so such inputs fail with an error that
 * names the tensor and the size instead of exhausting the machine (or, under ASan, aborting). */
#ifndef MT_BASE_MEMORY_LIMIT_H
#define MT_BASE_MEMORY_LIMIT_H

#include <stdbool.h>
#include <stddef.h>

/* The default budget: half of the machine's physical memory (sysconf _SC_PHYS_PAGES *
 * _SC_PAGE_SIZE), lowered to RLIMIT_AS / RLIMIT_DATA when those are set lower; 4 GiB when
 * the machine does not say. Half, because a compile holds a model's weights next to what shape
 * inference and folding compute from them. */
size_t mt_memory_limit_default(void);

/* Parses a size for --memory-limit: a positive integer with an optional suffix K, M, G or T
 * (powers of 1024; "KB"/"KiB" spellings and lower case accepted). Returns false on anything
 * else, zero included, or on overflow. */
bool mt_memory_limit_parse(const char *text, size_t *out_bytes);

/* "8.0 TB", "512.0 MB", "17 bytes": for messages; writes into buf and returns it. */
const char *mt_format_bytes(double bytes, char *buf, size_t cap);

#endif
