/*
 * jsonl.h -- the documents of `kidx index --jsonl`: one JSON object per
 * line (JSON Lines, RFC 8259 values), with string members "id" (required,
 * not empty), "title" and "body" (optional, default ""); other members are
 * checked for well-formedness and ignored.
 *
 * The parser is strict (RFC 8259 grammar, UTF-8 only, no duplicate
 * id/title/body members, no lone surrogates) because a document that
 * parses "roughly" would be indexed under a wrong id or with garbled text,
 * silently; rejecting the line with its column lets the user fix the
 * generator.  It allocates nothing, recurses nowhere (nested values of
 * ignored members are skipped with a fixed-size stack, at most
 * JSONL_MAX_DEPTH deep), and decodes strings in place in the line.
 */
#ifndef KIDX_CLI_JSONL_H
#define KIDX_CLI_JSONL_H

#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting of arrays and objects in a line, the line's own object
 * included: generous for real data, and bounds the parser's stack. */
#define JSONL_MAX_DEPTH 64

typedef struct jsonl_doc {
  const char *id, *title, *body; /* decoded UTF-8, pointing into the line */
  size_t id_len, title_len, body_len;
} jsonl_doc;

/* Parses line[0..len) (without its newline) into *doc, decoding the
 * strings in place, so line is changed and doc points into it.  On error
 * returns false with a one-line description in err[0..cap), such as
 * "JSON error at column 12: expected ':' after a member name" or
 * "no \"id\" member". */
bool jsonl_parse(char *line, size_t len, jsonl_doc *doc, char *err, size_t cap);

/* True if line[0..len) holds only JSON whitespace: such lines are skipped
 * rather than reported (editors leave a trailing empty line). */
bool jsonl_blank(const char *line, size_t len);

#endif
