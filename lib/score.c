/*
 * score.c -- the ranking formulas, over index-wide statistics (N, average
 * field lengths) and per-term statistics (df) supplied by the caller, so
 * that they do not depend on how the index is stored.  The formulas, their
 * constants and the reasons for them are documented in include/kidx.h
 * ("RANKING").
 *
 * Fields are combined BM25F-style (Robertson, Zaragoza & Taylor, "Simple
 * BM25 extension to multiple weighted fields", CIKM 2004): each field's
 * term frequency is length-normalised and weighted first,
 *
 *     tfc = sum over fields f of  w_f * tf_f / B_f,
 *     B_f = (1 - b) + b * len_f / avglen_f          (BM25; b -> s for TF-IDF)
 *
 * and the combined frequency then goes through ONE saturation function.
 * Summing independent per-field scores instead would let a word that is in
 * both title and body count as two half-saturated matches, and would make
 * the field weights interact with k1 in ways nobody can tune.
 */
#include "kidx_int.h"

#include <math.h>

/* Pivot slope s of Singhal's pivoted normalisation; 0.2 is the value
 * Singhal reports working well across TREC collections. */
#define TFIDF_PIVOT_SLOPE 0.2

void kidx__scorer_init(kidx__scorer *sc, kidx_rank rank, double k1, double b,
                       const double weight[KIDX__NFIELDS], uint64_t ndocs,
                       const uint64_t tokens[KIDX__NFIELDS]) {
  sc->rank = rank;
  sc->k1 = k1;
  sc->b = rank == KIDX_RANK_BM25 ? b : TFIDF_PIVOT_SLOPE;
  sc->ndocs = (double)ndocs;
  for (int f = 0; f < KIDX__NFIELDS; f++) {
    sc->weight[f] = weight[f];
    /* A field empty in every document has no postings, so its average is
     * never used; 1 avoids a division by zero all the same. */
    sc->avglen[f] =
        ndocs && tokens[f] ? (double)tokens[f] / (double)ndocs : 1.0;
    sc->slope[f] = sc->b / sc->avglen[f];
  }
}

double kidx__scorer_idf(const kidx__scorer *sc, uint64_t df) {
  double n = sc->ndocs, d = (double)df;
  if (sc->rank == KIDX_RANK_BM25)
    return log(1.0 + (n - d + 0.5) / (d + 0.5));
  return log((n + 1.0) / d);
}

double kidx__scorer_bound(const kidx__scorer *sc, const double w[KIDX__NFIELDS],
                          const kidx__pbound *b, double idf, double scale) {
  /* The precomputed maximum, when the query's parameters let it bound
   * (kidx__scorer_scale), is exact for the defaults (up to its 16-bit
   * rounding): both fields of one document, not each field's best.
   * Scaled by at most 1 -- the defaults on one segment, or smaller
   * weights -- it is as tight as bounds get, and the per-field bound is
   * not worth computing.  An infinite tfc_max (the open bound of a list
   * that stores none) leaves the per-field bound to serve. */
  double tfc = kidx__tfc_decode(b->tfc_max[sc->rank]) * scale;
  if (scale <= 1.0 && isfinite(tfc))
    return kidx__scorer_bound_tfc(sc, tfc, idf);
  /* Per field, tf / B(len) <= 1 / ((1 - b) / max_tf + (b / avglen) *
   * min(len / tf)) (postblock.c): B is (1 - b) + b * len / avglen for
   * BM25's b and TF-IDF's pivot slope alike. */
  double fields = 0.0;
  for (int f = 0; f < KIDX__NFIELDS; f++) {
    if (!b->max_tf[f] || !(w[f] > 0.0))
      continue;
    double den = (1.0 - sc->b) / b->max_tf[f] +
                 sc->b * ((double)b->len[f] / b->tf[f]) / sc->avglen[f];
    if (!(den > 0.0))
      return INFINITY;
    fields += w[f] / den;
  }
  if (!(tfc <= fields)) /* also when tfc is NaN (0 * infinite scale) */
    tfc = fields;
  return kidx__scorer_bound_tfc(sc, tfc, idf);
}

double kidx__scorer_bound_tfc(const kidx__scorer *sc, double tfc, double idf) {
  if (!isfinite(tfc))
    return INFINITY;
  /* The score itself is computed with other roundings (and the bound's
   * sum in another order): a relative margin far above a few ulps keeps
   * the bound above it, at no cost to pruning. */
  /* ... and an absolute one for scores so small (tiny weights) that
   * their roundings are no longer relative (subnormal numbers). */
  return idf * kidx__scorer_saturate(sc, tfc) * (1.0 + 1e-9) + 1e-300;
}

void kidx__pmodels_init(kidx__pmodels *pm, uint64_t ndocs,
                        const uint64_t tokens[KIDX__NFIELDS]) {
  static const double w[KIDX__NFIELDS] = {KIDX__DEFAULT_TITLE_WEIGHT,
                                          KIDX__DEFAULT_BODY_WEIGHT};
  kidx__scorer_init(&pm->sc[KIDX_RANK_TFIDF], KIDX_RANK_TFIDF, KIDX__DEFAULT_K1,
                    KIDX__DEFAULT_B, w, ndocs, tokens);
  kidx__scorer_init(&pm->sc[KIDX_RANK_BM25], KIDX_RANK_BM25, KIDX__DEFAULT_K1,
                    KIDX__DEFAULT_B, w, ndocs, tokens);
}

void kidx__pmodels_tfc(const kidx__pmodels *pm,
                       const uint32_t tf[KIDX__NFIELDS],
                       const uint32_t len[KIDX__NFIELDS],
                       double tfc[KIDX__NMODELS]) {
  for (int r = 0; r < KIDX__NMODELS; r++) {
    const kidx__scorer *sc = &pm->sc[r];
    double norm[KIDX__NFIELDS];
    for (int f = 0; f < KIDX__NFIELDS; f++)
      norm[f] = kidx__scorer_norm(sc, f, len[f]);
    tfc[r] = kidx__tfc(sc->weight, tf, norm);
  }
}

/* A query's combined frequency, sum_f w'_f tf_f / B'_f, against the one
 * tfc_max was computed with, sum_f w_f tf_f / B_f (the defaults, and the
 * segment's average lengths A_f where the query has the index's A'_f):
 *   - w'_f = (w'_f / w_f) w_f, a factor of w'_f / w_f per field;
 *   - with the same b, B'_f / B_f = ((1 - b) + b len / A'_f) /
 *     ((1 - b) + b len / A_f) >= min(1, A_f / A'_f) for every len, so
 *     1 / B'_f <= max(1, A'_f / A_f) / B_f.
 * The sum grows by at most the largest product of the two over the fields
 * the query weights.  Another b than the default's gives no such factor:
 * INFINITY, and the per-field bound alone serves. */
double kidx__scorer_scale(const kidx__scorer *sc, const double w[KIDX__NFIELDS],
                          uint64_t ndocs,
                          const uint64_t tokens[KIDX__NFIELDS]) {
  if (sc->rank == KIDX_RANK_BM25 && sc->b != KIDX__DEFAULT_B)
    return INFINITY;
  static const double dw[KIDX__NFIELDS] = {KIDX__DEFAULT_TITLE_WEIGHT,
                                           KIDX__DEFAULT_BODY_WEIGHT};
  double scale = 0.0;
  for (int f = 0; f < KIDX__NFIELDS; f++) {
    if (!(w[f] > 0.0))
      continue;
    /* The segment's average exactly as kidx__pmodels_init computed it. */
    double avg = ndocs && tokens[f] ? (double)tokens[f] / (double)ndocs : 1.0;
    double grow = sc->avglen[f] > avg ? sc->avglen[f] / avg : 1.0;
    double v = w[f] / dw[f] * grow;
    if (v > scale)
      scale = v;
  }
  return scale;
}

/* Weights below this (but not 0) make combined frequencies subnormal,
 * where a score and its bound, computed in different orders, may round
 * apart by far more than below()'s margin (BM25 with k1 near 0 turns any
 * positive tfc into the same score): such searches are not pruned.  With
 * weights at least this, tf_f / B_f >= 1 / (2^32 * 2^33) keeps every
 * tfc a normal double. */
#define MIN_PRUNED_WEIGHT 1e-200

int kidx__scorer_prunable(const kidx__scorer *sc) {
  for (int f = 0; f < KIDX__NFIELDS; f++)
    if (sc->weight[f] != 0.0 && sc->weight[f] < MIN_PRUNED_WEIGHT)
      return 0;
  return 1;
}
