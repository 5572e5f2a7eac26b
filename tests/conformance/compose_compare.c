/* Model comparison for the compose conformance runner (see compose_compare.h).
 *
 * The rules come from shared/conformance/compose/README.md "Comparison rules".  A key that is
 * present on one side only is accepted when its value is a documented default ("absent ==
 * default"), checked the same way whichever side lacks it.  Scalars are equal when they are
 * equal JSON, when both are Go duration strings of the same length, or when one is a decimal
 * integer string and the other that integer (published ports, byte sizes). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compose_compare.h"
#include "util/cleanup.h"

/* Where a value sits: a chain of parents, innermost first.  key is the member name for an
 * object member and NULL for an array element (then idx is its index). */
struct ctx {
  const struct ctx *up; /* borrowed; NULL for a member of the root */
  const char *key;      /* borrowed */
  size_t idx;
};

struct diffs {
  struct mtk_strbuf *out; /* borrowed */
  int n;                  /* differences found so far */
  int max;                /* how many to print */
};

/* Go duration units, longest spelling first where they share a prefix. */
static const struct {
  const char *name;
  uint64_t ns;
} units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
    {"ms", 1000000},
    {"s", 1000000000ULL},
    {"m", 60ULL * 1000000000ULL},
    {"h", 3600ULL * 1000000000ULL},
};

static uint64_t unit_ns(const char *u, size_t len)
{
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (strlen(units[i].name) == len && memcmp(units[i].name, u, len) == 0)
      return units[i].ns;
  return 0;
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* One "<number><unit>" element of a duration; advances *sp. */
static bool duration_part(const char **sp, uint64_t *out)
{
  const char *s = *sp;
  uint64_t v = 0, frac = 0, scale = 1;
  bool pre = false, post = false;
  for (; is_digit(*s); s++, pre = true) {
    if (v > (UINT64_MAX - 9) / 10)
      return false;
    v = v * 10 + (uint64_t) (*s - '0');
  }
  if (*s == '.')
    for (s++; is_digit(*s); s++, post = true)
      if (scale < 1000000000000000000ULL) {
        frac = frac * 10 + (uint64_t) (*s - '0');
        scale *= 10;
      }
  if (!pre && !post)
    return false;
  const char *u = s;
  while (*s && !is_digit(*s) && *s != '.')
    s++;
  uint64_t unit = unit_ns(u, (size_t) (s - u));
  if (unit == 0 || v > (uint64_t) INT64_MAX / unit)
    return false;
  v *= unit;
  if (frac)
    v += (uint64_t) ((long double) frac * (long double) unit / (long double) scale);
  *out = v;
  *sp = s;
  return true;
}

bool mtk_conf_go_duration(const char *s, int64_t *ns)
{
  bool neg = false;
  uint64_t total = 0;
  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  if (strcmp(s, "0") == 0) {
    *ns = 0;
    return true;
  }
  if (*s == '\0')
    return false;
  while (*s) {
    uint64_t part;
    if (!duration_part(&s, &part))
      return false;
    total += part;
    if (total > (uint64_t) INT64_MAX)
      return false;
  }
  *ns = neg ? -(int64_t) total : (int64_t) total;
  return true;
}

/* A strict decimal integer ("-12", "8080"): no blanks, no sign-only, no trailing junk. */
static bool decimal_int(const char *s, long long *v)
{
  const char *p = s + (*s == '-' || *s == '+');
  if (!is_digit(*p))
    return false;
  for (; *p; p++)
    if (!is_digit(*p))
      return false;
  char *end;
  errno = 0;
  *v = strtoll(s, &end, 10);
  return errno == 0 && *end == '\0';
}

static bool string_vs_integer(json_t *str, json_t *num)
{
  long long v;
  return json_is_integer(num) && decimal_int(json_string_value(str), &v) &&
         v == json_integer_value(num);
}

static bool scalar_equal(json_t *a, json_t *b)
{
  if (json_equal(a, b))
    return true;
  if (json_is_string(a) && json_is_string(b)) {
    int64_t da, db;
    return mtk_conf_go_duration(json_string_value(a), &da) &&
           mtk_conf_go_duration(json_string_value(b), &db) && da == db;
  }
  if (json_is_number(a) && json_is_number(b))
    return json_number_value(a) == json_number_value(b);
  if (json_is_string(a))
    return string_vs_integer(a, b);
  if (json_is_string(b))
    return string_vs_integer(b, a);
  return false;
}

static bool streq(const char *a, const char *b)
{
  return a && b && strcmp(a, b) == 0;
}

/* Keys where an absent value means true (so `true` is the omittable default and `false`
 * must be printed): `required` in depends_on and env_file entries, `create_host_path` in
 * bind.  obj is the object holding key. */
static bool default_true(const struct ctx *obj, const char *key)
{
  if (!obj)
    return false;
  if (strcmp(key, "create_host_path") == 0)
    return streq(obj->key, "bind");
  if (strcmp(key, "required") != 0 || !obj->up)
    return false;
  if (obj->key) /* depends_on.<service>.required */
    return streq(obj->up->key, "depends_on");
  return streq(obj->up->key, "env_file"); /* env_file[i].required */
}

/* Nested structs that Go prints as {} when empty; they are also omittable when everything
 * they hold is a default (e.g. `bind: {create_host_path: true}`). */
static bool struct_key(const char *key)
{
  static const char *const keys[] = {"ipam",      "bind",   "volume",       "tmpfs", "resources",
                                     "placement", "limits", "reservations", NULL};
  for (size_t i = 0; keys[i]; i++)
    if (strcmp(keys[i], key) == 0)
      return true;
  return false;
}

/* May obj[key] = v be left out by an implementation (or by expected.json)? */
static bool omittable(const struct ctx *obj, const char *key, json_t *v)
{
  struct ctx me = {obj, key, 0};
  const char *k;
  json_t *m;
  switch (json_typeof(v)) {
    case JSON_NULL:
      return strcmp(key, "command") == 0 || strcmp(key, "entrypoint") == 0;
    case JSON_FALSE:
      return !default_true(obj, key);
    case JSON_TRUE:
      return default_true(obj, key);
    case JSON_ARRAY:
      return json_array_size(v) == 0;
    case JSON_OBJECT:
      if (json_object_size(v) == 0)
        return true;
      if (!struct_key(key))
        return false;
      json_object_foreach(v, k, m) if (!omittable(&me, k, m)) return false;
      return true;
    default:
      return false;
  }
}

static bool plain_key(const char *k)
{
  if (!*k)
    return false;
  for (; *k; k++)
    if (!(is_digit(*k) || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_' ||
          *k == '-'))
      return false;
  return true;
}

static void add_path(struct mtk_strbuf *sb, const struct ctx *c)
{
  if (!c)
    return;
  add_path(sb, c->up);
  if (!c->key)
    mtk_strbuf_addf(sb, "[%zu]", c->idx);
  else if (!plain_key(c->key))
    mtk_strbuf_addf(sb, "[\"%s\"]", c->key);
  else {
    if (c->up)
      mtk_strbuf_addc(sb, '.');
    mtk_strbuf_adds(sb, c->key);
  }
}

static void add_value(struct mtk_strbuf *sb, json_t *v)
{
  enum { MAX_SHOWN = 100 };
  if (!v) {
    mtk_strbuf_adds(sb, "(absent)");
    return;
  }
  mtk_autofree char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!s) {
    mtk_strbuf_adds(sb, "(unprintable)");
    return;
  }
  if (strlen(s) > MAX_SHOWN) {
    mtk_strbuf_add(sb, s, MAX_SHOWN);
    mtk_strbuf_adds(sb, "...");
  } else {
    mtk_strbuf_adds(sb, s);
  }
}

static void report(struct diffs *d, const struct ctx *c, json_t *exp, json_t *got)
{
  if (++d->n > d->max)
    return;
  if (d->out->len)
    mtk_strbuf_adds(d->out, "; ");
  size_t before = d->out->len;
  add_path(d->out, c);
  if (d->out->len == before)
    mtk_strbuf_adds(d->out, "(root)");
  mtk_strbuf_adds(d->out, ": expected ");
  add_value(d->out, exp);
  mtk_strbuf_adds(d->out, ", got ");
  add_value(d->out, got);
}

static void compare(struct diffs *d, const struct ctx *c, json_t *exp, json_t *got);

static int cmp_keys(const void *a, const void *b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Sorted member names of o (borrowed strings), so differences come out in a stable order. */
static const char **sorted_keys(json_t *o, size_t *n)
{
  const char **keys = mtk_xcalloc(json_object_size(o) + 1, sizeof(*keys));
  const char *k;
  json_t *v;
  *n = 0;
  json_object_foreach(o, k, v) keys[(*n)++] = k;
  qsort(keys, *n, sizeof(*keys), cmp_keys);
  return keys;
}

static void compare_objects(struct diffs *d, const struct ctx *c, json_t *exp, json_t *got)
{
  size_t n;
  mtk_autofree const char **ek = sorted_keys(exp, &n);
  for (size_t i = 0; i < n; i++) {
    struct ctx child = {c, ek[i], 0};
    json_t *ev = json_object_get(exp, ek[i]), *gv = json_object_get(got, ek[i]);
    if (gv)
      compare(d, &child, ev, gv);
    else if (!omittable(c, ek[i], ev))
      report(d, &child, ev, NULL);
  }
  mtk_autofree const char **gk = sorted_keys(got, &n);
  for (size_t i = 0; i < n; i++) {
    struct ctx child = {c, gk[i], 0};
    json_t *gv = json_object_get(got, gk[i]);
    if (!json_object_get(exp, gk[i]) && !omittable(c, gk[i], gv))
      report(d, &child, NULL, gv);
  }
}

static void compare_arrays(struct diffs *d, const struct ctx *c, json_t *exp, json_t *got)
{
  size_t ne = json_array_size(exp), ng = json_array_size(got);
  for (size_t i = 0; i < ne || i < ng; i++) {
    struct ctx child = {c, NULL, i};
    json_t *ev = json_array_get(exp, i), *gv = json_array_get(got, i);
    if (ev && gv)
      compare(d, &child, ev, gv);
    else
      report(d, &child, ev, gv);
  }
}

static void compare(struct diffs *d, const struct ctx *c, json_t *exp, json_t *got)
{
  if (json_is_object(exp) && json_is_object(got))
    compare_objects(d, c, exp, got);
  else if (json_is_array(exp) && json_is_array(got))
    compare_arrays(d, c, exp, got);
  else if (!scalar_equal(exp, got))
    report(d, c, exp, got);
}

int mtk_conf_compare(json_t *expected, json_t *got, struct mtk_strbuf *out, int max_report)
{
  struct diffs d = {out, 0, max_report};
  compare(&d, NULL, expected, got);
  return d.n;
}

/* ---- string transformations ---- */

typedef void (*strfn)(const char *s, size_t len, const void *arg, struct mtk_strbuf *out);

static json_t *map_strings(json_t *v, strfn fn, const void *arg)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  const char *k;
  json_t *m;
  size_t i;
  json_t *copy;
  switch (json_typeof(v)) {
    case JSON_STRING:
      fn(json_string_value(v), json_string_length(v), arg, &sb);
      return json_stringn_nocheck(mtk_strbuf_str(&sb), sb.len);
    case JSON_OBJECT:
      copy = json_object();
      json_object_foreach(v, k, m)
      {
        mtk_strbuf_reset(&sb);
        fn(k, strlen(k), arg, &sb);
        json_object_set_new_nocheck(copy, mtk_strbuf_str(&sb), map_strings(m, fn, arg));
      }
      return copy;
    case JSON_ARRAY:
      copy = json_array();
      json_array_foreach(v, i, m) json_array_append_new(copy, map_strings(m, fn, arg));
      return copy;
    default:
      return json_incref(v);
  }
}

static void unescape(const char *s, size_t len, const void *arg, struct mtk_strbuf *out)
{
  for (size_t i = 0; i < len; i++) {
    mtk_strbuf_addc(out, s[i]);
    if (s[i] == '$' && i + 1 < len && s[i + 1] == '$')
      i++;
  }
}

json_t *mtk_conf_unescape_dollars(json_t *v)
{
  return map_strings(v, unescape, NULL);
}

struct placeholders {
  const char *case_dir; /* borrowed */
  const char *home;     /* borrowed */
};

static void subst(const char *s, size_t len, const void *arg, struct mtk_strbuf *out)
{
  static const char cd[] = "@CASE_DIR@", hm[] = "@HOME@";
  const struct placeholders *ph = arg;
  for (size_t i = 0; i < len;) {
    if (len - i >= sizeof(cd) - 1 && memcmp(s + i, cd, sizeof(cd) - 1) == 0) {
      mtk_strbuf_adds(out, ph->case_dir);
      i += sizeof(cd) - 1;
    } else if (len - i >= sizeof(hm) - 1 && memcmp(s + i, hm, sizeof(hm) - 1) == 0) {
      mtk_strbuf_adds(out, ph->home);
      i += sizeof(hm) - 1;
    } else {
      mtk_strbuf_addc(out, s[i++]);
    }
  }
}

json_t *mtk_conf_subst_placeholders(json_t *v, const char *case_dir, const char *home)
{
  struct placeholders ph = {case_dir, home};
  return map_strings(v, subst, &ph);
}

void mtk_conf_strip_service_extensions(json_t *project)
{
  json_t *services = json_object_get(project, "services");
  const char *name, *k;
  json_t *svc, *v;
  void *tmp;
  if (!json_is_object(services))
    return;
  json_object_foreach(services, name, svc)
  {
    if (!json_is_object(svc))
      continue;
    json_object_foreach_safe(svc, tmp, k, v) if (strncmp(k, "x-", 2) == 0) json_object_del(svc, k);
  }
}
