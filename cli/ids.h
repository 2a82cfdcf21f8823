/*
 * ids.h -- what a file's document id is: one file, one document, however
 * the file was named.
 *
 * The index's BASE directory is the directory holding the index directory
 * (the realpath of its parent: for the default .kidx, the current
 * directory).  A file's id is its absolute path -- the PATH argument
 * resolved with realpath() once, which settles ".", "..", "//" and
 * symbolic links in the name typed, then the names met while walking
 * joined below it -- made relative to BASE when it lies under BASE
 * ("corpus/x.txt"), else kept absolute ("/home/u/docs/x.txt").  BASE
 * itself is ".".  So "corpus", "./corpus/", "$PWD/corpus" and, from
 * corpus/, "kidx -i ../.kidx index ." all give the same ids; ids never
 * hold "./", "//" or a trailing slash.  A walk from above BASE ("kidx
 * index ..") gives the files under BASE the same relative ids (walk.c).
 * Ids that break these rules come from kidx 0.3, which kept paths as
 * typed (ids_is_current): they are never taken for files that are gone.
 */
#ifndef KIDX_CLI_IDS_H
#define KIDX_CLI_IDS_H

#include <stdbool.h>
#include <stddef.h>

/* The BASE of the index directory index_dir, malloc'ed; NULL (errno set)
 * when its parent cannot be resolved. */
char *ids_base(const char *index_dir);

/* path made absolute and canonical: realpath(path), or, when path does
 * not exist (ENOENT, ENOTDIR) and allow_missing (--forget of a directory
 * removed), the realpath of its longest existing prefix with the rest
 * joined as names -- only when that is exactly where path leads: the
 * first missing component is absent (not a dangling link) or a file, and
 * no ".." follows it; otherwise NULL with errno ENOENT.  malloc'ed; NULL
 * with errno set on failure. */
char *ids_absolute(const char *path, bool allow_missing);

/* The id of the absolute, canonical path abs under base, malloc'ed. */
char *ids_from_absolute(const char *base, const char *abs);

/* The id of name in the directory whose id is dir, malloc'ed. */
char *ids_join(const char *dir, const char *name);

/* The absolute path of id, malloc'ed. */
char *ids_to_absolute(const char *base, const char *id, size_t len);

/* Whether id[0..len) is an id this kidx makes: "." or "/", or a path of
 * components that are neither empty nor "." nor "..", relative, or
 * absolute and (when base is not NULL) not under base, since such a path
 * would have been made relative.  Ids that kidx 0.3 kept as typed
 * ("./corpus/x.txt", "corpus//x.txt", "$PWD/corpus/x.txt") are not, nor
 * are ids from --jsonl that only look like paths. */
bool ids_is_current(const char *base, const char *id, size_t len);

/* Whether id[0..len) is root or lies under it: "corpus" covers
 * "corpus/x.txt" but not "corpus2/x.txt"; "." covers every relative id,
 * "/" every absolute one.  With base (the index's, absolute; NULL when
 * both are absolute paths), an absolute root that holds the base covers
 * every relative id too: those lie under the base ("kidx index .."). */
bool ids_under(const char *base, const char *id, size_t len, const char *root);

/* Whether id[0..len) is or lies under one of the n ids of a set sorted by
 * strcmp, as ids_under with base says: elements of stride bytes, each
 * starting with its id (a char * member first, as in char *[] or struct
 * root).  Cost: a binary search per '/' in id (and in base), not a pass
 * over the set. */
bool ids_under_any(const char *base, const char *id, size_t len,
                   const void *set, size_t n, size_t stride);

#endif
