/* Insertion-ordered string map. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/strmap.h"

static ssize_t find(const struct mtk_strmap *m, const char *key)
{
  for (size_t i = 0; i < m->len; i++)
    if (strcmp(m->keys[i], key) == 0)
      return (ssize_t) i;
  return -1;
}

const char *mtk_strmap_get(const struct mtk_strmap *m, const char *key, bool *found)
{
  ssize_t i = find(m, key);
  if (found)
    *found = i >= 0;
  return i >= 0 ? m->vals[i] : NULL;
}

bool mtk_strmap_has(const struct mtk_strmap *m, const char *key)
{
  return find(m, key) >= 0;
}

void mtk_strmap_set(struct mtk_strmap *m, const char *key, const char *val)
{
  ssize_t i = find(m, key);
  char *v = val ? mtk_xstrdup(val) : NULL;
  if (i >= 0) {
    free(m->vals[i]);
    m->vals[i] = v;
    return;
  }
  if (m->len == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 8;
    m->keys = mtk_xrealloc(m->keys, m->cap * sizeof(char *));
    m->vals = mtk_xrealloc(m->vals, m->cap * sizeof(char *));
  }
  m->keys[m->len] = mtk_xstrdup(key);
  m->vals[m->len] = v;
  m->len++;
}

void mtk_strmap_set_default(struct mtk_strmap *m, const char *key, const char *val)
{
  if (find(m, key) < 0)
    mtk_strmap_set(m, key, val);
}

void mtk_strmap_del(struct mtk_strmap *m, const char *key)
{
  ssize_t i = find(m, key);
  if (i < 0)
    return;
  free(m->keys[i]);
  free(m->vals[i]);
  memmove(m->keys + i, m->keys + i + 1, (m->len - (size_t) i - 1) * sizeof(char *));
  memmove(m->vals + i, m->vals + i + 1, (m->len - (size_t) i - 1) * sizeof(char *));
  m->len--;
}

void mtk_strmap_merge(struct mtk_strmap *m, const struct mtk_strmap *src)
{
  for (size_t i = 0; i < src->len; i++)
    mtk_strmap_set(m, src->keys[i], src->vals[i]);
}

void mtk_strmap_free(struct mtk_strmap *m)
{
  for (size_t i = 0; i < m->len; i++) {
    free(m->keys[i]);
    free(m->vals[i]);
  }
  free(m->keys);
  free(m->vals);
  m->keys = m->vals = NULL;
  m->len = m->cap = 0;
}
