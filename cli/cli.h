/*
 * cli.h -- declarations shared by the files of the kidx command-line tool.
 *
 * This header owns what more than one of those files needs: the exit
 * statuses, the option tables' types and the parsed options (cli_args),
 * the context every command gets (cli), the spellings of the analysis
 * settings, and the helpers defined in common.c (messages, option
 * parsing, opening the index, analysis settings) together with the
 * command entry points that main.c's command table names.  Everything
 * used by one file only stays static in that file.
 */
#ifndef KIDX_CLI_H
#define KIDX_CLI_H

#include "kidx.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__) || defined(__clang__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* Exit statuses (documented in MAIN_HELP). */
enum {
  ST_OK = 0,      /* success; search: at least one hit */
  ST_NO_HITS = 1, /* search matched nothing */
  ST_NOTHING = 1, /* index found nothing to index */
  ST_USAGE = 2,   /* bad command line or query */
  ST_INDEX = 3,   /* index missing, corrupt, locked or not writable */
  ST_INPUT = 4    /* some input files unreadable (the rest were indexed) */
};

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
  OPT_PRUNE,
  OPT_RAM_BUDGET,
  OPT_MERGE_FACTOR,
  OPT_COLOR,
  OPT_VIMGREP,
  OPT_QUIET,
  OPT_VERBOSE,
  OPT_FORGET,
  OPT_HIDDEN,
  OPT_NO_IGNORE,
  OPT_COUNT,
  OPT_TITLE,
  OPT_JSON_ID
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
/* --color auto|always|never, for any command that may colour its output. */
#define OPT_SPEC_COLOR                                                         \
  { OPT_COLOR, 0, "color", true }

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

extern const choice STEMMERS[];
extern const choice STOPWORD_LISTS[];
extern const choice SWITCHES[];

/* --color: whether output may hold colour and other escape sequences. */
typedef enum color_mode {
  COLOR_AUTO, /* if the stream is a capable terminal and NO_COLOR is not set
                 (the default); see cli_color_enabled */
  COLOR_ALWAYS,
  COLOR_NEVER
} color_mode;

/* How matched words are marked in human output. */
typedef enum highlight_mode {
  HL_AUTO, /* bold when colour is on, brackets otherwise (the default) */
  HL_BOLD,
  HL_BRACKETS,
  HL_NONE
} highlight_mode;

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
  bool count; /* --count: an exact total */
  bool vimgrep;      /* --vimgrep: path:line:column:text per hit */
  const char *batch; /* --batch FILE, "-" for standard input */
} search_opts;

/* Options as parsed, for whichever command. */
typedef struct cli_args {
  bool help, version, json;
  bool wait;         /* --wait: wait for the writer lock instead of failing */
  color_mode color;  /* --color; COLOR_AUTO when not given */
  bool prune;        /* index --prune */
  bool forget;       /* index --forget */
  bool hidden;       /* index --hidden: walk dot names too */
  bool no_ignore;    /* index --no-ignore: ignore files do not apply */
  bool title;        /* get --title: the title instead of the body */
  bool json_id;      /* get --json-id: IDs are written in JSON */
  int verbosity;     /* index: -1 --quiet, 1 --verbose (the last wins) */
  const char *index; /* -i value, NULL when not given */
  bool have_limit;
  size_t limit, offset;
  kidx_rank rank;
  analyzer_opts an;
  search_opts search;
  const char **jsonl; /* --jsonl FILE values in order (malloc'ed) */
  size_t njsonl;
  /* index --ram-budget and --merge-factor: each goes to the writer only
   * when given, so the defaults stay the library's. */
  bool have_ram_budget, have_merge_factor;
  size_t ram_budget;
  unsigned merge_factor;
  char **pos; /* positional arguments (compacted into argv) */
  int npos;
} cli_args;

/* ---------------------------------------------------------------------- */
/* Context shared by the commands                                         */
/* ---------------------------------------------------------------------- */

typedef struct cli {
  const char *index_dir; /* -i, else $KIDX_INDEX if non-empty, else .kidx */
  bool index_named;      /* by -i or $KIDX_INDEX, not the .kidx default */
  /* The index's base directory, which file ids are relative to (see
   * ids.h), and the current directory, both absolute and canonical; NULL
   * when they cannot be resolved (a missing parent directory). */
  const char *base;
  const char *cwd;
} cli;

/* A growable byte buffer, for file contents and standard input. */
typedef struct byte_buf {
  char *p;
  size_t n, cap;
} byte_buf;

/* common.c: messages. */
void cli_vmessage(const char *prefix, const char *fmt, va_list ap)
    CLI_PRINTF(2, 0);
int cli_fail(int status, const char *fmt, ...) CLI_PRINTF(2, 3);
void cli_notice(const char *fmt, ...) CLI_PRINTF(1, 2);
void cli_warn(const char *fmt, ...) CLI_PRINTF(1, 2);
size_t cli_put_char(FILE *f, const unsigned char *p, size_t n);
void cli_put_text(FILE *f, const char *s, size_t len);
const char *cli_lib_message(const char *msg, kidx_status st);
double cli_now_seconds(void);
void cli_format_size(char *buf, size_t cap, uint64_t bytes);
void cli_format_count(char *buf, size_t cap, uint64_t n);
bool cli_is_space(unsigned char ch);
char *cli_join_words(char **words, int n);

/* common.c: terminals and colour.  The one place that decides whether a
 * stream gets escape sequences, so that every command (and the progress
 * line of index) follows the same rules. */
bool cli_stream_is_capable_terminal(int fd);
bool cli_color_enabled(color_mode mode, int fd);

/* common.c: paths. */
char *cli_getcwd(void);
char *cli_id_path(const cli *c, const char *id, size_t len);
char *cli_id_place(const cli *c, const char *id, size_t len);

/* common.c: options. */
const char *cli_choice_name(const choice *table, int value);
int cli_parse_options(int argc, char **argv, const opt_spec *specs,
                      const char *cmd, const char *word,
                      bool stop_at_positional, cli_args *a);

/* common.c: the index and its analysis settings. */
int cli_open_reader(const cli *c, kidx_reader **out);
int cli_open_writer(const cli *c, const kidx_analyzer *an, const cli_args *a,
                    kidx_writer **out);
bool cli_have_analyzer_opts(const analyzer_opts *o);
void cli_apply_analyzer_opts(const analyzer_opts *o, kidx_analyzer *an);
int cli_read_index_analyzer(const cli *c, const kidx_reader *r,
                            kidx_analyzer *out);
void cli_analyzer_diff(const kidx_analyzer *a, const kidx_analyzer *b,
                       char *a_buf, char *b_buf, size_t cap);

/* The commands, one per file or group of files. */
int cli_cmd_index(const cli *c, const cli_args *a);   /* cmd_index.c */
int cli_cmd_search(const cli *c, const cli_args *a);  /* cmd_search.c */
int cli_cmd_get(const cli *c, const cli_args *a);     /* cmd_get.c */
int cli_cmd_analyze(const cli *c, const cli_args *a); /* cmd_admin.c */
int cli_cmd_stats(const cli *c, const cli_args *a);
int cli_cmd_delete(const cli *c, const cli_args *a);
int cli_cmd_check(const cli *c, const cli_args *a);
int cli_cmd_optimize(const cli *c, const cli_args *a);

#endif /* KIDX_CLI_H */
