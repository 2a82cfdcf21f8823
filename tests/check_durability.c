/*
 * check_durability.c -- the index under stress, end to end: kidx index,
 * kidx delete and kidx optimize killed with SIGKILL at random moments
 * while they flush and merge segments, writes that fail for lack of space,
 * readers searching while a writer commits and merges, bytes flipped and
 * files truncated throughout every file of a multi-segment index, and two
 * writers at once.
 *
 * Each test works in a temporary directory of its own and drives the built
 * kidx binary (KIDX_BIN) as a user would.  The assertions are about what
 * users see -- exit statuses, one-line messages, which documents are found
 * -- and about what the format promises of the index directory: after a
 * commit, or once the next writer has opened the index, it holds MANIFEST,
 * write.lock and the segment files the commit lists, nothing else.  The
 * documents of an index are read back with the library (a reader in this
 * process: faster than parsing the CLI's output, and the same code).
 *
 * Randomness comes from a fixed-seed generator, so a failure replays.
 * Under a sanitizer every process is several times slower, so the tests
 * do less work there (SANITIZED); kill delays scale with the measured
 * duration of an uninterrupted run, so they spread over the whole run on
 * any machine.
 */
#include "kidx.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* Fixed-seed generator (xorshift64*). */
static uint64_t next_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * UINT64_C(2685821657736338717);
}

/* A word naming n: width lower-case letters ("aaa", "aab", ...) then
 * "x", which no English suffix ends in, so that stemming leaves every such
 * word whole and distinct ("aahs" and "aahe" would both stem to "aah").
 * A word per file or per round finds exactly the documents that have
 * it. */
static void letters(char *out, unsigned n, int width) {
  for (int i = width - 1; i >= 0; i--) {
    out[i] = (char)('a' + n % 26);
    n /= 26;
  }
  out[width] = 'x';
  out[width + 1] = '\0';
}

static const char *const VOCABULARY[] = {
    "index",  "search",  "query",   "ranking", "posting", "segment",
    "commit", "durable", "crash",   "reader",  "writer",  "merge",
    "term",   "phrase",  "token",   "stemmer", "unicode", "corpus",
    "disk",   "memory",  "journal", "rename",  "fsync",   "checksum",
    "block",  "varint",  "header",  "section", "snippet", "title"};

/* Writes corpus file i of generation gen: a title, a word unique to the
 * file ("uq" + letters), one unique to the generation ("gen" + letters),
 * and some words shared by all; extra words go in the body. */
static void write_corpus_file(const char *dir, unsigned i, unsigned gen,
                              const char *extra) {
  char name[64], uq[8], g[8], text[1024];
  letters(uq, i, 4);
  letters(g, gen, 3);
  uint64_t seed = (uint64_t)i * 7919u + gen * 104729u + 1;
  int len =
      snprintf(text, sizeof text, "Document %u of generation %u\nuq%s gen%s %s",
               i, gen, uq, g, extra);
  for (unsigned w = 0, n = 10 + next_random(&seed) % 30; w < n; w++)
    len += snprintf(text + len, sizeof text - (size_t)len, " %s",
                    VOCABULARY[next_random(&seed) %
                               (sizeof VOCABULARY / sizeof *VOCABULARY)]);
  text[len++] = '\n';
  /* Thousands of files are rewritten per round of the SIGKILL test: plain
   * open/write/close, creating the directories only when missing. */
  char path[4096];
  snprintf(name, sizeof name, "%s/d%02u/f%05u.txt", dir, i % 50, i);
  snprintf(path, sizeof path, "%s/%s", tu_work_dir(), name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 && errno == ENOENT) {
    tu_write_file(tu_work_dir(), name, text, (size_t)len);
    return;
  }
  ck_assert_msg(fd >= 0, "cannot write %s: %s", path, strerror(errno));
  ck_assert_int_eq(write(fd, text, (size_t)len), len);
  ck_assert_int_eq(close(fd), 0);
}

/* Words that make a document a few times bigger, so that a batch of
 * 64K holds a few dozen of them; "common" first if asked. */
static const char *filler(bool common) {
  static char with[512], without[480];
  if (!without[0]) {
    size_t len = 0;
    for (unsigned w = 0; w < 50; w++)
      len += (size_t)snprintf(
          without + len, sizeof without - len, "%s%s", w ? " " : "",
          VOCABULARY[(w * 7) % (sizeof VOCABULARY / sizeof *VOCABULARY)]);
    snprintf(with, sizeof with, "common %s", without);
  }
  return common ? with : without;
}

/* Starts argv (argv[0] a path) in tu_work_dir() without waiting for it, stdout
 * and stderr to the files out and err (NULL: /dev/null).  before_exec, if
 * not NULL, runs in the child first (limits, signal dispositions). */
static pid_t spawn(const char *const *argv, const char *out, const char *err,
                   void (*before_exec)(void)) {
  pid_t pid = fork();
  ck_assert(pid >= 0);
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)
                : open("/dev/null", O_WRONLY);
    int e = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644)
                : open("/dev/null", O_WRONLY);
    if (in < 0 || o < 0 || e < 0 || chdir(tu_work_dir()) != 0)
      _exit(126);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    unsetenv("KIDX_INDEX");
    if (before_exec)
      before_exec();
    execv(argv[0], (char *const *)(uintptr_t)argv);
    _exit(127);
  }
  return pid;
}

/* Waits for pid: its exit status, or 128 + the signal that ended it. */
static int wait_status(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs argv in the work directory and kills it with SIGKILL once it has
 * run for delay seconds, unless it has exited by then (delay < 0: never
 * kill).  Returns its status as wait_status() does, and how long it ran
 * in *elapsed. */
static int run_killed_after(const char *const *argv, double delay,
                            double *elapsed) {
  double t0 = now();
  pid_t pid = spawn(argv, NULL, NULL, NULL);
  int st;
  while (delay >= 0 && now() - t0 < delay) {
    if (waitpid(pid, &st, WNOHANG) == pid) {
      *elapsed = now() - t0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    double left = delay - (now() - t0);
    sleep_s(left < 0.001 ? (left > 0 ? left : 0) : 0.001);
  }
  if (delay >= 0)
    kill(pid, SIGKILL);
  int status = wait_status(pid);
  *elapsed = now() - t0;
  return status;
}

/* Documents in the index, or -1 when there is none ("no index"). */
static long stats_documents(void) {
  tu_run r = KIDX("stats", "--json");
  long n = -1;
  if (r.status == 3) {
    tu_assert_one_line(r.err, "kidx: no index at .kidx");
  } else {
    ASSERT_STATUS(r, 0);
    const char *p = strstr(r.out, "\"documents\":");
    ck_assert_ptr_nonnull(p);
    n = strtol(p + 12, NULL, 10);
  }
  tu_run_free(&r);
  return n;
}

/* "bytes" of kidx stats --json: what the index's files take. */
static long long stats_bytes(void) {
  tu_run r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  const char *p = strstr(r.out, "\"bytes\":");
  ck_assert_ptr_nonnull(p);
  long long n = strtoll(p + 8, NULL, 10);
  tu_run_free(&r);
  return n;
}

/* Number of documents matching word: the TOTAL of "N of TOTAL matching
 * documents", 0 when kidx search finds nothing (status 1). */
static long search_total(const char *word) {
  tu_run r = KIDX("search", "-k", "1", "--count", "--snippet-words", "0", word);
  long total = 0;
  if (r.status == 1) {
    ck_assert_str_eq(r.out, "");
  } else {
    ASSERT_STATUS(r, 0);
    /* The last line; titles may say " of " too. */
    size_t len = strlen(r.out);
    ck_assert_msg(len > 1 && r.out[len - 1] == '\n', "got: %s", r.out);
    const char *last = r.out + len - 1;
    while (last > r.out && last[-1] != '\n')
      last--;
    const char *p = strstr(last, " of ");
    ck_assert_msg(p && strstr(p, " matching document"), "got: %s", r.out);
    total = strtol(p + 4, NULL, 10);
  }
  tu_run_free(&r);
  return total;
}

static long gen_total(unsigned gen) {
  char w[16] = "gen";
  letters(w + 3, gen, 3);
  return search_total(w);
}

static long file_total(unsigned i) {
  char w[16] = "uq";
  letters(w + 2, i, 4);
  return search_total(w);
}

/* Size of a file, 0 if it does not exist (yet). */
static off_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : 0;
}

/* kidx check on the index directory name: exit 0, or, when have is
 * false, 3 and "no index". */
static void assert_check(const char *name, bool have) {
  tu_run r = KIDX("-i", name, "check");
  if (have) {
    ASSERT_STATUS(r, 0);
  } else {
    char want[128];
    snprintf(want, sizeof want, "kidx: no index at %s", name);
    ASSERT_STATUS(r, 3);
    tu_assert_one_line(r.err, want);
  }
  tu_run_free(&r);
}

/* ---- the index as the library sees it ---- */

/* Opens the index in the work directory's name with a library reader:
 * true, with its statistics in *st, or false when there is no index.
 * Any other outcome fails the test. */
static bool lib_stats(const char *name, kidx_stats *st) {
  char *dir = tu_work_path(name);
  kidx_reader *r = NULL;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  kidx_status s = kidx_reader_open(r, dir);
  ck_assert_msg(s == KIDX_OK || s == KIDX_ENOINDEX, "%s: %s", name,
                kidx_reader_errmsg(r));
  if (s == KIDX_OK)
    ck_assert_int_eq(kidx_reader_stats(r, st), KIDX_OK);
  kidx_reader_close(r);
  free(dir);
  return s == KIDX_OK;
}

static void corpus_id(char *out, size_t size, unsigned i) {
  snprintf(out, size, "corpus/d%02u/f%05u.txt", i % 50, i);
}

/* The documents of the index at name, read with the library: gen[i] is
 * the generation of the document of corpus file i (its title says it),
 * -1 when the index has none; n entries.  Every corpus document has the
 * word "document" in its title, so one search finds them all; each must
 * be found once, and as many as the index says it holds.  False when
 * there is no index. */
static bool lib_documents(const char *name, int *gen, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    gen[i] = -1;
  char *dir = tu_work_path(name);
  kidx_reader *r = NULL;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  kidx_status s = kidx_reader_open(r, dir);
  free(dir);
  if (s == KIDX_ENOINDEX) {
    kidx_reader_close(r);
    return false;
  }
  ck_assert_msg(s == KIDX_OK, "%s: %s", name, kidx_reader_errmsg(r));
  kidx_stats st;
  ck_assert_int_eq(kidx_reader_stats(r, &st), KIDX_OK);
  kidx_results *res = NULL;
  ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.limit = (size_t)n + 1;
  opt.snippet_words = 0;
  s = kidx_search(r, "document", 8, &opt, res);
  ck_assert_msg(s == KIDX_OK, "%s: %s", name, kidx_results_errmsg(res));
  size_t count = kidx_results_count(res);
  ck_assert_uint_eq(kidx_results_total(res), count);
  ck_assert_uint_eq(st.documents, count);
  for (size_t h = 0; h < count; h++) {
    size_t id_len = 0, title_len = 0;
    const char *id = kidx_results_id(res, h, &id_len);
    const char *title = kidx_results_title(res, h, &title_len);
    char idz[64], titlez[128], want[64], end;
    unsigned i, i2, g, dd;
    ck_assert(id && title && id_len < sizeof idz && title_len < sizeof titlez);
    memcpy(idz, id, id_len);
    idz[id_len] = '\0';
    memcpy(titlez, title, title_len);
    titlez[title_len] = '\0';
    ck_assert_msg(sscanf(idz, "corpus/d%2u/f%5u.txt%c", &dd, &i, &end) == 2 &&
                      i < n,
                  "%s: unexpected document '%s'", name, idz);
    corpus_id(want, sizeof want, i);
    ck_assert_str_eq(idz, want);
    ck_assert_msg(
        sscanf(titlez, "Document %u of generation %u%c", &i2, &g, &end) == 2 &&
            i2 == i,
        "%s: document %s has the title '%s'", name, idz, titlez);
    ck_assert_msg(gen[i] < 0, "%s: document %s found twice", name, idz);
    gen[i] = (int)g;
  }
  kidx_results_free(res);
  kidx_reader_close(r);
  return true;
}

static bool same_documents(const int *a, const int *b, unsigned n) {
  return memcmp(a, b, n * sizeof *a) == 0;
}

/* Which commit found[] is: 0 the old one, 1 the new one (when they
 * differ), -1 neither, with the first difference from each in why. */
static int which_commit(const int *found, const int *old, const int *new_,
                        unsigned n, char *why, size_t why_size) {
  if (same_documents(found, old, n))
    return 0;
  if (same_documents(found, new_, n))
    return 1;
  unsigned a = 0, b = 0;
  while (found[a] == old[a])
    a++;
  while (found[b] == new_[b])
    b++;
  snprintf(why, why_size,
           "file %u: generation %d found, %d in the old commit; file %u: "
           "generation %d found, %d in the new one (-1: no document)",
           a, found[a], old[a], b, found[b], new_[b]);
  return -1;
}

/* ---- the index directory ---- */

typedef struct dir_files {
  unsigned segments;    /* seg-NNNNNNNNNNNN.kidx files */
  uint64_t max_segment; /* the highest of their numbers */
  bool manifest, manifest_tmp;
  unsigned others; /* files of any other name but write.lock */
  char other[256]; /* the name of one of them */
  long long bytes; /* of every regular file */
} dir_files;

/* The number of a segment file's name (doc/FORMAT.md, Directory). */
static bool segment_number(const char *name, uint64_t *number) {
  if (strncmp(name, "seg-", 4) != 0)
    return false;
  const char *p = name + 4;
  uint64_t v = 0;
  size_t digits = 0;
  for (; *p >= '0' && *p <= '9'; p++, digits++)
    v = v * 10 + (uint64_t)(*p - '0');
  if (digits < 12 || strcmp(p, ".kidx") != 0)
    return false;
  *number = v;
  return true;
}

/* What the directory name holds (nothing if it does not exist). */
static void scan_dir(const char *name, dir_files *f) {
  memset(f, 0, sizeof *f);
  char *dir = tu_work_path(name);
  DIR *d = opendir(dir);
  if (!d) {
    ck_assert_msg(errno == ENOENT, "%s: %s", dir, strerror(errno));
    free(dir);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char path[4096];
    struct stat st;
    uint64_t number;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
      f->bytes += (long long)st.st_size;
    if (segment_number(e->d_name, &number)) {
      f->segments++;
      if (number > f->max_segment)
        f->max_segment = number;
    } else if (strcmp(e->d_name, "MANIFEST") == 0) {
      f->manifest = true;
    } else if (strcmp(e->d_name, "MANIFEST.tmp") == 0) {
      f->manifest_tmp = true;
    } else if (strcmp(e->d_name, "write.lock") != 0) {
      f->others++;
      snprintf(f->other, sizeof f->other, "%s", e->d_name);
    }
  }
  closedir(d);
  free(dir);
}

/* Asserts that the directory name holds its commit's files and nothing
 * else: MANIFEST, write.lock and as many segment files as the commit
 * lists (each of them exists, or the reader would not open), taking as
 * many bytes as the index says. */
static void assert_only_commit_files(const char *name) {
  kidx_stats st;
  dir_files f;
  bool have = lib_stats(name, &st);
  scan_dir(name, &f);
  unsigned long long listed = have ? st.segments : 0;
  ck_assert_msg(f.segments == listed && !f.manifest_tmp && f.others == 0 &&
                    f.manifest == have,
                "%s holds %u segment files for %llu listed, %s, %s, and %u "
                "other files (%s)",
                name, f.segments, listed,
                f.manifest ? "a MANIFEST" : "no MANIFEST",
                f.manifest_tmp ? "a MANIFEST.tmp" : "no MANIFEST.tmp", f.others,
                f.others ? f.other : "-");
  if (have)
    ck_assert_int_eq(f.bytes, (long long)st.bytes);
}

/* A writer that died leaves files no commit lists; the next writer
 * removes them when it opens the index.  Opens a writer on the index at
 * name (in this process), asserts that then only the commit's files
 * remain, closes it, asserts so again and that the commit did not change,
 * and returns how many leftovers (unlisted segment files, a MANIFEST.tmp)
 * there were before. */
static unsigned next_writer_cleans(const char *name) {
  kidx_stats st, st2;
  dir_files before;
  bool have = lib_stats(name, &st);
  scan_dir(name, &before);
  unsigned listed = have ? (unsigned)st.segments : 0;
  ck_assert_uint_ge(before.segments, listed);
  unsigned leftovers =
      before.segments - listed + (before.manifest_tmp ? 1u : 0u);
  char *dir = tu_work_path(name);
  kidx_writer *w = NULL;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  kidx_status s = kidx_writer_open(w, dir);
  ck_assert_msg(s == KIDX_OK, "%s: %s", name, kidx_writer_errmsg(w));
  assert_only_commit_files(name); /* on opening */
  kidx_writer_close(w);
  free(dir);
  assert_only_commit_files(name);
  ck_assert(lib_stats(name, &st2) == have);
  if (have) {
    ck_assert_uint_eq(st2.generation, st.generation);
    ck_assert_uint_eq(st2.documents, st.documents);
  }
  return leftovers;
}

/* ---- SIGKILL at random moments ---- */

START_TEST(test_sigkill_leaves_a_commit) {
  /* Each round runs kidx index over the corpus, with the smallest RAM
   * budget (a flush every hundred or so documents) and merge factor 2 (a
   * merge after each flush) so that it writes segments all along,
   * and kills it after a random delay unless it is a round that
   * completes.  Once a run has committed the corpus, the next round first
   * rewrites every file (a new generation of words) and adds some, so
   * every run has the whole corpus to index and commit, replacing every
   * document of the index.  After each round kidx check must pass, the
   * index must hold exactly one commit -- the previous one or the new one
   * (every file, this generation), never a mix -- and once the next
   * writer has opened the index, nothing the killed one wrote remains. */
  const unsigned base = SANITIZED ? 1000 : 3000, grow = base / 50;
  const int rounds = SANITIZED ? 14 : 24;
  const unsigned cap = base + grow * (unsigned)rounds;
  const char *const argv[] = {KIDX_BIN,         "index", "--ram-budget", "64K",
                              "--merge-factor", "2",     "corpus",       NULL};
  uint64_t seed = 0x5EED0001u;
  int *committed = malloc(cap * sizeof *committed);
  int *fresh = malloc(cap * sizeof *fresh);
  int *found = malloc(cap * sizeof *found);
  ck_assert(committed && fresh && found);
  for (unsigned i = 0; i < cap; i++)
    committed[i] = fresh[i] = -1;
  unsigned nfiles = base, gen = 0;
  for (unsigned i = 0; i < nfiles; i++) {
    write_corpus_file("corpus", i, 0, "");
    fresh[i] = 0;
  }

  /* An uninterrupted run on a scratch index.  Its duration spreads the
   * kill delays over 0 .. 1.2 times it.  Its files show that it flushed
   * and merged: segment numbers only grow, and a merge gives up two
   * segments or more for one new number, so the numbers used beyond the
   * segments kept went to merged ones. */
  double t0 = now();
  tu_run r = KIDX("-i", "scratch", "index", "--ram-budget", "64K",
                  "--merge-factor", "2", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  double full = now() - t0;
  kidx_stats st;
  dir_files files;
  ck_assert(lib_stats("scratch", &st));
  ck_assert_uint_eq(st.documents, nfiles);
  scan_dir("scratch", &files);
  ck_assert_uint_eq(files.segments, st.segments);
  ck_assert_msg(files.max_segment >= st.segments + 8,
                "segment numbers up to %llu for %llu segments: the run "
                "hardly merged",
                (unsigned long long)files.max_segment,
                (unsigned long long)st.segments);
  char *scratch = tu_work_path("scratch");
  tu_rmtree(scratch);
  free(scratch);

  bool have = false; /* an index exists; committed[] are its documents */
  int kept_old = 0, got_new = 0, cleaned = 0;
  for (int round = 0; round < rounds; round++) {
    if (have && same_documents(committed, fresh, cap)) {
      gen++;
      nfiles += grow;
      for (unsigned i = 0; i < nfiles; i++) {
        write_corpus_file("corpus", i, gen, "");
        fresh[i] = (int)gen;
      }
    }
    bool complete = round % 6 == 5;
    double u = (double)(next_random(&seed) % 10000) / 10000.0, elapsed;
    int status =
        run_killed_after(argv, complete ? -1 : u * 1.2 * full, &elapsed);
    if (complete) {
      ck_assert_int_eq(status, 0);
      full = elapsed;
    } else {
      ck_assert_msg(status == 0 || status == 128 + SIGKILL, "status %d",
                    status);
    }

    bool now_have = lib_documents(".kidx", found, cap);
    assert_check(".kidx", now_have);
    char why[256] = "the index is gone";
    int which =
        now_have ? which_commit(found, committed, fresh, cap, why, sizeof why)
                 : (have ? -1 : 0);
    ck_assert_msg(which >= 0, "round %d: neither commit: %s", round, why);
    ck_assert_msg(status != 0 || which == 1,
                  "round %d: kidx index succeeded, its commit is not there",
                  round);
    if (which == 1) {
      got_new++;
      memcpy(committed, fresh, cap * sizeof *fresh);
      have = true;
    } else {
      kept_old++;
    }
    /* Searching finds this generation's documents: all, or none. */
    if (have)
      ck_assert_int_eq(gen_total(gen), which == 1 ? (long)nfiles : 0);
    /* The next writer removes what a killed one left; a run that
     * succeeded removed it itself. */
    unsigned leftovers = next_writer_cleans(".kidx");
    ck_assert_msg(status == 128 + SIGKILL || leftovers == 0,
                  "round %d: %u leftovers after a successful run", round,
                  leftovers);
    if (leftovers > 0)
      cleaned++;
  }
  /* Both outcomes happened: some kills landed before a commit (and the
   * completed rounds, if no kill did, made new commits); and some left
   * files behind for the next writer to remove. */
  ck_assert_int_gt(kept_old, 0);
  ck_assert_int_gt(got_new, 0);
  ck_assert_int_gt(cleaned, 0);
  free(committed);
  free(fresh);
  free(found);
}
END_TEST

START_TEST(test_sigkill_delete_optimize) {
  /* An index of many segments (a 64K RAM budget flushes every few dozen
   * of these documents) is changed in rounds by kidx index (a third of the
   * files rewritten, deleted documents back; merge factor 1000, so that
   * segments pile up, but those that lose a quarter of their documents
   * are rewritten), kidx delete (a tenth of the documents; its commit
   * merges segments ten at a time) and kidx optimize (every segment into
   * one).  Each run is killed at a random moment of its expected
   * duration, but for the first of each kind, which completes.
   * After each round, as above: kidx check passes, the index holds the
   * documents of the previous commit or of the new one exactly, and the
   * next writer leaves nothing but the commit's files. */
  enum { REINDEX, DELETE, OPTIMIZE, NOPS };
  static const int cycle[4] = {REINDEX, DELETE, REINDEX, OPTIMIZE};
  static const char *const op_names[NOPS] = {"index", "delete", "optimize"};
  const unsigned n = SANITIZED ? 300 : 900;
  const int rounds = SANITIZED ? 16 : 24;
  const char *const index_argv[] = {
      KIDX_BIN,         "index", "--ram-budget", "64K",
      "--merge-factor", "1000",  "corpus",       NULL};
  const char *const optimize_argv[] = {KIDX_BIN, "optimize", NULL};
  uint64_t seed = 0x5EED0002u;
  int *committed = malloc(n * sizeof *committed);
  int *next = malloc(n * sizeof *next);
  int *found = malloc(n * sizeof *found);
  int *on_disk = malloc(n * sizeof *on_disk);
  const char **delete_argv = malloc((n + 3) * sizeof *delete_argv);
  char(*ids)[32] = malloc(n * sizeof *ids);
  ck_assert(committed && next && found && on_disk && delete_argv && ids);
  for (unsigned i = 0; i < n; i++) {
    write_corpus_file("corpus", i, 0, filler(false));
    on_disk[i] = 0;
    corpus_id(ids[i], sizeof ids[i], i);
  }
  double t0 = now();
  tu_run r =
      KIDX("index", "--ram-budget", "64K", "--merge-factor", "1000", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  double dur[NOPS];
  dur[REINDEX] = dur[DELETE] = dur[OPTIMIZE] = now() - t0;
  ck_assert(lib_documents(".kidx", committed, n));
  ck_assert(same_documents(committed, on_disk, n));
  kidx_stats st;
  ck_assert(lib_stats(".kidx", &st));
  ck_assert_uint_ge(st.segments, SANITIZED ? 4 : 10);

  int runs[NOPS] = {0}, killed[NOPS] = {0};
  int kept_old = 0, got_new = 0, killed_on_many = 0, cleaned = 0;
  /* Kills are timed from earlier runs' durations, which a busy machine
   * makes erratic: after the planned rounds, more (up to three times as
   * many) until every case below has happened, rather than a failure
   * that says only that the machine was loaded. */
  for (int round = 0;
       round < rounds ||
       (round < 3 * rounds &&
        (!killed[REINDEX] || !killed[DELETE] || !killed[OPTIMIZE] ||
         !killed_on_many || !kept_old || !got_new || !cleaned));
       round++) {
    int op = cycle[round % 4];
    const char *const *argv = index_argv;
    ck_assert(lib_stats(".kidx", &st));
    kidx_stats before = st;
    /* Optimizing an index of one segment without deletions does nothing:
     * after kills kept it so, index instead. */
    if (op == OPTIMIZE && before.segments < 2 && before.deleted == 0)
      op = REINDEX;
    memcpy(next, committed, n * sizeof *next);
    if (op == REINDEX) {
      for (unsigned i = 0; i < n; i++) {
        if (next_random(&seed) % 3 == 0) {
          on_disk[i] = round + 1;
          write_corpus_file("corpus", i, (unsigned)round + 1, filler(false));
        }
        next[i] = on_disk[i];
      }
    } else if (op == DELETE) {
      size_t k = 2;
      delete_argv[0] = KIDX_BIN;
      delete_argv[1] = "delete";
      for (unsigned tries = 0; k - 2 < n / 10 && tries < 100 * n; tries++) {
        unsigned i = (unsigned)(next_random(&seed) % n);
        if (next[i] >= 0) {
          next[i] = -1;
          delete_argv[k++] = ids[i];
        }
      }
      delete_argv[k] = NULL;
      ck_assert_uint_eq(k - 2, n / 10);
      argv = delete_argv;
    } else {
      argv = optimize_argv;
    }
    /* kidx index is killed as above.  Runs of delete and optimize are
     * fewer: the k-th is killed at the fraction (k * golden ratio) mod 1
     * of its expected duration (scaled to stay within it), so that the
     * kills spread evenly over the run -- opening, merging, committing --
     * whatever their number.  A run that ends before its kill tells how
     * long the next ones will take. */
    bool complete = runs[op]++ == 0;
    /* A kill on an index of several segments is a case to cover: when
     * kills have kept the index at one segment (after an optimize) and it
     * has not happened yet, this re-index completes, making segments for
     * the next runs to be killed on. */
    if (op == REINDEX && before.segments < 2 && killed_on_many == 0)
      complete = true;
    double u = (double)(next_random(&seed) % 10000) / 10000.0, elapsed;
    double spread = runs[op] * 0.6180339887;
    spread -= (double)(long)spread;
    int status = run_killed_after(
        argv,
        complete ? -1 : (op == REINDEX ? 1.2 * u : 0.95 * spread) * dur[op],
        &elapsed);
    if (status == 0)
      dur[op] = elapsed;
    if (complete) {
      ck_assert_msg(status == 0, "kidx %s: status %d", op_names[op], status);
    } else {
      ck_assert_msg(status == 0 || status == 128 + SIGKILL,
                    "kidx %s: status %d", op_names[op], status);
      if (status != 0) {
        killed[op]++;
        if (op != OPTIMIZE && before.segments >= 2)
          killed_on_many++;
      }
    }

    ck_assert(lib_documents(".kidx", found, n));
    assert_check(".kidx", true);
    char why[256];
    int which = which_commit(found, committed, next, n, why, sizeof why);
    ck_assert_msg(which >= 0, "round %d, kidx %s: neither commit: %s", round,
                  op_names[op], why);
    ck_assert_msg(status != 0 || same_documents(found, next, n),
                  "round %d: kidx %s succeeded, its commit is not there", round,
                  op_names[op]);
    if (!same_documents(committed, next, n)) {
      if (which == 1)
        got_new++;
      else
        kept_old++;
    }
    if (op == OPTIMIZE && status == 0) {
      ck_assert(before.segments >= 2 || before.deleted > 0);
      ck_assert(lib_stats(".kidx", &st));
      ck_assert_uint_eq(st.segments, 1);
      ck_assert_uint_eq(st.deleted, 0);
    }
    memcpy(committed, found, n * sizeof *found);
    /* The next writer removes what a killed one left; a run that
     * succeeded removed it itself. */
    unsigned leftovers = next_writer_cleans(".kidx");
    ck_assert_msg(status == 128 + SIGKILL || leftovers == 0,
                  "round %d: %u leftovers after a successful run", round,
                  leftovers);
    if (leftovers > 0)
      cleaned++;
  }
  /* Runs of each kind were killed, kidx index and kidx delete on indexes
   * of several segments too; some kills kept the old commit, some runs made the
   * new one; and some kills left files for the next writer to remove. */
  for (int op = 0; op < NOPS; op++)
    ck_assert_msg(killed[op] > 0, "no kidx %s was killed", op_names[op]);
  ck_assert_int_gt(killed_on_many, 0);
  ck_assert_int_gt(kept_old, 0);
  ck_assert_int_gt(got_new, 0);
  ck_assert_int_gt(cleaned, 0);
  free(committed);
  free(next);
  free(found);
  free(on_disk);
  free(delete_argv);
  free(ids);
}
END_TEST

/* ---- a write that fails ---- */

/* Limits the size of files the child may write: a full disk as far as
 * kidx can tell, without a full disk.  SIGXFSZ would kill it; ignored, the
 * write fails with EFBIG instead, which kidx must report. */
static rlim_t fsize_limit;

static void limit_file_size(void) {
  struct rlimit rl = {fsize_limit, fsize_limit};
  signal(SIGXFSZ, SIG_IGN);
  if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
    _exit(125);
}

/* Runs argv with the file size limit and checks that it fails: exit 3,
 * nothing on stdout, and on stderr one line that starts with prefix and
 * names a file starting with file (a path in the index directory) and the
 * error.  Returns that line (free it). */
static char *fail_with_limit(const char *const *argv, rlim_t limit,
                             const char *prefix, const char *file) {
  fsize_limit = limit;
  char *out = tu_work_path("out.txt"), *err = tu_work_path("err.txt");
  pid_t pid = spawn(argv, out, err, limit_file_size);
  int status = wait_status(pid);
  char *o = tu_read_file(out, NULL), *e = tu_read_file(err, NULL);
  ck_assert_msg(status == 3, "status %d\n%s%s", status, o, e);
  ck_assert_str_eq(o, "");
  tu_assert_one_line(e, prefix);
  ck_assert_msg(strstr(e, file) && strstr(e, strerror(EFBIG)),
                "the message does not name the file (%s) and the error: %s",
                file, e);
  free(o);
  unlink(out);
  unlink(err);
  free(out);
  free(err);
  return e;
}

/* Runs kidx index ARG with the file size limit; checks it fails as one
 * line naming a file of the index directory. */
static void index_with_limit(const char *index_dir, rlim_t limit) {
  const char *const argv[] = {KIDX_BIN, "-i",     index_dir,
                              "index",  "corpus", NULL};
  char prefix[128], file[128];
  snprintf(prefix, sizeof prefix,
           "kidx: cannot write index at %s: ", index_dir);
  snprintf(file, sizeof file, " %s/", index_dir);
  free(fail_with_limit(argv, limit, prefix, file));
}

START_TEST(test_failed_write_keeps_the_commit) {
  for (unsigned i = 0; i < 200; i++)
    write_corpus_file("corpus", i, 0, "");
  tu_run r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  long long bytes = stats_bytes();
  for (unsigned i = 200; i < 400; i++)
    write_corpus_file("corpus", i, 0, "");
  /* The new segment holds as many documents as the old index: it cannot
   * be written within half the old one's size (not the whole size: the
   * stored text is compressed, and how well depends on the documents). */
  index_with_limit(".kidx", (rlim_t)bytes / 2);
  r = KIDX("check");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert_int_eq(stats_documents(), 200);
  ck_assert_int_eq(file_total(199), 1);
  ck_assert_int_eq(file_total(200), 0);
  /* The half-written file was removed. */
  assert_only_commit_files(".kidx");
  /* Space again: the run succeeds. */
  r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert_int_eq(stats_documents(), 400);

  /* The very first commit failing leaves no index, not a broken one. */
  index_with_limit(".kidx2", 4096);
  r = KIDX("-i", ".kidx2", "check");
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: no index at .kidx2");
  tu_run_free(&r);
}
END_TEST

/* The segment number in a message naming DIR/seg-N.kidx. */
static uint64_t named_segment(const char *msg) {
  const char *p = strstr(msg, "/seg-");
  ck_assert_msg(p != NULL, "no segment file named: %s", msg);
  char name[64];
  size_t len = strspn(p + 1, "seg-0123456789.kidx");
  ck_assert_uint_lt(len, sizeof name);
  memcpy(name, p + 1, len);
  name[len] = '\0';
  uint64_t number;
  ck_assert_msg(segment_number(name, &number), "not a segment: %s", msg);
  return number;
}

/* A file size limit above every segment a 64K RAM budget flushes on the
 * corpus of test_failed_write_segments, and below the index its first
 * run commits (format 14: about 63 KB). */
#define MERGE_ROOM (40 << 10)

START_TEST(test_failed_write_segments) {
  /* Writes that fail midway through the work of the segment engine: a
   * kidx index run that has flushed and merged segments when a merge
   * cannot be written, kidx optimize, and a kidx delete whose only write
   * is the commit record.  Each must fail as one line naming the file and
   * the error, leave the previous commit whole and the directory without
   * leftovers, and succeed when run again with space. */
  const unsigned n = 600;
  int *committed = malloc(n * sizeof *committed);
  int *found = malloc(n * sizeof *found);
  int *want = malloc(n * sizeof *want);
  ck_assert(committed && found && want);
  for (unsigned i = 0; i < n; i++)
    want[i] = -1;
  for (unsigned i = 0; i < 300; i++) {
    write_corpus_file("corpus", i, 0, "");
    want[i] = 0;
  }
  const char *const index_argv[] = {
      KIDX_BIN,         "index", "--ram-budget", "64K",
      "--merge-factor", "2",     "corpus",       NULL};
  tu_run r =
      KIDX("index", "--ram-budget", "64K", "--merge-factor", "2", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert(lib_documents(".kidx", committed, n));
  ck_assert(same_documents(committed, want, n));
  kidx_stats before, st;
  dir_files f;
  ck_assert(lib_stats(".kidx", &before));
  scan_dir(".kidx", &f);

  /* 300 more files, and 100 of the first rewritten (replacing documents
   * of the index).  With a limit below the size of one flushed segment,
   * the first flush cannot be written. */
  for (unsigned i = 0; i < n; i++)
    if (i < 100 || i >= 300) {
      write_corpus_file("corpus", i, 1, "");
      want[i] = 1;
    }
  ck_assert_int_gt(f.bytes, MERGE_ROOM);
  char *e = fail_with_limit(index_argv, 4 << 10, "kidx: ", " .kidx/seg-");
  ck_assert_msg(named_segment(e) >= f.max_segment + 1,
                "not a new segment file: %s", e);
  free(e);
  assert_check(".kidx", true);
  ck_assert(lib_documents(".kidx", found, n));
  ck_assert(same_documents(found, committed, n));
  ck_assert(lib_stats(".kidx", &st));
  ck_assert_uint_eq(st.generation, before.generation);
  /* The writer removed what it had written. */
  assert_only_commit_files(".kidx");

  /* With room for every flushed segment (below MERGE_ROOM each) but not
   * for the merges (the committed segment alone is larger): merging is an
   * optimisation, so the merges that fail are skipped and the run
   * commits everything, in more segments. */
  fsize_limit = MERGE_ROOM;
  char *out = tu_work_path("out.txt"), *err = tu_work_path("err.txt");
  int status = wait_status(spawn(index_argv, out, err, limit_file_size));
  char *o = tu_read_file(out, NULL), *eo = tu_read_file(err, NULL);
  ck_assert_msg(status == 0, "status %d\n%s%s", status, o, eo);
  free(o);
  free(eo);
  free(out);
  free(err);
  assert_check(".kidx", true);
  ck_assert(lib_documents(".kidx", committed, n));
  ck_assert(same_documents(committed, want, n));
  ck_assert(lib_stats(".kidx", &st));
  ck_assert_uint_eq(st.generation, before.generation + 1);
  ck_assert_uint_gt(st.segments, before.segments);
  assert_only_commit_files(".kidx");
  r = KIDX("index", "--ram-budget", "64K", "--merge-factor", "2", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  assert_check(".kidx", true);
  ck_assert(lib_documents(".kidx", committed, n));
  ck_assert(same_documents(committed, want, n));

  /* kidx optimize: the index, in several segments with deleted documents
   * (replaced ones), is merged into one file of most of its size: half of
   * it is too much. */
  for (unsigned i = 100; i < 200; i++) {
    write_corpus_file("corpus", i, 2, "");
    want[i] = 2;
  }
  r = KIDX("index", "--ram-budget", "64K", "--merge-factor", "1000", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert(lib_documents(".kidx", committed, n));
  ck_assert(same_documents(committed, want, n));
  ck_assert(lib_stats(".kidx", &before));
  ck_assert_uint_ge(before.segments, 2);
  ck_assert_uint_gt(before.deleted, 0);
  const char *const optimize_argv[] = {KIDX_BIN, "optimize", NULL};
  free(fail_with_limit(optimize_argv, (rlim_t)before.bytes / 2,
                       "kidx: cannot write index at .kidx: ", " .kidx/seg-"));
  assert_check(".kidx", true);
  ck_assert(lib_documents(".kidx", found, n));
  ck_assert(same_documents(found, committed, n));
  ck_assert(lib_stats(".kidx", &st));
  ck_assert_uint_eq(st.generation, before.generation);
  ck_assert_uint_eq(st.segments, before.segments);
  assert_only_commit_files(".kidx");
  r = KIDX("optimize");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert(lib_stats(".kidx", &st));
  ck_assert_uint_eq(st.segments, 1);
  ck_assert_uint_eq(st.deleted, 0);
  ck_assert(lib_documents(".kidx", found, n));
  ck_assert(same_documents(found, committed, n));

  /* kidx delete of a few documents writes no segment (too few deletions
   * for a rewrite), only the commit record, which grows with the list of
   * deleted documents: past the old record's size, it cannot be written. */
  char *manifest = tu_work_path(".kidx/MANIFEST");
  rlim_t manifest_size = (rlim_t)file_size(manifest);
  free(manifest);
  const char *delete_argv[3 + 10] = {KIDX_BIN, "delete"};
  char ids[10][32];
  for (unsigned k = 0; k < 10; k++) {
    corpus_id(ids[k], sizeof ids[k], k * 50);
    delete_argv[2 + k] = ids[k];
    want[k * 50] = -1;
  }
  delete_argv[12] = NULL;
  ck_assert(lib_stats(".kidx", &before));
  free(fail_with_limit(
      delete_argv, manifest_size,
      "kidx: cannot write index at .kidx: ", " .kidx/MANIFEST.tmp"));
  assert_check(".kidx", true);
  ck_assert(lib_documents(".kidx", found, n));
  ck_assert(same_documents(found, committed, n));
  ck_assert(lib_stats(".kidx", &st));
  ck_assert_uint_eq(st.generation, before.generation);
  assert_only_commit_files(".kidx");
  r = tu_kidx(NULL, NULL, 0, "delete", ids[0], ids[1], ids[2], ids[3], ids[4],
              ids[5], ids[6], ids[7], ids[8], ids[9], (const char *)NULL);
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  assert_check(".kidx", true);
  ck_assert(lib_documents(".kidx", found, n));
  ck_assert(same_documents(found, want, n));
  free(committed);
  free(found);
  free(want);
}
END_TEST

/* ---- readers during commits and merges ---- */

/* Documents with the word "common" added per commit. */
#define PER_COMMIT 100

/* A reader process: runs kidx search --json for "common" until the file
 * stop exists, writing one line per search to log: "ok TOTAL", or "bad
 * ..." describing what was wrong.  Runs in a forked child of the test:
 * no Check assertions here, only _exit.  It also stops if the test
 * process is gone (a failed assertion there never creates stop) or after
 * ten minutes, so it cannot outlive the test. */
static void reader_loop(const char *stop, const char *log, const char *out) {
  pid_t parent = getppid();
  double start = now();
  FILE *lf = fopen(log, "w");
  if (!lf)
    _exit(2);
  const char *const argv[] = {KIDX_BIN, "search", "--json",
                              "-k",     "100000", "--snippet-words",
                              "0",      "common", NULL};
  struct stat st;
  while (stat(stop, &st) != 0 && getppid() == parent && now() - start < 600) {
    pid_t pid = fork();
    if (pid < 0)
      _exit(3);
    if (pid == 0) {
      int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int n = open("/dev/null", O_RDWR);
      if (o < 0 || n < 0 || chdir(tu_work_dir()) != 0)
        _exit(126);
      dup2(n, 0);
      dup2(o, 1);
      dup2(n, 2);
      unsetenv("KIDX_INDEX");
      execv(argv[0], (char *const *)(uintptr_t)argv);
      _exit(127);
    }
    int status = wait_status(pid);
    char *text = tu_read_file(out, NULL);
    if (!text) {
      fprintf(lf, "bad: no output file\n");
      continue;
    }
    size_t lines = tu_count_lines(text);
    if (status != 0 && status != 1) {
      fprintf(lf, "bad: status %d\n", status);
    } else if ((status == 1) != (lines == 0)) {
      fprintf(lf, "bad: status %d with %zu lines\n", status, lines);
    } else {
      /* Each line a hit object with its rank, in order. */
      const char *p = text;
      size_t rank = 0;
      int ok = 1;
      while (*p && ok) {
        const char *nl = strchr(p, '\n');
        char want[32];
        int wl = snprintf(want, sizeof want, "{\"rank\":%zu,", ++rank);
        ok = nl && strncmp(p, want, (size_t)wl) == 0 && nl[-1] == '}';
        p = nl ? nl + 1 : p + strlen(p);
      }
      if (ok)
        fprintf(lf, "ok %zu\n", lines);
      else
        fprintf(lf, "bad: malformed output at hit %zu\n", rank);
    }
    fflush(lf); /* the test watches the log grow */
    free(text);
  }
  fclose(lf);
  _exit(0);
}

/* A reader process using the library, as reader_loop: "ok TOTAL" per
 * search.  With hold false it opens the index afresh for each search;
 * with hold true it opens it once and keeps it open to the end, and
 * writes "ok TOTAL HASH", HASH covering the ids, titles and snippets of
 * every hit: an open reader keeps the commit it opened, even after the
 * writer has merged its segments away and removed their files. */
static void lib_reader_loop(const char *stop, const char *log, bool hold) {
  pid_t parent = getppid();
  double start = now();
  FILE *lf = fopen(log, "w");
  char *dir = tu_work_path(".kidx");
  kidx_results *res = NULL;
  if (!lf || kidx_results_new(&res) != KIDX_OK)
    _exit(2);
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.limit = 100000;
  opt.snippet_words = hold ? 8 : 0;
  kidx_reader *r = NULL;
  struct stat st;
  while (stat(stop, &st) != 0 && getppid() == parent && now() - start < 600) {
    kidx_status s = KIDX_OK;
    if (!r && (s = kidx_reader_new(&r)) == KIDX_OK &&
        (s = kidx_reader_open(r, dir)) != KIDX_OK) {
      fprintf(lf, "bad: open: %s: %s\n", kidx_strerror(s),
              kidx_reader_errmsg(r));
      kidx_reader_close(r);
      r = NULL;
    } else if (s != KIDX_OK) {
      fprintf(lf, "bad: %s\n", kidx_strerror(s));
    } else if ((s = kidx_search(r, "common", 6, &opt, res)) != KIDX_OK) {
      fprintf(lf, "bad: search: %s: %s\n", kidx_strerror(s),
              kidx_results_errmsg(res));
    } else {
      size_t count = kidx_results_count(res);
      uint64_t total = kidx_results_total(res), hash = count;
      bool ok = total == count;
      for (size_t i = 0; i < count && ok; i++) {
        size_t id_len = 0, title_len = 0;
        const char *id = kidx_results_id(res, i, &id_len);
        const char *title = kidx_results_title(res, i, &title_len);
        const kidx_snippet *sn = kidx_results_snippet(res, i);
        ok = id && title && id_len > 0 && (!hold || sn);
        if (ok)
          hash = hash * 31 + kidx_stamp_hash(id, id_len) +
                 kidx_stamp_hash(title, title_len) * 7 +
                 (hold ? kidx_stamp_hash(sn->text, sn->len) * 13 : 0);
      }
      if (!ok)
        fprintf(lf, "bad: %zu hits of %llu, or a hit without its text\n", count,
                (unsigned long long)total);
      else if (hold)
        fprintf(lf, "ok %llu %016llx\n", (unsigned long long)total,
                (unsigned long long)hash);
      else
        fprintf(lf, "ok %llu\n", (unsigned long long)total);
    }
    if (!hold) {
      kidx_reader_close(r);
      r = NULL;
    }
    fflush(lf);
  }
  fclose(lf);
  _exit(0);
}

/* Waits until each of the n logs has grown beyond the size in sizes[] (so
 * each reader has answered a query since), for at most a minute. */
static void wait_logs_grow(char *const *logs, const off_t *sizes, int n) {
  double t0 = now();
  for (int i = 0; i < n; i++) {
    while (now() - t0 < 60 && file_size(logs[i]) <= sizes[i])
      sleep_s(0.005);
    ck_assert_msg(file_size(logs[i]) > sizes[i], "reader %d does not answer",
                  i);
  }
}

/* Runs kidx index over the corpus with the smallest RAM budget, 64K, and
 * merge factor mf. */
static void index_tiny(const char *mf) {
  tu_run r =
      KIDX("index", "--ram-budget", "64K", "--merge-factor", mf, "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
}

START_TEST(test_readers_see_whole_commits) {
  /* Commit k holds exactly k * PER_COMMIT documents with "common" (and
   * one without), so every answer's total is a multiple of PER_COMMIT.
   * Each commit also replaces a document added earlier (new words, still
   * "common"), so commits both add and replace.  The writer has the
   * smallest RAM budget and merge factor 2: each run flushes a few times,
   * merges after each flush and at its commit, which then removes the
   * files merged away.  The last run keeps its segments (merge factor
   * 1000), then kidx optimize merges them into one.
   *
   * Four readers search all along: two run kidx search, one opens the
   * index with the library for each search, and one opens it after the
   * first commit and keeps it open to the end, while every file of that
   * commit is merged away and removed.  None may fail; every total must
   * be a commit's, never older than one seen before; the one kept open
   * must give the same hits every time. */
  enum { READERS = 4, HOLDER = 3 };
  const int commits = SANITIZED ? 5 : 10;
  tu_write_file(tu_work_dir(), "corpus/none.txt", "Nothing\nin particular\n",
                22);
  index_tiny("2");
  char *stop = tu_work_path("stop");
  pid_t readers[READERS];
  char *logs[READERS];
  off_t sizes[READERS] = {0};
  for (int i = 0; i < READERS; i++) {
    char name[32];
    snprintf(name, sizeof name, "reader%d.log", i);
    logs[i] = tu_work_path(name);
    if (i == HOLDER)
      continue; /* started after the first commit */
    snprintf(name, sizeof name, "reader%d.out", i);
    char *out = tu_work_path(name);
    readers[i] = fork();
    ck_assert(readers[i] >= 0);
    if (readers[i] == 0) {
      if (i < 2)
        reader_loop(stop, logs[i], out);
      lib_reader_loop(stop, logs[i], false);
    }
    free(out);
  }
  /* Each reader has seen the index before the first commit, and will see
   * it after the last: then both ends of the run are in the logs, and
   * whatever the scheduling, the readers overlap the commits. */
  wait_logs_grow(logs, sizes, HOLDER);
  dir_files first; /* the directory after the first commit */
  kidx_stats st;
  for (int k = 1; k <= commits + 1; k++) {
    for (unsigned j = 0; j < PER_COMMIT; j++)
      write_corpus_file("corpus", (unsigned)k * 100 + j, 0, filler(true));
    if (k > 1)
      write_corpus_file("corpus", (unsigned)(k - 1) * 100, (unsigned)k,
                        "common replaced");
    /* The last run keeps the segments it flushes. */
    index_tiny(k <= commits ? "2" : "1000");
    ck_assert_int_eq(search_total("common"), (long)k * PER_COMMIT);
    if (k == 1) {
      scan_dir(".kidx", &first);
      readers[HOLDER] = fork();
      ck_assert(readers[HOLDER] >= 0);
      if (readers[HOLDER] == 0)
        lib_reader_loop(stop, logs[HOLDER], true);
      /* It has opened the index before the next commit. */
      wait_logs_grow(logs + HOLDER, sizes + HOLDER, 1);
    }
  }
  /* The runs flushed and merged: the segment numbers went far beyond the
   * segments kept.  The files of the first commit are gone, merged away. */
  dir_files files;
  scan_dir(".kidx", &files);
  ck_assert(lib_stats(".kidx", &st));
  ck_assert_uint_eq(files.segments, st.segments);
  ck_assert_uint_ge(st.segments, 2);
  ck_assert_uint_ge(files.max_segment, first.max_segment + 4u * commits);
  for (uint64_t s = 1; s <= first.max_segment; s++) {
    char name[64];
    snprintf(name, sizeof name, ".kidx/seg-%012llu.kidx",
             (unsigned long long)s);
    char *path = tu_work_path(name);
    ck_assert_msg(file_size(path) == 0, "%s is still there", name);
    free(path);
  }
  tu_run r = KIDX("optimize");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert(lib_stats(".kidx", &st));
  ck_assert_uint_eq(st.segments, 1);
  ck_assert_uint_eq(st.deleted, 0);
  ck_assert_int_eq(search_total("common"), (long)(commits + 1) * PER_COMMIT);

  for (int i = 0; i < READERS; i++)
    sizes[i] = file_size(logs[i]);
  wait_logs_grow(logs, sizes, READERS);
  FILE *f = fopen(stop, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  size_t distinct = 0;
  long seen[64];
  for (int i = 0; i < READERS; i++) {
    ck_assert_int_eq(wait_status(readers[i]), 0);
    char *log = tu_read_file(logs[i], NULL);
    ck_assert_ptr_nonnull(log);
    size_t searches = 0;
    long last = -1;
    const char *first_line = log, *first_end = strchr(log, '\n');
    for (const char *p = log; *p;) {
      const char *nl = strchr(p, '\n');
      int len = (int)(nl ? nl - p : (long)strlen(p));
      ck_assert_msg(strncmp(p, "ok ", 3) == 0, "reader %d: %.*s", i, len, p);
      long total = strtol(p + 3, NULL, 10);
      ck_assert_msg(
          total % PER_COMMIT == 0 && total <= (long)(commits + 1) * PER_COMMIT,
          "reader %d saw %ld documents: no commit has that many", i, total);
      /* A reader opening later never sees an older commit. */
      ck_assert_msg(total >= last, "reader %d saw %ld after %ld", i, total,
                    last);
      /* The one kept open: the first commit, always the same hits. */
      if (i == HOLDER)
        ck_assert_msg(total == PER_COMMIT && first_end &&
                          len == first_end - first_line &&
                          strncmp(p, first_line, (size_t)len) == 0,
                      "the reader kept open said '%.*s', then '%.*s'",
                      (int)(first_end - first_line), first_line, len, p);
      size_t s = 0;
      while (s < distinct && seen[s] != total)
        s++;
      if (s == distinct && distinct < 64)
        seen[distinct++] = total;
      last = total;
      searches++;
      p = nl ? nl + 1 : p + strlen(p);
    }
    ck_assert_uint_gt(searches, 0);
    free(log);
    free(logs[i]);
  }
  /* The readers saw the first and the last commit at least. */
  ck_assert_uint_ge(distinct, 2);
  free(stop);
}
END_TEST

/* ---- damage to every file ---- */

static void pwrite_byte(const char *path, off_t pos, unsigned char b) {
  int fd = open(path, O_WRONLY);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(pwrite(fd, &b, 1, pos), 1);
  close(fd);
}

/* The library must find the damage: at open (the header, the MANIFEST,
 * sizes), or, as sections are verified page by page when read, in the
 * full check; a search in between answers (it did not read the damaged
 * page) or reports damage, never anything else. */
static void assert_lib_refuses(const char *dir, const char *what) {
  kidx_reader *r = NULL;
  ck_assert_int_eq(kidx_reader_new(&r), KIDX_OK);
  kidx_status s = kidx_reader_open(r, dir);
  if (s == KIDX_OK) {
    kidx_results *res = NULL;
    ck_assert_int_eq(kidx_results_new(&res), KIDX_OK);
    kidx_status q = kidx_search(r, "common", 6, NULL, res);
    ck_assert_msg(q == KIDX_OK || q == KIDX_ECORRUPT, "%s: search gave %d",
                  what, (int)q);
    kidx_results_free(res);
    s = kidx_reader_check(r);
  }
  ck_assert_msg(s == KIDX_ECORRUPT || s == KIDX_EFORMAT,
                "%s: the damage was not found (%d: %s)", what, (int)s,
                kidx_reader_errmsg(r));
  kidx_reader_close(r);
}

/* Runs search and check on the damaged index: the search answers (it did
 * not read the damaged page) or refuses as one line, exit 3; check must
 * refuse it; never a crash. */
static void assert_refused(const char *what) {
  tu_run r = KIDX("search", "common");
  ck_assert_msg(r.status == 3 || r.status == 0, "%s: search status %d\n%s%s",
                what, r.status, r.out, r.err);
  if (r.status == 3) {
    ck_assert_str_eq(r.out, "");
    tu_assert_one_line(r.err, "kidx: index at .kidx is ");
  }
  tu_run_free(&r);
  r = KIDX("check");
  ck_assert_msg(r.status == 3, "%s: check status %d\n%s%s", what, r.status,
                r.out, r.err);
  tu_assert_one_line(r.err, "kidx: index at .kidx is ");
  tu_run_free(&r);
}

static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

/* Where a flip goes: pos, and whether the CLI is run on it too. */
typedef struct flip {
  size_t pos;
  bool cli;
} flip;

/* The positions to damage in a file of size bytes: every byte of a small
 * file (the MANIFEST), else every byte of the first 256 (a segment's
 * header), the first and last byte of each section the header's table
 * lists (doc/FORMAT.md) and spread over each, and spread over the whole
 * file.  The CLI runs on the first and last byte of the file and of each
 * section. */
static size_t flip_positions(const unsigned char *data, size_t size,
                             unsigned spread, flip **out) {
  size_t cap = size + 1024, n = 0;
  flip *f = malloc(cap * sizeof *f);
  ck_assert_ptr_nonnull(f);
  uint64_t seed = size;
#define ADD(p, c)                                                              \
  do {                                                                         \
    if (n < cap)                                                               \
      f[n++] = (flip){(p), (c)};                                               \
  } while (0)
  if (size <= 1024) {
    for (size_t p = 0; p < size; p++)
      ADD(p, p == 0 || p == size / 2 || p == size - 1);
  } else {
    for (size_t p = 0; p < 256; p++)
      ADD(p, p == 0);
    ck_assert_msg(memcmp(data, "KIDX\r\n\x1a\n", 8) == 0, "not a segment file");
    for (unsigned s = 0; s < 10; s++) {
      uint64_t off = get_u64(data + 64 + 16 * s);
      uint64_t len = get_u64(data + 64 + 16 * s + 8);
      if (len == 0)
        continue;
      ck_assert(off >= 256 && off + len <= size);
      ADD((size_t)off, true);
      ADD((size_t)(off + len - 1), true);
      for (uint64_t k = 0; k < 16; k++) {
        uint64_t lo = off + k * len / 16, hi = off + (k + 1) * len / 16;
        if (hi > lo)
          ADD((size_t)(lo + next_random(&seed) % (hi - lo)), false);
      }
    }
    ADD(size - 1, true);
    for (unsigned k = 0; k < spread; k++) {
      size_t lo = (size_t)k * size / spread,
             hi = (size_t)(k + 1) * size / spread;
      ADD(lo + (size_t)(next_random(&seed) % (hi - lo)), false);
    }
  }
#undef ADD
  *out = f;
  return n;
}

START_TEST(test_damage_every_file) {
  /* An index of several segments, some documents deleted (listed in the
   * MANIFEST).  Every file is damaged in turn -- bytes flipped at many
   * places, covering each segment's header and every section; truncated;
   * a segment missing, or replaced by another -- and each time the
   * library must find the damage (KIDX_ECORRUPT or KIDX_EFORMAT) at open
   * or, for section pages, by the check, and for a part of them kidx
   * check must refuse it as one line with exit 3.  Never a crash, never
   * an answer read from a damaged page.  Files that no commit lists (leftovers
   * of a dead writer, however garbled) change nothing. */
  const unsigned spread = SANITIZED ? 60 : 150;
  for (unsigned i = 0; i < 160; i++)
    write_corpus_file("corpus", i, 0, filler(true));
  index_tiny("1000");
  tu_run r = KIDX("delete", "corpus/d00/f00000.txt", "corpus/d20/f00020.txt",
                  "corpus/d40/f00040.txt");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  kidx_stats st;
  ck_assert(lib_stats(".kidx", &st));
  ck_assert_uint_ge(st.segments, 3);
  ck_assert_uint_eq(st.deleted, 3);
  ck_assert_int_eq(search_total("common"), 157);

  char *dir = tu_work_path(".kidx");
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  char *names[64];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 64)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      names[n++] = strdup(e->d_name);
  closedir(d);
  uint64_t seed = 0xF11Bu;
  size_t damaged_files = 0, segment_files = 0;
  char *seg_names[2] = {NULL, NULL};
  for (size_t f = 0; f < n; f++) {
    char path[4096], what[4200];
    snprintf(path, sizeof path, "%s/%s", dir, names[f]);
    size_t size;
    char *orig = tu_read_file(path, &size);
    ck_assert_ptr_nonnull(orig);
    if (size == 0) { /* the lock file: no content to damage */
      free(orig);
      continue;
    }
    damaged_files++;
    uint64_t number;
    if (segment_number(names[f], &number) && segment_files++ < 2)
      seg_names[segment_files - 1] = names[f];
    flip *flips;
    size_t count =
        flip_positions((const unsigned char *)orig, size, spread, &flips);
    for (size_t k = 0; k < count; k++) {
      size_t pos = flips[k].pos;
      unsigned char mask = (unsigned char)(1 + next_random(&seed) % 255);
      pwrite_byte(path, (off_t)pos, (unsigned char)(orig[pos] ^ mask));
      snprintf(what, sizeof what, "%s byte %zu ^ 0x%02x", names[f], pos, mask);
      assert_lib_refuses(dir, what);
      if (flips[k].cli)
        assert_refused(what);
      pwrite_byte(path, (off_t)pos, (unsigned char)orig[pos]);
    }
    free(flips);
    /* Truncations, from nothing to one byte short. */
    for (unsigned k = 0; k <= 10; k++) {
      size_t len = k == 10 ? size - 1 : (size_t)k * size / 10;
      ck_assert_int_eq(truncate(path, (off_t)len), 0);
      snprintf(what, sizeof what, "%s truncated to %zu bytes", names[f], len);
      assert_lib_refuses(dir, what);
      if (k % 5 == 0)
        assert_refused(what);
      tu_write_file(dir, names[f], orig, size);
    }
    free(orig);
  }
  ck_assert_uint_gt(damaged_files, 3);
  ck_assert_uint_ge(segment_files, 3);

  /* A segment file missing, and one replaced by another, valid, one. */
  char a[4096], b[4096], saved[4096];
  snprintf(a, sizeof a, "%s/%s", dir, seg_names[0]);
  snprintf(b, sizeof b, "%s/%s", dir, seg_names[1]);
  snprintf(saved, sizeof saved, "%s/../saved.kidx", dir);
  ck_assert_int_eq(rename(a, saved), 0);
  assert_lib_refuses(dir, "a segment file missing");
  assert_refused("a segment file missing");
  size_t size;
  char *other = tu_read_file(b, &size);
  ck_assert_ptr_nonnull(other);
  tu_write_file(dir, seg_names[0], other, size);
  free(other);
  assert_lib_refuses(dir, "a segment file replaced by another");
  assert_refused("a segment file replaced by another");
  ck_assert_int_eq(rename(saved, a), 0);

  /* Leftovers of a dead writer: never read, removed by the next one. */
  tu_write_file(dir, "seg-999999999999.kidx", "garbage", 7);
  tu_write_file(dir, "MANIFEST.tmp", "garbage", 7);
  ck_assert_int_eq(search_total("common"), 157);
  r = KIDX("check");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert_uint_eq(next_writer_cleans(".kidx"), 2);

  /* Restored: intact again. */
  r = KIDX("check");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert_int_eq(search_total("common"), 157);
  for (size_t f = 0; f < n; f++)
    free(names[f]);
  free(dir);
}
END_TEST

/* ---- two writers ---- */

START_TEST(test_second_writer) {
  for (unsigned i = 0; i < 20; i++)
    write_corpus_file("corpus", i, 0, "");
  tu_run r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  /* This test process holds the writer lock. */
  char *dir = tu_work_path(".kidx");
  kidx_writer *w = NULL;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  write_corpus_file("corpus", 20, 0, "");
  double t0 = now();
  r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: index at .kidx is locked by another writer");
  tu_run_free(&r);
  /* At once: no waiting without --wait. */
  ck_assert_msg(now() - t0 < 5.0, "took %.1f s", now() - t0);

  /* With --wait, it waits for the lock, then does its work. */
  const char *const index_argv[] = {KIDX_BIN, "index", "--wait", "corpus",
                                    NULL};
  char *err = tu_work_path("err.txt");
  t0 = now();
  pid_t pid = spawn(index_argv, NULL, err, NULL);
  sleep_s(0.5);
  int st;
  ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0); /* still waiting */
  kidx_writer_close(w);
  ck_assert_int_eq(wait_status(pid), 0);
  ck_assert(now() - t0 >= 0.5);
  /* Not a terminal: waiting is silent. */
  char *e = tu_read_file(err, NULL);
  ck_assert_str_eq(e, "");
  free(e);
  ck_assert_int_eq(stats_documents(), 21);

  /* The same for delete. */
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  const char *const delete_argv[] = {KIDX_BIN, "delete", "--wait",
                                     "corpus/d00/f00000.txt", NULL};
  pid = spawn(delete_argv, NULL, err, NULL);
  sleep_s(0.3);
  ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0);
  kidx_writer_close(w);
  ck_assert_int_eq(wait_status(pid), 0);
  ck_assert_int_eq(stats_documents(), 20);

  /* Two writers started together both succeed with --wait, one after the
   * other. */
  for (unsigned i = 21; i < 60; i++)
    write_corpus_file("corpus", i, 1, "");
  pid_t a = spawn(index_argv, NULL, NULL, NULL);
  pid_t b = spawn(index_argv, NULL, NULL, NULL);
  ck_assert_int_eq(wait_status(a), 0);
  ck_assert_int_eq(wait_status(b), 0);
  ck_assert_int_eq(stats_documents(), 60);
  r = KIDX("check");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  free(err);
  free(dir);
}
END_TEST

static Suite *durability_suite(void) {
  Suite *s = suite_create("durability");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"sigkill", test_sigkill_leaves_a_commit},
      {"sigkill_delete_optimize", test_sigkill_delete_optimize},
      {"failed_write", test_failed_write_keeps_the_commit},
      {"failed_write_segments", test_failed_write_segments},
      {"readers", test_readers_see_whole_commits},
      {"damage", test_damage_every_file},
      {"second_writer", test_second_writer},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_unchecked_fixture(tc, tu_case_setup, tu_case_teardown);
    tcase_add_checked_fixture(tc, tu_work_setup, tu_work_teardown);
    /* Generous: under a sanitizer on a loaded machine these run long. */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) {
  return tu_run_suite(durability_suite());
}
