/* libcurl, loaded on first use (see util/dl.h): this file defines the curl_*
 * functions mtk calls, each forwarding to libcurl.so.4 opened by dlopen the
 * first time any of them runs, so that commands which never talk to a
 * registry do not map libcurl and its ~30 dependencies.
 *
 * When libcurl cannot be loaded, every function returns curl's own failure
 * value (CURLE_FAILED_INIT, NULL, ...) and the *_strerror functions return
 * the reason ("libcurl.so.4 is not installed: apt-get install libcurl4"), so
 * the callers' usual error paths report it.  The variadic setopt/getinfo
 * functions read their one argument with the type the option's number
 * range stands for, as libcurl itself does. */
#include "config.h"

/* The type-checking macros of curl/typecheck-gcc.h would rename the
 * definitions below; the callers keep them. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <stdarg.h>

#include "util/dl.h"

#define CURL_FUNCS(F, V, M)                                                                        \
  F(curl_global_init, CURLcode, (long flags), (flags), CURLE_FAILED_INIT)                          \
  V(curl_global_cleanup, (void), ())                                                               \
  F(curl_version, char *, (void), (), NULL)                                                        \
  F(curl_easy_init, CURL *, (void), (), NULL)                                                      \
  F(curl_easy_duphandle, CURL *, (CURL * h), (h), NULL)                                            \
  V(curl_easy_cleanup, (CURL * h), (h))                                                            \
  V(curl_easy_reset, (CURL * h), (h))                                                              \
  F(curl_easy_perform, CURLcode, (CURL * h), (h), CURLE_FAILED_INIT)                               \
  F(curl_easy_pause, CURLcode, (CURL * h, int mask), (h, mask), CURLE_FAILED_INIT)                 \
  M(curl_easy_setopt, CURLcode, (CURL *, CURLoption, ...))                                         \
  M(curl_easy_getinfo, CURLcode, (CURL *, CURLINFO, ...))                                          \
  F(curl_easy_strerror, const char *, (CURLcode c), (c), mtk_dl_lib_error(&dl_lib))                \
  F(curl_easy_escape, char *, (CURL * h, const char *s, int n), (h, s, n), NULL)                   \
  F(curl_easy_unescape, char *, (CURL * h, const char *s, int n, int *out), (h, s, n, out), NULL)  \
  V(curl_free, (void *p), (p))                                                                     \
  F(curl_slist_append, struct curl_slist *, (struct curl_slist * l, const char *s), (l, s), NULL)  \
  V(curl_slist_free_all, (struct curl_slist * l), (l))                                             \
  F(curl_multi_init, CURLM *, (void), (), NULL)                                                    \
  F(curl_multi_cleanup, CURLMcode, (CURLM * m), (m), CURLM_INTERNAL_ERROR)                         \
  F(curl_multi_add_handle, CURLMcode, (CURLM * m, CURL * h), (m, h), CURLM_INTERNAL_ERROR)         \
  F(curl_multi_remove_handle, CURLMcode, (CURLM * m, CURL * h), (m, h), CURLM_INTERNAL_ERROR)      \
  F(curl_multi_perform, CURLMcode, (CURLM * m, int *running), (m, running), CURLM_INTERNAL_ERROR)  \
  F(curl_multi_poll, CURLMcode,                                                                    \
    (CURLM * m, struct curl_waitfd * fds, unsigned int nfds, int ms, int *numfds),                 \
    (m, fds, nfds, ms, numfds), CURLM_INTERNAL_ERROR)                                              \
  F(curl_multi_wait, CURLMcode,                                                                    \
    (CURLM * m, struct curl_waitfd * fds, unsigned int nfds, int ms, int *numfds),                 \
    (m, fds, nfds, ms, numfds), CURLM_INTERNAL_ERROR)                                              \
  F(curl_multi_wakeup, CURLMcode, (CURLM * m), (m), CURLM_INTERNAL_ERROR)                          \
  F(curl_multi_timeout, CURLMcode, (CURLM * m, long *ms), (m, ms), CURLM_INTERNAL_ERROR)           \
  F(curl_multi_socket_action, CURLMcode, (CURLM * m, curl_socket_t s, int ev, int *running),       \
    (m, s, ev, running), CURLM_INTERNAL_ERROR)                                                     \
  F(curl_multi_assign, CURLMcode, (CURLM * m, curl_socket_t s, void *p), (m, s, p),                \
    CURLM_INTERNAL_ERROR)                                                                          \
  F(curl_multi_info_read, CURLMsg *, (CURLM * m, int *left), (m, left), NULL)                      \
  M(curl_multi_setopt, CURLMcode, (CURLM *, CURLMoption, ...))                                     \
  F(curl_multi_strerror, const char *, (CURLMcode c), (c), mtk_dl_lib_error(&dl_lib))              \
  F(curl_share_init, CURLSH *, (void), (), NULL)                                                   \
  F(curl_share_cleanup, CURLSHcode, (CURLSH * s), (s), CURLSHE_INVALID)                            \
  M(curl_share_setopt, CURLSHcode, (CURLSH *, CURLSHoption, ...))                                  \
  F(curl_share_strerror, const char *, (CURLSHcode c), (c), mtk_dl_lib_error(&dl_lib))             \
  F(curl_url, CURLU *, (void), (), NULL)                                                           \
  F(curl_url_dup, CURLU *, (CURLU * u), (u), NULL)                                                 \
  V(curl_url_cleanup, (CURLU * u), (u))                                                            \
  F(curl_url_get, CURLUcode, (CURLU * u, CURLUPart what, char **part, unsigned int flags),         \
    (u, what, part, flags), CURLUE_OUT_OF_MEMORY)                                                  \
  F(curl_url_set, CURLUcode, (CURLU * u, CURLUPart what, const char *part, unsigned int flags),    \
    (u, what, part, flags), CURLUE_OUT_OF_MEMORY)                                                  \
  F(curl_url_strerror, const char *, (CURLUcode c), (c), mtk_dl_lib_error(&dl_lib))

MTK_DL_SHIMS(CURL_FUNCS, MTK_DL_CURL, "libcurl4")

/* Any function pointer goes through va_arg as this type: libcurl reads it
 * back as the callback type the option names. */
typedef void (*any_fn)(void);

/* One setopt argument, typed by the option number's range (CURLOPTTYPE_*);
 * the easy and multi options share the ranges. */
#define FORWARD_BY_RANGE(fn, h, opt, ap)                                                           \
  ((opt) < CURLOPTTYPE_OBJECTPOINT     ? fn(h, opt, va_arg(ap, long))                              \
   : (opt) < CURLOPTTYPE_FUNCTIONPOINT ? fn(h, opt, va_arg(ap, void *))                            \
   : (opt) < CURLOPTTYPE_OFF_T         ? fn(h, opt, va_arg(ap, any_fn))                            \
   : (opt) < CURLOPTTYPE_BLOB          ? fn(h, opt, va_arg(ap, curl_off_t))                        \
                                       : fn(h, opt, va_arg(ap, void *)))

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
  if (!mtk_dl_ready(&dl_lib))
    return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, opt);
  CURLcode r = FORWARD_BY_RANGE(MTK_DL_FN(curl_easy_setopt), h, opt, ap);
  va_end(ap);
  return r;
}

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
  if (!mtk_dl_ready(&dl_lib))
    return CURLM_INTERNAL_ERROR;
  va_list ap;
  va_start(ap, opt);
  CURLMcode r = FORWARD_BY_RANGE(MTK_DL_FN(curl_multi_setopt), m, opt, ap);
  va_end(ap);
  return r;
}

/* The share options are few and not ranged: SHARE/UNSHARE take an int
 * (curl_lock_data), LOCKFUNC/UNLOCKFUNC a function, USERDATA a pointer. */
CURLSHcode curl_share_setopt(CURLSH *s, CURLSHoption opt, ...)
{
  if (!mtk_dl_ready(&dl_lib))
    return CURLSHE_INVALID;
  dl_t_curl_share_setopt fn = MTK_DL_FN(curl_share_setopt);
  va_list ap;
  va_start(ap, opt);
  CURLSHcode r;
  switch (opt) {
    case CURLSHOPT_SHARE:
    case CURLSHOPT_UNSHARE:
      r = fn(s, opt, va_arg(ap, int));
      break;
    case CURLSHOPT_LOCKFUNC:
    case CURLSHOPT_UNLOCKFUNC:
      r = fn(s, opt, va_arg(ap, any_fn));
      break;
    default:
      r = fn(s, opt, va_arg(ap, void *));
      break;
  }
  va_end(ap);
  return r;
}

/* The result pointer's type is in the info number (CURLINFO_TYPEMASK). */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
  if (!mtk_dl_ready(&dl_lib))
    return CURLE_FAILED_INIT;
  dl_t_curl_easy_getinfo fn = MTK_DL_FN(curl_easy_getinfo);
  va_list ap;
  va_start(ap, info);
  CURLcode r;
  switch (info & CURLINFO_TYPEMASK) {
    case CURLINFO_STRING:
      r = fn(h, info, va_arg(ap, char **));
      break;
    case CURLINFO_LONG:
      r = fn(h, info, va_arg(ap, long *));
      break;
    case CURLINFO_DOUBLE:
      r = fn(h, info, va_arg(ap, double *));
      break;
    case CURLINFO_SLIST: /* and CURLINFO_PTR, read by libcurl the same way */
      r = fn(h, info, va_arg(ap, struct curl_slist **));
      break;
    case CURLINFO_SOCKET:
      r = fn(h, info, va_arg(ap, curl_socket_t *));
      break;
    case CURLINFO_OFF_T:
      r = fn(h, info, va_arg(ap, curl_off_t *));
      break;
    default:
      r = CURLE_UNKNOWN_OPTION;
      break;
  }
  va_end(ap);
  return r;
}
