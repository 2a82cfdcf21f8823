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
} root;

typedef struct roots {
  root *r; /* sorted by id (strcmp), ids unique */
  size_t n, cap;
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
 * false when out of memory. */
bool roots_add(roots *rs, const char *id, unsigned flags);

/* Drops id and every root under it (ids_under with the index's base);
 * returns how many were dropped. */
size_t roots_drop_under(roots *rs, const char *base, const char *id);

/* The first root that id lies under (or is), or NULL. */
const root *roots_covering(const roots *rs, const char *base, const char *id,
                           size_t len);

/* The index of id in rs, or rs->n. */
size_t roots_find(const roots *rs, const char *id);

/* Reads the roots of the index a writer or a reader has open (exactly one
 * of w and r not NULL).  Returns ST_OK or a reported error status. */
struct cli;
int roots_load(const struct cli *c, const kidx_writer *w, const kidx_reader *r,
               roots *rs);

#endif
