/* Where the mtk-init executable (the init of `container run --init`,
 * src/init/init.c) is on this host. */
#ifndef MTK_RUNTIME_INIT_PATH_H
#define MTK_RUNTIME_INIT_PATH_H

#include "mtk/err.h"

/* The absolute, canonical path of mtk-init: $MTK_INIT when set (an explicit
 * override must exist and be executable, else ENOENT/EACCES), otherwise the
 * first executable of <dir of /proc/self/exe>/mtk-init (build tree) and
 * <dir of /proc/self/exe>/../libexec/mtk/mtk-init (installed).  ENOENT with
 * a hint when none is found.  Owned by the caller. */
char *mtk_runtime_init_path(struct mtk_err **err);

#endif
