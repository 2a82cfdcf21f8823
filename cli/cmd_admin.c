/*
 * cmd_admin.c -- kidx analyze, stats, delete, optimize and check.
 *
 * This file owns the commands that look after an index rather than fill
 * or query it: analyze (the tokens a text becomes under the index's or
 * the given analysis), stats (the index's size, segments and settings),
 * delete (removing documents by id), optimize (merging the index into one
 * segment) and check (verifying the index, as text or JSON).
 */
#include "cli.h"

#include "json.h"
#include "roots.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    int rc = cli_open_reader(c, &r);
    if (rc == ST_OK)
      rc = cli_read_index_analyzer(c, r, out);
    kidx_reader_close(r);
    if (rc != ST_OK)
      return rc;
  }
  cli_apply_analyzer_opts(o, out);
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
      cli_put_text(f, s, len);
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

int cli_cmd_analyze(const cli *c, const cli_args *a) {
  kidx_analyzer an;
  int rc = analyze_settings(c, &a->an, &an);
  if (rc != ST_OK)
    return rc;
  byte_buf text = {NULL, 0, 0};
  if (a->npos > 0) {
    text.p = cli_join_words(a->pos, a->npos);
    if (!text.p)
      return cli_fail(ST_INPUT, "out of memory");
    text.n = strlen(text.p);
  } else {
    int err = read_stdin(&text);
    if (err != 0) {
      free(text.p);
      return cli_fail(ST_INPUT, "cannot read standard input: %s",
                      strerror(err));
    }
  }
  uint64_t count = 0;
  kidx_status st =
      kidx_analyze(&an, text.p ? text.p : "", text.n, print_token, &count);
  free(text.p);
  if (st == KIDX_EINVAL)
    return cli_fail(ST_USAGE, "cannot analyse: %s", kidx_strerror(st));
  if (st != KIDX_OK)
    return cli_fail(ST_INPUT, "cannot analyse the input: %s",
                    kidx_strerror(st));
  return count > 0 ? ST_OK : ST_NO_HITS;
}

/* ---------------------------------------------------------------------- */
/* kidx stats                                                             */
/* ---------------------------------------------------------------------- */

/* A root's walk options, as the options that set them. */
static const char *root_options(unsigned flags) {
  switch (flags & (ROOT_HIDDEN | ROOT_NO_IGNORE)) {
  case ROOT_HIDDEN:
    return "--hidden";
  case ROOT_NO_IGNORE:
    return "--no-ignore";
  case ROOT_HIDDEN | ROOT_NO_IGNORE:
    return "--hidden --no-ignore";
  default:
    return "";
  }
}

/* The roots as stats --json ends with them: "roots", one object per
 * root, {"id":ID,"hidden":BOOL,"no_ignore":BOOL} (the options a re-sync
 * walks it with), and "base", the directory the relative ones are
 * relative to.  Ids and the base are file names, so bytes: written as
 * search --json writes ids, {"bytes":"BASE64"} when not UTF-8, so that a
 * program gets the exact name back rather than one with U+FFFD in it. */
static void print_roots_json(const cli *c, const roots *rs) {
  fputs(",\"roots\":[", stdout);
  for (size_t i = 0; i < rs->n; i++) {
    fputs(i > 0 ? ",{\"id\":" : "{\"id\":", stdout);
    json_put_id(stdout, rs->r[i].id, strlen(rs->r[i].id));
    printf(",\"hidden\":%s,\"no_ignore\":%s}",
           rs->r[i].flags & ROOT_HIDDEN ? "true" : "false",
           rs->r[i].flags & ROOT_NO_IGNORE ? "true" : "false");
  }
  fputs("],\"base\":", stdout);
  if (c->base)
    json_put_id(stdout, c->base, strlen(c->base));
  else
    fputs("null", stdout);
}

/* The roots in the text form: one a line, with the options they are
 * walked with. */
static void print_roots_text(const cli *c, const roots *rs) {
  if (rs->n == 0)
    puts("roots      (none)");
  for (size_t i = 0; i < rs->n; i++) {
    const char *opts = root_options(rs->r[i].flags);
    fputs(i == 0 ? "roots      " : "           ", stdout);
    cli_put_text(stdout, rs->r[i].id, strlen(rs->r[i].id));
    printf("%s%s%s\n", *opts ? " (" : "", opts, *opts ? ")" : "");
  }
  if (c->base) {
    fputs("base       ", stdout);
    cli_put_text(stdout, c->base, strlen(c->base));
    putchar('\n');
  }
}

static void print_stats(const cli *c, const kidx_stats *s,
                        const kidx_analyzer *an, const roots *rs, bool json) {
  const char *stem = cli_choice_name(STEMMERS, an->stemmer),
             *stop = cli_choice_name(STOPWORD_LISTS, an->stopwords),
             *diacritics = cli_choice_name(SWITCHES, an->fold_diacritics != 0);
  if (json) {
    /* New keys go last: scripts may rely on the order of the old ones. */
    printf("{\"documents\":%" PRIu64 ",\"terms\":%" PRIu64
           ",\"tokens\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"stemmer\":\"%s\",\"stopwords\":\"%s\","
           "\"diacritics\":\"%s\",\"stored_bytes\":%" PRIu64
           ",\"segments\":%" PRIu64 ",\"deleted\":%" PRIu64
           ",\"generation\":%" PRIu64,
           s->documents, s->terms, s->tokens, s->bytes, stem, stop, diacritics,
           s->stored_bytes, s->segments, s->deleted, s->generation);
    print_roots_json(c, rs);
    puts("}");
    return;
  }
  char size[32], stored[32];
  cli_format_size(size, sizeof size, s->bytes);
  cli_format_size(stored, sizeof stored, s->stored_bytes);
  printf("index      %s\n", c->index_dir);
  printf("documents  %12" PRIu64 "\n", s->documents);
  printf("terms      %12" PRIu64 "\n", s->terms);
  printf("tokens     %12" PRIu64 "\n", s->tokens);
  printf("bytes      %12" PRIu64 "  (%s)\n", s->bytes, size);
  /* The part of the index that keeps the documents' text for results and
   * snippets, the rest being the inverted index proper. */
  printf("stored     %12" PRIu64 "  (%s of titles, and bodies compressed)\n",
         s->stored_bytes, stored);
  printf("segments   %12" PRIu64 "\n", s->segments);
  /* Deleted and replaced documents keep their space until a merge
   * rewrites their segment: what 'kidx optimize' would reclaim. */
  printf("deleted    %12" PRIu64 "  (documents not yet reclaimed)\n",
         s->deleted);
  printf("generation %12" PRIu64 "  (commits)\n", s->generation);
  printf("stemmer    %s\n", stem);
  printf("stopwords  %s\n", stop);
  printf("diacritics %s\n", diacritics);
  print_roots_text(c, rs);
}

int cli_cmd_stats(const cli *c, const cli_args *a) {
  if (a->npos > 0)
    return cli_fail(ST_USAGE,
                    "unexpected argument '%s' for 'stats' (see 'kidx stats "
                    "--help')",
                    a->pos[0]);
  kidx_reader *r;
  int rc = cli_open_reader(c, &r);
  if (rc != ST_OK)
    return rc;
  kidx_stats s;
  kidx_analyzer an;
  kidx_status st = kidx_reader_stats(r, &s);
  if (st != KIDX_OK)
    rc = cli_fail(ST_INDEX, "index at %s is unusable: %s", c->index_dir,
                  cli_lib_message(kidx_reader_errmsg(r), st));
  else
    rc = cli_read_index_analyzer(c, r, &an);
  roots rs = {0};
  if (rc == ST_OK)
    rc = roots_load(c, NULL, r, &rs);
  if (rc == ST_OK)
    print_stats(c, &s, &an, &rs, a->json);
  roots_free(&rs);
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

int cli_cmd_delete(const cli *c, const cli_args *a) {
  if (a->npos == 0)
    return cli_fail(ST_USAGE, "delete needs at least one ID (see 'kidx delete "
                              "--help')");
  /* The writer would create a missing index (and its directory) only to
   * find nothing in it: make sure there is one to delete from.  This also
   * verifies it, as the writer will again. */
  kidx_reader *r;
  int rc = cli_open_reader(c, &r);
  kidx_reader_close(r);
  if (rc != ST_OK)
    return rc;
  /* Sorted, so that an id given twice is deleted once rather than
   * reported as missing the second time. */
  char **ids = malloc((size_t)a->npos * sizeof *ids);
  if (!ids)
    return cli_fail(ST_INDEX, "out of memory");
  memcpy(ids, a->pos, (size_t)a->npos * sizeof *ids);
  qsort(ids, (size_t)a->npos, sizeof *ids, cmp_strings);
  kidx_writer *w;
  rc = cli_open_writer(c, NULL, a, &w);
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
      cli_fail(ST_NO_HITS, "no document with id '%s'", ids[i]);
      missing = true;
    } else {
      rc = cli_fail(ST_INDEX, "cannot delete '%s' from %s: %s", ids[i],
                    c->index_dir, cli_lib_message(kidx_writer_errmsg(w), st));
    }
  }
  if (rc == ST_OK) {
    kidx_status st = kidx_writer_commit(w);
    if (st != KIDX_OK)
      rc = cli_fail(ST_INDEX, "cannot write index at %s: %s", c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), st));
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
/* kidx optimize                                                          */
/* ---------------------------------------------------------------------- */

/* The stats of the commit that is current now.  A reader opened while
 * this process holds the writer lock sees the commit the writer started
 * from, as no one else can commit meanwhile. */
static int current_stats(const cli *c, kidx_stats *out) {
  kidx_reader *r;
  int rc = cli_open_reader(c, &r);
  if (rc != ST_OK)
    return rc;
  kidx_status st = kidx_reader_stats(r, out);
  if (st != KIDX_OK)
    rc = cli_fail(ST_INDEX, "index at %s is unusable: %s", c->index_dir,
                  cli_lib_message(kidx_reader_errmsg(r), st));
  kidx_reader_close(r);
  return rc;
}

static const char *plural(uint64_t n) {
  return n == 1 ? "" : "s";
}

int cli_cmd_optimize(const cli *c, const cli_args *a) {
  if (a->npos > 0)
    return cli_fail(ST_USAGE,
                    "unexpected argument '%s' for 'optimize' (see 'kidx "
                    "optimize --help')",
                    a->pos[0]);
  /* The writer would create a missing index: make sure there is one, as
   * delete does. */
  kidx_reader *r;
  int rc = cli_open_reader(c, &r);
  kidx_reader_close(r);
  if (rc != ST_OK)
    return rc;
  kidx_writer *w;
  rc = cli_open_writer(c, NULL, a, &w);
  if (rc != ST_OK)
    return rc;
  /* The "before" figures are read under the lock: with --wait, another
   * writer may have committed since the check above. */
  kidx_stats before, after;
  rc = current_stats(c, &before);
  if (rc == ST_OK) {
    kidx_status st = kidx_writer_optimize(w);
    /* An index that is one segment without deletions already is left as
     * it is: the commit then writes nothing. */
    if (st == KIDX_OK)
      st = kidx_writer_commit(w);
    if (st != KIDX_OK)
      rc = cli_fail(ST_INDEX, "cannot write index at %s: %s", c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), st));
  }
  if (rc == ST_OK)
    rc = current_stats(c, &after);
  kidx_writer_close(w);
  if (rc != ST_OK)
    return rc;
  uint64_t reclaimed =
      before.deleted > after.deleted ? before.deleted - after.deleted : 0;
  printf("optimized: %" PRIu64 " document%s in %" PRIu64
         " segment%s (was %" PRIu64 " segment%s, %" PRIu64
         " deleted document%s reclaimed)\n",
         after.documents, plural(after.documents), after.segments,
         plural(after.segments), before.segments, plural(before.segments),
         reclaimed, plural(reclaimed));
  return ST_OK;
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
  return cli_fail(ST_INDEX, "%s", buf);
}

int cli_cmd_check(const cli *c, const cli_args *a) {
  if (a->npos > 0)
    return cli_fail(ST_USAGE,
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
                  cli_lib_message(kidx_reader_errmsg(r), st));
    rc = check_failed(a->json, "index at %s is damaged: %s", c->index_dir,
                      detail);
  } else if (st != KIDX_OK) {
    /* Another format version, an I/O error, no memory: not known to be
     * damaged, but not usable either. */
    rc = check_failed(a->json, "index at %s is unusable: %s", c->index_dir,
                      cli_lib_message(kidx_reader_errmsg(r), st));
  } else {
    kidx_stats s;
    if (kidx_reader_stats(r, &s) != KIDX_OK)
      rc = check_failed(a->json, "index at %s is unusable: %s", c->index_dir,
                        cli_lib_message(kidx_reader_errmsg(r), KIDX_EINVAL));
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
