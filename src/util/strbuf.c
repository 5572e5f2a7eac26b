/* Growable string buffer. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/strbuf.h"

static void grow(struct mtk_strbuf *sb, size_t extra)
{
  if (sb->len + extra + 1 <= sb->cap)
    return;
  size_t cap = sb->cap ? sb->cap : 64;
  while (cap < sb->len + extra + 1)
    cap *= 2;
  sb->buf = mtk_xrealloc(sb->buf, cap);
  sb->cap = cap;
}

void mtk_strbuf_add(struct mtk_strbuf *sb, const char *s, size_t n)
{
  grow(sb, n);
  if (n)
    memcpy(sb->buf + sb->len, s, n);
  sb->len += n;
  sb->buf[sb->len] = '\0';
}

void mtk_strbuf_adds(struct mtk_strbuf *sb, const char *s)
{
  mtk_strbuf_add(sb, s, strlen(s));
}

void mtk_strbuf_addc(struct mtk_strbuf *sb, char c)
{
  mtk_strbuf_add(sb, &c, 1);
}

void mtk_strbuf_addf(struct mtk_strbuf *sb, const char *fmt, ...)
{
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    abort();
  grow(sb, (size_t) n);
  vsnprintf(sb->buf + sb->len, (size_t) n + 1, fmt, ap2);
  va_end(ap2);
  sb->len += (size_t) n;
}

void mtk_strbuf_reset(struct mtk_strbuf *sb)
{
  sb->len = 0;
  if (sb->buf)
    sb->buf[0] = '\0';
}

char *mtk_strbuf_steal(struct mtk_strbuf *sb)
{
  char *s = sb->buf ? sb->buf : mtk_xstrdup("");
  sb->buf = NULL;
  sb->len = sb->cap = 0;
  return s;
}

void mtk_strbuf_free(struct mtk_strbuf *sb)
{
  free(sb->buf);
  sb->buf = NULL;
  sb->len = sb->cap = 0;
}

const char *mtk_strbuf_str(const struct mtk_strbuf *sb)
{
  return sb->buf ? sb->buf : "";
}
