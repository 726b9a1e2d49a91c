/* The allocator hook: every create function and every arena takes one, so an application (or a
 * test that fails each allocation in turn) decides where memory comes from. Modelled on IREE's
 * iree_allocator_t: a context pointer and one resize function.
 *
 * NULL wherever an allocator is taken means the system allocator (malloc/realloc/free). An
 * allocator passed to a create function must outlive the object created with it. */
#ifndef MT_BASE_ALLOCATOR_H
#define MT_BASE_ALLOCATOR_H

#include <stddef.h>

typedef struct mt_allocator {
  void *self;
  /* Allocates size bytes (ptr NULL) or resizes ptr to size bytes; NULL on failure, leaving ptr
   * untouched. size is never 0. */
  void *(*resize)(void *self, void *ptr, size_t size);
  /* Frees ptr (never NULL). */
  void (*release)(void *self, void *ptr);
} mt_allocator;

/* malloc/realloc/free; these never return NULL for a size of 0 (one byte is allocated). */
void *mt_allocator_malloc(const mt_allocator *a, size_t size);
/* Zeroed count * size bytes; NULL on overflow or failure. */
void *mt_allocator_calloc(const mt_allocator *a, size_t count, size_t size);
void *mt_allocator_realloc(const mt_allocator *a, void *ptr, size_t size);
void mt_allocator_free(const mt_allocator *a, void *ptr);
/* size bytes aligned to `align` (a power of two, at most 4096), freed with
 * mt_allocator_free_aligned. */
void *mt_allocator_malloc_aligned(const mt_allocator *a, size_t size, size_t align);
void mt_allocator_free_aligned(const mt_allocator *a, void *ptr);

#endif
