/*
 * memindex.c -- the in-memory inverted index of the batch being built
 * between two commits: a term dictionary (strmap.c) with one growing,
 * already-encoded postings list per term (postings.c), and the table of the
 * batch's documents.  writer.c fills it; when it passes the RAM budget,
 * and on commit, segwrite.c writes it out as a new segment file.
 *
 * Documents of the batch are numbered 0, 1, 2, ... in the order added.  An
 * id added twice leaves the first document in place but marked deleted;
 * the merge skips deleted documents, so replacing costs no rewrite here.
 *
 * Building one document: each token's position is appended to a chain per
 * term in a scratch array (no sorting, O(tokens)), then at the end of the
 * document every touched term gets one postings entry.
 */
#include "kidx_int.h"

#include <stdlib.h>

#define NO_DOC UINT32_MAX

typedef struct mterm {
  uint64_t key_off; /* text in the term map's key arena */
  uint32_t key_len;
  uint32_t df;             /* entries in post */
  uint32_t base;           /* last entry's doc + 1, 0 before the first */
  uint32_t cur_doc;        /* document whose occurrences are being chained */
  uint32_t head, tail, tf; /* the chain of occurrences in cur_doc */
  kidx__buf post;          /* encoded postings */
} mterm;

typedef struct mdoc {
  uint64_t data_off; /* id, title and body bytes in docdata */
  uint32_t id_len;
  uint32_t title_len;
  uint32_t body_len;
  uint32_t title_tokens, body_tokens;
  uint32_t deleted;
  kidx_stamp stamp;
} mdoc;

typedef struct occ {
  uint32_t pos;
  uint32_t next;
} occ;

struct kidx__memindex {
  kidx__strmap *term_map; /* term text -> index in terms */
  mterm *terms;
  size_t nterms, terms_cap;
  kidx__strmap *id_map; /* id -> latest document of the batch */
  mdoc *docs;
  size_t ndocs, docs_cap;
  kidx__buf docdata;
  uint64_t ntokens;
  size_t post_bytes;  /* capacity of all postings buffers */
  size_t empty_bytes; /* what an empty batch holds (its hash tables) */
  /* scratch of the document being added */
  occ *occs;
  size_t nocc, occ_cap;
  uint32_t *touched;
  size_t ntouched, touched_cap;
  uint32_t *posbuf;
  size_t posbuf_cap;
  uint32_t cur_doc;
  uint32_t body_first; /* first position of the current document's body */
  kidx__analyzer an;   /* with a stem cache owned by this batch */
  int rc;              /* sticky: set when a document was half-added */
};

/* Grows an array of elem-sized items to hold at least need of them. */
static int grow_array(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return KIDX_OK;
  size_t n = *cap ? *cap : 16;
  while (n < need) {
    if (n > SIZE_MAX / 2 / elem)
      return KIDX_ENOMEM;
    n *= 2;
  }
  void *p = realloc(*arr, n * elem);
  if (!p)
    return KIDX_ENOMEM;
  *arr = p;
  *cap = n;
  return KIDX_OK;
}

static size_t held_bytes(const kidx__memindex *mi);

int kidx__memindex_new(kidx__memindex **out, unsigned an_flags) {
  kidx__memindex *mi = calloc(1, sizeof *mi);
  *out = NULL;
  if (!mi)
    return KIDX_ENOMEM;
  mi->an.flags = an_flags;
  if (kidx__strmap_new(&mi->term_map) || kidx__strmap_new(&mi->id_map) ||
      ((an_flags & KIDX__AN_STEM_ENGLISH) &&
       kidx__stemcache_new(&mi->an.cache))) {
    kidx__memindex_free(mi);
    return KIDX_ENOMEM;
  }
  mi->empty_bytes = held_bytes(mi);
  *out = mi;
  return KIDX_OK;
}

void kidx__memindex_free(kidx__memindex *mi) {
  if (!mi)
    return;
  for (size_t i = 0; i < mi->nterms; i++)
    kidx__buf_free(&mi->terms[i].post);
  free(mi->terms);
  free(mi->docs);
  free(mi->occs);
  free(mi->touched);
  free(mi->posbuf);
  kidx__buf_free(&mi->docdata);
  kidx__strmap_free(mi->term_map);
  kidx__strmap_free(mi->id_map);
  kidx__stemcache_free(mi->an.cache);
  free(mi);
}

/* Token callback: chain this occurrence onto its term. */
static int on_token(void *ctx, const kidx__token *tok) {
  kidx__memindex *mi = ctx;
  uint32_t t;
  uint64_t key_off;
  int rc;
  if (tok->slot && *tok->slot) {
    /* A word seen before: the analyser's cache remembers its term. */
    t = *tok->slot - 1;
  } else {
    if (mi->nterms >= UINT32_MAX - 1)
      return KIDX_ETOOBIG;
    /* Room for a new term first: once the map holds the key, the term
     * must exist, or a later word would be given the same number. */
    if ((rc = grow_array((void **)&mi->terms, &mi->terms_cap, mi->nterms + 1,
                         sizeof *mi->terms)) ||
        (rc = kidx__strmap_intern(mi->term_map, tok->text, tok->len,
                                  (uint32_t)mi->nterms, &t, &key_off)))
      return rc;
    if (t == mi->nterms) {
      mterm *nt = &mi->terms[mi->nterms++];
      memset(nt, 0, sizeof *nt);
      nt->key_off = key_off;
      nt->key_len = (uint32_t)tok->len;
      nt->cur_doc = NO_DOC;
    }
    if (tok->slot)
      *tok->slot = t + 1;
  }
  if ((rc = grow_array((void **)&mi->occs, &mi->occ_cap, mi->nocc + 1,
                       sizeof *mi->occs)))
    return rc;
  uint32_t o = (uint32_t)mi->nocc++;
  mi->occs[o].pos = tok->pos;
  mi->occs[o].next = NO_DOC;
  mterm *term = &mi->terms[t];
  if (term->cur_doc != mi->cur_doc) {
    if ((rc = grow_array((void **)&mi->touched, &mi->touched_cap,
                         mi->ntouched + 1, sizeof *mi->touched)))
      return rc;
    mi->touched[mi->ntouched++] = t;
    term->cur_doc = mi->cur_doc;
    term->head = term->tail = o;
    term->tf = 1;
  } else {
    mi->occs[term->tail].next = o;
    term->tail = o;
    term->tf++;
  }
  return 0;
}

/* Writes one postings entry for every term the current document touched. */
static int flush_document(kidx__memindex *mi, uint32_t doc) {
  for (size_t i = 0; i < mi->ntouched; i++) {
    mterm *term = &mi->terms[mi->touched[i]];
    int rc = grow_array((void **)&mi->posbuf, &mi->posbuf_cap, term->tf,
                        sizeof *mi->posbuf);
    if (rc)
      return rc;
    uint32_t n = 0, in_title = 0;
    for (uint32_t o = term->head; o != NO_DOC; o = mi->occs[o].next) {
      mi->posbuf[n++] = mi->occs[o].pos;
      in_title += mi->occs[o].pos < mi->body_first;
    }
    size_t cap = term->post.cap;
    if ((rc = kidx__postings_put(&term->post, term->base, doc, mi->posbuf, n,
                                 in_title)))
      return rc;
    mi->post_bytes += term->post.cap - cap;
    term->base = doc + 1;
    term->df++;
  }
  return KIDX_OK;
}

int kidx__memindex_add(kidx__memindex *mi, const char *id, size_t id_len,
                       const char *title, size_t title_len, const char *body,
                       size_t body_len, const kidx_stamp *stamp,
                       uint32_t *replaced) {
  int rc;
  if (mi->rc)
    return mi->rc;
  if (mi->ndocs >= UINT32_MAX - 1)
    return KIDX_ETOOBIG;
  if (id_len > UINT32_MAX || title_len > UINT32_MAX || body_len > UINT32_MAX)
    return KIDX_ETOOBIG;
  uint32_t doc = (uint32_t)mi->ndocs;
  if ((rc = grow_array((void **)&mi->docs, &mi->docs_cap, mi->ndocs + 1,
                       sizeof *mi->docs)))
    return rc;
  mdoc *d = &mi->docs[doc];
  d->data_off = mi->docdata.n;
  d->id_len = (uint32_t)id_len;
  d->title_len = (uint32_t)title_len;
  d->body_len = (uint32_t)body_len;
  d->title_tokens = d->body_tokens = 0;
  d->deleted = 0;
  if (stamp)
    d->stamp = *stamp;
  else
    memset(&d->stamp, 0, sizeof d->stamp);
  /* The body is kept for snippets: results must not depend on the source
   * files still being there. */
  if ((rc = kidx__buf_reserve(&mi->docdata, id_len + title_len + body_len)))
    return rc;
  kidx__buf_append(&mi->docdata, id, id_len);
  kidx__buf_append(&mi->docdata, title, title_len);
  kidx__buf_append(&mi->docdata, body, body_len);

  /* Title then body, as one stream of positions with a gap of one between
   * them, so that no phrase can span the two fields. */
  mi->cur_doc = doc;
  mi->nocc = mi->ntouched = 0;
  mi->body_first = UINT32_MAX;
  uint32_t next = 0;
  size_t title_tokens = 0;
  rc = kidx__analyze(&mi->an, title, title_len, 0, &next, on_token, mi);
  if (!rc) {
    title_tokens = mi->nocc;
    mi->body_first = kidx__body_first_pos(next);
    rc = kidx__analyze(&mi->an, body, body_len, mi->body_first, &next, on_token,
                       mi);
  }
  if (rc) {
    /* Nothing was written to any postings list yet: forget the document.
     * Terms interned for it keep df 0 and are skipped by the merge. */
    for (size_t i = 0; i < mi->ntouched; i++)
      mi->terms[mi->touched[i]].cur_doc = NO_DOC;
    mi->docdata.n = d->data_off;
    return rc;
  }
  int found;
  uint32_t old;
  if ((rc = kidx__strmap_upsert(mi->id_map, id, id_len, doc, &old, &found))) {
    for (size_t i = 0; i < mi->ntouched; i++)
      mi->terms[mi->touched[i]].cur_doc = NO_DOC;
    mi->docdata.n = d->data_off;
    return rc;
  }
  if ((rc = flush_document(mi, doc))) {
    /* Some lists have the entry and some do not: the batch can no longer
     * be committed correctly.  Refuse everything from now on. */
    mi->rc = rc;
    return rc;
  }
  d->title_tokens = (uint32_t)title_tokens;
  d->body_tokens = (uint32_t)(mi->nocc - title_tokens);
  mi->ntokens += mi->nocc;
  mi->ndocs++;
  *replaced = NO_DOC;
  if (found && old != NO_DOC) {
    mi->docs[old].deleted = 1;
    *replaced = old;
  }
  return KIDX_OK;
}

int kidx__memindex_delete(kidx__memindex *mi, const char *id, size_t id_len) {
  uint32_t doc;
  if (!kidx__strmap_get(mi->id_map, id, id_len, &doc) || doc == NO_DOC)
    return KIDX_ENOTFOUND;
  uint32_t old;
  int found;
  kidx__strmap_upsert(mi->id_map, id, id_len, NO_DOC, &old, &found);
  mi->docs[doc].deleted = 1;
  return KIDX_OK;
}

int kidx__memindex_find(const kidx__memindex *mi, const char *id, size_t id_len,
                        uint32_t *doc) {
  return kidx__strmap_get(mi->id_map, id, id_len, doc) && *doc != NO_DOC;
}

void kidx__memindex_restamp(kidx__memindex *mi, uint32_t doc,
                            const kidx_stamp *stamp) {
  mi->docs[doc].stamp = *stamp;
}

static size_t held_bytes(const kidx__memindex *mi) {
  return sizeof *mi + mi->post_bytes + mi->docdata.cap +
         mi->terms_cap * sizeof *mi->terms + mi->docs_cap * sizeof *mi->docs +
         mi->occ_cap * sizeof *mi->occs + mi->touched_cap * sizeof(uint32_t) +
         mi->posbuf_cap * sizeof(uint32_t) + kidx__strmap_bytes(mi->term_map) +
         kidx__strmap_bytes(mi->id_map);
}

size_t kidx__memindex_bytes(const kidx__memindex *mi) {
  return held_bytes(mi) - mi->empty_bytes;
}

int kidx__memindex_status(const kidx__memindex *mi) {
  return mi->rc;
}

uint32_t kidx__memindex_ndocs(const kidx__memindex *mi) {
  return (uint32_t)mi->ndocs;
}

void kidx__memindex_doc(const kidx__memindex *mi, uint32_t doc,
                        kidx__docinfo *out) {
  const mdoc *d = &mi->docs[doc];
  out->id = (const char *)mi->docdata.p + d->data_off;
  out->id_len = d->id_len;
  out->title = out->id + d->id_len;
  out->title_len = d->title_len;
  out->body = out->title + d->title_len;
  out->body_len = d->body_len;
  out->title_tokens = d->title_tokens;
  out->body_tokens = d->body_tokens;
  out->stamp = d->stamp;
  out->deleted = d->deleted != 0;
}

static int cmp_term(const void *a, const void *b) {
  const kidx__term *x = a, *y = b;
  return kidx__term_cmp(x->text, x->len, y->text, y->len);
}

int kidx__memindex_terms(const kidx__memindex *mi, kidx__term **out,
                         size_t *count) {
  size_t n = 0;
  *out = NULL;
  *count = 0;
  kidx__term *arr = malloc((mi->nterms ? mi->nterms : 1) * sizeof *arr);
  if (!arr)
    return KIDX_ENOMEM;
  for (size_t i = 0; i < mi->nterms; i++) {
    const mterm *t = &mi->terms[i];
    if (t->df == 0)
      continue;
    arr[n].text = kidx__strmap_key_at(mi->term_map, t->key_off);
    arr[n].len = t->key_len;
    arr[n].df = t->df;
    arr[n].post = t->post.p;
    arr[n].post_len = t->post.n;
    n++;
  }
  qsort(arr, n, sizeof *arr, cmp_term);
  *out = arr;
  *count = n;
  return KIDX_OK;
}

int kidx__term_cmp(const char *a, size_t alen, const char *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  /* n == 0 may come with a NULL pointer (an empty id), which memcmp
   * must not be given. */
  int c = n ? memcmp(a, b, n) : 0;
  if (c)
    return c;
  return (alen > blen) - (alen < blen);
}
