/*
 * bench_analyze.c -- analyzer throughput of libkidx (kidx_analyze()), using
 * only the public API in kidx.h.
 *
 *   kidx_bench_analyze [--runs N] [--min-mb M] [--json] [FILE...]
 *
 * What is measured (the README says the same, at more length):
 *
 *   Each input is a named text loaded into memory.  One smaller than
 *   --min-mb MB (default 32) is repeated, whole copies back to back, until
 *   it is at least that size, so that a run lasts long enough to time and
 *   the analyzer sees a large input, as indexing a corpus does.  Each run is
 *   ONE kidx_analyze() call over the whole buffer, so the stem cache the
 *   library sets up per call for large inputs applies.  The callback only
 *   counts tokens and sums their lengths.
 *
 *   Two analyzers per input: the default one (Porter2 stemming, diacritic
 *   folding, no stop words) and the same with stemming off.  After one
 *   untimed warm-up call with each, --runs timed calls are made with each,
 *   the two taking turns, so a change in the machine's load hits both
 *   alike.  Each call is timed with CLOCK_MONOTONIC on the calling thread
 *   (one core); MB/s and tokens/s are reported as the median over the runs,
 *   with min and max.  MB = 10^6 bytes.
 *
 *   Inputs without FILE: "English prose" (the regular files in
 *   /usr/share/common-licenses, then the .txt files in the repository's
 * corpus/, each set in sorted name order) and "mixed-script text"
 *   (bench/data/mixed-script.txt).  The goal of issue 3 (>= 100 MB/s on
 *   English prose with stemming) is judged on the first; this is a report,
 *   not a test, so the exit status does not depend on it.
 */
#include "kidx.h"

#include "benchutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifndef KIDX_SOURCE_DIR
#define KIDX_SOURCE_DIR "."
#endif

#define MB             1e6 /* the unit of MB/s: 10^6 bytes */
#define GOAL_MB_PER_S  100.0
#define LICENSES_DIR   "/usr/share/common-licenses"
#define ENGLISH_PROSE  "English prose"
#define MIXED_SCRIPT   "mixed-script text"
#define DEFAULT_MIN_MB 32u
#define DEFAULT_RUNS   5u

static void note(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* A warning on stderr that does not stop the benchmark. */
static void note(const char *fmt, ...) {
  va_list ap;
  fputs("kidx_bench_analyze: note: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- loading the inputs ---- */

typedef struct buffer {
  char *p;
  size_t len, cap;
} buffer;

static void buf_reserve(buffer *b, size_t extra) {
  if (extra > SIZE_MAX - b->len)
    fail("input too large");
  if (b->len + extra <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 65536;
  while (cap < b->len + extra)
    cap = cap > SIZE_MAX / 2 ? b->len + extra : cap * 2;
  b->p = xrealloc(b->p, cap);
  b->cap = cap;
}

/* Appends the whole file, then a newline if it does not end with one, so
 * the last word of one text never runs into the first word of the next. */
static void append_file(buffer *b, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    fail("%s: %s", path, strerror(errno));
  size_t start = b->len;
  for (;;) {
    buf_reserve(b, 65536);
    size_t n = fread(b->p + b->len, 1, b->cap - b->len, f);
    b->len += n;
    if (n == 0)
      break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad)
    fail("%s: read error", path);
  if (b->len > start && b->p[b->len - 1] != '\n') {
    buf_reserve(b, 1);
    b->p[b->len++] = '\n';
  }
}

/* Appends the regular files of dir whose names end with suffix (any name
 * when suffix is ""), in sorted name order.  Symbolic links are skipped, so
 * a text reachable under two names (GPL -> GPL-3) counts once; so are
 * names starting with ".".  Returns the number of files, or -1 when the
 * directory cannot be read (a note says why). */
static long append_dir(buffer *b, const char *dir, const char *suffix) {
  DIR *d = opendir(dir);
  if (!d) {
    note("%s: %s; left out of " ENGLISH_PROSE, dir, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0, sl = strlen(suffix);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t nl = strlen(e->d_name);
    if (e->d_name[0] == '.' || nl < sl ||
        strcmp(e->d_name + nl - sl, suffix) != 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      names = xrealloc(names, cap * sizeof *names);
    }
    names[n++] = xstrdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  long files = 0;
  for (size_t i = 0; i < n; i++) {
    size_t dl = strlen(dir), nl = strlen(names[i]);
    char *path = xrealloc(NULL, dl + nl + 2);
    memcpy(path, dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, names[i], nl + 1);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      append_file(b, path);
      files++;
    }
    free(path);
    free(names[i]);
  }
  free(names);
  return files;
}

typedef struct input {
  const char *name;
  char *text;    /* copies * bytes */
  size_t bytes;  /* one copy */
  size_t total;  /* what one run analyses: copies * bytes */
  size_t copies; /* 1 when the text was large enough on its own */
  int goal;      /* the goal is judged on this input (with stemming) */
  char *label;   /* "English prose (3.2 MB x 10 copies)" */
} input;

#define LABEL_FMT "%s (%s x %zu cop%s)"

/* Repeats the text in b until it is at least min_bytes long and makes it
 * the input's text. */
static void make_input(input *in, const char *name, buffer *b, size_t min_bytes,
                       int goal) {
  if (b->len == 0)
    fail("%s: no text to analyse", name);
  size_t copies = 1;
  if (b->len < min_bytes)
    copies = min_bytes / b->len + (min_bytes % b->len != 0);
  if (copies > SIZE_MAX / b->len)
    fail("%s: --min-mb too large", name);
  in->name = name;
  in->bytes = b->len;
  in->copies = copies;
  in->total = b->len * copies;
  in->goal = goal;
  in->text = xrealloc(b->p, in->total);
  for (size_t i = 1; i < copies; i++)
    memcpy(in->text + i * in->bytes, in->text, in->bytes);
  b->p = NULL;
  b->len = b->cap = 0;

  char size[32];
  if ((double)in->bytes >= MB)
    snprintf(size, sizeof size, "%.1f MB", (double)in->bytes / MB);
  else
    snprintf(size, sizeof size, "%.1f kB", (double)in->bytes / 1e3);
  const char *plural = copies == 1 ? "y" : "ies";
  int n = snprintf(NULL, 0, LABEL_FMT, name, size, copies, plural);
  if (n < 0)
    fail("%s: cannot format its label", name);
  in->label = xrealloc(NULL, (size_t)n + 1);
  snprintf(in->label, (size_t)n + 1, LABEL_FMT, name, size, copies, plural);
}

/* ---- timing ---- */

typedef struct counter {
  uint64_t tokens, bytes;
} counter;

/* Deliberately cheap: what is timed is the analyzer, not the consumer. */
static int count_token(void *ctx, const kidx_token *tok) {
  counter *c = ctx;
  c->tokens++;
  c->bytes += tok->len;
  return 0;
}

/* One kidx_analyze() call over the whole input; returns its time in ns. */
static uint64_t analyze_once(const kidx_analyzer *a, const input *in,
                             counter *c) {
  c->tokens = c->bytes = 0;
  uint64_t t0 = now_ns();
  kidx_status st = kidx_analyze(a, in->text, in->total, count_token, c);
  uint64_t t1 = now_ns();
  if (st != KIDX_OK)
    fail("%s: kidx_analyze: %s", in->name, kidx_strerror(st));
  return t1 - t0 ? t1 - t0 : 1;
}

typedef struct variant {
  const char *stemmer; /* "english" or "none", as the CLI spells it */
  kidx_analyzer an;
  counter ref;  /* tokens of the warm-up call; every run must agree */
  double *mbps; /* per run */
  double *tps;  /* tokens per second, per run */
  double median, min, max, tps_median, tps_min, tps_max;
} variant;

static void measure(const input *in, variant *v, size_t nv, unsigned runs) {
  for (size_t k = 0; k < nv; k++)
    analyze_once(&v[k].an, in, &v[k].ref);
  for (unsigned r = 0; r < runs; r++) {
    for (size_t k = 0; k < nv; k++) {
      counter c;
      double s = (double)analyze_once(&v[k].an, in, &c) / 1e9;
      if (c.tokens != v[k].ref.tokens || c.bytes != v[k].ref.bytes)
        fail("%s, stem %s: run %u gave %llu tokens, the warm-up %llu", in->name,
             v[k].stemmer, r + 1, (unsigned long long)c.tokens,
             (unsigned long long)v[k].ref.tokens);
      v[k].mbps[r] = (double)in->total / MB / s;
      v[k].tps[r] = (double)c.tokens / s;
    }
  }
  /* Each figure's median is taken on its own, as in kidx_bench. */
  for (size_t k = 0; k < nv; k++) {
    v[k].median = median_sorted(v[k].mbps, runs);
    v[k].min = v[k].mbps[0];
    v[k].max = v[k].mbps[runs - 1];
    v[k].tps_median = median_sorted(v[k].tps, runs);
    v[k].tps_min = v[k].tps[0];
    v[k].tps_max = v[k].tps[runs - 1];
  }
}

/* ---- output ---- */

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static void print_json(const input *in, const variant *v, unsigned runs,
                       int judged) {
  fputs("{\"input\":", stdout);
  json_string(in->name);
  printf(",\"bytes\":%zu,\"copies\":%zu,\"stemmer\":", in->bytes, in->copies);
  json_string(v->stemmer);
  printf(",\"runs\":%u,\"mb_per_s\":%.3f,\"mb_per_s_min\":%.3f,"
         "\"mb_per_s_max\":%.3f,\"tokens\":%llu,\"tokens_per_s\":%.0f,"
         "\"tokens_per_s_min\":%.0f,\"tokens_per_s_max\":%.0f,"
         "\"analyzed_bytes\":%zu,\"token_bytes\":%llu,\"mb\":1000000",
         runs, v->median, v->min, v->max, (unsigned long long)v->ref.tokens,
         v->tps_median, v->tps_min, v->tps_max, in->total,
         (unsigned long long)v->ref.bytes);
  if (judged)
    printf(",\"goal_mb_per_s\":%.0f,\"goal\":\"%s\"", GOAL_MB_PER_S,
           v->median >= GOAL_MB_PER_S ? "PASS" : "BELOW");
  puts("}");
}

static void print_line(const input *in, int width, const variant *v,
                       unsigned runs, int judged) {
  printf("%-*s  stem %-7s  %7.1f MB/s  %6.2f M tokens/s  (median of %u; "
         "min %.1f, max %.1f)",
         width, in->label, v->stemmer, v->median, v->tps_median / 1e6, runs,
         v->min, v->max);
  if (judged)
    printf("  %s", v->median >= GOAL_MB_PER_S ? "PASS" : "BELOW");
  putchar('\n');
}

/* ---- main ---- */

static void usage(FILE *f) {
  fputs("usage: kidx_bench_analyze [--runs N] [--min-mb M] [--json] "
        "[FILE...]\n"
        "  --runs N      timed kidx_analyze() calls per input and analyzer "
        "(default 5),\n"
        "                after one warm-up call; medians\n"
        "  --min-mb M    repeat a smaller input until it is at least M MB "
        "(10^6 bytes;\n"
        "                default 32; 0: never)\n"
        "  --json        one JSON object per line instead of the report\n"
        "  FILE...       texts to measure; default: English prose ("
        "the files in\n"
        "                " LICENSES_DIR " and corpus/*.txt) and\n"
        "                bench/data/mixed-script.txt\n",
        f);
}

/* A number from lo to hi. */
static unsigned long parse_num(const char *opt, const char *v, unsigned long lo,
                               unsigned long hi) {
  char *end;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (errno || end == v || *end || v[0] == '-' || n < lo || n > hi)
    fail("%s: expected a number from %lu to %lu, got \"%s\"", opt, lo, hi, v);
  return n;
}

int main(int argc, char **argv) {
  unsigned runs = DEFAULT_RUNS;
  size_t min_bytes = (size_t)DEFAULT_MIN_MB * 1000000u;
  int json = 0;
  const char **files = xrealloc(NULL, (size_t)argc * sizeof *files);
  size_t nfiles = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      json = 1;
    } else if (strcmp(a, "--runs") == 0 || strcmp(a, "--min-mb") == 0) {
      if (i + 1 >= argc)
        fail("%s needs a value", a);
      const char *v = argv[++i];
      if (strcmp(a, "--runs") == 0)
        runs = (unsigned)parse_num(a, v, 1, 100000);
      else
        min_bytes = (size_t)parse_num(a, v, 0, 65536) * 1000000u;
    } else if (strcmp(a, "--") == 0) {
      while (++i < argc)
        files[nfiles++] = argv[i];
    } else if (a[0] == '-' && a[1] != '\0') {
      fail("unknown option %s (try --help)", a);
    } else {
      files[nfiles++] = a;
    }
  }

  size_t ninputs = nfiles ? nfiles : 2;
  input *inputs = xrealloc(NULL, ninputs * sizeof *inputs);
  buffer b = {NULL, 0, 0};
  if (nfiles) {
    for (size_t i = 0; i < nfiles; i++) {
      append_file(&b, files[i]);
      make_input(&inputs[i], files[i], &b, min_bytes, 0);
    }
  } else {
    long lic = append_dir(&b, LICENSES_DIR, "");
    long cor = append_dir(&b, KIDX_SOURCE_DIR "/corpus", ".txt");
    if (lic == 0)
      note(LICENSES_DIR ": no regular files");
    if (cor == 0)
      note(KIDX_SOURCE_DIR "/corpus: no .txt files");
    make_input(&inputs[0], ENGLISH_PROSE, &b, min_bytes, 1);
    append_file(&b, KIDX_SOURCE_DIR "/bench/data/mixed-script.txt");
    make_input(&inputs[1], MIXED_SCRIPT, &b, min_bytes, 0);
  }
  int width = 0;
  for (size_t i = 0; i < ninputs; i++) {
    int l = (int)strlen(inputs[i].label);
    width = l > width ? l : width;
  }

  /* The default analyzer, and the same without stemming. */
  variant v[2];
  memset(v, 0, sizeof v);
  for (size_t k = 0; k < 2; k++) {
    kidx_analyzer_init(&v[k].an);
    v[k].mbps = xrealloc(NULL, runs * sizeof *v[k].mbps);
    v[k].tps = xrealloc(NULL, runs * sizeof *v[k].tps);
  }
  v[0].stemmer = "english";
  v[0].an.stemmer = KIDX_STEM_ENGLISH;
  v[1].stemmer = "none";
  v[1].an.stemmer = KIDX_STEM_NONE;

  if (!json) {
    printf("kidx_bench_analyze: kidx %s; one kidx_analyze() call per run "
           "over the whole text, one thread\n"
           "analyzers: the default (stem english, diacritic folding, no stop "
           "words) and stem none, taking turns\n"
           "MB = 10^6 bytes; medians of %u timed run%s after one warm-up\n",
           kidx_version_string(), runs, runs == 1 ? "" : "s");
    if (nfiles)
      printf("goal: >= %.0f MB/s on English prose with stemming (judged on "
             "the built-in input only: run without FILE)\n",
             GOAL_MB_PER_S);
    else
      printf("goal: >= %.0f MB/s on English prose with stemming\n",
             GOAL_MB_PER_S);
    fflush(stdout);
  }
  for (size_t i = 0; i < ninputs; i++) {
    measure(&inputs[i], v, 2, runs);
    for (size_t k = 0; k < 2; k++) {
      int judged = inputs[i].goal && v[k].an.stemmer == KIDX_STEM_ENGLISH;
      if (json)
        print_json(&inputs[i], &v[k], runs, judged);
      else
        print_line(&inputs[i], width, &v[k], runs, judged);
    }
    fflush(stdout);
    free(inputs[i].text);
    free(inputs[i].label);
  }
  for (size_t k = 0; k < 2; k++) {
    free(v[k].mbps);
    free(v[k].tps);
  }
  free(inputs);
  free(files);
  return 0;
}
