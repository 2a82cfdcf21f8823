/* Query evaluation through the public API (query.c, search.c, snippet.c,
 * results.c): each operator against a small collection with known
 * answers, snippets and their highlights, explanations. */
#include "kidx.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static kidx_reader *reader;
static kidx_results *res;

static const struct {
  const char *id, *title, *body;
} docs[] = {
    {"d1", "Kaspersky transparency centre",
     "The company opened a transparency centre in Zurich to show its code."},
    {"d2", "Centre of attention",
     "A centre for transparency was promised, but nothing opened."},
    {"d3", "Market news",
     "Best Buy stopped selling the antivirus software last year."},
    {"d4", "FBI briefings",
     "The FBI held briefings with private companies about the vendor."},
    {"d5", "Transparent pricing",
     "Prices were made transparent; no centre was involved at all."},
    {"d6", "Caf\xc3\xa9 notes",
     "Na\xc3\xafve visitors at the caf\xc3\xa9 in Z\xc3\xbcrich read "
     "\xe2\x80\x9ctransparency\xe2\x80\x9d reports."},
};
#define NDOCS (sizeof docs / sizeof docs[0])

static void setup(void) {
  dir = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  for (size_t i = 0; i < NDOCS; i++)
    ck_assert_int_eq(kidx_writer_add(w, docs[i].id, strlen(docs[i].id),
                                     docs[i].title, strlen(docs[i].title),
                                     docs[i].body, strlen(docs[i].body)),
                     KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  ck_assert_int_eq(kidx_reader_new(&reader), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(reader, dir), KIDX_OK);
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
}

static void teardown(void) {
  kidx_results_free(res);
  kidx_reader_close(reader);
  tu_rmtree(dir);
  free(dir);
}

/* The matching ids, sorted by id (so tests do not depend on scores). */
static const char *ids(const char *q, kidx_match match) {
  static char out[256];
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.match = match;
  opt.limit = 100;
  kidx_status rc = kidx_search(reader, q, strlen(q), &opt, res);
  ck_assert_msg(rc == KIDX_OK, "%s: %s", q, kidx_results_errmsg(res));
  ck_assert_uint_eq(kidx_results_total(res), kidx_results_count(res));
  char got[NDOCS][8];
  size_t n = kidx_results_count(res);
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *id = kidx_results_id(res, i, &len);
    snprintf(got[i], sizeof got[i], "%.*s", (int)len, id);
  }
  qsort(got, n, sizeof got[0], (int (*)(const void *, const void *))strcmp);
  out[0] = 0;
  for (size_t i = 0; i < n; i++) {
    if (i)
      strcat(out, " ");
    strcat(out, got[i]);
  }
  return out;
}
#define ANY(q) ids(q, KIDX_MATCH_ANY)
#define ALL(q) ids(q, KIDX_MATCH_ALL)

START_TEST(test_search_bare_words_any_and_all) {
  /* Porter2 stems "transparency" and d5's "transparent" alike. */
  ck_assert_str_eq(ANY("transparency"), "d1 d2 d5 d6");
  ck_assert_str_eq(ANY("zurich centre"), "d1 d2 d5 d6");
  ck_assert_str_eq(ALL("zurich centre"), "d1");
  ck_assert_str_eq(ALL("transparency centre"), "d1 d2 d5");
  /* "and", "or", "not" in lower case are words. */
  ck_assert_str_eq(ANY("nothing or"), "d2");
}
END_TEST

START_TEST(test_search_boolean_operators) {
  ck_assert_str_eq(ANY("zurich AND centre"), "d1");
  ck_assert_str_eq(ALL("zurich OR fbi"), "d1 d4 d6");
  ck_assert_str_eq(ANY("centre NOT zurich"), "d2 d5");
  ck_assert_str_eq(ANY("centre -zurich"), "d2 d5");
  ck_assert_str_eq(ANY("centre -(zurich OR prices)"), "d2");
  /* AND binds tighter than OR. */
  ck_assert_str_eq(ANY("fbi OR transparency AND zurich"), "d1 d4 d6");
  ck_assert_str_eq(ANY("(fbi OR transparency) AND zurich"), "d1 d6");
  /* With --any, juxtaposition is OR but explicit AND still binds:
   * best OR (buy AND fbi) */
  ck_assert_str_eq(ANY("best buy AND fbi"), "d3");
}
END_TEST

START_TEST(test_search_phrases) {
  ck_assert_str_eq(ANY("\"transparency centre\""), "d1");
  /* The same words reversed match a different document. */
  ck_assert_str_eq(ANY("\"centre for transparency\""), "d2");
  ck_assert_str_eq(ANY("\"centre transparency\""), "");
  ck_assert_str_eq(ANY("\"best buy\""), "d3");
  ck_assert_str_eq(ANY("\"buy best\""), "");
  /* A phrase never spans title and body. */
  ck_assert_str_eq(ANY("\"briefings the fbi\""), "");
}
END_TEST

START_TEST(test_search_near) {
  /* d2: "centre for transparency" (1 word between); d1: adjacent */
  ck_assert_str_eq(ANY("NEAR(centre transparency, 0)"), "d1");
  /* d5: "transparent; no centre" also has one word between. */
  ck_assert_str_eq(ANY("NEAR(centre transparency, 1)"), "d1 d2 d5");
  /* d4 body: "FBI held briefings" -> fbi ... briefings with 1 between */
  ck_assert_str_eq(ANY("NEAR(fbi private, 3)"), "d4");
  ck_assert_str_eq(ANY("NEAR(fbi vendor, 3)"), "");
  ck_assert_str_eq(ANY("NEAR(fbi vendor)"), "d4");
}
END_TEST

START_TEST(test_search_near_repeated_term) {
  /* Both words stem to "transpar": one occurrence satisfies both, with no
   * other word in between. */
  ck_assert_str_eq(ANY("NEAR(transparency transparent, 0)"), "d1 d2 d5 d6");
  ck_assert_str_eq(ANY("NEAR(fbi fbi briefings, 1)"), "d4");
}
END_TEST

START_TEST(test_search_prefix_and_fields) {
  ck_assert_str_eq(ANY("transpar*"), "d1 d2 d5 d6");
  ck_assert_str_eq(ANY("brief*"), "d4");
  ck_assert_str_eq(ANY("title:centre"), "d1 d2");
  ck_assert_str_eq(ANY("body:centre"), "d1 d2 d5");
  ck_assert_str_eq(ANY("title:\"transparency centre\""), "d1");
  ck_assert_str_eq(ANY("title:transpar*"), "d1 d5");
  /* Folding applies to queries: accents, case. */
  ck_assert_str_eq(ANY("ZURICH"), "d1 d6");
  ck_assert_str_eq(ANY("cafe"), "d6");
}
END_TEST

START_TEST(test_search_errors_have_columns) {
  static const struct {
    const char *q;
    size_t column;
  } bad[] = {{"(transparency", 1},
             {"transparency)", 13},
             {"\"open", 1},
             {"a AND", 3},
             {"OR b", 1}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    kidx_status rc = kidx_search(reader, bad[i].q, strlen(bad[i].q), NULL, res);
    ck_assert_int_eq(rc, KIDX_EQUERY);
    ck_assert_uint_eq(kidx_results_count(res), 0);
    char want[64];
    snprintf(want, sizeof want, "query error at column %zu:", bad[i].column);
    ck_assert_msg(strstr(kidx_results_errmsg(res), want) != NULL, "%s: %s",
                  bad[i].q, kidx_results_errmsg(res));
    ck_assert_uint_eq(kidx_results_error_column(res), bad[i].column);
  }
  ck_assert_int_eq(kidx_search(reader, "-fbi", 4, NULL, res), KIDX_EQUERY);
  ck_assert_int_eq(kidx_search(reader, "...", 3, NULL, res), KIDX_EQUERY);
  ck_assert_uint_eq(kidx_results_error_column(res), 0);
}
END_TEST

/* Valid UTF-8 check, for snippets. */
static int valid_utf8(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t len = p[i] < 0x80 ? 1 : p[i] < 0xE0 ? 2 : p[i] < 0xF0 ? 3 : 4;
    if (p[i] >= 0x80 && p[i] < 0xC2)
      return 0;
    if (i + len > n)
      return 0;
    for (size_t k = 1; k < len; k++)
      if ((p[i + k] & 0xC0) != 0x80)
        return 0;
    i += len;
  }
  return 1;
}

START_TEST(test_search_snippets_highlight_matches) {
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.snippet_words = 4;
  const char *q = "zurich transparency";
  ck_assert_int_eq(kidx_search(reader, q, strlen(q), &opt, res), KIDX_OK);
  size_t n = kidx_results_count(res);
  ck_assert_uint_ge(n, 2);
  int saw_d6 = 0;
  for (size_t i = 0; i < n; i++) {
    const kidx_snippet *s = kidx_results_snippet(res, i);
    ck_assert_ptr_nonnull(s);
    ck_assert(valid_utf8(s->text, s->len));
    ck_assert_uint_le(s->offset + s->len, s->body_len);
    ck_assert_uint_ge(s->nhighlights, 1);
    for (size_t h = 0; h < s->nhighlights; h++) {
      const kidx_span *sp = &s->highlights[h];
      ck_assert_uint_lt(sp->start, sp->end);
      ck_assert_uint_le(sp->end, s->len);
      ck_assert(valid_utf8(s->text + sp->start, sp->end - sp->start));
    }
    size_t len;
    const char *id = kidx_results_id(res, i, &len);
    if (len == 2 && !memcmp(id, "d6", 2)) {
      /* "Zürich" and "transparency" (inside typographic quotes) both in
       * the 4-word window, highlighted as the original words. */
      saw_d6 = 1;
      ck_assert_uint_eq(s->nhighlights, 2);
      ck_assert_int_eq(
          memcmp(s->text + s->highlights[0].start, "Z\xc3\xbcrich", 7), 0);
      ck_assert_uint_eq(s->highlights[0].end - s->highlights[0].start, 7);
      ck_assert_int_eq(
          memcmp(s->text + s->highlights[1].start, "transparency", 12), 0);
    }
  }
  ck_assert(saw_d6);
  /* Phrase matches highlight their words only where the phrase is. */
  const char *p = "\"transparency centre\"";
  ck_assert_int_eq(kidx_search(reader, p, strlen(p), &opt, res), KIDX_OK);
  const kidx_snippet *s = kidx_results_snippet(res, 0);
  ck_assert_uint_eq(s->nhighlights, 2);
  /* No snippets when not asked for. */
  opt.snippet_words = 0;
  ck_assert_int_eq(kidx_search(reader, p, strlen(p), &opt, res), KIDX_OK);
  ck_assert_ptr_null(kidx_results_snippet(res, 0));
}
END_TEST

START_TEST(test_search_explain_adds_up) {
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.explain = 1;
  static const char *const queries[] = {
      "transparency centre", "\"transparency centre\" OR fbi",
      "transpar* -prices", "title:centre body:transparency",
      "NEAR(fbi briefings, 5)"};
  for (int rank = 0; rank < 2; rank++) {
    opt.rank = (kidx_rank)rank;
    for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
      const char *q = queries[qi];
      ck_assert_int_eq(kidx_search(reader, q, strlen(q), &opt, res), KIDX_OK);
      ck_assert_uint_ge(kidx_results_count(res), 1);
      for (size_t i = 0; i < kidx_results_count(res); i++) {
        double sum = 0;
        size_t ne = kidx_results_explain_count(res, i);
        ck_assert_uint_ge(ne, 1);
        for (size_t j = 0; j < ne; j++) {
          const kidx_explain *e = kidx_results_explain(res, i, j);
          ck_assert(e->idf > 0 && e->df >= 1 && e->tfc > 0);
          ck_assert(e->tf[0] + e->tf[1] >= 1);
          sum += e->score;
        }
        ck_assert_msg(fabs(sum - kidx_results_score(res, i)) < 1e-9,
                      "%s: %g != %g", q, sum, kidx_results_score(res, i));
      }
    }
  }
}
END_TEST

START_TEST(test_search_results_outlive_reader) {
  const char *q = "transparency";
  ck_assert_int_eq(kidx_search(reader, q, strlen(q), NULL, res), KIDX_OK);
  kidx_reader_close(reader);
  reader = NULL;
  size_t len;
  const char *id = kidx_results_id(res, 0, &len);
  ck_assert_uint_eq(len, 2);
  ck_assert_int_eq(id[0], 'd');
  const kidx_snippet *s = kidx_results_snippet(res, 0);
  ck_assert(valid_utf8(s->text, s->len));
}
END_TEST

static Suite *search_suite(void) {
  Suite *s = suite_create("search");
  TCase *tc = tcase_create("Operators");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_search_bare_words_any_and_all);
  tcase_add_test(tc, test_search_boolean_operators);
  tcase_add_test(tc, test_search_phrases);
  tcase_add_test(tc, test_search_near);
  tcase_add_test(tc, test_search_near_repeated_term);
  tcase_add_test(tc, test_search_prefix_and_fields);
  tcase_add_test(tc, test_search_errors_have_columns);
  tcase_add_test(tc, test_search_snippets_highlight_matches);
  tcase_add_test(tc, test_search_explain_adds_up);
  tcase_add_test(tc, test_search_results_outlive_reader);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(search_suite());
}
