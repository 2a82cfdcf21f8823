/*
 * stamps.h -- change detection for `kidx index`: the stamp (size,
 * modification time, content hash) kept with each file's document, and
 * the policy deciding when a file can be left unread.
 *
 * A file whose size and mtime equal its stamp's is not even opened; one
 * whose content hash is unchanged (touched, or copied back) keeps its
 * document and only gets a new stamp.  The catch is the "racily clean"
 * file of git: one rewritten within the same tick of the file system's
 * clock as the version read keeps its size and mtime, so a file modified
 * shortly before a run gets a stamp the next run does not trust.
 */
#ifndef KIDX_CLI_STAMPS_H
#define KIDX_CLI_STAMPS_H

#include "kidx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* A file's modification time in ns since the epoch, as stamps hold it. */
int64_t stamp_mtime_ns(const struct stat *st);

/* The racy-time limit of a run starting now: files modified at or after
 * it get a stamp the next run does not trust (see stamp_for). */
int64_t stamp_racy_from(void);

/* The stamp of content[0..len) read from a file whose status at open was
 * st, in a run whose racy-time limit is racy_from. */
kidx_stamp stamp_for(int64_t racy_from, const struct stat *st,
                     const char *content, size_t len);

/* Whether a stamp read from the index can be trusted at all: an all-zero
 * stamp is "none" (a document from --jsonl). */
bool stamp_trusted(const kidx_stamp *old);

/* Whether a file of this size and mtime, as the walk saw it, can be left
 * unread: its trusted stamp records the same, and not as racy. */
bool stamp_unchanged(const kidx_stamp *old, uint64_t size, int64_t mtime_ns);

/* Whether the content read (stamp now) is what a trusted stamp old
 * records, though size or mtime differ: the document stays. */
bool stamp_same_content(const kidx_stamp *old, const kidx_stamp *now);

bool stamp_equal(const kidx_stamp *a, const kidx_stamp *b);

/* Looks up the stamp of the document with this id: 1 (and *out) if there
 * is one, 0 if not, or the writer's failure (a negative kidx_status). */
int stamp_lookup(kidx_writer *w, const char *id, size_t id_len,
                 kidx_stamp *out);

#endif
