/*
 * report.c -- the progress line and the warnings of an index run (see
 * report.h).
 */
#include "report.h"

#include <stdarg.h>

/* Progress redraws per second at most: more is flicker and wasted writes. */
#define PROGRESS_HZ 10.0

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
void report_warn(report *r, const char *fmt, ...) {
  va_list ap;
  progress_clear(&r->prog);
  va_start(ap, fmt);
  cli_vmessage("kidx: warning: ", fmt, ap);
  va_end(ap);
}
