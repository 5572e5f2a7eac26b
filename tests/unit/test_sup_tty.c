/* Unit tests for the supervisor's terminal helpers (src/sup/tty.c): the
 * console socket (a pty master arrives over SCM_RIGHTS, close-on-exec and
 * non-blocking; a long directory falls back to a short private one; no
 * connection is an error), raw mode entered and restored, the window size
 * copied, and the stdin relay moving more than a pipe holds with
 * back-pressure and EOF. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sup/internal.h"
#include "tap.h"
#include "util/cleanup.h"

/* In a child: connects to path and sends fd as the runtime does. */
static void send_fd(const char *path, int fd)
{
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0)
    _exit(1);
  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
  _exit(sendmsg(s, &msg, 0) == 1 ? 0 : 2);
}

static int roundtrip(const char *dir)
{
  struct mtk_sup_console c;
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_sup_console_open(&c, dir, "console.sock", &err), 0);
  MTK_ASSERT(strlen(c.path) < sizeof(((struct sockaddr_un *) 0)->sun_path));
  MTK_ASSERT(fcntl(c.fd, F_GETFD) & FD_CLOEXEC);
  int p[2];
  MTK_ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0)
    send_fd(c.path, p[1]);
  close(p[1]);
  int st;
  MTK_ASSERT_EQ(waitpid(pid, &st, 0), pid);
  MTK_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  /* the sender is gone, as the runtime is when we accept */
  int fd = mtk_sup_console_recv(&c, &err);
  MTK_ASSERT(fd >= 0);
  MTK_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  MTK_ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
  MTK_ASSERT_EQ(write(fd, "ok", 2), 2);
  close(fd);
  char buf[4] = {0};
  MTK_ASSERT_EQ(read(p[0], buf, sizeof(buf)), 2);
  MTK_ASSERT_STREQ(buf, "ok");
  close(p[0]);
  /* nobody else connects: an error naming the socket */
  MTK_ASSERT(mtk_sup_console_recv(&c, &err) < 0);
  MTK_ASSERT_CONTAINS(err->msg, c.path);
  mtk_err_free(&err);
  mtk_autofree char *path = mtk_xstrdup(c.path);
  mtk_autofree char *tmpdir = c.tmpdir ? mtk_xstrdup(c.tmpdir) : NULL;
  mtk_sup_console_close(&c);
  struct stat sb;
  MTK_ASSERT(stat(path, &sb) < 0 && errno == ENOENT);
  if (tmpdir)
    MTK_ASSERT(stat(tmpdir, &sb) < 0 && errno == ENOENT);
  mtk_sup_console_close(&c); /* idempotent */
  return 0;
}

static int test_console(void)
{
  char dir[] = "/tmp/mtk-con-XXXXXX";
  MTK_ASSERT(mkdtemp(dir) != NULL);
  int rc = roundtrip(dir);
  /* a directory too long for sun_path: a private one under /tmp */
  mtk_autofree char *deep = mtk_xasprintf("%s/%0120d", dir, 7);
  MTK_ASSERT_EQ(mkdir(deep, 0700), 0);
  if (rc == 0)
    rc = roundtrip(deep);
  rmdir(deep);
  rmdir(dir);
  return rc;
}

static int test_raw(void)
{
  int m, s;
  MTK_ASSERT_EQ(openpty(&m, &s, NULL, NULL, NULL), 0);
  struct termios before, during, after;
  MTK_ASSERT_EQ(tcgetattr(s, &before), 0);
  MTK_ASSERT(before.c_lflag & ICANON);
  struct mtk_sup_raw r;
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_sup_raw_enter(&r, s, &err), 0);
  MTK_ASSERT_EQ(r.fd, s);
  MTK_ASSERT_EQ(tcgetattr(s, &during), 0);
  MTK_ASSERT(!(during.c_lflag & (ICANON | ECHO | ISIG)));
  MTK_ASSERT(!(during.c_oflag & OPOST));
  mtk_sup_raw_leave(&r);
  mtk_sup_raw_leave(&r); /* idempotent */
  MTK_ASSERT_EQ(tcgetattr(s, &after), 0);
  MTK_ASSERT_EQ(after.c_lflag, before.c_lflag);
  MTK_ASSERT_EQ(after.c_iflag, before.c_iflag);
  MTK_ASSERT_EQ(after.c_oflag, before.c_oflag);
  /* not a terminal: nothing to do */
  int p[2];
  MTK_ASSERT_EQ(pipe(p), 0);
  MTK_ASSERT_EQ(mtk_sup_raw_enter(&r, p[0], &err), 0);
  MTK_ASSERT_EQ(r.fd, -1);
  close(p[0]);
  close(p[1]);
  /* the window size of one terminal onto another pty */
  int m2, s2;
  MTK_ASSERT_EQ(openpty(&m2, &s2, NULL, NULL, NULL), 0);
  struct winsize ws = {.ws_row = 31, .ws_col = 97}, got = {0};
  MTK_ASSERT_EQ(ioctl(s, TIOCSWINSZ, &ws), 0);
  mtk_sup_winsize_copy(s, m2);
  MTK_ASSERT_EQ(ioctl(s2, TIOCGWINSZ, &got), 0);
  MTK_ASSERT_EQ(got.ws_row, 31);
  MTK_ASSERT_EQ(got.ws_col, 97);
  close(m);
  close(s);
  close(m2);
  close(s2);
  return 0;
}

struct relay_test {
  struct mtk_sup_relay r;
  int eofs, closed;
};

static void on_eof(struct mtk_sup_relay *r)
{
  struct relay_test *t = r->data;
  t->eofs++;
  close(r->dst); /* the container's stdin sees the end */
  mtk_sup_relay_close(r);
}

static void on_closed(struct mtk_sup_relay *r)
{
  ((struct relay_test *) r->data)->closed++;
}

static int test_relay(void)
{
  enum { N = 300000 }; /* more than a pipe holds: the relay must wait for room */
  int src[2], dst[2], res[2];
  MTK_ASSERT_EQ(pipe(src), 0);
  MTK_ASSERT_EQ(pipe(dst), 0);
  MTK_ASSERT_EQ(pipe(res), 0);
  pid_t w = fork();
  if (w == 0) { /* the user typing: N bytes, then EOF */
    close(src[0]);
    static char buf[N];
    for (int i = 0; i < N; i++)
      buf[i] = (char) (i * 7);
    _exit(write(src[1], buf, N) == N ? 0 : 1);
  }
  close(src[1]);
  pid_t rd = fork();
  if (rd == 0) { /* the container: slow at first, then reads it all */
    close(dst[1]);
    usleep(100000);
    unsigned long sum = 0, n = 0;
    unsigned char b[4096];
    ssize_t k;
    while ((k = read(dst[0], b, sizeof(b))) > 0)
      for (ssize_t i = 0; i < k; i++, n++)
        sum += b[i] * (n % 13 + 1);
    unsigned long out[2] = {n, sum};
    _exit(write(res[1], out, sizeof(out)) == sizeof(out) ? 0 : 1);
  }
  close(dst[0]);
  close(res[1]);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct relay_test t = {0};
  t.r.data = &t;
  t.r.on_eof = on_eof;
  t.r.closed = on_closed;
  MTK_ASSERT_EQ(mtk_sup_relay_start(&t.r, &loop, src[0], dst[1]), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  MTK_ASSERT_EQ(t.eofs, 1);
  MTK_ASSERT_EQ(t.closed, 1);
  MTK_ASSERT_EQ(uv_loop_close(&loop), 0);
  close(src[0]);
  unsigned long got[2] = {0, 0}, want = 0;
  MTK_ASSERT_EQ(read(res[0], got, sizeof(got)), (ssize_t) sizeof(got));
  close(res[0]);
  for (unsigned long i = 0; i < N; i++)
    want += (unsigned char) (i * 7) * (i % 13 + 1);
  MTK_ASSERT_EQ(got[0], N);
  MTK_ASSERT_EQ(got[1], want);
  int st;
  MTK_ASSERT_EQ(waitpid(w, &st, 0), w);
  MTK_ASSERT_EQ(waitpid(rd, &st, 0), rd);
  return 0;
}

static int test_pollable(void)
{
  int p[2];
  MTK_ASSERT_EQ(pipe(p), 0);
  MTK_ASSERT(mtk_sup_fd_pollable(p[0]));
  close(p[0]);
  close(p[1]);
  char path[] = "/tmp/mtk-poll-XXXXXX";
  int f = mkstemp(path);
  MTK_ASSERT(f >= 0);
  MTK_ASSERT(!mtk_sup_fd_pollable(f)); /* a file is handed over, not relayed */
  close(f);
  unlink(path);
  int null = open("/dev/null", O_RDONLY);
  MTK_ASSERT(!mtk_sup_fd_pollable(null));
  close(null);
  /* a relay over a file cannot start, and still reports closed */
  struct relay_test t = {0};
  t.r.data = &t;
  t.r.closed = on_closed;
  uv_loop_t loop;
  uv_loop_init(&loop);
  MTK_ASSERT_EQ(pipe(p), 0);
  null = open("/dev/null", O_RDONLY);
  MTK_ASSERT(mtk_sup_relay_start(&t.r, &loop, null, p[1]) < 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  MTK_ASSERT_EQ(t.closed, 1);
  MTK_ASSERT_EQ(uv_loop_close(&loop), 0);
  close(null);
  close(p[0]);
  close(p[1]);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"console socket: the pty master over SCM_RIGHTS", test_console},
      {"raw mode entered and restored, window size", test_raw},
      {"stdin relay with back-pressure and EOF", test_relay},
      {"what can be relayed", test_pollable},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
