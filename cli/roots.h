/*
 * roots.h -- the index's roots: the PATH arguments `kidx index` has been
 * given (as ids, see ids.h), each with the walk options it was given
 * with, so that `kidx index` without a PATH can walk them all again (like
 * `git add -u`), and `kidx stats` can list them.
 *
 * They are kept in the index's metadata under ROOTS_KEY, committed with
 * the documents, as a sequence of records "FLAGS:ID\0": FLAGS is zero or
 * more of the letters H (--hidden) and I (--no-ignore), ID any bytes but
 * NUL (doc/FORMAT.md).  Records are sorted by id, each id once.
 */
#ifndef KIDX_CLI_ROOTS_H
#define KIDX_CLI_ROOTS_H

#include "kidx.h"

#include <stdbool.h>
#include <stddef.h>

#define ROOTS_KEY "kidx.cli.roots"

/* Walk options recorded with a root. */
#define ROOT_HIDDEN    0x1u /* H: --hidden */
#define ROOT_NO_IGNORE 0x2u /* I: --no-ignore */

typedef struct root {
  char *id; /* owned */
  unsigned flags;
  size_t seq; /* order of adding, for roots_sort */
} root;

typedef struct roots {
  root *r; /* sorted by id (strcmp), ids unique, unless unsorted */
  size_t n, cap;
  bool unsorted; /* roots_add appended out of order: roots_sort first */
} roots;

void roots_free(roots *rs);

/* Decodes a metadata value into rs (empty on entry).  false when it is
 * not a list of records this kidx understands (an unknown flag: a newer
 * kidx wrote it) or out of memory; *bad says which (true: malformed). */
bool roots_decode(roots *rs, const char *value, size_t len, bool *bad);

/* The metadata value of rs, malloc'ed, length in *len; NULL when out of
 * memory (or, with *len 0, when rs is empty: the key is then deleted). */
char *roots_encode(const roots *rs, size_t *len);

/* Records id with flags, replacing the flags of an id recorded already.
 * Appends: when out of order, rs is unsorted until roots_sort, and only
 * roots_add, roots_drop_under and roots_encoded_size may
 * be used on it.  false when out of memory.  Cost: O(1) amortised. */
bool roots_add(roots *rs, const char *id, unsigned flags);

/* Sorts rs by id and keeps, of an id added more than once, the flags
 * added last.  Cost: O(n log n), nothing when sorted. */
void roots_sort(roots *rs);

/* The bytes roots_encode would make of rs. */
size_t roots_encoded_size(const roots *rs);

/* The deepest root (rs sorted) that id lies under, id itself excluded,
 * as ids_under with base says; NULL if none.  Cost: a binary search per
 * '/' in id and base. */
const root *roots_enclosing(const roots *rs, const char *base, const char *id);

/* Drops id and every root under it (ids_under with the index's base);
 * returns how many were dropped. */
size_t roots_drop_under(roots *rs, const char *base, const char *id);

/* Drops the root id itself, if recorded (rs sorted).  Cost: O(n). */
void roots_remove(roots *rs, const char *id);

/* The index of id in rs (sorted), or rs->n. */
size_t roots_find(const roots *rs, const char *id);

/* Reads the roots of the index a writer or a reader has open (exactly one
 * of w and r not NULL).  Returns ST_OK or a reported error status. */
struct cli;
int roots_load(const struct cli *c, const kidx_writer *w, const kidx_reader *r,
               roots *rs);

#endif
