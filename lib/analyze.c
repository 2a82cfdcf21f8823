/*
 * analyze.c -- the analysis pipeline, shared by documents (memindex.c),
 * queries (search.c) and kidx_analyze() (analyzer.c), so that all three
 * always produce the same terms:
 *
 *   bytes --utf8--> characters --segment--> words and CJK runs
 *         --normalise (case fold, diacritics)--> --length cap-->
 *         --stop words--> --stem--> terms, with positions and byte offsets
 *
 * Segmentation rules:
 *   - a word is a maximal run of word characters (letters, combining marks,
 *     digits and other numbers, in any script);
 *   - an apostrophe (U+0027 or U+2019) between two word characters stays
 *     in the word as U+0027 ("Kaspersky's", "O'Neil"), so that Porter2's
 *     possessive rule sees it;
 *   - a '.' or ',' between two digits stays in the word ("3.5", "1,000"),
 *     as UAX #29's MidNum rule does;
 *   - everything else separates words: spaces, punctuation (so hyphenated
 *     words, e-mail addresses and URLs index as their parts), symbols,
 *     emoji, control characters and invalid UTF-8 bytes (see utf8.c);
 *   - Han ideographs, Hiragana and Katakana are written without spaces, so
 *     a run of them is indexed as overlapping bigrams (as Lucene's
 *     CJKBigramFilter does), one position per character; a lone character
 *     is indexed on its own.  A two-character query word is then one bigram
 *     that matches inside any longer run.
 * Every word takes a position, including stop words and words over
 * KIDX_MAX_TOKEN_BYTES (which are dropped, not truncated: a truncated
 * prefix would match unrelated words), so phrase positions stay faithful.
 * Offsets are those of the original bytes, before any normalisation.
 */
#include "kidx_int.h"

/* Character classes, as the segmenter sees them. */
enum {
  C_SEP,   /* separates words */
  C_WORD,  /* letter, combining mark, non-decimal number */
  C_DIGIT, /* decimal digit */
  C_CJK,   /* written without spaces: indexed as bigrams */
  C_APOS,  /* apostrophe: inside a word between word characters */
  C_MIDNUM /* '.' ',': inside a word between digits */
};

/* Classes of ASCII characters: the fast path for most text. */
static const uint8_t ascii_class[128] = {
    ['0'] = C_DIGIT,  ['1'] = C_DIGIT, ['2'] = C_DIGIT, ['3'] = C_DIGIT,
    ['4'] = C_DIGIT,  ['5'] = C_DIGIT, ['6'] = C_DIGIT, ['7'] = C_DIGIT,
    ['8'] = C_DIGIT,  ['9'] = C_DIGIT, ['A'] = C_WORD,  ['B'] = C_WORD,
    ['C'] = C_WORD,   ['D'] = C_WORD,  ['E'] = C_WORD,  ['F'] = C_WORD,
    ['G'] = C_WORD,   ['H'] = C_WORD,  ['I'] = C_WORD,  ['J'] = C_WORD,
    ['K'] = C_WORD,   ['L'] = C_WORD,  ['M'] = C_WORD,  ['N'] = C_WORD,
    ['O'] = C_WORD,   ['P'] = C_WORD,  ['Q'] = C_WORD,  ['R'] = C_WORD,
    ['S'] = C_WORD,   ['T'] = C_WORD,  ['U'] = C_WORD,  ['V'] = C_WORD,
    ['W'] = C_WORD,   ['X'] = C_WORD,  ['Y'] = C_WORD,  ['Z'] = C_WORD,
    ['a'] = C_WORD,   ['b'] = C_WORD,  ['c'] = C_WORD,  ['d'] = C_WORD,
    ['e'] = C_WORD,   ['f'] = C_WORD,  ['g'] = C_WORD,  ['h'] = C_WORD,
    ['i'] = C_WORD,   ['j'] = C_WORD,  ['k'] = C_WORD,  ['l'] = C_WORD,
    ['m'] = C_WORD,   ['n'] = C_WORD,  ['o'] = C_WORD,  ['p'] = C_WORD,
    ['q'] = C_WORD,   ['r'] = C_WORD,  ['s'] = C_WORD,  ['t'] = C_WORD,
    ['u'] = C_WORD,   ['v'] = C_WORD,  ['w'] = C_WORD,  ['x'] = C_WORD,
    ['y'] = C_WORD,   ['z'] = C_WORD,  ['\''] = C_APOS, ['.'] = C_MIDNUM,
    [','] = C_MIDNUM,
};

/* Code points of a word kept for normalisation.  A word longer than this
 * cannot fit KIDX_MAX_TOKEN_BYTES after normalisation except through long
 * runs of removable marks, and is treated as over-long. */
#define WORD_CPS (4 * KIDX_MAX_TOKEN_BYTES)
/* Room for the normalised form: case folding and decomposition expand. */
#define NORM_CPS (KIDX__UC_MAX_EXPANSION * WORD_CPS)

typedef struct analysis {
  const kidx__analyzer *an;
  const uint8_t *text;
  size_t len;
  kidx__token_fn fn;
  void *ctx;
  uint32_t pos;
  /* the word being collected */
  size_t start; /* byte offset of its first character */
  uint32_t cps[WORD_CPS];
  size_t ncps;
  int ascii; /* only ASCII so far: skip Unicode normalisation */
  int too_long;
  /* scratch for the normalised term */
  uint32_t norm[NORM_CPS];
  char term[KIDX_MAX_TOKEN_BYTES + 4];
} analysis;

/* The segmentation class of a non-ASCII character (unicode.c). */
static int class_of(uint32_t cp) {
  if (cp == 0x2019) /* right single quotation mark, the typographic ' */
    return C_APOS;
  switch (KIDX__UC_CLASS(kidx__uc_props(cp))) {
  case KIDX__UC_LETTER:
  case KIDX__UC_MARK:
  case KIDX__UC_NUMBER_OTHER:
    return C_WORD;
  case KIDX__UC_DIGIT:
    return C_DIGIT;
  case KIDX__UC_CJK:
    return C_CJK;
  default:
    return C_SEP;
  }
}

static int is_mark(uint32_t cp) {
  return KIDX__UC_CLASS(kidx__uc_props(cp)) == KIDX__UC_MARK;
}

/* Decodes the character at text[i]; returns its length and class. */
static size_t next_char(const analysis *a, size_t i, uint32_t *cp, int *cls) {
  uint8_t b = a->text[i];
  if (b < 0x80) {
    *cp = b;
    *cls = ascii_class[b];
    return 1;
  }
  size_t n = kidx__utf8_decode(a->text + i, a->len - i, cp);
  *cls = class_of(*cp);
  return n;
}

/* Emits one term (already normalised, UTF-8 in t[0..n)). */
static int emit(analysis *a, char *t, size_t n, size_t start, size_t end,
                uint32_t pos) {
  kidx__token tok;
  if (a->an->flags & KIDX__AN_OFFSETS) {
    /* Every word, as written: positions and offsets are all wanted. */
    tok.text = (const char *)a->text + start;
    tok.len = end - start;
    tok.start = start;
    tok.end = end;
    tok.pos = pos;
    tok.slot = NULL;
    return a->fn(a->ctx, &tok);
  }
  if (n == 0 || n > KIDX_MAX_TOKEN_BYTES)
    return 0;
  if ((a->an->flags & KIDX__AN_STOP_ENGLISH) && kidx__stopword_english(t, n))
    return 0;
  tok.slot = NULL;
  if (a->an->flags & KIDX__AN_STEM_ENGLISH)
    n = kidx__stemcache_stem(a->an->cache, t, n, &tok.slot);
  if (n == 0)
    return 0;
  tok.text = t;
  tok.len = n;
  tok.start = start;
  tok.end = end;
  tok.pos = pos;
  return a->fn(a->ctx, &tok);
}

/* Normalises cps[0..n) into a->term as UTF-8; returns its byte length, or
 * KIDX_MAX_TOKEN_BYTES + 1 when it does not fit. */
static size_t normalise(analysis *a, const uint32_t *cps, size_t n, int ascii) {
  size_t out = 0;
  if (a->an->flags & KIDX__AN_OFFSETS)
    return 0; /* emit() will not look at the term */
  if (ascii) {
    /* ASCII is already in normal form; folding is just lower-casing. */
    if (n > KIDX_MAX_TOKEN_BYTES)
      return KIDX_MAX_TOKEN_BYTES + 1;
    for (size_t i = 0; i < n; i++) {
      uint32_t c = cps[i];
      a->term[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return n;
  }
  /* NORM_CPS >= WORD_CPS * KIDX__UC_MAX_EXPANSION: never too small. */
  size_t m = kidx__uc_normalize(cps, n, a->norm, NORM_CPS,
                                (a->an->flags & KIDX__AN_FOLD_DIACRITICS) != 0);
  if (m > NORM_CPS)
    return KIDX_MAX_TOKEN_BYTES + 1;
  for (size_t i = 0; i < m; i++) {
    uint8_t enc[4];
    size_t k = kidx__utf8_encode(a->norm[i], enc);
    if (out + k > KIDX_MAX_TOKEN_BYTES)
      return KIDX_MAX_TOKEN_BYTES + 1;
    memcpy(a->term + out, enc, k);
    out += k;
  }
  return out;
}

static int end_word(analysis *a, size_t end) {
  int rc = 0;
  if (!a->too_long || (a->an->flags & KIDX__AN_OFFSETS)) {
    size_t n = normalise(a, a->cps, a->ncps, a->ascii);
    rc = emit(a, a->term, n, a->start, end, a->pos);
  }
  a->pos++;
  a->ncps = 0;
  return rc;
}

static void push_cp(analysis *a, uint32_t cp) {
  if (a->ncps == WORD_CPS) {
    a->too_long = 1;
    return;
  }
  a->cps[a->ncps++] = cp;
  if (cp >= 0x80)
    a->ascii = 0;
}

/* A CJK run: characters (each with any combining marks that follow it,
 * e.g. a voicing mark) indexed as overlapping bigrams.  Returns the offset
 * just past the run. */
static size_t cjk_run(analysis *a, size_t i, int *rc) {
  /* The previous unit: its code points and byte span. */
  uint32_t prev[8];
  size_t nprev = 0, prev_start = 0;
  size_t units = 0;
  *rc = 0;
  while (i < a->len) {
    uint32_t cp;
    int cls;
    size_t n = next_char(a, i, &cp, &cls);
    if (cls != C_CJK)
      break;
    /* Gather this unit: the character and following marks. */
    uint32_t cur[8];
    size_t ncur = 0, start = i;
    cur[ncur++] = cp;
    i += n;
    while (i < a->len) {
      uint32_t m;
      int mcls;
      size_t mn = next_char(a, i, &m, &mcls);
      if (!is_mark(m))
        break;
      if (ncur < 8)
        cur[ncur++] = m;
      i += mn;
    }
    if (nprev > 0) {
      uint32_t pair[16];
      memcpy(pair, prev, nprev * sizeof *pair);
      memcpy(pair + nprev, cur, ncur * sizeof *pair);
      size_t len = normalise(a, pair, nprev + ncur, 0);
      if ((*rc = emit(a, a->term, len, prev_start, i, a->pos)) != 0)
        return i;
      a->pos++;
    }
    memcpy(prev, cur, ncur * sizeof *prev);
    nprev = ncur;
    prev_start = start;
    units++;
  }
  if (units == 1) {
    size_t len = normalise(a, prev, nprev, 0);
    *rc = emit(a, a->term, len, prev_start, i, a->pos);
  }
  /* The last character's position (the one no bigram starts at). */
  a->pos++;
  return i;
}

int kidx__analyze(const kidx__analyzer *an, const char *text, size_t len,
                  uint32_t first_pos, uint32_t *next_pos, kidx__token_fn fn,
                  void *ctx) {
  analysis a;
  int rc = 0, in_word = 0, prev_digit = 0;
  size_t i = 0;
  a.an = an;
  a.text = (const uint8_t *)text;
  a.len = len;
  a.fn = fn;
  a.ctx = ctx;
  a.pos = first_pos;
  a.ncps = 0;

  while (i < len && rc == 0) {
    uint32_t cp;
    int cls;
    size_t n = next_char(&a, i, &cp, &cls);
    if (cls == C_WORD || cls == C_DIGIT) {
      if (!in_word) {
        in_word = 1;
        a.start = i;
        a.ascii = 1;
        a.too_long = 0;
      }
      push_cp(&a, cp);
      prev_digit = cls == C_DIGIT;
      i += n;
      continue;
    }
    if (in_word && (cls == C_APOS || cls == C_MIDNUM) && i + n < len) {
      /* Joiners stay inside a word when the right character follows. */
      uint32_t next;
      int ncls;
      next_char(&a, i + n, &next, &ncls);
      int keep = cls == C_APOS ? (ncls == C_WORD || ncls == C_DIGIT)
                               : (prev_digit && ncls == C_DIGIT);
      if (keep) {
        push_cp(&a, cls == C_APOS ? '\'' : cp);
        i += n;
        continue;
      }
    }
    if (in_word) {
      in_word = 0;
      if ((rc = end_word(&a, i)) != 0)
        break;
    }
    if (cls == C_CJK) {
      i = cjk_run(&a, i, &rc);
      continue;
    }
    i += n;
  }
  if (in_word && rc == 0)
    rc = end_word(&a, i);
  if (next_pos)
    *next_pos = a.pos;
  return rc;
}
