/*
 * search.c -- answering a query against one index file: analyse the query
 * with the documents' analyser, look its terms up, walk their postings
 * document-at-a-time, score each matching document and offer it to the
 * top-k collector.  Called by kidx_search() in reader.c, which turns the
 * collected hits into a kidx_results.
 *
 * Query semantics of this version: the query is a bag of words; a document
 * matches if it contains any of them (OR), and documents containing more of
 * them, more often, score higher.  Repeated query words count through qtf.
 *
 * Document-at-a-time (one cursor per term, always advancing the smallest
 * document) rather than term-at-a-time accumulators: memory is O(terms +
 * k) whatever the index size, and it is the shape that phrase matching and
 * dynamic pruning (WAND/MaxScore) need later.
 */
#include "kidx_int.h"

#include <stdlib.h>

typedef struct qterm {
  size_t off, len; /* bytes in the query's term buffer */
  uint32_t qtf;
} qterm;

typedef struct qparse {
  kidx__buf text; /* analysed terms, concatenated */
  qterm *terms;
  size_t n, cap;
  size_t tokens;
} qparse;

static int collect(void *ctx, const kidx__token *tok) {
  qparse *q = ctx;
  if (q->n == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 16;
    qterm *t = realloc(q->terms, cap * sizeof *t);
    if (!t)
      return KIDX_ENOMEM;
    q->terms = t;
    q->cap = cap;
  }
  qterm *t = &q->terms[q->n++];
  t->off = q->text.n;
  t->len = tok->len;
  t->qtf = 1;
  q->tokens++;
  return kidx__buf_append(&q->text, tok->text, tok->len);
}

/* qsort needs the text base; terms are sorted after collection through a
 * second array of pointers-with-base. */
typedef struct qref {
  const char *text;
  size_t len;
} qref;

static int cmp_qref(const void *a, const void *b) {
  const qref *x = a, *y = b;
  return kidx__term_cmp(x->text, x->len, y->text, y->len);
}

typedef struct cursor {
  kidx__postings c;
  double weight;
  const char *text; /* for error messages */
  size_t len;
} cursor;

/* The distinct terms of a query, sorted, with their counts.  refs point
 * into text, which this struct owns. */
typedef struct qterms {
  kidx__buf text;
  qref *refs;
  uint32_t *qtf;
  size_t n;
} qterms;

static void qterms_free(qterms *t) {
  kidx__buf_free(&t->text);
  free(t->refs);
  free(t->qtf);
}

/* Analyses the query into distinct sorted terms with their counts. */
static int parse_query(unsigned an_flags, const char *query, size_t len,
                       qterms *out, char *errmsg) {
  qparse q;
  kidx__analyzer an = {an_flags, NULL};
  memset(&q, 0, sizeof q);
  memset(out, 0, sizeof *out);
  int rc = kidx__analyze(&an, query, len, 0, NULL, collect, &q);
  out->text = q.text; /* owned by out from here on */
  if (rc) {
    free(q.terms);
    return kidx__err(errmsg, rc, "out of memory analysing the query");
  }
  if (q.n == 0) {
    free(q.terms);
    return kidx__err(errmsg, KIDX_EQUERY,
                     "the query has no searchable words (only punctuation, "
                     "symbols, stop words or words over %d bytes)",
                     KIDX_MAX_TOKEN_BYTES);
  }
  out->refs = malloc(q.n * sizeof *out->refs);
  out->qtf = malloc(q.n * sizeof *out->qtf);
  if (!out->refs || !out->qtf) {
    free(q.terms);
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < q.n; i++) {
    out->refs[i].text = (const char *)out->text.p + q.terms[i].off;
    out->refs[i].len = q.terms[i].len;
  }
  free(q.terms);
  qsort(out->refs, q.n, sizeof *out->refs, cmp_qref);
  size_t m = 0;
  for (size_t i = 0; i < q.n; i++) {
    if (m > 0 && !cmp_qref(&out->refs[m - 1], &out->refs[i])) {
      out->qtf[m - 1]++;
      continue;
    }
    out->refs[m] = out->refs[i];
    out->qtf[m] = 1;
    m++;
  }
  out->n = m;
  if (m > KIDX_MAX_QUERY_TERMS)
    return kidx__err(errmsg, KIDX_EQUERY,
                     "the query has %zu distinct words; the limit is %d", m,
                     KIDX_MAX_QUERY_TERMS);
  return KIDX_OK;
}

static int damaged(char *errmsg, const char *path, const cursor *c) {
  return kidx__err(errmsg, KIDX_ECORRUPT,
                   "%s is damaged: bad postings for '%.*s'", path, (int)c->len,
                   c->text);
}

int kidx__search_run(const kidx__segment *seg, const char *path,
                     const char *query, size_t len, const kidx__scorer *sc,
                     kidx__topk *topk, uint64_t *total, char *errmsg) {
  qterms q;
  cursor *cur = NULL;
  int rc = parse_query(seg->an_flags, query, len, &q, errmsg);
  *total = 0;
  if (rc)
    goto done;
  const qref *terms = q.refs;
  size_t n = q.n;
  cur = malloc(n * sizeof *cur);
  size_t live = 0;
  if (!cur) {
    rc = kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    kidx__term t;
    if (!kidx__segment_find(seg, terms[i].text, terms[i].len, &t))
      continue;
    cursor *c = &cur[live];
    kidx__postings_init(&c->c, t.post, t.post_len, t.df, seg->ndocs);
    c->weight = kidx__scorer_term_weight(sc, t.df, q.qtf[i]);
    c->text = terms[i].text;
    c->len = terms[i].len;
    int r = kidx__postings_next(&c->c);
    if (r < 0) {
      rc = damaged(errmsg, path, c);
      goto done;
    }
    if (r == 1)
      live++;
  }
  /* Cursors stay in term order, so scores are summed in the same order for
   * every document and every run: results are bit-for-bit repeatable. */
  while (live > 0) {
    uint32_t doc = UINT32_MAX;
    for (size_t i = 0; i < live; i++)
      if (cur[i].c.doc < doc)
        doc = cur[i].c.doc;
    uint32_t dl = kidx__segment_doclen(seg, doc);
    double score = 0;
    size_t kept = 0;
    for (size_t i = 0; i < live; i++) {
      cursor *c = &cur[i];
      int r = 1;
      if (c->c.doc == doc) {
        score += kidx__scorer_score(sc, c->weight, c->c.tf, dl);
        r = kidx__postings_next(&c->c);
        if (r < 0) {
          rc = damaged(errmsg, path, c);
          goto done;
        }
      }
      if (r == 1)
        cur[kept++] = *c;
    }
    live = kept;
    (*total)++;
    kidx__topk_push(topk, score, doc);
  }
done:
  free(cur);
  qterms_free(&q);
  return rc;
}
