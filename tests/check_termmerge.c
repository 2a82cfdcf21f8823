/* The k-way term merge (termmerge.c): every distinct term of the sources
 * once, in dictionary order, with exactly the sources that hold it in
 * increasing order, each source's own term at hand; prefix bounds; empty
 * sources; many sources; segment dictionaries mixed with term arrays.
 * Checked against a plain reference: all (term, source) pairs, sorted. */
#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reference ---- */

typedef struct pair {
  const kidx__term *t;
  size_t src;
} pair;

static int cmp_pair(const void *a, const void *b) {
  const pair *x = a, *y = b;
  int c = kidx__term_cmp(x->t->text, x->t->len, y->t->text, y->t->len);
  if (c)
    return c;
  return (x->src > y->src) - (x->src < y->src);
}

static int has_prefix(const kidx__term *t, const char *p, size_t len) {
  return len == 0 || (t->len >= len && memcmp(t->text, p, len) == 0);
}

/* Runs the merge of m (sources set) with the prefix and compares it with
 * the reference built from the same sources, given as arrays src[i] of
 * n[i] terms.  Returns the number of distinct terms seen. */
static size_t check_merge(kidx__termmerge *m, const kidx__term *const *src,
                          const size_t *n, size_t nsrc, const char *prefix,
                          size_t plen) {
  size_t total = 0;
  for (size_t i = 0; i < nsrc; i++)
    total += n[i];
  pair *all = malloc((total ? total : 1) * sizeof *all);
  ck_assert_ptr_nonnull(all);
  size_t np = 0;
  for (size_t i = 0; i < nsrc; i++)
    for (size_t j = 0; j < n[i]; j++)
      if (has_prefix(&src[i][j], prefix, plen))
        all[np++] = (pair){&src[i][j], i};
  qsort(all, np, sizeof *all, cmp_pair);

  kidx__termmerge_start(m, prefix, plen);
  size_t k = 0, terms = 0;
  while (kidx__termmerge_next(m)) {
    ck_assert_uint_lt(k, np);
    /* The group of pairs with this term. */
    size_t end = k;
    while (end < np && kidx__term_cmp(all[end].t->text, all[end].t->len,
                                      all[k].t->text, all[k].t->len) == 0)
      end++;
    ck_assert_uint_eq(m->len, all[k].t->len);
    ck_assert(memcmp(m->text, all[k].t->text, m->len) == 0);
    ck_assert_uint_eq(m->nwhich, end - k);
    for (size_t w = 0; w < m->nwhich; w++) {
      ck_assert_uint_eq(m->which[w], all[k + w].src);
      const kidx__term *t = kidx__termmerge_term(m, m->which[w]);
      ck_assert_uint_eq(t->len, m->len);
      ck_assert(memcmp(t->text, m->text, m->len) == 0);
      /* the source's own entry: its df and postings */
      ck_assert_uint_eq(t->df, all[k + w].t->df);
      ck_assert_uint_eq(t->post_len, all[k + w].t->post_len);
    }
    k = end;
    terms++;
  }
  ck_assert_uint_eq(k, np);
  /* Past the end it stays at the end. */
  ck_assert_int_eq(kidx__termmerge_next(m), 0);
  ck_assert_uint_eq(m->nwhich, 0);
  free(all);
  return terms;
}

/* ---- array sources ---- */

/* A pool of term texts, each source a sorted subset. */
#define POOL_MAX 4096
static char pool[POOL_MAX][8];
static size_t pool_len[POOL_MAX];

static uint64_t rng = 88172645463325252u;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Distinct random terms over a small alphabet (high bytes included, to
 * check the unsigned order), sorted. */
static size_t make_pool(size_t want) {
  static const unsigned char alpha[] = {'a', 'b', 'c', 0xc3, 0xff};
  kidx__term *t = malloc(want * sizeof *t);
  ck_assert_ptr_nonnull(t);
  size_t n = 0;
  for (size_t tries = 0; n < want && tries < want * 20; tries++) {
    size_t len = 1 + next_rand() % 5;
    char buf[8];
    for (size_t i = 0; i < len; i++)
      buf[i] = (char)alpha[next_rand() % sizeof alpha];
    int dup = 0;
    for (size_t i = 0; i < n && !dup; i++)
      dup = pool_len[i] == len && memcmp(pool[i], buf, len) == 0;
    if (dup)
      continue;
    memcpy(pool[n], buf, len);
    pool_len[n] = len;
    n++;
  }
  /* sort the pool itself */
  for (size_t i = 0; i < n; i++)
    t[i] = (kidx__term){pool[i], pool_len[i], 0, NULL, 0};
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && kidx__term_cmp(t[j].text, t[j].len,
                                               t[j - 1].text, t[j - 1].len) < 0;
         j--) {
      kidx__term x = t[j];
      t[j] = t[j - 1];
      t[j - 1] = x;
    }
  char(*sorted)[8] = malloc(n * sizeof *sorted);
  size_t *slen = malloc(n * sizeof *slen);
  ck_assert(sorted && slen);
  for (size_t i = 0; i < n; i++) {
    memcpy(sorted[i], t[i].text, t[i].len);
    slen[i] = t[i].len;
  }
  memcpy(pool, sorted, n * sizeof *sorted);
  memcpy(pool_len, slen, n * sizeof *slen);
  free(sorted);
  free(slen);
  free(t);
  return n;
}

/* Source i takes each pool term with probability 1/every; df and
 * post_len identify the entry (source, index). */
static kidx__term *make_source(size_t i, size_t npool, unsigned every,
                               size_t *n) {
  kidx__term *t = malloc((npool ? npool : 1) * sizeof *t);
  ck_assert_ptr_nonnull(t);
  *n = 0;
  for (size_t j = 0; j < npool; j++)
    if (every && next_rand() % every == 0) {
      t[*n] = (kidx__term){pool[j], pool_len[j], (uint32_t)i, NULL, *n};
      (*n)++;
    }
  return t;
}

/* nsrc array sources of density 1/every, merged whole and under every
 * prefix of length 1 and 2 of the alphabet, and some that match
 * nothing. */
static void run_arrays(size_t nsrc, size_t npool_want, unsigned every) {
  size_t npool = make_pool(npool_want);
  kidx__term **src = calloc(nsrc ? nsrc : 1, sizeof *src);
  size_t *n = calloc(nsrc ? nsrc : 1, sizeof *n);
  ck_assert(src && n);
  kidx__termmerge m;
  ck_assert_int_eq(kidx__termmerge_init(&m, nsrc), KIDX_OK);
  for (size_t i = 0; i < nsrc; i++) {
    /* every third source empty when there are several */
    src[i] = make_source(i, npool, nsrc > 2 && i % 3 == 1 ? 0 : every, &n[i]);
    kidx__termmerge_array(&m, i, src[i], n[i]);
  }
  size_t whole =
      check_merge(&m, (const kidx__term *const *)src, n, nsrc, NULL, 0);
  size_t distinct = 0;
  for (size_t j = 0; j < npool; j++) {
    int any = 0;
    for (size_t i = 0; i < nsrc && !any; i++)
      for (size_t k = 0; k < n[i] && !any; k++)
        any = src[i][k].text == pool[j];
    distinct += (size_t)any;
  }
  ck_assert_uint_eq(whole, distinct);
  static const char *const prefixes[] = {"a",
                                         "b",
                                         "c",
                                         "\xc3",
                                         "\xff",
                                         "aa",
                                         "ab",
                                         "ca",
                                         "\xc3\xff",
                                         "\xff\xff",
                                         "\xff\xff\xff\xff\xff\xff",
                                         "d",
                                         "0",
                                         "abcabc",
                                         "\xc3"
                                         "a"};
  size_t sum = 0;
  for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++) {
    size_t got = check_merge(&m, (const kidx__term *const *)src, n, nsrc,
                             prefixes[p], strlen(prefixes[p]));
    if (p < 5)
      sum += got; /* the one-byte prefixes partition the terms */
  }
  ck_assert_uint_eq(sum, whole);
  /* Starting over gives the same again. */
  ck_assert_uint_eq(
      check_merge(&m, (const kidx__term *const *)src, n, nsrc, NULL, 0), whole);
  kidx__termmerge_free(&m);
  for (size_t i = 0; i < nsrc; i++)
    free(src[i]);
  free(src);
  free(n);
}

START_TEST(test_overlapping) {
  run_arrays(2, 200, 2);
  run_arrays(5, 300, 2);
  run_arrays(4, 300, 1); /* identical sources */
}
END_TEST

START_TEST(test_disjoint) {
  size_t npool = make_pool(120);
  /* source i has the pool terms j with j % 3 == i */
  kidx__term *src[3];
  size_t n[3] = {0, 0, 0};
  for (size_t i = 0; i < 3; i++) {
    src[i] = malloc(npool * sizeof *src[i]);
    ck_assert_ptr_nonnull(src[i]);
  }
  for (size_t j = 0; j < npool; j++) {
    size_t i = j % 3;
    src[i][n[i]] = (kidx__term){pool[j], pool_len[j], (uint32_t)i, NULL, n[i]};
    n[i]++;
  }
  kidx__termmerge m;
  ck_assert_int_eq(kidx__termmerge_init(&m, 3), KIDX_OK);
  for (size_t i = 0; i < 3; i++)
    kidx__termmerge_array(&m, i, src[i], n[i]);
  kidx__termmerge_start(&m, NULL, 0);
  size_t j = 0;
  while (kidx__termmerge_next(&m)) {
    ck_assert_uint_eq(m.nwhich, 1);
    ck_assert_uint_eq(m.which[0], j % 3);
    ck_assert_uint_eq(m.len, pool_len[j]);
    ck_assert(memcmp(m.text, pool[j], m.len) == 0);
    j++;
  }
  ck_assert_uint_eq(j, npool);
  ck_assert_uint_eq(
      check_merge(&m, (const kidx__term *const *)src, n, 3, "b", 1),
      check_merge(&m, (const kidx__term *const *)src, n, 3, "b", 1));
  kidx__termmerge_free(&m);
  for (size_t i = 0; i < 3; i++)
    free(src[i]);
}
END_TEST

START_TEST(test_empty_sources) {
  kidx__termmerge m;
  /* no sources at all */
  ck_assert_int_eq(kidx__termmerge_init(&m, 0), KIDX_OK);
  kidx__termmerge_start(&m, NULL, 0);
  ck_assert_int_eq(kidx__termmerge_next(&m), 0);
  kidx__termmerge_start(&m, "a", 1);
  ck_assert_int_eq(kidx__termmerge_next(&m), 0);
  kidx__termmerge_free(&m);
  /* sources that are all empty, given or not */
  ck_assert_int_eq(kidx__termmerge_init(&m, 4), KIDX_OK);
  kidx__termmerge_array(&m, 1, NULL, 0);
  kidx__termmerge_start(&m, NULL, 0);
  ck_assert_int_eq(kidx__termmerge_next(&m), 0);
  ck_assert_int_eq(kidx__termmerge_next(&m), 0);
  /* one term among empty ones */
  kidx__term one = {"x", 1, 7, NULL, 0};
  kidx__termmerge_array(&m, 2, &one, 1);
  kidx__termmerge_start(&m, NULL, 0);
  ck_assert_int_eq(kidx__termmerge_next(&m), 1);
  ck_assert_uint_eq(m.nwhich, 1);
  ck_assert_uint_eq(m.which[0], 2);
  ck_assert_uint_eq(kidx__termmerge_term(&m, 2)->df, 7);
  ck_assert_int_eq(kidx__termmerge_next(&m), 0);
  /* bounded past it, before it, and on it exactly */
  kidx__termmerge_start(&m, "y", 1);
  ck_assert_int_eq(kidx__termmerge_next(&m), 0);
  kidx__termmerge_start(&m, "w", 1);
  ck_assert_int_eq(kidx__termmerge_next(&m), 0);
  kidx__termmerge_start(&m, "x", 1);
  ck_assert_int_eq(kidx__termmerge_next(&m), 1);
  ck_assert_int_eq(kidx__termmerge_next(&m), 0);
  kidx__termmerge_start(&m, "xx", 2);
  ck_assert_int_eq(kidx__termmerge_next(&m), 0);
  kidx__termmerge_free(&m);
  run_arrays(1, 50, 1);
  run_arrays(3, 100, 0); /* three empty sources */
}
END_TEST

START_TEST(test_many_sources) {
  run_arrays(64, 400, 8);
  run_arrays(257, 1000, 50);
  run_arrays(1000, 200, 100); /* most sources hold a term or none */
}
END_TEST

/* ---- segment sources, mixed with an array ---- */

/* The terms of a segment, copied out (texts in one arena). */
static kidx__term *segment_terms(const kidx__segment *seg, size_t *n,
                                 char **arena) {
  kidx__term *t = malloc((seg->nterms ? seg->nterms : 1) * sizeof *t);
  *arena = malloc((seg->nterms ? seg->nterms : 1) * KIDX_MAX_TOKEN_BYTES);
  ck_assert(t && *arena);
  kidx__termcur c;
  *n = 0;
  for (int on = kidx__termcur_seek(&c, seg, 0); on;
       on = kidx__termcur_next(&c)) {
    char *p = *arena + *n * KIDX_MAX_TOKEN_BYTES;
    memcpy(p, c.term.text, c.term.len);
    t[*n] = c.term;
    t[*n].text = p;
    (*n)++;
  }
  ck_assert_uint_eq(*n, seg->nterms);
  return t;
}

START_TEST(test_segments) {
  char *dir = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  static const char *const words[] = {
      "apple",  "apply",  "apricot", "banana", "band",        "bandana",
      "cherry", "cherub", "zebra",   "zest",   "caf\xc3\xa9", "na\xc3\xafve"};
  size_t nw = sizeof words / sizeof *words;
  for (int commit = 0; commit < 4; commit++) {
    for (int d = 0; d < 6; d++) {
      char id[32], body[512] = "";
      snprintf(id, sizeof id, "c%dd%d", commit, d);
      for (size_t k = 0; k < nw; k++)
        if (next_rand() % 3 == 0) {
          strcat(body, words[k]);
          strcat(body, " ");
        }
      char extra[32];
      snprintf(extra, sizeof extra, "only%d%d", commit, d);
      strcat(body, extra);
      ck_assert_int_eq(
          kidx_writer_add(w, id, strlen(id), "", 0, body, strlen(body)),
          KIDX_OK);
    }
    ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  }
  kidx_writer_close(w);
  char errmsg[KIDX__ERRMSG_MAX];
  kidx__snapshot snap;
  ck_assert_int_eq(kidx__snapshot_open(&snap, dir, errmsg), KIDX_OK);
  ck_assert_uint_eq(snap.nsegs, 4);
  size_t nsrc = snap.nsegs + 1;
  kidx__term *src[5];
  size_t n[5];
  char *arena[5] = {NULL};
  kidx__termmerge m;
  ck_assert_int_eq(kidx__termmerge_init(&m, nsrc), KIDX_OK);
  for (size_t i = 0; i < snap.nsegs; i++) {
    src[i] = segment_terms(&snap.segs[i].seg, &n[i], &arena[i]);
    kidx__termmerge_segment(&m, i, &snap.segs[i].seg);
  }
  /* The last source: an array, as the batch is in a segment write. */
  static kidx__term extra[] = {{"apple", 5, 1, NULL, 11},
                               {"aq", 2, 2, NULL, 12},
                               {"only00", 6, 3, NULL, 13},
                               {"zzz", 3, 4, NULL, 14}};
  src[4] = extra;
  n[4] = sizeof extra / sizeof *extra;
  kidx__termmerge_array(&m, 4, extra, n[4]);
  size_t whole =
      check_merge(&m, (const kidx__term *const *)src, n, nsrc, NULL, 0);
  /* kidx__count_terms (the same merge, segments only) plus the array's
   * terms that no segment has. */
  uint64_t count;
  ck_assert_int_eq(kidx__count_terms(&snap, &count), KIDX_OK);
  size_t fresh = 0;
  for (size_t k = 0; k < n[4]; k++) {
    int found = 0;
    for (size_t i = 0; i < snap.nsegs && !found; i++) {
      kidx__term t;
      found = kidx__segment_find(&snap.segs[i].seg, extra[k].text, extra[k].len,
                                 &t);
    }
    fresh += !found;
  }
  ck_assert_uint_ge(fresh, 2); /* "aq" and "zzz" at least */
  ck_assert_uint_eq(whole, count + fresh);
  static const char *const prefixes[] = {"a",     "ap",  "apr", "band", "only",
                                         "only1", "caf", "q",   "zz"};
  for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++)
    check_merge(&m, (const kidx__term *const *)src, n, nsrc, prefixes[p],
                strlen(prefixes[p]));
  kidx__termmerge_free(&m);
  for (size_t i = 0; i < snap.nsegs; i++) {
    free(src[i]);
    free(arena[i]);
  }
  kidx__snapshot_close(&snap);
  tu_rmtree(dir);
  free(dir);
}
END_TEST

static Suite *termmerge_suite(void) {
  Suite *s = suite_create("termmerge");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_overlapping);
  tcase_add_test(tc, test_disjoint);
  tcase_add_test(tc, test_empty_sources);
  tcase_add_test(tc, test_many_sources);
  tcase_add_test(tc, test_segments);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(termmerge_suite());
}
