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

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_exec(const struct mtk_runtime *rt, char **argv, int out_fd, int err_pipe)
{
  sigset_t all;
  sigemptyset(&all);
  for (int s = 1; s < NSIG; s++)
    signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &all, NULL);
  setpgid(0, 0);
  if (rt->hide_cgroup2) {
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        umount2(CGROUP2_DIR, MNT_DETACH) < 0)
      goto fail;
  }
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2(null, STDIN_FILENO) < 0)
    goto fail;
  if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
    goto fail;
  execvp(argv[0], argv);
fail:;
  int e = errno;
  if (write(err_pipe, &e, sizeof(e)) < 0)
    _exit(127);
  _exit(127);
}

/* Runs the runtime with args; *out (may be NULL) gets its stdout.
 * Returns its exit status, or negative with *err set when it could not run. */
static int run_tool(struct mtk_runtime *rt, const char *const *args, char **out,
                    struct mtk_err **err)
{
  const char *argv[32];
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
  for (size_t i = 0; args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;

  int ep[2], op[2] = {-1, -1};
  if (pipe2(ep, O_CLOEXEC) < 0)
    return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
  if (out && pipe2(op, O_CLOEXEC) < 0) {
    close(ep[0]);
    close(ep[1]);
    return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
  }
  pid_t pid = fork();
  if (pid == 0)
    child_exec(rt, (char **) argv, op[1], ep[1]);
  int fork_errno = errno;
  close(ep[1]);
  if (op[1] >= 0)
    close(op[1]);
  if (pid < 0) {
    close(ep[0]);
    if (op[0] >= 0)
      close(op[0]);
    return mtk_err_set(err, fork_errno, "fork: %s", strerror(fork_errno));
  }
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  if (out) {
    char buf[4096];
    ssize_t r;
    while ((r = read(op[0], buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
      if (r > 0)
        mtk_strbuf_add(&sb, buf, (size_t) r);
    close(op[0]);
  }
  int child_errno = 0;
  ssize_t r = read(ep[0], &child_errno, sizeof(child_errno));
  close(ep[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (r == (ssize_t) sizeof(child_errno)) {
    mtk_strbuf_free(&sb);
    return mtk_err_set(err, child_errno, "running %s: %s", rt->binary, strerror(child_errno));
  }
  if (out)
    *out = mtk_strbuf_steal(&sb);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

/* A failed runtime call as an error carrying the runtime's message. */
static int tool_failed(struct mtk_runtime *rt, const char *what, const char *id, int status,
                       struct mtk_err **err)
{
  mtk_autofree char *msg = rt->log ? mtk_runtime_log_error(rt->log) : NULL;
  if (msg)
    return mtk_err_set(err, MTK_E_GENERIC, "%s %s %.12s: %s", rt->ops->name, what, id, msg);
  return mtk_err_set(err, MTK_E_GENERIC, "%s %s %.12s failed (exit status %d)", rt->ops->name, what,
                     id, status);
}

static int oci_create(struct mtk_runtime *rt, const char *id, const char *bundle,
                      const char *pid_file, struct mtk_err **err)
{
  const char *args[] = {"create", "--bundle", bundle, "--pid-file", pid_file, id, NULL};
  int st = run_tool(rt, args, NULL, err);
  if (st < 0)
    return st;
  return st ? tool_failed(rt, "create", id, st, err) : 0;
}

static int oci_start(struct mtk_runtime *rt, const char *id, struct mtk_err **err)
{
  const char *args[] = {"start", id, NULL};
  int st = run_tool(rt, args, NULL, err);
  if (st < 0)
    return st;
  return st ? tool_failed(rt, "start", id, st, err) : 0;
}

static int oci_kill(struct mtk_runtime *rt, const char *id, int sig, struct mtk_err **err)
{
  char num[16];
  snprintf(num, sizeof(num), "%d", sig);
  const char *args[] = {"kill", id, num, NULL};
  int st = run_tool(rt, args, NULL, err);
  if (st < 0)
    return st;
  return st ? tool_failed(rt, "kill", id, st, err) : 0;
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
  return rc ? tool_failed(rt, "delete", id, rc, err) : 0;
}

static int oci_state(struct mtk_runtime *rt, const char *id, json_t **out, struct mtk_err **err)
{
  const char *args[] = {"state", id, NULL};
  mtk_autofree char *text = NULL;
  int st = run_tool(rt, args, &text, err);
  if (st < 0)
    return st;
  if (st)
    return tool_failed(rt, "state", id, st, err);
  json_error_t je;
  *out = json_loads(text, 0, &je);
  if (!*out)
    return mtk_err_set(err, EINVAL, "%s state %s: bad JSON: %s", rt->ops->name, id, je.text);
  return 0;
}

static const struct mtk_runtime_ops crun_ops = {
    .name = "crun",
    .create = oci_create,
    .start = oci_start,
    .kill = oci_kill,
    .del = oci_del,
    .state = oci_state,
};

static const struct mtk_runtime_ops runc_ops = {
    .name = "runc",
    .create = oci_create,
    .start = oci_start,
    .kill = oci_kill,
    .del = oci_del,
    .state = oci_state,
};

static bool in_path(const char *prog)
{
  const char *path = getenv("PATH");
  if (!path || !*path)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  mtk_autofree char *copy = mtk_xstrdup(path);
  char *save = NULL;
  for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    mtk_autofree char *p = mtk_xasprintf("%s/%s", d, prog);
    if (access(p, X_OK) == 0)
      return true;
  }
  return false;
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
  if (!in_path(ops->name)) {
    mtk_err_set(err, ENOENT, "the OCI runtime '%s' is not installed", ops->name);
    mtk_err_hint(err, "install it (apt-get install %s) or choose another with --runtime",
                 ops->name);
    return NULL;
  }
  struct mtk_runtime *rt = mtk_xcalloc(1, sizeof(*rt));
  rt->ops = ops;
  rt->binary = mtk_xstrdup(ops->name);
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
  mtk_autofclose FILE *f = fopen(path, "re");
  if (!f)
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
