/* Go regexp subset behind .dockerignore patterns (ignore_regexp.c) and the
 * int32_t view of Go's UTF-8 decoding both files share.  Private to build/. */
#ifndef MTK_BUILD_IGNORE_INT_H
#define MTK_BUILD_IGNORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/gostr.h"

#define MTK_IGNORE_RUNE_ERROR ((int32_t) MTK_UTF8_RUNE_ERROR)
#define MTK_IGNORE_MAX_RUNE 0x10FFFF

/* utf8.DecodeRuneInString (mtk_utf8_decode) for the int32_t runes of the
 * matchers: the rune at s and its width; an invalid or truncated sequence is
 * U+FFFD of width 1.  n must be > 0. */
static inline int mtk_ignore_utf8_decode(const char *s, size_t n, int32_t *r)
{
  uint32_t u;
  int w = (int) mtk_utf8_decode(s, n, &u);
  *r = (int32_t) u;
  return w;
}

/* A compiled Go regexp (regexp/syntax with the Perl flags). */
struct mtk_ignore_re;

/* regexp.Compile: the program, or NULL and *error (owned: Go's reason,
 * e.g. "missing closing ]: `[a$`").  Of the Unicode classes only the
 * one-letter categories (`\pL`, Go 1.19's Unicode 13 tables) and Any are
 * known; other names Go accepts (`\p{Greek}`, `\p{Lu}`) are refused. */
struct mtk_ignore_re *mtk_ignore_re_compile(const char *text, size_t len, char **error);
/* regexp.MatchString: whether the regexp matches anywhere in s[0, n). */
bool mtk_ignore_re_match(const struct mtk_ignore_re *re, const char *s, size_t n);
void mtk_ignore_re_free(struct mtk_ignore_re *re);

#endif
