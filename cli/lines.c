/*
 * lines.c -- see lines.h.
 */
#include "lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* First buffer size: most lines (queries, small documents) fit, and a
 * read() of this size is cheap. */
#define LINE_CHUNK 65536

void line_reader_init(line_reader *lr, int fd, size_t max) {
  memset(lr, 0, sizeof *lr);
  lr->fd = fd;
  lr->max = max;
}

void line_reader_free(line_reader *lr) {
  free(lr->buf);
  lr->buf = NULL;
  lr->cap = lr->start = lr->end = lr->scan = 0;
}

line_status line_reader_next(line_reader *lr, char **line, size_t *len,
                             int *err) {
  for (;;) {
    char *nl = lr->scan < lr->end
                   ? memchr(lr->buf + lr->scan, '\n', lr->end - lr->scan)
                   : NULL;
    if (nl || (lr->eof && (lr->end > lr->start || lr->skipping))) {
      size_t stop = nl ? (size_t)(nl - lr->buf) : lr->end, from = lr->start;
      lr->start = lr->scan = nl ? stop + 1 : stop;
      lr->lineno++;
      if (lr->skipping || stop - from > lr->max) {
        lr->skipping = false;
        return LINE_TOO_LONG;
      }
      char *p = lr->buf + from;
      size_t n = stop - from;
      if (n > 0 && p[n - 1] == '\r')
        n--;
      if (lr->lineno == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        n -= 3;
      }
      *line = p;
      *len = n;
      return LINE_OK;
    }
    if (lr->eof)
      return LINE_EOF;
    lr->scan = lr->end;
    if (lr->end - lr->start > lr->max) {
      /* Over the limit with no newline yet: forget what we have and
       * read on to the end of this line without keeping it. */
      lr->skipping = true;
      lr->start = lr->scan = lr->end = 0;
    }
    if (lr->start > 0) {
      memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
      lr->end -= lr->start;
      lr->scan -= lr->start;
      lr->start = 0;
    }
    if (lr->end == lr->cap) {
      /* end <= max here, so the buffer can grow up to max + 1 bytes: room
       * for a line of max bytes and its newline. */
      size_t limit = lr->max < SIZE_MAX - 1 ? lr->max + 1 : SIZE_MAX;
      size_t cap = lr->cap ? lr->cap * 2 : LINE_CHUNK;
      if (cap > limit || cap < lr->cap)
        cap = limit;
      char *p = realloc(lr->buf, cap);
      if (!p) {
        *err = ENOMEM;
        return LINE_ERROR;
      }
      lr->buf = p;
      lr->cap = cap;
    }
    ssize_t got = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      *err = errno;
      return LINE_ERROR;
    }
    if (got == 0)
      lr->eof = true;
    lr->end += (size_t)got;
    lr->bytes += (uint64_t)got;
  }
}
