/* The `!reset` / `!override` tags (merge.h): compose-go's ResetProcessor,
 * which records the paths of tagged nodes while the document is read
 * (dropping the `!reset` ones) and later deletes those paths from the model
 * built from the earlier files, and from the base of an `extends`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/merge.h"

struct reset_path {
  char **seg; /* owned: segments ("0", "1"... for sequence items) */
  size_t len; /* segments */
};

struct mtk_compose_resets {
  struct reset_path *v; /* owned */
  size_t len;           /* paths used */
  size_t cap;           /* paths allocated */
};

/* A path under construction: a stack of borrowed segments. */
struct stack {
  const char **seg; /* owned array of borrowed strings */
  size_t len;
  size_t cap;
};

static void stack_push(struct stack *s, const char *seg)
{
  if (s->len == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->seg = mtk_xrealloc(s->seg, s->cap * sizeof(*s->seg));
  }
  s->seg[s->len++] = seg;
}

static void record(struct mtk_compose_resets *r, const struct stack *s)
{
  if (r->len == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 4;
    r->v = mtk_xrealloc(r->v, r->cap * sizeof(*r->v));
  }
  struct reset_path *p = &r->v[r->len++];
  p->len = s->len;
  p->seg = mtk_xcalloc(s->len + 1, sizeof(*p->seg));
  for (size_t i = 0; i < s->len; i++)
    p->seg[i] = mtk_xstrdup(s->seg[i]);
}

struct collector {
  struct mtk_compose_resets *resets; /* borrowed: where paths go */
  struct stack path;                 /* current path */
  size_t visits;                     /* resolveReset calls so far */
};

static int resolve(struct collector *c, struct mtk_node *n, bool *drop, struct mtk_err **err);

/* Resolves the children of a collection, removing the dropped ones. */
static int resolve_children(struct collector *c, struct mtk_node *n, struct mtk_err **err)
{
  size_t kept = 0;
  for (size_t i = 0; i < n->len; i++) {
    char idx[24];
    bool drop = false;
    struct mtk_node *child;
    if (n->kind == MTK_NODE_MAP) {
      child = n->pairs[i].val;
      stack_push(&c->path, n->pairs[i].key);
    } else {
      child = n->items[i];
      snprintf(idx, sizeof(idx), "%zu", i);
      stack_push(&c->path, idx);
    }
    int rc = resolve(c, child, &drop, err);
    c->path.len--;
    if (rc < 0) {
      /* keep the node valid: close the gap left by earlier drops */
      for (size_t k = i; k < n->len; k++, kept++) {
        if (n->kind == MTK_NODE_MAP)
          n->pairs[kept] = n->pairs[k];
        else
          n->items[kept] = n->items[k];
      }
      n->len = kept;
      return rc;
    }
    if (drop) {
      if (n->kind == MTK_NODE_MAP)
        free(n->pairs[i].key);
      mtk_node_free(child);
      continue;
    }
    if (n->kind == MTK_NODE_MAP)
      n->pairs[kept++] = n->pairs[i];
    else
      n->items[kept++] = n->items[i];
  }
  n->len = kept;
  return 0;
}

static int resolve(struct collector *c, struct mtk_node *n, bool *drop, struct mtk_err **err)
{
  if (++c->visits > MTK_COMPOSE_MAX_NODE_VISITS)
    return mtk_node_err(n, err, "compose file exceeds maximum node visit limit (%d)",
                        MTK_COMPOSE_MAX_NODE_VISITS);
  if (mtk_node_has_tag(n, "!reset")) {
    record(c->resets, &c->path);
    *drop = true;
    return 0;
  }
  if (mtk_node_has_tag(n, "!override")) {
    record(c->resets, &c->path);
    return 0;
  }
  if (n && (n->kind == MTK_NODE_MAP || n->kind == MTK_NODE_SEQ))
    return resolve_children(c, n, err);
  return 0;
}

/* Turns a dropped root into a null scalar, in place. */
static void clear_root(struct mtk_node *n)
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
  n->items = NULL, n->pairs = NULL, n->tag = NULL;
  n->len = n->cap = 0;
  n->kind = MTK_NODE_SCALAR;
  n->type = MTK_SCALAR_NULL;
  n->str = mtk_xstrdup("");
}

int mtk_compose_resets_collect(struct mtk_node *doc, struct mtk_compose_resets **resets,
                               struct mtk_err **err)
{
  mtk_autoptr(mtk_compose_resets) r = mtk_xcalloc(1, sizeof(*r));
  struct collector c = {.resets = r};
  bool drop = false;
  int rc = resolve(&c, doc, &drop, err);
  free(c.path.seg);
  if (rc < 0)
    return rc;
  if (drop && doc)
    clear_root(doc);
  *resets = mtk_steal_ptr(&r);
  return 0;
}

/* tree.Path.Matches with the recorded path as the pattern. */
static bool matches(const struct reset_path *pattern, const struct stack *s)
{
  if (pattern->len != s->len)
    return false;
  for (size_t i = s->len; i > 0; i--)
    if (strcmp(pattern->seg[i - 1], "*") != 0 && strcmp(pattern->seg[i - 1], s->seg[i - 1]) != 0)
      return false;
  return true;
}

static bool any_matches(const struct mtk_compose_resets *r, const struct stack *s)
{
  for (size_t i = 0; i < r->len; i++)
    if (matches(&r->v[i], s))
      return true;
  return false;
}

/* applyNullOverrides */
static void apply(const struct mtk_compose_resets *r, struct mtk_node *n, struct stack *s)
{
  if (n == NULL)
    return;
  if (n->kind == MTK_NODE_MAP) {
    for (size_t i = 0; i < n->len;) {
      stack_push(s, n->pairs[i].key);
      bool hit = any_matches(r, s);
      if (!hit)
        apply(r, n->pairs[i].val, s);
      s->len--;
      if (hit)
        mtk_node_del(n, n->pairs[i].key);
      else
        i++;
    }
  } else if (n->kind == MTK_NODE_SEQ) {
    for (size_t i = 0; i < n->len; i++) {
      char idx[32];
      snprintf(idx, sizeof(idx), "[%zu]", i);
      stack_push(s, idx);
      apply(r, n->items[i], s);
      s->len--;
    }
  }
}

void mtk_compose_resets_apply_at(const struct mtk_compose_resets *resets, struct mtk_node *node,
                                 const char *const *prefix, size_t n)
{
  if (resets == NULL || resets->len == 0)
    return;
  struct stack s = {0};
  for (size_t i = 0; i < n; i++)
    stack_push(&s, prefix[i]);
  apply(resets, node, &s);
  free(s.seg);
}

void mtk_compose_resets_apply(const struct mtk_compose_resets *resets, struct mtk_node *model)
{
  mtk_compose_resets_apply_at(resets, model, NULL, 0);
}

size_t mtk_compose_resets_len(const struct mtk_compose_resets *resets)
{
  return resets ? resets->len : 0;
}

void mtk_compose_resets_free(struct mtk_compose_resets *resets)
{
  if (resets == NULL)
    return;
  for (size_t i = 0; i < resets->len; i++) {
    for (size_t k = 0; k < resets->v[i].len; k++)
      free(resets->v[i].seg[k]);
    free(resets->v[i].seg);
  }
  free(resets->v);
  free(resets);
}
