/*
 * cli_cmd_search.c -- kidx search: running queries and printing their hits.
 *
 * This file owns the search command: turning the options into the
 * library's search settings, one query or a --batch of them, and the
 * output of hits, as text (titles, scores, highlighted snippets and the
 * --explain table of score shares), as JSON, or as --vimgrep lines
 * pointing into the documents' files.
 */
#include "cli.h"

#include "json.h"
#include "lines.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Why a hit has no --vimgrep line: each kind is warned about up to
 * VIM_WARN_LIMIT times, then only counted, and vim_warn_summary() ends
 * the command with one line per kind that had more (as kidx index
 * rations its warnings): a search of a tree that changed a lot must not
 * bury its hits under warnings. */
typedef enum vim_skip {
  VIM_BAD_ID,     /* a newline or NUL in the id */
  VIM_GONE,       /* the file was removed */
  VIM_UNREADABLE, /* it cannot be read, or is not a regular file */
  VIM_CHANGED,    /* it no longer holds the text indexed */
  VIM_SKIP_KINDS
} vim_skip;

/* One search command: the options, the open index and the results object
 * reused by every query of a batch. */
typedef struct search_run {
  const cli *c;
  const cli_args *a;
  kidx_reader *r;
  kidx_results *res;
  kidx_document *doc; /* --vimgrep: each hit's stored text, reused */
  unsigned long vim_skipped[VIM_SKIP_KINDS]; /* --vimgrep: hits skipped */
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
    if (cli_is_space(p[i])) {
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
    i += cli_put_char(f, p + i, sn->len - i);
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
 * cli_put_text); `share` is the share already formatted. */
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
    cli_put_text(stdout, e->term, e->term_len);
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
    json_put_id(stdout, id ? id : "", id ? id_len : 0);
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
    cli_put_text(stdout, id ? id : "", id ? id_len : 0);
    for (size_t pad = id ? text_width(id, id_len) : 0; pad < id_w; pad++)
      putchar(' ');
    fputs("  ", stdout);
    cli_put_text(stdout, title ? title : "", title ? title_len : 0);
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

/* ---- --vimgrep: path:line:column:text ---- */

/* Where a hit points: a 1-based line and byte column, and that line's
 * text (in the file or the stored text, without its newline). */
typedef struct vim_pos {
  size_t line, column;
  const char *text;
  size_t text_len;
} vim_pos;

/* Reads the regular file at path whole into *out; false if it cannot be
 * read or is not a regular file, with the reason in *err (an errno value;
 * EISDIR or EINVAL for what is not a regular file).  O_NONBLOCK: an id
 * naming a FIFO must not hang the search waiting for a writer (it is
 * refused once fstat says what it is; for a regular file the flag changes
 * nothing). */
static bool read_regular_file(const char *path, byte_buf *out, int *err) {
  out->p = NULL;
  out->n = out->cap = 0;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *err = errno;
    close(fd);
    return false;
  }
  if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
      (uint64_t)st.st_size >= SIZE_MAX) {
    *err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    close(fd);
    return false;
  }
  size_t cap = (size_t)st.st_size + 1; /* +1 to see EOF at once */
  out->p = malloc(cap);
  out->cap = cap;
  bool ok = out->p != NULL;
  *err = ok ? 0 : ENOMEM;
  while (ok) {
    if (out->n == out->cap) { /* the file grew while being read */
      char *grown = realloc(out->p, out->cap * 2);
      if (!grown) {
        *err = ENOMEM;
        ok = false;
        break;
      }
      out->p = grown;
      out->cap *= 2;
    }
    ssize_t got = read(fd, out->p + out->n, out->cap - out->n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      *err = errno;
      ok = false;
    }
    if (got <= 0)
      break;
    out->n += (size_t)got;
  }
  close(fd);
  if (!ok) {
    free(out->p);
    out->p = NULL;
    out->n = out->cap = 0;
  }
  return ok;
}

/* The line of text[0..len) that holds byte `at` (at <= len): its number
 * counted from first_line, the column of `at` in it, and its text without
 * the newline (nor a '\r' before it: a CRLF file's lines end at the '\r'
 * for an editor too). */
static void line_of(const char *text, size_t len, size_t at, size_t first_line,
                    vim_pos *pos) {
  size_t line = first_line, start = 0;
  for (size_t i = 0; i < at; i++)
    if (text[i] == '\n') {
      line++;
      start = i + 1;
    }
  const char *nl = memchr(text + at, '\n', len - at);
  size_t end = nl ? (size_t)(nl - text) : len;
  if (end > start && text[end - 1] == '\r')
    end--;
  pos->line = line;
  pos->column = at - start + 1;
  pos->text = text + start;
  pos->text_len = end - start;
}

/* The byte offset in the body of the hit's first matched word, or false
 * when the snippet marks none (a title-only match).  Highlights are
 * trusted only when sane, as in put_passage. */
static bool first_match(const kidx_snippet *sn, size_t body_len, size_t *at) {
  for (size_t h = 0; sn && sn->highlights && h < sn->nhighlights; h++) {
    const kidx_span *sp = &sn->highlights[h];
    if (sp->start < sp->end && sp->end <= sn->len && sn->offset <= body_len &&
        sp->start < body_len - sn->offset) {
      *at = sn->offset + sp->start;
      return true;
    }
  }
  return false;
}

/* The UTF-8 byte order mark: kidx index leaves it out of the title, and
 * editors do not show it as part of line 1 (vim keeps it in 'bomb'). */
#define BOM     "\xEF\xBB\xBF"
#define BOM_LEN 3

/* Places the hit in the file f, if f still holds the text indexed: the
 * body is everything after the title's line, so it is the file's tail,
 * and a body offset is a file offset past the head (title, blank lines,
 * byte order mark).  A title-only match points at the title's line, the
 * head's first non-blank one.  A byte order mark is not counted in line
 * 1's columns nor shown in its text, as an editor shows that line.  False
 * when the file's tail is not the body: it changed since it was
 * indexed. */
static bool place_in_file(const byte_buf *f, const char *body, size_t body_len,
                          bool matched, size_t at, vim_pos *pos) {
  if (f->n < body_len || memcmp(f->p + (f->n - body_len), body, body_len) != 0)
    return false;
  size_t head = f->n - body_len;
  bool bom = f->n >= BOM_LEN && memcmp(f->p, BOM, BOM_LEN) == 0;
  if (!matched) {
    /* With no title in the head, the body's start. */
    size_t i = bom && head >= BOM_LEN ? BOM_LEN : 0;
    while (i < head && cli_is_space((unsigned char)f->p[i]))
      i++;
    at = i;
  } else {
    at += head;
  }
  line_of(f->p, f->n, at, 1, pos);
  if (bom && pos->line == 1 && at >= BOM_LEN) {
    pos->column -= BOM_LEN;
    pos->text += BOM_LEN;
    pos->text_len -= BOM_LEN;
  }
  return true;
}

/* Places the hit in the stored text, laid out as the title on line 1 and
 * the body from line 2: for documents that never were files (--jsonl). */
static void place_in_stored(const char *title, size_t title_len,
                            const char *body, size_t body_len, bool matched,
                            size_t at, vim_pos *pos) {
  if (matched) {
    line_of(body, body_len, at, 2, pos);
    return;
  }
  /* A --jsonl title may hold a newline; line 1 ends there. */
  const char *nl = memchr(title, '\n', title_len);
  pos->line = 1;
  pos->column = 1;
  pos->text = title;
  pos->text_len = nl ? (size_t)(nl - title) : title_len;
  if (pos->text_len > 0 && title[pos->text_len - 1] == '\r')
    pos->text_len--;
}

#define VIM_WARN_LIMIT 5

static const char *const VIM_SKIP_WHAT[VIM_SKIP_KINDS] = {
    "whose ids hold a newline or NUL", "whose files were removed",
    "whose files cannot be read",
    "whose files changed since they were "
    "indexed (run 'kidx index')"};

static void vim_skip_warn(search_run *s, vim_skip kind, const char *fmt, ...)
    CLI_PRINTF(3, 4);
static void vim_skip_warn(search_run *s, vim_skip kind, const char *fmt, ...) {
  if (s->vim_skipped[kind]++ >= VIM_WARN_LIMIT)
    return;
  va_list ap;
  va_start(ap, fmt);
  cli_vmessage("kidx: warning: ", fmt, ap);
  va_end(ap);
}

static void vim_warn_summary(const search_run *s) {
  for (int k = 0; k < VIM_SKIP_KINDS; k++)
    if (s->vim_skipped[k] > VIM_WARN_LIMIT)
      cli_warn("skipped %lu more hits %s", s->vim_skipped[k] - VIM_WARN_LIMIT,
               VIM_SKIP_WHAT[k]);
}

/* Writes a path or a line of text: as the bytes they are into a pipe (an
 * editor must get the file's real name, and the line as it is, as grep
 * writes them), and on a terminal with control characters (but tabs)
 * shown as '?' and invalid UTF-8 as U+FFFD (cli_put_char), so that a
 * file's escape sequences cannot reprogram the terminal. */
static void put_vim_text(const char *text, size_t len, bool terminal) {
  if (!terminal) {
    fwrite(text, 1, len, stdout);
    return;
  }
  const unsigned char *p = (const unsigned char *)text;
  for (size_t i = 0; i < len;) {
    if (p[i] == '\t') {
      putchar('\t');
      i++;
    } else {
      i += cli_put_char(stdout, p + i, len - i);
    }
  }
}

/* Where hit i's line is, for a document whose stored text is in s->doc:
 * in its file, or, for a document that never was a file, in the stored
 * text.  *path receives the file's path (malloc'ed, or NULL when out of
 * memory); false, with a warning, when the hit has no line to point at
 * (vim_skip), and then *file is freed.
 *
 * A document indexed from a file has a stamp (stamps.h): the file must
 * still be the one indexed, else its lines are not the lines the hit was
 * found in, and pointing an editor there would send it to the wrong
 * place.  So the file is read, and the hit skipped if it is gone,
 * unreadable, or changed: its size or content hash differs from the
 * stamp (a file that was only touched keeps its place), or, as a last
 * check, its tail is not the stored body.  A document without a stamp
 * (--jsonl) is placed in its file only if one holds its text, else in
 * the stored text, where a title on line 1 and the body from line 2
 * make up the lines. */
static bool place_hit(search_run *s, size_t i, char **path, byte_buf *file,
                      vim_pos *pos) {
  size_t id_len, title_len, body_len, at = 0;
  const char *id = kidx_document_id(s->doc, &id_len);
  const char *title = kidx_document_title(s->doc, &title_len);
  const char *body = kidx_document_body(s->doc, &body_len);
  kidx_stamp stamp;
  kidx_document_stamp(s->doc, &stamp);
  bool stamped = stamp.size != 0 || stamp.mtime_ns != 0 || stamp.hash != 0;
  bool matched = first_match(kidx_results_snippet(s->res, i), body_len, &at);
  *path = cli_id_path(s->c, id, id_len);
  if (!*path) {
    vim_skip_warn(s, VIM_UNREADABLE, "skipped a hit: out of memory");
    return false;
  }
  const char *name = *path;
  int err = 0;
  if (!read_regular_file(name, file, &err)) {
    if (!stamped) {
      place_in_stored(title, title_len, body, body_len, matched, at, pos);
      return true;
    }
    if (err == ENOENT || err == ENOTDIR)
      vim_skip_warn(s, VIM_GONE, "skipped a hit in %s: the file was removed",
                    name);
    else
      vim_skip_warn(s, VIM_UNREADABLE,
                    "skipped a hit in %s: cannot read it: %s", name,
                    strerror(err));
    return false;
  }
  bool same = !stamped || (file->n == stamp.size &&
                           kidx_stamp_hash(file->p, file->n) == stamp.hash);
  if (same && place_in_file(file, body, body_len, matched, at, pos))
    return true;
  vim_skip_warn(s, VIM_CHANGED,
                "skipped a hit in %s: the file changed since it was indexed "
                "(run 'kidx index')",
                name);
  free(file->p);
  file->p = NULL;
  return false;
}

/* One line per hit, path:line:column:text, as grep -n and ripgrep's
 * --vimgrep print them, for an editor's quickfix list (vim -q).  The
 * line is that of the hit's first matched word in the passage (its
 * offset is into the stored body, fetched with kidx_reader_get), placed
 * in the hit's file (see place_hit).  LINE and COLUMN count from 1,
 * COLUMN in bytes.  An id holding a newline or NUL cannot be written as
 * a path on such a line: that hit is skipped with a warning.  Returns
 * ST_OK, or ST_INDEX when a hit's document cannot be read. */
static int print_hits_vimgrep(search_run *s) {
  const kidx_results *res = s->res;
  size_t n = kidx_results_count(res);
  bool terminal = isatty(STDOUT_FILENO) == 1;
  for (size_t i = 0; i < n; i++) {
    size_t id_len = 0;
    const char *id = kidx_results_id(res, i, &id_len);
    if (!id)
      continue;
    if (memchr(id, '\n', id_len) || memchr(id, '\0', id_len)) {
      /* The message shows what a terminal can: ? for the newline. */
      vim_skip_warn(s, VIM_BAD_ID,
                    "skipped a hit: its id '%.*s' holds a newline or NUL, "
                    "which a PATH:LINE:COLUMN line cannot hold",
                    (int)id_len, id);
      continue;
    }
    kidx_status st = kidx_reader_get(s->r, id, id_len, s->doc);
    if (st != KIDX_OK)
      return cli_fail(ST_INDEX, "index at %s is unusable: %s", s->c->index_dir,
                      cli_lib_message(kidx_document_errmsg(s->doc), st));
    char *path = NULL;
    byte_buf file = {NULL, 0, 0};
    vim_pos pos;
    if (place_hit(s, i, &path, &file, &pos)) {
      put_vim_text(path, strlen(path), terminal);
      printf(":%zu:%zu:", pos.line, pos.column);
      put_vim_text(pos.text, pos.text_len, terminal);
      putchar('\n');
    }
    free(file.p);
    free(path);
  }
  return ST_OK;
}

/* Reports a query error as one line on stderr: "kidx: [line N: ]query
 * error at column C: what".  The library's message already reads "query
 * error at column C: what" when the error is at a place; an error that is
 * not ("no searchable words") gets the "query error: " prefix here. */
static void query_error(const kidx_results *res, kidx_status st,
                        uint64_t lineno) {
  static const char prefix[] = "query error";
  const char *msg = cli_lib_message(kidx_results_errmsg(res), st);
  size_t column = kidx_results_error_column(res);
  char where[48] = "";
  if (lineno > 0)
    snprintf(where, sizeof where, "line %" PRIu64 ": ", lineno);
  if (strncmp(msg, prefix, sizeof prefix - 1) == 0)
    cli_fail(ST_USAGE, "%s%s", where, msg);
  else if (column > 0)
    cli_fail(ST_USAGE, "%squery error at column %zu: %s", where, column, msg);
  else
    cli_fail(ST_USAGE, "%squery error: %s", where, msg);
}

/* Says on stderr why nothing was printed, for a person at a terminal: an
 * empty screen and a silent prompt read as "did it even run?".  Into a
 * pipe stdout stays empty and stderr quiet, as scripts expect (they test
 * the exit status).  Past the last hit, the total tells the user how far
 * --offset may go. */
static void report_no_hits(const search_run *s) {
  uint64_t total = kidx_results_total(s->res);
  if (total == 0) {
    cli_notice("no matching documents");
    return;
  }
  cli_notice("no hits at offset %zu: %s%" PRIu64 " matching document%s",
             s->opt.offset,
             kidx_results_total_is_exact(s->res) ? "" : "at least ", total,
             total == 1 ? "" : "s");
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
    *fatal = cli_fail(ST_USAGE, "%s",
                      cli_lib_message(kidx_results_errmsg(s->res), st));
    return Q_FATAL;
  }
  if (st != KIDX_OK) {
    *fatal = cli_fail(ST_INDEX, "index at %s is unusable: %s", s->c->index_dir,
                      cli_lib_message(kidx_results_errmsg(s->res), st));
    return Q_FATAL;
  }
  size_t n = kidx_results_count(s->res);
  if (s->a->json) {
    print_hits_json(s, lineno);
  } else if (s->a->search.vimgrep) {
    /* No "# line N" blocks with --batch: every line stays a hit. */
    int rc = print_hits_vimgrep(s);
    if (rc != ST_OK) {
      *fatal = rc;
      return Q_FATAL;
    }
    if (n == 0 && !s->batch && isatty(STDOUT_FILENO) == 1)
      report_no_hits(s);
  } else if (s->batch) {
    /* Every query gets its block, hits or not, so the output can be read
     * against the query file. */
    if (s->blocks++ > 0)
      putchar('\n');
    printf("# line %" PRIu64 ": ", lineno);
    cli_put_text(stdout, query, len);
    putchar('\n');
    print_hits_text(s);
  } else if (n > 0) {
    print_hits_text(s);
  } else if (isatty(STDOUT_FILENO) == 1) {
    report_no_hits(s);
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
      rc = cli_fail(ST_INPUT, "cannot read %s: %s", name, strerror(err));
      break;
    }
    if (ls == LINE_TOO_LONG) {
      cli_fail(ST_USAGE, "line %" PRIu64 ": query longer than %zu bytes",
               lr.lineno, BATCH_MAX_LINE);
      any_bad = true;
      continue;
    }
    size_t k = 0;
    while (k < len && cli_is_space((unsigned char)line[k]))
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
    return cli_fail(ST_USAGE, "--k1 and --b are parameters of BM25: add --rank "
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
    return cli_fail(ST_USAGE,
                    "--title-weight and --body-weight cannot both be 0 "
                    "(no word would count)");
  if (so->have_snippet_words)
    opt->snippet_words = so->snippet_words;
  opt->explain = so->explain;
  opt->exact_total = so->count;
  return ST_OK;
}

/* The markers of matched words: --highlight's, else bold when colour is
 * on (cli_color_enabled) and brackets when it is off.  --color never
 * promises no escape sequences at all, so it turns an explicit bold into
 * brackets (the words stay marked) rather than either flag being ignored
 * or the pair being an error.  An explicit bold with --color auto stays
 * bold even into a pipe (for `| less -R`), as before --color existed. */
static highlight_mode resolve_highlight(const cli_args *a) {
  highlight_mode hl = a->search.highlight;
  if (hl == HL_AUTO)
    return cli_color_enabled(a->color, STDOUT_FILENO) ? HL_BOLD : HL_BRACKETS;
  if (hl == HL_BOLD && a->color == COLOR_NEVER)
    return HL_BRACKETS;
  return hl;
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
    return cli_fail(e == ENOENT || e == ENOTDIR ? ST_USAGE : ST_INPUT,
                    "cannot read %s: %s", path, strerror(e));
  }
  if (fstat(f, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(f);
    return cli_fail(ST_USAGE, "cannot read %s: %s", path, strerror(EISDIR));
  }
  *fd = f;
  return ST_OK;
}

int cli_cmd_search(const cli *c, const cli_args *a) {
  const search_opts *so = &a->search;
  if (so->batch && a->npos > 0)
    return cli_fail(ST_USAGE,
                    "search takes QUERY arguments or --batch, not both "
                    "(see 'kidx search --help')");
  if (!so->batch && a->npos == 0)
    return cli_fail(ST_USAGE,
                    "search needs a QUERY (see 'kidx search --help')");
  /* --vimgrep is an output format of its own: the others cannot share its
   * lines, and it needs the passage to find a hit's line. */
  if (so->vimgrep && (a->json || so->explain))
    return cli_fail(ST_USAGE, "--vimgrep and %s cannot be combined",
                    a->json ? "--json" : "--explain");
  if (so->vimgrep && so->have_snippet_words && so->snippet_words == 0)
    return cli_fail(ST_USAGE, "--vimgrep needs passages: --snippet-words "
                              "must be at least 1");
  search_run s;
  memset(&s, 0, sizeof s);
  s.c = c;
  s.a = a;
  s.batch = so->batch != NULL;
  s.hl = resolve_highlight(a);
  int rc = search_settings(a, &s.opt);
  if (rc != ST_OK)
    return rc;
  int fd;
  rc = open_batch(so->batch, &fd);
  if (rc != ST_OK)
    return rc;
  char *query = s.batch ? NULL : cli_join_words(a->pos, a->npos);
  if (!s.batch && !query)
    rc = cli_fail(ST_USAGE, "out of memory");
  if (rc == ST_OK)
    rc = cli_open_reader(c, &s.r);
  if (rc == ST_OK && kidx_results_new(&s.res) != KIDX_OK)
    rc = cli_fail(ST_INDEX, "out of memory");
  if (rc == ST_OK && so->vimgrep && !(s.doc = kidx_document_new()))
    rc = cli_fail(ST_INDEX, "out of memory");
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
  vim_warn_summary(&s);
  kidx_document_free(s.doc);
  kidx_results_free(s.res);
  kidx_reader_close(s.r);
  free(query);
  return rc;
}
