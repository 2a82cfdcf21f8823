/*
 * topk.c -- the collector that keeps the k best hits of a query: a binary
 * min-heap whose root is the worst hit kept, so each candidate costs one
 * comparison when it does not qualify and O(log k) when it does.
 *
 * "Better" is higher score, then smaller id (bytewise), so the order of
 * equal scores does not depend on the order documents were added in.  Ids
 * are only fetched (through the caller's callback) when scores are equal.
 */
#include "kidx_int.h"

#include <stdlib.h>

/* > 0 if a ranks above b. */
static int better(const kidx__topk *t, const kidx__hit *a, const kidx__hit *b) {
  if (a->score != b->score)
    return a->score > b->score ? 1 : -1;
  return -t->id_cmp(t->ctx, a->doc, b->doc);
}

int kidx__topk_init(kidx__topk *t, size_t k, kidx__id_cmp_fn id_cmp,
                    const void *ctx) {
  t->k = k;
  t->n = 0;
  t->id_cmp = id_cmp;
  t->ctx = ctx;
  t->heap = NULL;
  if (k == 0)
    return KIDX_OK;
  if (k > SIZE_MAX / sizeof *t->heap)
    return KIDX_ENOMEM;
  t->heap = malloc(k * sizeof *t->heap);
  return t->heap ? KIDX_OK : KIDX_ENOMEM;
}

void kidx__topk_free(kidx__topk *t) {
  free(t->heap);
  t->heap = NULL;
}

static void sift_down(kidx__topk *t, size_t i) {
  kidx__hit *h = t->heap;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, worst = i;
    if (l < t->n && better(t, &h[worst], &h[l]) > 0)
      worst = l;
    if (r < t->n && better(t, &h[worst], &h[r]) > 0)
      worst = r;
    if (worst == i)
      return;
    kidx__hit tmp = h[i];
    h[i] = h[worst];
    h[worst] = tmp;
    i = worst;
  }
}

void kidx__topk_push(kidx__topk *t, double score, uint32_t doc) {
  kidx__hit hit = {score, doc};
  kidx__hit *h = t->heap;
  if (t->n < t->k) {
    size_t i = t->n++;
    while (i > 0) {
      size_t parent = (i - 1) / 2;
      if (better(t, &h[parent], &hit) <= 0)
        break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = hit;
    return;
  }
  if (t->k == 0 || better(t, &hit, &h[0]) <= 0)
    return;
  h[0] = hit;
  sift_down(t, 0);
}

int kidx__topk_threshold(const kidx__topk *t, double *score) {
  if (t->k == 0 || t->n < t->k)
    return 0;
  *score = t->heap[0].score;
  return 1;
}

size_t kidx__topk_finish(kidx__topk *t) {
  /* Heap sort in place: repeatedly move the worst to the end, leaving the
   * array best-first. */
  size_t n = t->n;
  while (t->n > 1) {
    kidx__hit tmp = t->heap[0];
    t->heap[0] = t->heap[t->n - 1];
    t->heap[t->n - 1] = tmp;
    t->n--;
    sift_down(t, 0);
  }
  t->n = n;
  return n;
}
