/*
 * results.c -- kidx_results: the hits of one search, with everything the
 * caller reads from them (ids, titles, scores, snippets, explanations)
 * copied into memory the object owns, so results stay valid whatever
 * happens to the reader, and hold no pointers into the index.  Filled by
 * kidx_search() (reader.c) through the kidx__results_* functions.
 *
 * Bytes (ids, titles, snippet text, explained terms) go into one arena;
 * while it grows only offsets are recorded, and the public structs'
 * pointers are set once the arena is final (kidx__results_finish).  A
 * hit's whole body is not copied: kidx_reader_get() (reader.c) fetches
 * it when a caller wants it.
 */
#include "kidx_int.h"

#include <stdlib.h>

typedef struct hit {
  size_t id_off, id_len;       /* in arena */
  size_t title_off, title_len; /* in arena */
  double score;
  size_t snip_off;           /* snippet text in arena */
  size_t span_first, nspans; /* in spans */
  size_t ex_first, nex;      /* in explain */
  int has_snippet;
} hit;

struct kidx_results {
  hit *hits;
  kidx_snippet *snippets; /* one per hit, set by finish */
  size_t count, cap;
  uint64_t total;
  int total_exact;
  size_t error_column;
  kidx__buf arena;
  kidx__buf spans;   /* kidx_span */
  kidx__buf explain; /* kidx_explain, term pointing at term_off below */
  kidx__buf ex_term; /* size_t arena offset of each explain entry's term */
  char errmsg[KIDX__ERRMSG_MAX];
};

kidx_status kidx_results_new(kidx_results **out) {
  if (!out)
    return KIDX_EINVAL;
  *out = calloc(1, sizeof **out);
  return *out ? KIDX_OK : KIDX_ENOMEM;
}

void kidx_results_free(kidx_results *res) {
  if (!res)
    return;
  free(res->hits);
  free(res->snippets);
  kidx__buf_free(&res->arena);
  kidx__buf_free(&res->spans);
  kidx__buf_free(&res->explain);
  kidx__buf_free(&res->ex_term);
  free(res);
}

const char *kidx_results_errmsg(const kidx_results *res) {
  return res ? res->errmsg : "no results object";
}

char *kidx__results_reset(kidx_results *res) {
  res->count = 0;
  res->total = 0;
  res->error_column = 0;
  res->arena.n = res->spans.n = res->explain.n = res->ex_term.n = 0;
  res->errmsg[0] = 0;
  return res->errmsg;
}

void kidx__results_fail(kidx_results *res, size_t column) {
  res->count = 0;
  res->total = 0;
  res->error_column = column;
}

int kidx__results_add(kidx_results *res, const kidx__docinfo *d, double score,
                      const char *snippet, size_t snip_len,
                      const kidx__buf *spans, const kidx__buf *explain) {
  if (res->count == res->cap) {
    size_t cap = res->cap ? res->cap * 2 : 16;
    hit *h = realloc(res->hits, cap * sizeof *h);
    if (!h)
      return KIDX_ENOMEM;
    res->hits = h;
    kidx_snippet *s = realloc(res->snippets, cap * sizeof *s);
    if (!s)
      return KIDX_ENOMEM;
    res->snippets = s;
    res->cap = cap;
  }
  hit *h = &res->hits[res->count];
  memset(h, 0, sizeof *h);
  h->score = score;
  h->id_off = res->arena.n;
  h->id_len = d->id_len;
  h->title_off = h->id_off + d->id_len;
  h->title_len = d->title_len;
  h->snip_off = h->title_off + d->title_len;
  if (kidx__buf_append(&res->arena, d->id, d->id_len) ||
      kidx__buf_append(&res->arena, d->title, d->title_len))
    return KIDX_ENOMEM;
  if (snippet) {
    h->has_snippet = 1;
    h->span_first = res->spans.n / sizeof(kidx_span);
    h->nspans = spans ? spans->n / sizeof(kidx_span) : 0;
    if (kidx__buf_append(&res->arena, snippet, snip_len) ||
        (spans && kidx__buf_append(&res->spans, spans->p, spans->n)))
      return KIDX_ENOMEM;
    kidx_snippet *s = &res->snippets[res->count];
    s->len = snip_len;
    s->offset = (size_t)(snippet - d->body);
    s->body_len = d->body_len;
  }
  if (explain && explain->n) {
    size_t n = explain->n / sizeof(kidx_explain);
    h->ex_first = res->explain.n / sizeof(kidx_explain);
    h->nex = n;
    for (size_t j = 0; j < n; j++) {
      kidx_explain e;
      memcpy(&e, explain->p + j * sizeof e, sizeof e);
      size_t off = res->arena.n;
      if (kidx__buf_append(&res->arena, e.term, e.term_len) ||
          kidx__buf_append(&res->ex_term, &off, sizeof off) ||
          kidx__buf_append(&res->explain, &e, sizeof e))
        return KIDX_ENOMEM;
    }
  }
  res->count++;
  return KIDX_OK;
}

void kidx__results_finish(kidx_results *res, uint64_t total, int exact) {
  const char *base = res->arena.p ? (const char *)res->arena.p : "";
  kidx_span *spans = (kidx_span *)(void *)res->spans.p;
  kidx_explain *ex = (kidx_explain *)(void *)res->explain.p;
  for (size_t i = 0; i < res->count; i++) {
    hit *h = &res->hits[i];
    kidx_snippet *s = &res->snippets[i];
    if (!h->has_snippet)
      continue;
    s->text = base + h->snip_off;
    s->highlights = h->nspans ? spans + h->span_first : NULL;
    s->nhighlights = h->nspans;
  }
  for (size_t j = 0; j < res->explain.n / sizeof(kidx_explain); j++) {
    size_t off;
    memcpy(&off, res->ex_term.p + j * sizeof off, sizeof off);
    ex[j].term = base + off;
  }
  res->total = total;
  res->total_exact = exact;
}

size_t kidx_results_count(const kidx_results *res) {
  return res ? res->count : 0;
}

uint64_t kidx_results_total(const kidx_results *res) {
  return res ? res->total : 0;
}

int kidx_results_total_is_exact(const kidx_results *res) {
  return res ? res->total_exact : 1;
}

size_t kidx_results_error_column(const kidx_results *res) {
  return res ? res->error_column : 0;
}

static const hit *get(const kidx_results *res, size_t i) {
  return res && i < res->count ? &res->hits[i] : NULL;
}

const char *kidx_results_id(const kidx_results *res, size_t i, size_t *len) {
  const hit *h = get(res, i);
  if (len)
    *len = h ? h->id_len : 0;
  return h ? (const char *)res->arena.p + h->id_off : NULL;
}

const char *kidx_results_title(const kidx_results *res, size_t i, size_t *len) {
  const hit *h = get(res, i);
  if (len)
    *len = h ? h->title_len : 0;
  return h ? (const char *)res->arena.p + h->title_off : NULL;
}

double kidx_results_score(const kidx_results *res, size_t i) {
  const hit *h = get(res, i);
  return h ? h->score : 0.0;
}

const kidx_snippet *kidx_results_snippet(const kidx_results *res, size_t i) {
  const hit *h = get(res, i);
  return h && h->has_snippet ? &res->snippets[i] : NULL;
}

size_t kidx_results_explain_count(const kidx_results *res, size_t i) {
  const hit *h = get(res, i);
  return h ? h->nex : 0;
}

const kidx_explain *kidx_results_explain(const kidx_results *res, size_t i,
                                         size_t j) {
  const hit *h = get(res, i);
  if (!h || j >= h->nex)
    return NULL;
  return (const kidx_explain *)(void *)res->explain.p + h->ex_first + j;
}
