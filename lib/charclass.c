/*
 * charclass.c -- which characters make up words, and case folding.
 *
 * Scope of this version (the analysis issue replaces it with tables
 * generated from the Unicode Character Database):
 *   - word characters: ASCII letters and digits; the letters of Latin-1
 *     Supplement and Latin Extended-A/B; combining diacritical marks;
 *     Greek, Cyrillic and every other script's letters, approximated as
 *     "any character from U+0370 up that is not in a punctuation, symbol,
 *     space or private-use block" so that no script is split into single
 *     characters or dropped;
 *   - folding: ASCII, Latin-1, Latin Extended-A, basic Greek (with final
 *     sigma folded to sigma, as CaseFolding.txt does) and Cyrillic, one
 *     character to one character (CaseFolding.txt status C).
 * Pure functions over constants: no state, safe from any thread.
 */
#include "kidx_int.h"

/* Blocks from U+0370 up whose characters never make words: spaces,
 * punctuation, symbols, arrows, box drawing, private use, specials. */
static const struct {
  uint32_t lo, hi;
} separator_blocks[] = {
    {0x037E, 0x037E}, /* Greek question mark */
    {0x0387, 0x0387}, /* Greek ano teleia */
    {0x055A, 0x055F}, /* Armenian punctuation */
    {0x0589, 0x058A},
    {0x05BE, 0x05BE},
    {0x05C0, 0x05C0},
    {0x05C3, 0x05C3},
    {0x05F3, 0x05F4},
    {0x0600, 0x060F}, /* Arabic signs and punctuation */
    {0x061B, 0x061F},
    {0x066A, 0x066D},
    {0x06D4, 0x06D4},
    {0x0964, 0x0965}, /* Devanagari danda */
    {0x0E4F, 0x0E4F},
    {0x0E5A, 0x0E5B},
    {0x1680, 0x1680}, /* Ogham space */
    {0x2000, 0x206F}, /* General Punctuation (spaces, dashes, quotes) */
    {0x2070, 0x209F}, /* super/subscripts: treated as symbols */
    {0x20A0, 0x20CF}, /* currency */
    {0x2100, 0x214F}, /* letterlike symbols */
    {0x2190, 0x2BFF}, /* arrows .. misc symbols and arrows */
    {0x2E00, 0x2E7F}, /* supplemental punctuation */
    {0x3000, 0x3003}, /* ideographic space and punctuation */
    {0x3008, 0x3020},
    {0x3030, 0x3030},
    {0x30FB, 0x30FB},
    {0xD800, 0xF8FF}, /* surrogates (never decoded) and private use */
    {0xFD3E, 0xFD3F},
    {0xFE10, 0xFE1F},
    {0xFE30, 0xFE6F},
    {0xFEFF, 0xFEFF}, /* BOM / zero-width no-break space */
    {0xFF00, 0xFF0F}, /* fullwidth punctuation */
    {0xFF1A, 0xFF20},
    {0xFF3B, 0xFF40},
    {0xFF5B, 0xFF65},
    {0xFFF0, 0xFFFF},    /* specials, replacement character */
    {0x1F000, 0x1FAFF},  /* emoji and pictographs */
    {0xE0000, 0x10FFFF}, /* tags, variation selectors supp., private use */
};

int kidx__char_is_word(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= '0' && cp <= '9') ||
           ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
  if (cp < 0xC0)
    /* Latin-1 punctuation and symbols; ª º and µ are letters. */
    return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
  if (cp < 0x370)
    /* Latin-1 letters (minus the multiplication and division signs),
     * Latin Extended-A/B, IPA, spacing modifiers, combining marks. */
    return cp != 0xD7 && cp != 0xF7;
  if (cp == KIDX__UTF8_INVALID)
    return 0;
  size_t lo = 0, hi = sizeof separator_blocks / sizeof separator_blocks[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < separator_blocks[mid].lo)
      hi = mid;
    else if (cp > separator_blocks[mid].hi)
      lo = mid + 1;
    else
      return 0;
  }
  return 1;
}

uint32_t kidx__char_fold(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (cp < 0x100) {
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
      return cp + 32;
    if (cp == 0xB5)
      return 0x3BC; /* micro sign folds to Greek mu */
    return cp;
  }
  if (cp < 0x180) {
    /* Latin Extended-A alternates capital/small in pairs, with the parity
     * flipping at U+0139..U+0148 and U+0179..U+017E; U+0130 (dotted I),
     * U+0131 (dotless i), U+0138 (kra), U+0149 and U+017F are special. */
    if (cp == 0x130)
      return 'i';
    if (cp == 0x17F)
      return 's';
    if (cp == 0x131 || cp == 0x138 || cp == 0x149)
      return cp;
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
      return (cp & 1) ? cp + 1 : cp;
    if (cp == 0x178)
      return 0xFF; /* Y with diaeresis */
    return (cp & 1) ? cp : cp + 1;
  }
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2)
    return cp + 32; /* Greek capitals */
  if (cp == 0x3C2)
    return 0x3C3; /* final sigma folds to sigma */
  if (cp >= 0x386 && cp <= 0x38F) {
    /* Greek capitals with tonos */
    static const uint16_t tonos[10] = {0x3AC, 0x387, 0x3AD, 0x3AE, 0x3AF,
                                       0x38B, 0x3CC, 0x38D, 0x3CD, 0x3CE};
    return tonos[cp - 0x386];
  }
  if (cp >= 0x410 && cp <= 0x42F)
    return cp + 32; /* Cyrillic capitals А..Я */
  if (cp >= 0x400 && cp <= 0x40F)
    return cp + 80; /* Cyrillic Ѐ..Џ */
  if (cp >= 0x460 && cp <= 0x4FF && cp != 0x482 &&
      !(cp >= 0x483 && cp <= 0x489) && cp != 0x4C0 && cp != 0x4CF) {
    /* Cyrillic extensions alternate capital/small in pairs; U+04C1..U+04CE
     * are offset by one. */
    if (cp >= 0x4C1 && cp <= 0x4CE)
      return (cp & 1) ? cp + 1 : cp;
    return (cp & 1) ? cp : cp + 1;
  }
  if (cp == 0x4C0)
    return 0x4CF;
  return cp;
}
