/*
 * report.h -- what an index run tells the user while it runs: the
 * progress line on a terminal and the warnings about inputs that were not
 * indexed, with their tallies.
 *
 * The walk (walk.c), the file reading of cmd_index.c and the JSON Lines
 * reader (index_jsonl.c) all report through one `report`, so that a
 * warning always clears the progress line first and every skipped input
 * is counted once, whoever found it.
 */
#ifndef KIDX_CLI_REPORT_H
#define KIDX_CLI_REPORT_H

#include "cli.h"

/* Progress on a terminal: "\r" redraws the line in place. */
typedef struct progress {
  bool enabled;         /* stderr is a terminal */
  bool shown;           /* a progress line is on screen now */
  double start, last;   /* times of the start and of the last redraw */
  size_t total_files;   /* from the walk */
  uint64_t total_bytes; /* from the walk */
} progress;

typedef struct report {
  progress prog;
  unsigned long unreadable; /* inputs that could not be read: exit 4 */
  unsigned long skipped;    /* inputs not indexed, for any reason */
} report;

/* Erases the progress line, if one is shown. */
void progress_clear(progress *p);

/* Redraws the progress line with files and bytes done, at most
 * PROGRESS_HZ times a second unless force. */
void progress_draw(progress *p, size_t files, uint64_t bytes, bool force);

/* A warning about one input ("kidx: warning: ..."); the run goes on.
 * Counts nothing: the caller tallies the input. */
void report_warn(report *r, const char *fmt, ...) CLI_PRINTF(2, 3);

#endif
