/* Finding mtk-init (init_path.h): the $MTK_INIT override, then next to the
 * running executable (build tree), then its ../libexec/mtk (installed). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/init_path.h"
#include "util/cleanup.h"
#include "util/path.h"

#define INIT_NAME "mtk-init"

/* realpath of p when it is an executable file, else NULL with errno set. */
static char *executable(const char *p)
{
  char *real = realpath(p, NULL);
  if (!real)
    return NULL;
  if (access(real, X_OK) < 0) {
    int e = errno;
    free(real);
    errno = e;
    return NULL;
  }
  return real;
}

char *mtk_runtime_init_path(struct mtk_err **err)
{
  const char *env = getenv("MTK_INIT");
  if (env && *env) {
    char *p = executable(env);
    if (!p) {
      mtk_err_set(err, errno, "MTK_INIT=%s: %s", env, strerror(errno));
      mtk_err_hint(err, "point MTK_INIT at the mtk-init executable, or unset it");
    }
    return p;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0)
    return mtk_err_set(err, errno, "cannot find mtk-init: /proc/self/exe: %s", strerror(errno)),
           NULL;
  exe[n] = '\0';
  mtk_autofree char *dir = mtk_path_dir(exe);
  mtk_autofree char *build = mtk_xasprintf("%s/" INIT_NAME, dir);
  mtk_autofree char *installed = mtk_xasprintf("%s/../libexec/mtk/" INIT_NAME, dir);
  char *p = executable(build);
  if (!p)
    p = executable(installed);
  if (!p) {
    mtk_err_set(err, ENOENT, "cannot find mtk-init (the init of --init): no executable %s or %s",
                build, installed);
    mtk_err_hint(err, "build and install it with mtk (target mtk-init), or set MTK_INIT to its "
                      "path");
  }
  return p;
}
