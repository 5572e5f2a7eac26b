/* libyaml -> node tree.  libyaml only tokenises; this file decides what a
 * document means the way go-yaml (compose-go's parser) does: core-schema
 * scalars, anchors and aliases (with a cap on expansion), `<<` merge keys,
 * duplicate keys rejected, non-string keys rejected, tags kept. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "compose/internal.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

struct anchor {
  char *name;            /* owned */
  struct mtk_node *node; /* borrowed: lives in the document tree */
  bool done;             /* false while the anchored node is being built */
};

struct parser {
  yaml_parser_t yp;
  const char *path;       /* interned */
  struct anchor *anchors; /* owned */
  size_t n_anchors, cap_anchors;
  size_t nodes; /* nodes in the current document, alias copies included */
};

static void clear_anchors(struct parser *p)
{
  for (size_t i = 0; i < p->n_anchors; i++)
    free(p->anchors[i].name);
  p->n_anchors = 0;
}

static int fail_at(struct parser *p, yaml_mark_t m, struct mtk_err **err, const char *msg)
{
  return mtk_err_set_at(err, MTK_E_INVALID, p->path, (int) m.line + 1, (int) m.column + 1, "%s",
                        msg);
}

static int next_event(struct parser *p, yaml_event_t *ev, struct mtk_err **err)
{
  if (yaml_parser_parse(&p->yp, ev))
    return 0;
  const char *what = p->yp.problem ? p->yp.problem : "invalid YAML";
  mtk_autofree char *msg = NULL;
  if (p->yp.context)
    msg = mtk_xasprintf("%s %s", p->yp.context, what);
  else
    msg = mtk_xstrdup(what);
  yaml_mark_t m = p->yp.problem_mark;
  return mtk_err_set_at(err, MTK_E_INVALID, p->path, (int) m.line + 1, (int) m.column + 1,
                        "yaml: %s", msg);
}

static size_t count_nodes(const struct mtk_node *n)
{
  size_t c = 1;
  for (size_t i = 0; n->kind == MTK_NODE_SEQ && i < n->len; i++)
    c += count_nodes(n->items[i]);
  for (size_t i = 0; n->kind == MTK_NODE_MAP && i < n->len; i++)
    c += count_nodes(n->pairs[i].val);
  return c;
}

static int add_nodes(struct parser *p, size_t n, yaml_mark_t m, struct mtk_err **err)
{
  p->nodes += n;
  if (p->nodes > MTK_COMPOSE_YAML_MAX_NODES)
    return fail_at(p, m, err, "yaml: document contains excessive aliasing");
  return 0;
}

static void set_anchor(struct parser *p, const yaml_char_t *name, struct mtk_node *n, bool done)
{
  for (size_t i = p->n_anchors; i-- > 0;)
    if (strcmp(p->anchors[i].name, (const char *) name) == 0) {
      p->anchors[i].node = n;
      p->anchors[i].done = done;
      return;
    }
  if (p->n_anchors == p->cap_anchors) {
    p->cap_anchors = p->cap_anchors ? p->cap_anchors * 2 : 8;
    p->anchors = mtk_xrealloc(p->anchors, p->cap_anchors * sizeof(*p->anchors));
  }
  p->anchors[p->n_anchors++] = (struct anchor){mtk_xstrdup((const char *) name), n, done};
}

static void finish_anchor(struct parser *p, const yaml_char_t *name)
{
  for (size_t i = p->n_anchors; name && i-- > 0;)
    if (strcmp(p->anchors[i].name, (const char *) name) == 0) {
      p->anchors[i].done = true;
      return;
    }
}

static void set_pos(struct parser *p, struct mtk_node *n, yaml_mark_t m)
{
  n->file = p->path;
  n->line = (int) m.line + 1;
  n->col = (int) m.column + 1;
}

static struct mtk_node *scalar(struct parser *p, yaml_event_t *ev, struct mtk_err **err)
{
  const char *v = (const char *) ev->data.scalar.value;
  const char *tag = (const char *) ev->data.scalar.tag;
  if (strlen(v) != ev->data.scalar.length) {
    fail_at(p, ev->start_mark, err, "yaml: NUL character in scalar");
    return NULL;
  }
  struct mtk_node *n;
  bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  if (tag && strcmp(tag, YAML_STR_TAG) == 0)
    n = mtk_node_new_str(v, NULL);
  else if (plain || (tag && strncmp(tag, "tag:yaml.org,2002:", 18) == 0))
    n = mtk_node_new_plain(v, NULL);
  else
    n = mtk_node_new_str(v, NULL);
  if (tag && strncmp(tag, "tag:yaml.org,2002:", 18) != 0)
    n->tag = mtk_xstrdup(tag);
  set_pos(p, n, ev->start_mark);
  return n;
}

static struct mtk_node *parse_node(struct parser *p, yaml_event_t *ev, int depth,
                                   struct mtk_err **err);

/* An index of a mapping's keys while it is read, so that duplicate checks
 * stay linear for mappings with many keys. Slots hold pair index + 1. */
struct keyset {
  size_t *slots; /* owned */
  size_t cap;    /* power of two, 0 before the first key */
};

static size_t hash_key(const char *s)
{
  size_t h = 1469598103934665603u;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 1099511628211u;
  return h;
}

static const struct mtk_node_pair *keyset_find(const struct keyset *ks, const struct mtk_node *map,
                                               const char *key)
{
  if (ks->cap == 0)
    return NULL;
  for (size_t i = hash_key(key) & (ks->cap - 1);; i = (i + 1) & (ks->cap - 1)) {
    if (ks->slots[i] == 0)
      return NULL;
    if (strcmp(map->pairs[ks->slots[i] - 1].key, key) == 0)
      return &map->pairs[ks->slots[i] - 1];
  }
}

static void keyset_insert(struct keyset *ks, const struct mtk_node *map, size_t idx)
{
  for (size_t i = hash_key(map->pairs[idx].key) & (ks->cap - 1);; i = (i + 1) & (ks->cap - 1))
    if (ks->slots[i] == 0) {
      ks->slots[i] = idx + 1;
      return;
    }
}

static void keyset_free(struct keyset *ks)
{
  free(ks->slots);
  ks->slots = NULL;
}

/* Indexes the last pair of map, growing the table to stay under half full. */
static void keyset_add(struct keyset *ks, const struct mtk_node *map)
{
  if (2 * map->len > ks->cap) {
    free(ks->slots);
    ks->cap = ks->cap ? ks->cap * 2 : 16;
    ks->slots = mtk_xcalloc(ks->cap, sizeof(size_t));
    for (size_t i = 0; i + 1 < map->len; i++)
      keyset_insert(ks, map, i);
  }
  keyset_insert(ks, map, map->len - 1);
}

static int merge_into(struct parser *p, struct mtk_node *map, struct keyset *ks,
                      const struct mtk_node *src, yaml_mark_t m, struct mtk_err **err)
{
  if (src->kind == MTK_NODE_SEQ) {
    for (size_t i = 0; i < src->len; i++)
      if (src->items[i]->kind != MTK_NODE_MAP || merge_into(p, map, ks, src->items[i], m, err) < 0)
        return src->items[i]->kind != MTK_NODE_MAP
                   ? fail_at(p, m, err,
                             "yaml: map merge requires map or sequence of maps as the value")
                   : -1;
    return 0;
  }
  if (src->kind != MTK_NODE_MAP)
    return fail_at(p, m, err, "yaml: map merge requires map or sequence of maps as the value");
  for (size_t i = 0; i < src->len; i++) {
    if (keyset_find(ks, map, src->pairs[i].key))
      continue;
    struct mtk_node *c = mtk_node_copy(src->pairs[i].val);
    if (add_nodes(p, count_nodes(c), m, err) < 0) {
      mtk_node_free(c);
      return -1;
    }
    mtk_node_append(map, src->pairs[i].key, c);
    keyset_add(ks, map);
  }
  return 0;
}

/* Reads key/value events up to MAPPING_END.  Merge keys are applied once the
 * explicit keys are known, so that those win whatever their order. */
static int parse_mapping(struct parser *p, struct mtk_node *map, int depth, struct mtk_err **err)
{
  mtk_autoptr(mtk_node) merges = mtk_node_new_seq(NULL);
  __attribute__((cleanup(keyset_free))) struct keyset ks = {NULL, 0};
  yaml_mark_t merge_mark = {0, 0, 0};
  for (;;) {
    yaml_event_t ev;
    if (next_event(p, &ev, err) < 0)
      return -1;
    if (ev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&ev);
      break;
    }
    yaml_mark_t km = ev.start_mark;
    bool is_merge = ev.type == YAML_SCALAR_EVENT &&
                    ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                    strcmp((const char *) ev.data.scalar.value, "<<") == 0;
    struct mtk_node *key = parse_node(p, &ev, depth + 1, err);
    yaml_event_delete(&ev);
    if (key == NULL)
      return -1;
    mtk_autoptr(mtk_node) k = key;
    if (next_event(p, &ev, err) < 0)
      return -1;
    struct mtk_node *val = parse_node(p, &ev, depth + 1, err);
    yaml_event_delete(&ev);
    if (val == NULL)
      return -1;
    if (is_merge) {
      merge_mark = km;
      mtk_node_push(merges, val);
      continue;
    }
    if (k->kind != MTK_NODE_SCALAR || k->type != MTK_SCALAR_STR) {
      mtk_node_free(val);
      mtk_autofree char *msg =
          mtk_xasprintf("non-string key: %s", k->kind == MTK_NODE_SCALAR ? k->str : "(collection)");
      return fail_at(p, km, err, msg);
    }
    const struct mtk_node_pair *dup = keyset_find(&ks, map, k->str);
    if (dup) {
      mtk_node_free(val);
      mtk_autofree char *msg =
          mtk_xasprintf("mapping key \"%s\" already defined at line %d", k->str, dup->line);
      return fail_at(p, km, err, msg);
    }
    mtk_node_append(map, k->str, val);
    map->pairs[map->len - 1].line = (int) km.line + 1;
    map->pairs[map->len - 1].col = (int) km.column + 1;
    keyset_add(&ks, map);
  }
  for (size_t i = 0; i < merges->len; i++)
    if (merge_into(p, map, &ks, merges->items[i], merge_mark, err) < 0)
      return -1;
  return 0;
}

static int parse_sequence(struct parser *p, struct mtk_node *seq, int depth, struct mtk_err **err)
{
  for (;;) {
    yaml_event_t ev;
    if (next_event(p, &ev, err) < 0)
      return -1;
    if (ev.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&ev);
      return 0;
    }
    struct mtk_node *item = parse_node(p, &ev, depth + 1, err);
    yaml_event_delete(&ev);
    if (item == NULL)
      return -1;
    mtk_node_push(seq, item);
  }
}

static struct mtk_node *alias(struct parser *p, yaml_event_t *ev, struct mtk_err **err)
{
  const char *name = (const char *) ev->data.alias.anchor;
  for (size_t i = p->n_anchors; i-- > 0;) {
    if (strcmp(p->anchors[i].name, name) != 0)
      continue;
    if (!p->anchors[i].done) {
      fail_at(p, ev->start_mark, err, "yaml: anchor refers to itself");
      return NULL;
    }
    struct mtk_node *c = mtk_node_copy(p->anchors[i].node);
    if (add_nodes(p, count_nodes(c), ev->start_mark, err) < 0) {
      mtk_node_free(c);
      return NULL;
    }
    return c;
  }
  mtk_autofree char *msg = mtk_xasprintf("yaml: unknown anchor '%s' referenced", name);
  fail_at(p, ev->start_mark, err, msg);
  return NULL;
}

static struct mtk_node *parse_node(struct parser *p, yaml_event_t *ev, int depth,
                                   struct mtk_err **err)
{
  if (depth > 1000) {
    fail_at(p, ev->start_mark, err, "yaml: document nested too deeply");
    return NULL;
  }
  if (add_nodes(p, 1, ev->start_mark, err) < 0)
    return NULL;
  struct mtk_node *n = NULL;
  const yaml_char_t *anchor = NULL, *tag = NULL;
  int r = 0;
  switch (ev->type) {
    case YAML_ALIAS_EVENT:
      return alias(p, ev, err);
    case YAML_SCALAR_EVENT:
      n = scalar(p, ev, err);
      if (n && ev->data.scalar.anchor)
        set_anchor(p, ev->data.scalar.anchor, n, true);
      return n;
    case YAML_MAPPING_START_EVENT:
      n = mtk_node_new_map(NULL);
      anchor = ev->data.mapping_start.anchor;
      tag = ev->data.mapping_start.tag;
      break;
    case YAML_SEQUENCE_START_EVENT:
      n = mtk_node_new_seq(NULL);
      anchor = ev->data.sequence_start.anchor;
      tag = ev->data.sequence_start.tag;
      break;
    default:
      fail_at(p, ev->start_mark, err, "yaml: unexpected event");
      return NULL;
  }
  set_pos(p, n, ev->start_mark);
  if (tag && strncmp((const char *) tag, "tag:yaml.org,2002:", 18) != 0)
    n->tag = mtk_xstrdup((const char *) tag);
  if (anchor)
    set_anchor(p, anchor, n, false);
  r = n->kind == MTK_NODE_MAP ? parse_mapping(p, n, depth, err) : parse_sequence(p, n, depth, err);
  if (r < 0) {
    /* The anchor table may point into n: forget it before freeing. */
    clear_anchors(p);
    mtk_node_free(n);
    return NULL;
  }
  finish_anchor(p, anchor);
  return n;
}

static struct mtk_node *parse_stream(struct parser *p, struct mtk_err **err)
{
  mtk_autoptr(mtk_node) docs = mtk_node_new_seq(NULL);
  for (;;) {
    yaml_event_t ev;
    if (next_event(p, &ev, err) < 0)
      return NULL;
    yaml_event_type_t t = ev.type;
    yaml_event_delete(&ev);
    if (t == YAML_STREAM_END_EVENT)
      break;
    if (t != YAML_DOCUMENT_START_EVENT)
      continue;
    clear_anchors(p);
    p->nodes = 0;
    if (next_event(p, &ev, err) < 0)
      return NULL;
    struct mtk_node *root = parse_node(p, &ev, 0, err);
    yaml_event_delete(&ev);
    if (root == NULL)
      return NULL;
    mtk_node_push(docs, root);
    if (next_event(p, &ev, err) < 0) /* DOCUMENT_END */
      return NULL;
    yaml_event_delete(&ev);
  }
  return mtk_steal_ptr(&docs);
}

struct mtk_node *mtk_compose_yaml_parse_all(const char *path, const char *text, size_t len,
                                            struct mtk_err **err)
{
  struct parser p = {.path = mtk_node_intern(path)};
  if (!yaml_parser_initialize(&p.yp)) {
    mtk_err_set(err, MTK_E_GENERIC, "cannot initialise the YAML parser");
    return NULL;
  }
  yaml_parser_set_input_string(&p.yp, (const unsigned char *) text, len);
  struct mtk_node *docs = parse_stream(&p, err);
  clear_anchors(&p);
  free(p.anchors);
  yaml_parser_delete(&p.yp);
  return docs;
}

struct mtk_node *mtk_compose_yaml_parse(const char *path, const char *text, size_t len,
                                        struct mtk_err **err)
{
  mtk_autoptr(mtk_node) docs = mtk_compose_yaml_parse_all(path, text, len, err);
  if (docs == NULL)
    return NULL;
  if (docs->len == 0)
    return mtk_node_new_null(NULL);
  struct mtk_node *root = docs->items[0];
  docs->items[0] = mtk_node_new_null(NULL);
  return root;
}
