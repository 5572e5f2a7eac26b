/* Strings as Go sees them, for the parts of mtk that must behave byte for byte as the Go
 * programs they replace (compose-go, BuildKit's Dockerfile frontend, moby/patternmatcher):
 * UTF-8 decoding as package utf8 (an invalid or truncated sequence is U+FFFD of width 1),
 * the character classes and lower-case mapping of package unicode, strconv.Quote and
 * strconv.ParseBool, and the strings functions built on them.
 *
 * Unicode version: 15.0.0, the tables of Go 1.21 and later, with which compose-go and
 * BuildKit are built (unicode_tables.c, generated; see its header).  Text is (pointer,
 * length): it may hold NUL bytes. */
#ifndef MTK_UTIL_GOSTR_H
#define MTK_UTIL_GOSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mtk_strbuf;

#define MTK_UTF8_RUNE_ERROR 0xFFFDu /* utf8.RuneError */

/* utf8.DecodeRune on s[0..n) (n > 0): returns the width and sets *rune; an invalid or
   truncated sequence (also a surrogate or a code point past U+10FFFF) gives U+FFFD and 1. */
size_t mtk_utf8_decode(const char *s, size_t n, uint32_t *rune);
/* utf8.DecodeLastRune on s[0..n) (n > 0): the last rune and its width, U+FFFD and 1 when
   the bytes at the end are not one valid sequence. */
size_t mtk_utf8_decode_last(const char *s, size_t n, uint32_t *rune);
/* utf8.AppendRune / strings.Builder.WriteRune: r as UTF-8; a surrogate or a value past
   U+10FFFF is written as U+FFFD. */
void mtk_utf8_append(struct mtk_strbuf *sb, uint32_t r);

/* package unicode (and strconv.IsPrint, which is the same set). */
bool mtk_go_is_letter(uint32_t r);    /* IsLetter: category L */
bool mtk_go_is_digit(uint32_t r);     /* IsDigit: category Nd */
bool mtk_go_is_number(uint32_t r);    /* IsNumber: category N */
bool mtk_go_is_space(uint32_t r);     /* IsSpace: '\t' '\n' '\v' '\f' '\r' ' ', U+0085, U+00A0
                                         and the other White_Space code points */
bool mtk_go_is_print(uint32_t r);     /* IsPrint: L, M, N, P, S and U+0020 */
uint32_t mtk_go_to_lower(uint32_t r); /* ToLower (the simple mapping) */

/* strconv.Quote of s[0..n): ASCII escapes (\a \b \f \n \r \t \v \" \\, \xHH for other
   controls and DEL), printable runes as they are, other runes as \uHHHH or \UHHHHHHHH,
   every byte of invalid UTF-8 as \xHH.  mtk_go_quote returns an owned string;
   mtk_go_quote_append appends to sb. */
char *mtk_go_quote(const char *s, size_t n);
void mtk_go_quote_append(struct mtk_strbuf *sb, const char *s, size_t n);

/* strconv's unhex: the value of the hexadecimal digit c (0-9, a-f, A-F), -1 for anything
   else. */
int mtk_go_unhex(uint32_t c);

/* strconv.ParseBool: "1", "t", "T", "TRUE", "true", "True" and "0", "f", "F", "FALSE",
   "false", "False"; false (and *out untouched) for anything else. */
bool mtk_go_parse_bool(const char *s, bool *out);

/* strings.TrimLeftFunc(s, unicode.IsSpace): the bytes of white space at the start of
   s[0..n). */
size_t mtk_go_space_prefix(const char *s, size_t n);
/* strings.TrimRightFunc(s, unicode.IsSpace): the length of s[0..n) without its trailing
   white space. */
size_t mtk_go_trim_right_len(const char *s, size_t n);
/* strings.ToLower of s[0..n), appended to sb (invalid bytes come out as U+FFFD, as in Go,
   unless s is all ASCII). */
void mtk_go_lower_append(struct mtk_strbuf *sb, const char *s, size_t n);

#endif
