/* Shared libraries loaded on first use (dlopen by soname), so that starting
 * `mtk` maps only what every command needs: libcurl (with gnutls, krb5,
 * ldap...), libarchive (libxml2 -> ICU) and libnftables are mapped only by the
 * code paths that call them.  A library is opened once, thread-safely, and all
 * its symbols are resolved at that moment; a missing library or symbol is a
 * clear error naming the Debian package to install, never a crash.
 *
 * The shim files (src/image/curl_dl.c, src/image/archive_dl.c,
 * src/net/nft_dl.c) define the library's own API names with MTK_DL_SHIMS, so
 * that the callers keep calling curl_easy_init() & co. unchanged. */
#ifndef MTK_UTIL_DL_H
#define MTK_UTIL_DL_H

#include <stdbool.h>
#include <stddef.h>

#include "mtk/err.h"

/* The sonames mtk loads (the ABI its headers were written against). */
#define MTK_DL_CURL "libcurl.so.4"
#define MTK_DL_ARCHIVE "libarchive.so.13"
#define MTK_DL_NFTABLES "libnftables.so.1"

/* A library to load on first use.  Statically allocated with MTK_DL_LIB_INIT
 * and never released (the library stays mapped until exit). */
struct mtk_dl_lib {
  const char *soname;       /* borrowed: "libcurl.so.4" */
  const char *package;      /* borrowed: the Debian package installing it, "libcurl4" */
  const char *const *names; /* borrowed: the symbols to resolve, `count` of them */
  void (**fns)(void);       /* borrowed: slots receiving the resolved symbols, same order */
  size_t count;             /* number of names and slots */
  int state;                /* 0 not tried yet, 1 loaded, -1 failed (atomic, see dl.c) */
  void *handle;             /* owned: the dlopen handle once loaded (never closed) */
  char *error;              /* owned: why loading failed, NULL otherwise */
  struct mtk_dl_lib *next;  /* the libraries tried so far, for mtk_dl_error() */
};

#define MTK_DL_LIB_INIT(soname_, package_, names_, fns_, count_)                                   \
  {                                                                                                \
    .soname = (soname_), .package = (package_), .names = (names_), .fns = (fns_),                  \
    .count = (count_)                                                                              \
  }

/* Loads `lib` on the first call (later calls cost one atomic load): dlopen by
 * soname, then dlsym of every name into lib->fns.  True when the library and
 * all its symbols are there.  Safe to call from several threads. */
bool mtk_dl_ready(struct mtk_dl_lib *lib);

/* mtk_dl_ready with an error (code ELIBACC) on failure: "libcurl.so.4 is not
 * installed: apt-get install libcurl4", "cannot load libcurl.so.4: <dlerror>"
 * or "libcurl.so.4 has no symbol curl_x: ..." with what to do as the hint. */
int mtk_dl_load(struct mtk_dl_lib *lib, struct mtk_err **err);

/* Why `lib` could not be loaded (the message of mtk_dl_load), or NULL when it
 * is loaded or was not tried yet. */
const char *mtk_dl_lib_error(const struct mtk_dl_lib *lib);

/* Why the library `soname` (MTK_DL_CURL...) could not be loaded; NULL when it
 * is loaded or was not tried yet.  soname NULL: the first library that failed.
 * For callers whose error path sees only a library's failure value (NULL from
 * curl_easy_init) and want to say which library is missing. */
const char *mtk_dl_error(const char *soname);

/* For a library's failure value (NULL from archive_write_new): sets *err
 * (ELIBACC) to why `soname` could not be loaded and returns -1; when it was
 * loaded, the NULL came from an allocation failure and this aborts, as
 * mtk_xmalloc does.  `if (!a) return mtk_dl_fail(MTK_DL_ARCHIVE, err);` */
int mtk_dl_fail(const char *soname, struct mtk_err **err);

/* Shim generation.  A shim file lists the library's functions in an X-macro
 * LIST(F, V, M), one entry per function:
 *   F(name, ret, (params), (args), failure value)   returning a value
 *   V(name, (params), (args))                        returning void
 *   M(name, ret, (params))                           written by hand (variadic)
 * and expands MTK_DL_SHIMS(LIST, soname, package) once, which defines the
 * static `dl_lib` and, for each F and V entry, the function `name` that
 * loads the library on first use and forwards to it; when the library cannot
 * be loaded, an F function returns its failure value and a V function does
 * nothing.  A hand-written M function calls mtk_dl_ready(&dl_lib), then
 * MTK_DL_FN(name)(...). */
#define MTK_DL_FN(name) ((dl_t_##name) dl_fns[dl_i_##name])

#define MTK_DL_ENUM_(name, ...) dl_i_##name,
#define MTK_DL_NAME_(name, ...) #name,
#define MTK_DL_TYPE_F_(name, ret, params, args, fail) typedef ret(*dl_t_##name) params;
#define MTK_DL_TYPE_V_(name, params, args) typedef void(*dl_t_##name) params;
#define MTK_DL_TYPE_M_(name, ret, params) typedef ret(*dl_t_##name) params;
#define MTK_DL_DEF_F_(name, ret, params, args, fail)                                               \
  ret name params                                                                                  \
  {                                                                                                \
    if (!mtk_dl_ready(&dl_lib))                                                                    \
      return fail;                                                                                 \
    return MTK_DL_FN(name) args;                                                                   \
  }
#define MTK_DL_DEF_V_(name, params, args)                                                          \
  void name params                                                                                 \
  {                                                                                                \
    if (mtk_dl_ready(&dl_lib))                                                                     \
      MTK_DL_FN(name) args;                                                                        \
  }
#define MTK_DL_NONE_(...)

#define MTK_DL_SHIMS(LIST, soname, package)                                                        \
  LIST(MTK_DL_TYPE_F_, MTK_DL_TYPE_V_, MTK_DL_TYPE_M_)                                             \
  enum { LIST(MTK_DL_ENUM_, MTK_DL_ENUM_, MTK_DL_ENUM_) dl_count_ };                               \
  static const char *const dl_names[] = {LIST(MTK_DL_NAME_, MTK_DL_NAME_, MTK_DL_NAME_)};          \
  static void (*dl_fns[dl_count_])(void);                                                          \
  static struct mtk_dl_lib dl_lib = MTK_DL_LIB_INIT(soname, package, dl_names, dl_fns, dl_count_); \
  LIST(MTK_DL_DEF_F_, MTK_DL_DEF_V_, MTK_DL_NONE_)

#endif
