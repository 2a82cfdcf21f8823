/*
 * walk.h -- finding the files `kidx index` reads: the PATH arguments and
 * the directories under them.
 *
 * Directories are walked in sorted (bytewise) order, so that documents
 * are added in the same order on every run and machine.  Met while
 * walking, as ripgrep and fd do: dot names are skipped unless --hidden,
 * and what .ignore, .gitignore (in a git repository) and .git/info/exclude
 * exclude unless --no-ignore (ignore.c reads them); .git itself and the
 * index directory are always skipped, and symbolic links are not followed
 * (a link to a directory may point back up the tree, one to a file names
 * a file twice; not following is simpler and more predictable than
 * detecting loops and duplicates).  A PATH argument is
 * taken even if hidden, ignored or a link, since the user named it.  Only
 * the list is made here: files are read later, so the run knows its total
 * size (for the progress line) first.
 */
#ifndef KIDX_CLI_WALK_H
#define KIDX_CLI_WALK_H

#include "ignore.h"
#include "report.h"

#include <sys/types.h>

typedef struct walk_file {
  char *path;       /* as walked: for reading it, and in messages */
  char *id;         /* its document id (ids.h) */
  uint64_t size;    /* from the walk: for progress, and the stamp check */
  int64_t mtime_ns; /* from the walk, for the stamp check */
} walk_file;

typedef struct walk {
  report *rep;        /* borrowed: warnings and the tallies of skipped inputs */
  const char *base;   /* borrowed: the index's base (ids.h) */
  bool prune;         /* --prune: a PATH may be gone */
  bool have_index_id; /* the index directory exists: skip it in walks */
  dev_t index_dev;
  ino_t index_ino;
  walk_file *files; /* collected, in walk order until walk_finish */
  size_t nfiles, cap;
  uint64_t total_bytes; /* of the files */
  /* Ids of directories and files that could not be looked at (permission
   * denied, I/O errors): what lies under them is unknown, so --prune
   * must not take their documents for gone. */
  char **blind;
  size_t nblind, blind_cap;
  bool nomem; /* an allocation failed: the list is incomplete */
  /* The options of the PATH being walked (ROOT_HIDDEN, ROOT_NO_IGNORE of
   * roots.h), and the ignore files met on the way (NULL until needed). */
  unsigned flags;
  ignore_stack *ig;
} walk;

/* What walk_argument found at a PATH. */
typedef enum walk_found {
  WALK_GONE,  /* nothing (with --prune or a re-sync: no warning, the
                 caller decides) */
  WALK_OTHER, /* not listed: unreadable, the index directory, special */
  WALK_FILE,  /* a regular file, listed */
  WALK_DIR    /* a directory, walked */
} walk_found;

/* Starts an empty list; index_dir is the directory to skip, base the
 * index's base (ids.h). */
void walk_init(walk *w, report *rep, const char *index_dir, const char *base,
               bool prune);

/* Adds the files of one PATH argument, whose document id is id: path
 * itself when it is a file, else what lies under it, walked with the
 * options flags (ROOT_HIDDEN, ROOT_NO_IGNORE).  Inputs that cannot be
 * listed are warned about and tallied in w->rep.  When out of memory,
 * sets w->nomem. */
walk_found walk_argument(walk *w, const char *path, const char *id,
                         unsigned flags);

/* Sorts the list by id and drops repeats, so that "kidx index corpus
 * ./corpus/x.txt" reads x.txt once and the summary counts documents, not
 * mentions.  Sorted order is as deterministic as walk order. */
void walk_finish(walk *w);

/* The file with this id, after walk_finish; NULL if the walk did not
 * produce it.  Cost: a binary search. */
const walk_file *walk_find(const walk *w, const char *id);

/* Whether id lies under something the walk could not look at. */
bool walk_blind_to(const walk *w, const char *id, size_t len);

void walk_free(walk *w);

#endif
