/* Dynamic pruning (search.c) against the exhaustive evaluation: for
 * thousands of random queries over several corpora and segment layouts,
 * with both ranking models and varied parameters, a search that skips
 * documents (the default) must return exactly the hits of one that scores
 * every match (exact_total): the same documents, the same scores bit for
 * bit, in the same order. */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng;

static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Words "w0".."w<V-1>", drawn with a Zipf-like skew (index ~ V^u^2). */
enum { VOCAB = 600 };

static unsigned zipf_word(void) {
  double u = (double)(next_rand() % 1000000) / 1000000.0;
  unsigned i = (unsigned)((double)VOCAB * u * u * u);
  return i < VOCAB ? i : VOCAB - 1;
}

static void word(char *out, size_t cap, unsigned i) {
  /* Letters only, so that no stemming or splitting changes them. */
  char s[8];
  size_t n = 0;
  do {
    s[n++] = (char)('a' + i % 26);
    i /= 26;
  } while (i);
  snprintf(out, cap, "q%.*sz", (int)n, s);
}

typedef struct layout {
  const char *name;
  unsigned ndocs;
  unsigned commit_every; /* documents per commit (segments), 0: one */
  int deletes;           /* delete some documents */
  int dup_docs;          /* many identical documents: equal scores */
  int shuffled;          /* ids in no relation to document order */
} layout;

/* The id of document d: in document order, or (l->shuffled) in an order
 * unrelated to it, so that a later document often has the smaller id and
 * must win a tie of scores. */
static void doc_id(char *id, size_t cap, const layout *l, unsigned d) {
  if (l->shuffled)
    snprintf(id, cap, "d%08x", (unsigned)(d * 2654435761u));
  else
    snprintf(id, cap, "doc%05u", d);
}

/* Builds an index in a new directory; returns it. */
static char *build(const layout *l) {
  char *dir = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  ck_assert_int_eq(kidx_writer_set_merge_factor(w, 4), KIDX_OK);
  char *body = malloc(64 * 1024), title[256], id[32], wb[16];
  for (unsigned d = 0; d < l->ndocs; d++) {
    size_t n = 0, tn = 0;
    unsigned len = 1 + (unsigned)(next_rand() % 200);
    if (next_rand() % 10 == 0)
      len += (unsigned)(next_rand() % 2000); /* a few long ones */
    if (l->dup_docs && d % 3 == 0)
      len = 5;
    for (unsigned k = 0; k < len; k++) {
      unsigned wi = l->dup_docs && d % 3 == 0 ? k : zipf_word();
      word(wb, sizeof wb, wi);
      n += (size_t)snprintf(body + n, 64 * 1024 - n, "%s ", wb);
    }
    unsigned tl = (unsigned)(next_rand() % 5);
    for (unsigned k = 0; k < tl; k++) {
      word(wb, sizeof wb, zipf_word());
      tn += (size_t)snprintf(title + tn, sizeof title - tn, "%s ", wb);
    }
    doc_id(id, sizeof id, l, d);
    ck_assert_int_eq(kidx_writer_add(w, id, strlen(id), title, tn, body, n),
                     KIDX_OK);
    if (l->commit_every && (d + 1) % l->commit_every == 0)
      ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  if (l->deletes) {
    for (unsigned d = 0; d < l->ndocs; d += 7) {
      doc_id(id, sizeof id, l, d);
      ck_assert_int_eq(kidx_writer_delete(w, id, strlen(id)), KIDX_OK);
    }
    ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  }
  kidx_writer_close(w);
  free(body);
  return dir;
}

/* A random query of the language's shapes. */
static void random_query(char *q, size_t cap) {
  char wb[16];
  size_t n = 0;
  unsigned shape = (unsigned)(next_rand() % 10);
  unsigned nw = 1 + (unsigned)(next_rand() % 6);
  q[0] = 0;
  for (unsigned k = 0; k < nw; k++) {
    word(wb, sizeof wb, zipf_word());
    const char *pre = "";
    if (shape == 1 && k > 0 && next_rand() % 3 == 0)
      pre = "-";
    else if (shape == 2 && next_rand() % 3 == 0)
      pre = next_rand() % 2 ? "title:" : "body:";
    if (shape == 3 && k == 0) {
      /* A phrase of two words. */
      char wb2[16];
      word(wb2, sizeof wb2, zipf_word());
      n += (size_t)snprintf(q + n, cap - n, "\"%s %s\" ", wb, wb2);
      continue;
    }
    if (shape == 4 && k == 0) {
      wb[3] = 0; /* a prefix: "qa*" and the like */
      n += (size_t)snprintf(q + n, cap - n, "%s* ", wb);
      continue;
    }
    if (shape == 5 && k > 0)
      n += (size_t)snprintf(q + n, cap - n, "%s ",
                            next_rand() % 2 ? "OR" : "AND");
    if (shape == 6 && k == 0 && nw > 1)
      n += (size_t)snprintf(q + n, cap - n, "(");
    n += (size_t)snprintf(q + n, cap - n, "%s%s ", pre, wb);
    if (shape == 6 && k == 1 && nw > 1)
      n += (size_t)snprintf(q + n, cap - n, ") ");
  }
  if (shape == 6 && nw > 1 && strchr(q, ')') == NULL)
    n += (size_t)snprintf(q + n, cap - n, ")");
}

/* The hits of one search as text: id and score bits, in order. */
static int hits_text(kidx_reader *r, const char *q,
                     const kidx_search_options *o, kidx_results *res, char *out,
                     size_t cap, uint64_t *total, int *exact) {
  kidx_status rc = kidx_search(r, q, strlen(q), o, res);
  if (rc == KIDX_EQUERY)
    return 0; /* e.g. only excluded words: not a search */
  ck_assert_msg(rc == KIDX_OK, "'%s': %s", q, kidx_results_errmsg(res));
  size_t n = 0;
  out[0] = 0;
  for (size_t i = 0; i < kidx_results_count(res); i++) {
    size_t len;
    const char *id = kidx_results_id(res, i, &len);
    n += (size_t)snprintf(out + n, cap - n, "%.*s %a\n", (int)len, id,
                          kidx_results_score(res, i));
  }
  *total = kidx_results_total(res);
  *exact = kidx_results_total_is_exact(res);
  return 1;
}

static void compare_all(const char *dir, unsigned nqueries, unsigned *pruned) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  kidx_results *a, *b;
  ck_assert_int_eq(kidx_results_new(&a), KIDX_OK);
  ck_assert_int_eq(kidx_results_new(&b), KIDX_OK);
  static char ta[1 << 16], tb[1 << 16];
  char q[512];
  static const size_t limits[] = {1, 3, 10, 10, 10, 50};
  for (unsigned i = 0; i < nqueries; i++) {
    random_query(q, sizeof q);
    kidx_search_options o;
    kidx_search_options_init(&o);
    o.snippet_words = 0;
    o.limit = limits[next_rand() % 6];
    o.offset = next_rand() % 4 == 0 ? (size_t)(next_rand() % 20) : 0;
    o.match = next_rand() % 3 == 0 ? KIDX_MATCH_ALL : KIDX_MATCH_ANY;
    o.rank = next_rand() % 2 ? KIDX_RANK_BM25 : KIDX_RANK_TFIDF;
    switch (next_rand() % 7) {
    case 0:
      o.bm25_b = 0.0;
      break;
    case 1:
      o.bm25_b = 1.0;
      o.bm25_k1 = 0.0;
      break;
    case 2:
      o.title_weight = 0.0;
      break;
    case 3:
      o.title_weight = 10.0;
      o.bm25_k1 = 3.0;
      break;
    case 4:
      o.body_weight = next_rand() % 2 ? 0.25 : 0.0;
      if (o.body_weight == 0.0)
        o.title_weight = 1.0;
      break;
    case 5:
      /* Extremes: scores near the bottom of the doubles (subnormal),
       * or large ones. */
      o.title_weight = next_rand() % 2 ? 4.94e-324 : 1e6;
      o.body_weight = next_rand() % 2 ? 1e-300 : 1.0;
      o.bm25_k1 = next_rand() % 2 ? 1e6 : 1.2;
      break;
    default:
      break;
    }
    uint64_t total_a, total_b;
    int exact_a, exact_b;
    if (!hits_text(r, q, &o, a, ta, sizeof ta, &total_a, &exact_a))
      continue;
    o.exact_total = 1;
    ck_assert(hits_text(r, q, &o, b, tb, sizeof tb, &total_b, &exact_b));
    ck_assert_msg(strcmp(ta, tb) == 0,
                  "query '%s' (k %zu, offset %zu, rank %d, match %d, k1 %g, "
                  "b %g, weights %g %g): pruned hits\n%s"
                  "differ from the exhaustive ones\n%s",
                  q, o.limit, o.offset, (int)o.rank, (int)o.match, o.bm25_k1,
                  o.bm25_b, o.title_weight, o.body_weight, ta, tb);
    ck_assert(exact_b);
    ck_assert_uint_le(total_a, total_b);
    if (exact_a)
      ck_assert_uint_eq(total_a, total_b);
    else
      (*pruned)++;
  }
  kidx_results_free(a);
  kidx_results_free(b);
  kidx_reader_close(r);
}

static const layout layouts[] = {
    {"one segment", 6000, 0, 0, 0, 0},
    {"segments", 4000, 500, 0, 0, 0},
    {"segments and deletions", 4000, 700, 1, 0, 0},
    {"equal scores", 3000, 0, 0, 1, 0},
    {"equal scores, segments, deletions", 3000, 400, 1, 1, 0},
    {"equal scores, shuffled ids", 3000, 0, 0, 1, 1},
    {"equal scores, shuffled ids, segments, deletions", 3000, 300, 1, 1, 1},
};

START_TEST(test_pruned_equals_exhaustive) {
  const layout *l = &layouts[_i];
  rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(_i + 1) * 0x2545F4914F6CDD1Dull;
  char *dir = build(l);
  if (getenv("KIDX_PRUNE_KEEP"))
    fprintf(stderr, "index: %s\n", dir);
  unsigned pruned = 0;
  compare_all(dir, 1500, &pruned);
  /* The test is only worth something if pruning happened. */
  ck_assert_msg(pruned > 100, "%s: only %u searches pruned", l->name, pruned);
  if (!getenv("KIDX_PRUNE_KEEP"))
    tu_rmtree(dir);
  free(dir);
}
END_TEST

static void add_doc(kidx_writer *w, const char *id, const char *title) {
  ck_assert_int_eq(
      kidx_writer_add(w, id, strlen(id), title, strlen(title), "body", 4),
      KIDX_OK);
}

/* The top hit of query q with options o, pruned (got[0]) and exhaustive
 * (got[1]), as "id score" with the score's exact bits. */
static void top_both(kidx_reader *r, const char *q, kidx_search_options o,
                     kidx_results *res, char got[2][64]) {
  for (int exact = 0; exact < 2; exact++) {
    o.limit = 1;
    o.exact_total = exact;
    ck_assert_int_eq(kidx_search(r, q, strlen(q), &o, res), KIDX_OK);
    ck_assert_uint_eq(kidx_results_count(res), 1);
    size_t len;
    const char *id = kidx_results_id(res, 0, &len);
    snprintf(got[exact], 64, "%.*s %a", (int)len, id,
             kidx_results_score(res, 0));
  }
}

/* top_both on the index in dir with BM25 of the given k1 and b and a
 * title weight of the smallest double. */
static void subnormal_top(const char *dir, const char *q, double k1, double b,
                          char got[2][64]) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  kidx_search_options o;
  kidx_search_options_init(&o);
  o.snippet_words = 0;
  o.rank = KIDX_RANK_BM25;
  o.bm25_k1 = k1;
  o.bm25_b = b;
  o.title_weight = 4.9406564584124654e-324;
  top_both(r, q, o, res, got);
  kidx_results_free(res);
  kidx_reader_close(r);
}

START_TEST(test_subnormal_scores_tie) {
  /* A title weight of the smallest double makes scores subnormal, where
   * roundings are no longer relative: the score of "a" rounds above the
   * relative-only bound of its block, which once skipped it, and "a"
   * must win the tie with "y" on its id. */
  char *dir = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  add_doc(w, "y", "zq zq zq");
  add_doc(w, "f1", "fa fb");
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  add_doc(w, "a", "zq zq zq");
  add_doc(w, "f2", "fc fd");
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  char got[2][64];
  subnormal_top(dir, "title:zq", 1.2, 1.0, got);
  ck_assert_str_eq(got[0], got[1]);
  ck_assert(got[1][0] == 'a');
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  kidx_search_options o;
  /* Infinite or huge parameters would give NaN scores, which have no
   * order: refused. */
  for (int which = 0; which < 4; which++) {
    kidx_search_options_init(&o);
    o.rank = KIDX_RANK_BM25;
    if (which == 0)
      o.title_weight = INFINITY;
    else if (which == 1)
      o.body_weight = 1e7;
    else if (which == 2)
      o.bm25_k1 = INFINITY;
    else
      o.bm25_k1 = NAN;
    ck_assert_int_eq(kidx_search(r, "zq", 2, &o, res), KIDX_EINVAL);
  }
  kidx_results_free(res);
  kidx_reader_close(r);
  tu_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(test_subnormal_weight_k1_zero) {
  /* BM25 with k1 = 0 gives every positive combined frequency the same
   * saturation, so a bound whose frequency underflowed to 0 where the
   * score's did not once skipped the best document (z99, with both
   * words): such weights are searched exhaustively. */
  char *dir = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  for (int i = 0; i < 20; i++) {
    char id[8];
    snprintf(id, sizeof id, "d%02d", i);
    add_doc(w, id, "zq");
  }
  add_doc(w, "z99", "zq qq");
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  char got[2][64];
  subnormal_top(dir, "title:zq title:qq", 0.0, 0.75, got);
  ck_assert_str_eq(got[0], got[1]);
  ck_assert_msg(strncmp(got[1], "z99", 3) == 0, "%s", got[1]);
  tu_rmtree(dir);
  free(dir);
}
END_TEST

static Suite *prune_suite(void) {
  Suite *s = suite_create("prune");
  TCase *tc = tcase_create("Exact");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, test_pruned_equals_exhaustive, 0,
                      (int)(sizeof layouts / sizeof layouts[0]));
  tcase_add_test(tc, test_subnormal_scores_tie);
  tcase_add_test(tc, test_subnormal_weight_k1_zero);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(prune_suite());
}
