/* The one error type of mtk (see docs/internals/errors.md).
 *
 * A fallible function takes `struct mtk_err **err` last, returns 0 (or a
 * pointer) on success, and on failure returns a negative value (or NULL)
 * after setting *err.  Only the cli prints errors; it maps `code` to the
 * exit status with mtk_err_exit_code(). */
#ifndef MTK_ERR_H
#define MTK_ERR_H

#include <stdarg.h>

/* Codes above the errno range: what went wrong, in Docker Compose's terms.
 * Values below MTK_E_BASE are errno values. */
enum mtk_err_code {
  MTK_E_BASE = 1000,
  MTK_E_GENERIC = 1000, /* exit 1 */
  MTK_E_NOFILE = 1014,  /* no compose file found: exit 14 */
  MTK_E_INVALID = 1015, /* the compose file is invalid: exit 15 */
  MTK_E_USAGE = 1016,   /* bad command line: exit 16 */
  MTK_E_BUILD = 1017,   /* build failed: exit 17 */
  MTK_E_PULL = 1018,    /* pull failed: exit 18 */
  MTK_E_INTR = 1130,    /* interrupted: exit 130 */
};

struct mtk_err {
  int code;   /* errno or enum mtk_err_code */
  char *msg;  /* owned: the message, with context prefixes */
  char *file; /* owned: file the error is about, or NULL */
  int line;   /* 1-based line in file, 0 when unknown */
  int col;    /* 1-based column in file, 0 when unknown */
  char *hint; /* owned: what the user can do next, or NULL */
};

/* Sets *err (if err and *err is NULL) and returns a negative value, even when
 * code is 0.  An error already set is kept: the first cause wins. */
int mtk_err_set(struct mtk_err **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int mtk_err_setv(struct mtk_err **err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Like mtk_err_set, with the position of the offending input. */
int mtk_err_set_at(struct mtk_err **err, int code, const char *file, int line, int col,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int mtk_err_set_atv(struct mtk_err **err, int code, const char *file, int line, int col,
                    const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* Prefixes the message of *err with context ("service web: " + msg).
 * Returns a negative value so that `return mtk_err_wrap(...)` reads well. */
int mtk_err_wrap(struct mtk_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets the hint (what to do next) of *err, replacing an earlier one. */
void mtk_err_hint(struct mtk_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Releases *err and sets it to NULL; accepts NULL and an unset error. */
void mtk_err_free(struct mtk_err **err);

/* The full text: "file:line:col: msg" (position parts only when known). Owned by caller. */
char *mtk_err_format(const struct mtk_err *err);

/* The process exit status for an error, as Docker Compose's. */
int mtk_err_exit_code(const struct mtk_err *err);

#endif
