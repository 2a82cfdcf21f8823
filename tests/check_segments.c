/* The segment storage engine (format 7): an index directory holds a
 * MANIFEST (the commit record) and immutable seg-NNNNNNNNNNNN.kidx files.
 * These tests check what users rely on: search results and scores do not
 * depend on how documents are split into segments; the segment count stays
 * logarithmic; deletes are recorded without rewriting segments, and a
 * segment that lost a quarter of its documents is rewritten; leftovers of
 * uncommitted work are removed; an open reader keeps its snapshot; a
 * damaged MANIFEST or a missing segment is refused; the generation counts
 * commits that changed something.
 *
 * The corpus is generated from a fixed seed, so a failure replays.
 *
 * These tests found two bugs when written: a use-after-free when the
 * segment array grew during a merge, and a leaked path when a segment
 * failed to open.  Under ASan both show here.
 *
 * The executable is linked with -Wl,--wrap=fsync (tests/CMakeLists.txt):
 * __wrap_fsync below can fail the fsync of a directory, the last step of
 * a commit, after the MANIFEST was renamed. */
#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;

/* ---- fault injection: fsync of a directory ---- */

int __real_fsync(int fd);
int __wrap_fsync(int fd);
static int fail_dir_fsync;

int __wrap_fsync(int fd) {
  struct stat st;
  if (fail_dir_fsync && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    errno = EIO;
    return -1;
  }
  return __real_fsync(fd);
}

static void setup(void) {
  dir = tu_mkdtemp();
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
}

/* ---- deterministic corpus ---- */

typedef struct rng {
  uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

static void rng_seed(rng *r, uint64_t seed) {
  r->s = seed * 0x9E3779B97F4A7C15u + 0x632BE59BD9B4E019u;
  if (!r->s)
    r->s = 1;
  for (int i = 0; i < 4; i++)
    rng_next(r);
}

/* 400 made-up words of two or three syllables; word i has Zipf weight
 * 1 / (i + 1), so word 0 is in about one word of seven. */
#define VOCAB 400
static const char *const syllables[16] = {"ka", "lo", "mi", "ne", "ru", "ta",
                                          "vo", "si", "de", "pu", "ga", "fe",
                                          "zo", "bi", "hu", "ja"};
static char vocab[VOCAB][8];
static double zipf_cum[VOCAB];

static void vocab_init(void) {
  double sum = 0;
  for (unsigned i = 0; i < VOCAB; i++) {
    if (i < 256)
      snprintf(vocab[i], sizeof vocab[i], "%s%s", syllables[i % 16],
               syllables[i / 16]);
    else
      snprintf(vocab[i], sizeof vocab[i], "%s%s%s", syllables[i % 16],
               syllables[(i / 16) % 16], syllables[1]);
    sum += 1.0 / (i + 1);
    zipf_cum[i] = sum;
  }
}

#define W(i) (vocab[(i)])

static unsigned pick_word(rng *r) {
  double u =
      (double)(rng_next(r) >> 11) / 9007199254740992.0 * zipf_cum[VOCAB - 1];
  unsigned lo = 0, hi = VOCAB - 1;
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if (zipf_cum[mid] <= u)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Document `id` in its version `version`: a title of 1-4 words, a body of
 * 5-30 words and the document's own word "x<id>q" (a term no other
 * document has, for finding it). */
static void gen_doc(unsigned id, unsigned version, char *title, size_t tcap,
                    char *body, size_t bcap) {
  rng r;
  rng_seed(&r, (uint64_t)id * 1000003u + (uint64_t)version * 7919u + 1);
  size_t n = 0;
  unsigned nt = 1 + (unsigned)(rng_next(&r) % 4);
  title[0] = 0;
  for (unsigned k = 0; k < nt; k++)
    n += (size_t)snprintf(title + n, tcap - n, "%s%s", k ? " " : "",
                          W(pick_word(&r)));
  unsigned nb = 5 + (unsigned)(rng_next(&r) % 26);
  n = (size_t)snprintf(body, bcap, "x%uq", id);
  for (unsigned k = 0; k < nb; k++)
    n += (size_t)snprintf(body + n, bcap - n, " %s", W(pick_word(&r)));
}

static void doc_id(unsigned id, char out[16]) {
  snprintf(out, 16, "doc-%05u", id);
}

/* ---- handles ---- */

/* budget and factor 0: the defaults. */
static kidx_writer *open_writer_at(const char *d, size_t budget,
                                   unsigned factor) {
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  if (budget)
    ck_assert_int_eq(kidx_writer_set_ram_budget(w, budget), KIDX_OK);
  if (factor)
    ck_assert_int_eq(kidx_writer_set_merge_factor(w, factor), KIDX_OK);
  kidx_status rc = kidx_writer_open(w, d);
  ck_assert_msg(rc == KIDX_OK, "writer open: %s", kidx_writer_errmsg(w));
  return w;
}

static void add_doc(kidx_writer *w, unsigned id, unsigned version) {
  char idb[16], title[256], body[1024];
  doc_id(id, idb);
  gen_doc(id, version, title, sizeof title, body, sizeof body);
  kidx_status rc = kidx_writer_add(w, idb, strlen(idb), title, strlen(title),
                                   body, strlen(body));
  ck_assert_msg(rc == KIDX_OK, "add %s: %s", idb, kidx_writer_errmsg(w));
}

static kidx_status delete_doc(kidx_writer *w, unsigned id) {
  char idb[16];
  doc_id(id, idb);
  return kidx_writer_delete(w, idb, strlen(idb));
}

static void commit(kidx_writer *w) {
  kidx_status rc = kidx_writer_commit(w);
  ck_assert_msg(rc == KIDX_OK, "commit: %s", kidx_writer_errmsg(w));
}

static kidx_reader *open_reader_at(const char *d) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  kidx_status rc = kidx_reader_open(r, d);
  ck_assert_msg(rc == KIDX_OK, "reader open: %s", kidx_reader_errmsg(r));
  return r;
}

static kidx_stats stats_of(const kidx_reader *r) {
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  return st;
}

/* Stats of the index in d, through a reader opened for the purpose. */
static kidx_stats stats_at(const char *d) {
  kidx_reader *r = open_reader_at(d);
  kidx_stats st = stats_of(r);
  kidx_reader_close(r);
  return st;
}

/* Number of hits of query q (default options, exact count). */
static uint64_t hits(const kidx_reader *r, const char *q) {
  kidx_results *res;
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.exact_total = 1;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  kidx_status rc = kidx_search(r, q, strlen(q), &opt, res);
  ck_assert_msg(rc == KIDX_OK, "search '%s': %s", q, kidx_results_errmsg(res));
  uint64_t total = kidx_results_total(res);
  kidx_results_free(res);
  return total;
}

/* Whether the document with this id is live, seen through its own word. */
static uint64_t hits_of_doc(const kidx_reader *r, unsigned id) {
  char q[32];
  snprintf(q, sizeof q, "x%uq", id);
  return hits(r, q);
}

/* ---- files of an index directory ---- */

typedef struct segfile {
  char name[KIDX__SEGNAME_MAX];
  char *data;
  size_t len;
} segfile;

#define MAX_SEGFILES 4096
typedef struct segset {
  segfile f[MAX_SEGFILES];
  size_t n;
} segset;

static int cmp_segfile(const void *a, const void *b) {
  return strcmp(((const segfile *)a)->name, ((const segfile *)b)->name);
}

/* The seg-*.kidx files of d, sorted by name, with their contents when
 * with_data. */
static segset *segs_load(const char *d, int with_data) {
  segset *s = calloc(1, sizeof *s);
  ck_assert_ptr_nonnull(s);
  DIR *dp = opendir(d);
  ck_assert_ptr_nonnull(dp);
  struct dirent *e;
  while ((e = readdir(dp)) != NULL) {
    uint64_t number;
    if (!kidx__segment_number(e->d_name, &number))
      continue;
    ck_assert_uint_lt(s->n, MAX_SEGFILES);
    segfile *f = &s->f[s->n++];
    size_t nlen = strlen(e->d_name);
    ck_assert_uint_lt(nlen, sizeof f->name);
    memcpy(f->name, e->d_name, nlen + 1);
    if (with_data) {
      char *path = kidx__path_join(d, e->d_name);
      f->data = tu_read_file(path, &f->len);
      ck_assert_ptr_nonnull(f->data);
      free(path);
    }
  }
  closedir(dp);
  qsort(s->f, s->n, sizeof s->f[0], cmp_segfile);
  return s;
}

static void segs_free(segset *s) {
  for (size_t i = 0; s && i < s->n; i++)
    free(s->f[i].data);
  free(s);
}

static size_t count_segs(const char *d) {
  segset *s = segs_load(d, 0);
  size_t n = s->n;
  segs_free(s);
  return n;
}

static int segs_has(const segset *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->f[i].name, name))
      return 1;
  return 0;
}

static void assert_segs_equal(const segset *a, const segset *b,
                              const char *what) {
  ck_assert_msg(a->n == b->n, "%s: %zu segment files, then %zu", what, a->n,
                b->n);
  for (size_t i = 0; i < a->n; i++) {
    ck_assert_msg(!strcmp(a->f[i].name, b->f[i].name), "%s: %s became %s", what,
                  a->f[i].name, b->f[i].name);
    ck_assert_msg(a->f[i].len == b->f[i].len &&
                      !memcmp(a->f[i].data, b->f[i].data, a->f[i].len),
                  "%s: %s changed", what, a->f[i].name);
  }
}

static char *read_in(const char *d, const char *name, size_t *len) {
  char *path = kidx__path_join(d, name);
  char *data = tu_read_file(path, len);
  free(path);
  return data;
}

static int exists_in(const char *d, const char *name) {
  char *path = kidx__path_join(d, name);
  int yes = kidx__fs_exists(path);
  free(path);
  return yes;
}

/* ---- capturing everything a set of queries returns ---- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) KIDX__PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p ? b->p + b->n : NULL, b->cap - b->n, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(k, 0);
    if ((size_t)k < b->cap - b->n) {
      b->n += (size_t)k;
      return;
    }
    b->cap = (b->cap + (size_t)k + 1) * 2;
    b->p = realloc(b->p, b->cap);
    ck_assert_ptr_nonnull(b->p);
  }
}

typedef struct qspec {
  char text[160];
  kidx_match match;
} qspec;

#define MAX_QUERIES 32

/* Every kind of query: single words (frequent, middling, rare), several
 * words with ANY and ALL, phrases, NEAR, prefixes, NOT, fields. */
static size_t make_queries(qspec *q) {
  size_t n = 0;
#define Q(m, ...)                                                              \
  do {                                                                         \
    ck_assert_uint_lt(n, MAX_QUERIES);                                         \
    snprintf(q[n].text, sizeof q[n].text, __VA_ARGS__);                        \
    q[n++].match = (m);                                                        \
  } while (0)
  Q(KIDX_MATCH_ANY, "%s", W(0));
  Q(KIDX_MATCH_ANY, "%s", W(3));
  Q(KIDX_MATCH_ANY, "%s", W(57));
  Q(KIDX_MATCH_ANY, "%s", W(311));
  Q(KIDX_MATCH_ANY, "%s %s %s", W(2), W(9), W(40));
  Q(KIDX_MATCH_ANY, "%s %s %s %s", W(0), W(1), W(150), W(399));
  Q(KIDX_MATCH_ALL, "%s %s", W(1), W(4));
  Q(KIDX_MATCH_ALL, "%s %s %s", W(0), W(2), W(7));
  Q(KIDX_MATCH_ANY, "\"%s %s\"", W(0), W(1));
  Q(KIDX_MATCH_ANY, "\"%s %s\" OR \"%s %s\"", W(2), W(0), W(1), W(3));
  Q(KIDX_MATCH_ANY, "NEAR(%s %s, 3)", W(0), W(5));
  Q(KIDX_MATCH_ANY, "NEAR(%s %s %s)", W(1), W(2), W(6));
  Q(KIDX_MATCH_ANY, "ka*");
  Q(KIDX_MATCH_ALL, "lo* %s", W(12));
  Q(KIDX_MATCH_ANY, "%s NOT %s", W(1), W(0));
  Q(KIDX_MATCH_ANY, "%s -%s -%s", W(3), W(2), W(8));
  Q(KIDX_MATCH_ANY, "title:%s", W(0));
  Q(KIDX_MATCH_ANY, "title:%s OR body:%s", W(5), W(6));
  Q(KIDX_MATCH_ANY, "body:\"%s %s\"", W(0), W(1));
  Q(KIDX_MATCH_ANY, "(%s OR %s) AND title:%s", W(1), W(2), W(3));
  Q(KIDX_MATCH_ALL, "title:mi* %s", W(0));
#undef Q
  return n;
}

/* Runs every query with both ranking models, explanations and snippets,
 * and writes all that comes back as text: ids, titles, scores and every
 * explanation field (doubles in %a, so equal text is equal bits), totals,
 * snippets.  With all_match, every query must match something. */
static char *capture(const kidx_reader *r, int all_match) {
  qspec qs[MAX_QUERIES];
  size_t nq = make_queries(qs);
  sbuf b = {NULL, 0, 0};
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  for (size_t qi = 0; qi < nq; qi++) {
    for (int rank = 0; rank < 2; rank++) {
      kidx_search_options opt;
      kidx_search_options_init(&opt);
      opt.limit = 30;
      opt.rank = rank ? KIDX_RANK_BM25 : KIDX_RANK_TFIDF;
      opt.match = qs[qi].match;
      opt.explain = 1;
      opt.snippet_words = 12;
      const char *q = qs[qi].text;
      kidx_status rc = kidx_search(r, q, strlen(q), &opt, res);
      ck_assert_msg(rc == KIDX_OK, "search '%s': %s", q,
                    kidx_results_errmsg(res));
      /* The hits are found with pruning (the default), whose total
       * depends on the order documents are met in; the exact total is
       * asked for separately. */
      kidx_results *all;
      ck_assert_int_eq(kidx_results_new(&all), KIDX_OK);
      kidx_search_options exact = opt;
      exact.exact_total = 1;
      ck_assert_int_eq(kidx_search(r, q, strlen(q), &exact, all), KIDX_OK);
      ck_assert(kidx_results_total_is_exact(all));
      ck_assert_uint_le(kidx_results_total(res), kidx_results_total(all));
      ck_assert_msg(!all_match || kidx_results_total(all) > 0,
                    "'%s' matched nothing", q);
      sb_printf(&b, "query %s match %d rank %d: total %llu, %zu hits\n", q,
                (int)opt.match, rank,
                (unsigned long long)kidx_results_total(all),
                kidx_results_count(res));
      kidx_results_free(all);
      for (size_t i = 0; i < kidx_results_count(res); i++) {
        size_t idl, tl;
        const char *id = kidx_results_id(res, i, &idl);
        const char *title = kidx_results_title(res, i, &tl);
        const kidx_snippet *sn = kidx_results_snippet(res, i);
        ck_assert_ptr_nonnull(sn);
        sb_printf(&b, "  %.*s %a [%.*s] snippet %zu+%zu/%zu [%.*s] %zu\n",
                  (int)idl, id, kidx_results_score(res, i), (int)tl, title,
                  sn->offset, sn->len, sn->body_len, (int)sn->len, sn->text,
                  sn->nhighlights);
        size_t ne = kidx_results_explain_count(res, i);
        ck_assert_uint_gt(ne, 0);
        for (size_t j = 0; j < ne; j++) {
          const kidx_explain *e = kidx_results_explain(res, i, j);
          sb_printf(&b,
                    "    %.*s field %d df %llu idf %a tf %u %u len %u %u "
                    "norm %a %a weight %a %a tfc %a score %a\n",
                    (int)e->term_len, e->term, e->field,
                    (unsigned long long)e->df, e->idf, e->tf[0], e->tf[1],
                    e->len[0], e->len[1], e->norm[0], e->norm[1], e->weight[0],
                    e->weight[1], e->tfc, e->score);
        }
      }
    }
  }
  kidx_results_free(res);
  return b.p;
}

/* Asserts a == b, naming the first line that differs. */
static void assert_same_text(const char *a, const char *b, const char *what) {
  if (!strcmp(a, b))
    return;
  size_t line = 1, start = 0, i = 0;
  for (; a[i] && a[i] == b[i]; i++)
    if (a[i] == '\n') {
      line++;
      start = i + 1;
    }
  const char *ea = strchr(a + start, '\n'), *eb = strchr(b + start, '\n');
  int la = ea ? (int)(ea - (a + start)) : (int)strlen(a + start);
  int lb = eb ? (int)(eb - (b + start)) : (int)strlen(b + start);
  ck_abort_msg("%s: results differ at line %zu:\n  %.*s\nvs\n  %.*s", what,
               line, la, a + start, lb, b + start);
}

/* ---- 1. results equal whatever the segmentation ---- */

#define NIDS  2400
#define SPARE 8 /* ids above NIDS, for topping up */

typedef struct corpus {
  unsigned char live[NIDS + SPARE];
  unsigned version[NIDS + SPARE];
  unsigned next_id; /* ids below have been added at least once */
} corpus;

/* Replaces id (or brings it back after a delete) with a new version. */
static void put(kidx_writer *w, corpus *c, unsigned id) {
  if (id < c->next_id)
    c->version[id]++;
  add_doc(w, id, c->version[id]);
  c->live[id] = 1;
}

/* Deletes id, which must give KIDX_ENOTFOUND exactly when it is not live. */
static void del(kidx_writer *w, corpus *c, unsigned id) {
  kidx_status rc = delete_doc(w, id);
  ck_assert_msg(rc == (c->live[id] ? KIDX_OK : KIDX_ENOTFOUND),
                "delete of id %u (live %d): %d: %s", id, c->live[id], rc,
                kidx_writer_errmsg(w));
  c->live[id] = 0;
}

/* Builds the index in dir in five commits, each through a new writer
 * with merge factor 3: three of new documents with replacements and
 * deletes among them, then one of replacements, revivals and deletes, then
 * one of deletes only.  The last two run with the smallest RAM budget, so
 * that segments are flushed in the middle of a batch (every ten documents
 * or so), merged while they hold deletions, and deleted from before they
 * are committed.  (The first three use the default budget: at 64 KiB the
 * bulk load would flush ~250 times, and as segments under the merge
 * policy's size floor all count as one level, every other flush would
 * rewrite the whole index -- seconds of I/O for no more coverage.) */
static void build_churned(corpus *c) {
  rng r;
  rng_seed(&r, 42);
  memset(c, 0, sizeof *c);
  for (int phase = 0; phase < 5; phase++) {
    kidx_writer *w =
        open_writer_at(dir, phase >= 3 ? KIDX_MIN_RAM_BUDGET : 0, 3);
    if (phase <= 2) {
      unsigned end = (unsigned)(phase + 1) * (NIDS / 3);
      for (; c->next_id < end; c->next_id++) {
        put(w, c, c->next_id);
        if (phase > 0 && c->next_id % 8 == 0)
          put(w, c, (unsigned)(rng_next(&r) % c->next_id));
        if (phase > 0 && c->next_id % 13 == 0)
          del(w, c, (unsigned)(rng_next(&r) % (c->next_id + 1)));
      }
    } else if (phase == 3) {
      size_t files = count_segs(dir);
      for (int op = 0; op < 450; op++) {
        unsigned id = (unsigned)(rng_next(&r) % c->next_id);
        if (op % 3 == 2)
          del(w, c, id);
        else
          put(w, c, id);
      }
      /* Uncommitted segments, flushed and merged, are on disk already. */
      ck_assert_uint_gt(count_segs(dir), files + 4);
    } else {
      for (int op = 0; op < 40; op++)
        del(w, c, (unsigned)(rng_next(&r) % c->next_id));
    }
    commit(w);
    kidx_writer_close(w);
  }
}

START_TEST(test_results_independent_of_segmentation) {
  vocab_init();
  corpus *c = malloc(sizeof *c);
  ck_assert_ptr_nonnull(c);
  build_churned(c);
  /* A commit of one more document flushes one more small segment; with
   * merge factor 3 two small segments stay apart.  Make sure the index
   * has several segments, so that the comparison below means something. */
  for (int i = 0; i < SPARE && stats_at(dir).segments < 2; i++) {
    kidx_writer *w = open_writer_at(dir, KIDX_MIN_RAM_BUDGET, 3);
    put(w, c, c->next_id);
    c->next_id++;
    commit(w);
    kidx_writer_close(w);
  }
  uint64_t nlive = 0;
  for (unsigned id = 0; id < c->next_id; id++)
    nlive += c->live[id];

  kidx_reader *r = open_reader_at(dir);
  kidx_stats multi = stats_of(r);
  ck_assert_uint_ge(multi.segments, 2);
  ck_assert_uint_gt(multi.deleted, 0);
  ck_assert_uint_eq(multi.documents, nlive);
  ck_assert_uint_eq(count_segs(dir), multi.segments);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  /* Every live document in its last version, every other one gone. */
  for (unsigned id = 0; id < c->next_id; id += 7)
    ck_assert_uint_eq(hits_of_doc(r, id), c->live[id]);
  char *before = capture(r, 1);
  kidx_reader_close(r);

  /* Optimized: one segment, no deletions, the same results to the bit. */
  kidx_writer *w = open_writer_at(dir, KIDX_MIN_RAM_BUDGET, 3);
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  commit(w);
  kidx_writer_close(w);
  r = open_reader_at(dir);
  kidx_stats opt = stats_of(r);
  ck_assert_uint_eq(opt.segments, 1);
  ck_assert_uint_eq(opt.deleted, 0);
  ck_assert_uint_eq(opt.documents, multi.documents);
  ck_assert_uint_eq(opt.tokens, multi.tokens);
  ck_assert_uint_le(opt.terms, multi.terms);
  ck_assert_uint_eq(opt.generation, multi.generation + 1);
  ck_assert_uint_eq(count_segs(dir), 1);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  char *after = capture(r, 1);
  kidx_reader_close(r);
  assert_same_text(before, after, "multi-segment vs optimized");

  /* Built from scratch with only the live documents, in one batch with
   * the default budget and in another order: the same again. */
  char *fresh = tu_mkdtemp();
  w = open_writer_at(fresh, 0, 0);
  for (unsigned id = c->next_id; id-- > 0;)
    if (c->live[id])
      add_doc(w, id, c->version[id]);
  commit(w);
  kidx_writer_close(w);
  r = open_reader_at(fresh);
  kidx_stats scratch = stats_of(r);
  ck_assert_uint_eq(scratch.segments, 1);
  ck_assert_uint_eq(scratch.documents, opt.documents);
  ck_assert_uint_eq(scratch.tokens, opt.tokens);
  ck_assert_uint_eq(scratch.terms, opt.terms);
  /* Not stored_bytes: the stored text is compressed in blocks, and how
   * well depends on which documents share a block (here, another order). */
  char *again = capture(r, 1);
  kidx_reader_close(r);
  assert_same_text(before, again, "multi-segment vs built from scratch");

  free(before);
  free(after);
  free(again);
  tu_rmtree(fresh);
  free(fresh);
  free(c);
}
END_TEST

/* ---- 2. the number of segments stays logarithmic ---- */

/* (F - 1) segments per level, over the levels n equal flushes can fill:
 * 1 + floor(log_F n). */
static uint64_t segment_bound(unsigned factor, unsigned flushes) {
  uint64_t levels = 1;
  for (uint64_t p = factor; p <= flushes; p *= factor)
    levels++;
  return (factor - 1) * levels;
}

START_TEST(test_segment_count_is_logarithmic) {
  vocab_init();
  static const unsigned factors[] = {2, 3, 4};
  const unsigned commits = 12, per_commit = 15;
  for (size_t fi = 0; fi < sizeof factors / sizeof factors[0]; fi++) {
    unsigned factor = factors[fi];
    char *d = tu_mkdtemp();
    uint64_t most = 0;
    for (unsigned k = 1; k <= commits; k++) {
      /* Each commit flushes its batch (well under the budget) as one
       * segment of about the same size: k flushes so far. */
      kidx_writer *w = open_writer_at(d, 0, factor);
      for (unsigned i = 0; i < per_commit; i++)
        add_doc(w, (k - 1) * per_commit + i, 0);
      commit(w);
      kidx_stats st = stats_at(d);
      ck_assert_uint_eq(st.documents, (uint64_t)k * per_commit);
      ck_assert_msg(st.segments <= segment_bound(factor, k),
                    "factor %u, %u flushes: %llu segments, bound %llu", factor,
                    k, (unsigned long long)st.segments,
                    (unsigned long long)segment_bound(factor, k));
      /* Merged-away files are removed by the commit itself. */
      ck_assert_uint_eq(count_segs(d), st.segments);
      kidx_writer_close(w);
      if (st.segments > most)
        most = st.segments;
    }
    /* Not vacuous: segments did accumulate (F - 1 of them fit on a level)
     * before being merged, and the last commit's searches see all. */
    if (factor > 2)
      ck_assert_uint_ge(most, factor - 1);
    ck_assert_uint_lt(most, commits);
    kidx_reader *r = open_reader_at(d);
    for (unsigned id = 0; id < commits * per_commit; id += 11)
      ck_assert_uint_eq(hits_of_doc(r, id), 1);
    ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
    kidx_reader_close(r);
    tu_rmtree(d);
    free(d);
  }
}
END_TEST

/* ---- 3. and 4. deletes ---- */

/* nsegs commits of 40 documents: ids 40 * s .. 40 * s + 39 in segment s
 * (with the default merge factor 10, no merge happens). */
static void build_segments(unsigned nsegs) {
  for (unsigned s = 0; s < nsegs; s++) {
    kidx_writer *w = open_writer_at(dir, 0, 0);
    for (unsigned i = 0; i < 40; i++)
      add_doc(w, s * 40 + i, 0);
    commit(w);
    kidx_writer_close(w);
  }
  ck_assert_uint_eq(stats_at(dir).segments, nsegs);
}

START_TEST(test_deletes_do_not_rewrite_segments) {
  vocab_init();
  build_segments(3);
  segset *segs_before = segs_load(dir, 1);
  size_t mlen_before;
  char *manifest_before = read_in(dir, KIDX__MANIFEST_FILE, &mlen_before);
  ck_assert_ptr_nonnull(manifest_before);
  kidx_stats st_before = stats_at(dir);
  ck_assert_uint_eq(st_before.deleted, 0);

  kidx_writer *w = open_writer_at(dir, 0, 0);
  ck_assert_int_eq(delete_doc(w, 5), KIDX_OK);  /* segment 0 */
  ck_assert_int_eq(delete_doc(w, 45), KIDX_OK); /* segment 1 */
  ck_assert_uint_eq(kidx_writer_pending(w), 2);
  /* Gone for the writer already. */
  kidx_stamp stamp;
  ck_assert_int_eq(kidx_writer_stamp(w, "doc-00005", 9, &stamp),
                   KIDX_ENOTFOUND);
  ck_assert_int_eq(delete_doc(w, 45), KIDX_ENOTFOUND);
  ck_assert_int_eq(kidx_writer_stamp(w, "doc-00006", 9, &stamp), KIDX_OK);
  commit(w);
  kidx_writer_close(w);

  /* The segment files are the same files, byte for byte; only the
   * manifest changed. */
  segset *segs_after = segs_load(dir, 1);
  assert_segs_equal(segs_before, segs_after, "after a commit of deletes");
  size_t mlen_after;
  char *manifest_after = read_in(dir, KIDX__MANIFEST_FILE, &mlen_after);
  ck_assert_ptr_nonnull(manifest_after);
  ck_assert(mlen_after != mlen_before ||
            memcmp(manifest_before, manifest_after, mlen_after) != 0);

  kidx_reader *r = open_reader_at(dir);
  kidx_stats st = stats_of(r);
  ck_assert_uint_eq(st.segments, 3);
  ck_assert_uint_eq(st.deleted, 2);
  ck_assert_uint_eq(st.documents, 118);
  ck_assert_uint_eq(st.generation, st_before.generation + 1);
  ck_assert_uint_eq(hits_of_doc(r, 5), 0);
  ck_assert_uint_eq(hits_of_doc(r, 45), 0);
  ck_assert_uint_eq(hits_of_doc(r, 6), 1);
  ck_assert_uint_eq(hits_of_doc(r, 85), 1);
  /* "x*" matches every document's own word: all but the deleted two. */
  ck_assert_uint_eq(hits(r, "x*"), 118);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);

  /* A later writer does not find them either. */
  w = open_writer_at(dir, 0, 0);
  ck_assert_int_eq(kidx_writer_stamp(w, "doc-00005", 9, &stamp),
                   KIDX_ENOTFOUND);
  ck_assert_int_eq(kidx_writer_stamp(w, "doc-00045", 9, &stamp),
                   KIDX_ENOTFOUND);
  ck_assert_int_eq(kidx_writer_restamp(w, "doc-00045", 9, &stamp),
                   KIDX_ENOTFOUND);
  ck_assert_int_eq(delete_doc(w, 5), KIDX_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(kidx_writer_errmsg(w), "doc-00005"));
  ck_assert_int_eq(kidx_writer_stamp(w, "doc-00085", 9, &stamp), KIDX_OK);
  ck_assert_uint_eq(kidx_writer_pending(w), 0);
  commit(w);
  kidx_writer_close(w);
  segs_free(segs_before);
  segset *segs_last = segs_load(dir, 1);
  assert_segs_equal(segs_after, segs_last, "after failed deletes");
  segs_free(segs_after);
  segs_free(segs_last);
  free(manifest_before);
  free(manifest_after);
}
END_TEST

START_TEST(test_quarter_deleted_segment_is_rewritten) {
  vocab_init();
  build_segments(2);
  segset *orig = segs_load(dir, 1);
  ck_assert_uint_eq(orig->n, 2);

  /* 9 of segment 0's 40 documents (under a quarter): recorded only. */
  kidx_writer *w = open_writer_at(dir, 0, 0);
  for (unsigned id = 0; id < 9; id++)
    ck_assert_int_eq(delete_doc(w, id), KIDX_OK);
  commit(w);
  kidx_writer_close(w);
  kidx_stats st = stats_at(dir);
  ck_assert_uint_eq(st.deleted, 9);
  ck_assert_uint_eq(st.segments, 2);
  segset *now = segs_load(dir, 1);
  assert_segs_equal(orig, now, "under a quarter deleted");
  segs_free(now);

  /* The tenth makes a quarter: the segment is rewritten without them. */
  w = open_writer_at(dir, 0, 0);
  ck_assert_int_eq(delete_doc(w, 9), KIDX_OK);
  commit(w);
  kidx_writer_close(w);
  kidx_reader *r = open_reader_at(dir);
  st = stats_of(r);
  ck_assert_uint_eq(st.deleted, 0);
  ck_assert_uint_eq(st.documents, 70);
  ck_assert_uint_eq(st.segments, 2);
  now = segs_load(dir, 1);
  ck_assert_uint_eq(now->n, 2);
  /* Segment 0's file is gone; segment 1's is untouched; a new one holds
   * segment 0's 30 live documents. */
  ck_assert(!segs_has(now, orig->f[0].name));
  ck_assert(segs_has(now, orig->f[1].name));
  for (size_t i = 0; i < now->n; i++)
    if (!strcmp(now->f[i].name, orig->f[1].name))
      ck_assert(now->f[i].len == orig->f[1].len &&
                !memcmp(now->f[i].data, orig->f[1].data, now->f[i].len));
  for (unsigned id = 0; id < 80; id++)
    ck_assert_uint_eq(hits_of_doc(r, id), id >= 10);
  ck_assert_uint_eq(hits(r, "x*"), 70);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
  segs_free(now);
  segs_free(orig);
}
END_TEST

/* ---- 5. leftovers ---- */

START_TEST(test_leftovers_are_removed) {
  vocab_init();
  build_segments(2);
  segset *orig = segs_load(dir, 1);
  size_t mlen;
  char *manifest = read_in(dir, KIDX__MANIFEST_FILE, &mlen);
  ck_assert_ptr_nonnull(manifest);
  /* What a writer that died before publishing leaves behind. */
  tu_write_file(dir, "seg-000000009999.kidx", "half a segment", 14);
  tu_write_file(dir, KIDX__MANIFEST_TMP, "half a manifest", 15);
  /* Other files are not the writer's business. */
  tu_write_file(dir, "notes.txt", "keep me", 7);
  ck_assert_uint_eq(count_segs(dir), 3);

  kidx_writer *w = open_writer_at(dir, 0, 0);
  ck_assert(!exists_in(dir, "seg-000000009999.kidx"));
  ck_assert(!exists_in(dir, KIDX__MANIFEST_TMP));
  kidx_writer_close(w);
  ck_assert(!exists_in(dir, "seg-000000009999.kidx"));
  ck_assert(!exists_in(dir, KIDX__MANIFEST_TMP));
  ck_assert(exists_in(dir, "notes.txt"));
  segset *now = segs_load(dir, 1);
  assert_segs_equal(orig, now, "after removing leftovers");
  segs_free(now);
  kidx_reader *r = open_reader_at(dir);
  ck_assert_uint_eq(stats_of(r).documents, 80);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);

  /* A writer that flushes segments and closes without committing leaves
   * nothing behind, and the index as it was. */
  w = open_writer_at(dir, KIDX_MIN_RAM_BUDGET, 2);
  for (unsigned id = 1000; id < 1120; id++)
    add_doc(w, id, 0);
  ck_assert_int_eq(delete_doc(w, 3), KIDX_OK);
  ck_assert_int_eq(delete_doc(w, 77), KIDX_OK);
  add_doc(w, 50, 1);
  /* Flushed and merged (merge factor 2), not committed. */
  ck_assert_msg(count_segs(dir) > 4, "too few segments flushed: the test is "
                                     "vacuous");
  kidx_writer_close(w);
  now = segs_load(dir, 1);
  assert_segs_equal(orig, now, "after a writer closed without commit");
  segs_free(now);
  size_t mlen2;
  char *manifest2 = read_in(dir, KIDX__MANIFEST_FILE, &mlen2);
  ck_assert(mlen2 == mlen && !memcmp(manifest, manifest2, mlen));
  ck_assert(!exists_in(dir, KIDX__MANIFEST_TMP));
  r = open_reader_at(dir);
  kidx_stats st = stats_of(r);
  ck_assert_uint_eq(st.documents, 80);
  ck_assert_uint_eq(st.deleted, 0);
  ck_assert_uint_eq(hits_of_doc(r, 3), 1);
  ck_assert_uint_eq(hits_of_doc(r, 77), 1);
  ck_assert_uint_eq(hits_of_doc(r, 1000), 0);
  ck_assert_uint_eq(hits(r, "x*"), 80);
  kidx_reader_close(r);
  free(manifest);
  free(manifest2);
  segs_free(orig);
}
END_TEST

/* ---- 6. an open reader keeps its snapshot ---- */

START_TEST(test_reader_keeps_its_snapshot) {
  vocab_init();
  build_segments(3);
  kidx_writer *w = open_writer_at(dir, 0, 0);
  ck_assert_int_eq(delete_doc(w, 7), KIDX_OK);
  commit(w);
  kidx_writer_close(w);

  kidx_reader *old = open_reader_at(dir);
  kidx_stats st_old = stats_of(old);
  ck_assert_uint_eq(st_old.segments, 3);
  char *results_old = capture(old, 0);
  segset *files_old = segs_load(dir, 0);

  /* Deletes, adds, replacements, an optimize: a commit that removes every
   * file the reader has open. */
  w = open_writer_at(dir, 0, 0);
  for (unsigned id = 0; id < 120; id += 3)
    ck_assert_int_eq(delete_doc(w, id), KIDX_OK);
  for (unsigned id = 200; id < 260; id++)
    add_doc(w, id, 0);
  for (unsigned id = 1; id < 120; id += 3)
    if (id != 7) /* stays deleted */
      add_doc(w, id, 1);
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  commit(w);
  /* The commit removed them (the writer is still open). */
  for (size_t i = 0; i < files_old->n; i++)
    ck_assert_msg(!exists_in(dir, files_old->f[i].name), "%s still there",
                  files_old->f[i].name);
  ck_assert_uint_eq(count_segs(dir), 1);
  kidx_writer_close(w);

  /* The old reader: the same statistics, results and a clean check. */
  kidx_stats st = stats_of(old);
  ck_assert(memcmp(&st, &st_old, sizeof st) == 0);
  char *results_again = capture(old, 0);
  assert_same_text(results_old, results_again, "old reader after a commit");
  ck_assert_int_eq(kidx_reader_check(old), KIDX_OK);
  ck_assert_uint_eq(hits_of_doc(old, 0), 1);
  ck_assert_uint_eq(hits_of_doc(old, 7), 0);
  ck_assert_uint_eq(hits_of_doc(old, 200), 0);

  /* A new reader sees the new commit. */
  kidx_reader *r = open_reader_at(dir);
  st = stats_of(r);
  ck_assert_uint_eq(st.segments, 1);
  ck_assert_uint_eq(st.deleted, 0);
  ck_assert_uint_eq(st.documents, 119 - 40 + 60);
  ck_assert_uint_eq(st.generation, st_old.generation + 1);
  ck_assert_uint_eq(hits_of_doc(r, 0), 0);
  ck_assert_uint_eq(hits_of_doc(r, 1), 1);
  ck_assert_uint_eq(hits_of_doc(r, 200), 1);
  char *results_new = capture(r, 0);
  ck_assert(strcmp(results_new, results_old) != 0);
  kidx_reader_close(r);
  kidx_reader_close(old);
  free(results_old);
  free(results_again);
  free(results_new);
  segs_free(files_old);
}
END_TEST

/* ---- 7. a damaged manifest, a missing segment, an old index ---- */

/* Opens the index in dir with a reader and with a writer; both must fail
 * the same way, with KIDX_ECORRUPT or KIDX_EFORMAT and a message naming
 * `name`.  Returns the reader's status. */
static int open_both_fail(const char *name, const char *what) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  int rc = kidx_reader_open(r, dir);
  ck_assert_msg(rc == KIDX_ECORRUPT || rc == KIDX_EFORMAT,
                "%s: reader open gave %d (%s)", what, rc,
                kidx_reader_errmsg(r));
  ck_assert_msg(strstr(kidx_reader_errmsg(r), name),
                "%s: message does not name %s: %s", what, name,
                kidx_reader_errmsg(r));
  kidx_reader_close(r);
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  int wrc = kidx_writer_open(w, dir);
  ck_assert_msg(wrc == rc, "%s: writer open gave %d, reader %d (%s)", what, wrc,
                rc, kidx_writer_errmsg(w));
  ck_assert_msg(strstr(kidx_writer_errmsg(w), name),
                "%s: writer message does not name %s: %s", what, name,
                kidx_writer_errmsg(w));
  kidx_writer_close(w);
  return rc;
}

static void put_manifest(const char *data, size_t len) {
  tu_write_file(dir, KIDX__MANIFEST_FILE, data, len);
}

/* Run twice: _i == 0 with a MANIFEST of version 7 (no metadata), _i == 1
 * of version 8, whose metadata section the flips and truncations cover
 * too. */
START_TEST(test_damaged_manifest_is_refused) {
  vocab_init();
  build_segments(3);
  /* Deletions in two segments, so the manifest holds deletion lists. */
  kidx_writer *w = open_writer_at(dir, 0, 0);
  ck_assert_int_eq(delete_doc(w, 1), KIDX_OK);
  ck_assert_int_eq(delete_doc(w, 2), KIDX_OK);
  ck_assert_int_eq(delete_doc(w, 100), KIDX_OK);
  if (_i == 1) {
    ck_assert_int_eq(
        kidx_writer_set_metadata(w, "kidx.cli.roots", 14, "corpus\0docs", 11),
        KIDX_OK);
    ck_assert_int_eq(kidx_writer_set_metadata(w, "k", 1, "v", 1), KIDX_OK);
  }
  commit(w);
  kidx_writer_close(w);
  segset *orig = segs_load(dir, 1);
  kidx_stats st = stats_at(dir);
  ck_assert_uint_eq(st.deleted, 3);
  size_t len;
  char *good = read_in(dir, KIDX__MANIFEST_FILE, &len);
  ck_assert_ptr_nonnull(good);
  /* the head, three segment entries, and for version 8 the metadata: a
   * count and two entries */
  size_t meta = _i == 1 ? 4 + (1 + 14 + 4 + 11) + (1 + 1 + 4 + 1) : 0;
  ck_assert_uint_gt(len, 48 + 3 * 40 + meta);
  ck_assert_uint_eq(kidx__get_u32((const uint8_t *)good + 8),
                    _i == 1 ? KIDX__MANIFEST_V8 : KIDX__MANIFEST_V7);

  char *copy = malloc(len + 16);
  char what[64];
  size_t format_errors = 0;
  for (size_t i = 0; i < len; i++) {
    for (int pattern = 0; pattern < 2; pattern++) {
      memcpy(copy, good, len);
      copy[i] = (char)(copy[i] ^ (pattern ? 0xFF : 0x01));
      put_manifest(copy, len);
      snprintf(what, sizeof what, "byte %zu ^ 0x%02x", i,
               pattern ? 0xFFu : 0x01u);
      format_errors +=
          open_both_fail(KIDX__MANIFEST_FILE, what) == KIDX_EFORMAT;
    }
  }
  /* The version field's flips say "format", not "damaged". */
  ck_assert_uint_gt(format_errors, 0);
  for (size_t n = 0; n < len; n++) {
    put_manifest(good, n);
    snprintf(what, sizeof what, "truncated to %zu bytes", n);
    ck_assert_int_eq(open_both_fail(KIDX__MANIFEST_FILE, what), KIDX_ECORRUPT);
  }
  memcpy(copy, good, len);
  memset(copy + len, 0, 16);
  put_manifest(copy, len + 16);
  ck_assert_int_eq(open_both_fail(KIDX__MANIFEST_FILE, "trailing bytes"),
                   KIDX_ECORRUPT);
  free(copy);

  /* No writer that saw the damage touched the segments; restored, the
   * index is whole again. */
  put_manifest(good, len);
  segset *now = segs_load(dir, 1);
  assert_segs_equal(orig, now, "after the damaged manifests");
  segs_free(now);
  kidx_reader *r = open_reader_at(dir);
  kidx_stats st2 = stats_of(r);
  ck_assert_uint_eq(st2.documents, st.documents);
  ck_assert_uint_eq(st2.deleted, 3);
  ck_assert_uint_eq(kidx_reader_metadata_count(r), _i == 1 ? 2 : 0);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
  free(good);
  segs_free(orig);
}
END_TEST

/* A MANIFEST whose metadata section is malformed but whose checksum was
 * made to match (a bug or a crafted file, not accidental damage) is
 * refused at open, naming the file -- and so by kidx check, which opens
 * the index first. */
static void put_resealed(const char *data, size_t len) {
  char *copy = malloc(len);
  memcpy(copy, data, len);
  kidx__set_u64((uint8_t *)copy + 40, len);
  kidx__set_u32((uint8_t *)copy + len - 4, kidx__crc32c(0, copy, len - 4));
  put_manifest(copy, len);
  free(copy);
}

START_TEST(test_bad_metadata_is_refused) {
  vocab_init();
  kidx_writer *w = open_writer_at(dir, 0, 0);
  add_doc(w, 1, 0);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "a", 1, "1", 1), KIDX_OK);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "b", 1, "2", 1), KIDX_OK);
  commit(w);
  kidx_writer_close(w);
  size_t len;
  char *good = read_in(dir, KIDX__MANIFEST_FILE, &len);
  ck_assert_ptr_nonnull(good);
  /* The section, last before the CRC: u32 count 2, then per entry u8 key
   * length 1, the key, u32 value length 1, the value. */
  size_t sec = len - 4 - (4 + 2 * 7);
  ck_assert_uint_eq(kidx__get_u32((uint8_t *)good + sec), 2);
  ck_assert(good[sec + 5] == 'a' && good[sec + 10] == '1');
  ck_assert(good[sec + 12] == 'b' && good[sec + 17] == '2');
  char *bad = malloc(len + 16);
  struct {
    size_t at;
    char byte;
    const char *what;
  } edits[] = {
      {sec + 5, 'c', "keys out of order"},
      {sec + 12, 'a', "a key twice"},
      {sec + 4, 0, "an empty key"},
      {sec + 6, 0, "an empty value"},
      {sec + 6, 9, "a value past the end"},
      {sec, 3, "one entry too many"},
      {sec, 1, "one entry too few"},
      {sec + 3, 1, "a count too large to hold"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    memcpy(bad, good, len);
    bad[edits[i].at] = edits[i].byte;
    put_resealed(bad, len);
    ck_assert_int_eq(open_both_fail(KIDX__MANIFEST_FILE, edits[i].what),
                     KIDX_ECORRUPT);
    kidx_reader *r;
    ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
    ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_ECORRUPT);
    ck_assert_msg(strstr(kidx_reader_errmsg(r), "bad metadata section"),
                  "%s: %s", edits[i].what, kidx_reader_errmsg(r));
    kidx_reader_close(r);
  }
  /* Version 7 has no section: the same bytes are trailing garbage; and a
   * version 8 file cut before its section has none. */
  memcpy(bad, good, len);
  kidx__set_u32((uint8_t *)bad + 8, KIDX__MANIFEST_V7);
  put_resealed(bad, len);
  ck_assert_int_eq(open_both_fail(KIDX__MANIFEST_FILE, "v7 with metadata"),
                   KIDX_ECORRUPT);
  memcpy(bad, good, sec);
  memcpy(bad + sec, good + len - 4, 4);
  put_resealed(bad, sec + 4);
  ck_assert_int_eq(open_both_fail(KIDX__MANIFEST_FILE, "v8 without section"),
                   KIDX_ECORRUPT);
  /* A later version is a format error, whatever follows. */
  memcpy(bad, good, len);
  kidx__set_u32((uint8_t *)bad + 8, KIDX__MANIFEST_V8 + 1);
  put_resealed(bad, len);
  ck_assert_int_eq(open_both_fail(KIDX__MANIFEST_FILE, "version 9"),
                   KIDX_EFORMAT);
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_EFORMAT);
  ck_assert_msg(strstr(kidx_reader_errmsg(r), "version 9; this kidx reads "
                                              "versions 7 and 8"),
                "%s", kidx_reader_errmsg(r));
  kidx_reader_close(r);
  /* Restored, it opens, and deleting every key writes version 7 again. */
  put_manifest(good, len);
  w = open_writer_at(dir, 0, 0);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "a", 1, NULL, 0), KIDX_OK);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "b", 1, NULL, 0), KIDX_OK);
  commit(w);
  kidx_writer_close(w);
  free(good);
  good = read_in(dir, KIDX__MANIFEST_FILE, &len);
  ck_assert_uint_eq(kidx__get_u32((uint8_t *)good + 8), KIDX__MANIFEST_V7);
  ck_assert_uint_eq(len, 48 + 40 + 4); /* one segment, nothing deleted */
  r = open_reader_at(dir);
  ck_assert_uint_eq(kidx_reader_metadata_count(r), 0);
  ck_assert_uint_eq(stats_of(r).documents, 1);
  kidx_reader_close(r);
  free(bad);
  free(good);
}
END_TEST

START_TEST(test_missing_segment_is_refused) {
  vocab_init();
  build_segments(3);
  segset *orig = segs_load(dir, 1);
  ck_assert_uint_eq(orig->n, 3);
  char *path = kidx__path_join(dir, orig->f[1].name);
  ck_assert_int_eq(remove(path), 0);
  free(path);
  ck_assert_int_eq(open_both_fail(orig->f[1].name, "missing segment"),
                   KIDX_ECORRUPT);
  /* The others are still there, untouched. */
  segset *now = segs_load(dir, 1);
  ck_assert_uint_eq(now->n, 2);
  ck_assert_str_eq(now->f[0].name, orig->f[0].name);
  ck_assert_str_eq(now->f[1].name, orig->f[2].name);
  ck_assert(now->f[1].len == orig->f[2].len &&
            !memcmp(now->f[1].data, orig->f[2].data, now->f[1].len));
  segs_free(now);
  segs_free(orig);
}
END_TEST

START_TEST(test_old_format_is_refused) {
  static const char old[] = "KIDX\r\n\x1a\0 an index of format 6";
  tu_write_file(dir, KIDX__OLD_INDEX_FILE, old, sizeof old);
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_EFORMAT);
  ck_assert_ptr_nonnull(strstr(kidx_reader_errmsg(r), dir));
  kidx_reader_close(r);
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_EFORMAT);
  ck_assert_ptr_nonnull(strstr(kidx_writer_errmsg(w), dir));
  kidx_writer_close(w);
  /* Nothing was created over it, and it is still there as it was. */
  ck_assert(!exists_in(dir, KIDX__MANIFEST_FILE));
  ck_assert_uint_eq(count_segs(dir), 0);
  size_t len;
  char *now = read_in(dir, KIDX__OLD_INDEX_FILE, &len);
  ck_assert(now && len == sizeof old && !memcmp(now, old, len));
  free(now);
}
END_TEST

/* ---- 8. the generation ---- */

static uint64_t generation(void) {
  return stats_at(dir).generation;
}

START_TEST(test_generation_counts_changing_commits) {
  vocab_init();
  kidx_writer *w = open_writer_at(dir, 0, 0);
  commit(w); /* creates the index */
  ck_assert_uint_eq(generation(), 1);
  size_t len1;
  char *m1 = read_in(dir, KIDX__MANIFEST_FILE, &len1);
  commit(w); /* nothing to do */
  ck_assert_uint_eq(generation(), 1);
  size_t len2;
  char *m2 = read_in(dir, KIDX__MANIFEST_FILE, &len2);
  ck_assert(m1 && m2 && len1 == len2 && !memcmp(m1, m2, len1));
  for (unsigned id = 1; id <= 10; id++)
    add_doc(w, id, 0);
  commit(w);
  ck_assert_uint_eq(generation(), 2);
  commit(w);
  ck_assert_uint_eq(generation(), 2);
  ck_assert_int_eq(delete_doc(w, 1), KIDX_OK);
  commit(w);
  ck_assert_uint_eq(generation(), 3);
  /* An add cancelled by a delete in the same batch changes nothing. */
  add_doc(w, 100, 0);
  ck_assert_int_eq(delete_doc(w, 100), KIDX_OK);
  commit(w);
  ck_assert_uint_eq(generation(), 3);
  add_doc(w, 2, 1); /* a replacement: 2 of 10 deleted, a new segment */
  commit(w);
  ck_assert_uint_eq(generation(), 4);
  kidx_writer_close(w);

  /* Another writer: an empty commit, an optimize (which merges two
   * segments, one with deletions), an optimize with nothing left to do. */
  w = open_writer_at(dir, 0, 0);
  commit(w);
  ck_assert_uint_eq(generation(), 4);
  kidx_stats st = stats_at(dir);
  ck_assert_uint_eq(st.segments, 2);
  ck_assert_uint_eq(st.deleted, 2);
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  commit(w);
  ck_assert_uint_eq(generation(), 5);
  ck_assert_uint_eq(stats_at(dir).segments, 1);
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  commit(w);
  ck_assert_uint_eq(generation(), 5);
  /* Several changes in one commit count once. */
  for (unsigned id = 20; id < 30; id++)
    add_doc(w, id, 0);
  ck_assert_int_eq(delete_doc(w, 2), KIDX_OK);
  commit(w);
  ck_assert_uint_eq(generation(), 6);
  kidx_writer_close(w);
  kidx_reader *r = open_reader_at(dir);
  st = stats_of(r);
  ck_assert_uint_eq(st.generation, 6);
  ck_assert_uint_eq(st.documents, 9 - 1 + 10);
  kidx_reader_close(r);
  free(m1);
  free(m2);
}
END_TEST

/* Counts the segment files in the index directory. */
static size_t count_segment_files(void) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  size_t n = 0;
  struct dirent *e;
  uint64_t number;
  while ((e = readdir(d)) != NULL)
    n += kidx__segment_number(e->d_name, &number);
  closedir(d);
  return n;
}

START_TEST(test_failed_directory_fsync_keeps_both_commits) {
  /* A commit is its rename.  When the directory's fsync fails after it,
   * the commit is visible but may not survive a power loss: the writer
   * must report it, treat the commit as done, and keep the files of the
   * previous commit too -- closing must not delete either's segments. */
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_set_merge_factor(w, 1000), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  ck_assert_int_eq(kidx_writer_add(w, "a", 1, "alpha", 5, "one", 3), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_add(w, "b", 1, "beta", 4, "two", 3), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  ck_assert_uint_eq(count_segment_files(), 2);
  /* optimize replaces both segments with one */
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  fail_dir_fsync = 1;
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_EIO);
  fail_dir_fsync = 0;
  ck_assert_msg(strstr(kidx_writer_errmsg(w), "visible"), "message: %s",
                kidx_writer_errmsg(w));
  ck_assert_uint_eq(kidx_writer_pending(w), 0);
  kidx_writer_close(w);
  /* Both commits' files survive the close; the visible one opens. */
  ck_assert_uint_eq(count_segment_files(), 3);
  kidx_reader *r;
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  ck_assert_uint_eq(st.documents, 2);
  ck_assert_uint_eq(st.segments, 1);
  ck_assert_uint_eq(st.generation, 3);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
  /* The next writer, seeing a durable MANIFEST, removes the old files. */
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  kidx_writer_close(w);
  ck_assert_uint_eq(count_segment_files(), 1);
}
END_TEST

static Suite *segments_suite(void) {
  Suite *s = suite_create("segments");
  TCase *tc = tcase_create("Segments");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_results_independent_of_segmentation);
  tcase_add_test(tc, test_segment_count_is_logarithmic);
  tcase_add_test(tc, test_deletes_do_not_rewrite_segments);
  tcase_add_test(tc, test_quarter_deleted_segment_is_rewritten);
  tcase_add_test(tc, test_leftovers_are_removed);
  tcase_add_test(tc, test_reader_keeps_its_snapshot);
  tcase_add_test(tc, test_generation_counts_changing_commits);
  tcase_add_test(tc, test_failed_directory_fsync_keeps_both_commits);
  suite_add_tcase(s, tc);
  tc = tcase_create("Damage");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, test_damaged_manifest_is_refused, 0, 2);
  tcase_add_test(tc, test_bad_metadata_is_refused);
  tcase_add_test(tc, test_missing_segment_is_refused);
  tcase_add_test(tc, test_old_format_is_refused);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(segments_suite());
}
