/* The model as JSON text: 2-space indent, object keys sorted by byte value,
 * a trailing newline, numbers as Go's encoding/json prints them (shortest
 * text that reads back, no exponent between 1e-6 and 1e21).  jansson's
 * json_dumps prints reals with 17 digits ("0.10000000000000001"), hence
 * this small writer. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

void mtk_cli_format_real(double d, char buf[32])
{
  if (isnan(d)) {
    snprintf(buf, 32, "NaN");
    return;
  }
  if (isinf(d)) {
    snprintf(buf, 32, d < 0 ? "-Inf" : "+Inf");
    return;
  }
  int prec = 1;
  for (; prec < 17; prec++) {
    snprintf(buf, 32, "%.*e", prec - 1, d);
    if (strtod(buf, NULL) == d)
      break;
  }
  snprintf(buf, 32, "%.*e", prec - 1, d);
  int exp10 = atoi(strchr(buf, 'e') + 1);
  double a = fabs(d);
  if (a == 0 || (a >= 1e-6 && a < 1e21)) {
    int decimals = prec - 1 - exp10;
    snprintf(buf, 32, "%.*f", decimals > 0 ? decimals : 0, d);
    return;
  }
  /* Exponent form without leading zeros in the exponent: 1e-07 -> 1e-7. */
  char *e = strchr(buf, 'e');
  char sign = e[1];
  char *digits = e + 2;
  while (digits[0] == '0' && digits[1] != '\0')
    digits++;
  memmove(e + 2, digits, strlen(digits) + 1);
  e[1] = sign;
}

static void add_string(struct mtk_strbuf *sb, const char *s, size_t len)
{
  mtk_strbuf_addc(sb, '"');
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char) s[i];
    switch (c) {
      case '"':
        mtk_strbuf_adds(sb, "\\\"");
        break;
      case '\\':
        mtk_strbuf_adds(sb, "\\\\");
        break;
      case '\n':
        mtk_strbuf_adds(sb, "\\n");
        break;
      case '\r':
        mtk_strbuf_adds(sb, "\\r");
        break;
      case '\t':
        mtk_strbuf_adds(sb, "\\t");
        break;
      case '\b':
        mtk_strbuf_adds(sb, "\\b");
        break;
      case '\f':
        mtk_strbuf_adds(sb, "\\f");
        break;
      default:
        if (c < 0x20)
          mtk_strbuf_addf(sb, "\\u%04x", c);
        else
          mtk_strbuf_addc(sb, (char) c);
    }
  }
  mtk_strbuf_addc(sb, '"');
}

static void indent(struct mtk_strbuf *sb, int depth)
{
  mtk_strbuf_addc(sb, '\n');
  for (int i = 0; i < depth; i++)
    mtk_strbuf_adds(sb, "  ");
}

static int cmp_json_keys(const void *a, const void *b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void add_value(struct mtk_strbuf *sb, json_t *v, int depth);

static void add_object(struct mtk_strbuf *sb, json_t *v, int depth)
{
  size_t n = json_object_size(v), i = 0;
  if (n == 0) {
    mtk_strbuf_adds(sb, "{}");
    return;
  }
  mtk_autofree const char **keys = mtk_xcalloc(n, sizeof(*keys));
  const char *key;
  json_t *val;
  json_object_foreach(v, key, val) keys[i++] = key;
  qsort(keys, n, sizeof(*keys), cmp_json_keys);
  mtk_strbuf_addc(sb, '{');
  for (i = 0; i < n; i++) {
    indent(sb, depth + 1);
    add_string(sb, keys[i], strlen(keys[i]));
    mtk_strbuf_adds(sb, ": ");
    add_value(sb, json_object_get(v, keys[i]), depth + 1);
    if (i + 1 < n)
      mtk_strbuf_addc(sb, ',');
  }
  indent(sb, depth);
  mtk_strbuf_addc(sb, '}');
}

static void add_array(struct mtk_strbuf *sb, json_t *v, int depth)
{
  size_t n = json_array_size(v);
  if (n == 0) {
    mtk_strbuf_adds(sb, "[]");
    return;
  }
  mtk_strbuf_addc(sb, '[');
  for (size_t i = 0; i < n; i++) {
    indent(sb, depth + 1);
    add_value(sb, json_array_get(v, i), depth + 1);
    if (i + 1 < n)
      mtk_strbuf_addc(sb, ',');
  }
  indent(sb, depth);
  mtk_strbuf_addc(sb, ']');
}

static void add_value(struct mtk_strbuf *sb, json_t *v, int depth)
{
  char num[32];
  switch (json_typeof(v)) {
    case JSON_OBJECT:
      add_object(sb, v, depth);
      break;
    case JSON_ARRAY:
      add_array(sb, v, depth);
      break;
    case JSON_STRING:
      add_string(sb, json_string_value(v), json_string_length(v));
      break;
    case JSON_INTEGER:
      mtk_strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
      break;
    case JSON_REAL:
      /* JSON has no NaN or infinity; Go refuses them, we print null. */
      if (!isfinite(json_real_value(v))) {
        mtk_strbuf_adds(sb, "null");
        break;
      }
      mtk_cli_format_real(json_real_value(v), num);
      mtk_strbuf_adds(sb, num);
      break;
    case JSON_TRUE:
      mtk_strbuf_adds(sb, "true");
      break;
    case JSON_FALSE:
      mtk_strbuf_adds(sb, "false");
      break;
    case JSON_NULL:
      mtk_strbuf_adds(sb, "null");
      break;
  }
}

char *mtk_cli_json_dump(json_t *v)
{
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  add_value(&sb, v, 0);
  mtk_strbuf_addc(&sb, '\n');
  return mtk_strbuf_steal(&sb);
}
