/* The compose document tree (node.h): construction, YAML 1.2 core-schema
 * resolution of plain scalars, scalars as compose-go's decoding reads them
 * (text, booleans), map/sequence access, copies, JSON conversion and
 * positioned errors. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compose/node.h"
#include "compose/values.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strbuf.h"

/* File names are few and live as long as the process: a small list. */
struct interned {
  struct interned *next;
  char s[];
};
static struct interned *interned;

const char *mtk_node_intern(const char *s)
{
  if (s == NULL)
    return NULL;
  for (struct interned *i = interned; i; i = i->next)
    if (strcmp(i->s, s) == 0)
      return i->s;
  size_t n = strlen(s);
  struct interned *i = mtk_xmalloc(sizeof(*i) + n + 1);
  memcpy(i->s, s, n + 1);
  i->next = interned;
  interned = i;
  return i->s;
}

static struct mtk_node *alloc(enum mtk_node_kind kind, const struct mtk_node *at)
{
  struct mtk_node *n = mtk_xcalloc(1, sizeof(*n));
  n->kind = kind;
  if (at) {
    n->file = at->file;
    n->line = at->line;
    n->col = at->col;
  }
  return n;
}

struct mtk_node *mtk_node_new_map(const struct mtk_node *at)
{
  return alloc(MTK_NODE_MAP, at);
}

struct mtk_node *mtk_node_new_seq(const struct mtk_node *at)
{
  return alloc(MTK_NODE_SEQ, at);
}

struct mtk_node *mtk_node_new_str(const char *s, const struct mtk_node *at)
{
  struct mtk_node *n = alloc(MTK_NODE_SCALAR, at);
  n->type = MTK_SCALAR_STR;
  n->str = mtk_xstrdup(s);
  return n;
}

struct mtk_node *mtk_node_new_null(const struct mtk_node *at)
{
  struct mtk_node *n = alloc(MTK_NODE_SCALAR, at);
  n->type = MTK_SCALAR_NULL;
  n->str = mtk_xstrdup("");
  return n;
}

struct mtk_node *mtk_node_new_bool(bool b, const struct mtk_node *at)
{
  struct mtk_node *n = alloc(MTK_NODE_SCALAR, at);
  n->type = MTK_SCALAR_BOOL;
  n->ival = b;
  n->str = mtk_xstrdup(b ? "true" : "false");
  return n;
}

struct mtk_node *mtk_node_new_int(int64_t v, const struct mtk_node *at)
{
  struct mtk_node *n = alloc(MTK_NODE_SCALAR, at);
  n->type = MTK_SCALAR_INT;
  n->ival = v;
  n->str = mtk_xasprintf("%lld", (long long) v);
  return n;
}

struct mtk_node *mtk_node_new_float(double v, const struct mtk_node *at)
{
  struct mtk_node *n = alloc(MTK_NODE_SCALAR, at);
  n->type = MTK_SCALAR_FLOAT;
  n->fval = v;
  n->str = mtk_xasprintf("%.17g", v);
  return n;
}

/* Go's strconv.ParseInt(s, 0, 64) after go-yaml removed every '_':
 * optional sign, then 0x/0o/0b prefixes or a leading 0 for octal. */
static bool parse_go_int(const char *s, int64_t *out)
{
  bool neg = false;
  if (*s == '+' || *s == '-')
    neg = *s++ == '-';
  int base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    base = 16, s += 2;
  else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
    base = 8, s += 2;
  else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
    base = 2, s += 2;
  else if (s[0] == '0' && s[1] != '\0')
    base = 8, s += 1;
  if (*s == '\0')
    return false;
  uint64_t v = 0;
  for (; *s; s++) {
    int d;
    if (*s >= '0' && *s <= '9')
      d = *s - '0';
    else if (*s >= 'a' && *s <= 'f')
      d = *s - 'a' + 10;
    else if (*s >= 'A' && *s <= 'F')
      d = *s - 'A' + 10;
    else
      return false;
    if (d >= base)
      return false;
    if (v > (UINT64_MAX - (uint64_t) d) / (uint64_t) base)
      return false;
    v = v * (uint64_t) base + (uint64_t) d;
  }
  if (neg ? v > (uint64_t) INT64_MAX + 1 : v > (uint64_t) INT64_MAX)
    return false;
  *out = neg ? (int64_t) (0 - v) : (int64_t) v;
  return true;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_float(const char *s)
{
  if (*s == '+' || *s == '-')
    s++;
  if (*s == '.') {
    s++;
    if (!(*s >= '0' && *s <= '9'))
      return false;
    while (*s >= '0' && *s <= '9')
      s++;
  } else {
    if (!(*s >= '0' && *s <= '9'))
      return false;
    while (*s >= '0' && *s <= '9')
      s++;
    if (*s == '.') {
      s++;
      while (*s >= '0' && *s <= '9')
        s++;
    }
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-')
      s++;
    if (!(*s >= '0' && *s <= '9'))
      return false;
    while (*s >= '0' && *s <= '9')
      s++;
  }
  return *s == '\0';
}

static bool one_of(const char *s, const char *const *list)
{
  for (; *list; list++)
    if (strcmp(s, *list) == 0)
      return true;
  return false;
}

struct mtk_node *mtk_node_new_plain(const char *s, const struct mtk_node *at)
{
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
  static const char *const trues[] = {"true", "True", "TRUE", NULL};
  static const char *const falses[] = {"false", "False", "FALSE", NULL};
  static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
  static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF", NULL};
  static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
  struct mtk_node *n = mtk_node_new_str(s, at);
  if (one_of(s, nulls)) {
    n->type = MTK_SCALAR_NULL;
    return n;
  }
  if (one_of(s, trues) || one_of(s, falses)) {
    n->type = MTK_SCALAR_BOOL;
    n->ival = one_of(s, trues);
    return n;
  }
  if (one_of(s, infs) || one_of(s, ninfs) || one_of(s, nans)) {
    n->type = MTK_SCALAR_FLOAT;
    n->fval = one_of(s, nans) ? NAN : one_of(s, infs) ? INFINITY : -INFINITY;
    return n;
  }
  char c = s[0];
  if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
    return n;
  mtk_autofree char *plain = mtk_xmalloc(strlen(s) + 1);
  char *p = plain;
  for (const char *q = s; *q; q++)
    if (*q != '_')
      *p++ = *q;
  *p = '\0';
  int64_t iv;
  if (parse_go_int(plain, &iv)) {
    n->type = MTK_SCALAR_INT;
    n->ival = iv;
  } else if (is_yaml_float(plain)) {
    n->type = MTK_SCALAR_FLOAT;
    n->fval = strtod(plain, NULL);
  }
  return n;
}

struct mtk_node *mtk_node_copy(const struct mtk_node *n)
{
  if (n == NULL)
    return NULL;
  struct mtk_node *c = alloc(n->kind, n);
  c->type = n->type;
  c->str = n->str ? mtk_xstrdup(n->str) : NULL;
  c->ival = n->ival;
  c->fval = n->fval;
  c->tag = n->tag ? mtk_xstrdup(n->tag) : NULL;
  if (n->kind == MTK_NODE_SEQ)
    for (size_t i = 0; i < n->len; i++)
      mtk_node_push(c, mtk_node_copy(n->items[i]));
  else if (n->kind == MTK_NODE_MAP) {
    for (size_t i = 0; i < n->len; i++) {
      mtk_node_set(c, n->pairs[i].key, mtk_node_copy(n->pairs[i].val));
      c->pairs[c->len - 1].line = n->pairs[i].line;
      c->pairs[c->len - 1].col = n->pairs[i].col;
    }
  }
  return c;
}

/* Releases what n owns (items, pairs, text, tag); n itself is left as garbage. */
static void release(struct mtk_node *n)
{
  for (size_t i = 0; n->kind == MTK_NODE_SEQ && i < n->len; i++)
    mtk_node_free(n->items[i]);
  for (size_t i = 0; n->kind == MTK_NODE_MAP && i < n->len; i++) {
    free(n->pairs[i].key);
    mtk_node_free(n->pairs[i].val);
  }
  free(n->items);
  free(n->pairs);
  free(n->str);
  free(n->tag);
}

void mtk_node_free(struct mtk_node *n)
{
  if (n == NULL)
    return;
  release(n);
  free(n);
}

void mtk_node_clear(struct mtk_node *n)
{
  release(n);
  n->items = NULL;
  n->pairs = NULL;
  n->tag = NULL;
  n->len = n->cap = 0;
  n->kind = MTK_NODE_SCALAR;
  n->type = MTK_SCALAR_NULL;
  n->ival = 0;
  n->fval = 0;
  n->str = mtk_xstrdup("");
}

bool mtk_node_is_null(const struct mtk_node *n)
{
  return n == NULL || (n->kind == MTK_NODE_SCALAR && n->type == MTK_SCALAR_NULL);
}

bool mtk_node_is_str(const struct mtk_node *n)
{
  return n && n->kind == MTK_NODE_SCALAR && n->type == MTK_SCALAR_STR;
}

bool mtk_node_is_map(const struct mtk_node *n)
{
  return n && n->kind == MTK_NODE_MAP;
}

bool mtk_node_is_seq(const struct mtk_node *n)
{
  return n && n->kind == MTK_NODE_SEQ;
}

bool mtk_node_has_tag(const struct mtk_node *n, const char *tag)
{
  return n && n->tag && strcmp(n->tag, tag) == 0;
}

const char *mtk_node_kind_name(const struct mtk_node *n)
{
  if (n == NULL)
    return "null";
  switch (n->kind) {
    case MTK_NODE_MAP:
      return "a mapping";
    case MTK_NODE_SEQ:
      return "a sequence";
    case MTK_NODE_SCALAR:
      break;
  }
  switch (n->type) {
    case MTK_SCALAR_NULL:
      return "null";
    case MTK_SCALAR_BOOL:
      return "a boolean";
    case MTK_SCALAR_INT:
    case MTK_SCALAR_FLOAT:
      return "a number";
    case MTK_SCALAR_STR:
      break;
  }
  return "a string";
}

const char *mtk_compose_go_type(const struct mtk_node *n)
{
  if (mtk_node_is_null(n))
    return "<nil>";
  if (n->kind == MTK_NODE_MAP)
    return "map[string]interface {}";
  if (n->kind == MTK_NODE_SEQ)
    return "[]interface {}";
  switch (n->type) {
    case MTK_SCALAR_BOOL:
      return "bool";
    case MTK_SCALAR_INT:
      return "int";
    case MTK_SCALAR_FLOAT:
      return "float64";
    default:
      return "string";
  }
}

char *mtk_node_scalar_text(const struct mtk_node *n, const char *otherwise)
{
  if (n == NULL || n->kind != MTK_NODE_SCALAR)
    return otherwise ? mtk_xstrdup(otherwise) : NULL;
  switch (n->type) {
    case MTK_SCALAR_NULL:
      return mtk_xstrdup("");
    case MTK_SCALAR_BOOL:
      return mtk_xstrdup(n->ival ? "true" : "false");
    case MTK_SCALAR_INT:
      return mtk_xasprintf("%lld", (long long) n->ival);
    case MTK_SCALAR_FLOAT:
      return mtk_compose_go_float(n->fval);
    case MTK_SCALAR_STR:
      break;
  }
  return mtk_xstrdup(n->str ? n->str : "");
}

bool mtk_node_is_true(const struct mtk_node *n)
{
  if (n == NULL || n->kind != MTK_NODE_SCALAR)
    return false;
  if (n->type == MTK_SCALAR_BOOL)
    return n->ival != 0;
  mtk_autofree char *s = mtk_node_scalar_text(n, "");
  bool b = false;
  return mtk_go_parse_bool(s, &b) && b;
}

bool mtk_node_decode_bool(const struct mtk_node *n, bool *out)
{
  *out = false;
  if (n == NULL || n->kind != MTK_NODE_SCALAR)
    return false;
  if (n->type == MTK_SCALAR_BOOL || n->type == MTK_SCALAR_INT) {
    *out = n->ival != 0;
    return true;
  }
  return n->type == MTK_SCALAR_STR && mtk_compose_parse_bool(n->str, out);
}

static ssize_t find_key(const struct mtk_node *map, const char *key)
{
  if (map == NULL || map->kind != MTK_NODE_MAP)
    return -1;
  for (size_t i = 0; i < map->len; i++)
    if (strcmp(map->pairs[i].key, key) == 0)
      return (ssize_t) i;
  return -1;
}

struct mtk_node *mtk_node_get(const struct mtk_node *map, const char *key)
{
  ssize_t i = find_key(map, key);
  return i >= 0 ? map->pairs[i].val : NULL;
}

const struct mtk_node_pair *mtk_node_get_pair(const struct mtk_node *map, const char *key)
{
  ssize_t i = find_key(map, key);
  return i >= 0 ? &map->pairs[i] : NULL;
}

void mtk_node_append(struct mtk_node *map, const char *key, struct mtk_node *val)
{
  if (map->len == map->cap) {
    map->cap = map->cap ? map->cap * 2 : 4;
    map->pairs = mtk_xrealloc(map->pairs, map->cap * sizeof(*map->pairs));
  }
  struct mtk_node_pair *p = &map->pairs[map->len++];
  p->key = mtk_xstrdup(key);
  p->line = val ? val->line : 0;
  p->col = val ? val->col : 0;
  p->val = val;
}

void mtk_node_set(struct mtk_node *map, const char *key, struct mtk_node *val)
{
  ssize_t i = find_key(map, key);
  if (i >= 0) {
    if (map->pairs[i].val != val)
      mtk_node_free(map->pairs[i].val);
    map->pairs[i].val = val;
    return;
  }
  mtk_node_append(map, key, val);
}

struct mtk_node *mtk_node_take(struct mtk_node *map, const char *key)
{
  ssize_t i = find_key(map, key);
  if (i < 0)
    return NULL;
  struct mtk_node *v = map->pairs[i].val;
  free(map->pairs[i].key);
  memmove(map->pairs + i, map->pairs + i + 1, (map->len - (size_t) i - 1) * sizeof(*map->pairs));
  map->len--;
  return v;
}

bool mtk_node_del(struct mtk_node *map, const char *key)
{
  if (find_key(map, key) < 0)
    return false;
  mtk_node_free(mtk_node_take(map, key));
  return true;
}

const char *mtk_node_get_str(const struct mtk_node *map, const char *key)
{
  const struct mtk_node *v = mtk_node_get(map, key);
  if (v == NULL || v->kind != MTK_NODE_SCALAR || v->type == MTK_SCALAR_NULL)
    return NULL;
  return v->str;
}

void mtk_node_push(struct mtk_node *seq, struct mtk_node *item)
{
  if (seq->len == seq->cap) {
    seq->cap = seq->cap ? seq->cap * 2 : 4;
    seq->items = mtk_xrealloc(seq->items, seq->cap * sizeof(*seq->items));
  }
  seq->items[seq->len++] = item;
}

int mtk_node_err(const struct mtk_node *n, struct mtk_err **err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = mtk_err_set_atv(err, MTK_E_INVALID, n ? n->file : NULL, n ? n->line : 0, n ? n->col : 0,
                          fmt, ap);
  va_end(ap);
  return r;
}

json_t *mtk_node_to_json(const struct mtk_node *n)
{
  if (n == NULL)
    return json_null();
  if (n->kind == MTK_NODE_MAP) {
    json_t *o = json_object();
    for (size_t i = 0; i < n->len; i++)
      json_object_set_new(o, n->pairs[i].key, mtk_node_to_json(n->pairs[i].val));
    return o;
  }
  if (n->kind == MTK_NODE_SEQ) {
    json_t *a = json_array();
    for (size_t i = 0; i < n->len; i++)
      json_array_append_new(a, mtk_node_to_json(n->items[i]));
    return a;
  }
  switch (n->type) {
    case MTK_SCALAR_NULL:
      return json_null();
    case MTK_SCALAR_BOOL:
      return json_boolean(n->ival);
    case MTK_SCALAR_INT:
      return json_integer(n->ival);
    case MTK_SCALAR_FLOAT:
      /* JSON has no inf/nan: keep the text. */
      return isfinite(n->fval) ? json_real(n->fval) : json_string(n->str);
    case MTK_SCALAR_STR:
      break;
  }
  return json_string(n->str ? n->str : "");
}

struct mtk_node *mtk_node_from_json(const json_t *j, const struct mtk_node *at)
{
  switch (json_typeof(j)) {
    case JSON_OBJECT: {
      struct mtk_node *m = mtk_node_new_map(at);
      const char *k;
      json_t *v;
      json_object_foreach((json_t *) j, k, v) mtk_node_set(m, k, mtk_node_from_json(v, at));
      return m;
    }
    case JSON_ARRAY: {
      struct mtk_node *s = mtk_node_new_seq(at);
      size_t i;
      json_t *v;
      json_array_foreach(j, i, v) mtk_node_push(s, mtk_node_from_json(v, at));
      return s;
    }
    case JSON_STRING:
      return mtk_node_new_str(json_string_value(j), at);
    case JSON_INTEGER:
      return mtk_node_new_int(json_integer_value(j), at);
    case JSON_REAL:
      return mtk_node_new_float(json_real_value(j), at);
    case JSON_TRUE:
      return mtk_node_new_bool(true, at);
    case JSON_FALSE:
      return mtk_node_new_bool(false, at);
    case JSON_NULL:
      break;
  }
  return mtk_node_new_null(at);
}
