/* The project supervisor: one libuv loop (src/sup/) for the containers of a
 * project that `up` starts: depends_on gating, health checks through exec,
 * prefixed logs, Ctrl-C, abort-on-exit, and the detached mode (a forked
 * supervisor that tells the CLI over a pipe when everything is started). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "orch/orch.h"
#include "runtime/container.h"
#include "sup/sup.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/strbuf.h"

enum mstate { M_WAITING, M_RUNNING, M_EXITED, M_FAILED };

struct member {
  struct super *s;
  char id[MTK_CTR_ID_LEN + 1];
  char *service, *name;
  enum mstate st;
  bool started_once, healthy, unhealthy, checking, restarting;
  int exit_code, failing, colour;
  /* health check (ns; Test as given) */
  json_t *test;
  int64_t interval, timeout, start_period, start_interval, started_ns;
  int retries;
  uv_timer_t timer;
  bool timer_init;
};

struct super {
  uv_loop_t *loop;
  struct mtk_sup *sup;
  const char *root, *runroot, *project;
  const json_t *services;
  const struct mtk_orch_up_opts *o;
  struct member **m; /* pointers: members are added while the loop runs (control socket) */
  size_t n;
  int width;
  uv_signal_t sigint, sigterm;
  bool signals_init;
  int interrupts;
  bool aborting;
  int exit_code;
  struct mtk_err *failure; /* the first dependency or start failure */
  int notify_fd;           /* detached: the pipe to the CLI, -1 once told */
  json_t *capture;         /* progress lines of a control "start" request, or NULL */
  uv_pipe_t ctl;           /* the control socket <runroot>/projects/<name>/supervisor.sock */
  bool ctl_init;
  char *ctl_path;
};

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------ logs */

static const int colours[] = {36, 33, 32, 35, 34, 96, 93, 92, 95, 94};

static struct member *find(struct super *s, const char *id)
{
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->m[i]->id, id) == 0)
      return s->m[i];
  return NULL;
}

/* One whole line, prefixed "name  | " (one write, so lines never mix). */
static void on_line(void *data, const char *id, int stream, const char *line, size_t len)
{
  struct super *s = data;
  struct member *m = find(s, id);
  if (!m || s->o->detach)
    return;
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  if (!s->o->no_log_prefix) {
    if (s->o->color)
      mtk_strbuf_addf(&sb, "\033[%dm%-*s |\033[0m ", m->colour, s->width, m->name);
    else
      mtk_strbuf_addf(&sb, "%-*s | ", s->width, m->name);
  }
  if (s->o->timestamps) {
    char ts[40];
    mtk_ctr_timestamp(ts);
    mtk_strbuf_addf(&sb, "%s ", ts);
  }
  mtk_strbuf_add(&sb, line, len);
  mtk_strbuf_addc(&sb, '\n');
  (void) stream;
  fwrite(sb.buf, 1, sb.len, stdout);
  fflush(stdout);
  mtk_strbuf_free(&sb);
}

/* A progress line as docker compose prints them: " ✔ Container x  Started"
 * (to the terminal, or for a detached supervisor through the pipe to the
 * CLI that waits for the start). */
static void progress(struct super *s, const char *name, const char *what)
{
  bool done = strcmp(what, "Starting") != 0;
  const char *mark = !done ? " " : s->o->color ? "\033[32m\u2714\033[0m" : "\u2714";
  if (s->capture) {
    json_array_append_new(s->capture,
                          json_sprintf(" %s Container %s  %s", done ? "\u2714" : " ", name, what));
    return;
  }
  if (s->o->detach) {
    if (s->notify_fd < 0)
      return;
    mtk_autofree char *line = mtk_xasprintf("P  %s Container %s  %s\n", mark, name, what);
    if (write(s->notify_fd, line, strlen(line)) < 0) {
      /* the CLI is gone */
    }
    return;
  }
  fprintf(stderr, " %s Container %s  %s\n", mark, name, what);
}

/* ---------------------------------------------------------------- gating */

static void fail(struct super *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct super *s, const char *fmt, ...)
{
  if (s->failure)
    return;
  va_list ap;
  va_start(ap, fmt);
  mtk_err_setv(&s->failure, MTK_E_GENERIC, fmt, ap);
  va_end(ap);
}

/* 1 ready, 0 not yet, -1 never (s->failure set). */
static int deps_ready(struct super *s, const struct member *m)
{
  const json_t *deps = json_object_get(json_object_get(s->services, m->service), "depends_on");
  const char *dep;
  json_t *v;
  json_object_foreach((json_t *) deps, dep, v)
  {
    const char *cond = json_string_value(json_object_get(v, "condition"));
    if (!cond)
      cond = "service_started";
    for (size_t i = 0; i < s->n; i++) {
      struct member *d = s->m[i];
      if (strcmp(d->service, dep) != 0)
        continue;
      if (d->st == M_FAILED) {
        fail(s, "dependency failed to start: container %s could not start", d->name);
        return -1;
      }
      if (strcmp(cond, "service_healthy") == 0) {
        if (d->unhealthy) {
          fail(s, "dependency failed to start: container %s is unhealthy", d->name);
          return -1;
        }
        if (!d->healthy)
          return 0;
      } else if (strcmp(cond, "service_completed_successfully") == 0) {
        if (d->st != M_EXITED)
          return 0;
        if (d->exit_code != 0) {
          fail(s, "service \"%s\" didn't complete successfully: exit %d", d->service, d->exit_code);
          return -1;
        }
      } else if (!d->started_once) {
        return 0;
      }
    }
  }
  return 1;
}

static void health_arm(struct member *m);
static void member_exited(void *data, const char *id, int exit_code, bool oom, bool restarting);

static void start_member(struct super *s, struct member *m)
{
  int code = 0;
  struct mtk_err *e = NULL;
  struct mtk_sup_cbs cbs = {.on_line = on_line, .on_exit = member_exited, .data = s};
  progress(s, m->name, "Starting");
  if (mtk_sup_start(s->sup, m->id, NULL, &cbs, &code, &e) < 0) {
    m->st = M_FAILED;
    m->exit_code = code;
    if (!s->failure) {
      s->failure = e;
      mtk_err_wrap(&s->failure, "container %s", m->name);
    } else {
      mtk_err_free(&e);
    }
    return;
  }
  m->st = M_RUNNING;
  m->started_once = true;
  m->started_ns = now_ns();
  progress(s, m->name, "Started");
  if (m->test)
    health_arm(m);
  else
    m->healthy = false;
}

static void stop_all(struct super *s, int timeout);

/* Starts what may start; tells a waiting CLI once nothing waits. */
static void advance(struct super *s)
{
  bool again = true;
  while (again && !s->aborting) {
    again = false;
    for (size_t i = 0; i < s->n; i++) {
      struct member *m = s->m[i];
      if (m->st != M_WAITING)
        continue;
      int r = deps_ready(s, m);
      if (r < 0) {
        m->st = M_FAILED;
        continue;
      }
      if (r == 1) {
        start_member(s, m);
        again = true;
      }
    }
  }
  bool waiting = false;
  for (size_t i = 0; i < s->n; i++)
    waiting |= s->m[i]->st == M_WAITING;
  if (s->failure && !s->aborting && !s->o->detach) {
    s->exit_code = 1;
    stop_all(s, s->o->timeout);
  }
  if (!waiting && s->notify_fd >= 0) {
    mtk_autofree char *msg = s->failure ? mtk_err_format(s->failure) : NULL;
    mtk_autofree char *line =
        msg ? mtk_xasprintf("ERR %d %s\n", s->failure->code, msg) : mtk_xstrdup("OK\n");
    if (write(s->notify_fd, line, strlen(line)) < 0) {
      /* the CLI is gone: keep supervising */
    }
    close(s->notify_fd);
    s->notify_fd = -1;
  }
}

/* -------------------------------------------------------------- health */

static void save_health(struct member *m, const char *status, int code, const char *out, size_t len)
{
  mtk_autoptr(mtk_ctr) c = NULL;
  struct mtk_err *e = NULL;
  if (mtk_ctr_load(m->s->root, m->s->runroot, m->id, &c, &e) < 0) {
    mtk_err_free(&e);
    return;
  }
  json_t *h = json_object_get(c->state, "Health");
  if (!h) {
    h = json_pack("{s:s, s:i, s:[]}", "Status", status, "FailingStreak", 0, "Log");
    json_object_set_new(c->state, "Health", h);
  }
  json_object_set_new(h, "Status", json_string(status));
  json_object_set_new(h, "FailingStreak", json_integer(m->failing));
  char ts[40];
  mtk_ctr_timestamp(ts);
  json_t *log = json_object_get(h, "Log");
  json_array_append_new(log, json_pack("{s:s, s:s, s:i, s:s%}", "Start", ts, "End", ts, "ExitCode",
                                       code, "Output", out ? out : "", len));
  while (json_array_size(log) > 5)
    json_array_remove(log, 0);
  if (mtk_ctr_save_state(m->s->root, c, &e) < 0)
    mtk_err_free(&e);
}

static void health_done(void *data, int exit_code, const char *out, size_t len)
{
  struct member *m = data;
  m->checking = false;
  if (m->st != M_RUNNING)
    return;
  bool in_start = now_ns() - m->started_ns < m->start_period;
  if (exit_code == 0) {
    m->failing = 0;
    if (!m->healthy)
      progress(m->s, m->name, "Healthy");
    m->healthy = true;
    m->unhealthy = false;
    save_health(m, "healthy", exit_code, out, len);
  } else if (!in_start) {
    m->failing++;
    if (m->failing >= m->retries) {
      m->healthy = false;
      m->unhealthy = true;
    }
    save_health(m, m->unhealthy ? "unhealthy" : "starting", exit_code, out, len);
  }
  advance(m->s);
  health_arm(m);
}

static void health_tick(uv_timer_t *t)
{
  struct member *m = t->data;
  if (m->st != M_RUNNING || m->checking)
    return;
  const char *kind = json_string_value(json_array_get(m->test, 0));
  const char *argv_sh[3] = {"/bin/sh", "-c", NULL};
  const char **argv;
  size_t n;
  mtk_autofree const char **list = NULL;
  if (kind && strcmp(kind, "CMD-SHELL") == 0) {
    argv_sh[2] = json_string_value(json_array_get(m->test, 1));
    argv = argv_sh;
    n = 3;
  } else {
    n = json_array_size(m->test) - 1;
    list = mtk_xcalloc(n + 1, sizeof(*list));
    for (size_t i = 0; i < n; i++)
      list[i] = json_string_value(json_array_get(m->test, i + 1));
    argv = list;
  }
  struct mtk_sup_exec_opts eo = {.cmd = argv, .n_cmd = n, .timeout = (double) m->timeout / 1e9};
  struct mtk_err *e = NULL;
  m->checking = true;
  if (mtk_sup_exec(m->s->sup, m->id, &eo, NULL, health_done, m, &e) < 0) {
    mtk_err_free(&e);
    m->checking = false;
    health_done(m, 1, "exec failed", 11);
  }
}

static void health_arm(struct member *m)
{
  if (!m->timer_init) {
    uv_timer_init(m->s->loop, &m->timer);
    m->timer.data = m;
    m->timer_init = true;
  }
  bool in_start = now_ns() - m->started_ns < m->start_period;
  int64_t wait = in_start && m->start_interval ? m->start_interval : m->interval;
  if (!m->healthy && !m->failing && !m->checking && m->started_ns && wait > 1000000000)
    wait = 1000000000; /* the first check comes soon, as docker's first probe after ~interval */
  uv_timer_start(&m->timer, health_tick, (uint64_t) (wait / 1000000), 0);
}

/* The healthcheck of a container's config (Config.Healthcheck), Docker's
 * defaults for what is unset: interval 30 s, timeout 30 s, retries 3. */
static void health_setup(struct member *m, const json_t *cfg)
{
  const json_t *hc = json_object_get(json_object_get(cfg, "Config"), "Healthcheck");
  const json_t *test = json_object_get(hc, "Test");
  const char *kind = json_string_value(json_array_get(test, 0));
  if (!kind || strcmp(kind, "NONE") == 0 || json_array_size(test) < 2)
    return;
  m->test = json_incref((json_t *) test);
  m->interval = json_integer_value(json_object_get(hc, "Interval"));
  m->timeout = json_integer_value(json_object_get(hc, "Timeout"));
  m->start_period = json_integer_value(json_object_get(hc, "StartPeriod"));
  m->start_interval = json_integer_value(json_object_get(hc, "StartInterval"));
  m->retries = (int) json_integer_value(json_object_get(hc, "Retries"));
  if (m->interval <= 0)
    m->interval = 30000000000LL;
  if (m->timeout <= 0)
    m->timeout = 30000000000LL;
  if (m->start_interval <= 0)
    m->start_interval = 5000000000LL;
  if (m->retries <= 0)
    m->retries = 3;
}

/* ------------------------------------------------------------ exits */

static bool all_done(const struct super *s)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->m[i]->st == M_RUNNING || (s->m[i]->st == M_WAITING && !s->aborting && !s->failure))
      return false;
  return true;
}

static void close_cb(uv_handle_t *h)
{
  (void) h;
}

static void finish(struct super *s)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->m[i]->timer_init && !uv_is_closing((uv_handle_t *) &s->m[i]->timer))
      uv_close((uv_handle_t *) &s->m[i]->timer, close_cb);
  if (s->ctl_init) {
    uv_close((uv_handle_t *) &s->ctl, close_cb);
    s->ctl_init = false;
    unlink(s->ctl_path);
  }
  if (s->signals_init) {
    uv_close((uv_handle_t *) &s->sigint, close_cb);
    uv_close((uv_handle_t *) &s->sigterm, close_cb);
    s->signals_init = false;
  }
  uv_stop(s->loop);
}

static void member_exited(void *data, const char *id, int exit_code, bool oom, bool restarting)
{
  struct super *s = data;
  struct member *m = find(s, id);
  if (!m)
    return;
  m->restarting = restarting;
  m->healthy = false;
  if (restarting)
    return;
  m->st = M_EXITED;
  m->exit_code = exit_code;
  if (m->timer_init)
    uv_timer_stop(&m->timer);
  if (!s->o->detach && !s->aborting)
    fprintf(stdout, "%s exited with code %d%s\n", m->name, exit_code,
            oom ? " (out of memory)" : "");
  fflush(stdout);
  if (s->o->exit_code_from && strcmp(s->o->exit_code_from, m->service) == 0)
    s->exit_code = exit_code;
  if ((s->o->abort_on_exit || s->o->exit_code_from) && !s->aborting) {
    if (!s->o->exit_code_from)
      s->exit_code = exit_code;
    if (!s->o->detach)
      fprintf(stdout, "Aborting on container exit...\n");
    stop_all(s, s->o->timeout);
  }
  advance(s);
  if (all_done(s) && !(s->o->detach && s->notify_fd >= 0))
    finish(s);
}

static void stopped(void *data, const char *id, int exit_code, bool not_caught, bool killed)
{
  struct super *s = data;
  struct member *m = find(s, id);
  if (!m || s->o->detach)
    return;
  (void) exit_code;
  (void) killed;
  if (not_caught)
    fprintf(stderr,
            " ! Container %s: PID 1 does not handle its stop signal: killed at once "
            "(use init: true or stop_signal)\n",
            m->name);
}

static void stop_all(struct super *s, int timeout)
{
  s->aborting = true;
  for (size_t i = 0; i < s->n; i++) {
    struct member *m = s->m[i];
    if (m->st == M_WAITING)
      m->st = M_EXITED;
    if (m->st != M_RUNNING)
      continue;
    struct mtk_err *e = NULL;
    if (mtk_sup_stop(s->sup, m->id, 0, timeout, stopped, s, &e) < 0)
      mtk_err_free(&e);
  }
  if (all_done(s))
    finish(s);
}

static void on_signal(uv_signal_t *h, int sig)
{
  struct super *s = h->data;
  (void) sig;
  if (++s->interrupts == 1) {
    fprintf(stderr, "Gracefully stopping... (press Ctrl+C again to force)\n");
    s->exit_code = 130;
    stop_all(s, s->o->timeout);
  } else {
    fprintf(stderr, "Killing...\n");
    stop_all(s, 0);
  }
}

static int load_members(struct super *s, const char *const *ids, size_t n, struct mtk_err **err);

/* ------------------------------------------------------- control socket */

/* One request per connection: a JSON line in, a JSON line out.
 *   {"cmd": "ping"}                 -> {"ok": true, "pid": N}
 *   {"cmd": "ps"}                   -> {"ok": true, "containers": [{Id, Name, Service, State,
 *                                       Health, ExitCode}]}
 *   {"cmd": "start", "ids": [...]}  -> {"ok": true|false, "progress": [...], "error": "..."}
 * "start" adds containers of the project (a second `up -d`) and starts them
 * as their dependencies allow. */
struct ctl_conn {
  uv_pipe_t pipe;
  struct super *s;
  struct mtk_strbuf in;
  uv_write_t w;
  char *out;
};

static void conn_closed(uv_handle_t *h)
{
  struct ctl_conn *c = h->data;
  mtk_strbuf_free(&c->in);
  free(c->out);
  free(c);
}

static void conn_written(uv_write_t *w, int status)
{
  (void) status;
  struct ctl_conn *c = w->data;
  uv_close((uv_handle_t *) &c->pipe, conn_closed);
}

static const char *state_name(const struct member *m)
{
  static const char *names[] = {"waiting", "running", "exited", "failed"};
  return m->restarting ? "restarting" : names[m->st];
}

static json_t *ctl_handle(struct super *s, const json_t *req)
{
  const char *cmd = json_string_value(json_object_get(req, "cmd"));
  if (cmd && strcmp(cmd, "ping") == 0)
    return json_pack("{s:b, s:i}", "ok", 1, "pid", (int) getpid());
  if (cmd && strcmp(cmd, "ps") == 0) {
    json_t *list = json_array();
    for (size_t i = 0; i < s->n; i++) {
      struct member *m = s->m[i];
      json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "Id", m->id, "Name",
                                            m->name, "Service", m->service, "State", state_name(m),
                                            "Health",
                                            !m->test       ? "none"
                                            : m->healthy   ? "healthy"
                                            : m->unhealthy ? "unhealthy"
                                                           : "starting",
                                            "ExitCode", m->exit_code));
    }
    return json_pack("{s:b, s:o}", "ok", 1, "containers", list);
  }
  if (cmd && strcmp(cmd, "start") == 0 && !s->aborting) {
    const json_t *ids = json_object_get(req, "ids");
    size_t n = json_array_size(ids);
    const char **v = mtk_xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
      v[i] = json_string_value(json_array_get(ids, i)) ?: "";
    struct mtk_err *e = NULL, *before = s->failure;
    s->failure = NULL;
    s->capture = json_array();
    if (load_members(s, v, n, &e) == 0)
      advance(s);
    free(v);
    json_t *progress = s->capture;
    s->capture = NULL;
    if (!e)
      e = s->failure;
    else
      mtk_err_free(&s->failure);
    s->failure = before;
    json_t *resp = json_pack("{s:b, s:o}", "ok", e == NULL, "progress", progress);
    if (e) {
      mtk_autofree char *t = mtk_err_format(e);
      json_object_set_new(resp, "error", json_string(t));
      json_object_set_new(resp, "code", json_integer(e->code));
      mtk_err_free(&e);
    }
    return resp;
  }
  return json_pack("{s:b, s:s}", "ok", 0, "error", "unknown or refused command");
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  (void) h;
  (void) hint;
  static char chunk[4096];
  buf->base = chunk;
  buf->len = sizeof(chunk);
}

static void conn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
  struct ctl_conn *c = st->data;
  if (nread > 0)
    mtk_strbuf_add(&c->in, buf->base, (size_t) nread);
  bool line = c->in.buf && memchr(c->in.buf, '\n', c->in.len);
  if (nread >= 0 && !line && c->in.len < 65536)
    return;
  uv_read_stop(st);
  json_t *req = line ? json_loadb(c->in.buf, c->in.len, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
  json_t *resp =
      req ? ctl_handle(c->s, req) : json_pack("{s:b, s:s}", "ok", 0, "error", "bad request");
  json_decref(req);
  char *text = json_dumps(resp, JSON_COMPACT);
  json_decref(resp);
  c->out = mtk_xasprintf("%s\n", text ? text : "{}");
  free(text);
  uv_buf_t b = uv_buf_init(c->out, (unsigned) strlen(c->out));
  c->w.data = c;
  if (uv_write(&c->w, st, &b, 1, conn_written) != 0)
    uv_close((uv_handle_t *) &c->pipe, conn_closed);
}

static void ctl_connection(uv_stream_t *server, int status)
{
  struct super *s = server->data;
  if (status < 0)
    return;
  struct ctl_conn *c = mtk_xcalloc(1, sizeof(*c));
  c->s = s;
  uv_pipe_init(s->loop, &c->pipe, 0);
  c->pipe.data = c;
  if (uv_accept(server, (uv_stream_t *) &c->pipe) != 0 ||
      uv_read_start((uv_stream_t *) &c->pipe, conn_alloc, conn_read) != 0)
    uv_close((uv_handle_t *) &c->pipe, conn_closed);
}

/* Listens on <runroot>/projects/<project>/supervisor.sock (a stale one is
 * replaced); without it the supervisor still works, so errors are quiet. */
static void ctl_listen(struct super *s, const char *project)
{
  mtk_autofree char *projects = mtk_xasprintf("%s/projects", s->runroot);
  mtk_autofree char *dir = mtk_xasprintf("%s/%s", projects, project);
  mkdir(s->runroot, 0700);
  mkdir(projects, 0700);
  mkdir(dir, 0700);
  s->ctl_path = mtk_xasprintf("%s/supervisor.sock", dir);
  if (strlen(s->ctl_path) >= 100)
    return;
  unlink(s->ctl_path);
  uv_pipe_init(s->loop, &s->ctl, 0);
  s->ctl.data = s;
  s->ctl_init = true;
  if (uv_pipe_bind(&s->ctl, s->ctl_path) != 0 ||
      uv_listen((uv_stream_t *) &s->ctl, 16, ctl_connection) != 0) {
    uv_close((uv_handle_t *) &s->ctl, close_cb);
    s->ctl_init = false;
    return;
  }
  chmod(s->ctl_path, 0600);
}

int mtk_orch_sup_call(const char *runroot, const char *project, const json_t *req, json_t **resp,
                      struct mtk_err **err)
{
  *resp = NULL;
  mtk_autofree char *path = mtk_xasprintf("%s/projects/%s/supervisor.sock", runroot, project);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path))
    return mtk_err_set(err, ENAMETOOLONG, "%s: path too long", path);
  memcpy(sa.sun_path, path, strlen(path) + 1);
  mtk_autoclose int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
    return mtk_err_set(err, errno, "no supervisor for project %s: %s", project, strerror(errno));
  mtk_autofree char *text = json_dumps(req, JSON_COMPACT);
  mtk_autofree char *line = mtk_xasprintf("%s\n", text);
  if (mtk_file_write_all(fd, line, strlen(line)) < 0)
    return mtk_err_set(err, errno, "writing to the supervisor: %s", strerror(errno));
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  char buf[4096];
  ssize_t r;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (poll(&p, 1, 60000) > 0 &&
         ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)))
    if (r > 0)
      mtk_strbuf_add(&sb, buf, (size_t) r);
  *resp = sb.buf ? json_loadb(sb.buf, sb.len, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
  mtk_strbuf_free(&sb);
  if (!*resp)
    return mtk_err_set(err, EIO, "the supervisor of project %s did not answer", project);
  return 0;
}

/* ------------------------------------------------------------- the loop */

/* Adds the containers not supervised yet (in any order; advance() starts
 * them when their dependencies allow).  Members are never moved: timers
 * point at them. */
static int load_members(struct super *s, const char *const *ids, size_t n, struct mtk_err **err)
{
  s->m = mtk_xrealloc(s->m, (s->n + n + 1) * sizeof(*s->m));
  for (size_t i = 0; i < n; i++) {
    mtk_autoptr(mtk_ctr) c = NULL;
    if (mtk_ctr_load(s->root, s->runroot, ids[i], &c, err) < 0)
      return -1;
    if (find(s, c->id))
      continue;
    struct member *m = mtk_xcalloc(1, sizeof(*m));
    s->m[s->n++] = m;
    m->s = s;
    snprintf(m->id, sizeof(m->id), "%s", c->id);
    m->name = mtk_xstrdup(c->name);
    const char *svc = mtk_orch_ctr_label(c, MTK_LABEL_SERVICE);
    m->service = mtk_xstrdup(svc ? svc : c->name);
    health_setup(m, c->config);
    int w = (int) strlen(m->name);
    if (w > s->width)
      s->width = w;
    /* one colour per service, stable: by the order of the services */
    const char *key;
    json_t *v;
    int k = 0;
    json_object_foreach((json_t *) s->services, key, v)
    {
      if (strcmp(m->service, key) == 0)
        m->colour = colours[k % (int) (sizeof(colours) / sizeof(*colours))];
      k++;
    }
  }
  return 0;
}

static void free_members(struct super *s)
{
  for (size_t i = 0; i < s->n; i++) {
    free(s->m[i]->service);
    free(s->m[i]->name);
    json_decref(s->m[i]->test);
    free(s->m[i]);
  }
  free(s->m);
}

/* Runs the loop in this process until everything is done. */
static int run_loop(struct super *s, const char *const *ids, size_t n, int *exit_code,
                    struct mtk_err **err)
{
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0)
    return mtk_err_set(err, MTK_E_GENERIC, "cannot initialise the event loop");
  s->loop = &loop;
  int rc = load_members(s, ids, n, err);
  if (rc == 0 && !(s->sup = mtk_sup_new(&loop, s->root, s->runroot, err)))
    rc = -1;
  if (rc == 0) {
    if (!s->o->detach) {
      uv_signal_init(&loop, &s->sigint);
      uv_signal_init(&loop, &s->sigterm);
      s->sigint.data = s->sigterm.data = s;
      uv_signal_start(&s->sigint, on_signal, SIGINT);
      uv_signal_start(&s->sigterm, on_signal, SIGTERM);
      s->signals_init = true;
    }
    ctl_listen(s, s->project);
    advance(s);
    if (!all_done(s))
      uv_run(&loop, UV_RUN_DEFAULT);
    else
      finish(s);
    uv_run(&loop, UV_RUN_NOWAIT); /* the close callbacks */
    mtk_sup_free(s->sup);
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  if (uv_loop_close(&loop) != 0)
    uv_run(&loop, UV_RUN_NOWAIT);
  free_members(s);
  free(s->ctl_path);
  if (rc == 0 && s->failure) {
    *err = s->failure;
    s->failure = NULL;
    rc = -1;
  }
  mtk_err_free(&s->failure);
  *exit_code = s->exit_code;
  return rc;
}

/* Detached: the grandchild supervises; the CLI reads one line. */
static int run_detached(struct super *s, const struct mtk_project *p, const char *const *ids,
                        size_t n, struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_xasprintf("%s/projects/%s", s->runroot, p->name);
  mtk_autofree char *projects = mtk_xasprintf("%s/projects", s->runroot);
  mkdir(s->runroot, 0700);
  mkdir(projects, 0700);
  mkdir(dir, 0700);
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    return mtk_err_set(err, errno, "fork: %s", strerror(errno));
  if (pid == 0) {
    close(pfd[0]);
    setsid();
    if (fork() != 0)
      _exit(0);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    mtk_autofree char *logp = mtk_xasprintf("%s/supervisor.log", dir);
    int log = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    dup2(null, 0);
    dup2(null, 1);
    dup2(log >= 0 ? log : null, 2);
    mtk_autofree char *pidp = mtk_xasprintf("%s/supervisor.pid", dir);
    FILE *f = fopen(pidp, "we");
    if (f) {
      fprintf(f, "%d\n", (int) getpid());
      fclose(f);
    }
    s->notify_fd = pfd[1];
    int code = 0;
    struct mtk_err *e = NULL;
    if (run_loop(s, ids, n, &code, &e) < 0) {
      mtk_autofree char *t = mtk_err_format(e);
      fprintf(stderr, "supervisor: %s\n", t);
      mtk_err_free(&e);
    }
    unlink(pidp);
    _exit(0);
  }
  close(pfd[1]);
  waitpid(pid, NULL, 0);
  /* "P text" lines are progress, printed as they come; the last line is
   * "OK" or "ERR code message" */
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  char buf[512];
  ssize_t r;
  while ((r = read(pfd[0], buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)) {
    if (r <= 0)
      continue;
    mtk_strbuf_add(&sb, buf, (size_t) r);
    char *nl;
    while (sb.buf && strncmp(sb.buf, "P ", 2) == 0 && (nl = strchr(sb.buf, '\n'))) {
      fwrite(sb.buf + 2, 1, (size_t) (nl - sb.buf) - 1, stderr);
      size_t used = (size_t) (nl - sb.buf) + 1;
      memmove(sb.buf, sb.buf + used, sb.len - used + 1);
      sb.len -= used;
    }
  }
  close(pfd[0]);
  int rc = 0;
  if (!sb.buf || strncmp(sb.buf, "OK", 2) != 0) {
    int code = MTK_E_GENERIC;
    const char *msg = "the supervisor exited before the services were started";
    if (sb.buf && strncmp(sb.buf, "ERR ", 4) == 0) {
      char *end;
      code = (int) strtol(sb.buf + 4, &end, 10);
      msg = end + 1;
      sb.buf[strcspn(sb.buf, "\n")] = 0;
    }
    rc = mtk_err_set(err, code ? code : MTK_E_GENERIC, "%s", msg);
  }
  mtk_strbuf_free(&sb);
  return rc;
}

int mtk_orch_supervise(const char *root, const char *runroot, const struct mtk_project *p,
                       const char *const *ids, size_t n_ids, const struct mtk_orch_up_opts *o,
                       int *exit_code, struct mtk_err **err)
{
  struct super s = {
      .root = root,
      .runroot = runroot,
      .project = p->name,
      .services = json_object_get(p->model, "services"),
      .o = o,
      .notify_fd = -1,
  };
  *exit_code = 0;
  if (o->detach)
    return run_detached(&s, p, ids, n_ids, err);
  return run_loop(&s, ids, n_ids, exit_code, err);
}
