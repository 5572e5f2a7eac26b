/* The typed values of compose-go's model, on the final node tree: what the
 * loader's mapstructure decoding (the DecodeMapstructure methods of types/, the string
 * casts of loader/mapstructure.go) and Project.MarshalJSON turn each
 * attribute into.  A table maps key paths ("services.*.healthcheck.interval",
 * "*" any key, "[]" any item) to one renderer each. */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/canonical.h"
#include "compose/values.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* A renderer rewrites *slot; it returns 0, 1 to drop the key (an omitted
 * zero value), or a negative value with *err. */
typedef int (*render_fn)(struct mtk_node **slot, const char *path, struct mtk_err **err);

static bool is_type(const struct mtk_node *n, enum mtk_scalar_type t)
{
  return n && n->kind == MTK_NODE_SCALAR && n->type == t;
}

static int bad_type(const struct mtk_node *n, const char *path, const char *want,
                    struct mtk_err **err)
{
  return mtk_node_err(n, err, "%s: expected type '%s', got unconvertible type '%s'", path, want,
                      mtk_compose_go_type(n));
}

static void set_str(struct mtk_node **slot, const char *s)
{
  mtk_compose_replace(slot, mtk_node_new_str(s, *slot));
}

/* ---- scalars ---- */

static int duration_any(struct mtk_node **slot, const char *path, bool drop_zero,
                        struct mtk_err **err)
{
  if (mtk_node_is_null(*slot))
    return 0;
  mtk_autofree char *s = mtk_compose_scalar_text(*slot);
  int64_t ns;
  struct mtk_err *derr = NULL;
  if (s == NULL)
    return bad_type(*slot, path, "duration", err);
  if (mtk_duration_parse(s, &ns, &derr) < 0) {
    mtk_node_err(*slot, err, "%s: %s", path, derr->msg);
    mtk_err_free(&derr);
    return -1;
  }
  if (ns == 0 && drop_zero)
    return 1;
  mtk_autofree char *out = mtk_duration_format(ns);
  set_str(slot, out);
  return 0;
}

static int r_duration(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  return duration_any(slot, path, false, err);
}

static int r_duration_nz(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  return duration_any(slot, path, true, err);
}

/* UnitBytes: integers as they are, strings parsed; anything else is ignored
 * by compose-go (zero, hence omitted), as are zero sizes. */
static int bytes_any(struct mtk_node **slot, const char *path, bool drop_zero, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  int64_t v = 0;
  if (is_type(n, MTK_SCALAR_INT)) {
    v = n->ival;
  } else if (mtk_node_is_str(n)) {
    struct mtk_err *berr = NULL;
    if (mtk_bytes_parse(n->str, &v, &berr) < 0) {
      mtk_node_err(n, err, "%s: %s", path, berr->msg);
      mtk_err_free(&berr);
      return -1;
    }
  }
  if (v == 0 && drop_zero)
    return 1;
  mtk_autofree char *s = mtk_xasprintf("%lld", (long long)v);
  set_str(slot, s);
  return 0;
}

static int r_bytes(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  return bytes_any(slot, path, true, err);
}

/* ThrottleDevice.Rate has no omitempty. */
static int r_bytes_always(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  return bytes_any(slot, path, false, err);
}

static int number(struct mtk_node **slot, const char *path, bool f32, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  double v;
  if (mtk_node_is_null(n))
    return 0;
  if (is_type(n, MTK_SCALAR_INT))
    v = (double)n->ival;
  else if (is_type(n, MTK_SCALAR_FLOAT))
    v = n->fval;
  else if (!mtk_node_is_str(n))
    return bad_type(n, path, f32 ? "float32" : "float64", err);
  else if (!mtk_compose_parse_float(n->str, &v))
    return mtk_node_err(n, err, "%s: strconv.ParseFloat: parsing \"%s\": invalid syntax", path,
                        n->str);
  if (f32)
    v = mtk_compose_go_float32(v);
  /* Go's encoding/json prints an integral float without a fraction. */
  if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(int64_t)v)
    mtk_compose_replace(slot, mtk_node_new_int((int64_t)v, n));
  else
    mtk_compose_replace(slot, mtk_node_new_float(v, n));
  return 0;
}

static int r_float32(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  return number(slot, path, true, err);
}

static int r_int(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  int64_t v;
  if (mtk_node_is_null(n) || is_type(n, MTK_SCALAR_INT))
    return 0;
  if (is_type(n, MTK_SCALAR_FLOAT) && isfinite(n->fval)) {
    v = (int64_t)n->fval; /* mapstructure truncates floats */
  } else if (mtk_node_is_str(n)) {
    if (!mtk_compose_parse_int(n->str, &v))
      return mtk_node_err(n, err, "%s: strconv.Atoi: parsing \"%s\": invalid syntax", path, n->str);
  } else {
    return bad_type(n, path, "int", err);
  }
  mtk_compose_replace(slot, mtk_node_new_int(v, n));
  return 0;
}

static int r_bool(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  bool b;
  if (mtk_node_is_null(n) || is_type(n, MTK_SCALAR_BOOL))
    return 0;
  if (!mtk_node_is_str(n))
    return bad_type(n, path, "bool", err);
  if (!mtk_compose_parse_bool(n->str, &b))
    return mtk_node_err(n, err, "%s: invalid boolean: %s", path, n->str);
  mtk_compose_replace(slot, mtk_node_new_bool(b, n));
  return 0;
}

/* ports[].published: a string, omitted when empty. */
static int r_published(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  mtk_autofree char *s = mtk_compose_scalar_text(*slot);
  if (s == NULL)
    return bad_type(*slot, path, "string", err);
  if (*s == '\0')
    return 1;
  set_str(slot, s);
  return 0;
}

/* FileMode: octal string or integer, printed "0%o". */
static int r_filemode(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  long long v;
  if (mtk_node_is_null(n))
    return 0;
  if (is_type(n, MTK_SCALAR_INT)) {
    v = n->ival;
  } else if (mtk_node_is_str(n)) {
    const char *s = n->str + (n->str[0] == '+' || n->str[0] == '-');
    char *end = NULL;
    v = strtoll(n->str, &end, 8);
    if (*s == '\0' || strspn(s, "01234567") != strlen(s) || *end)
      return mtk_node_err(n, err, "%s: strconv.ParseInt: parsing \"%s\": invalid syntax", path,
                          n->str);
  } else {
    return mtk_node_err(n, err, "%s: unexpected value type %s for mode", path,
                        mtk_compose_go_type(n));
  }
  mtk_autofree char *s = v < 0 ? mtk_xasprintf("0-%llo", (unsigned long long)-v)
                               : mtk_xasprintf("0%llo", (unsigned long long)v);
  set_str(slot, s);
  return 0;
}

/* DeviceCount: "all" is -1. */
static int r_device_count(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  int64_t v;
  if (is_type(n, MTK_SCALAR_INT))
    return 0;
  if (!mtk_node_is_str(n))
    return mtk_node_err(n, err, "%s: invalid type %s for device count", path,
                        mtk_compose_go_type(n));
  if (strcasecmp(n->str, "all") == 0)
    v = -1;
  else if (!mtk_compose_parse_int(n->str, &v))
    return mtk_node_err(n, err,
                        "%s: invalid value \"%s\", the only value allowed is 'all' or a number",
                        path, n->str);
  mtk_compose_replace(slot, mtk_node_new_int(v, n));
  return 0;
}

static int r_pull_policy(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  if (mtk_node_is_str(*slot) && strcmp((*slot)->str, "if_not_present") == 0)
    set_str(slot, "missing");
  return 0;
}

/* UlimitsConfig: a single integer, or soft/hard integers. */
static int r_ulimit(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (is_type(n, MTK_SCALAR_INT)) {
    if (n->ival == 0)
      mtk_compose_replace(slot, mtk_node_new_map(n)); /* Single 0 marshals as {} */
    return 0;
  }
  if (!mtk_node_is_map(n))
    return mtk_node_err(n, err, "%s: unexpected value type %s for ulimit", path,
                        mtk_compose_go_type(n));
  static const char *const keys[] = { "soft", "hard" };
  for (size_t i = 0; i < 2; i++) {
    for (size_t j = 0; j < n->len; j++) {
      if (strcmp(n->pairs[j].key, keys[i]) != 0)
        continue;
      mtk_autofree char *p = mtk_xasprintf("%s.%s", path, keys[i]);
      if (r_int(&n->pairs[j].val, p, err) < 0)
        return -1;
    }
  }
  return 0;
}

/* ---- lists ---- */

/* StringList and StringOrNumberList: a string is a one-item list. */
static int string_list(struct mtk_node **slot, const char *path, bool numbers, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (mtk_node_is_null(n))
    return 0;
  if (mtk_node_is_str(n)) {
    struct mtk_node *seq = mtk_node_new_seq(n);
    mtk_node_push(seq, n);
    *slot = seq;
    return 0;
  }
  if (n->kind != MTK_NODE_SEQ)
    return mtk_node_err(n, err, "%s: invalid type %s for string list", path,
                        mtk_compose_go_type(n));
  for (size_t i = 0; i < n->len; i++) {
    struct mtk_node *it = n->items[i];
    if (mtk_node_is_str(it))
      continue;
    mtk_autofree char *s = mtk_compose_scalar_text(it);
    if (!numbers || s == NULL || mtk_node_is_null(it))
      return mtk_node_err(it, err, "%s[%zu]: invalid type %s for string list", path, i,
                          mtk_compose_go_type(it));
    mtk_compose_replace(&n->items[i], mtk_node_new_str(s, it));
  }
  return 0;
}

static int r_strlist(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  return string_list(slot, path, false, err);
}

static int r_strnumlist(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  return string_list(slot, path, true, err);
}

/* go-shellwords v1.0.12 Parse (ParseEnv and ParseBacktick off). */
struct shell_state {
  bool escaped, dq, sq, bq, dollar;
  int got; /* 0 none, 1 word, 2 quoted word */
};

static bool shell_special(struct shell_state *st, struct mtk_strbuf *buf, char c, bool *stop,
                          bool *fail)
{
  switch (c) {
    case '`':
      if (!st->sq && !st->dq && !st->dollar)
        st->bq = !st->bq;
      return false;
    case ')':
      if (!st->sq && !st->dq && !st->bq)
        st->dollar = !st->dollar;
      return false;
    case '(':
      if (!st->sq && !st->dq && !st->bq) {
        if (!st->dollar && buf->len > 0 && buf->buf[buf->len - 1] == '$') {
          st->dollar = true;
          mtk_strbuf_addc(buf, '(');
          return true;
        }
        *fail = true;
        return true;
      }
      return false;
    case '"':
      if (!st->sq && !st->dollar) {
        if (st->dq)
          st->got = 2;
        st->dq = !st->dq;
        return true;
      }
      return false;
    case '\'':
      if (!st->dq && !st->dollar) {
        if (st->sq)
          st->got = 2;
        st->sq = !st->sq;
        return true;
      }
      return false;
    case ';':
    case '&':
    case '|':
    case '<':
    case '>':
      if (!(st->sq || st->dq || st->bq || st->dollar)) {
        if (c == '>' && buf->len > 0 && isdigit((unsigned char)buf->buf[0]))
          st->got = 0;
        *stop = true;
        return true;
      }
      return false;
  }
  return false;
}

static int shell_split(const char *line, struct mtk_node *out, const struct mtk_node *at)
{
  struct shell_state st = { 0 };
  mtk_autostrbuf buf = MTK_STRBUF_INIT;
  bool stop = false, fail = false;
  for (const char *p = line; *p && !stop && !fail; p++) {
    char c = *p;
    if (st.escaped) {
      mtk_strbuf_addc(&buf, c);
      st.escaped = false;
      st.got = 1;
      continue;
    }
    if (c == '\\') {
      if (st.sq)
        mtk_strbuf_addc(&buf, c);
      else
        st.escaped = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (st.sq || st.dq || st.bq || st.dollar) {
        mtk_strbuf_addc(&buf, c);
      } else if (st.got) {
        mtk_node_push(out, mtk_node_new_str(mtk_strbuf_str(&buf), at));
        mtk_strbuf_reset(&buf);
        st.got = 0;
      }
      continue;
    }
    if (shell_special(&st, &buf, c, &stop, &fail))
      continue;
    st.got = 1;
    mtk_strbuf_addc(&buf, c);
  }
  if (fail)
    return -1;
  if (st.got)
    mtk_node_push(out, mtk_node_new_str(mtk_strbuf_str(&buf), at));
  return st.escaped || st.sq || st.dq || st.bq || st.dollar ? -1 : 0;
}

/* ShellCommand: a string is split like a shell does (without expansion). */
static int r_shellcmd(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (mtk_node_is_null(n))
    return 0;
  if (mtk_node_is_str(n)) {
    struct mtk_node *seq = mtk_node_new_seq(n);
    if (shell_split(n->str, seq, n) < 0) {
      mtk_node_free(seq);
      return mtk_node_err(n, err, "%s: invalid command line string", path);
    }
    mtk_compose_replace(slot, seq);
    return 0;
  }
  return r_strlist(slot, path, err);
}

/* HostsList: list of "host=ip"/"host:ip" (ip may list several, comma
 * separated) or map host -> ip(s); printed as a sorted "host=ip" list. */
static int hosts_add(struct mtk_node *out, const char *host, const char *ips,
                     const struct mtk_node *at, const char *path, struct mtk_err **err)
{
  if (*host == '\0' || strpbrk(host, ":="))
    return mtk_node_err(at, err, "%s: bad host name '%s'", path, host);
  mtk_autofree char *copy = mtk_xstrdup(ips);
  char *save = copy;
  for (char *ip = strsep(&save, ","); ip; ip = strsep(&save, ",")) {
    size_t l = strlen(ip);
    if (l > 2 && ip[0] == '[' && ip[l - 1] == ']') {
      ip[l - 1] = '\0';
      ip++;
    }
    mtk_autofree char *e = mtk_xasprintf("%s=%s", host, ip);
    mtk_node_push(out, mtk_node_new_str(e, at));
  }
  return 0;
}

static int hosts_item(struct mtk_node *out, const struct mtk_node *it, const char *path,
                      struct mtk_err **err)
{
  mtk_autofree char *s = mtk_compose_scalar_text(it);
  if (s == NULL)
    return mtk_node_err(it, err, "%s: unexpected value type %s for extra_hosts entry", path,
                        mtk_compose_go_type(it));
  char *sep = strchr(s, '=');
  if (sep == NULL)
    sep = strchr(s, ':');
  if (sep == NULL)
    return mtk_node_err(it, err, "%s: invalid additional host, missing IP: %s", path, s);
  *sep = '\0';
  return hosts_add(out, s, sep + 1, it, path, err);
}

static int cmp_nodes(const void *a, const void *b)
{
  const struct mtk_node *x = *(struct mtk_node *const *)a, *y = *(struct mtk_node *const *)b;
  return strcmp(x->str, y->str);
}

static int hosts_map(struct mtk_node *out, const struct mtk_node *n, const char *path,
                     struct mtk_err **err)
{
  for (size_t i = 0; i < n->len; i++) {
    const struct mtk_node *v = n->pairs[i].val;
    const char *host = n->pairs[i].key;
    if (v->kind == MTK_NODE_SEQ) {
      for (size_t j = 0; j < v->len; j++) {
        mtk_autofree char *ip = mtk_compose_scalar_text(v->items[j]);
        if (hosts_add(out, host, ip ? ip : "", v->items[j], path, err) < 0)
          return -1;
      }
      continue;
    }
    if (!mtk_node_is_str(v) && !mtk_node_is_null(v))
      return mtk_node_err(v, err, "%s: unexpected value type %s for extra_hosts entry", path,
                          mtk_compose_go_type(v));
    /* One value: kept whole (no comma split), brackets stripped. */
    const char *ip = mtk_node_is_null(v) ? "" : v->str;
    size_t l = strlen(ip);
    mtk_autofree char *e = l > 2 && ip[0] == '[' && ip[l - 1] == ']'
                               ? mtk_xasprintf("%s=%.*s", host, (int)l - 2, ip + 1)
                               : mtk_xasprintf("%s=%s", host, ip);
    if (*host == '\0' || strpbrk(host, ":="))
      return mtk_node_err(v, err, "%s: bad host name '%s'", path, host);
    mtk_node_push(out, mtk_node_new_str(e, v));
  }
  return 0;
}

static int r_hosts(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (mtk_node_is_null(n))
    return 0;
  struct mtk_node *out = mtk_node_new_seq(n);
  int r = 0;
  if (n->kind == MTK_NODE_SEQ) {
    for (size_t i = 0; i < n->len && r == 0; i++)
      r = hosts_item(out, n->items[i], path, err);
  } else if (n->kind == MTK_NODE_MAP) {
    r = hosts_map(out, n, path, err);
  } else {
    r = mtk_node_err(n, err, "%s: unexpected value type %s for extra_hosts", path,
                     mtk_compose_go_type(n));
  }
  if (r < 0) {
    mtk_node_free(out);
    return -1;
  }
  qsort(out->items, out->len, sizeof(*out->items), cmp_nodes);
  mtk_compose_replace(slot, out);
  return 0;
}

/* ---- maps ---- */

enum map_kind {
  MAP_OPTIONS, /* Options, Labels, Mapping, map[string]string: null -> "" */
  MAP_EQUALS,  /* MappingWithEquals: null kept */
};

static int string_map(struct mtk_node **slot, const char *path, enum map_kind kind,
                      struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (mtk_node_is_null(n))
    return 0;
  if (n->kind == MTK_NODE_SEQ) {
    struct mtk_node *map = mtk_node_new_map(n);
    for (size_t i = 0; i < n->len; i++) {
      mtk_autofree char *s = mtk_compose_scalar_text(n->items[i]);
      if (s == NULL) {
        mtk_node_free(map);
        return bad_type(n->items[i], path, "string", err);
      }
      char *eq = strchr(s, '=');
      if (eq)
        *eq = '\0';
      size_t kl = strlen(s);
      if (kind == MAP_EQUALS && kl > 0 && isspace((unsigned char)s[kl - 1])) {
        mtk_node_free(map);
        return mtk_node_err(n->items[i], err,
                            "%s: environment variable %s is declared with a trailing space", path,
                            s);
      }
      mtk_node_set(map, s,
                   eq                   ? mtk_node_new_str(eq + 1, n->items[i])
                   : kind == MAP_EQUALS ? mtk_node_new_null(n->items[i])
                                        : mtk_node_new_str("", n->items[i]));
    }
    mtk_compose_replace(slot, map);
    return 0;
  }
  if (n->kind != MTK_NODE_MAP)
    return mtk_node_err(n, err, "%s: unexpected value type %s for mapping", path,
                        mtk_compose_go_type(n));
  for (size_t i = 0; i < n->len; i++) {
    struct mtk_node *v = n->pairs[i].val;
    if (mtk_node_is_str(v) || (kind == MAP_EQUALS && mtk_node_is_null(v)))
      continue;
    mtk_autofree char *s = mtk_compose_scalar_text(v);
    if (s == NULL)
      return mtk_node_err(v, err, "%s.%s: unexpected value type %s", path, n->pairs[i].key,
                          mtk_compose_go_type(v));
    mtk_compose_replace(&n->pairs[i].val, mtk_node_new_str(s, v));
  }
  return 0;
}

static int r_options(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  return string_map(slot, path, MAP_OPTIONS, err);
}

static int r_equals(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  return string_map(slot, path, MAP_EQUALS, err);
}

/* MultiOptions: every value a list of strings. */
static int r_multioptions(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (!mtk_node_is_map(n))
    return mtk_node_is_null(n) ? 0 : bad_type(n, path, "map", err);
  for (size_t i = 0; i < n->len; i++) {
    struct mtk_node **v = &n->pairs[i].val;
    if ((*v)->kind == MTK_NODE_SCALAR) {
      struct mtk_node *seq = mtk_node_new_seq(*v);
      mtk_node_push(seq, *v);
      *v = seq;
    }
    if (string_list(v, path, true, err) < 0)
      return -1;
  }
  return 0;
}

/* SSHConfig: "default" alone, or "id=path" (compose-go's MarshalJSON would
 * emit invalid JSON for a path; the YAML form is "id: path"). */
static int r_ssh(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (!mtk_node_is_map(n))
    return 0;
  struct mtk_node *seq = mtk_node_new_seq(n);
  for (size_t i = 0; i < n->len; i++) {
    const struct mtk_node *v = n->pairs[i].val;
    mtk_autofree char *p = mtk_node_is_null(v) ? NULL : mtk_compose_scalar_text(v);
    mtk_autofree char *e
        = p && *p ? mtk_xasprintf("%s=%s", n->pairs[i].key, p) : mtk_xstrdup(n->pairs[i].key);
    mtk_node_push(seq, mtk_node_new_str(e, v));
  }
  mtk_compose_replace(slot, seq);
  return 0;
}

/* ---- the table ---- */

#define S "services.*."
static const struct {
  const char *pattern;
  render_fn fn;
} rules[] = {
  { S "healthcheck.interval", r_duration },
  { S "healthcheck.timeout", r_duration },
  { S "healthcheck.start_period", r_duration },
  { S "healthcheck.start_interval", r_duration },
  { S "stop_grace_period", r_duration },
  { S "deploy.restart_policy.delay", r_duration },
  { S "deploy.restart_policy.window", r_duration },
  { S "deploy.update_config.delay", r_duration_nz },
  { S "deploy.update_config.monitor", r_duration_nz },
  { S "deploy.rollback_config.delay", r_duration_nz },
  { S "deploy.rollback_config.monitor", r_duration_nz },
  { S "mem_limit", r_bytes },
  { S "mem_reservation", r_bytes },
  { S "memswap_limit", r_bytes },
  { S "mem_swappiness", r_bytes },
  { S "shm_size", r_bytes },
  { S "build.shm_size", r_bytes },
  { S "deploy.resources.limits.memory", r_bytes },
  { S "deploy.resources.reservations.memory", r_bytes },
  { S "volumes.[].tmpfs.size", r_bytes },
  { S "blkio_config.device_read_bps.[].rate", r_bytes_always },
  { S "blkio_config.device_read_iops.[].rate", r_bytes_always },
  { S "blkio_config.device_write_bps.[].rate", r_bytes_always },
  { S "blkio_config.device_write_iops.[].rate", r_bytes_always },
  { S "cpus", r_float32 },
  { S "cpu_percent", r_float32 },
  { S "deploy.resources.limits.cpus", r_float32 },
  { S "deploy.resources.reservations.cpus", r_float32 },
  { S "deploy.update_config.max_failure_ratio", r_float32 },
  { S "deploy.rollback_config.max_failure_ratio", r_float32 },
  { S "cpu_count", r_int },
  { S "cpu_period", r_int },
  { S "cpu_quota", r_int },
  { S "cpu_rt_period", r_int },
  { S "cpu_rt_runtime", r_int },
  { S "cpu_shares", r_int },
  { S "oom_score_adj", r_int },
  { S "pids_limit", r_int },
  { S "scale", r_int },
  { S "deploy.replicas", r_int },
  { S "deploy.update_config.parallelism", r_int },
  { S "deploy.rollback_config.parallelism", r_int },
  { S "deploy.restart_policy.max_attempts", r_int },
  { S "deploy.placement.max_replicas_per_node", r_int },
  { S "deploy.resources.limits.pids", r_int },
  { S "deploy.resources.reservations.pids", r_int },
  { S "deploy.resources.limits.generic_resources.[].discrete_resource_spec.value", r_int },
  { S "deploy.resources.reservations.generic_resources.[].discrete_resource_spec.value", r_int },
  { S "healthcheck.retries", r_int },
  { S "ports.[].target", r_int },
  { S "networks.*.gw_priority", r_int },
  { S "networks.*.priority", r_int },
  { S "volumes.[].tmpfs.mode", r_int },
  { S "blkio_config.weight", r_int },
  { S "blkio_config.weight_device.[].weight", r_int },
  { "models.*.context_size", r_int },
  { S "attach", r_bool },
  { S "init", r_bool },
  { S "oom_kill_disable", r_bool },
  { S "privileged", r_bool },
  { S "read_only", r_bool },
  { S "stdin_open", r_bool },
  { S "tty", r_bool },
  { S "use_api_socket", r_bool },
  { S "depends_on.*.required", r_bool },
  { S "depends_on.*.restart", r_bool },
  { S "healthcheck.disable", r_bool },
  { S "volumes.[].read_only", r_bool },
  { S "volumes.[].bind.create_host_path", r_bool },
  { S "volumes.[].volume.nocopy", r_bool },
  { S "build.no_cache", r_bool },
  { S "build.pull", r_bool },
  { S "build.privileged", r_bool },
  { S "post_start.[].privileged", r_bool },
  { S "pre_stop.[].privileged", r_bool },
  { S "pre_start.[].privileged", r_bool },
  { S "post_start.[].per_replica", r_bool },
  { S "pre_stop.[].per_replica", r_bool },
  { S "pre_start.[].per_replica", r_bool },
  { S "develop.watch.[].initial_sync", r_bool },
  { "networks.*.external", r_bool },
  { "networks.*.internal", r_bool },
  { "networks.*.attachable", r_bool },
  { "networks.*.enable_ipv4", r_bool },
  { "networks.*.enable_ipv6", r_bool },
  { "volumes.*.external", r_bool },
  { "secrets.*.external", r_bool },
  { "configs.*.external", r_bool },
  { S "ports.[].published", r_published },
  { S "secrets.[].mode", r_filemode },
  { S "configs.[].mode", r_filemode },
  { S "build.secrets.[].mode", r_filemode },
  { S "deploy.resources.limits.devices.[].count", r_device_count },
  { S "deploy.resources.reservations.devices.[].count", r_device_count },
  { S "gpus.[].count", r_device_count },
  { S "pull_policy", r_pull_policy },
  { S "ulimits.*", r_ulimit },
  { S "build.ulimits.*", r_ulimit },
  { S "extra_hosts", r_hosts },
  { S "build.extra_hosts", r_hosts },
  { S "command", r_shellcmd },
  { S "entrypoint", r_shellcmd },
  { S "post_start.[].command", r_shellcmd },
  { S "pre_stop.[].command", r_shellcmd },
  { S "pre_start.[].command", r_shellcmd },
  { S "develop.watch.[].exec.command", r_shellcmd },
  { S "dns", r_strlist },
  { S "dns_search", r_strlist },
  { S "tmpfs", r_strlist },
  { S "build.cache_from", r_strlist },
  { S "build.cache_to", r_strlist },
  { S "build.no_cache_filter", r_strlist },
  { S "build.tags", r_strlist },
  { S "build.platforms", r_strlist },
  { "include.[].path", r_strlist },
  { "include.[].env_file", r_strlist },
  { S "expose", r_strnumlist },
  { S "group_add", r_strnumlist },
  { S "environment", r_equals },
  { S "build.args", r_equals },
  { S "post_start.[].environment", r_equals },
  { S "pre_stop.[].environment", r_equals },
  { S "pre_start.[].environment", r_equals },
  { S "labels", r_options },
  { S "build.labels", r_options },
  { S "deploy.labels", r_options },
  { S "annotations", r_options },
  { S "sysctls", r_options },
  { S "build.additional_contexts", r_options },
  { S "volumes.[].volume.labels", r_options },
  { S "logging.options", r_options },
  { S "storage_opt", r_options },
  { S "log_opt", r_options },
  { S "networks.*.driver_opts", r_options },
  { "networks.*.labels", r_options },
  { "networks.*.driver_opts", r_options },
  { "networks.*.ipam.options", r_options },
  { "networks.*.ipam.config.[].aux_addresses", r_options },
  { "volumes.*.labels", r_options },
  { "volumes.*.driver_opts", r_options },
  { "secrets.*.labels", r_options },
  { "secrets.*.driver_opts", r_options },
  { "configs.*.labels", r_options },
  { "configs.*.driver_opts", r_options },
  { S "provider.options", r_multioptions },
  { S "build.ssh", r_ssh },
};
#undef S

static void path_truncate(struct mtk_strbuf *sb, size_t len)
{
  if (sb->buf) {
    sb->len = len;
    sb->buf[len] = '\0';
  }
}

/* Applies fn at every node matching pattern below *slot. */
static int walk(struct mtk_node *n, const char *pattern, struct mtk_strbuf *path, render_fn fn,
                struct mtk_err **err)
{
  const char *dot = strchr(pattern, '.');
  size_t plen = dot ? (size_t)(dot - pattern) : strlen(pattern);
  const char *rest = dot ? dot + 1 : NULL;
  size_t mark = path->len;
  bool any = plen == 1 && pattern[0] == '*';
  if (plen == 2 && memcmp(pattern, "[]", 2) == 0) {
    for (size_t i = 0; mtk_node_is_seq(n) && i < n->len; i++) {
      mtk_strbuf_addf(path, "[%zu]", i);
      int r = rest ? walk(n->items[i], rest, path, fn, err)
                   : fn(&n->items[i], mtk_strbuf_str(path), err);
      path_truncate(path, mark);
      if (r < 0)
        return r;
    }
    return 0;
  }
  for (size_t i = 0; mtk_node_is_map(n) && i < n->len; i++) {
    const char *k = n->pairs[i].key;
    if (!any && (strlen(k) != plen || memcmp(k, pattern, plen) != 0))
      continue;
    mtk_strbuf_addf(path, "%s%s", mark ? "." : "", k);
    int r = rest ? walk(n->pairs[i].val, rest, path, fn, err)
                 : fn(&n->pairs[i].val, mtk_strbuf_str(path), err);
    path_truncate(path, mark);
    if (r < 0)
      return r;
    if (r == 1) {
      mtk_node_free(mtk_node_take(n, k));
      i--;
    }
  }
  return 0;
}

int mtk_compose_render_values(struct mtk_node *root, struct mtk_err **err)
{
  mtk_autostrbuf path = MTK_STRBUF_INIT;
  for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
    if (walk(root, rules[i].pattern, &path, rules[i].fn, err) < 0)
      return -1;
  }
  return 0;
}
