/* Unit tests for the interpolation engine (src/compose/interp.c): what the shared vectors do
 * not cover — lazy evaluation, the template an invalid-template error names, multi-line
 * templates, Go case folding in names, very long and deeply nested input, Go quoting. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose/interp.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strbuf.h"
#include "util/strmap.h"

/* A lookup over a map that records every name asked for. */
struct spy {
  struct mtk_strmap env;  /* the variables */
  struct mtk_strbuf seen; /* names asked for, each followed by ';' */
};

static const char *spy_lookup(const char *name, void *ud)
{
  struct spy *s = ud;
  mtk_strbuf_addf(&s->seen, "%s;", name);
  return mtk_strmap_get(&s->env, name, NULL);
}

static void spy_free(struct spy *s)
{
  mtk_strmap_free(&s->env);
  mtk_strbuf_free(&s->seen);
}

#define SPY_INIT                                                                                   \
  {                                                                                                \
    MTK_STRMAP_INIT, MTK_STRBUF_INIT                                                               \
  }
#define mtk_autospy __attribute__((cleanup(spy_free))) struct spy

/* Substitutes with env "A=a, E=''" and returns the result or "ERR:<msg>". */
static char *sub(const char *t)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  struct mtk_err *err = NULL;
  mtk_strmap_set(&env, "A", "a");
  mtk_strmap_set(&env, "E", "");
  mtk_strmap_set(&env, "NUL", NULL);
  char *r = mtk_interp_substitute(t, mtk_interp_strmap_lookup, &env, &err);
  if (!r) {
    r = mtk_xasprintf("ERR:%s", err->msg);
    mtk_err_free(&err);
  }
  return r;
}

static int test_lazy_defaults(void)
{
  mtk_autospy s = SPY_INIT;
  struct mtk_err *err = NULL;
  mtk_strmap_set(&s.env, "A", "a");

  /* A used default is looked at; an unused one is not, even when it would fail. */
  mtk_autofree char *r1 = mtk_interp_substitute("${A:-${B:?never}}", spy_lookup, &s, &err);
  MTK_ASSERT_STREQ(r1, "a");
  MTK_ASSERT_STREQ(mtk_strbuf_str(&s.seen), "A;");
  mtk_strbuf_reset(&s.seen);
  mtk_autofree char *r2 = mtk_interp_substitute("${U:+${B:?never} $C}x", spy_lookup, &s, &err);
  MTK_ASSERT_STREQ(r2, "x");
  MTK_ASSERT_STREQ(mtk_strbuf_str(&s.seen), "U;");
  mtk_strbuf_reset(&s.seen);
  mtk_autofree char *r3 = mtk_interp_substitute("${A:?${B}} ${U-${C}}", spy_lookup, &s, &err);
  MTK_ASSERT_STREQ(r3, "a ");
  MTK_ASSERT_STREQ(mtk_strbuf_str(&s.seen), "A;U;C;");
  MTK_ASSERT(err == NULL);
  return 0;
}

static int test_first_error_stops(void)
{
  mtk_autospy s = SPY_INIT;
  struct mtk_err *err = NULL;
  /* The first missing variable is reported and nothing after it is evaluated. */
  char *r = mtk_interp_substitute("${X:?first} ${Y:?second} $Z", spy_lookup, &s, &err);
  MTK_ASSERT(r == NULL);
  MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
  MTK_ASSERT_STREQ(err->msg, "required variable X is missing a value: first");
  MTK_ASSERT_STREQ(mtk_strbuf_str(&s.seen), "X;");
  mtk_err_free(&err);
  return 0;
}

static int test_required_messages(void)
{
  mtk_autofree char *a = sub("${U?}");
  mtk_autofree char *b = sub("${E:?}");
  mtk_autofree char *c = sub("${E:?is ${A}${U:-!}}");
  mtk_autofree char *d = sub("${E?}${NUL:-null is unset}");
  MTK_ASSERT_STREQ(a, "ERR:required variable U is missing a value");
  MTK_ASSERT_STREQ(b, "ERR:required variable E is missing a value");
  MTK_ASSERT_STREQ(c, "ERR:required variable E is missing a value: is a!");
  MTK_ASSERT_STREQ(d, "null is unset");
  return 0;
}

/* The template an invalid-template error names is the innermost one. */
static int test_invalid_names_subtemplate(void)
{
  static const char *const cases[][2] = {
      {"x ${", "x ${"},
      {"${A:-x} ${ }", " ${ }"},  /* the rest after the cut */
      {"${U:-a ${!}}", "a ${!}"}, /* a used default */
      {"${U:-${U:-${}}}", "${}"}, /* nested defaults */
      {"${A:-x\n}", "${A:-x\n}"}, /* `.` does not cross lines */
      {"ok\n${A}${", "ok\n${A}${"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct mtk_err *err = NULL;
    char *bad = NULL;
    char *r = mtk_interp_substitute_ex(cases[i][0], NULL, NULL, &bad, &err);
    MTK_ASSERT(r == NULL);
    MTK_ASSERT_STREQ(bad, cases[i][1]);
    mtk_autofree char *q = mtk_go_quote(bad, strlen(bad));
    mtk_autofree char *want = mtk_xasprintf("Invalid template: %s", q);
    MTK_ASSERT_STREQ(err->msg, want);
    MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
    free(bad);
    mtk_err_free(&err);
  }
  /* An unused default is not checked, so it may be invalid. */
  mtk_autofree char *ok = sub("${A:-${}}");
  MTK_ASSERT_STREQ(ok, "a");
  return 0;
}

static int test_greedy_line_and_cut(void)
{
  /* The braced match runs to the last `}` of its line, then is cut at the closing brace. */
  mtk_autofree char *a = sub("${U:-x}y}\n${A}}");
  mtk_autofree char *b = sub("${U:-{}}");
  mtk_autofree char *c = sub("${U:-{a}b}c}");
  mtk_autofree char *d = sub("$A$$A$${A}$-$1$");
  mtk_autofree char *e = sub("${A}${E-d}${U+p}${E:+q}${A+r}");
  MTK_ASSERT_STREQ(a, "xy}\na}");
  MTK_ASSERT_STREQ(b, "{}");
  MTK_ASSERT_STREQ(c, "{a}bc}");
  MTK_ASSERT_STREQ(d, "a$A${A}$-$1$");
  MTK_ASSERT_STREQ(e, "ar");
  return 0;
}

static int test_go_case_folding(void)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  struct mtk_err *err = NULL;
  /* Go's (?i)[a-z] also matches U+017F and U+212A, so they are name characters. */
  mtk_strmap_set(&env, "x\xC5\xBF", "long-s");
  mtk_strmap_set(&env, "\xE2\x84\xAA", "kelvin");
  mtk_autofree char *r = mtk_interp_substitute("$x\xC5\xBF ${\xE2\x84\xAA} $\xC3\xA9",
                                               mtk_interp_strmap_lookup, &env, &err);
  MTK_ASSERT_STREQ(r, "long-s kelvin $\xC3\xA9");
  return 0;
}

static int test_null_lookup_and_empty(void)
{
  struct mtk_err *err = NULL;
  mtk_autofree char *a = mtk_interp_substitute("", NULL, NULL, &err);
  mtk_autofree char *b = mtk_interp_substitute("$X${Y}${Z:-d}", NULL, NULL, &err);
  MTK_ASSERT_STREQ(a, "");
  MTK_ASSERT_STREQ(b, "d");
  MTK_ASSERT(err == NULL);
  return 0;
}

static int test_long_flat_input(void)
{
  mtk_autostrbuf t = MTK_STRBUF_INIT, want = MTK_STRBUF_INIT;
  struct mtk_err *err = NULL;
  clock_t t0 = clock();
  /* 100000 operator expressions on one line: each cut leaves the rest of the line. */
  for (int i = 0; i < 100000; i++) {
    mtk_strbuf_adds(&t, i % 2 ? "${U:-x}-" : "${A:+y}$A");
    mtk_strbuf_adds(&want, i % 2 ? "x-" : "ya");
  }
  mtk_autofree char *r = mtk_interp_substitute(mtk_strbuf_str(&t), NULL, NULL, &err);
  MTK_ASSERT(r != NULL);
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_strmap_set(&env, "A", "a");
  mtk_autofree char *r2 =
      mtk_interp_substitute(mtk_strbuf_str(&t), mtk_interp_strmap_lookup, &env, &err);
  MTK_ASSERT_STREQ(r2, mtk_strbuf_str(&want));
  /* 4 MiB without any `$`. */
  mtk_autofree char *plain = mtk_xmalloc(4u << 20);
  memset(plain, 'p', (4u << 20) - 1);
  plain[(4u << 20) - 1] = '\0';
  mtk_autofree char *r3 = mtk_interp_substitute(plain, NULL, NULL, &err);
  MTK_ASSERT(r3 && strcmp(r3, plain) == 0);
  MTK_ASSERT((clock() - t0) / CLOCKS_PER_SEC < 20);
  return 0;
}

static int test_deep_nesting(void)
{
  mtk_autostrbuf t = MTK_STRBUF_INIT;
  struct mtk_err *err = NULL;
  enum { DEPTH = 5000 };
  /* ${U:-${U:-...${U:-deep}...}}: every level's default is used. */
  for (int i = 0; i < DEPTH; i++)
    mtk_strbuf_adds(&t, "${U:-");
  mtk_strbuf_adds(&t, "deep");
  for (int i = 0; i < DEPTH; i++)
    mtk_strbuf_addc(&t, '}');
  mtk_autofree char *r = mtk_interp_substitute(mtk_strbuf_str(&t), NULL, NULL, &err);
  MTK_ASSERT_STREQ(r, "deep");
  /* The same with a required variable at the bottom fails with its message. */
  mtk_strbuf_reset(&t);
  for (int i = 0; i < DEPTH; i++)
    mtk_strbuf_adds(&t, "${U:-");
  mtk_strbuf_adds(&t, "${R:?bottom}");
  for (int i = 0; i < DEPTH; i++)
    mtk_strbuf_addc(&t, '}');
  char *r2 = mtk_interp_substitute(mtk_strbuf_str(&t), NULL, NULL, &err);
  MTK_ASSERT(r2 == NULL);
  MTK_ASSERT_STREQ(err->msg, "required variable R is missing a value: bottom");
  mtk_err_free(&err);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"lazy defaults are not evaluated when unused", test_lazy_defaults},
      {"the first error stops evaluation", test_first_error_stops},
      {"required-variable messages", test_required_messages},
      {"invalid template names the innermost template", test_invalid_names_subtemplate},
      {"greedy braced match and brace cut", test_greedy_line_and_cut},
      {"Go case folding in names", test_go_case_folding},
      {"NULL lookup and empty template", test_null_lookup_and_empty},
      {"long flat input", test_long_flat_input},
      {"deep nesting", test_deep_nesting},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
