/* Orchestration of a compose project (issue 7): what a service becomes as a
 * container (Docker's ContainerCreate request, as Docker Compose builds it:
 * compose/pkg/compose/create.go), the labels that tie containers to their
 * project, and the plan of a second `up` (what to create, keep, recreate).
 * The supervisor (src/sup/) runs what the plan decides. */
#ifndef MTK_ORCH_ORCH_H
#define MTK_ORCH_ORCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mtk/compose.h"
#include "mtk/err.h"

/* Docker Compose's labels. */
#define MTK_LABEL_PROJECT "com.docker.compose.project"
#define MTK_LABEL_SERVICE "com.docker.compose.service"
#define MTK_LABEL_NUMBER "com.docker.compose.container-number"
#define MTK_LABEL_HASH "com.docker.compose.config-hash"
#define MTK_LABEL_ONEOFF "com.docker.compose.oneoff"
#define MTK_LABEL_WORKDIR "com.docker.compose.project.working_dir"
#define MTK_LABEL_FILES "com.docker.compose.project.config_files"
#define MTK_LABEL_DEPENDS "com.docker.compose.depends_on"
#define MTK_LABEL_IMAGE "com.docker.compose.image"
#define MTK_LABEL_VERSION "com.docker.compose.version"
#define MTK_LABEL_NETWORK "com.docker.compose.network"
#define MTK_LABEL_VOLUME "com.docker.compose.volume"

/* The container name of replica `number` (1-based) of a service:
 * container_name when set, else "<project>-<service>-<number>".  Owned. */
char *mtk_orch_ctr_name(const struct mtk_project *p, const char *service, int number);

/* The configuration hash of a service (hex SHA-256 of its canonical JSON
 * without deploy.replicas/scale, as compose's ServiceHash leaves those out):
 * a second `up` recreates a container whose label differs. */
int mtk_orch_service_hash(const json_t *service, char out[65], struct mtk_err **err);

/* The ContainerCreate request (see src/runtime/container.h) for replica
 * `number` of `service`, as Docker Compose applies the service's fields:
 * image, command/entrypoint (null = the image's; [] = empty), environment
 * (null values: taken from nowhere = dropped, as compose does after
 * resolution), user, working_dir, hostname/domainname, labels + compose
 * labels, tty, stdin_open, stop_signal, stop_grace_period, healthcheck
 * (durations in ns; disable -> NONE), init, read_only, cap_add/cap_drop,
 * privileged, security_opt, tmpfs, shm_size, ulimits, sysctls, extra_hosts,
 * restart, deploy.resources.limits (memory, cpus, pids) and mem_limit/cpus/
 * pids_limit, volumes (named -> the project's volume name, bind with
 * create_host_path -> Binds, tmpfs), ports (PortBindings + ExposedPorts),
 * networks (network_mode, else every network with the service name and its
 * aliases; NetworkMode = the first by priority then name; ipv4_address) and
 * oneoff=False.  New reference, or NULL with *err (unsupported values such
 * as network_mode: service:x are errors naming the service). */
json_t *mtk_orch_ctr_request(const struct mtk_project *p, const char *service, int number,
                             struct mtk_err **err);

/* The replicas wanted for a service: deploy.replicas, scale, 1 by default;
 * `scale_override` >= 0 (from --scale) wins. */
int mtk_orch_replicas(const json_t *service, int scale_override);

/* ------------------------------------------------------------------ plan */

struct mtk_ctr; /* src/runtime/container.h */

enum mtk_orch_action {
  MTK_ORCH_KEEP,     /* running with the current configuration */
  MTK_ORCH_START,    /* exists with the current configuration, not running */
  MTK_ORCH_CREATE,   /* missing: create and start */
  MTK_ORCH_RECREATE, /* configuration changed (or --force-recreate): stop, remove, create */
  MTK_ORCH_REMOVE,   /* a replica above the scale, or an orphan with --remove-orphans */
};

struct mtk_orch_step {
  enum mtk_orch_action action;
  char *service; /* owned */
  int number;    /* replica number, 1-based */
  char *name;    /* owned: container name */
  char *ctr_id;  /* owned: the existing container, or NULL */
  int level;     /* start level of the service (dependencies first) */
};

struct mtk_orch_plan {
  struct mtk_orch_step *steps; /* in start order: by level, service name, number */
  size_t n;
  char **orphans; /* owned: names of containers of services no longer in the project */
  size_t n_orphans;
};

struct mtk_orch_plan_opts {
  const char *const *services; /* selected services (NULL/0 = all) */
  size_t n_services;
  bool no_deps;             /* do not add the dependencies of selected services */
  bool force_recreate;      /* recreate even when unchanged */
  bool no_recreate;         /* never recreate, even when changed */
  bool remove_orphans;      /* orphans become REMOVE steps */
  const char *const *scale; /* "service=N" overrides */
  size_t n_scale;
};

/* Compares the project with its existing containers (those labelled with
 * its name; one-off containers ignored) and decides, per service replica,
 * what `up` does.  Selected services that do not exist are an error
 * ("no such service: x").  The plan is freed with mtk_orch_plan_free. */
int mtk_orch_plan(const struct mtk_project *p, struct mtk_ctr *const *ctrs, size_t n_ctrs,
                  const struct mtk_orch_plan_opts *o, struct mtk_orch_plan *out,
                  struct mtk_err **err);
void mtk_orch_plan_free(struct mtk_orch_plan *plan);

/* A label of a container's config (Config.Labels), or NULL. */
const char *mtk_orch_ctr_label(const struct mtk_ctr *c, const char *key);

/* ------------------------------------------------------------ supervise */

struct mtk_orch_up_opts {
  bool detach;                /* -d: the supervisor goes to the background */
  bool no_log_prefix;         /* --no-log-prefix */
  bool timestamps;            /* --timestamps */
  bool color;                 /* coloured prefixes (TTY, no NO_COLOR) */
  bool abort_on_exit;         /* --abort-on-container-exit */
  const char *exit_code_from; /* --exit-code-from SERVICE (implies abort_on_exit) */
  int timeout; /* -t: stop grace period override for Ctrl-C/abort, -1 = the service's */
};

/* Starts the given containers (IDs of created or exited containers of the
 * project, any order) in dependency order, gating each service on its
 * depends_on conditions (service_started, service_healthy with the
 * service's healthcheck run through exec, service_completed_successfully;
 * required: false dependencies that are absent are skipped), and supervises
 * them on one libuv loop: health checks, restart policies, logs.
 * Attached (not detach): prints each line as "service-1  | text" with a
 * stable colour per service, returns when every container has exited (or,
 * with abort_on_exit, when the first one exits: the others are stopped);
 * the first Ctrl-C stops everything gracefully, a second one kills;
 * *exit_code is 0, the exit code of exit_code_from's container, or 130 on
 * Ctrl-C; a dependency that fails gives an error naming it.
 * Detached: forks a supervisor (setsid, pid file
 * <runroot>/projects/<project>/supervisor.pid) that does the same without
 * printing and exits when nothing is left to supervise; returns once every
 * container has been started (or failed to: the error is passed back). */
int mtk_orch_supervise(const char *root, const char *runroot, const struct mtk_project *p,
                       const char *const *ids, size_t n_ids, const struct mtk_orch_up_opts *o,
                       int *exit_code, struct mtk_err **err);

/* Asks the running supervisor of a project (its control socket
 * <runroot>/projects/<project>/supervisor.sock, JSON lines: "ping", "ps",
 * "start" with "ids") and returns its answer.  An error (ENOENT,
 * ECONNREFUSED) when no supervisor runs. */
int mtk_orch_sup_call(const char *runroot, const char *project, const json_t *req, json_t **resp,
                      struct mtk_err **err);

/* --------------------------------------------------------------- volumes */

/* Named volumes: <root>/volumes/<name>/_data (the directory containers
 * mount; src/runtime creates it on first use too) and
 * <root>/volumes/<name>/volume.json (Docker's `volume inspect` shape:
 * Name, Driver "local", Mountpoint, CreatedAt, Labels, Scope "local"). */
int mtk_volume_create(const char *root, const char *name, const char *const *labels, size_t n,
                      json_t **out, struct mtk_err **err);
/* ENOENT "get x: no such volume". */
int mtk_volume_inspect(const char *root, const char *name, json_t **out, struct mtk_err **err);
/* Every volume, by name (a JSON array). */
int mtk_volume_list(const char *root, json_t **out, struct mtk_err **err);
/* The names of the containers that mount the volume (a JSON array). */
json_t *mtk_volume_users(const char *root, const char *name);
/* EBUSY "remove x: volume is in use - [ids]" unless force. */
int mtk_volume_remove(const char *root, const char *name, bool force, struct mtk_err **err);

#endif
