/* The model as YAML text, written with the libyaml emitter: block style,
 * 2-space indent, keys sorted as in the JSON output, no line folding.
 * libyaml chooses quoting for syntax (": ", leading indicators, line
 * breaks) but not for meaning, so a string that a YAML 1.1 or 1.2 loader
 * would read as null, a boolean or a number ("true", "no", "8080", "1e3",
 * "20:30" (1.1 base 60), "2024-01-01") is written double-quoted here: the
 * output loads back as the same model. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* Plain scalars that do not resolve to strings under the YAML 1.2 core
 * schema or the YAML 1.1 types (go-yaml quotes the 1.1 ones as well). */
static const char *const non_string_patterns[] = {
    "^(~|null|Null|NULL)$",
    "^(true|True|TRUE|false|False|FALSE)$",
    "^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$",
    "^[-+]?[0-9][0-9_]*$",                                /* decimal, 1.1 octal with 0 */
    "^[-+]?0[oO][0-7_]+$",                                /* 1.2 octal */
    "^[-+]?0[xX][0-9a-fA-F_]+$",                          /* hexadecimal */
    "^[-+]?0[bB][01_]+$",                                 /* 1.1 binary */
    "^[-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+]?[0-9]+)?$", /* floats with a dot */
    "^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$",                 /* 1e3 */
    "^[-+]?\\.(inf|Inf|INF)$",
    "^\\.(nan|NaN|NAN)$",
    "^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?$", /* 1.1 base 60 */
    "^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",   /* 1.1 timestamps */
    "^(<<|=)$",                                        /* merge and value keys */
    NULL,
};

bool mtk_cli_yaml_needs_quotes(const char *s)
{
  static regex_t res[sizeof(non_string_patterns) / sizeof(non_string_patterns[0])];
  static bool compiled;
  if (!compiled) {
    for (size_t i = 0; non_string_patterns[i]; i++)
      if (regcomp(&res[i], non_string_patterns[i], REG_EXTENDED | REG_NOSUB) != 0)
        abort(); /* the patterns are constants: a failure is a bug */
    compiled = true;
  }
  if (s[0] == '\0')
    return true;
  for (size_t i = 0; non_string_patterns[i]; i++)
    if (regexec(&res[i], s, 0, NULL, 0) == 0)
      return true;
  return false;
}

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
  mtk_strbuf_add(data, (const char *) buffer, size);
  return 1;
}

static int emit(yaml_emitter_t *em, yaml_event_t *ev)
{
  return yaml_emitter_emit(em, ev) ? 0 : -1;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, size_t len, yaml_scalar_style_t style)
{
  yaml_event_t ev;
  if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) text, (int) len, 1, 1, style))
    return -1;
  return emit(em, &ev);
}

static int emit_string(yaml_emitter_t *em, const char *s, size_t len)
{
  yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
  bool multiline = memchr(s, '\n', len) != NULL;
  /* Text ending in a blank line (or only "\n") would need "|+", which
   * libyaml follows with a "..." document end: quote it instead. */
  bool keep = len > 0 && s[len - 1] == '\n' && (len == 1 || s[len - 2] == '\n');
  if (memchr(s, '\0', len) || mtk_cli_yaml_needs_quotes(s) || (multiline && keep))
    style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
  else if (multiline)
    style = YAML_LITERAL_SCALAR_STYLE; /* libyaml falls back to quotes when it must */
  return emit_scalar(em, s, len, style);
}

static int cmp_yaml_keys(const void *a, const void *b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int emit_node(yaml_emitter_t *em, json_t *v);

/* A real as YAML 1.1 reads it too: "1e-7" is a float only in YAML 1.2, so
 * an exponent without a dot gets one ("1.0e-7"). */
static void real_text(double d, char num[32])
{
  mtk_cli_format_real(d, num);
  char *e = strchr(num, 'e');
  if (e && !memchr(num, '.', (size_t) (e - num)) && strlen(num) + 3 < 32) {
    memmove(e + 2, e, strlen(e) + 1);
    e[0] = '.';
    e[1] = '0';
  }
}

static int emit_mapping(yaml_emitter_t *em, json_t *v)
{
  yaml_event_t ev;
  size_t n = json_object_size(v), i = 0;
  mtk_autofree const char **keys = mtk_xcalloc(n + 1, sizeof(*keys));
  const char *key;
  json_t *val;
  json_object_foreach(v, key, val) keys[i++] = key;
  qsort(keys, n, sizeof(*keys), cmp_yaml_keys);
  yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
  if (emit(em, &ev) < 0)
    return -1;
  for (i = 0; i < n; i++)
    if (emit_string(em, keys[i], strlen(keys[i])) < 0 ||
        emit_node(em, json_object_get(v, keys[i])) < 0)
      return -1;
  yaml_mapping_end_event_initialize(&ev);
  return emit(em, &ev);
}

static int emit_sequence(yaml_emitter_t *em, json_t *v)
{
  yaml_event_t ev;
  size_t i;
  json_t *item;
  yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
  if (emit(em, &ev) < 0)
    return -1;
  json_array_foreach(v, i, item) if (emit_node(em, item) < 0) return -1;
  yaml_sequence_end_event_initialize(&ev);
  return emit(em, &ev);
}

static int emit_node(yaml_emitter_t *em, json_t *v)
{
  char num[32];
  double d;
  switch (json_typeof(v)) {
    case JSON_OBJECT:
      return emit_mapping(em, v);
    case JSON_ARRAY:
      return emit_sequence(em, v);
    case JSON_STRING:
      return emit_string(em, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
      snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
      return emit_scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_REAL:
      d = json_real_value(v);
      if (isnan(d))
        snprintf(num, sizeof(num), ".nan");
      else if (isinf(d))
        snprintf(num, sizeof(num), d < 0 ? "-.inf" : ".inf");
      else
        real_text(d, num);
      return emit_scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_TRUE:
      return emit_scalar(em, "true", 4, YAML_PLAIN_SCALAR_STYLE);
    case JSON_FALSE:
      return emit_scalar(em, "false", 5, YAML_PLAIN_SCALAR_STYLE);
    case JSON_NULL:
      return emit_scalar(em, "null", 4, YAML_PLAIN_SCALAR_STYLE);
  }
  return -1;
}

static int emit_document(yaml_emitter_t *em, json_t *v)
{
  yaml_event_t ev;
  yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
  if (emit(em, &ev) < 0)
    return -1;
  yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
  if (emit(em, &ev) < 0 || emit_node(em, v) < 0)
    return -1;
  yaml_document_end_event_initialize(&ev, 1);
  if (emit(em, &ev) < 0)
    return -1;
  yaml_stream_end_event_initialize(&ev);
  if (emit(em, &ev) < 0)
    return -1;
  return yaml_emitter_flush(em) ? 0 : -1;
}

char *mtk_cli_yaml_dump(json_t *v, struct mtk_err **err)
{
  yaml_emitter_t em;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  if (!yaml_emitter_initialize(&em)) {
    mtk_err_set(err, ENOMEM, "cannot initialise the YAML emitter");
    return NULL;
  }
  yaml_emitter_set_output(&em, write_handler, &sb);
  yaml_emitter_set_unicode(&em, 1);
  yaml_emitter_set_indent(&em, 2);
  yaml_emitter_set_width(&em, -1); /* never fold long strings */
  int r = emit_document(&em, v);
  if (r < 0)
    mtk_err_set(err, MTK_E_GENERIC, "cannot write the model as YAML: %s",
                em.problem ? em.problem : "emitter error");
  yaml_emitter_delete(&em);
  if (r < 0)
    return NULL;
  return mtk_strbuf_steal(&sb);
}
