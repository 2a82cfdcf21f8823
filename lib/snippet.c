/*
 * snippet.c -- choosing the passage of a hit's body that best shows why it
 * matched, and locating the matched words in it.  Called by reader.c for
 * the hits of a page, with the positions search.c found for them.
 *
 * The body is analysed again (the same analysis as at indexing, so token
 * positions are the indexed ones) to map positions to byte offsets; this
 * costs one pass over ten or so bodies per query and keeps offsets out of
 * the index.  The passage is the window of `words` consecutive terms with
 * the most matched terms (the earliest such window on ties), moved back by
 * up to a quarter of its length when that keeps the same matches, so that
 * the first match is not glued to the start.  Its ends are widened to the
 * surrounding whitespace (but not into the next term), so punctuation such
 * as a closing quote or a full stop stays with its word; whitespace is
 * ASCII and terms end on character boundaries, so the passage never splits
 * a UTF-8 sequence.
 */
#include "kidx_int.h"

#include <stdlib.h>

typedef struct tok {
  size_t start, end;
  uint32_t pos;
  int hit;
} tok;

typedef struct collect {
  tok *t;
  size_t n, cap;
  int rc;
} collect;

static int on_token(void *ctx, const kidx__token *k) {
  collect *c = ctx;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 256;
    tok *t = realloc(c->t, cap * sizeof *t);
    if (!t)
      return c->rc = KIDX_ENOMEM;
    c->t = t;
    c->cap = cap;
  }
  c->t[c->n++] = (tok){k->start, k->end, k->pos, 0};
  return 0;
}

static int ignore_token(void *ctx, const kidx__token *k) {
  (void)ctx;
  (void)k;
  return 0;
}

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

int kidx__snippet_make(const kidx__analyzer *an, const char *title,
                       size_t title_len, const char *body, size_t body_len,
                       const uint32_t *hits, size_t nhits, size_t words,
                       size_t *start, size_t *end, kidx__buf *spans) {
  *start = *end = 0;
  if (words == 0 || body_len == 0)
    return KIDX_OK;
  uint32_t title_end = 0;
  kidx__analyze(an, title, title_len, 0, &title_end, ignore_token, NULL);
  collect c = {NULL, 0, 0, 0};
  kidx__analyze(an, body, body_len, kidx__body_first_pos(title_end), NULL,
                on_token, &c);
  if (c.rc) {
    free(c.t);
    return c.rc;
  }
  if (c.n == 0) {
    free(c.t);
    return KIDX_OK;
  }
  /* Mark hits: both lists are sorted by position. */
  for (size_t i = 0, j = 0; i < c.n && j < nhits;) {
    if (c.t[i].pos < hits[j])
      i++;
    else if (c.t[i].pos > hits[j])
      j++;
    else
      c.t[i++].hit = 1;
  }
  /* The window [best, best + w) with the most hits. */
  size_t w = words < c.n ? words : c.n, count = 0, best = 0, best_count = 0;
  for (size_t i = 0; i < c.n; i++) {
    count += (size_t)c.t[i].hit;
    if (i >= w)
      count -= (size_t)c.t[i - w].hit;
    if (i + 1 >= w && count > best_count) {
      best_count = count;
      best = i + 1 - w;
    }
  }
  if (best_count > 0) {
    size_t first = best, last = best + w - 1;
    while (!c.t[first].hit)
      first++;
    while (!c.t[last].hit)
      last--;
    /* Room before the first match, while the last still fits. */
    size_t lead = first - best, want = w / 4;
    while (lead < want && best > 0 && last < best - 1 + w) {
      best--;
      lead++;
    }
  }
  /* Widen to whitespace, but never into the neighbouring terms (text
   * without spaces, such as CJK, would otherwise run on): those bounds are
   * token boundaries, so still on UTF-8 boundaries. */
  size_t a = c.t[best].start, b = c.t[best + w - 1].end;
  size_t lo = best > 0 ? c.t[best - 1].end : 0;
  size_t hi = best + w < c.n ? c.t[best + w].start : body_len;
  while (a > lo && !is_space((uint8_t)body[a - 1]))
    a--;
  while (b < hi && !is_space((uint8_t)body[b]))
    b++;
  *start = a;
  *end = b;
  int rc = KIDX_OK;
  for (size_t i = best; i < best + w && rc == KIDX_OK; i++)
    if (c.t[i].hit) {
      kidx_span sp = {c.t[i].start - a, c.t[i].end - a};
      rc = kidx__buf_append(spans, &sp, sizeof sp);
    }
  free(c.t);
  return rc;
}
