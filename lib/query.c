/*
 * query.c -- the query language parser.  Turns the text a user typed into
 * a tree of kidx__qnode (grammar in kidx_int.h) whose leaves hold exactly
 * the terms the index stores, because every word goes through the index's
 * own analyser.  Called by search.c, which evaluates the tree.  A
 * kidx__query owns its nodes and their text in one arena, freed in one
 * call; the parser keeps no pointers into the query text.
 *
 * Shape: a lexer with one token of lookahead under a recursive-descent
 * parser, one function per grammar level.  Only parentheses recurse (NOT
 * chains and field prefixes are loops), and the depth is checked before
 * each descent, so no input can exhaust the stack.  Work is linear in the
 * query's length: the lexer looks at each byte a bounded number of times,
 * nodes exist only for terms (at most KIDX_MAX_QUERY_TERMS) and for
 * operators over two or more of them, and columns come from a cache that
 * only moves forward except when an error is reported.
 *
 * Decisions the grammar leaves open:
 *   - Exclusions ("-w", "NOT w") are not operands of AND or OR but
 *     restrictions on their neighbours: in a run of operands joined by AND
 *     or juxtaposition, the excluded ones are subtracted from what the
 *     others match, up to the nearest OR or parenthesis.  So "a b -c" is
 *     (a OR b) AND NOT c when juxtaposition means OR (as Lucene reads it),
 *     "a b AND -c" is a OR (b AND NOT c), and "a NOT b" is a AND NOT b in
 *     both modes.
 *   - Something that is only exclusions cannot be matched by itself: a
 *     whole query like that is an error ("only excluded words"), as is an
 *     exclusion given as one side of OR ("a OR -b" would match nearly every
 *     document).  A parenthesised group of exclusions is an exclusion:
 *     "a (-b -c)" is a AND NOT (b OR c).  NOT NOT w is w.
 *   - A word, phrase, prefix or NEAR that analyses to no term (stop words,
 *     punctuation) is left out after the syntax has been checked, and the
 *     operators around it close up: "cat AND the" is cat.
 *   - '-' excludes only at the start of a token (the query's start, after
 *     white space or '('), so "e-mail" and "title:-x" are words.  A second
 *     '-' is part of the word: "--x" excludes x.
 *   - White space between tokens is ASCII white space and Unicode's other
 *     White_Space characters (U+00A0, U+3000, ...).
 *   - An upper-case NEAR is an operator like AND/OR/NOT, so it must be
 *     followed by '('; "near" stays a word.  Inside NEAR(...), the last ','
 *     introduces the distance, and groups, phrases and prefixes are errors.
 *   - A prefix is analysed without stemming or stop words and must give
 *     exactly one term.  '*' elsewhere than at the end of a word is an
 *     error, not a wildcard.
 *   - Field scopes nest only when they agree: title:(title:x) is allowed,
 *     title:(body:x) is an error.  Every node created inside a scope
 *     carries its field; the leaves' fields are what evaluation needs.
 *   - Columns count characters as kidx__utf8_decode() sees them, so an
 *     invalid byte counts as one.  An error that is about the whole query
 *     ("no searchable words") has column 0 and reads "query error: ...".
 */
#include "kidx_int.h"

#include <stdio.h>
#include <stdlib.h>

/* NEAR(a b) without a distance: about a sentence. */
#define NEAR_DEFAULT 10u
/* The largest NEAR distance.  A window of thousands of words matches
 * almost any two words of a long document and costs evaluation time in
 * proportion to its size; 1000 is larger than any use we know of. */
#define NEAR_MAX 1000u

/* ---- the arena: a list of blocks, freed together ---- */

typedef struct block {
  struct block *next;
  size_t used, cap;
  max_align_t data[]; /* so that every allocation is suitably aligned */
} block;

struct kidx__query {
  kidx__qnode *root;
  block *blocks;
};

/* Most queries fit one block; a big request gets a block of its own. */
#define BLOCK_BYTES 4096u

/* n bytes, aligned for any type, owned by q; NULL when out of memory. */
static void *arena_alloc(kidx__query *q, size_t n) {
  const size_t align = _Alignof(max_align_t);
  if (n > SIZE_MAX / 2)
    return NULL;
  n = (n + align - 1) / align * align;
  block *b = q->blocks;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > BLOCK_BYTES ? n : BLOCK_BYTES;
    b = malloc(sizeof *b + cap);
    if (!b)
      return NULL;
    b->next = q->blocks;
    b->used = 0;
    b->cap = cap;
    q->blocks = b;
  }
  void *r = (char *)b->data + b->used;
  b->used += n;
  return r;
}

/* ---- tokens and parser state ---- */

enum {
  T_EOF,
  T_LPAREN,
  T_RPAREN,
  T_PHRASE, /* "...": s, e delimit the text inside the quotes */
  T_WORD,   /* s, e delimit the word */
  T_PREFIX, /* word*: s, e delimit the word without the '*' */
  T_NEAR,   /* NEAR(...): s, e delimit the text inside the parentheses */
  T_FIELD,  /* title: or body: */
  T_AND,
  T_OR,
  T_NOT,
  T_MINUS /* '-' at the start of a token */
};

typedef struct token {
  int type;     /* T_* */
  size_t start; /* byte offset of the token's first byte */
  size_t end;   /* byte offset just past it */
  size_t s, e;  /* the text a token carries (see T_*) */
  int field;    /* T_FIELD: KIDX__FIELD_* */
} token;

/* A parsed operand on the parser's stack. */
typedef struct item {
  kidx__qnode *node; /* never NULL on the stack */
  int neg;           /* the operand is "NOT node": an exclusion */
  size_t negcol;     /* neg: column of the first '-' or NOT, for messages */
  uint32_t pos;      /* a term just analysed: its token position */
} item;

typedef struct parser {
  const kidx__analyzer *an;
  kidx__analyzer prefix_an; /* an without stemming and stop words */
  const char *q;
  size_t len;
  unsigned flags; /* KIDX__QP_* */
  kidx__query *query;
  size_t i;  /* where the lexer resumes */
  token tok; /* the current token */
  /* Operands waiting to be joined.  Each grammar level pushes its operands
   * above those of the levels that called it and pops them when it builds
   * its node, so one stack serves the whole parse. */
  item *stack;
  size_t top, cap;
  size_t nterms; /* terms created so far */
  /* Analysis callback context: the offset of the analysed text in the
   * query, and the field scope of the terms it makes. */
  size_t an_base;
  int an_field;
  /* Column cache: col is the column of byte offset col_off. */
  size_t col_off, col;
  size_t *column;
  char *errmsg;
} parser;

/* ---- errors ---- */

/* The column (1-based, in characters) of byte offset off. */
static size_t column_of(parser *p, size_t off) {
  if (off < p->col_off) {
    p->col_off = 0;
    p->col = 1;
  }
  while (p->col_off < off) {
    uint8_t b = (uint8_t)p->q[p->col_off];
    if (b < 0x80) {
      p->col_off++;
    } else {
      uint32_t cp;
      p->col_off += kidx__utf8_decode((const uint8_t *)p->q + p->col_off,
                                      p->len - p->col_off, &cp);
    }
    p->col++;
  }
  return p->col;
}

/* Reports an error at column col (0: about the whole query). */
static int fail_at(parser *p, size_t col, const char *what) {
  if (p->column)
    *p->column = col;
  if (p->errmsg) {
    if (col)
      kidx__err(p->errmsg, KIDX_EQUERY, "query error at column %zu: %s", col,
                what);
    else
      kidx__err(p->errmsg, KIDX_EQUERY, "query error: %s", what);
  }
  return KIDX_EQUERY;
}

static int qerr(parser *p, size_t off, const char *fmt, ...) KIDX__PRINTF(3, 4);

/* Reports an error at byte offset off of the query. */
static int qerr(parser *p, size_t off, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return fail_at(p, column_of(p, off), what);
}

static const char *field_name(int field) {
  return field == KIDX__FIELD_TITLE ? "title" : "body";
}

/* ---- the lexer ---- */

/* The length of the white space character at q[i] (i < len), else 0.
 * Besides ASCII white space this is Unicode's White_Space outside ASCII
 * (no-break and typographic spaces, U+3000 which Japanese and Chinese
 * input methods type), so that those separate tokens too. */
static size_t space_len(const char *q, size_t i, size_t len) {
  uint8_t c = (uint8_t)q[i];
  if (c < 0x80)
    return c == ' ' || (c >= '\t' && c <= '\r') ? 1 : 0;
  if (c != 0xC2 && c != 0xE1 && c != 0xE2 && c != 0xE3)
    return 0; /* lead bytes of no white space character */
  uint32_t cp;
  size_t n = kidx__utf8_decode((const uint8_t *)q + i, len - i, &cp);
  int ws = cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
  return ws ? n : 0;
}

static size_t skip_spaces(const char *q, size_t i, size_t end) {
  size_t k;
  while (i < end && (k = space_len(q, i, end)) > 0)
    i += k;
  return i;
}

/* Whether q[i] ends a word.  ':' and '*' do not: "10:30" is a word (which
 * analysis splits) and '*' is checked once the word is known. */
static int ends_word(const char *q, size_t i, size_t len) {
  char c = q[i];
  return c == '(' || c == ')' || c == '"' || space_len(q, i, len) > 0;
}

static int word_is(const char *w, size_t n, const char *lit) {
  size_t m = strlen(lit);
  return n == m && memcmp(w, lit, m) == 0;
}

static int word_starts(const char *w, size_t n, const char *lit) {
  size_t m = strlen(lit);
  return n >= m && memcmp(w, lit, m) == 0;
}

/* Classifies the run of word bytes q[i..j) (not a field) into t. */
static int lex_word(parser *p, size_t i, size_t j, token *t) {
  const char *w = p->q + i;
  size_t n = j - i;
  t->end = j;
  if (word_is(w, n, "AND") || word_is(w, n, "OR") || word_is(w, n, "NOT")) {
    t->type = w[0] == 'A' ? T_AND : w[0] == 'O' ? T_OR : T_NOT;
    return KIDX_OK;
  }
  if (word_is(w, n, "NEAR")) {
    if (j == p->len || p->q[j] != '(')
      return qerr(p, i, "NEAR needs '(' right after it, as in NEAR(a b, 10)");
    size_t k = j + 1;
    while (k < p->len && p->q[k] != ')') {
      char c = p->q[k];
      if (c == '(' || c == '"' || c == '*')
        return qerr(p, k,
                    "NEAR(...) takes only plain words: no groups, phrases "
                    "or prefixes");
      k++;
    }
    if (k == p->len)
      return qerr(p, i, "missing ')'");
    t->type = T_NEAR;
    t->s = j + 1;
    t->e = k;
    t->end = k + 1;
    return KIDX_OK;
  }
  const char *star = memchr(w, '*', n);
  t->type = T_WORD;
  t->s = i;
  t->e = j;
  if (!star)
    return KIDX_OK;
  size_t at = (size_t)(star - p->q);
  if (n == 1)
    return qerr(p, at,
                "a lone '*': put it at the end of a word, as in transpar*");
  if (at != j - 1)
    return qerr(p, at, "'*' only ends a prefix");
  t->type = T_PREFIX;
  t->e = at;
  return KIDX_OK;
}

/* Reads the token at p->i into p->tok. */
static int advance(parser *p) {
  const char *q = p->q;
  size_t i = p->i, len = p->len;
  token *t = &p->tok;
  int rc = KIDX_OK;
  i = skip_spaces(q, i, len);
  /* '-' excludes only at the start of a token: at the query's start,
   * after white space or after '('. */
  int token_start = i == 0 || i > p->i || q[i - 1] == '(';
  t->start = t->end = t->s = t->e = i;
  t->field = KIDX__FIELD_ANY;
  if (i == len) {
    t->type = T_EOF;
  } else if (q[i] == '(' || q[i] == ')') {
    t->type = q[i] == '(' ? T_LPAREN : T_RPAREN;
    t->end = i + 1;
  } else if (q[i] == '"') {
    const char *close =
        i + 1 < len ? memchr(q + i + 1, '"', len - i - 1) : NULL;
    if (!close)
      return qerr(p, i, "missing closing '\"'");
    t->type = T_PHRASE;
    t->s = i + 1;
    t->e = (size_t)(close - q);
    t->end = t->e + 1;
  } else if (q[i] == '-' && token_start) {
    if (i + 1 == len || q[i + 1] == ')' || space_len(q, i + 1, len))
      return qerr(p, i, "'-' needs a word right after it");
    t->type = T_MINUS;
    t->end = i + 1;
  } else if (word_starts(q + i, len - i, "title:") ||
             word_starts(q + i, len - i, "body:")) {
    /* Recognised before the rest of the word is scanned, so that
     * "title:title:title:..." costs linear time, not quadratic. */
    t->type = T_FIELD;
    t->field = q[i] == 't' ? KIDX__FIELD_TITLE : KIDX__FIELD_BODY;
    t->end = i + (q[i] == 't' ? 6 : 5);
  } else {
    size_t j = i;
    while (j < len && !ends_word(q, j, len))
      j++;
    rc = lex_word(p, i, j, t);
  }
  p->i = t->end;
  return rc;
}

/* Tokens that can start a primary, and an operand (a unary). */
static int starts_primary(int type) {
  return type == T_LPAREN || type == T_PHRASE || type == T_WORD ||
         type == T_PREFIX || type == T_NEAR || type == T_FIELD;
}

static int starts_operand(int type) {
  return starts_primary(type) || type == T_NOT || type == T_MINUS;
}

/* The error for a token that cannot start the operand expected here. */
static int operand_error(parser *p) {
  switch (p->tok.type) {
  case T_AND:
    return qerr(p, p->tok.start, "AND needs a word on each side");
  case T_OR:
    return qerr(p, p->tok.start, "OR needs a word on each side");
  case T_RPAREN:
    return qerr(p, p->tok.start, "unexpected ')'");
  default:
    return qerr(p, p->tok.start, "a word is missing here");
  }
}

/* ---- building the tree ---- */

static int push(parser *p, const item *it) {
  if (p->top == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 32;
    item *s = realloc(p->stack, cap * sizeof *s);
    if (!s)
      return KIDX_ENOMEM;
    p->stack = s;
    p->cap = cap;
  }
  p->stack[p->top++] = *it;
  return KIDX_OK;
}

static kidx__qnode *new_node(parser *p, int kind, int field, size_t column) {
  kidx__qnode *n = arena_alloc(p->query, sizeof *n);
  if (!n)
    return NULL;
  n->kind = kind;
  n->field = field;
  n->text = NULL;
  n->len = 0;
  n->kids = NULL;
  n->nkids = 0;
  n->pos = NULL;
  n->distance = 0;
  n->column = column;
  return n;
}

/* Token callback: appends a TERM node to the stack. */
static int on_term(void *ctx, const kidx__token *tok) {
  parser *p = ctx;
  size_t off = p->an_base + tok->start;
  if (p->nterms == KIDX_MAX_QUERY_TERMS)
    return qerr(p, off, "too many terms (limit %d)", KIDX_MAX_QUERY_TERMS);
  p->nterms++;
  kidx__qnode *n = new_node(p, KIDX__Q_TERM, p->an_field, column_of(p, off));
  char *text = arena_alloc(p->query, tok->len);
  if (!n || !text)
    return KIDX_ENOMEM;
  memcpy(text, tok->text, tok->len);
  n->text = text;
  n->len = tok->len;
  item it = {n, 0, 0, tok->pos};
  return push(p, &it);
}

/* Analyses q[s..e) with an, pushing one TERM item per term. */
static int analyse(parser *p, const kidx__analyzer *an, size_t s, size_t e,
                   int field) {
  p->an_base = s;
  p->an_field = field;
  return kidx__analyze(an, p->q + s, e - s, 0, NULL, on_term, p);
}

/* Joins the items of stack[from..top) whose neg equals want_neg under one
 * node of kind (AND or OR), splicing in the kids of items that already are
 * such a node: (a OR b) OR c is a OR b OR c.  *out is NULL when there are
 * no such items and the item itself when there is one. */
static int combine(parser *p, size_t from, int kind, int field, int want_neg,
                   kidx__qnode **out) {
  size_t count = 0, nkids = 0;
  kidx__qnode *only = NULL;
  for (size_t i = from; i < p->top; i++) {
    const item *it = &p->stack[i];
    if (it->neg != want_neg)
      continue;
    count++;
    only = it->node;
    nkids += it->node->kind == kind ? it->node->nkids : 1;
  }
  *out = only;
  if (count <= 1)
    return KIDX_OK;
  kidx__qnode *n = new_node(p, kind, field, 0);
  kidx__qnode **kids = arena_alloc(p->query, nkids * sizeof *kids);
  if (!n || !kids)
    return KIDX_ENOMEM;
  size_t k = 0;
  for (size_t i = from; i < p->top; i++) {
    kidx__qnode *c = p->stack[i].node;
    if (p->stack[i].neg != want_neg)
      continue;
    if (c->kind == kind) {
      memcpy(kids + k, c->kids, c->nkids * sizeof *kids);
      k += c->nkids;
    } else {
      kids[k++] = c;
    }
  }
  n->kids = kids;
  n->nkids = k;
  n->column = kids[0]->column;
  *out = n;
  return KIDX_OK;
}

/* Reduces the operands stack[from..top) of one AND chain (kind AND) or one
 * run of juxtaposed operands (kind OR) to *out and pops them: the positive
 * operands joined by kind, minus the excluded ones.  With no positive
 * operand the result is itself an exclusion; with no operand at all it is
 * empty (node NULL). */
static int reduce(parser *p, size_t from, int kind, int field, item *out) {
  kidx__qnode *pos, *neg;
  size_t negcol = 0;
  int rc;
  for (size_t i = from; i < p->top && !negcol; i++)
    if (p->stack[i].neg)
      negcol = p->stack[i].negcol;
  if ((rc = combine(p, from, kind, field, 0, &pos)) != KIDX_OK ||
      (rc = combine(p, from, KIDX__Q_OR, field, 1, &neg)) != KIDX_OK)
    return rc;
  p->top = from;
  out->node = pos;
  out->neg = 0;
  out->negcol = 0;
  out->pos = 0;
  if (!neg)
    return KIDX_OK;
  if (!pos) {
    out->node = neg;
    out->neg = 1;
    out->negcol = negcol;
    return KIDX_OK;
  }
  kidx__qnode *n = new_node(p, KIDX__Q_NOT, field, pos->column);
  kidx__qnode **kids = arena_alloc(p->query, 2 * sizeof *kids);
  if (!n || !kids)
    return KIDX_ENOMEM;
  kids[0] = pos;
  kids[1] = neg;
  n->kids = kids;
  n->nkids = 2;
  out->node = n;
  return KIDX_OK;
}

/* ---- the grammar ---- */

static int parse_or(parser *p, unsigned depth, int field, item *out);

/* A word or phrase: its terms, a PHRASE of them when there are several. */
static int parse_text(parser *p, int field, item *out) {
  size_t col = column_of(p, p->tok.start);
  size_t from = p->top;
  int rc = analyse(p, p->an, p->tok.s, p->tok.e, field);
  if (rc)
    return rc;
  size_t n = p->top - from;
  if (n == 1) {
    out->node = p->stack[from].node;
  } else if (n > 1) {
    kidx__qnode *ph = new_node(p, KIDX__Q_PHRASE, field, col);
    kidx__qnode **kids = arena_alloc(p->query, n * sizeof *kids);
    uint32_t *pos = arena_alloc(p->query, n * sizeof *pos);
    if (!ph || !kids || !pos)
      return KIDX_ENOMEM;
    for (size_t i = 0; i < n; i++) {
      kids[i] = p->stack[from + i].node;
      pos[i] = p->stack[from + i].pos - p->stack[from].pos;
    }
    ph->kids = kids;
    ph->nkids = n;
    ph->pos = pos;
    out->node = ph;
  }
  p->top = from;
  return advance(p);
}

/* word*: the folded, unstemmed prefix; exactly one term. */
static int parse_prefix(parser *p, int field, item *out) {
  size_t start = p->tok.start, from = p->top;
  int rc = analyse(p, &p->prefix_an, p->tok.s, p->tok.e, field);
  if (rc)
    return rc;
  if (p->top == from)
    return qerr(p, start, "nothing searchable before '*'");
  if (p->top - from > 1)
    return qerr(p, start, "a prefix must be a single word");
  out->node = p->stack[from].node;
  out->node->kind = KIDX__Q_PREFIX;
  p->top = from;
  return advance(p);
}

/* NEAR(words [, N]). */
static int parse_near(parser *p, int field, item *out) {
  size_t start = p->tok.start, s = p->tok.s, e = p->tok.e, wend = e;
  size_t col = column_of(p, start);
  uint32_t distance = NEAR_DEFAULT;
  for (size_t k = e; k > s; k--) {
    if (p->q[k - 1] != ',')
      continue;
    size_t comma = k - 1, d = k, digits = 0;
    uint32_t v = 0;
    wend = comma;
    d = skip_spaces(p->q, d, e);
    if (d == e)
      return qerr(p, comma, "NEAR needs a distance after ','");
    size_t dstart = d;
    for (; d < e && p->q[d] >= '0' && p->q[d] <= '9'; d++, digits++)
      if (v <= NEAR_MAX) /* stop growing once too big: no overflow */
        v = v * 10 + (uint32_t)(p->q[d] - '0');
    d = skip_spaces(p->q, d, e);
    if (!digits || d != e || v > NEAR_MAX)
      return qerr(p, dstart,
                  "NEAR distance must be a whole number from 0 to %u",
                  NEAR_MAX);
    distance = v;
    break;
  }
  size_t words = 0;
  for (size_t k = skip_spaces(p->q, s, wend); k < wend;) {
    words++;
    while (k < wend && !space_len(p->q, k, wend))
      k++;
    k = skip_spaces(p->q, k, wend);
  }
  if (words < 2)
    return qerr(p, start, "NEAR needs at least two words");
  size_t from = p->top;
  int rc = analyse(p, p->an, s, wend, field);
  if (rc)
    return rc;
  size_t n = p->top - from;
  if (n == 1) {
    out->node = p->stack[from].node;
  } else if (n > 1) {
    kidx__qnode *nr = new_node(p, KIDX__Q_NEAR, field, col);
    kidx__qnode **kids = arena_alloc(p->query, n * sizeof *kids);
    if (!nr || !kids)
      return KIDX_ENOMEM;
    for (size_t i = 0; i < n; i++)
      kids[i] = p->stack[from + i].node;
    nr->kids = kids;
    nr->nkids = n;
    nr->distance = distance;
    out->node = nr;
  }
  p->top = from;
  return advance(p);
}

/* primary := "(" or ")" | field ":" primary | phrase | near | prefix | word.
 * The current token starts a primary. */
static int parse_primary(parser *p, unsigned depth, int field, item *out) {
  int rc;
  out->node = NULL;
  out->neg = 0;
  out->negcol = 0;
  out->pos = 0;
  while (p->tok.type == T_FIELD) {
    int f = p->tok.field;
    size_t at = p->tok.start, end = p->tok.end;
    if (field != KIDX__FIELD_ANY && field != f)
      return qerr(p, at, "%s: cannot be used inside %s:", field_name(f),
                  field_name(field));
    field = f;
    if ((rc = advance(p)) != KIDX_OK)
      return rc;
    if (p->tok.start != end || !starts_primary(p->tok.type))
      return qerr(p, at, "%s: needs a word, phrase or group right after it",
                  field_name(f));
  }
  switch (p->tok.type) {
  case T_LPAREN: {
    size_t open = p->tok.start;
    /* Checked before descending: this is what bounds the recursion. */
    if (depth >= KIDX__QP_MAX_DEPTH)
      return qerr(p, open, "nested too deeply (limit %d)", KIDX__QP_MAX_DEPTH);
    if ((rc = advance(p)) != KIDX_OK)
      return rc;
    if (p->tok.type == T_RPAREN)
      return qerr(p, open, "empty parentheses '()'");
    if (p->tok.type == T_EOF)
      return qerr(p, open, "missing ')'");
    if (!starts_operand(p->tok.type))
      return operand_error(p);
    if ((rc = parse_or(p, depth + 1, field, out)) != KIDX_OK)
      return rc;
    if (p->tok.type != T_RPAREN) /* parse_or stops at ')' or the end */
      return qerr(p, open, "missing ')'");
    return advance(p);
  }
  case T_PHRASE:
  case T_WORD:
    return parse_text(p, field, out);
  case T_PREFIX:
    return parse_prefix(p, field, out);
  case T_NEAR:
    return parse_near(p, field, out);
  default:
    return operand_error(p); /* callers check first; kept for safety */
  }
}

/* Consumes one NOT or '-' (the current token): notes the column of the
 * first one, flips *neg, and checks that what follows can be negated. */
static int take_negation(parser *p, int *neg, size_t *negcol,
                         int (*follows)(int type), const char *what) {
  size_t at = p->tok.start;
  int rc;
  if (!*negcol)
    *negcol = column_of(p, at);
  if ((rc = advance(p)) != KIDX_OK)
    return rc;
  if (!follows(p->tok.type))
    return qerr(p, at, "%s", what);
  *neg ^= 1;
  return KIDX_OK;
}

/* unary := "NOT" unary | "-" primary | primary.  A loop, not recursion:
 * the only state a chain of NOTs leaves is its parity. */
static int parse_unary(parser *p, unsigned depth, int field, item *out) {
  int neg = 0, rc;
  size_t negcol = 0;
  while (p->tok.type == T_NOT)
    if ((rc = take_negation(p, &neg, &negcol, starts_operand,
                            "NOT needs a word after it")) != KIDX_OK)
      return rc;
  if (p->tok.type == T_MINUS &&
      (rc = take_negation(p, &neg, &negcol, starts_primary,
                          "'-' needs a word right after it")) != KIDX_OK)
    return rc;
  if ((rc = parse_primary(p, depth, field, out)) != KIDX_OK)
    return rc;
  if (neg) {
    /* A group of exclusions negated again is positive; otherwise the
     * exclusion is reported where its first '-' or NOT is. */
    if (!out->neg)
      out->negcol = negcol;
    out->neg ^= 1;
  }
  return KIDX_OK;
}

/* and := unary (("AND" | juxtaposition) unary)*.  With KIDX__QP_ALL all
 * operands form one AND chain.  Without it AND binds tighter than
 * juxtaposition: the chains are the operands of an OR, and chains that
 * are only exclusions restrict that OR.  The current token starts an
 * operand. */
static int parse_and(parser *p, unsigned depth, int field, item *out) {
  int all = (p->flags & KIDX__QP_ALL) != 0, rc;
  size_t base = p->top; /* the OR's operands (without KIDX__QP_ALL) */
  size_t chain = base;  /* the current AND chain's operands */
  item it;
  for (;;) {
    if ((rc = parse_unary(p, depth, field, &it)) != KIDX_OK)
      return rc;
    if (it.node && (rc = push(p, &it)) != KIDX_OK)
      return rc;
    if (p->tok.type == T_AND) {
      size_t at = p->tok.start;
      if ((rc = advance(p)) != KIDX_OK)
        return rc;
      if (!starts_operand(p->tok.type))
        return qerr(p, at, "AND needs a word on each side");
      continue;
    }
    if (!starts_operand(p->tok.type))
      break;
    if (!all) {
      if ((rc = reduce(p, chain, KIDX__Q_AND, field, &it)) != KIDX_OK)
        return rc;
      if (it.node && (rc = push(p, &it)) != KIDX_OK)
        return rc;
      chain = p->top;
    }
  }
  if ((rc = reduce(p, chain, KIDX__Q_AND, field, out)) != KIDX_OK)
    return rc;
  if (chain == base)
    return KIDX_OK;
  if (out->node && (rc = push(p, out)) != KIDX_OK)
    return rc;
  return reduce(p, base, KIDX__Q_OR, field, out);
}

/* or := and ("OR" and)*.  The current token starts an operand.  Stops at
 * ')' or the end of the query. */
static int parse_or(parser *p, unsigned depth, int field, item *out) {
  size_t base = p->top, operands = 0;
  int rc;
  for (;;) {
    if ((rc = parse_and(p, depth, field, out)) != KIDX_OK)
      return rc;
    operands++;
    if (out->node && (rc = push(p, out)) != KIDX_OK)
      return rc;
    if (p->tok.type != T_OR)
      break;
    size_t at = p->tok.start;
    if ((rc = advance(p)) != KIDX_OK)
      return rc;
    if (!starts_operand(p->tok.type))
      return qerr(p, at, "OR needs a word on each side");
  }
  if (operands == 1) { /* *out is the only operand, exclusion or not */
    p->top = base;
    return KIDX_OK;
  }
  for (size_t i = base; i < p->top; i++)
    if (p->stack[i].neg)
      return fail_at(p, p->stack[i].negcol,
                     "OR cannot have an excluded word as one side");
  return reduce(p, base, KIDX__Q_OR, field, out);
}

/* ---- entry points ---- */

int kidx__query_parse(const kidx__analyzer *an, const char *query, size_t len,
                      unsigned flags, kidx__query **out, size_t *column,
                      char *errmsg) {
  parser p;
  item root = {NULL, 0, 0, 0};
  int rc;
  memset(&p, 0, sizeof p);
  p.an = an;
  p.prefix_an = *an;
  p.prefix_an.flags &= ~(KIDX__AN_STEM_ENGLISH | KIDX__AN_STOP_ENGLISH);
  p.q = query;
  p.len = query ? len : 0;
  p.flags = flags;
  p.col = 1;
  p.column = column;
  p.errmsg = errmsg;
  *out = NULL;
  if (column)
    *column = 0;
  p.query = malloc(sizeof *p.query);
  if (!p.query) {
    rc = KIDX_ENOMEM;
    goto done;
  }
  p.query->root = NULL;
  p.query->blocks = NULL;
  if ((rc = advance(&p)) != KIDX_OK)
    goto done;
  if (p.tok.type != T_EOF) {
    if (!starts_operand(p.tok.type)) {
      rc = operand_error(&p);
      goto done;
    }
    if ((rc = parse_or(&p, 0, KIDX__FIELD_ANY, &root)) != KIDX_OK)
      goto done;
    if (p.tok.type != T_EOF) { /* parse_or stopped at a ')' */
      rc = qerr(&p, p.tok.start, "unexpected ')'");
      goto done;
    }
  }
  if (!root.node)
    rc = fail_at(&p, 0,
                 "the query has no searchable words (only stop words, "
                 "punctuation or symbols)");
  else if (root.neg)
    rc = fail_at(&p, root.negcol, "the query has only excluded words");
done:
  free(p.stack);
  if (rc == KIDX_ENOMEM) {
    if (column)
      *column = 0;
    if (errmsg)
      kidx__err(errmsg, rc, "out of memory parsing the query");
  }
  if (rc != KIDX_OK) {
    kidx__query_free(p.query);
    return rc;
  }
  p.query->root = root.node;
  *out = p.query;
  return KIDX_OK;
}

const kidx__qnode *kidx__query_root(const kidx__query *q) {
  return q->root;
}

void kidx__query_free(kidx__query *q) {
  if (!q)
    return;
  block *b = q->blocks;
  while (b) {
    block *next = b->next;
    free(b);
    b = next;
  }
  free(q);
}
