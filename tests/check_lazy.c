/* Lazy verification (segment format 10): opening an index reads no
 * section; each page is checksummed when first read.  A byte flipped in
 * any section (its page checksum left stale) lets the index open; an
 * operation that reads the page gets KIDX_ECORRUPT with a message naming
 * the file and the section, one that does not keeps working, and
 * kidx_reader_check finds it.  Threads sharing a reader verify pages
 * concurrently and get the same answers as one thread. */
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

static void build(int ndocs) {
  dir = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  static const char *const words[] = {
      "kaspersky",  "transparency", "centre",  "zurich",   "switzerland",
      "antivirus",  "software",     "vendor",  "briefing", "companies",
      "operations", "selling",      "stopped", "wind",     "down"};
  const size_t nwords = sizeof words / sizeof words[0];
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < ndocs; i++) {
    char id[32], body[512];
    size_t n = 0;
    snprintf(id, sizeof id, "doc-%d", i);
    for (int k = 0; k < 30; k++) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      n += (size_t)snprintf(body + n, sizeof body - n, "%s ",
                            words[(state >> 33) % nwords]);
    }
    if (i % 7 == 0)
      n += (size_t)snprintf(body + n, sizeof body - n, "unique%d", i);
    ck_assert_int_eq(kidx_writer_add(w, id, strlen(id), "Title", 5, body, n),
                     KIDX_OK);
  }
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  kidx__segment_name(1, segname);
  path = kidx__path_join(dir, segname);
  original = tu_read_file(path, &original_len);
  ck_assert_ptr_nonnull(original);
}

static void setup_small(void) {
  build(4);
}

static void setup_positions(void) {
  /* One term, "alpha", whose positions span several pages: 3000
   * documents with 100 occurrences each at irregular gaps, two of them
   * deleted. */
  dir = tu_mkdtemp();
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  static const char *const fill[] = {"beta", "gamma", "delta", "epsilon"};
  uint64_t state = 0x2545F4914F6CDD1Dull;
  char *body = malloc(8192);
  for (int i = 0; i < 3000; i++) {
    char id[32];
    size_t n = 0;
    snprintf(id, sizeof id, "doc-%d", i);
    for (int k = 0; k < 100; k++) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      for (unsigned g = (unsigned)(state >> 60); g > 0; g--)
        n += (size_t)snprintf(body + n, 8192 - n, "%s ",
                              fill[(state >> (40 + g)) & 3]);
      n += (size_t)snprintf(body + n, 8192 - n, "alpha ");
    }
    ck_assert_int_eq(kidx_writer_add(w, id, strlen(id), "T", 1, body, n),
                     KIDX_OK);
  }
  free(body);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  /* A few deletions, so that searches count live documents by probing
   * the lists (kidx__segref_live_df) too. */
  ck_assert_int_eq(kidx_writer_delete(w, "doc-7", 5), KIDX_OK);
  ck_assert_int_eq(kidx_writer_delete(w, "doc-2900", 8), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  kidx__segment_name(1, segname);
  path = kidx__path_join(dir, segname);
  original = tu_read_file(path, &original_len);
  ck_assert_ptr_nonnull(original);
}

static void setup_large(void) {
  /* Several pages per document section. */
  build(6000);
}

static void teardown(void) {
  free(original);
  free(path);
  tu_rmtree(dir);
  free(dir);
}

/* Writes the segment file image (its header, and so the MANIFEST's
 * binding to it, unchanged). */
static void write_segment(const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

static void section_span(int sec, size_t *off, size_t *len) {
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)original);
  *off = (size_t)h.sec_off[sec];
  *len = (size_t)h.sec_len[sec];
  ck_assert_uint_le(*off + *len, original_len);
}

static kidx_reader *open_reader(void) {
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_OK);
  return r;
}

/* What an operation reads. */
enum {
  OP_SEARCH, /* a word in the index: dictionary, postings, lengths, text */
  OP_ABSENT, /* a word not in the index: the dictionary only */
  OP_GET,    /* a document by id: ids, offsets, keys, lengths, text */
  OP_STATS   /* one segment's counts: nothing but the header */
};

/* Runs op on r; its status, with the message copied into msg. */
static int run_op(const kidx_reader *r, int op, char *msg, size_t cap) {
  int rc;
  msg[0] = 0;
  if (op == OP_SEARCH || op == OP_ABSENT) {
    kidx_results *res;
    ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
    kidx_search_options o;
    kidx_search_options_init(&o);
    o.snippet_words = 8;
    const char *q = op == OP_SEARCH ? "kaspersky" : "nonexistentword";
    rc = kidx_search(r, q, strlen(q), &o, res);
    if (rc == KIDX_OK && op == OP_SEARCH)
      ck_assert_uint_gt(kidx_results_count(res), 0);
    snprintf(msg, cap, "%s", kidx_results_errmsg(res));
    kidx_results_free(res);
  } else if (op == OP_GET) {
    kidx_document *d = kidx_document_new();
    ck_assert_ptr_nonnull(d);
    rc = kidx_reader_get(r, "doc-1", 5, d);
    snprintf(msg, cap, "%s", kidx_document_errmsg(d));
    kidx_document_free(d);
  } else {
    kidx_stats st;
    rc = kidx_reader_stats(r, &st);
  }
  return rc;
}

START_TEST(test_lazy_open_reads_no_section) {
  kidx__segment seg;
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(kidx__segment_open(&seg, path, errmsg), KIDX_OK);
  ck_assert_uint_eq(atomic_load(&seg.st->verified_bytes), 0);
  kidx__term t;
  ck_assert_int_eq(kidx__segment_find(&seg, "zurich", 6, &t), 1);
  ck_assert_int_eq(kidx__segment_list(&seg, &t), KIDX_OK);
  uint64_t after = atomic_load(&seg.st->verified_bytes);
  ck_assert_uint_gt(after, 0);
  /* Verified again: a bit test, no bytes. */
  ck_assert_int_eq(kidx__segment_find(&seg, "zurich", 6, &t), 1);
  ck_assert_int_eq(kidx__segment_list(&seg, &t), KIDX_OK);
  ck_assert_uint_eq(atomic_load(&seg.st->verified_bytes), after);
  kidx__segment_close(&seg);
}
END_TEST

START_TEST(test_lazy_bad_postings_page_opens) {
  /* Every page of the postings damaged: open still succeeds (it reads no
   * section), and reading them fails. */
  size_t off, len;
  section_span(KIDX__SEC_POSTINGS, &off, &len);
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  for (size_t i = off; i < off + len; i += 4096)
    copy[i] ^= 0x5A;
  write_segment(copy, original_len);
  free(copy);
  kidx_reader *r = open_reader();
  char msg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(run_op(r, OP_SEARCH, msg, sizeof msg), KIDX_ECORRUPT);
  ck_assert_msg(strstr(msg, segname) && strstr(msg, "'postings'"), "%s", msg);
  ck_assert_int_eq(run_op(r, OP_GET, msg, sizeof msg), KIDX_OK);
  kidx_reader_close(r);
}
END_TEST

/* For each section: an operation that reads it, one that does not. */
static const struct {
  int sec;
  int reads, skips;
} cases[] = {
    {KIDX__SEC_POSTINGS, OP_SEARCH, OP_GET},
    {KIDX__SEC_TERMS, OP_SEARCH, OP_GET},
    {KIDX__SEC_TERMINDEX, OP_SEARCH, OP_GET},
    {KIDX__SEC_DOCLENS, OP_SEARCH, OP_ABSENT},
    {KIDX__SEC_DOCTABLE, OP_GET, OP_ABSENT},
    {KIDX__SEC_DOCDATA, OP_GET, OP_ABSENT},
    {KIDX__SEC_IDS, OP_GET, OP_ABSENT},
    {KIDX__SEC_KEYS, OP_GET, OP_ABSENT},
    {KIDX__SEC_PAGESUMS, OP_SEARCH, OP_STATS},
};

START_TEST(test_lazy_damage_in_each_section) {
  int sec = cases[_i].sec;
  const char *name = kidx__segment_section_name(sec);
  char want[64];
  snprintf(want, sizeof want, "section '%s'", name);
  size_t off, len;
  section_span(sec, &off, &len);
  ck_assert_uint_gt(len, 0);
  /* The first byte, the middle one and the last one. */
  for (int k = 0; k < 3; k++) {
    size_t at = off + (k == 0 ? 0 : k == 1 ? len / 2 : len - 1);
    char *copy = malloc(original_len);
    memcpy(copy, original, original_len);
    copy[at] ^= 0x01;
    write_segment(copy, original_len);
    free(copy);
    char msg[KIDX__ERRMSG_MAX];
    kidx_reader *r = open_reader();
    ck_assert_int_eq(run_op(r, cases[_i].skips, msg, sizeof msg), KIDX_OK);
    int rc = run_op(r, cases[_i].reads, msg, sizeof msg);
    ck_assert_msg(rc == KIDX_ECORRUPT, "%s byte %zu: status %d", name, at - off,
                  rc);
    ck_assert_msg(strstr(msg, segname) && strstr(msg, want),
                  "%s byte %zu: message: %s", name, at - off, msg);
    /* Still refused, still the same message; the rest still works. */
    ck_assert_int_eq(run_op(r, cases[_i].reads, msg, sizeof msg),
                     KIDX_ECORRUPT);
    ck_assert_int_eq(run_op(r, cases[_i].skips, msg, sizeof msg), KIDX_OK);
    kidx_reader_close(r);
    /* The check reads everything. */
    r = open_reader();
    ck_assert_int_eq(kidx_reader_check(r), KIDX_ECORRUPT);
    ck_assert_msg(strstr(kidx_reader_errmsg(r), segname) &&
                      strstr(kidx_reader_errmsg(r), want),
                  "check: %s", kidx_reader_errmsg(r));
    kidx_reader_close(r);
  }
  write_segment(original, original_len);
}
END_TEST

START_TEST(test_lazy_page_index_checked_at_open) {
  size_t off, len;
  section_span(KIDX__SEC_PAGEINDEX, &off, &len);
  ck_assert_uint_gt(len, 0);
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  copy[off + len - 1] ^= 0x01;
  write_segment(copy, original_len);
  free(copy);
  kidx_reader *r;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  ck_assert_int_eq(kidx_reader_open(r, dir), KIDX_ECORRUPT);
  ck_assert_msg(strstr(kidx_reader_errmsg(r), segname) &&
                    strstr(kidx_reader_errmsg(r), "page checksum index"),
                "%s", kidx_reader_errmsg(r));
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_lazy_version_10_refused) {
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  kidx__seghdr h;
  kidx__seghdr_decode(&h, (const uint8_t *)copy);
  h.version = 10;
  kidx__seghdr_encode(&h, (uint8_t *)copy);
  write_segment(copy, original_len);
  free(copy);
  /* The MANIFEST binds the header checksum: the segment's own check
   * speaks first. */
  kidx__segment seg;
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(kidx__segment_open(&seg, path, errmsg), KIDX_EFORMAT);
  ck_assert_msg(strstr(errmsg, "version 10") && strstr(errmsg, "rebuild"), "%s",
                errmsg);
}
END_TEST

/* The ids and scores of a search's hits, or its status and message. */
static int hits_of(const kidx_reader *r, const char *q, int exact, char *out,
                   size_t cap) {
  kidx_results *res;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  kidx_search_options o;
  kidx_search_options_init(&o);
  o.snippet_words = 0;
  o.exact_total = exact;
  int rc = kidx_search(r, q, strlen(q), &o, res);
  size_t n = (size_t)snprintf(out, cap, "%s|%llu", kidx_results_errmsg(res),
                              (unsigned long long)kidx_results_total(res));
  for (size_t i = 0; i < kidx_results_count(res) && n < cap; i++) {
    size_t len;
    const char *id = kidx_results_id(res, i, &len);
    n += (size_t)snprintf(out + n, cap - n, " %.*s=%a", (int)len, id,
                          kidx_results_score(res, i));
  }
  kidx_results_free(res);
  return rc;
}

START_TEST(test_lazy_positions_read_only_by_phrases) {
  /* A page wholly inside alpha's positions, damaged: searches for alpha
   * decode every block of its list (an exact count) but read no
   * position, so they answer as before; a phrase reads them and gets
   * KIDX_ECORRUPT naming the section; check finds it. */
  kidx__segment seg;
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(kidx__segment_open(&seg, path, errmsg), KIDX_OK);
  kidx__term t;
  ck_assert_int_eq(kidx__segment_find(&seg, "alpha", 5, &t), 1);
  kidx__pcur *c = malloc(sizeof *c);
  ck_assert_int_eq(kidx__pcur_init(c, t.post, t.post_len, t.df, seg.ndocs),
                   KIDX_OK);
  uint64_t list = (uint64_t)(t.post - seg.sec[KIDX__SEC_POSTINGS]);
  uint64_t from = list + (uint64_t)(c->poss - t.post), to = list + t.post_len;
  free(c);
  kidx__segment_close(&seg);
  uint64_t page = (from + KIDX__PAGE_SIZE - 1) >> KIDX__PAGE_SHIFT;
  ck_assert_uint_le((page + 1) << KIDX__PAGE_SHIFT, to);
  char before[4][1024], after[1024];
  static const char *const q[] = {"alpha", "alpha beta", "alpha OR gamma",
                                  "delta AND alpha"};
  kidx_reader *r = open_reader();
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(hits_of(r, q[i], i % 2, before[i], sizeof before[i]),
                     KIDX_OK);
  kidx_reader_close(r);

  size_t off, len;
  section_span(KIDX__SEC_POSTINGS, &off, &len);
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  copy[off + (page << KIDX__PAGE_SHIFT) + 100] ^= 0x10;
  write_segment(copy, original_len);
  free(copy);
  r = open_reader();
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(hits_of(r, q[i], i % 2, after, sizeof after), KIDX_OK);
    ck_assert_str_eq(after, before[i]);
  }
  ck_assert_int_eq(hits_of(r, "\"alpha beta\"", 1, after, sizeof after),
                   KIDX_ECORRUPT);
  ck_assert_msg(strstr(after, segname) && strstr(after, "section 'postings'"),
                "%s", after);
  kidx_reader_close(r);
  r = open_reader();
  ck_assert_int_eq(kidx_reader_check(r), KIDX_ECORRUPT);
  ck_assert_msg(strstr(kidx_reader_errmsg(r), segname) &&
                    strstr(kidx_reader_errmsg(r), "section 'postings'"),
                "check: %s", kidx_reader_errmsg(r));
  kidx_reader_close(r);
}
END_TEST

/* ---- threads ---- */

static const char *const thread_queries[] = {"kaspersky",
                                             "zurich centre",
                                             "antivirus OR vendor",
                                             "\"wind down\"",
                                             "sell*",
                                             "unique7",
                                             "unique4200",
                                             "switzerland -software"};
#define NQUERIES (sizeof thread_queries / sizeof thread_queries[0])

typedef struct answer {
  uint64_t total;
  char first[32];
  int rc;
} answer;

static void ask(const kidx_reader *r, size_t q, answer *a) {
  kidx_results *res;
  memset(a, 0, sizeof *a);
  if (kidx_results_new(&res) != KIDX_OK) {
    a->rc = KIDX_ENOMEM;
    return;
  }
  kidx_search_options o;
  kidx_search_options_init(&o);
  o.snippet_words = 6;
  o.exact_total = 1;
  a->rc = kidx_search(r, thread_queries[q], strlen(thread_queries[q]), &o, res);
  if (a->rc == KIDX_OK) {
    a->total = kidx_results_total(res);
    if (kidx_results_count(res) > 0) {
      size_t n;
      const char *id = kidx_results_id(res, 0, &n);
      snprintf(a->first, sizeof a->first, "%.*s", (int)n, id);
    }
  }
  kidx_results_free(res);
}

static answer expected[NQUERIES];

typedef struct worker {
  const kidx_reader *r;
  int seed;
  int lax;      /* damage expected: any answer or KIDX_ECORRUPT */
  long bad;     /* wrong answers or statuses */
  long corrupt; /* KIDX_ECORRUPT, when lax */
} worker;

/* Counts a status (and, unless lax, a wrong answer). */
static void tally(worker *w, int rc, int wrong) {
  if (w->lax && rc == KIDX_ECORRUPT)
    w->corrupt++;
  else if (rc != KIDX_OK || (!w->lax && wrong))
    w->bad++;
}

static void *work(void *arg) {
  worker *w = arg;
  for (int round = 0; round < 6; round++)
    for (size_t k = 0; k < NQUERIES; k++) {
      size_t q = (k + (size_t)w->seed + (size_t)round) % NQUERIES;
      answer a;
      ask(w->r, q, &a);
      tally(w, a.rc,
            a.total != expected[q].total ||
                strcmp(a.first, expected[q].first) != 0);
      kidx_document *d = kidx_document_new();
      char id[32];
      snprintf(
          id, sizeof id, "doc-%d",
          (int)((q * 733 + (size_t)round * 97 + (size_t)w->seed * 31) % 6000));
      tally(w, d ? kidx_reader_get(w->r, id, strlen(id), d) : KIDX_ENOMEM, 0);
      kidx_document_free(d);
    }
  return NULL;
}

START_TEST(test_lazy_threads_share_a_reader) {
  /* The answers of one thread on its own reader... */
  kidx_reader *one = open_reader();
  for (size_t q = 0; q < NQUERIES; q++) {
    ask(one, q, &expected[q]);
    ck_assert_int_eq(expected[q].rc, KIDX_OK);
  }
  kidx_reader_close(one);
  /* ...are those of threads racing to verify the pages of a fresh one. */
  enum { THREADS = 4 };
  kidx_reader *r = open_reader();
  pthread_t t[THREADS];
  worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){r, i, 0, 0, 0};
    ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_msg(w[i].bad == 0, "thread %d: %ld wrong answers", i, w[i].bad);
  }
  ck_assert_int_eq(kidx_reader_check(r), KIDX_OK);
  kidx_reader_close(r);
}
END_TEST

START_TEST(test_lazy_threads_meet_damage) {
  /* A damaged document-data page: every thread that fetches from it gets
   * KIDX_ECORRUPT, the others their documents; never a crash. */
  size_t off, len;
  section_span(KIDX__SEC_DOCDATA, &off, &len);
  ck_assert_uint_gt(len, 3 * KIDX__PAGE_SIZE);
  char *copy = malloc(original_len);
  memcpy(copy, original, original_len);
  copy[off + KIDX__PAGE_SIZE + 100] ^= 0x20; /* page 1 */
  write_segment(copy, original_len);
  free(copy);
  kidx_reader *r = open_reader();
  enum { THREADS = 4 };
  pthread_t t[THREADS];
  worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){r, i, 1, 0, 0};
    ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
  }
  long corrupt = 0;
  for (int i = 0; i < THREADS; i++) {
    ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_msg(w[i].bad == 0, "thread %d: %ld bad statuses", i, w[i].bad);
    corrupt += w[i].corrupt;
  }
  /* Fetches (and snippets) that read page 1 fail; the others do not. */
  ck_assert_int_gt(corrupt, 0);
  kidx_document *d = kidx_document_new();
  ck_assert_int_eq(kidx_reader_get(r, "doc-0", 5, d), KIDX_OK);
  kidx_document_free(d);
  kidx_reader_close(r);
}
END_TEST

static Suite *lazy_suite(void) {
  Suite *s = suite_create("lazy");
  TCase *tc = tcase_create("Small");
  tcase_add_checked_fixture(tc, setup_small, teardown);
  tcase_add_test(tc, test_lazy_open_reads_no_section);
  tcase_add_test(tc, test_lazy_bad_postings_page_opens);
  tcase_add_loop_test(tc, test_lazy_damage_in_each_section, 0,
                      (int)(sizeof cases / sizeof cases[0]));
  tcase_add_test(tc, test_lazy_page_index_checked_at_open);
  tcase_add_test(tc, test_lazy_version_10_refused);
  suite_add_tcase(s, tc);
  tc = tcase_create("Skips");
  tcase_add_checked_fixture(tc, setup_positions, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_lazy_positions_read_only_by_phrases);
  suite_add_tcase(s, tc);
  tc = tcase_create("Threads");
  tcase_add_checked_fixture(tc, setup_large, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_lazy_threads_share_a_reader);
  tcase_add_test(tc, test_lazy_threads_meet_damage);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run_suite(lazy_suite());
}
