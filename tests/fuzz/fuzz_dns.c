/* libFuzzer target for the network DNS responder's wire format and record
 * reader (src/net/dns_msg.c, dns_zone.c).  The first input byte picks UDP or
 * TCP, with or without upstream; the rest is a DNS query answered from a
 * fixed table of two networks.  Checks: a reply is at least a header, fits
 * the buffer and the UDP limit, carries the query's ID with QR set and walks
 * as a well-formed message; FORWARD only with upstreams; the same bytes as an
 * upstream reply are checked without crashing.  The input is also a client
 * address (answered only inside 10.89.0.0/24, and 127/8 when allowed) and a
 * resolv.conf text; inputs that parse as JSON are read as a network record
 * and queried. */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"

static const char *const records[] = {
    "{\"Name\":\"appnet\",\"Id\":\"aa11\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.89.0.0/24\","
    "\"Gateway\":\"10.89.0.1\"}]},\"Containers\":{"
    "\"c1\":{\"Name\":\"web-1\",\"IPv4Address\":\"10.89.0.2/24\",\"DNSNames\":[\"web\",\"a.b\"]},"
    "\"c2\":{\"Name\":\"web-2\",\"IPv4Address\":\"10.89.0.3/24\",\"DNSNames\":[\"web\"]},"
    "\"c3\":{\"Name\":\"db\",\"IPv4Address\":\"10.89.0.4/24\",\"IPv6Address\":\"fd00::4/64\"}}}",
    "{\"Name\":\"backnet\",\"Id\":\"bb22\",\"Containers\":{"
    "\"c1\":{\"Name\":\"web-1\",\"IPv4Address\":\"10.90.0.2/24\"},"
    "\"c9\":{\"Name\":\"cache\",\"IPv4Address\":\"10.90.0.9/24\"}}}",
};

static struct mtk_net_dns_zone zone;

static void init_zone(void)
{
  if (zone.n)
    return;
  for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
    json_t *j = json_loads(records[i], 0, NULL);
    struct mtk_err *err = NULL;
    if (!j || mtk_net_dns_zone_add(&zone, j, &err) < 0)
      abort();
    json_decref(j);
  }
}

static void check(const struct mtk_net_dns_zone *z, const uint8_t *data, size_t size, uint8_t mode)
{
  static uint8_t out[MTK_NET_DNS_MAXMSG];
  struct sockaddr_in client = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0A590002)};
  struct mtk_net_dns_view v;
  mtk_net_dns_view_make(&v, z, 0, (mode & 4) ? (struct sockaddr *) &client : NULL);
  uint64_t rng = 0x9E3779B97F4A7C15ULL;
  struct mtk_net_dns_ctx c = {
      .view = &v, .forward = mode & 1, .tcp = mode & 2, .rng = (mode & 8) ? &rng : NULL};
  struct mtk_net_dns_q q;
  size_t len = 0;
  enum mtk_net_dns_verdict vd = mtk_net_dns_answer(&c, data, size, &q, out, sizeof(out), &len);
  if (vd == MTK_NET_DNS_FORWARD && (!c.forward || size < 12))
    abort();
  if (vd == MTK_NET_DNS_REPLY) {
    size_t lim = c.tcp ? sizeof(out) : 4096;
    if (len < 12 || len > lim || (!c.tcp && len > q.udp_size && len > 512))
      abort();
    if (out[0] != data[0] || out[1] != data[1] || !(out[2] & 0x80) || !mtk_net_dns_valid(out, len))
      abort();
    if (q.qname_len && !mtk_net_dns_reply_matches(out, len, q.id, &q))
      abort();
  }
  if (size >= 12)
    mtk_net_dns_reply_matches(data, size, (uint16_t) (data[0] << 8 | data[1]), &q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  init_zone();
  if (size < 1)
    return 0;
  check(&zone, data + 1, size - 1, data[0]);
  if (size >= 17) { /* a client address: IPv4 or IPv6 by the first byte */
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
    if (data[0] & 16) {
      s6->sin6_family = AF_INET6;
      memcpy(&s6->sin6_addr, data + 1, 16);
    } else {
      s4->sin_family = AF_INET;
      memcpy(&s4->sin_addr, data + 1, 4);
    }
    bool in = mtk_net_dns_allowed(&zone, 0, (struct sockaddr *) &ss, data[0] & 32);
    if (!(data[0] & 16) && in != ((data[1] == 10 && data[2] == 89 && data[3] == 0) ||
                                  ((data[0] & 32) && data[1] == 127)))
      abort(); /* appnet is 10.89.0.0/24 */
  }
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  struct sockaddr_storage up[MTK_NET_DNS_MAXUP];
  if (mtk_net_dns_parse_resolv(text, 53, NULL, up, MTK_NET_DNS_MAXUP) > MTK_NET_DNS_MAXUP)
    abort();
  free(text);
  if (data[0] == '{') {
    json_t *j = json_loadb((const char *) data, size, 0, NULL);
    if (j) {
      struct mtk_net_dns_zone z = {0};
      struct mtk_err *err = NULL;
      mtk_net_dns_zone_add(&z, j, &err);
      mtk_err_free(&err);
      json_decref(j);
      static const uint8_t q[] = {0, 1, 1,   0,   0,   1, 0, 0, 0, 0, 0,
                                  0, 3, 'w', 'e', 'b', 0, 0, 1, 0, 1};
      if (z.n) {
        check(&z, q, sizeof(q), 4);
        static const uint8_t ptr[] = {0,   2,   1,   0,   0,   1,   0,   0,   0,   0,
                                      0,   0,   1,   '4', 1,   '0', 2,   '8', '9', 2,
                                      '1', '0', 7,   'i', 'n', '-', 'a', 'd', 'd', 'r',
                                      4,   'a', 'r', 'p', 'a', 0,   0,   12,  0,   1};
        check(&z, ptr, sizeof(ptr), 0);
      }
      mtk_net_dns_zone_free(&z);
    }
  }
  return 0;
}
