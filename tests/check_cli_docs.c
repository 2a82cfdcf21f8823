/*
 * check_cli_docs.c -- keeps the manual and the shell completions in step
 * with the tool's own help.
 *
 * The help is the reference: 'kidx --help' gives the commands (its
 * "Commands:" section) and the options accepted before a command, and
 * 'kidx COMMAND --help' each command's options.  Each other file must
 * list exactly those, command by command:
 *   doc/kidx.1             .SH OPTIONS, then one .SS per command under
 *                          .SH COMMANDS, options as .TP entries;
 *   completions/kidx.bash  _kidx_commands='...', _kidx_opts_global='...'
 *                          and _kidx_opts_COMMAND='...';
 *   completions/_kidx      the arrays commands=( ), global_opts=( ) and
 *                          COMMAND_opts=( ), one spec per line;
 *   completions/kidx.fish  one 'complete -c kidx -n CONDITION' line per
 *                          command and per option.
 * Each file's head says the form in detail.  A test per file reports
 * every missing and extra option and command at once, naming the file.
 * Nothing here needs groff or the shells: the files are read as text.
 */
#include "testutil.h"

#include <check.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Sets of names, and what a file lists                                   */
/* ---------------------------------------------------------------------- */

/* Names in the order they were first added, without duplicates. */
typedef struct strset {
  char **v;
  size_t n, cap;
} strset;

static bool set_has(const strset *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i], name) == 0)
      return true;
  return false;
}

static void set_add(strset *s, const char *name, size_t len) {
  char *copy = malloc(len + 1);
  ck_assert_ptr_nonnull(copy);
  memcpy(copy, name, len);
  copy[len] = '\0';
  if (set_has(s, copy)) {
    free(copy);
    return;
  }
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 16;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    ck_assert_ptr_nonnull(s->v);
  }
  s->v[s->n++] = copy;
}

static void set_free(strset *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

/* What one file lists: the commands, and the options of each command;
 * the options accepted before a command are filed under "global". */
#define GLOBAL       "global"
#define MAX_SECTIONS 64

typedef struct listing {
  strset commands;
  struct {
    char *name;
    strset opts;
  } sec[MAX_SECTIONS];
  size_t nsec;
} listing;

/* The options of section name[0..len), created empty if new. */
static strset *section(listing *l, const char *name, size_t len) {
  for (size_t i = 0; i < l->nsec; i++)
    if (strlen(l->sec[i].name) == len && memcmp(l->sec[i].name, name, len) == 0)
      return &l->sec[i].opts;
  ck_assert_uint_lt(l->nsec, MAX_SECTIONS);
  char *copy = malloc(len + 1);
  ck_assert_ptr_nonnull(copy);
  memcpy(copy, name, len);
  copy[len] = '\0';
  l->sec[l->nsec].name = copy;
  memset(&l->sec[l->nsec].opts, 0, sizeof(strset));
  return &l->sec[l->nsec++].opts;
}

static strset *section_z(listing *l, const char *name) {
  return section(l, name, strlen(name));
}

static void listing_free(listing *l) {
  set_free(&l->commands);
  for (size_t i = 0; i < l->nsec; i++) {
    free(l->sec[i].name);
    set_free(&l->sec[i].opts);
  }
  l->nsec = 0;
}

/* Problems found, one per line, reported together at the end of a test.
 * Check carries a failure message of a few KiB at most: the message shows
 * the first MSG_MAX bytes (some 40 problems). */
#define MSG_MAX 3500
typedef struct report {
  char buf[16384];
  size_t len;
  unsigned count;
} report;

/* Appends one line to r, printf-style. */
#if defined(__GNUC__) || defined(__clang__)
static void problem(report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#endif
static void problem(report *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (r->len < sizeof r->buf) {
    int n = vsnprintf(r->buf + r->len, sizeof r->buf - r->len, fmt, ap);
    if (n > 0)
      r->len += (size_t)n;
    if (r->len < sizeof r->buf - 1)
      r->buf[r->len++] = '\n';
  }
  if (r->len >= sizeof r->buf)
    r->len = sizeof r->buf - 1;
  r->buf[r->len] = '\0';
  r->count++;
  va_end(ap);
}

/* Calls fn for each line of text (without its '\n'); text is modified. */
static void for_each_line(char *text, void (*fn)(void *ctx, char *line),
                          void *ctx) {
  char *p = text;
  while (*p) {
    char *nl = strchr(p, '\n');
    if (nl)
      *nl = '\0';
    fn(ctx, p);
    if (!nl)
      break;
    p = nl + 1;
  }
}

static bool starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_name_char(char c) {
  return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* An option name: "-x" or "--name", a letter or digit after the dashes. */
static bool is_option(const char *s, size_t len) {
  size_t d = len > 1 && s[0] == '-' && s[1] == '-' ? 2 : 1;
  return len > d && s[0] == '-' && isalnum((unsigned char)s[d]);
}

static char *read_source(const char *rel) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", KIDX_SOURCE_DIR, rel);
  char *text = tu_read_file(path, NULL);
  ck_assert_msg(text != NULL, "cannot read %s", path);
  return text;
}

/* ---------------------------------------------------------------------- */
/* The reference: kidx --help and kidx COMMAND --help                     */
/* ---------------------------------------------------------------------- */

static char *help_of(const char *command) {
  const char *argv[] = {KIDX_BIN, command, "--help", NULL};
  if (!command) {
    argv[1] = "--help";
    argv[2] = NULL;
  }
  tu_run r = tu_exec(NULL, argv, NULL);
  ck_assert_msg(r.status == 0, "kidx %s --help: exit status %d\n%s",
                command ? command : "", r.status, r.err);
  free(r.err);
  return r.out;
}

typedef struct help_ctx {
  strset *opts;     /* where options go */
  strset *commands; /* where commands go (kidx --help only) */
  enum { H_OTHER, H_OPTIONS, H_COMMANDS } in;
} help_ctx;

/* An option line, its indentation removed: "-x, --name ARG  description",
 * "--a, --b  description" or "--k1 X, --b X  description".  The names are
 * the first word and each word after a word that ends in ','. */
static void help_option_line(strset *opts, const char *line) {
  const char *p = line;
  bool want_name = true;
  for (;;) {
    while (*p == ' ')
      p++;
    const char *w = p;
    while (*p && *p != ' ')
      p++;
    size_t len = (size_t)(p - w);
    if (len == 0)
      return;
    bool comma = w[len - 1] == ',';
    if (want_name) {
      size_t n = 0; /* up to a ',' or "=ARG" */
      while (n < len && w[n] != ',' && w[n] != '=')
        n++;
      if (!is_option(w, n))
        return;
      set_add(opts, w, n);
      want_name = comma; /* else maybe its argument, then ", --b X" */
    } else if (comma) {
      want_name = true; /* "X," ends an argument: another name follows */
    } else {
      return; /* the description */
    }
  }
}

static void help_line(void *ctx, char *line) {
  help_ctx *h = ctx;
  size_t len = strlen(line);
  if (len == 0) {
    h->in = H_OTHER;
    return;
  }
  if (line[0] != ' ') {
    /* A heading: "Options:", "Analysis options:", "Options (also accepted
     * after COMMAND):", "Commands:". */
    h->in = H_OTHER;
    if (line[len - 1] == ':' &&
        (strstr(line, "Options") == line || strstr(line, " options") != NULL))
      h->in = H_OPTIONS;
    else if (strcmp(line, "Commands:") == 0)
      h->in = H_COMMANDS;
    return;
  }
  size_t indent = strspn(line, " ");
  if (h->in == H_OPTIONS && indent >= 2 && indent <= 8 && line[indent] == '-')
    help_option_line(h->opts, line + indent);
  else if (h->in == H_COMMANDS && h->commands && indent == 2 &&
           islower((unsigned char)line[2])) {
    size_t n = 0;
    while (is_name_char(line[2 + n]))
      n++;
    set_add(h->commands, line + 2, n);
  }
}

/* The reference listing, from the built binary. */
static void read_help(listing *ref) {
  char *text = help_of(NULL);
  help_ctx h = {section_z(ref, GLOBAL), &ref->commands, H_OTHER};
  for_each_line(text, help_line, &h);
  free(text);
  ck_assert_msg(ref->commands.n >= 8 && set_has(&ref->commands, "index") &&
                    set_has(&ref->commands, "search"),
                "could not read the commands of 'kidx --help'");
  for (size_t i = 0; i < ref->commands.n; i++) {
    const char *cmd = ref->commands.v[i];
    text = help_of(cmd);
    help_ctx hc = {section_z(ref, cmd), NULL, H_OTHER};
    for_each_line(text, help_line, &hc);
    free(text);
    ck_assert_msg(set_has(hc.opts, "--help") && set_has(hc.opts, "-h"),
                  "could not read the options of 'kidx %s --help'", cmd);
  }
  strset *g = section_z(ref, GLOBAL);
  ck_assert_msg(set_has(g, "--version") && set_has(g, "-i"),
                "could not read the options of 'kidx --help'");
}

/* ---------------------------------------------------------------------- */
/* Comparing a file's listing with the reference                          */
/* ---------------------------------------------------------------------- */

static void compare(report *r, const char *file, const listing *ref,
                    listing *got) {
  for (size_t i = 0; i < ref->commands.n; i++)
    if (!set_has(&got->commands, ref->commands.v[i]))
      problem(r, "%s: command '%s' is missing ('kidx --help' lists it)", file,
              ref->commands.v[i]);
  for (size_t i = 0; i < got->commands.n; i++)
    if (!set_has(&ref->commands, got->commands.v[i]))
      problem(r, "%s: command '%s' is not one of 'kidx --help'", file,
              got->commands.v[i]);
  for (size_t s = 0; s < ref->nsec; s++) {
    const char *name = ref->sec[s].name;
    bool global = strcmp(name, GLOBAL) == 0;
    const strset *want = &ref->sec[s].opts;
    const strset *have = section_z(got, name);
    char where[128];
    if (global)
      snprintf(where, sizeof where, "the options before the command");
    else
      snprintf(where, sizeof where, "command '%s'", name);
    for (size_t i = 0; i < want->n; i++)
      if (!set_has(have, want->v[i]))
        problem(r, "%s: %s: option %s is missing ('kidx %s%s--help' lists it)",
                file, where, want->v[i], global ? "" : name, global ? "" : " ");
    for (size_t i = 0; i < have->n; i++)
      if (!set_has(want, have->v[i]))
        problem(r,
                "%s: %s: option %s is extra ('kidx %s%s--help' does not "
                "list it)",
                file, where, have->v[i], global ? "" : name, global ? "" : " ");
  }
  for (size_t s = 0; s < got->nsec; s++) /* a command not listed as one */
    if (strcmp(got->sec[s].name, GLOBAL) != 0 &&
        !set_has(&ref->commands, got->sec[s].name) &&
        !set_has(&got->commands, got->sec[s].name))
      problem(r, "%s: options for '%s', which is not a command", file,
              got->sec[s].name);
}

/* Reads what a file lists, naming it as file in problems it finds. */
typedef void reader_fn(listing *l, char *text, const char *file, report *r);

/* Reads the reference and the file with reader(), compares them and fails
 * with every problem found. */
static void check_file(const char *rel, reader_fn *reader) {
  listing ref, got;
  memset(&ref, 0, sizeof ref);
  memset(&got, 0, sizeof got);
  report r;
  memset(&r, 0, sizeof r);
  read_help(&ref);
  char *text = read_source(rel);
  reader(&got, text, rel, &r);
  free(text);
  compare(&r, rel, &ref, &got);
  listing_free(&ref);
  listing_free(&got);
  ck_assert_msg(r.count == 0,
                "%u difference%s between %s and kidx's help (add or remove "
                "the options there, see the form at the head of the "
                "file):\n%.*s",
                r.count, r.count == 1 ? "" : "s", rel, MSG_MAX, r.buf);
}

/* ---------------------------------------------------------------------- */
/* doc/kidx.1                                                             */
/* ---------------------------------------------------------------------- */

typedef struct man_ctx {
  listing *l;
  report *r;
  const char *file;
  char sh[64];   /* current .SH */
  strset *opts;  /* where the current section's options go, or NULL */
  bool tag_next; /* the line after .TP */
  unsigned line_no;
} man_ctx;

/* The first word of a macro's argument, quotes removed. */
static void macro_word(const char *arg, const char **word, size_t *len) {
  while (*arg == ' ' || *arg == '"')
    arg++;
  size_t n = 0;
  while (arg[n] && arg[n] != ' ' && arg[n] != '"')
    n++;
  *word = arg;
  *len = n;
}

/* The option names in a .TP tag line: every word starting with \- (a roff
 * minus), hyphens inside it written \- as well. */
static void man_tag_options(strset *opts, const char *line) {
  for (const char *p = line; *p; p++) {
    if (!(p[0] == '\\' && p[1] == '-'))
      continue;
    /* Not inside a word, but maybe after a font change (\fB\-\-name). */
    bool after_font = p - line >= 3 && p[-3] == '\\' && p[-2] == 'f';
    if (p > line && !after_font &&
        (isalnum((unsigned char)p[-1]) || p[-1] == '-'))
      continue;
    char name[128];
    size_t n = 0;
    while (n < sizeof name - 1) {
      if (p[0] == '\\' && p[1] == '-') {
        name[n++] = '-';
        p += 2;
      } else if (isalnum((unsigned char)*p)) {
        name[n++] = *p++;
      } else {
        break;
      }
    }
    if (is_option(name, n))
      set_add(opts, name, n);
    if (!*p)
      break;
  }
}

static void man_line(void *vctx, char *line) {
  man_ctx *m = vctx;
  m->line_no++;
  if (m->tag_next) {
    m->tag_next = false;
    const char *arg = NULL;
    if (starts_with(line, ".B "))
      arg = line + 3;
    else if (starts_with(line, ".BR ") || starts_with(line, ".BI "))
      arg = line + 4;
    if (arg && m->opts) {
      while (*arg == ' ' || *arg == '"')
        arg++;
      if (arg[0] == '-')
        problem(m->r, "%s:%u: write option names with \\- (a minus), not -: %s",
                m->file, m->line_no, line);
      else if (arg[0] == '\\' && arg[1] == '-')
        man_tag_options(m->opts, arg);
    }
    return;
  }
  const char *word;
  size_t len;
  if (starts_with(line, ".SH ")) {
    macro_word(line + 4, &word, &len);
    snprintf(m->sh, sizeof m->sh, "%.*s", (int)len, word);
    m->opts = strcmp(m->sh, "OPTIONS") == 0 ? section_z(m->l, GLOBAL) : NULL;
  } else if (starts_with(line, ".SS ") && strcmp(m->sh, "COMMANDS") == 0) {
    macro_word(line + 4, &word, &len);
    set_add(&m->l->commands, word, len);
    m->opts = section(m->l, word, len);
  } else if (strcmp(line, ".TP") == 0 || starts_with(line, ".TP ")) {
    m->tag_next = true;
  }
}

static void read_man(listing *l, char *text, const char *file, report *r) {
  man_ctx m;
  memset(&m, 0, sizeof m);
  m.l = l;
  m.r = r;
  m.file = file;
  for_each_line(text, man_line, &m);
}

START_TEST(test_docs_man_page) {
  check_file("doc/kidx.1", read_man);
}
END_TEST

/* The version in the man page's title line is the tool's. */
START_TEST(test_docs_man_page_version) {
  const char *argv[] = {KIDX_BIN, "--version", NULL};
  tu_run r = tu_exec(NULL, argv, NULL);
  ASSERT_STATUS(r, 0);
  char *nl = strchr(r.out, '\n');
  ck_assert_ptr_nonnull(nl);
  *nl = '\0';
  char *text = read_source("doc/kidx.1");
  char *th = strstr(text, "\n.TH ");
  ck_assert_ptr_nonnull(th);
  char *end = strchr(th + 1, '\n');
  ck_assert_ptr_nonnull(end);
  *end = '\0';
  char want[64];
  snprintf(want, sizeof want, "\"%s\"", r.out);
  ck_assert_msg(strstr(th, want) != NULL,
                "doc/kidx.1: the .TH line (%s) does not name %s", th + 1,
                r.out);
  free(text);
  tu_run_free(&r);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* completions/kidx.bash                                                  */
/* ---------------------------------------------------------------------- */

/* The words of the single-quoted value on a line NAME='w1 w2=...'; a
 * trailing '=' (takes a value) is not part of a name. */
static void bash_words(strset *into, const char *value) {
  const char *p = value;
  while (*p && *p != '\'') {
    while (*p == ' ')
      p++;
    const char *w = p;
    while (*p && *p != ' ' && *p != '\'')
      p++;
    size_t n = (size_t)(p - w);
    if (n && w[n - 1] == '=')
      n--;
    if (n)
      set_add(into, w, n);
  }
}

static void bash_line(void *ctx, char *line) {
  listing *l = ctx;
  static const char CMDS[] = "_kidx_commands='";
  static const char OPTS[] = "_kidx_opts_";
  if (starts_with(line, CMDS)) {
    bash_words(&l->commands, line + strlen(CMDS));
  } else if (starts_with(line, OPTS)) {
    const char *name = line + strlen(OPTS);
    size_t n = 0;
    while (is_name_char(name[n]) && name[n] != '-')
      n++;
    if (name[n] == '=' && name[n + 1] == '\'')
      bash_words(section(l, name, n), name + n + 2);
  }
}

static void read_bash(listing *l, char *text, const char *file, report *r) {
  (void)file;
  (void)r;
  for_each_line(text, bash_line, l);
}

START_TEST(test_docs_bash_completion) {
  check_file("completions/kidx.bash", read_bash);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* completions/_kidx (zsh)                                                */
/* ---------------------------------------------------------------------- */

typedef struct zsh_ctx {
  listing *l;
  report *r;
  const char *file;
  strset *opts;  /* inside NAME_opts=( ... ) */
  bool commands; /* inside commands=( ... ) */
  unsigned line_no;
} zsh_ctx;

/* One _arguments spec: ['(exclusions)']['*']{-x+,--name=}'[...]...' or
 * '--name=[...]...'. */
static bool zsh_spec(strset *opts, const char *s) {
  if (*s == '\'')
    s++;
  if (*s == '(') {
    s = strchr(s, ')');
    if (!s)
      return false;
    s++;
    if (*s == '\'')
      s++;
  }
  if (*s == '\'')
    s++;
  if (*s == '*')
    s++;
  if (*s == '{') {
    const char *end = strchr(s, '}');
    if (!end)
      return false;
    s++;
    while (s < end) {
      size_t n = 0;
      while (s + n < end && is_name_char(s[n]))
        n++;
      if (!is_option(s, n))
        return false;
      set_add(opts, s, n);
      s += n;
      while (s < end && *s != ',')
        s++; /* the + or = that says it takes a value */
      if (s < end)
        s++;
    }
    return true;
  }
  size_t n = 0;
  while (is_name_char(s[n]))
    n++;
  /* A name ends the spec's option part at '[', '=', '+' or a quote. */
  if (!is_option(s, n) || (s[n] != '[' && s[n] != '=' && s[n] != '+' &&
                           s[n] != '\'' && s[n] != ':'))
    return false;
  set_add(opts, s, n);
  return true;
}

static void zsh_line(void *vctx, char *line) {
  zsh_ctx *z = vctx;
  z->line_no++;
  const char *s = line + strspn(line, " \t");
  if (z->opts || z->commands) {
    if (strcmp(s, ")") == 0) {
      z->opts = NULL;
      z->commands = false;
    } else if (z->commands) {
      if (*s == '\'')
        s++;
      size_t n = 0;
      while (is_name_char(s[n]))
        n++;
      set_add(&z->l->commands, s, n);
    } else if (!zsh_spec(z->opts, s)) {
      problem(z->r,
              "%s:%u: not an option spec of the form the file's head "
              "describes: %s",
              z->file, z->line_no, s);
    }
    return;
  }
  size_t n = 0;
  while (is_name_char(s[n]) && s[n] != '-')
    n++;
  if (strcmp(s + n, "=(") != 0)
    return;
  static const char SUFFIX[] = "_opts";
  size_t sl = strlen(SUFFIX);
  if (n == strlen("commands") && memcmp(s, "commands", n) == 0)
    z->commands = true;
  else if (n > sl && memcmp(s + n - sl, SUFFIX, sl) == 0)
    z->opts = section(z->l, s, n - sl);
}

static void read_zsh(listing *l, char *text, const char *file, report *r) {
  zsh_ctx z;
  memset(&z, 0, sizeof z);
  z.l = l;
  z.r = r;
  z.file = file;
  for_each_line(text, zsh_line, &z);
}

START_TEST(test_docs_zsh_completion) {
  check_file("completions/_kidx", read_zsh);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* completions/kidx.fish                                                  */
/* ---------------------------------------------------------------------- */

/* Splits a fish command line into words in buf[cap], removing single and
 * double quotes (all the lines we read use).  Returns the number of words;
 * a comment ends the line. */
static size_t fish_words(const char *line, char *buf, size_t cap, char **words,
                         size_t max) {
  size_t n = 0, o = 0;
  const char *p = line;
  while (n < max && o < cap) {
    while (*p == ' ')
      p++;
    if (!*p || *p == '#')
      break;
    words[n++] = buf + o;
    while (*p && *p != ' ' && o + 1 < cap) {
      if (*p == '\'' || *p == '"') {
        char q = *p++;
        while (*p && *p != q && o + 1 < cap)
          buf[o++] = *p++;
        if (*p == q)
          p++;
      } else {
        buf[o++] = *p++;
      }
    }
    buf[o++] = '\0';
  }
  return n;
}

static void fish_line(void *ctx, char *line) {
  listing *l = ctx;
  static const char PREFIX[] = "complete -c kidx -n ";
  if (!starts_with(line, PREFIX))
    return;
  char buf[4096], *words[64];
  size_t n = fish_words(line, buf, sizeof buf, words, 64);
  const char *cond = n > 4 ? words[4] : "";
  strset *opts;
  bool global = strcmp(cond, "__kidx_no_command") == 0;
  if (global)
    opts = section_z(l, GLOBAL);
  else if (starts_with(cond, "__kidx_using "))
    opts = section_z(l, cond + strlen("__kidx_using "));
  else
    return;
  bool any_option = false;
  const char *args = NULL;
  for (size_t i = 5; i + 1 < n; i++) {
    char name[128];
    if (strcmp(words[i], "-s") == 0)
      snprintf(name, sizeof name, "-%s", words[i + 1]);
    else if (strcmp(words[i], "-l") == 0)
      snprintf(name, sizeof name, "--%s", words[i + 1]);
    else if (strcmp(words[i], "-o") == 0)
      snprintf(name, sizeof name, "-%s", words[i + 1]);
    else {
      if (strcmp(words[i], "-a") == 0)
        args = words[i + 1];
      continue;
    }
    set_add(opts, name, strlen(name));
    any_option = true;
    i++;
  }
  /* A line without -s/-l offers arguments: before a command, the
   * commands. */
  if (!any_option && global && args) {
    char *copy = malloc(strlen(args) + 1);
    ck_assert_ptr_nonnull(copy);
    strcpy(copy, args);
    char *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w;
         w = strtok_r(NULL, " ", &save))
      set_add(&l->commands, w, strlen(w));
    free(copy);
  }
}

static void read_fish(listing *l, char *text, const char *file, report *r) {
  (void)file;
  (void)r;
  for_each_line(text, fish_line, l);
}

START_TEST(test_docs_fish_completion) {
  check_file("completions/kidx.fish", read_fish);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* The readers themselves: a removed or added option is noticed           */
/* ---------------------------------------------------------------------- */

/* Removes the first occurrence of `what` from text (in place). */
static void cut(char *text, const char *what) {
  char *p = strstr(text, what);
  ck_assert_msg(p != NULL, "'%s' not found", what);
  memmove(p, p + strlen(what), strlen(p + strlen(what)) + 1);
}

/* Runs reader over text and compares with the help: the problems. */
static report compare_text(const char *file, char *text, reader_fn *reader) {
  listing ref, got;
  memset(&ref, 0, sizeof ref);
  memset(&got, 0, sizeof got);
  report r;
  memset(&r, 0, sizeof r);
  read_help(&ref);
  reader(&got, text, file, &r);
  compare(&r, file, &ref, &got);
  listing_free(&ref);
  listing_free(&got);
  return r;
}

static void expect_problem(const report *r, const char *what) {
  ck_assert_msg(strstr(r->buf, what) != NULL, "expected '%s' in:\n%.*s", what,
                MSG_MAX, r->buf);
}

/* Cuts `what` out of file rel and expects the comparison to find one
 * problem more, `want`.  Counted against the file as it is, so that this
 * test does not fail as well while the help has an option the files do
 * not have yet. */
static void expect_cut_reported(const char *rel, reader_fn *reader,
                                const char *what, const char *want) {
  char *text = read_source(rel);
  report before = compare_text(rel, text, reader);
  free(text);
  text = read_source(rel);
  cut(text, what);
  report after = compare_text(rel, text, reader);
  free(text);
  ck_assert_msg(after.count == before.count + 1,
                "%s without '%s': %u problems, expected %u:\n%.*s", rel, what,
                after.count, before.count + 1, MSG_MAX, after.buf);
  expect_problem(&after, want);
}

START_TEST(test_docs_removed_option_is_reported) {
  expect_cut_reported("doc/kidx.1", read_man,
                      ".TP\n.BI \\-\\-merge\\-factor \" N\"\n",
                      "doc/kidx.1: command 'index': option --merge-factor "
                      "is missing");
  expect_cut_reported("completions/kidx.bash", read_bash, " --explain",
                      "completions/kidx.bash: command 'search': option "
                      "--explain is missing");
  expect_cut_reported(
      "completions/_kidx", read_zsh,
      "    '--prune[also remove documents under the paths whose files are "
      "gone]'\n",
      "completions/_kidx: command 'index': option --prune is missing");
  expect_cut_reported("completions/kidx.fish", read_fish, " -s k",
                      "completions/kidx.fish: command 'search': option -k "
                      "is missing");
}
END_TEST

START_TEST(test_docs_extra_option_and_command_are_reported) {
  static const char MAN[] = ".SH COMMANDS\n.SS frob\n.SS stats\n.TP\n"
                            ".BR \\-\\-json \" \\fIX\\fR\"\n.TP\n"
                            ".B \\-\\-bogus\\-opt\n.TP\n.B \\-\\-bad\n";
  char *text = malloc(sizeof MAN);
  ck_assert_ptr_nonnull(text);
  memcpy(text, MAN, sizeof MAN);
  report r = compare_text("man", text, read_man);
  free(text);
  expect_problem(&r, "man: command 'frob' is not one of 'kidx --help'");
  expect_problem(&r, "man: command 'stats': option --bogus-opt is extra");
  expect_problem(&r, "man: command 'stats': option -h is missing");
  ck_assert_ptr_null(strstr(r.buf, "'stats': option --json"));

  static const char ZSH[] = "  commands=(\n    'index:x'\n  )\n"
                            "  stats_opts=(\n"
                            "    '(- *)'{-h,--help}'[print help]'\n"
                            "    '*--jsonl=[x]:file:_files'\n"
                            "    '(--a)--zz+[x]'\n"
                            "    '*:positional:_files'\n"
                            "  )\n";
  text = malloc(sizeof ZSH);
  ck_assert_ptr_nonnull(text);
  memcpy(text, ZSH, sizeof ZSH);
  r = compare_text("zsh", text, read_zsh);
  free(text);
  expect_problem(&r, "zsh: command 'stats': option --jsonl is extra");
  expect_problem(&r, "zsh: command 'stats': option --zz is extra");
  expect_problem(&r, "zsh:8: not an option spec");
  expect_problem(&r, "zsh: command 'search' is missing");
  ck_assert_ptr_null(strstr(r.buf, "command 'index' is missing"));
}
END_TEST

/* The help reader: option lines of every form the help uses. */
START_TEST(test_docs_help_option_forms) {
  strset s;
  memset(&s, 0, sizeof s);
  help_option_line(&s, "-k, --limit N          print at most N hits");
  help_option_line(&s, "--any, --all       any bare word suffices");
  help_option_line(&s, "--k1 X, --b X      BM25 tf saturation");
  help_option_line(&s, "--diacritics on|off on (default) or off: remove");
  help_option_line(&s, "--prune             remove documents, -x not");
  help_option_line(&s, "-q, --quiet         say less");
  const char *want[] = {"-k",  "--limit",      "--any",   "--all", "--k1",
                        "--b", "--diacritics", "--prune", "-q",    "--quiet"};
  ck_assert_uint_eq(s.n, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < s.n; i++)
    ck_assert_str_eq(s.v[i], want[i]);
  set_free(&s);
}
END_TEST

static Suite *cli_docs_suite(void) {
  Suite *s = suite_create("cli_docs");
  TCase *files = tcase_create("Files");
  tcase_add_test(files, test_docs_man_page);
  tcase_add_test(files, test_docs_man_page_version);
  tcase_add_test(files, test_docs_bash_completion);
  tcase_add_test(files, test_docs_zsh_completion);
  tcase_add_test(files, test_docs_fish_completion);
  suite_add_tcase(s, files);
  TCase *readers = tcase_create("Readers");
  tcase_add_test(readers, test_docs_help_option_forms);
  tcase_add_test(readers, test_docs_removed_option_is_reported);
  tcase_add_test(readers, test_docs_extra_option_and_command_are_reported);
  suite_add_tcase(s, readers);
  return s;
}

int main(void) {
  return tu_run_suite(cli_docs_suite());
}
