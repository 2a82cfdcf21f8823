/*
 * stem.c -- the Snowball English ("Porter2") stemmer.
 *
 * Owns kidx__stem_english().  lib/analyze.c calls it for every token, of
 * documents and queries alike, after case folding and the length cap, so
 * both sides of a search conflate "connected", "connecting", "connection"
 * to the same term "connect".
 *
 * Written from the published algorithm, "The English (Porter2) stemming
 * algorithm", https://snowballstem.org/algorithms/english/stemmer.html, in
 * the revision of Snowball 3.0: R1 prefixes past/univers/later/emerg/organ/
 * inter, -ogist, the "evening" exception, no undoubling after a lone a/e/o.
 * The step names below (Step 0, 1a, 1b, 1c, 2, 3, 4, 5) are the spec's.
 * tests/check_stem.c checks every word of the Snowball project's sample
 * vocabulary (tests/data/snowball-english) against the project's output.
 *
 * Bytes: the spec is written for the letters a-z and the apostrophe.  Every
 * other byte is taken as a non-vowel letter, so a UTF-8 letter behaves like
 * a consonant, as in Snowball's own UTF-8 stemmer; the difference is that
 * this one counts bytes, not characters, so a word with a non-ASCII letter
 * near a rule's boundary (the three-letter minimum, "hop 2" in Step 1a) can
 * stem differently from libstemmer.  Vocabulary and queries go through the
 * same function, so matching is unaffected.
 *
 * Every rule replaces a suffix with something no longer, so the word only
 * ever shrinks: the stemmer works in place and never touches a byte at or
 * beyond the original length.  Cost: O(len), no allocation, no state.
 */
#include "kidx_int.h"

/* Letter classes of the spec, one bit each. */
enum {
  L_V = 1,    /* a e i o u y: the vowels */
  L_WXY = 2,  /* w x Y: not the last letter of a short syllable (a) */
  L_AEO = 4,  /* a e o: "add", "egg", "off" keep their double (Step 1b) */
  L_LI = 8,   /* c d e g h k m n r t: valid li-endings (Step 2) */
  L_DBL = 16, /* b d f g m n p r t: the doubles Step 1b undoes */
};

/* 'Y' is the spec's marker for a consonant y (see prelude()); it is a
 * non-vowel.  Every byte not listed is a plain non-vowel. */
static const unsigned char letter_class[256] = {
    ['a'] = L_V | L_AEO,
    ['b'] = L_DBL,
    ['c'] = L_LI,
    ['d'] = L_LI | L_DBL,
    ['e'] = L_V | L_AEO | L_LI,
    ['f'] = L_DBL,
    ['g'] = L_LI | L_DBL,
    ['h'] = L_LI,
    ['i'] = L_V,
    ['k'] = L_LI,
    ['m'] = L_LI | L_DBL,
    ['n'] = L_LI | L_DBL,
    ['o'] = L_V | L_AEO,
    ['p'] = L_DBL,
    ['r'] = L_LI | L_DBL,
    ['t'] = L_LI | L_DBL,
    ['u'] = L_V,
    ['w'] = L_WXY,
    ['x'] = L_WXY,
    ['y'] = L_V,
    ['Y'] = L_WXY,
};

/* The word being stemmed: w[0..len) plus the starts of the regions R1 and
 * R2 as offsets.  The regions are fixed once, before Step 0, as the spec
 * says; a suffix is "in R1" when it starts at or after p1. */
typedef struct stem_word {
  char *w;
  size_t len;
  size_t p1;
  size_t p2;
} stem_word;

static int is(const char *w, size_t i, unsigned cls) {
  return (letter_class[(unsigned char)w[i]] & cls) != 0;
}

static int is_vowel(const char *w, size_t i) {
  return is(w, i, L_V);
}

static int ends_with(const char *w, size_t len, const char *suf, size_t n) {
  return len >= n && memcmp(w + len - n, suf, n) == 0;
}

static int equals(const char *w, size_t len, const char *s, size_t n) {
  return len == n && memcmp(w, s, n) == 0;
}

/* Replaces the word's tail from offset `at` with rep[0..n); n must not
 * exceed len - at (every rule of the spec shortens or keeps the length). */
static void replace_tail(stem_word *s, size_t at, const char *rep, size_t n) {
  memcpy(s->w + at, rep, n);
  s->len = at + n;
}

/* Offset just after the first non-vowel that follows a vowel at or after
 * `from`, or len if there is none: the spec's definition of where R1 (from
 * 0) and R2 (from R1) begin. */
static size_t region_start(const char *w, size_t len, size_t from) {
  size_t i = from;
  while (i < len && !is_vowel(w, i))
    i++;
  while (i < len && is_vowel(w, i))
    i++;
  return i < len ? i + 1 : len;
}

/* Whether w[0..n) ends with a short syllable: (a) non-vowel, vowel,
 * non-vowel other than w, x, Y; (b) a vowel at the start of the word then a
 * non-vowel; (c) "past", so that "pasted" and "pasting" give "paste" rather
 * than "past" (Snowball 3.0). */
static int ends_short_syllable(const char *w, size_t n) {
  if (n >= 3 && !is(w, n - 1, L_V | L_WXY) && is_vowel(w, n - 2) &&
      !is_vowel(w, n - 3))
    return 1;
  if (n == 2 && is_vowel(w, 0) && !is_vowel(w, 1))
    return 1;
  return ends_with(w, n, "past", 4);
}

/* Whether w[0..n) contains a vowel. */
static int has_vowel(const char *w, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (is_vowel(w, i))
      return 1;
  return 0;
}

#define S(lit) lit, sizeof(lit) - 1

/* "Exceptional forms in the English stemmer": whole words stemmed by table
 * before anything else, because the rules get them wrong ("news" is not the
 * plural of "new", "ugly" has no suffix "ly").  An empty stem means the
 * word is left as it is.  "skis" is still needed: Step 1a keeps the s of a
 * word whose only vowel is just before it. */
static const struct {
  const char *word;
  size_t word_len;
  const char *stem;
  size_t stem_len;
} exceptions[] = {
    {S("skis"), S("ski")},  {S("skies"), S("sky")},
    {S("idly"), S("idl")},  {S("gently"), S("gentl")},
    {S("ugly"), S("ugli")}, {S("early"), S("earli")},
    {S("only"), S("onli")}, {S("singly"), S("singl")},
    {S("sky"), S("")},      {S("news"), S("")},
    {S("howe"), S("")},     {S("atlas"), S("")},
    {S("cosmos"), S("")},   {S("bias"), S("")},
    {S("andes"), S("")},
};

/* Returns 1 and leaves the stem in s if the whole word is exceptional. */
static int exceptional_form(stem_word *s) {
  if (s->len < 3 || s->len > 6) /* the table's word lengths */
    return 0;
  for (size_t i = 0; i < sizeof exceptions / sizeof exceptions[0]; i++) {
    if (equals(s->w, s->len, exceptions[i].word, exceptions[i].word_len)) {
      if (exceptions[i].stem_len > 0)
        replace_tail(s, 0, exceptions[i].stem, exceptions[i].stem_len);
      return 1;
    }
  }
  return 0;
}

/* Word beginnings after which R1 starts, instead of after the usual first
 * vowel-consonant pair: without them "generous" and "generate", "universe"
 * and "university", "organ" and "organize" would share a stem. */
static const struct {
  const char *text;
  size_t len;
} r1_prefixes[] = {
    {S("gener")}, {S("commun")}, {S("arsen")}, {S("past")},  {S("univers")},
    {S("later")}, {S("emerg")},  {S("organ")}, {S("inter")},
};

/* Removes an initial apostrophe, which is quoting, not part of the word,
 * and marks consonant y as 'Y' (an initial y, or a y after a vowel), so
 * that the vowel tests below see "yes" and "saying" right.  Returns whether
 * any 'Y' was made, for the postlude to undo. */
static int prelude(stem_word *s) {
  int marked = 0;
  if (s->len > 0 && s->w[0] == '\'') {
    memmove(s->w, s->w + 1, s->len - 1);
    s->len--;
  }
  if (s->len > 0 && s->w[0] == 'y') {
    s->w[0] = 'Y';
    marked = 1;
  }
  /* Left to right, so in "ayyy" the second y, once marked, is no longer a
   * vowel before the third: "aYyY". */
  for (size_t i = 1; i < s->len; i++) {
    if (s->w[i] == 'y' && is_vowel(s->w, i - 1)) {
      s->w[i] = 'Y';
      marked = 1;
    }
  }
  return marked;
}

static void mark_regions(stem_word *s) {
  s->p1 = region_start(s->w, s->len, 0);
  for (size_t i = 0; i < sizeof r1_prefixes / sizeof r1_prefixes[0]; i++) {
    if (s->len >= r1_prefixes[i].len &&
        memcmp(s->w, r1_prefixes[i].text, r1_prefixes[i].len) == 0) {
      s->p1 = r1_prefixes[i].len;
      break; /* no prefix is a prefix of another */
    }
  }
  s->p2 = region_start(s->w, s->len, s->p1);
}

/* Step 0: the possessive endings ' 's 's', longest first. */
static void step0(stem_word *s) {
  if (ends_with(s->w, s->len, "'s'", 3))
    s->len -= 3;
  else if (ends_with(s->w, s->len, "'s", 2))
    s->len -= 2;
  else if (ends_with(s->w, s->len, "'", 1))
    s->len -= 1;
}

/* Step 1a: plurals, longest suffix first. */
static void step1a(stem_word *s) {
  char *w = s->w;
  size_t n = s->len;
  if (ends_with(w, n, "sses", 4)) {
    s->len -= 2;
  } else if (ends_with(w, n, "ied", 3) || ends_with(w, n, "ies", 3)) {
    /* "cries" -> "cri" but "ties" -> "tie": a one-letter stem keeps its
     * e. */
    size_t at = n - 3;
    if (at >= 2)
      replace_tail(s, at, S("i"));
    else
      replace_tail(s, at, S("ie"));
  } else if (ends_with(w, n, "us", 2) || ends_with(w, n, "ss", 2)) {
    /* "bus", "pass": not plurals. */
  } else if (ends_with(w, n, "s", 1)) {
    /* Delete only if a vowel comes before the letter preceding the s, so
     * "gas" and "this" keep it and "gaps" and "kiwis" lose it. */
    if (n >= 3 && has_vowel(w, n - 2))
      s->len--;
  }
}

/* What Step 1b does after removing ed/ing: restore an e lost with the
 * suffix ("luxuriat" -> "luxuriate", "hop" -> "hope"), or undo a doubled
 * consonant ("hopp" -> "hop"). */
static void step1b_tidy(stem_word *s) {
  char *w = s->w;
  size_t n = s->len;
  if (ends_with(w, n, "at", 2) || ends_with(w, n, "bl", 2) ||
      ends_with(w, n, "iz", 2)) {
    w[n] = 'e';
    s->len++;
  } else if (n >= 2 && w[n - 1] == w[n - 2] && is(w, n - 1, L_DBL)) {
    /* "add", "egg", "off" (exactly a, e or o before the double) keep it;
     * Snowball 3.0. */
    if (!(n == 3 && is(w, 0, L_AEO)))
      s->len--;
  } else if (n == s->p1 && ends_short_syllable(w, n)) {
    /* A short word: one ending in a short syllable with R1 empty. */
    w[n] = 'e';
    s->len++;
  }
}

/* Step 1b: past tenses and participles, and -ly after them.  There is room
 * for the e that step1b_tidy() may add: the suffix removed was longer. */
static void step1b(stem_word *s) {
  char *w = s->w;
  size_t n = s->len;
  size_t at;
  if (ends_with(w, n, "eedly", 5) || ends_with(w, n, "eed", 3)) {
    at = ends_with(w, n, "eedly", 5) ? n - 5 : n - 3;
    /* "proceed", "exceed", "succeed" (also after Step 1a took an s) are
     * not participles.  Either way eed is never handled as ed. */
    if (equals(w, at, "proc", 4) || equals(w, at, "exc", 3) ||
        equals(w, at, "succ", 4))
      return;
    if (at >= s->p1)
      replace_tail(s, at, S("ee"));
    return;
  }
  if (ends_with(w, n, "ingly", 5)) {
    at = n - 5;
  } else if (ends_with(w, n, "edly", 4)) {
    at = n - 4;
  } else if (ends_with(w, n, "ing", 3)) {
    at = n - 3;
    /* "dying", "lying", "tying", "vying": a consonant plus ying is a verb
     * in -ie. */
    if (at == 2 && w[1] == 'y' && !is_vowel(w, 0)) {
      replace_tail(s, 1, S("ie"));
      return;
    }
    /* "inning", "outing", "canning", "herring", "earring", "evening" are
     * nouns, not forms of "in", "out", "can", "her", "ear", "even". */
    if (equals(w, at, "inn", 3) || equals(w, at, "out", 3) ||
        equals(w, at, "cann", 4) || equals(w, at, "herr", 4) ||
        equals(w, at, "earr", 4) || equals(w, at, "even", 4))
      return;
  } else if (ends_with(w, n, "ed", 2)) {
    at = n - 2;
  } else {
    return;
  }
  /* Only a stem with a vowel loses the suffix: "bed" and "sing" stay. */
  if (!has_vowel(w, at))
    return;
  s->len = at;
  step1b_tidy(s);
}

/* Step 1c: final y (or Y) after a consonant becomes i, unless that
 * consonant is the first letter: "cry" -> "cri", but "by", "say" stay. */
static void step1c(stem_word *s) {
  char *w = s->w;
  size_t n = s->len;
  if (n >= 3 && (w[n - 1] == 'y' || w[n - 1] == 'Y') && !is_vowel(w, n - 2))
    w[n - 1] = 'i';
}

/* Extra conditions of Steps 2 to 4, tested on the letter before the
 * suffix on top of the step's region test. */
enum {
  COND_NONE,
  COND_L,  /* preceded by l (Step 2, ogi) */
  COND_LI, /* preceded by a valid li-ending (Step 2, li) */
  COND_R2, /* suffix in R2 as well (Step 3, ative) */
  COND_ST, /* preceded by s or t (Step 4, ion) */
};

typedef struct stem_rule {
  const char *suffix;
  size_t suffix_len;
  const char *rep; /* "" to delete */
  size_t rep_len;
  int cond;
} stem_rule;

/* Step 2: derivational suffixes, in R1. */
static const stem_rule step2_rules[] = {
    {S("tional"), S("tion"), COND_NONE}, {S("enci"), S("ence"), COND_NONE},
    {S("anci"), S("ance"), COND_NONE},   {S("abli"), S("able"), COND_NONE},
    {S("entli"), S("ent"), COND_NONE},   {S("izer"), S("ize"), COND_NONE},
    {S("ization"), S("ize"), COND_NONE}, {S("ational"), S("ate"), COND_NONE},
    {S("ation"), S("ate"), COND_NONE},   {S("ator"), S("ate"), COND_NONE},
    {S("alism"), S("al"), COND_NONE},    {S("aliti"), S("al"), COND_NONE},
    {S("alli"), S("al"), COND_NONE},     {S("fulness"), S("ful"), COND_NONE},
    {S("ousli"), S("ous"), COND_NONE},   {S("ousness"), S("ous"), COND_NONE},
    {S("iveness"), S("ive"), COND_NONE}, {S("iviti"), S("ive"), COND_NONE},
    {S("biliti"), S("ble"), COND_NONE},  {S("bli"), S("ble"), COND_NONE},
    {S("ogist"), S("og"), COND_NONE},    {S("ogi"), S("og"), COND_L},
    {S("fulli"), S("ful"), COND_NONE},   {S("lessli"), S("less"), COND_NONE},
    {S("li"), S(""), COND_LI},
};

/* Step 3: more derivational suffixes, in R1. */
static const stem_rule step3_rules[] = {
    {S("tional"), S("tion"), COND_NONE}, {S("ational"), S("ate"), COND_NONE},
    {S("alize"), S("al"), COND_NONE},    {S("icate"), S("ic"), COND_NONE},
    {S("iciti"), S("ic"), COND_NONE},    {S("ical"), S("ic"), COND_NONE},
    {S("ful"), S(""), COND_NONE},        {S("ness"), S(""), COND_NONE},
    {S("ative"), S(""), COND_R2},
};

/* Step 4: the remaining suffixes, deleted in R2. */
static const stem_rule step4_rules[] = {
    {S("al"), S(""), COND_NONE},    {S("ance"), S(""), COND_NONE},
    {S("ence"), S(""), COND_NONE},  {S("er"), S(""), COND_NONE},
    {S("ic"), S(""), COND_NONE},    {S("able"), S(""), COND_NONE},
    {S("ible"), S(""), COND_NONE},  {S("ant"), S(""), COND_NONE},
    {S("ement"), S(""), COND_NONE}, {S("ment"), S(""), COND_NONE},
    {S("ent"), S(""), COND_NONE},   {S("ism"), S(""), COND_NONE},
    {S("ate"), S(""), COND_NONE},   {S("iti"), S(""), COND_NONE},
    {S("ous"), S(""), COND_NONE},   {S("ive"), S(""), COND_NONE},
    {S("ize"), S(""), COND_NONE},   {S("ion"), S(""), COND_ST},
};

#undef S

/* Steps 2, 3 and 4: find the longest suffix of the table that ends the
 * word; if it starts in the region beginning at `region` and meets its
 * condition, replace it.  As the spec says, only the longest suffix is
 * considered: when it fails its test a shorter one is not tried ("ement"
 * outside R2 does not fall back to "ment").  Cost: one pass over the
 * table. */
static void apply_rules(stem_word *s, const stem_rule *rules, size_t nrules,
                        size_t region) {
  const char *w = s->w;
  const stem_rule *best = NULL;
  if (s->len == 0)
    return;
  for (size_t i = 0; i < nrules; i++) {
    const stem_rule *r = &rules[i];
    if ((best == NULL || r->suffix_len > best->suffix_len) &&
        r->suffix[r->suffix_len - 1] == w[s->len - 1] &&
        ends_with(w, s->len, r->suffix, r->suffix_len))
      best = &rules[i];
  }
  if (best == NULL)
    return;
  size_t at = s->len - best->suffix_len;
  if (at < region)
    return;
  switch (best->cond) {
  case COND_L:
    if (at == 0 || w[at - 1] != 'l')
      return;
    break;
  case COND_LI:
    if (at == 0 || !is(w, at - 1, L_LI))
      return;
    break;
  case COND_R2:
    if (at < s->p2)
      return;
    break;
  case COND_ST:
    if (at == 0 || (w[at - 1] != 's' && w[at - 1] != 't'))
      return;
    break;
  default:
    break;
  }
  replace_tail(s, at, best->rep, best->rep_len);
}

/* Step 5: a final e goes in R2, or in R1 unless a short syllable precedes
 * it ("create" -> "creat", but "hope" keeps it); ll -> l in R2. */
static void step5(stem_word *s) {
  const char *w = s->w;
  size_t n = s->len;
  if (n == 0)
    return;
  size_t at = n - 1;
  if (w[at] == 'e') {
    if (at >= s->p2 || (at >= s->p1 && !ends_short_syllable(w, at)))
      s->len = at;
  } else if (w[at] == 'l') {
    if (at >= s->p2 && at > 0 && w[at - 1] == 'l')
      s->len = at;
  }
}

size_t kidx__stem_english(char *word, size_t len) {
  stem_word s = {word, len, 0, 0};
  /* Words of one or two letters are left alone: "as" and "is" keep their
   * s.  Exceptions first: they are whole words, apostrophes included. */
  if (exceptional_form(&s) || len < 3)
    return s.len;
  int marked = prelude(&s);
  mark_regions(&s);
  step0(&s);
  step1a(&s);
  step1b(&s);
  step1c(&s);
  apply_rules(&s, step2_rules, sizeof step2_rules / sizeof step2_rules[0],
              s.p1);
  apply_rules(&s, step3_rules, sizeof step3_rules / sizeof step3_rules[0],
              s.p1);
  apply_rules(&s, step4_rules, sizeof step4_rules / sizeof step4_rules[0],
              s.p2);
  step5(&s);
  /* Postlude: the consonant y marks go back to y.  Only after marking, as
   * in the spec: a 'Y' byte that came in with the word is not the
   * stemmer's to change otherwise. */
  if (marked) {
    for (size_t i = 0; i < s.len; i++)
      if (word[i] == 'Y')
        word[i] = 'y';
  }
  return s.len;
}
