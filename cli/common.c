/*
 * common.c -- helpers shared by the commands of the kidx tool.
 *
 * This file owns the messages on stderr (cli_fail, cli_notice and the
 * one-line, terminal-safe cli_vmessage they share), printing untrusted
 * text for a terminal, size formatting, whether a stream gets colour and
 * escape sequences (cli_color_enabled, cli_stream_is_capable_terminal),
 * command-line option parsing (cli_parse_options and the parsers of every
 * option's value), the path of a document's file (cli_id_path), opening
 * the index for reading and writing (with --wait), and the analysis
 * settings: reading an index's, applying options on top, and describing
 * how two differ.
 */
#include "cli.h"

#include "ids.h"
#include "json.h"
#include "kidx_utf8.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
size_t cli_put_char(FILE *f, const unsigned char *p, size_t n) {
  uint32_t cp;
  size_t len = kidx__utf8_decode(p, n, &cp);
  if (cp == KIDX__UTF8_INVALID) {
    fputs("\xEF\xBF\xBD", f);
    return 1;
  }
  if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
    fputc('?', f);
  else
    fwrite(p, 1, len, f);
  return len;
}

/* Writes text for a terminal, see cli_put_char. */
void cli_put_text(FILE *f, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;)
    i += cli_put_char(f, p + i, len - i);
}

void cli_vmessage(const char *prefix, const char *fmt, va_list ap) {
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
    size_t k = kidx__utf8_decode(p + i, len - i, &cp);
    if (cp == KIDX__UTF8_INVALID) { /* k is 1 */
      memcpy(cl + cn, "\xEF\xBF\xBD", 3);
      cn += 3;
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
 * an error site reads `return cli_fail(ST_USAGE, ...)`. */
int cli_fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_vmessage("kidx: ", fmt, ap);
  va_end(ap);
  return status;
}

/* Prints "kidx: MESSAGE" as one line on stderr: information, not an
 * error. */
void cli_notice(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_vmessage("kidx: ", fmt, ap);
  va_end(ap);
}

/* Prints "kidx: warning: MESSAGE" as one line on stderr: something was
 * passed over, and the command goes on. */
void cli_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_vmessage("kidx: warning: ", fmt, ap);
  va_end(ap);
}

/* The library's message for a failure, or the status's generic text when
 * the handle has none. */
const char *cli_lib_message(const char *msg, kidx_status st) {
  return msg && *msg ? msg : kidx_strerror(st);
}

double cli_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "15.8 KB": decimal units, as MB/s rates conventionally are. */
void cli_format_size(char *buf, size_t cap, uint64_t bytes) {
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

/* "18,037": a count with thousands separators, for messages read by
 * people (the summary line scripts parse keeps plain digits). */
void cli_format_count(char *buf, size_t cap, uint64_t n) {
  char digits[32];
  int len = snprintf(digits, sizeof digits, "%" PRIu64, n);
  size_t nd = len > 0 ? (size_t)len : 0, out = 0;
  for (size_t i = 0; i < nd && out + 1 < cap; i++) {
    if (i > 0 && (nd - i) % 3 == 0 && out + 2 < cap)
      buf[out++] = ',';
    buf[out++] = digits[i];
  }
  if (cap > 0)
    buf[out] = '\0';
}

bool cli_is_space(unsigned char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' ||
         ch == '\f';
}

/* Joins the QUERY arguments with spaces into one query string. */
char *cli_join_words(char **words, int n) {
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

/* ---------------------------------------------------------------------- */
/* Terminals and colour                                                   */
/* ---------------------------------------------------------------------- */

/* True if fd is a terminal that understands escape sequences (bold,
 * erase to end of line): a tty whose TERM is set and is not "dumb".  An
 * unset TERM counts as dumb, as in ripgrep and ncurses: a real terminal
 * emulator always sets it, and what runs without it (an editor's
 * subprocess buffer, a serial console) may print escapes as garbage. */
bool cli_stream_is_capable_terminal(int fd) {
  if (isatty(fd) != 1)
    return false;
  const char *term = getenv("TERM");
  return term && *term && strcmp(term, "dumb") != 0;
}

/* Whether output to fd may be coloured, for --color MODE.  "always" and
 * "never" are the user's word on this invocation and override the
 * environment, as command-line flags do (no-color.org); "auto" colours a
 * capable terminal unless NO_COLOR is set to a non-empty value (an empty
 * NO_COLOR means unset, per no-color.org). */
bool cli_color_enabled(color_mode mode, int fd) {
  if (mode == COLOR_ALWAYS)
    return true;
  if (mode == COLOR_NEVER)
    return false;
  const char *no_color = getenv("NO_COLOR");
  if (no_color && *no_color)
    return false;
  return cli_stream_is_capable_terminal(fd);
}

/* ---------------------------------------------------------------------- */
/* Paths                                                                  */
/* ---------------------------------------------------------------------- */

/* The current directory, malloc'ed; NULL when it cannot be known (it was
 * removed, or is out of reach). */
char *cli_getcwd(void) {
  for (size_t cap = 256; cap <= ((size_t)1 << 20); cap *= 2) {
    char *buf = malloc(cap);
    if (!buf)
      return NULL;
    if (getcwd(buf, cap))
      return buf;
    free(buf);
    if (errno != ERANGE)
      return NULL;
  }
  return NULL;
}

/* The relative path from directory from to path to, both canonical and
 * absolute, through their deepest common directory: "../z.gz" from
 * /b/corpus/sub to /b/corpus/z.gz.  malloc'ed; NULL when out of memory. */
static char *relative_path(const char *from, const char *to) {
  size_t common = 0; /* length of the common directory, without a slash */
  for (size_t i = 0;; i++) {
    bool end_from = from[i] == '\0' || from[i] == '/';
    bool end_to = to[i] == '\0' || to[i] == '/';
    if (end_from && end_to)
      common = i;
    if (from[i] != to[i] || from[i] == '\0')
      break;
  }
  size_t up = 0;
  for (const char *q = from + common; *q; q++)
    up += *q == '/';
  if (from[1] == '\0')
    up = 0; /* from is "/" itself */
  const char *rest = to + common + (to[common] == '/');
  if (common == 0)
    rest = to + 1;
  size_t rl = strlen(rest);
  char *out = malloc(3 * up + rl + 2);
  if (!out)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < up; i++, n += 3)
    memcpy(out + n, "../", 3);
  memcpy(out + n, rest, rl + 1);
  n += rl;
  if (n == 0)
    strcpy(out, ".");
  else if (rl == 0)
    out[n - 1] = '\0'; /* "..", not "../" */
  return out;
}

/* cli_id_path and cli_id_place: must_exist says whether an id that names
 * no file comes back as it is. */
static char *id_path(const cli *c, const char *id, size_t len,
                     bool must_exist) {
  char *same = malloc(len + 1);
  if (!same)
    return NULL;
  memcpy(same, id, len);
  same[len] = '\0';
  /* The common case costs nothing: ids are relative to the base, and so
   * are paths from it. */
  if (!c->base || !c->cwd || memchr(id, '\0', len) ||
      (strcmp(c->base, c->cwd) == 0 && len > 0 && id[0] != '/'))
    return same;
  char *abs = ids_to_absolute(c->base, id, len);
  struct stat st;
  if (!abs || (must_exist && lstat(abs, &st) != 0)) {
    free(abs);
    return same;
  }
  const char *cwd = c->cwd, *base = c->base;
  char *out;
  if (ids_under(NULL, abs, strlen(abs), cwd) ||
      (ids_under(NULL, abs, strlen(abs), base) &&
       ids_under(NULL, cwd, strlen(cwd), base)))
    out = relative_path(cwd, abs);
  else {
    out = abs;
    abs = NULL;
  }
  free(abs);
  if (!out)
    return same;
  free(same);
  return out;
}

/* The path of the file with document id[0..len), for a person in the
 * current directory to open: relative to it when the file lies under it,
 * or when both lie under the index's base (then with "../" steps, as git
 * shows paths in a repository); absolute otherwise.  An id that names no
 * file -- from --jsonl, or of a file since removed -- comes back as it is,
 * as does every id when the base or the current directory is unknown.
 * malloc'ed; NULL when out of memory. */
char *cli_id_path(const cli *c, const char *id, size_t len) {
  return id_path(c, id, len, true);
}

/* As cli_id_path, for an id known to be a path (a root), whether or not
 * its file exists now: where it would be, from the current directory. */
char *cli_id_place(const cli *c, const char *id, size_t len) {
  return id_path(c, id, len, false);
}

/* ---------------------------------------------------------------------- */
/* Command-line options                                                   */
/* ---------------------------------------------------------------------- */

const choice STEMMERS[] = {
    {"english", KIDX_STEM_ENGLISH}, {"none", KIDX_STEM_NONE}, {NULL, 0}};
const choice STOPWORD_LISTS[] = {{"english", KIDX_STOPWORDS_ENGLISH},
                                 {"none", KIDX_STOPWORDS_NONE},
                                 {NULL, 0}};
const choice SWITCHES[] = {{"on", 1}, {"off", 0}, {NULL, 0}};

static const choice HIGHLIGHTS[] = {
    {"bold", HL_BOLD}, {"brackets", HL_BRACKETS}, {"none", HL_NONE}, {NULL, 0}};
static const choice COLORS[] = {{"auto", COLOR_AUTO},
                                {"always", COLOR_ALWAYS},
                                {"never", COLOR_NEVER},
                                {NULL, 0}};

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

/* Parses a size in bytes: digits, optionally followed by K, M or G (upper
 * or lower case) for binary units, as in 64K or 256M.  Binary because a
 * memory budget is compared with what malloc hands out, and because "64M"
 * is then exactly the library's default of 64 MiB. */
static bool parse_byte_size(const char *s, size_t *out) {
  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno == ERANGE)
    return false;
  unsigned shift = 0;
  switch (*end) {
  case '\0':
    break;
  case 'K':
  case 'k':
    shift = 10;
    break;
  case 'M':
  case 'm':
    shift = 20;
    break;
  case 'G':
  case 'g':
    shift = 30;
    break;
  default:
    return false;
  }
  if (*end != '\0' && end[1] != '\0')
    return false;
  if (v > (SIZE_MAX >> shift))
    return false;
  *out = (size_t)v << shift;
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
const char *cli_choice_name(const choice *table, int value) {
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
  return cli_fail(ST_USAGE, "%s expects %s, got '%s'", spelled, list, arg);
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
      return cli_fail(ST_USAGE, "%s expects a number from 0 to 1e6, got '%s'",
                      spelled, arg);
    o->have_k1 = true;
    break;
  case OPT_B:
    if (!parse_double(arg, &o->b) || o->b < 0 || o->b > 1)
      return cli_fail(ST_USAGE, "%s expects a number from 0 to 1, got '%s'",
                      spelled, arg);
    o->have_b = true;
    break;
  case OPT_TITLE_WEIGHT:
  case OPT_BODY_WEIGHT: {
    double w;
    if (!parse_double(arg, &w) || w < 0 || w > MAX_PARAM)
      return cli_fail(ST_USAGE, "%s expects a number from 0 to 1e6, got '%s'",
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
      return cli_fail(ST_USAGE, "%s expects a non-negative integer, got '%s'",
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
  case OPT_VIMGREP:
    o->vimgrep = true;
    break;
  case OPT_COUNT:
    o->count = true;
    break;
  case OPT_BATCH:
    if (*arg == '\0')
      return cli_fail(ST_USAGE,
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
    return cli_fail(ST_USAGE,
                    "%s expects a file, or - for standard input, got ''",
                    spelled);
  for (size_t i = 0; i < a->njsonl; i++)
    if (strcmp(arg, "-") == 0 && strcmp(a->jsonl[i], "-") == 0)
      return cli_fail(ST_USAGE, "%s - (standard input) given twice", spelled);
  const char **grown = realloc(a->jsonl, (a->njsonl + 1) * sizeof *grown);
  if (!grown)
    return cli_fail(ST_USAGE, "out of memory");
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
  case OPT_TITLE:
    a->title = true;
    break;
  case OPT_JSON_ID:
    a->json_id = true;
    break;
  case OPT_INDEX:
    if (*arg == '\0')
      return cli_fail(ST_USAGE, "%s expects a directory, got ''", spelled);
    a->index = arg;
    break;
  case OPT_LIMIT:
    if (!parse_size(arg, &a->limit) || a->limit == 0)
      return cli_fail(ST_USAGE, "%s expects a positive integer, got '%s'",
                      spelled, arg);
    a->have_limit = true;
    break;
  case OPT_OFFSET:
    if (!parse_size(arg, &a->offset))
      return cli_fail(ST_USAGE, "%s expects a non-negative integer, got '%s'",
                      spelled, arg);
    break;
  case OPT_RANK:
    if (strcmp(arg, "tfidf") == 0)
      a->rank = KIDX_RANK_TFIDF;
    else if (strcmp(arg, "bm25") == 0)
      a->rank = KIDX_RANK_BM25;
    else
      return cli_fail(ST_USAGE, "%s expects 'tfidf' or 'bm25', got '%s'",
                      spelled, arg);
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
  case OPT_COLOR: {
    int v;
    if (!parse_choice(COLORS, arg, &v))
      return bad_choice(COLORS, spelled, arg);
    a->color = (color_mode)v;
    break;
  }
  case OPT_PRUNE:
    a->prune = true;
    break;
  case OPT_FORGET:
    a->forget = true;
    break;
  case OPT_HIDDEN:
    a->hidden = true;
    break;
  case OPT_NO_IGNORE:
    a->no_ignore = true;
    break;
  case OPT_QUIET:
    a->verbosity = -1;
    break;
  case OPT_VERBOSE:
    a->verbosity = 1;
    break;
  case OPT_RAM_BUDGET:
    /* The library refuses less than its minimum as well; checking here
     * makes it a usage error before the index is touched. */
    if (!parse_byte_size(arg, &a->ram_budget) ||
        a->ram_budget < KIDX_MIN_RAM_BUDGET)
      return cli_fail(ST_USAGE,
                      "%s expects a size of at least %uK (bytes, or a number "
                      "with K, M or G), got '%s'",
                      spelled, (unsigned)(KIDX_MIN_RAM_BUDGET / 1024), arg);
    a->have_ram_budget = true;
    break;
  case OPT_MERGE_FACTOR: {
    size_t f;
    if (!parse_size(arg, &f) || f < 2 || f > 1000)
      return cli_fail(ST_USAGE,
                      "%s expects an integer from 2 to 1000, got '%s'", spelled,
                      arg);
    a->merge_factor = (unsigned)f;
    a->have_merge_factor = true;
    break;
  }
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

/* The option of specs that arg (starting with '-') names, or NULL; *value
 * is set to an attached value (--limit=3, -k3) or NULL.  Long options must
 * be spelled in full. */
static const opt_spec *find_option(const opt_spec *specs, const char *arg,
                                   const char **value) {
  const opt_spec *spec = NULL;
  *value = NULL;
  if (arg[1] == '-') {
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
    for (const opt_spec *s = specs; s->long_name; s++)
      if (strlen(s->long_name) == name_len &&
          strncmp(s->long_name, name, name_len) == 0)
        spec = s;
    if (spec && eq)
      *value = eq + 1;
  } else {
    for (const opt_spec *s = specs; s->long_name; s++)
      if (s->short_name && s->short_name == arg[1])
        spec = s;
    if (spec && arg[2] != '\0') {
      if (!spec->has_arg)
        return NULL; /* -hx: no clustering of flags */
      *value = arg + 2;
    }
  }
  return spec;
}

/* Appends s to buf[*len..cap) as one shell word: quoted with '...' unless
 * it is made of characters no shell treats specially, so that the command
 * a hint shows can be pasted back.  Sets *len past cap when it does not
 * fit. */
static void append_shell_word(char *buf, size_t cap, size_t *len,
                              const char *s) {
  bool plain = *s != '\0';
  for (const char *p = s; *p && plain; p++)
    plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-_./:=+,@%^", *p) != NULL;
  const char *sep = *len > 0 ? " " : "";
  for (const char *p = sep; *p && *len < cap; p++)
    buf[(*len)++] = *p;
  if (!plain && *len < cap)
    buf[(*len)++] = '\'';
  for (const char *p = s; *p && *len < cap; p++) {
    if (*p == '\'') { /* ' ends the quote: '\'' is a quoted quote */
      for (const char *q = "'\\''"; *q && *len < cap; q++)
        buf[(*len)++] = *q;
    } else {
      buf[(*len)++] = *p;
    }
  }
  if (!plain && *len < cap)
    buf[(*len)++] = '\'';
  if (*len >= cap)
    *len = cap + 1;
}

/* The usage error for an unknown option such as -russia given to a
 * command whose arguments (`word`: "a query word") may start with '-':
 * most likely a word meant as one, so the message shows where '--' goes,
 * with the command line rewritten: its options first, then '--', then
 * its other arguments in their order.  args[0..argc) is the command's
 * command line as given; of the global options before the command, only
 * the index matters to the command, so global_index (NULL when -i was
 * not given there) is kept before it as "-i DIR": the command shown must
 * search the index the user meant. */
static int unknown_dash_word(const opt_spec *specs, const char *cmd,
                             const char *word, const char *bad,
                             char *const *args, int argc,
                             const char *global_index) {
  char global[512], opts[512], words[512];
  size_t glen = 0, olen = 0, wlen = 0;
  if (global_index) {
    append_shell_word(global, sizeof global, &glen, "-i");
    append_shell_word(global, sizeof global, &glen, global_index);
    if (glen < sizeof global)
      global[glen++] = ' ';
  }
  bool only_words = false;
  for (int i = 0; args && i < argc; i++) {
    const char *arg = args[i], *value;
    const opt_spec *spec = NULL;
    if (!only_words && strcmp(arg, "--") == 0) {
      only_words = true;
      continue;
    }
    if (!only_words && arg[0] == '-' && arg[1] != '\0')
      spec = find_option(specs, arg, &value);
    if (!spec) {
      append_shell_word(words, sizeof words, &wlen, arg);
      continue;
    }
    append_shell_word(opts, sizeof opts, &olen, arg);
    if (spec->has_arg && !value && i + 1 < argc)
      append_shell_word(opts, sizeof opts, &olen, args[++i]);
  }
  if (!args || glen > sizeof global || olen > sizeof opts ||
      wlen > sizeof words)
    return cli_fail(ST_USAGE,
                    "unknown option '%s' (%s starting with '-' goes after "
                    "'--')",
                    bad, word);
  return cli_fail(ST_USAGE,
                  "unknown option '%s' (%s starting with '-' goes after "
                  "'--': kidx %.*s%s%s%.*s -- %.*s)",
                  bad, word, (int)glen, global, cmd, olen ? " " : "", (int)olen,
                  opts, (int)wlen, words);
}

/* Parses argv[0..argc) against specs.  Options may come before, between
 * or after positional arguments ("kidx search foo -k 3"); "--" ends the
 * options, so a query word may start with '-'.  Accepted forms: -k 3, -k3,
 * --limit 3, --limit=3.  With stop_at_positional, parsing ends at the
 * first positional argument (the command name, for the global options).
 * Positional arguments are compacted to the front of argv and recorded in
 * a->pos.  cmd names the command in messages (NULL for the global ones).
 * word, when not NULL, says what the command's arguments are ("a query
 * word"), for commands where one may start with '-': an unknown option
 * such as -russia then gets a hint to put it after "--". */
int cli_parse_options(int argc, char **argv, const opt_spec *specs,
                      const char *cmd, const char *word,
                      bool stop_at_positional, cli_args *a) {
  char hint[64];
  int npos = 0, i = 0;
  bool only_positional = false;
  /* For a command, an index already set is the global -i (main.c copies
   * it in before parsing the command's options). */
  const char *global_index = cmd ? a->index : NULL;
  help_hint(hint, sizeof hint, cmd);
  /* The command line as given, for unknown_dash_word's rewritten one:
   * compacting the positional arguments overwrites argv.  Without memory
   * the hint just goes without the example. */
  char **given = NULL;
  if (word && argc > 0 && (given = malloc((size_t)argc * sizeof *given)))
    memcpy(given, argv, (size_t)argc * sizeof *given);
  int rc = ST_OK;
  for (; i < argc && rc == ST_OK; i++) {
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
    const char *value; /* attached value: --limit=3, -k3 */
    const opt_spec *spec = find_option(specs, arg, &value);
    char spelled[64];
    if (!spec && arg[1] == '-') {
      size_t name_len = strcspn(arg, "=");
      rc = cli_fail(ST_USAGE, "unknown option '%.*s'%s%s%s (%s)", (int)name_len,
                    arg, cmd ? " for '" : "", cmd ? cmd : "", cmd ? "'" : "",
                    hint);
      break;
    }
    if (!spec) {
      /* "-russia" reads as a word; "-z" as a mistyped option. */
      if (word && arg[2] != '\0')
        rc =
            unknown_dash_word(specs, cmd, word, arg, given, argc, global_index);
      else
        rc =
            cli_fail(ST_USAGE, "unknown option '%s'%s%s%s (%s)", arg,
                     cmd ? " for '" : "", cmd ? cmd : "", cmd ? "'" : "", hint);
      break;
    }
    if (arg[1] == '-')
      snprintf(spelled, sizeof spelled, "--%s", spec->long_name);
    else
      snprintf(spelled, sizeof spelled, "-%c", spec->short_name);
    if (value && !spec->has_arg) {
      rc = cli_fail(ST_USAGE, "option '%s' takes no value (%s)", spelled, hint);
      break;
    }
    if (spec->has_arg && !value) {
      if (i + 1 >= argc) {
        rc =
            cli_fail(ST_USAGE, "option '%s' needs a value (%s)", spelled, hint);
        break;
      }
      value = argv[++i];
    }
    rc = apply_option(a, spec->id, spelled, value);
  }
  free(given);
  if (rc != ST_OK)
    return rc;
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
/* Opening the index                                                      */
/* ---------------------------------------------------------------------- */

/* Opens the index for reading, turning library failures into the CLI's
 * messages and exit statuses.  On failure returns ST_INDEX and *out is
 * NULL. */
int cli_open_reader(const cli *c, kidx_reader **out) {
  kidx_reader *r = NULL;
  *out = NULL;
  kidx_status st = kidx_reader_new(&r);
  if (st != KIDX_OK)
    return cli_fail(ST_INDEX, "cannot open index at %s: %s", c->index_dir,
                    kidx_strerror(st));
  st = kidx_reader_open(r, c->index_dir);
  if (st != KIDX_OK) {
    if (st == KIDX_ENOINDEX)
      cli_fail(ST_INDEX, "no index at %s (run 'kidx index corpus/' first)",
               c->index_dir);
    else
      cli_fail(ST_INDEX, "index at %s is unusable: %s", c->index_dir,
               cli_lib_message(kidx_reader_errmsg(r), st));
    kidx_reader_close(r);
    return ST_INDEX;
  }
  *out = r;
  return ST_OK;
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
 * an, when not NULL, is the analysis asked for on the command line; a's
 * --ram-budget and --merge-factor, when given, are set too, like the
 * analysis before the open (settings first, then open, as with any
 * handle).  With a->wait, a lock held by another writer is waited for
 * (saying so once on a terminal) instead of being an error. */
int cli_open_writer(const cli *c, const kidx_analyzer *an, const cli_args *a,
                    kidx_writer **out) {
  kidx_writer *w = NULL;
  *out = NULL;
  kidx_status st;
  unsigned delay = WAIT_FIRST_MS;
  bool told = false;
  for (;;) {
    st = kidx_writer_new(&w);
    if (st != KIDX_OK)
      return cli_fail(ST_INDEX, "cannot open index at %s: %s", c->index_dir,
                      kidx_strerror(st));
    if (an)
      st = kidx_writer_set_analyzer(w, an);
    if (st == KIDX_OK && a->have_ram_budget)
      st = kidx_writer_set_ram_budget(w, a->ram_budget);
    if (st == KIDX_OK && a->have_merge_factor)
      st = kidx_writer_set_merge_factor(w, a->merge_factor);
    if (st == KIDX_OK)
      st = kidx_writer_open(w, c->index_dir);
    if (st != KIDX_EBUSY || !a->wait)
      break;
    kidx_writer_close(w);
    w = NULL;
    if (!told && isatty(STDERR_FILENO) == 1) {
      cli_notice("waiting for another writer to finish with the index at %s",
                 c->index_dir);
      told = true;
    }
    sleep_ms(delay);
    delay = delay * 2 > WAIT_MAX_MS ? WAIT_MAX_MS : delay * 2;
  }
  if (st != KIDX_OK) {
    const char *msg = cli_lib_message(kidx_writer_errmsg(w), st);
    /* EINVAL: the analysis asked for is not the index's.  index_analyzer()
     * has checked already, so this is an index created since then; the
     * library's message names the index and the settings.  (A RAM budget
     * or merge factor the library refuses would be EINVAL too, but option
     * parsing checked them against the same limits.) */
    int status = ST_INDEX;
    if (st == KIDX_EINVAL)
      status = cli_fail(ST_USAGE, "%s", msg);
    else if (st == KIDX_EBUSY)
      cli_fail(ST_INDEX,
               "index at %s is locked by another writer; try again when it "
               "has finished, or use --wait",
               c->index_dir);
    else if (st == KIDX_ECORRUPT || st == KIDX_EFORMAT)
      cli_fail(ST_INDEX, "index at %s is unusable: %s", c->index_dir, msg);
    else
      cli_fail(ST_INDEX, "cannot open index at %s: %s", c->index_dir, msg);
    kidx_writer_close(w);
    return status;
  }
  *out = w;
  return ST_OK;
}

/* ---------------------------------------------------------------------- */
/* Analysis settings                                                      */
/* ---------------------------------------------------------------------- */

bool cli_have_analyzer_opts(const analyzer_opts *o) {
  return o->have_stem || o->have_stopwords || o->have_diacritics;
}

void cli_apply_analyzer_opts(const analyzer_opts *o, kidx_analyzer *an) {
  if (o->have_stem)
    an->stemmer = o->stem;
  if (o->have_stopwords)
    an->stopwords = o->stopwords;
  if (o->have_diacritics)
    an->fold_diacritics = o->diacritics;
}

/* Reads the analysis of an open index into *out.  Initialised first:
 * `size` tells the library how much of *out this tool knows about. */
int cli_read_index_analyzer(const cli *c, const kidx_reader *r,
                            kidx_analyzer *out) {
  kidx_analyzer_init(out);
  kidx_status st = kidx_reader_analyzer(r, out);
  if (st != KIDX_OK)
    return cli_fail(ST_INDEX, "index at %s is unusable: %s", c->index_dir,
                    cli_lib_message(kidx_reader_errmsg(r), st));
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
void cli_analyzer_diff(const kidx_analyzer *a, const kidx_analyzer *b,
                       char *a_buf, char *b_buf, size_t cap) {
  a_buf[0] = b_buf[0] = '\0';
  if (a->stemmer != b->stemmer) {
    append_setting(a_buf, cap, "--stem", cli_choice_name(STEMMERS, a->stemmer));
    append_setting(b_buf, cap, "--stem", cli_choice_name(STEMMERS, b->stemmer));
  }
  if (a->stopwords != b->stopwords) {
    append_setting(a_buf, cap, "--stopwords",
                   cli_choice_name(STOPWORD_LISTS, a->stopwords));
    append_setting(b_buf, cap, "--stopwords",
                   cli_choice_name(STOPWORD_LISTS, b->stopwords));
  }
  if (!a->fold_diacritics != !b->fold_diacritics) {
    append_setting(a_buf, cap, "--diacritics",
                   cli_choice_name(SWITCHES, a->fold_diacritics != 0));
    append_setting(b_buf, cap, "--diacritics",
                   cli_choice_name(SWITCHES, b->fold_diacritics != 0));
  }
}
