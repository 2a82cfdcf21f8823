/*
 * report.h -- what an index run tells the user while it runs: the
 * progress line on a terminal, the warnings about inputs that were not
 * indexed, and their tallies.
 *
 * The walk (walk.c), the file reading of cmd_index.c and the JSON Lines
 * reader (index_jsonl.c) all report through one `report`, so that a
 * warning always clears the progress line first and every skipped input
 * is counted once, whoever found it.
 *
 * Warnings are rationed per kind, as ripgrep and fd do: a tree of 18,000
 * compressed man pages must not bury the one unreadable file under 18,000
 * lines.  The first REPORT_LIMIT of each kind are printed, and
 * report_summary() ends the run with one line per kind that had more.
 * --verbose prints them all, --quiet none (errors are not warnings: they
 * always print).
 */
#ifndef KIDX_CLI_REPORT_H
#define KIDX_CLI_REPORT_H

#include "cli.h"

/* Warnings of one kind printed one by one before they are only counted:
 * enough to see the pattern (or the odd one out), few enough to read. */
#define REPORT_LIMIT 5

/* Progress on a terminal: "\r" redraws the line in place. */
typedef struct progress {
  bool enabled;         /* stderr is a capable terminal (TERM set, not
                           dumb: cli_stream_is_capable_terminal) */
  bool shown;           /* a progress line is on screen now */
  double start, last;   /* times of the start and of the last redraw */
  size_t total_files;   /* from the walk */
  uint64_t total_bytes; /* from the walk */
} progress;

/* The kinds of warnings, each printed and summed up on its own. */
typedef enum warn_kind {
  WARN_UNREADABLE,   /* an input that could not be read (exit status 4) */
  WARN_CANNOT_INDEX, /* the library refused a file's document (exit 4) */
  WARN_BINARY,       /* a NUL byte early in the file */
  WARN_NOT_REGULAR,  /* a device, FIFO or socket */
  WARN_SYMLINK,      /* a symbolic link met while walking: not followed */
  WARN_INDEX_DIR,    /* a PATH that is the index directory itself */
  WARN_ROOT_GONE,    /* a recorded root gone at a re-sync (exit 4) */
  WARN_IGNORE_FILE,  /* an ignore file that could not be read: not an
                        input, so not counted as one passed over */
  WARN_KINDS
} warn_kind;

typedef struct report {
  progress prog;
  int verbosity;                   /* -1 --quiet, 0 default, 1 --verbose */
  unsigned long unreadable;        /* inputs that could not be read: exit 4 */
  unsigned long skipped;           /* files not indexed, for any reason */
  unsigned long count[WARN_KINDS]; /* warnings of each kind, printed or not */
} report;

/* Erases the progress line, if one is shown. */
void progress_clear(progress *p);

/* Redraws the progress line with files and bytes done, at most
 * PROGRESS_HZ times a second unless force. */
void progress_draw(progress *p, size_t files, uint64_t bytes, bool force);

/* A warning of this kind about one input ("kidx: warning: ..."), printed
 * when the verbosity and the kind's ration allow; the run goes on.
 * Counts the kind only: the caller tallies skipped and unreadable. */
void report_warn(report *r, warn_kind kind, const char *fmt, ...)
    CLI_PRINTF(3, 4);

/* At the end of the run: one line per kind of which some warnings were
 * not printed, "kidx: warning: skipped 18,037 binary or compressed files
 * (--verbose lists them)".  Nothing with --quiet or --verbose. */
void report_summary(const report *r);

/* Whether any input was passed over with a warning (an unreadable ignore
 * file is not an input). */
bool report_any(const report *r);

/* Appends to buf the warnings' counts per kind, "binary or compressed:
 * 18,037, unreadable: 2", for the message of a run that indexed nothing. */
void report_breakdown(const report *r, char *buf, size_t cap);

#endif
