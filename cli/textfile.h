/*
 * textfile.h -- a file as a document: reading it whole, telling text from
 * binary, and splitting it into title and body.
 */
#ifndef KIDX_CLI_TEXTFILE_H
#define KIDX_CLI_TEXTFILE_H

#include "cli.h"

#include <sys/stat.h>

typedef enum read_result {
  READ_OK,
  READ_BINARY,
  READ_NOT_REGULAR,
  READ_ERROR /* errno value in *err */
} read_result;

/* Reads a whole file into buf, and its status at open into *st.  A NUL
 * byte in the first 8 KiB marks it binary; reading stops there, so a
 * large image or archive in a tree costs one 8 KiB read. */
read_result textfile_read(const char *path, byte_buf *buf, int *err,
                          struct stat *st);

/* Splits a text file into title (its first non-empty line, trimmed, at
 * most TEXTFILE_TITLE_MAX bytes) and body (everything after the title).
 * When the line is too long, the title is cut at the last space before the
 * limit (else at a UTF-8 character boundary) and the body starts right
 * after the cut, so every word of the file stays searchable. */
void textfile_split(const char *text, size_t len, const char **title,
                    size_t *title_len, const char **body, size_t *body_len);

/* The title is shown on one line with each hit; a first line longer than
 * this is cut (at a word or at least a UTF-8 boundary). */
#define TEXTFILE_TITLE_MAX 512

#endif
