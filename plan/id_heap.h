/* A binary min-heap of int32 ids over a caller-owned array, ordered by a caller-supplied
 * comparison. Shared by the passes that need a deterministic "smallest ready node first"
 * topological order (schedule, vertical fusion). The array must hold every id pushed. */
#ifndef MT_PLAN_ID_HEAP_H
#define MT_PLAN_ID_HEAP_H

#include <stdbool.h>
#include <stdint.h>

/* True when id a must come out before id b. */
typedef bool (*mt_id_heap_less)(const void *ctx, int32_t a, int32_t b);

void mt_id_heap_push(int32_t *heap, int *size, int32_t id, mt_id_heap_less less, const void *ctx);
/* Removes and returns the smallest id; *size must be > 0. */
int32_t mt_id_heap_pop(int32_t *heap, int *size, mt_id_heap_less less, const void *ctx);

#endif
