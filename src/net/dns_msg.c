/* The DNS wire format of the network responder (RFC 1035, EDNS0 of RFC 6891):
 * parsing of queries and upstream replies that never reads outside the
 * packet (names limited to 255 bytes, compression pointers only backwards,
 * record lengths checked), the local answers (A, AAAA, ANY, PTR, NODATA) and
 * error replies.  No I/O here: dns.c owns the sockets. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "net/dns.h"

#define HDR 12
#define F_QR 0x8000
#define F_TC 0x0200
#define F_RD 0x0100
#define F_RA 0x0080
#define OUR_UDP_SIZE 1232 /* advertised in our OPT records (DNS flag day 2020) */
#define MAX_ANSWERS 256
#define MAX_UDP 4096 /* the largest UDP reply we send, whatever the client offers */

static uint16_t get16(const uint8_t *p)
{
  return (uint16_t) (p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t) (v >> 8);
  p[1] = (uint8_t) v;
}

static void put32(uint8_t *p, uint32_t v)
{
  put16(p, (uint16_t) (v >> 16));
  put16(p + 2, (uint16_t) v);
}

uint64_t mtk_net_dns_rand(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/* Reads the name at off into wire (uncompressed, <= 255 bytes with the root
 * label); *end is the offset after the name where it started.  Pointers must
 * point before the label that holds them, so every jump goes backwards and
 * the walk ends. */
static bool read_name(const uint8_t *msg, size_t len, size_t off, size_t *end, uint8_t *wire,
                      size_t *wire_len, size_t *nlabels)
{
  size_t w = 0, labels = 0;
  bool jumped = false;
  for (;;) {
    if (off >= len)
      return false;
    uint8_t c = msg[off];
    if ((c & 0xC0) == 0xC0) {
      if (off + 1 >= len)
        return false;
      size_t target = (size_t) (c & 0x3F) << 8 | msg[off + 1];
      if (target >= off)
        return false;
      if (!jumped)
        *end = off + 2;
      jumped = true;
      off = target;
      continue;
    }
    if (c & 0xC0)
      return false; /* 0x40 and 0x80 label types are obsolete or unknown */
    if (w + 1 + c > MTK_NET_DNS_MAXNAME || off + 1 + c > len)
      return false;
    memcpy(wire + w, msg + off, (size_t) c + 1);
    w += (size_t) c + 1;
    off += (size_t) c + 1;
    if (c == 0)
      break;
    labels++;
  }
  if (!jumped)
    *end = off;
  *wire_len = w;
  if (nlabels)
    *nlabels = labels;
  return true;
}

/* The lower-cased dotted form of a wire name when every byte is a printable
 * non-dot character (a host name as the table holds them); "" otherwise. */
static void dotted(const uint8_t *wire, char *out)
{
  size_t o = 0;
  out[0] = '\0';
  for (size_t i = 0; wire[i]; i += (size_t) wire[i] + 1) {
    if (o)
      out[o++] = '.';
    for (size_t k = 1; k <= wire[i]; k++) {
      uint8_t ch = wire[i + k];
      if (ch <= 0x20 || ch >= 0x7f || ch == '.') {
        out[0] = '\0';
        return;
      }
      out[o++] = (char) (ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
  }
  out[o] = '\0';
}

/* Skips one resource record at *off; its type, class and TTL go out. */
static bool skip_rr(const uint8_t *msg, size_t len, size_t *off, uint16_t *type, uint16_t *klass,
                    uint32_t *ttl, bool *root_name)
{
  uint8_t wire[MTK_NET_DNS_MAXNAME + 1];
  size_t wl, end;
  if (!read_name(msg, len, *off, &end, wire, &wl, NULL) || end + 10 > len)
    return false;
  size_t rdlen = get16(msg + end + 8);
  if (end + 10 + rdlen > len)
    return false;
  *type = get16(msg + end);
  *klass = get16(msg + end + 2);
  *ttl = (uint32_t) get16(msg + end + 4) << 16 | get16(msg + end + 6);
  *root_name = wl == 1;
  *off = end + 10 + rdlen;
  return true;
}

bool mtk_net_dns_valid(const uint8_t *msg, size_t len)
{
  if (len < HDR)
    return false;
  size_t off = HDR, qd = get16(msg + 4);
  size_t rrs = (size_t) get16(msg + 6) + get16(msg + 8) + get16(msg + 10);
  uint8_t wire[MTK_NET_DNS_MAXNAME + 1];
  for (size_t i = 0; i < qd; i++) {
    size_t wl, end;
    if (!read_name(msg, len, off, &end, wire, &wl, NULL) || end + 4 > len)
      return false;
    off = end + 4;
  }
  for (size_t i = 0; i < rrs; i++) {
    uint16_t t, k;
    uint32_t ttl;
    bool root;
    if (!skip_rr(msg, len, &off, &t, &k, &ttl, &root))
      return false;
  }
  return true;
}

/* The EDNS0 OPT record of the additional section, if any. */
static int parse_records(const uint8_t *msg, size_t len, size_t off, struct mtk_net_dns_q *q)
{
  size_t an_ns = (size_t) get16(msg + 6) + get16(msg + 8), ar = get16(msg + 10);
  for (size_t i = 0; i < an_ns + ar; i++) {
    uint16_t type, klass;
    uint32_t ttl;
    bool root;
    if (!skip_rr(msg, len, &off, &type, &klass, &ttl, &root))
      return MTK_NET_DNS_FORMERR;
    if (type != MTK_NET_DNS_T_OPT)
      continue;
    if (i < an_ns || q->edns || !root)
      return MTK_NET_DNS_FORMERR; /* RFC 6891 6.1.1: one OPT, in the additional section */
    q->edns = true;
    q->edns_version = (uint8_t) (ttl >> 16);
    q->udp_size = klass > 512 ? klass : 512;
  }
  return 0;
}

int mtk_net_dns_parse(const uint8_t *msg, size_t len, struct mtk_net_dns_q *q)
{
  memset(q, 0, sizeof(*q));
  q->udp_size = 512;
  if (len < HDR)
    return -1;
  q->id = get16(msg);
  q->flags = get16(msg + 2);
  if (q->flags & F_QR)
    return -1; /* a response sent to us: never answer it (no loops) */
  if (get16(msg + 4) != 1)
    return MTK_NET_DNS_FORMERR;
  size_t end;
  if (!read_name(msg, len, HDR, &end, q->qname, &q->qname_len, &q->nlabels) || end + 4 > len) {
    q->qname_len = 0;
    return MTK_NET_DNS_FORMERR;
  }
  q->qtype = get16(msg + end);
  q->qclass = get16(msg + end + 2);
  dotted(q->qname, q->name);
  if ((q->flags >> 11 & 0xF) != 0)
    return MTK_NET_DNS_NOTIMP; /* only QUERY */
  return parse_records(msg, len, end + 4, q);
}

/* ------------------------------------------------------------ replies */

struct builder {
  uint8_t *out;
  size_t max; /* room for records, the OPT record excluded */
  size_t len;
  uint16_t ancount;
  bool tc;
};

/* Header and question; false when not even they fit. */
static bool begin_reply(struct builder *b, const struct mtk_net_dns_q *q, int rcode, uint8_t *out,
                        size_t max)
{
  *b = (struct builder){.out = out, .max = max};
  if (q->edns && b->max >= 11)
    b->max -= 11;
  size_t need = HDR + (q->qname_len ? q->qname_len + 4 : 0);
  if (need > b->max)
    return false;
  memset(out, 0, HDR);
  put16(out, q->id);
  put16(out + 2,
        (uint16_t) (F_QR | (q->flags & 0x7800) | (q->flags & F_RD) | F_RA | (rcode & 0xF)));
  b->len = HDR;
  if (q->qname_len) {
    put16(out + 4, 1);
    memcpy(out + b->len, q->qname, q->qname_len);
    b->len += q->qname_len;
    put16(out + b->len, q->qtype);
    put16(out + b->len + 2, q->qclass);
    b->len += 4;
  }
  return true;
}

/* One record owned by the question name (a pointer to offset 12). */
static void add_rr(struct builder *b, uint16_t type, const uint8_t *rdata, size_t rdlen)
{
  if (b->tc || b->len + 12 + rdlen > b->max) {
    b->tc = true;
    return;
  }
  uint8_t *p = b->out + b->len;
  put16(p, 0xC000 | HDR);
  put16(p + 2, type);
  put16(p + 4, 1);
  put32(p + 6, MTK_NET_DNS_TTL);
  put16(p + 10, (uint16_t) rdlen);
  memcpy(p + 12, rdata, rdlen);
  b->len += 12 + rdlen;
  b->ancount++;
}

static size_t end_reply(struct builder *b, const struct mtk_net_dns_q *q, int ext_rcode)
{
  put16(b->out + 6, b->ancount);
  if (b->tc)
    put16(b->out + 2, get16(b->out + 2) | F_TC);
  if (q->edns) { /* the 11 bytes were reserved by begin_reply */
    uint8_t *p = b->out + b->len;
    p[0] = 0;
    put16(p + 1, MTK_NET_DNS_T_OPT);
    put16(p + 3, OUR_UDP_SIZE);
    put32(p + 5, (uint32_t) ext_rcode << 24);
    put16(p + 9, 0);
    b->len += 11;
    put16(b->out + 10, 1);
  }
  return b->len;
}

size_t mtk_net_dns_error_reply(const struct mtk_net_dns_q *q, int rcode, uint8_t *out, size_t size)
{
  struct builder b;
  if (!begin_reply(&b, q, rcode, out, size)) {
    struct mtk_net_dns_q bare = *q;
    bare.qname_len = 0;
    bare.edns = false;
    if (!begin_reply(&b, &bare, rcode, out, size))
      return 0;
    return end_reply(&b, &bare, 0);
  }
  return end_reply(&b, q, 0);
}

static void shuffle(uint8_t (*a)[16], size_t n, uint64_t *rng)
{
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t) (mtk_net_dns_rand(rng) % i);
    uint8_t t[16];
    memcpy(t, a[i - 1], 16);
    memcpy(a[i - 1], a[j], 16);
    memcpy(a[j], t, 16);
  }
}

/* The A or AAAA records of a name; *exists as mtk_net_dns_lookup's. */
static void add_addrs(struct builder *b, const struct mtk_net_dns_ctx *c, const char *name,
                      int family, bool *exists)
{
  uint8_t addrs[MAX_ANSWERS][16];
  bool e = false;
  size_t n = mtk_net_dns_lookup(c->view, name, family, addrs, MAX_ANSWERS, &e);
  *exists = *exists || e || n;
  if (c->rng)
    shuffle(addrs, n, c->rng);
  for (size_t i = 0; i < n; i++)
    add_rr(b, family == AF_INET ? MTK_NET_DNS_T_A : MTK_NET_DNS_T_AAAA, addrs[i],
           family == AF_INET ? 4 : 16);
}

/* "d.c.b.a.in-addr.arpa" -> a.b.c.d in host order; each octet in its
 * canonical decimal form (as Docker's lookup of the address string). */
static bool ptr_v4(const char *name, uint32_t *v4)
{
  uint32_t ip = 0;
  const char *p = name;
  for (int i = 0; i < 4; i++) {
    unsigned v = 0, digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
      v = v * 10 + (unsigned) (*p - '0');
    if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && p[-(int) digits] == '0') ||
        *p != '.')
      return false;
    p++;
    ip |= (uint32_t) v << (8 * i);
  }
  if (strcmp(p, "in-addr.arpa") != 0)
    return false;
  *v4 = ip;
  return true;
}

/* The PTR record of an endpoint address; false when not one of ours. */
static bool add_ptr(struct builder *b, const struct mtk_net_dns_ctx *c, const char *name)
{
  uint32_t v4;
  char host[MTK_NET_DNS_MAXNAME + 1];
  if (!ptr_v4(name, &v4) || !mtk_net_dns_reverse(c->view, v4, host, sizeof(host)))
    return false;
  uint8_t rd[MTK_NET_DNS_MAXNAME + 1];
  size_t w = 0;
  for (char *lab = host, *dot; *lab; lab = dot + 1) {
    dot = strchr(lab, '.');
    size_t l = dot ? (size_t) (dot - lab) : strlen(lab);
    if (l == 0 || l > 63 || w + 1 + l + 1 > sizeof(rd))
      return false;
    rd[w++] = (uint8_t) l;
    memcpy(rd + w, lab, l);
    w += l;
    if (!dot)
      break;
  }
  rd[w++] = 0;
  add_rr(b, MTK_NET_DNS_T_PTR, rd, w);
  return true;
}

/* A local answer when the name is ours; false otherwise. */
static bool answer_local(const struct mtk_net_dns_ctx *c, const struct mtk_net_dns_q *q,
                         struct builder *b)
{
  if (!c->view || !c->view->n || !q->name[0] || q->qclass != 1)
    return false;
  if (q->qtype == MTK_NET_DNS_T_PTR)
    return add_ptr(b, c, q->name);
  bool exists = false;
  if (q->qtype == MTK_NET_DNS_T_A || q->qtype == MTK_NET_DNS_T_ANY)
    add_addrs(b, c, q->name, AF_INET, &exists);
  if (q->qtype == MTK_NET_DNS_T_AAAA || q->qtype == MTK_NET_DNS_T_ANY)
    add_addrs(b, c, q->name, AF_INET6, &exists);
  if (!exists) {
    /* MX and the other types: a known name gets NODATA (Docker's MX rule) */
    uint8_t tmp[1][16];
    mtk_net_dns_lookup(c->view, q->name, AF_INET, tmp, 0, &exists);
  }
  return exists;
}

enum mtk_net_dns_verdict mtk_net_dns_answer(const struct mtk_net_dns_ctx *c, const uint8_t *msg,
                                            size_t len, struct mtk_net_dns_q *q, uint8_t *out,
                                            size_t max, size_t *out_len)
{
  int r = mtk_net_dns_parse(msg, len, q);
  if (r < 0)
    return MTK_NET_DNS_DROP;
  if (r > 0) {
    *out_len = mtk_net_dns_error_reply(q, r, out, max);
    return *out_len ? MTK_NET_DNS_REPLY : MTK_NET_DNS_DROP;
  }
  if (!c->tcp) {
    size_t lim = q->udp_size < MAX_UDP ? q->udp_size : MAX_UDP;
    max = max < lim ? max : lim;
  }
  struct builder b;
  if (q->edns && q->edns_version != 0) { /* BADVERS: extended rcode 16 */
    if (!begin_reply(&b, q, 0, out, max))
      return MTK_NET_DNS_DROP;
    *out_len = end_reply(&b, q, 1);
    return MTK_NET_DNS_REPLY;
  }
  if (!begin_reply(&b, q, 0, out, max))
    return MTK_NET_DNS_DROP;
  if (answer_local(c, q, &b)) {
    *out_len = end_reply(&b, q, 0);
    return MTK_NET_DNS_REPLY;
  }
  if (c->forward)
    return MTK_NET_DNS_FORWARD;
  int rcode = q->nlabels == 1 && q->name[0] ? MTK_NET_DNS_NXDOMAIN : MTK_NET_DNS_SERVFAIL;
  *out_len = mtk_net_dns_error_reply(q, rcode, out, max);
  return *out_len ? MTK_NET_DNS_REPLY : MTK_NET_DNS_DROP;
}

static bool wire_name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
  if (alen != blen)
    return false;
  for (size_t i = 0; i < alen; i++) {
    uint8_t x = a[i], y = b[i];
    x = x >= 'A' && x <= 'Z' ? x + 32 : x;
    y = y >= 'A' && y <= 'Z' ? y + 32 : y;
    if (x != y)
      return false;
  }
  return true;
}

bool mtk_net_dns_reply_matches(const uint8_t *msg, size_t len, uint16_t id,
                               const struct mtk_net_dns_q *q)
{
  if (len < HDR || get16(msg) != id || !(get16(msg + 2) & F_QR) || !mtk_net_dns_valid(msg, len))
    return false;
  uint16_t qd = get16(msg + 4);
  if (qd == 0)
    return (get16(msg + 2) & 0xF) != 0; /* errors may come without the question */
  if (qd != 1)
    return false;
  uint8_t wire[MTK_NET_DNS_MAXNAME + 1];
  size_t wl, end;
  if (!read_name(msg, len, HDR, &end, wire, &wl, NULL) || end + 4 > len)
    return false;
  return wire_name_eq(wire, wl, q->qname, q->qname_len) && get16(msg + end) == q->qtype &&
         get16(msg + end + 2) == q->qclass;
}
