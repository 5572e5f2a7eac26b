/* The supervisor: one libuv loop that runs and watches containers (one for
 * `mtk container run`, every container of a project for `mtk up`).
 *
 * It is a child subreaper with a single reaper (SIGCHLD through uv_signal,
 * waitpid(-1, WNOHANG) loop, a pid -> handler table and an early-exit cache:
 * RUNTIME.md section 3 and pitfalls 3-7); it never uses uv_spawn (pitfall 5):
 * the runtime is forked and exec'd by our own spawn with an exec-error pipe,
 * signals reset in the child.  Per container it:
 *   - prepares the bundle (mtk_ctr_prepare), binds the published ports'
 *     listeners (src/net/ports.h) and starts the port proxies and the DNS
 *     responders of the container's networks (src/net/),
 *   - starts it with ONE runtime exec (`run --detach --pid-file P`, with
 *     `--console-socket` for Tty: the pty master comes back over SCM_RIGHTS),
 *     stdin /dev/null or a pipe (OpenStdin), stdout and stderr pipes whose
 *     read ends the loop owns,
 *   - writes every output chunk to ctr.log (k8s-file format, container.h)
 *     and to the attached terminal / callbacks, whole lines to callbacks,
 *   - records state: running (Pid, PidStart, StartedAt, MonitorPid) and at
 *     exit: pipes drained to EOF, log fsynced, OOM checked (the oom_kill
 *     counter of cgroup v1 memory.oom_control, v2 memory.events),
 *     mtk_ctr_teardown, then ExitCode = status or 128+signal, FinishedAt,
 *     OOMKilled (so that "exited" means torn down: a start that follows a
 *     stop never races the teardown); then AutoRemove (mtk_ctr_remove), and
 *     the restart policy
 *     (Docker's: no, always, unless-stopped, on-failure[:N]; delay 100 ms
 *     doubling to 1 min, reset after 10 s of running; never after a manual
 *     stop - state ManualStop).
 * Everything runs on the loop thread; no exit() outside main; SIGPIPE is
 * ignored; the supervisor's oom_score_adj is -1000 and children get 0. */
#ifndef MTK_SUP_SUP_H
#define MTK_SUP_SUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "mtk/err.h"

struct mtk_sup;

/* A terminal or plain fds the container is attached to (foreground run). */
struct mtk_sup_attach {
  int in_fd;  /* our stdin, relayed to the container when OpenStdin (-1 = none) */
  int out_fd; /* where stdout goes (and with Tty the pty output) (-1 = nowhere) */
  int err_fd; /* where stderr goes (-1 = nowhere) */
  /* with Tty and OpenStdin and in_fd a terminal: raw mode while attached
   * (restored on every exit path), the window size in config.json's
   * process.consoleSize before the start and copied again on SIGWINCH.
   * OpenStdin with an in_fd that epoll cannot watch (a regular file,
   * /dev/null) hands that fd to the container as its stdin; else it is
   * relayed (bounded buffer), and its EOF closes the container's stdin. */
  /* sig_proxy: SIGINT, SIGTERM, SIGHUP, SIGQUIT received by this process are
   * forwarded to the container's PID 1 (kill(2): it is our unreaped child,
   * so its PID cannot be reused) - `docker run` semantics.  With a tty in
   * raw mode, the keyboard's Ctrl-C goes through the pty instead. */
  bool sig_proxy;
};

struct mtk_sup_cbs {
  /* A whole line of output (no newline; partial only at EOF; a line longer
   * than 16 KiB comes in pieces of 16 KiB).  stream 1 = stdout, 2 = stderr. */
  void (*on_line)(void *data, const char *id, int stream, const char *line, size_t len);
  /* The container started (pid known, state running). */
  void (*on_start)(void *data, const char *id, pid_t pid);
  /* The container exited and was torn down; `restarting` when the restart
   * policy will start it again. */
  void (*on_exit)(void *data, const char *id, int exit_code, bool oom, bool restarting);
  void *data;
};

/* A supervisor on `loop` for containers under root/runroot.  Sets
 * PR_SET_CHILD_SUBREAPER, ignores SIGPIPE, installs the SIGCHLD handle (the
 * only reaper of this process: never mix it with uv_spawn or waitpid(-1)
 * elsewhere). */
struct mtk_sup *mtk_sup_new(uv_loop_t *loop, const char *root, const char *runroot,
                            struct mtk_err **err);
/* Closes the handles (does not stop containers; call after they exited: a
 * container still running is let go, unsupervised).  Run the loop once more
 * afterwards (uv_run DEFAULT returns when done): the memory is released
 * from the last close callback. */
void mtk_sup_free(struct mtk_sup *s);

/* Starts the created or exited container `id` (ID, prefix or name); returns
 * once it runs (state running written) or failed (then nothing is left:
 * teardown done, state exited with Error, *exit_code Docker's 125/126/127
 * for runtime errors: a missing command gives 127 with the runtime's message
 * "executable file not found in $PATH"; with AutoRemove the container is
 * removed).  attach and cbs may be NULL; both are copied.  The start blocks
 * the loop for one runtime exec (crun: about 10-20 ms).  Already running
 * under this supervisor: 0; under another monitor: EBUSY. */
int mtk_sup_start(struct mtk_sup *s, const char *id, const struct mtk_sup_attach *attach,
                  const struct mtk_sup_cbs *cbs, int *exit_code, struct mtk_err **err);

/* Asynchronous stop on the loop (the rule of mtk_ctr_stop: SigCgt read after
 * sending; SIGKILL at once when not caught, else after timeout s; sig 0 =
 * Config.StopSignal else SIGTERM, timeout -1 = Config.StopTimeout else 10).
 * Marks ManualStop (no restart).  done (may be NULL) is called from the loop
 * after the exit was recorded; a container waiting for a restart is stopped
 * at once.  ENOENT when the container is not supervised here. */
typedef void (*mtk_sup_done_cb)(void *data, const char *id, int exit_code, bool not_caught,
                                bool killed);
int mtk_sup_stop(struct mtk_sup *s, const char *id, int sig, int timeout, mtk_sup_done_cb done,
                 void *data, struct mtk_err **err);

/* Number of containers still running under this supervisor, those whose
 * exit is being recorded and those waiting for a restart included. */
size_t mtk_sup_running(const struct mtk_sup *s);

/* ------------------------------------------------------------------ exec */

struct mtk_sup_exec_opts {
  const char *const *cmd; /* borrowed: the command, n_cmd >= 1 */
  size_t n_cmd;
  const char *const *env; /* borrowed: extra K=V (K alone: from our env) */
  size_t n_env;
  const char *user;    /* borrowed: -u, NULL = the container's */
  const char *workdir; /* borrowed: -w, NULL = the container's */
  bool tty, interactive, privileged, detach;
  double timeout; /* seconds, 0 = none (health checks: kill on timeout) */
};

/* Runs a process in the running container `id` (the container's process
 * JSON from its bundle with: args = cmd, env = container env + extra, user
 * resolved in the rootfs (HOME from its passwd entry), cwd, terminal, all
 * capabilities when privileged), started with `exec --detach --pid-file`
 * so that the process is our child (subreaper) and a timeout can kill it.
 * The container need not be supervised here (a CLI may exec into a
 * container of a monitor).  With attach: relays like mtk_sup_start (tty via
 * console socket with the terminal's size, raw mode, SIGWINCH; sig_proxy
 * forwards to the process when not a tty).  done gets the exit code (126/127
 * as docker exec for a command that cannot run, with the runtime's message
 * as `out`; -1 for a timeout); output (without attach) goes to `out`/`len`,
 * the first 4 KiB as Docker keeps for health checks.  done is not called
 * when this returns an error. */
typedef void (*mtk_sup_exec_cb)(void *data, int exit_code, const char *out, size_t len);
int mtk_sup_exec(struct mtk_sup *s, const char *id, const struct mtk_sup_exec_opts *o,
                 const struct mtk_sup_attach *attach, mtk_sup_exec_cb done, void *data,
                 struct mtk_err **err);

/* ------------------------------------------------------- detached monitor */

/* `mtk container run -d` / `start`: forks a monitor process (setsid, double
 * fork, stdio /dev/null, oom_score_adj -1000) that runs a supervisor for
 * this one container until it exits for good (restart policy included),
 * then exits.  Returns once the container runs (0) or failed (the error,
 * with *exit_code as mtk_sup_start), the outcome passed back over a pipe. */
int mtk_sup_spawn_monitor(const char *root, const char *runroot, const char *id, int *exit_code,
                          struct mtk_err **err);

/* Foreground `mtk container run` / `start -a`: a loop in this process, the
 * container attached to our stdio, until it exits; *exit_code = its exit
 * code (or Docker's 125/126/127 on a start error). */
int mtk_sup_run_attached(const char *root, const char *runroot, const char *id, int *exit_code,
                         struct mtk_err **err);

#endif
