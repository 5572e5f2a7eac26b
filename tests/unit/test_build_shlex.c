/* Unit tests for the shell-word lexer (src/build/shlex.c, shlex_glob.c): what the shared
 * envVarTest / wordsTest vectors do not cover — BuildKit's error texts, the backtick escape
 * token, the Lex switches (RawQuotes, RawEscapes, SkipProcessQuotes, SkipUnsetEnv), the
 * pattern operators (# ## % %% / //), matched / unmatched names, word-splitting quirks,
 * Unicode names and spaces, invalid UTF-8, and linear time on hostile patterns.  Expected
 * values were checked against BuildKit's lexer behaviour. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build/shlex.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strbuf.h"
#include "util/strmap.h"

MTK_DEFINE_AUTOPTR(mtk_shlex, mtk_shlex_free)

/* The environment of most tests. */
static void base_env(struct mtk_strmap *env)
{
  mtk_strmap_set(env, "PWD", "/home");
  mtk_strmap_set(env, "EMPTY", "");
  mtk_strmap_set(env, "DECLARED", NULL); /* declared without value: unset */
  mtk_strmap_set(env, "SP", " a  b ");
  mtk_strmap_set(env, "FILE", "/tmp/dir.d/archive.tar.gz");
  mtk_strmap_set(env, "LINES", "a1\nb2\nc3");
  mtk_strmap_set(env, "BS", "ab\\");
  mtk_strmap_set(env, "TPL", "[$0${0}$$|$1$x${x}$00${0|$.]");
}

/* Expands `word` with escape token `esc`, switches `flags` and base_env; returns the result
   or "ERR:" + the error message. */
static char *expand(char esc, unsigned flags, const char *word)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autoptr(mtk_shlex) l = mtk_shlex_new(esc);
  struct mtk_err *err = NULL;
  base_env(&env);
  mtk_shlex_set_flags(l, flags);
  char *r = mtk_shlex_word(l, word, &env, &err);
  if (!r) {
    r = mtk_xasprintf("ERR:%s", err->msg);
    if (err->code != MTK_E_BUILD)
      r[0] = '?'; /* makes the comparison fail */
    mtk_err_free(&err);
  }
  return r;
}

/* ProcessWords, the words joined by "|" (or "ERR:" + message). */
static char *split(char esc, unsigned flags, const char *word)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autoptr(mtk_shlex) l = mtk_shlex_new(esc);
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  struct mtk_err *err = NULL;
  size_t n = 99;
  base_env(&env);
  mtk_shlex_set_flags(l, flags);
  char **w = mtk_shlex_words(l, word, &env, &n, &err);
  if (!w) {
    char *r = mtk_xasprintf("ERR:%s", err->msg);
    mtk_err_free(&err);
    return r;
  }
  for (size_t i = 0; i < n; i++)
    mtk_strbuf_addf(&sb, "%s%s", i ? "|" : "", w[i]);
  if (w[n] != NULL)
    mtk_strbuf_adds(&sb, "<not NULL-terminated>");
  mtk_shlex_words_free(w);
  return mtk_strbuf_steal(&sb);
}

#define CHECK(got_expr, want)                                                                      \
  do {                                                                                             \
    mtk_autofree char *got_ = (got_expr);                                                          \
    MTK_ASSERT_STREQ(got_, want);                                                                  \
  } while (0)

static int test_error_texts(void)
{
  CHECK(expand('\\', 0, "a${b"), "ERR:failed to process \"a${b\": unsupported modifier "
                                 "(\xEF\xBF\xBD) in substitution");
  CHECK(expand('\\', 0, "${"), "ERR:failed to process \"${\": syntax error: missing '}'");
  CHECK(expand('\\', 0, "${}"), "ERR:failed to process \"${}\": syntax error: bad substitution");
  CHECK(expand('\\', 0, "${:-x}"), "ERR:failed to process \"${:-x}\": syntax error: bad "
                                   "substitution");
  CHECK(expand('\\', 0, "${{x}}"), "ERR:failed to process \"${{x}}\": syntax error: bad "
                                   "substitution");
  CHECK(expand('\\', 0, "${x:=1}"), "ERR:failed to process \"${x:=1}\": unsupported modifier "
                                    "(:=) in substitution");
  CHECK(expand('\\', 0, "${x=1}"), "ERR:failed to process \"${x=1}\": unsupported modifier (=) "
                                   "in substitution");
  CHECK(expand('\\', 0, "${x:#1}"), "ERR:failed to process \"${x:#1}\": unsupported modifier "
                                    "(:#) in substitution");
  CHECK(expand('\\', 0, "${x:-y"), "ERR:failed to process \"${x:-y\": syntax error: missing "
                                   "'}'");
  CHECK(expand('\\', 0, "${x:-'y}"), "ERR:failed to process \"${x:-'y}\": syntax error: "
                                     "missing '}'");
  CHECK(expand('\\', 0, "${x/a"), "ERR:failed to process \"${x/a\": syntax error: missing '/' "
                                  "in ${}");
  CHECK(expand('\\', 0, "${x/a/b"), "ERR:failed to process \"${x/a/b\": syntax error: missing "
                                    "'}'");
  CHECK(expand('\\', 0, "'abc"), "ERR:failed to process \"'abc\": unexpected end of statement "
                                 "while looking for matching single-quote");
  CHECK(expand('\\', 0, "\"abc\\\""), "ERR:failed to process \"\\\"abc\\\\\\\"\": unexpected "
                                      "end of statement while looking for matching "
                                      "double-quote");
  /* Any error that reaches the end of the word inside ${...} is a missing brace. */
  CHECK(expand('\\', 0, "${x:-\"a}"), "ERR:failed to process \"${x:-\\\"a}\": syntax error: "
                                      "missing '}'");
  CHECK(expand('\\', 0, "${x#\\a}"), "ERR:failed to process \"${x#\\\\a}\": invalid pattern "
                                     "(\\a) in substitution: invalid escape '\\a'");
  CHECK(expand('\\', 0, "${x%ab\\}"), "ERR:failed to process \"${x%ab\\\\}\": syntax error: "
                                      "missing '}'");
  /* `%` reverses the pattern before reading it, and so does the message. */
  CHECK(expand('\\', 0, "${x%$BS}"), "ERR:failed to process \"${x%$BS}\": invalid pattern "
                                     "(\\ba) in substitution: invalid escape '\\b'");
  return 0;
}

static int test_required(void)
{
  CHECK(expand('\\', 0, "${NOPE?}"), "ERR:failed to process \"${NOPE?}\": NOPE: is not allowed "
                                     "to be unset");
  CHECK(expand('\\', 0, "${DECLARED?}"), "ERR:failed to process \"${DECLARED?}\": DECLARED: is "
                                         "not allowed to be unset");
  CHECK(expand('\\', 0, "${EMPTY:?}"), "ERR:failed to process \"${EMPTY:?}\": EMPTY: is not "
                                       "allowed to be empty");
  CHECK(expand('\\', 0, "${EMPTY:?need $PWD}"), "ERR:failed to process \"${EMPTY:?need "
                                                "$PWD}\": EMPTY: need /home");
  CHECK(expand('\\', 0, "${NOPE:?}"), "ERR:failed to process \"${NOPE:?}\": NOPE: is not "
                                      "allowed to be unset");
  CHECK(expand('\\', 0, "${EMPTY?}x"), "x");
  CHECK(expand('\\', 0, "${PWD:?m}"), "/home");
  return 0;
}

static int test_defaults_and_alternatives(void)
{
  CHECK(expand('\\', 0, "${EMPTY-d}|${EMPTY:-d}|${DECLARED-d}|${NOPE-d}"), "|d|d|d");
  CHECK(expand('\\', 0, "${EMPTY+a}|${EMPTY:+a}|${DECLARED+a}|${PWD:+a}"), "a|||a");
  CHECK(expand('\\', 0, "${NOPE:-${NOPE2:-${PWD}}}"), "/home");
  CHECK(expand('\\', 0, "${NOPE:-a\\}b}"), "a}b");
  CHECK(expand('\\', 0, "${NOPE:-'x y'}"), "x y");
  CHECK(expand('\\', 0, "${NOPE:-\"$PWD\"}"), "/home");
  /* Positional and special parameters are never set. */
  CHECK(expand('\\', 0, "$1$@$*$#$?$-$$$!$0|${10:-ten}|$12x"), "|ten|x");
  CHECK(expand('\\', 0, "$ $. ${PWD}x$"), "$ $. /homex$");
  /* An operator right after "${" is taken as an empty name, or as the special parameter. */
  CHECK(expand('\\', 0, "${+x}|${--x}|${#}"), "|x|");
  return 0;
}

static int test_backtick_escape(void)
{
  /* With `# escape=``, the backslash is an ordinary character (Windows paths). */
  CHECK(expand('`', 0, "C:\\dir\\$PWD"), "C:\\dir\\/home");
  CHECK(expand('`', 0, "a`$PWD`b`"), "a$PWDb");
  CHECK(expand('`', 0, "\"a`\"b``c`d\\\""), "a\"b`c`d\\");
  CHECK(expand('`', 0, "\"`$PWD\""), "$PWD");
  CHECK(expand('`', 0, "${NOPE:-a`}b}"), "a}b");
  CHECK(expand('`', 0, "'`'"), "`");
  CHECK(split('`', 0, "a` b c\\ d"), "a b|c\\|d");
  CHECK(expand('`', 0, "\"abc`\""), "ERR:failed to process \"\\\"abc`\\\"\": unexpected end of "
                                    "statement while looking for matching double-quote");
  /* The default token keeps a backtick as text. */
  CHECK(expand('\\', 0, "a`b\\`c"), "a`b`c");
  return 0;
}

static int test_switches(void)
{
  unsigned raw_q = MTK_SHLEX_RAW_QUOTES, raw_e = MTK_SHLEX_RAW_ESCAPES;
  unsigned skip_q = MTK_SHLEX_SKIP_PROCESS_QUOTES, skip_u = MTK_SHLEX_SKIP_UNSET_ENV;
  CHECK(expand('\\', raw_q, "'a b'\"$PWD\""), "'a b'\"/home\"");
  CHECK(expand('\\', raw_e, "a\\ b\\"), "a\\ b\\");
  /* BuildKit writes a kept escape twice in double quotes when it escapes nothing. */
  CHECK(expand('\\', raw_e, "\"\\a\\$\""), "\\\\a\\$");
  CHECK(expand('\\', skip_q, "'$PWD' \"x\""), "'/home' \"x\"");
  CHECK(expand('\\', skip_u, "$NOPE ${NOPE} ${NOPE:-d} ${NOPE/a/b} ${PWD}"),
        "$NOPE ${NOPE} ${NOPE:-d} ${NOPE/a/b} /home");
  /* SkipUnsetEnv comes before the unknown-operator error. */
  CHECK(expand('\\', skip_u, "${NOPE:=d}"), "${NOPE:=d}");
  CHECK(expand('\\', 0, "${NOPE:=d}"), "ERR:failed to process \"${NOPE:=d}\": unsupported "
                                       "modifier (:=) in substitution");
  /* The parser's heredoc scan: raw quotes, unset variables kept, "<<" glued to its word. */
  CHECK(split('\\', raw_q | skip_u, "cat <<  \"EOF\" >$OUT"), "cat|<<  \"EOF\"|>$OUT");
  mtk_autoptr(mtk_shlex) l = mtk_shlex_new('\\');
  mtk_shlex_set_flags(l, raw_q | skip_u);
  MTK_ASSERT_EQ(mtk_shlex_flags(l), raw_q | skip_u);
  return 0;
}

static int test_trim(void)
{
  CHECK(expand('\\', 0, "${FILE#*.}|${FILE##*.}|${FILE%.*}|${FILE%%.*}"),
        "d/archive.tar.gz|gz|/tmp/dir.d/archive.tar|/tmp/dir");
  CHECK(expand('\\', 0, "${FILE#/tmp/}|${FILE#nomatch}|${FILE#}|${FILE%%}"),
        "dir.d/archive.tar.gz|/tmp/dir.d/archive.tar.gz|/tmp/dir.d/archive.tar.gz|"
        "/tmp/dir.d/archive.tar.gz");
  CHECK(expand('\\', 0, "${FILE#?tmp?}|${FILE##*/}|${FILE%/*}"), "dir.d/archive.tar.gz|"
                                                                 "archive.tar.gz|/tmp/dir.d");
  CHECK(expand('\\', 0, "${NOPE#*}|${NOPE%x}"), "|");
  /* Wildcards stop at a newline, as Go's `.` does. */
  CHECK(expand('\\', 0, "${LINES#*}|${LINES##*}|${LINES%\\?*}|${LINES%%?*}"),
        "a1\nb2\nc3|\nb2\nc3|a1\nb2\nc3|a1\nb2\n");
  /* Escapes in patterns: \* \? \\ are literal, \} closes nothing. */
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autoptr(mtk_shlex) l = mtk_shlex_new('\\');
  struct mtk_err *err = NULL;
  mtk_strmap_set(&env, "V", "*?\\}rest}");
  mtk_autofree char *r = mtk_shlex_word(l, "${V#\\*\\?\\\\\\}}", &env, &err);
  MTK_ASSERT_STREQ(r, "rest}");
  mtk_autofree char *r2 = mtk_shlex_word(l, "${V%%\\}*}", &env, &err);
  MTK_ASSERT_STREQ(r2, "*?\\");
  return 0;
}

static int test_replace(void)
{
  CHECK(expand('\\', 0, "${FILE/./_}|${FILE//./_}|${FILE//a?/X}"),
        "/tmp/dir_d/archive.tar.gz|/tmp/dir_d/archive_tar_gz|/tmp/dir.d/Xchive.tX.gz");
  /* `*` is greedy here, and cannot cross a newline. */
  CHECK(expand('\\', 0, "${FILE/\\/*\\//X}|${LINES//*/<\\$0>}"),
        "Xarchive.tar.gz|<\\a1>\n<\\b2>\n<\\c3>");
  /* `//` reads the replacement as a Go regexp template ($0 = the match, $$ = $, other names
     nothing); `/` inserts it as it is.  A `$` typed in the word is expanded before. */
  CHECK(expand('\\', 0, "${PWD//o/$TPL}|${PWD/o/$TPL}|${PWD//o/[$0]}"),
        "/h[oo$|${0|$.]me|/h[$0${0}$$|$1$x${x}$00${0|$.]me|/h[]me");
  CHECK(expand('\\', 0, "${PWD///-}|${PWD//\\//\\/}"), "-/-h-o-m-e-|\\/home");
  CHECK(expand('\\', 0, "${NOPE/x/y}|${PWD/nomatch/y}"), "|/home");
  return 0;
}

static int test_matches(void)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autostrmap m = MTK_STRMAP_INIT;
  mtk_autostrmap u = MTK_STRMAP_INIT;
  mtk_autoptr(mtk_shlex) l = mtk_shlex_new('\\');
  struct mtk_err *err = NULL;
  base_env(&env);
  mtk_autofree char *r = mtk_shlex_word_ex(
      l, "$PWD ${EMPTY:-x} ${DECLARED} ${NOPE:+y} ${A:-${B}} ${FILE#$PAT} $1", &env, &m, &u, &err);
  MTK_ASSERT_STREQ(r, "/home x    /tmp/dir.d/archive.tar.gz ");
  MTK_ASSERT_EQ(m.len, 3);
  MTK_ASSERT(mtk_strmap_has(&m, "PWD") && mtk_strmap_has(&m, "EMPTY"));
  MTK_ASSERT(mtk_strmap_has(&m, "FILE"));
  MTK_ASSERT_EQ(u.len, 6);
  const char *want[] = {"DECLARED", "NOPE", "B", "A", "PAT", "1"};
  for (size_t i = 0; i < 6; i++)
    MTK_ASSERT(mtk_strmap_has(&u, want[i]));
  /* On failure the names seen so far are still reported. */
  mtk_autostrmap u2 = MTK_STRMAP_INIT;
  char *bad = mtk_shlex_word_ex(l, "${X?} $Y", &env, NULL, &u2, &err);
  MTK_ASSERT(bad == NULL && err != NULL);
  MTK_ASSERT_STREQ(err->msg, "failed to process \"${X?} $Y\": X: is not allowed to be unset");
  mtk_err_free(&err);
  MTK_ASSERT_EQ(u2.len, 1);
  MTK_ASSERT(mtk_strmap_has(&u2, "X"));
  /* A NULL env: everything is unset. */
  mtk_autofree char *r3 = mtk_shlex_word(l, "a${X:-b}$Y", NULL, &err);
  MTK_ASSERT_STREQ(r3, "ab");
  return 0;
}

static int test_words(void)
{
  CHECK(split('\\', 0, ""), "");
  CHECK(split('\\', 0, "  a\t b \n"), "a|b");
  CHECK(split('\\', 0, "x$SP y"), "x|a|b|y");
  CHECK(split('\\', 0, "\"$SP\" '' a''b"), " a  b |ab");
  CHECK(split('\\', 0, "a\\ b \"c d\"e"), "a b|c de");
  /* BuildKit drops what the current word held before a ${X<op>...}. */
  CHECK(split('\\', 0, "abc${NOPE:-x}def gh${PWD}i"), "xdef|gh/homei");
  CHECK(split('\\', 0, "ab\"${NOPE:-x}\"c"), "xc");
  CHECK(split('\\', 0, "a 'b"), "ERR:failed to process \"a 'b\": unexpected end of statement "
                                "while looking for matching single-quote");
  /* Unicode white space splits (NBSP, ideographic space), other runes do not. */
  CHECK(split('\\', 0,
              "a\xC2\xA0"
              "b\xE3\x80\x80"
              "c\xE2\x80\x8B"
              "d"),
        "a|b|c\xE2\x80\x8B"
        "d");
  return 0;
}

/* mtk_shlex_words_n: the input by length and the words' lengths, NUL bytes kept (also in
   an unset ${...} written back with SkipUnsetEnv). */
static int test_words_n(void)
{
  static const char in[] = "a\0b '\0' ${X:-\0y}";
  mtk_autoptr(mtk_shlex) l = mtk_shlex_new('\\');
  struct mtk_err *err = NULL;
  size_t n = 0, *lens = NULL;
  mtk_shlex_set_flags(l, MTK_SHLEX_SKIP_UNSET_ENV);
  char **w = mtk_shlex_words_n(l, in, sizeof(in) - 1, NULL, &n, &lens, &err);
  MTK_ASSERT(w != NULL);
  MTK_ASSERT_EQ(n, 3);
  MTK_ASSERT(w[3] == NULL);
  MTK_ASSERT(lens[0] == 3 && memcmp(w[0], "a\0b", 4) == 0);
  MTK_ASSERT(lens[1] == 1 && memcmp(w[1], "\0", 2) == 0);
  MTK_ASSERT(lens[2] == 8 && memcmp(w[2], "${X:-\0y}", 9) == 0);
  mtk_shlex_words_free(w);
  free(lens);
  /* No word: an empty array, and the lengths may be left out. */
  w = mtk_shlex_words_n(l, "  ", 2, NULL, &n, NULL, &err);
  MTK_ASSERT(w != NULL && w[0] == NULL && n == 0);
  mtk_shlex_words_free(w);
  /* An error quotes the whole input, NUL bytes included. */
  MTK_ASSERT(mtk_shlex_words_n(l, "\0'", 2, NULL, &n, &lens, &err) == NULL);
  MTK_ASSERT_STREQ(err->msg, "failed to process \"\\x00'\": unexpected end of statement "
                             "while looking for matching single-quote");
  mtk_err_free(&err);
  return 0;
}

static int test_unicode(void)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autoptr(mtk_shlex) l = mtk_shlex_new('\\');
  struct mtk_err *err = NULL;
  mtk_strmap_set(&env, "\xED\x95\x9C", "han");  /* a Hangul letter */
  mtk_strmap_set(&env, "\xD9\xA3", "three");    /* ARABIC-INDIC DIGIT THREE */
  mtk_strmap_set(&env, "x\xC2\xB2", "squared"); /* SUPERSCRIPT TWO is not a digit */
  mtk_autofree char *a = mtk_shlex_word(l, "$\xED\x95\x9C.${\xD9\xA3}.$x\xC2\xB2", &env, &err);
  MTK_ASSERT_STREQ(a, "han.three.\xC2\xB2");
  /* A byte order mark at the very start is skipped; invalid bytes become U+FFFD. */
  mtk_autofree char *b = mtk_shlex_word(l,
                                        "\xEF\xBB\xBF"
                                        "a\xFF"
                                        "b\xEF\xBB\xBF",
                                        &env, &err);
  MTK_ASSERT_STREQ(b, "a\xEF\xBF\xBD"
                      "b\xEF\xBB\xBF");
  MTK_ASSERT(mtk_go_is_letter(0x1F00) && !mtk_go_is_letter(0x1F600));
  MTK_ASSERT(mtk_go_is_digit(0x0966) && !mtk_go_is_digit(0x00B2));
  MTK_ASSERT(mtk_go_is_space(0x85) && mtk_go_is_space(0x2029) && !mtk_go_is_space(0x200B));
  /* Unicode 15.0 letters (Kawi, CJK extension H) count as letters, as in Go 1.21+. */
  MTK_ASSERT(mtk_go_is_letter(0x11F04) && mtk_go_is_letter(0x31350));
  return 0;
}

/* Hostile patterns run in linear time (a backtracking matcher would take minutes). */
static int test_linear_time(void)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autoptr(mtk_shlex) l = mtk_shlex_new('\\');
  struct mtk_err *err = NULL;
  size_t n = 100000;
  mtk_autofree char *v = mtk_xmalloc(n + 1);
  memset(v, 'a', n);
  v[n] = '\0';
  mtk_strmap_set(&env, "V", v);
  clock_t t0 = clock();
  mtk_autofree char *r1 = mtk_shlex_word(l, "${V//*a*a*a*a*b/x}", &env, &err);
  mtk_autofree char *r2 = mtk_shlex_word(l, "${V%%*a*a*a*b}", &env, &err);
  mtk_autofree char *r3 = mtk_shlex_word(l, "${V##a*a*a*a}", &env, &err);
  double secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
  MTK_ASSERT(r1 && r2 && r3);
  MTK_ASSERT_STREQ(r1, v);
  MTK_ASSERT_STREQ(r2, v);
  MTK_ASSERT_STREQ(r3, "");
  printf("# hostile patterns on %zu bytes: %.2fs\n", n, secs);
  MTK_ASSERT(secs < 20);
  return 0;
}

/* Deep nesting is refused rather than overflowing the stack; ordinary nesting works. */
static int test_nesting_limit(void)
{
  mtk_autostrbuf deep = MTK_STRBUF_INIT;
  mtk_autostrbuf ok = MTK_STRBUF_INIT;
  for (int i = 0; i < 20000; i++)
    mtk_strbuf_adds(&deep, i % 2 ? "${a:-" : "\"${b:+");
  for (int i = 0; i < 200; i++)
    mtk_strbuf_adds(&ok, "${a:-");
  mtk_strbuf_adds(&ok, "x");
  for (int i = 0; i < 200; i++)
    mtk_strbuf_addc(&ok, '}');
  mtk_autofree char *r = expand('\\', 0, mtk_strbuf_str(&deep));
  MTK_ASSERT_CONTAINS(r, "syntax error: ${...} nested more than 256 deep");
  CHECK(expand('\\', 0, mtk_strbuf_str(&ok)), "x");
  return 0;
}

/* An expansion past the lexer's size limit fails, whichever way it grows. */
static int test_size_limit(void)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autoptr(mtk_shlex) l = mtk_shlex_new('\\');
  struct mtk_err *err = NULL;
  base_env(&env);
  mtk_shlex_set_limit(l, 90);
  const char *big[] = {"${PWD//?/$FILE}", "$FILE$FILE$FILE$FILE", "\"$FILE$FILE$FILE$FILE\"",
                       "${NOPE:-$FILE$FILE$FILE$FILE}", "${PWD///${PWD///${PWD///x}}}"};
  for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
    mtk_autofree char *r = mtk_shlex_word(l, big[i], &env, &err);
    MTK_ASSERT(r == NULL);
    MTK_ASSERT_CONTAINS(err->msg, "expansion longer than 90 bytes");
    mtk_err_free(&err);
  }
  mtk_autofree char *ok = mtk_shlex_word(l, "$FILE$FILE$FILE", &env, &err);
  MTK_ASSERT(ok && strlen(ok) == 75);
  /* The default is generous: 1 MiB of input gives 2 MiB of output. */
  mtk_autostrmap env2 = MTK_STRMAP_INIT;
  mtk_autoptr(mtk_shlex) l2 = mtk_shlex_new('\\');
  mtk_autofree char *mib = mtk_xmalloc((1 << 20) + 1);
  memset(mib, 'm', 1 << 20);
  mib[1 << 20] = '\0';
  mtk_strmap_set(&env2, "M", mib);
  mtk_autofree char *two = mtk_shlex_word(l2, "$M${M}", &env2, &err);
  MTK_ASSERT(two && strlen(two) == 2u << 20);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"error texts", test_error_texts},
      {"required variables", test_required},
      {"defaults and alternatives", test_defaults_and_alternatives},
      {"backtick escape token", test_backtick_escape},
      {"Lex switches", test_switches},
      {"trim operators", test_trim},
      {"replace operators", test_replace},
      {"matched and unmatched names", test_matches},
      {"word splitting", test_words},
      {"words by length (NUL bytes)", test_words_n},
      {"unicode", test_unicode},
      {"linear time", test_linear_time},
      {"nesting limit", test_nesting_limit},
      {"size limit", test_size_limit},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
