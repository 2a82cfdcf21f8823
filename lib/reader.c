/*
 * reader.c -- the public read API: kidx_reader (an open, immutable view of
 * one commit: a snapshot, snapshot.c), kidx_reader_get() (a document by
 * id, copied into a kidx_document by document.c) and kidx_search().  Top
 * of the dependency order, with writer.c: a search parses the query
 * (query.c), runs it (search.c) into the top-k collector (topk.c), and for
 * the hits of the page asks for their explanations and snippets (search.c,
 * snippet.c), which results.c copies into the caller's kidx_results.
 */
#include "kidx_int.h"

#include <inttypes.h>
#include <stdlib.h>

struct kidx_reader {
  int open;
  kidx__snapshot snap;
  char errmsg[KIDX__ERRMSG_MAX];
};

kidx_status kidx_reader_new(kidx_reader **out) {
  if (!out)
    return KIDX_EINVAL;
  *out = calloc(1, sizeof **out);
  return *out ? KIDX_OK : KIDX_ENOMEM;
}

kidx_status kidx_reader_open(kidx_reader *r, const char *dir) {
  if (!r)
    return KIDX_EINVAL;
  r->errmsg[0] = 0;
  if (!dir || !*dir)
    return kidx__err(r->errmsg, KIDX_EINVAL, "no index directory given");
  if (r->open)
    return kidx__err(r->errmsg, KIDX_EINVAL, "reader is already open");
  /* Shared: a reader opened later from this one can take its segments. */
  int rc = kidx__snapshot_open_shared(&r->snap, dir, NULL, r->errmsg);
  if (rc)
    return rc;
  r->open = 1;
  return KIDX_OK;
}

kidx_status kidx_reader_reopen(kidx_reader *r, const kidx_reader *from) {
  if (!r)
    return KIDX_EINVAL;
  r->errmsg[0] = 0;
  if (r->open)
    return kidx__err(r->errmsg, KIDX_EINVAL, "reader is already open");
  if (!from || !from->open)
    return kidx__err(r->errmsg, KIDX_EINVAL,
                     "the reader to reopen from is not open");
  /* from is only read (other threads may be searching it): the segments
   * r takes from it are shared by reference counting. */
  int rc = kidx__snapshot_open_shared(&r->snap, from->snap.dir, &from->snap,
                                      r->errmsg);
  if (rc)
    return rc;
  r->open = 1;
  return KIDX_OK;
}

uint64_t kidx_reader_generation(const kidx_reader *r) {
  return r && r->open ? r->snap.generation : 0;
}

const kidx__snapshot *kidx__reader_snapshot(const kidx_reader *r) {
  return r && r->open ? &r->snap : NULL;
}

void kidx_reader_close(kidx_reader *r) {
  if (!r)
    return;
  if (r->open)
    kidx__snapshot_close(&r->snap);
  free(r);
}

const char *kidx_reader_errmsg(const kidx_reader *r) {
  return r ? r->errmsg : "no reader";
}

kidx_status kidx_reader_stats(const kidx_reader *r, kidx_stats *out) {
  if (!r || !out || !r->open)
    return KIDX_EINVAL;
  const kidx__snapshot *s = &r->snap;
  memset(out, 0, sizeof *out);
  out->documents = s->live;
  out->tokens = s->tokens[0] + s->tokens[1];
  out->bytes = s->bytes;
  out->segments = s->nsegs;
  out->generation = s->generation;
  for (size_t i = 0; i < s->nsegs; i++) {
    out->stored_bytes +=
        s->segs[i].seg.sec_len[KIDX__SEC_DOCDATA] + s->segs[i].seg.title_bytes;
    out->deleted += s->segs[i].ndead;
  }
  /* Distinct terms: a merge of the segments' dictionaries. */
  return kidx__count_terms(s, &out->terms);
}

kidx_status kidx_reader_check(kidx_reader *r) {
  if (!r)
    return KIDX_EINVAL;
  r->errmsg[0] = 0;
  if (!r->open)
    return kidx__err(r->errmsg, KIDX_EINVAL, "reader is not open");
  return kidx__check_snapshot(&r->snap, r->errmsg);
}

kidx_status kidx_reader_analyzer(const kidx_reader *r, kidx_analyzer *out) {
  if (!r || !out || !r->open)
    return KIDX_EINVAL;
  kidx__analyzer_from_flags(r->snap.an_flags, out);
  return KIDX_OK;
}

kidx_status kidx_reader_get_metadata(const kidx_reader *r, const char *key,
                                     size_t key_len, const char **value,
                                     size_t *value_len) {
  if (!r || !r->open)
    return KIDX_EINVAL;
  return kidx__meta_get(&r->snap.meta, key, key_len, value, value_len);
}

size_t kidx_reader_metadata_count(const kidx_reader *r) {
  return r && r->open ? r->snap.meta.n : 0;
}

kidx_status kidx_reader_metadata_at(const kidx_reader *r, size_t i,
                                    const char **key, size_t *key_len,
                                    const char **value, size_t *value_len) {
  if (!r || !r->open)
    return KIDX_EINVAL;
  if (i >= r->snap.meta.n)
    return KIDX_ENOTFOUND;
  const kidx__meta_entry *e = &r->snap.meta.e[i];
  if (key)
    *key = e->key;
  if (key_len)
    *key_len = e->key_len;
  if (value)
    *value = e->value;
  if (value_len)
    *value_len = e->value_len;
  return KIDX_OK;
}

/* Longest id a document can have (kidx_writer_add). */
#define MAX_ID_BYTES 65535u

kidx_status kidx_reader_get(const kidx_reader *r, const char *id, size_t id_len,
                            kidx_document *doc) {
  if (!doc)
    return KIDX_EINVAL;
  /* Messages go to doc, not to r: r may be shared by threads, each
   * fetching into its own document. */
  char *errmsg = kidx__document_reset(doc);
  if (!r || !r->open)
    return kidx__err(errmsg, KIDX_EINVAL, "reader is not open");
  if (!id && id_len)
    return kidx__err(errmsg, KIDX_EINVAL, "id is NULL");
  size_t seg;
  uint32_t d;
  /* kidx__snapshot_find_id skips deleted documents and looks at the
   * newest segment first, so a replaced document's latest version wins
   * (an id is live in at most one place: kidx__check_snapshot). */
  int found = id_len == 0 || id_len > MAX_ID_BYTES
                  ? 0
                  : kidx__snapshot_find_id(&r->snap, id, id_len, &seg, &d);
  if (found < 0)
    return kidx__segment_damage(&r->snap.segs[seg].seg, errmsg);
  if (!found)
    return kidx__err(errmsg, KIDX_ENOTFOUND, "no document with this id");
  const kidx__segref *sr = &r->snap.segs[seg];
  kidx__docinfo info;
  kidx__textcache tc = {0};
  /* Records are verified as they are read: a damaged page or record
   * gives a message naming the file and the section. */
  int rc = kidx__segment_doc(&sr->seg, d, &tc, &info);
  if (rc == KIDX_ENOMEM)
    rc = kidx__err(errmsg, rc, "out of memory");
  else if (rc)
    rc = kidx__segment_damage(&sr->seg, errmsg);
  else
    rc = kidx__document_set(doc, &info);
  kidx__textcache_free(&tc);
  return rc;
}

void kidx_search_options_init(kidx_search_options *opt) {
  if (!opt)
    return;
  opt->size = sizeof *opt;
  opt->limit = 10;
  opt->offset = 0;
  opt->rank = KIDX_RANK_TFIDF;
  opt->bm25_k1 = KIDX__DEFAULT_K1;
  opt->bm25_b = KIDX__DEFAULT_B;
  opt->match = KIDX_MATCH_ANY;
  /* A title word is worth two body words: titles are short and chosen to
   * say what the document is about.  (BM25F papers tune title weights from
   * 2 to over 10 on web collections; 2 keeps the body in charge.) */
  opt->title_weight = KIDX__DEFAULT_TITLE_WEIGHT;
  opt->body_weight = KIDX__DEFAULT_BODY_WEIGHT;
  opt->snippet_words = 30;
  opt->explain = 0;
  opt->exact_total = 0;
}

/* Reads the caller's options, honouring only the fields its `size` says it
 * knows, so that a program built against an older header keeps working. */
static int read_options(const kidx_search_options *in, kidx_search_options *o,
                        char *errmsg) {
  kidx_search_options_init(o);
  if (in) {
    if (in->size < offsetof(kidx_search_options, limit) + sizeof in->limit)
      return kidx__err(errmsg, KIDX_EINVAL,
                       "search options not initialised with "
                       "kidx_search_options_init()");
    size_t n = in->size < sizeof *o ? in->size : sizeof *o;
    memcpy(o, in, n);
    o->size = sizeof *o;
  }
  if (o->rank != KIDX_RANK_TFIDF && o->rank != KIDX_RANK_BM25)
    return kidx__err(errmsg, KIDX_EINVAL, "unknown ranking model %d",
                     (int)o->rank);
  /* Finite and bounded, as the kidx tool's options are: an infinite k1
   * or weight gives NaN scores, which have no order. */
  if (!(o->bm25_k1 >= 0 && o->bm25_k1 <= KIDX__MAX_PARAM) ||
      !(o->bm25_b >= 0 && o->bm25_b <= 1))
    return kidx__err(errmsg, KIDX_EINVAL,
                     "BM25 parameters out of range (0 <= k1 <= 1e6, "
                     "0 <= b <= 1)");
  if (o->match != KIDX_MATCH_ANY && o->match != KIDX_MATCH_ALL)
    return kidx__err(errmsg, KIDX_EINVAL, "unknown match mode %d",
                     (int)o->match);
  if (!(o->title_weight >= 0 && o->title_weight <= KIDX__MAX_PARAM) ||
      !(o->body_weight >= 0 && o->body_weight <= KIDX__MAX_PARAM) ||
      !(o->title_weight + o->body_weight > 0))
    return kidx__err(errmsg, KIDX_EINVAL,
                     "field weights must be from 0 to 1e6 and not both 0");
  /* offset + limit beyond the addressable is the same as "everything". */
  if (o->offset > SIZE_MAX - o->limit)
    o->limit = SIZE_MAX - o->offset;
  return KIDX_OK;
}

static int id_cmp(const void *ctx, uint32_t a, uint32_t b) {
  const kidx__snapshot *snap = ctx;
  kidx__docinfo x, y;
  /* ids only: a tie-break must not read the stored text.  A damaged key
   * sorts as an empty id here; fetching the hit then reports the damage. */
  if (kidx__snapshot_key(snap, a, &x, NULL)) {
    x.id = "";
    x.id_len = 0;
  }
  if (kidx__snapshot_key(snap, b, &y, NULL)) {
    y.id = "";
    y.id_len = 0;
  }
  return kidx__term_cmp(x.id, x.id_len, y.id, y.id_len);
}

/* One hit of the page, for sorting the page by document. */
typedef struct page_hit {
  uint32_t doc;
  size_t rank; /* index in the page */
} page_hit;

static int cmp_page_doc(const void *a, const void *b) {
  const page_hit *x = a, *y = b;
  return (x->doc > y->doc) - (x->doc < y->doc);
}

/* Puts the page's hits (sorted best first) into res, with snippets and
 * explanations when asked for.  Their positions and explanations come from
 * one pass over the postings in document order (kidx__search_hits). */
static int fill_page(kidx_results *res, const kidx_reader *r,
                     const kidx__qnode *root, const kidx__scorer *sc,
                     const kidx_search_options *o, const kidx__hit *page,
                     size_t n, char *errmsg) {
  int rc = KIDX_OK;
  page_hit *order = calloc(n ? n : 1, sizeof *order);
  uint32_t *docs = calloc(n ? n : 1, sizeof *docs);
  kidx__buf *ex = calloc(n ? n : 1, sizeof *ex);
  kidx__buf *pos = calloc(n ? n : 1, sizeof *pos);
  kidx__buf *texts = calloc(n ? n : 1, sizeof *texts);
  kidx__buf spans = {0};
  kidx__textcache tc = {0}; /* this page's, as readers are shared */
  if (!order || !docs || !ex || !pos || !texts) {
    rc = kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    order[i] = (page_hit){page[i].doc, i};
  qsort(order, n, sizeof *order, cmp_page_doc);
  for (size_t i = 0; i < n; i++)
    docs[i] = order[i].doc;
  if (o->explain || o->snippet_words) {
    rc = kidx__search_hits(&r->snap, root, sc, docs, n, o->explain ? ex : NULL,
                           texts, o->snippet_words ? pos : NULL, errmsg);
    if (rc)
      goto done;
  }
  /* Back to rank order: docs[j] becomes where page hit j sits in the
   * arrays filled above (indexed in document order). */
  for (size_t i = 0; i < n; i++)
    docs[order[i].rank] = (uint32_t)i;
  kidx__analyzer an = {r->snap.an_flags, NULL};
  for (size_t j = 0; j < n && !rc; j++) {
    size_t k = docs[j];
    kidx__docinfo d;
    /* A hit's id and title are in its key record; only a snippet needs
     * the body, and so a text block to decompress. */
    if ((rc = o->snippet_words
                  ? kidx__snapshot_doc(&r->snap, page[j].doc, &tc, &d, errmsg)
                  : kidx__snapshot_key(&r->snap, page[j].doc, &d, errmsg)))
      break;
    const char *snip = NULL;
    size_t a = 0, b = 0;
    spans.n = 0;
    if (o->snippet_words) {
      rc = kidx__snippet_make(&an, d.title, d.title_len, d.body, d.body_len,
                              (const uint32_t *)(void *)pos[k].p, pos[k].n / 4,
                              o->snippet_words, &a, &b, &spans);
      if (rc) {
        rc = kidx__err(errmsg, rc, "out of memory");
        break;
      }
      snip = d.body ? d.body + a : "";
    }
    /* Point the explanations at their terms (see kidx__search_hits). */
    kidx_explain *e = (kidx_explain *)(void *)ex[k].p;
    const char *t = (const char *)texts[k].p;
    for (size_t i = 0; i < ex[k].n / sizeof *e; i++) {
      e[i].term = t;
      t += e[i].term_len;
    }
    if (kidx__results_add(res, &d, page[j].score, snip, b - a, &spans,
                          o->explain ? &ex[k] : NULL))
      rc = kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  }
done:
  for (size_t i = 0; ex && pos && texts && i < n; i++) {
    kidx__buf_free(&ex[i]);
    kidx__buf_free(&pos[i]);
    kidx__buf_free(&texts[i]);
  }
  kidx__buf_free(&spans);
  kidx__textcache_free(&tc);
  free(order);
  free(docs);
  free(ex);
  free(pos);
  free(texts);
  return rc;
}

kidx_status kidx_search(const kidx_reader *r, const char *query,
                        size_t query_len, const kidx_search_options *opt,
                        kidx_results *res) {
  if (!res)
    return KIDX_EINVAL;
  char *errmsg = kidx__results_reset(res);
  if (!r || !r->open)
    return kidx__err(errmsg, KIDX_EINVAL, "reader is not open");
  if (!query && query_len)
    return kidx__err(errmsg, KIDX_EINVAL, "query is NULL");
  kidx_search_options o;
  int rc = read_options(opt, &o, errmsg);
  if (rc)
    return rc;

  kidx__analyzer an = {r->snap.an_flags, NULL};
  kidx__query *q = NULL;
  size_t column = 0;
  rc = kidx__query_parse(&an, query ? query : "", query_len,
                         o.match == KIDX_MATCH_ALL ? KIDX__QP_ALL : 0, &q,
                         &column, errmsg);
  if (rc) {
    kidx__results_fail(res, column);
    return rc;
  }
  const kidx__qnode *root = kidx__query_root(q);

  kidx__scorer sc;
  double weight[KIDX__NFIELDS] = {o.title_weight, o.body_weight};
  /* Index-wide statistics over live documents: the same whatever the
   * segments (see snapshot.c). */
  kidx__scorer_init(&sc, o.rank, o.bm25_k1, o.bm25_b, weight, r->snap.live,
                    r->snap.tokens);
  kidx__topk topk;
  /* Never ask for more slots than there are documents. */
  size_t k = o.offset + o.limit;
  if (k > r->snap.live)
    k = (size_t)r->snap.live;
  if (kidx__topk_init(&topk, k, id_cmp, &r->snap)) {
    kidx__query_free(q);
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  }
  uint64_t total = 0;
  int exact = 1;
  rc = kidx__search_run(&r->snap, root, &sc, o.exact_total, &topk, &total,
                        &exact, &column, errmsg);
  if (!rc) {
    size_t n = kidx__topk_finish(&topk);
    if (n > o.offset)
      rc = fill_page(res, r, root, &sc, &o, topk.heap + o.offset, n - o.offset,
                     errmsg);
  }
  kidx__topk_free(&topk);
  kidx__query_free(q);
  if (rc) {
    kidx__results_fail(res, rc == KIDX_EQUERY ? column : 0);
    return rc;
  }
  kidx__results_finish(res, total, exact);
  return KIDX_OK;
}
