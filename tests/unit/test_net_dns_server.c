/* Unit tests of the network DNS responder over real sockets (src/net/dns.c):
 * a responder on 127.0.0.10 (a free port) run on a libuv loop in a thread,
 * network records written to a temporary root, queries sent by a small client
 * over UDP and TCP, and a fake upstream server on 127.0.0.2 (a free port)
 * run in another thread for forwarding: ID mapping, timeouts, SERVFAIL, the
 * TCP fallback of truncated answers.  Only 127.0.0.0/8 addresses are used. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/dns.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/file.h"

#define SRV_ADDR "127.0.0.10"
#define UP_ADDR "127.0.0.2"

static char root[64];
static char resolv[128];
static uint16_t port, up_port;

/* ------------------------------------------------------------ records */

#define APP_FMT                                                                                    \
  "{\"Name\":\"appnet\",\"Id\":"                                                                   \
  "\"aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44\","                          \
  "\"Internal\":%s,\"IPAM\":{\"Config\":[{\"Subnet\":\"10.89.0.0/"                                 \
  "24\",\"Gateway\":\"10.89.0.1\"}]},"                                                             \
  "\"Containers\":{"                                                                               \
  "\"c1\":{\"Name\":\"proj-web-1\",\"IPv4Address\":\"10.89.0.2/24\",\"DNSNames\":[\"proj-web-1\"," \
  "\"web\"]},"                                                                                     \
  "\"c2\":{\"Name\":\"proj-web-2\",\"IPv4Address\":\"10.89.0.3/24\",\"DNSNames\":[\"web\"]},"      \
  "\"c3\":{\"Name\":\"proj-db-1\",\"IPv4Address\":\"%s/24\",\"Aliases\":[\"db\"]},"                \
  "\"cl\":{\"Name\":\"client\",\"IPv4Address\":\"127.0.0.1/8\"}%s}}"

static const char *BACK =
    "{\"Name\":\"backnet\",\"Id\":"
    "\"bb22000000000000000000000000000000000000000000000000000000000000\","
    "\"IPAM\":{\"Config\":[{\"Subnet\":\"10.90.0.0/24\",\"Gateway\":\"10.90.0.1\"}]},"
    "\"Containers\":{\"cl\":{\"Name\":\"client\",\"IPv4Address\":\"10.90.0.9/24\"},"
    "\"c9\":{\"Name\":\"cache\",\"IPv4Address\":\"10.90.0.7/24\"}}}";

static int write_file(const char *path, const char *text)
{
  struct mtk_err *err = NULL;
  int r = mtk_file_write_atomic(path, text, strlen(text), 0644, &err);
  if (r < 0)
    printf("# %s\n", err->msg);
  mtk_err_free(&err);
  return r;
}

static int write_app(const char *internal, const char *db_ip, const char *extra)
{
  mtk_autofree char *path = mtk_xasprintf("%s/networks/appnet.json", root);
  mtk_autofree char *text = mtk_xasprintf(APP_FMT, internal, db_ip, extra);
  return write_file(path, text);
}

/* ------------------------------------------------------------ messages */

static size_t mkquery(uint8_t *b, const char *name, uint16_t type, uint16_t id, int edns_size)
{
  memset(b, 0, 12);
  b[0] = (uint8_t) (id >> 8), b[1] = (uint8_t) id;
  b[2] = 0x01;
  b[5] = 1;
  size_t o = 12;
  for (const char *p = name; *p;) {
    size_t l = strcspn(p, ".");
    b[o++] = (uint8_t) l;
    memcpy(b + o, p, l);
    o += l;
    p += l;
    p += *p == '.';
  }
  b[o++] = 0;
  b[o++] = (uint8_t) (type >> 8), b[o++] = (uint8_t) type;
  b[o++] = 0, b[o++] = 1;
  if (edns_size) {
    b[11] = 1;
    uint8_t opt[11] = {0, 0, 41, (uint8_t) (edns_size >> 8), (uint8_t) edns_size, 0, 0, 0, 0, 0, 0};
    memcpy(b + o, opt, 11);
    o += 11;
  }
  return o;
}

/* The question name of a message, lower-cased, dotted; its end offset. */
static size_t qname(const uint8_t *m, size_t len, char *out)
{
  size_t off = 12, o = 0;
  while (off < len && m[off] && m[off] < 64) {
    if (o)
      out[o++] = '.';
    for (size_t k = 1; k <= m[off] && off + k < len; k++)
      out[o++] = (char) (m[off + k] | (m[off + k] >= 'A' && m[off + k] <= 'Z' ? 32 : 0));
    off += (size_t) m[off] + 1;
  }
  out[o] = '\0';
  return off + 1;
}

struct reply {
  uint8_t msg[65536];
  ssize_t len; /* -1: no reply */
  int rcode, ancount;
  bool tc;
  char addrs[256][16];
  size_t n_addrs;
};

static void decode(struct reply *r)
{
  const uint8_t *m = r->msg;
  r->n_addrs = 0;
  if (r->len < 12)
    return;
  r->rcode = m[3] & 0xF;
  r->tc = m[2] & 2;
  r->ancount = m[6] << 8 | m[7];
  char tmp[300];
  size_t off = m[5] ? qname(m, (size_t) r->len, tmp) + 4 : 12;
  for (int i = 0; i < r->ancount && off + 12 <= (size_t) r->len; i++) {
    if ((m[off] & 0xC0) != 0xC0)
      break; /* every answer here is owned by the question (a pointer) */
    int type = m[off + 2] << 8 | m[off + 3];
    size_t rdlen = (size_t) (m[off + 10] << 8 | m[off + 11]);
    if (type == 1 && rdlen == 4 && r->n_addrs < 256)
      inet_ntop(AF_INET, m + off + 12, r->addrs[r->n_addrs++], 16);
    off += 12 + rdlen;
  }
}

static bool has_addr(const struct reply *r, const char *a)
{
  for (size_t i = 0; i < r->n_addrs; i++)
    if (strcmp(r->addrs[i], a) == 0)
      return true;
  return false;
}

/* ------------------------------------------------------------ client */

static struct sockaddr_in sin_of(const char *addr, uint16_t p)
{
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p)};
  inet_pton(AF_INET, addr, &sa.sin_addr);
  return sa;
}

static struct reply R;

/* Sends a raw datagram from src (NULL: 127.0.0.1) and waits for the reply. */
static ssize_t udp_raw(const char *src, const uint8_t *q, size_t n, int timeout_ms)
{
  mtk_autoclose int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in from = sin_of(src ? src : "127.0.0.1", 0);
  struct sockaddr_in to = sin_of(SRV_ADDR, port);
  R.len = -1;
  if (fd < 0 || bind(fd, (struct sockaddr *) &from, sizeof(from)) < 0 ||
      sendto(fd, q, n, 0, (struct sockaddr *) &to, sizeof(to)) < 0)
    return -1;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, timeout_ms) != 1)
    return -1;
  R.len = recv(fd, R.msg, sizeof(R.msg), 0);
  decode(&R);
  return R.len;
}

static uint16_t next_id = 0x100;

static ssize_t udp_q(const char *src, const char *name, uint16_t type, int edns)
{
  uint8_t q[600];
  uint16_t id = next_id++;
  size_t n = mkquery(q, name, type, id, edns);
  if (udp_raw(src, q, n, 3000) < 12 || (R.msg[0] << 8 | R.msg[1]) != id)
    return -1;
  return R.len;
}

static bool read_full(int fd, uint8_t *b, size_t n)
{
  while (n) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 3000) != 1)
      return false;
    ssize_t r = read(fd, b, n);
    if (r <= 0)
      return false;
    b += r, n -= (size_t) r;
  }
  return true;
}

static int tcp_connect(void)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in to = sin_of(SRV_ADDR, port);
  if (fd >= 0 && connect(fd, (struct sockaddr *) &to, sizeof(to)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static ssize_t tcp_read_reply(int fd)
{
  uint8_t l[2];
  R.len = -1;
  if (!read_full(fd, l, 2) || !read_full(fd, R.msg, (size_t) (l[0] << 8 | l[1])))
    return -1;
  R.len = l[0] << 8 | l[1];
  decode(&R);
  return R.len;
}

static bool tcp_send(int fd, const char *name, uint16_t type, uint16_t id)
{
  uint8_t b[600];
  size_t n = mkquery(b + 2, name, type, id, 0);
  b[0] = (uint8_t) (n >> 8), b[1] = (uint8_t) n;
  return write(fd, b, n + 2) == (ssize_t) (n + 2);
}

/* ------------------------------------------------------------ fake upstream */

static struct {
  int udp, tcp, udp4, stop[2]; /* udp4: a second upstream on 127.0.0.4, same port */
  pthread_t th;
  atomic_int n_udp, n_tcp;
  atomic_int last_id;
} up;

/* The upstream's answer to q (length), by name: example.com one address,
 * fail.example SERVFAIL (an address from the second upstream), slow.example
 * nothing, mid/big.example truncated over UDP and 50/100 addresses over TCP,
 * else NXDOMAIN. */
static size_t up_answer(const uint8_t *q, size_t n, bool tcp, bool second, uint8_t *out)
{
  char name[300];
  size_t end = qname(q, n, name);
  if (end + 4 > n || strcmp(name, "slow.example") == 0)
    return 0;
  memcpy(out, q, end + 4);
  out[2] = 0x81, out[3] = 0x80;
  memset(out + 6, 0, 6);
  size_t o = end + 4, count = 0;
  if (strcmp(name, "example.com") == 0 || (second && strcmp(name, "fail.example") == 0))
    count = 1;
  else if (strcmp(name, "fail.example") == 0)
    out[3] |= 2;
  else if (strcmp(name, "mid.example") == 0 || strcmp(name, "big.example") == 0) {
    count = tcp ? (name[0] == 'm' ? 50 : 100) : 0;
    out[2] |= tcp ? 0 : 2; /* TC over UDP */
  } else
    out[3] |= 3;
  for (size_t i = 0; i < count; i++) {
    uint8_t rr[16] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34};
    if (count > 1)
      rr[12] = 10, rr[13] = 0, rr[14] = 0, rr[15] = (uint8_t) i;
    memcpy(out + o, rr, 16);
    o += 16;
  }
  out[7] = (uint8_t) count;
  return o;
}

static void up_tcp_client(int fd)
{
  uint8_t l[2], q[65536], out[4096];
  while (read_full(fd, l, 2) && read_full(fd, q, (size_t) (l[0] << 8 | l[1]))) {
    size_t n = (size_t) (l[0] << 8 | l[1]);
    atomic_fetch_add(&up.n_tcp, 1);
    atomic_store(&up.last_id, q[0] << 8 | q[1]);
    size_t r = up_answer(q, n, true, false, out + 2);
    if (!r)
      continue;
    out[0] = (uint8_t) (r >> 8), out[1] = (uint8_t) r;
    if (write(fd, out, r + 2) < 0)
      break;
  }
}

static void *up_run(void *arg)
{
  struct pollfd p[4] = {{.fd = up.udp, .events = POLLIN},
                        {.fd = up.tcp, .events = POLLIN},
                        {.fd = up.stop[0], .events = POLLIN},
                        {.fd = up.udp4, .events = POLLIN}};
  uint8_t q[65536], out[4096];
  while (poll(p, 4, -1) >= 0 && !p[2].revents) {
    for (int k = 0; k < 4; k += 3) {
      if (!p[k].revents)
        continue;
      struct sockaddr_in from;
      socklen_t fl = sizeof(from);
      ssize_t n = recvfrom(p[k].fd, q, sizeof(q), 0, (struct sockaddr *) &from, &fl);
      if (n >= 12) {
        atomic_fetch_add(&up.n_udp, 1);
        atomic_store(&up.last_id, q[0] << 8 | q[1]);
        size_t r = up_answer(q, (size_t) n, false, k == 3, out);
        if (r)
          sendto(p[k].fd, out, r, 0, (struct sockaddr *) &from, fl);
      }
    }
    if (p[1].revents) {
      int c = accept(up.tcp, NULL, NULL);
      if (c >= 0) {
        up_tcp_client(c);
        close(c);
      }
    }
  }
  return NULL;
}

/* A port free on addr for UDP and TCP (bound without SO_REUSEPORT, so a
 * responder of a test running in parallel is not shared), and for UDP on
 * 127.0.0.4 too when fds has room for it; the sockets stay open in fds when
 * asked. */
static uint16_t free_port(const char *addr, int *fds, bool second)
{
  for (int tries = 0; tries < 200; tries++) {
    uint16_t p = (uint16_t) (20000 + rand() % 40000);
    struct sockaddr_in sa = sin_of(addr, p);
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa4 = sin_of("127.0.0.4", p);
    int u4 = second ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) : -1;
    if (bind(u, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
        bind(t, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
        (!second || bind(u4, (struct sockaddr *) &sa4, sizeof(sa4)) == 0)) {
      if (fds) {
        fds[0] = u, fds[1] = t, fds[2] = u4;
      } else {
        close(u), close(t);
      }
      return p;
    }
    close(u), close(t);
    if (u4 >= 0)
      close(u4);
  }
  return 0;
}

static int up_start(void)
{
  int fds[3];
  up_port = free_port(UP_ADDR, fds, true);
  if (!up_port || listen(fds[1], 16) < 0 || pipe(up.stop) < 0)
    return -1;
  up.udp = fds[0], up.tcp = fds[1], up.udp4 = fds[2];
  return pthread_create(&up.th, NULL, up_run, NULL) == 0 ? 0 : -1;
}

static void up_stop(void)
{
  if (write(up.stop[1], "x", 1) == 1)
    pthread_join(up.th, NULL);
  close(up.udp), close(up.tcp), close(up.udp4), close(up.stop[0]), close(up.stop[1]);
}

/* ------------------------------------------------------------ responder */

static struct {
  uv_loop_t loop;
  uv_async_t stop;
  struct mtk_net_dns *d[2];
  pthread_t th;
} srv;

static void on_stop(uv_async_t *a)
{
  mtk_net_dns_stop(srv.d[0]);
  mtk_net_dns_stop(srv.d[1]);
  uv_close((uv_handle_t *) a, NULL);
}

static void *srv_run(void *arg)
{
  uv_run(&srv.loop, UV_RUN_DEFAULT);
  return NULL;
}

static struct mtk_net_dns_opts opts(void)
{
  return (struct mtk_net_dns_opts){.root = root,
                                   .network = "appnet",
                                   .address = SRV_ADDR,
                                   .port = port,
                                   .resolv_conf = resolv,
                                   .upstream_port = up_port,
                                   .timeout_ms = 300};
}

/* ------------------------------------------------------------ tests */

static int test_start_errors(void)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct mtk_net_dns_opts o = opts();
  struct mtk_net_dns *d = NULL;
  struct mtk_err *err = NULL;
  o.network = "nope";
  MTK_ASSERT(mtk_net_dns_start_at(&loop, &o, &d, &err) < 0);
  MTK_ASSERT(d == NULL);
  MTK_ASSERT_EQ(err->code, ENOENT);
  MTK_ASSERT_CONTAINS(err->msg, "network nope not found");
  mtk_err_free(&err);
  o.root = "/nonexistent-mtk-root";
  o.network = "appnet";
  MTK_ASSERT(mtk_net_dns_start_at(&loop, &o, &d, &err) < 0);
  MTK_ASSERT_CONTAINS(err->msg, "network appnet not found");
  mtk_err_free(&err);
  /* a port held without SO_REUSEPORT: EADDRINUSE with a hint */
  int fds[3];
  o = opts();
  o.port = free_port(SRV_ADDR, fds, false);
  MTK_ASSERT(o.port != 0);
  MTK_ASSERT(mtk_net_dns_start_at(&loop, &o, &d, &err) < 0);
  close(fds[0]), close(fds[1]);
  MTK_ASSERT_EQ(err->code, EADDRINUSE);
  MTK_ASSERT_CONTAINS(err->msg, "bind 127.0.0.10 port");
  MTK_ASSERT(err->hint != NULL);
  mtk_err_free(&err);
  /* nothing left on the loop */
  uv_run(&loop, UV_RUN_NOWAIT);
  MTK_ASSERT_EQ(uv_loop_close(&loop), 0);
  return 0;
}

static int test_names(void)
{
  MTK_ASSERT(udp_q(NULL, "proj-db-1", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_EQ(R.n_addrs, 1);
  MTK_ASSERT_STREQ(R.addrs[0], "10.89.0.4");
  MTK_ASSERT(udp_q(NULL, "DB.appnet.", 1, 0) > 0);
  MTK_ASSERT_STREQ(R.addrs[0], "10.89.0.4");
  MTK_ASSERT(udp_q(NULL, "db", 28, 0) > 0); /* AAAA: empty NOERROR */
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_EQ(R.ancount, 0);
  MTK_ASSERT(udp_q(NULL, "nosuch", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_NXDOMAIN);
  MTK_ASSERT(udp_q(NULL, "nosuch.example.org", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_SERVFAIL);
  /* replicas: both addresses each time, both orders over a few queries */
  int first2 = 0;
  for (int i = 0; i < 32; i++) {
    MTK_ASSERT(udp_q(NULL, "web", 1, 0) > 0);
    MTK_ASSERT_EQ(R.n_addrs, 2);
    MTK_ASSERT(has_addr(&R, "10.89.0.2") && has_addr(&R, "10.89.0.3"));
    first2 += strcmp(R.addrs[0], "10.89.0.2") == 0;
  }
  MTK_ASSERT(first2 > 0 && first2 < 32);
  return 0;
}

static int test_client_networks(void)
{
  /* 127.0.0.1 is the "client" endpoint, also on backnet */
  MTK_ASSERT(udp_q("127.0.0.1", "cache", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_STREQ(R.addrs[0], "10.90.0.7");
  MTK_ASSERT(udp_q("127.0.0.3", "cache", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_NXDOMAIN);
  return 0;
}

static int test_tcp(void)
{
  mtk_autoclose int fd = tcp_connect();
  MTK_ASSERT(fd >= 0);
  /* three pipelined queries, answers matched by ID */
  MTK_ASSERT(tcp_send(fd, "web", 1, 0xA1));
  MTK_ASSERT(tcp_send(fd, "proj-db-1", 1, 0xA2));
  MTK_ASSERT(tcp_send(fd, "nosuch", 1, 0xA3));
  int seen = 0;
  for (int i = 0; i < 3; i++) {
    MTK_ASSERT(tcp_read_reply(fd) > 0);
    int id = R.msg[0] << 8 | R.msg[1];
    if (id == 0xA1)
      MTK_ASSERT_EQ(R.n_addrs, 2);
    else if (id == 0xA2)
      MTK_ASSERT_STREQ(R.addrs[0], "10.89.0.4");
    else if (id == 0xA3)
      MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_NXDOMAIN);
    seen |= 1 << (id - 0xA1);
  }
  MTK_ASSERT_EQ(seen, 7);
  /* a message split across writes */
  uint8_t b[100];
  size_t n = mkquery(b + 2, "db", 1, 0xA4, 0);
  b[0] = 0, b[1] = (uint8_t) n;
  MTK_ASSERT_EQ(write(fd, b, 1), 1);
  usleep(20000);
  MTK_ASSERT_EQ(write(fd, b + 1, 5), 5);
  usleep(20000);
  MTK_ASSERT_EQ(write(fd, b + 6, n - 4), (ssize_t) (n - 4));
  MTK_ASSERT(tcp_read_reply(fd) > 0);
  MTK_ASSERT_STREQ(R.addrs[0], "10.89.0.4");
  /* a client that shuts its side after a query still gets the answer */
  mtk_autoclose int fd2 = tcp_connect();
  MTK_ASSERT(tcp_send(fd2, "web", 1, 0xA5));
  MTK_ASSERT_EQ(shutdown(fd2, SHUT_WR), 0);
  MTK_ASSERT(tcp_read_reply(fd2) > 0);
  MTK_ASSERT_EQ(R.n_addrs, 2);
  MTK_ASSERT_EQ(read(fd2, b, 1), 0); /* then closed */
  /* a length below a header: the connection is closed */
  uint8_t bad[4] = {0, 3, 1, 2};
  MTK_ASSERT_EQ(write(fd, bad, 4), 4);
  uint8_t c;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  MTK_ASSERT_EQ(poll(&p, 1, 3000), 1);
  MTK_ASSERT_EQ(read(fd, &c, 1), 0);
  return 0;
}

static int test_malformed(void)
{
  uint8_t junk[5] = {1, 2, 3, 4, 5};
  MTK_ASSERT_EQ(udp_raw(NULL, junk, sizeof(junk), 200), -1);
  uint8_t q[100];
  size_t n = mkquery(q, "web", 1, 0x77, 0);
  q[5] = 2;
  MTK_ASSERT(udp_raw(NULL, q, n, 3000) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_FORMERR);
  MTK_ASSERT_EQ(R.msg[1], 0x77);
  n = mkquery(q, "", 1, 0x78, 0);
  q[12] = 0xC0, q[13] = 12, q[14] = 0, q[15] = 1, q[16] = 0, q[17] = 1; /* a pointer loop */
  MTK_ASSERT(udp_raw(NULL, q, 18, 3000) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_FORMERR);
  n = mkquery(q, "web", 1, 0x79, 0);
  q[2] |= 0x80; /* a response: never answered */
  MTK_ASSERT_EQ(udp_raw(NULL, q, n, 200), -1);
  /* still alive */
  MTK_ASSERT(udp_q(NULL, "db", 1, 0) > 0);
  MTK_ASSERT_STREQ(R.addrs[0], "10.89.0.4");
  return 0;
}

static int test_reload(void)
{
  MTK_ASSERT_EQ(write_app("false", "10.89.0.40",
                          ",\"c5\":{\"Name\":\"late\",\"IPv4Address\":\"10.89.0.50/24\"}"),
                0);
  MTK_ASSERT(udp_q(NULL, "db", 1, 0) > 0);
  MTK_ASSERT_STREQ(R.addrs[0], "10.89.0.40");
  MTK_ASSERT(udp_q(NULL, "late", 1, 0) > 0);
  MTK_ASSERT_STREQ(R.addrs[0], "10.89.0.50");
  /* an in-place rewrite (same inode) is seen too */
  mtk_autofree char *path = mtk_xasprintf("%s/networks/appnet.json", root);
  mtk_autofree char *text = mtk_xasprintf(APP_FMT, "false", "10.89.0.41", "");
  usleep(20000); /* past the file system's timestamp granularity */
  FILE *f = fopen(path, "r+");
  MTK_ASSERT(f != NULL);
  fputs(text, f);
  MTK_ASSERT_EQ(ftruncate(fileno(f), (off_t) strlen(text)), 0);
  fclose(f);
  MTK_ASSERT(udp_q(NULL, "db", 1, 0) > 0);
  MTK_ASSERT_STREQ(R.addrs[0], "10.89.0.41");
  MTK_ASSERT(udp_q(NULL, "late", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_NXDOMAIN);
  /* the record removed: no names (loopback clients still answered) */
  MTK_ASSERT_EQ(unlink(path), 0);
  MTK_ASSERT(udp_q(NULL, "db", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_NXDOMAIN);
  MTK_ASSERT_EQ(write_app("false", "10.89.0.4", ""), 0);
  MTK_ASSERT(udp_q(NULL, "db", 1, 0) > 0);
  MTK_ASSERT_STREQ(R.addrs[0], "10.89.0.4");
  return 0;
}

static int test_forward(void)
{
  MTK_ASSERT_EQ(write_file(resolv, "search example.org\nnameserver "
                                   "127.0.0.3\nnameserver " UP_ADDR "\noptions ndots:0\n"),
                0);
  int udp0 = atomic_load(&up.n_udp);
  bool id_changed = false;
  for (int i = 0; i < 4; i++) {
    MTK_ASSERT(udp_q(NULL, "Example.com", 1, 0) > 0); /* checks the reply ID */
    MTK_ASSERT_EQ(R.rcode, 0);
    MTK_ASSERT_EQ(R.n_addrs, 1);
    MTK_ASSERT_STREQ(R.addrs[0], "93.184.216.34");
    id_changed |= atomic_load(&up.last_id) != (R.msg[0] << 8 | R.msg[1]);
  }
  MTK_ASSERT_EQ(atomic_load(&up.n_udp) - udp0, 4);
  MTK_ASSERT(id_changed);
  /* local names are not forwarded */
  MTK_ASSERT(udp_q(NULL, "db", 1, 0) > 0);
  MTK_ASSERT_EQ(atomic_load(&up.n_udp) - udp0, 4);
  /* unknown names go upstream, single-label ones too (as Docker) */
  MTK_ASSERT(udp_q(NULL, "nosuch", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_NXDOMAIN);
  MTK_ASSERT_EQ(atomic_load(&up.n_udp) - udp0, 5);
  /* SERVFAIL from the upstream, and no answer at all: SERVFAIL */
  MTK_ASSERT(udp_q(NULL, "fail.example", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_SERVFAIL);
  MTK_ASSERT(udp_q(NULL, "slow.example", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_SERVFAIL);
  /* a SERVFAIL is passed over when the next upstream answers */
  MTK_ASSERT_EQ(write_file(resolv, "nameserver " UP_ADDR "\nnameserver 127.0.0.4\n"), 0);
  MTK_ASSERT(udp_q(NULL, "fail.example", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_STREQ(R.addrs[0], "93.184.216.34");
  MTK_ASSERT_EQ(write_file(resolv, "nameserver 127.0.0.3\nnameserver " UP_ADDR "\n"), 0);
  return 0;
}

static int test_forward_truncated(void)
{
  int tcp0 = atomic_load(&up.n_tcp);
  /* EDNS 1232: the full 50-address answer (850 bytes) comes over TCP upstream */
  MTK_ASSERT(udp_q(NULL, "mid.example", 1, 1232) > 0);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT(!R.tc);
  MTK_ASSERT_EQ(R.n_addrs, 50);
  MTK_ASSERT_EQ(atomic_load(&up.n_tcp) - tcp0, 1);
  /* no EDNS: the truncated answer is relayed, the client retries over TCP */
  MTK_ASSERT(udp_q(NULL, "big.example", 1, 0) > 0);
  MTK_ASSERT(R.tc);
  MTK_ASSERT_EQ(R.n_addrs, 0);
  MTK_ASSERT_EQ(atomic_load(&up.n_tcp) - tcp0, 1);
  mtk_autoclose int fd = tcp_connect();
  MTK_ASSERT(tcp_send(fd, "big.example", 1, 0xB1));
  MTK_ASSERT(tcp_read_reply(fd) > 0);
  MTK_ASSERT_EQ(R.msg[0] << 8 | R.msg[1], 0xB1);
  MTK_ASSERT(!R.tc);
  MTK_ASSERT_EQ(R.n_addrs, 100);
  MTK_ASSERT_EQ(atomic_load(&up.n_tcp) - tcp0, 2);
  /* a forwarded answer after the client's EOF */
  mtk_autoclose int fd2 = tcp_connect();
  MTK_ASSERT(tcp_send(fd2, "Example.com", 1, 0xB3));
  MTK_ASSERT_EQ(shutdown(fd2, SHUT_WR), 0);
  MTK_ASSERT(tcp_read_reply(fd2) > 0);
  MTK_ASSERT_EQ(R.msg[0] << 8 | R.msg[1], 0xB3);
  MTK_ASSERT_STREQ(R.addrs[0], "93.184.216.34");
  uint8_t c;
  MTK_ASSERT_EQ(read(fd2, &c, 1), 0);
  /* TCP to an upstream that never answers: SERVFAIL */
  MTK_ASSERT(tcp_send(fd, "slow.example", 1, 0xB2));
  MTK_ASSERT(tcp_read_reply(fd) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_SERVFAIL);
  return 0;
}

static int test_internal(void)
{
  MTK_ASSERT_EQ(write_app("true", "10.89.0.4", ""), 0);
  int udp0 = atomic_load(&up.n_udp);
  MTK_ASSERT(udp_q(NULL, "example.com", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_SERVFAIL);
  MTK_ASSERT(udp_q(NULL, "nosuch", 1, 0) > 0);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_NXDOMAIN);
  MTK_ASSERT(udp_q(NULL, "db", 1, 0) > 0);
  MTK_ASSERT_STREQ(R.addrs[0], "10.89.0.4");
  MTK_ASSERT_EQ(atomic_load(&up.n_udp), udp0);
  MTK_ASSERT_EQ(write_app("false", "10.89.0.4", ""), 0);
  return 0;
}

static int test_stop_in_flight(void)
{
  /* a query waiting on the silent upstream when the responders stop */
  uint8_t q[100];
  size_t n = mkquery(q, "slow.example", 1, 0x99, 0);
  mtk_autoclose int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in to = sin_of(SRV_ADDR, port);
  MTK_ASSERT(sendto(fd, q, n, 0, (struct sockaddr *) &to, sizeof(to)) == (ssize_t) n);
  mtk_autoclose int tfd = tcp_connect();
  MTK_ASSERT(tfd >= 0);
  MTK_ASSERT(tcp_send(tfd, "slow.example", 1, 0x9A));
  usleep(50000);
  uv_async_send(&srv.stop);
  MTK_ASSERT_EQ(pthread_join(srv.th, NULL), 0);
  /* every handle closed: the loop closes */
  MTK_ASSERT_EQ(uv_loop_close(&srv.loop), 0);
  /* nothing listens any more */
  MTK_ASSERT_EQ(udp_raw(NULL, q, n, 200), -1);
  return 0;
}

static int rm_tree(void)
{
  mtk_autofree char *cmd = mtk_xasprintf("rm -rf '%s'", root);
  return system(cmd);
}

int main(void)
{
  snprintf(root, sizeof(root), "/tmp/mtk-dns-test-XXXXXX");
  if (!mkdtemp(root))
    return 1;
  snprintf(resolv, sizeof(resolv), "%s/resolv.conf", root);
  srand((unsigned) (time(NULL) ^ getpid()));
  mtk_autofree char *netdir = mtk_xasprintf("%s/networks", root);
  mtk_autofree char *back = mtk_xasprintf("%s/backnet.json", netdir);
  port = free_port(SRV_ADDR, NULL, false);
  if (mkdir(netdir, 0755) < 0 || write_app("false", "10.89.0.4", "") < 0 ||
      write_file(back, BACK) < 0 || write_file(resolv, "# no nameserver yet\n") < 0 || !port ||
      up_start() < 0) {
    printf("1..0 # SKIP cannot set up 127.0.0.x sockets or %s\n", root);
    rm_tree();
    return 77;
  }
  uv_loop_init(&srv.loop);
  uv_async_init(&srv.loop, &srv.stop, on_stop);
  struct mtk_net_dns_opts o = opts();
  struct mtk_err *err = NULL;
  /* two responders on the same address and port (SO_REUSEPORT) */
  if (mtk_net_dns_start_at(&srv.loop, &o, &srv.d[0], &err) < 0 ||
      mtk_net_dns_start_at(&srv.loop, &o, &srv.d[1], &err) < 0) {
    printf("Bail out! %s\n", err->msg);
    return 1;
  }
  pthread_create(&srv.th, NULL, srv_run, NULL);
  static const struct mtk_test tests[] = {
      {"start errors: unknown network, port held", test_start_errors},
      {"names, aliases, replicas, AAAA, NXDOMAIN over UDP", test_names},
      {"a client sees the networks of its container", test_client_networks},
      {"TCP: pipelined and split queries, bad length", test_tcp},
      {"malformed datagrams: FORMERR or dropped", test_malformed},
      {"records reloaded when they change", test_reload},
      {"forwarding: ID mapped, timeouts, SERVFAIL", test_forward},
      {"forwarding: truncated answers and TCP", test_forward_truncated},
      {"internal network: nothing forwarded", test_internal},
      {"stop with queries in flight", test_stop_in_flight},
      {NULL, NULL},
  };
  int r = mtk_test_main(tests);
  up_stop();
  rm_tree();
  return r;
}
