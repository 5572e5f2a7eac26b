/* The two ways a supervisor runs one container: the detached monitor of
 * `mtk container run -d` / `start` (conmon's process model: setsid, double
 * fork, stdio on /dev/null, oom_score_adj -1000, the start's outcome sent
 * back over a pipe, exits once the container is gone for good), and the
 * foreground loop of an attached `mtk container run`. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sup/internal.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/strbuf.h"

/* Runs the loop until nothing is left, frees the supervisor, closes. */
static void loop_finish(uv_loop_t *loop, struct mtk_sup *s)
{
  if (s) {
    uv_run(loop, UV_RUN_DEFAULT);
    mtk_sup_free(s);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
}

/* The outcome of the start as one JSON document. */
static void send_outcome(int fd, int rc, int exit_code, const struct mtk_err *e)
{
  json_t *o = json_pack("{s:i, s:i}", "rc", rc, "exit_code", exit_code);
  if (e) {
    json_object_set_new(o, "code", json_integer(e->code));
    json_object_set_new(o, "msg", json_string(e->msg ? e->msg : ""));
    if (e->hint)
      json_object_set_new(o, "hint", json_string(e->hint));
  }
  mtk_autofree char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (text && mtk_file_write_all(fd, text, strlen(text)) < 0) {
    /* the caller is gone: nobody to tell */
  }
}

/* The process state of a monitor: nothing inherited from the CLI but the
 * outcome pipe (moved to fd 3). */
static int monitor_setup(int pipe_fd)
{
  sigset_t none;
  sigemptyset(&none);
  for (int sig = 1; sig < NSIG; sig++)
    signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (chdir("/") < 0)
    return -1;
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
    return -1;
  if (pipe_fd != 3 && dup2(pipe_fd, 3) < 0)
    return -1;
  fcntl(3, F_SETFD, FD_CLOEXEC);
  syscall(SYS_close_range, 4U, ~0U, 0);
  int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (adj >= 0) {
    if (write(adj, "-1000", 5) < 0) {
      /* not permitted (no CAP_SYS_RESOURCE): the monitor runs at the default */
    }
    close(adj);
  }
  prctl(PR_SET_NAME, "mtk-monitor");
  return 0;
}

/* The monitor process: starts the container, reports, supervises. */
static int monitor_main(const char *root, const char *runroot, const char *id, int pipe_fd)
{
  if (monitor_setup(pipe_fd) < 0) {
    struct mtk_err *e = NULL;
    mtk_err_set(&e, errno, "setting up the monitor: %s", strerror(errno));
    send_outcome(pipe_fd, -1, MTK_CTR_EXIT_RUN_ERROR, e);
    mtk_err_free(&e);
    return 1;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct mtk_err *e = NULL;
  int code = MTK_CTR_EXIT_RUN_ERROR;
  struct mtk_sup *s = mtk_sup_new(&loop, root, runroot, &e);
  int rc = s ? mtk_sup_start(s, id, NULL, NULL, &code, &e) : -1;
  send_outcome(3, rc, code, e);
  close(3);
  mtk_err_free(&e);
  /* the CLI's heap came along with the fork: give back what is free */
  malloc_trim(0);
  loop_finish(&loop, s);
  return rc < 0 ? 1 : 0;
}

/* Reads the outcome document until EOF (the monitor closed its end, or
 * died). */
static int read_outcome(int fd, int *exit_code, struct mtk_err **err)
{
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      mtk_strbuf_add(&sb, buf, (size_t) n);
  json_t *o = sb.len ? json_loads(sb.buf, 0, NULL) : NULL;
  mtk_strbuf_free(&sb);
  if (!o)
    return mtk_err_set(err, EIO, "the container's monitor exited without reporting the start");
  *exit_code = (int) json_integer_value(json_object_get(o, "exit_code"));
  int rc = (int) json_integer_value(json_object_get(o, "rc"));
  if (rc < 0) {
    json_t *code = json_object_get(o, "code");
    mtk_err_set(err, json_is_integer(code) ? (int) json_integer_value(code) : MTK_E_GENERIC, "%s",
                json_string_value(json_object_get(o, "msg")) ?: "the start failed");
    const char *hint = json_string_value(json_object_get(o, "hint"));
    if (hint)
      mtk_err_hint(err, "%s", hint);
    rc = -1;
  }
  json_decref(o);
  return rc;
}

int mtk_sup_spawn_monitor(const char *root, const char *runroot, const char *id, int *exit_code,
                          struct mtk_err **err)
{
  *exit_code = MTK_CTR_EXIT_RUN_ERROR;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return mtk_err_set(err, e, "fork: %s", strerror(e));
  }
  if (pid == 0) {
    /* the intermediate child: a new session, then the monitor as its child,
     * so that the monitor is re-parented to init (or our subreaper) and is
     * no session leader (it can never get a controlling terminal) */
    close(p[0]);
    if (setsid() < 0)
      _exit(1);
    pid_t m = fork();
    if (m == 0)
      _exit(monitor_main(root, runroot, id, p[1]));
    _exit(m < 0 ? 1 : 0);
  }
  close(p[1]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  int rc = read_outcome(p[0], exit_code, err);
  close(p[0]);
  return rc;
}

static void on_attached_exit(void *data, const char *id, int exit_code, bool oom, bool restarting)
{
  *(int *) data = exit_code;
}

int mtk_sup_run_attached(const char *root, const char *runroot, const char *id, int *exit_code,
                         struct mtk_err **err)
{
  *exit_code = MTK_CTR_EXIT_RUN_ERROR;
  uv_loop_t loop;
  if (uv_loop_init(&loop) < 0)
    return mtk_err_set(err, ENOMEM, "uv_loop_init failed");
  struct mtk_sup *s = mtk_sup_new(&loop, root, runroot, err);
  if (!s) {
    loop_finish(&loop, NULL);
    return -1;
  }
  struct mtk_sup_attach at = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, true};
  int code = MTK_CTR_EXIT_RUN_ERROR;
  struct mtk_sup_cbs cbs = {.on_exit = on_attached_exit, .data = &code};
  int rc = mtk_sup_start(s, id, &at, &cbs, exit_code, err);
  loop_finish(&loop, s);
  if (rc == 0)
    *exit_code = code;
  return rc;
}
