/* Unit tests for the userland port proxy (mtk_net_proxy_start/stop) on
 * 127.0.0.1 only: a test server (threads, blocking sockets) plays the
 * container, the proxy runs in its own libuv loop on a second thread, and
 * the test is the client.  Large transfers both ways, half-close,
 * back-pressure, many connections at once, a refused target, UDP flows and
 * their idle timeout, ephemeral ports, a taken port and all-or-nothing. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "tap.h"
#include "util/cleanup.h"

extern int mtk_net_proxy_udp_idle_ms; /* proxy.c: shortened for the timeout test */

/* ------------------------------------------------------------ helpers */

static struct sockaddr_in loopback(uint16_t port)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static uint16_t port_of_fd(int fd)
{
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  getsockname(fd, (struct sockaddr *) &a, &len);
  return ntohs(a.sin_port);
}

/* A socket bound to 127.0.0.1:0 (listening for TCP). */
static int bound_socket(int type, uint16_t *port)
{
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = loopback(0);
  if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
      (type == SOCK_STREAM && listen(fd, 512) < 0))
    return -1;
  *port = port_of_fd(fd);
  return fd;
}

/* A port on which nothing listens right now. */
static uint16_t free_port(int type)
{
  uint16_t port = 0;
  int fd = bound_socket(type, &port);
  close(fd);
  return port;
}

static int connect_to(uint16_t port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = loopback(port);
  struct timeval tv = {.tv_sec = 20};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static unsigned char pattern(uint64_t i)
{
  return (unsigned char) ((i * 31) ^ (i >> 9));
}

static int write_all(int fd, const void *buf, size_t n)
{
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t) w;
  }
  return 0;
}

static ssize_t read_line(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, 1);
    if (r <= 0)
      return -1;
    if (buf[n++] == '\n')
      break;
  }
  buf[n] = '\0';
  return (ssize_t) n;
}

/* ------------------------------------------------------------ the server */

/* The "container": a TCP server on 127.0.0.1 with a thread per connection.
 * The first line picks what it does:
 *   ECHO            echoes until EOF, then closes
 *   UPLOAD          reads until EOF, then replies "<bytes> <bad>\n" (bad:
 *                   bytes off the pattern) and closes
 *   RESET           answers "bye\n", then resets the connection
 *   DOWNLOAD <n>    sends n pattern bytes and closes; while the client does
 *                   not read, records in stalled_at how much it could write
 *                   before the path stopped taking data (back-pressure) */
struct server {
  int fd;
  uint16_t port;
  pthread_t th;
  atomic_int active;
  atomic_llong stalled_at;
};

struct conn_arg {
  struct server *s;
  int fd;
};

static void do_upload(int fd)
{
  static __thread char buf[65536];
  uint64_t total = 0, wrong = 0;
  ssize_t r;
  while ((r = read(fd, buf, sizeof(buf))) > 0)
    for (ssize_t i = 0; i < r; i++, total++)
      wrong += (unsigned char) buf[i] != pattern(total);
  char line[64];
  snprintf(line, sizeof(line), "%llu %llu\n", (unsigned long long) total,
           (unsigned long long) wrong);
  write_all(fd, line, strlen(line));
}

static void do_download(struct server *s, int fd, uint64_t n)
{
  static __thread char buf[65536];
  int sndbuf = 64 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  uint64_t sent = 0;
  bool stalled = false;
  while (sent < n) {
    size_t len = n - sent < sizeof(buf) ? (size_t) (n - sent) : sizeof(buf);
    for (size_t i = 0; i < len; i++)
      buf[i] = (char) pattern(sent + i);
    ssize_t w = send(fd, buf, len, stalled ? 0 : MSG_DONTWAIT);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      if (poll(&p, 1, 500) == 0) { /* nothing taken for 0.5 s: the path is full */
        atomic_store(&s->stalled_at, (long long) sent);
        stalled = true;
      }
      continue;
    }
    if (w <= 0)
      return;
    sent += (uint64_t) w;
  }
}

static void *serve_conn(void *p)
{
  struct conn_arg *a = p;
  char line[64];
  char buf[65536];
  if (read_line(a->fd, line, sizeof(line)) > 0) {
    if (strcmp(line, "ECHO\n") == 0) {
      ssize_t r;
      while ((r = read(a->fd, buf, sizeof(buf))) > 0 && write_all(a->fd, buf, (size_t) r) == 0)
        ;
    } else if (strcmp(line, "UPLOAD\n") == 0) {
      do_upload(a->fd);
    } else if (strncmp(line, "DOWNLOAD ", 9) == 0) {
      do_download(a->s, a->fd, strtoull(line + 9, NULL, 10));
    } else if (strcmp(line, "RESET\n") == 0) {
      write_all(a->fd, "bye\n", 4);
      struct linger lg = {.l_onoff = 1, .l_linger = 0};
      setsockopt(a->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
  }
  close(a->fd);
  atomic_fetch_sub(&a->s->active, 1);
  free(a);
  return NULL;
}

static void *server_main(void *p)
{
  struct server *s = p;
  for (;;) {
    int fd = accept(s->fd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      return NULL; /* shut down */
    }
    struct conn_arg *a = mtk_xmalloc(sizeof(*a));
    *a = (struct conn_arg){.s = s, .fd = fd};
    atomic_fetch_add(&s->active, 1);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, serve_conn, a) != 0) {
      close(fd);
      atomic_fetch_sub(&s->active, 1);
      free(a);
    }
    pthread_attr_destroy(&attr);
  }
}

static int server_start(struct server *s)
{
  memset(s, 0, sizeof(*s));
  s->fd = bound_socket(SOCK_STREAM, &s->port);
  if (s->fd < 0)
    return -1;
  return pthread_create(&s->th, NULL, server_main, s) == 0 ? 0 : -1;
}

static void server_stop(struct server *s)
{
  shutdown(s->fd, SHUT_RDWR);
  pthread_join(s->th, NULL);
  close(s->fd);
  for (int i = 0; i < 1000 && atomic_load(&s->active) > 0; i++)
    usleep(10000);
}

/* ------------------------------------------------------------ the proxy */

/* The proxy's loop, run on its own thread; stopped through an async. */
struct ploop {
  uv_loop_t loop;
  uv_async_t stop;
  pthread_t th;
  struct mtk_net_proxy *px;
};

static void on_stop(uv_async_t *a)
{
  struct ploop *pl = a->data;
  mtk_net_proxy_stop(pl->px);
  uv_close((uv_handle_t *) a, NULL);
}

static void *loop_main(void *p)
{
  struct ploop *pl = p;
  uv_run(&pl->loop, UV_RUN_DEFAULT);
  return NULL;
}

/* Starts a proxy for v[0..n) to 127.0.0.1 and its loop thread; on a start
 * error *err is set and the loop is closed again. */
static int ploop_start(struct ploop *pl, struct mtk_net_port *v, size_t n, struct mtk_err **err)
{
  memset(pl, 0, sizeof(*pl));
  uv_loop_init(&pl->loop);
  if (mtk_net_proxy_start(&pl->loop, v, n, "127.0.0.1", &pl->px, err) < 0) {
    uv_run(&pl->loop, UV_RUN_DEFAULT);
    return uv_loop_close(&pl->loop) == 0 ? -1 : -2;
  }
  uv_async_init(&pl->loop, &pl->stop, on_stop);
  pl->stop.data = pl;
  return pthread_create(&pl->th, NULL, loop_main, pl) == 0 ? 0 : -2;
}

/* Stops the proxy; 0 when the loop ended with nothing left open. */
static int ploop_stop(struct ploop *pl)
{
  uv_async_send(&pl->stop);
  pthread_join(pl->th, NULL);
  return uv_loop_close(&pl->loop);
}

static struct mtk_net_port tcp_port(uint16_t host, uint16_t ctr)
{
  struct mtk_net_port p = {
      .proto = "tcp", .host_ip = "127.0.0.1", .host_port = host, .ctr_port = ctr};
  return p;
}

/* Server plus proxy; the proxy's host port in pl's port. */
struct rig {
  struct server s;
  struct ploop pl;
  struct mtk_net_port p;
};

static int rig_start(struct rig *r)
{
  if (server_start(&r->s) < 0)
    return -1;
  r->p = tcp_port(0, r->s.port);
  struct mtk_err *err = NULL;
  if (ploop_start(&r->pl, &r->p, 1, &err) < 0) {
    printf("#   proxy: %s\n", err ? err->msg : "?");
    mtk_err_free(&err);
    return -1;
  }
  return 0;
}

static int rig_stop(struct rig *r)
{
  int rc = ploop_stop(&r->pl);
  server_stop(&r->s);
  return rc;
}

/* ------------------------------------------------------------ TCP tests */

/* 32 MiB up, then the client shuts its write side and still gets the
 * server's reply through the proxy, then EOF. */
static int test_tcp_upload_half_close(void)
{
  struct rig r;
  MTK_ASSERT_EQ(rig_start(&r), 0);
  MTK_ASSERT(r.p.host_port != 0);
  int fd = connect_to(r.p.host_port);
  MTK_ASSERT(fd >= 0);
  const uint64_t total = 32u << 20;
  static char buf[65536];
  MTK_ASSERT_EQ(write_all(fd, "UPLOAD\n", 7), 0);
  for (uint64_t off = 0; off < total; off += sizeof(buf)) {
    for (size_t i = 0; i < sizeof(buf); i++)
      buf[i] = (char) pattern(off + i);
    MTK_ASSERT_EQ(write_all(fd, buf, sizeof(buf)), 0);
  }
  MTK_ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
  char line[64];
  MTK_ASSERT(read_line(fd, line, sizeof(line)) > 0);
  char want[64];
  snprintf(want, sizeof(want), "%llu 0\n", (unsigned long long) total);
  MTK_ASSERT_STREQ(line, want);
  MTK_ASSERT_EQ(read(fd, buf, 1), 0); /* then EOF */
  close(fd);
  MTK_ASSERT_EQ(rig_stop(&r), 0);
  return 0;
}

/* The largest buffer size of net.ipv4.<name> ("min default max"). */
static long long sysctl_max(const char *name)
{
  char path[128];
  long long lo, def, hi = 0;
  snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
  FILE *f = fopen(path, "re");
  if (f == NULL || fscanf(f, "%lld %lld %lld", &lo, &def, &hi) != 3)
    hi = 6ll << 20;
  if (f)
    fclose(f);
  return hi;
}

/* 128 MiB down to a client that first reads nothing: the server must stall
 * after a bounded amount (the proxy stops reading the container while its
 * queue to the client is full), then everything arrives intact. */
static int test_tcp_download_back_pressure(void)
{
  struct rig r;
  MTK_ASSERT_EQ(rig_start(&r), 0);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int rcvbuf = 64 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  struct sockaddr_in a = loopback(r.p.host_port);
  MTK_ASSERT_EQ(connect(fd, (struct sockaddr *) &a, sizeof(a)), 0);
  const uint64_t total = 128u << 20;
  char req[64];
  snprintf(req, sizeof(req), "DOWNLOAD %llu\n", (unsigned long long) total);
  MTK_ASSERT_EQ(write_all(fd, req, strlen(req)), 0);
  for (int i = 0; i < 200 && atomic_load(&r.s.stalled_at) == 0; i++)
    usleep(50000);
  long long stalled = atomic_load(&r.s.stalled_at);
  /* what the kernel may buffer: the proxy's two sockets at most (receive
   * from the server, send to the client), plus the small buffers at both
   * ends and the proxy's own queue */
  long long bound = sysctl_max("tcp_rmem") + sysctl_max("tcp_wmem") + (4ll << 20);
  printf("# the server stalled after %lld bytes (bound %lld)\n", stalled, bound);
  MTK_ASSERT(stalled > 0);
  MTK_ASSERT(stalled < bound);
  MTK_ASSERT(bound < (long long) total / 2); /* else the test proves nothing */
  static char buf[65536];
  uint64_t got = 0, wrong = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    for (ssize_t i = 0; i < n; i++, got++)
      wrong += (unsigned char) buf[i] != pattern(got);
  MTK_ASSERT_EQ(n, 0);
  MTK_ASSERT_EQ(got, total);
  MTK_ASSERT_EQ(wrong, 0);
  close(fd);
  MTK_ASSERT_EQ(rig_stop(&r), 0);
  return 0;
}

/* 16 MiB echoed back while it is being sent (both directions at once). */
static int test_tcp_echo_both_ways(void)
{
  struct rig r;
  MTK_ASSERT_EQ(rig_start(&r), 0);
  int fd = connect_to(r.p.host_port);
  MTK_ASSERT(fd >= 0);
  MTK_ASSERT_EQ(write_all(fd, "ECHO\n", 5), 0);
  const uint64_t total = 16u << 20;
  uint64_t sent = 0, got = 0, wrong = 0;
  static char out[65536], in[65536];
  while (got < total) {
    struct pollfd p = {.fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0)};
    MTK_ASSERT(poll(&p, 1, 20000) > 0);
    if (p.revents & POLLOUT) {
      size_t len = total - sent < sizeof(out) ? (size_t) (total - sent) : sizeof(out);
      for (size_t i = 0; i < len; i++)
        out[i] = (char) pattern(sent + i);
      ssize_t w = send(fd, out, len, MSG_DONTWAIT);
      MTK_ASSERT(w > 0 || errno == EAGAIN);
      sent += w > 0 ? (uint64_t) w : 0;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
      MTK_ASSERT(n > 0 || (n < 0 && errno == EAGAIN));
      for (ssize_t i = 0; i < n; i++, got++)
        wrong += (unsigned char) in[i] != pattern(got);
    }
  }
  MTK_ASSERT_EQ(wrong, 0);
  MTK_ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
  MTK_ASSERT_EQ(read(fd, in, 1), 0); /* the server saw EOF and closed */
  close(fd);
  MTK_ASSERT_EQ(rig_stop(&r), 0);
  return 0;
}

#define MANY 200

/* MANY connections open at once, each echoing its own data. */
static int test_tcp_many_connections(void)
{
  struct rig r;
  MTK_ASSERT_EQ(rig_start(&r), 0);
  int fds[MANY];
  char msg[4096], back[4096];
  for (int i = 0; i < MANY; i++) {
    fds[i] = connect_to(r.p.host_port);
    MTK_ASSERT(fds[i] >= 0);
  }
  for (int i = 0; i < MANY; i++) {
    for (size_t k = 0; k < sizeof(msg); k++)
      msg[k] = (char) pattern((uint64_t) i * 7919 + k);
    MTK_ASSERT_EQ(write_all(fds[i], "ECHO\n", 5), 0);
    MTK_ASSERT_EQ(write_all(fds[i], msg, sizeof(msg)), 0);
  }
  for (int i = 0; i < MANY; i++) {
    size_t got = 0;
    while (got < sizeof(back)) {
      ssize_t n = read(fds[i], back + got, sizeof(back) - got);
      MTK_ASSERT(n > 0);
      got += (size_t) n;
    }
    for (size_t k = 0; k < sizeof(back); k++)
      MTK_ASSERT_EQ((unsigned char) back[k], pattern((uint64_t) i * 7919 + k));
    close(fds[i]);
  }
  MTK_ASSERT_EQ(rig_stop(&r), 0);
  return 0;
}

/* A reset by the container reaches the client as a reset, after the data
 * sent before it; a clean close by the server reaches it as EOF. */
static int test_tcp_reset_passed_on(void)
{
  struct rig r;
  MTK_ASSERT_EQ(rig_start(&r), 0);
  int fd = connect_to(r.p.host_port);
  MTK_ASSERT(fd >= 0);
  MTK_ASSERT_EQ(write_all(fd, "RESET\n", 6), 0);
  char buf[8];
  MTK_ASSERT_EQ(read(fd, buf, 4), 4);
  MTK_ASSERT_EQ(memcmp(buf, "bye\n", 4), 0);
  errno = 0;
  MTK_ASSERT_EQ(read(fd, buf, 1), -1);
  MTK_ASSERT_EQ(errno, ECONNRESET);
  close(fd);
  fd = connect_to(r.p.host_port);
  MTK_ASSERT(fd >= 0);
  MTK_ASSERT_EQ(write_all(fd, "DOWNLOAD 3\n", 11), 0);
  MTK_ASSERT_EQ(read(fd, buf, 3), 3);
  MTK_ASSERT_EQ(read(fd, buf, 1), 0);
  close(fd);
  MTK_ASSERT_EQ(rig_stop(&r), 0);
  return 0;
}

/* Nothing listens at the target: the accepted client is closed (reset). */
static int test_tcp_target_refuses(void)
{
  struct ploop pl;
  struct mtk_net_port p = tcp_port(0, free_port(SOCK_STREAM));
  MTK_ASSERT_EQ(ploop_start(&pl, &p, 1, NULL), 0);
  for (int i = 0; i < 3; i++) {
    int fd = connect_to(p.host_port);
    MTK_ASSERT(fd >= 0);
    write_all(fd, "hello\n", 6);
    char c;
    errno = 0;
    ssize_t n = read(fd, &c, 1);
    MTK_ASSERT(n == 0 || (n < 0 && errno == ECONNRESET)); /* not a timeout */
    close(fd);
  }
  MTK_ASSERT_EQ(ploop_stop(&pl), 0);
  return 0;
}

/* ------------------------------------------------------------ UDP tests */

/* A UDP echo server answering "<datagram>|<source port it came from>". */
struct userver {
  int fd;
  uint16_t port;
  pthread_t th;
  atomic_int stop;
};

static void *userver_main(void *p)
{
  struct userver *u = p;
  char buf[2048], out[2100];
  while (!atomic_load(&u->stop)) {
    struct pollfd pf = {.fd = u->fd, .events = POLLIN};
    if (poll(&pf, 1, 50) <= 0)
      continue;
    struct sockaddr_in from;
    socklen_t len = sizeof(from);
    ssize_t n = recvfrom(u->fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *) &from, &len);
    if (n < 0)
      continue;
    buf[n] = '\0';
    int m = snprintf(out, sizeof(out), "%s|%u", buf, (unsigned) ntohs(from.sin_port));
    sendto(u->fd, out, (size_t) m, 0, (struct sockaddr *) &from, len);
  }
  return NULL;
}

static int userver_start(struct userver *u)
{
  memset(u, 0, sizeof(*u));
  u->fd = bound_socket(SOCK_DGRAM, &u->port);
  return u->fd < 0 || pthread_create(&u->th, NULL, userver_main, u) != 0 ? -1 : 0;
}

static void userver_stop(struct userver *u)
{
  atomic_store(&u->stop, 1);
  pthread_join(u->th, NULL);
  close(u->fd);
}

/* Sends msg to the proxy from fd; the reply must come from the proxy's
 * address and start with msg; the server's view of the source port in
 * *seen. */
static int udp_ask(int fd, uint16_t proxy_port, const char *msg, unsigned *seen)
{
  struct sockaddr_in to = loopback(proxy_port), from;
  socklen_t len = sizeof(from);
  char buf[256];
  MTK_ASSERT_EQ(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *) &to, sizeof(to)),
                (ssize_t) strlen(msg));
  ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *) &from, &len);
  MTK_ASSERT(n > 0);
  buf[n] = '\0';
  MTK_ASSERT_EQ(ntohs(from.sin_port), proxy_port);
  MTK_ASSERT_EQ(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  MTK_ASSERT_EQ(strncmp(buf, msg, strlen(msg)), 0);
  MTK_ASSERT_EQ(buf[strlen(msg)], '|');
  *seen = (unsigned) strtoul(buf + strlen(msg) + 1, NULL, 10);
  return 0;
}

static int udp_client(void)
{
  uint16_t port;
  int fd = bound_socket(SOCK_DGRAM, &port);
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

/* Two clients, a flow each: their datagrams reach the server from two
 * distinct ports, each gets its own replies; a flow idle longer than the
 * timeout is replaced by a new one. */
static int test_udp_flows(void)
{
  struct userver u;
  MTK_ASSERT_EQ(userver_start(&u), 0);
  mtk_net_proxy_udp_idle_ms = 300;
  struct mtk_net_port p = {.proto = "udp", .host_ip = "127.0.0.1", .ctr_port = u.port};
  struct ploop pl;
  MTK_ASSERT_EQ(ploop_start(&pl, &p, 1, NULL), 0);
  MTK_ASSERT(p.host_port != 0);
  mtk_autoclose int a = udp_client();
  mtk_autoclose int b = udp_client();
  unsigned fa, fb, fa2, fb2, fa3;
  MTK_ASSERT_EQ(udp_ask(a, p.host_port, "a1", &fa), 0);
  MTK_ASSERT_EQ(udp_ask(b, p.host_port, "b1", &fb), 0);
  MTK_ASSERT_EQ(udp_ask(a, p.host_port, "a2", &fa2), 0);
  MTK_ASSERT_EQ(udp_ask(b, p.host_port, "b2-longer", &fb2), 0);
  MTK_ASSERT(fa != fb);
  MTK_ASSERT_EQ(fa2, fa);
  MTK_ASSERT_EQ(fb2, fb);
  MTK_ASSERT(fa != p.host_port && fa != u.port);
  usleep(1000 * 1000); /* > 300 ms idle: the flows are gone */
  /* a late reply to a's old flow reaches nobody now (else it would reach a) */
  struct sockaddr_in old = loopback((uint16_t) fa);
  MTK_ASSERT_EQ(sendto(u.fd, "late|0", 6, 0, (struct sockaddr *) &old, sizeof(old)), 6);
  struct pollfd pf = {.fd = a, .events = POLLIN};
  MTK_ASSERT_EQ(poll(&pf, 1, 300), 0);
  MTK_ASSERT_EQ(udp_ask(a, p.host_port, "a3", &fa3), 0); /* a new flow */
  MTK_ASSERT_EQ(ploop_stop(&pl), 0);
  mtk_net_proxy_udp_idle_ms = 30000;
  userver_stop(&u);
  return 0;
}

/* ------------------------------------------------------------ start, stop */

/* Whether the port can be bound now on 127.0.0.1 (or [::]). */
static bool can_bind(int family, uint16_t port, int type)
{
  struct sockaddr_storage ss = {0};
  socklen_t len;
  if (family == AF_INET6) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &ss;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    len = sizeof(*a6);
  } else {
    *(struct sockaddr_in *) &ss = loopback(port);
    len = sizeof(struct sockaddr_in);
  }
  mtk_autoclose int fd = socket(family, type, 0);
  int one = 1;
  if (family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (type == SOCK_STREAM) /* as servers (and the proxy) bind: past TIME_WAIT */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  return fd >= 0 && bind(fd, (struct sockaddr *) &ss, len) == 0;
}

/* Ephemeral ports are written back; "" binds 0.0.0.0 and [::]; after stop
 * every port is free again at once. */
static int test_ephemeral_and_stop(void)
{
  struct server s;
  MTK_ASSERT_EQ(server_start(&s), 0);
  struct mtk_net_port v[2] = {{.proto = "tcp", .host_ip = "", .ctr_port = s.port},
                              {.proto = "udp", .host_ip = "127.0.0.1", .ctr_port = 9}};
  struct ploop pl;
  MTK_ASSERT_EQ(ploop_start(&pl, v, 2, NULL), 0);
  MTK_ASSERT(v[0].host_port != 0 && v[1].host_port != 0);
  MTK_ASSERT(!can_bind(AF_INET, v[0].host_port, SOCK_STREAM));
  MTK_ASSERT(!can_bind(AF_INET, v[1].host_port, SOCK_DGRAM));
  bool ipv6 = can_bind(AF_INET6, 0, SOCK_STREAM);
  if (ipv6)
    MTK_ASSERT(!can_bind(AF_INET6, v[0].host_port, SOCK_STREAM)); /* [::] too */
  int fd = connect_to(v[0].host_port);
  MTK_ASSERT(fd >= 0);
  MTK_ASSERT_EQ(write_all(fd, "ECHO\nping", 9), 0);
  char buf[4] = "";
  MTK_ASSERT_EQ(read(fd, buf, 4), 4);
  MTK_ASSERT_EQ(memcmp(buf, "ping", 4), 0);
  MTK_ASSERT_EQ(ploop_stop(&pl), 0);
  MTK_ASSERT(can_bind(AF_INET, v[0].host_port, SOCK_STREAM));
  MTK_ASSERT(can_bind(AF_INET, v[1].host_port, SOCK_DGRAM));
  if (ipv6)
    MTK_ASSERT(can_bind(AF_INET6, v[0].host_port, SOCK_STREAM));
  close(fd);
  server_stop(&s);
  return 0;
}

/* A taken port fails the whole start with the holder named, and leaves no
 * other port bound nor any port number written back. */
static int test_taken_port_all_or_nothing(void)
{
  uint16_t taken;
  mtk_autoclose int hold = bound_socket(SOCK_STREAM, &taken);
  MTK_ASSERT(hold >= 0);
  uint16_t other = free_port(SOCK_STREAM);
  struct mtk_net_port v[3] = {tcp_port(other, 80), tcp_port(0, 81), tcp_port(taken, 82)};
  struct ploop pl;
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(ploop_start(&pl, v, 3, &err), -1);
  MTK_ASSERT_EQ(err->code, EADDRINUSE);
  char who[64];
  snprintf(who, sizeof(who), "port %u/tcp on 127.0.0.1 is already in use by process %d (",
           (unsigned) taken, (int) getpid());
  MTK_ASSERT_CONTAINS(err->msg, who);
  MTK_ASSERT_CONTAINS(err->hint, "-p OTHER:82");
  mtk_err_free(&err);
  MTK_ASSERT(can_bind(AF_INET, other, SOCK_STREAM));
  MTK_ASSERT_EQ(v[1].host_port, 0);
  /* an address that is not on this host */
  struct mtk_net_port far = {.proto = "udp", .host_ip = "192.0.2.1", .host_port = other};
  MTK_ASSERT_EQ(ploop_start(&pl, &far, 1, &err), -1);
  MTK_ASSERT_EQ(err->code, EADDRNOTAVAIL);
  MTK_ASSERT_CONTAINS(err->msg, "on 192.0.2.1: the address is not on this host");
  mtk_err_free(&err);
  /* a bad target address */
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct mtk_net_proxy *px = NULL;
  MTK_ASSERT(mtk_net_proxy_start(&loop, v, 1, "not-an-ip", &px, &err) < 0);
  MTK_ASSERT_EQ(err->code, EINVAL);
  mtk_err_free(&err);
  MTK_ASSERT_EQ(uv_loop_close(&loop), 0);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"tcp: 32 MiB upload, half-close, reply after EOF", test_tcp_upload_half_close},
      {"tcp: 128 MiB download with back-pressure", test_tcp_download_back_pressure},
      {"tcp: echo both ways at once", test_tcp_echo_both_ways},
      {"tcp: many connections at once", test_tcp_many_connections},
      {"tcp: a reset is passed on, a close is EOF", test_tcp_reset_passed_on},
      {"tcp: a refusing target closes the client", test_tcp_target_refuses},
      {"udp: a flow per client, idle timeout", test_udp_flows},
      {"ephemeral ports, 0.0.0.0 and [::], stop frees", test_ephemeral_and_stop},
      {"a taken port: holder named, nothing bound", test_taken_port_all_or_nothing},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
