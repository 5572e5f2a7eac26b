/* A tiny static HTTP server for bench/proxy.sh (not part of mtk): one
 * epoll loop, keep-alive, every request answered with a fixed "hello"
 * (pipelined requests too), so that the proxy, not the server, is what the
 * benchmark measures; "Connection: close" is honoured; "GET /bytes/N" answers N zero bytes instead
 * (bulk throughput).  Built with `cc -O2 -static` by the script and run in a container or on the
 * host. Usage: httpd [ADDR] [PORT] [WORKERS]   (default 0.0.0.0 8080 1; WORKERS processes share the
 * port through SO_REUSEPORT) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXFD 65536
#define BUF 8192

static const char reply[] = "HTTP/1.1 200 OK\r\n"
                            "Content-Type: text/plain\r\n"
                            "Content-Length: 6\r\n"
                            "\r\n"
                            "hello\n";

struct conn {
  char in[BUF];
  size_t len;
};

static struct conn *conns[MAXFD];

static int listener(const char *addr, int port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1 ||
      bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
    perror("httpd: bind/listen");
    exit(1);
  }
  return fd;
}

static void drop(int ep, int fd)
{
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  free(conns[fd]);
  conns[fd] = NULL;
}

/* "GET /bytes/N": the header, then N zero bytes written blocking (a bulk
 * transfer for throughput, not for many clients at once). */
static int send_bytes(int fd, unsigned long long n)
{
  static char zeros[1 << 16];
  char head[128];
  int len = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n\r\n", n);
  if (write(fd, head, (size_t) len) != len)
    return -1;
  while (n > 0) {
    size_t k = n < sizeof(zeros) ? (size_t) n : sizeof(zeros);
    ssize_t w = write(fd, zeros, k);
    if (w < 0 && errno == EAGAIN) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      poll(&p, 1, -1);
      continue;
    }
    if (w <= 0)
      return -1;
    n -= (unsigned long long) w;
  }
  return 0;
}

/* Answers every complete request in the buffer; -1 to close. */
static int serve(int fd)
{
  struct conn *c = conns[fd];
  for (;;) {
    ssize_t n = read(fd, c->in + c->len, BUF - c->len);
    if (n == 0)
      return -1;
    if (n < 0)
      return errno == EAGAIN ? 0 : -1;
    c->len += (size_t) n;
    char out[16 * sizeof(reply)];
    size_t olen = 0;
    char *p = c->in, *end;
    while ((end = memmem(p, c->len - (size_t) (p - c->in), "\r\n\r\n", 4)) != NULL) {
      if (olen + sizeof(reply) > sizeof(out)) {
        if (write(fd, out, olen) != (ssize_t) olen)
          return -1;
        olen = 0;
      }
      if (strncmp(p, "GET /bytes/", 11) == 0) {
        if ((olen && write(fd, out, olen) != (ssize_t) olen) ||
            send_bytes(fd, strtoull(p + 11, NULL, 10)) < 0)
          return -1;
        olen = 0;
      } else {
        memcpy(out + olen, reply, sizeof(reply) - 1);
        olen += sizeof(reply) - 1;
      }
      if (memmem(p, (size_t) (end - p), "Connection: close", 17) ||
          memmem(p, (size_t) (end - p), "connection: close", 17)) {
        if (olen && write(fd, out, olen) != (ssize_t) olen)
          return -1;
        return -1; /* answered: close */
      }
      p = end + 4;
    }
    c->len -= (size_t) (p - c->in);
    memmove(c->in, p, c->len);
    if (c->len == BUF) /* a request larger than the buffer */
      return -1;
    if (olen && write(fd, out, olen) != (ssize_t) olen)
      return -1;
    if ((size_t) n < BUF)
      return 0;
  }
}

static void run(int lfd)
{
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd != lfd) {
        if (serve(fd) < 0)
          drop(ep, fd);
        continue;
      }
      int c;
      while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if (c >= MAXFD) {
          close(c);
          continue;
        }
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conns[c] = calloc(1, sizeof(struct conn));
        struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
      }
    }
  }
}

int main(int argc, char **argv)
{
  const char *addr = argc > 1 ? argv[1] : "0.0.0.0";
  int port = argc > 2 ? atoi(argv[2]) : 8080;
  int workers = argc > 3 ? atoi(argv[3]) : 1;
  signal(SIGPIPE, SIG_IGN);
  for (int w = 1; w < workers; w++)
    if (fork() == 0)
      break;
  run(listener(addr, port));
  return 0;
}
