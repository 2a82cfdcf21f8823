/*
 * cmd_index.h -- what the files of `kidx index` share: the state of one
 * run (index_run), which cmd_index.c owns and orchestrates, and the
 * JSON Lines ingestion of index_jsonl.c.
 */
#ifndef KIDX_CLI_CMD_INDEX_H
#define KIDX_CLI_CMD_INDEX_H

#include "report.h"
#include "roots.h"
#include "walk.h"

typedef struct index_run {
  const cli *c;
  walk files;               /* collected by the walk, sorted by path */
  report rep;               /* progress, warnings, skipped inputs */
  unsigned long bad_lines;  /* JSON Lines not indexed: exit 4 too */
  const char *const *jsonl; /* --jsonl inputs, read after the files */
  size_t njsonl;
  size_t docs;       /* documents added */
  uint64_t bytes;    /* their input bytes, for the summary */
  size_t docs_new;   /* of docs, those whose id was not in the index */
  size_t unchanged;  /* files left alone: same stamp, or same content */
  size_t removed;    /* documents deleted by --prune, re-sync, --forget */
  int64_t racy_from; /* see stamp_for */
  size_t done_files; /* inputs done, for progress */
  uint64_t done_bytes;
  byte_buf buf; /* file contents, reused from file to file */
} index_run;

/* Which documents to remove (prune.c): those with a stamp whose ids lie
 * under one of scopes (ids), unless the walk produced them or could not
 * look where they are, or keep (when not NULL) covers them. */
typedef struct prune_spec {
  char **scopes;
  size_t nscopes;
  const roots *keep;
} prune_spec;

/* Deletes the documents p selects (sorting p->scopes first).  Returns
 * ST_OK or a fatal status, reported. */
int prune_documents(index_run *run, kidx_writer *w, prune_spec *p);

/* Adds the documents of one --jsonl input (index_jsonl.c).  Returns ST_OK,
 * or a fatal status (the library failed otherwise than on one document),
 * reported already. */
int index_jsonl(index_run *run, kidx_writer *w, const char *path);

#endif
