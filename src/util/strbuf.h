/* A growable NUL-terminated byte buffer with an optional size cap
 * (buffers fed from files or the network are bounded). */
#ifndef MTK_UTIL_STRBUF_H
#define MTK_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct mtk_strbuf {
  char *buf;  /* owned; always NUL-terminated once anything was added */
  size_t len; /* bytes used, without the NUL */
  size_t cap; /* bytes allocated */
};

#define MTK_STRBUF_INIT                                                                            \
  {                                                                                                \
    NULL, 0, 0                                                                                     \
  }

void mtk_strbuf_add(struct mtk_strbuf *sb, const char *s, size_t n);
void mtk_strbuf_adds(struct mtk_strbuf *sb, const char *s);
void mtk_strbuf_addc(struct mtk_strbuf *sb, char c);
void mtk_strbuf_addf(struct mtk_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mtk_strbuf_reset(struct mtk_strbuf *sb);
/* Returns the string (never NULL) and leaves sb empty; caller frees. */
char *mtk_strbuf_steal(struct mtk_strbuf *sb);
void mtk_strbuf_free(struct mtk_strbuf *sb);
/* Current contents ("" when empty); borrowed. */
const char *mtk_strbuf_str(const struct mtk_strbuf *sb);

#define mtk_autostrbuf __attribute__((cleanup(mtk_strbuf_free))) struct mtk_strbuf

#endif
