/* Unit tests for postings.c (codec and cursor) and topk.c (collector). */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <stdlib.h>

/* Writes docs[i] with tf[i] positions i*10, i*10+3, ... */
static void build(kidx__buf *b, const uint32_t *docs, const uint32_t *tf,
                  size_t n) {
  uint64_t base = 0;
  uint32_t pos[64];
  for (size_t i = 0; i < n; i++) {
    for (uint32_t k = 0; k < tf[i]; k++)
      pos[k] = (uint32_t)i * 10 + k * 3;
    /* Every other entry has its first occurrence in the title. */
    ck_assert_int_eq(
        kidx__postings_put(b, base, docs[i], pos, tf[i], (uint32_t)(i % 2)),
        KIDX_OK);
    base = (uint64_t)docs[i] + 1;
  }
}

START_TEST(test_postings_roundtrip) {
  const uint32_t docs[] = {0, 1, 7, 128, 100000, UINT32_MAX - 2};
  const uint32_t tf[] = {1, 3, 1, 20, 2, 1};
  kidx__buf b = {0};
  build(&b, docs, tf, 6);
  kidx__postings c;
  kidx__postings_init(&c, b.p, b.n, 6, UINT32_MAX);
  for (size_t i = 0; i < 6; i++) {
    ck_assert_int_eq(kidx__postings_next(&c), 1);
    ck_assert_uint_eq(c.doc, docs[i]);
    ck_assert_uint_eq(c.tf, tf[i]);
    ck_assert_uint_eq(c.tf_title, i % 2);
    if (i % 2 == 0) { /* read positions of every other entry only */
      uint32_t pos[64];
      ck_assert_int_eq(kidx__postings_positions(&c, pos), KIDX_OK);
      for (uint32_t k = 0; k < tf[i]; k++)
        ck_assert_uint_eq(pos[k], (uint32_t)i * 10 + k * 3);
    }
  }
  ck_assert_int_eq(kidx__postings_next(&c), 0);
  ck_assert_int_eq(kidx__postings_next(&c), 0);
  kidx__buf_free(&b);
}
END_TEST

START_TEST(test_postings_first_position_zero) {
  kidx__buf b = {0};
  uint32_t pos[] = {0, 1, 2};
  ck_assert_int_eq(kidx__postings_put(&b, 0, 0, pos, 3, 0), KIDX_OK);
  /* doc gap 1 (doc 0 + 1), tf 3 * 2 + no title, position gaps 1 1 1 */
  ck_assert_uint_eq(b.n, 5);
  ck_assert_uint_eq(b.p[0], 1);
  ck_assert_uint_eq(b.p[1], 6);
  ck_assert_uint_eq(b.p[2], 1);
  /* With two of them in the title, the count follows the flag. */
  b.n = 0;
  ck_assert_int_eq(kidx__postings_put(&b, 0, 0, pos, 3, 2), KIDX_OK);
  ck_assert_uint_eq(b.n, 6);
  ck_assert_uint_eq(b.p[1], 7);
  ck_assert_uint_eq(b.p[2], 2);
  kidx__buf_free(&b);
}
END_TEST

static int walk(const uint8_t *p, size_t n, uint32_t df, uint64_t limit) {
  kidx__postings c;
  kidx__postings_init(&c, p, n, df, limit);
  int rc;
  uint32_t pos[1024];
  while ((rc = kidx__postings_next(&c)) == 1) {
    if (c.tf > 1024)
      return KIDX_ECORRUPT;
    if ((rc = kidx__postings_positions(&c, pos)))
      return rc;
  }
  return rc;
}

START_TEST(test_postings_detects_damage) {
  const uint32_t docs[] = {3, 9, 40};
  const uint32_t tf[] = {2, 1, 4};
  kidx__buf b = {0};
  build(&b, docs, tf, 3);
  ck_assert_int_eq(walk(b.p, b.n, 3, 41), 0);
  /* Document beyond the index. */
  ck_assert_int_eq(walk(b.p, b.n, 3, 40), KIDX_ECORRUPT);
  /* df larger or smaller than the list. */
  ck_assert_int_eq(walk(b.p, b.n, 4, 100), KIDX_ECORRUPT);
  ck_assert_int_eq(walk(b.p, b.n, 2, 100), KIDX_ECORRUPT);
  /* Every truncation. */
  for (size_t n = 0; n < b.n; n++)
    ck_assert_int_eq(walk(b.p, n, 3, 100), KIDX_ECORRUPT);
  /* A zero gap (document repeated) and a zero tf. */
  const uint8_t zero_gap[] = {4, 2, 1, 0, 2, 1};
  ck_assert_int_eq(walk(zero_gap, sizeof zero_gap, 2, 100), KIDX_ECORRUPT);
  const uint8_t zero_tf[] = {4, 0};
  ck_assert_int_eq(walk(zero_tf, sizeof zero_tf, 1, 100), KIDX_ECORRUPT);
  /* More title occurrences than occurrences, and a title flag with 0. */
  const uint8_t title_over[] = {4, 3, 2, 1};
  ck_assert_int_eq(walk(title_over, sizeof title_over, 1, 100), KIDX_ECORRUPT);
  const uint8_t title_zero[] = {4, 3, 0, 1};
  ck_assert_int_eq(walk(title_zero, sizeof title_zero, 1, 100), KIDX_ECORRUPT);
  /* A gap that would wrap the 64-bit document number around to a small
   * one (2^64 - 1 after a first entry), and a tf larger than the bytes
   * left for its positions. */
  const uint8_t wrap[] = {1,    2,    1,    0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0x01, 2,    1};
  ck_assert_int_eq(walk(wrap, sizeof wrap, 2, 100), KIDX_ECORRUPT);
  const uint8_t huge_tf[] = {1, 0xfe, 0xff, 0xff, 0xff, 0x1f, 1};
  ck_assert_int_eq(walk(huge_tf, sizeof huge_tf, 1, 100), KIDX_ECORRUPT);
  const uint8_t zero_pos_gap[] = {4, 4, 1, 0};
  ck_assert_int_eq(walk(zero_pos_gap, sizeof zero_pos_gap, 1, 100),
                   KIDX_ECORRUPT);
  kidx__buf_free(&b);
}
END_TEST

START_TEST(test_postings_random_bytes_never_crash) {
  uint64_t x = 88172645463325252ull;
  uint8_t buf[64];
  for (int round = 0; round < 100000; round++) {
    size_t n = (size_t)(round % 64);
    for (size_t i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[i] = (uint8_t)x;
    }
    int rc = walk(buf, n, (uint32_t)(x % 8), 1000);
    if (rc != 0 && rc != KIDX_ECORRUPT)
      ck_abort_msg("round %d: rc %d", round, rc);
  }
}
END_TEST

/* topk: ties broken by document number through this comparator. */
static int cmp_doc(const void *ctx, uint32_t a, uint32_t b) {
  (void)ctx;
  return (a > b) - (a < b);
}

static int cmp_hits(const void *a, const void *b) {
  const kidx__hit *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return (x->doc > y->doc) - (x->doc < y->doc);
}

START_TEST(test_topk_matches_full_sort) {
  enum { N = 2000 };
  kidx__hit all[N];
  uint64_t x = 7;
  for (uint32_t i = 0; i < N; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    all[i].doc = i;
    all[i].score = (double)(x % 50); /* many ties */
  }
  kidx__hit sorted[N];
  memcpy(sorted, all, sizeof all);
  qsort(sorted, N, sizeof sorted[0], cmp_hits);
  const size_t ks[] = {0, 1, 2, 10, 99, N, N + 5};
  for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
    kidx__topk topk;
    ck_assert_int_eq(kidx__topk_init(&topk, ks[t], cmp_doc, NULL), KIDX_OK);
    for (uint32_t i = 0; i < N; i++)
      kidx__topk_push(&topk, all[i].score, all[i].doc);
    size_t n = kidx__topk_finish(&topk);
    ck_assert_uint_eq(n, ks[t] < N ? ks[t] : N);
    for (size_t i = 0; i < n; i++) {
      ck_assert_uint_eq(topk.heap[i].doc, sorted[i].doc);
      ck_assert(topk.heap[i].score == sorted[i].score);
    }
    kidx__topk_free(&topk);
  }
}
END_TEST

static Suite *postings_suite(void) {
  Suite *s = suite_create("postings");
  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_postings_roundtrip);
  tcase_add_test(core, test_postings_first_position_zero);
  tcase_add_test(core, test_topk_matches_full_sort);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_add_test(errors, test_postings_detects_damage);
  tcase_add_test(errors, test_postings_random_bytes_never_crash);
  suite_add_tcase(s, errors);
  return s;
}

int main(void) {
  return tu_run_suite(postings_suite());
}
