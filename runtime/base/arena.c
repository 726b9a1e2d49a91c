/* Chunked bump allocator. */
#include "runtime/base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/checked_math.h"

struct mt_arena_chunk {
  mt_arena_chunk *next;
  size_t capacity;
  _Alignas(16) unsigned char bytes[];
};

enum { MT_ARENA_CHUNK = 64 * 1024 };

void mt_arena_init(mt_arena *a, const mt_allocator *allocator) {
  memset(a, 0, sizeof *a);
  a->allocator = allocator;
}

void *mt_arena_alloc(mt_arena *a, size_t n) {
  size_t need = (n + 15) & ~(size_t)15;
  if (need < n) return NULL;
  if (!a->head || a->capacity - a->used < need) {
    size_t cap = need > MT_ARENA_CHUNK ? need : MT_ARENA_CHUNK;
    size_t total;
    if (!mt_add_size(sizeof(mt_arena_chunk), cap, &total)) return NULL;
    mt_arena_chunk *c = mt_allocator_malloc(a->allocator, total);
    if (!c) return NULL;
    c->capacity = cap;
    if (a->head && need > MT_ARENA_CHUNK) {
      /* a big one-off block goes behind the head so the head's free space stays usable */
      c->next = a->head->next;
      a->head->next = c;
      memset(c->bytes, 0, need);
      return c->bytes;
    }
    c->next = a->head;
    a->head = c;
    a->used = 0;
    a->capacity = cap;
  }
  void *p = a->head->bytes + a->used;
  a->used += need;
  memset(p, 0, need);
  return p;
}

void *mt_arena_array(mt_arena *a, size_t count, size_t size) {
  size_t n;
  if (!mt_mul_size(count, size, &n)) return NULL;
  return mt_arena_alloc(a, n ? n : 1);
}

char *mt_arena_strndup(mt_arena *a, const char *s, size_t n) {
  if (n == SIZE_MAX) return NULL;
  char *p = mt_arena_alloc(a, n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *mt_arena_strdup(mt_arena *a, const char *s) { return mt_arena_strndup(a, s, strlen(s)); }

void mt_arena_release(mt_arena *a) {
  mt_arena_chunk *c = a->head;
  while (c) {
    mt_arena_chunk *next = c->next;
    mt_allocator_free(a->allocator, c);
    c = next;
  }
  mt_arena_init(a, a->allocator);
}
