/* Damaged index files: every single flipped byte, every truncation, and
 * trailing garbage must be refused at open with KIDX_ECORRUPT (or
 * KIDX_EFORMAT for the version field), never crash, never answer. */
#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static char *dir;
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
  path = kidx__path_join(dir, KIDX__INDEX_FILE);
  original = tu_read_file(path, &original_len);
  ck_assert_ptr_nonnull(original);
}

static void teardown(void) {
  free(original);
  free(path);
  tu_rmtree(dir);
  free(dir);
}

static void write_index(const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

/* Opens the (damaged) index; returns the status, checking the message. */
static int try_open(void) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  int rc = kidx_reader_open(r, dir);
  if (rc != KIDX_OK && !strstr(kidx_reader_errmsg(r), KIDX__INDEX_FILE))
    ck_abort_msg("message does not name the file: %s", kidx_reader_errmsg(r));
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
  kidx__set_u32((uint8_t *)copy + 8, KIDX__FORMAT_VERSION + 1);
  kidx__set_u32((uint8_t *)copy + KIDX__HEADER_SIZE - 4,
                kidx__crc32c(0, copy, KIDX__HEADER_SIZE - 4));
  write_index(copy, original_len);
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_EFORMAT);
  char want[32];
  snprintf(want, sizeof want, "version %u", KIDX__FORMAT_VERSION + 1);
  ck_assert_ptr_nonnull(strstr(kidx_reader_errmsg(r), want));
  kidx_reader_close(r);
  free(copy);
}
END_TEST

START_TEST(test_corrupt_writer_refuses_damaged_base) {
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  copy[original_len / 2] ^= 0x10;
  write_index(copy, original_len);
  free(copy);
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_ECORRUPT);
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
  return s;
}

int main(void) {
  return tu_run_suite(corrupt_suite());
}
