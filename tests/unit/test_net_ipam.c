/* The IPAM and the subnet pool (src/net/ipam.c): subnets parsed strictly,
 * addresses handed out in order after the last one (never the gateway or
 * one in use, wrapping, ENOSPC when full), requested addresses checked, and
 * the pool skipping what host routes and other networks hold. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "net/network_int.h"
#include "tap.h"

static uint32_t ip(const char *s)
{
  uint32_t a = 0;
  if (mtk_net_ip4_parse(s, &a) < 0)
    abort();
  return a;
}

static char *str(uint32_t a)
{
  static char buf[4][16];
  static int k;
  k = (k + 1) % 4;
  mtk_net_ip4_str(a, buf[k]);
  return buf[k];
}

static int code_of(struct mtk_err **e)
{
  int c = *e ? (*e)->code : 0;
  mtk_err_free(e);
  return c;
}

static int test_cidr_parse(void)
{
  struct mtk_net_cidr4 c;
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_net_cidr4_parse("10.5.0.0/24", &c, &e), 0);
  MTK_ASSERT_STREQ(str(c.addr), "10.5.0.0");
  MTK_ASSERT_EQ(c.len, 24);
  MTK_ASSERT(mtk_net_cidr4_parse("10.5.0.1/24", &c, &e) < 0);
  MTK_ASSERT_CONTAINS(e->msg, "it should be 10.5.0.0/24");
  MTK_ASSERT_EQ(code_of(&e), EINVAL);
  const char *bad[] = {"10.5.0.0",     "10.5.0.0/",   "10.5.0.0/33", "10.5.0/24", "x/8",
                       "10.5.0.0/24x", "10.5.0.0/-1", "10.5.0.0/31", "::1/64"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    MTK_ASSERT(mtk_net_cidr4_parse(bad[i], &c, &e) < 0);
    MTK_ASSERT_EQ(code_of(&e), EINVAL);
  }
  MTK_ASSERT_EQ(mtk_net_cidr4_parse("0.0.0.0/0", &c, NULL), 0);
  return 0;
}

static int test_overlap(void)
{
  struct mtk_net_cidr4 a = {ip("172.18.0.0"), 16}, b = {ip("172.18.5.0"), 24},
                       c = {ip("172.19.0.0"), 16}, d = {ip("172.16.0.0"), 12};
  MTK_ASSERT(mtk_net_cidr4_overlap(&a, &b));
  MTK_ASSERT(mtk_net_cidr4_overlap(&b, &a));
  MTK_ASSERT(!mtk_net_cidr4_overlap(&a, &c));
  MTK_ASSERT(mtk_net_cidr4_overlap(&d, &c));
  MTK_ASSERT(mtk_net_cidr4_contains(&a, ip("172.18.255.255")));
  MTK_ASSERT(!mtk_net_cidr4_contains(&a, ip("172.19.0.0")));
  return 0;
}

static int test_next_in_order(void)
{
  struct mtk_net_cidr4 sn = {ip("10.5.0.0"), 24};
  uint32_t gw = ip("10.5.0.1"), out = 0;
  MTK_ASSERT_EQ(mtk_net_ipam_next(&sn, gw, NULL, 0, 0, &out, NULL), 0);
  MTK_ASSERT_STREQ(str(out), "10.5.0.2");
  /* After the last one handed out, even when an earlier one was released. */
  uint32_t used[] = {ip("10.5.0.3")};
  MTK_ASSERT_EQ(mtk_net_ipam_next(&sn, gw, used, 1, ip("10.5.0.3"), &out, NULL), 0);
  MTK_ASSERT_STREQ(str(out), "10.5.0.4");
  /* Skips addresses in use. */
  uint32_t used2[] = {ip("10.5.0.4"), ip("10.5.0.5")};
  MTK_ASSERT_EQ(mtk_net_ipam_next(&sn, gw, used2, 2, ip("10.5.0.3"), &out, NULL), 0);
  MTK_ASSERT_STREQ(str(out), "10.5.0.6");
  /* Wraps after the last host address, skipping the gateway. */
  MTK_ASSERT_EQ(mtk_net_ipam_next(&sn, gw, NULL, 0, ip("10.5.0.254"), &out, NULL), 0);
  MTK_ASSERT_STREQ(str(out), "10.5.0.2");
  /* A gateway that is not the first address. */
  MTK_ASSERT_EQ(mtk_net_ipam_next(&sn, ip("10.5.0.2"), NULL, 0, ip("10.5.0.1"), &out, NULL), 0);
  MTK_ASSERT_STREQ(str(out), "10.5.0.3");
  return 0;
}

static int test_next_full(void)
{
  struct mtk_net_cidr4 sn = {ip("10.6.0.0"), 29}; /* .1 gateway, .2-.6 hosts */
  uint32_t gw = ip("10.6.0.1"), used[8], out = 0;
  size_t n = 0;
  struct mtk_err *e = NULL;
  for (int i = 0; i < 5; i++) {
    MTK_ASSERT_EQ(mtk_net_ipam_next(&sn, gw, used, n, n ? used[n - 1] : 0, &out, &e), 0);
    for (size_t k = 0; k < n; k++)
      MTK_ASSERT(used[k] != out);
    MTK_ASSERT(out != gw && out != sn.addr && out != ip("10.6.0.7"));
    used[n++] = out;
  }
  MTK_ASSERT(mtk_net_ipam_next(&sn, gw, used, n, used[n - 1], &out, &e) < 0);
  MTK_ASSERT_CONTAINS(e->msg, "10.6.0.0/29");
  MTK_ASSERT_EQ(code_of(&e), ENOSPC);
  return 0;
}

static int test_check(void)
{
  struct mtk_net_cidr4 sn = {ip("10.5.0.0"), 24};
  uint32_t gw = ip("10.5.0.1"), used[] = {ip("10.5.0.9")};
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_net_ipam_check(&sn, gw, used, 1, ip("10.5.0.10"), &e), 0);
  MTK_ASSERT(mtk_net_ipam_check(&sn, gw, used, 1, ip("10.5.0.9"), &e) < 0);
  MTK_ASSERT_CONTAINS(e->msg, "10.5.0.9 is already in use");
  MTK_ASSERT_EQ(code_of(&e), EADDRINUSE);
  MTK_ASSERT(mtk_net_ipam_check(&sn, gw, used, 1, gw, &e) < 0);
  MTK_ASSERT_EQ(code_of(&e), EADDRINUSE);
  MTK_ASSERT(mtk_net_ipam_check(&sn, gw, used, 1, ip("10.6.0.3"), &e) < 0);
  MTK_ASSERT_CONTAINS(e->msg, "not in the network's subnet 10.5.0.0/24");
  MTK_ASSERT_EQ(code_of(&e), EINVAL);
  MTK_ASSERT(mtk_net_ipam_check(&sn, gw, used, 1, ip("10.5.0.255"), &e) < 0);
  MTK_ASSERT_CONTAINS(e->msg, "broadcast");
  MTK_ASSERT_EQ(code_of(&e), EINVAL);
  MTK_ASSERT(mtk_net_ipam_check(&sn, gw, used, 1, ip("10.5.0.0"), &e) < 0);
  MTK_ASSERT_EQ(code_of(&e), EINVAL);
  return 0;
}

static int test_pool(void)
{
  struct mtk_net_cidr4 out;
  struct mtk_err *e = NULL;
  /* Nothing taken: the default network gets 172.17/16, others 172.18/16. */
  MTK_ASSERT_EQ(mtk_net_pool_pick(true, NULL, 0, &out, NULL), 0);
  MTK_ASSERT_STREQ(str(out.addr), "172.17.0.0");
  MTK_ASSERT_EQ(out.len, 16);
  MTK_ASSERT_EQ(mtk_net_pool_pick(false, NULL, 0, &out, NULL), 0);
  MTK_ASSERT_STREQ(str(out.addr), "172.18.0.0");
  /* A host route inside 172.17 (and a default route, ignored) push the default on. */
  struct mtk_net_cidr4 t1[] = {{0, 0}, {ip("172.17.3.0"), 24}, {ip("172.18.0.0"), 16}};
  MTK_ASSERT_EQ(mtk_net_pool_pick(true, t1, 3, &out, NULL), 0);
  MTK_ASSERT_STREQ(str(out.addr), "172.19.0.0");
  /* A wide route covering all of 172.16/12 sends it to 192.168.0.0/20 steps. */
  struct mtk_net_cidr4 t2[] = {{ip("172.16.0.0"), 12}, {ip("192.168.0.0"), 24}};
  MTK_ASSERT_EQ(mtk_net_pool_pick(false, t2, 2, &out, NULL), 0);
  MTK_ASSERT_STREQ(str(out.addr), "192.168.16.0");
  MTK_ASSERT_EQ(out.len, 20);
  /* Everything taken. */
  struct mtk_net_cidr4 t3[] = {{ip("172.16.0.0"), 12}, {ip("192.168.0.0"), 16}};
  MTK_ASSERT(mtk_net_pool_pick(false, t3, 2, &out, &e) < 0);
  MTK_ASSERT_CONTAINS(e->msg, "fully subnetted");
  MTK_ASSERT_EQ(code_of(&e), ENOSPC);
  return 0;
}

static int test_ula(void)
{
  uint8_t p1[16], p2[16], a[16];
  mtk_net_ula64("aaaa", p1);
  mtk_net_ula64("bbbb", p2);
  MTK_ASSERT_EQ(p1[0], 0xfd);
  MTK_ASSERT(memcmp(p1, p2, 8) != 0);
  for (int i = 6; i < 16; i++)
    MTK_ASSERT_EQ(p1[i], 0);
  mtk_net_ip6_host(p1, 0x0102, a);
  MTK_ASSERT(memcmp(a, p1, 12) == 0);
  MTK_ASSERT_EQ(a[14], 1);
  MTK_ASSERT_EQ(a[15], 2);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"subnets parse strictly", test_cidr_parse},
      {"overlap and containment", test_overlap},
      {"next address in order after the last", test_next_in_order},
      {"a full subnet is ENOSPC, never a duplicate", test_next_full},
      {"requested addresses are checked", test_check},
      {"the pool skips taken ranges", test_pool},
      {"IPv6 ULA prefix per network", test_ula},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
