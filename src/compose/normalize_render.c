/* The typed JSON rendering of a normalised model: what compose-go's mapstructure decode
 * into types.Project followed by Project.MarshalJSON prints.  Each Go struct of
 * compose-go's types package is a table of fields (normalize_types.c) with its JSON name,
 * its YAML name and the Go type that decides the conversion and the `omitempty` rule:
 * strings, booleans and numbers vanish when zero, pointers when absent, non-pointer
 * structs are always printed, maps print with sorted keys, x-* keys are extensions
 * (never printed below the top level). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/canonical.h"
#include "compose/normalize.h"
#include "compose/values.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* A key path for error messages ("services.web.healthcheck.interval"). */
struct rpath {
  const struct rpath *up; /* borrowed: parent, NULL at the root */
  const char *seg;        /* borrowed */
};

static char *path_str(const struct rpath *p)
{
  if (p == NULL)
    return mtk_xstrdup("");
  mtk_autofree char *up = path_str(p->up);
  if (*up == '\0')
    return mtk_xstrdup(p->seg);
  return mtk_xasprintf("%s%s%s", up, p->seg[0] == '[' ? "" : ".", p->seg); /* "ports[0]" */
}

/* Wraps *err (set by a value parser) with the attribute path and the node position. */
static int value_err(const struct mtk_node *n, const struct rpath *p, struct mtk_err **err)
{
  mtk_autofree char *ps = path_str(p);
  mtk_autofree char *msg = mtk_xstrdup(*err && (*err)->msg ? (*err)->msg : "invalid value");
  mtk_err_free(err);
  return mtk_node_err(n, err, "%s: %s", ps, msg);
}

static int type_err(const struct mtk_node *n, const struct rpath *p, const char *what,
                    struct mtk_err **err)
{
  mtk_autofree char *ps = path_str(p);
  return mtk_node_err(n, err, "%s: invalid type %s for %s", ps, mtk_node_kind_name(n), what);
}

/* ---- scalar conversions (mapstructure + compose-go's cast hook) ---- */

static bool is_scalar(const struct mtk_node *n)
{
  return n && n->kind == MTK_NODE_SCALAR && n->type != MTK_SCALAR_NULL;
}

int mtk_norm_int(const struct mtk_node *n, int64_t *out, struct mtk_err **err)
{
  *out = 0;
  if (!is_scalar(n))
    return 0;
  switch (n->type) {
    case MTK_SCALAR_INT:
    case MTK_SCALAR_BOOL:
      *out = n->ival;
      return 0;
    case MTK_SCALAR_FLOAT:
      *out = (int64_t) n->fval;
      return 0;
    default:
      break;
  }
  if (!mtk_compose_parse_int(n->str, out))
    return mtk_err_set(err, MTK_E_INVALID, "strconv.Atoi: parsing \"%s\": invalid syntax", n->str);
  return 0;
}

int mtk_norm_float(const struct mtk_node *n, double *out, struct mtk_err **err)
{
  *out = 0;
  if (!is_scalar(n))
    return 0;
  if (n->type == MTK_SCALAR_INT || n->type == MTK_SCALAR_BOOL) {
    *out = (double) n->ival;
    return 0;
  }
  if (n->type == MTK_SCALAR_FLOAT) {
    *out = n->fval;
    return 0;
  }
  if (!mtk_compose_parse_float(n->str, out))
    return mtk_err_set(err, MTK_E_INVALID, "strconv.ParseFloat: parsing \"%s\": invalid syntax",
                       n->str);
  return 0;
}

/* types.UnitBytes.DecodeMapstructure: an int, or a string with units; other types are 0. */
int mtk_norm_bytes(const struct mtk_node *n, int64_t *out, struct mtk_err **err)
{
  *out = 0;
  if (!is_scalar(n))
    return 0;
  if (n->type == MTK_SCALAR_INT) {
    *out = n->ival;
    return 0;
  }
  if (n->type != MTK_SCALAR_STR)
    return 0;
  return mtk_bytes_parse(n->str, out, err);
}

/* types.Duration.DecodeMapstructure: str2duration of fmt.Sprint(value). */
static int duration_of(const struct mtk_node *n, int64_t *ns, struct mtk_err **err)
{
  mtk_autofree char *s = mtk_node_scalar_text(n, "");
  return mtk_duration_parse(s, ns, err);
}

/* A bool as the cast hook decodes it: a string goes through toBoolean (true/false, y/yes/on,
 * n/no/off in any case) and anything else in it is an error. */
static int bool_of(const struct mtk_node *n, const struct rpath *p, bool *out, struct mtk_err **err)
{
  if (!mtk_node_decode_bool(n, out) && mtk_node_is_str(n)) {
    mtk_err_set(err, MTK_E_INVALID, "invalid boolean: %s", n->str);
    return value_err(n, p, err);
  }
  return 0;
}

/* ---- composite values ---- */

static int render_struct(const struct mtk_norm_type *t, const struct mtk_node *n,
                         const struct rpath *p, json_t **out, struct mtk_err **err);

static int cmp_pairs(const void *a, const void *b)
{
  const struct mtk_node_pair *const *x = a, *const *y = b;
  return strcmp((*x)->key, (*y)->key);
}

/* The pairs of a mapping sorted by key (Go prints maps sorted), x-* keys left out when
 * skip_ext.  Returns a malloc'd array of borrowed pointers; *n its length. */
static const struct mtk_node_pair **sorted_pairs(const struct mtk_node *m, bool skip_ext, size_t *n)
{
  const struct mtk_node_pair **v = mtk_xcalloc(m->len + 1, sizeof(*v));
  *n = 0;
  for (size_t i = 0; i < m->len; i++)
    if (!skip_ext || strncmp(m->pairs[i].key, "x-", 2) != 0)
      v[(*n)++] = &m->pairs[i];
  qsort(v, *n, sizeof(*v), cmp_pairs);
  return v;
}

static json_t *sorted_object(json_t *o)
{
  size_t n = json_object_size(o), i = 0;
  const char **keys = mtk_xcalloc(n + 1, sizeof(char *));
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) keys[i++] = k;
  qsort(keys, n, sizeof(char *), (int (*)(const void *, const void *)) strcmp);
  json_t *s = json_object();
  for (i = 0; i < n; i++)
    json_object_set(s, keys[i], json_object_get(o, keys[i]));
  free(keys);
  json_decref(o);
  return s;
}

/* Mapping / Labels / Options (null -> "") and MappingWithEquals (with_null: null kept), a
 * mapping or a list of KEY=VALUE (read by mtk_compose_key_values, whose errors name p). */
static int render_mapping(const struct mtk_node *v, bool with_null, const struct rpath *p,
                          json_t **out, struct mtk_err **err)
{
  mtk_autoptr(mtk_node) tmp = NULL;
  if (mtk_node_is_seq(v)) {
    mtk_autofree char *up = path_str(p->up);
    tmp = mtk_node_new_map(v);
    mtk_node_set(tmp, p->seg, mtk_node_copy(v));
    if (mtk_compose_key_values(tmp, p->seg, with_null, up, err) < 0)
      return -1;
    v = mtk_node_get(tmp, p->seg);
  }
  json_t *o = json_object();
  for (size_t i = 0; mtk_node_is_map(v) && i < v->len; i++) {
    const struct mtk_node *e = v->pairs[i].val;
    mtk_autofree char *s = mtk_node_scalar_text(e, "");
    json_object_set_new(o, v->pairs[i].key,
                        with_null && mtk_node_is_null(e) ? json_null() : json_string(s));
  }
  *out = sorted_object(o);
  return 0;
}

static json_t *render_multi_options(const struct mtk_node *v)
{
  json_t *o = json_object();
  for (size_t i = 0; mtk_node_is_map(v) && i < v->len; i++) {
    const struct mtk_node *e = v->pairs[i].val;
    json_t *a = json_array();
    for (size_t k = 0; mtk_node_is_seq(e) && k < e->len; k++) {
      mtk_autofree char *s = mtk_node_scalar_text(e->items[k], "");
      json_array_append_new(a, json_string(s));
    }
    if (!mtk_node_is_seq(e)) {
      mtk_autofree char *s = mtk_node_scalar_text(e, "");
      json_array_append_new(a, json_string(s));
    }
    json_object_set_new(o, v->pairs[i].key, a);
  }
  return sorted_object(o);
}

/* StringList / StringOrNumberList / []string: a scalar is a one-item list. */
static json_t *render_strlist(const struct mtk_node *v, bool drop_empty)
{
  json_t *a = json_array();
  if (is_scalar(v) && !(drop_empty && mtk_node_is_str(v) && v->str[0] == '\0')) {
    mtk_autofree char *s = mtk_node_scalar_text(v, "");
    json_array_append_new(a, json_string(s));
  }
  for (size_t i = 0; mtk_node_is_seq(v) && i < v->len; i++) {
    const struct mtk_node *e = v->items[i];
    if (drop_empty && (mtk_node_is_null(e) || (mtk_node_is_str(e) && e->str[0] == '\0')))
      continue;
    mtk_autofree char *s = mtk_node_scalar_text(e, "");
    json_array_append_new(a, json_string(s));
  }
  return a;
}

static int render_shellcmd(const struct mtk_node *v, const struct rpath *p, json_t **out,
                           struct mtk_err **err)
{
  if (mtk_node_is_null(v)) {
    *out = json_null();
    return 0;
  }
  if (mtk_node_is_seq(v)) {
    *out = render_strlist(v, false);
    return 0;
  }
  mtk_autofree char *s = mtk_node_scalar_text(v, "");
  size_t n = 0;
  char **words = mtk_compose_shellwords(s, &n, err);
  if (words == NULL)
    return value_err(v, p, err);
  *out = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(*out, json_string(words[i]));
  mtk_compose_strv_free(words);
  return 0;
}

static json_t *render_healthcheck_test(const struct mtk_node *v)
{
  if (mtk_node_is_str(v)) {
    json_t *a = json_array();
    json_array_append_new(a, json_string("CMD-SHELL"));
    json_array_append_new(a, json_string(v->str));
    return a;
  }
  return render_strlist(v, false);
}

static int host_add(json_t *list, const char *host, const char *ips, const struct mtk_node *at,
                    const char *path, struct mtk_err **err)
{
  if (*host == '\0' || strpbrk(host, ":="))
    return mtk_node_err(at, err, "%s: bad host name '%s'", path, host);
  mtk_autofree char *copy = mtk_xstrdup(ips);
  char *save = NULL;
  /* strings.Split keeps empty fields: walk by hand */
  for (char *ip = copy;; ip = save + 1) {
    save = strchr(ip, ',');
    if (save)
      *save = '\0';
    size_t n = strlen(ip);
    mtk_autofree char *e = n > 2 && ip[0] == '[' && ip[n - 1] == ']'
                               ? mtk_xasprintf("%s=%.*s", host, (int) n - 2, ip + 1)
                               : mtk_xasprintf("%s=%s", host, ip);
    json_array_append_new(list, json_string(e));
    if (save == NULL)
      break;
  }
  return 0;
}

static int cmp_json_str(const void *a, const void *b)
{
  return strcmp(json_string_value(*(json_t *const *) a), json_string_value(*(json_t *const *) b));
}

/* types.HostsList: "host=ip" or "host:ip" entries (or a mapping), rendered sorted. */
static int render_hosts(const struct mtk_node *v, const struct rpath *p, json_t **out,
                        struct mtk_err **err)
{
  mtk_autofree char *ps = path_str(p);
  json_t *list = json_array();
  int rc = 0;
  for (size_t i = 0; rc == 0 && mtk_node_is_seq(v) && i < v->len; i++) {
    mtk_autofree char *s = mtk_node_scalar_text(v->items[i], "");
    char *sep = strchr(s, '=');
    if (sep == NULL)
      sep = strchr(s, ':');
    if (sep == NULL) {
      rc = mtk_node_err(v->items[i], err, "%s: invalid additional host, missing IP: %s", ps, s);
      break;
    }
    *sep = '\0';
    rc = host_add(list, s, sep + 1, v->items[i], ps, err);
  }
  for (size_t i = 0; rc == 0 && mtk_node_is_map(v) && i < v->len; i++) {
    const struct mtk_node *e = v->pairs[i].val;
    for (size_t k = 0; rc == 0 && mtk_node_is_seq(e) && k < e->len; k++) {
      mtk_autofree char *s = mtk_node_scalar_text(e->items[k], "");
      rc = host_add(list, v->pairs[i].key, s, e, ps, err);
    }
    if (rc == 0 && !mtk_node_is_seq(e)) {
      mtk_autofree char *s = mtk_node_scalar_text(e, "");
      rc = host_add(list, v->pairs[i].key, s, e ? e : v, ps, err);
    }
  }
  if (rc < 0) {
    json_decref(list);
    return -1;
  }
  size_t n = json_array_size(list);
  json_t **items = mtk_xcalloc(n + 1, sizeof(json_t *));
  for (size_t i = 0; i < n; i++)
    items[i] = json_incref(json_array_get(list, i));
  qsort(items, n, sizeof(json_t *), cmp_json_str);
  json_array_clear(list);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(list, items[i]);
  free(items);
  *out = list;
  return 0;
}

/* map[string]*UlimitsConfig: a number is `single`, a mapping has soft/hard. */
static int render_ulimits(const struct mtk_node *v, const struct rpath *p, json_t **out,
                          struct mtk_err **err)
{
  json_t *o = json_object();
  size_t n = 0;
  mtk_autofree const struct mtk_node_pair **pairs =
      mtk_node_is_map(v) ? sorted_pairs(v, true, &n) : NULL;
  for (size_t i = 0; i < n; i++) {
    const struct mtk_node *e = pairs[i]->val;
    struct rpath sub = {p, pairs[i]->key};
    int64_t single = 0, soft = 0, hard = 0;
    if (mtk_node_is_null(e)) {
      json_object_set_new(o, pairs[i]->key, json_null());
      continue;
    }
    if (mtk_node_is_map(e)) {
      struct rpath psoft = {&sub, "soft"}, phard = {&sub, "hard"};
      const struct mtk_node *ns = mtk_node_get(e, "soft"), *nh = mtk_node_get(e, "hard");
      int rc = mtk_norm_int(ns, &soft, err) < 0   ? value_err(ns, &psoft, err)
               : mtk_norm_int(nh, &hard, err) < 0 ? value_err(nh, &phard, err)
                                                  : 0;
      if (rc < 0) {
        json_decref(o);
        return rc;
      }
    } else if (mtk_norm_int(e, &single, err) < 0) {
      json_decref(o);
      return value_err(e, &sub, err);
    }
    json_t *u = single ? json_integer(single) : json_object();
    if (!single && soft)
      json_object_set_new(u, "soft", json_integer(soft));
    if (!single && hard)
      json_object_set_new(u, "hard", json_integer(hard));
    json_object_set_new(o, pairs[i]->key, u);
  }
  *out = o;
  return 0;
}

/* types.SSHConfig: "id" alone, or "id=path" (compose-go's own JSON for a key with a path
 * is not valid JSON; the KEY=PATH form of the short syntax is printed instead). */
static json_t *render_ssh(const struct mtk_node *v)
{
  json_t *a = json_array();
  for (size_t i = 0; mtk_node_is_map(v) && i < v->len; i++) {
    const struct mtk_node *e = v->pairs[i].val;
    mtk_autofree char *path = mtk_node_is_null(e) ? NULL : mtk_node_scalar_text(e, "");
    mtk_autofree char *s = path && *path ? mtk_xasprintf("%s=%s", v->pairs[i].key, path)
                                         : mtk_xstrdup(v->pairs[i].key);
    json_array_append_new(a, json_string(s));
  }
  for (size_t i = 0; mtk_node_is_seq(v) && i < v->len; i++) {
    mtk_autofree char *s = mtk_node_scalar_text(v->items[i], "");
    json_array_append_new(a, json_string(s));
  }
  return a;
}

/* *FileMode: an int, or an octal string; printed as "0%o". */
static int render_filemode(const struct mtk_node *v, const struct rpath *p, json_t **out,
                           struct mtk_err **err)
{
  long long mode = 0;
  if (v->type == MTK_SCALAR_INT) {
    mode = v->ival;
  } else {
    mtk_autofree char *s = mtk_node_scalar_text(v, "");
    char *end;
    mode = strtoll(s, &end, 8);
    if (*s == '\0' || *end != '\0') {
      mtk_err_set(err, MTK_E_INVALID, "strconv.ParseInt: parsing \"%s\": invalid syntax", s);
      return value_err(v, p, err);
    }
  }
  mtk_autofree char *s = mode < 0 ? mtk_xasprintf("0-%llo", -mode) : mtk_xasprintf("0%llo", mode);
  *out = json_string(s);
  return 0;
}

static int render_devcount(const struct mtk_node *v, const struct rpath *p, json_t **out,
                           struct mtk_err **err)
{
  int64_t c = 0;
  if (mtk_node_is_str(v) && strcasecmp(v->str, "all") == 0) {
    c = -1;
  } else if (mtk_node_is_str(v) && !mtk_compose_parse_int(v->str, &c)) {
    mtk_autofree char *ps = path_str(p);
    return mtk_node_err(v, err,
                        "%s: invalid value \"%s\", the only value allowed is 'all' or a "
                        "number",
                        ps, v->str);
  } else if (!mtk_node_is_str(v) && mtk_norm_int(v, &c, err) < 0) {
    return value_err(v, p, err);
  }
  *out = c ? json_integer(c) : NULL;
  return 0;
}

/* A list of structs; a string item of a mount list is its short syntax {source: s}. */
static int render_struct_list(const struct mtk_norm_field *f, const struct mtk_node *v,
                              const struct rpath *p, json_t **out, struct mtk_err **err)
{
  if (!mtk_node_is_seq(v))
    return type_err(v, p, "a list", err);
  json_t *a = json_array();
  for (size_t i = 0; i < v->len; i++) {
    char idx[32];
    snprintf(idx, sizeof(idx), "[%zu]", i);
    struct rpath sub = {p, idx};
    const struct mtk_node *e = v->items[i];
    json_t *item = NULL;
    if (mtk_node_is_str(e) && (f->flags & MTK_NORM_SHORT_SOURCE)) {
      item = json_object();
      json_object_set_new(item, "source", json_string(e->str));
    } else if (mtk_node_is_null(e)) {
      item = json_null();
    } else if (render_struct(f->sub, e, &sub, &item, err) < 0) {
      json_decref(a);
      return -1;
    }
    json_array_append_new(a, item);
  }
  *out = a;
  return 0;
}

/* map[string]Struct (null -> empty struct) or map[string]*Struct (null kept); the list
 * form of service networks/models names entries without options. */
static int render_struct_map(const struct mtk_norm_field *f, const struct mtk_node *v,
                             const struct rpath *p, json_t **out, struct mtk_err **err)
{
  bool ptr = f->kind == MTK_NORM_PSTRUCTMAP;
  json_t *o = json_object();
  if (mtk_node_is_seq(v)) {
    for (size_t i = 0; i < v->len; i++) {
      mtk_autofree char *s = mtk_node_scalar_text(v->items[i], "");
      json_object_set_new(o, s, json_null());
    }
    *out = sorted_object(o);
    return 0;
  }
  if (!mtk_node_is_map(v)) {
    json_decref(o);
    return type_err(v, p, "a mapping", err);
  }
  size_t n = 0;
  mtk_autofree const struct mtk_node_pair **pairs =
      sorted_pairs(v, f->flags & MTK_NORM_SKIP_EXT, &n);
  for (size_t i = 0; i < n; i++) {
    struct rpath sub = {p, pairs[i]->key};
    json_t *item = NULL;
    if (ptr && mtk_node_is_null(pairs[i]->val)) {
      item = json_null();
    } else if (render_struct(f->sub, pairs[i]->val, &sub, &item, err) < 0) {
      json_decref(o);
      return -1;
    }
    json_object_set_new(o, pairs[i]->key, item);
  }
  *out = o;
  return 0;
}

/* Scalar kinds: *out = NULL means "omitted". */
static int render_scalar(const struct mtk_norm_field *f, const struct mtk_node *v,
                         const struct rpath *p, json_t **out, struct mtk_err **err)
{
  bool always = f->flags & MTK_NORM_ALWAYS;
  int64_t i = 0;
  double d = 0;
  bool b = false;
  if (f->kind >= MTK_NORM_BOOL && f->kind <= MTK_NORM_REQUIRED && bool_of(v, p, &b, err) < 0)
    return -1;
  switch (f->kind) {
    case MTK_NORM_STR: {
      mtk_autofree char *s = mtk_node_scalar_text(v, "");
      *out = *s || always ? json_string(s) : NULL;
      return 0;
    }
    case MTK_NORM_BOOL:
      *out = b || always ? json_boolean(b) : NULL;
      return 0;
    case MTK_NORM_EXTERNAL:
      *out = mtk_node_is_map(v) || b ? json_true() : NULL;
      return 0;
    case MTK_NORM_PBOOL:
      *out = is_scalar(v) ? json_boolean(b) : NULL;
      return 0;
    case MTK_NORM_OPTOUT:
      *out = is_scalar(v) && !b ? json_false() : NULL;
      return 0;
    case MTK_NORM_REQUIRED:
      *out = json_boolean(!is_scalar(v) || b);
      return 0;
    case MTK_NORM_INT:
    case MTK_NORM_PINT:
      if (mtk_norm_int(v, &i, err) < 0)
        return value_err(v, p, err);
      if (f->kind == MTK_NORM_PINT)
        *out = is_scalar(v) ? json_integer(i) : NULL;
      else
        *out = i || always ? json_integer(i) : NULL;
      return 0;
    case MTK_NORM_FLOAT32:
      if (mtk_norm_float(v, &d, err) < 0)
        return value_err(v, p, err);
      *out = d != 0 ? json_real(mtk_compose_go_float32(d)) : NULL;
      return 0;
    case MTK_NORM_BYTES: {
      if (mtk_norm_bytes(v, &i, err) < 0)
        return value_err(v, p, err);
      mtk_autofree char *s = mtk_xasprintf("%lld", (long long) i);
      *out = i || always ? json_string(s) : NULL;
      return 0;
    }
    case MTK_NORM_DURATION:
    case MTK_NORM_PDURATION: {
      if (!is_scalar(v)) {
        *out = NULL;
        return 0;
      }
      if (duration_of(v, &i, err) < 0)
        return value_err(v, p, err);
      mtk_autofree char *s = mtk_duration_format(i);
      *out = i || f->kind == MTK_NORM_PDURATION ? json_string(s) : NULL;
      return 0;
    }
    default:
      *out = NULL;
      return 0;
  }
}

static json_t *nonempty_or_null(json_t *j)
{
  if ((json_is_array(j) && json_array_size(j) == 0) ||
      (json_is_object(j) && json_object_size(j) == 0)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

static bool scalar_kind(enum mtk_norm_kind k)
{
  return k <= MTK_NORM_PDURATION;
}

/* The JSON of one field, or *out = NULL when Go omits it. */
static int render_field(const struct mtk_norm_field *f, const struct mtk_node *v,
                        const struct rpath *p, json_t **out, struct mtk_err **err)
{
  *out = NULL;
  if (f->kind == MTK_NORM_SHELLCMD)
    return render_shellcmd(v, p, out, err);
  if (f->kind == MTK_NORM_STRUCT)
    return render_struct(f->sub, v, p, out, err);
  if (scalar_kind(f->kind))
    return render_scalar(f, v, p, out, err);
  if (mtk_node_is_null(v))
    return 0;
  switch (f->kind) {
    case MTK_NORM_STRLIST:
    case MTK_NORM_STRNUMLIST:
      *out = nonempty_or_null(render_strlist(v, f->flags & MTK_NORM_DROP_EMPTY));
      return 0;
    case MTK_NORM_MAPPING:
    case MTK_NORM_MAPEQ:
      if (render_mapping(v, f->kind == MTK_NORM_MAPEQ, p, out, err) < 0)
        return -1;
      *out = nonempty_or_null(*out);
      return 0;
    case MTK_NORM_MULTIOPT:
      *out = nonempty_or_null(render_multi_options(v));
      return 0;
    case MTK_NORM_HCTEST:
      *out = nonempty_or_null(render_healthcheck_test(v));
      return 0;
    case MTK_NORM_HOSTS:
      if (render_hosts(v, p, out, err) < 0)
        return -1;
      *out = nonempty_or_null(*out);
      return 0;
    case MTK_NORM_SSH:
      *out = nonempty_or_null(render_ssh(v));
      return 0;
    case MTK_NORM_FILEMODE:
      return render_filemode(v, p, out, err);
    case MTK_NORM_ULIMITS:
      if (render_ulimits(v, p, out, err) < 0)
        return -1;
      *out = nonempty_or_null(*out);
      return 0;
    case MTK_NORM_DEVCOUNT:
      return render_devcount(v, p, out, err);
    case MTK_NORM_PSTRUCT:
      if (mtk_node_is_str(v) && (f->flags & MTK_NORM_STR_CONTEXT)) {
        *out = json_object(); /* build: "dir" */
        json_object_set_new(*out, "context", json_string(v->str));
        return 0;
      }
      return render_struct(f->sub, v, p, out, err);
    case MTK_NORM_STRUCTLIST:
      if (render_struct_list(f, v, p, out, err) < 0)
        return -1;
      *out = nonempty_or_null(*out);
      return 0;
    case MTK_NORM_STRUCTMAP:
    case MTK_NORM_PSTRUCTMAP:
      if (render_struct_map(f, v, p, out, err) < 0)
        return -1;
      *out = nonempty_or_null(*out);
      return 0;
    default:
      return render_scalar(f, v, p, out, err);
  }
}

static int render_struct(const struct mtk_norm_type *t, const struct mtk_node *n,
                         const struct rpath *p, json_t **out, struct mtk_err **err)
{
  if (n && !mtk_node_is_null(n) && !mtk_node_is_map(n))
    return type_err(n, p, t->name, err);
  json_t *o = json_object();
  for (const struct mtk_norm_field *f = t->fields; f->json; f++) {
    const char *yaml = f->yaml ? f->yaml : f->json;
    const struct mtk_node *v = mtk_node_is_map(n) ? mtk_node_get(n, yaml) : NULL;
    if (v == NULL && f->yaml && mtk_node_is_map(n))
      v = mtk_node_get(n, f->json); /* already rendered under its JSON name */
    struct rpath sub = {p, yaml};
    json_t *j = NULL;
    if (render_field(f, v, &sub, &j, err) < 0) {
      json_decref(o);
      return -1;
    }
    if (j)
      json_object_set_new(o, f->json, j);
  }
  *out = o;
  return 0;
}

/* cpus / mem_limit / mem_reservation / pids_limit must agree with deploy.resources. */
int mtk_norm_check_limits(const char *name, const struct mtk_node *svc, struct mtk_err **err)
{
  struct mtk_node *deploy = mtk_node_get(svc, "deploy");
  struct mtk_node *res = mtk_node_is_map(deploy) ? mtk_node_get(deploy, "resources") : NULL;
  struct mtk_node *lim = mtk_node_is_map(res) ? mtk_node_get(res, "limits") : NULL;
  struct mtk_node *resv = mtk_node_is_map(res) ? mtk_node_get(res, "reservations") : NULL;
  double a = 0, b = 0;
  int64_t x = 0, y = 0;
  if (deploy == NULL)
    return 0;
  if (mtk_norm_float(mtk_node_get(svc, "cpus"), &a, err) < 0 ||
      mtk_norm_float(mtk_node_is_map(lim) ? mtk_node_get(lim, "cpus") : NULL, &b, err) < 0)
    return -1;
  if (a != 0 && lim && (float) a != (float) b)
    return mtk_node_err(mtk_node_get(svc, "cpus"), err,
                        "services.%s: can't set distinct values on 'cpus' and "
                        "'deploy.resources.limits.cpus': invalid compose project",
                        name);
  static const struct {
    const char *attr, *sub, *key, *what;
  } pairs[] = {
      {"mem_limit", "limits", "memory", "deploy.resources.limits.memory"},
      {"mem_reservation", "reservations", "memory", "deploy.resources.reservations.memory"},
      {"pids_limit", "limits", "pids", "deploy.resources.limits.pids"},
  };
  for (size_t i = 0; i < 3; i++) {
    struct mtk_node *r = strcmp(pairs[i].sub, "limits") == 0 ? lim : resv;
    struct mtk_node *own = mtk_node_get(svc, pairs[i].attr);
    struct mtk_node *dep = mtk_node_is_map(r) ? mtk_node_get(r, pairs[i].key) : NULL;
    bool bytes = i < 2;
    if ((bytes ? mtk_norm_bytes(own, &x, err) : mtk_norm_int(own, &x, err)) < 0 ||
        (bytes ? mtk_norm_bytes(dep, &y, err) : mtk_norm_int(dep, &y, err)) < 0)
      return -1;
    if (x != 0 && r && x != y)
      return mtk_node_err(own, err,
                          "services.%s: can't set distinct values on '%s' and '%s': invalid "
                          "compose project",
                          name, pairs[i].attr, pairs[i].what);
  }
  return 0;
}

/* secrets never print their content; configs not when it came from the environment. */
static void hide_content(json_t *top, bool secrets)
{
  const char *k;
  json_t *v;
  json_object_foreach(top, k, v)
  {
    const char *env = json_string_value(json_object_get(v, "environment"));
    if (secrets || (env && *env))
      json_object_del(v, "content");
  }
}

json_t *mtk_norm_render(const struct mtk_node *model, const struct mtk_norm_ctx *ctx,
                        struct mtk_err **err)
{
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(ctx->project_name ? ctx->project_name : ""));
  for (const struct mtk_norm_field *f = mtk_norm_project_fields; f->json; f++) {
    const struct mtk_node *v = mtk_node_get(model, f->json);
    struct rpath p = {NULL, f->json};
    json_t *j = NULL;
    if (render_field(f, v, &p, &j, err) < 0) {
      json_decref(o);
      return NULL;
    }
    if (j == NULL && strcmp(f->json, "services") == 0)
      j = json_object();
    if (j)
      json_object_set_new(o, f->json, j);
  }
  hide_content(json_object_get(o, "secrets"), true);
  hide_content(json_object_get(o, "configs"), false);
  for (size_t i = 0; i < model->len; i++)
    if (strncmp(model->pairs[i].key, "x-", 2) == 0)
      json_object_set_new(o, model->pairs[i].key, mtk_node_to_json(model->pairs[i].val));
  return sorted_object(o);
}
