/*
 * jsonl.c -- see jsonl.h.
 *
 * Two passes over a line: the first checks the whole object and notes
 * where the "id", "title" and "body" strings start, writing nothing; the
 * second decodes just those strings in place.  Decoding never lengthens a
 * string (an escape of 2, 6 or 12 bytes gives 1 to 4 bytes), so it fits
 * where the string was.  Keeping the line intact until it is known to be
 * good lets an error's column be counted in the line as the user wrote it.
 */
#include "jsonl.h"

#include "json.h"
#include "kidx_utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { F_ID, F_TITLE, F_BODY, NFIELDS };

static const char *const FIELD_NAMES[NFIELDS] = {"id", "title", "body"};
static const char *const NOT_STRING[NFIELDS] = {"\"id\" must be a string",
                                                "\"title\" must be a string",
                                                "\"body\" must be a string"};
static const char *const DUPLICATE[NFIELDS] = {"duplicate \"id\" member",
                                               "duplicate \"title\" member",
                                               "duplicate \"body\" member"};

typedef struct parser {
  char *s;
  size_t len, pos;
  const char *what; /* the error, static text */
  size_t err_pos;   /* byte offset of the error */
} parser;

static bool error_at(parser *p, size_t pos, const char *what) {
  p->what = what;
  p->err_pos = pos;
  return false;
}

static int peek(const parser *p) {
  return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static bool is_ws(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(parser *p) {
  while (p->pos < p->len && is_ws((unsigned char)p->s[p->pos]))
    p->pos++;
}

static bool is_digit(int c) {
  return c >= '0' && c <= '9';
}

static int hex_value(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The four hex digits of a \u escape at s[at..at+4). */
static bool read_hex4(parser *p, size_t at, uint32_t *out) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; i++) {
    int h = at + i < p->len ? hex_value((unsigned char)p->s[at + i]) : -1;
    if (h < 0)
      return error_at(p, at + i, "\\u must be followed by four hex digits");
    v = v << 4 | (uint32_t)h;
  }
  *out = v;
  return true;
}

/* The string whose opening quote is at p->pos.  With decode, its value is
 * written in place from just after the quote, into *out / *out_len;
 * without, it is only checked.  Write position w never passes the read
 * position p->pos, so decoding reads nothing it has overwritten. */
static bool parse_string(parser *p, bool decode, const char **out,
                         size_t *out_len) {
  size_t start = ++p->pos, w = start;
  for (;;) {
    if (p->pos >= p->len)
      return error_at(p, p->pos, "unterminated string");
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '"') {
      p->pos++;
      if (decode) {
        *out = p->s + start;
        *out_len = w - start;
      }
      return true;
    }
    if (c < 0x20)
      return error_at(p, p->pos,
                      "control character in a string (write it as an "
                      "escape such as \\n)");
    if (c == '\\') {
      size_t at = p->pos;
      uint32_t cp;
      char ch;
      if (at + 1 >= p->len)
        return error_at(p, at + 1, "unterminated string");
      p->pos += 2;
      switch (p->s[at + 1]) {
      case '"':
      case '\\':
      case '/':
        ch = p->s[at + 1];
        break;
      case 'b':
        ch = '\b';
        break;
      case 'f':
        ch = '\f';
        break;
      case 'n':
        ch = '\n';
        break;
      case 'r':
        ch = '\r';
        break;
      case 't':
        ch = '\t';
        break;
      case 'u':
        if (!read_hex4(p, p->pos, &cp))
          return false;
        p->pos += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return error_at(p, at,
                          "\\u escape of a low surrogate without a high "
                          "surrogate before it");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo = 0;
          /* A high surrogate must be followed by a low one: together they
           * are one code point past U+FFFF.  Alone, it is no character
           * and has no UTF-8 form. */
          if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
              p->s[p->pos + 1] != 'u')
            return error_at(p, at,
                            "\\u escape of a high surrogate without a low "
                            "surrogate after it");
          if (!read_hex4(p, p->pos + 2, &lo))
            return false;
          if (lo < 0xDC00 || lo > 0xDFFF)
            return error_at(p, at,
                            "\\u escape of a high surrogate without a low "
                            "surrogate after it");
          p->pos += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (decode)
          w += kidx__utf8_encode(cp, (uint8_t *)p->s + w);
        continue;
      default:
        return error_at(p, at,
                        "invalid escape (valid: \\\" \\\\ \\/ \\b "
                        "\\f \\n \\r \\t \\uXXXX)");
      }
      if (decode)
        p->s[w++] = ch;
      continue;
    }
    if (c < 0x80) {
      if (decode)
        p->s[w++] = (char)c;
      p->pos++;
      continue;
    }
    uint32_t cp;
    size_t n =
        kidx__utf8_decode((const uint8_t *)p->s + p->pos, p->len - p->pos, &cp);
    if (cp == KIDX__UTF8_INVALID)
      return error_at(p, p->pos, "invalid UTF-8 in a string");
    if (decode)
      memmove(p->s + w, p->s + p->pos, n);
    w += n;
    p->pos += n;
  }
}

/* A number, RFC 8259 grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * Only checked: no member we use is a number. */
static bool parse_number(parser *p) {
  size_t at = p->pos;
  if (peek(p) == '-')
    p->pos++;
  if (peek(p) == '0') {
    p->pos++;
    if (is_digit(peek(p)))
      return error_at(p, at, "numbers cannot start with 0");
  } else if (is_digit(peek(p))) {
    while (is_digit(peek(p)))
      p->pos++;
  } else {
    return error_at(p, at, "invalid number");
  }
  if (peek(p) == '.') {
    p->pos++;
    if (!is_digit(peek(p)))
      return error_at(p, p->pos, "expected a digit after '.'");
    while (is_digit(peek(p)))
      p->pos++;
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    p->pos++;
    if (peek(p) == '+' || peek(p) == '-')
      p->pos++;
    if (!is_digit(peek(p)))
      return error_at(p, p->pos, "expected a digit in the exponent");
    while (is_digit(peek(p)))
      p->pos++;
  }
  return true;
}

static bool parse_literal(parser *p) {
  static const char *const words[] = {"true", "false", "null"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    size_t n = strlen(words[i]);
    if (p->len - p->pos >= n && memcmp(p->s + p->pos, words[i], n) == 0) {
      p->pos += n;
      return true;
    }
  }
  return error_at(p, p->pos, "expected a value");
}

/* `"name" :` of an object member; the name is checked, not kept. */
static bool skip_member_name(parser *p) {
  skip_ws(p);
  if (peek(p) != '"')
    return error_at(p, p->pos, "expected a member name (a string)");
  if (!parse_string(p, false, NULL, NULL))
    return false;
  skip_ws(p);
  if (peek(p) != ':')
    return error_at(p, p->pos, "expected ':' after a member name");
  p->pos++;
  return true;
}

/* Checks and skips one value of any kind at p->pos, which sits inside
 * `depth` containers.  Nested arrays and objects are followed with an
 * explicit stack rather than recursion, so no input can exhaust the C
 * stack. */
static bool skip_value(parser *p, size_t depth) {
  bool is_object[JSONL_MAX_DEPTH]; /* the open containers of this value */
  size_t top = 0;
  for (;;) {
    /* Here a value is expected. */
    skip_ws(p);
    int c = peek(p);
    if (c == '{' || c == '[') {
      if (depth + top >= JSONL_MAX_DEPTH)
        return error_at(p, p->pos,
                        "arrays and objects nested more than 64 deep");
      is_object[top++] = c == '{';
      p->pos++;
      skip_ws(p);
      if (peek(p) == (c == '{' ? '}' : ']')) {
        p->pos++;
        top--; /* an empty container: a complete value */
      } else {
        if (c == '{' && !skip_member_name(p))
          return false;
        continue;
      }
    } else if (c == '"') {
      if (!parse_string(p, false, NULL, NULL))
        return false;
    } else if (c == '-' || is_digit(c)) {
      if (!parse_number(p))
        return false;
    } else if (c < 0) {
      return error_at(p, p->pos, "unexpected end of line: expected a value");
    } else if (!parse_literal(p)) {
      return false;
    }
    /* A value is complete: close containers, or go on to the next
     * element of the innermost one. */
    for (;;) {
      if (top == 0)
        return true;
      bool obj = is_object[top - 1];
      skip_ws(p);
      c = peek(p);
      if (c == ',') {
        p->pos++;
        if (obj && !skip_member_name(p))
          return false;
        break;
      }
      if (c != (obj ? '}' : ']'))
        return error_at(p, p->pos,
                        obj ? "expected ',' or '}'" : "expected ',' or ']'");
      p->pos++;
      top--;
    }
  }
}

/* First pass: checks the line and records where each field's string
 * starts (its opening quote) in at[], or SIZE_MAX when absent. */
static bool check_line(parser *p, size_t at[NFIELDS]) {
  for (int f = 0; f < NFIELDS; f++)
    at[f] = SIZE_MAX;
  skip_ws(p);
  if (peek(p) != '{')
    return error_at(p, p->pos, "expected '{': each line must be an object");
  p->pos++;
  skip_ws(p);
  if (peek(p) == '}') {
    p->pos++;
  } else {
    for (;;) {
      skip_ws(p);
      size_t name_at = p->pos;
      if (peek(p) != '"')
        return error_at(p, p->pos, "expected a member name (a string)");
      if (!parse_string(p, false, NULL, NULL))
        return false;
      /* The name is decoded in a copy, so that the line stays intact
       * ("\u0069d" is "id" too).  Ours are short: a longer name, quotes
       * included, cannot be one of them even written with escapes. */
      int field = -1;
      size_t raw_len = p->pos - name_at;
      char name[64];
      if (raw_len <= sizeof name) {
        parser sub = {name, raw_len, 0, NULL, 0};
        const char *dec = NULL;
        size_t dec_len = 0;
        memcpy(name, p->s + name_at, raw_len);
        parse_string(&sub, true, &dec, &dec_len); /* checked already */
        for (int f = 0; f < NFIELDS; f++)
          if (dec_len == strlen(FIELD_NAMES[f]) &&
              memcmp(dec, FIELD_NAMES[f], dec_len) == 0)
            field = f;
      }
      skip_ws(p);
      if (peek(p) != ':')
        return error_at(p, p->pos, "expected ':' after a member name");
      p->pos++;
      skip_ws(p);
      if (field >= 0) {
        if (at[field] != SIZE_MAX)
          return error_at(p, name_at, DUPLICATE[field]);
        if (peek(p) != '"')
          return error_at(p, p->pos, NOT_STRING[field]);
        at[field] = p->pos;
        if (!parse_string(p, false, NULL, NULL))
          return false;
      } else if (!skip_value(p, 1)) {
        return false;
      }
      skip_ws(p);
      int c = peek(p);
      if (c == ',') {
        p->pos++;
        continue;
      }
      if (c != '}')
        return error_at(p, p->pos, "expected ',' or '}'");
      p->pos++;
      break;
    }
  }
  skip_ws(p);
  if (p->pos < p->len)
    return error_at(p, p->pos, "unexpected text after the object");
  return true;
}

bool jsonl_blank(const char *line, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!is_ws((unsigned char)line[i]))
      return false;
  return true;
}

bool jsonl_parse(char *line, size_t len, jsonl_doc *doc, char *err,
                 size_t cap) {
  parser p = {line, len, 0, NULL, 0};
  size_t at[NFIELDS];
  doc->id = doc->title = doc->body = "";
  doc->id_len = doc->title_len = doc->body_len = 0;
  if (!check_line(&p, at)) {
    /* Columns count characters (not bytes), from 1, as editors show
     * them; the line is still as read, so this is its own text. */
    size_t column = 1;
    for (size_t i = 0; i < p.err_pos && i < len; i++)
      column += ((unsigned char)line[i] & 0xC0) != 0x80;
    snprintf(err, cap, "column %zu: %s", column, p.what);
    return false;
  }
  if (at[F_ID] == SIZE_MAX) {
    snprintf(err, cap, "no \"id\" member");
    return false;
  }
  const char **out[NFIELDS] = {&doc->id, &doc->title, &doc->body};
  size_t *out_len[NFIELDS] = {&doc->id_len, &doc->title_len, &doc->body_len};
  for (int f = 0; f < NFIELDS; f++) {
    if (at[f] == SIZE_MAX)
      continue;
    p.pos = at[f];
    parse_string(&p, true, out[f], out_len[f]); /* checked: cannot fail */
  }
  if (doc->id_len == 0) {
    snprintf(err, cap, "\"id\" is empty");
    return false;
  }
  return true;
}
