/*
 * analyze.c -- the analysis pipeline, shared by documents (writer.c) and
 * queries (search.c) so that both always produce the same terms:
 *
 *   bytes --utf8--> characters --charclass--> words --fold--> lower case
 *         --length cap--> --stem--> terms, with positions and byte offsets
 *
 * Word rules (this version; the analysis issue extends them):
 *   - a word is a maximal run of word characters (letters, marks, digits);
 *   - an apostrophe (U+0027 or U+2019) between two word characters stays
 *     in the word as U+0027, so "Kaspersky's" and "O'Neil" are one word and
 *     the stemmer's possessive rule (Porter2 step 0) sees them;
 *   - an invalid UTF-8 byte is a separator (see utf8.c);
 *   - a word longer than KIDX_MAX_TOKEN_BYTES after folding is dropped but
 *     still takes a position, so positions stay faithful to the text.
 * Offsets are those of the original bytes, before folding or stemming.
 */
#include "kidx_int.h"

/* Bytes of room for a folded word: the cap plus one more character, which
 * is how we notice that a word went over the cap. */
#define WORD_BUF (KIDX_MAX_TOKEN_BYTES + 4)

typedef struct word_state {
  char buf[WORD_BUF];
  size_t len;   /* bytes in buf */
  int too_long; /* the word exceeded the cap: drop it */
  size_t start; /* input offset of the word's first byte */
} word_state;

static void word_push(word_state *w, uint32_t cp) {
  if (w->too_long)
    return;
  if (cp < 0x80) {
    if (w->len >= KIDX_MAX_TOKEN_BYTES) {
      w->too_long = 1;
      return;
    }
    w->buf[w->len++] = (char)cp;
    return;
  }
  uint8_t enc[4];
  size_t n = kidx__utf8_encode(cp, enc);
  if (w->len + n > KIDX_MAX_TOKEN_BYTES) {
    w->too_long = 1;
    return;
  }
  memcpy(w->buf + w->len, enc, n);
  w->len += n;
}

/* Decodes the character at text[i]; ASCII takes the short path. */
static size_t next_char(const uint8_t *text, size_t len, size_t i,
                        uint32_t *cp) {
  if (text[i] < 0x80) {
    *cp = text[i];
    return 1;
  }
  return kidx__utf8_decode(text + i, len - i, cp);
}

static int is_apostrophe(uint32_t cp) {
  return cp == 0x27 || cp == 0x2019;
}

int kidx__analyze(const char *text, size_t len, uint32_t first_pos,
                  uint32_t *next_pos, kidx__token_fn fn, void *ctx) {
  const uint8_t *t = (const uint8_t *)text;
  uint32_t pos = first_pos;
  word_state w;
  int in_word = 0, rc = 0;
  size_t i = 0;
  w.len = 0;
  w.too_long = 0;
  w.start = 0;

  while (i <= len) {
    uint32_t cp = 0;
    size_t n = 0;
    int word_char = 0;
    if (i < len) {
      n = next_char(t, len, i, &cp);
      if (cp < 0x80) {
        uint32_t lower = cp | 0x20;
        word_char = (lower >= 'a' && lower <= 'z') || (cp >= '0' && cp <= '9');
        if (word_char && cp >= 'A' && cp <= 'Z')
          cp = lower;
      } else {
        word_char = kidx__char_is_word(cp);
        if (word_char)
          cp = kidx__char_fold(cp);
      }
    }
    if (word_char) {
      if (!in_word) {
        in_word = 1;
        w.len = 0;
        w.too_long = 0;
        w.start = i;
      }
      word_push(&w, cp);
      i += n;
      continue;
    }
    if (in_word && i < len && is_apostrophe(cp) && i + n < len) {
      /* Keep the apostrophe only when a word character follows it. */
      uint32_t next;
      next_char(t, len, i + n, &next);
      if (next != KIDX__UTF8_INVALID && kidx__char_is_word(next)) {
        word_push(&w, '\'');
        i += n;
        continue;
      }
    }
    if (in_word) {
      in_word = 0;
      if (!w.too_long) {
        kidx__token tok;
        tok.len = kidx__stem_english(w.buf, w.len);
        tok.text = w.buf;
        tok.start = w.start;
        tok.end = i;
        tok.pos = pos;
        /* A word that stems to nothing (only apostrophes cannot occur, but
         * be defensive) yields no token. */
        if (tok.len > 0 && (rc = fn(ctx, &tok)) != 0)
          break;
      }
      pos++;
    }
    if (i == len)
      break;
    i += n;
  }
  if (next_pos)
    *next_pos = pos;
  return rc;
}
