/*
 * strmap.c -- a map from byte strings to 32-bit values, with the keys
 * copied into one owned arena.  Used for the term dictionary of the batch
 * being built (memindex.c) and for document ids (memindex.c, writer.c).
 *
 * Open addressing with linear probing over a power-of-two table kept at
 * most 1/2 full; each slot caches the key's hash, so a probe compares
 * strings only on a full hash match.  Keys are never removed (a document id
 * that is deleted keeps its slot with a value meaning "deleted"), which is
 * what lets probing stay this simple.
 */
#include "kidx_int.h"

#include <stdlib.h>

typedef struct slot {
  uint64_t hash; /* 0 marks an empty slot; real hashes are forced odd */
  uint64_t key_off;
  uint32_t key_len;
  uint32_t value;
} slot;

struct kidx__strmap {
  slot *slots;
  size_t mask; /* capacity - 1 */
  size_t count;
  kidx__buf keys;
};

size_t kidx__strmap_bytes(const kidx__strmap *m) {
  return sizeof *m + (m->mask + 1) * sizeof *m->slots + m->keys.cap;
}

int kidx__strmap_new(kidx__strmap **out) {
  kidx__strmap *m = calloc(1, sizeof *m);
  if (!m) {
    *out = NULL;
    return KIDX_ENOMEM;
  }
  m->mask = 1023;
  m->slots = calloc(m->mask + 1, sizeof *m->slots);
  if (!m->slots) {
    free(m);
    *out = NULL;
    return KIDX_ENOMEM;
  }
  *out = m;
  return KIDX_OK;
}

void kidx__strmap_free(kidx__strmap *m) {
  if (!m)
    return;
  free(m->slots);
  kidx__buf_free(&m->keys);
  free(m);
}

static slot *find_slot(const kidx__strmap *m, const char *key, size_t len,
                       uint64_t h) {
  size_t i = (size_t)h & m->mask;
  for (;;) {
    slot *s = &m->slots[i];
    if (s->hash == 0)
      return s;
    if (s->hash == h && s->key_len == len &&
        memcmp(m->keys.p + s->key_off, key, len) == 0)
      return s;
    i = (i + 1) & m->mask;
  }
}

static int grow(kidx__strmap *m) {
  size_t cap = (m->mask + 1) * 2;
  slot *slots = calloc(cap, sizeof *slots);
  if (!slots)
    return KIDX_ENOMEM;
  for (size_t i = 0; i <= m->mask; i++) {
    slot *s = &m->slots[i];
    if (s->hash == 0)
      continue;
    size_t j = (size_t)s->hash & (cap - 1);
    while (slots[j].hash != 0)
      j = (j + 1) & (cap - 1);
    slots[j] = *s;
  }
  free(m->slots);
  m->slots = slots;
  m->mask = cap - 1;
  return KIDX_OK;
}

int kidx__strmap_get(const kidx__strmap *m, const char *key, size_t len,
                     uint32_t *value) {
  slot *s = find_slot(m, key, len, kidx__hash_bytes(key, len));
  if (s->hash == 0)
    return 0;
  *value = s->value;
  return 1;
}

/* Inserts key at the empty slot *ps found for hash h, growing the table
 * first when needed (which moves the slot). */
static int insert(kidx__strmap *m, slot **ps, const char *key, size_t len,
                  uint64_t h, uint32_t value) {
  if ((m->count + 1) * 2 > m->mask + 1) {
    int rc = grow(m);
    if (rc)
      return rc;
    *ps = find_slot(m, key, len, h);
  }
  uint64_t off = m->keys.n;
  int rc = kidx__buf_append(&m->keys, key, len);
  if (rc)
    return rc;
  slot *s = *ps;
  s->hash = h;
  s->key_off = off;
  s->key_len = (uint32_t)len;
  s->value = value;
  m->count++;
  return KIDX_OK;
}

int kidx__strmap_upsert(kidx__strmap *m, const char *key, size_t len,
                        uint32_t value, uint32_t *old, int *found) {
  if (len > UINT32_MAX)
    return KIDX_ETOOBIG;
  uint64_t h = kidx__hash_bytes(key, len);
  slot *s = find_slot(m, key, len, h);
  *found = s->hash != 0;
  if (*found) {
    *old = s->value;
    s->value = value;
    return KIDX_OK;
  }
  return insert(m, &s, key, len, h, value);
}

int kidx__strmap_intern(kidx__strmap *m, const char *key, size_t len,
                        uint32_t new_value, uint32_t *value,
                        uint64_t *key_off) {
  if (len > UINT32_MAX)
    return KIDX_ETOOBIG;
  uint64_t h = kidx__hash_bytes(key, len);
  slot *s = find_slot(m, key, len, h);
  if (s->hash == 0) {
    int rc = insert(m, &s, key, len, h, new_value);
    if (rc)
      return rc;
  }
  *value = s->value;
  *key_off = s->key_off;
  return KIDX_OK;
}

const char *kidx__strmap_key_at(const kidx__strmap *m, uint64_t key_off) {
  return (const char *)m->keys.p + key_off;
}

size_t kidx__strmap_count(const kidx__strmap *m) {
  return m->count;
}
