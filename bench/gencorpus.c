/*
 * gencorpus.c -- writes a synthetic corpus (and optionally a query set) for
 * kidx_bench.
 *
 *   kidx_gencorpus --out DIR --size MB [--seed N] [--docs-kb K]
 *                  [--queries FILE --nqueries N]
 *   kidx_gencorpus --paragraphs [--fraction F] [--out DIR] [--seed N]
 *                  [--queries FILE --nqueries N]  < TEXT
 *
 * The second form makes a real-text corpus instead: the text on standard
 * input (files separated by lines "\036NAME", as bench/mkparagraphs.sh
 * writes them) is split into paragraphs, each written as one document
 * (its section heading as title), and known-item queries of 3-5 words are
 * drawn from the paragraphs written; see paragraphs_main().
 *
 * The text is made of pseudo-words built from syllables, drawn from a
 * Zipfian distribution (exponent 1.0) over a fixed-size vocabulary, so the
 * index sees the same shape of data as natural text: a few very frequent
 * terms with long postings lists and a long tail of rare ones.
 *
 * Determinism: the same arguments give byte-identical output on every
 * machine.  Everything random comes from our own splitmix64 generator, and
 * no libm function is used: library exp/log/pow may differ in the last bit
 * between C libraries, which could shift a document length or a table
 * entry.  Only IEEE-754 +, -, *, / are used on doubles (correctly rounded
 * everywhere; CMake disables FMA contraction for this file).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define MIB        1048576.0
#define VOCAB_SIZE 50000u
/* Files per subdirectory: enough to keep directories small for any file
 * system, few enough that a 100 MiB corpus has ~100 of them. */
#define FILES_PER_DIR 256u
/* Spread of ln(document length); 0.6 gives most documents within a factor
 * of about 3 of the mean, with a tail of long ones. */
#define DOC_SIGMA     0.6
#define MIN_DOC_BYTES 256.0

/* ---------------------------------------------------------------------- */
/* Random numbers                                                         */
/* ---------------------------------------------------------------------- */

/* splitmix64 (Steele, Lea & Flood 2014): one 64-bit add and a mix per
 * output, good statistical quality, trivially reproducible. */
typedef struct rng {
  uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* Uniform integer in [0, n) for n < 2^32, by multiply-shift (Lemire); the
 * bias, under 2^-32 per value, is irrelevant here. */
static uint32_t rng_below(rng *r, uint32_t n) {
  return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform double in [0, 1) from the top 53 bits. */
static double rng_unit(rng *r) {
  return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* True with probability num/den. */
static int rng_chance(rng *r, uint32_t num, uint32_t den) {
  return rng_below(r, den) < num;
}

/* Approximately standard normal: Irwin-Hall sum of 12 uniforms minus 6.
 * Bounded to +-6, which also keeps document lengths bounded. */
static double rng_normal(rng *r) {
  double s = 0.0;
  for (int i = 0; i < 12; i++)
    s += rng_unit(r);
  return s - 6.0;
}

/* e^x for moderate |x| (here |x| < 5) with basic arithmetic only, so the
 * result is the same on every machine: Taylor series of e^(x/32), which
 * converges fast, then squared five times. */
static double det_exp(double x) {
  double y = x / 32.0, term = 1.0, sum = 1.0;
  for (int k = 1; k <= 14; k++) {
    term = term * y / (double)k;
    sum += term;
  }
  for (int i = 0; i < 5; i++)
    sum *= sum;
  return sum;
}

/* ---------------------------------------------------------------------- */
/* Growable byte buffer                                                   */
/* ---------------------------------------------------------------------- */

typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static void die_nomem(void) {
  fputs("kidx_gencorpus: out of memory\n", stderr);
  exit(1);
}

static void buf_reserve(buf *b, size_t extra) {
  if (b->cap - b->n >= extra)
    return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap - b->n < extra)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p)
    die_nomem();
  b->p = p;
  b->cap = cap;
}

static void buf_put(buf *b, const char *s, size_t len) {
  buf_reserve(b, len);
  memcpy(b->p + b->n, s, len);
  b->n += len;
}

static void buf_putc(buf *b, char c) {
  buf_reserve(b, 1);
  b->p[b->n++] = c;
}

/* ---------------------------------------------------------------------- */
/* Vocabulary                                                             */
/* ---------------------------------------------------------------------- */

/* English-like onsets, nuclei and codas, so that words are pronounceable
 * and the Porter2 stemmer finds plausible endings in them. */
static const char *const onsets[] = {
    "",   "b",   "bl", "br", "c",  "ch", "cl", "cr", "d",  "dr", "f",
    "fl", "fr",  "g",  "gl", "gr", "h",  "j",  "k",  "l",  "m",  "n",
    "p",  "ph",  "pl", "pr", "qu", "r",  "s",  "sc", "sh", "sl", "sp",
    "st", "str", "t",  "th", "tr", "v",  "w",  "wh", "y",  "z"};
static const char *const nuclei[] = {"a",  "e",  "i",  "o",  "u",  "a",
                                     "e",  "i",  "o",  "ai", "ea", "ee",
                                     "ie", "oa", "oo", "ou", "y"};
static const char *const codas[] = {"",   "",   "",   "",   "n",  "r",
                                    "s",  "t",  "l",  "m",  "nd", "nt",
                                    "st", "ck", "ng", "rt", "ld", "x"};
/* Derivational and inflectional endings; the stemmer strips most of them,
 * so related surface forms share a term as in real text. */
static const char *const suffixes[] = {
    "s",    "es",   "ed",    "ing",  "er",  "ers", "ly", "tion", "tions",
    "ness", "ment", "ments", "able", "ity", "ive", "al", "ous",  "ful"};
/* Latin-1 vowels (UTF-8) that replace one vowel in a few words, so that
 * the corpus exercises multi-byte case folding. */
static const char *const accented[] = {"\xC3\xA9", "\xC3\xA8", "\xC3\xB6",
                                       "\xC3\xBC", "\xC3\xA1", "\xC3\xAD"};

#define COUNT(a)   (sizeof(a) / sizeof((a)[0]))
#define PICK(r, a) ((a)[rng_below((r), (uint32_t)COUNT(a))])

typedef struct vocab {
  buf text;         /* all words, lower case, back to back */
  uint32_t *off;    /* word i is text.p[off[i] .. off[i] + len[i]) */
  uint8_t *len;     /* bytes */
  uint8_t *proper;  /* 1: a name, always written capitalised */
  uint32_t *alias;  /* Vose alias table for the Zipf distribution */
  uint32_t *thresh; /* accept column i when low 32 bits < thresh[i] */
  uint32_t n;
} vocab;

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 0xCBF29CE484222325u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001B3u;
  return h;
}

/* Builds one candidate word for a given rank into w (at least 64 bytes);
 * returns its length.  Frequent words are short, as in natural language
 * (Zipf's law of abbreviation). */
static size_t make_word(rng *r, uint32_t rank, char *w) {
  uint32_t syl;
  if (rank < 150)
    syl = 1;
  else if (rank < 3000)
    syl = 1 + rng_below(r, 2);
  else if (rank < 20000)
    syl = 2 + rng_below(r, 2);
  else /* mostly 2-3 syllables; 4 would make the tail look like noise */
    syl = 2 + rng_below(r, 2) + (uint32_t)rng_chance(r, 1, 6);
  size_t n = 0;
  for (uint32_t i = 0; i < syl; i++) {
    const char *parts[3] = {PICK(r, onsets), PICK(r, nuclei), PICK(r, codas)};
    for (int k = 0; k < 3; k++) {
      size_t l = strlen(parts[k]);
      memcpy(w + n, parts[k], l);
      n += l;
    }
  }
  if (rank >= 300 && rng_chance(r, 1, 4)) {
    const char *s = PICK(r, suffixes);
    size_t l = strlen(s);
    memcpy(w + n, s, l);
    n += l;
  }
  /* Occasionally swap a non-initial vowel for an accented one. */
  if (rank >= 100 && rng_chance(r, 1, 50)) {
    for (size_t i = 1; i < n; i++) {
      if (strchr("aeiou", w[i]) != NULL) {
        memmove(w + i + 2, w + i + 1, n - i - 1);
        memcpy(w + i, PICK(r, accented), 2);
        n++;
        break;
      }
    }
  }
  return n;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n, size);
  if (!p)
    die_nomem();
  return p;
}

/* Vose's alias method: O(1) sampling per word, which matters at ~20
 * million words per 100 MiB.  Weights are 1/(rank+1), i.e. Zipf with
 * exponent exactly 1.0, which needs no pow() (see the determinism note). */
static void build_alias(vocab *v) {
  uint32_t n = v->n;
  double *p = xcalloc(n, sizeof *p);
  uint32_t *small = xcalloc(n, sizeof *small);
  uint32_t *large = xcalloc(n, sizeof *large);
  double sum = 0.0;
  for (uint32_t i = 0; i < n; i++)
    sum += 1.0 / (double)(i + 1);
  size_t ns = 0, nl = 0;
  for (uint32_t i = 0; i < n; i++) {
    p[i] = (1.0 / (double)(i + 1)) * (double)n / sum;
    if (p[i] < 1.0)
      small[ns++] = i;
    else
      large[nl++] = i;
  }
  while (ns > 0 && nl > 0) {
    uint32_t s = small[--ns], l = large[nl - 1];
    v->alias[s] = l;
    v->thresh[s] = (uint32_t)(p[s] * 4294967296.0);
    p[l] = (p[l] + p[s]) - 1.0;
    if (p[l] < 1.0) {
      nl--;
      small[ns++] = l;
    }
  }
  /* Whatever is left has probability 1 up to rounding: always accept. */
  while (nl > 0) {
    uint32_t l = large[--nl];
    v->alias[l] = l;
    v->thresh[l] = UINT32_MAX;
  }
  while (ns > 0) {
    uint32_t s = small[--ns];
    v->alias[s] = s;
    v->thresh[s] = UINT32_MAX;
  }
  free(p);
  free(small);
  free(large);
}

static uint32_t zipf_sample(const vocab *v, rng *r) {
  uint64_t x = rng_next(r);
  uint32_t col = (uint32_t)(((x >> 32) * (uint64_t)v->n) >> 32);
  return (uint32_t)x < v->thresh[col] ? col : v->alias[col];
}

static void build_vocab(vocab *v, uint64_t seed, uint32_t n) {
  rng r = {seed ^ 0x766F636162756C61u}; /* own stream: "vocabula" */
  v->n = n;
  v->off = xcalloc(n, sizeof *v->off);
  v->len = xcalloc(n, sizeof *v->len);
  v->proper = xcalloc(n, sizeof *v->proper);
  v->alias = xcalloc(n, sizeof *v->alias);
  v->thresh = xcalloc(n, sizeof *v->thresh);
  /* Open-addressing hash set of word indexes, to keep words distinct. */
  size_t hcap = 1;
  while (hcap < (size_t)n * 2)
    hcap *= 2;
  uint32_t *set = xcalloc(hcap, sizeof *set); /* 0 = empty, else index+1 */
  char w[64];
  for (uint32_t i = 0; i < n; i++) {
    for (;;) {
      size_t len = make_word(&r, i, w);
      size_t h = (size_t)fnv1a(w, len) & (hcap - 1);
      int dup = 0;
      while (set[h] != 0) {
        uint32_t j = set[h] - 1;
        if (v->len[j] == len && memcmp(v->text.p + v->off[j], w, len) == 0) {
          dup = 1;
          break;
        }
        h = (h + 1) & (hcap - 1);
      }
      if (dup)
        continue;
      set[h] = i + 1;
      v->off[i] = (uint32_t)v->text.n;
      v->len[i] = (uint8_t)len;
      buf_put(&v->text, w, len);
      break;
    }
    /* A few mid-frequency and rare words are names. */
    v->proper[i] = i >= 50 && rng_chance(&r, 1, 40);
  }
  free(set);
  build_alias(v);
}

static void vocab_free(vocab *v) {
  free(v->text.p);
  free(v->off);
  free(v->len);
  free(v->proper);
  free(v->alias);
  free(v->thresh);
}

/* ---------------------------------------------------------------------- */
/* Documents                                                              */
/* ---------------------------------------------------------------------- */

static void put_word(buf *b, const vocab *v, uint32_t i, int capital) {
  size_t start = b->n;
  buf_put(b, v->text.p + v->off[i], v->len[i]);
  char *c = &b->p[start];
  if ((capital || v->proper[i]) && *c >= 'a' && *c <= 'z')
    *c = (char)(*c - 'a' + 'A');
}

/* An occasional number: a year or a count, as news text has. */
static void put_number(buf *b, rng *r) {
  char tmp[16];
  unsigned val =
      rng_chance(r, 1, 2) ? 1950 + rng_below(r, 80) : 1 + rng_below(r, 999);
  int l = snprintf(tmp, sizeof tmp, "%u", val);
  buf_put(b, tmp, (size_t)l);
}

static void put_sentence(buf *b, const vocab *v, rng *r) {
  uint32_t words = 4 + rng_below(r, 21);
  for (uint32_t k = 0; k < words; k++) {
    if (k > 0)
      buf_putc(b, ' ');
    if (k > 0 && rng_chance(r, 1, 100))
      put_number(b, r);
    else
      put_word(b, v, zipf_sample(v, r), k == 0);
    if (k + 1 < words && k > 1 && rng_chance(r, 1, 12))
      buf_putc(b, rng_chance(r, 1, 10) ? ';' : ',');
  }
  uint32_t end = rng_below(r, 100);
  buf_putc(b, end < 88 ? '.' : end < 96 ? '?' : '!');
}

/* One document of about `target` bytes: a title line of a few words, a
 * blank line, then paragraphs (one line each) separated by blank lines. */
static void make_doc(buf *b, const vocab *v, rng *r, size_t target) {
  b->n = 0;
  uint32_t tw = 2 + rng_below(r, 6);
  for (uint32_t k = 0; k < tw; k++) {
    if (k > 0)
      buf_putc(b, ' ');
    put_word(b, v, zipf_sample(v, r), 1);
  }
  buf_put(b, "\n\n", 2);
  for (;;) {
    uint32_t sentences = 1 + rng_below(r, 6);
    for (uint32_t s = 0; s < sentences; s++) {
      if (s > 0)
        buf_putc(b, ' ');
      put_sentence(b, v, r);
    }
    buf_putc(b, '\n');
    if (b->n >= target)
      break;
    buf_putc(b, '\n');
  }
}

/* ---------------------------------------------------------------------- */
/* Files                                                                  */
/* ---------------------------------------------------------------------- */

/* mkdir -p: creates each missing component of path. */
static int make_dirs(const char *path) {
  size_t n = strlen(path);
  char *p = malloc(n + 1);
  if (!p)
    die_nomem();
  memcpy(p, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != '\0')
      continue;
    char saved = p[i];
    p[i] = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      fprintf(stderr, "kidx_gencorpus: cannot create %s: %s\n", p,
              strerror(errno));
      free(p);
      return -1;
    }
    p[i] = saved;
  }
  free(p);
  return 0;
}

/* Refuses to write into a non-empty directory: left-over files from an
 * earlier, larger run would silently change the corpus. */
static int check_empty_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : -1;
  struct dirent *e;
  int empty = 1;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      empty = 0;
      break;
    }
  }
  closedir(d);
  return empty ? 0 : -1;
}

static int write_file(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "kidx_gencorpus: cannot create %s: %s\n", path,
            strerror(errno));
    return -1;
  }
  size_t w = fwrite(data, 1, len, f);
  int err = ferror(f);
  if (fclose(f) != 0 || w != len || err) {
    fprintf(stderr, "kidx_gencorpus: cannot write %s: %s\n", path,
            strerror(errno));
    return -1;
  }
  return 0;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_corpus(const char *out, uint64_t total, double docs_kb,
                        const vocab *v, uint64_t seed) {
  rng r = {seed ^ 0x636F72707573u}; /* "corpus" */
  buf doc = {0};
  size_t plen = strlen(out) + 64;
  char *path = malloc(plen);
  if (!path)
    die_nomem();
  double t0 = now_seconds();
  double mean = docs_kb * 1024.0;
  uint64_t written = 0;
  uint32_t files = 0;
  while (written < total) {
    /* Log-normal length with the requested mean: exp(sigma Z - sigma^2/2)
     * has expectation 1.  The last document is cut to what is left so the
     * corpus size lands close to the target. */
    double len = mean * det_exp(DOC_SIGMA * rng_normal(&r) -
                                DOC_SIGMA * DOC_SIGMA / 2.0);
    double left = (double)(total - written);
    if (len > left)
      len = left;
    if (len < MIN_DOC_BYTES)
      len = MIN_DOC_BYTES;
    make_doc(&doc, v, &r, (size_t)len);
    uint32_t dir = files / FILES_PER_DIR;
    if (files % FILES_PER_DIR == 0) {
      snprintf(path, plen, "%s/%02u", out, (unsigned)dir);
      if (make_dirs(path) != 0)
        goto fail;
    }
    snprintf(path, plen, "%s/%02u/%06u.txt", out, (unsigned)dir,
             (unsigned)files);
    if (write_file(path, doc.p, doc.n) != 0)
      goto fail;
    written += doc.n;
    files++;
  }
  printf("kidx_gencorpus: wrote %u files, %llu bytes (%.1f MiB) to %s in "
         "%.2f s\n",
         (unsigned)files, (unsigned long long)written, (double)written / MIB,
         out, now_seconds() - t0);
  free(doc.p);
  free(path);
  return 0;
fail:
  free(doc.p);
  free(path);
  return -1;
}

/* Queries of 1-3 words, each word drawn either from the Zipf distribution
 * (frequent words: long postings) or uniformly over the vocabulary (mostly
 * the rare tail), so the set mixes cheap and expensive lookups.  Uses its
 * own random stream: the queries depend only on the seed, not on --size. */
static int write_queries(const char *file, uint32_t nq, const vocab *v,
                         uint64_t seed) {
  rng r = {seed ^ 0x71756572696573u}; /* "queries" */
  buf b = {0};
  for (uint32_t q = 0; q < nq; q++) {
    uint32_t nw = 1 + rng_below(&r, 3);
    uint32_t used[3];
    for (uint32_t k = 0; k < nw; k++) {
      uint32_t w;
      int again;
      do {
        w = rng_chance(&r, 1, 2) ? zipf_sample(v, &r) : rng_below(&r, v->n);
        again = 0;
        for (uint32_t j = 0; j < k; j++)
          again |= used[j] == w;
      } while (again);
      used[k] = w;
      if (k > 0)
        buf_putc(&b, ' ');
      buf_put(&b, v->text.p + v->off[w], v->len[w]);
    }
    buf_putc(&b, '\n');
  }
  int rc = write_file(file, b.p, b.n);
  if (rc == 0)
    printf("kidx_gencorpus: wrote %u queries to %s\n", (unsigned)nq, file);
  free(b.p);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Real text: paragraphs                                                  */
/* ---------------------------------------------------------------------- */

/* Paragraphs with fewer words than this are not documents (list items of a
 * word or two, code fragments, table rules). */
#define PARA_MIN_WORDS 8
#define PARA_PER_DIR   1000u

typedef struct para_state {
  const char *out;     /* NULL: queries only */
  double fraction;     /* keep each paragraph with this probability */
  uint64_t seed;
  char *path;          /* scratch for file names */
  size_t plen;
  buf doc;             /* the document being written */
  buf kept;            /* every kept paragraph's text, for the queries */
  size_t *kept_off;    /* start of each in kept; n + 1 entries */
  size_t nkept, cap_kept;
  uint64_t seen;       /* candidate paragraphs so far, kept or not */
  uint64_t bytes;      /* written */
} para_state;

static int is_alnum_ascii(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

static int is_blank_line(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return 0;
  return 1;
}

/* A reStructuredText section adornment: one punctuation character repeated,
 * at least 3 times, nothing else but trailing blanks. */
static int is_adornment(const char *s, size_t n) {
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
    n--;
  if (n < 3 || !strchr("=-~^*#\"'+`:._", s[0]))
    return 0;
  for (size_t i = 1; i < n; i++)
    if (s[i] != s[0])
      return 0;
  return 1;
}

/* Words for the minimum length: runs of letters and digits with a letter,
 * counting bytes >= 0x80 as letters. */
static size_t count_words(const char *s, size_t n) {
  size_t words = 0;
  for (size_t i = 0; i < n;) {
    int letter = 0;
    size_t j = i;
    while (j < n && (is_alnum_ascii((unsigned char)s[j]) ||
                     (unsigned char)s[j] >= 0x80)) {
      letter |= !((unsigned char)s[j] >= '0' && (unsigned char)s[j] <= '9');
      j++;
    }
    if (j > i) {
      words += letter;
      i = j;
    } else {
      i++;
    }
  }
  return words;
}

/* Trims blanks at both ends of s[0..*n). */
static const char *trim(const char *s, size_t *n) {
  while (*n > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r')) {
    s++;
    (*n)--;
  }
  while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t' || s[*n - 1] == '\r'))
    (*n)--;
  return s;
}

/* One paragraph (text[0..n), lines joined by newlines) under heading: a
 * document if it is long enough and drawn for this fraction.  The draw
 * depends only on the seed and the paragraph's number, so a smaller
 * fraction keeps a subset of a larger one's paragraphs. */
static int para_emit(para_state *st, const char *title, size_t tlen,
                     const char *text, size_t n) {
  if (count_words(text, n) < PARA_MIN_WORDS)
    return 0;
  uint64_t no = st->seen++;
  rng r = {st->seed ^ 0x7061726173u ^ (no * 0x9E3779B97F4A7C15u)};
  if (rng_unit(&r) >= st->fraction)
    return 0;
  if (st->nkept + 2 > st->cap_kept) {
    st->cap_kept = st->cap_kept ? st->cap_kept * 2 : 4096;
    st->kept_off = realloc(st->kept_off, st->cap_kept * sizeof *st->kept_off);
    if (!st->kept_off)
      die_nomem();
  }
  st->kept_off[st->nkept] = st->kept.n;
  buf_put(&st->kept, text, n);
  st->nkept++;
  st->kept_off[st->nkept] = st->kept.n;
  if (!st->out)
    return 0;
  st->doc.n = 0;
  buf_put(&st->doc, title, tlen);
  buf_put(&st->doc, "\n\n", 2);
  buf_put(&st->doc, text, n);
  buf_putc(&st->doc, '\n');
  uint32_t k = (uint32_t)(st->nkept - 1);
  uint32_t dir = k / PARA_PER_DIR;
  if (k % PARA_PER_DIR == 0) {
    snprintf(st->path, st->plen, "%s/%04u", st->out, (unsigned)dir);
    if (make_dirs(st->path) != 0)
      return -1;
  }
  snprintf(st->path, st->plen, "%s/%04u/%06u.txt", st->out, (unsigned)dir,
           (unsigned)k);
  if (write_file(st->path, st->doc.p, st->doc.n) != 0)
    return -1;
  st->bytes += st->doc.n;
  return 0;
}

/* Splits the input into paragraphs (runs of non-blank lines) and emits
 * them.  A line followed by an adornment line is a heading, the title of
 * the paragraphs after it; before the first heading of a file the title is
 * the file's name.  Adornment lines themselves are dropped. */
static int para_split(para_state *st, const char *in, size_t n) {
  const char *name = "";
  size_t name_len = 0;
  buf title = {0}, para = {0};
  size_t last_line = 0; /* where the last line of para starts */
  int lines = 0, rc = 0;
  buf_reserve(&title, 256);
  buf_reserve(&para, 4096);
  for (size_t i = 0; i <= n && rc == 0;) {
    const char *line = in + i;
    const char *nl = i < n ? memchr(line, '\n', n - i) : NULL;
    size_t len = i < n ? (nl ? (size_t)(nl - line) : n - i) : 0;
    int eof = i >= n;
    i = eof ? n + 1 : i + len + 1;
    if (eof || (len > 0 && line[0] == '\036') || is_blank_line(line, len)) {
      if (lines > 0)
        rc = para_emit(st, title.p, title.n, para.p, para.n);
      para.n = 0;
      lines = 0;
      if (!eof && len > 0 && line[0] == '\036') {
        name = line + 1;
        name_len = len - 1;
        title.n = 0;
        buf_put(&title, name, name_len);
      }
      continue;
    }
    if (is_adornment(line, len)) {
      if (lines > 0) {
        /* The paragraph's last line is a heading; what came before it (if
         * anything) is a paragraph of its own. */
        size_t hlen = para.n - last_line;
        const char *h = trim(para.p + last_line, &hlen);
        if (lines > 1)
          rc = para_emit(st, title.p, title.n, para.p, last_line - 1);
        if (hlen > 0) {
          buf t = {0};
          buf_put(&t, h, hlen);
          title.n = 0;
          buf_put(&title, t.p, t.n);
          free(t.p);
        }
      }
      para.n = 0;
      lines = 0;
      continue;
    }
    if (lines > 0)
      buf_putc(&para, '\n');
    last_line = para.n;
    buf_put(&para, line, len);
    lines++;
  }
  (void)name;
  free(title.p);
  free(para.p);
  return rc;
}

/* A query word: a run of 3-20 ASCII letters and digits with a letter,
 * standing between blanks or plain punctuation, so that every engine's
 * tokenizer sees it as one word (no '_', '.', ':' or apostrophe joining it
 * to a neighbour, no non-ASCII letter next to it). */
static int word_edge_ok(const char *p, size_t n, size_t i, int after) {
  if (after ? i >= n : i == 0)
    return 1;
  unsigned char c = (unsigned char)p[after ? i : i - 1];
  if (c == ' ' || c == '\n' || c == '\t' || c == ',' || c == ';' ||
      c == '(' || c == ')' || c == '"' || c == '!' || c == '?' || c == '[' ||
      c == ']')
    return 1;
  /* A full stop or colon ends a sentence or clause only before a blank. */
  if (after && (c == '.' || c == ':'))
    return i + 1 >= n || p[i + 1] == ' ' || p[i + 1] == '\n';
  return 0;
}

static int write_para_queries(const char *file, uint32_t nq,
                              const para_state *st) {
  if (st->nkept == 0) {
    fputs("kidx_gencorpus: no paragraphs to draw queries from\n", stderr);
    return -1;
  }
  rng r = {st->seed ^ 0x6B6E6F776Eu}; /* "known" */
  buf b = {0};
  size_t *ws = NULL, *wl = NULL, wcap = 0;
  uint32_t made = 0;
  for (uint64_t tries = 0; made < nq && tries < (uint64_t)nq * 100; tries++) {
    size_t k = rng_below(&r, (uint32_t)st->nkept);
    const char *p = st->kept.p + st->kept_off[k];
    size_t n = st->kept_off[k + 1] - st->kept_off[k];
    size_t nw = 0;
    for (size_t i = 0; i < n;) {
      size_t j = i;
      int letter = 0;
      while (j < n && is_alnum_ascii((unsigned char)p[j])) {
        letter |= !(p[j] >= '0' && p[j] <= '9');
        j++;
      }
      if (j == i) {
        i++;
        continue;
      }
      if (letter && j - i >= 3 && j - i <= 20 && word_edge_ok(p, n, i, 0) &&
          word_edge_ok(p, n, j, 1)) {
        if (nw == wcap) {
          wcap = wcap ? wcap * 2 : 256;
          ws = realloc(ws, wcap * sizeof *ws);
          wl = realloc(wl, wcap * sizeof *wl);
          if (!ws || !wl)
            die_nomem();
        }
        ws[nw] = i;
        wl[nw] = j - i;
        nw++;
      }
      i = j;
    }
    uint32_t want = 3 + rng_below(&r, 3);
    if (nw < want)
      continue;
    size_t start = rng_below(&r, (uint32_t)(nw - want + 1));
    for (uint32_t w = 0; w < want; w++) {
      if (w > 0)
        buf_putc(&b, ' ');
      for (size_t c = 0; c < wl[start + w]; c++) {
        char ch = p[ws[start + w] + c];
        buf_putc(&b, ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch);
      }
    }
    buf_putc(&b, '\n');
    made++;
  }
  free(ws);
  free(wl);
  if (made < nq) {
    fprintf(stderr, "kidx_gencorpus: could draw only %u of %u queries\n",
            (unsigned)made, (unsigned)nq);
    free(b.p);
    return -1;
  }
  int rc = write_file(file, b.p, b.n);
  if (rc == 0)
    printf("kidx_gencorpus: wrote %u known-item queries to %s\n",
           (unsigned)nq, file);
  free(b.p);
  return rc;
}

/* --paragraphs: reads standard input whole, writes the paragraphs drawn
 * (--fraction) as documents to out (if given) and nq known-item queries
 * drawn from them to qfile (if given). */
static int paragraphs_main(const char *out, double fraction, uint64_t seed,
                           const char *qfile, uint32_t nq) {
  buf in = {0};
  for (;;) {
    buf_reserve(&in, 1 << 20);
    size_t r = fread(in.p + in.n, 1, in.cap - in.n, stdin);
    in.n += r;
    if (r == 0)
      break;
  }
  if (ferror(stdin)) {
    fputs("kidx_gencorpus: cannot read standard input\n", stderr);
    free(in.p);
    return 1;
  }
  double t0 = now_seconds();
  para_state st;
  memset(&st, 0, sizeof st);
  st.out = out;
  st.fraction = fraction;
  st.seed = seed;
  st.plen = (out ? strlen(out) : 0) + 64;
  st.path = malloc(st.plen);
  if (!st.path)
    die_nomem();
  int rc = 0;
  if (out && make_dirs(out) != 0)
    rc = 1;
  if (rc == 0 && para_split(&st, in.p, in.n) != 0)
    rc = 1;
  if (rc == 0 && out)
    printf("kidx_gencorpus: wrote %zu of %llu paragraphs, %llu bytes (%.1f "
           "MiB) to %s in %.2f s\n",
           st.nkept, (unsigned long long)st.seen, (unsigned long long)st.bytes,
           (double)st.bytes / MIB, out, now_seconds() - t0);
  if (rc == 0 && qfile && write_para_queries(qfile, nq, &st) != 0)
    rc = 1;
  free(in.p);
  free(st.path);
  free(st.doc.p);
  free(st.kept.p);
  free(st.kept_off);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Command line                                                           */
/* ---------------------------------------------------------------------- */

static void usage(FILE *f) {
  fputs("usage: kidx_gencorpus --out DIR --size MB [--seed N] [--docs-kb K]\n"
        "                      [--queries FILE --nqueries N]\n"
        "  --out DIR        corpus directory (created; must be empty)\n"
        "  --size MB        total corpus size in MiB (may be fractional)\n"
        "  --seed N         random seed (default 42)\n"
        "  --docs-kb K      mean document size in KiB (default 4)\n"
        "  --queries FILE   also write a query set, one query per line\n"
        "  --nqueries N     number of queries (default 1000)\n"
        "Either --out/--size or --queries (or both) must be given.\n"
        "\n"
        "usage: kidx_gencorpus --paragraphs [--fraction F] [--out DIR]\n"
        "                      [--seed N] [--queries FILE --nqueries N] < TEXT\n"
        "  --paragraphs     real text from standard input (files separated by\n"
        "                   lines \"\\036NAME\", see bench/mkparagraphs.sh), "
        "one\n"
        "                   document per paragraph, titled by its section\n"
        "  --fraction F     keep each paragraph with probability F (default "
        "1);\n"
        "                   a smaller F keeps a subset of a larger F's\n"
        "  --queries FILE   known-item queries: 3-5 words of a paragraph kept\n",
        f);
}

static int parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(d > 0.0) || d > 1e9)
    return -1;
  *out = d;
  return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  if (*s == '-')
    return -1;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno != 0 || end == s || *end != '\0')
    return -1;
  *out = (uint64_t)v;
  return 0;
}

int main(int argc, char **argv) {
  const char *out = NULL, *qfile = NULL;
  double size_mb = 0.0, docs_kb = 4.0, fraction = 1.0;
  uint64_t seed = 42, nqueries = 1000;
  int nq_given = 0, paragraphs = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(a, "--paragraphs") == 0) {
      paragraphs = 1;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "kidx_gencorpus: unknown option or missing value: %s\n",
              a);
      usage(stderr);
      return 2;
    }
    const char *val = argv[++i];
    int bad = 0;
    if (strcmp(a, "--out") == 0)
      out = val;
    else if (strcmp(a, "--size") == 0)
      bad = parse_double(val, &size_mb);
    else if (strcmp(a, "--seed") == 0)
      bad = parse_u64(val, &seed);
    else if (strcmp(a, "--docs-kb") == 0)
      bad = parse_double(val, &docs_kb);
    else if (strcmp(a, "--fraction") == 0)
      bad = parse_double(val, &fraction) || fraction <= 0.0 || fraction > 1.0;
    else if (strcmp(a, "--queries") == 0)
      qfile = val;
    else if (strcmp(a, "--nqueries") == 0) {
      nq_given = 1;
      bad = parse_u64(val, &nqueries) || nqueries == 0 || nqueries > 100000000u;
    } else {
      fprintf(stderr, "kidx_gencorpus: unknown option: %s\n", a);
      usage(stderr);
      return 2;
    }
    if (bad) {
      fprintf(stderr, "kidx_gencorpus: bad value for %s: %s\n", a, val);
      return 2;
    }
  }
  if (paragraphs) {
    if (out == NULL && qfile == NULL) {
      usage(stderr);
      return 2;
    }
    if (out != NULL && check_empty_dir(out) != 0) {
      fprintf(stderr,
              "kidx_gencorpus: %s exists and is not an empty directory; "
              "remove it first\n",
              out);
      return 1;
    }
    return paragraphs_main(out, fraction, seed, qfile, (uint32_t)nqueries);
  }
  if ((out == NULL) != (size_mb == 0.0)) {
    fputs("kidx_gencorpus: --out and --size go together\n", stderr);
    return 2;
  }
  if (qfile == NULL && nq_given) {
    fputs("kidx_gencorpus: --nqueries needs --queries FILE\n", stderr);
    return 2;
  }
  if (out == NULL && qfile == NULL) {
    usage(stderr);
    return 2;
  }
  if (out != NULL && check_empty_dir(out) != 0) {
    fprintf(stderr,
            "kidx_gencorpus: %s exists and is not an empty directory; "
            "remove it first\n",
            out);
    return 1;
  }

  vocab v = {0};
  build_vocab(&v, seed, VOCAB_SIZE);
  int rc = 0;
  if (out != NULL) {
    if (make_dirs(out) != 0 ||
        write_corpus(out, (uint64_t)(size_mb * MIB), docs_kb, &v, seed) != 0)
      rc = 1;
  }
  if (rc == 0 && qfile != NULL &&
      write_queries(qfile, (uint32_t)nqueries, &v, seed) != 0)
    rc = 1;
  vocab_free(&v);
  return rc;
}
