/* compose-go's transform.Canonical on the node tree: the dispatch over the
 * model, and the short-to-long rewrites of every service attribute except
 * ports (canonical_ports.c) and volumes (canonical_volumes.c): build,
 * depends_on, env_file, extends, networks, secrets/configs, devices, gpus,
 * ulimits, key=value lists, healthcheck.test, top-level external resources,
 * include.  Also loader.OmitEmpty.  Every rewrite leaves its own output
 * unchanged, since the model is made canonical again after each merge. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "compose/canonical.h"
#include "compose/values.h"
#include "util/cleanup.h"

/* ---- shared helpers ---- */

void mtk_compose_replace(struct mtk_node **slot, struct mtk_node *val)
{
  if (*slot != val)
    mtk_node_free(*slot);
  *slot = val;
}

static struct mtk_node **slot_of(struct mtk_node *map, const char *key)
{
  for (size_t i = 0; map && map->kind == MTK_NODE_MAP && i < map->len; i++)
    if (strcmp(map->pairs[i].key, key) == 0)
      return &map->pairs[i].val;
  return NULL;
}

static void set_default(struct mtk_node *map, const char *key, struct mtk_node *val)
{
  if (mtk_node_get_pair(map, key))
    mtk_node_free(val);
  else
    mtk_node_set(map, key, val);
}

/* A list holding only *slot when it is a string (transformStringOrList). */
static void string_to_list(struct mtk_node **slot)
{
  if (slot == NULL || !mtk_node_is_str(*slot))
    return;
  struct mtk_node *seq = mtk_node_new_seq(*slot);
  mtk_node_push(seq, *slot);
  *slot = seq;
}

/* ---- key=value types ---- */

enum kv_kind {
  KV_EQUALS, /* MappingWithEquals: a bare KEY is null (environment, build.args) */
  KV_LABELS, /* Labels/Mapping: a bare KEY or a null is "" */
};

static int kv_item(struct mtk_node *map, const struct mtk_node *item, enum kv_kind kind,
                   const char *path, struct mtk_err **err)
{
  mtk_autofree char *s = mtk_node_scalar_text(item, NULL);
  if (s == NULL)
    return mtk_node_err(item, err, "%s: invalid type %s, expected key=value", path,
                        mtk_compose_go_type(item));
  char *eq = strchr(s, '=');
  if (eq)
    *eq = '\0';
  size_t kl = strlen(s);
  if (kind == KV_EQUALS && kl > 0 && isspace((unsigned char) s[kl - 1]))
    return mtk_node_err(item, err, "%s: environment variable %s is declared with a trailing space",
                        path, s);
  struct mtk_node *val;
  if (eq)
    val = mtk_node_new_str(eq + 1, item);
  else
    val = kind == KV_EQUALS ? mtk_node_new_null(item) : mtk_node_new_str("", item);
  mtk_node_set(map, s, val);
  return 0;
}

/* List or map -> map of strings (null kept for KV_EQUALS). */
static int key_values(struct mtk_node **slot, enum kv_kind kind, const char *path,
                      struct mtk_err **err)
{
  struct mtk_node *n = slot ? *slot : NULL;
  if (n == NULL || mtk_node_is_null(n))
    return 0;
  if (n->kind == MTK_NODE_SEQ) {
    struct mtk_node *map = mtk_node_new_map(n);
    for (size_t i = 0; i < n->len; i++) {
      if (kv_item(map, n->items[i], kind, path, err) < 0) {
        mtk_node_free(map);
        return -1;
      }
    }
    mtk_compose_replace(slot, map);
    return 0;
  }
  if (n->kind != MTK_NODE_MAP)
    return mtk_node_err(n, err, "%s: unexpected value type %s for mapping", path,
                        mtk_compose_go_type(n));
  for (size_t i = 0; i < n->len; i++) {
    struct mtk_node *v = n->pairs[i].val;
    if (mtk_node_is_null(v) && kind == KV_EQUALS)
      continue;
    if (mtk_node_is_str(v))
      continue;
    mtk_autofree char *s = mtk_node_scalar_text(v, NULL);
    if (s == NULL)
      return mtk_node_err(v, err, "%s.%s: invalid type %s", path, n->pairs[i].key,
                          mtk_compose_go_type(v));
    mtk_compose_replace(&n->pairs[i].val, mtk_node_new_str(s, v));
  }
  return 0;
}

static int key_values_at(struct mtk_node *map, const char *key, enum kv_kind kind, const char *path,
                         struct mtk_err **err)
{
  struct mtk_node **slot = slot_of(map, key);
  if (slot == NULL)
    return 0;
  mtk_autofree char *p = *path ? mtk_xasprintf("%s.%s", path, key) : mtk_xstrdup(key);
  return key_values(slot, kind, p, err);
}

int mtk_compose_key_values(struct mtk_node *map, const char *key, bool with_equals,
                           const char *path, struct mtk_err **err)
{
  return key_values_at(map, key, with_equals ? KV_EQUALS : KV_LABELS, path, err);
}

/* ---- build ---- */

/* build.additional_contexts: list "k=v" -> map (transformKeyValue). */
static int additional_contexts(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (n->kind == MTK_NODE_MAP)
    return 0;
  if (n->kind != MTK_NODE_SEQ)
    return mtk_node_err(n, err, "%s: invalid type %s", path, mtk_compose_go_type(n));
  for (size_t i = 0; i < n->len; i++) {
    const struct mtk_node *it = n->items[i];
    if (!mtk_node_is_str(it) || strchr(it->str, '=') == NULL)
      return mtk_node_err(it, err, "%s: invalid value %s, expected key=value", path,
                          mtk_node_is_str(it) ? it->str : mtk_compose_go_type(it));
  }
  return key_values(slot, KV_LABELS, path, err);
}

/* build.ssh: list "id=path" or "default" -> map (transformSSH). */
static int build_ssh(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (n->kind == MTK_NODE_MAP)
    return 0;
  if (n->kind != MTK_NODE_SEQ)
    return mtk_node_err(n, err, "%s: invalid type %s for ssh", path, mtk_compose_go_type(n));
  struct mtk_node *map = mtk_node_new_map(n);
  for (size_t i = 0; i < n->len; i++) {
    const struct mtk_node *it = n->items[i];
    if (!mtk_node_is_str(it)) {
      mtk_node_free(map);
      return mtk_node_err(it, err, "%s: invalid ssh key type %s", path, mtk_compose_go_type(it));
    }
    const char *eq = strchr(it->str, '=');
    if (eq == NULL && strcmp(it->str, "default") != 0) {
      mtk_node_free(map);
      return mtk_node_err(it, err, "%s: invalid ssh key \"%s\"", path, it->str);
    }
    mtk_autofree char *id = eq ? mtk_xstrndup(it->str, (size_t) (eq - it->str)) : NULL;
    mtk_node_set(map, eq ? id : it->str, eq ? mtk_node_new_str(eq + 1, it) : mtk_node_new_null(it));
  }
  mtk_compose_replace(slot, map);
  return 0;
}

/* secrets[], configs[], build.secrets[]: "name" -> {source: name}. */
static int file_mounts(struct mtk_node *seq, const char *path, struct mtk_err **err)
{
  for (size_t i = 0; mtk_node_is_seq(seq) && i < seq->len; i++) {
    struct mtk_node *it = seq->items[i];
    if (it->kind == MTK_NODE_MAP)
      continue;
    if (!mtk_node_is_str(it))
      return mtk_node_err(it, err, "%s[%zu]: unsupported type %s", path, i,
                          mtk_compose_go_type(it));
    struct mtk_node *m = mtk_node_new_map(it);
    mtk_node_set(m, "source", mtk_node_new_str(it->str, it));
    mtk_compose_replace(&seq->items[i], m);
  }
  return 0;
}

static int ulimits(struct mtk_node *map, const char *path, struct mtk_err **err)
{
  for (size_t i = 0; mtk_node_is_map(map) && i < map->len; i++) {
    const struct mtk_node *v = map->pairs[i].val;
    if (v->kind == MTK_NODE_MAP || (v->kind == MTK_NODE_SCALAR && v->type == MTK_SCALAR_INT))
      continue;
    return mtk_node_err(v, err, "%s.%s: invalid type %s for ulimits", path, map->pairs[i].key,
                        mtk_compose_go_type(v));
  }
  return 0;
}

static int canon_build_map(struct mtk_node *b, const char *path, struct mtk_err **err)
{
  mtk_autofree char *psec = mtk_xasprintf("%s.secrets", path);
  mtk_autofree char *pssh = mtk_xasprintf("%s.ssh", path);
  mtk_autofree char *pctx = mtk_xasprintf("%s.additional_contexts", path);
  mtk_autofree char *pul = mtk_xasprintf("%s.ulimits", path);
  static const char *const strx[] = {"provenance", "sbom"};
  for (size_t i = 0; i < 2; i++) {
    struct mtk_node **s = slot_of(b, strx[i]);
    if (s && (*s)->kind == MTK_NODE_SCALAR && !mtk_node_is_str(*s) && !mtk_node_is_null(*s)) {
      mtk_autofree char *t = mtk_node_scalar_text(*s, NULL);
      mtk_compose_replace(s, mtk_node_new_str(t, *s));
    }
  }
  struct mtk_node **s;
  if (file_mounts(mtk_node_get(b, "secrets"), psec, err) < 0)
    return -1;
  if ((s = slot_of(b, "ssh")) && build_ssh(s, pssh, err) < 0)
    return -1;
  if ((s = slot_of(b, "additional_contexts")) && additional_contexts(s, pctx, err) < 0)
    return -1;
  if (ulimits(mtk_node_get(b, "ulimits"), pul, err) < 0)
    return -1;
  if (key_values_at(b, "args", KV_EQUALS, path, err) < 0 ||
      key_values_at(b, "labels", KV_LABELS, path, err) < 0)
    return -1;
  return 0;
}

static int canon_build(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *b = *slot;
  if (mtk_node_is_str(b)) {
    struct mtk_node *m = mtk_node_new_map(b);
    mtk_node_set(m, "context", mtk_node_new_str(b->str, b));
    mtk_compose_replace(slot, m);
    return 0;
  }
  if (b->kind != MTK_NODE_MAP)
    return mtk_node_err(b, err, "%s: invalid type %s for build", path, mtk_compose_go_type(b));
  return canon_build_map(b, path, err);
}

/* ---- other service attributes ---- */

static struct mtk_node *dependency(const struct mtk_node *at)
{
  struct mtk_node *d = mtk_node_new_map(at);
  mtk_node_set(d, "condition", mtk_node_new_str("service_started", at));
  mtk_node_set(d, "required", mtk_node_new_bool(true, at));
  return d;
}

static int depends_on(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (n->kind == MTK_NODE_MAP) {
    for (size_t i = 0; i < n->len; i++) {
      struct mtk_node *d = n->pairs[i].val;
      if (!mtk_node_is_map(d))
        return mtk_node_err(d, err, "%s.%s: unsupported value %s", path, n->pairs[i].key,
                            mtk_compose_go_type(d));
      set_default(d, "condition", mtk_node_new_str("service_started", d));
      set_default(d, "required", mtk_node_new_bool(true, d));
    }
    return 0;
  }
  if (n->kind != MTK_NODE_SEQ)
    return mtk_node_err(n, err, "%s: invalid type %s for depend_on", path, mtk_compose_go_type(n));
  struct mtk_node *map = mtk_node_new_map(n);
  for (size_t i = 0; i < n->len; i++) {
    const struct mtk_node *it = n->items[i];
    if (!mtk_node_is_str(it)) {
      mtk_node_free(map);
      return mtk_node_err(it, err, "%s[%zu]: invalid type %s for depend_on", path, i,
                          mtk_compose_go_type(it));
    }
    mtk_node_set(map, it->str, dependency(it));
  }
  mtk_compose_replace(slot, map);
  return 0;
}

static struct mtk_node *env_file_entry(struct mtk_node *it)
{
  if (mtk_node_is_str(it)) {
    struct mtk_node *m = mtk_node_new_map(it);
    mtk_node_set(m, "path", mtk_node_new_str(it->str, it));
    mtk_node_set(m, "required", mtk_node_new_bool(true, it));
    return m;
  }
  if (mtk_node_is_map(it)) {
    set_default(it, "required", mtk_node_new_bool(true, it));
    return it;
  }
  return mtk_node_new_null(it); /* what compose-go makes of anything else */
}

static int env_file(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  string_to_list(slot);
  struct mtk_node *n = *slot;
  if (n->kind != MTK_NODE_SEQ)
    return mtk_node_err(n, err, "%s: invalid type %s for env_file", path, mtk_compose_go_type(n));
  for (size_t i = 0; i < n->len; i++) {
    struct mtk_node *e = env_file_entry(n->items[i]);
    if (e != n->items[i])
      mtk_compose_replace(&n->items[i], e);
  }
  return 0;
}

/* extends "svc" -> {service}, include[] "p" -> {path: [p]}: a string -> a map. */
static int string_to_map(struct mtk_node **slot, const char *key, const char *what,
                         const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (n->kind == MTK_NODE_MAP)
    return 0;
  if (!mtk_node_is_str(n))
    return mtk_node_err(n, err, "%s: invalid type %s for %s", path, mtk_compose_go_type(n), what);
  struct mtk_node *m = mtk_node_new_map(n);
  mtk_node_set(m, key, mtk_node_new_str(n->str, n));
  mtk_compose_replace(slot, m);
  return 0;
}

static int gpus(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (n->kind == MTK_NODE_SEQ)
    return 0;
  if (!mtk_node_is_str(n))
    return mtk_node_err(n, err, "%s: invalid type %s for gpus", path, mtk_compose_go_type(n));
  struct mtk_node *seq = mtk_node_new_seq(n), *req = mtk_node_new_map(n);
  mtk_node_set(req, "count", mtk_node_new_str("all", n));
  mtk_node_push(seq, req);
  mtk_compose_replace(slot, seq);
  return 0;
}

/* networks, models: list of names -> map of nulls (transformStringSliceToMap). */
static int slice_to_map(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  struct mtk_node *n = *slot;
  if (n->kind != MTK_NODE_SEQ)
    return 0;
  struct mtk_node *map = mtk_node_new_map(n);
  for (size_t i = 0; i < n->len; i++) {
    const struct mtk_node *it = n->items[i];
    if (!mtk_node_is_str(it)) {
      mtk_node_free(map);
      return mtk_node_err(it, err, "%s[%zu]: invalid type %s", path, i, mtk_compose_go_type(it));
    }
    mtk_node_set(map, it->str, mtk_node_new_null(it));
  }
  mtk_compose_replace(slot, map);
  return 0;
}

/* devices[] "src[:dst[:perm]]" -> {source, target, permissions}. */
static int devices(struct mtk_node *seq, const char *path, struct mtk_err **err)
{
  for (size_t i = 0; mtk_node_is_seq(seq) && i < seq->len; i++) {
    struct mtk_node *it = seq->items[i];
    if (it->kind == MTK_NODE_MAP)
      continue;
    if (!mtk_node_is_str(it))
      return mtk_node_err(it, err, "%s[%zu]: invalid type %s for device mapping", path, i,
                          mtk_compose_go_type(it));
    mtk_autofree char *copy = mtk_xstrdup(it->str);
    char *parts[3] = {copy, NULL, NULL};
    size_t n = 1;
    for (char *c = copy; *c; c++) {
      if (*c != ':')
        continue;
      if (n == 3)
        return mtk_node_err(it, err,
                            "%s[%zu]: confusing device mapping, please use long syntax: %s", path,
                            i, it->str);
      *c = '\0';
      parts[n++] = c + 1;
    }
    struct mtk_node *m = mtk_node_new_map(it);
    mtk_node_set(m, "source", mtk_node_new_str(parts[0], it));
    mtk_node_set(m, "target", mtk_node_new_str(n > 1 && *parts[1] ? parts[1] : parts[0], it));
    mtk_node_set(m, "permissions", mtk_node_new_str(n > 2 ? parts[2] : "rwm", it));
    mtk_compose_replace(&seq->items[i], m);
  }
  return 0;
}

static void healthcheck_test(struct mtk_node *hc)
{
  struct mtk_node **t = slot_of(hc, "test");
  if (t == NULL || !mtk_node_is_str(*t))
    return;
  struct mtk_node *seq = mtk_node_new_seq(*t);
  mtk_node_push(seq, mtk_node_new_str("CMD-SHELL", *t));
  mtk_node_push(seq, *t);
  *t = seq;
}

static void expose(struct mtk_node *seq)
{
  for (size_t i = 0; mtk_node_is_seq(seq) && i < seq->len; i++) {
    struct mtk_node *it = seq->items[i];
    if (it->kind != MTK_NODE_SCALAR || mtk_node_is_str(it) || mtk_node_is_null(it))
      continue;
    mtk_autofree char *s = mtk_node_scalar_text(it, NULL);
    mtk_compose_replace(&seq->items[i], mtk_node_new_str(s, it));
  }
}

static void develop_watch(struct mtk_node *develop)
{
  struct mtk_node *watch = mtk_node_get(develop, "watch");
  for (size_t i = 0; mtk_node_is_seq(watch) && i < watch->len; i++) {
    string_to_list(slot_of(watch->items[i], "ignore"));
    string_to_list(slot_of(watch->items[i], "include"));
  }
}

/* Attributes rewritten through their slot, in the order of the table. */
typedef int (*slot_fn)(struct mtk_node **slot, const char *path, struct mtk_err **err);

static int extends_fn(struct mtk_node **slot, const char *path, struct mtk_err **err)
{
  return string_to_map(slot, "service", "extends", path, err);
}

static const struct {
  const char *key;
  slot_fn fn;
} service_slots[] = {
    {"build", canon_build},   {"depends_on", depends_on},
    {"env_file", env_file},   {"extends", extends_fn},
    {"gpus", gpus},           {"networks", slice_to_map},
    {"models", slice_to_map},
};

static int canon_service_misc(struct mtk_node *svc, const char *path, struct mtk_err **err)
{
  static const char *const mounts[] = {"secrets", "configs"};
  for (size_t i = 0; i < 2; i++) {
    mtk_autofree char *p = mtk_xasprintf("%s.%s", path, mounts[i]);
    if (file_mounts(mtk_node_get(svc, mounts[i]), p, err) < 0)
      return -1;
  }
  mtk_autofree char *pdev = mtk_xasprintf("%s.devices", path);
  mtk_autofree char *pul = mtk_xasprintf("%s.ulimits", path);
  if (devices(mtk_node_get(svc, "devices"), pdev, err) < 0 ||
      ulimits(mtk_node_get(svc, "ulimits"), pul, err) < 0)
    return -1;
  string_to_list(slot_of(svc, "label_file"));
  string_to_list(slot_of(svc, "dns"));
  healthcheck_test(mtk_node_get(svc, "healthcheck"));
  expose(mtk_node_get(svc, "expose"));
  develop_watch(mtk_node_get(svc, "develop"));
  if (key_values_at(svc, "environment", KV_EQUALS, path, err) < 0 ||
      key_values_at(svc, "labels", KV_LABELS, path, err) < 0 ||
      key_values_at(svc, "annotations", KV_LABELS, path, err) < 0 ||
      key_values_at(svc, "sysctls", KV_LABELS, path, err) < 0)
    return -1;
  struct mtk_node *deploy = mtk_node_get(svc, "deploy");
  mtk_autofree char *pdep = mtk_xasprintf("%s.deploy", path);
  if (mtk_node_is_map(deploy) && key_values_at(deploy, "labels", KV_LABELS, pdep, err) < 0)
    return -1;
  return 0;
}

static int canon_service(struct mtk_node *svc, const char *path, struct mtk_err **err)
{
  if (!mtk_node_is_map(svc))
    return 0;
  for (size_t i = 0; i < sizeof(service_slots) / sizeof(service_slots[0]); i++) {
    struct mtk_node **s = slot_of(svc, service_slots[i].key);
    if (s == NULL || mtk_node_is_null(*s))
      continue;
    mtk_autofree char *p = mtk_xasprintf("%s.%s", path, service_slots[i].key);
    if (service_slots[i].fn(s, p, err) < 0)
      return -1;
  }
  if (mtk_compose_canon_ports(svc, path, err) < 0 || mtk_compose_canon_volumes(svc, path, err) < 0)
    return -1;
  return canon_service_misc(svc, path, err);
}

/* ---- top level ---- */

/* transformMaybeExternal: `external: {name: x}` -> `external: true`, `name: x`. */
static int maybe_external(struct mtk_node *res, const char *path, struct mtk_err **err)
{
  if (!mtk_node_is_map(res))
    return 0;
  struct mtk_node **ext = slot_of(res, "external");
  if (ext && mtk_node_is_map(*ext)) {
    const struct mtk_node *extname = mtk_node_get(*ext, "name");
    const struct mtk_node *name = mtk_node_get(res, "name");
    if (extname && name) {
      mtk_autofree char *a = mtk_node_scalar_text(extname, NULL);
      mtk_autofree char *b = mtk_node_scalar_text(name, NULL);
      if (a == NULL || b == NULL || strcmp(a, b) != 0 || extname->type != name->type)
        return mtk_node_err(*ext, err, "%s: name and external.name conflict; only use name", path);
    }
    struct mtk_node *n = extname && !name ? mtk_node_copy(extname) : NULL;
    mtk_compose_replace(ext, mtk_node_new_bool(true, *ext));
    if (n)
      mtk_node_set(res, "name", n);
  }
  return 0;
}

static int canon_resources(struct mtk_node *root, const char *kind, struct mtk_err **err)
{
  struct mtk_node *map = mtk_node_get(root, kind);
  for (size_t i = 0; mtk_node_is_map(map) && i < map->len; i++) {
    struct mtk_node *res = map->pairs[i].val;
    mtk_autofree char *p = mtk_xasprintf("%s.%s", kind, map->pairs[i].key);
    if (maybe_external(res, p, err) < 0)
      return -1;
    if ((strcmp(kind, "networks") == 0 || strcmp(kind, "volumes") == 0) && mtk_node_is_map(res) &&
        key_values_at(res, "labels", KV_LABELS, p, err) < 0)
      return -1;
  }
  return 0;
}

static int canon_include(struct mtk_node *seq, struct mtk_err **err)
{
  for (size_t i = 0; mtk_node_is_seq(seq) && i < seq->len; i++) {
    mtk_autofree char *p = mtk_xasprintf("include[%zu]", i);
    if (mtk_node_is_null(seq->items[i]))
      continue;
    if (string_to_map(&seq->items[i], "path", "include", p, err) < 0)
      return -1;
    string_to_list(slot_of(seq->items[i], "path"));
    string_to_list(slot_of(seq->items[i], "env_file"));
  }
  return 0;
}

int mtk_compose_canonical(struct mtk_node *root, struct mtk_err **err)
{
  if (!mtk_node_is_map(root))
    return 0;
  struct mtk_node *services = mtk_node_get(root, "services");
  for (size_t i = 0; mtk_node_is_map(services) && i < services->len; i++) {
    mtk_autofree char *p = mtk_xasprintf("services.%s", services->pairs[i].key);
    if (canon_service(services->pairs[i].val, p, err) < 0)
      return -1;
  }
  static const char *const kinds[] = {"volumes", "networks", "secrets", "configs"};
  for (size_t i = 0; i < 4; i++)
    if (canon_resources(root, kinds[i], err) < 0)
      return -1;
  return canon_include(mtk_node_get(root, "include"), err);
}

/* ---- OmitEmpty ---- */

int mtk_compose_omit_empty(struct mtk_node *root)
{
  struct mtk_node *services = mtk_node_get(root, "services");
  for (size_t i = 0; mtk_node_is_map(services) && i < services->len; i++) {
    struct mtk_node *dns = mtk_node_get(services->pairs[i].val, "dns");
    if (!mtk_node_is_seq(dns))
      continue;
    size_t w = 0;
    for (size_t r = 0; r < dns->len; r++) {
      struct mtk_node *it = dns->items[r];
      if (mtk_node_is_null(it) || (mtk_node_is_str(it) && it->str[0] == '\0'))
        mtk_node_free(it);
      else
        dns->items[w++] = it;
    }
    dns->len = w;
  }
  return 0;
}
