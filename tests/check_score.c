/* Ranking: the scores of a small hand-computed example through the public
 * API (fields combined BM25F-style, see score.c and kidx.h), explanations
 * that add up to the score, and score.c's formulas directly. */
#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

/* The example collection (terms after stemming):
 *   a: title "Apple"   body "apple banana apple"  title: appl
 *                                                  body:  appl banana appl
 *   b: title ""        body "banana cherry"        body:  banana cherri
 *   c: title "Cherry"  body "cherry"               title: cherri
 *                                                  body:  cherri
 * N = 3; title terms 2 (average 2/3); body terms 6 (average 2).
 * Field weights: title 2, body 1. */
static char *dir;
static kidx_reader *reader;

static void add(kidx_writer *w, const char *id, const char *title,
                const char *body) {
  ck_assert_int_eq(kidx_writer_add(w, id, strlen(id), title, strlen(title),
                                   body, strlen(body)),
                   KIDX_OK);
}

static void setup(void) {
  dir = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  add(w, "a", "Apple", "apple banana apple");
  add(w, "b", "", "banana cherry");
  add(w, "c", "Cherry", "cherry");
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  ck_assert_int_eq(kidx_reader_new(&reader), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(reader, dir), KIDX_OK);
}

static void teardown(void) {
  kidx_reader_close(reader);
  tu_rmtree(dir);
  free(dir);
}

typedef struct expect {
  const char *id;
  double score;
} expect;

/* Runs q and checks ids and scores to 1e-9, and that the explanation of
 * every hit adds up to its score. */
static void check_query(const char *q, kidx_rank rank, const expect *want,
                        size_t n) {
  kidx_results *res;
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.rank = rank;
  opt.explain = 1;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  ck_assert_int_eq(kidx_search(reader, q, strlen(q), &opt, res), KIDX_OK);
  ck_assert_uint_eq(kidx_results_count(res), n);
  ck_assert_uint_eq(kidx_results_total(res), n);
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *id = kidx_results_id(res, i, &len);
    ck_assert_uint_eq(len, strlen(want[i].id));
    ck_assert_int_eq(memcmp(id, want[i].id, len), 0);
    double got = kidx_results_score(res, i);
    ck_assert_msg(fabs(got - want[i].score) < 1e-9,
                  "%s hit %zu: score %.12f, want %.12f", q, i, got,
                  want[i].score);
    double sum = 0;
    for (size_t j = 0; j < kidx_results_explain_count(res, i); j++)
      sum += kidx_results_explain(res, i, j)->score;
    ck_assert_msg(fabs(sum - got) < 1e-12, "%s hit %zu: explain %.15f != %.15f",
                  q, i, sum, got);
  }
  kidx_results_free(res);
}

/* Singhal's tf damping, continued linearly below 1 (score.c). */
static double damp(double x) {
  return x >= 1 ? 1 + log(1 + log(x)) : x;
}

START_TEST(test_score_tfidf_hand_computed) {
  /* B_f = 0.8 + 0.2 * len_f / avglen_f. */
  double ba_title = 0.8 + 0.2 * 1 / (2.0 / 3), ba_body = 0.8 + 0.2 * 3 / 2.0;
  double bb_body = 0.8 + 0.2 * 2 / 2.0;
  double bc_title = 0.8 + 0.2 * 1 / (2.0 / 3), bc_body = 0.8 + 0.2 * 1 / 2.0;
  /* apple: df 1, idf ln(4/1); in a: tf title 1, body 2. */
  expect apple[] = {{"a", log(4.0) * damp(2 * 1 / ba_title + 2 / ba_body)}};
  check_query("apple", KIDX_RANK_TFIDF, apple, 1);
  /* banana (a, b) and cherry (b, c): df 2, idf ln(4/2). */
  double idf = log(2.0);
  expect bc[] = {{"b", idf * damp(1 / bb_body) + idf * damp(1 / bb_body)},
                 {"c", idf * damp(2 * 1 / bc_title + 1 / bc_body)},
                 {"a", idf * damp(1 / ba_body)}};
  check_query("banana cherry", KIDX_RANK_TFIDF, bc, 3);
  /* title: restricts the term to the title field. */
  expect title[] = {{"a", log(4.0) * damp(2 * 1 / ba_title)}};
  check_query("title:apple", KIDX_RANK_TFIDF, title, 1);
}
END_TEST

START_TEST(test_score_bm25_hand_computed) {
  double k1 = 1.2, b = 0.75;
  /* B_f = (1 - b) + b * len_f / avglen_f; saturation tfc (k1+1)/(tfc+k1) */
  double ba_title = 1 - b + b * 1 / (2.0 / 3), ba_body = 1 - b + b * 3 / 2.0;
  double bb_body = 1 - b + b * 2 / 2.0;
  double bc_title = 1 - b + b * 1 / (2.0 / 3), bc_body = 1 - b + b * 1 / 2.0;
#define SAT(x) ((x) * (k1 + 1) / ((x) + k1))
  double idf1 = log(1 + (3 - 1 + 0.5) / (1 + 0.5));
  expect apple[] = {{"a", idf1 * SAT(2 * 1 / ba_title + 2 / ba_body)}};
  check_query("apple", KIDX_RANK_BM25, apple, 1);
  double idf2 = log(1 + (3 - 2 + 0.5) / (2 + 0.5));
  expect bc[] = {{"b", 2 * idf2 * SAT(1 / bb_body)},
                 {"c", idf2 * SAT(2 * 1 / bc_title + 1 / bc_body)},
                 {"a", idf2 * SAT(1 / ba_body)}};
  check_query("banana cherry", KIDX_RANK_BM25, bc, 3);
  /* body: leaves a's title occurrence out. */
  expect body[] = {{"a", idf1 * SAT(2 / ba_body)}};
  check_query("body:apple", KIDX_RANK_BM25, body, 1);
#undef SAT
}
END_TEST

START_TEST(test_score_field_weights_change_order) {
  /* "cherry": b has it once in a 2-term body; c once in its title and once
   * in its body.  With the title weighted 0, c only has its body match. */
  kidx_results *res;
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  ck_assert_int_eq(kidx_search(reader, "cherry", 6, &opt, res), KIDX_OK);
  size_t len;
  ck_assert_int_eq(kidx_results_id(res, 0, &len)[0], 'c');
  double with_title = kidx_results_score(res, 0);
  opt.title_weight = 0;
  ck_assert_int_eq(kidx_search(reader, "cherry", 6, &opt, res), KIDX_OK);
  double idf = log(2.0), bc_body = 0.8 + 0.2 * 1 / 2.0;
  /* c's body is shorter than b's, so it still ranks first, but lower. */
  ck_assert_int_eq(kidx_results_id(res, 0, &len)[0], 'c');
  ck_assert(fabs(kidx_results_score(res, 0) - idf * damp(1 / bc_body)) < 1e-9);
  ck_assert(kidx_results_score(res, 0) < with_title);
  opt.title_weight = opt.body_weight = 0;
  ck_assert_int_eq(kidx_search(reader, "cherry", 6, &opt, res), KIDX_EINVAL);
  kidx_results_free(res);
}
END_TEST

START_TEST(test_score_idf_floor) {
  /* A term in every document keeps a positive weight in both models. */
  kidx__scorer sc;
  double w[2] = {2, 1};
  uint64_t tok[2] = {1000, 100000};
  kidx__scorer_init(&sc, KIDX_RANK_TFIDF, 1.2, 0.75, w, 1000, tok);
  double idf = kidx__scorer_idf(&sc, 1000);
  ck_assert(fabs(idf - log(1001.0 / 1000.0)) < 1e-15);
  ck_assert(idf > 0);
  kidx__scorer_init(&sc, KIDX_RANK_BM25, 1.2, 0.75, w, 1000, tok);
  idf = kidx__scorer_idf(&sc, 1000);
  ck_assert(fabs(idf - log(1 + 0.5 / 1000.5)) < 1e-15);
  ck_assert(idf > 0);
  ck_assert(kidx__scorer_idf(&sc, 1) > kidx__scorer_idf(&sc, 10));
}
END_TEST

START_TEST(test_score_saturation_monotonic) {
  double w[2] = {2, 1};
  uint64_t tok[2] = {300, 10000};
  for (int rank = 0; rank < 2; rank++) {
    kidx__scorer sc;
    kidx__scorer_init(&sc, (kidx_rank)rank, 1.2, 0.75, w, 100, tok);
    double prev = 0;
    for (double x = 0.05; x < 100; x *= 1.3) {
      double s = kidx__scorer_saturate(&sc, x);
      ck_assert_msg(s > prev, "rank %d not increasing at %g", rank, x);
      prev = s;
    }
    ck_assert(kidx__scorer_saturate(&sc, 0) == 0);
    /* Longer fields normalise more. */
    ck_assert(kidx__scorer_norm(&sc, 1, 50) < kidx__scorer_norm(&sc, 1, 500));
    /* A field of average length has norm 1. */
    ck_assert(fabs(kidx__scorer_norm(&sc, 1, 100) - 1) < 1e-12);
  }
  /* TF-IDF damping is continuous at 1: both pieces give 1. */
  kidx__scorer sc;
  kidx__scorer_init(&sc, KIDX_RANK_TFIDF, 1.2, 0.75, w, 10, tok);
  ck_assert(fabs(kidx__scorer_saturate(&sc, 1.0) - 1.0) < 1e-15);
  ck_assert(fabs(kidx__scorer_saturate(&sc, 1.0 - 1e-9) - 1.0) < 1e-8);
}
END_TEST

static Suite *score_suite(void) {
  Suite *s = suite_create("score");
  TCase *core = tcase_create("Core");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_add_test(core, test_score_tfidf_hand_computed);
  tcase_add_test(core, test_score_bm25_hand_computed);
  tcase_add_test(core, test_score_field_weights_change_order);
  suite_add_tcase(s, core);
  TCase *formulas = tcase_create("Formulas");
  tcase_add_test(formulas, test_score_idf_floor);
  tcase_add_test(formulas, test_score_saturation_monotonic);
  suite_add_tcase(s, formulas);
  return s;
}

int main(void) {
  return tu_run_suite(score_suite());
}
