/*
 * prune.c -- removing documents whose files the index should no longer
 * hold: under --prune PATH and a re-sync, those the walk did not produce
 * (the file is gone, or is now hidden or ignored); under --forget PATH,
 * all of them but those another root still covers.
 *
 * Only documents indexed from files are candidates -- those with a stamp
 * (stamps.h).  Documents from --jsonl have none: their ids need not be
 * paths at all, and no walk can tell whether they are "gone".  Nor are
 * documents whose ids are not as this kidx makes them (kidx 0.3 kept paths
 * as typed, ids_is_current): no walk produces those ids, so each would
 * look gone; they are counted for one notice instead.
 */
#include "cmd_index.h"

#include "ids.h"
#include "stamps.h"

#include <stdlib.h>
#include <string.h>

/* The candidates, collected by kidx_writer_foreach (which does not allow
 * changes while it runs) and deleted afterwards. */
typedef struct prune_list {
  const prune_spec *spec;
  const char *base;
  size_t legacy;        /* documents with ids of an older kidx */
  char *legacy_example; /* the first of them (malloc'ed) */
  char **ids;           /* NUL-terminated copies */
  size_t n, cap;
  bool nomem;
} prune_list;

static int collect(void *ctx, const char *id, size_t id_len,
                   const kidx_stamp *stamp) {
  prune_list *l = ctx;
  const prune_spec *p = l->spec;
  /* An id with a NUL byte (possible from JSON Lines) is no path. */
  if (!stamp_trusted(stamp) || memchr(id, '\0', id_len))
    return 0;
  /* An id kidx 0.3 kept as typed ("./corpus/x.txt", or absolute under
   * the base) is not where the walk looks: it would never be found, and
   * so always be taken for gone.  Such documents are left alone, and
   * counted for one notice. */
  if (!ids_is_current(l->base, id, id_len)) {
    if (l->legacy++ == 0 && (l->legacy_example = malloc(id_len + 1))) {
      memcpy(l->legacy_example, id, id_len);
      l->legacy_example[id_len] = '\0';
    }
    return 0;
  }
  /* Every document is looked at: binary searches over the scopes and
   * roots, as a re-sync may have thousands of roots (files named one by
   * one). */
  if (!ids_under_any(l->base, id, id_len, p->scopes, p->nscopes,
                     sizeof *p->scopes) ||
      (p->keep && ids_under_any(l->base, id, id_len, p->keep->r, p->keep->n,
                                sizeof *p->keep->r)))
    return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    char **grown = realloc(l->ids, cap * sizeof *grown);
    if (!grown) {
      l->nomem = true;
      return 1;
    }
    l->ids = grown;
    l->cap = cap;
  }
  char *copy = malloc(id_len + 1);
  if (!copy) {
    l->nomem = true;
    return 1;
  }
  memcpy(copy, id, id_len);
  copy[id_len] = '\0';
  l->ids[l->n++] = copy;
  return 0;
}

static int cmp_ids(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  return strcmp(*x, *y);
}

int prune_documents(index_run *run, kidx_writer *w, prune_spec *p) {
  if (p->nscopes == 0)
    return ST_OK;
  qsort(p->scopes, p->nscopes, sizeof *p->scopes, cmp_ids);
  prune_list l = {p, run->c->base, 0, NULL, NULL, 0, 0, false};
  kidx_status st = kidx_writer_foreach(w, collect, &l);
  int rc = ST_OK;
  if (st != KIDX_OK)
    rc = cli_fail(ST_INDEX, "cannot read index at %s: %s", run->c->index_dir,
                  cli_lib_message(kidx_writer_errmsg(w), st));
  else if (l.nomem)
    rc =
        cli_fail(ST_INDEX, "out of memory while pruning %s", run->c->index_dir);
  for (size_t i = 0; i < l.n && rc == ST_OK; i++) {
    /* Found by this run's walk, or under something it could not look
     * at (permissions): the document stays. */
    if (walk_find(&run->files, l.ids[i]) ||
        walk_blind_to(&run->files, l.ids[i], strlen(l.ids[i])))
      continue;
    st = kidx_writer_delete(w, l.ids[i], strlen(l.ids[i]));
    if (st == KIDX_OK)
      run->removed++;
    else
      rc = cli_fail(ST_INDEX, "cannot delete %s from %s: %s", l.ids[i],
                    run->c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), st));
  }
  if (rc == ST_OK && l.legacy > 0 && run->rep.verbosity >= 0) {
    char n[32];
    cli_format_count(n, sizeof n, l.legacy);
    progress_clear(&run->rep.prog);
    cli_notice("%s document%s ha%s an id from an older kidx (such as '%s'), "
               "never pruned: rebuild the index (remove %s, then index the "
               "PATHs again) or remove %s with 'kidx delete'",
               n, l.legacy == 1 ? "" : "s", l.legacy == 1 ? "s" : "ve",
               l.legacy_example ? l.legacy_example : "?", run->c->index_dir,
               l.legacy == 1 ? "it" : "them");
  }
  free(l.legacy_example);
  for (size_t i = 0; i < l.n; i++)
    free(l.ids[i]);
  free(l.ids);
  return rc;
}
