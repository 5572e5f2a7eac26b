/* The JSON (exec) form of Dockerfile instructions: `CMD ["a", "b"]`, decoded as
 * BuildKit does with Go's encoding/json into a []any.  A text that is not valid
 * JSON (syntax as Go's scanner, nesting deeper than 10000, a number that does not
 * fit a float64) is not the JSON form and falls back to the shell form; a valid
 * array holding anything but strings is an error.  String values follow Go's
 * decoder: invalid UTF-8 and lone surrogates become U+FFFD, "\u0000" a NUL. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "build/dockerfile_int.h"
#include "util/cleanup.h"

#define MAX_DEPTH 10000 /* encoding/json maxNestingDepth */

struct jscan {
  const char *s; /* borrowed: the text */
  size_t n;      /* its length */
  size_t i;      /* current offset */
  bool overflow; /* a number does not fit a float64 (Go: UnmarshalTypeError) */
};

static void skip_ws(struct jscan *j)
{
  while (j->i < j->n &&
         (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
    j->i++;
}

/* A string starting at j->i (the opening quote); j->i ends after the closing one. */
static bool scan_string(struct jscan *j)
{
  j->i++;
  while (j->i < j->n) {
    unsigned char c = (unsigned char) j->s[j->i++];
    if (c == '"')
      return true;
    if (c < 0x20)
      return false;
    if (c != '\\')
      continue;
    if (j->i >= j->n)
      return false;
    c = (unsigned char) j->s[j->i++];
    if (c == 'u') {
      for (int k = 0; k < 4; k++)
        if (j->i >= j->n || mtk_go_unhex((unsigned char) j->s[j->i++]) < 0)
          return false;
    } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
      return false;
    }
  }
  return false;
}

static bool digit(struct jscan *j)
{
  return j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9';
}

static bool scan_number(struct jscan *j)
{
  size_t start = j->i;
  if (j->s[j->i] == '-')
    j->i++;
  if (!digit(j))
    return false;
  if (j->s[j->i] == '0')
    j->i++;
  else
    while (digit(j))
      j->i++;
  if (j->i < j->n && j->s[j->i] == '.') {
    j->i++;
    if (!digit(j))
      return false;
    while (digit(j))
      j->i++;
  }
  if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
    j->i++;
    if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-'))
      j->i++;
    if (!digit(j))
      return false;
    while (digit(j))
      j->i++;
  }
  mtk_autofree char *num = mtk_xstrndup(j->s + start, j->i - start);
  if (isinf(strtod(num, NULL)))
    j->overflow = true;
  return true;
}

static bool scan_scalar(struct jscan *j)
{
  static const char *const lits[] = {"true", "false", "null"};
  char c = j->s[j->i];
  if (c == '"')
    return scan_string(j);
  if (c == '-' || (c >= '0' && c <= '9'))
    return scan_number(j);
  for (size_t k = 0; k < 3; k++) {
    size_t l = strlen(lits[k]);
    if (j->n - j->i >= l && memcmp(j->s + j->i, lits[k], l) == 0) {
      j->i += l;
      return true;
    }
  }
  return false;
}

/* An object key and its colon. */
static bool scan_key(struct jscan *j)
{
  skip_ws(j);
  if (j->i >= j->n || j->s[j->i] != '"' || !scan_string(j))
    return false;
  skip_ws(j);
  if (j->i >= j->n || j->s[j->i] != ':')
    return false;
  j->i++;
  return true;
}

/* Validates the whole text as one JSON value (iteratively: nesting is bounded by
 * MAX_DEPTH, not by the C stack).  `is_str`, when set, receives for each element
 * of the top-level array whether it is a string; `count` their number. */
static bool validate(struct jscan *j, bool *is_str, size_t *count)
{
  mtk_autofree char *stack = mtk_xmalloc(MAX_DEPTH + 1);
  size_t depth = 0;
  *count = 0;
  for (;;) {
    /* A value is expected. */
    skip_ws(j);
    if (j->i >= j->n)
      return false;
    char c = j->s[j->i];
    if (depth == 1)
      is_str[(*count)++] = c == '"';
    if (c == '[' || c == '{') {
      if (depth == MAX_DEPTH)
        return false;
      stack[depth++] = c;
      j->i++;
      skip_ws(j);
      char close = c == '[' ? ']' : '}';
      if (j->i < j->n && j->s[j->i] == close) {
        j->i++;
        depth--;
      } else if (c == '{' && !scan_key(j)) {
        return false;
      } else {
        continue;
      }
    } else if (!scan_scalar(j)) {
      return false;
    }
    /* After a value: close containers, or find the next value. */
    for (;;) {
      skip_ws(j);
      if (depth == 0)
        return j->i == j->n;
      if (j->i >= j->n)
        return false;
      c = j->s[j->i++];
      char top = stack[depth - 1];
      if ((c == ']' && top == '[') || (c == '}' && top == '{')) {
        depth--;
        continue;
      }
      if (c != ',' || (top == '{' && !scan_key(j)))
        return false;
      break;
    }
  }
}

static int32_t getu4(const char *s, size_t n)
{
  if (n < 6 || s[0] != '\\' || s[1] != 'u')
    return -1;
  int32_t r = 0;
  for (int k = 2; k < 6; k++) {
    int h = mtk_go_unhex((unsigned char) s[k]);
    if (h < 0)
      return -1;
    r = r * 16 + h;
  }
  return r;
}

/* The value of the JSON string whose contents (between the quotes) are s. */
static void unquote(struct mtk_strbuf *sb, const char *s, size_t n)
{
  static const char esc_in[] = "\"\\/'bfnrt", esc_out[] = "\"\\/'\b\f\n\r\t";
  for (size_t r = 0; r < n;) {
    unsigned char c = (unsigned char) s[r];
    if (c == '\\' && r + 1 < n && s[r + 1] != 'u') {
      const char *e = strchr(esc_in, s[r + 1]);
      if (e && s[r + 1])
        mtk_strbuf_addc(sb, esc_out[e - esc_in]);
      r += 2;
    } else if (c == '\\') {
      int32_t rr = getu4(s + r, n - r);
      r += 6;
      if (rr >= 0xD800 && rr < 0xE000) {
        int32_t rr1 = getu4(s + r, n - r);
        if (rr < 0xDC00 && rr1 >= 0xDC00 && rr1 < 0xE000) {
          r += 6;
          mtk_utf8_append(sb, (uint32_t) (((rr - 0xD800) << 10 | (rr1 - 0xDC00)) + 0x10000));
          continue;
        }
        rr = MTK_UTF8_RUNE_ERROR;
      }
      mtk_utf8_append(sb, (uint32_t) rr); /* getu4's -1 too: U+FFFD */
    } else if (c < 0x80) {
      mtk_strbuf_addc(sb, (char) c);
      r++;
    } else {
      uint32_t rr;
      size_t w = mtk_utf8_decode(s + r, n - r, &rr);
      mtk_utf8_append(sb, rr);
      r += w;
    }
  }
}

/* The string elements of a validated top-level array, as an argument chain. */
static struct mtk_df_node *decode_strings(struct df_ctx *ctx, const char *s, size_t n)
{
  struct mtk_df_node *top = NULL, **tail = &top;
  struct jscan j = {s, n, 1, false};
  for (;;) {
    skip_ws(&j);
    if (j.s[j.i] == ']')
      return top;
    if (j.s[j.i] == ',') {
      j.i++;
      continue;
    }
    size_t start = j.i;
    scan_string(&j);
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    unquote(&sb, s + start + 1, j.i - start - 2);
    struct mtk_df_node *node = mtk_df_arena_alloc(ctx->arena, sizeof(*node));
    node->value = mtk_df_arena_strndup(ctx->arena, mtk_strbuf_str(&sb), sb.len);
    node->value_len = sb.len;
    *tail = node;
    tail = &node->next;
  }
}

int mtk_df_parse_json(struct df_ctx *ctx, const char *s, size_t n, struct mtk_df_node **out)
{
  size_t skip = mtk_go_space_prefix(s, n);
  s += skip, n -= skip;
  *out = NULL;
  if (n == 0 || s[0] != '[')
    return 0;
  /* At most one element per two bytes ("[1,2]"). */
  mtk_autofree bool *is_str = mtk_xmalloc(n / 2 + 1);
  size_t count;
  struct jscan j = {s, n, 0, false};
  if (!validate(&j, is_str, &count) || j.overflow)
    return 0;
  for (size_t k = 0; k < count; k++)
    if (!is_str[k]) {
      ctx->emsg = mtk_xstrdup("when using JSON array syntax, arrays must be comprised of strings "
                              "only");
      return -1;
    }
  *out = decode_strings(ctx, s, n);
  return 1;
}
