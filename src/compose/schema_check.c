/* Validation of a node tree against the compiled Compose schema, with the
 * semantics of santhosh-tekuri/jsonschema v6 (draft 2020-12) and the error
 * selection and wording of compose-go's schema.Validate:
 *  - keywords are checked in the library's order (type, const, enum, $ref,
 *    object/array/string/number keywords, then not, allOf, anyOf, oneOf);
 *    a type, const or enum failure stops the checks of that schema;
 *  - of all the leaf errors, in the order the library produces them, the
 *    first one with the longest instance path wins (an "additional
 *    properties" error counts one level deeper); errors of oneOf/anyOf
 *    branches only count when no branch matched;
 *  - the message is "<path> <text>" with the path joined by '.', except
 *    for type and minimum/maximum errors ("<path> must be a ...").
 * Go iterates JSON objects in random order; here properties are checked in
 * document order, which makes the choice between equally specific errors
 * deterministic. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose/schema.h"
#include "compose/schema_internal.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

enum verr_kind {
  VERR_NONE,
  VERR_FALSE,
  VERR_TYPE,
  VERR_CONST,
  VERR_ENUM,
  VERR_MIN_PROPS,
  VERR_MAX_PROPS,
  VERR_REQUIRED,
  VERR_ADDITIONAL,
  VERR_MIN_ITEMS,
  VERR_MAX_ITEMS,
  VERR_UNIQUE,
  VERR_MIN_LENGTH,
  VERR_MAX_LENGTH,
  VERR_PATTERN,
  VERR_MINIMUM,
  VERR_MAXIMUM,
  VERR_EXCL_MINIMUM,
  VERR_EXCL_MAXIMUM,
  VERR_NOT,
  VERR_ONE_OF,
};

/* One leaf error; the message is only built for the one reported. */
struct verr {
  enum verr_kind kind;
  const struct mtk_schema *schema; /* borrowed: whose keyword failed */
  const struct mtk_node *node;     /* borrowed: the instance */
  int specificity;                 /* instance path length (+1 for additional properties) */
  size_t aux[2];                   /* uniqueItems / oneOf indexes */
};

/* What one check needs: `best` collects the most specific error so far
 * (NULL when only validity matters, like the library's boolResult mode). */
struct vstate {
  struct verr *best;
  int depth; /* instance path length of the node checked */
};

static bool check(const struct mtk_schema *s, const struct mtk_node *n, struct vstate st);

/* Keeps e when it is strictly more specific than what best holds. */
static void record(struct verr *best, const struct verr *e)
{
  if (best && e->kind != VERR_NONE &&
      (best->kind == VERR_NONE || e->specificity > best->specificity))
    *best = *e;
}

static bool fail(struct vstate st, enum verr_kind kind, const struct mtk_schema *s,
                 const struct mtk_node *n, size_t a0, size_t a1)
{
  struct verr e = {kind, s, n, st.depth + (kind == VERR_ADDITIONAL), {a0, a1}};
  record(st.best, &e);
  return false;
}

/* --- instance values -------------------------------------------------------- */

static bool is_number(const struct mtk_node *n)
{
  return n->kind == MTK_NODE_SCALAR && (n->type == MTK_SCALAR_INT || n->type == MTK_SCALAR_FLOAT);
}

static double number_of(const struct mtk_node *n)
{
  return n->type == MTK_SCALAR_INT ? (double) n->ival : n->fval;
}

/* The JSON type of a node after compose-go's JSON round trip: every number
 * is a float64, an "integer" when it has no fractional part. */
static unsigned types_of(const struct mtk_node *n)
{
  if (n->kind == MTK_NODE_MAP)
    return MTK_SCHEMA_T_OBJECT;
  if (n->kind == MTK_NODE_SEQ)
    return MTK_SCHEMA_T_ARRAY;
  switch (n->type) {
    case MTK_SCALAR_NULL:
      return MTK_SCHEMA_T_NULL;
    case MTK_SCALAR_BOOL:
      return MTK_SCHEMA_T_BOOLEAN;
    case MTK_SCALAR_INT:
      return MTK_SCHEMA_T_NUMBER | MTK_SCHEMA_T_INTEGER;
    case MTK_SCALAR_FLOAT:
      if (isfinite(n->fval) && n->fval == floor(n->fval))
        return MTK_SCHEMA_T_NUMBER | MTK_SCHEMA_T_INTEGER;
      return MTK_SCHEMA_T_NUMBER;
    default:
      return MTK_SCHEMA_T_STRING;
  }
}

static const struct mtk_node *map_get(const struct mtk_node *map, const char *key)
{
  for (size_t i = 0; i < map->len; i++)
    if (strcmp(map->pairs[i].key, key) == 0)
      return map->pairs[i].val;
  return NULL;
}

static bool nodes_equal(const struct mtk_node *a, const struct mtk_node *b)
{
  if (is_number(a) || is_number(b))
    return is_number(a) && is_number(b) && number_of(a) == number_of(b);
  if (a->kind != b->kind)
    return false;
  if (a->kind == MTK_NODE_SCALAR) {
    if (a->type != b->type)
      return false;
    if (a->type == MTK_SCALAR_BOOL)
      return (a->ival != 0) == (b->ival != 0);
    return a->type == MTK_SCALAR_NULL || strcmp(a->str, b->str) == 0;
  }
  if (a->len != b->len)
    return false;
  for (size_t i = 0; i < a->len; i++) {
    if (a->kind == MTK_NODE_SEQ && !nodes_equal(a->items[i], b->items[i]))
      return false;
    if (a->kind == MTK_NODE_MAP) {
      const struct mtk_node *bv = map_get(b, a->pairs[i].key);
      if (bv == NULL || !nodes_equal(a->pairs[i].val, bv))
        return false;
    }
  }
  return true;
}

static bool node_equals_json(const struct mtk_node *n, const json_t *j)
{
  if (json_is_number(j))
    return is_number(n) && number_of(n) == json_number_value(j);
  if (n->kind == MTK_NODE_SCALAR) {
    switch (n->type) {
      case MTK_SCALAR_NULL:
        return json_is_null(j);
      case MTK_SCALAR_BOOL:
        return json_is_boolean(j) && (n->ival != 0) == json_is_true(j);
      case MTK_SCALAR_STR:
        return json_is_string(j) && strcmp(n->str, json_string_value(j)) == 0;
      default:
        return false;
    }
  }
  if (n->kind == MTK_NODE_SEQ) {
    if (!json_is_array(j) || json_array_size(j) != n->len)
      return false;
    for (size_t i = 0; i < n->len; i++)
      if (!node_equals_json(n->items[i], json_array_get(j, i)))
        return false;
    return true;
  }
  if (!json_is_object(j) || json_object_size(j) != n->len)
    return false;
  for (size_t i = 0; i < n->len; i++) {
    const json_t *v = json_object_get(j, n->pairs[i].key);
    if (v == NULL || !node_equals_json(n->pairs[i].val, v))
      return false;
  }
  return true;
}

static double json_num(const json_t *j)
{
  return json_number_value(j);
}

/* --- keywords by instance type ------------------------------------------------ */

static int cmp_key(const void *key, const void *prop)
{
  return strcmp(key, ((const struct mtk_schema_prop *) prop)->name);
}

static const struct mtk_schema_prop *find_prop(const struct mtk_schema *s, const char *name)
{
  if (s->n_props == 0)
    return NULL;
  return bsearch(name, s->props, s->n_props, sizeof(*s->props), cmp_key);
}

/* properties, patternProperties and additionalProperties for one entry;
 * *additional is set when a false additionalProperties rejects it. */
static bool check_entry(const struct mtk_schema *s, const struct mtk_node_pair *p,
                        struct vstate sub, bool *additional)
{
  bool ok = true, evaluated = false;
  const struct mtk_schema_prop *prop = find_prop(s, p->key);
  if (prop) {
    evaluated = true;
    ok = check(prop->schema, p->val, sub);
    if (!ok && sub.best == NULL)
      return false;
  }
  for (size_t i = 0; i < s->n_patterns; i++) {
    if (!mtk_compose_schema_re_match(s->patterns[i].re, p->key))
      continue;
    evaluated = true;
    if (!check(s->patterns[i].schema, p->val, sub)) {
      ok = false;
      if (sub.best == NULL)
        return false;
    }
  }
  *additional = false;
  if (!evaluated && s->additional) {
    if (s->additional->boolean == 0)
      *additional = true;
    else if (!check(s->additional, p->val, sub))
      ok = false;
  }
  return ok;
}

static bool is_missing(const struct mtk_schema *s, const struct mtk_node *n)
{
  for (size_t i = 0; i < s->n_required; i++)
    if (map_get(n, s->required[i]) == NULL)
      return true;
  return false;
}

static bool check_object(const struct mtk_schema *s, const struct mtk_node *n, struct vstate st)
{
  bool ok = true;
  if (s->min_props >= 0 && n->len < (size_t) s->min_props)
    ok = fail(st, VERR_MIN_PROPS, s, n, 0, 0);
  if (s->max_props >= 0 && n->len > (size_t) s->max_props)
    ok = fail(st, VERR_MAX_PROPS, s, n, 0, 0);
  if (s->n_required && is_missing(s, n))
    ok = fail(st, VERR_REQUIRED, s, n, 0, 0);
  if (!ok && st.best == NULL)
    return false;
  if (s->n_props == 0 && s->n_patterns == 0 && s->additional == NULL)
    return ok;
  struct vstate sub = {st.best, st.depth + 1};
  bool any_additional = false;
  for (size_t i = 0; i < n->len; i++) {
    bool additional = false;
    if (!check_entry(s, &n->pairs[i], sub, &additional)) {
      ok = false;
      if (st.best == NULL)
        return false;
    }
    any_additional |= additional;
  }
  if (any_additional)
    ok = fail(st, VERR_ADDITIONAL, s, n, 0, 0);
  return ok;
}

/* First duplicate as the library reports it: the smallest i that equals an
 * earlier item, with the smallest such j < i. */
static bool find_duplicate(const struct mtk_node *n, size_t *first, size_t *second)
{
  for (size_t i = 1; i < n->len; i++) {
    for (size_t j = 0; j < i; j++) {
      if (nodes_equal(n->items[i], n->items[j])) {
        *first = j;
        *second = i;
        return true;
      }
    }
  }
  return false;
}

static bool check_array(const struct mtk_schema *s, const struct mtk_node *n, struct vstate st)
{
  bool ok = true;
  size_t i, j;
  if (s->min_items >= 0 && n->len < (size_t) s->min_items)
    ok = fail(st, VERR_MIN_ITEMS, s, n, 0, 0);
  if (s->max_items >= 0 && n->len > (size_t) s->max_items)
    ok = fail(st, VERR_MAX_ITEMS, s, n, 0, 0);
  if (s->unique_items && find_duplicate(n, &i, &j))
    ok = fail(st, VERR_UNIQUE, s, n, i, j);
  if (!ok && st.best == NULL)
    return false;
  if (s->items == NULL)
    return ok;
  struct vstate sub = {st.best, st.depth + 1};
  for (i = 0; i < n->len; i++) {
    if (!check(s->items, n->items[i], sub)) {
      ok = false;
      if (st.best == NULL)
        return false;
    }
  }
  return ok;
}

static size_t utf8_runes(const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char) *s & 0xc0) != 0x80;
  return n;
}

static bool check_string(const struct mtk_schema *s, const struct mtk_node *n, struct vstate st)
{
  bool ok = true;
  if (s->min_length >= 0 && utf8_runes(n->str) < (size_t) s->min_length)
    ok = fail(st, VERR_MIN_LENGTH, s, n, 0, 0);
  if (s->max_length >= 0 && utf8_runes(n->str) > (size_t) s->max_length)
    ok = fail(st, VERR_MAX_LENGTH, s, n, 0, 0);
  if (s->pattern && !mtk_compose_schema_re_match(s->pattern, n->str))
    ok = fail(st, VERR_PATTERN, s, n, 0, 0);
  return ok;
}

static bool check_number(const struct mtk_schema *s, const struct mtk_node *n, struct vstate st)
{
  bool ok = true;
  double v = number_of(n);
  if (s->minimum && v < json_num(s->minimum))
    ok = fail(st, VERR_MINIMUM, s, n, 0, 0);
  if (s->maximum && v > json_num(s->maximum))
    ok = fail(st, VERR_MAXIMUM, s, n, 0, 0);
  if (s->exclusive_minimum && v <= json_num(s->exclusive_minimum))
    ok = fail(st, VERR_EXCL_MINIMUM, s, n, 0, 0);
  if (s->exclusive_maximum && v >= json_num(s->exclusive_maximum))
    ok = fail(st, VERR_EXCL_MAXIMUM, s, n, 0, 0);
  return ok;
}

/* --- applicators ---------------------------------------------------------- */

/* Folds a group of branch errors into st.best (leaf order is kept). */
static void merge(struct vstate st, const struct verr *group)
{
  record(st.best, group);
}

static bool check_all_any(const struct mtk_schema *s, const struct mtk_node *n, struct vstate st)
{
  bool ok = true;
  struct verr group = {.kind = VERR_NONE};
  struct vstate sub = {st.best ? &group : NULL, st.depth};
  bool failed = false;
  for (size_t i = 0; i < s->all_of.n && !(failed && st.best == NULL); i++)
    failed |= !check(s->all_of.v[i], n, sub);
  if (failed) {
    merge(st, &group);
    ok = false;
  }
  if (s->any_of.n == 0 || (!ok && st.best == NULL))
    return ok;
  group.kind = VERR_NONE;
  for (size_t i = 0; i < s->any_of.n; i++)
    if (check(s->any_of.v[i], n, sub))
      return ok;
  merge(st, &group);
  return false;
}

static bool check_one_of(const struct mtk_schema *s, const struct mtk_node *n, struct vstate st)
{
  struct verr group = {.kind = VERR_NONE};
  struct vstate sub = {st.best ? &group : NULL, st.depth};
  struct vstate quiet = {NULL, st.depth};
  size_t matched = SIZE_MAX;
  for (size_t i = 0; i < s->one_of.n; i++) {
    if (!check(s->one_of.v[i], n, matched == SIZE_MAX ? sub : quiet))
      continue;
    if (matched != SIZE_MAX)
      return fail(st, VERR_ONE_OF, s, n, matched, i);
    matched = i;
  }
  if (matched != SIZE_MAX)
    return true;
  merge(st, &group);
  return false;
}

static bool check_applicators(const struct mtk_schema *s, const struct mtk_node *n,
                              struct vstate st)
{
  bool ok = true;
  if (s->not_ && check(s->not_, n, (struct vstate){NULL, st.depth}))
    ok = fail(st, VERR_NOT, s, n, 0, 0);
  if ((s->all_of.n || s->any_of.n) && (ok || st.best) && !check_all_any(s, n, st))
    ok = false;
  if (s->one_of.n && (ok || st.best) && !check_one_of(s, n, st))
    ok = false;
  return ok;
}

static bool check(const struct mtk_schema *s, const struct mtk_node *n, struct vstate st)
{
  if (s->boolean >= 0)
    return s->boolean ? true : fail(st, VERR_FALSE, s, n, 0, 0);
  if (s->types && !(s->types & types_of(n)))
    return fail(st, VERR_TYPE, s, n, 0, 0);
  if (s->constv && !node_equals_json(n, s->constv))
    return fail(st, VERR_CONST, s, n, 0, 0);
  if (s->enumv) {
    size_t i;
    const json_t *v;
    bool found = false;
    json_array_foreach(s->enumv, i, v)
    {
      if ((found = node_equals_json(n, v)))
        break;
    }
    if (!found)
      return fail(st, VERR_ENUM, s, n, 0, 0);
  }
  bool ok = true;
  if (s->ref && !check(s->ref, n, st)) {
    ok = false;
    if (st.best == NULL)
      return false;
  }
  if (n->kind == MTK_NODE_MAP)
    ok &= check_object(s, n, st);
  else if (n->kind == MTK_NODE_SEQ)
    ok &= check_array(s, n, st);
  else if (n->type == MTK_SCALAR_STR)
    ok &= check_string(s, n, st);
  else if (is_number(n))
    ok &= check_number(s, n, st);
  if (!ok && st.best == NULL)
    return false;
  return check_applicators(s, n, st) && ok;
}

/* --- messages ---------------------------------------------------------------- */

/* Runes Go's strconv.IsPrint rejects besides the C0/C1 controls (the
 * non-ASCII spaces and format characters a compose file may hold). */
static bool go_unprintable(uint32_t r)
{
  return (r >= 0x80 && r <= 0xa0) || r == 0xad || (r >= 0x2000 && r <= 0x200f) ||
         (r >= 0x2028 && r <= 0x202f) || (r >= 0x205f && r <= 0x206f) || r == 0x3000 ||
         r == 0xfeff || r == 0xfffd;
}

/* Decodes one UTF-8 sequence; returns its length, 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *r)
{
  size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
  if (len == 0 || s[0] > 0xf4)
    return 0;
  uint32_t v = s[0] & (0x7f >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3f);
  }
  static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *r = v;
  return len;
}

/* The library's quote(): Go's %q, then \" -> " and ' -> \', in '...'. */
static void add_quoted(struct mtk_strbuf *sb, const char *str)
{
  static const char esc[] = "\a\b\f\n\r\t\v", name[] = "abfnrtv";
  const unsigned char *s = (const unsigned char *) str;
  mtk_strbuf_addc(sb, '\'');
  while (*s) {
    uint32_t r;
    size_t len;
    if (*s < 0x80) {
      const char *e = *s ? strchr(esc, *s) : NULL;
      if (e)
        mtk_strbuf_addf(sb, "\\%c", name[e - esc]);
      else if (*s == '\\' || *s == '\'')
        mtk_strbuf_addf(sb, "\\%c", *s);
      else if (*s < 0x20 || *s == 0x7f)
        mtk_strbuf_addf(sb, "\\x%02x", *s);
      else
        mtk_strbuf_addc(sb, (char) *s);
      s++;
    } else if ((len = utf8_decode(s, &r)) == 0) {
      mtk_strbuf_addf(sb, "\\x%02x", *s++);
    } else {
      if (go_unprintable(r))
        mtk_strbuf_addf(sb, "\\u%04x", (unsigned) r);
      else
        mtk_strbuf_add(sb, (const char *) s, len);
      s += len;
    }
  }
  mtk_strbuf_addc(sb, '\'');
}

/* Go's %v of a float64: shortest round-trip digits, %e form when the
 * exponent is < -4 or >= 6 (strconv's 'g' with the shortest precision). */
static void add_go_float(struct mtk_strbuf *sb, double v)
{
  char buf[64];
  if (isinf(v) || isnan(v)) {
    mtk_strbuf_adds(sb, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
    return;
  }
  int prec = 1;
  for (; prec < 17; prec++) {
    snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  int exp = atoi(strchr(buf, 'e') + 1);
  if (exp < -4 || exp >= 6) {
    snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
    char *e = strchr(buf, 'e');
    int x = atoi(e + 1);
    snprintf(e, sizeof(buf) - (size_t) (e - buf), "e%c%02d", x < 0 ? '-' : '+', abs(x));
  } else {
    snprintf(buf, sizeof(buf), "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
  }
  mtk_strbuf_adds(sb, buf);
}

/* The library's display() of an enum/const value (json.Number keeps its
 * text: integers print as integers). */
static void add_display(struct mtk_strbuf *sb, const json_t *v)
{
  if (json_is_string(v))
    add_quoted(sb, json_string_value(v));
  else if (json_is_integer(v))
    mtk_strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else if (json_is_real(v))
    add_go_float(sb, json_real_value(v));
  else if (json_is_boolean(v))
    mtk_strbuf_adds(sb, json_is_true(v) ? "true" : "false");
  else if (json_is_null(v))
    mtk_strbuf_adds(sb, "<nil>");
  else
    mtk_strbuf_adds(sb, "value");
}

static void add_enum(struct mtk_strbuf *sb, const json_t *values)
{
  size_t i;
  const json_t *v;
  json_array_foreach(values, i, v)
  {
    if (json_is_array(v) || json_is_object(v)) {
      mtk_strbuf_adds(sb, "enum failed");
      return;
    }
  }
  mtk_strbuf_adds(sb, json_array_size(values) == 1 ? "value must be " : "value must be one of ");
  json_array_foreach(values, i, v)
  {
    if (i)
      mtk_strbuf_adds(sb, ", ");
    add_display(sb, v);
  }
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* compose-go's humanReadableType: "mapping" for object; several types are
 * sorted and joined as "a, b or c". */
static void add_types(struct mtk_strbuf *sb, unsigned types)
{
  static const char *const names[] = {"null",   "boolean", "number", "integer",
                                      "string", "array",   "mapping"};
  const char *want[8];
  size_t n = 0;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (types & (1u << i))
      want[n++] = names[i];
  qsort(want, n, sizeof(want[0]), cmp_str);
  for (size_t i = 0; i < n; i++)
    mtk_strbuf_addf(sb, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", want[i]);
}

/* big.Rat.Num() of a schema bound: the numerator (the number itself for
 * integers, which is all the compose schema uses). */
static void add_bound(struct mtk_strbuf *sb, const json_t *v)
{
  if (json_is_integer(v))
    mtk_strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else
    add_go_float(sb, json_real_value(v));
}

static bool is_additional(const struct mtk_schema *s, const char *key)
{
  if (find_prop(s, key) || s->additional == NULL || s->additional->boolean != 0)
    return false;
  for (size_t i = 0; i < s->n_patterns; i++)
    if (mtk_compose_schema_re_match(s->patterns[i].re, key))
      return false;
  return true;
}

/* "additional properties 'a', 'b' not allowed"; *at is the first such key. */
static void add_additional(struct mtk_strbuf *sb, const struct verr *e,
                           const struct mtk_node_pair **at)
{
  size_t n = 0;
  mtk_strbuf_adds(sb, "additional properties ");
  for (size_t i = 0; i < e->node->len; i++) {
    const struct mtk_node_pair *p = &e->node->pairs[i];
    if (!is_additional(e->schema, p->key))
      continue;
    if (n++ == 0)
      *at = p;
    else
      mtk_strbuf_adds(sb, ", ");
    add_quoted(sb, p->key);
  }
  mtk_strbuf_adds(sb, " not allowed");
}

static void add_required(struct mtk_strbuf *sb, const struct verr *e)
{
  const struct mtk_schema *s = e->schema;
  size_t missing = 0;
  for (size_t i = 0; i < s->n_required; i++)
    missing += map_get(e->node, s->required[i]) == NULL;
  mtk_strbuf_adds(sb, missing == 1 ? "missing property " : "missing properties ");
  for (size_t i = 0, k = 0; i < s->n_required; i++) {
    if (map_get(e->node, s->required[i]))
      continue;
    if (k++)
      mtk_strbuf_adds(sb, ", ");
    add_quoted(sb, s->required[i]);
  }
}

/* The text after "<path> " for the kinds the library words itself. */
static void add_kind_text(struct mtk_strbuf *sb, const struct verr *e,
                          const struct mtk_node_pair **at)
{
  const struct mtk_schema *s = e->schema;
  const struct mtk_node *n = e->node;
  switch (e->kind) {
    case VERR_FALSE:
      mtk_strbuf_adds(sb, "false schema");
      break;
    case VERR_CONST:
      if (json_is_array(s->constv) || json_is_object(s->constv))
        mtk_strbuf_adds(sb, "const failed");
      else
        mtk_strbuf_adds(sb, "value must be "), add_display(sb, s->constv);
      break;
    case VERR_ENUM:
      add_enum(sb, s->enumv);
      break;
    case VERR_MIN_PROPS:
    case VERR_MAX_PROPS:
      mtk_strbuf_addf(sb, "%s: got %zu, want %ld",
                      e->kind == VERR_MIN_PROPS ? "minProperties" : "maxProperties", n->len,
                      e->kind == VERR_MIN_PROPS ? s->min_props : s->max_props);
      break;
    case VERR_REQUIRED:
      add_required(sb, e);
      break;
    case VERR_ADDITIONAL:
      add_additional(sb, e, at);
      break;
    case VERR_MIN_ITEMS:
    case VERR_MAX_ITEMS:
      mtk_strbuf_addf(sb, "%s: got %zu, want %ld",
                      e->kind == VERR_MIN_ITEMS ? "minItems" : "maxItems", n->len,
                      e->kind == VERR_MIN_ITEMS ? s->min_items : s->max_items);
      break;
    case VERR_UNIQUE:
      mtk_strbuf_addf(sb, "items at %zu and %zu are equal", e->aux[0], e->aux[1]);
      break;
    case VERR_MIN_LENGTH:
    case VERR_MAX_LENGTH:
      mtk_strbuf_addf(sb, "%s: got %zu, want %ld",
                      e->kind == VERR_MIN_LENGTH ? "minLength" : "maxLength", utf8_runes(n->str),
                      e->kind == VERR_MIN_LENGTH ? s->min_length : s->max_length);
      break;
    case VERR_PATTERN:
      add_quoted(sb, n->str);
      mtk_strbuf_adds(sb, " does not match pattern ");
      add_quoted(sb, s->pattern->src);
      break;
    case VERR_EXCL_MINIMUM:
    case VERR_EXCL_MAXIMUM:
      mtk_strbuf_adds(sb, e->kind == VERR_EXCL_MINIMUM ? "exclusiveMinimum: got "
                                                       : "exclusiveMaximum: got ");
      add_go_float(sb, number_of(n));
      mtk_strbuf_adds(sb, ", want ");
      add_go_float(
          sb, json_num(e->kind == VERR_EXCL_MINIMUM ? s->exclusive_minimum : s->exclusive_maximum));
      break;
    case VERR_NOT:
      mtk_strbuf_adds(sb, "not failed");
      break;
    case VERR_ONE_OF:
      mtk_strbuf_addf(sb, "oneOf failed, subschemas %zu, %zu matched", e->aux[0], e->aux[1]);
      break;
    default:
      mtk_strbuf_adds(sb, "validation failed");
      break;
  }
}

static void add_message(struct mtk_strbuf *sb, const struct verr *e,
                        const struct mtk_node_pair **at)
{
  switch (e->kind) {
    case VERR_TYPE:
      mtk_strbuf_adds(sb, " must be a ");
      add_types(sb, e->schema->types);
      break;
    case VERR_MINIMUM:
      mtk_strbuf_adds(sb, " must be greater than or equal to ");
      add_bound(sb, e->schema->minimum);
      break;
    case VERR_MAXIMUM:
      mtk_strbuf_adds(sb, " must be less than or equal to ");
      add_bound(sb, e->schema->maximum);
      break;
    default:
      mtk_strbuf_addc(sb, ' ');
      add_kind_text(sb, e, at);
      break;
  }
}

/* Writes the instance path of target ("services.web.ports.0") into sb. */
static bool find_path(const struct mtk_node *n, const struct mtk_node *target, int depth,
                      struct mtk_strbuf *sb)
{
  if (n == target)
    return true;
  if (n->kind == MTK_NODE_SCALAR)
    return false;
  size_t mark = sb->len;
  for (size_t i = 0; i < n->len; i++) {
    if (depth > 0)
      mtk_strbuf_addc(sb, '.');
    if (n->kind == MTK_NODE_MAP)
      mtk_strbuf_adds(sb, n->pairs[i].key);
    else
      mtk_strbuf_addf(sb, "%zu", i);
    if (find_path(n->kind == MTK_NODE_MAP ? n->pairs[i].val : n->items[i], target, depth + 1, sb))
      return true;
    sb->len = mark;
    if (sb->buf)
      sb->buf[mark] = '\0';
  }
  return false;
}

/* --- JSON round trip ------------------------------------------------------- */

static bool has_nonfinite(const struct mtk_node *n)
{
  if (n->kind == MTK_NODE_SCALAR)
    return n->type == MTK_SCALAR_FLOAT && !isfinite(n->fval);
  for (size_t i = 0; i < n->len; i++)
    if (has_nonfinite(n->kind == MTK_NODE_MAP ? n->pairs[i].val : n->items[i]))
      return true;
  return false;
}

static int cmp_pair_index(const void *a, const void *b, void *pairs)
{
  const struct mtk_node_pair *p = pairs;
  return strcmp(p[*(const size_t *) a].key, p[*(const size_t *) b].key);
}

/* The value encoding/json.Marshal trips on first: it writes map keys sorted. */
static const struct mtk_node *first_nonfinite(const struct mtk_node *n)
{
  if (!has_nonfinite(n))
    return NULL;
  if (n->kind == MTK_NODE_SCALAR)
    return n;
  if (n->kind == MTK_NODE_SEQ) {
    for (size_t i = 0; i < n->len; i++)
      if (has_nonfinite(n->items[i]))
        return first_nonfinite(n->items[i]);
    return NULL;
  }
  mtk_autofree size_t *order = mtk_xcalloc(n->len, sizeof(*order));
  for (size_t i = 0; i < n->len; i++)
    order[i] = i;
  qsort_r(order, n->len, sizeof(*order), cmp_pair_index, n->pairs);
  for (size_t i = 0; i < n->len; i++)
    if (has_nonfinite(n->pairs[order[i]].val))
      return first_nonfinite(n->pairs[order[i]].val);
  return NULL;
}

/* --- entry point -------------------------------------------------------------- */

static int report(const struct mtk_node *root, const struct verr *e, struct mtk_err **err)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  const struct mtk_node_pair *at = NULL;
  find_path(root, e->node, 0, &sb);
  add_message(&sb, e, &at);
  if (at)
    return mtk_err_set_at(err, MTK_E_INVALID, e->node->file, at->line, at->col, "%s",
                          mtk_strbuf_str(&sb));
  return mtk_err_set_at(err, MTK_E_INVALID, e->node->file, e->node->line, e->node->col, "%s",
                        mtk_strbuf_str(&sb));
}

int mtk_compose_schema_validate(const struct mtk_node *root, struct mtk_err **err)
{
  if (root == NULL)
    return mtk_err_set(err, MTK_E_INVALID, "top-level object must be a mapping");
  if (root->kind != MTK_NODE_MAP)
    return mtk_err_set_at(err, MTK_E_INVALID, root->file, root->line, root->col,
                          "top-level object must be a mapping");
  const struct mtk_schema *schema = mtk_compose_schema_root(err);
  if (schema == NULL)
    return -1;
  const struct mtk_node *bad = first_nonfinite(root);
  if (bad) {
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    add_go_float(&sb, bad->fval);
    return mtk_err_set_at(err, MTK_E_INVALID, bad->file, bad->line, bad->col,
                          "json: unsupported value: %s", mtk_strbuf_str(&sb));
  }
  struct verr best = {.kind = VERR_NONE};
  if (check(schema, root, (struct vstate){&best, 0}))
    return 0;
  return report(root, &best, err);
}
