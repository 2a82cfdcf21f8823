/* Unit tests for query.c: the query language parser.  Trees are rendered
 * as S-expressions and compared as strings:
 *   a                    TERM a
 *   (PREFIX transpar)    PREFIX
 *   (PHRASE cat@0 hat@3) PHRASE with each kid's relative position
 *   (NEAR a b /5)        NEAR with its distance
 *   (AND ...) (OR ...)   AND, OR
 *   (NOT a b)            a AND NOT b
 *   title:x              a node whose field differs from its parent's */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Syntax tests: no stemming or stop words, so every word stays visible. */
static const kidx__analyzer plain = {KIDX__AN_FOLD_DIACRITICS, NULL};
/* Everything on: English stemming and stop words, diacritics folded. */
static const kidx__analyzer full = {KIDX__AN_ALL, NULL};

typedef struct sbuf {
  char s[1 << 14];
  size_t n;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) KIDX__PRINTF(2, 3);

static void put(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
  va_end(ap);
  if (k > 0)
    b->n += (size_t)k < sizeof b->s - b->n ? (size_t)k : sizeof b->s - b->n - 1;
}

static const char *field_name(int field) {
  return field == KIDX__FIELD_TITLE  ? "title"
         : field == KIDX__FIELD_BODY ? "body"
                                     : "any";
}

static void render(sbuf *b, const kidx__qnode *n, int parent_field) {
  if (n->field != parent_field)
    put(b, "%s:", field_name(n->field));
  switch (n->kind) {
  case KIDX__Q_TERM:
    put(b, "%.*s", (int)n->len, n->text);
    return;
  case KIDX__Q_PREFIX:
    put(b, "(PREFIX %.*s)", (int)n->len, n->text);
    return;
  case KIDX__Q_PHRASE:
    put(b, "(PHRASE");
    for (size_t i = 0; i < n->nkids; i++)
      put(b, " %.*s@%u", (int)n->kids[i]->len, n->kids[i]->text, n->pos[i]);
    put(b, ")");
    return;
  case KIDX__Q_NEAR:
    put(b, "(NEAR");
    for (size_t i = 0; i < n->nkids; i++)
      put(b, " %.*s", (int)n->kids[i]->len, n->kids[i]->text);
    put(b, " /%u)", n->distance);
    return;
  default:
    put(b, "(%s",
        n->kind == KIDX__Q_AND  ? "AND"
        : n->kind == KIDX__Q_OR ? "OR"
                                : "NOT");
    for (size_t i = 0; i < n->nkids; i++) {
      put(b, " ");
      render(b, n->kids[i], n->field);
    }
    put(b, ")");
  }
}

/* Characters in q[0..len), counted as the parser counts columns. */
static size_t nchars(const char *q, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; n++) {
    uint32_t cp;
    i += kidx__utf8_decode((const uint8_t *)q + i, len - i, &cp);
  }
  return n;
}

/* 1 if the tree keeps the contract of kidx_int.h and the simplifications
 * query.c promises.  Plain checks, no ck_assert: the fuzz loop calls it. */
static int valid(const kidx__qnode *n, size_t maxcol, int depth) {
  if (depth > 4 * KIDX__QP_MAX_DEPTH + 8 || n->column < 1 || n->column > maxcol)
    return 0;
  switch (n->kind) {
  case KIDX__Q_TERM:
  case KIDX__Q_PREFIX:
    return n->text && n->len >= 1 && n->len <= KIDX_MAX_TOKEN_BYTES &&
           n->nkids == 0;
  case KIDX__Q_PHRASE:
  case KIDX__Q_NEAR:
    if (n->nkids < 2 || (n->kind == KIDX__Q_NEAR && n->distance > 1000))
      return 0;
    if (n->kind == KIDX__Q_PHRASE && (!n->pos || n->pos[0] != 0))
      return 0;
    for (size_t i = 0; i < n->nkids; i++) {
      const kidx__qnode *k = n->kids[i];
      if (k->kind != KIDX__Q_TERM || k->field != n->field ||
          !valid(k, maxcol, depth + 1))
        return 0;
      if (n->kind == KIDX__Q_PHRASE && i > 0 && n->pos[i] <= n->pos[i - 1])
        return 0;
    }
    return 1;
  case KIDX__Q_AND:
  case KIDX__Q_OR:
  case KIDX__Q_NOT:
    if (n->kind == KIDX__Q_NOT ? n->nkids != 2 : n->nkids < 2)
      return 0;
    for (size_t i = 0; i < n->nkids; i++) {
      const kidx__qnode *k = n->kids[i];
      if (n->kind != KIDX__Q_NOT && k->kind == n->kind)
        return 0; /* should have been flattened */
      if (n->field != KIDX__FIELD_ANY && k->field != n->field)
        return 0;
      if (!valid(k, maxcol, depth + 1))
        return 0;
    }
    return 1;
  default:
    return 0;
  }
}

/* Parses q (len bytes) and returns its rendering; fails the test on an
 * error.  The result lives until the next call. */
static const char *tree_n(const kidx__analyzer *an, unsigned flags,
                          const char *q, size_t len) {
  static sbuf b;
  kidx__query *query = NULL;
  size_t col = 99;
  char errmsg[KIDX__ERRMSG_MAX] = "";
  int rc = kidx__query_parse(an, q, len, flags, &query, &col, errmsg);
  ck_assert_msg(rc == KIDX_OK, "'%s': rc %d, %s", q, rc, errmsg);
  ck_assert_uint_eq(col, 0);
  const kidx__qnode *root = kidx__query_root(query);
  ck_assert_ptr_nonnull(root);
  ck_assert_msg(valid(root, nchars(q, len) + 1, 0), "'%s': bad tree", q);
  b.n = 0;
  b.s[0] = 0;
  render(&b, root, KIDX__FIELD_ANY);
  kidx__query_free(query);
  return b.s;
}

static const char *tree(const kidx__analyzer *an, unsigned flags,
                        const char *q) {
  return tree_n(an, flags, q, strlen(q));
}

/* Any mode (juxtaposition is OR), all mode, and the full analyser. */
#define ANY(q)  tree(&plain, 0, q)
#define ALL(q)  tree(&plain, KIDX__QP_ALL, q)
#define FULL(q) tree(&full, 0, q)

/* Asserts that q fails with KIDX_EQUERY at column col, with the message
 * "query error at column <col>: ..." containing what. */
static void error_n(const kidx__analyzer *an, unsigned flags, const char *q,
                    size_t len, size_t col, const char *what) {
  kidx__query *query = (kidx__query *)&query; /* must be reset to NULL */
  size_t got = 99;
  char errmsg[KIDX__ERRMSG_MAX] = "";
  char prefix[64];
  int rc = kidx__query_parse(an, q, len, flags, &query, &got, errmsg);
  ck_assert_msg(rc == KIDX_EQUERY, "'%s': rc %d, want KIDX_EQUERY", q, rc);
  ck_assert_ptr_null(query);
  ck_assert_msg(got == col, "'%s': column %zu, want %zu (%s)", q, got, col,
                errmsg);
  if (col)
    snprintf(prefix, sizeof prefix, "query error at column %zu: ", col);
  else
    snprintf(prefix, sizeof prefix, "query error: ");
  ck_assert_msg(strncmp(errmsg, prefix, strlen(prefix)) == 0,
                "'%s': message '%s' does not start with '%s'", q, errmsg,
                prefix);
  ck_assert_msg(strstr(errmsg, what) != NULL,
                "'%s': message '%s' does not say '%s'", q, errmsg, what);
}

static void error_with(const kidx__analyzer *an, unsigned flags, const char *q,
                       size_t col, const char *what) {
  error_n(an, flags, q, strlen(q), col, what);
}

#define ERR(q, col, what) error_with(&plain, 0, q, col, what)

/* ---- Core ---- */

START_TEST(test_query_single_words) {
  ck_assert_str_eq(ANY("a"), "a");
  ck_assert_str_eq(ANY("  Hello  "), "hello");
  ck_assert_str_eq(ANY("a b c"), "(OR a b c)");
  ck_assert_str_eq(ALL("a b c"), "(AND a b c)");
  ck_assert_str_eq(ANY("((a))"), "a");
  ck_assert_str_eq(ANY("a\tb\nc"), "(OR a b c)");
  /* Unicode white space separates tokens too: U+3000, U+00A0. */
  ck_assert_str_eq(ANY("\xe6\x9d\xb1\xe4\xba\xac\xe3\x80\x80"
                       "\xe5\xa4\xa7\xe9\x98\xaa"),
                   "(OR \xe6\x9d\xb1\xe4\xba\xac \xe5\xa4\xa7\xe9\x98\xaa)");
  ck_assert_str_eq(ANY("a\xc2\xa0-b"), "(NOT a b)");
  ck_assert_str_eq(ANY("NEAR(a\xe3\x80\x80"
                       "b,\xc2\xa0"
                       "5)"),
                   "(NEAR a b /5)");
}
END_TEST

START_TEST(test_query_precedence) {
  ck_assert_str_eq(ANY("a OR b AND c"), "(OR a (AND b c))");
  ck_assert_str_eq(ALL("a OR b AND c"), "(OR a (AND b c))");
  ck_assert_str_eq(ANY("a AND b OR c"), "(OR (AND a b) c)");
  /* AND binds tighter than juxtaposition when juxtaposition is OR. */
  ck_assert_str_eq(ANY("a b AND c"), "(OR a (AND b c))");
  ck_assert_str_eq(ALL("a b AND c"), "(AND a b c)");
  ck_assert_str_eq(ALL("a OR b c"), "(OR a (AND b c))");
  ck_assert_str_eq(ANY("a OR b c"), "(OR a b c)");
  ck_assert_str_eq(ALL("(a OR b) c"), "(AND (OR a b) c)");
  ck_assert_str_eq(ANY("(a OR b) c"), "(OR a b c)");
  ck_assert_str_eq(ANY("a AND (b OR c)"), "(AND a (OR b c))");
  ck_assert_str_eq(ANY("a OR b OR c"), "(OR a b c)");
  ck_assert_str_eq(ANY("a AND b AND c"), "(AND a b c)");
  ck_assert_str_eq(ANY("(a AND b) AND (c AND d)"), "(AND a b c d)");
  ck_assert_str_eq(ANY("a AND(b)"), "(AND a b)");
}
END_TEST

START_TEST(test_query_not) {
  ck_assert_str_eq(ANY("a NOT b"), "(NOT a b)");
  ck_assert_str_eq(ALL("a NOT b"), "(NOT a b)");
  ck_assert_str_eq(ANY("a NOT b OR c"), "(OR (NOT a b) c)");
  ck_assert_str_eq(ANY("a AND NOT b"), "(NOT a b)");
  ck_assert_str_eq(ANY("-a b"), "(NOT b a)");
  ck_assert_str_eq(ALL("-a b"), "(NOT b a)");
  ck_assert_str_eq(ANY("a -b"), "(NOT a b)");
  /* Juxtaposed exclusions restrict everything up to the nearest OR. */
  ck_assert_str_eq(ANY("a b -c"), "(NOT (OR a b) c)");
  ck_assert_str_eq(ALL("a b -c"), "(NOT (AND a b) c)");
  ck_assert_str_eq(ANY("a b NOT c"), "(NOT (OR a b) c)");
  ck_assert_str_eq(ANY("a b AND -c"), "(OR a (NOT b c))");
  ck_assert_str_eq(ANY("a b AND NOT c"), "(OR a (NOT b c))");
  ck_assert_str_eq(ANY("a -b -c"), "(NOT a (OR b c))");
  ck_assert_str_eq(ANY("x OR a -b"), "(OR x (NOT a b))");
  ck_assert_str_eq(ANY("-(a OR b) c"), "(NOT c (OR a b))");
  ck_assert_str_eq(ANY("c -(a b)"), "(NOT c (OR a b))");
  ck_assert_str_eq(ALL("c -(a b)"), "(NOT c (AND a b))");
  ck_assert_str_eq(ANY("c -\"a b\""), "(NOT c (PHRASE a@0 b@1))");
  /* A group of exclusions is an exclusion; negated again it is not. */
  ck_assert_str_eq(ANY("a (-b -c)"), "(NOT a (OR b c))");
  ck_assert_str_eq(ANY("NOT NOT a"), "a");
  ck_assert_str_eq(ANY("a -(-b)"), "(OR a b)");
  ck_assert_str_eq(ALL("a NOT -b"), "(AND a b)");
  /* '-' inside a word is not an operator; "--x" excludes x. */
  ck_assert_str_eq(ANY("e-mail"), "(PHRASE e@0 mail@1)");
  ck_assert_str_eq(ANY("a --b"), "(NOT a b)");
  ck_assert_str_eq(ANY("(-a b)"), "(NOT b a)");
  ck_assert_str_eq(ANY("a\t-b"), "(NOT a b)");
}
END_TEST

START_TEST(test_query_lowercase_operators_are_words) {
  ck_assert_str_eq(ANY("a and b"), "(OR a and b)");
  ck_assert_str_eq(ANY("cats or dogs"), "(OR cats or dogs)");
  ck_assert_str_eq(ANY("not"), "not");
  ck_assert_str_eq(ANY("And Or Not"), "(OR and or not)");
  ck_assert_str_eq(ANY("near me"), "(OR near me)");
  ck_assert_str_eq(ANY("ANDROID ORE NOTE"), "(OR android ore note)");
  /* Upper case inside a phrase is a word too. */
  ck_assert_str_eq(ANY("\"a AND b\""), "(PHRASE a@0 and@1 b@2)");
  ck_assert_str_eq(ANY("\"x OR NOT -y (z)\""),
                   "(PHRASE x@0 or@1 not@2 y@3 z@4)");
  /* With stop words, the lowercase forms are stop words and vanish. */
  ck_assert_str_eq(FULL("cats and dogs"), "(OR cat dog)");
}
END_TEST

START_TEST(test_query_phrases) {
  ck_assert_str_eq(ANY("\"a b c\""), "(PHRASE a@0 b@1 c@2)");
  ck_assert_str_eq(FULL("\"the cat and the hat\""), "(PHRASE cat@0 hat@3)");
  ck_assert_str_eq(FULL("\"transparency centres\""),
                   "(PHRASE transpar@0 centr@1)");
  /* A phrase of one term is that term; of none, it is left out. */
  ck_assert_str_eq(FULL("\"the cat\""), "cat");
  ck_assert_str_eq(ANY("\"\" x"), "x");
  ck_assert_str_eq(FULL("x \"the of\""), "x");
  ck_assert_str_eq(ANY("a\"b c\"d"), "(OR a (PHRASE b@0 c@1) d)");
  ck_assert_str_eq(ALL("\"a b\" c"), "(AND (PHRASE a@0 b@1) c)");
}
END_TEST

START_TEST(test_query_multi_term_words) {
  ck_assert_str_eq(ANY("e-mail"), "(PHRASE e@0 mail@1)");
  ck_assert_str_eq(ANY("10:30"), "(PHRASE 10@0 30@1)");
  ck_assert_str_eq(ANY("foo:bar"), "(PHRASE foo@0 bar@1)");
  ck_assert_str_eq(ANY("Title:x"), "(PHRASE title@0 x@1)");
  ck_assert_str_eq(ANY("http://example.org"),
                   "(PHRASE http@0 example@1 org@2)");
  ck_assert_str_eq(FULL("state-of-the-art"), "(PHRASE state@0 art@3)");
  /* CJK runs become phrases of overlapping bigrams. */
  ck_assert_str_eq(ANY("\xe6\x9d\xb1\xe4\xba\xac\xe9\x83\xbd"),
                   "(PHRASE \xe6\x9d\xb1\xe4\xba\xac@0 "
                   "\xe4\xba\xac\xe9\x83\xbd@1)");
  ck_assert_str_eq(ANY("\xe6\x9d\xb1\xe4\xba\xac"), "\xe6\x9d\xb1\xe4\xba\xac");
  /* Punctuation-only words vanish. */
  ck_assert_str_eq(ANY("a ... b !"), "(OR a b)");
  ck_assert_str_eq(ANY("a & b"), "(OR a b)");
}
END_TEST

START_TEST(test_query_stemming_and_stop_words) {
  ck_assert_str_eq(FULL("centres"), "centr");
  ck_assert_str_eq(FULL("transparency centres"), "(OR transpar centr)");
  ck_assert_str_eq(FULL("Café"), "cafe");
  ck_assert_str_eq(FULL("cat AND the"), "cat");
  ck_assert_str_eq(FULL("the AND cat"), "cat");
  ck_assert_str_eq(FULL("cat OR the"), "cat");
  ck_assert_str_eq(FULL("(the) cat"), "cat");
  ck_assert_str_eq(FULL("cat -the"), "cat");
  ck_assert_str_eq(FULL("cat NOT the dog"), "(OR cat dog)");
  /* (cat AND a) OR dog: the AND closes up around the dropped word. */
  ck_assert_str_eq(FULL("the cat AND a dog"), "(OR cat dog)");
  ck_assert_str_eq(FULL("the cat AND a AND dog"), "(AND cat dog)");
  ck_assert_str_eq(tree(&full, KIDX__QP_ALL, "the cat sat on the mat"),
                   "(AND cat sat mat)");
}
END_TEST

START_TEST(test_query_prefixes) {
  ck_assert_str_eq(FULL("Transpar*"), "(PREFIX transpar)");
  ck_assert_str_eq(FULL("Café*"), "(PREFIX cafe)");
  /* Unstemmed and kept even when it is a stop word. */
  ck_assert_str_eq(FULL("running*"), "(PREFIX running)");
  ck_assert_str_eq(FULL("the*"), "(PREFIX the)");
  ck_assert_str_eq(ANY("a* b"), "(OR (PREFIX a) b)");
  ck_assert_str_eq(ANY("(ab*)"), "(PREFIX ab)");
  ck_assert_str_eq(ANY("-ab* c"), "(NOT c (PREFIX ab))");
  ck_assert_str_eq(ANY("AND*"), "(PREFIX and)");
  ck_assert_str_eq(ANY("\xe6\x9d\xb1\xe4\xba\xac*"),
                   "(PREFIX \xe6\x9d\xb1\xe4\xba\xac)");
}
END_TEST

START_TEST(test_query_fields) {
  ck_assert_str_eq(ANY("title:x"), "title:x");
  ck_assert_str_eq(ANY("body:x y"), "(OR body:x y)");
  ck_assert_str_eq(ANY("title:\"a b\""), "title:(PHRASE a@0 b@1)");
  ck_assert_str_eq(ANY("title:foo*"), "title:(PREFIX foo)");
  ck_assert_str_eq(ANY("title:NEAR(a b)"), "title:(NEAR a b /10)");
  ck_assert_str_eq(ALL("body:(a OR b) c"), "(AND body:(OR a b) c)");
  ck_assert_str_eq(ANY("title:(a AND -b)"), "title:(NOT a b)");
  ck_assert_str_eq(ANY("-title:x y"), "(NOT y title:x)");
  ck_assert_str_eq(ANY("title:(title:x y)"), "title:(OR x y)");
  ck_assert_str_eq(ANY("title:title:x"), "title:x");
  ck_assert_str_eq(ANY("title:e-mail"), "title:(PHRASE e@0 mail@1)");
  ck_assert_str_eq(ANY("title:10:30"), "title:(PHRASE 10@0 30@1)");
  /* A '-' after the colon is part of the word. */
  ck_assert_str_eq(ANY("title:-x"), "title:x");
  /* ORs in different scopes still flatten: fields live on the leaves. */
  ck_assert_str_eq(ANY("title:(a b) c"), "(OR title:a title:b c)");
  ck_assert_str_eq(FULL("title:(the)  cat"), "cat");
}
END_TEST

START_TEST(test_query_near) {
  ck_assert_str_eq(ANY("NEAR(a b)"), "(NEAR a b /10)");
  ck_assert_str_eq(ANY("NEAR(a b c, 5)"), "(NEAR a b c /5)");
  ck_assert_str_eq(ANY("NEAR(a b,0)"), "(NEAR a b /0)");
  ck_assert_str_eq(ANY("NEAR(  a   b ,  7 )"), "(NEAR a b /7)");
  ck_assert_str_eq(ANY("NEAR(a b, 1000)"), "(NEAR a b /1000)");
  ck_assert_str_eq(ANY("NEAR(a b, 0005)"), "(NEAR a b /5)");
  ck_assert_str_eq(ANY("x NEAR(a b) y"), "(OR x (NEAR a b /10) y)");
  ck_assert_str_eq(ANY("NEAR(e-mail spam)"), "(NEAR e mail spam /10)");
  /* Words inside are analysed; operators there are words. */
  ck_assert_str_eq(FULL("NEAR(Centres Transparency, 3)"),
                   "(NEAR centr transpar /3)");
  ck_assert_str_eq(ANY("NEAR(a AND b)"), "(NEAR a and b /10)");
  ck_assert_str_eq(FULL("NEAR(the cat, 3)"), "cat");
  ck_assert_str_eq(FULL("dog NEAR(the of)"), "dog");
  ck_assert_str_eq(ANY("-NEAR(a b) c"), "(NOT c (NEAR a b /10))");
  /* Upper-case NEAR is an operator only with its '('. */
  ck_assert_str_eq(ANY("near(a b)"), "(OR near a b)");
}
END_TEST

START_TEST(test_query_columns) {
  /* Node columns are in characters: é is one. */
  kidx__query *q;
  size_t col;
  char errmsg[KIDX__ERRMSG_MAX];
  const char *text = "\xc3\xa9t\xc3\xa9  (x \"y z\")";
  ck_assert_int_eq(kidx__query_parse(&plain, text, strlen(text), KIDX__QP_ALL,
                                     &q, &col, errmsg),
                   KIDX_OK);
  const kidx__qnode *root = kidx__query_root(q);
  ck_assert_int_eq(root->kind, KIDX__Q_AND);
  ck_assert_uint_eq(root->column, 1);
  ck_assert_uint_eq(root->nkids, 3);
  ck_assert_uint_eq(root->kids[0]->column, 1); /* été */
  ck_assert_uint_eq(root->kids[1]->column, 7); /* x */
  ck_assert_uint_eq(root->kids[2]->column, 9); /* "y z" */
  ck_assert_uint_eq(root->kids[2]->kids[0]->column, 10);
  ck_assert_uint_eq(root->kids[2]->kids[1]->column, 12);
  kidx__query_free(q);
  kidx__query_free(NULL);
}
END_TEST

/* ---- Errors ---- */

START_TEST(test_query_errors_parentheses) {
  ERR("(a", 1, "missing ')'");
  ERR("((a)", 1, "missing ')'");
  ERR("a (b (c)", 3, "missing ')'");
  ERR("(", 1, "missing ')'");
  ERR("a)", 2, "unexpected ')'");
  ERR(")", 1, "unexpected ')'");
  ERR("(a))", 4, "unexpected ')'");
  ERR("()", 1, "empty parentheses");
  ERR("a ( )", 3, "empty parentheses");
}
END_TEST

START_TEST(test_query_errors_quotes) {
  ERR("\"abc", 1, "missing closing '\"'");
  ERR("a \"b c", 3, "missing closing '\"'");
  ERR("\"a\" \"", 5, "missing closing '\"'");
}
END_TEST

START_TEST(test_query_errors_operators) {
  ERR("AND a", 1, "AND needs a word on each side");
  ERR("a AND", 3, "AND needs a word on each side");
  ERR("a AND AND b", 3, "AND needs a word on each side");
  ERR("a AND OR b", 3, "AND needs a word on each side");
  ERR("(a AND) b", 4, "AND needs a word on each side");
  ERR("OR a", 1, "OR needs a word on each side");
  ERR("a OR", 3, "OR needs a word on each side");
  ERR("a OR AND b", 3, "OR needs a word on each side");
  ERR("(OR a)", 2, "OR needs a word on each side");
  ERR("a NOT", 3, "NOT needs a word after it");
  ERR("NOT NOT", 5, "NOT needs a word after it");
  ERR("a NOT )", 3, "NOT needs a word after it");
  ERR("-", 1, "'-' needs a word right after it");
  ERR("a - b", 3, "'-' needs a word right after it");
  ERR("a -\xe3\x80\x80"
      "b",
      3, "'-' needs a word right after it");
  ERR("title:\xc2\xa0x", 1, "title: needs a word");
  ERR("(-)", 2, "'-' needs a word right after it");
  ERR("-AND", 1, "'-' needs a word right after it");
  ERR("a -NOT b", 3, "'-' needs a word right after it");
  ERR("a OR -b", 6, "OR cannot have an excluded word");
  ERR("-a OR b", 1, "OR cannot have an excluded word");
  ERR("a AND (-b OR c)", 8, "OR cannot have an excluded word");
}
END_TEST

START_TEST(test_query_errors_near) {
  ERR("NEAR a b", 1, "NEAR needs '('");
  ERR("x NEAR (a b)", 3, "NEAR needs '('");
  ERR("NEAR", 1, "NEAR needs '('");
  ERR("NEAR(a b", 1, "missing ')'");
  ERR("NEAR(a)", 1, "at least two words");
  ERR("NEAR()", 1, "at least two words");
  ERR("NEAR(a, 3)", 1, "at least two words");
  ERR("NEAR(a b, x)", 11, "NEAR distance");
  ERR("NEAR(a b, 1001)", 11, "from 0 to 1000");
  ERR("NEAR(a b, 99999999999999999999)", 11, "from 0 to 1000");
  ERR("NEAR(a b, -1)", 11, "NEAR distance");
  ERR("NEAR(a b, 5 6)", 11, "NEAR distance");
  ERR("NEAR(a b,)", 9, "distance after ','");
  ERR("NEAR(a b,  )", 9, "distance after ','");
  ERR("NEAR(a \"b\")", 8, "only plain words");
  ERR("NEAR(a (b))", 8, "only plain words");
  ERR("NEAR(a b*)", 9, "only plain words");
}
END_TEST

START_TEST(test_query_errors_fields_and_prefixes) {
  ERR("title:", 1, "title: needs a word");
  ERR("title: a", 1, "title: needs a word");
  ERR("x body:", 3, "body: needs a word");
  ERR("(title:)", 2, "title: needs a word");
  ERR("title:AND", 1, "title: needs a word");
  ERR("title:(body:x)", 8, "body: cannot be used inside title:");
  ERR("title:(a OR (b body:c))", 16, "body: cannot be used inside title:");
  ERR("body:title:x", 6, "title: cannot be used inside body:");
  ERR("*", 1, "a lone '*'");
  ERR("a *", 3, "a lone '*'");
  ERR("title:*", 7, "a lone '*'");
  ERR("a*b", 2, "'*' only ends a prefix");
  ERR("a**", 2, "'*' only ends a prefix");
  ERR("*a", 1, "'*' only ends a prefix");
  ERR("x !!*", 3, "nothing searchable before '*'");
  ERR("e-ma*", 1, "a prefix must be a single word");
  error_with(&full, 0, "\xe6\x9d\xb1\xe4\xba\xac\xe9\x83\xbd*", 1,
             "a prefix must be a single word");
}
END_TEST

START_TEST(test_query_errors_nothing_to_search) {
  error_with(&full, 0, "the OR a", 0, "the query has no searchable words");
  error_with(&full, 0, "\"the of\"", 0, "no searchable words");
  error_with(&full, 0, "(the) AND (of)", 0, "no searchable words");
  ERR("", 0, "no searchable words");
  ERR("   ", 0, "no searchable words");
  ERR("!!! ...", 0, "no searchable words");
  ERR("\"\"", 0, "no searchable words");
  ERR("-a", 1, "the query has only excluded words");
  ERR("NOT a", 1, "the query has only excluded words");
  ERR("-a -b", 1, "the query has only excluded words");
  ERR("(-a)", 2, "the query has only excluded words");
  ERR("NOT NOT NOT y", 1, "the query has only excluded words");
  error_with(&full, 0, "the -cat", 5, "the query has only excluded words");
  error_with(&full, 0, "the NOT cat", 5, "only excluded words");
  error_with(&full, KIDX__QP_ALL, "the -cat -dog", 5, "only excluded words");
  error_n(&plain, 0, NULL, 0, 0, "no searchable words");
}
END_TEST

START_TEST(test_query_error_columns_count_characters) {
  /* é is two bytes but one column; invalid bytes count one each. */
  ERR("\xc3\xa9)", 2, "unexpected ')'");
  ERR("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e )", 5, "unexpected ')'");
  ERR("\xff\xfe )", 4, "unexpected ')'");
  ERR("\xe2\x82 )", 4, "unexpected ')'"); /* truncated sequence */
  ERR("caf\xc3\xa9 (", 6, "missing ')'");
  ERR("\xf0\x9f\x98\x80 a AND", 5, "AND needs");
  error_n(&plain, 0, "a\0b )", 5, 5, "unexpected ')'");
}
END_TEST

/* ---- Limits ---- */

static char *repeat(const char *unit, size_t times, const char *tail,
                    size_t *len) {
  size_t u = strlen(unit), t = strlen(tail);
  char *s = malloc(u * times + t + 1);
  ck_assert_ptr_nonnull(s);
  for (size_t i = 0; i < times; i++)
    memcpy(s + i * u, unit, u);
  memcpy(s + u * times, tail, t + 1);
  *len = u * times + t;
  return s;
}

START_TEST(test_query_depth_limit) {
  size_t len;
  char *q = repeat("(", KIDX__QP_MAX_DEPTH, "a", &len);
  char *ok = malloc(len + KIDX__QP_MAX_DEPTH + 1);
  memcpy(ok, q, len);
  memset(ok + len, ')', KIDX__QP_MAX_DEPTH);
  ok[len + KIDX__QP_MAX_DEPTH] = 0;
  ck_assert_str_eq(tree(&plain, 0, ok), "a");
  free(ok);
  free(q);
  q = repeat("(", KIDX__QP_MAX_DEPTH + 1, "a", &len);
  ERR(q, KIDX__QP_MAX_DEPTH + 1, "nested too deeply (limit 32)");
  free(q);
  q = repeat("(", 100000, "a", &len);
  ERR(q, KIDX__QP_MAX_DEPTH + 1, "nested too deeply (limit 32)");
  free(q);
  q = repeat(")", 100000, "", &len);
  ERR(q, 1, "unexpected ')'");
  free(q);
  q = repeat("(a ", 100000, "", &len);
  ERR(q, 3 * KIDX__QP_MAX_DEPTH + 1, "nested too deeply");
  free(q);
  /* NOT chains and field prefixes are loops, not recursion. */
  q = repeat("NOT ", 100000, "a b", &len);
  ck_assert_str_eq(tree(&plain, 0, q), "(OR a b)");
  free(q);
  q = repeat("NOT ", 100001, "a", &len);
  ERR(q, 1, "only excluded words");
  free(q);
  q = repeat("title:", 100000, "a", &len);
  ck_assert_str_eq(tree(&plain, 0, q), "title:a");
  free(q);
  q = repeat("-(", 100000, "a", &len);
  ERR(q, 2 * KIDX__QP_MAX_DEPTH + 2, "nested too deeply");
  free(q);
}
END_TEST

START_TEST(test_query_term_limit) {
  /* Exactly the limit parses; one more is an error at that term. */
  char *q = malloc(8 * (KIDX_MAX_QUERY_TERMS + 1) + 1);
  size_t n = 0;
  for (int i = 0; i < KIDX_MAX_QUERY_TERMS; i++)
    n += (size_t)sprintf(q + n, "w%d ", i);
  kidx__query *query;
  size_t col;
  char errmsg[KIDX__ERRMSG_MAX];
  ck_assert_int_eq(kidx__query_parse(&plain, q, n, 0, &query, &col, errmsg),
                   KIDX_OK);
  ck_assert_uint_eq(kidx__query_root(query)->nkids, KIDX_MAX_QUERY_TERMS);
  kidx__query_free(query);
  size_t at = n + 1;
  n += (size_t)sprintf(q + n, "x");
  error_n(&plain, 0, q, n, at, "too many terms (limit 1024)");
  /* Terms inside phrases count too. */
  n = 0;
  q[n++] = '"';
  for (int i = 0; i <= KIDX_MAX_QUERY_TERMS; i++)
    n += (size_t)sprintf(q + n, "w%d ", i);
  q[n++] = '"';
  error_n(&plain, 0, q, n, at + 1, "too many terms");
  free(q);
}
END_TEST

START_TEST(test_query_huge_inputs) {
  /* About 1 MB each: errors or trees within bounds, in linear time. */
  const size_t mb = 1u << 20;
  size_t len;
  char *q = repeat("word ", mb / 5, "", &len);
  ERR(q, 5 * KIDX_MAX_QUERY_TERMS + 1, "too many terms");
  free(q);
  q = repeat("the ", mb / 4, "cat", &len);
  ck_assert_str_eq(FULL(q), "cat");
  free(q);
  q = repeat("\"the\" ", mb / 6, "", &len);
  error_n(&full, 0, q, len, 0, "no searchable words");
  free(q);
  q = repeat("-the ", mb / 5, "", &len);
  error_n(&full, 0, q, len, 0, "no searchable words");
  free(q);
  q = repeat("\"", mb + 1, "", &len);
  error_n(&plain, 0, q, len, mb + 1, "missing closing");
  free(q);
  q = repeat("x", mb, "", &len); /* one word over the token limit */
  ERR(q, 0, "no searchable words");
  free(q);
  q = repeat("a.", mb / 2, "", &len); /* one word of many terms */
  ERR(q, 2 * KIDX_MAX_QUERY_TERMS + 1, "too many terms");
  free(q);
  q = repeat("\xe6\x9d\xb1", mb / 3, "", &len); /* one CJK run */
  ERR(q, KIDX_MAX_QUERY_TERMS + 1, "too many terms");
  free(q);
  q = repeat("a AND ", mb / 6, "", &len);
  ERR(q, 6 * KIDX_MAX_QUERY_TERMS + 1, "too many terms");
  free(q);
  q = repeat("NEAR(the of, 5) ", mb / 16, "x", &len);
  ck_assert_str_eq(FULL(q), "x");
  free(q);
  q = repeat("body:", mb / 5, "a", &len);
  ck_assert_str_eq(ANY(q), "body:a");
  q[len - 1] = ' ';
  ERR(q, mb / 5 * 5 - 4, "body: needs a word");
  free(q);
  q = repeat("--", mb / 2, "", &len); /* '-' then one word of dashes */
  ERR(q, 0, "no searchable words");
  free(q);
  q = repeat("NOT(", mb / 4, "a", &len);
  ERR(q, 4 * KIDX__QP_MAX_DEPTH + 4, "nested too deeply");
  free(q);
  q = repeat("\"a\" ", mb / 4, "\"", &len);
  ERR(q, KIDX_MAX_QUERY_TERMS * 4 + 2, "too many terms");
  free(q);
  q = repeat("*", mb, "", &len);
  ERR(q, 1, "'*' only ends a prefix");
  free(q);
}
END_TEST

/* ---- Fuzz ---- */

static uint64_t next_rand(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

START_TEST(test_query_random_inputs) {
  /* Random strings over query metacharacters and words: the parser must
   * return a valid tree or KIDX_EQUERY with a column inside the query. */
  static const char *const pieces[] = {
      "a",      "b",
      "the",    "cats",
      "AND",    "OR",
      "NOT",    "NEAR",
      "NEAR(",  "(",
      ")",      "\"",
      "-",      "*",
      ":",      ",",
      " ",      " ",
      "  ",     "title:",
      "body:",  "5",
      "1001",   "\xc3\xa9",
      "e-mail", "\xe6\x9d\xb1\xe4\xba\xac",
      "\xff",   "\t",
      "and",    ".",
  };
  const size_t npieces = sizeof pieces / sizeof pieces[0];
  const kidx__analyzer *ans[] = {&plain, &full};
  uint64_t x = 0x2545F4914F6CDD1Dull;
  char q[512];
  size_t bad = 0, ok = 0, first_bad = SIZE_MAX;
  for (size_t round = 0; round < 50000; round++) {
    size_t n = 0, count = next_rand(&x) % 24;
    for (size_t i = 0; i < count; i++) {
      const char *p = pieces[next_rand(&x) % npieces];
      size_t k = strlen(p);
      memcpy(q + n, p, k);
      n += k;
    }
    q[n] = 0;
    kidx__query *query = (kidx__query *)&query;
    size_t col = 99;
    char errmsg[KIDX__ERRMSG_MAX] = "";
    unsigned flags = round & 1 ? KIDX__QP_ALL : 0;
    int rc = kidx__query_parse(ans[(round >> 1) & 1], q, n, flags, &query, &col,
                               errmsg);
    size_t maxcol = nchars(q, n) + 1;
    int good;
    if (rc == KIDX_OK) {
      const kidx__qnode *root = kidx__query_root(query);
      good = col == 0 && root && valid(root, maxcol, 0);
      kidx__query_free(query);
      ok++;
    } else {
      good = rc == KIDX_EQUERY && !query && col <= maxcol &&
             strncmp(errmsg, "query error", 11) == 0;
    }
    if (!good) {
      bad++;
      if (first_bad == SIZE_MAX)
        first_bad = round;
    }
  }
  ck_assert_msg(bad == 0, "%zu bad results, first in round %zu", bad,
                first_bad);
  ck_assert_uint_gt(ok, 1000); /* the alphabet does make valid queries */
}
END_TEST

static Suite *query_suite(void) {
  Suite *s = suite_create("query");
  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_query_single_words);
  tcase_add_test(core, test_query_precedence);
  tcase_add_test(core, test_query_not);
  tcase_add_test(core, test_query_lowercase_operators_are_words);
  tcase_add_test(core, test_query_phrases);
  tcase_add_test(core, test_query_multi_term_words);
  tcase_add_test(core, test_query_stemming_and_stop_words);
  tcase_add_test(core, test_query_prefixes);
  tcase_add_test(core, test_query_fields);
  tcase_add_test(core, test_query_near);
  tcase_add_test(core, test_query_columns);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_add_test(errors, test_query_errors_parentheses);
  tcase_add_test(errors, test_query_errors_quotes);
  tcase_add_test(errors, test_query_errors_operators);
  tcase_add_test(errors, test_query_errors_near);
  tcase_add_test(errors, test_query_errors_fields_and_prefixes);
  tcase_add_test(errors, test_query_errors_nothing_to_search);
  tcase_add_test(errors, test_query_error_columns_count_characters);
  suite_add_tcase(s, errors);
  TCase *limits = tcase_create("Limits");
  tcase_set_timeout(limits, 60);
  tcase_add_test(limits, test_query_depth_limit);
  tcase_add_test(limits, test_query_term_limit);
  tcase_add_test(limits, test_query_huge_inputs);
  tcase_add_test(limits, test_query_random_inputs);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) {
  return tu_run_suite(query_suite());
}
