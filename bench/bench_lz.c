/*
 * bench_lz.c -- compression ratio and speed of the LZ block codec (lib/lz.c,
 * the codec of stored text), called through its internal interface.
 *
 *   kidx_bench_lz [--runs N] [--blocks LIST] [--max-mb M] [--cpu] [--json]
 *                 [FILE|DIR...]
 *
 * What is measured:
 *
 *   Each input is loaded into memory and cut into independent blocks of
 *   each size in --blocks (default 4096,16384,65536,0; 0 means the whole
 *   input as one block), as a store compresses text so that a snippet
 *   decompresses one block.  A run times compressing every block, then
 *   decompressing every block into its place in one output buffer; a pass
 *   over a small input is repeated until it has taken at least 0.2 s, so
 *   that clock resolution does not matter.  After one untimed warm-up pass
 *   (which also checks that the output equals the input), --runs runs are
 *   timed with CLOCK_MONOTONIC (with --cpu: the thread's CPU time) on one
 *   thread; MB/s (10^6 bytes of
 *   uncompressed text per second, for both directions) are reported as the
 *   median over the runs, with min and max.  The ratio is uncompressed
 *   bytes over compressed bytes, all blocks summed (no framing counted).
 *
 *   Inputs without arguments: "corpus" (the .txt files in corpus/, news prose,
 * 16 kB), "licenses" (the regular files in /usr/share/common-licenses, English
 *   legal prose) and "doc text" (regular files without NUL bytes under
 *   /usr/share/doc, in sorted path order, up to --max-mb, default 100: a
 *   mix of prose, change logs and some source code).  A DIR argument is
 *   read the same way as /usr/share/doc; a FILE as it is.
 *
 *   The load average (/proc/loadavg) is printed before and after, since
 *   other processes on the machine change the figures.
 */
#include "kidx_int.h"

#include "benchutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifndef KIDX_SOURCE_DIR
#define KIDX_SOURCE_DIR "."
#endif

#define MB             1e6 /* the unit of MB/s: 10^6 bytes */
#define MIN_RUN_NS     200000000ull
#define DEFAULT_RUNS   5u
#define DEFAULT_MAX_MB 100u
#define LICENSES_DIR   "/usr/share/common-licenses"
#define DOC_DIR        "/usr/share/doc"

/* CLOCK_MONOTONIC, or with --cpu the thread's CPU time, which a machine
 * shared with other work disturbs less (it still shares caches). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(bench_clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- loading the inputs ---- */

typedef struct text {
  uint8_t *p;
  size_t len, cap, max; /* max: stop adding files beyond this many bytes */
  size_t files;
} text;

/* Appends a file if it fits under t->max and, when skip_binary, has no NUL
 * byte (compressed and binary files all have some). */
static void append_file(text *t, const char *path, int skip_binary) {
  FILE *f = fopen(path, "rb");
  if (!f)
    fail("%s: %s", path, strerror(errno));
  size_t start = t->len;
  for (;;) {
    if (t->cap - t->len < 65536) {
      t->cap = t->cap ? t->cap * 2 : 1 << 20;
      t->p = xrealloc(t->p, t->cap);
    }
    size_t n = fread(t->p + t->len, 1, t->cap - t->len, f);
    t->len += n;
    if (n == 0)
      break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad)
    fail("%s: read error", path);
  if (t->len > t->max ||
      (skip_binary && memchr(t->p + start, 0, t->len - start))) {
    t->len = start;
    return;
  }
  t->files++;
}

/* Appends the regular files under dir (recursively, symbolic links and
 * dot-names skipped, sorted by name at each level) until t->max bytes. */
static void append_dir(text *t, const char *dir, int recurse) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "kidx_bench_lz: note: %s: %s\n", dir, strerror(errno));
    return;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      names = xrealloc(names, cap * sizeof *names);
    }
    names[n++] = xstrdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    size_t dl = strlen(dir), nl = strlen(names[i]);
    char *path = xmalloc(dl + nl + 2);
    memcpy(path, dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, names[i], nl + 1);
    struct stat st;
    if (t->len < t->max && lstat(path, &st) == 0) {
      if (S_ISREG(st.st_mode))
        append_file(t, path, recurse);
      else if (recurse && S_ISDIR(st.st_mode))
        append_dir(t, path, recurse);
    }
    free(path);
    free(names[i]);
  }
  free(names);
}

/* ---- measuring ---- */

typedef struct result {
  size_t block, nblocks, in_bytes, out_bytes;
  double c_med, c_min, c_max, d_med, d_min, d_max;
} result;

static kidx__lz_scratch scratch;

static size_t compress_all(const text *in, size_t bs, size_t nblocks,
                           uint8_t *comp, size_t *off, size_t *clen) {
  size_t pos = 0;
  for (size_t b = 0; b < nblocks; b++) {
    size_t start = b * bs, n = in->len - start < bs ? in->len - start : bs;
    size_t cap = kidx__lz_bound(n);
    off[b] = pos;
    clen[b] = kidx__lz_compress(in->p + start, n, comp + pos, cap, &scratch);
    if (clen[b] == 0)
      fail("kidx__lz_compress failed on block %zu", b);
    pos += clen[b];
  }
  return pos;
}

static void decompress_all(const text *in, size_t bs, size_t nblocks,
                           const uint8_t *comp, const size_t *off,
                           const size_t *clen, uint8_t *out) {
  for (size_t b = 0; b < nblocks; b++) {
    size_t start = b * bs, n = in->len - start < bs ? in->len - start : bs;
    if (kidx__lz_decompress(comp + off[b], clen[b], out + start, n) != KIDX_OK)
      fail("kidx__lz_decompress failed on block %zu", b);
  }
}

static result measure(const text *in, size_t block, unsigned runs) {
  result r = {0};
  size_t bs = block ? block : in->len;
  r.block = block;
  r.nblocks = (in->len + bs - 1) / bs;
  r.in_bytes = in->len;
  size_t total_cap = 0;
  for (size_t b = 0; b < r.nblocks; b++) {
    size_t n = in->len - b * bs < bs ? in->len - b * bs : bs;
    total_cap += kidx__lz_bound(n);
  }
  uint8_t *comp = xmalloc(total_cap);
  uint8_t *out = xmalloc(in->len);
  size_t *off = xmalloc(r.nblocks * sizeof *off);
  size_t *clen = xmalloc(r.nblocks * sizeof *clen);
  double *cs = xmalloc(runs * sizeof *cs), *ds = xmalloc(runs * sizeof *ds);

  r.out_bytes = compress_all(in, bs, r.nblocks, comp, off, clen);
  decompress_all(in, bs, r.nblocks, comp, off, clen, out);
  if (memcmp(out, in->p, in->len) != 0)
    fail("round trip changed the text (block size %zu)", block);

  for (unsigned k = 0; k < runs; k++) {
    uint64_t t0 = now_ns(), t1, passes = 0;
    do {
      compress_all(in, bs, r.nblocks, comp, off, clen);
      passes++;
    } while ((t1 = now_ns()) - t0 < MIN_RUN_NS);
    cs[k] = (double)in->len * (double)passes / MB / ((double)(t1 - t0) / 1e9);
    t0 = now_ns();
    passes = 0;
    do {
      decompress_all(in, bs, r.nblocks, comp, off, clen, out);
      passes++;
    } while ((t1 = now_ns()) - t0 < MIN_RUN_NS);
    ds[k] = (double)in->len * (double)passes / MB / ((double)(t1 - t0) / 1e9);
  }
  r.c_med = median_sorted(cs, runs);
  r.c_min = cs[0];
  r.c_max = cs[runs - 1];
  r.d_med = median_sorted(ds, runs);
  r.d_min = ds[0];
  r.d_max = ds[runs - 1];
  free(cs);
  free(ds);
  free(clen);
  free(off);
  free(out);
  free(comp);
  return r;
}

static void print_load(const char *when) {
  char buf[128] = "";
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (!fgets(buf, sizeof buf, f))
      buf[0] = '\0';
    fclose(f);
  }
  buf[strcspn(buf, "\n")] = '\0';
  printf("load average %s: %s\n", when, buf[0] ? buf : "(unknown)");
}

/* ---- main ---- */

static void usage(FILE *f) {
  fputs("usage: kidx_bench_lz [--runs N] [--blocks LIST] [--max-mb M] "
        "[--cpu] [--json] [FILE|DIR...]\n"
        "  --runs N      timed runs per input and block size (default 5); "
        "medians\n"
        "  --blocks LIST block sizes in bytes, comma-separated; 0 = whole "
        "input\n"
        "                (default 4096,16384,65536,0)\n"
        "  --max-mb M    read at most M MB (10^6 bytes) per input "
        "(default 100)\n"
        "  --cpu         time with the thread's CPU-time clock, not the wall "
        "clock\n"
        "  --json        one JSON object per line instead of the report\n"
        "  FILE|DIR...   inputs; default: corpus/*.txt, " LICENSES_DIR " and\n"
        "                the text files under " DOC_DIR "\n",
        f);
}

static unsigned long parse_num(const char *opt, const char *v, unsigned long lo,
                               unsigned long hi, char **endp) {
  char *end;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (errno || end == v || v[0] == '-' || n < lo || n > hi || (!endp && *end))
    fail("%s: expected a number from %lu to %lu, got \"%s\"", opt, lo, hi, v);
  if (endp)
    *endp = end;
  return n;
}

int main(int argc, char **argv) {
  unsigned runs = DEFAULT_RUNS;
  size_t max_bytes = (size_t)DEFAULT_MAX_MB * 1000000u;
  size_t blocks[16] = {4096, 16384, 65536, 0};
  size_t nblocksizes = 4;
  int json = 0;
  const char **args = xmalloc((size_t)argc * sizeof *args);
  size_t nargs = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      json = 1;
    } else if (strcmp(a, "--cpu") == 0) {
      bench_clock = CLOCK_THREAD_CPUTIME_ID;
    } else if (!strcmp(a, "--runs") || !strcmp(a, "--max-mb") ||
               !strcmp(a, "--blocks")) {
      if (i + 1 >= argc)
        fail("%s needs a value", a);
      const char *v = argv[++i];
      if (!strcmp(a, "--runs")) {
        runs = (unsigned)parse_num(a, v, 1, 1000, NULL);
      } else if (!strcmp(a, "--max-mb")) {
        max_bytes = (size_t)parse_num(a, v, 1, 2000, NULL) * 1000000u;
      } else {
        nblocksizes = 0;
        char *end;
        do {
          if (nblocksizes == sizeof blocks / sizeof blocks[0])
            fail("--blocks: at most 16 sizes");
          blocks[nblocksizes++] = parse_num(a, v, 0, KIDX__LZ_MAX_INPUT, &end);
          if (*end && *end != ',')
            fail("--blocks: expected numbers separated by commas");
          v = end + 1;
        } while (*end);
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      fail("unknown option %s (try --help)", a);
    } else {
      args[nargs++] = a;
    }
  }

  const char *defaults[] = {"corpus", "licenses", "doc text"};
  size_t ninputs = nargs ? nargs : 3;
  text *inputs = xmalloc(ninputs * sizeof *inputs);
  for (size_t i = 0; i < ninputs; i++) {
    text *t = &inputs[i];
    memset(t, 0, sizeof *t);
    t->max = max_bytes;
    struct stat st;
    if (nargs && stat(args[i], &st) == 0 && S_ISDIR(st.st_mode))
      append_dir(t, args[i], 1);
    else if (nargs)
      append_file(t, args[i], 0);
    else if (i == 0)
      append_dir(t, KIDX_SOURCE_DIR "/corpus", 0);
    else if (i == 1)
      append_dir(t, LICENSES_DIR, 0);
    else
      append_dir(t, DOC_DIR, 1);
    if (t->len == 0 || t->len > KIDX__LZ_MAX_INPUT)
      fail("%s: no text, or too much", nargs ? args[i] : defaults[i]);
  }

  if (!json) {
    printf("kidx_bench_lz: kidx LZ block codec; %u runs, medians (min-max); "
           "MB = 10^6 bytes of text; one thread; %s time\n",
           runs, bench_clock == CLOCK_MONOTONIC ? "wall-clock" : "CPU");
    print_load("before");
  }
  for (size_t i = 0; i < ninputs; i++) {
    const char *name = nargs ? args[i] : defaults[i];
    if (!json)
      printf("\n%s: %.2f MB in %zu files\n", name, (double)inputs[i].len / MB,
             inputs[i].files);
    for (size_t k = 0; k < nblocksizes; k++) {
      size_t bs = blocks[k] >= inputs[i].len ? 0 : blocks[k];
      int dup = 0; /* a block size that is the whole input, measured once */
      for (size_t j = 0; j < k; j++)
        dup |= bs == 0 && (blocks[j] == 0 || blocks[j] >= inputs[i].len);
      if (dup)
        continue;
      result r = measure(&inputs[i], bs, runs);
      double ratio = (double)r.in_bytes / (double)r.out_bytes;
      if (json) {
        printf("{\"input\":\"%s\",\"bytes\":%zu,\"block\":%zu,\"blocks\":%zu,"
               "\"compressed\":%zu,\"ratio\":%.4f,\"runs\":%u,"
               "\"compress_mb_per_s\":%.1f,\"compress_min\":%.1f,"
               "\"compress_max\":%.1f,\"decompress_mb_per_s\":%.1f,"
               "\"decompress_min\":%.1f,\"decompress_max\":%.1f,"
               "\"clock\":\"%s\"}\n",
               name, r.in_bytes, r.block, r.nblocks, r.out_bytes, ratio, runs,
               r.c_med, r.c_min, r.c_max, r.d_med, r.d_min, r.d_max,
               bench_clock == CLOCK_MONOTONIC ? "wall" : "cpu");
      } else {
        char bl[32];
        if (r.block)
          snprintf(bl, sizeof bl, "%zu B", r.block);
        else
          snprintf(bl, sizeof bl, "whole");
        printf("  block %-8s  ratio %5.3f  compress %7.1f MB/s (%.0f-%.0f)"
               "  decompress %7.1f MB/s (%.0f-%.0f)\n",
               bl, ratio, r.c_med, r.c_min, r.c_max, r.d_med, r.d_min, r.d_max);
      }
      fflush(stdout);
    }
    free(inputs[i].p);
  }
  if (!json)
    print_load("after");
  free(inputs);
  free(args);
  return 0;
}
