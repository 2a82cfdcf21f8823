/* Damaged index files.  Every truncation and trailing garbage are refused
 * at open.  A single flipped byte is refused at open when it is in the
 * header or the page checksum index; elsewhere open (which reads O(1)
 * bytes) accepts the file, a query or fetch that reads the damaged page
 * gets KIDX_ECORRUPT naming the file and the section, others keep
 * working, and kidx_reader_check finds it.  Never a crash, never a wrong
 * answer.  Damage that is given fresh checksums must be found by
 * kidx_reader_check. */
#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static char *dir;
static char segname[KIDX__SEGNAME_MAX];
static char *path;
static char *original;
static size_t original_len;

static void setup(void) {
  dir = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  static const char *const bodies[] = {
      "Kaspersky Lab will wind down its US operations.",
      "The transparency centre opened in Zurich, Switzerland.",
      "Best Buy stopped selling the antivirus software.",
      "FBI briefings urged companies to drop the vendor."};
  for (int i = 0; i < 4; i++) {
    char id[16];
    snprintf(id, sizeof id, "doc-%d", i);
    ck_assert_int_eq(kidx_writer_add(w, id, strlen(id), "Title", 5, bodies[i],
                                     strlen(bodies[i])),
                     KIDX_OK);
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  /* One commit of one batch: one segment, the first. */
  kidx__segment_name(1, segname);
  path = kidx__path_join(dir, segname);
  original = tu_read_file(path, &original_len);
  ck_assert_ptr_nonnull(original);
}

static void teardown(void) {
  free(original);
  free(path);
  tu_rmtree(dir);
  free(dir);
}

static void write_file(const char *p, const char *data, size_t len) {
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

/* Writes the segment file.  The manifest binds a segment by its header
 * checksum: it is updated to the new file's, so that what is tested is
 * the segment's own validation (the manifest has tests of its own). */
static void write_index(const char *data, size_t len) {
  write_file(path, data, len);
  if (len < KIDX__HEADER_SIZE)
    return;
  char *mpath = kidx__path_join(dir, KIDX__MANIFEST_FILE);
  size_t mlen;
  char *m = tu_read_file(mpath, &mlen);
  ck_assert_ptr_nonnull(m);
  /* one segment entry: 48 bytes of header, then the entry, whose header
   * checksum is at offset 32 */
  ck_assert_uint_ge(mlen, 48 + 40 + 4);
  memcpy(m + 48 + 32, data + KIDX__HDR_CRC, 4);
  kidx__set_u32((uint8_t *)m + mlen - 4, kidx__crc32c(0, m, mlen - 4));
  write_file(mpath, m, mlen);
  free(m);
  free(mpath);
}

/* A search for query on r: its status, asserting that a failure's
 * message names the file. */
static int search(const kidx_reader *r, const char *query) {
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  kidx_search_options o;
  kidx_search_options_init(&o);
  o.snippet_words = 8;
  int rc = kidx_search(r, query, strlen(query), &o, res);
  if (rc != KIDX_OK && !strstr(kidx_results_errmsg(res), segname))
    ck_abort_msg("message does not name the file: %s",
                 kidx_results_errmsg(res));
  kidx_results_free(res);
  return rc;
}

/* Opens the (damaged) index; returns the status, checking the message.
 * When it opens, queries and fetches must work or report damage, and the
 * full check must report it (the status returned then). */
static int try_open(void) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  int rc = kidx_reader_open(r, dir);
  if (rc != KIDX_OK && !strstr(kidx_reader_errmsg(r), segname))
    ck_abort_msg("message does not name the file: %s", kidx_reader_errmsg(r));
  if (rc == KIDX_OK) {
    static const char *const queries[] = {"kaspersky", "the OR zurich", "sell*",
                                          "\"best buy\""};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
      int q = search(r, queries[i]);
      ck_assert_msg(q == KIDX_OK || q == KIDX_ECORRUPT, "search: %d", q);
    }
    kidx_document *doc = kidx_document_new();
    ck_assert_ptr_nonnull(doc);
    int g = kidx_reader_get(r, "doc-2", 5, doc);
    ck_assert_msg(g == KIDX_OK || g == KIDX_ECORRUPT || g == KIDX_ENOTFOUND,
                  "get: %d", g);
    kidx_document_free(doc);
    kidx_stats st;
    int t = kidx_reader_stats(r, &st);
    ck_assert_msg(t == KIDX_OK || t == KIDX_ECORRUPT, "stats: %d", t);
    rc = kidx_reader_check(r);
    if (rc != KIDX_OK && !strstr(kidx_reader_errmsg(r), segname))
      ck_abort_msg("message does not name the file: %s", kidx_reader_errmsg(r));
  }
  kidx_reader_close(r);
  return rc;
}

START_TEST(test_corrupt_intact_file_opens) {
  ck_assert_int_eq(try_open(), KIDX_OK);
}
END_TEST

START_TEST(test_corrupt_every_flipped_byte_is_refused) {
  char *copy = malloc(original_len);
  size_t undetected = 0, first = 0;
  for (size_t i = 0; i < original_len; i++) {
    for (int pattern = 0; pattern < 2; pattern++) {
      memcpy(copy, original, original_len);
      copy[i] = (char)(copy[i] ^ (pattern ? 0xFF : 0x01));
      write_index(copy, original_len);
      int rc = try_open();
      if (rc != KIDX_ECORRUPT && rc != KIDX_EFORMAT) {
        if (!undetected++)
          first = i;
      }
    }
  }
  free(copy);
  ck_assert_msg(undetected == 0, "%zu flips not detected, first at byte %zu",
                undetected, first);
}
END_TEST

START_TEST(test_corrupt_every_truncation_is_refused) {
  for (size_t len = 0; len < original_len; len++) {
    write_index(original, len);
    int rc = try_open();
    if (rc != KIDX_ECORRUPT)
      ck_abort_msg("truncation to %zu bytes gave %d", len, rc);
  }
}
END_TEST

START_TEST(test_corrupt_trailing_garbage_is_refused) {
  char *copy = malloc(original_len + 16);
  memcpy(copy, original, original_len);
  memset(copy + original_len, 'x', 16);
  write_index(copy, original_len + 16);
  ck_assert_int_eq(try_open(), KIDX_ECORRUPT);
  free(copy);
}
END_TEST

START_TEST(test_corrupt_other_version_is_refused) {
  /* A future format version, with a correct header checksum, gives
   * KIDX_EFORMAT and a message naming both versions. */
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)copy);
  h.version = KIDX__SEGMENT_VERSION + 1;
  kidx__seghdr_encode(&h, (uint8_t *)copy);
  write_index(copy, original_len);
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_EFORMAT);
  char want[32];
  snprintf(want, sizeof want, "version %u", KIDX__SEGMENT_VERSION + 1);
  ck_assert_ptr_nonnull(strstr(kidx_reader_errmsg(r), want));
  kidx_reader_close(r);
  free(copy);
}
END_TEST

START_TEST(test_corrupt_writer_refuses_damaged_base) {
  /* Damage in the postings: the writer opens (open reads no section), but
   * a merge, which reads every list, fails and keeps the damaged file. */
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)original);
  size_t at = (size_t)(h.sec_off[KIDX__SEC_POSTINGS] +
                       h.sec_len[KIDX__SEC_POSTINGS] / 2);
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  copy[at] ^= 0x10;
  write_index(copy, original_len);
  free(copy);
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  ck_assert_int_eq(kidx_writer_add(w, "doc-9", 5, "T", 1, "more words", 10),
                   KIDX_OK);
  int rc = kidx_writer_commit(w);
  if (rc == KIDX_OK)
    rc = kidx_writer_optimize(w);
  ck_assert_int_eq(rc, KIDX_ECORRUPT);
  ck_assert_msg(strstr(kidx_writer_errmsg(w), segname) &&
                    strstr(kidx_writer_errmsg(w), "'postings'"),
                "message: %s", kidx_writer_errmsg(w));
  kidx_writer_close(w);
  /* The damaged file was not replaced. */
  size_t len;
  char *now = tu_read_file(path, &len);
  ck_assert_uint_eq(len, original_len);
  free(now);
}
END_TEST

START_TEST(test_corrupt_not_an_index) {
  write_index("hello, world\n", 13);
  ck_assert_int_eq(try_open(), KIDX_ECORRUPT);
}
END_TEST

/* ---- damage behind valid checksums, for kidx_reader_check ---- */

/* Recomputes every section checksum and then the header checksum of an
 * index file image, as a writer with a bug (or a deliberate forger) would
 * produce it: open then accepts whatever the sections hold. */
static void reseal(char *data, size_t len) {
  ck_assert_int_eq(kidx__segment_reseal((uint8_t *)data, len), KIDX_OK);
}

/* Where section sec lies in the original file. */
static void section_span(int sec, size_t *off, size_t *len) {
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)original);
  *off = (size_t)h.sec_off[sec];
  *len = (size_t)h.sec_len[sec];
  ck_assert_uint_le(*off + *len, original_len);
}

/* Opens the index and, if that succeeds, checks it.  Returns the first
 * failure (or KIDX_OK), asserting that a failure's message names the
 * file. */
static int open_and_check(void) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  int rc = kidx_reader_open(r, dir);
  if (rc == KIDX_OK)
    rc = kidx_reader_check(r);
  if (rc != KIDX_OK && !strstr(kidx_reader_errmsg(r), segname))
    ck_abort_msg("message does not name the file: %s", kidx_reader_errmsg(r));
  kidx_reader_close(r);
  return rc;
}

START_TEST(test_check_intact_index_passes) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  /* Not open yet: an argument error, not damage. */
  ck_assert_int_eq(kidx_reader_check(r), KIDX_EINVAL);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  ck_assert_str_eq(kidx_reader_errmsg(r), "");
  kidx_reader_close(r);
  ck_assert_int_eq(kidx_reader_check(NULL), KIDX_EINVAL);
}
END_TEST

START_TEST(test_check_empty_index_passes) {
  char *empty = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, empty), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, empty), KIDX_OK);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
  tu_rmtree(empty);
  free(empty);
}
END_TEST

START_TEST(test_check_resealed_flips_are_found) {
  /* Every flip of every byte of the inverted index (postings, term table,
   * term block index, document lengths), with checksums made valid again, is
   * refused at open or reported by the check: the postings are decoded in
   * full and compared with the stored text analysed again, so even a
   * moved position that still decodes is caught. */
  static const int sections[] = {KIDX__SEC_POSTINGS, KIDX__SEC_TERMS,
                                 KIDX__SEC_TERMINDEX, KIDX__SEC_DOCLENS};
  char *copy = malloc(original_len);
  size_t tried = 0, by_check = 0;
  for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
    size_t off, len;
    section_span(sections[s], &off, &len);
    ck_assert_uint_gt(len, 0);
    for (size_t i = off; i < off + len; i++) {
      for (int pattern = 0; pattern < 3; pattern++) {
        static const unsigned char masks[] = {0x01, 0x80, 0xFF};
        memcpy(copy, original, original_len);
        copy[i] = (char)(copy[i] ^ masks[pattern]);
        reseal(copy, original_len);
        write_index(copy, original_len);
        kidx_reader *r;
        ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
        int opened = kidx_reader_open(r, dir);
        kidx_reader_close(r);
        int rc = open_and_check();
        if (rc != KIDX_ECORRUPT)
          ck_abort_msg("section %d byte %zu ^ 0x%02x: status %d, expected "
                       "KIDX_ECORRUPT",
                       sections[s], i - off, masks[pattern], rc);
        tried++;
        by_check += opened == KIDX_OK;
      }
    }
  }
  free(copy);
  /* Most of this damage gets past open (that is the point of the check):
   * make sure the test exercised the check, not just open. */
  ck_assert_msg(by_check * 4 > tried, "only %zu of %zu reached the check",
                by_check, tried);
}
END_TEST

START_TEST(test_check_resealed_text_damage_never_crashes) {
  /* The document sections hold stored text and stamps, which the library
   * does not interpret: some flips there are harmless (a stamp byte, a
   * letter of an id).  Whatever they do, open and check report damage or
   * pass, never anything else. */
  static const int sections[] = {KIDX__SEC_DOCTABLE, KIDX__SEC_DOCDATA};
  char *copy = malloc(original_len);
  size_t caught = 0;
  for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
    size_t off, len;
    section_span(sections[s], &off, &len);
    for (size_t i = off; i < off + len; i++) {
      memcpy(copy, original, original_len);
      copy[i] = (char)(copy[i] ^ 0x01);
      reseal(copy, original_len);
      write_index(copy, original_len);
      int rc = open_and_check();
      ck_assert_msg(rc == KIDX_OK || rc == KIDX_ECORRUPT,
                    "section %d byte %zu: status %d", sections[s], i - off, rc);
      caught += rc == KIDX_ECORRUPT;
    }
  }
  free(copy);
  ck_assert_uint_gt(caught, 0);
}
END_TEST

START_TEST(test_check_resealed_flips_never_crash_queries) {
  /* Every byte of every section flipped, checksums made valid again:
   * open reads no section, so queries, fetches and stats meet the damage
   * in the decoders, which must report it or answer, never crash or read
   * outside the file; and the check still finds what changes meaning. */
  char *copy = malloc(original_len);
  for (int sec = 0; sec < KIDX__SEC_PAGED; sec++) {
    size_t off, len;
    section_span(sec, &off, &len);
    for (size_t i = off; i < off + len; i++) {
      memcpy(copy, original, original_len);
      copy[i] = (char)(copy[i] ^ (i & 1 ? 0x80 : 0x03));
      reseal(copy, original_len);
      write_index(copy, original_len);
      int rc = try_open();
      ck_assert_msg(rc == KIDX_OK || rc == KIDX_ECORRUPT,
                    "section %d byte %zu: status %d", sec, i - off, rc);
    }
  }
  free(copy);
}
END_TEST

/* Index of the first occurrence of needle in the original file. */
static size_t find_bytes(const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= original_len; i++)
    if (memcmp(original + i, needle, n) == 0)
      return i;
  ck_abort_msg("'%s' not found in the index file", needle);
  return 0;
}

/* Sets byte `at` of the index to `value`, makes the checksums valid again,
 * and runs the deep check, which must fail although open succeeds.
 * Returns the check's message (static copy). */
static const char *patch_and_check(size_t at, char value) {
  static char msg[KIDX__ERRMSG_MAX];
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  copy[at] = value;
  reseal(copy, original_len);
  write_index(copy, original_len);
  free(copy);
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_ECORRUPT);
  snprintf(msg, sizeof msg, "%s", kidx_reader_errmsg(r));
  kidx_reader_close(r);
  return msg;
}

START_TEST(test_check_moved_position) {
  /* "Title" is position 0 of every document; the body starts at 2.  Move
   * the first body word of doc-1 ("the", position 2) to position 3 in the
   * postings of "the", re-encoding the list as the writer would: a list
   * that decodes perfectly and keeps every count, which only the
   * comparison with the stored text can see. */
  kidx__segment seg;
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(kidx__segment_open(&seg, path, errmsg), KIDX_OK);
  kidx__term t;
  ck_assert(kidx__segment_find(&seg, "the", 3, &t));
  size_t at = (size_t)(t.post - seg.map.data);
  kidx__pcur *c = malloc(sizeof *c);
  ck_assert_int_eq(kidx__pcur_init(c, t.post, t.post_len, t.df, seg.ndocs),
                   KIDX_OK);
  kidx__pwriter w;
  kidx__pmodels pm;
  uint64_t ftok[KIDX__NFIELDS] = {seg.title_tokens,
                                  seg.ntokens - seg.title_tokens};
  kidx__pmodels_init(&pm, seg.ndocs, ftok);
  kidx__pwriter_init(&w, &pm);
  uint32_t pos[64], moved = 0;
  while (kidx__pcur_next(c) == 1) {
    ck_assert_uint_le(c->tf, 64);
    ck_assert_int_eq(kidx__pcur_positions(c, pos), KIDX_OK);
    if (c->doc == 1) {
      /* "the" is in doc-1 (document 1) once, at 2. */
      ck_assert_uint_eq(c->tf, 1);
      ck_assert_uint_eq(pos[0], 2);
      pos[0] = 3;
      moved = 1;
    }
    uint32_t len[KIDX__NFIELDS];
    kidx__segment_doclens(&seg, c->doc, &len[0], &len[1]);
    ck_assert_int_eq(
        kidx__pwriter_add(&w, c->doc, pos, c->tf, c->tf_title, len), KIDX_OK);
  }
  ck_assert(moved);
  ck_assert_int_eq(kidx__pwriter_finish(&w), KIDX_OK);
  /* Same size: the list can be patched in place. */
  ck_assert_uint_eq(kidx__pwriter_size(&w), t.post_len);
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  size_t o = at;
  const kidx__buf *parts[] = {&w.head, &w.table, &w.docs, &w.pos};
  for (size_t k = 0; k < 4; k++) {
    memcpy(copy + o, parts[k]->p, parts[k]->n);
    o += parts[k]->n;
  }
  ck_assert_int_ne(memcmp(copy + at, original + at, t.post_len), 0);
  kidx__pwriter_free(&w);
  free(c);
  kidx__segment_close(&seg);
  reseal(copy, original_len);
  write_index(copy, original_len);
  free(copy);
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_ECORRUPT);
  const char *msg = kidx_reader_errmsg(r);
  ck_assert_msg(strstr(msg, path) && strstr(msg, "document 'doc-1'") &&
                    strstr(msg, "stored text"),
                "unexpected message: %s", msg);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_check_duplicate_id) {
  /* Two documents with one id, checksums made valid: the id table (hashes
   * of the ids) no longer matches, which the check finds. */
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  copy[find_bytes("doc-2") + 4] = '1';
  reseal(copy, original_len);
  write_index(copy, original_len);
  free(copy);
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_ECORRUPT);
  ck_assert_msg(strstr(kidx_reader_errmsg(r), path) &&
                    strstr(kidx_reader_errmsg(r), "id table"),
                "unexpected message: %s", kidx_reader_errmsg(r));
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_check_changed_stored_text) {
  /* The stored body no longer says what was indexed ("Zurich" ->
   * "Zurick"): the postings hold a term the text does not give. */
  const char *msg = patch_and_check(find_bytes("Zurich") + 5, 'k');
  ck_assert_msg(strstr(msg, "document 'doc-1'"), "unexpected message: %s", msg);
}
END_TEST

static Suite *corrupt_suite(void) {
  Suite *s = suite_create("corrupt");
  TCase *tc = tcase_create("Damage");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_corrupt_intact_file_opens);
  tcase_add_test(tc, test_corrupt_every_flipped_byte_is_refused);
  tcase_add_test(tc, test_corrupt_every_truncation_is_refused);
  tcase_add_test(tc, test_corrupt_trailing_garbage_is_refused);
  tcase_add_test(tc, test_corrupt_other_version_is_refused);
  tcase_add_test(tc, test_corrupt_writer_refuses_damaged_base);
  tcase_add_test(tc, test_corrupt_not_an_index);
  suite_add_tcase(s, tc);
  tc = tcase_create("Check");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_check_intact_index_passes);
  tcase_add_test(tc, test_check_empty_index_passes);
  tcase_add_test(tc, test_check_resealed_flips_are_found);
  tcase_add_test(tc, test_check_resealed_text_damage_never_crashes);
  tcase_add_test(tc, test_check_resealed_flips_never_crash_queries);
  tcase_add_test(tc, test_check_moved_position);
  tcase_add_test(tc, test_check_duplicate_id);
  tcase_add_test(tc, test_check_changed_stored_text);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(corrupt_suite());
}
