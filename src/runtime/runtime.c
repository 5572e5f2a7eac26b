/* The OCI runtime vtable (crun, runc), the fork/exec of the runtime binary
 * (signals reset, own process group, stdin /dev/null, the hybrid-cgroup
 * mount namespace for crun), cgroup layout detection and the runtime log. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define CGROUP2_DIR "/sys/fs/cgroup/unified"

enum mtk_cgroup_mode mtk_runtime_cgroup_mode(void)
{
  struct statfs st;
  if (statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
    return MTK_CGROUP_UNIFIED;
  if (statfs(CGROUP2_DIR, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
    return MTK_CGROUP_HYBRID;
  return MTK_CGROUP_LEGACY;
}

/* Puts fd on `target` for the exec: sources are first moved above 2 so
 * that one target never overwrites another's source; -1 = /dev/null. */
static int child_stdio(const struct mtk_runtime_io *io)
{
  int src[3] = {io ? io->in : -1, io ? io->out : -1, io ? io->err : -1};
  int moved[3];
  for (int i = 0; i < 3; i++) {
    moved[i] = src[i] >= 0 ? fcntl(src[i], F_DUPFD_CLOEXEC, 3)
                           : open("/dev/null", (i ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (moved[i] < 0)
      return -1;
  }
  for (int i = 0; i < 3; i++)
    if (dup2(moved[i], i) < 0)
      return -1;
  return 0;
}

/* In the child, between fork and exec: async-signal-safe calls only.  Every
 * signal back to its default and unblocked (our SIGPIPE is ignored, the
 * supervisor's loop handles others), every fd >= 3 close-on-exec whoever
 * opened it (pitfall 6), oom_score_adj back to 0 (the supervisor runs at
 * -1000 and the container would inherit it), and the runtime dies with us. */
static void child_exec(const struct mtk_runtime *rt, char **argv, const struct mtk_runtime_io *io,
                       int err_pipe)
{
  sigset_t all;
  sigemptyset(&all);
  for (int s = 1; s < NSIG; s++)
    signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &all, NULL);
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (adj >= 0) {
    if (write(adj, "0", 1) < 0) {
      /* lowering our own adjustment needs no privilege: never fails */
    }
    close(adj);
  }
  if (rt->hide_cgroup2) {
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        umount2(CGROUP2_DIR, MNT_DETACH) < 0)
      goto fail;
  }
  if (child_stdio(io) < 0)
    goto fail;
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  execv(argv[0], argv);
fail:;
  int e = errno;
  if (write(err_pipe, &e, sizeof(e)) < 0)
    _exit(127);
  _exit(127);
}

/* Global options + args into argv (NULL-terminated, pointers borrowed). */
static size_t build_argv(struct mtk_runtime *rt, const char *const *args, const char **argv,
                         size_t cap)
{
  size_t n = 0;
  argv[n++] = rt->binary;
  argv[n++] = "--root";
  argv[n++] = rt->root;
  if (rt->log) {
    argv[n++] = "--log";
    argv[n++] = rt->log;
    argv[n++] = "--log-format";
    argv[n++] = "json";
  }
  for (size_t i = 0; args[i] && n < cap - 1; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  return n;
}

/* Forks and execs the runtime with args; returns once exec succeeded (the
 * exec-error pipe closes) with the PID in *pid; the caller reaps it. */
static int spawn(struct mtk_runtime *rt, const char *const *args, const struct mtk_runtime_io *io,
                 pid_t *pid, struct mtk_err **err)
{
  const char *argv[32];
  build_argv(rt, args, argv, 32);
  struct stat lst;
  rt->log_mark = rt->log && stat(rt->log, &lst) == 0 ? (long) lst.st_size : 0;
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) < 0)
    return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
  pid_t p = fork();
  if (p == 0)
    child_exec(rt, (char **) argv, io, ep[1]);
  int fork_errno = errno;
  close(ep[1]);
  if (p < 0) {
    close(ep[0]);
    return mtk_err_set(err, fork_errno, "fork: %s", strerror(fork_errno));
  }
  int child_errno = 0;
  ssize_t r;
  while ((r = read(ep[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR)
    ;
  close(ep[0]);
  if (r == (ssize_t) sizeof(child_errno)) {
    mtk_runtime_wait(p);
    mtk_err_set(err, child_errno, "running %s: %s", rt->binary, strerror(child_errno));
    if (child_errno == ENOENT)
      mtk_err_hint(err, "install it (apt-get install %s) or choose another with --runtime",
                   rt->ops->name);
    return -1;
  }
  *pid = p;
  return 0;
}

int mtk_runtime_wait(pid_t pid)
{
  int status;
  pid_t r;
  while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
    ;
  if (r != pid)
    return -1;
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

/* Runs the runtime with args and waits for it; *out (may be NULL) gets its
 * stdout.  Returns its exit status, or negative with *err set when it could
 * not run. */
static int run_tool(struct mtk_runtime *rt, const char *const *args, char **out,
                    struct mtk_err **err)
{
  int op[2] = {-1, -1};
  if (out && pipe2(op, O_CLOEXEC) < 0)
    return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
  struct mtk_runtime_io io = {-1, out ? op[1] : STDOUT_FILENO, STDERR_FILENO};
  pid_t pid;
  int rc = spawn(rt, args, &io, &pid, err);
  if (op[1] >= 0)
    close(op[1]);
  if (rc < 0) {
    if (op[0] >= 0)
      close(op[0]);
    return rc;
  }
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  if (out) {
    char buf[4096];
    ssize_t r;
    while ((r = read(op[0], buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
      if (r > 0)
        mtk_strbuf_add(&sb, buf, (size_t) r);
    close(op[0]);
    *out = mtk_strbuf_steal(&sb);
  }
  return mtk_runtime_wait(pid);
}

int mtk_runtime_fail(struct mtk_runtime *rt, const char *verb, const char *id, int status,
                     struct mtk_err **err)
{
  mtk_autofree char *msg = rt->log ? mtk_runtime_log_error_from(rt->log, rt->log_mark) : NULL;
  if (msg)
    return mtk_err_set(err, MTK_E_GENERIC, "%s %s %.12s: %s", rt->ops->name, verb, id, msg);
  return mtk_err_set(err, MTK_E_GENERIC, "%s %s %.12s failed (exit status %d)", rt->ops->name, verb,
                     id, status);
}

int mtk_runtime_exit_code(const struct mtk_err *e)
{
  const char *m = e ? e->msg : NULL;
  if (!m)
    return 125;
  if (strstr(m, "not found") && (strstr(m, "executable") || strstr(m, "no such file")))
    return 127;
  /* "open executable: Permission denied" / "Operation not permitted" (a
   * directory), "exec format error": the command exists but cannot run */
  if (strstr(m, "ermission denied") || strstr(m, "not executable") ||
      strstr(m, "open executable") || strstr(m, "exec format error"))
    return 126;
  return 125;
}

static int oci_create(struct mtk_runtime *rt, const char *id, const char *bundle,
                      const char *pid_file, struct mtk_err **err)
{
  const char *args[] = {"create", "--bundle", bundle, "--pid-file", pid_file, id, NULL};
  int st = run_tool(rt, args, NULL, err);
  if (st < 0)
    return st;
  return st ? mtk_runtime_fail(rt, "create", id, st, err) : 0;
}

static int oci_start(struct mtk_runtime *rt, const char *id, struct mtk_err **err)
{
  const char *args[] = {"start", id, NULL};
  int st = run_tool(rt, args, NULL, err);
  if (st < 0)
    return st;
  return st ? mtk_runtime_fail(rt, "start", id, st, err) : 0;
}

static int oci_kill(struct mtk_runtime *rt, const char *id, int sig, struct mtk_err **err)
{
  char num[16];
  snprintf(num, sizeof(num), "%d", sig);
  const char *args[] = {"kill", id, num, NULL};
  int st = run_tool(rt, args, NULL, err);
  if (st < 0)
    return st;
  return st ? mtk_runtime_fail(rt, "kill", id, st, err) : 0;
}

static int oci_del(struct mtk_runtime *rt, const char *id, bool force, struct mtk_err **err)
{
  mtk_autofree char *state = mtk_xasprintf("%s/%s", rt->root, id);
  struct stat st;
  if (stat(state, &st) < 0 && errno == ENOENT)
    return 0;
  const char *args[] = {"delete", force ? "--force" : id, force ? id : NULL, NULL};
  int rc = run_tool(rt, args, NULL, err);
  if (rc < 0)
    return rc;
  return rc ? mtk_runtime_fail(rt, "delete", id, rc, err) : 0;
}

static int oci_state(struct mtk_runtime *rt, const char *id, json_t **out, struct mtk_err **err)
{
  const char *args[] = {"state", id, NULL};
  mtk_autofree char *text = NULL;
  int st = run_tool(rt, args, &text, err);
  if (st < 0)
    return st;
  if (st)
    return mtk_runtime_fail(rt, "state", id, st, err);
  json_error_t je;
  *out = json_loads(text, 0, &je);
  if (!*out)
    return mtk_err_set(err, EINVAL, "%s state %s: bad JSON: %s", rt->ops->name, id, je.text);
  return 0;
}

static int oci_run(struct mtk_runtime *rt, const char *id, const struct mtk_runtime_run *o,
                   const struct mtk_runtime_io *io, pid_t *pid, struct mtk_err **err)
{
  const char *args[16];
  size_t n = 0;
  args[n++] = "run";
  args[n++] = "--detach";
  args[n++] = "--pid-file";
  args[n++] = o->pid_file;
  if (o->console_socket) {
    args[n++] = "--console-socket";
    args[n++] = o->console_socket;
  }
  args[n++] = "--bundle";
  args[n++] = o->bundle;
  args[n++] = id;
  args[n] = NULL;
  return spawn(rt, args, io, pid, err);
}

static int oci_exec(struct mtk_runtime *rt, const char *id, const struct mtk_runtime_exec *o,
                    const struct mtk_runtime_io *io, pid_t *pid, struct mtk_err **err)
{
  const char *args[16];
  size_t n = 0;
  args[n++] = "exec";
  args[n++] = "--process";
  args[n++] = o->process;
  if (o->detach)
    args[n++] = "--detach";
  if (o->pid_file) {
    args[n++] = "--pid-file";
    args[n++] = o->pid_file;
  }
  if (o->console_socket) {
    args[n++] = "--console-socket";
    args[n++] = o->console_socket;
  }
  if (o->tty)
    args[n++] = "--tty";
  args[n++] = id;
  args[n] = NULL;
  return spawn(rt, args, io, pid, err);
}

static int oci_ps(struct mtk_runtime *rt, const char *id, pid_t **pids, size_t *n,
                  struct mtk_err **err)
{
  const char *args[] = {"ps", "--format", "json", id, NULL};
  mtk_autofree char *text = NULL;
  int st = run_tool(rt, args, &text, err);
  if (st < 0)
    return st;
  if (st)
    return mtk_runtime_fail(rt, "ps", id, st, err);
  json_error_t je;
  json_t *a = json_loads(text, JSON_DECODE_ANY, &je);
  if (!json_is_array(a)) {
    json_decref(a);
    return mtk_err_set(err, EINVAL, "%s ps %.12s: not a JSON array", rt->ops->name, id);
  }
  *n = 0;
  *pids = mtk_xcalloc(json_array_size(a) + 1, sizeof(**pids));
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) if (json_integer_value(v) > 0)(*pids)[(*n)++] =
      (pid_t) json_integer_value(v);
  json_decref(a);
  return 0;
}

static const struct mtk_runtime_ops crun_ops = {
    .name = "crun",
    .create = oci_create,
    .start = oci_start,
    .kill = oci_kill,
    .del = oci_del,
    .state = oci_state,
    .run = oci_run,
    .exec = oci_exec,
    .ps = oci_ps,
};

static const struct mtk_runtime_ops runc_ops = {
    .name = "runc",
    .create = oci_create,
    .start = oci_start,
    .kill = oci_kill,
    .del = oci_del,
    .state = oci_state,
    .run = oci_run,
    .exec = oci_exec,
    .ps = oci_ps,
};

/* The program's path in PATH, resolved once: each exec then skips the
 * search (execvp tries every directory before the right one). */
static char *in_path(const char *prog)
{
  const char *path = getenv("PATH");
  if (!path || !*path)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  mtk_autofree char *copy = mtk_xstrdup(path);
  char *save = NULL;
  for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    char *p = mtk_xasprintf("%s/%s", d, prog);
    if (access(p, X_OK) == 0)
      return p;
    free(p);
  }
  return NULL;
}

struct mtk_runtime *mtk_runtime_new(const char *name, const char *runroot, struct mtk_err **err)
{
  const struct mtk_runtime_ops *ops;
  if (!name || strcmp(name, "crun") == 0) {
    ops = &crun_ops;
  } else if (strcmp(name, "runc") == 0) {
    ops = &runc_ops;
  } else {
    mtk_err_set(err, EINVAL, "unknown runtime '%s'", name);
    mtk_err_hint(err, "use --runtime crun or --runtime runc");
    return NULL;
  }
  char *binary = in_path(ops->name);
  if (!binary) {
    mtk_err_set(err, ENOENT, "the OCI runtime '%s' is not installed", ops->name);
    mtk_err_hint(err, "install it (apt-get install %s) or choose another with --runtime",
                 ops->name);
    return NULL;
  }
  struct mtk_runtime *rt = mtk_xcalloc(1, sizeof(*rt));
  rt->ops = ops;
  rt->binary = binary;
  rt->root = mtk_xasprintf("%s/runtime", runroot);
  rt->hide_cgroup2 = ops == &crun_ops && mtk_runtime_cgroup_mode() == MTK_CGROUP_HYBRID;
  return rt;
}

void mtk_runtime_free(struct mtk_runtime *rt)
{
  if (!rt)
    return;
  free(rt->binary);
  free(rt->root);
  free(rt->log);
  free(rt);
}

void mtk_runtime_set_log(struct mtk_runtime *rt, const char *path)
{
  free(rt->log);
  rt->log = path ? mtk_xstrdup(path) : NULL;
}

char *mtk_runtime_log_error(const char *path)
{
  return mtk_runtime_log_error_from(path, 0);
}

char *mtk_runtime_log_error_from(const char *path, long from)
{
  mtk_autofclose FILE *f = fopen(path, "re");
  if (!f || (from > 0 && fseek(f, from, SEEK_SET) < 0))
    return NULL;
  char *last = NULL, *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = 0;
    if (n == 0)
      continue;
    json_t *j = json_loads(line, 0, NULL);
    const char *level = j ? json_string_value(json_object_get(j, "level")) : NULL;
    const char *msg = j ? json_string_value(json_object_get(j, "msg")) : NULL;
    if (!j || (msg && (!level || strcmp(level, "error") == 0 || strcmp(level, "fatal") == 0))) {
      free(last);
      last = mtk_xstrdup(msg ? msg : line);
    }
    json_decref(j);
  }
  free(line);
  return last;
}
