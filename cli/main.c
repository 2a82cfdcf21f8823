/*
 * main.c -- kidx, the command-line tool.
 *
 * This file parses arguments, walks the file system and prints; every
 * indexing and search operation goes through the public API in kidx.h.
 * Keeping the tool on the public header means it exercises exactly what a
 * program linking libkidx gets, and that a change to the library's
 * internals never needs a change here.
 *
 * Layout: small helpers (messages, UTF-8 aware printing, option parsing),
 * then one static function per command, then the command table and main().
 * Nothing here is mutable global state: each command gets a `cli` context
 * and its parsed options.  Input and output formats that stand on their
 * own live beside this file: json.c (UTF-8 checks, JSON output), jsonl.c
 * (the JSON Lines documents of index --jsonl) and lines.c (bounded line
 * reading, for --jsonl and search --batch).
 *
 * Exit statuses are part of the interface (scripts test them), see
 * MAIN_HELP below.
 */
#include "kidx.h"

#include "json.h"
#include "jsonl.h"
#include "lines.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#if defined(__GNUC__) || defined(__clang__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* Exit statuses (documented in MAIN_HELP). */
enum {
  ST_OK = 0,      /* success; search: at least one hit */
  ST_NO_HITS = 1, /* search matched nothing */
  ST_USAGE = 2,   /* bad command line or query */
  ST_INDEX = 3,   /* index missing, corrupt, locked or not writable */
  ST_INPUT = 4    /* some input files unreadable (the rest were indexed) */
};

/* The title is shown on one line with each hit; a first line longer than
 * this is cut (at a word or at least a UTF-8 boundary). */
#define TITLE_MAX 512
/* A NUL byte in this many leading bytes marks a file as binary, as git and
 * grep do: text never contains NUL, and most binary formats do early. */
#define BINARY_PROBE 8192
/* Progress redraws per second at most: more is flicker and wasted writes. */
#define PROGRESS_HZ 10.0
/* Longest JSON Lines line (one document) kidx index reads; a longer one is
 * reported and skipped.  Far above real documents, it bounds memory when a
 * file without newlines is given by mistake. */
#define JSONL_MAX_LINE ((size_t)256 << 20)
/* Largest --k1, --title-weight and --body-weight: far above useful values,
 * it keeps scores finite however many terms a query has. */
#define MAX_PARAM 1e6

/* ---------------------------------------------------------------------- */
/* Messages                                                               */
/* ---------------------------------------------------------------------- */

/* Writes the character at p[0..n) (n > 0) for a terminal and returns the
 * number of bytes it took: ids, titles, snippets and paths come from files
 * and may hold control characters (an escape sequence in a title could
 * reprogram the terminal, a newline in a file name would split a one-line
 * error) or invalid UTF-8.  Controls become '?', invalid bytes U+FFFD. */
static size_t put_char(FILE *f, const unsigned char *p, size_t n) {
  uint32_t cp;
  size_t len = cli_utf8_len(p, n, &cp);
  if (len == 0) {
    fputs("\xEF\xBF\xBD", f);
    return 1;
  }
  if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
    fputc('?', f);
  else
    fwrite(p, 1, len, f);
  return len;
}

/* Writes text for a terminal, see put_char. */
static void put_text(FILE *f, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;)
    i += put_char(f, p + i, len - i);
}

static void vmessage(const char *prefix, const char *fmt, va_list ap)
    CLI_PRINTF(2, 0);
static void vmessage(const char *prefix, const char *fmt, va_list ap) {
  char small[1024];
  char *text = small;
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  size_t len = n < 0 ? 0 : (size_t)n;
  if (len >= sizeof small) { /* a long path: format it whole, for its end */
    char *big = malloc(len + 1);
    if (big && vsnprintf(big, len + 1, fmt, again) >= 0)
      text = big;
    else
      len = sizeof small - 1;
  }
  va_end(again);
  /* The whole line is cleaned into line[] and written at once, so that
   * messages of concurrent processes sharing stderr never interleave. */
  char line[1024];
  static const char ELLIPSIS[] = "\xE2\x80\xA6"; /* U+2026 */
  size_t pre = strlen(prefix);
  if (pre > 64)
    pre = 64;
  memcpy(line, prefix, pre);
  /* Clean into cl: controls become '?', invalid UTF-8 U+FFFD (3 bytes). */
  char cl_small[3 * sizeof small];
  char *cl = cl_small;
  if (len >= sizeof small) {
    cl = malloc(3 * len);
    if (!cl) {
      cl = cl_small;
      len = sizeof small - 1;
    }
  }
  size_t cn = 0;
  const unsigned char *p = (const unsigned char *)text;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t k = cli_utf8_len(p + i, len - i, &cp);
    if (k == 0) {
      memcpy(cl + cn, "\xEF\xBF\xBD", 3);
      cn += 3;
      k = 1;
    } else if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) {
      cl[cn++] = '?';
    } else {
      memcpy(cl + cn, p + i, k);
      cn += k;
    }
    i += k;
  }
  size_t room = sizeof line - pre - 1; /* for the text; 1 for '\n' */
  size_t out = pre;
  if (cn <= room) {
    memcpy(line + out, cl, cn);
    out += cn;
  } else { /* too long: keep the start and the end (the reason) */
    size_t keep = room - (sizeof ELLIPSIS - 1);
    size_t head = keep / 3, tail = keep - head;
    while (head > 0 && ((unsigned char)cl[head] & 0xC0) == 0x80)
      head--; /* cut at a character boundary */
    size_t from = cn - tail;
    while (from < cn && ((unsigned char)cl[from] & 0xC0) == 0x80)
      from++;
    memcpy(line + out, cl, head);
    out += head;
    memcpy(line + out, ELLIPSIS, sizeof ELLIPSIS - 1);
    out += sizeof ELLIPSIS - 1;
    memcpy(line + out, cl + from, cn - from);
    out += cn - from;
  }
  line[out++] = '\n';
  if (cl != cl_small)
    free(cl);
  if (text != small)
    free(text);
  fflush(stdout); /* keep stdout and stderr in order on a shared tty */
  fflush(stderr);
  for (size_t done = 0; done < out;) { /* one write(2), unless it is cut */
    ssize_t w = write(STDERR_FILENO, line + done, out - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    done += (size_t)w;
  }
}

/* Prints "kidx: MESSAGE" as one line on stderr and returns status, so that
 * an error site reads `return fail(ST_USAGE, ...)`. */
static int fail(int status, const char *fmt, ...) CLI_PRINTF(2, 3);
static int fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmessage("kidx: ", fmt, ap);
  va_end(ap);
  return status;
}

/* Prints "kidx: MESSAGE" as one line on stderr: information, not an
 * error. */
static void notice(const char *fmt, ...) CLI_PRINTF(1, 2);
static void notice(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmessage("kidx: ", fmt, ap);
  va_end(ap);
}

/* The library's message for a failure, or the status's generic text when
 * the handle has none. */
static const char *lib_message(const char *msg, kidx_status st) {
  return msg && *msg ? msg : kidx_strerror(st);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "15.8 KB": decimal units, as MB/s rates conventionally are. */
static void format_size(char *buf, size_t cap, uint64_t bytes) {
  static const char *const units[] = {"KB", "MB", "GB", "TB"};
  if (bytes < 1000) {
    snprintf(buf, cap, "%" PRIu64 " bytes", bytes);
    return;
  }
  double v = (double)bytes / 1000.0;
  size_t u = 0;
  while (v >= 999.95 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1000.0;
    u++;
  }
  snprintf(buf, cap, "%.1f %s", v, units[u]);
}

/* ---------------------------------------------------------------------- */
/* Command-line options                                                   */
/* ---------------------------------------------------------------------- */

typedef enum opt_id {
  OPT_HELP,
  OPT_VERSION,
  OPT_INDEX,
  OPT_LIMIT,
  OPT_OFFSET,
  OPT_RANK,
  OPT_JSON,
  OPT_STEM,
  OPT_STOPWORDS,
  OPT_DIACRITICS,
  OPT_ALL,
  OPT_ANY,
  OPT_K1,
  OPT_B,
  OPT_TITLE_WEIGHT,
  OPT_BODY_WEIGHT,
  OPT_SNIPPET_WORDS,
  OPT_HIGHLIGHT,
  OPT_EXPLAIN,
  OPT_BATCH,
  OPT_JSONL,
  OPT_WAIT,
  OPT_PRUNE
} opt_id;

typedef struct opt_spec {
  opt_id id;
  char short_name;       /* 0 if none */
  const char *long_name; /* without the leading dashes */
  bool has_arg;
} opt_spec;

/* Every option of every command: a command's table picks from these, so
 * one option always has the same spelling and meaning everywhere. */
#define OPT_SPEC_HELP                                                          \
  { OPT_HELP, 'h', "help", false }
#define OPT_SPEC_INDEX                                                         \
  { OPT_INDEX, 'i', "index", true }
#define OPT_SPEC_END                                                           \
  { OPT_HELP, 0, NULL, false }
/* Waiting for the writer lock, shared by the commands that write. */
#define OPT_SPEC_WAIT                                                          \
  { OPT_WAIT, 0, "wait", false }
/* The analysis options, shared by index and analyze. */
#define OPT_SPEC_STEM                                                          \
  { OPT_STEM, 0, "stem", true }
#define OPT_SPEC_STOPWORDS                                                     \
  { OPT_STOPWORDS, 0, "stopwords", true }
#define OPT_SPEC_DIACRITICS                                                    \
  { OPT_DIACRITICS, 0, "diacritics", true }

/* The analysis options as given.  Each one applies only when its have_
 * flag is set, on top of the defaults or of an existing index's analysis,
 * so that naming one setting never silently resets the others. */
typedef struct analyzer_opts {
  bool have_stem, have_stopwords, have_diacritics;
  kidx_stemmer stem;
  kidx_stopwords stopwords;
  bool diacritics;
} analyzer_opts;

/* The spellings of the analysis settings, on the command line, in stats
 * and in messages, in the order error messages list them. */
typedef struct choice {
  const char *name;
  int value;
} choice;

static const choice STEMMERS[] = {
    {"english", KIDX_STEM_ENGLISH}, {"none", KIDX_STEM_NONE}, {NULL, 0}};
static const choice STOPWORD_LISTS[] = {{"english", KIDX_STOPWORDS_ENGLISH},
                                        {"none", KIDX_STOPWORDS_NONE},
                                        {NULL, 0}};
static const choice SWITCHES[] = {{"on", 1}, {"off", 0}, {NULL, 0}};

/* How matched words are marked in human output. */
typedef enum highlight_mode {
  HL_AUTO, /* bold on a terminal, brackets otherwise (the default) */
  HL_BOLD,
  HL_BRACKETS,
  HL_NONE
} highlight_mode;

static const choice HIGHLIGHTS[] = {
    {"bold", HL_BOLD}, {"brackets", HL_BRACKETS}, {"none", HL_NONE}, {NULL, 0}};

/* The search options as given: each applies on top of the library's
 * defaults (kidx_search_options_init) only when its have_ flag is set, so
 * the defaults live in one place, the library. */
typedef struct search_opts {
  kidx_match match;
  bool have_k1, have_b, have_title_weight, have_body_weight, have_snippet_words;
  double k1, b, title_weight, body_weight;
  size_t snippet_words;
  highlight_mode highlight;
  bool explain;
  const char *batch; /* --batch FILE, "-" for standard input */
} search_opts;

/* Options as parsed, for whichever command. */
typedef struct cli_args {
  bool help, version, json;
  bool wait;         /* --wait: wait for the writer lock instead of failing */
  bool prune;        /* index --prune */
  const char *index; /* -i value, NULL when not given */
  bool have_limit;
  size_t limit, offset;
  kidx_rank rank;
  analyzer_opts an;
  search_opts search;
  const char **jsonl; /* --jsonl FILE values in order (malloc'ed) */
  size_t njsonl;
  char **pos; /* positional arguments (compacted into argv) */
  int npos;
} cli_args;

/* Parses an unsigned decimal integer: digits only (strtoull alone would
 * take "-1", " 5" and "5x"), no overflow. */
static bool parse_size(const char *s, size_t *out) {
  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end != '\0' || errno == ERANGE || v > SIZE_MAX)
    return false;
  *out = (size_t)v;
  return true;
}

/* Parses a decimal number such as 1.2, .75 or 2e-1.  strtod alone would
 * also take " 1", "inf", "nan" and hexadecimal, none of which a user
 * means as a weight; the result must be finite. */
static bool parse_double(const char *s, double *out) {
  if (*s == '\0')
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
          *p == '+' || *p == '-'))
      return false;
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  /* ERANGE with a tiny result is underflow (1e-400): the value is 0 or a
   * denormal, both fine; only overflow (HUGE_VAL) is refused. */
  if (*end != '\0' || !isfinite(v) || (errno == ERANGE && fabs(v) > 1.0))
    return false;
  *out = v;
  return true;
}

static bool parse_choice(const choice *table, const char *arg, int *out) {
  for (; table->name; table++)
    if (strcmp(table->name, arg) == 0) {
      *out = table->value;
      return true;
    }
  return false;
}

/* The name of value in table; "unknown" for a setting newer than this
 * tool (a newer library may have more stemmers than we can name). */
static const char *choice_name(const choice *table, int value) {
  for (; table->name; table++)
    if (table->value == value)
      return table->name;
  return "unknown";
}

/* "--stem expects 'english' or 'none', got 'x'", listing the table. */
static int bad_choice(const choice *table, const char *spelled,
                      const char *arg) {
  char list[128] = "";
  size_t len = 0;
  for (size_t i = 0; table[i].name && len < sizeof list; i++) {
    const char *sep = i == 0 ? "" : table[i + 1].name ? ", " : " or ";
    int n =
        snprintf(list + len, sizeof list - len, "%s'%s'", sep, table[i].name);
    len += n > 0 ? (size_t)n : 0;
  }
  return fail(ST_USAGE, "%s expects %s, got '%s'", spelled, list, arg);
}

/* Stores one analysis option; see apply_option. */
static int apply_analyzer_option(analyzer_opts *o, opt_id id,
                                 const char *spelled, const char *arg) {
  int v;
  switch (id) {
  case OPT_STEM:
    if (!parse_choice(STEMMERS, arg, &v))
      return bad_choice(STEMMERS, spelled, arg);
    o->stem = (kidx_stemmer)v;
    o->have_stem = true;
    break;
  case OPT_STOPWORDS:
    if (!parse_choice(STOPWORD_LISTS, arg, &v))
      return bad_choice(STOPWORD_LISTS, spelled, arg);
    o->stopwords = (kidx_stopwords)v;
    o->have_stopwords = true;
    break;
  default:
    if (!parse_choice(SWITCHES, arg, &v))
      return bad_choice(SWITCHES, spelled, arg);
    o->diacritics = v != 0;
    o->have_diacritics = true;
    break;
  }
  return ST_OK;
}

/* Stores one search option; see apply_option. */
static int apply_search_option(search_opts *o, opt_id id, const char *spelled,
                               const char *arg) {
  int v;
  switch (id) {
  case OPT_ALL:
    o->match = KIDX_MATCH_ALL; /* the last of --all / --any wins */
    break;
  case OPT_ANY:
    o->match = KIDX_MATCH_ANY;
    break;
  case OPT_K1:
    if (!parse_double(arg, &o->k1) || o->k1 < 0 || o->k1 > MAX_PARAM)
      return fail(ST_USAGE, "%s expects a number from 0 to 1e6, got '%s'",
                  spelled, arg);
    o->have_k1 = true;
    break;
  case OPT_B:
    if (!parse_double(arg, &o->b) || o->b < 0 || o->b > 1)
      return fail(ST_USAGE, "%s expects a number from 0 to 1, got '%s'",
                  spelled, arg);
    o->have_b = true;
    break;
  case OPT_TITLE_WEIGHT:
  case OPT_BODY_WEIGHT: {
    double w;
    if (!parse_double(arg, &w) || w < 0 || w > MAX_PARAM)
      return fail(ST_USAGE, "%s expects a number from 0 to 1e6, got '%s'",
                  spelled, arg);
    if (id == OPT_TITLE_WEIGHT) {
      o->title_weight = w;
      o->have_title_weight = true;
    } else {
      o->body_weight = w;
      o->have_body_weight = true;
    }
    break;
  }
  case OPT_SNIPPET_WORDS:
    if (!parse_size(arg, &o->snippet_words))
      return fail(ST_USAGE, "%s expects a non-negative integer, got '%s'",
                  spelled, arg);
    o->have_snippet_words = true;
    break;
  case OPT_HIGHLIGHT:
    if (!parse_choice(HIGHLIGHTS, arg, &v))
      return bad_choice(HIGHLIGHTS, spelled, arg);
    o->highlight = (highlight_mode)v;
    break;
  case OPT_EXPLAIN:
    o->explain = true;
    break;
  case OPT_BATCH:
    if (*arg == '\0')
      return fail(ST_USAGE,
                  "%s expects a file, or - for standard input, got ''",
                  spelled);
    o->batch = arg;
    break;
  default:
    break;
  }
  return ST_OK;
}

/* Records one --jsonl FILE; they are read in the order given. */
static int add_jsonl(cli_args *a, const char *spelled, const char *arg) {
  if (*arg == '\0')
    return fail(ST_USAGE, "%s expects a file, or - for standard input, got ''",
                spelled);
  for (size_t i = 0; i < a->njsonl; i++)
    if (strcmp(arg, "-") == 0 && strcmp(a->jsonl[i], "-") == 0)
      return fail(ST_USAGE, "%s - (standard input) given twice", spelled);
  const char **grown = realloc(a->jsonl, (a->njsonl + 1) * sizeof *grown);
  if (!grown)
    return fail(ST_USAGE, "out of memory");
  a->jsonl = grown;
  a->jsonl[a->njsonl++] = arg;
  return ST_OK;
}

/* Stores one option in a; `spelled` is the option as the user wrote it, so
 * that messages quote it back ("-k" or "--limit"). */
static int apply_option(cli_args *a, opt_id id, const char *spelled,
                        const char *arg) {
  switch (id) {
  case OPT_HELP:
    a->help = true;
    break;
  case OPT_VERSION:
    a->version = true;
    break;
  case OPT_JSON:
    a->json = true;
    break;
  case OPT_INDEX:
    if (*arg == '\0')
      return fail(ST_USAGE, "%s expects a directory, got ''", spelled);
    a->index = arg;
    break;
  case OPT_LIMIT:
    if (!parse_size(arg, &a->limit) || a->limit == 0)
      return fail(ST_USAGE, "%s expects a positive integer, got '%s'", spelled,
                  arg);
    a->have_limit = true;
    break;
  case OPT_OFFSET:
    if (!parse_size(arg, &a->offset))
      return fail(ST_USAGE, "%s expects a non-negative integer, got '%s'",
                  spelled, arg);
    break;
  case OPT_RANK:
    if (strcmp(arg, "tfidf") == 0)
      a->rank = KIDX_RANK_TFIDF;
    else if (strcmp(arg, "bm25") == 0)
      a->rank = KIDX_RANK_BM25;
    else
      return fail(ST_USAGE, "%s expects 'tfidf' or 'bm25', got '%s'", spelled,
                  arg);
    break;
  case OPT_STEM:
  case OPT_STOPWORDS:
  case OPT_DIACRITICS:
    return apply_analyzer_option(&a->an, id, spelled, arg);
  case OPT_JSONL:
    return add_jsonl(a, spelled, arg);
  case OPT_WAIT:
    a->wait = true;
    break;
  case OPT_PRUNE:
    a->prune = true;
    break;
  default:
    return apply_search_option(&a->search, id, spelled, arg);
  }
  return ST_OK;
}

/* Where to point the user after a usage error. */
static void help_hint(char *buf, size_t cap, const char *cmd) {
  if (cmd)
    snprintf(buf, cap, "see 'kidx %s --help'", cmd);
  else
    snprintf(buf, cap, "see 'kidx --help'");
}

/* Parses argv[0..argc) against specs.  Options may come before, between
 * or after positional arguments ("kidx search foo -k 3"); "--" ends the
 * options, so a query word may start with '-'.  Accepted forms: -k 3, -k3,
 * --limit 3, --limit=3.  With stop_at_positional, parsing ends at the
 * first positional argument (the command name, for the global options).
 * Positional arguments are compacted to the front of argv and recorded in
 * a->pos.  cmd names the command in messages (NULL for the global ones). */
static int parse_options(int argc, char **argv, const opt_spec *specs,
                         const char *cmd, bool stop_at_positional,
                         cli_args *a) {
  char hint[64];
  int npos = 0, i = 0;
  bool only_positional = false;
  help_hint(hint, sizeof hint, cmd);
  for (; i < argc; i++) {
    char *arg = argv[i];
    if (only_positional || arg[0] != '-' || arg[1] == '\0') {
      if (stop_at_positional)
        break;
      argv[npos++] = arg; /* npos <= i: never overwrites an unread one */
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_positional = true;
      continue;
    }
    const opt_spec *spec = NULL;
    const char *value = NULL; /* attached value: --limit=3, -k3 */
    char spelled[64];
    if (arg[1] == '-') {
      const char *name = arg + 2, *eq = strchr(name, '=');
      size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
      for (const opt_spec *s = specs; s->long_name; s++)
        if (strlen(s->long_name) == name_len &&
            strncmp(s->long_name, name, name_len) == 0)
          spec = s;
      if (!spec)
        return fail(ST_USAGE, "unknown option '%.*s'%s%s%s (%s)",
                    (int)(name_len + 2), arg, cmd ? " for '" : "",
                    cmd ? cmd : "", cmd ? "'" : "", hint);
      snprintf(spelled, sizeof spelled, "--%s", spec->long_name);
      if (eq) {
        if (!spec->has_arg)
          return fail(ST_USAGE, "option '%s' takes no value (%s)", spelled,
                      hint);
        value = eq + 1;
      }
    } else {
      for (const opt_spec *s = specs; s->long_name; s++)
        if (s->short_name && s->short_name == arg[1])
          spec = s;
      if (!spec || (!spec->has_arg && arg[2] != '\0'))
        return fail(ST_USAGE, "unknown option '%s'%s%s%s (%s)", arg,
                    cmd ? " for '" : "", cmd ? cmd : "", cmd ? "'" : "", hint);
      snprintf(spelled, sizeof spelled, "-%c", spec->short_name);
      if (arg[2] != '\0')
        value = arg + 2;
    }
    if (spec->has_arg && !value) {
      if (i + 1 >= argc)
        return fail(ST_USAGE, "option '%s' needs a value (%s)", spelled, hint);
      value = argv[++i];
    }
    int rc = apply_option(a, spec->id, spelled, value);
    if (rc != ST_OK)
      return rc;
  }
  /* Global options: what follows the command name is its own business. */
  if (stop_at_positional) {
    a->pos = argv + i;
    a->npos = argc - i;
  } else {
    a->pos = argv;
    a->npos = npos;
  }
  return ST_OK;
}

/* ---------------------------------------------------------------------- */
/* Context shared by the commands                                         */
/* ---------------------------------------------------------------------- */

typedef struct cli {
  const char *index_dir; /* -i, else $KIDX_INDEX if non-empty, else .kidx */
  bool index_named;      /* by -i or $KIDX_INDEX, not the .kidx default */
} cli;

/* Opens the index for reading, turning library failures into the CLI's
 * messages and exit statuses.  On failure returns ST_INDEX and *out is
 * NULL. */
static int open_reader(const cli *c, kidx_reader **out) {
  kidx_reader *r = NULL;
  *out = NULL;
  kidx_status st = kidx_reader_new(&r);
  if (st != KIDX_OK)
    return fail(ST_INDEX, "cannot open index at %s: %s", c->index_dir,
                kidx_strerror(st));
  st = kidx_reader_open(r, c->index_dir);
  if (st != KIDX_OK) {
    if (st == KIDX_ENOINDEX)
      fail(ST_INDEX, "no index at %s (run 'kidx index corpus/' first)",
           c->index_dir);
    else
      fail(ST_INDEX, "index at %s is unusable: %s", c->index_dir,
           lib_message(kidx_reader_errmsg(r), st));
    kidx_reader_close(r);
    return ST_INDEX;
  }
  *out = r;
  return ST_OK;
}

/* ---------------------------------------------------------------------- */
/* Analysis settings                                                      */
/* ---------------------------------------------------------------------- */

static bool have_analyzer_opts(const analyzer_opts *o) {
  return o->have_stem || o->have_stopwords || o->have_diacritics;
}

static void apply_analyzer_opts(const analyzer_opts *o, kidx_analyzer *an) {
  if (o->have_stem)
    an->stemmer = o->stem;
  if (o->have_stopwords)
    an->stopwords = o->stopwords;
  if (o->have_diacritics)
    an->fold_diacritics = o->diacritics;
}

/* Reads the analysis of an open index into *out.  Initialised first:
 * `size` tells the library how much of *out this tool knows about. */
static int read_index_analyzer(const cli *c, const kidx_reader *r,
                               kidx_analyzer *out) {
  kidx_analyzer_init(out);
  kidx_status st = kidx_reader_analyzer(r, out);
  if (st != KIDX_OK)
    return fail(ST_INDEX, "index at %s is unusable: %s", c->index_dir,
                lib_message(kidx_reader_errmsg(r), st));
  return ST_OK;
}

/* Appends " --stem english" (without the leading space when buf is
 * empty). */
static void append_setting(char *buf, size_t cap, const char *option,
                           const char *value) {
  size_t len = strlen(buf);
  snprintf(buf + len, cap - len, "%s%s %s", len ? " " : "", option, value);
}

/* The settings in which a and b differ, written as options: into a_buf
 * those of a ("--stem english"), into b_buf those of b.  Both stay empty
 * when the two analyses agree. */
static void analyzer_diff(const kidx_analyzer *a, const kidx_analyzer *b,
                          char *a_buf, char *b_buf, size_t cap) {
  a_buf[0] = b_buf[0] = '\0';
  if (a->stemmer != b->stemmer) {
    append_setting(a_buf, cap, "--stem", choice_name(STEMMERS, a->stemmer));
    append_setting(b_buf, cap, "--stem", choice_name(STEMMERS, b->stemmer));
  }
  if (a->stopwords != b->stopwords) {
    append_setting(a_buf, cap, "--stopwords",
                   choice_name(STOPWORD_LISTS, a->stopwords));
    append_setting(b_buf, cap, "--stopwords",
                   choice_name(STOPWORD_LISTS, b->stopwords));
  }
  if (!a->fold_diacritics != !b->fold_diacritics) {
    append_setting(a_buf, cap, "--diacritics",
                   choice_name(SWITCHES, a->fold_diacritics != 0));
    append_setting(b_buf, cap, "--diacritics",
                   choice_name(SWITCHES, b->fold_diacritics != 0));
  }
}

/* ---------------------------------------------------------------------- */
/* kidx index                                                             */
/* ---------------------------------------------------------------------- */

typedef struct file_entry {
  char *path;       /* the document id */
  uint64_t size;    /* from the walk: for progress, and the stamp check */
  int64_t mtime_ns; /* from the walk, for the stamp check */
} file_entry;

typedef struct byte_buf {
  char *p;
  size_t n, cap;
} byte_buf;

/* Progress on a terminal: "\r" redraws the line in place. */
typedef struct progress {
  bool enabled;         /* stderr is a terminal */
  bool shown;           /* a progress line is on screen now */
  double start, last;   /* times of the start and of the last redraw */
  size_t total_files;   /* from the walk */
  uint64_t total_bytes; /* from the walk */
} progress;

typedef struct index_run {
  const cli *c;
  file_entry *files; /* collected by the walk, in indexing order */
  size_t nfiles, cap;
  uint64_t total_bytes;
  bool have_index_id; /* the index directory exists: skip it in walks */
  dev_t index_dev;
  ino_t index_ino;
  bool prune;               /* --prune: a PATH may be gone */
  unsigned long unreadable; /* inputs that could not be read: exit 4 */
  unsigned long skipped;    /* inputs not indexed, for any reason */
  unsigned long bad_lines;  /* JSON Lines not indexed: exit 4 too */
  const char *const *jsonl; /* --jsonl inputs, read after the files */
  size_t njsonl;
  size_t docs;       /* documents added */
  uint64_t bytes;    /* their input bytes, for the summary */
  size_t docs_new;   /* of docs, those whose id was not in the index */
  size_t unchanged;  /* files left alone: same stamp, or same content */
  size_t removed;    /* documents deleted by --prune */
  int64_t racy_from; /* files modified at or after this time (ns since the
                        epoch) get a stamp that the next run does not
                        trust, see stamp_for */
  size_t done_files; /* inputs done, for progress */
  uint64_t done_bytes;
  progress prog;
  byte_buf buf; /* file contents, reused from file to file */
} index_run;

static void progress_clear(progress *p) {
  if (p->shown) {
    /* \033[K erases to the end of the line: the cursor is at column 0. */
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = false;
  }
}

/* A warning about one input; goes on indexing.  Clears the progress line
 * first so the warning does not end up glued to it. */
static void warn(index_run *run, const char *fmt, ...) CLI_PRINTF(2, 3);
static void warn(index_run *run, const char *fmt, ...) {
  va_list ap;
  progress_clear(&run->prog);
  va_start(ap, fmt);
  vmessage("kidx: warning: ", fmt, ap);
  va_end(ap);
}

static void progress_draw(progress *p, size_t files, uint64_t bytes,
                          bool force) {
  double t = now_seconds();
  if (!p->enabled || (!force && t - p->last < 1.0 / PROGRESS_HZ))
    return;
  p->last = t;
  double secs = t - p->start, mb = (double)bytes / 1e6;
  double rate = secs > 0 ? mb / secs : 0;
  char eta[32] = "--:--";
  if (rate > 0 && bytes > 0 && p->total_bytes >= bytes) {
    double left = ((double)(p->total_bytes - bytes) / 1e6) / rate;
    if (left < 360000)
      snprintf(eta, sizeof eta, "%d:%02d", (int)left / 60, (int)left % 60);
  }
  fprintf(stderr,
          "\rindexing: %zu/%zu files, %.1f/%.1f MB, %.1f MB/s, ETA %s\033[K",
          files, p->total_files, mb, (double)p->total_bytes / 1e6, rate, eta);
  fflush(stderr);
  p->shown = true;
}

static bool is_dot_name(const char *name) {
  return name[0] == '.';
}

/* "dir" + "name" -> "dir/name", without doubling a slash the user typed
 * ("corpus/" gives ids "corpus/x.txt", not "corpus//x.txt"). */
static char *join_path(const char *dir, const char *name) {
  size_t dl = strlen(dir), nl = strlen(name);
  bool slash = dl > 0 && dir[dl - 1] == '/';
  char *p = malloc(dl + nl + 2);
  if (p)
    snprintf(p, dl + nl + 2, "%s%s%s", dir, slash ? "" : "/", name);
  return p;
}

/* A file's modification time in ns since the epoch, as stamps hold it. */
static int64_t mtime_ns(const struct stat *st) {
  int64_t sec = (int64_t)st->st_mtim.tv_sec;
  /* Beyond +-292 years the product overflows; such dates are bogus and
   * only need to compare equal to themselves. */
  if (sec > INT64_MAX / 1000000000 - 1)
    sec = INT64_MAX / 1000000000 - 1;
  if (sec < INT64_MIN / 1000000000 + 1)
    sec = INT64_MIN / 1000000000 + 1;
  return sec * 1000000000 + (int64_t)st->st_mtim.tv_nsec;
}

static bool add_file(index_run *run, const char *path, const struct stat *st) {
  uint64_t size = (uint64_t)st->st_size;
  if (run->nfiles == run->cap) {
    size_t cap = run->cap ? run->cap * 2 : 64;
    file_entry *f = realloc(run->files, cap * sizeof *f);
    if (!f)
      return false;
    run->files = f;
    run->cap = cap;
  }
  char *copy = strdup(path);
  if (!copy)
    return false;
  run->files[run->nfiles].path = copy;
  run->files[run->nfiles].size = size;
  run->files[run->nfiles].mtime_ns = mtime_ns(st);
  run->nfiles++;
  run->total_bytes += size;
  return true;
}

static bool is_index_dir(const index_run *run, const struct stat *st) {
  return run->have_index_id && st->st_dev == run->index_dev &&
         st->st_ino == run->index_ino;
}

static int cmp_names(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  return strcmp(*x, *y); /* bytewise: the same order in every locale */
}

static bool walk_dir(index_run *run, const char *dir);

/* Files one directory entry: path was found by walking, not given by the
 * user. */
static bool walk_entry(index_run *run, const char *path, const char *name) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    warn(run, "cannot read %s: %s", path, strerror(errno));
    run->unreadable++;
    run->skipped++;
    return true;
  }
  if (S_ISLNK(st.st_mode)) {
    if (stat(path, &st) != 0) { /* dangling link */
      warn(run, "cannot read %s: %s", path, strerror(errno));
      run->unreadable++;
      run->skipped++;
      return true;
    }
    /* A linked directory may link back up the tree; not following them
     * is simpler and more predictable than detecting loops. */
    if (S_ISDIR(st.st_mode)) {
      warn(run, "not following symbolic link to directory %s", path);
      return true;
    }
  }
  if (S_ISDIR(st.st_mode)) {
    /* Hidden directories (.git, .kidx) hold tool data, not documents. */
    if (is_dot_name(name) || is_index_dir(run, &st))
      return true;
    return walk_dir(run, path);
  }
  if (is_dot_name(name))
    return true;
  if (!S_ISREG(st.st_mode)) {
    warn(run, "skipping %s: not a regular file", path);
    run->skipped++;
    return true;
  }
  return add_file(run, path, &st);
}

/* Collects the files under dir in sorted order, so that ids are added in
 * the same order on every run and machine.  Returns false only when out of
 * memory. */
static bool walk_dir(index_run *run, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    warn(run, "cannot read %s: %s", dir, strerror(errno));
    run->unreadable++;
    run->skipped++;
    return true;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  bool ok = true;
  struct dirent *e;
  errno = 0;
  while (ok && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **grown = realloc(names, cap * sizeof *names);
      ok = grown != NULL;
      if (ok)
        names = grown;
    }
    if (ok && (names[n] = strdup(e->d_name)) != NULL)
      n++;
    else
      ok = false;
    errno = 0;
  }
  if (ok && errno != 0) {
    warn(run, "cannot read %s: %s", dir, strerror(errno));
    run->unreadable++;
    run->skipped++;
  }
  closedir(d);
  if (ok && n > 1)
    qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    if (ok) {
      char *path = join_path(dir, names[i]);
      ok = path && walk_entry(run, path, names[i]);
      free(path);
    }
    free(names[i]);
  }
  free(names);
  return ok;
}

/* Files one PATH argument, whose existence was checked already.  Unlike
 * entries met while walking, an argument is taken even if it is hidden or
 * a symbolic link: the user named it. */
static bool walk_argument(index_run *run, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) { /* vanished since it was checked */
    /* With --prune, a PATH that is gone is only pruned under. */
    if (run->prune && (errno == ENOENT || errno == ENOTDIR))
      return true;
    warn(run, "cannot read %s: %s", path, strerror(errno));
    run->unreadable++;
    run->skipped++;
    return true;
  }
  if (S_ISDIR(st.st_mode)) {
    if (is_index_dir(run, &st)) {
      warn(run, "skipping %s: it is the index directory", path);
      return true;
    }
    return walk_dir(run, path);
  }
  if (!S_ISREG(st.st_mode)) {
    warn(run, "skipping %s: not a regular file", path);
    run->skipped++;
    return true;
  }
  return add_file(run, path, &st);
}

typedef enum read_result {
  READ_OK,
  READ_BINARY,
  READ_NOT_REGULAR,
  READ_ERROR /* errno value in *err */
} read_result;

/* Reads a whole file into buf, and its status at open into *st.  Stops
 * early on a binary file, so a large image or archive in a tree costs one
 * 8 KiB read. */
static read_result read_input(const char *path, byte_buf *buf, int *err,
                              struct stat *st_out) {
  /* O_NONBLOCK: if a file was replaced by a FIFO since the walk, open()
   * must not hang; on regular files it changes nothing. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return READ_ERROR;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *err = errno;
    close(fd);
    return READ_ERROR;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return READ_NOT_REGULAR;
  }
  *st_out = st;
  read_result res = READ_OK;
  bool probed = false;
  /* One spare byte, so a file that did not grow ends with one read()
   * returning 0 and no reallocation. */
  size_t want = st.st_size >= 0 && (uintmax_t)st.st_size < SIZE_MAX / 2
                    ? (size_t)st.st_size + 1
                    : 1;
  buf->n = 0;
  for (;;) {
    if (buf->n == buf->cap || buf->cap < want) {
      size_t cap = buf->cap < want ? want : buf->cap * 2;
      char *p = cap > buf->cap ? realloc(buf->p, cap) : NULL;
      if (!p) {
        *err = ENOMEM;
        res = READ_ERROR;
        break;
      }
      buf->p = p;
      buf->cap = cap;
    }
    ssize_t got = read(fd, buf->p + buf->n, buf->cap - buf->n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      *err = errno;
      res = READ_ERROR;
      break;
    }
    if (got == 0)
      break;
    buf->n += (size_t)got;
    if (!probed && buf->n >= BINARY_PROBE) {
      probed = true;
      if (memchr(buf->p, '\0', BINARY_PROBE)) {
        res = READ_BINARY;
        break;
      }
    }
  }
  close(fd);
  if (res == READ_OK && !probed && buf->n > 0 && memchr(buf->p, '\0', buf->n))
    res = READ_BINARY;
  return res;
}

static bool is_space(unsigned char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' ||
         ch == '\f';
}

/* Splits a text file into title (its first non-empty line, trimmed, at
 * most TITLE_MAX bytes) and body (everything after the title).  When the
 * line is too long, the title is cut at the last space before the limit
 * (else at a UTF-8 character boundary) and the body starts right after the
 * cut, so every word of the file stays searchable. */
static void split_document(const char *text, size_t len, const char **title,
                           size_t *title_len, const char **body,
                           size_t *body_len) {
  size_t pos = 0;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    pos = 3; /* UTF-8 byte order mark, written by some editors */
  *title = text + pos;
  *title_len = 0;
  while (pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len, next = nl ? end + 1 : len;
    size_t a = pos, b = end;
    while (a < b && is_space((unsigned char)text[a]))
      a++;
    while (b > a && is_space((unsigned char)text[b - 1]))
      b--;
    pos = next;
    if (a == b)
      continue;
    if (b - a > TITLE_MAX) {
      size_t cut = a + TITLE_MAX;
      while (cut > a && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--; /* do not split a UTF-8 sequence */
      size_t space = cut;
      while (space > a && !is_space((unsigned char)text[space]))
        space--;
      if (space > a)
        cut = space;
      b = cut;
      pos = cut;
      while (b > a && is_space((unsigned char)text[b - 1]))
        b--;
    }
    *title = text + a;
    *title_len = b - a;
    break;
  }
  *body = text + pos;
  *body_len = len - pos;
}

/* Stamp mtime of a file modified too recently to be trusted: no real
 * time is this, so it never matches and the next run reads the file. */
#define RACY_MTIME INT64_MIN
/* How recent "too recent" is.  A file rewritten within the same tick of
 * its file system's clock as the version we read keeps its size and mtime
 * (git's "racily clean" problem): ticks are a few ms on Linux, 1 s on
 * ext3 and HFS+, 2 s on FAT.  A file modified less than this before the
 * run started is stamped RACY_MTIME, so the next run compares its content
 * hash instead of trusting its mtime. */
#define RACY_WINDOW_NS ((int64_t)2000000000)

static int64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

/* The stamp of content[0..len) read from a file whose status at open was
 * st. */
static kidx_stamp stamp_for(const index_run *run, const struct stat *st,
                            const char *content, size_t len) {
  kidx_stamp s;
  s.size = (uint64_t)st->st_size;
  s.mtime_ns = mtime_ns(st);
  if (s.mtime_ns >= run->racy_from)
    s.mtime_ns = RACY_MTIME;
  s.hash = kidx_stamp_hash(content, len);
  return s;
}

static bool same_stamp(const kidx_stamp *a, const kidx_stamp *b) {
  return a->size == b->size && a->mtime_ns == b->mtime_ns && a->hash == b->hash;
}

/* Looks up the stamp of the document with this id: 1 (and *out) if there
 * is one, 0 if not, or a fatal status (< 0) after reporting it. */
static int lookup_stamp(index_run *run, kidx_writer *w, const char *id,
                        size_t id_len, kidx_stamp *out) {
  kidx_status st = kidx_writer_stamp(w, id, id_len, out);
  if (st == KIDX_OK)
    return 1;
  if (st == KIDX_ENOTFOUND)
    return 0;
  progress_clear(&run->prog);
  fail(ST_INDEX, "cannot index into %s: %s", run->c->index_dir,
       lib_message(kidx_writer_errmsg(w), st));
  return -1;
}

/* Indexes one file, if it changed since it was indexed.  Unchanged means
 * the same size and mtime as the stamp stored with its document (then the
 * file is not even opened), or, when those differ, the same content hash
 * (a file touched or copied: only the stamp is updated).  Returns ST_OK,
 * or a fatal status (the library ran out of memory or failed otherwise
 * than on this one document). */
static int index_one(index_run *run, kidx_writer *w, const file_entry *f) {
  size_t id_len = strlen(f->path);
  kidx_stamp old;
  int found = lookup_stamp(run, w, f->path, id_len, &old);
  if (found < 0)
    return ST_INDEX;
  /* An all-zero stamp is "none" (a document from --jsonl, or indexed
   * before stamps existed): the file is read and indexed again. */
  bool trusted = found && !(old.size == 0 && old.mtime_ns == 0 && old.hash == 0);
  if (trusted && old.size == f->size && old.mtime_ns == f->mtime_ns &&
      old.mtime_ns != RACY_MTIME) {
    run->unchanged++;
    return ST_OK;
  }
  int err = 0;
  struct stat st;
  switch (read_input(f->path, &run->buf, &err, &st)) {
  case READ_OK:
    break;
  case READ_BINARY:
    warn(run, "skipping binary file %s", f->path);
    run->skipped++;
    return ST_OK;
  case READ_NOT_REGULAR:
    warn(run, "skipping %s: not a regular file", f->path);
    run->skipped++;
    return ST_OK;
  case READ_ERROR:
    warn(run, "cannot read %s: %s", f->path, strerror(err));
    run->unreadable++;
    run->skipped++;
    return ST_OK;
  }
  kidx_stamp now = stamp_for(run, &st, run->buf.p, run->buf.n);
  kidx_status ks;
  if (trusted && old.hash == now.hash && old.size == now.size) {
    run->unchanged++;
    if (same_stamp(&old, &now))
      return ST_OK;
    ks = kidx_writer_restamp(w, f->path, id_len, &now);
  } else {
    const char *title, *body;
    size_t title_len, body_len;
    split_document(run->buf.p, run->buf.n, &title, &title_len, &body,
                   &body_len);
    ks = kidx_writer_add_stamped(w, f->path, id_len, title, title_len, body,
                                 body_len, &now);
    if (ks == KIDX_EINVAL || ks == KIDX_ETOOBIG) {
      /* This document only (an over-long path, a huge file): keep going. */
      warn(run, "cannot index %s: %s", f->path,
           lib_message(kidx_writer_errmsg(w), ks));
      run->unreadable++;
      run->skipped++;
      return ST_OK;
    }
    if (ks == KIDX_OK) {
      run->docs++;
      run->docs_new += !found;
      run->bytes += run->buf.n;
    }
  }
  if (ks != KIDX_OK) {
    progress_clear(&run->prog);
    return fail(ST_INDEX, "cannot index %s into %s: %s", f->path,
                run->c->index_dir, lib_message(kidx_writer_errmsg(w), ks));
  }
  return ST_OK;
}

static int cmp_files(const void *a, const void *b) {
  const file_entry *x = a, *y = b;
  return strcmp(x->path, y->path);
}

/* Sorts the file list by path and drops repeats, so that "kidx index
 * corpus corpus/x.txt" reads x.txt once and the summary counts documents,
 * not mentions.  Sorted order is as deterministic as walk order. */
static void dedupe_files(index_run *run) {
  size_t out = 0;
  if (run->nfiles > 1)
    qsort(run->files, run->nfiles, sizeof *run->files, cmp_files);
  for (size_t i = 0; i < run->nfiles; i++) {
    if (out > 0 && strcmp(run->files[out - 1].path, run->files[i].path) == 0) {
      run->total_bytes -= run->files[i].size;
      free(run->files[i].path);
    } else {
      run->files[out++] = run->files[i];
    }
  }
  run->nfiles = out;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* Bounds of the --wait polling interval.  The lock is flock(2)-based and
 * has no wake-up, so waiting is polling: it starts fast, for the common
 * case of a short commit by another process, and backs off to a second,
 * which costs nothing while a long run holds the lock. */
#define WAIT_FIRST_MS 50u
#define WAIT_MAX_MS   1000u

/* Opens the writer, mapping failures to messages that name the index.
 * an, when not NULL, is the analysis asked for on the command line.  With
 * wait, a lock held by another writer is waited for (saying so once on a
 * terminal) instead of being an error. */
static int open_writer(const cli *c, const kidx_analyzer *an, bool wait,
                       kidx_writer **out) {
  kidx_writer *w = NULL;
  *out = NULL;
  kidx_status st;
  unsigned delay = WAIT_FIRST_MS;
  bool told = false;
  for (;;) {
    st = kidx_writer_new(&w);
    if (st != KIDX_OK)
      return fail(ST_INDEX, "cannot open index at %s: %s", c->index_dir,
                  kidx_strerror(st));
    if (an)
      st = kidx_writer_set_analyzer(w, an);
    if (st == KIDX_OK)
      st = kidx_writer_open(w, c->index_dir);
    if (st != KIDX_EBUSY || !wait)
      break;
    kidx_writer_close(w);
    w = NULL;
    if (!told && isatty(STDERR_FILENO) == 1) {
      notice("waiting for another writer to finish with the index at %s",
             c->index_dir);
      told = true;
    }
    sleep_ms(delay);
    delay = delay * 2 > WAIT_MAX_MS ? WAIT_MAX_MS : delay * 2;
  }
  if (st != KIDX_OK) {
    const char *msg = lib_message(kidx_writer_errmsg(w), st);
    /* EINVAL: the analysis asked for is not the index's.  index_analyzer()
     * has checked already, so this is an index created since then; the
     * library's message names the index and the settings. */
    int status = ST_INDEX;
    if (st == KIDX_EINVAL)
      status = fail(ST_USAGE, "%s", msg);
    else if (st == KIDX_EBUSY)
      fail(ST_INDEX,
           "index at %s is locked by another writer; try again when it "
           "has finished, or use --wait",
           c->index_dir);
    else if (st == KIDX_ECORRUPT || st == KIDX_EFORMAT)
      fail(ST_INDEX, "index at %s is unusable: %s", c->index_dir, msg);
    else
      fail(ST_INDEX, "cannot open index at %s: %s", c->index_dir, msg);
    kidx_writer_close(w);
    return status;
  }
  *out = w;
  return ST_OK;
}

static void free_run(index_run *run) {
  for (size_t i = 0; i < run->nfiles; i++)
    free(run->files[i].path);
  free(run->files);
  free(run->buf.p);
}

/* A bad line of a --jsonl input: "kidx: FILE:LINE: what", compiler
 * style, so editors can jump to it.  The line is skipped, the run goes on
 * and ends with exit status 4. */
static void line_error(index_run *run, const char *name, uint64_t lineno,
                       const char *fmt, ...) CLI_PRINTF(4, 5);
static void line_error(index_run *run, const char *name, uint64_t lineno,
                       const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  progress_clear(&run->prog);
  fail(ST_INPUT, "%s:%" PRIu64 ": %s", name, lineno, what);
  run->bad_lines++;
}

/* Adds the documents of one --jsonl input (see jsonl.h), line by line, so
 * memory holds one line at a time however big the input.  Returns ST_OK,
 * or a fatal status (the library failed otherwise than on one
 * document). */
static int index_jsonl(index_run *run, kidx_writer *w, const char *path) {
  bool std_in = strcmp(path, "-") == 0;
  const char *name = std_in ? "<stdin>" : path;
  int fd = std_in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { /* checked before the run: it vanished since */
    warn(run, "cannot read %s: %s", name, strerror(errno));
    run->unreadable++;
    return ST_OK;
  }
  line_reader lr;
  line_reader_init(&lr, fd, JSONL_MAX_LINE);
  int rc = ST_OK;
  for (;;) {
    char *line;
    size_t len;
    int err = 0;
    line_status ls = line_reader_next(&lr, &line, &len, &err);
    if (ls == LINE_EOF)
      break;
    if (ls == LINE_ERROR) {
      /* What was read so far is kept, as for files. */
      warn(run, "cannot read %s: %s", name, strerror(err));
      run->unreadable++;
      break;
    }
    if (ls == LINE_TOO_LONG) {
      line_error(run, name, lr.lineno, "line longer than %zu MiB",
                 JSONL_MAX_LINE >> 20);
      continue;
    }
    if (jsonl_blank(line, len))
      continue;
    jsonl_doc d;
    char what[256];
    if (!jsonl_parse(line, len, &d, what, sizeof what)) {
      line_error(run, name, lr.lineno, "%s", what);
      continue;
    }
    kidx_stamp old;
    int found = d.id_len > 0 ? lookup_stamp(run, w, d.id, d.id_len, &old) : 0;
    if (found < 0) {
      rc = ST_INDEX;
      break;
    }
    kidx_status st = kidx_writer_add(w, d.id, d.id_len, d.title, d.title_len,
                                     d.body, d.body_len);
    if (st == KIDX_EINVAL || st == KIDX_ETOOBIG) {
      line_error(run, name, lr.lineno, "cannot index: %s",
                 lib_message(kidx_writer_errmsg(w), st));
      continue;
    }
    if (st != KIDX_OK) {
      progress_clear(&run->prog);
      rc = fail(ST_INDEX, "cannot index %s:%" PRIu64 " into %s: %s", name,
                lr.lineno, run->c->index_dir,
                lib_message(kidx_writer_errmsg(w), st));
      break;
    }
    run->docs++;
    run->docs_new += !found;
    run->bytes += len;
    progress_draw(&run->prog, run->done_files, run->done_bytes + lr.bytes,
                  false);
  }
  run->done_files++;
  run->done_bytes += lr.bytes;
  line_reader_free(&lr);
  if (!std_in)
    close(fd);
  return rc;
}

/* --prune: the documents whose ids lie under one of the PATH arguments,
 * collected by kidx_writer_foreach (which does not allow changes while it
 * runs) and then deleted if their file is gone. */
typedef struct prune_list {
  char *const *paths; /* the PATH arguments */
  int npaths;
  char **ids; /* NUL-terminated copies */
  size_t n, cap;
  bool nomem;
} prune_list;

/* Whether id names path or something under it.  Ids of walked files are
 * the argument joined with "/" unless it ends in one (see join_path), so
 * "corpus" and "corpus/" both cover "corpus/x.txt", and "corpus" does not
 * cover "corpus2/x.txt". */
static bool id_under(const char *id, size_t id_len, const char *path) {
  size_t n = strlen(path);
  if (n == 0 || id_len < n || memcmp(id, path, n) != 0)
    return false;
  return id_len == n || path[n - 1] == '/' || id[n] == '/';
}

static int collect_prunable(void *ctx, const char *id, size_t id_len,
                            const kidx_stamp *stamp) {
  prune_list *l = ctx;
  (void)stamp;
  /* An id with a NUL byte (possible from JSON Lines) is no path. */
  if (memchr(id, '\0', id_len))
    return 0;
  bool under = false;
  for (int i = 0; i < l->npaths && !under; i++)
    under = id_under(id, id_len, l->paths[i]);
  if (!under)
    return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    char **grown = realloc(l->ids, cap * sizeof *grown);
    if (!grown) {
      l->nomem = true;
      return 1;
    }
    l->ids = grown;
    l->cap = cap;
  }
  char *copy = malloc(id_len + 1);
  if (!copy) {
    l->nomem = true;
    return 1;
  }
  memcpy(copy, id, id_len);
  copy[id_len] = '\0';
  l->ids[l->n++] = copy;
  return 0;
}

static int cmp_file_path(const void *key, const void *elem) {
  const file_entry *f = elem;
  return strcmp(key, f->path);
}

/* Deletes the documents under the PATH arguments whose files no longer
 * exist.  A file found by this run's walk exists; others are looked up
 * with stat(), and only "no such file" removes a document: a file that
 * cannot be checked (permissions) keeps it. */
static int prune_missing(index_run *run, kidx_writer *w, char *const *paths,
                         int npaths) {
  prune_list l = {paths, npaths, NULL, 0, 0, false};
  kidx_status st = kidx_writer_foreach(w, collect_prunable, &l);
  int rc = ST_OK;
  if (st != KIDX_OK)
    rc = fail(ST_INDEX, "cannot read index at %s: %s", run->c->index_dir,
              lib_message(kidx_writer_errmsg(w), st));
  else if (l.nomem)
    rc = fail(ST_INDEX, "out of memory while pruning %s", run->c->index_dir);
  for (size_t i = 0; i < l.n && rc == ST_OK; i++) {
    struct stat sb;
    /* run->files is sorted by path (dedupe_files). */
    if (run->nfiles > 0 && bsearch(l.ids[i], run->files, run->nfiles,
                                   sizeof *run->files, cmp_file_path) != NULL)
      continue;
    if (stat(l.ids[i], &sb) == 0 || (errno != ENOENT && errno != ENOTDIR))
      continue;
    st = kidx_writer_delete(w, l.ids[i], strlen(l.ids[i]));
    if (st == KIDX_OK)
      run->removed++;
    else
      rc = fail(ST_INDEX, "cannot delete %s from %s: %s", l.ids[i],
                run->c->index_dir, lib_message(kidx_writer_errmsg(w), st));
  }
  for (size_t i = 0; i < l.n; i++)
    free(l.ids[i]);
  free(l.ids);
  return rc;
}

/* Adds the collected files that changed, then the --jsonl inputs in the
 * order given (so on an id given twice the last one read wins), prunes if
 * asked to, and commits once, if anything changed.  The whole run is one
 * commit: this version of the library rewrites the index on every commit,
 * so committing in batches would make a big run quadratic, and one commit
 * also means an interrupted run leaves the previous index untouched. */
static int index_files(index_run *run, kidx_writer *w, const cli_args *a) {
  double start = now_seconds();
  run->prog.start = run->prog.last = start;
  run->prog.total_files = run->nfiles + run->njsonl;
  run->prog.total_bytes = run->total_bytes;
  for (size_t i = 0; i < run->nfiles; i++) {
    int rc = index_one(run, w, &run->files[i]);
    if (rc != ST_OK)
      return rc;
    run->done_bytes += run->files[i].size;
    progress_draw(&run->prog, ++run->done_files, run->done_bytes, false);
  }
  for (size_t i = 0; i < run->njsonl; i++) {
    int rc = index_jsonl(run, w, run->jsonl[i]);
    if (rc != ST_OK)
      return rc;
  }
  if (a->prune) {
    int rc = prune_missing(run, w, a->pos, a->npos);
    if (rc != ST_OK)
      return rc;
  }
  if (run->prog.shown) {
    progress_clear(&run->prog);
    fputs("committing...", stderr);
    fflush(stderr);
    run->prog.shown = true;
  }
  /* Without changes this writes nothing (unless there was no index yet:
   * then an empty one), so an unchanged corpus leaves the index file as
   * it was. */
  kidx_status st = kidx_writer_commit(w);
  progress_clear(&run->prog);
  if (st != KIDX_OK)
    return fail(ST_INDEX, "cannot write index at %s: %s", run->c->index_dir,
                lib_message(kidx_writer_errmsg(w), st));

  double secs = now_seconds() - start;
  char size[32];
  format_size(size, sizeof size, run->bytes);
  printf("indexed %zu document%s (%s) in %.2f s, %.1f MB/s: %zu new, %zu "
         "changed, %zu unchanged, %zu removed",
         run->docs, run->docs == 1 ? "" : "s", size, secs,
         (double)run->bytes / 1e6 / (secs > 1e-6 ? secs : 1e-6), run->docs_new,
         run->docs - run->docs_new, run->unchanged, run->removed);
  if (run->skipped || run->bad_lines)
    fputs(", skipped ", stdout);
  if (run->skipped)
    printf("%lu file%s", run->skipped, run->skipped == 1 ? "" : "s");
  if (run->skipped && run->bad_lines)
    fputs(" and ", stdout);
  if (run->bad_lines)
    printf("%lu line%s", run->bad_lines, run->bad_lines == 1 ? "" : "s");
  putchar('\n');
  return run->unreadable || run->bad_lines ? ST_INPUT : ST_OK;
}

/* The analysis to ask the writer for: the existing index's own, or the
 * defaults for a new index, with the options given on top; a mismatch
 * with an existing index is refused here.  The writer would refuse it too,
 * but checking first speaks in the options the user typed and fails
 * before the walk.  Opening a reader verifies the index's checksums, a
 * cost paid only when analysis options are given. */
static int index_analyzer(const cli *c, const analyzer_opts *o,
                          kidx_analyzer *out) {
  kidx_analyzer_init(out);
  kidx_reader *r = NULL;
  if (kidx_reader_new(&r) != KIDX_OK)
    return fail(ST_INDEX, "cannot open index at %s: %s", c->index_dir,
                kidx_strerror(KIDX_ENOMEM));
  kidx_analyzer have;
  int rc = ST_OK;
  bool exists = kidx_reader_open(r, c->index_dir) == KIDX_OK;
  /* Other failures than "no index" (a damaged index, say) are left to the
   * writer, which reports them as it does without analysis options. */
  if (exists)
    rc = read_index_analyzer(c, r, &have);
  kidx_reader_close(r);
  if (rc != ST_OK || !exists) {
    apply_analyzer_opts(o, out);
    return rc;
  }
  *out = have;
  apply_analyzer_opts(o, out);
  char was[160], asked[160];
  analyzer_diff(&have, out, was, asked, sizeof was);
  if (was[0] != '\0')
    return fail(ST_USAGE,
                "index at %s was created with %s; it cannot be changed to %s "
                "(delete the index to rebuild it)",
                c->index_dir, was, asked);
  return ST_OK;
}

/* Checks a --jsonl FILE before the run, as PATH arguments are checked;
 * adds its size to *bytes for the progress display. */
static int check_jsonl(const char *path, uint64_t *bytes) {
  struct stat st;
  if (strcmp(path, "-") == 0)
    return ST_OK;
  if (stat(path, &st) != 0)
    return fail(ST_USAGE, "cannot read %s: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode))
    return fail(ST_USAGE, "cannot read %s: %s", path, strerror(EISDIR));
  if (S_ISREG(st.st_mode))
    *bytes += (uint64_t)st.st_size;
  return ST_OK;
}

static int cmd_index(const cli *c, const cli_args *a) {
  if (a->npos == 0 && a->njsonl == 0)
    return fail(ST_USAGE, "index needs at least one PATH or --jsonl FILE "
                          "(see 'kidx index --help')");
  if (a->prune && a->npos == 0)
    return fail(ST_USAGE, "--prune needs at least one PATH to prune under "
                          "(see 'kidx index --help')");
  /* Check every argument before touching the index, so that a typo does
   * not leave a half-done run (or a new empty index) behind. */
  for (int i = 0; i < a->npos; i++) {
    /* "t2//" is "t2/": ids are the same however many slashes are typed
     * (join_path does not double the one that remains). */
    char *p = a->pos[i];
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/' && p[n - 2] == '/')
      p[--n] = '\0';
    struct stat st;
    /* With --prune, a PATH that no longer exists is fine: the documents
     * under it are removed. */
    if (stat(p, &st) != 0 &&
        !(a->prune && (errno == ENOENT || errno == ENOTDIR)))
      return fail(ST_USAGE, "cannot read %s: %s", p, strerror(errno));
  }
  uint64_t jsonl_bytes = 0;
  for (size_t i = 0; i < a->njsonl; i++) {
    int rc = check_jsonl(a->jsonl[i], &jsonl_bytes);
    if (rc != ST_OK)
      return rc;
  }
  kidx_analyzer an;
  bool set_analyzer = have_analyzer_opts(&a->an);
  if (set_analyzer) {
    int rc = index_analyzer(c, &a->an, &an);
    if (rc != ST_OK)
      return rc;
  }
  /* The lock first: the walk then sees the files as they are when this
   * run owns the index, however long --wait waited. */
  kidx_writer *w;
  int rc = open_writer(c, set_analyzer ? &an : NULL, a->wait, &w);
  if (rc != ST_OK)
    return rc;
  index_run run;
  memset(&run, 0, sizeof run);
  run.c = c;
  run.jsonl = a->jsonl;
  run.njsonl = a->njsonl;
  run.prune = a->prune;
  run.prog.enabled = isatty(STDERR_FILENO) == 1;
  run.racy_from = realtime_ns() - RACY_WINDOW_NS;
  struct stat ist;
  if (stat(c->index_dir, &ist) == 0) {
    run.have_index_id = true;
    run.index_dev = ist.st_dev;
    run.index_ino = ist.st_ino;
  }
  /* First pass: the list of files and their total size, which gives the
   * progress display its ETA and fixes the order of the run. */
  for (int i = 0; i < a->npos && rc == ST_OK; i++)
    if (!walk_argument(&run, a->pos[i]))
      rc = fail(ST_INDEX, "out of memory while listing %s", a->pos[i]);
  if (rc == ST_OK) {
    dedupe_files(&run);
    run.total_bytes += jsonl_bytes;
    rc = index_files(&run, w, a);
  }
  kidx_writer_close(w); /* without a commit, discards everything */
  free_run(&run);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* kidx search                                                            */
/* ---------------------------------------------------------------------- */

/* Joins the QUERY arguments with spaces into one query string. */
static char *join_words(char **words, int n) {
  size_t len = 0;
  for (int i = 0; i < n; i++)
    len += strlen(words[i]) + 1;
  char *q = malloc(len + 1);
  if (!q)
    return NULL;
  size_t pos = 0;
  for (int i = 0; i < n; i++) {
    size_t l = strlen(words[i]);
    if (i > 0)
      q[pos++] = ' ';
    memcpy(q + pos, words[i], l);
    pos += l;
  }
  q[pos] = '\0';
  return q;
}

/* Number of characters (not bytes) in s, for column alignment. */
static size_t text_width(const char *s, size_t len) {
  size_t w = 0;
  for (size_t i = 0; i < len; i++)
    w += ((unsigned char)s[i] & 0xC0) != 0x80;
  return w;
}

/* Longest query line --batch takes; a longer one is reported as malformed.
 * Queries are a few words: this only bounds memory. */
#define BATCH_MAX_LINE ((size_t)1 << 20)
/* Shares and their total in --explain output have this many decimals;
 * EXPLAIN_SCALE is 10^EXPLAIN_DECIMALS. */
#define EXPLAIN_DECIMALS 6
#define EXPLAIN_SCALE    1000000.0
/* Marks a passage that does not start at the start of the body, or does
 * not end at its end (U+2026 HORIZONTAL ELLIPSIS). */
#define ELLIPSIS "\xE2\x80\xA6"

/* One search command: the options, the open index and the results object
 * reused by every query of a batch. */
typedef struct search_run {
  const cli *c;
  const cli_args *a;
  kidx_reader *r;
  kidx_results *res;
  kidx_search_options opt;
  highlight_mode hl; /* resolved: never HL_AUTO */
  bool batch;
  size_t blocks; /* query blocks printed so far, in batch human output */
} search_run;

typedef enum query_outcome {
  Q_HITS,
  Q_NO_HITS,
  Q_BAD,  /* malformed query: reported; a batch goes on */
  Q_FATAL /* the index or the options are unusable: stop */
} query_outcome;

static const char *field_name(int field) {
  switch (field) {
  case -1:
    return "both";
  case KIDX_FIELD_TITLE:
    return "title";
  case KIDX_FIELD_BODY:
    return "body";
  default:
    return "unknown"; /* a field added by a newer library */
  }
}

/* Writes the snippet's passage on one line: runs of whitespace (newlines,
 * tabs) become one space, so the passage reads as running text under its
 * hit, and the matched words are marked as hl says.  Highlights are
 * trusted only as far as they are sane (in range, in order, not
 * overlapping); anything else is printed unmarked. */
static void put_passage(FILE *f, const kidx_snippet *sn, highlight_mode hl) {
  const unsigned char *p = (const unsigned char *)sn->text;
  const char *open = hl == HL_BOLD ? "\033[1m" : hl == HL_BRACKETS ? "[" : "";
  const char *close = hl == HL_BOLD ? "\033[0m" : hl == HL_BRACKETS ? "]" : "";
  size_t h = 0, nh = sn->highlights ? sn->nhighlights : 0;
  bool marked = false, space = false, started = false;
  for (size_t i = 0; i < sn->len;) {
    if (marked && i >= sn->highlights[h].end) {
      fputs(close, f);
      marked = false;
      h++;
    }
    while (!marked && h < nh &&
           (sn->highlights[h].end <= i || sn->highlights[h].end > sn->len ||
            sn->highlights[h].start >= sn->highlights[h].end))
      h++;
    if (is_space(p[i])) {
      space = started;
      i++;
      continue;
    }
    if (space) {
      fputc(' ', f);
      space = false;
    }
    if (!marked && h < nh && sn->highlights[h].start <= i) {
      fputs(open, f);
      marked = true;
    }
    i += put_char(f, p + i, sn->len - i);
    started = true;
  }
  if (marked)
    fputs(close, f);
}

/* The snippet line of a hit, indented under its score. */
static void print_snippet(const kidx_snippet *sn, highlight_mode hl,
                          int indent) {
  if (!sn || sn->len == 0 || !sn->text)
    return; /* no snippets asked for, or an empty body */
  printf("%*s", indent, "");
  if (sn->offset > 0)
    fputs(ELLIPSIS, stdout);
  put_passage(stdout, sn, hl);
  if (sn->offset + sn->len < sn->body_len)
    fputs(ELLIPSIS, stdout);
  putchar('\n');
}

/* Rounds the shares of hit i to EXPLAIN_DECIMALS places, as integers of
 * 10^-EXPLAIN_DECIMALS, so that the printed shares add up to exactly the
 * printed total: rounding each on its own can leave the column a unit off
 * its sum, which reads as an error.  The units lost or gained in rounding
 * go to the shares that rounding moved most (largest remainders), so each
 * printed share is still within one unit of its value.  Only a rounding
 * difference is spread: if the shares do not add up to the score (a
 * library bug), they are printed as they are and the mismatch shows.
 * Returns false when the numbers are too large for this. */
static bool round_shares(const kidx_results *res, size_t i, size_t n,
                         long long *units, long long *total) {
  double score = kidx_results_score(res, i), sum = 0;
  if (!(fabs(score) < 1e12))
    return false;
  long long usum = 0;
  for (size_t j = 0; j < n; j++) {
    double x = kidx_results_explain(res, i, j)->score;
    if (!(fabs(x) < 1e12))
      return false;
    units[j] = llround(x * EXPLAIN_SCALE);
    usum += units[j];
    sum += x;
  }
  *total = llround(score * EXPLAIN_SCALE);
  long long d = *total - usum;
  if (!(fabs(sum - score) <= 1e-9 * fmax(1.0, fabs(score))) ||
      (d < 0 ? -d : d) > (long long)n)
    return true;
  while (d != 0) {
    size_t best = 0;
    double best_r = 0;
    for (size_t j = 0; j < n; j++) {
      double r = kidx_results_explain(res, i, j)->score * EXPLAIN_SCALE -
                 (double)units[j];
      if (j == 0 || (d > 0 ? r > best_r : r < best_r)) {
        best = j;
        best_r = r;
      }
    }
    units[best] += d > 0 ? 1 : -1;
    d += d > 0 ? -1 : 1;
  }
  return true;
}

static void format_units(char *buf, size_t cap, long long u) {
  unsigned long long a =
      u < 0 ? 0ULL - (unsigned long long)u : (unsigned long long)u;
  unsigned long long scale = (unsigned long long)EXPLAIN_SCALE;
  snprintf(buf, cap, "%s%llu.%0*llu", u < 0 ? "-" : "", a / scale,
           EXPLAIN_DECIMALS, a % scale);
}

/* The columns of the --explain table. */
enum {
  EX_TERM,
  EX_FIELD,
  EX_TF,
  EX_LEN,
  EX_DF,
  EX_IDF,
  EX_NORM,
  EX_WEIGHT,
  EX_TFC,
  EX_SHARE,
  EX_NCOLS
};
static const char *const EX_HEADERS[EX_NCOLS] = {
    "term", "field",    "tf t/b",     "len t/b", "df",
    "idf",  "norm t/b", "weight t/b", "tfc",     "share"};

/* The text of one cell (EX_TERM excepted: terms are printed with
 * put_text); `share` is the share already formatted. */
static void explain_cell(const kidx_explain *e, int col, const char *share,
                         char *buf, size_t cap) {
  const int t = KIDX_FIELD_TITLE, b = KIDX_FIELD_BODY;
  switch (col) {
  case EX_FIELD:
    snprintf(buf, cap, "%s", field_name(e->field));
    break;
  case EX_TF:
    snprintf(buf, cap, "%" PRIu32 "/%" PRIu32, e->tf[t], e->tf[b]);
    break;
  case EX_LEN:
    snprintf(buf, cap, "%" PRIu32 "/%" PRIu32, e->len[t], e->len[b]);
    break;
  case EX_DF:
    snprintf(buf, cap, "%" PRIu64, e->df);
    break;
  case EX_IDF:
    snprintf(buf, cap, "%.4f", e->idf);
    break;
  case EX_NORM:
    snprintf(buf, cap, "%.3f/%.3f", e->norm[t], e->norm[b]);
    break;
  case EX_WEIGHT:
    snprintf(buf, cap, "%g/%g", e->weight[t], e->weight[b]);
    break;
  case EX_TFC:
    snprintf(buf, cap, "%.4f", e->tfc);
    break;
  case EX_SHARE:
    snprintf(buf, cap, "%s", share);
    break;
  default:
    buf[0] = '\0';
    break;
  }
}

/* The share of entry j as printed: from units when rounding worked. */
static void share_text(const kidx_results *res, size_t i, size_t j,
                       const long long *units, char *buf, size_t cap) {
  if (units)
    format_units(buf, cap, units[j]);
  else
    snprintf(buf, cap, "%.*g", EXPLAIN_DECIMALS + 1,
             kidx_results_explain(res, i, j)->score);
}

/* The --explain table of hit i: a header, one row per term, and the
 * total under the share column, "= SCORE", which the shares add up to. */
static void print_explain_text(const kidx_results *res, size_t i, int indent) {
  size_t n = kidx_results_explain_count(res, i);
  if (n == 0)
    return;
  long long *units = malloc(n * sizeof *units), total = 0;
  if (units && !round_shares(res, i, n, units, &total)) {
    free(units);
    units = NULL;
  }
  char cell[96], share[64], sum[64];
  if (units)
    format_units(sum, sizeof sum, total);
  else
    snprintf(sum, sizeof sum, "%.*g", EXPLAIN_DECIMALS + 1,
             kidx_results_score(res, i));
  size_t w[EX_NCOLS];
  for (int col = 0; col < EX_NCOLS; col++)
    w[col] = strlen(EX_HEADERS[col]);
  w[EX_SHARE] = strlen(sum) > w[EX_SHARE] ? strlen(sum) : w[EX_SHARE];
  for (size_t j = 0; j < n; j++) {
    const kidx_explain *e = kidx_results_explain(res, i, j);
    size_t tw = text_width(e->term, e->term_len);
    w[EX_TERM] = tw > w[EX_TERM] ? tw : w[EX_TERM];
    share_text(res, i, j, units, share, sizeof share);
    for (int col = EX_FIELD; col < EX_NCOLS; col++) {
      explain_cell(e, col, share, cell, sizeof cell);
      w[col] = strlen(cell) > w[col] ? strlen(cell) : w[col];
    }
  }
  /* Header; then rows: words left-aligned, numbers right-aligned. */
  printf("%*s", indent, "");
  for (int col = 0; col < EX_NCOLS; col++)
    printf(col <= EX_FIELD ? "%s%-*s" : "%s%*s", col ? "  " : "", (int)w[col],
           EX_HEADERS[col]);
  putchar('\n');
  for (size_t j = 0; j < n; j++) {
    const kidx_explain *e = kidx_results_explain(res, i, j);
    printf("%*s", indent, "");
    put_text(stdout, e->term, e->term_len);
    printf("%*s", (int)(w[EX_TERM] - text_width(e->term, e->term_len)), "");
    share_text(res, i, j, units, share, sizeof share);
    for (int col = EX_FIELD; col < EX_NCOLS; col++) {
      explain_cell(e, col, share, cell, sizeof cell);
      printf(col == EX_FIELD ? "  %-*s" : "  %*s", (int)w[col], cell);
    }
    putchar('\n');
  }
  size_t before = 0; /* width of the columns before the share */
  for (int col = 0; col < EX_SHARE; col++)
    before += w[col] + 2;
  printf("%*s= %*s\n", indent + (int)before - 2, "", (int)w[EX_SHARE], sum);
  free(units);
}

/* The explain entries of hit i as a JSON array. */
static void print_explain_json(const kidx_results *res, size_t i) {
  const int t = KIDX_FIELD_TITLE, b = KIDX_FIELD_BODY;
  size_t n = kidx_results_explain_count(res, i);
  putchar('[');
  for (size_t j = 0; j < n; j++) {
    const kidx_explain *e = kidx_results_explain(res, i, j);
    fputs(j ? ",{\"term\":" : "{\"term\":", stdout);
    json_put_string(stdout, e->term, e->term_len);
    printf(",\"field\":\"%s\",\"tf\":[%" PRIu32 ",%" PRIu32
           "],\"len\":[%" PRIu32 ",%" PRIu32 "],\"df\":%" PRIu64 ",\"idf\":",
           field_name(e->field), e->tf[t], e->tf[b], e->len[t], e->len[b],
           e->df);
    json_put_number(stdout, e->idf);
    fputs(",\"norm\":[", stdout);
    json_put_number(stdout, e->norm[t]);
    putchar(',');
    json_put_number(stdout, e->norm[b]);
    fputs("],\"weight\":[", stdout);
    json_put_number(stdout, e->weight[t]);
    putchar(',');
    json_put_number(stdout, e->weight[b]);
    fputs("],\"tfc\":", stdout);
    json_put_number(stdout, e->tfc);
    fputs(",\"share\":", stdout);
    json_put_number(stdout, e->score);
    putchar('}');
  }
  putchar(']');
}

/* One JSON object per hit per line; keys in a fixed order (documented in
 * SEARCH_HELP): new keys only ever go last.  lineno is the query's line
 * in --batch mode, else 0. */
static void print_hits_json(const search_run *s, uint64_t lineno) {
  const kidx_results *res = s->res;
  size_t n = kidx_results_count(res);
  for (size_t i = 0; i < n; i++) {
    size_t id_len = 0, title_len = 0;
    const char *id = kidx_results_id(res, i, &id_len);
    const char *title = kidx_results_title(res, i, &title_len);
    printf("{\"rank\":%zu,\"id\":", s->opt.offset + i + 1);
    json_put_string(stdout, id ? id : "", id ? id_len : 0);
    fputs(",\"score\":", stdout);
    json_put_number(stdout, kidx_results_score(res, i));
    fputs(",\"title\":", stdout);
    json_put_string(stdout, title ? title : "", title ? title_len : 0);
    const kidx_snippet *sn = kidx_results_snippet(res, i);
    if (sn) {
      const char *text = sn->text ? sn->text : "";
      fputs(",\"snippet\":", stdout);
      json_put_string(stdout, text, sn->len);
      printf(",\"snippet_offset\":%zu,\"highlights\":[", sn->offset);
      for (size_t h = 0; sn->highlights && h < sn->nhighlights; h++)
        printf("%s[%zu,%zu]", h ? "," : "",
               json_decoded_offset(text, sn->len, sn->highlights[h].start),
               json_decoded_offset(text, sn->len, sn->highlights[h].end));
      putchar(']');
    }
    if (lineno > 0)
      printf(",\"query\":%" PRIu64, lineno);
    if (s->opt.explain) {
      fputs(",\"explain\":", stdout);
      print_explain_json(res, i);
    }
    fputs("}\n", stdout);
  }
}

/* One aligned line per hit: rank, score, id, title; under it the snippet
 * and, with --explain, the score's breakdown; then a summary. */
static void print_hits_text(const search_run *s) {
  const kidx_results *res = s->res;
  size_t offset = s->opt.offset;
  size_t n = kidx_results_count(res), id_w = 0, score_w = 0;
  char num[64];
  int rank_w = snprintf(num, sizeof num, "%zu", offset + n);
  if (rank_w < 3)
    rank_w = 3;
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    const char *id = kidx_results_id(res, i, &len);
    size_t w = id ? text_width(id, len) : 0;
    int sw = snprintf(num, sizeof num, "%.4f", kidx_results_score(res, i));
    id_w = w > id_w ? w : id_w;
    score_w = (size_t)sw > score_w ? (size_t)sw : score_w;
  }
  for (size_t i = 0; i < n; i++) {
    size_t id_len = 0, title_len = 0;
    const char *id = kidx_results_id(res, i, &id_len);
    const char *title = kidx_results_title(res, i, &title_len);
    printf("%*zu  %*.4f  ", rank_w, offset + i + 1, (int)score_w,
           kidx_results_score(res, i));
    put_text(stdout, id ? id : "", id ? id_len : 0);
    for (size_t pad = id ? text_width(id, id_len) : 0; pad < id_w; pad++)
      putchar(' ');
    fputs("  ", stdout);
    put_text(stdout, title ? title : "", title ? title_len : 0);
    putchar('\n');
    /* Indented to the score column, so each hit reads as one block. */
    print_snippet(kidx_results_snippet(res, i), s->hl, rank_w + 2);
    if (s->opt.explain)
      print_explain_text(res, i, rank_w + 2);
  }
  uint64_t total = kidx_results_total(res);
  printf("%zu of %s%" PRIu64 " matching document%s", n,
         kidx_results_total_is_exact(res) ? "" : "at least ", total,
         total == 1 ? "" : "s");
  if (offset > 0)
    printf(" (from rank %zu)", offset + 1);
  putchar('\n');
}

/* Reports a query error as one line on stderr: "kidx: [line N: ]query
 * error at column C: what".  The library's message already reads "query
 * error at column C: what" when the error is at a place; an error that is
 * not ("no searchable words") gets the "query error: " prefix here. */
static void query_error(const kidx_results *res, kidx_status st,
                        uint64_t lineno) {
  static const char prefix[] = "query error";
  const char *msg = lib_message(kidx_results_errmsg(res), st);
  size_t column = kidx_results_error_column(res);
  char where[48] = "";
  if (lineno > 0)
    snprintf(where, sizeof where, "line %" PRIu64 ": ", lineno);
  if (strncmp(msg, prefix, sizeof prefix - 1) == 0)
    fail(ST_USAGE, "%s%s", where, msg);
  else if (column > 0)
    fail(ST_USAGE, "%squery error at column %zu: %s", where, column, msg);
  else
    fail(ST_USAGE, "%squery error: %s", where, msg);
}

/* Runs one query and prints its hits; lineno is its line in --batch mode,
 * else 0.  On Q_FATAL the exit status is in *fatal. */
static query_outcome run_query(search_run *s, const char *query, size_t len,
                               uint64_t lineno, int *fatal) {
  kidx_status st = kidx_search(s->r, query, len, &s->opt, s->res);
  if (st == KIDX_EQUERY) {
    query_error(s->res, st, lineno);
    return Q_BAD;
  }
  if (st == KIDX_EINVAL) { /* options the library refuses: every query would */
    *fatal = fail(ST_USAGE, "%s", lib_message(kidx_results_errmsg(s->res), st));
    return Q_FATAL;
  }
  if (st != KIDX_OK) {
    *fatal = fail(ST_INDEX, "index at %s is unusable: %s", s->c->index_dir,
                  lib_message(kidx_results_errmsg(s->res), st));
    return Q_FATAL;
  }
  size_t n = kidx_results_count(s->res);
  if (s->a->json) {
    print_hits_json(s, lineno);
  } else if (s->batch) {
    /* Every query gets its block, hits or not, so the output can be read
     * against the query file. */
    if (s->blocks++ > 0)
      putchar('\n');
    printf("# line %" PRIu64 ": ", lineno);
    put_text(stdout, query, len);
    putchar('\n');
    print_hits_text(s);
  } else if (n > 0) {
    print_hits_text(s); /* no hits: stdout stays empty, scripts test the
                           status */
  }
  return n > 0 ? Q_HITS : Q_NO_HITS;
}

/* --batch: one query per line of fd.  Exit status: a fatal error's, else
 * ST_USAGE if any line was malformed, else ST_OK if any query had a hit,
 * else ST_NO_HITS (see SEARCH_HELP). */
static int run_batch(search_run *s, int fd, const char *name) {
  line_reader lr;
  line_reader_init(&lr, fd, BATCH_MAX_LINE);
  bool any_hits = false, any_bad = false;
  int rc = ST_OK;
  for (;;) {
    char *line;
    size_t len;
    int err = 0;
    line_status ls = line_reader_next(&lr, &line, &len, &err);
    if (ls == LINE_EOF)
      break;
    if (ls == LINE_ERROR) {
      rc = fail(ST_INPUT, "cannot read %s: %s", name, strerror(err));
      break;
    }
    if (ls == LINE_TOO_LONG) {
      fail(ST_USAGE, "line %" PRIu64 ": query longer than %zu bytes", lr.lineno,
           BATCH_MAX_LINE);
      any_bad = true;
      continue;
    }
    size_t k = 0;
    while (k < len && is_space((unsigned char)line[k]))
      k++;
    if (k == len)
      continue; /* empty lines separate groups of queries; still counted */
    query_outcome o = run_query(s, line, len, lr.lineno, &rc);
    if (o == Q_FATAL)
      break;
    /* Output that cannot be written (a full disk) stops the run: answering
     * the remaining queries would be wasted; main() reports it. */
    if (ferror(stdout)) {
      rc = ST_INPUT;
      break;
    }
    any_hits = any_hits || o == Q_HITS;
    any_bad = any_bad || o == Q_BAD;
  }
  line_reader_free(&lr);
  if (rc != ST_OK)
    return rc;
  return any_bad ? ST_USAGE : any_hits ? ST_OK : ST_NO_HITS;
}

/* The library's options from the command line's: each is set only when
 * given, so the library's defaults stand otherwise. */
static int search_settings(const cli_args *a, kidx_search_options *opt) {
  const search_opts *so = &a->search;
  kidx_search_options_init(opt);
  opt->offset = a->offset;
  /* "-k 18446744073709551615" means "all hits"; keep offset + limit
   * representable rather than let it wrap. */
  if (a->have_limit)
    opt->limit =
        a->limit <= SIZE_MAX - opt->offset ? a->limit : SIZE_MAX - opt->offset;
  opt->rank = a->rank;
  opt->match = so->match;
  if ((so->have_k1 || so->have_b) && a->rank != KIDX_RANK_BM25)
    return fail(ST_USAGE, "--k1 and --b are parameters of BM25: add --rank "
                          "bm25");
  if (so->have_k1)
    opt->bm25_k1 = so->k1;
  if (so->have_b)
    opt->bm25_b = so->b;
  if (so->have_title_weight)
    opt->title_weight = so->title_weight;
  if (so->have_body_weight)
    opt->body_weight = so->body_weight;
  if (opt->title_weight == 0 && opt->body_weight == 0)
    return fail(ST_USAGE, "--title-weight and --body-weight cannot both be 0 "
                          "(no word would count)");
  if (so->have_snippet_words)
    opt->snippet_words = so->snippet_words;
  opt->explain = so->explain;
  return ST_OK;
}

/* Opens the --batch file before the index, so that a typo in its name is
 * a usage error (2) like a missing PATH for index.  *fd is -1 when there
 * is no batch. */
static int open_batch(const char *path, int *fd) {
  *fd = -1;
  if (!path)
    return ST_OK;
  if (strcmp(path, "-") == 0) {
    *fd = STDIN_FILENO;
    return ST_OK;
  }
  int f = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (f < 0) {
    /* A name that does not exist is a typo (2); a file that exists but
     * cannot be read (permissions, I/O) is an input error (4). */
    int e = errno;
    return fail(e == ENOENT || e == ENOTDIR ? ST_USAGE : ST_INPUT,
                "cannot read %s: %s", path, strerror(e));
  }
  if (fstat(f, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(f);
    return fail(ST_USAGE, "cannot read %s: %s", path, strerror(EISDIR));
  }
  *fd = f;
  return ST_OK;
}

static int cmd_search(const cli *c, const cli_args *a) {
  const search_opts *so = &a->search;
  if (so->batch && a->npos > 0)
    return fail(ST_USAGE, "search takes QUERY arguments or --batch, not both "
                          "(see 'kidx search --help')");
  if (!so->batch && a->npos == 0)
    return fail(ST_USAGE, "search needs a QUERY (see 'kidx search --help')");
  search_run s;
  memset(&s, 0, sizeof s);
  s.c = c;
  s.a = a;
  s.batch = so->batch != NULL;
  s.hl = so->highlight != HL_AUTO     ? so->highlight
         : isatty(STDOUT_FILENO) == 1 ? HL_BOLD
                                      : HL_BRACKETS;
  int rc = search_settings(a, &s.opt);
  if (rc != ST_OK)
    return rc;
  int fd;
  rc = open_batch(so->batch, &fd);
  if (rc != ST_OK)
    return rc;
  char *query = s.batch ? NULL : join_words(a->pos, a->npos);
  if (!s.batch && !query)
    rc = fail(ST_USAGE, "out of memory");
  if (rc == ST_OK)
    rc = open_reader(c, &s.r);
  if (rc == ST_OK && kidx_results_new(&s.res) != KIDX_OK)
    rc = fail(ST_INDEX, "out of memory");
  if (rc == ST_OK && s.batch) {
    rc = run_batch(&s, fd,
                   strcmp(so->batch, "-") == 0 ? "standard input" : so->batch);
  } else if (rc == ST_OK) {
    query_outcome o = run_query(&s, query, strlen(query), 0, &rc);
    rc = o == Q_HITS      ? ST_OK
         : o == Q_NO_HITS ? ST_NO_HITS
         : o == Q_BAD     ? ST_USAGE
                          : rc;
  }
  if (fd > STDIN_FILENO)
    close(fd);
  kidx_results_free(s.res);
  kidx_reader_close(s.r);
  free(query);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* kidx analyze                                                           */
/* ---------------------------------------------------------------------- */

/* The analysis to show: the index's when the user named one (-i or
 * $KIDX_INDEX), which is what explains how that index matched a query;
 * otherwise the defaults, so that the command works anywhere and its
 * output does not change with whatever .kidx the current directory holds.
 * The options given apply on top of either. */
static int analyze_settings(const cli *c, const analyzer_opts *o,
                            kidx_analyzer *out) {
  kidx_analyzer_init(out);
  if (c->index_named) {
    kidx_reader *r;
    int rc = open_reader(c, &r);
    if (rc == ST_OK)
      rc = read_index_analyzer(c, r, out);
    kidx_reader_close(r);
    if (rc != ST_OK)
      return rc;
  }
  apply_analyzer_opts(o, out);
  return ST_OK;
}

/* Reads standard input to its end into buf.  Returns 0 or an errno
 * value.  Any bytes are taken, NUL and invalid UTF-8 included: the
 * library accepts them, and seeing what they become is a reason to run
 * analyze. */
static int read_stdin(byte_buf *buf) {
  buf->n = 0;
  for (;;) {
    if (buf->n == buf->cap) {
      if (buf->cap > SIZE_MAX / 2)
        return ENOMEM;
      size_t cap = buf->cap ? buf->cap * 2 : 65536;
      char *p = realloc(buf->p, cap);
      if (!p)
        return ENOMEM;
      buf->p = p;
      buf->cap = cap;
    }
    ssize_t got = read(STDIN_FILENO, buf->p + buf->n, buf->cap - buf->n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return errno;
    if (got == 0)
      return 0;
    buf->n += (size_t)got;
  }
}

/* Writes a term.  Terms are made of word characters, so they hold no
 * tab, newline or other control and go out as they are; the check keeps
 * each term on its own line and in its column even if a library change
 * ever let one through. */
static void put_term(FILE *f, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x20 || ch == 0x7F) {
      put_text(f, s, len);
      return;
    }
  }
  fwrite(s, 1, len, f);
}

/* kidx_token_fn: one line per token; ctx counts them. */
static int print_token(void *ctx, const kidx_token *tok) {
  uint64_t *count = ctx;
  printf("%" PRIu32 "\t%zu\t%zu\t", tok->position, tok->start, tok->end);
  put_term(stdout, tok->text, tok->len);
  putchar('\n');
  (*count)++;
  /* Output that cannot be written (a full disk): stop rather than analyse
   * the rest for nothing; main() reports it. */
  return ferror(stdout) ? 1 : 0;
}

static int cmd_analyze(const cli *c, const cli_args *a) {
  kidx_analyzer an;
  int rc = analyze_settings(c, &a->an, &an);
  if (rc != ST_OK)
    return rc;
  byte_buf text = {NULL, 0, 0};
  if (a->npos > 0) {
    text.p = join_words(a->pos, a->npos);
    if (!text.p)
      return fail(ST_INPUT, "out of memory");
    text.n = strlen(text.p);
  } else {
    int err = read_stdin(&text);
    if (err != 0) {
      free(text.p);
      return fail(ST_INPUT, "cannot read standard input: %s", strerror(err));
    }
  }
  uint64_t count = 0;
  kidx_status st =
      kidx_analyze(&an, text.p ? text.p : "", text.n, print_token, &count);
  free(text.p);
  if (st == KIDX_EINVAL)
    return fail(ST_USAGE, "cannot analyse: %s", kidx_strerror(st));
  if (st != KIDX_OK)
    return fail(ST_INPUT, "cannot analyse the input: %s", kidx_strerror(st));
  return count > 0 ? ST_OK : ST_NO_HITS;
}

/* ---------------------------------------------------------------------- */
/* kidx stats                                                             */
/* ---------------------------------------------------------------------- */

static void print_stats(const cli *c, const kidx_stats *s,
                        const kidx_analyzer *an, bool json) {
  const char *stem = choice_name(STEMMERS, an->stemmer),
             *stop = choice_name(STOPWORD_LISTS, an->stopwords),
             *diacritics = choice_name(SWITCHES, an->fold_diacritics != 0);
  if (json) {
    /* New keys go last: scripts may rely on the order of the old ones. */
    printf("{\"documents\":%" PRIu64 ",\"terms\":%" PRIu64
           ",\"tokens\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"stemmer\":\"%s\",\"stopwords\":\"%s\","
           "\"diacritics\":\"%s\",\"stored_bytes\":%" PRIu64 "}\n",
           s->documents, s->terms, s->tokens, s->bytes, stem, stop, diacritics,
           s->stored_bytes);
    return;
  }
  char size[32], stored[32];
  format_size(size, sizeof size, s->bytes);
  format_size(stored, sizeof stored, s->stored_bytes);
  printf("index      %s\n", c->index_dir);
  printf("documents  %12" PRIu64 "\n", s->documents);
  printf("terms      %12" PRIu64 "\n", s->terms);
  printf("tokens     %12" PRIu64 "\n", s->tokens);
  printf("bytes      %12" PRIu64 "  (%s)\n", s->bytes, size);
  /* The part of the index that keeps the documents' text for results and
   * snippets, the rest being the inverted index proper. */
  printf("stored     %12" PRIu64 "  (%s of ids, titles and bodies)\n",
         s->stored_bytes, stored);
  printf("stemmer    %s\n", stem);
  printf("stopwords  %s\n", stop);
  printf("diacritics %s\n", diacritics);
}

static int cmd_stats(const cli *c, const cli_args *a) {
  if (a->npos > 0)
    return fail(ST_USAGE,
                "unexpected argument '%s' for 'stats' (see 'kidx stats "
                "--help')",
                a->pos[0]);
  kidx_reader *r;
  int rc = open_reader(c, &r);
  if (rc != ST_OK)
    return rc;
  kidx_stats s;
  kidx_analyzer an;
  kidx_status st = kidx_reader_stats(r, &s);
  if (st != KIDX_OK)
    rc = fail(ST_INDEX, "index at %s is unusable: %s", c->index_dir,
              lib_message(kidx_reader_errmsg(r), st));
  else
    rc = read_index_analyzer(c, r, &an);
  if (rc == ST_OK)
    print_stats(c, &s, &an, a->json);
  kidx_reader_close(r);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* kidx delete                                                            */
/* ---------------------------------------------------------------------- */

static int cmp_strings(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  return strcmp(*x, *y);
}

static int cmd_delete(const cli *c, const cli_args *a) {
  if (a->npos == 0)
    return fail(ST_USAGE, "delete needs at least one ID (see 'kidx delete "
                          "--help')");
  /* The writer would create a missing index (and its directory) only to
   * find nothing in it: make sure there is one to delete from.  This also
   * verifies it, as the writer will again. */
  kidx_reader *r;
  int rc = open_reader(c, &r);
  kidx_reader_close(r);
  if (rc != ST_OK)
    return rc;
  /* Sorted, so that an id given twice is deleted once rather than
   * reported as missing the second time. */
  char **ids = malloc((size_t)a->npos * sizeof *ids);
  if (!ids)
    return fail(ST_INDEX, "out of memory");
  memcpy(ids, a->pos, (size_t)a->npos * sizeof *ids);
  qsort(ids, (size_t)a->npos, sizeof *ids, cmp_strings);
  kidx_writer *w;
  rc = open_writer(c, NULL, a->wait, &w);
  size_t deleted = 0;
  bool missing = false;
  for (int i = 0; i < a->npos && rc == ST_OK; i++) {
    if (i > 0 && strcmp(ids[i], ids[i - 1]) == 0)
      continue;
    kidx_status st = kidx_writer_delete(w, ids[i], strlen(ids[i]));
    if (st == KIDX_OK) {
      deleted++;
    } else if (st == KIDX_ENOTFOUND || st == KIDX_EINVAL) {
      /* EINVAL: an empty id, which no document has either. */
      fail(ST_NO_HITS, "no document with id '%s'", ids[i]);
      missing = true;
    } else {
      rc = fail(ST_INDEX, "cannot delete '%s' from %s: %s", ids[i],
                c->index_dir, lib_message(kidx_writer_errmsg(w), st));
    }
  }
  if (rc == ST_OK) {
    kidx_status st = kidx_writer_commit(w);
    if (st != KIDX_OK)
      rc = fail(ST_INDEX, "cannot write index at %s: %s", c->index_dir,
                lib_message(kidx_writer_errmsg(w), st));
  }
  if (rc == ST_OK) {
    printf("deleted %zu document%s\n", deleted, deleted == 1 ? "" : "s");
    rc = missing ? ST_NO_HITS : ST_OK;
  }
  kidx_writer_close(w);
  free(ids);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* kidx check                                                             */
/* ---------------------------------------------------------------------- */

/* The library's damage messages read "FILE is damaged: what"; after
 * "index at DIR is damaged: " that becomes "FILE: what", naming the file
 * without saying "damaged" twice. */
static void damage_detail(char *buf, size_t cap, const char *msg) {
  static const char marker[] = " is damaged: ";
  const char *m = strstr(msg, marker);
  if (m)
    snprintf(buf, cap, "%.*s: %s", (int)(m - msg), msg, m + strlen(marker));
  else
    snprintf(buf, cap, "%s", msg);
}

/* Reports a failed check: one line on stderr and, with --json, the same
 * text as {"ok":false,"error":...} on stdout. */
static int check_failed(bool json, const char *fmt, ...) CLI_PRINTF(2, 3);
static int check_failed(bool json, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (json) {
    fputs("{\"ok\":false,\"error\":", stdout);
    json_put_string(stdout, buf, strlen(buf));
    fputs("}\n", stdout);
  }
  return fail(ST_INDEX, "%s", buf);
}

static int cmd_check(const cli *c, const cli_args *a) {
  if (a->npos > 0)
    return fail(ST_USAGE,
                "unexpected argument '%s' for 'check' (see 'kidx check "
                "--help')",
                a->pos[0]);
  kidx_reader *r = NULL;
  if (kidx_reader_new(&r) != KIDX_OK)
    return check_failed(a->json, "cannot open index at %s: %s", c->index_dir,
                        kidx_strerror(KIDX_ENOMEM));
  char detail[1024];
  kidx_status st = kidx_reader_open(r, c->index_dir);
  int rc = ST_OK;
  if (st == KIDX_OK)
    st = kidx_reader_check(r);
  if (st == KIDX_ENOINDEX) {
    rc = check_failed(a->json,
                      "no index at %s (run 'kidx index corpus/' "
                      "first)",
                      c->index_dir);
  } else if (st == KIDX_ECORRUPT) {
    damage_detail(detail, sizeof detail,
                  lib_message(kidx_reader_errmsg(r), st));
    rc = check_failed(a->json, "index at %s is damaged: %s", c->index_dir,
                      detail);
  } else if (st != KIDX_OK) {
    /* Another format version, an I/O error, no memory: not known to be
     * damaged, but not usable either. */
    rc = check_failed(a->json, "index at %s is unusable: %s", c->index_dir,
                      lib_message(kidx_reader_errmsg(r), st));
  } else {
    kidx_stats s;
    if (kidx_reader_stats(r, &s) != KIDX_OK)
      rc = check_failed(a->json, "index at %s is unusable: %s", c->index_dir,
                        lib_message(kidx_reader_errmsg(r), KIDX_EINVAL));
    else if (a->json)
      printf("{\"ok\":true,\"documents\":%" PRIu64 ",\"terms\":%" PRIu64
             ",\"tokens\":%" PRIu64 ",\"bytes\":%" PRIu64 "}\n",
             s.documents, s.terms, s.tokens, s.bytes);
    else
      printf("ok: %" PRIu64 " document%s, %" PRIu64 " term%s, %" PRIu64
             " bytes\n",
             s.documents, s.documents == 1 ? "" : "s", s.terms,
             s.terms == 1 ? "" : "s", s.bytes);
  }
  kidx_reader_close(r);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Command table, help and main                                           */
/* ---------------------------------------------------------------------- */

static const char MAIN_HELP[] =
    "Usage: kidx [-i DIR] COMMAND [OPTIONS] [ARGS...]\n"
    "\n"
    "kidx indexes text files and answers ranked full-text queries.\n"
    "\n"
    "Commands:\n"
    "  index PATH...     add or update documents from files, directories\n"
    "                    and JSON Lines (--jsonl FILE)\n"
    "  search QUERY...   print the documents that best match QUERY\n"
    "  analyze [TEXT...] print the terms TEXT is indexed and searched as\n"
    "  stats             print the size and analysis settings of the index\n"
    "  delete ID...      remove documents from the index\n"
    "  check             verify the whole index and report the first "
    "problem\n"
    "  help [COMMAND]    print this help, or the help of COMMAND\n"
    "\n"
    "Options (also accepted after COMMAND):\n"
    "  -i, --index DIR   index directory (default: $KIDX_INDEX if set and\n"
    "                    not empty, else .kidx in the current directory)\n"
    "  -h, --help        print this help; 'kidx COMMAND --help' for a "
    "command\n"
    "  -V, --version     print the version\n"
    "\n"
    "Exit status:\n"
    "  0  success; search: at least one hit; analyze: at least one term;\n"
    "     check: the index is intact\n"
    "  1  search found no hits, analyze no terms, or delete was given ids\n"
    "     that are not in the index (the others were deleted)\n"
    "  2  usage error, malformed query, or analysis options other than\n"
    "     those the index was created with\n"
    "  3  index missing, damaged (check: the problem found), locked by\n"
    "     another writer (without --wait), or not writable\n"
    "  4  I/O error or bad input: some input files could not be read or\n"
    "     some JSON Lines were bad (the rest was indexed), standard input\n"
    "     or a --batch file could not be read, or the output could not be\n"
    "     written\n"
    "\n"
    "Examples:\n"
    "  kidx index corpus/ && kidx search transparency centre\n"
    "  kidx search '\"transparency centre\" -russia' --explain\n"
    "  kidx analyze \"Kaspersky's transparency centres\"\n";

static const char INDEX_HELP[] =
    "Usage: kidx index [-i DIR] [ANALYSIS OPTIONS] [--prune] [--wait]\n"
    "                  [--jsonl FILE]... [PATH...]\n"
    "\n"
    "Adds the files named, and the files found under the directories named,\n"
    "to the index.  A document's id is its path as given (kidx index\n"
    "corpus, corpus/ and corpus// all give corpus/x.txt), its title the\n"
    "file's first non-empty line, its body the rest of the file.\n"
    "Directories are walked in sorted order.  Met while walking, hidden\n"
    "files and directories (.git), the index directory and symbolic links\n"
    "to directories are skipped; name them to index them.  Binary files\n"
    "(a NUL byte in the first 8 KiB) are skipped with a warning.  All changes are committed at once at the end:\n"
    "an interrupted run changes nothing.  On a terminal, progress is shown\n"
    "on stderr.\n"
    "\n"
    "Indexing is incremental.  Each document keeps its file's size,\n"
    "modification time and a hash of its content.  A file whose size and\n"
    "modification time are those recorded is not read at all; one whose\n"
    "content hash is unchanged (touched, or copied back) keeps its\n"
    "document; only new and changed files are read and indexed.  A file\n"
    "modified in the 2 seconds before a run is read again by the next run\n"
    "too, as its time stamp may not yet show a later change.  The summary\n"
    "counts documents indexed (new and changed), files left unchanged, and\n"
    "documents removed; nothing is written when nothing changed.\n"
    "\n"
    "--prune also removes the documents whose ids lie under the PATHs\n"
    "given (a PATH itself, or PATH/...) and whose files no longer exist:\n"
    "run 'kidx index --prune corpus/' to bring the index in line with\n"
    "corpus/ after files were deleted or renamed.  With --prune, a PATH\n"
    "that no longer exists is not an error: its documents are removed.\n"
    "\n"
    "--jsonl FILE reads documents from JSON Lines (- for standard input):\n"
    "one JSON object per line with the string members \"id\" (required),\n"
    "\"title\" and \"body\" (default \"\"); other members are ignored and\n"
    "empty lines skipped.  It may be repeated and combined with PATHs: the\n"
    "files are added first, then the JSON Lines in the order given, so an\n"
    "id seen twice keeps the last document read.  These documents are\n"
    "always indexed.  A bad line (invalid JSON or UTF-8, not an object,\n"
    "\"id\" missing, empty or not a string, a lone surrogate in a \\u\n"
    "escape...) is reported as 'kidx: FILE:LINE: what' and skipped; the\n"
    "other lines are indexed and committed, and the exit status is 4.\n"
    "\n";

/* The rest of INDEX_HELP: ISO C only promises string literals of 4095
 * bytes. */
static const char INDEX_HELP_OPTIONS[] =
    "How text becomes terms (the analysis) is chosen when the index is\n"
    "created and kept in it, and queries are analysed the same way.  The\n"
    "analysis options apply when the index is created; given for an\n"
    "existing index, they must equal its settings (see 'kidx stats'), else\n"
    "nothing is indexed and the exit status is 2: delete the index to\n"
    "rebuild it with other settings.  'kidx analyze' shows the terms of a\n"
    "text.\n"
    "\n"
    "Analysis options:\n"
    "      --stem LANG         english (default): Snowball English (Porter2)\n"
    "                          stemming, so \"centres\" finds \"centre\";\n"
    "                          none: the words, case-folded\n"
    "      --stopwords LIST    none (default): every word is indexed;\n"
    "                          english: leave out the Snowball English stop\n"
    "                          words (the, and, of, ...)\n"
    "      --diacritics on|off on (default): remove accents from Latin and\n"
    "                          Greek letters, so that a word matches with\n"
    "                          or without them; off: keep them\n"
    "\n"
    "Options:\n"
    "      --jsonl FILE        add the documents of a JSON Lines file\n"
    "      --prune             remove documents of files gone from the PATHs\n"
    "      --wait              if another writer has the index, wait for it\n"
    "                          to finish instead of failing\n"
    "  -i, --index DIR         index directory (default: $KIDX_INDEX, else\n"
    "                          .kidx)\n"
    "  -h, --help              print this help\n"
    "\n"
    "Output: 'indexed N documents (SIZE) in T s, R MB/s: A new, B changed,\n"
    "C unchanged, D removed', then ', skipped ...' when files or lines were\n"
    "skipped: every input not indexed counts, binary, unreadable or not a\n"
    "regular file, met while walking or while reading.\n"
    "\n"
    "Exit status: 0 success, 2 usage error, missing PATH or FILE, or\n"
    "analysis options that differ from the index's, 3 index unusable, locked\n"
    "(without --wait) or not writable, 4 some files could not be read or\n"
    "some JSON Lines were bad (the rest was indexed).\n";

static const char ANALYZE_HELP[] =
    "Usage: kidx analyze [OPTIONS] [TEXT...]\n"
    "\n"
    "Prints the terms that TEXT is indexed and searched as, one line per\n"
    "term:\n"
    "\n"
    "  POSITION<TAB>START<TAB>END<TAB>TERM\n"
    "\n"
    "POSITION counts the words of the text from 0, stop words and over-long\n"
    "words (which give no term) included; START and END are the byte\n"
    "offsets of the word in the input, END just past it.  The TEXT\n"
    "arguments are joined with single spaces into one text; without TEXT,\n"
    "standard input is read to its end.  Run it to see why a search did or\n"
    "did not match.\n"
    "\n"
    "The analysis is the default one, or that of the index named with -i\n"
    "or $KIDX_INDEX (.kidx is only used when named); the options below\n"
    "override either.  They are those of 'kidx index', where they apply\n"
    "when an index is created.\n"
    "\n"
    "Options:\n"
    "      --stem LANG         english (default) or none\n"
    "      --stopwords LIST    none (default) or english\n"
    "      --diacritics on|off on (default) or off: remove accents from Latin\n"
    "                          and Greek letters\n"
    "  -i, --index DIR         use the analysis of the index in DIR\n"
    "  -h, --help              print this help\n"
    "\n"
    "Exit status: 0 at least one term, 1 no terms, 2 usage error, 3 index\n"
    "missing or unusable, 4 standard input could not be read.\n";

static const char SEARCH_HELP[] =
    "Usage: kidx search [OPTIONS] QUERY...\n"
    "       kidx search [OPTIONS] --batch FILE\n"
    "\n"
    "Prints the documents that best match QUERY, best first: rank, score,\n"
    "id and title, under them the passage of the body that matched, then\n"
    "'N of TOTAL matching documents'.  The QUERY arguments are joined with\n"
    "spaces; an argument starting with '-' is an option, so quote a query\n"
    "with -word (kidx search 'kaspersky -russia') or put -- before it.\n"
    "\n"
    "Query language (words go through the index's analysis: case, accents\n"
    "and stemming do not matter; stop words are left out):\n"
    "  a b            bare words: with --any (the default) a document needs\n"
    "                 one of them and ranks higher with more; with --all it\n"
    "                 needs them all\n"
    "  a AND b        both          a OR b   either\n"
    "  NOT a, -a      a must be absent: 'a NOT b' and 'a -b' are a AND NOT b\n"
    "  ( )            grouping.  NOT binds tightest, then AND, then OR;\n"
    "                 words side by side are joined as by OR (--any) or\n"
    "                 AND (--all): 'a b AND c' is a OR (b AND c) with --any\n"
    "  \"a b c\"        the words next to each other, in this order\n"
    "  NEAR(a b, N)   all the words, with at most N other words between the\n"
    "                 first and the last (N defaults to 10)\n"
    "  transp*        words starting with transp (the prefix is not stemmed)\n"
    "  title:a        a in the title only (body:a, the body only); also\n"
    "                 title:\"a phrase\" and title:transp*\n"
    "AND, OR, NOT and NEAR are operators in upper case only; \"and\", \"or\"\n"
    "and \"not\" are words.  --any is the default, as in Xapian and Lucene:\n"
    "a long natural-language query or \"transparency centre\" still finds\n"
    "documents that miss a word, ranked below those that have them all;\n"
    "--all makes every bare word required, as in SQLite FTS5.  A malformed\n"
    "query prints 'kidx: query error at column N: what' (exit status 2).\n"
    "\n"
    "Ranking: TF-IDF by default (pivoted normalisation, the model kidx was\n"
    "designed with), or BM25 with --rank bm25.  Title and body are combined\n"
    "BM25F-style before the tf saturation: a word counts w_title times in a\n"
    "title and w_body times in a body (2 and 1 by default), each field\n"
    "normalised by its own length.  Equal scores are ordered by id.\n"
    "\n";

/* The rest of SEARCH_HELP: ISO C only promises string literals of 4095
 * bytes, so the text is in two parts. */
static const char SEARCH_HELP_OPTIONS[] =
    "Options:\n"
    "  -k, --limit N          print at most N hits (default 10)\n"
    "      --offset N         skip the N best hits first (default 0)\n"
    "      --any, --all       any bare word suffices (default), or all are\n"
    "                         required\n"
    "      --rank MODEL       ranking model: tfidf (default) or bm25\n"
    "      --k1 X, --b X      BM25 tf saturation (default 1.2, at most 1e6)\n"
    "                         and length normalisation (0 to 1, default\n"
    "                         0.75)\n"
    "      --title-weight X   weight of the title, w_title (default 2)\n"
    "      --body-weight X    weight of the body, w_body (default 1); weights\n"
    "                         are from 0 to 1e6\n"
    "      --snippet-words N  words in each passage (default 30; 0: none)\n"
    "      --highlight MODE   how matched words are marked: bold (default on\n"
    "                         a terminal), brackets ([word], default\n"
    "                         otherwise) or none\n"
    "      --explain          print each hit's score term by term: field\n"
    "                         scope, tf and length in title/body, df, idf,\n"
    "                         length norm and weight of title/body, tfc (the\n"
    "                         combined frequency) and its share of the\n"
    "                         score; the shares add up to the score\n"
    "      --json             print one JSON object per hit per line and\n"
    "                         nothing else (keys below)\n"
    "      --batch FILE       read queries from FILE (- for standard input),\n"
    "                         one per line, each answered in turn; empty\n"
    "                         lines are skipped but counted.  Each query's\n"
    "                         hits come after a line '# line N: QUERY'; a\n"
    "                         malformed one is reported on stderr as\n"
    "                         'kidx: line N: query error ...' and skipped\n"
    "  -i, --index DIR        index directory (default: $KIDX_INDEX, else\n"
    "                         .kidx)\n"
    "  -h, --help             print this help\n"
    "\n"
    "JSON keys, in this order: \"rank\", \"id\", \"score\", \"title\"; "
    "\"snippet\"\n"
    "(the passage), \"snippet_offset\" (its byte offset in the body) and\n"
    "\"highlights\" ([start,end] byte offsets of the matched words in the\n"
    "snippet's UTF-8), unless --snippet-words 0; \"query\" (the line number,\n"
    "with --batch); \"explain\" (with --explain: one object per term with\n"
    "\"term\", \"field\" (both, title or body), \"tf\", \"len\", \"df\", "
    "\"idf\",\n"
    "\"norm\", \"weight\", \"tfc\" and \"share\"; tf, len, norm and weight "
    "are\n"
    "[title,body] pairs).\n"
    "\n"
    "Exit status: 0 hits found, 1 no hits, 2 usage error or malformed\n"
    "query or no such --batch FILE, 3 index missing or unusable, 4 the\n"
    "--batch input could not be read or the output could not be written.\n"
    "With --batch: 2 if any line was malformed, else 0 if any query had\n"
    "hits, else 1 (3 and 4 stop the run at once).\n";

static const char STATS_HELP[] =
    "Usage: kidx stats [--json] [-i DIR]\n"
    "\n"
    "Prints the number of documents, distinct terms and tokens in the index,\n"
    "its size on disk in bytes, how much of that is the stored text of the\n"
    "documents (ids, titles and bodies, kept for results and snippets), and\n"
    "the analysis it was created with\n"
    "(stemmer english|none, stopwords english|none, diacritics on|off; see\n"
    "'kidx index --help').\n"
    "\n"
    "Options:\n"
    "      --json        print one JSON object with the keys \"documents\",\n"
    "                    \"terms\", \"tokens\" and \"bytes\" (numbers), and\n"
    "                    \"stemmer\", \"stopwords\" and \"diacritics\" "
    "(strings),\n"
    "                    then \"stored_bytes\" (number)\n"
    "  -i, --index DIR   index directory (default: $KIDX_INDEX, else .kidx)\n"
    "  -h, --help        print this help\n"
    "\n"
    "Exit status: 0 success, 2 usage error, 3 index missing or unusable.\n";

static const char DELETE_HELP[] =
    "Usage: kidx delete [-i DIR] [--wait] ID...\n"
    "\n"
    "Removes the documents with these ids (for files: their paths as they\n"
    "were indexed, e.g. corpus/x.txt; put -- before an id that starts with\n"
    "'-'), in one commit, and prints 'deleted N documents'.  An id that is\n"
    "not in the index is reported as \"kidx: no document with id 'ID'\"; the\n"
    "other ids are still deleted, and the exit status is 1.  To remove the\n"
    "documents of files that were deleted, 'kidx index --prune PATH' finds\n"
    "them for you.\n"
    "\n"
    "Options:\n"
    "      --wait        if another writer has the index, wait for it to\n"
    "                    finish instead of failing\n"
    "  -i, --index DIR   index directory (default: $KIDX_INDEX, else .kidx)\n"
    "  -h, --help        print this help\n"
    "\n"
    "Exit status: 0 every id deleted, 1 some ids not found (the others were\n"
    "deleted), 2 usage error, 3 index missing, unusable, locked (without\n"
    "--wait) or not writable.\n";

static const char CHECK_HELP[] =
    "Usage: kidx check [--json] [-i DIR]\n"
    "\n"
    "Verifies the whole index: every checksum and table, and then every\n"
    "postings list decoded in full and compared with the document table\n"
    "and with each document's stored text, analysed again.  Prints\n"
    "'ok: N documents, T terms, B bytes', or the first problem found as one\n"
    "line on stderr: 'kidx: index at DIR is damaged: FILE: what', naming\n"
    "the term or document concerned.  It reads the whole index and analyses\n"
    "every document again, in a fraction of the time indexing took, and\n"
    "writes nothing.\n"
    "\n"
    "Options:\n"
    "      --json        print one JSON object: {\"ok\":true,\"documents\":N,\n"
    "                    \"terms\":T,\"tokens\":K,\"bytes\":B}, or\n"
    "                    {\"ok\":false,\"error\":\"...\"} (with the line on\n"
    "                    stderr as well)\n"
    "  -i, --index DIR   index directory (default: $KIDX_INDEX, else .kidx)\n"
    "  -h, --help        print this help\n"
    "\n"
    "Exit status: 0 the index is intact, 2 usage error, 3 no index, or the\n"
    "index is damaged or unusable.\n";

static const opt_spec INDEX_OPTS[] = {OPT_SPEC_HELP,
                                      OPT_SPEC_INDEX,
                                      OPT_SPEC_STEM,
                                      OPT_SPEC_STOPWORDS,
                                      OPT_SPEC_DIACRITICS,
                                      {OPT_JSONL, 0, "jsonl", true},
                                      {OPT_PRUNE, 0, "prune", false},
                                      OPT_SPEC_WAIT,
                                      OPT_SPEC_END};
static const opt_spec DELETE_OPTS[] = {OPT_SPEC_HELP, OPT_SPEC_INDEX,
                                       OPT_SPEC_WAIT, OPT_SPEC_END};
static const opt_spec CHECK_OPTS[] = {
    OPT_SPEC_HELP, OPT_SPEC_INDEX, {OPT_JSON, 0, "json", false}, OPT_SPEC_END};
static const opt_spec ANALYZE_OPTS[] = {OPT_SPEC_HELP,       OPT_SPEC_INDEX,
                                        OPT_SPEC_STEM,       OPT_SPEC_STOPWORDS,
                                        OPT_SPEC_DIACRITICS, OPT_SPEC_END};
static const opt_spec SEARCH_OPTS[] = {
    OPT_SPEC_HELP,
    OPT_SPEC_INDEX,
    {OPT_LIMIT, 'k', "limit", true},
    {OPT_OFFSET, 0, "offset", true},
    {OPT_RANK, 0, "rank", true},
    {OPT_JSON, 0, "json", false},
    {OPT_ALL, 0, "all", false},
    {OPT_ANY, 0, "any", false},
    {OPT_K1, 0, "k1", true},
    {OPT_B, 0, "b", true},
    {OPT_TITLE_WEIGHT, 0, "title-weight", true},
    {OPT_BODY_WEIGHT, 0, "body-weight", true},
    {OPT_SNIPPET_WORDS, 0, "snippet-words", true},
    {OPT_HIGHLIGHT, 0, "highlight", true},
    {OPT_EXPLAIN, 0, "explain", false},
    {OPT_BATCH, 0, "batch", true},
    OPT_SPEC_END};
static const opt_spec STATS_OPTS[] = {
    OPT_SPEC_HELP, OPT_SPEC_INDEX, {OPT_JSON, 0, "json", false}, OPT_SPEC_END};
static const opt_spec GLOBAL_OPTS[] = {OPT_SPEC_HELP,
                                       OPT_SPEC_INDEX,
                                       {OPT_VERSION, 'V', "version", false},
                                       OPT_SPEC_END};

typedef struct command {
  const char *name;
  const char *help[2]; /* printed one after the other; [1] may be NULL */
  const opt_spec *opts;
  int (*run)(const cli *c, const cli_args *a);
} command;

static const command COMMANDS[] = {
    {"index", {INDEX_HELP, INDEX_HELP_OPTIONS}, INDEX_OPTS, cmd_index},
    {"search", {SEARCH_HELP, SEARCH_HELP_OPTIONS}, SEARCH_OPTS, cmd_search},
    {"analyze", {ANALYZE_HELP, NULL}, ANALYZE_OPTS, cmd_analyze},
    {"stats", {STATS_HELP, NULL}, STATS_OPTS, cmd_stats},
    {"delete", {DELETE_HELP, NULL}, DELETE_OPTS, cmd_delete},
    {"check", {CHECK_HELP, NULL}, CHECK_OPTS, cmd_check},
};

static void put_help(const command *cmd) {
  for (size_t i = 0; i < 2 && cmd->help[i]; i++)
    fputs(cmd->help[i], stdout);
}

static const command *find_command(const char *name) {
  for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
    if (strcmp(COMMANDS[i].name, name) == 0)
      return &COMMANDS[i];
  return NULL;
}

/* `kidx help [COMMAND]`. */
static int run_help(int argc, char **argv) {
  if (argc == 0) {
    fputs(MAIN_HELP, stdout);
    return ST_OK;
  }
  const command *cmd = find_command(argv[0]);
  if (!cmd)
    return fail(ST_USAGE, "unknown command '%s' (see 'kidx --help')", argv[0]);
  put_help(cmd);
  return ST_OK;
}

static int run_cli(int argc, char **argv) {
  cli_args global;
  memset(&global, 0, sizeof global);
  int rc = parse_options(argc, argv, GLOBAL_OPTS, NULL, true, &global);
  if (rc != ST_OK)
    return rc;
  if (global.help) {
    fputs(MAIN_HELP, stdout);
    return ST_OK;
  }
  if (global.version) {
    printf("kidx %s\n", kidx_version_string());
    return ST_OK;
  }
  if (global.npos == 0)
    return fail(ST_USAGE, "no command given (see 'kidx --help')");
  const char *name = global.pos[0];
  if (strcmp(name, "help") == 0)
    return run_help(global.npos - 1, global.pos + 1);
  const command *cmd = find_command(name);
  if (!cmd)
    return fail(ST_USAGE, "unknown command '%s' (see 'kidx --help')", name);

  cli_args args;
  memset(&args, 0, sizeof args);
  args.rank = KIDX_RANK_TFIDF;
  args.index = global.index;
  rc = parse_options(global.npos - 1, global.pos + 1, cmd->opts, cmd->name,
                     false, &args);
  /* args.jsonl is the one allocation of option parsing: every path below
   * ends here, to free it. */
  if (rc == ST_OK && args.help) {
    put_help(cmd);
  } else if (rc == ST_OK) {
    cli c;
    const char *env = getenv("KIDX_INDEX");
    c.index_dir = args.index ? args.index : env && *env ? env : ".kidx";
    c.index_named = args.index || (env && *env);
    rc = cmd->run(&c, &args);
  }
  free(args.jsonl);
  return rc;
}

int main(int argc, char **argv) {
  /* A closed standard descriptor would be reused by the next open() (the
   * index's write.lock, a document): reading it as stdin or writing errors
   * into it would corrupt data.  Put /dev/null there instead. */
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      int nfd = open("/dev/null", O_RDWR);
      if (nfd == -1)
        return ST_INDEX; /* nowhere safe to report it */
      if (nfd != fd) { /* a lower closed fd took it: fill this one too */
        if (dup2(nfd, fd) == -1)
          return ST_INDEX;
        close(nfd);
      }
    }
  int rc = run_cli(argc > 0 ? argc - 1 : 0, argv + (argc > 0));
  /* Output to a full disk or a closed pipe must not pass for success. */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fail(ST_INPUT, "cannot write to standard output: %s", strerror(errno));
    if (rc == ST_OK || rc == ST_NO_HITS)
      rc = ST_INPUT;
  }
  return rc;
}
