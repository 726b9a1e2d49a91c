/* A bump allocator: many small allocations, freed all at once.
 * The IR keeps its strings and small arrays here so that destroying a module is one call. */
#ifndef MT_BASE_ARENA_H
#define MT_BASE_ARENA_H

#include <stddef.h>

#include "runtime/base/allocator.h"

typedef struct mt_arena_chunk mt_arena_chunk;
typedef struct mt_arena {
  mt_arena_chunk *head;
  size_t used, capacity;         /* of the head chunk */
  const mt_allocator *allocator; /* where chunks come from; NULL: the system allocator */
} mt_arena;

/* allocator (NULL: system) must outlive the arena. */
void mt_arena_init(mt_arena *a, const mt_allocator *allocator);
/* Returns 16-byte-aligned, zeroed memory, or NULL when out of memory or n overflows. */
void *mt_arena_alloc(mt_arena *a, size_t n);
/* Returns zeroed memory for count elements of size bytes, NULL on overflow or OOM. */
void *mt_arena_array(mt_arena *a, size_t count, size_t size);
/* Copies n bytes and adds a terminating NUL. */
char *mt_arena_strndup(mt_arena *a, const char *s, size_t n);
char *mt_arena_strdup(mt_arena *a, const char *s);
void mt_arena_release(mt_arena *a);

#endif
