/* The OCI runtime config.json that mtk hands to crun: Docker's defaults
 * (moby daemon/pkg/oci/defaults.go, caps/defaults.go, oci_linux.go) applied to
 * an image config and the options `docker run` decides; Docker's default
 * seccomp profile rendered for the container's capabilities. */
#ifndef MTK_OCI_SPEC_H
#define MTK_OCI_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtk/err.h"

/* Docker's default PATH (oci.DefaultPathEnv on Linux). */
#define MTK_OCI_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* RLIMIT_NOFILE Docker containers get (soft = hard), before clamping. */
#define MTK_OCI_NOFILE 1048576
/* Where --init's binary appears inside the container. */
#define MTK_OCI_INIT_PATH "/sbin/docker-init"

enum mtk_oci_mount_type {
  MTK_OCI_MOUNT_BIND,  /* -v /host:/ctr and named volumes resolved to a host directory */
  MTK_OCI_MOUNT_TMPFS, /* --tmpfs /ctr[:opts] */
};

struct mtk_oci_mount {
  enum mtk_oci_mount_type type;
  const char *source;  /* borrowed: absolute host path (bind); ignored for tmpfs */
  const char *target;  /* borrowed: absolute path in the container */
  bool read_only;      /* ro */
  const char *options; /* borrowed: extra comma-separated options ("size=1m,mode=1777",
                          "rslave"), or NULL */
};

/* One process.rlimits entry (--ulimit). */
struct mtk_oci_rlimit {
  const char *type; /* borrowed: "RLIMIT_NOFILE", ... */
  uint64_t soft;    /* UINT64_MAX = unlimited */
  uint64_t hard;    /* UINT64_MAX = unlimited */
};

struct mtk_oci_run_opts {
  const char *const *cmd; /* borrowed: overrides the image Cmd when n_cmd > 0 */
  size_t n_cmd;
  const char *const *entrypoint; /* borrowed: --entrypoint; none or {""} clears it */
  size_t n_entrypoint;
  bool entrypoint_set;    /* --entrypoint was given (resets the image Cmd) */
  const char *const *env; /* borrowed: -e K=V, or -e K (value from this process's env;
                             removes K when unset here, as docker) */
  size_t n_env;
  const char *user;     /* borrowed: -u name|uid[:group|gid], NULL = image User */
  const char *workdir;  /* borrowed: -w, NULL = image WorkingDir */
  const char *hostname; /* borrowed: -h, NULL = no hostname set */
  bool tty, privileged, read_only, no_new_privileges, init;
  const char *init_binary;    /* borrowed: host path bind-mounted at MTK_OCI_INIT_PATH (init) */
  const char *const *cap_add; /* borrowed: names, CAP_ prefix optional, case-insensitive, ALL */
  size_t n_cap_add;
  const char *const *cap_drop; /* borrowed: same syntax */
  size_t n_cap_drop;
  int64_t memory;     /* bytes, 0 = unset */
  double cpus;        /* --cpus, 0 = unset */
  int64_t pids_limit; /* 0 = unset */
  int64_t shm_size;   /* bytes, 0 = 64 MiB */
  int oom_score_adj;
  bool network_host;      /* --network host: no network namespace */
  const char *netns_path; /* borrowed: join this network namespace file, or NULL = new one */
  const struct mtk_oci_mount *mounts; /* borrowed: after the default mounts, in order */
  size_t n_mounts;
  const char *domainname;               /* borrowed: --domainname, NULL = none */
  const struct mtk_oci_rlimit *rlimits; /* borrowed: --ulimit, replacing the default of the
                                           same type; every limit is clamped to our own hard
                                           limit (raising it needs CAP_SYS_RESOURCE) */
  size_t n_rlimits;
  const json_t *sysctls;   /* borrowed: {"net.core.somaxconn": "1024"} -> linux.sysctl, or NULL */
  bool seccomp_unconfined; /* --security-opt seccomp=unconfined: no seccomp filter */
};

/* Builds config.json for the root filesystem at `rootfs` (absolute path) from
 * `image_config` (the whole image config document, or its "config" object;
 * NULL = empty) and `opts` (NULL = all defaults).  Users and groups are
 * resolved in rootfs/etc/passwd and rootfs/etc/group as Docker does.  Returns
 * a new reference, or NULL with *err set (bad user, unknown capability, no
 * command, relative paths). */
json_t *mtk_oci_spec_new(const char *rootfs, const json_t *image_config,
                         const struct mtk_oci_run_opts *opts, struct mtk_err **err);

/* Docker's default seccomp profile rendered for this architecture and
 * kernel and for a container whose bounding set is `caps` ("CAP_..." names).
 * Returns a new reference (linux.seccomp). */
json_t *mtk_oci_seccomp_default(const char *const *caps, size_t n_caps);

/* A resolved process.user. */
struct mtk_oci_user {
  uint32_t uid, gid;
  uint32_t *additional_gids; /* owned: or NULL */
  size_t n_additional_gids;
  char *home; /* owned: passwd home, or NULL */
};

/* Resolves `spec` (name|uid[:group|gid]; NULL or "" = root) against
 * rootfs/etc/passwd and rootfs/etc/group as Docker (libcontainer
 * GetExecUserPath) does: names must exist ("unable to find user x: no
 * matching entries in passwd file"), numeric ids need not; supplementary gids
 * come from /etc/group membership when no group is given.  Fills *out. */
int mtk_oci_user_resolve(const char *rootfs, const char *spec, struct mtk_oci_user *out,
                         struct mtk_err **err);
void mtk_oci_user_clear(struct mtk_oci_user *u);

/* The container's capabilities (bounding = permitted = effective): Docker's
 * 14 defaults with cap_drop then cap_add applied (ALL in cap_add = every
 * capability but the dropped ones; ALL in cap_drop = only cap_add), every
 * capability when privileged.  A JSON array of "CAP_..." names. */
json_t *mtk_oci_spec_caps(const struct mtk_oci_run_opts *opts, struct mtk_err **err);

/* The capability names this library knows ("CAP_CHOWN" ... ), in kernel
 * order, limited to the running kernel's cap_last_cap when readable. */
size_t mtk_oci_caps_all(const char *const **out);

#endif
