/* Merge of compose documents (merge.h): compose-go's override.MergeYaml with
 * its table of special rules (override/merge.go), override.ExtendService,
 * and the small Go-compatibility helpers (tree.Path matching, fmt verbs, ==)
 * the other merge*.c files share.  Written from compose-go's behaviour, not
 * its code; where compose-go would panic on a malformed document we pick
 * the nearest sane result instead. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/merge.h"

/* ---- Go compatibility helpers ----------------------------------------- */

static bool is_nil(const struct mtk_node *n)
{
  return mtk_node_is_null(n);
}

bool mtk_compose_path_matches(const struct mtk_compose_path *p, const char *pattern)
{
  const char *segs[16];
  size_t depth = 0;
  for (; p; p = p->up) {
    if (depth == 16)
      return false;
    segs[depth++] = p->seg;
  }
  /* segs holds the path from the leaf up: walk the pattern from the start
   * while taking segments from the end of segs. */
  const char *s = pattern;
  for (size_t i = depth; i > 0; i--) {
    const char *dot = strchr(s, '.');
    size_t n = dot ? (size_t) (dot - s) : strlen(s);
    bool any = n == 1 && s[0] == '*';
    if (!any && (strlen(segs[i - 1]) != n || strncmp(segs[i - 1], s, n) != 0))
      return false;
    if (i > 1) {
      if (!dot)
        return false;
      s = dot + 1;
    } else if (dot) {
      return false;
    }
  }
  return depth > 0 || *pattern == '\0';
}

static void path_add(struct mtk_strbuf *sb, const struct mtk_compose_path *p)
{
  if (p == NULL)
    return;
  path_add(sb, p->up);
  if (p->up)
    mtk_strbuf_addc(sb, '.');
  mtk_strbuf_adds(sb, p->seg);
}

char *mtk_compose_path_str(const struct mtk_compose_path *p)
{
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  path_add(&sb, p);
  return mtk_strbuf_steal(&sb);
}

/* strconv.FormatFloat(d, 'g', -1, 64), which is what fmt's %v prints. */
static void go_float(struct mtk_strbuf *sb, double d)
{
  if (isnan(d)) {
    mtk_strbuf_adds(sb, "NaN");
    return;
  }
  if (isinf(d)) {
    mtk_strbuf_adds(sb, d > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (d == 0) {
    mtk_strbuf_adds(sb, signbit(d) ? "-0" : "0");
    return;
  }
  char buf[64];
  for (int prec = 0; prec < 17; prec++) {
    snprintf(buf, sizeof(buf), "%.*e", prec, d);
    if (strtod(buf, NULL) == d)
      break;
  }
  /* buf: [-]d[.ddd]e[+-]xx -> sign, digits, decimal exponent. */
  char digits[32];
  size_t nd = 0;
  const char *q = buf;
  bool neg = *q == '-';
  if (neg)
    q++;
  for (; *q && *q != 'e'; q++)
    if (*q != '.')
      digits[nd++] = *q;
  while (nd > 1 && digits[nd - 1] == '0')
    nd--;
  int exp = atoi(q + 1);
  if (neg)
    mtk_strbuf_addc(sb, '-');
  if (exp < -4 || exp >= 6) {
    mtk_strbuf_addc(sb, digits[0]);
    if (nd > 1) {
      mtk_strbuf_addc(sb, '.');
      mtk_strbuf_add(sb, digits + 1, nd - 1);
    }
    mtk_strbuf_addf(sb, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    return;
  }
  if (exp < 0) {
    mtk_strbuf_adds(sb, "0.");
    for (int i = -1; i > exp; i--)
      mtk_strbuf_addc(sb, '0');
    mtk_strbuf_add(sb, digits, nd);
    return;
  }
  for (int i = 0; i <= exp; i++)
    mtk_strbuf_addc(sb, (size_t) i < nd ? digits[i] : '0');
  if (nd > (size_t) exp + 1) {
    mtk_strbuf_addc(sb, '.');
    mtk_strbuf_add(sb, digits + exp + 1, nd - (size_t) exp - 1);
  }
}

static int cmp_pair_keys(const void *a, const void *b)
{
  const struct mtk_node_pair *const *x = a, *const *y = b;
  return strcmp((*x)->key, (*y)->key);
}

static void go_fmt_collection(struct mtk_strbuf *sb, char verb, const struct mtk_node *n)
{
  if (n->kind == MTK_NODE_SEQ) {
    mtk_strbuf_addc(sb, '[');
    for (size_t i = 0; i < n->len; i++) {
      if (i)
        mtk_strbuf_addc(sb, ' ');
      mtk_compose_go_fmt(sb, verb, n->items[i]);
    }
    mtk_strbuf_addc(sb, ']');
    return;
  }
  /* fmt prints maps sorted by key. */
  mtk_autofree const struct mtk_node_pair **sorted = mtk_xcalloc(n->len + 1, sizeof(*sorted));
  for (size_t i = 0; i < n->len; i++)
    sorted[i] = &n->pairs[i];
  qsort(sorted, n->len, sizeof(*sorted), cmp_pair_keys);
  mtk_strbuf_adds(sb, "map[");
  for (size_t i = 0; i < n->len; i++) {
    if (i)
      mtk_strbuf_addc(sb, ' ');
    if (verb == 'd')
      mtk_strbuf_addf(sb, "%%!d(string=%s)", sorted[i]->key);
    else
      mtk_strbuf_adds(sb, sorted[i]->key);
    mtk_strbuf_addc(sb, ':');
    mtk_compose_go_fmt(sb, verb, sorted[i]->val);
  }
  mtk_strbuf_addc(sb, ']');
}

static void go_fmt_plain(struct mtk_strbuf *sb, const struct mtk_node *n)
{
  switch (n->type) {
    case MTK_SCALAR_INT:
      mtk_strbuf_addf(sb, "%lld", (long long) n->ival);
      break;
    case MTK_SCALAR_FLOAT:
      go_float(sb, n->fval);
      break;
    case MTK_SCALAR_BOOL:
      mtk_strbuf_adds(sb, n->ival ? "true" : "false");
      break;
    default:
      mtk_strbuf_adds(sb, n->str ? n->str : "");
      break;
  }
}

void mtk_compose_go_fmt(struct mtk_strbuf *sb, char verb, const struct mtk_node *n)
{
  if (is_nil(n)) {
    if (verb == 'v')
      mtk_strbuf_adds(sb, "<nil>");
    else
      mtk_strbuf_addf(sb, "%%!%c(<nil>)", verb);
    return;
  }
  if (n->kind != MTK_NODE_SCALAR) {
    go_fmt_collection(sb, verb, n);
    return;
  }
  bool ok = verb == 'v' || (verb == 's' && n->type == MTK_SCALAR_STR) ||
            (verb == 'd' && n->type == MTK_SCALAR_INT);
  if (ok) {
    go_fmt_plain(sb, n);
    return;
  }
  mtk_strbuf_addf(sb, "%%!%c(%s=", verb, mtk_compose_go_type(n));
  go_fmt_plain(sb, n);
  mtk_strbuf_addc(sb, ')');
}

bool mtk_compose_go_equal(const struct mtk_node *a, const struct mtk_node *b)
{
  if (is_nil(a) || is_nil(b))
    return is_nil(a) && is_nil(b);
  if (a->kind != MTK_NODE_SCALAR || b->kind != MTK_NODE_SCALAR || a->type != b->type)
    return false;
  switch (a->type) {
    case MTK_SCALAR_INT:
    case MTK_SCALAR_BOOL:
      return a->ival == b->ival;
    case MTK_SCALAR_FLOAT:
      return a->fval == b->fval;
    default:
      return strcmp(a->str ? a->str : "", b->str ? b->str : "") == 0;
  }
}

/* ---- Node plumbing ------------------------------------------------------ */

static ssize_t find_key(const struct mtk_node *map, const char *key)
{
  for (size_t i = 0; i < map->len; i++)
    if (strcmp(map->pairs[i].key, key) == 0)
      return (ssize_t) i;
  return -1;
}

/* Appends a new key (absent from map) with the position of the key it came from. */
static void append_pair(struct mtk_node *map, const struct mtk_node_pair *from,
                        struct mtk_node *val)
{
  mtk_node_set(map, from->key, val);
  map->pairs[map->len - 1].line = from->line;
  map->pairs[map->len - 1].col = from->col;
}

static int cannot_override(const struct mtk_node *at, const struct mtk_compose_path *p,
                           struct mtk_err **err)
{
  mtk_autofree char *s = mtk_compose_path_str(p);
  return mtk_node_err(at, err, "cannot override %s", s);
}

/* ---- MergeYaml ---------------------------------------------------------- */

/* A merger replaces *slot by the merge of *slot (left, earlier) and o
 * (right, later, consumed).  On failure *slot stays a valid tree. */
struct merger {
  const char *pattern;
  int (*fn)(struct mtk_node **slot, struct mtk_node *o, const struct mtk_compose_path *p,
            struct mtk_err **err);
};

static int merge_yaml(struct mtk_node **slot, struct mtk_node *o, const struct mtk_compose_path *p,
                      struct mtk_err **err);

/* mergeMappings: merges the entries of o (consumed) into map. */
static int merge_mappings(struct mtk_node *map, struct mtk_node *o,
                          const struct mtk_compose_path *p, struct mtk_err **err)
{
  int rc = 0;
  for (size_t i = 0; rc == 0 && o && o->kind == MTK_NODE_MAP && i < o->len; i++) {
    struct mtk_node *v = mtk_steal_ptr(&o->pairs[i].val);
    if (v == NULL)
      v = mtk_node_new_null(NULL);
    ssize_t j = find_key(map, o->pairs[i].key);
    if (j < 0) {
      append_pair(map, &o->pairs[i], v);
      continue;
    }
    struct mtk_compose_path next = {p, o->pairs[i].key};
    rc = merge_yaml(&map->pairs[j].val, v, &next, err);
  }
  mtk_node_free(o);
  return rc;
}

/* Replaces *slot by o. */
static void replace(struct mtk_node **slot, struct mtk_node *o)
{
  mtk_node_free(*slot);
  *slot = o ? o : mtk_node_new_null(NULL);
}

static int merge_default(struct mtk_node **slot, struct mtk_node *o,
                         const struct mtk_compose_path *p, struct mtk_err **err)
{
  struct mtk_node *e = *slot;
  if (is_nil(o)) {
    mtk_node_free(o);
    return 0;
  }
  if (mtk_node_is_map(e)) {
    if (!mtk_node_is_map(o)) {
      int rc = cannot_override(o, p, err);
      mtk_node_free(o);
      return rc;
    }
    return merge_mappings(e, o, p, err);
  }
  if (mtk_node_is_seq(e)) {
    if (!mtk_node_is_seq(o)) {
      int rc = cannot_override(o, p, err);
      mtk_node_free(o);
      return rc;
    }
    for (size_t i = 0; i < o->len; i++)
      mtk_node_push(e, mtk_steal_ptr(&o->items[i]));
    o->len = 0;
    mtk_node_free(o);
    return 0;
  }
  replace(slot, o);
  return 0;
}

/* ---- The special rules ---------------------------------------------------- */

static int m_override(struct mtk_node **slot, struct mtk_node *o, const struct mtk_compose_path *p,
                      struct mtk_err **err)
{
  (void) p, (void) err;
  replace(slot, o);
  return 0;
}

/* ulimits.*: compose-go merges the override with itself, i.e. replaces. */
#define m_ulimit m_override

static int cmp_str_nodes(const void *a, const void *b)
{
  const struct mtk_node *const *x = a, *const *y = b;
  return strcmp((*x)->str, (*y)->str);
}

static void push_kv(struct mtk_node *seq, const char *key, const struct mtk_node *v,
                    const struct mtk_node *at)
{
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, key);
  mtk_strbuf_addc(&sb, '=');
  mtk_compose_go_fmt(&sb, 'v', v);
  mtk_node_push(seq, mtk_node_new_str(mtk_strbuf_str(&sb), at));
  mtk_strbuf_free(&sb);
}

/* convertIntoSequence (consumes n): a mapping becomes sorted "k=v" / "k"
 * strings, a string a one-item sequence; anything else no items. */
static struct mtk_node *into_sequence(struct mtk_node *n)
{
  if (mtk_node_is_seq(n))
    return n;
  struct mtk_node *seq = mtk_node_new_seq(n);
  if (mtk_node_is_str(n)) {
    mtk_node_push(seq, n);
    return seq;
  }
  for (size_t i = 0; mtk_node_is_map(n) && i < n->len; i++) {
    const struct mtk_node *v = n->pairs[i].val;
    if (is_nil(v))
      mtk_node_push(seq, mtk_node_new_str(n->pairs[i].key, v ? v : n));
    else if (mtk_node_is_seq(v))
      for (size_t k = 0; k < v->len; k++)
        push_kv(seq, n->pairs[i].key, v->items[k], v->items[k] ? v->items[k] : v);
    else
      push_kv(seq, n->pairs[i].key, v, v);
  }
  if (mtk_node_is_map(n) && seq->len > 1)
    qsort(seq->items, seq->len, sizeof(*seq->items), cmp_str_nodes);
  mtk_node_free(n);
  return seq;
}

static int m_to_sequence(struct mtk_node **slot, struct mtk_node *o,
                         const struct mtk_compose_path *p, struct mtk_err **err)
{
  (void) p, (void) err;
  struct mtk_node *right = into_sequence(mtk_steal_ptr(slot));
  struct mtk_node *left = into_sequence(o);
  for (size_t i = 0; i < left->len; i++)
    mtk_node_push(right, mtk_steal_ptr(&left->items[i]));
  left->len = 0;
  mtk_node_free(left);
  *slot = right;
  return 0;
}

/* extra_hosts: appended, minus the later entries the earlier list already has. */
static int m_extra_hosts(struct mtk_node **slot, struct mtk_node *o,
                         const struct mtk_compose_path *p, struct mtk_err **err)
{
  (void) p, (void) err;
  struct mtk_node *right = into_sequence(mtk_steal_ptr(slot));
  struct mtk_node *left = into_sequence(o);
  size_t nright = right->len;
  for (size_t i = 0; i < left->len; i++) {
    bool dup = false;
    for (size_t k = 0; k < nright && !dup; k++)
      dup = mtk_compose_go_equal(right->items[k], left->items[i]);
    if (!dup)
      mtk_node_push(right, mtk_steal_ptr(&left->items[i]));
  }
  mtk_node_free(left);
  *slot = right;
  return 0;
}

/* convertIntoMapping (consumes n): a sequence of names becomes a mapping of
 * copies of def (or nulls); anything but a mapping an empty mapping. */
static struct mtk_node *into_mapping(struct mtk_node *n, const struct mtk_node *def)
{
  if (mtk_node_is_map(n))
    return n;
  struct mtk_node *map = mtk_node_new_map(n);
  for (size_t i = 0; mtk_node_is_seq(n) && i < n->len; i++) {
    const struct mtk_node *item = n->items[i];
    if (item == NULL || item->kind != MTK_NODE_SCALAR || is_nil(item))
      continue;
    struct mtk_node *v = def ? mtk_node_copy(def) : mtk_node_new_null(item);
    if (def) {
      v->file = item->file, v->line = item->line, v->col = item->col;
      for (size_t k = 0; k < v->len; k++)
        v->pairs[k].val->file = item->file, v->pairs[k].val->line = item->line,
        v->pairs[k].val->col = item->col;
    }
    mtk_node_set(map, item->str, v);
    struct mtk_node_pair *pair = &map->pairs[find_key(map, item->str)];
    pair->line = item->line, pair->col = item->col;
  }
  mtk_node_free(n);
  return map;
}

static int merge_as_mappings(struct mtk_node **slot, struct mtk_node *o,
                             const struct mtk_compose_path *p, const struct mtk_node *def,
                             struct mtk_err **err)
{
  *slot = into_mapping(*slot, def);
  return merge_mappings(*slot, into_mapping(o, def), p, err);
}

static int m_depends_on(struct mtk_node **slot, struct mtk_node *o,
                        const struct mtk_compose_path *p, struct mtk_err **err)
{
  struct mtk_node *def = mtk_node_new_map(NULL);
  mtk_node_set(def, "condition", mtk_node_new_str("service_started", NULL));
  mtk_node_set(def, "required", mtk_node_new_bool(true, NULL));
  int rc = merge_as_mappings(slot, o, p, def, err);
  mtk_node_free(def);
  return rc;
}

/* services.*.networks and services.*.models */
static int m_to_mapping(struct mtk_node **slot, struct mtk_node *o,
                        const struct mtk_compose_path *p, struct mtk_err **err)
{
  return merge_as_mappings(slot, o, p, NULL, err);
}

/* build: a string is {context: string}. */
static struct mtk_node *into_build(struct mtk_node *n)
{
  if (mtk_node_is_map(n))
    return n;
  struct mtk_node *map = mtk_node_new_map(n);
  if (mtk_node_is_str(n))
    mtk_node_set(map, "context", n);
  else
    mtk_node_free(n);
  return map;
}

static int m_build(struct mtk_node **slot, struct mtk_node *o, const struct mtk_compose_path *p,
                   struct mtk_err **err)
{
  *slot = into_build(*slot);
  return merge_mappings(*slot, into_build(o), p, err);
}

/* logging: options merge only when both declare the same driver (or one none). */
static int m_logging(struct mtk_node **slot, struct mtk_node *o, const struct mtk_compose_path *p,
                     struct mtk_err **err)
{
  if (is_nil(o)) {
    mtk_node_free(o);
    return 0;
  }
  if (!mtk_node_is_map(*slot) || !mtk_node_is_map(o)) {
    replace(slot, o);
    return 0;
  }
  const struct mtk_node_pair *d = mtk_node_get_pair(o, "driver");
  const struct mtk_node_pair *c = mtk_node_get_pair(*slot, "driver");
  if (!d || !c || mtk_compose_go_equal(d->val, c->val))
    return merge_mappings(*slot, o, p, err);
  replace(slot, o);
  return 0;
}

/* Index in res of the first mapping whose subnet equals subnet (Go ==). */
static ssize_t find_subnet(struct mtk_node **res, size_t n, const struct mtk_node *subnet)
{
  for (size_t i = 0; i < n; i++)
    if (mtk_compose_go_equal(mtk_node_get(res[i], "subnet"), subnet))
      return (ssize_t) i;
  return -1;
}

/* networks.*.ipam.config, as compose-go's mergeIPAMConfig (quirks included:
 * an earlier config no later one matches is dropped).  res holds borrowed
 * pointers to the working mappings, as Go's slice of maps does. */
static int ipam_merge(struct mtk_node *c, struct mtk_node *o, const struct mtk_compose_path *p,
                      struct mtk_node *out, struct mtk_err **err)
{
  size_t n = 0;
  mtk_autofree struct mtk_node **res = mtk_xcalloc(c->len * o->len + 1, sizeof(*res));
  mtk_autofree struct mtk_node **lefts = mtk_xcalloc(o->len + 1, sizeof(*lefts));
  for (size_t k = 0; k < o->len; k++)
    lefts[k] = o->items[k] = into_mapping(o->items[k], NULL);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < c->len; i++) {
    struct mtk_node *right = c->items[i] = into_mapping(c->items[i], NULL);
    for (size_t k = 0; rc == 0 && k < o->len; k++) {
      const struct mtk_node *lsub = mtk_node_get(lefts[k], "subnet");
      if (!mtk_compose_go_equal(lsub, mtk_node_get(right, "subnet")) &&
          find_subnet(res, n, lsub) < 0) {
        res[n++] = lefts[k];
        continue;
      }
      rc = merge_mappings(right, mtk_node_copy(lefts[k]), p, err);
      ssize_t at = find_subnet(res, n, mtk_node_get(right, "subnet"));
      if (at >= 0)
        res[at] = right;
      else
        res[n++] = right;
    }
  }
  for (size_t i = 0; rc == 0 && i < n; i++)
    mtk_node_push(out, mtk_node_copy(res[i]));
  return rc;
}

static int m_ipam_config(struct mtk_node **slot, struct mtk_node *o,
                         const struct mtk_compose_path *p, struct mtk_err **err)
{
  if (!mtk_node_is_seq(*slot) || !mtk_node_is_seq(o)) {
    mtk_autofree char *s = mtk_compose_path_str(p);
    int rc =
        mtk_node_err(o ? o : *slot, err, "%s: unexpected type %s", s, mtk_compose_go_type(*slot));
    mtk_node_free(o);
    return rc;
  }
  struct mtk_node *out = mtk_node_new_seq(*slot);
  int rc = ipam_merge(*slot, o, p, out, err);
  mtk_node_free(o);
  if (rc < 0) {
    mtk_node_free(out);
    return rc;
  }
  replace(slot, out);
  return 0;
}

/* compose-go's mergeSpecials. */
static const struct merger mergers[] = {
    {"networks.*.ipam.config", m_ipam_config},
    {"networks.*.labels", m_to_sequence},
    {"volumes.*.labels", m_to_sequence},
    {"services.*.annotations", m_to_sequence},
    {"services.*.build", m_build},
    {"services.*.build.args", m_to_sequence},
    {"services.*.build.additional_contexts", m_to_sequence},
    {"services.*.build.extra_hosts", m_extra_hosts},
    {"services.*.build.labels", m_to_sequence},
    {"services.*.command", m_override},
    {"services.*.depends_on", m_depends_on},
    {"services.*.deploy.labels", m_to_sequence},
    {"services.*.dns", m_to_sequence},
    {"services.*.dns_opt", m_to_sequence},
    {"services.*.dns_search", m_to_sequence},
    {"services.*.entrypoint", m_override},
    {"services.*.env_file", m_to_sequence},
    {"services.*.label_file", m_to_sequence},
    {"services.*.environment", m_to_sequence},
    {"services.*.extra_hosts", m_extra_hosts},
    {"services.*.healthcheck.test", m_override},
    {"services.*.labels", m_to_sequence},
    {"services.*.volumes.*.volume.labels", m_to_sequence},
    {"services.*.logging", m_logging},
    {"services.*.models", m_to_mapping},
    {"services.*.networks", m_to_mapping},
    {"services.*.sysctls", m_to_sequence},
    {"services.*.tmpfs", m_to_sequence},
    {"services.*.ulimits.*", m_ulimit},
    {NULL, NULL},
};

static int merge_yaml(struct mtk_node **slot, struct mtk_node *o, const struct mtk_compose_path *p,
                      struct mtk_err **err)
{
  for (const struct merger *m = mergers; m->pattern; m++)
    if (mtk_compose_path_matches(p, m->pattern))
      return m->fn(slot, o, p, err);
  return merge_default(slot, o, p, err);
}

/* ---- Public entry points ---------------------------------------------------- */

int mtk_compose_merge(struct mtk_node *model, struct mtk_node *over, struct mtk_err **err)
{
  if (!mtk_node_is_map(model)) {
    mtk_node_free(over);
    return mtk_node_err(model, err, "top-level object must be a mapping");
  }
  if (is_nil(over)) {
    mtk_node_free(over);
    return 0;
  }
  if (!mtk_node_is_map(over)) {
    int rc = mtk_node_err(over, err, "top-level object must be a mapping");
    mtk_node_free(over);
    return rc;
  }
  return merge_mappings(model, over, NULL, err);
}

struct mtk_node *mtk_compose_extend_service(const struct mtk_node *base, const struct mtk_node *svc,
                                            const char *name,
                                            const struct mtk_compose_resets *resets,
                                            struct mtk_err **err)
{
  if (is_nil(base))
    return mtk_node_copy(svc);
  struct mtk_node *merged = mtk_node_copy(base);
  if (name) {
    const char *prefix[] = {"services", name};
    mtk_compose_resets_apply_at(resets, merged, prefix, 2);
  }
  const struct mtk_compose_path services = {NULL, "services"};
  const struct mtk_compose_path x = {&services, "x"};
  if (merge_yaml(&merged, mtk_node_copy(svc), &x, err) < 0) {
    mtk_node_free(merged);
    return NULL;
  }
  if (!mtk_node_is_map(merged)) {
    mtk_node_err(svc, err, "services.%s must be a mapping", name ? name : "");
    mtk_node_free(merged);
    return NULL;
  }
  mtk_node_del(merged, "extends");
  return merged;
}
