/*
 * score.c -- the ranking formulas, over index-wide statistics (N, avgdl)
 * and per-term statistics (df) supplied by the caller, so that they do not
 * depend on how the index is stored.  The formulas, their constants and
 * the reasons for them are documented in include/kidx.h ("RANKING").
 *
 * A scorer is prepared once per query (kidx__scorer_init) and per term
 * (kidx__scorer_term_weight: idf times query term frequency), so that the
 * per-posting work in kidx__scorer_score is a few multiplications plus, for
 * TF-IDF, two logarithms.
 */
#include "kidx_int.h"

#include <math.h>

/* Pivot slope s of Singhal's pivoted normalisation; 0.2 is the value
 * Singhal reports working well across TREC collections. */
#define TFIDF_PIVOT_SLOPE 0.2

void kidx__scorer_init(kidx__scorer *sc, kidx_rank rank, double k1, double b,
                       uint64_t ndocs, uint64_t ntokens) {
  sc->rank = rank;
  sc->k1 = k1;
  sc->b = b;
  sc->ndocs = (double)ndocs;
  /* An empty index has no postings, so avgdl is never used; 1 avoids a
   * division by zero in the formula all the same. */
  sc->avgdl = ndocs ? (double)ntokens / (double)ndocs : 1.0;
  if (sc->avgdl <= 0)
    sc->avgdl = 1.0;
}

double kidx__scorer_term_weight(const kidx__scorer *sc, uint32_t df,
                                uint32_t qtf) {
  double n = sc->ndocs, d = df;
  double idf;
  if (sc->rank == KIDX_RANK_BM25)
    idf = log(1.0 + (n - d + 0.5) / (d + 0.5));
  else
    idf = log((n + 1.0) / d);
  return idf * (double)qtf;
}

double kidx__scorer_score(const kidx__scorer *sc, double weight, uint32_t tf,
                          uint32_t dl) {
  double rel = (double)dl / sc->avgdl;
  if (sc->rank == KIDX_RANK_BM25) {
    double t = tf;
    return weight * t * (sc->k1 + 1.0) /
           (t + sc->k1 * (1.0 - sc->b + sc->b * rel));
  }
  double w = 1.0 + log(1.0 + log((double)tf));
  return weight * w / ((1.0 - TFIDF_PIVOT_SLOPE) + TFIDF_PIVOT_SLOPE * rel);
}
