/*
 * main.c -- kidx, the command-line tool: help, command table and main().
 *
 * This file owns the user-visible surface: the help texts (whose exit
 * statuses are part of the interface, scripts test them), each command's
 * option table, the command table and main(), which parses the global
 * options, picks the command and runs it with a `cli` context.  The
 * commands live in cmd_index.c (and the files it names), cmd_search.c and
 * cmd_admin.c; what they share is declared in cli.h and defined in
 * common.c.  Every indexing and search operation goes through the public
 * API in kidx.h, so the tool exercises exactly what a program linking
 * libkidx gets.  Input and
 * output formats that stand on their own live in json.c, jsonl.c and
 * lines.c.
 */
#include "cli.h"

#include "ids.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char MAIN_HELP[] =
    "Usage: kidx [-i DIR] COMMAND [OPTIONS] [ARGS...]\n"
    "\n"
    "kidx indexes text files and answers ranked full-text queries.\n"
    "\n"
    "Commands:\n"
    "  index [PATH...]   add or update documents from files, directories\n"
    "                    and JSON Lines (--jsonl FILE); without PATH,\n"
    "                    re-sync the directories indexed before\n"
    "  search QUERY...   print the documents that best match QUERY\n"
    "  get ID...         print documents as they are stored in the index\n"
    "  analyze [TEXT...] print the terms TEXT is indexed and searched as\n"
    "  stats             print the size and analysis settings of the index\n"
    "  delete ID...      remove documents from the index\n"
    "  optimize          merge the index into one segment, reclaiming the\n"
    "                    space of deleted documents\n"
    "  check             verify the whole index and report the first "
    "problem\n"
    "  help [COMMAND]    print this help, or the help of COMMAND\n"
    "\n"
    "Options (also accepted after COMMAND):\n"
    "  -i, --index DIR   index directory (default: $KIDX_INDEX if set and\n"
    "                    not empty, else .kidx in the current directory)\n"
    "  -h, --help        print this help; 'kidx COMMAND --help' for a "
    "command\n"
    "  -V, --version     print the version\n"
    "\n"
    "Environment:\n"
    "  KIDX_INDEX        the index directory when -i is not given\n"
    "  NO_COLOR          set and not empty: no colour (search's bold) unless\n"
    "                    --color always\n"
    "  TERM              unset or 'dumb': no colour unless --color always\n"
    "\n"
    "Exit status:\n"
    "  0  success; search: at least one hit; analyze: at least one term;\n"
    "     check: the index is intact\n"
    "  1  search found no hits, analyze no terms, get or delete was given\n"
    "     ids not in the index (the others were printed or deleted), or index\n"
    "     found nothing to index (every file it found was skipped)\n"
    "  2  usage error, malformed query, or analysis options other than\n"
    "     those the index was created with\n"
    "  3  index missing, damaged (check: the problem found), locked by\n"
    "     another writer (without --wait), or not writable\n"
    "  4  I/O error or bad input: some input files or PATHs could not be\n"
    "     read or resolved, a recorded root is gone, or some JSON Lines\n"
    "     were bad (the rest was indexed), standard input\n"
    "     or a --batch file could not be read, or the output could not be\n"
    "     written\n"
    "\n"
    "Examples:\n"
    "  kidx index corpus/ && kidx search transparency centre\n"
    "  kidx search '\"transparency centre\" -russia' --explain\n"
    "  kidx analyze \"Kaspersky's transparency centres\"\n";

static const char INDEX_HELP[] =
    "Usage: kidx index [-i DIR] [ANALYSIS OPTIONS] [--prune] [--hidden]\n"
    "                  [--no-ignore] [-q|-v] [--wait] [--ram-budget SIZE]\n"
    "                  [--merge-factor N] [--jsonl FILE]... [PATH...]\n"
    "       kidx index [-i DIR] [--prune] [-q|-v] [--wait]\n"
    "       kidx index [-i DIR] --forget PATH...\n"
    "\n"
    "Adds the files named, and the files found under the directories named,\n"
    "to the index.  A document's title is the file's first non-empty line,\n"
    "its body the rest of the file.  Directories are walked in sorted\n"
    "order.  As ripgrep and fd do, a walk skips hidden files and\n"
    "directories (dot names) unless --hidden, and what .ignore files,\n"
    ".gitignore files (in a git repository) and .git/info/exclude exclude\n"
    "unless --no-ignore; it always skips .git, the index directory and\n"
    "symbolic links (not followed, with a warning).  A PATH named is\n"
    "indexed even if it is hidden, ignored or a link.  Binary files (a NUL\n"
    "byte in the first 8 KiB) are skipped with a warning; one indexed as\n"
    "text before loses its document.  All changes are committed at once at\n"
    "the end: an interrupted run changes nothing.  On a terminal, progress\n"
    "is shown on stderr.\n"
    "\n"
    "One file, one document.  The index's base is the directory holding\n"
    "the index directory (for the default .kidx, the current directory).\n"
    "A document's id is its file's path relative to the base, or its\n"
    "absolute path when the file lies outside the base.  Each PATH is\n"
    "resolved first (., .., // and symbolic links), so 'kidx index corpus',\n"
    "'kidx index ./corpus/', 'kidx index \"$PWD/corpus\"' and, from inside\n"
    "corpus/, 'kidx -i ../.kidx index .' all give the id corpus/x.txt.\n"
    "A PATH above the base ('kidx index ..') gives the files under the\n"
    "base the same relative ids.  Ids of an index built by kidx 0.3 (kept\n"
    "as typed: ./corpus/x.txt) are never pruned: a run that prunes says\n"
    "how many there are; build a new index to replace them.\n"
    "\n"
    "The index records the PATHs it is given, its roots ('kidx stats' lists\n"
    "them), each with --hidden and --no-ignore if given.  'kidx index'\n"
    "without PATH re-syncs them, like 'git add -u', each its own way:\n"
    "it walks every root again, adds new files, re-indexes changed ones and\n"
    "removes the documents of files that are gone.  A root that no longer\n"
    "exists (a disk not mounted?) keeps its documents and stays recorded,\n"
    "with a warning naming it and exit status 4, until it is back or\n"
    "dropped with --forget.  'kidx index --forget PATH...' drops PATH and\n"
    "the roots under it, and removes the documents under it that no other\n"
    "root covers; the files are left alone.\n"
    "\n"
    "--prune removes the documents under the PATHs given (a PATH itself or\n"
    "PATH/..., compared as ids, so any spelling of the PATH works) whose\n"
    "files the walk no longer finds: deleted, renamed, or now ignored.\n"
    "Run 'kidx index --prune corpus/' to bring the index in line with\n"
    "corpus/.  Roots under a PATH are walked too.  With --prune, a PATH\n"
    "inside a recorded root is upkeep of that root: walked with its\n"
    "--hidden and --no-ignore (unless others are given), not recorded\n"
    "itself.  A PATH that does not exist (a disk not mounted?), or whose\n"
    "place cannot be known (a directory on the way that cannot be\n"
    "searched, a dangling link on the way, .. after a component that is\n"
    "gone), is an error: nothing under it is removed, and the exit status\n"
    "is 4.  After 'rm -r corpus/old', prune corpus, or --forget corpus/old.\n"
    "Documents from --jsonl are never pruned (delete them with 'kidx\n"
    "delete').\n"
    "\n";

/* The second part of INDEX_HELP: ISO C only promises string literals of
 * 4095 bytes. */
static const char INDEX_HELP_MORE[] =
    "Indexing is incremental.  Each document keeps its file's size,\n"
    "modification time and a hash of its content.  A file whose size and\n"
    "modification time are those recorded is not read at all; one whose\n"
    "content hash is unchanged (touched, or copied back) keeps its\n"
    "document; only new and changed files are read and indexed.  A file\n"
    "modified in the 2 seconds before a run is read again by the next run\n"
    "too, as its time stamp may not yet show a later change.  The summary\n"
    "counts documents indexed (new and changed), files left unchanged, and\n"
    "documents removed; nothing is written when nothing changed.\n"
    "\n"
    "--jsonl FILE reads documents from JSON Lines (- for standard input):\n"
    "one JSON object per line with the string members \"id\" (required),\n"
    "\"title\" and \"body\" (default \"\"); other members are ignored and\n"
    "empty lines skipped.  It may be repeated and combined with PATHs: the\n"
    "files are added first, then the JSON Lines in the order given, so an\n"
    "id seen twice keeps the last document read.  These documents are\n"
    "always indexed.  A bad line (invalid JSON or UTF-8, not an object,\n"
    "\"id\" missing, empty or not a string, a lone surrogate in a \\u\n"
    "escape...) is reported as 'kidx: FILE:LINE: what' and skipped; the\n"
    "other lines are indexed and committed, and the exit status is 4.\n"
    "\n";

/* The rest of INDEX_HELP. */
static const char INDEX_HELP_OPTIONS[] =
    "How text becomes terms (the analysis) is chosen when the index is\n"
    "created and kept in it, and queries are analysed the same way.  The\n"
    "analysis options apply when the index is created; given for an\n"
    "existing index, they must equal its settings (see 'kidx stats'), else\n"
    "nothing is indexed and the exit status is 2: delete the index to\n"
    "rebuild it with other settings.  'kidx analyze' shows the terms of a\n"
    "text.\n"
    "\n"
    "Analysis options:\n"
    "      --stem LANG         english (default): Snowball English (Porter2)\n"
    "                          stemming, so \"centres\" finds \"centre\";\n"
    "                          none: the words, case-folded\n"
    "      --stopwords LIST    none (default): every word is indexed;\n"
    "                          english: leave out the Snowball English stop\n"
    "                          words (the, and, of, ...)\n"
    "      --diacritics on|off on (default): remove accents from Latin and\n"
    "                          Greek letters, so that a word matches with\n"
    "                          or without them; off: keep them\n"
    "\n"
    "Options:\n"
    "      --jsonl FILE        add the documents of a JSON Lines file\n"
    "      --prune             also remove the documents under the PATHs\n"
    "                          whose files are gone, hidden or ignored (a\n"
    "                          re-sync, without PATH, always does)\n"
    "      --forget            drop the PATHs from the roots and remove their\n"
    "                          documents, instead of indexing them\n"
    "      --hidden            walk hidden files and directories too\n"
    "      --no-ignore         walk what ignore files exclude too\n"
    "  -q, --quiet             print no warnings (errors and the summary\n"
    "                          line still print)\n"
    "  -v, --verbose           print every warning, not the first 5 of each\n"
    "                          kind and a count\n"
    "      --wait              if another writer has the index, wait for it\n"
    "                          to finish instead of failing\n"
    "      --ram-budget SIZE   memory for documents not yet written out; past\n"
    "                          it they become a new segment file (default\n"
    "                          64M, at least 64K; K, M, G are KiB, MiB, GiB)\n"
    "      --merge-factor N    merge N segments of about one size into one\n"
    "                          (2 to 1000, default 10): a smaller N keeps\n"
    "                          fewer segments (faster search) and rewrites\n"
    "                          more (slower indexing)\n"
    "  -i, --index DIR         index directory (default: $KIDX_INDEX, else\n"
    "                          .kidx)\n"
    "  -h, --help              print this help\n"
    "\n"
    "Output: 'indexed N documents (SIZE) in T s, R MB/s: A new, B changed,\n"
    "C unchanged, D removed', then ', skipped ...' when files or lines were\n"
    "skipped: every input not indexed counts, binary, unreadable or not a\n"
    "regular file, met while walking or while reading.  Each is named in a\n"
    "warning on stderr; of each kind, the first 5 are printed and a last\n"
    "line counts them all ('kidx: warning: skipped 18,037 binary or\n"
    "compressed files (--verbose lists them)').  A run that had inputs but\n"
    "indexed nothing from them says so: 'kidx: nothing indexed: all N\n"
    "files under PATH were skipped (binary or compressed: N)'.\n"
    "\n"
    "Exit status: 0 success, 1 nothing to index (every file found was\n"
    "skipped), 2 usage error, missing PATH or FILE, or analysis options\n"
    "that differ from the index's, 3 index unusable, locked (without\n"
    "--wait) or not writable, 4 some files or PATHs could not be read or\n"
    "resolved, a recorded root is gone, or some JSON Lines were bad (the\n"
    "rest was indexed).\n";

static const char ANALYZE_HELP[] =
    "Usage: kidx analyze [OPTIONS] [TEXT...]\n"
    "\n"
    "Prints the terms that TEXT is indexed and searched as, one line per\n"
    "term:\n"
    "\n"
    "  POSITION<TAB>START<TAB>END<TAB>TERM\n"
    "\n"
    "POSITION counts the words of the text from 0, stop words and over-long\n"
    "words (which give no term) included; START and END are the byte\n"
    "offsets of the word in the input, END just past it.  The TEXT\n"
    "arguments are joined with single spaces into one text; without TEXT,\n"
    "standard input is read to its end.  Run it to see why a search did or\n"
    "did not match.\n"
    "\n"
    "The analysis is the default one, or that of the index named with -i\n"
    "or $KIDX_INDEX (.kidx is only used when named); the options below\n"
    "override either.  They are those of 'kidx index', where they apply\n"
    "when an index is created.\n"
    "\n"
    "Options:\n"
    "      --stem LANG         english (default) or none\n"
    "      --stopwords LIST    none (default) or english\n"
    "      --diacritics on|off on (default) or off: remove accents from Latin\n"
    "                          and Greek letters\n"
    "  -i, --index DIR         use the analysis of the index in DIR\n"
    "  -h, --help              print this help\n"
    "\n"
    "Exit status: 0 at least one term, 1 no terms, 2 usage error, 3 index\n"
    "missing or unusable, 4 standard input could not be read.\n";

static const char SEARCH_HELP[] =
    "Usage: kidx search [OPTIONS] QUERY...\n"
    "       kidx search [OPTIONS] --batch FILE\n"
    "\n"
    "Prints the documents that best match QUERY, best first: rank, score,\n"
    "id and title, under them the passage of the body that matched, then\n"
    "'N of TOTAL matching documents'.  With no hits nothing is printed (exit\n"
    "status 1); when stdout is a terminal, stderr then says 'kidx: no\n"
    "matching documents', or 'kidx: no hits at offset N: T matching\n"
    "documents' when --offset skips them all.  The QUERY arguments are\n"
    "joined with spaces; an argument starting with '-' is an option, so\n"
    "quote a query with -word (kidx search 'kaspersky -russia') or put --\n"
    "before it.\n"
    "\n"
    "Query language (words go through the index's analysis: case, accents\n"
    "and stemming do not matter; stop words are left out if the index\n"
    "leaves them out, see --stopwords in 'kidx index --help'):\n"
    "  a b            bare words: with --any (the default) a document needs\n"
    "                 one of them and ranks higher with more; with --all it\n"
    "                 needs them all\n"
    "  a AND b        both          a OR b   either\n"
    "  NOT a, -a      a must be absent: 'a NOT b' and 'a -b' are a AND NOT b\n"
    "  ( )            grouping.  NOT binds tightest, then AND, then OR;\n"
    "                 words side by side are joined as by OR (--any) or\n"
    "                 AND (--all): 'a b AND c' is a OR (b AND c) with --any\n"
    "  \"a b c\"        the words next to each other, in this order\n"
    "  NEAR(a b, N)   all the words, with at most N other words between the\n"
    "                 first and the last (N defaults to 10)\n"
    "  transp*        words starting with transp (the prefix is not stemmed)\n"
    "  title:a        a in the title only (body:a, the body only); also\n"
    "                 title:\"a phrase\" and title:transp*\n"
    "  US-operations  words joined by punctuation: next to each other, as\n"
    "                 in a phrase (Title:x is no field: fields are lower "
    "case)\n"
    "AND, OR, NOT and NEAR are operators in upper case only; \"and\", \"or\"\n"
    "and \"not\" are words.  --any is the default, as in Xapian and Lucene:\n"
    "a long natural-language query or \"transparency centre\" still finds\n"
    "documents that miss a word, ranked below those that have them all;\n"
    "--all makes every bare word required, as in SQLite FTS5.  A malformed\n"
    "query prints 'kidx: query error at column N: what' (exit status 2).\n"
    "\n"
    "Ranking: TF-IDF by default (pivoted normalisation, the model kidx was\n"
    "designed with), or BM25 with --rank bm25.  Title and body are combined\n"
    "BM25F-style before the tf saturation: a word counts w_title times in a\n"
    "title and w_body times in a body (2 and 1 by default), each field\n"
    "normalised by its own length.  Equal scores are ordered by id.\n"
    "\n";

/* The rest of SEARCH_HELP: ISO C only promises string literals of 4095
 * bytes, so the text is in two parts. */
static const char SEARCH_HELP_OPTIONS[] =
    "Options:\n"
    "  -k, --limit N          print at most N hits (default 10)\n"
    "      --offset N         skip the N best hits first (default 0)\n"
    "      --any, --all       any bare word suffices (default), or all are\n"
    "                         required\n"
    "      --rank MODEL       ranking model: tfidf (default) or bm25\n"
    "      --k1 X, --b X      BM25 tf saturation (default 1.2, at most 1e6)\n"
    "                         and length normalisation (0 to 1, default\n"
    "                         0.75)\n"
    "      --title-weight X   weight of the title, w_title (default 2)\n"
    "      --body-weight X    weight of the body, w_body (default 1); weights\n"
    "                         are from 0 to 1e6\n"
    "      --snippet-words N  words in each passage (default 30; 0: none)\n"
    "      --highlight MODE   how matched words are marked: bold, brackets\n"
    "                         ([word]) or none (default: bold when colour is\n"
    "                         on, brackets otherwise)\n"
    "      --color WHEN       auto (default), always or never: auto colours\n"
    "                         when stdout is a terminal, TERM is set and not\n"
    "                         'dumb', and NO_COLOR is unset or empty; never\n"
    "                         also turns --highlight bold into brackets\n"
    "      --count            count every matching document exactly for the\n"
    "                         last line (slower on large indexes; without\n"
    "                         it, documents that cannot be among the hits\n"
    "                         shown are skipped and the line may say 'at\n"
    "                         least N')\n"
    "      --explain          print each hit's score term by term: field\n"
    "                         scope, tf and length in title/body, df, idf,\n"
    "                         length norm and weight of title/body, tfc (the\n"
    "                         combined frequency) and its share of the\n"
    "                         score; the shares add up to the score\n"
    "      --json             print one JSON object per hit per line and\n"
    "                         nothing else (keys below)\n"
    "      --vimgrep          print one line per hit, PATH:LINE:COLUMN:TEXT,\n"
    "                         for editors: vim -q <(kidx search --vimgrep q)\n"
    "      --batch FILE       read queries from FILE (- for standard input),\n"
    "                         one per line, each answered in turn; empty\n"
    "                         lines are skipped but counted.  Each query's\n"
    "                         hits come after a line '# line N: QUERY'; a\n"
    "                         malformed one is reported on stderr as\n"
    "                         'kidx: line N: query error ...' and skipped\n"
    "  -i, --index DIR        index directory (default: $KIDX_INDEX, else\n"
    "                         .kidx)\n"
    "  -h, --help             print this help\n"
    "\n";

/* The third part of SEARCH_HELP: the output formats and exit status. */
static const char SEARCH_HELP_OUTPUT[] =
    "JSON keys, in this order: \"rank\", \"id\", \"score\", \"title\"; "
    "\"snippet\"\n"
    "(the passage), \"snippet_offset\" (its byte offset in the body) and\n"
    "\"highlights\" ([start,end] byte offsets of the matched words in the\n"
    "snippet's UTF-8), unless --snippet-words 0; \"query\" (the line number,\n"
    "with --batch); \"explain\" (with --explain: one object per term with\n"
    "\"term\", \"field\" (both, title or body), \"tf\", \"len\", \"df\", "
    "\"idf\",\n"
    "\"norm\", \"weight\", \"tfc\" and \"share\"; tf, len, norm and weight "
    "are\n"
    "[title,body] pairs).  An id that is not valid UTF-8 (file names are\n"
    "bytes) is written {\"bytes\":\"BASE64\"}: its bytes in standard base64,\n"
    "as ripgrep does, so that it can be given back to 'kidx get --json-id'\n"
    "(or, decoded, to 'kidx delete').\n"
    "\n"
    "--vimgrep prints, per hit, the line of its file holding the first\n"
    "matched word of its passage, as PATH:LINE:COLUMN:TEXT: LINE and COLUMN\n"
    "count from 1, COLUMN in bytes, and TEXT is the line as it is in the file\n"
    "(no colour, no markers; on a terminal, control characters but tabs are\n"
    "shown as '?').  A UTF-8 byte order mark is not part of line 1, as in an\n"
    "editor.  A hit matched in its title only points at the title's line.\n"
    "A hit whose file was removed, cannot be read, or changed since it was\n"
    "indexed (its size or content differs; a file only touched is fine) is\n"
    "skipped with a warning, as is one whose id holds a newline or NUL: five\n"
    "warnings of each kind, then one line counting the rest.  For a document\n"
    "from --jsonl, which is no file, LINE and COLUMN count in the stored\n"
    "text: the title on line 1, the body from line 2.  -k and --offset\n"
    "apply; with --batch the hits of all queries follow each other, without\n"
    "'# line' headers.  It cannot be combined with --json or --explain, and\n"
    "needs --snippet-words of 1 or more.\n"
    "\n"
    "Exit status: 0 hits found, 1 no hits (also when --offset is past the\n"
    "last hit), 2 usage error, malformed query or no such --batch FILE,\n"
    "3 index missing or unusable, 4 the --batch input could not be read\n"
    "or the output could not be written.  With --batch: 2 if any line was\n"
    "malformed, else 0 if any query had hits, else 1 (3 and 4 stop the run\n"
    "at once).\n";

static const char STATS_HELP[] =
    "Usage: kidx stats [--json] [-i DIR]\n"
    "\n"
    "Prints the number of documents, distinct terms and tokens in the index,\n"
    "its size on disk in bytes, how much of that is the stored text of the\n"
    "documents (titles and bodies, compressed, kept for results and\n"
    "snippets), the number of segment files, of deleted (or replaced)\n"
    "documents whose space is not yet reclaimed (see 'kidx optimize'), and of "
    "commits made to the\n"
    "index (its generation), the analysis it was created with (stemmer\n"
    "english|none, stopwords english|none, diacritics on|off), and its\n"
    "roots, the PATHs 'kidx index' was given and re-syncs (see 'kidx index\n"
    "--help'), with the base directory their ids are relative to.\n"
    "\n"
    "Options:\n"
    "      --json        print one JSON object with the keys \"documents\",\n"
    "                    \"terms\", \"tokens\" and \"bytes\" (numbers), and\n"
    "                    \"stemmer\", \"stopwords\" and \"diacritics\" "
    "(strings),\n"
    "                    then \"stored_bytes\", \"segments\", \"deleted\" and\n"
    "                    \"generation\" (numbers), \"roots\" (an array of\n"
    "                    {\"id\":ID,\"hidden\":B,\"no_ignore\":B}, B true\n"
    "                    or false) and \"base\" (a string); an id or base\n"
    "                    that is not UTF-8 is {\"bytes\":\"BASE64\"}, as in\n"
    "                    search --json\n"
    "  -i, --index DIR   index directory (default: $KIDX_INDEX, else .kidx)\n"
    "  -h, --help        print this help\n"
    "\n"
    "Exit status: 0 success, 2 usage error, 3 index missing or unusable.\n";

static const char GET_HELP[] =
    "Usage: kidx get [-i DIR] [--title] [--json] [--json-id] ID...\n"
    "\n"
    "Prints the documents with these ids as the index stores them (for\n"
    "files: their paths relative to the index's base, e.g. corpus/x.txt,\n"
    "see 'kidx index --help'; put -- before an id that starts with '-').\n"
    "Each document's body is written byte for byte as it was indexed, with\n"
    "nothing added (no newline, no separator between documents), as cat\n"
    "and 'git cat-file -p' do, so 'kidx get ID > FILE' gives back the text\n"
    "that was indexed.  For a file, the body is the file after its title's\n"
    "line.  An id that is not in the index is reported as \"kidx: no\n"
    "document 'ID'\"; the other ids are still printed, in the order given,\n"
    "and the exit status is 1.  The index is the one committed when get\n"
    "starts: a document deleted or replaced since is as the last commit\n"
    "has it.\n"
    "\n"
    "Options:\n"
    "      --title       print each document's title instead, followed by a\n"
    "                    newline\n"
    "      --json        print one JSON object per line and id, with the keys\n"
    "                    \"id\", \"title\" and (without --title) \"body\";\n"
    "                    each is a string, or {\"bytes\":\"BASE64\"} when it\n"
    "                    is not valid UTF-8, as ids are in 'kidx search\n"
    "                    --json'\n"
    "      --json-id     each ID is written in JSON, as 'kidx search --json'\n"
    "                    prints it: a string (\"corpus/x.txt\") or\n"
    "                    {\"bytes\":\"BASE64\"} for an id that is not UTF-8;\n"
    "                    a malformed one is a usage error, before anything\n"
    "                    is printed\n"
    "  -i, --index DIR   index directory (default: $KIDX_INDEX, else .kidx)\n"
    "  -h, --help        print this help\n"
    "\n"
    "Exit status: 0 every id found, 1 some ids not found (the others were\n"
    "printed), 2 usage error, 3 index missing or unusable, 4 the output\n"
    "could not be written.\n";

static const char DELETE_HELP[] =
    "Usage: kidx delete [-i DIR] [--wait] ID...\n"
    "\n"
    "Removes the documents with these ids (for files: their paths relative\n"
    "to the index's base, e.g. corpus/x.txt, see 'kidx index --help'; put\n"
    "-- before an id that starts with '-'), in one commit, and prints\n"
    "'deleted N documents'.  An id that is not in the index is reported as\n"
    "\"kidx: no document with id 'ID'\"; the other ids are still deleted,\n"
    "and the exit status is 1.  To remove the documents of files that were\n"
    "deleted, 'kidx index --prune PATH' (or 'kidx index', re-syncing) finds\n"
    "them for you; 'kidx index --forget PATH' removes those of a directory\n"
    "you no longer want indexed.\n"
    "\n"
    "Options:\n"
    "      --wait        if another writer has the index, wait for it to\n"
    "                    finish instead of failing\n"
    "  -i, --index DIR   index directory (default: $KIDX_INDEX, else .kidx)\n"
    "  -h, --help        print this help\n"
    "\n"
    "Exit status: 0 every id deleted, 1 some ids not found (the others were\n"
    "deleted), 2 usage error, 3 index missing, unusable, locked (without\n"
    "--wait) or not writable.\n";

static const char OPTIMIZE_HELP[] =
    "Usage: kidx optimize [-i DIR] [--wait]\n"
    "\n"
    "Merges all segments of the index into one, leaving out deleted and\n"
    "replaced documents, in one commit, and prints 'optimized: N documents\n"
    "in 1 segment (was S segments, D deleted documents reclaimed)'.  Search\n"
    "gives the same hits and scores before and after; a search over one\n"
    "segment is faster.  'kidx index' keeps the number of segments small by\n"
    "itself, so this is for an index that is done changing, or after many\n"
    "deletions.  It rewrites the whole index: for a while the disk holds it\n"
    "twice.  An index that is one segment without deleted documents already\n"
    "is left as it is.\n"
    "\n"
    "Options:\n"
    "      --wait        if another writer has the index, wait for it to\n"
    "                    finish instead of failing\n"
    "  -i, --index DIR   index directory (default: $KIDX_INDEX, else .kidx)\n"
    "  -h, --help        print this help\n"
    "\n"
    "Exit status: 0 success, 2 usage error, 3 index missing, unusable,\n"
    "locked (without --wait) or not writable.\n";

static const char CHECK_HELP[] =
    "Usage: kidx check [--json] [-i DIR]\n"
    "\n"
    "Verifies the whole index: every checksum and table, and then every\n"
    "postings list decoded in full and compared with the document table\n"
    "and with each document's stored text, analysed again.  Prints\n"
    "'ok: N documents, T terms, B bytes', or the first problem found as one\n"
    "line on stderr: 'kidx: index at DIR is damaged: FILE: what', naming\n"
    "the term or document concerned.  It reads the whole index and analyses\n"
    "every document again, in a fraction of the time indexing took, and\n"
    "writes nothing.\n"
    "\n"
    "Options:\n"
    "      --json        print one JSON object: {\"ok\":true,\"documents\":N,\n"
    "                    \"terms\":T,\"tokens\":K,\"bytes\":B}, or\n"
    "                    {\"ok\":false,\"error\":\"...\"} (with the line on\n"
    "                    stderr as well)\n"
    "  -i, --index DIR   index directory (default: $KIDX_INDEX, else .kidx)\n"
    "  -h, --help        print this help\n"
    "\n"
    "Exit status: 0 the index is intact, 2 usage error, 3 no index, or the\n"
    "index is damaged or unusable.\n";

static const char HELP_HELP[] =
    "Usage: kidx help [COMMAND]\n"
    "\n"
    "Prints the list of commands and the options they share (as 'kidx\n"
    "--help' and 'kidx -h' do), or with COMMAND the help of that command (as\n"
    "'kidx COMMAND --help', 'kidx COMMAND -h' and 'kidx --help COMMAND' do).\n"
    "'kidx help help' prints this.\n"
    "\n"
    "Options:\n"
    "  -h, --help        print this help\n"
    "\n"
    "Exit status: 0 success, 2 usage error: COMMAND is not a command, or more\n"
    "than one was given.\n";

static const opt_spec INDEX_OPTS[] = {
    OPT_SPEC_HELP,
    OPT_SPEC_INDEX,
    OPT_SPEC_STEM,
    OPT_SPEC_STOPWORDS,
    OPT_SPEC_DIACRITICS,
    {OPT_JSONL, 0, "jsonl", true},
    {OPT_PRUNE, 0, "prune", false},
    {OPT_FORGET, 0, "forget", false},
    {OPT_HIDDEN, 0, "hidden", false},
    {OPT_NO_IGNORE, 0, "no-ignore", false},
    {OPT_QUIET, 'q', "quiet", false},
    {OPT_VERBOSE, 'v', "verbose", false},
    OPT_SPEC_WAIT,
    {OPT_RAM_BUDGET, 0, "ram-budget", true},
    {OPT_MERGE_FACTOR, 0, "merge-factor", true},
    OPT_SPEC_END};
static const opt_spec GET_OPTS[] = {OPT_SPEC_HELP,
                                    OPT_SPEC_INDEX,
                                    {OPT_TITLE, 0, "title", false},
                                    {OPT_JSON, 0, "json", false},
                                    {OPT_JSON_ID, 0, "json-id", false},
                                    OPT_SPEC_END};
static const opt_spec DELETE_OPTS[] = {OPT_SPEC_HELP, OPT_SPEC_INDEX,
                                       OPT_SPEC_WAIT, OPT_SPEC_END};
static const opt_spec OPTIMIZE_OPTS[] = {OPT_SPEC_HELP, OPT_SPEC_INDEX,
                                         OPT_SPEC_WAIT, OPT_SPEC_END};
static const opt_spec CHECK_OPTS[] = {
    OPT_SPEC_HELP, OPT_SPEC_INDEX, {OPT_JSON, 0, "json", false}, OPT_SPEC_END};
static const opt_spec ANALYZE_OPTS[] = {OPT_SPEC_HELP,       OPT_SPEC_INDEX,
                                        OPT_SPEC_STEM,       OPT_SPEC_STOPWORDS,
                                        OPT_SPEC_DIACRITICS, OPT_SPEC_END};
static const opt_spec SEARCH_OPTS[] = {
    OPT_SPEC_HELP,
    OPT_SPEC_INDEX,
    {OPT_LIMIT, 'k', "limit", true},
    {OPT_OFFSET, 0, "offset", true},
    {OPT_RANK, 0, "rank", true},
    {OPT_JSON, 0, "json", false},
    {OPT_ALL, 0, "all", false},
    {OPT_ANY, 0, "any", false},
    {OPT_K1, 0, "k1", true},
    {OPT_B, 0, "b", true},
    {OPT_TITLE_WEIGHT, 0, "title-weight", true},
    {OPT_BODY_WEIGHT, 0, "body-weight", true},
    {OPT_SNIPPET_WORDS, 0, "snippet-words", true},
    {OPT_HIGHLIGHT, 0, "highlight", true},
    OPT_SPEC_COLOR,
    {OPT_EXPLAIN, 0, "explain", false},
    {OPT_BATCH, 0, "batch", true},
    {OPT_VIMGREP, 0, "vimgrep", false},
    {OPT_COUNT, 0, "count", false},
    OPT_SPEC_END};
static const opt_spec HELP_OPTS[] = {OPT_SPEC_HELP, OPT_SPEC_INDEX,
                                     OPT_SPEC_END};
static const opt_spec STATS_OPTS[] = {
    OPT_SPEC_HELP, OPT_SPEC_INDEX, {OPT_JSON, 0, "json", false}, OPT_SPEC_END};
static const opt_spec GLOBAL_OPTS[] = {OPT_SPEC_HELP,
                                       OPT_SPEC_INDEX,
                                       {OPT_VERSION, 'V', "version", false},
                                       OPT_SPEC_END};

static int cmd_help(const cli *c, const cli_args *a);

typedef struct command {
  const char *name;
  const char *help[3]; /* printed one after the other, up to a NULL */
  const opt_spec *opts;
  int (*run)(const cli *c, const cli_args *a);
  /* What the arguments are, for the hint that one starting with '-' goes
   * after "--" (see cli_parse_options); NULL for commands without any. */
  const char *word;
} command;

static const command COMMANDS[] = {
    {"index",
     {INDEX_HELP, INDEX_HELP_MORE, INDEX_HELP_OPTIONS},
     INDEX_OPTS,
     cli_cmd_index,
     "a PATH"},
    {"search",
     {SEARCH_HELP, SEARCH_HELP_OPTIONS, SEARCH_HELP_OUTPUT},
     SEARCH_OPTS,
     cli_cmd_search,
     "a query word"},
    {"get", {GET_HELP, NULL}, GET_OPTS, cli_cmd_get, "an ID"},
    {"analyze",
     {ANALYZE_HELP, NULL},
     ANALYZE_OPTS,
     cli_cmd_analyze,
     "a word of TEXT"},
    {"stats", {STATS_HELP, NULL}, STATS_OPTS, cli_cmd_stats, NULL},
    {"delete", {DELETE_HELP, NULL}, DELETE_OPTS, cli_cmd_delete, "an ID"},
    {"optimize", {OPTIMIZE_HELP, NULL}, OPTIMIZE_OPTS, cli_cmd_optimize, NULL},
    {"check", {CHECK_HELP, NULL}, CHECK_OPTS, cli_cmd_check, NULL},
    {"help", {HELP_HELP, NULL}, HELP_OPTS, cmd_help, NULL},
};

static void put_help(const command *cmd) {
  for (size_t i = 0; i < 3 && cmd->help[i]; i++)
    fputs(cmd->help[i], stdout);
}

static const command *find_command(const char *name) {
  for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
    if (strcmp(COMMANDS[i].name, name) == 0)
      return &COMMANDS[i];
  return NULL;
}

/* Prints the help of the command named (main help if name is NULL). */
static int print_help_of(const char *name) {
  if (!name) {
    fputs(MAIN_HELP, stdout);
    return ST_OK;
  }
  const command *cmd = find_command(name);
  if (!cmd)
    return cli_fail(ST_USAGE, "unknown command '%s' (see 'kidx --help')", name);
  put_help(cmd);
  return ST_OK;
}

/* `kidx help [COMMAND]`: a command like the others, so that its options
 * (kidx help -h) and `kidx help help` work; a second argument is refused
 * rather than ignored, as another command's would be. */
static int cmd_help(const cli *c, const cli_args *a) {
  (void)c;
  if (a->npos > 1)
    return cli_fail(ST_USAGE,
                    "unexpected argument '%s' for 'help' (see 'kidx help "
                    "--help')",
                    a->pos[1]);
  return print_help_of(a->npos == 1 ? a->pos[0] : NULL);
}

static int run_cli(int argc, char **argv) {
  cli_args global;
  memset(&global, 0, sizeof global);
  int rc =
      cli_parse_options(argc, argv, GLOBAL_OPTS, NULL, NULL, true, &global);
  if (rc != ST_OK)
    return rc;
  /* kidx --help [COMMAND]: the same as `kidx help [COMMAND]`, so a second
   * argument is refused as there, rather than silently dropped (unlike
   * `kidx search QUERY --help`, where the rest are the command's). */
  if (global.help) {
    if (global.npos > 1)
      return cli_fail(ST_USAGE,
                      "unexpected argument '%s' for 'help' (see 'kidx help "
                      "--help')",
                      global.pos[1]);
    return print_help_of(global.npos > 0 ? global.pos[0] : NULL);
  }
  if (global.version) {
    printf("kidx %s\n", kidx_version_string());
    return ST_OK;
  }
  if (global.npos == 0)
    return cli_fail(ST_USAGE, "no command given (see 'kidx --help')");
  const char *name = global.pos[0];
  const command *cmd = find_command(name);
  if (!cmd)
    return cli_fail(ST_USAGE, "unknown command '%s' (see 'kidx --help')", name);

  cli_args args;
  memset(&args, 0, sizeof args);
  args.rank = KIDX_RANK_TFIDF;
  args.index = global.index;
  rc = cli_parse_options(global.npos - 1, global.pos + 1, cmd->opts, cmd->name,
                         cmd->word, false, &args);
  /* args.jsonl is the one allocation of option parsing: every path below
   * ends here, to free it. */
  if (rc == ST_OK && args.help) {
    put_help(cmd);
  } else if (rc == ST_OK) {
    cli c;
    const char *env = getenv("KIDX_INDEX");
    c.index_dir = args.index ? args.index : env && *env ? env : ".kidx";
    c.index_named = args.index || (env && *env);
    char *base = ids_base(c.index_dir), *cwd = cli_getcwd();
    c.base = base;
    c.cwd = cwd;
    rc = cmd->run(&c, &args);
    free(base);
    free(cwd);
  }
  free(args.jsonl);
  return rc;
}

int main(int argc, char **argv) {
  /* A closed standard descriptor would be reused by the next open() (the
   * index's write.lock, a document): reading it as stdin or writing errors
   * into it would corrupt data.  Put /dev/null there instead. */
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      int nfd = open("/dev/null", O_RDWR);
      if (nfd == -1)
        return ST_INDEX; /* nowhere safe to report it */
      if (nfd != fd) {   /* a lower closed fd took it: fill this one too */
        if (dup2(nfd, fd) == -1)
          return ST_INDEX;
        close(nfd);
      }
    }
  int rc = run_cli(argc > 0 ? argc - 1 : 0, argv + (argc > 0));
  /* Output to a full disk or a closed pipe must not pass for success. */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_fail(ST_INPUT, "cannot write to standard output: %s", strerror(errno));
    if (rc == ST_OK || rc == ST_NO_HITS)
      rc = ST_INPUT;
  }
  return rc;
}
