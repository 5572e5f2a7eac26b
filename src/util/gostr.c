/* Go-compatible string helpers (see gostr.h): UTF-8 as package utf8, the classes of
 * package unicode looked up in the generated tables of unicode_tables.c, strconv.Quote and
 * ParseBool, and strings.TrimLeftFunc / TrimRightFunc / ToLower. */
#include "config.h"

#include <string.h>

#include "util/gostr.h"
#include "util/strbuf.h"
#include "util/unicode_tables.h"

size_t mtk_utf8_decode(const char *str, size_t n, uint32_t *rune)
{
  const unsigned char *s = (const unsigned char *) str;
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t w;
  uint32_t r;

  *rune = MTK_UTF8_RUNE_ERROR;
  if (c < 0x80) {
    *rune = c;
    return 1;
  }
  /* Go's utf8.first / acceptRanges: the width from the first byte and the valid range of
     the second (which excludes overlong forms, surrogates and code points past U+10FFFF). */
  if (c >= 0xC2 && c <= 0xDF)
    w = 2, r = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    w = 3, r = c & 0x0F, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4)
    w = 4, r = c & 0x07, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
  else
    return 1;
  if (n < w || s[1] < lo || s[1] > hi)
    return 1;
  r = (r << 6) | (s[1] & 0x3F);
  for (size_t i = 2; i < w; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 1;
    r = (r << 6) | (s[i] & 0x3F);
  }
  *rune = r;
  return w;
}

size_t mtk_utf8_decode_last(const char *str, size_t n, uint32_t *rune)
{
  const unsigned char *s = (const unsigned char *) str;
  if (s[n - 1] < 0x80) {
    *rune = s[n - 1];
    return 1;
  }
  /* Look back at most 4 bytes (utf8.UTFMax) for a byte that can start a sequence. */
  size_t lim = n >= 4 ? n - 4 : 0, start = n - 1;
  while (start > lim && (s[start] & 0xC0) == 0x80)
    start--;
  size_t w = mtk_utf8_decode(str + start, n - start, rune);
  if (start + w != n) {
    *rune = MTK_UTF8_RUNE_ERROR;
    return 1;
  }
  return w;
}

void mtk_utf8_append(struct mtk_strbuf *sb, uint32_t r)
{
  char b[4];
  if ((r >= 0xD800 && r <= 0xDFFF) || r > 0x10FFFF)
    r = MTK_UTF8_RUNE_ERROR;
  if (r < 0x80) {
    mtk_strbuf_addc(sb, (char) r);
  } else if (r < 0x800) {
    b[0] = (char) (0xC0 | (r >> 6)), b[1] = (char) (0x80 | (r & 0x3F));
    mtk_strbuf_add(sb, b, 2);
  } else if (r < 0x10000) {
    b[0] = (char) (0xE0 | (r >> 12)), b[1] = (char) (0x80 | ((r >> 6) & 0x3F));
    b[2] = (char) (0x80 | (r & 0x3F));
    mtk_strbuf_add(sb, b, 3);
  } else {
    b[0] = (char) (0xF0 | (r >> 18)), b[1] = (char) (0x80 | ((r >> 12) & 0x3F));
    b[2] = (char) (0x80 | ((r >> 6) & 0x3F)), b[3] = (char) (0x80 | (r & 0x3F));
    mtk_strbuf_add(sb, b, 4);
  }
}

/* Binary search of r in sorted, disjoint, inclusive ranges. */
static bool in_ranges(const uint32_t (*t)[2], size_t n, uint32_t r)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r < t[mid][0])
      hi = mid;
    else if (r > t[mid][1])
      lo = mid + 1;
    else
      return true;
  }
  return false;
}

bool mtk_go_is_letter(uint32_t r)
{
  if (r < 0x80)
    return (r | 0x20) >= 'a' && (r | 0x20) <= 'z';
  return in_ranges(mtk_unicode_letter, mtk_unicode_letter_len, r);
}

bool mtk_go_is_digit(uint32_t r)
{
  if (r < 0x80)
    return r >= '0' && r <= '9';
  return in_ranges(mtk_unicode_digit, mtk_unicode_digit_len, r);
}

bool mtk_go_is_number(uint32_t r)
{
  if (r < 0x80)
    return r >= '0' && r <= '9';
  return in_ranges(mtk_unicode_number, mtk_unicode_number_len, r);
}

bool mtk_go_is_space(uint32_t r)
{
  if (r < 0x80)
    return r == ' ' || (r >= '\t' && r <= '\r');
  return in_ranges(mtk_unicode_space, mtk_unicode_space_len, r);
}

bool mtk_go_is_print(uint32_t r)
{
  if (r < 0x80)
    return r >= 0x20 && r < 0x7F;
  return in_ranges(mtk_unicode_print, mtk_unicode_print_len, r);
}

uint32_t mtk_go_to_lower(uint32_t r)
{
  if (r < 0x80)
    return r >= 'A' && r <= 'Z' ? r + 32 : r;
  size_t lo = 0, hi = mtk_unicode_lower_len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct mtk_unicode_lower *e = &mtk_unicode_lower[mid];
    if (r < e->first)
      hi = mid;
    else if (r > e->last)
      lo = mid + 1;
    else
      return (r - e->first) % e->stride == 0 ? (uint32_t) ((int64_t) r + e->delta) : r;
  }
  return r;
}

/* strconv's appendEscapedRune for a rune that is not printable (and not `"` or `\`). */
static void quote_rune(struct mtk_strbuf *sb, uint32_t r)
{
  static const char named[] = "\a\b\f\n\r\t\v", letters[] = "abfnrtv";
  const char *esc = r && r < 0x80 ? strchr(named, (int) r) : NULL;
  if (esc)
    mtk_strbuf_addf(sb, "\\%c", letters[esc - named]);
  else if (r < ' ' || r == 0x7F)
    mtk_strbuf_addf(sb, "\\x%02x", (unsigned) r);
  else if (r < 0x10000)
    mtk_strbuf_addf(sb, "\\u%04x", (unsigned) r);
  else
    mtk_strbuf_addf(sb, "\\U%08x", (unsigned) r);
}

void mtk_go_quote_append(struct mtk_strbuf *sb, const char *s, size_t n)
{
  mtk_strbuf_addc(sb, '"');
  for (size_t i = 0; i < n;) {
    /* Runs of printable ASCII other than '"' and '\\' are copied as they are. */
    size_t run = i;
    while (run < n && s[run] >= 0x20 && s[run] < 0x7F && s[run] != '"' && s[run] != '\\')
      run++;
    if (run > i) {
      mtk_strbuf_add(sb, s + i, run - i);
      i = run;
      continue;
    }
    uint32_t r;
    size_t w = mtk_utf8_decode(s + i, n - i, &r);
    if (w == 1 && r == MTK_UTF8_RUNE_ERROR)
      mtk_strbuf_addf(sb, "\\x%02x", (unsigned char) s[i]);
    else if (r == '"' || r == '\\')
      mtk_strbuf_addf(sb, "\\%c", (char) r);
    else if (mtk_go_is_print(r))
      mtk_strbuf_add(sb, s + i, w);
    else
      quote_rune(sb, r);
    i += w;
  }
  mtk_strbuf_addc(sb, '"');
}

char *mtk_go_quote(const char *s, size_t n)
{
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  mtk_go_quote_append(&sb, s, n);
  return mtk_strbuf_steal(&sb);
}

int mtk_go_unhex(uint32_t c)
{
  if (c >= '0' && c <= '9')
    return (int) (c - '0');
  if (c >= 'a' && c <= 'f')
    return (int) (c - 'a' + 10);
  if (c >= 'A' && c <= 'F')
    return (int) (c - 'A' + 10);
  return -1;
}

bool mtk_go_parse_bool(const char *s, bool *out)
{
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    if (strcmp(s, yes[i]) == 0)
      return *out = true, true;
    if (strcmp(s, no[i]) == 0)
      return *out = false, true;
  }
  return false;
}

size_t mtk_go_space_prefix(const char *s, size_t n)
{
  size_t i = 0;
  while (i < n) {
    uint32_t r;
    size_t w = mtk_utf8_decode(s + i, n - i, &r);
    if (!mtk_go_is_space(r))
      break;
    i += w;
  }
  return i;
}

size_t mtk_go_trim_right_len(const char *s, size_t n)
{
  while (n > 0) {
    uint32_t r;
    size_t w = mtk_utf8_decode_last(s, n, &r);
    if (!mtk_go_is_space(r))
      break;
    n -= w;
  }
  return n;
}

void mtk_go_lower_append(struct mtk_strbuf *sb, const char *s, size_t n)
{
  size_t ascii = 0;
  while (ascii < n && (unsigned char) s[ascii] < 0x80)
    ascii++;
  if (ascii == n) {
    size_t start = sb->len;
    mtk_strbuf_add(sb, s, n);
    for (size_t i = start; i < sb->len; i++)
      if (sb->buf[i] >= 'A' && sb->buf[i] <= 'Z')
        sb->buf[i] = (char) (sb->buf[i] + 32);
    return;
  }
  for (size_t i = 0; i < n;) {
    uint32_t r;
    i += mtk_utf8_decode(s + i, n - i, &r);
    mtk_utf8_append(sb, mtk_go_to_lower(r));
  }
}
