/* The DNS responder of a user network on a libuv loop (mtk_net_dns_start,
 * mtk_net_dns_start_at, mtk_net_dns_stop): UDP and TCP listeners on the
 * gateway address with SO_REUSEPORT (every supervisor with a container on
 * the network may run one; they all answer the same from the records), the
 * record table refreshed when a file changed (a few stat calls per query),
 * and the forwarding of other names to the host's resolvers: the query is
 * sent as it came with a fresh random ID (the client's put back in the
 * reply), each upstream tried in turn with a timeout, SERVFAIL and REFUSED
 * answers passed over, a truncated UDP answer fetched again over TCP (and
 * relayed truncated when the full one is larger than the client accepts),
 * SERVFAIL when no upstream answered.  TCP clients are forwarded over TCP.
 * Answers only clients of the network's subnets (loopback ones too when the
 * listen address is a loopback address, as in tests); others are dropped. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "net/dns.h"
#include "util/cleanup.h"
#include "util/file.h"

#define MAX_FWDS 1024       /* forwards in flight (Docker's maxConcurrent) */
#define MAX_CONNS 128       /* TCP clients */
#define MAX_CONN_PENDING 16 /* forwards in flight for one TCP client */
#define CONN_IDLE_MS 10000
#define CONN_MAX_QUEUED (1u << 20) /* a TCP client that does not read is closed */
#define TCP_BUF (2 + MTK_NET_DNS_MAXMSG)

struct conn;

struct attempt {
  struct fwd *owner; /* the forward it belongs to (freed after the attempt) */
  bool live;         /* false once abandoned: its callbacks do nothing */
  bool tcp;
  union {
    uv_handle_t h;
    uv_udp_t udp;
    uv_tcp_t tcp;
  } u;
  uv_connect_t creq;
  uv_write_t wreq;
  uint8_t len[2]; /* the TCP length prefix */
  uint8_t *rbuf;  /* owned: TCP reply buffer (TCP_BUF bytes) */
  size_t rused;
  struct sockaddr_storage to;
};

struct fwd {
  struct mtk_net_dns *d;
  struct fwd *prev, *next;
  struct mtk_net_dns_q q; /* the client's question and ID */
  uint8_t *msg;           /* owned: the query with our ID */
  size_t len;
  uint16_t our_id;
  struct sockaddr_storage client; /* a UDP client */
  struct conn *conn;              /* a TCP client (a reference), or NULL */
  size_t max;                     /* the client's UDP size */
  size_t server;                  /* index of the upstream asked now */
  bool tcp;                       /* asking over TCP now */
  uint8_t *tc;                    /* owned: a truncated UDP reply, during TCP fallback */
  size_t tc_len;
  struct attempt *att; /* the attempt running, or NULL */
  uv_timer_t timer;
  int refs; /* the timer and the attempts not closed yet */
};

struct conn {
  struct mtk_net_dns *d;
  struct conn *prev, *next;
  uv_tcp_t h;
  uv_timer_t idle;
  uint8_t *buf; /* owned: TCP_BUF bytes */
  size_t used;
  struct sockaddr_storage peer;
  int refs;    /* the two handles and the forwards holding it */
  int pending; /* forwards waiting to answer */
  bool eof;    /* the client shut its side: answer what is pending, then close */
  bool closing;
  uv_shutdown_t sreq;
};

struct mtk_net_dns {
  uv_loop_t *loop;
  uv_udp_t udp;
  uv_tcp_t tcp;
  int refs; /* listeners, connections and forwards not freed yet */
  bool stopping;
  char *netdir; /* owned: <root>/networks */
  char *net_id; /* owned: the network's Id */
  char *resolv; /* owned: the resolv.conf path */
  struct stat resolv_st;
  bool resolv_read;
  struct sockaddr_storage up[MTK_NET_DNS_MAXUP];
  size_t n_up;
  uint16_t up_port;
  unsigned timeout_ms;
  struct sockaddr_storage self;
  bool loopback_ok;
  struct mtk_net_dns_zone zone;
  long net; /* index in zone; -1 when the record went away */
  uint64_t rng;
  struct fwd *fwds;
  size_t n_fwds;
  struct conn *conns;
  size_t n_conns;
  uint8_t rbuf[65536]; /* every UDP datagram is read here */
  uint8_t obuf[MTK_NET_DNS_MAXMSG];
};

static void maybe_free(struct mtk_net_dns *d)
{
  if (--d->refs > 0)
    return;
  mtk_net_dns_zone_free(&d->zone);
  free(d->netdir);
  free(d->net_id);
  free(d->resolv);
  free(d);
}

/* ------------------------------------------------------------ state */

static void refresh_zone(struct mtk_net_dns *d)
{
  if (d->zone.n_paths && !mtk_net_dns_zone_stale(&d->zone, d->netdir))
    return;
  struct mtk_err *err = NULL;
  if (mtk_net_dns_zone_load(&d->zone, d->netdir, &err) < 0)
    mtk_err_free(&err);
  d->net = mtk_net_dns_zone_find(&d->zone, d->net_id);
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
  return a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void refresh_resolv(struct mtk_net_dns *d)
{
  struct stat st;
  if (stat(d->resolv, &st) < 0) {
    d->n_up = 0;
    d->resolv_read = false;
    return;
  }
  if (d->resolv_read && same_stat(&st, &d->resolv_st))
    return;
  d->resolv_st = st;
  d->resolv_read = true;
  struct mtk_err *err = NULL;
  size_t len;
  mtk_autofree char *text = mtk_file_read(d->resolv, 1u << 20, &len, &err);
  mtk_err_free(&err);
  d->n_up = text ? mtk_net_dns_parse_resolv(text, d->up_port, (struct sockaddr *) &d->self, d->up,
                                            MTK_NET_DNS_MAXUP)
                 : 0;
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
  if (a->sa_family != b->ss_family)
    return false;
  if (a->sa_family == AF_INET) {
    const struct sockaddr_in *x = (const void *) a, *y = (const void *) b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *) a, *y = (const void *) b;
  return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

size_t mtk_net_dns_parse_resolv(const char *text, uint16_t port, const struct sockaddr *self,
                                struct sockaddr_storage *out, size_t max)
{
  size_t n = 0;
  for (const char *line = text; *line && n < max;) {
    size_t l = strcspn(line, "\n");
    char buf[128];
    char addr[64];
    if (l < sizeof(buf)) {
      memcpy(buf, line, l);
      buf[l] = '\0';
      char *p = buf + strspn(buf, " \t");
      if (strncmp(p, "nameserver", 10) == 0 && (p[10] == ' ' || p[10] == '\t') &&
          sscanf(p + 10, "%63s", addr) == 1) {
        struct sockaddr_storage ss = {0};
        struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
        if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1 && s4->sin_addr.s_addr != 0) {
          s4->sin_family = AF_INET;
          s4->sin_port = htons(port);
        } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
          s6->sin6_family = AF_INET6;
          s6->sin6_port = htons(port);
        }
        if (ss.ss_family && !(self && same_addr(self, &ss)))
          out[n++] = ss;
      }
    }
    line += l;
    line += *line == '\n';
  }
  return n;
}

/* ------------------------------------------------------------ TCP clients */

static void conn_unref(struct conn *c)
{
  if (--c->refs > 0)
    return;
  struct mtk_net_dns *d = c->d;
  free(c->buf);
  free(c);
  maybe_free(d);
}

static void conn_closed(uv_handle_t *h)
{
  conn_unref(h->data);
}

static void conn_close(struct conn *c)
{
  if (c->closing)
    return;
  c->closing = true;
  if (c->prev)
    c->prev->next = c->next;
  else
    c->d->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->d->n_conns--;
  uv_close((uv_handle_t *) &c->h, conn_closed);
  uv_close((uv_handle_t *) &c->idle, conn_closed);
}

static void conn_shut(uv_shutdown_t *req, int status)
{
  struct conn *c = req->data;
  conn_close(c);
  conn_unref(c);
}

/* After the client's EOF and the last answer: our side shut once the
 * answers are written, then closed. */
static void conn_drain(struct conn *c)
{
  if (c->closing || !c->eof || c->pending || c->sreq.data)
    return;
  c->sreq.data = c;
  c->refs++;
  if (uv_shutdown(&c->sreq, (uv_stream_t *) &c->h, conn_shut) < 0) {
    conn_close(c);
    conn_unref(c);
  }
}

struct wreq {
  uv_write_t req;
  uint8_t data[];
};

static void conn_written(uv_write_t *req, int status)
{
  struct conn *c = req->data;
  free(req);
  if (status < 0)
    conn_close(c);
  conn_unref(c);
}

static void conn_send(struct conn *c, const uint8_t *msg, size_t len)
{
  if (c->closing || len > MTK_NET_DNS_MAXMSG)
    return;
  if (c->h.write_queue_size > CONN_MAX_QUEUED) {
    conn_close(c);
    return;
  }
  struct wreq *w = mtk_xmalloc(sizeof(*w) + 2 + len);
  w->data[0] = (uint8_t) (len >> 8);
  w->data[1] = (uint8_t) len;
  memcpy(w->data + 2, msg, len);
  w->req.data = c;
  uv_buf_t b = uv_buf_init((char *) w->data, (unsigned) (2 + len));
  c->refs++;
  if (uv_write(&w->req, (uv_stream_t *) &c->h, &b, 1, conn_written) < 0) {
    free(w);
    c->refs--;
    conn_close(c);
  }
}

/* ------------------------------------------------------------ forwarding */

static void fwd_next(struct fwd *f);
static void fwd_try(struct fwd *f);

static void fwd_unref(struct fwd *f)
{
  if (--f->refs > 0)
    return;
  struct mtk_net_dns *d = f->d;
  if (f->conn)
    conn_unref(f->conn);
  free(f->msg);
  free(f->tc);
  free(f);
  maybe_free(d);
}

static void att_closed(uv_handle_t *h)
{
  struct attempt *a = h->data;
  struct fwd *f = a->owner;
  free(a->rbuf);
  free(a);
  fwd_unref(f);
}

static void att_abandon(struct fwd *f)
{
  struct attempt *a = f->att;
  if (!a)
    return;
  f->att = NULL;
  a->live = false;
  uv_close(&a->u.h, att_closed);
}

static void timer_closed(uv_handle_t *h)
{
  fwd_unref(h->data);
}

/* Ends a forward: the reply (ID set to the client's) goes to the client
 * unless msg is NULL or the responder stops. */
static void fwd_finish(struct fwd *f, uint8_t *msg, size_t len)
{
  struct mtk_net_dns *d = f->d;
  if (msg && len >= 2 && !d->stopping) {
    msg[0] = (uint8_t) (f->q.id >> 8);
    msg[1] = (uint8_t) f->q.id;
    if (f->conn) {
      conn_send(f->conn, msg, len);
    } else {
      uv_buf_t b = uv_buf_init((char *) msg, (unsigned) len);
      uv_udp_try_send(&d->udp, &b, 1, (struct sockaddr *) &f->client);
    }
  }
  if (f->conn) {
    f->conn->pending--;
    conn_drain(f->conn);
  }
  att_abandon(f);
  if (f->prev)
    f->prev->next = f->next;
  else
    d->fwds = f->next;
  if (f->next)
    f->next->prev = f->prev;
  d->n_fwds--;
  uv_timer_stop(&f->timer);
  uv_close((uv_handle_t *) &f->timer, timer_closed);
}

static void fwd_fail(struct fwd *f)
{
  uint8_t out[MTK_NET_DNS_MAXNAME + 64];
  size_t n = mtk_net_dns_error_reply(&f->q, MTK_NET_DNS_SERVFAIL, out, sizeof(out));
  fwd_finish(f, n ? out : NULL, n);
}

/* An upstream reply (matching ours) to the attempt running. */
static void fwd_reply(struct fwd *f, uint8_t *msg, size_t len, bool over_tcp)
{
  int rcode = msg[3] & 0xF;
  if (rcode == MTK_NET_DNS_SERVFAIL || rcode == MTK_NET_DNS_REFUSED) {
    fwd_next(f); /* as Docker: the next upstream may know better */
    return;
  }
  if (over_tcp && f->tc) {
    if (len <= f->max)
      fwd_finish(f, msg, len);
    else
      fwd_finish(f, f->tc, f->tc_len);
    return;
  }
  if (!over_tcp && (msg[2] & 0x02) && !f->conn && f->max > 512) {
    /* truncated: the full answer over TCP may still fit what the client takes */
    f->tc = mtk_xmalloc(len);
    memcpy(f->tc, msg, len);
    f->tc_len = len;
    att_abandon(f);
    f->tcp = true;
    fwd_try(f);
    return;
  }
  fwd_finish(f, msg, len);
}

static void fwd_timeout(uv_timer_t *t)
{
  struct fwd *f = t->data;
  if (f->tc)
    fwd_finish(f, f->tc, f->tc_len);
  else
    fwd_next(f);
}

static void fwd_next(struct fwd *f)
{
  att_abandon(f);
  if (f->tc) { /* the TCP fallback failed: what UDP gave is the answer */
    fwd_finish(f, f->tc, f->tc_len);
    return;
  }
  f->server++;
  fwd_try(f);
}

static void udp_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
  struct attempt *a = h->data;
  struct mtk_net_dns *d = a->owner->d;
  *buf = uv_buf_init((char *) d->rbuf, sizeof(d->rbuf));
}

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                     unsigned flags)
{
  struct attempt *a = h->data;
  if (!a->live || n <= 0 || !from || !same_addr(from, &a->to))
    return;
  struct fwd *f = a->owner;
  if (!mtk_net_dns_reply_matches((uint8_t *) buf->base, (size_t) n, f->our_id, &f->q))
    return; /* not the answer: keep waiting until the timeout */
  fwd_reply(f, (uint8_t *) buf->base, (size_t) n, false);
}

static int att_udp(struct attempt *a)
{
  struct fwd *f = a->owner;
  int r = uv_udp_init(f->d->loop, &a->u.udp);
  if (r < 0)
    return r;
  a->u.h.data = a;
  struct sockaddr_storage any = {.ss_family = a->to.ss_family};
  uv_buf_t b = uv_buf_init((char *) f->msg, (unsigned) f->len);
  if ((r = uv_udp_bind(&a->u.udp, (struct sockaddr *) &any, 0)) < 0 ||
      (r = uv_udp_recv_start(&a->u.udp, udp_alloc, udp_recv)) < 0)
    return r;
  r = uv_udp_try_send(&a->u.udp, &b, 1, (struct sockaddr *) &a->to);
  return r < 0 ? r : 0;
}

static void tcp_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
  struct attempt *a = h->data;
  if (!a->rbuf)
    a->rbuf = mtk_xmalloc(TCP_BUF);
  *buf = uv_buf_init((char *) a->rbuf + a->rused, (unsigned) (TCP_BUF - a->rused));
}

static void tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
  struct attempt *a = s->data;
  if (!a->live || n == 0)
    return;
  struct fwd *f = a->owner;
  if (n < 0) {
    fwd_next(f);
    return;
  }
  a->rused += (size_t) n;
  if (a->rused < 2)
    return;
  size_t len = (size_t) a->rbuf[0] << 8 | a->rbuf[1];
  if (a->rused < 2 + len)
    return;
  if (!mtk_net_dns_reply_matches(a->rbuf + 2, len, f->our_id, &f->q)) {
    fwd_next(f);
    return;
  }
  fwd_reply(f, a->rbuf + 2, len, true);
}

static void tcp_written(uv_write_t *req, int status)
{
  struct attempt *a = req->data;
  if (a->live && status < 0)
    fwd_next(a->owner);
}

static void tcp_connected(uv_connect_t *req, int status)
{
  struct attempt *a = req->data;
  if (!a->live)
    return;
  struct fwd *f = a->owner;
  uv_buf_t b[2] = {uv_buf_init((char *) a->len, 2),
                   uv_buf_init((char *) f->msg, (unsigned) f->len)};
  a->len[0] = (uint8_t) (f->len >> 8);
  a->len[1] = (uint8_t) f->len;
  a->wreq.data = a;
  if (status < 0 || uv_write(&a->wreq, (uv_stream_t *) &a->u.tcp, b, 2, tcp_written) < 0 ||
      uv_read_start((uv_stream_t *) &a->u.tcp, tcp_alloc, tcp_read) < 0)
    fwd_next(f);
}

static int att_tcp(struct attempt *a)
{
  int r = uv_tcp_init(a->owner->d->loop, &a->u.tcp);
  if (r < 0)
    return r;
  a->u.h.data = a;
  a->creq.data = a;
  return uv_tcp_connect(&a->creq, &a->u.tcp, (struct sockaddr *) &a->to, tcp_connected);
}

/* Asks upstream number f->server (over TCP when f->tcp), or fails. */
static void fwd_try(struct fwd *f)
{
  struct mtk_net_dns *d = f->d;
  if (f->server >= d->n_up) {
    fwd_fail(f);
    return;
  }
  struct attempt *a = mtk_xcalloc(1, sizeof(*a));
  a->owner = f;
  a->live = true;
  a->tcp = f->tcp;
  a->to = d->up[f->server];
  int r = a->tcp ? att_tcp(a) : att_udp(a);
  if (a->u.h.type == UV_UNKNOWN_HANDLE) { /* init failed: nothing to close */
    free(a);
    f->server++;
    fwd_try(f);
    return;
  }
  f->att = a;
  f->refs++;
  if (r < 0) {
    fwd_next(f);
    return;
  }
  uv_timer_start(&f->timer, fwd_timeout, d->timeout_ms, 0);
}

static void fwd_start(struct mtk_net_dns *d, const uint8_t *msg, size_t len,
                      const struct mtk_net_dns_q *q, const struct sockaddr *client,
                      struct conn *conn)
{
  if (d->n_fwds >= MAX_FWDS || (conn && conn->pending >= MAX_CONN_PENDING)) {
    size_t n = mtk_net_dns_error_reply(q, MTK_NET_DNS_REFUSED, d->obuf, 512);
    if (conn)
      conn_send(conn, d->obuf, n);
    else if (n) {
      uv_buf_t b = uv_buf_init((char *) d->obuf, (unsigned) n);
      uv_udp_try_send(&d->udp, &b, 1, client);
    }
    return;
  }
  struct fwd *f = mtk_xcalloc(1, sizeof(*f));
  f->d = d;
  f->q = *q;
  f->msg = mtk_xmalloc(len);
  memcpy(f->msg, msg, len);
  f->len = len;
  f->our_id = (uint16_t) mtk_net_dns_rand(&d->rng);
  f->msg[0] = (uint8_t) (f->our_id >> 8);
  f->msg[1] = (uint8_t) f->our_id;
  f->max = q->udp_size < 4096 ? q->udp_size : 4096;
  f->tcp = conn != NULL;
  if (conn) {
    f->conn = conn;
    conn->refs++;
    conn->pending++;
  } else {
    memcpy(&f->client, client,
           client->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
  }
  uv_timer_init(d->loop, &f->timer);
  f->timer.data = f;
  f->refs = 1;
  f->next = d->fwds;
  if (d->fwds)
    d->fwds->prev = f;
  d->fwds = f;
  d->n_fwds++;
  d->refs++;
  fwd_try(f);
}

/* ------------------------------------------------------------ queries */

/* One query from a client (conn NULL: over UDP). */
static void handle(struct mtk_net_dns *d, const uint8_t *msg, size_t len,
                   const struct sockaddr *client, struct conn *conn)
{
  refresh_zone(d);
  if (!mtk_net_dns_allowed(&d->zone, d->net, client, d->loopback_ok))
    return;
  refresh_resolv(d);
  struct mtk_net_dns_view view;
  mtk_net_dns_view_make(&view, &d->zone, d->net, client);
  bool internal = d->net >= 0 && d->zone.nets[d->net].internal;
  struct mtk_net_dns_ctx ctx = {
      .view = &view, .forward = d->n_up > 0 && !internal, .tcp = conn != NULL, .rng = &d->rng};
  struct mtk_net_dns_q q;
  size_t n = 0;
  switch (mtk_net_dns_answer(&ctx, msg, len, &q, d->obuf, sizeof(d->obuf), &n)) {
    case MTK_NET_DNS_DROP:
      return;
    case MTK_NET_DNS_FORWARD:
      fwd_start(d, msg, len, &q, client, conn);
      return;
    case MTK_NET_DNS_REPLY:
      if (conn) {
        conn_send(conn, d->obuf, n);
      } else {
        uv_buf_t b = uv_buf_init((char *) d->obuf, (unsigned) n);
        uv_udp_try_send(&d->udp, &b, 1, client);
      }
  }
}

static void server_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
  struct mtk_net_dns *d = h->data;
  *buf = uv_buf_init((char *) d->rbuf, sizeof(d->rbuf));
}

static void server_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                        unsigned flags)
{
  struct mtk_net_dns *d = h->data;
  if (n <= 0 || !from || (flags & UV_UDP_PARTIAL) || d->stopping)
    return;
  handle(d, (uint8_t *) buf->base, (size_t) n, from, NULL);
}

static void conn_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
  struct conn *c = h->data;
  *buf = uv_buf_init((char *) c->buf + c->used, (unsigned) (TCP_BUF - c->used));
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
  struct conn *c = s->data;
  if (n == UV_EOF) {
    uv_read_stop(s);
    c->eof = true;
    conn_drain(c);
    return;
  }
  if (n < 0) {
    conn_close(c);
    return;
  }
  c->used += (size_t) n;
  uv_timer_again(&c->idle);
  while (!c->closing && c->used >= 2) {
    size_t len = (size_t) c->buf[0] << 8 | c->buf[1];
    if (len < 12) { /* not even a header: a broken client */
      conn_close(c);
      return;
    }
    if (c->used < 2 + len)
      return;
    c->refs++; /* handle() may close c */
    handle(c->d, c->buf + 2, len, (struct sockaddr *) &c->peer, c);
    memmove(c->buf, c->buf + 2 + len, c->used - 2 - len);
    c->used -= 2 + len;
    conn_unref(c);
  }
}

static void conn_idle(uv_timer_t *t)
{
  struct conn *c = t->data;
  if (c->pending == 0)
    conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
  struct mtk_net_dns *d = server->data;
  if (status < 0 || d->stopping)
    return;
  struct conn *c = mtk_xcalloc(1, sizeof(*c));
  c->d = d;
  c->buf = mtk_xmalloc(TCP_BUF);
  uv_tcp_init(d->loop, &c->h);
  uv_timer_init(d->loop, &c->idle);
  c->h.data = c->idle.data = c;
  c->refs = 2;
  d->refs++;
  c->next = d->conns;
  if (d->conns)
    d->conns->prev = c;
  d->conns = c;
  d->n_conns++;
  int len = sizeof(c->peer);
  refresh_zone(d);
  if (uv_accept(server, (uv_stream_t *) &c->h) < 0 || d->n_conns > MAX_CONNS ||
      uv_tcp_getpeername(&c->h, (struct sockaddr *) &c->peer, &len) < 0 ||
      !mtk_net_dns_allowed(&d->zone, d->net, (struct sockaddr *) &c->peer, d->loopback_ok) ||
      uv_read_start((uv_stream_t *) &c->h, conn_alloc, conn_read) < 0) {
    conn_close(c);
    return;
  }
  uv_timer_start(&c->idle, conn_idle, CONN_IDLE_MS, CONN_IDLE_MS);
}

/* ------------------------------------------------------------ start, stop */

static void listener_closed(uv_handle_t *h)
{
  maybe_free(h->data);
}

void mtk_net_dns_stop(struct mtk_net_dns *d)
{
  if (!d || d->stopping)
    return;
  d->stopping = true;
  while (d->fwds)
    fwd_finish(d->fwds, NULL, 0);
  while (d->conns)
    conn_close(d->conns);
  uv_close((uv_handle_t *) &d->udp, listener_closed);
  uv_close((uv_handle_t *) &d->tcp, listener_closed);
}

/* A socket bound to addr with SO_REUSEPORT (and IP_FREEBIND: the bridge may
 * get its address a moment later). */
static int bind_socket(int type, const struct sockaddr *sa, const char *what, struct mtk_err **err)
{
  mtk_autoclose int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0)
    return mtk_err_set(err, errno, "DNS responder: socket: %s", strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (sa->sa_family == AF_INET)
    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
  else
    setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
  socklen_t sl =
      sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  if (bind(fd, sa, sl) < 0) {
    int e = errno;
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = ntohs(((const struct sockaddr_in *) sa)->sin_port);
    inet_ntop(sa->sa_family,
              sa->sa_family == AF_INET
                  ? (const void *) &((const struct sockaddr_in *) sa)->sin_addr
                  : (const void *) &((const struct sockaddr_in6 *) sa)->sin6_addr,
              host, sizeof(host));
    mtk_err_set(err, e, "DNS responder: bind %s port %u/%s: %s", host, port, what, strerror(e));
    if (e == EADDRINUSE)
      mtk_err_hint(err,
                   "another DNS server (dnsmasq, systemd-resolved, ...) holds port %u on "
                   "this address or on all addresses without SO_REUSEPORT; stop it or make "
                   "it listen on specific addresses only",
                   port);
    else if (e == EACCES)
      mtk_err_hint(err, "binding port %u needs root or CAP_NET_BIND_SERVICE", port);
    return -1;
  }
  return mtk_steal_fd(&fd);
}

static int listen_addr(const struct mtk_net_dns_opts *o, const struct mtk_net_dns_netrec *n,
                       struct sockaddr_storage *ss, struct mtk_err **err)
{
  const char *addr = o->address ? o->address : n->gateway;
  uint16_t port = htons(o->port ? o->port : 53);
  struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
  memset(ss, 0, sizeof(*ss));
  if (!addr)
    return mtk_err_set(err, EINVAL, "network %s has no IPv4 gateway for its DNS responder",
                       n->name);
  if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = port;
  } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = port;
  } else {
    return mtk_err_set(err, EINVAL, "DNS responder of network %s: bad address %s", n->name, addr);
  }
  return 0;
}

/* The listeners on the loop: -1 on error with nothing open, 1 on error with
 * the handles open (closed by mtk_net_dns_stop). */
static int open_listeners(struct mtk_net_dns *d, struct mtk_err **err)
{
  struct sockaddr *sa = (struct sockaddr *) &d->self;
  mtk_autoclose int ufd = bind_socket(SOCK_DGRAM, sa, "udp", err);
  if (ufd < 0)
    return -1;
  mtk_autoclose int tfd = bind_socket(SOCK_STREAM, sa, "tcp", err);
  if (tfd < 0)
    return -1;
  /* without flags these initialisations cannot fail */
  uv_udp_init(d->loop, &d->udp);
  uv_tcp_init(d->loop, &d->tcp);
  d->udp.data = d->tcp.data = d;
  d->refs += 2; /* the listeners' references */
  int r;
  if ((r = uv_udp_open(&d->udp, ufd)) == 0)
    mtk_steal_fd(&ufd);
  if (r == 0 && (r = uv_tcp_open(&d->tcp, tfd)) == 0)
    mtk_steal_fd(&tfd);
  if (r == 0)
    r = uv_udp_recv_start(&d->udp, server_alloc, server_recv);
  if (r == 0)
    r = uv_listen((uv_stream_t *) &d->tcp, 128, on_connection);
  if (r < 0) {
    mtk_err_set(err, -r, "DNS responder: %s", uv_strerror(r));
    return 1; /* handles open: closed by mtk_net_dns_stop */
  }
  return 0;
}

static struct mtk_net_dns *dns_new(uv_loop_t *loop, const struct mtk_net_dns_opts *o)
{
  struct mtk_net_dns *d = mtk_xcalloc(1, sizeof(*d));
  d->loop = loop;
  d->netdir = mtk_xasprintf("%s/networks", o->root);
  d->resolv = mtk_xstrdup(o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf");
  d->up_port = o->upstream_port ? o->upstream_port : 53;
  d->timeout_ms = o->timeout_ms ? o->timeout_ms : 2000;
  d->net = -1;
  d->refs = 1;
  if (getrandom(&d->rng, sizeof(d->rng), 0) != sizeof(d->rng))
    d->rng = (uint64_t) getpid() << 32 ^ (uint64_t) (uintptr_t) d;
  d->rng |= 1;
  return d;
}

int mtk_net_dns_start_at(uv_loop_t *loop, const struct mtk_net_dns_opts *o,
                         struct mtk_net_dns **out, struct mtk_err **err)
{
  *out = NULL;
  struct mtk_net_dns *d = dns_new(loop, o);
  struct mtk_err *lerr = NULL;
  if (mtk_net_dns_zone_load(&d->zone, d->netdir, &lerr) < 0 ||
      (d->net = mtk_net_dns_zone_find(&d->zone, o->network)) < 0) {
    mtk_err_set(err, ENOENT, "DNS responder: network %s not found%s%s", o->network,
                lerr ? ": " : "", lerr ? lerr->msg : "");
    mtk_err_free(&lerr);
    maybe_free(d);
    return -1;
  }
  const struct mtk_net_dns_netrec *n = &d->zone.nets[d->net];
  d->net_id = mtk_xstrdup(n->id);
  if (listen_addr(o, n, &d->self, err) < 0) {
    maybe_free(d);
    return -1;
  }
  const uint8_t *a = (const uint8_t *) &((struct sockaddr_in *) &d->self)->sin_addr;
  d->loopback_ok = d->self.ss_family == AF_INET
                       ? a[0] == 127
                       : IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *) &d->self)->sin6_addr);
  int r = open_listeners(d, err);
  if (r != 0) {
    if (r > 0)
      mtk_net_dns_stop(d);
    maybe_free(d);
    return -1;
  }
  maybe_free(d); /* the caller's reference: the listeners keep d */
  refresh_resolv(d);
  *out = d;
  return 0;
}

int mtk_net_dns_start(uv_loop_t *loop, const char *root, const char *network,
                      struct mtk_net_dns **out, struct mtk_err **err)
{
  struct mtk_net_dns_opts o = {.root = root, .network = network};
  return mtk_net_dns_start_at(loop, &o, out, err);
}
