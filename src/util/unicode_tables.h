/* The Unicode tables behind util/gostr.h (generated into unicode_tables.c).  Private to
 * src/util/gostr.c: use the functions of gostr.h, not these arrays. */
#ifndef MTK_UTIL_UNICODE_TABLES_H
#define MTK_UTIL_UNICODE_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* Simple lower-case mapping: code points first, first + stride, ... up to last map to
   cp + delta. */
struct mtk_unicode_lower {
  uint32_t first, last; /* the code points covered */
  int32_t delta;        /* what is added to map one */
  uint32_t stride;      /* distance between mapped code points */
};

/* Sorted, disjoint, inclusive ranges [lo, hi] of code points. */
extern const uint32_t mtk_unicode_letter[][2]; /* general category L* */
extern const size_t mtk_unicode_letter_len;
extern const uint32_t mtk_unicode_digit[][2]; /* Nd */
extern const size_t mtk_unicode_digit_len;
extern const uint32_t mtk_unicode_number[][2]; /* N* */
extern const size_t mtk_unicode_number_len;
extern const uint32_t mtk_unicode_print[][2]; /* L* M* N* P* S* and U+0020 */
extern const size_t mtk_unicode_print_len;
extern const uint32_t mtk_unicode_space[][2]; /* White_Space */
extern const size_t mtk_unicode_space_len;
extern const struct mtk_unicode_lower mtk_unicode_lower[]; /* sorted by first */
extern const size_t mtk_unicode_lower_len;

#endif
