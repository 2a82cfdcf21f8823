/* Tests of the public write/read/search API (writer.c, reader.c, search.c,
 * segwrite.c, segment.c together), in temporary directories. */
#include "kidx.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;

static void setup(void) {
  dir = tu_mkdtemp();
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
}

static void add(kidx_writer *w, const char *id, const char *title,
                const char *body) {
  kidx_status rc = kidx_writer_add(w, id, strlen(id), title, strlen(title),
                                   body, strlen(body));
  ck_assert_msg(rc == KIDX_OK, "add %s: %s", id, kidx_writer_errmsg(w));
}

static void commit(kidx_writer *w) {
  kidx_status rc = kidx_writer_commit(w);
  ck_assert_msg(rc == KIDX_OK, "commit: %s", kidx_writer_errmsg(w));
}

static kidx_reader *open_reader(void) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  kidx_status rc = kidx_reader_open(r, dir);
  ck_assert_msg(rc == KIDX_OK, "reader open: %s", kidx_reader_errmsg(r));
  return r;
}

/* Runs a query and returns the hit ids joined by spaces (static buffer). */
static const char *search_ids(kidx_reader *r, const char *q, size_t limit,
                              size_t offset, uint64_t *total) {
  static char out[4096];
  kidx_results *res;
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.limit = limit;
  opt.offset = offset;
  opt.exact_total = total != NULL;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  kidx_status rc = kidx_search(r, q, strlen(q), &opt, res);
  ck_assert_msg(rc == KIDX_OK, "search '%s': %s", q, kidx_results_errmsg(res));
  size_t n = 0;
  out[0] = 0;
  for (size_t i = 0; i < kidx_results_count(res); i++) {
    size_t len;
    const char *id = kidx_results_id(res, i, &len);
    n += (size_t)snprintf(out + n, sizeof out - n, "%s%.*s", i ? " " : "",
                          (int)len, id);
  }
  if (total)
    *total = kidx_results_total(res);
  kidx_results_free(res);
  return out;
}

START_TEST(test_index_empty_commit_creates_index) {
  kidx_writer *w = tu_open_writer(dir);
  commit(w);
  kidx_writer_close(w);
  kidx_reader *r = open_reader();
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  ck_assert_uint_eq(st.documents, 0);
  ck_assert_uint_eq(st.terms, 0);
  ck_assert_uint_eq(st.tokens, 0);
  ck_assert_uint_gt(st.bytes, 0);
  uint64_t total = 99;
  ck_assert_str_eq(search_ids(r, "anything", 10, 0, &total), "");
  ck_assert_uint_eq(total, 0);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_missing_index) {
  kidx_reader *r;
  char path[4200];
  snprintf(path, sizeof path, "%s/nothing-here", dir);
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, path), KIDX_ENOINDEX);
  ck_assert_ptr_nonnull(strstr(kidx_reader_errmsg(r), path));
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_search_ranks_and_counts) {
  kidx_writer *w = tu_open_writer(dir);
  add(w, "fruit", "Fruit", "apple banana apple cherry");
  add(w, "tree", "Trees", "apple trees grow in orchards");
  add(w, "car", "Cars", "engines and wheels");
  commit(w);
  kidx_writer_close(w);
  kidx_reader *r = open_reader();
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  ck_assert_uint_eq(st.documents, 3);
  /* fruit: 5 tokens, tree: 6, car: 4 */
  ck_assert_uint_eq(st.tokens, 15);
  uint64_t total;
  ck_assert_str_eq(search_ids(r, "apples", 10, 0, &total), "fruit tree");
  ck_assert_uint_eq(total, 2);
  ck_assert_str_eq(search_ids(r, "WHEEL", 10, 0, &total), "car");
  ck_assert_str_eq(search_ids(r, "apple wheels", 10, 0, &total),
                   "car fruit tree");
  ck_assert_uint_eq(total, 3);
  ck_assert_str_eq(search_ids(r, "zebra", 10, 0, &total), "");
  ck_assert_uint_eq(total, 0);
  /* The title is searchable and returned. */
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  ck_assert_int_eq(kidx_search(r, "trees", 5, NULL, res), KIDX_OK);
  ck_assert_uint_eq(kidx_results_count(res), 1);
  size_t len;
  const char *title = kidx_results_title(res, 0, &len);
  ck_assert_int_eq((int)len, 5);
  ck_assert_int_eq(memcmp(title, "Trees", 5), 0);
  ck_assert(kidx_results_score(res, 0) > 0);
  ck_assert_ptr_null(kidx_results_id(res, 1, &len));
  ck_assert_uint_eq(len, 0);
  kidx_results_free(res);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_paging_matches_full_list) {
  kidx_writer *w = tu_open_writer(dir);
  char id[32], body[256];
  for (int i = 0; i < 40; i++) {
    snprintf(id, sizeof id, "doc%02d", i);
    snprintf(body, sizeof body, "common %s", i % 3 ? "x" : "common common");
    for (int j = 0; j < i % 7; j++)
      strcat(body, " filler");
    add(w, id, "", body);
  }
  commit(w);
  kidx_writer_close(w);
  kidx_reader *r = open_reader();
  char full[4096];
  uint64_t total;
  snprintf(full, sizeof full, "%s", search_ids(r, "common", 100, 0, &total));
  ck_assert_uint_eq(total, 40);
  /* Pages of 7 concatenated equal the full list. */
  char joined[4096] = "";
  for (size_t off = 0; off < 40; off += 7) {
    const char *page = search_ids(r, "common", 7, off, &total);
    ck_assert_uint_eq(total, 40);
    if (*joined)
      strcat(joined, " ");
    strcat(joined, page);
  }
  ck_assert_str_eq(joined, full);
  ck_assert_str_eq(search_ids(r, "common", 10, 40, &total), "");
  ck_assert_str_eq(search_ids(r, "common", 0, 0, &total), "");
  ck_assert_uint_eq(total, 40);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_ties_break_by_id) {
  /* Identical documents score the same; order must be by id whatever the
   * order of insertion. */
  kidx_writer *w = tu_open_writer(dir);
  add(w, "m", "", "same words here");
  add(w, "z", "", "same words here");
  add(w, "a", "", "same words here");
  add(w, "k", "", "same words here");
  commit(w);
  kidx_writer_close(w);
  kidx_reader *r = open_reader();
  ck_assert_str_eq(search_ids(r, "words", 10, 0, NULL), "a k m z");
  ck_assert_str_eq(search_ids(r, "words", 2, 1, NULL), "k m");
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_replace_and_delete) {
  kidx_writer *w = tu_open_writer(dir);
  add(w, "a", "", "alpha original");
  add(w, "b", "", "beta original");
  add(w, "c", "", "gamma original");
  commit(w);
  /* Replace a committed document, and one twice within the batch. */
  add(w, "a", "", "alpha replaced");
  add(w, "d", "", "delta first");
  add(w, "d", "", "delta second");
  ck_assert_uint_eq(kidx_writer_pending(w), 3);
  ck_assert_int_eq(kidx_writer_delete(w, "b", 1), KIDX_OK);
  ck_assert_int_eq(kidx_writer_delete(w, "b", 1), KIDX_ENOTFOUND);
  ck_assert_int_eq(kidx_writer_delete(w, "nope", 4), KIDX_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(kidx_writer_errmsg(w), "nope"));
  commit(w);
  ck_assert_uint_eq(kidx_writer_pending(w), 0);
  kidx_writer_close(w);

  kidx_reader *r = open_reader();
  kidx_stats st;
  kidx_reader_stats(r, &st);
  ck_assert_uint_eq(st.documents, 3); /* a, c, d */
  uint64_t total;
  ck_assert_str_eq(search_ids(r, "original", 10, 0, &total), "c");
  ck_assert_str_eq(search_ids(r, "replaced", 10, 0, &total), "a");
  ck_assert_str_eq(search_ids(r, "beta", 10, 0, &total), "");
  ck_assert_str_eq(search_ids(r, "first", 10, 0, &total), "");
  ck_assert_str_eq(search_ids(r, "second", 10, 0, &total), "d");
  /* Terms whose documents are all gone (beta, first) leave the dictionary:
   * alpha replac gamma origin delta second remain. */
  ck_assert_uint_eq(st.terms, 6);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_delete_pending_add) {
  kidx_writer *w = tu_open_writer(dir);
  add(w, "x", "", "temporary");
  ck_assert_int_eq(kidx_writer_delete(w, "x", 1), KIDX_OK);
  commit(w);
  kidx_writer_close(w);
  kidx_reader *r = open_reader();
  kidx_stats st;
  kidx_reader_stats(r, &st);
  ck_assert_uint_eq(st.documents, 0);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_uncommitted_is_invisible) {
  kidx_writer *w = tu_open_writer(dir);
  add(w, "one", "", "visible");
  commit(w);
  kidx_reader *before = open_reader();
  add(w, "two", "", "visible later");
  kidx_reader *r = open_reader();
  ck_assert_str_eq(search_ids(r, "visible", 10, 0, NULL), "one");
  kidx_reader_close(r);
  commit(w);
  /* A reader opened earlier keeps its snapshot after the commit. */
  ck_assert_str_eq(search_ids(before, "visible", 10, 0, NULL), "one");
  kidx_reader_close(before);
  r = open_reader();
  ck_assert_str_eq(search_ids(r, "visible", 10, 0, NULL), "one two");
  kidx_reader_close(r);
  /* Closing without commit discards. */
  add(w, "three", "", "visible");
  kidx_writer_close(w);
  r = open_reader();
  ck_assert_str_eq(search_ids(r, "visible", 10, 0, NULL), "one two");
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_second_writer_is_busy) {
  kidx_writer *w = tu_open_writer(dir);
  kidx_writer *w2;
  ck_assert_int_eq(kidx_writer_new(&w2), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w2, dir), KIDX_EBUSY);
  ck_assert_ptr_nonnull(strstr(kidx_writer_errmsg(w2), "locked"));
  ck_assert_int_eq(kidx_writer_add(w2, "a", 1, "", 0, "", 0), KIDX_EINVAL);
  kidx_writer_close(w2);
  kidx_writer_close(w);
  w = tu_open_writer(dir); /* the lock was released */
  kidx_writer_close(w);
}
END_TEST

/* An index keeps the analysis it was created with.  The message is for
 * programs using the API: it names kidx_analyzer's fields and values, not
 * the kidx tool's options. */
START_TEST(test_index_analysis_cannot_change) {
  kidx_writer *w;
  kidx_analyzer an;
  kidx_analyzer_init(&an);
  an.stemmer = KIDX_STEM_NONE;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_set_analyzer(w, &an), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  commit(w);
  kidx_writer_close(w);

  kidx_analyzer_init(&an);
  an.fold_diacritics = 0;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_set_analyzer(w, &an), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_EINVAL);
  char want[4400];
  snprintf(want, sizeof want,
           "the index at %s was created with stemmer=KIDX_STEM_NONE (not "
           "KIDX_STEM_ENGLISH), fold_diacritics=1 (not 0); the analysis of "
           "an index cannot change (delete it to rebuild)",
           dir);
  ck_assert_str_eq(kidx_writer_errmsg(w), want);
  ck_assert_ptr_null(strstr(kidx_writer_errmsg(w), "--"));
  kidx_writer_close(w);

  w = tu_open_writer(dir); /* without set_analyzer: the index's own analysis */
  kidx_writer_close(w);
}
END_TEST

START_TEST(test_index_dictionary_blocks) {
  /* 1000 terms "w0000q".."w0999q" (10 per document) span 63 dictionary
   * blocks: every one is found, prefixes count across block boundaries,
   * and absent terms between and around them are not found. */
  kidx_writer *w = tu_open_writer(dir);
  for (int d = 0; d < 100; d++) {
    char id[16], body[128] = "", word[16];
    snprintf(id, sizeof id, "d%03d", d);
    for (int k = 0; k < 10; k++) {
      snprintf(word, sizeof word, "w%04dq ", d * 10 + k);
      strcat(body, word);
    }
    add(w, id, "", body);
  }
  commit(w);
  kidx_writer_close(w);
  kidx_reader *r = open_reader();
  uint64_t total;
  for (int t = 0; t < 1000; t++) {
    char q[16], want[8];
    snprintf(q, sizeof q, "w%04dq", t);
    snprintf(want, sizeof want, "d%03d", t / 10);
    ck_assert_str_eq(search_ids(r, q, 10, 0, &total), want);
  }
  search_ids(r, "w01*", 1000, 0, &total);
  ck_assert_uint_eq(total, 10); /* w0100q..w0199q: documents 10..19 */
  search_ids(r, "w0*", 1000, 0, &total);
  ck_assert_uint_eq(total, 100);
  search_ids(r, "w0999*", 1000, 0, &total);
  ck_assert_uint_eq(total, 1);
  ck_assert_str_eq(search_ids(r, "w0500", 10, 0, &total), "");
  ck_assert_str_eq(search_ids(r, "a", 10, 0, &total), "");
  ck_assert_str_eq(search_ids(r, "zzz", 10, 0, &total), "");
  search_ids(r, "x*", 10, 0, &total);
  ck_assert_uint_eq(total, 0);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_skips) {
  /* "common" is in all 1000 documents (7 skip blocks); "rare" in every
   * 97th, right after it.  AND, phrase and NOT meet the long list through
   * its skip table; then a commit that deletes every 5th document merges
   * and rebuilds the tables, and everything still agrees. */
  kidx_writer *w = tu_open_writer(dir);
  char id[16], body[64];
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof id, "d%04d", i);
    snprintf(body, sizeof body, "%s filler",
             i % 97 == 0 ? "common rare" : "common");
    add(w, id, "", body);
  }
  commit(w);
  kidx_reader *r = open_reader();
  uint64_t total;
  ck_assert_str_eq(search_ids(r, "common AND rare", 3, 0, &total),
                   "d0000 d0097 d0194");
  ck_assert_uint_eq(total, 11); /* 0, 97, ..., 970 */
  search_ids(r, "rare AND common", 20, 0, &total);
  ck_assert_uint_eq(total, 11);
  search_ids(r, "\"common rare\"", 20, 0, &total);
  ck_assert_uint_eq(total, 11);
  search_ids(r, "common -rare", 10, 0, &total);
  ck_assert_uint_eq(total, 989);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
  for (int i = 0; i < 1000; i += 5) {
    snprintf(id, sizeof id, "d%04d", i);
    ck_assert_int_eq(kidx_writer_delete(w, id, strlen(id)), KIDX_OK);
  }
  commit(w);
  kidx_writer_close(w);
  r = open_reader();
  /* Left: the multiples of 97 that are not multiples of 5; 0, 485 and
   * 970 went. */
  ck_assert_str_eq(search_ids(r, "rare AND common", 20, 0, &total),
                   "d0097 d0194 d0291 d0388 d0582 d0679 d0776 d0873");
  search_ids(r, "common", 10, 0, &total);
  ck_assert_uint_eq(total, 800);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_prefix_limit_has_column) {
  /* 5000 distinct words starting with "pz": the prefix expands too far. */
  size_t cap = 5000 * 8 + 1; /* sprintf writes a NUL after each word */
  char *body = malloc(cap), *p = body;
  for (int i = 0; i < 5000; i++)
    p += sprintf(p, "pz%04dq ", i);
  kidx_writer *w = tu_open_writer(dir);
  add(w, "many", "", body);
  commit(w);
  kidx_writer_close(w);
  free(body);
  kidx_reader *r = open_reader();
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  ck_assert_int_eq(kidx_search(r, "word pz*", 8, NULL, res), KIDX_EQUERY);
  ck_assert_uint_eq(kidx_results_error_column(res), 6);
  ck_assert_ptr_nonnull(strstr(kidx_results_errmsg(res), "column 6"));
  /* A narrower prefix is fine. */
  ck_assert_int_eq(kidx_search(r, "pz000*", 6, NULL, res), KIDX_OK);
  ck_assert_uint_eq(kidx_results_total(res), 1);
  kidx_results_free(res);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_index_bad_arguments) {
  kidx_writer *w = tu_open_writer(dir);
  ck_assert_int_eq(kidx_writer_add(w, NULL, 0, "", 0, "", 0), KIDX_EINVAL);
  ck_assert_int_eq(kidx_writer_add(w, "", 0, "", 0, "", 0), KIDX_EINVAL);
  ck_assert_int_eq(kidx_writer_add(w, "a", 1, NULL, 3, "", 0), KIDX_EINVAL);
  ck_assert_int_eq(kidx_writer_add(w, "a", 1, NULL, 0, NULL, 0), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_EINVAL);
  commit(w);
  kidx_writer_close(w);
  kidx_writer_close(NULL);
  kidx_reader_close(NULL);
  kidx_results_free(NULL);

  kidx_reader *r = open_reader();
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  ck_assert_int_eq(kidx_search(r, " ,;- ", 5, NULL, res), KIDX_EQUERY);
  ck_assert_str_ne(kidx_results_errmsg(res), "");
  ck_assert_int_eq(kidx_search(r, "", 0, NULL, res), KIDX_EQUERY);
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.rank = (kidx_rank)7;
  ck_assert_int_eq(kidx_search(r, "a", 1, &opt, res), KIDX_EINVAL);
  kidx_search_options_init(&opt);
  opt.bm25_b = 1.5;
  ck_assert_int_eq(kidx_search(r, "a", 1, &opt, res), KIDX_EINVAL);
  opt.size = 0;
  ck_assert_int_eq(kidx_search(r, "a", 1, &opt, res), KIDX_EINVAL);
  ck_assert_int_eq(kidx_search(NULL, "a", 1, NULL, res), KIDX_EINVAL);
  ck_assert_int_eq(kidx_search(r, "a", 1, NULL, NULL), KIDX_EINVAL);
  kidx_results_free(res);
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(NULL, &st), KIDX_EINVAL);
  kidx_reader_close(r);
}
END_TEST

typedef struct seen {
  char ids[8][16];
  kidx_stamp stamps[8];
  int n;
} seen;

static int collect_stamp(void *ctx, const char *id, size_t len,
                         const kidx_stamp *st) {
  seen *s = ctx;
  ck_assert_int_lt(s->n, 8);
  snprintf(s->ids[s->n], sizeof s->ids[0], "%.*s", (int)len, id);
  s->stamps[s->n++] = *st;
  return 0;
}

START_TEST(test_index_stamps) {
  kidx_stamp a = {100, -5000000000LL, 0x0123456789abcdefULL};
  kidx_stamp b = {7, 1700000000123456789LL, 42};
  kidx_stamp got;
  kidx_writer *w = tu_open_writer(dir);
  ck_assert_int_eq(kidx_writer_add_stamped(w, "a", 1, "", 0, "alpha", 5, &a),
                   KIDX_OK);
  add(w, "plain", "", "no stamp");
  /* Pending documents have their stamps already. */
  ck_assert_int_eq(kidx_writer_stamp(w, "a", 1, &got), KIDX_OK);
  ck_assert_int_eq(memcmp(&got, &a, sizeof a), 0);
  commit(w);
  kidx_writer_close(w);

  /* Committed stamps come back exactly, negative times included. */
  w = tu_open_writer(dir);
  ck_assert_int_eq(kidx_writer_stamp(w, "a", 1, &got), KIDX_OK);
  ck_assert_uint_eq(got.size, 100);
  ck_assert(got.mtime_ns == -5000000000LL);
  ck_assert(got.hash == 0x0123456789abcdefULL);
  ck_assert_int_eq(kidx_writer_stamp(w, "plain", 5, &got), KIDX_OK);
  ck_assert(got.size == 0 && got.mtime_ns == 0 && got.hash == 0);
  ck_assert_int_eq(kidx_writer_stamp(w, "nope", 4, &got), KIDX_ENOTFOUND);

  /* Restamping keeps the text and terms. */
  ck_assert_int_eq(kidx_writer_restamp(w, "a", 1, &b), KIDX_OK);
  ck_assert_uint_eq(kidx_writer_pending(w), 1);
  ck_assert_int_eq(kidx_writer_stamp(w, "a", 1, &got), KIDX_OK);
  ck_assert_int_eq(memcmp(&got, &b, sizeof b), 0);
  ck_assert_int_eq(kidx_writer_restamp(w, "nope", 4, &b), KIDX_ENOTFOUND);
  seen s;
  memset(&s, 0, sizeof s);
  ck_assert_int_eq(kidx_writer_foreach(w, collect_stamp, &s), KIDX_OK);
  ck_assert_int_eq(s.n, 2);
  commit(w);
  kidx_writer_close(w);
  w = tu_open_writer(dir);
  ck_assert_int_eq(kidx_writer_stamp(w, "a", 1, &got), KIDX_OK);
  ck_assert_int_eq(memcmp(&got, &b, sizeof b), 0);
  /* A deleted document is gone from foreach and stamp. */
  ck_assert_int_eq(kidx_writer_delete(w, "plain", 5), KIDX_OK);
  memset(&s, 0, sizeof s);
  ck_assert_int_eq(kidx_writer_foreach(w, collect_stamp, &s), KIDX_OK);
  ck_assert_int_eq(s.n, 1);
  ck_assert_str_eq(s.ids[0], "a");
  ck_assert_int_eq(kidx_writer_stamp(w, "plain", 5, &got), KIDX_ENOTFOUND);
  kidx_writer_close(w);
  kidx_reader *r = open_reader();
  ck_assert_str_eq(search_ids(r, "alpha", 10, 0, NULL), "a");
  kidx_reader_close(r);
  /* The content hash is stable: a fixed value for a fixed input. */
  ck_assert(kidx_stamp_hash("abc", 3) == kidx_stamp_hash("abc", 3));
  ck_assert(kidx_stamp_hash("abc", 3) != kidx_stamp_hash("abd", 3));
}
END_TEST

/* Model-based: random batches of adds, replaces and deletes over several
 * commits, checked against a simple in-test model of which document holds
 * which words.  Words are "w<number>" forms the stemmer leaves alone. */
#define MODEL_IDS   60
#define MODEL_WORDS 25

START_TEST(test_index_matches_model) {
  int live[MODEL_IDS] = {0};
  unsigned char has[MODEL_IDS][MODEL_WORDS];
  memset(has, 0, sizeof has);
  uint64_t x = 12345;
#define RAND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
  for (int round = 0; round < 5; round++) {
    kidx_writer *w = tu_open_writer(dir);
    for (int op = 0; op < 80; op++) {
      int id = (int)(RAND() % MODEL_IDS);
      char idbuf[16];
      snprintf(idbuf, sizeof idbuf, "id%d", id);
      if (RAND() % 5 == 0) {
        kidx_status rc = kidx_writer_delete(w, idbuf, strlen(idbuf));
        ck_assert_int_eq(rc, live[id] ? KIDX_OK : KIDX_ENOTFOUND);
        live[id] = 0;
        continue;
      }
      char body[1024] = "";
      memset(has[id], 0, MODEL_WORDS);
      int nwords = 1 + (int)(RAND() % 12);
      for (int k = 0; k < nwords; k++) {
        int word = (int)(RAND() % MODEL_WORDS);
        char wb[16];
        snprintf(wb, sizeof wb, " w%d", word);
        strcat(body, wb);
        has[id][word] = 1;
      }
      add(w, idbuf, "", body);
      live[id] = 1;
    }
    commit(w);
    kidx_writer_close(w);

    kidx_reader *r = open_reader();
    kidx_stats st;
    kidx_reader_stats(r, &st);
    uint64_t nlive = 0;
    for (int i = 0; i < MODEL_IDS; i++)
      nlive += (uint64_t)live[i];
    ck_assert_uint_eq(st.documents, nlive);
    for (int word = 0; word < MODEL_WORDS; word++) {
      char q[16];
      snprintf(q, sizeof q, "w%d", word);
      uint64_t expect = 0, total;
      for (int i = 0; i < MODEL_IDS; i++)
        expect += (uint64_t)(live[i] && has[i][word]);
      const char *ids = search_ids(r, q, MODEL_IDS, 0, &total);
      ck_assert_msg(total == expect, "round %d word %d: %llu hits, want %llu",
                    round, word, (unsigned long long)total,
                    (unsigned long long)expect);
      /* Every hit really holds the word. */
      char copy[4096];
      snprintf(copy, sizeof copy, "%s", ids);
      for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " ")) {
        int id = atoi(tok + 2);
        ck_assert(live[id] && has[id][word]);
      }
    }
    kidx_reader_close(r);
  }
#undef RAND
}
END_TEST

/* ---- metadata ---- */

/* The value of key in a new reader of dir as a string ("" for a value
 * that is not there: values are never empty), static buffer. */
static const char *reader_meta(const char *key) {
  static char out[256];
  kidx_reader *r = open_reader();
  const char *v;
  size_t len;
  kidx_status rc = kidx_reader_get_metadata(r, key, strlen(key), &v, &len);
  ck_assert_msg(rc == KIDX_OK || rc == KIDX_ENOTFOUND, "get %s: %d", key, rc);
  snprintf(out, sizeof out, "%.*s", rc == KIDX_OK ? (int)len : 0,
           rc == KIDX_OK ? v : "");
  kidx_reader_close(r);
  return out;
}

static void set_meta(kidx_writer *w, const char *key, const char *value) {
  kidx_status rc = kidx_writer_set_metadata(w, key, strlen(key), value,
                                            value ? strlen(value) : 0);
  ck_assert_msg(rc == KIDX_OK, "set %s: %s", key, kidx_writer_errmsg(w));
}

static uint64_t generation_now(void) {
  kidx_reader *r = open_reader();
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  kidx_reader_close(r);
  return st.generation;
}

START_TEST(test_index_metadata_set_get_delete) {
  kidx_writer *w = tu_open_writer(dir);
  set_meta(w, "b.key", "two");
  set_meta(w, "a.key", "one");
  /* Keys and values are bytes: NUL included. */
  ck_assert_int_eq(kidx_writer_set_metadata(w, "z\0z", 3, "v\0v", 3), KIDX_OK);
  const char *v;
  size_t len;
  /* The writer sees what it set; nobody else does before the commit. */
  ck_assert_int_eq(kidx_writer_get_metadata(w, "a.key", 5, &v, &len), KIDX_OK);
  ck_assert(len == 3 && memcmp(v, "one", 3) == 0);
  ck_assert_int_eq(kidx_writer_get_metadata(w, "c.key", 5, &v, &len),
                   KIDX_ENOTFOUND);
  /* The empty key, even as NULL: never stored, not found (and no memcmp
   * with a NULL pointer on the way). */
  ck_assert_int_eq(kidx_writer_get_metadata(w, NULL, 0, &v, &len),
                   KIDX_ENOTFOUND);
  ck_assert_int_eq(kidx_writer_get_metadata(w, "", 0, &v, &len),
                   KIDX_ENOTFOUND);
  commit(w);
  kidx_reader *r = open_reader();
  ck_assert_uint_eq(kidx_reader_metadata_count(r), 3);
  const char *k;
  size_t klen;
  /* Enumerated in bytewise key order. */
  const char *want[] = {"a.key", "b.key", "z\0z"};
  size_t want_len[] = {5, 5, 3};
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(kidx_reader_metadata_at(r, i, &k, &klen, &v, &len),
                     KIDX_OK);
    ck_assert(klen == want_len[i] && memcmp(k, want[i], klen) == 0);
  }
  ck_assert(len == 3 && memcmp(v, "v\0v", 3) == 0);
  ck_assert_int_eq(kidx_reader_metadata_at(r, 3, &k, &klen, &v, &len),
                   KIDX_ENOTFOUND);
  ck_assert_int_eq(kidx_reader_get_metadata(r, "b.key", 5, &v, &len), KIDX_OK);
  ck_assert(len == 3 && memcmp(v, "two", 3) == 0);
  /* Replace one key, delete two (NULL, and a zero length). */
  set_meta(w, "b.key", "deux");
  ck_assert_int_eq(kidx_writer_set_metadata(w, "a.key", 5, NULL, 0), KIDX_OK);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "z\0z", 3, "x", 0), KIDX_OK);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "never", 5, NULL, 0), KIDX_OK);
  ck_assert_int_eq(kidx_writer_get_metadata(w, "a.key", 5, &v, &len),
                   KIDX_ENOTFOUND);
  commit(w);
  /* The open reader keeps its commit's values, valid until it closes. */
  ck_assert_int_eq(kidx_reader_get_metadata(r, "b.key", 5, &v, &len), KIDX_OK);
  ck_assert(len == 3 && memcmp(v, "two", 3) == 0);
  kidx_reader_close(r);
  ck_assert_str_eq(reader_meta("b.key"), "deux");
  ck_assert_str_eq(reader_meta("a.key"), "");
  r = open_reader();
  ck_assert_uint_eq(kidx_reader_metadata_count(r), 1);
  kidx_reader_close(r);
  kidx_writer_close(w);
}
END_TEST

START_TEST(test_index_metadata_persists) {
  kidx_writer *w = tu_open_writer(dir);
  add(w, "d1", "Title", "alpha");
  set_meta(w, "roots", "corpus");
  commit(w);
  ck_assert_uint_eq(generation_now(), 1);
  kidx_writer_close(w);
  /* A new writer starts from the committed metadata, and commits of
   * documents keep it. */
  w = tu_open_writer(dir);
  const char *v;
  size_t len;
  ck_assert_int_eq(kidx_writer_get_metadata(w, "roots", 5, &v, &len), KIDX_OK);
  ck_assert(len == 6 && memcmp(v, "corpus", 6) == 0);
  add(w, "d2", "Title", "beta");
  commit(w);
  ck_assert_uint_eq(generation_now(), 2);
  ck_assert_str_eq(reader_meta("roots"), "corpus");
  /* Setting the value a key has is no change: the commit writes nothing. */
  set_meta(w, "roots", "corpus");
  commit(w);
  ck_assert_uint_eq(generation_now(), 2);
  /* Nor is setting another value and then the committed one back, or
   * adding a key and deleting it again. */
  set_meta(w, "roots", "elsewhere");
  set_meta(w, "extra", "x");
  set_meta(w, "roots", "corpus");
  set_meta(w, "extra", NULL);
  commit(w);
  ck_assert_uint_eq(generation_now(), 2);
  /* Metadata alone is a change worth a commit. */
  set_meta(w, "roots", "corpus\ndocs");
  commit(w);
  ck_assert_uint_eq(generation_now(), 3);
  /* Closed without a commit: discarded. */
  set_meta(w, "roots", "lost");
  set_meta(w, "other", "lost");
  kidx_writer_close(w);
  ck_assert_str_eq(reader_meta("roots"), "corpus\ndocs");
  ck_assert_str_eq(reader_meta("other"), "");
  /* An optimize (a merge of every segment) keeps it too. */
  w = tu_open_writer(dir);
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  commit(w);
  kidx_writer_close(w);
  ck_assert_str_eq(reader_meta("roots"), "corpus\ndocs");
  kidx_reader *r = open_reader();
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  ck_assert_uint_eq(st.documents, 2);
  kidx_reader_close(r);
}
END_TEST

/* A commit that fails publishes none of its metadata; it stays pending,
 * and a retry publishes it. */
START_TEST(test_index_metadata_failed_commit) {
  kidx_writer *w = tu_open_writer(dir);
  set_meta(w, "k", "old");
  commit(w);
  set_meta(w, "k", "new");
  add(w, "d", "Title", "alpha");
  /* A directory where MANIFEST.tmp goes makes the commit fail before its
   * rename (as root too, unlike permissions). */
  char *tmp = malloc(strlen(dir) + 32);
  sprintf(tmp, "%s/MANIFEST.tmp", dir);
  ck_assert_int_eq(mkdir(tmp, 0755), 0);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_EIO);
  ck_assert_str_eq(reader_meta("k"), "old");
  kidx_reader *r = open_reader();
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  ck_assert_uint_eq(st.documents, 0);
  kidx_reader_close(r);
  const char *v;
  size_t len;
  ck_assert_int_eq(kidx_writer_get_metadata(w, "k", 1, &v, &len), KIDX_OK);
  ck_assert(len == 3 && memcmp(v, "new", 3) == 0);
  ck_assert_int_eq(rmdir(tmp), 0);
  free(tmp);
  commit(w);
  ck_assert_str_eq(reader_meta("k"), "new");
  kidx_writer_close(w);
}
END_TEST

START_TEST(test_index_metadata_limits) {
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  /* Not open yet. */
  ck_assert_int_eq(kidx_writer_set_metadata(w, "k", 1, "v", 1), KIDX_EINVAL);
  const char *v;
  size_t len;
  ck_assert_int_eq(kidx_writer_get_metadata(w, "k", 1, &v, &len), KIDX_EINVAL);
  kidx_writer_close(w);
  w = tu_open_writer(dir);
  char key[KIDX_MAX_METADATA_KEY + 1];
  memset(key, 'k', sizeof key);
  ck_assert_int_eq(kidx_writer_set_metadata(w, key, 0, "v", 1), KIDX_EINVAL);
  ck_assert_int_eq(kidx_writer_set_metadata(w, key, sizeof key, "v", 1),
                   KIDX_EINVAL);
  ck_assert_ptr_nonnull(strstr(kidx_writer_errmsg(w), "1 to 255 bytes"));
  ck_assert_int_eq(kidx_writer_set_metadata(w, key, sizeof key - 1, "v", 1),
                   KIDX_OK);
  ck_assert_int_eq(kidx_writer_set_metadata(w, NULL, 1, "v", 1), KIDX_EINVAL);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "k", 1, NULL, 1), KIDX_EINVAL);
  /* The total: keys and values together. */
  size_t used = (sizeof key - 1) + 1, room = KIDX_MAX_METADATA_BYTES - used;
  char *big = malloc(room + 1);
  ck_assert_ptr_nonnull(big);
  memset(big, 'x', room + 1);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "b", 1, big, room),
                   KIDX_ETOOBIG);
  ck_assert_ptr_nonnull(strstr(kidx_writer_errmsg(w), "exceed"));
  ck_assert_int_eq(kidx_writer_get_metadata(w, "b", 1, &v, &len),
                   KIDX_ENOTFOUND);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "b", 1, big, room - 1), KIDX_OK);
  /* Full: growing any value fails and changes nothing; replacing within
   * the limit works. */
  ck_assert_int_eq(kidx_writer_set_metadata(w, "b", 1, big, room),
                   KIDX_ETOOBIG);
  ck_assert_int_eq(kidx_writer_get_metadata(w, "b", 1, &v, &len), KIDX_OK);
  ck_assert_uint_eq(len, room - 1);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "c", 1, "v", 1), KIDX_ETOOBIG);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "b", 1, "small", 5), KIDX_OK);
  ck_assert_int_eq(kidx_writer_set_metadata(w, "b", 1, big, room - 1), KIDX_OK);
  commit(w);
  kidx_writer_close(w);
  /* The largest metadata there can be reads back whole. */
  kidx_reader *r = open_reader();
  ck_assert_int_eq(kidx_reader_get_metadata(r, "b", 1, &v, &len), KIDX_OK);
  ck_assert(len == room - 1 && memcmp(v, big, len) == 0);
  ck_assert_int_eq(kidx_reader_get_metadata(r, NULL, 1, &v, &len), KIDX_EINVAL);
  ck_assert_int_eq(kidx_reader_get_metadata(r, "b", 1, NULL, &len),
                   KIDX_EINVAL);
  kidx_reader_close(r);
  ck_assert_int_eq(kidx_reader_get_metadata(NULL, "b", 1, &v, &len),
                   KIDX_EINVAL);
  ck_assert_uint_eq(kidx_reader_metadata_count(NULL), 0);
  free(big);
}
END_TEST

static Suite *index_suite(void) {
  Suite *s = suite_create("index");
  TCase *core = tcase_create("Core");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_add_test(core, test_index_empty_commit_creates_index);
  tcase_add_test(core, test_index_search_ranks_and_counts);
  tcase_add_test(core, test_index_paging_matches_full_list);
  tcase_add_test(core, test_index_ties_break_by_id);
  tcase_add_test(core, test_index_replace_and_delete);
  tcase_add_test(core, test_index_delete_pending_add);
  tcase_add_test(core, test_index_uncommitted_is_invisible);
  tcase_add_test(core, test_index_matches_model);
  tcase_add_test(core, test_index_stamps);
  tcase_add_test(core, test_index_dictionary_blocks);
  tcase_add_test(core, test_index_skips);
  tcase_add_test(core, test_index_metadata_set_get_delete);
  tcase_add_test(core, test_index_metadata_persists);
  tcase_add_test(core, test_index_metadata_failed_commit);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_add_checked_fixture(errors, setup, teardown);
  tcase_add_test(errors, test_index_missing_index);
  tcase_add_test(errors, test_index_second_writer_is_busy);
  tcase_add_test(errors, test_index_analysis_cannot_change);
  tcase_add_test(errors, test_index_bad_arguments);
  tcase_add_test(errors, test_index_prefix_limit_has_column);
  tcase_add_test(errors, test_index_metadata_limits);
  suite_add_tcase(s, errors);
  return s;
}

int main(void) {
  return tu_run_suite(index_suite());
}
