/* Processes run in a running container (`mtk container exec`, health
 * checks): the container's process JSON with the exec's command, env, user,
 * workdir and terminal, started with `exec --detach --pid-file` so that the
 * process is our child (subreaper) and can be killed on a timeout; output
 * relayed to the attached fds, or captured (first 4 KiB, as Docker keeps
 * for health checks) for the callback. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/spec.h"
#include "sup/internal.h"
#include "util/cleanup.h"
#include "util/file.h"

#define EXEC_OUTPUT_MAX 4096

struct sup_exec {
  struct mtk_sup *sup; /* borrowed */
  char id[MTK_CTR_ID_LEN + 1];
  struct mtk_runtime *rt; /* owned */
  char *process_file, *pid_file;
  pid_t rpid, pid;
  int exit_code;
  bool exited, timed_out, finished;
  mtk_sup_exec_cb done;
  void *data;
  struct mtk_sup_stream out[2]; /* .c unused: the exec's own streams */
  int stdin_w;
  bool attached, tty, relay_stdin, relaying;
  struct mtk_sup_attach attach;
  struct mtk_sup_raw raw;
  struct mtk_sup_relay relay;
  struct mtk_sup_console con;
  uv_timer_t timer;
  uv_signal_t winch;
  uv_signal_t fwd[4]; /* SIGINT, SIGTERM, SIGHUP, SIGQUIT to the process (sig_proxy) */
  int handles;
  struct mtk_strbuf captured;
};

static void exec_free(struct sup_exec *x)
{
  if (x->process_file)
    unlink(x->process_file);
  if (x->pid_file)
    unlink(x->pid_file);
  free(x->process_file);
  free(x->pid_file);
  mtk_runtime_free(x->rt);
  mtk_sup_console_close(&x->con);
  mtk_strbuf_free(&x->captured);
  x->sup->n_execs--;
  free(x);
}

static void on_closed(uv_handle_t *h)
{
  struct sup_exec *x = h->data;
  if (--x->handles == 0 && x->finished)
    exec_free(x);
}

static void close_h(struct sup_exec *x, uv_handle_t *h)
{
  if (!h->loop || uv_is_closing(h))
    return;
  h->data = x;
  uv_close(h, on_closed);
}

static void relay_closed(struct mtk_sup_relay *r)
{
  struct sup_exec *x = r->data;
  x->handles -= 2;
  if (x->handles == 0 && x->finished)
    exec_free(x);
}

static void out_close(struct sup_exec *x, struct mtk_sup_stream *st)
{
  if (st->fd < 0)
    return;
  if (st->polling)
    close_h(x, (uv_handle_t *) &st->poll);
  st->polling = false;
  close(st->fd);
  st->fd = -1;
}

static void finish(struct sup_exec *x)
{
  if (x->finished)
    return;
  x->finished = true;
  for (int i = 0; i < 2; i++)
    out_close(x, &x->out[i]);
  if (x->stdin_w >= 0)
    close(x->stdin_w);
  x->stdin_w = -1;
  if (x->relaying)
    mtk_sup_relay_close(&x->relay);
  x->relaying = false;
  mtk_sup_raw_leave(&x->raw);
  close_h(x, (uv_handle_t *) &x->timer);
  close_h(x, (uv_handle_t *) &x->winch);
  for (int i = 0; i < 4; i++)
    close_h(x, (uv_handle_t *) &x->fwd[i]);
  if (x->pid > 0)
    mtk_sup_reaper_unwatch(&x->sup->reaper, x->pid);
  if (x->rpid > 0)
    mtk_sup_reaper_unwatch(&x->sup->reaper, x->rpid);
  int code = x->timed_out ? -1 : x->exit_code;
  if (x->done)
    x->done(x->data, code, x->captured.buf ? x->captured.buf : "", x->captured.len);
  if (x->handles == 0)
    exec_free(x);
}

static void on_out(uv_poll_t *h, int status, int events)
{
  struct mtk_sup_stream *st = h->data;
  struct sup_exec *x = (struct sup_exec *) st->c;
  char *buf = x->sup->buf;
  ssize_t n = read(st->fd, buf, sizeof(x->sup->buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    out_close(x, st);
    if (x->exited && x->out[0].fd < 0 && x->out[1].fd < 0)
      finish(x);
    return;
  }
  if (x->attached) {
    int *fd = st->stream == 2 ? &x->attach.err_fd : &x->attach.out_fd;
    if (*fd >= 0 && mtk_file_write_all(*fd, buf, (size_t) n) < 0)
      *fd = -1;
  } else if (x->captured.len < EXEC_OUTPUT_MAX) {
    size_t room = EXEC_OUTPUT_MAX - x->captured.len;
    mtk_strbuf_add(&x->captured, buf, (size_t) n < room ? (size_t) n : room);
  }
}

static void out_start(struct sup_exec *x, int i, int fd)
{
  struct mtk_sup_stream *st = &x->out[i];
  st->fd = fd;
  st->stream = i + 1;
  st->c = (struct mtk_sup_ctr *) x; /* only on_out reads it back, as the exec */
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  if (uv_poll_init(x->sup->loop, &st->poll, fd) < 0) {
    close(fd);
    st->fd = -1;
    return;
  }
  x->handles++;
  st->poll.data = st;
  st->polling = true;
  uv_poll_start(&st->poll, UV_READABLE | UV_DISCONNECT, on_out);
}

static void on_drained(uv_timer_t *t)
{
  finish(t->data);
}

static void on_timeout(uv_timer_t *t)
{
  struct sup_exec *x = t->data;
  x->timed_out = true;
  if (x->pid > 0)
    kill(x->pid, SIGKILL); /* our child, not reaped yet: the PID is still its own */
  else if (x->rpid > 0)
    kill(x->rpid, SIGKILL);
}

static void relay_eof(struct mtk_sup_relay *r)
{
  struct sup_exec *x = r->data;
  if (!x->tty && x->stdin_w >= 0) {
    close(x->stdin_w);
    x->stdin_w = -1;
  }
}

static void on_proc_exit(void *data, pid_t pid, int status)
{
  struct sup_exec *x = data;
  x->pid = 0;
  x->exited = true;
  x->exit_code = mtk_sup_exit_code(status);
  if (x->out[0].fd < 0 && x->out[1].fd < 0)
    finish(x);
  else /* the output gets a bounded time to reach EOF */
    uv_timer_start(&x->timer, on_drained, 2000, 0);
}

static void on_fwd(uv_signal_t *h, int sig)
{
  struct sup_exec *x = h->data;
  if (x->pid > 0)
    kill(x->pid, sig); /* our child, not reaped yet */
}

static void on_winch(uv_signal_t *h, int sig)
{
  struct sup_exec *x = h->data;
  mtk_sup_winsize_copy(x->attach.in_fd >= 0 ? x->attach.in_fd : x->attach.out_fd, x->out[0].fd);
}

/* The runtime returned: the process runs (or could not be started). */
static void on_runtime_exit(void *data, pid_t rpid, int status)
{
  struct sup_exec *x = data;
  x->rpid = 0;
  int st = mtk_sup_exit_code(status);
  struct mtk_err *e = NULL;
  if (st != 0) {
    mtk_runtime_fail(x->rt, "exec", x->id, st, &e);
    x->exit_code = mtk_runtime_exit_code(e);
    if (x->exit_code == MTK_CTR_EXIT_RUN_ERROR)
      x->exit_code = MTK_CTR_EXIT_NOEXEC;
    mtk_strbuf_reset(&x->captured);
    mtk_strbuf_adds(&x->captured, e->msg);
    mtk_err_free(&e);
    x->exited = true;
    finish(x);
    return;
  }
  /* read only now: until the runtime succeeded, what the pipes hold is its
   * own error output, not the process's */
  for (int i = 0; i < 2; i++)
    if (x->out[i].fd >= 0)
      out_start(x, i, x->out[i].fd);
  if (x->tty) {
    int master = mtk_sup_console_recv(&x->con, &e);
    mtk_err_free(&e);
    if (master >= 0) {
      if (x->relay_stdin)
        x->stdin_w = fcntl(master, F_DUPFD_CLOEXEC, 3);
      out_start(x, 0, master);
      mtk_sup_winsize_copy(x->attach.in_fd >= 0 ? x->attach.in_fd : x->attach.out_fd, master);
      uv_signal_start(&x->winch, on_winch, SIGWINCH);
    }
  }
  mtk_sup_console_close(&x->con);
  if (x->attached && x->tty && mtk_sup_raw_enter(&x->raw, x->attach.in_fd, &e) < 0)
    mtk_err_free(&e);
  if (x->relay_stdin && x->stdin_w >= 0) {
    x->relay.data = x;
    x->relay.on_eof = relay_eof;
    x->relay.closed = relay_closed;
    x->handles += 2;
    x->relaying = mtk_sup_relay_start(&x->relay, x->sup->loop, x->attach.in_fd, x->stdin_w) == 0;
  }
  char buf[32] = {0};
  mtk_autoclose int fd = open(x->pid_file, O_RDONLY | O_CLOEXEC);
  x->pid = fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 ? (pid_t) strtol(buf, NULL, 10) : 0;
  if (x->pid <= 0) {
    x->exit_code = MTK_CTR_EXIT_NOEXEC;
    x->exited = true;
    finish(x);
    return;
  }
  mtk_sup_reaper_watch(&x->sup->reaper, x->pid, on_proc_exit, x);
  static const int fwd[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  if (x->attached && x->attach.sig_proxy && !x->tty)
    for (int i = 0; i < 4; i++)
      uv_signal_start(&x->fwd[i], on_fwd, fwd[i]);
}

/* ------------------------------------------------------------ the process */

/* env: the container's, then the exec's ("K=V" replaces K, "K" takes our
 * value or removes K when we have none, as docker exec -e). */
static json_t *exec_env(json_t *base, const struct mtk_sup_exec_opts *o, const char *home)
{
  json_t *env = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(base, i, v) json_array_append(env, v);
  for (size_t k = 0; k <= o->n_env; k++) {
    mtk_autofree char *kv = NULL;
    if (k < o->n_env) {
      const char *e = o->env[k];
      const char *eq = strchr(e, '=');
      const char *ours = eq ? NULL : getenv(e);
      kv = eq ? mtk_xstrdup(e) : ours ? mtk_xasprintf("%s=%s", e, ours) : mtk_xstrdup(e);
    } else if (home) {
      kv = mtk_xasprintf("HOME=%s", home);
    } else {
      break;
    }
    size_t klen = strcspn(kv, "=");
    for (i = json_array_size(env); i-- > 0;) {
      const char *have = json_string_value(json_array_get(env, i));
      if (have && strncmp(have, kv, klen) == 0 && (have[klen] == '=' || have[klen] == 0))
        json_array_remove(env, i);
    }
    if (kv[klen] == '=')
      json_array_append_new(env, json_string(kv));
  }
  return env;
}

static bool env_has(const struct mtk_sup_exec_opts *o, const char *key)
{
  size_t n = strlen(key);
  for (size_t i = 0; i < o->n_env; i++)
    if (strncmp(o->env[i], key, n) == 0 && (o->env[i][n] == '=' || o->env[i][n] == 0))
      return true;
  return false;
}

/* The process JSON: the container's process with the exec's changes. */
static json_t *exec_process(const char *bundle, const struct mtk_sup_exec_opts *o,
                            const struct mtk_sup_attach *attach, struct mtk_err **err)
{
  mtk_autofree char *cfg_path = mtk_xasprintf("%s/config.json", bundle);
  json_error_t je;
  json_t *spec = json_load_file(cfg_path, 0, &je);
  json_t *proc = json_object_get(spec, "process");
  if (!json_is_object(proc)) {
    json_decref(spec);
    mtk_err_set(err, ENOENT, "%s: %s", cfg_path, spec ? "no process" : je.text);
    return NULL;
  }
  proc = json_deep_copy(proc);
  json_decref(spec);
  json_t *args = json_array();
  for (size_t i = 0; i < o->n_cmd; i++)
    json_array_append_new(args, json_string(o->cmd[i]));
  json_object_set_new(proc, "args", args);
  struct mtk_oci_user u = {0};
  if (o->user && *o->user) {
    mtk_autofree char *rootfs = mtk_xasprintf("%s/rootfs", bundle);
    if (mtk_oci_user_resolve(rootfs, o->user, &u, err) < 0) {
      json_decref(proc);
      return NULL;
    }
    json_t *gids = json_array();
    for (size_t i = 0; i < u.n_additional_gids; i++)
      json_array_append_new(gids, json_integer(u.additional_gids[i]));
    json_t *user = json_pack("{s:I, s:I}", "uid", (json_int_t) u.uid, "gid", (json_int_t) u.gid);
    if (json_array_size(gids))
      json_object_set(user, "additionalGids", gids);
    json_decref(gids);
    json_object_set_new(proc, "user", user);
  }
  const char *home = u.home && !env_has(o, "HOME") ? u.home : NULL;
  json_object_set_new(proc, "env", exec_env(json_object_get(proc, "env"), o, home));
  mtk_oci_user_clear(&u);
  if (o->workdir && *o->workdir)
    json_object_set_new(proc, "cwd", json_string(o->workdir));
  json_object_set_new(proc, "terminal", json_boolean(o->tty));
  json_object_del(proc, "consoleSize");
  struct winsize ws;
  int term = attach ? (attach->in_fd >= 0 ? attach->in_fd : attach->out_fd) : -1;
  if (o->tty && term >= 0 && ioctl(term, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    json_object_set_new(proc, "consoleSize",
                        json_pack("{s:i, s:i}", "height", ws.ws_row, "width", ws.ws_col));
  if (o->privileged) {
    struct mtk_oci_run_opts ro = {.privileged = true};
    json_t *caps = mtk_oci_spec_caps(&ro, err);
    if (!caps) {
      json_decref(proc);
      return NULL;
    }
    json_object_set_new(
        proc, "capabilities",
        json_pack("{s:O, s:O, s:O}", "bounding", caps, "effective", caps, "permitted", caps));
    json_decref(caps);
  }
  return proc;
}

static char *rand_name(const char *bundle, const char *ext)
{
  unsigned char b[6];
  if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b))
    memset(b, 0, sizeof(b));
  return mtk_xasprintf("%s/exec-%02x%02x%02x%02x%02x%02x.%s", bundle, b[0], b[1], b[2], b[3], b[4],
                       b[5], ext);
}

/* The container as this exec needs it: running, its bundle and runtime. */
static int exec_target(struct mtk_sup *s, const char *ref, char id[MTK_CTR_ID_LEN + 1],
                       char **runtime, struct mtk_err **err)
{
  struct mtk_sup_ctr *c = mtk_sup_find(s, ref);
  mtk_autoptr(mtk_ctr) loaded = NULL;
  struct mtk_ctr *ctr = c ? c->ctr : NULL;
  if (!ctr) {
    if (mtk_ctr_load(s->root, s->runroot, ref, &loaded, err) < 0)
      return -1;
    ctr = loaded;
  }
  bool running = c ? c->phase == MTK_SUP_RUNNING : strcmp(mtk_ctr_status(ctr), "running") == 0;
  if (!running)
    return mtk_err_set(err, EINVAL, "container %s is not running", ctr->id);
  snprintf(id, MTK_CTR_ID_LEN + 1, "%s", ctr->id);
  const char *rt =
      json_string_value(json_object_get(json_object_get(ctr->config, "HostConfig"), "Runtime"));
  *runtime = rt && strcmp(rt, "runc") == 0 ? mtk_xstrdup(rt) : NULL;
  return 0;
}

/* stdio for the runtime; our read ends start once it returned. */
static int exec_stdio(struct sup_exec *x, const struct mtk_sup_exec_opts *o, int child[3],
                      struct mtk_err **err)
{
  child[0] = child[1] = child[2] = -1;
  bool in = x->attached && o->interactive && x->attach.in_fd >= 0;
  if (o->tty) {
    x->relay_stdin = in;
    return 0;
  }
  int p[2];
  for (int i = 1; i <= 2; i++) {
    if (pipe2(p, O_CLOEXEC) < 0)
      return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
    x->out[i - 1].fd = p[0];
    child[i] = p[1];
  }
  if (in && !mtk_sup_fd_pollable(x->attach.in_fd)) {
    child[0] = fcntl(x->attach.in_fd, F_DUPFD_CLOEXEC, 3);
  } else if (in) {
    if (pipe2(p, O_CLOEXEC) < 0)
      return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
    child[0] = p[0];
    x->stdin_w = p[1];
    x->relay_stdin = true;
  }
  return 0;
}

static int exec_spawn(struct sup_exec *x, const char *bundle, const struct mtk_sup_exec_opts *o,
                      struct mtk_err **err)
{
  int child[3];
  int rc = exec_stdio(x, o, child, err);
  if (rc == 0 && o->tty)
    rc = mtk_sup_console_open(&x->con, bundle, "exec-console.sock", err);
  if (rc == 0) {
    struct mtk_runtime_exec eo = {.process = x->process_file,
                                  .pid_file = x->pid_file,
                                  .console_socket = o->tty ? x->con.path : NULL,
                                  .detach = true,
                                  .tty = o->tty};
    struct mtk_runtime_io io = {child[0], child[1], child[2]};
    rc = x->rt->ops->exec(x->rt, x->id, &eo, &io, &x->rpid, err);
  }
  for (int i = 0; i < 3; i++)
    if (child[i] >= 0)
      close(child[i]);
  return rc;
}

static struct sup_exec *exec_new(struct mtk_sup *s, const struct mtk_sup_attach *attach,
                                 mtk_sup_exec_cb done, void *data)
{
  struct sup_exec *x = mtk_xcalloc(1, sizeof(*x));
  x->sup = s;
  x->done = done;
  x->data = data;
  x->stdin_w = -1;
  x->out[0].fd = x->out[1].fd = -1;
  x->raw.fd = -1;
  x->con.fd = -1;
  x->attached = attach != NULL;
  if (attach)
    x->attach = *attach;
  uv_timer_init(s->loop, &x->timer);
  x->timer.data = x;
  uv_signal_init(s->loop, &x->winch);
  x->winch.data = x;
  uv_unref((uv_handle_t *) &x->winch);
  for (int i = 0; i < 4; i++) {
    uv_signal_init(s->loop, &x->fwd[i]);
    x->fwd[i].data = x;
    uv_unref((uv_handle_t *) &x->fwd[i]);
  }
  x->handles = 6;
  s->n_execs++;
  return x;
}

int mtk_sup_exec(struct mtk_sup *s, const char *id, const struct mtk_sup_exec_opts *o,
                 const struct mtk_sup_attach *attach, mtk_sup_exec_cb done, void *data,
                 struct mtk_err **err)
{
  if (!o || o->n_cmd == 0)
    return mtk_err_set(err, EINVAL, "exec: no command given");
  char full[MTK_CTR_ID_LEN + 1];
  mtk_autofree char *rt_name = NULL;
  if (exec_target(s, id, full, &rt_name, err) < 0)
    return -1;
  mtk_autofree char *bundle = mtk_xasprintf("%s/containers/%s", s->runroot, full);
  json_t *proc = exec_process(bundle, o, attach, err);
  if (!proc)
    return -1;
  struct sup_exec *x = exec_new(s, attach, done, data);
  snprintf(x->id, sizeof(x->id), "%s", full);
  x->tty = o->tty;
  x->process_file = rand_name(bundle, "json");
  x->pid_file = rand_name(bundle, "pid");
  mtk_autofree char *text = json_dumps(proc, JSON_COMPACT);
  json_decref(proc);
  int rc = mtk_file_write_atomic(x->process_file, text, strlen(text), 0600, err);
  if (rc == 0 && !(x->rt = mtk_runtime_new(rt_name, s->runroot, err)))
    rc = -1;
  if (rc == 0) {
    mtk_autofree char *log = mtk_xasprintf("%s/runtime.log", bundle);
    mtk_runtime_set_log(x->rt, log);
    rc = exec_spawn(x, bundle, o, err);
  }
  if (rc < 0) {
    x->done = NULL; /* a failure to start is returned, not called back */
    x->exited = true;
    finish(x);
    return -1;
  }
  if (o->timeout > 0)
    uv_timer_start(&x->timer, on_timeout, (uint64_t) (o->timeout * 1000), 0);
  mtk_sup_reaper_watch(&s->reaper, x->rpid, on_runtime_exit, x);
  return 0;
}
