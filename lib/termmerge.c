/*
 * termmerge.c -- a k-way merge of sorted term sources: segment
 * dictionaries (through kidx__termcur, segment.c) and sorted arrays of
 * terms (the batch's, memindex.c).  It yields each distinct term once,
 * in dictionary order, with the sources that hold it, optionally only the
 * terms that start with a prefix.  One cursor for what needs the union of
 * several dictionaries: prefix expansion (search.c), counting distinct
 * terms (snapshot.c) and writing a merged dictionary (segwrite.c).
 *
 * The sources on a term sit in a binary min-heap ordered by (term, source
 * number), so a step costs O(k log n) comparisons for a term k of the n
 * sources hold, and the sources holding a term come out of the heap in
 * increasing number: the order segwrite.c renumbers documents in.
 * Sources are moved on lazily, at the start of the next step, so that the
 * current terms (and the postings they point at) stay readable until
 * then.
 */
#include "kidx_int.h"

#include <stdlib.h>

struct kidx__tmsrc {
  kidx__termcur cur;        /* a segment source, when seg is set */
  const kidx__segment *seg; /* NULL: an array source */
  const kidx__term *terms;  /* an array source: sorted, distinct */
  size_t nterms, j;         /* ... its length and current index */
};

int kidx__termmerge_init(kidx__termmerge *m, size_t n) {
  memset(m, 0, sizeof *m);
  size_t k = n ? n : 1;
  m->src = calloc(k, sizeof *m->src);
  m->heap = calloc(k, sizeof *m->heap);
  m->which = calloc(k, sizeof *m->which);
  if (!m->src || !m->heap || !m->which) {
    kidx__termmerge_free(m);
    return KIDX_ENOMEM;
  }
  m->n = n;
  return KIDX_OK;
}

void kidx__termmerge_free(kidx__termmerge *m) {
  free(m->src);
  free(m->heap);
  free(m->which);
  memset(m, 0, sizeof *m);
}

void kidx__termmerge_segment(kidx__termmerge *m, size_t i,
                             const kidx__segment *seg) {
  m->src[i].seg = seg;
}

void kidx__termmerge_array(kidx__termmerge *m, size_t i,
                           const kidx__term *terms, size_t n) {
  m->src[i].seg = NULL;
  m->src[i].terms = terms;
  m->src[i].nterms = n;
}

const kidx__term *kidx__termmerge_term(const kidx__termmerge *m, size_t i) {
  const kidx__tmsrc *s = &m->src[i];
  return s->seg ? &s->cur.term : &s->terms[s->j];
}

/* Whether source s's current term (it has one) is within the bound. */
static int in_bound(const kidx__termmerge *m, const kidx__term *t) {
  return t->len >= m->prefix_len &&
         memcmp(t->text, m->prefix, m->prefix_len) == 0;
}

/* Heap order: by term, then by source number. */
static int before(const kidx__termmerge *m, size_t a, size_t b) {
  const kidx__term *x = kidx__termmerge_term(m, a);
  const kidx__term *y = kidx__termmerge_term(m, b);
  int c = kidx__term_cmp(x->text, x->len, y->text, y->len);
  return c < 0 || (c == 0 && a < b);
}

static void heap_push(kidx__termmerge *m, size_t src) {
  size_t i = m->nheap++;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (!before(m, src, m->heap[up]))
      break;
    m->heap[i] = m->heap[up];
    i = up;
  }
  m->heap[i] = src;
}

static size_t heap_pop(kidx__termmerge *m) {
  size_t top = m->heap[0], last = m->heap[--m->nheap], i = 0;
  for (;;) {
    size_t kid = 2 * i + 1;
    if (kid >= m->nheap)
      break;
    if (kid + 1 < m->nheap && before(m, m->heap[kid + 1], m->heap[kid]))
      kid++;
    if (!before(m, m->heap[kid], last))
      break;
    m->heap[i] = m->heap[kid];
    i = kid;
  }
  if (m->nheap > 0)
    m->heap[i] = last;
  return top;
}

/* Source i has just been positioned: into the heap if it is on a term
 * within the bound. */
static void enter(kidx__termmerge *m, size_t i, int on) {
  if (on < 0) {
    /* A damaged dictionary (its cursor's status): the merge stops. */
    if (!m->damaged) {
      m->damaged = 1;
      m->bad = i;
    }
    return;
  }
  if (on && in_bound(m, kidx__termmerge_term(m, i)))
    heap_push(m, i);
}

int kidx__termmerge_start(kidx__termmerge *m, const char *prefix, size_t len) {
  m->damaged = 0;
  m->bad = 0;
  m->prefix = len ? prefix : "";
  m->prefix_len = len;
  m->nheap = m->nwhich = 0;
  m->text = NULL;
  m->len = 0;
  for (size_t i = 0; i < m->n; i++) {
    kidx__tmsrc *s = &m->src[i];
    int on;
    if (s->seg) {
      on = len ? kidx__termcur_lower_bound(&s->cur, s->seg, prefix, len)
               : kidx__termcur_seek(&s->cur, s->seg, 0);
    } else {
      /* The first term >= prefix. */
      size_t lo = 0, hi = s->nterms;
      while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const kidx__term *t = &s->terms[mid];
        if (kidx__term_cmp(t->text, t->len, m->prefix, len) < 0)
          lo = mid + 1;
        else
          hi = mid;
      }
      s->j = lo;
      on = lo < s->nterms;
    }
    enter(m, i, on);
  }
  return m->damaged ? KIDX_ECORRUPT : KIDX_OK;
}

int kidx__termmerge_next(kidx__termmerge *m) {
  if (m->damaged)
    return KIDX_ECORRUPT;
  /* Move on the sources of the previous term. */
  for (size_t k = 0; k < m->nwhich; k++) {
    size_t i = m->which[k];
    kidx__tmsrc *s = &m->src[i];
    int on;
    if (s->seg) {
      on = kidx__termcur_next(&s->cur);
    } else {
      s->j++;
      on = s->j < s->nterms;
    }
    enter(m, i, on);
  }
  m->nwhich = 0;
  m->text = NULL;
  m->len = 0;
  if (m->damaged)
    return KIDX_ECORRUPT;
  if (m->nheap == 0)
    return 0;
  /* The smallest term, then every other source on it, in source order. */
  size_t first = heap_pop(m);
  const kidx__term *t = kidx__termmerge_term(m, first);
  m->which[m->nwhich++] = first;
  while (m->nheap > 0) {
    const kidx__term *u = kidx__termmerge_term(m, m->heap[0]);
    if (kidx__term_cmp(u->text, u->len, t->text, t->len) != 0)
      break;
    m->which[m->nwhich++] = heap_pop(m);
  }
  m->text = t->text;
  m->len = t->len;
  return 1;
}
