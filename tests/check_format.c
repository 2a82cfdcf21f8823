/*
 * check_format.c -- the codecs of the fixed-size records of a segment file
 * (kidx_int.h, "fixed-size records"): the header and the entries of the
 * term block index, document lengths (in their per-segment widths), key
 * offsets, the id table (samples and documents) and page checksums.  Each
 * round-trips, and each field lands at the byte offset doc/FORMAT.md
 * gives it: the offsets below are written out as numbers on purpose,
 * copied from the document, so that a change of the layout in the code
 * alone fails here.
 */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <stdlib.h>

/* A header whose every field has a value of its own, with bytes that
 * differ from each other, so that a field written at the wrong offset or
 * with the wrong width cannot go unnoticed. */
static kidx__seghdr distinctive(void) {
  kidx__seghdr h;
  memset(&h, 0, sizeof h);
  h.version = 0x04030201u;
  h.analysis = 0x14131211u;
  h.nsections = 0x24232221u;
  h.an_flags = 0x34333231u;
  h.file_size = 0x4847464544434241ull;
  h.ndocs = 0x5857565554535251ull;
  h.nterms = 0x6867666564636261ull;
  h.ntokens = 0x7877767574737271ull;
  h.title_tokens = 0x8887868584838281ull;
  h.title_bytes = 0x9897969594939291ull;
  h.doclen_width[0] = 0xD1;
  h.doclen_width[1] = 0xD2;
  h.keyoff_width = 0xD3;
  for (uint64_t i = 0; i < KIDX__SEC_COUNT; i++) {
    h.sec_off[i] = UINT64_C(0xA0A0A0A0A0A0A000) | i;
    h.sec_len[i] = UINT64_C(0xB0B0B0B0B0B0B000) | i;
  }
  h.pageindex_crc = 0xC4C3C2C1u;
  return h;
}

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

START_TEST(test_format_header_round_trip) {
  kidx__seghdr in = distinctive(), out;
  uint8_t b[KIDX__HEADER_SIZE];
  kidx__seghdr_encode(&in, b);
  memset(&out, 0xEE, sizeof out);
  kidx__seghdr_decode(&out, b);
  ck_assert(out.magic_ok);
  ck_assert(out.crc_ok);
  ck_assert_uint_eq(out.version, in.version);
  ck_assert_uint_eq(out.analysis, in.analysis);
  ck_assert_uint_eq(out.nsections, in.nsections);
  ck_assert_uint_eq(out.an_flags, in.an_flags);
  ck_assert_uint_eq(out.file_size, in.file_size);
  ck_assert_uint_eq(out.ndocs, in.ndocs);
  ck_assert_uint_eq(out.nterms, in.nterms);
  ck_assert_uint_eq(out.ntokens, in.ntokens);
  ck_assert_uint_eq(out.title_tokens, in.title_tokens);
  ck_assert_uint_eq(out.title_bytes, in.title_bytes);
  ck_assert_uint_eq(out.doclen_width[0], in.doclen_width[0]);
  ck_assert_uint_eq(out.doclen_width[1], in.doclen_width[1]);
  ck_assert_uint_eq(out.keyoff_width, in.keyoff_width);
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    ck_assert_uint_eq(out.sec_off[i], in.sec_off[i]);
    ck_assert_uint_eq(out.sec_len[i], in.sec_len[i]);
  }
  ck_assert_uint_eq(out.pageindex_crc, in.pageindex_crc);
  ck_assert_uint_eq(out.crc, kidx__crc32c(0, b, 252));
  /* Encoding what was decoded gives the same bytes. */
  uint8_t again[KIDX__HEADER_SIZE];
  kidx__seghdr_encode(&out, again);
  ck_assert_mem_eq(again, b, sizeof b);
}
END_TEST

START_TEST(test_format_header_offsets_are_documented) {
  /* doc/FORMAT.md, "Header (256 bytes)". */
  kidx__seghdr h = distinctive();
  uint8_t b[KIDX__HEADER_SIZE];
  memset(b, 0x5A, sizeof b);
  kidx__seghdr_encode(&h, b);
  ck_assert_uint_eq(KIDX__HEADER_SIZE, 256);
  ck_assert_mem_eq(b, "KIDX\r\n\x1a\n", 8);
  ck_assert_uint_eq(le(b + 8, 4), h.version);
  ck_assert_uint_eq(le(b + 12, 4), h.analysis);
  ck_assert_uint_eq(le(b + 16, 4), h.nsections);
  ck_assert_uint_eq(le(b + 20, 4), h.an_flags);
  ck_assert_uint_eq(le(b + 24, 8), h.file_size);
  ck_assert_uint_eq(le(b + 32, 8), h.ndocs);
  ck_assert_uint_eq(le(b + 40, 8), h.nterms);
  ck_assert_uint_eq(le(b + 48, 8), h.ntokens);
  ck_assert_uint_eq(le(b + 56, 8), h.title_tokens);
  ck_assert_int_eq(KIDX__SEC_COUNT, 10);
  for (int i = 0; i < 10; i++) {
    ck_assert_uint_eq(le(b + 64 + 16 * i, 8), h.sec_off[i]);
    ck_assert_uint_eq(le(b + 64 + 16 * i + 8, 8), h.sec_len[i]);
  }
  ck_assert_uint_eq(le(b + 224, 8), h.title_bytes);
  ck_assert_uint_eq(b[232], h.doclen_width[0]);
  ck_assert_uint_eq(b[233], h.doclen_width[1]);
  ck_assert_uint_eq(b[234], h.keyoff_width);
  for (int i = 235; i < 248; i++)
    ck_assert_uint_eq(b[i], 0);
  ck_assert_uint_eq(le(b + 248, 4), h.pageindex_crc);
  ck_assert_uint_eq(le(b + 252, 4), kidx__crc32c(0, b, 252));
  /* The named offsets are the same numbers. */
  ck_assert_uint_eq(KIDX__HDR_VERSION, 8);
  ck_assert_uint_eq(KIDX__HDR_SECTABLE, 64);
  ck_assert_uint_eq(KIDX__HDR_TITLE_WIDTH, 232);
  ck_assert_uint_eq(KIDX__HDR_BODY_WIDTH, 233);
  ck_assert_uint_eq(KIDX__HDR_KEYOFF_WIDTH, 234);
  ck_assert_uint_eq(KIDX__HDR_RESERVED, 235);
  ck_assert_uint_eq(KIDX__HDR_PAGEINDEX_CRC, 248);
  ck_assert_uint_eq(KIDX__HDR_CRC, 252);
}
END_TEST

START_TEST(test_format_header_decode_reports_damage) {
  kidx__seghdr h = distinctive(), out;
  uint8_t b[KIDX__HEADER_SIZE];
  kidx__seghdr_encode(&h, b);
  /* Any flipped bit fails the CRC; one in the magic fails the magic too
   * (decode still reads every field: open decides what to refuse). */
  for (size_t i = 0; i < sizeof b; i++) {
    b[i] ^= 0x40;
    kidx__seghdr_decode(&out, b);
    ck_assert_msg(!out.crc_ok, "byte %zu", i);
    ck_assert_int_eq(out.magic_ok, i >= 8);
    b[i] ^= 0x40;
  }
  kidx__seghdr_decode(&out, b);
  ck_assert(out.magic_ok && out.crc_ok);
}
END_TEST

START_TEST(test_format_entries_round_trip_at_documented_offsets) {
  /* Section 2: u64 offset in section 1, u64 offset in section 0. */
  uint8_t t[16];
  uint64_t terms, post;
  ck_assert_uint_eq(KIDX__TIX_SIZE, 16);
  kidx__tix_encode(t, 0x0807060504030201ull, 0x1817161514131211ull);
  ck_assert_uint_eq(le(t, 8), 0x0807060504030201ull);
  ck_assert_uint_eq(le(t + 8, 8), 0x1817161514131211ull);
  kidx__tix_decode(t, &terms, &post);
  ck_assert_uint_eq(terms, 0x0807060504030201ull);
  ck_assert_uint_eq(post, 0x1817161514131211ull);

  /* Sections 8 and 9: a u32 CRC per page, in page order. */
  kidx__buf b = {0};
  ck_assert_uint_eq(KIDX__PAGESUM_SIZE, 4);
  ck_assert_int_eq(kidx__pagesum_put(&b, 0x04030201u), KIDX_OK);
  ck_assert_int_eq(kidx__pagesum_put(&b, 0x14131211u), KIDX_OK);
  ck_assert_uint_eq(b.n, 8);
  ck_assert_uint_eq(le(b.p + 4, 4), 0x14131211u);
  ck_assert_uint_eq(kidx__pagesum_get(b.p, 0), 0x04030201u);
  kidx__pagesum_set(b.p, 1, 0x24232221u);
  ck_assert_uint_eq(kidx__pagesum_get(b.p, 1), 0x24232221u);
  ck_assert_uint_eq(le(b.p + 4, 4), 0x24232221u);
  kidx__buf_free(&b);
}
END_TEST

START_TEST(test_format_doclen_widths) {
  /* Section 3: per field, the fewest of 1, 2 or 4 bytes holding the
   * segment's longest; nothing else is a width. */
  ck_assert_uint_eq(kidx__doclen_width(0), 1);
  ck_assert_uint_eq(kidx__doclen_width(255), 1);
  ck_assert_uint_eq(kidx__doclen_width(256), 2);
  ck_assert_uint_eq(kidx__doclen_width(65535), 2);
  ck_assert_uint_eq(kidx__doclen_width(65536), 4);
  ck_assert_uint_eq(kidx__doclen_width(UINT32_MAX), 4);
  for (unsigned w = 0; w <= 8; w++)
    ck_assert_int_eq(kidx__doclen_width_valid(w), w == 1 || w == 2 || w == 4);
  ck_assert_uint_eq(KIDX__DOCLEN_TITLE, 0);
  ck_assert_uint_eq(KIDX__DOCLEN_MAX, 8);
}
END_TEST

START_TEST(test_format_doclen_round_trip_at_documented_offsets) {
  /* Every pair of widths: the title's bytes at 0, little-endian, the
   * body's right after them, nothing written beyond the entry. */
  static const unsigned widths[] = {1, 2, 4};
  for (int a = 0; a < 3; a++) {
    for (int b = 0; b < 3; b++) {
      const uint8_t w[KIDX__NFIELDS] = {(uint8_t)widths[a], (uint8_t)widths[b]};
      /* The largest values of each width, with bytes that differ. */
      uint32_t title = (uint32_t)(0xF4F3F2F1ull >> (32 - 8 * w[0]));
      uint32_t body = (uint32_t)(0xE4E3E2E1ull >> (32 - 8 * w[1]));
      uint8_t e[KIDX__DOCLEN_MAX + 1];
      memset(e, 0x5A, sizeof e);
      kidx__doclen_encode(e, w, title, body);
      ck_assert_uint_eq(le(e, w[0]), title);
      ck_assert_uint_eq(le(e + w[0], w[1]), body);
      for (size_t i = (size_t)w[0] + w[1]; i < sizeof e; i++)
        ck_assert_uint_eq(e[i], 0x5A);
      uint32_t t2, b2;
      kidx__doclen_decode(e, w, &t2, &b2);
      ck_assert_uint_eq(t2, title);
      ck_assert_uint_eq(b2, body);
    }
  }
}
END_TEST

START_TEST(test_format_keyoff_round_trip) {
  /* Section 5's key offsets: u32 while section 7 is shorter than 2^32
   * bytes, u64 from there. */
  ck_assert_uint_eq(kidx__keyoff_width(0), 4);
  ck_assert_uint_eq(kidx__keyoff_width(UINT32_MAX), 4);
  ck_assert_uint_eq(kidx__keyoff_width((uint64_t)UINT32_MAX + 1), 8);
  uint8_t e[9];
  memset(e, 0x5A, sizeof e);
  kidx__keyoff_encode(e, 4, 0x04030201u);
  ck_assert_uint_eq(le(e, 4), 0x04030201u);
  ck_assert_uint_eq(e[4], 0x5A);
  ck_assert_uint_eq(kidx__keyoff_decode(e, 4), 0x04030201u);
  kidx__keyoff_encode(e, 8, 0x0807060504030201ull);
  ck_assert_uint_eq(le(e, 8), 0x0807060504030201ull);
  ck_assert_uint_eq(e[8], 0x5A);
  ck_assert_uint_eq(kidx__keyoff_decode(e, 8), 0x0807060504030201ull);
}
END_TEST

START_TEST(test_format_id_table_layout) {
  /* Section 6: S = ceil(N / 64) u64 samples, then N u32 documents. */
  ck_assert_uint_eq(KIDX__ID_SAMPLE, 64);
  ck_assert_uint_eq(KIDX__ID_SAMPLE_SIZE, 8);
  ck_assert_uint_eq(KIDX__ID_DOC_SIZE, 4);
  static const struct {
    uint64_t n, samples, size;
  } sizes[] = {{0, 0, 0},          {1, 1, 8 + 4},
               {63, 1, 8 + 252},   {64, 1, 8 + 256},
               {65, 2, 16 + 260},  {128, 2, 16 + 512},
               {129, 3, 24 + 516}, {106523, 1665, 1665 * 8 + 106523 * 4}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    ck_assert_uint_eq(kidx__ids_nsamples(sizes[i].n), sizes[i].samples);
    ck_assert_uint_eq(kidx__ids_size(sizes[i].n), sizes[i].size);
  }
  ck_assert_uint_eq(kidx__ids_sample_at(0), 0);
  ck_assert_uint_eq(kidx__ids_sample_at(2), 16);
  ck_assert_uint_eq(kidx__ids_doc_at(65, 0), 16);
  ck_assert_uint_eq(kidx__ids_doc_at(65, 64), 16 + 256);
  ck_assert_uint_eq(kidx__ids_doc_at(64, 3), 8 + 12);
  uint8_t e[9];
  memset(e, 0x5A, sizeof e);
  kidx__ids_sample_encode(e, 0x0807060504030201ull);
  ck_assert_uint_eq(le(e, 8), 0x0807060504030201ull);
  ck_assert_uint_eq(e[8], 0x5A);
  ck_assert_uint_eq(kidx__ids_sample_decode(e), 0x0807060504030201ull);
  memset(e, 0x5A, sizeof e);
  kidx__ids_doc_encode(e, 0x14131211u);
  ck_assert_uint_eq(le(e, 4), 0x14131211u);
  ck_assert_uint_eq(e[4], 0x5A);
  ck_assert_uint_eq(kidx__ids_doc_decode(e), 0x14131211u);
}
END_TEST

static Suite *format_suite(void) {
  Suite *s = suite_create("format");
  TCase *tc = tcase_create("Core");
  tcase_add_test(tc, test_format_header_round_trip);
  tcase_add_test(tc, test_format_header_offsets_are_documented);
  tcase_add_test(tc, test_format_header_decode_reports_damage);
  tcase_add_test(tc, test_format_entries_round_trip_at_documented_offsets);
  tcase_add_test(tc, test_format_doclen_widths);
  tcase_add_test(tc, test_format_doclen_round_trip_at_documented_offsets);
  tcase_add_test(tc, test_format_keyoff_round_trip);
  tcase_add_test(tc, test_format_id_table_layout);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(format_suite());
}
