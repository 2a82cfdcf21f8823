/*
 * unicode.c -- character properties, full case folding and canonical
 * normalization from the Unicode Character Database (UCD) 15.0.  The
 * analyser (analyze.c) calls it for every character that is not ASCII and
 * for every word that contains one.
 *
 * Data: unicode_tables.inc, generated from the UCD by scripts/gen_unicode.py
 * (its header says which version and how to regenerate).  Each property is
 * a three-stage lookup, top[cp >> (M + L)] -> mid block -> leaf block, in
 * which identical blocks are stored once, so the tables take about 62 KB
 * instead of a 1.1M-entry array, and a lookup is three dependent loads.
 * Hangul syllables are decomposed and composed by arithmetic (Unicode 15
 * section 3.12) rather than tables.
 *
 * Normalization follows UAX #15 and Unicode 15 section 3.11: full canonical
 * decomposition (D68), canonical ordering (D108), and the canonical
 * composition algorithm (D117) with its blocking rule.  Caseless matching
 * follows section 3.13, D145: NFD(toCasefold(NFD(X))).
 *
 * Pure functions over static const tables; no allocation, no state.
 */
#include "kidx_int.h"

/* Property bits that only this file uses (see kidx_int.h for the rest). */
#define UC_F_NONSPACING KIDX__UC_NONSPACING
#define UC_F_DECOMP     0x4000u  /* has a canonical decomposition */
#define UC_F_FOLD       0x8000u  /* case folding changes it */
#define UC_F_COMP2      0x10000u /* NFC_QC=M: may compose with what precedes */

#define UC_REC(ccc, cls, script, flags)                                        \
  ((uint32_t)(ccc) | (uint32_t)KIDX__UC_##cls << 8 |                           \
   (uint32_t)KIDX__UC_##script << 11 | (uint32_t)(flags))

#include "unicode_tables.inc"

#define UC_NCP 0x110000u

/* Three-stage lookup in table t (prefix T for its shift macros); cp must
 * be below UC_NCP. */
#define UC_TRIE(t, T, cp)                                                      \
  t##_leaf[((size_t)t##_mid                                                    \
                [((size_t)t##_top[(cp) >> (T##_MID_BITS + T##_LEAF_BITS)]      \
                  << T##_MID_BITS) +                                           \
                 (((cp) >> T##_LEAF_BITS) & ((1u << T##_MID_BITS) - 1))]       \
            << T##_LEAF_BITS) +                                                \
           ((cp) & ((1u << T##_LEAF_BITS) - 1))]

/* Hangul syllable arithmetic, Unicode 15 section 3.12. */
#define S_BASE  0xAC00u
#define L_BASE  0x1100u
#define V_BASE  0x1161u
#define T_BASE  0x11A7u
#define L_COUNT 19u
#define V_COUNT 21u
#define T_COUNT 28u
#define N_COUNT (V_COUNT * T_COUNT)
#define S_COUNT (L_COUNT * N_COUNT)

static uint32_t props_of(uint32_t cp) {
  if (cp >= UC_NCP)
    return 0; /* separator, ccc 0, script OTHER, no mappings */
  return uc_props_rec[UC_TRIE(uc_props, UC_PROPS, cp)];
}

/* Below U+0300 every character is a starter: a shortcut for the common
 * case in the reordering and composition loops. */
static unsigned ccc_of(uint32_t cp) {
  return cp < 0x300 ? 0 : KIDX__UC_CCC(props_of(cp));
}

unsigned kidx__uc_props(uint32_t cp) {
  return props_of(cp);
}

/* Copies a pool entry (ref = offset << 3 | length) to out. */
static size_t copy_ref(const uint32_t *pool, unsigned ref, uint32_t cp,
                       uint32_t *out) {
  size_t len = ref & 7u;
  if (len == 0) { /* flag without data: cannot happen with generated tables */
    out[0] = cp;
    return 1;
  }
  const uint32_t *src = pool + (ref >> 3);
  for (size_t i = 0; i < len; i++)
    out[i] = src[i];
  return len;
}

/* Decomposition of cp whose properties are p. */
static size_t decompose_p(uint32_t cp, uint32_t p, uint32_t *out) {
  if (!(p & UC_F_DECOMP)) {
    out[0] = cp;
    return 1;
  }
  if (cp - S_BASE < S_COUNT) {
    /* LV or LVT syllable -> L V (T), section 3.12 "Hangul Syllable
     * Decomposition"; the full decomposition of LVT is L V T. */
    uint32_t s = cp - S_BASE;
    out[0] = L_BASE + s / N_COUNT;
    out[1] = V_BASE + (s % N_COUNT) / T_COUNT;
    if (s % T_COUNT == 0)
      return 2;
    out[2] = T_BASE + s % T_COUNT;
    return 3;
  }
  return copy_ref(uc_decomp_pool, UC_TRIE(uc_decomp, UC_DECOMP, cp), cp, out);
}

static size_t casefold_p(uint32_t cp, uint32_t p, uint32_t *out) {
  if (!(p & UC_F_FOLD)) {
    out[0] = cp;
    return 1;
  }
  return copy_ref(uc_fold_pool, UC_TRIE(uc_fold, UC_FOLD, cp), cp, out);
}

/* The same with a shortcut for the most common characters: nothing below
 * U+00C0 decomposes, and ASCII folds A-Z only. */
static size_t decompose_cp(uint32_t cp, uint32_t *out) {
  return decompose_p(cp, cp < 0xC0 ? 0 : props_of(cp), out);
}

static size_t casefold_cp(uint32_t cp, uint32_t *out) {
  if (cp < 0x80) {
    out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    return 1;
  }
  return casefold_p(cp, props_of(cp), out);
}

size_t kidx__uc_decompose(uint32_t cp, uint32_t out[KIDX__UC_MAX_DECOMP]) {
  return decompose_cp(cp, out);
}

size_t kidx__uc_casefold(uint32_t cp, uint32_t out[KIDX__UC_MAX_FOLD]) {
  return casefold_cp(cp, out);
}

uint32_t kidx__uc_compose(uint32_t starter, uint32_t mark) {
  /* Hangul L + V -> LV and LV + T -> LVT, section 3.12 "Hangul Syllable
   * Composition".  (Unsigned wrap-around makes each range test one
   * comparison; T_BASE itself is not a trailing consonant.) */
  if (starter - L_BASE < L_COUNT && mark - V_BASE < V_COUNT)
    return S_BASE + ((starter - L_BASE) * V_COUNT + (mark - V_BASE)) * T_COUNT;
  if (starter - S_BASE < S_COUNT && (starter - S_BASE) % T_COUNT == 0 &&
      mark - T_BASE - 1 < T_COUNT - 1)
    return starter + (mark - T_BASE);
  /* The generator checks that every pair and composite fits 17 bits. */
  if (starter >= (1u << 17) || mark >= (1u << 17))
    return 0;
  uint64_t key = (uint64_t)starter << 17 | mark;
  size_t lo = 0, hi = sizeof uc_comp / sizeof uc_comp[0];
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    uint64_t k = uc_comp[mid] >> 17;
    if (k < key)
      lo = mid + 1;
    else if (k > key)
      hi = mid;
    else
      return (uint32_t)(uc_comp[mid] & 0x1FFFFu);
  }
  return 0;
}

/* Canonical ordering (D108): a stable insertion sort of each run of
 * non-starters by combining class.  Input is nearly always in order
 * already, which costs one class lookup per character. */
static void reorder(uint32_t *s, size_t n) {
  unsigned prev = 0; /* class of s[i - 1] */
  for (size_t i = 0; i < n; i++) {
    uint32_t c = s[i];
    unsigned cc = ccc_of(c);
    if (cc == 0 || prev <= cc) {
      prev = cc;
      continue;
    }
    /* s[i - 1] has a higher class: move c back past every such mark.  A
     * starter (class 0) stops the loop, so runs never mix.  prev stays the
     * class of what is now s[i]. */
    size_t j = i;
    while (j > 0 && ccc_of(s[j - 1]) > cc) {
      s[j] = s[j - 1];
      j--;
    }
    s[j] = c;
  }
}

/* Canonical composition (D117) of s[0..n), in NFD, in place; returns the
 * new length.  A character C composes with the last starter L when nothing
 * between them blocks it: no character in between, or the last of them
 * (the highest, since the input is in canonical order) has a class lower
 * than C's and is not a starter. */
static size_t compose_seq(uint32_t *s, size_t n) {
  size_t starter = SIZE_MAX; /* index in the output of the last starter */
  unsigned last = 0;         /* class of the last character written */
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t c = s[i];
    uint32_t p = c < 0x300 ? 0 : props_of(c); /* see ccc_of */
    unsigned cc = KIDX__UC_CCC(p);
    if (starter != SIZE_MAX && (p & UC_F_COMP2) &&
        (w - 1 == starter || (last != 0 && last < cc))) {
      uint32_t comp = kidx__uc_compose(s[starter], c);
      if (comp != 0) {
        s[starter] = comp;
        continue;
      }
    }
    if (cc == 0)
      starter = w;
    last = cc;
    s[w++] = c;
  }
  return w;
}

/* Removes nonspacing marks whose base -- the nearest preceding character
 * that is not a mark -- is Latin or Greek, in place; returns the new
 * length.  In those alphabets such marks are accents on a letter (é, ï,
 * tonos); in others they can make a distinct letter (Cyrillic й = и +
 * U+0306), so they stay. */
static size_t strip_marks(uint32_t *s, size_t n) {
  unsigned base = KIDX__UC_OTHER;
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t c = s[i];
    uint32_t p = props_of(c);
    if (KIDX__UC_CLASS(p) == KIDX__UC_MARK) {
      if ((p & UC_F_NONSPACING) &&
          (base == KIDX__UC_LATIN || base == KIDX__UC_GREEK))
        continue;
    } else {
      base = KIDX__UC_SCRIPT(p);
    }
    s[w++] = c;
  }
  return w;
}

size_t kidx__uc_nfd(const uint32_t *in, size_t n, uint32_t *out, size_t cap) {
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t d[KIDX__UC_MAX_DECOMP];
    size_t k = decompose_cp(in[i], d);
    if (w + k <= cap)
      for (size_t j = 0; j < k; j++)
        out[w + j] = d[j];
    w += k; /* once past cap, only counting */
  }
  if (w <= cap)
    reorder(out, w);
  return w;
}

size_t kidx__uc_nfc(const uint32_t *in, size_t n, uint32_t *out, size_t cap) {
  size_t len = kidx__uc_nfd(in, n, out, cap);
  return len > cap ? len : compose_seq(out, len);
}

/* The length of NFD(casefold(NFD(in))), computed without storing it: what
 * kidx__uc_normalize needs when cap is too small.  (Reordering does not
 * change lengths, and each step maps one code point at a time.) */
static size_t normalized_space(const uint32_t *in, size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t d[KIDX__UC_MAX_DECOMP], f[KIDX__UC_MAX_FOLD];
    uint32_t dd[KIDX__UC_MAX_DECOMP];
    size_t nd = decompose_cp(in[i], d);
    for (size_t j = 0; j < nd; j++) {
      size_t nf = casefold_cp(d[j], f);
      for (size_t k = 0; k < nf; k++)
        total += decompose_cp(f[k], dd);
    }
  }
  return total;
}

/* The quick check (in the spirit of UAX #15 section 9): copies in to out,
 * folding A-Z, and returns 1 if that is already the result, that is if no
 * character decomposes (Hangul syllables aside: decomposing and
 * recomposing gives them back), folds, may compose with what precedes, has
 * a combining class, or is a mark to strip.  Otherwise returns 0 having
 * written part of out.  Spares most lower-case words of most scripts the
 * three passes. */
static int quick_copy(const uint32_t *in, size_t n, uint32_t *out,
                      int strip_diacritics) {
  uint32_t stop = UC_F_DECOMP | UC_F_FOLD | UC_F_COMP2 | 0xFFu |
                  (strip_diacritics ? UC_F_NONSPACING : 0);
  for (size_t i = 0; i < n; i++) {
    uint32_t c = in[i];
    if (c < 0x80) {
      out[i] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
      continue;
    }
    if ((props_of(c) & stop) && c - S_BASE >= S_COUNT)
      return 0;
    out[i] = c;
  }
  return 1;
}

/*
 * Words that the quick check passes are copied.  The others are worked on
 * in out alone, in three passes:
 *   1. NFD(in) is written right-aligned, at out[r..cap), from the last
 *      input character backwards, and put in canonical order;
 *   2. each of those is case folded and decomposed again, written from
 *      out[0] up.  Every character yields at least one, so the write
 *      position stays behind the read position unless the result is longer
 *      than cap;
 *   3. reorder again (folding U+0345 COMBINING YPOGEGRAMMENI, class 240,
 *      gives U+03B9, a starter), strip marks if asked, compose.
 * The first reordering is needed too: D145 folds NFD(X), in which U+0345
 * has already moved behind the other marks of its run.
 */
size_t kidx__uc_normalize(const uint32_t *in, size_t n, uint32_t *out,
                          size_t cap, int strip_diacritics) {
  if (n <= cap && quick_copy(in, n, out, strip_diacritics))
    return n;
  size_t r = cap;
  for (size_t i = n; i-- > 0;) {
    uint32_t d[KIDX__UC_MAX_DECOMP];
    size_t k = decompose_cp(in[i], d);
    if (k > r)
      return normalized_space(in, n);
    r -= k;
    for (size_t j = 0; j < k; j++)
      out[r + j] = d[j];
  }
  reorder(out + r, cap - r);

  size_t w = 0;
  while (r < cap) {
    uint32_t c = out[r++];
    uint32_t f[KIDX__UC_MAX_FOLD];
    size_t nf = casefold_cp(c, f);
    for (size_t j = 0; j < nf; j++) {
      uint32_t d[KIDX__UC_MAX_DECOMP];
      size_t k = decompose_cp(f[j], d);
      for (size_t m = 0; m < k; m++) {
        if (w >= r) /* would overwrite input not yet read */
          return normalized_space(in, n);
        out[w++] = d[m];
      }
    }
  }
  reorder(out, w);
  if (strip_diacritics)
    w = strip_marks(out, w);
  return compose_seq(out, w);
}
