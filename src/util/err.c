/* struct mtk_err: creation, context wrapping, formatting and the mapping of
 * error codes to Docker Compose's exit statuses. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mtk/err.h"
#include "util/cleanup.h"

static int neg(int code)
{
  return code > 0 ? -code : -code - 1;
}

int mtk_err_setv(struct mtk_err **err, int code, const char *fmt, va_list ap)
{
  if (err == NULL || *err != NULL)
    return neg(code);
  struct mtk_err *e = mtk_xcalloc(1, sizeof(*e));
  e->code = code;
  if (vasprintf(&e->msg, fmt, ap) < 0)
    abort();
  *err = e;
  return neg(code);
}

int mtk_err_set(struct mtk_err **err, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = mtk_err_setv(err, code, fmt, ap);
  va_end(ap);
  return r;
}

int mtk_err_set_atv(struct mtk_err **err, int code, const char *file, int line, int col,
                    const char *fmt, va_list ap)
{
  bool fresh = err && *err == NULL;
  int r = mtk_err_setv(err, code, fmt, ap);
  if (fresh) {
    (*err)->file = file ? mtk_xstrdup(file) : NULL;
    (*err)->line = line;
    (*err)->col = col;
  }
  return r;
}

int mtk_err_set_at(struct mtk_err **err, int code, const char *file, int line, int col,
                   const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = mtk_err_set_atv(err, code, file, line, col, fmt, ap);
  va_end(ap);
  return r;
}

int mtk_err_wrap(struct mtk_err **err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  va_list ap;
  mtk_autofree char *prefix = NULL;
  va_start(ap, fmt);
  if (vasprintf(&prefix, fmt, ap) < 0)
    abort();
  va_end(ap);
  char *m = mtk_xasprintf("%s: %s", prefix, (*err)->msg);
  free((*err)->msg);
  (*err)->msg = m;
  return neg((*err)->code);
}

void mtk_err_hint(struct mtk_err **err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return;
  va_list ap;
  va_start(ap, fmt);
  free((*err)->hint);
  (*err)->hint = NULL;
  if (vasprintf(&(*err)->hint, fmt, ap) < 0)
    abort();
  va_end(ap);
}

void mtk_err_free(struct mtk_err **err)
{
  if (err == NULL || *err == NULL)
    return;
  free((*err)->msg);
  free((*err)->file);
  free((*err)->hint);
  free(*err);
  *err = NULL;
}

char *mtk_err_format(const struct mtk_err *e)
{
  if (e->file && e->line > 0 && e->col > 0)
    return mtk_xasprintf("%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
  if (e->file && e->line > 0)
    return mtk_xasprintf("%s:%d: %s", e->file, e->line, e->msg);
  if (e->file)
    return mtk_xasprintf("%s: %s", e->file, e->msg);
  return mtk_xstrdup(e->msg);
}

int mtk_err_exit_code(const struct mtk_err *e)
{
  if (e == NULL)
    return 0;
  switch (e->code) {
    case MTK_E_NOFILE:
      return 14;
    case MTK_E_INVALID:
      return 15;
    case MTK_E_USAGE:
      return 16;
    case MTK_E_BUILD:
      return 17;
    case MTK_E_PULL:
      return 18;
    case MTK_E_INTR:
      return 130;
    default:
      return 1;
  }
}
