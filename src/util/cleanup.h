/* Scope-bound cleanup helpers (GCC/Clang `cleanup` attribute) and the
 * aborting allocators.  Every cleanup function accepts NULL and values that
 * were already released; ownership is handed on with mtk_steal_ptr/fd. */
#ifndef MTK_UTIL_CLEANUP_H
#define MTK_UTIL_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void mtk_cleanup_freep(void *p);
void mtk_cleanup_closep(int *fd);
void mtk_cleanup_fclosep(FILE **f);

#define mtk_autofree __attribute__((cleanup(mtk_cleanup_freep), unused))
#define mtk_autoclose __attribute__((cleanup(mtk_cleanup_closep)))
#define mtk_autofclose __attribute__((cleanup(mtk_cleanup_fclosep)))

/* MTK_DEFINE_AUTOPTR(struct_name, free_fn) lets `mtk_autoptr(struct_name) p`
 * call free_fn(p) at scope exit; free_fn must accept NULL. */
#define MTK_DEFINE_AUTOPTR(name, fn)                                                               \
  static inline void mtk_autoptr_cleanup_##name(struct name **p)                                   \
  {                                                                                                \
    if (*p)                                                                                        \
      fn(*p);                                                                                      \
  }
/* `unused`: a guard that only frees at scope exit (ownership handed over
 * to it) is never read, which clang would report. */
#define mtk_autoptr(name) __attribute__((cleanup(mtk_autoptr_cleanup_##name), unused)) struct name *

static inline void *mtk_steal_ptr_impl(void *pp)
{
  void **p = (void **) pp;
  void *v = *p;
  *p = NULL;
  return v;
}
#define mtk_steal_ptr(pp) ((__typeof__(*(pp))) mtk_steal_ptr_impl(pp))

static inline int mtk_steal_fd(int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}

void *mtk_xmalloc(size_t n);
void *mtk_xcalloc(size_t n, size_t size);
void *mtk_xrealloc(void *p, size_t n);
char *mtk_xstrdup(const char *s);
char *mtk_xstrndup(const char *s, size_t n);
char *mtk_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
