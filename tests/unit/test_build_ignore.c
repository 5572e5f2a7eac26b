/* Unit tests of src/build/ignore.c: ReadAll, New and MatchesOrParentMatches
 * as moby/patternmatcher (checked against the Go library with the same
 * inputs), the regexp quirks patternmatcher inherits, error positions, and
 * the filepath helpers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "build/ignore.h"
#include "tap.h"

/* Excluded (1), kept (0) or error (-1) for path under the patterns. */
static int excl(const char *const *pats, size_t n, const char *path)
{
  struct mtk_err *err = NULL;
  bool ex = false;
  mtk_autoptr(mtk_ignore) m = mtk_ignore_new(pats, n, &err);
  if (m)
    mtk_ignore_matches(m, path, &ex, &err);
  if (err) {
    mtk_err_free(&err);
    return -1;
  }
  return ex;
}

#define EX1(p, path) excl((const char *const[]){p}, 1, path)

static int test_read_all(void)
{
  static const char text[] = "\xEF\xBB\xBF# comment\n"
                             "  # not a comment\n"
                             "\n"
                             "/abs/path/\r\n"
                             "! ./keep/../kept \n"
                             "a/b/../c\n"
                             "/\n"
                             "!";
  static const char *want[] = {"# not a comment", "abs/path", "!kept", "a/c", "/", "!"};
  char **pats = NULL;
  size_t n = 0;
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_ignore_read(text, sizeof(text) - 1, &pats, &n, &err), 0);
  MTK_ASSERT_EQ(n, 6);
  for (size_t i = 0; i < n; i++)
    MTK_ASSERT_STREQ(pats[i], want[i]);
  MTK_ASSERT(pats[n] == NULL);
  mtk_ignore_patterns_free(pats, n);
  /* An empty file: an empty, NULL-terminated list. */
  MTK_ASSERT_EQ(mtk_ignore_read("", 0, &pats, &n, &err), 0);
  MTK_ASSERT_EQ(n, 0);
  MTK_ASSERT(pats && pats[0] == NULL);
  mtk_ignore_patterns_free(pats, n);
  return 0;
}

static int test_read_errors(void)
{
  char **pats = NULL;
  size_t n = 0;
  struct mtk_err *err = NULL;
  /* bufio.Scanner refuses a line of 64 KiB; one byte less is fine. */
  size_t big = 65536;
  mtk_autofree char *text = mtk_xmalloc(big + 8);
  memcpy(text, "ok\n", 3);
  memset(text + 3, 'a', big);
  MTK_ASSERT(mtk_ignore_read(text, 3 + big, &pats, &n, &err) < 0);
  MTK_ASSERT_EQ(err->line, 2);
  MTK_ASSERT_CONTAINS(err->msg, "too long");
  mtk_err_free(&err);
  MTK_ASSERT_EQ(mtk_ignore_read(text, 3 + big - 1, &pats, &n, &err), 0);
  MTK_ASSERT_EQ(n, 2);
  MTK_ASSERT_EQ(strlen(pats[1]), big - 1);
  mtk_ignore_patterns_free(pats, n);
  /* A NUL byte cannot live in our strings: refused, not truncated. */
  MTK_ASSERT(mtk_ignore_read("a\nb\0c\n", 6, &pats, &n, &err) < 0);
  MTK_ASSERT_EQ(err->line, 2);
  mtk_err_free(&err);
  MTK_ASSERT_EQ(mtk_ignore_read("a\n#b\0c\n", 7, &pats, &n, &err), 0);
  MTK_ASSERT_EQ(n, 1);
  mtk_ignore_patterns_free(pats, n);
  return 0;
}

static int test_basic_matching(void)
{
  MTK_ASSERT_EQ(EX1("*.go", "main.go"), 1);
  MTK_ASSERT_EQ(EX1("*.go", "pkg/main.go"), 0);
  MTK_ASSERT_EQ(EX1("**/*.go", "pkg/x/main.go"), 1);
  MTK_ASSERT_EQ(EX1("node_modules", "node_modules/a/b.js"), 1);
  MTK_ASSERT_EQ(EX1("abc/**", "abc"), 0);
  MTK_ASSERT_EQ(EX1("abc/**", "abc/d"), 1);
  MTK_ASSERT_EQ(EX1("**/dir", "a/dir/file"), 1);
  MTK_ASSERT_EQ(EX1("a/../b", "b/x"), 1); /* patterns are cleaned */
  MTK_ASSERT_EQ(EX1("../b", "b"), 0);     /* "../b" stays outside */
  MTK_ASSERT_EQ(EX1("**", "."), 0);       /* the root is never excluded */
  MTK_ASSERT_EQ(EX1("**", "./"), 0);
  const char *docs[] = {"*.md", "!README*.md", "README-secret.md"};
  MTK_ASSERT_EQ(excl(docs, 3, "README-secret.md"), 1);
  MTK_ASSERT_EQ(excl(docs, 3, "README-public.md"), 0);
  MTK_ASSERT_EQ(excl(docs, 3, "CHANGES.md"), 1);
  const char *dir[] = {"dir", "!dir/keep"};
  MTK_ASSERT_EQ(excl(dir, 2, "dir/keep/x"), 0);
  MTK_ASSERT_EQ(excl(dir, 2, "dir/other"), 1);
  return 0;
}

/* Quirks of patternmatcher's regexp translation, each checked with the Go library. */
static int test_regexp_quirks(void)
{
  /* `|`, `{`, `}` are not escaped (its bitmap is a byte wide). */
  MTK_ASSERT_EQ(EX1("a|b*", "axyz/q"), 1);
  MTK_ASSERT_EQ(EX1("a|b*", "zzb"), 1);
  MTK_ASSERT_EQ(EX1("a|b", "a"), 0); /* no wildcard: an exact string */
  MTK_ASSERT_EQ(EX1("a|b", "a|b"), 1);
  MTK_ASSERT_EQ(EX1("x{2}*", "xx"), 1);
  MTK_ASSERT_EQ(EX1("x{2}*", "x{2}"), 0);
  MTK_ASSERT_EQ(EX1("*.{jpg,png}", "a.{jpg,png}"), 1);
  /* A backslash escape goes to the regexp: `\d` is a digit. */
  MTK_ASSERT_EQ(EX1("a\\d*", "a5"), 1);
  MTK_ASSERT_EQ(EX1("a\\d*", "ad"), 0);
  MTK_ASSERT_EQ(EX1("\\Qab", "ab$"), 1);
  MTK_ASSERT_EQ(EX1("[[:alpha:]]", "q"), 1);
  MTK_ASSERT_EQ(EX1("[[:alpha:]]", "5"), 0);
  MTK_ASSERT_EQ(EX1("*.[!ch]", "x.o"), 0); /* `!` is no negation */
  MTK_ASSERT_EQ(EX1("*.[^ch]", "x.o"), 1);
  MTK_ASSERT_EQ(EX1("a^b*", "a^b"), 0);      /* `^` anchors */
  MTK_ASSERT_EQ(EX1("**/x*", "a\nb/xy"), 0); /* `.` stops at "\n" */
  MTK_ASSERT_EQ(EX1("**/x", "a\nb/x"), 1);   /* a suffix, no regexp */
  MTK_ASSERT_EQ(EX1("?", "\xff"), 1);        /* one invalid byte is one rune */
  MTK_ASSERT_EQ(EX1("docs\\PP*", "docsXictures"), 1);
  MTK_ASSERT_EQ(EX1("docs\\PP*", "docs.ictures"), 0);
  MTK_ASSERT_EQ(EX1("a*[]a]", "ax]"), 1); /* Go 1.19's Match stops at the first miss */
  return 0;
}

static int test_errors(void)
{
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(EX1("!", "a"), -1);
  MTK_ASSERT_EQ(EX1("[", "a"), -1);
  MTK_ASSERT_EQ(EX1("a\\", "a"), -1);
  MTK_ASSERT_EQ(EX1("[z-a]", "a"), -1);
  MTK_ASSERT_EQ(EX1("\\e*", "a"), -1);       /* invalid regexp escape */
  MTK_ASSERT_EQ(EX1("x{2}{3}*", "a"), -1);   /* nested repetition */
  MTK_ASSERT_EQ(EX1("\\p{Greek}", "a"), -1); /* known to Go, refused by mtk */
  /* A bad range compiles (New succeeds) and fails when evaluated, every time. */
  const char *pats[] = {"x", "[Local-Only]/"};
  mtk_autoptr(mtk_ignore) m = mtk_ignore_new(pats, 2, &err);
  MTK_ASSERT(m != NULL);
  bool ex;
  for (int i = 0; i < 2; i++) {
    MTK_ASSERT(mtk_ignore_matches(m, "y", &ex, &err) < 0);
    MTK_ASSERT_CONTAINS(err->msg, "[Local-Only]");
    mtk_err_free(&err);
  }
  /* ... but not when it is skipped: an exception while nothing is excluded. */
  const char *skip[] = {"!a[z-b]"};
  MTK_ASSERT_EQ(excl(skip, 1, "q"), 0);
  /* Errors of a loaded file name it and the pattern's line. */
  static const char text[] = "# top\nok\n\n[Local-Only]/\n";
  mtk_autoptr(mtk_ignore) l = mtk_ignore_load(text, sizeof(text) - 1, "ctx/.dockerignore", &err);
  MTK_ASSERT(l != NULL);
  MTK_ASSERT(mtk_ignore_matches(l, "z", &ex, &err) < 0);
  MTK_ASSERT_STREQ(err->file, "ctx/.dockerignore");
  MTK_ASSERT_EQ(err->line, 4);
  MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
  mtk_err_free(&err);
  MTK_ASSERT(mtk_ignore_load("a\n!\n", 4, "f", &err) == NULL);
  MTK_ASSERT_EQ(err->line, 2);
  mtk_err_free(&err);
  return 0;
}

static int test_accessors(void)
{
  struct mtk_err *err = NULL;
  const char *pats[] = {"  ", "/a/", "!b", ""};
  mtk_autoptr(mtk_ignore) m = mtk_ignore_new(pats, 4, &err);
  MTK_ASSERT(m != NULL);
  MTK_ASSERT_EQ(mtk_ignore_len(m), 2);
  bool exc;
  MTK_ASSERT_STREQ(mtk_ignore_pattern(m, 0, &exc), "/a"); /* New keeps the '/' */
  MTK_ASSERT(!exc);
  MTK_ASSERT_STREQ(mtk_ignore_pattern(m, 1, &exc), "b");
  MTK_ASSERT(exc);
  MTK_ASSERT(mtk_ignore_has_exceptions(m));
  return 0;
}

static int test_filepath(void)
{
  static const char *clean[][2] = {
      {"", "."},         {"a//b/./c/", "a/b/c"},
      {"/../a", "/a"},   {"../../a", "../../a"},
      {"a/../..", ".."}, {"//", "/"},
      {"a/b/..", "a"},   {"./", "."},
  };
  for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
    mtk_autofree char *c = mtk_ignore_clean_path(clean[i][0]);
    MTK_ASSERT_STREQ(c, clean[i][1]);
  }
  struct mtk_err *err = NULL;
  bool m;
  MTK_ASSERT_EQ(mtk_ignore_glob_match("*.c", "main.c", &m, &err), 0);
  MTK_ASSERT(m);
  MTK_ASSERT_EQ(mtk_ignore_glob_match("*.c", "src/main.c", &m, &err), 0);
  MTK_ASSERT(!m);
  MTK_ASSERT_EQ(mtk_ignore_glob_match("a[^b]?\\*", "acd*", &m, &err), 0);
  MTK_ASSERT(m);
  MTK_ASSERT(mtk_ignore_glob_match("a[", "a", &m, &err) < 0);
  mtk_err_free(&err);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"ReadAll: BOM, comments, trimming, cleaning, '!'", test_read_all},
      {"ReadAll: 64 KiB line limit and NUL bytes", test_read_errors},
      {"matching: globs, parents, exceptions", test_basic_matching},
      {"matching: regexp quirks of patternmatcher", test_regexp_quirks},
      {"errors: when and where they are reported", test_errors},
      {"accessors: cleaned patterns and exceptions", test_accessors},
      {"filepath.Clean and filepath.Match", test_filepath},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
