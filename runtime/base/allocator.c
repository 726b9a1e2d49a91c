/* Allocation through an mt_allocator, with the system allocator behind NULL. */
#include "runtime/base/allocator.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/checked_math.h"

void *mt_allocator_realloc(const mt_allocator *a, void *ptr, size_t size) {
  if (size == 0) size = 1;
  if (!a) return realloc(ptr, size);
  return a->resize(a->self, ptr, size);
}

void *mt_allocator_malloc(const mt_allocator *a, size_t size) {
  return mt_allocator_realloc(a, NULL, size);
}

void *mt_allocator_calloc(const mt_allocator *a, size_t count, size_t size) {
  size_t n;
  if (!mt_mul_size(count, size, &n)) return NULL;
  void *p = mt_allocator_malloc(a, n);
  if (p) memset(p, 0, n ? n : 1);
  return p;
}

void mt_allocator_free(const mt_allocator *a, void *ptr) {
  if (!ptr) return;
  if (!a)
    free(ptr);
  else
    a->release(a->self, ptr);
}

/* The block starts with the pointer the allocator returned, stored just below the aligned
 * address, so any allocator (not only one that aligns) can serve aligned requests. */
void *mt_allocator_malloc_aligned(const mt_allocator *a, size_t size, size_t align) {
  if (align < sizeof(void *) || (align & (align - 1)) != 0 || align > 4096) return NULL;
  size_t total;
  if (!mt_add_size(size, align + sizeof(void *), &total)) return NULL;
  unsigned char *raw = mt_allocator_malloc(a, total);
  if (!raw) return NULL;
  uintptr_t start = (uintptr_t)(raw + sizeof(void *));
  uintptr_t aligned = (start + (align - 1)) & ~(uintptr_t)(align - 1);
  memcpy((void *)(aligned - sizeof(void *)), &raw, sizeof raw);
  return (void *)aligned;
}

void mt_allocator_free_aligned(const mt_allocator *a, void *ptr) {
  if (!ptr) return;
  void *raw;
  memcpy(&raw, (unsigned char *)ptr - sizeof(void *), sizeof raw);
  mt_allocator_free(a, raw);
}
