/* Libraries loaded on first use (see dl.h).  Each library is tried once:
 * the first caller takes a process-wide lock, opens it and resolves every
 * symbol, and publishes the outcome in lib->state with a release store; any
 * later caller sees it with one acquire load and no lock.  A failure is
 * final too (the message stays in lib->error), so a missing library costs
 * one dlopen per process, not one per call. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/dl.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mtk_dl_lib *tried; /* guarded by lock: every library tried, newest first */

/* The message for a failed dlopen: the usual case, the file is not there,
 * gets the package to install; anything else (a dependency missing, a file
 * that is no ELF object) keeps the loader's words. */
static char *open_error(const struct mtk_dl_lib *lib, const char *why)
{
  size_t n = strlen(lib->soname);
  if (!why)
    why = "unknown error";
  if (strncmp(why, lib->soname, n) == 0 && strstr(why + n, "No such file or directory"))
    return mtk_xasprintf("%s is not installed: apt-get install %s", lib->soname, lib->package);
  return mtk_xasprintf("cannot load %s: %s (reinstall it: apt-get install --reinstall %s)",
                       lib->soname, why, lib->package);
}

/* Opens and resolves `lib`; called once, under the lock. */
static int load(struct mtk_dl_lib *lib)
{
  dlerror();
  void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    lib->error = open_error(lib, dlerror());
    return -1;
  }
  for (size_t i = 0; i < lib->count; i++) {
    /* POSIX guarantees that dlsym's void * converts to a function pointer. */
    void *sym = dlsym(h, lib->names[i]);
    if (!sym) {
      lib->error = mtk_xasprintf("%s has no symbol %s (too old a version?): apt-get install %s",
                                 lib->soname, lib->names[i], lib->package);
      memset(lib->fns, 0, lib->count * sizeof(*lib->fns));
      dlclose(h);
      return -1;
    }
    lib->fns[i] = (void (*)(void)) sym;
  }
  lib->handle = h;
  return 0;
}

bool mtk_dl_ready(struct mtk_dl_lib *lib)
{
  int s = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);
  if (s != 0)
    return s > 0;
  pthread_mutex_lock(&lock);
  s = __atomic_load_n(&lib->state, __ATOMIC_RELAXED);
  if (s == 0) {
    s = load(lib) == 0 ? 1 : -1;
    lib->next = tried;
    tried = lib;
    __atomic_store_n(&lib->state, s, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&lock);
  return s > 0;
}

int mtk_dl_load(struct mtk_dl_lib *lib, struct mtk_err **err)
{
  if (mtk_dl_ready(lib))
    return 0;
  return mtk_err_set(err, ELIBACC, "%s", lib->error);
}

const char *mtk_dl_lib_error(const struct mtk_dl_lib *lib)
{
  return __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE) < 0 ? lib->error : NULL;
}

const char *mtk_dl_error(const char *soname)
{
  const char *msg = NULL;
  pthread_mutex_lock(&lock);
  /* Newest first: keep the last match, the first library that failed. */
  for (const struct mtk_dl_lib *l = tried; l; l = l->next)
    if (l->state < 0 && (!soname || strcmp(l->soname, soname) == 0))
      msg = l->error;
  pthread_mutex_unlock(&lock);
  return msg;
}

int mtk_dl_fail(const char *soname, struct mtk_err **err)
{
  const char *msg = mtk_dl_error(soname);
  if (!msg)
    abort();
  return mtk_err_set(err, ELIBACC, "%s", msg);
}
