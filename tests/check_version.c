/* The version macros agree with CMake's project() version (passed in as
 * KIDX_EXPECT_VERSION), the run-time version agrees with the header, and
 * every status code has its own message. */
#include "kidx.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_version_matches_project) {
  char v[32];
  snprintf(v, sizeof v, "%d.%d.%d", KIDX_VERSION_MAJOR, KIDX_VERSION_MINOR,
           KIDX_VERSION_PATCH);
  ck_assert_str_eq(v, KIDX_EXPECT_VERSION);
  ck_assert_str_eq(KIDX_VERSION_STRING, KIDX_EXPECT_VERSION);
  ck_assert_str_eq(kidx_version_string(), KIDX_EXPECT_VERSION);
  ck_assert_uint_eq(kidx_version(), KIDX_VERSION_NUMBER);
}
END_TEST

START_TEST(test_version_strerror) {
  static const kidx_status codes[] = {
#define XX(name, value, text) KIDX_E##name,
      KIDX_STATUS_MAP(XX)
#undef XX
  };
  size_t n = sizeof codes / sizeof codes[0];
  ck_assert_uint_eq(n, 10);
  for (size_t i = 0; i < n; i++) {
    ck_assert_int_lt(codes[i], 0);
    const char *msg = kidx_strerror(codes[i]);
    ck_assert_str_ne(msg, "unknown error");
    for (size_t j = 0; j < i; j++)
      ck_assert_str_ne(msg, kidx_strerror(codes[j]));
  }
  ck_assert_str_eq(kidx_strerror(KIDX_ECORRUPT), "index is corrupt");
  ck_assert_str_eq(kidx_strerror((kidx_status)-999), "unknown error");
  ck_assert_str_eq(kidx_strerror(KIDX_OK), "success");
}
END_TEST

int main(void) {
  Suite *s = suite_create("version");
  TCase *tc = tcase_create("Core");
  tcase_add_test(tc, test_version_matches_project);
  tcase_add_test(tc, test_version_strerror);
  suite_add_tcase(s, tc);
  return tu_run_suite(s);
}
