/*
 * bench.c -- indexing and query benchmark for libkidx, using only the public
 * API in kidx.h, with peers (those built: SQLite FTS5, peer_fts5.c; Xapian,
 * peer_xapian.cc; Lucene, peer_lucene.c; see peer.h) measured in the same
 * run, by the same code, for ratios.
 *
 *   kidx_bench [--index DIR] [--queries FILE] [--runs N] [--index-runs N]
 *              [--no-peer] [--peers LIST] [--match union|and|both]
 *              [--rank bm25|tfidf] [--snippets] [--no-variants]
 *              [--ram-budget MIB] [--summary FILE] [--json] CORPUS_DIR
 *
 * What is measured (the README says the same, at more length):
 *
 *   Indexing is repeated --index-runs times per engine, each time into a
 *   fresh index and in a forked child process that opens the index, then
 *   for each file reads it, splits it into title and body and adds it, and
 *   finally commits once.  The engines take turns (kidx, each peer variant,
 *   kidx again, ...), so a change in the machine's load hits all of them
 *   alike.  "index seconds" is the time spent inside the add calls and the
 *   commit only (file reading excluded); the child's wall time including
 *   reading is reported too.  Files are streamed one at a time rather than
 *   preloaded, so the child's peak RSS (its own ru_maxrss once the index is
 *   committed and closed) is what the engine needs to build the index plus
 *   one file buffer and the process baseline -- not the corpus.  Indexing
 *   figures are medians over the runs, with min and max.
 *
 *   Queries run in the parent against the last run's index of each engine,
 *   in two modes, union (any word) and AND (every word), ranked by BM25:
 *   one untimed warm-up pass over the query set per engine and mode, then
 *   --runs timed passes, the engines and modes taking turns pass by pass.
 *   Each search (limit 10, every hit fetched) is timed on its own with
 *   CLOCK_MONOTONIC (an out-of-process engine, Lucene, reports the time it
 *   measured itself, without the pipe); median and p99 are over all of an
 *   engine's timed calls in a mode, and queries/s is the number of timed
 *   calls divided by their summed time (single thread).
 */
#include "kidx.h"

#include "benchutil.h"
#include "peer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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

#define MIB         1048576.0
#define QUERY_LIMIT 10
/* Same rule as the CLI: a NUL byte near the start means a binary file. */
#define BINARY_PROBE_BYTES 8192
/* Same title limit as the CLI: the title is returned with every hit. */
#define TITLE_MAX 512

/* Queries for the small news corpus shipped in corpus/ when no --queries
 * file is given: names, phrases and single words that occur there, plus
 * two that occur nowhere, so the miss path is timed as well. */
static const char *const default_queries[] = {"transparency centre",
                                              "Best Buy",
                                              "FBI briefings",
                                              "kaspersky",
                                              "russian government",
                                              "antivirus software",
                                              "Eugene Kaspersky",
                                              "Homeland Security",
                                              "sanctions",
                                              "Commerce Department ban",
                                              "intelligence agency",
                                              "channel partners",
                                              "cybersecurity firm",
                                              "Ukraine",
                                              "quantum cryptography",
                                              "blockchain"};

/* The temporary directory to remove at exit, if we made one. */
static char *g_tmpdir;
/* --ram-budget: the writer's RAM budget in bytes, 0 for the library's
 * default (64 MiB). */
static size_t g_ram_budget;
static int g_optimize; /* --optimize: kidx merged to one segment */
/* --rank: kidx's ranking model; BM25 by default, as every peer ranks by
 * BM25. */
static kidx_rank g_rank = KIDX_RANK_BM25;
/* --snippets: let kidx_search() make its snippets (off by default: no peer
 * makes any). */
static int g_snippets;

/* The query modes, in report order: union (any word) and AND (every
 * word). */
#define NMODES 2
static const char *const mode_names[NMODES] = {"union", "and"};
static const int mode_match[NMODES] = {PEER_MATCH_ANY, PEER_MATCH_ALL};

/* a + "/" + b, freshly allocated. */
static char *path_join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *p = xmalloc(la + lb + 2);
  memcpy(p, a, la);
  p[la] = '/';
  memcpy(p + la + 1, b, lb + 1);
  return p;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ru_maxrss is in KiB on Linux and the BSDs but in bytes on macOS. */
static double maxrss_mib(const struct rusage *ru) {
#if defined(__APPLE__)
  return (double)ru->ru_maxrss / MIB;
#else
  return (double)ru->ru_maxrss / 1024.0;
#endif
}

/* ---------------------------------------------------------------------- */
/* String lists and the directory walk                                    */
/* ---------------------------------------------------------------------- */

typedef struct strvec {
  char **v;
  size_t n, cap;
} strvec;

static void sv_push(strvec *s, char *str) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->v = xrealloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n++] = str;
}

static void sv_free(strvec *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

/* Appends the paths, relative to root, of the regular files under
 * root/rel (rel "" for root itself), in sorted order so that documents are
 * always added in the same order.  Symbolic links to files are followed;
 * links to directories are not, which rules out cycles.  opendir/readdir
 * rather than nftw(), which is XSI rather than base POSIX. */
static void walk(const char *root, const char *rel, strvec *out) {
  char *dirpath = rel[0] ? path_join(root, rel) : xstrdup(root);
  DIR *d = opendir(dirpath);
  if (!d)
    fail("cannot open directory %s: %s", dirpath, strerror(errno));
  strvec names = {0};
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    /* Hidden entries (.git, editor files) are skipped, as the CLI skips
     * them; this also covers "." and "..". */
    if (e->d_name[0] != '.')
      sv_push(&names, xstrdup(e->d_name));
    errno = 0;
  }
  if (errno != 0)
    fail("cannot read directory %s: %s", dirpath, strerror(errno));
  closedir(d);
  if (names.n > 1)
    qsort(names.v, names.n, sizeof *names.v, cmp_str);
  for (size_t i = 0; i < names.n; i++) {
    char *childrel = rel[0] ? path_join(rel, names.v[i]) : xstrdup(names.v[i]);
    char *full = path_join(root, childrel);
    struct stat st;
    if (lstat(full, &st) != 0)
      fail("cannot stat %s: %s", full, strerror(errno));
    int is_link = S_ISLNK(st.st_mode);
    if (is_link && stat(full, &st) != 0) {
      /* A dangling link is not a file: skip it. */
      free(full);
      free(childrel);
      continue;
    }
    free(full);
    if (S_ISREG(st.st_mode)) {
      sv_push(out, childrel);
    } else {
      if (S_ISDIR(st.st_mode) && !is_link)
        walk(root, childrel, out);
      free(childrel);
    }
  }
  sv_free(&names);
  free(dirpath);
}

/* Removes a directory tree we created (no links are followed). */
static void remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (d) {
      strvec names = {0};
      struct dirent *e;
      while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
          sv_push(&names, xstrdup(e->d_name));
      closedir(d);
      for (size_t i = 0; i < names.n; i++) {
        char *child = path_join(path, names.v[i]);
        remove_tree(child);
        free(child);
      }
      sv_free(&names);
    }
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void cleanup_tmpdir(void) {
  if (g_tmpdir) {
    remove_tree(g_tmpdir);
    free(g_tmpdir);
    g_tmpdir = NULL;
  }
}

/* 1 if dir is a directory with entries, else 0 (when it cannot be opened
 * as a directory, kidx_writer_open() reports why). */
static int dir_has_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  struct dirent *e;
  int found = 0;
  while (!found && (e = readdir(d)) != NULL)
    found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return found;
}

/* ---------------------------------------------------------------------- */
/* Indexing (in a child process)                                          */
/* ---------------------------------------------------------------------- */

/* What the child sends back through the pipe (same binary, so a raw
 * struct is fine). */
typedef struct index_report {
  int32_t status;       /* PEER_OK, or PEER_UNAVAILABLE (msg says why) */
  uint64_t docs;        /* documents added */
  uint64_t skipped;     /* files skipped as binary */
  uint64_t input_bytes; /* bytes of the files added */
  uint64_t add_ns;      /* inside index_add(), summed */
  uint64_t commit_ns;   /* inside index_commit() */
  uint64_t wall_ns;     /* open to commit, including file reading */
  uint64_t disk_bytes;  /* index_bytes() after closing, if the engine has it */
  double peak_rss_mb;   /* the child's ru_maxrss once done */
  char msg[PEER_ERR_MAX];
} index_report;

/* Reads the whole file into *buf (grown as needed); returns its size.
 * Reads to EOF rather than trusting st_size. */
static size_t read_file(const char *path, char **buf, size_t *cap) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    fail("cannot open %s: %s", path, strerror(errno));
  size_t n = 0;
  for (;;) {
    if (*cap - n < 65536) {
      *cap = *cap ? *cap * 2 : 1 << 20;
      *buf = xrealloc(*buf, *cap);
    }
    ssize_t r = read(fd, *buf + n, *cap - n);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      fail("cannot read %s: %s", path, strerror(errno));
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  return n;
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Title: the first line with anything but whitespace on it, trimmed.
 * Body: everything after that line.  A leading UTF-8 byte order mark is
 * dropped, since it would otherwise glue itself to the first title word.
 * Like the CLI, a title line over TITLE_MAX bytes is cut at a space (or
 * else a character boundary) and the rest goes to the body, so a file that
 * is one long line is indexed as the CLI would index it. */
static void split_doc(const char *p, size_t n, const char **title, size_t *tlen,
                      const char **body, size_t *blen) {
  const char *end = p + n;
  if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
    p += 3;
  *title = p;
  *tlen = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    const char *s = p, *e = le;
    while (s < e && is_space(*s))
      s++;
    while (e > s && is_space(e[-1]))
      e--;
    p = nl ? nl + 1 : end;
    if (e > s) {
      if (e - s > TITLE_MAX) {
        const char *cut = s + TITLE_MAX;
        while (cut > s && ((unsigned char)*cut & 0xC0) == 0x80)
          cut--; /* back to the start of a UTF-8 sequence */
        const char *sp = cut;
        while (sp > s && !is_space(*sp))
          sp--;
        if (sp > s)
          cut = sp;
        p = cut;
        e = cut;
        while (e > s && is_space(e[-1]))
          e--;
      }
      *title = s;
      *tlen = (size_t)(e - s);
      break;
    }
  }
  *body = p;
  *blen = (size_t)(end - p);
}

/* The child's work: build one fresh index with eng, fill *rep.  Exits
 * through fail() on any error (the message names the file or the call). */
static void run_indexing(const bench_engine *eng, unsigned variant,
                         const char *root, const strvec *files,
                         const char *path, index_report *rep) {
  memset(rep, 0, sizeof *rep);
  char err[PEER_ERR_MAX] = "";
  void *ix = NULL;
  uint64_t t_start = now_ns();
  int rc = eng->index_open(path, variant, &ix, err);
  if (rc == PEER_UNAVAILABLE) {
    rep->status = PEER_UNAVAILABLE;
    memcpy(rep->msg, err, sizeof rep->msg);
    return;
  }
  if (rc != PEER_OK)
    fail("%s", err);
  char *buf = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < files->n; i++) {
    const char *id = files->v[i];
    char *full = path_join(root, id);
    size_t n = read_file(full, &buf, &cap);
    free(full);
    if (memchr(buf, '\0', n < BINARY_PROBE_BYTES ? n : BINARY_PROBE_BYTES)) {
      rep->skipped++;
      continue;
    }
    bench_doc d;
    d.docno = rep->docs + 1;
    d.id = id;
    d.id_len = strlen(id);
    split_doc(buf, n, &d.title, &d.title_len, &d.body, &d.body_len);
    uint64_t t0 = now_ns();
    rc = eng->index_add(ix, &d, err);
    rep->add_ns += now_ns() - t0;
    if (rc != PEER_OK)
      fail("%s", err);
    rep->docs++;
    rep->input_bytes += n;
  }
  free(buf);
  uint64_t t0 = now_ns();
  rc = eng->index_commit(ix, err);
  uint64_t t1 = now_ns();
  if (rc != PEER_OK)
    fail("%s", err);
  rep->commit_ns = t1 - t0;
  rep->wall_ns = t1 - t_start;
  eng->index_close(ix);
  if (eng->index_bytes && eng->index_bytes(path, &rep->disk_bytes, err) != 0)
    fail("%s", err);
  /* The peak of this process so far, which is all of the indexing.  The
   * child's own figure rather than RUSAGE_CHILDREN in the parent, which
   * would be the maximum over every child waited for, all runs and
   * engines together. */
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    fail("getrusage: %s", strerror(errno));
  rep->peak_rss_mb = maxrss_mib(&ru);
  /* An engine that runs in a helper process of its own (Lucene's JVM) has
   * waited for it in index_close(): its peak is added.  Nothing for the
   * engines that run in this process. */
  if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
    fail("getrusage: %s", strerror(errno));
  rep->peak_rss_mb += maxrss_mib(&ru);
}

/* Runs run_indexing() in a child process.  A separate process is the only
 * way to get a peak RSS that covers one index build alone: our own
 * ru_maxrss would also count whatever the parent allocates, while every
 * child starts from the same small parent (the file list), whatever the
 * engine and whichever the run. */
static void index_in_child(const bench_engine *eng, unsigned variant,
                           const char *root, const strvec *files,
                           const char *path, index_report *rep) {
  int pfd[2];
  if (pipe(pfd) != 0)
    fail("pipe: %s", strerror(errno));
  fflush(NULL); /* or buffered output would be written twice */
  pid_t pid = fork();
  if (pid < 0)
    fail("fork: %s", strerror(errno));
  if (pid == 0) {
    close(pfd[0]);
    /* The parent owns the temporary directory: the child must not remove
     * it when fail() exits. */
    g_tmpdir = NULL;
    run_indexing(eng, variant, root, files, path, rep);
    const char *p = (const char *)rep;
    size_t left = sizeof *rep;
    while (left > 0) {
      ssize_t wr = write(pfd[1], p, left);
      if (wr < 0 && errno == EINTR)
        continue;
      if (wr <= 0)
        _exit(1);
      p += wr;
      left -= (size_t)wr;
    }
    _exit(0);
  }
  close(pfd[1]);
  char *p = (char *)rep;
  size_t got = 0;
  while (got < sizeof *rep) {
    ssize_t r = read(pfd[0], p + got, sizeof *rep - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(pfd[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      fail("waitpid: %s", strerror(errno));
  if (WIFSIGNALED(status))
    fail("%s indexing process killed by signal %d", eng->name,
         WTERMSIG(status));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    exit(1); /* the child has already printed its one-line message */
  if (got != sizeof *rep)
    fail("%s indexing process sent no report", eng->name);
  rep->msg[sizeof rep->msg - 1] = '\0';
}

/* ---------------------------------------------------------------------- */
/* Queries                                                                */
/* ---------------------------------------------------------------------- */

/* One query per line; blank lines are ignored, surrounding whitespace
 * (including a CR from CRLF files) trimmed. */
static void load_queries(const char *file, strvec *out) {
  FILE *f = fopen(file, "rb");
  if (!f)
    fail("cannot open %s: %s", file, strerror(errno));
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (cap - n < 4096) {
      cap = cap ? cap * 2 : 65536;
      buf = xrealloc(buf, cap);
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0)
      break;
  }
  if (ferror(f))
    fail("cannot read %s", file);
  fclose(f);
  const char *p = buf, *end = buf + n;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *s = p, *e = nl ? nl : end;
    p = nl ? nl + 1 : end;
    while (s < e && (is_space(*s)))
      s++;
    while (e > s && is_space(e[-1]))
      e--;
    if (e > s) {
      char *q = xmalloc((size_t)(e - s) + 1);
      memcpy(q, s, (size_t)(e - s));
      q[e - s] = '\0';
      sv_push(out, q);
    }
  }
  free(buf);
  if (out->n == 0)
    fail("no queries in %s", file);
}

typedef struct query_report {
  size_t queries;    /* distinct queries in the set */
  size_t with_hits;  /* of those, how many matched at least one document */
  size_t executions; /* timed searches */
  double median_us, p99_us, mean_us, qps;
} query_report;

/* One engine's searcher and its latencies, while the engines take turns. */
typedef struct query_timer {
  const bench_engine *eng;
  void *s;       /* from eng->search_open() */
  uint64_t *lat; /* one per timed search */
  size_t k;
  uint64_t sum;
  query_report rep;
} query_timer;

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Warm-up: every query once, untimed.  Brings the index pages and the
 * allocator into a steady state so the timed runs measure search, not
 * first-touch page faults; also counts the queries with hits. */
static void warm_up(query_timer *t, size_t nqueries, unsigned runs) {
  char err[PEER_ERR_MAX];
  memset(&t->rep, 0, sizeof t->rep);
  t->rep.queries = nqueries;
  for (size_t i = 0; i < nqueries; i++) {
    size_t hits = 0;
    uint64_t self_ns = PEER_NO_SELF_TIME;
    if (t->eng->search(t->s, i, &hits, &self_ns, err) != PEER_OK)
      fail("%s", err);
    if (hits > 0)
      t->rep.with_hits++;
  }
  t->lat = xmalloc(nqueries * runs * sizeof *t->lat);
  t->k = 0;
  t->sum = 0;
}

/* One timed pass: each search timed on its own. */
static void timed_pass(query_timer *t, size_t nqueries) {
  char err[PEER_ERR_MAX];
  for (size_t i = 0; i < nqueries; i++) {
    size_t hits;
    uint64_t self_ns = PEER_NO_SELF_TIME;
    uint64_t t0 = now_ns();
    int rc = t->eng->search(t->s, i, &hits, &self_ns, err);
    uint64_t dt = now_ns() - t0;
    if (rc != PEER_OK)
      fail("%s", err);
    /* An out-of-process engine's own timing, without the pipe. */
    if (self_ns != PEER_NO_SELF_TIME)
      dt = self_ns;
    t->lat[t->k++] = dt;
    t->sum += dt;
  }
}

static void finish_timing(query_timer *t) {
  size_t total = t->k;
  uint64_t *lat = t->lat;
  qsort(lat, total, sizeof *lat, cmp_u64);
  /* Median: mean of the two middle values when the count is even.
   * p99: nearest rank, the smallest value >= 99% of the samples. */
  double med =
      total % 2 ? (double)lat[total / 2]
                : ((double)lat[total / 2 - 1] + (double)lat[total / 2]) / 2.0;
  size_t rank99 = (total * 99 + 99) / 100;
  t->rep.executions = total;
  t->rep.median_us = med / 1e3;
  t->rep.p99_us = (double)lat[rank99 - 1] / 1e3;
  t->rep.mean_us = (double)t->sum / (double)total / 1e3;
  t->rep.qps = t->sum > 0 ? (double)total / ((double)t->sum / 1e9) : 0.0;
  free(lat);
  t->lat = NULL;
}

/* ---------------------------------------------------------------------- */
/* kidx as a bench_engine                                                 */
/* ---------------------------------------------------------------------- */

typedef struct kx_index {
  kidx_writer *w;
  const char *dir;
} kx_index;

static const char *kx_describe(void) {
  static char line[64];
  snprintf(line, sizeof line, "libkidx %s", kidx_version_string());
  return line;
}

static void kx_index_close(void *p) {
  kx_index *ix = p;
  if (!ix)
    return;
  kidx_writer_close(ix->w);
  free(ix);
}

static int kx_index_open(const char *path, unsigned variant, void **out,
                         char *err) {
  (void)variant;
  kx_index *ix = xmalloc(sizeof *ix);
  ix->w = NULL;
  ix->dir = path;
  if (kidx_writer_new(&ix->w) != KIDX_OK) {
    snprintf(err, PEER_ERR_MAX, "kidx_writer_new: %s",
             kidx_strerror(KIDX_ENOMEM));
    free(ix);
    return PEER_FAIL;
  }
  if (g_ram_budget &&
      kidx_writer_set_ram_budget(ix->w, g_ram_budget) != KIDX_OK) {
    snprintf(err, PEER_ERR_MAX, "kidx_writer_set_ram_budget: %s",
             kidx_writer_errmsg(ix->w));
    kx_index_close(ix);
    return PEER_FAIL;
  }
  if (kidx_writer_open(ix->w, path) != KIDX_OK) {
    snprintf(err, PEER_ERR_MAX, "kidx_writer_open(%s): %s", path,
             kidx_writer_errmsg(ix->w));
    kx_index_close(ix);
    return PEER_FAIL;
  }
  *out = ix;
  return PEER_OK;
}

static int kx_index_add(void *p, const bench_doc *d, char *err) {
  kx_index *ix = p;
  if (kidx_writer_add(ix->w, d->id, d->id_len, d->title, d->title_len, d->body,
                      d->body_len) != KIDX_OK) {
    snprintf(err, PEER_ERR_MAX, "kidx_writer_add(%.*s): %s",
             d->id_len > 256 ? 256 : (int)d->id_len, d->id,
             kidx_writer_errmsg(ix->w));
    return PEER_FAIL;
  }
  return PEER_OK;
}

static int kx_index_commit(void *p, char *err) {
  kx_index *ix = p;
  /* One segment, as Lucene is force-merged to (its time is indexing's);
   * the merge is visible at the commit. */
  if (g_optimize && kidx_writer_optimize(ix->w) != KIDX_OK) {
    snprintf(err, PEER_ERR_MAX, "kidx_writer_optimize(%s): %s", ix->dir,
             kidx_writer_errmsg(ix->w));
    return PEER_FAIL;
  }
  if (kidx_writer_commit(ix->w) != KIDX_OK) {
    snprintf(err, PEER_ERR_MAX, "kidx_writer_commit(%s): %s", ix->dir,
             kidx_writer_errmsg(ix->w));
    return PEER_FAIL;
  }
  return PEER_OK;
}

typedef struct kx_searcher {
  kidx_reader *r;
  kidx_results *res;
  kidx_search_options opt;
  const char *const *queries;
} kx_searcher;

static void kx_search_close(void *p) {
  kx_searcher *s = p;
  if (!s)
    return;
  kidx_results_free(s->res);
  kidx_reader_close(s->r);
  free(s);
}

static int kx_search_open(const char *path, const char *const *queries,
                          size_t nqueries, size_t limit, int match, void **out,
                          char *err) {
  (void)nqueries;
  kx_searcher *s = xmalloc(sizeof *s);
  memset(s, 0, sizeof *s);
  s->queries = queries;
  if (kidx_reader_new(&s->r) != KIDX_OK ||
      kidx_results_new(&s->res) != KIDX_OK) {
    snprintf(err, PEER_ERR_MAX, "kidx_reader_new: %s",
             kidx_strerror(KIDX_ENOMEM));
    kx_search_close(s);
    return PEER_FAIL;
  }
  if (kidx_reader_open(s->r, path) != KIDX_OK) {
    snprintf(err, PEER_ERR_MAX, "kidx_reader_open(%s): %s", path,
             kidx_reader_errmsg(s->r));
    kx_search_close(s);
    return PEER_FAIL;
  }
  kidx_search_options_init(&s->opt);
  s->opt.limit = limit;
  s->opt.rank = g_rank;
  s->opt.match = match == PEER_MATCH_ALL ? KIDX_MATCH_ALL : KIDX_MATCH_ANY;
  if (!g_snippets)
    s->opt.snippet_words = 0;
  *out = s;
  return PEER_OK;
}

/* kidx_search() fills the results object with the ids and titles of the
 * hits, so it has fetched them: nothing more to step through. */
static int kx_search(void *p, size_t i, size_t *hits, uint64_t *self_ns,
                     char *err) {
  (void)self_ns;
  kx_searcher *s = p;
  const char *q = s->queries[i];
  kidx_status rc = kidx_search(s->r, q, strlen(q), &s->opt, s->res);
  if (rc != KIDX_OK) {
    const char *msg = kidx_results_errmsg(s->res);
    snprintf(err, PEER_ERR_MAX, "kidx_search(\"%s\"): %s", q,
             msg[0] ? msg : kidx_strerror(rc));
    return PEER_FAIL;
  }
  *hits = kidx_results_count(s->res);
  return PEER_OK;
}

static const char *const kx_variants[] = {"kidx"};

static const bench_engine kidx_engine = {
    .name = "kidx",
    .variants = kx_variants,
    .nvariants = 1,
    .variant_notes = NULL,
    .query_note = "kidx_search(), limit 10",
    .describe = kx_describe,
    .index_open = kx_index_open,
    .index_add = kx_index_add,
    .index_commit = kx_index_commit,
    .index_close = kx_index_close,
    .index_bytes = NULL, /* kidx_reader_stats() gives it */
    .search_open = kx_search_open,
    .search = kx_search,
    .search_close = kx_search_close,
};

/* The peers compiled in, in report order; NULL-terminated. */
static const bench_engine *const peer_list[] = {
#ifdef KIDX_BENCH_SQLITE
    &peer_fts5,
#endif
#ifdef KIDX_BENCH_XAPIAN
    &peer_xapian,
#endif
#ifdef KIDX_BENCH_LUCENE
    &peer_lucene,
#endif
    NULL};

/* ---------------------------------------------------------------------- */
/* Runs and their medians                                                 */
/* ---------------------------------------------------------------------- */

#define MAX_VARIANTS 4

/* Median, min and max over the index runs of one engine variant. */
typedef struct index_summary {
  unsigned runs;
  double sec, sec_min, sec_max;    /* add + commit, seconds */
  double mbps, mbps_min, mbps_max; /* MiB of input per second of that */
  double add, commit, wall;        /* medians, seconds */
  double rss, rss_min, rss_max;    /* peak RSS of the child, MiB */
  uint64_t disk_bytes;             /* of the last run */
} index_summary;

/* An engine in this benchmark: its index runs, then its figures. */
typedef struct engine_run {
  const bench_engine *eng;
  unsigned nv;     /* variants built: all, or 1 with --no-variants */
  int unavailable; /* the engine said so; why says why */
  char why[PEER_ERR_MAX];
  index_report *runs[MAX_VARIANTS]; /* [variant][run] */
  unsigned done[MAX_VARIANTS];
  char *kept; /* variant 0's last index, which is queried */
  index_summary ix[MAX_VARIANTS];
  query_timer qt[NMODES]; /* union, AND */
} engine_run;

static double seconds(uint64_t ns) {
  return (double)ns / 1e9;
}

/* Each figure's median is taken on its own: with an even number of runs
 * the median MiB/s is not exactly input / median seconds. */
static void summarize(const index_report *runs, unsigned n, index_summary *s) {
  double *v = xmalloc(n * sizeof *v);
  memset(s, 0, sizeof *s);
  s->runs = n;
  if (n == 0) {
    free(v);
    return;
  }
  for (unsigned i = 0; i < n; i++)
    v[i] = seconds(runs[i].add_ns + runs[i].commit_ns);
  s->sec = median_sorted(v, n);
  s->sec_min = v[0];
  s->sec_max = v[n - 1];
  for (unsigned i = 0; i < n; i++) {
    double t = seconds(runs[i].add_ns + runs[i].commit_ns);
    v[i] = t > 0 ? (double)runs[i].input_bytes / MIB / t : 0.0;
  }
  s->mbps = median_sorted(v, n);
  s->mbps_min = v[0];
  s->mbps_max = v[n - 1];
  for (unsigned i = 0; i < n; i++)
    v[i] = seconds(runs[i].add_ns);
  s->add = median_sorted(v, n);
  for (unsigned i = 0; i < n; i++)
    v[i] = seconds(runs[i].commit_ns);
  s->commit = median_sorted(v, n);
  for (unsigned i = 0; i < n; i++)
    v[i] = seconds(runs[i].wall_ns);
  s->wall = median_sorted(v, n);
  for (unsigned i = 0; i < n; i++)
    v[i] = runs[i].peak_rss_mb;
  s->rss = median_sorted(v, n);
  s->rss_min = v[0];
  s->rss_max = v[n - 1];
  s->disk_bytes = runs[n - 1].disk_bytes;
  free(v);
}

/* ---------------------------------------------------------------------- */
/* Report                                                                 */
/* ---------------------------------------------------------------------- */

/* 1234567 -> "1,234,567", for the human-readable report. */
static const char *grouped(uint64_t v, char out[32]) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
  int o = 0;
  for (int i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      out[o++] = ',';
    out[o++] = tmp[i];
  }
  out[o] = '\0';
  return out;
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

typedef struct figures {
  const char *corpus;
  const char *index_dir; /* NULL: temporary, removed */
  const char *query_source;
  unsigned runs, index_runs;
  int no_peer;
  index_report input; /* documents, skips and bytes (every run agrees) */
  kidx_stats st;      /* of kidx's last index, the one queried */
  double search_rss_mb;
  engine_run *eng; /* [0] is kidx, then the peers that ran */
  size_t neng;
  int mode_on[NMODES]; /* the query modes measured (--match) */
  size_t nqueries;
  const char *peer_note; /* why peers were left out, or NULL */
} figures;

/* The first mode measured: its figures go under the JSON keys that have
 * no mode in their name. */
static int first_mode(const figures *f) {
  return f->mode_on[0] ? 0 : 1;
}

/* JSON key infix for a mode: "" for the first one measured, "_and" for
 * AND when union was measured too (query_median_us, query_and_median_us). */
static const char *mode_key(const figures *f, int m) {
  return m == first_mode(f) ? "" : "_and";
}

/* A duration for the human report: milliseconds below one second, so a
 * small corpus does not show as "0.000 s". */
static const char *duration(double s, char out[32]) {
  if (s < 1.0)
    snprintf(out, 32, "%.2f ms", s * 1e3);
  else
    snprintf(out, 32, "%.3f s", s);
  return out;
}

static double pct_of_input(const figures *f, uint64_t bytes) {
  return f->input.input_bytes
             ? 100.0 * (double)bytes / (double)f->input.input_bytes
             : 0.0;
}

/* a / b, or -1 (printed as n/a, null in JSON) when either is not
 * positive. */
static double ratio(double a, double b) {
  return a > 0 && b > 0 ? a / b : -1.0;
}

/* "fts5" for variant 0, "fts5_contentless" for the others: JSON key
 * prefixes. */
static const char *key_prefix(const bench_engine *e, unsigned v, char out[64]) {
  if (v == 0)
    snprintf(out, 64, "%s", e->name);
  else
    snprintf(out, 64, "%s_%s", e->name, e->variants[v]);
  return out;
}

#define ARROW "\xE2\x86\x92" /* U+2192, as UTF-8 */

/* ratio = kidx speed / peer speed. */
static void print_faster(double r, const char *peer) {
  if (r < 0)
    printf("n/a");
  else if (r >= 1.0)
    printf("kidx %.2fx faster", r);
  else
    printf("kidx %.2fx as fast (%s %.2fx faster)", r, peer, 1.0 / r);
}

static void print_index_lines(const char *label, const index_summary *s) {
  char a[32], b[32], c[32];
  printf("%-18s%s in add+commit, median of %u run%s (min %s, max %s)\n", label,
         duration(s->sec, a), s->runs, s->runs == 1 ? "" : "s",
         duration(s->sec_min, b), duration(s->sec_max, c));
  printf("%-18sadd %s, commit %s; file reading excluded (%s wall with it)\n",
         "", duration(s->add, a), duration(s->commit, b), duration(s->wall, c));
  printf("%-18s%.2f MiB/s (min %.2f, max %.2f)\n", "", s->mbps, s->mbps_min,
         s->mbps_max);
}

static void print_human(const figures *f) {
  char a[32], b[32], c[32];
  const engine_run *k = &f->eng[0];
  printf("kidx_bench (libkidx %s)\n", kidx_version_string());
  printf("corpus            %s\n", f->corpus);
  printf("index             %s\n",
         f->index_dir ? f->index_dir : "temporary directory (removed)");
  printf("documents         %s (binary files skipped: %s)\n",
         grouped(f->st.documents, a), grouped(f->input.skipped, b));
  printf("input             %s bytes (%.2f MiB)\n",
         grouped(f->input.input_bytes, a), (double)f->input.input_bytes / MIB);
  print_index_lines("indexing", &k->ix[0]);
  printf("index size        %s bytes (%.1f%% of input); %s terms, %s tokens\n",
         grouped(f->st.bytes, a), pct_of_input(f, f->st.bytes),
         grouped(f->st.terms, b), grouped(f->st.tokens, c));
  printf("                  of which stored text %s bytes; without it %.1f%% "
         "of input\n",
         grouped(f->st.stored_bytes, a),
         pct_of_input(f, f->st.bytes - f->st.stored_bytes));
  printf("peak RSS          %.1f MiB (min %.1f, max %.1f; indexing child: "
         "writer + one file buffer + process baseline)\n",
         k->ix[0].rss, k->ix[0].rss_min, k->ix[0].rss_max);
  double budget = (double)(g_ram_budget ? g_ram_budget : 64u << 20) / MIB;
  printf("                  RAM budget %.1f MiB%s: peak RSS is the budget "
         "%s %.1f MiB; %s segment(s)\n",
         budget, g_ram_budget ? "" : " (default)",
         k->ix[0].rss >= budget ? "+" : "-",
         k->ix[0].rss >= budget ? k->ix[0].rss - budget : budget - k->ix[0].rss,
         grouped(f->st.segments, a));
  printf("                  %.1f MiB (query process: reader + query loop)\n",
         f->search_rss_mb);
  printf("queries           %zu from %s\n", f->nqueries, f->query_source);
  printf("query timing      %u runs after 1 warm-up = %s searches per engine "
         "and mode, limit %d, 1 thread; ranking %s%s\n",
         f->runs, grouped((uint64_t)f->runs * f->nqueries, a), QUERY_LIMIT,
         g_rank == KIDX_RANK_BM25 ? "BM25 (k1 1.2, b 0.75)" : "TF-IDF",
         g_snippets ? ", with snippets" : ", no snippets");
  for (int m = 0; m < NMODES; m++) {
    if (!f->mode_on[m])
      continue;
    const query_report *q = &k->qt[m].rep;
    printf("%-5s queries     %zu with hits; median %.1f us, p99 %.1f us, "
           "mean %.1f us; %s queries/s\n",
           mode_names[m], q->with_hits, q->median_us, q->p99_us, q->mean_us,
           grouped((uint64_t)(q->qps + 0.5), a));
  }

  /* Peers that were not measured, and why. */
  printf("\n");
#ifndef KIDX_BENCH_SQLITE
  printf("fts5: not built (sqlite3 not found by pkg-config when configuring, "
         "or KIDX_BENCH_FTS5=OFF; Debian: libsqlite3-dev)\n");
#endif
#ifndef KIDX_BENCH_XAPIAN
  printf("xapian: not built (xapian-core not found when configuring, or "
         "KIDX_BENCH_XAPIAN=OFF; Debian: libxapian-dev, see "
         "scripts/bench-deps.sh)\n");
#endif
#ifndef KIDX_BENCH_LUCENE
  printf("lucene: not built (javac or /usr/share/java/lucene-core*.jar not "
         "found when configuring, or KIDX_BENCH_LUCENE=OFF; Debian: "
         "liblucene8-java and a JDK, see scripts/bench-deps.sh)\n");
#endif
  for (size_t i = 0; peer_list[i]; i++) {
    int ran = 0;
    for (size_t e = 1; e < f->neng; e++)
      ran |= f->eng[e].eng == peer_list[i];
    if (!ran)
      printf("%s: skipped (%s)\n", peer_list[i]->name, f->peer_note);
  }
  for (size_t e = 1; e < f->neng; e++)
    if (f->eng[e].unavailable)
      printf("%s: not available (%s)\n", f->eng[e].eng->name, f->eng[e].why);

  for (size_t e = 1; e < f->neng; e++) {
    const engine_run *p = &f->eng[e];
    if (p->unavailable)
      continue;
    printf("%-18s%s\n", p->eng->name, p->eng->describe());
    for (unsigned v = 0; v < p->nv; v++) {
      if (v > 0) {
        char label[64];
        snprintf(label, sizeof label, "%s %s", p->eng->name,
                 p->eng->variants[v]);
        printf("%-18s%s; indexed, not queried\n", label,
               p->eng->variant_notes[v]);
      }
      print_index_lines("  indexing", &p->ix[v]);
      printf("  index size      %s bytes (%.1f%% of input)\n",
             grouped(p->ix[v].disk_bytes, a),
             pct_of_input(f, p->ix[v].disk_bytes));
      printf("  peak RSS        %.1f MiB (min %.1f, max %.1f; indexing "
             "child)\n",
             p->ix[v].rss, p->ix[v].rss_min, p->ix[v].rss_max);
      if (v == 0) {
        printf("  queries         %s\n", p->eng->query_note);
        for (int m = 0; m < NMODES; m++) {
          if (!f->mode_on[m])
            continue;
          const query_report *q = &p->qt[m].rep;
          printf("  %-5s queries   %zu with hits; median %.1f us, p99 %.1f "
                 "us, mean %.1f us; %s queries/s\n",
                 mode_names[m], q->with_hits, q->median_us, q->p99_us,
                 q->mean_us, grouped((uint64_t)(q->qps + 0.5), a));
        }
      }
    }
  }

  /* Side by side: medians of this run, and their ratios. */
  for (size_t e = 1; e < f->neng; e++) {
    const engine_run *p = &f->eng[e];
    const char *pn = p->eng->name;
    unsigned nv = p->nv;
    if (p->unavailable)
      continue;
    printf("\nkidx vs %-10smedians measured in this run, as ratios of kidx "
           "to %s\n",
           pn, pn);
    printf("indexing MiB/s    kidx %.2f, %s %.2f", k->ix[0].mbps, pn,
           p->ix[0].mbps);
    for (unsigned v = 1; v < nv; v++)
      printf(" (%s %.2f)", p->eng->variants[v], p->ix[v].mbps);
    printf(" " ARROW " ");
    print_faster(ratio(k->ix[0].mbps, p->ix[0].mbps), pn);
    for (unsigned v = 1; v < nv; v++)
      printf(" (vs %s %.2fx)", p->eng->variants[v],
             ratio(k->ix[0].mbps, p->ix[v].mbps));
    printf("\n");

    printf("index size        kidx %.1f%% of input, %s %.1f%%",
           pct_of_input(f, f->st.bytes), pn,
           pct_of_input(f, p->ix[0].disk_bytes));
    for (unsigned v = 1; v < nv; v++)
      printf(" (%s %.1f%%)", p->eng->variants[v],
             pct_of_input(f, p->ix[v].disk_bytes));
    printf(" " ARROW " kidx %.2fx the size",
           ratio((double)f->st.bytes, (double)p->ix[0].disk_bytes));
    for (unsigned v = 1; v < nv; v++)
      printf(" (vs %s %.2fx)", p->eng->variants[v],
             ratio((double)f->st.bytes, (double)p->ix[v].disk_bytes));
    printf("\n");
    /* Without stored text against the contentless variant: index against
     * index, which is the comparison issue 5's size goal is about. */
    for (unsigned v = 1; v < nv; v++)
      printf("index w/o text    kidx %.1f%% of input, %s %.1f%% " ARROW
             " kidx %.2fx the size\n",
             pct_of_input(f, f->st.bytes - f->st.stored_bytes),
             p->eng->variants[v], pct_of_input(f, p->ix[v].disk_bytes),
             ratio((double)(f->st.bytes - f->st.stored_bytes),
                   (double)p->ix[v].disk_bytes));

    printf("peak RSS          kidx %.1f MiB, %s %.1f MiB", k->ix[0].rss, pn,
           p->ix[0].rss);
    for (unsigned v = 1; v < nv; v++)
      printf(" (%s %.1f MiB)", p->eng->variants[v], p->ix[v].rss);
    printf(" " ARROW " kidx %.2fx the memory",
           ratio(k->ix[0].rss, p->ix[0].rss));
    for (unsigned v = 1; v < nv; v++)
      printf(" (vs %s %.2fx)", p->eng->variants[v],
             ratio(k->ix[0].rss, p->ix[v].rss));
    printf("\n");

    for (int m = 0; m < NMODES; m++) {
      if (!f->mode_on[m])
        continue;
      const query_report *kq = &k->qt[m].rep, *pq = &p->qt[m].rep;
      printf("%-5s median      kidx %.1f us, %s %.1f us " ARROW " ",
             mode_names[m], kq->median_us, pn, pq->median_us);
      print_faster(ratio(pq->median_us, kq->median_us), pn);
      printf("\n%-5s p99         kidx %.1f us, %s %.1f us " ARROW " ",
             mode_names[m], kq->p99_us, pn, pq->p99_us);
      print_faster(ratio(pq->p99_us, kq->p99_us), pn);
      printf("\n");
    }
  }
}

/* , "key": value -- or null when the ratio is undefined. */
static void json_ratio(const char *prefix, const char *what, double r) {
  if (r < 0)
    printf(", \"vs_%s_%s\": null", prefix, what);
  else
    printf(", \"vs_%s_%s\": %.4f", prefix, what, r);
}

static void json_index(const char *p, const index_summary *s) {
  printf(", \"%s_index_seconds\": %.6f, \"%s_index_seconds_min\": %.6f, "
         "\"%s_index_seconds_max\": %.6f, \"%s_index_mb_per_s\": %.3f, "
         "\"%s_index_mb_per_s_min\": %.3f, \"%s_index_mb_per_s_max\": %.3f, "
         "\"%s_add_seconds\": %.6f, \"%s_commit_seconds\": %.6f, "
         "\"%s_index_wall_seconds\": %.6f, \"%s_peak_rss_mb\": %.2f, "
         "\"%s_peak_rss_mb_min\": %.2f, \"%s_peak_rss_mb_max\": %.2f",
         p, s->sec, p, s->sec_min, p, s->sec_max, p, s->mbps, p, s->mbps_min, p,
         s->mbps_max, p, s->add, p, s->commit, p, s->wall, p, s->rss, p,
         s->rss_min, p, s->rss_max);
}

static void print_json(const figures *f) {
  const engine_run *k = &f->eng[0];
  const index_summary *ks = &k->ix[0];
  const int m0 = first_mode(f);
  const query_report *kq = &k->qt[m0].rep;
  printf("{\"documents\": %llu, \"input_bytes\": %llu, \"index_bytes\": %llu, "
         "\"index_pct\": %.2f, \"index_seconds\": %.6f, "
         "\"index_mb_per_s\": %.3f, \"peak_rss_mb\": %.2f, \"queries\": %zu, "
         "\"query_median_us\": %.2f, \"query_p99_us\": %.2f, \"qps\": %.1f",
         (unsigned long long)f->st.documents,
         (unsigned long long)f->input.input_bytes,
         (unsigned long long)f->st.bytes, pct_of_input(f, f->st.bytes), ks->sec,
         ks->mbps, ks->rss, kq->queries, kq->median_us, kq->p99_us, kq->qps);
  printf(", \"query_mode\": \"%s\", \"rank\": \"%s\", \"snippets\": %s",
         mode_names[m0], g_rank == KIDX_RANK_BM25 ? "bm25" : "tfidf",
         g_snippets ? "true" : "false");
  if (m0 == 0 && f->mode_on[1]) {
    const query_report *ka = &k->qt[1].rep;
    printf(", \"queries_and_with_hits\": %zu, \"query_and_median_us\": %.2f, "
           "\"query_and_p99_us\": %.2f, \"query_and_mean_us\": %.2f, "
           "\"qps_and\": %.1f",
           ka->with_hits, ka->median_us, ka->p99_us, ka->mean_us, ka->qps);
  }
  /* Extra figures after the documented ones. */
  printf(", \"corpus\": ");
  json_string(stdout, f->corpus);
  printf(", \"files_skipped\": %llu, \"add_seconds\": %.6f, "
         "\"commit_seconds\": %.6f, \"index_wall_seconds\": %.6f, "
         "\"terms\": %llu, \"tokens\": %llu, \"search_peak_rss_mb\": %.2f, "
         "\"queries_with_hits\": %zu, \"query_runs\": %u, "
         "\"query_executions\": %zu, \"query_mean_us\": %.2f, "
         "\"query_limit\": %d, \"mb\": 1048576, \"kidx_version\": ",
         (unsigned long long)f->input.skipped, ks->add, ks->commit, ks->wall,
         (unsigned long long)f->st.terms, (unsigned long long)f->st.tokens,
         f->search_rss_mb, kq->with_hits, f->runs, kq->executions, kq->mean_us,
         QUERY_LIMIT);
  json_string(stdout, kidx_version_string());
  printf(", \"index_runs\": %u, \"index_seconds_min\": %.6f, "
         "\"index_seconds_max\": %.6f, \"index_mb_per_s_min\": %.3f, "
         "\"index_mb_per_s_max\": %.3f, \"peak_rss_mb_min\": %.2f, "
         "\"peak_rss_mb_max\": %.2f, \"ram_budget_mb\": %.2f, "
         "\"segments\": %llu",
         f->index_runs, ks->sec_min, ks->sec_max, ks->mbps_min, ks->mbps_max,
         ks->rss_min, ks->rss_max,
         (double)(g_ram_budget ? g_ram_budget : 64u << 20) / MIB,
         (unsigned long long)f->st.segments);

  /* Peers: <name>_status always; the figures only when it is "ok". */
#ifndef KIDX_BENCH_SQLITE
  printf(", \"fts5_status\": \"not built\"");
#endif
#ifndef KIDX_BENCH_XAPIAN
  printf(", \"xapian_status\": \"not built\"");
#endif
#ifndef KIDX_BENCH_LUCENE
  printf(", \"lucene_status\": \"not built\"");
#endif
  for (size_t i = 0; peer_list[i]; i++) {
    int ran = 0;
    for (size_t e = 1; e < f->neng; e++)
      ran |= f->eng[e].eng == peer_list[i];
    if (!ran)
      printf(", \"%s_status\": \"skipped\"", peer_list[i]->name);
  }
  for (size_t e = 1; e < f->neng; e++) {
    const engine_run *p = &f->eng[e];
    const char *pn = p->eng->name;
    char pre[64], msg[PEER_ERR_MAX + 16];
    if (p->unavailable) {
      snprintf(msg, sizeof msg, "not available: %s", p->why);
      printf(", \"%s_status\": ", pn);
      json_string(stdout, msg);
      continue;
    }
    printf(", \"%s_status\": \"ok\", \"%s_engine\": ", pn, pn);
    json_string(stdout, p->eng->describe());
    for (unsigned v = 0; v < p->nv; v++) {
      key_prefix(p->eng, v, pre);
      printf(", \"%s_index_bytes\": %llu, \"%s_index_pct\": %.2f", pre,
             (unsigned long long)p->ix[v].disk_bytes, pre,
             pct_of_input(f, p->ix[v].disk_bytes));
      json_index(pre, &p->ix[v]);
    }
    for (int m = 0; m < NMODES; m++) {
      if (!f->mode_on[m])
        continue;
      const query_report *q = &p->qt[m].rep;
      const char *mk = mode_key(f, m);
      printf(", \"%s_queries%s_with_hits\": %zu, \"%s_query%s_median_us\": "
             "%.2f, \"%s_query%s_p99_us\": %.2f, \"%s_query%s_mean_us\": %.2f, "
             "\"%s_qps%s\": %.1f",
             pn, mk, q->with_hits, pn, mk, q->median_us, pn, mk, q->p99_us, pn,
             mk, q->mean_us, pn, mk, q->qps);
    }
    /* Ratios, kidx against the peer: speeds as kidx/peer (above 1: kidx
     * faster), sizes and memory as kidx/peer (below 1: kidx smaller). */
    for (unsigned v = 0; v < p->nv; v++) {
      key_prefix(p->eng, v, pre);
      json_ratio(pre, "index_speed", ratio(ks->mbps, p->ix[v].mbps));
      json_ratio(pre, "index_bytes",
                 ratio((double)f->st.bytes, (double)p->ix[v].disk_bytes));
      json_ratio(pre, "peak_rss", ratio(ks->rss, p->ix[v].rss));
    }
    for (int m = 0; m < NMODES; m++) {
      if (!f->mode_on[m])
        continue;
      const query_report *kmq = &k->qt[m].rep, *q = &p->qt[m].rep;
      char what[64];
      snprintf(what, sizeof what, "query%s_median_speed", mode_key(f, m));
      json_ratio(pn, what, ratio(q->median_us, kmq->median_us));
      snprintf(what, sizeof what, "query%s_p99_speed", mode_key(f, m));
      json_ratio(pn, what, ratio(q->p99_us, kmq->p99_us));
    }
  }
  printf("}\n");
}

/* ---------------------------------------------------------------------- */
/* main                                                                   */
/* ---------------------------------------------------------------------- */

static void usage(FILE *f) {
  fputs("usage: kidx_bench [--index DIR] [--queries FILE] [--runs N]\n"
        "                  [--index-runs N] [--no-peer] [--peers LIST]\n"
        "                  [--match union|and|both] [--rank bm25|tfidf]\n"
        "                  [--snippets] [--no-variants] [--ram-budget MIB]\n"
        "                  [--optimize]\n"
        "                  [--summary FILE]\n"
        "                  [--json] CORPUS_DIR\n"
        "  --index DIR       build kidx's last index here and keep it (must be"
        " empty\n"
        "                    or absent); default: a temporary directory, "
        "removed\n"
        "  --queries FILE    one query per line (default: a built-in list for"
        " corpus/)\n"
        "  --runs N          timed passes over the query set (default 5)\n"
        "  --index-runs N    fresh index builds per engine (default 3); "
        "medians\n"
        "  --no-peer         measure kidx alone (no peers)\n"
        "  --peers LIST      the peers to measure, comma-separated, of those "
        "built\n"
        "                    (fts5, xapian, lucene; default: all of them)\n"
        "  --match MODE      union (any query word), and (every word) or "
        "both\n"
        "                    (default both)\n"
        "  --rank MODEL      kidx's ranking: bm25 (default, as the peers) or "
        "tfidf\n"
        "  --snippets        let kidx make its snippets (default: none, as "
        "the peers)\n"
        "  --optimize        merge kidx's index into one segment after the "
        "build\n"
        "                    (its time counts as indexing), as Lucene's is\n"
        "  --no-variants     build only each peer's main index (not FTS5's "
        "contentless\n"
        "                    one, which is only measured for its size)\n"
        "  --summary FILE    append one tab-separated line per engine and "
        "mode:\n"
        "                    corpus, input MiB, documents, engine, mode, "
        "queries,\n"
        "                    with hits, median us, p99 us\n"
        "  --ram-budget MIB  kidx's indexing RAM budget (default: the "
        "library's, 64)\n"
        "  --json            print one JSON object instead of the report\n",
        f);
}

/* --runs and --index-runs: a number from 1 to max. */
static unsigned parse_count(const char *opt, const char *v, unsigned long max) {
  char *end;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (errno || end == v || *end || v[0] == '-' || n < 1 || n > max)
    fail("%s: expected a number from 1 to %lu, got \"%s\"", opt, max, v);
  return (unsigned)n;
}

/* Every run of every engine must have seen the same documents: a corpus
 * that changes under the benchmark would make the comparison meaningless. */
static void check_same_input(const index_report *ref, const index_report *rep,
                             const char *name, unsigned run) {
  if (rep->docs != ref->docs || rep->skipped != ref->skipped ||
      rep->input_bytes != ref->input_bytes)
    fail("the corpus changed during the benchmark (%s run %u: %llu documents, "
         "%llu bytes; first run: %llu documents, %llu bytes)",
         name, run + 1, (unsigned long long)rep->docs,
         (unsigned long long)rep->input_bytes, (unsigned long long)ref->docs,
         (unsigned long long)ref->input_bytes);
}

/* 1 if path is inside our temporary directory: the only place the
 * benchmark ever removes anything (--index DIR is always kept). */
static int path_is_tmp(const char *path) {
  size_t n = strlen(g_tmpdir);
  return strncmp(path, g_tmpdir, n) == 0 && path[n] == '/';
}

int main(int argc, char **argv) {
  const char *index_arg = NULL, *qfile = NULL, *corpus_arg = NULL;
  const char *peers_arg = NULL, *summary_arg = NULL;
  unsigned runs = 5, index_runs = 3;
  int json = 0, no_peer = 0, no_variants = 0;
  int mode_on[NMODES] = {1, 1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      json = 1;
    } else if (strcmp(a, "--no-peer") == 0) {
      no_peer = 1;
    } else if (strcmp(a, "--snippets") == 0) {
      g_snippets = 1;
    } else if (strcmp(a, "--optimize") == 0) {
      g_optimize = 1;
    } else if (strcmp(a, "--no-variants") == 0) {
      no_variants = 1;
    } else if (strcmp(a, "--index") == 0 || strcmp(a, "--queries") == 0 ||
               strcmp(a, "--runs") == 0 || strcmp(a, "--index-runs") == 0 ||
               strcmp(a, "--ram-budget") == 0 || strcmp(a, "--peers") == 0 ||
               strcmp(a, "--match") == 0 || strcmp(a, "--rank") == 0 ||
               strcmp(a, "--summary") == 0) {
      if (i + 1 >= argc)
        fail("%s needs a value", a);
      const char *v = argv[++i];
      if (strcmp(a, "--peers") == 0) {
        peers_arg = v;
      } else if (strcmp(a, "--summary") == 0) {
        summary_arg = v;
      } else if (strcmp(a, "--match") == 0) {
        if (strcmp(v, "union") == 0 || strcmp(v, "any") == 0) {
          mode_on[0] = 1;
          mode_on[1] = 0;
        } else if (strcmp(v, "and") == 0 || strcmp(v, "all") == 0) {
          mode_on[0] = 0;
          mode_on[1] = 1;
        } else if (strcmp(v, "both") == 0) {
          mode_on[0] = mode_on[1] = 1;
        } else {
          fail("--match: expected union, and or both, got \"%s\"", v);
        }
      } else if (strcmp(a, "--rank") == 0) {
        if (strcmp(v, "bm25") == 0)
          g_rank = KIDX_RANK_BM25;
        else if (strcmp(v, "tfidf") == 0)
          g_rank = KIDX_RANK_TFIDF;
        else
          fail("--rank: expected bm25 or tfidf, got \"%s\"", v);
      } else if (strcmp(a, "--index") == 0)
        index_arg = v;
      else if (strcmp(a, "--queries") == 0)
        qfile = v;
      else if (strcmp(a, "--runs") == 0)
        runs = parse_count(a, v, 100000);
      else if (strcmp(a, "--ram-budget") == 0)
        g_ram_budget = (size_t)parse_count(a, v, 1u << 20) << 20;
      else
        index_runs = parse_count(a, v, 1000);
    } else if (a[0] == '-' && a[1] != '\0') {
      fail("unknown option %s (try --help)", a);
    } else if (corpus_arg) {
      fail("more than one corpus directory given (try --help)");
    } else {
      corpus_arg = a;
    }
  }
  if (!corpus_arg) {
    usage(stderr);
    return 2;
  }

  /* Strip trailing slashes so file paths and messages read "dir/a.txt",
   * not "dir//a.txt" (ids are relative to root either way). */
  char *root = xstrdup(corpus_arg);
  for (size_t n = strlen(root); n > 1 && root[n - 1] == '/'; n--)
    root[n - 1] = '\0';

  /* Fresh indexes every time: adding to an existing index would time
   * replacements, not a build.  --index DIR receives kidx's last build;
   * every other build goes to the temporary directory. */
  if (index_arg && dir_has_entries(index_arg))
    fail("--index %s: exists and is not an empty directory (the benchmark "
         "builds a fresh index)",
         index_arg);
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !tmp[0])
    tmp = "/tmp";
  g_tmpdir = path_join(tmp, "kidx-bench.XXXXXX");
  if (!mkdtemp(g_tmpdir)) {
    int e = errno;
    char *t = g_tmpdir;
    g_tmpdir = NULL;
    fail("cannot create temporary directory %s: %s", t, strerror(e));
  }
  atexit(cleanup_tmpdir);

  strvec queries = {0};
  if (qfile) {
    load_queries(qfile, &queries);
  } else {
    for (size_t i = 0; i < sizeof default_queries / sizeof *default_queries;
         i++)
      sv_push(&queries, xstrdup(default_queries[i]));
  }

  strvec files = {0};
  walk(root, "", &files);
  if (files.n == 0)
    fail("no files under %s", root);

  /* The engines: kidx first, then the peers compiled in. */
  size_t neng = 1;
  engine_run *eng =
      xmalloc((1 + sizeof peer_list / sizeof *peer_list) * sizeof *eng);
  memset(eng, 0, (1 + sizeof peer_list / sizeof *peer_list) * sizeof *eng);
  eng[0].eng = &kidx_engine;
  const char *peer_note = no_peer ? "--no-peer" : "not in --peers";
  if (peers_arg && !no_peer) {
    /* Every name must be a peer that was built. */
    char *list = xstrdup(peers_arg);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
      size_t i = 0;
      while (peer_list[i] && strcmp(peer_list[i]->name, t) != 0)
        i++;
      if (!peer_list[i])
        fail("--peers: \"%s\" is not a peer built into this kidx_bench (see "
             "the report without --peers)",
             t);
    }
    free(list);
  }
  for (size_t i = 0; !no_peer && peer_list[i]; i++) {
    if (peers_arg) {
      /* Exact names between commas. */
      size_t n = strlen(peer_list[i]->name);
      const char *p = peers_arg;
      int found = 0;
      while (!found && (p = strstr(p, peer_list[i]->name)) != NULL) {
        found = (p == peers_arg || p[-1] == ',') && (p[n] == ',' || !p[n]);
        p += n;
      }
      if (!found)
        continue;
    }
    eng[neng++].eng = peer_list[i];
  }
  for (size_t e = 0; e < neng; e++) {
    if (eng[e].eng->nvariants > MAX_VARIANTS)
      fail("%s: too many variants", eng[e].eng->name);
    eng[e].nv = no_variants ? 1 : eng[e].eng->nvariants;
    for (unsigned v = 0; v < eng[e].eng->nvariants; v++)
      eng[e].runs[v] = xmalloc(index_runs * sizeof *eng[e].runs[v]);
  }

  /* Indexing: round after round, each engine and variant in turn, each
   * build in a fresh place and a fresh process.  Only the last round's
   * main indexes are kept, for the queries. */
  index_report input;
  int have_input = 0;
  memset(&input, 0, sizeof input);
  for (unsigned r = 0; r < index_runs; r++) {
    int last = r + 1 == index_runs;
    for (size_t e = 0; e < neng; e++) {
      engine_run *er = &eng[e];
      for (unsigned v = 0; v < er->nv && !er->unavailable; v++) {
        char name[96];
        if (v == 0)
          snprintf(name, sizeof name, "%s-%u", er->eng->name, r + 1);
        else
          snprintf(name, sizeof name, "%s-%s-%u", er->eng->name,
                   er->eng->variants[v], r + 1);
        int keep = last && v == 0;
        char *path = e == 0 && keep && index_arg ? xstrdup(index_arg)
                                                 : path_join(g_tmpdir, name);
        index_report *rep = &er->runs[v][r];
        index_in_child(er->eng, v, root, &files, path, rep);
        if (rep->status == PEER_UNAVAILABLE) {
          er->unavailable = 1;
          memcpy(er->why, rep->msg, sizeof er->why);
          if (path_is_tmp(path))
            remove_tree(path);
          free(path);
          break;
        }
        if (!have_input) {
          input = *rep;
          have_input = 1;
        }
        check_same_input(&input, rep, er->eng->name, r);
        er->done[v]++;
        if (keep) {
          er->kept = path;
        } else {
          if (path_is_tmp(path))
            remove_tree(path);
          free(path);
        }
      }
    }
  }
  sv_free(&files);
  for (size_t e = 0; e < neng; e++)
    for (unsigned v = 0; v < eng[e].eng->nvariants; v++)
      summarize(eng[e].runs[v], eng[e].done[v], &eng[e].ix[v]);

  figures f;
  memset(&f, 0, sizeof f);
  f.corpus = root;
  f.index_dir = index_arg;
  f.query_source = qfile ? qfile : "the built-in list";
  f.runs = runs;
  f.index_runs = index_runs;
  f.no_peer = no_peer;
  f.input = input;
  f.eng = eng;
  f.neng = neng;
  f.nqueries = queries.n;
  f.peer_note = peer_note;
  memcpy(f.mode_on, mode_on, sizeof f.mode_on);

  /* Queries.  kidx warms up first and its process peak is read before any
   * peer opens its index, so search_peak_rss_mb is kidx's alone (the timed
   * passes that follow reuse the memory the warm-up touched).  Then the
   * peers warm up, and the timed passes take turns: kidx, peers, kidx... */
  char err[PEER_ERR_MAX];
  const char *const *qv = (const char *const *)queries.v;
  size_t nq = queries.n;
  for (size_t e = 0; e < neng; e++) {
    engine_run *er = &eng[e];
    if (er->unavailable)
      continue;
    for (int m = 0; m < NMODES; m++) {
      if (!mode_on[m])
        continue;
      query_timer *qt = &er->qt[m];
      qt->eng = er->eng;
      if (er->eng->search_open(er->kept, qv, nq, QUERY_LIMIT, mode_match[m],
                               &qt->s, err) != PEER_OK)
        fail("%s", err);
      if (e == 0 && !f.st.documents) {
        const kx_searcher *ks = qt->s;
        if (kidx_reader_stats(ks->r, &f.st) != KIDX_OK)
          fail("kidx_reader_stats(%s): %s", er->kept,
               kidx_reader_errmsg(ks->r));
      }
      warm_up(qt, nq, runs);
    }
    if (e == 0) {
      struct rusage ru;
      if (getrusage(RUSAGE_SELF, &ru) == 0)
        f.search_rss_mb = maxrss_mib(&ru);
    }
  }
  for (unsigned run = 0; run < runs; run++)
    for (int m = 0; m < NMODES; m++)
      for (size_t e = 0; mode_on[m] && e < neng; e++)
        if (!eng[e].unavailable)
          timed_pass(&eng[e].qt[m], nq);
  for (size_t e = 0; e < neng; e++) {
    if (eng[e].unavailable)
      continue;
    for (int m = 0; m < NMODES; m++) {
      if (!mode_on[m])
        continue;
      finish_timing(&eng[e].qt[m]);
      eng[e].eng->search_close(eng[e].qt[m].s);
    }
  }

  if (summary_arg) {
    FILE *sf = fopen(summary_arg, "a");
    if (!sf)
      fail("cannot open %s: %s", summary_arg, strerror(errno));
    for (size_t e = 0; e < neng; e++) {
      if (eng[e].unavailable)
        continue;
      for (int m = 0; m < NMODES; m++) {
        if (!mode_on[m])
          continue;
        const query_report *q = &eng[e].qt[m].rep;
        fprintf(sf, "%s\t%.1f\t%llu\t%s\t%s\t%zu\t%zu\t%.1f\t%.1f\n", root,
                (double)input.input_bytes / MIB,
                (unsigned long long)f.st.documents, eng[e].eng->name,
                mode_names[m], q->queries, q->with_hits, q->median_us,
                q->p99_us);
      }
    }
    if (fclose(sf) != 0)
      fail("cannot write %s: %s", summary_arg, strerror(errno));
  }

  if (json)
    print_json(&f);
  else
    print_human(&f);

  for (size_t e = 0; e < neng; e++) {
    for (unsigned v = 0; v < eng[e].eng->nvariants; v++)
      free(eng[e].runs[v]);
    free(eng[e].kept);
  }
  free(eng);
  sv_free(&queries);
  free(root);
  return 0; /* the atexit handler removes the temporary indexes */
}
