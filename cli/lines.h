/*
 * lines.h -- reading a file or standard input one line at a time, for
 * `kidx index --jsonl` and `kidx search --batch`.
 *
 * stdio's getline() would do, but it grows its buffer without limit: a
 * file without newlines (a binary file named by mistake, a runaway
 * generator) would be read whole into memory.  This reader keeps at most
 * `max` bytes of one line and reports a longer line as too long, skipping
 * it, so memory stays bounded whatever the input.
 */
#ifndef KIDX_CLI_LINES_H
#define KIDX_CLI_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct line_reader {
  int fd;
  size_t max; /* longest line kept, in bytes */
  char *buf;  /* buf[start..end) is read but not yet returned */
  size_t cap, start, end, scan; /* scan: no '\n' in buf[start..scan) */
  bool eof, skipping;           /* skipping: inside a line longer than max */
  uint64_t lineno;              /* 1-based number of the line last returned */
  uint64_t bytes;               /* bytes read so far, for progress displays */
} line_reader;

typedef enum line_status {
  LINE_OK,       /* *line, *len hold the next line */
  LINE_TOO_LONG, /* the next line has more than max bytes: skipped */
  LINE_EOF,      /* no more lines */
  LINE_ERROR     /* read() failed: errno value returned in *err */
} line_status;

void line_reader_init(line_reader *lr, int fd, size_t max);

/* The next line, without its "\n" or "\r\n"; a last line without a
 * newline counts.  A UTF-8 byte order mark starting the first line is
 * dropped, as editors on some systems write one.  The line is writable
 * (callers decode in place) and valid until the next call.  Line numbers
 * (lr->lineno) count every line, the skipped ones included.  Memory:
 * at most max + 1 bytes, or ENOMEM through LINE_ERROR. */
line_status line_reader_next(line_reader *lr, char **line, size_t *len,
                             int *err);

void line_reader_free(line_reader *lr);

#endif
