/*
 * snippet.c -- choosing the passage of a hit's body that best shows why it
 * matched, and locating the matched words in it.  Called by reader.c for
 * the hits of a page, with the positions search.c found for them.
 *
 * The passage is chosen from positions alone: the window of `words`
 * consecutive positions holding the most matched positions (the earliest
 * such window on ties), moved back by up to a quarter of its length when
 * that keeps the same matches, so that the first match is not glued to the
 * start.  Only then is the body segmented again, up to the window's end and
 * without normalising or stemming (KIDX__AN_OFFSETS: positions depend on
 * segmentation only), to turn positions into byte offsets.  That keeps
 * offsets out of the index and costs a fraction of a full analysis.
 *
 * The passage's ends are widened to the surrounding whitespace (but not
 * into the next term), so punctuation such as a closing quote or a full
 * stop stays with its word; whitespace is ASCII and terms end on character
 * boundaries, so the passage never splits a UTF-8 sequence.
 */
#include "kidx_int.h"

typedef struct locate {
  uint32_t first, last;   /* the window, in positions */
  const uint32_t *hits;   /* sorted matched positions */
  size_t nhits, next_hit; /* next_hit: first hit not yet passed */
  size_t prev_end;        /* end of the last term before the window */
  size_t start, end;      /* span of the window's terms */
  size_t next_start;      /* start of the first term after it */
  int any, after;
  kidx__buf *spans;
  int rc;
} locate;

static int on_word(void *ctx, const kidx__token *t) {
  locate *l = ctx;
  if (t->pos < l->first) {
    l->prev_end = t->end;
    return 0;
  }
  if (t->pos > l->last) {
    l->next_start = t->start;
    l->after = 1;
    return 1; /* the rest of the body is not needed */
  }
  if (!l->any) {
    l->any = 1;
    l->start = t->start;
  }
  l->end = t->end;
  while (l->next_hit < l->nhits && l->hits[l->next_hit] < t->pos)
    l->next_hit++;
  if (l->next_hit < l->nhits && l->hits[l->next_hit] == t->pos) {
    kidx_span sp = {t->start, t->end}; /* made relative by the caller */
    if ((l->rc = kidx__buf_append(l->spans, &sp, sizeof sp)))
      return 1;
  }
  return 0;
}

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

/* The window [*first, *first + words) of positions from body_first on
 * with the most hits. */
static uint32_t choose_window(const uint32_t *hits, size_t nhits,
                              uint32_t body_first, size_t words) {
  size_t best = 0, best_count = 0;
  for (size_t i = 0, j = 0; i < nhits; i++) {
    /* Hits in [hits[i], hits[i] + words). */
    if (j < i)
      j = i;
    while (j < nhits && (uint64_t)hits[j] < (uint64_t)hits[i] + words)
      j++;
    if (j - i > best_count) {
      best_count = j - i;
      best = i;
    }
  }
  if (best_count == 0)
    return body_first;
  uint64_t first = hits[best];
  uint64_t last_hit = hits[best + best_count - 1];
  /* Room before the first hit, while the last one stays in the window. */
  uint64_t lead = words / 4, slack = first + words - 1 - last_hit;
  if (lead > slack)
    lead = slack;
  if (lead > first - body_first)
    lead = first - body_first;
  return (uint32_t)(first - lead);
}

static int ignore(void *ctx, const kidx__token *t) {
  (void)ctx;
  (void)t;
  return 0;
}

int kidx__snippet_make(const kidx__analyzer *an, const char *title,
                       size_t title_len, const char *body, size_t body_len,
                       const uint32_t *hits, size_t nhits, size_t words,
                       size_t *start, size_t *end, kidx__buf *spans) {
  kidx__analyzer seg = {an->flags | KIDX__AN_OFFSETS, NULL};
  *start = *end = 0;
  if (words == 0 || body_len == 0)
    return KIDX_OK;
  if (words > UINT32_MAX / 2)
    words = UINT32_MAX / 2;
  uint32_t title_end = 0;
  kidx__analyze(&seg, title, title_len, 0, &title_end, ignore, NULL);
  uint32_t body_first = kidx__body_first_pos(title_end);
  /* Title hits come first in the sorted list; only body ones count. */
  while (nhits > 0 && hits[0] < body_first) {
    hits++;
    nhits--;
  }
  locate l;
  memset(&l, 0, sizeof l);
  l.first = choose_window(hits, nhits, body_first, words);
  l.last = l.first + (uint32_t)words - 1;
  l.hits = hits;
  l.nhits = nhits;
  l.spans = spans;
  size_t before = spans->n;
  kidx__analyze(&seg, body, body_len, body_first, NULL, on_word, &l);
  if (l.rc)
    return l.rc;
  if (!l.any)
    return KIDX_OK;
  /* Widen to whitespace, but never into the neighbouring terms (text
   * without spaces, such as CJK, would otherwise run on). */
  size_t a = l.start, b = l.end;
  size_t hi = l.after ? l.next_start : body_len;
  while (a > l.prev_end && !is_space((uint8_t)body[a - 1]))
    a--;
  while (b < hi && !is_space((uint8_t)body[b]))
    b++;
  /* Only whitespace beyond an end: the passage reaches the body's start or
   * end, and says so (offset 0, offset + len == body_len). */
  size_t k = 0;
  while (k < a && is_space((uint8_t)body[k]))
    k++;
  if (k == a)
    a = 0;
  k = b;
  while (k < body_len && is_space((uint8_t)body[k]))
    k++;
  if (k == body_len)
    b = body_len;
  *start = a;
  *end = b;
  if (spans->n > before) {
    kidx_span *sp = (kidx_span *)(void *)(spans->p + before);
    for (size_t i = 0; i < (spans->n - before) / sizeof *sp; i++) {
      sp[i].start -= a;
      sp[i].end -= a;
    }
  }
  return KIDX_OK;
}
