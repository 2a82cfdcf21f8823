/* The per-document tables of a segment file (doc/FORMAT.md, sections 3,
 * 5 and 6): document lengths in per-field widths, key offsets in the
 * width section 7 calls for, and the id table of document numbers with a
 * sample of hashes.  The writer chooses the smallest widths, through
 * flushes and merges; every document is found by its id, and no other id
 * is; and damage to these tables -- a width the format does not have,
 * sizes that do not match, a sample that is not its entry's hash, a
 * document number out of range, widths wider than needed, any flipped
 * byte -- is KIDX_ECORRUPT from open, from the lookup that reads it, or
 * from kidx_reader_check, never a crash or a wrong document. */
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

static kidx_reader *open_reader(void) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  return r;
}

/* n words "w" separated by spaces (malloc'ed): n terms. */
static char *words(size_t n, size_t *len) {
  char *t = malloc(2 * n + 1);
  ck_assert_ptr_nonnull(t);
  for (size_t i = 0; i < n; i++)
    memcpy(t + 2 * i, "w ", 2);
  *len = n ? 2 * n - 1 : 0;
  t[*len] = 0;
  return t;
}

static void add_words(kidx_writer *w, const char *id, size_t title_words,
                      size_t body_words) {
  size_t tl, bl;
  char *title = words(title_words, &tl), *body = words(body_words, &bl);
  ck_assert_int_eq(kidx_writer_add(w, id, strlen(id), title, tl, body, bl),
                   KIDX_OK);
  free(title);
  free(body);
}

/* The open segments of r, newest last. */
static const kidx__segment *segment(const kidx_reader *r, size_t i) {
  const kidx__snapshot *s = kidx__reader_snapshot(r);
  ck_assert_uint_lt(i, s->nsegs);
  return &s->segs[i].seg;
}

static size_t nsegments(const kidx_reader *r) {
  return kidx__reader_snapshot(r)->nsegs;
}

/* ---- the writer's widths ---- */

START_TEST(test_doctables_smallest_widths) {
  /* Each field's width is that of its longest in the segment: 255 terms
   * fit a byte, 256 take two, 65536 four; flushes and merges alike. */
  kidx_writer *w = tu_open_writer(dir);
  add_words(w, "a", 255, 256);
  add_words(w, "b", 3, 7);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  add_words(w, "c", 256, 1);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  add_words(w, "d", 0, 0);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_reader *r = open_reader();
  ck_assert_uint_eq(nsegments(r), 3);
  static const unsigned want[3][2] = {{1, 2}, {2, 1}, {1, 1}};
  for (size_t i = 0; i < 3; i++) {
    const kidx__segment *s = segment(r, i);
    ck_assert_uint_eq(s->doclen_width[0], want[i][0]);
    ck_assert_uint_eq(s->doclen_width[1], want[i][1]);
    ck_assert_uint_eq(s->doclen_stride, want[i][0] + want[i][1]);
    ck_assert_uint_eq(s->sec_len[KIDX__SEC_DOCLENS],
                      s->ndocs * (want[i][0] + want[i][1]));
    ck_assert_uint_eq(s->keyoff_width, 4);
  }
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
  /* Merged: the longest of each field over the inputs. */
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  r = open_reader();
  ck_assert_uint_eq(nsegments(r), 1);
  ck_assert_uint_eq(segment(r, 0)->doclen_width[0], 2);
  ck_assert_uint_eq(segment(r, 0)->doclen_width[1], 2);
  kidx_reader_close(r);
  /* Deleting the long documents narrows the widths at the next merge. */
  ck_assert_int_eq(kidx_writer_delete(w, "a", 1), KIDX_OK);
  ck_assert_int_eq(kidx_writer_delete(w, "c", 1), KIDX_OK);
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  r = open_reader();
  ck_assert_uint_eq(segment(r, 0)->ndocs, 2);
  ck_assert_uint_eq(segment(r, 0)->doclen_width[0], 1);
  ck_assert_uint_eq(segment(r, 0)->doclen_width[1], 1);
  kidx_reader_close(r);
  /* 65536 body terms: four bytes. */
  add_words(w, "e", 1, 65536);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  r = open_reader();
  const kidx__segment *s = segment(r, nsegments(r) - 1);
  ck_assert_uint_eq(s->doclen_width[0], 1);
  ck_assert_uint_eq(s->doclen_width[1], 4);
  uint32_t t, b;
  ck_assert_int_eq(kidx__segment_doclens(s, 0, &t, &b), KIDX_OK);
  ck_assert_uint_eq(t, 1);
  ck_assert_uint_eq(b, 65536);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_doctables_lengths_straddle_pages) {
  /* Entries of 3 bytes: some lie across two pages of section 3, whose
   * both pages must be verified before they are read. */
  kidx_writer *w = tu_open_writer(dir);
  uint32_t n = (uint32_t)(KIDX__PAGE_SIZE / 3 + 10);
  for (uint32_t i = 0; i < n; i++) {
    char id[16];
    snprintf(id, sizeof id, "%u", i);
    add_words(w, id, i % 7, i == 5 ? 300 : i % 11);
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  kidx_reader *r = open_reader();
  const kidx__segment *s = segment(r, 0);
  ck_assert_uint_eq(s->doclen_stride, 3);
  /* Document 10922 holds bytes 32766..32768: pages 0 and 1. */
  uint32_t straddling = (uint32_t)(KIDX__PAGE_SIZE / 3);
  ck_assert_uint_eq(straddling * 3 + 2, KIDX__PAGE_SIZE);
  uint64_t page0 = s->page_base[KIDX__SEC_DOCLENS];
  uint32_t t, b;
  /* Page 0 verified by a read of its own, page 1 not yet. */
  ck_assert_int_eq(kidx__segment_doclens(s, 0, &t, &b), KIDX_OK);
  ck_assert(kidx__segment_page_ok(s, page0));
  ck_assert(!kidx__segment_page_ok(s, page0 + 1));
  ck_assert_int_eq(kidx__segment_doclens(s, straddling, &t, &b), KIDX_OK);
  ck_assert_uint_eq(t, straddling % 7);
  ck_assert_uint_eq(b, straddling % 11);
  ck_assert(kidx__segment_page_ok(s, page0 + 1));
  for (uint32_t d = 0; d < n; d++) {
    ck_assert_int_eq(kidx__segment_doclens(s, d, &t, &b), KIDX_OK);
    ck_assert_uint_eq(t, d % 7);
    ck_assert_uint_eq(b, d == 5 ? 300 : d % 11);
  }
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
}
END_TEST

/* ---- lookups by id ---- */

/* Looks id up in r: its local document in the segment that has it live,
 * or -1. */
static long find(const kidx_reader *r, const char *id) {
  size_t seg;
  uint32_t doc;
  int found = kidx__snapshot_find_id(kidx__reader_snapshot(r), id, strlen(id),
                                     &seg, &doc);
  ck_assert_int_ge(found, 0);
  return found ? (long)doc : -1;
}

START_TEST(test_doctables_every_id_found) {
  /* Segments of many sample ranges, of fewer documents than one sample
   * covers, and of one; replacements and deletions across them.  Every
   * live id is found, with its latest body; deleted and unknown ids are
   * not. */
  kidx_writer *w = tu_open_writer(dir);
  static const unsigned batches[] = {1000, 63, 64, 65, 1, 130};
  unsigned next = 0;
  char id[32], body[64];
  for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++) {
    for (unsigned i = 0; i < batches[k]; i++, next++) {
      snprintf(id, sizeof id, "doc/%u.txt", next);
      snprintf(body, sizeof body, "body of %u", next);
      ck_assert_int_eq(
          kidx_writer_add(w, id, strlen(id), "T", 1, body, strlen(body)),
          KIDX_OK);
    }
    ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  }
  /* Replace every 7th, delete every 11th (of those not replaced). */
  for (unsigned i = 0; i < next; i++) {
    snprintf(id, sizeof id, "doc/%u.txt", i);
    if (i % 7 == 0) {
      snprintf(body, sizeof body, "new body of %u", i);
      ck_assert_int_eq(
          kidx_writer_add(w, id, strlen(id), "T", 1, body, strlen(body)),
          KIDX_OK);
    } else if (i % 11 == 0) {
      ck_assert_int_eq(kidx_writer_delete(w, id, strlen(id)), KIDX_OK);
    }
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
      ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
    }
    kidx_reader *r = open_reader();
    kidx_document *doc = kidx_document_new();
    for (unsigned i = 0; i < next; i++) {
      snprintf(id, sizeof id, "doc/%u.txt", i);
      int rc = kidx_reader_get(r, id, strlen(id), doc);
      if (i % 7 != 0 && i % 11 == 0) {
        ck_assert_msg(rc == KIDX_ENOTFOUND, "%s: %d", id, rc);
        continue;
      }
      ck_assert_msg(rc == KIDX_OK, "%s: %d %s", id, rc,
                    kidx_document_errmsg(doc));
      snprintf(body, sizeof body, i % 7 ? "body of %u" : "new body of %u", i);
      size_t len;
      const char *got = kidx_document_body(doc, &len);
      ck_assert_uint_eq(len, strlen(body));
      ck_assert_mem_eq(got, body, len);
    }
    /* Ids that were never added: near misses and others. */
    for (unsigned i = 0; i < 2000; i++) {
      snprintf(id, sizeof id, i % 2 ? "doc/%u.tx" : "other-%u", i);
      ck_assert_int_eq(find(r, id), -1);
    }
    ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
    kidx_document_free(doc);
    kidx_reader_close(r);
  }
  kidx_writer_close(w);
}
END_TEST

START_TEST(test_doctables_segment_find_id_exact) {
  /* In one segment, every id leads to its own document number, whatever
   * its place among the samples (entry 0, 64, the last, between). */
  kidx_writer *w = tu_open_writer(dir);
  char id[32];
  for (unsigned i = 0; i < 300; i++) {
    snprintf(id, sizeof id, "%u", i * 7919u);
    ck_assert_int_eq(kidx_writer_add(w, id, strlen(id), "", 0, "x", 1),
                     KIDX_OK);
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  kidx_reader *r = open_reader();
  const kidx__segment *s = segment(r, 0);
  ck_assert_uint_eq(s->nsamples, 5);
  for (unsigned i = 0; i < 300; i++) {
    uint32_t doc = UINT32_MAX;
    snprintf(id, sizeof id, "%u", i * 7919u);
    ck_assert_int_eq(kidx__segment_find_id(s, id, strlen(id), &doc), 1);
    ck_assert_uint_eq(doc, i);
    snprintf(id, sizeof id, "%u", i * 7919u + 1);
    ck_assert_int_eq(kidx__segment_find_id(s, id, strlen(id), &doc), 0);
  }
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_doctables_empty_segment) {
  /* N = 0: every table empty, widths of one byte; no id is found. */
  char *path = kidx__path_join(dir, "seg-000000000001.kidx");
  kidx__memindex *mi;
  char errmsg[KIDX__ERRMSG_MAX];
  uint64_t ndocs = 1;
  ck_assert_int_eq(kidx__memindex_new(&mi, 0), KIDX_OK);
  ck_assert_int_eq(kidx__segment_write(path, NULL, 0, mi, 0, &ndocs, errmsg),
                   KIDX_OK);
  kidx__memindex_free(mi);
  ck_assert_uint_eq(ndocs, 0);
  kidx__segment s;
  ck_assert_int_eq(kidx__segment_open(&s, path, errmsg), KIDX_OK);
  ck_assert_uint_eq(s.sec_len[KIDX__SEC_DOCLENS], 0);
  ck_assert_uint_eq(s.sec_len[KIDX__SEC_IDS], 0);
  ck_assert_uint_eq(s.nsamples, 0);
  ck_assert_uint_eq(s.doclen_width[0], 1);
  ck_assert_uint_eq(s.doclen_width[1], 1);
  ck_assert_uint_eq(s.keyoff_width, 4);
  /* one key offset (0) and the text block table's sentinel */
  ck_assert_uint_eq(s.sec_len[KIDX__SEC_DOCTABLE], 4 + KIDX__TEXTBLOCK_ENTRY);
  uint32_t doc;
  ck_assert_int_eq(kidx__segment_find_id(&s, "a", 1, &doc), 0);
  ck_assert_int_eq(kidx__check_segment(&s, path, errmsg), KIDX_OK);
  kidx__segment_close(&s);
  free(path);
}
END_TEST

/* ---- damage ---- */

/* The fixture of the damage tests: one segment of NDOCS documents, ids
 * "doc-<i>", one body longer than 255 terms (widths 1 and 2). */
#define NDOCS 200u

static char *seg_path;
static char segname[KIDX__SEGNAME_MAX];
static char *original;
static size_t original_len;

static void damage_setup(void) {
  setup();
  kidx_writer *w = tu_open_writer(dir);
  for (unsigned i = 0; i < NDOCS; i++) {
    char id[16];
    snprintf(id, sizeof id, "doc-%u", i);
    add_words(w, id, 1 + i % 3, i == 17 ? 300 : 2 + i % 5);
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  kidx__segment_name(1, segname);
  seg_path = kidx__path_join(dir, segname);
  original = tu_read_file(seg_path, &original_len);
  ck_assert_ptr_nonnull(original);
}

static void damage_teardown(void) {
  free(original);
  free(seg_path);
  teardown();
}

/* Writes data (len bytes) as the segment, resealed first (valid page and
 * header checksums) when reseal is set, and binds the MANIFEST to it:
 * its entry's size and header checksum. */
static void write_segment(char *data, size_t len, int reseal) {
  if (reseal)
    ck_assert_int_eq(kidx__segment_reseal((uint8_t *)data, len), KIDX_OK);
  tu_write_file(dir, segname, data, len);
  char *mpath = kidx__path_join(dir, KIDX__MANIFEST_FILE);
  size_t mlen;
  char *m = tu_read_file(mpath, &mlen);
  ck_assert_ptr_nonnull(m);
  kidx__set_u64((uint8_t *)m + 48 + 8, len);
  memcpy(m + 48 + 32, data + KIDX__HDR_CRC, 4);
  kidx__set_u32((uint8_t *)m + mlen - 4, kidx__crc32c(0, m, mlen - 4));
  tu_write_file(dir, KIDX__MANIFEST_FILE, m, mlen);
  free(m);
  free(mpath);
}

/* A copy of the original with its header's fields changed by edit. */
static char *with_header(void (*edit)(kidx__seghdr *h, int k), int k) {
  char *copy = malloc(original_len);
  ck_assert_ptr_nonnull(copy);
  memcpy(copy, original, original_len);
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)copy);
  edit(&h, k);
  kidx__seghdr_encode(&h, (uint8_t *)copy);
  return copy;
}

/* Opening the current file: the status, and the message in errmsg. */
static int open_segment(char *errmsg) {
  kidx__segment s;
  int rc = kidx__segment_open(&s, seg_path, errmsg);
  if (rc == KIDX_OK)
    kidx__segment_close(&s);
  return rc;
}

static void bad_width(kidx__seghdr *h, int k) {
  switch (k) {
  case 0:
    h->doclen_width[0] = 3;
    break;
  case 1:
    h->doclen_width[1] = 3;
    break;
  case 2:
    h->doclen_width[0] = 0;
    break;
  case 3:
    h->doclen_width[1] = 8;
    break;
  case 4:
    h->keyoff_width = 3;
    break;
  case 5:
    h->keyoff_width = 8; /* section 7 is far shorter than 4 GiB */
    break;
  default:
    h->keyoff_width = 0;
  }
}

START_TEST(test_doctables_bad_width_refused_at_open) {
  for (int k = 0; k < 7; k++) {
    char *copy = with_header(bad_width, k);
    write_segment(copy, original_len, 0);
    free(copy);
    char errmsg[KIDX__ERRMSG_MAX];
    ck_assert_int_eq(open_segment(errmsg), KIDX_ECORRUPT);
    ck_assert_msg(strstr(errmsg, segname) &&
                      strstr(errmsg, "impossible table widths"),
                  "case %d: %s", k, errmsg);
    kidx_reader *r;
    ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
    ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_ECORRUPT);
    kidx_reader_close(r);
  }
  write_segment(original, original_len, 0);
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(open_segment(errmsg), KIDX_OK);
}
END_TEST

static void bad_size(kidx__seghdr *h, int k) {
  switch (k) {
  case 0: /* section 3 a byte short, a byte long */
    h->sec_len[KIDX__SEC_DOCLENS]--;
    break;
  case 1:
    h->sec_len[KIDX__SEC_DOCLENS]++;
    break;
  case 2: /* a valid width that the section's size does not match */
    h->doclen_width[0] = 2;
    break;
  case 3:
    h->doclen_width[1] = 1;
    break;
  case 4: /* section 5 one key offset short, or one more */
    h->sec_len[KIDX__SEC_DOCTABLE] -= 4;
    break;
  case 5:
    h->sec_len[KIDX__SEC_DOCTABLE] += 4;
    break;
  case 6: /* section 6 one entry short, one sample short, one more */
    h->sec_len[KIDX__SEC_IDS] -= 4;
    break;
  case 7:
    h->sec_len[KIDX__SEC_IDS] -= 8;
    break;
  default:
    h->sec_len[KIDX__SEC_IDS] += 8;
  }
}

START_TEST(test_doctables_sizes_checked_at_open) {
  for (int k = 0; k < 9; k++) {
    char *copy = with_header(bad_size, k);
    write_segment(copy, original_len, 0);
    free(copy);
    char errmsg[KIDX__ERRMSG_MAX];
    ck_assert_int_eq(open_segment(errmsg), KIDX_ECORRUPT);
    ck_assert_msg(strstr(errmsg, segname) && strstr(errmsg, "section sizes"),
                  "case %d: %s", k, errmsg);
  }
}
END_TEST

/* Entry i of the original's id table: its document, and that
 * document's id. */
static uint32_t entry_doc(size_t i, char *id, size_t cap) {
  kidx__segment s;
  char errmsg[KIDX__ERRMSG_MAX];
  write_segment(original, original_len, 0);
  ck_assert_int_eq(kidx__segment_open(&s, seg_path, errmsg), KIDX_OK);
  uint32_t doc =
      kidx__ids_doc_decode(s.sec[KIDX__SEC_IDS] + kidx__ids_doc_at(s.ndocs, i));
  kidx__docinfo d;
  ck_assert_int_eq(kidx__segment_key(&s, doc, &d), KIDX_OK);
  snprintf(id, cap, "%.*s", (int)d.id_len, d.id);
  kidx__segment_close(&s);
  return doc;
}

/* Where section sec starts in the original. */
static size_t section_at(int sec) {
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)original);
  return (size_t)h.sec_off[sec];
}

/* kidx_reader_get of id on the current file: the status, the message in
 * msg. */
static int get(const char *id, char *msg, size_t cap) {
  kidx_reader *r = open_reader();
  kidx_document *doc = kidx_document_new();
  int rc = kidx_reader_get(r, id, strlen(id), doc);
  snprintf(msg, cap, "%s", kidx_document_errmsg(doc));
  kidx_document_free(doc);
  kidx_reader_close(r);
  return rc;
}

/* kidx_reader_check of the current file: the status, the message in
 * msg. */
static int check(char *msg, size_t cap) {
  kidx_reader *r = open_reader();
  int rc = kidx_reader_check(r);
  snprintf(msg, cap, "%s", kidx_reader_errmsg(r));
  kidx_reader_close(r);
  return rc;
}

START_TEST(test_doctables_sample_mismatch) {
  /* Sample 1 (entry 64's hash) one above and one below its entry's: the
   * lookup of that entry's id reads the entry and refuses the sample
   * (or, below, rests its answer on it and checks it); an id of another
   * range is still found; the check refuses the sample. */
  char id64[16], id150[16], msg[KIDX__ERRMSG_MAX];
  entry_doc(64, id64, sizeof id64);
  entry_doc(150, id150, sizeof id150);
  size_t at = section_at(KIDX__SEC_IDS) + (size_t)kidx__ids_sample_at(1);
  for (int k = 0; k < 2; k++) {
    char *copy = malloc(original_len);
    memcpy(copy, original, original_len);
    uint8_t *p = (uint8_t *)copy + at;
    kidx__ids_sample_encode(p, kidx__ids_sample_decode(p) + (k ? 1 : -1ull));
    write_segment(copy, original_len, 1);
    free(copy);
    int rc = get(id64, msg, sizeof msg);
    ck_assert_msg(rc == KIDX_ECORRUPT, "%d: get %s: %d", k, id64, rc);
    ck_assert_msg(strstr(msg, segname) && strstr(msg, "section 'ids'"), "%s",
                  msg);
    ck_assert_int_eq(get(id150, msg, sizeof msg), KIDX_OK);
    ck_assert_int_eq(check(msg, sizeof msg), KIDX_ECORRUPT);
    ck_assert_msg(strstr(msg, "sampled hash"), "%s", msg);
  }
}
END_TEST

START_TEST(test_doctables_doc_out_of_range) {
  /* A document number >= N at any entry: the lookup of the id that entry
   * held reads it and fails; the check fails. */
  static const uint32_t bad[] = {NDOCS, NDOCS + 1000, UINT32_MAX};
  char id[16], msg[KIDX__ERRMSG_MAX];
  for (size_t i = 0; i < NDOCS; i++) {
    entry_doc(i, id, sizeof id);
    char *copy = malloc(original_len);
    memcpy(copy, original, original_len);
    kidx__ids_doc_encode((uint8_t *)copy + section_at(KIDX__SEC_IDS) +
                             kidx__ids_doc_at(NDOCS, i),
                         bad[i % 3]);
    write_segment(copy, original_len, 1);
    free(copy);
    int rc = get(id, msg, sizeof msg);
    ck_assert_msg(rc == KIDX_ECORRUPT, "entry %zu (%s): %d", i, id, rc);
    ck_assert_msg(strstr(msg, segname) && strstr(msg, "section 'ids'"), "%s",
                  msg);
    if (i % 37 == 0) {
      ck_assert_int_eq(check(msg, sizeof msg), KIDX_ECORRUPT);
      ck_assert_msg(strstr(msg, "id table"), "%s", msg);
    }
  }
}
END_TEST

START_TEST(test_doctables_order_checked) {
  /* Two entries swapped, or one document listed twice: lookups answer or
   * report damage, the check refuses the table. */
  char msg[KIDX__ERRMSG_MAX];
  size_t ids = section_at(KIDX__SEC_IDS);
  for (int k = 0; k < 4; k++) {
    size_t i = k < 2 ? (size_t)(k ? 100 : 0) : (size_t)(k == 2 ? 10 : 199);
    char *copy = malloc(original_len);
    memcpy(copy, original, original_len);
    uint8_t *a = (uint8_t *)copy + ids + kidx__ids_doc_at(NDOCS, i);
    uint8_t *b = (uint8_t *)copy + ids +
                 kidx__ids_doc_at(NDOCS, i == NDOCS - 1 ? i - 1 : i + 1);
    uint8_t t[KIDX__ID_DOC_SIZE];
    memcpy(t, a, sizeof t);
    if (k < 2) /* swapped */
      memcpy(a, b, sizeof t);
    memcpy(b, t, sizeof t); /* else: a's document twice */
    write_segment(copy, original_len, 1);
    free(copy);
    for (unsigned d = 0; d < NDOCS; d += 3) {
      char id[16];
      snprintf(id, sizeof id, "doc-%u", d);
      int rc = get(id, msg, sizeof msg);
      ck_assert_msg(rc == KIDX_OK || rc == KIDX_ECORRUPT ||
                        rc == KIDX_ENOTFOUND,
                    "case %d, %s: %d", k, id, rc);
    }
    ck_assert_int_eq(check(msg, sizeof msg), KIDX_ECORRUPT);
    ck_assert_msg(strstr(msg, k == 0   ? "sampled hash"
                              : k == 1 ? "out of order"
                                       : "every document once"),
                  "case %d: %s", k, msg);
  }
}
END_TEST

START_TEST(test_doctables_every_flip_in_ids_found) {
  /* Every bit that matters: any byte of section 6 flipped, checksums made
   * valid again, is found by the check (a sample no longer its entry's
   * hash, a document out of range or twice); lookups of every id answer
   * with the right document or report damage. */
  size_t off = section_at(KIDX__SEC_IDS);
  size_t len = (size_t)kidx__ids_size(NDOCS);
  char *copy = malloc(original_len), msg[KIDX__ERRMSG_MAX];
  for (size_t i = off; i < off + len; i++) {
    memcpy(copy, original, original_len);
    copy[i] = (char)(copy[i] ^ (i & 1 ? 0x80 : 0x01));
    write_segment(copy, original_len, 1);
    kidx_reader *r = open_reader();
    kidx_document *doc = kidx_document_new();
    for (unsigned d = 0; d < NDOCS; d += 7) {
      char id[16];
      snprintf(id, sizeof id, "doc-%u", d);
      int rc = kidx_reader_get(r, id, strlen(id), doc);
      ck_assert_msg(rc == KIDX_ECORRUPT || rc == KIDX_ENOTFOUND ||
                        rc == KIDX_OK,
                    "byte %zu, %s: %d", i - off, id, rc);
      size_t n;
      if (rc == KIDX_OK)
        ck_assert_mem_eq(kidx_document_id(doc, &n), id, strlen(id));
    }
    kidx_document_free(doc);
    ck_assert_msg(kidx_reader_check(r) == KIDX_ECORRUPT, "byte %zu", i - off);
    snprintf(msg, sizeof msg, "%s", kidx_reader_errmsg(r));
    ck_assert_msg(strstr(msg, "id table"), "byte %zu: %s", i - off, msg);
    kidx_reader_close(r);
  }
  free(copy);
}
END_TEST

START_TEST(test_doctables_wider_lengths_found_by_check) {
  /* Section 3 written again with both fields in 4 bytes, the file laid
   * out again around it: a valid file (open, search and fetch work, the
   * lengths read the same), but not the writer's, which the check says. */
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)original);
  ck_assert_uint_eq(h.doclen_width[0], 1);
  ck_assert_uint_eq(h.doclen_width[1], 2);
  const uint8_t wide[KIDX__NFIELDS] = {4, 4};
  size_t n3 = NDOCS * 8, old3 = (size_t)h.sec_len[KIDX__SEC_DOCLENS];
  ck_assert_uint_eq(old3, NDOCS * 3);
  size_t len = original_len + n3 - old3;
  char *copy = malloc(len);
  memcpy(copy, original, KIDX__HEADER_SIZE);
  size_t at = KIDX__HEADER_SIZE;
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    /* The writer's order, without gaps. */
    ck_assert_uint_eq(h.sec_off[i], i ? h.sec_off[i - 1] + h.sec_len[i - 1]
                                      : KIDX__HEADER_SIZE);
  }
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    const uint8_t *src = (const uint8_t *)original + h.sec_off[i];
    if (i == KIDX__SEC_DOCLENS) {
      for (size_t d = 0; d < NDOCS; d++) {
        uint32_t t, b;
        kidx__doclen_decode(src + 3 * d, h.doclen_width, &t, &b);
        kidx__doclen_encode((uint8_t *)copy + at + 8 * d, wide, t, b);
      }
      h.sec_len[i] = n3;
    } else {
      memcpy(copy + at, src, (size_t)h.sec_len[i]);
    }
    h.sec_off[i] = at;
    at += (size_t)h.sec_len[i];
  }
  ck_assert_uint_eq(at, len);
  h.file_size = len;
  h.doclen_width[0] = h.doclen_width[1] = 4;
  kidx__seghdr_encode(&h, (uint8_t *)copy);
  write_segment(copy, len, 1);
  free(copy);
  kidx_reader *r = open_reader();
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  kidx_search_options o;
  kidx_search_options_init(&o);
  ck_assert_int_eq(kidx_search(r, "w", 1, &o, res), KIDX_OK);
  ck_assert_uint_gt(kidx_results_count(res), 0);
  kidx_results_free(res);
  const kidx__segment *s = segment(r, 0);
  uint32_t t, b;
  ck_assert_int_eq(kidx__segment_doclens(s, 17, &t, &b), KIDX_OK);
  ck_assert_uint_eq(t, 1 + 17 % 3);
  ck_assert_uint_eq(b, 300);
  ck_assert_int_eq(kidx_reader_check(r), KIDX_ECORRUPT);
  ck_assert_msg(strstr(kidx_reader_errmsg(r), "smallest width"), "%s",
                kidx_reader_errmsg(r));
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_doctables_key_offsets_damage) {
  /* Key offsets of 4 bytes changed: offset 9 (the end of document 8's
   * record, the start of 9's) past section 7's end, offset 0 not 0.  The
   * fetch of a document whose record they bound fails, naming the table
   * or the key records it then finds out of bounds; the check refuses
   * the table. */
  size_t off = section_at(KIDX__SEC_DOCTABLE);
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)original);
  ck_assert_uint_eq(h.keyoff_width, 4);
  static const struct {
    size_t entry;
    uint32_t to;
    const char *id;
  } cases[] = {
      {9, 0xFFFFFFF0u, "doc-9"}, {9, 0xFFFFFFF0u, "doc-8"}, {0, 1, "doc-0"}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char *copy = malloc(original_len);
    memcpy(copy, original, original_len);
    kidx__keyoff_encode((uint8_t *)copy + off + cases[k].entry * 4, 4,
                        cases[k].to);
    write_segment(copy, original_len, 1);
    free(copy);
    char msg[KIDX__ERRMSG_MAX];
    int rc = get(cases[k].id, msg, sizeof msg);
    ck_assert_msg(rc == KIDX_ECORRUPT, "case %zu: %d", k, rc);
    ck_assert_msg(strstr(msg, segname) && (strstr(msg, "'document table'") ||
                                           strstr(msg, "'keys'")),
                  "case %zu: %s", k, msg);
    ck_assert_int_eq(check(msg, sizeof msg), KIDX_ECORRUPT);
    ck_assert_msg(strstr(msg, "document table"), "case %zu: %s", k, msg);
  }
}
END_TEST

static Suite *doctables_suite(void) {
  Suite *s = suite_create("doctables");
  TCase *tc = tcase_create("Core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_doctables_smallest_widths);
  tcase_add_test(tc, test_doctables_lengths_straddle_pages);
  tcase_add_test(tc, test_doctables_every_id_found);
  tcase_add_test(tc, test_doctables_segment_find_id_exact);
  tcase_add_test(tc, test_doctables_empty_segment);
  suite_add_tcase(s, tc);
  tc = tcase_create("Damage");
  tcase_add_checked_fixture(tc, damage_setup, damage_teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_doctables_bad_width_refused_at_open);
  tcase_add_test(tc, test_doctables_sizes_checked_at_open);
  tcase_add_test(tc, test_doctables_sample_mismatch);
  tcase_add_test(tc, test_doctables_doc_out_of_range);
  tcase_add_test(tc, test_doctables_order_checked);
  tcase_add_test(tc, test_doctables_every_flip_in_ids_found);
  tcase_add_test(tc, test_doctables_wider_lengths_found_by_check);
  tcase_add_test(tc, test_doctables_key_offsets_damage);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(doctables_suite());
}
