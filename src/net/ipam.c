/* Address arithmetic for networks: IPv4 addresses and subnets, the IPAM of
 * one network (the next free address after the last one handed out, so an
 * address just released is not given again at once; a requested address
 * checked), the pool that default subnets come from, and the IPv6 ULA /64
 * of a network.  Pure functions of their inputs: the network record holds
 * the state (network.c). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/network_int.h"
#include "util/cleanup.h"
#include "util/sha256.h"

uint32_t mtk_net_mask4(int len)
{
  return len <= 0 ? 0 : len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
}

int mtk_net_ip4_parse(const char *s, uint32_t *out)
{
  struct in_addr a;
  if (!s || inet_pton(AF_INET, s, &a) != 1)
    return -1;
  *out = ntohl(a.s_addr);
  return 0;
}

void mtk_net_ip4_str(uint32_t a, char out[16])
{
  snprintf(out, 16, "%u.%u.%u.%u", (a >> 24) & 255, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

void mtk_net_cidr4_str(const struct mtk_net_cidr4 *c, char out[19])
{
  char ip[16];
  mtk_net_ip4_str(c->addr, ip);
  snprintf(out, 19, "%s/%d", ip, c->len);
}

int mtk_net_cidr4_parse(const char *s, struct mtk_net_cidr4 *c, struct mtk_err **err)
{
  const char *slash = s ? strchr(s, '/') : NULL;
  if (!slash)
    return mtk_err_set(err, EINVAL,
                       "invalid subnet %s: expected an address/prefix such as "
                       "10.5.0.0/24",
                       s ? s : "(null)");
  mtk_autofree char *ip = mtk_xstrndup(s, (size_t) (slash - s));
  char *end;
  errno = 0;
  long len = strtol(slash + 1, &end, 10);
  if (mtk_net_ip4_parse(ip, &c->addr) < 0 || slash[1] < '0' || slash[1] > '9' || *end || len < 0 ||
      len > 32)
    return mtk_err_set(err, EINVAL,
                       "invalid subnet %s: expected an IPv4 address/prefix such "
                       "as 10.5.0.0/24",
                       s);
  c->len = (int) len;
  if (c->len > 30)
    return mtk_err_set(err, EINVAL,
                       "invalid subnet %s: a /%d has no room for a gateway and a "
                       "container (at most /30)",
                       s, c->len);
  if (c->addr & ~mtk_net_mask4(c->len)) {
    char want[19];
    struct mtk_net_cidr4 n = {c->addr & mtk_net_mask4(c->len), c->len};
    mtk_net_cidr4_str(&n, want);
    return mtk_err_set(err, EINVAL, "invalid subnet %s: it should be %s", s, want);
  }
  return 0;
}

bool mtk_net_cidr4_contains(const struct mtk_net_cidr4 *c, uint32_t a)
{
  return (a & mtk_net_mask4(c->len)) == c->addr;
}

bool mtk_net_cidr4_overlap(const struct mtk_net_cidr4 *a, const struct mtk_net_cidr4 *b)
{
  int len = a->len < b->len ? a->len : b->len;
  uint32_t m = mtk_net_mask4(len);
  return (a->addr & m) == (b->addr & m);
}

/* --------------------------------------------------------------- the IPAM */

static bool in_use(const uint32_t *used, size_t n, uint32_t a)
{
  for (size_t i = 0; i < n; i++)
    if (used[i] == a)
      return true;
  return false;
}

int mtk_net_ipam_check(const struct mtk_net_cidr4 *subnet, uint32_t gateway, const uint32_t *used,
                       size_t n, uint32_t want, struct mtk_err **err)
{
  char ip[16], sn[19];
  mtk_net_ip4_str(want, ip);
  mtk_net_cidr4_str(subnet, sn);
  uint32_t bcast = subnet->addr | ~mtk_net_mask4(subnet->len);
  if (!mtk_net_cidr4_contains(subnet, want))
    return mtk_err_set(err, EINVAL, "invalid address %s: it is not in the network's subnet %s", ip,
                       sn);
  if (want == subnet->addr || want == bcast)
    return mtk_err_set(err, EINVAL, "invalid address %s: it is the %s address of subnet %s", ip,
                       want == bcast ? "broadcast" : "network", sn);
  if (want == gateway)
    return mtk_err_set(err, EADDRINUSE, "address %s is the network's gateway", ip);
  if (in_use(used, n, want))
    return mtk_err_set(err, EADDRINUSE, "address %s is already in use on the network", ip);
  return 0;
}

int mtk_net_ipam_next(const struct mtk_net_cidr4 *subnet, uint32_t gateway, const uint32_t *used,
                      size_t n, uint32_t last, uint32_t *out, struct mtk_err **err)
{
  uint32_t first = subnet->addr + 1;
  uint32_t lastaddr = (subnet->addr | ~mtk_net_mask4(subnet->len)) - 1;
  uint32_t span = lastaddr - first + 1;
  uint32_t a = (last >= first && last < lastaddr) ? last + 1 : first;
  for (uint32_t i = 0; i < span; i++) {
    if (a != gateway && !in_use(used, n, a)) {
      *out = a;
      return 0;
    }
    a = a == lastaddr ? first : a + 1;
  }
  char sn[19];
  mtk_net_cidr4_str(subnet, sn);
  return mtk_err_set(err, ENOSPC, "no available IPv4 addresses on the network's subnet %s", sn);
}

/* --------------------------------------------------------------- the pool */

static bool taken_by(const struct mtk_net_cidr4 *c, const struct mtk_net_cidr4 *taken, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (taken[i].len > 0 && mtk_net_cidr4_overlap(c, &taken[i]))
      return true;
  return false;
}

int mtk_net_pool_pick(bool default_net, const struct mtk_net_cidr4 *taken, size_t n,
                      struct mtk_net_cidr4 *out, struct mtk_err **err)
{
  /* 172.17/16 (the default network's first), 172.18/16 .. 172.31/16, then
   * 192.168.0.0/20 .. 192.168.240.0/20. */
  for (uint32_t b = default_net ? 17 : 18; b <= 31; b++) {
    struct mtk_net_cidr4 c = {(172u << 24) | (b << 16), 16};
    if (!taken_by(&c, taken, n)) {
      *out = c;
      return 0;
    }
  }
  for (uint32_t s = 0; s < 256; s += 16) {
    struct mtk_net_cidr4 c = {(192u << 24) | (168u << 16) | (s << 8), 20};
    if (!taken_by(&c, taken, n)) {
      *out = c;
      return 0;
    }
  }
  mtk_err_set(err, ENOSPC, "all predefined address pools have been fully subnetted");
  mtk_err_hint(err, "remove unused networks (mtk network prune) or give one a --subnet");
  return -1;
}

/* ------------------------------------------------------------------- IPv6 */

void mtk_net_ula64(const char *net_id, uint8_t prefix[16])
{
  unsigned char h[32];
  struct mtk_sha256 s;
  mtk_sha256_init(&s);
  mtk_sha256_update(&s, net_id, strlen(net_id));
  mtk_sha256_final_raw(&s, h);
  mtk_sha256_free(&s);
  memset(prefix, 0, 16);
  prefix[0] = 0xfd; /* RFC 4193: fd00::/8, a 40-bit global ID, subnet 0 */
  memcpy(prefix + 1, h, 5);
}

void mtk_net_ip6_host(const uint8_t prefix[16], uint32_t host, uint8_t out[16])
{
  memcpy(out, prefix, 16);
  out[12] = (uint8_t) (host >> 24);
  out[13] = (uint8_t) (host >> 16);
  out[14] = (uint8_t) (host >> 8);
  out[15] = (uint8_t) host;
}
