/* Unicity of sequence entries (merge.h): compose-go's
 * override.EnforceUnicity with its indexers (override/uncity.go), including
 * the target of a short volume spec as format.ParseVolume finds it. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/merge.h"

/* An indexer appends the identity of entry n to key, or fails. */
struct indexer {
  const char *pattern;
  int (*fn)(const struct mtk_node *n, const struct mtk_compose_path *p, const char *arg,
            struct mtk_strbuf *key, struct mtk_err **err);
  const char *arg;
};

static int path_err(const struct mtk_node *at, const struct mtk_compose_path *p,
                    struct mtk_err **err, const char *fmt_before, const char *after)
{
  mtk_autofree char *s = mtk_compose_path_str(p);
  return mtk_node_err(at, err, "%s%s%s", fmt_before, s, after);
}

static int unexpected(const struct mtk_node *n, const struct mtk_compose_path *p, const char *what,
                      struct mtk_err **err)
{
  mtk_autofree char *s = mtk_compose_path_str(p);
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  if (strcmp(what, "type") == 0)
    mtk_strbuf_adds(&sb, mtk_compose_go_type(n));
  else
    mtk_compose_go_fmt(&sb, 's', n);
  int rc = mtk_node_err(n, err, "%s: %s %s", s,
                        strcmp(what, "type") == 0 ? "unexpected type" : "unsupported expose value",
                        mtk_strbuf_str(&sb));
  mtk_strbuf_free(&sb);
  return rc;
}

static int key_value(const struct mtk_node *n, const struct mtk_compose_path *p, const char *arg,
                     struct mtk_strbuf *key, struct mtk_err **err)
{
  (void) arg;
  if (!mtk_node_is_str(n))
    return unexpected(n, p, "type", err);
  const char *eq = strchr(n->str, '=');
  mtk_strbuf_add(key, n->str, eq ? (size_t) (eq - n->str) : strlen(n->str));
  return 0;
}

/* ---- format.ParseVolume, only as far as the target ---- */

/* UTF-8 rune at s (length in *n); invalid bytes are U+FFFD of length 1. */
static uint32_t rune_at(const unsigned char *s, size_t *n)
{
  if (s[0] < 0x80) {
    *n = 1;
    return s[0];
  }
  size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
  uint32_t r = len == 4 ? s[0] & 0x07 : len == 3 ? s[0] & 0x0F : s[0] & 0x1F;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      len = 0;
      break;
    }
    r = (r << 6) | (s[i] & 0x3F);
  }
  *n = len ? len : 1;
  return len ? r : 0xFFFD;
}

/* unicode.IsLetter, approximated outside ASCII: Latin-1 letters and anything
 * above U+024F count as letters. */
static bool is_letter(uint32_t r)
{
  if ((r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
    return true;
  if (r < 0xC0)
    return r == 0xAA || r == 0xB5 || r == 0xBA;
  return r != 0xD7 && r != 0xF7 && r != 0xFFFD;
}

struct volspec {
  const char *spec;
  char *source; /* owned, NULL until set */
  char *target; /* owned, NULL until set */
};

/* populateFieldFromBuffer; returns an error text or NULL. */
static const char *populate(struct volspec *v, bool end, const char *buf, size_t n)
{
  if (n == 0)
    return "empty section between colons";
  if (v->source == NULL && end) {
    v->target = mtk_xstrndup(buf, n);
    return NULL;
  }
  if (v->source == NULL) {
    v->source = mtk_xstrndup(buf, n);
    return NULL;
  }
  if (v->target == NULL) {
    v->target = mtk_xstrndup(buf, n);
    return NULL;
  }
  return end ? NULL : "too many colons"; /* the mode options do not change the target */
}

/* The target of a short volume spec ("" when the spec never sets one). */
static int volume_target(const char *spec, struct mtk_strbuf *key, const struct mtk_node *at,
                         struct mtk_err **err)
{
  size_t len = strlen(spec);
  if (len == 0)
    return mtk_node_err(at, err, "invalid empty volume spec");
  if (len <= 2) {
    mtk_strbuf_adds(key, spec);
    return 0;
  }
  struct volspec v = {.spec = spec};
  size_t start = 0, runes = 0, nest = 0;
  uint32_t first = 0;
  const char *fail = NULL;
  for (size_t i = 0; i <= len && !fail;) {
    size_t n = 1;
    uint32_t r = i < len ? rune_at((const unsigned char *) spec + i, &n) : 0;
    bool end = i == len;
    if (r == '$' && i + 1 < len && spec[i + 1] == '{')
      nest++;
    else if (r == '}' && nest > 0)
      nest--;
    else if (r == ':' && runes == 1 && is_letter(first))
      ; /* a Windows drive letter stays in the section */
    else if ((r == ':' || end) && nest == 0) {
      fail = populate(&v, end, spec + start, i - start);
      start = i + 1, runes = 0;
      i += n;
      continue;
    }
    if (!end && runes++ == 0)
      first = r;
    i += n;
  }
  int rc = 0;
  if (fail)
    rc = mtk_node_err(at, err, "invalid spec: %s: %s", spec, fail);
  else if (v.target)
    mtk_strbuf_adds(key, v.target);
  free(v.source);
  free(v.target);
  return rc;
}

static int volume(const struct mtk_node *n, const struct mtk_compose_path *p, const char *arg,
                  struct mtk_strbuf *key, struct mtk_err **err)
{
  if (mtk_node_is_map(n)) {
    const struct mtk_node *t = mtk_node_get(n, "target");
    if (!mtk_node_is_str(t))
      return path_err(n, p, err, arg, " is missing a mount target");
    mtk_strbuf_adds(key, t->str);
    return 0;
  }
  if (mtk_node_is_str(n))
    return volume_target(n->str, key, n, err);
  return 0;
}

static int device(const struct mtk_node *n, const struct mtk_compose_path *p, const char *arg,
                  struct mtk_strbuf *key, struct mtk_err **err)
{
  if (mtk_node_is_map(n))
    return volume(n, p, arg, key, err);
  if (mtk_node_is_str(n)) {
    const char *c = strchr(n->str, ':');
    if (c == NULL) {
      mtk_strbuf_adds(key, n->str);
    } else {
      const char *d = strchr(c + 1, ':');
      mtk_strbuf_add(key, c + 1, d ? (size_t) (d - c - 1) : strlen(c + 1));
    }
  }
  return 0;
}

static int expose(const struct mtk_node *n, const struct mtk_compose_path *p, const char *arg,
                  struct mtk_strbuf *key, struct mtk_err **err)
{
  (void) arg;
  if (mtk_node_is_str(n) || (n && n->kind == MTK_NODE_SCALAR && n->type == MTK_SCALAR_INT)) {
    mtk_compose_go_fmt(key, 'v', n);
    return 0;
  }
  return unexpected(n, p, "expose", err);
}

/* secrets/configs: the target, or <default>/<source>. */
static int mount(const struct mtk_node *n, const struct mtk_compose_path *p, const char *arg,
                 struct mtk_strbuf *key, struct mtk_err **err)
{
  if (mtk_node_is_str(n)) {
    mtk_strbuf_addf(key, "%s/%s", arg, n->str);
    return 0;
  }
  if (mtk_node_is_map(n)) {
    const struct mtk_node_pair *t = mtk_node_get_pair(n, "target");
    if (t) {
      mtk_compose_go_fmt(key, 'v', t->val);
      return 0;
    }
    mtk_strbuf_addf(key, "%s/", arg);
    mtk_compose_go_fmt(key, 's', mtk_node_get(n, "source"));
    return 0;
  }
  return unexpected(n, p, "expose", err);
}

static int port(const struct mtk_node *n, const struct mtk_compose_path *p, const char *arg,
                struct mtk_strbuf *key, struct mtk_err **err)
{
  (void) arg;
  if (n && n->kind == MTK_NODE_SCALAR && (n->type == MTK_SCALAR_INT || n->type == MTK_SCALAR_STR)) {
    mtk_compose_go_fmt(key, 'v', n);
    return 0;
  }
  if (!mtk_node_is_map(n))
    return 0;
  const struct mtk_node_pair *target = mtk_node_get_pair(n, "target");
  if (!target)
    return path_err(n, p, err, "service ports ", " is missing a target port");
  const struct mtk_node_pair *host = mtk_node_get_pair(n, "host_ip");
  const struct mtk_node_pair *proto = mtk_node_get_pair(n, "protocol");
  if (host)
    mtk_compose_go_fmt(key, 's', host->val);
  else
    mtk_strbuf_adds(key, "0.0.0.0");
  mtk_strbuf_addc(key, ':');
  mtk_compose_go_fmt(key, 's', mtk_node_get(n, "published"));
  mtk_strbuf_addc(key, ':');
  mtk_compose_go_fmt(key, 'd', target->val);
  mtk_strbuf_addc(key, '/');
  if (proto)
    mtk_compose_go_fmt(key, 's', proto->val);
  else
    mtk_strbuf_adds(key, "tcp");
  return 0;
}

static int env_file(const struct mtk_node *n, const struct mtk_compose_path *p, const char *arg,
                    struct mtk_strbuf *key, struct mtk_err **err)
{
  (void) arg;
  if (mtk_node_is_str(n)) {
    mtk_strbuf_adds(key, n->str);
  } else if (mtk_node_is_map(n)) {
    const struct mtk_node_pair *path = mtk_node_get_pair(n, "path");
    if (!path)
      return path_err(n, p, err, "environment path attribute ", " is missing");
    mtk_compose_go_fmt(key, 'v', path->val);
  }
  return 0;
}

/* compose-go's `unique` table (its first services.*.devices entry is
 * overwritten by the second, so devices use the device indexer). */
static const struct indexer indexers[] = {
    {"networks.*.labels", key_value, NULL},
    {"networks.*.ipam.options", key_value, NULL},
    {"services.*.annotations", key_value, NULL},
    {"services.*.build.args", key_value, NULL},
    {"services.*.build.additional_contexts", key_value, NULL},
    {"services.*.build.platform", key_value, NULL},
    {"services.*.build.tags", key_value, NULL},
    {"services.*.build.labels", key_value, NULL},
    {"services.*.cap_add", key_value, NULL},
    {"services.*.cap_drop", key_value, NULL},
    {"services.*.configs", mount, ""},
    {"services.*.deploy.labels", key_value, NULL},
    {"services.*.dns", key_value, NULL},
    {"services.*.dns_opt", key_value, NULL},
    {"services.*.dns_search", key_value, NULL},
    {"services.*.environment", key_value, NULL},
    {"services.*.env_file", env_file, NULL},
    {"services.*.expose", expose, NULL},
    {"services.*.labels", key_value, NULL},
    {"services.*.links", key_value, NULL},
    {"services.*.networks.*.aliases", key_value, NULL},
    {"services.*.networks.*.link_local_ips", key_value, NULL},
    {"services.*.ports", port, NULL},
    {"services.*.profiles", key_value, NULL},
    {"services.*.secrets", mount, "/run/secrets"},
    {"services.*.sysctls", key_value, NULL},
    {"services.*.tmpfs", key_value, NULL},
    {"services.*.volumes", volume, "service volume "},
    {"services.*.devices", device, "service device "},
    {NULL, NULL, NULL},
};

/* ---- A small string -> index hash table ---- */

struct slot {
  char *key;  /* owned, NULL when free */
  size_t idx; /* position in the de-duplicated sequence */
};

struct table {
  struct slot *slots; /* owned */
  size_t cap;         /* power of two, at least twice the entries */
};

static uint64_t hash(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 1099511628211ull;
  return h;
}

/* The slot for key: its entry, or the free slot where it goes. */
static struct slot *lookup(struct table *t, const char *key)
{
  size_t i = hash(key) & (t->cap - 1);
  while (t->slots[i].key && strcmp(t->slots[i].key, key) != 0)
    i = (i + 1) & (t->cap - 1);
  return &t->slots[i];
}

static int dedupe(struct mtk_node *seq, const struct indexer *ix, const struct mtk_compose_path *p,
                  struct mtk_err **err)
{
  struct table t = {NULL, 16};
  while (t.cap < seq->len * 2)
    t.cap *= 2;
  t.slots = mtk_xcalloc(t.cap, sizeof(*t.slots));
  size_t kept = 0, i = 0;
  int rc = 0;
  for (; i < seq->len; i++) {
    char seg[32];
    snprintf(seg, sizeof(seg), "[%zu]", i);
    struct mtk_compose_path next = {p, seg};
    struct mtk_strbuf key = MTK_STRBUF_INIT;
    rc = ix->fn(seq->items[i], &next, ix->arg, &key, err);
    if (rc < 0) {
      mtk_strbuf_free(&key);
      break;
    }
    struct slot *s = lookup(&t, mtk_strbuf_str(&key));
    if (s->key) {
      mtk_node_free(seq->items[s->idx]);
      seq->items[s->idx] = seq->items[i];
      mtk_strbuf_free(&key);
    } else {
      s->key = mtk_strbuf_steal(&key);
      s->idx = kept;
      seq->items[kept++] = seq->items[i];
    }
  }
  for (; i < seq->len; i++) /* after a failure: keep the rest */
    seq->items[kept++] = seq->items[i];
  seq->len = kept;
  for (size_t k = 0; k < t.cap; k++)
    free(t.slots[k].key);
  free(t.slots);
  return rc;
}

static int enforce(struct mtk_node *n, const struct mtk_compose_path *p, struct mtk_err **err)
{
  if (mtk_node_is_map(n)) {
    for (size_t i = 0; i < n->len; i++) {
      struct mtk_compose_path next = {p, n->pairs[i].key};
      int rc = enforce(n->pairs[i].val, &next, err);
      if (rc < 0)
        return rc;
    }
    return 0;
  }
  if (!mtk_node_is_seq(n))
    return 0;
  for (const struct indexer *ix = indexers; ix->pattern; ix++)
    if (mtk_compose_path_matches(p, ix->pattern))
      return dedupe(n, ix, p, err);
  return 0;
}

int mtk_compose_unicity(struct mtk_node *model, struct mtk_err **err)
{
  return enforce(model, NULL, err);
}
