/* Unit tests for buf.c (buffers, varints, little-endian helpers). */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <stdlib.h>

START_TEST(test_buf_varint_roundtrip) {
  static const uint64_t values[] = {0,
                                    1,
                                    127,
                                    128,
                                    255,
                                    300,
                                    16383,
                                    16384,
                                    UINT32_MAX,
                                    1ull << 35,
                                    UINT64_MAX - 1,
                                    UINT64_MAX};
  kidx__buf b = {0};
  size_t nvalues = sizeof values / sizeof values[0];
  for (size_t i = 0; i < nvalues; i++)
    ck_assert_int_eq(kidx__buf_put_varint(&b, values[i]), KIDX_OK);
  const uint8_t *p = b.p, *end = b.p + b.n;
  for (size_t i = 0; i < nvalues; i++) {
    uint64_t v;
    ck_assert_int_eq(kidx__varint_get(&p, end, &v), 0);
    ck_assert_uint_eq(v, values[i]);
  }
  ck_assert_ptr_eq(p, end);
  kidx__buf_free(&b);
}
END_TEST

START_TEST(test_buf_varint_sizes) {
  uint8_t out[10];
  ck_assert_uint_eq(kidx__varint_encode(out, 0), 1);
  ck_assert_uint_eq(kidx__varint_encode(out, 127), 1);
  ck_assert_uint_eq(kidx__varint_encode(out, 128), 2);
  ck_assert_uint_eq(out[0], 0x80);
  ck_assert_uint_eq(out[1], 0x01);
  ck_assert_uint_eq(kidx__varint_encode(out, UINT64_MAX), 10);
}
END_TEST

START_TEST(test_buf_varint_rejects_bad_input) {
  /* Truncated: continuation bit set on the last byte available. */
  const uint8_t trunc[] = {0x80, 0x80};
  const uint8_t *p = trunc;
  uint64_t v = 42;
  ck_assert_int_eq(kidx__varint_get(&p, trunc + 2, &v), -1);
  ck_assert_ptr_eq(p, trunc); /* unchanged on failure */
  ck_assert_uint_eq(v, 42);
  /* Empty input. */
  ck_assert_int_eq(kidx__varint_get(&p, trunc, &v), -1);
  /* More than 64 bits. */
  const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                         0xff, 0xff, 0xff, 0xff, 0x02};
  p = big;
  ck_assert_int_eq(kidx__varint_get(&p, big + 10, &v), -1);
  const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                            0x80, 0x80, 0x80, 0x80, 0x00};
  p = eleven;
  ck_assert_int_eq(kidx__varint_get(&p, eleven + 11, &v), -1);
}
END_TEST

START_TEST(test_buf_little_endian) {
  kidx__buf b = {0};
  ck_assert_int_eq(kidx__buf_put_u32(&b, 0x01020304u), KIDX_OK);
  ck_assert_int_eq(kidx__buf_put_u64(&b, 0x1122334455667788ull), KIDX_OK);
  ck_assert_uint_eq(b.n, 12);
  ck_assert_uint_eq(b.p[0], 0x04);
  ck_assert_uint_eq(b.p[3], 0x01);
  ck_assert_uint_eq(b.p[4], 0x88);
  ck_assert_uint_eq(b.p[11], 0x11);
  ck_assert_uint_eq(kidx__get_u32(b.p), 0x01020304u);
  ck_assert_uint_eq(kidx__get_u64(b.p + 4), 0x1122334455667788ull);
  kidx__buf_free(&b);
  ck_assert_ptr_null(b.p);
}
END_TEST

START_TEST(test_buf_append_grows) {
  kidx__buf b = {0};
  for (int i = 0; i < 100000; i++) {
    uint8_t c = (uint8_t)i;
    ck_assert_int_eq(kidx__buf_append(&b, &c, 1), KIDX_OK);
  }
  ck_assert_uint_eq(b.n, 100000);
  ck_assert_uint_ge(b.cap, b.n);
  for (int i = 0; i < 100000; i++)
    ck_assert_uint_eq(b.p[i], (uint8_t)i);
  ck_assert_int_eq(kidx__buf_reserve(&b, SIZE_MAX), KIDX_ENOMEM);
  ck_assert_uint_eq(b.n, 100000);
  kidx__buf_free(&b);
}
END_TEST

static Suite *buf_suite(void) {
  Suite *s = suite_create("buf");
  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_buf_varint_roundtrip);
  tcase_add_test(core, test_buf_varint_sizes);
  tcase_add_test(core, test_buf_little_endian);
  tcase_add_test(core, test_buf_append_grows);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_add_test(errors, test_buf_varint_rejects_bad_input);
  suite_add_tcase(s, errors);
  return s;
}

int main(void) {
  return tu_run_suite(buf_suite());
}
