/*
 * analyzer.c -- the public analysis API: kidx_analyzer options, their
 * translation to and from the KIDX__AN_* flags stored in an index header,
 * and kidx_analyze(), which runs the same pipeline (analyze.c) that
 * documents and queries go through.  API layer, beside writer.c and
 * reader.c.
 */
#include "kidx_int.h"

#include <stdio.h>

/* The defaults: English stemming, no stop words, diacritics folded -- what
 * a user of Lucene's EnglishAnalyzer or FTS5's "porter unicode61" gets,
 * minus the stop list, which hurts phrase and short queries ("The Who"). */
void kidx_analyzer_init(kidx_analyzer *a) {
  if (!a)
    return;
  a->size = sizeof *a;
  a->stemmer = KIDX_STEM_ENGLISH;
  a->stopwords = KIDX_STOPWORDS_NONE;
  a->fold_diacritics = 1;
}

int kidx__analyzer_flags(const kidx_analyzer *in, unsigned *flags) {
  kidx_analyzer a;
  kidx_analyzer_init(&a);
  if (in) {
    /* Honour only the fields the caller's struct has (see `size`). */
    if (in->size < offsetof(kidx_analyzer, stemmer) + sizeof in->stemmer)
      return KIDX_EINVAL;
    memcpy(&a, in, in->size < sizeof a ? in->size : sizeof a);
  }
  unsigned f = 0;
  switch (a.stemmer) {
  case KIDX_STEM_NONE:
    break;
  case KIDX_STEM_ENGLISH:
    f |= KIDX__AN_STEM_ENGLISH;
    break;
  default:
    return KIDX_EINVAL;
  }
  switch (a.stopwords) {
  case KIDX_STOPWORDS_NONE:
    break;
  case KIDX_STOPWORDS_ENGLISH:
    f |= KIDX__AN_STOP_ENGLISH;
    break;
  default:
    return KIDX_EINVAL;
  }
  if (a.fold_diacritics)
    f |= KIDX__AN_FOLD_DIACRITICS;
  *flags = f;
  return KIDX_OK;
}

void kidx__analyzer_from_flags(unsigned flags, kidx_analyzer *out) {
  kidx_analyzer_init(out);
  out->stemmer =
      flags & KIDX__AN_STEM_ENGLISH ? KIDX_STEM_ENGLISH : KIDX_STEM_NONE;
  out->stopwords = flags & KIDX__AN_STOP_ENGLISH ? KIDX_STOPWORDS_ENGLISH
                                                 : KIDX_STOPWORDS_NONE;
  out->fold_diacritics = (flags & KIDX__AN_FOLD_DIACRITICS) != 0;
}

/* The message is for programs using the API, so it names kidx_analyzer's
 * fields and values as they are written in C; the kidx tool compares
 * kidx_analyzer fields itself and speaks in its options. */
void kidx__analyzer_describe_diff(unsigned have, unsigned want, char *buf,
                                  size_t cap) {
  static const struct {
    unsigned flag;
    const char *field, *on, *off;
  } settings[] = {
      {KIDX__AN_STEM_ENGLISH, "stemmer", "KIDX_STEM_ENGLISH", "KIDX_STEM_NONE"},
      {KIDX__AN_STOP_ENGLISH, "stopwords", "KIDX_STOPWORDS_ENGLISH",
       "KIDX_STOPWORDS_NONE"},
      {KIDX__AN_FOLD_DIACRITICS, "fold_diacritics", "1", "0"},
  };
  size_t n = 0;
  buf[0] = 0;
  for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
    unsigned f = settings[i].flag;
    if ((have & f) == (want & f))
      continue;
    int w =
        snprintf(buf + n, cap - n, "%s%s=%s (not %s)", n ? ", " : "",
                 settings[i].field, have & f ? settings[i].on : settings[i].off,
                 want & f ? settings[i].on : settings[i].off);
    if (w < 0 || (size_t)w >= cap - n)
      break;
    n += (size_t)w;
  }
}

typedef struct public_ctx {
  kidx_token_fn fn;
  void *ctx;
} public_ctx;

static int to_public(void *ctx, const kidx__token *tok) {
  const public_ctx *p = ctx;
  kidx_token t;
  t.text = tok->text;
  t.len = tok->len;
  t.start = tok->start;
  t.end = tok->end;
  t.position = tok->pos;
  return p->fn(p->ctx, &t) ? 1 : 0;
}

/* Inputs from this size on get a stem cache for the call: its ~1 MB of
 * lazily zeroed memory costs less than the stemming it saves. */
#define CACHE_MIN_INPUT (64u * 1024)

kidx_status kidx_analyze(const kidx_analyzer *a, const char *text, size_t len,
                         kidx_token_fn fn, void *ctx) {
  kidx__analyzer an = {0, NULL};
  if (!fn || (!text && len) || kidx__analyzer_flags(a, &an.flags))
    return KIDX_EINVAL;
  if ((an.flags & KIDX__AN_STEM_ENGLISH) && len >= CACHE_MIN_INPUT &&
      kidx__stemcache_new(&an.cache))
    return KIDX_ENOMEM;
  public_ctx p = {fn, ctx};
  /* A stopping callback is not an error; the pipeline itself cannot fail. */
  kidx__analyze(&an, text ? text : "", len, 0, NULL, to_public, &p);
  kidx__stemcache_free(an.cache);
  return KIDX_OK;
}
