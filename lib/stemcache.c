/*
 * stemcache.c -- a small direct-mapped cache of word -> stem, so that the
 * stemmer runs once per distinct frequent word instead of once per token.
 *
 * Word frequencies follow Zipf's law: a few thousand words make up most
 * tokens of any text, so even a small cache turns the stemmer (~170 ns per
 * call) into a hash and a memcmp for almost every token.  Direct-mapped
 * (one slot per hash bucket, last writer wins) because it needs no
 * eviction bookkeeping and a miss costs no more than not caching.
 *
 * Each slot also keeps a 32-bit payload for its owner: the batch stores
 * the word's term number there, so a cached word skips the term
 * dictionary's hash lookup as well as the stemmer.  A slot's payload is
 * reset when another word takes the slot.
 *
 * Owned by one writer's batch (memindex.c); not thread-safe.  Queries do
 * not use it: they are short.
 */
#include "kidx_int.h"

#include <stdlib.h>

#define CACHE_BITS  14
#define CACHE_SLOTS (1u << CACHE_BITS)
/* Words longer than this are rare and are stemmed directly. */
#define CACHE_WORD 22

typedef struct slot {
  uint32_t tag;     /* upper hash bits; 0 marks an empty slot */
  uint32_t payload; /* the owner's, for this word; 0 when the slot is new */
  uint8_t wlen, slen;
  char word[CACHE_WORD];
  char stem[CACHE_WORD];
} slot;

struct kidx__stemcache {
  slot slots[CACHE_SLOTS];
};

int kidx__stemcache_new(kidx__stemcache **out) {
  *out = calloc(1, sizeof **out);
  return *out ? KIDX_OK : KIDX_ENOMEM;
}

void kidx__stemcache_free(kidx__stemcache *c) {
  free(c);
}

size_t kidx__stemcache_stem(kidx__stemcache *c, char *word, size_t len,
                            uint32_t **payload) {
  *payload = NULL;
  if (!c || len > CACHE_WORD)
    return kidx__stem_english(word, len);
  uint64_t h = kidx__hash_bytes(word, len);
  slot *s = &c->slots[h & (CACHE_SLOTS - 1)];
  uint32_t tag = (uint32_t)(h >> 32) | 1u;
  *payload = &s->payload;
  if (s->tag == tag && s->wlen == len && memcmp(s->word, word, len) == 0) {
    memcpy(word, s->stem, s->slen);
    return s->slen;
  }
  s->tag = tag;
  s->payload = 0;
  s->wlen = (uint8_t)len;
  memcpy(s->word, word, len);
  size_t n = kidx__stem_english(word, len);
  s->slen = (uint8_t)n;
  memcpy(s->stem, word, n);
  return n;
}
