/* The blocking verbs: stop (the SigCgt rule: a stop signal PID 1 does not
 * catch is dropped by the kernel, so SIGKILL goes at once), kill, wait
 * (pidfd), remove (-f, -v) and the container's processes (top).  Each works
 * with the container's monitor alive (it records the exit and tears down:
 * we wait for the state to say so) and without one (kill -9 of the monitor,
 * a reboot: we record the exit and tear down ourselves). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/ctr_internal.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"

#define SETTLE_MAX_SEC 15.0 /* how long a live monitor gets to record an exit */
#define KILL_WAIT_MS 10000  /* how long SIGKILL gets to end PID 1 */

/* A pidfd on the container's PID 1 when it is the recorded process, else -1. */
static int open_pid1(const struct mtk_ctr *c)
{
  pid_t pid = (pid_t) json_integer_value(json_object_get(c->state, "Pid"));
  uint64_t start = (uint64_t) json_integer_value(json_object_get(c->state, "PidStart"));
  if (pid <= 0)
    return -1;
  int fd = (int) syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0)
    return -1;
  /* the pidfd pins the process: checking its start time now is race-free */
  if (!mtk_ctr_proc_alive(pid, start)) {
    close(fd);
    return -1;
  }
  return fd;
}

/* 1 when the process of pidfd exited within ms (-1 = no limit), else 0. */
static int wait_pidfd(int fd, int ms)
{
  struct pollfd p = {.fd = fd, .events = POLLIN};
  double end = mtk_ctr_now_sec() + ms / 1000.0;
  for (;;) {
    int left = ms < 0 ? -1 : (int) ((end - mtk_ctr_now_sec()) * 1000.0);
    if (ms >= 0 && left < 0)
      left = 0;
    int r = poll(&p, 1, left);
    if (r > 0)
      return 1;
    if (r == 0)
      return 0;
    if (errno != EINTR)
      return 1; /* cannot wait on it: treat as gone */
  }
}

/* sig through the runtime; straight to PID 1 (pidfd) when the runtime
 * cannot (its state lost).  ESRCH when the process is already gone. */
static int send_signal(const char *runroot, const struct mtk_ctr *c, int pidfd, int sig,
                       struct mtk_err **err)
{
  struct mtk_err *e = NULL;
  struct mtk_runtime *rt = mtk_ctr_runtime(runroot, c, &e);
  int r = rt ? rt->ops->kill(rt, c->id, sig, &e) : -1;
  mtk_runtime_free(rt);
  if (r == 0)
    return 0;
  if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0) {
    mtk_err_free(&e);
    return 0;
  }
  if (pidfd >= 0 && errno == ESRCH) {
    mtk_err_free(&e);
    return 0; /* exited meanwhile: what the signal was for */
  }
  if (err && !*err)
    *err = e;
  else
    mtk_err_free(&e);
  return -1;
}

/* True when pid has a handler for sig (SigCgt of /proc/PID/status); false
 * also when the process is gone. */
static bool catches(pid_t pid, int sig)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
  mtk_autofclose FILE *f = fopen(path, "re");
  if (!f)
    return false;
  char line[256];
  while (fgets(line, sizeof(line), f))
    if (strncmp(line, "SigCgt:", 7) == 0) {
      unsigned long long mask = strtoull(line + 7, NULL, 16);
      return sig >= 1 && sig <= 64 && (mask >> (sig - 1)) & 1;
    }
  return false;
}

/* A live monitor other than this process (a monitor calling stop or rm on
 * its own container records the exit itself). */
static bool other_monitor(const struct mtk_ctr *c)
{
  pid_t mon = (pid_t) json_integer_value(json_object_get(c->state, "MonitorPid"));
  return mon != getpid() && mtk_ctr_monitor_alive(c);
}

/* Re-reads the state as written (no correction); false when the container
 * is gone (its monitor removed it: --rm). */
static bool reread_state(const char *root, struct mtk_ctr *c)
{
  mtk_autofree char *p = mtk_xasprintf("%s/containers/%s/state", root, c->id);
  struct mtk_err *e = NULL;
  json_t *st = mtk_ctr_read_json(p, &e);
  bool gone = !st && e && e->code == ENOENT;
  mtk_err_free(&e);
  if (st) {
    json_decref(c->state);
    c->state = st;
  }
  return !gone;
}

int mtk_ctr_record_exit(const char *root, const char *runroot, struct mtk_ctr *c, int exit_code,
                        const char *error, struct mtk_err **err)
{
  mtk_ctr_state_set_exited(c->state, exit_code, error);
  json_object_set_new(c->state, "MonitorPid", json_integer(0));
  json_object_set_new(c->state, "MonitorStart", json_integer(0));
  int r = mtk_ctr_save_state(root, c, err);
  if (mtk_ctr_teardown(root, runroot, c, err) < 0)
    r = -1;
  return r;
}

/* After PID 1 `old_pid` exited: waits for a live monitor to record the exit
 * (state not running, or running again with another PID after a restart),
 * else records exit_code itself and tears down. */
static int settle(const char *root, const char *runroot, struct mtk_ctr *c, pid_t old_pid,
                  int exit_code, struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_ctr_path(root, c->id);
  mtk_autoclose int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in >= 0)
    inotify_add_watch(in, dir, IN_MOVED_TO | IN_CLOSE_WRITE);
  double end = mtk_ctr_now_sec() + SETTLE_MAX_SEC;
  for (;;) {
    if (!reread_state(root, c)) {
      if (mtk_ctr_is_running(c)) /* removed with its exit code: ours is a guess */
        mtk_ctr_state_set_exited(c->state, exit_code, "");
      return 0;
    }
    pid_t pid = (pid_t) json_integer_value(json_object_get(c->state, "Pid"));
    if (!mtk_ctr_is_running(c) || (pid > 0 && pid != old_pid))
      return 0;
    if (!other_monitor(c) || mtk_ctr_now_sec() > end)
      break;
    struct pollfd p = {.fd = in, .events = POLLIN};
    if (in >= 0 && poll(&p, 1, 50) > 0) {
      char buf[4096];
      while (read(in, buf, sizeof(buf)) > 0)
        ;
    } else if (in < 0) {
      usleep(20000);
    }
  }
  return mtk_ctr_record_exit(root, runroot, c, exit_code, "", err);
}

static int stop_timeout(const struct mtk_ctr *c, int timeout)
{
  if (timeout >= 0)
    return timeout;
  json_t *t = json_object_get(json_object_get(c->config, "Config"), "StopTimeout");
  return json_is_integer(t) && json_integer_value(t) >= 0 ? (int) json_integer_value(t)
                                                          : MTK_CTR_STOP_TIMEOUT;
}

static int mark_manual_stop(const char *root, struct mtk_ctr *c, struct mtk_err **err)
{
  json_object_set_new(c->state, "ManualStop", json_true());
  return mtk_ctr_save_state(root, c, err);
}

/* Signals PID 1 of an open pidfd with the stop rule; fills res. */
static int stop_process(const char *runroot, struct mtk_ctr *c, int fd, int sig, int timeout,
                        struct mtk_ctr_stop_result *res, struct mtk_err **err)
{
  pid_t pid = (pid_t) json_integer_value(json_object_get(c->state, "Pid"));
  if (send_signal(runroot, c, fd, sig, err) < 0)
    return -1;
  bool exited = false;
  if (sig == SIGKILL) {
    res->killed = true;
  } else if (!catches(pid, sig)) {
    /* let an exit that is already under way show (SigCgt of a dying
     * process reads empty) before calling it "not caught" */
    exited = wait_pidfd(fd, 0) == 1;
    res->not_caught = !exited;
  } else {
    exited = wait_pidfd(fd, timeout * 1000) == 1;
  }
  if (!exited && !res->killed) {
    res->killed = true;
    if (send_signal(runroot, c, fd, SIGKILL, err) < 0)
      return -1;
  }
  if (!exited && wait_pidfd(fd, KILL_WAIT_MS) == 0)
    return mtk_err_set(err, ETIMEDOUT, "container %s did not exit %d s after SIGKILL", c->name,
                       KILL_WAIT_MS / 1000);
  return 0;
}

int mtk_ctr_stop(const char *root, const char *runroot, struct mtk_ctr *c, int sig, int timeout,
                 struct mtk_ctr_stop_result *res, struct mtk_err **err)
{
  memset(res, 0, sizeof(*res));
  if (mtk_ctr_refresh(root, runroot, c, err) < 0)
    return -1;
  res->exit_code = (int) json_integer_value(json_object_get(c->state, "ExitCode"));
  if (!mtk_ctr_is_running(c))
    return 0;
  double t0 = mtk_ctr_now_sec();
  res->was_running = true;
  res->stop_signal = sig > 0 ? sig : mtk_ctr_stop_signal(c);
  timeout = stop_timeout(c, timeout);
  if (mark_manual_stop(root, c, err) < 0)
    return -1;
  pid_t pid = (pid_t) json_integer_value(json_object_get(c->state, "Pid"));
  mtk_autoclose int fd = open_pid1(c);
  if (fd >= 0 && stop_process(runroot, c, fd, res->stop_signal, timeout, res, err) < 0)
    return -1;
  int code = res->killed ? 128 + SIGKILL : 255;
  if (settle(root, runroot, c, pid, code, err) < 0)
    return -1;
  res->exit_code = (int) json_integer_value(json_object_get(c->state, "ExitCode"));
  res->waited_sec = mtk_ctr_now_sec() - t0;
  return 0;
}

static int not_running(const struct mtk_ctr *c, struct mtk_err **err)
{
  return mtk_err_set(err, EINVAL, "Cannot kill container: %s: container %s is not running", c->name,
                     c->id);
}

int mtk_ctr_kill(const char *root, const char *runroot, struct mtk_ctr *c, int sig,
                 struct mtk_err **err)
{
  if (mtk_ctr_refresh(root, runroot, c, err) < 0)
    return -1;
  if (!mtk_ctr_is_running(c))
    return not_running(c, err);
  mtk_autoclose int fd = open_pid1(c);
  if (fd < 0)
    return not_running(c, err);
  if (send_signal(runroot, c, fd, sig, err) < 0)
    return -1;
  if (sig != SIGKILL || other_monitor(c))
    return 0;
  /* nobody else will record this exit */
  pid_t pid = (pid_t) json_integer_value(json_object_get(c->state, "Pid"));
  wait_pidfd(fd, KILL_WAIT_MS);
  return settle(root, runroot, c, pid, 128 + SIGKILL, err);
}

int mtk_ctr_wait(const char *root, const char *runroot, struct mtk_ctr *c, int *exit_code,
                 struct mtk_err **err)
{
  if (mtk_ctr_refresh(root, runroot, c, err) < 0)
    return -1;
  if (mtk_ctr_is_running(c)) {
    pid_t pid = (pid_t) json_integer_value(json_object_get(c->state, "Pid"));
    mtk_autoclose int fd = open_pid1(c);
    if (fd >= 0)
      wait_pidfd(fd, -1);
    if (settle(root, runroot, c, pid, 255, err) < 0)
      return -1;
  }
  *exit_code = (int) json_integer_value(json_object_get(c->state, "ExitCode"));
  return 0;
}

/* Waits (bounded) for a live monitor to finish its own teardown (the bundle
 * directory goes last) or to exit, so that removing the directory does not
 * race it.  A project's supervisor keeps running for the other containers,
 * so its exit cannot be the signal. */
static void wait_monitor_gone(const char *runroot, const struct mtk_ctr *c)
{
  pid_t mon = (pid_t) json_integer_value(json_object_get(c->state, "MonitorPid"));
  if (!other_monitor(c))
    return;
  mtk_autoclose int fd = (int) syscall(SYS_pidfd_open, mon, 0);
  mtk_autofree char *bundle = mtk_ctr_bundle_path(runroot, c->id);
  for (int waited = 0; waited < 5000; waited += 10) {
    if (access(bundle, F_OK) != 0 && errno == ENOENT)
      return;
    if (fd >= 0 && wait_pidfd(fd, 10) != 0)
      return;
    if (fd < 0)
      usleep(10000);
  }
}

static int remove_running(const char *root, const char *runroot, struct mtk_ctr *c,
                          struct mtk_err **err)
{
  if (mark_manual_stop(root, c, err) < 0)
    return -1;
  pid_t pid = (pid_t) json_integer_value(json_object_get(c->state, "Pid"));
  mtk_autoclose int fd = open_pid1(c);
  if (fd >= 0) {
    if (send_signal(runroot, c, fd, SIGKILL, err) < 0)
      return -1;
    if (wait_pidfd(fd, KILL_WAIT_MS) == 0)
      return mtk_err_set(err, ETIMEDOUT, "container %s did not exit after SIGKILL", c->name);
  }
  if (settle(root, runroot, c, pid, 128 + SIGKILL, err) < 0)
    return -1;
  wait_monitor_gone(runroot, c);
  return 0;
}

int mtk_ctr_remove(const char *root, const char *runroot, struct mtk_ctr *c, bool force,
                   bool volumes, struct mtk_err **err)
{
  if (mtk_ctr_refresh(root, runroot, c, err) < 0)
    return -1;
  if (mtk_ctr_is_running(c)) {
    if (!force) {
      mtk_err_set(err, EBUSY,
                  "cannot remove container \"/%s\": container is running: stop the container "
                  "before removing or force remove",
                  c->name);
      mtk_err_hint(err, "mtk container stop %s, or mtk container rm -f %s", c->name, c->name);
      return -1;
    }
    if (remove_running(root, runroot, c, err) < 0)
      return -1;
  } else {
    wait_monitor_gone(runroot, c);
  }
  if (mtk_ctr_teardown(root, runroot, c, err) < 0)
    return -1;
  mtk_autofree char *dir = mtk_ctr_path(root, c->id);
  if (mtk_ctr_remove_tree(dir, err) < 0)
    return -1;
  if (!volumes)
    return 0;
  int r = 0;
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(c->config, "Mounts"), i, m)
  {
    const char *type = json_string_value(json_object_get(m, "Type"));
    const char *name = json_string_value(json_object_get(m, "Name"));
    if (type && name && strcmp(type, "volume") == 0 &&
        json_is_true(json_object_get(m, "Anonymous")) &&
        mtk_ctr_volume_remove(root, name, c->id, err) < 0)
      r = -1;
  }
  return r;
}

/* ------------------------------------------------------------------- top */

static void push_pid(pid_t **v, size_t *n, pid_t p)
{
  *v = mtk_xrealloc(*v, (*n + 1) * sizeof(**v));
  (*v)[(*n)++] = p;
}

/* cgroup.procs of PID 1's cgroup: the v2 one on a unified host, else the v1
 * pids (or memory) hierarchy. */
static int pids_from_cgroup(pid_t pid1, pid_t **v, size_t *n)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid1);
  mtk_autofclose FILE *f = fopen(path, "re");
  if (!f)
    return -1;
  mtk_autofree char *procs = NULL;
  char line[4096];
  enum mtk_cgroup_mode mode = mtk_runtime_cgroup_mode();
  while (fgets(line, sizeof(line), f) && !procs) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = 0;
    const char *ctrl = c1 + 1, *cg = c2 + 1;
    if (mode == MTK_CGROUP_UNIFIED && !*ctrl)
      procs = mtk_xasprintf("/sys/fs/cgroup%s/cgroup.procs", cg);
    else if (mode != MTK_CGROUP_UNIFIED && strcmp(ctrl, "pids") == 0)
      procs = mtk_xasprintf("/sys/fs/cgroup/pids%s/cgroup.procs", cg);
  }
  mtk_autofclose FILE *p = procs ? fopen(procs, "re") : NULL;
  if (!p)
    return -1;
  long x;
  while (fscanf(p, "%ld", &x) == 1)
    push_pid(v, n, (pid_t) x);
  return *n > 0 ? 0 : -1;
}

/* Every process in PID 1's PID namespace (when the cgroup cannot tell). */
static int pids_from_pidns(pid_t pid1, pid_t **v, size_t *n)
{
  char path[64], want[64], got[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int) pid1);
  ssize_t wl = readlink(path, want, sizeof(want) - 1);
  if (wl <= 0)
    return -1;
  want[wl] = 0;
  DIR *d = opendir("/proc");
  if (!d)
    return -1;
  struct dirent *e;
  while ((e = readdir(d))) {
    char *end;
    long x = strtol(e->d_name, &end, 10);
    if (*end || x <= 0)
      continue;
    snprintf(path, sizeof(path), "/proc/%ld/ns/pid", x);
    ssize_t gl = readlink(path, got, sizeof(got) - 1);
    if (gl == wl && memcmp(got, want, (size_t) wl) == 0)
      push_pid(v, n, (pid_t) x);
  }
  closedir(d);
  return 0;
}

int mtk_ctr_pids(const char *root, const char *runroot, const struct mtk_ctr *c, pid_t **pids,
                 size_t *n, struct mtk_err **err)
{
  *pids = NULL;
  *n = 0;
  pid_t pid1 = mtk_ctr_pid(c);
  uint64_t start = (uint64_t) json_integer_value(json_object_get(c->state, "PidStart"));
  if (pid1 <= 0 || !mtk_ctr_proc_alive(pid1, start))
    return mtk_err_set(err, EINVAL, "container %s is not running", c->name);
  if (pids_from_cgroup(pid1, pids, n) == 0)
    return 0;
  free(*pids);
  *pids = NULL;
  *n = 0;
  if (pids_from_pidns(pid1, pids, n) == 0 && *n > 0)
    return 0;
  return mtk_err_set(err, ESRCH, "the processes of container %s cannot be listed", c->name);
}
