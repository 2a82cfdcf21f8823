/*
 * json.h -- JSON output, shared by the kidx commands
 * (search and stats print JSON; index reads JSON Lines and checks its
 * strings with the same UTF-8 rules: the library's, from kidx_utf8.h).
 */
#ifndef KIDX_CLI_JSON_H
#define KIDX_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s[0..len) as a JSON string.  Output is always valid JSON: quotes,
 * backslashes and controls are escaped and invalid UTF-8 bytes become
 * \ufffd (JSON text must be Unicode; a raw invalid byte makes strict
 * parsers reject the whole line). */
void json_put_string(FILE *f, const char *s, size_t len);

/* True if s[0..len) is well-formed UTF-8 throughout (kidx__utf8_decode's
 * rules). */
bool json_is_utf8(const char *s, size_t len);

/* Writes a document id: a JSON string when it is valid UTF-8, else the
 * object {"bytes":"BASE64"} holding the raw bytes in standard, padded
 * base64 (RFC 4648), ripgrep's form for such paths.  Ids of files are
 * their names, which are bytes; json_put_string would turn the invalid
 * ones into U+FFFD, and an id read back that way names no document. */
void json_put_id(FILE *f, const char *s, size_t len);

/* Reads back an id written by json_put_id: s[0..len) is one JSON value,
 * a string (RFC 8259: escapes decoded, strict UTF-8, no raw control
 * characters) or an object with the single member "bytes" whose value is
 * standard padded base64, with JSON whitespace around tokens allowed.  On
 * success *out (malloc'ed, NUL-terminated for convenience, freed by the
 * caller) and *out_len hold the id's bytes, which may contain NUL.  On
 * failure returns false with a short reason in err[0..cap), e.g.
 * "invalid base64 in \"bytes\"". */
bool json_parse_id(const char *s, size_t len, char **out, size_t *out_len,
                   char *err, size_t cap);

/* Where byte `off` of s[0..len) lands in the UTF-8 text a JSON reader
 * decodes from json_put_string(s, len): the same offset, plus two bytes
 * for each invalid byte before it (U+FFFD takes three).  Offsets printed
 * next to a string must index the string the reader sees. */
size_t json_decoded_offset(const char *s, size_t len, size_t off);

/* Writes a double as a JSON number: the shortest of %.15g..%.17g that
 * reads back as the same value; null for NaN and infinities, which JSON
 * cannot write. */
void json_put_number(FILE *f, double x);

#endif
