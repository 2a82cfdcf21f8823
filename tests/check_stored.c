/* Stored text in compressed blocks (segment sections 4 and 5,
 * doc/FORMAT.md): documents of every size come back exactly as added,
 * through flushes, merges and deletions; blocks are cut where the format
 * says, compressed when that pays and raw otherwise; and damage to a
 * block or to the block table is reported by fetches (KIDX_ECORRUPT,
 * naming the file and the section) and by kidx_reader_check, never a
 * crash, while documents of other blocks stay readable. */
#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static char *dir;

static void setup(void) {
  dir = tu_mkdtemp();
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
}

/* ---- documents ---- */

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static const char *const words[] = {
    "kernel", "driver", "memory", "page",  "the",    "of",     "device",
    "lock",   "buffer", "queue",  "a",     "is",     "to",     "interrupt",
    "thread", "cache",  "file",   "block", "struct", "return", "value"};

/* Document i's title and body (malloc'ed), deterministic: sizes chosen to
 * cover empty fields, tiny records, records near the block size and one
 * document several blocks long, text that compresses and letters that do
 * not. */
typedef struct doc {
  char id[32];
  char *title, *body;
  size_t title_len, body_len;
  int live;
} doc;

static char *words_text(uint64_t *seed, size_t len) {
  char *t = malloc(len + 1);
  ck_assert_ptr_nonnull(t);
  size_t n = 0;
  while (n < len) {
    const char *w = words[rng_next(seed) % (sizeof words / sizeof *words)];
    for (size_t k = 0; w[k] && n < len; k++)
      t[n++] = w[k];
    if (n < len)
      t[n++] = ' ';
  }
  t[len] = 0;
  return t;
}

/* Random printable ASCII: 4-byte repeats are too rare for LZ to pay. */
static char *random_letters(uint64_t *seed, size_t len) {
  char *t = malloc(len + 1);
  ck_assert_ptr_nonnull(t);
  for (size_t i = 0; i < len; i++)
    t[i] = (char)('!' + rng_next(seed) % 94);
  t[len] = 0;
  return t;
}

static size_t body_size(unsigned i, uint64_t *seed) {
  if (i % 500 == 7)
    return KIDX__TEXT_BLOCK - 3 - i % 5; /* about a block's worth */
  switch (i % 50) {
  case 0:
    return 0;
  case 1:
    return 1;
  case 13:
    return 3000 + rng_next(seed) % 9000;
  default:
    return rng_next(seed) % 60; /* tiny */
  }
}

static void make_doc(doc *d, unsigned i) {
  uint64_t seed = 1000 + i;
  snprintf(d->id, sizeof d->id, "doc-%u", i);
  d->title_len = i % 3 == 0 ? 0 : 1 + rng_next(&seed) % 40;
  d->title = words_text(&seed, d->title_len);
  if (i == 77) {
    d->body_len = 5 * KIDX__TEXT_BLOCK + 123; /* several blocks' worth */
    d->body = words_text(&seed, d->body_len);
  } else if (i == 78) {
    d->body_len = 2 * KIDX__TEXT_BLOCK; /* large and incompressible */
    d->body = random_letters(&seed, d->body_len);
  } else if (i % 50 == 17) {
    d->body_len = 100 + rng_next(&seed) % 400;
    d->body = random_letters(&seed, d->body_len);
  } else {
    d->body_len = body_size(i, &seed);
    d->body = words_text(&seed, d->body_len);
  }
  d->live = 1;
}

static void free_docs(doc *docs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(docs[i].title);
    free(docs[i].body);
  }
  free(docs);
}

static void add_doc(kidx_writer *w, const doc *d) {
  ck_assert_int_eq(kidx_writer_add(w, d->id, strlen(d->id), d->title,
                                   d->title_len, d->body, d->body_len),
                   KIDX_OK);
}

static kidx_reader *open_reader(void) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  return r;
}

/* Every live document comes back exactly; deleted ones are gone; the
 * check passes. */
static void assert_docs(const doc *docs, size_t n) {
  kidx_reader *r = open_reader();
  kidx_document *got = kidx_document_new();
  ck_assert_ptr_nonnull(got);
  for (size_t i = 0; i < n; i++) {
    const doc *d = &docs[i];
    int rc = kidx_reader_get(r, d->id, strlen(d->id), got);
    if (!d->live) {
      ck_assert_int_eq(rc, KIDX_ENOTFOUND);
      continue;
    }
    ck_assert_msg(rc == KIDX_OK, "%s: %d %s", d->id, rc,
                  kidx_document_errmsg(got));
    size_t tl, bl;
    const char *t = kidx_document_title(got, &tl);
    const char *b = kidx_document_body(got, &bl);
    ck_assert_uint_eq(tl, d->title_len);
    ck_assert_uint_eq(bl, d->body_len);
    ck_assert(tl == 0 || memcmp(t, d->title, tl) == 0);
    ck_assert_msg(bl == 0 || memcmp(b, d->body, bl) == 0, "%s body", d->id);
  }
  kidx_document_free(got);
  ck_assert_msg(kidx_reader_check(r) == KIDX_OK, "%s", kidx_reader_errmsg(r));
  kidx_reader_close(r);
}

/* The segment files of the index, by number (up to 64). */
static size_t segment_paths(char **paths, size_t max) {
  size_t n = 0;
  for (uint64_t k = 1; k < 200 && n < max; k++) {
    char name[KIDX__SEGNAME_MAX];
    kidx__segment_name(k, name);
    char *p = kidx__path_join(dir, name);
    FILE *f = fopen(p, "rb");
    if (f) {
      fclose(f);
      paths[n++] = p;
    } else {
      free(p);
    }
  }
  return n;
}

/* Counts a segment's blocks: compressed, raw, and those over the block
 * size (one record each); checks the cutting rule on the way. */
static void block_stats(const char *p, size_t *zipped, size_t *raw,
                        size_t *big) {
  kidx__segment s;
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(kidx__segment_open(&s, p, errmsg), KIDX_OK);
  for (uint64_t b = 0; b < s.ntextblocks; b++) {
    kidx__textblock e, next;
    ck_assert_int_eq(kidx__segment_textblock(&s, b, &e), KIDX_OK);
    ck_assert_int_eq(kidx__segment_textblock(&s, b + 1, &next), KIDX_OK);
    uint64_t stored = next.offset - e.offset;
    ck_assert_uint_le(stored, e.raw_len);
    if (stored < e.raw_len)
      ++*zipped;
    else
      ++*raw;
    if (e.raw_len > KIDX__TEXT_BLOCK) {
      ++*big;
      ck_assert_uint_eq(next.first_doc, e.first_doc + 1);
    }
  }
  kidx__segment_close(&s);
}

START_TEST(test_stored_roundtrip_across_merges) {
  const size_t n = 3000;
  doc *docs = calloc(n, sizeof *docs);
  ck_assert_ptr_nonnull(docs);
  for (unsigned i = 0; i < n; i++)
    make_doc(&docs[i], i);
  /* Several commits: several segments, merged as the policy decides. */
  kidx_writer *w = tu_open_writer(dir);
  for (size_t i = 0; i < n; i++) {
    add_doc(w, &docs[i]);
    if (i % 700 == 699)
      ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  assert_docs(docs, n);

  /* Deletions, including whole runs of a block and the big documents'
   * neighbours, then one merge of everything. */
  w = tu_open_writer(dir);
  for (size_t i = 0; i < n; i++) {
    if ((i % 5 == 3 && i != 78) || (i >= 1200 && i < 1500) || i == 76 ||
        i == 79) {
      ck_assert_int_eq(kidx_writer_delete(w, docs[i].id, strlen(docs[i].id)),
                       KIDX_OK);
      docs[i].live = 0;
    }
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  assert_docs(docs, n);
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  assert_docs(docs, n);

  char *paths[64];
  size_t nseg = segment_paths(paths, 64);
  ck_assert_uint_eq(nseg, 1);
  size_t zipped = 0, raw = 0, big = 0;
  block_stats(paths[0], &zipped, &raw, &big);
  ck_assert_uint_gt(zipped, 3);
  ck_assert_uint_ge(raw, 1); /* the random letters */
  ck_assert_uint_ge(big, 2); /* documents 77 and 78 at least */
  free(paths[0]);
  free_docs(docs, n);
}
END_TEST

START_TEST(test_stored_empty_and_tiny) {
  /* Only empty documents, then only tiny ones: one block each time. */
  kidx_writer *w = tu_open_writer(dir);
  for (int i = 0; i < 500; i++) {
    char id[16];
    snprintf(id, sizeof id, "e%d", i);
    ck_assert_int_eq(kidx_writer_add(w, id, strlen(id), "", 0, "", 0), KIDX_OK);
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  kidx_reader *r = open_reader();
  kidx_document *got = kidx_document_new();
  ck_assert_int_eq(kidx_reader_get(r, "e499", 4, got), KIDX_OK);
  size_t len;
  kidx_document_body(got, &len);
  ck_assert_uint_eq(len, 0);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_document_free(got);
  kidx_reader_close(r);
}
END_TEST

/* Block b of segment file number num, as stored (malloc'ed). */
static uint8_t *stored_block(uint64_t num, uint64_t b, size_t *len) {
  char name[KIDX__SEGNAME_MAX];
  kidx__segment_name(num, name);
  char *p = kidx__path_join(dir, name);
  kidx__segment s;
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(kidx__segment_open(&s, p, errmsg), KIDX_OK);
  kidx__textblock e, next;
  ck_assert_uint_lt(b, s.ntextblocks);
  ck_assert_int_eq(kidx__segment_textblock(&s, b, &e), KIDX_OK);
  ck_assert_int_eq(kidx__segment_textblock(&s, b + 1, &next), KIDX_OK);
  *len = (size_t)(next.offset - e.offset);
  ck_assert_uint_lt(*len, e.raw_len); /* compressed */
  ck_assert_uint_ge(e.raw_len, KIDX__TEXT_BLOCK / 2);
  uint8_t *out = malloc(*len);
  ck_assert_ptr_nonnull(out);
  memcpy(out, s.sec[KIDX__SEC_DOCDATA] + e.offset, *len);
  kidx__segment_close(&s);
  free(p);
  return out;
}

/* Whether segment file number num holds needle[0..len) somewhere. */
static int segment_holds(uint64_t num, const uint8_t *needle, size_t len) {
  char name[KIDX__SEGNAME_MAX];
  kidx__segment_name(num, name);
  char *p = kidx__path_join(dir, name);
  size_t n;
  char *data = tu_read_file(p, &n);
  ck_assert_ptr_nonnull(data);
  int found = 0;
  for (size_t i = 0; i + len <= n && !found; i++)
    found = memcmp(data + i, needle, len) == 0;
  free(data);
  free(p);
  return found;
}

START_TEST(test_stored_merge_copies_full_blocks) {
  /* Two segments of full blocks: merged, their blocks are copied as they
   * are; after a deletion in one, that block is packed anew. */
  const size_t n = 800;
  doc *docs = calloc(n, sizeof *docs);
  ck_assert_ptr_nonnull(docs);
  kidx_writer *w = tu_open_writer(dir);
  for (unsigned i = 0; i < n; i++) {
    uint64_t seed = 5000 + i;
    doc *d = &docs[i];
    snprintf(d->id, sizeof d->id, "m-%u", i);
    d->title_len = 10;
    d->title = words_text(&seed, d->title_len);
    d->body_len = 900 + rng_next(&seed) % 200;
    d->body = words_text(&seed, d->body_len);
    d->live = 1;
    add_doc(w, d);
    if (i == n / 2 - 1)
      ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  size_t len1, len2;
  uint8_t *b1 = stored_block(1, 0, &len1), *b2 = stored_block(2, 1, &len2);
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  ck_assert(segment_holds(3, b1, len1));
  ck_assert(segment_holds(3, b2, len2));
  assert_docs(docs, n);
  /* Document 3 is in the merged segment's first block (segment 1's). */
  ck_assert_int_eq(kidx_writer_delete(w, docs[3].id, strlen(docs[3].id)),
                   KIDX_OK);
  docs[3].live = 0;
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  ck_assert(!segment_holds(4, b1, len1));
  ck_assert(segment_holds(4, b2, len2));
  assert_docs(docs, n);
  free(b1);
  free(b2);
  free_docs(docs, n);
}
END_TEST

/* ---- damage ---- */

/* One segment of 3000 documents, several blocks. */
static char *seg_path;
static char *original;
static size_t original_len;

static void damage_setup(void) {
  setup();
  kidx_writer *w = tu_open_writer(dir);
  for (unsigned i = 0; i < 3000; i++) {
    doc d;
    make_doc(&d, i);
    if (i != 78) /* no raw block: every block compressed */
      add_doc(w, &d);
    free(d.title);
    free(d.body);
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  char name[KIDX__SEGNAME_MAX];
  kidx__segment_name(1, name);
  seg_path = kidx__path_join(dir, name);
  original = tu_read_file(seg_path, &original_len);
  ck_assert_ptr_nonnull(original);
}

static void damage_teardown(void) {
  free(original);
  free(seg_path);
  teardown();
}

/* Where things are in the original file. */
typedef struct layout {
  size_t data, table; /* sections 4 and 5 */
  size_t ndocs, nblocks;
  size_t entry0;            /* where block 0's entry is in section 5 */
  kidx__textblock blk[128]; /* the table, sentinel included */
} layout;

static void read_layout(layout *l) {
  kidx__segment s;
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(kidx__segment_open(&s, seg_path, errmsg), KIDX_OK);
  l->data = (size_t)(s.sec[KIDX__SEC_DOCDATA] - s.map.data);
  l->table = (size_t)(s.sec[KIDX__SEC_DOCTABLE] - s.map.data);
  l->ndocs = (size_t)s.ndocs;
  l->nblocks = (size_t)s.ntextblocks;
  l->entry0 = (size_t)kidx__segment_textblock_at(&s, 0);
  /* After N + 1 key offsets of 4 bytes: section 7 is small. */
  ck_assert_uint_eq(l->entry0, (l->ndocs + 1) * 4);
  ck_assert_uint_ge(l->nblocks, 4);
  ck_assert_uint_lt(l->nblocks, 127);
  for (size_t b = 0; b <= l->nblocks; b++)
    ck_assert_int_eq(kidx__segment_textblock(&s, b, &l->blk[b]), KIDX_OK);
  kidx__segment_close(&s);
}

/* Where block b's entry lies in the file. */
static size_t entry_at(const layout *l, size_t b) {
  return l->table + l->entry0 + b * KIDX__TEXTBLOCK_ENTRY;
}

/* Writes data as the segment, resealed (valid checksums) or not, with the
 * MANIFEST updated to the header's checksum. */
static void write_segment(char *data, int reseal) {
  if (reseal)
    ck_assert_int_eq(kidx__segment_reseal((uint8_t *)data, original_len),
                     KIDX_OK);
  tu_write_file(dir, strrchr(seg_path, '/') + 1, data, original_len);
  char *mpath = kidx__path_join(dir, KIDX__MANIFEST_FILE);
  size_t mlen;
  char *m = tu_read_file(mpath, &mlen);
  ck_assert_ptr_nonnull(m);
  memcpy(m + 48 + 32, data + KIDX__HDR_CRC, 4);
  kidx__set_u32((uint8_t *)m + mlen - 4, kidx__crc32c(0, m, mlen - 4));
  tu_write_file(dir, KIDX__MANIFEST_FILE, m, mlen);
  free(m);
  free(mpath);
}

/* Fetches doc-<i> (added as document i, or i - 1 after 78): the status,
 * and the message in msg. */
static int fetch(kidx_reader *r, unsigned i, char *msg, size_t cap) {
  char id[32];
  snprintf(id, sizeof id, "doc-%u", i);
  kidx_document *got = kidx_document_new();
  int rc = kidx_reader_get(r, id, strlen(id), got);
  snprintf(msg, cap, "%s", kidx_document_errmsg(got));
  kidx_document_free(got);
  return rc;
}

/* The id number of local document d (78 was left out). */
static unsigned id_of(size_t d) {
  return (unsigned)(d < 78 ? d : d + 1);
}

/* With the current file: the first document of block b fails to fetch
 * with a message naming the file and section; a document of another
 * block (other) is fetched; the check fails. */
static void assert_block_lost(const layout *l, size_t b, size_t other,
                              const char *section) {
  kidx_reader *r = open_reader();
  char msg[KIDX__ERRMSG_MAX];
  int rc = fetch(r, id_of(l->blk[b].first_doc), msg, sizeof msg);
  ck_assert_msg(rc == KIDX_ECORRUPT, "block %zu: %d %s", b, rc, msg);
  ck_assert_msg(strstr(msg, strrchr(seg_path, '/') + 1) && strstr(msg, section),
                "%s", msg);
  ck_assert_msg(fetch(r, id_of(l->blk[other].first_doc), msg, sizeof msg) ==
                    KIDX_OK,
                "%s", msg);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_ECORRUPT);
  kidx_reader_close(r);
}

START_TEST(test_stored_flip_in_compressed_block) {
  layout l;
  read_layout(&l);
  size_t b = 2;
  ck_assert_uint_lt(l.blk[b + 1].offset - l.blk[b].offset, l.blk[b].raw_len);
  char *copy = malloc(original_len);
  /* A flipped byte in the middle of the block: its page checksum.  A
   * block on other pages stays readable. */
  memcpy(copy, original, original_len);
  uint64_t mid = (l.blk[b].offset + l.blk[b + 1].offset) / 2;
  copy[l.data + mid] ^= 0x01;
  size_t other = l.nblocks;
  for (size_t k = 0; k < l.nblocks && other == l.nblocks; k++)
    if (l.blk[k + 1].offset >> KIDX__PAGE_SHIFT < mid >> KIDX__PAGE_SHIFT ||
        l.blk[k].offset >> KIDX__PAGE_SHIFT > mid >> KIDX__PAGE_SHIFT)
      other = k;
  ck_assert_uint_lt(other, l.nblocks);
  write_segment(copy, 0);
  assert_block_lost(&l, b, other, "'document data'");
  /* With valid checksums, the block's first token changed: the decoder
   * refuses the block. */
  memcpy(copy, original, original_len);
  copy[l.data + l.blk[b].offset] ^= 0x30;
  write_segment(copy, 1);
  assert_block_lost(&l, b, b + 1, "'document data'");
  free(copy);
}
END_TEST

START_TEST(test_stored_resealed_flips_never_crash) {
  /* Every byte of a block's first 300 and of the table, flipped with
   * valid checksums: fetches of the block's documents answer or report
   * damage, and so does the check. */
  layout l;
  read_layout(&l);
  char *copy = malloc(original_len);
  size_t b = 1, spans[2][2] = {{l.data + l.blk[b].offset, 120},
                               {entry_at(&l, 0), 4 * KIDX__TEXTBLOCK_ENTRY}};
  size_t caught = 0;
  for (int s = 0; s < 2; s++) {
    for (size_t at = spans[s][0]; at < spans[s][0] + spans[s][1]; at++) {
      memcpy(copy, original, original_len);
      copy[at] ^= (char)(at & 1 ? 0x01 : 0x40);
      write_segment(copy, 1);
      kidx_reader *r;
      ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
      if (kidx_reader_open(r, dir) == KIDX_OK) {
        char msg[KIDX__ERRMSG_MAX];
        for (size_t k = 0; k < 3; k++) {
          size_t d = l.blk[b].first_doc + k * 7;
          int rc = fetch(r, id_of(d), msg, sizeof msg);
          ck_assert_msg(rc == KIDX_OK || rc == KIDX_ECORRUPT ||
                            rc == KIDX_ENOTFOUND,
                        "byte %zu: %d", at, rc);
        }
        int rc = kidx_reader_check(r);
        ck_assert_msg(rc == KIDX_OK || rc == KIDX_ECORRUPT, "byte %zu: %d", at,
                      rc);
        caught += rc == KIDX_ECORRUPT;
      } else {
        caught++;
      }
      kidx_reader_close(r);
    }
  }
  free(copy);
  ck_assert_uint_gt(caught, 60);
}
END_TEST

START_TEST(test_stored_bad_table_entries) {
  layout l;
  read_layout(&l);
  char *copy = malloc(original_len);
  /* A block of several records after one of several records, with two
   * blocks after it. */
  size_t b = 1;
  while (b + 3 <= l.nblocks &&
         (l.blk[b].first_doc - l.blk[b - 1].first_doc < 3 ||
          l.blk[b + 1].first_doc - l.blk[b].first_doc < 2))
    b++;
  ck_assert_uint_le(b + 3, l.nblocks);
  /* Each edit of block b's entry, and a document whose fetch then fails
   * (for a first document moved, some documents get their neighbour's
   * text instead, which only the check finds). */
  const struct {
    size_t field; /* offset in the entry */
    int width;    /* 8 or 4 */
    int64_t delta;
    size_t lost; /* a document that cannot be fetched */
  } edits[] = {
      /* raw length one too many, one too few: b does not decompress to
       * it, which its last document's fetch finds (blocks are decompressed
       * as far as the record read) */
      {8, 8, 1, l.blk[b + 1].first_doc - 1},
      {8, 8, -1, l.blk[b + 1].first_doc - 1},
      /* offset one late: the block before gets a byte more, left over
       * once its last record is read */
      {0, 8, 1, l.blk[b].first_doc - 1},
      /* first document one late: b's first is sought in the block before,
       * past its records */
      {16, 4, 1, l.blk[b].first_doc},
      /* one early: the block before ends before its last record */
      {16, 4, -1, l.blk[b].first_doc - 2},
  };
  for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
    memcpy(copy, original, original_len);
    uint8_t *e = (uint8_t *)copy + entry_at(&l, b) + edits[k].field;
    if (edits[k].width == 8)
      kidx__set_u64(e, kidx__get_u64(e) + (uint64_t)edits[k].delta);
    else
      kidx__set_u32(e, kidx__get_u32(e) + (uint32_t)edits[k].delta);
    write_segment(copy, 1);
    /* A block further on is intact. */
    kidx_reader *r = open_reader();
    char msg[KIDX__ERRMSG_MAX];
    int rc = fetch(r, id_of(edits[k].lost), msg, sizeof msg);
    ck_assert_msg(rc == KIDX_ECORRUPT, "edit %zu: %d %s", k, rc, msg);
    ck_assert_msg(strstr(msg, "'document data'") ||
                      strstr(msg, "'document table'"),
                  "edit %zu: %s", k, msg);
    ck_assert_int_eq(fetch(r, id_of(l.blk[b + 2].first_doc), msg, sizeof msg),
                     KIDX_OK);
    ck_assert_msg(kidx_reader_check(r) == KIDX_ECORRUPT, "edit %zu", k);
    kidx_reader_close(r);
  }
  /* The sentinel's document count and a block table that is not where
   * the writer would cut: found by the check. */
  memcpy(copy, original, original_len);
  uint8_t *e = (uint8_t *)copy + entry_at(&l, l.nblocks) + 16;
  kidx__set_u32(e, kidx__get_u32(e) - 1);
  write_segment(copy, 1);
  kidx_reader *r = open_reader();
  ck_assert_int_eq(kidx_reader_check(r), KIDX_ECORRUPT);
  ck_assert_msg(strstr(kidx_reader_errmsg(r), "text block"), "%s",
                kidx_reader_errmsg(r));
  kidx_reader_close(r);
  free(copy);
}
END_TEST

START_TEST(test_stored_table_size_checked_at_open) {
  /* A document table whose size is not (N + 1) keys and whole entries. */
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)copy);
  h.sec_len[KIDX__SEC_DOCTABLE] -= 4;
  kidx__seghdr_encode(&h, (uint8_t *)copy);
  write_segment(copy, 0);
  kidx__segment s;
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(kidx__segment_open(&s, seg_path, errmsg), KIDX_ECORRUPT);
  ck_assert_msg(strstr(errmsg, "section sizes"), "%s", errmsg);
  free(copy);
}
END_TEST

START_TEST(test_stored_title_total_checked) {
  /* The header's total of the titles in the key records: beyond the
   * section, refused at open; off by one, found by the check (titles are
   * read from the key records, so searches and fetches still work). */
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)copy);
  ck_assert_uint_gt(h.title_bytes, 3000);
  uint64_t keys = h.sec_len[KIDX__SEC_KEYS];
  h.title_bytes = keys + 1;
  kidx__seghdr_encode(&h, (uint8_t *)copy);
  write_segment(copy, 0);
  kidx__segment s;
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(kidx__segment_open(&s, seg_path, errmsg), KIDX_ECORRUPT);
  ck_assert_msg(strstr(errmsg, "section sizes"), "%s", errmsg);
  memcpy(copy, original, original_len);
  kidx__seghdr_decode(&h, (const uint8_t *)copy);
  h.title_bytes++;
  kidx__seghdr_encode(&h, (uint8_t *)copy);
  write_segment(copy, 0);
  kidx_reader *r = open_reader();
  char msg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(fetch(r, id_of(5), msg, sizeof msg), KIDX_OK);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_ECORRUPT);
  ck_assert_msg(strstr(kidx_reader_errmsg(r), "stored titles"), "%s",
                kidx_reader_errmsg(r));
  kidx_reader_close(r);
  free(copy);
}
END_TEST

START_TEST(test_stored_stamp_flag_checked) {
  /* Documents added without a stamp have a stamp byte of 0 and no stamp
   * fields; any other byte than 0 or 1 is damage in section 'keys'. */
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)copy);
  /* Document 0's key record starts the section: varint 5, "doc-0". */
  uint8_t *k = (uint8_t *)copy + h.sec_off[KIDX__SEC_KEYS];
  ck_assert_int_eq(k[0], 5);
  ck_assert_mem_eq(k + 1, "doc-0", 5);
  ck_assert_int_eq(k[6], 0);
  k[6] = 2;
  write_segment(copy, 1);
  kidx_reader *r = open_reader();
  char msg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(fetch(r, 0, msg, sizeof msg), KIDX_ECORRUPT);
  ck_assert_msg(strstr(msg, "'keys'"), "%s", msg);
  ck_assert_int_eq(fetch(r, id_of(5), msg, sizeof msg), KIDX_OK);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_ECORRUPT);
  kidx_reader_close(r);
  free(copy);
}
END_TEST

static Suite *stored_suite(void) {
  Suite *s = suite_create("stored");
  TCase *tc = tcase_create("Core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_stored_roundtrip_across_merges);
  tcase_add_test(tc, test_stored_empty_and_tiny);
  tcase_add_test(tc, test_stored_merge_copies_full_blocks);
  suite_add_tcase(s, tc);
  tc = tcase_create("Damage");
  tcase_add_checked_fixture(tc, damage_setup, damage_teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_stored_flip_in_compressed_block);
  tcase_add_test(tc, test_stored_resealed_flips_never_crash);
  tcase_add_test(tc, test_stored_bad_table_entries);
  tcase_add_test(tc, test_stored_table_size_checked_at_open);
  tcase_add_test(tc, test_stored_title_total_checked);
  tcase_add_test(tc, test_stored_stamp_flag_checked);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(stored_suite());
}
