/* Named volumes as the container engine uses them (runtime/volume.c):
 * <root>/volumes/<name>/_data, created on first use and filled from the
 * image (Docker's copy-up).  The volume commands' records live in
 * orch/volume.c on top of these. */
#ifndef MTK_RUNTIME_VOLUME_H
#define MTK_RUNTIME_VOLUME_H

#include <stdbool.h>

#include "mtk/err.h"

/* Valid local volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+). */
bool mtk_ctr_volume_name_valid(const char *name);
/* <root>/volumes/<name>/_data, created when missing; *created tells whether
 * this call made the _data directory. */
char *mtk_ctr_volume_ensure(const char *root, const char *name, bool *created,
                            struct mtk_err **err);
/* Docker's copy-up: when the volume dir `data` is empty, copies the content
 * of `path` inside the container rootfs (resolved inside it; missing = no
 * copy) into it, with owners, modes, times and symlinks. */
int mtk_ctr_volume_copy_up(const char *rootfs, const char *path, const char *data,
                           struct mtk_err **err);
/* Removes a volume (its directory) when no container uses it; EBUSY names
 * the user. */
int mtk_ctr_volume_remove(const char *root, const char *name, const char *except_ctr,
                          struct mtk_err **err);

#endif
