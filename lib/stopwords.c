/*
 * stopwords.c -- the Snowball English stop-word list, for the optional
 * stop-word filter of the analyser (analyze.c).
 *
 * The words are those of the Snowball project's English list
 * (snowballstem.org, algorithms/english/stop.txt: 174 words, including
 * contractions such as "don't"); "us" is left out there because it is also
 * the United States, and so it is here.  The filter runs on case-folded
 * words before stemming, which is the form the list is written in.
 *
 * Kept sorted bytewise for binary search; a test checks the order.
 */
#include "kidx_int.h"

static const char *const english[] = {
    "a",          "about",     "above",     "after",   "again",    "against",
    "all",        "am",        "an",        "and",     "any",      "are",
    "aren't",     "as",        "at",        "be",      "because",  "been",
    "before",     "being",     "below",     "between", "both",     "but",
    "by",         "can't",     "cannot",    "could",   "couldn't", "did",
    "didn't",     "do",        "does",      "doesn't", "doing",    "don't",
    "down",       "during",    "each",      "few",     "for",      "from",
    "further",    "had",       "hadn't",    "has",     "hasn't",   "have",
    "haven't",    "having",    "he",        "he'd",    "he'll",    "he's",
    "her",        "here",      "here's",    "hers",    "herself",  "him",
    "himself",    "his",       "how",       "how's",   "i",        "i'd",
    "i'll",       "i'm",       "i've",      "if",      "in",       "into",
    "is",         "isn't",     "it",        "it's",    "its",      "itself",
    "let's",      "me",        "more",      "most",    "mustn't",  "my",
    "myself",     "no",        "nor",       "not",     "of",       "off",
    "on",         "once",      "only",      "or",      "other",    "ought",
    "our",        "ours",      "ourselves", "out",     "over",     "own",
    "same",       "shan't",    "she",       "she'd",   "she'll",   "she's",
    "should",     "shouldn't", "so",        "some",    "such",     "than",
    "that",       "that's",    "the",       "their",   "theirs",   "them",
    "themselves", "then",      "there",     "there's", "these",    "they",
    "they'd",     "they'll",   "they're",   "they've", "this",     "those",
    "through",    "to",        "too",       "under",   "until",    "up",
    "very",       "was",       "wasn't",    "we",      "we'd",     "we'll",
    "we're",      "we've",     "were",      "weren't", "what",     "what's",
    "when",       "when's",    "where",     "where's", "which",    "while",
    "who",        "who's",     "whom",      "why",     "why's",    "with",
    "won't",      "would",     "wouldn't",  "you",     "you'd",    "you'll",
    "you're",     "you've",    "your",      "yours",   "yourself", "yourselves",
};

#define NWORDS (sizeof english / sizeof english[0])

int kidx__stopword_english(const char *word, size_t len) {
  size_t lo = 0, hi = NWORDS;
  /* The longest word in the list has 10 bytes ("themselves"). */
  if (len > 10)
    return 0;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const char *w = english[mid];
    int c = kidx__term_cmp(w, strlen(w), word, len);
    if (c == 0)
      return 1;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

size_t kidx__stopword_english_count(void) {
  return NWORDS;
}

const char *kidx__stopword_english_at(size_t i) {
  return i < NWORDS ? english[i] : NULL;
}
