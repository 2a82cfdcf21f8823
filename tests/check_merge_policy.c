/* Unit tests for merge_policy.c: the merge planner alone, on segment
 * descriptions made up here -- no files.  A small simulated writer
 * (flush, plan, merge, plan again) checks what the plans add up to. */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <stdlib.h>

#define MiB     ((uint64_t)1 << 20)
#define MAXSEGS 4096

/* A segment of `bytes` with `ndocs` documents, none deleted. */
static kidx__merge_seg seg(uint64_t bytes, uint64_t ndocs) {
  return (kidx__merge_seg){bytes, ndocs, 0};
}

static kidx__merge_seg seg_dead(uint64_t bytes, uint64_t ndocs,
                                uint64_t ndead) {
  return (kidx__merge_seg){bytes, ndocs, ndead};
}

/* Plans the next merge with factor f; which[] is poisoned first, so that
 * a plan cannot pass by what a previous one left there. */
static size_t which_buf[MAXSEGS];
static int plan(const kidx__merge_seg *s, size_t n, unsigned f,
                kidx__merge *m) {
  for (size_t i = 0; i < MAXSEGS; i++)
    which_buf[i] = (size_t)-1;
  kidx__merge_options opt = {f};
  *m = (kidx__merge){which_buf, 99, KIDX__MERGE_ALL, 99};
  int r = kidx__merge_plan_next(s, n, &opt, m);
  ck_assert_int_eq(r, m->n > 0);
  return r;
}

static void assert_which(const kidx__merge *m, const size_t *want, size_t n) {
  ck_assert_uint_eq(m->n, n);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(m->which[i] == want[i], "which[%zu] = %zu, want %zu", i,
                  m->which[i], want[i]);
}

/* ---- a simulated writer ---- */

typedef struct sim {
  kidx__merge_seg segs[MAXSEGS];
  size_t n;
  unsigned factor;
  size_t merges, rewrites;
  uint64_t bytes_written; /* by merges: the write amplification */
} sim;

/* Live bytes as the policy counts them (exactly, for the small sizes
 * used here). */
static uint64_t sim_live(const kidx__merge_seg *g) {
  if (g->ndocs == 0 || g->ndead >= g->ndocs)
    return 0;
  return g->ndead == 0 ? g->bytes : g->bytes * (g->ndocs - g->ndead) / g->ndocs;
}

/* Does what writer.c does with a plan: the sources go, their live bytes
 * and documents come back as one new segment at the end (none if no
 * document was live). */
static void sim_apply(sim *s, const kidx__merge *m) {
  kidx__merge_seg out = {0, 0, 0};
  size_t k = 0, j = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (k < m->n && m->which[k] == i) {
      const kidx__merge_seg *g = &s->segs[i];
      k++;
      out.ndocs += g->ndocs - g->ndead;
      out.bytes += sim_live(g);
      continue;
    }
    s->segs[j++] = s->segs[i];
  }
  ck_assert_uint_eq(k, m->n);
  s->n = j;
  if (out.ndocs)
    s->segs[s->n++] = out;
  s->bytes_written += out.bytes;
  if (m->reason == KIDX__MERGE_DELETES)
    s->rewrites++;
  else
    s->merges++;
}

static void sim_merge(sim *s) {
  kidx__merge m;
  for (size_t rounds = 0; plan(s->segs, s->n, s->factor, &m); rounds++) {
    ck_assert_uint_lt(rounds, 10000); /* it must end */
    for (size_t i = 1; i < m.n; i++)
      ck_assert_uint_lt(m.which[i - 1], m.which[i]);
    sim_apply(s, &m);
  }
}

static void sim_flush(sim *s, uint64_t bytes, uint64_t ndocs) {
  ck_assert_uint_lt(s->n, MAXSEGS);
  s->segs[s->n++] = seg(bytes, ndocs);
  sim_merge(s);
}

/* Segments per level, as the policy counts them (live bytes). */
static void assert_levels_below_factor(const sim *s) {
  size_t count[64] = {0};
  for (size_t i = 0; i < s->n; i++) {
    uint64_t b = sim_live(&s->segs[i]);
    unsigned level = 0;
    for (; b >= KIDX__MERGE_LEVEL_FLOOR * s->factor; b /= s->factor)
      level++;
    ck_assert_uint_lt(++count[level], s->factor);
  }
}

/* ---- Core ---- */

START_TEST(test_merge_policy_no_merge_needed) {
  kidx__merge_seg s[16] = {{0, 0, 0}};
  kidx__merge m;
  ck_assert_int_eq(plan(s, 0, 10, &m), 0);
  ck_assert_int_eq(m.reason, KIDX__MERGE_NONE);
  ck_assert_uint_eq(m.n, 0);
  /* nine small ones: one short of a full level */
  for (size_t i = 0; i < 9; i++)
    s[i] = seg(100 * 1024, 50);
  ck_assert_int_eq(plan(s, 9, 10, &m), 0);
  /* three on each of levels 0, 1 and 2 */
  for (size_t i = 0; i < 9; i++)
    s[i] = seg((uint64_t)(i % 3 == 0 ? 1 : i % 3 == 1 ? 20 : 200) * MiB, 9);
  ck_assert_int_eq(plan(s, 9, 10, &m), 0);
  /* deletions under a quarter */
  s[0] = seg_dead(5 * MiB, 100, 24);
  s[1] = seg_dead(5 * MiB, 101, 25);
  ck_assert_int_eq(plan(s, 2, 10, &m), 0);
}
END_TEST

START_TEST(test_merge_policy_full_level) {
  kidx__merge_seg s[16];
  kidx__merge m;
  for (size_t i = 0; i < 10; i++)
    s[i] = seg(64 * 1024, 10);
  ck_assert_int_eq(plan(s, 10, 10, &m), 1);
  ck_assert_int_eq(m.reason, KIDX__MERGE_LEVEL);
  ck_assert_uint_eq(m.level, 0);
  static const size_t all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  assert_which(&m, all, 10);
  /* twelve: the first ten, in order */
  s[10] = s[11] = seg(64 * 1024, 10);
  ck_assert_int_eq(plan(s, 12, 10, &m), 1);
  assert_which(&m, all, 10);
}
END_TEST

START_TEST(test_merge_policy_tiers) {
  /* Level 1 (10..100 MiB with F = 10) full, interleaved with small ones:
   * its segments in order, level 0 left alone. */
  kidx__merge_seg s[16];
  kidx__merge m;
  size_t n = 0, want[10], k = 0;
  for (size_t i = 0; i < 13; i++) {
    if (i % 4 == 1)
      s[n++] = seg(MiB, 5);
    else {
      want[k++] = n;
      s[n++] = seg(10 * MiB + i, 5);
    }
  }
  ck_assert_uint_eq(k, 10);
  ck_assert_int_eq(plan(s, n, 10, &m), 1);
  ck_assert_uint_eq(m.level, 1);
  assert_which(&m, want, 10);
  /* Levels 0 and 2 full: the lower goes first. */
  for (size_t i = 0; i < 8; i++)
    s[i] = seg(150 * MiB, 5);
  for (size_t i = 8; i < 16; i++)
    s[i] = seg(MiB, 5);
  ck_assert_int_eq(plan(s, 16, 8, &m), 1);
  ck_assert_uint_eq(m.level, 0);
  static const size_t low[] = {8, 9, 10, 11, 12, 13, 14, 15};
  assert_which(&m, low, 8);
}
END_TEST

START_TEST(test_merge_policy_level_boundaries) {
  /* With F = 10: level 0 below 10 MiB, level 1 from 10 MiB to 100 MiB,
   * counted in live bytes. */
  kidx__merge_seg s[10];
  kidx__merge m;
  for (size_t i = 0; i < 10; i++)
    s[i] = seg(10 * MiB - 1, 1000);
  ck_assert_int_eq(plan(s, 10, 10, &m), 1);
  ck_assert_uint_eq(m.level, 0);
  for (size_t i = 0; i < 10; i++)
    s[i] = seg(10 * MiB, 1000);
  ck_assert_int_eq(plan(s, 10, 10, &m), 1);
  ck_assert_uint_eq(m.level, 1);
  for (size_t i = 0; i < 10; i++)
    s[i] = seg(100 * MiB - 1, 1000);
  ck_assert_int_eq(plan(s, 10, 10, &m), 1);
  ck_assert_uint_eq(m.level, 1);
  for (size_t i = 0; i < 10; i++)
    s[i] = seg(100 * MiB, 3);
  ck_assert_int_eq(plan(s, 10, 10, &m), 1);
  ck_assert_uint_eq(m.level, 2);
}
END_TEST

START_TEST(test_merge_policy_cascade) {
  /* 1 MiB flushes with F = 10: every ten make a level-1 segment, every
   * hundred a level-2 one; the segment count is the decimal digit sum of
   * the flush count, and each document is rewritten once per level. */
  static sim s;
  memset(&s, 0, sizeof s);
  s.factor = 10;
  for (unsigned i = 1; i <= 1234; i++) {
    sim_flush(&s, MiB, 100);
    assert_levels_below_factor(&s);
    unsigned digits = 0;
    for (unsigned v = i; v; v /= 10)
      digits += v % 10;
    ck_assert_uint_eq(s.n, digits);
  }
  ck_assert_uint_eq(s.merges, 123 + 12 + 1);
  ck_assert_uint_eq(s.rewrites, 0);
  /* 1230 MiB went through one merge, 1200 through two, 1000 through
   * three */
  ck_assert_uint_eq(s.bytes_written, (1230 + 1200 + 1000) * MiB);
  /* Oldest first, largest first: 1000 MiB, 2 x 100, 3 x 10, 4 x 1. */
  ck_assert_uint_eq(s.segs[0].bytes, 1000 * MiB);
  ck_assert_uint_eq(s.segs[s.n - 1].bytes, MiB);
}
END_TEST

START_TEST(test_merge_policy_factor_2) {
  /* F = 2 is a binary counter: after n flushes of one size, popcount(n)
   * segments, of the sizes of n's set bits. */
  static sim s;
  memset(&s, 0, sizeof s);
  s.factor = 2;
  for (unsigned i = 1; i <= 300; i++) {
    sim_flush(&s, 2 * MiB, 10);
    assert_levels_below_factor(&s);
    unsigned bits = 0;
    for (unsigned v = i; v; v >>= 1)
      bits += v & 1;
    ck_assert_uint_eq(s.n, bits);
  }
  /* 300 = 256 + 32 + 8 + 4 */
  ck_assert_uint_eq(s.segs[0].bytes, 512 * MiB);
  ck_assert_uint_eq(s.segs[1].bytes, 64 * MiB);
  ck_assert_uint_eq(s.segs[2].bytes, 16 * MiB);
  ck_assert_uint_eq(s.segs[3].bytes, 8 * MiB);
  /* Two segments merge as soon as they share a level. */
  kidx__merge_seg two[2] = {seg(3 * MiB, 1), seg(3 * MiB, 1)};
  kidx__merge m;
  ck_assert_int_eq(plan(two, 2, 2, &m), 1);
  ck_assert_uint_eq(m.n, 2);
}
END_TEST

START_TEST(test_merge_policy_small_flushes_share_level_0) {
  /* Below the floor every segment is level 0, however small: tiny
   * flushes merge with the segment their last merge made. */
  static sim s;
  memset(&s, 0, sizeof s);
  s.factor = 10;
  for (unsigned i = 0; i < 10; i++)
    sim_flush(&s, 1000, 1);
  ck_assert_uint_eq(s.n, 1);
  ck_assert_uint_eq(s.segs[0].bytes, 10000);
  for (unsigned i = 0; i < 9; i++)
    sim_flush(&s, 1000, 1);
  ck_assert_uint_eq(s.n, 1);
  ck_assert_uint_eq(s.segs[0].bytes, 19000);
  ck_assert_uint_eq(s.merges, 2);
}
END_TEST

START_TEST(test_merge_policy_deletions) {
  kidx__merge_seg s[12];
  kidx__merge m;
  /* a quarter exactly, rounded up for counts that do not divide */
  s[0] = seg(50 * MiB, 100);
  s[1] = seg_dead(50 * MiB, 101, 26);
  s[2] = seg_dead(50 * MiB, 100, 25);
  ck_assert_int_eq(plan(s, 3, 10, &m), 1);
  ck_assert_int_eq(m.reason, KIDX__MERGE_DELETES);
  static const size_t one[] = {1};
  assert_which(&m, one, 1);
  ck_assert_uint_eq(m.level, 1);
  s[1].ndead = 25; /* 25/101 is under a quarter: then s[2] */
  ck_assert_int_eq(plan(s, 3, 10, &m), 1);
  static const size_t two[] = {2};
  assert_which(&m, two, 1);
  /* everything deleted */
  s[0] = seg_dead(MiB, 7, 7);
  ck_assert_int_eq(plan(s, 1, 10, &m), 1);
  ck_assert_int_eq(m.reason, KIDX__MERGE_DELETES);
  ck_assert_uint_eq(m.level, 0);
  /* A full level goes before rewrites. */
  for (size_t i = 0; i < 10; i++)
    s[i] = seg(MiB, 10);
  s[10] = seg_dead(MiB, 10, 9);
  ck_assert_int_eq(plan(s, 11, 10, &m), 1);
  ck_assert_int_eq(m.reason, KIDX__MERGE_LEVEL);
  ck_assert_uint_eq(m.which[0], 0);
}
END_TEST

START_TEST(test_merge_policy_deletions_lower_the_level) {
  /* Levels count live bytes: a 40 MiB segment (level 1) with 80 per cent
   * deleted counts as 8 MiB, level 0, and completes level 0's group --
   * merged with it rather than rewritten on its own. */
  kidx__merge_seg s[10];
  kidx__merge m;
  s[0] = seg_dead(40 * MiB, 1000, 800);
  for (size_t i = 1; i < 10; i++)
    s[i] = seg(2 * MiB, 100);
  ck_assert_int_eq(plan(s, 10, 10, &m), 1);
  ck_assert_int_eq(m.reason, KIDX__MERGE_LEVEL);
  ck_assert_uint_eq(m.level, 0);
  ck_assert_uint_eq(m.n, 10);
  ck_assert_uint_eq(m.which[0], 0);
  /* 70 per cent deleted: 12 MiB, level 1; level 0 has nine, so the
   * segment is rewritten. */
  s[0].ndead = 700;
  ck_assert_int_eq(plan(s, 10, 10, &m), 1);
  ck_assert_int_eq(m.reason, KIDX__MERGE_DELETES);
  ck_assert_uint_eq(m.level, 1);
}
END_TEST

START_TEST(test_merge_policy_deletion_heavy_simulation) {
  /* Deleting from old segments: each segment is rewritten once when a
   * quarter of it is gone, and the loop ends with none over a quarter. */
  static sim s;
  memset(&s, 0, sizeof s);
  s.factor = 10;
  for (unsigned i = 0; i < 250; i++)
    sim_flush(&s, 4 * MiB, 400);
  size_t before = s.n;
  for (size_t i = 0; i < s.n; i++)
    s.segs[i].ndead = s.segs[i].ndocs / 3;
  sim_merge(&s);
  ck_assert_uint_ge(s.rewrites, 1);
  ck_assert_uint_le(s.n, before);
  for (size_t i = 0; i < s.n; i++)
    ck_assert_uint_lt(s.segs[i].ndead * 4, s.segs[i].ndocs);
  assert_levels_below_factor(&s);
}
END_TEST

START_TEST(test_merge_policy_deterministic) {
  /* Equal inputs, equal plans, whatever which[] held before. */
  kidx__merge_seg s[40];
  uint64_t x = 12345;
  for (size_t i = 0; i < 40; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t nd = 1 + (x >> 40) % 1000;
    s[i] = seg_dead((x >> 20) % (300 * MiB), nd, (x >> 8) % (nd + 1));
  }
  kidx__merge a, b;
  size_t first[40];
  ck_assert_int_eq(plan(s, 40, 4, &a), 1);
  memcpy(first, a.which, a.n * sizeof *first);
  size_t na = a.n;
  kidx__merge_reason ra = a.reason;
  for (int round = 0; round < 3; round++) {
    ck_assert_int_eq(plan(s, 40, 4, &b), 1);
    ck_assert_uint_eq(b.n, na);
    ck_assert_int_eq(b.reason, ra);
    assert_which(&b, first, na);
  }
}
END_TEST

/* The policy as writer.c had it before merge_policy.c, over the same
 * descriptions: one round of its loop, verbatim but for the types. */
static size_t old_policy(const kidx__merge_seg *s, size_t nsegs,
                         unsigned factor, size_t *which) {
  for (unsigned level = 0; level < 64; level++) {
    size_t n = 0;
    for (size_t i = 0; i < nsegs && n < factor; i++) {
      uint64_t b = s[i].ndocs == 0
                       ? 0
                       : (uint64_t)((double)s[i].bytes *
                                    (double)(s[i].ndocs - s[i].ndead) /
                                    (double)s[i].ndocs);
      unsigned l = 0;
      for (; b >= KIDX__MERGE_LEVEL_FLOOR * factor; b /= factor)
        l++;
      if (l == level)
        which[n++] = i;
    }
    if (n == factor)
      return n;
  }
  for (size_t i = 0; i < nsegs; i++)
    if (s[i].ndead > 0 && s[i].ndead * 4 >= s[i].ndocs) {
      which[0] = i;
      return 1;
    }
  return 0;
}

START_TEST(test_merge_policy_same_as_before) {
  /* Random segment lists (up to 1 TiB and 2^32 documents each, a third
   * with deletions) and factors: the same plan as the old code. */
  static kidx__merge_seg s[100];
  static size_t want[100];
  uint64_t x = 99;
  for (int round = 0; round < 2000; round++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    size_t n = (size_t)(x >> 33) % 100;
    unsigned factor = 2 + (unsigned)((x >> 13) % 12);
    if (round % 50 == 0)
      factor = 1000;
    for (size_t i = 0; i < n; i++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      /* sizes spread over levels: 2^10 to 2^40 bytes */
      uint64_t bytes = ((x >> 24) & ((1ull << (10 + (x >> 59) % 31)) - 1)) + 1;
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      uint64_t nd = 1 + (x >> 32) % (round % 2 ? 100 : UINT32_MAX);
      uint64_t dead = (x >> 20) % 3 == 0 ? (x >> 8) % (nd + 1) : 0;
      s[i] = seg_dead(bytes, nd, dead);
    }
    size_t nw = old_policy(s, n, factor, want);
    kidx__merge m;
    plan(s, n, factor, &m);
    ck_assert_msg(m.n == nw, "round %d: %zu segments, want %zu", round, m.n,
                  nw);
    for (size_t i = 0; i < nw; i++)
      ck_assert_uint_eq(m.which[i], want[i]);
  }
}
END_TEST

/* ---- Limits ---- */

START_TEST(test_merge_policy_huge_counts) {
  kidx__merge_seg s[4];
  kidx__merge m;
  /* Sizes and counts at the top of uint64_t: levels stay in range and
   * nothing overflows (UBSan checks the float conversions). */
  s[0] = seg(UINT64_MAX, UINT64_MAX);
  s[1] = seg_dead(UINT64_MAX, UINT64_MAX, 1);
  s[2] = seg_dead(UINT64_MAX, 3, 1);
  /* F = 2: the top level, 43 (2^64 - 1 halved 43 times is below 2^21) */
  ck_assert_int_eq(plan(s, 3, 2, &m), 1);
  ck_assert_int_eq(m.reason, KIDX__MERGE_LEVEL);
  ck_assert_uint_eq(m.level, 43);
  static const size_t first_two[] = {0, 1};
  assert_which(&m, first_two, 2);
  /* F = 1000: no full level; the one with a third deleted */
  ck_assert_int_eq(plan(s, 3, 1000, &m), 1);
  ck_assert_int_eq(m.reason, KIDX__MERGE_DELETES);
  ck_assert_uint_eq(m.which[0], 2);
  ck_assert_uint_eq(m.level, 4);
  s[0] = seg(UINT64_MAX, 1);
  s[1] = seg(UINT64_MAX, 1);
  ck_assert_int_eq(plan(s, 2, 1000, &m), 0);
  /* ndead * 4 would wrap to 0 here: a quarter of 2^64 - 1 rounded up is
   * 2^62. */
  s[0] = seg_dead(MiB, UINT64_MAX, (uint64_t)1 << 62);
  ck_assert_int_eq(plan(s, 1, 10, &m), 1);
  ck_assert_int_eq(m.reason, KIDX__MERGE_DELETES);
  s[0].ndead = ((uint64_t)1 << 62) - 1;
  ck_assert_int_eq(plan(s, 1, 10, &m), 0);
  /* more deleted than there are documents counts as all deleted */
  s[0] = seg_dead(MiB, 10, 11);
  ck_assert_int_eq(plan(s, 1, 10, &m), 1);
  ck_assert_uint_eq(m.level, 0);
  /* a segment with no documents is level 0 and never rewritten */
  s[0] = seg(UINT64_MAX, 0);
  ck_assert_int_eq(plan(s, 1, 10, &m), 0);
}
END_TEST

START_TEST(test_merge_policy_factor_clamped) {
  /* Factors outside 2..1000 are clamped (0 or 1 would never end). */
  kidx__merge_seg s[2] = {seg(MiB, 1), seg(MiB, 1)};
  kidx__merge m;
  ck_assert_int_eq(plan(s, 2, 0, &m), 1);
  ck_assert_uint_eq(m.n, 2);
  ck_assert_int_eq(plan(s, 2, 1, &m), 1);
  ck_assert_uint_eq(m.n, 2);
  ck_assert_int_eq(kidx__merge_plan_next(s, 2, NULL, &m), 0); /* default */
  static kidx__merge_seg many[1001];
  for (size_t i = 0; i < 1001; i++)
    many[i] = seg(10, 1);
  ck_assert_int_eq(plan(many, 1001, 5000, &m), 1);
  ck_assert_uint_eq(m.n, KIDX__MERGE_FACTOR_MAX);
}
END_TEST

START_TEST(test_merge_policy_plan_all) {
  kidx__merge_seg s[3] = {seg(MiB, 5), seg_dead(MiB, 5, 1), seg(1, 1)};
  kidx__merge m = {which_buf, 0, KIDX__MERGE_NONE, 0};
  ck_assert_int_eq(kidx__merge_plan_all(s, 0, &m), 0);
  ck_assert_int_eq(kidx__merge_plan_all(s, 1, &m), 0);
  ck_assert_uint_eq(m.n, 0);
  ck_assert_int_eq(kidx__merge_plan_all(s + 1, 1, &m), 1);
  static const size_t one[] = {0};
  assert_which(&m, one, 1);
  ck_assert_int_eq(kidx__merge_plan_all(s, 3, &m), 1);
  ck_assert_int_eq(m.reason, KIDX__MERGE_ALL);
  static const size_t all[] = {0, 1, 2};
  assert_which(&m, all, 3);
}
END_TEST

static Suite *merge_policy_suite(void) {
  Suite *s = suite_create("merge_policy");
  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_merge_policy_no_merge_needed);
  tcase_add_test(core, test_merge_policy_full_level);
  tcase_add_test(core, test_merge_policy_tiers);
  tcase_add_test(core, test_merge_policy_level_boundaries);
  tcase_add_test(core, test_merge_policy_cascade);
  tcase_add_test(core, test_merge_policy_factor_2);
  tcase_add_test(core, test_merge_policy_small_flushes_share_level_0);
  tcase_add_test(core, test_merge_policy_deletions);
  tcase_add_test(core, test_merge_policy_deletions_lower_the_level);
  tcase_add_test(core, test_merge_policy_deletion_heavy_simulation);
  tcase_add_test(core, test_merge_policy_deterministic);
  tcase_add_test(core, test_merge_policy_same_as_before);
  tcase_add_test(core, test_merge_policy_plan_all);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("Limits");
  tcase_add_test(limits, test_merge_policy_huge_counts);
  tcase_add_test(limits, test_merge_policy_factor_clamped);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) {
  return tu_run_suite(merge_policy_suite());
}
