/*
 * cmd_get.c -- kidx get: documents by id, as they are stored in the index.
 *
 * This file owns the get command: reading the ids (as given, or in the
 * JSON form search --json prints with --json-id), fetching each with
 * kidx_reader_get() into one reused kidx_document, and printing its body
 * (or title) byte for byte, or one JSON object per id.
 */
#include "cli.h"

#include "json.h"

#include <stdlib.h>
#include <string.h>

/* One id to fetch: its bytes, and how the user wrote it (for messages). */
typedef struct get_id {
  char *bytes; /* malloc'ed with --json-id, else the argument itself */
  size_t len;
  const char *given;
} get_id;

/* The ids of the command line, decoded from JSON with --json-id.  A
 * malformed one is a usage error before anything is printed, so that a
 * script never gets half an answer to a bad request. */
static int read_ids(const cli_args *a, get_id *ids) {
  for (int i = 0; i < a->npos; i++) {
    ids[i].given = a->pos[i];
    if (!a->json_id) {
      ids[i].bytes = a->pos[i];
      ids[i].len = strlen(a->pos[i]);
      continue;
    }
    char why[128];
    if (!json_parse_id(a->pos[i], strlen(a->pos[i]), &ids[i].bytes, &ids[i].len,
                       why, sizeof why))
      return cli_fail(ST_USAGE,
                      "--json-id: '%s' is not a JSON string or "
                      "{\"bytes\":\"BASE64\"}: %s",
                      a->pos[i], why);
  }
  return ST_OK;
}

/* One line of --json: the id in search --json's form, then the title and
 * (without --title) the body.  Title and body take the same form as ids:
 * a JSON string when they are UTF-8, else {"bytes":"BASE64"}, so that
 * every byte survives (a stored text need not be UTF-8). */
static void print_json(const kidx_document *doc, bool title_only) {
  size_t id_len, title_len, body_len;
  const char *id = kidx_document_id(doc, &id_len);
  const char *title = kidx_document_title(doc, &title_len);
  const char *body = kidx_document_body(doc, &body_len);
  fputs("{\"id\":", stdout);
  json_put_id(stdout, id, id_len);
  fputs(",\"title\":", stdout);
  json_put_id(stdout, title, title_len);
  if (!title_only) {
    fputs(",\"body\":", stdout);
    json_put_id(stdout, body, body_len);
  }
  fputs("}\n", stdout);
}

int cli_cmd_get(const cli *c, const cli_args *a) {
  if (a->npos == 0)
    return cli_fail(ST_USAGE, "get needs at least one ID (see 'kidx get "
                              "--help')");
  get_id *ids = calloc((size_t)a->npos, sizeof *ids);
  if (!ids)
    return cli_fail(ST_INDEX, "out of memory");
  int rc = read_ids(a, ids);
  kidx_reader *r = NULL;
  kidx_document *doc = NULL;
  if (rc == ST_OK)
    rc = cli_open_reader(c, &r);
  if (rc == ST_OK && !(doc = kidx_document_new()))
    rc = cli_fail(ST_INDEX, "out of memory");
  bool missing = false;
  for (int i = 0; i < a->npos && rc == ST_OK; i++) {
    kidx_status st = kidx_reader_get(r, ids[i].bytes, ids[i].len, doc);
    if (st == KIDX_ENOTFOUND) {
      /* As given: the message is one line, made terminal-safe by
       * cli_fail, and names what the user typed. */
      cli_fail(ST_NO_HITS, "no document '%s'", ids[i].given);
      missing = true;
      continue;
    }
    if (st != KIDX_OK) {
      rc = cli_fail(ST_INDEX, "index at %s is unusable: %s", c->index_dir,
                    cli_lib_message(kidx_document_errmsg(doc), st));
      break;
    }
    if (a->json) {
      print_json(doc, a->title);
    } else {
      /* Exact bytes, nothing added, as cat and git cat-file -p print:
       * `kidx get ID > file` gives back the body that was indexed.  A
       * title is a line, so it ends with one. */
      size_t len;
      const char *text = a->title ? kidx_document_title(doc, &len)
                                  : kidx_document_body(doc, &len);
      fwrite(text, 1, len, stdout);
      if (a->title)
        putchar('\n');
    }
    /* Output that cannot be written (a closed pipe, a full disk) ends
     * the run: main() reports it. */
    if (ferror(stdout))
      break;
  }
  if (a->json_id)
    for (int i = 0; i < a->npos; i++)
      free(ids[i].bytes);
  free(ids);
  kidx_document_free(doc);
  kidx_reader_close(r);
  if (rc == ST_OK && missing)
    rc = ST_NO_HITS;
  return rc;
}
