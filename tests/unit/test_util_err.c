/* Unit tests for struct mtk_err and the string buffer. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "mtk/err.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static int test_set_returns_negative(void)
{
  struct mtk_err *err = NULL;
  MTK_ASSERT(mtk_err_set(&err, 0, "zero") < 0);
  MTK_ASSERT_STREQ(err->msg, "zero");
  mtk_err_free(&err);
  MTK_ASSERT(err == NULL);
  MTK_ASSERT_EQ(mtk_err_set(&err, ENOENT, "x"), -ENOENT);
  mtk_err_free(&err);
  return 0;
}

static int test_first_cause_wins_and_wrap(void)
{
  struct mtk_err *err = NULL;
  mtk_err_set_at(&err, MTK_E_INVALID, "compose.yaml", 12, 5, "invalid port \"%s\"", "80:80:80");
  mtk_err_set(&err, ENOMEM, "later");
  mtk_err_wrap(&err, "services.web.ports[0]");
  mtk_autofree char *s = mtk_err_format(err);
  MTK_ASSERT_STREQ(s, "compose.yaml:12:5: services.web.ports[0]: invalid port \"80:80:80\"");
  MTK_ASSERT_EQ(mtk_err_exit_code(err), 15);
  mtk_err_free(&err);
  return 0;
}

/* A caller's own variadic error helper, as dotenv.c's fail() and mtk_node_err are. */
static int fail_at(struct mtk_err **err, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(struct mtk_err **err, const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = mtk_err_set_atv(err, MTK_E_INVALID, file, line, 0, fmt, ap);
  va_end(ap);
  return r;
}

static int test_set_atv(void)
{
  struct mtk_err *err = NULL;
  MTK_ASSERT(fail_at(&err, ".env", 3, "line %d: %s", 3, "bad key") < 0);
  mtk_autofree char *s = mtk_err_format(err);
  MTK_ASSERT_STREQ(s, ".env:3: line 3: bad key");
  MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
  /* The first cause wins, position included. */
  MTK_ASSERT(fail_at(&err, "other", 9, "%s", "later") < 0);
  MTK_ASSERT_STREQ(err->file, ".env");
  MTK_ASSERT_EQ(err->line, 3);
  MTK_ASSERT_STREQ(err->msg, "line 3: bad key");
  mtk_err_free(&err);
  MTK_ASSERT(fail_at(&err, NULL, 0, "no %s", "position") < 0);
  MTK_ASSERT(err->file == NULL);
  mtk_autofree char *s2 = mtk_err_format(err);
  MTK_ASSERT_STREQ(s2, "no position");
  mtk_err_free(&err);
  MTK_ASSERT(fail_at(NULL, "x", 1, "ignored") < 0); /* no place to store: still negative */
  return 0;
}

static int test_exit_codes(void)
{
  static const int codes[][2] = {{MTK_E_NOFILE, 14}, {MTK_E_USAGE, 16}, {MTK_E_BUILD, 17},
                                 {MTK_E_PULL, 18},   {MTK_E_INTR, 130}, {EACCES, 1}};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    struct mtk_err *err = NULL;
    mtk_err_set(&err, codes[i][0], "x");
    int got = mtk_err_exit_code(err);
    mtk_err_free(&err);
    MTK_ASSERT_EQ(got, codes[i][1]);
  }
  return 0;
}

static int test_strbuf(void)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  MTK_ASSERT_STREQ(mtk_strbuf_str(&sb), "");
  for (int i = 0; i < 100; i++)
    mtk_strbuf_addf(&sb, "%d,", i);
  MTK_ASSERT_EQ(sb.len, 290);
  mtk_strbuf_addc(&sb, 'x');
  MTK_ASSERT_EQ(sb.buf[sb.len - 1], 'x');
  mtk_autofree char *s = mtk_strbuf_steal(&sb);
  MTK_ASSERT_EQ(strlen(s), 291);
  MTK_ASSERT(sb.buf == NULL);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"set returns negative", test_set_returns_negative},
      {"first cause wins, wrap prefixes", test_first_cause_wins_and_wrap},
      {"set_atv: a va_list with a position", test_set_atv},
      {"exit codes", test_exit_codes},
      {"strbuf", test_strbuf},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
