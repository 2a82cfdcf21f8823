/* Unit tests for postblock.c: the block postings codec of segment files
 * (writer, cursor, bounds, damage). */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

static uint64_t rng = 88172645463325252ull;

/* Check's ck_assert_* report each assertion through a pipe: in loops of
 * millions of comparisons, test plainly and abort on failure. */
#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond))                                                               \
      ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);                    \
  } while (0)

static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

/* One list of the model: n entries with their fields' lengths. */
typedef struct entry {
  uint32_t doc, tf, title, len[2];
} entry;

/* A random list of n entries below limit; tf up to maxtf. */
static entry *random_list(uint32_t n, uint32_t limit, uint32_t maxtf) {
  entry *e = calloc(n ? n : 1, sizeof *e);
  uint32_t doc = next_rand() % 3;
  for (uint32_t i = 0; i < n; i++) {
    /* Mostly dense, sometimes long jumps. */
    uint32_t gap = next_rand() % 8 == 0 ? next_rand() % 5000 : next_rand() % 4;
    doc += i ? gap + 1 : gap;
    e[i].doc = doc;
    e[i].tf = 1 + next_rand() % maxtf;
    e[i].title = next_rand() % 3 == 0 ? next_rand() % (e[i].tf + 1) : 0;
    e[i].len[0] = e[i].title + next_rand() % 10;
    e[i].len[1] = e[i].tf - e[i].title + next_rand() % 500;
  }
  (void)limit;
  return e;
}

/* The bounds' models: a made-up segment of 1000 documents averaging 4
 * title and 300 body terms. */
static kidx__pmodels test_models;
static const uint64_t test_tokens[2] = {4000, 300000};

static void setup_models(void) {
  kidx__pmodels_init(&test_models, 1000, test_tokens);
}

/* tfc of an entry under rank r's defaults, computed here from the
 * formula (doc/FORMAT.md), rounded up to the bound's 16-bit float. */
static uint16_t model_tfc(const entry *e, int r) {
  double b = r == KIDX_RANK_BM25 ? 0.75 : 0.2, w[2] = {2.0, 1.0}, tfc = 0;
  uint32_t tf[2] = {e->title, e->tf - e->title};
  for (int f = 0; f < 2; f++)
    if (tf[f])
      tfc += w[f] * tf[f] /
             ((1.0 - b) + b * (double)e->len[f] / (test_tokens[f] / 1000.0));
  return kidx__tfc_encode(tfc);
}

/* Positions of entry i: title ones from 0, body ones after the title. */
static void positions_of(const entry *e, uint32_t *pos) {
  for (uint32_t k = 0; k < e->tf; k++)
    pos[k] = k < e->title ? k : e->len[0] + 1 + (k - e->title) * 3;
}

/* Encodes the list into one contiguous buffer. */
static uint8_t *encode(const entry *e, uint32_t n, size_t *len) {
  kidx__pwriter w;
  kidx__pwriter_init(&w, &test_models);
  uint32_t *pos = malloc(sizeof *pos * 4096);
  for (uint32_t i = 0; i < n; i++) {
    positions_of(&e[i], pos);
    ck_assert_int_eq(
        kidx__pwriter_add(&w, e[i].doc, pos, e[i].tf, e[i].title, e[i].len),
        KIDX_OK);
  }
  ck_assert_int_eq(kidx__pwriter_finish(&w), KIDX_OK);
  ck_assert_uint_eq(w.df, n);
  *len = (size_t)kidx__pwriter_size(&w);
  uint8_t *out = malloc(*len), *p = out;
  memcpy(p, w.head.p, w.head.n);
  p += w.head.n;
  memcpy(p, w.table.p, w.table.n);
  p += w.table.n;
  memcpy(p, w.docs.p, w.docs.n);
  p += w.docs.n;
  memcpy(p, w.pos.p, w.pos.n);
  kidx__pwriter_free(&w);
  free(pos);
  return out;
}

/* The bound of entries [from, to) as the codec defines it. */
static void model_bound(const entry *e, uint32_t from, uint32_t to,
                        kidx__pbound *b) {
  kidx__pbound_clear(b);
  for (uint32_t i = from; i < to; i++) {
    uint32_t tf[2] = {e[i].title, e[i].tf - e[i].title};
    for (int f = 0; f < 2; f++) {
      if (!tf[f])
        continue;
      if (tf[f] > b->max_tf[f])
        b->max_tf[f] = tf[f];
      if (!b->tf[f] ||
          (uint64_t)e[i].len[f] * b->tf[f] < (uint64_t)b->len[f] * tf[f]) {
        b->len[f] = e[i].len[f];
        b->tf[f] = tf[f];
      }
    }
    for (int r = 0; r < KIDX__NMODELS; r++)
      if (model_tfc(&e[i], r) > b->tfc_max[r])
        b->tfc_max[r] = model_tfc(&e[i], r);
  }
}

/* The bound a cursor must give for entries [from, to) of a list of n:
 * the codec's, or the open bound when the list stores none (one block). */
static void expect_bound(const entry *e, uint32_t from, uint32_t to, uint32_t n,
                         kidx__pbound *b) {
  if (n <= KIDX__BLOCK)
    kidx__pbound_open(b);
  else
    model_bound(e, from, to, b);
}

START_TEST(test_roundtrip_all_sizes) {
  /* 130, 131, 135: a last block of a few entries, stored as varints, with
   * gaps and (random_list gives a third of the entries one) titles. */
  static const uint32_t sizes[] = {1,   2,   127, 128, 129, 130,
                                   131, 135, 255, 256, 257, 1000};
  uint32_t pos[4096], want[4096];
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    uint32_t n = sizes[s];
    entry *e = random_list(n, UINT32_MAX, s % 2 ? 3 : 300);
    size_t len;
    uint8_t *data = encode(e, n, &len);
    kidx__pcur *c = malloc(sizeof *c);
    uint64_t limit = (uint64_t)e[n - 1].doc + 1;
    EXPECT((kidx__pcur_init(c, data, len, n, limit)) == (KIDX_OK));
    kidx__pbound b;
    expect_bound(e, 0, n, n, &b);
    EXPECT(kidx__pbound_equal(&b, &c->list_bound));
    EXPECT(kidx__pcur_has_bounds(c) == (n > KIDX__BLOCK));
    for (uint32_t i = 0; i < n; i++) {
      EXPECT((kidx__pcur_next(c)) == (1));
      EXPECT((c->doc) == (e[i].doc));
      EXPECT((c->tf) == (e[i].tf));
      EXPECT((c->tf_title) == (e[i].title));
      /* Every block's bound, checked at its first entry. */
      if (i % KIDX__BLOCK == 0) {
        uint32_t to = i + KIDX__BLOCK < n ? i + KIDX__BLOCK : n;
        expect_bound(e, i, to, n, &b);
        EXPECT(kidx__pbound_equal(&b, &c->blk_bound));
        EXPECT((c->last) == (e[to - 1].doc));
      }
      /* Positions of every other entry only: the others are skipped. */
      if (i % 2 == 0 || i + 1 == n || (i + 1) % KIDX__BLOCK == 0) {
        EXPECT((kidx__pcur_positions(c, pos)) == (KIDX_OK));
        positions_of(&e[i], want);
        EXPECT(memcmp(pos, want, e[i].tf * sizeof *pos) == 0);
      }
    }
    EXPECT((kidx__pcur_next(c)) == (0));
    EXPECT((kidx__pcur_next(c)) == (0));
    EXPECT(kidx__pcur_list_done(c));
    /* A document limit at the last document is damage: seen at once by
     * a list of one block (its head has the last document), else when
     * the last block is reached. */
    int rc = kidx__pcur_init(c, data, len, n, limit - 1);
    EXPECT((rc == KIDX_OK) == (n > KIDX__BLOCK));
    if (rc == KIDX_OK)
      while ((rc = kidx__pcur_next(c)) == 1)
        ;
    EXPECT((rc) == (KIDX_ECORRUPT));
    free(c);
    free(data);
    free(e);
  }
}
END_TEST

START_TEST(test_advance_and_shallow_match_a_scan) {
  uint32_t n = 2000;
  entry *e = random_list(n, UINT32_MAX, 20);
  size_t len;
  uint8_t *data = encode(e, n, &len);
  uint64_t limit = (uint64_t)e[n - 1].doc + 1;
  kidx__pcur *c = malloc(sizeof *c);
  uint32_t pos[4096], want[4096];
  for (int round = 0; round < 200; round++) {
    EXPECT((kidx__pcur_init(c, data, len, n, limit)) == (KIDX_OK));
    uint64_t target = 0;
    uint32_t i = 0;
    for (;;) {
      target += next_rand() % (round % 2 ? 50 : 3000);
      /* Shallow first, sometimes: it must describe the block that holds
       * the next entry >= target, and not move the entries. */
      while (i < n && e[i].doc < target)
        i++;
      if (next_rand() % 2) {
        int s = kidx__pcur_shallow(c, target);
        EXPECT((s) == (i < n));
        if (s) {
          uint32_t blk = i / KIDX__BLOCK;
          uint32_t last = (blk + 1) * KIDX__BLOCK < n
                              ? e[(blk + 1) * KIDX__BLOCK - 1].doc
                              : e[n - 1].doc;
          EXPECT((c->last) == (last));
        }
      }
      int r = kidx__pcur_advance(c, target);
      if (i == n) {
        EXPECT((r) == (0));
        break;
      }
      EXPECT((r) == (1));
      EXPECT((c->doc) == (e[i].doc));
      EXPECT((c->tf) == (e[i].tf));
      if (next_rand() % 4 == 0) {
        EXPECT((kidx__pcur_positions(c, pos)) == (KIDX_OK));
        positions_of(&e[i], want);
        EXPECT(memcmp(pos, want, e[i].tf * sizeof *pos) == 0);
      }
      /* Advancing to the current document stays on it. */
      EXPECT((kidx__pcur_advance(c, c->doc)) == (1));
      EXPECT((c->doc) == (e[i].doc));
    }
  }
  free(c);
  free(data);
  free(e);
}
END_TEST

/* Decodes everything, positions included. */
static int walk(const uint8_t *p, size_t n, uint32_t df, uint64_t limit) {
  static kidx__pcur cur;
  static uint32_t pos[4096];
  kidx__pcur *c = &cur;
  int rc = kidx__pcur_init(c, p, n, df, limit);
  while (rc == KIDX_OK && (rc = kidx__pcur_next(c)) == 1) {
    if (c->tf > 4096)
      rc = KIDX_ECORRUPT;
    else
      rc = kidx__pcur_positions(c, pos);
  }
  if (rc == 0 && !kidx__pcur_list_done(c))
    rc = 2; /* decoded, but bytes left over: only check sees it */
  return rc;
}

START_TEST(test_every_flip_and_truncation_is_safe) {
  /* Lists of several blocks (the last one, of 3 entries, as varints when
   * shorter), and lists of one block (no table, no bound), varints or
   * packed. */
  static const uint32_t sizes[] = {300, 1, 2, 7, 128, 131};
  uint32_t n = sizes[_i];
  entry *e = random_list(n, UINT32_MAX, 4);
  size_t len;
  uint8_t *data = encode(e, n, &len);
  uint64_t limit = (uint64_t)e[n - 1].doc + 1;
  ck_assert_int_eq(walk(data, len, n, limit), 0);
  ck_assert_int_eq(walk(data, len, n + 1, limit), KIDX_ECORRUPT);
  ck_assert_int_eq(walk(data, len, n - 1, limit), KIDX_ECORRUPT);
  for (size_t cut = 0; cut < len; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1); /* ASan sees any overread */
    memcpy(copy, data, cut);
    int rc = walk(copy, cut, n, limit);
    ck_assert_msg(rc != 0, "truncation at %zu decoded", cut);
    free(copy);
  }
  uint8_t *copy = malloc(len);
  for (size_t i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit++) {
      memcpy(copy, data, len);
      copy[i] ^= (uint8_t)(1u << bit);
      int rc = walk(copy, len, n, limit);
      ck_assert_msg(rc == 0 || rc == 2 || rc == KIDX_ECORRUPT,
                    "flip %zu.%d: %d", i, bit, rc);
    }
  free(copy);
  free(data);
  free(e);
}
END_TEST

START_TEST(test_random_bytes_never_crash) {
  uint8_t buf[96];
  for (int round = 0; round < 100000; round++) {
    size_t n = (size_t)(round % 96);
    for (size_t i = 0; i < n; i++)
      buf[i] = (uint8_t)next_rand();
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    int rc = walk(copy, n, 1 + next_rand() % 300, 1 + next_rand() % 100000);
    free(copy);
    if (rc != 0 && rc != 2 && rc != KIDX_ECORRUPT)
      ck_abort_msg("round %d: rc %d", round, rc);
  }
}
END_TEST

START_TEST(test_positions_survive_a_shallow_move) {
  /* The decoded block's positions stay readable after the table cursor
   * moved on (kidx__pcur_shallow), and read twice give the same. */
  uint32_t n = 600;
  entry *e = random_list(n, UINT32_MAX, 300);
  size_t len;
  uint8_t *data = encode(e, n, &len);
  kidx__pcur *c = malloc(sizeof *c);
  uint32_t pos[4096], want[4096];
  ck_assert_int_eq(kidx__pcur_init(c, data, len, n, UINT32_MAX), KIDX_OK);
  ck_assert_int_eq(kidx__pcur_advance(c, e[42].doc), 1);
  positions_of(&e[42], want);
  ck_assert_int_eq(kidx__pcur_positions(c, pos), KIDX_OK);
  ck_assert_mem_eq(pos, want, e[42].tf * sizeof *pos);
  ck_assert_int_eq(kidx__pcur_shallow(c, (uint64_t)e[400].doc), 1);
  ck_assert_int_eq(kidx__pcur_positions(c, pos), KIDX_OK);
  ck_assert_mem_eq(pos, want, e[42].tf * sizeof *pos);
  free(c);
  free(data);
  free(e);
}
END_TEST

START_TEST(test_strict_rejects_long_varints) {
  /* The head's first varint (the block data's length) re-encoded in one
   * byte more: it decodes to the same, so only the strict cursor, which
   * check.c uses, may refuse it -- and must. */
  uint32_t n = 5;
  entry *e = random_list(n, UINT32_MAX, 3);
  size_t len;
  uint8_t *data = encode(e, n, &len);
  ck_assert_uint_lt(data[0], 0x80); /* one byte: a short list */
  uint8_t *longer = malloc(len + 1);
  longer[0] = (uint8_t)(data[0] | 0x80);
  longer[1] = 0;
  memcpy(longer + 2, data + 1, len - 1);
  kidx__pcur *c = malloc(sizeof *c);
  ck_assert_int_eq(kidx__pcur_init(c, longer, len + 1, n, UINT32_MAX), KIDX_OK);
  ck_assert_int_eq(kidx__pcur_init_strict(c, longer, len + 1, n, UINT32_MAX),
                   KIDX_ECORRUPT);
  ck_assert_int_eq(kidx__pcur_init_strict(c, data, len, n, UINT32_MAX),
                   KIDX_OK);
  free(c);
  free(longer);
  free(data);
  free(e);
}
END_TEST

/* A list of one entry takes its head (data length, last document + 1),
 * one varint block (mark, tf) and one position chunk: no table, no
 * bound, no packing widths. */
START_TEST(test_small_lists_are_small) {
  entry e = {.doc = 1000, .tf = 1, .title = 0, .len = {3, 40}};
  size_t len;
  uint8_t *data = encode(&e, 1, &len);
  /* 1 (data length) + 2 (1001) + 2 (block: mark, x) + 3 (chunk) */
  ck_assert_uint_eq(len, 8);
  ck_assert_uint_eq(data[3], 255); /* the varint block's mark */
  kidx__pcur c;
  ck_assert_int_eq(kidx__pcur_init_strict(&c, data, len, 1, 2000), KIDX_OK);
  ck_assert_int_eq(kidx__pcur_next(&c), 1);
  ck_assert_uint_eq(c.doc, 1000);
  ck_assert_uint_eq(c.tf, 1);
  ck_assert_uint_eq(c.tf_title, 0);
  ck_assert_int_eq(kidx__pcur_next(&c), 0);
  ck_assert(kidx__pcur_list_done(&c));
  free(data);
  /* Three entries with title counts, as varints: each decodes as
   * written. */
  entry three[3] = {{.doc = 5, .tf = 3, .title = 2, .len = {4, 9}},
                    {.doc = 9, .tf = 1, .title = 1, .len = {2, 7}},
                    {.doc = 20, .tf = 2, .title = 0, .len = {1, 8}}};
  data = encode(three, 3, &len);
  ck_assert_uint_eq(data[2], 255); /* after the head's two one-byte varints */
  ck_assert_int_eq(kidx__pcur_init_strict(&c, data, len, 3, 30), KIDX_OK);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(kidx__pcur_next(&c), 1);
    ck_assert_uint_eq(c.doc, three[i].doc);
    ck_assert_uint_eq(c.tf, three[i].tf);
    ck_assert_uint_eq(c.tf_title, three[i].title);
  }
  ck_assert_int_eq(kidx__pcur_next(&c), 0);
  free(data);
  /* A full block of dense documents is packed, and smaller so. */
  entry *many = random_list(KIDX__BLOCK, UINT32_MAX, 2);
  data = encode(many, KIDX__BLOCK, &len);
  uint64_t dlen;
  const uint8_t *p = data;
  ck_assert_int_eq(kidx__varint_get(&p, data + len, &dlen), 0);
  uint64_t last1;
  ck_assert_int_eq(kidx__varint_get(&p, data + len, &last1), 0);
  ck_assert_uint_eq(last1, many[KIDX__BLOCK - 1].doc + 1);
  ck_assert_uint_le(*p, 32); /* a title width: packed */
  free(data);
  free(many);
}
END_TEST

/* Appends v as a varint at *p. */
static void put_var(uint8_t **p, uint64_t v) {
  *p += kidx__varint_encode(*p, v);
}

/* Lists of one block whose block contradicts the head: each decodes to
 * entries, so only the checks on the documents can refuse them. */
START_TEST(test_crafted_blocks_are_refused) {
  /* Varints, df 2: a gap of 99 puts the first entry on the last document
   * (99), which the second entry is: the same document twice. */
  static const uint8_t same[] = {4, 100, 255, 99, 0, 0, 0, 0};
  /* Packed, df 2: documents 0 and 1, where the head says the last is 99;
   * an advance past 1 would scan off the block's end. */
  static const uint8_t short_blk[] = {5, 100, 0, 0, 0, 0, 0, 0, 0};
  kidx__pcur c;
  ck_assert_int_eq(kidx__pcur_init(&c, same, sizeof same, 2, 200), KIDX_OK);
  ck_assert_int_eq(kidx__pcur_next(&c), KIDX_ECORRUPT);
  ck_assert_int_eq(kidx__pcur_init(&c, short_blk, sizeof short_blk, 2, 200),
                   KIDX_OK);
  ck_assert_int_eq(kidx__pcur_advance(&c, 50), KIDX_ECORRUPT);
  ck_assert_int_eq(kidx__pcur_init(&c, short_blk, sizeof short_blk, 2, 200),
                   KIDX_OK);
  ck_assert_int_eq(kidx__pcur_next(&c), KIDX_ECORRUPT);
}
END_TEST

/* A list of one block is re-coded the other way -- packed where the
 * writer chose varints, varints where it chose packing: it decodes to
 * the same entries, so the normal cursor accepts it, but check's strict
 * cursor must refuse it (every list has one encoding). */
START_TEST(test_strict_rejects_the_other_block_coding) {
  uint8_t buf[4096];
  /* One entry, doc 1000, tf 1: the writer uses varints; here packed. */
  entry e = {.doc = 1000, .tf = 1, .title = 0, .len = {3, 40}};
  size_t len;
  uint8_t *data = encode(&e, 1, &len);
  const uint8_t *pos = data + 5; /* after head (3) and block (2) */
  uint8_t blk[] = {0 /* wh */,          10, 0, 1000 & 0xFF,
                   1000 >> 8 /* gap */, 0,  0 /* tf - 1: width 0 */};
  uint8_t *p = buf;
  put_var(&p, sizeof blk);
  put_var(&p, 1001);
  memcpy(p, blk, sizeof blk);
  p += sizeof blk;
  memcpy(p, pos, (size_t)(data + len - pos));
  p += data + len - pos;
  kidx__pcur c;
  size_t blen = (size_t)(p - buf);
  ck_assert_int_eq(kidx__pcur_init(&c, buf, blen, 1, 2000), KIDX_OK);
  ck_assert_int_eq(kidx__pcur_next(&c), 1);
  ck_assert_uint_eq(c.doc, 1000);
  ck_assert_uint_eq(c.tf, 1);
  ck_assert_int_eq(kidx__pcur_init_strict(&c, buf, blen, 1, 2000), KIDX_OK);
  ck_assert_int_eq(kidx__pcur_next(&c), KIDX_ECORRUPT);
  free(data);
  /* A full block of consecutive documents, tf 1: packed by the writer
   * (gaps of width 0); here as varints. */
  entry many[KIDX__BLOCK];
  for (uint32_t i = 0; i < KIDX__BLOCK; i++)
    many[i] = (entry){.doc = i, .tf = 1, .title = 0, .len = {1, 5}};
  data = encode(many, KIDX__BLOCK, &len);
  const uint8_t *q = data;
  uint64_t dlen, last1;
  ck_assert_int_eq(kidx__varint_get(&q, data + len, &dlen), 0);
  ck_assert_int_eq(kidx__varint_get(&q, data + len, &last1), 0);
  ck_assert_uint_eq(*q, 0); /* packed, title width 0 */
  pos = q + dlen;
  uint8_t vb[2 * KIDX__BLOCK + 1], *v = vb;
  *v++ = 255;
  for (uint32_t i = 0; i + 1 < KIDX__BLOCK; i++)
    *v++ = 0; /* gaps */
  for (uint32_t i = 0; i < KIDX__BLOCK; i++)
    *v++ = 0; /* tf 1, no title */
  p = buf;
  put_var(&p, (uint64_t)(v - vb));
  put_var(&p, last1);
  memcpy(p, vb, (size_t)(v - vb));
  p += v - vb;
  memcpy(p, pos, (size_t)(data + len - pos));
  p += data + len - pos;
  blen = (size_t)(p - buf);
  ck_assert_int_eq(kidx__pcur_init(&c, buf, blen, KIDX__BLOCK, 2000), KIDX_OK);
  for (uint32_t i = 0; i < KIDX__BLOCK; i++) {
    ck_assert_int_eq(kidx__pcur_next(&c), 1);
    ck_assert_uint_eq(c.doc, i);
    ck_assert_uint_eq(c.tf, 1);
  }
  ck_assert_int_eq(kidx__pcur_next(&c), 0);
  ck_assert_int_eq(kidx__pcur_init_strict(&c, buf, blen, KIDX__BLOCK, 2000),
                   KIDX_OK);
  ck_assert_int_eq(kidx__pcur_next(&c), KIDX_ECORRUPT);
  free(data);
}
END_TEST

/* The bounds' 16-bit floats: every code decodes and encodes back to
 * itself, codes are ordered as their values, and encoding rounds up by
 * less than one unit of the 10-bit mantissa. */
START_TEST(test_tfc_codes) {
  double prev = -1.0;
  for (uint32_t c = 0; c <= (63u << 10); c++) {
    double x = kidx__tfc_decode((uint16_t)c);
    if (!(x > prev) || kidx__tfc_encode(x) != c)
      ck_abort_msg("code %u decodes to %g", c, x);
    prev = x;
  }
  ck_assert(isinf(kidx__tfc_decode(63u << 10)));
  ck_assert_uint_eq(kidx__tfc_encode(0.0), 0);
  ck_assert_uint_eq(kidx__tfc_encode(1e300), 63u << 10);
  for (int i = 0; i < 1000000; i++) {
    /* Random doubles over the whole useful range. */
    double x =
        ldexp(1.0 + next_rand() / 4294967296.0, (int)(next_rand() % 62) - 32);
    double y = kidx__tfc_decode(kidx__tfc_encode(x));
    if (!(y >= x) || !(y <= x * (1.0 + 1.0 / 1024)))
      ck_abort_msg("%.17g encodes as %.17g", x, y);
  }
}
END_TEST

/* ---- lists checked as they are read (kidx__pcur_init_checked) ---- */

/* A list whose bytes the cursor sees only once vouched for: the cursor
 * reads `shown`, poison until the check copies the real bytes of a range
 * into it, so a byte read unchecked decodes wrong.  `bad` (or SIZE_MAX)
 * is a byte the check refuses to vouch for. */
typedef struct shadow {
  const uint8_t *real;
  uint8_t *shown;
  size_t len;
  size_t bad;
  size_t vouched; /* bytes asked for, in all */
  uint8_t *seen;  /* per byte: asked for at least once */
} shadow;

static int shadow_check(const void *ctx, const uint8_t *p, size_t len) {
  shadow *s = (shadow *)(uintptr_t)ctx;
  size_t off = (size_t)(p - s->shown);
  EXPECT(off <= s->len && len <= s->len - off);
  if (s->bad >= off && s->bad - off < len)
    return KIDX_ECORRUPT;
  memcpy(s->shown + off, s->real + off, len);
  memset(s->seen + off, 1, len);
  s->vouched += len;
  return KIDX_OK;
}

static void shadow_init(shadow *s, const uint8_t *data, size_t len) {
  s->real = data;
  s->len = len;
  s->shown = malloc(len);
  s->seen = calloc(len, 1);
  for (size_t i = 0; i < len; i++)
    s->shown[i] = (uint8_t)(0xA5 ^ next_rand());
  s->bad = SIZE_MAX;
  s->vouched = 0;
}

static void shadow_free(shadow *s) {
  free(s->shown);
  free(s->seen);
}

/* Bytes of [from, to) that were vouched for. */
static size_t seen_in(const shadow *s, size_t from, size_t to) {
  size_t n = 0;
  for (size_t i = from; i < to; i++)
    n += s->seen[i];
  return n;
}

START_TEST(test_checked_reads_only_what_it_vouched_for) {
  /* Every operation of the cursor, at random, on a list it only sees
   * through the check: any byte read before being vouched for would be
   * poison, and the answers would differ from the model's. */
  uint32_t n = 3000;
  entry *e = random_list(n, UINT32_MAX, 40);
  size_t len;
  uint8_t *data = encode(e, n, &len);
  uint64_t limit = (uint64_t)e[n - 1].doc + 1;
  kidx__pcur *c = malloc(sizeof *c);
  uint32_t pos[4096], want[4096];
  for (int round = 0; round < 50; round++) {
    shadow sh;
    shadow_init(&sh, data, len);
    EXPECT(kidx__pcur_init_checked(c, sh.shown, len, n, limit, shadow_check,
                                   &sh) == KIDX_OK);
    kidx__pbound b;
    expect_bound(e, 0, n, n, &b);
    EXPECT(kidx__pbound_equal(&b, &c->list_bound));
    EXPECT(kidx__pcur_has_bounds(c) == (n > KIDX__BLOCK));
    uint32_t i = 0; /* the entry the cursor should be on next */
    int started = 0;
    for (;;) {
      int r;
      if (next_rand() % 3 == 0) {
        i += started;
        r = kidx__pcur_next(c);
      } else {
        uint64_t target =
            (started ? e[i].doc : 0) + next_rand() % (round % 2 ? 40 : 4000);
        while (i < n && e[i].doc < target)
          i++;
        if (next_rand() % 2)
          EXPECT(kidx__pcur_shallow(c, target) == (i < n));
        r = kidx__pcur_advance(c, target);
      }
      started = 1;
      if (i >= n) {
        EXPECT(r == 0);
        break;
      }
      EXPECT(r == 1);
      /* A checked cursor is lazy: frequencies once asked for. */
      EXPECT(c->doc == e[i].doc && kidx__pcur_freqs(c) == KIDX_OK &&
             c->tf == e[i].tf && c->tf_title == e[i].title);
      if (next_rand() % 3 == 0) {
        EXPECT(kidx__pcur_positions(c, pos) == KIDX_OK);
        positions_of(&e[i], want);
        EXPECT(memcmp(pos, want, e[i].tf * sizeof *pos) == 0);
      }
    }
    EXPECT(sh.vouched > 0);
    shadow_free(&sh);
  }
  free(c);
  free(data);
  free(e);
}
END_TEST

/* The part sizes of an encoded list: head + table, then block data, then
 * positions. */
static void parts(const uint8_t *data, size_t len, uint32_t n, size_t *docs,
                  size_t *poss) {
  kidx__pcur *c = malloc(sizeof *c);
  ck_assert_int_eq(kidx__pcur_init(c, data, len, n, UINT32_MAX), KIDX_OK);
  *docs = (size_t)(c->docs - data);
  *poss = (size_t)(c->poss - data);
  free(c);
}

START_TEST(test_checked_skips_are_never_vouched_for) {
  /* A search that jumps to the list's last document decodes one block:
   * the others' data, and every position when none is asked for, are
   * never vouched for (nor used: bit unpacking may load up to 8 bytes
   * past a block's values, whose bits it masks off). */
  uint32_t n = 40 * KIDX__BLOCK;
  entry *e = random_list(n, UINT32_MAX, 30);
  size_t len, docs, poss;
  uint8_t *data = encode(e, n, &len);
  parts(data, len, n, &docs, &poss);
  kidx__pcur *c = malloc(sizeof *c);
  shadow sh;
  shadow_init(&sh, data, len);
  ck_assert_int_eq(kidx__pcur_init_checked(c, sh.shown, len, n, UINT32_MAX,
                                           shadow_check, &sh),
                   KIDX_OK);
  ck_assert_int_eq(kidx__pcur_advance(c, e[n - 1].doc), 1);
  ck_assert_uint_eq(c->doc, e[n - 1].doc);
  /* The table was walked, the last block's data read, and nothing else. */
  ck_assert_uint_eq(seen_in(&sh, 0, docs), docs);
  ck_assert_uint_eq(seen_in(&sh, docs, poss), c->doc_len);
  ck_assert_uint_eq(seen_in(&sh, docs, docs + (size_t)c->doc_off), 0);
  ck_assert_uint_eq(seen_in(&sh, poss, len), 0);
  /* Its positions: the last block's only. */
  uint32_t pos[4096], want[4096];
  ck_assert_int_eq(kidx__pcur_positions(c, pos), KIDX_OK);
  positions_of(&e[n - 1], want);
  ck_assert_mem_eq(pos, want, e[n - 1].tf * sizeof *pos);
  ck_assert_uint_eq(seen_in(&sh, poss, len), c->pos_len);
  ck_assert_uint_eq(seen_in(&sh, poss, poss + (size_t)c->pos_off), 0);
  shadow_free(&sh);
  free(c);
  free(data);
  free(e);
}
END_TEST

START_TEST(test_checked_positions_after_shallow) {
  /* Block 0's entries have 200 positions each, block 1's one: after the
   * table moved on to block 1 (kidx__pcur_shallow), the positions of
   * block 0's last entry are still read whole, every byte vouched for
   * (block 1's shorter length once limited the check). */
  uint32_t n = 2 * KIDX__BLOCK;
  entry *e = calloc(n, sizeof *e);
  for (uint32_t i = 0; i < n; i++) {
    e[i].doc = 3 * i;
    e[i].tf = i < KIDX__BLOCK ? 200 : 1;
    e[i].len[1] = 3 * e[i].tf + 1;
  }
  size_t len;
  uint8_t *data = encode(e, n, &len);
  kidx__pcur *c = malloc(sizeof *c);
  shadow sh;
  shadow_init(&sh, data, len);
  ck_assert_int_eq(kidx__pcur_init_checked(c, sh.shown, len, n, UINT32_MAX,
                                           shadow_check, &sh),
                   KIDX_OK);
  ck_assert_int_eq(kidx__pcur_advance(c, e[KIDX__BLOCK - 1].doc), 1);
  ck_assert_int_eq(kidx__pcur_shallow(c, e[KIDX__BLOCK].doc), 1);
  uint32_t pos[256], want[256];
  ck_assert_int_eq(kidx__pcur_positions(c, pos), KIDX_OK);
  positions_of(&e[KIDX__BLOCK - 1], want);
  ck_assert_mem_eq(pos, want, 200 * sizeof *pos);
  shadow_free(&sh);
  free(c);
  free(data);
  free(e);
}
END_TEST

START_TEST(test_checked_refusal_is_corruption_where_read) {
  /* A refused byte in block 5's data: advancing past block 5 works, and
   * so does every later block; reading block 5 is KIDX_ECORRUPT.  A
   * refused byte among block 5's positions: its entries decode, their
   * positions do not. */
  uint32_t n = 12 * KIDX__BLOCK;
  entry *e = random_list(n, UINT32_MAX, 10);
  size_t len, docs, poss;
  uint8_t *data = encode(e, n, &len);
  parts(data, len, n, &docs, &poss);
  kidx__pcur *c = malloc(sizeof *c);
  uint32_t pos[4096];
  uint32_t in5 = 5 * KIDX__BLOCK + 3, in7 = 7 * KIDX__BLOCK + 1;
  for (int where = 0; where < 2; where++) {
    /* Block 5's offsets, from an unchecked cursor. */
    ck_assert_int_eq(kidx__pcur_init(c, data, len, n, UINT32_MAX), KIDX_OK);
    ck_assert_int_eq(kidx__pcur_advance(c, e[in5].doc), 1);
    size_t bad = where == 0 ? docs + (size_t)c->doc_off + c->doc_len / 2
                            : poss + (size_t)c->pos_off + c->pos_len / 2;
    shadow sh;
    shadow_init(&sh, data, len);
    sh.bad = bad;
    ck_assert_int_eq(kidx__pcur_init_checked(c, sh.shown, len, n, UINT32_MAX,
                                             shadow_check, &sh),
                     KIDX_OK);
    ck_assert_int_eq(kidx__pcur_advance(c, e[3].doc), 1);
    ck_assert_int_eq(kidx__pcur_positions(c, pos), KIDX_OK);
    if (where == 0) {
      /* Block 5 skipped: fine; block 7 decodes. */
      ck_assert_int_eq(kidx__pcur_advance(c, e[in7].doc), 1);
      ck_assert_uint_eq(c->doc, e[in7].doc);
      ck_assert_int_eq(kidx__pcur_positions(c, pos), KIDX_OK);
      ck_assert_int_eq(kidx__pcur_init_checked(c, sh.shown, len, n, UINT32_MAX,
                                               shadow_check, &sh),
                       KIDX_OK);
      ck_assert_int_eq(kidx__pcur_advance(c, e[in5].doc), KIDX_ECORRUPT);
    } else {
      ck_assert_int_eq(kidx__pcur_advance(c, e[in5].doc), 1);
      ck_assert_uint_eq(c->doc, e[in5].doc);
      ck_assert_int_eq(kidx__pcur_positions(c, pos), KIDX_ECORRUPT);
      /* The next block's positions are not the refused ones. */
      ck_assert_int_eq(kidx__pcur_advance(c, e[6 * KIDX__BLOCK].doc), 1);
      ck_assert_int_eq(kidx__pcur_positions(c, pos), KIDX_OK);
    }
    shadow_free(&sh);
  }
  /* A refused head: the list does not open. */
  shadow sh;
  shadow_init(&sh, data, len);
  sh.bad = 0;
  ck_assert_int_eq(kidx__pcur_init_checked(c, sh.shown, len, n, UINT32_MAX,
                                           shadow_check, &sh),
                   KIDX_ECORRUPT);
  shadow_free(&sh);
  free(c);
  free(data);
  free(e);
}
END_TEST

static Suite *postblock_suite(void) {
  Suite *s = suite_create("postblock");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, 120);
  tcase_add_test(core, test_tfc_codes);
  tcase_add_test(core, test_roundtrip_all_sizes);
  tcase_add_test(core, test_small_lists_are_small);
  tcase_add_test(core, test_advance_and_shallow_match_a_scan);
  tcase_add_test(core, test_positions_survive_a_shallow_move);
  tcase_add_test(core, test_checked_reads_only_what_it_vouched_for);
  tcase_add_test(core, test_checked_skips_are_never_vouched_for);
  tcase_add_test(core, test_checked_positions_after_shallow);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, 120);
  tcase_add_loop_test(errors, test_every_flip_and_truncation_is_safe, 0, 6);
  tcase_add_test(errors, test_crafted_blocks_are_refused);
  tcase_add_test(errors, test_strict_rejects_the_other_block_coding);
  tcase_add_test(errors, test_random_bytes_never_crash);
  tcase_add_test(errors, test_strict_rejects_long_varints);
  tcase_add_test(errors, test_checked_refusal_is_corruption_where_read);
  suite_add_tcase(s, errors);
  return s;
}

int main(void) {
  setup_models();
  return tu_run_suite(postblock_suite());
}
