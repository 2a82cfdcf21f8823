/*
 * report.c -- the progress line and the warnings of an index run (see
 * report.h).
 */
#include "report.h"

#include <stdarg.h>
#include <string.h>

/* Progress redraws per second at most: more is flicker and wasted writes. */
#define PROGRESS_HZ 10.0

/* How each kind is summed up: the end-of-run line when some were not
 * printed (verb, count, noun: "skipped 18,037 binary or compressed
 * files"), and its label in a breakdown.  Summaries are only printed past
 * REPORT_LIMIT, so always in the plural. */
static const struct {
  const char *verb, *noun;
  const char *label; /* NULL: not an input passed over */
} KINDS[WARN_KINDS] = {
    [WARN_UNREADABLE] = {"could not read", "files or directories",
                         "unreadable"},
    [WARN_CANNOT_INDEX] = {"could not index",
                           "files (too large, or a path too long for an id)",
                           "not indexable"},
    [WARN_BINARY] = {"skipped", "binary or compressed files",
                     "binary or compressed"},
    [WARN_NOT_REGULAR] = {"skipped", "files that are not regular files",
                          "not regular files"},
    [WARN_SYMLINK] = {"did not follow", "symbolic links", "symbolic links"},
    [WARN_INDEX_DIR] = {"skipped", "PATHs that are the index directory",
                        "the index directory"},
    /* Not an input passed over: a re-sync whose only news is a gone root
     * has said so, and is no "nothing indexed". */
    [WARN_ROOT_GONE] = {"kept the documents of", "roots that no longer exist",
                        NULL},
    [WARN_IGNORE_FILE] = {"could not use", "ignore files", NULL},
};

void progress_clear(progress *p) {
  if (p->shown) {
    /* \033[K erases to the end of the line: the cursor is at column 0. */
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = false;
  }
}

void progress_draw(progress *p, size_t files, uint64_t bytes, bool force) {
  double t = cli_now_seconds();
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

/* Clears the progress line first so the warning does not end up glued to
 * it. */
void report_warn(report *r, warn_kind kind, const char *fmt, ...) {
  unsigned long n = ++r->count[kind];
  if (r->verbosity < 0 || (r->verbosity == 0 && n > REPORT_LIMIT))
    return;
  va_list ap;
  progress_clear(&r->prog);
  va_start(ap, fmt);
  cli_vmessage("kidx: warning: ", fmt, ap);
  va_end(ap);
}

void report_summary(const report *r) {
  if (r->verbosity != 0)
    return;
  for (int k = 0; k < WARN_KINDS; k++) {
    if (r->count[k] <= REPORT_LIMIT)
      continue;
    char n[32];
    cli_format_count(n, sizeof n, r->count[k]);
    cli_warn("%s %s %s (--verbose lists them)", KINDS[k].verb, n,
             KINDS[k].noun);
  }
}

bool report_any(const report *r) {
  for (int k = 0; k < WARN_KINDS; k++)
    if (r->count[k] && KINDS[k].label)
      return true;
  return false;
}

void report_breakdown(const report *r, char *buf, size_t cap) {
  for (int k = 0; k < WARN_KINDS; k++) {
    if (!r->count[k] || !KINDS[k].label)
      continue;
    size_t len = strlen(buf);
    char n[32];
    cli_format_count(n, sizeof n, r->count[k]);
    snprintf(buf + len, cap - len, "%s%s: %s", len ? ", " : "", KINDS[k].label,
             n);
  }
}
