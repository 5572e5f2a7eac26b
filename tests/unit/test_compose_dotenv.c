/* Unit tests for the .env parser (src/compose/dotenv.c): what the shared vectors do not
 * cover — error messages with file and line (including compose-go's line-counting quirks),
 * inherited keys, lookup order, escapes, Unicode keys, files, very long input.  Expected
 * values were checked against compose-go's dotenv package. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose/dotenv.h"
#include "compose/interp.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/strmap.h"

/* Parses text with lookup over env (may be NULL) into *out; returns NULL or the error as
 * "LINE|message" (owned). */
static char *parse_into(const char *text, const struct mtk_strmap *env, struct mtk_strmap *out)
{
  struct mtk_err *err = NULL;
  if (mtk_dotenv_parse(text, strlen(text), "t.env", env ? mtk_interp_strmap_lookup : NULL,
                       (void *) env, out, &err) == 0)
    return NULL;
  char *r = mtk_xasprintf("%d|%s", err->line, err->msg);
  mtk_err_free(&err);
  return r;
}

static int test_error_lines(void)
{
  static const char *const cases[][2] = {
      {"# some comments\nfoo=\"\n  a\n  multine\n  value\n\"\nINVALID LINE\nzot=qix",
       "7|line 7: key cannot contain a space"},
      /* An unterminated quote counts every newline up to the end. */
      {"A=1\nB=\"abc\n\nC=3", "4|line 4: unterminated quoted value \"abc"},
      /* An inherited key with a trailing space does not advance the counter. */
      {"A=1\n  B  \nC D=1", "2|line 2: key cannot contain a space"},
      {"A=1\nlol$wut", "2|line 2: unexpected character \"$\" in variable name \"lol$wut\""},
      {"a\xff"
       "b=1",
       "1|line 1: unexpected character \"\xEF\xBF\xBD\" in variable name "
       "\"a\\xffb=1\""},
      /* A byte order mark is only skipped at the very start. */
      {"\xEF\xBB\xBF"
       "A=1\n\xEF\xBB\xBF"
       "B=2",
       "2|line 2: unexpected character \"\\ufeff\" in variable name \"\\ufeffB=2\""},
      /* Interpolation errors carry the line of the value. */
      {"A=1\nB\nC=${X:?boom}\n", "3|required variable X is missing a value: boom"},
      {"A=1\nB=\"x\n${\"", "2|Invalid template: \"x\\n${\""},
      {"export ", "1|zero length string"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    mtk_autostrmap out = MTK_STRMAP_INIT;
    mtk_autofree char *got = parse_into(cases[i][0], NULL, &out);
    MTK_ASSERT_STREQ(got, cases[i][1]);
  }
  return 0;
}

static int test_error_format_names_file(void)
{
  struct mtk_err *err = NULL;
  mtk_autostrmap out = MTK_STRMAP_INIT;
  const char *text = "OK=1\n\nBAD KEY=2\n";
  MTK_ASSERT(mtk_dotenv_parse(text, strlen(text), "/p/.env", NULL, NULL, &out, &err) < 0);
  mtk_autofree char *s = mtk_err_format(err);
  MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
  MTK_ASSERT_STREQ(s, "/p/.env:3: line 3: key cannot contain a space");
  /* Keys before the error are already in the map. */
  MTK_ASSERT_STREQ(mtk_strmap_get(&out, "OK", NULL), "1");
  mtk_err_free(&err);
  return 0;
}

static int test_unterminated_quotes(void)
{
  static const char *const cases[] = {"K=\"", "K='v", "K=\"v\\\"", "K='v\\'", "K=\"v'\nX=1"};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    mtk_autostrmap out = MTK_STRMAP_INIT;
    mtk_autofree char *got = parse_into(cases[i], NULL, &out);
    MTK_ASSERT_CONTAINS(got, "unterminated quoted value ");
    /* The message quotes the value up to the end of its first line. */
    size_t eol = strcspn(cases[i] + 2, "\n");
    mtk_autofree char *tail = mtk_xstrndup(cases[i] + 2, eol);
    MTK_ASSERT_CONTAINS(got, tail);
  }
  return 0;
}

static int test_inherited_and_lookup_order(void)
{
  mtk_autostrmap env = MTK_STRMAP_INIT, out = MTK_STRMAP_INIT, out2 = MTK_STRMAP_INIT;
  mtk_strmap_set(&env, "FOO", "x");
  mtk_strmap_set(&env, "A", "os");
  mtk_autofree char *e1 = parse_into("FOO\nBAR\nA=first\nB=$A\nC=\"$A\"\nD='$A'", &env, &out);
  MTK_ASSERT(e1 == NULL);
  MTK_ASSERT_STREQ(mtk_strmap_get(&out, "FOO", NULL), "x");
  MTK_ASSERT(!mtk_strmap_has(&out, "BAR")); /* unset: skipped */
  /* The lookup wins over keys of the text. */
  MTK_ASSERT_STREQ(mtk_strmap_get(&out, "A", NULL), "first");
  MTK_ASSERT_STREQ(mtk_strmap_get(&out, "B", NULL), "os");
  MTK_ASSERT_STREQ(mtk_strmap_get(&out, "C", NULL), "os");
  MTK_ASSERT_STREQ(mtk_strmap_get(&out, "D", NULL), "$A");
  /* File order; an entry already in the map is visible and keeps its place. */
  mtk_strmap_set(&out2, "P", "pre");
  mtk_autofree char *e2 = parse_into("Z=$P\nP=new\nY=${P}", NULL, &out2);
  MTK_ASSERT(e2 == NULL);
  MTK_ASSERT_EQ(out2.len, 3);
  MTK_ASSERT_STREQ(out2.keys[0], "P");
  MTK_ASSERT_STREQ(out2.keys[1], "Z");
  MTK_ASSERT_STREQ(out2.vals[1], "pre");
  MTK_ASSERT_STREQ(out2.vals[2], "new");
  return 0;
}

static int test_quirks(void)
{
  mtk_autostrmap a = MTK_STRMAP_INIT, b = MTK_STRMAP_INIT, c = MTK_STRMAP_INIT;
  /* A last line without separator nor newline is the value of the empty key. */
  mtk_autofree char *e1 = parse_into("FOO", NULL, &a);
  MTK_ASSERT(e1 == NULL);
  MTK_ASSERT_EQ(a.len, 1);
  MTK_ASSERT_STREQ(a.keys[0], "");
  MTK_ASSERT_STREQ(a.vals[0], "FOO");
  /* YAML-style separator, export forms, text right after a closing quote. */
  mtk_autofree char *e2 = parse_into("A: b\nexport  C = d # e\nexport\nF=\"x\"y=z", NULL, &b);
  MTK_ASSERT(e2 == NULL);
  MTK_ASSERT_EQ(b.len, 4);
  MTK_ASSERT_STREQ(mtk_strmap_get(&b, "A", NULL), "b");
  MTK_ASSERT_STREQ(mtk_strmap_get(&b, "C", NULL), "d");
  MTK_ASSERT_STREQ(mtk_strmap_get(&b, "F", NULL), "x");
  MTK_ASSERT_STREQ(mtk_strmap_get(&b, "y", NULL), "z");
  /* Unicode letters and digits are key characters. */
  mtk_autofree char *e3 = parse_into("\xC3\xA9=1\nx\xD9\xA3=2", NULL, &c);
  MTK_ASSERT(e3 == NULL);
  MTK_ASSERT_STREQ(mtk_strmap_get(&c, "\xC3\xA9", NULL), "1");
  MTK_ASSERT_STREQ(mtk_strmap_get(&c, "x\xD9\xA3", NULL), "2");
  return 0;
}

static int test_escapes(void)
{
  mtk_autostrmap m = MTK_STRMAP_INIT;
  mtk_autofree char *e = parse_into(
      "A=\"\\0101|\\0400|\\0|\\01|\\c|\\$x|\\a|\\0377\"\nB='\\0101\\n'\nC=\\n", NULL, &m);
  MTK_ASSERT(e == NULL);
  /* A bad \0NNN loses its 0; \0377 is U+00FF in UTF-8. */
  MTK_ASSERT_STREQ(mtk_strmap_get(&m, "A", NULL), "A|\\400|\\|\\1|\\c|$x|\a|\xC3\xBF");
  MTK_ASSERT_STREQ(mtk_strmap_get(&m, "B", NULL), "\\0101\\n");
  MTK_ASSERT_STREQ(mtk_strmap_get(&m, "C", NULL), "\\n");
  return 0;
}

static int test_read_file(void)
{
  char dir[] = "/tmp/mtk-dotenv-XXXXXX";
  struct mtk_err *err = NULL;
  mtk_autostrmap m = MTK_STRMAP_INIT;
  MTK_ASSERT(mkdtemp(dir) != NULL);
  mtk_autofree char *path = mtk_xasprintf("%s/x.env", dir);
  mtk_autofree char *missing = mtk_xasprintf("%s/missing.env", dir);

  MTK_ASSERT(mtk_dotenv_read_file(missing, NULL, NULL, &m, &err) < 0);
  MTK_ASSERT_EQ(err->code, ENOENT);
  MTK_ASSERT_CONTAINS(err->msg, missing);
  mtk_err_free(&err);
  MTK_ASSERT(mtk_dotenv_read_file(dir, NULL, NULL, &m, &err) < 0);
  MTK_ASSERT_EQ(err->code, EISDIR);
  mtk_err_free(&err);

  FILE *f = fopen(path, "w");
  MTK_ASSERT(f != NULL);
  fputs("\xEF\xBB\xBFX=1\r\nY=\"two\r\nlines\"\r\nBAD LINE\n", f);
  fclose(f);
  int r = mtk_dotenv_read_file(path, NULL, NULL, &m, &err);
  mtk_autofree char *s = r < 0 ? mtk_err_format(err) : NULL;
  mtk_err_free(&err);
  unlink(path);
  rmdir(dir);
  MTK_ASSERT(r < 0);
  mtk_autofree char *want = mtk_xasprintf("%s:4: line 4: key cannot contain a space", path);
  MTK_ASSERT_STREQ(s, want);
  MTK_ASSERT_STREQ(mtk_strmap_get(&m, "X", NULL), "1");
  MTK_ASSERT_STREQ(mtk_strmap_get(&m, "Y", NULL), "two\r\nlines");
  return 0;
}

static int test_long_input(void)
{
  mtk_autostrbuf t = MTK_STRBUF_INIT;
  mtk_autostrmap m = MTK_STRMAP_INIT;
  enum { KEYS = 5000, VALUE_LINES = 50000 };
  /* Many keys, each referring to the one before. */
  mtk_strbuf_adds(&t, "K0=v\n");
  for (int i = 1; i < KEYS; i++)
    mtk_strbuf_addf(&t, "# comment %d\nexport K%d=${K%d}.\n", i, i, i - 1);
  /* A double-quoted value of many lines, then an error whose line number is checked. */
  mtk_strbuf_adds(&t, "BIG=\"");
  for (int i = 0; i < VALUE_LINES; i++)
    mtk_strbuf_adds(&t, "0123456789abcdef\\n\n");
  mtk_strbuf_adds(&t, "\"\nBAD KEY=1\n");
  mtk_autofree char *e = parse_into(mtk_strbuf_str(&t), NULL, &m);
  mtk_autofree char *want = mtk_xasprintf("%d|line %d: key cannot contain a space",
                                          2 * KEYS + VALUE_LINES + 1, 2 * KEYS + VALUE_LINES + 1);
  MTK_ASSERT_STREQ(e, want);
  MTK_ASSERT_EQ(m.len, KEYS + 1);
  const char *last = mtk_strmap_get(&m, "K4999", NULL);
  MTK_ASSERT(last && strlen(last) == 1 + KEYS - 1 && strncmp(last, "v....", 5) == 0);
  MTK_ASSERT_EQ(strlen(mtk_strmap_get(&m, "BIG", NULL)), (size_t) VALUE_LINES * 18);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"error messages and line numbers", test_error_lines},
      {"formatted error names file and line", test_error_format_names_file},
      {"unterminated quotes", test_unterminated_quotes},
      {"inherited keys and lookup order", test_inherited_and_lookup_order},
      {"compose-go quirks", test_quirks},
      {"escapes", test_escapes},
      {"read_file", test_read_file},
      {"long input", test_long_input},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
