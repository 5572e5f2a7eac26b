/* The OCI runtime behind mtk: a small vtable (create, start, kill, delete,
 * state, ps; run --detach and exec spawned asynchronously) with a crun (default) and a runc
 * implementation, both invoked with fork/exec (no shell) and `--root <runroot>/runtime`, and the
 * host's cgroup layout with the hybrid-mode workaround (crun refuses a host whose cgroup2 hierarchy
 * at /sys/fs/cgroup/unified lists controllers: crun then runs in a private mount namespace in which
 * that hierarchy is unmounted, so it sees a plain v1 host; the host's mounts stay as they are). See
 * the design note MACHINE.md item 1.  Containers themselves are container.h's. */
#ifndef MTK_RUNTIME_RUNTIME_H
#define MTK_RUNTIME_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mtk/err.h"

enum mtk_cgroup_mode {
  MTK_CGROUP_UNIFIED = 1, /* cgroup2 at /sys/fs/cgroup */
  MTK_CGROUP_LEGACY = 2,  /* v1 only */
  MTK_CGROUP_HYBRID = 3,  /* v1 controllers + a cgroup2 at /sys/fs/cgroup/unified */
};

/* statfs of /sys/fs/cgroup and /sys/fs/cgroup/unified, as crun detects it. */
enum mtk_cgroup_mode mtk_runtime_cgroup_mode(void);

struct mtk_runtime;

/* The standard streams of a runtime process: each fd is dup'ed onto 0, 1, 2
 * in the child (-1 = /dev/null); the caller keeps its copies.  The container
 * started by `run` (without a terminal) and a process started by `exec`
 * inherit them. */
struct mtk_runtime_io {
  int in, out, err;
};

/* `run --detach --pid-file P [--console-socket S] --bundle B ID`: one exec
 * that creates and starts the container; the runtime exits 0 once the
 * container's process runs (its PID in pid_file), else non-zero with its
 * message in the log. */
struct mtk_runtime_run {
  const char *bundle;         /* borrowed: the bundle dir (config.json) */
  const char *pid_file;       /* borrowed */
  const char *console_socket; /* borrowed: AF_UNIX socket path that receives the pty master
                                 (SCM_RIGHTS) when process.terminal, or NULL */
};

/* `exec --process F [--detach --pid-file P] [--console-socket S --tty] ID`. */
struct mtk_runtime_exec {
  const char *process;        /* borrowed: the OCI process JSON (args, env, cwd, user,
                                 capabilities, terminal) */
  const char *pid_file;       /* borrowed: with detach, or NULL */
  const char *console_socket; /* borrowed: with a terminal, or NULL */
  bool detach;                /* return once the process runs (it is re-parented to the
                                 nearest child subreaper) instead of waiting for it */
  bool tty;                   /* the process has a terminal (process.terminal) */
};

struct mtk_runtime_ops {
  const char *name; /* "crun", "runc" */
  /* `create --bundle B --pid-file P ID`: stdin /dev/null, stdout/stderr
   * inherited by the container; the runtime's own messages go to its log and
   * become *err.  The container waits for start. */
  int (*create)(struct mtk_runtime *rt, const char *id, const char *bundle, const char *pid_file,
                struct mtk_err **err);
  int (*start)(struct mtk_runtime *rt, const char *id, struct mtk_err **err);
  int (*kill)(struct mtk_runtime *rt, const char *id, int sig, struct mtk_err **err);
  /* `delete [--force] ID`; a container the runtime does not know is not an error. */
  int (*del)(struct mtk_runtime *rt, const char *id, bool force, struct mtk_err **err);
  /* `state ID` as JSON (owned by the caller). */
  int (*state)(struct mtk_runtime *rt, const char *id, json_t **out, struct mtk_err **err);
  /* Asynchronous verbs: fork + exec of the runtime with `io` (signals reset,
   * fds >= 3 closed, oom_score_adj 0, own process group, PDEATHSIG); they
   * return once the exec succeeded (exec-error pipe) with the runtime's PID
   * in *pid.  The caller reaps it (mtk_runtime_wait or its own reaper) and
   * turns a non-zero status into an error with mtk_runtime_fail. */
  int (*run)(struct mtk_runtime *rt, const char *id, const struct mtk_runtime_run *o,
             const struct mtk_runtime_io *io, pid_t *pid, struct mtk_err **err);
  int (*exec)(struct mtk_runtime *rt, const char *id, const struct mtk_runtime_exec *o,
              const struct mtk_runtime_io *io, pid_t *pid, struct mtk_err **err);
  /* `ps --format json ID`: the PIDs of the container's processes (owned). */
  int (*ps)(struct mtk_runtime *rt, const char *id, pid_t **pids, size_t *n, struct mtk_err **err);
};

struct mtk_runtime {
  const struct mtk_runtime_ops *ops;
  char *binary;      /* owned: the program's path, found in PATH ("/usr/bin/crun") */
  char *root;        /* owned: the runtime's state dir, <runroot>/runtime */
  char *log;         /* owned: the runtime's log file (JSON lines), or NULL */
  bool hide_cgroup2; /* run it in a private mount ns without /sys/fs/cgroup/unified */
  long log_mark;     /* size of the log when the last call started: its messages follow */
};

/* A runtime by name ("crun", "runc"; NULL = crun) with its state under
 * runroot.  ENOENT (with a hint) when the program is not installed; EINVAL
 * for an unknown name. */
struct mtk_runtime *mtk_runtime_new(const char *name, const char *runroot, struct mtk_err **err);
void mtk_runtime_free(struct mtk_runtime *rt);
/* Where the runtime's own messages go for the calls that follow (NULL = stderr). */
void mtk_runtime_set_log(struct mtk_runtime *rt, const char *path);

/* The last "error" message in a runtime log (JSON lines or plain text), or
 * NULL; owned by the caller. */
char *mtk_runtime_log_error(const char *path);
/* The same, among the lines that start at or after byte `from`. */
char *mtk_runtime_log_error_from(const char *path, long from);

/* Waits for a runtime process started by ops->run / ops->exec (waitpid on
 * that PID only, EINTR retried): its exit status, 128+N when killed by
 * signal N, -1 when it cannot be waited for. */
int mtk_runtime_wait(pid_t pid);

/* The error of a runtime call (`verb` = "run", "exec", ...) that exited with
 * `status`: the runtime's own message from the log (written since the call
 * started), else the exit status.  Returns a negative value. */
int mtk_runtime_fail(struct mtk_runtime *rt, const char *verb, const char *id, int status,
                     struct mtk_err **err);

/* crun only: the container's linux.seccomp compiled to BPF with libseccomp
 * as crun itself would (rule for rule), cached in cache_dir (its parent is
 * created when missing; the 32 most recent programs are kept) by a digest
 * of the profile and the kernel, and set as the annotation
 * run.oci.seccomp_bpf_data, which spares crun its own compilation (about
 * half of what a start costs it here; the crun Debian ships caches nothing).
 * The seccomp section stays (runc, and crun's filter flags).  Nothing is
 * done for runc, without linux.seccomp, with the annotation already there or
 * a profile with SCMP_ACT_NOTIFY.  *changed says whether spec changed. */
int mtk_runtime_seccomp_precompile(const struct mtk_runtime *rt, json_t *spec,
                                   const char *cache_dir, bool *changed, struct mtk_err **err);

/* Docker's exit code for a start or exec error carrying the runtime's
 * message: 127 (executable file not found), 126 (permission denied, not
 * executable), else 125. */
int mtk_runtime_exit_code(const struct mtk_err *e);

#endif
