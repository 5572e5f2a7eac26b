/* Terminals for attached containers and execs: the console socket on which
 * the runtime hands over the pty master (SCM_RIGHTS), raw mode on our own
 * terminal (always restored), the window size, and the bounded relay from
 * our stdin to the container's stdin or pty. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sup/internal.h"
#include "util/cleanup.h"

int mtk_sup_console_open(struct mtk_sup_console *c, const char *dir, const char *name,
                         struct mtk_err **err)
{
  *c = (struct mtk_sup_console){.fd = -1};
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  c->path = mtk_xasprintf("%s/%s", dir, name);
  if (strlen(c->path) >= sizeof(sa.sun_path)) {
    /* sun_path holds 108 bytes: a long runroot gets a private dir in /tmp */
    char tmpl[] = "/tmp/mtk-console-XXXXXX";
    if (!mkdtemp(tmpl))
      return mtk_err_set(err, errno, "mkdtemp %s: %s", tmpl, strerror(errno));
    c->tmpdir = mtk_xstrdup(tmpl);
    free(c->path);
    c->path = mtk_xasprintf("%s/console.sock", tmpl);
  }
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
  unlink(c->path);
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (c->fd < 0 || bind(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(c->fd, 4) < 0) {
    int e = errno;
    mtk_sup_console_close(c);
    return mtk_err_set(err, e, "console socket %s/%s: %s", dir, name, strerror(e));
  }
  chmod(c->path, 0600);
  return 0;
}

/* One SCM_RIGHTS fd from a connected socket. */
static int recv_fd(int sock)
{
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  ssize_t r;
  while ((r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
    ;
  if (r < 0)
    return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
      cm->cmsg_len != CMSG_LEN(sizeof(int))) {
    errno = EBADMSG;
    return -1;
  }
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
  return fd;
}

int mtk_sup_console_recv(struct mtk_sup_console *c, struct mtk_err **err)
{
  mtk_autoclose int conn = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    return mtk_err_set(err, errno == EAGAIN ? EPROTO : errno,
                       "the runtime sent no terminal on the console socket %s", c->path);
  /* the runtime already wrote and exited: the message is there or never comes */
  int fd = recv_fd(conn);
  if (fd < 0)
    return mtk_err_set(err, errno, "receiving the pty master on %s: %s", c->path, strerror(errno));
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  return fd;
}

void mtk_sup_console_close(struct mtk_sup_console *c)
{
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  if (c->path)
    unlink(c->path);
  if (c->tmpdir)
    rmdir(c->tmpdir);
  free(c->path);
  free(c->tmpdir);
  c->path = c->tmpdir = NULL;
}

int mtk_sup_raw_enter(struct mtk_sup_raw *r, int fd, struct mtk_err **err)
{
  r->fd = -1;
  if (fd < 0 || !isatty(fd))
    return 0;
  if (tcgetattr(fd, &r->saved) < 0)
    return mtk_err_set(err, errno, "reading the terminal mode: %s", strerror(errno));
  struct termios raw = r->saved;
  /* all of it, output processing included: the container's pty already
   * turns \n into \r\n */
  cfmakeraw(&raw);
  if (tcsetattr(fd, TCSADRAIN, &raw) < 0)
    return mtk_err_set(err, errno, "setting the terminal to raw mode: %s", strerror(errno));
  r->fd = fd;
  return 0;
}

void mtk_sup_raw_leave(struct mtk_sup_raw *r)
{
  if (r->fd < 0)
    return;
  tcsetattr(r->fd, TCSADRAIN, &r->saved);
  r->fd = -1;
}

void mtk_sup_winsize_copy(int from, int master)
{
  struct winsize ws;
  if (from >= 0 && master >= 0 && ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    ioctl(master, TIOCSWINSZ, &ws);
}

/* ------------------------------------------------------------------ relay */

static void relay_update(struct mtk_sup_relay *r);

/* Writes what the buffer holds; false when the destination is gone. */
static bool relay_flush(struct mtk_sup_relay *r)
{
  while (r->off < r->len) {
    ssize_t w = write(r->dst, r->buf + r->off, r->len - r->off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return true;
    if (w < 0)
      return false;
    r->off += (size_t) w;
  }
  r->off = r->len = 0;
  return true;
}

static void relay_stop(struct mtk_sup_relay *r)
{
  if (r->src_open)
    uv_poll_stop(&r->src_poll);
  if (r->dst_polling)
    uv_poll_stop(&r->dst_poll);
  r->src_open = r->dst_polling = false;
}

static void on_src(uv_poll_t *h, int status, int events)
{
  struct mtk_sup_relay *r = h->data;
  ssize_t n = read(r->src, r->buf, sizeof(r->buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    r->eof = true;
    relay_stop(r);
    if (r->on_eof)
      r->on_eof(r);
    return;
  }
  r->len = (size_t) n;
  r->off = 0;
  if (!relay_flush(r)) {
    relay_stop(r);
    return;
  }
  relay_update(r);
}

static void on_dst(uv_poll_t *h, int status, int events)
{
  struct mtk_sup_relay *r = h->data;
  if (status < 0 || !relay_flush(r)) {
    relay_stop(r);
    return;
  }
  relay_update(r);
}

/* Reads while the buffer is empty, waits for the destination while not. */
static void relay_update(struct mtk_sup_relay *r)
{
  if (r->eof)
    return;
  if (r->len == 0) {
    if (r->dst_polling)
      uv_poll_stop(&r->dst_poll);
    r->dst_polling = false;
    uv_poll_start(&r->src_poll, UV_READABLE | UV_DISCONNECT, on_src);
    r->src_open = true;
  } else {
    uv_poll_stop(&r->src_poll);
    r->src_open = false;
    uv_poll_start(&r->dst_poll, UV_WRITABLE, on_dst);
    r->dst_polling = true;
  }
}

int mtk_sup_relay_start(struct mtk_sup_relay *r, uv_loop_t *loop, int src, int dst)
{
  r->src = src;
  r->dst = dst;
  r->len = r->off = 0;
  r->handles = 0;
  r->eof = r->src_open = r->dst_polling = false;
  int rc = uv_poll_init(loop, &r->src_poll, src);
  if (rc == 0) {
    r->handles++;
    r->src_poll.data = r;
    rc = uv_poll_init(loop, &r->dst_poll, dst);
  }
  if (rc == 0) {
    r->handles++;
    r->dst_poll.data = r;
  }
  if (rc < 0) {
    mtk_sup_relay_close(r);
    return rc;
  }
  int fl = fcntl(dst, F_GETFL);
  if (fl >= 0)
    fcntl(dst, F_SETFL, fl | O_NONBLOCK);
  relay_update(r);
  return 0;
}

bool mtk_sup_fd_pollable(int fd)
{
  mtk_autoclose int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
    return false;
  return true;
}

static void relay_closed(uv_handle_t *h)
{
  struct mtk_sup_relay *r = h->data;
  if (--r->handles == 0 && r->closed)
    r->closed(r);
}

void mtk_sup_relay_close(struct mtk_sup_relay *r)
{
  relay_stop(r);
  r->eof = true;
  if (r->handles == 0) {
    if (r->closed)
      r->closed(r);
    return;
  }
  /* the handles initialised are the first `handles` ones, src then dst */
  r->src_poll.data = r;
  r->dst_poll.data = r;
  if (!uv_is_closing((uv_handle_t *) &r->src_poll))
    uv_close((uv_handle_t *) &r->src_poll, relay_closed);
  if (r->handles == 2 && !uv_is_closing((uv_handle_t *) &r->dst_poll))
    uv_close((uv_handle_t *) &r->dst_poll, relay_closed);
}
