/* Ranking: scores of a small hand-computed example (score.c through the
 * public API), and score.c's formulas directly. */
#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

/* The example collection (all words survive stemming unchanged or as
 * noted):
 *   a: "apple banana apple"  -> appl banana appl   dl = 3
 *   b: "banana cherry"       -> banana cherri      dl = 2
 *   c: "cherry"              -> cherri             dl = 1
 * N = 3, total tokens 6, avgdl = 2. */
static char *dir;
static kidx_reader *reader;

static void setup(void) {
  dir = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  ck_assert_int_eq(kidx_writer_add(w, "a", 1, "", 0, "apple banana apple", 18),
                   KIDX_OK);
  ck_assert_int_eq(kidx_writer_add(w, "b", 1, "", 0, "banana cherry", 13),
                   KIDX_OK);
  ck_assert_int_eq(kidx_writer_add(w, "c", 1, "", 0, "cherry", 6), KIDX_OK);
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

static void check_query(const char *q, kidx_rank rank, const expect *want,
                        size_t n) {
  kidx_results *res;
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.rank = rank;
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
  }
  kidx_results_free(res);
}

START_TEST(test_score_tfidf_hand_computed) {
  /* apple: df 1, idf ln(4/1); only a, tf 2, norm 0.8 + 0.2 * 3/2 = 1.1 */
  expect apple[] = {{"a", log(4.0) * (1 + log(1 + log(2.0))) / 1.1}};
  check_query("apple", KIDX_RANK_TFIDF, apple, 1);
  /* banana, cherry: df 2 each, idf ln(4/2).  b has both with tf 1 and norm
   * 1.0; c has cherry, norm 0.8 + 0.2 * 0.5 = 0.9; a has banana, norm 1.1. */
  expect bc[] = {
      {"b", 2 * log(2.0)}, {"c", log(2.0) / 0.9}, {"a", log(2.0) / 1.1}};
  check_query("banana cherry", KIDX_RANK_TFIDF, bc, 3);
  /* A repeated query word counts twice (qtf = 2). */
  expect twice[] = {{"a", 2 * log(4.0) * (1 + log(1 + log(2.0))) / 1.1}};
  check_query("apple apples", KIDX_RANK_TFIDF, twice, 1);
}
END_TEST

START_TEST(test_score_bm25_hand_computed) {
  double k1 = 1.2, b = 0.75;
  /* apple: idf ln(1 + (3 - 1 + 0.5) / (1 + 0.5)) = ln(8/3);
   * a: tf 2, dl/avgdl 1.5 */
  double idf1 = log(8.0 / 3.0);
  double sa = idf1 * 2 * (k1 + 1) / (2 + k1 * (1 - b + b * 1.5));
  expect apple[] = {{"a", sa}};
  check_query("apple", KIDX_RANK_BM25, apple, 1);
  /* banana/cherry: idf ln(1 + 1.5 / 2.5) = ln(1.6) */
  double idf2 = log(1.6);
  double tf1 = (k1 + 1); /* numerator for tf = 1 */
  expect bc[] = {{"b", 2 * idf2 * tf1 / (1 + k1 * (1 - b + b * 1.0))},
                 {"c", idf2 * tf1 / (1 + k1 * (1 - b + b * 0.5))},
                 {"a", idf2 * tf1 / (1 + k1 * (1 - b + b * 1.5))}};
  check_query("banana cherry", KIDX_RANK_BM25, bc, 3);
}
END_TEST

START_TEST(test_score_bm25_parameters) {
  /* b = 0 removes length normalisation: a (banana) and c (cherry) each
   * match one term with tf 1 and the same idf, so they tie exactly and are
   * ordered by id; with tf 1, k1 cancels out of tf * (k1 + 1) / (tf + k1). */
  kidx_results *res;
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.rank = KIDX_RANK_BM25;
  opt.bm25_b = 0;
  opt.bm25_k1 = 2.0;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  ck_assert_int_eq(kidx_search(reader, "banana cherry", 13, &opt, res),
                   KIDX_OK);
  ck_assert_uint_eq(kidx_results_count(res), 3);
  double idf = log(1.6);
  ck_assert(fabs(kidx_results_score(res, 0) - 2 * idf) < 1e-9);
  ck_assert(fabs(kidx_results_score(res, 1) - idf) < 1e-9);
  ck_assert(fabs(kidx_results_score(res, 2) - idf) < 1e-9);
  size_t len;
  ck_assert_int_eq(kidx_results_id(res, 1, &len)[0], 'a');
  ck_assert_int_eq(kidx_results_id(res, 2, &len)[0], 'c');
  kidx_results_free(res);
}
END_TEST

START_TEST(test_score_idf_floor) {
  /* A term in every document keeps a positive weight in both models. */
  kidx__scorer sc;
  kidx__scorer_init(&sc, KIDX_RANK_TFIDF, 1.2, 0.75, 1000, 100000);
  double w = kidx__scorer_term_weight(&sc, 1000, 1);
  ck_assert(fabs(w - log(1001.0 / 1000.0)) < 1e-15);
  ck_assert(w > 0);
  kidx__scorer_init(&sc, KIDX_RANK_BM25, 1.2, 0.75, 1000, 100000);
  w = kidx__scorer_term_weight(&sc, 1000, 1);
  ck_assert(fabs(w - log(1 + 0.5 / 1000.5)) < 1e-15);
  ck_assert(w > 0);
  /* Rarer terms weigh more. */
  ck_assert(kidx__scorer_term_weight(&sc, 1, 1) >
            kidx__scorer_term_weight(&sc, 10, 1));
}
END_TEST

START_TEST(test_score_monotonic_in_tf_and_length) {
  for (int rank = 0; rank < 2; rank++) {
    kidx__scorer sc;
    kidx__scorer_init(&sc, (kidx_rank)rank, 1.2, 0.75, 100, 10000);
    double prev = 0;
    for (uint32_t tf = 1; tf < 100; tf++) {
      double s = kidx__scorer_score(&sc, 1.0, tf, 100);
      ck_assert(s > prev);
      prev = s;
    }
    /* Same tf in a longer document scores lower. */
    ck_assert(kidx__scorer_score(&sc, 1.0, 3, 50) >
              kidx__scorer_score(&sc, 1.0, 3, 500));
  }
  /* TF-IDF at the average length: norm 1, tf 1 gives exactly the weight. */
  kidx__scorer sc;
  kidx__scorer_init(&sc, KIDX_RANK_TFIDF, 1.2, 0.75, 10, 1000);
  ck_assert(fabs(kidx__scorer_score(&sc, 2.5, 1, 100) - 2.5) < 1e-15);
}
END_TEST

static Suite *score_suite(void) {
  Suite *s = suite_create("score");
  TCase *core = tcase_create("Core");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_add_test(core, test_score_tfidf_hand_computed);
  tcase_add_test(core, test_score_bm25_hand_computed);
  tcase_add_test(core, test_score_bm25_parameters);
  suite_add_tcase(s, core);
  TCase *formulas = tcase_create("Formulas");
  tcase_add_test(formulas, test_score_idf_floor);
  tcase_add_test(formulas, test_score_monotonic_in_tf_and_length);
  suite_add_tcase(s, formulas);
  return s;
}

int main(void) {
  return tu_run_suite(score_suite());
}
