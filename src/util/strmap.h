/* An insertion-ordered string -> string map (environments, labels, args).
 * Small maps with linear lookup: compose files have tens of entries. */
#ifndef MTK_UTIL_STRMAP_H
#define MTK_UTIL_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct mtk_strmap {
  char **keys; /* owned */
  char **vals; /* owned; a value may be NULL (declared, unset) */
  size_t len;  /* entries used */
  size_t cap;  /* entries allocated */
};

#define MTK_STRMAP_INIT                                                                            \
  {                                                                                                \
    NULL, NULL, 0, 0                                                                               \
  }

/* Value of key, or NULL when absent or unset; *found tells which (may be NULL). */
const char *mtk_strmap_get(const struct mtk_strmap *m, const char *key, bool *found);
bool mtk_strmap_has(const struct mtk_strmap *m, const char *key);
/* Sets key to a copy of val (val may be NULL); an existing key keeps its position. */
void mtk_strmap_set(struct mtk_strmap *m, const char *key, const char *val);
/* Sets only when key is absent. */
void mtk_strmap_set_default(struct mtk_strmap *m, const char *key, const char *val);
void mtk_strmap_del(struct mtk_strmap *m, const char *key);
/* Copies every entry of src into m (src wins). */
void mtk_strmap_merge(struct mtk_strmap *m, const struct mtk_strmap *src);
void mtk_strmap_free(struct mtk_strmap *m);

#define mtk_autostrmap __attribute__((cleanup(mtk_strmap_free))) struct mtk_strmap

#endif
