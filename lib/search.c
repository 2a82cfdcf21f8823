/*
 * search.c -- evaluating a parsed query (query.c) against a snapshot of
 * the index (snapshot.c), one segment after the other: a tree of matchers
 * mirrors the query tree, walks the segment's postings
 * document-at-a-time, and the live documents the root matches are scored
 * (score.c) and offered to the top-k collector (topk.c) -- all of them
 * when an exact count is asked for, otherwise all but those whose score
 * bound shows they cannot enter (dynamic pruning, below).  For the few hits
 * shown, a second pass explains their scores and finds the positions of
 * the words that matched, for snippets (snippet.c).  Called by reader.c.
 *
 * Every matcher has a current document and one operation, advance(target):
 * move to the first matching document >= target (END when there is none).
 *   TERM    its postings list, skipping documents where the term is not in
 *           the field the query restricts it to;
 *   PREFIX  the union of the terms of the dictionary that start with it;
 *   OR      the smallest current document of its children;
 *   AND     leapfrog: advance every child to the largest current document
 *           until they agree;
 *   NOT     the first child, skipping documents the second one matches;
 *   PHRASE, NEAR  AND, then a check of the children's positions.
 * Document-at-a-time keeps memory at O(query size + k) whatever the index
 * size, and is the shape that dynamic pruning (WAND, block-max) needs.
 *
 * A document's score is the sum of the scores of the query terms that
 * matched it: the children on it of OR and PREFIX, all children of AND,
 * PHRASE and NEAR, and never anything under the excluded side of NOT.
 * Terms are visited in query order, so the floating-point sum is the same
 * on every run.
 *
 * Before any segment is searched, a first pass over the query finds every
 * term's document frequency in the whole index, live documents only (and
 * expands prefixes over all segments' dictionaries): the idf a term gets
 * is then the same in every segment, and the same as after the segments
 * are merged into one.
 */
#include "kidx_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define END UINT32_MAX

/* Most dictionary terms one prefix may expand to.  Bounds the work of a
 * query like "a*"; Lucene's BooleanQuery limit is of the same order. */
#define MAX_PREFIX_TERMS 4096

typedef struct matcher matcher;
struct matcher {
  int kind;  /* KIDX__Q_* */
  int field; /* KIDX__FIELD_* */
  uint32_t doc;
  int started;
  const kidx__qnode *q;
  /* TERM */
  kidx__term term;
  char text[KIDX_MAX_TOKEN_BYTES]; /* term.text points here */
  int exists;
  kidx__pcur cur;
  int bad;      /* the list's head is malformed */
  uint32_t gdf; /* live documents with the term, in the whole index */
  double idf;
  double w[KIDX__NFIELDS]; /* field weights, 0 outside the term's scope */
  double share;            /* its score in share_doc (a cache) */
  uint32_t share_doc;      /* or END */
  uint32_t bound_blk;      /* the block blk_ub bounds, or END */
  double blk_ub;
  double scale; /* of the bounds' tfc_max (kidx__scorer_scale) */
  /* tf_bound's coefficients b / avglen_f * ratio_f for the decoded block
   * tfb_blk (END: none yet) */
  double tfb_c[KIDX__NFIELDS];
  uint32_t tfb_blk;
  uint32_t *pos; /* positions in the current document, once loaded */
  uint32_t npos, pos_cap;
  uint32_t pos_doc; /* the document pos belongs to, or END */
  /* composites */
  matcher **kids;
  size_t nkids;
  /* AND, PHRASE, NEAR: the kids by increasing cost, the order in which
   * they are advanced (scores still add up in query order, kids) */
  matcher **lead;
  /* every kind: an estimate of the documents it visits (a TERM's df) */
  uint64_t cost;
  /* every kind: a bound of its score in any document (pruning) */
  double ub;
};

typedef struct search {
  const kidx__snapshot *snap;
  const kidx__segref *ref;  /* the segment being searched */
  size_t segno;             /* its index in snap->segs */
  const kidx__segment *seg; /* &ref->seg */
  const char *path;         /* ref->path */
  kidx__strmap *dfs;        /* term -> live df in the whole index */
  kidx__strmap *slots;      /* term -> its slot in found */
  kidx__term *found;        /* per slot, nsegs entries: the term in each
                               segment (post NULL: not there), from the
                               first pass, so it is looked up once */
  size_t nslots;
  const kidx__scorer *sc;
  char *errmsg;
  size_t *column; /* where a query error is, for KIDX_EQUERY */
  matcher **all;  /* every matcher allocated, to free them */
  size_t nall, cap;
  uint32_t norm_doc; /* the document norm[] is for, or END */
  double norm[KIDX__NFIELDS];
  int lens_bad; /* a document length was on a damaged page */
  double *sat;  /* saturation bounds by bucket (sat_bound), or NULL */
} search;

static int oom(search *s) {
  return kidx__err(s->errmsg, KIDX_ENOMEM, "out of memory");
}

static int damaged(search *s, const matcher *m) {
  /* A page that failed its checksum: the message names the section. */
  if (atomic_load(&s->seg->st->damage))
    return kidx__segment_damage(s->seg, s->errmsg);
  return kidx__err(s->errmsg, KIDX_ECORRUPT,
                   "%s is damaged: bad postings for '%.*s'", s->path,
                   (int)m->term.len, m->term.text);
}

static matcher *new_matcher(search *s, int kind, int field) {
  if (s->nall == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 32;
    matcher **all = realloc(s->all, cap * sizeof *all);
    if (!all)
      return NULL;
    s->all = all;
    s->cap = cap;
  }
  matcher *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  s->all[s->nall++] = m;
  m->kind = kind;
  m->field = field;
  m->doc = 0;
  m->pos_doc = END;
  m->share_doc = END;
  m->bound_blk = END;
  m->tfb_blk = END;
  return m;
}

static void free_matchers(search *s) {
  for (size_t i = 0; i < s->nall; i++) {
    free(s->all[i]->pos);
    free(s->all[i]->kids);
    free(s->all[i]->lead);
    free(s->all[i]);
  }
  free(s->all);
  s->all = NULL;
  s->nall = s->cap = 0;
}

static matcher *term_matcher(search *s, const kidx__term *t, int exists,
                             int field, const kidx__qnode *q) {
  matcher *m = new_matcher(s, KIDX__Q_TERM, field);
  if (!m)
    return NULL;
  m->q = q;
  m->exists = exists;
  m->term = *t;
  /* The text may live in a dictionary cursor that moves on. */
  memcpy(m->text, t->text, t->len);
  m->term.text = m->text;
  /* A term in no live document of the index matches nothing here. */
  uint32_t gdf = 0;
  if (!kidx__strmap_get(s->dfs, t->text, t->len, &gdf) || gdf == 0)
    m->exists = 0;
  m->gdf = gdf;
  if (m->exists) {
    /* A malformed head shows up as damage when the list is read.  The
     * cursor verifies each page of the list as it first reads it: a
     * common term's list is megabytes, of which a pruned search decodes
     * a few blocks and, without phrases, no positions. */
    m->bad = kidx__pcur_init_checked(
                 &m->cur, t->post, t->post_len, t->df, s->seg->ndocs,
                 kidx__segment_postings_check, s->seg) != KIDX_OK;
    m->idf = kidx__scorer_idf(s->sc, gdf);
    for (int f = 0; f < KIDX__NFIELDS; f++)
      m->w[f] = (field == KIDX__FIELD_ANY ||
                 field == (f == 0 ? KIDX__FIELD_TITLE : KIDX__FIELD_BODY))
                    ? s->sc->weight[f]
                    : 0.0;
    const kidx__segment *g = s->seg;
    uint64_t tokens[KIDX__NFIELDS] = {
        g->title_tokens,
        g->ntokens > g->title_tokens ? g->ntokens - g->title_tokens : 0};
    m->scale = kidx__scorer_scale(s->sc, m->w, g->ndocs, tokens);
    m->ub = m->bad ? INFINITY
                   : kidx__scorer_bound(s->sc, m->w, &m->cur.list_bound, m->idf,
                                        m->scale);
  }
  return m;
}

static int build(search *s, const kidx__qnode *q, matcher **out);

static int build_kids(search *s, const kidx__qnode *q, matcher *m) {
  m->kids = calloc(q->nkids ? q->nkids : 1, sizeof *m->kids);
  if (!m->kids)
    return oom(s);
  m->nkids = q->nkids;
  for (size_t i = 0; i < q->nkids; i++) {
    int rc = build(s, q->kids[i], &m->kids[i]);
    if (rc)
      return rc;
  }
  return KIDX_OK;
}

static int has_prefix(const kidx__term *t, const kidx__qnode *q) {
  return t->len >= q->len && memcmp(t->text, q->text, q->len) == 0;
}

/* The segment's terms that start with the prefix and are in some live
 * document (the first pass, over the whole index, bounded their number;
 * terms only deleted documents hold get no matcher). */
static int build_prefix(search *s, const kidx__qnode *q, matcher *m) {
  kidx__termcur cur;
  uint64_t first = 0, n = 0;
  int on = kidx__termcur_lower_bound(&cur, s->seg, q->text, q->len);
  if (on > 0)
    first = cur.index;
  uint32_t gdf;
  for (; on > 0 && has_prefix(&cur.term, q); on = kidx__termcur_next(&cur))
    n += kidx__strmap_get(s->dfs, cur.term.text, cur.term.len, &gdf) && gdf;
  if (on < 0)
    return kidx__segment_damage(s->seg, s->errmsg);
  m->kids = calloc(n ? n : 1, sizeof *m->kids);
  if (!m->kids)
    return oom(s);
  on = n > 0 ? kidx__termcur_seek(&cur, s->seg, first) : 0;
  for (; on > 0 && m->nkids < n && has_prefix(&cur.term, q);
       on = kidx__termcur_next(&cur)) {
    if (!kidx__strmap_get(s->dfs, cur.term.text, cur.term.len, &gdf) || !gdf)
      continue;
    if (!(m->kids[m->nkids++] = term_matcher(s, &cur.term, 1, m->field, q)))
      return oom(s);
  }
  return on < 0 ? kidx__segment_damage(s->seg, s->errmsg) : KIDX_OK;
}

static int cmp_cost(const void *a, const void *b) {
  const matcher *x = *(matcher *const *)a, *y = *(matcher *const *)b;
  return (x->cost > y->cost) - (x->cost < y->cost);
}

/* A composite's cost, and for a conjunction the order that advances the
 * rarest kid first: the others then only seek to its documents (a common
 * word's blocks are decoded where a rare one has a candidate, not in
 * between). */
static int set_cost(search *s, matcher *m) {
  int conj = m->kind == KIDX__Q_AND || m->kind == KIDX__Q_PHRASE ||
             m->kind == KIDX__Q_NEAR;
  if (m->kind == KIDX__Q_NOT) {
    m->cost = m->kids[0]->cost;
    return KIDX_OK;
  }
  m->cost = conj && m->nkids ? UINT64_MAX : 0;
  for (size_t i = 0; i < m->nkids; i++) {
    uint64_t c = m->kids[i]->cost;
    if (conj)
      m->cost = c < m->cost ? c : m->cost;
    else
      m->cost = m->cost + c < m->cost ? UINT64_MAX : m->cost + c;
  }
  if (!conj || m->nkids < 2)
    return KIDX_OK;
  if (!(m->lead = malloc(m->nkids * sizeof *m->lead)))
    return oom(s);
  memcpy(m->lead, m->kids, m->nkids * sizeof *m->lead);
  /* A stable insertion sort: conjunctions are short, and ties keep
   * query order. */
  for (size_t i = 1; i < m->nkids; i++)
    for (size_t j = i; j > 0 && cmp_cost(&m->lead[j - 1], &m->lead[j]) > 0;
         j--) {
      matcher *t = m->lead[j];
      m->lead[j] = m->lead[j - 1];
      m->lead[j - 1] = t;
    }
  return KIDX_OK;
}

static int build(search *s, const kidx__qnode *q, matcher **out) {
  int rc;
  if (q->kind == KIDX__Q_TERM) {
    kidx__term t;
    uint32_t slot;
    int exists;
    if (kidx__strmap_get(s->slots, q->text, q->len, &slot)) {
      /* Looked up by the first pass (t.text is the query's). */
      t = s->found[slot * (s->snap->nsegs ? s->snap->nsegs : 1) + s->segno];
      exists = t.post != NULL;
    } else {
      exists = kidx__segment_find(s->seg, q->text, q->len, &t);
      if (exists < 0)
        return kidx__segment_damage(s->seg, s->errmsg);
    }
    if (!exists) {
      t.text = q->text;
      t.len = q->len;
      t.df = 0;
      t.post = NULL;
      t.post_len = 0;
    }
    *out = term_matcher(s, &t, exists, q->field, q);
    if (*out)
      (*out)->cost = (*out)->exists ? t.df : 0;
    return *out ? KIDX_OK : oom(s);
  }
  matcher *m = new_matcher(s, q->kind, q->field);
  if (!(*out = m))
    return oom(s);
  m->q = q;
  if (q->kind == KIDX__Q_PREFIX)
    rc = build_prefix(s, q, m);
  else
    rc = build_kids(s, q, m);
  /* A document's score sums its matched terms' shares: the kids' bounds
   * add up (only the included side of NOT counts). */
  size_t n = m->kind == KIDX__Q_NOT ? 1 : m->nkids;
  for (size_t i = 0; !rc && i < n; i++)
    m->ub += m->kids[i]->ub;
  return rc ? rc : set_cost(s, m);
}

/* ---- positions ---- */

/* Loads the current document's positions of a TERM matcher. */
static int load_positions(search *s, matcher *m) {
  if (m->pos_doc == m->doc)
    return KIDX_OK;
  /* A term occurs at most as often as its document has terms: a larger
   * tf is damage, and must not size an allocation. */
  uint32_t tl, bl;
  if (kidx__pcur_freqs(&m->cur) ||
      kidx__segment_doclens(s->seg, m->doc, &tl, &bl) || m->cur.tf_title > tl ||
      m->cur.tf - m->cur.tf_title > bl)
    return damaged(s, m);
  if (m->cur.tf > m->pos_cap) {
    uint32_t *p = realloc(m->pos, m->cur.tf * sizeof *p);
    if (!p)
      return oom(s);
    m->pos = p;
    m->pos_cap = m->cur.tf;
  }
  if (kidx__pcur_positions(&m->cur, m->pos))
    return damaged(s, m);
  m->npos = m->cur.tf;
  m->pos_doc = m->doc;
  return KIDX_OK;
}

/* Field of the i-th position of a loaded TERM matcher. */
static int pos_field(const matcher *m, uint32_t i) {
  return i < m->cur.tf_title ? KIDX__FIELD_TITLE : KIDX__FIELD_BODY;
}

static int field_ok(int scope, int field) {
  return scope == KIDX__FIELD_ANY || scope == field;
}

/* Index of position p in a loaded TERM matcher, or -1. */
static long find_pos(const matcher *m, uint32_t p) {
  uint32_t lo = 0, hi = m->npos;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (m->pos[mid] < p)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < m->npos && m->pos[lo] == p ? (long)lo : -1;
}

/* Receives matched positions (for snippets); may be NULL. */
typedef struct hits {
  kidx__buf *buf; /* uint32_t positions */
} hits;

static int add_hit(search *s, hits *h, uint32_t p) {
  if (!h)
    return KIDX_OK;
  uint8_t b[4];
  memcpy(b, &p, 4);
  return kidx__buf_append(h->buf, b, 4) ? oom(s) : KIDX_OK;
}

/* PHRASE: does some position of kid 0 start the phrase?  With h, records
 * every word of every occurrence. */
static int check_phrase(search *s, matcher *m, hits *h, int *ok) {
  const uint32_t *off = m->q->pos;
  int rc;
  *ok = 0;
  for (size_t i = 0; i < m->nkids; i++)
    if ((rc = load_positions(s, m->kids[i])))
      return rc;
  matcher *k0 = m->kids[0];
  for (uint32_t j = 0; j < k0->npos; j++) {
    uint32_t p = k0->pos[j];
    int field = pos_field(k0, j);
    if (!field_ok(m->field, field))
      continue;
    size_t i;
    for (i = 1; i < m->nkids; i++) {
      long at = find_pos(m->kids[i], p + off[i]);
      if (at < 0 || pos_field(m->kids[i], (uint32_t)at) != field)
        break;
    }
    if (i < m->nkids)
      continue;
    *ok = 1;
    if (!h)
      return KIDX_OK;
    for (i = 0; i < m->nkids; i++)
      if ((rc = add_hit(s, h, p + off[i])))
        return rc;
  }
  return KIDX_OK;
}

typedef struct tagged {
  uint32_t pos;
  uint32_t kid;
  int field;
} tagged;

static int cmp_tagged(const void *a, const void *b) {
  const tagged *x = a, *y = b;
  return (x->pos > y->pos) - (x->pos < y->pos);
}

/* NEAR: a window holding a position of every child, all in one field,
 * whose span has at most `distance` other words. */
static int check_near(search *s, matcher *m, hits *h, int *ok) {
  size_t total = 0, nk = m->nkids;
  int rc;
  *ok = 0;
  for (size_t i = 0; i < nk; i++) {
    if ((rc = load_positions(s, m->kids[i])))
      return rc;
    total += m->kids[i]->npos;
  }
  tagged *t = malloc(total * sizeof *t);
  uint32_t *count = calloc(nk, sizeof *count);
  if (!t || !count) {
    free(t);
    free(count);
    return oom(s);
  }
  size_t n = 0;
  for (size_t i = 0; i < nk; i++)
    for (uint32_t j = 0; j < m->kids[i]->npos; j++) {
      int field = pos_field(m->kids[i], j);
      if (field_ok(m->field, field))
        t[n++] = (tagged){m->kids[i]->pos[j], (uint32_t)i, field};
    }
  qsort(t, n, sizeof *t, cmp_tagged);
  /* Sliding window: for each right end, the shortest window that has all
   * children; it qualifies if its other words number <= distance. */
  size_t have = 0, left = 0;
  for (size_t right = 0; right < n && rc == KIDX_OK; right++) {
    if (count[t[right].kid]++ == 0)
      have++;
    while (have == nk && count[t[left].kid] > 1) {
      count[t[left].kid]--;
      left++;
    }
    if (have < nk || t[left].field != t[right].field)
      continue;
    /* Other words in the window: its span minus the distinct positions in
     * it (a repeated term, NEAR(run running), shares positions). */
    uint64_t span = (uint64_t)t[right].pos - t[left].pos + 1, distinct = 0;
    for (size_t i = left; i <= right; i++)
      distinct += i == left || t[i].pos != t[i - 1].pos;
    if (span - distinct > m->q->distance)
      continue;
    *ok = 1;
    if (!h)
      break;
    for (size_t i = left; i <= right && rc == KIDX_OK; i++)
      rc = add_hit(s, h, t[i].pos);
  }
  free(t);
  free(count);
  return rc;
}

/* ---- advancing ---- */

static int advance(search *s, matcher *m, uint32_t target);

static int advance_term(search *s, matcher *m, uint32_t target) {
  if (!m->exists) {
    m->doc = END;
    return KIDX_OK;
  }
  if (m->started && m->doc != END && m->doc >= target)
    return KIDX_OK;
  m->started = 1;
  int r = m->bad ? KIDX_ECORRUPT : kidx__pcur_advance(&m->cur, target);
  for (;;) {
    if (r < 0)
      return damaged(s, m);
    if (r == 0) {
      m->doc = END;
      return KIDX_OK;
    }
    if (m->field == KIDX__FIELD_ANY) {
      m->doc = m->cur.doc;
      return KIDX_OK;
    }
    /* A field-scoped term skips the entries without it in the field. */
    if (kidx__pcur_freqs(&m->cur))
      return damaged(s, m);
    uint32_t in_body = m->cur.tf - m->cur.tf_title;
    if (!(m->field == KIDX__FIELD_TITLE && m->cur.tf_title == 0) &&
        !(m->field == KIDX__FIELD_BODY && in_body == 0)) {
      m->doc = m->cur.doc;
      return KIDX_OK;
    }
    r = kidx__pcur_next(&m->cur);
  }
}

static int advance_or(search *s, matcher *m, uint32_t target) {
  uint32_t best = END;
  for (size_t i = 0; i < m->nkids; i++) {
    matcher *k = m->kids[i];
    if (!k->started || (k->doc != END && k->doc < target)) {
      int rc = advance(s, k, target);
      if (rc)
        return rc;
    }
    if (k->doc < best)
      best = k->doc;
  }
  m->doc = best;
  return KIDX_OK;
}

/* Advances every child to the same document >= target (leapfrog). */
static int advance_all(search *s, matcher *m, uint32_t target) {
  uint32_t t = target;
  for (;;) {
    int agreed = 1;
    matcher **kids = m->lead ? m->lead : m->kids;
    for (size_t i = 0; i < m->nkids; i++) {
      matcher *k = kids[i];
      if (!k->started || k->doc < t) {
        int rc = advance(s, k, t);
        if (rc)
          return rc;
      }
      if (k->doc == END) {
        m->doc = END;
        return KIDX_OK;
      }
      if (k->doc > t) {
        /* Back to the rarest kid with the new target: the kids after
         * this one are not moved to a document that cannot match. */
        t = k->doc;
        agreed = 0;
        break;
      }
    }
    if (agreed) {
      m->doc = t;
      return KIDX_OK;
    }
  }
}

static int advance_not(search *s, matcher *m, uint32_t target) {
  matcher *yes = m->kids[0], *no = m->kids[1];
  uint32_t t = target;
  for (;;) {
    int rc = advance(s, yes, t);
    if (rc)
      return rc;
    if (yes->doc == END) {
      m->doc = END;
      return KIDX_OK;
    }
    if (!no->started || (no->doc != END && no->doc < yes->doc))
      if ((rc = advance(s, no, yes->doc)))
        return rc;
    if (no->doc != yes->doc) {
      m->doc = yes->doc;
      return KIDX_OK;
    }
    t = yes->doc + 1;
  }
}

static int advance_positional(search *s, matcher *m, uint32_t target) {
  uint32_t t = target;
  for (;;) {
    int rc = advance_all(s, m, t), ok;
    if (rc || m->doc == END)
      return rc;
    rc = m->kind == KIDX__Q_PHRASE ? check_phrase(s, m, NULL, &ok)
                                   : check_near(s, m, NULL, &ok);
    if (rc || ok)
      return rc;
    t = m->doc + 1;
  }
}

static int advance(search *s, matcher *m, uint32_t target) {
  if (target == END) {
    m->doc = END;
    m->started = 1;
    return KIDX_OK;
  }
  int rc;
  switch (m->kind) {
  case KIDX__Q_TERM:
    return advance_term(s, m, target);
  case KIDX__Q_PREFIX:
  case KIDX__Q_OR:
    rc = advance_or(s, m, target);
    break;
  case KIDX__Q_AND:
    rc = advance_all(s, m, target);
    break;
  case KIDX__Q_NOT:
    rc = advance_not(s, m, target);
    break;
  default:
    rc = advance_positional(s, m, target);
    break;
  }
  m->started = 1;
  return rc;
}

/* ---- scoring ---- */

/* The field norms B_f of document doc of the segment, computed once per
 * document however many terms are scored in it. */
static const double *doc_norms(search *s, uint32_t doc) {
  if (s->norm_doc != doc) {
    uint32_t len[KIDX__NFIELDS];
    if (kidx__segment_doclens(s->seg, doc, &len[0], &len[1]))
      s->lens_bad = 1; /* the search fails at the segment's end */
    for (int f = 0; f < KIDX__NFIELDS; f++)
      s->norm[f] = kidx__scorer_norm(s->sc, f, len[f]);
    s->norm_doc = doc;
  }
  return s->norm;
}

/* The current entry's frequencies (its block's decoded if need be): on
 * damage, 0 and 0, and the segment's search fails at its end as with a
 * damaged length (lens_check), naming the postings. */
static void need_freqs(search *s, matcher *m) {
  if (kidx__pcur_freqs(&m->cur)) {
    kidx__segment_bad(
        s->seg, KIDX__SEC_POSTINGS,
        (uint64_t)(m->term.post - s->seg->sec[KIDX__SEC_POSTINGS]));
    s->lens_bad = 1;
    m->cur.tf = m->cur.tf_title = 0;
  }
}

/* A TERM's combined frequency in the document it is on. */
static double term_tfc(search *s, matcher *m) {
  need_freqs(s, m);
  uint32_t tf[2] = {m->cur.tf_title, m->cur.tf - m->cur.tf_title};
  return kidx__tfc(m->w, tf, doc_norms(s, m->doc));
}

/* A TERM's share of the score of the document it is on:
 *     idf * saturate(sum over fields of w_f * tf_f / B_f)
 * computed here only (explanations included, pruning caches it), in one
 * order, so that the same document always gets the same bits. */
/* Entries ahead of the one scored whose field lengths are fetched into
 * the cache meanwhile: the documents a query scores are scattered over
 * the lengths table, one cache miss each otherwise (about as long as
 * scoring a few documents). */
#define LENS_AHEAD 4u

static void prefetch_lens(const search *s, const matcher *m) {
  const kidx__pcur *c = &m->cur;
  if (!c->decoded)
    return;
  uint32_t from = c->i == 0 ? 1 : c->i + LENS_AHEAD;
  uint32_t to = c->i + LENS_AHEAD < c->n ? c->i + LENS_AHEAD : c->n - 1;
  for (uint32_t j = from; j <= to; j++)
    KIDX__PREFETCH(kidx__segment_doclens_at(s->seg, c->docs_a[j]));
}

static double term_score(search *s, matcher *m) {
  if (m->share_doc == m->doc)
    return m->share;
  need_freqs(s, m);
  prefetch_lens(s, m);
  const double *norm = doc_norms(s, m->doc);
  uint32_t tf[2] = {m->cur.tf_title, m->cur.tf - m->cur.tf_title};
  m->share = m->idf * kidx__scorer_tf(s->sc, m->w, tf, norm);
  m->share_doc = m->doc;
  return m->share;
}

/* Buckets of sat_bound: 2^SAT_BITS per octave of tfc over [2^SAT_EXP_MIN,
 * 2^SAT_EXP_MAX), where combined frequencies fall (a tf of 1 in a field
 * thousands of times the average length, up to tens of thousands of
 * occurrences); saturate is computed outside.  A bucket is 1/256 of its
 * octave wide, so a bound exceeds the saturation by less than 0.4% of
 * tfc times its slope: a candidate is scored exactly only when its bound
 * comes that close to the threshold. */
#define SAT_BITS    8
#define SAT_EXP_MIN (-16)
#define SAT_EXP_MAX 16
#define SAT_BUCKETS ((size_t)(SAT_EXP_MAX - SAT_EXP_MIN) << SAT_BITS)

/* An upper bound of saturate(tfc) that costs no logarithm (TF-IDF's takes
 * two, and pruned candidates are most of what a search of common words
 * scores): saturate's value at the largest double of tfc's bucket, since
 * it never decreases (up to an ulp of log's rounding, far inside the
 * margin of below()), computed the first time the search meets the
 * bucket.  0.0 in s->sat: not computed yet (saturate > 0 for tfc > 0). */
static double sat_bound(search *s, double tfc) {
  uint64_t bits;
  memcpy(&bits, &tfc, sizeof bits);
  int e = (int)(bits >> 52) - 1023; /* the exponent, tfc > 0 */
  if (!s->sat || !(tfc > 0.0) || e < SAT_EXP_MIN || e >= SAT_EXP_MAX)
    return kidx__scorer_saturate(s->sc, tfc);
  size_t mask = ((size_t)1 << SAT_BITS) - 1;
  size_t i = ((size_t)(e - SAT_EXP_MIN) << SAT_BITS) |
             ((size_t)(bits >> (52 - SAT_BITS)) & mask);
  if (s->sat[i] == 0.0) {
    uint64_t top = bits | (((uint64_t)1 << (52 - SAT_BITS)) - 1);
    double x;
    memcpy(&x, &top, sizeof x);
    s->sat[i] = kidx__scorer_saturate(s->sc, x);
  }
  return s->sat[i];
}

/* An upper bound of term_score, with sat_bound: rounding never turns
 * a larger factor into a smaller product. */
static double term_bound(search *s, matcher *m) {
  if (m->share_doc == m->doc)
    return m->share;
  return m->idf * sat_bound(s, term_tfc(s, m));
}

/* The explanation of a TERM's share (kidx_explain). */
static void term_share(search *s, matcher *m, kidx_explain *e) {
  need_freqs(s, m);
  const double *norm = doc_norms(s, m->doc);
  uint32_t tf[2] = {m->cur.tf_title, m->cur.tf - m->cur.tf_title};
  uint32_t len[KIDX__NFIELDS];
  if (kidx__segment_doclens(s->seg, m->doc, &len[0], &len[1]))
    s->lens_bad = 1;
  memset(e, 0, sizeof *e);
  e->term = m->term.text;
  e->term_len = m->term.len;
  e->field = m->field == KIDX__FIELD_TITLE  ? KIDX_FIELD_TITLE
             : m->field == KIDX__FIELD_BODY ? KIDX_FIELD_BODY
                                            : -1;
  e->df = m->gdf;
  e->idf = m->idf;
  for (int f = 0; f < KIDX__NFIELDS; f++) {
    e->tf[f] = tf[f];
    e->len[f] = len[f];
    e->norm[f] = norm[f];
    e->weight[f] = m->w[f];
  }
  e->tfc = kidx__tfc(m->w, tf, norm);
  e->score = term_score(s, m);
}

/* Visits the TERM matchers that count for document doc (see the file
 * comment), in query order. */
typedef int (*visit_fn)(search *s, matcher *m, void *ctx);

static int visit(search *s, matcher *m, uint32_t doc, visit_fn fn, void *ctx) {
  if (m->doc != doc)
    return KIDX_OK;
  if (m->kind == KIDX__Q_TERM)
    return fn(s, m, ctx);
  size_t n = m->kind == KIDX__Q_NOT ? 1 : m->nkids;
  for (size_t i = 0; i < n; i++) {
    int rc = visit(s, m->kids[i], doc, fn, ctx);
    if (rc)
      return rc;
  }
  return KIDX_OK;
}

typedef struct score_ctx {
  double score;
  kidx__buf *explain; /* kidx_explain entries, or NULL */
  kidx__buf *texts;   /* their terms' bytes, in the same order */
} score_ctx;

static int add_share(search *s, matcher *m, void *ctx) {
  score_ctx *c = ctx;
  if (!c->explain) {
    c->score += term_score(s, m);
    return KIDX_OK;
  }
  kidx_explain e;
  term_share(s, m, &e);
  c->score += e.score;
  /* The term's text lives in the matcher, which the search frees: the
   * caller gets a copy in texts and sets e.term (kidx__search_hits). */
  if (kidx__buf_append(c->texts, e.term, e.term_len))
    return oom(s);
  e.term = NULL;
  if (kidx__buf_append(c->explain, &e, sizeof e))
    return oom(s);
  return KIDX_OK;
}

/* The score of document doc, which m matches (m->doc == doc): the sum of
 * its matched terms' shares in query order. */
static int score_doc(search *s, matcher *m, uint32_t doc, double *score,
                     kidx__buf *explain, kidx__buf *texts) {
  score_ctx c = {0.0, explain, texts};
  int rc = visit(s, m, doc, add_share, &c);
  *score = c.score;
  return rc;
}

/* ---- positions of a hit, for snippets ---- */

static int collect_hits(search *s, matcher *m, uint32_t doc, hits *h) {
  if (m->doc != doc)
    return KIDX_OK;
  int rc, ok;
  switch (m->kind) {
  case KIDX__Q_TERM:
    if ((rc = load_positions(s, m)))
      return rc;
    for (uint32_t j = 0; j < m->npos; j++)
      if (field_ok(m->field, pos_field(m, j)) &&
          (rc = add_hit(s, h, m->pos[j])))
        return rc;
    return KIDX_OK;
  case KIDX__Q_PHRASE:
    return check_phrase(s, m, h, &ok);
  case KIDX__Q_NEAR:
    return check_near(s, m, h, &ok);
  default:
    for (size_t i = 0; i < (m->kind == KIDX__Q_NOT ? 1 : m->nkids); i++)
      if ((rc = collect_hits(s, m->kids[i], doc, h)))
        return rc;
    return KIDX_OK;
  }
}

/* ---- index-wide statistics (the first pass) ---- */

static int damaged_term(search *s, const char *path, const char *text,
                        size_t len) {
  return kidx__err(s->errmsg, KIDX_ECORRUPT,
                   "%s is damaged: bad postings for '%.*s'", path, (int)len,
                   text);
}

static int put_df(search *s, const char *text, size_t len, uint64_t df) {
  uint32_t old;
  int found;
  /* df < UINT32_MAX: it counts global document numbers. */
  return kidx__strmap_upsert(s->dfs, text, len, (uint32_t)df, &old, &found)
             ? oom(s)
             : KIDX_OK;
}

/* Records the live df of a term over all segments, once per term, and
 * where each segment has it. */
static int term_df(search *s, const char *text, size_t len) {
  uint32_t have;
  if (kidx__strmap_get(s->dfs, text, len, &have))
    return KIDX_OK;
  size_t n = s->snap->nsegs ? s->snap->nsegs : 1;
  kidx__term *grown = realloc(s->found, (s->nslots + 1) * n * sizeof *grown);
  uint32_t old;
  int was;
  if (!grown)
    return oom(s);
  s->found = grown;
  kidx__term *slot = grown + s->nslots * n;
  if (kidx__strmap_upsert(s->slots, text, len, (uint32_t)s->nslots, &old, &was))
    return oom(s);
  s->nslots++;
  uint64_t df = 0;
  for (size_t i = 0; i < s->snap->nsegs; i++) {
    const kidx__segref *r = &s->snap->segs[i];
    uint64_t d;
    int found = kidx__segment_find(&r->seg, text, len, &slot[i]);
    if (found <= 0)
      slot[i].post = NULL;
    if (found < 0)
      return kidx__segment_damage(&r->seg, s->errmsg);
    if (!found)
      continue;
    if (kidx__segref_live_df(r, &slot[i], &d))
      return atomic_load(&r->seg.st->damage)
                 ? kidx__segment_damage(&r->seg, s->errmsg)
                 : damaged_term(s, r->path, text, len);
    df += d;
  }
  return put_df(s, text, len, df);
}

/* Records the live df of every term of the index that starts with the
 * prefix: a merge of the segments' dictionaries from the prefix on.  Only
 * terms in some live document count towards the expansion limit, as they
 * alone would be left after a merge. */
static int prefix_dfs(search *s, const kidx__qnode *q) {
  size_t n = s->snap->nsegs, count = 0;
  kidx__termmerge m;
  if (kidx__termmerge_init(&m, n))
    return oom(s);
  for (size_t i = 0; i < n; i++)
    kidx__termmerge_segment(&m, i, &s->snap->segs[i].seg);
  int on = kidx__termmerge_start(&m, q->text, q->len), rc = KIDX_OK;
  while (!rc && on == KIDX_OK && (on = kidx__termmerge_next(&m)) == 1) {
    on = KIDX_OK;
    uint64_t df = 0;
    for (size_t k = 0; k < m.nwhich && !rc; k++) {
      const kidx__segref *r = &s->snap->segs[m.which[k]];
      uint64_t d;
      if (kidx__segref_live_df(r, kidx__termmerge_term(&m, m.which[k]), &d))
        rc = atomic_load(&r->seg.st->damage)
                 ? kidx__segment_damage(&r->seg, s->errmsg)
                 : damaged_term(s, r->path, m.text, m.len);
      df += d;
    }
    /* Only terms of live documents are recorded: the others match
     * nothing, and must take no memory however many there are. */
    if (!rc && df > 0)
      rc = put_df(s, m.text, m.len, df);
    if (!rc && df > 0 && ++count > MAX_PREFIX_TERMS) {
      *s->column = q->column;
      rc = kidx__err(s->errmsg, KIDX_EQUERY,
                     "query error at column %zu: '%.*s*' matches more than "
                     "%d terms; use a longer prefix",
                     q->column, (int)q->len, q->text, MAX_PREFIX_TERMS);
    }
  }
  if (!rc && on < 0)
    rc = kidx__segment_damage(&s->snap->segs[m.bad].seg, s->errmsg);
  kidx__termmerge_free(&m);
  return rc;
}

static int prepare(search *s, const kidx__qnode *q) {
  if (q->kind == KIDX__Q_TERM)
    return term_df(s, q->text, q->len);
  if (q->kind == KIDX__Q_PREFIX)
    return prefix_dfs(s, q);
  for (size_t i = 0; i < q->nkids; i++) {
    int rc = prepare(s, q->kids[i]);
    if (rc)
      return rc;
  }
  return KIDX_OK;
}

static int search_begin(search *s, const kidx__snapshot *snap,
                        const kidx__qnode *root, const kidx__scorer *sc,
                        size_t *column, char *errmsg) {
  memset(s, 0, sizeof *s);
  s->snap = snap;
  s->sc = sc;
  s->errmsg = errmsg;
  s->column = column;
  if (kidx__strmap_new(&s->dfs) || kidx__strmap_new(&s->slots))
    return oom(s);
  return prepare(s, root);
}

static void search_segment(search *s, size_t i) {
  s->segno = i;
  s->ref = &s->snap->segs[i];
  s->seg = &s->ref->seg;
  s->path = s->ref->path;
  s->norm_doc = END;
  s->lens_bad = 0;
}

/* A segment's search succeeded, but read a damaged document length:
 * its scores are wrong, so the search fails. */
static int lens_check(search *s, int rc) {
  return !rc && s->lens_bad ? kidx__segment_damage(s->seg, s->errmsg) : rc;
}

/* ---- top k with dynamic pruning ---- */

/* Once the collector holds k hits, a document must score at least the
 * k-th best (and, on a tie, have a smaller id) to enter: a document
 * whose score is bounded below that threshold is passed over unscored.
 * Bounds come from the lists (the whole list's, for MaxScore's split of
 * the terms) and from their blocks (for a window of documents), and are
 * compared with `below`, which leaves a margin for the rounding of sums
 * taken in another order than the score's: the documents kept, their
 * scores and their order are exactly those of the exhaustive evaluation
 * (tests/check_prune.c compares both). */

typedef struct pruner {
  search *s;
  kidx__topk *topk;
  uint64_t *total;
  int pruned; /* some match may have been passed over uncounted */
} pruner;

/* x (a bound or a partial sum) is certainly below the threshold t. */
static int below(double x, double t) {
  return x + fabs(x) * 1e-9 + 1e-300 < t;
}

static double threshold(const pruner *p) {
  double t;
  return kidx__topk_threshold(p->topk, &t) ? t : -INFINITY;
}

/* A bound of m's score in documents from d to *wend (lowered to the end
 * of the window the bound holds in; END: no limit).  A TERM uses the
 * block holding d without decoding it; other kinds add their kids'. */
static int window_bound(search *s, matcher *m, uint32_t d, uint32_t *wend,
                        double *ub, int *live) {
  if (m->kind != KIDX__Q_TERM) {
    size_t n = m->kind == KIDX__Q_NOT ? 1 : m->nkids;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
      double k;
      int rc = window_bound(s, m->kids[i], d, wend, &k, live);
      if (rc)
        return rc;
      sum += k;
    }
    *ub = sum;
    return KIDX_OK;
  }
  *ub = 0.0;
  if (!m->exists || (m->started && m->doc == END))
    return KIDX_OK;
  if (m->bad)
    return damaged(s, m);
  int r = kidx__pcur_shallow(&m->cur, d);
  if (r < 0)
    return damaged(s, m);
  if (r == 0)
    return KIDX_OK; /* no document left at or after d */
  if (m->bound_blk != m->cur.blk) {
    m->blk_ub =
        kidx__scorer_bound(s->sc, m->w, &m->cur.blk_bound, m->idf, m->scale);
    m->bound_blk = m->cur.blk;
  }
  if (m->cur.last < *wend)
    *wend = (uint32_t)m->cur.last;
  *ub = m->blk_ub;
  *live = 1;
  return KIDX_OK;
}

/* The score m's matched terms give its current document. */
static int kid_score(search *s, matcher *m, double *score) {
  if (m->kind == KIDX__Q_TERM) {
    *score = term_score(s, m);
    return KIDX_OK;
  }
  return score_doc(s, m, m->doc, score, NULL, NULL);
}

static int add_bound(search *s, matcher *m, void *ctx) {
  ((score_ctx *)ctx)->score += term_bound(s, m);
  return KIDX_OK;
}

/* An upper bound of kid_score: the same sum, in the same order, of
 * term_bound's, each at least its term_score. */
static double kid_bound(search *s, matcher *m) {
  if (m->kind == KIDX__Q_TERM)
    return term_bound(s, m);
  score_ctx c = {0.0, NULL, NULL};
  visit(s, m, m->doc, add_bound, &c);
  return c.score;
}

static int offer(pruner *p, matcher *root, uint32_t d) {
  double score;
  int rc = score_doc(p->s, root, d, &score, NULL, NULL);
  if (rc)
    return rc;
  (*p->total)++;
  kidx__topk_push(p->topk, score, (uint32_t)(p->s->ref->base + d));
  return KIDX_OK;
}

/* Any query: every match is found, but a window of documents whose bound
 * is below the threshold is skipped at once (block-max AND when the root
 * is an AND; for phrases and NEAR, the positions of those documents are
 * never read). */
/* A bound of a TERM's share in an entry of its current block (tf_all
 * occurrences, tf_title of them in the title) from those frequencies
 * alone: per field, len_f / tf_f is at least the block's smallest ratio
 * (kidx__pbound), so, for any parameters,
 *     tf_f / B_f <= tf_f / ((1 - b) + (b / avglen_f) * tf_f * ratio_f).
 * The two coefficients are kept per block. */
static double tf_bound_of(search *s, matcher *m, uint32_t tf_title,
                          uint32_t tf_all) {
  /* The bound of the block the entry was decoded from, which the table
   * may have left since. */
  const kidx__pcur *c = &m->cur;
  const kidx__pbound *b = &c->dec_bound;
  if (m->tfb_blk != c->dec_blk) {
    for (int f = 0; f < KIDX__NFIELDS; f++)
      m->tfb_c[f] =
          b->max_tf[f] ? s->sc->slope[f] * b->len[f] / b->tf[f] : INFINITY;
    m->tfb_blk = c->dec_blk;
  }
  uint32_t tf[2] = {tf_title, tf_all - tf_title};
  double tfc = 0.0;
  for (int f = 0; f < KIDX__NFIELDS; f++)
    if (tf[f] && m->w[f] > 0.0)
      tfc += m->w[f] * tf[f] / ((1.0 - s->sc->b) + m->tfb_c[f] * tf[f]);
  return m->idf * sat_bound(s, tfc);
}

/* The same for the entry it is on. */
static double tf_bound(search *s, matcher *m) {
  need_freqs(s, m);
  return tf_bound_of(s, m, m->cur.tf_title, m->cur.tf);
}

static int run_windows_loop(pruner *p, matcher *root, double *rest);

static int run_windows(pruner *p, matcher *root) {
  search *s = p->s;
  /* A root AND of TERMs also checks a document kid by kid (below). */
  int terms = root->kind == KIDX__Q_AND && root->nkids > 1;
  for (size_t i = 0; terms && i < root->nkids; i++)
    terms = root->kids[i]->kind == KIDX__Q_TERM;
  /* rest[i]: the block bounds of kids i + 1 .. n - 1, summed (not taken
   * off the total by subtraction, which can cancel to less). */
  double *rest = terms ? malloc(root->nkids * sizeof *rest) : NULL;
  if (terms && !rest)
    return oom(s);
  int rc = run_windows_loop(p, root, rest);
  free(rest);
  return rc;
}

static int run_windows_loop(pruner *p, matcher *root, double *rest) {
  search *s = p->s;
  uint32_t target = 0;
  /* The current window [from, wend] and its bound: every kid's block
   * is the same throughout, so the bound holds until wend. */
  uint32_t from = END, wend = END;
  double ub = INFINITY;
  for (;;) {
    int rc = advance(s, root, target);
    if (rc || root->doc == END)
      return rc;
    uint32_t d = root->doc;
    target = d + 1;
    if (kidx__bit_get(s->ref->dead, d))
      continue;
    double t = threshold(p);
    if (t > -INFINITY) {
      if (from == END || d < from || d > wend) {
        int live = 0;
        from = d;
        wend = END;
        if ((rc = window_bound(s, root, d, &wend, &ub, &live)))
          return rc;
        for (size_t i = root->nkids; rest && i-- > 0;)
          rest[i] = i + 1 < root->nkids
                        ? rest[i + 1] + root->kids[i + 1]->blk_ub
                        : 0.0;
      }
      if (below(ub, t)) {
        p->pruned = 1;
        target = wend == END ? END : wend + 1;
        continue;
      }
      if (rest) {
        /* Block-max AND per document (as Lucene's conjunction with
         * impacts does): the shares so far, plus the other kids' block
         * bounds, may already fall below; then the rest is not scored.
         * The kids' blk_ub are those of the window's blocks. */
        double partial = 0.0;
        int out = 0;
        /* First from the decoded frequencies alone (no lengths read). */
        for (size_t i = 0; i < root->nkids; i++)
          partial += tf_bound(s, root->kids[i]);
        out = below(partial, t);
        partial = 0.0;
        for (size_t i = 0; i < root->nkids && !out; i++) {
          partial += term_score(s, root->kids[i]);
          out = below(partial + rest[i], t);
        }
        if (out) {
          p->pruned = 1;
          continue;
        }
      }
    }
    if ((rc = offer(p, root, d)))
      return rc;
  }
}

/* One kid of a disjunction under MaxScore, with its bound in the current
 * window. */
typedef struct mkid {
  matcher *m;
  double ub;
  double before; /* the bounds of the kids before it, summed in order */
  int live;      /* it has a block in the window */
} mkid;

static int cmp_mkid(const void *a, const void *b) {
  const mkid *x = a, *y = b;
  return (x->ub > y->ub) - (x->ub < y->ub);
}

/* Moves kid m to its first match >= target unless it is there. */
static int catch_up(search *s, matcher *m, uint32_t target) {
  if (m->started && (m->doc == END || m->doc >= target))
    return KIDX_OK;
  return advance(s, m, target);
}

/* Offers d, which kids[0..n) are at or past, unless excl matches it. */
static int offer_or(pruner *p, matcher *root, matcher * or, matcher *excl,
                    uint32_t d) {
  if (excl) {
    int rc = catch_up(p->s, excl, d);
    if (rc || excl->doc == d)
      return rc;
  }
  or->doc = d;
  root->doc = d;
  return offer(p, root, d);
}

/* A window of a MaxScore search: its kids sorted by their bound in it,
 * k[0..ne) non-essential with bounds summing to rest. */
typedef struct mwin {
  matcher *root, * or, *excl;
  mkid *k;
  size_t ne, n;
  double rest;
} mwin;

/* Candidate d of window w, every essential kid at or past d: passed over
 * when a bound of its score leaves it no chance of entering the top k,
 * else scored exactly and offered if it can enter. */
static int consider(pruner *p, const mwin *w, uint32_t d) {
  search *s = p->s;
  const mkid *k = w->k;
  size_t ne = w->ne, n = w->n;
  int rc = KIDX_OK;
  double t = threshold(p);
  /* Nearly every candidate of a window is passed over here, before its
   * essential kids' exact scores, by bounds that cost less: first one
   * from the decoded frequencies alone (a TERM's lengths, a cache miss
   * each, are not read), then, for TF-IDF, one that reads the lengths
   * but takes no logarithm.  Those they pass over are among those the
   * exact test below would. */
  double ubd = 0.0;
  for (size_t i = ne; i < n; i++)
    if (k[i].m->doc == d)
      ubd += k[i].m->kind == KIDX__Q_TERM ? tf_bound(s, k[i].m) : k[i].ub;
  if (below(ubd + w->rest, t)) {
    p->pruned = 1;
    return KIDX_OK;
  }
  if (s->sc->rank == KIDX_RANK_TFIDF) {
    ubd = 0.0;
    for (size_t i = ne; i < n; i++)
      if (k[i].m->doc == d)
        ubd += kid_bound(s, k[i].m);
    if (below(ubd + w->rest, t)) {
      p->pruned = 1;
      return KIDX_OK;
    }
  }
  double partial = 0.0;
  for (size_t i = ne; i < n && !rc; i++)
    if (k[i].m->doc == d) {
      double sc;
      rc = kid_score(s, k[i].m, &sc);
      partial += sc;
    }
  /* The non-essential kids are probed from the largest bound down; the
   * bounds of those left are their prefix sums (`before`), not the total
   * minus what was probed, which can cancel below the true sum. */
  int out = below(partial + w->rest, t);
  for (size_t i = ne; i-- > 0 && !rc && !out;) {
    rc = catch_up(s, k[i].m, d);
    if (!rc && k[i].m->doc == d) {
      double sc;
      rc = kid_score(s, k[i].m, &sc);
      partial += sc;
    }
    out = below(partial + k[i].before, t);
  }
  if (rc)
    return rc;
  if (out) {
    p->pruned = 1;
    return KIDX_OK;
  }
  return offer_or(p, w->root, w->or, w->excl, d);
}

/* A disjunction (root OR or PREFIX, or the included side `or` of a root
 * NOT whose excluded side is `excl`): block-max MaxScore (Turtle and
 * Flood, "Query evaluation: strategies and optimizations", IP&M 1995;
 * with per-block bounds as in Chakrabarti et al., WSDM 2011, and Lucene's
 * MaxScoreBulkScorer).  Documents are taken in windows that end with the
 * first block end of any kid, so that every kid has one bound for the
 * whole window.  Kids sorted by that bound, the longest prefix of them
 * whose bounds sum below the threshold is non-essential: a document
 * matching only those cannot enter, so candidates come from the other
 * (essential) kids alone, and the non-essential ones are only probed for
 * a candidate whose partial score leaves it a chance.  When every kid is
 * non-essential the window is skipped without decoding anything. */
static int run_maxscore(pruner *p, matcher *root, matcher * or, matcher *excl) {
  search *s = p->s;
  size_t n = or->nkids;
  mkid *k = malloc((n ? n : 1) * sizeof *k);
  if (!k)
    return oom(s);
  int rc = KIDX_OK;
  uint32_t target = 0;
  for (size_t i = 0; i < n; i++)
    k[i].m = or->kids[i];
  /* The saturation bounds serve every segment's search, for TF-IDF,
   * whose saturation takes two logarithms (BM25's takes a division, no
   * dearer than the table); without memory, saturate itself bounds. */
  if (!s->sat && s->sc->rank == KIDX_RANK_TFIDF)
    s->sat = calloc(SAT_BUCKETS, sizeof *s->sat);
  while (!rc && target != END) {
    double t = threshold(p);
    if (t == -INFINITY) {
      /* Not k hits yet: every match counts. */
      uint32_t d = END;
      for (size_t i = 0; i < n && !rc; i++) {
        rc = catch_up(s, or->kids[i], target);
        if (or->kids[i]->doc < d)
          d = or->kids[i]->doc;
      }
      if (rc || d == END)
        break;
      target = d + 1;
      if (!kidx__bit_get(s->ref->dead, d))
        rc = offer_or(p, root, or, excl, d);
      continue;
    }
    /* The window [target, wend] and each kid's bound in it. */
    uint32_t wend = END;
    for (size_t i = 0; i < n && !rc; i++) {
      k[i].live = 0;
      rc = window_bound(s, k[i].m, target, &wend, &k[i].ub, &k[i].live);
    }
    if (rc)
      break;
    /* By bound.  The order of the last window is kept, and changes little
     * from one to the next: an insertion sort for the few words of most
     * queries, qsort for the many terms of a prefix. */
    if (n > 16)
      qsort(k, n, sizeof *k, cmp_mkid);
    for (size_t i = 1; i < n && n <= 16; i++)
      for (size_t j = i; j > 0 && cmp_mkid(&k[j - 1], &k[j]) > 0; j--) {
        mkid tmp = k[j];
        k[j] = k[j - 1];
        k[j - 1] = tmp;
      }
    mwin w = {root, or, excl, k, 0, n, 0.0};
    while (w.ne < n && below(w.rest + k[w.ne].ub, t)) {
      k[w.ne].before = w.rest;
      w.rest += k[w.ne++].ub;
    }
    /* Documents only non-essential kids match are never seen: the count
     * is a lower bound if any such kid has a block here.  (A window ends
     * at some kid's document, so skipping one skips a match.) */
    for (size_t i = 0; i < w.ne; i++)
      if (k[i].live)
        p->pruned = 1;
    if (w.ne == n) {
      target = wend == END ? END : wend + 1;
      continue;
    }
    /* Candidates of the window, from the essential kids. */
    for (;;) {
      uint32_t d = END;
      for (size_t i = w.ne; i < n && !rc; i++) {
        rc = catch_up(s, k[i].m, target);
        if (k[i].m->doc < d)
          d = k[i].m->doc;
      }
      if (rc)
        break;
      if (d == END) {
        /* The essential kids are done; in this window the others cannot
         * enter alone, but later blocks may bound them higher. */
        target = wend == END ? END : wend + 1;
        break;
      }
      if (d > wend) {
        /* Past the window.  The next one starts right after it, not at
         * d: kids non-essential here may have documents before d that
         * their next blocks bound higher. */
        target = wend + 1;
        break;
      }
      target = d + 1;
      if (kidx__bit_get(s->ref->dead, d))
        continue;
      if ((rc = consider(p, &w, d)))
        break;
    }
  }
  free(k);
  return rc;
}

/* The exhaustive evaluation: every match scored and counted. */
static int run_all(pruner *p, matcher *root) {
  int rc = advance(p->s, root, 0);
  while (!rc && root->doc != END) {
    uint32_t doc = root->doc;
    /* Deleted documents are filtered here, at the root: whether a
     * document matches never depends on another one. */
    if (!kidx__bit_get(p->s->ref->dead, doc) && (rc = offer(p, root, doc)))
      break;
    rc = advance(p->s, root, doc + 1);
  }
  return rc;
}

static int is_or(const matcher *m) {
  return m->kind == KIDX__Q_OR || m->kind == KIDX__Q_PREFIX;
}

/* ---- entry points ---- */

int kidx__search_run(const kidx__snapshot *snap, const kidx__qnode *root,
                     const kidx__scorer *sc, int exact, kidx__topk *topk,
                     uint64_t *total, int *total_exact, size_t *column,
                     char *errmsg) {
  search s;
  pruner p = {&s, topk, total, 0};
  *total = 0;
  int rc = search_begin(&s, snap, root, sc, column, errmsg);
  for (size_t i = 0; i < snap->nsegs && !rc; i++) {
    search_segment(&s, i);
    matcher *m;
    rc = build(&s, root, &m);
    if (rc) {
      /* nothing */
    } else if (exact || topk->k == 0 || !kidx__scorer_prunable(sc)) {
      rc = run_all(&p, m);
    } else if (is_or(m)) {
      rc = run_maxscore(&p, m, m, NULL);
    } else if (m->kind == KIDX__Q_TERM) {
      matcher one = {0};
      matcher *kid = m;
      one.kind = KIDX__Q_OR;
      one.kids = &kid;
      one.nkids = 1;
      one.ub = m->ub;
      one.doc = END;
      rc = run_maxscore(&p, m, &one, NULL);
    } else if (m->kind == KIDX__Q_NOT && is_or(m->kids[0])) {
      rc = run_maxscore(&p, m, m->kids[0], m->kids[1]);
    } else {
      rc = run_windows(&p, m);
    }
    rc = lens_check(&s, rc);
    free_matchers(&s);
  }
  kidx__strmap_free(s.dfs);
  kidx__strmap_free(s.slots);
  free(s.found);
  free(s.sat);
  *total_exact = !p.pruned;
  return rc;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

int kidx__search_hits(const kidx__snapshot *snap, const kidx__qnode *root,
                      const kidx__scorer *sc, const uint32_t *docs, size_t n,
                      kidx__buf *explain, kidx__buf *texts,
                      kidx__buf *positions, char *errmsg) {
  size_t column = 0;
  search s;
  int rc = search_begin(&s, snap, root, sc, &column, errmsg);
  /* One pass per segment: the documents come in increasing order, so each
   * postings list is read once for the whole page instead of once per
   * hit. */
  size_t i = 0;
  while (i < n && !rc) {
    search_segment(&s, kidx__snapshot_seg_of(snap, docs[i]));
    uint64_t end = s.ref->base + s.seg->ndocs;
    matcher *m;
    rc = build(&s, root, &m);
    for (; i < n && docs[i] < end && !rc; i++) {
      uint32_t doc = (uint32_t)(docs[i] - s.ref->base);
      if ((rc = advance(&s, m, doc)))
        break;
      if (m->doc != doc) {
        rc = kidx__err(errmsg, KIDX_ECORRUPT,
                       "%s is damaged: a hit did not match again", s.path);
        break;
      }
      double score;
      if (explain &&
          (rc = score_doc(&s, m, doc, &score, &explain[i], &texts[i])))
        break;
      if (positions) {
        hits h = {&positions[i]};
        kidx__buf *b = &positions[i];
        if ((rc = collect_hits(&s, m, doc, &h)))
          break;
        /* Sorted and without duplicates (a word in two phrases). */
        uint32_t *p = (uint32_t *)(void *)b->p;
        size_t np = b->n / 4, k = 0;
        qsort(p, np, sizeof *p, cmp_u32);
        for (size_t j = 0; j < np; j++)
          if (k == 0 || p[j] != p[k - 1])
            p[k++] = p[j];
        b->n = k * 4;
      }
    }
    rc = lens_check(&s, rc);
    free_matchers(&s);
  }
  kidx__strmap_free(s.dfs);
  kidx__strmap_free(s.slots);
  free(s.found);
  return rc;
}
