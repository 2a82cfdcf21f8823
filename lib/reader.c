/*
 * reader.c -- the public read API: kidx_reader (an open, immutable view of
 * one commit), kidx_search() and kidx_results.  Top of the dependency
 * order, with writer.c: it ties segment.c, score.c, topk.c and search.c
 * together and owns the copies of what it hands back to the caller.
 */
#include "kidx_int.h"

#include <stdlib.h>

struct kidx_reader {
  int open;
  char *path; /* the index file */
  kidx__segment seg;
  char errmsg[KIDX__ERRMSG_MAX];
};

typedef struct result_hit {
  size_t id_off, id_len;       /* in arena */
  size_t title_off, title_len; /* in arena */
  double score;
} result_hit;

struct kidx_results {
  result_hit *hits;
  size_t count, cap;
  uint64_t total;
  kidx__buf arena;
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
  char *path = kidx__path_join(dir, KIDX__INDEX_FILE);
  if (!path)
    return kidx__err(r->errmsg, KIDX_ENOMEM, "out of memory");
  int rc = kidx__segment_open(&r->seg, path, r->errmsg);
  if (rc) {
    if (rc == KIDX_ENOINDEX)
      kidx__err(r->errmsg, rc, "no index at %s", dir);
    free(path);
    return rc;
  }
  r->path = path;
  r->open = 1;
  return KIDX_OK;
}

void kidx_reader_close(kidx_reader *r) {
  if (!r)
    return;
  if (r->open)
    kidx__segment_close(&r->seg);
  free(r->path);
  free(r);
}

const char *kidx_reader_errmsg(const kidx_reader *r) {
  return r ? r->errmsg : "no reader";
}

kidx_status kidx_reader_stats(const kidx_reader *r, kidx_stats *out) {
  if (!r || !out || !r->open)
    return KIDX_EINVAL;
  out->documents = r->seg.ndocs;
  out->terms = r->seg.nterms;
  out->tokens = r->seg.ntokens;
  out->bytes = r->seg.map.size;
  return KIDX_OK;
}

kidx_status kidx_reader_analyzer(const kidx_reader *r, kidx_analyzer *out) {
  if (!r || !out || !r->open)
    return KIDX_EINVAL;
  kidx__analyzer_from_flags(r->seg.an_flags, out);
  return KIDX_OK;
}

void kidx_search_options_init(kidx_search_options *opt) {
  if (!opt)
    return;
  opt->size = sizeof *opt;
  opt->limit = 10;
  opt->offset = 0;
  opt->rank = KIDX_RANK_TFIDF;
  opt->bm25_k1 = 1.2;
  opt->bm25_b = 0.75;
}

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
  kidx__buf_free(&res->arena);
  free(res);
}

const char *kidx_results_errmsg(const kidx_results *res) {
  return res ? res->errmsg : "no results object";
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
  if (!(o->bm25_k1 >= 0) || !(o->bm25_b >= 0 && o->bm25_b <= 1))
    return kidx__err(errmsg, KIDX_EINVAL,
                     "BM25 parameters out of range (k1 >= 0, 0 <= b <= 1)");
  /* offset + limit beyond the addressable is the same as "everything". */
  if (o->offset > SIZE_MAX - o->limit)
    o->limit = SIZE_MAX - o->offset;
  return KIDX_OK;
}

static int id_cmp(void *ctx, uint32_t a, uint32_t b) {
  const kidx__segment *seg = ctx;
  kidx__docinfo x, y;
  /* Records were verified at open, so these lookups cannot fail. */
  kidx__segment_doc(seg, a, &x);
  kidx__segment_doc(seg, b, &y);
  return kidx__term_cmp(x.id, x.id_len, y.id, y.id_len);
}

/* Copies hits [offset, n) of the sorted collector into res. */
static int fill_results(kidx_results *res, const kidx__segment *seg,
                        const kidx__topk *topk, size_t n, size_t offset) {
  size_t count = n > offset ? n - offset : 0;
  if (count > res->cap) {
    result_hit *h = realloc(res->hits, count * sizeof *h);
    if (!h)
      return kidx__err(res->errmsg, KIDX_ENOMEM, "out of memory");
    res->hits = h;
    res->cap = count;
  }
  for (size_t i = 0; i < count; i++) {
    const kidx__hit *hit = &topk->heap[offset + i];
    kidx__docinfo d;
    kidx__segment_doc(seg, hit->doc, &d);
    result_hit *out = &res->hits[i];
    out->score = hit->score;
    out->id_off = res->arena.n;
    out->id_len = d.id_len;
    out->title_off = res->arena.n + d.id_len;
    out->title_len = d.title_len;
    if (kidx__buf_append(&res->arena, d.id, d.id_len) ||
        kidx__buf_append(&res->arena, d.title, d.title_len))
      return kidx__err(res->errmsg, KIDX_ENOMEM, "out of memory");
  }
  res->count = count;
  return KIDX_OK;
}

kidx_status kidx_search(const kidx_reader *r, const char *query,
                        size_t query_len, const kidx_search_options *opt,
                        kidx_results *res) {
  if (!res)
    return KIDX_EINVAL;
  res->errmsg[0] = 0;
  res->count = 0;
  res->total = 0;
  res->arena.n = 0;
  if (!r || !r->open)
    return kidx__err(res->errmsg, KIDX_EINVAL, "reader is not open");
  if (!query && query_len)
    return kidx__err(res->errmsg, KIDX_EINVAL, "query is NULL");
  kidx_search_options o;
  int rc = read_options(opt, &o, res->errmsg);
  if (rc)
    return rc;
  kidx__scorer sc;
  kidx__scorer_init(&sc, o.rank, o.bm25_k1, o.bm25_b, r->seg.ndocs,
                    r->seg.ntokens);
  kidx__topk topk;
  /* Never ask for more slots than there are documents. */
  size_t k = o.offset + o.limit;
  if (k > r->seg.ndocs)
    k = (size_t)r->seg.ndocs;
  if (kidx__topk_init(&topk, k, id_cmp, (void *)(uintptr_t)&r->seg))
    return kidx__err(res->errmsg, KIDX_ENOMEM, "out of memory");
  uint64_t total = 0;
  rc = kidx__search_run(&r->seg, r->path, query ? query : "", query_len, &sc,
                        &topk, &total, res->errmsg);
  if (!rc) {
    size_t n = kidx__topk_finish(&topk);
    rc = fill_results(res, &r->seg, &topk, n, o.offset);
    res->total = total;
  }
  kidx__topk_free(&topk);
  if (rc) {
    res->count = 0;
    res->total = 0;
  }
  return rc;
}

size_t kidx_results_count(const kidx_results *res) {
  return res ? res->count : 0;
}

uint64_t kidx_results_total(const kidx_results *res) {
  return res ? res->total : 0;
}

const char *kidx_results_id(const kidx_results *res, size_t i, size_t *len) {
  if (!res || i >= res->count) {
    if (len)
      *len = 0;
    return NULL;
  }
  if (len)
    *len = res->hits[i].id_len;
  return (const char *)res->arena.p + res->hits[i].id_off;
}

const char *kidx_results_title(const kidx_results *res, size_t i, size_t *len) {
  if (!res || i >= res->count) {
    if (len)
      *len = 0;
    return NULL;
  }
  if (len)
    *len = res->hits[i].title_len;
  /* An empty title in an empty arena still needs a valid pointer. */
  return res->arena.p ? (const char *)res->arena.p + res->hits[i].title_off
                      : "";
}

double kidx_results_score(const kidx_results *res, size_t i) {
  return res && i < res->count ? res->hits[i].score : 0.0;
}
