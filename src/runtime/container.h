/* Containers on disk: their creation, their state and its truth, the
 * preparation of a bundle to run and its undoing, and the blocking verbs
 * that need no supervisor (stop, kill, wait, rm, prune, top, logs).  The
 * supervisor (src/sup/) runs and watches them; cli/ drives both.
 *
 * A container is described by Docker's Engine API "ContainerCreate" request
 * (the body of POST /containers/create): `mtk container run` builds it from
 * its flags, `mtk up` from a compose service, so both go through the same
 * code.  Fields understood (others are kept and ignored):
 *   Image, Cmd, Entrypoint, Env, User, WorkingDir, Hostname, Domainname,
 *   Tty, OpenStdin, StdinOnce, Labels, StopSignal, StopTimeout,
 *   ExposedPorts, Healthcheck {Test, Interval, Timeout, Retries,
 *   StartPeriod, StartInterval} (ns),
 *   HostConfig {AutoRemove, Binds ["src:dst[:ro|rw]"], Mounts [{Type
 *   bind|volume|tmpfs, Source, Target, ReadOnly, TmpfsOptions{SizeBytes,
 *   Mode}}], Tmpfs {"/path": "opts"}, Memory, NanoCpus, PidsLimit, ShmSize,
 *   ReadonlyRootfs, CapAdd, CapDrop, Privileged, SecurityOpt
 *   ["no-new-privileges[:true]"], Init, NetworkMode ("none", "host",
 *   "bridge" or a network name), PortBindings {"80/tcp": [{HostIp,
 *   HostPort}]}, RestartPolicy {Name, MaximumRetryCount}, Runtime,
 *   ExtraHosts ["name:ip"], Ulimits [{Name, Soft, Hard}], Sysctls {k: v},
 *   OomScoreAdj},
 *   NetworkingConfig {EndpointsConfig {NAME: {Aliases, IPAMConfig
 *   {IPv4Address}}}}.
 *
 * On disk:
 *   <root>/containers/<id>/config   Docker-inspect-shaped JSON written once
 *                                   at create: Id, Created, Name (no '/'),
 *                                   Image (image ID "sha256:..."),
 *                                   ImageManifest, Path, Args, Config (the
 *                                   request without HostConfig and
 *                                   NetworkingConfig, merged over the image
 *                                   config as moby does; Config.Image = the
 *                                   name asked for), HostConfig (NetworkMode
 *                                   filled in: "bridge" by default),
 *                                   NetworkingConfig, Mounts (every mount
 *                                   normalised, Docker inspect's fields plus
 *                                   Anonymous, NoCopy, CreateSource,
 *                                   TmpfsOptions), GraphDriver {Name
 *                                   "overlay", Data {LowerDir, UpperDir,
 *                                   WorkDir, MergedDir}}, Driver, Platform,
 *                                   LogPath, ResolvConfPath, HostnamePath,
 *                                   HostsPath
 *   <root>/containers/<id>/state    the mutable state, Docker's State object:
 *                                   Status (created|running|paused|restarting
 *                                   |exited|dead), Running, Paused,
 *                                   Restarting, OOMKilled, Dead, Pid,
 *                                   ExitCode, Error, StartedAt, FinishedAt
 *                                   (RFC 3339 nano, "0001-01-01T00:00:00Z"
 *                                   when never), plus mtk's own: PidStart
 *                                   (field 22 of /proc/PID/stat, against pid
 *                                   reuse), MonitorPid, MonitorStart,
 *                                   RestartCount, Ports (the host ports bound,
 *                                   ephemeral ones resolved: {"80/tcp":
 *                                   [{HostIp, HostPort}]}), Networks
 *                                   ({NAME: {IPAddress, Gateway, MacAddress,
 *                                   IPPrefixLen}}), ManualStop (bool);
 *                                   replaced atomically (write + rename)
 *   <root>/containers/<id>/ctr.log  the output, conmon's k8s-file format:
 *                                   "<RFC3339Nano> <stdout|stderr> <P|F> text"
 *                                   (P = partial line, F = full line)
 *   <root>/containers/<id>/upper, work   the overlay's upper and work dirs
 *                                   (and l/: short links to the layers when
 *                                   the kernel lacks overlay's "lowerdir+")
 *   <root>/containers/.lock         flock taken while names are claimed
 *   <runroot>/containers/<id>/      the bundle while it runs: config.json,
 *                                   rootfs (overlay mount), pid, runtime.log,
 *                                   hosts, resolv.conf, hostname
 *   <root>/volumes/<name>/_data     named volumes (created on first use)
 * The runtime's own state lives in <runroot>/runtime (runtime.h). */
#ifndef MTK_RUNTIME_CONTAINER_H
#define MTK_RUNTIME_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mtk/err.h"
#include "util/cleanup.h"

#define MTK_CTR_ID_LEN 64

/* Docker's default stop timeout (s) and the codes of `docker run`. */
#define MTK_CTR_STOP_TIMEOUT 10
#define MTK_CTR_EXIT_RUN_ERROR 125 /* no such image, name in use, runtime failure */
#define MTK_CTR_EXIT_NOEXEC 126    /* command cannot be executed */
#define MTK_CTR_EXIT_NOTFOUND 127  /* command not found */

/* A loaded container: its config and its state as the truth knows it. */
struct mtk_ctr {
  char id[MTK_CTR_ID_LEN + 1];
  char *name;     /* owned */
  json_t *config; /* owned: the config document */
  json_t *state;  /* owned: the state document, corrected by mtk_ctr_load */
};

void mtk_ctr_free(struct mtk_ctr *c);
MTK_DEFINE_AUTOPTR(mtk_ctr, mtk_ctr_free)

/* ----------------------------------------------------------------- create */

/* Resolves req.Image in the local store (ENOENT "Unable to find image 'x'
 * locally" with a hint to pull), picks a random 64-hex ID, claims `name`
 * (NULL = the 12-char short ID) under the lock (EEXIST "Conflict. The container name
 * "/x" is already in use by container "ID"" with a hint), validates what can
 * be validated before anything runs (user exists in the image, capabilities
 * known, mounts absolute, ports parse and the host ports are free: a taken
 * port is EADDRINUSE naming the process holding it, from /proc, via
 * src/net/ports.h), writes config and a "created" state.  Nothing is left
 * behind on error.  *out (may be NULL) gets the loaded container. */
int mtk_ctr_create(const char *root, const char *runroot, const json_t *req, const char *name,
                   struct mtk_ctr **out, struct mtk_err **err);

/* --------------------------------------------------------- lookup / state */

/* By full ID, unique ID prefix, or name (Docker's order: exact ID, exact
 * name, prefix).  ENOENT "No such container: x"; EINVAL when a prefix is
 * ambiguous.  The state is corrected to the truth: a container recorded as
 * running/paused/restarting whose process is gone (pid dead, or PidStart
 * differs, or the runroot bundle is missing after a reboot) is reported
 * exited (ExitCode kept when known, else 255 with Error "the container's
 * monitor is gone; its exit code is unknown"), and the correction is written
 * back. */
int mtk_ctr_load(const char *root, const char *runroot, const char *ref, struct mtk_ctr **out,
                 struct mtk_err **err);

/* Every container, by creation time (newest first, as `docker ps`).  Same
 * correction as mtk_ctr_load.  A directory that is not a container (no or
 * broken config) is skipped. */
int mtk_ctr_list(const char *root, const char *runroot, struct mtk_ctr ***out, size_t *n,
                 struct mtk_err **err);
void mtk_ctr_list_free(struct mtk_ctr **v, size_t n);

/* Replaces the state file with c->state (atomic). */
int mtk_ctr_save_state(const char *root, const struct mtk_ctr *c, struct mtk_err **err);

/* Short helpers over c->state. */
const char *mtk_ctr_status(const struct mtk_ctr *c); /* "running", "exited", ... */
bool mtk_ctr_is_running(const struct mtk_ctr *c);    /* running, paused or restarting */
pid_t mtk_ctr_pid(const struct mtk_ctr *c);          /* 0 when not running */

/* Now as RFC 3339 with nanoseconds in UTC ("2026-11-27T18:59:01.123456789Z"). */
void mtk_ctr_timestamp(char out[40]);

/* ---------------------------------------------------------------- prepare */

/* What a prepared container needs to be handed to the runtime. */
struct mtk_ctr_bundle {
  char *dir;        /* owned: <runroot>/containers/<id> (config.json inside) */
  char *rootfs;     /* owned: <dir>/rootfs */
  char *netns;      /* owned: the network namespace file, or NULL (none/host) */
  char *pid_file;   /* owned: <dir>/pid */
  char *log_file;   /* owned: <dir>/runtime.log */
  char *ctr_log;    /* owned: <root>/containers/<id>/ctr.log */
  json_t *networks; /* owned: {NAME: {IPAddress, Gateway, IPPrefixLen, MacAddress}} or NULL */
};
void mtk_ctr_bundle_clear(struct mtk_ctr_bundle *b);

/* Makes everything the runtime needs to start the container: the overlay
 * rootfs over the image's snapshots, named volumes, the network namespace
 * and its endpoints (src/net/: veth, address, routes; NetworkMode none =
 * a fresh namespace made by the runtime, host = none), /etc/hosts,
 * /etc/resolv.conf and /etc/hostname files in the bundle dir, and
 * config.json (src/oci/spec.h with every HostConfig field applied; --init
 * binds mtk-init, see src/runtime/init_path.h; tty from Config.Tty).
 * Idempotent over a half-done earlier attempt.  On error everything done
 * here is undone (mtk_ctr_teardown). */
int mtk_ctr_prepare(const char *root, const char *runroot, struct mtk_ctr *c,
                    struct mtk_ctr_bundle *out, struct mtk_err **err);

/* Undoes mtk_ctr_prepare after the container's processes are gone: runtime
 * delete --force, network endpoints and namespace, overlay unmount, the
 * bundle dir.  Idempotent, works from the disk alone (after a crash, a
 * reboot, a killed monitor); keeps going after a failure and reports the
 * first one. */
int mtk_ctr_teardown(const char *root, const char *runroot, const struct mtk_ctr *c,
                     struct mtk_err **err);

/* ------------------------------------------------------- blocking verbs */

/* The outcome of a stop. */
struct mtk_ctr_stop_result {
  bool was_running;
  bool killed;       /* SIGKILL had to be sent */
  bool not_caught;   /* PID 1 does not catch the stop signal (SigCgt): SIGKILL went at once */
  int stop_signal;   /* the signal sent first */
  int exit_code;     /* the container's exit code once stopped */
  double waited_sec; /* how long the stop took */
};

/* Stops a running container: sends `sig` (0 = Config.StopSignal, else
 * SIGTERM) through the runtime; reads SigCgt of PID 1 in /proc/PID/status
 * right after sending, and when the signal is not caught, sends SIGKILL at
 * once (the kernel drops it for a PID-namespace init: waiting cannot change
 * the outcome; res->not_caught); else waits up to `timeout` s (-1 =
 * Config.StopTimeout, else 10) for the exit (pidfd), then SIGKILL.  Marks
 * ManualStop.  When the container's monitor is alive it records the exit
 * and tears down; this waits for that (state no longer running); when the
 * monitor is gone, this records the exit (255 / 137 for SIGKILL when the
 * status cannot be read) and tears down itself.  Not running: 0 with
 * was_running false. */
int mtk_ctr_stop(const char *root, const char *runroot, struct mtk_ctr *c, int sig, int timeout,
                 struct mtk_ctr_stop_result *res, struct mtk_err **err);

/* Sends sig to the container's PID 1 (runtime kill).  EINVAL "container x
 * is not running" (Docker: "Cannot kill container: x: container ... is not
 * running"). */
int mtk_ctr_kill(const char *root, const char *runroot, struct mtk_ctr *c, int sig,
                 struct mtk_err **err);

/* Blocks until the container is not running (pidfd on its PID 1, then until
 * the state says exited, so the exit code is the recorded one); *exit_code. */
int mtk_ctr_wait(const char *root, const char *runroot, struct mtk_ctr *c, int *exit_code,
                 struct mtk_err **err);

/* Removes a container: running ones only with force (SIGKILL, wait, then as
 * the rest), else EBUSY "cannot remove container "/x": container is running:
 * stop the container before removing or force remove" ; teardown, then the
 * directory; with volumes also its anonymous volumes. */
int mtk_ctr_remove(const char *root, const char *runroot, struct mtk_ctr *c, bool force,
                   bool volumes, struct mtk_err **err);

/* The processes of a running container: their PIDs on the host (the
 * runtime's `ps`, or the cgroup's procs file). */
int mtk_ctr_pids(const char *root, const char *runroot, const struct mtk_ctr *c, pid_t **pids,
                 size_t *n, struct mtk_err **err);

/* ------------------------------------------------------------------- logs */

struct mtk_ctr_log_opts {
  bool follow;     /* -f: keep reading until the container stops */
  bool timestamps; /* -t: prefix each line with its RFC 3339 nano time */
  long tail;       /* --tail N, -1 = all */
  int64_t since;   /* --since as Unix ns, 0 = none */
  int64_t until;   /* --until as Unix ns, 0 = none */
};

/* Called per log record: stream 1 = stdout, 2 = stderr; text without the
 * final newline, `partial` when the line had none.  Return non-zero to stop. */
typedef int (*mtk_ctr_log_cb)(void *data, int stream, int64_t ts_ns, const char *text, size_t len,
                              bool partial);

/* Reads <root>/containers/<id>/ctr.log with the options; with follow, waits
 * for more (inotify) until the container is no longer running and the file
 * is drained. */
int mtk_ctr_logs(const char *root, const char *runroot, const struct mtk_ctr *c,
                 const struct mtk_ctr_log_opts *o, mtk_ctr_log_cb cb, void *data,
                 struct mtk_err **err);

/* Parses a --since/--until value: RFC 3339 (with or without fraction /
 * zone), a Unix time "1700000000[.123]", or a duration ago ("10m", "1h30m",
 * "2s") relative to now.  Unix ns. */
int mtk_ctr_parse_time(const char *s, int64_t now_ns, int64_t *out, struct mtk_err **err);

/* ---------------------------------------------------------------- inspect */

/* Docker's `inspect` document: config + State + NetworkSettings (Ports,
 * Networks) + Mounts + LogPath + RestartCount.  New reference. */
json_t *mtk_ctr_inspect(const struct mtk_ctr *c);

#endif
