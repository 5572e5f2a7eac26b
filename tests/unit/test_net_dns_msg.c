/* Unit tests of the network DNS responder without sockets: the name table
 * built from network records (src/net/dns_zone.c) and the wire format
 * (src/net/dns_msg.c): Docker's lookup rules, replicas, AAAA/MX/ANY/PTR
 * answers, NXDOMAIN/SERVFAIL without upstream, malformed queries, the UDP
 * size limit, upstream reply checks and the resolv.conf parser. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"
#include "tap.h"

static const char *REC_APP =
    "{\"Name\":\"appnet\",\"Id\":"
    "\"aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44\","
    "\"Internal\":false,\"IPAM\":{\"Driver\":\"default\",\"Config\":[{\"Subnet\":\"10.89.0.0/24\","
    "\"Gateway\":\"10.89.0.1\"}]},\"Containers\":{"
    "\"c1\":{\"Name\":\"proj-web-1\",\"IPv4Address\":\"10.89.0.2/24\",\"Aliases\":[\"web\"],"
    "\"DNSNames\":[\"proj-web-1\",\"web\",\"c1short\"]},"
    "\"c2\":{\"Name\":\"proj-web-2\",\"IPv4Address\":\"10.89.0.3/24\",\"DNSNames\":[\"proj-web-2\","
    "\"web\"]},"
    "\"c3\":{\"Name\":\"proj-db-1\",\"IPv4Address\":\"10.89.0.4/24\",\"DNSNames\":[\"proj-db-1\","
    "\"Database\",\"my.db\"]},"
    "\"c4\":{\"Name\":\"v6ctr\",\"IPv4Address\":\"10.89.0.5/24\",\"IPv6Address\":\"fd00::5/64\"},"
    "\"cl\":{\"Name\":\"client\",\"IPv4Address\":\"10.89.0.9/24\"},"
    "\"bad\":{\"Name\":\"broken\",\"IPv4Address\":\"not-an-address\"}}}";

static const char *REC_BACK =
    "{\"Name\":\"backnet\",\"Id\":"
    "\"bb22000000000000000000000000000000000000000000000000000000000000\","
    "\"IPAM\":{\"Config\":[{\"Subnet\":\"10.90.0.0/24\",\"Gateway\":\"10.90.0.1\"}]},"
    "\"Containers\":{\"cl\":{\"Name\":\"client\",\"IPv4Address\":\"10.90.0.9/24\"},"
    "\"c9\":{\"Name\":\"cache\",\"IPv4Address\":\"10.90.0.7/"
    "24\",\"DNSNames\":[\"cache\",\"web\"]}}}";

static const char *REC_BRIDGE =
    "{\"Name\":\"bridge\",\"Id\":"
    "\"cc00000000000000000000000000000000000000000000000000000000000000\","
    "\"IPAM\":{\"Config\":[{\"Subnet\":\"172.17.0.0/16\",\"Gateway\":\"172.17.0.1\"}]},"
    "\"Containers\":{\"cl\":{\"Name\":\"client\",\"IPv4Address\":\"172.17.0.2/16\"},"
    "\"cb\":{\"Name\":\"onbridge\",\"IPv4Address\":\"172.17.0.3/16\"}}}";

static struct mtk_net_dns_zone zone;

static int add(const char *text)
{
  json_t *j = json_loads(text, 0, NULL);
  struct mtk_err *err = NULL;
  int r = j ? mtk_net_dns_zone_add(&zone, j, &err) : -1;
  json_decref(j);
  mtk_err_free(&err);
  return r;
}

static void setup(void)
{
  mtk_net_dns_zone_free(&zone);
  add(REC_APP);
  add(REC_BACK);
  add(REC_BRIDGE);
}

/* A query for name (dots separate labels, a trailing dot is allowed). */
static size_t mkquery(uint8_t *b, const char *name, uint16_t type, uint16_t id, int edns_size)
{
  memset(b, 0, 12);
  b[0] = (uint8_t) (id >> 8), b[1] = (uint8_t) id;
  b[2] = 0x01; /* RD */
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

struct reply {
  enum mtk_net_dns_verdict v;
  uint8_t msg[65536];
  size_t len;
  int rcode;
  int ancount;
  bool tc;
  uint8_t addrs[512][16]; /* the A/AAAA rdata in order */
  size_t n_addrs;
  char ptr[256];
  uint32_t ttl;
};

/* Reads a name at off (pointers followed) into out as dotted text. */
static size_t name_at(const uint8_t *m, size_t len, size_t off, char *out)
{
  size_t end = 0, o = 0;
  int hops = 0;
  while (off < len && m[off]) {
    if ((m[off] & 0xC0) == 0xC0) {
      if (!end)
        end = off + 2;
      off = (size_t) (m[off] & 0x3F) << 8 | m[off + 1];
      if (++hops > 20)
        return 0;
      continue;
    }
    if (o)
      out[o++] = '.';
    memcpy(out + o, m + off + 1, m[off]);
    o += m[off];
    off += (size_t) m[off] + 1;
  }
  out[o] = '\0';
  return end ? end : off + 1;
}

static void decode(struct reply *r)
{
  const uint8_t *m = r->msg;
  r->rcode = m[3] & 0xF;
  r->tc = m[2] & 0x02;
  r->ancount = m[6] << 8 | m[7];
  r->n_addrs = 0;
  r->ptr[0] = '\0';
  char tmp[300];
  size_t off = 12;
  if (m[5])
    off = name_at(m, r->len, off, tmp) + 4;
  for (int i = 0; i < r->ancount && off < r->len; i++) {
    off = name_at(m, r->len, off, tmp);
    int type = m[off] << 8 | m[off + 1];
    r->ttl = (uint32_t) m[off + 4] << 24 | m[off + 5] << 16 | m[off + 6] << 8 | m[off + 7];
    size_t rdlen = (size_t) (m[off + 8] << 8 | m[off + 9]);
    off += 10;
    if ((type == 1 || type == 28) && r->n_addrs < 512) {
      memset(r->addrs[r->n_addrs], 0, 16);
      memcpy(r->addrs[r->n_addrs++], m + off, rdlen);
    }
    if (type == 12)
      name_at(m, r->len, off, r->ptr);
    off += rdlen;
  }
}

static struct reply R;

static enum mtk_net_dns_verdict ask_from(const char *name, uint16_t type, bool forward,
                                         const char *client, int edns)
{
  uint8_t q[600];
  size_t n = mkquery(q, name, type, 0x1234, edns);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  inet_pton(AF_INET, client ? client : "10.89.0.200", &sa.sin_addr);
  struct mtk_net_dns_view v;
  mtk_net_dns_view_make(&v, &zone, mtk_net_dns_zone_find(&zone, "appnet"), (struct sockaddr *) &sa);
  struct mtk_net_dns_ctx c = {.view = &v, .forward = forward, .tcp = false, .rng = NULL};
  struct mtk_net_dns_q qq;
  R.len = 0;
  R.v = mtk_net_dns_answer(&c, q, n, &qq, R.msg, sizeof(R.msg), &R.len);
  if (R.v == MTK_NET_DNS_REPLY)
    decode(&R);
  return R.v;
}

static enum mtk_net_dns_verdict ask(const char *name, uint16_t type)
{
  return ask_from(name, type, false, NULL, 0);
}

static const char *a4(size_t i)
{
  static char buf[4][INET6_ADDRSTRLEN];
  inet_ntop(AF_INET, R.addrs[i], buf[i % 4], sizeof(buf[0]));
  return buf[i % 4];
}

static int test_a_records(void)
{
  setup();
  MTK_ASSERT_EQ(ask("proj-db-1", 1), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_EQ(R.n_addrs, 1);
  MTK_ASSERT_STREQ(a4(0), "10.89.0.4");
  MTK_ASSERT_EQ(R.ttl, 600);
  MTK_ASSERT_EQ(R.msg[0], 0x12);
  MTK_ASSERT_EQ(R.msg[1], 0x34);
  MTK_ASSERT(R.msg[2] & 0x80); /* QR */
  MTK_ASSERT(R.msg[3] & 0x80); /* RA */
  MTK_ASSERT(R.msg[2] & 0x01); /* RD copied */
  /* aliases and DNS names, any case, trailing dot, a name with a dot */
  const char *names[] = {"DataBase", "database.", "PROJ-DB-1", "my.db", "My.DB."};
  for (size_t i = 0; i < 5; i++) {
    MTK_ASSERT_EQ(ask(names[i], 1), MTK_NET_DNS_REPLY);
    MTK_ASSERT_EQ(R.n_addrs, 1);
    MTK_ASSERT_STREQ(a4(0), "10.89.0.4");
  }
  /* the question comes back in the client's case */
  MTK_ASSERT(memcmp(R.msg + 13, "My", 2) == 0);
  MTK_ASSERT_EQ(ask("c1short", 1), MTK_NET_DNS_REPLY);
  MTK_ASSERT_STREQ(a4(0), "10.89.0.2");
  return 0;
}

static int test_network_qualified(void)
{
  setup();
  MTK_ASSERT_EQ(ask("proj-db-1.appnet", 1), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_STREQ(a4(0), "10.89.0.4");
  MTK_ASSERT_EQ(ask("my.db.AppNet.", 1), MTK_NET_DNS_REPLY);
  MTK_ASSERT_STREQ(a4(0), "10.89.0.4");
  /* another network's name: not ours (the client is not on backnet) */
  MTK_ASSERT_EQ(ask("proj-db-1.backnet", 1), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_SERVFAIL);
  MTK_ASSERT_EQ(ask_from("proj-db-1.othernet", 1, true, NULL, 0), MTK_NET_DNS_FORWARD);
  return 0;
}

static int test_replicas(void)
{
  setup();
  MTK_ASSERT_EQ(ask("web", 1), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.n_addrs, 2);
  MTK_ASSERT_STREQ(a4(0), "10.89.0.2");
  MTK_ASSERT_STREQ(a4(1), "10.89.0.3");
  /* shuffled with an rng: both orders show up */
  uint64_t rng = 42;
  int first2 = 0, first3 = 0;
  for (int i = 0; i < 64; i++) {
    uint8_t q[100];
    size_t n = mkquery(q, "WEB", 1, 7, 0);
    struct mtk_net_dns_view v;
    mtk_net_dns_view_make(&v, &zone, mtk_net_dns_zone_find(&zone, "appnet"), NULL);
    struct mtk_net_dns_ctx c = {.view = &v, .rng = &rng};
    struct mtk_net_dns_q qq;
    MTK_ASSERT_EQ(mtk_net_dns_answer(&c, q, n, &qq, R.msg, sizeof(R.msg), &R.len),
                  MTK_NET_DNS_REPLY);
    decode(&R);
    MTK_ASSERT_EQ(R.n_addrs, 2);
    first2 += strcmp(a4(0), "10.89.0.2") == 0;
    first3 += strcmp(a4(0), "10.89.0.3") == 0;
  }
  MTK_ASSERT(first2 > 0 && first3 > 0);
  MTK_ASSERT_EQ(first2 + first3, 64);
  return 0;
}

static int test_aaaa_any_mx(void)
{
  setup();
  MTK_ASSERT_EQ(ask("web", 28), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_EQ(R.ancount, 0);
  MTK_ASSERT_EQ(ask("v6ctr", 28), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.ancount, 1);
  char buf[64];
  inet_ntop(AF_INET6, R.addrs[0], buf, sizeof(buf));
  MTK_ASSERT_STREQ(buf, "fd00::5");
  MTK_ASSERT_EQ(ask("v6ctr", 255), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.ancount, 2);
  MTK_ASSERT_EQ(ask("web", 15), MTK_NET_DNS_REPLY); /* MX: NODATA */
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_EQ(R.ancount, 0);
  MTK_ASSERT_EQ(ask("web", 16), MTK_NET_DNS_REPLY); /* TXT: NODATA too */
  MTK_ASSERT_EQ(R.ancount, 0);
  /* an endpoint whose address did not parse: known, no address */
  MTK_ASSERT_EQ(ask("broken", 1), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_EQ(R.ancount, 0);
  return 0;
}

static int test_ptr(void)
{
  setup();
  MTK_ASSERT_EQ(ask("4.0.89.10.in-addr.arpa", 12), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_EQ(R.ancount, 1);
  MTK_ASSERT_STREQ(R.ptr, "proj-db-1.appnet");
  MTK_ASSERT_EQ(ask("4.0.89.10.IN-ADDR.ARPA.", 12), MTK_NET_DNS_REPLY);
  MTK_ASSERT_STREQ(R.ptr, "proj-db-1.appnet");
  /* not an endpoint, or not canonical: forwarded */
  MTK_ASSERT_EQ(ask_from("99.0.89.10.in-addr.arpa", 12, true, NULL, 0), MTK_NET_DNS_FORWARD);
  MTK_ASSERT_EQ(ask_from("04.0.89.10.in-addr.arpa", 12, true, NULL, 0), MTK_NET_DNS_FORWARD);
  MTK_ASSERT_EQ(ask_from("4.0.89.10.0.in-addr.arpa", 12, true, NULL, 0), MTK_NET_DNS_FORWARD);
  MTK_ASSERT_EQ(ask_from("4.0.89.256.in-addr.arpa", 12, true, NULL, 0), MTK_NET_DNS_FORWARD);
  return 0;
}

static int test_unknown_names(void)
{
  setup();
  MTK_ASSERT_EQ(ask("nosuch", 1), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_NXDOMAIN);
  MTK_ASSERT_EQ(ask("nosuch.example.com", 1), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_SERVFAIL);
  MTK_ASSERT_EQ(ask_from("nosuch", 1, true, NULL, 0), MTK_NET_DNS_FORWARD);
  MTK_ASSERT_EQ(ask_from("example.com", 1, true, NULL, 0), MTK_NET_DNS_FORWARD);
  /* the root and names with odd bytes are never local */
  MTK_ASSERT_EQ(ask_from("", 2, true, NULL, 0), MTK_NET_DNS_FORWARD);
  /* the default bridge has no names, even for a client on it */
  MTK_ASSERT_EQ(ask_from("onbridge", 1, false, "10.89.0.9", 0), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_NXDOMAIN);
  return 0;
}

static int test_client_networks(void)
{
  setup();
  /* client 10.89.0.9 is also on backnet: its names resolve, appnet first */
  MTK_ASSERT_EQ(ask_from("cache", 1, false, "10.89.0.9", 0), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_STREQ(a4(0), "10.90.0.7");
  MTK_ASSERT_EQ(ask_from("cache.backnet", 1, false, "10.89.0.9", 0), MTK_NET_DNS_REPLY);
  MTK_ASSERT_STREQ(a4(0), "10.90.0.7");
  MTK_ASSERT_EQ(ask_from("web", 1, false, "10.89.0.9", 0), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.n_addrs, 2); /* appnet's replicas, not backnet's "web" */
  MTK_ASSERT_EQ(ask_from("web.backnet", 1, false, "10.89.0.9", 0), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.n_addrs, 1);
  MTK_ASSERT_STREQ(a4(0), "10.90.0.7");
  /* another client of appnet does not see backnet */
  MTK_ASSERT_EQ(ask_from("cache", 1, false, "10.89.0.2", 0), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, MTK_NET_DNS_NXDOMAIN);
  return 0;
}

static uint8_t Q[70000];

static int expect_rcode(size_t len, int rcode)
{
  struct mtk_net_dns_view v;
  mtk_net_dns_view_make(&v, &zone, 0, NULL);
  struct mtk_net_dns_ctx c = {.view = &v};
  struct mtk_net_dns_q qq;
  R.len = 0;
  enum mtk_net_dns_verdict vd = mtk_net_dns_answer(&c, Q, len, &qq, R.msg, 512, &R.len);
  if (rcode < 0)
    return vd == MTK_NET_DNS_DROP ? 0 : 1;
  if (vd != MTK_NET_DNS_REPLY || R.len < 12 || (R.msg[3] & 0xF) != rcode) {
    printf("#   rcode %d expected, verdict %d rcode %d\n", rcode, vd, R.len ? R.msg[3] & 0xF : -1);
    return 1;
  }
  return mtk_net_dns_valid(R.msg, R.len) ? 0 : 1;
}

static int test_malformed(void)
{
  setup();
  size_t n = mkquery(Q, "web", 1, 9, 0);
  MTK_ASSERT_EQ(expect_rcode(11, -1), 0);                     /* shorter than a header */
  MTK_ASSERT_EQ(expect_rcode(n - 1, MTK_NET_DNS_FORMERR), 0); /* question cut */
  MTK_ASSERT_EQ(expect_rcode(16, MTK_NET_DNS_FORMERR), 0);    /* name cut */
  Q[2] |= 0x80;                                               /* a response: dropped */
  MTK_ASSERT_EQ(expect_rcode(n, -1), 0);
  Q[2] = 0x10; /* opcode 2 (STATUS) */
  MTK_ASSERT_EQ(expect_rcode(n, MTK_NET_DNS_NOTIMP), 0);
  n = mkquery(Q, "web", 1, 9, 0);
  Q[5] = 2; /* two questions */
  MTK_ASSERT_EQ(expect_rcode(n, MTK_NET_DNS_FORMERR), 0);
  Q[5] = 0;
  MTK_ASSERT_EQ(expect_rcode(n, MTK_NET_DNS_FORMERR), 0);
  /* compression loops: a pointer to itself, and a forward pointer */
  n = mkquery(Q, "", 1, 9, 0);
  Q[12] = 0xC0, Q[13] = 12, Q[14] = 0, Q[15] = 1, Q[16] = 0, Q[17] = 1;
  MTK_ASSERT_EQ(expect_rcode(18, MTK_NET_DNS_FORMERR), 0);
  Q[13] = 14;
  MTK_ASSERT_EQ(expect_rcode(18, MTK_NET_DNS_FORMERR), 0);
  /* a backward pointer into the header is allowed but yields junk: FORMERR or a reply */
  Q[13] = 0;
  struct mtk_net_dns_q qq;
  MTK_ASSERT(mtk_net_dns_parse(Q, 18, &qq) >= 0);
  /* label types 0x40 and 0x80 */
  n = mkquery(Q, "web", 1, 9, 0);
  Q[12] = 0x43;
  MTK_ASSERT_EQ(expect_rcode(n, MTK_NET_DNS_FORMERR), 0);
  Q[12] = 0x83;
  MTK_ASSERT_EQ(expect_rcode(n, MTK_NET_DNS_FORMERR), 0);
  /* a name of 256 bytes (4 x 63-byte labels + 4 length bytes) */
  size_t o = 12;
  memset(Q + 2, 0, 10);
  Q[5] = 1;
  for (int i = 0; i < 4; i++) {
    Q[o++] = 63;
    memset(Q + o, 'a', 63);
    o += 63;
  }
  Q[o++] = 0, Q[o++] = 0, Q[o++] = 1, Q[o++] = 0, Q[o++] = 1;
  MTK_ASSERT_EQ(expect_rcode(o, MTK_NET_DNS_FORMERR), 0);
  /* 255 bytes is fine */
  o = 12;
  for (int i = 0; i < 3; i++) {
    Q[o++] = 63;
    memset(Q + o, 'a', 63);
    o += 63;
  }
  Q[o++] = 61;
  memset(Q + o, 'a', 61);
  o += 61;
  Q[o++] = 0, Q[o++] = 0, Q[o++] = 1, Q[o++] = 0, Q[o++] = 1;
  MTK_ASSERT_EQ(expect_rcode(o, MTK_NET_DNS_SERVFAIL), 0);
  /* an additional record running past the end, and two OPT records */
  n = mkquery(Q, "web", 1, 9, 1232);
  MTK_ASSERT_EQ(expect_rcode(n, 0), 0);
  MTK_ASSERT_EQ(expect_rcode(n - 1, MTK_NET_DNS_FORMERR), 0);
  memcpy(Q + n, Q + n - 11, 11);
  Q[11] = 2;
  MTK_ASSERT_EQ(expect_rcode(n + 11, MTK_NET_DNS_FORMERR), 0);
  /* a huge answer count with no records */
  n = mkquery(Q, "web", 1, 9, 0);
  Q[6] = 0xFF, Q[7] = 0xFF;
  MTK_ASSERT_EQ(expect_rcode(n, MTK_NET_DNS_FORMERR), 0);
  return 0;
}

static int test_edns(void)
{
  setup();
  MTK_ASSERT_EQ(ask_from("web", 1, false, NULL, 1232), MTK_NET_DNS_REPLY);
  MTK_ASSERT_EQ(R.rcode, 0);
  MTK_ASSERT_EQ(R.msg[11], 1); /* our OPT */
  MTK_ASSERT(mtk_net_dns_valid(R.msg, R.len));
  MTK_ASSERT_EQ(R.msg[R.len - 9], 41);
  /* version 1: BADVERS (extended rcode 1 in the OPT, 0 in the header) */
  size_t n = mkquery(Q, "web", 1, 9, 1232);
  Q[n - 5] = 1;
  MTK_ASSERT_EQ(expect_rcode(n, 0), 0);
  MTK_ASSERT_EQ(R.msg[7], 0);
  MTK_ASSERT_EQ(R.msg[R.len - 6], 1);
  return 0;
}

static int test_truncation(void)
{
  mtk_net_dns_zone_free(&zone);
  /* 200 replicas of "many" */
  json_t *ctrs = json_object();
  for (int i = 0; i < 200; i++) {
    char id[16], ip[32];
    snprintf(id, sizeof(id), "m%d", i);
    snprintf(ip, sizeof(ip), "10.89.%d.%d/16", i / 250, 1 + i % 250);
    json_object_set_new(
        ctrs, id,
        json_pack("{s:s, s:s, s:[s]}", "Name", id, "IPv4Address", ip, "DNSNames", "many"));
  }
  json_t *rec = json_pack("{s:s, s:s, s:o}", "Name", "appnet", "Id", "ab", "Containers", ctrs);
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_net_dns_zone_add(&zone, rec, &err), 0);
  json_decref(rec);
  MTK_ASSERT_EQ(ask("many", 1), MTK_NET_DNS_REPLY);
  MTK_ASSERT(R.tc);
  MTK_ASSERT(R.len <= 512);
  MTK_ASSERT_EQ(R.ancount, (512 - 22) / 16); /* header + question: 22 bytes, A: 16 */
  MTK_ASSERT(mtk_net_dns_valid(R.msg, R.len));
  MTK_ASSERT_EQ(ask_from("many", 1, false, NULL, 4096), MTK_NET_DNS_REPLY);
  MTK_ASSERT(!R.tc);
  MTK_ASSERT_EQ(R.ancount, 200);
  /* over TCP there is no UDP limit */
  uint8_t q[100];
  size_t n = mkquery(q, "many", 1, 1, 0);
  struct mtk_net_dns_view v;
  mtk_net_dns_view_make(&v, &zone, 0, NULL);
  struct mtk_net_dns_ctx c = {.view = &v, .tcp = true};
  struct mtk_net_dns_q qq;
  MTK_ASSERT_EQ(mtk_net_dns_answer(&c, q, n, &qq, R.msg, sizeof(R.msg), &R.len), MTK_NET_DNS_REPLY);
  decode(&R);
  MTK_ASSERT(!R.tc);
  MTK_ASSERT_EQ(R.ancount, 200);
  return 0;
}

static int test_reply_matches(void)
{
  uint8_t q[100], r[200];
  size_t n = mkquery(q, "Example.COM", 1, 0x4242, 0);
  struct mtk_net_dns_q qq;
  MTK_ASSERT_EQ(mtk_net_dns_parse(q, n, &qq), 0);
  size_t rn = mkquery(r, "example.com", 1, 0x4242, 0);
  r[2] |= 0x80;
  MTK_ASSERT(mtk_net_dns_reply_matches(r, rn, 0x4242, &qq));
  MTK_ASSERT(!mtk_net_dns_reply_matches(r, rn, 0x4243, &qq));
  MTK_ASSERT(!mtk_net_dns_reply_matches(r, rn - 1, 0x4242, &qq));
  rn = mkquery(r, "example.org", 1, 0x4242, 0);
  r[2] |= 0x80;
  MTK_ASSERT(!mtk_net_dns_reply_matches(r, rn, 0x4242, &qq));
  rn = mkquery(r, "example.com", 28, 0x4242, 0);
  r[2] |= 0x80;
  MTK_ASSERT(!mtk_net_dns_reply_matches(r, rn, 0x4242, &qq));
  rn = mkquery(r, "example.com", 1, 0x4242, 0);
  MTK_ASSERT(!mtk_net_dns_reply_matches(r, rn, 0x4242, &qq)); /* not a response */
  /* an error without the question */
  r[2] |= 0x80;
  r[5] = 0;
  r[3] = 2;
  MTK_ASSERT(mtk_net_dns_reply_matches(r, 12, 0x4242, &qq));
  r[3] = 0;
  MTK_ASSERT(!mtk_net_dns_reply_matches(r, 12, 0x4242, &qq));
  return 0;
}

static int test_zone_find(void)
{
  setup();
  MTK_ASSERT_EQ(zone.n, 3);
  long app = mtk_net_dns_zone_find(&zone, "appnet");
  MTK_ASSERT(app >= 0);
  MTK_ASSERT_EQ(mtk_net_dns_zone_find(&zone, "aa11bb"), app);
  MTK_ASSERT_EQ(mtk_net_dns_zone_find(&zone, "nope"), -1);
  MTK_ASSERT_EQ(mtk_net_dns_zone_find(&zone, "bb22"), mtk_net_dns_zone_find(&zone, "backnet"));
  MTK_ASSERT(zone.nets[app].gateway);
  MTK_ASSERT_STREQ(zone.nets[app].gateway, "10.89.0.1");
  MTK_ASSERT_EQ(zone.nets[app].n_subnets, 1);
  MTK_ASSERT_EQ(zone.nets[app].subnets[0].prefix, 24);
  /* no Name: refused */
  json_t *j = json_pack("{s:s}", "Id", "x");
  struct mtk_err *err = NULL;
  MTK_ASSERT(mtk_net_dns_zone_add(&zone, j, &err) < 0);
  MTK_ASSERT_CONTAINS(err->msg, "without Name");
  mtk_err_free(&err);
  json_decref(j);
  return 0;
}

static bool allowed(const char *addr, bool loopback_ok)
{
  struct sockaddr_storage ss = {0};
  struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
  if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1)
    s4->sin_family = AF_INET;
  else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1)
    s6->sin6_family = AF_INET6;
  return mtk_net_dns_allowed(&zone, mtk_net_dns_zone_find(&zone, "appnet"), (struct sockaddr *) &ss,
                             loopback_ok);
}

static int test_allowed_clients(void)
{
  setup();
  add("{\"Name\":\"v6net\",\"Id\":\"dd\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.91.0.0/23\"},"
      "{\"Subnet\":\"fd00:1:2::/64\"}]}}");
  MTK_ASSERT(allowed("10.89.0.7", false));
  MTK_ASSERT(allowed("10.89.0.1", false));
  MTK_ASSERT(allowed("10.89.0.255", false));
  MTK_ASSERT(!allowed("10.89.1.7", false));
  MTK_ASSERT(!allowed("10.90.0.7", false)); /* another network's client */
  MTK_ASSERT(!allowed("127.0.0.1", false));
  MTK_ASSERT(allowed("127.0.0.1", true));
  MTK_ASSERT(allowed("127.9.9.9", true));
  MTK_ASSERT(allowed("::1", true));
  MTK_ASSERT(!allowed("::1", false));
  MTK_ASSERT(!allowed("fd00::5", false));
  long v6 = mtk_net_dns_zone_find(&zone, "v6net");
  struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
  inet_pton(AF_INET6, "fd00:1:2::9", &s6.sin6_addr);
  MTK_ASSERT(mtk_net_dns_allowed(&zone, v6, (struct sockaddr *) &s6, false));
  inet_pton(AF_INET6, "fd00:1:3::9", &s6.sin6_addr);
  MTK_ASSERT(!mtk_net_dns_allowed(&zone, v6, (struct sockaddr *) &s6, false));
  struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0A5B01FF)};
  MTK_ASSERT(mtk_net_dns_allowed(&zone, v6, (struct sockaddr *) &s4, false)); /* 10.91.1.255 */
  s4.sin_addr.s_addr = htonl(0x0A5B0200);
  MTK_ASSERT(!mtk_net_dns_allowed(&zone, v6, (struct sockaddr *) &s4, false));
  MTK_ASSERT(!mtk_net_dns_allowed(&zone, -1, (struct sockaddr *) &s4, false));
  return 0;
}

static int test_resolv_conf(void)
{
  struct sockaddr_storage up[3];
  struct sockaddr_in self = {.sin_family = AF_INET, .sin_port = htons(53)};
  inet_pton(AF_INET, "10.89.0.1", &self.sin_addr);
  const char *text = "# comment\nsearch example.com\n  nameserver\t127.0.0.53 \n"
                     "nameserver 10.89.0.1\nnameserverx 1.1.1.1\nnameserver ::1\n"
                     "options ndots:2\nnameserver 127.0.0.2\nnameserver 127.0.0.3\n";
  size_t n = mtk_net_dns_parse_resolv(text, 53, (struct sockaddr *) &self, up, 3);
  MTK_ASSERT_EQ(n, 3);
  char buf[64];
  struct sockaddr_in *s0 = (struct sockaddr_in *) &up[0];
  MTK_ASSERT_STREQ(inet_ntop(AF_INET, &s0->sin_addr, buf, sizeof(buf)), "127.0.0.53");
  MTK_ASSERT_EQ(ntohs(s0->sin_port), 53);
  MTK_ASSERT_EQ(up[1].ss_family, AF_INET6);
  MTK_ASSERT_EQ(up[2].ss_family, AF_INET);
  n = mtk_net_dns_parse_resolv("nameserver 127.0.0.2", 5353, NULL, up, 3);
  MTK_ASSERT_EQ(n, 1);
  MTK_ASSERT_EQ(ntohs(((struct sockaddr_in *) &up[0])->sin_port), 5353);
  MTK_ASSERT_EQ(mtk_net_dns_parse_resolv("", 53, NULL, up, 3), 0);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"A records for names, aliases and DNS names, any case", test_a_records},
      {"names qualified by the network name", test_network_qualified},
      {"replicas: every address, shuffled", test_replicas},
      {"AAAA empty unless IPv6, ANY, MX/TXT NODATA", test_aaaa_any_mx},
      {"PTR of endpoint addresses", test_ptr},
      {"unknown names: NXDOMAIN, SERVFAIL or forward", test_unknown_names},
      {"a client sees every network of its container", test_client_networks},
      {"malformed queries: FORMERR, NOTIMP or dropped", test_malformed},
      {"EDNS0: OPT in replies, BADVERS", test_edns},
      {"UDP size limit and TC; TCP unlimited", test_truncation},
      {"upstream replies checked", test_reply_matches},
      {"records: find by name, ID, prefix", test_zone_find},
      {"resolv.conf nameservers", test_resolv_conf},
      {"clients answered: the network's subnets", test_allowed_clients},
      {NULL, NULL},
  };
  int r = mtk_test_main(tests);
  mtk_net_dns_zone_free(&zone);
  return r;
}
