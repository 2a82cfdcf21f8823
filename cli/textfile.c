/*
 * textfile.c -- reading a file as a document (see textfile.h).
 */
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A NUL byte in this many leading bytes marks a file as binary, as git and
 * grep do: text never contains NUL, and most binary formats do early. */
#define BINARY_PROBE 8192

read_result textfile_read(const char *path, byte_buf *buf, int *err,
                          struct stat *st_out) {
  /* O_NONBLOCK: if a file was replaced by a FIFO since the walk, open()
   * must not hang; on regular files it changes nothing. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return READ_ERROR;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *err = errno;
    close(fd);
    return READ_ERROR;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return READ_NOT_REGULAR;
  }
  *st_out = st;
  read_result res = READ_OK;
  bool probed = false;
  /* One spare byte, so a file that did not grow ends with one read()
   * returning 0 and no reallocation. */
  size_t want = st.st_size >= 0 && (uintmax_t)st.st_size < SIZE_MAX / 2
                    ? (size_t)st.st_size + 1
                    : 1;
  buf->n = 0;
  for (;;) {
    if (buf->n == buf->cap || buf->cap < want) {
      size_t cap = buf->cap < want ? want : buf->cap * 2;
      char *p = cap > buf->cap ? realloc(buf->p, cap) : NULL;
      if (!p) {
        *err = ENOMEM;
        res = READ_ERROR;
        break;
      }
      buf->p = p;
      buf->cap = cap;
    }
    ssize_t got = read(fd, buf->p + buf->n, buf->cap - buf->n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      *err = errno;
      res = READ_ERROR;
      break;
    }
    if (got == 0)
      break;
    buf->n += (size_t)got;
    if (!probed && buf->n >= BINARY_PROBE) {
      probed = true;
      if (memchr(buf->p, '\0', BINARY_PROBE)) {
        res = READ_BINARY;
        break;
      }
    }
  }
  close(fd);
  if (res == READ_OK && !probed && buf->n > 0 && memchr(buf->p, '\0', buf->n))
    res = READ_BINARY;
  return res;
}

void textfile_split(const char *text, size_t len, const char **title,
                    size_t *title_len, const char **body, size_t *body_len) {
  size_t pos = 0;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    pos = 3; /* UTF-8 byte order mark, written by some editors */
  *title = text + pos;
  *title_len = 0;
  while (pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len, next = nl ? end + 1 : len;
    size_t a = pos, b = end;
    while (a < b && cli_is_space((unsigned char)text[a]))
      a++;
    while (b > a && cli_is_space((unsigned char)text[b - 1]))
      b--;
    pos = next;
    if (a == b)
      continue;
    if (b - a > TEXTFILE_TITLE_MAX) {
      size_t cut = a + TEXTFILE_TITLE_MAX;
      while (cut > a && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--; /* do not split a UTF-8 sequence */
      size_t space = cut;
      while (space > a && !cli_is_space((unsigned char)text[space]))
        space--;
      if (space > a)
        cut = space;
      b = cut;
      pos = cut;
      while (b > a && cli_is_space((unsigned char)text[b - 1]))
        b--;
    }
    *title = text + a;
    *title_len = b - a;
    break;
  }
  *body = text + pos;
  *body_len = len - pos;
}
