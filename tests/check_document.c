/* Fetching documents by id (reader.c kidx_reader_get, document.c): the
 * stored text comes back byte for byte, the latest live version of an id
 * wins over deleted and replaced ones across segments and commits, ids
 * are any bytes, one document object serves many fetches, and a damaged
 * record is reported, not returned. */
#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;
static kidx_document *doc;

static void setup(void) {
  dir = tu_mkdtemp();
  doc = kidx_document_new();
  ck_assert_ptr_nonnull(doc);
}

static void teardown(void) {
  kidx_document_free(doc);
  tu_rmtree(dir);
  free(dir);
}

static void add(kidx_writer *w, const char *id, size_t id_len,
                const char *title, const char *body) {
  ck_assert_int_eq(
      kidx_writer_add(w, id, id_len, title, strlen(title), body, strlen(body)),
      KIDX_OK);
}

static void commit_close(kidx_writer *w) {
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
}

static kidx_reader *open_reader(void) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  return r;
}

/* Asserts that doc holds exactly id, title and body. */
static void assert_doc(const char *id, size_t id_len, const char *title,
                       const char *body) {
  size_t len = 0;
  const char *p = kidx_document_id(doc, &len);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(len, id_len);
  ck_assert(memcmp(p, id, id_len) == 0);
  p = kidx_document_title(doc, &len);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(len, strlen(title));
  ck_assert(memcmp(p, title, len) == 0);
  p = kidx_document_body(doc, &len);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(len, strlen(body));
  ck_assert(memcmp(p, body, len) == 0);
}

static void assert_empty(const kidx_document *d) {
  size_t len = 99;
  ck_assert_ptr_null(kidx_document_id(d, &len));
  ck_assert_uint_eq(len, 0);
  len = 99;
  ck_assert_ptr_null(kidx_document_title(d, &len));
  ck_assert_uint_eq(len, 0);
  len = 99;
  ck_assert_ptr_null(kidx_document_body(d, &len));
  ck_assert_uint_eq(len, 0);
  kidx_stamp st = {1, 1, 1};
  kidx_document_stamp(d, &st);
  ck_assert(st.size == 0 && st.mtime_ns == 0 && st.hash == 0);
}

static kidx_status get(const kidx_reader *r, const char *id) {
  return kidx_reader_get(r, id, strlen(id), doc);
}

/* The text as added, whitespace and all, and the stamp as given. */
START_TEST(test_get_found) {
  kidx_writer *w = tu_open_writer(dir);
  static const char body[] = "  Line one\r\n\n\tline two\n";
  kidx_stamp st = {123, -456, 789};
  ck_assert_int_eq(kidx_writer_add_stamped(w, "a.txt", 5, "Title A", 7, body,
                                           sizeof body - 1, &st),
                   KIDX_OK);
  add(w, "b.txt", 5, "", "");
  commit_close(w);
  kidx_reader *r = open_reader();
  assert_empty(doc);
  ck_assert_str_eq(kidx_document_errmsg(doc), "");
  ck_assert_int_eq(get(r, "a.txt"), KIDX_OK);
  assert_doc("a.txt", 5, "Title A", body);
  kidx_stamp got;
  kidx_document_stamp(doc, &got);
  ck_assert(got.size == 123 && got.mtime_ns == -456 && got.hash == 789);
  ck_assert_str_eq(kidx_document_errmsg(doc), "");
  /* Empty title and body: non-NULL, length 0; no stamp: zeros. */
  ck_assert_int_eq(get(r, "b.txt"), KIDX_OK);
  assert_doc("b.txt", 5, "", "");
  kidx_document_stamp(doc, &got);
  ck_assert(got.size == 0 && got.mtime_ns == 0 && got.hash == 0);
  /* NULL lengths are allowed. */
  ck_assert_ptr_nonnull(kidx_document_body(doc, NULL));
  /* The document outlives the reader: it holds copies. */
  ck_assert_int_eq(get(r, "a.txt"), KIDX_OK);
  kidx_reader_close(r);
  assert_doc("a.txt", 5, "Title A", body);
}
END_TEST

START_TEST(test_get_not_found) {
  kidx_writer *w = tu_open_writer(dir);
  add(w, "a.txt", 5, "T", "b");
  commit_close(w);
  kidx_reader *r = open_reader();
  ck_assert_int_eq(get(r, "a.txt"), KIDX_OK);
  /* A failed fetch leaves the object empty, with a message. */
  ck_assert_int_eq(get(r, "b.txt"), KIDX_ENOTFOUND);
  assert_empty(doc);
  ck_assert_str_ne(kidx_document_errmsg(doc), "");
  /* Prefixes and extensions of an id are other ids. */
  ck_assert_int_eq(get(r, "a.tx"), KIDX_ENOTFOUND);
  ck_assert_int_eq(get(r, "a.txtx"), KIDX_ENOTFOUND);
  ck_assert_int_eq(get(r, "A.TXT"), KIDX_ENOTFOUND);
  /* No document has an empty id, or one over 65535 bytes. */
  ck_assert_int_eq(kidx_reader_get(r, "", 0, doc), KIDX_ENOTFOUND);
  ck_assert_int_eq(kidx_reader_get(r, NULL, 0, doc), KIDX_ENOTFOUND);
  char *huge = calloc(70000, 1);
  ck_assert_ptr_nonnull(huge);
  ck_assert_int_eq(kidx_reader_get(r, huge, 70000, doc), KIDX_ENOTFOUND);
  free(huge);
  /* Bad arguments. */
  ck_assert_int_eq(kidx_reader_get(r, NULL, 3, doc), KIDX_EINVAL);
  assert_empty(doc);
  ck_assert_int_eq(kidx_reader_get(r, "a.txt", 5, NULL), KIDX_EINVAL);
  ck_assert_int_eq(kidx_reader_get(NULL, "a.txt", 5, doc), KIDX_EINVAL);
  kidx_reader *closed;
  ck_assert_int_eq(kidx_reader_new(&closed), KIDX_OK);
  ck_assert_int_eq(kidx_reader_get(closed, "a.txt", 5, doc), KIDX_EINVAL);
  ck_assert_str_eq(kidx_document_errmsg(doc), "reader is not open");
  kidx_reader_close(closed);
  kidx_reader_close(r);
  /* NULL objects. */
  assert_empty(NULL);
  ck_assert_str_ne(kidx_document_errmsg(NULL), "");
  kidx_document_stamp(doc, NULL);
  kidx_document_free(NULL);
}
END_TEST

/* A deleted document is gone for readers opened after the commit, and
 * still there for one opened before (a reader is one commit). */
START_TEST(test_get_deleted) {
  kidx_writer *w = tu_open_writer(dir);
  add(w, "a.txt", 5, "A", "alpha");
  add(w, "b.txt", 5, "B", "beta");
  commit_close(w);
  kidx_reader *before = open_reader();
  w = tu_open_writer(dir);
  ck_assert_int_eq(kidx_writer_delete(w, "a.txt", 5), KIDX_OK);
  /* Not committed yet: readers do not see uncommitted changes. */
  kidx_reader *pending = open_reader();
  ck_assert_int_eq(get(pending, "a.txt"), KIDX_OK);
  kidx_reader_close(pending);
  commit_close(w);
  kidx_reader *after = open_reader();
  ck_assert_int_eq(get(after, "a.txt"), KIDX_ENOTFOUND);
  ck_assert_int_eq(get(after, "b.txt"), KIDX_OK);
  assert_doc("b.txt", 5, "B", "beta");
  ck_assert_int_eq(get(before, "a.txt"), KIDX_OK);
  assert_doc("a.txt", 5, "A", "alpha");
  kidx_reader_close(before);
  kidx_reader_close(after);
  /* Deleted in the same batch it was added in. */
  w = tu_open_writer(dir);
  add(w, "c.txt", 5, "C", "gamma");
  ck_assert_int_eq(kidx_writer_delete(w, "c.txt", 5), KIDX_OK);
  commit_close(w);
  after = open_reader();
  ck_assert_int_eq(get(after, "c.txt"), KIDX_ENOTFOUND);
  kidx_reader_close(after);
}
END_TEST

/* Re-adding an id replaces it: the latest version comes back, whether
 * the versions are in one batch, in segments of several commits, or
 * merged into one by optimize; and search agrees. */
START_TEST(test_get_updated) {
  kidx_writer *w = tu_open_writer(dir);
  add(w, "x", 1, "Version 1", "first wombat");
  add(w, "y", 1, "Other", "unchanged");
  commit_close(w);
  w = tu_open_writer(dir);
  add(w, "x", 1, "Version 2", "second wombat");
  add(w, "x", 1, "Version 3", "third wombat");
  commit_close(w);
  kidx_reader *r = open_reader();
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  ck_assert_uint_ge(st.segments, 2);
  ck_assert_int_eq(get(r, "x"), KIDX_OK);
  assert_doc("x", 1, "Version 3", "third wombat");
  ck_assert_int_eq(get(r, "y"), KIDX_OK);
  assert_doc("y", 1, "Other", "unchanged");
  /* The one hit search gives for the word is that version. */
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  ck_assert_int_eq(kidx_search(r, "wombat", 6, NULL, res), KIDX_OK);
  ck_assert_uint_eq(kidx_results_count(res), 1);
  size_t len;
  const char *title = kidx_results_title(res, 0, &len);
  ck_assert_uint_eq(len, 9);
  ck_assert(memcmp(title, "Version 3", 9) == 0);
  kidx_results_free(res);
  kidx_reader_close(r);
  /* An older version back again, then everything merged. */
  w = tu_open_writer(dir);
  add(w, "x", 1, "Version 4", "fourth");
  commit_close(w);
  r = open_reader();
  ck_assert_int_eq(get(r, "x"), KIDX_OK);
  assert_doc("x", 1, "Version 4", "fourth");
  kidx_reader_close(r);
  w = tu_open_writer(dir);
  ck_assert_int_eq(kidx_writer_optimize(w), KIDX_OK);
  commit_close(w);
  r = open_reader();
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  ck_assert_uint_eq(st.segments, 1);
  ck_assert_int_eq(get(r, "x"), KIDX_OK);
  assert_doc("x", 1, "Version 4", "fourth");
  kidx_reader_close(r);
}
END_TEST

/* Ids are bytes: NUL, invalid UTF-8, newlines; found only exactly. */
START_TEST(test_get_binary_ids) {
  static const char nul[] = "a\0b";
  static const char bad[] = "caf\xe9\xff.txt";
  static const char nl[] = "two\nlines";
  kidx_writer *w = tu_open_writer(dir);
  add(w, nul, 3, "Nul", "with a nul");
  add(w, bad, sizeof bad - 1, "Bad", "latin-1");
  add(w, nl, sizeof nl - 1, "Nl", "newline");
  add(w, "a", 1, "Just a", "prefix of the nul id");
  commit_close(w);
  kidx_reader *r = open_reader();
  ck_assert_int_eq(kidx_reader_get(r, nul, 3, doc), KIDX_OK);
  assert_doc(nul, 3, "Nul", "with a nul");
  ck_assert_int_eq(kidx_reader_get(r, bad, sizeof bad - 1, doc), KIDX_OK);
  assert_doc(bad, sizeof bad - 1, "Bad", "latin-1");
  ck_assert_int_eq(kidx_reader_get(r, nl, sizeof nl - 1, doc), KIDX_OK);
  assert_doc(nl, sizeof nl - 1, "Nl", "newline");
  /* What strlen would see of the NUL id is another document. */
  ck_assert_int_eq(get(r, nul), KIDX_OK);
  assert_doc("a", 1, "Just a", "prefix of the nul id");
  ck_assert_int_eq(kidx_reader_get(r, "a\0c", 3, doc), KIDX_ENOTFOUND);
  ck_assert_int_eq(kidx_reader_get(r, "caf\xe9", 4, doc), KIDX_ENOTFOUND);
  kidx_reader_close(r);
}
END_TEST

/* Documents spread over many segments (one per commit), some deleted:
 * every live one is found in its segment, no deleted one is. */
enum { COMMITS = 6, PER = 20 };

/* The text of document i of commit c. */
static void seg_doc(int c, int i, char id[32], char title[32], char body[64]) {
  snprintf(id, 32, "c%d-d%d", c, i);
  snprintf(title, 32, "Title %d %d", c, i);
  snprintf(body, 64, "body of document %d in commit %d", i, c);
}

START_TEST(test_get_many_segments) {
  char id[32], title[32], body[64];
  for (int c = 0; c < COMMITS; c++) {
    kidx_writer *w = tu_open_writer(dir);
    /* No merges: keep one segment per commit. */
    ck_assert_int_eq(kidx_writer_set_merge_factor(w, 1000), KIDX_OK);
    for (int i = 0; i < PER; i++) {
      seg_doc(c, i, id, title, body);
      add(w, id, strlen(id), title, body);
    }
    /* Delete every third document of the previous commit. */
    for (int i = 0; c > 0 && i < PER; i += 3) {
      seg_doc(c - 1, i, id, title, body);
      ck_assert_int_eq(kidx_writer_delete(w, id, strlen(id)), KIDX_OK);
    }
    commit_close(w);
  }
  kidx_reader *r = open_reader();
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  ck_assert_uint_eq(st.segments, COMMITS);
  for (int c = 0; c < COMMITS; c++)
    for (int i = 0; i < PER; i++) {
      seg_doc(c, i, id, title, body);
      int deleted = c < COMMITS - 1 && i % 3 == 0;
      ck_assert_int_eq(get(r, id), deleted ? KIDX_ENOTFOUND : KIDX_OK);
      if (!deleted)
        assert_doc(id, strlen(id), title, body);
    }
  kidx_reader_close(r);
}
END_TEST

/* One object, many fetches: a large document, then a small one, then a
 * failure, then a large one again; each replaces the previous. */
START_TEST(test_get_reuse) {
  size_t big_len = 1u << 20;
  char *big = malloc(big_len + 1);
  ck_assert_ptr_nonnull(big);
  for (size_t i = 0; i < big_len; i++)
    big[i] = (char)('a' + i % 26);
  big[big_len] = 0;
  kidx_writer *w = tu_open_writer(dir);
  add(w, "big", 3, "Big", big);
  add(w, "small", 5, "S", "tiny");
  commit_close(w);
  kidx_reader *r = open_reader();
  for (int round = 0; round < 3; round++) {
    ck_assert_int_eq(get(r, "big"), KIDX_OK);
    assert_doc("big", 3, "Big", big);
    ck_assert_int_eq(get(r, "small"), KIDX_OK);
    assert_doc("small", 5, "S", "tiny");
    ck_assert_int_eq(get(r, "none"), KIDX_ENOTFOUND);
    assert_empty(doc);
  }
  /* Two objects are independent. */
  kidx_document *other = kidx_document_new();
  ck_assert_ptr_nonnull(other);
  ck_assert_int_eq(kidx_reader_get(r, "big", 3, other), KIDX_OK);
  ck_assert_int_eq(get(r, "small"), KIDX_OK);
  size_t len;
  ck_assert_ptr_nonnull(kidx_document_body(other, &len));
  ck_assert_uint_eq(len, big_len);
  assert_doc("small", 5, "S", "tiny");
  kidx_document_free(other);
  kidx_reader_close(r);
  free(big);
}
END_TEST

/* A record damaged after the reader verified its page (the mapping is
 * shared, so a write to the file shows through): KIDX_ECORRUPT naming
 * the file and the section, and an empty document.  Fetching "b" first
 * verifies the page both records lie on. */
START_TEST(test_get_corrupt) {
  kidx_writer *w = tu_open_writer(dir);
  add(w, "a", 1, "Title", "Unique-body-for-corruption");
  add(w, "b", 1, "Other", "text");
  commit_close(w);
  kidx_reader *r = open_reader();
  ck_assert_int_eq(get(r, "b"), KIDX_OK);
  char segname[KIDX__SEGNAME_MAX];
  kidx__segment_name(1, segname);
  char *path = kidx__path_join(dir, segname);
  size_t n;
  char *data = tu_read_file(path, &n);
  ck_assert_ptr_nonnull(data);
  static const char body[] = "Unique-body-for-corruption";
  const char *at = NULL;
  for (size_t i = 0; i + sizeof body - 1 <= n && !at; i++)
    if (memcmp(data + i, body, sizeof body - 1) == 0)
      at = data + i;
  ck_assert_ptr_nonnull(at);
  /* The body's length precedes it: make it run past the end of the text
   * block (two short records, stored raw as compression does not pay). */
  off_t off = (off_t)(at - data) - 1;
  ck_assert_int_eq(data[off], (int)sizeof body - 1);
  int fd = open(path, O_WRONLY);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(pwrite(fd, "\x7f", 1, off), 1);
  close(fd);
  ck_assert_int_eq(get(r, "a"), KIDX_ECORRUPT);
  assert_empty(doc);
  const char *msg = kidx_document_errmsg(doc);
  ck_assert_msg(strstr(msg, segname) && strstr(msg, "document data"),
                "message: %s", msg);
  /* "b" shares the text block, whose records are found by reading those
   * before them: it is lost with "a" (documents of other blocks are not,
   * see check_corrupt). */
  ck_assert_int_eq(get(r, "b"), KIDX_ECORRUPT);
  kidx_reader_close(r);
  free(data);
  free(path);
}
END_TEST

/* Threads share one reader, each fetching into its own document object
 * (kidx.h, THREADS AND PROCESSES): every fetch gives the right text. */
enum { THREADS = 4, THREAD_DOCS = 200, THREAD_ROUNDS = 20 };

static void thread_doc(int i, char *id, char *body) {
  snprintf(id, 32, "doc-%d", i);
  snprintf(body, 64, "body number %d, with words to fetch", i);
}

static void *fetch_all(void *arg) {
  const kidx_reader *r = arg;
  kidx_document *d = kidx_document_new();
  long bad = d ? 0 : 1;
  for (int round = 0; d && round < THREAD_ROUNDS; round++)
    for (int i = 0; i < THREAD_DOCS; i++) {
      char id[32], body[64];
      thread_doc(i, id, body);
      size_t len;
      const char *got;
      if (kidx_reader_get(r, id, strlen(id), d) != KIDX_OK ||
          !(got = kidx_document_body(d, &len)) || len != strlen(body) ||
          memcmp(got, body, len) != 0)
        bad++;
    }
  kidx_document_free(d);
  return (void *)bad;
}

START_TEST(test_get_threads) {
  kidx_writer *w = tu_open_writer(dir);
  for (int i = 0; i < THREAD_DOCS; i++) {
    char id[32], body[64];
    thread_doc(i, id, body);
    add(w, id, strlen(id), "T", body);
  }
  commit_close(w);
  kidx_reader *r = open_reader();
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, fetch_all, r), 0);
  for (int i = 0; i < THREADS; i++) {
    void *bad;
    ck_assert_int_eq(pthread_join(t[i], &bad), 0);
    ck_assert_ptr_null(bad);
  }
  kidx_reader_close(r);
}
END_TEST

static Suite *document_suite(void) {
  Suite *s = suite_create("document");
  TCase *tc = tcase_create("Get");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_get_found);
  tcase_add_test(tc, test_get_not_found);
  tcase_add_test(tc, test_get_deleted);
  tcase_add_test(tc, test_get_updated);
  tcase_add_test(tc, test_get_binary_ids);
  tcase_add_test(tc, test_get_many_segments);
  tcase_add_test(tc, test_get_reuse);
  tcase_add_test(tc, test_get_corrupt);
  tcase_add_test(tc, test_get_threads);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(document_suite());
}
