/* Reopening a reader (reader.c kidx_reader_reopen, snapshot.c): the new
 * reader sees the latest commit exactly as a freshly opened one would
 * (same hits, same statistics), takes the segments it shares with the old
 * one without mapping them again, leaves the old reader answering from
 * its own commit, fails cleanly when the index is gone, and may run while
 * other threads search the old reader. */
#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static void setup(void) {
  dir = tu_mkdtemp();
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
}

static void add(kidx_writer *w, const char *id, const char *body) {
  ck_assert_int_eq(
      kidx_writer_add(w, id, strlen(id), "", 0, body, strlen(body)), KIDX_OK);
}

static void commit_close(kidx_writer *w) {
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
}

/* One commit of documents id0..id(n-1) with bodies "word<k> common". */
static void commit_docs(const char *prefix, int n) {
  kidx_writer *w = tu_open_writer(dir);
  for (int i = 0; i < n; i++) {
    char id[64], body[64];
    snprintf(id, sizeof id, "%s%d", prefix, i);
    snprintf(body, sizeof body, "%s%d common shared%d", prefix, i, i % 3);
    add(w, id, body);
  }
  commit_close(w);
}

static kidx_reader *open_reader(void) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  return r;
}

static kidx_reader *reopen(const kidx_reader *from) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  kidx_status rc = kidx_reader_reopen(r, from);
  ck_assert_msg(rc == KIDX_OK, "reopen: %s", kidx_reader_errmsg(r));
  ck_assert_str_eq(kidx_reader_errmsg(r), "");
  return r;
}

/* Number of segments of b that are mapped at the same address as one of
 * a's: taken over, not mapped again. */
static size_t shared_segments(const kidx_reader *a, const kidx_reader *b) {
  const kidx__snapshot *x = kidx__reader_snapshot(a);
  const kidx__snapshot *y = kidx__reader_snapshot(b);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  size_t n = 0;
  for (size_t j = 0; j < y->nsegs; j++)
    for (size_t i = 0; i < x->nsegs; i++)
      if (y->segs[j].seg.map.data == x->segs[i].seg.map.data) {
        ck_assert_uint_eq(y->segs[j].number, x->segs[i].number);
        n++;
      }
  return n;
}

/* The ids and scores of a search, as one string. */
static char *hits(const kidx_reader *r, const char *query) {
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  kidx_search_options o;
  kidx_search_options_init(&o);
  o.limit = 1000;
  o.snippet_words = 0;
  kidx_status rc = kidx_search(r, query, strlen(query), &o, res);
  ck_assert_msg(rc == KIDX_OK, "search: %s", kidx_results_errmsg(res));
  size_t cap = 64 + kidx_results_count(res) * 64, n = 0;
  char *out = malloc(cap);
  ck_assert_ptr_nonnull(out);
  n += (size_t)snprintf(
      out, cap, "total %llu:", (unsigned long long)kidx_results_total(res));
  for (size_t i = 0; i < kidx_results_count(res); i++) {
    size_t len;
    const char *id = kidx_results_id(res, i, &len);
    n += (size_t)snprintf(out + n, cap - n, " %.*s=%.9g", (int)len, id,
                          kidx_results_score(res, i));
  }
  kidx_results_free(res);
  return out;
}

/* r answers query like a reader freshly opened on the index. */
static void assert_same_as_fresh(const kidx_reader *r, const char *query) {
  kidx_reader *f = open_reader();
  char *a = hits(r, query), *b = hits(f, query);
  ck_assert_str_eq(a, b);
  free(a);
  free(b);
  kidx_stats x, y;
  ck_assert_int_eq(kidx_reader_stats(r, &x), KIDX_OK);
  ck_assert_int_eq(kidx_reader_stats(f, &y), KIDX_OK);
  ck_assert_uint_eq(x.documents, y.documents);
  ck_assert_uint_eq(x.terms, y.terms);
  ck_assert_uint_eq(x.tokens, y.tokens);
  ck_assert_uint_eq(x.bytes, y.bytes);
  ck_assert_uint_eq(x.stored_bytes, y.stored_bytes);
  ck_assert_uint_eq(x.segments, y.segments);
  ck_assert_uint_eq(x.deleted, y.deleted);
  ck_assert_uint_eq(x.generation, y.generation);
  ck_assert_uint_eq(kidx_reader_generation(r), kidx_reader_generation(f));
  kidx_reader_close(f);
}

static uint64_t live_docs(const kidx_reader *r) {
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  return st.documents;
}

static int has_doc(const kidx_reader *r, const char *id) {
  kidx_document *d = kidx_document_new();
  ck_assert_ptr_nonnull(d);
  kidx_status rc = kidx_reader_get(r, id, strlen(id), d);
  kidx_document_free(d);
  ck_assert(rc == KIDX_OK || rc == KIDX_ENOTFOUND);
  return rc == KIDX_OK;
}

START_TEST(test_reopen_after_adds) {
  commit_docs("a", 20);
  commit_docs("b", 20);
  kidx_reader *r0 = open_reader();
  commit_docs("c", 20);
  kidx_reader *r1 = reopen(r0);
  ck_assert_uint_gt(kidx_reader_generation(r1), kidx_reader_generation(r0));
  /* The two old segments are taken over, the new one is mapped. */
  ck_assert_uint_eq(kidx__reader_snapshot(r0)->nsegs, 2);
  ck_assert_uint_eq(kidx__reader_snapshot(r1)->nsegs, 3);
  ck_assert_uint_eq(shared_segments(r0, r1), 2);
  ck_assert_uint_eq(live_docs(r0), 40);
  ck_assert_uint_eq(live_docs(r1), 60);
  ck_assert(!has_doc(r0, "c3"));
  ck_assert(has_doc(r1, "c3"));
  assert_same_as_fresh(r1, "common");
  assert_same_as_fresh(r1, "c1 OR a2 OR shared1");
  assert_same_as_fresh(r1, "shar*");
  kidx_reader_close(r1);
  kidx_reader_close(r0);
}
END_TEST

START_TEST(test_reopen_after_deletes) {
  commit_docs("a", 30);
  commit_docs("b", 30);
  kidx_reader *r0 = open_reader();
  char *before = hits(r0, "common");
  kidx_writer *w = tu_open_writer(dir);
  ck_assert_int_eq(kidx_writer_delete(w, "a3", 2), KIDX_OK);
  ck_assert_int_eq(kidx_writer_delete(w, "b7", 2), KIDX_OK);
  ck_assert_int_eq(kidx_writer_delete(w, "b8", 2), KIDX_OK);
  commit_close(w);
  kidx_reader *r1 = reopen(r0);
  /* Same files, new bitmaps: everything taken over, nothing mapped. */
  ck_assert_uint_eq(kidx__reader_snapshot(r1)->nsegs, 2);
  ck_assert_uint_eq(shared_segments(r0, r1), 2);
  ck_assert_uint_eq(live_docs(r1), 57);
  ck_assert(!has_doc(r1, "a3") && !has_doc(r1, "b8"));
  ck_assert(has_doc(r1, "a4"));
  assert_same_as_fresh(r1, "common");
  assert_same_as_fresh(r1, "shared0 OR b7 OR a3");
  /* The old reader still has its own bitmaps and statistics. */
  ck_assert_uint_eq(live_docs(r0), 60);
  ck_assert(has_doc(r0, "a3") && has_doc(r0, "b8"));
  char *again = hits(r0, "common");
  ck_assert_str_eq(before, again);
  free(before);
  free(again);
  kidx_reader_close(r0);
  kidx_reader_close(r1);
}
END_TEST

START_TEST(test_reopen_after_optimize) {
  commit_docs("a", 25);
  commit_docs("b", 25);
  commit_docs("c", 25);
  kidx_reader *r0 = open_reader();
  char *before = hits(r0, "common OR a1");
  kidx_writer *w = tu_open_writer(dir);
  ck_assert_int_eq(kidx_writer_delete(w, "b1", 2), KIDX_OK);
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  commit_close(w);
  kidx_reader *r1 = reopen(r0);
  ck_assert_uint_eq(kidx__reader_snapshot(r1)->nsegs, 1);
  ck_assert_uint_eq(shared_segments(r0, r1), 0);
  assert_same_as_fresh(r1, "common OR a1");
  assert_same_as_fresh(r1, "b*");
  ck_assert(!has_doc(r1, "b1"));
  /* The old reader's files were removed by the commit, but stay mapped. */
  ck_assert(has_doc(r0, "b1"));
  char *again = hits(r0, "common OR a1");
  ck_assert_str_eq(before, again);
  free(before);
  free(again);
  kidx_reader_close(r0);
  /* Adds after the merge: the merged segment is taken over. */
  commit_docs("d", 5);
  kidx_reader *r2 = reopen(r1);
  ck_assert_uint_eq(kidx__reader_snapshot(r2)->nsegs, 2);
  ck_assert_uint_eq(shared_segments(r1, r2), 1);
  kidx_reader_close(r1);
  assert_same_as_fresh(r2, "common OR d1");
  kidx_reader_close(r2);
}
END_TEST

START_TEST(test_reopen_no_change) {
  commit_docs("a", 10);
  commit_docs("b", 10);
  kidx_reader *r0 = open_reader();
  kidx_reader *r1 = reopen(r0);
  ck_assert_uint_eq(kidx_reader_generation(r1), kidx_reader_generation(r0));
  ck_assert_uint_ne(kidx_reader_generation(r1), 0);
  ck_assert_uint_eq(shared_segments(r0, r1), 2);
  /* The old reader goes first: the new one keeps the shared mappings. */
  kidx_reader_close(r0);
  assert_same_as_fresh(r1, "common OR a1");
  /* A chain of reopens, each closing its predecessor. */
  for (int i = 0; i < 5; i++) {
    kidx_reader *next = reopen(r1);
    ck_assert_uint_eq(shared_segments(r1, next), 2);
    kidx_reader_close(r1);
    r1 = next;
  }
  assert_same_as_fresh(r1, "shared2");
  kidx_reader_close(r1);
}
END_TEST

START_TEST(test_reopen_failure) {
  commit_docs("a", 10);
  kidx_reader *r0 = open_reader();
  char *before = hits(r0, "common");
  tu_rmtree(dir);
  kidx_reader *r1;
  ck_assert_int_eq(kidx_reader_new(&r1), KIDX_OK);
  ck_assert_int_eq(kidx_reader_reopen(r1, r0), KIDX_ENOINDEX);
  ck_assert_ptr_nonnull(strstr(kidx_reader_errmsg(r1), "no index"));
  ck_assert_uint_eq(kidx_reader_generation(r1), 0);
  ck_assert_ptr_null(kidx__reader_snapshot(r1));
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r1, &st), KIDX_EINVAL);
  /* The old reader still answers from its commit. */
  char *again = hits(r0, "common");
  ck_assert_str_eq(before, again);
  ck_assert(has_doc(r0, "a5"));
  ck_assert_uint_eq(live_docs(r0), 10);
  /* The failed reader can still be used: reopen once the index is back. */
  commit_docs("z", 3); /* the writer creates the directory */
  ck_assert_int_eq(kidx_reader_reopen(r1, r0), KIDX_OK);
  ck_assert_uint_eq(live_docs(r1), 3);
  /* A new index in the same place numbers its segments from 1 again:
   * the old seg-1 must not be taken for the new one. */
  ck_assert_uint_eq(shared_segments(r0, r1), 0);
  assert_same_as_fresh(r1, "common OR z1");
  free(before);
  free(again);
  kidx_reader_close(r0);
  kidx_reader_close(r1);
}
END_TEST

START_TEST(test_reopen_misuse) {
  commit_docs("a", 3);
  kidx_reader *r0 = open_reader(), *r1, *closed;
  ck_assert_int_eq(kidx_reader_new(&closed), KIDX_OK);
  ck_assert_int_eq(kidx_reader_reopen(NULL, r0), KIDX_EINVAL);
  /* into an open reader (arguments swapped) */
  ck_assert_int_eq(kidx_reader_reopen(r0, closed), KIDX_EINVAL);
  ck_assert_int_eq(kidx_reader_reopen(closed, r0), KIDX_OK);
  ck_assert_int_eq(kidx_reader_new(&r1), KIDX_OK);
  ck_assert_int_eq(kidx_reader_reopen(r1, NULL), KIDX_EINVAL);
  ck_assert_ptr_nonnull(strstr(kidx_reader_errmsg(r1), "not open"));
  ck_assert_uint_eq(kidx_reader_generation(NULL), 0);
  ck_assert_uint_eq(kidx_reader_generation(r1), 0);
  kidx_reader_close(r1);
  kidx_reader_close(closed);
  kidx_reader_close(r0);
}
END_TEST

/* ---- threads: reopens while other threads search the old reader ---- */

#define THREADS 3
#define ROUNDS  12

typedef struct searcher {
  const kidx_reader *r;
  atomic_int *stop;
  const char *want; /* the hits of "common OR a1" on r */
  int bad;
} searcher;

static void *search_loop(void *arg) {
  searcher *s = arg;
  do {
    char *h = hits(s->r, "common OR a1");
    if (strcmp(h, s->want) != 0)
      s->bad++;
    free(h);
  } while (!atomic_load(s->stop));
  return NULL;
}

START_TEST(test_reopen_threads) {
  commit_docs("a", 40);
  kidx_reader *r0 = open_reader();
  char *want0 = hits(r0, "common OR a1");
  atomic_int stop = 0;
  searcher s[THREADS];
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) {
    s[i] = (searcher){r0, &stop, want0, 0};
    ck_assert_int_eq(pthread_create(&t[i], NULL, search_loop, &s[i]), 0);
  }
  /* Meanwhile: commits (adds, deletes, merges as they come), each followed
   * by a reopen from the previous reader, which is then closed. */
  kidx_reader *cur = r0;
  for (int k = 0; k < ROUNDS; k++) {
    char prefix[16];
    snprintf(prefix, sizeof prefix, "r%d_", k);
    kidx_writer *w = tu_open_writer(dir);
    ck_assert_int_eq(kidx_writer_set_merge_factor(w, 3), KIDX_OK);
    for (int i = 0; i < 8; i++) {
      char id[32];
      snprintf(id, sizeof id, "%s%d", prefix, i);
      add(w, id, "common extra");
    }
    if (k > 0) {
      char id[32];
      snprintf(id, sizeof id, "r%d_%d", k - 1, k % 8);
      ck_assert_int_eq(kidx_writer_delete(w, id, strlen(id)), KIDX_OK);
    }
    commit_close(w);
    kidx_reader *next = reopen(cur);
    if (cur != r0)
      kidx_reader_close(cur);
    cur = next;
  }
  /* Now the other way round: threads search the newest reader while the
   * first one, which it may share segments with, is closed. */
  atomic_store(&stop, 1);
  for (int i = 0; i < THREADS; i++) {
    ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_int_eq(s[i].bad, 0);
  }
  atomic_store(&stop, 0);
  char *want1 = hits(cur, "common OR a1");
  for (int i = 0; i < THREADS; i++) {
    s[i] = (searcher){cur, &stop, want1, 0};
    ck_assert_int_eq(pthread_create(&t[i], NULL, search_loop, &s[i]), 0);
  }
  kidx_reader_close(r0);
  atomic_store(&stop, 1);
  for (int i = 0; i < THREADS; i++) {
    ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_int_eq(s[i].bad, 0);
  }
  assert_same_as_fresh(cur, "common OR a1");
  ck_assert_uint_eq(live_docs(cur), 40 + ROUNDS * 8 - (ROUNDS - 1));
  kidx_reader_close(cur);
  free(want0);
  free(want1);
}
END_TEST

/* ---- a writer replacing segments during reopens ---- */

#define RACE_COMMITS 40

static void *commit_loop(void *arg) {
  (void)arg;
  kidx_writer *w;
  if (kidx_writer_new(&w) || kidx_writer_open(w, dir) ||
      kidx_writer_set_merge_factor(w, 2)) {
    kidx_writer_close(w);
    return (void *)1;
  }
  int bad = 0;
  for (int k = 0; k < RACE_COMMITS && !bad; k++) {
    for (int i = 0; i < 4 && !bad; i++) {
      char id[32];
      snprintf(id, sizeof id, "w%d_%d", k, i);
      bad = kidx_writer_add(w, id, strlen(id), "", 0, "common race", 11) != 0;
    }
    /* merges at every other commit remove the files a reopen may be
     * about to map */
    bad = bad || kidx_writer_commit(w) != 0;
    if (!bad && k % 10 == 9)
      bad = kidx_writer_optimize(w) != 0 || kidx_writer_commit(w) != 0;
  }
  kidx_writer_close(w);
  return (void *)(intptr_t)bad;
}

START_TEST(test_reopen_racing_writer) {
  commit_docs("a", 10);
  kidx_reader *cur = open_reader();
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, commit_loop, NULL), 0);
  uint64_t docs = live_docs(cur), gen = kidx_reader_generation(cur);
  for (int k = 0; k < 400; k++) {
    kidx_reader *next = reopen(cur); /* asserts KIDX_OK */
    /* Only adds: the documents never decrease, nor the generation. */
    ck_assert_uint_ge(live_docs(next), docs);
    ck_assert_uint_ge(kidx_reader_generation(next), gen);
    docs = live_docs(next);
    gen = kidx_reader_generation(next);
    kidx_reader_close(cur);
    cur = next;
  }
  void *bad;
  ck_assert_int_eq(pthread_join(t, &bad), 0);
  ck_assert_ptr_null(bad);
  kidx_reader *last = reopen(cur);
  kidx_reader_close(cur);
  ck_assert_uint_eq(live_docs(last), 10 + RACE_COMMITS * 4);
  assert_same_as_fresh(last, "common OR a1");
  ck_assert_int_eq(kidx_reader_check(last), KIDX_OK);
  kidx_reader_close(last);
}
END_TEST

static Suite *reopen_suite(void) {
  Suite *s = suite_create("reopen");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_reopen_after_adds);
  tcase_add_test(tc, test_reopen_after_deletes);
  tcase_add_test(tc, test_reopen_after_optimize);
  tcase_add_test(tc, test_reopen_no_change);
  tcase_add_test(tc, test_reopen_failure);
  tcase_add_test(tc, test_reopen_misuse);
  tcase_add_test(tc, test_reopen_threads);
  tcase_add_test(tc, test_reopen_racing_writer);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(reopen_suite());
}
