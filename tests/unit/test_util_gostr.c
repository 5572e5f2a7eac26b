/* Unit tests for the Go string helpers (src/util/gostr.c).  The expectations are what Go's
 * strconv.Quote, ParseBool, unicode and utf8 packages return for the same input (checked
 * with Go 1.19); the cases marked "Unicode 15" are characters Go 1.19 (Unicode 13) does not
 * know yet, as Go 1.21 and later classify them. */
#include "config.h"

#include <stdlib.h>

#include "tap.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strbuf.h"

static int quote_is(const char *s, size_t n, const char *want)
{
  mtk_autofree char *q = mtk_go_quote(s, n);
  MTK_ASSERT_STREQ(q, want);
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "x=");
  mtk_go_quote_append(&sb, s, n);
  mtk_autofree char *want2 = mtk_xasprintf("x=%s", want);
  MTK_ASSERT_STREQ(mtk_strbuf_str(&sb), want2);
  return 0;
}

#define QUOTE_IS(lit, want) MTK_ASSERT(quote_is(lit, sizeof(lit) - 1, want) == 0)

static int test_quote_ascii(void)
{
  QUOTE_IS("", "\"\"");
  QUOTE_IS("abc", "\"abc\"");
  QUOTE_IS("a\"b\\c'", "\"a\\\"b\\\\c'\"");
  QUOTE_IS("\a\b\f\n\r\t\v", "\"\\a\\b\\f\\n\\r\\t\\v\"");
  QUOTE_IS("\x00\x01\x1f\x7f", "\"\\x00\\x01\\x1f\\x7f\"");
  QUOTE_IS("a\0b", "\"a\\x00b\"");
  return 0;
}

static int test_quote_invalid_utf8(void)
{
  QUOTE_IS("\xff", "\"\\xff\"");
  QUOTE_IS("\xc3", "\"\\xc3\"");                            /* truncated */
  QUOTE_IS("\xc3(", "\"\\xc3(\"");                          /* bad continuation */
  QUOTE_IS("\xc0\x80", "\"\\xc0\\x80\"");                   /* overlong NUL */
  QUOTE_IS("\xe2\x82", "\"\\xe2\\x82\"");                   /* truncated 3-byte */
  QUOTE_IS("\xf4\x90\x80\x80", "\"\\xf4\\x90\\x80\\x80\""); /* past U+10FFFF */
  QUOTE_IS("\xef\xbf\xbd", "\"\xef\xbf\xbd\"");             /* a real U+FFFD is printable */
  return 0;
}

static int test_quote_surrogates(void)
{
  /* UTF-8 of U+D800 and U+DFFF (CESU-style) is invalid: every byte is escaped. */
  QUOTE_IS("\xed\xa0\x80", "\"\\xed\\xa0\\x80\"");
  QUOTE_IS("\xed\xbf\xbf", "\"\\xed\\xbf\\xbf\"");
  /* U+D7FB, the last letter before them, is printable; U+D7FF is unassigned. */
  QUOTE_IS("\xed\x9f\xbb\xed\x9f\xbf\xed\xbf\xbf", "\"\xed\x9f\xbb\\ud7ff\\xed\\xbf\\xbf\"");
  return 0;
}

static int test_quote_runes(void)
{
  QUOTE_IS("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
           "\"h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"");
  /* C1 control, NBSP, soft hyphen, line separator, zero-width space. */
  QUOTE_IS("\xc2\x80\xc2\xa0\xc2\xad\xe2\x80\xa8\xe2\x80\x8b",
           "\"\\u0080\\u00a0\\u00ad\\u2028\\u200b\"");
  /* Private use, a tag, the last code point, an unassigned one. */
  QUOTE_IS("\xee\x80\x80\xf3\xa0\x80\x81\xf4\x8f\xbf\xbf\xcd\xb8",
           "\"\\ue000\\U000e0001\\U0010ffff\\u0378\"");
  QUOTE_IS("\xc2\x85\xe3\x80\x80", "\"\\u0085\\u3000\"");
  /* Unicode 15: KAWI LETTER A (U+11F04) and SHAKING FACE (U+1FAE8) are printable;
     U+1FAE9 is still unassigned. */
  QUOTE_IS("\xf0\x91\xbc\x84\xf0\x9f\xab\xa8", "\"\xf0\x91\xbc\x84\xf0\x9f\xab\xa8\"");
  QUOTE_IS("\xf0\x9f\xab\xa9", "\"\\U0001fae9\"");
  return 0;
}

static int test_quote_bom(void)
{
  QUOTE_IS("\xef\xbb\xbfx", "\"\\ufeffx\"");
  QUOTE_IS("x\xef\xbb\xbf", "\"x\\ufeff\"");
  QUOTE_IS("\xc3\xa9\xff\xc2\xa0\xef\xbb\xbf", "\"\xc3\xa9\\xff\\u00a0\\ufeff\"");
  return 0;
}

static int test_decode(void)
{
  static const struct {
    const char *s;
    size_t n;
    uint32_t first, last;
    size_t wfirst, wlast;
  } cases[] = {
      {"a\xc3", 2, 'a', 0xFFFD, 1, 1},
      {"\xe6\x97\xa5", 3, 0x65E5, 0x65E5, 3, 3},
      {"\x97\xa5", 2, 0xFFFD, 0xFFFD, 1, 1},
      {"ab\xf0\x9f\x98\x80", 6, 'a', 0x1F600, 1, 4},
      {"\xf0\x9f\x98", 3, 0xFFFD, 0xFFFD, 1, 1},
      {"\xed\xa0\x80", 3, 0xFFFD, 0xFFFD, 1, 1},
      {"\xf4\x8f\xbf\xbf", 4, 0x10FFFF, 0x10FFFF, 4, 4},
      {"\0", 1, 0, 0, 1, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint32_t r;
    MTK_ASSERT_EQ(mtk_utf8_decode(cases[i].s, cases[i].n, &r), cases[i].wfirst);
    MTK_ASSERT_EQ(r, cases[i].first);
    MTK_ASSERT_EQ(mtk_utf8_decode_last(cases[i].s, cases[i].n, &r), cases[i].wlast);
    MTK_ASSERT_EQ(r, cases[i].last);
  }
  return 0;
}

static int test_append(void)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_utf8_append(&sb, 'a');
  mtk_utf8_append(&sb, 0xE9);
  mtk_utf8_append(&sb, 0x65E5);
  mtk_utf8_append(&sb, 0x1F600);
  mtk_utf8_append(&sb, 0xD800);   /* a surrogate: U+FFFD */
  mtk_utf8_append(&sb, 0x110000); /* past the end: U+FFFD */
  MTK_ASSERT_STREQ(mtk_strbuf_str(&sb),
                   "a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd");
  return 0;
}

static int test_classes(void)
{
  /* rune, IsLetter, IsDigit, IsNumber, IsSpace, IsPrint (Go 1.19's answers) */
  static const struct {
    uint32_t r;
    bool l, d, n, s, p;
  } cases[] = {
      {'a', 1, 0, 0, 0, 1},
      {'Z', 1, 0, 0, 0, 1},
      {'_', 0, 0, 0, 0, 1},
      {'7', 0, 1, 1, 0, 1},
      {' ', 0, 0, 0, 1, 1},
      {'\t', 0, 0, 0, 1, 0},
      {0x7F, 0, 0, 0, 0, 0},
      {0xE9, 1, 0, 0, 0, 1},
      {0x1C5, 1, 0, 0, 0, 1},
      {0x663, 0, 1, 1, 0, 1},
      {0xBD, 0, 0, 1, 0, 1},
      {0x2160, 0, 0, 1, 0, 1},
      {0x85, 0, 0, 0, 1, 0},
      {0xA0, 0, 0, 0, 1, 0},
      {0x3000, 0, 0, 0, 1, 0},
      {0x200B, 0, 0, 0, 0, 0},
      {0x1680, 0, 0, 0, 1, 0},
      {0x2FF, 0, 0, 0, 0, 1},
      {0x378, 0, 0, 0, 0, 0},
      {0xFFFFFFFF, 0, 0, 0, 0, 0},
      /* Unicode 15: KAWI LETTER A, NAG MUNDARI DIGIT ZERO. */
      {0x11F04, 1, 0, 0, 0, 1},
      {0x1E4F0, 0, 1, 1, 0, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint32_t r = cases[i].r;
    printf("# U+%04X\n", (unsigned) r);
    MTK_ASSERT_EQ(mtk_go_is_letter(r), cases[i].l);
    MTK_ASSERT_EQ(mtk_go_is_digit(r), cases[i].d);
    MTK_ASSERT_EQ(mtk_go_is_number(r), cases[i].n);
    MTK_ASSERT_EQ(mtk_go_is_space(r), cases[i].s);
    MTK_ASSERT_EQ(mtk_go_is_print(r), cases[i].p);
  }
  return 0;
}

static int test_to_lower(void)
{
  static const uint32_t cases[][2] = {
      {'A', 'a'},         {'a', 'a'},
      {0x1C5, 0x1C6},     {0x130, 'i'},
      {0x3A3, 0x3C3},     {0x1E9E, 0xDF},
      {0x10400, 0x10428}, {0xFF21, 0xFF41},
      {0x212A, 'k'},      {0x100, 0x101},
      {0x101, 0x101},     {0x12E, 0x12F},
      {0x2C2F, 0x2C5F},   /* Unicode 14 */ {0xD800, 0xD800},
      {0x1E921, 0x1E943},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    MTK_ASSERT_EQ(mtk_go_to_lower(cases[i][0]), cases[i][1]);
  return 0;
}

static int test_parse_bool(void)
{
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  static const char *const bad[] = {"yes", "tRUE", "", " true", "2", "on", "y", "falsE"};
  for (size_t i = 0; i < 6; i++) {
    bool b = false;
    MTK_ASSERT(mtk_go_parse_bool(yes[i], &b) && b);
    MTK_ASSERT(mtk_go_parse_bool(no[i], &b) && !b);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    bool b = true;
    MTK_ASSERT(!mtk_go_parse_bool(bad[i], &b));
    MTK_ASSERT(b); /* untouched */
  }
  return 0;
}

static int test_unhex(void)
{
  static const char digits[] = "0123456789abcdefABCDEF";
  static const int values[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                               11, 12, 13, 14, 15, 10, 11, 12, 13, 14, 15};
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
    MTK_ASSERT_EQ(mtk_go_unhex((unsigned char) digits[i]), values[i]);
  static const uint32_t bad[] = {'g', 'G', '/', ':', '@', '`', 0, 0xFF10, 0xFFFFFFFF};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    MTK_ASSERT_EQ(mtk_go_unhex(bad[i]), -1);
  return 0;
}

static int test_trim_and_lower(void)
{
  static const char left[] = "\xe3\x80\x80 \t\xc2\x85x y \xc2\xa0";
  static const char right[] = "\xe3\x80\x80 x y \xc2\xa0\xe2\x80\xa9\n";
  MTK_ASSERT_EQ(mtk_go_space_prefix(left, sizeof(left) - 1), 7);
  MTK_ASSERT_EQ(mtk_go_space_prefix("", 0), 0);
  MTK_ASSERT_EQ(mtk_go_trim_right_len(right, sizeof(right) - 1), 7);
  MTK_ASSERT_EQ(mtk_go_trim_right_len("x\xa0", 2), 2); /* a lone 0xA0 byte is not NBSP */
  MTK_ASSERT_EQ(mtk_go_trim_right_len(" \t", 2), 0);

  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_go_lower_append(&sb, "RUN", 3);
  mtk_strbuf_addc(&sb, '|');
  mtk_go_lower_append(&sb,
                      "\xc3\x80"
                      "B\xff\xce\xa3",
                      6);
  MTK_ASSERT_STREQ(mtk_strbuf_str(&sb), "run|\xc3\xa0"
                                        "b\xef\xbf\xbd\xcf\x83");
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"quote_ascii", test_quote_ascii},
      {"quote_invalid_utf8", test_quote_invalid_utf8},
      {"quote_surrogates", test_quote_surrogates},
      {"quote_runes", test_quote_runes},
      {"quote_bom", test_quote_bom},
      {"decode", test_decode},
      {"append", test_append},
      {"classes", test_classes},
      {"to_lower", test_to_lower},
      {"parse_bool", test_parse_bool},
      {"unhex", test_unhex},
      {"trim_and_lower", test_trim_and_lower},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
