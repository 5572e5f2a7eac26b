/* What the ctr*.c files (containers on disk, container.h) and volume.c share:
 * paths, JSON files, process identity (pid + start time), the runtime of a
 * container, request parsing helpers and named volumes.  Not for use outside
 * src/runtime/. */
#ifndef MTK_RUNTIME_CTR_INTERNAL_H
#define MTK_RUNTIME_CTR_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtk/err.h"
#include "runtime/container.h"
#include "runtime/volume.h"

/* Docker's "never" time. */
#define MTK_CTR_ZERO_TIME "0001-01-01T00:00:00Z"

/* HostConfig.NetworkMode when the request names none (or "default"):
 * Docker's default network "bridge" (src/net/, created on first use). */
#define MTK_CTR_DEFAULT_NETWORK "bridge"

/* ------------------------------------------------------------------ paths */

/* <root>/containers */
char *mtk_ctr_dir(const char *root);
/* <root>/containers/<id> */
char *mtk_ctr_path(const char *root, const char *id);
/* <runroot>/containers/<id> (the bundle) */
char *mtk_ctr_bundle_path(const char *runroot, const char *id);

/* ------------------------------------------------------------- file system */

/* mkdir -p with mode for the directories it creates. */
int mtk_ctr_mkdir_p(const char *path, mode_t mode, struct mtk_err **err);
/* rm -rf that never follows a symlink and refuses to enter a mount point
 * (EBUSY): a directory is only removed when nothing is mounted below it.
 * Missing is not an error. */
int mtk_ctr_remove_tree(const char *path, struct mtk_err **err);
/* Writes doc to path atomically (temporary file, fsync, rename). */
int mtk_ctr_write_json(const char *path, const json_t *doc, struct mtk_err **err);
/* Reads a JSON object (capped size); NULL with *err. */
json_t *mtk_ctr_read_json(const char *path, struct mtk_err **err);
/* Mount points at or below dir (from /proc/self/mountinfo), deepest first;
 * *n entries, owned. */
char **mtk_ctr_mounts_under(const char *dir, size_t *n);
void mtk_ctr_strv_free(char **v, size_t n);
/* Unmounts every mount at or below dir (deepest first; lazily when busy).
 * 0 when nothing is left mounted there. */
int mtk_ctr_umount_all(const char *dir, struct mtk_err **err);

/* ---------------------------------------------------------------- process */

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot), 0 when
 * the process does not exist (or is a zombie being reaped). */
uint64_t mtk_ctr_proc_start(pid_t pid);
/* True when pid runs and its start time is `start` (0 = not checked). */
bool mtk_ctr_proc_alive(pid_t pid, uint64_t start);
/* True when the container's recorded monitor process is still alive. */
bool mtk_ctr_monitor_alive(const struct mtk_ctr *c);
/* "TERM", "SIGTERM", "15", "SIGRTMIN+3" -> number; EINVAL "Invalid signal: x". */
int mtk_ctr_signal_parse(const char *s, int *sig, struct mtk_err **err);
/* Config.StopSignal as a number (SIGTERM when unset or invalid). */
int mtk_ctr_stop_signal(const struct mtk_ctr *c);
/* Monotonic seconds. */
double mtk_ctr_now_sec(void);
/* Realtime in ns. */
int64_t mtk_ctr_now_ns(void);
/* RFC 3339 (with or without fraction, 'Z' or +hh:mm) -> Unix ns; false when
 * malformed. */
bool mtk_ctr_rfc3339_parse(const char *s, size_t len, int64_t *ns);

/* ----------------------------------------------------------------- state */

/* A fresh "created" state document. */
json_t *mtk_ctr_state_new(void);
/* Marks the state exited with code/error now (Running false, Pid 0...). */
void mtk_ctr_state_set_exited(json_t *state, int exit_code, const char *error);
/* Reloads c->state from disk (with the truth correction). */
int mtk_ctr_refresh(const char *root, const char *runroot, struct mtk_ctr *c, struct mtk_err **err);
/* Records the exit ourselves (no monitor): state exited with exit_code, then
 * teardown; the first error is reported, both steps are attempted. */
int mtk_ctr_record_exit(const char *root, const char *runroot, struct mtk_ctr *c, int exit_code,
                        const char *error, struct mtk_err **err);

/* ---------------------------------------------------------------- runtime */

struct mtk_runtime;
/* The container's runtime (HostConfig.Runtime, crun by default), logging to
 * the bundle's runtime.log when the bundle exists. */
struct mtk_runtime *mtk_ctr_runtime(const char *runroot, const struct mtk_ctr *c,
                                    struct mtk_err **err);

/* ------------------------------------------------------------ the request */

/* HostConfig.NetworkMode as stored ("none", "host", "bridge" or a name). */
const char *mtk_ctr_network_mode(const struct mtk_ctr *c);
/* Builds the normalised "Mounts" list of the config (Docker inspect's shape
 * plus mtk's keys) from HostConfig.Binds, Mounts, Tmpfs and the merged
 * Config.Volumes; validates everything (EINVAL with Docker's wording). */
json_t *mtk_ctr_mounts_parse(const char *root, const json_t *hc, const json_t *volumes,
                             struct mtk_err **err);

/* config.json for the container (ctr_spec.c): rootfs, the resolved mounts
 * (after the defaults), the netns to join (NULL = a new one unless host). */
struct mtk_oci_mount;
json_t *mtk_ctr_spec(const struct mtk_ctr *c, const char *rootfs, const struct mtk_oci_mount *m,
                     size_t n_mounts, const char *netns, struct mtk_err **err);

/* volumes: runtime/volume.h */

#endif
