/* Cleanup callbacks and allocators that abort on out-of-memory: an
 * orchestrator that cannot allocate a few bytes cannot report usefully. */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "util/cleanup.h"

void mtk_cleanup_freep(void *p)
{
  void **pp = (void **) p;
  free(*pp);
  *pp = NULL;
}

void mtk_cleanup_closep(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

void mtk_cleanup_fclosep(FILE **f)
{
  if (*f)
    fclose(*f);
  *f = NULL;
}

static void *oom(void)
{
  fputs("mtk: out of memory\n", stderr);
  abort();
}

void *mtk_xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  return p ? p : oom();
}

void *mtk_xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  return p ? p : oom();
}

void *mtk_xrealloc(void *p, size_t n)
{
  p = realloc(p, n ? n : 1);
  return p ? p : oom();
}

char *mtk_xstrdup(const char *s)
{
  char *p = strdup(s ? s : "");
  return p ? p : oom();
}

char *mtk_xstrndup(const char *s, size_t n)
{
  char *p = strndup(s, n);
  return p ? p : oom();
}

char *mtk_xasprintf(const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  int r = vasprintf(&s, fmt, ap);
  va_end(ap);
  return r < 0 ? oom() : s;
}
