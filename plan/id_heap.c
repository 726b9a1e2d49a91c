/* Binary min-heap of ids (see id_heap.h). */
#include "plan/id_heap.h"

static void swap_ids(int32_t *heap, int i, int j) {
  int32_t t = heap[i];
  heap[i] = heap[j];
  heap[j] = t;
}

void mt_id_heap_push(int32_t *heap, int *size, int32_t id, mt_id_heap_less less, const void *ctx) {
  int i = (*size)++;
  heap[i] = id;
  while (i > 0) {
    int parent = (i - 1) / 2;
    if (!less(ctx, heap[i], heap[parent])) break;
    swap_ids(heap, i, parent);
    i = parent;
  }
}

int32_t mt_id_heap_pop(int32_t *heap, int *size, mt_id_heap_less less, const void *ctx) {
  int32_t top = heap[0];
  heap[0] = heap[--(*size)];
  for (int i = 0;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < *size && less(ctx, heap[l], heap[m])) m = l;
    if (r < *size && less(ctx, heap[r], heap[m])) m = r;
    if (m == i) break;
    swap_ids(heap, i, m);
    i = m;
  }
  return top;
}
