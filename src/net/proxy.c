/* The userland port proxy: listeners on the published host ports that
 * forward to a container's address, run in the supervisor's libuv loop.
 *
 * TCP: one accepted client = one connection to ctr_ip:ctr_port (TCP_NODELAY
 * on both); bytes are copied both ways through 64 KiB chunks taken from a
 * per-proxy pool (no allocation per read; a write that completes at once
 * hands its chunk straight back).  Back-pressure: a side stops being read
 * while more than WQ_HIGH bytes wait to be written to the other side, and
 * resumes once that queue is down to WQ_LOW.  Half-close: EOF from one side
 * becomes shutdown(SHUT_WR) towards the other once its queue is written; the
 * pair is closed when both directions are shut.  Errors (a reset, a failed
 * write, a refused connect) reset both sides.
 *
 * UDP: a flow per client address (a UDP socket connected to the container,
 * so the container's replies come back on it) and the replies sent to the
 * client from the listening socket; flows idle for mtk_net_proxy_udp_idle_ms
 * are closed, and past UDP_MAX_FLOWS per listener the least recently used
 * one makes room.  A datagram that cannot be sent at once is queued up to
 * UDP_QUEUE_MAX bytes per socket, then dropped (UDP may lose it anyway).
 *
 * Host addresses: "" binds 0.0.0.0 and, when the host has IPv6, [::]
 * (IPV6_V6ONLY) on the same port, as docker does.  The sockets are bound
 * first, all or nothing, and only then handed to libuv.
 *
 * Memory: mtk_net_proxy_stop closes every handle at once (the ports are
 * free when it returns); the proxy itself is freed from the last close
 * callback, so the loop must run once more (uv_run) before uv_loop_close. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "util/cleanup.h"

#define CHUNK_SIZE (64 * 1024) /* read buffer; also holds the largest datagram */
#define POOL_KEEP 64           /* free chunks kept for reuse */
#define WQ_HIGH (256 * 1024)   /* stop reading a side above this queued on the other */
#define WQ_LOW (64 * 1024)     /* resume reading at or below this */
#define UDP_MAX_FLOWS 4096     /* per listener */
#define UDP_BUCKETS 1024
#define UDP_QUEUE_MAX (256 * 1024)
#define EPHEMERAL_TRIES 16 /* picking one port free on both 0.0.0.0 and [::] */

/* The idle timeout of UDP flows (Docker's: 30 s); a variable so that the
 * unit test can shorten it. */
int mtk_net_proxy_udp_idle_ms = 30000;

struct chunk {
  union {
    uv_write_t w;
    uv_udp_send_t u;
  } req;
  struct chunk *next; /* in the pool's free list */
  void *owner;        /* borrowed: the side (TCP) a write goes to */
  char data[CHUNK_SIZE];
};

struct uflow;

struct listener {
  union {
    uv_handle_t h;
    uv_tcp_t tcp;
    uv_udp_t udp;
  } u;
  struct mtk_net_proxy *px;           /* borrowed */
  bool udp;                           /* u.udp, else u.tcp */
  struct sockaddr_storage target;     /* ctr_ip:ctr_port */
  struct listener *next;              /* the proxy's list */
  uv_timer_t sweep;                   /* UDP: closes idle flows */
  struct uflow *buckets[UDP_BUCKETS]; /* UDP: flows by client address */
  struct uflow *lru_head, *lru_tail;  /* UDP: most recently used first */
  size_t n_flows;
};

struct uflow {
  uv_udp_t udp;                   /* connected to the container */
  struct listener *l;             /* borrowed */
  struct sockaddr_storage client; /* the client's address */
  uint64_t last;                  /* uv_now() of the last datagram either way */
  struct uflow *hnext;            /* bucket chain */
  struct uflow *prev, *next;      /* LRU list */
};

struct tconn;

struct side {
  uv_tcp_t tcp;
  struct tconn *c;    /* borrowed: the pair */
  uv_shutdown_t shut; /* shutdown of the write half towards this side */
  bool eof;           /* this side sent EOF */
  bool shut_done;     /* the write half towards this side is shut */
  bool paused;        /* reading stopped by back-pressure */
};

struct tconn {
  struct side s[2]; /* 0 = the client, 1 = the container */
  uv_connect_t connect;
  struct mtk_net_proxy *px;  /* borrowed */
  struct tconn *prev, *next; /* the proxy's list */
  int open;                  /* handles not closed yet */
  bool closing;
};

struct mtk_net_proxy {
  uv_loop_t *loop;            /* borrowed */
  struct listener *listeners; /* owned */
  struct tconn *conns;        /* owned: open connection pairs */
  struct chunk *pool;         /* owned: free chunks */
  size_t n_pool;
  size_t handles; /* open handles (freed when 0 after stop) */
  bool stopped;
};

/* ------------------------------------------------------------ the proxy */

static struct chunk *chunk_get(struct mtk_net_proxy *px)
{
  struct chunk *ch = px->pool;
  if (ch == NULL)
    return mtk_xmalloc(sizeof(*ch));
  px->pool = ch->next;
  px->n_pool--;
  return ch;
}

static void chunk_put(struct mtk_net_proxy *px, struct chunk *ch)
{
  if (px->n_pool >= POOL_KEEP) {
    free(ch);
    return;
  }
  ch->next = px->pool;
  px->pool = ch;
  px->n_pool++;
}

static struct chunk *chunk_of(const char *base)
{
  return (struct chunk *) (void *) (base - offsetof(struct chunk, data));
}

static void px_free(struct mtk_net_proxy *px)
{
  while (px->listeners) {
    struct listener *l = px->listeners;
    px->listeners = l->next;
    free(l);
  }
  while (px->pool) {
    struct chunk *ch = px->pool;
    px->pool = ch->next;
    free(ch);
  }
  free(px);
}

static void px_unref(struct mtk_net_proxy *px)
{
  if (--px->handles == 0 && px->stopped)
    px_free(px);
}

static void on_listener_close(uv_handle_t *h)
{
  px_unref(((struct listener *) h->data)->px);
}

/* ------------------------------------------------------------ TCP */

static void on_side_close(uv_handle_t *h)
{
  struct side *s = h->data;
  struct tconn *c = s->c;
  struct mtk_net_proxy *px = c->px;
  if (--c->open == 0)
    free(c);
  px_unref(px);
}

/* Closes both sides; `reset` sends RST instead of FIN (an error on one side
 * is passed on to the other). */
static void conn_close(struct tconn *c, bool reset)
{
  if (c->closing)
    return;
  c->closing = true;
  if (c->prev)
    c->prev->next = c->next;
  else
    c->px->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  for (int i = 0; i < 2; i++) {
    uv_tcp_t *t = &c->s[i].tcp;
    if (uv_is_closing((uv_handle_t *) t))
      continue;
    if (!reset || uv_tcp_close_reset(t, on_side_close) < 0)
      uv_close((uv_handle_t *) t, on_side_close);
  }
}

static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  struct chunk *ch = chunk_get(((struct side *) h->data)->c->px);
  *buf = uv_buf_init(ch->data, CHUNK_SIZE);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  struct side *b = req->data;
  struct tconn *c = b->c;
  if (status == UV_ECANCELED || c->closing)
    return;
  if (status < 0 && !b->eof) { /* one that sent EOF and left (ENOTCONN) lost nothing */
    conn_close(c, true);
    return;
  }
  b->shut_done = true;
  if (c->s[0].eof && c->s[1].eof && c->s[0].shut_done && c->s[1].shut_done)
    conn_close(c, false);
}

/* EOF from a: shut the write half towards b once b's queue is written.
 * When b sent EOF before and nothing waits to be written either way, what
 * is left is to close both (close sends the FIN): no shutdown needed. */
static void half_close(struct tconn *c, struct side *a, struct side *b)
{
  a->eof = true;
  a->paused = false;
  uv_read_stop((uv_stream_t *) &a->tcp);
  if (b->eof && a->tcp.write_queue_size == 0 && b->tcp.write_queue_size == 0) {
    conn_close(c, false);
    return;
  }
  b->shut.data = b;
  if (uv_shutdown(&b->shut, (uv_stream_t *) &b->tcp, on_shutdown) < 0)
    conn_close(c, !b->eof);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void on_write(uv_write_t *req, int status)
{
  struct chunk *ch = req->data;
  struct side *b = ch->owner;
  struct tconn *c = b->c;
  struct side *a = &c->s[b == &c->s[0]];
  chunk_put(c->px, ch);
  if (status == UV_ECANCELED || c->closing)
    return;
  if (status < 0) {
    conn_close(c, true);
    return;
  }
  if (a->paused && b->tcp.write_queue_size <= WQ_LOW) {
    a->paused = false;
    if (uv_read_start((uv_stream_t *) &a->tcp, tcp_alloc, on_read) < 0)
      conn_close(c, true);
  }
}

/* Writes what was read from a to b: at once when b takes it all, else
 * queued (the chunk travels with the write request). */
static void forward(struct tconn *c, struct side *a, struct side *b, char *base, size_t n)
{
  struct chunk *ch = chunk_of(base);
  uv_buf_t wb = uv_buf_init(base, (unsigned) n);
  int w = uv_try_write((uv_stream_t *) &b->tcp, &wb, 1);
  if (w == (int) n) {
    chunk_put(c->px, ch);
    return;
  }
  if (w > 0) {
    wb.base += w;
    wb.len -= (size_t) w;
  }
  ch->owner = b;
  ch->req.w.data = ch;
  if ((w < 0 && w != UV_EAGAIN) ||
      uv_write(&ch->req.w, (uv_stream_t *) &b->tcp, &wb, 1, on_write) < 0) {
    chunk_put(c->px, ch);
    conn_close(c, true);
    return;
  }
  if (b->tcp.write_queue_size > WQ_HIGH) {
    uv_read_stop((uv_stream_t *) &a->tcp);
    a->paused = true;
  }
}

/* Whether the EOF libuv reported is a reset: after a short read, libuv
 * turns POLLHUP into EOF without reading again, and a reset that came with
 * the last data (POLLHUP too) would pass for a clean close. */
static bool reset_seen(uv_tcp_t *t)
{
  uv_os_fd_t fd;
  int e = 0;
  socklen_t len = sizeof(e);
  if (uv_fileno((uv_handle_t *) t, &fd) < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
    return false;
  return e != 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
  struct side *a = st->data;
  struct tconn *c = a->c;
  struct side *b = &c->s[a == &c->s[0]];
  if (nread > 0 && !c->closing) {
    forward(c, a, b, buf->base, (size_t) nread);
    return;
  }
  if (buf->base)
    chunk_put(c->px, chunk_of(buf->base));
  if (nread == 0 || c->closing)
    return;
  if (nread == UV_EOF && !reset_seen(&a->tcp))
    half_close(c, a, b);
  else
    conn_close(c, true);
}

static void on_connect(uv_connect_t *req, int status)
{
  struct tconn *c = req->data;
  if (status == UV_ECANCELED || c->closing)
    return;
  if (status < 0) { /* refused, unreachable: the client sees a reset */
    conn_close(c, true);
    return;
  }
  uv_tcp_nodelay(&c->s[1].tcp, 1);
  for (int i = 0; i < 2; i++)
    if (uv_read_start((uv_stream_t *) &c->s[i].tcp, tcp_alloc, on_read) < 0) {
      conn_close(c, true);
      return;
    }
}

static struct tconn *conn_new(struct mtk_net_proxy *px)
{
  struct tconn *c = mtk_xcalloc(1, sizeof(*c));
  c->px = px;
  for (int i = 0; i < 2; i++) {
    c->s[i].c = c;
    uv_tcp_init(px->loop, &c->s[i].tcp);
    c->s[i].tcp.data = &c->s[i];
    c->open++;
    px->handles++;
  }
  c->next = px->conns;
  if (px->conns)
    px->conns->prev = c;
  px->conns = c;
  return c;
}

static void on_accept(uv_stream_t *server, int status)
{
  struct listener *l = server->data;
  if (status < 0 || l->px->stopped)
    return;
  struct tconn *c = conn_new(l->px);
  if (uv_accept(server, (uv_stream_t *) &c->s[0].tcp) < 0) {
    conn_close(c, false);
    return;
  }
  c->connect.data = c; /* TCP_NODELAY: inherited from the listener */
  if (uv_tcp_connect(&c->connect, &c->s[1].tcp, (struct sockaddr *) &l->target, on_connect) < 0)
    conn_close(c, true);
}

/* ------------------------------------------------------------ UDP */

static size_t addr_len(const struct sockaddr *sa)
{
  return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
  if (a->sa_family != b->sa_family)
    return false;
  if (a->sa_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const void *) a, *y = (const void *) b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
  }
  const struct sockaddr_in *x = (const void *) a, *y = (const void *) b;
  return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static size_t addr_hash(const struct sockaddr *sa)
{
  const unsigned char *p;
  size_t n, h = 2166136261u; /* FNV-1a over address and port */
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a6 = (const void *) sa;
    p = (const unsigned char *) &a6->sin6_addr;
    n = sizeof(a6->sin6_addr);
    h = (h ^ a6->sin6_port) * 16777619u;
  } else {
    const struct sockaddr_in *a4 = (const void *) sa;
    p = (const unsigned char *) &a4->sin_addr;
    n = sizeof(a4->sin_addr);
    h = (h ^ a4->sin_port) * 16777619u;
  }
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h % UDP_BUCKETS;
}

static void listener_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  struct chunk *ch = chunk_get(((struct listener *) h->data)->px);
  *buf = uv_buf_init(ch->data, CHUNK_SIZE);
}

static void flow_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  struct chunk *ch = chunk_get(((struct uflow *) h->data)->l->px);
  *buf = uv_buf_init(ch->data, CHUNK_SIZE);
}

static void on_udp_sent(uv_udp_send_t *req, int status)
{
  struct chunk *ch = req->data;
  chunk_put(ch->owner, ch);
}

/* Sends a datagram (to `to`, or on a connected socket when NULL): at once,
 * else queued while the socket's queue is small, else dropped. */
static void udp_send(struct mtk_net_proxy *px, uv_udp_t *u, struct chunk *ch, size_t n,
                     const struct sockaddr *to)
{
  uv_buf_t b = uv_buf_init(ch->data, (unsigned) n);
  int r = uv_udp_try_send(u, &b, 1, to);
  if (r != UV_EAGAIN || u->send_queue_size > UDP_QUEUE_MAX) {
    chunk_put(px, ch);
    return;
  }
  ch->owner = px;
  ch->req.u.data = ch;
  if (uv_udp_send(&ch->req.u, u, &b, 1, to, on_udp_sent) < 0)
    chunk_put(px, ch);
}

static void on_flow_close(uv_handle_t *h)
{
  struct uflow *f = h->data;
  struct mtk_net_proxy *px = f->l->px;
  free(f);
  px_unref(px);
}

static void lru_unlink(struct listener *l, struct uflow *f)
{
  if (f->prev)
    f->prev->next = f->next;
  else
    l->lru_head = f->next;
  if (f->next)
    f->next->prev = f->prev;
  else
    l->lru_tail = f->prev;
  f->prev = f->next = NULL;
}

static void lru_push(struct listener *l, struct uflow *f)
{
  f->next = l->lru_head;
  if (l->lru_head)
    l->lru_head->prev = f;
  l->lru_head = f;
  if (l->lru_tail == NULL)
    l->lru_tail = f;
}

static void flow_touch(struct listener *l, struct uflow *f)
{
  f->last = uv_now(l->px->loop);
  if (l->lru_head != f) {
    lru_unlink(l, f);
    lru_push(l, f);
  }
}

static void flow_close(struct listener *l, struct uflow *f)
{
  struct uflow **pp = &l->buckets[addr_hash((struct sockaddr *) &f->client)];
  while (*pp != f)
    pp = &(*pp)->hnext;
  *pp = f->hnext;
  lru_unlink(l, f);
  if (--l->n_flows == 0)
    uv_timer_stop(&l->sweep);
  uv_close((uv_handle_t *) &f->udp, on_flow_close);
}

static void on_sweep(uv_timer_t *t)
{
  struct listener *l = t->data;
  uint64_t now = uv_now(l->px->loop);
  while (l->lru_tail && now - l->lru_tail->last >= (uint64_t) mtk_net_proxy_udp_idle_ms)
    flow_close(l, l->lru_tail);
}

static void on_flow_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                         const struct sockaddr *addr, unsigned flags)
{
  struct uflow *f = u->data;
  struct mtk_net_proxy *px = f->l->px;
  struct chunk *ch = buf->base ? chunk_of(buf->base) : NULL;
  /* errors (an ICMP port unreachable while nothing listens) keep the flow */
  if (ch && nread >= 0 && addr && !(flags & UV_UDP_PARTIAL) && !px->stopped) {
    flow_touch(f->l, f);
    udp_send(px, &f->l->u.udp, ch, (size_t) nread, (struct sockaddr *) &f->client);
  } else if (ch) {
    chunk_put(px, ch);
  }
}

static struct uflow *flow_new(struct listener *l, const struct sockaddr *client)
{
  struct mtk_net_proxy *px = l->px;
  struct uflow *f = mtk_xcalloc(1, sizeof(*f));
  f->l = l;
  memcpy(&f->client, client, addr_len(client));
  uv_udp_init(px->loop, &f->udp);
  f->udp.data = f;
  px->handles++;
  size_t b = addr_hash(client);
  f->hnext = l->buckets[b];
  l->buckets[b] = f;
  lru_push(l, f);
  if (l->n_flows++ == 0) {
    uint64_t every = (uint64_t) mtk_net_proxy_udp_idle_ms / 4 + 1;
    uv_timer_start(&l->sweep, on_sweep, every, every);
  }
  if (uv_udp_connect(&f->udp, (struct sockaddr *) &l->target) < 0 ||
      uv_udp_recv_start(&f->udp, flow_alloc, on_flow_recv) < 0) {
    flow_close(l, f);
    return NULL;
  }
  if (l->n_flows > UDP_MAX_FLOWS)
    flow_close(l, l->lru_tail);
  return f;
}

static void on_listener_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                             const struct sockaddr *addr, unsigned flags)
{
  struct listener *l = u->data;
  struct chunk *ch = buf->base ? chunk_of(buf->base) : NULL;
  if (ch == NULL)
    return;
  if (nread < 0 || addr == NULL || (flags & UV_UDP_PARTIAL) || l->px->stopped) {
    chunk_put(l->px, ch);
    return;
  }
  struct uflow *f = l->buckets[addr_hash(addr)];
  while (f && !same_addr((struct sockaddr *) &f->client, addr))
    f = f->hnext;
  if (f == NULL && (f = flow_new(l, addr)) == NULL) {
    chunk_put(l->px, ch);
    return;
  }
  flow_touch(l, f);
  udp_send(l->px, &f->udp, ch, (size_t) nread, NULL);
}

/* ------------------------------------------------------------ binding */

struct bound {
  int fd;   /* owned until handed to libuv; -1 after */
  size_t i; /* index of the port */
  bool udp;
};

struct binding {
  struct bound *v; /* owned */
  size_t n;
};

static void binding_close(struct binding *b)
{
  for (size_t k = 0; k < b->n; k++)
    if (b->v[k].fd >= 0)
      close(b->v[k].fd);
  free(b->v);
  b->v = NULL;
  b->n = 0;
}

/* A bound (and, for TCP, listening) socket; -errno on failure. */
static int open_socket(const struct sockaddr *sa, bool udp)
{
  int fd =
      socket(sa->sa_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  int one = 1;
  if (!udp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
    goto fail;
  if (!udp) /* accepted sockets inherit it: one setsockopt less per connection */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
    goto fail;
  if (bind(fd, sa, (socklen_t) addr_len(sa)) < 0 || (!udp && listen(fd, SOMAXCONN) < 0))
    goto fail;
  return fd;
fail:;
  int e = errno;
  close(fd);
  return -e;
}

static uint16_t local_port(int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
    return 0;
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
  return ntohs(((struct sockaddr_in *) &ss)->sin_port);
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
  if (ss->ss_family == AF_INET6)
    ((struct sockaddr_in6 *) ss)->sin6_port = htons(port);
  else
    ((struct sockaddr_in *) ss)->sin_port = htons(port);
}

static void binding_add(struct binding *b, int fd, size_t i, bool udp)
{
  b->v = mtk_xrealloc(b->v, (b->n + 1) * sizeof(*b->v));
  b->v[b->n++] = (struct bound){.fd = fd, .i = i, .udp = udp};
}

/* Binds port i: its address, plus [::] on the same port for "" when the
 * host has IPv6; an ephemeral port is picked free on both.  The port bound
 * in *port; -errno on failure. */
static int bind_port(const struct mtk_net_port *p, size_t i, struct binding *b, uint16_t *port)
{
  bool udp = strcmp(p->proto, "udp") == 0;
  struct sockaddr_storage a = {0}, a6 = {0};
  if (strchr(p->host_ip, ':')) {
    a.ss_family = AF_INET6;
    inet_pton(AF_INET6, p->host_ip, &((struct sockaddr_in6 *) &a)->sin6_addr);
  } else {
    a.ss_family = AF_INET;
    inet_pton(AF_INET, p->host_ip[0] ? p->host_ip : "0.0.0.0",
              &((struct sockaddr_in *) &a)->sin_addr);
  }
  a6.ss_family = AF_INET6; /* [::] */
  for (int tries = 0; tries < EPHEMERAL_TRIES; tries++) {
    set_port(&a, p->host_port);
    int fd = open_socket((struct sockaddr *) &a, udp);
    if (fd < 0)
      return fd;
    *port = local_port(fd);
    int fd6 = -EAFNOSUPPORT;
    if (p->host_ip[0] == '\0') {
      set_port(&a6, *port);
      fd6 = open_socket((struct sockaddr *) &a6, udp);
    }
    if (fd6 == -EADDRINUSE && p->host_port == 0) { /* taken on [::] only: another port */
      close(fd);
      continue;
    }
    binding_add(b, fd, i, udp);
    if (fd6 >= 0)
      binding_add(b, fd6, i, udp);
    else if (fd6 != -EAFNOSUPPORT && fd6 != -EADDRNOTAVAIL) /* not "no IPv6 here" */
      return fd6;
    return 0;
  }
  return -EADDRINUSE;
}

/* The error for port i that could not be bound (e: an errno value), in the
 * words of mtk_net_ports_check; the sockets bound so far are closed first so
 * that the check sees the host as it is (and catches a port published
 * twice).  A race the check does not see again gets the plain error. */
static int bind_error(const struct mtk_net_port *p, size_t i, uint16_t port, int e,
                      struct binding *b, struct mtk_err **err)
{
  binding_close(b);
  if (mtk_net_ports_check(p, i + 1, err) < 0) /* the holder, or why the address fails */
    return -1;
  return mtk_err_set(err, e, "cannot publish port %u/%s on %s: %s", (unsigned) port, p[i].proto,
                     p[i].host_ip[0] ? p[i].host_ip : "0.0.0.0", strerror(e));
}

/* ------------------------------------------------------------ start, stop */

static int listen_fd(struct mtk_net_proxy *px, struct bound *bd, const struct sockaddr *target)
{
  struct listener *l = mtk_xcalloc(1, sizeof(*l));
  l->px = px;
  l->udp = bd->udp;
  memcpy(&l->target, target, addr_len(target));
  l->next = px->listeners;
  px->listeners = l;
  int r;
  if (l->udp) {
    uv_udp_init(px->loop, &l->u.udp);
    uv_timer_init(px->loop, &l->sweep);
    l->sweep.data = l;
    px->handles += 2;
  } else {
    uv_tcp_init(px->loop, &l->u.tcp);
    px->handles++;
  }
  l->u.h.data = l;
  r = l->udp ? uv_udp_open(&l->u.udp, bd->fd) : uv_tcp_open(&l->u.tcp, bd->fd);
  if (r < 0)
    return r;
  bd->fd = -1; /* the handle owns it now */
  if (l->udp)
    return uv_udp_recv_start(&l->u.udp, listener_alloc, on_listener_recv);
  return uv_listen((uv_stream_t *) &l->u.tcp, SOMAXCONN, on_accept);
}

static int target_addr(const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
  memset(ss, 0, sizeof(*ss));
  if (ip && uv_ip4_addr(ip, port, (struct sockaddr_in *) ss) == 0)
    return 0;
  if (ip && uv_ip6_addr(ip, port, (struct sockaddr_in6 *) ss) == 0)
    return 0;
  return -1;
}

int mtk_net_proxy_start(uv_loop_t *loop, struct mtk_net_port *p, size_t n, const char *ctr_ip,
                        struct mtk_net_proxy **out, struct mtk_err **err)
{
  struct sockaddr_storage ss;
  if (target_addr(ctr_ip, 0, &ss) < 0)
    return mtk_err_set(err, EINVAL, "port proxy: \"%s\" is not an IP address",
                       ctr_ip ? ctr_ip : "(null)");
  struct binding b = {0};
  mtk_autofree uint16_t *ports = mtk_xcalloc(n + 1, sizeof(*ports));
  for (size_t i = 0; i < n; i++) {
    if (strcmp(p[i].proto, "tcp") != 0 && strcmp(p[i].proto, "udp") != 0) {
      binding_close(&b);
      return mtk_err_set(err, EINVAL, "port %u: protocol \"%s\" is not supported (tcp or udp)",
                         (unsigned) p[i].host_port, p[i].proto);
    }
    int r = bind_port(&p[i], i, &b, &ports[i]);
    if (r < 0)
      return bind_error(p, i, p[i].host_port ? p[i].host_port : ports[i], -r, &b, err);
  }
  struct mtk_net_proxy *px = mtk_xcalloc(1, sizeof(*px));
  px->loop = loop;
  for (size_t k = 0; k < b.n; k++) {
    target_addr(ctr_ip, p[b.v[k].i].ctr_port, &ss);
    int r = listen_fd(px, &b.v[k], (struct sockaddr *) &ss);
    if (r < 0) {
      binding_close(&b);
      mtk_net_proxy_stop(px);
      return mtk_err_set(err, -r, "port proxy: cannot listen on port %u/%s: %s",
                         (unsigned) ports[b.v[k].i], p[b.v[k].i].proto, uv_strerror(r));
    }
  }
  binding_close(&b);
  for (size_t i = 0; i < n; i++)
    p[i].host_port = ports[i];
  *out = px;
  return 0;
}

void mtk_net_proxy_stop(struct mtk_net_proxy *px)
{
  if (px == NULL || px->stopped)
    return;
  px->stopped = true;
  for (struct listener *l = px->listeners; l; l = l->next) {
    if (l->udp) {
      while (l->lru_head)
        flow_close(l, l->lru_head);
      uv_close((uv_handle_t *) &l->sweep, on_listener_close);
    }
    uv_close(&l->u.h, on_listener_close);
  }
  while (px->conns)
    conn_close(px->conns, false);
  if (px->handles == 0)
    px_free(px);
}
