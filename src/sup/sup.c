/* The supervisor: one libuv loop that starts and watches N containers
 * (sup.h).  A start is one runtime exec (`run --detach`) with our pipes or a
 * console socket; the container's output goes to ctr.log, to the attached
 * fds and to the line callbacks; its exit (through the reaper) is recorded
 * once its output reached EOF, then the bundle is torn down and the restart
 * policy decides.  Stops are in stop.c, execs in exec.c, the monitor
 * process in monitor.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sup/internal.h"
#include "util/cleanup.h"
#include "util/file.h"

/* How long the output may take to reach EOF once the container exited. */
#define DRAIN_TIMEOUT_MS 2000

static void ctr_finish(struct mtk_sup_ctr *c);
static int start_run(struct mtk_sup_ctr *c, int *exit_code, struct mtk_err **err);

/* ------------------------------------------------------------ state file */

static void now_ts(char out[40])
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  mtk_sup_log_ts(&ts, out);
}

static json_t *state_obj(struct mtk_sup_ctr *c)
{
  if (!json_is_object(c->ctr->state)) {
    json_decref(c->ctr->state);
    c->ctr->state = json_object();
  }
  return c->ctr->state;
}

void mtk_sup_ctr_save(struct mtk_sup_ctr *c)
{
  struct mtk_err *e = NULL;
  if (mtk_ctr_save_state(c->sup->root, c->ctr, &e) < 0)
    mtk_err_free(&e); /* the loop goes on; the next save may succeed */
}

/* Field 22 of /proc/PID/stat (start time in clock ticks), 0 when unknown. */
static uint64_t proc_start(pid_t pid)
{
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
  mtk_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p)
    return 0;
  p++;
  for (int field = 2; field < 21 && p; field++)
    p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void state_running(struct mtk_sup_ctr *c)
{
  json_t *st = state_obj(c);
  char ts[40];
  now_ts(ts);
  json_object_set_new(st, "Status", json_string("running"));
  json_object_set_new(st, "Running", json_true());
  json_object_set_new(st, "Paused", json_false());
  json_object_set_new(st, "Restarting", json_false());
  json_object_set_new(st, "OOMKilled", json_false());
  json_object_set_new(st, "Dead", json_false());
  json_object_set_new(st, "Pid", json_integer(c->pid));
  json_object_set_new(st, "PidStart", json_integer((json_int_t) proc_start(c->pid)));
  json_object_set_new(st, "ExitCode", json_integer(0));
  json_object_set_new(st, "Error", json_string(""));
  json_object_set_new(st, "StartedAt", json_string(ts));
  json_object_set_new(st, "MonitorPid", json_integer(getpid()));
  json_object_set_new(st, "MonitorStart", json_integer((json_int_t) proc_start(getpid())));
  json_object_set_new(st, "ManualStop", json_false());
  if (c->bundle.networks)
    json_object_set(st, "Networks", c->bundle.networks);
}

static void state_exited(struct mtk_sup_ctr *c, int exit_code, bool oom, bool restarting,
                         const char *error)
{
  json_t *st = state_obj(c);
  char ts[40];
  now_ts(ts);
  json_object_set_new(st, "Status", json_string(restarting ? "restarting" : "exited"));
  json_object_set_new(st, "Running", json_false());
  json_object_set_new(st, "Restarting", json_boolean(restarting));
  json_object_set_new(st, "OOMKilled", json_boolean(oom));
  json_object_set_new(st, "Pid", json_integer(0));
  json_object_set_new(st, "ExitCode", json_integer(exit_code));
  json_object_set_new(st, "Error", json_string(error ? error : ""));
  json_object_set_new(st, "FinishedAt", json_string(ts));
  json_object_set_new(st, "ManualStop", json_boolean(c->manual_stop));
  json_object_del(st, "Ports");
}

/* ManualStop as another process (`mtk container stop`) may have saved it. */
static bool manual_stop_on_disk(struct mtk_sup_ctr *c)
{
  mtk_autofree char *path = mtk_xasprintf("%s/containers/%s/state", c->sup->root, c->id);
  json_t *st = json_load_file(path, 0, NULL);
  bool stopped = json_is_true(json_object_get(st, "ManualStop"));
  json_decref(st);
  return stopped;
}

/* -------------------------------------------------------------------- OOM */

/* The memory cgroup directory of pid (v1 "memory" hierarchy, else v2). */
static char *memory_cgroup(pid_t pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
  mtk_autofclose FILE *f = fopen(path, "re");
  if (!f)
    return NULL;
  char line[4096], *v2 = NULL, *v1 = NULL;
  while (!v1 && fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = 0;
    const char *ctl = c1 + 1, *cg = c2 + 1;
    if (*ctl == 0 && !v2) {
      v2 = mtk_xasprintf("/sys/fs/cgroup%s", cg);
      continue;
    }
    mtk_autofree char *list = mtk_xasprintf(",%s,", ctl);
    if (strstr(list, ",memory,"))
      v1 = mtk_xasprintf("/sys/fs/cgroup/memory%s", cg);
  }
  if (v1) {
    free(v2);
    return v1;
  }
  if (v2 && mtk_runtime_cgroup_mode() == MTK_CGROUP_UNIFIED)
    return v2;
  free(v2);
  return NULL;
}

/* The cgroup's oom_kill counter: v1 memory.oom_control, v2 memory.events. */
static uint64_t oom_kills(const char *dir)
{
  if (!dir)
    return 0;
  uint64_t n = 0;
  const char *files[] = {"memory.oom_control", "memory.events"};
  for (size_t i = 0; i < 2; i++) {
    mtk_autofree char *p = mtk_xasprintf("%s/%s", dir, files[i]);
    mtk_autofclose FILE *f = fopen(p, "re");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
      if (sscanf(line, "oom_kill %" SCNu64, &n) == 1)
        return n;
  }
  return n;
}

/* ---------------------------------------------------------- ctr objects */

struct mtk_sup_ctr *mtk_sup_find(struct mtk_sup *s, const char *id)
{
  for (size_t i = 0; i < s->n_ctrs; i++)
    if (strcmp(s->ctrs[i]->id, id) == 0)
      return s->ctrs[i];
  return NULL;
}

static void sup_maybe_free(struct mtk_sup *s);

static void ctr_free(struct mtk_sup_ctr *c)
{
  struct mtk_sup *s = c->sup;
  for (size_t i = 0; i < s->n_ctrs; i++) {
    if (s->ctrs[i] == c) {
      s->ctrs[i] = s->ctrs[--s->n_ctrs];
      break;
    }
  }
  mtk_ctr_free(c->ctr);
  mtk_ctr_bundle_clear(&c->bundle);
  mtk_runtime_free(c->rt);
  free(c->mem_cgroup);
  free(c->waits);
  free(c);
  sup_maybe_free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
  struct mtk_sup_ctr *c = h->data;
  if (--c->handles == 0 && c->gone)
    ctr_free(c);
}

static void close_handle(struct mtk_sup_ctr *c, uv_handle_t *h)
{
  if (!h->loop || uv_is_closing(h))
    return;
  h->data = c;
  uv_close(h, on_handle_closed);
}

static void stream_close(struct mtk_sup_ctr *c, struct mtk_sup_stream *st);
static void attach_stop(struct mtk_sup_ctr *c);
static void attach_signals_close(struct mtk_sup_ctr *c);

/* Gone for good: closes every handle; freed from the last close callback.
 * A container still running is let go (it runs on, unsupervised). */
static void ctr_release(struct mtk_sup_ctr *c)
{
  if (c->phase == MTK_SUP_RUNNING || c->phase == MTK_SUP_DRAINING)
    mtk_sup_reaper_unwatch(&c->sup->reaper, c->pid);
  c->gone = true;
  c->phase = MTK_SUP_IDLE;
  for (int i = 0; i < 2; i++)
    stream_close(c, &c->out[i]);
  if (c->stdin_w >= 0)
    close(c->stdin_w);
  c->stdin_w = -1;
  attach_stop(c);
  attach_signals_close(c);
  mtk_sup_log_close(&c->log);
  close_handle(c, (uv_handle_t *) &c->restart_timer);
  close_handle(c, (uv_handle_t *) &c->stop_timer);
  close_handle(c, (uv_handle_t *) &c->drain_timer);
  if (c->handles == 0)
    ctr_free(c);
}

static struct mtk_sup_ctr *ctr_new(struct mtk_sup *s, struct mtk_ctr *ctr)
{
  struct mtk_sup_ctr *c = mtk_xcalloc(1, sizeof(*c));
  c->sup = s;
  snprintf(c->id, sizeof(c->id), "%s", ctr->id);
  c->ctr = ctr;
  c->stdin_w = -1;
  c->out[0].fd = c->out[1].fd = -1;
  c->log.fd = -1;
  c->raw.fd = -1;
  uv_timer_t *timers[] = {&c->restart_timer, &c->stop_timer, &c->drain_timer};
  for (size_t i = 0; i < 3; i++) {
    uv_timer_init(s->loop, timers[i]);
    timers[i]->data = c;
    c->handles++;
  }
  if (s->n_ctrs == s->cap_ctrs) {
    s->cap_ctrs = s->cap_ctrs ? 2 * s->cap_ctrs : 4;
    s->ctrs = mtk_xrealloc(s->ctrs, s->cap_ctrs * sizeof(*s->ctrs));
  }
  s->ctrs[s->n_ctrs++] = c;
  return c;
}

/* HostConfig and Config fields the supervisor acts on. */
static int read_policies(struct mtk_sup_ctr *c, struct mtk_err **err)
{
  json_t *cfg = json_object_get(c->ctr->config, "Config");
  json_t *hc = json_object_get(c->ctr->config, "HostConfig");
  c->tty = json_is_true(json_object_get(cfg, "Tty"));
  c->open_stdin = json_is_true(json_object_get(cfg, "OpenStdin"));
  c->auto_remove = json_is_true(json_object_get(hc, "AutoRemove"));
  json_t *rp = json_object_get(hc, "RestartPolicy");
  const char *name = json_string_value(json_object_get(rp, "Name"));
  c->policy = mtk_sup_restart_parse(name);
  if (c->policy < 0)
    return mtk_err_set(err, EINVAL, "container %s: unknown restart policy '%s'", c->ctr->name,
                       name);
  c->max_retry = (long) json_integer_value(json_object_get(rp, "MaximumRetryCount"));
  return 0;
}

int mtk_sup_ctr_signal(struct mtk_sup_ctr *c, int sig)
{
  if (c->phase != MTK_SUP_RUNNING || c->pid <= 0)
    return -ESRCH;
  return kill(c->pid, sig) < 0 ? -errno : 0;
}

/* --------------------------------------------------------------- streams */

static void write_fd(int *fd, const char *buf, size_t len)
{
  if (*fd >= 0 && mtk_file_write_all(*fd, buf, len) < 0)
    *fd = -1; /* a closed terminal or pipe: stop writing there */
}

static void emit_line(void *data, const char *line, size_t len)
{
  struct mtk_sup_stream *st = data;
  struct mtk_sup_ctr *c = st->c;
  c->cbs.on_line(c->cbs.data, c->id, st->stream, line, len);
}

static void stream_close(struct mtk_sup_ctr *c, struct mtk_sup_stream *st)
{
  if (st->fd < 0)
    return;
  if (c->has_cbs && c->cbs.on_line)
    mtk_sup_lines_flush(&st->lines, emit_line, st);
  mtk_sup_lines_free(&st->lines);
  if (st->polling)
    close_handle(c, (uv_handle_t *) &st->poll);
  st->polling = false;
  close(st->fd);
  st->fd = -1;
}

static bool streams_open(const struct mtk_sup_ctr *c)
{
  return c->out[0].fd >= 0 || c->out[1].fd >= 0;
}

static void on_stream(uv_poll_t *h, int status, int events)
{
  struct mtk_sup_stream *st = h->data;
  struct mtk_sup_ctr *c = st->c;
  char *buf = c->sup->buf;
  ssize_t n = read(st->fd, buf, sizeof(c->sup->buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) { /* EOF; EIO on a pty master once every slave is closed */
    stream_close(c, st);
    if (c->phase == MTK_SUP_DRAINING && !streams_open(c))
      ctr_finish(c);
    return;
  }
  mtk_sup_log_write(&c->log, st->stream, buf, (size_t) n);
  if (c->attached)
    write_fd(st->stream == 2 ? &c->attach.err_fd : &c->attach.out_fd, buf, (size_t) n);
  if (c->has_cbs && c->cbs.on_line)
    mtk_sup_lines_feed(&st->lines, buf, (size_t) n, emit_line, st);
}

static int stream_start(struct mtk_sup_ctr *c, struct mtk_sup_stream *st, int fd, int stream)
{
  st->fd = fd;
  st->stream = stream;
  st->c = c;
  st->lines = (struct mtk_sup_lines){MTK_STRBUF_INIT};
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  int rc = uv_poll_init(c->sup->loop, &st->poll, fd);
  if (rc < 0)
    return rc;
  c->handles++;
  st->poll.data = st;
  st->polling = true;
  return uv_poll_start(&st->poll, UV_READABLE | UV_DISCONNECT, on_stream);
}

/* ---------------------------------------------------------------- attach */

static void on_winch(uv_signal_t *h, int sig)
{
  struct mtk_sup_ctr *c = h->data;
  mtk_sup_winsize_copy(c->attach.in_fd >= 0 ? c->attach.in_fd : c->attach.out_fd, c->out[0].fd);
}

static void on_fwd(uv_signal_t *h, int sig)
{
  struct mtk_sup_ctr *c = h->data;
  mtk_sup_ctr_signal(c, sig);
}

static void attach_signals(struct mtk_sup_ctr *c)
{
  uv_loop_t *loop = c->sup->loop;
  if (c->sigs_on)
    return;
  c->sigs_on = true;
  uv_signal_init(loop, &c->sig_winch);
  c->handles++;
  c->sig_winch.data = c;
  if (c->tty)
    uv_signal_start(&c->sig_winch, on_winch, SIGWINCH);
  uv_unref((uv_handle_t *) &c->sig_winch);
  static const int fwd[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < 4; i++) {
    uv_signal_init(loop, &c->sig_fwd[i]);
    c->handles++;
    c->sig_fwd[i].data = c;
    if (c->attach.sig_proxy)
      uv_signal_start(&c->sig_fwd[i], on_fwd, fwd[i]);
    uv_unref((uv_handle_t *) &c->sig_fwd[i]);
  }
}

static void attach_signals_close(struct mtk_sup_ctr *c)
{
  if (!c->sigs_on)
    return;
  c->sigs_on = false;
  close_handle(c, (uv_handle_t *) &c->sig_winch);
  for (size_t i = 0; i < 4; i++)
    close_handle(c, (uv_handle_t *) &c->sig_fwd[i]);
}

static void relay_eof(struct mtk_sup_relay *r)
{
  struct mtk_sup_ctr *c = r->data;
  /* without a terminal the container sees the end of its input (StdinOnce) */
  if (!c->tty && c->stdin_w >= 0) {
    close(c->stdin_w);
    c->stdin_w = -1;
  }
}

static void relay_closed(struct mtk_sup_relay *r)
{
  struct mtk_sup_ctr *c = r->data;
  c->handles -= 2;
  if (c->handles == 0 && c->gone)
    ctr_free(c);
}

/* Our terminal raw, its window size on the pty, stdin relayed, signals. */
static int attach_start(struct mtk_sup_ctr *c, struct mtk_err **err)
{
  if (c->tty && c->open_stdin && mtk_sup_raw_enter(&c->raw, c->attach.in_fd, err) < 0)
    return -1;
  if (c->tty)
    mtk_sup_winsize_copy(c->attach.in_fd >= 0 ? c->attach.in_fd : c->attach.out_fd, c->out[0].fd);
  attach_signals(c);
  if (c->stdin_w >= 0 && c->attach.in_fd >= 0 && c->relay_stdin) {
    c->relay.data = c;
    c->relay.on_eof = relay_eof;
    c->relay.closed = relay_closed;
    c->handles += 2; /* given back by relay_closed, which runs in every case */
    c->relaying = mtk_sup_relay_start(&c->relay, c->sup->loop, c->attach.in_fd, c->stdin_w) == 0;
  }
  return 0;
}

static void attach_stop(struct mtk_sup_ctr *c)
{
  if (c->relaying)
    mtk_sup_relay_close(&c->relay);
  c->relaying = false;
  mtk_sup_raw_leave(&c->raw);
}

/* ----------------------------------------------------------------- start */

/* The container's stdio for the runtime: pipes for stdout/stderr (our read
 * ends in c->out), stdin a pipe (OpenStdin; relayed from attach.in_fd when
 * that can be polled), attach.in_fd itself (a file), or /dev/null. */
static int make_stdio(struct mtk_sup_ctr *c, int child[3], struct mtk_err **err)
{
  child[0] = child[1] = child[2] = -1;
  if (c->tty)
    return 0; /* the pty is the container's stdio: the runtime gets /dev/null */
  int p[2];
  for (int i = 1; i <= 2; i++) {
    if (pipe2(p, O_CLOEXEC) < 0)
      return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
    c->out[i - 1].fd = p[0];
    child[i] = p[1];
  }
  if (!c->open_stdin)
    return 0;
  int in = c->attached ? c->attach.in_fd : -1;
  if (in >= 0 && !mtk_sup_fd_pollable(in)) {
    child[0] = fcntl(in, F_DUPFD_CLOEXEC, 3);
    return child[0] < 0 ? mtk_err_set(err, errno, "dup: %s", strerror(errno)) : 0;
  }
  if (pipe2(p, O_CLOEXEC) < 0)
    return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
  child[0] = p[0];
  c->stdin_w = p[1]; /* detached: kept open and unused, so the container waits for input */
  c->relay_stdin = in >= 0;
  return 0;
}

static pid_t read_pid_file(const char *path)
{
  char buf[32] = {0};
  mtk_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
    return -1;
  long v = strtol(buf, NULL, 10);
  return v > 0 ? (pid_t) v : -1;
}

/* One exec of the runtime: `run --detach`, waited for here (it returns once
 * the container runs), then the pty master and the PID. */
static int runtime_run(struct mtk_sup_ctr *c, struct mtk_err **err)
{
  struct mtk_sup_console con = {.fd = -1};
  int child[3] = {-1, -1, -1};
  int rc = make_stdio(c, child, err);
  if (rc == 0 && c->tty)
    rc = mtk_sup_console_open(&con, c->bundle.dir, "console.sock", err);
  pid_t rpid = -1;
  if (rc == 0) {
    struct mtk_runtime_run o = {c->bundle.dir, c->bundle.pid_file, c->tty ? con.path : NULL};
    struct mtk_runtime_io io = {child[0], child[1], child[2]};
    rc = c->rt->ops->run(c->rt, c->id, &o, &io, &rpid, err);
  }
  /* the runtime (and the container) hold these now: without closing ours,
   * the output would never reach EOF */
  for (int i = 0; i < 3; i++)
    if (child[i] >= 0)
      close(child[i]);
  if (rc == 0) {
    int st = mtk_runtime_wait(rpid);
    if (st != 0)
      rc = mtk_runtime_fail(c->rt, "run", c->id, st, err);
  }
  if (rc == 0 && c->tty) {
    int master = mtk_sup_console_recv(&con, err);
    rc = master < 0 ? -1 : 0;
    c->out[0].fd = master;
    if (master >= 0 && c->open_stdin) {
      c->stdin_w = fcntl(master, F_DUPFD_CLOEXEC, 3);
      c->relay_stdin = c->attached && c->attach.in_fd >= 0;
    }
  }
  mtk_sup_console_close(&con);
  if (rc == 0 && (c->pid = read_pid_file(c->bundle.pid_file)) <= 0)
    rc = mtk_err_set(err, EIO, "%s run %.12s wrote no PID to %s", c->rt->ops->name, c->id,
                     c->bundle.pid_file);
  return rc;
}

static void on_ctr_exit(void *data, pid_t pid, int status);

/* Undoes a start that failed after mtk_ctr_prepare; the state says why. */
static void start_failed(struct mtk_sup_ctr *c, int exit_code, const struct mtk_err *e)
{
  for (int i = 0; i < 2; i++)
    stream_close(c, &c->out[i]);
  if (c->stdin_w >= 0)
    close(c->stdin_w);
  c->stdin_w = -1;
  mtk_sup_log_close(&c->log);
  mtk_sup_net_stop(c);
  struct mtk_err *te = NULL;
  if (mtk_ctr_teardown(c->sup->root, c->sup->runroot, c->ctr, &te) < 0)
    mtk_err_free(&te);
  mtk_ctr_bundle_clear(&c->bundle);
  mtk_runtime_free(c->rt);
  c->rt = NULL;
  c->pid = 0;
  c->phase = MTK_SUP_IDLE;
  state_exited(c, exit_code, false, false, e ? e->msg : NULL);
  mtk_sup_ctr_save(c);
}

/* The last touches to config.json that only the supervisor knows: the
 * attached terminal's size (process.consoleSize, so that the pty has it
 * from the start: a size copied once the runtime returned would come after
 * the container's first look at it) and, for crun, the precompiled seccomp
 * filter (runtime.h). */
static int finish_config(struct mtk_sup_ctr *c, struct mtk_err **err)
{
  struct winsize ws;
  int term = c->attach.in_fd >= 0 ? c->attach.in_fd : c->attach.out_fd;
  bool size = c->tty && c->attached && term >= 0 && ioctl(term, TIOCGWINSZ, &ws) == 0 &&
              ws.ws_row && ws.ws_col;
  if (!size && strcmp(c->rt->ops->name, "crun") != 0)
    return 0;
  mtk_autofree char *path = mtk_xasprintf("%s/config.json", c->bundle.dir);
  json_error_t je;
  json_t *spec = json_load_file(path, 0, &je);
  json_t *proc = json_object_get(spec, "process");
  if (!json_is_object(proc)) {
    json_decref(spec);
    return mtk_err_set(err, EINVAL, "%s: %s", path, spec ? "no process" : je.text);
  }
  if (size)
    json_object_set_new(proc, "consoleSize",
                        json_pack("{s:i, s:i}", "height", ws.ws_row, "width", ws.ws_col));
  mtk_autofree char *cache = mtk_xasprintf("%s/cache/seccomp", c->sup->root);
  bool changed = false;
  int rc = mtk_runtime_seccomp_precompile(c->rt, spec, cache, &changed, err);
  if (rc == 0 && (size || changed)) {
    /* the bundle lives as long as this run: no fsync */
    mtk_autofree char *text = json_dumps(spec, JSON_COMPACT);
    mtk_autoclose int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (!text || fd < 0 || mtk_file_write_all(fd, text, strlen(text)) < 0)
      rc = mtk_err_set(err, errno ? errno : EIO, "writing %s: %s", path, strerror(errno));
  }
  json_decref(spec);
  return rc;
}

static int prepare(struct mtk_sup_ctr *c, struct mtk_err **err)
{
  struct mtk_sup *s = c->sup;
  const char *rt_name =
      json_string_value(json_object_get(json_object_get(c->ctr->config, "HostConfig"), "Runtime"));
  if (rt_name && (!*rt_name || strcmp(rt_name, "runc") != 0))
    rt_name = NULL; /* "", "crun", or an unknown one refused at create */
  c->rt = mtk_runtime_new(rt_name, s->runroot, err);
  if (!c->rt || mtk_ctr_prepare(s->root, s->runroot, c->ctr, &c->bundle, err) < 0)
    return -1;
  /* the runroot exists now (the bundle is under it) */
  if (mkdir(c->rt->root, 0700) < 0 && errno != EEXIST)
    return mtk_err_set(err, errno, "creating %s: %s", c->rt->root, strerror(errno));
  mtk_runtime_set_log(c->rt, c->bundle.log_file);
  if (finish_config(c, err) < 0 || mtk_sup_log_open(&c->log, c->bundle.ctr_log, err) < 0)
    return -1;
  return mtk_sup_net_start(c, err);
}

static int start_run(struct mtk_sup_ctr *c, int *exit_code, struct mtk_err **err)
{
  *exit_code = MTK_CTR_EXIT_RUN_ERROR;
  c->manual_stop = c->stop_killed = c->stop_not_caught = false;
  c->relay_stdin = false;
  int rc = prepare(c, err);
  if (rc == 0 && (rc = runtime_run(c, err)) < 0)
    *exit_code = mtk_runtime_exit_code(*err);
  if (rc < 0) {
    start_failed(c, *exit_code, *err);
    return -1;
  }
  c->phase = MTK_SUP_RUNNING;
  c->started_ms = uv_now(c->sup->loop);
  c->mem_cgroup = memory_cgroup(c->pid);
  c->oom_base = oom_kills(c->mem_cgroup);
  mtk_sup_reaper_watch(&c->sup->reaper, c->pid, on_ctr_exit, c);
  for (int i = 0; i < 2; i++)
    if (c->out[i].fd >= 0 && stream_start(c, &c->out[i], c->out[i].fd, i + 1) < 0)
      stream_close(c, &c->out[i]);
  if (c->attached && attach_start(c, err) < 0) {
    /* the container runs: say so, it is stopped by the caller or runs detached */
    mtk_err_free(err);
  }
  state_running(c);
  mtk_sup_ctr_save(c);
  *exit_code = 0;
  if (c->has_cbs && c->cbs.on_start)
    c->cbs.on_start(c->cbs.data, c->id, c->pid);
  return 0;
}

/* ------------------------------------------------------------------ exit */

static void on_drain_timeout(uv_timer_t *t)
{
  struct mtk_sup_ctr *c = t->data;
  if (c->phase == MTK_SUP_DRAINING)
    ctr_finish(c);
}

static void on_ctr_exit(void *data, pid_t pid, int status)
{
  struct mtk_sup_ctr *c = data;
  c->status = status;
  c->phase = MTK_SUP_DRAINING;
  uv_timer_stop(&c->stop_timer);
  if (!streams_open(c)) {
    ctr_finish(c);
    return;
  }
  /* a process of the container that escaped its PID namespace could keep a
   * pipe open for ever: the output gets a bounded time to reach EOF */
  uv_timer_start(&c->drain_timer, on_drain_timeout, DRAIN_TIMEOUT_MS, 0);
}

static void on_restart_timer(uv_timer_t *t)
{
  struct mtk_sup_ctr *c = t->data;
  if (c->phase != MTK_SUP_RESTARTING)
    return;
  json_t *st = state_obj(c);
  json_int_t n = json_integer_value(json_object_get(st, "RestartCount"));
  json_object_set_new(st, "RestartCount", json_integer(n + 1));
  int code;
  struct mtk_err *e = NULL;
  if (start_run(c, &code, &e) < 0) {
    mtk_err_free(&e);
    if (c->has_cbs && c->cbs.on_exit)
      c->cbs.on_exit(c->cbs.data, c->id, code, false, false);
    mtk_sup_stop_done(c, code);
    ctr_release(c);
  }
}

/* After the exit: AutoRemove, or the restart policy's next start. */
static void after_exit(struct mtk_sup_ctr *c, int code, bool oom, bool restart)
{
  if (c->has_cbs && c->cbs.on_exit)
    c->cbs.on_exit(c->cbs.data, c->id, code, oom, restart);
  mtk_sup_stop_done(c, code);
  if (restart) {
    uint64_t ran = uv_now(c->sup->loop) - c->started_ms;
    c->delay_ms = mtk_sup_restart_delay(c->delay_ms, ran);
    c->phase = MTK_SUP_RESTARTING;
    uv_timer_start(&c->restart_timer, on_restart_timer, c->delay_ms, 0);
    return;
  }
  if (c->auto_remove) {
    struct mtk_err *e = NULL;
    if (mtk_ctr_remove(c->sup->root, c->sup->runroot, c->ctr, true, true, &e) < 0)
      mtk_err_free(&e);
  }
  ctr_release(c);
}

/* The container exited and its output is drained: tear down, record,
 * restart or let go (RUNTIME.md section 3, conmon step 12). */
static void ctr_finish(struct mtk_sup_ctr *c)
{
  uv_timer_stop(&c->drain_timer);
  for (int i = 0; i < 2; i++)
    stream_close(c, &c->out[i]);
  if (c->stdin_w >= 0)
    close(c->stdin_w);
  c->stdin_w = -1;
  attach_stop(c);
  mtk_sup_log_close(&c->log);
  int code = mtk_sup_exit_code(c->status);
  bool oom = c->mem_cgroup && oom_kills(c->mem_cgroup) > c->oom_base;
  free(c->mem_cgroup);
  c->mem_cgroup = NULL;
  mtk_sup_net_stop(c);
  c->manual_stop = c->manual_stop || manual_stop_on_disk(c);
  bool restart = !c->auto_remove && !c->sup->freeing &&
                 mtk_sup_restart_should(
                     c->policy, c->max_retry,
                     (long) json_integer_value(json_object_get(state_obj(c), "RestartCount")), code,
                     c->manual_stop);
  c->pid = 0;
  /* torn down before the state says so: whoever waits for "exited" (stop,
   * then start again) must not find our teardown racing its new bundle */
  struct mtk_err *e = NULL;
  if (mtk_ctr_teardown(c->sup->root, c->sup->runroot, c->ctr, &e) < 0)
    mtk_err_free(&e);
  state_exited(c, code, oom, restart, NULL);
  mtk_sup_ctr_save(c);
  mtk_ctr_bundle_clear(&c->bundle);
  mtk_runtime_free(c->rt);
  c->rt = NULL;
  if (!restart && c->attached)
    attach_signals_close(c);
  c->phase = MTK_SUP_IDLE;
  after_exit(c, code, oom, restart);
}

/* ----------------------------------------------------------------- public */

static void sup_maybe_free(struct mtk_sup *s)
{
  if (!s->freeing || s->n_ctrs || s->reaper.handles)
    return;
  free(s->ctrs);
  free(s->dns);
  free(s->root);
  free(s->runroot);
  free(s);
}

static void on_reaper_closed(struct mtk_sup_reaper *r)
{
  struct mtk_sup *s = (struct mtk_sup *) ((char *) r - offsetof(struct mtk_sup, reaper));
  sup_maybe_free(s);
}

struct mtk_sup *mtk_sup_new(uv_loop_t *loop, const char *root, const char *runroot,
                            struct mtk_err **err)
{
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
    mtk_err_set(err, errno, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
    return NULL;
  }
  signal(SIGPIPE, SIG_IGN);
  struct mtk_sup *s = mtk_xcalloc(1, sizeof(*s));
  s->loop = loop;
  s->root = mtk_xstrdup(root);
  s->runroot = mtk_xstrdup(runroot);
  s->reaper.closed = on_reaper_closed;
  if (mtk_sup_reaper_init(&s->reaper, loop, err) < 0) {
    s->freeing = true;
    mtk_sup_reaper_close(&s->reaper);
    return NULL;
  }
  return s;
}

void mtk_sup_free(struct mtk_sup *s)
{
  if (!s)
    return;
  s->freeing = true;
  /* containers still here are exited or waiting to restart: let them go */
  for (size_t i = s->n_ctrs; i-- > 0;)
    if (!s->ctrs[i]->gone)
      ctr_release(s->ctrs[i]);
  mtk_sup_reaper_close(&s->reaper);
}

size_t mtk_sup_running(const struct mtk_sup *s)
{
  size_t n = 0;
  for (size_t i = 0; i < s->n_ctrs; i++)
    if (!s->ctrs[i]->gone && s->ctrs[i]->phase != MTK_SUP_IDLE)
      n++;
  return n;
}

int mtk_sup_start(struct mtk_sup *s, const char *id, const struct mtk_sup_attach *attach,
                  const struct mtk_sup_cbs *cbs, int *exit_code, struct mtk_err **err)
{
  int dummy;
  if (!exit_code)
    exit_code = &dummy;
  *exit_code = MTK_CTR_EXIT_RUN_ERROR;
  struct mtk_sup_ctr *c = mtk_sup_find(s, id);
  if (c && c->phase != MTK_SUP_IDLE) {
    *exit_code = 0;
    return 0; /* already running (or restarting): nothing to do, as docker start */
  }
  if (!c) {
    struct mtk_ctr *ctr = NULL;
    if (mtk_ctr_load(s->root, s->runroot, id, &ctr, err) < 0)
      return -1;
    if (mtk_ctr_is_running(ctr)) {
      mtk_err_set(err, EBUSY, "container %s is already running under another monitor", ctr->name);
      mtk_ctr_free(ctr);
      return -1;
    }
    c = ctr_new(s, ctr);
  }
  c->attached = attach != NULL;
  if (attach)
    c->attach = *attach;
  c->has_cbs = cbs != NULL;
  if (cbs)
    c->cbs = *cbs;
  c->delay_ms = 0;
  if (read_policies(c, err) < 0 || start_run(c, exit_code, err) < 0) {
    if (c->auto_remove) {
      struct mtk_err *e = NULL;
      if (mtk_ctr_remove(s->root, s->runroot, c->ctr, true, true, &e) < 0)
        mtk_err_free(&e);
    }
    ctr_release(c);
    return -1;
  }
  return 0;
}
